//! The system tables and how catalog objects are stored in them.
//!
//! | table           | one row per            | primary key          | also indexed by      |
//! |-----------------|------------------------|----------------------|----------------------|
//! | `sys_schemas`   | schema                 | id                   | name                 |
//! | `sys_tables`    | table, index, sequence, view (one namespace, as PostgreSQL's `pg_class`) | id | (schema_id, name) |
//! | `sys_columns`   | column                 | (table_id, position) |                      |
//! | `sys_indexes`   | index                  | id                   | (table_id, id)       |
//! | `sys_sequences` | sequence               | id                   |                      |
//! | `sys_constraints` | CHECK or FOREIGN KEY | (table_id, name)     |                      |
//! | `sys_roles`     | role (user)            | name                 |                      |
//! | `sys_statistics`| analyzed table         | table_id             |                      |
//! | `sys_procedures`| function or procedure  | (schema_id, name)    |                      |
//! | `sys_enums`     | label of an enum type  | (type_id, sort_order) |                     |
//! | `sys_acl`       | object with an owner or privileges of its own | (kind, object) |       |
//! | `sys_auth_members` | role membership     | (role, member)       |                      |
//! | `sys_default_acl` | ALTER DEFAULT PRIVILEGES | (role, schema, type) |                  |
//!
//! The system tables are ordinary tables in the `pg_catalog` schema: their rows use the same
//! key and row encodings as user tables and describe themselves in `sys_tables` and
//! `sys_columns`, so the SQL layer can query them like any table.

use std::sync::Arc;

use oxibase_common::keycode::ColumnOrder;
use oxibase_common::row::{decode_row, encode_row};
use oxibase_common::{Array, DataType, Result, Value, errdata};

use super::schema::{
    Column, Constraint, ConstraintKind, Deferral, Domain, Index, IndexKey, IndexMethod, RelKind,
    Sequence,
};
use crate::keys::{RelId, index_key, row_key};

/// `pg_catalog`'s schema id (as in PostgreSQL).
pub const PG_CATALOG: RelId = 11;
/// `public`'s schema id (as in PostgreSQL).
pub const PUBLIC: RelId = 2200;
/// `information_schema`'s schema id.
pub const INFORMATION_SCHEMA: RelId = 13000;

/// System table ids.
pub const SYS_SCHEMAS: RelId = 1;
/// `sys_tables`
pub const SYS_TABLES: RelId = 2;
/// `sys_columns`
pub const SYS_COLUMNS: RelId = 3;
/// `sys_indexes`
pub const SYS_INDEXES: RelId = 4;
/// `sys_sequences`
pub const SYS_SEQUENCES: RelId = 5;
/// Index of `sys_schemas` by name.
pub const SYS_SCHEMAS_NAME: RelId = 6;
/// Index of `sys_tables` by (schema_id, name).
pub const SYS_TABLES_NAME: RelId = 7;
/// Index of `sys_indexes` by (table_id, id).
pub const SYS_INDEXES_TABLE: RelId = 8;
/// `sys_constraints`: CHECK and FOREIGN KEY constraints, keyed by (table_id, name).
pub const SYS_CONSTRAINTS: RelId = 9;
/// `sys_roles`: users and roles, keyed by name.
pub const SYS_ROLES: RelId = 10;
/// `sys_statistics`: what ANALYZE found per table, keyed by table id.
pub const SYS_STATISTICS: RelId = 11;

/// `sys_procedures`: stored functions and procedures with their compiled modules, keyed by
/// (schema_id, name).
pub const SYS_PROCEDURES: RelId = 12;

/// `sys_comments`: COMMENT ON texts, keyed by (object id, column number or 0). Not listed
/// as a table of its own: `pg_description` shows it.
pub const SYS_COMMENTS: RelId = 13;

/// `sys_enums`: the labels of enum types, keyed by (type id, sort order), as `pg_enum`.
pub const SYS_ENUMS: RelId = 14;

/// `sys_domains`: each domain's base type, NOT NULL flag and default, keyed by its id (its
/// name is a `sys_tables` row of kind `D`; its CHECKs are `sys_constraints` rows).
pub const SYS_DOMAINS: RelId = 15;

/// `sys_extensions`: the installed extensions, keyed by name (see `catalog::extensions`).
pub const SYS_EXTENSIONS: RelId = 16;

/// `sys_triggers`: triggers, keyed by (table id, name) (see `catalog::triggers`).
pub const SYS_TRIGGERS: RelId = 17;

/// `sys_acl`: an object's owner and access control list, keyed by (kind, object id) (see
/// `catalog::acl`); an object without a row belongs to the bootstrap superuser.
pub const SYS_ACL: RelId = 18;

/// `sys_auth_members`: role memberships, keyed by (role id, member id), as
/// `pg_auth_members`.
pub const SYS_AUTH_MEMBERS: RelId = 19;

/// `sys_default_acl`: ALTER DEFAULT PRIVILEGES, keyed by (role, schema or 0, object type),
/// as `pg_default_acl`.
pub const SYS_DEFAULT_ACL: RelId = 20;

/// `sys_policies`: row-level security policies, keyed by (table id, name) (see
/// `catalog::policies`).
pub const SYS_POLICIES: RelId = 21;

/// The id counter: the highest id reserved so far.
pub const ID_COUNTER: RelId = 0;

/// A system table's name, columns and primary key, for bootstrapping its own catalog rows.
pub struct SystemTable {
    /// Its id.
    pub id: RelId,
    /// Its name.
    pub name: &'static str,
    /// Its columns.
    pub columns: Vec<(&'static str, DataType)>,
    /// Its primary-key positions.
    pub primary_key: Vec<usize>,
}

fn text_array() -> DataType {
    DataType::Array(Box::new(DataType::Text))
}

fn int2_array() -> DataType {
    DataType::Array(Box::new(DataType::Int2))
}

/// Every system table.
pub fn system_tables() -> Vec<SystemTable> {
    use DataType::*;
    vec![
        SystemTable {
            id: SYS_SCHEMAS,
            name: "sys_schemas",
            columns: vec![("id", Int4), ("name", Text)],
            primary_key: vec![0],
        },
        SystemTable {
            id: SYS_TABLES,
            name: "sys_tables",
            columns: vec![
                ("id", Int4),
                ("schema_id", Int4),
                ("name", Text),
                ("kind", Text),
                ("primary_key", int2_array()),
                ("definition", Text),
                ("storage", Int4),
            ],
            primary_key: vec![0],
        },
        SystemTable {
            id: SYS_COLUMNS,
            name: "sys_columns",
            columns: vec![
                ("table_id", Int4),
                ("position", Int2),
                ("name", Text),
                ("type", Text),
                ("not_null", Bool),
                ("default", Text),
                ("missing", Bytea),
                ("dropped", Bool),
                ("identity_always", Bool),
                ("generated", Text),
            ],
            primary_key: vec![0, 1],
        },
        SystemTable {
            id: SYS_INDEXES,
            name: "sys_indexes",
            columns: vec![
                ("id", Int4),
                ("table_id", Int4),
                ("is_unique", Bool),
                ("columns", int2_array()),
                ("descending", DataType::Array(Box::new(Bool))),
                ("nulls_first", DataType::Array(Box::new(Bool))),
            ],
            primary_key: vec![0],
        },
        SystemTable {
            id: SYS_CONSTRAINTS,
            name: "sys_constraints",
            columns: vec![("table_id", Int4), ("name", Text), ("kind", Text), ("definition", Text)],
            primary_key: vec![0, 1],
        },
        SystemTable {
            id: SYS_STATISTICS,
            name: "sys_statistics",
            columns: vec![
                ("table_id", Int4),
                ("rows", Int8),
                ("distinct", DataType::Array(Box::new(Int8))),
            ],
            primary_key: vec![0],
        },
        SystemTable {
            id: SYS_PROCEDURES,
            name: "sys_procedures",
            columns: vec![
                ("schema_id", Int4),
                ("name", Text),
                ("id", Int4),
                ("kind", Text),
                ("arg_names", text_array()),
                ("arg_types", text_array()),
                ("returns_kind", Text),
                ("returns_names", text_array()),
                ("returns_types", text_array()),
                ("language", Text),
                ("source", Text),
                ("module", Bytea),
                ("hash", Text),
                ("strict", Bool),
                ("volatility", Text),
            ],
            primary_key: vec![0, 1],
        },
        SystemTable {
            id: SYS_ROLES,
            name: "sys_roles",
            columns: vec![
                ("name", Text),
                ("id", Int4),
                ("superuser", Bool),
                ("login", Bool),
                ("password", Text),
                ("createrole", Bool),
                ("inherit", Bool),
            ],
            primary_key: vec![0],
        },
        SystemTable {
            id: SYS_ACL,
            name: "sys_acl",
            columns: vec![("kind", Text), ("object", Int4), ("owner", Int4), ("acl", Text)],
            primary_key: vec![0, 1],
        },
        SystemTable {
            id: SYS_POLICIES,
            name: "sys_policies",
            columns: vec![
                ("table_id", Int4),
                ("name", Text),
                ("id", Int4),
                ("command", Text),
                ("permissive", Bool),
                ("roles", Text),
                ("using", Text),
                ("check", Text),
            ],
            primary_key: vec![0, 1],
        },
        SystemTable {
            id: SYS_DEFAULT_ACL,
            name: "sys_default_acl",
            columns: vec![("role", Int4), ("schema", Int4), ("objtype", Text), ("acl", Text)],
            primary_key: vec![0, 1, 2],
        },
        SystemTable {
            id: SYS_AUTH_MEMBERS,
            name: "sys_auth_members",
            columns: vec![("role", Int4), ("member", Int4), ("grantor", Int4), ("admin", Bool)],
            primary_key: vec![0, 1],
        },
        SystemTable {
            id: SYS_SEQUENCES,
            name: "sys_sequences",
            columns: vec![
                ("id", Int4),
                ("start", Int8),
                ("increment", Int8),
                ("min", Int8),
                ("max", Int8),
                ("cycle", Bool),
                ("owner_table", Int4),
                ("owner_column", Int4),
            ],
            primary_key: vec![0],
        },
        SystemTable {
            id: SYS_ENUMS,
            name: "sys_enums",
            columns: vec![("type_id", Int4), ("sort_order", Float8), ("label", Text)],
            primary_key: vec![0, 1],
        },
        SystemTable {
            id: SYS_DOMAINS,
            name: "sys_domains",
            columns: vec![
                ("type_id", Int4),
                ("base_type", Text),
                ("parent", Int4),
                ("not_null", Bool),
                ("default", Text),
            ],
            primary_key: vec![0],
        },
        SystemTable {
            id: SYS_EXTENSIONS,
            name: "sys_extensions",
            columns: vec![("name", Text), ("id", Int4), ("schema_id", Int4), ("version", Text)],
            primary_key: vec![0],
        },
        SystemTable {
            id: SYS_TRIGGERS,
            name: "sys_triggers",
            columns: vec![
                ("table_id", Int4),
                ("name", Text),
                ("id", Int4),
                ("tgtype", Int4),
                ("function_schema", Text),
                ("function_name", Text),
                ("args", DataType::Array(Box::new(Text))),
                ("when_sql", Text),
                ("update_columns", DataType::Array(Box::new(Text))),
                ("enabled", Bool),
            ],
            primary_key: vec![0, 1],
        },
    ]
}

/// The key of a system table row by its leading primary-key values (a full key, or a
/// prefix for a scan).
pub fn sys_key(table: RelId, key: &[Value]) -> Result<Vec<u8>> {
    row_key(table, key)
}

/// The `sys_schemas_name` index key.
pub fn schema_name_key(name: &str) -> Result<Vec<u8>> {
    index_key(SYS_SCHEMAS_NAME, &[(Value::from(name), ColumnOrder::ASC)], &[])
}

/// The `sys_tables_name` index key.
pub fn relation_name_key(schema_id: RelId, name: &str) -> Result<Vec<u8>> {
    index_key(
        SYS_TABLES_NAME,
        &[(Value::Int4(schema_id as i32), ColumnOrder::ASC), (Value::from(name), ColumnOrder::ASC)],
        &[],
    )
}

/// The prefix of every `sys_tables_name` key in a schema.
pub fn relation_names_prefix(schema_id: RelId) -> Result<Vec<u8>> {
    index_key(SYS_TABLES_NAME, &[(Value::Int4(schema_id as i32), ColumnOrder::ASC)], &[])
}

/// The `sys_indexes_table` index key (a table's prefix when `index` is `None`).
pub fn index_table_key(table_id: RelId, index: Option<RelId>) -> Result<Vec<u8>> {
    let mut values = vec![(Value::Int4(table_id as i32), ColumnOrder::ASC)];
    values.extend(index.map(|i| (Value::Int4(i as i32), ColumnOrder::ASC)));
    index_key(SYS_INDEXES_TABLE, &values, &[])
}

/// Encodes an id as an index entry's value.
pub fn id_value(id: RelId) -> Vec<u8> {
    encode_row(&[Value::Int4(id as i32)])
}

/// Decodes an id stored by [`id_value`].
pub fn decode_id(bytes: &[u8]) -> Result<RelId> {
    match decode_row(bytes)?.as_slice() {
        [Value::Int4(id)] => Ok(*id as RelId),
        _ => Err(errdata!("invalid catalog index entry")),
    }
}

/// A `sys_tables` row.
#[derive(Clone, Debug, PartialEq)]
pub struct RelationRow {
    /// The relation id.
    pub id: RelId,
    /// Its schema id.
    pub schema_id: RelId,
    /// Its name.
    pub name: String,
    /// What it is.
    pub kind: RelKind,
    /// Primary-key positions (tables).
    pub primary_key: Vec<usize>,
    /// The view definition (views).
    pub definition: Option<String>,
    /// Where a table's rows or an index's entries live (see `Table::storage`).
    pub storage: RelId,
    /// A materialized view created or refreshed WITH NO DATA.
    pub unpopulated: bool,
    /// Row-level security: bit 0 ENABLE, bit 1 FORCE.
    pub row_security: u8,
    /// A view's WITH CHECK OPTION: 0 none, 1 LOCAL, 2 CASCADED.
    pub check_option: u8,
    /// A table's REPLICA IDENTITY (see `Table::replica_identity`).
    pub replica_identity: u8,
    /// Its REPLICA IDENTITY USING INDEX index (0 otherwise).
    pub replica_index: RelId,
}

fn int2_list(values: &[usize]) -> Value {
    array(DataType::Int2, values.iter().map(|&v| Value::Int2(v as i16)).collect())
}

fn array(element_type: DataType, elements: Vec<Value>) -> Value {
    Value::Array(Box::new(Array { element_type, elements }))
}

fn text_or_null(value: &Option<String>) -> Value {
    value.clone().map_or(Value::Null, Value::Text)
}

impl RelationRow {
    /// Encodes the row.
    pub fn encode(&self) -> Vec<u8> {
        encode_row(&[
            Value::Int4(self.id as i32),
            Value::Int4(self.schema_id as i32),
            Value::from(self.name.as_str()),
            Value::from(self.kind.code()),
            int2_list(&self.primary_key),
            text_or_null(&self.definition),
            Value::Int4(self.storage as i32),
            Value::Bool(self.unpopulated),
            Value::Int2(i16::from(self.row_security)),
            Value::Int2(i16::from(self.check_option)),
            Value::Int2(i16::from(self.replica_identity)),
            Value::Int4(self.replica_index as i32),
        ])
    }

    /// Decodes the row.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let row = decode_row(bytes)?;
        match row.as_slice() {
            [
                Value::Int4(id),
                Value::Int4(schema_id),
                Value::Text(name),
                Value::Text(kind),
                primary_key,
                definition,
                rest @ ..,
            ] => Ok(RelationRow {
                id: *id as RelId,
                schema_id: *schema_id as RelId,
                name: name.clone(),
                kind: RelKind::from_code(kind)
                    .ok_or_else(|| errdata!("invalid relation kind {kind:?}"))?,
                primary_key: positions(primary_key)?,
                definition: optional_text(definition)?,
                // Rows written before storage ids existed keep their rows under the id;
                // rows written before materialized views are populated.
                storage: match rest {
                    [] | [Value::Null, ..] => *id as RelId,
                    [Value::Int4(storage), ..] => *storage as RelId,
                    _ => return Err(errdata!("invalid sys_tables row")),
                },
                unpopulated: matches!(rest, [_, Value::Bool(true), ..]),
                row_security: match rest {
                    [_, _, Value::Int2(flags), ..] => *flags as u8,
                    _ => 0,
                },
                check_option: match rest {
                    [_, _, _, Value::Int2(option), ..] => *option as u8,
                    _ => 0,
                },
                // Rows written before REPLICA IDENTITY was kept: DEFAULT.
                replica_identity: match rest {
                    [_, _, _, _, Value::Int2(identity), ..] => *identity as u8,
                    _ => b'd',
                },
                replica_index: match rest {
                    [_, _, _, _, _, Value::Int4(index), ..] => *index as RelId,
                    _ => 0,
                },
            }),
            _ => Err(errdata!("invalid sys_tables row")),
        }
    }
}

fn positions(value: &Value) -> Result<Vec<usize>> {
    match value {
        Value::Array(a) => a
            .elements
            .iter()
            .map(|e| match e {
                Value::Int2(p) if *p >= 0 => Ok(*p as usize),
                _ => Err(errdata!("invalid column position in catalog")),
            })
            .collect(),
        _ => Err(errdata!("invalid position list in catalog")),
    }
}

fn bools(value: &Value) -> Result<Vec<bool>> {
    match value {
        Value::Array(a) => a
            .elements
            .iter()
            .map(|e| match e {
                Value::Bool(b) => Ok(*b),
                _ => Err(errdata!("invalid boolean list in catalog")),
            })
            .collect(),
        _ => Err(errdata!("invalid boolean list in catalog")),
    }
}

fn optional_text(value: &Value) -> Result<Option<String>> {
    match value {
        Value::Null => Ok(None),
        Value::Text(t) => Ok(Some(t.clone())),
        _ => Err(errdata!("invalid text in catalog")),
    }
}

/// Encodes a `sys_columns` row.
pub fn encode_column(table_id: RelId, position: usize, column: &Column) -> Vec<u8> {
    encode_row(&[
        Value::Int4(table_id as i32),
        Value::Int2(position as i16),
        Value::from(column.name.as_str()),
        Value::Text(column.data_type.catalog_name()),
        Value::Bool(column.not_null),
        text_or_null(&column.default),
        Value::Bytea(encode_row(std::slice::from_ref(&column.missing))),
        Value::Bool(column.dropped),
        Value::Bool(column.identity_always),
        text_or_null(&column.generated),
        column.domain.as_ref().map_or(Value::Null, |d| Value::Int4(d.id as i32)),
        Value::Bool(column.identity_by_default),
        Value::Int4(column.statistics),
    ])
}

/// Decodes a `sys_columns` row into its position and column, resolving a stored type name
/// (see [`DataType::catalog_name`]) with `resolve` and a domain id with `domain`.
pub fn decode_column(
    bytes: &[u8],
    resolve: &mut dyn FnMut(&str) -> Result<DataType>,
    domain: &mut dyn FnMut(RelId) -> Result<Option<Arc<Domain>>>,
) -> Result<(usize, Column)> {
    let mut row = decode_row(bytes)?;
    // Rows written before identity_always, generated, domain and identity_by_default existed
    // have fewer values.
    let statistics = match row.len() {
        13 => match row.pop() {
            Some(Value::Int4(target)) => target,
            _ => -1,
        },
        _ => -1,
    };
    let identity_by_default = row.len() == 12 && matches!(row.pop(), Some(Value::Bool(true)));
    let domain = match row.len() {
        11 => match row.pop() {
            // A dropped column's domain may be gone.
            Some(Value::Int4(id)) => domain(id as RelId)?,
            _ => None,
        },
        _ => None,
    };
    let generated = match row.len() {
        8 | 9 => None,
        10 => optional_text(&row.pop().unwrap_or(Value::Null))?,
        _ => return Err(errdata!("invalid sys_columns row")),
    };
    let identity_always = row.len() == 9 && matches!(row.pop(), Some(Value::Bool(true)));
    let [
        _,
        Value::Int2(position),
        Value::Text(name),
        Value::Text(ty),
        Value::Bool(not_null),
        default,
        Value::Bytea(missing),
        Value::Bool(dropped),
    ] = row.as_slice()
    else {
        return Err(errdata!("invalid sys_columns row"));
    };
    let data_type = resolve(ty)?;
    let missing =
        decode_row(missing)?.pop().ok_or_else(|| errdata!("invalid missing value in catalog"))?;
    let column = Column {
        name: name.clone(),
        data_type,
        not_null: *not_null,
        default: optional_text(default)?,
        missing,
        dropped: *dropped,
        identity_always,
        identity_by_default,
        generated,
        domain,
        statistics,
    };
    Ok((*position as usize, column))
}

/// Encodes a `sys_indexes` row.
pub fn encode_index(index: &Index) -> Vec<u8> {
    let flags = |f: fn(&ColumnOrder) -> bool| {
        array(DataType::Bool, index.orders.iter().map(|o| Value::Bool(f(o))).collect())
    };
    encode_row(&[
        Value::Int4(index.id as i32),
        Value::Int4(index.table_id as i32),
        Value::Bool(index.unique),
        // An expression's position is 0 (PostgreSQL's indkey), its text in the list after.
        int2_list(
            &index
                .keys
                .iter()
                .map(|k| match k {
                    IndexKey::Column(c) => *c,
                    IndexKey::Expr(_) => 0,
                })
                .collect::<Vec<_>>(),
        ),
        flags(|o| o.descending),
        flags(|o| o.nulls_first),
        Value::Bool(index.valid),
        array(
            DataType::Text,
            index
                .keys
                .iter()
                .map(|k| match k {
                    IndexKey::Column(_) => Value::Null,
                    IndexKey::Expr(e) => Value::Text(e.clone()),
                })
                .collect(),
        ),
        text_or_null(&index.predicate),
        Value::Text(index.method.name().into()),
        Value::Bool(index.nulls_not_distinct),
        Value::Bool(index.constraint),
    ])
}

/// Decodes a `sys_indexes` row; the name and storage come from `sys_tables`.
pub fn decode_index(bytes: &[u8], name: String, storage: RelId) -> Result<Index> {
    let row = decode_row(bytes)?;
    // Rows written before the validity flag existed have six fields: those are complete;
    // rows written before expression and partial indexes have seven, before access methods
    // nine (those are btree indexes), before NULLS NOT DISTINCT ten.
    let (fields, valid, exprs, predicate, method) = match row.as_slice() {
        [fields @ .., Value::Bool(valid), exprs, predicate, Value::Text(method), _, _]
        | [fields @ .., Value::Bool(valid), exprs, predicate, Value::Text(method), _]
        | [fields @ .., Value::Bool(valid), exprs, predicate, Value::Text(method)]
            if fields.len() == 6 =>
        {
            let method = IndexMethod::named(method)
                .ok_or_else(|| errdata!("unknown index access method {method} in catalog"))?;
            (fields, *valid, Some(exprs), optional_text(predicate)?, method)
        }
        [fields @ .., Value::Bool(valid), exprs, predicate] if fields.len() == 6 => {
            (fields, *valid, Some(exprs), optional_text(predicate)?, IndexMethod::Btree)
        }
        [fields @ .., Value::Bool(valid)] if fields.len() == 6 => {
            (fields, *valid, None, None, IndexMethod::Btree)
        }
        fields => (fields, true, None, None, IndexMethod::Btree),
    };
    let [
        Value::Int4(id),
        Value::Int4(table_id),
        Value::Bool(unique),
        columns,
        descending,
        nulls_first,
    ] = fields
    else {
        return Err(errdata!("invalid sys_indexes row"));
    };
    let orders = bools(descending)?
        .into_iter()
        .zip(bools(nulls_first)?)
        .map(|(descending, nulls_first)| ColumnOrder { descending, nulls_first })
        .collect();
    Ok(Index {
        id: *id as RelId,
        storage,
        name,
        table_id: *table_id as RelId,
        unique: *unique,
        keys: index_keys(positions(columns)?, exprs)?,
        orders,
        valid,
        predicate,
        method,
        // Rows written before NULLS NOT DISTINCT have ten fields.
        nulls_not_distinct: matches!(row.get(10), Some(Value::Bool(true))),
        // Rows written before constraints were told from indexes have eleven: every unique
        // index was then shown as a constraint, and still is.
        constraint: match row.get(11) {
            Some(Value::Bool(constraint)) => *constraint,
            _ => *unique,
        },
    })
}

/// An index's key parts from its positions and (newer rows) its expression list.
fn index_keys(positions: Vec<usize>, exprs: Option<&Value>) -> Result<Vec<IndexKey>> {
    let exprs = match exprs {
        None => vec![None; positions.len()],
        Some(Value::Array(a)) if a.elements.len() == positions.len() => {
            a.elements.iter().map(optional_text).collect::<Result<Vec<_>>>()?
        }
        Some(_) => return Err(errdata!("invalid index expression list in catalog")),
    };
    Ok(positions
        .into_iter()
        .zip(exprs)
        .map(|(c, e)| e.map_or(IndexKey::Column(c), IndexKey::Expr))
        .collect())
}

/// Encodes a `sys_sequences` row.
pub fn encode_sequence(seq: &Sequence) -> Vec<u8> {
    encode_row(&[
        Value::Int4(seq.id as i32),
        Value::Int8(seq.start),
        Value::Int8(seq.increment),
        Value::Int8(seq.min),
        Value::Int8(seq.max),
        Value::Bool(seq.cycle),
        seq.owned_by.map_or(Value::Null, |(t, _)| Value::Int4(t as i32)),
        seq.owned_by.map_or(Value::Null, |(_, c)| Value::Int4(c as i32)),
    ])
}

/// Decodes a `sys_sequences` row; schema and name come from `sys_tables`.
pub fn decode_sequence(bytes: &[u8], schema: String, name: String) -> Result<Sequence> {
    let row = decode_row(bytes)?;
    let [
        Value::Int4(id),
        Value::Int8(start),
        Value::Int8(increment),
        Value::Int8(min),
        Value::Int8(max),
        Value::Bool(cycle),
        owner_table,
        owner_column,
    ] = row.as_slice()
    else {
        return Err(errdata!("invalid sys_sequences row"));
    };
    let owned_by = match (owner_table, owner_column) {
        (Value::Int4(t), Value::Int4(c)) => Some((*t as RelId, *c as usize)),
        _ => None,
    };
    Ok(Sequence {
        id: *id as RelId,
        schema,
        name,
        start: *start,
        increment: *increment,
        min: *min,
        max: *max,
        cycle: *cycle,
        owned_by,
    })
}

/// Encodes a `sys_constraints` row. A foreign key's definition is
/// `cols|ref_table|ref_cols|on_delete|on_update` with comma-separated positions.
pub fn encode_constraint(table_id: RelId, c: &Constraint) -> Vec<u8> {
    let list = |v: &[usize]| v.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(",");
    let (kind, definition) = match &c.kind {
        ConstraintKind::Check { expr } => ("c", expr.clone()),
        ConstraintKind::ForeignKey { columns, ref_table, ref_columns, on_delete, on_update } => (
            "f",
            format!("{}|{ref_table}|{}|{on_delete}|{on_update}", list(columns), list(ref_columns)),
        ),
    };
    encode_row(&[
        Value::Int4(table_id as i32),
        Value::from(c.name.as_str()),
        Value::from(kind),
        Value::Text(definition),
        Value::Bool(c.validated),
        Value::from(c.deferral.code()),
    ])
}

/// Decodes a `sys_constraints` row.
pub fn decode_constraint(bytes: &[u8]) -> Result<Constraint> {
    let row = decode_row(bytes)?;
    // Rows written before NOT VALID existed have four values: those were validated; rows
    // written before DEFERRABLE have five: not deferrable.
    let (fields, validated, deferral) = match row.as_slice() {
        [fields @ .., Value::Bool(v), Value::Text(d)] if fields.len() == 4 => (
            fields,
            *v,
            Deferral::from_code(d).ok_or_else(|| errdata!("invalid constraint deferral {d:?}"))?,
        ),
        [fields @ .., Value::Bool(v)] if fields.len() == 4 => (fields, *v, Deferral::NotDeferrable),
        fields => (fields, true, Deferral::NotDeferrable),
    };
    let [_, Value::Text(name), Value::Text(kind), Value::Text(definition)] = fields else {
        return Err(errdata!("invalid sys_constraints row"));
    };
    let list = |s: &str| -> Result<Vec<usize>> {
        s.split(',')
            .filter(|x| !x.is_empty())
            .map(|x| x.parse().map_err(|_| errdata!("invalid constraint column list")))
            .collect()
    };
    let kind = match kind.as_str() {
        "c" => ConstraintKind::Check { expr: definition.clone() },
        "f" => {
            let parts: Vec<&str> = definition.split('|').collect();
            let [cols, ref_table, ref_cols, on_delete, on_update] = parts.as_slice() else {
                return Err(errdata!("invalid foreign key definition"));
            };
            ConstraintKind::ForeignKey {
                columns: list(cols)?,
                ref_table: ref_table.parse().map_err(|_| errdata!("invalid foreign key table"))?,
                ref_columns: list(ref_cols)?,
                on_delete: on_delete.to_string(),
                on_update: on_update.to_string(),
            }
        }
        other => return Err(errdata!("unknown constraint kind {other:?}")),
    };
    Ok(Constraint { name: name.clone(), kind, validated, deferral })
}

/// The superuser created with the database.
pub const BOOTSTRAP_ROLE: &str = "oxibase";
/// Its id (PostgreSQL's bootstrap superuser is oid 10).
pub const BOOTSTRAP_ROLE_ID: RelId = 10;

/// Encodes a `sys_roles` row.
pub fn encode_role(role: &super::schema::Role) -> Vec<u8> {
    encode_row(&[
        Value::from(role.name.as_str()),
        Value::Int4(role.id as i32),
        Value::Bool(role.superuser),
        Value::Bool(role.login),
        role.password.as_deref().map_or(Value::Null, Value::from),
        Value::Bool(role.createrole),
        Value::Bool(role.inherit),
    ])
}

/// Decodes a `sys_roles` row (one written before CREATEROLE and INHERIT has neither: no
/// CREATEROLE, INHERIT as PostgreSQL's default).
pub fn decode_role(bytes: &[u8]) -> Result<super::schema::Role> {
    let values = decode_row(bytes)?;
    let flag = |i: usize, default: bool| match values.get(i) {
        Some(Value::Bool(b)) => *b,
        _ => default,
    };
    match values.get(..5) {
        Some(
            [
                Value::Text(name),
                Value::Int4(id),
                Value::Bool(superuser),
                Value::Bool(login),
                password,
            ],
        ) => Ok(super::schema::Role {
            name: name.clone(),
            id: *id as RelId,
            superuser: *superuser,
            login: *login,
            password: match password {
                Value::Text(p) => Some(p.clone()),
                _ => None,
            },
            createrole: flag(5, false),
            inherit: flag(6, true),
        }),
        _ => Err(errdata!("invalid sys_roles row")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relation_rows_from_before_storage_ids_keep_their_rows_under_the_relation_id() {
        let row = RelationRow {
            id: 20_000,
            schema_id: 2200,
            name: "t".into(),
            kind: RelKind::Table,
            primary_key: vec![0],
            definition: None,
            storage: 20_007,
            unpopulated: false,
            row_security: 0,
            check_option: 0,
            replica_identity: b'f',
            replica_index: 0,
        };
        assert_eq!(RelationRow::decode(&row.encode()).unwrap(), row);
        // The six fields an older version wrote.
        let mut old = decode_row(&row.encode()).unwrap();
        old.pop(); // replica index
        old.pop(); // replica identity
        assert_eq!(RelationRow::decode(&encode_row(&old)).unwrap().replica_identity, b'd');
        old.pop(); // check option
        old.pop(); // row security
        old.pop(); // populated
        old.pop(); // storage
        let decoded = RelationRow::decode(&encode_row(&old)).unwrap();
        assert_eq!(decoded.storage, 20_000);
        old.push(Value::Text("x".into()));
        assert!(RelationRow::decode(&encode_row(&old)).is_err());
    }

    #[test]
    fn column_rows_keep_a_by_default_identity_and_read_older_rows_without_it() {
        let column = Column {
            identity_by_default: true,
            statistics: 500,
            ..Column::new("id", DataType::Int8)
        };
        let mut resolve =
            |t: &str| DataType::from_name(t).ok_or_else(|| errdata!("unknown type {t}"));
        let mut no_domain = |_| Ok(None);
        let bytes = encode_column(7, 0, &column);
        let (_, decoded) = decode_column(&bytes, &mut resolve, &mut no_domain).unwrap();
        assert!(decoded.identity_by_default && !decoded.identity_always);
        assert_eq!(decoded.statistics, 500);
        // A row written before the statistics target: the default target.
        let mut old = decode_row(&bytes).unwrap();
        old.pop();
        let (_, decoded) = decode_column(&encode_row(&old), &mut resolve, &mut no_domain).unwrap();
        assert!(decoded.identity_by_default);
        assert_eq!(decoded.statistics, -1);
        // Before identity_by_default too: eleven values, read as no identity.
        old.pop();
        let (_, decoded) = decode_column(&encode_row(&old), &mut resolve, &mut no_domain).unwrap();
        assert!(!decoded.identity_by_default);
        assert_eq!(decoded.name, "id");
    }
}
