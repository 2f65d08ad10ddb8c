//! EXPLAIN: plans as indented text, in PostgreSQL's vocabulary where it has one.
//!
//! ```text
//!   Limit
//!     ->  Index Scan using t_pkey on t
//!           Index Cond: (id > $1)
//! ```

use std::ops::Bound;

use super::{Access, Column, Expr, JoinKind, Node, Plan, SetOp, SubqueryKind};
use crate::types::text::format_value;

/// The lines of a plan's EXPLAIN output.
pub fn explain(plan: &Plan) -> Vec<String> {
    explain_with(plan, &|_| None)
}

/// [`explain`], with `annotate`'s text (EXPLAIN ANALYZE's actual figures) after each node's
/// title.
pub fn explain_with(plan: &Plan, annotate: &dyn Fn(&Plan) -> Option<String>) -> Vec<String> {
    let mut out = Vec::new();
    node(plan, 0, true, annotate, &mut out);
    out
}

fn node(
    plan: &Plan,
    depth: usize,
    first: bool,
    annotate: &dyn Fn(&Plan) -> Option<String>,
    out: &mut Vec<String>,
) {
    let indent = if depth == 0 { String::new() } else { " ".repeat(depth * 6 - 4) };
    let arrow = if first && depth == 0 { "" } else { "->  " };
    let detail_indent = if depth == 0 { "  ".to_string() } else { " ".repeat(depth * 6 + 2) };
    let cols = |p: &Plan| p.columns.clone();
    let mut details: Vec<String> = Vec::new();
    // Lines of a node shown below this one that is not a plan node of its own.
    let mut children: Vec<String> = Vec::new();
    let title = match &plan.node {
        Node::Values { rows } => {
            if rows.len() == 1 && rows[0].is_empty() {
                "Result".to_string()
            } else {
                format!("Values Scan ({} rows)", rows.len())
            }
        }
        Node::Scan { table, access, range, reverse, filter, lock, as_of, .. } => {
            let table_cols: Vec<Column> = table
                .columns
                .iter()
                .map(|c| Column::new(c.name.clone(), c.data_type.clone()))
                .collect();
            let backward = if *reverse { " Backward" } else { "" };
            let title = match (access, range) {
                (Access::Primary, None) => format!("Seq Scan on {}", table.name),
                (Access::Primary, Some(_)) => {
                    format!("Index Scan{backward} using {}_pkey on {}", table.name, table.name)
                }
                (Access::Index(i), _) => {
                    format!("Index Scan{backward} using {} on {}", i.name, table.name)
                }
                (Access::IndexOnly(i), _) => {
                    format!("Index Only Scan{backward} using {} on {}", i.name, table.name)
                }
                (Access::Inverted(i, search), _) => {
                    // PostgreSQL's two nodes: the index's row set, then the rows.
                    let key = i.key_names(table).swap_remove(search.key);
                    let arg = expr(&search.arg, &table_cols);
                    let indent = " ".repeat(depth * 6 + 2);
                    children.push(format!("{indent}->  Bitmap Index Scan on {}", i.name));
                    children.push(format!(
                        "{indent}      Index Cond: ({key} {} {arg})",
                        search.op.sql()
                    ));
                    format!("Bitmap Heap Scan on {}", table.name)
                }
            };
            if let Some(range) = range {
                let key_names: Vec<String> = match access {
                    Access::Primary => {
                        table.primary_key.iter().map(|&c| table.columns[c].name.clone()).collect()
                    }
                    Access::Index(i) | Access::IndexOnly(i) | Access::Inverted(i, _) => {
                        i.key_names(table)
                    }
                };
                let mut conds = Vec::new();
                for (values, name) in range.equal.iter().zip(&key_names) {
                    if let [Expr::KeySet(set)] = values.as_slice() {
                        conds.push(format!("({name} = ANY ({}))", expr(set, &table_cols)));
                    } else if values.len() == 1 {
                        conds.push(format!("({name} = {})", expr(&values[0], &table_cols)));
                    } else {
                        let list: Vec<String> =
                            values.iter().map(|v| expr(v, &table_cols)).collect();
                        conds.push(format!("({name} = ANY ({}))", list.join(", ")));
                    }
                }
                if let Some(name) = key_names.get(range.equal.len()) {
                    match &range.lower {
                        Bound::Included(e) => {
                            conds.push(format!("({name} >= {})", expr(e, &table_cols)))
                        }
                        Bound::Excluded(e) => {
                            conds.push(format!("({name} > {})", expr(e, &table_cols)))
                        }
                        Bound::Unbounded => {}
                    }
                    match &range.upper {
                        Bound::Included(e) => {
                            conds.push(format!("({name} <= {})", expr(e, &table_cols)))
                        }
                        Bound::Excluded(e) => {
                            conds.push(format!("({name} < {})", expr(e, &table_cols)))
                        }
                        Bound::Unbounded => {}
                    }
                }
                if !conds.is_empty() {
                    details.push(format!("Index Cond: {}", conds.join(" AND ")));
                }
            }
            if let Some(f) = filter {
                details.push(format!("Filter: {}", expr(f, &table_cols)));
            }
            if let Some(l) = lock {
                details.push(format!("Lock: {:?} {:?}", l.mode, l.wait));
            }
            if let Some(a) = as_of {
                details.push(format!("As Of: {}", expr(a, &[])));
            }
            title
        }
        Node::LockRows { lock, .. } => {
            details.push(format!("Mode: {:?}, {:?}", lock.mode, lock.wait));
            "LockRows".into()
        }
        Node::SystemScan { table } => format!("Function Scan on {table:?}"),
        Node::SequenceScan { sequence } => format!("Seq Scan on {}", sequence.name),
        Node::Lateral { .. } => "Lateral".into(),
        Node::ProjectSet { .. } => "ProjectSet".into(),
        Node::Filter { input, predicate } => {
            details.push(format!("Filter: {}", expr(predicate, &cols(input))));
            "Filter".into()
        }
        Node::Project { input, exprs } => {
            let c = cols(input);
            details.push(format!(
                "Output: {}",
                exprs.iter().map(|e| expr(e, &c)).collect::<Vec<_>>().join(", ")
            ));
            "Project".into()
        }
        Node::NestedLoopJoin { left, right, kind, predicate, .. } => {
            if let Some(p) = predicate {
                let mut c = cols(left);
                c.extend(cols(right));
                details.push(format!("Join Filter: {}", expr(p, &c)));
            }
            format!("Nested Loop{}", join_kind(*kind))
        }
        Node::HashJoin { left, right, kind, left_keys, right_keys, residual } => {
            let (lc, rc) = (cols(left), cols(right));
            let conds: Vec<String> = left_keys
                .iter()
                .zip(right_keys)
                .map(|(l, r)| format!("({} = {})", expr(l, &lc), expr(r, &rc)))
                .collect();
            details.push(format!("Hash Cond: {}", conds.join(" AND ")));
            if let Some(r) = residual {
                let mut c = lc.clone();
                c.extend(rc);
                details.push(format!("Join Filter: {}", expr(r, &c)));
            }
            format!("Hash{} Join", join_kind(*kind))
        }
        Node::Aggregate { input, group_by, grouping_sets, .. } => {
            let c = cols(input);
            if !group_by.is_empty() {
                details.push(format!(
                    "Group Key: {}",
                    group_by.iter().map(|e| expr(e, &c)).collect::<Vec<_>>().join(", ")
                ));
            }
            if grouping_sets.is_some() {
                "MixedAggregate".into()
            } else if group_by.is_empty() {
                "Aggregate".into()
            } else {
                "HashAggregate".into()
            }
        }
        Node::Window { .. } => "WindowAgg".into(),
        Node::Sort { input, keys } => {
            let c = cols(input);
            details.push(format!(
                "Sort Key: {}",
                keys.iter()
                    .map(|k| format!(
                        "{}{}",
                        expr(&k.expr, &c),
                        if k.descending { " DESC" } else { "" }
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            "Sort".into()
        }
        Node::Limit { .. } => "Limit".into(),
        Node::Distinct { .. } => "Unique".into(),
        Node::SetOperation { op, all, .. } => {
            let suffix = if *all { " All" } else { "" };
            match op {
                SetOp::Union => format!("Append{}", if *all { "" } else { " (distinct)" }),
                SetOp::Intersect => format!("SetOp Intersect{suffix}"),
                SetOp::Except => format!("SetOp Except{suffix}"),
            }
        }
        Node::Function { function, .. } => format!("Function Scan on {function:?}"),
        Node::CteScan { id, .. } => format!("CTE Scan (cte {id})"),
        Node::Modify { statement } => match statement.as_ref() {
            crate::plan::Modify::Insert(i) => format!("Insert on {}", i.table.name),
            crate::plan::Modify::Update(u) => format!("Update on {}", u.table.name),
            crate::plan::Modify::Delete(d) => format!("Delete on {}", d.table.name),
        },
        Node::ModifyFirst { .. } => "Run data-modifying CTEs".into(),
        Node::RecursiveCte { .. } => "Recursive Union".into(),
        Node::WorkTable { id } => format!("WorkTable Scan (cte {id})"),
    };
    match annotate(plan) {
        Some(note) => out.push(format!("{indent}{arrow}{title} {note}")),
        None => out.push(format!("{indent}{arrow}{title}")),
    }
    for d in details {
        out.push(format!("{detail_indent}{d}"));
    }
    out.extend(children);
    for (i, input) in plan.inputs().into_iter().enumerate() {
        node(input, depth + 1, i == 0, annotate, out);
    }
}

fn join_kind(kind: JoinKind) -> &'static str {
    match kind {
        JoinKind::Inner => "",
        JoinKind::Left => " Left",
        JoinKind::Right => " Right",
        JoinKind::Full => " Full",
        JoinKind::Semi => " Semi",
        JoinKind::Anti => " Anti",
    }
}

/// Renders an expression with column names from the input.
pub fn expr(e: &Expr, columns: &[Column]) -> String {
    let zone = crate::types::datetime::Zone::UTC;
    let r = |x: &Expr| expr(x, columns);
    match e {
        Expr::Literal(v) => match format_value(v, &zone) {
            None => "NULL".into(),
            Some(s)
                if matches!(
                    v,
                    oxibase_common::Value::Int2(_)
                        | oxibase_common::Value::Int4(_)
                        | oxibase_common::Value::Int8(_)
                        | oxibase_common::Value::Float4(_)
                        | oxibase_common::Value::Float8(_)
                        | oxibase_common::Value::Numeric(_)
                        | oxibase_common::Value::Bool(_)
                ) =>
            {
                s
            }
            Some(s) => format!("'{}'", s.replace('\'', "''")),
        },
        Expr::Column(i) => match columns.get(*i) {
            Some(c) => c.name.clone(),
            None => format!("${}", i + 1),
        },
        Expr::Outer { depth, index } => format!("outer{depth}.{index}"),
        Expr::Param(i) => format!("${}", i + 1),
        Expr::Not(x) => format!("(NOT {})", r(x)),
        Expr::Negate(x) => format!("(-{})", r(x)),
        Expr::And(a, b) => format!("({} AND {})", r(a), r(b)),
        Expr::Or(a, b) => format!("({} OR {})", r(a), r(b)),
        Expr::Compare(op, a, b) => format!("({} {} {})", r(a), op.sql(), r(b)),
        Expr::Binary(op, a, b) => format!("({} {} {})", r(a), op.sql(), r(b)),
        Expr::IsNull(x, negated) => {
            format!("({} IS {}NULL)", r(x), if *negated { "NOT " } else { "" })
        }
        Expr::Cast(x, t) | Expr::AssignCast(x, t) => format!("({})::{}", r(x), t.name()),
        Expr::Domain(x, d) => format!("({})::{}", r(x), d.sql_name()),
        // The functions behind text search operators print as the operators.
        Expr::Call(f, args) => match (f.name, args.as_slice()) {
            ("oxibase_ts_match", [a, b]) => format!("({} @@ {})", r(a), r(b)),
            ("oxibase_tsvector_concat" | "oxibase_tsquery_or", [a, b]) => {
                format!("({} || {})", r(a), r(b))
            }
            ("oxibase_tsquery_and", [a, b]) => format!("({} && {})", r(a), r(b)),
            ("oxibase_tsquery_not", [a]) => format!("(!! {})", r(a)),
            _ => format!("{}({})", f.name, args.iter().map(r).collect::<Vec<_>>().join(", ")),
        },
        Expr::Row(fields, _) => {
            format!("ROW({})", fields.iter().map(r).collect::<Vec<_>>().join(", "))
        }
        Expr::Field(x, i) => format!("({}).f{}", r(x), i + 1),
        Expr::Routine(routine, args) => {
            format!("{}({})", routine.name, args.iter().map(r).collect::<Vec<_>>().join(", "))
        }
        Expr::ArrayCompare { expr: x, op, array, all } => {
            format!("({} {} {} ({}))", r(x), op.sql(), if *all { "ALL" } else { "ANY" }, r(array))
        }
        Expr::InList { expr: x, list, negated } => format!(
            "({} {}IN ({}))",
            r(x),
            if *negated { "NOT " } else { "" },
            list.iter().map(r).collect::<Vec<_>>().join(", ")
        ),
        Expr::Subquery { kind, correlated, .. } => {
            let what = match kind {
                SubqueryKind::Scalar => "SubPlan".to_string(),
                SubqueryKind::Exists => "EXISTS(SubPlan)".to_string(),
                SubqueryKind::In { expr, negated } => {
                    format!("({} {}IN (SubPlan))", r(expr), if *negated { "NOT " } else { "" })
                }
                SubqueryKind::InRow { exprs, negated } => format!(
                    "(({}) {}IN (SubPlan))",
                    exprs.iter().map(r).collect::<Vec<_>>().join(", "),
                    if *negated { "NOT " } else { "" }
                ),
                SubqueryKind::Any { expr, op } => {
                    format!("({} {} ANY (SubPlan))", r(expr), op.sql())
                }
                SubqueryKind::All { expr, op } => {
                    format!("({} {} ALL (SubPlan))", r(expr), op.sql())
                }
                SubqueryKind::Array => "ARRAY(SubPlan)".to_string(),
            };
            if *correlated { what } else { format!("{what} (cached)") }
        }
        other => {
            let children: Vec<String> = other.children().into_iter().map(r).collect();
            format!("{}({})", variant_name(other), children.join(", "))
        }
    }
}

fn variant_name(e: &Expr) -> &'static str {
    match e {
        Expr::IsBool(..) => "is_bool",
        Expr::IsDistinct(..) => "is_distinct",
        Expr::Like { .. } => "like",
        Expr::Similar { .. } => "similar",
        Expr::Regex { .. } => "regex",
        Expr::ArrayCompare { .. } => "array_compare",
        Expr::Case { .. } => "CASE",
        Expr::Coalesce(..) => "COALESCE",
        Expr::NullIf(..) => "NULLIF",
        Expr::Extreme(_, true) => "GREATEST",
        Expr::Extreme(_, false) => "LEAST",
        Expr::Array(..) => "ARRAY",
        Expr::Subscript(..) => "subscript",
        _ => "expr",
    }
}
