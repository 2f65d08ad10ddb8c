//! Stored functions and procedures: rows of `sys_procedures`, keyed by (schema id, name).
//!
//! One routine per name in a schema: PostgreSQL's overloading by argument types is not
//! offered (a second `CREATE FUNCTION f(...)` with other types is refused with 42723 rather
//! than shadowing the first one silently).

use std::sync::Arc;

use oxibase_common::row::{decode_row, encode_row};
use oxibase_common::{Array, DataType, Result, Value, errdata, errinput};
use oxibase_mvcc::{LockMode, LockWait, Transaction};

use super::Catalog;
use super::system::{SYS_PROCEDURES, sys_key};
use crate::keys::{RelId, relation_prefix};
use crate::procedure::{Returns, Routine, RoutineKind};

impl Catalog {
    /// Creates a routine, or replaces one of the same kind (`OR REPLACE`); 42723 when the
    /// name is taken and `replace` is not given.
    pub fn create_routine(
        &self,
        txn: &Transaction,
        mut routine: Routine,
        replace: bool,
    ) -> Result<Routine> {
        let schema_id = self.require_schema(txn, &routine.schema)?;
        let key = routine_key(schema_id, &routine.name)?;
        txn.lock(&key, LockMode::Update, LockWait::Wait(None))?;
        match txn.get_latest(&key)? {
            Some(existing) if replace => {
                let old = decode_routine(&existing, routine.schema.clone(), &mut |t| {
                    self.resolve_type(txn, t)
                })?;
                check_replacement(&old, &routine)?;
                routine.id = old.id;
            }
            Some(existing) => {
                let old = decode_routine(&existing, routine.schema.clone(), &mut |t| {
                    self.resolve_type(txn, t)
                })?;
                return Err(errinput!(
                    DUPLICATE_FUNCTION,
                    "{} \"{}\" already exists",
                    old.kind.keyword().to_lowercase(),
                    old.signature()
                )
                .with_hint("Use CREATE OR REPLACE to change it, or DROP it first (one routine per name: overloading is not supported)."));
            }
            None => routine.id = self.next_id()?,
        }
        txn.put(&key, encode_routine(schema_id, &routine))?;
        Ok(routine)
    }

    /// Looks up a routine by schema and name.
    pub fn routine(&self, txn: &Transaction, schema: &str, name: &str) -> Result<Option<Routine>> {
        let Some(schema_id) = self.schema_id(txn, schema)? else { return Ok(None) };
        txn.get(&routine_key(schema_id, name)?)?
            .map(|bytes| {
                decode_routine(&bytes, schema.to_string(), &mut |t| self.resolve_type(txn, t))
            })
            .transpose()
    }

    /// Every routine, with its schema.
    pub fn routines(&self, txn: &Transaction) -> Result<Vec<Routine>> {
        let schemas = self.schemas(txn)?;
        let mut out = Vec::new();
        for item in txn.scan_prefix(&relation_prefix(SYS_PROCEDURES))? {
            let (_, bytes) = item?;
            let schema_id = match decode_row(&bytes)?.first() {
                Some(Value::Int4(id)) => *id as RelId,
                _ => return Err(errdata!("invalid sys_procedures row")),
            };
            let schema = schemas
                .iter()
                .find(|(id, _)| *id == schema_id)
                .map(|(_, n)| n.clone())
                .unwrap_or_default();
            out.push(decode_routine(&bytes, schema, &mut |t| self.resolve_type(txn, t))?);
        }
        Ok(out)
    }

    /// Drops a routine; false if there is none of that name.
    pub fn drop_routine(&self, txn: &Transaction, schema: &str, name: &str) -> Result<bool> {
        let Some(schema_id) = self.schema_id(txn, schema)? else { return Ok(false) };
        let key = routine_key(schema_id, name)?;
        txn.lock(&key, LockMode::Update, LockWait::Wait(None))?;
        let Some(routine) = self.routine(txn, schema, name)? else { return Ok(false) };
        // Its COMMENT ON goes with it, as a relation's does.
        Catalog::delete_prefix(
            txn,
            &sys_key(super::system::SYS_COMMENTS, &[Value::Int4(routine.id as i32)])?,
        )?;
        self.drop_object_acl(txn, super::acl::ObjectKind::Routine, routine.id)?;
        txn.delete(&key)?;
        Ok(true)
    }

    /// True when a schema holds routines (DROP SCHEMA without CASCADE refuses).
    pub fn schema_has_routines(&self, txn: &Transaction, schema_id: RelId) -> Result<bool> {
        let prefix = sys_key(SYS_PROCEDURES, &[Value::Int4(schema_id as i32)])?;
        Ok(txn.scan_prefix(&prefix)?.next().transpose()?.is_some())
    }
}

/// OR REPLACE keeps the kind and the result type, as PostgreSQL requires.
fn check_replacement(old: &Routine, new: &Routine) -> Result<()> {
    if old.kind != new.kind {
        return Err(errinput!(
            WRONG_OBJECT_TYPE,
            "cannot change routine kind: \"{}\" is a {}",
            old.name,
            old.kind.keyword().to_lowercase()
        ));
    }
    if old.returns != new.returns {
        return Err(errinput!(
            INVALID_FUNCTION_DEFINITION,
            "cannot change return type of existing function"
        )
        .with_hint(format!("Use DROP {} {} first.", old.kind.keyword(), old.signature())));
    }
    Ok(())
}

fn routine_key(schema_id: RelId, name: &str) -> Result<Vec<u8>> {
    sys_key(SYS_PROCEDURES, &[Value::Int4(schema_id as i32), Value::from(name)])
}

/// A text[] value for a catalog row.
pub(super) fn text_array(items: impl IntoIterator<Item = String>) -> Value {
    Value::Array(Box::new(Array {
        element_type: DataType::Text,
        elements: items.into_iter().map(Value::Text).collect(),
    }))
}

fn encode_routine(schema_id: RelId, r: &Routine) -> Vec<u8> {
    let row_kind;
    let (returns_kind, returns): (&str, Vec<(String, DataType)>) = match &r.returns {
        Returns::Void => ("void", vec![]),
        Returns::Trigger => ("trigger", vec![]),
        Returns::Value(t) => ("value", vec![(String::new(), t.clone())]),
        Returns::SetOf(t) => ("setof", vec![(String::new(), t.clone())]),
        Returns::Table(columns) => ("table", columns.clone()),
        Returns::Out(columns) => ("out", columns.clone()),
        Returns::SetOfRow(table, columns) => {
            row_kind = format!("row {table}");
            (row_kind.as_str(), columns.clone())
        }
    };
    encode_row(&[
        Value::Int4(schema_id as i32),
        Value::from(r.name.as_str()),
        Value::Int4(r.id as i32),
        Value::from(r.kind.code()),
        text_array(r.args.iter().map(|(n, _)| n.clone())),
        text_array(r.args.iter().map(|(_, t)| t.catalog_name())),
        Value::from(returns_kind),
        text_array(returns.iter().map(|(n, _)| n.clone())),
        text_array(returns.iter().map(|(_, t)| t.catalog_name())),
        Value::from(r.language.as_str()),
        Value::from(r.source.as_str()),
        Value::Bytea(r.module.as_ref().clone()),
        Value::from(r.hash.as_str()),
        Value::Bool(r.strict),
        Value::Text(r.volatility.to_string()),
        // Argument defaults (stop 36; older rows end before this value).
        Value::Array(Box::new(Array {
            element_type: DataType::Text,
            elements: r
                .defaults
                .iter()
                .map(|d| d.as_deref().map_or(Value::Null, Value::from))
                .collect(),
        })),
        // Which arguments are OUT parameters of a procedure (stop 38; older rows have none).
        Value::Array(Box::new(Array {
            element_type: DataType::Bool,
            elements: r.out_args.iter().map(|o| Value::Bool(*o)).collect(),
        })),
        // SECURITY DEFINER and the SET clauses (older rows end before these).
        Value::Bool(r.security_definer),
        Value::Array(Box::new(Array {
            element_type: DataType::Text,
            elements: r.config.iter().map(|(n, v)| Value::Text(format!("{n}={v}"))).collect(),
        })),
    ])
}

fn texts(value: &Value) -> Result<Vec<String>> {
    text_list(value, "sys_procedures")
}

/// The strings of a catalog row's text[] value (XX001 naming `table` otherwise).
pub(super) fn text_list(value: &Value, table: &str) -> Result<Vec<String>> {
    match value {
        Value::Array(a) => a
            .elements
            .iter()
            .map(|e| match e {
                Value::Text(s) => Ok(s.clone()),
                _ => Err(errdata!("invalid {table} row")),
            })
            .collect(),
        _ => Err(errdata!("invalid {table} row")),
    }
}

/// Resolves a type name as the catalog stores it.
type Resolve<'a> = &'a mut dyn FnMut(&str) -> Result<DataType>;

fn types(value: &Value, resolve: Resolve<'_>) -> Result<Vec<DataType>> {
    texts(value)?.iter().map(|t| resolve(t)).collect()
}

fn decode_routine(bytes: &[u8], schema: String, resolve: Resolve<'_>) -> Result<Routine> {
    let row = decode_row(bytes)?;
    let [
        _,
        Value::Text(name),
        Value::Int4(id),
        Value::Text(kind),
        arg_names,
        arg_types,
        Value::Text(returns_kind),
        returns_names,
        returns_types,
        Value::Text(language),
        Value::Text(source),
        Value::Bytea(module),
        Value::Text(hash),
        Value::Bool(strict),
        Value::Text(volatility),
        rest @ ..,
    ] = row.as_slice()
    else {
        return Err(errdata!("invalid sys_procedures row"));
    };
    let defaults = match rest.first() {
        Some(Value::Array(a)) => a
            .elements
            .iter()
            .map(|e| match e {
                Value::Text(s) => Some(s.clone()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    let out_args = match rest.get(1) {
        Some(Value::Array(a)) => {
            a.elements.iter().map(|e| matches!(e, Value::Bool(true))).collect()
        }
        _ => Vec::new(),
    };
    let returns: Vec<(String, DataType)> =
        texts(returns_names)?.into_iter().zip(types(returns_types, resolve)?).collect();
    let first = || {
        returns
            .first()
            .map(|(_, t)| t.clone())
            .ok_or_else(|| errdata!("invalid sys_procedures row"))
    };
    Ok(Routine {
        id: *id as RelId,
        schema,
        name: name.clone(),
        kind: if kind == "p" { RoutineKind::Procedure } else { RoutineKind::Function },
        args: texts(arg_names)?.into_iter().zip(types(arg_types, resolve)?).collect(),
        defaults,
        out_args,
        security_definer: matches!(rest.get(2), Some(Value::Bool(true))),
        config: match rest.get(3) {
            Some(Value::Array(a)) => a
                .elements
                .iter()
                .filter_map(|e| match e {
                    Value::Text(s) => {
                        s.split_once('=').map(|(n, v)| (n.to_string(), v.to_string()))
                    }
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        },
        returns: match returns_kind.as_str() {
            "void" => Returns::Void,
            "trigger" => Returns::Trigger,
            "out" => Returns::Out(returns.clone()),
            "value" => Returns::Value(first()?),
            "setof" => Returns::SetOf(first()?),
            kind => match kind.strip_prefix("row ") {
                // SETOF a table's row type: `row <table>`.
                Some(table) => Returns::SetOfRow(table.to_string(), returns.clone()),
                None => Returns::Table(returns.clone()),
            },
        },
        language: language.clone(),
        source: source.clone(),
        module: Arc::new(module.clone()),
        hash: hash.clone(),
        strict: *strict,
        volatility: volatility.chars().next().unwrap_or('v'),
        runtime_state: Default::default(),
    })
}
