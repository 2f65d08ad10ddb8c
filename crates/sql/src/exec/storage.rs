//! Rows and indexes in the store, and the constraints that guard them.
//!
//! ```text
//!   row:            10|table|pk...              -> row encoding of every column
//!   unique index:   10|index|cols...            -> row key
//!   other index:    10|index|cols...|row key    -> row key
//! ```
//!
//! A unique index entry has just the indexed values as its key, so a second row with the
//! same values is a second write to the same key. Uniqueness is enforced the way the catalog
//! enforces unique names: lock the key, then look at its latest committed state, so of two
//! concurrent inserts of one value exactly one succeeds and the other waits, then fails
//! (23505) or, under snapshot isolation, gets 40001. Entries with a NULL in a unique index
//! carry the row key too, since NULLs never collide (PostgreSQL's NULLS DISTINCT).
//!
//! Foreign keys lock the referenced row FOR KEY SHARE, so a concurrent DELETE of the parent
//! (FOR UPDATE) waits for the child's transaction, as in PostgreSQL.

use std::collections::HashMap;
use std::rc::Rc;

use oxibase_common::keycode::{self, ColumnOrder};
use oxibase_common::row::{decode_row, encode_row};
use oxibase_common::{DataType, Result, Value, errinput};
use oxibase_mvcc::{LockMode, LockWait};

use super::ExecCtx;
use super::eval::eval;
use super::trigger::Firing;
use crate::catalog::triggers::{DELETE, UPDATE};
use crate::catalog::{ConstraintKind, Deferral, Domain, Index, IndexKey, Table};
use crate::keys::{RelId, index_key, relation_prefix, row_key};
use crate::plan::Expr;
use crate::types::cast::{CastKind, cast};
use crate::types::text::format_value;

/// Decodes a stored row, filling columns added after it was written.
pub fn decode_table_row(table: &Table, bytes: &[u8]) -> Result<Vec<Value>> {
    Ok(table.complete_row(decode_row(bytes)?))
}

/// Decodes the columns of a stored row that `reads` marks (all of them for None); the
/// others read as NULL.
pub fn decode_table_columns(
    table: &Table,
    bytes: &[u8],
    reads: Option<&[bool]>,
) -> Result<Vec<Value>> {
    match reads {
        Some(wanted) => {
            Ok(table.complete_row(oxibase_common::row::decode_row_columns(bytes, wanted)?))
        }
        None => decode_table_row(table, bytes),
    }
}

/// Whether a table's rows are keyed by a hidden row id (no primary key).
pub fn has_rowid(table: &Table) -> bool {
    table.primary_key.is_empty()
}

/// The key of a row: its primary key, or a new row id for a table without one.
pub fn new_row_key(ctx: &ExecCtx, table: &Table, row: &[Value]) -> Result<Vec<u8>> {
    if has_rowid(table) {
        let id = ctx.catalog.next_rowid(table.id)?;
        return row_key(table.storage, &[Value::Int8(id)]);
    }
    row_key(table.storage, &pk_values(table, row))
}

fn pk_values(table: &Table, row: &[Value]) -> Vec<Value> {
    table.primary_key.iter().map(|&i| row[i].clone()).collect()
}

/// Whether a row's entry in an index ends with the row's key: always in a non-unique index,
/// and in a unique one when a key value is NULL (NULLs never collide).
fn entry_carries_row_key(index: &Index, values: &[Value]) -> bool {
    !keyed(index, values)
}

/// Whether an entry with these key values must be unique: in a unique index, unless a key
/// value is NULL (NULLs are distinct, but for NULLS NOT DISTINCT).
pub(crate) fn keyed(index: &Index, values: &[Value]) -> bool {
    index.unique && (index.nulls_not_distinct || !values.iter().any(Value::is_null))
}

/// A row's key values in an index (columns copied, expressions computed), or None when the
/// row has no entry: a partial index whose predicate the row does not satisfy.
pub fn index_values(
    ctx: &ExecCtx,
    table: &Table,
    index: &Index,
    row: &[Value],
) -> Result<Option<Vec<Value>>> {
    if let Some(predicate) = &index.predicate {
        let tag = format!("index {} where", index.id);
        let predicate = bound_table_expr(ctx, table, &tag, predicate)?;
        if !matches!(eval(&predicate, row, ctx)?, Value::Bool(true)) {
            return Ok(None);
        }
    }
    let mut values = Vec::with_capacity(index.keys.len());
    for (i, key) in index.keys.iter().enumerate() {
        values.push(match key {
            IndexKey::Column(c) => row[*c].clone(),
            IndexKey::Expr(sql) => eval(
                &bound_table_expr(ctx, table, &format!("index {} key {i}", index.id), sql)?,
                row,
                ctx,
            )?,
        });
    }
    Ok(Some(values))
}

/// The columns an index's key and predicate read.
pub(crate) fn index_reads(ctx: &ExecCtx, table: &Table, index: &Index) -> Result<Vec<usize>> {
    let mut reads = Vec::new();
    for key in &index.keys {
        match key {
            IndexKey::Column(c) => reads.push(*c),
            IndexKey::Expr(sql) => reads.extend(bind_stored(ctx, table, sql)?.columns()),
        }
    }
    if let Some(predicate) = &index.predicate {
        reads.extend(bind_stored(ctx, table, predicate)?.columns());
    }
    Ok(reads)
}

/// The keys of a row's entries in an index with these key values: one for an ordered index,
/// one per element for an inverted one (sorted).
pub fn index_entry_keys(index: &Index, values: &[Value], row_key: &[u8]) -> Result<Vec<Vec<u8>>> {
    if index.method.inverted() {
        return super::inverted::entry_keys(index, values, row_key);
    }
    Ok(vec![index_entry_key(index, values, row_key)?])
}

/// The key of an ordered index's entry with these key values for the row at `row_key`.
pub fn index_entry_key(index: &Index, values: &[Value], row_key: &[u8]) -> Result<Vec<u8>> {
    let mut key = relation_prefix(index.storage);
    for (value, order) in values.iter().zip(&index.orders) {
        keycode::encode_value(&mut key, value, *order)?;
    }
    if entry_carries_row_key(index, values) {
        keycode::encode_value(&mut key, &Value::Bytea(row_key.to_vec()), ColumnOrder::ASC)?;
    }
    Ok(key)
}

/// Formats `Key (a, b)=(1, x)` for constraint violation details.
pub(crate) fn format_key(names: &[String], values: &[Value], ctx: &ExecCtx) -> String {
    let values: Vec<String> = values
        .iter()
        .map(|v| format_value(v, ctx.session.zone()).unwrap_or_else(|| "null".into()))
        .collect();
    format!("Key ({})=({})", names.join(", "), values.join(", "))
}

/// Formats the key of `columns` of a row for constraint violation details.
pub(crate) fn key_detail(table: &Table, columns: &[usize], row: &[Value], ctx: &ExecCtx) -> String {
    let names: Vec<String> = columns.iter().map(|&c| table.columns[c].name.clone()).collect();
    let values: Vec<Value> = columns.iter().map(|&c| row[c].clone()).collect();
    format_key(&names, &values, ctx)
}

pub(crate) fn failing_row(row: &[Value], table: &Table, ctx: &ExecCtx) -> String {
    let values: Vec<String> = row
        .iter()
        .zip(&table.columns)
        .filter(|(_, c)| !c.dropped)
        .map(|(v, _)| format_value(v, ctx.session.zone()).unwrap_or_else(|| "null".into()))
        .collect();
    format!("Failing row contains ({}).", values.join(", "))
}

/// A unique violation found while inserting or updating.
#[derive(Debug)]
pub struct Conflict {
    /// The violated constraint's name.
    pub constraint: String,
    /// Its key column positions (empty for an expression index: no ON CONFLICT column
    /// list names it).
    pub columns: Vec<usize>,
    /// `Key (a)=(1)`, for the message.
    pub key: String,
    /// The key of the existing row.
    pub existing: Vec<u8>,
}

/// An expression over a table's row (a CHECK, a generation expression), bound once per
/// thread and catalog generation (it may call stored functions): `tag` names it among the
/// table's expressions.
fn bound_table_expr(ctx: &ExecCtx, table: &Table, tag: &str, sql: &str) -> Result<Expr> {
    // A rewrite that changes a column's type gives the table new storage: expressions over
    // it are bound again.
    let key = (table.id, table.storage, ctx.session.expr_generation(), format!("{tag}:{sql}"));
    cached_expr(key, || bind_stored(ctx, table, sql))
}

/// An expression stored with a table bound over its row, calling the stored functions the
/// session finds.
fn bind_stored(ctx: &ExecCtx, table: &Table, sql: &str) -> Result<Expr> {
    Ok(crate::bind::bind_table_expr_env(table, sql, "CHECK", ctx.session.bind_env())?.0)
}

/// A bound stored expression by (owner id, owner storage or 0, generation, text), bound on
/// first use per thread (ids are unique across tables and domains, so keys do not collide).
fn cached_expr(
    key: (RelId, RelId, u64, String),
    bind: impl FnOnce() -> Result<Expr>,
) -> Result<Expr> {
    thread_local! {
        static CACHE: std::cell::RefCell<HashMap<(RelId, RelId, u64, String), Expr>> = std::cell::RefCell::new(HashMap::new());
    }
    if let Some(e) = CACHE.with(|cache| cache.borrow().get(&key).cloned()) {
        return Ok(e);
    }
    let e = bind()?;
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.len() > 1024 {
            cache.clear();
        }
        cache.insert(key, e.clone());
    });
    Ok(e)
}

/// CHECK expressions bound over a table's row.
pub fn checks(ctx: &ExecCtx, table: &Table) -> Result<Rc<Vec<(String, Expr)>>> {
    let mut out = Vec::new();
    for c in &table.constraints {
        if let ConstraintKind::Check { expr } = &c.kind {
            out.push((c.name.clone(), bound_table_expr(ctx, table, &c.name, expr)?));
        }
    }
    Ok(Rc::new(out))
}

/// Checks a value against a domain's NOT NULL and CHECK constraints, those of the domains
/// it is declared over first (PostgreSQL's CoerceToDomain).
pub fn check_domain(ctx: &ExecCtx, domain: &Domain, value: &Value) -> Result<()> {
    if value.is_null() && domain.rejects_null() {
        return Err(errinput!(
            NOT_NULL_VIOLATION,
            "domain {} does not allow null values",
            domain.sql_name()
        ));
    }
    check_domain_checks(ctx, domain, domain, value)
}

/// The CHECKs of `level` and the domains under it, reported as `domain`'s.
fn check_domain_checks(
    ctx: &ExecCtx,
    domain: &Domain,
    level: &Domain,
    value: &Value,
) -> Result<()> {
    if let Some(parent) = &level.parent {
        check_domain_checks(ctx, domain, parent, value)?;
    }
    for c in &level.checks {
        let ConstraintKind::Check { expr } = &c.kind else { continue };
        if matches!(
            eval(&bound_domain_check(level, &c.name, expr)?, std::slice::from_ref(value), ctx)?,
            Value::Bool(false)
        ) {
            return Err(errinput!(
                CHECK_VIOLATION,
                "value for domain {} violates check constraint \"{}\"",
                domain.sql_name(),
                c.name
            ));
        }
    }
    Ok(())
}

/// A domain's CHECK bound over a one-value row (`VALUE`), once per thread.
fn bound_domain_check(domain: &Domain, name: &str, sql: &str) -> Result<Expr> {
    let key = (domain.id, 0, 0, format!("{name}:{sql}"));
    cached_expr(key, || Ok(crate::bind::bind_domain_check(&domain.name, &domain.base, sql)?.0))
}

/// Generation expressions bound over a table's row: (column, expression).
fn generation_exprs(ctx: &ExecCtx, table: &Table) -> Result<Vec<(usize, Expr)>> {
    let mut out = Vec::new();
    for (i, c) in table.columns.iter().enumerate() {
        let Some(sql) = c.generated.as_ref().filter(|_| !c.dropped) else { continue };
        out.push((i, bound_table_expr(ctx, table, &format!("generated {i}"), sql)?));
    }
    Ok(out)
}

/// Computes a row's generated columns from its other columns (before every write).
pub fn generate(ctx: &ExecCtx, table: &Table, row: &mut [Value]) -> Result<()> {
    if !table.columns.iter().any(|c| c.generated.is_some()) {
        return Ok(());
    }
    for (i, expr) in generation_exprs(ctx, table)? {
        let v = eval(&expr, row, ctx)?;
        row[i] = cast(v, &table.columns[i].data_type, CastKind::Assignment, ctx.session.zone())?;
    }
    Ok(())
}

/// NOT NULL and CHECK constraints on a row about to be written.
pub fn check_row(ctx: &ExecCtx, table: &Table, row: &[Value]) -> Result<()> {
    for (column, value) in table.columns.iter().zip(row) {
        if column.not_null && !column.dropped && value.is_null() {
            return Err(errinput!(
                NOT_NULL_VIOLATION,
                "null value in column \"{}\" of relation \"{}\" violates not-null constraint",
                column.name,
                table.name
            )
            .with_detail(failing_row(row, table, ctx)));
        }
    }
    for (name, expr) in checks(ctx, table)?.iter() {
        if matches!(eval(expr, row, ctx)?, Value::Bool(false)) {
            return Err(errinput!(
                CHECK_VIOLATION,
                "new row for relation \"{}\" violates check constraint \"{name}\"",
                table.name
            )
            .with_detail(failing_row(row, table, ctx)));
        }
    }
    Ok(())
}

/// Claims a unique key: locks it and reports an existing (latest) entry.
fn claim(ctx: &ExecCtx, key: &[u8]) -> Result<Option<Vec<u8>>> {
    ctx.txn.lock(key, LockMode::Update, LockWait::Wait(None))?;
    ctx.txn.get_latest(key)
}

/// 23505 for a unique key a row would take.
pub(crate) fn unique_violation(conflict: &Conflict) -> oxibase_common::Error {
    errinput!(
        UNIQUE_VIOLATION,
        "duplicate key value violates unique constraint \"{}\"",
        conflict.constraint
    )
    .with_detail(format!("{} already exists.", conflict.key))
}

/// The conflict of a row's primary key with an existing row's.
fn primary_key_conflict(ctx: &ExecCtx, table: &Table, row: &[Value], key: Vec<u8>) -> Conflict {
    Conflict {
        constraint: format!("{}_pkey", table.name),
        columns: table.primary_key.clone(),
        key: key_detail(table, &table.primary_key, row, ctx),
        existing: key,
    }
}

/// The conflict of a row's unique index entry (with key `values`) with `existing`'s.
fn index_conflict(
    ctx: &ExecCtx,
    table: &Table,
    index: &Index,
    values: &[Value],
    existing: Vec<u8>,
) -> Conflict {
    Conflict {
        constraint: index.name.clone(),
        columns: index.key_columns().unwrap_or_default(),
        key: format_key(&index.key_names(table), values, ctx),
        existing,
    }
}

/// Inserts a row. Returns the new row's key, or the conflict if a unique key is taken (the
/// caller decides whether that is an error or ON CONFLICT).
/// Generated columns are computed into `row` first.
pub fn insert(
    ctx: &ExecCtx,
    table: &Table,
    row: &mut [Value],
) -> Result<std::result::Result<Vec<u8>, Conflict>> {
    generate(ctx, table, row)?;
    let row = &*row;
    check_row(ctx, table, row)?;
    let key = new_row_key(ctx, table, row)?;
    if !has_rowid(table)
        && let Some(_) = claim(ctx, &key)?
    {
        return Ok(Err(primary_key_conflict(ctx, table, row, key)));
    }
    // A new row id was never used, nor was an index entry key that carries it.
    let new_id = has_rowid(table);
    let mut entries = Vec::with_capacity(table.indexes.len());
    for index in &table.indexes {
        let Some(values) = index_values(ctx, table, index, row)? else { continue };
        if index.method.inverted() {
            let keys = super::inverted::entry_keys(index, &values, &key)?;
            entries.extend(keys.into_iter().map(|entry| (entry, new_id)));
            continue;
        }
        let entry = index_entry_key(index, &values, &key)?;
        let carries = entry_carries_row_key(index, &values);
        if !carries
            && index.unique
            && let Some(existing) = claim(ctx, &entry)?
        {
            return Ok(Err(index_conflict(ctx, table, index, &values, existing)));
        }
        entries.push((entry, new_id && carries));
    }
    let put = |key: &[u8], value: Vec<u8>, new: bool| {
        if new { ctx.txn.put_new(key, value) } else { ctx.txn.put(key, value) }
    };
    for (entry, new) in entries {
        put(&entry, key.clone(), new)?;
    }
    put(&key, encode_row(row), new_id)?;
    // After the row is written, as PostgreSQL checks in an AFTER trigger: a row may
    // reference itself.
    check_references(ctx, table, row, None, Some(&key))?;
    ctx.stats.borrow_mut().rows_written += 1;
    Ok(Ok(key))
}

/// Inserts a row, turning a unique conflict into PostgreSQL's 23505 error.
pub fn insert_or_fail(ctx: &ExecCtx, table: &Table, row: &mut [Value]) -> Result<Vec<u8>> {
    match insert(ctx, table, row)? {
        Ok(key) => Ok(key),
        Err(conflict) => Err(unique_violation(&conflict)),
    }
}

/// Replaces a row, computing its generated columns into `new` first. Returns the row's
/// (possibly new) key.
pub fn update(
    ctx: &ExecCtx,
    table: &Table,
    key: &[u8],
    old: &[Value],
    new: &mut [Value],
) -> Result<Vec<u8>> {
    generate(ctx, table, new)?;
    let new = &*new;
    check_row(ctx, table, new)?;
    let changed = |cols: &[usize]| cols.iter().any(|&c| !same(&old[c], &new[c]));
    let new_key = if !has_rowid(table) && changed(&table.primary_key) {
        let new_key = row_key(table.storage, &pk_values(table, new))?;
        if claim(ctx, &new_key)?.is_some() {
            return Err(unique_violation(&primary_key_conflict(ctx, table, new, new_key)));
        }
        new_key
    } else {
        key.to_vec()
    };
    let key_moved = new_key != key;
    for index in &table.indexes {
        // A plain index whose columns did not change keeps its entry; a computed one is
        // recomputed (its expressions may read any column).
        let unchanged = |k: &IndexKey| match k {
            IndexKey::Column(c) => same(&old[*c], &new[*c]),
            IndexKey::Expr(_) => false,
        };
        if !key_moved && !index.computed() && index.keys.iter().all(unchanged) {
            continue;
        }
        if index.method.inverted() {
            // The elements the row lost and gained.
            let entries = |row: &[Value], key: &[u8]| -> Result<Vec<Vec<u8>>> {
                match index_values(ctx, table, index, row)? {
                    Some(values) => super::inverted::entry_keys(index, &values, key),
                    None => Ok(Vec::new()),
                }
            };
            let (before, after) = (entries(old, key)?, entries(new, &new_key)?);
            for entry in before.iter().filter(|e| after.binary_search(e).is_err()) {
                ctx.txn.delete(entry)?;
            }
            for entry in after.iter().filter(|e| before.binary_search(e).is_err()) {
                ctx.txn.put(entry, new_key.clone())?;
            }
            continue;
        }
        let old_entry = match index_values(ctx, table, index, old)? {
            Some(values) => Some(index_entry_key(index, &values, key)?),
            None => None,
        };
        let new_values = index_values(ctx, table, index, new)?;
        let new_entry = match &new_values {
            Some(values) => Some(index_entry_key(index, values, &new_key)?),
            None => None,
        };
        if new_entry == old_entry && !key_moved {
            continue;
        }
        if let (Some(values), Some(entry)) = (&new_values, &new_entry)
            && index.unique
            && !entry_carries_row_key(index, values)
            && let Some(existing) = claim(ctx, entry)?
            && existing != key
        {
            return Err(unique_violation(&index_conflict(ctx, table, index, values, existing)));
        }
        if let Some(entry) = old_entry {
            ctx.txn.delete(&entry)?;
        }
        if let Some(entry) = new_entry {
            ctx.txn.put(&entry, new_key.clone())?;
        }
    }
    if key_moved {
        ctx.txn.delete(key)?;
    }
    ctx.txn.put(&new_key, encode_row(new))?;
    ctx.stats.borrow_mut().rows_written += 1;
    // After the row and its index entries are written, as PostgreSQL's referential actions
    // run after the row: a child moved along by ON UPDATE CASCADE finds its new parent.
    let moved = (new_key.as_slice(), new);
    let rewrote_itself = if key_moved || table.primary_key.iter().any(|&c| !same(&old[c], &new[c]))
    {
        on_referenced_change(ctx, table, old, Some(moved))?
    } else {
        referenced_columns_changed(ctx, table, old, moved)?
    };
    // The row's own references are checked last; when a cascade updated the row again (it
    // references itself), that update checked the newer version.
    if !rewrote_itself {
        check_references(ctx, table, new, Some(old), Some(&new_key))?;
    }
    Ok(new_key)
}

/// Deletes a row, its index entries, and applies ON DELETE actions of referencing keys.
pub fn delete(ctx: &ExecCtx, table: &Table, key: &[u8], old: &[Value]) -> Result<()> {
    for index in &table.indexes {
        if let Some(values) = index_values(ctx, table, index, old)? {
            for entry in index_entry_keys(index, &values, key)? {
                ctx.txn.delete(&entry)?;
            }
        }
    }
    ctx.txn.delete(key)?;
    ctx.stats.borrow_mut().rows_written += 1;
    // After the row is gone, as PostgreSQL's AFTER triggers run: a row referencing itself
    // (or a cycle of rows) is not found again as its own child.
    on_referenced_change(ctx, table, old, None)?;
    Ok(())
}

fn same(a: &Value, b: &Value) -> bool {
    match (a.is_null(), b.is_null()) {
        (true, true) => true,
        (false, false) => {
            crate::types::compare::equal(a, b).unwrap_or(false) && a.type_name() == b.type_name()
        }
        _ => false,
    }
}

fn table_by_id(ctx: &ExecCtx, id: RelId) -> Result<Table> {
    ctx.catalog
        .table_by_id(ctx.txn, id)?
        .ok_or_else(|| errinput!(UNDEFINED_TABLE, "referenced table {id} no longer exists"))
}

/// A foreign key check left for the commit: its constraint is DEFERRABLE and deferred
/// (INITIALLY DEFERRED, or `SET CONSTRAINTS ... DEFERRED`). It is made on the state at the
/// commit, whatever happened in between.
#[derive(Clone, Debug)]
pub enum DeferredCheck {
    /// The row at `key` of `table`, if it still exists, references an existing row by the
    /// foreign key `constraint`.
    Child {
        /// The referencing table.
        table: RelId,
        /// The foreign key.
        constraint: String,
        /// The row's key.
        key: Vec<u8>,
    },
    /// No row of `child` references the key `values` of `parent` by `constraint`, unless a
    /// row of `parent` has those values again.
    Parent {
        /// The referenced table.
        parent: RelId,
        /// The referencing table.
        child: RelId,
        /// The foreign key.
        constraint: String,
        /// The referenced values, as the child's columns hold them.
        values: Vec<Value>,
    },
}

/// Makes the checks a transaction deferred, at its commit or at `SET CONSTRAINTS ...
/// IMMEDIATE` (23503 for the first that fails).
pub fn run_deferred(ctx: &ExecCtx, checks: &[DeferredCheck]) -> Result<()> {
    for check in checks {
        match check {
            DeferredCheck::Child { table, constraint, key } => {
                // A table, constraint or row dropped since has nothing left to check.
                let Some(table) = ctx.catalog.table_by_id(ctx.txn, *table)? else { continue };
                let Some(c) = table.constraints.iter().find(|c| c.name == *constraint) else {
                    continue;
                };
                let Some(bytes) = ctx.txn.get(key)? else { continue };
                let row = decode_table_row(&table, &bytes)?;
                let with = Table { constraints: vec![c.clone()], ..table.clone() };
                check_references(ctx, &with, &row, None, None)?;
            }
            DeferredCheck::Parent { parent, child, constraint, values } => {
                let Some(parent) = ctx.catalog.table_by_id(ctx.txn, *parent)? else { continue };
                let Some(child) = ctx.catalog.table_by_id(ctx.txn, *child)? else { continue };
                let Some(c) = child.constraints.iter().find(|c| c.name == *constraint) else {
                    continue;
                };
                let ConstraintKind::ForeignKey { columns, ref_columns, .. } = &c.kind else {
                    continue;
                };
                let parent_values: Vec<Value> = values
                    .iter()
                    .zip(ref_columns)
                    .map(|(v, &r)| {
                        cast(
                            v.clone(),
                            &parent.columns[r].data_type,
                            CastKind::Explicit,
                            ctx.session.zone(),
                        )
                    })
                    .collect::<Result<_>>()?;
                let target = referenced_key(&parent, ref_columns, &parent_values)?;
                if ctx.txn.get_latest(&target)?.is_some() {
                    continue;
                }
                if !find_children(ctx, &child, columns, values)?.is_empty() {
                    return Err(still_referenced(ctx, &parent, c, &child, values));
                }
            }
        }
    }
    Ok(())
}

/// 23503 for a referenced key deleted or changed while rows of `child` still reference it.
fn still_referenced(
    ctx: &ExecCtx,
    parent: &Table,
    constraint: &crate::catalog::Constraint,
    child: &Table,
    values: &[Value],
) -> oxibase_common::Error {
    let ConstraintKind::ForeignKey { ref_columns, .. } = &constraint.kind else {
        return errinput!(INTERNAL_ERROR, "{} is not a foreign key", constraint.name);
    };
    let names: Vec<String> = ref_columns.iter().map(|&i| parent.columns[i].name.clone()).collect();
    errinput!(
        FOREIGN_KEY_VIOLATION,
        "update or delete on table \"{}\" violates foreign key constraint \"{}\" on table \"{}\"",
        parent.name,
        constraint.name,
        child.name
    )
    .with_detail(format!(
        "{} is still referenced from table \"{}\".",
        format_key(&names, values, ctx),
        child.name
    ))
}

/// Checks that every foreign key of `row` points at an existing row (locking it FOR KEY
/// SHARE). With `old`, keys whose values did not change are not re-checked. With the row's
/// `key`, a deferred constraint's check is left for the commit.
pub fn check_references(
    ctx: &ExecCtx,
    table: &Table,
    row: &[Value],
    old: Option<&[Value]>,
    key: Option<&[u8]>,
) -> Result<()> {
    for c in &table.constraints {
        let ConstraintKind::ForeignKey { columns, ref_table, ref_columns, .. } = &c.kind else {
            continue;
        };
        if columns.iter().any(|&i| row[i].is_null()) {
            continue;
        }
        if let Some(old) = old
            && columns.iter().all(|&i| same(&old[i], &row[i]))
        {
            continue;
        }
        if let Some(key) = key
            && c.deferral != Deferral::NotDeferrable
            && ctx.session.defer(
                c,
                DeferredCheck::Child {
                    table: table.id,
                    constraint: c.name.clone(),
                    key: key.to_vec(),
                },
            )
        {
            continue;
        }
        let parent =
            if *ref_table == table.id { table.clone() } else { table_by_id(ctx, *ref_table)? };
        let values: Vec<Value> = columns
            .iter()
            .zip(ref_columns)
            .map(|(&i, &r)| {
                cast(
                    row[i].clone(),
                    &parent.columns[r].data_type,
                    CastKind::Explicit,
                    ctx.session.zone(),
                )
            })
            .collect::<Result<_>>()?;
        let target = referenced_key(&parent, ref_columns, &values)?;
        // Referential checks read the latest version, not the snapshot (as PostgreSQL's RI
        // triggers do), so a parent updated after our snapshot still counts if it exists.
        ctx.txn.lock_latest(&target, LockMode::KeyShare, LockWait::Wait(None))?;
        if ctx.txn.get_latest(&target)?.is_none() {
            return Err(errinput!(
                FOREIGN_KEY_VIOLATION,
                "insert or update on table \"{}\" violates foreign key constraint \"{}\"",
                table.name,
                c.name
            )
            .with_detail(format!(
                "{} is not present in table \"{}\".",
                key_detail(table, columns, row, ctx),
                parent.name
            )));
        }
    }
    Ok(())
}

/// The key that holds the referenced row: the parent's row key when the reference is its
/// primary key, else the entry of the unique index on those columns.
fn referenced_key(parent: &Table, ref_columns: &[usize], values: &[Value]) -> Result<Vec<u8>> {
    let mut by_column: Vec<(usize, Value)> =
        ref_columns.iter().copied().zip(values.iter().cloned()).collect();
    by_column.sort_by_key(|(c, _)| *c);
    let mut pk_sorted = parent.primary_key.clone();
    pk_sorted.sort_unstable();
    if !parent.primary_key.is_empty()
        && pk_sorted == by_column.iter().map(|(c, _)| *c).collect::<Vec<_>>()
    {
        let pk: Vec<Value> = parent
            .primary_key
            .iter()
            .map(|c| {
                by_column
                    .iter()
                    .find(|(x, _)| x == c)
                    .map(|(_, v)| v.clone())
                    .unwrap_or(Value::Null)
            })
            .collect();
        return row_key(parent.storage, &pk);
    }
    let wanted: Vec<usize> = by_column.iter().map(|(c, _)| *c).collect();
    let (index, columns) = parent
        .indexes
        .iter()
        .filter(|i| i.unique)
        .find_map(|i| {
            let columns = i.plain_columns()?;
            let mut sorted = columns.clone();
            sorted.sort_unstable();
            (sorted == wanted).then_some((i, columns))
        })
        .ok_or_else(|| {
            errinput!(
                INVALID_FOREIGN_KEY,
                "there is no unique constraint matching given keys for referenced table \"{}\"",
                parent.name
            )
        })?;
    let vals: Vec<(Value, ColumnOrder)> = columns
        .iter()
        .zip(&index.orders)
        .map(|(c, o)| {
            (
                by_column
                    .iter()
                    .find(|(x, _)| x == c)
                    .map(|(_, v)| v.clone())
                    .unwrap_or(Value::Null),
                *o,
            )
        })
        .collect();
    index_key(index.storage, &vals, &[])
}

/// When referenced columns change without the row key moving (a unique key referenced by
/// a foreign key), children still follow.
fn referenced_columns_changed(
    ctx: &ExecCtx,
    table: &Table,
    old: &[Value],
    moved: (&[u8], &[Value]),
) -> Result<bool> {
    let new = moved.1;
    let referencing = ctx.session.referencing(ctx.catalog, ctx.txn, table.id)?;
    if referencing.iter().any(|(_, c)| matches!(&c.kind, ConstraintKind::ForeignKey { ref_columns, .. } if ref_columns.iter().any(|&i| !same(&old[i], &new[i])))) {
        return on_referenced_change(ctx, table, old, Some(moved));
    }
    Ok(false)
}

/// How deep referential actions may cascade (each level a row whose change changed another).
const MAX_CASCADE_DEPTH: usize = 10_000;

thread_local! {
    static CASCADE_DEPTH: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Applies the ON DELETE (`moved` None) or ON UPDATE actions of foreign keys that reference
/// `table`'s row `old`, which was deleted, or updated into `moved` (its key and values).
/// Returns whether an action updated that row itself again (a row referencing itself).
///
/// Actions recurse (a cascaded change cascades further) on a stack grown as needed, to a
/// depth of [`MAX_CASCADE_DEPTH`], past which the statement fails instead of the process.
fn on_referenced_change(
    ctx: &ExecCtx,
    table: &Table,
    old: &[Value],
    moved: Option<(&[u8], &[Value])>,
) -> Result<bool> {
    let depth = CASCADE_DEPTH.with(|d| d.get());
    if depth >= MAX_CASCADE_DEPTH {
        return Err(errinput!(
            STATEMENT_TOO_COMPLEX,
            "referential actions cascaded more than {MAX_CASCADE_DEPTH} levels deep"
        )
        .with_hint("Change fewer rows per statement."));
    }
    CASCADE_DEPTH.with(|d| d.set(depth + 1));
    let result = stacker::maybe_grow(256 * 1024, 4 << 20, || {
        apply_referential_actions(ctx, table, old, moved)
    });
    CASCADE_DEPTH.with(|d| d.set(depth));
    result
}

fn apply_referential_actions(
    ctx: &ExecCtx,
    table: &Table,
    old: &[Value],
    moved: Option<(&[u8], &[Value])>,
) -> Result<bool> {
    let new = moved.map(|(_, row)| row);
    let mut rewrote_itself = false;
    for (child, constraint) in ctx.session.referencing(ctx.catalog, ctx.txn, table.id)?.iter() {
        let ConstraintKind::ForeignKey { columns, ref_columns, on_delete, on_update, .. } =
            &constraint.kind
        else {
            continue;
        };
        let parent_values: Vec<Value> = ref_columns
            .iter()
            .zip(columns)
            .map(|(&i, &c)| {
                cast(
                    old[i].clone(),
                    &child.columns[c].data_type,
                    CastKind::Explicit,
                    ctx.session.zone(),
                )
            })
            .collect::<Result<_>>()?;
        if parent_values.iter().any(Value::is_null) {
            continue;
        }
        if let Some(new) = new
            && ref_columns.iter().all(|&i| same(&old[i], &new[i]))
        {
            continue;
        }
        let action = if new.is_some() { on_update } else { on_delete };
        let mut children = find_children(ctx, child, columns, &parent_values)?;
        // The updated row itself, when it references its own old values: it moved to a key
        // the statement's snapshot does not show.
        if let Some((key, row)) = moved
            && child.id == table.id
            && columns.iter().zip(&parent_values).all(|(&c, v)| same(&row[c], v))
            && !children.iter().any(|(k, _)| k.as_slice() == key)
        {
            children.push((key.to_vec(), row.to_vec()));
        }
        if children.is_empty() {
            continue;
        }
        let child = if child.id == table.id { table.clone() } else { child.clone() };
        // NO ACTION on a deferred constraint: the children may have a parent again by the
        // commit.
        let refuses = !matches!(action.as_str(), "cascade" | "setnull" | "setdefault");
        if refuses
            && constraint.deferral != Deferral::NotDeferrable
            && ctx.session.defer(
                constraint,
                DeferredCheck::Parent {
                    parent: table.id,
                    child: child.id,
                    constraint: constraint.name.clone(),
                    values: parent_values.clone(),
                },
            )
        {
            continue;
        }
        // An action that changes the children (the error arm changes nothing) changes the
        // updated row too when it is one of them.
        rewrote_itself |= moved.is_some_and(|(k, _)| children.iter().any(|(key, _)| key == k));
        // The child's triggers fire as for the statement PostgreSQL's referential action
        // runs (one per parent row): DELETE for ON DELETE CASCADE, UPDATE of the key
        // columns otherwise.
        let cascading_delete = action == "cascade" && new.is_none();
        let mut firing = match (cascading_delete, action.as_str()) {
            (true, _) => Firing::new(&child, DELETE, None),
            (false, "cascade" | "setnull" | "setdefault") => {
                Firing::new(&child, UPDATE, Some(columns))
            }
            _ => None,
        };
        if let Some(f) = &firing {
            f.start(ctx)?;
        }
        let mut change =
            |key: Vec<u8>, row: Vec<Value>, updated: Option<Vec<Value>>| -> Result<()> {
                match updated {
                    None => {
                        if let Some(f) = &firing
                            && f.before_row(ctx, Some(&row), None)?.is_none()
                        {
                            return Ok(());
                        }
                        delete(ctx, &child, &key, &row)?;
                        if let Some(f) = &mut firing {
                            f.after_row(Some(&row), None);
                        }
                    }
                    Some(mut updated) => {
                        if let Some(f) = &firing {
                            match f.before_row(ctx, Some(&row), Some(updated))? {
                                Some(Some(changed)) => updated = changed,
                                _ => return Ok(()),
                            }
                        }
                        update(ctx, &child, &key, &row, &mut updated)?;
                        if let Some(f) = &mut firing {
                            f.after_row(Some(&row), Some(&updated));
                        }
                    }
                }
                Ok(())
            };
        match (action.as_str(), new) {
            ("cascade", None) => {
                for (key, row) in children {
                    change(key, row, None)?;
                }
            }
            ("cascade", Some(new)) => {
                for (key, row) in children {
                    let mut updated = row.clone();
                    for (&c, &r) in columns.iter().zip(ref_columns) {
                        updated[c] = cast(
                            new[r].clone(),
                            &child.columns[c].data_type,
                            CastKind::Assignment,
                            ctx.session.zone(),
                        )?;
                    }
                    change(key, row, Some(updated))?;
                }
            }
            ("setnull" | "setdefault", _) => {
                for (key, row) in children {
                    let mut updated = row.clone();
                    for &c in columns {
                        updated[c] = if action == "setnull" {
                            Value::Null
                        } else {
                            column_default(ctx, &child, c)?
                        };
                    }
                    change(key, row, Some(updated))?;
                }
            }
            _ => return Err(still_referenced(ctx, table, constraint, &child, &parent_values)),
        }
        if let Some(f) = firing {
            f.finish(ctx)?;
        }
    }
    Ok(rewrote_itself)
}

/// A column's DEFAULT evaluated for a new value (NULL without one).
pub fn column_default(ctx: &ExecCtx, table: &Table, col: usize) -> Result<Value> {
    match &table.columns[col].default {
        None => Ok(Value::Null),
        Some(sql) => {
            let expr = bind_stored(ctx, table, sql)?;
            let v = eval(&expr, &[], ctx)?;
            crate::types::cast::cast(
                v,
                &table.columns[col].data_type,
                crate::types::cast::CastKind::Assignment,
                ctx.session.zone(),
            )
        }
    }
}

/// The rows of `child` whose `columns` equal `values` (latest versions: what a concurrent
/// writer would be blocked by), through an index on those columns when there is one.
fn find_children(
    ctx: &ExecCtx,
    child: &Table,
    columns: &[usize],
    values: &[Value],
) -> Result<Vec<(Vec<u8>, Vec<Value>)>> {
    let mut out = Vec::new();
    let matches = |row: &[Value]| columns.iter().zip(values).all(|(&c, v)| same(&row[c], v));
    if let Some(index) = child.indexes.iter().find(|i| {
        i.valid
            && i.predicate.is_none()
            && i.keys.len() >= columns.len()
            && i.keys.iter().zip(columns).all(|(k, c)| *k == IndexKey::Column(*c))
    }) {
        let vals: Vec<(Value, ColumnOrder)> =
            values.iter().cloned().zip(index.orders.iter().copied()).collect();
        let prefix = index_key(index.storage, &vals, &[])?;
        let keys: Vec<Vec<u8>> =
            ctx.txn.scan_prefix(&prefix)?.map(|r| r.map(|(_, v)| v)).collect::<Result<_>>()?;
        for key in keys {
            if let Some(bytes) = ctx.txn.get_latest(&key)? {
                let row = decode_table_row(child, &bytes)?;
                if matches(&row) {
                    out.push((key, row));
                }
            }
        }
        return Ok(out);
    }
    let keys: Vec<Vec<u8>> = ctx
        .txn
        .scan_prefix(&relation_prefix(child.storage))?
        .map(|r| r.map(|(k, _)| k))
        .collect::<Result<_>>()?;
    for key in keys {
        if let Some(bytes) = ctx.txn.get_latest(&key)? {
            let row = decode_table_row(child, &bytes)?;
            if matches(&row) {
                out.push((key, row));
            }
        }
    }
    Ok(out)
}

/// Whether a value fits a column's type without conversion (for backfills).
pub fn column_type(table: &Table, col: usize) -> &DataType {
    &table.columns[col].data_type
}
