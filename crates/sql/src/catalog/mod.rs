//! The catalog: schemas, tables, columns, indexes and sequences, stored as rows of system
//! tables under MVCC (ARCHITECTURE.md invariant 3, "the catalog is data").
//!
//! Because catalog changes are ordinary row writes in the caller's transaction, DDL is
//! transactional for free: a `CREATE TABLE` rolled back leaves nothing behind, a table created
//! in an open transaction is invisible to others until commit, and DDL replicates like any
//! write. Name uniqueness uses the same rule as a unique index: lock the name's index key,
//! then check the latest committed state, so two sessions creating the same name concurrently
//! cannot both succeed (the second gets 42P07, or 40001 under snapshot isolation).
//!
//! Two things are deliberately *not* transactional, as in PostgreSQL: object ids and sequence
//! values. They come from counters advanced by short autonomous transactions, in blocks
//! reserved ahead and cached in memory, so a rolled-back `CREATE TABLE` or `nextval` burns a
//! number but never blocks or rolls back anyone else; after a crash, the rest of a reserved
//! block is skipped (PostgreSQL skips up to 32 values the same way).

pub mod acl;
mod domains;
pub mod extensions;
pub mod policies;
mod routines;
pub mod schema;
pub mod system;
pub mod triggers;
mod types;
pub use types::row_type;

use std::collections::HashMap;

use oxibase_common::row::{decode_row, encode_row};
use oxibase_common::{DataType, Result, Value, errdata, errinput};
use oxibase_mvcc::{Isolation, LockMode, LockWait, Mvcc, Transaction, TxnOptions};
use parking_lot::Mutex;

use crate::keys::{FIRST_USER_ID, RelId, counter_key, relation_prefix};
pub use schema::{
    Column, Constraint, ConstraintKind, Deferral, Domain, Index, IndexKey, IndexMethod, RelKind,
    Role, Sequence, Table, TableSpec, TableStats, deparse, key_expression,
};
use system::*;

/// How many ids or sequence values one autonomous reservation takes.
const RESERVE: i64 = 32;

/// The catalog of one database. Cheap to share: it holds the store and two small caches.
pub struct Catalog {
    store: Mvcc,
    /// Reserved but unused object ids: (next, last).
    ids: Mutex<(i64, i64)>,
    /// Per sequence: the next value to hand out and the last one reserved.
    sequences: Mutex<HashMap<RelId, (i64, i64)>>,
    /// Per table without a primary key: the next hidden row id and the last reserved.
    rowids: Mutex<HashMap<RelId, (i64, i64)>>,
}

impl Catalog {
    /// Opens the catalog, creating the system tables' own rows and the built-in schemas on a
    /// fresh store.
    pub fn open(store: Mvcc) -> Result<Catalog> {
        let catalog = Catalog {
            store,
            ids: Mutex::new((1, 0)),
            sequences: Mutex::new(HashMap::new()),
            rowids: Mutex::new(HashMap::new()),
        };
        let txn = catalog.store.begin_default()?;
        if txn.get(&schema_name_key("pg_catalog")?)?.is_none() {
            catalog.bootstrap(&txn)?;
            txn.commit()?;
        } else {
            drop(txn);
            catalog.add_missing_system_tables()?;
        }
        Ok(catalog)
    }

    /// The store the catalog lives in.
    pub fn store(&self) -> &Mvcc {
        &self.store
    }

    fn bootstrap(&self, txn: &Transaction) -> Result<()> {
        for (id, name) in [
            (PG_CATALOG, "pg_catalog"),
            (PUBLIC, "public"),
            (INFORMATION_SCHEMA, "information_schema"),
        ] {
            self.insert_schema(txn, id, name)?;
        }
        self.insert_bootstrap_role(txn)?;
        for table in system_tables() {
            self.insert_system_table(txn, &table)?;
        }
        Ok(())
    }

    /// Writes a system table's own catalog rows.
    fn insert_system_table(&self, txn: &Transaction, table: &SystemTable) -> Result<()> {
        self.insert_relation(
            txn,
            PG_CATALOG,
            table.id,
            table.name,
            RelKind::Table,
            &table.primary_key,
            None,
        )?;
        self.insert_system_columns(txn, table, 0)
    }

    /// Writes a system table's column rows from position `from` on.
    fn insert_system_columns(
        &self,
        txn: &Transaction,
        table: &SystemTable,
        from: usize,
    ) -> Result<()> {
        for (position, (name, data_type)) in table.columns.iter().enumerate().skip(from) {
            let column = Column::new(*name, data_type.clone()).not_null();
            self.put_column(txn, table.id, position, &column)?;
        }
        Ok(())
    }

    /// Adds the system tables, and the columns of system tables, that a store created by an
    /// older version lacks (their rows decode without the new trailing fields).
    fn add_missing_system_tables(&self) -> Result<()> {
        let txn = self.store.begin_default()?;
        let mut added = false;
        for table in system_tables() {
            if txn.get(&Catalog::relation_key(table.id)?)?.is_none() {
                self.insert_system_table(&txn, &table)?;
                added = true;
                continue;
            }
            let columns =
                txn.scan_prefix(&sys_key(SYS_COLUMNS, &[Value::Int4(table.id as i32)])?)?.count();
            if columns < table.columns.len() {
                self.insert_system_columns(&txn, &table, columns)?;
                added = true;
            }
        }
        if added {
            txn.commit()?;
        }
        Ok(())
    }

    // ---- roles ----

    /// Creates a role (42710 if the name is taken).
    pub fn create_role(&self, txn: &Transaction, mut role: Role) -> Result<Role> {
        let key = sys_key(SYS_ROLES, &[Value::from(role.name.as_str())])?;
        claim_name(txn, &key, || {
            errinput!(DUPLICATE_OBJECT, "role \"{}\" already exists", role.name)
        })?;
        role.id = self.next_id()?;
        txn.put(&key, encode_role(&role))?;
        Ok(role)
    }

    /// Replaces a role's attributes.
    pub fn update_role(&self, txn: &Transaction, role: &Role) -> Result<()> {
        txn.put(&sys_key(SYS_ROLES, &[Value::from(role.name.as_str())])?, encode_role(role))
    }

    /// Looks up a role by name.
    pub fn role(&self, txn: &Transaction, name: &str) -> Result<Option<Role>> {
        txn.get(&sys_key(SYS_ROLES, &[Value::from(name)])?)?.map(|b| decode_role(&b)).transpose()
    }

    /// Every role.
    pub fn roles(&self, txn: &Transaction) -> Result<Vec<Role>> {
        txn.scan_prefix(&relation_prefix(SYS_ROLES))?.map(|item| decode_role(&item?.1)).collect()
    }

    /// Drops a role.
    pub fn drop_role(&self, txn: &Transaction, name: &str) -> Result<bool> {
        let key = sys_key(SYS_ROLES, &[Value::from(name)])?;
        if txn.get(&key)?.is_none() {
            return Ok(false);
        }
        txn.delete(&key)?;
        Ok(true)
    }

    fn insert_bootstrap_role(&self, txn: &Transaction) -> Result<()> {
        let role = Role::bootstrap();
        txn.put(&sys_key(SYS_ROLES, &[Value::from(BOOTSTRAP_ROLE)])?, encode_role(&role))
    }

    // ---- schemas ----

    /// Creates a schema.
    pub fn create_schema(&self, txn: &Transaction, name: &str) -> Result<RelId> {
        let id = self.next_id()?;
        self.insert_schema(txn, id, name)?;
        Ok(id)
    }

    fn insert_schema(&self, txn: &Transaction, id: RelId, name: &str) -> Result<()> {
        let name_key = schema_name_key(name)?;
        claim_name(txn, &name_key, || {
            errinput!(DUPLICATE_SCHEMA, "schema \"{name}\" already exists")
        })?;
        txn.put(&name_key, id_value(id))?;
        txn.put(
            &sys_key(SYS_SCHEMAS, &[Value::Int4(id as i32)])?,
            encode_row(&[Value::Int4(id as i32), Value::from(name)]),
        )
    }

    /// The id of a schema, if it exists.
    pub fn schema_id(&self, txn: &Transaction, name: &str) -> Result<Option<RelId>> {
        txn.get(&schema_name_key(name)?)?.map(|v| decode_id(&v)).transpose()
    }

    fn require_schema(&self, txn: &Transaction, name: &str) -> Result<RelId> {
        self.schema_id(txn, name)?
            .ok_or_else(|| errinput!(INVALID_SCHEMA_NAME, "schema \"{name}\" does not exist"))
    }

    fn schema_name(&self, txn: &Transaction, id: RelId) -> Result<String> {
        let row = txn
            .get(&sys_key(SYS_SCHEMAS, &[Value::Int4(id as i32)])?)?
            .ok_or_else(|| errdata!("schema {id} missing from the catalog"))?;
        match decode_row(&row)?.as_slice() {
            [_, Value::Text(name)] => Ok(name.clone()),
            _ => Err(errdata!("invalid sys_schemas row")),
        }
    }

    /// Drops an empty schema.
    pub fn drop_schema(&self, txn: &Transaction, name: &str) -> Result<()> {
        let id = self.require_schema(txn, name)?;
        if txn.scan_prefix(&relation_names_prefix(id)?)?.next().transpose()?.is_some() {
            return Err(errinput!(
                DEPENDENT_OBJECTS_STILL_EXIST,
                "cannot drop schema {name} because other objects depend on it"
            )
            .with_hint("drop the objects in the schema first"));
        }
        self.set_comment(txn, id, 0, None)?;
        self.drop_object_acl(txn, acl::ObjectKind::Schema, id)?;
        txn.delete(&schema_name_key(name)?)?;
        txn.delete(&sys_key(SYS_SCHEMAS, &[Value::Int4(id as i32)])?)
    }

    // ---- relations ----

    #[allow(clippy::too_many_arguments)]
    fn insert_relation(
        &self,
        txn: &Transaction,
        schema_id: RelId,
        id: RelId,
        name: &str,
        kind: RelKind,
        primary_key: &[usize],
        definition: Option<String>,
    ) -> Result<()> {
        let name_key = relation_name_key(schema_id, name)?;
        claim_name(txn, &name_key, || duplicate_name(kind, name))?;
        txn.put(&name_key, id_value(id))?;
        let row = RelationRow {
            id,
            schema_id,
            name: name.to_string(),
            kind,
            primary_key: primary_key.to_vec(),
            definition,
            storage: id,
            unpopulated: false,
            row_security: 0,
            check_option: 0,
            replica_identity: b'd',
            replica_index: 0,
        };
        txn.put(&sys_key(SYS_TABLES, &[Value::Int4(id as i32)])?, row.encode())
    }

    /// Looks up a relation of any kind by schema and name.
    pub fn relation(
        &self,
        txn: &Transaction,
        schema: &str,
        name: &str,
    ) -> Result<Option<(RelId, RelKind)>> {
        let Some(schema_id) = self.schema_id(txn, schema)? else { return Ok(None) };
        let Some(id) =
            txn.get(&relation_name_key(schema_id, name)?)?.map(|v| decode_id(&v)).transpose()?
        else {
            return Ok(None);
        };
        Ok(Some((id, self.relation_row(txn, id)?.kind)))
    }

    fn relation_row(&self, txn: &Transaction, id: RelId) -> Result<RelationRow> {
        self.find_relation_row(txn, id)?
            .ok_or_else(|| errdata!("relation {id} missing from the catalog"))
    }

    /// A relation's `sys_tables` row, if there is one.
    fn find_relation_row(&self, txn: &Transaction, id: RelId) -> Result<Option<RelationRow>> {
        txn.get(&sys_key(SYS_TABLES, &[Value::Int4(id as i32)])?)?
            .map(|row| RelationRow::decode(&row))
            .transpose()
    }

    /// Deletes a relation's `sys_tables` row, its name and its comments (its columns' too).
    fn delete_relation(&self, txn: &Transaction, row: &RelationRow) -> Result<()> {
        delete_prefix(txn, &sys_key(SYS_COMMENTS, &[Value::Int4(row.id as i32)])?)?;
        self.drop_object_acl(txn, acl::ObjectKind::Table, row.id)?;
        txn.delete(&relation_name_key(row.schema_id, &row.name)?)?;
        txn.delete(&sys_key(SYS_TABLES, &[Value::Int4(row.id as i32)])?)
    }

    // ---- tables ----

    /// Creates a table (its primary key columns become NOT NULL).
    pub fn create_table(&self, txn: &Transaction, spec: TableSpec) -> Result<Table> {
        let schema_id = self.require_schema(txn, &spec.schema)?;
        let mut columns = spec.columns;
        for (i, column) in columns.iter().enumerate() {
            if columns[..i].iter().any(|c| c.name == column.name) {
                return Err(errinput!(
                    DUPLICATE_COLUMN,
                    "column \"{}\" specified more than once",
                    column.name
                ));
            }
        }
        check_index_keys(spec.primary_key.len())?;
        let mut primary_key = Vec::new();
        for name in &spec.primary_key {
            let position = columns.iter().position(|c| &c.name == name).ok_or_else(|| {
                errinput!(UNDEFINED_COLUMN, "column \"{name}\" named in key does not exist")
            })?;
            if primary_key.contains(&position) {
                return Err(errinput!(
                    DUPLICATE_COLUMN,
                    "column \"{name}\" appears twice in primary key constraint"
                ));
            }
            columns[position].not_null = true;
            primary_key.push(position);
        }
        let id = self.next_id()?;
        self.insert_relation(txn, schema_id, id, &spec.name, RelKind::Table, &primary_key, None)?;
        txn.own_prefix(&relation_prefix(id))?;
        for (position, column) in columns.iter().enumerate() {
            self.put_column(txn, id, position, column)?;
        }
        Ok(Table { primary_key, ..Table::plain(id, spec.schema, spec.name, columns) })
    }

    /// Marks a materialized view populated (REFRESH, CREATE ... WITH DATA) or not (WITH NO
    /// DATA: reading it is an error until a REFRESH).
    pub fn set_populated(&self, txn: &Transaction, table_id: RelId, populated: bool) -> Result<()> {
        let mut row = self.relation_row(txn, table_id)?;
        row.unpopulated = !populated;
        txn.put(&sys_key(SYS_TABLES, &[Value::Int4(table_id as i32)])?, row.encode())
    }

    /// Sets a table's row-level security flags (bit 0 ENABLE, bit 1 FORCE).
    pub fn set_row_security(&self, txn: &Transaction, table_id: RelId, flags: u8) -> Result<()> {
        let mut row = self.relation_row(txn, table_id)?;
        row.row_security = flags;
        txn.put(&sys_key(SYS_TABLES, &[Value::Int4(table_id as i32)])?, row.encode())
    }

    /// Sets a table's REPLICA IDENTITY (`d`, `n`, `f`, or `i` with its index).
    pub fn set_replica_identity(
        &self,
        txn: &Transaction,
        table_id: RelId,
        identity: u8,
        index: RelId,
    ) -> Result<()> {
        let mut row = self.relation_row(txn, table_id)?;
        row.replica_identity = identity;
        row.replica_index = index;
        txn.put(&sys_key(SYS_TABLES, &[Value::Int4(table_id as i32)])?, row.encode())
    }

    /// Makes a new table a materialized view of `query`.
    pub fn set_materialized(&self, txn: &Transaction, table_id: RelId, query: &str) -> Result<()> {
        let mut row = self.relation_row(txn, table_id)?;
        row.definition = Some(query.to_string());
        txn.put(&sys_key(SYS_TABLES, &[Value::Int4(table_id as i32)])?, row.encode())
    }

    fn put_column(
        &self,
        txn: &Transaction,
        table_id: RelId,
        position: usize,
        column: &Column,
    ) -> Result<()> {
        if !column.dropped {
            self.check_storable(txn, &column.name, &column.data_type)?;
        }
        txn.put(&column_key(table_id, position)?, encode_column(table_id, position, column))
    }

    /// Looks up a table by schema and name.
    pub fn table(&self, txn: &Transaction, schema: &str, name: &str) -> Result<Option<Table>> {
        match self.relation(txn, schema, name)? {
            Some((id, RelKind::Table)) => self.table_by_id(txn, id),
            _ => Ok(None),
        }
    }

    /// Looks up a table by schema and name, failing with 42P01 if it does not exist.
    pub fn require_table(&self, txn: &Transaction, schema: &str, name: &str) -> Result<Table> {
        self.table(txn, schema, name)?
            .ok_or_else(|| errinput!(UNDEFINED_TABLE, "relation \"{name}\" does not exist"))
    }

    /// Looks up a table by id.
    pub fn table_by_id(&self, txn: &Transaction, id: RelId) -> Result<Option<Table>> {
        let Some(row) = self.find_relation_row(txn, id)? else { return Ok(None) };
        if row.kind != RelKind::Table {
            return Ok(None);
        }
        let columns = self.columns_of(txn, id)?;
        let indexes = self.indexes_of(txn, id)?;
        let mut constraints = Vec::new();
        for item in txn.scan_prefix(&sys_key(SYS_CONSTRAINTS, &[Value::Int4(id as i32)])?)? {
            constraints.push(decode_constraint(&item?.1)?);
        }
        let stats = self.statistics(txn, id)?;
        let triggers = self.triggers_of(txn, id)?;
        let policies = self.policies_of(txn, id)?;
        Ok(Some(Table {
            id,
            storage: row.storage,
            schema: self.schema_name(txn, row.schema_id)?,
            name: row.name,
            columns,
            primary_key: row.primary_key,
            indexes,
            constraints,
            stats,
            materialized: row.definition,
            unpopulated: row.unpopulated,
            triggers,
            row_security: row.row_security,
            policies,
            replica_identity: row.replica_identity,
            replica_index: row.replica_index,
        }))
    }

    /// Refuses a column type that no relation can have: `record`, which has no shape of
    /// its own (PostgreSQL's pseudo-type), and a type whose values nest deeper than a row
    /// can hold; a composite type's or a table's row type is stored.
    pub fn check_storable(&self, txn: &Transaction, column: &str, ty: &DataType) -> Result<()> {
        // Rows nest values only so deep (arrays of composite values of arrays ...).
        let depth = oxibase_common::row::nesting_depth(ty);
        if depth > oxibase_common::row::MAX_NESTING {
            return Err(errinput!(
                PROGRAM_LIMIT_EXCEEDED,
                "column \"{column}\" of type {} nests values {depth} deep; at most {} are stored",
                ty.name(),
                oxibase_common::row::MAX_NESTING
            ));
        }
        let element = match ty {
            DataType::Array(e) => e,
            t => t,
        };
        let DataType::Record(record) = element else { return Ok(()) };
        let named = match record.id {
            Some(id) => self
                .find_relation_row(txn, id)?
                .is_some_and(|r| matches!(r.kind, RelKind::Composite | RelKind::Table)),
            None => false,
        };
        if named {
            return Ok(());
        }
        Err(errinput!(
            INVALID_TABLE_DEFINITION,
            "column \"{column}\" has pseudo-type {}",
            ty.name()
        ))
    }

    /// The columns of a table, or the attributes of a composite type, in order.
    fn columns_of(&self, txn: &Transaction, id: RelId) -> Result<Vec<Column>> {
        let mut columns = Vec::new();
        for item in txn.scan_prefix(&sys_key(SYS_COLUMNS, &[Value::Int4(id as i32)])?)? {
            let (position, column) =
                decode_column(&item?.1, &mut |ty| self.resolve_type(txn, ty), &mut |id| {
                    self.domain_by_id(txn, id)
                })?;
            if position != columns.len() {
                return Err(errdata!(
                    "relation {id} has a gap in its columns at position {}",
                    columns.len()
                ));
            }
            columns.push(column);
        }
        Ok(columns)
    }

    /// Stores what ANALYZE found for a table.
    pub fn set_statistics(&self, txn: &Transaction, id: RelId, stats: &TableStats) -> Result<()> {
        let distinct = stats.distinct.iter().map(|&d| Value::Int8(d as i64)).collect();
        let row = encode_row(&[
            Value::Int4(id as i32),
            Value::Int8(stats.rows as i64),
            Value::Array(Box::new(oxibase_common::Array {
                element_type: oxibase_common::DataType::Int8,
                elements: distinct,
            })),
        ]);
        txn.put(&sys_key(SYS_STATISTICS, &[Value::Int4(id as i32)])?, row)
    }

    /// A table's statistics, if it was analyzed.
    fn statistics(&self, txn: &Transaction, id: RelId) -> Result<Option<TableStats>> {
        let Some(bytes) = txn.get(&sys_key(SYS_STATISTICS, &[Value::Int4(id as i32)])?)? else {
            return Ok(None);
        };
        let row = decode_row(&bytes)?;
        let (Some(Value::Int8(rows)), Some(Value::Array(distinct))) = (row.get(1), row.get(2))
        else {
            return Err(errdata!("invalid sys_statistics row for table {id}"));
        };
        let distinct = distinct
            .elements
            .iter()
            .map(|v| if let Value::Int8(d) = v { *d as u64 } else { 0 })
            .collect();
        Ok(Some(TableStats { rows: *rows as u64, distinct }))
    }

    /// Sets (or with None removes) the comment on an object or one of its columns.
    pub fn set_comment(
        &self,
        txn: &Transaction,
        id: RelId,
        sub: i32,
        text: Option<&str>,
    ) -> Result<()> {
        let key = sys_key(SYS_COMMENTS, &[Value::Int4(id as i32), Value::Int4(sub)])?;
        match text {
            Some(t) => txn
                .put(&key, encode_row(&[Value::Int4(id as i32), Value::Int4(sub), Value::from(t)])),
            None => txn.delete(&key),
        }
    }

    /// Every comment: (object id, column number or 0, text).
    pub fn comments(&self, txn: &Transaction) -> Result<Vec<(RelId, i32, String)>> {
        let mut out = Vec::new();
        for item in txn.scan_prefix(&relation_prefix(SYS_COMMENTS))? {
            match decode_row(&item?.1)?.as_slice() {
                [Value::Int4(id), Value::Int4(sub), Value::Text(t)] => {
                    out.push((*id as RelId, *sub, t.clone()))
                }
                _ => return Err(errdata!("invalid sys_comments row")),
            }
        }
        Ok(out)
    }

    /// Every table, system tables included, ordered by id.
    pub fn tables(&self, txn: &Transaction) -> Result<Vec<Table>> {
        let mut tables = Vec::new();
        for item in txn.scan_prefix(&relation_prefix(SYS_TABLES))? {
            let row = RelationRow::decode(&item?.1)?;
            if row.kind == RelKind::Table
                && let Some(table) = self.table_by_id(txn, row.id)?
            {
                tables.push(table);
            }
        }
        Ok(tables)
    }

    /// Drops a table: its rows, its indexes' entries and its catalog rows. The rows and
    /// entries go as whole key ranges, reclaimed once no snapshot can read them.
    pub fn drop_table(&self, txn: &Transaction, schema: &str, name: &str) -> Result<()> {
        let table = self.require_table(txn, schema, name)?;
        for index in &table.indexes {
            self.drop_index_by_id(txn, index.id)?;
        }
        txn.drop_prefix(&relation_prefix(table.storage))?;
        delete_prefix(txn, &sys_key(SYS_COLUMNS, &[Value::Int4(table.id as i32)])?)?;
        delete_prefix(txn, &sys_key(SYS_CONSTRAINTS, &[Value::Int4(table.id as i32)])?)?;
        delete_prefix(txn, &sys_key(SYS_STATISTICS, &[Value::Int4(table.id as i32)])?)?;
        self.drop_triggers_of(txn, table.id)?;
        delete_prefix(txn, &sys_key(system::SYS_POLICIES, &[Value::Int4(table.id as i32)])?)?;
        self.delete_relation(txn, &self.relation_row(txn, table.id)?)
    }

    /// The catalog key of a relation's `sys_tables` row. DML locks it in a shared mode and
    /// DDL exclusively, so a schema change waits for writers that use the old shape.
    pub fn relation_key(id: RelId) -> Result<Vec<u8>> {
        sys_key(SYS_TABLES, &[Value::Int4(id as i32)])
    }

    /// The key every DDL statement locks in a shared mode, and a schema migration
    /// exclusively: while a migration runs, other schema changes wait (and a second
    /// migration, which asks without waiting, fails).
    pub fn ddl_lock_key() -> Result<Vec<u8>> {
        sys_key(SYS_TABLES, &[Value::Int4(-1)])
    }

    /// Locks a relation exclusively for a schema change and rewrites its catalog row, so
    /// transactions whose snapshot predates the change notice it when they lock the
    /// relation (see [`Catalog::relation_key`]).
    pub fn lock_relation_exclusive(&self, txn: &Transaction, id: RelId) -> Result<()> {
        let key = Self::relation_key(id)?;
        txn.lock(&key, LockMode::Update, LockWait::Wait(None))?;
        // The newest version, this transaction's own changes included (even those of the
        // current command, which a snapshot read would not see).
        let row = txn
            .get_latest(&key)?
            .ok_or_else(|| errdata!("relation {id} missing from the catalog"))?;
        txn.put(&key, row)
    }

    /// Rewrites an index's `sys_indexes` row (its validity; the caller holds the table's
    /// schema lock).
    pub fn update_index(&self, txn: &Transaction, index: &Index) -> Result<()> {
        txn.put(&sys_key(SYS_INDEXES, &[Value::Int4(index.id as i32)])?, encode_index(index))
    }

    /// Where a relation's rows or entries live (see [`Table::storage`]); `None` for an id
    /// that is not a relation.
    pub fn storage_of(&self, txn: &Transaction, id: RelId) -> Result<Option<RelId>> {
        Ok(self.find_relation_row(txn, id)?.map(|row| row.storage))
    }

    /// Gives a table and its indexes new, empty storage ranges and drops the old ones whole
    /// (reclaimed once no snapshot can read it); returns the new storage id. TRUNCATE and
    /// table rewrites use it instead of deleting rows one by one. Runs under the relation's
    /// exclusive lock, so no writer still uses the old ranges. Returns the table's new storage.
    pub fn replace_storage(&self, txn: &Transaction, table: &Table) -> Result<RelId> {
        for index in &table.indexes {
            self.replace_relation_storage(txn, index.id)?;
        }
        self.replace_relation_storage(txn, table.id)
    }

    fn replace_relation_storage(&self, txn: &Transaction, id: RelId) -> Result<RelId> {
        let mut row = self.relation_row(txn, id)?;
        txn.drop_prefix(&relation_prefix(row.storage))?;
        row.storage = self.next_id()?;
        txn.own_prefix(&relation_prefix(row.storage))?;
        txn.put(&Self::relation_key(id)?, row.encode())?;
        Ok(row.storage)
    }

    /// Sets a table's primary key (the caller rewrites its rows under the new keys).
    pub fn set_primary_key(
        &self,
        txn: &Transaction,
        id: RelId,
        primary_key: &[usize],
    ) -> Result<()> {
        let mut row = self.relation_row(txn, id)?;
        row.primary_key = primary_key.to_vec();
        txn.put(&Self::relation_key(id)?, row.encode())
    }

    /// The relations of a schema: (name, id, kind).
    pub fn relations_in_schema(
        &self,
        txn: &Transaction,
        schema: &str,
    ) -> Result<Vec<(String, RelId, RelKind)>> {
        let schema_id = self.require_schema(txn, schema)?;
        let mut out = Vec::new();
        for item in txn.scan_prefix(&relation_names_prefix(schema_id)?)? {
            let row = self.relation_row(txn, decode_id(&item?.1)?)?;
            out.push((row.name, row.id, row.kind));
        }
        Ok(out)
    }

    /// Replaces a CHECK or FOREIGN KEY constraint's definition (after a column rename).
    pub fn replace_constraint(
        &self,
        txn: &Transaction,
        table: &Table,
        constraint: &Constraint,
    ) -> Result<()> {
        let key = sys_key(
            SYS_CONSTRAINTS,
            &[Value::Int4(table.id as i32), Value::from(constraint.name.as_str())],
        )?;
        txn.put(&key, encode_constraint(table.id, constraint))
    }

    /// Deletes every key under a prefix in the transaction (a table's rows, an index's
    /// entries): every committed key, not only those in the statement's snapshot, as this runs
    /// under the relation's exclusive lock, possibly taken after waiting for writers whose rows
    /// the snapshot predates (a rewrite that deleted only the snapshot's rows kept theirs twice).
    pub fn delete_prefix(txn: &Transaction, prefix: &[u8]) -> Result<u64> {
        let keys: Vec<Vec<u8>> = txn
            .scan_latest(oxibase_engine::prefix_range(prefix))?
            .map(|item| item.map(|(k, _)| k))
            .collect::<Result<_>>()?;
        keys.iter().try_for_each(|key| txn.delete(key))?;
        Ok(keys.len() as u64)
    }

    /// Adds a CHECK or FOREIGN KEY constraint (the caller validates existing rows).
    pub fn add_constraint(
        &self,
        txn: &Transaction,
        table: &Table,
        constraint: &Constraint,
    ) -> Result<()> {
        let key = sys_key(
            SYS_CONSTRAINTS,
            &[Value::Int4(table.id as i32), Value::from(constraint.name.as_str())],
        )?;
        claim_name(txn, &key, || {
            errinput!(
                DUPLICATE_OBJECT,
                "constraint \"{}\" for relation \"{}\" already exists",
                constraint.name,
                table.name
            )
        })?;
        txn.put(&key, encode_constraint(table.id, constraint))
    }

    /// Drops a CHECK or FOREIGN KEY constraint by name; false if it does not exist.
    pub fn drop_constraint(&self, txn: &Transaction, table: &Table, name: &str) -> Result<bool> {
        if !table.constraints.iter().any(|c| c.name == name) {
            return Ok(false);
        }
        txn.delete(&sys_key(SYS_CONSTRAINTS, &[Value::Int4(table.id as i32), Value::from(name)])?)?;
        // A constraint of the same name added later starts without this one's comment.
        self.set_comment(txn, crate::system::constraint_oid(table.id, name), 0, None)?;
        Ok(true)
    }

    /// Every foreign key that references `table_id`: (referencing table, constraint).
    pub fn referencing(
        &self,
        txn: &Transaction,
        table_id: RelId,
    ) -> Result<Vec<(Table, Constraint)>> {
        let mut out = Vec::new();
        let mut by_table: std::collections::BTreeMap<RelId, Vec<Constraint>> =
            std::collections::BTreeMap::new();
        for item in txn.scan_prefix(&relation_prefix(SYS_CONSTRAINTS))? {
            let (key, value) = item?;
            let constraint = decode_constraint(&value)?;
            if let ConstraintKind::ForeignKey { ref_table, .. } = &constraint.kind
                && *ref_table == table_id
            {
                let mut tail = &key[relation_prefix(SYS_CONSTRAINTS).len()..];
                if let Value::Int4(owner) = oxibase_common::keycode::decode_value(
                    &mut tail,
                    &oxibase_common::DataType::Int4,
                    Default::default(),
                )? {
                    by_table.entry(owner as RelId).or_default().push(constraint);
                }
            }
        }
        for (owner, constraints) in by_table {
            if let Some(table) = self.table_by_id(txn, owner)? {
                out.extend(constraints.into_iter().map(|c| (table.clone(), c)));
            }
        }
        Ok(out)
    }

    /// Every view: (schema, name, id, SQL text).
    pub fn views(&self, txn: &Transaction) -> Result<Vec<(String, String, RelId, String)>> {
        let mut views = Vec::new();
        for item in txn.scan_prefix(&relation_prefix(SYS_TABLES))? {
            let row = RelationRow::decode(&item?.1)?;
            if row.kind == RelKind::View {
                views.push((
                    self.schema_name(txn, row.schema_id)?,
                    row.name,
                    row.id,
                    row.definition.unwrap_or_default(),
                ));
            }
        }
        Ok(views)
    }

    /// Every sequence.
    pub fn sequences(&self, txn: &Transaction) -> Result<Vec<Sequence>> {
        let mut out = Vec::new();
        for item in txn.scan_prefix(&relation_prefix(SYS_TABLES))? {
            let row = RelationRow::decode(&item?.1)?;
            if row.kind == RelKind::Sequence {
                let schema = self.schema_name(txn, row.schema_id)?;
                if let Some(seq) = self.sequence(txn, &schema, &row.name)? {
                    out.push(seq);
                }
            }
        }
        Ok(out)
    }

    /// Every schema: (id, name).
    pub fn schemas(&self, txn: &Transaction) -> Result<Vec<(RelId, String)>> {
        let mut out = Vec::new();
        for item in txn.scan_prefix(&relation_prefix(SYS_SCHEMAS))? {
            if let [Value::Int4(id), Value::Text(name)] = decode_row(&item?.1)?.as_slice() {
                out.push((*id as RelId, name.clone()));
            }
        }
        Ok(out)
    }

    /// Creates a view.
    pub fn create_view(
        &self,
        txn: &Transaction,
        schema: &str,
        name: &str,
        sql: &str,
    ) -> Result<RelId> {
        let schema_id = self.require_schema(txn, schema)?;
        let id = self.next_id()?;
        self.insert_relation(txn, schema_id, id, name, RelKind::View, &[], Some(sql.to_string()))?;
        Ok(id)
    }

    /// Replaces a view's definition, keeping its id (and so its owner, privileges and
    /// comments).
    pub fn set_view_definition(&self, txn: &Transaction, id: RelId, sql: &str) -> Result<()> {
        let mut row = self.relation_row(txn, id)?;
        row.definition = Some(sql.to_string());
        txn.put(&sys_key(SYS_TABLES, &[Value::Int4(id as i32)])?, row.encode())
    }

    /// CREATE OR REPLACE VIEW: a new definition and check option for the view, which keeps
    /// its id (and so its owner, privileges and comments).
    pub fn replace_view(
        &self,
        txn: &Transaction,
        id: RelId,
        sql: &str,
        check_option: u8,
    ) -> Result<()> {
        let mut row = self.relation_row(txn, id)?;
        row.definition = Some(sql.to_string());
        row.check_option = check_option;
        txn.put(&sys_key(SYS_TABLES, &[Value::Int4(id as i32)])?, row.encode())
    }

    /// A view's WITH CHECK OPTION (0 none, 1 LOCAL, 2 CASCADED).
    pub fn view_check_option(&self, txn: &Transaction, id: RelId) -> Result<u8> {
        Ok(self.find_relation_row(txn, id)?.map_or(0, |row| row.check_option))
    }

    /// Sets a view's WITH CHECK OPTION.
    pub fn set_view_check_option(&self, txn: &Transaction, id: RelId, option: u8) -> Result<()> {
        let mut row = self.relation_row(txn, id)?;
        row.check_option = option;
        txn.put(&sys_key(SYS_TABLES, &[Value::Int4(id as i32)])?, row.encode())
    }

    /// A view's SQL by schema and name.
    pub fn view(&self, txn: &Transaction, schema: &str, name: &str) -> Result<Option<String>> {
        match self.relation(txn, schema, name)? {
            Some((id, RelKind::View)) => Ok(self.relation_row(txn, id)?.definition),
            _ => Ok(None),
        }
    }

    /// Drops a view.
    pub fn drop_view(&self, txn: &Transaction, schema: &str, name: &str) -> Result<()> {
        match self.relation(txn, schema, name)? {
            Some((id, RelKind::View)) => self.delete_relation(txn, &self.relation_row(txn, id)?),
            _ => Err(errinput!(UNDEFINED_TABLE, "view \"{name}\" does not exist")),
        }
    }

    /// Sets a sequence's last reserved value (setval, ALTER SEQUENCE RESTART): the next
    /// nextval returns the value after `last`.
    pub fn set_sequence(&self, seq: &Sequence, last: i64) -> Result<()> {
        let mut cache = self.sequences.lock();
        autonomous(&self.store, &counter_key(seq.id), |_| Ok(((), last)))?;
        cache.remove(&seq.id);
        Ok(())
    }

    /// The last value handed out by a sequence, for `SELECT * FROM seq` (reserved blocks
    /// make this an upper bound when other sessions hold unused values).
    pub fn sequence_last(&self, seq: &Sequence) -> Result<Option<i64>> {
        if let Some((next, _)) = self.sequences.lock().get(&seq.id) {
            return Ok(Some(next - seq.increment));
        }
        let txn = self.store.begin(TxnOptions { read_only: true, ..Default::default() })?;
        let value = txn.get(&counter_key(seq.id))?;
        Ok(value.and_then(|b| b.as_slice().try_into().ok().map(i64::from_le_bytes)))
    }

    /// Renames a table (or any relation, types included).
    pub fn rename_table(&self, txn: &Transaction, table_id: RelId, new_name: &str) -> Result<()> {
        let mut row = self.relation_row(txn, table_id)?;
        let name_key = relation_name_key(row.schema_id, new_name)?;
        claim_name(txn, &name_key, || duplicate_name(row.kind, new_name))?;
        txn.delete(&relation_name_key(row.schema_id, &row.name)?)?;
        txn.put(&name_key, id_value(table_id))?;
        row.name = new_name.to_string();
        txn.put(&sys_key(SYS_TABLES, &[Value::Int4(table_id as i32)])?, row.encode())
    }

    /// Adds a column at the end. Existing rows read `column.missing` for it, without a rewrite.
    pub fn add_column(&self, txn: &Transaction, table: &Table, column: Column) -> Result<usize> {
        if table.column_index(&column.name).is_some() {
            return Err(errinput!(
                DUPLICATE_COLUMN,
                "column \"{}\" of relation \"{}\" already exists",
                column.name,
                table.name
            ));
        }
        let position = table.columns.len();
        self.put_column(txn, table.id, position, &column)?;
        Ok(position)
    }

    /// Drops a column: it keeps its position (old rows still decode) but disappears.
    pub fn drop_column(&self, txn: &Transaction, table: &Table, name: &str) -> Result<()> {
        let position = require_column(table, name)?;
        if table.primary_key.contains(&position) {
            return Err(errinput!(
                DEPENDENT_OBJECTS_STILL_EXIST,
                "cannot drop column {name} because the primary key uses it"
            ));
        }
        if let Some(index) =
            table.indexes.iter().find(|i| i.keys.contains(&IndexKey::Column(position)))
        {
            return Err(errinput!(
                DEPENDENT_OBJECTS_STILL_EXIST,
                "cannot drop column {name} because index {} uses it",
                index.name
            )
            .with_hint("drop the index first"));
        }
        let mut column = table.columns[position].clone();
        column.dropped = true;
        column.not_null = false;
        column.name = format!("........dropped.{position}........");
        self.set_comment(txn, table.id, position as i32 + 1, None)?;
        self.put_column(txn, table.id, position, &column)
    }

    /// Replaces a column's definition (rename, type, default, NOT NULL). The caller checks
    /// that existing rows satisfy the new definition.
    pub fn update_column(
        &self,
        txn: &Transaction,
        table: &Table,
        name: &str,
        column: Column,
    ) -> Result<()> {
        let position = require_column(table, name)?;
        if column.name != name && table.column_index(&column.name).is_some() {
            return Err(errinput!(
                DUPLICATE_COLUMN,
                "column \"{}\" of relation \"{}\" already exists",
                column.name,
                table.name
            ));
        }
        self.put_column(txn, table.id, position, &column)
    }

    // ---- indexes ----

    /// Records an index (the caller builds its entries).
    pub fn create_index(&self, txn: &Transaction, schema: &str, mut index: Index) -> Result<Index> {
        check_index_keys(index.keys.len())?;
        let schema_id = self.require_schema(txn, schema)?;
        index.id = self.next_id()?;
        index.storage = index.id;
        txn.own_prefix(&relation_prefix(index.storage))?;
        self.insert_relation(txn, schema_id, index.id, &index.name, RelKind::Index, &[], None)?;
        txn.put(&sys_key(SYS_INDEXES, &[Value::Int4(index.id as i32)])?, encode_index(&index))?;
        txn.put(&index_table_key(index.table_id, Some(index.id))?, Vec::new())?;
        Ok(index)
    }

    fn indexes_of(&self, txn: &Transaction, table_id: RelId) -> Result<Vec<Index>> {
        let mut ids = Vec::new();
        for item in txn.scan_prefix(&index_table_key(table_id, None)?)? {
            let (key, _) = item?;
            let mut tail = &key[index_table_key(table_id, None)?.len()..];
            match oxibase_common::keycode::decode_value(
                &mut tail,
                &oxibase_common::DataType::Int4,
                Default::default(),
            )? {
                Value::Int4(id) => ids.push(id as RelId),
                _ => return Err(errdata!("invalid sys_indexes_table entry")),
            }
        }
        let mut indexes = Vec::with_capacity(ids.len());
        for id in ids {
            let row = txn
                .get(&sys_key(SYS_INDEXES, &[Value::Int4(id as i32)])?)?
                .ok_or_else(|| errdata!("index {id} missing from sys_indexes"))?;
            let relation = self.relation_row(txn, id)?;
            indexes.push(decode_index(&row, relation.name, relation.storage)?);
        }
        Ok(indexes)
    }

    /// Drops an index by schema and name.
    pub fn drop_index(&self, txn: &Transaction, schema: &str, name: &str) -> Result<()> {
        match self.relation(txn, schema, name)? {
            Some((id, RelKind::Index)) => self.drop_index_by_id(txn, id),
            _ => Err(errinput!(UNDEFINED_OBJECT, "index \"{name}\" does not exist")),
        }
    }

    fn drop_index_by_id(&self, txn: &Transaction, id: RelId) -> Result<()> {
        let row = txn
            .get(&sys_key(SYS_INDEXES, &[Value::Int4(id as i32)])?)?
            .ok_or_else(|| errdata!("index {id} missing"))?;
        let relation = self.relation_row(txn, id)?;
        let index = decode_index(&row, String::new(), relation.storage)?;
        txn.drop_prefix(&relation_prefix(index.storage))?;
        txn.delete(&index_table_key(index.table_id, Some(id))?)?;
        txn.delete(&sys_key(SYS_INDEXES, &[Value::Int4(id as i32)])?)?;
        self.delete_relation(txn, &relation)
    }

    // ---- sequences ----

    /// Creates a sequence.
    pub fn create_sequence(&self, txn: &Transaction, mut seq: Sequence) -> Result<Sequence> {
        check_sequence(&seq)?;
        let schema_id = self.require_schema(txn, &seq.schema)?;
        seq.id = self.next_id()?;
        self.insert_relation(txn, schema_id, seq.id, &seq.name, RelKind::Sequence, &[], None)?;
        txn.put(&sys_key(SYS_SEQUENCES, &[Value::Int4(seq.id as i32)])?, encode_sequence(&seq))?;
        Ok(seq)
    }

    /// Looks up a sequence by schema and name.
    pub fn sequence(
        &self,
        txn: &Transaction,
        schema: &str,
        name: &str,
    ) -> Result<Option<Sequence>> {
        let Some((id, RelKind::Sequence)) = self.relation(txn, schema, name)? else {
            return Ok(None);
        };
        let row = txn
            .get(&sys_key(SYS_SEQUENCES, &[Value::Int4(id as i32)])?)?
            .ok_or_else(|| errdata!("sequence {id} missing"))?;
        Ok(Some(decode_sequence(&row, schema.to_string(), name.to_string())?))
    }

    /// Rewrites a sequence's parameters (its owner, after ALTER SEQUENCE).
    pub fn update_sequence(&self, txn: &Transaction, seq: &Sequence) -> Result<()> {
        txn.put(&sys_key(SYS_SEQUENCES, &[Value::Int4(seq.id as i32)])?, encode_sequence(seq))?;
        self.sequences.lock().remove(&seq.id);
        Ok(())
    }

    /// Drops a sequence.
    pub fn drop_sequence(&self, txn: &Transaction, schema: &str, name: &str) -> Result<()> {
        let seq = self
            .sequence(txn, schema, name)?
            .ok_or_else(|| errinput!(UNDEFINED_TABLE, "sequence \"{name}\" does not exist"))?;
        txn.delete(&sys_key(SYS_SEQUENCES, &[Value::Int4(seq.id as i32)])?)?;
        self.delete_relation(txn, &self.relation_row(txn, seq.id)?)?;
        self.sequences.lock().remove(&seq.id);
        Ok(())
    }

    /// The next value of a sequence. Not transactional: the value is never handed out again,
    /// even if the caller rolls back (as in PostgreSQL).
    pub fn nextval(&self, seq: &Sequence) -> Result<i64> {
        let mut cache = self.sequences.lock();
        if let Some((next, last)) = cache.get_mut(&seq.id) {
            let in_block = if seq.increment > 0 { *next <= *last } else { *next >= *last };
            if in_block {
                let value = *next;
                *next = next.saturating_add(seq.increment);
                return Ok(value);
            }
        }
        let (first, last) = self.reserve_sequence_block(seq)?;
        cache.insert(seq.id, (first.saturating_add(seq.increment), last));
        Ok(first)
    }

    /// Reserves the next block of sequence values durably; returns its first and last value.
    fn reserve_sequence_block(&self, seq: &Sequence) -> Result<(i64, i64)> {
        autonomous(&self.store, &counter_key(seq.id), |reserved| {
            let first = match reserved {
                None => seq.start,
                Some(last) => match last
                    .checked_add(seq.increment)
                    .filter(|v| (seq.min..=seq.max).contains(v))
                {
                    Some(v) => v,
                    None if seq.cycle => {
                        if seq.increment > 0 {
                            seq.min
                        } else {
                            seq.max
                        }
                    }
                    None => {
                        let bound = if seq.increment > 0 {
                            ("maximum", seq.max)
                        } else {
                            ("minimum", seq.min)
                        };
                        return Err(errinput!(
                            SEQUENCE_GENERATOR_LIMIT_EXCEEDED,
                            "nextval: reached {} value of sequence \"{}\" ({})",
                            bound.0,
                            seq.name,
                            bound.1
                        ));
                    }
                },
            };
            let span = seq.increment.saturating_mul(RESERVE - 1);
            let last = first.saturating_add(span).clamp(seq.min, seq.max);
            Ok(((first, last), last))
        })
    }

    /// A new hidden row id for a table without a primary key (not transactional).
    pub fn next_rowid(&self, table_id: RelId) -> Result<i64> {
        const BLOCK: i64 = 1024;
        let mut rowids = self.rowids.lock();
        let (next, last) = rowids.entry(table_id).or_insert((1, 0));
        if *next > *last {
            let (first, end) = autonomous(&self.store, &counter_key(table_id), |reserved| {
                let first = reserved.map_or(1, |last| last + 1);
                Ok(((first, first + BLOCK - 1), first + BLOCK - 1))
            })?;
            (*next, *last) = (first, end);
        }
        let id = *next;
        *next += 1;
        Ok(id)
    }

    /// A new object id (not transactional, never reused).
    pub fn next_id(&self) -> Result<RelId> {
        let mut ids = self.ids.lock();
        if ids.0 > ids.1 {
            *ids = autonomous(&self.store, &counter_key(ID_COUNTER), |reserved| {
                let first = reserved.map_or(FIRST_USER_ID as i64, |last| last + 1);
                let last = first + RESERVE - 1;
                Ok(((first, last), last))
            })?;
        }
        let id = ids.0;
        ids.0 += 1;
        RelId::try_from(id)
            .map_err(|_| errinput!(PROGRAM_LIMIT_EXCEEDED, "object ids are exhausted"))
    }
}

/// Claims a unique name key: locks it, then checks the latest committed state, so that of
/// two concurrent claims exactly one wins.
/// The error for a name already taken by a relation or type, as PostgreSQL words it for
/// the kind being created.
/// PostgreSQL's INDEX_MAX_KEYS (`SHOW max_index_keys`): an index or key has at most 32 columns.
const MAX_INDEX_KEYS: usize = 32;

fn check_index_keys(n: usize) -> Result<()> {
    if n > MAX_INDEX_KEYS {
        return Err(errinput!(
            TOO_MANY_COLUMNS,
            "cannot use more than {MAX_INDEX_KEYS} columns in an index"
        ));
    }
    Ok(())
}

fn duplicate_name(kind: RelKind, name: &str) -> oxibase_common::Error {
    match kind {
        RelKind::Type | RelKind::Domain | RelKind::Composite => {
            errinput!(DUPLICATE_OBJECT, "type \"{name}\" already exists")
        }
        _ => errinput!(DUPLICATE_TABLE, "relation \"{name}\" already exists"),
    }
}

/// A sequence's parameters as PostgreSQL checks them: a nonzero INCREMENT, MINVALUE below
/// MAXVALUE, START between them.
pub fn check_sequence(seq: &Sequence) -> Result<()> {
    if seq.increment == 0 {
        return Err(errinput!(INVALID_PARAMETER_VALUE, "INCREMENT must not be zero"));
    }
    if seq.min >= seq.max {
        return Err(errinput!(
            INVALID_PARAMETER_VALUE,
            "MINVALUE ({}) must be less than MAXVALUE ({})",
            seq.min,
            seq.max
        ));
    }
    if seq.start < seq.min {
        return Err(errinput!(
            INVALID_PARAMETER_VALUE,
            "START value ({}) cannot be less than MINVALUE ({})",
            seq.start,
            seq.min
        ));
    }
    if seq.start > seq.max {
        return Err(errinput!(
            INVALID_PARAMETER_VALUE,
            "START value ({}) cannot be greater than MAXVALUE ({})",
            seq.start,
            seq.max
        ));
    }
    Ok(())
}

fn claim_name(
    txn: &Transaction,
    key: &[u8],
    duplicate: impl FnOnce() -> oxibase_common::Error,
) -> Result<()> {
    txn.lock(key, LockMode::Update, LockWait::Wait(None))?;
    if txn.get_latest(key)?.is_some() {
        return Err(duplicate());
    }
    Ok(())
}

fn require_column(table: &Table, name: &str) -> Result<usize> {
    table.column_index(name).ok_or_else(|| {
        errinput!(
            UNDEFINED_COLUMN,
            "column \"{name}\" of relation \"{}\" does not exist",
            table.name
        )
    })
}

fn column_key(table_id: RelId, position: usize) -> Result<Vec<u8>> {
    sys_key(SYS_COLUMNS, &[Value::Int4(table_id as i32), Value::Int2(position as i16)])
}

fn delete_prefix(txn: &Transaction, prefix: &[u8]) -> Result<()> {
    Catalog::delete_prefix(txn, prefix).map(|_| ())
}

/// Runs a read-modify-write of a counter in its own short transaction, committed at once.
/// `update` gets the stored value and returns (result, new stored value).
fn autonomous<T>(
    store: &Mvcc,
    key: &[u8],
    update: impl FnOnce(Option<i64>) -> Result<(T, i64)>,
) -> Result<T> {
    let txn =
        store.begin(TxnOptions { isolation: Isolation::ReadCommitted, ..Default::default() })?;
    txn.lock(key, LockMode::Update, LockWait::Wait(None))?;
    let current = match txn.get_latest(key)? {
        None => None,
        Some(bytes) => Some(i64::from_le_bytes(
            bytes.as_slice().try_into().map_err(|_| errdata!("invalid counter value"))?,
        )),
    };
    let (result, stored) = update(current)?;
    txn.put(key, stored.to_le_bytes().to_vec())?;
    txn.commit()?;
    Ok(result)
}
