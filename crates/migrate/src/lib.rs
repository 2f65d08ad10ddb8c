//! Declarative schema migration: the schema a user wants, in SQL DDL or YAML, in; a checked
//! plan of online changes out, and applied on request.
//!
//! - [`desired`] reads the desired schema into the [`model`] (through a private in-memory
//!   database, so normalisation is the engine's own), [`model::read`] reads the live
//!   catalog into the same model, and [`plan::diff`] turns the difference into a DAG of
//!   steps with their hazards.
//! - [`Engine`] is what the binary installs behind `CALL oxibase_migrate(...)`; the command
//!   line (`oxibase migrate`), the TUI and the HTTP API all reach it through that call.
//! - [`apply`] runs a plan: one migration at a time, concurrent DDL held off, indexes on
//!   existing tables built online, every other step in one transaction with the migration's
//!   history row, so a failed step leaves the schema as it was.

pub mod apply;
pub mod desired;
pub mod model;
pub mod plan;

use std::collections::BTreeMap;
use std::sync::Arc;

use oxibase_common::{Result, Value};
use oxibase_sql::migrate::{MigrateRequest, Migrator, plan_columns};
use oxibase_sql::{Database, Output, Session};
use sha2::{Digest, Sha256};

use crate::desired::{Desired, Format};
use crate::model::{QName, Schema};
use crate::plan::{HazardKind, Step};

/// The schema holding the migration history (`oxibase.migrations`); never part of a model.
pub const HISTORY_SCHEMA: &str = "oxibase";

/// Installs the migration engine in a database, behind `CALL oxibase_migrate(...)`.
pub fn install(db: &Database) {
    db.set_migrator(Arc::new(Engine));
}

/// The migration engine.
pub struct Engine;

impl Migrator for Engine {
    fn migrate(&self, session: &mut Session, request: &MigrateRequest) -> Result<Output> {
        let plan = Plan::make(session, request)?;
        if !request.apply {
            return Ok(plan.output("planned"));
        }
        apply::apply(session, request, &plan)?;
        Ok(plan.output("applied"))
    }
}

/// A computed plan.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The steps in execution order.
    pub steps: Vec<Step>,
    /// A hash of the steps' statements and hazard kinds: what a reviewer approved.
    pub hash: String,
    /// The desired schema it was computed for.
    pub desired: Desired,
}

impl Plan {
    /// Plans the migration of the session's database to the requested schema.
    pub fn make(session: &mut Session, request: &MigrateRequest) -> Result<Plan> {
        let format = Format::choose(request.format.as_deref(), &request.source, &request.desired)?;
        let runtime = session.database().procedure_runtime();
        let desired = desired::read(&request.desired, &request.source, format, runtime)?;
        let live = session.within_transaction(model::read)?;
        let steps = Self::diff(session, &live, &desired, true)?;
        let hash = hash(&steps);
        Ok(Plan { steps, hash, desired })
    }

    /// The steps from `live` to `desired`; with `measure`, hazards say how many rows they
    /// touch and how many break a new rule now.
    fn diff(
        session: &mut Session,
        live: &Schema,
        desired: &Desired,
        measure: bool,
    ) -> Result<Vec<Step>> {
        let no_rows = BTreeMap::new();
        let mut steps = plan::diff(live, &desired.schema, &desired.renames, &no_rows)?;
        if !measure || steps.is_empty() {
            return Ok(steps);
        }
        let mut rows: BTreeMap<QName, u64> = BTreeMap::new();
        for name in live.tables.keys() {
            if steps.iter().any(|s| s.touches(name)) {
                let sql = format!("SELECT count(*) FROM {}", plan::qualified(name));
                rows.insert(name.clone(), count(session, &sql)?);
            }
        }
        steps = plan::diff(live, &desired.schema, &desired.renames, &rows)?;
        // Steps that only make or change enum types leave tables and columns as they are.
        let type_only: Vec<usize> =
            steps.iter().filter(|s| s.changes_only_types()).map(|s| s.id).collect();
        for step in &mut steps {
            let Some(query) = &step.offending else { continue };
            // A rule on a table or column an earlier step creates or renames is checked
            // when the plan runs; the others (also those after enum type steps only) can be
            // counted now.
            let runs_on_live = step.depends_on.iter().all(|d| type_only.contains(d));
            let note = if runs_on_live {
                let failing =
                    count(session, &format!("SELECT count(*) FROM ({query}) AS offending"))?;
                format!(" ({failing} rows would fail now)")
            } else {
                " (checked when applied)".to_string()
            };
            if let Some(h) = step.hazards.iter_mut().find(|h| h.kind == HazardKind::Validation) {
                h.detail.push_str(&note);
            }
        }
        Ok(steps)
    }

    /// The plan as rows: step, statement, hazards (one per line), depends_on, status,
    /// plan_hash.
    pub fn output(&self, status: &str) -> Output {
        let rows: Vec<Vec<Value>> = self
            .steps
            .iter()
            .map(|s| {
                vec![
                    Value::Int4(s.id as i32),
                    Value::Text(s.sql.clone()),
                    Value::Text(
                        s.hazards
                            .iter()
                            .map(|h| format!("{}: {}", h.kind.name(), h.detail))
                            .collect::<Vec<_>>()
                            .join("\n"),
                    ),
                    Value::Text(
                        s.depends_on.iter().map(usize::to_string).collect::<Vec<_>>().join(","),
                    ),
                    Value::Text(status.to_string()),
                    Value::Text(self.hash.clone()),
                ]
            })
            .collect();
        Output::Rows { columns: plan_columns(), tag: format!("CALL {}", rows.len()), rows }
    }
}

/// What a reviewer approves: the statements, in order, and their hazard kinds.
fn hash(steps: &[Step]) -> String {
    let mut h = Sha256::new();
    for s in steps {
        h.update(s.sql.as_bytes());
        for hazard in &s.hazards {
            h.update(hazard.kind.name().as_bytes());
        }
        h.update(b"\n");
    }
    h.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// Runs a `SELECT count(*) ...`.
fn count(session: &mut Session, sql: &str) -> Result<u64> {
    let out = session.execute(sql)?;
    Ok(match out.rows().first().and_then(|r| r.first()) {
        Some(Value::Int8(n)) => *n as u64,
        Some(Value::Int4(n)) => *n as u64,
        _ => 0,
    })
}

/// The plan rows `oxibase_migrate` returns, as SQL with hazards and dependencies in
/// comments: what `oxibase migrate` prints.
pub fn render(
    columns: &[String],
    rows: &[Vec<Option<String>>],
    source: &str,
    applied: bool,
) -> String {
    let cell = |row: &[Option<String>], name: &str| -> String {
        columns
            .iter()
            .position(|c| c == name)
            .and_then(|i| row.get(i).cloned().flatten())
            .unwrap_or_default()
    };
    if rows.is_empty() {
        return format!("-- {source}: nothing to do, the schema already matches\n");
    }
    let hash = cell(&rows[0], "plan_hash");
    let plural = if rows.len() == 1 { "" } else { "s" };
    let mut out = format!("-- {source}: {} step{plural} (plan {hash})\n", rows.len());
    for row in rows {
        let depends = cell(row, "depends_on");
        out.push_str(&format!("\n-- step {}", cell(row, "step")));
        if !depends.is_empty() {
            out.push_str(&format!(" (after {depends})"));
        }
        out.push('\n');
        for h in cell(row, "hazards").lines() {
            out.push_str(&format!("-- hazard {h}\n"));
        }
        out.push_str(&format!("{};\n", cell(row, "statement")));
    }
    if applied {
        out.push_str(&format!("\n-- applied {} step{plural}\n", rows.len()));
    } else {
        out.push_str(&format!(
            "\n-- dry run: nothing was changed; apply with --apply (--plan-hash {hash} applies exactly this plan)\n"
        ));
    }
    out
}
