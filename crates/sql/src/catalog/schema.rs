//! The catalog's objects: schemas, tables, columns, indexes and sequences.

use std::sync::Arc;

use oxibase_common::keycode::ColumnOrder;
use oxibase_common::{DataType, Value};

use crate::keys::RelId;

/// What kind of relation a `sys_tables` row describes (PostgreSQL's `relkind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RelKind {
    /// An ordinary table (`r`).
    Table,
    /// An index (`i`).
    Index,
    /// A sequence (`S`).
    Sequence,
    /// A view (`v`).
    View,
    /// An enum type (`T`, not a PostgreSQL relkind: types are not in `pg_class`).
    Type,
    /// A domain (`D`, likewise only in `pg_type`).
    Domain,
}

impl RelKind {
    /// PostgreSQL's one-letter code.
    pub fn code(self) -> &'static str {
        match self {
            RelKind::Table => "r",
            RelKind::Index => "i",
            RelKind::Sequence => "S",
            RelKind::View => "v",
            RelKind::Type => "T",
            RelKind::Domain => "D",
        }
    }

    /// Parses a one-letter code.
    pub fn from_code(code: &str) -> Option<RelKind> {
        Some(match code {
            "r" => RelKind::Table,
            "i" => RelKind::Index,
            "S" => RelKind::Sequence,
            "v" => RelKind::View,
            "T" => RelKind::Type,
            "D" => RelKind::Domain,
            _ => return None,
        })
    }

    /// The word used in messages ("table", "index", ...).
    pub fn noun(self) -> &'static str {
        match self {
            RelKind::Table => "table",
            RelKind::Index => "index",
            RelKind::Sequence => "sequence",
            RelKind::View => "view",
            RelKind::Type | RelKind::Domain => "type",
        }
    }
}

/// A column of a table.
#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    /// The column name.
    pub name: String,
    /// The column type.
    pub data_type: DataType,
    /// NOT NULL.
    pub not_null: bool,
    /// The DEFAULT expression as SQL text, evaluated by the SQL layer.
    pub default: Option<String>,
    /// The value rows written before this column was added read for it (PostgreSQL's
    /// `attmissingval`): the default at the time of `ADD COLUMN`, or NULL.
    pub missing: Value,
    /// Dropped columns keep their position so old rows still decode.
    pub dropped: bool,
    /// GENERATED ALWAYS AS IDENTITY: only the sequence supplies values, unless an INSERT
    /// says OVERRIDING SYSTEM VALUE.
    pub identity_always: bool,
    /// GENERATED ALWAYS AS (expression) STORED: the expression as SQL text over the row's
    /// other columns, computed on every write of the row.
    pub generated: Option<String>,
    /// The domain the column was declared with (`data_type` is then the domain's base type):
    /// values assigned to the column are checked against it.
    pub domain: Option<Arc<Domain>>,
}

impl Column {
    /// A nullable column with no default.
    pub fn new(name: impl Into<String>, data_type: DataType) -> Self {
        Column {
            name: name.into(),
            data_type,
            not_null: false,
            default: None,
            missing: Value::Null,
            dropped: false,
            identity_always: false,
            generated: None,
            domain: None,
        }
    }

    /// The default an omitted value takes, as SQL text: the column's own, else its
    /// domain's.
    pub fn default_sql(&self) -> Option<&str> {
        self.default.as_deref().or_else(|| self.domain.as_ref()?.effective_default())
    }

    /// Marks the column NOT NULL.
    pub fn not_null(mut self) -> Self {
        self.not_null = true;
        self
    }
}

/// A domain (`CREATE DOMAIN`): a base type with a NOT NULL flag, a default and CHECK
/// constraints over `VALUE`. Values of a domain are values of its base type; columns and
/// casts check them (see `exec::storage::check_domain`).
#[derive(Clone, Debug, PartialEq)]
pub struct Domain {
    /// Its id, which is also its oid.
    pub id: RelId,
    /// Its schema.
    pub schema: String,
    /// Its name in that schema.
    pub name: String,
    /// The domain this one is declared over, if any: its constraints apply first.
    pub parent: Option<Arc<Domain>>,
    /// The type its values have (a domain over a domain has its parent's).
    pub base: DataType,
    /// NOT NULL, as declared on this domain.
    pub not_null: bool,
    /// DEFAULT, as SQL text, as declared on this domain.
    pub default: Option<String>,
    /// CHECK constraints over `VALUE`, by name.
    pub checks: Vec<Constraint>,
}

impl Domain {
    /// The name `format_type` prints: quoted where SQL needs it, schema-qualified outside
    /// `public`.
    pub fn sql_name(&self) -> String {
        oxibase_common::value::type_sql_name(&self.schema, &self.name)
    }

    /// This domain, then the domains it is declared over.
    pub fn chain(&self) -> impl Iterator<Item = &Domain> {
        std::iter::successors(Some(self), |d| d.parent.as_deref())
    }

    /// Whether NULL is refused, here or by a domain it is declared over.
    pub fn rejects_null(&self) -> bool {
        self.chain().any(|d| d.not_null)
    }

    /// The default a column of the domain without one of its own takes.
    pub fn effective_default(&self) -> Option<&str> {
        self.chain().find_map(|d| d.default.as_deref())
    }
}

/// An index on a table.
#[derive(Clone, Debug, PartialEq)]
pub struct Index {
    /// The index's relation id.
    pub id: RelId,
    /// Where its entries live: the key prefix of this id (see [`Table::storage`]).
    pub storage: RelId,
    /// The index name (unique among relations of its schema).
    pub name: String,
    /// The indexed table.
    pub table_id: RelId,
    /// UNIQUE.
    pub unique: bool,
    /// The key, in order: columns and expressions over the table's row.
    pub keys: Vec<IndexKey>,
    /// The order of each key column.
    pub orders: Vec<ColumnOrder>,
    /// Complete, so queries may read it (PostgreSQL's `indisvalid`). An index being built
    /// by CREATE INDEX CONCURRENTLY is maintained by writers but not read until then.
    pub valid: bool,
    /// A partial index's WHERE, as SQL text over the table's row: only rows for which it
    /// is true have an entry (and, for a unique index, are kept unique).
    pub predicate: Option<String>,
    /// The access method CREATE INDEX named (`USING ...`).
    pub method: IndexMethod,
    /// UNIQUE NULLS NOT DISTINCT: keys with NULLs collide as other keys do.
    pub nulls_not_distinct: bool,
    /// The index of a UNIQUE constraint (listed in pg_constraint and table_constraints,
    /// dropped with DROP CONSTRAINT); false for CREATE [UNIQUE] INDEX.
    pub constraint: bool,
}

/// An index's access method. Every method but GIN keeps one ordered entry per row, the key
/// values then the row key (a hash, GiST, SP-GiST or BRIN index is stored as a btree: it
/// serves the same equality and range lookups). A GIN index is inverted: one entry per
/// distinct element of each key (a tsvector's lexemes, an array's elements, a jsonb
/// document's keys and values), which `@@`, `@>`, `&&` and `?` look up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IndexMethod {
    /// btree (the default).
    Btree,
    /// hash
    Hash,
    /// gin: inverted.
    Gin,
    /// gist
    Gist,
    /// spgist
    Spgist,
    /// brin
    Brin,
}

impl IndexMethod {
    /// Every method, in pg_am's order.
    pub const ALL: [IndexMethod; 6] = [
        IndexMethod::Btree,
        IndexMethod::Hash,
        IndexMethod::Gist,
        IndexMethod::Gin,
        IndexMethod::Spgist,
        IndexMethod::Brin,
    ];

    /// Its name, as `USING` and pg_am write it.
    pub fn name(self) -> &'static str {
        match self {
            IndexMethod::Btree => "btree",
            IndexMethod::Hash => "hash",
            IndexMethod::Gin => "gin",
            IndexMethod::Gist => "gist",
            IndexMethod::Spgist => "spgist",
            IndexMethod::Brin => "brin",
        }
    }

    /// The method of this name (case-insensitive).
    pub fn named(name: &str) -> Option<IndexMethod> {
        IndexMethod::ALL.into_iter().find(|m| m.name().eq_ignore_ascii_case(name))
    }

    /// PostgreSQL's pg_am oid.
    pub fn oid(self) -> u32 {
        match self {
            IndexMethod::Btree => 403,
            IndexMethod::Hash => 405,
            IndexMethod::Gist => 783,
            IndexMethod::Gin => 2742,
            IndexMethod::Spgist => 4000,
            IndexMethod::Brin => 3580,
        }
    }

    /// An inverted index (GIN): entries per element, not per row.
    pub fn inverted(self) -> bool {
        self == IndexMethod::Gin
    }
}

/// One part of an index key.
#[derive(Clone, Debug, PartialEq)]
pub enum IndexKey {
    /// A column, by position.
    Column(usize),
    /// An expression over the table's row, as SQL text (an expression index).
    Expr(String),
}

impl Index {
    /// The key's column positions when every part is a plain column and the index is not
    /// partial: the indexes a foreign key, ON CONFLICT (columns) or a key lookup by column
    /// values may use.
    pub fn plain_columns(&self) -> Option<Vec<usize>> {
        if self.predicate.is_some() || self.method.inverted() {
            return None;
        }
        self.key_columns()
    }

    /// The key's column positions when every part is a plain column (partial or not).
    pub fn key_columns(&self) -> Option<Vec<usize>> {
        self.keys
            .iter()
            .map(|k| match k {
                IndexKey::Column(c) => Some(*c),
                IndexKey::Expr(_) => None,
            })
            .collect()
    }

    /// How the key's parts are written in messages and plans, as PostgreSQL writes them:
    /// columns by name (quoted where needed), a function call as it is, other expressions
    /// in parentheses (`Key (lower(email), (n * 2))=(...)`).
    pub fn key_names(&self, table: &Table) -> Vec<String> {
        self.key_sql(table, false)
    }

    /// The key's parts as `pg_get_indexdef` writes them: like [`Index::key_names`], with
    /// every operator in an expression parenthesised too (`btree (((n * 2)))`).
    pub fn key_definitions(&self, table: &Table) -> Vec<String> {
        self.key_sql(table, true)
    }

    fn key_sql(&self, table: &Table, definition: bool) -> Vec<String> {
        self.keys
            .iter()
            .map(|k| match k {
                IndexKey::Column(c) => {
                    crate::functions::string::quote_identifier(&table.columns[*c].name)
                }
                IndexKey::Expr(sql) if definition => key_expression(&deparse(sql)),
                IndexKey::Expr(sql) => key_expression(sql),
            })
            .collect()
    }

    /// Whether the key has an expression or the index a predicate (its entries are
    /// computed, not copied from columns).
    pub fn computed(&self) -> bool {
        self.predicate.is_some() || self.keys.iter().any(|k| matches!(k, IndexKey::Expr(_)))
    }
}

/// What a CHECK or FOREIGN KEY constraint enforces (primary keys and unique constraints are
/// the table's key and its unique indexes).
#[derive(Clone, Debug, PartialEq)]
pub enum ConstraintKind {
    /// CHECK (expression), as SQL text over the table's columns.
    Check {
        /// The expression.
        expr: String,
    },
    /// FOREIGN KEY (columns) REFERENCES table (columns).
    ForeignKey {
        /// Referencing column positions.
        columns: Vec<usize>,
        /// The referenced table.
        ref_table: RelId,
        /// Referenced column positions (its primary key or a unique index).
        ref_columns: Vec<usize>,
        /// ON DELETE: restrict, cascade, setnull, setdefault.
        on_delete: String,
        /// ON UPDATE.
        on_update: String,
    },
}

/// A named CHECK or FOREIGN KEY constraint.
#[derive(Clone, Debug, PartialEq)]
pub struct Constraint {
    /// The constraint name (unique per table).
    pub name: String,
    /// What it enforces.
    pub kind: ConstraintKind,
    /// Existing rows were checked (false after ADD ... NOT VALID until VALIDATE CONSTRAINT;
    /// new rows are checked either way).
    pub validated: bool,
    /// Whether its check may wait for the commit (foreign keys only).
    pub deferral: Deferral,
}

/// When a constraint is checked: PostgreSQL's `[NOT] DEFERRABLE [INITIALLY DEFERRED]`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Deferral {
    /// Checked as each row changes (the default).
    #[default]
    NotDeferrable,
    /// DEFERRABLE INITIALLY IMMEDIATE: checked as rows change unless `SET CONSTRAINTS ...
    /// DEFERRED` says otherwise.
    Immediate,
    /// DEFERRABLE INITIALLY DEFERRED: checked at commit unless `SET CONSTRAINTS ...
    /// IMMEDIATE` says otherwise.
    Deferred,
}

impl Deferral {
    /// Its code in `sys_constraints`.
    pub fn code(self) -> &'static str {
        match self {
            Deferral::NotDeferrable => "n",
            Deferral::Immediate => "i",
            Deferral::Deferred => "d",
        }
    }

    /// Parses a code.
    pub fn from_code(code: &str) -> Option<Deferral> {
        Some(match code {
            "n" => Deferral::NotDeferrable,
            "i" => Deferral::Immediate,
            "d" => Deferral::Deferred,
            _ => return None,
        })
    }
}

/// A table, with its columns and indexes.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    /// The table's relation id.
    pub id: RelId,
    /// Where its rows live: the key prefix of this id, at first the relation id. A rewrite or
    /// TRUNCATE fills a new one and drops the old one whole (PostgreSQL's relfilenode).
    pub storage: RelId,
    /// The schema name.
    pub schema: String,
    /// The table name.
    pub name: String,
    /// Columns by position, dropped ones included.
    pub columns: Vec<Column>,
    /// Primary-key column positions; empty for a table without one (rows are then keyed by
    /// a hidden row id).
    pub primary_key: Vec<usize>,
    /// Secondary indexes.
    pub indexes: Vec<Index>,
    /// CHECK and FOREIGN KEY constraints.
    pub constraints: Vec<Constraint>,
    /// What the last ANALYZE found, for the optimizer's estimates (None before one).
    pub stats: Option<TableStats>,
    /// A materialized view's query: its rows are the query's as of the last REFRESH, and
    /// only REFRESH writes them.
    pub materialized: Option<String>,
    /// A materialized view made or refreshed WITH NO DATA: reading it is an error (55000).
    pub unpopulated: bool,
    /// Its triggers, by name.
    pub triggers: Vec<std::sync::Arc<super::triggers::Trigger>>,
    /// Row-level security: bit 0 ENABLE, bit 1 FORCE (see `catalog::policies`).
    pub row_security: u8,
    /// Its row-level security policies, by name.
    pub policies: Vec<std::sync::Arc<super::policies::Policy>>,
}

/// A table's statistics, as ANALYZE computes them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TableStats {
    /// Rows in the table.
    pub rows: u64,
    /// Estimated distinct non-null values per column position (0 for a dropped column).
    pub distinct: Vec<u64>,
}

impl Table {
    /// The position of a live column by name.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| !c.dropped && c.name == name)
    }

    /// The live columns with their positions.
    pub fn live_columns(&self) -> impl Iterator<Item = (usize, &Column)> {
        self.columns.iter().enumerate().filter(|(_, c)| !c.dropped)
    }

    /// Completes a decoded row written before columns were added: missing trailing columns
    /// read their `missing` value.
    pub fn complete_row(&self, mut row: Vec<Value>) -> Vec<Value> {
        for column in &self.columns[row.len().min(self.columns.len())..] {
            row.push(column.missing.clone());
        }
        row
    }
}

/// What a new table looks like (the id is assigned by the catalog).
#[derive(Clone, Debug, PartialEq)]
pub struct TableSpec {
    /// The schema to create it in.
    pub schema: String,
    /// The table name.
    pub name: String,
    /// The columns.
    pub columns: Vec<Column>,
    /// Primary-key column names.
    pub primary_key: Vec<String>,
}

/// A sequence and its parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sequence {
    /// The sequence's relation id; its value lives in a counter with this id.
    pub id: RelId,
    /// The schema name.
    pub schema: String,
    /// The sequence name.
    pub name: String,
    /// The first value.
    pub start: i64,
    /// The step (may be negative).
    pub increment: i64,
    /// The smallest value.
    pub min: i64,
    /// The largest value.
    pub max: i64,
    /// Wrap around at the end instead of failing.
    pub cycle: bool,
    /// The column whose SERIAL default it feeds (table id, column position): dropped with
    /// it, reset by `TRUNCATE ... RESTART IDENTITY`.
    pub owned_by: Option<(RelId, usize)>,
}

impl Sequence {
    /// A sequence with PostgreSQL's defaults for a bigint sequence counting up from 1.
    pub fn ascending(schema: impl Into<String>, name: impl Into<String>) -> Self {
        Sequence {
            id: 0,
            schema: schema.into(),
            name: name.into(),
            start: 1,
            increment: 1,
            min: 1,
            max: i64::MAX,
            cycle: false,
            owned_by: None,
        }
    }
}

/// A role (a user when it may log in).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Role {
    /// The role name.
    pub name: String,
    /// Its id (PostgreSQL's oid).
    pub id: RelId,
    /// SUPERUSER.
    pub superuser: bool,
    /// LOGIN.
    pub login: bool,
    /// The SCRAM-SHA-256 verifier of its password, if it has one.
    pub password: Option<String>,
    /// CREATEROLE: may create, alter and drop roles that are not superusers.
    pub createrole: bool,
    /// INHERIT: has the privileges of the roles it is a member of without SET ROLE.
    pub inherit: bool,
}

impl Role {
    /// The superuser created with the database (PostgreSQL's bootstrap superuser).
    pub fn bootstrap() -> Role {
        Role {
            name: super::system::BOOTSTRAP_ROLE.into(),
            id: super::system::BOOTSTRAP_ROLE_ID,
            superuser: true,
            login: true,
            password: None,
            createrole: true,
            inherit: true,
        }
    }
}

/// An expression as an index key is written: a function call as it is, anything else in
/// parentheses (`lower(email)`, `(n * 2)`).
pub fn key_expression(sql: &str) -> String {
    match crate::bind::parse_expr(sql) {
        Ok(sqlparser::ast::Expr::Function(_)) => sql.to_string(),
        _ => format!("({sql})"),
    }
}

/// A stored expression as PostgreSQL's `pg_get_expr` writes it: every operator, test and
/// boolean connective in parentheses (`((n > 0) AND (w IS NOT NULL))`).
pub fn deparse(sql: &str) -> String {
    use sqlparser::ast::Expr as E;
    let Ok(mut expr) = crate::bind::parse_expr(sql) else { return sql.to_string() };
    // Parentheses as written are PostgreSQL's own; they come back below. The SQL value
    // functions written without parentheses print in capitals, as PostgreSQL prints them.
    let _ = sqlparser::ast::visit_expressions_mut(&mut expr, |e| {
        while let E::Nested(inner) = e {
            *e = std::mem::replace(&mut **inner, E::Value(sqlparser::ast::Value::Null.into()));
        }
        let niladic =
            |name: &str| matches!(name, "current_user" | "session_user" | "current_role" | "user");
        match e {
            E::Identifier(id) if id.quote_style.is_none() && niladic(&id.value.to_lowercase()) => {
                id.value = id.value.to_uppercase();
            }
            E::Function(f)
                if matches!(f.args, sqlparser::ast::FunctionArguments::None)
                    && f.name.0.len() == 1
                    && niladic(&f.name.to_string().to_lowercase()) =>
            {
                let upper = f.name.to_string().to_uppercase();
                f.name = sqlparser::ast::ObjectName::from(vec![sqlparser::ast::Ident::new(upper)]);
            }
            _ => {}
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    let _ = sqlparser::ast::visit_expressions_mut(&mut expr, |e| {
        if matches!(
            e,
            E::BinaryOp { .. }
                | E::UnaryOp { .. }
                | E::IsNull(_)
                | E::IsNotNull(_)
                | E::IsTrue(_)
                | E::IsNotTrue(_)
                | E::IsFalse(_)
                | E::IsNotFalse(_)
                | E::IsDistinctFrom(..)
                | E::IsNotDistinctFrom(..)
                | E::Like { .. }
                | E::ILike { .. }
                | E::In { .. }
                | E::Between { .. }
        ) {
            let inner = std::mem::replace(e, E::Value(sqlparser::ast::Value::Null.into()));
            *e = E::Nested(Box::new(inner));
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    expr.to_string()
}
