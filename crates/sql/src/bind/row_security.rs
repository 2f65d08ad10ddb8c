//! Row-level security at bind time: a table with ENABLE ROW LEVEL SECURITY shows a role only
//! the rows its policies' USING expressions allow, and takes only new rows their WITH CHECK
//! expressions allow, as PostgreSQL decides (permissive policies ORed, restrictive ones
//! ANDed on top, no permissive policy: no rows). Superusers, and the table's owner unless
//! FORCE ROW LEVEL SECURITY, are not subject to it.

use std::sync::Arc;

use oxibase_common::{Result, Value};

use super::Binder;
use super::expr::ExprCtx;
use super::scope::Scope;
use crate::catalog::Table;
use crate::catalog::acl::ObjectKind;
use crate::catalog::policies::{FORCED, Policy};
use crate::plan::{Expr, Node, Plan};

/// What the policies make of a command on a table, bound over the table's row.
pub(super) struct RowSecurity {
    /// Which existing rows the command sees or changes.
    pub using: Expr,
    /// Which new rows it may write (INSERT, UPDATE).
    pub check: Expr,
}

fn any(exprs: Vec<Expr>) -> Expr {
    exprs
        .into_iter()
        .reduce(|a, b| Expr::Or(Box::new(a), Box::new(b)))
        .unwrap_or(Expr::Literal(Value::Bool(false)))
}

fn all(first: Expr, rest: Vec<Expr>) -> Expr {
    rest.into_iter().fold(first, |a, b| Expr::And(Box::new(a), Box::new(b)))
}

impl Binder<'_> {
    /// The policies that apply to the role a statement runs as (or a view's owner) for a
    /// command (`r`, `a`, `w`, `d`) on `table`; None when row security does not apply.
    fn applicable_policies(
        &self,
        table: &Table,
        command: char,
    ) -> Result<Option<Vec<Arc<Policy>>>> {
        if table.row_security & crate::catalog::policies::ENABLED == 0 {
            return Ok(None);
        }
        let graph = self.env.access()?;
        let role = match self.check_as.borrow().last() {
            Some(owner) => *owner,
            None => crate::privileges::current_role_id(self.env)?,
        };
        if graph.role_by_id(role).is_some_and(|r| r.superuser) {
            return Ok(None);
        }
        let owner = self.env.object_acl(ObjectKind::Table, table.id)?.owner;
        if table.row_security & FORCED == 0 && crate::privileges::owns(&graph, role, owner) {
            return Ok(None);
        }
        let roles = graph.privileged_roles(role);
        Ok(Some(
            table
                .policies
                .iter()
                .filter(|p| p.covers(command))
                .filter(|p| {
                    p.roles.is_empty() || p.roles.iter().any(|r| *r == 0 || roles.contains(r))
                })
                .cloned()
                .collect(),
        ))
    }

    /// Binds a policy's expression over `scope` (the table's row, as the statement names
    /// it).
    fn bind_policy_expr(&self, sql: &str, scope: &Scope) -> Result<Expr> {
        let parsed = super::parse_expr(sql)?;
        self.bind_condition(&parsed, &ExprCtx::plain(scope, "POLICY"))
    }

    /// Row security for a command on `table`, bound over `scope`.
    pub(super) fn row_security(
        &self,
        table: &Table,
        command: char,
        scope: &Scope,
    ) -> Result<Option<RowSecurity>> {
        let Some(policies) = self.applicable_policies(table, command)? else { return Ok(None) };
        let combine = |pick: &dyn Fn(&Policy) -> Option<&String>| -> Result<Expr> {
            let mut permissive = Vec::new();
            let mut restrictive = Vec::new();
            for p in &policies {
                let Some(sql) = pick(p) else { continue };
                let bound = self.bind_policy_expr(sql, scope)?;
                if p.permissive { permissive.push(bound) } else { restrictive.push(bound) }
            }
            Ok(all(any(permissive), restrictive))
        };
        Ok(Some(RowSecurity {
            using: combine(&|p| p.using.as_ref())?,
            // WITH CHECK, or USING where a policy has none, as PostgreSQL.
            check: combine(&|p| p.check.as_ref().or(p.using.as_ref()))?,
        }))
    }

    /// A scan of `table` limited to the rows the policies let a command see.
    pub(super) fn with_row_security(
        &self,
        plan: Plan,
        table: &Table,
        command: char,
    ) -> Result<Plan> {
        let scope = Scope::new(plan.columns.clone());
        let Some(rs) = self.row_security(table, command, &scope)? else { return Ok(plan) };
        let columns = plan.columns.clone();
        Ok(Plan::new(Node::Filter { input: Box::new(plan), predicate: rs.using }, columns))
    }

    /// The WITH CHECK a command's new rows must pass, bound over the table's row.
    pub(super) fn row_check(&self, table: &Arc<Table>, command: char) -> Result<Option<Expr>> {
        let plan = super::query::scan_plan(table.clone(), &table.name, None);
        let scope = Scope::new(plan.columns);
        Ok(self.row_security(table, command, &scope)?.map(|rs| rs.check))
    }
}

impl Binder<'_> {
    /// Checks that a policy's expression binds over `table`'s row (CREATE / ALTER POLICY).
    pub(crate) fn check_policy_expr(&self, table: &Arc<Table>, sql: &str) -> Result<()> {
        let plan = super::query::scan_plan(table.clone(), &table.name, None);
        self.bind_policy_expr(sql, &Scope::new(plan.columns)).map(|_| ())
    }
}
