//! Roles: CREATE / ALTER / DROP ROLE, membership (GRANT role TO role), REASSIGN OWNED and
//! DROP OWNED, with the checks PostgreSQL makes (see `catalog::acl`).

use oxibase_common::{Result, errinput};

use super::privileges::routine_as_target;
use super::{Ddl, Name, password_verifier};
use crate::bind::RoleSpec;
use crate::bind::grant::{MembershipSpec, OwnedSpec};
use crate::catalog::Role;
use crate::catalog::acl::{Acl, Membership, ObjectKind, RoleGraph};
use crate::catalog::system::BOOTSTRAP_ROLE_ID;
use crate::keys::RelId;

impl Ddl<'_, '_> {
    /// GRANT / REVOKE role membership.
    pub(super) fn membership(&self, spec: &MembershipSpec) -> Result<()> {
        let txn = self.ctx.txn;
        let graph = self.graph()?;
        let me = self.me(&graph)?;
        let grantor = self.granted_by(&graph, spec.granted_by.as_ref(), true)?.unwrap_or(me.id);
        let role_of = |name: &str| {
            graph
                .role(name)
                .ok_or_else(|| errinput!(UNDEFINED_OBJECT, "role \"{name}\" does not exist"))
        };
        for role_name in &spec.roles {
            let role = role_of(role_name)?;
            if !graph.can_admin(me.id, role.id) {
                return Err(errinput!(
                    INSUFFICIENT_PRIVILEGE,
                    "permission denied to {} role \"{}\"",
                    if spec.grant { "grant" } else { "revoke" },
                    role.name
                )
                .with_detail(format!(
                    "Only roles with the ADMIN option on role \"{}\" may {} this role.",
                    role.name,
                    if spec.grant { "grant" } else { "revoke" }
                )));
            }
            for member_name in &spec.members {
                let member = role_of(member_name)?;
                if spec.grant {
                    if graph.member_of(role.id).contains(&member.id) {
                        return Err(errinput!(
                            INVALID_GRANT_OPERATION,
                            "role \"{}\" is a member of role \"{}\"",
                            role.name,
                            member.name
                        ));
                    }
                    let existing = graph
                        .memberships()
                        .iter()
                        .find(|m| m.role == role.id && m.member == member.id);
                    if existing.is_some_and(|m| m.admin || !spec.admin) {
                        self.ctx.session.notice(format!(
                            "role \"{}\" has already been granted membership in role \"{}\" by role \"{}\"",
                            member.name,
                            role.name,
                            graph.name_of(existing.map_or(me.id, |m| m.grantor))
                        ));
                        continue;
                    }
                    let m =
                        Membership { role: role.id, member: member.id, grantor, admin: spec.admin };
                    self.catalog().put_membership(txn, &m)?;
                } else {
                    let existing = graph
                        .memberships()
                        .iter()
                        .find(|m| m.role == role.id && m.member == member.id);
                    match existing {
                        None => self.ctx.session.warning(
                            "01000",
                            format!(
                                "role \"{}\" has not been granted membership in role \"{}\" by role \"{}\"",
                                member.name, role.name, me.name
                            ),
                        ),
                        Some(m) if spec.admin => {
                            let m = Membership { admin: false, ..m.clone() };
                            self.catalog().put_membership(txn, &m)?;
                        }
                        Some(_) => {
                            self.catalog().delete_membership(txn, role.id, member.id)?;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// 42501 unless the current role may create roles (a superuser or CREATEROLE), and for
    /// a superuser role, is a superuser.
    fn require_role_admin(
        &self,
        graph: &RoleGraph,
        target_superuser: bool,
        what: &str,
    ) -> Result<()> {
        let me = self.me(graph)?;
        if me.superuser || (me.createrole && !target_superuser) {
            return Ok(());
        }
        let needed = if target_superuser { "superuser" } else { "CREATEROLE" };
        Err(errinput!(INSUFFICIENT_PRIVILEGE, "permission denied to {what}")
            .with_detail(format!("Only roles with the {needed} attribute may {what}.")))
    }

    /// CREATE ROLE.
    pub(super) fn create_roles(
        &self,
        names: &[String],
        if_not_exists: bool,
        options: &RoleSpec,
    ) -> Result<()> {
        let txn = self.ctx.txn;
        let graph = self.graph()?;
        let superuser = options.superuser.unwrap_or(false);
        self.require_role_admin(&graph, superuser, "create role")?;
        let me = self.me(&graph)?.id;
        for name in names {
            if if_not_exists && self.catalog().role(txn, name)?.is_some() {
                self.notice(format!("role \"{name}\" already exists, skipping"));
                continue;
            }
            if name == "public" || name == "none" || name.starts_with("pg_") {
                return Err(errinput!(RESERVED_NAME, "role name \"{name}\" is reserved"));
            }
            let role = Role {
                name: name.clone(),
                id: 0,
                superuser,
                login: options.login.unwrap_or(false),
                password: options.password.clone().flatten().map(|p| password_verifier(&p)),
                createrole: options.createrole.unwrap_or(false),
                inherit: options.inherit.unwrap_or(true),
            };
            let role = self.catalog().create_role(txn, role)?;
            let graph = self.graph()?;
            let role_id = |n: &str| {
                graph
                    .role(n)
                    .map(|r| r.id)
                    .ok_or_else(|| errinput!(UNDEFINED_OBJECT, "role \"{n}\" does not exist"))
            };
            for parent in &options.in_roles {
                let parent = role_id(parent)?;
                let m = Membership { role: parent, member: role.id, grantor: me, admin: false };
                self.catalog().put_membership(txn, &m)?;
            }
            for (member, admin) in options
                .members
                .iter()
                .map(|m| (m, false))
                .chain(options.admins.iter().map(|m| (m, true)))
            {
                let m = Membership { role: role.id, member: role_id(member)?, grantor: me, admin };
                self.catalog().put_membership(txn, &m)?;
            }
        }
        Ok(())
    }

    /// ALTER ROLE: a superuser changes anything; a CREATEROLE role, roles that are not
    /// superusers (and not the superuser attribute); any role its own password.
    pub(super) fn alter_role(
        &self,
        name: &str,
        options: &RoleSpec,
        rename: Option<&String>,
    ) -> Result<()> {
        let txn = self.ctx.txn;
        let graph = self.graph()?;
        let mut role = self
            .catalog()
            .role(txn, name)?
            .ok_or_else(|| errinput!(UNDEFINED_OBJECT, "role \"{name}\" does not exist"))?;
        let me = self.me(&graph)?;
        let only_password = rename.is_none()
            && options.login.is_none()
            && options.superuser.is_none()
            && options.createrole.is_none()
            && options.inherit.is_none();
        if !(only_password && me.id == role.id) {
            let what = if rename.is_some() { "rename role" } else { "alter role" };
            self.require_role_admin(
                &graph,
                role.superuser || options.superuser == Some(true),
                what,
            )?;
        }
        if let Some(new) = rename {
            if role.name == self.env.session_user() {
                return Err(errinput!(FEATURE_NOT_SUPPORTED, "session user cannot be renamed"));
            }
            if self.catalog().role(txn, new)?.is_some() {
                return Err(errinput!(DUPLICATE_OBJECT, "role \"{new}\" already exists"));
            }
            self.catalog().drop_role(txn, name)?;
            role.name = new.clone();
            role.password = None;
            self.notice("MD5 password cleared because of role rename".into());
            return self.catalog().update_role(txn, &role);
        }
        if let Some(l) = options.login {
            role.login = l;
        }
        if let Some(s) = options.superuser {
            role.superuser = s;
        }
        if let Some(c) = options.createrole {
            role.createrole = c;
        }
        if let Some(i) = options.inherit {
            role.inherit = i;
        }
        if let Some(p) = &options.password {
            role.password = p.as_deref().map(password_verifier);
        }
        self.catalog().update_role(txn, &role)
    }

    /// DROP ROLE: refused while the role owns objects or holds privileges (2BP01, each
    /// object in the detail, as PostgreSQL lists them); its memberships go with it.
    pub(super) fn drop_roles(&self, names: &[String], if_exists: bool) -> Result<()> {
        let txn = self.ctx.txn;
        for name in names {
            let graph = self.graph()?;
            if name == crate::catalog::system::BOOTSTRAP_ROLE {
                return Err(errinput!(
                    DEPENDENT_OBJECTS_STILL_EXIST,
                    "cannot drop role {name} because it is required by the database system"
                ));
            }
            let Some(role) = graph.role(name) else {
                if if_exists {
                    self.notice(format!("role \"{name}\" does not exist, skipping"));
                    continue;
                }
                return Err(errinput!(UNDEFINED_OBJECT, "role \"{name}\" does not exist"));
            };
            self.require_role_admin(&graph, role.superuser, "drop role")?;
            if *name == self.env.current_role() {
                return Err(errinput!(OBJECT_IN_USE, "current user cannot be dropped"));
            }
            if *name == self.env.session_user() {
                return Err(errinput!(OBJECT_IN_USE, "session user cannot be dropped"));
            }
            let dependents = self.dependents_of_role(&graph, role.id)?;
            if !dependents.is_empty() {
                return Err(errinput!(
                    DEPENDENT_OBJECTS_STILL_EXIST,
                    "role \"{name}\" cannot be dropped because some objects depend on it"
                )
                .with_detail(dependents.join("\n")));
            }
            for m in graph.memberships() {
                if m.role == role.id || m.member == role.id {
                    self.catalog().delete_membership(txn, m.role, m.member)?;
                }
            }
            self.catalog().drop_role(txn, name)?;
        }
        Ok(())
    }

    /// What keeps a role from being dropped, as PostgreSQL's detail lines say it ("owner
    /// of table t", "privileges for table u").
    fn dependents_of_role(&self, graph: &RoleGraph, role: RelId) -> Result<Vec<String>> {
        let txn = self.ctx.txn;
        let mut owned = Vec::new();
        let mut privileged = Vec::new();
        for (kind, id, acl) in self.catalog().object_acls(txn)? {
            if acl.owner != role && !acl.mentions(role) {
                continue;
            }
            let what = match kind {
                'n' => {
                    format!("schema {}", self.catalog().schema_by_id(txn, id)?.unwrap_or_default())
                }
                'f' => {
                    let routine = self.catalog().routines(txn)?.into_iter().find(|r| r.id == id);
                    match routine {
                        Some(r) => format!("{} {}", routine_as_target(&r).label, r.name),
                        None => continue,
                    }
                }
                'd' => "database".to_string(),
                _ => match self.catalog().relation_by_id(txn, id)? {
                    Some((name, kind)) => format!("{} {name}", kind.noun()),
                    None => continue,
                },
            };
            if acl.owner == role {
                owned.push(format!("owner of {what}"));
            }
            if acl.mentions(role) {
                privileged.push(format!("privileges for {what}"));
            }
        }
        for (table, policy) in self.catalog().all_policies(txn)? {
            if policy.roles.contains(&role) {
                let name = self.catalog().relation_by_id(txn, table)?.map(|(n, _)| n);
                owned.push(format!(
                    "target of policy {} on table {}",
                    policy.name,
                    name.unwrap_or_default()
                ));
            }
        }
        for d in graph.default_acls() {
            let mentioned = d.items.iter().any(|i| i.grantee == role || i.grantor == role);
            if d.role != role && !mentioned {
                continue;
            }
            let what = match d.objtype {
                'S' => "sequences",
                'f' => "functions",
                'n' => "schemas",
                _ => "relations",
            };
            let place = match d.schema {
                0 => String::new(),
                id => format!(
                    " in schema {}",
                    self.catalog().schema_by_id(txn, id)?.unwrap_or_default()
                ),
            };
            let word = if d.role == role { "owner of" } else { "privileges for" };
            owned.push(format!(
                "{word} default privileges on new {what} belonging to role {}{place}",
                graph.name_of(d.role)
            ));
        }
        owned.extend(privileged);
        Ok(owned)
    }

    /// The objects the roles own: (`sys_acl` kind, id, ACL). Objects without a row of their
    /// own belong to the bootstrap superuser.
    fn owned_objects(&self, roles: &[RelId]) -> Result<Vec<(char, RelId, Acl)>> {
        let txn = self.ctx.txn;
        let rows = self.catalog().object_acls(txn)?;
        let mut out: Vec<(char, RelId, Acl)> =
            rows.iter().filter(|(_, _, acl)| roles.contains(&acl.owner)).cloned().collect();
        if roles.contains(&BOOTSTRAP_ROLE_ID) {
            let has_row =
                |kind: char, id: RelId| rows.iter().any(|(k, i, _)| *k == kind && *i == id);
            let user = |id: RelId| id >= crate::keys::FIRST_USER_ID;
            let bootstrap = || Acl::owned_by(BOOTSTRAP_ROLE_ID);
            let relations = self
                .catalog()
                .tables(txn)?
                .iter()
                .map(|t| t.id)
                .chain(self.catalog().views(txn)?.iter().map(|v| v.2))
                .chain(self.catalog().sequences(txn)?.iter().map(|s| s.id))
                .filter(|id| user(*id) && !has_row('r', *id))
                .collect::<Vec<_>>();
            out.extend(relations.into_iter().map(|id| ('r', id, bootstrap())));
            for (id, _) in self.catalog().schemas(txn)? {
                if user(id) && !has_row('n', id) {
                    out.push(('n', id, bootstrap()));
                }
            }
            for r in self.catalog().routines(txn)? {
                if !has_row('f', r.id) {
                    out.push(('f', r.id, bootstrap()));
                }
            }
        }
        Ok(out)
    }

    /// REASSIGN OWNED BY roles TO role / DROP OWNED BY roles: for a role with the privileges
    /// of each (42501 otherwise), as PostgreSQL requires.
    pub(super) fn owned(&self, spec: &OwnedSpec) -> Result<String> {
        let txn = self.ctx.txn;
        let graph = self.graph()?;
        let me = self.me(&graph)?;
        let mine = graph.privileged_roles(me.id);
        let role_of = |name: &str| {
            graph
                .role(name)
                .map(|r| r.id)
                .ok_or_else(|| errinput!(UNDEFINED_OBJECT, "role \"{name}\" does not exist"))
        };
        let (names, what) = match spec {
            OwnedSpec::Reassign { roles, .. } => (roles, "reassign"),
            OwnedSpec::Drop { roles, .. } => (roles, "drop"),
        };
        let ids = names.iter().map(|n| role_of(n)).collect::<Result<Vec<_>>>()?;
        for (name, id) in names.iter().zip(&ids) {
            if !me.superuser && !mine.contains(id) {
                return Err(errinput!(
                    INSUFFICIENT_PRIVILEGE,
                    "permission denied to {what} objects"
                )
                .with_detail(format!(
                    "Only roles with privileges of role \"{name}\" may {what} objects owned by it."
                )));
            }
        }
        match spec {
            OwnedSpec::Reassign { to, .. } => {
                let new = role_of(to)?;
                if !me.superuser && !mine.contains(&new) {
                    return Err(errinput!(
                        INSUFFICIENT_PRIVILEGE,
                        "permission denied to reassign objects"
                    )
                    .with_detail(format!(
                        "Only roles with privileges of role \"{to}\" may reassign objects to it."
                    )));
                }
                for (kind, id, mut acl) in self.owned_objects(&ids)? {
                    let kind = match kind {
                        'n' => ObjectKind::Schema,
                        'f' => ObjectKind::Routine,
                        'd' => ObjectKind::Database,
                        _ => ObjectKind::Table,
                    };
                    acl.change_owner(new);
                    self.catalog().set_object_acl(txn, kind, id, &acl)?;
                }
                Ok("REASSIGN OWNED".into())
            }
            OwnedSpec::Drop { cascade, .. } => {
                self.drop_owned(&ids, *cascade)?;
                Ok("DROP OWNED".into())
            }
        }
    }

    /// DROP OWNED: the privileges granted to the roles and their default privileges go,
    /// then the objects they own (views, tables, sequences, routines, schemas).
    fn drop_owned(&self, roles: &[RelId], cascade: bool) -> Result<()> {
        let txn = self.ctx.txn;
        for (kind, id, mut acl) in self.catalog().object_acls(txn)? {
            let Some(items) = &mut acl.items else { continue };
            let before = items.len();
            items.retain(|i| !roles.contains(&i.grantee));
            if items.len() != before {
                let kind = match kind {
                    'n' => ObjectKind::Schema,
                    'f' => ObjectKind::Routine,
                    'd' => ObjectKind::Database,
                    _ => ObjectKind::Table,
                };
                self.catalog().set_object_acl(txn, kind, id, &acl)?;
            }
        }
        for d in self.catalog().default_acls(txn)? {
            if roles.contains(&d.role) {
                self.catalog().set_default_acl(txn, d.role, d.schema, d.objtype, None)?;
            }
        }
        let owned = self.owned_objects(roles)?;
        let has = |kind: char, id: RelId| owned.iter().any(|(k, i, _)| *k == kind && *i == id);
        let name = |schema: &str, name: &str| (Some(schema.to_string()), name.to_string());
        let views: Vec<Name> = self
            .catalog()
            .views(txn)?
            .into_iter()
            .filter(|v| has('r', v.2))
            .map(|v| name(&v.0, &v.1))
            .collect();
        self.drop_views(&views, true, cascade)?;
        let tables = self.catalog().tables(txn)?;
        let owned_tables = |materialized: bool| -> Vec<Name> {
            tables
                .iter()
                .filter(|t| has('r', t.id) && t.materialized.is_some() == materialized)
                .map(|t| name(&t.schema, &t.name))
                .collect()
        };
        self.drop_tables(&owned_tables(true), true, cascade, Some(true))?;
        self.drop_tables(&owned_tables(false), true, cascade, Some(false))?;
        txn.next_command()?;
        for seq in self.catalog().sequences(txn)? {
            if has('r', seq.id) {
                self.catalog().drop_sequence(txn, &seq.schema, &seq.name)?;
            }
        }
        for kind in
            [crate::procedure::RoutineKind::Function, crate::procedure::RoutineKind::Procedure]
        {
            let routines: Vec<Name> = self
                .catalog()
                .routines(txn)?
                .into_iter()
                .filter(|r| r.kind == kind && has('f', r.id))
                .map(|r| name(&r.schema, &r.name))
                .collect();
            crate::exec::routine::drop_routines(
                kind, &routines, true, cascade, self.ctx, self.env,
            )?;
        }
        let schemas: Vec<String> = self
            .catalog()
            .schemas(txn)?
            .into_iter()
            .filter(|(id, _)| has('n', *id))
            .map(|(_, n)| n)
            .collect();
        self.drop_schemas(&schemas, true, cascade)
    }
}
