//! Hash aggregation, with DISTINCT, FILTER, ordered aggregates and grouping sets.

use std::collections::{HashMap, HashSet};

use oxibase_common::{Result, Value, errinput};

use super::eval::{eval, eval_condition};
use super::{ExecCtx, Row, Rows, execute};
use crate::functions::aggregate::{Accumulator, AggregateFunction};
use crate::plan::{AggregateCall, Node, Plan};
use crate::types::compare::group_key;

struct Group {
    values: Vec<Value>,
    set: usize,
    accumulators: Vec<Accumulator>,
    seen: Vec<HashSet<Vec<u8>>>,
    /// For aggregates with ORDER BY: (sort keys, arguments), sorted at the end.
    ordered: Vec<Vec<(Vec<Value>, Vec<Value>)>>,
}

impl Group {
    fn new(values: Vec<Value>, set: usize, aggregates: &[AggregateCall]) -> Self {
        Group {
            values,
            set,
            accumulators: aggregates
                .iter()
                .map(|a| Accumulator::new(a.function, a.arg_types.first()))
                .collect(),
            seen: vec![HashSet::new(); aggregates.len()],
            ordered: vec![Vec::new(); aggregates.len()],
        }
    }
}

/// Runs an Aggregate node.
pub fn aggregate<'a>(plan: &'a Plan, ctx: &'a ExecCtx<'a>) -> Result<Rows<'a>> {
    let Node::Aggregate { input, group_by, grouping_sets, aggregates } = &plan.node else {
        return Err(errinput!(INTERNAL_ERROR, "not an aggregate"));
    };
    let all: Vec<usize> = (0..group_by.len()).collect();
    let sets: Vec<Vec<usize>> = grouping_sets.clone().unwrap_or_else(|| vec![all]);
    let mut groups: Vec<Group> = Vec::new();
    let mut index: HashMap<Vec<u8>, usize> = HashMap::new();
    // Without GROUP BY or grouping sets every row goes to the one group: no key to hash.
    let single = group_by.is_empty() && sets.len() == 1;
    // Buffers reused from row to row: the group key, and an aggregate's arguments.
    let mut key = Vec::new();
    let mut args = Vec::new();
    for (n, row) in execute(input, ctx)?.enumerate() {
        if n % 4096 == 4095 {
            crate::functions::FunctionEnv::check_interrupt(ctx)?;
        }
        let row = row?;
        if single {
            if groups.is_empty() {
                groups.push(Group::new(Vec::new(), 0, aggregates));
            }
            accumulate(&mut groups[0], aggregates, &row, &mut args, ctx)?;
            continue;
        }
        let values = group_by.iter().map(|e| eval(e, &row, ctx)).collect::<Result<Vec<_>>>()?;
        for (s, set) in sets.iter().enumerate() {
            let masked = |values: &[Value]| -> Vec<Value> {
                values
                    .iter()
                    .enumerate()
                    .map(|(i, v)| if set.contains(&i) { v.clone() } else { Value::Null })
                    .collect()
            };
            let whole = set.len() == values.len();
            key.clear();
            key.extend_from_slice(&(s as u32).to_be_bytes());
            if whole {
                group_key(&values, &mut key)?;
            } else {
                group_key(&masked(&values), &mut key)?;
            }
            let g = match index.get(key.as_slice()) {
                Some(&g) => g,
                None => {
                    groups.push(Group::new(masked(&values), s, aggregates));
                    index.insert(key.clone(), groups.len() - 1);
                    groups.len() - 1
                }
            };
            accumulate(&mut groups[g], aggregates, &row, &mut args, ctx)?;
        }
    }
    // Without GROUP BY, an empty input still yields one row; so does an empty grouping set.
    for (s, set) in sets.iter().enumerate() {
        if set.is_empty() && !groups.iter().any(|g| g.set == s) {
            groups.push(Group::new(vec![Value::Null; group_by.len()], s, aggregates));
        }
    }
    let with_sets = grouping_sets.is_some();
    let rows = groups
        .into_iter()
        .map(|g| finish(g, aggregates, &sets, with_sets, group_by.len(), ctx))
        .collect::<Result<Vec<Row>>>()?;
    Ok(Box::new(rows.into_iter().map(Ok)))
}

fn accumulate(
    group: &mut Group,
    aggregates: &[AggregateCall],
    row: &Row,
    args: &mut Vec<Value>,
    ctx: &ExecCtx,
) -> Result<()> {
    for (i, agg) in aggregates.iter().enumerate() {
        if let Some(f) = &agg.filter
            && !eval_condition(f, row, ctx)?
        {
            continue;
        }
        args.clear();
        for e in &agg.args {
            args.push(eval(e, row, ctx)?);
        }
        if agg.distinct {
            if args.first().is_some_and(Value::is_null) {
                continue;
            }
            let mut key = Vec::new();
            group_key(args, &mut key)?;
            if !group.seen[i].insert(key) {
                continue;
            }
        }
        if agg.distinct && agg.order_by.is_empty() && order_sensitive(agg.function) {
            // PostgreSQL feeds a DISTINCT aggregate its values sorted (string_agg(DISTINCT x)
            // lists them in order), so they are buffered and sorted by the arguments.
            group.ordered[i].push((args.clone(), std::mem::take(args)));
        } else if agg.order_by.is_empty() {
            group.accumulators[i].update(agg.function, args, ctx)?;
        } else {
            let keys =
                agg.order_by.iter().map(|k| eval(&k.expr, row, ctx)).collect::<Result<Vec<_>>>()?;
            group.ordered[i].push((keys, std::mem::take(args)));
        }
    }
    Ok(())
}

fn finish(
    mut group: Group,
    aggregates: &[AggregateCall],
    sets: &[Vec<usize>],
    with_sets: bool,
    width: usize,
    ctx: &ExecCtx,
) -> Result<Row> {
    let mut row = group.values;
    if with_sets {
        // GROUPING(): one bit per group-by expression left out of this set, the first
        // expression the most significant.
        let set = &sets[group.set];
        let bits = (0..width).fold(0i64, |acc, i| (acc << 1) | i64::from(!set.contains(&i)));
        row.push(Value::Int8(bits));
    }
    for (i, agg) in aggregates.iter().enumerate() {
        let mut buffered = std::mem::take(&mut group.ordered[i]);
        if !buffered.is_empty() {
            buffered.sort_by(|(a, _), (b, _)| {
                if agg.order_by.is_empty() {
                    // DISTINCT without ORDER BY: ascending on the arguments.
                    for (x, y) in a.iter().zip(b) {
                        let ord = crate::types::compare::sort_cmp(x, y, false, false);
                        if ord.is_ne() {
                            return ord;
                        }
                    }
                    return std::cmp::Ordering::Equal;
                }
                for ((x, y), k) in a.iter().zip(b).zip(&agg.order_by) {
                    let ord = crate::types::compare::sort_cmp(x, y, k.descending, k.nulls_first);
                    if ord.is_ne() {
                        return ord;
                    }
                }
                std::cmp::Ordering::Equal
            });
            for (_, args) in buffered {
                group.accumulators[i].update(agg.function, &args, ctx)?;
            }
        }
    }
    for (acc, agg) in group.accumulators.into_iter().zip(aggregates) {
        row.push(acc.finish(agg.function, &agg.return_type, ctx)?);
    }
    Ok(row)
}

/// Aggregates whose result depends on the order of their input.
fn order_sensitive(function: AggregateFunction) -> bool {
    use AggregateFunction::*;
    matches!(
        function,
        StringAgg | ArrayAgg | JsonAgg | JsonAggRows | JsonbAgg | JsonObjectAgg | JsonbObjectAgg
    )
}
