//! Name resolution: which column a (possibly qualified) name refers to.

use oxibase_common::{DataType, Result, errinput};

use crate::plan::Column;

/// The columns visible at one point of a query, in input-row order.
#[derive(Clone, Debug, Default)]
pub struct Scope {
    /// The visible columns; their position is their index in the input row.
    pub columns: Vec<Column>,
    /// Tables of the statement whose columns this part of it may not name (the MERGE target
    /// in an INSERT of WHEN NOT MATCHED).
    pub unreachable: Vec<String>,
    /// Base tables with a primary key among the columns: a column of such a table is
    /// functionally dependent on its key, so grouping by the key groups by it too.
    pub keys: Vec<TableKey>,
    /// Relations an outer join may NULL-extend (for whole-row references without a key).
    pub nullable: Vec<String>,
}

/// A base table's primary key within a scope (positions in the scope).
#[derive(Clone, Debug)]
pub struct TableKey {
    /// The primary-key columns.
    pub key: Vec<usize>,
    /// All of the table's columns.
    pub columns: std::ops::Range<usize>,
}

impl Scope {
    /// A scope over a plan's output columns.
    pub fn new(columns: Vec<Column>) -> Self {
        Scope { columns, unreachable: Vec::new(), keys: Vec::new(), nullable: Vec::new() }
    }

    /// The scope of a join: the left columns, then the right ones.
    pub fn joined(left: &Scope, right: &Scope) -> Self {
        let width = left.columns.len();
        let shifted = right.keys.iter().map(|k| TableKey {
            key: k.key.iter().map(|i| i + width).collect(),
            columns: k.columns.start + width..k.columns.end + width,
        });
        Scope {
            columns: left.columns.iter().chain(&right.columns).cloned().collect(),
            unreachable: Vec::new(),
            keys: left.keys.iter().cloned().chain(shifted).collect(),
            nullable: left.nullable.iter().chain(&right.nullable).cloned().collect(),
        }
    }

    /// Marks every relation of `side` as NULL-extended by an outer join.
    pub fn mark_nullable(&mut self, side: &Scope) {
        for c in &side.columns {
            if let Some(t) = &c.table
                && !self.nullable.contains(t)
            {
                self.nullable.push(t.clone());
            }
        }
    }

    /// True when column `i` belongs to a table whose primary-key columns are all `grouped`
    /// (PostgreSQL's functional dependency for GROUP BY).
    pub fn depends_on_grouped_key(&self, i: usize, grouped: impl Fn(usize) -> bool) -> bool {
        self.keys.iter().any(|k| k.columns.contains(&i) && k.key.iter().all(|&j| grouped(j)))
    }

    /// Resolves `[table.]name` to a column position and type. `Ok(None)` when the name is
    /// not in this scope (an enclosing scope may have it).
    pub fn resolve(&self, table: Option<&str>, name: &str) -> Result<Option<(usize, DataType)>> {
        let matches: Vec<usize> = (0..self.columns.len())
            .filter(|&i| {
                let c = &self.columns[i];
                c.name == name && table.is_none_or(|t| c.table.as_deref() == Some(t))
            })
            .collect();
        // Hidden duplicates (the right side of a USING column) lose to visible columns.
        let visible: Vec<usize> =
            matches.iter().copied().filter(|&i| !self.columns[i].hidden).collect();
        let chosen = match visible.as_slice() {
            [one] => Some(*one),
            [] => matches.first().copied(),
            _ => {
                return Err(errinput!(
                    AMBIGUOUS_COLUMN,
                    "column reference \"{name}\" is ambiguous"
                ));
            }
        };
        Ok(chosen.map(|i| (i, self.columns[i].data_type.clone())))
    }

    /// True when a table (or alias) of that name contributes columns.
    pub fn has_table(&self, table: &str) -> bool {
        self.columns.iter().any(|c| c.table.as_deref() == Some(table))
    }

    /// The positions of a table's visible columns (for `t.*`).
    pub fn table_columns(&self, table: &str) -> Vec<usize> {
        self.columns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.table.as_deref() == Some(table) && !c.hidden)
            .map(|(i, _)| i)
            .collect()
    }

    /// The positions of all visible columns (for `*`).
    pub fn visible(&self) -> Vec<usize> {
        self.columns.iter().enumerate().filter(|(_, c)| !c.hidden).map(|(i, _)| i).collect()
    }
}
