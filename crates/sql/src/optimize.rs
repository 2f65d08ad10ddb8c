//! The optimizer: rule-based rewrites of bound plans.
//!
//! ```text
//!   Filter (a.id = b.aid AND a.x = 5)            HashJoin a.id = b.aid
//!     NestedLoopJoin inner           ──────►       Scan a  [index a_x_idx: x = 5]
//!       Scan a                                     Scan b
//!       Scan b
//! ```
//!
//! 0. Arithmetic and comparisons of number literals are folded (`id = 2 + 3` is `id = 5`,
//!    so it can pick an access path).
//! 1. Filters move down: through projections (substituting the projected expressions),
//!    sorts, DISTINCT and grouping keys, into the sides of joins they concern, and finally
//!    into scans.
//! 2. A scan's filter picks an access path: the primary key or an index whose leading
//!    columns the filter fixes (`=`, `IN`) with an optional range on the next column. The
//!    filter stays on the scan, so the rows read are always re-checked.
//! 3. Joins with equality conditions between their sides become hash joins, building on
//!    the side estimated smaller; or, when few rows on the left meet a large table whose
//!    primary key or index the condition fixes, index nested-loop joins that look each
//!    left row's match up (`estimate_rows`, from ANALYZE's statistics or defaults).
//! 4. A tree of three or more inner joins is re-ordered greedily: the smallest input first,
//!    then each time the input that joins to what is there (an equality) with the smallest
//!    estimated result; a projection puts the columns back in the written order.
//! 5. A sort on a scan's key order is dropped in favour of reading the access path in order
//!    (forwards or backwards), so `ORDER BY id LIMIT 10` reads ten rows.
//! 6. An index scan whose consumer (a projection or an aggregate right above it) reads only
//!    indexed columns becomes an index-only scan: rows come from the index keys alone.
//!
//! Statistics (ANALYZE: rows per table, distinct values per column) only steer join
//! choices; access paths prefer the one that fixes the most key columns.

use std::ops::Bound;
use std::sync::Arc;

use oxibase_common::DataType;

use crate::catalog::IndexKey;
use crate::plan::{
    Access, BinOp, CmpOp, Expr, JoinKind, KeyRange, Node, Plan, SortKey, SubqueryKind,
};

/// Optimizes a plan (and the plans of its subqueries).
pub fn optimize(plan: Plan) -> Plan {
    let plan = map_all_exprs(plan, &mut fold_constants);
    let plan = push_filters(plan);
    let plan = reorder_joins(plan);
    let plan = bottom_up(plan, &mut |p| choose_join(choose_access(p)));
    let plan = bottom_up(plan, &mut order_by_index);
    let plan = bottom_up(plan, &mut index_only_scan);
    let plan = bottom_up(plan, &mut decode_what_is_read);
    map_all_exprs(plan, &mut |e| optimize_subqueries(e))
}

/// Folds arithmetic and comparisons whose operands are number literals. Other types stay
/// (their results may depend on the session: time zones, for one), and so does anything
/// that fails, which then fails when the statement runs, as before.
fn fold_constants(e: Expr) -> Expr {
    use crate::plan::BinOp;
    use crate::types::arith;
    use oxibase_common::Value;
    fn number(e: &Expr) -> Option<&Value> {
        match e {
            Expr::Literal(
                v @ (Value::Int2(_)
                | Value::Int4(_)
                | Value::Int8(_)
                | Value::Numeric(_)
                | Value::Float4(_)
                | Value::Float8(_)),
            ) => Some(v),
            _ => None,
        }
    }
    let utc = crate::types::datetime::Zone::UTC;
    e.transform(&mut |e| match e {
        Expr::Binary(op, a, b) => {
            let folded = match (number(&a), number(&b)) {
                (Some(x), Some(y)) => match op {
                    BinOp::Add => arith::add(x, y, &utc).ok(),
                    BinOp::Sub => arith::sub(x, y, &utc).ok(),
                    BinOp::Mul => arith::mul(x, y).ok(),
                    BinOp::Div => arith::div(x, y).ok(),
                    BinOp::Mod => arith::rem(x, y).ok(),
                    _ => None,
                },
                _ => None,
            };
            folded.map_or(Expr::Binary(op, a, b), Expr::Literal)
        }
        Expr::Compare(op, a, b) => match (number(&a), number(&b)) {
            (Some(x), Some(y)) => match crate::exec::eval::compare_op(op, x, y) {
                Ok(holds) => Expr::Literal(Value::Bool(holds)),
                Err(_) => Expr::Compare(op, a, b),
            },
            _ => Expr::Compare(op, a, b),
        },
        e => e,
    })
}

/// Optimizes the plans of subqueries inside an expression.
fn optimize_subqueries(e: Expr) -> Expr {
    e.transform(&mut |e| match e {
        Expr::Subquery { plan, kind, correlated, id } => {
            let optimized = optimize(Arc::unwrap_or_clone(plan));
            Expr::Subquery { plan: Arc::new(optimized), kind, correlated, id }
        }
        e => e,
    })
}

// ---- traversal ----

fn take(plan: &mut Plan) -> Plan {
    std::mem::replace(plan, Plan::single_row())
}

/// Applies `f` to each direct input of a plan.
fn map_inputs(mut plan: Plan, f: &mut dyn FnMut(Plan) -> Plan) -> Plan {
    match &mut plan.node {
        Node::Values { .. }
        | Node::Scan { .. }
        | Node::Function { .. }
        | Node::WorkTable { .. }
        | Node::SystemScan { .. }
        | Node::SequenceScan { .. }
        | Node::Modify { .. } => {}
        Node::ModifyFirst { input, .. } => **input = f(take(input)),
        Node::CteScan { plan: inner, .. } => {
            let inner = Arc::make_mut(inner);
            *inner = f(take(inner));
        }
        Node::Filter { input, .. }
        | Node::ProjectSet { input, .. }
        | Node::Project { input, .. }
        | Node::Aggregate { input, .. }
        | Node::Window { input, .. }
        | Node::Sort { input, .. }
        | Node::Limit { input, .. }
        | Node::Distinct { input, .. }
        | Node::LockRows { input, .. }
        | Node::Lateral { input } => **input = f(take(input)),
        Node::NestedLoopJoin { left, right, .. }
        | Node::HashJoin { left, right, .. }
        | Node::SetOperation { left, right, .. } => {
            **left = f(take(left));
            **right = f(take(right));
        }
        Node::RecursiveCte { anchor, recursive, .. } => {
            **anchor = f(take(anchor));
            **recursive = f(take(recursive));
        }
    }
    plan
}

/// Rewrites a plan bottom-up.
fn bottom_up(plan: Plan, f: &mut dyn FnMut(Plan) -> Plan) -> Plan {
    let plan = map_inputs(plan, &mut |p| bottom_up(p, f));
    f(plan)
}

/// Applies `f` to every expression of every node.
pub(crate) fn map_all_exprs(plan: Plan, f: &mut dyn FnMut(Expr) -> Expr) -> Plan {
    let mut plan = map_inputs(plan, &mut |p| map_all_exprs(p, f));
    let mut g = |e: &mut Expr| {
        let taken = std::mem::replace(e, Expr::Literal(oxibase_common::Value::Null));
        *e = f(taken);
    };
    match &mut plan.node {
        Node::Values { rows } => rows.iter_mut().flatten().for_each(&mut g),
        Node::Scan { filter, range, as_of, access, .. } => {
            filter.iter_mut().for_each(&mut g);
            as_of.iter_mut().for_each(&mut g);
            if let Access::Inverted(_, search) = access {
                g(&mut search.arg);
            }
            if let Some(range) = range {
                range.equal.iter_mut().flatten().for_each(&mut g);
                for bound in [&mut range.lower, &mut range.upper] {
                    if let Bound::Included(e) | Bound::Excluded(e) = bound {
                        g(e);
                    }
                }
            }
        }
        Node::Filter { predicate, .. } => g(predicate),
        Node::Project { exprs, .. } => exprs.iter_mut().for_each(&mut g),
        Node::ProjectSet { functions, .. } => {
            functions.iter_mut().flat_map(|(_, a)| a.iter_mut()).for_each(&mut g)
        }
        Node::NestedLoopJoin { predicate, .. } => predicate.iter_mut().for_each(&mut g),
        Node::HashJoin { left_keys, right_keys, residual, .. } => {
            left_keys.iter_mut().chain(right_keys.iter_mut()).for_each(&mut g);
            residual.iter_mut().for_each(&mut g);
        }
        Node::Aggregate { group_by, aggregates, .. } => {
            group_by.iter_mut().for_each(&mut g);
            for a in aggregates {
                a.args.iter_mut().for_each(&mut g);
                a.filter.iter_mut().for_each(&mut g);
                a.order_by.iter_mut().for_each(|k| g(&mut k.expr));
            }
        }
        Node::Window { calls, .. } => {
            for c in calls {
                c.args.iter_mut().chain(c.partition_by.iter_mut()).for_each(&mut g);
                c.order_by.iter_mut().for_each(|k| g(&mut k.expr));
                c.filter.iter_mut().for_each(&mut g);
            }
        }
        Node::Sort { keys, .. } => keys.iter_mut().for_each(|k| g(&mut k.expr)),
        Node::Limit { limit, offset, ties, .. } => limit
            .iter_mut()
            .chain(offset.iter_mut())
            .chain(ties.iter_mut().flatten())
            .for_each(&mut g),
        Node::Distinct { on, .. } => on.iter_mut().flatten().for_each(&mut g),
        Node::Function { args, .. } => args.iter_mut().for_each(&mut g),
        _ => {}
    }
    plan
}

// ---- expression properties ----

/// Functions whose result may differ between calls with the same arguments, or that have
/// side effects: never moved, never used as index keys.
fn is_volatile_function(name: &str) -> bool {
    matches!(
        name,
        "random"
            | "nextval"
            | "setval"
            | "currval"
            | "lastval"
            | "gen_random_uuid"
            | "uuid_generate_v4"
            | "clock_timestamp"
            | "timeofday"
            | "set_config"
            | "pg_sleep"
            | "setseed"
    )
}

fn has_volatile(e: &Expr) -> bool {
    let mut found = false;
    e.walk(&mut |x| {
        if let Expr::Call(f, _) = x
            && is_volatile_function(f.name)
        {
            found = true;
        }
        if let Expr::Routine(r, _) = x
            && r.volatility == 'v'
        {
            found = true;
        }
    });
    found
}

fn has_correlated_subquery(e: &Expr) -> bool {
    let mut found = false;
    e.walk(&mut |x| found |= matches!(x, Expr::Subquery { correlated: true, .. }));
    found
}

fn has_subquery(e: &Expr) -> bool {
    let mut found = false;
    e.walk(&mut |x| found |= matches!(x, Expr::Subquery { .. }));
    found
}

/// An expression that does not depend on the row: usable as a key to look rows up.
fn row_independent(e: &Expr) -> bool {
    e.columns().is_empty() && !has_volatile(e) && !has_subquery(e)
}

/// A value a key lookup can use: row-independent, or an uncorrelated scalar subquery, which
/// runs once per statement (PostgreSQL's InitPlan), so `id = (SELECT id ... FOR UPDATE SKIP
/// LOCKED LIMIT 1)` reads one row instead of scanning the table.
fn key_value(e: &Expr) -> bool {
    row_independent(e)
        || matches!(e, Expr::Subquery { kind: SubqueryKind::Scalar, correlated: false, .. })
        || matches!(e, Expr::Cast(inner, _) if key_value(inner))
}

/// The type of a simple expression, when it is evident.
fn simple_type(e: &Expr, columns: &[crate::plan::Column]) -> Option<DataType> {
    match e {
        Expr::Column(i) => columns.get(*i).map(|c| c.data_type.clone()),
        Expr::Cast(_, t) | Expr::AssignCast(_, t) => Some(t.clone()),
        Expr::Domain(_, d) => Some(d.base.clone()),
        _ => None,
    }
}

// ---- filter pushdown ----

fn push_filters(plan: Plan) -> Plan {
    match plan.node {
        Node::Filter { input, predicate } => push_conjuncts(*input, predicate.conjuncts()),
        Node::NestedLoopJoin { left, right, kind, predicate, lateral } => {
            let lw = left.columns.len();
            let mut left_conj = Vec::new();
            let mut right_conj = Vec::new();
            let mut rest = Vec::new();
            for c in predicate.map(Expr::conjuncts).unwrap_or_default() {
                let cols = c.columns();
                let movable = !has_correlated_subquery(&c) && !has_volatile(&c);
                let left_only = !cols.is_empty() && cols.iter().all(|&i| i < lw);
                let right_only = !cols.is_empty() && cols.iter().all(|&i| i >= lw);
                if movable && left_only && kind == JoinKind::Inner {
                    left_conj.push(c);
                } else if movable
                    && right_only
                    && !lateral
                    && matches!(
                        kind,
                        JoinKind::Inner | JoinKind::Left | JoinKind::Semi | JoinKind::Anti
                    )
                {
                    right_conj.push(c.shift_columns(-(lw as isize)));
                } else {
                    rest.push(c);
                }
            }
            let left = push_conjuncts(*left, left_conj);
            let right = push_conjuncts(*right, right_conj);
            Plan::new(
                Node::NestedLoopJoin {
                    left: Box::new(left),
                    right: Box::new(right),
                    kind,
                    predicate: Expr::and_all(rest),
                    lateral,
                },
                plan.columns,
            )
        }
        node => map_inputs(Plan::new(node, plan.columns), &mut push_filters),
    }
}

fn filter_over(plan: Plan, conjuncts: Vec<Expr>) -> Plan {
    match Expr::and_all(conjuncts) {
        None => plan,
        Some(predicate) => {
            let columns = plan.columns.clone();
            Plan::new(Node::Filter { input: Box::new(plan), predicate }, columns)
        }
    }
}

/// Places conjuncts over `plan` as deep as they can go.
fn push_conjuncts(plan: Plan, conjuncts: Vec<Expr>) -> Plan {
    if conjuncts.is_empty() {
        return push_filters(plan);
    }
    let columns = plan.columns;
    match plan.node {
        Node::Filter { input, predicate } => {
            let mut all = predicate.conjuncts();
            all.extend(conjuncts);
            push_conjuncts(*input, all)
        }
        Node::Scan { table, access, range, reverse, filter, lock, with_key, as_of, reads } => {
            let mut all = filter.map(Expr::conjuncts).unwrap_or_default();
            all.extend(conjuncts);
            Plan::new(
                Node::Scan {
                    table,
                    access,
                    range,
                    reverse,
                    filter: Expr::and_all(all),
                    lock,
                    with_key,
                    as_of,
                    reads,
                },
                columns,
            )
        }
        Node::NestedLoopJoin { left, right, kind, predicate, lateral } => {
            let lw = left.columns.len();
            let mut left_conj = Vec::new();
            let mut right_conj = Vec::new();
            let mut join_conj = Vec::new();
            let mut rest = Vec::new();
            for c in conjuncts {
                let cols = c.columns();
                let movable = !has_correlated_subquery(&c) && !has_volatile(&c);
                let left_only = cols.iter().all(|&i| i < lw);
                let right_only = !cols.is_empty() && cols.iter().all(|&i| i >= lw);
                match kind {
                    _ if !movable => rest.push(c),
                    JoinKind::Inner | JoinKind::Left | JoinKind::Semi | JoinKind::Anti
                        if left_only =>
                    {
                        left_conj.push(c)
                    }
                    JoinKind::Inner if right_only && !lateral => {
                        right_conj.push(c.shift_columns(-(lw as isize)))
                    }
                    JoinKind::Inner => join_conj.push(c),
                    _ => rest.push(c),
                }
            }
            let mut predicate_conj = predicate.map(Expr::conjuncts).unwrap_or_default();
            predicate_conj.extend(join_conj);
            let join = Plan::new(
                Node::NestedLoopJoin {
                    left: Box::new(push_conjuncts(*left, left_conj)),
                    right: Box::new(push_conjuncts(*right, right_conj)),
                    kind,
                    predicate: Expr::and_all(predicate_conj),
                    lateral,
                },
                columns,
            );
            // The join's own predicate may now hold conjuncts for one side.
            let join = push_filters_join_only(join);
            filter_over(join, rest)
        }
        Node::Project { input, exprs } => {
            let mut below = Vec::new();
            let mut rest = Vec::new();
            for c in conjuncts {
                let cols = c.columns();
                let substitutable = !has_correlated_subquery(&c)
                    && !has_volatile(&c)
                    && cols.iter().all(|&i| {
                        exprs.get(i).is_some_and(|e| !has_volatile(e) && !has_subquery(e))
                    });
                if substitutable {
                    below.push(c.transform(&mut |e| match e {
                        Expr::Column(i) => exprs[i].clone(),
                        e => e,
                    }));
                } else {
                    rest.push(c);
                }
            }
            let input = push_conjuncts(*input, below);
            filter_over(Plan::new(Node::Project { input: Box::new(input), exprs }, columns), rest)
        }
        Node::Sort { input, keys } => {
            let (below, rest): (Vec<Expr>, Vec<Expr>) =
                conjuncts.into_iter().partition(|c| !has_volatile(c));
            let input = push_conjuncts(*input, below);
            filter_over(Plan::new(Node::Sort { input: Box::new(input), keys }, columns), rest)
        }
        Node::Distinct { input, on: None } => {
            let (below, rest): (Vec<Expr>, Vec<Expr>) =
                conjuncts.into_iter().partition(|c| !has_volatile(c));
            let input = push_conjuncts(*input, below);
            filter_over(
                Plan::new(Node::Distinct { input: Box::new(input), on: None }, columns),
                rest,
            )
        }
        Node::Aggregate { input, group_by, grouping_sets: None, aggregates } => {
            let n = group_by.len();
            let mut below = Vec::new();
            let mut rest = Vec::new();
            for c in conjuncts {
                let cols = c.columns();
                if !cols.is_empty()
                    && cols.iter().all(|&i| {
                        i < n && !has_volatile(&group_by[i]) && !has_subquery(&group_by[i])
                    })
                    && !has_volatile(&c)
                    && !has_correlated_subquery(&c)
                {
                    below.push(c.transform(&mut |e| match e {
                        Expr::Column(i) => group_by[i].clone(),
                        e => e,
                    }));
                } else {
                    rest.push(c);
                }
            }
            let input = push_conjuncts(*input, below);
            let agg = Plan::new(
                Node::Aggregate {
                    input: Box::new(input),
                    group_by,
                    grouping_sets: None,
                    aggregates,
                },
                columns,
            );
            filter_over(agg, rest)
        }
        node => filter_over(push_filters(Plan::new(node, columns)), conjuncts),
    }
}

/// Re-runs the join-predicate split on a join whose predicate changed.
fn push_filters_join_only(plan: Plan) -> Plan {
    match plan.node {
        Node::NestedLoopJoin { left, right, kind, predicate, lateral } => {
            let lw = left.columns.len();
            let mut left_conj = Vec::new();
            let mut right_conj = Vec::new();
            let mut rest = Vec::new();
            for c in predicate.map(Expr::conjuncts).unwrap_or_default() {
                let cols = c.columns();
                let movable = !has_correlated_subquery(&c) && !has_volatile(&c);
                if movable
                    && kind == JoinKind::Inner
                    && !cols.is_empty()
                    && cols.iter().all(|&i| i < lw)
                {
                    left_conj.push(c);
                } else if movable
                    && !lateral
                    && matches!(
                        kind,
                        JoinKind::Inner | JoinKind::Left | JoinKind::Semi | JoinKind::Anti
                    )
                    && !cols.is_empty()
                    && cols.iter().all(|&i| i >= lw)
                {
                    right_conj.push(c.shift_columns(-(lw as isize)));
                } else {
                    rest.push(c);
                }
            }
            let left = if left_conj.is_empty() { *left } else { push_conjuncts(*left, left_conj) };
            let right =
                if right_conj.is_empty() { *right } else { push_conjuncts(*right, right_conj) };
            Plan::new(
                Node::NestedLoopJoin {
                    left: Box::new(left),
                    right: Box::new(right),
                    kind,
                    predicate: Expr::and_all(rest),
                    lateral,
                },
                plan.columns,
            )
        }
        node => Plan::new(node, plan.columns),
    }
}

// ---- access paths ----

/// A scan's candidate access path: how many leading key columns are fixed, and whether the
/// next one is bounded.
struct Candidate {
    access: Access,
    range: KeyRange,
    equal: usize,
    full: bool,
    ranged: bool,
}

impl Candidate {
    /// Every column of a unique key fixed: at most one row per value.
    fn point(&self) -> bool {
        self.full
            && match &self.access {
                Access::Primary => true,
                Access::Index(i) | Access::IndexOnly(i) | Access::Inverted(i, _) => i.unique,
            }
    }
}

/// Picks an index or primary-key range for a scan with a filter.
fn choose_access(mut plan: Plan) -> Plan {
    let Node::Scan {
        table,
        access: access @ Access::Primary,
        range: range @ None,
        filter: Some(filter),
        as_of,
        ..
    } = &mut plan.node
    else {
        return plan;
    };
    let conjuncts = filter.clone().conjuncts();
    let mut candidates: Vec<(Access, Vec<KeyPart>)> = Vec::new();
    if !table.primary_key.is_empty() {
        candidates.push((Access::Primary, KeyPart::columns(&table.primary_key)));
    }
    // An index may be younger than the time a scan AS OF reads (its entries are no older
    // than the index): such a scan reads the table itself.
    for index in table.indexes.iter().filter(|i| i.valid && as_of.is_none()) {
        if let Some(keys) = usable_key_parts(table, index, &conjuncts) {
            candidates.push((Access::Index(index.clone()), keys));
        }
    }
    let mut best: Option<Candidate> = None;
    let ranged = with_network_ranges(&conjuncts);
    let conditions = ranged.as_deref().unwrap_or(&conjuncts);
    for (access, keys) in candidates {
        let candidate = match_key(conditions, access, &keys, table);
        let better = match &best {
            None => candidate.equal > 0 || candidate.ranged,
            // A point read (every column of a unique key fixed) first; then the most
            // columns fixed, a range on the next one, and only then a fully fixed
            // non-unique key (a shorter index): `a = 1 AND b > 2` prefers (a, b) to (a).
            Some(b) => {
                (candidate.point(), candidate.equal, candidate.ranged, candidate.full)
                    > (b.point(), b.equal, b.ranged, b.full)
            }
        };
        if better {
            best = Some(candidate);
        }
    }
    if let Some(c) = best {
        *access = c.access;
        *range = Some(c.range);
    } else if as_of.is_none()
        && let Some(inverted) = inverted_access(table, &conjuncts, &conjuncts)
    {
        *access = inverted;
    }
    plan
}

/// An inverted (GIN) index search for one of `candidates` (conditions over the table's
/// row): `key @@ query`, `key @> value` (or `value <@ key`), `key && array`, `key ? text`,
/// `key ?| array`, `key ?& array` with a row-independent operand (which may read the outer
/// row), on an index whose key part `key` is. A partial index serves when the scan's
/// `conjuncts` imply its predicate.
fn inverted_access(
    table: &crate::catalog::Table,
    conjuncts: &[Expr],
    candidates: &[Expr],
) -> Option<Access> {
    use crate::plan::{InvertedOp as Op, InvertedSearch};
    for index in table.indexes.iter().filter(|i| i.valid && i.method.inverted()) {
        if let Some(predicate) = &index.predicate {
            let Ok(predicate) = crate::bind::bind_table_expr(table, predicate) else { continue };
            if !predicate_implied(&predicate, conjuncts) {
                continue;
            }
        }
        let Some(parts) = key_parts(table, index) else { continue };
        for c in candidates {
            let (op, a, b) = match c {
                Expr::Call(f, args)
                    if matches!(f.name, "oxibase_ts_match" | "ts_match_vq" | "ts_match_qv")
                        && args.len() == 2 =>
                {
                    (Op::TsMatch, &args[0], &args[1])
                }
                Expr::Binary(BinOp::Contains, a, b) => (Op::Contains, &**a, &**b),
                Expr::Binary(BinOp::ContainedBy, a, b) => (Op::Contains, &**b, &**a),
                Expr::Binary(BinOp::Overlap, a, b) => (Op::Overlaps, &**a, &**b),
                Expr::Binary(BinOp::JsonExists, a, b) => (Op::Exists, &**a, &**b),
                Expr::Binary(BinOp::JsonExistsAny, a, b) => (Op::ExistsAny, &**a, &**b),
                Expr::Binary(BinOp::JsonExistsAll, a, b) => (Op::ExistsAll, &**a, &**b),
                _ => continue,
            };
            // `@@` and `&&` are symmetric: the key may be either operand.
            let symmetric = matches!(op, Op::TsMatch | Op::Overlaps);
            let found = parts.iter().enumerate().find_map(|(i, (part, ty))| {
                if part.is(a) && row_independent(b) {
                    Some((i, ty, b))
                } else if symmetric && part.is(b) && row_independent(a) {
                    Some((i, ty, a))
                } else {
                    None
                }
            });
            let Some((key, key_type, arg)) = found else { continue };
            let serves = match op {
                Op::TsMatch => *key_type == DataType::TsVector,
                Op::Contains => matches!(key_type, DataType::Array(_) | DataType::Jsonb),
                Op::Overlaps => matches!(key_type, DataType::Array(_)),
                Op::Exists | Op::ExistsAny | Op::ExistsAll => *key_type == DataType::Jsonb,
            };
            if serves {
                let search =
                    InvertedSearch { key, op, arg: arg.clone(), key_type: key_type.clone() };
                return Some(Access::Inverted(index.clone(), search));
            }
        }
    }
    None
}

/// An index's key parts with their types (None when an expression no longer binds).
fn key_parts(
    table: &crate::catalog::Table,
    index: &crate::catalog::Index,
) -> Option<Vec<(KeyPart, DataType)>> {
    index
        .keys
        .iter()
        .map(|k| match k {
            IndexKey::Column(c) => Some((KeyPart::Column(*c), table.columns[*c].data_type.clone())),
            IndexKey::Expr(sql) => {
                let (e, ty) = crate::bind::bind_table_expr_typed(table, sql).ok()?;
                Some((KeyPart::Expr(format!("{e:?}")), ty))
            }
        })
        .collect()
}

/// One part of an access path's key, as conditions, orders and ON CONFLICT targets are
/// matched to it.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum KeyPart {
    /// A column.
    Column(usize),
    /// An index expression bound over the table's row, as its `Debug` text: expressions
    /// are compared by structure, as literal lifting compares plans.
    Expr(String),
}

impl KeyPart {
    pub(crate) fn columns(columns: &[usize]) -> Vec<KeyPart> {
        columns.iter().map(|&c| KeyPart::Column(c)).collect()
    }

    /// Whether `e` computes this key part.
    fn is(&self, e: &Expr) -> bool {
        match self {
            KeyPart::Column(c) => matches!(e, Expr::Column(i) if i == c),
            KeyPart::Expr(text) => {
                !matches!(e, Expr::Column(_) | Expr::Literal(_)) && format!("{e:?}") == *text
            }
        }
    }

    /// The column's type, for a column.
    fn column_type<'t>(&self, table: &'t crate::catalog::Table) -> Option<&'t DataType> {
        match self {
            KeyPart::Column(c) => Some(&table.columns[*c].data_type),
            KeyPart::Expr(_) => None,
        }
    }
}

/// An index's key parts when it can serve a scan with these conjuncts: not for a partial
/// index whose predicate they do not imply (nor an expression that no longer binds).
fn usable_key_parts(
    table: &crate::catalog::Table,
    index: &crate::catalog::Index,
    conjuncts: &[Expr],
) -> Option<Vec<KeyPart>> {
    if let Some(predicate) = &index.predicate {
        let predicate = crate::bind::bind_table_expr(table, predicate).ok()?;
        if !predicate_implied(&predicate, conjuncts) {
            return None;
        }
    }
    index_key_parts(table, index)
}

/// An ordered index's key parts (None for an inverted index, whose entries are not in the
/// key's order, and when an expression no longer binds).
pub(crate) fn index_key_parts(
    table: &crate::catalog::Table,
    index: &crate::catalog::Index,
) -> Option<Vec<KeyPart>> {
    if index.method.inverted() {
        return None;
    }
    Some(key_parts(table, index)?.into_iter().map(|(part, _)| part).collect())
}

/// Whether conditions (a scan's conjuncts, ON CONFLICT's WHERE) imply a partial index's
/// predicate, in PostgreSQL's simple cases: each of its conjuncts is one of the conditions,
/// or is `x IS NOT NULL` and a condition compares `x` (which is not true for a NULL `x`).
/// Expressions are compared by structure (their `Debug` text).
pub(crate) fn predicate_implied(predicate: &Expr, conditions: &[Expr]) -> bool {
    let texts: Vec<String> = conditions.iter().map(|c| format!("{c:?}")).collect();
    let compared = || {
        conditions.iter().filter_map(|c| match c {
            Expr::Compare(_, a, b) if row_independent(b) => Some(format!("{a:?}")),
            Expr::Compare(_, a, b) if row_independent(a) => Some(format!("{b:?}")),
            _ => None,
        })
    };
    predicate.clone().conjuncts().iter().all(|p| {
        let text = format!("{p:?}");
        texts.contains(&text)
            || matches!(p, Expr::IsNull(x, true) if {
                let x = format!("{x:?}");
                compared().any(|c| c == x)
            })
    })
}

/// How far a filter's conjuncts fix an access path's key columns.
fn match_key(
    conjuncts: &[Expr],
    access: Access,
    keys: &[KeyPart],
    table: &crate::catalog::Table,
) -> Candidate {
    let mut equal: Vec<Vec<Expr>> = Vec::new();
    for key in keys {
        let ty = key.column_type(table);
        let found = conjuncts.iter().find_map(|c| equality_values(c, key, ty));
        match found {
            Some(values) => equal.push(values),
            None => break,
        }
    }
    let n = equal.len();
    let full = n == keys.len();
    let (mut lower, mut upper) = (Bound::Unbounded, Bound::Unbounded);
    if !full {
        let key = &keys[n];
        for c in conjuncts {
            if let Some((op, value)) = comparison(c, key) {
                match op {
                    CmpOp::Gt if matches!(lower, Bound::Unbounded) => {
                        lower = Bound::Excluded(value)
                    }
                    CmpOp::GtEq if matches!(lower, Bound::Unbounded) => {
                        lower = Bound::Included(value)
                    }
                    CmpOp::Lt if matches!(upper, Bound::Unbounded) => {
                        upper = Bound::Excluded(value)
                    }
                    CmpOp::LtEq if matches!(upper, Bound::Unbounded) => {
                        upper = Bound::Included(value)
                    }
                    _ => {}
                }
            }
        }
    }
    let ranged = !matches!((&lower, &upper), (Bound::Unbounded, Bound::Unbounded));
    Candidate { access, range: KeyRange { equal, lower, upper }, equal: n, full, ranged }
}

/// The conjuncts plus, for each `key << net` or `key <<= net` (also written `net >> key`,
/// `net >>= key`) with a row-independent `net`, the range of keys it allows: from the
/// network's first address at its mask length to its last address at full length, which in
/// inet order brackets every address inside it (PostgreSQL's network_prefix_quals). The
/// filter keeps the containment itself.
/// None when there is no such containment (the usual case: nothing is copied).
fn with_network_ranges(conjuncts: &[Expr]) -> Option<Vec<Expr>> {
    let mut out: Option<Vec<Expr>> = None;
    for c in conjuncts {
        let Expr::Call(f, args) = c else { continue };
        let (key, net) = match (f.name, args.as_slice()) {
            ("network_sub" | "network_subeq", [k, n])
            | ("network_sup" | "network_supeq", [n, k])
                if row_independent(n) && !row_independent(k) =>
            {
                (k, n)
            }
            _ => continue,
        };
        let inet = [crate::types::SqlType::Known(DataType::Inet)];
        for (name, op) in
            [("oxibase_network_first", CmpOp::GtEq), ("oxibase_network_last", CmpOp::LtEq)]
        {
            if let Ok(bound) = crate::functions::scalar::resolve(name, &inet) {
                let bound = Expr::Call(bound.function, vec![net.clone()]);
                out.get_or_insert_with(|| conjuncts.to_vec()).push(Expr::Compare(
                    op,
                    Box::new(key.clone()),
                    Box::new(bound),
                ));
            }
        }
    }
    out
}

/// `col = v` or `col IN (v, ...)` with row-independent values; `col = ANY (array)` with a
/// row-independent array (a parameter, as drivers send lists) or `ARRAY(SELECT ...)`,
/// whose elements are looked up; or `col IN (SELECT ...)` uncorrelated and of the column's
/// type, whose rows are looked up (PostgreSQL turns it into a semi-join; here it runs once,
/// as the filter's re-check does, and reads only its rows: the queue idiom `DELETE ...
/// WHERE id IN (SELECT id ... LIMIT 10 FOR UPDATE SKIP LOCKED)` used to scan the whole
/// table).
/// A column's type is `ty`; an expression key (no `ty`) matches only `=` and `IN` lists,
/// whose values the binder gave the expression's type.
fn equality_values(c: &Expr, key: &KeyPart, ty: Option<&DataType>) -> Option<Vec<Expr>> {
    match c {
        Expr::Compare(CmpOp::Eq, a, b) => match (&**a, &**b) {
            (k, v) | (v, k) if key.is(k) && key_value(v) => Some(vec![v.clone()]),
            _ => None,
        },
        Expr::InList { expr, list, negated: false }
            if key.is(expr) && list.iter().all(row_independent) && !list.is_empty() =>
        {
            Some(list.clone())
        }
        Expr::Subquery {
            plan,
            kind: SubqueryKind::In { expr, negated: false },
            correlated: false,
            id,
        } if let Some(ty) = ty
            && key.is(expr)
            && !matches!(ty, DataType::Array(_))
            && matches!(plan.columns.as_slice(), [c] if c.data_type == *ty) =>
        {
            Some(vec![Expr::KeySet(Box::new(Expr::Subquery {
                plan: plan.clone(),
                kind: SubqueryKind::Array,
                correlated: false,
                id: *id,
            }))])
        }
        Expr::ArrayCompare { expr, op: CmpOp::Eq, array, all: false }
            if key.is(expr)
                && ty.is_some_and(|ty| !matches!(ty, DataType::Array(_)))
                && (row_independent(array)
                    || matches!(
                        **array,
                        Expr::Subquery { kind: SubqueryKind::Array, correlated: false, .. }
                    )) =>
        {
            Some(vec![Expr::KeySet(array.clone())])
        }
        _ => None,
    }
}

/// `col op v` (or `v op col`, flipped) with a row-independent value.
fn comparison(c: &Expr, key: &KeyPart) -> Option<(CmpOp, Expr)> {
    let Expr::Compare(op, a, b) = c else { return None };
    match (&**a, &**b) {
        (k, v) if key.is(k) && row_independent(v) => Some((*op, v.clone())),
        (v, k) if key.is(k) && row_independent(v) => Some((op.flip(), v.clone())),
        _ => None,
    }
}

// ---- joins ----

/// Turns a nested-loop join with equality conditions between its sides into a hash join.
fn choose_join(plan: Plan) -> Plan {
    let Node::NestedLoopJoin { left, right, kind, predicate: Some(predicate), lateral: false } =
        plan.node
    else {
        return plan;
    };
    let lw = left.columns.len();
    let mut left_keys = Vec::new();
    let mut right_keys = Vec::new();
    let mut residual = Vec::new();
    for c in predicate.clone().conjuncts() {
        if let Expr::Compare(CmpOp::Eq, a, b) = &c
            && !has_subquery(&c)
            && !has_volatile(&c)
        {
            let (ca, cb) = (a.columns(), b.columns());
            let side = |cols: &[usize]| -> Option<bool> {
                if cols.is_empty() {
                    None
                } else if cols.iter().all(|&i| i < lw) {
                    Some(true)
                } else if cols.iter().all(|&i| i >= lw) {
                    Some(false)
                } else {
                    None
                }
            };
            let pair = match (side(&ca), side(&cb)) {
                (Some(true), Some(false)) => Some((&**a, &**b)),
                (Some(false), Some(true)) => Some((&**b, &**a)),
                _ => None,
            };
            if let Some((l, r)) = pair {
                let lt = simple_type(l, &left.columns);
                let rt = simple_type(&r.clone().shift_columns(-(lw as isize)), &right.columns);
                if lt.is_some() && lt == rt {
                    left_keys.push(l.clone());
                    right_keys.push(r.clone().shift_columns(-(lw as isize)));
                    continue;
                }
            }
        }
        residual.push(c);
    }
    if left_keys.is_empty() {
        let (lw, rw) = (left.columns.len(), right.columns.len());
        // `FROM docs, to_tsquery('...') q WHERE tsv @@ q`: a GIN index answers the
        // condition for each row of the other side.
        if matches!(kind, JoinKind::Inner | JoinKind::Left)
            && let Some(lookup) = inverted_lookup(&left, &right, &predicate)
        {
            return lookup_join(left, lookup, kind, predicate, plan.columns);
        }
        let swapped_predicate = swap_sides(predicate.clone(), lw, rw);
        if kind == JoinKind::Inner
            && let Some(lookup) = inverted_lookup(&right, &left, &swapped_predicate)
        {
            let swapped_columns = right.columns.iter().chain(&left.columns).cloned().collect();
            let swapped = lookup_join(right, lookup, kind, swapped_predicate, swapped_columns);
            return unswap(swapped, lw, rw, plan.columns);
        }
        return Plan::new(
            Node::NestedLoopJoin { left, right, kind, predicate: Some(predicate), lateral: false },
            plan.columns,
        );
    }
    let (left_rows, right_rows) = (estimate_rows(&left), estimate_rows(&right));
    if matches!(kind, JoinKind::Inner | JoinKind::Left)
        && left_rows * LOOKUP_COST < right_rows
        && let Some(lookup) = index_lookup(&right, &left_keys, &right_keys)
    {
        return lookup_join(left, lookup, kind, predicate, plan.columns);
    }
    let (lw, rw) = (left.columns.len(), right.columns.len());
    // A few rows on the right meeting a large table on the left (ten ids from a CTE joined
    // to the table they name, as in the queue idiom `WITH next AS (... LIMIT 10 FOR UPDATE
    // SKIP LOCKED) DELETE FROM jobs USING next WHERE jobs.id = next.id`): an inner join may
    // run either way round, so the right side drives and the left is looked up.
    if kind == JoinKind::Inner
        && right_rows * LOOKUP_COST < left_rows
        && let Some(lookup) = index_lookup(&left, &right_keys, &left_keys)
    {
        let swapped_columns = right.columns.iter().chain(&left.columns).cloned().collect();
        let predicate = swap_sides(predicate, lw, rw);
        let swapped = lookup_join(right, lookup, kind, predicate, swapped_columns);
        return unswap(swapped, lw, rw, plan.columns);
    }
    let residual = Expr::and_all(residual);
    if kind == JoinKind::Inner && right_rows > 2.0 * left_rows {
        // Build the hash table on the smaller side, then put the columns back in order.
        let residual = residual.map(|r| swap_sides(r, lw, rw));
        let swapped_columns = right.columns.iter().chain(&left.columns).cloned().collect();
        let swapped = Plan::new(
            Node::HashJoin {
                left: right,
                right: left,
                kind,
                left_keys: right_keys,
                right_keys: left_keys,
                residual,
            },
            swapped_columns,
        );
        return unswap(swapped, lw, rw, plan.columns);
    }
    Plan::new(Node::HashJoin { left, right, kind, left_keys, right_keys, residual }, plan.columns)
}

/// A nested-loop join that runs `lookup` (reading the left row as the outer one) for each
/// row of `left`.
fn lookup_join(
    left: Box<Plan>,
    lookup: Plan,
    kind: JoinKind,
    predicate: Expr,
    columns: Vec<crate::plan::Column>,
) -> Plan {
    let right = Box::new(lookup);
    Plan::new(
        Node::NestedLoopJoin { left, right, kind, predicate: Some(predicate), lateral: true },
        columns,
    )
}

/// A join condition over `left ++ right` (widths `lw`, `rw`) rewritten for `right ++ left`.
fn swap_sides(e: Expr, lw: usize, rw: usize) -> Expr {
    e.transform(&mut |e| match e {
        Expr::Column(i) if i < lw => Expr::Column(i + rw),
        Expr::Column(i) => Expr::Column(i - lw),
        e => e,
    })
}

/// A join whose sides were swapped, with its columns put back in the written order.
fn unswap(swapped: Plan, lw: usize, rw: usize, columns: Vec<crate::plan::Column>) -> Plan {
    let exprs = (0..lw).map(|i| Expr::Column(rw + i)).chain((0..rw).map(Expr::Column)).collect();
    Plan::new(Node::Project { input: Box::new(swapped), exprs }, columns)
}

// ---- index-only scans ----

/// The input of a projection or aggregate and the expressions it evaluates over the input's
/// rows: all it reads of them. None for other nodes, and where a subquery may read the row
/// through outer references, which `Expr::columns` misses.
fn reads_of_input(plan: &mut Plan) -> Option<(&mut Plan, Vec<&Expr>)> {
    let (input, used): (&mut Plan, Vec<&Expr>) = match &mut plan.node {
        Node::Project { input, exprs } => (input, exprs.iter().collect()),
        Node::Aggregate { input, group_by, aggregates, .. } => {
            let mut used: Vec<&Expr> = group_by.iter().collect();
            for a in aggregates.iter() {
                used.extend(a.args.iter());
                used.extend(a.filter.iter());
                used.extend(a.order_by.iter().map(|k| &k.expr));
            }
            (input, used)
        }
        _ => return None,
    };
    if used.iter().any(|e| has_subquery(e)) {
        return None;
    }
    Some((input, used))
}

/// Makes an index scan index-only when the projection or aggregate right above it reads
/// nothing but indexed columns whose key encoding gives the value back exactly.
fn index_only_scan(mut plan: Plan) -> Plan {
    let Some((input, used)) = reads_of_input(&mut plan) else { return plan };
    let Node::Scan {
        table,
        access: Access::Index(index),
        filter,
        lock: None,
        with_key: false,
        as_of: None,
        ..
    } = &mut input.node
    else {
        return plan;
    };
    if filter.as_ref().is_some_and(has_subquery) {
        return plan;
    }
    let mut columns: Vec<usize> = used.iter().flat_map(|e| e.columns()).collect();
    columns.extend(filter.iter().flat_map(|f| f.columns()));
    let Some(key_columns) = index.key_columns() else { return plan };
    let covered = columns.iter().all(|c| {
        key_columns.contains(c)
            && table.columns.get(*c).is_some_and(|col| exact_in_keys(&col.data_type))
    });
    if covered {
        let index = index.clone();
        if let Node::Scan { access, .. } = &mut input.node {
            *access = Access::IndexOnly(index);
        }
    }
    plan
}

/// Lets a scan right below a projection or aggregate decode only the columns they and its
/// filter read (PostgreSQL deforms a tuple only as far as the query needs): `sum(v)` over a
/// table with text columns copies none of the text. Locking scans read whole rows (a
/// recheck re-evaluates them).
fn decode_what_is_read(mut plan: Plan) -> Plan {
    let Some((input, used)) = reads_of_input(&mut plan) else { return plan };
    let Node::Scan {
        table,
        access: Access::Primary | Access::Index(_),
        filter,
        lock: None,
        as_of: None,
        reads,
        ..
    } = &mut input.node
    else {
        return plan;
    };
    if filter.as_ref().is_some_and(has_subquery) {
        return plan;
    }
    let mut wanted = vec![false; table.columns.len()];
    for c in used.iter().flat_map(|e| e.columns()).chain(filter.iter().flat_map(|f| f.columns())) {
        if let Some(w) = wanted.get_mut(c) {
            *w = true;
        }
    }
    if wanted.contains(&false) {
        *reads = Some(wanted);
    }
    plan
}

/// Types whose index-key encoding decodes to the very value stored (numeric loses its
/// written scale, floats their -0, char(n) its padding: those still read the row).
fn exact_in_keys(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Bool
            | DataType::Int2
            | DataType::Int4
            | DataType::Int8
            | DataType::Text
            | DataType::Varchar(_)
            | DataType::Bytea
            | DataType::Date
            | DataType::Time(_)
            | DataType::Timestamp(_)
            | DataType::TimestampTz(_)
            | DataType::Uuid
    )
}

// ---- join order ----

/// Re-orders trees of inner joins (see the module documentation), top-down so that a
/// whole tree is seen at once; the inputs of a tree are re-ordered in turn.
fn reorder_joins(plan: Plan) -> Plan {
    if !is_plain_inner_join(&plan) {
        return map_inputs(plan, &mut reorder_joins);
    }
    let columns = plan.columns.clone();
    let mut leaves = Vec::new();
    let mut conjuncts = Vec::new();
    flatten_joins(plan, 0, &mut leaves, &mut conjuncts);
    let leaves: Vec<Plan> = leaves.into_iter().map(reorder_joins).collect();
    let starts: Vec<usize> = leaves
        .iter()
        .scan(0, |at, l| {
            let start = *at;
            *at += l.columns.len();
            Some(start)
        })
        .collect();
    let order = if leaves.len() >= 3 && !conjuncts.iter().any(has_correlated_subquery) {
        join_order(&leaves, &starts, &conjuncts)
    } else {
        (0..leaves.len()).collect()
    };
    build_join_tree(leaves, &starts, &order, conjuncts, columns)
}

fn is_plain_inner_join(plan: &Plan) -> bool {
    matches!(plan.node, Node::NestedLoopJoin { kind: JoinKind::Inner, lateral: false, .. })
        && plan.inputs().iter().all(|p| !matches!(p.node, Node::Lateral { .. }))
}

/// Collects the inputs of a tree of inner joins in column order, and their conditions over
/// the tree's whole row.
fn flatten_joins(plan: Plan, offset: usize, leaves: &mut Vec<Plan>, conjuncts: &mut Vec<Expr>) {
    if !is_plain_inner_join(&plan) {
        leaves.push(plan);
        return;
    }
    let Node::NestedLoopJoin { left, right, predicate, .. } = plan.node else { return };
    let width = left.columns.len();
    flatten_joins(*left, offset, leaves, conjuncts);
    flatten_joins(*right, offset + width, leaves, conjuncts);
    if let Some(p) = predicate {
        conjuncts.extend(p.shift_columns(offset as isize).conjuncts());
    }
}

/// The inputs (by their index) a condition reads.
fn leaves_of(e: &Expr, starts: &[usize]) -> Vec<usize> {
    let mut out: Vec<usize> =
        e.columns().into_iter().map(|c| starts.partition_point(|&s| s <= c) - 1).collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The greedy join order: the smallest input, then repeatedly the input joined by an
/// equality to those chosen with the smallest estimated result (a cross join only when
/// nothing is connected).
fn join_order(leaves: &[Plan], starts: &[usize], conjuncts: &[Expr]) -> Vec<usize> {
    let rows: Vec<f64> = leaves.iter().map(estimate_rows).collect();
    // Equality conditions between two inputs: (a, b, the column of b it fixes).
    let mut edges = Vec::new();
    for c in conjuncts {
        if let Expr::Compare(CmpOp::Eq, a, b) = c {
            let (la, lb) = (leaves_of(a, starts), leaves_of(b, starts));
            if let ([x], [y]) = (la.as_slice(), lb.as_slice())
                && x != y
            {
                edges.push((*x, *y, b.as_ref().clone()));
                edges.push((*y, *x, a.as_ref().clone()));
            }
        }
    }
    let first =
        (0..leaves.len()).min_by(|&a, &b| rows[a].total_cmp(&rows[b]).then(a.cmp(&b))).unwrap_or(0);
    let mut order = vec![first];
    let mut current = rows[first];
    while order.len() < leaves.len() {
        let mut best: Option<(usize, f64)> = None;
        for next in (0..leaves.len()).filter(|i| !order.contains(i)) {
            let key_distinct = edges
                .iter()
                .filter(|(from, to, _)| order.contains(from) && *to == next)
                .map(|(_, to, e)| match (e, scan_table(&leaves[*to])) {
                    (Expr::Column(c), Some(t)) => distinct(t, c - starts[*to]),
                    _ => DEFAULT_DISTINCT,
                })
                .fold(None, |acc: Option<f64>, d| Some(acc.map_or(d, |a| a.max(d))));
            let estimate = match key_distinct {
                Some(d) => current * rows[next] / d.max(1.0),
                // Not connected: a cross product, taken last.
                None => f64::INFINITY,
            };
            if best.is_none_or(|(_, b)| estimate < b) {
                best = Some((next, estimate));
            }
        }
        let (next, estimate) = best.unwrap_or((0, 0.0));
        let next = if estimate.is_infinite() {
            // Nothing joins: the smallest remaining input.
            (0..leaves.len())
                .filter(|i| !order.contains(i))
                .min_by(|&a, &b| rows[a].total_cmp(&rows[b]))
                .unwrap_or(next)
        } else {
            next
        };
        current = if estimate.is_infinite() { current * rows[next] } else { estimate.max(1.0) };
        order.push(next);
    }
    order
}

/// Joins `leaves` left-deep in `order`, each condition at the lowest join that has every
/// input it reads, then projects the columns back into the written order. An unchanged
/// order rebuilds the written left-deep shape.
fn build_join_tree(
    leaves: Vec<Plan>,
    starts: &[usize],
    order: &[usize],
    conjuncts: Vec<Expr>,
    columns: Vec<crate::plan::Column>,
) -> Plan {
    let widths: Vec<usize> = leaves.iter().map(|l| l.columns.len()).collect();
    let total: usize = widths.iter().sum();
    let mut leaves: Vec<Option<Plan>> = leaves.into_iter().map(Some).collect();
    // layout[g]: where global column g sits in the tree built so far.
    let mut layout = vec![usize::MAX; total];
    let mut pending: Vec<(Vec<usize>, Expr)> =
        conjuncts.into_iter().map(|c| (leaves_of(&c, starts), c)).collect();
    let mut placed = Vec::new();
    let mut tree: Option<Plan> = None;
    for &leaf in order {
        let plan = leaves[leaf].take().unwrap_or_else(Plan::single_row);
        let at = tree.as_ref().map_or(0, |t| t.columns.len());
        for (i, slot) in layout.iter_mut().skip(starts[leaf]).take(widths[leaf]).enumerate() {
            *slot = at + i;
        }
        placed.push(leaf);
        tree = Some(match tree {
            None => plan,
            Some(left) => {
                let (ready, rest): (Vec<_>, Vec<_>) =
                    pending.into_iter().partition(|(ls, _)| ls.iter().all(|l| placed.contains(l)));
                pending = rest;
                let predicate = Expr::and_all(
                    ready
                        .into_iter()
                        .map(|(_, c)| {
                            c.transform(&mut |e| match e {
                                Expr::Column(g) => Expr::Column(layout[g]),
                                e => e,
                            })
                        })
                        .collect(),
                );
                let joined_columns = left.columns.iter().chain(&plan.columns).cloned().collect();
                Plan::new(
                    Node::NestedLoopJoin {
                        left: Box::new(left),
                        right: Box::new(plan),
                        kind: JoinKind::Inner,
                        predicate,
                        lateral: false,
                    },
                    joined_columns,
                )
            }
        });
    }
    let tree = tree.unwrap_or_else(Plan::single_row);
    if layout.iter().enumerate().all(|(g, &at)| g == at) {
        return Plan { columns, ..tree };
    }
    let exprs = layout.iter().map(|&at| Expr::Column(at)).collect();
    Plan::new(Node::Project { input: Box::new(tree), exprs }, columns)
}

// ---- estimates ----

/// What one index lookup costs, in rows a scan reads in the same time.
const LOOKUP_COST: f64 = 10.0;
/// Rows assumed for a table never analyzed (PostgreSQL assumes a few pages' worth).
const DEFAULT_ROWS: f64 = 1000.0;
/// Distinct values assumed for a column without statistics (PostgreSQL's default).
const DEFAULT_DISTINCT: f64 = 200.0;
/// Values assumed in an array whose length is known only when the statement runs.
const DEFAULT_LIST: f64 = 10.0;
/// The share of rows a range condition or an unknown predicate keeps.
const RANGE_SELECTIVITY: f64 = 1.0 / 3.0;

/// The rows a plan is expected to produce.
pub fn estimate_rows(plan: &Plan) -> f64 {
    let rows = match &plan.node {
        Node::Values { rows } => rows.len() as f64,
        Node::Scan { table, range, filter, .. } => {
            let base = table.stats.as_ref().map_or(DEFAULT_ROWS, |s| s.rows as f64);
            let mut selectivity = 1.0;
            if let Some(range) = range {
                let key_columns = scan_key_columns(plan);
                for (values, col) in range.equal.iter().zip(key_columns) {
                    let n: f64 = values
                        .iter()
                        .map(|v| match v {
                            Expr::KeySet(set) => match &**set {
                                Expr::Subquery { plan, .. } => estimate_rows(plan),
                                Expr::Literal(oxibase_common::Value::Array(a)) => {
                                    a.elements.len() as f64
                                }
                                _ => DEFAULT_LIST,
                            },
                            _ => 1.0,
                        })
                        .sum();
                    let d = col.map_or(DEFAULT_DISTINCT, |c| distinct(table, c));
                    selectivity *= (n / d).min(1.0);
                }
                if !matches!(range.lower, Bound::Unbounded) {
                    selectivity *= RANGE_SELECTIVITY;
                }
                if !matches!(range.upper, Bound::Unbounded) {
                    selectivity *= RANGE_SELECTIVITY;
                }
            }
            // NB: the filter repeats the range's conditions; only the rest counts here.
            if let Some(filter) = filter
                && range.is_none()
            {
                selectivity *= predicate_selectivity(filter, Some(table));
            }
            base * selectivity
        }
        Node::Filter { input, predicate } => {
            estimate_rows(input) * predicate_selectivity(predicate, scan_table(input))
        }
        Node::Limit { input, limit, .. } => match limit {
            Some(Expr::Literal(v)) => {
                estimate_rows(input).min(crate::types::compare::as_i64(v).max(0) as f64)
            }
            _ => estimate_rows(input),
        },
        Node::Aggregate { input, group_by, .. } => {
            if group_by.is_empty() {
                1.0
            } else {
                let input_rows = estimate_rows(input);
                let table = scan_table(input);
                let groups: f64 = group_by
                    .iter()
                    .map(|e| match (e, table) {
                        (Expr::Column(c), Some(t)) => distinct(t, *c),
                        _ => DEFAULT_DISTINCT,
                    })
                    .product();
                groups.min(input_rows)
            }
        }
        Node::HashJoin { left, right, kind, right_keys, .. } => {
            let (l, r) = (estimate_rows(left), estimate_rows(right));
            let key_distinct = match (right_keys.first(), scan_table(right)) {
                (Some(Expr::Column(c)), Some(t)) => distinct(t, *c),
                _ => DEFAULT_DISTINCT,
            };
            let joined = l * r / key_distinct.max(1.0);
            if *kind == JoinKind::Left { joined.max(l) } else { joined }
        }
        Node::NestedLoopJoin { left, right, predicate, .. } => {
            let (l, r) = (estimate_rows(left), estimate_rows(right));
            l * r * predicate.as_ref().map_or(1.0, |p| predicate_selectivity(p, None))
        }
        Node::CteScan { plan, .. } => estimate_rows(plan),
        Node::Project { input, .. }
        | Node::Sort { input, .. }
        | Node::LockRows { input, .. }
        | Node::Window { input, .. }
        | Node::Distinct { input, .. } => estimate_rows(input),
        _ => DEFAULT_ROWS,
    };
    rows.max(1.0)
}

/// The table a plan reads its columns straight from, if it is a scan (or a filter on one).
fn scan_table(plan: &Plan) -> Option<&crate::catalog::Table> {
    match &plan.node {
        Node::Scan { table, .. } => Some(table),
        Node::Filter { input, .. } => scan_table(input),
        _ => None,
    }
}

/// The key columns of a scan's access path (None for an expression).
fn scan_key_columns(plan: &Plan) -> Vec<Option<usize>> {
    match &plan.node {
        Node::Scan { table, access: Access::Primary, .. } => {
            table.primary_key.iter().copied().map(Some).collect()
        }
        Node::Scan { access: Access::Index(i) | Access::IndexOnly(i), .. } => i
            .keys
            .iter()
            .map(|k| match k {
                IndexKey::Column(c) => Some(*c),
                IndexKey::Expr(_) => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// A column's distinct values, from statistics or the default.
fn distinct(table: &crate::catalog::Table, column: usize) -> f64 {
    table
        .stats
        .as_ref()
        .and_then(|s| s.distinct.get(column))
        .filter(|&&d| d > 0)
        .map_or(DEFAULT_DISTINCT, |&d| d as f64)
}

/// The share of rows a condition keeps: `col = value` one distinct value's worth, other
/// comparisons a third, AND multiplies, OR adds.
fn predicate_selectivity(e: &Expr, table: Option<&crate::catalog::Table>) -> f64 {
    match e {
        Expr::And(a, b) => predicate_selectivity(a, table) * predicate_selectivity(b, table),
        Expr::Or(a, b) => {
            (predicate_selectivity(a, table) + predicate_selectivity(b, table)).min(1.0)
        }
        Expr::Compare(CmpOp::Eq, a, b) => match (&**a, &**b, table) {
            (Expr::Column(c), other, Some(t)) | (other, Expr::Column(c), Some(t))
                if row_independent(other) =>
            {
                1.0 / distinct(t, *c)
            }
            _ => 1.0 / DEFAULT_DISTINCT,
        },
        Expr::Literal(oxibase_common::Value::Bool(true)) => 1.0,
        _ => RANGE_SELECTIVITY,
    }
}

/// The right side of an index nested-loop join: `right` (a plain scan) looked up through
/// its primary key or an index whose leading columns the join keys fix, with the left row's
/// key values as the lookup (the left row is the outer row while the right side runs).
fn index_lookup(right: &Plan, left_keys: &[Expr], right_keys: &[Expr]) -> Option<Plan> {
    let (table, filter) = lookup_target(right)?;
    let conjuncts = filter.clone().map(Expr::conjuncts).unwrap_or_default();
    let paths = std::iter::once((Access::Primary, KeyPart::columns(&table.primary_key))).chain(
        table.indexes.iter().filter(|i| i.valid).filter_map(|i| {
            Some((Access::Index(i.clone()), usable_key_parts(table, i, &conjuncts)?))
        }),
    );
    let mut best: Option<(Access, Vec<Expr>)> = None;
    for (access, key_parts) in paths {
        let mut lookup = Vec::new();
        for part in &key_parts {
            let matched = right_keys
                .iter()
                .position(|k| part.is(k))
                .filter(|&i| !left_keys[i].has_outer() && !has_subquery(&left_keys[i]));
            match matched {
                Some(i) => lookup.push(left_keys[i].clone()),
                None => break,
            }
        }
        if !lookup.is_empty() && best.as_ref().is_none_or(|(_, b)| lookup.len() > b.len()) {
            best = Some((access, lookup));
        }
    }
    let (access, lookup) = best?;
    let equal = lookup
        .into_iter()
        .map(|e| {
            vec![e.transform(&mut |e| match e {
                Expr::Column(index) => Expr::Outer { depth: 0, index },
                e => e,
            })]
        })
        .collect();
    let range = KeyRange { equal, lower: Bound::Unbounded, upper: Bound::Unbounded };
    Some(lookup_scan(right, access, Some(range)))
}

/// A plan's table and filter when it is a plain scan that a join may turn into lookups
/// (no range, order, lock or time yet; a filter that reads only the table's row).
fn lookup_target(plan: &Plan) -> Option<(&Arc<crate::catalog::Table>, &Option<Expr>)> {
    let Node::Scan {
        table,
        access: Access::Primary,
        range: None,
        reverse: false,
        filter,
        lock: None,
        with_key: _,
        as_of: None,
        reads: _,
    } = &plan.node
    else {
        return None;
    };
    if filter.as_ref().is_some_and(|f| f.has_outer() || has_subquery(f) || has_volatile(f)) {
        return None;
    }
    Some((table, filter))
}

/// A [`lookup_target`] scan read through `access` and `range` instead.
fn lookup_scan(scan: &Plan, access: Access, range: Option<KeyRange>) -> Plan {
    let mut plan = scan.clone();
    if let Node::Scan { access: a, range: r, reads, .. } = &mut plan.node {
        (*a, *r, *reads) = (access, range, None);
    }
    plan
}

/// The right side of a nested-loop join as a GIN index search per left row: `right` (a
/// plain scan) through an inverted index that answers a join condition whose other operand
/// reads only the left row (the outer row while the right side runs).
fn inverted_lookup(left: &Plan, right: &Plan, predicate: &Expr) -> Option<Plan> {
    let (table, filter) = lookup_target(right)?;
    let lw = left.columns.len();
    // The join's conditions over the right row, the left row's columns as outer ones.
    let candidates: Vec<Expr> = predicate
        .clone()
        .conjuncts()
        .into_iter()
        .filter(|c| !c.has_outer() && !has_subquery(c) && !has_volatile(c))
        .map(|c| {
            c.transform(&mut |e| match e {
                Expr::Column(index) if index < lw => Expr::Outer { depth: 0, index },
                Expr::Column(index) => Expr::Column(index - lw),
                e => e,
            })
        })
        .collect();
    let conjuncts = filter.clone().map(Expr::conjuncts).unwrap_or_default();
    let access = inverted_access(table, &conjuncts, &candidates)?;
    Some(lookup_scan(right, access, None))
}

// ---- ordering ----

/// Drops a sort that the input's access path already provides.
fn order_by_index(plan: Plan) -> Plan {
    let Node::Sort { input, keys } = plan.node else { return plan };
    let columns = plan.columns;
    match try_ordered_input(*input, &keys) {
        Ok(input) => input,
        Err(input) => Plan::new(Node::Sort { input: Box::new(input), keys }, columns),
    }
}

/// The input read in the order of `keys`, if its access path allows it; else the input
/// unchanged.
#[allow(clippy::result_large_err)] // both sides are the plan, moved back to the caller
fn try_ordered_input(input: Plan, keys: &[SortKey]) -> Result<Plan, Plan> {
    match input.node {
        Node::Project { input: inner, exprs } => {
            let mapped: Option<Vec<SortKey>> = keys
                .iter()
                .map(|k| match &k.expr {
                    // A projected expression orders as it would below (an index on it
                    // may provide the order).
                    Expr::Column(i) => {
                        exprs.get(*i).map(|e| SortKey { expr: e.clone(), ..k.clone() })
                    }
                    _ => None,
                })
                .collect();
            let columns = input.columns;
            let Some(mapped) = mapped else {
                return Err(Plan::new(Node::Project { input: inner, exprs }, columns));
            };
            match try_ordered_input(*inner, &mapped) {
                Ok(inner) => {
                    Ok(Plan::new(Node::Project { input: Box::new(inner), exprs }, columns))
                }
                Err(inner) => {
                    Err(Plan::new(Node::Project { input: Box::new(inner), exprs }, columns))
                }
            }
        }
        Node::Filter { input: inner, predicate } => {
            let columns = input.columns;
            match try_ordered_input(*inner, keys) {
                Ok(inner) => {
                    Ok(Plan::new(Node::Filter { input: Box::new(inner), predicate }, columns))
                }
                Err(inner) => {
                    Err(Plan::new(Node::Filter { input: Box::new(inner), predicate }, columns))
                }
            }
        }
        node @ Node::Scan { reverse: false, as_of: None, .. } => {
            let mut plan = Plan::new(node, input.columns);
            let Node::Scan { table, access, range, reverse, .. } = &mut plan.node else {
                return Err(plan);
            };
            let key_columns: Vec<(KeyPart, oxibase_common::keycode::ColumnOrder)> = match &*access {
                Access::Primary => table
                    .primary_key
                    .iter()
                    .map(|&c| (KeyPart::Column(c), oxibase_common::keycode::ColumnOrder::ASC))
                    .collect(),
                Access::Index(i) | Access::IndexOnly(i) => index_key_parts(table, i)
                    .unwrap_or_default()
                    .into_iter()
                    .zip(i.orders.iter().copied())
                    .collect(),
                // Not walked backwards (no order is claimed).
                Access::Inverted(..) => Vec::new(),
            };
            // Leading columns fixed to one value by the range do not affect the order.
            let skip = range.as_ref().map_or(0, |r| {
                r.equal.iter().take_while(|values| KeyRange::one_value(values)).count()
            });
            let usable = !key_columns.is_empty()
                && keys.len() <= key_columns.len().saturating_sub(skip)
                && range.as_ref().is_none_or(|r| r.equal.iter().all(|v| KeyRange::one_value(v)));
            let direction = if usable {
                let mut direction = None;
                let mut ok = true;
                for (k, (part, order)) in keys.iter().zip(&key_columns[skip..]) {
                    let same = part.is(&k.expr);
                    let forward = same
                        && k.descending == order.descending
                        && k.nulls_first == order.nulls_first;
                    let backward = same
                        && k.descending != order.descending
                        && k.nulls_first != order.nulls_first;
                    let d = if forward {
                        Some(false)
                    } else if backward {
                        Some(true)
                    } else {
                        None
                    };
                    match (d, direction) {
                        (Some(d), None) => direction = Some(d),
                        (Some(d), Some(prev)) if d == prev => {}
                        _ => {
                            ok = false;
                            break;
                        }
                    }
                }
                if ok { direction } else { None }
            } else {
                None
            };
            match direction {
                Some(backward) => {
                    *reverse = backward;
                    Ok(plan)
                }
                None => Err(plan),
            }
        }
        node => Err(Plan::new(node, input.columns)),
    }
}
