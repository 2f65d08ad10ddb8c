//! Compact row encoding.
//!
//! A row is stored as the number of columns followed by one tagged value per column:
//!
//! ```text
//!   varint(n) | tag value | tag value | ...
//!   (7, 'ab', NULL)  ->  03 | 04 0e | 09 02 61 62 | 00
//!                             int4 zigzag(7)=14   text len=2   null
//! ```
//!
//! Integers are zigzag varints, text and bytea are length-prefixed, floats are fixed-width
//! little-endian. Each value carries a one-byte tag, so a row decodes without its schema, a
//! corrupt row is detected rather than misread, and a row written before `ALTER TABLE ... ADD
//! COLUMN` simply has fewer columns: the reader fills the missing trailing ones from the
//! catalog (the column's default at the time it was added), with no rewrite of old rows.
//! Dropped columns keep their slot (as PostgreSQL's `attisdropped`), so positions never shift.

use bigdecimal::BigDecimal;
use bigdecimal::num_bigint::BigInt;

use crate::value::{Array, DataType, EnumType, EnumValue, Interval, Numeric, Value};
use crate::{Result, errdata};

const T_NULL: u8 = 0;
const T_FALSE: u8 = 1;
const T_TRUE: u8 = 2;
const T_INT2: u8 = 3;
const T_INT4: u8 = 4;
const T_INT8: u8 = 5;
const T_FLOAT4: u8 = 6;
const T_FLOAT8: u8 = 7;
const T_NUMERIC: u8 = 8;
const T_TEXT: u8 = 9;
const T_BYTEA: u8 = 10;
const T_DATE: u8 = 11;
const T_TIME: u8 = 12;
const T_TIMESTAMP: u8 = 13;
const T_TIMESTAMPTZ: u8 = 14;
const T_INTERVAL: u8 = 15;
const T_UUID: u8 = 16;
const T_JSON: u8 = 17;
const T_JSONB: u8 = 18;
const T_ARRAY: u8 = 19;
const T_ENUM: u8 = 20;
const T_RECORD: u8 = 21;
const T_INET: u8 = 22;
/// Added to a time type's tag when the type has a declared precision (a byte follows).
const TIME_PRECISION_TAG: u8 = 150;

/// PostgreSQL's numeric holds at most 16383 digits after the point; anything far beyond is
/// corruption, and rejecting it keeps a bad scale from exploding when the value is printed.
const MAX_NUMERIC_SCALE: i64 = 1 << 17;

const NUMERIC_FINITE: u8 = 0;
const NUMERIC_NAN: u8 = 1;
const NUMERIC_INF: u8 = 2;
const NUMERIC_NEG_INF: u8 = 3;

/// Encodes a row of values.
pub fn encode_row(values: &[Value]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + values.len() * 6);
    encode_row_into(&mut out, values);
    out
}

/// Appends the encoding of a row of values.
pub fn encode_row_into(out: &mut Vec<u8>, values: &[Value]) {
    write_varint(out, values.len() as u64);
    for v in values {
        encode_tagged(out, v);
    }
}

/// Decodes a row written by [`encode_row`].
pub fn decode_row(mut input: &[u8]) -> Result<Vec<Value>> {
    let n = read_varint(&mut input)?;
    if n > input.len() as u64 {
        return Err(errdata!("invalid row: {n} columns in {} bytes", input.len()));
    }
    let mut values = Vec::with_capacity(n as usize);
    for _ in 0..n {
        values.push(decode_tagged(&mut input)?);
    }
    if !input.is_empty() {
        return Err(errdata!("invalid row: {} trailing bytes", input.len()));
    }
    Ok(values)
}

/// Decodes the columns of a row written by [`encode_row`] that `wanted` marks; the others
/// (and any past `wanted`'s end) are skipped over and read as NULL: a query that reads two
/// columns of a wide row copies no text it does not use.
pub fn decode_row_columns(mut input: &[u8], wanted: &[bool]) -> Result<Vec<Value>> {
    let n = read_varint(&mut input)?;
    if n > input.len() as u64 {
        return Err(errdata!("invalid row: {n} columns in {} bytes", input.len()));
    }
    let mut values = Vec::with_capacity(n as usize);
    for i in 0..n as usize {
        if wanted.get(i).copied().unwrap_or(false) {
            values.push(decode_tagged(&mut input)?);
        } else {
            skip_tagged(&mut input)?;
            values.push(Value::Null);
        }
    }
    if !input.is_empty() {
        return Err(errdata!("invalid row: {} trailing bytes", input.len()));
    }
    Ok(values)
}

/// Steps over one tagged value without building it where its length says where it ends.
fn skip_tagged(input: &mut &[u8]) -> Result<()> {
    match input.first() {
        Some(&(T_TEXT | T_BYTEA | T_JSON | T_JSONB)) => {
            *input = &input[1..];
            bytes(input).map(drop)
        }
        _ => decode_tagged(input).map(drop),
    }
}

fn encode_tagged(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => out.push(T_NULL),
        Value::Bool(false) => out.push(T_FALSE),
        Value::Bool(true) => out.push(T_TRUE),
        Value::Int2(v) => {
            out.push(T_INT2);
            out.extend_from_slice(&v.to_le_bytes());
        }
        Value::Int4(v) => tagged_varint(out, T_INT4, *v as i64),
        Value::Int8(v) => tagged_varint(out, T_INT8, *v),
        Value::Float4(v) => {
            out.push(T_FLOAT4);
            out.extend_from_slice(&v.to_le_bytes());
        }
        Value::Float8(v) => {
            out.push(T_FLOAT8);
            out.extend_from_slice(&v.to_le_bytes());
        }
        Value::Numeric(n) => {
            out.push(T_NUMERIC);
            encode_numeric(out, n);
        }
        Value::Text(s) => tagged_bytes(out, T_TEXT, s.as_bytes()),
        Value::Bytea(b) => tagged_bytes(out, T_BYTEA, b),
        Value::Date(v) => tagged_varint(out, T_DATE, *v as i64),
        Value::Time(v) => tagged_varint(out, T_TIME, *v),
        Value::Timestamp(v) => tagged_varint(out, T_TIMESTAMP, *v),
        Value::TimestampTz(v) => tagged_varint(out, T_TIMESTAMPTZ, *v),
        Value::Interval(i) => {
            out.push(T_INTERVAL);
            write_varint(out, zigzag(i.months as i64));
            write_varint(out, zigzag(i.days as i64));
            write_varint(out, zigzag(i.micros));
        }
        Value::Uuid(u) => {
            out.push(T_UUID);
            out.extend_from_slice(u);
        }
        Value::Json(s) => tagged_bytes(out, T_JSON, s.as_bytes()),
        Value::Jsonb(s) => tagged_bytes(out, T_JSONB, s.as_bytes()),
        Value::Array(a) => {
            out.push(T_ARRAY);
            encode_type(out, &a.element_type);
            write_varint(out, a.elements.len() as u64);
            for e in &a.elements {
                encode_tagged(out, e);
            }
        }
        Value::Enum(e) => {
            out.push(T_ENUM);
            out.extend_from_slice(&e.order.to_le_bytes());
            write_varint(out, e.label.len() as u64);
            out.extend_from_slice(e.label.as_bytes());
        }
        Value::Record(fields) => {
            out.push(T_RECORD);
            encode_row_into(out, fields);
        }
        Value::Inet(i) => {
            out.push(T_INET);
            out.push(u8::from(i.v6) | (u8::from(i.cidr) << 1));
            out.push(i.bits);
            out.extend_from_slice(i.bytes());
        }
    }
}

fn decode_tagged(input: &mut &[u8]) -> Result<Value> {
    decode_tagged_at(input, 0)
}

fn decode_tagged_at(input: &mut &[u8], depth: usize) -> Result<Value> {
    Ok(match byte(input)? {
        T_NULL => Value::Null,
        T_FALSE => Value::Bool(false),
        T_TRUE => Value::Bool(true),
        T_INT2 => Value::Int2(i16::from_le_bytes(array(input)?)),
        T_INT4 => Value::Int4(narrow(read_zigzag(input)?)?),
        T_INT8 => Value::Int8(read_zigzag(input)?),
        T_FLOAT4 => Value::Float4(f32::from_le_bytes(array(input)?)),
        T_FLOAT8 => Value::Float8(f64::from_le_bytes(array(input)?)),
        T_NUMERIC => Value::Numeric(Box::new(decode_numeric(input)?)),
        T_TEXT => Value::Text(string(input)?),
        T_BYTEA => Value::Bytea(bytes(input)?.to_vec()),
        T_DATE => Value::Date(narrow(read_zigzag(input)?)?),
        T_TIME => Value::Time(read_zigzag(input)?),
        T_TIMESTAMP => Value::Timestamp(read_zigzag(input)?),
        T_TIMESTAMPTZ => Value::TimestampTz(read_zigzag(input)?),
        T_INTERVAL => Value::Interval(Interval {
            months: narrow(read_zigzag(input)?)?,
            days: narrow(read_zigzag(input)?)?,
            micros: read_zigzag(input)?,
        }),
        T_UUID => Value::Uuid(array(input)?),
        T_JSON => Value::Json(string(input)?),
        T_JSONB => Value::Jsonb(string(input)?),
        T_ARRAY => {
            let element_type = decode_type(input)?;
            let n = read_varint(input)?;
            if n > input.len() as u64 {
                return Err(errdata!(
                    "invalid row: array of {n} elements in {} bytes",
                    input.len()
                ));
            }
            let elements = decode_nested(input, n, depth)?;
            Value::Array(Box::new(Array { element_type, elements }))
        }
        T_ENUM => {
            let order = f64::from_le_bytes(array(input)?);
            Value::Enum(Box::new(EnumValue { order, label: string(input)? }))
        }
        T_INET => {
            let flags = byte(input)?;
            let bits = byte(input)?;
            let v6 = flags & 1 != 0;
            let mut addr = [0u8; 16];
            let len = if v6 { 16 } else { 4 };
            if flags > 3 || bits > if v6 { 128 } else { 32 } || input.len() < len {
                return Err(errdata!("invalid row: bad inet value"));
            }
            addr[..len].copy_from_slice(&input[..len]);
            *input = &input[len..];
            Value::Inet(crate::value::Inet { v6, bits, addr, cidr: flags & 2 != 0 })
        }
        T_RECORD => {
            let n = read_varint(input)?;
            if n > input.len() as u64 {
                return Err(errdata!("invalid row: record of {n} fields in {} bytes", input.len()));
            }
            let fields = decode_nested(input, n, depth)?;
            Value::Record(Box::new(fields))
        }
        tag => return Err(errdata!("invalid row: unknown value tag {tag}")),
    })
}

/// The `n` values inside an array or record at `depth`, refusing nesting deeper than
/// [`MAX_NESTING`] (a corrupt row must not recurse without bound).
fn decode_nested(input: &mut &[u8], n: u64, depth: usize) -> Result<Vec<Value>> {
    if depth >= MAX_NESTING {
        return Err(errdata!("invalid row: values nested deeper than {MAX_NESTING}"));
    }
    (0..n).map(|_| decode_tagged_at(input, depth + 1)).collect()
}

fn encode_numeric(out: &mut Vec<u8>, n: &Numeric) {
    match n {
        Numeric::NaN => out.push(NUMERIC_NAN),
        Numeric::Infinity => out.push(NUMERIC_INF),
        Numeric::NegInfinity => out.push(NUMERIC_NEG_INF),
        Numeric::Finite(d) => {
            out.push(NUMERIC_FINITE);
            let (int, scale) = d.as_bigint_and_exponent();
            write_varint(out, zigzag(scale));
            let mantissa = int.to_signed_bytes_le();
            write_varint(out, mantissa.len() as u64);
            out.extend_from_slice(&mantissa);
        }
    }
}

fn decode_numeric(input: &mut &[u8]) -> Result<Numeric> {
    Ok(match byte(input)? {
        NUMERIC_NAN => Numeric::NaN,
        NUMERIC_INF => Numeric::Infinity,
        NUMERIC_NEG_INF => Numeric::NegInfinity,
        NUMERIC_FINITE => {
            let scale = read_zigzag(input)?;
            if scale.abs() > MAX_NUMERIC_SCALE {
                return Err(errdata!("invalid row: numeric scale {scale} out of range"));
            }
            let mantissa = BigInt::from_signed_bytes_le(bytes(input)?);
            Numeric::Finite(BigDecimal::new(mantissa, scale))
        }
        b => return Err(errdata!("invalid row: bad numeric class {b}")),
    })
}

/// Appends a compact binary encoding of a data type (used for array element types).
pub fn encode_type(out: &mut Vec<u8>, ty: &DataType) {
    match ty {
        DataType::Bool => out.push(T_TRUE),
        DataType::Int2 => out.push(T_INT2),
        DataType::Int4 => out.push(T_INT4),
        DataType::Int8 => out.push(T_INT8),
        DataType::Oid => out.push(T_INT8 + 100),
        DataType::InternalChar => out.push(T_TEXT + 102),
        DataType::TsVector => out.push(T_TEXT + 103),
        DataType::TsQuery => out.push(T_TEXT + 104),
        DataType::Name => out.push(T_TEXT + 105),
        DataType::Int2Vector => out.push(T_INT2 + 100),
        DataType::OidVector => out.push(T_INT8 + 101),
        DataType::Float4 => out.push(T_FLOAT4),
        DataType::Float8 => out.push(T_FLOAT8),
        DataType::Numeric(ps) => {
            out.push(T_NUMERIC);
            let (p, s) = ps.map_or((0, 0), |(p, s)| (p as u64 + 1, s as u64));
            write_varint(out, p);
            write_varint(out, s);
        }
        DataType::Text => out.push(T_TEXT),
        DataType::Varchar(n) => {
            out.push(T_TEXT + 100);
            write_varint(out, n.map_or(0, |n| n as u64 + 1));
        }
        DataType::Char(n) => {
            out.push(T_TEXT + 101);
            write_varint(out, *n as u64);
        }
        DataType::Bytea => out.push(T_BYTEA),
        DataType::Date => out.push(T_DATE),
        DataType::Time(p)
        | DataType::Timestamp(p)
        | DataType::TimestampTz(p)
        | DataType::Interval(p) => {
            let tag = match ty {
                DataType::Time(_) => T_TIME,
                DataType::Timestamp(_) => T_TIMESTAMP,
                DataType::TimestampTz(_) => T_TIMESTAMPTZ,
                _ => T_INTERVAL,
            };
            match p {
                None => out.push(tag),
                // A declared precision follows a tag of its own.
                Some(p) => out.extend_from_slice(&[tag + TIME_PRECISION_TAG, *p]),
            }
        }
        DataType::Uuid => out.push(T_UUID),
        DataType::Json => out.push(T_JSON),
        DataType::Jsonb => out.push(T_JSONB),
        DataType::Array(e) => {
            out.push(T_ARRAY);
            encode_type(out, e);
        }
        DataType::Enum(e) => {
            out.push(T_ENUM);
            write_varint(out, e.id as u64);
        }
        DataType::Inet => out.push(T_INET),
        DataType::Cidr => out.push(T_INET + 100),
        DataType::Record(record) => {
            out.push(T_RECORD);
            write_varint(out, record.fields.len() as u64);
            for (name, ty) in &record.fields {
                write_varint(out, name.len() as u64);
                out.extend_from_slice(name.as_bytes());
                encode_type(out, ty);
            }
        }
    }
}

/// Arrays and records nest at most this deep; deeper input is rejected rather than
/// recursed into. A column's type is refused where its values could nest deeper
/// ([`nesting_depth`]), so every row written can be read back; and so can be printed:
/// each level of a record's text form doubles the quotes inside it (as PostgreSQL's), so
/// the text of a value this deep is up to 2^24 times its fields' size.
pub const MAX_NESTING: usize = 24;

/// How deep the values of a type nest: 0 for a scalar, one more for each array or record
/// around it (a record as deep as its deepest field).
pub fn nesting_depth(ty: &DataType) -> usize {
    match ty {
        DataType::Array(e) => 1 + nesting_depth(e),
        DataType::Record(r) => {
            1 + r.fields.iter().map(|(_, t)| nesting_depth(t)).max().unwrap_or(0)
        }
        _ => 0,
    }
}

/// Reads a data type written by [`encode_type`].
pub fn decode_type(input: &mut &[u8]) -> Result<DataType> {
    decode_type_at(input, 0)
}

fn decode_type_at(input: &mut &[u8], depth: usize) -> Result<DataType> {
    if depth > MAX_NESTING {
        return Err(errdata!("invalid type encoding: types nested deeper than {MAX_NESTING}"));
    }
    Ok(match byte(input)? {
        T_TRUE => DataType::Bool,
        T_INT2 => DataType::Int2,
        T_INT4 => DataType::Int4,
        T_INT8 => DataType::Int8,
        t if t == T_INT8 + 100 => DataType::Oid,
        t if t == T_TEXT + 102 => DataType::InternalChar,
        t if t == T_TEXT + 103 => DataType::TsVector,
        t if t == T_TEXT + 104 => DataType::TsQuery,
        t if t == T_TEXT + 105 => DataType::Name,
        t if t == T_INT2 + 100 => DataType::Int2Vector,
        t if t == T_INT8 + 101 => DataType::OidVector,
        T_FLOAT4 => DataType::Float4,
        T_FLOAT8 => DataType::Float8,
        T_NUMERIC => {
            let (p, s) = (read_varint(input)?, read_varint(input)?);
            match p {
                0 => DataType::Numeric(None),
                p => DataType::Numeric(Some((narrow(p as i64 - 1)?, narrow(s as i64)?))),
            }
        }
        T_TEXT => DataType::Text,
        t if t == T_TEXT + 100 => match read_varint(input)? {
            0 => DataType::Varchar(None),
            n => DataType::Varchar(Some(narrow(n as i64 - 1)?)),
        },
        t if t == T_TEXT + 101 => DataType::Char(narrow(read_varint(input)? as i64)?),
        T_BYTEA => DataType::Bytea,
        T_DATE => DataType::Date,
        T_TIME => DataType::Time(None),
        T_TIMESTAMP => DataType::Timestamp(None),
        T_TIMESTAMPTZ => DataType::TimestampTz(None),
        T_INTERVAL => DataType::Interval(None),
        t if [T_TIME, T_TIMESTAMP, T_TIMESTAMPTZ, T_INTERVAL]
            .contains(&t.wrapping_sub(TIME_PRECISION_TAG)) =>
        {
            let p = Some(byte(input)?).filter(|p| *p <= crate::value::MAX_TIME_PRECISION);
            let p = p.ok_or_else(|| errdata!("invalid type encoding: time precision"))?;
            match t - TIME_PRECISION_TAG {
                T_TIME => DataType::Time(Some(p)),
                T_TIMESTAMP => DataType::Timestamp(Some(p)),
                T_TIMESTAMPTZ => DataType::TimestampTz(Some(p)),
                _ => DataType::Interval(Some(p)),
            }
        }
        T_UUID => DataType::Uuid,
        T_JSON => DataType::Json,
        T_JSONB => DataType::Jsonb,
        T_ARRAY => DataType::Array(Box::new(decode_type_at(input, depth + 1)?)),
        // The id alone: the values carry their labels, and the catalog the rest.
        T_ENUM => DataType::Enum(std::sync::Arc::new(EnumType {
            id: narrow(read_varint(input)? as i64)?,
            schema: String::new(),
            type_name: String::new(),
            labels: Vec::new(),
        })),
        T_INET => DataType::Inet,
        t if t == T_INET + 100 => DataType::Cidr,
        T_RECORD => {
            let n = read_varint(input)?;
            if n > input.len() as u64 {
                return Err(errdata!("invalid type encoding: {n} fields in {} bytes", input.len()));
            }
            let fields = (0..n)
                .map(|_| Ok((string(input)?, decode_type_at(input, depth + 1)?)))
                .collect::<Result<_>>()?;
            DataType::Record(std::sync::Arc::new(crate::value::RecordType::anonymous(fields)))
        }
        t => return Err(errdata!("invalid type encoding: tag {t}")),
    })
}

fn tagged_varint(out: &mut Vec<u8>, tag: u8, v: i64) {
    out.push(tag);
    write_varint(out, zigzag(v));
}

fn tagged_bytes(out: &mut Vec<u8>, tag: u8, b: &[u8]) {
    out.push(tag);
    write_varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn read_zigzag(input: &mut &[u8]) -> Result<i64> {
    let v = read_varint(input)?;
    Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
}

fn narrow<T: TryFrom<i64>>(v: i64) -> Result<T> {
    T::try_from(v).map_err(|_| errdata!("invalid row: value {v} out of range for its type"))
}

/// Appends an unsigned LEB128 varint.
pub fn write_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Reads an unsigned LEB128 varint.
pub fn read_varint(input: &mut &[u8]) -> Result<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = byte(input)?;
        v |= ((b & 0x7F) as u64) << shift;
        if b & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(errdata!("invalid varint: longer than 10 bytes"))
}

fn byte(input: &mut &[u8]) -> Result<u8> {
    let (&b, rest) = input.split_first().ok_or_else(|| errdata!("invalid row: unexpected end"))?;
    *input = rest;
    Ok(b)
}

fn array<const N: usize>(input: &mut &[u8]) -> Result<[u8; N]> {
    let b = take(input, N)?;
    let mut a = [0u8; N];
    a.copy_from_slice(b);
    Ok(a)
}

fn take<'a>(input: &mut &'a [u8], n: usize) -> Result<&'a [u8]> {
    if input.len() < n {
        return Err(errdata!("invalid row: {n} bytes wanted, {} left", input.len()));
    }
    let (head, rest) = input.split_at(n);
    *input = rest;
    Ok(head)
}

/// Reads a varint length followed by that many bytes.
pub fn bytes<'a>(input: &mut &'a [u8]) -> Result<&'a [u8]> {
    let n = read_varint(input)?;
    let n = usize::try_from(n).map_err(|_| errdata!("invalid length {n}"))?;
    take(input, n)
}

fn string(input: &mut &[u8]) -> Result<String> {
    String::from_utf8(bytes(input)?.to_vec())
        .map_err(|_| errdata!("invalid row: text is not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn sample_values() -> Vec<Value> {
        vec![
            Value::Null,
            Value::Bool(true),
            Value::Bool(false),
            Value::Int2(-7),
            Value::Int4(i32::MIN),
            Value::Int8(i64::MAX),
            Value::Float4(1.5),
            Value::Float8(-2.25e100),
            Value::Numeric(Box::new(Numeric::Finite(BigDecimal::from_str("-123.4500").unwrap()))),
            Value::Numeric(Box::new(Numeric::NaN)),
            Value::from("héllo"),
            Value::Bytea(vec![0, 1, 255]),
            Value::Date(-730_000),
            Value::Time(86_399_999_999),
            Value::Timestamp(i64::MIN),
            Value::TimestampTz(1_000_000),
            Value::Interval(Interval { months: -1, days: 2, micros: 3 }),
            Value::Uuid([9; 16]),
            Value::Json(r#"{"a": 1}"#.into()),
            Value::Jsonb(r#"{"a":1}"#.into()),
            Value::Array(Box::new(Array {
                element_type: DataType::Numeric(Some((10, 2))),
                elements: vec![Value::Null, Value::Numeric(Box::new(Numeric::Infinity))],
            })),
            Value::Record(Box::new(vec![
                Value::Int4(1),
                Value::Null,
                Value::Record(Box::new(vec![Value::from("in"), Value::Bool(false)])),
            ])),
        ]
    }

    #[test]
    fn round_trips_every_type() {
        let row = sample_values();
        let decoded = decode_row(&encode_row(&row)).unwrap();
        assert_eq!(decoded, row);
        // Numeric keeps its written scale in rows (unlike keys).
        if let Value::Numeric(n) = &decoded[8] {
            assert_eq!(
                format!("{n:?}"),
                format!("{:?}", Numeric::Finite(BigDecimal::from_str("-123.4500").unwrap()))
            );
        }
    }

    #[test]
    fn decoding_some_columns_skips_the_others_exactly() {
        let row = sample_values();
        let bytes = encode_row(&row);
        for pick in 0..row.len() {
            // Every other column, starting at `pick`, plus one past the end.
            let wanted: Vec<bool> =
                (0..=row.len()).map(|i| i >= pick && (i - pick) % 2 == 0).collect();
            let decoded = decode_row_columns(&bytes, &wanted).unwrap();
            let expected: Vec<Value> = row
                .iter()
                .enumerate()
                .map(|(i, v)| if wanted[i] { v.clone() } else { Value::Null })
                .collect();
            assert_eq!(decoded, expected, "wanted {wanted:?}");
        }
        for cut in 0..bytes.len() {
            assert!(decode_row_columns(&bytes[..cut], &[false; 3]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn row_is_compact() {
        let row = vec![Value::Int4(7), Value::from("ab"), Value::Null];
        assert_eq!(encode_row(&row), vec![3, T_INT4, 14, T_TEXT, 2, b'a', b'b', T_NULL]);
    }

    #[test]
    fn every_truncation_and_bad_tag_is_an_error_not_a_panic() {
        let bytes = encode_row(&sample_values());
        for cut in 0..bytes.len() {
            assert!(decode_row(&bytes[..cut]).is_err(), "cut at {cut} decoded");
        }
        let mut bad = bytes.clone();
        bad[1] = 200;
        assert!(decode_row(&bad).is_err());
        let mut extra = bytes;
        extra.push(0);
        assert!(decode_row(&extra).is_err());
    }

    #[test]
    fn random_bytes_never_panic() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        for _ in 0..20_000 {
            let len = rng.random_range(0..24);
            let bytes: Vec<u8> = (0..len).map(|_| rng.random()).collect();
            let _ = decode_row(&bytes);
        }
    }

    #[test]
    fn deeply_nested_values_are_refused_not_recursed_into() {
        // A record inside a record ... 10,000 deep: a corrupt row must not blow the stack.
        let mut bytes = vec![1];
        for _ in 0..10_000 {
            bytes.extend_from_slice(&[T_RECORD, 1]);
        }
        bytes.push(T_NULL);
        assert!(decode_row(&bytes).unwrap_err().to_string().contains("nested deeper"));
    }

    #[test]
    fn types_round_trip() {
        for ty in [
            DataType::Numeric(None),
            DataType::Numeric(Some((12, 3))),
            DataType::Varchar(None),
            DataType::Varchar(Some(0)),
            DataType::Char(5),
            DataType::Time(Some(2)),
            DataType::Timestamp(Some(0)),
            DataType::TimestampTz(Some(6)),
            DataType::Interval(Some(3)),
            DataType::TimestampTz(None),
            DataType::Array(Box::new(DataType::Timestamp(Some(1)))),
            DataType::Array(Box::new(DataType::Array(Box::new(DataType::Uuid)))),
            DataType::Record(std::sync::Arc::new(crate::value::RecordType {
                fields: vec![
                    ("a".into(), DataType::Int4),
                    ("b".into(), DataType::Record(std::sync::Arc::default())),
                ],
                ..Default::default()
            })),
        ] {
            let mut out = Vec::new();
            encode_type(&mut out, &ty);
            assert_eq!(decode_type(&mut out.as_slice()).unwrap(), ty);
        }
        // A precision over six, or none at all, is a corrupt encoding.
        let bad = [T_TIMESTAMP + TIME_PRECISION_TAG, 7];
        assert!(decode_type(&mut bad.as_slice()).is_err());
        let cut = [T_TIME + TIME_PRECISION_TAG];
        assert!(decode_type(&mut cut.as_slice()).is_err());
    }
}
