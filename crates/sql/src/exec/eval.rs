//! Evaluating bound expressions against a row, with SQL's three-valued logic.

use std::cmp::Ordering;
use std::rc::Rc;

use oxibase_common::{Array, Result, Value, errinput};

use super::{ExecCtx, Row, cached, collect, execute};
use crate::functions::FunctionEnv;
use crate::plan::{BinOp, CmpOp, Expr, SubqueryKind};
use crate::types::cast::{CastKind, cast};
use crate::types::compare::{as_i64, compare};
use crate::types::{arith, json_ops};

/// Evaluates an expression.
pub fn eval(expr: &Expr, row: &[Value], ctx: &ExecCtx) -> Result<Value> {
    Ok(match expr {
        Expr::Literal(v) => v.clone(),
        Expr::KeySet(set) => eval(set, row, ctx)?,
        Expr::Column(i) => row
            .get(*i)
            .cloned()
            .ok_or_else(|| errinput!(INTERNAL_ERROR, "column {i} out of range"))?,
        Expr::Outer { depth, index } => {
            let outer = ctx.outer.borrow();
            let level = outer
                .len()
                .checked_sub(depth + 1)
                .ok_or_else(|| errinput!(INTERNAL_ERROR, "outer reference out of range"))?;
            outer[level].get(*index).cloned().unwrap_or(Value::Null)
        }
        Expr::Param(i) => ctx.params.get(*i).cloned().ok_or_else(|| {
            errinput!(UNDEFINED_PARAMETER, "there is no parameter ${}", i + 1)
                .with_detail(format!("{} parameters were bound", ctx.params.len()))
        })?,
        Expr::Not(e) => match eval(e, row, ctx)? {
            Value::Bool(b) => Value::Bool(!b),
            _ => Value::Null,
        },
        Expr::Negate(e) => match eval(e, row, ctx)? {
            Value::Null => Value::Null,
            v => arith::neg(&v)?,
        },
        Expr::And(a, b) => match eval(a, row, ctx)? {
            Value::Bool(false) => Value::Bool(false),
            left => match (left, eval(b, row, ctx)?) {
                (_, Value::Bool(false)) => Value::Bool(false),
                (Value::Bool(true), Value::Bool(true)) => Value::Bool(true),
                _ => Value::Null,
            },
        },
        Expr::Or(a, b) => match eval(a, row, ctx)? {
            Value::Bool(true) => Value::Bool(true),
            left => match (left, eval(b, row, ctx)?) {
                (_, Value::Bool(true)) => Value::Bool(true),
                (Value::Bool(false), Value::Bool(false)) => Value::Bool(false),
                _ => Value::Null,
            },
        },
        Expr::Compare(op, a, b) => {
            let (x, y) = (eval(a, row, ctx)?, eval(b, row, ctx)?);
            if x.is_null() || y.is_null() {
                return Ok(Value::Null);
            }
            Value::Bool(compare_op(*op, &x, &y)?)
        }
        Expr::Binary(op, a, b) => {
            let (x, y) = (eval(a, row, ctx)?, eval(b, row, ctx)?);
            binary(*op, &x, &y, ctx)?
        }
        // A record IS NULL when every field is, IS NOT NULL when none is.
        Expr::IsNull(e, negated) => Value::Bool(match eval(e, row, ctx)? {
            Value::Record(fields) => fields.iter().all(|f| f.is_null() != *negated),
            v => v.is_null() != *negated,
        }),
        Expr::IsBool(e, value, negated) => {
            let v = eval(e, row, ctx)?;
            let is = match (value, &v) {
                (None, Value::Null) => true,
                (Some(b), Value::Bool(x)) => b == x,
                _ => false,
            };
            Value::Bool(is != *negated)
        }
        Expr::IsDistinct(a, b, negated) => {
            let (x, y) = (eval(a, row, ctx)?, eval(b, row, ctx)?);
            let same = match (x.is_null(), y.is_null()) {
                (true, true) => true,
                (false, false) => compare(&x, &y)? == Ordering::Equal,
                _ => false,
            };
            Value::Bool(same == *negated)
        }
        Expr::Like { expr, pattern, escape, case_insensitive, negated } => {
            let (x, p) = (eval(expr, row, ctx)?, eval(pattern, row, ctx)?);
            let esc = match escape {
                Some(e) => match eval(e, row, ctx)? {
                    Value::Null => return Ok(Value::Null),
                    Value::Text(s) => s.chars().next(),
                    _ => None,
                },
                None => Some('\\'),
            };
            match (x, p) {
                (Value::Text(s), Value::Text(p)) => {
                    Value::Bool(like(&s, &p, esc, *case_insensitive)? != *negated)
                }
                _ => Value::Null,
            }
        }
        Expr::Similar { expr, pattern, escape, negated } => {
            let (x, p) = (eval(expr, row, ctx)?, eval(pattern, row, ctx)?);
            let esc = match escape {
                Some(e) => match eval(e, row, ctx)? {
                    Value::Text(s) => s.chars().next(),
                    _ => return Ok(Value::Null),
                },
                None => Some('\\'),
            };
            match (x, p) {
                (Value::Text(s), Value::Text(p)) => {
                    let re = crate::functions::string::regex(&similar_to_regex(&p, esc), false)?;
                    Value::Bool(re.is_match(&s) != *negated)
                }
                _ => Value::Null,
            }
        }
        Expr::Regex { expr, pattern, case_insensitive, negated } => {
            match (eval(expr, row, ctx)?, eval(pattern, row, ctx)?) {
                (Value::Text(s), Value::Text(p)) => Value::Bool(
                    crate::functions::string::regex(&p, *case_insensitive)?.is_match(&s)
                        != *negated,
                ),
                _ => Value::Null,
            }
        }
        Expr::InList { expr, list, negated } => {
            let x = eval(expr, row, ctx)?;
            let items = list.iter().map(|e| eval(e, row, ctx));
            negate(in_values(&x, items)?, *negated)
        }
        Expr::ArrayCompare { expr, op, array, all } => {
            let x = eval(expr, row, ctx)?;
            // `x = ANY (ARRAY(SELECT ...))` is `x IN (SELECT ...)`: the same hashed set, not
            // the array copied and walked for every row.
            if let (
                CmpOp::Eq,
                false,
                Expr::Subquery { plan, kind: SubqueryKind::Array, correlated: false, id },
            ) = (op, *all, &**array)
            {
                return value_set(*id, plan, ctx)?.contains(&x);
            }
            match eval(array, row, ctx)? {
                Value::Array(a) => quantified(&x, *op, a.elements.into_iter().map(Ok), *all)?,
                _ => Value::Null,
            }
        }
        Expr::Case { operand: _, whens, otherwise } => {
            for (condition, result) in whens {
                if matches!(eval(condition, row, ctx)?, Value::Bool(true)) {
                    return eval(result, row, ctx);
                }
            }
            match otherwise {
                Some(e) => eval(e, row, ctx)?,
                None => Value::Null,
            }
        }
        Expr::Cast(e, ty) => cast(eval(e, row, ctx)?, ty, CastKind::Explicit, ctx.zone())?,
        Expr::AssignCast(e, ty) => cast(eval(e, row, ctx)?, ty, CastKind::Assignment, ctx.zone())?,
        Expr::Domain(e, domain) => {
            let v = eval(e, row, ctx)?;
            super::storage::check_domain(ctx, domain, &v)?;
            v
        }
        Expr::Call(f, args) => {
            let values = args.iter().map(|a| eval(a, row, ctx)).collect::<Result<Vec<_>>>()?;
            if f.strict && values.iter().any(Value::is_null) {
                return Ok(Value::Null);
            }
            (f.eval)(&values, ctx)?
        }
        Expr::Routine(routine, args) => {
            let values = args.iter().map(|a| eval(a, row, ctx)).collect::<Result<Vec<_>>>()?;
            if routine.strict && values.iter().any(Value::is_null) {
                return Ok(Value::Null);
            }
            match ctx.session.call_routine(routine, &values)? {
                crate::procedure::CallResult::Value(v) => v,
                // OUT parameters: the value of one, a record of several.
                crate::procedure::CallResult::Rows(rows)
                    if matches!(&routine.returns, crate::procedure::Returns::Out(_)) =>
                {
                    match rows.into_iter().next() {
                        Some(row) if row.len() == 1 => {
                            row.into_iter().next().unwrap_or(Value::Null)
                        }
                        Some(row) => Value::Record(Box::new(row)),
                        None => Value::Null,
                    }
                }
                crate::procedure::CallResult::Rows(_) => {
                    return Err(errinput!(
                        FEATURE_NOT_SUPPORTED,
                        "set-returning function {}() is only supported in FROM",
                        routine.name
                    ));
                }
            }
        }
        Expr::Coalesce(items) => {
            for item in items {
                let v = eval(item, row, ctx)?;
                if !v.is_null() {
                    return Ok(v);
                }
            }
            Value::Null
        }
        Expr::NullIf(a, b) => {
            let (x, y) = (eval(a, row, ctx)?, eval(b, row, ctx)?);
            if !x.is_null() && !y.is_null() && compare(&x, &y)? == Ordering::Equal {
                Value::Null
            } else {
                x
            }
        }
        Expr::Extreme(items, greatest) => {
            let mut best = Value::Null;
            for item in items {
                let v = eval(item, row, ctx)?;
                if v.is_null() {
                    continue;
                }
                let better = best.is_null() || {
                    let ord = compare(&v, &best)?;
                    if *greatest { ord == Ordering::Greater } else { ord == Ordering::Less }
                };
                if better {
                    best = v;
                }
            }
            best
        }
        Expr::Array(items, element_type) => Value::Array(Box::new(Array {
            element_type: element_type.clone(),
            elements: items.iter().map(|e| eval(e, row, ctx)).collect::<Result<_>>()?,
        })),
        Expr::Subscript(a, i) => match (eval(a, row, ctx)?, eval(i, row, ctx)?) {
            (Value::Array(arr), i) if !i.is_null() => {
                let i = as_i64(&i);
                usize::try_from(i - 1)
                    .ok()
                    .and_then(|i| arr.elements.get(i).cloned())
                    .unwrap_or(Value::Null)
            }
            _ => Value::Null,
        },
        Expr::Row(fields, null) => {
            if let crate::plan::RowNull::Key(k) = null
                && eval(&fields[*k], row, ctx)?.is_null()
            {
                return Ok(Value::Null);
            }
            let values: Vec<Value> =
                fields.iter().map(|e| eval(e, row, ctx)).collect::<Result<_>>()?;
            if *null == crate::plan::RowNull::AllNull && values.iter().all(Value::is_null) {
                return Ok(Value::Null);
            }
            Value::Record(Box::new(values))
        }
        Expr::Field(e, i) => match eval(e, row, ctx)? {
            Value::Record(mut fields) if *i < fields.len() => fields.swap_remove(*i),
            _ => Value::Null,
        },
        Expr::Subquery { plan, kind, correlated, id } => {
            subquery(plan, kind, *correlated, *id, row, ctx)?
        }
    })
}

/// Evaluates a condition: NULL counts as false.
pub fn eval_condition(expr: &Expr, row: &[Value], ctx: &ExecCtx) -> Result<bool> {
    Ok(matches!(eval(expr, row, ctx)?, Value::Bool(true)))
}

fn negate(v: Value, negated: bool) -> Value {
    match (v, negated) {
        (Value::Bool(b), true) => Value::Bool(!b),
        (v, _) => v,
    }
}

/// A comparison of two non-NULL values.
pub fn compare_op(op: CmpOp, x: &Value, y: &Value) -> Result<bool> {
    Ok(op.holds(compare(x, y)?))
}

/// `x IN (items)` with SQL's NULL rules: true on a match, NULL if nothing matched but
/// something was NULL, false otherwise.
fn in_values(x: &Value, items: impl Iterator<Item = Result<Value>>) -> Result<Value> {
    quantified(x, CmpOp::Eq, items, false)
}

/// `x op ANY (...)` / `x op ALL (...)`.
fn quantified(
    x: &Value,
    op: CmpOp,
    items: impl Iterator<Item = Result<Value>>,
    all: bool,
) -> Result<Value> {
    // NB: an empty set decides without looking at x: `NULL IN (empty)` is false.
    let mut saw_null = false;
    let mut any = false;
    for item in items {
        let item = item?;
        if item.is_null() || x.is_null() {
            saw_null = true;
            continue;
        }
        let holds = compare_op(op, x, &item)?;
        if all && !holds {
            return Ok(Value::Bool(false));
        }
        if !all && holds {
            return Ok(Value::Bool(true));
        }
        any = true;
    }
    let _ = any;
    Ok(if saw_null { Value::Null } else { Value::Bool(all) })
}

fn binary(op: BinOp, x: &Value, y: &Value, ctx: &ExecCtx) -> Result<Value> {
    if x.is_null() || y.is_null() {
        // NB: || with a NULL operand is NULL in PostgreSQL too (concat() skips NULLs).
        return Ok(Value::Null);
    }
    let zone = ctx.zone();
    Ok(match op {
        BinOp::Add => arith::add(x, y, zone)?,
        BinOp::Sub => arith::sub(x, y, zone)?,
        BinOp::Mul => arith::mul(x, y)?,
        BinOp::Div => arith::div(x, y)?,
        BinOp::Mod => arith::rem(x, y)?,
        BinOp::Pow => crate::functions::numeric_math::power(&[x.clone(), y.clone()])?,
        BinOp::Concat => arith::concat(x, y, zone)?,
        BinOp::BitAnd | BinOp::BitOr | BinOp::BitXor | BinOp::ShiftLeft | BinOp::ShiftRight => {
            let (a, b) = (as_i64(x), as_i64(y));
            let r = match op {
                BinOp::BitAnd => a & b,
                BinOp::BitOr => a | b,
                BinOp::BitXor => a ^ b,
                BinOp::ShiftLeft => a.wrapping_shl(b as u32),
                _ => a.wrapping_shr(b as u32),
            };
            cast(Value::Int8(r), &crate::functions::misc::value_type(x), CastKind::Explicit, zone)
                .unwrap_or(Value::Int8(r))
        }
        BinOp::JsonGet => json_ops::get(x, y, false)?,
        BinOp::JsonGetText => json_ops::get(x, y, true)?,
        BinOp::JsonPath => json_ops::get_path(x, y, false)?,
        BinOp::JsonPathText => json_ops::get_path(x, y, true)?,
        BinOp::Contains | BinOp::ContainedBy => {
            let (a, b) = if op == BinOp::Contains { (x, y) } else { (y, x) };
            Value::Bool(match (a, b) {
                (Value::Array(a), Value::Array(b)) => b.elements.iter().all(|e| {
                    a.elements.iter().any(|x| {
                        !e.is_null()
                            && !x.is_null()
                            && compare(x, e).is_ok_and(|o| o == Ordering::Equal)
                    })
                }),
                _ => json_ops::contains(a, b)?,
            })
        }
        BinOp::JsonExists => Value::Bool(json_ops::exists(x, crate::functions::scalar::text(y))?),
        BinOp::JsonExistsAny | BinOp::JsonExistsAll => {
            let Value::Array(keys) = y else { return Ok(Value::Null) };
            let mut hits = keys
                .elements
                .iter()
                .filter(|k| !k.is_null())
                .map(|k| json_ops::exists(x, crate::functions::scalar::text(k)));
            let result = if op == BinOp::JsonExistsAny {
                hits.try_fold(false, |acc, h| h.map(|h| acc || h))?
            } else {
                hits.try_fold(true, |acc, h| h.map(|h| acc && h))?
            };
            Value::Bool(result)
        }
        BinOp::Overlap => match (x, y) {
            (Value::Array(a), Value::Array(b)) => Value::Bool(a.elements.iter().any(|e| {
                !e.is_null()
                    && b.elements
                        .iter()
                        .any(|f| !f.is_null() && compare(e, f).is_ok_and(|o| o == Ordering::Equal))
            })),
            _ => Value::Null,
        },
    })
}

/// Matches LIKE patterns: `%` any run, `_` one character, `escape` quotes the next one.
pub fn like(s: &str, pattern: &str, escape: Option<char>, case_insensitive: bool) -> Result<bool> {
    let fold = |t: &str| if case_insensitive { t.to_lowercase() } else { t.to_string() };
    let s: Vec<char> = fold(s).chars().collect();
    let mut tokens = Vec::new();
    let mut chars = fold(pattern).chars().collect::<Vec<_>>().into_iter();
    while let Some(c) = chars.next() {
        if Some(c) == escape {
            let next = chars.next().ok_or_else(|| {
                errinput!(
                    INVALID_ESCAPE_SEQUENCE,
                    "LIKE pattern must not end with escape character"
                )
            })?;
            tokens.push(LikeToken::Char(next));
        } else if c == '%' {
            if tokens.last() != Some(&LikeToken::Any) {
                tokens.push(LikeToken::Any);
            }
        } else if c == '_' {
            tokens.push(LikeToken::One);
        } else {
            tokens.push(LikeToken::Char(c));
        }
    }
    Ok(like_match(&s, &tokens))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum LikeToken {
    Any,
    One,
    Char(char),
}

/// Iterative wildcard matching with backtracking to the last `%` (linear in practice).
fn like_match(s: &[char], p: &[LikeToken]) -> bool {
    let (mut i, mut j) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while i < s.len() {
        match p.get(j) {
            Some(LikeToken::Any) => {
                star = Some((j, i));
                j += 1;
            }
            Some(LikeToken::One) => {
                i += 1;
                j += 1;
            }
            Some(LikeToken::Char(c)) if *c == s[i] => {
                i += 1;
                j += 1;
            }
            _ => match star {
                Some((sj, si)) => {
                    j = sj + 1;
                    i = si + 1;
                    star = Some((sj, si + 1));
                }
                None => return false,
            },
        }
    }
    p[j..].iter().all(|t| *t == LikeToken::Any)
}

/// Translates a SIMILAR TO pattern into an anchored regular expression.
fn similar_to_regex(pattern: &str, escape: Option<char>) -> String {
    let mut out = String::from("^(?:");
    let mut chars = pattern.chars();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        if Some(c) == escape {
            if let Some(next) = chars.next() {
                out.push_str(&regex::escape(&next.to_string()));
            }
            continue;
        }
        match c {
            '%' if !in_class => out.push_str(".*"),
            '_' if !in_class => out.push('.'),
            '[' => {
                in_class = true;
                out.push('[');
            }
            ']' => {
                in_class = false;
                out.push(']');
            }
            '.' | '^' | '$' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push_str(")$");
    out
}

fn subquery(
    plan: &crate::plan::Plan,
    kind: &SubqueryKind,
    correlated: bool,
    id: usize,
    row: &[Value],
    ctx: &ExecCtx,
) -> Result<Value> {
    // The left operand of IN/ANY/ALL belongs to this row, not to the subquery.
    let probe = match kind {
        SubqueryKind::In { expr, .. }
        | SubqueryKind::Any { expr, .. }
        | SubqueryKind::All { expr, .. } => Some(eval(expr, row, ctx)?),
        _ => None,
    };
    // An uncorrelated subquery's rows are run once and shared, not copied for each row.
    let run = |limit: Option<usize>| -> Result<Rc<Vec<Row>>> {
        if !correlated {
            return cached(id, plan, ctx);
        }
        ctx.with_outer(row.to_vec(), || {
            let rows = execute(plan, ctx)?;
            Ok(Rc::new(match limit {
                Some(n) => rows.take(n).collect::<Result<_>>()?,
                None => collect(rows, ctx)?,
            }))
        })
    };
    Ok(match kind {
        SubqueryKind::Exists => Value::Bool(!run(Some(1))?.is_empty()),
        SubqueryKind::Scalar => {
            let rows = run(Some(2))?;
            if rows.len() > 1 {
                return Err(errinput!(
                    CARDINALITY_VIOLATION,
                    "more than one row returned by a subquery used as an expression"
                ));
            }
            rows.first().map_or(Value::Null, first)
        }
        SubqueryKind::Array if !correlated => {
            match &*derived((id, false), ctx, || Ok(Derived::Array(array_of(plan, &run(None)?))))? {
                Derived::Array(array) => array.clone(),
                Derived::Set(_) => return Err(errinput!(INTERNAL_ERROR, "subquery {id} reused")),
            }
        }
        SubqueryKind::Array => array_of(plan, &run(None)?),
        SubqueryKind::In { negated, .. } if !correlated => {
            let x = probe.unwrap_or(Value::Null);
            negate(value_set(id, plan, ctx)?.contains(&x)?, *negated)
        }
        SubqueryKind::In { negated, .. } => {
            let x = probe.unwrap_or(Value::Null);
            let rows = run(None)?;
            negate(in_values(&x, rows.iter().map(|r| Ok(first(r))))?, *negated)
        }
        SubqueryKind::InRow { exprs, negated } => {
            let x: Vec<Value> = exprs.iter().map(|e| eval(e, row, ctx)).collect::<Result<_>>()?;
            if !correlated {
                let set = row_set(id, plan, exprs.len(), ctx)?;
                // A row without NULLs found among rows: true without a scan.
                if let Derived::Set(set) = &*set
                    && let Some(found) = set.contains_row(&x)?
                {
                    return Ok(negate(found, *negated));
                }
            }
            negate(in_rows(&x, &run(None)?)?, *negated)
        }
        SubqueryKind::Any { op, .. } | SubqueryKind::All { op, .. } => {
            let x = probe.unwrap_or(Value::Null);
            let rows = run(None)?;
            let all = matches!(kind, SubqueryKind::All { .. });
            quantified(&x, *op, rows.iter().map(|r| Ok(first(r))), all)?
        }
    })
}

/// `(x1, x2, ...) IN (rows)`: true if a row equals `x`; else NULL if some row's comparison
/// was NULL (no pair unequal, some pair NULL); else false.
fn in_rows(x: &[Value], rows: &[Row]) -> Result<Value> {
    let mut saw_null = false;
    'rows: for r in rows {
        let mut null = false;
        for (a, b) in x.iter().zip(r.iter()) {
            if a.is_null() || b.is_null() {
                null = true;
            } else if !compare_op(CmpOp::Eq, a, b)? {
                continue 'rows;
            }
        }
        if !null {
            return Ok(Value::Bool(true));
        }
        saw_null = true;
    }
    Ok(if saw_null { Value::Null } else { Value::Bool(false) })
}

/// A row's first value (NULL for a row without columns).
fn first(r: &Row) -> Value {
    r.first().cloned().unwrap_or(Value::Null)
}

/// `ARRAY(SELECT ...)` of a subquery's rows.
fn array_of(plan: &crate::plan::Plan, rows: &[Row]) -> Value {
    let element_type =
        plan.columns.first().map_or(oxibase_common::DataType::Text, |c| c.data_type.clone());
    let elements = rows.iter().filter(|r| !r.is_empty()).map(first).collect();
    Value::Array(Box::new(Array { element_type, elements }))
}

/// What an uncorrelated subquery's rows become when a row-by-row test needs them whole.
pub enum Derived {
    /// `x IN (SELECT ...)`: the values to look `x` up in.
    Set(ValueSet),
    /// `ARRAY(SELECT ...)`: the array.
    Array(Value),
}

impl Derived {
    /// SQL's `x IN (set)` (see [`ValueSet::contains`]).
    fn contains(&self, x: &Value) -> Result<Value> {
        match self {
            Derived::Set(set) => set.contains(x),
            Derived::Array(_) => Err(errinput!(INTERNAL_ERROR, "an array used as a value set")),
        }
    }
}

/// The value set of uncorrelated subquery `id`, built on first use.
fn value_set(id: usize, plan: &crate::plan::Plan, ctx: &ExecCtx) -> Result<Rc<Derived>> {
    row_set(id, plan, 1, ctx)
}

/// The set of the first `width` values of uncorrelated subquery `id`'s rows.
fn row_set(
    id: usize,
    plan: &crate::plan::Plan,
    width: usize,
    ctx: &ExecCtx,
) -> Result<Rc<Derived>> {
    derived((id, true), ctx, || ValueSet::of(&cached(id, plan, ctx)?, width).map(Derived::Set))
}

/// The derived form of subquery `id` (as a set or not), built on first use.
fn derived(
    id: (usize, bool),
    ctx: &ExecCtx,
    build: impl FnOnce() -> Result<Derived>,
) -> Result<Rc<Derived>> {
    if let Some(d) = ctx.derived.borrow().get(&id) {
        return Ok(d.clone());
    }
    let d = Rc::new(build()?);
    ctx.derived.borrow_mut().insert(id, d.clone());
    Ok(d)
}

/// The first column (or columns) of a subquery's rows, for `x IN (...)` in constant time per
/// test. The binder gives `x` and the column one type, so equal grouping keys are equal
/// values.
pub struct ValueSet {
    keys: std::collections::HashSet<Vec<u8>>,
    has_null: bool,
}

impl ValueSet {
    fn of(rows: &[Row], width: usize) -> Result<ValueSet> {
        let mut keys = std::collections::HashSet::with_capacity(rows.len());
        let mut has_null = false;
        for row in rows {
            let values = row.get(..width).unwrap_or(&[]);
            if values.is_empty() || values.iter().any(Value::is_null) {
                has_null = true;
                continue;
            }
            let mut key = Vec::new();
            crate::types::compare::group_key(values, &mut key)?;
            keys.insert(key);
        }
        Ok(ValueSet { keys, has_null })
    }

    /// `(x1, x2, ...) IN (set)` when the set decides it alone: true on a match of a row
    /// without NULLs, false when neither side has NULLs and nothing matches; None when
    /// NULLs make it a question for the rows themselves.
    fn contains_row(&self, x: &[Value]) -> Result<Option<Value>> {
        if x.iter().any(Value::is_null) {
            return Ok((self.keys.is_empty() && !self.has_null).then_some(Value::Bool(false)));
        }
        let mut key = Vec::new();
        crate::types::compare::group_key(x, &mut key)?;
        Ok(if self.keys.contains(&key) {
            Some(Value::Bool(true))
        } else if self.has_null {
            None
        } else {
            Some(Value::Bool(false))
        })
    }

    /// SQL's `x IN (set)`: true on a match; else NULL if `x` or a member is NULL (an empty
    /// set is false whatever `x` is); else false.
    fn contains(&self, x: &Value) -> Result<Value> {
        if self.keys.is_empty() && !self.has_null {
            return Ok(Value::Bool(false));
        }
        if x.is_null() {
            return Ok(Value::Null);
        }
        let mut key = Vec::new();
        crate::types::compare::group_key(std::slice::from_ref(x), &mut key)?;
        Ok(if self.keys.contains(&key) {
            Value::Bool(true)
        } else if self.has_null {
            Value::Null
        } else {
            Value::Bool(false)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns() {
        let m = |s: &str, p: &str| like(s, p, Some('\\'), false).unwrap();
        assert!(m("hello", "h%o"));
        assert!(m("hello", "_ell_"));
        assert!(!m("hello", "_ell"));
        assert!(m("", "%"));
        assert!(m("a%b", "a\\%b"));
        assert!(!m("axb", "a\\%b"));
        assert!(m("abcabc", "%abc"));
        assert!(m("mississippi", "%iss%pi"));
        assert!(like("HeLLo", "hello", None, true).unwrap());
        assert!(like("abc", "abc\\", Some('\\'), false).is_err());
    }

    #[test]
    fn similar_to_translation() {
        let re = |p: &str| regex::Regex::new(&similar_to_regex(p, Some('\\'))).unwrap();
        assert!(re("%(b|d)%").is_match("abc"));
        assert!(!re("%(b|d)%").is_match("ace"));
        assert!(re("a_c").is_match("abc"));
        assert!(!re("a.c").is_match("abc"), "a dot is literal in SIMILAR TO");
    }
}
