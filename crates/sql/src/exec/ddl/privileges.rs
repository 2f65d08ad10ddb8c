//! GRANT, REVOKE, ALTER ... OWNER TO, and CREATE / ALTER / DROP ROLE, with the checks
//! PostgreSQL makes (see `catalog::acl` for how owners and ACLs are kept).

use oxibase_common::{Result, errinput};

use super::{Ddl, Name, display, password_verifier};
use crate::bind::grant::{
    DefaultPrivilegesSpec, GrantTarget, MembershipSpec, OwnedSpec, PrivilegeSpec,
};
use crate::bind::{Relation, RoleSpec};
use crate::catalog::acl::{
    Acl, Membership, ObjectKind, PUBLIC_ROLE, Privileges, RoleGraph, privilege_named, privileges_of,
};
use crate::catalog::system::{BOOTSTRAP_ROLE_ID, INFORMATION_SCHEMA, PG_CATALOG};
use crate::catalog::{RelKind, Role};
use crate::keys::RelId;
use crate::privileges::{AclObject, owns};

/// An object a GRANT, REVOKE or OWNER TO names, resolved.
struct Target {
    kind: ObjectKind,
    id: RelId,
    label: &'static str,
    name: String,
}

impl Ddl<'_, '_> {
    /// The roles, memberships and ACLs as this transaction sees them now.
    fn graph(&self) -> Result<RoleGraph> {
        RoleGraph::load(self.catalog(), self.ctx.txn)
    }

    /// The current role.
    fn me<'g>(&self, graph: &'g RoleGraph) -> Result<&'g Role> {
        let name = self.env.current_role();
        graph
            .role(&name)
            .ok_or_else(|| errinput!(UNDEFINED_OBJECT, "role \"{name}\" does not exist"))
    }

    /// Records the current role as the owner of an object it just created in `schema`,
    /// with the ACL ALTER DEFAULT PRIVILEGES gives it.
    pub(super) fn record_owner(
        &self,
        kind: ObjectKind,
        id: RelId,
        schema: Option<&str>,
    ) -> Result<()> {
        let schema_id = match schema {
            Some(s) => self.catalog().schema_id(self.ctx.txn, s)?,
            None => None,
        };
        record_new_object(self.ctx, self.env, kind, id, schema_id)
    }

    /// Records the current role as the owner of a type it just created (no default
    /// privileges: types' USAGE is everyone's).
    pub(super) fn record_type_owner(&self, id: RelId) -> Result<()> {
        let me = crate::privileges::current_role_id(self.env)?;
        if me == BOOTSTRAP_ROLE_ID {
            return Ok(());
        }
        self.catalog().set_object_acl(self.ctx.txn, ObjectKind::Table, id, &Acl::owned_by(me))
    }

    /// ALTER DEFAULT PRIVILEGES: FOR ROLE needs membership in the role; an entry without IN
    /// SCHEMA is the whole starting ACL (the owner's entry can be revoked from it), one in a
    /// schema adds to it.
    pub(super) fn default_privileges(&self, spec: &DefaultPrivilegesSpec) -> Result<()> {
        let txn = self.ctx.txn;
        let graph = self.graph()?;
        let me = self.me(&graph)?;
        let role_of = |name: &str| {
            graph
                .role(name)
                .ok_or_else(|| errinput!(UNDEFINED_OBJECT, "role \"{name}\" does not exist"))
        };
        let roles = match spec.roles.is_empty() {
            true => vec![me],
            false => spec.roles.iter().map(|r| role_of(r)).collect::<Result<Vec<_>>>()?,
        };
        for role in &roles {
            if !me.superuser && !graph.member_of(me.id).contains(&role.id) {
                return Err(errinput!(
                    INSUFFICIENT_PRIVILEGE,
                    "permission denied to change default privileges"
                ));
            }
        }
        let schemas = spec
            .schemas
            .iter()
            .map(|s| Ok(self.schema_target(s)?.id))
            .collect::<Result<Vec<_>>>()?;
        let wanted = match &spec.privileges {
            None => spec.kind.all(),
            Some(names) => privileges_of(names, spec.kind)?,
        };
        let grantees = spec
            .grantees
            .iter()
            .map(|g| g.as_deref().map_or(Ok(PUBLIC_ROLE), |n| role_of(n).map(|r| r.id)))
            .collect::<Result<Vec<_>>>()?;
        let objtype = spec.kind.default_acl_type();
        let existing = self.catalog().default_acls(txn)?;
        for role in roles {
            let places: Vec<RelId> = if schemas.is_empty() { vec![0] } else { schemas.clone() };
            for schema in places {
                let stored = existing
                    .iter()
                    .find(|d| d.role == role.id && d.schema == schema && d.objtype == objtype);
                // Everywhere: the starting ACL (the kind's defaults until changed). In a
                // schema: only what was granted there.
                let default = Acl::owned_by(role.id);
                let mut acl = Acl {
                    owner: role.id,
                    items: Some(match stored {
                        Some(d) => d.items.clone(),
                        None if schema == 0 => default.entries(spec.kind, 0),
                        None => Vec::new(),
                    }),
                };
                for &grantee in &grantees {
                    if spec.grant {
                        let options = if spec.grant_option { wanted } else { 0 };
                        acl.grant(spec.kind, 0, grantee, role.id, wanted, options);
                    } else {
                        acl.revoke(spec.kind, 0, grantee, role.id, wanted, spec.grant_option);
                    }
                }
                // Kept sorted, as PostgreSQL keeps default ACLs.
                let mut items = acl.items.unwrap_or_default();
                items.sort_by_key(|i| (i.grantee, i.grantor, i.privileges));
                let mut default_items = default.entries(spec.kind, 0);
                default_items.sort_by_key(|i| (i.grantee, i.grantor, i.privileges));
                let unchanged = if schema == 0 { items == default_items } else { items.is_empty() };
                let items = (!unchanged).then_some(items.as_slice());
                self.catalog().set_default_acl(txn, role.id, schema, objtype, items)?;
            }
        }
        Ok(())
    }

    /// 42501 unless the current role owns the object (or is a superuser).
    pub(super) fn require_owner(&self, object: &AclObject) -> Result<()> {
        crate::privileges::check_owner(self.env, object)
    }

    /// 42501 unless the current role may create objects in the schema.
    pub(super) fn require_create_in(&self, schema: &str) -> Result<()> {
        let Some(id) = self.catalog().schema_id(self.ctx.txn, schema)? else { return Ok(()) };
        let object = AclObject::schema(id, schema);
        crate::privileges::check(self.env, &object, crate::catalog::acl::CREATE, false, None)
    }

    /// 42501 unless the current role owns the relation (an index: its table).
    pub(super) fn require_relation_owner(
        &self,
        id: RelId,
        kind: RelKind,
        name: &str,
    ) -> Result<()> {
        let object_kind =
            if kind == RelKind::Sequence { ObjectKind::Sequence } else { ObjectKind::Table };
        self.require_owner(&AclObject { kind: object_kind, id, label: kind.noun(), name })
    }

    fn relation_target(&self, name: &Name) -> Result<Target> {
        let relation = self.env.relation(name.0.as_deref(), &name.1)?;
        Ok(match relation {
            Some(Relation::Table(t)) => Target {
                kind: ObjectKind::Table,
                id: t.id,
                label: if t.materialized.is_some() { "materialized view" } else { "table" },
                name: t.name.clone(),
            },
            Some(Relation::View { id, name, .. }) => {
                Target { kind: ObjectKind::Table, id, label: "view", name }
            }
            Some(Relation::Sequence(s)) => {
                Target { kind: ObjectKind::Sequence, id: s.id, label: "sequence", name: s.name }
            }
            Some(Relation::System(_)) => {
                return Err(errinput!(
                    FEATURE_NOT_SUPPORTED,
                    "the privileges of system catalog \"{}\" cannot be changed",
                    name.1
                ));
            }
            None => {
                return Err(errinput!(
                    UNDEFINED_TABLE,
                    "relation \"{}\" does not exist",
                    display(name)
                ));
            }
        })
    }

    fn schema_target(&self, name: &str) -> Result<Target> {
        let id = self
            .catalog()
            .schema_id(self.ctx.txn, name)?
            .ok_or_else(|| errinput!(INVALID_SCHEMA_NAME, "schema \"{name}\" does not exist"))?;
        Ok(Target { kind: ObjectKind::Schema, id, label: "schema", name: name.to_string() })
    }

    fn routine_target(&self, name: &Name) -> Result<Target> {
        let routine = self.env.routine(name.0.as_deref(), &name.1)?.ok_or_else(|| {
            errinput!(UNDEFINED_FUNCTION, "function {} does not exist", display(name))
        })?;
        Ok(routine_as_target(&routine))
    }

    /// A user-defined type (enum or domain) by possibly qualified name.
    fn find_type_id(&self, name: &Name) -> Result<Option<RelId>> {
        let schemas = match &name.0 {
            Some(s) => vec![s.clone()],
            None => self.env.search_path(),
        };
        for schema in schemas {
            if let Some((id, kind)) = self.catalog().relation(self.ctx.txn, &schema, &name.1)?
                && matches!(kind, RelKind::Type | RelKind::Domain)
            {
                return Ok(Some(id));
            }
        }
        Ok(None)
    }

    /// The objects a GRANT or REVOKE names.
    fn grant_targets(&self, target: &GrantTarget) -> Result<Vec<Target>> {
        let txn = self.ctx.txn;
        let in_schemas = |schemas: &[String], wanted: &[RelKind]| -> Result<Vec<Target>> {
            let mut out = Vec::new();
            for schema in schemas {
                self.schema_target(schema)?;
                for (name, id, kind) in self.catalog().relations_in_schema(txn, schema)? {
                    if wanted.contains(&kind) {
                        let object_kind = if kind == RelKind::Sequence {
                            ObjectKind::Sequence
                        } else {
                            ObjectKind::Table
                        };
                        out.push(Target { kind: object_kind, id, label: kind.noun(), name });
                    }
                }
            }
            Ok(out)
        };
        match target {
            GrantTarget::Tables(names) => names.iter().map(|n| self.relation_target(n)).collect(),
            GrantTarget::Sequences(names) => names
                .iter()
                .map(|n| {
                    let t = self.relation_target(n)?;
                    if t.kind != ObjectKind::Sequence {
                        return Err(errinput!(WRONG_OBJECT_TYPE, "\"{}\" is not a sequence", n.1));
                    }
                    Ok(t)
                })
                .collect(),
            GrantTarget::AllTablesIn(schemas) => {
                in_schemas(schemas, &[RelKind::Table, RelKind::View])
            }
            GrantTarget::AllSequencesIn(schemas) => in_schemas(schemas, &[RelKind::Sequence]),
            GrantTarget::Schemas(names) => names.iter().map(|n| self.schema_target(n)).collect(),
            GrantTarget::Routines(names) => names.iter().map(|n| self.routine_target(n)).collect(),
            GrantTarget::AllRoutinesIn(schemas) => {
                for schema in schemas {
                    self.schema_target(schema)?;
                }
                let routines = self.catalog().routines(txn)?;
                Ok(routines
                    .iter()
                    .filter(|r| schemas.contains(&r.schema))
                    .map(routine_as_target)
                    .collect())
            }
            GrantTarget::Databases(names) => names
                .iter()
                .map(|name| {
                    if self.env.database().is_some_and(|d| d != *name) {
                        return Err(errinput!(
                            INVALID_CATALOG_NAME,
                            "database \"{name}\" does not exist"
                        ));
                    }
                    Ok(Target {
                        kind: ObjectKind::Database,
                        id: crate::system::DATABASE_OID as RelId,
                        label: "database",
                        name: name.clone(),
                    })
                })
                .collect(),
        }
    }

    /// The privileges a GRANT or REVOKE names, for one object.
    fn wanted(&self, spec: &PrivilegeSpec, target: &Target) -> Result<Privileges> {
        let Some(names) = &spec.privileges else { return Ok(target.kind.all()) };
        if target.kind == ObjectKind::Sequence && matches!(spec.target, GrantTarget::Tables(_)) {
            // ON TABLE may name a sequence: its own privileges among those named, with
            // PostgreSQL's warning for the rest.
            let mut named = 0;
            for name in names {
                named |= privilege_named(name).ok_or_else(|| {
                    errinput!(SYNTAX_ERROR, "unrecognized privilege type \"{name}\"")
                })?;
            }
            let valid = named & ObjectKind::Sequence.all();
            if valid != named {
                self.ctx.session.warning(
                    "01007",
                    format!(
                        "sequence \"{}\" only supports USAGE, SELECT, and UPDATE privileges",
                        target.name
                    ),
                );
            }
            return Ok(valid);
        }
        privileges_of(names, target.kind)
    }

    /// GRANTED BY: the current role (what PostgreSQL allows for object privileges), or for
    /// a superuser granting a role, any role; None when the current role grants.
    fn granted_by(
        &self,
        graph: &RoleGraph,
        named: Option<&String>,
        any: bool,
    ) -> Result<Option<RelId>> {
        let Some(name) = named else { return Ok(None) };
        let me = self.me(graph)?;
        let role = match name.as_str() {
            "current_user" | "current_role" => return Ok(None),
            "session_user" => self.env.session_user(),
            other => other.to_string(),
        };
        let role = graph
            .role(&role)
            .ok_or_else(|| errinput!(UNDEFINED_OBJECT, "role \"{role}\" does not exist"))?;
        if role.id == me.id {
            return Ok(None);
        }
        if any && me.superuser {
            return Ok(Some(role.id));
        }
        Err(errinput!(FEATURE_NOT_SUPPORTED, "grantor must be current user"))
    }

    /// GRANT / REVOKE privileges ON objects.
    pub(super) fn privileges(&self, spec: &PrivilegeSpec) -> Result<()> {
        let txn = self.ctx.txn;
        let graph = self.graph()?;
        let me = self.me(&graph)?;
        self.granted_by(&graph, spec.granted_by.as_ref(), false)?;
        let my_roles = graph.privileged_roles(me.id);
        let grantees =
            spec.grantees
                .iter()
                .map(|g| match g {
                    None => Ok(PUBLIC_ROLE),
                    Some(name) => graph.role(name).map(|r| r.id).ok_or_else(|| {
                        errinput!(UNDEFINED_OBJECT, "role \"{name}\" does not exist")
                    }),
                })
                .collect::<Result<Vec<_>>>()?;
        if spec.grant && spec.grant_option && grantees.contains(&PUBLIC_ROLE) {
            return Err(errinput!(
                INVALID_GRANT_OPERATION,
                "grant options can only be granted to roles"
            ));
        }
        for target in self.grant_targets(&spec.target)? {
            let (kind, id) = (target.kind, target.id);
            let mut wanted = self.wanted(spec, &target)?;
            let mut acl = self.catalog().object_acl(txn, kind, id)?;
            let grantor = if owns(&graph, me.id, acl.owner) {
                // An owner (or a superuser) grants as the owner, as in PostgreSQL.
                acl.owner
            } else {
                let grantable = acl.grantable(kind, id, &my_roles);
                let verb = if spec.grant { "were granted" } else { "could be revoked" };
                if grantable & wanted == 0 {
                    if acl.privileges(kind, id, &my_roles) == 0 {
                        return Err(errinput!(
                            INSUFFICIENT_PRIVILEGE,
                            "permission denied for {} {}",
                            target.label,
                            target.name
                        ));
                    }
                    self.ctx.session.warning(
                        if spec.grant { "01007" } else { "01006" },
                        format!("no privileges {verb} for \"{}\"", target.name),
                    );
                    continue;
                }
                if grantable & wanted != wanted {
                    let verb = if spec.grant { "were granted" } else { "could be revoked" };
                    self.ctx.session.warning(
                        if spec.grant { "01007" } else { "01006" },
                        format!("not all privileges {verb} for \"{}\"", target.name),
                    );
                    wanted &= grantable;
                }
                me.id
            };
            for &grantee in &grantees {
                if spec.grant {
                    let options = if spec.grant_option { wanted } else { 0 };
                    acl.grant(kind, id, grantee, grantor, wanted, options);
                } else {
                    let lost = acl.revoke(kind, id, grantee, grantor, wanted, spec.grant_option);
                    if lost != 0 {
                        revoke_dependents(&mut acl, &target, grantee, lost, spec.cascade)?;
                    }
                }
            }
            self.catalog().set_object_acl(txn, kind, id, &acl)?;
        }
        Ok(())
    }

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

    /// ALTER <object> OWNER TO role: the owner (or a superuser) may give an object to a role
    /// it is a member of; the object's ACL follows the new owner, and a table's owned
    /// sequences go with it.
    pub(super) fn owner_to(
        &self,
        kind: &str,
        name: &Name,
        if_exists: bool,
        role: &str,
    ) -> Result<()> {
        let txn = self.ctx.txn;
        txn.next_command()?;
        let graph = self.graph()?;
        let me = self.me(&graph)?;
        let new_owner = match role {
            "current_user" | "current_role" => me.id,
            "session_user" => {
                let name = self.env.session_user();
                graph.role(&name).map_or(me.id, |r| r.id)
            }
            name => {
                graph
                    .role(name)
                    .ok_or_else(|| errinput!(UNDEFINED_OBJECT, "role \"{name}\" does not exist"))?
                    .id
            }
        };
        let missing = |e: oxibase_common::Error| -> Result<Option<Target>> {
            if if_exists && matches!(e.code().class(), "42" | "3F") {
                self.notice(format!("{}, skipping", e.message()));
                return Ok(None);
            }
            Err(e)
        };
        let target = match kind {
            "SCHEMA" => self.schema_target(&name.1).map(Some).or_else(missing)?,
            "FUNCTION" | "PROCEDURE" | "ROUTINE" => {
                self.routine_target(name).map(Some).or_else(missing)?
            }
            "DATABASE" => self
                .grant_targets(&GrantTarget::Databases(vec![name.1.clone()]))
                .map(|mut t| t.pop())
                .or_else(missing)?,
            "TYPE" | "DOMAIN" => match self.find_type_id(name)? {
                Some(id) => Some(Target {
                    kind: ObjectKind::Table,
                    id,
                    label: "type",
                    name: name.1.clone(),
                }),
                None if if_exists => {
                    self.notice(format!("type \"{}\" does not exist, skipping", name.1));
                    None
                }
                None => {
                    return Err(errinput!(UNDEFINED_OBJECT, "type \"{}\" does not exist", name.1));
                }
            },
            "INDEX" => {
                // An index belongs to its table's owner: PostgreSQL warns and changes nothing.
                if self.find_unchecked(name, RelKind::Index)?.is_none() && !if_exists {
                    return Err(errinput!(
                        UNDEFINED_TABLE,
                        "relation \"{}\" does not exist",
                        display(name)
                    ));
                }
                self.ctx.session.warning(
                    "01000",
                    format!(
                        "cannot change owner of index \"{}\"; change the ownership of the index's table instead",
                        name.1
                    ),
                );
                None
            }
            _ => self.relation_target(name).map(Some).or_else(missing)?,
        };
        let Some(target) = target else { return Ok(()) };
        if matches!(target.kind, ObjectKind::Schema)
            && matches!(target.id, PG_CATALOG | INFORMATION_SCHEMA)
        {
            return Err(errinput!(
                INSUFFICIENT_PRIVILEGE,
                "cannot change the owner of system schema \"{}\"",
                target.name
            ));
        }
        let mut acl = self.catalog().object_acl(txn, target.kind, target.id)?;
        if acl.owner == new_owner {
            return Ok(());
        }
        if !me.superuser {
            if !owns(&graph, me.id, acl.owner) {
                return Err(errinput!(
                    INSUFFICIENT_PRIVILEGE,
                    "must be owner of {} {}",
                    target.label,
                    target.name
                ));
            }
            if !graph.member_of(me.id).contains(&new_owner) {
                return Err(errinput!(
                    INSUFFICIENT_PRIVILEGE,
                    "must be able to SET ROLE \"{}\"",
                    graph.name_of(new_owner)
                ));
            }
        }
        acl.change_owner(new_owner);
        self.catalog().set_object_acl(txn, target.kind, target.id, &acl)?;
        if target.kind == ObjectKind::Table {
            for seq in self.owned_sequences(target.id, None)? {
                let mut acl = self.catalog().object_acl(txn, ObjectKind::Sequence, seq.id)?;
                acl.change_owner(new_owner);
                self.catalog().set_object_acl(txn, ObjectKind::Sequence, seq.id, &acl)?;
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
}

fn routine_as_target(routine: &crate::procedure::Routine) -> Target {
    let procedure = routine.kind == crate::procedure::RoutineKind::Procedure;
    Target {
        kind: ObjectKind::Routine,
        id: routine.id,
        label: if procedure { "procedure" } else { "function" },
        name: routine.name.clone(),
    }
}

/// REVOKE of a grant option: what the grantee gave others with it goes too (with CASCADE;
/// 2BP01 without), and so on down.
fn revoke_dependents(
    acl: &mut Acl,
    target: &Target,
    grantor: RelId,
    privileges: Privileges,
    cascade: bool,
) -> Result<()> {
    let taken = acl.revoke_granted_by(target.kind, target.id, grantor, privileges);
    if taken.is_empty() {
        return Ok(());
    }
    if !cascade {
        return Err(errinput!(DEPENDENT_OBJECTS_STILL_EXIST, "dependent privileges exist")
            .with_hint("Use CASCADE to revoke them too."));
    }
    for (grantee, options) in taken {
        if options != 0 {
            revoke_dependents(acl, target, grantee, options, true)?;
        }
    }
    Ok(())
}

/// Records the current role as a new object's owner, with the ACL ALTER DEFAULT PRIVILEGES
/// gives objects it creates (in `schema`). Objects the bootstrap superuser creates with the
/// defaults need no row.
pub(crate) fn record_new_object(
    ctx: &crate::exec::ExecCtx,
    env: &dyn crate::bind::BindEnv,
    kind: ObjectKind,
    id: RelId,
    schema: Option<RelId>,
) -> Result<()> {
    let me = crate::privileges::current_role_id(env)?;
    let acl = ctx.catalog.initial_acl(ctx.txn, me, kind, id, schema)?;
    ctx.catalog.set_object_acl(ctx.txn, kind, id, &acl)
}

impl Ddl<'_, '_> {
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
