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
}

impl Scope {
    /// A scope over a plan's output columns.
    pub fn new(columns: Vec<Column>) -> Self {
        Scope { columns, unreachable: Vec::new() }
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
