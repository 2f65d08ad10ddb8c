//! Mathematical functions (PostgreSQL docs, "Mathematical Functions and Operators").
//!
//! Functions keep their argument's type where PostgreSQL does (`abs(integer)` is integer,
//! `round(numeric, n)` is numeric); the transcendental ones compute in double precision.

use bigdecimal::rounding::RoundingMode;
use bigdecimal::{BigDecimal, Zero};
use oxibase_common::{DataType, Numeric, Result, Value, errinput};

use super::FunctionEnv;
use super::scalar::{Resolved, fixed, float, int, intern, numeric_type, volatile};
use crate::types::SqlType;
use crate::types::cast::{CastKind, cast};
use crate::types::compare::to_numeric;

use DataType::{Float4, Float8, Int2, Int4, Int8};

/// Resolves a math function.
pub fn resolve(name: &str, args: &[SqlType]) -> Option<Resolved> {
    let same = |eval| {
        let ty = numeric_type(args.first()?)?;
        fixed(intern(name), eval, args, std::slice::from_ref(&ty), ty.clone())
    };
    let float1 = |eval| fixed(intern(name), eval, args, &[Float8], Float8);
    let float2 = |eval| fixed(intern(name), eval, args, &[Float8, Float8], Float8);
    let numeric = DataType::Numeric(None);
    let num1 =
        |eval| fixed(intern(name), eval, args, &[DataType::Numeric(None)], DataType::Numeric(None));
    match (name, args.len()) {
        ("abs", 1) => same(abs),
        ("sign", 1) => match numeric_type(args.first()?)? {
            // PostgreSQL has sign(numeric) and sign(double precision); integers take the latter.
            Int2 | Int4 | Int8 | Float4 => float1(sign),
            _ => same(sign),
        },
        ("ceil" | "ceiling", 1) => rounding(name, args, ceil),
        ("floor", 1) => rounding(name, args, floor),
        ("round", 1) => rounding(name, args, round),
        ("trunc", 1) => rounding(name, args, trunc),
        ("round", 2) => fixed("round", round, args, &[numeric.clone(), Int4], numeric),
        ("trunc", 2) => fixed("trunc", trunc, args, &[numeric.clone(), Int4], numeric),
        ("sqrt", 1) if is_numeric(args) => num1(|a, _| super::numeric_math::sqrt(a)),
        ("sqrt", 1) => float1(sqrt),
        ("cbrt", 1) => float1(cbrt),
        ("exp", 1) if is_numeric(args) => num1(|a, _| super::numeric_math::exp(a)),
        ("exp", 1) => float1(exp),
        ("ln", 1) if is_numeric(args) => num1(|a, _| super::numeric_math::ln(a)),
        ("ln", 1) => float1(ln),
        ("log10" | "log", 1) if is_numeric(args) => num1(|a, _| super::numeric_math::log10(a)),
        ("log10", 1) => float1(log10),
        ("log", 1) => float1(log10),
        // PostgreSQL has only log(numeric, numeric).
        ("log", 2) => fixed(
            "log",
            |a, _| super::numeric_math::log(a),
            args,
            &[numeric.clone(), numeric.clone()],
            numeric,
        ),
        ("power" | "pow", 2) if is_numeric(args) => fixed(
            intern(name),
            |a, _| super::numeric_math::power(a),
            args,
            &[numeric.clone(), numeric.clone()],
            numeric,
        ),
        ("power" | "pow", 2) => float2(power),
        ("mod", 2) => {
            let ty = crate::types::common_type(&numeric_type(&args[0])?, &numeric_type(&args[1])?)?;
            fixed("mod", modulo, args, &[ty.clone(), ty.clone()], ty)
        }
        ("div", 2) => fixed("div", int_div, args, &[numeric.clone(), numeric.clone()], numeric),
        ("scale", 1) => fixed("scale", scale, args, std::slice::from_ref(&numeric), Int4),
        ("min_scale", 1) => {
            fixed("min_scale", min_scale, args, std::slice::from_ref(&numeric), Int4)
        }
        ("trim_scale", 1) => num1(trim_scale),
        ("gcd" | "lcm", 2) => {
            // integer gcd/lcm stay integer (and overflow as integer), as in PostgreSQL.
            let ty = match (numeric_type(&args[0])?, numeric_type(&args[1])?) {
                (Int2 | Int4, Int2 | Int4) => Int4,
                _ => Int8,
            };
            let eval = if name == "gcd" { gcd } else { lcm };
            fixed(intern(name), eval, args, &[ty.clone(), ty.clone()], ty)
        }
        ("factorial", 1) => fixed("factorial", factorial, args, &[Int8], numeric.clone()),
        ("pi", 0) => fixed("pi", pi, args, &[], Float8),
        ("degrees", 1) => float1(degrees),
        ("radians", 1) => float1(radians),
        ("sin", 1) => float1(|a, _| Ok(Value::Float8(float(&a[0]).sin()))),
        ("cos", 1) => float1(|a, _| Ok(Value::Float8(float(&a[0]).cos()))),
        ("tan", 1) => float1(|a, _| Ok(Value::Float8(float(&a[0]).tan()))),
        ("asin", 1) => float1(|a, _| Ok(Value::Float8(float(&a[0]).asin()))),
        ("acos", 1) => float1(|a, _| Ok(Value::Float8(float(&a[0]).acos()))),
        ("atan", 1) => float1(|a, _| Ok(Value::Float8(float(&a[0]).atan()))),
        ("atan2", 2) => float2(|a, _| Ok(Value::Float8(float(&a[0]).atan2(float(&a[1]))))),
        ("random", 0) => fixed("random", random, args, &[], Float8).map(volatile),
        ("width_bucket", 4) => {
            fixed("width_bucket", width_bucket, args, &[Float8, Float8, Float8, Int4], Int4)
        }
        _ => None,
    }
}

/// ceil/floor/round/trunc keep numeric as numeric and turn integers into double precision
/// as PostgreSQL does (`round(integer)` is `round(double precision)`).
fn rounding(name: &str, args: &[SqlType], eval: super::scalar::Eval) -> Option<Resolved> {
    let ty = match numeric_type(&args[0])? {
        DataType::Numeric(_) => DataType::Numeric(None),
        _ => Float8,
    };
    fixed(intern(name), eval, args, std::slice::from_ref(&ty), ty.clone())
}

fn numeric(n: Numeric) -> Value {
    Value::Numeric(Box::new(n))
}

fn abs(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    Ok(match &a[0] {
        Value::Int2(v) => Value::Int2(
            v.checked_abs()
                .ok_or_else(|| errinput!(NUMERIC_VALUE_OUT_OF_RANGE, "smallint out of range"))?,
        ),
        Value::Int4(v) => Value::Int4(
            v.checked_abs()
                .ok_or_else(|| errinput!(NUMERIC_VALUE_OUT_OF_RANGE, "integer out of range"))?,
        ),
        Value::Int8(v) => Value::Int8(
            v.checked_abs()
                .ok_or_else(|| errinput!(NUMERIC_VALUE_OUT_OF_RANGE, "bigint out of range"))?,
        ),
        Value::Float4(v) => Value::Float4(v.abs()),
        Value::Float8(v) => Value::Float8(v.abs()),
        Value::Numeric(n) => numeric(match &**n {
            Numeric::Finite(d) => Numeric::Finite(d.abs()),
            Numeric::NegInfinity => Numeric::Infinity,
            other => other.clone(),
        }),
        other => other.clone(),
    })
}

fn sign(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    Ok(match &a[0] {
        Value::Numeric(n) => numeric(match &**n {
            Numeric::Finite(d) => Numeric::Finite(BigDecimal::from(match d.sign() {
                bigdecimal::num_bigint::Sign::Minus => -1,
                bigdecimal::num_bigint::Sign::NoSign => 0,
                bigdecimal::num_bigint::Sign::Plus => 1,
            })),
            Numeric::Infinity => Numeric::Finite(BigDecimal::from(1)),
            Numeric::NegInfinity => Numeric::Finite(BigDecimal::from(-1)),
            Numeric::NaN => Numeric::NaN,
        }),
        Value::Float4(v) => Value::Float4(if *v == 0.0 { 0.0 } else { v.signum() }),
        Value::Float8(v) => Value::Float8(if *v == 0.0 { 0.0 } else { v.signum() }),
        v => Value::Float8(int(v).signum() as f64),
    })
}

fn decimal_round(a: &[Value], mode: RoundingMode, float_op: fn(f64) -> f64) -> Result<Value> {
    let places = a.get(1).map_or(0, int);
    Ok(match &a[0] {
        Value::Numeric(n) => numeric(match &**n {
            Numeric::Finite(d) => {
                let r = d.with_scale_round(places, mode);
                // A negative scale rounds to tens, hundreds...; show it without decimals.
                Numeric::Finite(if places < 0 { r.with_scale(0) } else { r })
            }
            other => other.clone(),
        }),
        v => Value::Float8(float_op(float(v))),
    })
}

fn ceil(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    decimal_round(a, RoundingMode::Ceiling, f64::ceil)
}

fn floor(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    decimal_round(a, RoundingMode::Floor, f64::floor)
}

/// floor() or ceiling() of one numeric value (for jsonpath's methods).
pub(crate) fn floor_or_ceiling(v: &Value, ceiling: bool) -> Result<Value> {
    let args = std::slice::from_ref(v);
    if ceiling {
        decimal_round(args, RoundingMode::Ceiling, f64::ceil)
    } else {
        decimal_round(args, RoundingMode::Floor, f64::floor)
    }
}

fn round(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    // NB: PostgreSQL rounds numeric half away from zero but double precision half to even.
    decimal_round(a, RoundingMode::HalfUp, f64::round_ties_even)
}

/// The finite decimal of a numeric argument; None for NaN and the infinities.
fn finite(v: &Value) -> Option<&BigDecimal> {
    match v {
        Value::Numeric(n) => match n.as_ref() {
            Numeric::Finite(d) => Some(d),
            _ => None,
        },
        _ => None,
    }
}

/// `scale(numeric)`: the digits after the decimal point, as written or computed.
fn scale(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    Ok(finite(&a[0]).map_or(Value::Null, |d| Value::Int4(d.fractional_digit_count().max(0) as i32)))
}

/// `min_scale(numeric)`: the fewest digits after the point that represent the value exactly.
fn min_scale(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    Ok(finite(&a[0]).map_or(Value::Null, |d| {
        Value::Int4(d.normalized().fractional_digit_count().max(0) as i32)
    }))
}

/// `trim_scale(numeric)`: the value with trailing fractional zeroes removed.
fn trim_scale(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    Ok(match finite(&a[0]) {
        Some(d) => {
            let digits = d.normalized().fractional_digit_count().max(0);
            numeric(Numeric::Finite(d.with_scale(digits)))
        }
        None => a[0].clone(),
    })
}

fn trunc(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    decimal_round(a, RoundingMode::Down, f64::trunc)
}

fn sqrt(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    let x = float(&a[0]);
    if x < 0.0 {
        return Err(errinput!(
            INVALID_ARGUMENT_FOR_POWER_FUNCTION,
            "cannot take square root of a negative number"
        ));
    }
    Ok(Value::Float8(x.sqrt()))
}

fn cbrt(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    Ok(Value::Float8(float(&a[0]).cbrt()))
}

fn exp(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    let r = float(&a[0]).exp();
    if r.is_infinite() {
        return Err(errinput!(NUMERIC_VALUE_OUT_OF_RANGE, "value out of range: overflow"));
    }
    Ok(Value::Float8(r))
}

fn check_log_argument(x: f64) -> Result<()> {
    if x == 0.0 {
        return Err(errinput!(INVALID_ARGUMENT_FOR_LOGARITHM, "cannot take logarithm of zero"));
    }
    if x < 0.0 {
        return Err(errinput!(
            INVALID_ARGUMENT_FOR_LOGARITHM,
            "cannot take logarithm of a negative number"
        ));
    }
    Ok(())
}

fn ln(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    let x = float(&a[0]);
    check_log_argument(x)?;
    Ok(Value::Float8(x.ln()))
}

fn log10(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    let x = float(&a[0]);
    check_log_argument(x)?;
    Ok(Value::Float8(x.log10()))
}

fn power(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    let (x, y) = (float(&a[0]), float(&a[1]));
    if x == 0.0 && y < 0.0 {
        return Err(errinput!(
            INVALID_ARGUMENT_FOR_POWER_FUNCTION,
            "zero raised to a negative power is undefined"
        ));
    }
    if x < 0.0 && y.fract() != 0.0 {
        return Err(errinput!(
            INVALID_ARGUMENT_FOR_POWER_FUNCTION,
            "a negative number raised to a non-integer power yields a complex result"
        ));
    }
    let r = x.powf(y);
    if r.is_infinite() && x.is_finite() && y.is_finite() {
        return Err(errinput!(NUMERIC_VALUE_OUT_OF_RANGE, "value out of range: overflow"));
    }
    Ok(Value::Float8(r))
}

fn modulo(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    crate::types::arith::rem(&a[0], &a[1])
}

fn int_div(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    match (to_numeric(&a[0]), to_numeric(&a[1])) {
        (Numeric::Finite(x), Numeric::Finite(y)) => {
            if y.is_zero() {
                return Err(errinput!(DIVISION_BY_ZERO, "division by zero"));
            }
            Ok(numeric(Numeric::Finite((x / y).with_scale_round(0, RoundingMode::Down))))
        }
        _ => Ok(numeric(Numeric::NaN)),
    }
}

fn gcd_of(mut a: i64, mut b: i64) -> Result<i64> {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a.checked_abs().ok_or_else(|| errinput!(NUMERIC_VALUE_OUT_OF_RANGE, "bigint out of range"))
}

/// An integer result in the arguments' type (integer or bigint), or 22003.
fn same_int(like: &Value, v: i64) -> Result<Value> {
    match like {
        Value::Int4(_) => i32::try_from(v)
            .map(Value::Int4)
            .map_err(|_| errinput!(NUMERIC_VALUE_OUT_OF_RANGE, "integer out of range")),
        _ => Ok(Value::Int8(v)),
    }
}

fn gcd(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    same_int(&a[0], gcd_of(int(&a[0]), int(&a[1]))?)
}

fn factorial(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    let n = int(&a[0]);
    if n < 0 {
        return Err(errinput!(
            INVALID_PARAMETER_VALUE,
            "factorial of a negative number is undefined"
        ));
    }
    if n > 32177 {
        return Err(errinput!(NUMERIC_VALUE_OUT_OF_RANGE, "value overflows numeric format"));
    }
    let mut acc = bigdecimal::BigDecimal::from(1);
    for i in 2..=n {
        acc *= bigdecimal::BigDecimal::from(i);
    }
    Ok(Value::Numeric(Box::new(Numeric::Finite(acc))))
}

fn lcm(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    let (x, y) = (int(&a[0]), int(&a[1]));
    if x == 0 || y == 0 {
        return same_int(&a[0], 0);
    }
    let l = (x / gcd_of(x, y)?).checked_mul(y).and_then(i64::checked_abs);
    same_int(&a[0], l.ok_or_else(|| errinput!(NUMERIC_VALUE_OUT_OF_RANGE, "bigint out of range"))?)
}

fn pi(_: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    Ok(Value::Float8(std::f64::consts::PI))
}

fn degrees(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    Ok(Value::Float8(float(&a[0]).to_degrees()))
}

fn radians(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    Ok(Value::Float8(float(&a[0]).to_radians()))
}

fn random(_: &[Value], env: &dyn FunctionEnv) -> Result<Value> {
    Ok(Value::Float8(env.random()))
}

fn width_bucket(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    let (x, low, high, count) = (float(&a[0]), float(&a[1]), float(&a[2]), int(&a[3]));
    if count <= 0 {
        return Err(errinput!(INVALID_PARAMETER_VALUE, "count must be greater than zero"));
    }
    if low == high {
        return Err(errinput!(INVALID_PARAMETER_VALUE, "lower bound cannot equal upper bound"));
    }
    let bucket = if low < high {
        if x < low {
            0
        } else if x >= high {
            count + 1
        } else {
            ((x - low) / (high - low) * count as f64) as i64 + 1
        }
    } else if x > low {
        0
    } else if x <= high {
        count + 1
    } else {
        ((low - x) / (low - high) * count as f64) as i64 + 1
    };
    Ok(Value::Int4(bucket as i32))
}

/// Casts for callers that need a numeric value from any number.
pub fn to_numeric_value(v: Value, env: &dyn FunctionEnv) -> Result<Value> {
    cast(v, &DataType::Numeric(None), CastKind::Explicit, env.zone())
}

/// Whether any argument is numeric (choosing the numeric overload, as PostgreSQL does).
fn is_numeric(args: &[SqlType]) -> bool {
    args.iter().any(|a| matches!(a, SqlType::Known(DataType::Numeric(_))))
}
