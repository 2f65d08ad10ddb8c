//! Values on the wire: PostgreSQL's text and binary formats.
//!
//! Text is what `psql` shows (`format_value`), binary is each type's `send`/`recv`
//! representation: big-endian integers and floats, days and microseconds since 2000-01-01
//! for dates and timestamps, base-10000 digits for numeric, and the array header with
//! element OIDs for arrays.

use std::str::FromStr;

use bigdecimal::BigDecimal;
use oxibase_common::value::{Array, Interval, Numeric};
use oxibase_common::{DataType, Result, Value, errinput};
use oxibase_sql::types::datetime::{Zone, format_interval_iso};
use oxibase_sql::types::text::{format_value, parse_value};
use oxibase_sql::types::type_oid;

/// How a session's values print in text format.
#[derive(Clone, Debug)]
pub struct TextStyle {
    /// The time zone timestamps with time zone show in.
    pub zone: Zone,
    /// `IntervalStyle = iso_8601`: intervals as `P1DT2H` (scalars; elements of arrays keep
    /// PostgreSQL's style).
    pub iso_intervals: bool,
}

/// Encodes a value of type `ty` in text format (None for NULL).
pub fn encode_text(value: &Value, ty: Option<&DataType>, style: &TextStyle) -> Option<Vec<u8>> {
    match value {
        Value::Array(a) if ty.is_some_and(|t| t.vector_element().is_some()) => {
            Some(oxibase_sql::types::text::format_vector(a).into_bytes())
        }
        Value::Interval(iv) if style.iso_intervals => Some(format_interval_iso(iv).into_bytes()),
        _ => format_value(value, &style.zone).map(String::into_bytes),
    }
}

/// Decodes a text-format parameter.
pub fn decode_text(bytes: &[u8], ty: &DataType, zone: &Zone) -> Result<Value> {
    let text = std::str::from_utf8(bytes).map_err(|_| {
        errinput!(CHARACTER_NOT_IN_REPERTOIRE, "invalid byte sequence for encoding \"UTF8\"")
    })?;
    parse_value(text, ty, zone)
}

/// Encodes a value in binary format (None for NULL).
pub fn encode_binary(value: &Value, ty: &DataType) -> Result<Option<Vec<u8>>> {
    Ok(Some(match value {
        Value::Null => return Ok(None),
        Value::Bool(b) => vec![u8::from(*b)],
        Value::Int2(v) => v.to_be_bytes().to_vec(),
        Value::Int4(v) => v.to_be_bytes().to_vec(),
        // An oid travels as four bytes.
        Value::Int8(v) if matches!(ty, DataType::Oid) => (*v as u32).to_be_bytes().to_vec(),
        Value::Int8(v) => v.to_be_bytes().to_vec(),
        Value::Float4(v) => v.to_be_bytes().to_vec(),
        Value::Float8(v) => v.to_be_bytes().to_vec(),
        Value::Numeric(n) => encode_numeric(n),
        // "char" is one byte.
        Value::Text(s) if matches!(ty, DataType::InternalChar) => {
            s.as_bytes().first().map_or_else(Vec::new, |b| vec![*b])
        }
        Value::Text(s) if matches!(ty, DataType::TsVector) => {
            oxibase_sql::tsearch::TsVector::parse(s)?.to_binary()
        }
        Value::Text(s) if matches!(ty, DataType::TsQuery) => {
            oxibase_sql::tsearch::TsQuery::parse(s)?.to_binary()
        }
        Value::Text(s) | Value::Json(s) => s.as_bytes().to_vec(),
        // An enum's binary form is its label, as PostgreSQL's enum_send.
        Value::Enum(e) => e.label.as_bytes().to_vec(),
        Value::Jsonb(s) => {
            let mut out = vec![1u8];
            out.extend_from_slice(s.as_bytes());
            out
        }
        Value::Bytea(b) => b.clone(),
        Value::Date(d) => d.to_be_bytes().to_vec(),
        Value::Time(t) | Value::Timestamp(t) | Value::TimestampTz(t) => t.to_be_bytes().to_vec(),
        Value::Interval(iv) => {
            let mut out = Vec::with_capacity(16);
            out.extend_from_slice(&iv.micros.to_be_bytes());
            out.extend_from_slice(&iv.days.to_be_bytes());
            out.extend_from_slice(&iv.months.to_be_bytes());
            out
        }
        Value::Uuid(u) => u.to_vec(),
        Value::Array(a) => {
            let element = match ty {
                DataType::Array(e) => (**e).clone(),
                _ => a.element_type.clone(),
            };
            let mut out = Vec::new();
            let ndim: i32 = if a.elements.is_empty() { 0 } else { 1 };
            out.extend_from_slice(&ndim.to_be_bytes());
            let has_null = a.elements.iter().any(Value::is_null);
            out.extend_from_slice(&i32::from(has_null).to_be_bytes());
            out.extend_from_slice(&type_oid(&element).to_be_bytes());
            if ndim == 1 {
                out.extend_from_slice(&(a.elements.len() as i32).to_be_bytes());
                out.extend_from_slice(&1i32.to_be_bytes());
            }
            for e in &a.elements {
                match encode_binary(e, &element)? {
                    None => out.extend_from_slice(&(-1i32).to_be_bytes()),
                    Some(bytes) => {
                        out.extend_from_slice(&(bytes.len() as i32).to_be_bytes());
                        out.extend_from_slice(&bytes);
                    }
                }
            }
            out
        }
        // inet_send: family (2 IPv4, 3 IPv6), mask length, is-cidr, address length, address.
        Value::Inet(i) => {
            let mut out =
                vec![if i.v6 { 3 } else { 2 }, i.bits, u8::from(i.cidr), i.byte_len() as u8];
            out.extend_from_slice(i.bytes());
            out
        }
        // record_send: the field count, then each field's type oid and length-prefixed value.
        Value::Record(fields) => {
            let types: Vec<DataType> = match ty {
                DataType::Record(r) if r.fields.len() == fields.len() => {
                    r.fields.iter().map(|(_, t)| t.clone()).collect()
                }
                _ => fields.iter().map(|v| v.data_type().unwrap_or(DataType::Text)).collect(),
            };
            let mut out = Vec::new();
            out.extend_from_slice(&(fields.len() as i32).to_be_bytes());
            for (field, ty) in fields.iter().zip(&types) {
                out.extend_from_slice(&type_oid(ty).to_be_bytes());
                match encode_binary(field, ty)? {
                    None => out.extend_from_slice(&(-1i32).to_be_bytes()),
                    Some(bytes) => {
                        out.extend_from_slice(&(bytes.len() as i32).to_be_bytes());
                        out.extend_from_slice(&bytes);
                    }
                }
            }
            out
        }
    }))
}

fn take<const N: usize>(bytes: &[u8], what: &str) -> Result<[u8; N]> {
    bytes.try_into().map_err(|_| {
        errinput!(
            INVALID_BINARY_REPRESENTATION,
            "incorrect binary data format for {what}: expected {N} bytes, got {}",
            bytes.len()
        )
    })
}

/// The signature that opens PostgreSQL's binary COPY format.
const COPY_SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";

/// Decodes COPY data in PostgreSQL's binary format: the signature, flags and header
/// extension, then per row a field count and each field's length (-1 for NULL) and binary
/// value, up to the trailer (a field count of -1).
pub fn decode_copy_binary(data: &[u8], types: &[DataType], zone: &Zone) -> Result<Vec<Vec<Value>>> {
    fn take<'a>(rest: &mut &'a [u8], n: usize) -> Result<&'a [u8]> {
        if rest.len() < n {
            return Err(errinput!(BAD_COPY_FILE_FORMAT, "unexpected EOF in COPY data"));
        }
        let (head, tail) = rest.split_at(n);
        *rest = tail;
        Ok(head)
    }
    fn int<const N: usize>(rest: &mut &[u8]) -> Result<[u8; N]> {
        let bytes = take(rest, N)?;
        Ok(bytes.try_into().unwrap_or([0; N]))
    }
    let bad = |what: String| errinput!(BAD_COPY_FILE_FORMAT, "{what}");
    let mut rest = data;
    if take(&mut rest, COPY_SIGNATURE.len()).ok() != Some(COPY_SIGNATURE) {
        return Err(bad("COPY file signature not recognized".into()));
    }
    let flags = u32::from_be_bytes(int(&mut rest)?);
    if flags & (1 << 16) != 0 {
        return Err(bad("COPY data with OIDs is not supported".into()));
    }
    if flags & 0xffff_0000 & !(1 << 16) != 0 {
        return Err(bad("unrecognized critical flags in COPY file header".into()));
    }
    let extension = u32::from_be_bytes(int(&mut rest)?) as usize;
    take(&mut rest, extension)?;
    let mut rows = Vec::new();
    // The data may also just end where a row would start (pgx sends no trailer); PostgreSQL
    // takes that as the end too.
    while !rest.is_empty() {
        let count = i16::from_be_bytes(int(&mut rest)?);
        if count == -1 {
            break;
        }
        let line = || format!("COPY, line {}", rows.len() + 1);
        if count as usize != types.len() {
            return Err(bad(format!("row field count is {count}, expected {}", types.len()))
                .with_detail(line()));
        }
        let mut row = Vec::with_capacity(types.len());
        for ty in types {
            let len = i32::from_be_bytes(int(&mut rest)?);
            if len == -1 {
                row.push(Value::Null);
                continue;
            }
            let len = usize::try_from(len).map_err(|_| bad(format!("invalid field size {len}")))?;
            let field = take(&mut rest, len)?;
            row.push(decode_binary(field, ty, zone).map_err(|e| e.with_detail(line()))?);
        }
        rows.push(row);
    }
    Ok(rows)
}

/// Decodes a binary-format parameter.
pub fn decode_binary(bytes: &[u8], ty: &DataType, zone: &Zone) -> Result<Value> {
    Ok(match ty {
        DataType::Bool => Value::Bool(take::<1>(bytes, "boolean")?[0] != 0),
        DataType::Int2 => Value::Int2(i16::from_be_bytes(take(bytes, "smallint")?)),
        DataType::Int4 => Value::Int4(i32::from_be_bytes(take(bytes, "integer")?)),
        DataType::Int8 => Value::Int8(i64::from_be_bytes(take(bytes, "bigint")?)),
        DataType::Oid => Value::Int8(i64::from(u32::from_be_bytes(take(bytes, "oid")?))),
        DataType::Float4 => Value::Float4(f32::from_be_bytes(take(bytes, "real")?)),
        DataType::Float8 => Value::Float8(f64::from_be_bytes(take(bytes, "double precision")?)),
        DataType::Numeric(_) => Value::Numeric(Box::new(decode_numeric(bytes)?)),
        DataType::Text | DataType::Varchar(_) | DataType::Char(_) | DataType::Name => {
            let s = std::str::from_utf8(bytes).map_err(|_| {
                errinput!(
                    CHARACTER_NOT_IN_REPERTOIRE,
                    "invalid byte sequence for encoding \"UTF8\""
                )
            })?;
            // Length limits and padding are applied by the cast to the parameter's type.
            Value::Text(s.to_string())
        }
        DataType::Json | DataType::Enum(_) | DataType::InternalChar => {
            decode_text(bytes, ty, zone)?
        }
        DataType::TsVector => {
            Value::Text(oxibase_sql::tsearch::TsVector::from_binary(bytes)?.to_text())
        }
        DataType::TsQuery => {
            Value::Text(oxibase_sql::tsearch::TsQuery::from_binary(bytes)?.to_text())
        }
        DataType::Jsonb => match bytes.split_first() {
            Some((1, rest)) => decode_text(rest, ty, zone)?,
            _ => {
                return Err(errinput!(
                    INVALID_BINARY_REPRESENTATION,
                    "unsupported jsonb version number"
                ));
            }
        },
        DataType::Bytea => Value::Bytea(bytes.to_vec()),
        DataType::Date => Value::Date(i32::from_be_bytes(take(bytes, "date")?)),
        DataType::Time(_) => Value::Time(i64::from_be_bytes(take(bytes, "time")?)),
        DataType::Timestamp(_) => Value::Timestamp(i64::from_be_bytes(take(bytes, "timestamp")?)),
        DataType::TimestampTz(_) => {
            Value::TimestampTz(i64::from_be_bytes(take(bytes, "timestamptz")?))
        }
        DataType::Interval(_) => {
            let b: [u8; 16] = take(bytes, "interval")?;
            let micros = i64::from_be_bytes(b[0..8].try_into().unwrap_or_default());
            let days = i32::from_be_bytes(b[8..12].try_into().unwrap_or_default());
            let months = i32::from_be_bytes(b[12..16].try_into().unwrap_or_default());
            Value::Interval(Interval { months, days, micros })
        }
        DataType::Uuid => Value::Uuid(take(bytes, "uuid")?),
        DataType::Array(element) => decode_array(bytes, element, zone)?,
        DataType::Int2Vector => decode_array(bytes, &DataType::Int2, zone)?,
        DataType::OidVector => decode_array(bytes, &DataType::Oid, zone)?,
        DataType::Inet | DataType::Cidr => Value::Inet(decode_inet(bytes, ty)?),
        DataType::Record(r) if !r.fields.is_empty() || r.id.is_some() => {
            decode_record(bytes, &r.fields, zone)?
        }
        DataType::Record(_) => {
            return Err(errinput!(
                FEATURE_NOT_SUPPORTED,
                "input of anonymous composite types is not implemented"
            ));
        }
    })
}

/// A record in PostgreSQL's binary form (`record_recv`): the field count, then per field
/// its type oid, its length (-1 for NULL) and its value, for a record of these fields.
fn decode_record(bytes: &[u8], fields: &[(String, DataType)], zone: &Zone) -> Result<Value> {
    let bad = || errinput!(INVALID_BINARY_REPRESENTATION, "invalid record binary data");
    let mut pos = 0;
    let read_i32 = |pos: &mut usize| -> Result<i32> {
        let b = bytes.get(*pos..*pos + 4).ok_or_else(bad)?;
        *pos += 4;
        Ok(i32::from_be_bytes(b.try_into().map_err(|_| bad())?))
    };
    let count = read_i32(&mut pos)?;
    if count as usize != fields.len() {
        return Err(errinput!(
            DATATYPE_MISMATCH,
            "wrong number of columns: {count}, expected {}",
            fields.len()
        ));
    }
    let mut values = Vec::with_capacity(fields.len());
    for (_, ty) in fields {
        let oid = read_i32(&mut pos)? as u32;
        if oid != type_oid(ty) {
            return Err(errinput!(
                DATATYPE_MISMATCH,
                "wrong data type: {oid}, expected {}",
                type_oid(ty)
            ));
        }
        let len = read_i32(&mut pos)?;
        if len < 0 {
            values.push(Value::Null);
            continue;
        }
        let field = bytes.get(pos..pos + len as usize).ok_or_else(bad)?;
        pos += len as usize;
        values.push(decode_binary(field, ty, zone)?);
    }
    if pos != bytes.len() {
        return Err(bad());
    }
    Ok(Value::Record(Box::new(values)))
}

fn decode_inet(bytes: &[u8], ty: &DataType) -> Result<oxibase_common::Inet> {
    let cidr = matches!(ty, DataType::Cidr);
    let bad = |what: &str| {
        errinput!(INVALID_BINARY_REPRESENTATION, "invalid {what} in external \"{}\" value", ty)
    };
    let [family, bits, _is_cidr, len, addr @ ..] = bytes else {
        return Err(bad("length"));
    };
    let v6 = match family {
        2 => false,
        3 => true,
        _ => return Err(bad("address family")),
    };
    let size = if v6 { 16 } else { 4 };
    if *bits > if v6 { 128 } else { 32 } {
        return Err(bad("bits"));
    }
    if usize::from(*len) != size || addr.len() != size {
        return Err(bad("length"));
    }
    let mut bytes = [0u8; 16];
    bytes[..size].copy_from_slice(addr);
    let value = oxibase_common::Inet { v6, bits: *bits, addr: bytes, cidr };
    if cidr && value.masked(*bits) != bytes {
        return Err(errinput!(INVALID_BINARY_REPRESENTATION, "invalid external \"cidr\" value")
            .with_detail("Value has bits set to right of mask."));
    }
    Ok(value)
}

fn decode_array(bytes: &[u8], element: &DataType, zone: &Zone) -> Result<Value> {
    let bad = || errinput!(INVALID_BINARY_REPRESENTATION, "invalid array binary data");
    let mut pos = 0;
    let read_i32 = |pos: &mut usize| -> Result<i32> {
        let b = bytes.get(*pos..*pos + 4).ok_or_else(bad)?;
        *pos += 4;
        Ok(i32::from_be_bytes(b.try_into().map_err(|_| bad())?))
    };
    let ndim = read_i32(&mut pos)?;
    let _has_null = read_i32(&mut pos)?;
    let _oid = read_i32(&mut pos)?;
    if ndim == 0 {
        return Ok(Value::Array(Box::new(Array {
            element_type: element.clone(),
            elements: vec![],
        })));
    }
    if ndim != 1 {
        return Err(errinput!(FEATURE_NOT_SUPPORTED, "multidimensional arrays are not supported"));
    }
    let len = read_i32(&mut pos)?;
    let _lower = read_i32(&mut pos)?;
    if len < 0 || len as usize > bytes.len() {
        return Err(bad());
    }
    let mut elements = Vec::with_capacity(len as usize);
    for _ in 0..len {
        let n = read_i32(&mut pos)?;
        if n < 0 {
            elements.push(Value::Null);
            continue;
        }
        let b = bytes.get(pos..pos + n as usize).ok_or_else(bad)?;
        pos += n as usize;
        elements.push(decode_binary(b, element, zone)?);
    }
    if pos != bytes.len() {
        return Err(bad());
    }
    Ok(Value::Array(Box::new(Array { element_type: element.clone(), elements })))
}

const NUMERIC_POS: u16 = 0x0000;
const NUMERIC_NEG: u16 = 0x4000;
const NUMERIC_NAN: u16 = 0xC000;
const NUMERIC_PINF: u16 = 0xD000;
const NUMERIC_NINF: u16 = 0xF000;

fn numeric_header(ndigits: i16, weight: i16, sign: u16, dscale: i16) -> Vec<u8> {
    let mut out = Vec::with_capacity(8);
    out.extend_from_slice(&ndigits.to_be_bytes());
    out.extend_from_slice(&weight.to_be_bytes());
    out.extend_from_slice(&sign.to_be_bytes());
    out.extend_from_slice(&dscale.to_be_bytes());
    out
}

/// PostgreSQL's binary numeric: base-10000 digits around the decimal point.
fn encode_numeric(n: &Numeric) -> Vec<u8> {
    let d = match n {
        Numeric::NaN => return numeric_header(0, 0, NUMERIC_NAN, 0),
        Numeric::Infinity => return numeric_header(0, 0, NUMERIC_PINF, 0),
        Numeric::NegInfinity => return numeric_header(0, 0, NUMERIC_NINF, 0),
        Numeric::Finite(d) => d,
    };
    let (digits, scale) = d.as_bigint_and_exponent();
    let negative = digits.sign() == num_sign_minus();
    let mut text = digits.magnitude().to_string();
    let dscale = scale.max(0) as usize;
    // Place the decimal point: `scale` digits after it (a negative scale adds zeros).
    if scale < 0 {
        text.push_str(&"0".repeat((-scale) as usize));
    }
    while text.len() <= dscale {
        text.insert(0, '0');
    }
    let (int_part, frac_part) = text.split_at(text.len() - dscale);
    // Pad the integer part on the left and the fraction on the right to groups of four.
    let int_pad = (4 - int_part.len() % 4) % 4;
    let int_padded = format!("{}{}", "0".repeat(int_pad), int_part);
    let frac_pad = (4 - frac_part.len() % 4) % 4;
    let frac_padded = format!("{}{}", frac_part, "0".repeat(frac_pad));
    let mut groups: Vec<i16> = Vec::new();
    for chunk in int_padded.as_bytes().chunks(4).chain(frac_padded.as_bytes().chunks(4)) {
        let s = std::str::from_utf8(chunk).unwrap_or("0");
        groups.push(s.parse().unwrap_or(0));
    }
    let mut weight = (int_padded.len() / 4) as i16 - 1;
    // Strip leading and trailing zero groups.
    while groups.first() == Some(&0) {
        groups.remove(0);
        weight -= 1;
    }
    while groups.last() == Some(&0) {
        groups.pop();
    }
    if groups.is_empty() {
        weight = 0;
    }
    let sign = if negative && !groups.is_empty() { NUMERIC_NEG } else { NUMERIC_POS };
    let mut out = numeric_header(groups.len() as i16, weight, sign, dscale as i16);
    for g in groups {
        out.extend_from_slice(&g.to_be_bytes());
    }
    out
}

fn num_sign_minus() -> bigdecimal::num_bigint::Sign {
    bigdecimal::num_bigint::Sign::Minus
}

fn decode_numeric(bytes: &[u8]) -> Result<Numeric> {
    let bad = || errinput!(INVALID_BINARY_REPRESENTATION, "invalid numeric binary data");
    if bytes.len() < 8 {
        return Err(bad());
    }
    let word = |i: usize| i16::from_be_bytes([bytes[i], bytes[i + 1]]);
    let ndigits = word(0);
    let weight = word(2) as i32;
    let sign = word(4) as u16;
    let dscale = word(6);
    match sign {
        NUMERIC_NAN => return Ok(Numeric::NaN),
        NUMERIC_PINF => return Ok(Numeric::Infinity),
        NUMERIC_NINF => return Ok(Numeric::NegInfinity),
        NUMERIC_POS | NUMERIC_NEG => {}
        _ => return Err(bad()),
    }
    if ndigits < 0 || dscale < 0 || bytes.len() != 8 + 2 * ndigits as usize {
        return Err(bad());
    }
    let mut text = String::new();
    if sign == NUMERIC_NEG {
        text.push('-');
    }
    text.push('0');
    for i in 0..ndigits as usize {
        let d = word(8 + 2 * i);
        if !(0..10000).contains(&d) {
            return Err(bad());
        }
        text.push_str(&format!("{d:04}"));
    }
    // The digits so far stand for value * 10000^(ndigits - 1 - weight).
    let exponent = 4 * (ndigits as i64 - 1 - weight as i64);
    let text = format!("{text}e{}", -exponent);
    let value = BigDecimal::from_str(&text).map_err(|_| bad())?;
    Ok(Numeric::Finite(value.with_scale(dscale as i64)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn binary_copy_data_decodes_and_every_truncation_is_an_error() {
        let types = [DataType::Int4, DataType::Text];
        let mut data = COPY_SIGNATURE.to_vec();
        data.extend_from_slice(&0u32.to_be_bytes());
        data.extend_from_slice(&2u32.to_be_bytes());
        data.extend_from_slice(b"xx"); // a header extension, skipped
        for (id, name) in [(1i32, Some("a")), (2, None)] {
            data.extend_from_slice(&2i16.to_be_bytes());
            data.extend_from_slice(&4i32.to_be_bytes());
            data.extend_from_slice(&id.to_be_bytes());
            match name {
                Some(n) => {
                    data.extend_from_slice(&(n.len() as i32).to_be_bytes());
                    data.extend_from_slice(n.as_bytes());
                }
                None => data.extend_from_slice(&(-1i32).to_be_bytes()),
            }
        }
        let rows_end = data.len();
        data.extend_from_slice(&(-1i16).to_be_bytes());
        let expected =
            vec![vec![Value::Int4(1), Value::Text("a".into())], vec![Value::Int4(2), Value::Null]];
        assert_eq!(decode_copy_binary(&data, &types, &Zone::UTC).unwrap(), expected);
        // Without the trailer, as pgx sends it.
        assert_eq!(decode_copy_binary(&data[..rows_end], &types, &Zone::UTC).unwrap(), expected);
        for end in 0..data.len() {
            // Only a cut at a row boundary (after the header) is a complete stream.
            if let Ok(rows) = decode_copy_binary(&data[..end], &types, &Zone::UTC) {
                assert!(end >= 21 && rows.len() < 2 || end == rows_end, "cut at {end}");
            }
        }
        let err = decode_copy_binary(&data, &types[..1], &Zone::UTC).unwrap_err();
        assert_eq!(err.code(), oxibase_common::SqlState::BAD_COPY_FILE_FORMAT);
    }

    fn roundtrip(v: Value, ty: DataType) {
        let zone = Zone::UTC;
        let bytes = encode_binary(&v, &ty).unwrap().unwrap();
        assert_eq!(decode_binary(&bytes, &ty, &zone).unwrap(), v, "{ty:?}");
    }

    #[test]
    fn record_binary_matches_postgres() {
        // PostgreSQL 15 sends the row (1, 'x') of a table (a int, b text) as: two fields,
        // int4 (oid 23) of 4 bytes, text (oid 25) of 1 byte; a NULL field has length -1.
        let ty = DataType::Record(std::sync::Arc::new(oxibase_common::RecordType {
            fields: vec![("a".into(), DataType::Int4), ("b".into(), DataType::Text)],
            name: Some("t".into()),
            id: None,
        }));
        let row = Value::Record(Box::new(vec![Value::Int4(1), Value::from("x")]));
        let expected = b"\0\0\0\x02\0\0\0\x17\0\0\0\x04\0\0\0\x01\0\0\0\x19\0\0\0\x01x";
        assert_eq!(encode_binary(&row, &ty).unwrap().unwrap(), expected.to_vec());
        let row = Value::Record(Box::new(vec![Value::Int4(2), Value::Null]));
        let expected = b"\0\0\0\x02\0\0\0\x17\0\0\0\x04\0\0\0\x02\0\0\0\x19\xff\xff\xff\xff";
        assert_eq!(encode_binary(&row, &ty).unwrap().unwrap(), expected.to_vec());
        // record_recv reads it back where the shape is known, checking each field's oid.
        assert_eq!(decode_binary(expected, &ty, &Zone::UTC).unwrap(), row);
        let wrong_oid = b"\0\0\0\x02\0\0\0\x14\0\0\0\x04\0\0\0\x02\0\0\0\x19\xff\xff\xff\xff";
        let err = decode_binary(wrong_oid, &ty, &Zone::UTC).unwrap_err();
        assert_eq!(err.code().as_str(), "42804");
        let one_field = b"\0\0\0\x01\0\0\0\x17\0\0\0\x04\0\0\0\x02";
        let err = decode_binary(one_field, &ty, &Zone::UTC).unwrap_err();
        assert_eq!(err.code().as_str(), "42804");
        let truncated = &expected[..expected.len() - 2];
        let err = decode_binary(truncated, &ty, &Zone::UTC).unwrap_err();
        assert_eq!(err.code().as_str(), "22P03");
        // A record of unknown shape cannot be read (PostgreSQL: anonymous composite input).
        let anonymous = DataType::Record(std::sync::Arc::default());
        let err = decode_binary(expected, &anonymous, &Zone::UTC).unwrap_err();
        assert_eq!(err.code().as_str(), "0A000");
    }

    #[test]
    fn numeric_binary_matches_postgres() {
        // SELECT numeric_send(12345.678) = 0003 0001 0000 0003 0001 0929 1a7c
        let n = Numeric::Finite(BigDecimal::from_str("12345.678").unwrap());
        assert_eq!(encode_numeric(&n), vec![0, 3, 0, 1, 0, 0, 0, 3, 0, 1, 0x09, 0x29, 0x1a, 0x7c]);
        for s in ["0", "0.00", "-1", "100000000", "0.0001", "-123.45", "99999999.99999999"] {
            let v = Value::Numeric(Box::new(Numeric::Finite(BigDecimal::from_str(s).unwrap())));
            roundtrip(v, DataType::Numeric(None));
        }
    }

    #[test]
    fn scalar_roundtrips() {
        roundtrip(Value::Int4(-7), DataType::Int4);
        roundtrip(Value::Int8(1 << 40), DataType::Int8);
        roundtrip(Value::Float8(1.5), DataType::Float8);
        roundtrip(Value::Text("héllo".into()), DataType::Text);
        roundtrip(
            Value::Interval(Interval { months: 1, days: -2, micros: 3 }),
            DataType::Interval(None),
        );
        roundtrip(
            Value::Array(Box::new(Array {
                element_type: DataType::Int4,
                elements: vec![Value::Int4(1), Value::Null, Value::Int4(3)],
            })),
            DataType::Array(Box::new(DataType::Int4)),
        );
    }
}
