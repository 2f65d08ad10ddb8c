//! Automatically updatable views, as PostgreSQL has them: INSERT, UPDATE and DELETE on a
//! view that selects from one table (or such a view) without aggregates, grouping,
//! DISTINCT, LIMIT, set operations or window functions become the same statement on that
//! table. A view column that is a column of the table is written through; one that is an
//! expression may be read (in WHERE, SET values, RETURNING) but not written (0A000). The
//! view's WHERE limits what UPDATE and DELETE reach; INSERT is not checked against it (no
//! CHECK OPTION, as PostgreSQL's default). The rewritten statement is bound as any other,
//! so a view over an updatable view rewrites again.

use sqlparser::ast;

use super::{Binder, ident, split_name};
use oxibase_common::{Result, errinput};

/// What the rewrite needs of a view: the relation it selects from, each of its columns'
/// definitions over that relation, and its WHERE.
struct ViewMap {
    /// The view's name (for messages).
    view: String,
    /// The relation the view selects from, as written in the view.
    base: ast::ObjectName,
    /// The view's columns: name, and definition (qualified with the rewritten statement's
    /// alias for the base relation).
    columns: Vec<(String, ast::Expr)>,
    /// The view's WHERE, over the base relation under that alias.
    filter: Option<ast::Expr>,
}

impl ViewMap {
    fn column(&self, name: &str) -> Option<&ast::Expr> {
        self.columns.iter().find(|(c, _)| c == name).map(|(_, e)| e)
    }

    /// The base column a view column writes to (0A000 for an expression, 42703 for an
    /// unknown name).
    fn target(&self, name: &str, verb: &str) -> Result<ast::Ident> {
        match self.column(name) {
            Some(ast::Expr::Identifier(id)) => Ok(id.clone()),
            Some(ast::Expr::CompoundIdentifier(parts)) if !parts.is_empty() => {
                Ok(parts[parts.len() - 1].clone())
            }
            Some(_) => Err(errinput!(
                FEATURE_NOT_SUPPORTED,
                "cannot {verb} column \"{name}\" of view \"{}\"",
                self.view
            )
            .with_detail(
                "View columns that are not columns of their base relation are not updatable.",
            )),
            None => Err(errinput!(
                UNDEFINED_COLUMN,
                "column \"{name}\" of relation \"{}\" does not exist",
                self.view
            )),
        }
    }

    /// `expr` with the view's columns (bare, or qualified with `alias`) replaced by their
    /// definitions.
    fn substitute(&self, expr: &mut ast::Expr, alias: &str) {
        let _ = ast::visit_expressions_mut(expr, |e| {
            let name = match e {
                ast::Expr::Identifier(id) => Some(ident(id)),
                ast::Expr::CompoundIdentifier(parts) if parts.len() == 2 => {
                    (ident(&parts[0]) == alias).then(|| ident(&parts[1]))
                }
                _ => None,
            };
            if let Some(definition) = name.and_then(|n| self.column(&n)) {
                *e = ast::Expr::Nested(Box::new(definition.clone()));
            }
            std::ops::ControlFlow::<()>::Continue(())
        });
    }

    /// ON CONFLICT over the view: the target's columns and DO UPDATE's columns are the base
    /// columns they write; `excluded.c` is the proposed row's value of view column `c`.
    fn on_conflict(&self, conflict: &ast::OnConflict, alias: &str) -> Result<ast::OnConflict> {
        let mut out = conflict.clone();
        if let Some(ast::ConflictTarget::Columns { columns, predicate }) = &mut out.conflict_target
        {
            for column in columns.iter_mut() {
                *column = self.target(&ident(column), "insert into")?;
            }
            if let Some(p) = predicate {
                self.substitute(p, alias);
            }
        }
        if let ast::OnConflictAction::DoUpdate(update) = &mut out.action {
            for assignment in &mut update.assignments {
                self.assignment(assignment, alias, true)?;
            }
            if let Some(w) = &mut update.selection {
                self.substitute_excluded(w);
                self.substitute(w, alias);
            }
        }
        Ok(out)
    }

    /// `SET c = value` over the view as over its base relation (with `excluded` in scope
    /// for ON CONFLICT DO UPDATE).
    fn assignment(
        &self,
        assignment: &mut ast::Assignment,
        alias: &str,
        excluded: bool,
    ) -> Result<()> {
        let ast::AssignmentTarget::ColumnName(name) = &assignment.target else {
            return Err(errinput!(
                FEATURE_NOT_SUPPORTED,
                "assigning a tuple of columns of a view is not supported"
            ));
        };
        let column = name.0.last().and_then(|p| p.as_ident()).map(ident).unwrap_or_default();
        assignment.target = ast::AssignmentTarget::ColumnName(ast::ObjectName::from(vec![
            self.target(&column, "update")?,
        ]));
        if excluded {
            self.substitute_excluded(&mut assignment.value);
        }
        self.substitute(&mut assignment.value, alias);
        Ok(())
    }

    /// `excluded.c` for a view column `c`: its definition over the proposed base row.
    fn substitute_excluded(&self, expr: &mut ast::Expr) {
        let _ = ast::visit_expressions_mut(expr, |e| {
            if let ast::Expr::CompoundIdentifier(parts) = e
                && parts.len() == 2
                && ident(&parts[0]) == "excluded"
                && let Some(definition) = self.column(&ident(&parts[1]))
            {
                let mut proposed = definition.clone();
                let _ = ast::visit_expressions_mut(&mut proposed, |d| {
                    let column = match d {
                        ast::Expr::Identifier(id) => Some(id.clone()),
                        ast::Expr::CompoundIdentifier(p) if p.len() == 2 => Some(p[1].clone()),
                        _ => None,
                    };
                    if let Some(column) = column {
                        *d = ast::Expr::CompoundIdentifier(vec![
                            ast::Ident::new("excluded"),
                            column,
                        ]);
                    }
                    std::ops::ControlFlow::<()>::Continue(())
                });
                *e = ast::Expr::Nested(Box::new(proposed));
            }
            std::ops::ControlFlow::<()>::Continue(())
        });
    }

    /// RETURNING over the view: `*` is the view's columns, other items read them.
    fn returning(
        &self,
        items: &Option<Vec<ast::SelectItem>>,
        alias: &str,
    ) -> Option<Vec<ast::SelectItem>> {
        let items = items.as_ref()?;
        let mut out = Vec::new();
        for item in items {
            match item {
                ast::SelectItem::Wildcard(_) => {
                    out.extend(self.columns.iter().map(|(name, def)| {
                        ast::SelectItem::ExprWithAlias {
                            expr: def.clone(),
                            alias: ast::Ident::with_quote('"', name),
                        }
                    }));
                }
                ast::SelectItem::UnnamedExpr(e) => {
                    let mut rewritten = e.clone();
                    self.substitute(&mut rewritten, alias);
                    // Keep the column's name as the view names it.
                    let name = match e {
                        ast::Expr::Identifier(id) => Some(id.clone()),
                        ast::Expr::CompoundIdentifier(parts) => parts.last().cloned(),
                        _ => None,
                    };
                    out.push(match name {
                        Some(alias) => ast::SelectItem::ExprWithAlias { expr: rewritten, alias },
                        None => ast::SelectItem::UnnamedExpr(rewritten),
                    });
                }
                ast::SelectItem::ExprWithAlias { expr, alias: name } => {
                    let mut rewritten = expr.clone();
                    self.substitute(&mut rewritten, alias);
                    out.push(ast::SelectItem::ExprWithAlias {
                        expr: rewritten,
                        alias: name.clone(),
                    });
                }
                other => out.push(other.clone()),
            }
        }
        Some(out)
    }
}

const SET_OPERATIONS: &str =
    "Views containing UNION, INTERSECT, or EXCEPT are not automatically updatable.";
const NOT_SINGLE: &str =
    "Views that do not select from a single table or view are not automatically updatable.";

/// Why a view's query is not automatically updatable (PostgreSQL's detail message), or None
/// when it is: one relation in FROM, no WITH, DISTINCT, GROUP BY, HAVING, LIMIT, OFFSET,
/// set operation, aggregate or window function.
pub(crate) fn not_updatable_reason(query: &ast::Query) -> Option<&'static str> {
    if query.with.is_some() {
        return Some("Views containing WITH are not automatically updatable.");
    }
    if query.limit_clause.is_some() || query.fetch.is_some() {
        return Some("Views containing LIMIT or OFFSET are not automatically updatable.");
    }
    let ast::SetExpr::Select(select) = query.body.as_ref() else { return Some(SET_OPERATIONS) };
    if select.distinct.is_some() {
        return Some("Views containing DISTINCT are not automatically updatable.");
    }
    let grouped = !matches!(&select.group_by, ast::GroupByExpr::Expressions(e, _) if e.is_empty());
    if grouped || select.having.is_some() {
        return Some("Views containing GROUP BY are not automatically updatable.");
    }
    let single = matches!(
        select.from.as_slice(),
        [from] if from.joins.is_empty() && matches!(from.relation, ast::TableFactor::Table { args: None, .. })
    );
    if !single {
        return Some(NOT_SINGLE);
    }
    let mut aggregate = false;
    for item in &select.projection {
        let (ast::SelectItem::UnnamedExpr(e) | ast::SelectItem::ExprWithAlias { expr: e, .. }) =
            item
        else {
            continue;
        };
        let _ = ast::visit_expressions(e, |e| {
            if let ast::Expr::Function(f) = e {
                let name =
                    f.name.0.last().and_then(|p| p.as_ident()).map(ident).unwrap_or_default();
                if f.over.is_some() || crate::functions::aggregate::is_aggregate(&name) {
                    aggregate = true;
                    return std::ops::ControlFlow::Break(());
                }
            }
            std::ops::ControlFlow::Continue(())
        });
    }
    aggregate.then_some("Views that return aggregate functions are not automatically updatable.")
}

/// True when the view with this defining query is automatically updatable.
pub(crate) fn is_updatable(sql: &str) -> bool {
    match crate::parse::parse_one(sql) {
        Ok(ast::Statement::Query(query)) => {
            let query = unwrap_column_list(&query).map_or(query.as_ref(), |(inner, _)| inner);
            not_updatable_reason(query).is_none()
        }
        _ => false,
    }
}

/// The query and the column names of a view stored as `SELECT * FROM (query) AS v(cols)`
/// (CREATE VIEW v (cols) AS query).
fn unwrap_column_list(query: &ast::Query) -> Option<(&ast::Query, Vec<String>)> {
    let ast::SetExpr::Select(select) = query.body.as_ref() else { return None };
    let plain = query.with.is_none()
        && query.limit_clause.is_none()
        && query.order_by.is_none()
        && select.selection.is_none()
        && select.distinct.is_none()
        && select.having.is_none()
        && matches!(select.projection.as_slice(), [ast::SelectItem::Wildcard(_)])
        && matches!(&select.group_by, ast::GroupByExpr::Expressions(e, _) if e.is_empty());
    let [from] = select.from.as_slice() else { return None };
    let ast::TableFactor::Derived { lateral: false, subquery, alias: Some(alias), .. } =
        &from.relation
    else {
        return None;
    };
    (plain && from.joins.is_empty() && !alias.columns.is_empty())
        .then(|| (subquery.as_ref(), alias.columns.iter().map(|c| ident(&c.name)).collect()))
}

fn not_updatable(verb: &str, view: &str, why: &str) -> oxibase_common::Error {
    errinput!(OBJECT_NOT_IN_PREREQUISITE_STATE, "cannot {verb} view \"{view}\"")
        .with_detail(why.to_string())
}

/// Renames qualified references to the view's own alias for its base relation to `alias`.
/// A bare reference to one of `base_columns` is qualified with `alias` too, so that it stays
/// the target row's where another row is in scope (ON CONFLICT's `excluded`).
fn requalify(expr: &mut ast::Expr, from: &str, alias: &str, base_columns: &[String]) {
    let qualified = |column: ast::Ident| {
        ast::Expr::CompoundIdentifier(vec![ast::Ident::with_quote('"', alias), column])
    };
    let _ = ast::visit_expressions_mut(expr, |e| {
        match e {
            ast::Expr::CompoundIdentifier(parts)
                if parts.len() >= 2 && ident(&parts[parts.len() - 2]) == from =>
            {
                *e = qualified(parts[parts.len() - 1].clone());
            }
            ast::Expr::Identifier(id) if base_columns.contains(&ident(id)) => {
                *e = qualified(id.clone());
            }
            _ => {}
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
}

impl Binder<'_> {
    /// The view's map for a statement that writes it under `alias`, or the reason it is
    /// not automatically updatable (55000).
    fn view_map(&self, view: &str, sql: &str, alias: &str, verb: &str) -> Result<ViewMap> {
        let statement = crate::parse::parse_one(sql)?;
        let ast::Statement::Query(query) = statement else {
            return Err(errinput!(DATA_CORRUPTED, "view definition is not a query"));
        };
        // A view created with a column list is stored as `SELECT * FROM (query) AS v(cols)`:
        // the inner query's columns under the listed names.
        let (query, names) = match unwrap_column_list(&query) {
            Some((inner, names)) => (Box::new(inner.clone()), names),
            None => (query, Vec::new()),
        };
        let mut map = self.query_map(view, &query, alias, verb)?;
        for ((column, _), name) in map.columns.iter_mut().zip(names) {
            *column = name;
        }
        Ok(map)
    }

    fn query_map(
        &self,
        view: &str,
        query: &ast::Query,
        alias: &str,
        verb: &str,
    ) -> Result<ViewMap> {
        let no = |why: &str| not_updatable(verb, view, why);
        if let Some(why) = not_updatable_reason(query) {
            return Err(no(why));
        }
        let ast::SetExpr::Select(select) = query.body.as_ref() else {
            return Err(no(SET_OPERATIONS));
        };
        let [from] = select.from.as_slice() else { return Err(no(NOT_SINGLE)) };
        let ast::TableFactor::Table { name: base, alias: base_alias, .. } = &from.relation else {
            return Err(no(NOT_SINGLE));
        };
        // References in the view to its base relation, by its alias or its name.
        let own = base_alias
            .as_ref()
            .map_or_else(|| split_name(base).map(|(_, n)| n), |a| Ok(ident(&a.name)))?;
        let base_columns = self.relation_column_names(base)?;
        let mut columns = Vec::new();
        for item in &select.projection {
            match item {
                ast::SelectItem::UnnamedExpr(e) => {
                    let name = match e {
                        ast::Expr::Identifier(id) => ident(id),
                        ast::Expr::CompoundIdentifier(parts) if !parts.is_empty() => {
                            ident(&parts[parts.len() - 1])
                        }
                        other => super::query::column_name(other),
                    };
                    columns.push((name, e.clone()));
                }
                ast::SelectItem::ExprWithAlias { expr, alias } => {
                    columns.push((ident(alias), expr.clone()))
                }
                ast::SelectItem::ExprWithAliases { .. } => return Err(no(NOT_SINGLE)),
                ast::SelectItem::Wildcard(_) | ast::SelectItem::QualifiedWildcard(..) => {
                    for name in base_columns.iter().cloned() {
                        let id = ast::Ident::with_quote('"', &name);
                        columns.push((name, ast::Expr::Identifier(id)));
                    }
                }
            }
        }
        for (_, e) in &mut columns {
            requalify(e, &own, alias, &base_columns);
        }
        let mut filter = select.selection.clone();
        if let Some(f) = &mut filter {
            requalify(f, &own, alias, &base_columns);
        }
        Ok(ViewMap { view: view.to_string(), base: base.clone(), columns, filter })
    }

    /// The visible column names of a relation (`SELECT * FROM name`).
    fn relation_column_names(&self, name: &ast::ObjectName) -> Result<Vec<String>> {
        let query = crate::parse::parse_one(&format!("SELECT * FROM {name}"))?;
        let ast::Statement::Query(query) = query else { return Ok(Vec::new()) };
        let plan = self.bind_query(&query)?;
        Ok(plan.columns.iter().filter(|c| !c.hidden).map(|c| c.name.clone()).collect())
    }

    /// INSERT INTO a view, as an INSERT INTO its base relation.
    pub(super) fn rewrite_view_insert(
        &self,
        insert: &ast::Insert,
        view: &str,
        sql: &str,
    ) -> Result<ast::Insert> {
        let alias =
            insert.table_alias.as_ref().map_or_else(|| view.to_string(), |a| ident(&a.alias));
        let map = self.view_map(view, sql, &alias, "insert into")?;
        let named: Vec<String> = if insert.columns.is_empty() {
            // As many of the view's columns as the source gives values for.
            let given = match insert.source.as_ref().map(|q| q.body.as_ref()) {
                Some(ast::SetExpr::Values(v)) => v.rows.first().map_or(0, |r| r.content.len()),
                Some(ast::SetExpr::Select(s))
                    if !s.projection.iter().any(|i| {
                        matches!(
                            i,
                            ast::SelectItem::Wildcard(_) | ast::SelectItem::QualifiedWildcard(..)
                        )
                    }) =>
                {
                    s.projection.len()
                }
                _ => map.columns.len(),
            };
            map.columns.iter().take(given).map(|(n, _)| n.clone()).collect()
        } else {
            insert
                .columns
                .iter()
                .map(|c| c.0.last().and_then(|p| p.as_ident()).map(ident).unwrap_or_default())
                .collect()
        };
        let mut rewritten = insert.clone();
        rewritten.table = ast::TableObject::TableName(map.base.clone());
        rewritten.table_alias = Some(ast::TableAliasWithoutColumns {
            explicit: true,
            alias: ast::Ident::with_quote('"', &alias),
        });
        rewritten.columns = named
            .iter()
            .map(|n| map.target(n, "insert into").map(|id| ast::ObjectName::from(vec![id])))
            .collect::<Result<_>>()?;
        rewritten.returning = map.returning(&insert.returning, &alias);
        rewritten.on = match &insert.on {
            Some(ast::OnInsert::OnConflict(conflict)) => {
                Some(ast::OnInsert::OnConflict(map.on_conflict(conflict, &alias)?))
            }
            Some(_) => {
                return Err(errinput!(FEATURE_NOT_SUPPORTED, "ON DUPLICATE KEY is not supported"));
            }
            None => None,
        };
        Ok(rewritten)
    }

    /// UPDATE of a view, as an UPDATE of its base relation limited by the view's WHERE.
    pub(super) fn rewrite_view_update(
        &self,
        update: &ast::Update,
        view: &str,
        sql: &str,
    ) -> Result<ast::Update> {
        let alias = match &update.table.relation {
            ast::TableFactor::Table { alias: Some(a), .. } => ident(&a.name),
            _ => view.to_string(),
        };
        let map = self.view_map(view, sql, &alias, "update")?;
        let mut rewritten = update.clone();
        rewritten.table.relation = base_factor(&map, &alias);
        for assignment in &mut rewritten.assignments {
            map.assignment(assignment, &alias, false)?;
        }
        rewritten.selection = restricted(&map, update.selection.clone(), &alias);
        rewritten.returning = map.returning(&update.returning, &alias);
        Ok(rewritten)
    }

    /// DELETE from a view, as a DELETE from its base relation limited by the view's WHERE.
    pub(super) fn rewrite_view_delete(
        &self,
        delete: &ast::Delete,
        target: &ast::TableWithJoins,
        view: &str,
        sql: &str,
    ) -> Result<ast::Delete> {
        let alias = match &target.relation {
            ast::TableFactor::Table { alias: Some(a), .. } => ident(&a.name),
            _ => view.to_string(),
        };
        let map = self.view_map(view, sql, &alias, "delete from")?;
        let mut rewritten = delete.clone();
        let table = ast::TableWithJoins { relation: base_factor(&map, &alias), joins: vec![] };
        rewritten.from = match &delete.from {
            ast::FromTable::WithFromKeyword(_) => ast::FromTable::WithFromKeyword(vec![table]),
            ast::FromTable::WithoutKeyword(_) => ast::FromTable::WithoutKeyword(vec![table]),
        };
        rewritten.selection = restricted(&map, delete.selection.clone(), &alias);
        rewritten.returning = map.returning(&delete.returning, &alias);
        Ok(rewritten)
    }
}

/// The base relation under the statement's alias.
fn base_factor(map: &ViewMap, alias: &str) -> ast::TableFactor {
    ast::TableFactor::Table {
        name: map.base.clone(),
        alias: Some(ast::TableAlias {
            explicit: true,
            name: ast::Ident::with_quote('"', alias),
            columns: vec![],
            at: None,
        }),
        args: None,
        with_hints: vec![],
        version: None,
        with_ordinality: false,
        partitions: vec![],
        json_path: None,
        sample: None,
        index_directives: vec![],
        inheritance: None,
    }
}

/// The statement's WHERE over the view, rewritten, and the view's own WHERE.
fn restricted(map: &ViewMap, selection: Option<ast::Expr>, alias: &str) -> Option<ast::Expr> {
    let user = selection.map(|mut w| {
        map.substitute(&mut w, alias);
        w
    });
    match (user, map.filter.clone()) {
        (Some(u), Some(f)) => Some(ast::Expr::BinaryOp {
            left: Box::new(ast::Expr::Nested(Box::new(u))),
            op: ast::BinaryOperator::And,
            right: Box::new(ast::Expr::Nested(Box::new(f))),
        }),
        (u, f) => u.or(f),
    }
}

/// A view's base relation, its alias and its WHERE (the WITH CHECK OPTION condition).
fn base_condition(sql: &str) -> Option<(ast::ObjectName, Option<String>, Option<ast::Expr>)> {
    let ast::Statement::Query(query) = crate::parse::parse_one(sql).ok()? else { return None };
    let query = unwrap_column_list(&query).map_or(query.as_ref(), |(inner, _)| inner).clone();
    let ast::SetExpr::Select(select) = query.body.as_ref() else { return None };
    let [from] = select.from.as_slice() else { return None };
    let ast::TableFactor::Table { name, alias, .. } = &from.relation else { return None };
    Some((name.clone(), alias.as_ref().map(|a| ident(&a.name)), select.selection.clone()))
}

impl Binder<'_> {
    /// WITH CHECK OPTION's requirements: an automatically updatable view over a table.
    pub(super) fn check_option_allowed(&self, query: &ast::Query) -> Result<()> {
        if let Some(reason) = not_updatable_reason(query) {
            return Err(errinput!(
                FEATURE_NOT_SUPPORTED,
                "WITH CHECK OPTION is supported only on automatically updatable views"
            )
            .with_hint(reason));
        }
        if let Some((name, _, _)) = base_condition(&query.to_string()) {
            let (schema, table) = super::split_name(&name)?;
            if matches!(
                self.env.relation(schema.as_deref(), &table)?,
                Some(super::Relation::View { .. })
            ) {
                return Err(errinput!(
                    FEATURE_NOT_SUPPORTED,
                    "WITH CHECK OPTION on a view over another view is not supported"
                ));
            }
        }
        Ok(())
    }

    /// A written-through view's WITH CHECK OPTION condition over its table's new row, with
    /// the view's name (None: no check option, or no WHERE, so every row is in it).
    pub(super) fn check_option(
        &self,
        view: &super::TargetView,
        table: &std::sync::Arc<crate::catalog::Table>,
    ) -> Result<Option<(String, crate::plan::Expr)>> {
        if view.check_option == 0 {
            return Ok(None);
        }
        let Some((_, alias, Some(condition))) = base_condition(&view.sql) else { return Ok(None) };
        let alias = alias.unwrap_or_else(|| table.name.clone());
        let plan = super::query::scan_plan(table.clone(), &alias, None);
        let scope = super::scope::Scope::new(plan.columns);
        let check =
            self.bind_condition(&condition, &super::expr::ExprCtx::plain(&scope, "CHECK OPTION"))?;
        Ok(Some((view.name.clone(), check)))
    }
}
