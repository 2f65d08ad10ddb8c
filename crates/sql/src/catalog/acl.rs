//! Owners, privileges and role membership (`GRANT`, `REVOKE`, `ALTER ... OWNER TO`), as
//! PostgreSQL keeps them in `relacl`, `nspacl`, `proacl` and `pg_auth_members`.
//!
//! An object's owner and access control list live in one `sys_acl` row keyed by the
//! object's kind and id. No row means what PostgreSQL's NULL ACL means: the bootstrap
//! superuser owns the object and the kind's default privileges apply (the owner holds
//! everything; PUBLIC holds EXECUTE on routines, USAGE on `public`, `pg_catalog` and
//! `information_schema`, CONNECT and TEMPORARY on the database). The first GRANT or REVOKE
//! writes the default list out and changes it, so the owner's own entry can be revoked too.
//!
//! An entry is written as PostgreSQL's `aclitem` with role ids for names
//! (`16384=arw*/10`; an empty grantee is PUBLIC), so renaming a role changes nothing here.

use oxibase_common::row::{decode_row, encode_row};
use oxibase_common::{Result, Value, errdata, errinput};
use oxibase_mvcc::Transaction;

use std::collections::HashMap;

use super::system::{
    BOOTSTRAP_ROLE_ID, INFORMATION_SCHEMA, PG_CATALOG, PUBLIC, SYS_ACL, SYS_AUTH_MEMBERS,
    SYS_DEFAULT_ACL, sys_key,
};
use super::{Catalog, Role};
use crate::keys::{RelId, relation_prefix};

/// A set of privileges: PostgreSQL's `AclMode` bits, in its order.
pub type Privileges = u16;

/// INSERT (`a`).
pub const INSERT: Privileges = 1 << 0;
/// SELECT (`r`).
pub const SELECT: Privileges = 1 << 1;
/// UPDATE (`w`).
pub const UPDATE: Privileges = 1 << 2;
/// DELETE (`d`).
pub const DELETE: Privileges = 1 << 3;
/// TRUNCATE (`D`).
pub const TRUNCATE: Privileges = 1 << 4;
/// REFERENCES (`x`).
pub const REFERENCES: Privileges = 1 << 5;
/// TRIGGER (`t`).
pub const TRIGGER: Privileges = 1 << 6;
/// EXECUTE (`X`).
pub const EXECUTE: Privileges = 1 << 7;
/// USAGE (`U`).
pub const USAGE: Privileges = 1 << 8;
/// CREATE (`C`).
pub const CREATE: Privileges = 1 << 9;
/// TEMPORARY (`T`).
pub const TEMPORARY: Privileges = 1 << 10;
/// CONNECT (`c`).
pub const CONNECT: Privileges = 1 << 11;

/// Each privilege's letter in `aclitem` text, by bit.
const LETTERS: &str = "arwdDxtXUCTc";

/// Each privilege's SQL name, by bit.
const NAMES: [&str; 12] = [
    "INSERT",
    "SELECT",
    "UPDATE",
    "DELETE",
    "TRUNCATE",
    "REFERENCES",
    "TRIGGER",
    "EXECUTE",
    "USAGE",
    "CREATE",
    "TEMPORARY",
    "CONNECT",
];

/// A privilege by its SQL name (`TEMP` is TEMPORARY), as GRANT and `has_*_privilege` take it.
pub fn privilege_named(name: &str) -> Option<Privileges> {
    let name = name.trim().to_ascii_uppercase();
    let name = if name == "TEMP" { "TEMPORARY" } else { name.as_str() };
    NAMES.iter().position(|n| *n == name).map(|i| 1 << i)
}

/// Each privilege's SQL name in a set, in PostgreSQL's order.
pub fn privilege_names(privileges: Privileges) -> impl Iterator<Item = &'static str> {
    (0..NAMES.len()).filter(move |i| privileges & (1 << i) != 0).map(|i| NAMES[i])
}

/// The id that stands for PUBLIC (every role) in an ACL.
pub const PUBLIC_ROLE: RelId = 0;

/// What kind of object an ACL belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ObjectKind {
    /// A table, view or materialized view.
    Table,
    /// A sequence.
    Sequence,
    /// A schema.
    Schema,
    /// A function or procedure.
    Routine,
    /// The database.
    Database,
}

impl ObjectKind {
    /// The privileges GRANT ALL gives on this kind.
    pub fn all(self) -> Privileges {
        match self {
            ObjectKind::Table => {
                INSERT | SELECT | UPDATE | DELETE | TRUNCATE | REFERENCES | TRIGGER
            }
            ObjectKind::Sequence => SELECT | UPDATE | USAGE,
            ObjectKind::Schema => USAGE | CREATE,
            ObjectKind::Routine => EXECUTE,
            ObjectKind::Database => CREATE | TEMPORARY | CONNECT,
        }
    }

    /// The object type letter of `pg_default_acl.defaclobjtype` (tables, sequences,
    /// functions, schemas).
    pub fn default_acl_type(self) -> char {
        match self {
            ObjectKind::Table => 'r',
            ObjectKind::Sequence => 'S',
            ObjectKind::Routine => 'f',
            ObjectKind::Schema | ObjectKind::Database => 'n',
        }
    }

    /// The key kind in `sys_acl` (relations of every kind share one: their ids are unique).
    pub fn key(self) -> &'static str {
        match self {
            ObjectKind::Table | ObjectKind::Sequence => "r",
            ObjectKind::Schema => "n",
            ObjectKind::Routine => "f",
            ObjectKind::Database => "d",
        }
    }

    /// The object kind's word in GRANT's errors ("invalid privilege type INSERT for
    /// sequence").
    pub fn word(self) -> &'static str {
        match self {
            ObjectKind::Table => "table",
            ObjectKind::Sequence => "sequence",
            ObjectKind::Schema => "schema",
            ObjectKind::Routine => "function",
            ObjectKind::Database => "database",
        }
    }
}

/// One entry of an ACL: what a grantor gave a grantee.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AclItem {
    /// The role given the privileges ([`PUBLIC_ROLE`] for PUBLIC).
    pub grantee: RelId,
    /// The role that gave them.
    pub grantor: RelId,
    /// The privileges.
    pub privileges: Privileges,
    /// Those of them the grantee may grant on (WITH GRANT OPTION).
    pub grant_options: Privileges,
}

/// An object's owner and ACL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Acl {
    /// The owning role.
    pub owner: RelId,
    /// The entries; None: the kind's defaults (PostgreSQL's NULL ACL).
    pub items: Option<Vec<AclItem>>,
}

impl Acl {
    /// An object owned by `owner` with the default privileges.
    pub fn owned_by(owner: RelId) -> Acl {
        Acl { owner, items: None }
    }

    /// The entries, the defaults written out where there are none.
    pub fn entries(&self, kind: ObjectKind, id: RelId) -> Vec<AclItem> {
        if let Some(items) = &self.items {
            return items.clone();
        }
        let all = kind.all();
        let mut items = vec![AclItem {
            grantee: self.owner,
            grantor: self.owner,
            privileges: all,
            grant_options: 0,
        }];
        let public = match kind {
            ObjectKind::Routine => EXECUTE,
            ObjectKind::Database => TEMPORARY | CONNECT,
            ObjectKind::Schema if matches!(id, PUBLIC | PG_CATALOG | INFORMATION_SCHEMA) => USAGE,
            _ => 0,
        };
        if public != 0 {
            items.push(AclItem {
                grantee: PUBLIC_ROLE,
                grantor: self.owner,
                privileges: public,
                grant_options: 0,
            });
        }
        items
    }

    /// The privileges held through any of `roles` (a role and those it inherits from) or
    /// PUBLIC; the owner's implicit grant options aside.
    pub fn privileges(&self, kind: ObjectKind, id: RelId, roles: &[RelId]) -> Privileges {
        self.entries(kind, id)
            .iter()
            .filter(|i| i.grantee == PUBLIC_ROLE || roles.contains(&i.grantee))
            .fold(0, |acc, i| acc | i.privileges)
    }

    /// The privileges `roles` may grant on: all of them for the owner, else the grant options
    /// held.
    pub fn grantable(&self, kind: ObjectKind, id: RelId, roles: &[RelId]) -> Privileges {
        if roles.contains(&self.owner) {
            return kind.all();
        }
        self.entries(kind, id)
            .iter()
            .filter(|i| i.grantee == PUBLIC_ROLE || roles.contains(&i.grantee))
            .fold(0, |acc, i| acc | i.grant_options)
    }

    /// Adds privileges (and grant options) given by `grantor` to `grantee`.
    pub fn grant(
        &mut self,
        kind: ObjectKind,
        id: RelId,
        grantee: RelId,
        grantor: RelId,
        privileges: Privileges,
        grant_options: Privileges,
    ) {
        let mut items = self.entries(kind, id);
        match items.iter_mut().find(|i| i.grantee == grantee && i.grantor == grantor) {
            Some(item) => {
                item.privileges |= privileges;
                item.grant_options |= grant_options;
            }
            None => items.push(AclItem { grantee, grantor, privileges, grant_options }),
        }
        self.items = Some(items);
    }

    /// Takes privileges given by `grantor` from `grantee` (only the grant options when
    /// `options_only`); entries left empty go. Returns the privileges whose grant option the
    /// grantee lost, for dependent grants.
    pub fn revoke(
        &mut self,
        kind: ObjectKind,
        id: RelId,
        grantee: RelId,
        grantor: RelId,
        privileges: Privileges,
        options_only: bool,
    ) -> Privileges {
        let mut items = self.entries(kind, id);
        let mut lost = 0;
        for item in items.iter_mut().filter(|i| i.grantee == grantee && i.grantor == grantor) {
            lost |= item.grant_options & privileges;
            item.grant_options &= !privileges;
            if !options_only {
                item.privileges &= !privileges;
            }
        }
        items.retain(|i| i.privileges != 0);
        self.items = Some(items);
        lost
    }

    /// Removes what `grantor` gave others of `privileges` (a REVOKE ... CASCADE of a grant
    /// option); returns whether anything was there.
    pub fn revoke_granted_by(
        &mut self,
        kind: ObjectKind,
        id: RelId,
        grantor: RelId,
        privileges: Privileges,
    ) -> Vec<(RelId, Privileges)> {
        let mut items = self.entries(kind, id);
        let mut taken = Vec::new();
        for item in items.iter_mut().filter(|i| i.grantor == grantor && i.grantee != grantor) {
            if item.privileges & privileges != 0 {
                taken.push((item.grantee, item.grant_options & privileges));
                item.privileges &= !privileges;
                item.grant_options &= !privileges;
            }
        }
        items.retain(|i| i.privileges != 0);
        self.items = Some(items);
        taken
    }

    /// Whether `role` is named in an entry (as grantee or grantor).
    pub fn mentions(&self, role: RelId) -> bool {
        self.items.iter().flatten().any(|i| i.grantee == role || i.grantor == role)
    }

    /// Gives the object to a new owner: the old owner's entries become the new owner's, as
    /// PostgreSQL's `aclnewowner` does.
    pub fn change_owner(&mut self, new_owner: RelId) {
        let old = self.owner;
        self.owner = new_owner;
        if let Some(items) = &mut self.items {
            for item in items.iter_mut() {
                if item.grantee == old {
                    item.grantee = new_owner;
                }
                if item.grantor == old {
                    item.grantor = new_owner;
                }
            }
            // Entries that now say the same thing merge.
            let mut merged: Vec<AclItem> = Vec::with_capacity(items.len());
            for item in items.drain(..) {
                match merged
                    .iter_mut()
                    .find(|m| m.grantee == item.grantee && m.grantor == item.grantor)
                {
                    Some(m) => {
                        m.privileges |= item.privileges;
                        m.grant_options |= item.grant_options;
                    }
                    None => merged.push(item),
                }
            }
            *items = merged;
        }
    }

    /// The ACL as PostgreSQL prints an `aclitem[]` (`{alice=arw*/bob,=r/bob}`), one string
    /// per entry; None for the default (a NULL `relacl`).
    pub fn render(&self, name: impl Fn(RelId) -> String) -> Option<Vec<String>> {
        let items = self.items.as_ref()?;
        Some(items.iter().map(|i| render_item(i, &name)).collect())
    }
}

/// One entry as `aclitem` text, with role names.
pub fn render_item(item: &AclItem, name: &impl Fn(RelId) -> String) -> String {
    let grantee = if item.grantee == PUBLIC_ROLE { String::new() } else { name(item.grantee) };
    format!("{}={}/{}", grantee, letters(item.privileges, item.grant_options), name(item.grantor))
}

fn letters(privileges: Privileges, grant_options: Privileges) -> String {
    let mut out = String::new();
    for (i, c) in LETTERS.chars().enumerate() {
        if privileges & (1 << i) != 0 {
            out.push(c);
            if grant_options & (1 << i) != 0 {
                out.push('*');
            }
        }
    }
    out
}

fn encode_items(items: &[AclItem]) -> String {
    let name = |id: RelId| id.to_string();
    items
        .iter()
        .map(|i| {
            format!("{}={}/{}", name(i.grantee), letters(i.privileges, i.grant_options), i.grantor)
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn decode_items(text: &str) -> Result<Vec<AclItem>> {
    let bad = || errdata!("invalid sys_acl entry {text:?}");
    let mut items = Vec::new();
    for entry in text.split(',').filter(|e| !e.is_empty()) {
        let (grantee, rest) = entry.split_once('=').ok_or_else(bad)?;
        let (letters, grantor) = rest.split_once('/').ok_or_else(bad)?;
        let mut item = AclItem {
            grantee: grantee.parse().map_err(|_| bad())?,
            grantor: grantor.parse().map_err(|_| bad())?,
            privileges: 0,
            grant_options: 0,
        };
        let mut last = 0;
        for c in letters.chars() {
            if c == '*' {
                item.grant_options |= last;
                continue;
            }
            let bit = LETTERS.find(c).ok_or_else(bad)?;
            last = 1 << bit;
            item.privileges |= last;
        }
        items.push(item);
    }
    Ok(items)
}

/// An ALTER DEFAULT PRIVILEGES entry: what objects of a type a role creates start with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DefaultAcl {
    /// The role creating the objects.
    pub role: RelId,
    /// The schema (0: everywhere; the entry is then the whole starting ACL, else it adds to
    /// it).
    pub schema: RelId,
    /// `r` tables, `S` sequences, `f` functions, `n` schemas.
    pub objtype: char,
    /// The entries.
    pub items: Vec<AclItem>,
}

/// A role's membership in another (GRANT role TO member).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Membership {
    /// The role whose privileges are shared.
    pub role: RelId,
    /// The member.
    pub member: RelId,
    /// Who granted it.
    pub grantor: RelId,
    /// WITH ADMIN OPTION: the member may grant the role to others.
    pub admin: bool,
}

impl Catalog {
    /// An object's owner and ACL (the bootstrap superuser's and the defaults when it has no
    /// row).
    pub fn object_acl(&self, txn: &Transaction, kind: ObjectKind, id: RelId) -> Result<Acl> {
        let key = sys_key(SYS_ACL, &[Value::from(kind.key()), Value::Int4(id as i32)])?;
        match txn.get(&key)? {
            Some(row) => Ok(decode_acl(&row)?.1),
            None => Ok(Acl::owned_by(BOOTSTRAP_ROLE_ID)),
        }
    }

    /// Writes an object's owner and ACL (removing the row when both are the defaults).
    pub fn set_object_acl(
        &self,
        txn: &Transaction,
        kind: ObjectKind,
        id: RelId,
        acl: &Acl,
    ) -> Result<()> {
        let key = sys_key(SYS_ACL, &[Value::from(kind.key()), Value::Int4(id as i32)])?;
        if *acl == Acl::owned_by(BOOTSTRAP_ROLE_ID) {
            if txn.get(&key)?.is_some() {
                txn.delete(&key)?;
            }
            return Ok(());
        }
        let row = encode_row(&[
            Value::from(kind.key()),
            Value::Int4(id as i32),
            Value::Int4(acl.owner as i32),
            acl.items.as_deref().map_or(Value::Null, |i| Value::Text(encode_items(i))),
        ]);
        txn.put(&key, row)
    }

    /// Forgets a dropped object's owner and ACL.
    pub fn drop_object_acl(&self, txn: &Transaction, kind: ObjectKind, id: RelId) -> Result<()> {
        let key = sys_key(SYS_ACL, &[Value::from(kind.key()), Value::Int4(id as i32)])?;
        if txn.get(&key)?.is_some() {
            txn.delete(&key)?;
        }
        Ok(())
    }

    /// Every object with an owner or ACL of its own: (kind key, id, ACL). The kind key is
    /// `r` for relations, `n` schemas, `f` routines, `d` the database.
    pub fn object_acls(&self, txn: &Transaction) -> Result<Vec<(char, RelId, Acl)>> {
        txn.scan_prefix(&relation_prefix(SYS_ACL))?
            .map(|item| {
                let (kind, acl) = decode_acl(&item?.1)?;
                Ok((kind.0, kind.1, acl))
            })
            .collect()
    }

    /// A schema's name by id.
    pub fn schema_by_id(&self, txn: &Transaction, id: RelId) -> Result<Option<String>> {
        if txn.get(&sys_key(super::system::SYS_SCHEMAS, &[Value::Int4(id as i32)])?)?.is_none() {
            return Ok(None);
        }
        self.schema_name(txn, id).map(Some)
    }

    /// A relation's name and kind by id.
    pub fn relation_by_id(
        &self,
        txn: &Transaction,
        id: RelId,
    ) -> Result<Option<(String, super::RelKind)>> {
        Ok(self.find_relation_row(txn, id)?.map(|row| (row.name, row.kind)))
    }

    /// Every ALTER DEFAULT PRIVILEGES entry.
    pub fn default_acls(&self, txn: &Transaction) -> Result<Vec<DefaultAcl>> {
        txn.scan_prefix(&relation_prefix(SYS_DEFAULT_ACL))?
            .map(|item| match decode_row(&item?.1)?.as_slice() {
                [
                    Value::Int4(role),
                    Value::Int4(schema),
                    Value::Text(objtype),
                    Value::Text(acl),
                ] => Ok(DefaultAcl {
                    role: *role as RelId,
                    schema: *schema as RelId,
                    objtype: objtype.chars().next().unwrap_or('r'),
                    items: decode_items(acl)?,
                }),
                _ => Err(errdata!("invalid sys_default_acl row")),
            })
            .collect()
    }

    /// Writes an ALTER DEFAULT PRIVILEGES entry (None: removes it).
    pub fn set_default_acl(
        &self,
        txn: &Transaction,
        role: RelId,
        schema: RelId,
        objtype: char,
        items: Option<&[AclItem]>,
    ) -> Result<()> {
        let key = sys_key(
            SYS_DEFAULT_ACL,
            &[
                Value::Int4(role as i32),
                Value::Int4(schema as i32),
                Value::from(objtype.to_string()),
            ],
        )?;
        match items {
            Some(items) => txn.put(
                &key,
                encode_row(&[
                    Value::Int4(role as i32),
                    Value::Int4(schema as i32),
                    Value::from(objtype.to_string()),
                    Value::Text(encode_items(items)),
                ]),
            ),
            None => {
                if txn.get(&key)?.is_some() {
                    txn.delete(&key)?;
                }
                Ok(())
            }
        }
    }

    /// The ACL a new object starts with: its owner's, with what ALTER DEFAULT PRIVILEGES
    /// set for the owner (everywhere, then in the object's schema), as PostgreSQL's.
    pub fn initial_acl(
        &self,
        txn: &Transaction,
        owner: RelId,
        kind: ObjectKind,
        id: RelId,
        schema: Option<RelId>,
    ) -> Result<Acl> {
        let objtype = kind.default_acl_type();
        let defaults: Vec<DefaultAcl> = self
            .default_acls(txn)?
            .into_iter()
            .filter(|d| d.role == owner && d.objtype == objtype)
            .collect();
        let mut acl = Acl::owned_by(owner);
        if defaults.is_empty() {
            return Ok(acl);
        }
        let mut items = match defaults.iter().find(|d| d.schema == 0) {
            Some(global) => global.items.clone(),
            None => acl.entries(kind, id),
        };
        for d in defaults.iter().filter(|d| schema.is_some_and(|s| s == d.schema)) {
            for item in &d.items {
                match items
                    .iter_mut()
                    .find(|i| i.grantee == item.grantee && i.grantor == item.grantor)
                {
                    Some(i) => {
                        i.privileges |= item.privileges;
                        i.grant_options |= item.grant_options;
                    }
                    None => items.push(item.clone()),
                }
            }
        }
        // Sorted by grantee, grantor and privileges, as PostgreSQL sorts the ACL it makes
        // from default privileges.
        items.sort_by_key(|i| (i.grantee, i.grantor, i.privileges));
        let mut default = acl.entries(kind, id);
        default.sort_by_key(|i| (i.grantee, i.grantor, i.privileges));
        if items != default {
            acl.items = Some(items);
        }
        Ok(acl)
    }

    /// Every role membership.
    pub fn memberships(&self, txn: &Transaction) -> Result<Vec<Membership>> {
        txn.scan_prefix(&relation_prefix(SYS_AUTH_MEMBERS))?
            .map(|item| match decode_row(&item?.1)?.as_slice() {
                [
                    Value::Int4(role),
                    Value::Int4(member),
                    Value::Int4(grantor),
                    Value::Bool(admin),
                ] => Ok(Membership {
                    role: *role as RelId,
                    member: *member as RelId,
                    grantor: *grantor as RelId,
                    admin: *admin,
                }),
                _ => Err(errdata!("invalid sys_auth_members row")),
            })
            .collect()
    }

    /// Records (or updates) a membership.
    pub fn put_membership(&self, txn: &Transaction, m: &Membership) -> Result<()> {
        let key =
            sys_key(SYS_AUTH_MEMBERS, &[Value::Int4(m.role as i32), Value::Int4(m.member as i32)])?;
        let row = encode_row(&[
            Value::Int4(m.role as i32),
            Value::Int4(m.member as i32),
            Value::Int4(m.grantor as i32),
            Value::Bool(m.admin),
        ]);
        txn.put(&key, row)
    }

    /// Removes a membership; false if there was none.
    pub fn delete_membership(&self, txn: &Transaction, role: RelId, member: RelId) -> Result<bool> {
        let key =
            sys_key(SYS_AUTH_MEMBERS, &[Value::Int4(role as i32), Value::Int4(member as i32)])?;
        if txn.get(&key)?.is_none() {
            return Ok(false);
        }
        txn.delete(&key)?;
        Ok(true)
    }
}

/// The roles, their memberships and the default privileges: what a privilege check reads
/// about roles, loaded once per catalog generation (an object's own ACL is read when it is
/// checked: there is one row per object owned by another role than the bootstrap one).
#[derive(Debug, Default)]
pub struct RoleGraph {
    roles: Vec<Role>,
    by_name: HashMap<String, usize>,
    memberships: Vec<Membership>,
    defaults: Vec<DefaultAcl>,
}

impl RoleGraph {
    /// Reads the roles, memberships and ACLs in `txn`.
    pub fn load(catalog: &Catalog, txn: &Transaction) -> Result<RoleGraph> {
        let roles = catalog.roles(txn)?;
        let mut graph = RoleGraph::new(roles, catalog.memberships(txn)?);
        graph.defaults = catalog.default_acls(txn)?;
        Ok(graph)
    }

    fn new(roles: Vec<Role>, memberships: Vec<Membership>) -> RoleGraph {
        let by_name = roles.iter().enumerate().map(|(i, r)| (r.name.clone(), i)).collect();
        RoleGraph { roles, by_name, memberships, defaults: Vec::new() }
    }

    /// Every ALTER DEFAULT PRIVILEGES entry.
    pub fn default_acls(&self) -> &[DefaultAcl] {
        &self.defaults
    }

    /// Only the bootstrap superuser (an environment without a catalog).
    pub fn bootstrap() -> RoleGraph {
        RoleGraph::new(vec![Role::bootstrap()], Vec::new())
    }

    /// A role by name.
    pub fn role(&self, name: &str) -> Option<&Role> {
        self.by_name.get(name).map(|&i| &self.roles[i])
    }

    /// A role by id.
    pub fn role_by_id(&self, id: RelId) -> Option<&Role> {
        self.roles.iter().find(|r| r.id == id)
    }

    /// Every role.
    pub fn roles(&self) -> &[Role] {
        &self.roles
    }

    /// Every membership.
    pub fn memberships(&self) -> &[Membership] {
        &self.memberships
    }

    /// A role's name as an ACL shows it (its id for a role that is gone).
    pub fn name_of(&self, id: RelId) -> String {
        self.role_by_id(id).map_or_else(|| id.to_string(), |r| r.name.clone())
    }

    /// The roles whose privileges `id` has: itself and, through INHERIT, the roles it is a
    /// member of (PostgreSQL's `has_privs_of_role`).
    pub fn privileged_roles(&self, id: RelId) -> Vec<RelId> {
        self.closure(id, true)
    }

    /// Every role `id` is a member of, directly or not, itself included (SET ROLE may
    /// become any of them: PostgreSQL's `is_member_of_role`).
    pub fn member_of(&self, id: RelId) -> Vec<RelId> {
        self.closure(id, false)
    }

    fn closure(&self, id: RelId, privileges: bool) -> Vec<RelId> {
        let mut out = vec![id];
        let mut i = 0;
        while i < out.len() {
            let r = out[i];
            i += 1;
            if privileges && !self.role_by_id(r).is_none_or(|role| role.inherit) {
                continue;
            }
            for m in self.memberships.iter().filter(|m| m.member == r) {
                if !out.contains(&m.role) {
                    out.push(m.role);
                }
            }
        }
        out
    }

    /// Whether `member` may grant `role` to others: a superuser, a CREATEROLE role (for a
    /// role that is not a superuser), or a member with the admin option.
    pub fn can_admin(&self, member: RelId, role: RelId) -> bool {
        let Some(me) = self.role_by_id(member) else { return false };
        let target_superuser = self.role_by_id(role).is_some_and(|r| r.superuser);
        me.superuser
            || (me.createrole && !target_superuser)
            || self.member_of(member).iter().any(|&r| {
                self.memberships.iter().any(|m| m.role == role && m.member == r && m.admin)
            })
    }
}

fn decode_acl(row: &[u8]) -> Result<((char, RelId), Acl)> {
    match decode_row(row)?.as_slice() {
        [Value::Text(kind), Value::Int4(id), Value::Int4(owner), items] => {
            let items = match items {
                Value::Text(t) => Some(decode_items(t)?),
                _ => None,
            };
            let kind = kind.chars().next().ok_or_else(|| errdata!("invalid sys_acl row"))?;
            Ok(((kind, *id as RelId), Acl { owner: *owner as RelId, items }))
        }
        _ => Err(errdata!("invalid sys_acl row")),
    }
}

/// The privilege bits GRANT names, checked against what the object kind has (0LP01 for one
/// it does not, as PostgreSQL's "invalid privilege type").
pub fn privileges_of(names: &[String], kind: ObjectKind) -> Result<Privileges> {
    let mut out = 0;
    for name in names {
        let bit = privilege_named(name)
            .ok_or_else(|| errinput!(SYNTAX_ERROR, "unrecognized privilege type \"{name}\""))?;
        if kind.all() & bit == 0 {
            return Err(errinput!(
                INVALID_GRANT_OPERATION,
                "invalid privilege type {} for {}",
                name.to_ascii_uppercase(),
                kind.word()
            ));
        }
        out |= bit;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_round_trip_through_their_stored_text() {
        let items = vec![
            AclItem { grantee: 10, grantor: 10, privileges: INSERT | SELECT, grant_options: 0 },
            AclItem { grantee: 0, grantor: 10, privileges: SELECT | UPDATE, grant_options: UPDATE },
        ];
        let text = encode_items(&items);
        assert_eq!(text, "10=ar/10,0=rw*/10");
        assert_eq!(decode_items(&text).unwrap(), items);
        assert!(decode_items("10=q/10").is_err());
    }

    #[test]
    fn a_grant_writes_out_the_defaults_and_a_revoke_can_take_the_owners_own() {
        let mut acl = Acl::owned_by(20);
        acl.grant(ObjectKind::Table, 1, 30, 20, SELECT, SELECT);
        let names = |id: RelId| format!("r{id}");
        assert_eq!(acl.render(names).unwrap(), vec!["r20=arwdDxt/r20", "r30=r*/r20"]);
        assert_eq!(acl.privileges(ObjectKind::Table, 1, &[30]), SELECT);
        assert_eq!(acl.grantable(ObjectKind::Table, 1, &[30]), SELECT);
        acl.revoke(ObjectKind::Table, 1, 20, 20, DELETE, false);
        assert_eq!(acl.privileges(ObjectKind::Table, 1, &[20]) & DELETE, 0);
        assert_eq!(acl.revoke(ObjectKind::Table, 1, 30, 20, SELECT, true), SELECT);
        assert_eq!(acl.grantable(ObjectKind::Table, 1, &[30]), 0);
        acl.change_owner(40);
        assert_eq!(acl.render(names).unwrap(), vec!["r40=arwDxt/r40", "r30=r/r40"]);
    }

    #[test]
    fn routines_and_the_public_schema_give_public_their_defaults() {
        let acl = Acl::owned_by(10);
        assert_eq!(acl.privileges(ObjectKind::Routine, 5, &[99]), EXECUTE);
        assert_eq!(acl.privileges(ObjectKind::Schema, PUBLIC, &[99]), USAGE);
        assert_eq!(acl.privileges(ObjectKind::Schema, 20_000, &[99]), 0);
        assert_eq!(acl.privileges(ObjectKind::Table, 20_000, &[99]), 0);
    }
}
