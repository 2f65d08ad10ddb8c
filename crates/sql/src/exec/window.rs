//! Window functions: each call sorts the rows by its partition and order keys, walks each
//! partition, and computes one value per row from its position, its peers (rows with equal
//! order keys) and its frame. Output rows, with one column per call, come in the first sorting
//! window's order.

use std::cmp::Ordering;

use oxibase_common::{Result, Value, errinput};

use super::eval::{eval, eval_condition};
use super::{ExecCtx, Row, Rows, collect, execute};
use crate::functions::FunctionEnv;
use crate::functions::aggregate::Accumulator;
use crate::functions::window::WindowFunction;
use crate::plan::{FrameBound, FrameUnits, Plan, SortKey, WindowCall};
use crate::types::arith;
use crate::types::compare::{as_i64, compare, sort_cmp};

/// Runs a Window node.
pub fn window<'a>(
    input: &'a Plan,
    calls: &'a [WindowCall],
    ctx: &'a ExecCtx<'a>,
) -> Result<Rows<'a>> {
    let rows = collect(execute(input, ctx)?, ctx)?;
    let mut results: Vec<Vec<Value>> = vec![Vec::with_capacity(calls.len()); rows.len()];
    // Rows come out in the order of the first window that sorts, as PostgreSQL's do (it
    // computes that window last): clients read `row_number() OVER (ORDER BY ...)` in order.
    let mut output_order = None;
    for call in calls {
        let (values, order) = compute(call, &rows, ctx)?;
        for (row, v) in results.iter_mut().zip(values) {
            row.push(v);
        }
        let sorts = !call.partition_by.is_empty() || !call.order_by.is_empty();
        if sorts && output_order.is_none() {
            output_order = Some(order);
        }
    }
    let mut rows: Vec<Option<Row>> = rows
        .into_iter()
        .zip(results)
        .map(|(mut row, extra)| {
            row.extend(extra);
            Some(row)
        })
        .collect();
    let order = output_order.unwrap_or_else(|| (0..rows.len()).collect());
    Ok(Box::new(order.into_iter().map(move |i| {
        rows[i].take().ok_or_else(|| errinput!(INTERNAL_ERROR, "window row emitted twice"))
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

/// One value per input row, in input order, and the rows' positions in window order.
fn compute(call: &WindowCall, rows: &[Row], ctx: &ExecCtx) -> Result<(Vec<Value>, Vec<usize>)> {
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
    Ok((out, order))
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
    let groups = call.frame.units == FrameUnits::Groups;
    let peers = Peers::new(peer_first, peer_last, orders, partition, groups);
    let (peer_first, peer_last) = (&peers.first, &peers.last);
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
                let (lo, hi) = frame(call, p, &peers, rows, ctx)?;
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
                    let (_, hi) = frame(call, p, &peers, rows, ctx)?;
                    while fed <= hi {
                        feed(&mut acc, fed)?;
                        fed += 1;
                    }
                    out.push(acc.clone().finish(function, &call.return_type, ctx)?);
                }
            } else {
                for p in 0..n {
                    let (lo, hi) = frame(call, p, &peers, rows, ctx)?;
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

/// A partition's peer groups (rows with equal ORDER BY keys), for frames.
struct Peers<'a> {
    /// Per position: the first and last position of its peer group.
    first: Vec<usize>,
    last: Vec<usize>,
    /// Per position: the number of its peer group; and each group's first position.
    group_of: Vec<usize>,
    starts: Vec<usize>,
    /// The ORDER BY keys of each row (by row index) and the partition (row indexes in
    /// window order).
    orders: &'a [Vec<Value>],
    partition: &'a [usize],
}

impl<'a> Peers<'a> {
    /// `groups`: number the peer groups too (only GROUPS frames need them).
    fn new(
        first: Vec<usize>,
        last: Vec<usize>,
        orders: &'a [Vec<Value>],
        partition: &'a [usize],
        groups: bool,
    ) -> Self {
        let mut group_of = Vec::new();
        let mut starts = Vec::new();
        if groups {
            group_of.reserve(first.len());
            for (p, &f) in first.iter().enumerate() {
                if f == p {
                    starts.push(p);
                }
                group_of.push(starts.len() - 1);
            }
        }
        Peers { first, last, group_of, starts, orders, partition }
    }

    fn len(&self) -> usize {
        self.first.len()
    }

    /// The first ORDER BY key of the row at position `p`.
    fn key(&self, p: usize) -> &Value {
        &self.orders[self.partition[p]][0]
    }

    /// The positions whose first key is not null (nulls sort together at one end).
    fn non_null(&self) -> (usize, usize) {
        let n = self.len();
        let lo = (0..n).find(|&q| !self.key(q).is_null()).unwrap_or(n);
        let hi = (lo..n).find(|&q| self.key(q).is_null()).unwrap_or(n);
        (lo, hi)
    }

    /// The first position in `lo..hi` where `pred` turns false (keys are sorted so that
    /// `pred` holds on a prefix).
    fn partition_point(
        &self,
        (mut lo, mut hi): (usize, usize),
        pred: impl Fn(&Value) -> Result<bool>,
    ) -> Result<usize> {
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if pred(self.key(mid))? {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        Ok(lo)
    }
}

/// The frame of the row at position `p`: inclusive positions `(lo, hi)`; empty when lo > hi.
fn frame(
    call: &WindowCall,
    p: usize,
    peers: &Peers,
    rows: &[Row],
    ctx: &ExecCtx,
) -> Result<(usize, usize)> {
    let n = peers.len();
    let offset = |e: &crate::plan::Expr| -> Result<Value> {
        let v = eval(e, &rows[peers.partition[p]], ctx)?;
        let negative = match &v {
            Value::Null => true,
            Value::Interval(i) => i.months < 0 || i.days < 0 || i.micros < 0,
            v => compare(v, &Value::Int8(0))? == Ordering::Less,
        };
        if negative {
            return Err(errinput!(
                INVALID_PRECEDING_OR_FOLLOWING_SIZE,
                "frame starting or ending offset must not be null or negative"
            ));
        }
        Ok(v)
    };
    let units = call.frame.units;
    let position = |b: &FrameBound, start: bool| -> Result<i64> {
        let peer_edge = |q: usize| if start { peers.first[q] } else { peers.last[q] } as i64;
        Ok(match b {
            FrameBound::UnboundedPreceding => 0,
            FrameBound::UnboundedFollowing => n as i64 - 1,
            FrameBound::CurrentRow if units == FrameUnits::Rows => p as i64,
            FrameBound::CurrentRow => peer_edge(p),
            FrameBound::Preceding(e) | FrameBound::Following(e) => {
                let following = matches!(b, FrameBound::Following(_));
                match units {
                    FrameUnits::Rows => {
                        let k = as_i64(&offset(e)?);
                        if following { p as i64 + k } else { p as i64 - k }
                    }
                    FrameUnits::Groups => {
                        let k = as_i64(&offset(e)?);
                        let g = peers.group_of[p] as i64 + if following { k } else { -k };
                        if g < 0 {
                            if start { 0 } else { -1 }
                        } else if g as usize >= peers.starts.len() {
                            if start { n as i64 } else { n as i64 - 1 }
                        } else {
                            let first = peers.starts[g as usize];
                            if start { first as i64 } else { peers.last[first] as i64 }
                        }
                    }
                    FrameUnits::Range => {
                        range_position(call, p, peers, &offset(e)?, following, start, ctx)?
                    }
                }
            }
        })
    };
    let lo = position(&call.frame.start, true)?.max(0);
    let hi = position(&call.frame.end, false)?.min(n as i64 - 1);
    if hi < lo {
        return Ok((1, 0));
    }
    Ok((lo as usize, hi as usize))
}

/// A RANGE bound `offset PRECEDING/FOLLOWING`: the first (for a frame start) or last (for an
/// end) row whose key lies within `offset` of the current row's key, in ORDER BY direction.
/// Rows with a null key have only their peers (the other nulls) within any offset.
fn range_position(
    call: &WindowCall,
    p: usize,
    peers: &Peers,
    offset: &Value,
    following: bool,
    start: bool,
    ctx: &ExecCtx,
) -> Result<i64> {
    let key = peers.key(p);
    if key.is_null() {
        return Ok(if start { peers.first[p] } else { peers.last[p] } as i64);
    }
    let descending = call.order_by[0].descending;
    // "Following" moves toward larger keys when ascending, smaller ones when descending.
    let larger = following != descending;
    let target = if larger {
        arith::add(key, offset, ctx.zone())?
    } else {
        arith::sub(key, offset, ctx.zone())?
    };
    let range = peers.non_null();
    // Keys run ascending (or descending) over `range`: count the rows before the bound.
    let before = |k: &Value| -> Result<bool> {
        let ord = compare(k, &target)?;
        Ok(match (descending, start) {
            (false, true) => ord == Ordering::Less,
            (false, false) => ord != Ordering::Greater,
            (true, true) => ord == Ordering::Greater,
            (true, false) => ord != Ordering::Less,
        })
    };
    let point = peers.partition_point(range, before)? as i64;
    Ok(if start { point } else { point - 1 })
}
