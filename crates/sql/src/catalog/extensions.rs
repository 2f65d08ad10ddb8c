//! Extensions (`CREATE EXTENSION`): the ones whose functions Oxibase has built in, recorded
//! per database in `sys_extensions` so `pg_extension` lists them and `DROP EXTENSION` and
//! `COMMENT ON EXTENSION` find them. Installing one adds no code: the functions are always
//! there (see `functions::crypto`).

use oxibase_common::row::{decode_row, encode_row};
use oxibase_common::{Result, Value, errdata, errinput};
use oxibase_mvcc::Transaction;

use super::system::{SYS_COMMENTS, SYS_EXTENSIONS, sys_key};
use super::{Catalog, claim_name};
use crate::keys::{RelId, relation_prefix};

/// The extensions Oxibase provides, with the version PostgreSQL 15 installs.
pub const AVAILABLE: &[(&str, &str, &str)] = &[
    ("pgcrypto", "1.3", "cryptographic functions"),
    ("uuid-ossp", "1.1", "generate universally unique identifiers (UUIDs)"),
];

/// An installed extension.
#[derive(Clone, Debug, PartialEq)]
pub struct Extension {
    /// Its name.
    pub name: String,
    /// Its object id.
    pub id: RelId,
    /// The schema it was installed into.
    pub schema_id: RelId,
    /// Its version.
    pub version: String,
}

impl Catalog {
    /// Records an extension (the caller checked it is available); 42710 if installed.
    pub fn create_extension(&self, txn: &Transaction, name: &str, schema: &str) -> Result<()> {
        let schema_id = self.require_schema(txn, schema)?;
        let version = AVAILABLE
            .iter()
            .find(|(n, _, _)| *n == name)
            .map(|(_, v, _)| *v)
            .ok_or_else(|| errdata!("extension {name} is not available"))?;
        let key = sys_key(SYS_EXTENSIONS, &[Value::from(name)])?;
        claim_name(txn, &key, || {
            errinput!(DUPLICATE_OBJECT, "extension \"{name}\" already exists")
        })?;
        let id = self.next_id()?;
        let row = encode_row(&[
            Value::from(name),
            Value::Int4(id as i32),
            Value::Int4(schema_id as i32),
            Value::from(version),
        ]);
        txn.put(&key, row)
    }

    /// An installed extension by name.
    pub fn extension(&self, txn: &Transaction, name: &str) -> Result<Option<Extension>> {
        txn.get(&sys_key(SYS_EXTENSIONS, &[Value::from(name)])?)?
            .map(|row| decode_extension(&row))
            .transpose()
    }

    /// Every installed extension.
    pub fn extensions(&self, txn: &Transaction) -> Result<Vec<Extension>> {
        let mut out = Vec::new();
        for item in txn.scan_prefix(&relation_prefix(SYS_EXTENSIONS))? {
            out.push(decode_extension(&item?.1)?);
        }
        Ok(out)
    }

    /// Removes an extension and its comment.
    pub fn drop_extension(&self, txn: &Transaction, extension: &Extension) -> Result<()> {
        Catalog::delete_prefix(txn, &sys_key(SYS_COMMENTS, &[Value::Int4(extension.id as i32)])?)?;
        txn.delete(&sys_key(SYS_EXTENSIONS, &[Value::from(extension.name.as_str())])?)
    }
}

fn decode_extension(bytes: &[u8]) -> Result<Extension> {
    match decode_row(bytes)?.as_slice() {
        [Value::Text(name), Value::Int4(id), Value::Int4(schema_id), Value::Text(version)] => {
            Ok(Extension {
                name: name.clone(),
                id: *id as RelId,
                schema_id: *schema_id as RelId,
                version: version.clone(),
            })
        }
        _ => Err(errdata!("invalid sys_extensions row")),
    }
}
