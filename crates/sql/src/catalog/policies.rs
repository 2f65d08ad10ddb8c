//! Row-level security policies (`CREATE POLICY`), as PostgreSQL's `pg_policy`: per table,
//! an expression rows must satisfy to be seen or changed (USING) and one new rows must
//! satisfy (WITH CHECK), for a command and a set of roles. A table's ENABLE / FORCE flags
//! live in its `sys_tables` row (see `RelationRow::row_security`).

use std::sync::Arc;

use oxibase_common::row::{decode_row, encode_row};
use oxibase_common::{Result, Value, errdata};
use oxibase_mvcc::Transaction;

use super::Catalog;
use super::system::{SYS_POLICIES, sys_key};
use crate::keys::{RelId, relation_prefix};

/// ENABLE ROW LEVEL SECURITY.
pub const ENABLED: u8 = 1;
/// FORCE ROW LEVEL SECURITY (the owner too is subject to the policies).
pub const FORCED: u8 = 2;

/// A row-level security policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Its name (unique per table).
    pub name: String,
    /// Its object id.
    pub id: RelId,
    /// `*` ALL, `r` SELECT, `a` INSERT, `w` UPDATE, `d` DELETE (`pg_policy.polcmd`).
    pub command: char,
    /// PERMISSIVE (else RESTRICTIVE).
    pub permissive: bool,
    /// The roles it applies to; empty for PUBLIC.
    pub roles: Vec<RelId>,
    /// USING: which existing rows are visible or may be changed, as SQL.
    pub using: Option<String>,
    /// WITH CHECK: which new rows may be written, as SQL.
    pub check: Option<String>,
}

impl Policy {
    /// Whether it applies to a command (`r`, `a`, `w`, `d`).
    pub fn covers(&self, command: char) -> bool {
        self.command == '*' || self.command == command
    }

    /// The command's keyword (`pg_policies.cmd`).
    pub fn command_name(&self) -> &'static str {
        match self.command {
            'r' => "SELECT",
            'a' => "INSERT",
            'w' => "UPDATE",
            'd' => "DELETE",
            _ => "ALL",
        }
    }
}

fn key(table_id: RelId, name: &str) -> Result<Vec<u8>> {
    sys_key(SYS_POLICIES, &[Value::Int4(table_id as i32), Value::from(name)])
}

fn encode(table_id: RelId, p: &Policy) -> Vec<u8> {
    let text = |s: &Option<String>| s.as_deref().map_or(Value::Null, Value::from);
    encode_row(&[
        Value::Int4(table_id as i32),
        Value::from(p.name.as_str()),
        Value::Int4(p.id as i32),
        Value::Text(p.command.to_string()),
        Value::Bool(p.permissive),
        Value::Text(p.roles.iter().map(|r| r.to_string()).collect::<Vec<_>>().join(",")),
        text(&p.using),
        text(&p.check),
    ])
}

fn decode(bytes: &[u8]) -> Result<Policy> {
    let bad = || errdata!("invalid sys_policies row");
    match decode_row(bytes)?.as_slice() {
        [
            Value::Int4(_),
            Value::Text(name),
            Value::Int4(id),
            Value::Text(command),
            Value::Bool(permissive),
            Value::Text(roles),
            using,
            check,
        ] => {
            let text = |v: &Value| match v {
                Value::Text(s) => Some(s.clone()),
                _ => None,
            };
            Ok(Policy {
                name: name.clone(),
                id: *id as RelId,
                command: command.chars().next().ok_or_else(bad)?,
                permissive: *permissive,
                roles: roles
                    .split(',')
                    .filter(|r| !r.is_empty())
                    .map(|r| r.parse().map_err(|_| bad()))
                    .collect::<Result<_>>()?,
                using: text(using),
                check: text(check),
            })
        }
        _ => Err(bad()),
    }
}

impl Catalog {
    /// A table's policies, by name.
    pub fn policies_of(&self, txn: &Transaction, table_id: RelId) -> Result<Vec<Arc<Policy>>> {
        let mut out = Vec::new();
        for item in txn.scan_prefix(&sys_key(SYS_POLICIES, &[Value::Int4(table_id as i32)])?)? {
            out.push(Arc::new(decode(&item?.1)?));
        }
        Ok(out)
    }

    /// Every policy: (table id, policy).
    pub fn all_policies(&self, txn: &Transaction) -> Result<Vec<(RelId, Policy)>> {
        txn.scan_prefix(&relation_prefix(SYS_POLICIES))?
            .map(|item| {
                let bytes = item?.1;
                let table = match decode_row(&bytes)?.first() {
                    Some(Value::Int4(t)) => *t as RelId,
                    _ => return Err(errdata!("invalid sys_policies row")),
                };
                Ok((table, decode(&bytes)?))
            })
            .collect()
    }

    /// Stores a policy (a new one gets an id; 42710 when the name is taken and `replace`
    /// is false).
    pub fn put_policy(
        &self,
        txn: &Transaction,
        table_id: RelId,
        policy: &mut Policy,
    ) -> Result<()> {
        if policy.id == 0 {
            policy.id = self.next_id()?;
        }
        txn.put(&key(table_id, &policy.name)?, encode(table_id, policy))
    }

    /// Removes a policy; false if there is none of the name.
    pub fn drop_policy(&self, txn: &Transaction, table_id: RelId, name: &str) -> Result<bool> {
        let key = key(table_id, name)?;
        if txn.get(&key)?.is_none() {
            return Ok(false);
        }
        txn.delete(&key)?;
        Ok(true)
    }
}
