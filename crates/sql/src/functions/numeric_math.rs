//! Numeric (arbitrary precision) sqrt, exp, ln, log and power, with PostgreSQL's result
//! scales: enough decimals for 16 significant digits (`NUMERIC_MIN_SIG_DIGITS`), never fewer
//! than the inputs' scales, rounded half away from zero.
//!
//! The transcendental functions are computed with about 20 guard digits beyond the result
//! scale (Taylor series for exp, an atanh series for ln after range reduction), so the
//! printed digits are exact.

use bigdecimal::{BigDecimal, One, RoundingMode, Signed, ToPrimitive, Zero};
use oxibase_common::{Numeric, Result, Value, errinput};

const MIN_SIG_DIGITS: i64 = 16;
const MAX_SCALE: i64 = 1000;

/// PostgreSQL's weight of a decimal in base-10000 digits (0 for 1..9999).
fn nbase_weight(d: &BigDecimal) -> i64 {
    if d.is_zero() {
        return 0;
    }
    let (int, scale) = d.as_bigint_and_exponent();
    let digits = int.magnitude().to_string().len() as i64;
    (digits - scale - 1).div_euclid(4)
}

fn scale_of(d: &BigDecimal) -> i64 {
    d.fractional_digit_count().max(0)
}

fn finish(d: BigDecimal, rscale: i64) -> Value {
    let rscale = rscale.clamp(0, MAX_SCALE);
    Value::Numeric(Box::new(Numeric::Finite(d.with_scale_round(rscale, RoundingMode::HalfUp))))
}

fn finite(v: &Value) -> Result<Option<BigDecimal>> {
    Ok(match v {
        Value::Numeric(n) => match &**n {
            Numeric::Finite(d) => Some(d.clone()),
            _ => None,
        },
        Value::Int2(i) => Some(BigDecimal::from(*i)),
        Value::Int4(i) => Some(BigDecimal::from(*i)),
        Value::Int8(i) => Some(BigDecimal::from(*i)),
        other => {
            let f = crate::types::compare::to_f64(other);
            BigDecimal::try_from(f).ok()
        }
    })
}

fn special(v: &Value) -> Option<Numeric> {
    match v {
        Value::Numeric(n) if !matches!(**n, Numeric::Finite(_)) => Some((**n).clone()),
        _ => None,
    }
}

/// Rounds to `digits` significant digits (the working precision of a series).
fn precise(d: BigDecimal, digits: i64) -> BigDecimal {
    d.with_prec(digits.max(1) as u64)
}

/// sqrt(numeric)
pub fn sqrt(a: &[Value]) -> Result<Value> {
    if let Some(s) = special(&a[0]) {
        return match s {
            Numeric::NegInfinity => Err(negative_sqrt()),
            s => Ok(Value::Numeric(Box::new(s))),
        };
    }
    let Some(x) = finite(&a[0])? else { return Ok(Value::Null) };
    if x.is_negative() {
        return Err(negative_sqrt());
    }
    let sweight = (nbase_weight(&x) + 1) * 4 / 2 - 1;
    let rscale = (MIN_SIG_DIGITS - sweight).max(scale_of(&x)).max(0);
    if x.is_zero() {
        return Ok(finish(x, rscale));
    }
    let digits = rscale + sweight.max(0) + 20;
    let ctx = bigdecimal::Context::default().with_prec(digits as u64).unwrap_or_default();
    let root = x.sqrt_with_context(&ctx).unwrap_or_default();
    Ok(finish(root, rscale))
}

fn negative_sqrt() -> oxibase_common::Error {
    errinput!(INVALID_ARGUMENT_FOR_POWER_FUNCTION, "cannot take square root of a negative number")
}

/// e^x to `digits` significant digits.
fn exp_big(x: &BigDecimal, digits: i64) -> BigDecimal {
    // Reduce: e^x = (e^(x / 2^k))^(2^k) with |x / 2^k| < 0.5.
    let mut k = 0u32;
    let mut r = x.clone();
    let half = BigDecimal::new(5.into(), 1);
    while r.abs() > half {
        r = r / BigDecimal::from(2);
        k += 1;
    }
    let work = digits + k as i64 + 10;
    let mut term = BigDecimal::one();
    let mut sum = BigDecimal::one();
    let epsilon = BigDecimal::new(1.into(), work);
    for n in 1..10_000 {
        term = precise(&term * &r / BigDecimal::from(n), work);
        sum += &term;
        if term.abs() < epsilon {
            break;
        }
    }
    for _ in 0..k {
        sum = precise(&sum * &sum, work);
    }
    sum
}

/// ln(x) for x > 0, to `digits` significant digits after the point of its magnitude.
fn ln_big(x: &BigDecimal, digits: i64) -> BigDecimal {
    // Reduce x to m in [0.5, 2) by powers of two: ln x = ln m + k ln 2.
    let work = digits + 10;
    let two = BigDecimal::from(2);
    let mut m = x.clone();
    let mut k: i64 = 0;
    while m >= two {
        m = precise(m / &two, work + 20);
        k += 1;
    }
    let half = BigDecimal::new(5.into(), 1);
    while m < half {
        m = precise(&m * &two, work + 20);
        k -= 1;
    }
    let mut result = atanh_ln(&m, work);
    if k != 0 {
        result += atanh_ln(&two, work + 4) * BigDecimal::from(k);
    }
    precise(result, work)
}

/// ln(m) = 2 atanh((m - 1) / (m + 1)), converging fast for m near 1.
fn atanh_ln(m: &BigDecimal, work: i64) -> BigDecimal {
    let z = precise((m - BigDecimal::one()) / (m + BigDecimal::one()), work + 5);
    let z2 = precise(&z * &z, work + 5);
    let mut power = z.clone();
    let mut sum = z;
    let epsilon = BigDecimal::new(1.into(), work + 5);
    let mut n = 3;
    loop {
        power = precise(&power * &z2, work + 5);
        let term = &power / BigDecimal::from(n);
        if term.abs() < epsilon || n > 100_000 {
            break;
        }
        sum += term;
        n += 2;
    }
    sum * BigDecimal::from(2)
}

/// PostgreSQL's `estimate_ln_dweight`: the decimal weight of ln(x), roughly.
fn ln_dweight(x: &BigDecimal) -> i64 {
    let f = x.to_f64().unwrap_or(1.0);
    let ln = f.ln().abs();
    if ln == 0.0 || !ln.is_finite() {
        return 0;
    }
    ln.log10() as i64
}

fn check_log(x: &BigDecimal) -> Result<()> {
    if x.is_zero() {
        return Err(errinput!(INVALID_ARGUMENT_FOR_LOGARITHM, "cannot take logarithm of zero"));
    }
    if x.is_negative() {
        return Err(errinput!(
            INVALID_ARGUMENT_FOR_LOGARITHM,
            "cannot take logarithm of a negative number"
        ));
    }
    Ok(())
}

/// ln(numeric)
pub fn ln(a: &[Value]) -> Result<Value> {
    if let Some(s) = special(&a[0]) {
        return match s {
            Numeric::NegInfinity => Err(errinput!(
                INVALID_ARGUMENT_FOR_LOGARITHM,
                "cannot take logarithm of a negative number"
            )),
            s => Ok(Value::Numeric(Box::new(s))),
        };
    }
    let Some(x) = finite(&a[0])? else { return Ok(Value::Null) };
    check_log(&x)?;
    let rscale = (MIN_SIG_DIGITS - ln_dweight(&x)).max(scale_of(&x)).max(0);
    Ok(finish(ln_big(&x, rscale + 20), rscale))
}

/// log(numeric): base 10.
pub fn log10(a: &[Value]) -> Result<Value> {
    let ten = Value::Numeric(Box::new(Numeric::Finite(BigDecimal::from(10))));
    log(&[ten, a[0].clone()])
}

/// log(base numeric, x numeric)
pub fn log(a: &[Value]) -> Result<Value> {
    let (Some(b), Some(x)) = (finite(&a[0])?, finite(&a[1])?) else {
        return Ok(Value::Numeric(Box::new(Numeric::NaN)));
    };
    check_log(&b)?;
    check_log(&x)?;
    if b.is_one() {
        return Err(errinput!(DIVISION_BY_ZERO, "division by zero"));
    }
    let result_dweight = ln_dweight(&x) - ln_dweight(&b);
    let rscale = (MIN_SIG_DIGITS - result_dweight).max(scale_of(&b)).max(scale_of(&x)).max(0);
    let work = rscale + 25;
    let value = ln_big(&x, work) / ln_big(&b, work);
    Ok(finish(value, rscale))
}

/// exp(numeric)
pub fn exp(a: &[Value]) -> Result<Value> {
    if let Some(s) = special(&a[0]) {
        return Ok(Value::Numeric(Box::new(match s {
            Numeric::NegInfinity => Numeric::Finite(BigDecimal::zero()),
            s => s,
        })));
    }
    let Some(x) = finite(&a[0])? else { return Ok(Value::Null) };
    let val = x.to_f64().unwrap_or(0.0) * std::f64::consts::LOG10_E;
    if val > 131_072.0 {
        return Err(errinput!(NUMERIC_VALUE_OUT_OF_RANGE, "value overflows numeric format"));
    }
    let rscale = (MIN_SIG_DIGITS - val.clamp(-1000.0, 1000.0) as i64).max(scale_of(&x)).max(0);
    let digits = rscale + val.max(0.0) as i64 + 20;
    Ok(finish(exp_big(&x, digits), rscale))
}

/// numeric ^ numeric
pub fn power(a: &[Value]) -> Result<Value> {
    let (Some(b), Some(e)) = (finite(&a[0])?, finite(&a[1])?) else {
        return Ok(Value::Numeric(Box::new(Numeric::NaN)));
    };
    if b.is_zero() && e.is_negative() {
        return Err(errinput!(
            INVALID_ARGUMENT_FOR_POWER_FUNCTION,
            "zero raised to a negative power is undefined"
        ));
    }
    let integer_exponent = e.is_integer();
    if b.is_negative() && !integer_exponent {
        return Err(errinput!(
            INVALID_ARGUMENT_FOR_POWER_FUNCTION,
            "a negative number raised to a non-integer power yields a complex result"
        ));
    }
    let rscale = MIN_SIG_DIGITS.max(scale_of(&b)).max(scale_of(&e));
    if b.is_zero() {
        let one = if e.is_zero() { BigDecimal::one() } else { BigDecimal::zero() };
        return Ok(finish(one, rscale));
    }
    // Size check: |e| * log10|b| digits.
    let magnitude = e.to_f64().unwrap_or(0.0) * b.abs().to_f64().unwrap_or(1.0).log10();
    if magnitude > 131_072.0 {
        return Err(errinput!(NUMERIC_VALUE_OUT_OF_RANGE, "value overflows numeric format"));
    }
    if integer_exponent && let Some(n) = e.to_i64().filter(|n| n.abs() <= 1_000_000) {
        let value = if n >= 0 {
            b.powi(n)
        } else {
            let digits = rscale + magnitude.abs() as i64 + 20;
            precise(BigDecimal::one() / precise(b.powi(-n), digits), digits)
        };
        return Ok(finish(value, rscale));
    }
    let digits = rscale + magnitude.max(0.0) as i64 + 25;
    let exponent = precise(e * ln_big(&b.abs(), digits), digits);
    Ok(finish(exp_big(&exponent, digits), rscale))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::str::FromStr;

    use super::*;
    use crate::types::datetime::Zone;
    use crate::types::text::format_value;

    fn n(s: &str) -> Value {
        Value::Numeric(Box::new(Numeric::Finite(BigDecimal::from_str(s).unwrap())))
    }

    fn show(v: Result<Value>) -> String {
        format_value(&v.unwrap(), &Zone::UTC).unwrap()
    }

    #[test]
    fn matches_postgres_digits() {
        // Expected values from PostgreSQL 15.
        assert_eq!(show(sqrt(&[n("2")])), "1.414213562373095");
        assert_eq!(show(sqrt(&[n("0.0004")])), "0.02000000000000000");
        assert_eq!(show(sqrt(&[n("1000000")])), "1000.0000000000000");
        assert_eq!(show(ln(&[n("10")])), "2.3025850929940457");
        assert_eq!(show(exp(&[n("1")])), "2.7182818284590452");
        assert_eq!(show(log(&[n("2"), n("8")])), "3.0000000000000000");
        assert_eq!(show(log(&[n("2.0"), n("1024")])), "10.0000000000000000");
        assert_eq!(show(log10(&[n("100")])), "2.0000000000000000");
        assert_eq!(show(power(&[n("2"), n("10")])), "1024.0000000000000000");
        assert_eq!(show(power(&[n("2"), n("0.5")])), "1.4142135623730950");
        assert_eq!(show(power(&[n("0.5"), n("10")])), "0.0009765625000000");
        assert_eq!(show(power(&[n("100"), n("-2")])), "0.0001000000000000");
    }
}
