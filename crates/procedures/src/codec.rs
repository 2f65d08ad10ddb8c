//! SQL values to and from the host ABI's encoding ([`oxibase_guest::abi`]).
//!
//! Host to guest, values are encoded straight into the guest's memory ([`encode_row_into`]);
//! guest to host, a decoded value is cast to the type the SQL side declared.

use oxibase_common::{DataType, Result, Value, errinput};
use oxibase_guest::abi::{self, Val, Writer};
use oxibase_sql::types::cast::{CastKind, cast};
use oxibase_sql::types::datetime::Zone;
use oxibase_sql::types::text::format_value;

/// How a SQL value travels: integers as INT, floats as FLOAT, bytea as BYTES, booleans as
/// BOOL, everything else as TEXT in PostgreSQL's text form.
enum Wire<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(std::borrow::Cow<'a, str>),
    Bytes(&'a [u8]),
}

fn wire(value: &Value) -> Wire<'_> {
    match value {
        Value::Null => Wire::Null,
        Value::Bool(b) => Wire::Bool(*b),
        Value::Int2(i) => Wire::Int(i64::from(*i)),
        Value::Int4(i) => Wire::Int(i64::from(*i)),
        Value::Int8(i) => Wire::Int(*i),
        Value::Float4(f) => Wire::Float(f64::from(*f)),
        Value::Float8(f) => Wire::Float(*f),
        Value::Text(s) => Wire::Text(s.as_str().into()),
        Value::Bytea(b) => Wire::Bytes(b),
        other => Wire::Text(format_value(other, &Zone::UTC).unwrap_or_default().into()),
    }
}

fn wire_len(w: &Wire) -> usize {
    1 + match w {
        Wire::Null => 0,
        Wire::Bool(_) => 1,
        Wire::Int(_) | Wire::Float(_) => 8,
        Wire::Text(s) => 4 + s.len(),
        Wire::Bytes(b) => 4 + b.len(),
    }
}

/// The encoded length of a row of SQL values.
pub fn row_len(row: &[Value]) -> usize {
    4 + row.iter().map(|v| wire_len(&wire(v))).sum::<usize>()
}

/// Encodes a row of SQL values into `out` (at least [`row_len`] bytes); returns the length.
pub fn encode_row_into(row: &[Value], out: &mut [u8]) -> usize {
    let mut w = Writer { out, at: 0 };
    w.put(&(row.len() as u32).to_le_bytes());
    for value in row {
        match wire(value) {
            Wire::Null => w.put(&[abi::NULL]),
            Wire::Bool(b) => w.put(&[abi::BOOL, u8::from(b)]),
            Wire::Int(i) => {
                w.put(&[abi::INT]);
                w.put(&i.to_le_bytes());
            }
            Wire::Float(f) => {
                w.put(&[abi::FLOAT]);
                w.put(&f.to_le_bytes());
            }
            Wire::Text(s) => w.bytes(abi::TEXT, s.as_bytes()),
            Wire::Bytes(b) => w.bytes(abi::BYTES, b),
        }
    }
    w.at
}

/// A guest value as a SQL parameter: text stays untyped text (the statement gives it a type).
pub fn param(v: Val) -> Value {
    match v {
        Val::Null => Value::Null,
        Val::Bool(b) => Value::Bool(b),
        Val::Int(i) => Value::Int8(i),
        Val::Float(f) => Value::Float8(f),
        Val::Text(s) => Value::Text(s),
        Val::Bytes(b) => Value::Bytea(b),
    }
}

/// A guest's result value, cast to the declared type (22P02 and friends when it does not fit).
pub fn result(v: Val, to: &DataType, routine: &str) -> Result<Value> {
    let value = param(v);
    if value.is_null() {
        return Ok(Value::Null);
    }
    cast(value, to, CastKind::Assignment, &Zone::UTC)
        .map_err(|e| e.with_detail(format!("in the result of {routine}()")))
}

/// Decodes a row the guest wrote.
pub fn decode(bytes: &[u8]) -> Result<Vec<Val>> {
    abi::decode(bytes).map_err(|e| errinput!(EXTERNAL_ROUTINE_EXCEPTION, "the routine sent an {e}"))
}
