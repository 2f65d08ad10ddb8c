//! Aggregate functions (PostgreSQL docs, "Aggregate Functions").
//!
//! An aggregate is resolved at bind time to an [`AggregateFunction`] and a result type; at run
//! time each group gets an [`Accumulator`]. Result types follow PostgreSQL: `count` is bigint,
//! `sum(integer)` is bigint, `sum(bigint)` and `avg` of integers are numeric, `avg(float)` is
//! double precision, `min`/`max` keep their argument's type.

use bigdecimal::{BigDecimal, Zero};
use oxibase_common::{Array, DataType, Numeric, Result, Value, errinput};

use super::FunctionEnv;
use crate::types::SqlType;
use crate::types::arith;
use crate::types::compare::{compare, to_f64, to_numeric};

/// A built-in aggregate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AggregateFunction {
    /// count(*)
    CountStar,
    /// count(x)
    Count,
    /// sum(x)
    Sum,
    /// avg(x)
    Avg,
    /// min(x)
    Min,
    /// max(x)
    Max,
    /// any_value(x): some non-null value of the group (also what a column functionally
    /// dependent on the grouped primary key reads)
    AnyValue,
    /// string_agg(x, delimiter)
    StringAgg,
    /// array_agg(x)
    ArrayAgg,
    /// bool_and(x), every(x)
    BoolAnd,
    /// bool_or(x)
    BoolOr,
    /// stddev(x), stddev_samp(x)
    StddevSamp,
    /// stddev_pop(x)
    StddevPop,
    /// variance(x), var_samp(x)
    VarSamp,
    /// var_pop(x)
    VarPop,
    /// json_agg(x)
    JsonAgg,
    /// json_agg(t) over a whole-row reference (the binder's rewrite: each row is a json
    /// object, and rows are set apart by a newline, as PostgreSQL does for composites)
    JsonAggRows,
    /// jsonb_agg(x)
    JsonbAgg,
    /// json_object_agg(k, v)
    JsonObjectAgg,
    /// jsonb_object_agg(k, v)
    JsonbObjectAgg,
    /// bit_and(x)
    BitAnd,
    /// bit_or(x)
    BitOr,
    /// percentile_cont(fraction) WITHIN GROUP (ORDER BY x): interpolated
    PercentileCont,
    /// percentile_disc(fraction) WITHIN GROUP (ORDER BY x): the first value at or past it
    PercentileDisc,
    /// mode() WITHIN GROUP (ORDER BY x): the most frequent value (the first in order on ties)
    Mode,
}

/// True for the ordered-set aggregates, called as `f(...) WITHIN GROUP (ORDER BY x)`.
pub fn is_ordered_set(name: &str) -> bool {
    matches!(name, "percentile_cont" | "percentile_disc" | "mode")
}

/// A resolved aggregate call: the function, its result type and its argument types.
#[derive(Clone, Debug)]
pub struct ResolvedAggregate {
    /// The aggregate.
    pub function: AggregateFunction,
    /// Its result type.
    pub return_type: DataType,
    /// The types its arguments are cast to.
    pub arg_types: Vec<DataType>,
}

/// The aggregate `json_agg(t)` over a whole-row reference becomes (the binder writes it).
pub const JSON_AGG_ROWS: &str = "oxibase_json_agg_rows";

/// True when `name` is an aggregate (so the binder treats the call as one).
pub fn is_aggregate(name: &str) -> bool {
    matches!(
        name,
        "count"
            | "sum"
            | "avg"
            | "min"
            | "max"
            | "string_agg"
            | "array_agg"
            | "bool_and"
            | "bool_or"
            | "every"
            | "stddev"
            | "stddev_samp"
            | "stddev_pop"
            | "variance"
            | "var_samp"
            | "var_pop"
            | "json_agg"
            | JSON_AGG_ROWS
            | "jsonb_agg"
            | "json_object_agg"
            | "jsonb_object_agg"
            | "bit_and"
            | "bit_or"
            | "percentile_cont"
            | "percentile_disc"
            | "mode"
            | "any_value"
    )
}

/// Resolves an aggregate call (`star` for `count(*)`).
pub fn resolve(name: &str, args: &[SqlType], star: bool) -> Result<ResolvedAggregate> {
    use AggregateFunction::*;
    use DataType::*;
    let arg = |i: usize| args.get(i).map(SqlType::resolve).unwrap_or(Text);
    let numeric = || -> Result<DataType> {
        let t = arg(0);
        if crate::types::category(&t) == 'N' || args.first() == Some(&SqlType::Unknown) {
            Ok(if args.first() == Some(&SqlType::Unknown) { Float8 } else { t })
        } else {
            Err(no_function(name, args))
        }
    };
    let (function, ret, params) = match (name, args.len()) {
        ("count", 0) if star => (CountStar, Int8, vec![]),
        ("count", 1) => (Count, Int8, vec![arg(0)]),
        ("sum", 1) if matches!(arg(0), Interval(_)) => (Sum, Interval(None), vec![Interval(None)]),
        ("sum", 1) => {
            let t = numeric()?;
            let ret = match &t {
                Int2 | Int4 => Int8,
                Int8 | Numeric(_) => DataType::Numeric(None),
                Float4 => Float4,
                _ => Float8,
            };
            (Sum, ret, vec![t])
        }
        ("avg", 1) => {
            let t = numeric()?;
            let ret = if matches!(t, Float4 | Float8) { Float8 } else { DataType::Numeric(None) };
            (Avg, ret, vec![t])
        }
        ("min" | "max", 1) => {
            let t = arg(0);
            if matches!(t, Json) {
                return Err(no_function(name, args));
            }
            (if name == "min" { Min } else { Max }, t.clone(), vec![t])
        }
        ("any_value", 1) => (AnyValue, arg(0), vec![arg(0)]),
        ("string_agg", 2) => {
            let t = if arg(0) == Bytea { Bytea } else { Text };
            (StringAgg, t.clone(), vec![t.clone(), t])
        }
        ("array_agg", 1) => (ArrayAgg, DataType::Array(Box::new(arg(0))), vec![arg(0)]),
        ("bool_and" | "every", 1) => (BoolAnd, Bool, vec![Bool]),
        ("bool_or", 1) => (BoolOr, Bool, vec![Bool]),
        ("stddev" | "stddev_samp" | "stddev_pop" | "variance" | "var_samp" | "var_pop", 1) => {
            let t = numeric()?;
            let ret = if matches!(t, Float4 | Float8) { Float8 } else { DataType::Numeric(None) };
            let f = match name {
                "stddev_pop" => StddevPop,
                "var_pop" => VarPop,
                "variance" | "var_samp" => VarSamp,
                _ => StddevSamp,
            };
            (f, ret, vec![t])
        }
        ("json_agg", 1) => (JsonAgg, Json, vec![arg(0)]),
        (JSON_AGG_ROWS, 1) => (JsonAggRows, Json, vec![arg(0)]),
        ("jsonb_agg", 1) => (JsonbAgg, Jsonb, vec![arg(0)]),
        ("json_object_agg", 2) => (JsonObjectAgg, Json, vec![arg(0), arg(1)]),
        ("jsonb_object_agg", 2) => (JsonbObjectAgg, Jsonb, vec![arg(0), arg(1)]),
        // Ordered-set aggregates: the sorted value first, then the direct argument.
        ("percentile_cont", 2) => (PercentileCont, Float8, vec![Float8, Float8]),
        ("percentile_disc", 2) => (PercentileDisc, arg(0), vec![arg(0), Float8]),
        ("mode", 1) => (Mode, arg(0), vec![arg(0)]),
        ("bit_and" | "bit_or", 1) => {
            let t = arg(0);
            if !matches!(t, Int2 | Int4 | Int8) {
                return Err(no_function(name, args));
            }
            (if name == "bit_and" { BitAnd } else { BitOr }, t.clone(), vec![t])
        }
        _ => return Err(no_function(name, args)),
    };
    Ok(ResolvedAggregate { function, return_type: ret, arg_types: params })
}

fn no_function(name: &str, args: &[SqlType]) -> oxibase_common::Error {
    let types: Vec<String> = args
        .iter()
        .map(|a| match a {
            SqlType::Known(t) => t.name(),
            SqlType::Unknown => "unknown".into(),
        })
        .collect();
    errinput!(UNDEFINED_FUNCTION, "function {name}({}) does not exist", types.join(", "))
        .with_hint("No function matches the given name and argument types. You might need to add explicit type casts.")
}

/// The running state of one aggregate over one group.
#[derive(Clone, Debug)]
pub enum Accumulator {
    /// count(*) and count(x)
    Count(i64),
    /// sum over integers, exactly
    SumInt(i128, bool),
    /// sum or avg over numerics (and avg over integers): sum, count
    SumNumeric(BigDecimal, i64, Option<Numeric>),
    /// sum or avg over floats: sum, count
    SumFloat(f64, i64),
    /// sum of intervals
    SumInterval(Option<Value>),
    /// min/max: the best so far
    Extreme(Option<Value>),
    /// bool_and/bool_or
    Bool(Option<bool>),
    /// Values collected for string_agg, array_agg, json_agg and the variance family.
    Collect(Vec<Vec<Value>>),
    /// bit_and/bit_or
    Bits(Option<i64>),
}

impl Accumulator {
    /// A fresh accumulator for a function whose argument has type `arg`.
    pub fn new(function: AggregateFunction, arg: Option<&DataType>) -> Accumulator {
        use AggregateFunction::*;
        match function {
            CountStar | Count => Accumulator::Count(0),
            Sum | Avg => match arg {
                Some(DataType::Int2 | DataType::Int4 | DataType::Int8) if function == Sum => {
                    Accumulator::SumInt(0, false)
                }
                Some(DataType::Float4 | DataType::Float8) => Accumulator::SumFloat(0.0, 0),
                Some(DataType::Interval(_)) => Accumulator::SumInterval(None),
                _ => Accumulator::SumNumeric(BigDecimal::zero(), 0, None),
            },
            Min | Max | AnyValue => Accumulator::Extreme(None),
            BoolAnd | BoolOr => Accumulator::Bool(None),
            BitAnd | BitOr => Accumulator::Bits(None),
            _ => Accumulator::Collect(Vec::new()),
        }
    }

    /// Adds one row's arguments (NULL arguments are skipped where SQL says so).
    pub fn update(
        &mut self,
        function: AggregateFunction,
        args: &[Value],
        env: &dyn FunctionEnv,
    ) -> Result<()> {
        use AggregateFunction::*;
        let first = args.first().unwrap_or(&Value::Null);
        let keeps_nulls = matches!(
            function,
            CountStar
                | ArrayAgg
                | JsonAgg
                | JsonAggRows
                | JsonbAgg
                | JsonObjectAgg
                | JsonbObjectAgg
        );
        if !keeps_nulls && first.is_null() {
            return Ok(());
        }
        match self {
            Accumulator::Count(n) => *n += 1,
            Accumulator::SumInt(sum, seen) => {
                *sum += crate::types::compare::as_i64(first) as i128;
                *seen = true;
            }
            Accumulator::SumNumeric(sum, count, special) => {
                match to_numeric(first) {
                    Numeric::Finite(d) => *sum += d,
                    other => {
                        *special = Some(match (special.take(), other) {
                            (Some(Numeric::NaN), _) | (_, Numeric::NaN) => Numeric::NaN,
                            (Some(Numeric::Infinity), Numeric::NegInfinity)
                            | (Some(Numeric::NegInfinity), Numeric::Infinity) => Numeric::NaN,
                            (_, o) => o,
                        })
                    }
                }
                *count += 1;
            }
            Accumulator::SumFloat(sum, count) => {
                *sum += to_f64(first);
                *count += 1;
            }
            Accumulator::SumInterval(sum) => {
                *sum = Some(match sum.take() {
                    None => first.clone(),
                    Some(s) => arith::add(&s, first, env.zone())?,
                });
            }
            Accumulator::Extreme(best) => {
                let replace = match best {
                    None => true,
                    Some(_) if function == AnyValue => false,
                    Some(b) => {
                        let ord = compare(first, b)?;
                        if function == Min { ord.is_lt() } else { ord.is_gt() }
                    }
                };
                if replace {
                    *best = Some(first.clone());
                }
            }
            Accumulator::Bool(state) => {
                let v = matches!(first, Value::Bool(true));
                *state = Some(match (*state, function) {
                    (None, _) => v,
                    (Some(s), BoolAnd) => s && v,
                    (Some(s), _) => s || v,
                });
            }
            Accumulator::Bits(state) => {
                let v = crate::types::compare::as_i64(first);
                *state = Some(match (*state, function) {
                    (None, _) => v,
                    (Some(s), BitAnd) => s & v,
                    (Some(s), _) => s | v,
                });
            }
            Accumulator::Collect(rows) => {
                if matches!(function, StringAgg) && args.get(1).is_none() {
                    return Ok(());
                }
                rows.push(args.to_vec());
            }
        }
        Ok(())
    }

    /// The aggregate's value for the group.
    pub fn finish(
        self,
        function: AggregateFunction,
        ret: &DataType,
        env: &dyn FunctionEnv,
    ) -> Result<Value> {
        use AggregateFunction::*;
        Ok(match self {
            Accumulator::Count(n) => Value::Int8(n),
            Accumulator::SumInt(sum, seen) => {
                if !seen {
                    return Ok(Value::Null);
                }
                match ret {
                    DataType::Int8 => Value::Int8(i64::try_from(sum).map_err(|_| {
                        errinput!(NUMERIC_VALUE_OUT_OF_RANGE, "bigint out of range")
                    })?),
                    _ => Value::Numeric(Box::new(Numeric::Finite(BigDecimal::new(
                        bigdecimal::num_bigint::BigInt::from(sum),
                        0,
                    )))),
                }
            }
            Accumulator::SumNumeric(sum, count, special) => {
                if count == 0 {
                    return Ok(Value::Null);
                }
                let total = special.unwrap_or(Numeric::Finite(sum));
                if function == Avg {
                    Value::Numeric(Box::new(arith::numeric_div(
                        &total,
                        &Numeric::Finite(BigDecimal::from(count)),
                    )?))
                } else {
                    Value::Numeric(Box::new(total))
                }
            }
            Accumulator::SumFloat(sum, count) => {
                if count == 0 {
                    return Ok(Value::Null);
                }
                let v = if function == Avg { sum / count as f64 } else { sum };
                if matches!(ret, DataType::Float4) {
                    Value::Float4(v as f32)
                } else {
                    Value::Float8(v)
                }
            }
            Accumulator::SumInterval(sum) => sum.unwrap_or(Value::Null),
            Accumulator::Extreme(best) => best.unwrap_or(Value::Null),
            Accumulator::Bool(state) => state.map_or(Value::Null, Value::Bool),
            Accumulator::Bits(state) => match state {
                None => Value::Null,
                Some(v) => crate::types::cast::cast(
                    Value::Int8(v),
                    ret,
                    crate::types::cast::CastKind::Explicit,
                    env.zone(),
                )?,
            },
            Accumulator::Collect(rows) => finish_collected(function, rows, ret, env)?,
        })
    }
}

fn finish_collected(
    function: AggregateFunction,
    rows: Vec<Vec<Value>>,
    ret: &DataType,
    env: &dyn FunctionEnv,
) -> Result<Value> {
    use AggregateFunction::*;
    if rows.is_empty() {
        return Ok(Value::Null);
    }
    Ok(match function {
        StringAgg => {
            let mut out: Vec<u8> = Vec::new();
            for (i, row) in rows.iter().enumerate() {
                if i > 0
                    && let Some(delim) = row.get(1)
                {
                    out.extend_from_slice(bytes(delim));
                }
                out.extend_from_slice(bytes(&row[0]));
            }
            if matches!(ret, DataType::Bytea) {
                Value::Bytea(out)
            } else {
                Value::Text(String::from_utf8_lossy(&out).into_owned())
            }
        }
        ArrayAgg => {
            let element_type = match ret {
                DataType::Array(e) => (**e).clone(),
                other => other.clone(),
            };
            Value::Array(Box::new(Array {
                element_type,
                elements: rows.into_iter().map(|mut r| r.swap_remove(0)).collect(),
            }))
        }
        JsonAgg | JsonAggRows | JsonbAgg => {
            let values: Vec<Value> = rows.into_iter().map(|mut r| r.swap_remove(0)).collect();
            if function == JsonbAgg {
                super::json::aggregate_array(&values, env.zone(), true)?
            } else {
                super::json::aggregate_json_text(&values, env.zone(), function == JsonAggRows)?
            }
        }
        JsonObjectAgg | JsonbObjectAgg => {
            let pairs: Vec<(Value, Value)> =
                rows.into_iter().map(|r| (r[0].clone(), r[1].clone())).collect();
            super::json::aggregate_object(&pairs, env.zone(), function == JsonbObjectAgg)?
        }
        StddevSamp | StddevPop | VarSamp | VarPop => variance(function, &rows, ret)?,
        PercentileCont | PercentileDisc => percentile(function, &rows)?,
        Mode => {
            // Rows arrive sorted, so equal values are adjacent; ties go to the first run.
            let (mut best, mut best_len, mut run) = (0, 0, 0);
            for i in 0..rows.len() {
                run = if i > 0 && compare(&rows[i][0], &rows[i - 1][0])?.is_eq() {
                    run + 1
                } else {
                    1
                };
                if run > best_len {
                    (best, best_len) = (i, run);
                }
            }
            rows[best][0].clone()
        }
        _ => Value::Null,
    })
}

/// percentile_cont / percentile_disc over rows sorted by their first value; the fraction
/// is the second (the same for every row of a group).
fn percentile(function: AggregateFunction, rows: &[Vec<Value>]) -> Result<Value> {
    let fraction = to_f64(&rows[0][1]);
    if !(0.0..=1.0).contains(&fraction) {
        return Err(errinput!(
            NUMERIC_VALUE_OUT_OF_RANGE,
            "percentile value {fraction} is not between 0 and 1"
        ));
    }
    let n = rows.len();
    if function == AggregateFunction::PercentileDisc {
        // The first value whose position in the ordering reaches the fraction.
        let k = ((fraction * n as f64).ceil() as usize).clamp(1, n);
        return Ok(rows[k - 1][0].clone());
    }
    let at = fraction * (n - 1) as f64;
    let (lo, hi) = (at.floor() as usize, at.ceil() as usize);
    let (x, y) = (to_f64(&rows[lo][0]), to_f64(&rows[hi][0]));
    Ok(Value::Float8(x + (y - x) * (at - lo as f64)))
}

fn bytes(v: &Value) -> &[u8] {
    match v {
        Value::Bytea(b) => b,
        Value::Text(s) => s.as_bytes(),
        _ => &[],
    }
}

/// The variance family, computed exactly for numerics (as PostgreSQL does) and in double
/// precision for floats.
fn variance(function: AggregateFunction, rows: &[Vec<Value>], ret: &DataType) -> Result<Value> {
    use AggregateFunction::*;
    let n = rows.len() as i64;
    let sample = matches!(function, StddevSamp | VarSamp);
    if sample && n < 2 {
        return Ok(Value::Null);
    }
    if matches!(ret, DataType::Float8) {
        let xs: Vec<f64> = rows.iter().map(|r| to_f64(&r[0])).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let ss: f64 = xs.iter().map(|x| (x - mean) * (x - mean)).sum();
        let var = ss / if sample { (n - 1) as f64 } else { n as f64 };
        return Ok(Value::Float8(if matches!(function, StddevSamp | StddevPop) {
            var.sqrt()
        } else {
            var
        }));
    }
    let mut sum = BigDecimal::zero();
    let mut sum_sq = BigDecimal::zero();
    let mut scale = 0;
    for row in rows {
        let Numeric::Finite(x) = to_numeric(&row[0]) else {
            return Ok(Value::Numeric(Box::new(Numeric::NaN)));
        };
        scale = scale.max(x.fractional_digit_count());
        sum_sq += &x * &x;
        sum += x;
    }
    let nd = BigDecimal::from(n);
    let numerator = &nd * sum_sq - &sum * &sum;
    let denominator = if sample { &nd * BigDecimal::from(n - 1) } else { &nd * &nd };
    // PostgreSQL divides with the scale of sumX², at least its minimum significant digits.
    let var = arith::numeric_div(
        &Numeric::Finite(numerator.with_scale(scale * 2)),
        &Numeric::Finite(denominator),
    )?;
    let Numeric::Finite(var) = var else { return Ok(Value::Numeric(Box::new(var))) };
    let var =
        if var.sign() == bigdecimal::num_bigint::Sign::Minus { BigDecimal::zero() } else { var };
    if matches!(function, VarSamp | VarPop) {
        return Ok(Value::Numeric(Box::new(Numeric::Finite(var))));
    }
    let digits = var.fractional_digit_count().max(16);
    let root = var
        .sqrt()
        .unwrap_or_default()
        .with_scale_round(digits, bigdecimal::rounding::RoundingMode::HalfUp);
    Ok(Value::Numeric(Box::new(Numeric::Finite(root))))
}
