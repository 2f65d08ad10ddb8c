//! Domains (`CREATE DOMAIN name AS type ...`).
//!
//! A domain's name is a `sys_tables` row of kind `D` (types share the relations' namespace,
//! as in PostgreSQL); its base type, parent domain, NOT NULL flag and default are one
//! `sys_domains` row; its CHECK constraints are `sys_constraints` rows keyed by (domain id,
//! name), like a table's. A column of a domain stores the base type and the domain's id
//! (`sys_columns`), so values are stored as base-type values and nothing is rewritten when a
//! constraint changes.

use std::sync::Arc;

use oxibase_common::row::{decode_row, encode_row};
use oxibase_common::{Result, Value, errdata, errinput};
use oxibase_mvcc::Transaction;

use super::system::{
    RelationRow, SYS_CONSTRAINTS, SYS_DOMAINS, SYS_TABLES, decode_constraint, encode_constraint,
    sys_key,
};
use super::{Catalog, Constraint, Domain, RelKind, claim_name};
use crate::keys::{RelId, relation_prefix};

/// How deep domains over domains may nest (a bound on the catalog's recursion).
const MAX_DEPTH: usize = 32;

impl Catalog {
    /// Creates a domain (its CHECKs are added with [`Catalog::add_domain_check`]).
    pub fn create_domain(
        &self,
        txn: &Transaction,
        schema: &str,
        name: &str,
        spec: &Domain,
    ) -> Result<RelId> {
        let schema_id = self.require_schema(txn, schema)?;
        if spec.parent.as_ref().is_some_and(|p| p.chain().count() >= MAX_DEPTH) {
            return Err(errinput!(
                PROGRAM_LIMIT_EXCEEDED,
                "domains may be nested at most {MAX_DEPTH} deep"
            ));
        }
        let id = self.next_id()?;
        self.insert_relation(txn, schema_id, id, name, RelKind::Domain, &[], None)?;
        self.put_domain(txn, &Domain { id, ..spec.clone() })?;
        Ok(id)
    }

    /// Writes a domain's `sys_domains` row (its base type, parent, NOT NULL and default).
    pub fn put_domain(&self, txn: &Transaction, domain: &Domain) -> Result<()> {
        let row = encode_row(&[
            Value::Int4(domain.id as i32),
            Value::Text(domain.base.catalog_name()),
            domain.parent.as_ref().map_or(Value::Null, |p| Value::Int4(p.id as i32)),
            Value::Bool(domain.not_null),
            domain.default.clone().map_or(Value::Null, Value::Text),
        ]);
        txn.put(&sys_key(SYS_DOMAINS, &[Value::Int4(domain.id as i32)])?, row)
    }

    /// A domain by id, with the domains it is declared over; None if there is none.
    pub fn domain_by_id(&self, txn: &Transaction, id: RelId) -> Result<Option<Arc<Domain>>> {
        self.domain_at_depth(txn, id, 0)
    }

    fn domain_at_depth(
        &self,
        txn: &Transaction,
        id: RelId,
        depth: usize,
    ) -> Result<Option<Arc<Domain>>> {
        if depth > MAX_DEPTH {
            return Err(errdata!("domain {id} is nested too deep"));
        }
        let Some(row) = self.find_relation_row(txn, id)? else { return Ok(None) };
        if row.kind != RelKind::Domain {
            return Ok(None);
        }
        let Some(bytes) = txn.get(&sys_key(SYS_DOMAINS, &[Value::Int4(id as i32)])?)? else {
            return Err(errdata!("domain {id} has no sys_domains row"));
        };
        let [_, Value::Text(base), parent, Value::Bool(not_null), default] =
            <[Value; 5]>::try_from(decode_row(&bytes)?)
                .map_err(|_| errdata!("invalid sys_domains row"))?
        else {
            return Err(errdata!("invalid sys_domains row"));
        };
        let parent = match parent {
            Value::Int4(p) => Some(
                self.domain_at_depth(txn, p as RelId, depth + 1)?
                    .ok_or_else(|| errdata!("domain {id} is over a missing domain {p}"))?,
            ),
            _ => None,
        };
        let default = match default {
            Value::Text(t) => Some(t),
            _ => None,
        };
        let mut checks = Vec::new();
        for item in txn.scan_prefix(&sys_key(SYS_CONSTRAINTS, &[Value::Int4(id as i32)])?)? {
            checks.push(decode_constraint(&item?.1)?);
        }
        Ok(Some(Arc::new(Domain {
            id,
            schema: self.schema_name(txn, row.schema_id)?,
            name: row.name,
            parent,
            base: self.resolve_type(txn, &base)?,
            not_null,
            default,
            checks,
        })))
    }

    /// A domain by schema and name.
    pub fn domain(
        &self,
        txn: &Transaction,
        schema: &str,
        name: &str,
    ) -> Result<Option<Arc<Domain>>> {
        match self.relation(txn, schema, name)? {
            Some((id, RelKind::Domain)) => self.domain_by_id(txn, id),
            _ => Ok(None),
        }
    }

    /// Every domain.
    pub fn domains(&self, txn: &Transaction) -> Result<Vec<Arc<Domain>>> {
        let mut out = Vec::new();
        for item in txn.scan_prefix(&relation_prefix(SYS_TABLES))? {
            let row = RelationRow::decode(&item?.1)?;
            if row.kind == RelKind::Domain
                && let Some(domain) = self.domain_by_id(txn, row.id)?
            {
                out.push(domain);
            }
        }
        Ok(out)
    }

    /// Adds a CHECK to a domain (the caller checks the stored values).
    pub fn add_domain_check(
        &self,
        txn: &Transaction,
        domain: &Domain,
        check: &Constraint,
    ) -> Result<()> {
        let key = domain_check_key(domain.id, &check.name)?;
        claim_name(txn, &key, || {
            errinput!(
                DUPLICATE_OBJECT,
                "constraint \"{}\" for domain {} already exists",
                check.name,
                domain.sql_name()
            )
        })?;
        txn.put(&key, encode_constraint(domain.id, check))
    }

    /// Replaces a domain's CHECK of the same name (VALIDATE CONSTRAINT).
    pub fn replace_domain_check(
        &self,
        txn: &Transaction,
        domain: &Domain,
        check: &Constraint,
    ) -> Result<()> {
        txn.put(&domain_check_key(domain.id, &check.name)?, encode_constraint(domain.id, check))
    }

    /// Drops a domain's CHECK by name.
    pub fn drop_domain_check(&self, txn: &Transaction, domain: &Domain, name: &str) -> Result<()> {
        txn.delete(&domain_check_key(domain.id, name)?)
    }

    /// Drops a domain with its CHECKs (the caller has dealt with what uses it).
    pub fn drop_domain(&self, txn: &Transaction, id: RelId) -> Result<()> {
        let row = self.relation_row(txn, id)?;
        Catalog::delete_prefix(txn, &sys_key(SYS_CONSTRAINTS, &[Value::Int4(id as i32)])?)?;
        txn.delete(&sys_key(SYS_DOMAINS, &[Value::Int4(id as i32)])?)?;
        self.delete_relation(txn, &row)
    }
}

fn domain_check_key(id: RelId, name: &str) -> Result<Vec<u8>> {
    sys_key(SYS_CONSTRAINTS, &[Value::Int4(id as i32), Value::from(name)])
}
