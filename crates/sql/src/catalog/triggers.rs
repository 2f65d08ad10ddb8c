//! Triggers (`CREATE TRIGGER`): a function run before or after a table's rows change, kept
//! in `sys_triggers` keyed by (table id, trigger name) and loaded with the table, so a
//! statement finds its table's triggers without another lookup. Their bits follow
//! PostgreSQL's `pg_trigger.tgtype`.

use std::sync::{Arc, OnceLock};

use oxibase_common::row::{decode_row, encode_row};
use oxibase_common::{Result, Value, errdata, errinput};
use oxibase_mvcc::Transaction;

use super::system::{SYS_TRIGGERS, sys_key};
use super::{Catalog, claim_name};
use crate::keys::{RelId, relation_prefix};
use crate::procedure::Routine;

/// FOR EACH ROW (else FOR EACH STATEMENT).
pub const ROW: i16 = 1;
/// BEFORE (neither this nor [`INSTEAD`]: AFTER).
pub const BEFORE: i16 = 2;
/// ON INSERT
pub const INSERT: i16 = 4;
/// ON DELETE
pub const DELETE: i16 = 8;
/// ON UPDATE
pub const UPDATE: i16 = 16;
/// ON TRUNCATE
pub const TRUNCATE: i16 = 32;
/// INSTEAD OF
pub const INSTEAD: i16 = 64;

/// A trigger.
#[derive(Debug)]
pub struct Trigger {
    /// Its object id.
    pub id: RelId,
    /// The table it is on.
    pub table_id: RelId,
    /// Its name (unique per table).
    pub name: String,
    /// When it fires: PostgreSQL's `tgtype` bits.
    pub tgtype: i16,
    /// The function it calls: schema and name.
    pub function: (String, String),
    /// The arguments given in CREATE TRIGGER (TG_ARGV).
    pub args: Vec<String>,
    /// WHEN (condition), as SQL over NEW and OLD.
    pub when: Option<String>,
    /// UPDATE OF these columns only (empty: any UPDATE).
    pub columns: Vec<String>,
    /// False after ALTER TABLE ... DISABLE TRIGGER.
    pub enabled: bool,
    /// The function, once a statement has looked it up.
    pub routine: OnceLock<Arc<Routine>>,
}

impl PartialEq for Trigger {
    fn eq(&self, other: &Trigger) -> bool {
        self.id == other.id
            && self.name == other.name
            && self.tgtype == other.tgtype
            && self.function == other.function
            && self.args == other.args
            && self.when == other.when
            && self.columns == other.columns
            && self.enabled == other.enabled
    }
}

impl Trigger {
    /// True when it fires for `event` ([`INSERT`], [`UPDATE`], [`DELETE`]) at this timing
    /// and level.
    pub fn fires(&self, event: i16, before: bool, row: bool) -> bool {
        self.enabled
            && self.tgtype & event != 0
            && (self.tgtype & BEFORE != 0) == before
            && (self.tgtype & ROW != 0) == row
    }

    /// BEFORE, AFTER or INSTEAD OF.
    pub fn timing(&self) -> &'static str {
        if self.tgtype & BEFORE != 0 {
            "BEFORE"
        } else if self.tgtype & INSTEAD != 0 {
            "INSTEAD OF"
        } else {
            "AFTER"
        }
    }

    /// ROW or STATEMENT.
    pub fn level(&self) -> &'static str {
        if self.tgtype & ROW != 0 { "ROW" } else { "STATEMENT" }
    }

    /// Its events, as CREATE TRIGGER writes them (`INSERT OR UPDATE OF a`).
    pub fn events(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.tgtype & INSERT != 0 {
            out.push("INSERT".to_string());
        }
        if self.tgtype & DELETE != 0 {
            out.push("DELETE".to_string());
        }
        if self.tgtype & UPDATE != 0 {
            if self.columns.is_empty() {
                out.push("UPDATE".to_string());
            } else {
                let columns: Vec<String> = self
                    .columns
                    .iter()
                    .map(|c| crate::functions::string::quote_identifier(c))
                    .collect();
                out.push(format!("UPDATE OF {}", columns.join(", ")));
            }
        }
        if self.tgtype & TRUNCATE != 0 {
            out.push("TRUNCATE".to_string());
        }
        out
    }

    /// `CREATE TRIGGER ...` as `pg_get_triggerdef` shows it.
    pub fn definition(&self, table: &str, function: &str) -> String {
        let when = self.when.as_ref().map_or(String::new(), |w| format!(" WHEN ({w})"));
        let args: Vec<String> =
            self.args.iter().map(|a| format!("'{}'", a.replace('\'', "''"))).collect();
        format!(
            "CREATE TRIGGER {} {} {} ON {table} FOR EACH {}{when} EXECUTE FUNCTION {}({})",
            crate::functions::string::quote_identifier(&self.name),
            self.timing(),
            self.events().join(" OR "),
            self.level(),
            function,
            args.join(", ")
        )
    }
}

fn texts(items: &[String]) -> Value {
    super::routines::text_array(items.iter().cloned())
}

fn strings(value: &Value) -> Result<Vec<String>> {
    super::routines::text_list(value, "sys_triggers")
}

fn key(table_id: RelId, name: &str) -> Result<Vec<u8>> {
    sys_key(SYS_TRIGGERS, &[Value::Int4(table_id as i32), Value::from(name)])
}

fn encode(t: &Trigger) -> Vec<u8> {
    encode_row(&[
        Value::Int4(t.table_id as i32),
        Value::from(t.name.as_str()),
        Value::Int4(t.id as i32),
        Value::Int4(i32::from(t.tgtype)),
        Value::from(t.function.0.as_str()),
        Value::from(t.function.1.as_str()),
        texts(&t.args),
        t.when.as_deref().map_or(Value::Null, Value::from),
        texts(&t.columns),
        Value::Bool(t.enabled),
    ])
}

fn decode(bytes: &[u8]) -> Result<Trigger> {
    let row = decode_row(bytes)?;
    let [
        Value::Int4(table_id),
        Value::Text(name),
        Value::Int4(id),
        Value::Int4(tgtype),
        Value::Text(schema),
        Value::Text(function),
        args,
        when,
        columns,
        Value::Bool(enabled),
    ] = row.as_slice()
    else {
        return Err(errdata!("invalid sys_triggers row"));
    };
    Ok(Trigger {
        id: *id as RelId,
        table_id: *table_id as RelId,
        name: name.clone(),
        tgtype: *tgtype as i16,
        function: (schema.clone(), function.clone()),
        args: strings(args)?,
        when: match when {
            Value::Text(w) => Some(w.clone()),
            _ => None,
        },
        columns: strings(columns)?,
        enabled: *enabled,
        routine: OnceLock::new(),
    })
}

impl Catalog {
    /// Stores a trigger (replacing one of the same name with OR REPLACE; 42710 otherwise).
    pub fn create_trigger(
        &self,
        txn: &Transaction,
        table_name: &str,
        mut trigger: Trigger,
        or_replace: bool,
    ) -> Result<()> {
        let key = key(trigger.table_id, &trigger.name)?;
        match txn.get(&key)? {
            Some(existing) if or_replace => trigger.id = decode(&existing)?.id,
            _ => {
                claim_name(txn, &key, || {
                    errinput!(
                        DUPLICATE_OBJECT,
                        "trigger \"{}\" for relation \"{table_name}\" already exists",
                        trigger.name
                    )
                })?;
                trigger.id = self.next_id()?;
            }
        }
        txn.put(&key, encode(&trigger))
    }

    /// A table's triggers, by name (the order they fire in).
    pub fn triggers_of(&self, txn: &Transaction, table_id: RelId) -> Result<Vec<Arc<Trigger>>> {
        let mut out = Vec::new();
        for item in txn.scan_prefix(&sys_key(SYS_TRIGGERS, &[Value::Int4(table_id as i32)])?)? {
            out.push(Arc::new(decode(&item?.1)?));
        }
        Ok(out)
    }

    /// Every trigger of every table.
    pub fn all_triggers(&self, txn: &Transaction) -> Result<Vec<Trigger>> {
        let mut out = Vec::new();
        for item in txn.scan_prefix(&relation_prefix(SYS_TRIGGERS))? {
            out.push(decode(&item?.1)?);
        }
        Ok(out)
    }

    /// Removes a trigger.
    pub fn drop_trigger(&self, txn: &Transaction, table_id: RelId, name: &str) -> Result<()> {
        txn.delete(&key(table_id, name)?)
    }

    /// Enables or disables a trigger.
    pub fn set_trigger_enabled(
        &self,
        txn: &Transaction,
        trigger: &Trigger,
        on: bool,
    ) -> Result<()> {
        let mut row = decode_row(&encode(trigger))?;
        row[9] = Value::Bool(on);
        txn.put(&key(trigger.table_id, &trigger.name)?, encode_row(&row))
    }

    /// Removes every trigger of a table.
    pub(super) fn drop_triggers_of(&self, txn: &Transaction, table_id: RelId) -> Result<()> {
        super::delete_prefix(txn, &sys_key(SYS_TRIGGERS, &[Value::Int4(table_id as i32)])?)?;
        Ok(())
    }
}
