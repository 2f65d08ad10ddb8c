//! Binding queries: SELECT blocks, FROM and joins, set operations, VALUES, CTEs, ORDER BY,
//! LIMIT and row locking.
//!
//! A SELECT block becomes, bottom up:
//!
//! ```text
//!   Project (drop hidden sort keys)
//!    └ Limit
//!       └ LockRows (FOR UPDATE: lock each returned row, skip or wait)
//!          └ Sort / Distinct
//!             └ Project (select list + hidden ORDER BY keys)
//!                └ Window
//!                   └ Filter (HAVING)
//!                      └ Aggregate
//!                         └ Filter (WHERE)
//!                            └ FROM (scans and joins)
//! ```

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use oxibase_common::{DataType, Result, Value, errinput};
use oxibase_mvcc::{LockMode, LockWait};
use sqlparser::ast;

use super::expr::{AggState, ExprCtx, SRF_MARK, WindowState};
use super::scope::Scope;
use super::{Binder, Cte, Relation, Statement, ident, split_name};
use crate::catalog::Table;
use crate::plan::{
    Access, CmpOp, Column, Expr, JoinKind, Modify, Node, Plan, RowLock, SetOp, SortKey,
    TableFunction,
};
use crate::types::SqlType;

/// The name of the hidden column carrying a table row's key.
pub const KEY_COLUMN: &str = "?key?";

impl Binder<'_> {
    /// Binds a query (with its WITH, ORDER BY, LIMIT and locking clauses).
    /// Binds a query (for the executor: a materialized view's stored query).
    pub(crate) fn bind_query_plan(&self, query: &ast::Query) -> Result<Plan> {
        self.bind_query(query)
    }

    pub(super) fn bind_query(&self, query: &ast::Query) -> Result<Plan> {
        let _depth = super::Nesting::enter()?;
        self.query_depth.set(self.query_depth.get() + 1);
        let result = self.with_ctes(
            query,
            || self.bind_query_body(query),
            |plan, ctes| {
                let columns = plan.columns.clone();
                Ok(Plan::new(Node::ModifyFirst { ctes, input: Box::new(plan) }, columns))
            },
        );
        self.query_depth.set(self.query_depth.get() - 1);
        result
    }

    /// Binds `body` with the query's WITH in scope; `wrap` attaches the data-modifying CTEs,
    /// if there are any, so that they run before the statement's own rows are produced.
    fn with_ctes<T>(
        &self,
        query: &ast::Query,
        body: impl FnOnce() -> Result<T>,
        wrap: impl FnOnce(T, Vec<(usize, Arc<Plan>)>) -> Result<T>,
    ) -> Result<T> {
        let Some(with) = &query.with else { return body() };
        self.modifying_ctes.borrow_mut().push(Vec::new());
        // bind_with pushes the WITH's frame first thing, so it is popped whatever happens.
        let result = self.bind_with(with).and_then(|()| body());
        self.ctes.borrow_mut().pop();
        let modifying = self.modifying_ctes.borrow_mut().pop().unwrap_or_default();
        let bound = result?;
        if modifying.is_empty() { Ok(bound) } else { wrap(bound, modifying) }
    }

    /// `WITH ... INSERT/UPDATE/DELETE`: the statement with its CTEs run first.
    pub(super) fn bind_with_modify(&self, query: &ast::Query) -> Result<Statement> {
        let body = || -> Result<Statement> {
            Ok(match &*query.body {
                ast::SetExpr::Insert(ast::Statement::Insert(i)) => {
                    Statement::Insert(Box::new(self.bind_insert(i)?))
                }
                ast::SetExpr::Update(ast::Statement::Update(u)) => {
                    Statement::Update(Box::new(self.bind_update(u)?))
                }
                ast::SetExpr::Delete(ast::Statement::Delete(d)) => {
                    Statement::Delete(Box::new(self.bind_delete(d)?))
                }
                other => {
                    return Err(errinput!(
                        FEATURE_NOT_SUPPORTED,
                        "statement not supported: {other}"
                    ));
                }
            })
        };
        self.with_ctes(query, body, |mut statement, ctes| {
            let source = match &mut statement {
                Statement::Insert(i) => &mut i.source,
                Statement::Update(u) => &mut u.source,
                Statement::Delete(d) => &mut d.source,
                _ => unreachable!("bound a data-modifying statement"),
            };
            let input = std::mem::replace(source, Plan::single_row());
            let columns = input.columns.clone();
            *source = Plan::new(Node::ModifyFirst { ctes, input: Box::new(input) }, columns);
            Ok(statement)
        })
    }

    /// Binds a data-modifying statement in WITH; its RETURNING rows are the CTE's rows.
    fn bind_modifying_cte(&self, body: &ast::SetExpr, name: &str) -> Result<Plan> {
        // The statement's own WITH is bound at depth 1 (0 for WITH ... INSERT/UPDATE/DELETE);
        // a CTE's body, a subquery or a derived table is deeper.
        if self.query_depth.get() > 1 {
            return Err(errinput!(
                FEATURE_NOT_SUPPORTED,
                "WITH clause containing a data-modifying statement must be at the top level"
            ));
        }
        let statement = match body {
            ast::SetExpr::Insert(ast::Statement::Insert(i)) => {
                let mut i = self.bind_insert(i)?;
                i.source =
                    crate::optimize::optimize(std::mem::replace(&mut i.source, Plan::single_row()));
                Modify::Insert(i)
            }
            ast::SetExpr::Update(ast::Statement::Update(u)) => {
                let mut u = self.bind_update(u)?;
                u.source =
                    crate::optimize::optimize(std::mem::replace(&mut u.source, Plan::single_row()));
                Modify::Update(u)
            }
            ast::SetExpr::Delete(ast::Statement::Delete(d)) => {
                let mut d = self.bind_delete(d)?;
                d.source =
                    crate::optimize::optimize(std::mem::replace(&mut d.source, Plan::single_row()));
                Modify::Delete(d)
            }
            other => {
                return Err(errinput!(
                    FEATURE_NOT_SUPPORTED,
                    "WITH query \"{name}\" is not supported: {other}"
                ));
            }
        };
        let returning = match &statement {
            Modify::Insert(i) => i.returning.as_ref(),
            Modify::Update(u) => u.returning.as_ref(),
            Modify::Delete(d) => d.returning.as_ref(),
        };
        let columns = returning.map(|r| r.columns.clone()).unwrap_or_default();
        Ok(Plan::new(Node::Modify { statement: Arc::new(statement) }, columns))
    }

    fn bind_query_body(&self, query: &ast::Query) -> Result<Plan> {
        let order_by: &[ast::OrderByExpr] = match &query.order_by {
            Some(ob) => match &ob.kind {
                ast::OrderByKind::Expressions(exprs) => exprs,
                ast::OrderByKind::All(_) => {
                    return Err(errinput!(FEATURE_NOT_SUPPORTED, "ORDER BY ALL is not supported"));
                }
            },
            None => &[],
        };
        let limits = self.bind_limit(query)?;
        let lock = lock_clause(&query.locks)?;
        if let ast::SetExpr::Select(select) = &*query.body {
            return self.bind_select(select, order_by, limits, lock);
        }
        if lock.is_some() {
            return Err(errinput!(
                FEATURE_NOT_SUPPORTED,
                "FOR UPDATE is not allowed with UNION, INTERSECT, EXCEPT or VALUES"
            ));
        }
        let plan = self.bind_set_expr(&query.body)?;
        let plan = self.order_output(plan, order_by)?;
        Ok(limit_plan(plan, limits))
    }

    fn bind_limit(&self, query: &ast::Query) -> Result<Limits> {
        let empty = Scope::default();
        let ctx = ExprCtx::plain(&empty, "LIMIT");
        let bind = |e: &ast::Expr, what: &'static str| -> Result<Option<Expr>> {
            let (x, t) = self.bind_expr(e, &ExprCtx { clause: what, ..ctx })?;
            if matches!(x, Expr::Literal(Value::Null)) {
                return Ok(None); // LIMIT NULL / LIMIT ALL means no limit
            }
            Ok(Some(self.coerce(x, &t, &DataType::Int8)?))
        };
        let (mut limit, mut offset) = (None, None);
        match &query.limit_clause {
            Some(ast::LimitClause::LimitOffset { limit: l, offset: o, .. }) => {
                if let Some(l) = l {
                    limit = bind(l, "LIMIT")?;
                }
                if let Some(o) = o {
                    offset = bind(&o.value, "OFFSET")?;
                }
            }
            Some(ast::LimitClause::OffsetCommaLimit { offset: o, limit: l }) => {
                limit = bind(l, "LIMIT")?;
                offset = bind(o, "OFFSET")?;
            }
            None => {}
        }
        let mut ties = false;
        if let Some(fetch) = &query.fetch {
            if fetch.percent {
                return Err(errinput!(FEATURE_NOT_SUPPORTED, "FETCH ... PERCENT is not supported"));
            }
            if fetch.with_ties && query.order_by.is_none() {
                return Err(errinput!(
                    SYNTAX_ERROR,
                    "WITH TIES cannot be specified without ORDER BY clause"
                ));
            }
            ties = fetch.with_ties;
            limit = match &fetch.quantity {
                Some(q) => bind(q, "FETCH")?,
                None => Some(Expr::lit(1i64)),
            };
        }
        Ok(Limits { limit, offset, ties })
    }

    fn bind_with(&self, with: &ast::With) -> Result<()> {
        self.ctes.borrow_mut().push(HashMap::new());
        for cte in &with.cte_tables {
            let name = ident(&cte.alias.name);
            if self.ctes.borrow().last().is_some_and(|frame| frame.contains_key(&name)) {
                return Err(errinput!(
                    DUPLICATE_ALIAS,
                    "WITH query name \"{name}\" specified more than once"
                ));
            }
            let id = self.next_id();
            let aliases: Vec<String> = cte.alias.columns.iter().map(|c| ident(&c.name)).collect();
            let plan = match (&*cte.query.body, with.recursive) {
                (
                    ast::SetExpr::SetOperation {
                        left,
                        op: ast::SetOperator::Union,
                        set_quantifier,
                        right,
                    },
                    true,
                ) if references(right, &name) => self.bind_recursive_cte(
                    &name,
                    id,
                    &aliases,
                    left,
                    right,
                    !matches!(set_quantifier, ast::SetQuantifier::All),
                )?,
                (
                    body @ (ast::SetExpr::Insert(_)
                    | ast::SetExpr::Update(_)
                    | ast::SetExpr::Delete(_)),
                    _,
                ) => {
                    let plan = self.bind_modifying_cte(body, &name)?;
                    let plan = Arc::new(rename_columns(plan, &aliases, &name)?);
                    if let Some(list) = self.modifying_ctes.borrow_mut().last_mut() {
                        list.push((id, plan.clone()));
                    }
                    Arc::unwrap_or_clone(plan)
                }
                _ => {
                    let plan = self.bind_query(&cte.query)?;
                    rename_columns(plan, &aliases, &name)?
                }
            };
            let columns = plan.columns.clone();
            if let Some(frame) = self.ctes.borrow_mut().last_mut() {
                // Replaces the recursive CTE's placeholder, if it has one.
                frame.insert(name.clone(), Cte { id, plan: Some(Arc::new(plan)), columns });
            }
        }
        Ok(())
    }

    fn bind_recursive_cte(
        &self,
        name: &str,
        id: usize,
        aliases: &[String],
        anchor: &ast::SetExpr,
        recursive: &ast::SetExpr,
        distinct: bool,
    ) -> Result<Plan> {
        let anchor = rename_columns(self.bind_set_expr(anchor)?, aliases, name)?;
        let columns = anchor.columns.clone();
        // The recursive part sees the CTE as the previous iteration's rows.
        if let Some(frame) = self.ctes.borrow_mut().last_mut() {
            frame.insert(name.to_string(), Cte { id, plan: None, columns: columns.clone() });
        }
        let recursive = self.bind_set_expr(recursive)?;
        if recursive.columns.len() != columns.len() {
            return Err(errinput!(
                SYNTAX_ERROR,
                "each UNION query must have the same number of columns"
            ));
        }
        let recursive = cast_columns(
            recursive,
            &columns.iter().map(|c| c.data_type.clone()).collect::<Vec<_>>(),
        );
        Ok(Plan::new(
            Node::RecursiveCte {
                id,
                anchor: Box::new(anchor),
                recursive: Box::new(recursive),
                distinct,
            },
            columns,
        ))
    }

    fn bind_set_expr(&self, body: &ast::SetExpr) -> Result<Plan> {
        match body {
            ast::SetExpr::Select(select) => self.bind_select(select, &[], Limits::default(), None),
            ast::SetExpr::Query(query) => self.bind_query(query),
            ast::SetExpr::Values(values) => self.bind_values(values),
            ast::SetExpr::SetOperation { left, op, set_quantifier, right } => {
                let op = match op {
                    ast::SetOperator::Union => SetOp::Union,
                    ast::SetOperator::Intersect => SetOp::Intersect,
                    ast::SetOperator::Except | ast::SetOperator::Minus => SetOp::Except,
                };
                let all = matches!(set_quantifier, ast::SetQuantifier::All);
                let (left, right) = (self.bind_set_expr(left)?, self.bind_set_expr(right)?);
                let what = match op {
                    SetOp::Union => "UNION",
                    SetOp::Intersect => "INTERSECT",
                    SetOp::Except => "EXCEPT",
                };
                if left.columns.len() != right.columns.len() {
                    return Err(errinput!(
                        SYNTAX_ERROR,
                        "each {what} query must have the same number of columns"
                    ));
                }
                // A bare NULL takes the other side's type, as an unknown-typed literal does in
                // PostgreSQL (`SELECT 1 UNION ALL SELECT NULL`).
                let side = |plan: &Plan, i: usize| match bare_null(plan, i) {
                    true => SqlType::Unknown,
                    false => SqlType::Known(plan.columns[i].data_type.clone()),
                };
                let types = (0..left.columns.len())
                    .map(|i| self.unify(&[side(&left, i), side(&right, i)], what))
                    .collect::<Result<Vec<_>>>()?;
                let left = cast_columns(left, &types);
                let right = cast_columns(right, &types);
                let columns =
                    left.columns.iter().map(|c| Column { table: None, ..c.clone() }).collect();
                Ok(Plan::new(
                    Node::SetOperation { left: Box::new(left), right: Box::new(right), op, all },
                    columns,
                ))
            }
            ast::SetExpr::Table(table) => {
                let table_name = table
                    .table_name
                    .clone()
                    .ok_or_else(|| errinput!(SYNTAX_ERROR, "TABLE needs a table name"))?;
                let parts = table.schema_name.iter().cloned().chain([table_name]);
                let name = ast::ObjectName(parts.map(ast::ObjectNamePart::Identifier).collect());
                let (plan, _) = self.bind_table_factor_plan(&name, None)?;
                // SELECT * FROM name: the visible columns, not the row key riding along.
                let visible: Vec<usize> =
                    (0..plan.columns.len()).filter(|&i| !plan.columns[i].hidden).collect();
                let columns = visible.iter().map(|&i| plan.columns[i].clone()).collect();
                let exprs = visible.into_iter().map(Expr::Column).collect();
                Ok(Plan::new(Node::Project { input: Box::new(plan), exprs }, columns))
            }
            other => Err(errinput!(FEATURE_NOT_SUPPORTED, "query form not supported: {other}")),
        }
    }

    fn bind_values(&self, values: &ast::Values) -> Result<Plan> {
        let empty = Scope::default();
        let ctx = ExprCtx::plain(&empty, "VALUES");
        let rows: Vec<Vec<(Expr, SqlType)>> = values
            .rows
            .iter()
            .map(|row| row.iter().map(|e| self.bind_expr(e, &ctx)).collect::<Result<Vec<_>>>())
            .collect::<Result<_>>()?;
        let width = rows.first().map_or(0, Vec::len);
        if rows.iter().any(|r| r.len() != width) {
            return Err(errinput!(SYNTAX_ERROR, "VALUES lists must all be the same length"));
        }
        let types = (0..width)
            .map(|i| self.unify(&rows.iter().map(|r| r[i].1.clone()).collect::<Vec<_>>(), "VALUES"))
            .collect::<Result<Vec<_>>>()?;
        let rows = rows
            .into_iter()
            .map(|row| {
                row.into_iter()
                    .zip(&types)
                    .map(|((e, t), ty)| self.coerce(e, &t, ty))
                    .collect::<Result<Vec<_>>>()
            })
            .collect::<Result<_>>()?;
        let columns = types
            .into_iter()
            .enumerate()
            .map(|(i, t)| Column::new(format!("column{}", i + 1), t))
            .collect();
        Ok(Plan::new(Node::Values { rows }, columns))
    }

    /// ORDER BY over a query's output columns (set operations, VALUES).
    fn order_output(&self, plan: Plan, order_by: &[ast::OrderByExpr]) -> Result<Plan> {
        if order_by.is_empty() {
            return Ok(plan);
        }
        let scope = Scope::new(plan.columns.clone());
        let ctx = ExprCtx::plain(&scope, "ORDER BY");
        let keys = order_by
            .iter()
            .map(|o| {
                let expr = match output_reference(&o.expr, &plan.columns)? {
                    Some(i) => Expr::Column(i),
                    None => self.bind_expr(&o.expr, &ctx)?.0,
                };
                Ok(sort_key(expr, o))
            })
            .collect::<Result<Vec<_>>>()?;
        let columns = plan.columns.clone();
        Ok(Plan::new(Node::Sort { input: Box::new(plan), keys }, columns))
    }

    #[allow(clippy::too_many_lines)]
    fn bind_select(
        &self,
        select: &ast::Select,
        order_by: &[ast::OrderByExpr],
        limits: Limits,
        lock: Option<(RowLock, Vec<String>)>,
    ) -> Result<Plan> {
        self.named_windows.borrow_mut().push(select.named_window.clone());
        let result = self.bind_select_inner(select, order_by, limits, lock);
        self.named_windows.borrow_mut().pop();
        result
    }

    fn bind_select_inner(
        &self,
        select: &ast::Select,
        order_by: &[ast::OrderByExpr],
        limits: Limits,
        lock: Option<(RowLock, Vec<String>)>,
    ) -> Result<Plan> {
        if select.into.is_some() {
            return Err(errinput!(
                FEATURE_NOT_SUPPORTED,
                "SELECT INTO is not supported; use CREATE TABLE ... AS"
            ));
        }
        let with_keys = lock.is_some();
        let (mut plan, scope) = self.bind_from(&select.from, with_keys)?;
        // A locking query over one table can redo a row from its latest version (Recheck).
        let single_table = match &plan.node {
            Node::Scan { table, .. } if with_keys => Some(table.clone()),
            _ => None,
        };
        let mut where_predicate = None;
        if let Some(selection) = &select.selection {
            let predicate = self.bind_condition(selection, &ExprCtx::plain(&scope, "WHERE"))?;
            where_predicate = Some(predicate.clone());
            plan = filter(plan, predicate);
        }
        let group_asts = self.group_by_asts(select)?;
        let aggregating = !group_asts.is_empty()
            || select.having.is_some()
            || select
                .projection
                .iter()
                .any(|item| select_item_expr(item).is_some_and(contains_aggregate))
            || order_by.iter().any(|o| contains_aggregate(&o.expr));
        if with_keys && aggregating {
            return Err(errinput!(
                FEATURE_NOT_SUPPORTED,
                "FOR UPDATE is not allowed with GROUP BY clause or aggregate functions"
            ));
        }

        let agg_state = aggregating.then(|| RefCell::new(AggState::new(scope.clone())));
        let mut grouping_sets = None;
        if let Some(state) = &agg_state {
            grouping_sets = self.bind_group_by(select, &group_asts, state)?;
            state.borrow_mut().grouping_column = grouping_sets.is_some();
        }
        // Window results follow the window's input row, whose width is known only once every
        // aggregate is found: they are bound at a mark and moved into place below.
        let windows = RefCell::new(WindowState { base: WINDOW_MARK, calls: vec![], types: vec![] });
        let srfs = RefCell::new(Vec::new());
        let ctx = ExprCtx {
            scope: &scope,
            agg: agg_state.as_ref(),
            windows: Some(&windows),
            srfs: Some(&srfs),
            clause: "SELECT",
        };

        // The select list.
        let mut exprs = Vec::new();
        let mut columns = Vec::new();
        for item in &select.projection {
            self.bind_select_item(item, &ctx, &scope, &mut exprs, &mut columns)?;
        }
        let visible = exprs.len();
        let having = select
            .having
            .as_ref()
            .map(|h| {
                self.bind_condition(
                    h,
                    &ExprCtx { clause: "HAVING", windows: None, srfs: None, ..ctx },
                )
            })
            .transpose()?;

        // DISTINCT ON keys and ORDER BY keys beyond the select list become hidden columns.
        let distinct_on = match &select.distinct {
            Some(ast::Distinct::On(keys)) => Some(
                keys.iter()
                    .map(|k| self.output_or_hidden(k, &ctx, &mut exprs, &mut columns, visible))
                    .collect::<Result<Vec<_>>>()?,
            ),
            _ => None,
        };
        let distinct = matches!(select.distinct, Some(ast::Distinct::Distinct));
        let mut keys = Vec::new();
        for o in order_by {
            let index = self.output_or_hidden(&o.expr, &ctx, &mut exprs, &mut columns, visible)?;
            if distinct && index >= visible {
                return Err(errinput!(
                    INVALID_COLUMN_REFERENCE,
                    "for SELECT DISTINCT, ORDER BY expressions must appear in select list"
                ));
            }
            keys.push(sort_key(Expr::Column(index), o));
        }
        if let Some(on) = &distinct_on
            && !keys.is_empty()
            && !on.iter().zip(&keys).all(|(i, k)| matches!(k.expr, Expr::Column(c) if c == *i))
            && keys.len() >= on.len().min(keys.len())
            && on.iter().any(|i| {
                !keys.iter().take(on.len()).any(|k| matches!(k.expr, Expr::Column(c) if c == *i))
            })
        {
            return Err(errinput!(
                INVALID_COLUMN_REFERENCE,
                "SELECT DISTINCT ON expressions must match initial ORDER BY expressions"
            ));
        }
        // Row keys ride along as hidden columns for FOR UPDATE.
        let mut lock_targets = match &lock {
            Some((_, of)) => self.lock_targets(&scope, of, &mut exprs, &mut columns)?,
            None => vec![],
        };
        if let Some(table) = single_table
            && lock_targets.len() == 1
            && exprs
                .iter()
                .chain(&where_predicate)
                .all(|e| e.columns().iter().all(|c| *c < scope.columns.len()) && !e.has_outer())
        {
            lock_targets[0].recheck = Some(Arc::new(crate::plan::Recheck {
                table,
                filter: where_predicate,
                outputs: exprs.clone(),
            }));
        }

        // Assemble: aggregate, having, window, project, distinct, sort, lock, limit.
        if let Some(state) = agg_state {
            let state = state.into_inner();
            let mut agg_columns: Vec<Column> = state
                .group_exprs
                .iter()
                .zip(&state.group_types)
                .map(|(e, t)| match e {
                    Expr::Column(i) => Column { data_type: t.clone(), ..scope.columns[*i].clone() },
                    _ => Column::new("?column?", t.clone()),
                })
                .collect();
            if state.grouping_column {
                agg_columns
                    .push(Column { hidden: true, ..Column::new("?grouping?", DataType::Int8) });
            }
            agg_columns.extend(
                state.aggregate_types.iter().map(|t| Column::new("?aggregate?", t.clone())),
            );
            plan = Plan::new(
                Node::Aggregate {
                    input: Box::new(plan),
                    group_by: state.group_exprs,
                    grouping_sets,
                    aggregates: state.aggregates,
                },
                agg_columns,
            );
        }
        if let Some(having) = having {
            plan = filter(plan, having);
        }
        let windows = windows.into_inner();
        if !windows.calls.is_empty() {
            let base = plan.columns.len();
            exprs = exprs
                .into_iter()
                .map(|e| {
                    e.remap_columns(&|i| {
                        if i >= WINDOW_MARK { base + (i - WINDOW_MARK) } else { i }
                    })
                })
                .collect();
            let mut window_columns = plan.columns.clone();
            window_columns.extend(windows.types.iter().map(|t| Column::new("?window?", t.clone())));
            plan = Plan::new(
                Node::Window { input: Box::new(plan), calls: windows.calls },
                window_columns,
            );
        }
        let srfs = srfs.into_inner();
        if !srfs.is_empty() {
            // Set-returning functions of the select list: each input row becomes as many rows
            // as the longest of them returns (PostgreSQL's ProjectSet).
            let base = plan.columns.len();
            exprs = exprs
                .into_iter()
                .map(|e| {
                    e.remap_columns(&|i| if i >= SRF_MARK { base + (i - SRF_MARK) } else { i })
                })
                .collect();
            let mut set_columns = plan.columns.clone();
            set_columns.extend(srfs.iter().map(|(_, _, t)| Column::new("?srf?", t.clone())));
            let functions = srfs.into_iter().map(|(f, a, _)| (f, a)).collect();
            plan = Plan::new(Node::ProjectSet { input: Box::new(plan), functions }, set_columns);
        }
        plan = Plan::new(Node::Project { input: Box::new(plan), exprs }, columns.clone());
        if distinct {
            plan = Plan::new(Node::Distinct { input: Box::new(plan), on: None }, columns.clone());
        }
        if let Some(on) = distinct_on {
            // DISTINCT ON keeps the first row of each key in ORDER BY order.
            let mut sort_keys: Vec<SortKey> = on
                .iter()
                .map(|i| SortKey { expr: Expr::Column(*i), descending: false, nulls_first: false })
                .collect();
            for k in keys.drain(..) {
                if let Some(existing) = sort_keys
                    .iter_mut()
                    .find(|s| format!("{:?}", s.expr) == format!("{:?}", k.expr))
                {
                    *existing = k;
                } else {
                    sort_keys.push(k);
                }
            }
            plan =
                Plan::new(Node::Sort { input: Box::new(plan), keys: sort_keys }, columns.clone());
            let on = on.into_iter().map(Expr::Column).collect();
            plan =
                Plan::new(Node::Distinct { input: Box::new(plan), on: Some(on) }, columns.clone());
        }
        if !keys.is_empty() {
            plan = Plan::new(Node::Sort { input: Box::new(plan), keys }, columns.clone());
        }
        if let Some((row_lock, _)) = lock {
            plan = Plan::new(
                Node::LockRows { input: Box::new(plan), targets: lock_targets, lock: row_lock },
                columns.clone(),
            );
        }
        plan = limit_plan(plan, limits);
        if columns.len() > visible {
            let exprs = (0..visible).map(Expr::Column).collect();
            plan = Plan::new(
                Node::Project { input: Box::new(plan), exprs },
                columns[..visible].to_vec(),
            );
        }
        Ok(plan)
    }

    /// An ORDER BY or DISTINCT ON key: a select-list position or alias, or a new hidden column.
    fn output_or_hidden(
        &self,
        e: &ast::Expr,
        ctx: &ExprCtx,
        exprs: &mut Vec<Expr>,
        columns: &mut Vec<Column>,
        visible: usize,
    ) -> Result<usize> {
        if let Some(i) = output_reference(e, &columns[..visible])? {
            return Ok(i);
        }
        let (expr, ty) = self.bind_expr(e, &ExprCtx { clause: "ORDER BY", ..*ctx })?;
        let key = format!("{expr:?}");
        if let Some(i) = exprs.iter().position(|x| format!("{x:?}") == key) {
            return Ok(i);
        }
        exprs.push(expr);
        columns.push(Column { hidden: true, ..Column::new("?sort?", ty.resolve()) });
        Ok(exprs.len() - 1)
    }

    fn bind_select_item(
        &self,
        item: &ast::SelectItem,
        ctx: &ExprCtx,
        scope: &Scope,
        exprs: &mut Vec<Expr>,
        columns: &mut Vec<Column>,
    ) -> Result<()> {
        match item {
            ast::SelectItem::UnnamedExpr(e) if all_fields_of(e).is_some() => {
                let Some(record) = all_fields_of(e) else { unreachable!("checked by the guard") };
                let (expr, ty) = self.bind_expr(&record, ctx)?;
                let SqlType::Known(DataType::Record(r)) = &ty else {
                    return Err(errinput!(
                        UNDEFINED_COLUMN,
                        "column notation .* applied to type {}, which is not a composite type",
                        ty.resolve().name()
                    ));
                };
                if r.fields.is_empty() {
                    return Err(errinput!(
                        FEATURE_NOT_SUPPORTED,
                        "record type has not been registered"
                    ));
                }
                // Each field reads the value again, as PostgreSQL's expansion does.
                for (i, (name, field_type)) in r.fields.iter().enumerate() {
                    exprs.push(match &expr {
                        Expr::Row(fields, _) => fields[i].clone(),
                        e => Expr::Field(Box::new(e.clone()), i),
                    });
                    columns.push(Column::new(name.clone(), field_type.clone()));
                }
            }
            ast::SelectItem::UnnamedExpr(e) => {
                let (expr, ty) = self.bind_expr(e, ctx)?;
                exprs.push(expr);
                columns.push(Column::new(column_name(e), ty.resolve()));
            }
            ast::SelectItem::ExprWithAlias { expr, alias } => {
                let (x, ty) = self.bind_expr(expr, ctx)?;
                exprs.push(x);
                columns.push(Column::new(ident(alias), ty.resolve()));
            }
            ast::SelectItem::Wildcard(_) | ast::SelectItem::QualifiedWildcard(..) => {
                let positions = match item {
                    ast::SelectItem::QualifiedWildcard(kind, _) => {
                        let name = match kind {
                            ast::SelectItemQualifiedWildcardKind::ObjectName(n) => split_name(n)?.1,
                            ast::SelectItemQualifiedWildcardKind::Expr(e) => e.to_string(),
                        };
                        if !scope.has_table(&name) {
                            return Err(errinput!(
                                UNDEFINED_TABLE,
                                "missing FROM-clause entry for table \"{name}\""
                            ));
                        }
                        scope.table_columns(&name)
                    }
                    _ => scope.visible(),
                };
                if ctx.agg.is_some() && !positions.is_empty() {
                    // Each column must be grouped; bind them by name to get the same errors.
                    for i in positions {
                        let c = &scope.columns[i];
                        let ident = ast::Expr::CompoundIdentifier(vec![
                            ast::Ident::with_quote('"', c.table.clone().unwrap_or_default()),
                            ast::Ident::with_quote('"', c.name.clone()),
                        ]);
                        let (x, ty) = if c.table.is_some() {
                            self.bind_expr(&ident, ctx)?
                        } else {
                            self.bind_expr(
                                &ast::Expr::Identifier(ast::Ident::with_quote('"', c.name.clone())),
                                ctx,
                            )?
                        };
                        exprs.push(x);
                        columns.push(Column { data_type: ty.resolve(), ..c.clone() });
                    }
                } else {
                    for i in positions {
                        exprs.push(Expr::Column(i));
                        columns.push(Column { hidden: false, ..scope.columns[i].clone() });
                    }
                }
            }
            other => {
                return Err(errinput!(FEATURE_NOT_SUPPORTED, "select item not supported: {other}"));
            }
        }
        Ok(())
    }

    /// The GROUP BY expressions as written, with positions (`GROUP BY 1`) and output aliases
    /// resolved to the select list's expressions.
    fn group_by_asts(&self, select: &ast::Select) -> Result<Vec<ast::Expr>> {
        let ast::GroupByExpr::Expressions(exprs, modifiers) = &select.group_by else {
            return Err(errinput!(FEATURE_NOT_SUPPORTED, "GROUP BY ALL is not supported"));
        };
        if !modifiers.is_empty() {
            return Err(errinput!(
                FEATURE_NOT_SUPPORTED,
                "GROUP BY modifiers are not supported; use ROLLUP(...) or CUBE(...)"
            ));
        }
        exprs.iter().map(|e| self.resolve_output_ref(e, select)).collect()
    }

    fn resolve_output_ref(&self, e: &ast::Expr, select: &ast::Select) -> Result<ast::Expr> {
        if let ast::Expr::Value(v) = e
            && let ast::Value::Number(n, _) = &v.value
        {
            let i: usize =
                n.parse().map_err(|_| errinput!(SYNTAX_ERROR, "invalid GROUP BY position {n}"))?;
            return match select.projection.get(i.wrapping_sub(1)).and_then(select_item_expr) {
                Some(expr) => Ok(expr.clone()),
                None => Err(errinput!(
                    INVALID_COLUMN_REFERENCE,
                    "GROUP BY position {i} is not in select list"
                )),
            };
        }
        if let ast::Expr::Identifier(id) = e {
            let name = ident(id);
            for item in &select.projection {
                if let ast::SelectItem::ExprWithAlias { expr, alias } = item
                    && ident(alias) == name
                {
                    return Ok(expr.clone());
                }
            }
        }
        Ok(e.clone())
    }

    /// Binds GROUP BY into the aggregation state; returns grouping sets for ROLLUP, CUBE and
    /// GROUPING SETS.
    fn bind_group_by(
        &self,
        select: &ast::Select,
        group_asts: &[ast::Expr],
        state: &RefCell<AggState>,
    ) -> Result<Option<Vec<Vec<usize>>>> {
        let input = state.borrow().input.clone();
        let ctx = ExprCtx::plain(&input, "GROUP BY");
        let mut sets: Option<Vec<Vec<usize>>> = None;
        let add = |this: &Self, e: &ast::Expr| -> Result<usize> {
            let e = this.resolve_output_ref(e, select)?;
            let mut s = state.borrow_mut();
            if let Some(i) = s.group_asts.iter().position(|g| *g == e) {
                return Ok(i);
            }
            let (x, t) = this.bind_expr(&e, &ctx)?;
            s.group_asts.push(e);
            s.group_exprs.push(x);
            s.group_types.push(t.resolve());
            Ok(s.group_exprs.len() - 1)
        };
        let mut plain = Vec::new();
        for e in group_asts {
            match e {
                ast::Expr::Rollup(lists) | ast::Expr::Cube(lists) => {
                    let items = lists
                        .iter()
                        .map(|l| l.iter().map(|x| add(self, x)).collect::<Result<Vec<_>>>())
                        .collect::<Result<Vec<_>>>()?;
                    let expanded = if matches!(e, ast::Expr::Rollup(_)) {
                        rollup(&items)
                    } else {
                        cube(&items)
                    };
                    sets = Some(cross(sets.take(), expanded));
                }
                ast::Expr::GroupingSets(lists) => {
                    let items = lists
                        .iter()
                        .map(|l| l.iter().map(|x| add(self, x)).collect::<Result<Vec<_>>>())
                        .collect::<Result<Vec<_>>>()?;
                    sets = Some(cross(sets.take(), items));
                }
                other => plain.push(add(self, other)?),
            }
        }
        Ok(sets.map(|sets| {
            sets.into_iter()
                .map(|mut s| {
                    s.extend(plain.iter().copied());
                    s.sort_unstable();
                    s.dedup();
                    s
                })
                .collect()
        }))
    }

    fn lock_targets(
        &self,
        scope: &Scope,
        of: &[String],
        exprs: &mut Vec<Expr>,
        columns: &mut Vec<Column>,
    ) -> Result<Vec<crate::plan::LockTarget>> {
        let mut targets = Vec::new();
        for (i, c) in scope.columns.iter().enumerate() {
            if c.name != KEY_COLUMN {
                continue;
            }
            let table_name = c.table.clone().unwrap_or_default();
            if !of.is_empty() && !of.contains(&table_name) {
                continue;
            }
            exprs.push(Expr::Column(i));
            columns.push(Column { hidden: true, ..c.clone() });
            targets.push(crate::plan::LockTarget {
                key_column: exprs.len() - 1,
                table: table_name,
                recheck: None,
            });
        }
        if targets.is_empty() {
            return Err(errinput!(FEATURE_NOT_SUPPORTED, "FOR UPDATE needs a table in FROM"));
        }
        for name in of {
            if !targets.iter().any(|t| &t.table == name) {
                return Err(errinput!(
                    UNDEFINED_TABLE,
                    "relation \"{name}\" in FOR UPDATE clause not found in FROM clause"
                ));
            }
        }
        Ok(targets)
    }

    /// Binds a FROM list: comma-separated items are cross-joined.
    pub(super) fn bind_from(
        &self,
        from: &[ast::TableWithJoins],
        with_keys: bool,
    ) -> Result<(Plan, Scope)> {
        let mut result: Option<(Plan, Scope)> = None;
        for item in from {
            let (plan, scope) =
                self.bind_table_with_joins(item, result.as_ref().map(|(_, s)| s), with_keys)?;
            result = Some(match result {
                None => (plan, scope),
                Some((left, left_scope)) => {
                    let lateral = factor_is_lateral(&item.relation);
                    join(left, left_scope, plan, scope, JoinKind::Inner, None, lateral)
                }
            });
        }
        Ok(result.unwrap_or_else(|| (Plan::single_row(), Scope::default())))
    }

    fn bind_table_with_joins(
        &self,
        twj: &ast::TableWithJoins,
        lateral_scope: Option<&Scope>,
        with_keys: bool,
    ) -> Result<(Plan, Scope)> {
        let (mut plan, mut scope) = self.bind_factor(&twj.relation, lateral_scope, with_keys)?;
        for j in &twj.joins {
            use ast::JoinOperator as J;
            let (kind, constraint) = match &j.join_operator {
                J::Join(c) | J::Inner(c) => (JoinKind::Inner, Some(c)),
                J::Left(c) | J::LeftOuter(c) => (JoinKind::Left, Some(c)),
                J::Right(c) | J::RightOuter(c) => (JoinKind::Right, Some(c)),
                J::FullOuter(c) => (JoinKind::Full, Some(c)),
                J::CrossJoin(_) => (JoinKind::Inner, None),
                other => {
                    return Err(errinput!(
                        FEATURE_NOT_SUPPORTED,
                        "join type not supported: {other:?}"
                    ));
                }
            };
            let lateral = factor_is_lateral(&j.relation);
            let (right, right_scope) = self.bind_factor(&j.relation, Some(&scope), with_keys)?;
            let (natural_using, on) = match constraint {
                Some(ast::JoinConstraint::On(e)) => (None, Some(e)),
                Some(ast::JoinConstraint::Using(names)) => (
                    Some(
                        names
                            .iter()
                            .map(|n| split_name(n).map(|(_, c)| c))
                            .collect::<Result<Vec<_>>>()?,
                    ),
                    None,
                ),
                Some(ast::JoinConstraint::Natural) => {
                    let common: Vec<String> = scope
                        .columns
                        .iter()
                        .filter(|c| {
                            !c.hidden
                                && right_scope.columns.iter().any(|r| !r.hidden && r.name == c.name)
                        })
                        .map(|c| c.name.clone())
                        .collect();
                    (Some(common), None)
                }
                _ => (None, None),
            };
            let width = scope.columns.len();
            let mut combined = Scope::joined(&scope, &right_scope);
            let predicate = match (natural_using, on) {
                (Some(names), _) => {
                    let mut conds = Vec::new();
                    for name in &names {
                        let (li, lt) = scope.resolve(None, name)?.ok_or_else(|| errinput!(UNDEFINED_COLUMN, "column \"{name}\" specified in USING clause does not exist in left table"))?;
                        let (ri, rt) = right_scope.resolve(None, name)?.ok_or_else(|| errinput!(UNDEFINED_COLUMN, "column \"{name}\" specified in USING clause does not exist in right table"))?;
                        let (l, r, _) = self.coerce_pair(
                            Expr::Column(li),
                            SqlType::Known(lt),
                            Expr::Column(width + ri),
                            SqlType::Known(rt),
                            "=",
                        )?;
                        conds.push(Expr::Compare(CmpOp::Eq, Box::new(l), Box::new(r)));
                        // The merged column shows once: from the left, or the right for a
                        // RIGHT JOIN (a FULL JOIN coalesces below).
                        let hide = if kind == JoinKind::Right { li } else { width + ri };
                        combined.columns[hide].hidden = true;
                    }
                    if kind == JoinKind::Full && !names.is_empty() {
                        let (p, s) = join(
                            plan,
                            scope,
                            right,
                            right_scope,
                            kind,
                            Expr::and_all(conds),
                            lateral,
                        );
                        let (p, s) = self.coalesce_using(p, s, &names, width)?;
                        plan = p;
                        scope = s;
                        continue;
                    }
                    Expr::and_all(conds)
                }
                (None, Some(on)) => {
                    Some(self.bind_condition(on, &ExprCtx::plain(&combined, "JOIN/ON"))?)
                }
                (None, None) => None,
            };
            let (p, joined) = join(plan, scope, right, right_scope, kind, predicate, lateral);
            plan = p;
            combined.nullable = joined.nullable;
            scope = combined;
            plan.columns = scope.columns.clone();
        }
        Ok((plan, scope))
    }

    /// For FULL JOIN ... USING, shows each merged column as COALESCE(left, right).
    fn coalesce_using(
        &self,
        plan: Plan,
        scope: Scope,
        names: &[String],
        width: usize,
    ) -> Result<(Plan, Scope)> {
        let mut exprs: Vec<Expr> = (0..scope.columns.len()).map(Expr::Column).collect();
        let mut columns = scope.columns.clone();
        for name in names {
            let li = columns[..width]
                .iter()
                .position(|c| &c.name == name && !c.hidden)
                .ok_or_else(|| errinput!(UNDEFINED_COLUMN, "column \"{name}\" not found"))?;
            let ri = width
                + columns[width..]
                    .iter()
                    .position(|c| &c.name == name)
                    .ok_or_else(|| errinput!(UNDEFINED_COLUMN, "column \"{name}\" not found"))?;
            exprs.push(Expr::Coalesce(vec![Expr::Column(li), Expr::Column(ri)]));
            columns.push(Column { table: None, hidden: false, ..columns[li].clone() });
            columns[li].hidden = true;
            columns[ri].hidden = true;
        }
        let plan = Plan::new(Node::Project { input: Box::new(plan), exprs }, columns.clone());
        let nullable = scope.nullable;
        Ok((plan, Scope { nullable, ..Scope::new(columns) }))
    }

    fn bind_factor(
        &self,
        factor: &ast::TableFactor,
        lateral_scope: Option<&Scope>,
        with_keys: bool,
    ) -> Result<(Plan, Scope)> {
        use ast::TableFactor as T;
        match factor {
            T::Table { name, alias, args: Some(args), with_ordinality, .. } => {
                let exprs = self.stored_call_args(None, name, &args.args, "table function")?;
                self.bind_table_function(
                    name,
                    &exprs,
                    alias.as_ref(),
                    false,
                    lateral_scope,
                    *with_ordinality,
                )
            }
            T::Table { name, alias, version, .. } => {
                let (mut plan, table_name) = self.bind_table_factor_plan(name, version.as_ref())?;
                if !with_keys {
                    strip_key(&mut plan);
                }
                let plan = apply_alias(plan, alias.as_ref(), &table_name)?;
                let mut scope = Scope::new(plan.columns.clone());
                if let Node::Scan { table, .. } = &plan.node
                    && !table.primary_key.is_empty()
                {
                    scope.keys.push(super::scope::TableKey {
                        key: table.primary_key.clone(),
                        columns: 0..table.columns.len(),
                    });
                }
                Ok((plan, scope))
            }
            T::Derived { lateral, subquery, alias, .. } => {
                let plan =
                    self.bind_lateral(*lateral, lateral_scope, |b| b.bind_query(subquery))?;
                let default = alias.as_ref().map(|a| ident(&a.name)).unwrap_or_default();
                let plan = apply_alias(plan, alias.as_ref(), &default)?;
                let scope = Scope::new(plan.columns.clone());
                Ok((plan, scope))
            }
            T::Function { lateral, name, args, alias, .. } => {
                let exprs: Vec<ast::Expr> = args
                    .iter()
                    .map(|a| match a {
                        ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => Ok(e.clone()),
                        other => Err(errinput!(
                            FEATURE_NOT_SUPPORTED,
                            "table function argument {other} is not supported"
                        )),
                    })
                    .collect::<Result<_>>()?;
                self.bind_table_function(
                    name,
                    &exprs,
                    alias.as_ref(),
                    *lateral,
                    lateral_scope,
                    false,
                )
            }
            T::UNNEST { alias, array_exprs, with_ordinality, .. } => {
                let name = ast::ObjectName(vec![ast::ObjectNamePart::Identifier(ast::Ident::new(
                    "unnest",
                ))]);
                self.bind_table_function(
                    &name,
                    array_exprs,
                    alias.as_ref(),
                    false,
                    lateral_scope,
                    *with_ordinality,
                )
            }
            T::NestedJoin { table_with_joins, alias } => {
                let (plan, scope) =
                    self.bind_table_with_joins(table_with_joins, lateral_scope, with_keys)?;
                match alias {
                    Some(a) => {
                        let plan = apply_alias(plan, Some(a), &ident(&a.name))?;
                        let scope = Scope::new(plan.columns.clone());
                        Ok((plan, scope))
                    }
                    None => Ok((plan, scope)),
                }
            }
            other => Err(errinput!(FEATURE_NOT_SUPPORTED, "FROM item not supported: {other}")),
        }
    }

    /// Binds a FROM item; a LATERAL one sees the preceding FROM items as an outer scope.
    fn bind_lateral(
        &self,
        lateral: bool,
        scope: Option<&Scope>,
        f: impl FnOnce(&Self) -> Result<Plan>,
    ) -> Result<Plan> {
        let Some(scope) = scope.filter(|_| lateral) else { return f(self) };
        self.outer.borrow_mut().push(scope.clone());
        self.correlated.borrow_mut().push(false);
        let result = f(self);
        self.outer.borrow_mut().pop();
        self.correlated.borrow_mut().pop();
        result
    }

    /// A table, view, CTE, sequence or system view by name.
    pub(super) fn bind_table_factor_plan(
        &self,
        name: &ast::ObjectName,
        version: Option<&ast::TableVersion>,
    ) -> Result<(Plan, String)> {
        let (schema, table) = split_name(name)?;
        if schema.is_none() {
            let found =
                self.ctes.borrow().iter().rev().find_map(|frame| frame.get(&table).cloned());
            if let Some(cte) = found {
                let columns = cte
                    .columns
                    .iter()
                    .map(|c| Column { table: Some(table.clone()), ..c.clone() })
                    .collect();
                let node = match cte.plan {
                    Some(plan) => Node::CteScan { id: cte.id, plan },
                    None => Node::WorkTable { id: cte.id },
                };
                return Ok((Plan::new(node, columns), table));
            }
        }
        let as_of = match version {
            None => None,
            Some(ast::TableVersion::ForSystemTimeAsOf(e) | ast::TableVersion::TimestampAsOf(e)) => {
                let empty = Scope::default();
                let (x, t) = self.bind_expr(e, &ExprCtx::plain(&empty, "AS OF"))?;
                let target = match t {
                    SqlType::Known(DataType::Int8 | DataType::Int4 | DataType::Numeric(_)) => {
                        DataType::Int8
                    }
                    _ => DataType::TimestampTz(None),
                };
                Some(self.coerce(x, &t, &target)?)
            }
            Some(other) => {
                return Err(errinput!(
                    FEATURE_NOT_SUPPORTED,
                    "{other} is not supported; use FOR SYSTEM_TIME AS OF"
                ));
            }
        };
        match self.env.relation(schema.as_deref(), &table)? {
            Some(Relation::Table(t)) if t.unpopulated => Err(errinput!(
                OBJECT_NOT_IN_PREREQUISITE_STATE,
                "materialized view \"{}\" has not been populated",
                t.name
            )
            .with_hint("Use the REFRESH MATERIALIZED VIEW command.")),
            Some(Relation::Table(t)) => {
                self.require_table(&t, crate::catalog::acl::SELECT)?;
                let plan = self.with_row_security(scan_plan(t.clone(), &table, as_of), &t, 'r')?;
                Ok((plan, table))
            }
            Some(Relation::View { id: view_id, sql, name: view_name, .. }) => {
                self.require(
                    crate::privileges::AclObject::relation(view_id, "view", &view_name),
                    crate::catalog::acl::SELECT,
                )?;
                if as_of.is_some() {
                    return Err(errinput!(
                        FEATURE_NOT_SUPPORTED,
                        "AS OF is not supported on views"
                    ));
                }
                if self.expanding.borrow().contains(&view_name) {
                    return Err(errinput!(
                        INVALID_RECURSION,
                        "infinite recursion detected in rules for relation \"{view_name}\""
                    ));
                }
                self.expanding.borrow_mut().push(view_name);
                let result = crate::parse::parse_one(&sql).and_then(|stmt| match stmt {
                    ast::Statement::Query(q) => {
                        // A view's body cannot see the referencing query's CTEs or scope.
                        let saved_ctes = std::mem::take(&mut *self.ctes.borrow_mut());
                        let saved_outer = std::mem::take(&mut *self.outer.borrow_mut());
                        // It reads its relations with its owner's privileges.
                        let r = self.as_view_owner(view_id, || self.bind_query(&q));
                        *self.ctes.borrow_mut() = saved_ctes;
                        *self.outer.borrow_mut() = saved_outer;
                        r
                    }
                    _ => Err(errinput!(DATA_CORRUPTED, "view definition is not a query")),
                });
                self.expanding.borrow_mut().pop();
                let plan = result?;
                let columns = plan
                    .columns
                    .iter()
                    .map(|c| Column { table: Some(table.clone()), ..c.clone() })
                    .collect();
                Ok((Plan { columns, ..plan }, table))
            }
            Some(Relation::System(system)) => {
                // Password verifiers are for superusers' eyes (as PostgreSQL's pg_authid).
                if system == crate::system::SystemTable::PgAuthid
                    && !crate::privileges::is_superuser(self.env)?
                {
                    return Err(errinput!(
                        INSUFFICIENT_PRIVILEGE,
                        "permission denied for table pg_authid"
                    ));
                }
                let mut columns: Vec<Column> = system
                    .columns()
                    .into_iter()
                    .map(|(n, t)| Column { table: Some(table.clone()), ..Column::new(n, t) })
                    .collect();
                let scan = Plan::new(Node::SystemScan { table: system }, columns.clone());
                // A catalog's rows also have the system column `tableoid` (psql joins
                // pg_description on it), which `*` does not list.
                let Some(oid) = crate::system::catalog_oid(schema.as_deref(), &table) else {
                    return Ok((scan, table));
                };
                let mut exprs: Vec<Expr> = (0..columns.len()).map(Expr::Column).collect();
                exprs.push(Expr::Literal(Value::Int8(i64::from(oid))));
                columns.push(Column {
                    table: Some(table.clone()),
                    hidden: true,
                    ..Column::new("tableoid", DataType::Oid)
                });
                Ok((Plan::new(Node::Project { input: Box::new(scan), exprs }, columns), table))
            }
            Some(Relation::Sequence(seq)) => {
                self.require(
                    crate::privileges::AclObject::relation(seq.id, "sequence", &seq.name),
                    crate::catalog::acl::SELECT,
                )?;
                let columns = vec![
                    Column {
                        table: Some(table.clone()),
                        ..Column::new("last_value", DataType::Int8)
                    },
                    Column { table: Some(table.clone()), ..Column::new("log_cnt", DataType::Int8) },
                    Column {
                        table: Some(table.clone()),
                        ..Column::new("is_called", DataType::Bool)
                    },
                ];
                Ok((Plan::new(Node::SequenceScan { sequence: seq }, columns), table))
            }
            None => Err(errinput!(
                UNDEFINED_TABLE,
                "relation \"{}\" does not exist",
                schema.map_or(table.clone(), |s| format!("{s}.{table}"))
            )),
        }
    }

    fn bind_table_function(
        &self,
        name: &ast::ObjectName,
        ast_args: &[ast::Expr],
        alias: Option<&ast::TableAlias>,
        lateral: bool,
        lateral_scope: Option<&Scope>,
        ordinality: bool,
    ) -> Result<(Plan, Scope)> {
        let (schema, fname) = split_name(name)?;
        let with_ordinality = |mut columns: Vec<(String, DataType)>| {
            if ordinality {
                columns.push(("ordinality".to_string(), DataType::Int8));
            }
            columns
        };
        // Table functions may refer to earlier FROM items (implicitly LATERAL in PostgreSQL).
        let scope = lateral_scope.cloned().unwrap_or_default();
        let _ = lateral;
        let ctx = ExprCtx::plain(&scope, "FROM");
        let bound: Vec<(Expr, SqlType)> =
            ast_args.iter().map(|a| self.bind_expr(a, &ctx)).collect::<Result<_>>()?;
        let declared = declared_columns(alias, |t| self.data_type(t))?;
        let resolve = |bound| match json_to_record(&fname) {
            Some((name, set)) => self.json_to_record(name, set, bound, declared.clone()),
            None => self.table_function(schema.as_deref(), &fname, bound),
        };
        let (function, args, columns) = resolve(bound)?;
        let mut plan = Plan::new(
            Node::Function { function, args, ordinality },
            with_ordinality(columns).into_iter().map(|(n, t)| Column::new(n, t)).collect(),
        );
        let uses_left = match &plan.node {
            Node::Function { args, .. } => args.iter().any(|a| !a.columns().is_empty()),
            _ => false,
        };
        if uses_left {
            // Re-bind with the left scope as the outer scope so the executor re-runs it per row.
            let outer_scope = scope.clone();
            self.outer.borrow_mut().push(outer_scope);
            self.correlated.borrow_mut().push(false);
            let empty = Scope::default();
            let rebound = ast_args
                .iter()
                .map(|a| self.bind_expr(a, &ExprCtx::plain(&empty, "FROM")))
                .collect::<Result<Vec<_>>>();
            self.outer.borrow_mut().pop();
            self.correlated.borrow_mut().pop();
            let (function, args, columns) = resolve(rebound?)?;
            plan = Plan::new(
                Node::Function { function, args, ordinality },
                with_ordinality(columns).into_iter().map(|(n, t)| Column::new(n, t)).collect(),
            );
            let columns = plan.columns.clone();
            plan = Plan { node: Node::Lateral { input: Box::new(plan) }, columns };
        }
        let default = alias.map(|a| ident(&a.name)).unwrap_or(fname.clone());
        let mut plan = apply_alias(plan, alias, &default)?;
        // A single-column function result is named after the alias when no column list is given.
        if plan.columns.len() == 1 + usize::from(ordinality)
            && alias.is_some_and(|a| a.columns.is_empty())
            && fname != "json_each"
        {
            plan.columns[0].name = default.clone();
        }
        let scope = Scope::new(plan.columns.clone());
        Ok((plan, scope))
    }

    /// `json[b]_to_record(doc) AS x(a int, ...)` and the `_recordset` forms: the declared
    /// columns are the result.
    #[allow(clippy::type_complexity)]
    pub(super) fn json_to_record(
        &self,
        name: &'static str,
        set: bool,
        bound: Vec<(Expr, SqlType)>,
        declared: Option<Vec<(String, DataType)>>,
    ) -> Result<(TableFunction, Vec<Expr>, Vec<(String, DataType)>)> {
        let doc_type = if name.starts_with("jsonb") { DataType::Jsonb } else { DataType::Json };
        let mut bound = bound;
        // json[b]_populate_record(base, doc): the base's type gives the columns, its fields
        // the values of absent keys.
        let base = if name.contains("populate") {
            if bound.len() != 2 {
                return Err(errinput!(UNDEFINED_FUNCTION, "function {name} needs two arguments"));
            }
            Some(bound.remove(0))
        } else {
            None
        };
        let columns = match (&base, declared) {
            (Some((_, SqlType::Known(DataType::Record(r)))), _) if !r.fields.is_empty() => {
                r.fields.clone()
            }
            (Some(_), _) => {
                return Err(errinput!(
                    DATATYPE_MISMATCH,
                    "first argument of {name} must be a row type"
                ));
            }
            (None, Some(columns)) => columns,
            (None, None) => {
                return Err(errinput!(
                    SYNTAX_ERROR,
                    "a column definition list is required for functions returning \"record\""
                ));
            }
        };
        let [(e, t)] = <[_; 1]>::try_from(bound).map_err(|b: Vec<_>| {
            errinput!(
                UNDEFINED_FUNCTION,
                "function {name} with {} arguments does not exist",
                b.len()
            )
        })?;
        let mut args = vec![self.coerce(e, &t, &doc_type)?];
        args.extend(base.map(|(e, _)| e));
        let function = TableFunction::JsonToRecord { name, set, columns: columns.clone() };
        Ok((function, args, columns))
    }

    #[allow(clippy::type_complexity)]
    pub(super) fn table_function(
        &self,
        schema: Option<&str>,
        name: &str,
        bound: Vec<(Expr, SqlType)>,
    ) -> Result<(TableFunction, Vec<Expr>, Vec<(String, DataType)>)> {
        // int2vector (pg_index.indkey) and oidvector count from 0, as their subscripts do.
        let zero_based = bound.first().is_some_and(|(_, t)| t.resolve().vector_element().is_some());
        let bound: Vec<(Expr, SqlType)> =
            bound.into_iter().map(|(e, t)| (e, super::expr::int2vector_as_array(t))).collect();
        let types: Vec<SqlType> = bound.iter().map(|(_, t)| t.clone()).collect();
        Ok(match (name, bound.len()) {
            ("generate_series", 2 | 3) => {
                let ty = self.unify(&types[..2], "generate_series")?;
                let (ty, step) = match ty {
                    DataType::Timestamp(_) | DataType::TimestampTz(_) | DataType::Date => {
                        let ty =
                            if ty == DataType::Date { DataType::TimestampTz(None) } else { ty };
                        (ty, DataType::Interval(None))
                    }
                    DataType::Int2 | DataType::Int4 => (DataType::Int4, DataType::Int4),
                    DataType::Int8 => (DataType::Int8, DataType::Int8),
                    DataType::Numeric(_) => (DataType::Numeric(None), DataType::Numeric(None)),
                    DataType::Text => (DataType::Int4, DataType::Int4),
                    other => {
                        return Err(errinput!(
                            UNDEFINED_FUNCTION,
                            "function generate_series({}, ...) does not exist",
                            other.name()
                        ));
                    }
                };
                if bound.len() == 2 && matches!(step, DataType::Interval(_)) {
                    return Err(errinput!(
                        UNDEFINED_FUNCTION,
                        "function generate_series(timestamp, timestamp) does not exist"
                    )
                    .with_hint("add a step interval"));
                }
                let params = [ty.clone(), ty.clone(), step];
                let args = bound
                    .into_iter()
                    .zip(&params)
                    .map(|((e, t), p)| self.coerce(e, &t, p))
                    .collect::<Result<_>>()?;
                (TableFunction::GenerateSeries, args, vec![("generate_series".into(), ty)])
            }
            ("pg_partition_ancestors", 1) => {
                // No table is partitioned: a relation's only ancestor is itself.
                let (e, t) = bound
                    .into_iter()
                    .next()
                    .ok_or_else(|| errinput!(SYNTAX_ERROR, "argument missing"))?;
                let relid = self.coerce(e, &t, &DataType::Int8)?;
                let array = Expr::Array(vec![relid], DataType::Int8);
                (TableFunction::Unnest, vec![array], vec![("relid".to_string(), DataType::Int8)])
            }
            ("unnest", n) if n >= 1 => {
                // unnest(a, b, ...) in FROM zips its arrays, padding the shorter with NULLs.
                let mut args = Vec::with_capacity(n);
                let mut columns = Vec::with_capacity(n);
                for (e, t) in bound {
                    let element = match &t {
                        SqlType::Known(DataType::Array(el)) => (**el).clone(),
                        SqlType::Unknown => DataType::Text,
                        SqlType::Known(other) => {
                            return Err(errinput!(
                                UNDEFINED_FUNCTION,
                                "function unnest({}) does not exist",
                                other.name()
                            ));
                        }
                    };
                    args.push(self.coerce(e, &t, &DataType::Array(Box::new(element.clone())))?);
                    columns.push(("unnest".to_string(), element));
                }
                (TableFunction::Unnest, args, columns)
            }
            ("json_each" | "jsonb_each" | "json_each_text" | "jsonb_each_text", 1) => {
                let doc = if name.starts_with("jsonb") { DataType::Jsonb } else { DataType::Json };
                let text = name.ends_with("_text");
                let (e, t) = bound
                    .into_iter()
                    .next()
                    .ok_or_else(|| errinput!(SYNTAX_ERROR, "argument missing"))?;
                let f = if text { TableFunction::JsonEachText } else { TableFunction::JsonEach };
                let value = if text { DataType::Text } else { doc.clone() };
                (
                    f,
                    vec![self.coerce(e, &t, &doc)?],
                    vec![("key".into(), DataType::Text), ("value".into(), value)],
                )
            }
            (
                "json_array_elements"
                | "jsonb_array_elements"
                | "json_array_elements_text"
                | "jsonb_array_elements_text",
                1,
            ) => {
                let doc = if name.starts_with("jsonb") { DataType::Jsonb } else { DataType::Json };
                let text = name.ends_with("_text");
                let (e, t) = bound
                    .into_iter()
                    .next()
                    .ok_or_else(|| errinput!(SYNTAX_ERROR, "argument missing"))?;
                let f = if text {
                    TableFunction::JsonArrayElementsText
                } else {
                    TableFunction::JsonArrayElements
                };
                (
                    f,
                    vec![self.coerce(e, &t, &doc)?],
                    vec![("value".into(), if text { DataType::Text } else { doc })],
                )
            }
            ("jsonb_path_query", 2..=4) => {
                let params = [DataType::Jsonb, DataType::Text, DataType::Jsonb, DataType::Bool];
                let args = bound
                    .into_iter()
                    .zip(&params)
                    .map(|((e, t), p)| self.coerce(e, &t, p))
                    .collect::<Result<_>>()?;
                (
                    TableFunction::JsonbPathQuery,
                    args,
                    vec![("jsonb_path_query".into(), DataType::Jsonb)],
                )
            }
            ("json_object_keys" | "jsonb_object_keys", 1) => {
                let (e, t) = bound
                    .into_iter()
                    .next()
                    .ok_or_else(|| errinput!(SYNTAX_ERROR, "argument missing"))?;
                (
                    TableFunction::JsonObjectKeys,
                    vec![self.coerce(e, &t, &DataType::Jsonb)?],
                    vec![(name.to_string(), DataType::Text)],
                )
            }
            ("regexp_split_to_table", 2) => {
                let args = bound
                    .into_iter()
                    .map(|(e, t)| self.coerce(e, &t, &DataType::Text))
                    .collect::<Result<_>>()?;
                (
                    TableFunction::RegexpSplitToTable,
                    args,
                    vec![("regexp_split_to_table".into(), DataType::Text)],
                )
            }
            ("pg_options_to_table", 1) => {
                let (e, t) = bound
                    .into_iter()
                    .next()
                    .ok_or_else(|| errinput!(SYNTAX_ERROR, "argument missing"))?;
                (
                    TableFunction::OptionsToTable,
                    vec![self.coerce(e, &t, &DataType::Array(Box::new(DataType::Text)))?],
                    vec![
                        ("option_name".into(), DataType::Text),
                        ("option_value".into(), DataType::Text),
                    ],
                )
            }
            ("regexp_matches", 2 | 3) => {
                let args = bound
                    .into_iter()
                    .map(|(e, t)| self.coerce(e, &t, &DataType::Text))
                    .collect::<Result<_>>()?;
                let ty = DataType::Array(Box::new(DataType::Text));
                (TableFunction::RegexpMatches, args, vec![("regexp_matches".into(), ty)])
            }
            // ts_token_type(parser): the default parser's token types (PostgreSQL's).
            ("ts_token_type", 1) => {
                let types = crate::tsearch::parser::TOKEN_TYPES;
                let column = |f: fn(&(i32, &str, &str)) -> Value, ty: DataType| {
                    Expr::Array(types.iter().map(|t| Expr::Literal(f(t))).collect(), ty)
                };
                (
                    TableFunction::Unnest,
                    vec![
                        column(|t| Value::Int4(t.0), DataType::Int4),
                        column(|t| Value::Text(t.1.to_string()), DataType::Text),
                        column(|t| Value::Text(t.2.to_string()), DataType::Text),
                    ],
                    vec![
                        ("tokid".into(), DataType::Int4),
                        ("alias".into(), DataType::Text),
                        ("description".into(), DataType::Text),
                    ],
                )
            }
            ("_pg_expandarray", 1) => {
                let (a, at) = bound
                    .into_iter()
                    .next()
                    .ok_or_else(|| errinput!(SYNTAX_ERROR, "argument missing"))?;
                let element = match at.resolve() {
                    DataType::Array(e) => *e,
                    other => {
                        return Err(errinput!(
                            UNDEFINED_FUNCTION,
                            "function _pg_expandarray({}) does not exist",
                            other.name()
                        ));
                    }
                };
                (
                    TableFunction::ExpandArray,
                    vec![a],
                    vec![("x".into(), element), ("n".into(), DataType::Int4)],
                )
            }
            ("generate_subscripts", 2) => {
                let mut it = bound.into_iter();
                let (a, at) =
                    it.next().ok_or_else(|| errinput!(SYNTAX_ERROR, "argument missing"))?;
                let (d, dt) =
                    it.next().ok_or_else(|| errinput!(SYNTAX_ERROR, "argument missing"))?;
                let lower = i32::from(!zero_based);
                (
                    TableFunction::GenerateSubscripts,
                    vec![
                        self.coerce(a, &at, &at.resolve())?,
                        self.coerce(d, &dt, &DataType::Int4)?,
                        Expr::Literal(Value::Int4(lower)),
                    ],
                    vec![("generate_subscripts".into(), DataType::Int4)],
                )
            }
            _ => {
                if let Some(routine) = self.stored_routine(schema, name, &bound)? {
                    let columns = routine.returns.columns(name);
                    let args = self.routine_args(&routine, bound)?;
                    if routine.returns.is_set() {
                        return Ok((TableFunction::Routine(routine), args, columns));
                    }
                    // A composite type's value: a row of its attributes, as PostgreSQL.
                    if let crate::procedure::Returns::Value(DataType::Record(r)) = &routine.returns
                        && r.id.is_some()
                    {
                        let columns = r.fields.clone();
                        return Ok((
                            TableFunction::Fields { width: columns.len() },
                            vec![Expr::Routine(routine, args)],
                            columns,
                        ));
                    }
                    return Ok((
                        TableFunction::Scalar,
                        vec![Expr::Routine(routine, args)],
                        columns,
                    ));
                }
                // A scalar function in FROM yields one row.
                let (e, t) = self.call_scalar(name, bound)?;
                let ty = t.resolve();
                let columns = vec![(name.to_string(), ty)];
                return Ok((TableFunction::Scalar, vec![e], columns));
            }
        })
    }
}

/// A hidden key column is only carried when locking needs it.
fn strip_key(plan: &mut Plan) {
    if let Node::Scan { with_key, .. } = &mut plan.node
        && *with_key
    {
        *with_key = false;
        plan.columns.pop();
    }
}

/// A full scan of a table, with its hidden key column (dropped later unless needed).
pub(super) fn scan_plan(table: Arc<Table>, alias: &str, as_of: Option<Expr>) -> Plan {
    let mut columns: Vec<Column> = table
        .columns
        .iter()
        .map(|c| Column {
            name: c.name.clone(),
            data_type: c.data_type.clone(),
            table: Some(alias.to_string()),
            hidden: c.dropped,
        })
        .collect();
    columns.push(Column {
        name: KEY_COLUMN.into(),
        data_type: DataType::Bytea,
        table: Some(alias.to_string()),
        hidden: true,
    });
    Plan::new(
        Node::Scan {
            table,
            access: Access::Primary,
            range: None,
            reverse: false,
            filter: None,
            lock: None,
            with_key: true,
            as_of,
            reads: None,
        },
        columns,
    )
}

/// The functions returning `record` that take their columns from the query.
pub(super) fn json_to_record(name: &str) -> Option<(&'static str, bool)> {
    Some(match name {
        "json_to_record" => ("json_to_record", false),
        "jsonb_to_record" => ("jsonb_to_record", false),
        "json_to_recordset" => ("json_to_recordset", true),
        "jsonb_to_recordset" => ("jsonb_to_recordset", true),
        "json_populate_record" => ("json_populate_record", false),
        "jsonb_populate_record" => ("jsonb_populate_record", false),
        "json_populate_recordset" => ("json_populate_recordset", true),
        "jsonb_populate_recordset" => ("jsonb_populate_recordset", true),
        _ => return None,
    })
}

/// A column definition list `AS x(a int, b text)`: the names and types, when every column
/// has a type (None when there is no list or it only renames).
fn declared_columns(
    alias: Option<&ast::TableAlias>,
    data_type: impl Fn(&ast::DataType) -> Result<DataType>,
) -> Result<Option<Vec<(String, DataType)>>> {
    let Some(alias) = alias else { return Ok(None) };
    if alias.columns.is_empty() || alias.columns.iter().any(|c| c.data_type.is_none()) {
        return Ok(None);
    }
    alias
        .columns
        .iter()
        .map(|c| {
            let ty = c.data_type.as_ref().map(&data_type).transpose()?;
            Ok((ident(&c.name), ty.unwrap_or(DataType::Text)))
        })
        .collect::<Result<Vec<_>>>()
        .map(Some)
}

fn apply_alias(mut plan: Plan, alias: Option<&ast::TableAlias>, default: &str) -> Result<Plan> {
    let name = alias.map_or(default.to_string(), |a| ident(&a.name));
    let renames: Vec<String> =
        alias.map(|a| a.columns.iter().map(|c| ident(&c.name)).collect()).unwrap_or_default();
    let visible: Vec<usize> =
        plan.columns.iter().enumerate().filter(|(_, c)| !c.hidden).map(|(i, _)| i).collect();
    if renames.len() > visible.len() {
        return Err(errinput!(
            INVALID_COLUMN_REFERENCE,
            "table \"{name}\" has {} columns available but {} columns specified",
            visible.len(),
            renames.len()
        ));
    }
    for c in plan.columns.iter_mut() {
        c.table = Some(name.clone());
    }
    for (i, new) in visible.into_iter().zip(renames) {
        plan.columns[i].name = new;
    }
    Ok(plan)
}

fn rename_columns(mut plan: Plan, names: &[String], table: &str) -> Result<Plan> {
    if names.len() > plan.columns.len() {
        return Err(errinput!(
            INVALID_COLUMN_REFERENCE,
            "WITH query \"{table}\" has {} columns available but {} columns specified",
            plan.columns.len(),
            names.len()
        ));
    }
    for (c, n) in plan.columns.iter_mut().zip(names) {
        c.name = n.clone();
    }
    Ok(plan)
}

pub(super) fn join(
    left: Plan,
    left_scope: Scope,
    right: Plan,
    right_scope: Scope,
    kind: JoinKind,
    predicate: Option<Expr>,
    lateral: bool,
) -> (Plan, Scope) {
    let mut scope = Scope::joined(&left_scope, &right_scope);
    if matches!(kind, JoinKind::Left | JoinKind::Full) {
        scope.mark_nullable(&right_scope);
    }
    if matches!(kind, JoinKind::Right | JoinKind::Full) {
        scope.mark_nullable(&left_scope);
    }
    let plan = Plan::new(
        Node::NestedLoopJoin {
            left: Box::new(left),
            right: Box::new(right),
            kind,
            predicate,
            lateral,
        },
        scope.columns.clone(),
    );
    (plan, scope)
}

fn filter(plan: Plan, predicate: Expr) -> Plan {
    let columns = plan.columns.clone();
    Plan::new(Node::Filter { input: Box::new(plan), predicate }, columns)
}

/// A query's LIMIT, OFFSET and FETCH, bound.
#[derive(Default)]
struct Limits {
    limit: Option<Expr>,
    offset: Option<Expr>,
    /// FETCH ... WITH TIES.
    ties: bool,
}

fn limit_plan(plan: Plan, Limits { limit, offset, ties }: Limits) -> Plan {
    if limit.is_none() && offset.is_none() {
        return plan;
    }
    // WITH TIES compares on the sort the limit sits on (under its row locks, or the sort a
    // DISTINCT ON reads).
    let mut below = &plan;
    let ties = loop {
        match &below.node {
            Node::Sort { keys, .. } if ties => {
                break Some(keys.iter().map(|k| k.expr.clone()).collect());
            }
            Node::LockRows { input, .. } | Node::Distinct { input, .. } if ties => below = input,
            _ => break None,
        }
    };
    let columns = plan.columns.clone();
    Plan::new(Node::Limit { input: Box::new(plan), limit, offset, ties }, columns)
}

/// Casts a plan's columns to the given types (for UNION and recursive CTEs).
/// Whether output column `i` of a plan is a NULL literal written without a type.
fn bare_null(plan: &Plan, i: usize) -> bool {
    match &plan.node {
        Node::Project { exprs, .. } => {
            matches!(exprs.get(i), Some(Expr::Literal(oxibase_common::Value::Null)))
        }
        Node::Values { rows } => {
            !rows.is_empty()
                && rows
                    .iter()
                    .all(|r| matches!(r.get(i), Some(Expr::Literal(oxibase_common::Value::Null))))
        }
        Node::SetOperation { left, right, .. } => bare_null(left, i) && bare_null(right, i),
        _ => false,
    }
}

fn cast_columns(plan: Plan, types: &[DataType]) -> Plan {
    if plan.columns.iter().zip(types).all(|(c, t)| &c.data_type == t) {
        return plan;
    }
    let exprs = plan
        .columns
        .iter()
        .zip(types)
        .enumerate()
        .map(|(i, (c, t))| {
            if &c.data_type == t {
                Expr::Column(i)
            } else {
                Expr::Cast(Box::new(Expr::Column(i)), t.clone())
            }
        })
        .collect();
    let columns = plan
        .columns
        .iter()
        .zip(types)
        .map(|(c, t)| Column { data_type: t.clone(), ..c.clone() })
        .collect();
    Plan::new(Node::Project { input: Box::new(plan), exprs }, columns)
}

/// DESC, or `USING >` (PostgreSQL's spelling of a descending sort by the type's ordering).
pub(super) fn descending(options: &ast::OrderByOptions) -> bool {
    match &options.sort {
        Some(ast::OrderBySort::Desc) => true,
        Some(ast::OrderBySort::Using(op)) => op.to_string().trim_end_matches('=').ends_with('>'),
        _ => false,
    }
}

fn sort_key(expr: Expr, o: &ast::OrderByExpr) -> SortKey {
    let descending = descending(&o.options);
    SortKey { expr, descending, nulls_first: o.options.nulls_first.unwrap_or(descending) }
}

/// An ORDER BY item that names an output column (by position or alias).
fn output_reference(e: &ast::Expr, columns: &[Column]) -> Result<Option<usize>> {
    match e {
        ast::Expr::Value(v) => {
            if let ast::Value::Number(n, _) = &v.value {
                let i: usize = n
                    .parse()
                    .map_err(|_| errinput!(SYNTAX_ERROR, "non-integer constant in ORDER BY"))?;
                if i == 0 || i > columns.len() {
                    return Err(errinput!(
                        INVALID_COLUMN_REFERENCE,
                        "ORDER BY position {i} is not in select list"
                    ));
                }
                return Ok(Some(i - 1));
            }
            Ok(None)
        }
        ast::Expr::Identifier(id) => {
            let name = ident(id);
            let matches: Vec<usize> = columns
                .iter()
                .enumerate()
                .filter(|(_, c)| c.name == name)
                .map(|(i, _)| i)
                .collect();
            match matches.as_slice() {
                [one] => Ok(Some(*one)),
                [] => Ok(None),
                _ => Err(errinput!(AMBIGUOUS_COLUMN, "ORDER BY \"{name}\" is ambiguous")),
            }
        }
        _ => Ok(None),
    }
}

fn select_item_expr(item: &ast::SelectItem) -> Option<&ast::Expr> {
    match item {
        ast::SelectItem::UnnamedExpr(e) | ast::SelectItem::ExprWithAlias { expr: e, .. } => Some(e),
        _ => None,
    }
}

/// The column name PostgreSQL gives an unaliased select-list expression.
pub fn column_name(e: &ast::Expr) -> String {
    use ast::Expr as E;
    match e {
        E::Identifier(id) => ident(id),
        E::CompoundIdentifier(ids) => ids.last().map(ident).unwrap_or_default(),
        E::Function(f) => match f.name.0.last() {
            Some(ast::ObjectNamePart::Identifier(id)) => ident(id),
            _ => "?column?".into(),
        },
        E::Nested(inner) => column_name(inner),
        E::Cast { expr, data_type, .. } => match &**expr {
            E::Identifier(_) | E::CompoundIdentifier(_) | E::Function(_) => column_name(expr),
            _ => cast_type_name(data_type),
        },
        E::Case { .. } => "case".into(),
        E::Exists { .. } => "exists".into(),
        E::Array(_) => "array".into(),
        E::Tuple(_) => "row".into(),
        E::Extract { .. } => "extract".into(),
        E::Substring { .. } => "substring".into(),
        E::Position { .. } => "position".into(),
        E::Trim { .. } => "btrim".into(),
        E::Ceil { .. } => "ceil".into(),
        E::Floor { .. } => "floor".into(),
        E::AtTimeZone { .. } => "timezone".into(),
        E::CompoundFieldAccess { root, access_chain } => {
            match access_chain.iter().rev().find_map(|a| match a {
                ast::AccessExpr::Dot(ast::Expr::Identifier(id)) => Some(id),
                _ => None,
            }) {
                Some(id) => ident(id),
                None => column_name(root),
            }
        }
        E::Interval(_) => "interval".into(),
        E::TypedString(ts) => cast_type_name(&ts.data_type),
        E::Subquery(q) => match &*q.body {
            ast::SetExpr::Select(s) if s.projection.len() == 1 => match &s.projection[0] {
                ast::SelectItem::UnnamedExpr(inner) => column_name(inner),
                ast::SelectItem::ExprWithAlias { alias, .. } => ident(alias),
                _ => "?column?".into(),
            },
            _ => "?column?".into(),
        },
        _ => "?column?".into(),
    }
}

/// PostgreSQL names a cast column after the type's internal name (`int4`, `text`, ...).
fn cast_type_name(t: &ast::DataType) -> String {
    match super::ddl::data_type(t) {
        Ok(DataType::Int2) => "int2".into(),
        Ok(DataType::Int4) => "int4".into(),
        Ok(DataType::Int8) => "int8".into(),
        Ok(DataType::Float4) => "float4".into(),
        Ok(DataType::Float8) => "float8".into(),
        Ok(DataType::Bool) => "bool".into(),
        Ok(DataType::Varchar(_)) => "varchar".into(),
        Ok(DataType::Char(_)) => "bpchar".into(),
        Ok(DataType::Timestamp(_)) => "timestamp".into(),
        Ok(DataType::TimestampTz(_)) => "timestamptz".into(),
        Ok(DataType::Numeric(_)) => "numeric".into(),
        Ok(DataType::Time(_)) => "time".into(),
        Ok(t) => t.without_modifier().name(),
        Err(_) => "?column?".into(),
    }
}

/// Where window results are numbered while binding (see `bind_select`).
const WINDOW_MARK: usize = 1 << 40;

fn factor_is_lateral(f: &ast::TableFactor) -> bool {
    matches!(
        f,
        ast::TableFactor::Derived { lateral: true, .. }
            | ast::TableFactor::Function { lateral: true, .. }
    )
}

fn lock_clause(locks: &[ast::LockClause]) -> Result<Option<(RowLock, Vec<String>)>> {
    use crate::parse::{KEY_SHARE_MARK, NO_KEY_UPDATE_MARK};
    // FOR NO KEY UPDATE / FOR KEY SHARE arrive as a marker clause before the real one.
    let mark = |l: &ast::LockClause| match &l.of {
        Some(n) if n.to_string() == NO_KEY_UPDATE_MARK => Some(LockMode::NoKeyUpdate),
        Some(n) if n.to_string() == KEY_SHARE_MARK => Some(LockMode::KeyShare),
        _ => None,
    };
    let strength = locks.iter().find_map(mark);
    let locks: Vec<&ast::LockClause> = locks.iter().filter(|l| mark(l).is_none()).collect();
    let Some(first) = locks.first() else { return Ok(None) };
    let mode = strength.unwrap_or(match first.lock_type {
        ast::LockType::Update => LockMode::Update,
        ast::LockType::Share => LockMode::Share,
    });
    let wait = match first.nonblock {
        Some(ast::NonBlock::Nowait) => LockWait::NoWait,
        Some(ast::NonBlock::SkipLocked) => LockWait::SkipLocked,
        None => LockWait::Wait(None),
    };
    let of = locks
        .iter()
        .filter_map(|l| l.of.as_ref())
        .map(|n| split_name(n).map(|(_, t)| t))
        .collect::<Result<Vec<_>>>()?;
    Ok(Some((RowLock { mode, wait }, of)))
}

/// True when the expression contains an aggregate call (not inside a subquery).
pub(super) fn contains_aggregate(e: &ast::Expr) -> bool {
    let mut found = false;
    walk_ast(e, &mut |x| {
        if let ast::Expr::Function(f) = x
            && f.over.is_none()
            && let Some(ast::ObjectNamePart::Identifier(id)) = f.name.0.last()
            && crate::functions::aggregate::is_aggregate(&ident(id))
        {
            found = true;
        }
    });
    found
}

/// Visits an expression's nodes, not descending into subqueries or window calls.
fn walk_ast(e: &ast::Expr, f: &mut dyn FnMut(&ast::Expr)) {
    use ast::Expr as E;
    f(e);
    let mut go = |x: &ast::Expr| walk_ast(x, f);
    match e {
        E::BinaryOp { left, right, .. } => {
            go(left);
            go(right);
        }
        E::UnaryOp { expr, .. }
        | E::Nested(expr)
        | E::IsNull(expr)
        | E::IsNotNull(expr)
        | E::IsTrue(expr)
        | E::IsFalse(expr)
        | E::IsNotTrue(expr)
        | E::IsNotFalse(expr)
        | E::IsUnknown(expr)
        | E::IsNotUnknown(expr)
        | E::Cast { expr, .. }
        | E::Extract { expr, .. }
        | E::Ceil { expr, .. }
        | E::Floor { expr, .. }
        | E::Collate { expr, .. } => go(expr),
        E::IsDistinctFrom(a, b) | E::IsNotDistinctFrom(a, b) => {
            go(a);
            go(b);
        }
        E::In { expr, target, .. } => {
            go(expr);
            if let ast::InTarget::List(list) = target {
                list.iter().for_each(go);
            }
        }
        E::Between { expr, low, high, .. } => {
            go(expr);
            go(low);
            go(high);
        }
        E::Like { expr, pattern, .. }
        | E::ILike { expr, pattern, .. }
        | E::SimilarTo { expr, pattern, .. } => {
            go(expr);
            go(pattern);
        }
        E::AnyOp { left, right, .. } | E::AllOp { left, right, .. } => {
            go(left);
            go(right);
        }
        E::Case { operand, conditions, else_result, .. } => {
            operand.iter().for_each(|o| go(o));
            for c in conditions {
                go(&c.condition);
                go(&c.result);
            }
            else_result.iter().for_each(|o| go(o));
        }
        E::Function(func) if func.over.is_none() => {
            if let ast::FunctionArguments::List(list) = &func.args {
                for arg in &list.args {
                    if let ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(x))
                    | ast::FunctionArg::Named { arg: ast::FunctionArgExpr::Expr(x), .. } = arg
                    {
                        go(x);
                    }
                }
            }
        }
        E::Function(func) => {
            // A window call's arguments may contain aggregates (sum(sum(x)) OVER ...).
            if let ast::FunctionArguments::List(list) = &func.args {
                for arg in &list.args {
                    if let ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(x)) = arg {
                        go(x);
                    }
                }
            }
        }
        E::Array(a) => a.elem.iter().for_each(go),
        E::AtTimeZone { timestamp, time_zone } => {
            go(timestamp);
            go(time_zone);
        }
        E::Substring { expr, substring_from, substring_for, .. } => {
            go(expr);
            substring_from.iter().for_each(|x| go(x));
            substring_for.iter().for_each(|x| go(x));
        }
        E::Position { expr, r#in } => {
            go(expr);
            go(r#in);
        }
        E::Trim { expr, trim_what, .. } => {
            go(expr);
            trim_what.iter().for_each(|x| go(x));
        }
        E::CompoundFieldAccess { root, .. } => go(root),
        _ => {}
    }
}

/// True when a query body refers to `name` (a recursive CTE's self-reference).
fn references(body: &ast::SetExpr, name: &str) -> bool {
    let text = body.to_string().to_lowercase();
    text.split(|c: char| !(c.is_alphanumeric() || c == '_')).any(|w| w == name)
}

fn rollup(items: &[Vec<usize>]) -> Vec<Vec<usize>> {
    (0..=items.len()).rev().map(|n| items[..n].concat()).collect()
}

fn cube(items: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let n = items.len();
    let mut sets: Vec<Vec<usize>> = (0..1u32 << n)
        .map(|mask| {
            (0..n)
                .filter(|i| mask & (1 << (n - 1 - i)) != 0)
                .flat_map(|i| items[i].clone())
                .collect()
        })
        .collect();
    sets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    sets
}

fn cross(existing: Option<Vec<Vec<usize>>>, new: Vec<Vec<usize>>) -> Vec<Vec<usize>> {
    match existing {
        None => new,
        Some(old) => old
            .iter()
            .flat_map(|a| new.iter().map(move |b| [a.clone(), b.clone()].concat()))
            .collect(),
    }
}

/// The composite value of `(expr).*` (a select item that stands for all its fields; see
/// [`crate::parse::ALL_FIELDS`]), or None for another expression.
fn all_fields_of(e: &ast::Expr) -> Option<ast::Expr> {
    let ast::Expr::CompoundFieldAccess { root, access_chain } = e else { return None };
    let (last, rest) = access_chain.split_last()?;
    let ast::AccessExpr::Dot(ast::Expr::Identifier(field)) = last else { return None };
    if field.value != crate::parse::ALL_FIELDS {
        return None;
    }
    Some(if rest.is_empty() {
        (**root).clone()
    } else {
        ast::Expr::CompoundFieldAccess { root: root.clone(), access_chain: rest.to_vec() }
    })
}
