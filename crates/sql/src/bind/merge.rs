//! Binding MERGE (PostgreSQL 15, with 17's WHEN NOT MATCHED BY SOURCE).
//!
//! ```text
//!   MERGE INTO target t USING source s ON cond WHEN ... THEN ...
//!     ──►  source LEFT JOIN target ON cond           (FULL JOIN with BY SOURCE clauses)
//!          rows: [source columns (+ marker), target columns, target row key]
//! ```
//!
//! The source drives, so a small source meets a large target through its primary key or an
//! index (the optimizer's lookup join). A row whose target key is NULL matched no target
//! row; with BY SOURCE clauses, a NULL marker (a TRUE column appended to the source) says a
//! target row matched no source row. Each row runs the first WHEN clause of its kind whose
//! condition holds.

use std::sync::Arc;

use oxibase_common::{Result, Value, errinput};
use sqlparser::ast;

use super::expr::ExprCtx;
use super::query::{join, scan_plan};
use super::scope::Scope;
use super::{Binder, ident};
use crate::catalog::Table;
use crate::plan::{Column, Expr, JoinKind, Node, Plan};

/// Row-level security on a MERGE's target.
#[derive(Debug)]
pub struct MergePolicies {
    /// What an inserted row must pass.
    pub insert_check: Expr,
    /// What a row to update must pass.
    pub update_using: Expr,
    /// What an updated row must pass.
    pub update_check: Expr,
    /// What a row to delete must pass.
    pub delete_using: Expr,
}

/// A bound MERGE.
#[derive(Debug)]
pub struct Merge {
    /// The target table.
    pub table: Arc<Table>,
    /// Source rows joined to the target: the source's columns (and the marker), then the
    /// target's columns and its row key, NULL where no target row matched.
    pub source: Plan,
    /// Where the target's columns start in a row.
    pub target_at: usize,
    /// The marker column, NULL on a target row no source row matched (BY SOURCE clauses
    /// only).
    pub source_marker: Option<usize>,
    /// The join condition, re-checked on a target row's latest version (read committed).
    pub on: Expr,
    /// WHEN MATCHED clauses, in order.
    pub matched: Vec<MergeClause>,
    /// WHEN NOT MATCHED [BY TARGET] clauses, in order.
    pub not_matched: Vec<MergeClause>,
    /// WHEN NOT MATCHED BY SOURCE clauses, in order.
    pub not_matched_by_source: Vec<MergeClause>,
    /// Row-level security on the target, over its row: (INSERT's WITH CHECK, UPDATE's
    /// USING and WITH CHECK, DELETE's USING).
    pub policies: Option<MergePolicies>,
}

/// One WHEN clause.
#[derive(Debug)]
pub struct MergeClause {
    /// AND condition, over the joined row.
    pub condition: Option<Expr>,
    /// THEN action.
    pub action: MergeAction,
}

/// What a WHEN clause does.
#[derive(Debug)]
pub enum MergeAction {
    /// UPDATE SET: (column position, new value over the joined row).
    Update(Vec<(usize, Expr)>),
    /// DELETE
    Delete,
    /// INSERT: a full-width row over the joined row (source columns only).
    Insert(Vec<Expr>),
    /// DO NOTHING
    Nothing,
}

impl MergeAction {
    /// Whether the action changes the target row's key or removes it: a FOR UPDATE row lock
    /// instead of FOR NO KEY UPDATE.
    pub fn needs_key_lock(&self, table: &Table) -> bool {
        match self {
            MergeAction::Delete => true,
            MergeAction::Update(assignments) => {
                assignments.iter().any(|(c, _)| table.primary_key.contains(c))
            }
            MergeAction::Insert(_) | MergeAction::Nothing => false,
        }
    }
}

impl Binder<'_> {
    pub(super) fn bind_merge(&self, merge: &ast::Merge) -> Result<Merge> {
        let ast::TableFactor::Table { name, alias, .. } = &merge.table else {
            return Err(errinput!(FEATURE_NOT_SUPPORTED, "the target of MERGE must be a table"));
        };
        if merge.output.is_some() {
            return Err(errinput!(FEATURE_NOT_SUPPORTED, "MERGE ... OUTPUT is not supported"));
        }
        // Each action's privilege, and SELECT for reading the target's rows to match them.
        use crate::catalog::acl::{DELETE, INSERT, SELECT, UPDATE};
        let wanted = merge.clauses.iter().fold(SELECT, |acc, c| {
            acc | match &c.action {
                ast::MergeAction::Insert(_) => INSERT,
                ast::MergeAction::Update(_) => UPDATE,
                ast::MergeAction::Delete { .. } => DELETE,
                ast::MergeAction::DoNothing { .. } => 0,
            }
        });
        let table = self.write_target(name, wanted)?;
        let policies = {
            let plan = scan_plan(table.clone(), &table.name, None);
            let scope = Scope::new(plan.columns);
            match (
                self.row_security(&table, 'a', &scope)?,
                self.row_security(&table, 'w', &scope)?,
                self.row_security(&table, 'd', &scope)?,
            ) {
                (Some(insert), Some(update), Some(delete)) => Some(MergePolicies {
                    insert_check: insert.check,
                    update_using: update.using,
                    update_check: update.check,
                    delete_using: delete.using,
                }),
                _ => None,
            }
        };
        let alias = alias.as_ref().map_or(table.name.clone(), |a| ident(&a.name));
        // Target rows the role may not see match nothing, as PostgreSQL's SELECT policies
        // make them.
        let target = self.with_row_security(scan_plan(table.clone(), &alias, None), &table, 'r')?;
        let target_scope = Scope::new(target.columns.clone());
        let source_item = ast::TableWithJoins { relation: merge.source.clone(), joins: vec![] };
        let (mut source, mut source_scope) = self.bind_from(&[source_item], false)?;
        if source_scope.has_table(&alias) {
            return Err(errinput!(DUPLICATE_ALIAS, "name \"{alias}\" specified more than once")
                .with_detail("The name is used both as MERGE target table and data source."));
        }
        let by_source =
            merge.clauses.iter().any(|c| c.clause_kind == ast::MergeClauseKind::NotMatchedBySource);
        let mut source_marker = None;
        if by_source {
            let width = source.columns.len();
            let mut exprs: Vec<Expr> = (0..width).map(Expr::Column).collect();
            exprs.push(Expr::Literal(Value::Bool(true)));
            let mut columns = source.columns.clone();
            columns.push(Column {
                name: String::new(),
                data_type: oxibase_common::DataType::Bool,
                table: None,
                hidden: true,
            });
            source = Plan::new(Node::Project { input: Box::new(source), exprs }, columns);
            source_scope = Scope::new(source.columns.clone());
            source_marker = Some(width);
        }
        let target_at = source.columns.len();
        let joined =
            Scope::new(source_scope.columns.iter().chain(&target_scope.columns).cloned().collect());
        let on = self.bind_condition(&merge.on, &ExprCtx::plain(&joined, "JOIN/ON"))?;
        let kind = if by_source { JoinKind::Full } else { JoinKind::Left };
        let (source, _) =
            join(source, source_scope, target, target_scope, kind, Some(on.clone()), false);

        // Clauses see the joined row, less the side that is NULL for their kind.
        let unreachable = |range: std::ops::Range<usize>| {
            let mut s = joined.clone();
            for c in &mut s.columns[range] {
                if let Some(t) = c.table.take()
                    && !s.unreachable.contains(&t)
                {
                    s.unreachable.push(t);
                }
                *c = Column { name: String::new(), table: None, hidden: true, ..c.clone() };
            }
            s
        };
        let not_matched_scope = unreachable(target_at..joined.columns.len());
        let by_source_scope = unreachable(0..target_at);
        let mut bound = Merge {
            table: table.clone(),
            source,
            target_at,
            source_marker,
            on,
            matched: vec![],
            not_matched: vec![],
            not_matched_by_source: vec![],
            policies,
        };
        for clause in &merge.clauses {
            use ast::MergeClauseKind as K;
            let (list, scope, kind) = match clause.clause_kind {
                K::Matched => (&mut bound.matched, &joined, "MATCHED"),
                K::NotMatched | K::NotMatchedByTarget => {
                    (&mut bound.not_matched, &not_matched_scope, "NOT MATCHED")
                }
                K::NotMatchedBySource => {
                    (&mut bound.not_matched_by_source, &by_source_scope, "NOT MATCHED BY SOURCE")
                }
            };
            if list.last().is_some_and(|c: &MergeClause| c.condition.is_none()) {
                return Err(errinput!(
                    SYNTAX_ERROR,
                    "unreachable WHEN clause specified after unconditional WHEN clause"
                ));
            }
            let ctx = ExprCtx::plain(scope, "MERGE WHEN");
            let condition =
                clause.predicate.as_ref().map(|p| self.bind_condition(p, &ctx)).transpose()?;
            let misplaced = match (&clause.action, kind == "NOT MATCHED") {
                (ast::MergeAction::Insert(_), false) => Some("INSERT"),
                (ast::MergeAction::Update(_), true) => Some("UPDATE"),
                (ast::MergeAction::Delete { .. }, true) => Some("DELETE"),
                _ => None,
            };
            if let Some(word) = misplaced {
                return Err(errinput!(
                    SYNTAX_ERROR,
                    "{word} is not allowed in a WHEN {kind} clause"
                ));
            }
            let action = match &clause.action {
                ast::MergeAction::Insert(insert) => {
                    MergeAction::Insert(self.bind_merge_insert(&table, insert, &ctx)?)
                }
                ast::MergeAction::Update(update) => {
                    if update.update_predicate.is_some() || update.delete_predicate.is_some() {
                        return Err(errinput!(
                            FEATURE_NOT_SUPPORTED,
                            "UPDATE ... WHERE in a MERGE clause is not supported; use WHEN ... AND"
                        ));
                    }
                    let ast::MergeUpdateKind::Set(assignments) = &update.kind else {
                        return Err(errinput!(
                            FEATURE_NOT_SUPPORTED,
                            "UPDATE SET * is not supported"
                        ));
                    };
                    let ctx = ExprCtx::plain(scope, "UPDATE");
                    MergeAction::Update(self.bind_assignments(assignments, &table, &ctx)?)
                }
                ast::MergeAction::Delete { .. } => MergeAction::Delete,
                ast::MergeAction::DoNothing { .. } => MergeAction::Nothing,
            };
            list.push(MergeClause { condition, action });
        }
        Ok(bound)
    }

    /// INSERT [(columns)] VALUES (...) of a WHEN NOT MATCHED clause: a full table row.
    fn bind_merge_insert(
        &self,
        table: &Table,
        insert: &ast::MergeInsertExpr,
        ctx: &ExprCtx,
    ) -> Result<Vec<Expr>> {
        if insert.insert_predicate.is_some() {
            return Err(errinput!(
                FEATURE_NOT_SUPPORTED,
                "INSERT ... WHERE in a MERGE clause is not supported; use WHEN ... AND"
            ));
        }
        let ast::MergeInsertKind::Values(values) = &insert.kind else {
            return Err(errinput!(
                FEATURE_NOT_SUPPORTED,
                "MERGE INSERT {} is not supported; use VALUES",
                insert.kind
            ));
        };
        let [row] = values.rows.as_slice() else {
            return Err(errinput!(SYNTAX_ERROR, "MERGE INSERT takes a single VALUES row"));
        };
        let targets: Vec<usize> = if insert.columns.is_empty() {
            table.live_columns().map(|(i, _)| i).take(row.len()).collect()
        } else {
            self.insert_column_list(table, &insert.columns)?
        };
        if row.len() > targets.len() {
            return Err(errinput!(SYNTAX_ERROR, "INSERT has more expressions than target columns"));
        }
        if row.len() < targets.len() {
            return Err(errinput!(SYNTAX_ERROR, "INSERT has more target columns than expressions"));
        }
        let mut full: Vec<Option<Expr>> = vec![None; table.columns.len()];
        for (e, &col) in row.iter().zip(&targets) {
            full[col] = Some(if super::dml::is_default_keyword(e) {
                self.default_value(table, col)?
            } else {
                if table.columns[col].generated.is_some() {
                    return Err(super::dml::generated_column(&table.columns[col].name));
                }
                if table.columns[col].identity_always {
                    return Err(super::dml::generated_always(&table.columns[col].name));
                }
                let (x, t) = self.bind_expr(e, ctx)?;
                self.assign(x, &t, table, col)?
            });
        }
        full.into_iter()
            .enumerate()
            .map(|(i, v)| v.map_or_else(|| self.default_value(table, i), Ok))
            .collect()
    }
}
