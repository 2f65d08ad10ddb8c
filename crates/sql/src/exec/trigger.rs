//! When triggers fire during INSERT, UPDATE, DELETE and COPY FROM.
//!
//! As in PostgreSQL: BEFORE STATEMENT triggers first; per row, BEFORE ROW triggers (by
//! name) may replace the row or skip it (NULL) before constraints are checked; AFTER ROW
//! triggers are queued and run once the statement has changed every row, then AFTER
//! STATEMENT triggers. A statement on a table without triggers pays one check of an empty
//! list.

use std::sync::Arc;

use oxibase_common::{Result, Value};

use super::{ExecCtx, Row};
use crate::catalog::Table;
use crate::catalog::triggers::{INSERT, Trigger, UPDATE};
use crate::trigger::{TriggerCall, WhenCondition, full_row};

/// The triggers one statement fires on one table for one event.
pub struct Firing<'t> {
    table: &'t Table,
    event: i16,
    op: &'static str,
    triggers: Vec<&'t Arc<Trigger>>,
    /// Each trigger's WHEN condition, prepared once for the statement.
    whens: Vec<Option<WhenCondition>>,
    /// Rows for the AFTER ROW triggers: (old, new).
    queued: Vec<(Option<Row>, Option<Row>)>,
    has_after_row: bool,
    has_before_row: bool,
}

impl<'t> Firing<'t> {
    /// The triggers of `table` for `event`, None when there are none. `updated` are the
    /// columns an UPDATE assigns (for UPDATE OF triggers).
    pub fn new(table: &'t Table, event: i16, updated: Option<&[usize]>) -> Option<Firing<'t>> {
        if table.triggers.is_empty() {
            return None;
        }
        let triggers: Vec<_> = table
            .triggers
            .iter()
            .filter(|t| t.enabled && t.tgtype & event != 0)
            .filter(|t| {
                t.columns.is_empty()
                    || updated.is_none_or(|cols| {
                        cols.iter().any(|&c| t.columns.contains(&table.columns[c].name))
                    })
            })
            .collect();
        if triggers.is_empty() {
            return None;
        }
        let op = match event {
            INSERT => "INSERT",
            UPDATE => "UPDATE",
            _ => "DELETE",
        };
        let whens = triggers.iter().map(|t| WhenCondition::for_event(t, table, event)).collect();
        Some(Firing {
            table,
            event,
            op,
            whens,
            has_after_row: triggers.iter().any(|t| t.fires(event, false, true)),
            has_before_row: triggers.iter().any(|t| t.fires(event, true, true)),
            triggers,
            queued: Vec::new(),
        })
    }

    /// Runs the `i`th trigger: None when its WHEN condition does not hold, else what its
    /// function returned.
    fn fire(
        &self,
        ctx: &ExecCtx,
        i: usize,
        old: Option<&[Value]>,
        new: Option<&[Value]>,
    ) -> Result<Option<Option<Vec<Value>>>> {
        let (trigger, when) = (self.triggers[i], self.whens[i].as_ref());
        let call = TriggerCall { trigger, table: self.table, op: self.op, old, new, when };
        if when.is_some() && !ctx.session.trigger_condition(&call)? {
            return Ok(None);
        }
        ctx.session.fire_trigger(&call).map(Some)
    }

    /// Runs the statement's BEFORE or AFTER STATEMENT triggers.
    fn statement(&self, ctx: &ExecCtx, before: bool) -> Result<()> {
        for (i, trigger) in self.triggers.iter().enumerate() {
            if trigger.fires(self.event, before, false) {
                self.fire(ctx, i, None, None)?;
            }
        }
        Ok(())
    }

    /// BEFORE STATEMENT triggers.
    pub fn start(&self, ctx: &ExecCtx) -> Result<()> {
        self.statement(ctx, true)
    }

    /// BEFORE ROW triggers for one row: the row to write (`new`, possibly replaced), or None
    /// to skip the row. For a DELETE, `new` is None and the answer only says go or skip.
    pub fn before_row(
        &self,
        ctx: &ExecCtx,
        old: Option<&[Value]>,
        new: Option<Row>,
    ) -> Result<Option<Option<Row>>> {
        if !self.has_before_row {
            return Ok(Some(new));
        }
        let mut new = new;
        for (i, trigger) in self.triggers.iter().enumerate() {
            if !trigger.fires(self.event, true, true) {
                continue;
            }
            match self.fire(ctx, i, old, new.as_deref())? {
                None => {}                     // its WHEN condition did not hold
                Some(None) => return Ok(None), // RETURN NULL: skip the row
                Some(Some(row)) if new.is_some() => new = Some(full_row(self.table, row)),
                Some(Some(_)) => {} // a DELETE goes on
            }
        }
        Ok(Some(new))
    }

    /// Queues a changed row for the AFTER ROW triggers.
    pub fn after_row(&mut self, old: Option<&[Value]>, new: Option<&[Value]>) {
        if self.has_after_row {
            self.queued.push((old.map(<[Value]>::to_vec), new.map(<[Value]>::to_vec)));
        }
    }

    /// AFTER ROW triggers for the queued rows, then AFTER STATEMENT triggers.
    pub fn finish(self, ctx: &ExecCtx) -> Result<()> {
        for (old, new) in &self.queued {
            for (i, trigger) in self.triggers.iter().enumerate() {
                if trigger.fires(self.event, false, true) {
                    self.fire(ctx, i, old.as_deref(), new.as_deref())?;
                }
            }
        }
        self.statement(ctx, false)
    }
}
