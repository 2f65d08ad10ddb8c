//! CREATE, ALTER and DROP TYPE for enum types.

use std::ops::ControlFlow;
use std::sync::Arc;

use sqlparser::ast;

use oxibase_common::{EnumType, EnumValue, Result, Value, errinput};

use super::{Ddl, Name, RelKind, display};
use crate::bind::AlterTypeAction;
use crate::catalog::Table;
use crate::procedure::Returns;

impl Ddl<'_, '_> {
    pub(super) fn create_enum(&self, name: &Name, labels: &[String]) -> Result<()> {
        let schema = self.creation_schema(&name.0)?;
        self.require_create_in(&schema)?;
        let ty = self.catalog().create_enum(self.ctx.txn, &schema, &name.1, labels)?;
        self.record_type_owner(ty.id as crate::keys::RelId)
    }

    /// Finds an enum type by possibly qualified name, following the search path.
    fn find_type(&self, name: &Name) -> Result<Option<Arc<EnumType>>> {
        match self.find(name, RelKind::Type)? {
            Some((_, id)) => self.catalog().enum_by_id(self.ctx.txn, id),
            None => Ok(None),
        }
    }

    fn require_type(&self, name: &Name) -> Result<Arc<EnumType>> {
        self.find_type(name)?
            .ok_or_else(|| errinput!(UNDEFINED_OBJECT, "type \"{}\" does not exist", display(name)))
    }

    pub(super) fn alter_type(&self, name: &Name, action: &AlterTypeAction) -> Result<()> {
        let ctx = self.ctx;
        let ty = self.require_type(name)?;
        let existing = |label: &str| ty.labels.iter().position(|v| v.label == label);
        match action {
            AlterTypeAction::Rename(new) => {
                ctx.catalog.rename_table(ctx.txn, ty.id, new)?;
                self.follow_type_rename(&ty, new)
            }
            AlterTypeAction::AddValue { label, if_not_exists, neighbor } => {
                if existing(label).is_some() {
                    if *if_not_exists {
                        self.notice(format!("enum label \"{label}\" already exists, skipping"));
                        return Ok(());
                    }
                    return Err(errinput!(
                        DUPLICATE_OBJECT,
                        "enum label \"{label}\" already exists"
                    ));
                }
                let orders: Vec<f64> = ty.labels.iter().map(|v| v.order).collect();
                let order = match neighbor {
                    None => orders.last().map_or(1.0, |last| last.floor() + 1.0),
                    Some((neighbor, before)) => {
                        let at = existing(neighbor).ok_or_else(|| not_a_label(neighbor))?;
                        let (low, high) = if *before {
                            (at.checked_sub(1).map(|i| orders[i]), Some(orders[at]))
                        } else {
                            (Some(orders[at]), orders.get(at + 1).copied())
                        };
                        match (low, high) {
                            (Some(low), Some(high)) => {
                                let mid = low + (high - low) / 2.0;
                                if mid <= low || mid >= high {
                                    // No room left between the two: every label gets a new
                                    // order, as PostgreSQL renumbers.
                                    let at = if *before { at } else { at + 1 };
                                    return self.renumber_enum(&ty, at, label);
                                }
                                mid
                            }
                            (None, Some(high)) => high - 1.0,
                            (Some(low), None) => low + 1.0,
                            (None, None) => 1.0,
                        }
                    }
                };
                ctx.catalog.add_enum_label(ctx.txn, &ty, label, order)
            }
            AlterTypeAction::RenameValue { from, to } => {
                let at = existing(from).ok_or_else(|| not_a_label(from))?;
                if existing(to).is_some() {
                    return Err(errinput!(DUPLICATE_OBJECT, "enum label \"{to}\" already exists"));
                }
                let order = ty.labels[at].order;
                ctx.catalog.rename_enum_label(ctx.txn, &ty, order, to)?;
                // Stored values carry their label: rewrite the tables that can hold it.
                self.rewrite_enum_values(&ty, &|e| {
                    if e.order == order {
                        e.label = to.clone();
                    }
                })
            }
        }
    }

    /// Adds `label` at position `at` by giving every label of the type a new sort order,
    /// and rewrites the stored values (which carry their order) and the index entries.
    fn renumber_enum(&self, ty: &EnumType, at: usize, label: &str) -> Result<()> {
        let mut labels: Vec<String> = ty.labels.iter().map(|v| v.label.clone()).collect();
        labels.insert(at, label.to_string());
        self.catalog().renumber_enum(self.ctx.txn, ty, &labels)?;
        let new_order: Vec<(f64, f64)> = ty
            .labels
            .iter()
            .enumerate()
            .map(|(i, v)| (v.order, (if i < at { i + 1 } else { i + 2 }) as f64))
            .collect();
        self.rewrite_enum_values(ty, &|e| {
            if let Some((_, order)) = new_order.iter().find(|(old, _)| *old == e.order) {
                e.order = *order;
            }
        })
    }

    /// Rewrites the tables with columns of the type (or arrays of it), applying `f` to each
    /// of their values of the type.
    fn rewrite_enum_values(&self, ty: &EnumType, f: &dyn Fn(&mut EnumValue)) -> Result<()> {
        for table in self.tables_using(ty)? {
            let new = self.table(table.id)?;
            let positions: Vec<usize> = (0..table.columns.len())
                .filter(|&p| {
                    let c = &table.columns[p];
                    !c.dropped && c.data_type.enum_type().is_some_and(|e| e.id == ty.id)
                })
                .collect();
            self.rewrite(
                &table,
                &new,
                &|mut row| {
                    for &p in &positions {
                        if let Some(v) = row.get_mut(p) {
                            map_enum_value(v, f);
                        }
                    }
                    Ok(row)
                },
                None,
            )?;
        }
        Ok(())
    }

    /// Stored SQL names types by name (`'x'::mood` in a default, CHECK, index expression or
    /// view), where PostgreSQL keeps oids: after RENAME TO, it is rewritten to the new name.
    fn follow_type_rename(&self, ty: &EnumType, new: &str) -> Result<()> {
        let ctx = self.ctx;
        let rename = |sql: &str| rename_type(sql, ty, new, crate::bind::parse_expr);
        for table in self.tables_using(ty)? {
            self.map_table_exprs(&table, &rename)?;
            if let Some(query) = &table.materialized
                && let Some(renamed) = renamed_query(query, ty, new)
            {
                ctx.catalog.set_materialized(ctx.txn, table.id, &renamed)?;
            }
        }
        for (_, _, id, query) in ctx.catalog.views(ctx.txn)? {
            if let Some(renamed) = renamed_query(&query, ty, new) {
                ctx.catalog.set_view_definition(ctx.txn, id, &renamed)?;
            }
        }
        Ok(())
    }

    /// The tables (materialized views included) with a live column of the type or an
    /// array of it.
    fn tables_using(&self, ty: &EnumType) -> Result<Vec<Table>> {
        let ctx = self.ctx;
        ctx.txn.next_command()?;
        Ok(ctx
            .catalog
            .tables(ctx.txn)?
            .into_iter()
            .filter(|t| {
                t.columns
                    .iter()
                    .any(|c| !c.dropped && c.data_type.enum_type().is_some_and(|e| e.id == ty.id))
            })
            .collect())
    }

    pub(super) fn drop_types(&self, names: &[Name], if_exists: bool, cascade: bool) -> Result<()> {
        for name in names {
            if let Some(domain) = self.find_domain(name)? {
                self.drop_domain(&domain, cascade)?;
                continue;
            }
            let Some(ty) = self.find_type(name)? else {
                if if_exists {
                    self.notice(format!("type \"{}\" does not exist, skipping", display(name)));
                    continue;
                }
                return Err(errinput!(
                    UNDEFINED_OBJECT,
                    "type \"{}\" does not exist",
                    display(name)
                ));
            };
            self.drop_type(&ty, cascade)?;
        }
        Ok(())
    }

    /// Drops a type; its columns go with it under CASCADE, and stop it otherwise.
    pub(super) fn drop_type(&self, ty: &EnumType, cascade: bool) -> Result<()> {
        let ctx = self.ctx;
        let mut dependents = Vec::new();
        for table in self.tables_using(ty)? {
            for c in &table.columns {
                if !c.dropped && c.data_type.enum_type().is_some_and(|e| e.id == ty.id) {
                    dependents.push((table.clone(), c.name.clone()));
                }
            }
        }
        for routine in ctx.catalog.routines(ctx.txn)? {
            let returns = match &routine.returns {
                Returns::Void | Returns::Trigger => Vec::new(),
                Returns::Value(t) | Returns::SetOf(t) => vec![t.clone()],
                Returns::Table(columns) | Returns::SetOfRow(_, columns) | Returns::Out(columns) => {
                    columns.iter().map(|(_, t)| t.clone()).collect()
                }
            };
            let mut uses = routine.args.iter().map(|(_, t)| t).chain(&returns);
            if uses.any(|t| t.enum_type().is_some_and(|e| e.id == ty.id)) {
                return Err(errinput!(
                    DEPENDENT_OBJECTS_STILL_EXIST,
                    "cannot drop type {} because other objects depend on it",
                    ty.name()
                )
                .with_detail(format!(
                    "{} {} depends on type {}",
                    routine.kind.keyword().to_lowercase(),
                    routine.signature(),
                    ty.name()
                ))
                .with_hint(format!("Drop the {} first.", routine.kind.keyword().to_lowercase())));
            }
        }
        if !dependents.is_empty() && !cascade {
            return Err(errinput!(
                DEPENDENT_OBJECTS_STILL_EXIST,
                "cannot drop type {} because other objects depend on it",
                ty.name()
            )
            .with_detail(
                dependents
                    .iter()
                    .map(|(t, c)| {
                        format!("column {c} of table {} depends on type {}", t.name, ty.name())
                    })
                    .collect::<Vec<_>>()
                    .join("\n"),
            )
            .with_hint("Use DROP ... CASCADE to drop the dependent objects too."));
        }
        for (table, column) in &dependents {
            self.notice(format!("drop cascades to column {column} of table {}", table.name));
            let table = self.table(table.id)?;
            self.drop_column(&table, column, true)?;
        }
        ctx.txn.next_command()?;
        ctx.catalog.drop_type(ctx.txn, ty.id)
    }
}

fn not_a_label(label: &str) -> oxibase_common::Error {
    errinput!(INVALID_PARAMETER_VALUE, "\"{label}\" is not an existing enum label")
}

/// Applies `f` to an enum value, or to each element of an array of them.
fn map_enum_value(value: &mut Value, f: &dyn Fn(&mut EnumValue)) {
    match value {
        Value::Enum(e) => f(e),
        Value::Array(a) => a.elements.iter_mut().for_each(|v| map_enum_value(v, f)),
        _ => {}
    }
}

/// `sql` (parsed with `parse`) with the casts and typed literals naming `ty` (or arrays of
/// it) naming `new` instead.
fn rename_type<T: ast::VisitMut + std::fmt::Display>(
    sql: &str,
    ty: &EnumType,
    new: &str,
    parse: impl Fn(&str) -> Result<T>,
) -> Result<String> {
    let mut tree = parse(sql)?;
    let mut changed = false;
    let _ = ast::visit_expressions_mut(&mut tree, |e| {
        let data_type = match e {
            ast::Expr::Cast { data_type, .. } => data_type,
            ast::Expr::TypedString(t) => &mut t.data_type,
            _ => return ControlFlow::<()>::Continue(()),
        };
        changed |= rename_in_data_type(data_type, ty, new);
        ControlFlow::Continue(())
    });
    Ok(if changed { tree.to_string() } else { sql.to_string() })
}

/// A stored query with the type renamed, or None when it does not name it.
fn renamed_query(sql: &str, ty: &EnumType, new: &str) -> Option<String> {
    let renamed = rename_type(sql, ty, new, crate::parse::parse_one).ok()?;
    (renamed != sql).then_some(renamed)
}

fn rename_in_data_type(t: &mut ast::DataType, ty: &EnumType, new: &str) -> bool {
    match t {
        ast::DataType::Custom(name, _) => {
            let parts: Vec<String> =
                name.0.iter().filter_map(|p| p.as_ident().map(crate::bind::ident)).collect();
            let matches = match parts.as_slice() {
                [n] => *n == ty.type_name,
                [schema, n] => *n == ty.type_name && *schema == ty.schema,
                _ => false,
            };
            if matches && let Some(last) = name.0.last_mut() {
                let quoted = oxibase_common::value::quote_ident(new) != new;
                let ident =
                    if quoted { ast::Ident::with_quote('"', new) } else { ast::Ident::new(new) };
                *last = ast::ObjectNamePart::Identifier(ident);
            }
            matches
        }
        ast::DataType::Array(ast::ArrayElemTypeDef::SquareBracket(inner, _)) => {
            rename_in_data_type(inner, ty, new)
        }
        _ => false,
    }
}
