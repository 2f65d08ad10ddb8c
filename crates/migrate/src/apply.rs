//! Executing a plan.
//!
//! 1. Hazards: a step whose hazard is refused by default (data loss, table rewrite, long
//!    lock) runs only if the caller allowed that kind; a reviewed plan hash must still match.
//! 2. One migration at a time: a session advisory lock, taken without waiting (a second
//!    migration fails with 55P03 and changes nothing).
//! 3. One transaction for the plan: it first takes the catalog's DDL lock exclusively (other
//!    DDL waits until it ends), re-reads the live schema and re-plans; if the plan changed
//!    since it was computed, it stops with 40001. Each validation step first looks for
//!    offending rows and, finding some, fails with them listed. The history row is written
//!    in the same transaction. Any failure rolls everything back.

use oxibase_common::{Error, Result, Value, errconflict, errinput};
use oxibase_mvcc::{LockMode, LockWait};
use oxibase_sql::Catalog;
use oxibase_sql::Session;
use oxibase_sql::migrate::MigrateRequest;

use crate::model::QName;
use crate::plan::{Action, HazardKind, Step, qualified};
use crate::{HISTORY_SCHEMA, Plan, model};

/// The advisory lock key a running migration holds ("oximigr" in ASCII).
pub const MIGRATION_LOCK: i64 = 0x006f_7869_6d69_6772;

/// How many offending rows a failed validation lists.
const OFFENDING_SHOWN: usize = 5;

/// Applies a plan computed for `request`.
pub fn apply(session: &mut Session, request: &MigrateRequest, plan: &Plan) -> Result<()> {
    check_hazards(request, plan)?;
    if let Some(expected) = &request.plan_hash
        && *expected != plan.hash
    {
        return Err(errinput!(
            OBJECT_NOT_IN_PREREQUISITE_STATE,
            "the plan is no longer the one reviewed (hash {expected}, now {})",
            plan.hash
        )
        .with_hint("The live schema or the desired file changed: review the new plan."));
    }
    if plan.steps.is_empty() {
        return Ok(());
    }
    let locked =
        session.query("SELECT pg_try_advisory_lock($1)", &[Value::Int8(MIGRATION_LOCK)])?;
    if locked.rows().first().and_then(|r| r.first()) != Some(&Value::Bool(true)) {
        return Err(errinput!(LOCK_NOT_AVAILABLE, "another schema migration is running")
            .with_hint("Wait for it to finish, then plan again."));
    }
    let result = run(session, request, plan);
    let unlocked = session.query("SELECT pg_advisory_unlock($1)", &[Value::Int8(MIGRATION_LOCK)]);
    result?;
    unlocked.map(|_| ())
}

fn check_hazards(request: &MigrateRequest, plan: &Plan) -> Result<()> {
    let mut allowed = Vec::new();
    for name in &request.allow_hazards {
        let kind = HazardKind::parse(name).ok_or_else(|| {
            errinput!(INVALID_PARAMETER_VALUE, "unknown hazard kind \"{name}\"").with_hint(format!(
                "The kinds are {}.",
                HazardKind::ALL.map(HazardKind::name).join(", ")
            ))
        })?;
        allowed.push(kind);
    }
    let mut refused = Vec::new();
    let mut kinds = Vec::new();
    for step in &plan.steps {
        for h in &step.hazards {
            if h.kind.refused_by_default() && !allowed.contains(&h.kind) {
                refused.push(format!(
                    "step {} ({}): {}: {}",
                    step.id,
                    step.sql,
                    h.kind.name(),
                    h.detail
                ));
                if !kinds.contains(&h.kind.name()) {
                    kinds.push(h.kind.name());
                }
            }
        }
    }
    if refused.is_empty() {
        return Ok(());
    }
    kinds.sort_by_key(|k| HazardKind::parse(k));
    Err(errinput!(
        OBJECT_NOT_IN_PREREQUISITE_STATE,
        "the plan has hazardous steps; nothing was changed"
    )
    .with_detail(refused.join("\n"))
    .with_hint(format!(
        "Review the plan, then allow them: --allow-hazards {} (allow_hazards => '{}' from SQL).",
        kinds.join(","),
        kinds.join(",")
    )))
}

/// Whether a step is an index built online, before the migration's transaction.
fn is_online(step: &Step) -> bool {
    matches!(step.action, Action::BuildIndex { .. })
}

fn run(session: &mut Session, request: &MigrateRequest, plan: &Plan) -> Result<()> {
    let mut built: Vec<QName> = Vec::new();
    let mut result: Result<()> = Ok(());
    for step in plan.steps.iter().filter(|s| is_online(s)) {
        result = check_rows(session, step).and_then(|()| {
            session.execute(&step.sql).map(|_| ()).map_err(|e| step_error(step.id, &step.sql, &e))
        });
        if result.is_err() {
            break;
        }
        if let Action::BuildIndex { index } = &step.action {
            built.push(index.name.clone());
        }
    }
    if result.is_ok() {
        session.execute("BEGIN")?;
        result = run_in_transaction(session, request, plan, &built);
        result = match result {
            Ok(()) => session.execute("COMMIT").map(|_| ()),
            Err(e) => {
                let _ = session.execute("ROLLBACK");
                Err(e)
            }
        };
    }
    if result.is_err() {
        // The indexes built online go again: the schema is as it was.
        for name in &built {
            let _ = session.execute(&format!("DROP INDEX IF EXISTS {}", qualified(name)));
        }
    }
    result
}

fn run_in_transaction(
    session: &mut Session,
    request: &MigrateRequest,
    plan: &Plan,
    built: &[QName],
) -> Result<()> {
    let mut live = session.within_transaction(|catalog, txn| {
        txn.lock_latest(&Catalog::ddl_lock_key()?, LockMode::Update, LockWait::Wait(None))?;
        model::read(catalog, txn)
    })?;
    // Planned from the schema without the indexes built online since.
    for name in built {
        live.indexes.remove(name);
    }
    let now = Plan::diff(session, &live, &plan.desired, false)?;
    let same =
        now.len() == plan.steps.len() && now.iter().zip(&plan.steps).all(|(a, b)| a.sql == b.sql);
    if !same {
        return Err(errconflict!(
            SERIALIZATION_FAILURE,
            "the schema changed while the migration was being planned; nothing was changed"
        )
        .with_hint("Run the migration again: it plans from the schema as it is now."));
    }
    for step in plan.steps.iter().filter(|s| !is_online(s)) {
        check_rows(session, step)?;
        session.execute(&step.sql).map_err(|e| step_error(step.id, &step.sql, &e))?;
    }
    session.execute(&format!(
        "CREATE SCHEMA IF NOT EXISTS {HISTORY_SCHEMA};
         CREATE TABLE IF NOT EXISTS {HISTORY_SCHEMA}.migrations (
             id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
             applied_at timestamptz NOT NULL DEFAULT now(),
             applied_by text NOT NULL DEFAULT current_user,
             source text NOT NULL,
             plan_hash text NOT NULL,
             steps integer NOT NULL,
             plan text NOT NULL,
             hazards_allowed text NOT NULL)"
    ))?;
    let text: Vec<String> = plan.steps.iter().map(|s| format!("{};", s.sql)).collect();
    session.query(
        &format!(
            "INSERT INTO {HISTORY_SCHEMA}.migrations (source, plan_hash, steps, plan, hazards_allowed) \
             VALUES ($1, $2, $3, $4, $5)"
        ),
        &[
            Value::Text(request.source.clone()),
            Value::Text(plan.hash.clone()),
            Value::Int4(plan.steps.len() as i32),
            Value::Text(text.join("\n")),
            Value::Text(request.allow_hazards.join(",")),
        ],
    )?;
    Ok(())
}

/// A validation step's rule checked against the rows before the step runs: the offending
/// rows are listed in the error.
fn check_rows(session: &mut Session, step: &Step) -> Result<()> {
    let Some(query) = &step.offending else { return Ok(()) };
    let found = session.execute(&format!("{query} LIMIT {OFFENDING_SHOWN}"))?;
    if found.rows().is_empty() {
        return Ok(());
    }
    let rows: Vec<String> = found
        .rows()
        .iter()
        .map(|r| match r.first() {
            Some(Value::Text(t)) => t.clone(),
            _ => "?".into(),
        })
        .collect();
    let rule = step
        .hazards
        .iter()
        .find(|h| h.kind == HazardKind::Validation)
        .map_or(String::new(), |h| h.detail.clone());
    Err(errinput!(
        CHECK_VIOLATION,
        "step {} failed: existing rows break the new rule ({rule}); nothing was changed",
        step.id
    )
    .with_detail(format!(
        "statement: {}\noffending rows (first {OFFENDING_SHOWN}): {}",
        step.sql,
        rows.join(", ")
    ))
    .with_hint("Fix or delete those rows, then run the migration again."))
}

/// A step's error, saying which step failed; the SQLSTATE is kept.
fn step_error(id: usize, sql: &str, e: &Error) -> Error {
    let mut detail = format!("statement: {sql}");
    if let Some(d) = e.detail() {
        detail.push('\n');
        detail.push_str(d);
    }
    let mut out = Error::new(
        e.kind(),
        e.code(),
        format!("step {id} failed: {}; nothing was changed", e.message()),
    )
    .with_detail(detail);
    if let Some(h) = e.hint() {
        out = out.with_hint(h.to_string());
    }
    out
}
