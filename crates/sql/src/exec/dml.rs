//! INSERT, UPDATE, DELETE and COPY.
//!
//! UPDATE and DELETE lock each row they change (FOR NO KEY UPDATE, or FOR UPDATE when the
//! key changes or the row goes away). Under snapshot isolation a row changed by a commit
//! after the snapshot fails with 40001 once locked. Under read committed the statement
//! goes on with the row's latest version, re-checking its WHERE clause on it first, which
//! is PostgreSQL's EvalPlanQual: `UPDATE t SET n = n + 1` from two sessions adds two.

use std::collections::HashSet;

use oxibase_common::row::encode_row;
use oxibase_common::{DataType, Result, Value, errinput};
use oxibase_mvcc::{Isolation, LockMode, LockWait};

use super::eval::{eval, eval_condition};
use super::storage::{self, decode_table_row};
use super::trigger::Firing;
use super::{ExecCtx, Row, execute};
use crate::bind::{
    CopyStatement, Delete, Insert, Merge, MergeAction, MergeClause, OnConflict, Returning, Update,
};
use crate::catalog::Table;
use crate::catalog::triggers::{DELETE, INSERT, UPDATE};
use crate::functions::FunctionEnv;
use crate::types::cast::{CastKind, cast};
use crate::types::text::{format_value, parse_value};

/// Rows affected, and RETURNING rows.
pub type DmlResult = (u64, Vec<Row>);

fn returning(
    r: Option<&Returning>,
    row: &[Value],
    ctx: &ExecCtx,
    out: &mut Vec<Row>,
) -> Result<()> {
    if let Some(r) = r {
        out.push(r.exprs.iter().map(|e| eval(e, row, ctx)).collect::<Result<_>>()?);
    }
    Ok(())
}

/// What a row-level security check is about, as PostgreSQL's message words it.
const NEW_ROW: &str = "new row violates row-level security policy";
/// The existing row of an upsert must pass the UPDATE policies' USING.
const NEW_ROW_USING: &str = "new row violates row-level security policy (USING expression)";
/// MERGE's target row must pass its action's USING.
const TARGET_ROW_USING: &str = "target row violates row-level security policy (USING expression)";

/// Row-level security's WITH CHECK on a new row.
fn policy_check(
    ctx: &ExecCtx,
    check: Option<&crate::plan::Expr>,
    row: &[Value],
    table: &Table,
) -> Result<()> {
    row_policy(ctx, check, row, table, NEW_ROW)
}

/// A row-level security expression over a row: it must be true (42501 otherwise, the
/// message saying `what` failed), as PostgreSQL's.
fn row_policy(
    ctx: &ExecCtx,
    policy: Option<&crate::plan::Expr>,
    row: &[Value],
    table: &Table,
    what: &str,
) -> Result<()> {
    let Some(policy) = policy else { return Ok(()) };
    if matches!(eval(policy, row, ctx)?, Value::Bool(true)) {
        return Ok(());
    }
    Err(errinput!(INSUFFICIENT_PRIVILEGE, "{what} for table \"{}\"", table.name))
}

/// WITH CHECK OPTION: a row written through a view must be one the view shows (44000
/// otherwise, naming the view, as PostgreSQL).
fn view_check(
    ctx: &ExecCtx,
    checks: &[(String, crate::plan::Expr)],
    row: &[Value],
    table: &Table,
) -> Result<()> {
    for (view, check) in checks {
        if !matches!(eval(check, row, ctx)?, Value::Bool(true)) {
            return Err(errinput!(
                WITH_CHECK_OPTION_VIOLATION,
                "new row violates check option for view \"{view}\""
            )
            .with_detail(storage::failing_row(row, table, ctx)));
        }
    }
    Ok(())
}

/// Runs an INSERT.
pub fn insert(stmt: &Insert, ctx: &ExecCtx) -> Result<DmlResult> {
    let table = &stmt.table;
    let mut count = 0;
    let mut out = Vec::new();
    let mut touched: HashSet<Vec<u8>> = HashSet::new();
    let mut firing = Firing::new(table, INSERT, None);
    let mut updating = match &stmt.on_conflict {
        Some(OnConflict::Update { assignments, .. }) => {
            let columns: Vec<usize> = assignments.iter().map(|(c, _)| *c).collect();
            Firing::new(table, UPDATE, Some(&columns))
        }
        _ => None,
    };
    for f in [&firing, &updating].into_iter().flatten() {
        f.start(ctx)?;
    }
    for (n, row) in execute(&stmt.source, ctx)?.enumerate() {
        if n % 1024 == 1023 {
            ctx.check_interrupt()?;
        }
        let mut row = row?;
        if let Some(f) = &firing {
            match f.before_row(ctx, None, Some(row))? {
                Some(Some(new)) => row = new,
                _ => continue,
            }
        }
        policy_check(ctx, stmt.row_check.as_ref(), &row, table)?;
        view_check(ctx, &stmt.view_checks, &row, table)?;
        match storage::insert(ctx, table, &mut row)? {
            Ok(key) => {
                touched.insert(key);
                count += 1;
                returning(stmt.returning.as_ref(), &row, ctx, &mut out)?;
                if let Some(f) = &mut firing {
                    f.after_row(None, Some(&row));
                }
            }
            Err(conflict) => match &stmt.on_conflict {
                None => {
                    return Err(storage::unique_violation(&conflict));
                }
                Some(OnConflict::Nothing { target }) => {
                    if target.as_ref().is_some_and(|t| !t.contains(&conflict.constraint)) {
                        return Err(storage::unique_violation(&conflict));
                    }
                }
                Some(OnConflict::Update { target, assignments, filter }) => {
                    if !target.contains(&conflict.constraint) {
                        return Err(storage::unique_violation(&conflict));
                    }
                    let key = conflict.existing;
                    if !touched.insert(key.clone()) {
                        return Err(errinput!(CARDINALITY_VIOLATION, "ON CONFLICT DO UPDATE command cannot affect row a second time")
                            .with_hint("Ensure that no rows proposed for insertion within the same command have duplicate constrained values."));
                    }
                    ctx.txn.lock(&key, LockMode::NoKeyUpdate, LockWait::Wait(None))?;
                    let Some(bytes) = ctx.txn.get_latest(&key)? else { continue };
                    let existing = decode_table_row(table, &bytes)?;
                    // Under row-level security the existing row must be one the role may
                    // update, as PostgreSQL checks it.
                    let using = stmt.update_policy.as_ref().map(|(using, _)| using);
                    row_policy(ctx, using, &existing, table, NEW_ROW_USING)?;
                    let mut combined = existing.clone();
                    combined.extend(row.iter().cloned());
                    if let Some(f) = filter
                        && !eval_condition(f, &combined, ctx)?
                    {
                        continue;
                    }
                    let mut new = existing.clone();
                    for (col, expr) in assignments {
                        new[*col] = eval(expr, &combined, ctx)?;
                    }
                    if let Some(f) = &updating {
                        match f.before_row(ctx, Some(&existing), Some(new))? {
                            Some(Some(changed)) => new = changed,
                            _ => continue,
                        }
                    }
                    let update_check = stmt.update_policy.as_ref().map(|(_, check)| check);
                    policy_check(ctx, update_check, &new, table)?;
                    view_check(ctx, &stmt.view_checks, &new, table)?;
                    storage::update(ctx, table, &key, &existing, &mut new)?;
                    count += 1;
                    returning(stmt.returning.as_ref(), &new, ctx, &mut out)?;
                    if let Some(f) = &mut updating {
                        f.after_row(Some(&existing), Some(&new));
                    }
                }
            },
        }
    }
    for f in [firing, updating].into_iter().flatten() {
        f.finish(ctx)?;
    }
    Ok((count, out))
}

/// Locks a row about to change, whose columns start at `at` in `row`. Under read committed,
/// puts its latest version there if it changed meanwhile and re-checks it; false when the
/// row is gone or no longer matches.
fn lock_for_change(
    ctx: &ExecCtx,
    table: &Table,
    (row, at): (&mut Row, usize),
    key: &[u8],
    mode: LockMode,
    recheck: Option<&crate::plan::Expr>,
) -> Result<bool> {
    ctx.txn.lock(key, mode, LockWait::Wait(None))?;
    if ctx.txn.isolation() != Isolation::ReadCommitted {
        return Ok(true);
    }
    let Some(bytes) = ctx.txn.get_latest(key)? else { return Ok(false) };
    let n = table.columns.len();
    if bytes == encode_row(&row[at..at + n]) {
        return Ok(true);
    }
    // The row changed while we waited: continue with its latest version if it still matches.
    let latest = decode_table_row(table, &bytes)?;
    row.splice(at..at + n, latest);
    match recheck {
        Some(p) => eval_condition(p, row, ctx),
        None => Ok(true),
    }
}

fn key_of(row: &Row, n: usize) -> Result<Vec<u8>> {
    match row.get(n) {
        Some(Value::Bytea(k)) => Ok(k.clone()),
        _ => Err(errinput!(INTERNAL_ERROR, "row key missing from UPDATE/DELETE source")),
    }
}

/// Runs an UPDATE.
pub fn update(stmt: &Update, ctx: &ExecCtx) -> Result<DmlResult> {
    let table = &stmt.table;
    let n = table.columns.len();
    let key_changes = stmt.assignments.iter().any(|(c, _)| table.primary_key.contains(c));
    let mode = if key_changes { LockMode::Update } else { LockMode::NoKeyUpdate };
    let mut seen: HashSet<Vec<u8>> = HashSet::new();
    let (mut count, mut out) = (0, Vec::new());
    let mut firing = match table.triggers.is_empty() {
        true => None,
        false => {
            let assigned: Vec<usize> = stmt.assignments.iter().map(|(c, _)| *c).collect();
            Firing::new(table, UPDATE, Some(&assigned))
        }
    };
    if let Some(f) = &firing {
        f.start(ctx)?;
    }
    for (i, row) in execute(&stmt.source, ctx)?.enumerate() {
        if i % 1024 == 1023 {
            ctx.check_interrupt()?;
        }
        let mut row = row?;
        let key = key_of(&row, n)?;
        if !seen.insert(key.clone()) {
            continue; // a row joined to several FROM rows is updated once
        }
        if !lock_for_change(ctx, table, (&mut row, 0), &key, mode, stmt.recheck.as_ref())? {
            continue;
        }
        let old = row[..n].to_vec();
        let mut new = old.clone();
        for (col, expr) in &stmt.assignments {
            new[*col] = eval(expr, &row, ctx)?;
        }
        if let Some(f) = &firing {
            match f.before_row(ctx, Some(&old), Some(new))? {
                Some(Some(changed)) => new = changed,
                _ => continue,
            }
        }
        policy_check(ctx, stmt.row_check.as_ref(), &new, table)?;
        view_check(ctx, &stmt.view_checks, &new, table)?;
        storage::update(ctx, table, &key, &old, &mut new)?;
        count += 1;
        if let Some(f) = &mut firing {
            f.after_row(Some(&old), Some(&new));
        }
        if stmt.returning.is_some() {
            // The new row, then the key and any FROM columns RETURNING may read.
            let mut written = new;
            written.extend_from_slice(&row[n..]);
            returning(stmt.returning.as_ref(), &written, ctx, &mut out)?;
        }
    }
    if let Some(f) = firing {
        f.finish(ctx)?;
    }
    Ok((count, out))
}

/// Runs a DELETE.
pub fn delete(stmt: &Delete, ctx: &ExecCtx) -> Result<DmlResult> {
    let table = &stmt.table;
    let n = table.columns.len();
    let mut seen: HashSet<Vec<u8>> = HashSet::new();
    let (mut count, mut out) = (0, Vec::new());
    let mut firing = Firing::new(table, DELETE, None);
    if let Some(f) = &firing {
        f.start(ctx)?;
    }
    for (i, row) in execute(&stmt.source, ctx)?.enumerate() {
        if i % 1024 == 1023 {
            ctx.check_interrupt()?;
        }
        let mut row = row?;
        let key = key_of(&row, n)?;
        if !seen.insert(key.clone()) {
            continue;
        }
        if !lock_for_change(
            ctx,
            table,
            (&mut row, 0),
            &key,
            LockMode::Update,
            stmt.recheck.as_ref(),
        )? {
            continue;
        }
        let old = row[..n].to_vec();
        if let Some(f) = &firing
            && f.before_row(ctx, Some(&old), None)?.is_none()
        {
            continue;
        }
        storage::delete(ctx, table, &key, &old)?;
        count += 1;
        // The deleted row, then the key and any USING columns RETURNING may read.
        returning(stmt.returning.as_ref(), &row, ctx, &mut out)?;
        if let Some(f) = &mut firing {
            f.after_row(Some(&old), None);
        }
    }
    if let Some(f) = firing {
        f.finish(ctx)?;
    }
    Ok((count, out))
}

/// Runs a MERGE: each joined row runs the first WHEN clause of its kind whose condition
/// holds. A target row is locked before it changes; under read committed, one that changed
/// meanwhile is judged again on its latest version, and one that is gone or no longer meets
/// the join condition makes the source row not matched, as in PostgreSQL.
pub fn merge(stmt: &Merge, ctx: &ExecCtx) -> Result<u64> {
    let table = &stmt.table;
    let (n, at) = (table.columns.len(), stmt.target_at);
    let lock_mode = |clauses: &[MergeClause]| {
        if clauses.iter().any(|c| c.action.needs_key_lock(table)) {
            LockMode::Update
        } else {
            LockMode::NoKeyUpdate
        }
    };
    let (matched_mode, by_source_mode) =
        (lock_mode(&stmt.matched), lock_mode(&stmt.not_matched_by_source));
    let mut touched: HashSet<Vec<u8>> = HashSet::new();
    let mut count = 0;
    let (mut inserting, mut updating, mut deleting) = merge_triggers(stmt);
    for f in [&inserting, &updating, &deleting].into_iter().flatten() {
        f.start(ctx)?;
    }
    for (i, row) in execute(&stmt.source, ctx)?.enumerate() {
        if i % 1024 == 1023 {
            ctx.check_interrupt()?;
        }
        let mut row = row?;
        let has_source = stmt.source_marker.is_none_or(|m| !row[m].is_null());
        let key = match row.get(at + n) {
            Some(Value::Bytea(k)) => k.clone(),
            _ => {
                count += merge_insert(stmt, &row, ctx, &mut inserting)?;
                continue;
            }
        };
        let (clauses, mode, recheck) = if has_source {
            (&stmt.matched, matched_mode, Some(&stmt.on))
        } else {
            (&stmt.not_matched_by_source, by_source_mode, None)
        };
        let Some(clause) = first_clause(clauses, &row, ctx)? else { continue };
        if matches!(clause.action, MergeAction::Nothing) {
            continue;
        }
        if touched.contains(&key) {
            return Err(cannot_affect_twice());
        }
        if !lock_for_change(ctx, table, (&mut row, at), &key, mode, recheck)? {
            if has_source {
                row[at..].fill(Value::Null);
                count += merge_insert(stmt, &row, ctx, &mut inserting)?;
            }
            continue;
        }
        // Judged again: the locked version may be newer than the one the join read.
        let Some(clause) = first_clause(clauses, &row, ctx)? else { continue };
        let old = row[at..at + n].to_vec();
        match &clause.action {
            MergeAction::Update(assignments) => {
                let policies = stmt.policies.as_ref();
                row_policy(ctx, policies.map(|p| &p.update_using), &old, table, TARGET_ROW_USING)?;
                let mut new = old.clone();
                for (col, expr) in assignments {
                    new[*col] = eval(expr, &row, ctx)?;
                }
                if let Some(f) = &updating {
                    match f.before_row(ctx, Some(&old), Some(new))? {
                        Some(Some(changed)) => new = changed,
                        _ => continue,
                    }
                }
                policy_check(ctx, policies.map(|p| &p.update_check), &new, table)?;
                storage::update(ctx, table, &key, &old, &mut new)?;
                if let Some(f) = &mut updating {
                    f.after_row(Some(&old), Some(&new));
                }
            }
            MergeAction::Delete => {
                let using = stmt.policies.as_ref().map(|p| &p.delete_using);
                row_policy(ctx, using, &old, table, TARGET_ROW_USING)?;
                if let Some(f) = &deleting
                    && f.before_row(ctx, Some(&old), None)?.is_none()
                {
                    continue;
                }
                storage::delete(ctx, table, &key, &old)?;
                if let Some(f) = &mut deleting {
                    f.after_row(Some(&old), None);
                }
            }
            MergeAction::Nothing | MergeAction::Insert(_) => continue,
        }
        touched.insert(key);
        count += 1;
    }
    for f in [inserting, updating, deleting].into_iter().flatten() {
        f.finish(ctx)?;
    }
    Ok(count)
}

/// The triggers a MERGE fires: for each kind of action its clauses take (INSERT, UPDATE
/// with the columns its UPDATE actions set, DELETE), as PostgreSQL.
fn merge_triggers(stmt: &Merge) -> (Option<Firing<'_>>, Option<Firing<'_>>, Option<Firing<'_>>) {
    let table = &stmt.table;
    if table.triggers.is_empty() {
        return (None, None, None);
    }
    let actions = || {
        stmt.matched
            .iter()
            .chain(&stmt.not_matched)
            .chain(&stmt.not_matched_by_source)
            .map(|c| &c.action)
    };
    let inserts = actions().any(|a| matches!(a, MergeAction::Insert(_)));
    let deletes = actions().any(|a| matches!(a, MergeAction::Delete));
    let updated: Vec<usize> = actions()
        .filter_map(|a| match a {
            MergeAction::Update(assignments) => Some(assignments.iter().map(|(c, _)| *c)),
            _ => None,
        })
        .flatten()
        .collect();
    let updates = actions().any(|a| matches!(a, MergeAction::Update(_)));
    (
        inserts.then(|| Firing::new(table, INSERT, None)).flatten(),
        updates.then(|| Firing::new(table, UPDATE, Some(&updated))).flatten(),
        deletes.then(|| Firing::new(table, DELETE, None)).flatten(),
    )
}

/// The first clause whose condition holds on the row.
fn first_clause<'a>(
    clauses: &'a [MergeClause],
    row: &[Value],
    ctx: &ExecCtx,
) -> Result<Option<&'a MergeClause>> {
    for clause in clauses {
        if clause.condition.as_ref().map_or(Ok(true), |c| eval_condition(c, row, ctx))? {
            return Ok(Some(clause));
        }
    }
    Ok(None)
}

/// A source row that matched no target row: the first WHEN NOT MATCHED clause that applies.
/// Returns the rows inserted.
fn merge_insert(
    stmt: &Merge,
    row: &[Value],
    ctx: &ExecCtx,
    firing: &mut Option<Firing>,
) -> Result<u64> {
    let Some(clause) = first_clause(&stmt.not_matched, row, ctx)? else { return Ok(0) };
    let MergeAction::Insert(exprs) = &clause.action else { return Ok(0) };
    let mut new = exprs.iter().map(|e| eval(e, row, ctx)).collect::<Result<Vec<_>>>()?;
    if let Some(f) = firing {
        match f.before_row(ctx, None, Some(new))? {
            Some(Some(changed)) => new = changed,
            _ => return Ok(0),
        }
    }
    policy_check(ctx, stmt.policies.as_ref().map(|p| &p.insert_check), &new, &stmt.table)?;
    storage::insert_or_fail(ctx, &stmt.table, &mut new)?;
    if let Some(f) = firing {
        f.after_row(None, Some(&new));
    }
    Ok(1)
}

fn cannot_affect_twice() -> oxibase_common::Error {
    errinput!(CARDINALITY_VIOLATION, "MERGE command cannot affect row a second time")
        .with_hint("Ensure that not more than one source row matches any one target row.")
}

/// One field of a COPY ... FROM row.
enum CopyField {
    Null,
    /// Text to parse into the column's type.
    Text(String),
    /// A value decoded by the wire layer.
    Value(Value),
}

/// The data of a COPY ... FROM.
pub enum CopyInput<'a> {
    /// Text or CSV, parsed here.
    Text(&'a str),
    /// Rows decoded by the wire layer (the binary format): a value per copied column.
    Rows(Vec<Vec<Value>>),
}

/// COPY ... FROM: parses the data and inserts its rows. Returns the row count.
pub fn copy_from(stmt: &CopyStatement, input: CopyInput, ctx: &ExecCtx) -> Result<u64> {
    let table = stmt
        .table
        .as_ref()
        .ok_or_else(|| errinput!(INTERNAL_ERROR, "COPY FROM without a table"))?;
    let defaults: Vec<Option<crate::plan::Expr>> = (0..table.columns.len())
        .map(|c| match (table.columns[c].default_sql(), stmt.columns.contains(&c)) {
            (Some(sql), false) => {
                crate::bind::bind_table_expr_env(table, sql, "DEFAULT", ctx.session.bind_env())
                    .map(|(e, _)| Some(e))
            }
            _ => Ok(None),
        })
        .collect::<Result<_>>()?;
    let domains: Vec<(usize, &crate::catalog::Domain)> =
        table.live_columns().filter_map(|(i, c)| c.domain.as_deref().map(|d| (i, d))).collect();
    // Text fields are parsed into the column's type below; binary ones arrive as values.
    let records: Vec<Vec<CopyField>> = match input {
        CopyInput::Text(data) if stmt.csv => parse_csv(data, stmt)?,
        CopyInput::Text(data) => parse_text(data, stmt)?,
        CopyInput::Rows(rows) => {
            rows.into_iter().map(|r| r.into_iter().map(CopyField::Value).collect()).collect()
        }
    };
    let mut count = 0;
    let mut firing = Firing::new(table, INSERT, None);
    if let Some(f) = &firing {
        f.start(ctx)?;
    }
    for (line, fields) in records.into_iter().enumerate().skip(usize::from(stmt.header)) {
        let context = |e: oxibase_common::Error| {
            let message = e.message().to_string();
            oxibase_common::Error::new(e.kind(), e.code(), message).with_detail(format!(
                "COPY {}, line {}",
                table.name,
                line + 1
            ))
        };
        if line % 1024 == 1023 {
            ctx.check_interrupt()?;
        }
        if fields.len() != stmt.columns.len() {
            let what = if fields.len() < stmt.columns.len() {
                "missing data for column"
            } else {
                "extra data after last expected column"
            };
            return Err(errinput!(BAD_COPY_FILE_FORMAT, "{what}").with_detail(format!(
                "COPY {}, line {}",
                table.name,
                line + 1
            )));
        }
        let mut row = vec![Value::Null; table.columns.len()];
        for (c, default) in defaults.iter().enumerate() {
            if let Some(d) = default {
                let v = eval(d, &[], ctx)?;
                row[c] = cast(v, &table.columns[c].data_type, CastKind::Assignment, ctx.zone())
                    .map_err(context)?;
            }
        }
        for (field, &c) in fields.into_iter().zip(&stmt.columns) {
            let ty = &table.columns[c].data_type;
            row[c] = match field {
                CopyField::Null | CopyField::Value(Value::Null) => Value::Null,
                CopyField::Value(v) => {
                    cast(v, ty, CastKind::Assignment, ctx.zone()).map_err(context)?
                }
                CopyField::Text(text) => {
                    let v = parse_value(&text, ty, ctx.zone()).map_err(context)?;
                    cast(v, ty, CastKind::Assignment, ctx.zone()).map_err(context)?
                }
            };
        }
        for &(c, domain) in &domains {
            storage::check_domain(ctx, domain, &row[c]).map_err(context)?;
        }
        if let Some(f) = &firing {
            match f.before_row(ctx, None, Some(row)).map_err(context)? {
                Some(Some(new)) => row = new,
                _ => continue,
            }
        }
        policy_check(ctx, stmt.row_check.as_ref(), &row, table).map_err(context)?;
        storage::insert_or_fail(ctx, table, &mut row).map_err(context)?;
        count += 1;
        if let Some(f) = &mut firing {
            f.after_row(None, Some(&row));
        }
    }
    if let Some(f) = firing {
        f.finish(ctx)?;
    }
    Ok(count)
}

/// Text format: one row per line, fields split by the delimiter, `\N` for NULL, backslash
/// escapes.
fn parse_text(data: &str, stmt: &CopyStatement) -> Result<Vec<Vec<CopyField>>> {
    let mut records = Vec::new();
    // Each line ends with a newline: what follows the last one is no line (an empty COPY
    // of a one-column table has no rows, not one empty string).
    let data = data.strip_suffix('\n').unwrap_or(data);
    if data.is_empty() {
        return Ok(records);
    }
    for line in data.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line == "\\." {
            break;
        }
        if line.is_empty() && stmt.columns.len() != 1 {
            continue;
        }
        let mut fields = Vec::new();
        for raw in line.split(stmt.delimiter) {
            if raw == stmt.null {
                fields.push(CopyField::Null);
                continue;
            }
            let mut out = String::with_capacity(raw.len());
            let mut chars = raw.chars();
            while let Some(c) = chars.next() {
                if c != '\\' {
                    out.push(c);
                    continue;
                }
                match chars.next() {
                    Some('t') => out.push('\t'),
                    Some('n') => out.push('\n'),
                    Some('r') => out.push('\r'),
                    Some('b') => out.push('\u{8}'),
                    Some('f') => out.push('\u{c}'),
                    Some('v') => out.push('\u{b}'),
                    Some(other) => out.push(other),
                    None => {
                        return Err(errinput!(BAD_COPY_FILE_FORMAT, "end-of-copy marker corrupt"));
                    }
                }
            }
            fields.push(CopyField::Text(out));
        }
        records.push(fields);
    }
    Ok(records)
}

/// CSV: quoted fields may hold delimiters, quotes (doubled) and newlines; an unquoted empty
/// field is NULL by default.
fn parse_csv(data: &str, stmt: &CopyStatement) -> Result<Vec<Vec<CopyField>>> {
    let mut records = Vec::new();
    let mut fields: Vec<CopyField> = Vec::new();
    let mut field = String::new();
    let (mut quoted, mut in_quotes, mut any) = (false, false, false);
    let mut chars = data.chars().peekable();
    let end_field = |field: &mut String, quoted: &mut bool, fields: &mut Vec<CopyField>| {
        let value = std::mem::take(field);
        fields.push(if !*quoted && value == stmt.null {
            CopyField::Null
        } else {
            CopyField::Text(value)
        });
        *quoted = false;
    };
    while let Some(c) = chars.next() {
        any = true;
        if in_quotes {
            if c == stmt.escape
                && chars.peek() == Some(&stmt.quote)
                && (stmt.escape != stmt.quote || c == stmt.quote)
            {
                chars.next();
                field.push(stmt.quote);
            } else if c == stmt.quote {
                in_quotes = false;
            } else {
                field.push(c);
            }
            continue;
        }
        match c {
            c if c == stmt.quote => {
                in_quotes = true;
                quoted = true;
            }
            c if c == stmt.delimiter => end_field(&mut field, &mut quoted, &mut fields),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                if field == "\\." && fields.is_empty() {
                    return Ok(records);
                }
                end_field(&mut field, &mut quoted, &mut fields);
                records.push(std::mem::take(&mut fields));
                any = false;
            }
            c => field.push(c),
        }
    }
    if in_quotes {
        return Err(errinput!(BAD_COPY_FILE_FORMAT, "unterminated CSV quoted field"));
    }
    if any && !(field == "\\." && fields.is_empty()) {
        end_field(&mut field, &mut quoted, &mut fields);
        records.push(fields);
    }
    Ok(records)
}

/// COPY ... TO: the query's rows in text or CSV format.
pub fn copy_to(stmt: &CopyStatement, ctx: &ExecCtx) -> Result<(u64, String)> {
    let plan =
        stmt.query.as_ref().ok_or_else(|| errinput!(INTERNAL_ERROR, "COPY TO without a query"))?;
    let mut out = String::new();
    if stmt.header && stmt.csv {
        let names: Vec<String> =
            plan.columns.iter().filter(|c| !c.hidden).map(|c| csv_field(&c.name, stmt)).collect();
        out.push_str(&names.join(&stmt.delimiter.to_string()));
        out.push('\n');
    }
    let mut count = 0;
    for row in execute(plan, ctx)? {
        let row = row?;
        let fields: Vec<String> = row
            .iter()
            .zip(&plan.columns)
            .filter(|(_, c)| !c.hidden)
            .map(|(v, c)| match format_value(v, ctx.zone()) {
                None => stmt.null.clone(),
                Some(text) if stmt.csv => {
                    if matches!(c.data_type, DataType::Text | DataType::Varchar(_))
                        && text.is_empty()
                    {
                        "\"\"".into()
                    } else {
                        csv_field(&text, stmt)
                    }
                }
                Some(text) => escape_text(&text, stmt.delimiter),
            })
            .collect();
        out.push_str(&fields.join(&stmt.delimiter.to_string()));
        out.push('\n');
        count += 1;
    }
    Ok((count, out))
}

fn escape_text(s: &str, delimiter: char) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == delimiter => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

fn csv_field(s: &str, stmt: &CopyStatement) -> String {
    let needs = s.contains(stmt.delimiter)
        || s.contains(stmt.quote)
        || s.contains('\n')
        || s.contains('\r')
        || s == stmt.null;
    if needs {
        let doubled = s.replace(stmt.quote, &format!("{}{}", stmt.escape, stmt.quote));
        format!("{}{doubled}{}", stmt.quote, stmt.quote)
    } else {
        s.to_string()
    }
}
