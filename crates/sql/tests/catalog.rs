//! The catalog: transactional DDL over system tables, name uniqueness under concurrency,
//! added and dropped columns, indexes, non-transactional sequences, and persistence.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use std::sync::Arc;
use std::time::Duration;

use oxibase_common::keycode::ColumnOrder;
use oxibase_common::row::{decode_row, encode_row};
use oxibase_common::{DataType, SqlState, Value};
use oxibase_engine::{Engine, Lsm, LsmOptions, Memory};
use oxibase_log::{Log, LogOptions};
use oxibase_mvcc::{Isolation, Mvcc, MvccOptions, TxnOptions};
use oxibase_sql::keys::row_key;
use oxibase_sql::{Catalog, Column, Index, IndexKey, IndexMethod, Sequence, TableSpec};

fn memory_catalog() -> (Arc<Memory>, Catalog) {
    let engine = Arc::new(Memory::new());
    let store = Mvcc::open(
        Box::new(engine.clone()),
        None,
        MvccOptions { maintenance_interval: None, ..Default::default() },
    )
    .unwrap();
    (engine, Catalog::open(store).unwrap())
}

fn accounts() -> TableSpec {
    TableSpec {
        schema: "public".into(),
        name: "accounts".into(),
        columns: vec![
            Column::new("id", DataType::Int8),
            Column::new("owner", DataType::Text),
            Column::new("balance", DataType::Int8),
        ],
        primary_key: vec!["id".into()],
    }
}

/// Every key-value pair in the engine that is not store metadata.
fn engine_keys(engine: &Memory) -> usize {
    engine.scan_prefix(&[]).filter(|r| r.as_ref().unwrap().0[0] != 0).count()
}

#[test]
fn a_rolled_back_create_table_leaves_nothing_behind() {
    let (engine, catalog) = memory_catalog();
    let store = catalog.store().clone();
    let before = engine_keys(&engine);
    let txn = store.begin_default().unwrap();
    let table = catalog.create_table(&txn, accounts()).unwrap();
    txn.put(
        &row_key(table.storage, &[Value::Int8(1)]).unwrap(),
        encode_row(&[Value::Int8(1), "ann".into(), Value::Int8(10)]),
    )
    .unwrap();
    txn.begin_statement().unwrap();
    assert!(
        catalog.table(&txn, "public", "accounts").unwrap().is_some(),
        "visible inside its transaction"
    );
    txn.rollback().unwrap();
    // The id counter advanced (ids are not transactional, as PostgreSQL's OIDs), nothing else.
    assert!(engine_keys(&engine) <= before + 2, "catalog rows left behind");
    let txn = store.begin_default().unwrap();
    assert!(catalog.table(&txn, "public", "accounts").unwrap().is_none());
    assert!(catalog.tables(&txn).unwrap().iter().all(|t| t.name != "accounts"));
    // The name is free again.
    catalog.create_table(&txn, accounts()).unwrap();
    txn.commit().unwrap();
}

#[test]
fn ddl_is_invisible_to_others_until_commit() {
    let (_, catalog) = memory_catalog();
    let store = catalog.store();
    let creator = store.begin_default().unwrap();
    catalog.create_table(&creator, accounts()).unwrap();
    let other = store
        .begin(TxnOptions { isolation: Isolation::ReadCommitted, ..Default::default() })
        .unwrap();
    assert!(catalog.table(&other, "public", "accounts").unwrap().is_none());
    creator.commit().unwrap();
    assert!(
        catalog.table(&other, "public", "accounts").unwrap().is_none(),
        "same statement, same snapshot"
    );
    other.begin_statement().unwrap();
    let table = catalog.table(&other, "public", "accounts").unwrap().unwrap();
    assert_eq!(
        table.columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        ["id", "owner", "balance"]
    );
    assert_eq!(table.primary_key, vec![0]);
    assert!(table.columns[0].not_null, "primary key columns are NOT NULL");
}

#[test]
fn concurrent_creates_of_one_name_let_exactly_one_win() {
    let (_, catalog) = memory_catalog();
    let catalog = Arc::new(catalog);
    let first = catalog.store().begin_default().unwrap();
    catalog.create_table(&first, accounts()).unwrap();
    let waiter = {
        let catalog = catalog.clone();
        std::thread::spawn(move || {
            let txn = catalog
                .store()
                .begin(TxnOptions { isolation: Isolation::ReadCommitted, ..Default::default() })
                .unwrap();
            catalog.create_table(&txn, accounts()).map(|_| ()).unwrap_err()
        })
    };
    std::thread::sleep(Duration::from_millis(50));
    assert!(!waiter.is_finished(), "the second create must wait for the first");
    first.commit().unwrap();
    let err = waiter.join().unwrap();
    assert_eq!(err.code(), SqlState::DUPLICATE_TABLE, "{err}");
    assert_eq!(err.message(), "relation \"accounts\" already exists");
    // Under snapshot isolation, the loser gets a serialization failure instead.
    let a = catalog.store().begin_default().unwrap();
    let b = catalog.store().begin_default().unwrap();
    let mut spec = accounts();
    spec.name = "other".into();
    catalog.create_table(&a, spec.clone()).unwrap();
    let b = std::thread::spawn({
        let catalog = catalog.clone();
        move || catalog.create_table(&b, spec).map(|_| ()).unwrap_err()
    });
    std::thread::sleep(Duration::from_millis(20));
    a.commit().unwrap();
    assert_eq!(b.join().unwrap().code(), SqlState::SERIALIZATION_FAILURE);
}

#[test]
fn drop_table_removes_rows_and_catalog_entries_and_rolls_back_cleanly() {
    let (engine, catalog) = memory_catalog();
    let store = catalog.store();
    let baseline = engine_keys(&engine);
    let txn = store.begin_default().unwrap();
    let table = catalog.create_table(&txn, accounts()).unwrap();
    for i in 0..10 {
        txn.put(
            &row_key(table.storage, &[Value::Int8(i)]).unwrap(),
            encode_row(&[Value::Int8(i), Value::Null, Value::Int8(0)]),
        )
        .unwrap();
    }
    txn.commit().unwrap();
    // Dropped and rolled back: the table and its rows are intact.
    let txn = store.begin_default().unwrap();
    catalog.drop_table(&txn, "public", "accounts").unwrap();
    txn.rollback().unwrap();
    let txn = store.begin_default().unwrap();
    assert!(catalog.table(&txn, "public", "accounts").unwrap().is_some());
    assert_eq!(txn.scan_prefix(&oxibase_sql::keys::relation_prefix(table.id)).unwrap().count(), 10);
    catalog.drop_table(&txn, "public", "accounts").unwrap();
    txn.commit().unwrap();
    store.gc().unwrap();
    let txn = store.begin_default().unwrap();
    assert!(catalog.table(&txn, "public", "accounts").unwrap().is_none());
    let err = catalog.drop_table(&txn, "public", "accounts").unwrap_err();
    assert_eq!(err.code(), SqlState::UNDEFINED_TABLE);
    assert!(engine_keys(&engine) <= baseline + 2, "dropped table left keys behind");
}

#[test]
fn added_columns_read_their_missing_value_in_old_rows_without_a_rewrite() {
    let (_, catalog) = memory_catalog();
    let store = catalog.store();
    let txn = store.begin_default().unwrap();
    let table = catalog.create_table(&txn, accounts()).unwrap();
    let key = row_key(table.storage, &[Value::Int8(1)]).unwrap();
    txn.put(&key, encode_row(&[Value::Int8(1), "ann".into(), Value::Int8(10)])).unwrap();
    txn.commit().unwrap();

    let txn = store.begin_default().unwrap();
    let mut status = Column::new("status", DataType::Text);
    status.default = Some("'active'".into());
    status.missing = "active".into();
    catalog.add_column(&txn, &table, status).unwrap();
    let dup = catalog.add_column(&txn, &table, Column::new("owner", DataType::Text)).unwrap_err();
    assert_eq!(dup.code(), SqlState::DUPLICATE_COLUMN);
    txn.commit().unwrap();

    let txn = store.begin_default().unwrap();
    let table = catalog.table(&txn, "public", "accounts").unwrap().unwrap();
    let stored = decode_row(&txn.get(&key).unwrap().unwrap()).unwrap();
    assert_eq!(stored.len(), 3, "the old row was not rewritten");
    assert_eq!(
        table.complete_row(stored),
        vec![Value::Int8(1), "ann".into(), Value::Int8(10), "active".into()]
    );

    catalog.drop_column(&txn, &table, "owner").unwrap();
    let pk_drop = catalog.drop_column(&txn, &table, "id").unwrap_err();
    assert_eq!(pk_drop.code(), SqlState::DEPENDENT_OBJECTS_STILL_EXIST);
    txn.begin_statement().unwrap();
    let table = catalog.table(&txn, "public", "accounts").unwrap().unwrap();
    assert_eq!(table.column_index("owner"), None);
    assert_eq!(table.column_index("status"), Some(3), "positions do not shift");
    let live: Vec<_> = table.live_columns().map(|(_, c)| c.name.clone()).collect();
    assert_eq!(live, ["id", "balance", "status"]);
    let mut renamed = table.columns[2].clone();
    renamed.name = "amount".into();
    catalog.update_column(&txn, &table, "balance", renamed).unwrap();
    txn.begin_statement().unwrap();
    let table = catalog.table(&txn, "public", "accounts").unwrap().unwrap();
    assert_eq!(table.column_index("amount"), Some(2));
    let err = catalog.drop_column(&txn, &table, "nope").unwrap_err();
    assert_eq!(err.code(), SqlState::UNDEFINED_COLUMN);
}

#[test]
fn indexes_are_catalog_rows_too() {
    let (_, catalog) = memory_catalog();
    let store = catalog.store();
    let txn = store.begin_default().unwrap();
    let table = catalog.create_table(&txn, accounts()).unwrap();
    let index = Index {
        id: 0,
        storage: 0,
        name: "accounts_owner_idx".into(),
        table_id: table.id,
        unique: true,
        // An expression and a predicate are stored as text and read back as written.
        keys: vec![IndexKey::Column(1), IndexKey::Expr("upper(owner)".into())],
        orders: vec![ColumnOrder::ASC, ColumnOrder::DESC],
        valid: true,
        predicate: Some("owner IS NOT NULL".into()),
        method: IndexMethod::Hash,
        nulls_not_distinct: true,
        constraint: false,
    };
    let created = catalog.create_index(&txn, "public", index.clone()).unwrap();
    txn.begin_statement().unwrap();
    let table = catalog.table(&txn, "public", "accounts").unwrap().unwrap();
    assert_eq!(table.indexes, vec![Index { id: created.id, storage: created.id, ..index.clone() }]);
    // Indexes share the relation namespace with tables.
    let mut clash = accounts();
    clash.name = "accounts_owner_idx".into();
    assert_eq!(catalog.create_table(&txn, clash).unwrap_err().code(), SqlState::DUPLICATE_TABLE);
    let err = catalog.drop_column(&txn, &table, "owner").unwrap_err();
    assert!(err.message().contains("accounts_owner_idx"), "{err}");
    catalog.drop_index(&txn, "public", "accounts_owner_idx").unwrap();
    txn.begin_statement().unwrap();
    assert!(catalog.table(&txn, "public", "accounts").unwrap().unwrap().indexes.is_empty());
    assert_eq!(
        catalog.drop_index(&txn, "public", "accounts_owner_idx").unwrap_err().code(),
        SqlState::UNDEFINED_OBJECT
    );
}

#[test]
fn schemas_are_namespaces() {
    let (_, catalog) = memory_catalog();
    let txn = catalog.store().begin_default().unwrap();
    catalog.create_schema(&txn, "app").unwrap();
    assert_eq!(catalog.create_schema(&txn, "app").unwrap_err().code(), SqlState::DUPLICATE_SCHEMA);
    txn.begin_statement().unwrap(); // like PostgreSQL's CommandCounterIncrement between DDL steps
    let mut spec = accounts();
    spec.schema = "app".into();
    catalog.create_table(&txn, spec).unwrap();
    catalog.create_table(&txn, accounts()).unwrap(); // same name, other schema
    txn.begin_statement().unwrap();
    assert_eq!(
        catalog.drop_schema(&txn, "app").unwrap_err().code(),
        SqlState::DEPENDENT_OBJECTS_STILL_EXIST
    );
    catalog.drop_table(&txn, "app", "accounts").unwrap();
    txn.begin_statement().unwrap();
    catalog.drop_schema(&txn, "app").unwrap();
    txn.begin_statement().unwrap();
    let mut spec = accounts();
    spec.schema = "app".into();
    assert_eq!(catalog.create_table(&txn, spec).unwrap_err().code(), SqlState::INVALID_SCHEMA_NAME);
}

#[test]
fn system_tables_describe_themselves() {
    let (_, catalog) = memory_catalog();
    let txn = catalog.store().begin_default().unwrap();
    let tables = catalog.tables(&txn).unwrap();
    let names: Vec<_> = tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "sys_schemas",
            "sys_tables",
            "sys_columns",
            "sys_indexes",
            "sys_sequences",
            "sys_constraints",
            "sys_roles",
            "sys_statistics",
            "sys_procedures",
            "sys_enums",
            "sys_domains",
            "sys_extensions",
            "sys_triggers",
            "sys_acl",
            "sys_auth_members",
            "sys_default_acl",
            "sys_policies"
        ]
    );
    let sys_columns = catalog.table(&txn, "pg_catalog", "sys_columns").unwrap().unwrap();
    assert_eq!(sys_columns.primary_key, vec![0, 1]);
    assert_eq!(sys_columns.columns[3].data_type, DataType::Text);
}

#[test]
fn sequences_are_not_transactional_and_survive_restarts_without_repeating() {
    let dir = tempfile::tempdir().unwrap();
    let open = || {
        let engine = Lsm::open(&dir.path().join("data"), &LsmOptions::default()).unwrap();
        let (log, _) = Log::open(&dir.path().join("wal"), LogOptions::default()).unwrap();
        let store = Mvcc::open(
            Box::new(engine),
            Some(log),
            MvccOptions { maintenance_interval: None, ..Default::default() },
        )
        .unwrap();
        Catalog::open(store).unwrap()
    };
    let catalog = open();
    let txn = catalog.store().begin_default().unwrap();
    let seq = catalog.create_sequence(&txn, Sequence::ascending("public", "ids")).unwrap();
    txn.commit().unwrap();
    let rolled_back = catalog.store().begin_default().unwrap();
    let mut seen: Vec<i64> = (0..5).map(|_| catalog.nextval(&seq).unwrap()).collect();
    rolled_back.rollback().unwrap();
    assert_eq!(seen, vec![1, 2, 3, 4, 5]);
    drop(catalog); // a restart, with most of a reserved block unused
    let catalog = open();
    let txn = catalog.store().begin_default().unwrap();
    let seq = catalog.sequence(&txn, "public", "ids").unwrap().unwrap();
    let next = catalog.nextval(&seq).unwrap();
    assert!(next > 5 && next <= 5 + 32 + 1, "{next}: values repeat or the gap is too large");
    seen.push(next);
    let table = catalog.create_table(&txn, accounts()).unwrap();
    assert!(table.id >= oxibase_sql::keys::FIRST_USER_ID);
    txn.commit().unwrap();
    // The table persists too.
    drop(catalog);
    let catalog = open();
    let txn = catalog.store().begin_default().unwrap();
    assert_eq!(catalog.table(&txn, "public", "accounts").unwrap().unwrap().id, table.id);
}

#[test]
fn sequences_stop_or_cycle_at_their_bounds() {
    let (_, catalog) = memory_catalog();
    let txn = catalog.store().begin_default().unwrap();
    let mut spec = Sequence::ascending("public", "small");
    spec.max = 3;
    let small = catalog.create_sequence(&txn, spec).unwrap();
    let mut spec = Sequence::ascending("public", "down");
    (spec.start, spec.increment, spec.min, spec.max, spec.cycle) = (2, -1, 1, 2, true);
    let down = catalog.create_sequence(&txn, spec).unwrap();
    let mut bad = Sequence::ascending("public", "bad");
    bad.increment = 0;
    assert_eq!(
        catalog.create_sequence(&txn, bad).unwrap_err().code(),
        SqlState::INVALID_PARAMETER_VALUE
    );
    txn.commit().unwrap();
    assert_eq!(
        (1..=3).map(|_| catalog.nextval(&small).unwrap()).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    let err = catalog.nextval(&small).unwrap_err();
    assert_eq!(err.code(), SqlState::SEQUENCE_GENERATOR_LIMIT_EXCEEDED);
    assert_eq!(err.message(), "nextval: reached maximum value of sequence \"small\" (3)");
    assert_eq!(
        (0..5).map(|_| catalog.nextval(&down).unwrap()).collect::<Vec<_>>(),
        vec![2, 1, 2, 1, 2]
    );
}
