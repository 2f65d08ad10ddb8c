//! Joins: nested loops (any condition, LATERAL) and hash joins (equality keys).

use std::collections::HashMap;

use oxibase_common::{Result, Value, errinput};

use super::eval::{eval, eval_condition};
use super::{ExecCtx, Row, Rows, collect, execute};
use crate::plan::{Expr, JoinKind, Node, Plan};
use crate::types::compare::group_key;

/// Runs a join node.
pub fn join<'a>(plan: &'a Plan, ctx: &'a ExecCtx<'a>) -> Result<Rows<'a>> {
    match &plan.node {
        Node::NestedLoopJoin { left, right, kind, predicate, lateral } => {
            let lateral = *lateral || matches!(right.node, Node::Lateral { .. });
            nested_loop(left, right, *kind, predicate.as_ref(), lateral, ctx)
        }
        Node::HashJoin { left, right, kind, left_keys, right_keys, residual } => {
            hash_join(left, right, *kind, left_keys, right_keys, residual.as_ref(), ctx)
        }
        _ => Err(errinput!(INTERNAL_ERROR, "not a join")),
    }
}

/// What a left row gives once its matches are known: itself padded with NULLs (LEFT, FULL
/// without a match), itself alone (SEMI with one, ANTI without), or nothing more.
fn emit_left(kind: JoinKind, matched: bool, left_row: Row, right_width: usize, out: &mut Vec<Row>) {
    match kind {
        JoinKind::Left | JoinKind::Full if !matched => {
            out.push(combine(&left_row, &nulls(right_width)))
        }
        JoinKind::Semi if matched => out.push(left_row),
        JoinKind::Anti if !matched => out.push(left_row),
        _ => {}
    }
}

fn nulls(n: usize) -> Row {
    vec![Value::Null; n]
}

fn combine(left: &Row, right: &Row) -> Row {
    let mut row = Vec::with_capacity(left.len() + right.len());
    row.extend_from_slice(left);
    row.extend_from_slice(right);
    row
}

fn nested_loop<'a>(
    left: &'a Plan,
    right: &'a Plan,
    kind: JoinKind,
    predicate: Option<&'a Expr>,
    lateral: bool,
    ctx: &'a ExecCtx<'a>,
) -> Result<Rows<'a>> {
    let right_width = right.columns.len();
    let left_width = left.columns.len();
    let static_right = if lateral { None } else { Some(collect(execute(right, ctx)?, ctx)?) };
    let mut right_matched = vec![false; static_right.as_ref().map_or(0, Vec::len)];
    let left_rows = execute(left, ctx)?;
    let per_left = move |left_row: Row, right_matched: &mut Vec<bool>| -> Result<Vec<Row>> {
        let fresh;
        let rights: &[Row] = match &static_right {
            Some(rows) => rows,
            None => {
                fresh = ctx.with_outer(left_row.clone(), || collect(execute(right, ctx)?, ctx))?;
                &fresh
            }
        };
        let mut out = Vec::new();
        let mut matched = false;
        for (i, right_row) in rights.iter().enumerate() {
            let row = combine(&left_row, right_row);
            let ok = match predicate {
                Some(p) => eval_condition(p, &row, ctx)?,
                None => true,
            };
            if !ok {
                continue;
            }
            matched = true;
            if let Some(m) = right_matched.get_mut(i) {
                *m = true;
            }
            match kind {
                JoinKind::Semi | JoinKind::Anti => break,
                _ => out.push(row),
            }
        }
        emit_left(kind, matched, left_row, right_width, &mut out);
        Ok(out)
    };
    if matches!(kind, JoinKind::Right | JoinKind::Full) {
        if lateral {
            return Err(errinput!(
                FEATURE_NOT_SUPPORTED,
                "RIGHT and FULL joins with LATERAL are not supported"
            ));
        }
        let mut out = Vec::new();
        for left_row in left_rows {
            out.extend(per_left(left_row?, &mut right_matched)?);
        }
        let Some(rights) = collect_unmatched(right, &right_matched, ctx)? else {
            return Ok(Box::new(out.into_iter().map(Ok)));
        };
        out.extend(rights.into_iter().map(|r| combine(&nulls(left_width), &r)));
        return Ok(Box::new(out.into_iter().map(Ok)));
    }
    let mut scratch = Vec::new();
    Ok(Box::new(left_rows.flat_map(move |left_row| -> Box<dyn Iterator<Item = Result<Row>>> {
        match left_row.and_then(|l| per_left(l, &mut scratch)) {
            Ok(rows) => Box::new(rows.into_iter().map(Ok)),
            Err(e) => Box::new(std::iter::once(Err(e))),
        }
    })))
}

/// The right rows no left row matched (re-reading the static right side).
fn collect_unmatched(right: &Plan, matched: &[bool], ctx: &ExecCtx) -> Result<Option<Vec<Row>>> {
    let rows = collect(execute(right, ctx)?, ctx)?;
    Ok(Some(rows.into_iter().zip(matched).filter(|(_, m)| !**m).map(|(r, _)| r).collect()))
}

fn keys_of(row: &Row, exprs: &[Expr], ctx: &ExecCtx) -> Result<Option<Vec<u8>>> {
    let values = exprs.iter().map(|e| eval(e, row, ctx)).collect::<Result<Vec<_>>>()?;
    if values.iter().any(Value::is_null) {
        return Ok(None); // NULL never equals anything
    }
    let mut key = Vec::new();
    group_key(&values, &mut key)?;
    Ok(Some(key))
}

#[allow(clippy::too_many_arguments)]
fn hash_join<'a>(
    left: &'a Plan,
    right: &'a Plan,
    kind: JoinKind,
    left_keys: &'a [Expr],
    right_keys: &'a [Expr],
    residual: Option<&'a Expr>,
    ctx: &'a ExecCtx<'a>,
) -> Result<Rows<'a>> {
    let right_rows = collect(execute(right, ctx)?, ctx)?;
    let mut table: HashMap<Vec<u8>, Vec<usize>> = HashMap::new();
    for (i, row) in right_rows.iter().enumerate() {
        if let Some(key) = keys_of(row, right_keys, ctx)? {
            table.entry(key).or_default().push(i);
        }
    }
    let (left_width, right_width) = (left.columns.len(), right.columns.len());
    let mut right_matched = vec![false; right_rows.len()];
    let mut out_all = Vec::new();
    let track = matches!(kind, JoinKind::Right | JoinKind::Full);
    let right_rows = std::rc::Rc::new(right_rows);
    let probe_rows = right_rows.clone();
    let probe = move |left_row: Row, right_matched: &mut [bool]| -> Result<Vec<Row>> {
        let right_rows = &probe_rows;
        let mut out = Vec::new();
        let mut matched = false;
        if let Some(key) = keys_of(&left_row, left_keys, ctx)?
            && let Some(candidates) = table.get(&key)
        {
            for &i in candidates {
                let row = combine(&left_row, &right_rows[i]);
                if let Some(r) = residual
                    && !eval_condition(r, &row, ctx)?
                {
                    continue;
                }
                matched = true;
                right_matched[i] = true;
                match kind {
                    JoinKind::Semi | JoinKind::Anti => break,
                    _ => out.push(row),
                }
            }
        }
        emit_left(kind, matched, left_row, right_width, &mut out);
        Ok(out)
    };
    let left_rows = execute(left, ctx)?;
    if track {
        for left_row in left_rows {
            out_all.extend(probe(left_row?, &mut right_matched)?);
        }
        for (i, m) in right_matched.iter().enumerate() {
            if !m {
                out_all.push(combine(&nulls(left_width), &right_rows[i]));
            }
        }
        return Ok(Box::new(out_all.into_iter().map(Ok)));
    }
    let mut scratch = vec![false; right_rows.len()];
    let probe = std::cell::RefCell::new(probe);
    Ok(Box::new(left_rows.flat_map(move |left_row| -> Box<dyn Iterator<Item = Result<Row>>> {
        match left_row.and_then(|l| (probe.borrow_mut())(l, &mut scratch)) {
            Ok(rows) => Box::new(rows.into_iter().map(Ok)),
            Err(e) => Box::new(std::iter::once(Err(e))),
        }
    })))
}
