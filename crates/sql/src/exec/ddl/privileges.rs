//! GRANT, REVOKE, ALTER ... OWNER TO and ALTER DEFAULT PRIVILEGES, with the checks PostgreSQL
//! makes (see `catalog::acl` for how owners and ACLs are kept; roles are `roles.rs`).

use oxibase_common::{Result, errinput};

use super::{Ddl, Name, display};
use crate::bind::Relation;
use crate::bind::grant::{DefaultPrivilegesSpec, GrantTarget, PrivilegeSpec};
use crate::catalog::acl::{
    Acl, ObjectKind, PUBLIC_ROLE, Privileges, RoleGraph, privilege_named, privileges_of,
};
use crate::catalog::system::{BOOTSTRAP_ROLE_ID, INFORMATION_SCHEMA, PG_CATALOG};
use crate::catalog::{RelKind, Role};
use crate::keys::RelId;
use crate::privileges::{AclObject, owns};

/// An object a GRANT, REVOKE or OWNER TO names, resolved.
pub(super) struct Target {
    kind: ObjectKind,
    id: RelId,
    /// The word errors use for it (table, view, function, ...).
    pub label: &'static str,
    name: String,
}

impl Ddl<'_, '_> {
    /// The roles, memberships and ACLs as this transaction sees them now.
    pub(super) fn graph(&self) -> Result<RoleGraph> {
        RoleGraph::load(self.catalog(), self.ctx.txn)
    }

    /// The current role.
    pub(super) fn me<'g>(&self, graph: &'g RoleGraph) -> Result<&'g Role> {
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

    /// A user-defined type (enum, composite or domain) by possibly qualified name, with
    /// its kind.
    pub(super) fn find_type_id(&self, name: &Name) -> Result<Option<(RelId, RelKind)>> {
        self.ctx.txn.next_command()?;
        let schemas = match &name.0 {
            Some(s) => vec![s.clone()],
            None => self.env.search_path(),
        };
        for schema in schemas {
            if let Some((id, kind)) = self.catalog().relation(self.ctx.txn, &schema, &name.1)?
                && matches!(kind, RelKind::Type | RelKind::Domain | RelKind::Composite)
            {
                return Ok(Some((id, kind)));
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
    pub(super) fn granted_by(
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
                Some((id, _)) => Some(Target {
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
}

pub(super) fn routine_as_target(routine: &crate::procedure::Routine) -> Target {
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
