//! CREATE TRIGGER, DROP TRIGGER: what they name, checked against the catalog when they run
//! (see `exec::ddl::triggers`).

use oxibase_common::{Result, errinput};
use sqlparser::ast;

use super::ddl::DdlStatement;
use super::{Binder, ident, split_name};
use crate::catalog::triggers::{BEFORE, DELETE, INSERT, INSTEAD, ROW, TRUNCATE, UPDATE};

/// CREATE TRIGGER
#[derive(Clone, Debug, PartialEq)]
pub struct TriggerSpec {
    /// Its name.
    pub name: String,
    /// The table: (schema, name).
    pub table: (Option<String>, String),
    /// OR REPLACE
    pub or_replace: bool,
    /// PostgreSQL's `tgtype` bits.
    pub tgtype: i16,
    /// The function: (schema, name).
    pub function: (Option<String>, String),
    /// Its arguments, as text.
    pub args: Vec<String>,
    /// WHEN (condition), as SQL.
    pub when: Option<String>,
    /// UPDATE OF columns.
    pub columns: Vec<String>,
}

impl Binder<'_> {
    pub(super) fn bind_create_trigger(&self, ct: &ast::CreateTrigger) -> Result<DdlStatement> {
        let unsupported =
            |what: &str| Err(errinput!(FEATURE_NOT_SUPPORTED, "{what} are not supported"));
        if ct.is_constraint {
            return unsupported("constraint triggers");
        }
        if !ct.referencing.is_empty() {
            return unsupported("transition tables (REFERENCING)");
        }
        let mut tgtype = match ct.period {
            Some(ast::TriggerPeriod::Before) => BEFORE,
            Some(ast::TriggerPeriod::After) => 0,
            Some(ast::TriggerPeriod::InsteadOf) => INSTEAD,
            _ => {
                return Err(errinput!(SYNTAX_ERROR, "a trigger fires BEFORE, AFTER or INSTEAD OF"));
            }
        };
        let row = matches!(
            ct.trigger_object,
            Some(ast::TriggerObjectKind::ForEach(ast::TriggerObject::Row))
                | Some(ast::TriggerObjectKind::For(ast::TriggerObject::Row))
        );
        if row {
            tgtype |= ROW;
        }
        let mut columns = Vec::new();
        for event in &ct.events {
            tgtype |= match event {
                ast::TriggerEvent::Insert => INSERT,
                ast::TriggerEvent::Delete => DELETE,
                ast::TriggerEvent::Truncate => TRUNCATE,
                ast::TriggerEvent::Update(cols) => {
                    columns.extend(cols.iter().map(ident));
                    UPDATE
                }
            };
        }
        let Some(body) = &ct.exec_body else {
            return Err(errinput!(SYNTAX_ERROR, "a trigger needs EXECUTE FUNCTION name()"));
        };
        let args = body
            .func_desc
            .args
            .iter()
            .flatten()
            .map(|a| match &a.default_expr {
                Some(ast::Expr::Value(v)) => match &v.value {
                    ast::Value::SingleQuotedString(s) => s.clone(),
                    other => other.to_string(),
                },
                _ => a.data_type.to_string(),
            })
            .collect();
        let name = split_name(&ct.name)?;
        if name.0.is_some() {
            return Err(errinput!(
                SYNTAX_ERROR,
                "a trigger's name cannot be qualified: it takes its table's schema"
            ));
        }
        Ok(DdlStatement::CreateTrigger(Box::new(TriggerSpec {
            name: name.1,
            table: split_name(&ct.table_name)?,
            or_replace: ct.or_replace,
            tgtype,
            function: split_name(&body.func_desc.name)?,
            args,
            when: ct.condition.as_ref().map(|c| c.to_string()),
            columns,
        })))
    }

    pub(super) fn bind_drop_trigger(&self, dt: &ast::DropTrigger) -> Result<DdlStatement> {
        let Some(table) = &dt.table_name else {
            return Err(errinput!(SYNTAX_ERROR, "DROP TRIGGER needs ON table"));
        };
        Ok(DdlStatement::DropTrigger {
            name: split_name(&dt.trigger_name)?.1,
            table: split_name(table)?,
            if_exists: dt.if_exists,
        })
    }
}
