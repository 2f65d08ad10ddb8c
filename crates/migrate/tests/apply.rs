//! Applying migrations: hazards refused unless allowed, validation with the offending rows,
//! all-or-nothing execution, one migration at a time, the history table, and a migration
//! run while writers keep writing.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::Duration;

use oxibase_sql::{Database, Output, Session, SqlState, Value};

fn db() -> Database {
    let db = Database::memory().unwrap();
    oxibase_migrate::install(&db);
    db
}

fn migrate(
    session: &mut Session,
    desired: &str,
    apply: bool,
    allow: &str,
) -> oxibase_sql::Result<Output> {
    session.query(
        "CALL oxibase_migrate($1, apply => $2, allow_hazards => $3, source => 'schema.sql')",
        &[Value::Text(desired.into()), Value::Bool(apply), Value::Text(allow.into())],
    )
}

fn texts(session: &mut Session, sql: &str) -> Vec<String> {
    session
        .execute(sql)
        .unwrap()
        .rows()
        .iter()
        .map(|r| r.iter().map(|v| format!("{v:?}")).collect::<Vec<_>>().join("|"))
        .collect()
}

fn columns(session: &mut Session, table: &str) -> Vec<String> {
    texts(
        session,
        &format!(
            "select column_name from information_schema.columns where table_name = '{table}' order by ordinal_position"
        ),
    )
}

#[test]
fn hazards_are_refused_unless_allowed() {
    let db = db();
    let mut s = db.session();
    s.execute("create table t (id int primary key, old text, n int)").unwrap();
    s.execute("insert into t values (1, 'x', 1)").unwrap();
    let desired = "create table t (id int primary key, n bigint); create table u (id int)";
    let e = migrate(&mut s, desired, true, "").unwrap_err();
    assert_eq!(e.code(), SqlState::OBJECT_NOT_IN_PREREQUISITE_STATE, "{e}");
    let detail = e.detail().unwrap();
    assert!(detail.contains("data_loss") && detail.contains("table_rewrite"), "{detail}");
    assert!(e.hint().unwrap().contains("--allow-hazards data_loss,table_rewrite"), "{e}");
    // Nothing changed, not even the harmless step.
    assert_eq!(columns(&mut s, "t").len(), 3);
    assert!(columns(&mut s, "u").is_empty());
    // Allowing one kind is not enough.
    assert!(migrate(&mut s, desired, true, "data_loss").is_err());
    let e = migrate(&mut s, desired, true, "data_lost").unwrap_err();
    assert_eq!(e.code(), SqlState::INVALID_PARAMETER_VALUE, "{e}");
    migrate(&mut s, desired, true, "data_loss, table_rewrite").unwrap();
    assert_eq!(columns(&mut s, "t").len(), 2);
    assert_eq!(texts(&mut s, "select n from t"), vec!["Int8(1)"]);
    // Recorded once, with the hazards the caller allowed.
    assert_eq!(
        texts(&mut s, "select steps, hazards_allowed, source, applied_by from oxibase.migrations"),
        vec![r#"Int4(3)|Text("data_loss,table_rewrite")|Text("schema.sql")|Text("oxibase")"#]
    );
    // A second run changes nothing and records nothing.
    let out = migrate(&mut s, desired, true, "").unwrap();
    assert!(out.rows().is_empty());
    assert_eq!(texts(&mut s, "select count(*) from oxibase.migrations"), vec!["Int8(1)"]);
}

#[test]
fn a_failed_validation_lists_the_rows_and_changes_nothing() {
    let db = db();
    let mut s = db.session();
    s.execute("create table people (id int primary key, email text, age int)").unwrap();
    s.execute(
        "insert into people values (1, 'a@x', 30), (2, null, 40), (3, 'c@x', -1), (4, null, 5)",
    )
    .unwrap();
    // A new table comes first in the plan; the failing NOT NULL rolls it back too.
    let desired = "create table audit (id int primary key);
                   create table people (id int primary key, email text not null, age int)";
    let plan = migrate(&mut s, desired, false, "").unwrap();
    let hazards: Vec<String> = plan.rows().iter().map(|r| format!("{:?}", r[2])).collect();
    assert!(hazards.iter().any(|h| h.contains("2 rows would fail now")), "{hazards:?}");
    let e = migrate(&mut s, desired, true, "").unwrap_err();
    assert_eq!(e.code(), SqlState::CHECK_VIOLATION, "{e}");
    let detail = e.detail().unwrap();
    assert!(detail.contains("(id)=(2)") && detail.contains("(id)=(4)"), "{detail}");
    assert!(!detail.contains("(id)=(1)"), "{detail}");
    assert!(columns(&mut s, "audit").is_empty(), "the table created before the failure stayed");
    assert!(
        texts(&mut s, "select count(*) from pg_tables where schemaname = 'oxibase'")
            == vec!["Int8(0)"]
    );

    // A CHECK: the offending row is named.
    let desired = "create table people (id int primary key, email text, age int check (age >= 0))";
    let e = migrate(&mut s, desired, true, "").unwrap_err();
    assert!(e.detail().unwrap().contains("(id)=(3)"), "{e}");

    // A type change: the row whose value does not convert is named.
    s.execute("create table codes (id int primary key, code text)").unwrap();
    s.execute("insert into codes values (1, '10'), (2, 'x2'), (3, '30')").unwrap();
    let desired = "create table people (id int primary key, email text, age int);
                   create table codes (id int primary key, code int)";
    let e = migrate(&mut s, desired, true, "table_rewrite").unwrap_err();
    assert_eq!(e.code(), SqlState::INVALID_TEXT_REPRESENTATION, "{e}");
    assert!(e.message().starts_with("step 1 failed"), "{e}");
    assert!(e.detail().unwrap().contains("Failing row: Key (id)=(2)"), "{e}");
    assert_eq!(texts(&mut s, "select code from codes where id = 2"), vec![r#"Text("x2")"#]);
}

#[test]
fn a_unique_index_built_online_is_dropped_when_it_fails() {
    let db = db();
    let mut s = db.session();
    s.execute("create table t (id int primary key, code text)").unwrap();
    s.execute("insert into t values (1, 'a'), (2, 'b'), (3, 'a')").unwrap();
    let desired =
        "create table t (id int primary key, code text); create unique index t_code on t (code)";
    let e = migrate(&mut s, desired, true, "").unwrap_err();
    assert_eq!(e.code(), SqlState::CHECK_VIOLATION, "{e}");
    assert!(e.detail().unwrap().contains("(code)=(a) x2"), "{e}");
    assert_eq!(
        texts(&mut s, "select count(*) from pg_indexes where indexname = 't_code'"),
        vec!["Int8(0)"]
    );
    s.execute("update t set code = 'c' where id = 3").unwrap();
    migrate(&mut s, desired, true, "").unwrap();
    let plan = texts(&mut s, "explain select id from t where code = 'c'").join("\n");
    assert!(plan.contains("t_code"), "{plan}");
}

#[test]
fn a_reviewed_plan_hash_must_still_match() {
    let db = db();
    let mut s = db.session();
    s.execute("create table t (id int primary key)").unwrap();
    let desired = "create table t (id int primary key, v int)";
    let plan = migrate(&mut s, desired, false, "").unwrap();
    let Value::Text(hash) = plan.rows()[0][5].clone() else { panic!("no hash") };
    // The schema changes after the review: the reviewed plan is refused.
    s.execute("create index t_id2 on t (id)").unwrap();
    let e = s
        .query(
            "CALL oxibase_migrate($1, apply => true, plan_hash => $2)",
            &[Value::Text(desired.into()), Value::Text("0000".into())],
        )
        .unwrap_err();
    assert_eq!(e.code(), SqlState::OBJECT_NOT_IN_PREREQUISITE_STATE, "{e}");
    let e = s
        .query(
            "CALL oxibase_migrate($1, apply => true, plan_hash => $2)",
            &[Value::Text(desired.into()), Value::Text(hash)],
        )
        .unwrap_err();
    assert!(e.message().contains("no longer the one reviewed"), "{e}");
    assert_eq!(columns(&mut s, "t").len(), 1);
}

#[test]
fn one_migration_at_a_time_and_not_in_a_transaction_block() {
    let db = db();
    let mut a = db.session();
    let mut b = db.session();
    a.execute("create table t (id int primary key)").unwrap();
    // Another migration holds the migration lock.
    let key = oxibase_migrate::apply::MIGRATION_LOCK;
    b.query("select pg_advisory_lock($1)", &[Value::Int8(key)]).unwrap();
    let e = migrate(&mut a, "create table t (id int primary key, v int)", true, "").unwrap_err();
    assert_eq!(e.code(), SqlState::LOCK_NOT_AVAILABLE, "{e}");
    assert_eq!(columns(&mut a, "t").len(), 1);
    b.query("select pg_advisory_unlock($1)", &[Value::Int8(key)]).unwrap();
    // Planning works in a block; applying does not.
    a.execute("begin").unwrap();
    assert_eq!(
        migrate(&mut a, "create table t (id int primary key, v int)", false, "")
            .unwrap()
            .rows()
            .len(),
        1
    );
    let e = migrate(&mut a, "create table t (id int primary key, v int)", true, "").unwrap_err();
    assert_eq!(e.code(), SqlState::ACTIVE_SQL_TRANSACTION, "{e}");
    a.execute("rollback").unwrap();
    migrate(&mut a, "create table t (id int primary key, v int)", true, "").unwrap();
    assert_eq!(columns(&mut a, "t").len(), 2);
}

#[test]
fn other_ddl_waits_while_a_migration_holds_the_catalog() {
    let db = db();
    let mut a = db.session();
    a.execute("create table t (id int primary key)").unwrap();
    // A transaction holding the DDL lock exclusively, as a migration's does.
    a.execute("begin").unwrap();
    a.within_transaction(|_, txn| {
        txn.lock_latest(
            &oxibase_sql::Catalog::ddl_lock_key()?,
            oxibase_mvcc::LockMode::Update,
            oxibase_mvcc::LockWait::Wait(None),
        )
        .map(|_| ())
    })
    .unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let waiter = thread::spawn({
        let db = db.clone();
        let done = done.clone();
        move || {
            let mut b = db.session();
            b.execute("create table u (id int)").unwrap();
            done.store(true, Ordering::SeqCst);
        }
    });
    thread::sleep(Duration::from_millis(300));
    assert!(!done.load(Ordering::SeqCst), "DDL ran while the catalog was locked");
    // Writes are not DDL: they go on.
    a.execute("commit").unwrap();
    waiter.join().unwrap();
    assert!(done.load(Ordering::SeqCst));
}

/// The online test of issue 8: writers insert and update all through a migration that adds
/// a column with a default, an index and a foreign key. No writer sees an error, no row is
/// lost, and queries use the new index afterwards.
#[test]
fn a_migration_while_writers_write() {
    let db = db();
    let mut s = db.session();
    s.execute("create table accounts (id int primary key, name text)").unwrap();
    s.execute("create table events (id int primary key, account int, kind text, n int)").unwrap();
    s.execute("insert into accounts select g, 'a' || g from generate_series(1, 50) g").unwrap();
    s.execute(
        "insert into events select g, 1 + g % 50, 'seed', 0 from generate_series(1, 20000) g",
    )
    .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let next_id = Arc::new(AtomicU64::new(100_000));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let db = db.clone();
            let stop = stop.clone();
            let next_id = next_id.clone();
            thread::spawn(move || {
                let mut s = db.session();
                let mut inserted = Vec::new();
                let mut updates = 0u64;
                let mut i = 0u64;
                while !stop.load(Ordering::SeqCst) || i < 50 {
                    i += 1;
                    let id = next_id.fetch_add(1, Ordering::SeqCst) as i32;
                    s.query(
                        "insert into events (id, account, kind, n) values ($1, $2, 'live', 0)",
                        &[Value::Int4(id), Value::Int4(1 + (id % 50))],
                    )
                    .unwrap_or_else(|e| panic!("writer {w}: insert failed: {e}"));
                    inserted.push(id);
                    let target = 1 + ((i * 37 + w) % 20000) as i32;
                    s.query("update events set n = n + 1 where id = $1", &[Value::Int4(target)])
                        .unwrap_or_else(|e| panic!("writer {w}: update failed: {e}"));
                    updates += 1;
                }
                (inserted, updates)
            })
        })
        .collect();
    thread::sleep(Duration::from_millis(200));
    let desired = "
        create table accounts (id int primary key, name text);
        create table events (
            id int primary key,
            account int references accounts (id),
            kind text,
            n int,
            source text not null default 'app'
        );
        create index events_kind on events (kind);
    ";
    let mut m = db.session();
    let plan = migrate(&mut m, desired, true, "").unwrap();
    assert_eq!(plan.rows().len(), 3, "{:?}", plan.rows());
    thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::SeqCst);
    let mut inserted = Vec::new();
    let mut updates = 0;
    for w in writers {
        let (ids, n) = w.join().unwrap();
        inserted.extend(ids);
        updates += n;
    }
    let rows = texts(&mut s, "select count(*) from events");
    assert_eq!(rows, vec![format!("Int8({})", 20000 + inserted.len())]);
    let live = texts(&mut s, "select count(*) from events where kind = 'live'");
    assert_eq!(live, vec![format!("Int8({})", inserted.len())]);
    let counted = texts(&mut s, "select sum(n) from events");
    assert_eq!(counted, vec![format!("Int8({updates})")]);
    // Old rows read the default; the index answers queries and has every row.
    assert_eq!(texts(&mut s, "select count(*) from events where source = 'app'"), rows);
    let explain = texts(&mut s, "explain select id from events where kind = 'live'").join("\n");
    assert!(explain.contains("events_kind"), "{explain}");
    // The index has exactly the rows a full scan finds (`kind || ''` defeats the index).
    for kind in ["live", "seed"] {
        let by_index =
            texts(&mut s, &format!("select count(id) from events where kind = '{kind}'"));
        let by_scan =
            texts(&mut s, &format!("select count(id) from events where kind || '' = '{kind}'"));
        assert_eq!(by_index, by_scan, "{kind}");
    }
    let e = s.execute("insert into events values (999999, 999, 'x', 0)").unwrap_err();
    assert_eq!(e.code(), SqlState::FOREIGN_KEY_VIOLATION, "{e}");
    // Planned again, nothing is left to do.
    assert!(migrate(&mut m, desired, false, "").unwrap().rows().is_empty());
}

#[test]
fn an_interrupted_index_build_is_redone() {
    let db = db();
    let mut s = db.session();
    s.execute("create table t (id int primary key, v int)").unwrap();
    s.execute("create index t_v on t (v)").unwrap();
    // As a CREATE INDEX CONCURRENTLY stopped by a crash leaves it: recorded, not valid.
    s.within_transaction(|catalog, txn| {
        let table = catalog.table(txn, "public", "t")?.unwrap();
        let mut index = table.indexes[0].clone();
        index.valid = false;
        catalog.update_index(txn, &index)
    })
    .unwrap();
    let desired = "create table t (id int primary key, v int); create index t_v on t (v)";
    let plan = migrate(&mut s, desired, false, "").unwrap();
    let statements: Vec<String> = plan.rows().iter().map(|r| format!("{:?}", r[1])).collect();
    assert_eq!(
        statements,
        vec![r#"Text("DROP INDEX t_v")"#, r#"Text("CREATE INDEX t_v ON t (v)")"#]
    );
    migrate(&mut s, desired, true, "long_lock").unwrap();
    assert!(migrate(&mut s, desired, false, "").unwrap().rows().is_empty());
    let explain = texts(&mut s, "explain select id from t where v = 1").join("\n");
    assert!(explain.contains("t_v"), "{explain}");
}

#[test]
fn an_enum_label_still_in_use_is_not_dropped() {
    let db = db();
    let mut s = db.session();
    s.execute("create type status as enum ('new', 'active', 'gone')").unwrap();
    s.execute("create table jobs (id int primary key, s status, past status[])").unwrap();
    s.execute("insert into jobs values (1, 'new', '{new}'), (2, 'gone', '{new}'), (3, 'active', '{gone,active}')")
        .unwrap();
    let desired = "create type status as enum ('new', 'active');
                   create table jobs (id int primary key, s status, past status[])";
    // The plan says how many rows hold a dropped label, per column.
    let plan = migrate(&mut s, desired, false, "").unwrap();
    let hazards: Vec<String> = plan.rows().iter().map(|r| format!("{:?}", r[2])).collect();
    assert_eq!(
        hazards.iter().filter(|h| h.contains("1 rows would fail now")).count(),
        2,
        "{hazards:?}"
    );
    let e = migrate(&mut s, desired, true, "table_rewrite").unwrap_err();
    assert_eq!(e.code(), SqlState::CHECK_VIOLATION, "{e}");
    assert!(e.detail().unwrap().contains("(id)=(2)"), "{e}");
    // Nothing changed: the old type, its labels and the rows are as they were.
    assert_eq!(
        texts(&mut s, "select enum_range(null::status)::text"),
        vec![r#"Text("{new,active,gone}")"#]
    );
    assert_eq!(
        texts(&mut s, "select typname from pg_type where typname like 'status%'"),
        vec![r#"Text("status")"#]
    );
    // Once no row holds it, the label goes.
    s.execute("update jobs set s = 'active' where s = 'gone'").unwrap();
    s.execute("update jobs set past = '{active}' where id = 3").unwrap();
    migrate(&mut s, desired, true, "table_rewrite").unwrap();
    assert_eq!(
        texts(&mut s, "select enum_range(null::status)::text"),
        vec![r#"Text("{new,active}")"#]
    );
    assert_eq!(
        texts(&mut s, "select id from jobs where s = 'active' order by id"),
        vec!["Int4(2)", "Int4(3)"]
    );
    let out = migrate(&mut s, desired, false, "").unwrap();
    assert!(out.rows().is_empty(), "{:?}", out.rows());
}

#[test]
fn nulls_not_distinct_counts_null_keys_as_duplicates_before_building() {
    let db = db();
    let mut s = db.session();
    s.execute("create table t (id int primary key, code text)").unwrap();
    s.execute("insert into t values (1, null), (2, null), (3, 'a')").unwrap();
    let desired = "create table t (id int primary key, code text); \
                   create unique index t_code on t (code) nulls not distinct";
    let e = migrate(&mut s, desired, true, "").unwrap_err();
    assert_eq!(e.code(), SqlState::CHECK_VIOLATION, "{e}");
    assert!(e.detail().unwrap().contains("(code)=(null) x2"), "{e}");
    s.execute("update t set code = 'b' where id = 2").unwrap();
    migrate(&mut s, desired, true, "").unwrap();
    let e = s.execute("insert into t values (4, null)").unwrap_err();
    assert_eq!(e.code(), SqlState::UNIQUE_VIOLATION, "{e}");
}

#[test]
fn domains_in_a_desired_schema_are_refused_by_name() {
    let db = db();
    let mut s = db.session();
    for desired in [
        "create domain posint as int check (value > 0);",
        "create table t (a int);\nalter domain posint set not null;",
    ] {
        let e = migrate(&mut s, desired, false, "").unwrap_err();
        assert_eq!(e.code(), SqlState::FEATURE_NOT_SUPPORTED, "{e}");
        assert!(e.message().contains("domains are not managed"), "{e}");
    }
}

#[test]
fn composite_types_in_a_desired_schema_are_refused_by_name() {
    let db = db();
    let mut s = db.session();
    for desired in [
        "create type pair as (a int, b text);",
        "create table t (a int);\nalter type pair add attribute c int;",
    ] {
        let e = migrate(&mut s, desired, false, "").unwrap_err();
        assert_eq!(e.code(), SqlState::FEATURE_NOT_SUPPORTED, "{e}");
        assert!(e.message().contains("composite types are not managed"), "{e}");
    }
}
