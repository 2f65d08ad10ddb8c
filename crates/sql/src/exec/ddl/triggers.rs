//! CREATE TRIGGER, DROP TRIGGER, ALTER TABLE ... ENABLE / DISABLE TRIGGER.

use oxibase_common::{Result, errinput};

use super::{Ddl, Name, display};
use crate::bind::{Binder, TriggerSpec};
use crate::catalog::Table;
use crate::catalog::triggers::{DELETE, INSERT, INSTEAD, ROW, TRUNCATE, Trigger};
use crate::procedure::Returns;

impl Ddl<'_, '_> {
    pub(super) fn create_trigger(&self, spec: &TriggerSpec) -> Result<()> {
        let ctx = self.ctx;
        let Some((_, id)) = self.find_unchecked(&spec.table, crate::catalog::RelKind::Table)?
        else {
            return Err(errinput!(
                UNDEFINED_TABLE,
                "relation \"{}\" does not exist",
                super::display(&spec.table)
            ));
        };
        let table = self.table(id)?;
        // Creating a trigger takes TRIGGER on the table, as in PostgreSQL.
        let object = crate::privileges::AclObject::relation(table.id, "table", &table.name);
        crate::privileges::check(self.env, &object, crate::catalog::acl::TRIGGER, false, None)?;
        if table.materialized.is_some() {
            return Err(errinput!(WRONG_OBJECT_TYPE, "\"{}\" is a materialized view", table.name)
                .with_detail("Triggers on materialized views are not supported."));
        }
        if spec.tgtype & INSTEAD != 0 {
            return Err(errinput!(WRONG_OBJECT_TYPE, "\"{}\" is a table", table.name)
                .with_detail("Tables cannot have INSTEAD OF triggers."));
        }
        if spec.tgtype & TRUNCATE != 0 {
            return Err(errinput!(FEATURE_NOT_SUPPORTED, "TRUNCATE triggers are not supported"));
        }
        let function = &spec.function;
        let routine = self.env.routine(function.0.as_deref(), &function.1)?.ok_or_else(|| {
            errinput!(UNDEFINED_FUNCTION, "function {}() does not exist", display(function))
        })?;
        if routine.returns != Returns::Trigger {
            return Err(errinput!(
                INVALID_OBJECT_DEFINITION,
                "function {} must return type trigger",
                routine.name
            ));
        }
        for column in &spec.columns {
            if table.column_index(column).is_none() {
                return Err(errinput!(
                    UNDEFINED_COLUMN,
                    "column \"{column}\" of relation \"{}\" does not exist",
                    table.name
                ));
            }
        }
        if let Some(when) = &spec.when {
            self.check_when(&table, spec.tgtype, when)?;
        }
        let table = self.lock_table(&table)?;
        let trigger = Trigger {
            id: 0,
            table_id: table.id,
            name: spec.name.clone(),
            tgtype: spec.tgtype,
            function: (routine.schema.clone(), routine.name.clone()),
            args: spec.args.clone(),
            when: spec.when.clone(),
            columns: spec.columns.clone(),
            enabled: true,
            routine: Default::default(),
        };
        ctx.catalog.create_trigger(ctx.txn, &table.name, trigger, spec.or_replace)
    }

    /// A WHEN condition binds over the rows its events have: NEW for INSERT and UPDATE,
    /// OLD for UPDATE and DELETE, none for a statement trigger (42P17 otherwise).
    fn check_when(&self, table: &Table, tgtype: i16, when: &str) -> Result<()> {
        let row = tgtype & ROW != 0;
        let old = row && tgtype & INSERT == 0;
        let new = row && tgtype & DELETE == 0;
        let scope = crate::trigger::row_scope(0, table, old, new);
        let statement = crate::parse::parse_one(&format!("SELECT {when}"))?;
        Binder::new(self.env, scope.types()).in_scope(&scope).bind(&statement).map_err(|e| {
            let detail = match (row, old, new) {
                (false, _, _) => {
                    "statement trigger's WHEN condition cannot reference column values"
                }
                (true, false, _) => "INSERT trigger's WHEN condition cannot reference OLD values",
                (true, _, false) => "DELETE trigger's WHEN condition cannot reference NEW values",
                _ => "",
            };
            if detail.is_empty() || e.code() == oxibase_common::SqlState::SYNTAX_ERROR {
                e
            } else {
                errinput!(INVALID_OBJECT_DEFINITION, "{detail}")
                    .with_detail(e.message().to_string())
            }
        })?;
        Ok(())
    }

    pub(super) fn drop_trigger(&self, name: &str, table: &Name, if_exists: bool) -> Result<()> {
        let ctx = self.ctx;
        let table = self.require_table(table)?;
        if !table.triggers.iter().any(|t| t.name == name) {
            if if_exists {
                self.notice(format!(
                    "trigger \"{name}\" for relation \"{}\" does not exist, skipping",
                    table.name
                ));
                return Ok(());
            }
            return Err(errinput!(
                UNDEFINED_OBJECT,
                "trigger \"{name}\" for table \"{}\" does not exist",
                table.name
            ));
        }
        let table = self.lock_table(&table)?;
        ctx.catalog.drop_trigger(ctx.txn, table.id, name)
    }

    /// ALTER TABLE ... ENABLE / DISABLE TRIGGER name | ALL | USER
    pub(super) fn enable_trigger(&self, table: &Table, name: Option<&str>, on: bool) -> Result<()> {
        let ctx = self.ctx;
        let chosen: Vec<_> =
            table.triggers.iter().filter(|t| name.is_none_or(|n| t.name == n)).collect();
        if let Some(name) = name
            && chosen.is_empty()
        {
            return Err(errinput!(
                UNDEFINED_OBJECT,
                "trigger \"{name}\" for table \"{}\" does not exist",
                table.name
            ));
        }
        for trigger in chosen {
            ctx.catalog.set_trigger_enabled(ctx.txn, trigger, on)?;
        }
        Ok(())
    }
}
