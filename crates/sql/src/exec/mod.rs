//! The executor: runs plans as pull-based iterators of rows (the Volcano model).
//!
//! Each operator is an iterator over `Result<Row>` that pulls from its inputs, so a
//! `LIMIT 10` over a scan reads about ten rows. Operators that need all their input (sort,
//! hash aggregation, the build side of a hash join) collect it first.
//!
//! Correlated subqueries see the row of their enclosing query through [`ExecCtx::outer`], a
//! stack pushed while the subquery runs; uncorrelated ones run once per statement and are
//! cached by their statement-unique id, as are CTEs.

mod aggregate;
pub mod analyze;
pub mod ddl;
pub mod dml;
pub mod eval;
mod inverted;
mod join;
pub mod routine;
mod scan;
mod setops;
pub mod storage;
mod trigger;
mod window;

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Instant;

use oxibase_common::{Result, Value, errinput};
use oxibase_mvcc::Transaction;

use crate::catalog::Catalog;
use crate::functions::{FunctionEnv, SequenceOp, SessionValue};
use crate::plan::{Node, Plan};
use crate::system::CatalogSnapshot;
use crate::types::datetime::Zone;

/// A row of values.
pub type Row = Vec<Value>;

/// A stream of rows.
pub type Rows<'a> = Box<dyn Iterator<Item = Result<Row>> + 'a>;

/// What the executor needs from the session beyond functions: catalog snapshots for the
/// system views.
pub trait SessionEnv: FunctionEnv {
    /// The catalog as the system views show it, read in the current transaction.
    fn system_snapshot(&self, txn: &Transaction) -> Result<CatalogSnapshot>;
    /// Adds the server's counters and row locks to a snapshot, for the views that show them.
    fn live_state(&self, snapshot: &mut CatalogSnapshot);
    /// Adds each view's columns (its query bound now) to a snapshot, for the catalogs that
    /// list columns.
    fn view_columns(&self, _snapshot: &mut CatalogSnapshot) {}
    /// What finds the stored functions an expression stored with a table calls (a CHECK,
    /// a generation or index expression, a default).
    fn bind_env(&self) -> Option<&dyn crate::bind::BindEnv> {
        None
    }
    /// What a stored expression bound with [`SessionEnv::bind_env`] stays valid for: a
    /// number that changes when the routines it may call can have.
    fn expr_generation(&self) -> u64 {
        0
    }
    /// Sends a NOTICE to the client.
    fn notice(&self, message: String);
    /// Sends a WARNING with its SQLSTATE to the client.
    fn warning(&self, _code: &'static str, message: String) {
        self.notice(message)
    }
    /// The foreign keys that reference `table`, with the tables that own them: read on every
    /// UPDATE and DELETE of `table`, so a session may answer from a cache it keeps per
    /// catalog generation.
    fn referencing(
        &self,
        catalog: &Catalog,
        txn: &Transaction,
        table: crate::keys::RelId,
    ) -> Result<std::sync::Arc<Vec<(crate::catalog::Table, crate::catalog::Constraint)>>> {
        catalog.referencing(txn, table).map(std::sync::Arc::new)
    }
    /// Leaves a check of the DEFERRABLE `constraint` for the commit, if the transaction
    /// defers it now (INITIALLY DEFERRED, or `SET CONSTRAINTS ... DEFERRED`); false to have
    /// it made now.
    fn defer(
        &self,
        _constraint: &crate::catalog::Constraint,
        _check: storage::DeferredCheck,
    ) -> bool {
        false
    }
    /// The runtime for stored functions and procedures, if the database has one.
    fn procedure_runtime(&self) -> Option<std::sync::Arc<dyn crate::procedure::ProcedureRuntime>> {
        None
    }
    /// Calls a stored routine inside the statement's transaction.
    fn call_routine(
        &self,
        routine: &crate::procedure::Routine,
        _args: &[Value],
    ) -> Result<crate::procedure::CallResult> {
        Err(errinput!(
            FEATURE_NOT_SUPPORTED,
            "stored routine {}() cannot be called here",
            routine.name
        ))
    }
    /// Runs a trigger's function; a BEFORE row trigger's result is the row to write (live
    /// columns), None to skip it.
    fn fire_trigger(&self, call: &crate::trigger::TriggerCall) -> Result<Option<Vec<Value>>> {
        Err(errinput!(FEATURE_NOT_SUPPORTED, "trigger {} cannot fire here", call.trigger.name))
    }
    /// Whether a row trigger's WHEN condition holds for its row.
    fn trigger_condition(&self, call: &crate::trigger::TriggerCall) -> Result<bool> {
        let _ = call;
        Ok(true)
    }
}

/// Per-statement counters, for EXPLAIN ANALYZE and metrics.
#[derive(Clone, Debug, Default)]
pub struct ExecStats {
    /// Rows read from tables and indexes.
    pub rows_read: u64,
    /// Rows written (inserted, updated, deleted).
    pub rows_written: u64,
}

/// Everything a running statement needs.
pub struct ExecCtx<'a> {
    /// The statement's transaction.
    pub txn: &'a Transaction,
    /// The catalog.
    pub catalog: &'a Catalog,
    /// The session (settings, clock, sequences).
    pub session: &'a dyn SessionEnv,
    /// Statement parameters.
    pub params: &'a [Value],
    /// Rows of enclosing queries, innermost last.
    pub outer: RefCell<Vec<Row>>,
    /// Results of uncorrelated subqueries and CTEs, by id.
    pub cache: RefCell<HashMap<usize, Rc<Vec<Row>>>>,
    /// Uncorrelated subqueries' first column as a value set (`x IN (SELECT ...)`, PostgreSQL's
    /// hashed SubPlan) or as an array (`ARRAY(SELECT ...)`), by id and whether it is the set
    /// (a key lookup reads an IN subquery as an array): built once, not per row.
    pub derived: RefCell<HashMap<(usize, bool), Rc<eval::Derived>>>,
    /// The current iteration of each recursive CTE.
    pub work_tables: RefCell<HashMap<usize, Rc<Vec<Row>>>>,
    /// Counters.
    pub stats: RefCell<ExecStats>,
    /// EXPLAIN ANALYZE: what each plan node did, by the node's address.
    pub profile: Option<&'a RefCell<Profile>>,
}

/// Per plan node (keyed by its address): how often it ran, the rows it produced and the
/// time spent producing them, its inputs included (PostgreSQL's "actual" figures).
pub type Profile = HashMap<usize, NodeProfile>;

/// What one plan node did under EXPLAIN ANALYZE.
#[derive(Clone, Copy, Debug, Default)]
pub struct NodeProfile {
    /// Times the node was started (a nested loop's inner side starts once per outer row).
    pub loops: u64,
    /// Rows produced over all loops.
    pub rows: u64,
    /// Time spent starting it and pulling its rows, inputs included.
    pub time: std::time::Duration,
}

/// A plan node's profile key.
pub fn profile_key(plan: &Plan) -> usize {
    plan as *const Plan as usize
}

impl<'a> ExecCtx<'a> {
    /// A context for one statement.
    pub fn new(
        txn: &'a Transaction,
        catalog: &'a Catalog,
        session: &'a dyn SessionEnv,
        params: &'a [Value],
    ) -> Self {
        ExecCtx {
            txn,
            catalog,
            session,
            params,
            outer: RefCell::new(Vec::new()),
            cache: RefCell::new(HashMap::new()),
            derived: RefCell::new(HashMap::new()),
            work_tables: RefCell::new(HashMap::new()),
            stats: RefCell::new(ExecStats::default()),
            profile: None,
        }
    }

    /// Runs `f` with `row` as the innermost outer row.
    pub fn with_outer<T>(&self, row: Row, f: impl FnOnce() -> Result<T>) -> Result<T> {
        self.outer.borrow_mut().push(row);
        let result = f();
        self.outer.borrow_mut().pop();
        result
    }
}

impl FunctionEnv for ExecCtx<'_> {
    fn zone(&self) -> &Zone {
        self.session.zone()
    }

    fn statement_ts(&self) -> i64 {
        self.session.statement_ts()
    }

    fn transaction_ts(&self) -> i64 {
        self.session.transaction_ts()
    }

    fn session_value(&self, what: SessionValue) -> Result<Value> {
        self.session.session_value(what)
    }

    fn setting(&self, name: &str) -> Result<Option<String>> {
        self.session.setting(name)
    }

    fn set_setting(&self, name: &str, value: &str, local: bool) -> Result<()> {
        self.session.set_setting(name, value, local)
    }

    fn sequence(&self, op: SequenceOp, name: &str, value: Option<i64>) -> Result<i64> {
        self.session.sequence(op, name, value)
    }

    fn random(&self) -> f64 {
        self.session.random()
    }

    fn check_interrupt(&self) -> Result<()> {
        self.session.check_interrupt()
    }

    fn relation_name(&self, oid: i64) -> Result<Option<String>> {
        self.session.relation_name(oid)
    }

    fn catalog_definition(&self, kind: &str, oid: i64) -> Result<Option<String>> {
        self.session.catalog_definition(kind, oid)
    }

    fn advisory(
        &self,
        op: crate::functions::AdvisoryOp,
        key: crate::advisory::AdvisoryKey,
    ) -> Result<bool> {
        self.session.advisory(op, key)
    }

    fn cancel_backend(&self, pid: i32) -> Result<bool> {
        self.session.cancel_backend(pid)
    }

    fn terminate_backend(&self, pid: i32, timeout: Option<std::time::Duration>) -> Result<bool> {
        self.session.terminate_backend(pid, timeout)
    }

    fn promote(&self) -> Result<bool> {
        self.session.promote()
    }

    fn blocking_pids(&self, pid: i32) -> Result<Vec<i32>> {
        self.session.blocking_pids(pid)
    }

    fn debug(&self, op: crate::functions::DebugOp) -> Result<String> {
        self.session.debug(op)
    }

    fn notify(&self, channel: &str, payload: &str) -> Result<()> {
        self.session.notify(channel, payload)
    }

    fn has_privilege(&self, kind: &str, args: &[Value]) -> Result<Value> {
        self.session.has_privilege(kind, args)
    }

    fn relation_oid_by_name(&self, name: &str) -> Result<Option<i64>> {
        self.session.relation_oid_by_name(name)
    }

    fn type_oid(&self, name: &str) -> Result<Option<i64>> {
        // The name as a type in a cast, so every spelling SQL accepts works.
        let Ok(sqlparser::ast::Expr::Cast { data_type, .. }) =
            crate::parse::parse_expr(&format!("NULL::{name}"))
        else {
            return Ok(None);
        };
        let snapshot = self.session.system_snapshot(self.txn)?;
        let lookup = |schema: Option<&str>, n: &str| {
            Ok(snapshot
                .enums
                .iter()
                .find(|(_, e)| e.type_name == n && schema.is_none_or(|s| e.schema == s))
                .map(|(_, e)| oxibase_common::DataType::Enum(e.clone())))
        };
        Ok(crate::bind::data_type_with(&data_type, &lookup)
            .ok()
            .map(|ty| i64::from(crate::types::type_oid(&ty))))
    }

    fn export_snapshot(&self) -> Result<String> {
        Ok(crate::session::snapshot_id(self.txn.snapshot_ts()))
    }

    fn schema_oid(&self, name: &str) -> Result<Option<i64>> {
        let snapshot = self.session.system_snapshot(self.txn)?;
        Ok(snapshot.schemas.iter().find(|(_, n)| n == name).map(|(id, _)| i64::from(*id)))
    }

    fn serial_sequence(&self, table_oid: i64, column: &str) -> Result<Option<String>> {
        let Ok(id) = crate::keys::RelId::try_from(table_oid) else { return Ok(None) };
        let Some(table) = self.catalog.table_by_id(self.txn, id)? else { return Ok(None) };
        let Some(position) = table.column_index(column) else {
            return Err(oxibase_common::errinput!(
                UNDEFINED_COLUMN,
                "column \"{column}\" of relation \"{}\" does not exist",
                table.name
            ));
        };
        Ok(self
            .catalog
            .sequences(self.txn)?
            .into_iter()
            .find(|s| s.owned_by == Some((id, position)))
            .map(|s| format!("{}.{}", s.schema, s.name)))
    }

    fn database_size(&self) -> Result<Option<i64>> {
        // An in-memory store's is the bytes it holds.
        let engine = self.catalog.store().status()?.engine;
        Ok(Some(if engine.persistent { engine.disk_size } else { engine.size } as i64))
    }

    fn relation_size(&self, oid: i64, what: &str) -> Result<Option<i64>> {
        let Ok(id) = crate::keys::RelId::try_from(oid) else { return Ok(None) };
        let bytes_under = |rel: crate::keys::RelId| -> Result<i64> {
            let mut total = 0i64;
            for (i, item) in self.txn.scan_prefix(&crate::keys::relation_prefix(rel))?.enumerate() {
                if i % 4096 == 4095 {
                    self.check_interrupt()?;
                }
                let (k, v) = item?;
                total += (k.len() + v.len()) as i64;
            }
            Ok(total)
        };
        let indexes = || -> Result<i64> {
            let Some(table) = self.catalog.table_by_id(self.txn, id)? else { return Ok(0) };
            table.indexes.iter().map(|i| bytes_under(i.storage)).sum()
        };
        let Some(storage) = self.catalog.storage_of(self.txn, id)? else { return Ok(None) };
        Ok(Some(match what {
            "relation" => bytes_under(storage)?,
            "indexes" => indexes()?,
            _ => bytes_under(storage)? + indexes()?,
        }))
    }
}

/// Runs a plan, returning its rows as a stream.
pub fn execute<'a>(plan: &'a Plan, ctx: &'a ExecCtx<'a>) -> Result<Rows<'a>> {
    let Some(profile) = ctx.profile else { return execute_node(plan, ctx) };
    let key = profile_key(plan);
    let start = Instant::now();
    let rows = execute_node(plan, ctx);
    {
        let mut p = profile.borrow_mut();
        let entry = p.entry(key).or_default();
        entry.loops += 1;
        entry.time += start.elapsed();
    }
    let mut rows = rows?;
    Ok(Box::new(std::iter::from_fn(move || {
        let start = Instant::now();
        let next = rows.next();
        let mut p = profile.borrow_mut();
        let entry = p.entry(key).or_default();
        entry.time += start.elapsed();
        if matches!(next, Some(Ok(_))) {
            entry.rows += 1;
        }
        next
    })))
}

fn execute_node<'a>(plan: &'a Plan, ctx: &'a ExecCtx<'a>) -> Result<Rows<'a>> {
    Ok(match &plan.node {
        Node::Values { rows } => {
            let empty: Row = Vec::new();
            Box::new(rows.iter().map(move |exprs| {
                exprs.iter().map(|e| eval::eval(e, &empty, ctx)).collect::<Result<Row>>()
            }))
        }
        Node::Scan { .. } => interruptible(scan::scan(plan, ctx)?, ctx),
        Node::Filter { input, predicate } => {
            let input = execute(input, ctx)?;
            Box::new(input.filter_map(move |row| match row {
                Ok(row) => match eval::eval_condition(predicate, &row, ctx) {
                    Ok(true) => Some(Ok(row)),
                    Ok(false) => None,
                    Err(e) => Some(Err(e)),
                },
                Err(e) => Some(Err(e)),
            }))
        }
        Node::Project { input, exprs } => {
            let input = execute(input, ctx)?;
            Box::new(input.map(move |row| {
                let row = row?;
                exprs.iter().map(|e| eval::eval(e, &row, ctx)).collect()
            }))
        }
        Node::NestedLoopJoin { .. } | Node::HashJoin { .. } => join::join(plan, ctx)?,
        Node::Aggregate { .. } => aggregate::aggregate(plan, ctx)?,
        Node::Window { input, calls } => window::window(input, calls, ctx)?,
        Node::Sort { input, keys } => {
            let rows = collect(execute(input, ctx)?, ctx)?;
            Box::new(sort(rows, keys, ctx)?.into_iter().map(Ok))
        }
        Node::Limit { input, limit, offset, ties } => {
            let limit = limit_value(limit.as_ref(), ctx, "LIMIT")?;
            let offset = limit_value(offset.as_ref(), ctx, "OFFSET")?.unwrap_or(0);
            let rows = execute(input, ctx)?.skip(offset as usize);
            match (limit, ties) {
                (Some(n), Some(keys)) => with_ties(rows, n as usize, keys, ctx),
                (Some(n), None) => Box::new(rows.take(n as usize)),
                (None, _) => Box::new(rows),
            }
        }
        Node::Distinct { input, on } => setops::distinct(execute(input, ctx)?, on.as_deref(), ctx),
        Node::SetOperation { left, right, op, all } => {
            setops::set_operation(left, right, *op, *all, ctx)?
        }
        Node::Function { function, args, ordinality } => {
            setops::table_function(function.clone(), args, *ordinality, ctx)?
        }
        Node::Modify { statement } => {
            let (_, rows) = match statement.as_ref() {
                crate::plan::Modify::Insert(i) => dml::insert(i, ctx)?,
                crate::plan::Modify::Update(u) => dml::update(u, ctx)?,
                crate::plan::Modify::Delete(d) => dml::delete(d, ctx)?,
            };
            Box::new(rows.into_iter().map(Ok))
        }
        Node::ModifyFirst { ctes, input } => {
            for (id, plan) in ctes {
                cached(*id, plan, ctx)?;
            }
            execute(input, ctx)?
        }
        Node::CteScan { id, plan } => {
            let rows = cached(*id, plan, ctx)?;
            Box::new((0..rows.len()).map(move |i| Ok(rows[i].clone())))
        }
        Node::RecursiveCte { id, anchor, recursive, distinct } => {
            setops::recursive_cte(*id, anchor, recursive, *distinct, ctx)?
        }
        Node::WorkTable { id } => {
            let rows = ctx.work_tables.borrow().get(id).cloned().unwrap_or_default();
            Box::new((0..rows.len()).map(move |i| Ok(rows[i].clone())))
        }
        Node::LockRows { input, targets, lock } => {
            scan::lock_rows(execute(input, ctx)?, targets, *lock, ctx)
        }
        Node::SystemScan { table } => {
            let mut snapshot = ctx.session.system_snapshot(ctx.txn)?;
            if table.is_live() {
                ctx.session.live_state(&mut snapshot);
            }
            if table.lists_view_columns() {
                ctx.session.view_columns(&mut snapshot);
            }
            Box::new(table.rows(&snapshot)?.into_iter().map(Ok))
        }
        Node::SequenceScan { sequence } => {
            // The counter holds the last value handed out. One outside the bounds is a
            // `setval(s, v, false)` (v less a step): nothing handed out yet, v comes next.
            let (value, called) = match ctx.catalog.sequence_last(sequence)? {
                None => (sequence.start, false),
                Some(last) if last < sequence.min || last > sequence.max => {
                    (last.wrapping_add(sequence.increment), false)
                }
                Some(last) => (last, true),
            };
            let row = vec![Value::Int8(value), Value::Int8(0), Value::Bool(called)];
            Box::new(std::iter::once(Ok(row)))
        }
        Node::Lateral { input } => execute(input, ctx)?,
        Node::ProjectSet { input, functions } => {
            let input = execute(input, ctx)?;
            Box::new(input.flat_map(move |row| -> Box<dyn Iterator<Item = Result<Row>>> {
                match row.and_then(|row| setops::project_set(row, functions, ctx)) {
                    Ok(rows) => Box::new(rows.into_iter().map(Ok)),
                    Err(e) => Box::new(std::iter::once(Err(e))),
                }
            }))
        }
    })
}

/// Checks for cancellation and timeouts every few thousand rows of a source (scans, table
/// functions), so every operator above them stops promptly.
fn interruptible<'a>(rows: Rows<'a>, ctx: &'a ExecCtx<'a>) -> Rows<'a> {
    let mut n: u32 = 0;
    Box::new(rows.map(move |row| {
        n = n.wrapping_add(1);
        if n.is_multiple_of(4096) {
            ctx.check_interrupt()?;
        }
        row
    }))
}

/// Runs a plan and collects its rows, checking for cancellation as it goes.
pub fn collect(rows: Rows<'_>, ctx: &ExecCtx) -> Result<Vec<Row>> {
    let mut out = Vec::new();
    for (i, row) in rows.enumerate() {
        if i % 1024 == 1023 {
            ctx.check_interrupt()?;
        }
        out.push(row?);
    }
    Ok(out)
}

/// The rows of an uncorrelated subquery or CTE, computed once per statement.
pub fn cached(id: usize, plan: &Plan, ctx: &ExecCtx) -> Result<Rc<Vec<Row>>> {
    if let Some(rows) = ctx.cache.borrow().get(&id) {
        return Ok(rows.clone());
    }
    let rows = Rc::new(collect(execute(plan, ctx)?, ctx)?);
    ctx.cache.borrow_mut().insert(id, rows.clone());
    Ok(rows)
}

/// Sorts rows by keys (stable, so equal keys keep their input order).
pub fn sort(rows: Vec<Row>, keys: &[crate::plan::SortKey], ctx: &ExecCtx) -> Result<Vec<Row>> {
    let mut keyed: Vec<(Vec<Value>, Row)> = rows
        .into_iter()
        .map(|row| {
            Ok((
                keys.iter().map(|k| eval::eval(&k.expr, &row, ctx)).collect::<Result<Vec<_>>>()?,
                row,
            ))
        })
        .collect::<Result<_>>()?;
    for (kv, _) in &keyed {
        for (v, k) in kv.iter().zip(keys) {
            if matches!(v, Value::Json(_)) {
                let _ = k;
                return Err(errinput!(
                    UNDEFINED_FUNCTION,
                    "could not identify an ordering operator for type json"
                )
                .with_hint("Use an explicit ordering operator or modify the query."));
            }
        }
    }
    keyed.sort_by(|(a, _), (b, _)| {
        for ((x, y), k) in a.iter().zip(b).zip(keys) {
            let ord = crate::types::compare::sort_cmp(x, y, k.descending, k.nulls_first);
            if ord != std::cmp::Ordering::Equal {
                return ord;
            }
        }
        std::cmp::Ordering::Equal
    });
    Ok(keyed.into_iter().map(|(_, row)| row).collect())
}

/// The first `n` rows, then those that tie with the last of them on `keys` (FETCH FIRST n
/// ROWS WITH TIES; the input is sorted on them). NULLs tie with NULLs, as in the sort.
fn with_ties<'a>(
    rows: impl Iterator<Item = Result<Row>> + 'a,
    n: usize,
    keys: &'a [crate::plan::Expr],
    ctx: &'a ExecCtx<'a>,
) -> Rows<'a> {
    let mut taken = 0;
    let mut last: Option<Vec<Value>> = None;
    let same = |a: &[Value], b: &[Value]| {
        a.iter().zip(b).all(|(x, y)| crate::types::compare::sort_cmp(x, y, false, false).is_eq())
    };
    Box::new(rows.map_while(move |row| {
        let step = (|| -> Result<Option<Row>> {
            if n == 0 {
                return Ok(None);
            }
            let row = row?;
            let values =
                keys.iter().map(|k| eval::eval(k, &row, ctx)).collect::<Result<Vec<_>>>()?;
            if taken >= n && !last.as_deref().is_some_and(|l| same(l, &values)) {
                return Ok(None);
            }
            taken += 1;
            last = Some(values);
            Ok(Some(row))
        })();
        step.transpose()
    }))
}

fn limit_value(expr: Option<&crate::plan::Expr>, ctx: &ExecCtx, what: &str) -> Result<Option<i64>> {
    let Some(expr) = expr else { return Ok(None) };
    match eval::eval(expr, &[], ctx)? {
        Value::Null => Ok(None),
        v => {
            let n = crate::types::compare::as_i64(&v);
            if n < 0 {
                let code = if what == "LIMIT" {
                    "LIMIT must not be negative"
                } else {
                    "OFFSET must not be negative"
                };
                return Err(errinput!(INVALID_ROW_COUNT_IN_LIMIT_CLAUSE, "{code}"));
            }
            Ok(Some(n))
        }
    }
}
