//! Set operations, DISTINCT, table functions and recursive CTEs.

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use bigdecimal::BigDecimal;
use oxibase_common::{Interval, Numeric, Result, Value, errinput};

use super::eval::eval;
use super::{ExecCtx, Row, Rows, collect, execute};
use crate::functions::FunctionEnv;
use crate::plan::{Expr, Plan, SetOp, TableFunction};
use crate::types::arith;
use crate::types::compare::{as_i64, compare, group_key};

fn key_of(values: &[Value]) -> Result<Vec<u8>> {
    let mut key = Vec::new();
    group_key(values, &mut key)?;
    Ok(key)
}

/// DISTINCT (all columns) or DISTINCT ON (keys; the input is sorted so the first row of
/// each key is the one to keep).
pub fn distinct<'a>(input: Rows<'a>, on: Option<&'a [Expr]>, ctx: &'a ExecCtx<'a>) -> Rows<'a> {
    let mut seen: HashSet<Vec<u8>> = HashSet::new();
    Box::new(input.filter_map(move |row| {
        let result = (|| -> Result<Option<Row>> {
            let row = row?;
            let key = match on {
                Some(keys) => {
                    key_of(&keys.iter().map(|e| eval(e, &row, ctx)).collect::<Result<Vec<_>>>()?)?
                }
                None => key_of(&row)?,
            };
            Ok(seen.insert(key).then_some(row))
        })();
        result.transpose()
    }))
}

/// UNION, INTERSECT, EXCEPT, with or without ALL.
pub fn set_operation<'a>(
    left: &'a Plan,
    right: &'a Plan,
    op: SetOp,
    all: bool,
    ctx: &'a ExecCtx<'a>,
) -> Result<Rows<'a>> {
    if op == SetOp::Union {
        let chained = execute(left, ctx)?.chain(execute(right, ctx)?);
        return Ok(if all { Box::new(chained) } else { distinct(Box::new(chained), None, ctx) });
    }
    let right_rows = collect(execute(right, ctx)?, ctx)?;
    let mut counts: HashMap<Vec<u8>, usize> = HashMap::new();
    for row in &right_rows {
        *counts.entry(key_of(row)?).or_default() += 1;
    }
    let mut emitted: HashSet<Vec<u8>> = HashSet::new();
    let mut out = Vec::new();
    for row in execute(left, ctx)? {
        let row = row?;
        let key = key_of(&row)?;
        let count = counts.get(&key).copied().unwrap_or(0);
        let keep = match (op, all) {
            (SetOp::Intersect, true) => {
                if count > 0 {
                    counts.insert(key.clone(), count - 1);
                    true
                } else {
                    false
                }
            }
            (SetOp::Intersect, false) => count > 0 && emitted.insert(key.clone()),
            (SetOp::Except, true) => {
                if count > 0 {
                    counts.insert(key.clone(), count - 1);
                    false
                } else {
                    true
                }
            }
            _ => count == 0 && emitted.insert(key.clone()),
        };
        if keep {
            out.push(row);
        }
    }
    Ok(Box::new(out.into_iter().map(Ok)))
}

/// WITH RECURSIVE: the anchor's rows, then the recursive part run on the previous
/// iteration's new rows until it produces none (UNION drops rows already produced).
pub fn recursive_cte<'a>(
    id: usize,
    anchor: &'a Plan,
    recursive: &'a Plan,
    distinct: bool,
    ctx: &'a ExecCtx<'a>,
) -> Result<Rows<'a>> {
    let mut seen: HashSet<Vec<u8>> = HashSet::new();
    let mut all = Vec::new();
    let mut fresh = Vec::new();
    for row in collect(execute(anchor, ctx)?, ctx)? {
        if !distinct || seen.insert(key_of(&row)?) {
            fresh.push(row);
        }
    }
    while !fresh.is_empty() {
        ctx.check_interrupt()?;
        all.extend(fresh.iter().cloned());
        ctx.work_tables.borrow_mut().insert(id, Rc::new(std::mem::take(&mut fresh)));
        for row in collect(execute(recursive, ctx)?, ctx)? {
            if !distinct || seen.insert(key_of(&row)?) {
                fresh.push(row);
            }
        }
    }
    ctx.work_tables.borrow_mut().remove(&id);
    Ok(Box::new(all.into_iter().map(Ok)))
}

/// A table function's rows (with a trailing ordinal column for WITH ORDINALITY).
pub fn table_function<'a>(
    function: TableFunction,
    args: &'a [Expr],
    ordinality: bool,
    ctx: &'a ExecCtx<'a>,
) -> Result<Rows<'a>> {
    let values = args.iter().map(|e| eval(e, &[], ctx)).collect::<Result<Vec<_>>>()?;
    table_function_values(function, values, ordinality, ctx)
}

/// One input row of a ProjectSet: the rows its set-returning functions produce.
pub fn project_set(
    row: Row,
    functions: &[(TableFunction, Vec<Expr>)],
    ctx: &ExecCtx,
) -> Result<Vec<Row>> {
    let mut results: Vec<Vec<Value>> = Vec::with_capacity(functions.len());
    for (function, args) in functions {
        let values = args.iter().map(|e| eval(e, &row, ctx)).collect::<Result<Vec<_>>>()?;
        let rows = table_function_values(function.clone(), values, false, ctx)?;
        // A function of several columns gives a record of them (`(json_each(j)).key`).
        let column: Vec<Value> = rows
            .map(|r| {
                r.map(|mut r| match r.len() {
                    0 => Value::Null,
                    1 => r.swap_remove(0),
                    _ => Value::Record(Box::new(r)),
                })
            })
            .collect::<Result<_>>()?;
        results.push(column);
    }
    let n = results.iter().map(Vec::len).max().unwrap_or(0);
    Ok((0..n)
        .map(|i| {
            let mut out = row.clone();
            out.extend(results.iter().map(|r| r.get(i).cloned().unwrap_or(Value::Null)));
            out
        })
        .collect())
}

fn table_function_values<'a>(
    function: TableFunction,
    values: Vec<Value>,
    ordinality: bool,
    ctx: &'a ExecCtx<'a>,
) -> Result<Rows<'a>> {
    let rows: Rows<'a> = match function {
        TableFunction::Routine(routine) => {
            Box::new(super::routine::rows(&routine, values, ctx)?.into_iter().map(Ok))
        }
        TableFunction::Scalar => Box::new(std::iter::once(Ok(values))),
        TableFunction::Fields { width } => {
            let mut row = match values.into_iter().next() {
                Some(Value::Record(fields)) => *fields,
                _ => Vec::new(),
            };
            row.resize(width, Value::Null);
            Box::new(std::iter::once(Ok(row)))
        }
        TableFunction::GenerateSeries => generate_series(values, ctx)?,
        TableFunction::Unnest => {
            let arrays: Vec<Vec<Value>> = values
                .into_iter()
                .map(|v| match v {
                    Value::Array(a) => a.elements,
                    _ => Vec::new(),
                })
                .collect();
            let n = arrays.iter().map(Vec::len).max().unwrap_or(0);
            Box::new((0..n).map(move |i| {
                Ok(arrays.iter().map(|a| a.get(i).cloned().unwrap_or(Value::Null)).collect())
            }))
        }
        TableFunction::ExpandArray => match values.into_iter().next() {
            Some(Value::Array(a)) => Box::new(
                a.elements
                    .into_iter()
                    .zip(1..)
                    .map(|(x, n)| Ok(vec![x, Value::Int4(n)]))
                    .collect::<Vec<_>>()
                    .into_iter(),
            ),
            _ => Box::new(std::iter::empty()),
        },
        TableFunction::GenerateSubscripts => match values.first() {
            Some(Value::Array(a)) if as_i64(&values[1]) == 1 => {
                let lower = values.get(2).map_or(1, as_i64) as i32;
                let n = a.elements.len() as i32;
                Box::new((lower..lower + n).map(|i| Ok(vec![Value::Int4(i)])))
            }
            _ => Box::new(std::iter::empty()),
        },
        TableFunction::JsonEach | TableFunction::JsonEachText => match values.first() {
            Some(doc) if !doc.is_null() => {
                let entries =
                    crate::functions::json::entries(doc, function == TableFunction::JsonEachText)?;
                Box::new(entries.into_iter().map(|(k, v)| Ok(vec![k, v])))
            }
            _ => Box::new(std::iter::empty()),
        },
        TableFunction::JsonArrayElements | TableFunction::JsonArrayElementsText => {
            match values.first() {
                Some(doc) if !doc.is_null() => {
                    let items = crate::functions::json::elements(
                        doc,
                        function == TableFunction::JsonArrayElementsText,
                    )?;
                    Box::new(items.into_iter().map(|v| Ok(vec![v])))
                }
                _ => Box::new(std::iter::empty()),
            }
        }
        TableFunction::JsonbPathQuery => {
            if values.iter().any(Value::is_null) {
                Box::new(std::iter::empty())
            } else {
                let items = crate::functions::json::path_query(&values)?;
                Box::new(items.into_iter().map(|v| Ok(vec![v])))
            }
        }
        TableFunction::JsonObjectKeys => match values.first() {
            Some(doc) if !doc.is_null() => {
                let entries = crate::functions::json::entries(doc, true)?;
                Box::new(entries.into_iter().map(|(k, _)| Ok(vec![k])))
            }
            _ => Box::new(std::iter::empty()),
        },
        TableFunction::JsonToRecord { name, set, columns } => {
            let doc = values.first().cloned().unwrap_or(Value::Null);
            let base = match values.get(1) {
                Some(Value::Record(fields)) => Some(fields.as_slice()),
                _ => None,
            };
            let rows =
                crate::functions::json::to_records(&doc, set, name, &columns, base, ctx.zone())?;
            Box::new(rows.into_iter().map(Ok))
        }
        TableFunction::RegexpMatches => {
            let rows = crate::functions::string::regexp_matches(&values)?;
            Box::new(rows.into_iter().map(|m| Ok(vec![m])))
        }
        TableFunction::OptionsToTable => match values.into_iter().next() {
            Some(Value::Array(a)) => Box::new(a.elements.into_iter().filter_map(|o| {
                let Value::Text(o) = o else { return None };
                let (name, value) = o.split_once('=').unwrap_or((&o, ""));
                Some(Ok(vec![Value::Text(name.to_string()), Value::Text(value.to_string())]))
            })),
            _ => Box::new(std::iter::empty()),
        },
        TableFunction::RegexpSplitToTable => match (values.first(), values.get(1)) {
            (Some(Value::Text(s)), Some(Value::Text(p))) => {
                let re = crate::functions::string::regex(p, false)?;
                let parts: Vec<String> = re.split(s).map(String::from).collect();
                Box::new(parts.into_iter().map(|p| Ok(vec![Value::Text(p)])))
            }
            _ => Box::new(std::iter::empty()),
        },
    };
    if !ordinality {
        return Ok(rows);
    }
    Ok(Box::new(rows.enumerate().map(|(i, r)| {
        r.map(|mut r| {
            r.push(Value::Int8(i as i64 + 1));
            r
        })
    })))
}

fn generate_series<'a>(values: Vec<Value>, ctx: &'a ExecCtx<'a>) -> Result<Rows<'a>> {
    if values.iter().any(Value::is_null) {
        return Ok(Box::new(std::iter::empty()));
    }
    let start = values[0].clone();
    let stop = values[1].clone();
    let step = values.get(2).cloned();
    match &start {
        Value::Int4(_) | Value::Int8(_) => {
            let (a, b) = (as_i64(&start), as_i64(&stop));
            let s = step.as_ref().map_or(1, as_i64);
            if s == 0 {
                return Err(errinput!(INVALID_PARAMETER_VALUE, "step size cannot equal zero"));
            }
            let int4 = matches!(start, Value::Int4(_));
            let mut current = Some(a);
            Ok(Box::new(std::iter::from_fn(move || {
                let v = current?;
                if (s > 0 && v > b) || (s < 0 && v < b) {
                    return None;
                }
                current = v.checked_add(s);
                Some(Ok(vec![if int4 { Value::Int4(v as i32) } else { Value::Int8(v) }]))
            })))
        }
        Value::Numeric(_) => {
            let step =
                step.unwrap_or(Value::Numeric(Box::new(Numeric::Finite(BigDecimal::from(1)))));
            if compare(&step, &Value::Int4(0))?.is_eq() {
                return Err(errinput!(INVALID_PARAMETER_VALUE, "step size cannot equal zero"));
            }
            let ascending = compare(&step, &Value::Int4(0))?.is_gt();
            let mut current = Some(start);
            let zone = ctx.zone().clone();
            Ok(Box::new(std::iter::from_fn(move || {
                let v = current.take()?;
                let beyond = compare(&v, &stop).ok()?;
                if (ascending && beyond.is_gt()) || (!ascending && beyond.is_lt()) {
                    return None;
                }
                current = arith::add(&v, &step, &zone).ok();
                Some(Ok(vec![v]))
            })))
        }
        Value::Timestamp(_) | Value::TimestampTz(_) => {
            let Some(Value::Interval(iv)) = step else {
                return Err(errinput!(
                    INVALID_PARAMETER_VALUE,
                    "generate_series over timestamps needs an interval step"
                ));
            };
            if iv == Interval::default() {
                return Err(errinput!(INVALID_PARAMETER_VALUE, "step size cannot equal zero"));
            }
            let ascending = iv.span_micros() > 0;
            let mut current = Some(start);
            let zone = ctx.zone().clone();
            let step = Value::Interval(iv);
            Ok(Box::new(std::iter::from_fn(move || {
                let v = current.take()?;
                let cmp = compare(&v, &stop).ok()?;
                if (ascending && cmp.is_gt()) || (!ascending && cmp.is_lt()) {
                    return None;
                }
                current = arith::add(&v, &step, &zone).ok();
                Some(Ok(vec![v]))
            })))
        }
        other => Err(errinput!(
            UNDEFINED_FUNCTION,
            "function generate_series({}) does not exist",
            other.type_name()
        )),
    }
}
