//! GRANT and REVOKE: of privileges on objects, and of role membership.

use oxibase_common::{Result, errinput};
use sqlparser::ast;

use super::{ident, split_name};

/// The objects a GRANT or REVOKE names.
#[derive(Clone, Debug)]
pub enum GrantTarget {
    /// Tables, views, materialized views (and sequences: `ON TABLE` may name one).
    Tables(Vec<(Option<String>, String)>),
    /// SEQUENCE names.
    Sequences(Vec<(Option<String>, String)>),
    /// ALL TABLES IN SCHEMA.
    AllTablesIn(Vec<String>),
    /// ALL SEQUENCES IN SCHEMA.
    AllSequencesIn(Vec<String>),
    /// SCHEMA names.
    Schemas(Vec<String>),
    /// FUNCTION, PROCEDURE or ROUTINE names.
    Routines(Vec<(Option<String>, String)>),
    /// ALL FUNCTIONS / PROCEDURES / ROUTINES IN SCHEMA.
    AllRoutinesIn(Vec<String>),
    /// DATABASE names.
    Databases(Vec<String>),
}

/// GRANT or REVOKE of privileges.
#[derive(Clone, Debug)]
pub struct PrivilegeSpec {
    /// GRANT (else REVOKE).
    pub grant: bool,
    /// The privileges by name; None: ALL [PRIVILEGES].
    pub privileges: Option<Vec<String>>,
    /// The objects.
    pub target: GrantTarget,
    /// The roles (None: PUBLIC).
    pub grantees: Vec<Option<String>>,
    /// WITH GRANT OPTION (GRANT) or GRANT OPTION FOR (REVOKE).
    pub grant_option: bool,
    /// REVOKE ... CASCADE.
    pub cascade: bool,
    /// GRANTED BY role.
    pub granted_by: Option<String>,
}

/// GRANT or REVOKE of role membership.
#[derive(Clone, Debug)]
pub struct MembershipSpec {
    /// GRANT (else REVOKE).
    pub grant: bool,
    /// The roles granted.
    pub roles: Vec<String>,
    /// The members.
    pub members: Vec<String>,
    /// WITH ADMIN OPTION (GRANT) or ADMIN OPTION FOR (REVOKE).
    pub admin: bool,
    /// GRANTED BY role.
    pub granted_by: Option<String>,
}

fn grantees(list: &[ast::Grantee]) -> Result<Vec<Option<String>>> {
    list.iter()
        .map(|g| match (&g.grantee_type, &g.name) {
            (ast::GranteesType::Public, _) => Ok(None),
            (
                ast::GranteesType::None | ast::GranteesType::Role | ast::GranteesType::Group,
                Some(ast::GranteeName::ObjectName(name)),
            ) => {
                let (_, name) = split_name(name)?;
                // PUBLIC is a keyword here, whatever its case.
                Ok((name != "public").then_some(name))
            }
            _ => Err(errinput!(FEATURE_NOT_SUPPORTED, "grantee {g} is not supported")),
        })
        .collect()
}

fn privilege_names(privileges: &ast::Privileges) -> Result<Option<Vec<String>>> {
    let ast::Privileges::Actions(actions) = privileges else { return Ok(None) };
    actions
        .iter()
        .map(|a| {
            use ast::Action as A;
            let columns = match a {
                A::Select { columns } | A::Insert { columns } | A::Update { columns } => {
                    columns.as_ref()
                }
                A::References { columns } => columns.as_ref(),
                _ => None,
            };
            if columns.is_some() {
                return Err(errinput!(
                    FEATURE_NOT_SUPPORTED,
                    "column privileges are not supported: grant {} on the whole table",
                    a.to_string().split_whitespace().next().unwrap_or_default()
                ));
            }
            let name = match a {
                A::Select { .. } => "SELECT",
                A::Insert { .. } => "INSERT",
                A::Update { .. } => "UPDATE",
                A::Delete => "DELETE",
                A::Truncate => "TRUNCATE",
                A::References { .. } => "REFERENCES",
                A::Trigger => "TRIGGER",
                A::Execute { obj_type: None } => "EXECUTE",
                A::Usage => "USAGE",
                A::Create { obj_type: None } => "CREATE",
                A::Temporary => "TEMPORARY",
                A::Connect => "CONNECT",
                other => {
                    return Err(errinput!(
                        SYNTAX_ERROR,
                        "unrecognized privilege type \"{}\"",
                        other.to_string().to_lowercase()
                    ));
                }
            };
            Ok(name.to_string())
        })
        .collect::<Result<Vec<_>>>()
        .map(Some)
}

fn names(list: &[ast::ObjectName]) -> Result<Vec<(Option<String>, String)>> {
    list.iter().map(split_name).collect()
}

fn schema_names(list: &[ast::ObjectName]) -> Result<Vec<String>> {
    list.iter().map(|n| split_name(n).map(|(_, n)| n)).collect()
}

fn target(objects: Option<&ast::GrantObjects>) -> Result<GrantTarget> {
    use ast::GrantObjects as G;
    let routines = |list: &[ast::FunctionDesc]| {
        list.iter().map(|f| split_name(&f.name)).collect::<Result<Vec<_>>>()
    };
    Ok(match objects {
        Some(G::Tables(list) | G::Views(list)) => GrantTarget::Tables(names(list)?),
        Some(G::Sequences(list)) => GrantTarget::Sequences(names(list)?),
        Some(G::AllTablesInSchema { schemas } | G::AllViewsInSchema { schemas }) => {
            GrantTarget::AllTablesIn(schema_names(schemas)?)
        }
        Some(G::AllSequencesInSchema { schemas }) => {
            GrantTarget::AllSequencesIn(schema_names(schemas)?)
        }
        Some(G::Schemas(list)) => GrantTarget::Schemas(schema_names(list)?),
        Some(G::Databases(list)) => GrantTarget::Databases(schema_names(list)?),
        Some(G::Functions(list) | G::Procedures(list) | G::Routines(list)) => {
            GrantTarget::Routines(routines(list)?)
        }
        Some(
            G::AllFunctionsInSchema { schemas }
            | G::AllProceduresInSchema { schemas }
            | G::AllRoutinesInSchema { schemas },
        ) => GrantTarget::AllRoutinesIn(schema_names(schemas)?),
        Some(other) => {
            return Err(errinput!(FEATURE_NOT_SUPPORTED, "GRANT ON {other} is not supported"));
        }
        None => return Err(errinput!(SYNTAX_ERROR, "GRANT needs ON and the objects")),
    })
}

/// Binds GRANT ... ON ... TO.
pub(super) fn bind_grant(grant: &ast::Grant) -> Result<PrivilegeSpec> {
    if grant.as_grantor.is_some() {
        return Err(errinput!(FEATURE_NOT_SUPPORTED, "GRANT ... AS is not supported"));
    }
    Ok(PrivilegeSpec {
        grant: true,
        privileges: privilege_names(&grant.privileges)?,
        target: target(grant.objects.as_ref())?,
        grantees: grantees(&grant.grantees)?,
        grant_option: grant.with_grant_option,
        cascade: false,
        granted_by: grant.granted_by.as_ref().map(ident),
    })
}

/// Binds REVOKE ... ON ... FROM.
pub(super) fn bind_revoke(revoke: &ast::Revoke) -> Result<PrivilegeSpec> {
    Ok(PrivilegeSpec {
        grant: false,
        privileges: privilege_names(&revoke.privileges)?,
        target: target(revoke.objects.as_ref())?,
        grantees: grantees(&revoke.grantees)?,
        grant_option: revoke.grant_option_for,
        cascade: matches!(revoke.cascade, Some(ast::CascadeOption::Cascade)),
        granted_by: revoke.granted_by.as_ref().map(ident),
    })
}

fn member_names(list: &[ast::Grantee]) -> Result<Vec<String>> {
    grantees(list)?
        .into_iter()
        .map(|g| {
            g.ok_or_else(|| errinput!(INVALID_GRANT_OPERATION, "role \"public\" does not exist"))
        })
        .collect()
}

/// Binds GRANT role TO role.
pub(super) fn bind_grant_role(grant: &ast::GrantRole) -> Result<MembershipSpec> {
    let mut admin = false;
    for option in &grant.options {
        match option.to_string().to_ascii_uppercase().as_str() {
            "ADMIN OPTION" | "ADMIN TRUE" | "ADMIN" => admin = true,
            "ADMIN FALSE" => admin = false,
            // PostgreSQL 16's options as pg_dumpall writes them, where they say what
            // membership is here.
            "INHERIT TRUE" | "SET TRUE" => {}
            other => {
                return Err(errinput!(FEATURE_NOT_SUPPORTED, "WITH {other} is not supported"));
            }
        }
    }
    Ok(MembershipSpec {
        grant: true,
        roles: grant.roles.iter().map(ident).collect(),
        members: member_names(&grant.grantees)?,
        admin,
        granted_by: grant.granted_by.as_ref().map(ident),
    })
}

/// Binds REVOKE role FROM role.
pub(super) fn bind_revoke_role(revoke: &ast::RevokeRole) -> Result<MembershipSpec> {
    let admin = match &revoke.option_for {
        None => false,
        Some(option) if option.value.eq_ignore_ascii_case("admin") => true,
        Some(option) => {
            return Err(errinput!(
                FEATURE_NOT_SUPPORTED,
                "REVOKE {} OPTION FOR is not supported",
                option.value.to_uppercase()
            ));
        }
    };
    Ok(MembershipSpec {
        grant: false,
        roles: revoke.roles.iter().map(ident).collect(),
        members: member_names(&revoke.grantees)?,
        admin,
        granted_by: revoke.granted_by.as_ref().map(ident),
    })
}

/// ALTER DEFAULT PRIVILEGES [FOR ROLE ...] [IN SCHEMA ...] GRANT | REVOKE ... ON <type>.
#[derive(Clone, Debug)]
pub struct DefaultPrivilegesSpec {
    /// FOR ROLE (empty: the current role).
    pub roles: Vec<String>,
    /// IN SCHEMA (empty: everywhere).
    pub schemas: Vec<String>,
    /// The kind of object: tables, sequences, functions or schemas.
    pub kind: crate::catalog::acl::ObjectKind,
    /// GRANT (else REVOKE).
    pub grant: bool,
    /// The privileges by name; None: ALL.
    pub privileges: Option<Vec<String>>,
    /// The roles (None: PUBLIC).
    pub grantees: Vec<Option<String>>,
    /// WITH GRANT OPTION / GRANT OPTION FOR.
    pub grant_option: bool,
}

/// Binds ALTER DEFAULT PRIVILEGES.
pub(super) fn bind_default_privileges(
    alter: &ast::AlterDefaultPrivileges,
) -> Result<DefaultPrivilegesSpec> {
    use crate::catalog::acl::ObjectKind;
    let mut roles = Vec::new();
    let mut schemas = Vec::new();
    for option in &alter.options {
        match option {
            ast::DefaultPrivilegesOption::ForRole(list) => roles.extend(list.iter().map(ident)),
            ast::DefaultPrivilegesOption::InSchema(list) => schemas.extend(schema_names(list)?),
        }
    }
    let (grant, privileges, object_type, grantee_list, grant_option) = match &alter.operation {
        ast::AlterDefaultPrivilegesOperation::Grant {
            privileges,
            object_type,
            grantees,
            with_grant_option,
        } => (true, privileges, object_type, grantees, *with_grant_option),
        ast::AlterDefaultPrivilegesOperation::Revoke {
            grant_option_for,
            privileges,
            object_type,
            grantees,
            ..
        } => (false, privileges, object_type, grantees, *grant_option_for),
    };
    let kind = match object_type {
        ast::DefaultPrivilegesObjectType::Tables => ObjectKind::Table,
        ast::DefaultPrivilegesObjectType::Sequences => ObjectKind::Sequence,
        ast::DefaultPrivilegesObjectType::Functions
        | ast::DefaultPrivilegesObjectType::Routines => ObjectKind::Routine,
        ast::DefaultPrivilegesObjectType::Schemas => ObjectKind::Schema,
        other => {
            return Err(errinput!(
                FEATURE_NOT_SUPPORTED,
                "default privileges on {other} are not supported"
            ));
        }
    };
    if kind == ObjectKind::Schema && !schemas.is_empty() {
        return Err(errinput!(
            INVALID_GRANT_OPERATION,
            "cannot use IN SCHEMA clause when using GRANT/REVOKE ON SCHEMAS"
        ));
    }
    Ok(DefaultPrivilegesSpec {
        roles,
        schemas,
        kind,
        grant,
        privileges: privilege_names(privileges)?,
        grantees: grantees(grantee_list)?,
        grant_option,
    })
}

/// CREATE, ALTER or DROP POLICY.
#[derive(Clone, Debug)]
pub enum PolicySpec {
    /// CREATE POLICY.
    Create {
        /// The policy's name.
        name: String,
        /// The table, (schema, name).
        table: (Option<String>, String),
        /// AS PERMISSIVE (else RESTRICTIVE).
        permissive: bool,
        /// FOR: `*`, `r`, `a`, `w` or `d`.
        command: char,
        /// TO: role names (`public` for PUBLIC; CURRENT_USER and friends resolved when it
        /// runs); empty for PUBLIC.
        roles: Vec<String>,
        /// USING, as SQL.
        using: Option<String>,
        /// WITH CHECK, as SQL.
        check: Option<String>,
    },
    /// ALTER POLICY.
    Alter {
        /// The policy's name.
        name: String,
        /// The table.
        table: (Option<String>, String),
        /// RENAME TO.
        rename: Option<String>,
        /// TO (None: unchanged).
        roles: Option<Vec<String>>,
        /// USING (None: unchanged).
        using: Option<String>,
        /// WITH CHECK (None: unchanged).
        check: Option<String>,
    },
    /// DROP POLICY.
    Drop {
        /// The policy's name.
        name: String,
        /// The table.
        table: (Option<String>, String),
        /// IF EXISTS.
        if_exists: bool,
    },
}

fn policy_roles(owners: &[ast::Owner]) -> Vec<String> {
    owners
        .iter()
        .map(|o| match o {
            ast::Owner::Ident(id) => ident(id),
            ast::Owner::CurrentRole | ast::Owner::CurrentUser => "current_user".into(),
            ast::Owner::SessionUser => "session_user".into(),
        })
        .collect()
}

/// Binds CREATE POLICY.
pub(super) fn bind_create_policy(p: &ast::CreatePolicy) -> Result<PolicySpec> {
    let command = match p.command {
        None | Some(ast::CreatePolicyCommand::All) => '*',
        Some(ast::CreatePolicyCommand::Select) => 'r',
        Some(ast::CreatePolicyCommand::Insert) => 'a',
        Some(ast::CreatePolicyCommand::Update) => 'w',
        Some(ast::CreatePolicyCommand::Delete) => 'd',
    };
    if matches!(command, 'r' | 'd') && p.with_check.is_some() {
        return Err(errinput!(SYNTAX_ERROR, "WITH CHECK cannot be applied to SELECT or DELETE"));
    }
    if command == 'a' && p.using.is_some() {
        return Err(errinput!(SYNTAX_ERROR, "only WITH CHECK expression allowed for INSERT"));
    }
    Ok(PolicySpec::Create {
        name: ident(&p.name),
        table: split_name(&p.table_name)?,
        permissive: !matches!(p.policy_type, Some(ast::CreatePolicyType::Restrictive)),
        command,
        roles: p.to.as_deref().map(policy_roles).unwrap_or_default(),
        using: p.using.as_ref().map(|e| e.to_string()),
        check: p.with_check.as_ref().map(|e| e.to_string()),
    })
}

/// Binds ALTER POLICY.
pub(super) fn bind_alter_policy(p: &ast::AlterPolicy) -> Result<PolicySpec> {
    let table = split_name(&p.table_name)?;
    Ok(match &p.operation {
        ast::AlterPolicyOperation::Rename { new_name } => PolicySpec::Alter {
            name: ident(&p.name),
            table,
            rename: Some(ident(new_name)),
            roles: None,
            using: None,
            check: None,
        },
        ast::AlterPolicyOperation::Apply { to, using, with_check } => PolicySpec::Alter {
            name: ident(&p.name),
            table,
            rename: None,
            roles: to.as_deref().map(policy_roles),
            using: using.as_ref().map(|e| e.to_string()),
            check: with_check.as_ref().map(|e| e.to_string()),
        },
    })
}

/// Binds DROP POLICY.
pub(super) fn bind_drop_policy(p: &ast::DropPolicy) -> Result<PolicySpec> {
    Ok(PolicySpec::Drop {
        name: ident(&p.name),
        table: split_name(&p.table_name)?,
        if_exists: p.if_exists,
    })
}

/// REASSIGN OWNED or DROP OWNED.
#[derive(Clone, Debug)]
pub enum OwnedSpec {
    /// REASSIGN OWNED BY roles TO role.
    Reassign {
        /// The old owners.
        roles: Vec<String>,
        /// The new owner.
        to: String,
    },
    /// DROP OWNED BY roles [CASCADE].
    Drop {
        /// The roles.
        roles: Vec<String>,
        /// CASCADE.
        cascade: bool,
    },
}
