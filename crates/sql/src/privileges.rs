//! Privilege checks: whether the current role (or a view's owner) may do something to an
//! object, as PostgreSQL decides it (42501 `insufficient_privilege` when not).
//!
//! Statements are checked when they are bound: a cached plan was checked for the role and
//! catalog generation it was bound in, and the session forgets its plans when either
//! changes (SET ROLE, SET SESSION AUTHORIZATION, any GRANT or REVOKE). Superusers pass
//! every check, as in PostgreSQL.

use std::sync::Arc;

use oxibase_common::{Result, errinput};

use crate::bind::BindEnv;
use crate::catalog::acl::{Acl, ObjectKind, Privileges, RoleGraph, SELECT};
use crate::catalog::system::{BOOTSTRAP_ROLE_ID, SYS_ACL, SYS_ROLES};
use crate::keys::{FIRST_USER_ID, RelId};

/// An object a statement uses, as errors name it.
#[derive(Clone, Copy, Debug)]
pub struct AclObject<'a> {
    /// Its kind.
    pub kind: ObjectKind,
    /// Its id.
    pub id: RelId,
    /// The word errors use: table, view, materialized view, sequence, schema, function,
    /// procedure, database.
    pub label: &'static str,
    /// Its name.
    pub name: &'a str,
}

impl<'a> AclObject<'a> {
    /// A table, view or materialized view (`label` says which).
    pub fn relation(id: RelId, label: &'static str, name: &'a str) -> Self {
        let kind = if label == "sequence" { ObjectKind::Sequence } else { ObjectKind::Table };
        AclObject { kind, id, label, name }
    }

    /// A schema.
    pub fn schema(id: RelId, name: &'a str) -> Self {
        AclObject { kind: ObjectKind::Schema, id, label: "schema", name }
    }

    /// A function or procedure.
    pub fn routine(id: RelId, procedure: bool, name: &'a str) -> Self {
        let label = if procedure { "procedure" } else { "function" };
        AclObject { kind: ObjectKind::Routine, id, label, name }
    }
}

/// The current role's id in `graph`, and whether it is a superuser.
fn me(env: &dyn BindEnv, graph: &RoleGraph) -> Result<(RelId, bool)> {
    let name = env.current_role();
    match graph.role(&name) {
        Some(role) => Ok((role.id, role.superuser)),
        None => Err(errinput!(UNDEFINED_OBJECT, "role \"{name}\" does not exist")),
    }
}

/// The current role's id.
pub fn current_role_id(env: &dyn BindEnv) -> Result<RelId> {
    let graph = env.access()?;
    Ok(me(env, &graph)?.0)
}

/// Whether the current role is a superuser.
pub fn is_superuser(env: &dyn BindEnv) -> Result<bool> {
    let graph = env.access()?;
    Ok(me(env, &graph)?.1)
}

/// The privileges `role` holds on an object with ACL `acl` (all of the kind's for a
/// superuser).
pub fn privileges_of(graph: &RoleGraph, role: RelId, object: &AclObject, acl: &Acl) -> Privileges {
    let Some(r) = graph.role_by_id(role) else { return 0 };
    if r.superuser {
        return object.kind.all();
    }
    // The catalogs Oxibase stores as tables: readable by everyone (roles and ACLs only by
    // superusers, as PostgreSQL's pg_authid), written only through DDL.
    if matches!(object.kind, ObjectKind::Table) && object.id < FIRST_USER_ID {
        return if matches!(object.id, SYS_ROLES | SYS_ACL) { 0 } else { SELECT };
    }
    let roles = graph.privileged_roles(role);
    acl.privileges(object.kind, object.id, &roles)
}

/// Checks that the current role, or `as_role` (a view's owner, for the relations its
/// query reads), holds every privilege of `wanted` on the object (with `any`, one of them).
pub fn check(
    env: &dyn BindEnv,
    object: &AclObject,
    wanted: Privileges,
    any: bool,
    as_role: Option<RelId>,
) -> Result<()> {
    let graph = env.access()?;
    let role = match as_role {
        Some(role) => role,
        None => {
            let (id, superuser) = me(env, &graph)?;
            if superuser {
                return Ok(());
            }
            id
        }
    };
    let acl = env.object_acl(object.kind, object.id)?;
    let held = privileges_of(&graph, role, object, &acl);
    let ok = if any { held & wanted != 0 } else { held & wanted == wanted };
    if ok {
        return Ok(());
    }
    Err(errinput!(INSUFFICIENT_PRIVILEGE, "permission denied for {} {}", object.label, object.name))
}

/// Whether `role` owns the object (is a member of its owner, or a superuser).
pub fn owns(graph: &RoleGraph, role: RelId, owner: RelId) -> bool {
    graph.role_by_id(role).is_some_and(|r| r.superuser)
        || graph.privileged_roles(role).contains(&owner)
}

/// Checks that the current role owns the object (42501 "must be owner of ...").
pub fn check_owner(env: &dyn BindEnv, object: &AclObject) -> Result<()> {
    let graph = env.access()?;
    let (id, superuser) = me(env, &graph)?;
    if superuser || owns(&graph, id, env.object_acl(object.kind, object.id)?.owner) {
        return Ok(());
    }
    Err(errinput!(INSUFFICIENT_PRIVILEGE, "must be owner of {} {}", object.label, object.name))
}

/// An object's owner.
pub fn owner_of(env: &dyn BindEnv, kind: ObjectKind, id: RelId) -> Result<RelId> {
    if id < FIRST_USER_ID && matches!(kind, ObjectKind::Table | ObjectKind::Sequence) {
        return Ok(BOOTSTRAP_ROLE_ID);
    }
    Ok(env.object_acl(kind, id)?.owner)
}

/// The role graph for an environment without a catalog (only the bootstrap superuser).
pub fn bootstrap_access() -> Result<Arc<RoleGraph>> {
    Ok(Arc::new(RoleGraph::bootstrap()))
}
