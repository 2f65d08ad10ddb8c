//! Query plans: trees of relational operators over bound expressions.
//!
//! ```text
//!   SELECT name, count(*) FROM t JOIN u ON t.id = u.tid WHERE t.x > 3 GROUP BY name
//!
//!   Project [name, count]
//!     Aggregate group=[#1] aggs=[count(*)]
//!       HashJoin inner t.id = u.tid
//!         Scan t filter=(x > 3)
//!         Scan u
//! ```
//!
//! The binder builds a plan from the parsed statement; the optimizer rewrites it (pushing
//! filters into scans, choosing index lookups and join algorithms); the executor runs it.
//! Every node knows its output columns, so expressions above it refer to columns by position.

pub mod explain;
pub mod expr;

use std::ops::Bound;
use std::sync::Arc;

use oxibase_common::DataType;
use oxibase_mvcc::{LockMode, LockWait};

use crate::catalog::{Index, Table};
use crate::functions::aggregate::AggregateFunction;
use crate::functions::window::WindowFunction;
pub use expr::{BinOp, CmpOp, Expr, RowNull, SubqueryKind};

/// An output column of a plan node.
#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    /// The column name (as the client sees it).
    pub name: String,
    /// Its type.
    pub data_type: DataType,
    /// The table (or alias) it comes from, for qualified references.
    pub table: Option<String>,
    /// Hidden from `SELECT *` (a table's row id, a join's duplicate USING column).
    pub hidden: bool,
}

impl Column {
    /// A visible column.
    pub fn new(name: impl Into<String>, data_type: DataType) -> Self {
        Column { name: name.into(), data_type, table: None, hidden: false }
    }
}

/// A plan: an operator and its output columns.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The operator.
    pub node: Node,
    /// What it produces.
    pub columns: Vec<Column>,
}

/// How a join combines rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JoinKind {
    /// Matching pairs only.
    Inner,
    /// All left rows, NULL-extended.
    Left,
    /// All right rows, NULL-extended.
    Right,
    /// All rows of both sides.
    Full,
    /// Left rows with a match (EXISTS), left columns only.
    Semi,
    /// Left rows without a match (NOT EXISTS), left columns only.
    Anti,
}

/// An ORDER BY key.
#[derive(Clone, Debug)]
pub struct SortKey {
    /// What to sort by.
    pub expr: Expr,
    /// DESC.
    pub descending: bool,
    /// NULLS FIRST.
    pub nulls_first: bool,
}

/// An aggregate call: `count(DISTINCT x) FILTER (WHERE y)`.
#[derive(Clone, Debug)]
pub struct AggregateCall {
    /// The aggregate.
    pub function: AggregateFunction,
    /// Its arguments.
    pub args: Vec<Expr>,
    /// DISTINCT.
    pub distinct: bool,
    /// FILTER (WHERE ...).
    pub filter: Option<Expr>,
    /// ORDER BY inside the call (string_agg, array_agg).
    pub order_by: Vec<SortKey>,
    /// The argument types (after coercion).
    pub arg_types: Vec<DataType>,
    /// The result type.
    pub return_type: DataType,
}

/// How a window frame's offsets count: rows, key distance, or peer groups.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameUnits {
    /// ROWS
    Rows,
    /// RANGE
    Range,
    /// GROUPS
    Groups,
}

/// A window frame bound.
#[derive(Clone, Debug)]
pub enum FrameBound {
    /// UNBOUNDED PRECEDING
    UnboundedPreceding,
    /// n PRECEDING
    Preceding(Expr),
    /// CURRENT ROW
    CurrentRow,
    /// n FOLLOWING
    Following(Expr),
    /// UNBOUNDED FOLLOWING
    UnboundedFollowing,
}

/// A window frame.
#[derive(Clone, Debug)]
pub struct Frame {
    /// ROWS, RANGE or GROUPS.
    pub units: FrameUnits,
    /// Start bound.
    pub start: FrameBound,
    /// End bound.
    pub end: FrameBound,
}

/// A window function call with its window.
#[derive(Clone, Debug)]
pub struct WindowCall {
    /// The function (a window function or an aggregate used as one).
    pub function: WindowFunction,
    /// Arguments.
    pub args: Vec<Expr>,
    /// PARTITION BY.
    pub partition_by: Vec<Expr>,
    /// ORDER BY.
    pub order_by: Vec<SortKey>,
    /// The frame.
    pub frame: Frame,
    /// FILTER (WHERE ...) for aggregates.
    pub filter: Option<Expr>,
    /// The argument types (after coercion).
    pub arg_types: Vec<DataType>,
    /// The result type.
    pub return_type: DataType,
}

/// A row lock taken while scanning (`SELECT ... FOR UPDATE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RowLock {
    /// The lock mode.
    pub mode: LockMode,
    /// What to do with rows locked by others.
    pub wait: LockWait,
}

/// An access path into a table: its primary key, or one of its indexes.
#[derive(Clone, Debug)]
pub enum Access {
    /// The table's rows in primary-key order.
    Primary,
    /// A secondary index.
    Index(Index),
    /// A secondary index whose entries hold every column the query reads: rows are made from
    /// the index keys, without reading the table (MVCC visibility is the index entry's own).
    IndexOnly(Index),
    /// An inverted (GIN) index: the rows whose entries the search names, read in key order
    /// (PostgreSQL's bitmap scan). The scan's filter re-checks every row.
    Inverted(Index, InvertedSearch),
}

impl Access {
    /// The secondary index read, if any.
    pub fn index(&self) -> Option<&Index> {
        match self {
            Access::Primary => None,
            Access::Index(i) | Access::IndexOnly(i) | Access::Inverted(i, _) => Some(i),
        }
    }
}

/// What an inverted index is asked: the rows whose key part `key` may satisfy `op` with
/// `arg`'s value (a superset: a tsquery's NOT and phrase distances, a weight, the nesting
/// of a jsonb document are the filter's to check).
#[derive(Clone, Debug)]
pub struct InvertedSearch {
    /// The key part searched, by position.
    pub key: usize,
    /// The operator.
    pub op: InvertedOp,
    /// Its other operand: row-independent.
    pub arg: Expr,
    /// The key part's type (a tsvector, an array, jsonb).
    pub key_type: DataType,
}

/// An operator an inverted index serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvertedOp {
    /// `tsvector @@ tsquery`
    TsMatch,
    /// `@>` on arrays or jsonb
    Contains,
    /// `&&` on arrays
    Overlaps,
    /// `jsonb ? text`
    Exists,
    /// `jsonb ?| text[]`
    ExistsAny,
    /// `jsonb ?& text[]`
    ExistsAll,
}

impl InvertedOp {
    /// The operator as SQL writes it.
    pub fn sql(self) -> &'static str {
        match self {
            InvertedOp::TsMatch => "@@",
            InvertedOp::Contains => "@>",
            InvertedOp::Overlaps => "&&",
            InvertedOp::Exists => "?",
            InvertedOp::ExistsAny => "?|",
            InvertedOp::ExistsAll => "?&",
        }
    }
}

/// Bounds on an access path's leading key columns: equal values for a prefix, then an
/// optional range on the next column.
#[derive(Clone, Debug)]
pub struct KeyRange {
    /// Values for the leading columns (each a list: an IN list gives several lookups).
    pub equal: Vec<Vec<Expr>>,
    /// A range on the column after the equal prefix.
    pub lower: Bound<Expr>,
    /// Its upper end.
    pub upper: Bound<Expr>,
}

impl KeyRange {
    /// Whether an equality alternative stands for a set of values ([`Expr::KeySet`]): the
    /// elements of the array in `col = ANY (array)`, or the rows of an uncorrelated `col IN
    /// (SELECT ...)`, carried as `ARRAY(SELECT ...)` with the IN subquery's id, so the
    /// lookup and the filter's re-check share one run of it.
    pub fn is_set(e: &Expr) -> bool {
        matches!(e, Expr::KeySet(_))
    }

    /// Whether a column's alternatives are exactly one value.
    pub fn one_value(values: &[Expr]) -> bool {
        matches!(values, [v] if !Self::is_set(v))
    }
}

/// A set operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetOp {
    /// UNION
    Union,
    /// INTERSECT
    Intersect,
    /// EXCEPT
    Except,
}

/// A row lock taken by `LockRows`: which hidden column holds the row key, and a re-check
/// for read committed (the row's predicate, evaluated on the latest version after locking).
#[derive(Clone, Debug)]
pub struct LockTarget {
    /// The table alias the key belongs to.
    pub table: String,
    /// The input column holding the row key.
    pub key_column: usize,
    /// For a query over one table: how to redo its row from the row's latest version.
    pub recheck: Option<std::sync::Arc<Recheck>>,
}

/// Read committed's re-check of a locked row (PostgreSQL's EvalPlanQual): when the row
/// changed after the statement's snapshot, its latest version is run through the query's
/// WHERE clause again (a row no longer matching is skipped, so a queue consumer never takes
/// a job another one finished meanwhile) and the output is computed from it.
#[derive(Debug)]
pub struct Recheck {
    /// The table.
    pub table: std::sync::Arc<crate::catalog::Table>,
    /// The WHERE clause over the table's row and its key.
    pub filter: Option<Expr>,
    /// The output columns over the table's row and its key.
    pub outputs: Vec<Expr>,
}

/// A table-valued function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TableFunction {
    /// A stored set-returning function (RETURNS SETOF or TABLE).
    Routine(std::sync::Arc<crate::procedure::Routine>),
    /// A scalar function used in FROM: one row.
    Scalar,
    /// A function returning a composite type used in FROM: one row of the value's fields
    /// (all NULL for a NULL value), `width` of them.
    Fields {
        /// The number of fields.
        width: usize,
    },
    /// generate_series(start, stop [, step])
    GenerateSeries,
    /// unnest(array)
    Unnest,
    /// generate_subscripts(array, dim)
    GenerateSubscripts,
    /// information_schema._pg_expandarray(array): (x, n), each element and its 1-based
    /// position (pgjdbc's DatabaseMetaData queries use it).
    ExpandArray,
    /// jsonb_each / json_each
    JsonEach,
    /// jsonb_each_text / json_each_text
    JsonEachText,
    /// jsonb_array_elements / json_array_elements
    JsonArrayElements,
    /// jsonb_array_elements_text
    JsonArrayElementsText,
    /// jsonb_object_keys
    JsonObjectKeys,
    /// jsonb_path_query(target, path [, vars [, silent]])
    JsonbPathQuery,
    /// regexp_split_to_table
    RegexpSplitToTable,
    /// pg_options_to_table(text[]): each `name=value` option as (option_name, option_value).
    OptionsToTable,
    /// regexp_matches(text, pattern [, flags]): one text[] per match (all of them with 'g')
    RegexpMatches,
    /// json[b]_to_record / json[b]_to_recordset (`set`) with the columns the query declares.
    JsonToRecord {
        /// The function's name, for errors.
        name: &'static str,
        /// One row per element of an array of objects (else one object).
        set: bool,
        /// The declared columns.
        columns: Vec<(String, DataType)>,
    },
}

/// A data-modifying statement inside WITH.
#[derive(Debug)]
pub enum Modify {
    /// INSERT ... RETURNING
    Insert(crate::bind::Insert),
    /// UPDATE ... RETURNING
    Update(crate::bind::Update),
    /// DELETE ... RETURNING
    Delete(crate::bind::Delete),
}

/// A relational operator.
#[derive(Clone, Debug)]
#[allow(clippy::large_enum_variant)] // plans are built once per statement; boxing saves nothing
pub enum Node {
    /// Literal rows (`VALUES`, or one empty row for a SELECT without FROM).
    Values {
        /// The rows.
        rows: Vec<Vec<Expr>>,
    },
    /// Reads a table.
    Scan {
        /// The table.
        table: Arc<Table>,
        /// How: full or through an index.
        access: Access,
        /// Key bounds on the access path (None reads everything).
        range: Option<KeyRange>,
        /// Walk the access path backwards (for ORDER BY ... DESC).
        reverse: bool,
        /// A filter applied to each row.
        filter: Option<Expr>,
        /// Row locks to take (FOR UPDATE/SHARE).
        lock: Option<RowLock>,
        /// Whether the scan produces a trailing hidden column with the row's key (for
        /// UPDATE, DELETE and FOR UPDATE).
        with_key: bool,
        /// Read the table as of this time (`FOR SYSTEM_TIME AS OF`): a timestamptz or a
        /// commit timestamp.
        as_of: Option<Expr>,
        /// The columns the plan above reads, by position (None: all). The others are not
        /// decoded and read as NULL.
        reads: Option<Vec<bool>>,
    },
    /// Locks each row's key as it passes (FOR UPDATE/SHARE), skipping or waiting for rows
    /// locked by others; placed above sorting and below LIMIT, as PostgreSQL's LockRows.
    LockRows {
        /// Input.
        input: Box<Plan>,
        /// The keys to lock in each row.
        targets: Vec<LockTarget>,
        /// The lock mode and wait policy.
        lock: RowLock,
    },
    /// A built-in catalog view (pg_catalog, information_schema), generated from the catalog.
    SystemScan {
        /// Which view.
        table: crate::system::SystemTable,
    },
    /// `SELECT * FROM sequence`
    SequenceScan {
        /// The sequence.
        sequence: crate::catalog::Sequence,
    },
    /// Re-runs its input for every row of the enclosing join's left side (a table function
    /// that refers to earlier FROM items).
    Lateral {
        /// The input, whose expressions refer to the left row as the outer row.
        input: Box<Plan>,
    },
    /// Keeps rows where the predicate is true.
    Filter {
        /// Input.
        input: Box<Plan>,
        /// The predicate.
        predicate: Expr,
    },
    /// Set-returning functions of a select list: for each input row, as many rows as the
    /// longest function result, the input columns followed by one column per function
    /// (NULL once a shorter function is exhausted).
    ProjectSet {
        /// Input.
        input: Box<Plan>,
        /// The functions and their arguments (over the input row).
        functions: Vec<(TableFunction, Vec<Expr>)>,
    },
    /// Computes expressions over each row.
    Project {
        /// Input.
        input: Box<Plan>,
        /// The output expressions.
        exprs: Vec<Expr>,
    },
    /// A join evaluated by looping over the right side for each left row.
    NestedLoopJoin {
        /// Left input.
        left: Box<Plan>,
        /// Right input (re-run per left row when it is correlated, i.e. LATERAL).
        right: Box<Plan>,
        /// The kind of join.
        kind: JoinKind,
        /// The join condition over (left ++ right) columns.
        predicate: Option<Expr>,
        /// The right side refers to the left row (LATERAL).
        lateral: bool,
    },
    /// An equi-join evaluated by hashing the right side.
    HashJoin {
        /// Left input (probes).
        left: Box<Plan>,
        /// Right input (built into a hash table).
        right: Box<Plan>,
        /// The kind of join.
        kind: JoinKind,
        /// Key expressions over the left columns.
        left_keys: Vec<Expr>,
        /// Key expressions over the right columns.
        right_keys: Vec<Expr>,
        /// Remaining condition over (left ++ right) columns.
        residual: Option<Expr>,
    },
    /// Groups and aggregates. Output: the group keys, then the aggregates, then (with
    /// grouping sets) a GROUPING() bitmap column.
    Aggregate {
        /// Input.
        input: Box<Plan>,
        /// Group-by expressions.
        group_by: Vec<Expr>,
        /// Grouping sets as lists of group-by positions (None: one set of all).
        grouping_sets: Option<Vec<Vec<usize>>>,
        /// Aggregate calls.
        aggregates: Vec<AggregateCall>,
    },
    /// Computes window functions; output: the input columns, then one per call.
    Window {
        /// Input.
        input: Box<Plan>,
        /// The calls.
        calls: Vec<WindowCall>,
    },
    /// Sorts.
    Sort {
        /// Input.
        input: Box<Plan>,
        /// Keys.
        keys: Vec<SortKey>,
    },
    /// LIMIT / OFFSET.
    Limit {
        /// Input.
        input: Box<Plan>,
        /// LIMIT (None: no limit).
        limit: Option<Expr>,
        /// OFFSET.
        offset: Option<Expr>,
        /// FETCH ... WITH TIES: the ORDER BY keys; rows past the limit that tie with the last
        /// one on them are returned too.
        ties: Option<Vec<Expr>>,
    },
    /// Removes duplicate rows, or with `on`, keeps the first row per key (DISTINCT ON).
    Distinct {
        /// Input.
        input: Box<Plan>,
        /// DISTINCT ON keys.
        on: Option<Vec<Expr>>,
    },
    /// UNION / INTERSECT / EXCEPT.
    SetOperation {
        /// Left input.
        left: Box<Plan>,
        /// Right input.
        right: Box<Plan>,
        /// The operation.
        op: SetOp,
        /// ALL (keep duplicates).
        all: bool,
    },
    /// A table function.
    Function {
        /// The function.
        function: TableFunction,
        /// Its arguments.
        args: Vec<Expr>,
        /// WITH ORDINALITY.
        ordinality: bool,
    },
    /// A data-modifying statement in WITH: runs once and yields its RETURNING rows.
    Modify {
        /// The INSERT, UPDATE or DELETE (its source plan already optimized).
        statement: Arc<Modify>,
    },
    /// Runs the data-modifying CTEs of a WITH (each once, whether read or not), then yields
    /// the input's rows.
    ModifyFirst {
        /// The CTEs, by id, as `Modify` plans.
        ctes: Vec<(usize, Arc<Plan>)>,
        /// The statement's own rows.
        input: Box<Plan>,
    },
    /// A common table expression computed once per statement and read by reference.
    CteScan {
        /// The statement-unique CTE id.
        id: usize,
        /// Its definition (executed on first use).
        plan: Arc<Plan>,
    },
    /// WITH RECURSIVE: the anchor, then the recursive part repeated until no new rows.
    RecursiveCte {
        /// The statement-unique CTE id the recursive part reads as its working table.
        id: usize,
        /// The non-recursive part.
        anchor: Box<Plan>,
        /// The recursive part (reads `CteScan { id }` as the previous iteration's rows).
        recursive: Box<Plan>,
        /// UNION (true) removes duplicates; UNION ALL keeps them.
        distinct: bool,
    },
    /// The rows of the recursive CTE's previous iteration.
    WorkTable {
        /// The CTE id.
        id: usize,
    },
}

impl Plan {
    /// A plan node with its columns.
    pub fn new(node: Node, columns: Vec<Column>) -> Self {
        Plan { node, columns }
    }

    /// One empty row: the input of a SELECT without FROM.
    pub fn single_row() -> Self {
        Plan::new(Node::Values { rows: vec![vec![]] }, vec![])
    }

    /// The plan's inputs.
    pub fn inputs(&self) -> Vec<&Plan> {
        match &self.node {
            Node::Values { .. }
            | Node::Scan { .. }
            | Node::Function { .. }
            | Node::WorkTable { .. }
            | Node::SystemScan { .. }
            | Node::SequenceScan { .. }
            | Node::Modify { .. } => vec![],
            Node::CteScan { plan, .. } => vec![plan],
            Node::ModifyFirst { ctes, input } => {
                ctes.iter().map(|(_, p)| p.as_ref()).chain([input.as_ref()]).collect()
            }
            Node::Filter { input, .. }
            | Node::ProjectSet { input, .. }
            | Node::Project { input, .. }
            | Node::Aggregate { input, .. }
            | Node::Window { input, .. }
            | Node::Sort { input, .. }
            | Node::Limit { input, .. }
            | Node::Distinct { input, .. }
            | Node::LockRows { input, .. }
            | Node::Lateral { input } => vec![input],
            Node::NestedLoopJoin { left, right, .. }
            | Node::HashJoin { left, right, .. }
            | Node::SetOperation { left, right, .. } => {
                vec![left, right]
            }
            Node::RecursiveCte { anchor, recursive, .. } => vec![anchor, recursive],
        }
    }
}
