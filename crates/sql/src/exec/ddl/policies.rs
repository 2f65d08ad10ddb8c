//! CREATE, ALTER and DROP POLICY (row-level security; see `catalog::policies` and
//! `bind::row_security`).

use std::sync::Arc;

use oxibase_common::{Result, errinput};

use super::{Ddl, Name, display};
use crate::bind::grant::PolicySpec;
use crate::catalog::policies::Policy;
use crate::catalog::{RelKind, Table};
use crate::keys::RelId;

impl Ddl<'_, '_> {
    /// The table a policy statement names: its owner's (42501 otherwise).
    fn policy_table(&self, name: &Name) -> Result<Option<Table>> {
        let Some((_, id)) = self.find(name, RelKind::Table)? else { return Ok(None) };
        self.table(id).map(Some)
    }

    /// TO's roles as ids (PUBLIC is 0).
    fn policy_roles(&self, names: &[String]) -> Result<Vec<RelId>> {
        let graph = self.env.access()?;
        names
            .iter()
            .map(|name| match name.as_str() {
                "public" => Ok(0),
                "current_user" => crate::privileges::current_role_id(self.env),
                "session_user" => {
                    let user = self.env.session_user();
                    graph.role(&user).map(|r| r.id).ok_or_else(|| {
                        errinput!(UNDEFINED_OBJECT, "role \"{user}\" does not exist")
                    })
                }
                other => graph
                    .role(other)
                    .map(|r| r.id)
                    .ok_or_else(|| errinput!(UNDEFINED_OBJECT, "role \"{other}\" does not exist")),
            })
            .collect()
    }

    fn check_policy_exprs(&self, table: &Table, policy: &Policy) -> Result<()> {
        let table = Arc::new(table.clone());
        let binder = crate::bind::Binder::new(self.env, vec![]);
        for sql in policy.using.iter().chain(&policy.check) {
            binder.check_policy_expr(&table, sql)?;
        }
        Ok(())
    }

    /// CREATE / ALTER / DROP POLICY; returns the command tag.
    pub(super) fn policy(&self, spec: &PolicySpec) -> Result<String> {
        let txn = self.ctx.txn;
        let missing_table = |name: &Name| {
            errinput!(UNDEFINED_TABLE, "relation \"{}\" does not exist", display(name))
        };
        let missing_policy = |policy: &str, table: &str| {
            errinput!(UNDEFINED_OBJECT, "policy \"{policy}\" for table \"{table}\" does not exist")
        };
        match spec {
            PolicySpec::Create { name, table, permissive, command, roles, using, check } => {
                let t = self.policy_table(table)?.ok_or_else(|| missing_table(table))?;
                if t.policies.iter().any(|p| p.name == *name) {
                    return Err(errinput!(
                        DUPLICATE_OBJECT,
                        "policy \"{name}\" for table \"{}\" already exists",
                        t.name
                    ));
                }
                let mut policy = Policy {
                    name: name.clone(),
                    id: 0,
                    command: *command,
                    permissive: *permissive,
                    roles: self.policy_roles(roles)?,
                    using: using.clone(),
                    check: check.clone(),
                };
                self.check_policy_exprs(&t, &policy)?;
                self.catalog().lock_relation_exclusive(txn, t.id)?;
                self.catalog().put_policy(txn, t.id, &mut policy)?;
                Ok("CREATE POLICY".into())
            }
            PolicySpec::Alter { name, table, rename, roles, using, check } => {
                let t = self.policy_table(table)?.ok_or_else(|| missing_table(table))?;
                let Some(old) = t.policies.iter().find(|p| p.name == *name) else {
                    return Err(missing_policy(name, &t.name));
                };
                let mut policy = Policy::clone(old);
                if let Some(new) = rename {
                    if t.policies.iter().any(|p| p.name == *new) {
                        return Err(errinput!(
                            DUPLICATE_OBJECT,
                            "policy \"{new}\" for table \"{}\" already exists",
                            t.name
                        ));
                    }
                    policy.name = new.clone();
                }
                if let Some(roles) = roles {
                    policy.roles = self.policy_roles(roles)?;
                }
                if using.is_some() {
                    if policy.command == 'a' {
                        return Err(errinput!(
                            SYNTAX_ERROR,
                            "only WITH CHECK expression allowed for INSERT"
                        ));
                    }
                    policy.using = using.clone();
                }
                if check.is_some() {
                    if matches!(policy.command, 'r' | 'd') {
                        return Err(errinput!(
                            SYNTAX_ERROR,
                            "only USING expression allowed for SELECT, DELETE"
                        ));
                    }
                    policy.check = check.clone();
                }
                self.check_policy_exprs(&t, &policy)?;
                self.catalog().lock_relation_exclusive(txn, t.id)?;
                self.catalog().drop_policy(txn, t.id, name)?;
                self.catalog().put_policy(txn, t.id, &mut policy)?;
                Ok("ALTER POLICY".into())
            }
            PolicySpec::Drop { name, table, if_exists } => {
                let t = self.policy_table(table)?.ok_or_else(|| missing_table(table))?;
                self.catalog().lock_relation_exclusive(txn, t.id)?;
                if !self.catalog().drop_policy(txn, t.id, name)? {
                    if *if_exists {
                        self.notice(format!(
                            "policy \"{name}\" for relation \"{}\" does not exist, skipping",
                            t.name
                        ));
                    } else {
                        return Err(missing_policy(name, &t.name));
                    }
                }
                Ok("DROP POLICY".into())
            }
        }
    }
}
