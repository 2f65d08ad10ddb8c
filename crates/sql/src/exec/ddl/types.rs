//! CREATE, ALTER and DROP TYPE for enum and composite types.

use std::collections::HashSet;
use std::ops::ControlFlow;
use std::sync::Arc;

use sqlparser::ast;

use oxibase_common::{DataType, EnumType, EnumValue, Result, Value, errinput};

use super::{Ddl, Name, RelKind, display};
use crate::bind::{AlterTypeAction, AttributeAction};
use crate::catalog::{Column, Table};
use crate::keys::RelId;
use crate::procedure::Returns;

impl Ddl<'_, '_> {
    pub(super) fn create_enum(&self, name: &Name, labels: &[String]) -> Result<()> {
        let schema = self.creation_schema(&name.0)?;
        self.require_create_in(&schema)?;
        let ty = self.catalog().create_enum(self.ctx.txn, &schema, &name.1, labels)?;
        self.record_type_owner(ty.id as crate::keys::RelId)
    }

    pub(super) fn create_composite(
        &self,
        name: &Name,
        attributes: &[(String, DataType)],
    ) -> Result<()> {
        let schema = self.creation_schema(&name.0)?;
        self.require_create_in(&schema)?;
        let columns: Vec<Column> =
            attributes.iter().map(|(n, t)| Column::new(n.clone(), t.clone())).collect();
        let id = self.catalog().create_composite(self.ctx.txn, &schema, &name.1, &columns)?;
        self.record_type_owner(id)
    }

    /// Finds a composite type by possibly qualified name, following the search path.
    fn find_composite(&self, name: &Name) -> Result<Option<Table>> {
        match self.find(name, RelKind::Composite)? {
            Some((_, id)) => self.catalog().composite_by_id(self.ctx.txn, id),
            None => Ok(None),
        }
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
        if let Some((_, RelKind::Composite)) = self.find_type_id(name)? {
            return self.alter_composite(name, action);
        }
        let ty = self.require_type(name)?;
        let existing = |label: &str| ty.labels.iter().position(|v| v.label == label);
        match action {
            AlterTypeAction::Rename(new) => {
                ctx.catalog.rename_table(ctx.txn, ty.id, new)?;
                self.follow_type_rename(&TypeName::of_enum(&ty), new)
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

    fn alter_composite(&self, name: &Name, action: &AlterTypeAction) -> Result<()> {
        let ctx = self.ctx;
        let Some(ty) = self.find_composite(name)? else {
            return Err(errinput!(UNDEFINED_OBJECT, "type \"{}\" does not exist", display(name)));
        };
        match action {
            AlterTypeAction::Rename(new) => {
                ctx.catalog.rename_table(ctx.txn, ty.id, new)?;
                self.follow_type_rename(&TypeName::of_table(&ty), new)
            }
            AlterTypeAction::AddValue { .. } | AlterTypeAction::RenameValue { .. } => {
                Err(errinput!(WRONG_OBJECT_TYPE, "\"{}\" is not an enum", ty.name))
            }
        }
    }

    /// ALTER TYPE's attribute actions on a composite type. Values stored in columns of the
    /// type (or of arrays and composite types holding it) are rewritten to the new shape:
    /// an added attribute reads NULL, a dropped one is gone. A new type for an attribute
    /// is refused while a column stores the type, as PostgreSQL does.
    pub(super) fn alter_attributes(&self, name: &Name, actions: &[AttributeAction]) -> Result<()> {
        let ctx = self.ctx;
        for action in actions {
            let Some(ty) = self.find_composite(name)? else {
                return Err(errinput!(
                    UNDEFINED_OBJECT,
                    "type \"{}\" does not exist",
                    display(name)
                ));
            };
            let live: Vec<&Column> = ty.live_columns().map(|(_, c)| c).collect();
            let live_position = |attribute: &str| live.iter().position(|c| c.name == attribute);
            let missing = |attribute: &str| {
                errinput!(
                    UNDEFINED_COLUMN,
                    "column \"{attribute}\" of relation \"{}\" does not exist",
                    ty.name
                )
            };
            match action {
                AttributeAction::Add { name: attribute, data_type } => {
                    if live_position(attribute).is_some() {
                        return Err(errinput!(
                            DUPLICATE_COLUMN,
                            "column \"{attribute}\" of relation \"{}\" already exists",
                            ty.name
                        ));
                    }
                    refuse_self_member(data_type, ty.id, &ty.name)?;
                    let column = Column::new(attribute.clone(), data_type.clone());
                    ctx.catalog.add_column(ctx.txn, &ty, column)?;
                    self.rewrite_composite_values(ty.id, &|fields| fields.push(Value::Null))?;
                }
                AttributeAction::Drop { name: attribute, if_exists } => {
                    let Some(at) = live_position(attribute) else {
                        if *if_exists {
                            self.notice(format!(
                                "column \"{attribute}\" of relation \"{}\" does not exist, skipping",
                                ty.name
                            ));
                            continue;
                        }
                        return Err(missing(attribute));
                    };
                    ctx.catalog.drop_column(ctx.txn, &ty, attribute)?;
                    self.rewrite_composite_values(ty.id, &|fields| {
                        if at < fields.len() {
                            fields.remove(at);
                        }
                    })?;
                }
                AttributeAction::SetType { name: attribute, data_type } => {
                    let Some(at) = live_position(attribute) else { return Err(missing(attribute)) };
                    if let Some((table, column)) = self.columns_of_type(ty.id)?.first() {
                        return Err(errinput!(
                            FEATURE_NOT_SUPPORTED,
                            "cannot alter type \"{}\" because column \"{}.{column}\" uses it",
                            ty.name,
                            table.name
                        ));
                    }
                    refuse_self_member(data_type, ty.id, &ty.name)?;
                    let column = Column { data_type: data_type.clone(), ..live[at].clone() };
                    ctx.catalog.update_column(ctx.txn, &ty, attribute, column)?;
                }
                AttributeAction::Rename { from, to } => {
                    let Some(at) = live_position(from) else { return Err(missing(from)) };
                    let column = Column { name: to.clone(), ..live[at].clone() };
                    ctx.catalog.update_column(ctx.txn, &ty, from, column)?;
                }
            }
            ctx.txn.next_command()?;
        }
        Ok(())
    }

    /// The live columns of tables that can hold a value of the type: (table, column name).
    fn columns_of_type(&self, id: u32) -> Result<Vec<(Table, String)>> {
        let mut out = Vec::new();
        for table in self.tables_using(id)? {
            for c in &table.columns {
                if !c.dropped && uses_type(&c.data_type, id) {
                    out.push((table.clone(), c.name.clone()));
                }
            }
        }
        Ok(out)
    }

    /// Rewrites the tables with columns that can hold values of composite type `id`,
    /// applying `f` to the fields of each such value.
    fn rewrite_composite_values(&self, id: u32, f: &dyn Fn(&mut Vec<Value>)) -> Result<()> {
        self.rewrite_values_of_type(id, &|v, old, new| map_record_value(v, old, new, id, f))
    }

    /// Rewrites the tables with live columns that can hold values of the type `id`,
    /// applying `map` to each such column's value with the column's type before and after
    /// the type changed.
    fn rewrite_values_of_type(
        &self,
        id: u32,
        map: &dyn Fn(&mut Value, &DataType, &DataType),
    ) -> Result<()> {
        for table in self.tables_using(id)? {
            let new = self.table(table.id)?;
            let positions: Vec<usize> = (0..table.columns.len())
                .filter(|&p| {
                    let c = &table.columns[p];
                    !c.dropped && uses_type(&c.data_type, id)
                })
                .collect();
            // The column's type may now nest deeper than a row holds.
            for &p in &positions {
                let c = &new.columns[p];
                self.ctx.catalog.check_storable(self.ctx.txn, &c.name, &c.data_type)?;
            }
            self.rewrite(
                &table,
                &new,
                &|mut row| {
                    for &p in &positions {
                        if let Some(v) = row.get_mut(p) {
                            map(v, &table.columns[p].data_type, &new.columns[p].data_type);
                        }
                    }
                    Ok(row)
                },
                None,
            )?;
        }
        Ok(())
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

    /// Rewrites the tables with columns that can hold values of the enum type (directly, in
    /// arrays or in composite values), applying `f` to each such value.
    fn rewrite_enum_values(&self, ty: &EnumType, f: &dyn Fn(&mut EnumValue)) -> Result<()> {
        self.rewrite_values_of_type(ty.id, &|v, old, _| map_enum_value(v, old, ty.id, f))
    }

    /// Stored SQL names types by name (`'x'::mood` in a default, CHECK, index expression or
    /// view), where PostgreSQL keeps oids: after RENAME TO, it is rewritten to the new name.
    fn follow_type_rename(&self, ty: &TypeName, new: &str) -> Result<()> {
        let ctx = self.ctx;
        let rename = |sql: &str| rename_type(sql, ty, new, crate::bind::parse_expr);
        for table in self.tables_using(ty.id)? {
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

    /// The tables (materialized views included) with a live column of the type, or of an
    /// array or composite type holding it.
    fn tables_using(&self, id: u32) -> Result<Vec<Table>> {
        let ctx = self.ctx;
        ctx.txn.next_command()?;
        Ok(ctx
            .catalog
            .tables(ctx.txn)?
            .into_iter()
            .filter(|t| t.columns.iter().any(|c| !c.dropped && uses_type(&c.data_type, id)))
            .collect())
    }

    /// The routines taking or returning the type (or a table's rows, `SETOF t`).
    fn routines_using(&self, ty: &TypeName) -> Result<Vec<crate::procedure::Routine>> {
        let ctx = self.ctx;
        Ok(ctx
            .catalog
            .routines(ctx.txn)?
            .into_iter()
            .filter(|routine| {
                let returns = routine.returns.types();
                let mut uses = routine.args.iter().map(|(_, t)| t).chain(&returns);
                matches!(&routine.returns, Returns::SetOfRow(name, _) if *name == ty.sql_name())
                    || uses.any(|t| uses_type(t, ty.id))
            })
            .collect())
    }

    pub(super) fn drop_types(&self, names: &[Name], if_exists: bool, cascade: bool) -> Result<()> {
        for name in names {
            if let Some(domain) = self.find_domain(name)? {
                self.drop_domain(&domain, cascade)?;
                continue;
            }
            if let Some((_, RelKind::Composite)) = self.find_type_id(name)?
                && let Some(ty) = self.find_composite(name)?
            {
                self.drop_composite(&ty, cascade)?;
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
        self.drop_user_type(&TypeName::of_enum(ty), cascade, &HashSet::new())?;
        self.ctx.catalog.drop_type(self.ctx.txn, ty.id)
    }

    /// Drops a composite type, as [`Ddl::drop_type`] an enum type.
    pub(super) fn drop_composite(&self, ty: &Table, cascade: bool) -> Result<()> {
        self.drop_user_type(&TypeName::of_table(ty), cascade, &HashSet::new())?;
        self.ctx.catalog.drop_composite(self.ctx.txn, ty.id)
    }

    /// Before a table is dropped: the columns and attributes of its row type, as for a
    /// composite type ([`Ddl::drop_composite`]), but for those of the tables dropped with it.
    pub(super) fn drop_row_type_users(
        &self,
        table: &Table,
        cascade: bool,
        dropping: &HashSet<RelId>,
    ) -> Result<()> {
        let ty = TypeName { noun: "table", ..TypeName::of_table(table) };
        self.drop_user_type(&ty, cascade, dropping)
    }

    /// A table's row type changed shape: the values of it held in other tables' columns
    /// follow (`f` applied to the fields of each).
    pub(super) fn follow_row_type(&self, table: RelId, f: &dyn Fn(&mut Vec<Value>)) -> Result<()> {
        self.rewrite_composite_values(table, f)
    }

    /// Refuses a change to a table whose row type some column stores that its stored
    /// values could not follow (a column's new type, a new column's default).
    pub(super) fn refuse_row_type_change(&self, table: &Table) -> Result<()> {
        match self.columns_of_type(table.id)?.first() {
            Some((holder, column)) => Err(errinput!(
                FEATURE_NOT_SUPPORTED,
                "cannot alter table \"{}\" because column \"{}.{column}\" uses its row type",
                table.name,
                holder.name
            )),
            None => Ok(()),
        }
    }

    /// Deals with what uses a type about to be dropped: the columns of tables and the
    /// attributes of composite types that hold it (or arrays of it) go under CASCADE, and
    /// stop the drop otherwise. A column of a composite type holding it is the composite
    /// type's business: its attribute goes, and the column stays. Columns of the tables in
    /// `dropping` do not count. A routine taking or returning the type (or a table's rows)
    /// is a dependent too, dropped under CASCADE.
    fn drop_user_type(
        &self,
        ty: &TypeName,
        cascade: bool,
        dropping: &HashSet<RelId>,
    ) -> Result<()> {
        let ctx = self.ctx;
        let mut columns = Vec::new();
        for table in self.tables_using(ty.id)? {
            if dropping.contains(&table.id) {
                continue;
            }
            for c in &table.columns {
                if !c.dropped && holds_directly(&c.data_type, ty.id) {
                    columns.push((table.clone(), c.name.clone()));
                }
            }
        }
        let mut attributes = Vec::new();
        for composite in ctx.catalog.composite_types(ctx.txn)? {
            for (_, a) in composite.live_columns() {
                if composite.id != ty.id && holds_directly(&a.data_type, ty.id) {
                    attributes.push((TypeName::of_table(&composite), a.name.clone()));
                }
            }
        }
        let routines = self.routines_using(ty)?;
        let described = columns
            .iter()
            .map(|(t, c)| format!("column {c} of table {}", t.name))
            .chain(
                attributes
                    .iter()
                    .map(|(t, a)| format!("column {a} of composite type {}", t.sql_name())),
            )
            .chain(
                routines
                    .iter()
                    .map(|r| format!("{} {}", r.kind.keyword().to_lowercase(), r.signature())),
            );
        if !cascade && (!columns.is_empty() || !attributes.is_empty() || !routines.is_empty()) {
            return Err(errinput!(
                DEPENDENT_OBJECTS_STILL_EXIST,
                "cannot drop {} {} because other objects depend on it",
                ty.noun,
                ty.sql_name()
            )
            .with_detail(
                described
                    .map(|d| format!("{d} depends on type {}", ty.sql_name()))
                    .collect::<Vec<_>>()
                    .join("\n"),
            )
            .with_hint("Use DROP ... CASCADE to drop the dependent objects too."));
        }
        for d in described {
            self.notice(format!("drop cascades to {d}"));
        }
        for r in &routines {
            let names = [(Some(r.schema.clone()), r.name.clone())];
            self.cascade(|| {
                super::super::routine::drop_routines(r.kind, &names, true, true, ctx, self.env)
            })?;
        }
        for (composite, attribute) in &attributes {
            let name = (Some(composite.schema.clone()), composite.name.clone());
            let drop = AttributeAction::Drop { name: attribute.clone(), if_exists: false };
            self.alter_attributes(&name, std::slice::from_ref(&drop))?;
        }
        for (table, column) in &columns {
            let table = self.table(table.id)?;
            self.drop_column(&table, column, true)?;
        }
        ctx.txn.next_command()
    }
}

/// Whether a column or attribute of type `t` holds the type with this id itself: `t` is
/// that type or an array of it (not a composite type holding it, which holds it itself).
fn holds_directly(t: &DataType, id: u32) -> bool {
    match t {
        DataType::Enum(e) => e.id == id,
        DataType::Record(r) => r.id == Some(id),
        DataType::Array(element) => holds_directly(element, id),
        _ => false,
    }
}

/// A user-defined type as the DDL that renames or drops it names it.
pub(super) struct TypeName {
    id: u32,
    schema: String,
    name: String,
    /// What the DDL drops: a "type", or a "table" (its row type).
    noun: &'static str,
}

impl TypeName {
    fn of_enum(ty: &EnumType) -> TypeName {
        TypeName { id: ty.id, schema: ty.schema.clone(), name: ty.type_name.clone(), noun: "type" }
    }

    fn of_table(ty: &Table) -> TypeName {
        TypeName { id: ty.id, schema: ty.schema.clone(), name: ty.name.clone(), noun: "type" }
    }

    /// As `format_type` prints it.
    fn sql_name(&self) -> String {
        oxibase_common::value::type_sql_name(&self.schema, &self.name)
    }
}

/// Refuses a column or attribute of type `t` in the table or composite type `id` (named
/// `name`) when `t` holds that type: a type cannot contain itself.
pub(super) fn refuse_self_member(t: &DataType, id: u32, name: &str) -> Result<()> {
    if uses_type(t, id) {
        return Err(errinput!(
            INVALID_TABLE_DEFINITION,
            "composite type {name} cannot be made a member of itself"
        ));
    }
    Ok(())
}

/// Whether a value of `t` can hold one of the type with this id: `t` is that type, or an
/// array or record with it inside.
fn uses_type(t: &DataType, id: u32) -> bool {
    match t {
        DataType::Enum(e) => e.id == id,
        DataType::Array(element) => uses_type(element, id),
        DataType::Record(r) => r.id == Some(id) || r.fields.iter().any(|(_, f)| uses_type(f, id)),
        _ => false,
    }
}

fn not_a_label(label: &str) -> oxibase_common::Error {
    errinput!(INVALID_PARAMETER_VALUE, "\"{label}\" is not an existing enum label")
}

/// Applies `f` to the values of the enum type `id` in `value` of type `ty`: the value
/// itself, or the elements and fields of arrays and records of it.
fn map_enum_value(value: &mut Value, ty: &DataType, id: u32, f: &dyn Fn(&mut EnumValue)) {
    match (value, ty) {
        (Value::Enum(e), DataType::Enum(t)) if t.id == id => f(e),
        (Value::Array(a), DataType::Array(element)) => {
            a.elements.iter_mut().for_each(|v| map_enum_value(v, element, id, f))
        }
        (Value::Record(fields), DataType::Record(r)) => {
            for (v, (_, t)) in fields.iter_mut().zip(&r.fields) {
                map_enum_value(v, t, id, f);
            }
        }
        _ => {}
    }
}

/// Applies `f` to the fields of the values of composite type `id` in `value` of type `old`
/// (`new` after the change): the value itself, or those in the elements and fields of
/// arrays and records of it. An array's element type becomes the new one.
fn map_record_value(
    value: &mut Value,
    old: &DataType,
    new: &DataType,
    id: u32,
    f: &dyn Fn(&mut Vec<Value>),
) {
    match (value, old, new) {
        (Value::Record(fields), DataType::Record(r), _) if r.id == Some(id) => f(fields),
        (Value::Array(a), DataType::Array(old), DataType::Array(new)) => {
            a.element_type = (**new).clone();
            a.elements.iter_mut().for_each(|v| map_record_value(v, old, new, id, f))
        }
        (Value::Record(fields), DataType::Record(old), DataType::Record(new)) => {
            for ((v, (_, o)), (_, n)) in fields.iter_mut().zip(&old.fields).zip(&new.fields) {
                map_record_value(v, o, n, id, f);
            }
        }
        _ => {}
    }
}

/// `sql` (parsed with `parse`) with the casts and typed literals naming `ty` (or arrays of
/// it) naming `new` instead.
fn rename_type<T: ast::VisitMut + std::fmt::Display>(
    sql: &str,
    ty: &TypeName,
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
fn renamed_query(sql: &str, ty: &TypeName, new: &str) -> Option<String> {
    let renamed = rename_type(sql, ty, new, crate::parse::parse_one).ok()?;
    (renamed != sql).then_some(renamed)
}

fn rename_in_data_type(t: &mut ast::DataType, ty: &TypeName, new: &str) -> bool {
    match t {
        ast::DataType::Custom(name, _) => {
            let parts: Vec<String> =
                name.0.iter().filter_map(|p| p.as_ident().map(crate::bind::ident)).collect();
            let matches = match parts.as_slice() {
                [n] => *n == ty.name,
                [schema, n] => *n == ty.name && *schema == ty.schema,
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
