//! Enum types (`CREATE TYPE name AS ENUM (...)`) and composite types (`CREATE TYPE name AS
//! (attribute type, ...)`).
//!
//! A type has a `sys_tables` row of kind `T` (types share the relations' namespace, as in
//! PostgreSQL, where every table also names a row type) and one `sys_enums` row per label,
//! keyed by (type id, sort order) like `pg_enum`. A label's sort order is fixed when it is
//! added: values are stored with their order and label, compare by order, and index by order,
//! so adding a label never touches a stored row. Renaming a label rewrites the rows that hold
//! it (the executor's job; see `exec::ddl`).
//!
//! A composite type has a `sys_tables` row of kind `c` and its attributes in `sys_columns`,
//! as a table's columns (and as PostgreSQL, whose composite types are relations of kind `c`
//! with `pg_attribute` rows). A column of the type stores its values as records of the live
//! attributes; changing the attributes rewrites those values (see `exec::ddl::types`).

use std::sync::Arc;

use oxibase_common::row::{decode_row, encode_row};
use oxibase_common::{DataType, EnumType, EnumValue, RecordType, Result, Value, errdata, errinput};
use oxibase_mvcc::Transaction;

use super::system::{RelationRow, SYS_COLUMNS, SYS_ENUMS, SYS_TABLES, sys_key};
use super::{Catalog, Column, RelKind, Table};
use crate::keys::{RelId, relation_prefix};

impl Catalog {
    /// Creates an enum type with these labels, in this order.
    pub fn create_enum(
        &self,
        txn: &Transaction,
        schema: &str,
        name: &str,
        labels: &[String],
    ) -> Result<Arc<EnumType>> {
        let schema_id = self.require_schema(txn, schema)?;
        for (i, label) in labels.iter().enumerate() {
            check_label(label)?;
            if labels[..i].contains(label) {
                return Err(errinput!(
                    INVALID_PARAMETER_VALUE,
                    "enum label \"{label}\" used more than once"
                ));
            }
        }
        let id = self.next_id()?;
        self.insert_relation(txn, schema_id, id, name, RelKind::Type, &[], None)?;
        let mut values = Vec::new();
        for (i, label) in labels.iter().enumerate() {
            let value = EnumValue { order: (i + 1) as f64, label: label.clone() };
            self.put_enum_label(txn, id, &value)?;
            values.push(value);
        }
        Ok(Arc::new(EnumType {
            id,
            schema: self.schema_name(txn, schema_id)?,
            type_name: name.to_string(),
            labels: values,
        }))
    }

    fn put_enum_label(&self, txn: &Transaction, id: RelId, value: &EnumValue) -> Result<()> {
        let key = enum_key(id, value.order)?;
        let row = encode_row(&[
            Value::Int4(id as i32),
            Value::Float8(value.order),
            Value::from(value.label.as_str()),
        ]);
        txn.put(&key, row)
    }

    /// An enum type by id, with its labels in order.
    pub fn enum_by_id(&self, txn: &Transaction, id: RelId) -> Result<Option<Arc<EnumType>>> {
        let Some(row) = self.find_relation_row(txn, id)? else { return Ok(None) };
        if row.kind != RelKind::Type {
            return Ok(None);
        }
        let mut labels = Vec::new();
        for item in txn.scan_prefix(&sys_key(SYS_ENUMS, &[Value::Int4(id as i32)])?)? {
            match decode_row(&item?.1)?.as_slice() {
                [_, Value::Float8(order), Value::Text(label)] => {
                    labels.push(EnumValue { order: *order, label: label.clone() })
                }
                _ => return Err(errdata!("invalid sys_enums row")),
            }
        }
        let schema = self.schema_name(txn, row.schema_id)?;
        Ok(Some(Arc::new(EnumType { id, schema, type_name: row.name, labels })))
    }

    /// An enum type by schema and name.
    pub fn enum_type(
        &self,
        txn: &Transaction,
        schema: &str,
        name: &str,
    ) -> Result<Option<Arc<EnumType>>> {
        match self.relation(txn, schema, name)? {
            Some((id, RelKind::Type)) => self.enum_by_id(txn, id),
            _ => Ok(None),
        }
    }

    /// Every enum type with its schema id.
    pub fn enum_types(&self, txn: &Transaction) -> Result<Vec<(RelId, Arc<EnumType>)>> {
        let mut out = Vec::new();
        for item in txn.scan_prefix(&relation_prefix(SYS_TABLES))? {
            let row = RelationRow::decode(&item?.1)?;
            if row.kind == RelKind::Type
                && let Some(ty) = self.enum_by_id(txn, row.id)?
            {
                out.push((row.schema_id, ty));
            }
        }
        Ok(out)
    }

    /// Gives an enum type these labels at sort orders 1, 2, 3, ... (ALTER TYPE ... ADD VALUE
    /// when there is no room between two orders). The caller rewrites the stored values.
    pub fn renumber_enum(&self, txn: &Transaction, ty: &EnumType, labels: &[String]) -> Result<()> {
        Catalog::delete_prefix(txn, &sys_key(SYS_ENUMS, &[Value::Int4(ty.id as i32)])?)?;
        for (i, label) in labels.iter().enumerate() {
            check_label(label)?;
            let value = EnumValue { order: (i + 1) as f64, label: label.clone() };
            self.put_enum_label(txn, ty.id, &value)?;
        }
        Ok(())
    }

    /// Adds a label to an enum type at `order` (ALTER TYPE ... ADD VALUE).
    pub fn add_enum_label(
        &self,
        txn: &Transaction,
        ty: &EnumType,
        label: &str,
        order: f64,
    ) -> Result<()> {
        check_label(label)?;
        self.put_enum_label(txn, ty.id, &EnumValue { order, label: label.to_string() })
    }

    /// Renames the label at `order` (ALTER TYPE ... RENAME VALUE).
    pub fn rename_enum_label(
        &self,
        txn: &Transaction,
        ty: &EnumType,
        order: f64,
        label: &str,
    ) -> Result<()> {
        check_label(label)?;
        self.put_enum_label(txn, ty.id, &EnumValue { order, label: label.to_string() })
    }

    /// Drops a type and its labels (the caller has dealt with what uses it).
    pub fn drop_type(&self, txn: &Transaction, id: RelId) -> Result<()> {
        let row = self.relation_row(txn, id)?;
        Catalog::delete_prefix(txn, &sys_key(SYS_ENUMS, &[Value::Int4(id as i32)])?)?;
        self.delete_relation(txn, &row)
    }

    /// Resolves a type as `sys_columns` and `sys_procedures` store it (enum and row types
    /// by id). A dropped type (a dropped column's, which keeps its slot) resolves to a
    /// nameless enum without labels, or a record of unknown shape.
    pub fn resolve_type(&self, txn: &Transaction, name: &str) -> Result<DataType> {
        let mut failed = None;
        let ty = DataType::from_catalog_name(name, &mut |id| match self.user_type_by_id(txn, id) {
            Ok(Some(ty)) => Some(ty),
            Ok(None) if name.contains("row:") => Some(DataType::Record(Arc::default())),
            Ok(None) => Some(DataType::Enum(Arc::new(EnumType {
                id,
                schema: String::new(),
                type_name: "-".into(),
                labels: Vec::new(),
            }))),
            Err(e) => {
                failed = Some(e);
                None
            }
        });
        if let Some(e) = failed {
            return Err(e);
        }
        ty.ok_or_else(|| errdata!("unknown type {name:?} in catalog"))
    }

    /// The enum or row type (a composite type's, or a table's) with this id.
    fn user_type_by_id(&self, txn: &Transaction, id: RelId) -> Result<Option<DataType>> {
        let Some(row) = self.find_relation_row(txn, id)? else { return Ok(None) };
        Ok(match row.kind {
            RelKind::Type => self.enum_by_id(txn, id)?.map(DataType::Enum),
            RelKind::Composite => self.row_type_by_id(txn, id)?.map(DataType::Record),
            RelKind::Table => {
                self.table_by_id(txn, id)?.map(|t| DataType::Record(Arc::new(row_type(&t))))
            }
            _ => None,
        })
    }

    // ---- composite types ----

    /// Creates a composite type with these attributes (`CREATE TYPE name AS (...)`).
    pub fn create_composite(
        &self,
        txn: &Transaction,
        schema: &str,
        name: &str,
        attributes: &[Column],
    ) -> Result<RelId> {
        let schema_id = self.require_schema(txn, schema)?;
        for (i, a) in attributes.iter().enumerate() {
            if attributes[..i].iter().any(|b| b.name == a.name) {
                return Err(errinput!(
                    DUPLICATE_COLUMN,
                    "column \"{}\" specified more than once",
                    a.name
                ));
            }
        }
        let id = self.next_id()?;
        self.insert_relation(txn, schema_id, id, name, RelKind::Composite, &[], None)?;
        for (position, a) in attributes.iter().enumerate() {
            self.put_column(txn, id, position, a)?;
        }
        Ok(id)
    }

    /// A composite type's attributes as a table of no rows (its id, schema, name and
    /// columns), for the catalogs and the DDL that reads them.
    pub fn composite_by_id(&self, txn: &Transaction, id: RelId) -> Result<Option<Table>> {
        let Some(row) = self.find_relation_row(txn, id)? else { return Ok(None) };
        if row.kind != RelKind::Composite {
            return Ok(None);
        }
        let schema = self.schema_name(txn, row.schema_id)?;
        Ok(Some(Table::plain(id, schema, row.name, self.columns_of(txn, id)?)))
    }

    /// A composite type's row type by schema and name.
    pub fn composite_type(
        &self,
        txn: &Transaction,
        schema: &str,
        name: &str,
    ) -> Result<Option<Arc<RecordType>>> {
        match self.relation(txn, schema, name)? {
            Some((id, RelKind::Composite)) => self.row_type_by_id(txn, id),
            _ => Ok(None),
        }
    }

    /// Every composite type, as [`Catalog::composite_by_id`] gives it.
    pub fn composite_types(&self, txn: &Transaction) -> Result<Vec<Table>> {
        let mut out = Vec::new();
        for item in txn.scan_prefix(&relation_prefix(SYS_TABLES))? {
            let row = RelationRow::decode(&item?.1)?;
            if row.kind == RelKind::Composite
                && let Some(ty) = self.composite_by_id(txn, row.id)?
            {
                out.push(ty);
            }
        }
        Ok(out)
    }

    /// The row type of a composite type: its live attributes, its name as `format_type`
    /// prints it, and its id.
    pub fn row_type_by_id(&self, txn: &Transaction, id: RelId) -> Result<Option<Arc<RecordType>>> {
        Ok(self.composite_by_id(txn, id)?.map(|t| Arc::new(row_type(&t))))
    }

    /// Drops a composite type and its attributes (the caller has dealt with what uses it).
    pub fn drop_composite(&self, txn: &Transaction, id: RelId) -> Result<()> {
        let row = self.relation_row(txn, id)?;
        Catalog::delete_prefix(txn, &sys_key(SYS_COLUMNS, &[Value::Int4(id as i32)])?)?;
        self.delete_relation(txn, &row)
    }
}

/// The row type of a composite type (as [`Catalog::composite_by_id`] gives it) or a table:
/// its live columns as fields, its name and id.
pub fn row_type(table: &Table) -> RecordType {
    RecordType {
        fields: table.live_columns().map(|(_, c)| (c.name.clone(), c.data_type.clone())).collect(),
        name: Some(oxibase_common::value::type_sql_name(&table.schema, &table.name)),
        id: Some(table.id),
    }
}

/// PostgreSQL's limit on a label's length (NAMEDATALEN - 1 bytes).
const MAX_LABEL: usize = 63;

fn check_label(label: &str) -> Result<()> {
    if label.len() > MAX_LABEL {
        return Err(errinput!(INVALID_NAME, "invalid enum label \"{label}\"")
            .with_detail(format!("Labels must be {MAX_LABEL} bytes or less.")));
    }
    Ok(())
}

fn enum_key(id: RelId, order: f64) -> Result<Vec<u8>> {
    sys_key(SYS_ENUMS, &[Value::Int4(id as i32), Value::Float8(order)])
}
