//! Binding CREATE / ALTER DOMAIN, and the domains column definitions name.
//!
//! A domain binds to its base type everywhere a type is named; casts to it and columns of
//! it also carry the domain, whose constraints are checked on the value (see
//! `Expr::Domain` and `exec::storage::check_domain`).

use std::ops::ControlFlow;
use std::sync::Arc;

use oxibase_common::{DataType, Result, errinput};
use sqlparser::ast;

use super::ddl::{AlterAction, DdlStatement, check_collation};
use super::expr::ExprCtx;
use super::scope::Scope;
use super::{Binder, ident, split_name};
use crate::catalog::Domain;
use crate::parse::null_constraint;

/// A domain to create.
#[derive(Debug)]
pub struct DomainSpec {
    /// (schema, name)
    pub name: (Option<String>, String),
    /// The domain it is declared over, if it is declared over one.
    pub parent: Option<Arc<Domain>>,
    /// The base type.
    pub base: DataType,
    /// NOT NULL
    pub not_null: bool,
    /// DEFAULT, as SQL text.
    pub default: Option<String>,
    /// CHECKs: (name if given, expression over VALUE as SQL text).
    pub checks: Vec<(Option<String>, String)>,
}

/// One ALTER DOMAIN action.
#[derive(Debug)]
pub enum AlterDomainAction {
    /// SET DEFAULT expr (Some) / DROP DEFAULT (None).
    SetDefault(Option<String>),
    /// SET NOT NULL (true) / DROP NOT NULL (false).
    SetNotNull(bool),
    /// ADD [CONSTRAINT name] CHECK (expr) [NOT VALID]
    AddCheck {
        /// The name, if given.
        name: Option<String>,
        /// The expression over VALUE.
        expr: String,
        /// NOT VALID: stored values are not checked.
        not_valid: bool,
    },
    /// DROP CONSTRAINT [IF EXISTS] name
    DropConstraint {
        /// The constraint.
        name: String,
        /// IF EXISTS
        if_exists: bool,
    },
    /// RENAME CONSTRAINT old TO new
    RenameConstraint {
        /// Its name now.
        old: String,
        /// Its new name.
        new: String,
    },
    /// RENAME TO name
    Rename(String),
    /// VALIDATE CONSTRAINT name
    Validate(String),
}

/// A CHECK expression as stored: `value` written in any case is the keyword `VALUE`.
fn check_text(expr: &ast::Expr) -> String {
    let mut expr = expr.clone();
    let _ = ast::visit_expressions_mut(&mut expr, |e| {
        if let ast::Expr::Identifier(id) = e
            && id.quote_style.is_none()
            && id.value.eq_ignore_ascii_case("value")
        {
            id.value = "VALUE".into();
        }
        ControlFlow::<()>::Continue(())
    });
    expr.to_string()
}

impl Binder<'_> {
    pub(super) fn bind_create_domain(&self, d: &ast::CreateDomain) -> Result<DdlStatement> {
        let name = split_name(&d.name)?;
        if super::ddl::is_serial(&d.data_type) {
            return Err(errinput!(
                UNDEFINED_OBJECT,
                "type \"{}\" does not exist",
                d.data_type.to_string().to_lowercase()
            ));
        }
        let base = self.data_type(&d.data_type)?;
        if matches!(base, DataType::Record(_)) {
            return Err(errinput!(
                FEATURE_NOT_SUPPORTED,
                "domains over row types are not supported"
            ));
        }
        let parent = self.domain_of(&d.data_type)?;
        if let Some(c) = &d.collation {
            check_collation(&ident(c))?;
        }
        let default = d.default.as_ref().map(|e| self.domain_default(e, &base)).transpose()?;
        let mut nullness: Option<bool> = None;
        let mut checks = Vec::new();
        for c in &d.constraints {
            if let Some(not_null) = null_constraint(c) {
                if nullness.is_some_and(|n| n != not_null) {
                    return Err(errinput!(SYNTAX_ERROR, "conflicting NULL/NOT NULL constraints"));
                }
                nullness = Some(not_null);
                continue;
            }
            let ast::TableConstraint::Check(check) = c else {
                return Err(errinput!(
                    FEATURE_NOT_SUPPORTED,
                    "domains take only CHECK constraints"
                ));
            };
            checks.push((
                check.name.as_ref().map(ident),
                self.domain_check(&name.1, &base, &check.expr)?,
            ));
        }
        Ok(DdlStatement::CreateDomain(Box::new(DomainSpec {
            name,
            parent,
            base,
            not_null: nullness == Some(true),
            default,
            checks,
        })))
    }

    pub(super) fn bind_alter_domain(&self, alter: &ast::AlterTable) -> Result<DdlStatement> {
        use ast::AlterTableOperation as Op;
        let name = split_name(&alter.name)?;
        let domain = || {
            self.env
                .domain(name.0.as_deref(), &name.1)?
                .ok_or_else(|| errinput!(UNDEFINED_OBJECT, "type \"{}\" does not exist", name.1))
        };
        let [op] = alter.operations.as_slice() else {
            return Err(errinput!(SYNTAX_ERROR, "ALTER DOMAIN takes one action"));
        };
        let action = match op {
            Op::AlterColumn { op, .. } => match op {
                ast::AlterColumnOperation::SetDefault { value } => AlterDomainAction::SetDefault(
                    Some(self.domain_default(value, &domain()?.base)?),
                ),
                ast::AlterColumnOperation::DropDefault => AlterDomainAction::SetDefault(None),
                ast::AlterColumnOperation::SetNotNull => AlterDomainAction::SetNotNull(true),
                ast::AlterColumnOperation::DropNotNull => AlterDomainAction::SetNotNull(false),
                other => {
                    return Err(errinput!(
                        FEATURE_NOT_SUPPORTED,
                        "ALTER DOMAIN {other} is not supported"
                    ));
                }
            },
            Op::AddConstraint { constraint, not_valid } => {
                if null_constraint(constraint).is_some() {
                    return Err(errinput!(
                        SYNTAX_ERROR,
                        "use ALTER DOMAIN .. [ SET | DROP ] NOT NULL instead"
                    ));
                }
                let ast::TableConstraint::Check(check) = constraint else {
                    return Err(errinput!(
                        FEATURE_NOT_SUPPORTED,
                        "domains take only CHECK constraints"
                    ));
                };
                let domain = domain()?;
                AlterDomainAction::AddCheck {
                    name: check.name.as_ref().map(ident),
                    expr: self.domain_check(&domain.name, &domain.base, &check.expr)?,
                    not_valid: *not_valid,
                }
            }
            Op::DropConstraint { if_exists, name, .. } => {
                AlterDomainAction::DropConstraint { name: ident(name), if_exists: *if_exists }
            }
            Op::RenameConstraint { old_name, new_name } => {
                AlterDomainAction::RenameConstraint { old: ident(old_name), new: ident(new_name) }
            }
            Op::RenameTable { table_name: ast::RenameTableNameKind::To(new) } => {
                AlterDomainAction::Rename(split_name(new)?.1)
            }
            Op::ValidateConstraint { name } => AlterDomainAction::Validate(ident(name)),
            other => {
                return Err(errinput!(
                    FEATURE_NOT_SUPPORTED,
                    "ALTER DOMAIN {other} is not supported"
                ));
            }
        };
        Ok(DdlStatement::AlterDomain { name, action })
    }

    /// A domain's CHECK, bound over VALUE to see it is a boolean over VALUE only.
    fn domain_check(&self, domain: &str, base: &DataType, expr: &ast::Expr) -> Result<String> {
        let subquery = ast::visit_expressions(expr, |e| match e {
            ast::Expr::Subquery(_)
            | ast::Expr::Exists { .. }
            | ast::Expr::In { target: ast::InTarget::Subquery(_), .. } => ControlFlow::Break(()),
            _ => ControlFlow::Continue(()),
        });
        if subquery.is_break() {
            return Err(errinput!(
                FEATURE_NOT_SUPPORTED,
                "cannot use subquery in check constraint"
            ));
        }
        let text = check_text(expr);
        let (_, data_type) = super::bind_domain_check(domain, base, &text)?;
        if data_type != DataType::Bool {
            return Err(errinput!(
                DATATYPE_MISMATCH,
                "argument of CHECK must be type boolean, not type {}",
                data_type.name()
            ));
        }
        Ok(text)
    }

    /// A domain's DEFAULT, bound to see it converts to the base type.
    fn domain_default(&self, expr: &ast::Expr, base: &DataType) -> Result<String> {
        let empty = Scope::default();
        let (x, t) = self.bind_expr(expr, &ExprCtx::plain(&empty, "DEFAULT"))?;
        self.coerce(x, &t, base).map_err(|_| {
            errinput!(
                DATATYPE_MISMATCH,
                "column \"value\" is of type {} but default expression is of type {}",
                base.name(),
                t.resolve().name()
            )
            .with_hint("You will need to rewrite or cast the expression.")
        })?;
        Ok(expr.to_string())
    }

    /// Fills in the domain an ALTER TABLE's ADD COLUMN or ALTER COLUMN TYPE names.
    pub(super) fn resolve_column_domain(
        &self,
        op: &ast::AlterTableOperation,
        action: &mut AlterAction,
    ) -> Result<()> {
        let t = match op {
            ast::AlterTableOperation::AddColumn { column_def, .. } => &column_def.data_type,
            ast::AlterTableOperation::AlterColumn {
                op: ast::AlterColumnOperation::SetDataType { data_type, .. },
                ..
            } => data_type,
            _ => return Ok(()),
        };
        self.refuse_domain_array(t)?;
        let found = self.domain_of(t)?;
        match action {
            AlterAction::AddColumn { column, .. } => column.domain = found,
            AlterAction::SetType { domain, .. } => *domain = found,
            _ => {}
        }
        Ok(())
    }
}
