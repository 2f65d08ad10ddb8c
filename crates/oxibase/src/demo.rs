//! `oxibase demo`: the storage kernel at work on an embedded data directory.

use std::path::Path;

use oxibase_common::row::{decode_row, encode_row};
use oxibase_common::{DataType, Result, Value};
use oxibase_engine::{Lsm, LsmOptions};
use oxibase_log::{Log, LogOptions};
use oxibase_mvcc::{Mvcc, MvccOptions};
use oxibase_sql::keys::{relation_prefix, row_key};
use oxibase_sql::{Catalog, Column, TableSpec};

/// Opens the data directory, recovering from the log, and runs a few transactions.
pub fn run(dir: &Path) -> Result<()> {
    let engine = Lsm::open(&dir.join("data"), &LsmOptions::default())?;
    let (log, recovery) = Log::open(&dir.join("wal"), LogOptions::default())?;
    let store = Mvcc::open(Box::new(engine), Some(log), MvccOptions::default())?;
    let status = store.status()?;
    println!(
        "opened {} ({} log records replayed, {} torn bytes cut)",
        dir.display(),
        status.replayed_records,
        recovery.torn_bytes
    );
    let catalog = Catalog::open(store.clone())?;

    let txn = store.begin_default()?;
    let table = match catalog.table(&txn, "public", "visits")? {
        Some(table) => table,
        None => {
            let spec = TableSpec {
                schema: "public".into(),
                name: "visits".into(),
                columns: vec![
                    Column::new("id", DataType::Int8),
                    Column::new("note", DataType::Text),
                ],
                primary_key: vec!["id".into()],
            };
            let table = catalog.create_table(&txn, spec)?;
            println!("created table public.visits (id {})", table.id);
            table
        }
    };
    let count = txn.scan_prefix(&relation_prefix(table.storage))?.count() as i64;
    let id = count + 1;
    txn.put(
        &row_key(table.storage, &[Value::Int8(id)])?,
        encode_row(&[Value::Int8(id), Value::from(format!("visit number {id}"))]),
    )?;

    // Snapshot isolation: another transaction does not see the uncommitted row...
    let other = store.begin_default()?;
    let seen = other.scan_prefix(&relation_prefix(table.storage))?.count();
    println!("before commit, another transaction sees {seen} visits");
    let ts = txn.commit()?;
    println!("committed visit {id} at timestamp {ts} (durable: fsynced to the log)");
    // ...nor the committed one: its snapshot predates the commit.
    println!(
        "after commit, that transaction still sees {} visits (its snapshot)",
        other.scan_prefix(&relation_prefix(table.storage))?.count()
    );
    other.commit()?;

    let reader = store.begin_default()?;
    for item in reader.scan_prefix(&relation_prefix(table.storage))? {
        let (_, row) = item?;
        if let [Value::Int8(id), Value::Text(note)] = decode_row(&row)?.as_slice() {
            println!("  {id:>4}  {note}");
        }
    }
    reader.commit()?;
    let status = store.status()?;
    if let Some(log) = status.log {
        println!(
            "log: {} records durable, {} fsyncs, {} segment(s)",
            log.durable_lsn, log.fsyncs, log.segments
        );
    }
    println!("run `oxibase demo` again: every visit is still there, recovered from disk");
    Ok(())
}
