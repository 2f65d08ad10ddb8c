//! Window functions: each call sorts the rows by its partition and order keys, walks each
//! partition, and computes one value per row from its position, its peers (rows with equal
//! order keys) and its frame. Output rows keep the input order, with one column per call.

use std::cmp::Ordering;

use oxibase_common::{Result, Value, errinput};

use super::eval::{eval, eval_condition};
use super::{ExecCtx, Row, Rows, collect, execute};
use crate::functions::aggregate::Accumulator;
use crate::functions::window::WindowFunction;
use crate::plan::{FrameBound, Plan, SortKey, WindowCall};
use crate::types::compare::{as_i64, sort_cmp};

/// Runs a Window node.
pub fn window<'a>(
    input: &'a Plan,
    calls: &'a [WindowCall],
    ctx: &'a ExecCtx<'a>,
) -> Result<Rows<'a>> {
    let rows = collect(execute(input, ctx)?, ctx)?;
    let mut results: Vec<Vec<Value>> = vec![Vec::with_capacity(calls.len()); rows.len()];
    for call in calls {
        let values = compute(call, &rows, ctx)?;
        for (row, v) in results.iter_mut().zip(values) {
            row.push(v);
        }
    }
    Ok(Box::new(rows.into_iter().zip(results).map(|(mut row, extra)| {
        row.extend(extra);
        Ok(row)
    })))
}

fn compare_keys(a: &[Value], b: &[Value], keys: &[SortKey]) -> Ordering {
    for ((x, y), k) in a.iter().zip(b).zip(keys) {
        let ord = sort_cmp(x, y, k.descending, k.nulls_first);
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}

fn partition_equal(a: &[Value], b: &[Value]) -> bool {
    a.iter().zip(b).all(|(x, y)| sort_cmp(x, y, false, false) == Ordering::Equal)
}

/// One value per input row, in input order.
fn compute(call: &WindowCall, rows: &[Row], ctx: &ExecCtx) -> Result<Vec<Value>> {
    let parts: Vec<Vec<Value>> = rows
        .iter()
        .map(|r| call.partition_by.iter().map(|e| eval(e, r, ctx)).collect())
        .collect::<Result<_>>()?;
    let orders: Vec<Vec<Value>> = rows
        .iter()
        .map(|r| call.order_by.iter().map(|k| eval(&k.expr, r, ctx)).collect())
        .collect::<Result<_>>()?;
    let mut order: Vec<usize> = (0..rows.len()).collect();
    let asc: Vec<SortKey> = call
        .partition_by
        .iter()
        .map(|e| SortKey { expr: e.clone(), descending: false, nulls_first: false })
        .collect();
    order.sort_by(|&a, &b| {
        compare_keys(&parts[a], &parts[b], &asc)
            .then_with(|| compare_keys(&orders[a], &orders[b], &call.order_by))
    });
    let mut out = vec![Value::Null; rows.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && partition_equal(&parts[order[start]], &parts[order[end]]) {
            end += 1;
        }
        let partition = &order[start..end];
        let values = partition_values(call, partition, rows, &orders, ctx)?;
        for (&i, v) in partition.iter().zip(values) {
            out[i] = v;
        }
        start = end;
    }
    Ok(out)
}

/// Values for one partition (rows given in window order).
fn partition_values(
    call: &WindowCall,
    partition: &[usize],
    rows: &[Row],
    orders: &[Vec<Value>],
    ctx: &ExecCtx,
) -> Result<Vec<Value>> {
    let n = partition.len();
    // Peer groups: [first, last] index within the partition for each row.
    let mut peer_first = vec![0; n];
    let mut peer_last = vec![0; n];
    let mut i = 0;
    while i < n {
        let mut j = i + 1;
        while j < n
            && compare_keys(&orders[partition[i]], &orders[partition[j]], &call.order_by)
                == Ordering::Equal
        {
            j += 1;
        }
        for k in i..j {
            peer_first[k] = i;
            peer_last[k] = j - 1;
        }
        i = j;
    }
    let arg = |pos: usize, k: usize| -> Result<Value> {
        match call.args.get(k) {
            Some(e) => eval(e, &rows[partition[pos]], ctx),
            None => Ok(Value::Null),
        }
    };
    let mut out = Vec::with_capacity(n);
    match call.function {
        WindowFunction::RowNumber => out.extend((0..n).map(|p| Value::Int8(p as i64 + 1))),
        WindowFunction::Rank => {
            out.extend(peer_first.iter().take(n).map(|&first| Value::Int8(first as i64 + 1)))
        }
        WindowFunction::DenseRank => {
            let mut rank = 0;
            for (p, &first) in peer_first.iter().enumerate().take(n) {
                if first == p {
                    rank += 1;
                }
                out.push(Value::Int8(rank));
            }
        }
        WindowFunction::PercentRank => out.extend((0..n).map(|p| {
            Value::Float8(if n > 1 { peer_first[p] as f64 / (n - 1) as f64 } else { 0.0 })
        })),
        WindowFunction::CumeDist => {
            out.extend((0..n).map(|p| Value::Float8((peer_last[p] + 1) as f64 / n as f64)))
        }
        WindowFunction::Ntile => {
            for p in 0..n {
                let buckets = as_i64(&arg(p, 0)?);
                if buckets <= 0 {
                    return Err(errinput!(
                        INVALID_PARAMETER_VALUE,
                        "argument of ntile must be greater than zero"
                    ));
                }
                let buckets = buckets as usize;
                let (size, extra) = (n / buckets, n % buckets);
                // The first `extra` buckets hold one more row.
                let bucket = if p < extra * (size + 1) {
                    p / (size + 1)
                } else {
                    extra + (p - extra * (size + 1)) / size.max(1)
                };
                out.push(Value::Int8(bucket as i64 + 1));
            }
        }
        WindowFunction::Lag | WindowFunction::Lead => {
            for p in 0..n {
                let offset = if call.args.len() > 1 { as_i64(&arg(p, 1)?) } else { 1 };
                let target = if call.function == WindowFunction::Lag {
                    p as i64 - offset
                } else {
                    p as i64 + offset
                };
                out.push(if (0..n as i64).contains(&target) {
                    arg(target as usize, 0)?
                } else {
                    arg(p, 2)?
                });
            }
        }
        WindowFunction::FirstValue | WindowFunction::LastValue | WindowFunction::NthValue => {
            for p in 0..n {
                let (lo, hi) = frame(call, p, n, &peer_first, &peer_last, rows, partition, ctx)?;
                let value = if lo > hi {
                    Value::Null
                } else {
                    match call.function {
                        WindowFunction::FirstValue => arg(lo, 0)?,
                        WindowFunction::LastValue => arg(hi, 0)?,
                        _ => {
                            let nth = as_i64(&arg(p, 1)?);
                            if nth <= 0 {
                                return Err(errinput!(
                                    INVALID_PARAMETER_VALUE,
                                    "argument of nth_value must be greater than zero"
                                ));
                            }
                            let at = lo + nth as usize - 1;
                            if at <= hi { arg(at, 0)? } else { Value::Null }
                        }
                    }
                };
                out.push(value);
            }
        }
        WindowFunction::Aggregate(function) => {
            let running = matches!(call.frame.start, FrameBound::UnboundedPreceding)
                && matches!(
                    call.frame.end,
                    FrameBound::CurrentRow | FrameBound::UnboundedFollowing
                );
            let feed = |acc: &mut Accumulator, pos: usize| -> Result<()> {
                let row = &rows[partition[pos]];
                if let Some(f) = &call.filter
                    && !eval_condition(f, row, ctx)?
                {
                    return Ok(());
                }
                let args =
                    call.args.iter().map(|e| eval(e, row, ctx)).collect::<Result<Vec<_>>>()?;
                acc.update(function, &args, ctx)
            };
            if running {
                let mut acc = Accumulator::new(function, call.arg_types.first());
                let mut fed = 0; // rows fed so far
                for p in 0..n {
                    let (_, hi) = frame(call, p, n, &peer_first, &peer_last, rows, partition, ctx)?;
                    while fed <= hi {
                        feed(&mut acc, fed)?;
                        fed += 1;
                    }
                    out.push(acc.clone().finish(function, &call.return_type, ctx)?);
                }
            } else {
                for p in 0..n {
                    let (lo, hi) =
                        frame(call, p, n, &peer_first, &peer_last, rows, partition, ctx)?;
                    let mut acc = Accumulator::new(function, call.arg_types.first());
                    for q in lo..=hi.min(n.saturating_sub(1)) {
                        if lo <= hi {
                            feed(&mut acc, q)?;
                        }
                    }
                    out.push(acc.finish(function, &call.return_type, ctx)?);
                }
            }
        }
    }
    Ok(out)
}

/// The frame of the row at position `p`: inclusive positions `(lo, hi)`; empty when lo > hi.
#[allow(clippy::too_many_arguments)]
fn frame(
    call: &WindowCall,
    p: usize,
    n: usize,
    peer_first: &[usize],
    peer_last: &[usize],
    rows: &[Row],
    partition: &[usize],
    ctx: &ExecCtx,
) -> Result<(usize, usize)> {
    let offset = |e: &crate::plan::Expr| -> Result<i64> {
        let v = as_i64(&eval(e, &rows[partition[p]], ctx)?);
        if v < 0 {
            return Err(errinput!(
                INVALID_PARAMETER_VALUE,
                "frame starting or ending offset must not be negative"
            ));
        }
        Ok(v)
    };
    let position = |b: &FrameBound, start: bool| -> Result<i64> {
        Ok(match b {
            FrameBound::UnboundedPreceding => 0,
            FrameBound::UnboundedFollowing => n as i64 - 1,
            FrameBound::CurrentRow if call.frame.rows => p as i64,
            FrameBound::CurrentRow => {
                if start {
                    peer_first[p] as i64
                } else {
                    peer_last[p] as i64
                }
            }
            FrameBound::Preceding(e) => p as i64 - offset(e)?,
            FrameBound::Following(e) => p as i64 + offset(e)?,
        })
    };
    let lo = position(&call.frame.start, true)?.max(0);
    let hi = position(&call.frame.end, false)?.min(n as i64 - 1);
    if hi < lo {
        return Ok((1, 0));
    }
    Ok((lo as usize, hi as usize))
}
