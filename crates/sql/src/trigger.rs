//! What a firing trigger hands its function, and its WHEN condition's scope.
//!
//! A row trigger's function sees the row as the records NEW and OLD (a table's live
//! columns, in order) and the TG_ variables; a BEFORE row trigger's result replaces the
//! row (or, NULL, skips it). The executor decides when triggers fire (`exec::trigger`);
//! the function runs through the statement's routine host like any routine call.

use oxibase_common::Value;

use crate::catalog::Table;
use crate::catalog::triggers::Trigger;
use crate::keys::RelId;
use crate::procedure::{Scope, ScopeVar};

/// One firing of a trigger.
pub struct TriggerCall<'a> {
    /// The trigger.
    pub trigger: &'a Trigger,
    /// Its table.
    pub table: &'a Table,
    /// INSERT, UPDATE or DELETE.
    pub op: &'static str,
    /// The row before the change (UPDATE, DELETE), all columns by position.
    pub old: Option<&'a [Value]>,
    /// The row after the change (INSERT, UPDATE).
    pub new: Option<&'a [Value]>,
    /// The trigger's WHEN condition, prepared for this event (None: it has none).
    pub when: Option<&'a WhenCondition>,
}

/// A WHEN condition ready to run for one event: its query and the names of its row values.
pub struct WhenCondition {
    sql: String,
    scope: Scope,
}

impl WhenCondition {
    /// The trigger's condition as an `event` (INSERT, UPDATE or DELETE) of `table` sees it:
    /// a row trigger's NEW where the event has one, OLD likewise; a statement trigger's
    /// neither. Built once per statement, not per row.
    pub fn for_event(trigger: &Trigger, table: &Table, event: i16) -> Option<WhenCondition> {
        use crate::catalog::triggers::{DELETE, INSERT, ROW};
        let when = trigger.when.as_ref()?;
        let row = trigger.tgtype & ROW != 0;
        let scope = row_scope(trigger.id, table, row && event != INSERT, row && event != DELETE);
        Some(WhenCondition { sql: format!("SELECT {when}"), scope })
    }
}

/// A row's values for its table's live columns, in order.
pub fn live_values(table: &Table, row: &[Value]) -> Vec<Value> {
    table.live_columns().map(|(i, _)| row.get(i).cloned().unwrap_or(Value::Null)).collect()
}

/// A row of every column (dropped ones NULL) from values of the live columns.
pub fn full_row(table: &Table, live: Vec<Value>) -> Vec<Value> {
    let mut live = live.into_iter();
    table
        .columns
        .iter()
        .map(|c| if c.dropped { Value::Null } else { live.next().unwrap_or(Value::Null) })
        .collect()
}

/// The names `old.column` and `new.column` (those the trigger's events have), as the
/// parameters of a WHEN condition.
pub fn row_scope(trigger_id: RelId, table: &Table, old: bool, new: bool) -> Scope {
    let mut vars = Vec::new();
    for (present, record) in [(old, "old"), (new, "new")] {
        if !present {
            continue;
        }
        for (_, column) in table.live_columns() {
            vars.push(ScopeVar {
                qualifier: Some(record.to_string()),
                name: column.name.clone(),
                bare: false,
                ty: column.data_type.clone(),
            });
        }
    }
    Scope {
        key: format!("trigger {trigger_id} when {} {}", u8::from(old), u8::from(new)),
        vars,
        what: "a trigger's WHEN condition",
        names_conflict: false,
    }
}

/// Runs a row trigger's WHEN condition through a routine host.
pub fn condition(
    call: &TriggerCall,
    host: &mut dyn crate::procedure::Host,
) -> oxibase_common::Result<bool> {
    let Some(when) = call.when else { return Ok(true) };
    let mut values = Vec::with_capacity(when.scope.vars.len());
    for row in [call.old, call.new].into_iter().flatten() {
        values.extend(live_values(call.table, row));
    }
    match host.execute_in_scope(&when.sql, &when.scope, &values)? {
        crate::session::Output::Rows { rows, .. } => {
            Ok(matches!(rows.first().and_then(|r| r.first()), Some(Value::Bool(true))))
        }
        _ => Ok(false),
    }
}
