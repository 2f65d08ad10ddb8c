//! Arithmetic on values, with PostgreSQL's overflow, rounding and scale rules.
//!
//! Integers are checked (22003 "integer out of range"); division by zero is 22012 for every
//! numeric type; floats report overflow and underflow; numeric division picks its result scale
//! as PostgreSQL's `select_div_scale` does (at least 16 significant digits, never fewer
//! decimals than either input). Date/time arithmetic adds months, then days, then time, in the
//! session time zone for `timestamptz`.

use bigdecimal::rounding::RoundingMode;
use bigdecimal::{BigDecimal, Zero};
use oxibase_common::{Array, Interval, Numeric, Result, Value, errinput};

use super::compare::{as_i64, to_f64, to_numeric};
use super::datetime::{self, MICROS_PER_DAY, Zone};

fn int_overflow(v: &Value) -> oxibase_common::Error {
    let name = match v {
        Value::Int2(_) => "smallint",
        Value::Int8(_) => "bigint",
        _ => "integer",
    };
    errinput!(NUMERIC_VALUE_OUT_OF_RANGE, "{name} out of range")
}

fn division_by_zero() -> oxibase_common::Error {
    errinput!(DIVISION_BY_ZERO, "division by zero")
}

/// Re-wraps an i64 result in the wider of the operands' integer types, checking range.
fn int_result(a: &Value, b: &Value, r: Option<i64>) -> Result<Value> {
    let wide = if matches!(a, Value::Int8(_)) || matches!(b, Value::Int8(_)) {
        a.clone()
    } else if matches!(a, Value::Int4(_)) || matches!(b, Value::Int4(_)) {
        Value::Int4(0)
    } else {
        Value::Int2(0)
    };
    let kind = if matches!(a, Value::Int8(_)) || matches!(b, Value::Int8(_)) {
        Value::Int8(0)
    } else {
        wide
    };
    let r = r.ok_or_else(|| int_overflow(&kind))?;
    Ok(match kind {
        Value::Int8(_) => Value::Int8(r),
        Value::Int4(_) => Value::Int4(i32::try_from(r).map_err(|_| int_overflow(&kind))?),
        _ => Value::Int2(i16::try_from(r).map_err(|_| int_overflow(&kind))?),
    })
}

fn is_int(v: &Value) -> bool {
    matches!(v, Value::Int2(_) | Value::Int4(_) | Value::Int8(_))
}

fn is_float(v: &Value) -> bool {
    matches!(v, Value::Float4(_) | Value::Float8(_))
}

fn underflow() -> oxibase_common::Error {
    errinput!(NUMERIC_VALUE_OUT_OF_RANGE, "value out of range: underflow")
}

fn float_result(a: &Value, b: &Value, r: f64, inputs_finite: bool) -> Result<Value> {
    if r.is_infinite() && inputs_finite {
        return Err(errinput!(NUMERIC_VALUE_OUT_OF_RANGE, "value out of range: overflow"));
    }
    Ok(
        if matches!(a, Value::Float8(_))
            || matches!(b, Value::Float8(_))
            || !is_float(a)
            || !is_float(b)
        {
            Value::Float8(r)
        } else {
            if (r as f32).is_infinite() && inputs_finite {
                return Err(errinput!(NUMERIC_VALUE_OUT_OF_RANGE, "value out of range: overflow"));
            }
            Value::Float4(r as f32)
        },
    )
}

fn numeric(n: Numeric) -> Value {
    Value::Numeric(Box::new(n))
}

/// `a + b`
pub fn add(a: &Value, b: &Value, zone: &Zone) -> Result<Value> {
    use Value::*;
    match (a, b) {
        _ if is_int(a) && is_int(b) => int_result(a, b, as_i64(a).checked_add(as_i64(b))),
        _ if (is_float(a) || is_float(b)) && is_number(a) && is_number(b) => {
            let (x, y) = (to_f64(a), to_f64(b));
            float_result(a, b, x + y, x.is_finite() && y.is_finite())
        }
        _ if is_number(a) && is_number(b) => {
            Ok(numeric(numeric_add(&to_numeric(a), &to_numeric(b), false)))
        }
        (Date(d), Int2(_) | Int4(_) | Int8(_)) | (Int2(_) | Int4(_) | Int8(_), Date(d)) => {
            let n = if matches!(a, Date(_)) { as_i64(b) } else { as_i64(a) };
            date_plus_days(*d, n)
        }
        (Date(d), Interval(iv)) | (Interval(iv), Date(d)) => {
            Ok(Timestamp(datetime::add_interval(date_to_micros(*d), iv)?))
        }
        (Date(d), Time(t)) | (Time(t), Date(d)) => Ok(Timestamp(date_to_micros(*d) + t)),
        (Timestamp(ts), Interval(iv)) | (Interval(iv), Timestamp(ts)) => {
            Ok(Timestamp(datetime::add_interval(*ts, iv)?))
        }
        (TimestampTz(ts), Interval(iv)) | (Interval(iv), TimestampTz(ts)) => {
            Ok(TimestampTz(add_interval_tz(*ts, iv, zone)?))
        }
        (Time(t), Interval(iv)) | (Interval(iv), Time(t)) => {
            Ok(Time((t + iv.micros).rem_euclid(MICROS_PER_DAY)))
        }
        (Interval(x), Interval(y)) => Ok(Interval(interval_add(x, y)?)),
        _ => Err(no_operator("+", a, b)),
    }
}

/// `a - b`
pub fn sub(a: &Value, b: &Value, zone: &Zone) -> Result<Value> {
    use Value::*;
    match (a, b) {
        _ if is_int(a) && is_int(b) => int_result(a, b, as_i64(a).checked_sub(as_i64(b))),
        _ if (is_float(a) || is_float(b)) && is_number(a) && is_number(b) => {
            let (x, y) = (to_f64(a), to_f64(b));
            float_result(a, b, x - y, x.is_finite() && y.is_finite())
        }
        _ if is_number(a) && is_number(b) => {
            Ok(numeric(numeric_add(&to_numeric(a), &to_numeric(b), true)))
        }
        (Date(d), Int2(_) | Int4(_) | Int8(_)) => date_plus_days(*d, -as_i64(b)),
        (Date(x), Date(y)) => Ok(Int4(
            x.checked_sub(*y)
                .ok_or_else(|| errinput!(DATETIME_FIELD_OVERFLOW, "date out of range"))?,
        )),
        (Date(d), Interval(iv)) => Ok(Timestamp(datetime::add_interval(
            date_to_micros(*d),
            &datetime::negate_interval(iv),
        )?)),
        (Timestamp(ts), Interval(iv)) => {
            Ok(Timestamp(datetime::add_interval(*ts, &datetime::negate_interval(iv))?))
        }
        (TimestampTz(ts), Interval(iv)) => {
            Ok(TimestampTz(add_interval_tz(*ts, &datetime::negate_interval(iv), zone)?))
        }
        (Timestamp(x), Timestamp(y)) | (TimestampTz(x), TimestampTz(y)) => {
            Ok(Interval(datetime::timestamp_diff(*x, *y)?))
        }
        (Date(d), Timestamp(t)) => Ok(Interval(datetime::timestamp_diff(date_to_micros(*d), *t)?)),
        (Timestamp(t), Date(d)) => Ok(Interval(datetime::timestamp_diff(*t, date_to_micros(*d))?)),
        (Time(x), Time(y)) => {
            Ok(Interval(oxibase_common::Interval { months: 0, days: 0, micros: x - y }))
        }
        (Time(t), Interval(iv)) => Ok(Time((t - iv.micros).rem_euclid(MICROS_PER_DAY))),
        (Interval(x), Interval(y)) => Ok(Interval(interval_add(x, &datetime::negate_interval(y))?)),
        _ => Err(no_operator("-", a, b)),
    }
}

/// `a * b`
pub fn mul(a: &Value, b: &Value) -> Result<Value> {
    use Value::*;
    match (a, b) {
        _ if is_int(a) && is_int(b) => int_result(a, b, as_i64(a).checked_mul(as_i64(b))),
        _ if (is_float(a) || is_float(b)) && is_number(a) && is_number(b) => {
            let (x, y) = (to_f64(a), to_f64(b));
            if x * y == 0.0 && x != 0.0 && y != 0.0 {
                return Err(underflow());
            }
            float_result(a, b, x * y, x.is_finite() && y.is_finite())
        }
        _ if is_number(a) && is_number(b) => {
            Ok(numeric(numeric_mul(&to_numeric(a), &to_numeric(b))))
        }
        (Interval(iv), n) | (n, Interval(iv)) if is_number(n) => {
            Ok(Interval(interval_scale(iv, to_f64(n))?))
        }
        _ => Err(no_operator("*", a, b)),
    }
}

/// `a / b`
pub fn div(a: &Value, b: &Value) -> Result<Value> {
    use Value::*;
    match (a, b) {
        _ if is_int(a) && is_int(b) => {
            if as_i64(b) == 0 {
                return Err(division_by_zero());
            }
            int_result(a, b, as_i64(a).checked_div(as_i64(b)))
        }
        _ if (is_float(a) || is_float(b)) && is_number(a) && is_number(b) => {
            let (x, y) = (to_f64(a), to_f64(b));
            if y == 0.0 {
                return Err(division_by_zero());
            }
            if x / y == 0.0 && x != 0.0 && y.is_finite() {
                return Err(underflow());
            }
            float_result(a, b, x / y, x.is_finite() && y.is_finite())
        }
        _ if is_number(a) && is_number(b) => {
            Ok(numeric(numeric_div(&to_numeric(a), &to_numeric(b))?))
        }
        (Interval(iv), n) if is_number(n) => {
            let d = to_f64(n);
            if d == 0.0 {
                return Err(division_by_zero());
            }
            Ok(Interval(interval_scale(iv, 1.0 / d)?))
        }
        _ => Err(no_operator("/", a, b)),
    }
}

/// `a % b`
pub fn rem(a: &Value, b: &Value) -> Result<Value> {
    match (a, b) {
        _ if is_int(a) && is_int(b) => {
            if as_i64(b) == 0 {
                return Err(division_by_zero());
            }
            int_result(a, b, as_i64(a).checked_rem(as_i64(b)).or(Some(0)))
        }
        _ if is_number(a) && is_number(b) && !is_float(a) && !is_float(b) => {
            let (x, y) = (to_numeric(a), to_numeric(b));
            match (&x, &y) {
                (Numeric::Finite(x), Numeric::Finite(y)) => {
                    if y.is_zero() {
                        return Err(division_by_zero());
                    }
                    let scale = x.fractional_digit_count().max(y.fractional_digit_count()).max(0);
                    let q = (x / y).with_scale_round(0, RoundingMode::Down);
                    Ok(numeric(Numeric::Finite((x - q * y).with_scale(scale))))
                }
                _ => Ok(numeric(Numeric::NaN)),
            }
        }
        _ if is_number(a) && is_number(b) => {
            let (x, y) = (to_f64(a), to_f64(b));
            if y == 0.0 {
                return Err(division_by_zero());
            }
            Ok(Value::Float8(x % y))
        }
        _ => Err(no_operator("%", a, b)),
    }
}

/// `-a`
pub fn neg(a: &Value) -> Result<Value> {
    Ok(match a {
        Value::Int2(v) => Value::Int2(v.checked_neg().ok_or_else(|| int_overflow(a))?),
        Value::Int4(v) => Value::Int4(v.checked_neg().ok_or_else(|| int_overflow(a))?),
        Value::Int8(v) => Value::Int8(v.checked_neg().ok_or_else(|| int_overflow(a))?),
        Value::Float4(v) => Value::Float4(-v),
        Value::Float8(v) => Value::Float8(-v),
        Value::Numeric(n) => numeric(match &**n {
            Numeric::Finite(d) => Numeric::Finite(-d),
            Numeric::Infinity => Numeric::NegInfinity,
            Numeric::NegInfinity => Numeric::Infinity,
            Numeric::NaN => Numeric::NaN,
        }),
        Value::Interval(iv) => Value::Interval(datetime::negate_interval(iv)),
        other => {
            return Err(errinput!(
                UNDEFINED_FUNCTION,
                "operator does not exist: - {}",
                other.type_name()
            ));
        }
    })
}

fn is_number(v: &Value) -> bool {
    is_int(v) || is_float(v) || matches!(v, Value::Numeric(_))
}

fn no_operator(op: &str, a: &Value, b: &Value) -> oxibase_common::Error {
    errinput!(UNDEFINED_FUNCTION, "operator does not exist: {} {op} {}", a.type_name(), b.type_name())
        .with_hint("No operator matches the given name and argument types. You might need to add explicit type casts.")
}

fn date_to_micros(d: i32) -> i64 {
    match d {
        i32::MAX => i64::MAX,
        i32::MIN => i64::MIN,
        d => d as i64 * MICROS_PER_DAY,
    }
}

fn date_plus_days(d: i32, n: i64) -> Result<Value> {
    if d == i32::MAX || d == i32::MIN {
        return Ok(Value::Date(d));
    }
    let r = (d as i64)
        .checked_add(n)
        .and_then(|r| i32::try_from(r).ok())
        .filter(|r| *r != i32::MAX && *r != i32::MIN);
    Ok(Value::Date(r.ok_or_else(|| errinput!(DATETIME_FIELD_OVERFLOW, "date out of range"))?))
}

fn add_interval_tz(ts: i64, iv: &Interval, zone: &Zone) -> Result<i64> {
    if iv.months == 0 && iv.days == 0 {
        return ts
            .checked_add(iv.micros)
            .ok_or_else(|| errinput!(DATETIME_FIELD_OVERFLOW, "timestamp out of range"));
    }
    // Months and days follow the local calendar (so "1 day" across DST is 23 or 25 hours).
    let local = datetime::utc_to_local(ts, zone);
    let moved = datetime::add_interval(local, &Interval { micros: 0, ..*iv })?;
    Ok(datetime::local_to_utc(moved, zone) + iv.micros)
}

fn interval_add(x: &Interval, y: &Interval) -> Result<Interval> {
    let overflow = || errinput!(DATETIME_FIELD_OVERFLOW, "interval out of range");
    Ok(Interval {
        months: x.months.checked_add(y.months).ok_or_else(overflow)?,
        days: x.days.checked_add(y.days).ok_or_else(overflow)?,
        micros: x.micros.checked_add(y.micros).ok_or_else(overflow)?,
    })
}

/// Multiplies an interval, spilling fractional months into days and fractional days into
/// time, as PostgreSQL's `interval_mul` does.
fn interval_scale(iv: &Interval, f: f64) -> Result<Interval> {
    let months = iv.months as f64 * f;
    let whole_months = months.trunc();
    let days = iv.days as f64 * f + (months - whole_months) * 30.0;
    let whole_days = days.trunc();
    let micros = iv.micros as f64 * f + (days - whole_days) * MICROS_PER_DAY as f64;
    if !micros.is_finite()
        || whole_months.abs() > i32::MAX as f64
        || whole_days.abs() > i32::MAX as f64
        || micros.abs() > i64::MAX as f64
    {
        return Err(errinput!(DATETIME_FIELD_OVERFLOW, "interval out of range"));
    }
    Ok(Interval {
        months: whole_months as i32,
        days: whole_days as i32,
        micros: micros.round() as i64,
    })
}

fn numeric_add(a: &Numeric, b: &Numeric, subtract: bool) -> Numeric {
    use Numeric::*;
    let b = if subtract {
        match b {
            Finite(d) => Finite(-d),
            Infinity => NegInfinity,
            NegInfinity => Infinity,
            NaN => NaN,
        }
    } else {
        b.clone()
    };
    match (a, &b) {
        (Finite(x), Finite(y)) => Finite(x + y),
        (NaN, _) | (_, NaN) => NaN,
        (Infinity, NegInfinity) | (NegInfinity, Infinity) => NaN,
        (Infinity, _) | (_, Infinity) => Infinity,
        _ => NegInfinity,
    }
}

fn numeric_mul(a: &Numeric, b: &Numeric) -> Numeric {
    use Numeric::*;
    match (a, b) {
        // PostgreSQL's product keeps the sum of the scales (2.10 * 1 is 2.10); bigdecimal
        // may hand back a shorter form, so the scale is set explicitly.
        (Finite(x), Finite(y)) => {
            let scale = x.fractional_digit_count().max(0) + y.fractional_digit_count().max(0);
            Finite((x * y).with_scale(scale))
        }
        (NaN, _) | (_, NaN) => NaN,
        (Finite(z), _) | (_, Finite(z)) if z.is_zero() => NaN,
        _ => {
            let negative = sign(a) * sign(b) < 0;
            if negative { NegInfinity } else { Infinity }
        }
    }
}

fn sign(n: &Numeric) -> i32 {
    match n {
        Numeric::Finite(d) => match d.sign() {
            bigdecimal::num_bigint::Sign::Minus => -1,
            bigdecimal::num_bigint::Sign::NoSign => 0,
            bigdecimal::num_bigint::Sign::Plus => 1,
        },
        Numeric::Infinity => 1,
        Numeric::NegInfinity => -1,
        Numeric::NaN => 0,
    }
}

/// Numeric division with PostgreSQL's result scale.
pub fn numeric_div(a: &Numeric, b: &Numeric) -> Result<Numeric> {
    use Numeric::*;
    Ok(match (a, b) {
        (Finite(x), Finite(y)) => {
            if y.is_zero() {
                return Err(division_by_zero());
            }
            let scale = div_scale(x, y);
            // Divide with spare digits, then round half away from zero to the chosen scale.
            let exact = x.with_scale(scale + 4 + y.digits() as i64).clone() / y;
            Finite(exact.with_scale_round(scale, RoundingMode::HalfUp))
        }
        (NaN, _) | (_, NaN) => NaN,
        (Finite(_), _) => Finite(BigDecimal::zero()),
        (_, Finite(y)) if y.is_zero() => return Err(division_by_zero()),
        (inf, Finite(y)) => {
            if sign(inf) * sign(&Finite(y.clone())) > 0 {
                Infinity
            } else {
                NegInfinity
            }
        }
        _ => NaN,
    })
}

/// PostgreSQL's `select_div_scale`: enough decimals for 16 significant digits, at least the
/// inputs' scales, at most 1000.
fn div_scale(x: &BigDecimal, y: &BigDecimal) -> i64 {
    let (w1, f1) = nbase_weight(x);
    let (w2, f2) = nbase_weight(y);
    let mut qweight = w1 - w2;
    if f1 <= f2 {
        qweight -= 1;
    }
    let rscale = 16 - qweight * 4;
    rscale
        .max(x.fractional_digit_count().max(0))
        .max(y.fractional_digit_count().max(0))
        .clamp(0, 1000)
}

/// The weight and first digit of a decimal in PostgreSQL's base-10000 representation.
fn nbase_weight(d: &BigDecimal) -> (i64, u32) {
    let (int, scale) = d.as_bigint_and_exponent();
    let digits = int.magnitude().to_string();
    if digits == "0" {
        return (0, 0);
    }
    let exponent = digits.len() as i64 - scale - 1; // power of ten of the leading digit
    let weight = exponent.div_euclid(4);
    let lead = (exponent.rem_euclid(4) + 1) as usize;
    let first: u32 = digits
        .chars()
        .chain(std::iter::repeat('0'))
        .take(lead)
        .collect::<String>()
        .parse()
        .unwrap_or(0);
    (weight, first)
}

/// `a || b`: text concatenation (non-text operands are printed), arrays, bytea, jsonb.
pub fn concat(a: &Value, b: &Value, zone: &Zone) -> Result<Value> {
    use Value::*;
    Ok(match (a, b) {
        (Bytea(x), Bytea(y)) => Bytea([x.as_slice(), y.as_slice()].concat()),
        (Array(x), Array(y)) => {
            let mut elements = x.elements.clone();
            elements.extend(y.elements.iter().cloned());
            Array(Box::new(oxibase_common::Array {
                element_type: x.element_type.clone(),
                elements,
            }))
        }
        (Array(x), e) => {
            let mut elements = x.elements.clone();
            elements.push(e.clone());
            Array(Box::new(oxibase_common::Array {
                element_type: x.element_type.clone(),
                elements,
            }))
        }
        (e, Array(y)) => {
            let mut elements = vec![e.clone()];
            elements.extend(y.elements.iter().cloned());
            Array(Box::new(oxibase_common::Array {
                element_type: y.element_type.clone(),
                elements,
            }))
        }
        (Jsonb(x), Jsonb(y)) => Jsonb(super::json_ops::merge(x, y)?),
        _ => {
            // As PostgreSQL's `||`: a boolean reads true/false here (its cast to text).
            let text = |v: &Value| match v {
                Bool(b) => if *b { "true" } else { "false" }.to_string(),
                v => super::text::format_value(v, zone).unwrap_or_default(),
            };
            Text(text(a) + &text(b))
        }
    })
}

/// Keeps the `Array` import used for building arrays elsewhere.
pub fn empty_array(element_type: oxibase_common::DataType) -> Value {
    Value::Array(Box::new(Array { element_type, elements: vec![] }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::text::{format_numeric, parse_numeric};

    fn n(s: &str) -> Value {
        Value::Numeric(Box::new(parse_numeric(s).unwrap()))
    }

    fn show(v: Value) -> String {
        match v {
            Value::Numeric(n) => format_numeric(&n),
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn integer_overflow_and_division_by_zero() {
        assert_eq!(
            add(&Value::Int4(i32::MAX), &Value::Int4(1), &Zone::UTC).unwrap_err().message(),
            "integer out of range"
        );
        assert_eq!(
            add(&Value::Int4(i32::MAX), &Value::Int8(1), &Zone::UTC).unwrap(),
            Value::Int8(i32::MAX as i64 + 1)
        );
        assert_eq!(
            mul(&Value::Int8(i64::MAX), &Value::Int8(2)).unwrap_err().message(),
            "bigint out of range"
        );
        assert_eq!(div(&Value::Int4(7), &Value::Int4(2)).unwrap(), Value::Int4(3));
        assert_eq!(div(&Value::Int4(-7), &Value::Int4(2)).unwrap(), Value::Int4(-3));
        assert_eq!(
            div(&Value::Int4(1), &Value::Int4(0)).unwrap_err().code(),
            oxibase_common::SqlState::DIVISION_BY_ZERO
        );
        assert_eq!(
            div(&Value::Float8(1.0), &Value::Float8(0.0)).unwrap_err().code(),
            oxibase_common::SqlState::DIVISION_BY_ZERO
        );
        assert_eq!(rem(&Value::Int4(-7), &Value::Int4(3)).unwrap(), Value::Int4(-1));
        assert_eq!(
            div(&Value::Int8(i64::MIN), &Value::Int8(-1)).unwrap_err().message(),
            "bigint out of range"
        );
        assert_eq!(
            mul(&Value::Float8(1e308), &Value::Float8(10.0)).unwrap_err().message(),
            "value out of range: overflow"
        );
    }

    #[test]
    fn numeric_division_scale_matches_postgres() {
        assert_eq!(show(div(&n("1"), &n("3")).unwrap()), "0.33333333333333333333");
        assert_eq!(show(div(&n("10"), &n("4")).unwrap()), "2.5000000000000000");
        assert_eq!(show(div(&n("2"), &n("3")).unwrap()), "0.66666666666666666667");
        assert_eq!(show(div(&n("1.000"), &n("8")).unwrap()), "0.12500000000000000000");
        assert_eq!(show(div(&n("100000"), &n("3")).unwrap()), "33333.333333333333");
        assert_eq!(show(add(&n("1.5"), &n("2.25"), &Zone::UTC).unwrap()), "3.75");
        assert_eq!(show(mul(&n("1.5"), &n("2.25")).unwrap()), "3.375");
        assert_eq!(show(rem(&n("10.5"), &n("3")).unwrap()), "1.5");
        assert_eq!(show(add(&Value::Int4(1), &n("0.5"), &Zone::UTC).unwrap()), "1.5");
    }

    #[test]
    fn date_and_time_arithmetic() {
        let z = Zone::UTC;
        assert_eq!(add(&Value::Date(0), &Value::Int4(31), &z).unwrap(), Value::Date(31));
        assert_eq!(sub(&Value::Date(10), &Value::Date(3), &z).unwrap(), Value::Int4(7));
        let iv = Value::Interval(Interval { months: 1, days: 1, micros: 3_600_000_000 });
        let ts = add(&Value::Date(30), &iv, &z).unwrap(); // 2000-01-31 + 1 mon 1 day 1 hour
        assert_eq!(crate::types::text::format_value(&ts, &z).unwrap(), "2000-03-01 01:00:00");
        let half =
            div(&Value::Interval(Interval { months: 1, days: 0, micros: 0 }), &Value::Int4(2))
                .unwrap();
        assert_eq!(half, Value::Interval(Interval { months: 0, days: 15, micros: 0 }));
        assert_eq!(concat(&Value::from("a"), &Value::Int4(1), &z).unwrap(), Value::from("a1"));
    }
}
