//! Order-preserving key encoding ("keycode").
//!
//! Every key in the store is a byte string, and the engine orders keys bytewise. Keycode turns
//! SQL values into bytes whose bytewise order is the SQL order of the values, so that an index
//! range `WHERE a BETWEEN 3 AND 7` is a plain byte range, and a composite key `(a, b)` is the
//! concatenation of its parts:
//!
//! ```text
//!   (3, 'x')  ->  01 80000003 | 01 78 00 00
//!   (3, 'xy') ->  01 80000003 | 01 78 79 00 00     'x' < 'xy' because 00 < 79
//!   (NULL, _) ->  02 ...                           NULLs sort last (ASC)
//! ```
//!
//! Each column starts with a presence byte: `01` for a value, `02` for NULL when NULLs sort last,
//! `00` when they sort first. A descending column is the same encoding with every byte inverted,
//! which reverses its order (and puts NULLs first, PostgreSQL's default for DESC).
//!
//! | type                 | encoding                                                         |
//! |----------------------|------------------------------------------------------------------|
//! | boolean              | `00` / `01`                                                      |
//! | integers, date, time | big-endian with the sign bit flipped                             |
//! | float4/float8        | IEEE bits: negatives inverted, positives with sign bit flipped;  |
//! |                      | -0 is 0 and NaN sorts above +Infinity (as in PostgreSQL)         |
//! | text, bytea, jsonb   | bytes with `00` escaped as `00 FF`, terminated by `00 00`        |
//! | numeric              | class byte, decimal exponent, one byte per digit, terminator     |
//! | interval             | PostgreSQL's comparison span (i128), then the three fields       |
//! | uuid                 | the 16 bytes                                                     |
//! | array                | `01 element` per element, then `00`                              |
//!
//! NB: the encoding of a column is *prefix-free* (no encoded value is a strict prefix of
//! another of the same type), so composite keys never collide and MVCC can append a version
//! suffix to a key. Text compares bytewise, i.e. by the "C" collation.
//!
//! Simplifications chosen on purpose: numeric keys are normalised (1.50 and 1.5 are one key,
//! as they are equal in PostgreSQL), so decoding returns the normalised scale; two intervals
//! PostgreSQL calls equal but that differ in fields ('1 month' and '30 days') are distinct keys.

use bigdecimal::BigDecimal;
use bigdecimal::num_bigint::BigInt;

use crate::value::{Array, DataType, Interval, Numeric, Value};
use crate::{Result, errdata, errinput};

const PRESENT: u8 = 0x01;
const NULL_LAST: u8 = 0x02;
const NULL_FIRST: u8 = 0x00;

/// How a key column is ordered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ColumnOrder {
    /// Descending instead of ascending.
    pub descending: bool,
    /// NULLs before values instead of after (after is the ASC default).
    pub nulls_first: bool,
}

impl ColumnOrder {
    /// Ascending, NULLs last: PostgreSQL's default for ASC.
    pub const ASC: ColumnOrder = ColumnOrder { descending: false, nulls_first: false };
    /// Descending, NULLs first: PostgreSQL's default for DESC.
    pub const DESC: ColumnOrder = ColumnOrder { descending: true, nulls_first: true };
}

/// Appends the big-endian encoding of a `u32` (ids, tags): ordered as integers.
pub fn encode_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// Appends the big-endian encoding of a `u64`: ordered as integers.
pub fn encode_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// Reads a `u32` written by [`encode_u32`].
pub fn decode_u32(input: &mut &[u8]) -> Result<u32> {
    let mut r = Reader { input, invert: false };
    Ok(u32::from_be_bytes(r.array()?))
}

/// Reads a `u64` written by [`encode_u64`].
pub fn decode_u64(input: &mut &[u8]) -> Result<u64> {
    let mut r = Reader { input, invert: false };
    Ok(u64::from_be_bytes(r.array()?))
}

/// Appends one key column: the presence byte and the value, inverted if descending.
pub fn encode_value(out: &mut Vec<u8>, value: &Value, order: ColumnOrder) -> Result<()> {
    let start = out.len();
    match value {
        Value::Null => {
            // Inversion below flips the byte for descending columns, so pick it pre-inversion.
            let first = order.nulls_first != order.descending;
            out.push(if first { NULL_FIRST } else { NULL_LAST });
        }
        v => {
            out.push(PRESENT);
            encode_non_null(out, v)?;
        }
    }
    if order.descending {
        out[start..].iter_mut().for_each(|b| *b = !*b);
    }
    Ok(())
}

/// Appends several key columns, all ascending.
pub fn encode_values<'a>(
    out: &mut Vec<u8>,
    values: impl IntoIterator<Item = &'a Value>,
) -> Result<()> {
    values.into_iter().try_for_each(|v| encode_value(out, v, ColumnOrder::ASC))
}

/// Reads one key column of the given type written by [`encode_value`] with the same order.
pub fn decode_value(input: &mut &[u8], ty: &DataType, order: ColumnOrder) -> Result<Value> {
    let mut r = Reader { input, invert: order.descending };
    match r.byte()? {
        PRESENT => decode_non_null(&mut r, ty),
        NULL_FIRST | NULL_LAST => Ok(Value::Null),
        b => Err(errdata!("invalid key: unexpected presence byte {b:#04x}")),
    }
}

fn encode_non_null(out: &mut Vec<u8>, value: &Value) -> Result<()> {
    match value {
        Value::Null => return Err(errdata!("NULL inside a non-null key encoding")),
        Value::Bool(b) => out.push(*b as u8),
        Value::Int2(v) => out.extend_from_slice(&((*v as u16) ^ 0x8000).to_be_bytes()),
        Value::Int4(v) | Value::Date(v) => out.extend_from_slice(&flip_i32(*v)),
        Value::Int8(v) | Value::Time(v) | Value::Timestamp(v) | Value::TimestampTz(v) => {
            out.extend_from_slice(&flip_i64(*v))
        }
        Value::Float4(v) => out.extend_from_slice(&encode_f32(*v)),
        Value::Float8(v) => out.extend_from_slice(&encode_f64(*v)),
        Value::Numeric(n) => encode_numeric(out, n),
        Value::Text(s) | Value::Jsonb(s) => encode_bytes(out, s.as_bytes()),
        Value::Bytea(b) => encode_bytes(out, b),
        Value::Interval(i) => encode_interval(out, i),
        Value::Uuid(u) => out.extend_from_slice(u),
        Value::Json(_) => {
            return Err(errinput!(
                UNDEFINED_FUNCTION,
                "could not identify an ordering operator for type json"
            )
            .with_hint("use jsonb, which can be indexed and compared"));
        }
        Value::Array(a) => encode_elements(out, &a.elements)?,
        // Field by field, as records compare (a NULL field above any value).
        Value::Record(fields) => encode_elements(out, fields)?,
        // Family, network part, netmask length, whole address: the order of `sort_key`.
        Value::Inet(i) => {
            out.push(if i.v6 { 6 } else { 4 });
            out.extend_from_slice(&i.masked(i.bits)[..i.byte_len()]);
            out.push(i.bits);
            out.extend_from_slice(i.bytes());
        }
        // The sort order alone: it is unique within the type and orders as the type does.
        Value::Enum(e) => out.extend_from_slice(&encode_f64(e.order)),
    }
    Ok(())
}

/// Elements in order, each marked present or NULL (NULL sorting last), then a terminator
/// below both marks, so a shorter array sorts first.
fn encode_elements(out: &mut Vec<u8>, elements: &[Value]) -> Result<()> {
    for element in elements {
        match element {
            Value::Null => out.push(NULL_LAST),
            v => {
                out.push(PRESENT);
                encode_non_null(out, v)?;
            }
        }
    }
    out.push(0x00);
    Ok(())
}

fn decode_element(r: &mut Reader<'_, '_>, ty: &DataType) -> Result<Option<Value>> {
    Ok(match r.byte()? {
        0x00 => None,
        PRESENT => Some(decode_non_null(r, ty)?),
        NULL_LAST => Some(Value::Null),
        b => return Err(errdata!("invalid key: bad element byte {b:#04x}")),
    })
}

fn decode_non_null(r: &mut Reader<'_, '_>, ty: &DataType) -> Result<Value> {
    Ok(match ty {
        DataType::Bool => Value::Bool(r.byte()? != 0),
        DataType::Int2 => Value::Int2((u16::from_be_bytes(r.array()?) ^ 0x8000) as i16),
        DataType::Int4 => Value::Int4(unflip_i32(r.array()?)),
        DataType::Date => Value::Date(unflip_i32(r.array()?)),
        DataType::Int8 | DataType::Oid => Value::Int8(unflip_i64(r.array()?)),
        DataType::Time(_) => Value::Time(unflip_i64(r.array()?)),
        DataType::Timestamp(_) => Value::Timestamp(unflip_i64(r.array()?)),
        DataType::TimestampTz(_) => Value::TimestampTz(unflip_i64(r.array()?)),
        DataType::Float4 => Value::Float4(decode_f32(r.array()?)),
        DataType::Float8 => Value::Float8(decode_f64(r.array()?)),
        DataType::Numeric(_) => Value::Numeric(Box::new(decode_numeric(r)?)),
        DataType::Text
        | DataType::Varchar(_)
        | DataType::Char(_)
        | DataType::InternalChar
        | DataType::Name
        | DataType::TsVector
        | DataType::TsQuery => Value::Text(r.string()?),
        DataType::Jsonb => Value::Jsonb(r.string()?),
        DataType::Bytea => Value::Bytea(r.escaped()?),
        DataType::Interval(_) => {
            let _span: [u8; 16] = r.array()?;
            Value::Interval(Interval {
                months: unflip_i32(r.array()?),
                days: unflip_i32(r.array()?),
                micros: unflip_i64(r.array()?),
            })
        }
        DataType::Uuid => Value::Uuid(r.array()?),
        DataType::Json => return Err(errdata!("invalid key: json values are not keys")),
        DataType::Int2Vector | DataType::OidVector => {
            return Err(errdata!("invalid key: {} values are not keys", ty.name()));
        }
        DataType::Array(element_type) => {
            let mut elements = Vec::new();
            while let Some(element) = decode_element(r, element_type)? {
                elements.push(element);
            }
            Value::Array(Box::new(Array { element_type: (**element_type).clone(), elements }))
        }
        DataType::Enum(e) => {
            let order = decode_f64(r.array()?);
            let value = e.labels.iter().find(|v| v.order == order);
            let value = value
                .ok_or_else(|| errdata!("invalid key: no value of {} at {order}", e.name()))?;
            Value::Enum(Box::new(value.clone()))
        }
        DataType::Inet | DataType::Cidr => {
            let v6 = match r.byte()? {
                4 => false,
                6 => true,
                b => return Err(errdata!("invalid key: bad address family {b}")),
            };
            let len = if v6 { 16 } else { 4 };
            for _ in 0..len {
                r.byte()?;
            }
            let bits = r.byte()?;
            let mut addr = [0u8; 16];
            for b in addr.iter_mut().take(len) {
                *b = r.byte()?;
            }
            Value::Inet(crate::value::Inet { v6, bits, addr, cidr: matches!(ty, DataType::Cidr) })
        }
        DataType::Record(record) => {
            let mut fields = Vec::with_capacity(record.fields.len());
            for (_, ty) in &record.fields {
                let field = decode_element(r, ty)?;
                fields.push(field.ok_or_else(|| errdata!("invalid key: record ends early"))?);
            }
            if r.byte()? != 0x00 {
                return Err(errdata!("invalid key: record has more fields than its type"));
            }
            Value::Record(Box::new(fields))
        }
    })
}

fn flip_i32(v: i32) -> [u8; 4] {
    ((v as u32) ^ (1 << 31)).to_be_bytes()
}

fn unflip_i32(b: [u8; 4]) -> i32 {
    (u32::from_be_bytes(b) ^ (1 << 31)) as i32
}

fn flip_i64(v: i64) -> [u8; 8] {
    ((v as u64) ^ (1 << 63)).to_be_bytes()
}

fn unflip_i64(b: [u8; 8]) -> i64 {
    (u64::from_be_bytes(b) ^ (1 << 63)) as i64
}

fn encode_f32(v: f32) -> [u8; 4] {
    let v = if v.is_nan() {
        f32::NAN
    } else if v == 0.0 {
        0.0
    } else {
        v
    };
    let bits = v.to_bits();
    let bits = if bits >> 31 == 1 { !bits } else { bits ^ (1 << 31) };
    bits.to_be_bytes()
}

fn decode_f32(b: [u8; 4]) -> f32 {
    let bits = u32::from_be_bytes(b);
    f32::from_bits(if bits >> 31 == 1 { bits ^ (1 << 31) } else { !bits })
}

fn encode_f64(v: f64) -> [u8; 8] {
    let v = if v.is_nan() {
        f64::NAN
    } else if v == 0.0 {
        0.0
    } else {
        v
    };
    let bits = v.to_bits();
    let bits = if bits >> 63 == 1 { !bits } else { bits ^ (1 << 63) };
    bits.to_be_bytes()
}

fn decode_f64(b: [u8; 8]) -> f64 {
    let bits = u64::from_be_bytes(b);
    f64::from_bits(if bits >> 63 == 1 { bits ^ (1 << 63) } else { !bits })
}

fn encode_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    for &b in bytes {
        out.push(b);
        if b == 0x00 {
            out.push(0xFF);
        }
    }
    out.extend_from_slice(&[0x00, 0x00]);
}

fn encode_interval(out: &mut Vec<u8>, i: &Interval) {
    let span = (i.span_micros() as u128) ^ (1 << 127);
    out.extend_from_slice(&span.to_be_bytes());
    out.extend_from_slice(&flip_i32(i.months));
    out.extend_from_slice(&flip_i32(i.days));
    out.extend_from_slice(&flip_i64(i.micros));
}

// Numeric class bytes, in PostgreSQL's order: -Infinity < negative < 0 < positive < Infinity < NaN.
const NUM_NEG_INF: u8 = 0x00;
const NUM_NEG: u8 = 0x01;
const NUM_ZERO: u8 = 0x02;
const NUM_POS: u8 = 0x03;
const NUM_INF: u8 = 0x04;
const NUM_NAN: u8 = 0x05;

/// A finite non-zero numeric as `0.d1d2..dn * 10^exponent` with `d1 != 0` and `dn != 0`.
fn decimal_digits(d: &BigDecimal) -> (bool, i64, Vec<u8>) {
    let (int, scale) = d.as_bigint_and_exponent();
    let negative = int.sign() == bigdecimal::num_bigint::Sign::Minus;
    let text = int.magnitude().to_string();
    let exponent = text.len() as i64 - scale;
    let digits = text.trim_end_matches('0').bytes().map(|c| c - b'0').collect();
    (negative, exponent, digits)
}

fn encode_numeric(out: &mut Vec<u8>, n: &Numeric) {
    let d = match n {
        Numeric::NegInfinity => return out.push(NUM_NEG_INF),
        Numeric::Infinity => return out.push(NUM_INF),
        Numeric::NaN => return out.push(NUM_NAN),
        Numeric::Finite(d) => d,
    };
    let (negative, exponent, digits) = decimal_digits(d);
    if digits.is_empty() {
        return out.push(NUM_ZERO);
    }
    // A larger exponent means a larger magnitude; for negatives, larger magnitude sorts first,
    // so the exponent and digits are inverted and the terminator is the largest byte.
    let exp = ((exponent as u64) ^ (1 << 63)).to_be_bytes();
    if negative {
        out.push(NUM_NEG);
        out.extend(exp.iter().map(|b| !b));
        out.extend(digits.iter().map(|d| !(d + 1)));
        out.push(0xFF);
    } else {
        out.push(NUM_POS);
        out.extend_from_slice(&exp);
        out.extend(digits.iter().map(|d| d + 1));
        out.push(0x00);
    }
}

fn decode_numeric(r: &mut Reader<'_, '_>) -> Result<Numeric> {
    let class = r.byte()?;
    let negative = match class {
        NUM_NEG_INF => return Ok(Numeric::NegInfinity),
        NUM_INF => return Ok(Numeric::Infinity),
        NUM_NAN => return Ok(Numeric::NaN),
        NUM_ZERO => return Ok(Numeric::Finite(BigDecimal::from(0))),
        NUM_NEG => true,
        NUM_POS => false,
        b => return Err(errdata!("invalid key: bad numeric class byte {b:#04x}")),
    };
    let mut exp: [u8; 8] = r.array()?;
    if negative {
        exp.iter_mut().for_each(|b| *b = !*b);
    }
    let exponent = (u64::from_be_bytes(exp) ^ (1 << 63)) as i64;
    let mut text = String::new();
    loop {
        let b = r.byte()?;
        let b = if negative { !b } else { b };
        match b {
            0x00 => break,
            1..=10 => text.push((b'0' + b - 1) as char),
            _ => return Err(errdata!("invalid key: bad numeric digit byte {b:#04x}")),
        }
    }
    let int: BigInt = text.parse().map_err(|_| errdata!("invalid key: empty numeric digits"))?;
    let int = if negative { -int } else { int };
    Ok(Numeric::Finite(BigDecimal::new(int, text.len() as i64 - exponent)))
}

/// Reads bytes, inverting them for descending columns.
struct Reader<'a, 'b> {
    input: &'b mut &'a [u8],
    invert: bool,
}

impl Reader<'_, '_> {
    fn byte(&mut self) -> Result<u8> {
        let (&b, rest) =
            self.input.split_first().ok_or_else(|| errdata!("invalid key: unexpected end"))?;
        *self.input = rest;
        Ok(if self.invert { !b } else { b })
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        if self.input.len() < N {
            return Err(errdata!("invalid key: unexpected end"));
        }
        let (head, rest) = self.input.split_at(N);
        *self.input = rest;
        let mut a = [0u8; N];
        a.copy_from_slice(head);
        if self.invert {
            a.iter_mut().for_each(|b| *b = !*b);
        }
        Ok(a)
    }

    fn escaped(&mut self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        loop {
            match self.byte()? {
                0x00 => match self.byte()? {
                    0x00 => return Ok(out),
                    0xFF => out.push(0x00),
                    b => return Err(errdata!("invalid key: bad escape byte {b:#04x}")),
                },
                b => out.push(b),
            }
        }
    }

    fn string(&mut self) -> Result<String> {
        String::from_utf8(self.escaped()?).map_err(|_| errdata!("invalid key: text is not UTF-8"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn key(v: &Value, order: ColumnOrder) -> Vec<u8> {
        let mut out = Vec::new();
        encode_value(&mut out, v, order).unwrap();
        out
    }

    fn num(s: &str) -> Value {
        Value::Numeric(Box::new(Numeric::Finite(BigDecimal::from_str(s).unwrap())))
    }

    /// Values listed in ascending SQL order must encode to ascending bytes, and decode back.
    fn check_order(ty: DataType, values: Vec<Value>) {
        for order in [ColumnOrder::ASC, ColumnOrder::DESC] {
            let keys: Vec<_> = values.iter().map(|v| key(v, order)).collect();
            for (i, pair) in keys.windows(2).enumerate() {
                let expect = if order.descending { pair[0] > pair[1] } else { pair[0] < pair[1] };
                assert!(expect, "{ty}: {:?} vs {:?} out of order", values[i], values[i + 1]);
            }
            for (v, k) in values.iter().zip(&keys) {
                let mut input = k.as_slice();
                let decoded = decode_value(&mut input, &ty, order).unwrap();
                assert!(input.is_empty(), "{ty}: trailing bytes after {v:?}");
                match (v, &decoded) {
                    (Value::Numeric(a), Value::Numeric(b)) => assert_eq!(a, b),
                    (Value::Float8(a), Value::Float8(b)) if a.is_nan() => assert!(b.is_nan()),
                    _ => assert_eq!(v, &decoded),
                }
            }
        }
    }

    #[test]
    fn integers_order() {
        check_order(
            DataType::Int8,
            vec![i64::MIN, -1000, -1, 0, 1, 255, 256, i64::MAX]
                .into_iter()
                .map(Value::Int8)
                .chain([Value::Null])
                .collect(),
        );
        check_order(
            DataType::Int2,
            [i16::MIN, -1, 0, 1, i16::MAX].into_iter().map(Value::Int2).collect(),
        );
        check_order(DataType::Int4, [i32::MIN, -7, 0, 9, i32::MAX].map(Value::Int4).to_vec());
    }

    #[test]
    fn floats_order_with_infinities_and_nan_last() {
        check_order(
            DataType::Float8,
            [f64::NEG_INFINITY, -1e300, -1.5, -0.0001, 0.0, 1e-300, 2.5, f64::INFINITY, f64::NAN]
                .map(Value::Float8)
                .to_vec(),
        );
        assert_eq!(
            key(&Value::Float8(-0.0), ColumnOrder::ASC),
            key(&Value::Float8(0.0), ColumnOrder::ASC)
        );
    }

    #[test]
    fn text_orders_bytewise_and_is_prefix_free() {
        check_order(
            DataType::Text,
            ["", "\0", "\0\0", "a", "a\0", "a\0b", "ab", "b", "é"].map(Value::from).to_vec(),
        );
        check_order(
            DataType::Bytea,
            vec![Value::Bytea(vec![]), Value::Bytea(vec![0]), Value::Bytea(vec![0xFF])],
        );
    }

    #[test]
    fn numerics_order_and_normalise() {
        let values = vec![
            Value::Numeric(Box::new(Numeric::NegInfinity)),
            num("-1000"),
            num("-999.99"),
            num("-1.5"),
            num("-1.25"),
            num("-1"),
            num("-0.001"),
            num("0"),
            num("0.00012"),
            num("0.0012"),
            num("1"),
            num("1.05"),
            num("1.5"),
            num("10"),
            num("99.5"),
            num("100"),
            num("12345678901234567890.123"),
            Value::Numeric(Box::new(Numeric::Infinity)),
            Value::Numeric(Box::new(Numeric::NaN)),
        ];
        check_order(DataType::Numeric(None), values);
        assert_eq!(key(&num("1.50"), ColumnOrder::ASC), key(&num("1.5"), ColumnOrder::ASC));
        assert_eq!(key(&num("0.000"), ColumnOrder::ASC), key(&num("0"), ColumnOrder::ASC));
    }

    #[test]
    fn intervals_order_by_span() {
        let iv = |months, days, micros| Value::Interval(Interval { months, days, micros });
        check_order(
            DataType::Interval(None),
            vec![
                iv(0, 0, -1),
                iv(0, 0, 0),
                iv(0, 1, 0),
                iv(0, 29, 0),
                iv(0, 30, 0),
                iv(1, 0, 0),
                iv(1, 0, 1),
            ],
        );
    }

    #[test]
    fn arrays_order_elementwise() {
        let arr = |xs: &[Option<i32>]| {
            Value::Array(Box::new(Array {
                element_type: DataType::Int4,
                elements: xs.iter().map(|x| x.map_or(Value::Null, Value::Int4)).collect(),
            }))
        };
        check_order(
            DataType::Array(Box::new(DataType::Int4)),
            vec![
                arr(&[]),
                arr(&[Some(1)]),
                arr(&[Some(1), Some(2)]),
                arr(&[Some(1), None]),
                arr(&[Some(2)]),
            ],
        );
    }

    #[test]
    fn records_order_field_by_field_with_null_fields_last() {
        let rec = |a: Option<i32>, b: &str| {
            Value::Record(Box::new(vec![a.map_or(Value::Null, Value::Int4), Value::from(b)]))
        };
        let ty = DataType::Record(std::sync::Arc::new(crate::value::RecordType {
            fields: vec![("a".into(), DataType::Int4), ("b".into(), DataType::Text)],
            ..Default::default()
        }));
        check_order(
            ty,
            vec![
                rec(Some(-1), "z"),
                rec(Some(1), ""),
                rec(Some(1), "a"),
                rec(Some(2), ""),
                rec(None, "a"),
            ],
        );
    }

    #[test]
    fn nulls_first_and_last() {
        let asc_first = ColumnOrder { descending: false, nulls_first: true };
        assert!(key(&Value::Null, asc_first) < key(&Value::Int4(i32::MIN), asc_first));
        assert!(
            key(&Value::Null, ColumnOrder::ASC) > key(&Value::Int4(i32::MAX), ColumnOrder::ASC)
        );
        assert!(
            key(&Value::Null, ColumnOrder::DESC) < key(&Value::Int4(i32::MAX), ColumnOrder::DESC)
        );
        let desc_last = ColumnOrder { descending: true, nulls_first: false };
        assert!(key(&Value::Null, desc_last) > key(&Value::Int4(i32::MIN), desc_last));
    }

    #[test]
    fn composite_keys_order_lexicographically() {
        let enc = |a: i32, b: &str| {
            let mut out = Vec::new();
            encode_values(&mut out, &[Value::Int4(a), Value::from(b)]).unwrap();
            out
        };
        let mut keys = vec![enc(2, "a"), enc(1, "b"), enc(1, "ab"), enc(1, "a"), enc(-1, "zzz")];
        keys.sort();
        assert_eq!(keys, vec![enc(-1, "zzz"), enc(1, "a"), enc(1, "ab"), enc(1, "b"), enc(2, "a")]);
    }

    #[test]
    fn json_is_not_orderable_and_truncated_keys_are_errors() {
        let mut out = Vec::new();
        let err = encode_value(&mut out, &Value::Json("{}".into()), ColumnOrder::ASC).unwrap_err();
        assert_eq!(err.code(), crate::SqlState::UNDEFINED_FUNCTION);
        let full = key(&Value::from("hello"), ColumnOrder::ASC);
        for cut in 0..full.len() {
            let mut input = &full[..cut];
            assert!(decode_value(&mut input, &DataType::Text, ColumnOrder::ASC).is_err());
        }
    }

    #[test]
    fn random_integers_and_strings_keep_order() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for _ in 0..2000 {
            let (a, b): (i64, i64) = (rng.random(), rng.random());
            let (ka, kb) =
                (key(&Value::Int8(a), ColumnOrder::ASC), key(&Value::Int8(b), ColumnOrder::ASC));
            assert_eq!(a.cmp(&b), ka.cmp(&kb));
            let (x, y): (f64, f64) =
                (rng.random::<f64>() * 1e6 - 5e5, rng.random::<f64>() * 10.0 - 5.0);
            let (kx, ky) = (
                key(&Value::Float8(x), ColumnOrder::ASC),
                key(&Value::Float8(y), ColumnOrder::ASC),
            );
            assert_eq!(x.partial_cmp(&y).unwrap(), kx.cmp(&ky));
            let s: Vec<u8> = (0..rng.random_range(0..6)).map(|_| rng.random_range(0..3)).collect();
            let t: Vec<u8> = (0..rng.random_range(0..6)).map(|_| rng.random_range(0..3)).collect();
            let (ks, kt) = (
                key(&Value::Bytea(s.clone()), ColumnOrder::ASC),
                key(&Value::Bytea(t.clone()), ColumnOrder::ASC),
            );
            assert_eq!(s.cmp(&t), ks.cmp(&kt));
        }
    }
}
