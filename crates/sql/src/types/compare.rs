//! Comparing values, as PostgreSQL's btree operator classes order them.
//!
//! NULL is handled by callers (three-valued logic, or NULLS FIRST/LAST when sorting); these
//! functions compare non-NULL values. Floats and numerics put NaN above every other value and
//! treat NaN as equal to itself, as PostgreSQL does, so sorting is a total order. Text compares
//! bytewise (the "C" collation). Values of different numeric types compare by value.

use std::cmp::Ordering;

use bigdecimal::{BigDecimal, FromPrimitive, ToPrimitive};
use oxibase_common::keycode::{self, ColumnOrder};
use oxibase_common::{Numeric, Result, Value, errinput};

/// Compares two non-NULL values.
pub fn compare(a: &Value, b: &Value) -> Result<Ordering> {
    use Value::*;
    Ok(match (a, b) {
        (Bool(x), Bool(y)) => x.cmp(y),
        (Int2(_) | Int4(_) | Int8(_), Int2(_) | Int4(_) | Int8(_)) => as_i64(a).cmp(&as_i64(b)),
        (Float4(_) | Float8(_), Float4(_) | Float8(_)) => compare_f64(as_f64(a), as_f64(b)),
        (Numeric(x), Numeric(y)) => x.cmp(y),
        (Int2(_) | Int4(_) | Int8(_), Numeric(_)) | (Numeric(_), Int2(_) | Int4(_) | Int8(_)) => {
            to_numeric(a).cmp(&to_numeric(b))
        }
        (Int2(_) | Int4(_) | Int8(_) | Numeric(_), Float4(_) | Float8(_))
        | (Float4(_) | Float8(_), Int2(_) | Int4(_) | Int8(_) | Numeric(_)) => {
            compare_f64(to_f64(a), to_f64(b))
        }
        (Text(x), Text(y)) => x.cmp(y),
        (Bytea(x), Bytea(y)) => x.cmp(y),
        (Date(x), Date(y)) => x.cmp(y),
        (Time(x), Time(y)) | (Timestamp(x), Timestamp(y)) | (TimestampTz(x), TimestampTz(y)) => {
            x.cmp(y)
        }
        (Date(d), Timestamp(t)) => date_micros(*d).cmp(t),
        (Timestamp(t), Date(d)) => t.cmp(&date_micros(*d)),
        (Interval(x), Interval(y)) => x.span_micros().cmp(&y.span_micros()),
        (Uuid(x), Uuid(y)) => x.cmp(y),
        (Jsonb(x), Jsonb(y)) => x.cmp(y),
        (Array(x), Array(y)) => compare_arrays(&x.elements, &y.elements)?,
        (Inet(x), Inet(y)) => x.sort_key().cmp(&y.sort_key()),
        // Field by field, a NULL field above any value (PostgreSQL's record_cmp).
        (Record(x), Record(y)) => {
            if x.len() != y.len() {
                return Err(errinput!(
                    DATATYPE_MISMATCH,
                    "cannot compare record types with different numbers of columns"
                ));
            }
            compare_arrays(x, y)?
        }
        // Values of one enum type compare by sort order (the binder keeps types apart).
        (Enum(x), Enum(y)) => compare_f64(x.order, y.order),
        (Json(_), _) | (_, Json(_)) => {
            return Err(errinput!(
                UNDEFINED_FUNCTION,
                "could not identify an equality operator for type json"
            )
            .with_hint("use jsonb, which can be compared"));
        }
        _ => {
            return Err(errinput!(UNDEFINED_FUNCTION, "operator does not exist: {} = {}", a.type_name(), b.type_name())
                .with_hint("no operator matches the given name and argument types; you might need to add explicit type casts"));
        }
    })
}

/// True when two non-NULL values are equal (`=`).
pub fn equal(a: &Value, b: &Value) -> Result<bool> {
    Ok(compare(a, b)? == Ordering::Equal)
}

/// Sort order for ORDER BY: NULLs placed by `nulls_first`, values by [`compare`]; values
/// that cannot be compared sort as equal (the binder rejects such sorts up front).
pub fn sort_cmp(a: &Value, b: &Value, descending: bool, nulls_first: bool) -> Ordering {
    match (a.is_null(), b.is_null()) {
        (true, true) => Ordering::Equal,
        (true, false) => {
            if nulls_first {
                Ordering::Less
            } else {
                Ordering::Greater
            }
        }
        (false, true) => {
            if nulls_first {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
        (false, false) => {
            let ord = compare(a, b).unwrap_or(Ordering::Equal);
            if descending { ord.reverse() } else { ord }
        }
    }
}

fn compare_arrays(a: &[Value], b: &[Value]) -> Result<Ordering> {
    for (x, y) in a.iter().zip(b) {
        let ord = match (x.is_null(), y.is_null()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => compare(x, y)?,
        };
        if ord != Ordering::Equal {
            return Ok(ord);
        }
    }
    Ok(a.len().cmp(&b.len()))
}

fn compare_f64(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
    }
}

fn date_micros(days: i32) -> i64 {
    match days {
        i32::MAX => i64::MAX,
        i32::MIN => i64::MIN,
        d => d as i64 * super::datetime::MICROS_PER_DAY,
    }
}

/// An integer value widened to i64 (0 for non-integers).
pub fn as_i64(v: &Value) -> i64 {
    match v {
        Value::Int2(x) => *x as i64,
        Value::Int4(x) => *x as i64,
        Value::Int8(x) => *x,
        _ => 0,
    }
}

fn as_f64(v: &Value) -> f64 {
    match v {
        Value::Float4(x) => *x as f64,
        Value::Float8(x) => *x,
        _ => 0.0,
    }
}

/// Any numeric value as f64 (numerics may lose precision).
pub fn to_f64(v: &Value) -> f64 {
    match v {
        Value::Int2(_) | Value::Int4(_) | Value::Int8(_) => as_i64(v) as f64,
        Value::Float4(_) | Value::Float8(_) => as_f64(v),
        Value::Numeric(n) => numeric_to_f64(n),
        _ => f64::NAN,
    }
}

/// A numeric as f64.
pub fn numeric_to_f64(n: &Numeric) -> f64 {
    match n {
        Numeric::NaN => f64::NAN,
        Numeric::Infinity => f64::INFINITY,
        Numeric::NegInfinity => f64::NEG_INFINITY,
        Numeric::Finite(d) => d.to_f64().unwrap_or(f64::NAN),
    }
}

/// Any integer or numeric value as a numeric.
pub fn to_numeric(v: &Value) -> Numeric {
    match v {
        Value::Int2(_) | Value::Int4(_) | Value::Int8(_) => {
            Numeric::Finite(BigDecimal::from(as_i64(v)))
        }
        Value::Numeric(n) => (**n).clone(),
        Value::Float4(_) | Value::Float8(_) => {
            let f = as_f64(v);
            if f.is_nan() {
                Numeric::NaN
            } else if f.is_infinite() {
                if f > 0.0 { Numeric::Infinity } else { Numeric::NegInfinity }
            } else {
                BigDecimal::from_f64(f).map_or(Numeric::NaN, Numeric::Finite)
            }
        }
        _ => Numeric::NaN,
    }
}

/// A byte string that is equal for values that compare equal: the key for grouping,
/// DISTINCT, hash joins and set operations. NULLs group together, as SQL requires there.
pub fn group_key(values: &[Value], out: &mut Vec<u8>) -> Result<()> {
    for v in values {
        let normalized;
        let v = match v {
            Value::Int2(_) | Value::Int4(_) => {
                normalized = Value::Int8(as_i64(v));
                &normalized
            }
            Value::Float4(f) => {
                normalized = Value::Float8(*f as f64);
                &normalized
            }
            Value::Json(_) => {
                return Err(errinput!(
                    UNDEFINED_FUNCTION,
                    "could not identify an equality operator for type json"
                ));
            }
            other => other,
        };
        // Tag by kind so that 1 (integer) and 1.0 (numeric) stay comparable across rows of one
        // column while values of different kinds never collide byte-wise.
        out.push(match v {
            Value::Int8(_) => 1,
            Value::Float8(_) => 2,
            Value::Numeric(_) => 3,
            _ => 0,
        });
        keycode::encode_value(out, v, ColumnOrder::ASC)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_compare_across_types_and_nan_is_largest() {
        assert_eq!(compare(&Value::Int4(2), &Value::Int8(10)).unwrap(), Ordering::Less);
        assert_eq!(
            compare(&Value::Float8(f64::NAN), &Value::Float8(f64::INFINITY)).unwrap(),
            Ordering::Greater
        );
        assert_eq!(
            compare(&Value::Float8(f64::NAN), &Value::Float8(f64::NAN)).unwrap(),
            Ordering::Equal
        );
        assert_eq!(compare(&Value::Int4(1), &Value::Float8(1.5)).unwrap(), Ordering::Less);
        let n = |s: &str| Value::Numeric(Box::new(super::super::text::parse_numeric(s).unwrap()));
        assert_eq!(compare(&n("1.50"), &n("1.5")).unwrap(), Ordering::Equal);
        assert_eq!(compare(&Value::Int8(2), &n("1.99")).unwrap(), Ordering::Greater);
        assert!(compare(&Value::Int4(1), &Value::from("1")).is_err());
    }

    #[test]
    fn nulls_sort_where_asked() {
        assert_eq!(sort_cmp(&Value::Null, &Value::Int4(1), false, false), Ordering::Greater);
        assert_eq!(sort_cmp(&Value::Null, &Value::Int4(1), true, true), Ordering::Less);
        assert_eq!(sort_cmp(&Value::Int4(1), &Value::Int4(2), true, true), Ordering::Greater);
    }

    #[test]
    fn group_keys_match_equal_values() {
        let key = |v: Value| {
            let mut out = Vec::new();
            group_key(&[v], &mut out).unwrap();
            out
        };
        assert_eq!(key(Value::Int4(7)), key(Value::Int8(7)));
        assert_eq!(key(Value::Float8(0.0)), key(Value::Float8(-0.0)));
        assert_ne!(key(Value::Int4(7)), key(Value::from("7")));
        assert_eq!(key(Value::Null), key(Value::Null));
    }
}
