//! Casts between types, with PostgreSQL's rules.
//!
//! Two flavours differ only for length-limited types, as in PostgreSQL: an *explicit* cast
//! (`'abcdef'::varchar(3)`) truncates, an *assignment* (inserting into a `varchar(3)` column)
//! fails with 22001. Numeric casts check ranges (22003), float-to-integer rounds half to even
//! (`rint`), numeric-to-integer rounds half away from zero, and `numeric(p, s)` rounds to `s`
//! decimals and fails when the integer part has more than `p - s` digits.

use bigdecimal::rounding::RoundingMode;
use bigdecimal::{BigDecimal, ToPrimitive};
use oxibase_common::{Array, DataType, Numeric, Result, Value, errinput};

use super::compare::{as_i64, numeric_to_f64, to_numeric};
use super::datetime::{self, MICROS_PER_DAY, Zone};
use super::text::{format_float, format_value, parse_numeric, parse_value};

/// How a cast was asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CastKind {
    /// `CAST(x AS t)` or `x::t`: length limits truncate.
    Explicit,
    /// Storing into a column: length limits are errors.
    Assignment,
}

/// Casts a value to a type.
pub fn cast(value: Value, to: &DataType, kind: CastKind, zone: &Zone) -> Result<Value> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    let value = match (value, to) {
        (Value::Text(s), DataType::Text) => Value::Text(s),
        (Value::Text(s), DataType::Varchar(limit)) => {
            Value::Text(limit_length(s, *limit, kind, "character varying")?)
        }
        (Value::Text(s), DataType::Char(n)) => {
            Value::Text(pad_char(limit_length(s, Some(*n), kind, "character")?, *n))
        }
        // A boolean cast to text is spelled out, though it is output as t/f.
        (Value::Bool(b), DataType::Text | DataType::Varchar(_) | DataType::Char(_)) => {
            let text = if b { "true" } else { "false" };
            return cast(Value::Text(text.into()), to, kind, zone);
        }
        // An inet cast to text always shows its mask (network_show), though it is output
        // without a full one.
        (Value::Inet(i), DataType::Text | DataType::Varchar(_) | DataType::Char(_)) => {
            let text = super::inet::show(&i);
            return cast(Value::Text(text), to, kind, zone);
        }
        (v, DataType::Text | DataType::Varchar(_) | DataType::Char(_) | DataType::Name)
            if !matches!(v, Value::Text(_)) =>
        {
            let text = format_value(&v, zone).unwrap_or_default();
            return cast(Value::Text(text), to, kind, zone);
        }
        (Value::Text(s), _) => parse_value(&s, to, zone)?,
        (v @ (Value::Int2(_) | Value::Int4(_) | Value::Int8(_)), _) => {
            from_integer(as_i64(&v), to)?
        }
        (Value::Float4(f), _) => from_float(f as f64, to, true)?,
        (Value::Float8(f), _) => from_float(f, to, false)?,
        (Value::Numeric(n), _) => from_numeric(*n, to)?,
        (Value::Bool(b), DataType::Bool) => Value::Bool(b),
        (Value::Bool(b), DataType::Int4) => Value::Int4(b as i32),
        (Value::Date(d), _) => from_date(d, to, zone)?,
        (Value::Timestamp(t), _) => from_timestamp(t, to, zone)?,
        (Value::TimestampTz(t), _) => from_timestamptz(t, to, zone)?,
        (Value::Time(t), DataType::Time(_)) => Value::Time(t),
        (Value::Time(t), DataType::Interval(_)) => {
            Value::Interval(oxibase_common::Interval { months: 0, days: 0, micros: t })
        }
        (Value::Interval(iv), DataType::Interval(_)) => Value::Interval(iv),
        (Value::Interval(iv), DataType::Time(_)) => {
            Value::Time(iv.micros.rem_euclid(MICROS_PER_DAY))
        }
        (Value::Bytea(b), DataType::Bytea) => Value::Bytea(b),
        (Value::Uuid(u), DataType::Uuid) => Value::Uuid(u),
        // The binder allows only a cast to the value's own enum type.
        (Value::Enum(e), DataType::Enum(_)) => Value::Enum(e),
        (Value::Json(s), DataType::Json) => Value::Json(s),
        (Value::Json(s), DataType::Jsonb) => Value::Jsonb(super::text::normalize_jsonb(&s)?),
        (Value::Jsonb(s), DataType::Jsonb | DataType::Json) => {
            if matches!(to, DataType::Json) {
                Value::Json(s)
            } else {
                Value::Jsonb(s)
            }
        }
        (
            Value::Jsonb(s),
            DataType::Bool
            | DataType::Int2
            | DataType::Int4
            | DataType::Int8
            | DataType::Numeric(_)
            | DataType::Float8
            | DataType::Float4,
        ) => jsonb_scalar_cast(&s, to, kind, zone)?,
        (Value::Array(a), DataType::Array(element)) => {
            let elements = a
                .elements
                .into_iter()
                .map(|e| cast(e, element, kind, zone))
                .collect::<Result<_>>()?;
            Value::Array(Box::new(Array { element_type: (**element).clone(), elements }))
        }
        // inet and cidr convert both ways: to cidr drops the bits right of the mask.
        (Value::Inet(i), DataType::Inet) => Value::Inet(oxibase_common::Inet { cidr: false, ..i }),
        (Value::Inet(i), DataType::Cidr) => {
            Value::Inet(oxibase_common::Inet { cidr: true, addr: i.masked(i.bits), ..i })
        }
        // A record to a record of as many fields: each field to its new type.
        (Value::Record(fields), DataType::Record(record)) => {
            if record.fields.is_empty() {
                return Ok(Value::Record(fields));
            }
            if record.fields.len() != fields.len() {
                return Err(errinput!(CANNOT_COERCE, "cannot cast type record to {to}")
                    .with_detail(format!(
                        "Input has {} columns, but the target type has {}.",
                        fields.len(),
                        record.fields.len()
                    )));
            }
            let fields = fields
                .into_iter()
                .zip(&record.fields)
                .map(|(v, (_, t))| cast(v, t, kind, zone))
                .collect::<Result<_>>()?;
            Value::Record(Box::new(fields))
        }
        (v, to) => return Err(cannot_cast(v.type_name(), to)),
    };
    // `timestamp(0)` and the like keep fewer fractional digits of seconds.
    Ok(match to.time_precision() {
        Some(p) => datetime::round_to_precision(value, p),
        None => value,
    })
}

fn cannot_cast(from: &str, to: &DataType) -> oxibase_common::Error {
    errinput!(DATATYPE_MISMATCH, "cannot cast type {from} to {to}")
}

fn limit_length(s: String, limit: Option<u32>, kind: CastKind, type_name: &str) -> Result<String> {
    let Some(limit) = limit else { return Ok(s) };
    let limit = limit as usize;
    if s.chars().count() <= limit {
        return Ok(s);
    }
    match kind {
        CastKind::Explicit => Ok(s.chars().take(limit).collect()),
        CastKind::Assignment => {
            // Excess characters that are all spaces are dropped silently, as in PostgreSQL.
            if s.chars().skip(limit).all(|c| c == ' ') {
                return Ok(s.chars().take(limit).collect());
            }
            Err(errinput!(
                STRING_DATA_RIGHT_TRUNCATION,
                "value too long for type {type_name}({limit})"
            ))
        }
    }
}

fn pad_char(s: String, n: u32) -> String {
    let len = s.chars().count();
    if len >= n as usize { s } else { format!("{s}{}", " ".repeat(n as usize - len)) }
}

fn out_of_range(type_name: &str) -> oxibase_common::Error {
    errinput!(NUMERIC_VALUE_OUT_OF_RANGE, "{type_name} out of range")
}

fn from_integer(v: i64, to: &DataType) -> Result<Value> {
    Ok(match to {
        DataType::Int2 => Value::Int2(i16::try_from(v).map_err(|_| out_of_range("smallint"))?),
        DataType::Int4 => Value::Int4(i32::try_from(v).map_err(|_| out_of_range("integer"))?),
        DataType::Int8 => Value::Int8(v),
        DataType::Oid => Value::Int8(super::text::oid_value(v)?),
        DataType::Float4 => Value::Float4(v as f32),
        DataType::Float8 => Value::Float8(v as f64),
        DataType::Numeric(typmod) => {
            Value::Numeric(Box::new(apply_typmod(Numeric::Finite(BigDecimal::from(v)), *typmod)?))
        }
        DataType::Bool => Value::Bool(v != 0),
        other => return Err(cannot_cast("integer", other)),
    })
}

fn float_to_int(f: f64, type_name: &str, min: f64, max: f64) -> Result<i64> {
    let r = f.round_ties_even();
    if f.is_nan() || r < min || r > max {
        return Err(out_of_range(type_name));
    }
    Ok(r as i64)
}

fn from_float(f: f64, to: &DataType, single: bool) -> Result<Value> {
    Ok(match to {
        DataType::Int2 => {
            Value::Int2(float_to_int(f, "smallint", i16::MIN as f64, i16::MAX as f64)? as i16)
        }
        DataType::Int4 => {
            Value::Int4(float_to_int(f, "integer", i32::MIN as f64, i32::MAX as f64)? as i32)
        }
        DataType::Int8 => {
            Value::Int8(float_to_int(f, "bigint", -9.223372036854776e18, 9.223372036854775e18)?)
        }
        DataType::Float4 => {
            let r = f as f32;
            if r.is_infinite() && f.is_finite() {
                return Err(errinput!(NUMERIC_VALUE_OUT_OF_RANGE, "value out of range: overflow"));
            }
            Value::Float4(r)
        }
        DataType::Float8 => Value::Float8(f),
        DataType::Numeric(typmod) => {
            let n = if f.is_finite() {
                parse_numeric(&format_float(f, 1000, single))?
            } else {
                to_numeric(&Value::Float8(f))
            };
            Value::Numeric(Box::new(apply_typmod(n, *typmod)?))
        }
        other => return Err(cannot_cast("double precision", other)),
    })
}

fn numeric_to_int(n: &Numeric, type_name: &str) -> Result<i64> {
    match n {
        Numeric::Finite(d) => d
            .with_scale_round(0, RoundingMode::HalfUp)
            .to_i64()
            .ok_or_else(|| out_of_range(type_name)),
        Numeric::NaN => {
            Err(errinput!(NUMERIC_VALUE_OUT_OF_RANGE, "cannot convert NaN to {type_name}"))
        }
        _ => Err(errinput!(NUMERIC_VALUE_OUT_OF_RANGE, "cannot convert infinity to {type_name}")),
    }
}

fn from_numeric(n: Numeric, to: &DataType) -> Result<Value> {
    Ok(match to {
        DataType::Int2 => Value::Int2(
            i16::try_from(numeric_to_int(&n, "smallint")?).map_err(|_| out_of_range("smallint"))?,
        ),
        DataType::Int4 => Value::Int4(
            i32::try_from(numeric_to_int(&n, "integer")?).map_err(|_| out_of_range("integer"))?,
        ),
        DataType::Int8 => Value::Int8(numeric_to_int(&n, "bigint")?),
        DataType::Float4 => Value::Float4(numeric_to_f64(&n) as f32),
        DataType::Float8 => Value::Float8(numeric_to_f64(&n)),
        DataType::Numeric(typmod) => Value::Numeric(Box::new(apply_typmod(n, *typmod)?)),
        other => return Err(cannot_cast("numeric", other)),
    })
}

/// Rounds a numeric to `numeric(p, s)`: `s` decimals (half away from zero), at most `p - s`
/// integer digits.
pub fn apply_typmod(n: Numeric, typmod: Option<(u16, u16)>) -> Result<Numeric> {
    let (Some((precision, scale)), Numeric::Finite(d)) = (typmod, &n) else { return Ok(n) };
    let rounded = d.with_scale_round(scale as i64, RoundingMode::HalfUp);
    let (int, _) = rounded.as_bigint_and_exponent();
    let digits = int.magnitude().to_string();
    let integer_digits =
        if int.magnitude().bits() == 0 { 0 } else { digits.len() as i64 - scale as i64 };
    if integer_digits > precision as i64 - scale as i64 {
        return Err(errinput!(NUMERIC_VALUE_OUT_OF_RANGE, "numeric field overflow").with_detail(format!(
            "A field with precision {precision}, scale {scale} must round to an absolute value less than {}.",
            if precision == scale { "1".to_string() } else { format!("10^{}", precision - scale) }
        )));
    }
    Ok(Numeric::Finite(rounded))
}

fn from_date(days: i32, to: &DataType, zone: &Zone) -> Result<Value> {
    let micros = match days {
        i32::MAX => i64::MAX,
        i32::MIN => i64::MIN,
        d => d as i64 * MICROS_PER_DAY,
    };
    Ok(match to {
        DataType::Date => Value::Date(days),
        DataType::Timestamp(_) => Value::Timestamp(micros),
        DataType::TimestampTz(_) => Value::TimestampTz(datetime::local_to_utc(micros, zone)),
        other => return Err(cannot_cast("date", other)),
    })
}

fn timestamp_to_date(micros: i64) -> i32 {
    match micros {
        i64::MAX => i32::MAX,
        i64::MIN => i32::MIN,
        m => m.div_euclid(MICROS_PER_DAY) as i32,
    }
}

fn from_timestamp(micros: i64, to: &DataType, zone: &Zone) -> Result<Value> {
    Ok(match to {
        DataType::Timestamp(_) => Value::Timestamp(micros),
        DataType::TimestampTz(_) => Value::TimestampTz(datetime::local_to_utc(micros, zone)),
        DataType::Date => Value::Date(timestamp_to_date(micros)),
        DataType::Time(_) => Value::Time(micros.rem_euclid(MICROS_PER_DAY)),
        other => return Err(cannot_cast("timestamp without time zone", other)),
    })
}

fn from_timestamptz(micros: i64, to: &DataType, zone: &Zone) -> Result<Value> {
    let local = datetime::utc_to_local(micros, zone);
    Ok(match to {
        DataType::TimestampTz(_) => Value::TimestampTz(micros),
        DataType::Timestamp(_) => Value::Timestamp(local),
        DataType::Date => Value::Date(timestamp_to_date(local)),
        DataType::Time(_) => Value::Time(local.rem_euclid(MICROS_PER_DAY)),
        other => return Err(cannot_cast("timestamp with time zone", other)),
    })
}

fn jsonb_scalar_cast(text: &str, to: &DataType, kind: CastKind, zone: &Zone) -> Result<Value> {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| errinput!(INVALID_TEXT_REPRESENTATION, "invalid jsonb: {e}"))?;
    match (&value, to) {
        (serde_json::Value::Bool(b), DataType::Bool) => Ok(Value::Bool(*b)),
        (serde_json::Value::Number(n), _) if !matches!(to, DataType::Bool) => {
            cast(Value::Text(n.to_string()), to, kind, zone)
        }
        _ => Err(errinput!(
            INVALID_PARAMETER_VALUE,
            "cannot cast jsonb {} to type {to}",
            json_kind(&value)
        )),
    }
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "numeric",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(v: Value, to: DataType) -> Result<Value> {
        cast(v, &to, CastKind::Explicit, &Zone::UTC)
    }

    fn num(s: &str) -> Value {
        Value::Numeric(Box::new(parse_numeric(s).unwrap()))
    }

    #[test]
    fn integer_casts_check_ranges() {
        assert_eq!(c(Value::Int8(7), DataType::Int2).unwrap(), Value::Int2(7));
        assert_eq!(
            c(Value::Int8(70_000), DataType::Int2).unwrap_err().message(),
            "smallint out of range"
        );
        assert_eq!(
            c(Value::Float8(2.5), DataType::Int4).unwrap(),
            Value::Int4(2),
            "rint rounds half to even"
        );
        assert_eq!(c(Value::Float8(3.5), DataType::Int4).unwrap(), Value::Int4(4));
        assert_eq!(
            c(num("2.5"), DataType::Int4).unwrap(),
            Value::Int4(3),
            "numeric rounds half away from zero"
        );
        assert_eq!(c(num("-2.5"), DataType::Int4).unwrap(), Value::Int4(-3));
        assert!(c(Value::Float8(f64::NAN), DataType::Int8).is_err());
    }

    #[test]
    fn numeric_typmods_round_and_overflow() {
        assert_eq!(c(num("3.14159"), DataType::Numeric(Some((5, 2)))).unwrap(), num("3.14"));
        assert_eq!(c(num("0.005"), DataType::Numeric(Some((3, 2)))).unwrap(), num("0.01"));
        let err = c(num("1000"), DataType::Numeric(Some((5, 2)))).unwrap_err();
        assert_eq!(err.message(), "numeric field overflow");
        assert_eq!(
            err.detail(),
            Some(
                "A field with precision 5, scale 2 must round to an absolute value less than 10^3."
            )
        );
        assert_eq!(c(Value::Float8(0.1), DataType::Numeric(None)).unwrap(), num("0.1"));
        assert_eq!(c(Value::Int4(5), DataType::Numeric(Some((4, 1)))).unwrap(), num("5.0"));
    }

    #[test]
    fn length_limits_truncate_explicitly_and_fail_on_assignment() {
        assert_eq!(
            c(Value::from("abcdef"), DataType::Varchar(Some(3))).unwrap(),
            Value::from("abc")
        );
        let err = cast(
            Value::from("abcdef"),
            &DataType::Varchar(Some(3)),
            CastKind::Assignment,
            &Zone::UTC,
        )
        .unwrap_err();
        assert_eq!(err.message(), "value too long for type character varying(3)");
        assert_eq!(
            cast(
                Value::from("ab   "),
                &DataType::Varchar(Some(3)),
                CastKind::Assignment,
                &Zone::UTC
            )
            .unwrap(),
            Value::from("ab ")
        );
        assert_eq!(c(Value::from("ab"), DataType::Char(4)).unwrap(), Value::from("ab  "));
    }

    #[test]
    fn text_and_temporal_casts() {
        assert_eq!(c(Value::Int4(42), DataType::Text).unwrap(), Value::from("42"));
        assert_eq!(c(Value::from("2024-01-02"), DataType::Date).unwrap(), Value::Date(8767));
        let ts = c(Value::Date(1), DataType::Timestamp(None)).unwrap();
        assert_eq!(ts, Value::Timestamp(MICROS_PER_DAY));
        assert_eq!(c(ts, DataType::Date).unwrap(), Value::Date(1));
        assert_eq!(
            c(Value::from("{1,2}"), DataType::Array(Box::new(DataType::Int8))).unwrap().type_name(),
            "array"
        );
        assert_eq!(c(Value::Bool(true), DataType::Int4).unwrap(), Value::Int4(1));
        assert!(c(Value::Date(1), DataType::Int4).is_err());
    }
}
