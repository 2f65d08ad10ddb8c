//! Binding INSERT, UPDATE, DELETE and COPY.

use std::sync::Arc;

use oxibase_common::{DataType, Result, Value, errinput};
use sqlparser::ast;

use super::expr::ExprCtx;
use super::query::{KEY_COLUMN, column_name, scan_plan};
use super::scope::Scope;
use super::{Binder, CopyStatement, ident, parse_expr, split_name};
use crate::catalog::Table;
use crate::catalog::acl::{DELETE, INSERT, SELECT, UPDATE};
use crate::optimize::KeyPart;
use crate::plan::{Column, Expr, Node, Plan};
use crate::types::SqlType;

/// An INSERT: rows with one value per table column, then conflict handling.
#[derive(Debug)]
pub struct Insert {
    /// The target table.
    pub table: Arc<Table>,
    /// Full-width rows (dropped columns are NULL), already cast to the column types.
    pub source: Plan,
    /// ON CONFLICT.
    pub on_conflict: Option<OnConflict>,
    /// RETURNING, over the inserted row.
    pub returning: Option<Returning>,
    /// Row-level security's WITH CHECK each new row must pass (42501 otherwise).
    pub row_check: Option<Expr>,
    /// The WITH CHECK OPTION conditions of the views written through: (view, condition).
    pub view_checks: Vec<(String, Expr)>,
    /// ON CONFLICT DO UPDATE under row-level security: the UPDATE policies' USING the
    /// existing row must pass, and their WITH CHECK the updated row.
    pub update_policy: Option<(Expr, Expr)>,
}

/// ON CONFLICT handling.
#[derive(Debug)]
pub enum OnConflict {
    /// DO NOTHING, for any unique violation or the given arbiters'.
    Nothing {
        /// The arbiters: the unique constraints (indexes, `{table}_pkey`) the conflict target
        /// names or infers (None: any unique constraint).
        target: Option<Vec<String>>,
    },
    /// DO UPDATE SET ... [WHERE ...]: expressions over (existing row ++ proposed row).
    Update {
        /// The arbiters (as for [`OnConflict::Nothing`]).
        target: Vec<String>,
        /// (column position, new value).
        assignments: Vec<(usize, Expr)>,
        /// WHERE: only update when true.
        filter: Option<Expr>,
    },
}

/// RETURNING: expressions over a table row and their output columns.
#[derive(Debug)]
pub struct Returning {
    /// The expressions.
    pub exprs: Vec<Expr>,
    /// Their output columns.
    pub columns: Vec<Column>,
}

/// An UPDATE.
#[derive(Debug)]
pub struct Update {
    /// The target table.
    pub table: Arc<Table>,
    /// Rows: the table's columns, its row key, then any FROM columns.
    pub source: Plan,
    /// (column position, new value over the source row).
    pub assignments: Vec<(usize, Expr)>,
    /// The WHERE condition over the source row, re-checked on the latest version of a row
    /// that changed while this statement waited for its lock (read committed).
    pub recheck: Option<Expr>,
    /// RETURNING, over the new row.
    pub returning: Option<Returning>,
    /// Row-level security's WITH CHECK each new row must pass (42501 otherwise).
    pub row_check: Option<Expr>,
    /// The WITH CHECK OPTION conditions of the views written through: (view, condition).
    pub view_checks: Vec<(String, Expr)>,
}

/// A DELETE.
#[derive(Debug)]
pub struct Delete {
    /// The target table.
    pub table: Arc<Table>,
    /// Rows: the table's columns, its row key, then any USING columns.
    pub source: Plan,
    /// The WHERE condition, re-checked like UPDATE's.
    pub recheck: Option<Expr>,
    /// RETURNING, over the deleted row.
    pub returning: Option<Returning>,
}

impl Binder<'_> {
    pub(super) fn bind_insert(&self, insert: &ast::Insert) -> Result<Insert> {
        let name = match &insert.table {
            ast::TableObject::TableName(name) => name,
            other => {
                return Err(errinput!(
                    FEATURE_NOT_SUPPORTED,
                    "INSERT INTO {other} is not supported"
                ));
            }
        };
        if let Some(view) = self.target_view(name)? {
            let wanted = INSERT | if insert.returning.is_some() { SELECT } else { 0 };
            let rewritten = self.rewrite_view_insert(insert, &view.name, &view.sql)?;
            let mut bound =
                self.through_view((view.id, &view.name), wanted, || self.bind_insert(&rewritten))?;
            bound.view_checks.extend(self.check_option(&view, &bound.table)?);
            return Ok(bound);
        }
        let table = self.write_target(name, INSERT)?;
        if insert.returning.is_some() {
            self.require_table(&table, SELECT)?;
        }
        if let Some(ast::OnInsert::OnConflict(ast::OnConflict {
            action: ast::OnConflictAction::DoUpdate(_),
            ..
        })) = &insert.on
        {
            self.require_table(&table, UPDATE)?;
        }
        let alias = insert.table_alias.as_ref().map_or(table.name.clone(), |a| ident(&a.alias));
        // A query source (not plain VALUES) is bound first: without a column list, it fills
        // as many leading columns as it has.
        let query = insert.source.as_deref().filter(|q| {
            !matches!(
                (&*q.body, &q.order_by, &q.limit_clause, &q.with),
                (ast::SetExpr::Values(_), None, None, None)
            )
        });
        let query =
            query.map(|q| Ok::<_, oxibase_common::Error>((q, self.bind_query(q)?))).transpose()?;
        let targets: Vec<usize> = if insert.columns.is_empty() {
            // Without a column list, as many leading columns as the VALUES rows or the
            // query have (the rest take their defaults, as in PostgreSQL).
            let width = match &query {
                Some((_, plan)) => Some(plan.columns.iter().filter(|c| !c.hidden).count()),
                None => insert.source.as_deref().and_then(|q| match &*q.body {
                    ast::SetExpr::Values(v) => v.rows.first().map(|r| r.len()),
                    _ => None,
                }),
            };
            let all = table.live_columns().map(|(i, _)| i);
            match width {
                Some(n) => all.take(n.max(1)).collect(),
                None => all.collect(),
            }
        } else {
            self.insert_column_list(&table, &insert.columns)?
        };
        let overriding = matches!(insert.overriding, Some(ast::InsertOverriding::System));
        for (i, t) in targets.iter().enumerate() {
            let generated = table.columns[*t].generated.is_some();
            if (table.columns[*t].identity_always && !overriding) || generated {
                // Only DEFAULT may go there: VALUES rows are checked item by item below,
                // any other source supplies values; DEFAULT VALUES has none.
                let values_all_default = insert.source.as_deref().is_none_or(|q| {
                    matches!(&*q.body, ast::SetExpr::Values(v)
                        if v.rows.iter().all(|row| row.get(i).is_some_and(is_default_keyword)))
                });
                if !values_all_default {
                    let name = &table.columns[*t].name;
                    return Err(if generated {
                        generated_column(name)
                    } else {
                        generated_always(name)
                    });
                }
            }
        }
        let source = match (insert.source.as_deref(), query) {
            (_, Some((query, plan))) => {
                self.full_rows_from(&table, &targets, plan, &untyped_outputs(query))?
            }
            (Some(q), None) => match &*q.body {
                ast::SetExpr::Values(values) => {
                    self.bind_insert_values(&table, &targets, values)?
                }
                _ => {
                    return Err(errinput!(
                        INTERNAL_ERROR,
                        "INSERT source neither VALUES nor query"
                    ));
                }
            },
            (None, None) => self.default_row_plan(&table)?,
        };
        let on_conflict =
            insert.on.as_ref().map(|on| self.bind_on_conflict(&table, &alias, on)).transpose()?;
        let update_policy = match on_conflict {
            Some(OnConflict::Update { .. }) => {
                let plan = scan_plan(table.clone(), &table.name, None);
                self.row_security(&table, 'w', &Scope::new(plan.columns))?
                    .map(|rs| (rs.using, rs.check))
            }
            _ => None,
        };
        let returning = self.bind_returning(insert.returning.as_deref(), &table, &alias, None)?;
        let row_check = self.row_check(&table, 'a')?;
        Ok(Insert {
            table,
            source,
            on_conflict,
            returning,
            row_check,
            view_checks: Vec::new(),
            update_policy,
        })
    }

    /// The positions of an INSERT's column list: 42703 for a column the table lacks, 42701
    /// for one named twice.
    pub(super) fn insert_column_list(
        &self,
        table: &Table,
        columns: &[ast::ObjectName],
    ) -> Result<Vec<usize>> {
        let mut targets: Vec<usize> = Vec::with_capacity(columns.len());
        for c in columns {
            let name = match c.0.last() {
                Some(ast::ObjectNamePart::Identifier(id)) => ident(id),
                _ => c.to_string(),
            };
            let col = table.column_index(&name).ok_or_else(|| {
                errinput!(
                    UNDEFINED_COLUMN,
                    "column \"{name}\" of relation \"{}\" does not exist",
                    table.name
                )
            })?;
            if targets.contains(&col) {
                return Err(errinput!(
                    DUPLICATE_COLUMN,
                    "column \"{name}\" specified more than once"
                ));
            }
            targets.push(col);
        }
        Ok(targets)
    }

    /// One row of defaults (INSERT ... DEFAULT VALUES).
    fn default_row_plan(&self, table: &Table) -> Result<Plan> {
        let row = (0..table.columns.len())
            .map(|i| self.default_value(table, i))
            .collect::<Result<Vec<_>>>()?;
        Ok(Plan::new(Node::Values { rows: vec![row] }, table_columns(table)))
    }

    fn bind_insert_values(
        &self,
        table: &Table,
        targets: &[usize],
        values: &ast::Values,
    ) -> Result<Plan> {
        let empty = Scope::default();
        let ctx = ExprCtx::plain(&empty, "VALUES");
        let mut rows = Vec::with_capacity(values.rows.len());
        for row in &values.rows {
            if row.len() > targets.len() {
                return Err(errinput!(
                    SYNTAX_ERROR,
                    "INSERT has more expressions than target columns"
                ));
            }
            if row.len() < targets.len() {
                return Err(errinput!(
                    SYNTAX_ERROR,
                    "INSERT has more target columns than expressions"
                ));
            }
            let mut full: Vec<Option<Expr>> = vec![None; table.columns.len()];
            for (e, &col) in row.iter().zip(targets) {
                full[col] = Some(if is_default_keyword(e) {
                    self.default_value(table, col)?
                } else {
                    let (x, t) = self.bind_expr(e, &ctx)?;
                    self.assign(x, &t, table, col)?
                });
            }
            let full = full
                .into_iter()
                .enumerate()
                .map(|(i, v)| v.map_or_else(|| self.default_value(table, i), Ok))
                .collect::<Result<Vec<_>>>()?;
            rows.push(full);
        }
        Ok(Plan::new(Node::Values { rows }, table_columns(table)))
    }

    /// Maps a query's rows onto full table rows: target columns from the query, the rest
    /// from their defaults.
    /// `untyped` marks the query's outputs that are untyped literals: they take the column's
    /// type, as PostgreSQL resolves an unknown-typed constant of INSERT ... SELECT.
    fn full_rows_from(
        &self,
        table: &Table,
        targets: &[usize],
        plan: Plan,
        untyped: &[bool],
    ) -> Result<Plan> {
        let visible: Vec<usize> =
            plan.columns.iter().enumerate().filter(|(_, c)| !c.hidden).map(|(i, _)| i).collect();
        if visible.len() > targets.len() {
            return Err(errinput!(SYNTAX_ERROR, "INSERT has more expressions than target columns"));
        }
        if visible.len() < targets.len() {
            return Err(errinput!(SYNTAX_ERROR, "INSERT has more target columns than expressions"));
        }
        let mut exprs: Vec<Option<Expr>> = vec![None; table.columns.len()];
        for (i, (&src, &col)) in visible.iter().zip(targets).enumerate() {
            let ty = match untyped.get(i) {
                Some(true) => SqlType::Unknown,
                _ => SqlType::Known(plan.columns[src].data_type.clone()),
            };
            exprs[col] = Some(self.assign(Expr::Column(src), &ty, table, col)?);
        }
        let exprs = exprs
            .into_iter()
            .enumerate()
            .map(|(i, e)| e.map_or_else(|| self.default_value(table, i), Ok))
            .collect::<Result<Vec<_>>>()?;
        Ok(Plan::new(Node::Project { input: Box::new(plan), exprs }, table_columns(table)))
    }

    /// A column's default (NULL without one; NULL for dropped columns). A column of a
    /// domain without a default of its own takes the domain's, and the value is checked
    /// against the domain (a NOT NULL domain refuses a missing value).
    pub(super) fn default_value(&self, table: &Table, col: usize) -> Result<Expr> {
        let column = &table.columns[col];
        if column.dropped {
            return Ok(Expr::Literal(Value::Null));
        }
        let Some(sql) = column.default_sql() else {
            return Ok(match &column.domain {
                Some(d) => Expr::Domain(Box::new(Expr::Literal(Value::Null)), d.clone()),
                None => Expr::Literal(Value::Null),
            });
        };
        let ast = parse_expr(sql)?;
        let empty = Scope::default();
        let (x, t) = self.bind_expr(&ast, &ExprCtx::plain(&empty, "DEFAULT"))?;
        self.assign(x, &t, table, col)
    }

    /// Coerces a value for storage in a column (PostgreSQL's assignment casts).
    pub(super) fn assign(
        &self,
        x: Expr,
        from: &SqlType,
        table: &Table,
        col: usize,
    ) -> Result<Expr> {
        let to = &table.columns[col].data_type;
        if let SqlType::Known(t) = from
            && !assignable(t, to)
        {
            return Err(errinput!(
                DATATYPE_MISMATCH,
                "column \"{}\" is of type {} but expression is of type {}",
                table.columns[col].name,
                to.name(),
                t.name()
            )
            .with_hint("You will need to rewrite or cast the expression."));
        }
        let x = match (from, x) {
            // A quoted literal is read as the column's type with its length limits.
            (SqlType::Unknown, Expr::Literal(Value::Text(text))) => {
                Expr::Literal(Value::Text(text))
            }
            // A parameter takes the column's type without its length limit; the assignment
            // cast below applies the limit (as an error, not a truncation).
            (SqlType::Unknown, x @ Expr::Param(_)) => self.coerce(x, from, &unconstrained(to))?,
            (SqlType::Unknown, x) => self.coerce(x, from, to)?,
            (SqlType::Known(_), x) => x,
        };
        let x = match x {
            Expr::Literal(v) => Expr::Literal(crate::types::cast::cast(
                v,
                to,
                crate::types::cast::CastKind::Assignment,
                &crate::types::datetime::Zone::UTC,
            )?),
            x => Expr::AssignCast(Box::new(x), to.clone()),
        };
        Ok(match &table.columns[col].domain {
            Some(domain) => Expr::Domain(Box::new(x), domain.clone()),
            None => x,
        })
    }

    fn bind_on_conflict(
        &self,
        table: &Arc<Table>,
        alias: &str,
        on: &ast::OnInsert,
    ) -> Result<OnConflict> {
        let ast::OnInsert::OnConflict(conflict) = on else {
            return Err(errinput!(
                FEATURE_NOT_SUPPORTED,
                "ON DUPLICATE KEY is not supported; use ON CONFLICT"
            ));
        };
        // `ON CONFLICT (cols) WHERE predicate` also infers a partial unique index whose
        // predicate the given one implies (as a scan may use one).
        let given: Vec<Expr> = match &conflict.conflict_target {
            Some(ast::ConflictTarget::Columns { predicate: Some(p), .. }) => {
                super::bind_table_expr_in(table, &p.to_string(), "index predicates")?.0.conjuncts()
            }
            _ => Vec::new(),
        };
        let pkey = format!("{}_pkey", table.name);
        let target = match &conflict.conflict_target {
            None => None,
            Some(ast::ConflictTarget::Columns { columns: cols, .. }) => {
                // The inference specification's parts, as the index keys are compared:
                // columns by position, expressions by their bound form.
                let mut wanted = Vec::with_capacity(cols.len());
                for c in cols {
                    let name = ident(c);
                    wanted.push(match crate::parse::conflict_expr(&name) {
                        Some(sql) => KeyPart::Expr(format!(
                            "{:?}",
                            super::bind_table_expr_in(table, &sql, "index expressions")?.0
                        )),
                        None => KeyPart::Column(table.column_index(&name).ok_or_else(|| {
                            errinput!(UNDEFINED_COLUMN, "column \"{name}\" does not exist")
                        })?),
                    });
                }
                wanted.sort();
                // Every unique index (and the primary key) with exactly these parts is an
                // arbiter, as in PostgreSQL.
                let mut arbiters = Vec::new();
                let mut pk = KeyPart::columns(&table.primary_key);
                pk.sort();
                if !pk.is_empty() && pk == wanted {
                    arbiters.push(pkey);
                }
                for index in table.indexes.iter().filter(|i| i.unique && i.valid) {
                    let Some(mut parts) = crate::optimize::index_key_parts(table, index) else {
                        continue;
                    };
                    parts.sort();
                    if parts != wanted {
                        continue;
                    }
                    if let Some(predicate) = &index.predicate {
                        let predicate = super::bind_table_expr(table, predicate)?;
                        if !crate::optimize::predicate_implied(&predicate, &given) {
                            continue;
                        }
                    }
                    arbiters.push(index.name.clone());
                }
                if arbiters.is_empty() {
                    return Err(errinput!(
                        INVALID_COLUMN_REFERENCE,
                        "there is no unique or exclusion constraint matching the ON CONFLICT specification"
                    ));
                }
                Some(arbiters)
            }
            Some(ast::ConflictTarget::OnConstraint(name)) => {
                let (_, name) = split_name(name)?;
                let exists = (name == pkey && !table.primary_key.is_empty())
                    || table.indexes.iter().any(|i| i.name == name && i.unique);
                if !exists {
                    return Err(errinput!(
                        UNDEFINED_OBJECT,
                        "constraint \"{name}\" for table \"{}\" does not exist",
                        table.name
                    ));
                }
                Some(vec![name])
            }
        };
        match &conflict.action {
            ast::OnConflictAction::DoNothing => Ok(OnConflict::Nothing { target }),
            ast::OnConflictAction::DoUpdate(update) => {
                let target = target.ok_or_else(|| {
                    errinput!(
                        SYNTAX_ERROR,
                        "ON CONFLICT DO UPDATE requires inference specification or constraint name"
                    )
                    .with_hint("For example, ON CONFLICT (column_name).")
                })?;
                let mut columns: Vec<Column> = table_columns(table)
                    .into_iter()
                    .map(|c| Column { table: Some(alias.to_string()), ..c })
                    .collect();
                columns.extend(
                    table_columns(table)
                        .into_iter()
                        .map(|c| Column { table: Some("excluded".into()), ..c }),
                );
                let scope = Scope::new(columns);
                let ctx = ExprCtx::plain(&scope, "ON CONFLICT DO UPDATE");
                let assignments = self.bind_assignments(&update.assignments, table, &ctx)?;
                let filter =
                    update.selection.as_ref().map(|w| self.bind_condition(w, &ctx)).transpose()?;
                Ok(OnConflict::Update { target, assignments, filter })
            }
        }
    }

    pub(super) fn bind_assignments(
        &self,
        assignments: &[ast::Assignment],
        table: &Table,
        ctx: &ExprCtx,
    ) -> Result<Vec<(usize, Expr)>> {
        let mut out: Vec<(usize, Expr)> = Vec::new();
        for a in assignments {
            let names: Vec<String> = match &a.target {
                ast::AssignmentTarget::ColumnName(name) => vec![split_name(name)?.1],
                ast::AssignmentTarget::Tuple(names) => {
                    names.iter().map(|n| split_name(n).map(|(_, c)| c)).collect::<Result<_>>()?
                }
            };
            // `SET (a, b) = (SELECT x, y ...)`: one scalar subquery per column, each keeping
            // one of the select items (zero rows give NULLs, several rows 21000).
            let row_subquery: Vec<ast::Expr>;
            let values: Vec<&ast::Expr> = match (&a.value, names.len()) {
                (ast::Expr::Tuple(items), n) if n > 1 => items.iter().collect(),
                (ast::Expr::Subquery(query), n) if n > 1 => {
                    let ast::SetExpr::Select(select) = &*query.body else {
                        return Err(errinput!(
                            FEATURE_NOT_SUPPORTED,
                            "a multiple-column assignment needs a SELECT subquery"
                        ));
                    };
                    if select.projection.len() != n {
                        return Err(errinput!(
                            SYNTAX_ERROR,
                            "number of columns does not match number of values"
                        ));
                    }
                    row_subquery = (0..n)
                        .map(|j| {
                            let mut one = select.clone();
                            one.projection = vec![select.projection[j].clone()];
                            let mut q = query.clone();
                            q.body = Box::new(ast::SetExpr::Select(one));
                            ast::Expr::Subquery(q)
                        })
                        .collect();
                    row_subquery.iter().collect()
                }
                (v, _) => vec![v],
            };
            if values.len() != names.len() {
                return Err(errinput!(
                    SYNTAX_ERROR,
                    "number of columns does not match number of values"
                ));
            }
            for (name, value) in names.iter().zip(values) {
                let col = table.column_index(name).ok_or_else(|| {
                    errinput!(
                        UNDEFINED_COLUMN,
                        "column \"{name}\" of relation \"{}\" does not exist",
                        table.name
                    )
                })?;
                if out.iter().any(|(c, _)| *c == col) {
                    return Err(errinput!(
                        SYNTAX_ERROR,
                        "multiple assignments to same column \"{name}\""
                    ));
                }
                let expr = if is_default_keyword(value) {
                    self.default_value(table, col)?
                } else {
                    if table.columns[col].generated.is_some() {
                        return Err(errinput!(
                            GENERATED_ALWAYS,
                            "column \"{name}\" can only be updated to DEFAULT"
                        )
                        .with_detail(format!("Column \"{name}\" is a generated column.")));
                    }
                    if table.columns[col].identity_always {
                        return Err(errinput!(
                            GENERATED_ALWAYS,
                            "column \"{name}\" can only be updated to DEFAULT"
                        )
                        .with_detail(format!(
                            "Column \"{name}\" is an identity column defined as GENERATED ALWAYS."
                        )));
                    }
                    let (x, t) = self.bind_expr(value, ctx)?;
                    self.assign(x, &t, table, col)?
                };
                out.push((col, expr));
            }
        }
        Ok(out)
    }

    /// RETURNING over the row written: the table's columns, then (for UPDATE ... FROM and
    /// DELETE ... USING, whose `source` rows carry them) the row key and the other tables'
    /// columns, which RETURNING may name too (and `*` lists, as in PostgreSQL).
    fn bind_returning(
        &self,
        returning: Option<&[ast::SelectItem]>,
        table: &Table,
        alias: &str,
        source: Option<&Plan>,
    ) -> Result<Option<Returning>> {
        let Some(items) = returning else { return Ok(None) };
        let mut columns: Vec<Column> = table_columns(table)
            .into_iter()
            .map(|c| Column { table: Some(alias.to_string()), ..c })
            .collect();
        let n = columns.len();
        if let Some(source) = source {
            columns.extend(source.columns.iter().skip(n).cloned());
        }
        let scope = Scope::new(columns);
        let ctx = ExprCtx::plain(&scope, "RETURNING");
        let mut exprs = Vec::new();
        let mut out = Vec::new();
        for item in items {
            match item {
                ast::SelectItem::Wildcard(_) | ast::SelectItem::QualifiedWildcard(..) => {
                    for i in scope.visible() {
                        exprs.push(Expr::Column(i));
                        out.push(scope.columns[i].clone());
                    }
                }
                ast::SelectItem::UnnamedExpr(e) => {
                    let (x, t) = self.bind_expr(e, &ctx)?;
                    exprs.push(x);
                    out.push(Column::new(column_name(e), t.resolve()));
                }
                ast::SelectItem::ExprWithAlias { expr, alias } => {
                    let (x, t) = self.bind_expr(expr, &ctx)?;
                    exprs.push(x);
                    out.push(Column::new(ident(alias), t.resolve()));
                }
                other => {
                    return Err(errinput!(
                        FEATURE_NOT_SUPPORTED,
                        "RETURNING item not supported: {other}"
                    ));
                }
            }
        }
        Ok(Some(Returning { exprs, columns: out }))
    }

    /// The rows an UPDATE or DELETE visits: the target table (with its row key), joined
    /// with FROM/USING tables, filtered by WHERE.
    fn bind_target_rows(
        &self,
        relation: &ast::TableWithJoins,
        extra: &[ast::TableWithJoins],
        selection: Option<&ast::Expr>,
        wanted: crate::catalog::acl::Privileges,
    ) -> Result<(Arc<Table>, String, Plan, Option<Expr>)> {
        let ast::TableFactor::Table { name, alias, .. } = &relation.relation else {
            return Err(errinput!(
                FEATURE_NOT_SUPPORTED,
                "the target of UPDATE or DELETE must be a table"
            ));
        };
        let table = self.write_target(name, wanted)?;
        let alias = alias.as_ref().map_or(table.name.clone(), |a| ident(&a.name));
        let mut plan = scan_plan(table.clone(), &alias, None);
        // The rows the policies let the command change: filtered, and judged again on the
        // latest version of a row that changed while the statement waited for its lock.
        let command = if wanted & UPDATE != 0 { 'w' } else { 'd' };
        let scan_scope = Scope::new(plan.columns.clone());
        let mut policy = self.row_security(&table, command, &scan_scope)?.map(|rs| rs.using);
        // A statement that reads the rows (WHERE, RETURNING, ...) sees only those the SELECT
        // policies show, as in PostgreSQL.
        if wanted & SELECT != 0
            && let Some(visible) = self.row_security(&table, 'r', &scan_scope)?.map(|rs| rs.using)
        {
            policy = Some(match policy {
                Some(p) => Expr::And(Box::new(p), Box::new(visible)),
                None => visible,
            });
        }
        if let Some(predicate) = &policy {
            let columns = plan.columns.clone();
            plan = Plan::new(
                Node::Filter { input: Box::new(plan), predicate: predicate.clone() },
                columns,
            );
        }
        if !extra.is_empty() {
            let (other, _) = self.bind_from(extra, false)?;
            let columns: Vec<Column> = plan.columns.iter().chain(&other.columns).cloned().collect();
            plan = Plan::new(
                Node::NestedLoopJoin {
                    left: Box::new(plan),
                    right: Box::new(other),
                    kind: crate::plan::JoinKind::Inner,
                    predicate: None,
                    lateral: false,
                },
                columns,
            );
        }
        let scope = Scope::new(plan.columns.clone());
        let recheck = selection
            .map(|w| self.bind_condition(w, &ExprCtx::plain(&scope, "WHERE")))
            .transpose()?;
        if let Some(predicate) = &recheck {
            let columns = plan.columns.clone();
            plan = Plan::new(
                Node::Filter { input: Box::new(plan), predicate: predicate.clone() },
                columns,
            );
        }
        let recheck = match (recheck, policy) {
            (Some(a), Some(b)) => Some(Expr::And(Box::new(a), Box::new(b))),
            (a, b) => a.or(b),
        };
        debug_assert_eq!(scope.columns[table.columns.len()].name, KEY_COLUMN);
        Ok((table, alias, plan, recheck))
    }

    pub(super) fn bind_update(&self, update: &ast::Update) -> Result<Update> {
        // Reading the table's rows (WHERE, RETURNING, FROM, a SET that reads a column)
        // takes SELECT too, as in PostgreSQL.
        let reads = update.selection.is_some()
            || update.returning.is_some()
            || update.from.is_some()
            || update.assignments.iter().any(|a| reads_columns(&a.value));
        let wanted = UPDATE | if reads { SELECT } else { 0 };
        if let ast::TableFactor::Table { name, .. } = &update.table.relation
            && let Some(view) = self.target_view(name)?
        {
            let rewritten = self.rewrite_view_update(update, &view.name, &view.sql)?;
            let mut bound =
                self.through_view((view.id, &view.name), wanted, || self.bind_update(&rewritten))?;
            bound.view_checks.extend(self.check_option(&view, &bound.table)?);
            return Ok(bound);
        }
        let extra: Vec<ast::TableWithJoins> = match &update.from {
            Some(
                ast::UpdateTableFromKind::BeforeSet(f) | ast::UpdateTableFromKind::AfterSet(f),
            ) => f.clone(),
            None => vec![],
        };
        let (table, alias, source, recheck) =
            self.bind_target_rows(&update.table, &extra, update.selection.as_ref(), wanted)?;
        let scope = Scope::new(source.columns.clone());
        let assignments =
            self.bind_assignments(&update.assignments, &table, &ExprCtx::plain(&scope, "UPDATE"))?;
        let returning =
            self.bind_returning(update.returning.as_deref(), &table, &alias, Some(&source))?;
        let row_check = self.row_check(&table, 'w')?;
        Ok(Update {
            table,
            source,
            assignments,
            recheck,
            returning,
            row_check,
            view_checks: Vec::new(),
        })
    }

    pub(super) fn bind_delete(&self, delete: &ast::Delete) -> Result<Delete> {
        let tables = match &delete.from {
            ast::FromTable::WithFromKeyword(t) | ast::FromTable::WithoutKeyword(t) => t,
        };
        let [target] = tables.as_slice() else {
            return Err(errinput!(
                FEATURE_NOT_SUPPORTED,
                "DELETE from several tables is not supported"
            ));
        };
        let reads =
            delete.selection.is_some() || delete.returning.is_some() || delete.using.is_some();
        let wanted = DELETE | if reads { SELECT } else { 0 };
        if let ast::TableFactor::Table { name, .. } = &target.relation
            && let Some(view) = self.target_view(name)?
        {
            let rewritten = self.rewrite_view_delete(delete, target, &view.name, &view.sql)?;
            return self
                .through_view((view.id, &view.name), wanted, || self.bind_delete(&rewritten));
        }
        let using = delete.using.clone().unwrap_or_default();
        let (table, alias, source, recheck) =
            self.bind_target_rows(target, &using, delete.selection.as_ref(), wanted)?;
        let returning =
            self.bind_returning(delete.returning.as_deref(), &table, &alias, Some(&source))?;
        Ok(Delete { table, source, recheck, returning })
    }

    pub(super) fn bind_copy(
        &self,
        source: &ast::CopySource,
        to: bool,
        target: &ast::CopyTarget,
        options: &[ast::CopyOption],
        legacy: &[ast::CopyLegacyOption],
    ) -> Result<CopyStatement> {
        let mut copy = CopyStatement {
            table: None,
            row_check: None,
            columns: vec![],
            query: None,
            from: !to,
            csv: false,
            binary: false,
            header: false,
            delimiter: '\t',
            null: "\\N".into(),
            quote: '"',
            escape: '"',
            file: None,
        };
        match target {
            ast::CopyTarget::Stdin | ast::CopyTarget::Stdout => {}
            ast::CopyTarget::File { filename } => copy.file = Some(filename.clone()),
            other => return Err(errinput!(FEATURE_NOT_SUPPORTED, "COPY {other} is not supported")),
        }
        let mut delimiter_set = false;
        let mut null_set = false;
        for option in options {
            match option {
                ast::CopyOption::Format(f) => match ident(f).as_str() {
                    "csv" => copy.csv = true,
                    "text" => copy.csv = false,
                    "binary" => copy.binary = true,
                    other => {
                        return Err(errinput!(
                            FEATURE_NOT_SUPPORTED,
                            "COPY format \"{other}\" is not supported"
                        ));
                    }
                },
                // Rows are visible to others only at commit either way; FREEZE changes nothing.
                ast::CopyOption::Freeze(_) => {}
                ast::CopyOption::Header(h) => copy.header = *h,
                ast::CopyOption::Delimiter(d) => {
                    copy.delimiter = *d;
                    delimiter_set = true;
                }
                ast::CopyOption::Null(n) => {
                    copy.null = n.clone();
                    null_set = true;
                }
                ast::CopyOption::Quote(q) => copy.quote = *q,
                ast::CopyOption::Escape(e) => copy.escape = *e,
                ast::CopyOption::Encoding(e)
                    if e.eq_ignore_ascii_case("utf8") || e.eq_ignore_ascii_case("utf-8") => {}
                other => {
                    return Err(errinput!(
                        FEATURE_NOT_SUPPORTED,
                        "COPY option {other} is not supported"
                    ));
                }
            }
        }
        for option in legacy {
            match option {
                ast::CopyLegacyOption::Csv(_) => copy.csv = true,
                ast::CopyLegacyOption::Delimiter(d) => {
                    copy.delimiter = *d;
                    delimiter_set = true;
                }
                ast::CopyLegacyOption::Null(n) => {
                    copy.null = n.clone();
                    null_set = true;
                }
                ast::CopyLegacyOption::Binary => copy.binary = true,
                other => {
                    return Err(errinput!(
                        FEATURE_NOT_SUPPORTED,
                        "COPY option {other} is not supported"
                    ));
                }
            }
        }
        if copy.binary {
            let conflict = [
                (copy.csv, "CSV"),
                (delimiter_set, "DELIMITER"),
                (null_set, "NULL"),
                (copy.header, "HEADER"),
            ];
            if let Some((_, what)) = conflict.iter().find(|(set, _)| *set) {
                return Err(errinput!(SYNTAX_ERROR, "cannot specify {what} in BINARY mode"));
            }
            if to || copy.file.is_some() {
                return Err(errinput!(
                    FEATURE_NOT_SUPPORTED,
                    "COPY BINARY is supported only FROM STDIN"
                )
                .with_hint("COPY ... TO STDOUT and COPY with a file take text or CSV"));
            }
        }
        if copy.csv {
            if !delimiter_set {
                copy.delimiter = ',';
            }
            if !null_set {
                copy.null = String::new();
            }
        }
        match source {
            ast::CopySource::Table { table_name, columns } => {
                let table = if to {
                    let table = self.table(table_name)?;
                    self.require_table(&table, SELECT)?;
                    table
                } else {
                    let table = self.write_target(table_name, INSERT)?;
                    copy.row_check = self.row_check(&table, 'a')?;
                    table
                };
                copy.columns = if columns.is_empty() {
                    // Generated columns are left out, as in PostgreSQL.
                    table
                        .live_columns()
                        .filter(|(_, c)| c.generated.is_none())
                        .map(|(i, _)| i)
                        .collect()
                } else {
                    columns
                        .iter()
                        .map(|c| {
                            table.column_index(&ident(c)).ok_or_else(|| {
                                errinput!(
                                    UNDEFINED_COLUMN,
                                    "column \"{}\" of relation \"{}\" does not exist",
                                    ident(c),
                                    table.name
                                )
                            })
                        })
                        .collect::<Result<Vec<usize>>>()?
                };
                if let Some(&c) =
                    copy.columns.iter().find(|&&c| table.columns[c].generated.is_some())
                {
                    return Err(errinput!(
                        INVALID_COLUMN_REFERENCE,
                        "column \"{}\" is a generated column",
                        table.columns[c].name
                    )
                    .with_detail("Generated columns cannot be used in COPY."));
                }
                if to {
                    let alias = table.name.clone();
                    // Only the rows row-level security lets the role see.
                    let scan = self.with_row_security(
                        scan_plan(table.clone(), &alias, None),
                        &table,
                        'r',
                    )?;
                    let exprs = copy.columns.iter().map(|&i| Expr::Column(i)).collect();
                    let columns = copy.columns.iter().map(|&i| scan.columns[i].clone()).collect();
                    copy.query =
                        Some(Plan::new(Node::Project { input: Box::new(scan), exprs }, columns));
                }
                copy.table = Some(table);
            }
            ast::CopySource::Query(query) => {
                if !to {
                    return Err(errinput!(SYNTAX_ERROR, "COPY FROM needs a table"));
                }
                copy.query = Some(self.bind_query(query)?);
            }
        }
        Ok(copy)
    }
}

/// The columns of a full table row.
pub(super) fn table_columns(table: &Table) -> Vec<Column> {
    table
        .columns
        .iter()
        .map(|c| Column {
            name: c.name.clone(),
            data_type: c.data_type.clone(),
            table: Some(table.name.clone()),
            hidden: c.dropped,
        })
        .collect()
}

/// Which outputs of an INSERT's query are a NULL or a quoted literal with no type: in a
/// plain SELECT's list, up to a `*` (a set operation's outputs have resolved types).
fn untyped_outputs(query: &ast::Query) -> Vec<bool> {
    let ast::SetExpr::Select(select) = &*query.body else { return Vec::new() };
    select
        .projection
        .iter()
        .map_while(|item| match item {
            ast::SelectItem::UnnamedExpr(e) | ast::SelectItem::ExprWithAlias { expr: e, .. } => {
                Some(matches!(
                    e,
                    ast::Expr::Value(v)
                        if matches!(v.value, ast::Value::Null | ast::Value::SingleQuotedString(_))
                ))
            }
            _ => None,
        })
        .collect()
}

pub(super) fn is_default_keyword(e: &ast::Expr) -> bool {
    matches!(e, ast::Expr::Identifier(id) if id.quote_style.is_none() && id.value.eq_ignore_ascii_case("default"))
}

/// A type without its length or precision modifiers (varchar(5) is varchar).
fn unconstrained(t: &DataType) -> DataType {
    match t {
        DataType::Varchar(_) => DataType::Varchar(None),
        DataType::Char(_) => DataType::Text,
        DataType::Numeric(_) => DataType::Numeric(None),
        DataType::Array(e) => DataType::Array(Box::new(unconstrained(e))),
        other => other.clone(),
    }
}

/// PostgreSQL's assignment casts: numbers between numeric types, anything into strings,
/// strings into nothing else implicitly, date/time widening and narrowing.
fn assignable(from: &DataType, to: &DataType) -> bool {
    use crate::types::category;
    if from == to
        || matches!(to, DataType::Text | DataType::Varchar(_) | DataType::Char(_) | DataType::Name)
    {
        return true;
    }
    match (from, to) {
        (a, b) if category(a) == 'N' && category(b) == 'N' => true,
        (a, b) if category(a) == 'D' && category(b) == 'D' => {
            !matches!((a, b), (DataType::Time(_), _) | (_, DataType::Time(_)))
        }
        (DataType::Json | DataType::Jsonb, DataType::Json | DataType::Jsonb) => true,
        (DataType::Time(_), DataType::Interval(_)) | (DataType::Interval(_), DataType::Time(_)) => {
            true
        }
        (DataType::Bool, DataType::Int4) => false,
        (DataType::Array(a), DataType::Array(b)) => assignable(a, b),
        // An anonymous record (`ROW(...)`) to a composite type, field by field (a text
        // field may be a quoted literal, which reads as the attribute's type).
        (DataType::Record(a), DataType::Record(b)) if a.id.is_none() => {
            a.fields.is_empty()
                || (a.fields.len() == b.fields.len()
                    && a.fields
                        .iter()
                        .zip(&b.fields)
                        .all(|((_, x), (_, y))| *x == DataType::Text || assignable(x, y)))
        }
        _ => false,
    }
}

/// 428C9: a value for a GENERATED ALWAYS identity column.
pub(super) fn generated_always(column: &str) -> oxibase_common::Error {
    errinput!(GENERATED_ALWAYS, "cannot insert a non-DEFAULT value into column \"{column}\"")
        .with_detail(format!(
            "Column \"{column}\" is an identity column defined as GENERATED ALWAYS."
        ))
        .with_hint("Use OVERRIDING SYSTEM VALUE to override.")
}

/// 428C9: a value for a generated column.
pub(super) fn generated_column(column: &str) -> oxibase_common::Error {
    errinput!(GENERATED_ALWAYS, "cannot insert a non-DEFAULT value into column \"{column}\"")
        .with_detail(format!("Column \"{column}\" is a generated column."))
}

/// Whether an expression names a column (or anything else that could read one): an
/// UPDATE's SET that does takes SELECT on the table.
fn reads_columns(expr: &ast::Expr) -> bool {
    let mut reads = false;
    let _ = ast::visit_expressions(expr, |e| {
        if matches!(
            e,
            ast::Expr::Identifier(_) | ast::Expr::CompoundIdentifier(_) | ast::Expr::Subquery(_)
        ) {
            reads = true;
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    reads
}
