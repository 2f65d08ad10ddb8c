//! The embedded API: sessions over a database, as the server uses them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Barrier};
use std::thread;

use oxibase_sql::{Database, Output, SqlState, Value};

fn count(out: &Output) -> i64 {
    out.get(0, 0usize).unwrap()
}

#[test]
fn data_survives_reopening_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Database::open(dir.path()).unwrap();
        let mut s = db.session();
        s.execute(
            "create table t (id serial primary key, v text); insert into t (v) values ('a'), ('b')",
        )
        .unwrap();
        s.execute("create index t_v on t (v)").unwrap();
    }
    let db = Database::open(dir.path()).unwrap();
    let mut s = db.session();
    let out = s.execute("select id, v from t where v = 'b'").unwrap();
    assert_eq!(out.get::<i64>(0, "id").unwrap(), 2);
    // The sequence continues after the restart, never repeating a value.
    s.execute("insert into t (v) values ('c')").unwrap();
    let out = s.execute("select max(id) from t").unwrap();
    assert!(count(&out) >= 3);
}

/// On disk, point reads go through the row cache: snapshots read through it while writers
/// commit must still see every committed transfer or none of it.
#[test]
fn point_reads_through_the_row_cache_see_consistent_snapshots() {
    const ACCOUNTS: i64 = 20;
    let dir = tempfile::tempdir().unwrap();
    let options = oxibase_sql::DatabaseOptions { fsync: false, ..Default::default() };
    let db = Database::open_with(dir.path(), options).unwrap();
    let mut s = db.session();
    s.execute("create table acct (id int primary key, balance int not null)").unwrap();
    s.execute(&format!("insert into acct select g, 100 from generate_series(1, {ACCOUNTS}) g"))
        .unwrap();
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = (0..3i64)
        .map(|w| {
            let (db, done) = (db.clone(), done.clone());
            thread::spawn(move || {
                let mut s = db.session();
                for i in 0..300i64 {
                    let (from, to) = ((i * 7 + w) % ACCOUNTS + 1, (i * 3 + w * 5) % ACCOUNTS + 1);
                    let sql = format!(
                        "begin; update acct set balance = balance - 1 where id = {from}; \
                         update acct set balance = balance + 1 where id = {to}; commit"
                    );
                    if s.execute(&sql).is_err() {
                        let _ = s.execute("rollback"); // a deadlock broken: try the next one
                    }
                }
                done.store(true, std::sync::atomic::Ordering::Release);
            })
        })
        .collect();
    let mut reads = 0;
    while !done.load(std::sync::atomic::Ordering::Acquire) || reads < 20 {
        s.execute("begin isolation level repeatable read").unwrap();
        let mut total = 0;
        for id in 1..=ACCOUNTS {
            let sql = format!("select balance from acct where id = {id}");
            total += all_rows(&mut s, &sql)[0][0].parse::<i64>().unwrap();
        }
        s.execute("commit").unwrap();
        assert_eq!(total, 100 * ACCOUNTS, "a snapshot saw half a transfer");
        reads += 1;
    }
    writers.into_iter().for_each(|w| w.join().unwrap());
}

/// Hot rows updated by many sessions at once, on disk (through the row cache): no update may
/// be lost. A value read from the engine while a commit was being applied, then cached, once
/// made later writers start from a stale balance (found by pgbench at scale 1).
#[test]
fn concurrent_increments_of_hot_rows_through_the_row_cache_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let options = oxibase_sql::DatabaseOptions { fsync: false, ..Default::default() };
    let db = Database::open_with(dir.path(), options).unwrap();
    let mut s = db.session();
    s.execute("create table hot (id int primary key, v int not null)").unwrap();
    s.execute("insert into hot values (1, 0), (2, 0)").unwrap();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let db = db.clone();
            thread::spawn(move || {
                let mut s = db.session();
                for i in 0..1500 {
                    let id = 1 + i % 2;
                    s.execute(&format!("update hot set v = v + 1 where id = {id}")).unwrap();
                }
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    assert_eq!(all_rows(&mut s, "select v from hot order by id"), [["3000"], ["3000"]]);
}

#[test]
fn a_directory_is_opened_by_one_process_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let _db = Database::open(dir.path()).unwrap();
    let err = Database::open(dir.path()).err().expect("second open must fail");
    assert_eq!(err.code(), SqlState::OBJECT_IN_USE);
}

#[test]
fn parameters_prepared_statements_and_typed_getters() {
    let db = Database::open_in_memory().unwrap();
    let mut s = db.session();
    s.execute("create table p (id int primary key, name text, score float8, ok bool, raw bytea)")
        .unwrap();
    let insert = s.prepare("insert into p values ($1, $2, $3, $4, $5)", &[]).unwrap();
    assert_eq!(insert.param_types.len(), 5);
    for i in 0..10 {
        let params = [
            Value::Int4(i),
            Value::Text(format!("n{i}")),
            Value::Float8(f64::from(i) / 2.0),
            Value::Bool(i % 2 == 0),
            Value::Bytea(vec![i as u8]),
        ];
        s.execute_prepared(&insert, &params).unwrap();
    }
    let out =
        s.query("select name, score, ok, raw from p where id = $1", &[Value::Int4(7)]).unwrap();
    assert_eq!(out.get::<String>(0, "name").unwrap(), "n7");
    assert_eq!(out.get::<f64>(0, "score").unwrap(), 3.5);
    assert!(!out.get::<bool>(0, "ok").unwrap());
    assert_eq!(out.get::<Vec<u8>>(0, "raw").unwrap(), vec![7]);
    let out = s.query("select null::int as n", &[]).unwrap();
    assert_eq!(out.get::<Option<i64>>(0, "n").unwrap(), None);
    assert_eq!(out.get::<i64>(0, "n").unwrap_err().code(), SqlState::NULL_VALUE_NOT_ALLOWED);
    assert_eq!(out.get::<i64>(0, "missing").unwrap_err().code(), SqlState::UNDEFINED_COLUMN);
    let err = s.query("select * from p where id = $1", &[]).unwrap_err();
    assert_eq!(err.code(), SqlState::PROTOCOL_VIOLATION);
}

#[test]
fn read_committed_is_the_default_and_updates_do_not_lose_writes() {
    let db = Database::open_in_memory().unwrap();
    db.session()
        .execute("create table c (id int primary key, n int); insert into c values (1, 0)")
        .unwrap();
    let threads = 4;
    let per = 50;
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let db = db.clone();
            let barrier = barrier.clone();
            thread::spawn(move || {
                let mut s = db.session();
                barrier.wait();
                for _ in 0..per {
                    s.execute("update c set n = n + 1 where id = 1").unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let out = db.session().execute("select n from c").unwrap();
    assert_eq!(count(&out), (threads * per) as i64);
}

#[test]
fn repeatable_read_reports_conflicts_with_40001() {
    let db = Database::open_in_memory().unwrap();
    let mut a = db.session();
    let mut b = db.session();
    a.execute("create table r (id int primary key, n int); insert into r values (1, 0)").unwrap();
    a.execute("begin isolation level repeatable read").unwrap();
    assert_eq!(count(&a.execute("select n from r").unwrap()), 0);
    b.execute("update r set n = 5").unwrap();
    // The snapshot is stable...
    assert_eq!(count(&a.execute("select n from r").unwrap()), 0);
    // ...and writing over the concurrent change fails as PostgreSQL does.
    let err = a.execute("update r set n = n + 1").unwrap_err();
    assert_eq!(err.code(), SqlState::SERIALIZATION_FAILURE);
    a.execute("rollback").unwrap();
}

#[test]
fn schema_changes_reach_other_sessions_cached_plans() {
    let db = Database::open_in_memory().unwrap();
    let mut a = db.session();
    let mut b = db.session();
    a.execute("create table s (id int primary key, v text)").unwrap();
    let insert = b.prepare("insert into s (id, v) values ($1, $2)", &[]).unwrap();
    b.execute_prepared(&insert, &[Value::Int4(1), "x".into()]).unwrap();
    assert_eq!(count(&b.execute("select count(*) from s").unwrap()), 1);
    // A new unique index must be maintained by b's cached plan from now on.
    a.execute("create unique index s_v on s (v)").unwrap();
    let err = b.execute_prepared(&insert, &[Value::Int4(2), "x".into()]).unwrap_err();
    assert_eq!(err.code(), SqlState::UNIQUE_VIOLATION);
    a.execute("alter table s add column extra int default 7").unwrap();
    let out = b.execute("select extra from s").unwrap();
    assert_eq!(count(&out), 7);
    a.execute("drop table s").unwrap();
    assert_eq!(
        b.execute_prepared(&insert, &[Value::Int4(3), "y".into()]).unwrap_err().code(),
        SqlState::UNDEFINED_TABLE
    );
}

#[test]
fn statements_differing_in_integer_literals_share_a_plan_without_changing_answers() {
    let db = Database::open_in_memory().unwrap();
    let mut s = db.session();
    let lifted = || db.counters().lifted_statements.load(std::sync::atomic::Ordering::Relaxed);
    s.execute("create table l (id int primary key, small smallint, v int)").unwrap();
    for i in 1..=6 {
        s.execute(&format!("insert into l values ({i}, {i}, {})", i * 10)).unwrap();
    }
    // From the second insert on (checked then), the inserts ran one lifted plan.
    assert_eq!(lifted(), 5);
    let before = lifted();
    for i in 1..=6 {
        assert_eq!(
            all_rows(&mut s, &format!("select v + -{i} from l where id = {i}")),
            [[(i * 10 - i).to_string()]]
        );
    }
    assert_eq!(lifted() - before, 5);
    // ORDER BY 2 names a column, LIMIT is a value: never lifted, answers as written.
    let before = lifted();
    for n in 1..=4 {
        let rows = all_rows(&mut s, &format!("select id, v from l order by 2 desc limit {n}"));
        assert_eq!(rows.len(), n);
        assert_eq!(rows[0], ["6", "60"]);
    }
    // A literal compared with a smallint column stays a smallint literal (for its index).
    for i in 1..=4 {
        assert_eq!(
            all_rows(&mut s, &format!("select id from l where small = {i}")),
            [[i.to_string()]]
        );
    }
    assert_eq!(lifted(), before);
    // Errors stay the literal statement's errors.
    for _ in 0..3 {
        let err = s.execute("select v / 0 from l where id = 1").unwrap_err();
        assert_eq!(err.code(), SqlState::DIVISION_BY_ZERO);
    }
    // pg_stat_activity shows the text as sent, not the lifted key.
    let before = lifted();
    for _ in 0..3 {
        let rows = all_rows(
            &mut s,
            "select query from pg_stat_activity where pid = pg_backend_pid() and 7 = 7",
        );
        assert_eq!(
            rows[0][0],
            "select query from pg_stat_activity where pid = pg_backend_pid() and 7 = 7"
        );
    }
    assert_eq!(lifted() - before, 2);
    // A changed column type is bound again (the key is checked again in the new generation).
    s.execute("alter table l alter column v type bigint").unwrap();
    for i in 1..=3 {
        let out = s.execute(&format!("select v from l where id = {i}")).unwrap();
        assert_eq!(out.get::<i64>(0, 0).unwrap(), i * 10);
    }
}

#[test]
fn foreign_keys_added_later_are_followed_by_sessions_that_cached_none() {
    let db = Database::open_in_memory().unwrap();
    let mut a = db.session();
    let mut b = db.session();
    a.execute("create table p (id int primary key, k int unique); insert into p values (1, 10), (2, 20), (3, 30)")
        .unwrap();
    // b updates and deletes parents while nothing references them (and caches that).
    b.execute("update p set k = k + 1 where id = 1").unwrap();
    b.execute("delete from p where id = 3").unwrap();
    // Another session adds referencing keys: b's next update and delete must follow them.
    a.execute(
        "create table c (id int primary key, pid int references p (id) on delete cascade, \
         pk int references p (k) on update cascade); insert into c values (1, 1, 11), (2, 2, 20)",
    )
    .unwrap();
    b.execute("update p set k = 21 where id = 2").unwrap();
    assert_eq!(count(&b.execute("select pk from c where id = 2").unwrap()), 21);
    b.execute("delete from p where id = 1").unwrap();
    assert_eq!(count(&b.execute("select count(*) from c").unwrap()), 1);
    // Within one session: a key created in a transaction that rolls back stops applying.
    b.execute(
        "begin; create table d (id int primary key, pid int references p (id) on delete restrict)",
    )
    .unwrap();
    b.execute("insert into d values (1, 2)").unwrap();
    let err = b.execute("delete from p where id = 2").unwrap_err();
    assert_eq!(err.code(), SqlState::FOREIGN_KEY_VIOLATION);
    b.execute("rollback").unwrap();
    b.execute("delete from p where id = 2").unwrap();
    assert_eq!(count(&b.execute("select count(*) from p").unwrap()), 0);
    assert_eq!(count(&b.execute("select count(*) from c").unwrap()), 0);
}

/// Runs `ddl` in another session while `writer` holds an open transaction that ran `write`:
/// checks the DDL waits for it, commits the writer, and returns the DDL's outcome.
fn ddl_after_waiting_for(
    db: &Database,
    writer: &mut oxibase_sql::Session,
    write: &str,
    ddl: &'static str,
) -> oxibase_sql::Result<()> {
    writer.execute("begin").unwrap();
    writer.execute(write).unwrap();
    let db = db.clone();
    let handle = thread::spawn(move || db.session().execute(ddl).map(|_| ()));
    thread::sleep(std::time::Duration::from_millis(200));
    assert!(!handle.is_finished(), "{ddl} must wait for the open writer");
    writer.execute("commit").unwrap();
    handle.join().unwrap()
}

#[test]
fn ddl_waits_for_writers_and_sees_their_rows() {
    let db = Database::open_in_memory().unwrap();
    let mut a = db.session();
    a.execute("create table w (id int primary key, v int)").unwrap();
    let create = "create unique index w_v on w (v)";
    let result = ddl_after_waiting_for(&db, &mut a, "insert into w values (1, 1), (2, 1)", create);
    // The index build sees the committed duplicate values and refuses.
    assert_eq!(result.unwrap_err().code(), SqlState::UNIQUE_VIOLATION);
}

#[test]
fn a_table_rewrite_that_waited_for_a_writer_keeps_each_of_its_rows_once() {
    let db = Database::open_in_memory().unwrap();
    let mut a = db.session();
    a.execute("create table rw (id int, v int)").unwrap();
    a.execute("insert into rw values (1, 1), (2, 2)").unwrap();
    let rewrite = "alter table rw add primary key (id)";
    ddl_after_waiting_for(&db, &mut a, "insert into rw values (3, 3)", rewrite).unwrap();
    let rows = all_rows(&mut a, "select id, v from rw order by id");
    assert_eq!(rows, [["1", "1"], ["2", "2"], ["3", "3"]]);
    // Likewise TRUNCATE removes the rows of the writer it waited for.
    ddl_after_waiting_for(&db, &mut a, "insert into rw values (4, 4)", "truncate rw").unwrap();
    assert_eq!(count(&a.execute("select count(*) from rw").unwrap()), 0);
    a.execute("insert into rw values (1, 1)").unwrap();
    assert_eq!(count(&a.execute("select count(*) from rw").unwrap()), 1);
}

/// The storage id a table's rows (or an index's entries) lie under.
fn storage_of(s: &mut oxibase_sql::Session, name: &str) -> u32 {
    let sql = format!("select storage from sys_tables where name = '{name}'");
    all_rows(s, &sql)[0][0].parse().unwrap()
}

/// Engine keys (every version) under a storage id, as a new snapshot reads them.
fn keys_under(db: &Database, storage: u32) -> usize {
    let txn = db.store().begin_default().unwrap();
    txn.scan_prefix(&oxibase_sql::keys::relation_prefix(storage)).unwrap().count()
}

#[test]
fn truncate_rewrite_and_drop_leave_old_rows_to_old_snapshots_then_reclaim_them_whole() {
    let db = Database::open_in_memory().unwrap();
    let mut a = db.session();
    a.execute("create table big (id int, v text)").unwrap();
    a.execute("create index big_v on big (v)").unwrap();
    a.execute("insert into big select g, 'v' || g from generate_series(1, 3000) g").unwrap();
    let (table, index) = (storage_of(&mut a, "big"), storage_of(&mut a, "big_v"));
    assert_eq!((keys_under(&db, table), keys_under(&db, index)), (3000, 3000));

    // Rolled back, to a savepoint or whole: the rows stay where they were.
    a.execute("begin; savepoint s; truncate big; rollback to s").unwrap();
    assert_eq!(count(&a.execute("select count(*) from big").unwrap()), 3000);
    a.execute("truncate big; rollback").unwrap();
    assert_eq!(count(&a.execute("select count(*) from big").unwrap()), 3000);
    assert_eq!(storage_of(&mut a, "big"), table);

    // An older snapshot still reads the rows after TRUNCATE commits.
    let mut old = db.session();
    old.execute("begin isolation level repeatable read").unwrap();
    assert_eq!(count(&old.execute("select count(*) from big").unwrap()), 3000);
    a.execute("truncate big").unwrap();
    a.execute("insert into big values (1, 'one'), (2, 'two')").unwrap();
    assert_eq!(all_rows(&mut a, "select id from big where v = 'two'"), [["2"]]);
    db.store().gc().unwrap();
    assert_eq!(count(&old.execute("select count(*) from big").unwrap()), 3000);
    assert_eq!(all_rows(&mut old, "select id from big where v = 'v2999'"), [["2999"]]);
    assert_eq!(keys_under(&db, table), 3000, "kept while a snapshot can read it");
    old.execute("commit").unwrap();
    db.store().gc().unwrap();
    assert_eq!((keys_under(&db, table), keys_under(&db, index)), (0, 0), "reclaimed whole");
    let truncated = storage_of(&mut a, "big");
    assert_ne!(truncated, table);

    // A rewrite (a new primary key) fills new storage from the rows in the old.
    a.execute("insert into big select g, 'v' || g from generate_series(3, 1000) g").unwrap();
    a.execute("alter table big add primary key (id)").unwrap();
    let rewritten = storage_of(&mut a, "big");
    assert_ne!(rewritten, truncated);
    db.store().gc().unwrap();
    assert_eq!(keys_under(&db, truncated), 0);
    assert_eq!(keys_under(&db, rewritten), 1000);
    assert_eq!(count(&a.execute("select count(*) from big").unwrap()), 1000);
    assert_eq!(all_rows(&mut a, "select v from big where id = 500"), [["v500"]]);
    assert_eq!(all_rows(&mut a, "select id from big where v = 'one'"), [["1"]]);

    // DROP TABLE takes the table's storage and its indexes'.
    let index = storage_of(&mut a, "big_v");
    let reclaimed = db.store().status().unwrap().gc_ranges_reclaimed;
    a.execute("drop table big").unwrap();
    db.store().gc().unwrap();
    assert_eq!((keys_under(&db, rewritten), keys_under(&db, index)), (0, 0));
    // The table, its index and the primary key's index... ranges, each reclaimed once.
    assert!(db.store().status().unwrap().gc_ranges_reclaimed >= reclaimed + 2);
}

#[test]
fn a_rewrite_streams_the_rows_its_transaction_sees_and_refuses_a_duplicate_key() {
    let db = Database::open_in_memory().unwrap();
    let mut a = db.session();
    a.execute("create table t (id int, v text)").unwrap();
    a.execute("create index t_v on t (v)").unwrap();
    a.execute("insert into t select g, 'v' || g from generate_series(1, 3000) g").unwrap();
    // Earlier statements of the same transaction: the rewrite moves what they left.
    a.execute("begin").unwrap();
    a.execute("insert into t values (3001, 'mine')").unwrap();
    a.execute("update t set v = 'changed' where id = 7").unwrap();
    a.execute("delete from t where id = 8").unwrap();
    a.execute("alter table t add primary key (id)").unwrap();
    assert_eq!(count(&a.execute("select count(*) from t").unwrap()), 3000);
    a.execute("commit").unwrap();
    assert_eq!(
        all_rows(&mut a, "select v from t where id in (7, 3001) order by id"),
        [["changed"], ["mine"]]
    );
    assert_eq!(all_rows(&mut a, "select id from t where v = 'changed'"), [["7"]]);
    assert!(all_rows(&mut a, "select id from t where id = 8").is_empty());
    // A duplicate late in the scan fails the statement and leaves the table as it was.
    a.execute("create table d (id int, v int)").unwrap();
    a.execute("insert into d select g, g from generate_series(1, 3000) g").unwrap();
    a.execute("insert into d values (2999, 0)").unwrap();
    let err = a.execute("alter table d add primary key (id)").unwrap_err();
    assert_eq!(err.code(), SqlState::UNIQUE_VIOLATION, "{err}");
    assert!(err.to_string().contains("(id)=(2999) is duplicated"), "{err}");
    assert_eq!(count(&a.execute("select count(*) from d").unwrap()), 3001);
}

#[test]
fn a_cascade_into_a_table_being_rewritten_is_not_lost() {
    let db = Database::open_in_memory().unwrap();
    let mut a = db.session();
    a.execute("create table parent (id int primary key)").unwrap();
    a.execute(
        "create table child (id int, parent_id int references parent (id) on delete cascade)",
    )
    .unwrap();
    a.execute("insert into parent values (1), (2)").unwrap();
    a.execute("insert into child values (10, 1), (20, 2)").unwrap();
    // The delete cascades into `child` in an open transaction: the rewrite of `child` waits
    // for it, then rewrites what it left.
    let rewrite = "alter table child add primary key (id)";
    ddl_after_waiting_for(&db, &mut a, "delete from parent where id = 1", rewrite).unwrap();
    assert_eq!(all_rows(&mut a, "select id, parent_id from child"), [["20", "2"]]);
}

/// A database keeping overwritten versions for a minute (the default keeps none past GC), so
/// `FOR SYSTEM_TIME AS OF` can read them.
fn database_keeping_history(dir: &std::path::Path) -> Database {
    let options = oxibase_sql::DatabaseOptions {
        version_retention: std::time::Duration::from_secs(60),
        fsync: false,
        ..Default::default()
    };
    Database::open_with(dir, options).unwrap()
}

/// The session's current time as text, after which a short pause, so later commits are
/// strictly later.
fn time_now(s: &mut oxibase_sql::Session) -> String {
    let at = s.execute("select now()::text").unwrap().get::<String>(0, 0usize).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    at
}

#[test]
fn time_travel_reads_a_table_as_stored_before_truncate() {
    let dir = tempfile::tempdir().unwrap();
    let db = database_keeping_history(dir.path());
    let mut s = db.session();
    s.execute("create table hist (id int primary key, v int)").unwrap();
    s.execute("insert into hist values (1, 10), (2, 20)").unwrap();
    let at = time_now(&mut s);
    s.execute("truncate hist").unwrap();
    s.execute("insert into hist values (3, 30)").unwrap();
    db.store().gc().unwrap();
    let then = format!("select id from hist for system_time as of '{at}' order by id");
    assert_eq!(all_rows(&mut s, &then), [["1"], ["2"]]);
    let point = format!("select v from hist for system_time as of '{at}' where id = 2");
    assert_eq!(all_rows(&mut s, &point), [["20"]]);
    assert_eq!(all_rows(&mut s, "select id from hist"), [["3"]]);
    // A rewrite that changed a column's type: the old rows cannot be shown in today's shape.
    s.execute("alter table hist alter column v type bigint").unwrap();
    let err = s.execute(&then).unwrap_err();
    assert_eq!(err.code(), SqlState::FEATURE_NOT_SUPPORTED, "{err}");
}

#[test]
fn explicit_transactions_savepoints_and_failed_blocks() {
    let db = Database::open_in_memory().unwrap();
    let mut s = db.session();
    s.execute("create table x (id int primary key)").unwrap();
    s.execute("begin").unwrap();
    s.execute("insert into x values (1)").unwrap();
    s.execute("savepoint one").unwrap();
    assert!(s.execute("insert into x values (1)").is_err());
    assert_eq!(s.execute("select 1").unwrap_err().code(), SqlState::IN_FAILED_SQL_TRANSACTION);
    s.execute("rollback to one").unwrap();
    s.execute("insert into x values (2)").unwrap();
    s.execute("commit").unwrap();
    assert_eq!(count(&s.execute("select count(*) from x").unwrap()), 2);
    // Several statements in one call are one transaction.
    assert!(s.execute("insert into x values (3); insert into x values (1)").is_err());
    assert_eq!(count(&s.execute("select count(*) from x").unwrap()), 2);
}

#[test]
fn temporary_tables_belong_to_their_session_and_end_with_it() {
    let db = Database::open_in_memory().unwrap();
    let temp_schemas = |db: &Database| {
        let out = db
            .session()
            .execute("select count(*) from pg_namespace where nspname like 'pg\\_temp\\_%'")
            .unwrap();
        count(&out)
    };
    let mut a = db.session();
    let mut b = db.session();
    a.execute("create table t (v text); insert into t values ('shared')").unwrap();
    a.execute("create temp table t (v text); insert into t values ('a only')").unwrap();
    // The temporary table hides the permanent one in its own session only.
    let out = a.execute("select v from t").unwrap();
    assert_eq!(out.get::<String>(0, "v").unwrap(), "a only");
    let out = b.execute("select v from t").unwrap();
    assert_eq!(out.get::<String>(0, "v").unwrap(), "shared");
    b.execute("create temporary table t (n int); insert into t values (1), (2)").unwrap();
    assert_eq!(count(&b.execute("select count(*) from t").unwrap()), 2);
    assert_eq!(temp_schemas(&db), 2);
    let err = a.execute("create temp table x.y (v int)").unwrap_err();
    assert_eq!(err.code(), SqlState::INVALID_TABLE_DEFINITION);
    drop(a);
    assert_eq!(temp_schemas(&db), 1, "a's temporary schema went with it");
    assert_eq!(count(&b.execute("select count(*) from t").unwrap()), 2);
    drop(b);
    assert_eq!(temp_schemas(&db), 0);
    let out = db.session().execute("select v from t").unwrap();
    assert_eq!(out.get::<String>(0, "v").unwrap(), "shared");
}

#[test]
fn temporary_schemas_left_by_a_stopped_process_are_dropped_on_open() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Database::open(dir.path()).unwrap();
        // What a process that died with a temporary table left behind.
        db.session()
            .execute("create schema pg_temp_77; create table pg_temp_77.t (v int)")
            .unwrap();
    }
    let db = Database::open(dir.path()).unwrap();
    let out = db
        .session()
        .execute("select count(*) from pg_namespace where nspname = 'pg_temp_77'")
        .unwrap();
    assert_eq!(count(&out), 0);
}

/// The QUERY PLAN lines of an EXPLAIN.
fn plan_lines(out: &Output) -> Vec<String> {
    (0..out.rows().len()).map(|i| out.get::<String>(i, 0usize).unwrap()).collect()
}

#[test]
fn explain_analyze_reports_each_node_s_actual_rows_and_loops() {
    let db = Database::open_in_memory().unwrap();
    let mut s = db.session();
    s.execute(
        "create table a (id int primary key, v int); \
         insert into a select x, x % 10 from generate_series(1, 1000) x; \
         create table b (id int primary key, a_id int); \
         insert into b select x, x % 100 from generate_series(1, 500) x",
    )
    .unwrap();
    let out = s
        .execute(
            "explain analyze select a.v, count(*) from a join b on a.id = b.a_id \
             where a.v > 2 group by a.v",
        )
        .unwrap();
    let lines = plan_lines(&out);
    let line = |prefix: &str| {
        lines.iter().find(|l| l.trim_start().trim_start_matches("->").trim().starts_with(prefix))
    };
    let join = line("Hash Join").unwrap();
    assert!(join.contains("rows=350 loops=1"), "{join}");
    let scan_a = line("Seq Scan on a").unwrap();
    assert!(scan_a.contains("rows=700 loops=1"), "{scan_a}");
    assert!(line("Seq Scan on b").unwrap().contains("rows=500 loops=1"));
    assert!(line("HashAggregate").unwrap().contains("rows=7 loops=1"));
    assert!(lines.iter().any(|l| l.starts_with("Execution Time:")));
    // A plain EXPLAIN runs nothing and shows no figures.
    let out = s.execute("explain select * from a where v > 2").unwrap();
    assert!(plan_lines(&out).iter().all(|l| !l.contains("actual")));
    // EXPLAIN ANALYZE of a write performs it, as in PostgreSQL.
    let out = s.execute("explain analyze delete from a where id <= 3").unwrap();
    let lines = plan_lines(&out);
    assert!(lines[0].starts_with("Delete on a"), "{lines:?}");
    assert!(lines[1].contains("rows=3 loops=1"), "{lines:?}");
    assert_eq!(count(&s.execute("select count(*) from a").unwrap()), 997);
}

#[test]
fn statement_timeout_ends_a_row_lock_wait() {
    let db = Database::open_in_memory().unwrap();
    let mut a = db.session();
    let mut b = db.session();
    a.execute("create table t (id int primary key, n int); insert into t values (1, 0)").unwrap();
    a.execute("begin; update t set n = 1 where id = 1").unwrap();
    b.execute("set statement_timeout = '300ms'").unwrap();
    let start = std::time::Instant::now();
    let err = b.execute("update t set n = 2 where id = 1").unwrap_err();
    assert_eq!(err.code(), SqlState::QUERY_CANCELED, "{err}");
    assert!(start.elapsed() < std::time::Duration::from_secs(5));
    // The wait left the queue: once a commits, b's next statement goes through.
    a.execute("commit").unwrap();
    b.execute("update t set n = n + 10 where id = 1").unwrap();
    assert_eq!(count(&b.execute("select n from t").unwrap()), 11);
}

/// All rows of a query as text, for comparing answers.
fn all_rows(s: &mut oxibase_sql::Session, sql: &str) -> Vec<Vec<String>> {
    let out = s.execute(sql).unwrap();
    (0..out.rows().len())
        .map(|i| {
            (0..out.columns().len())
                .map(|j| out.get::<Option<String>>(i, j).unwrap().unwrap_or_else(|| "NULL".into()))
                .collect()
        })
        .collect()
}

#[test]
fn analyze_statistics_choose_index_lookups_and_the_hash_build_side() {
    let db = Database::open_in_memory().unwrap();
    let mut s = db.session();
    s.execute(
        "create table big (id int primary key, v int, w int); \
         insert into big select x, x % 7, x % 100 from generate_series(1, 20000) x; \
         create table small (id int primary key, big_id int, w int); \
         insert into small select x, x * 37, x from generate_series(1, 40) x; \
         insert into small values (41, null, 1), (42, 99999, 2)",
    )
    .unwrap();
    let queries = [
        "select s.id, b.id, b.v from small s join big b on b.id = s.big_id order by s.id",
        "select s.id, b.v from small s left join big b on b.id = s.big_id order by s.id",
        // No index on big.w: a hash join, built on the smaller side once analyzed.
        "select b.id, s.id from big b join small s on b.w = s.w where b.id < 300 order by 1, 2",
        "select s.id, b.id from small s join big b on b.w = s.w order by 1, 2 limit 50",
    ];
    let before: Vec<_> = queries.iter().map(|q| all_rows(&mut s, q)).collect();
    s.execute("analyze").unwrap();
    let stats = all_rows(&mut s, "select rows, distinct from sys_statistics order by table_id");
    assert_eq!(stats[0], vec!["20000".to_string(), "{20000,7,100}".to_string()]);
    assert_eq!(stats[1][0], "42");
    let plan = plan_lines(&s.execute(&format!("explain {}", queries[0])).unwrap()).join("\n");
    assert!(plan.contains("Nested Loop") && plan.contains("Index Scan using big_pkey"), "{plan}");
    let plan = plan_lines(&s.execute(&format!("explain {}", queries[1])).unwrap()).join("\n");
    assert!(plan.contains("Nested Loop"), "{plan}");
    // The answers do not change with the plans.
    for (q, expected) in queries.iter().zip(&before) {
        assert_eq!(&all_rows(&mut s, q), expected, "{q}");
    }
    // The left join keeps the rows without a match (a NULL key, a missing id).
    let left = all_rows(&mut s, queries[1]);
    assert_eq!(left.len(), 42);
    assert_eq!(left[40], vec!["41".to_string(), "NULL".to_string()]);
    assert_eq!(left[41], vec!["42".to_string(), "NULL".to_string()]);
    // ANALYZE of one table, and of a table that is gone.
    s.execute("analyze small").unwrap();
    assert_eq!(s.execute("analyze nosuch").unwrap_err().code(), SqlState::UNDEFINED_TABLE);
    s.execute("drop table small").unwrap();
    assert_eq!(all_rows(&mut s, "select count(*) from sys_statistics")[0][0], "1");
}

#[test]
fn inner_joins_are_reordered_by_estimates_without_changing_answers() {
    let db = Database::open_in_memory().unwrap();
    let mut s = db.session();
    s.execute(
        "create table f (id int primary key, d1 int, d2 int, amt int); \
         insert into f select x, x % 300, x % 20, x from generate_series(1, 6000) x; \
         create table d1 (id int primary key, name text); \
         insert into d1 select x, 'd' || x from generate_series(0, 299) x; \
         create table d2 (id int primary key, region text); \
         insert into d2 select x, case when x < 3 then 'eu' else 'us' end from generate_series(0, 19) x; \
         create table lonely (n int); insert into lonely values (1), (2)",
    )
    .unwrap();
    let queries = [
        // Written with the big table first.
        "select count(*), sum(f.amt) from f join d1 on d1.id = f.d1 join d2 on d2.id = f.d2 \
         where d2.region = 'us' and d1.name like 'd7%'",
        // Comma joins, conditions in WHERE, every column in the written order.
        "select * from d2, d1, f where f.d1 = d1.id and f.d2 = d2.id and d1.id = 3 order by f.id",
        // A condition over three inputs, and an input joined to nothing (a cross product).
        "select count(*) from f, d1, d2, lonely where f.d1 = d1.id and f.d2 = d2.id \
         and f.amt + d1.id > d2.id * 100 + lonely.n",
    ];
    let before: Vec<_> = queries.iter().map(|q| all_rows(&mut s, q)).collect();
    s.execute("analyze").unwrap();
    for (q, expected) in queries.iter().zip(&before) {
        assert_eq!(&all_rows(&mut s, q), expected, "{q}");
    }
    // d1 ids 7 and 70-79, each on 20 fact rows, all in 'us' regions (ids 7 and 10-19).
    assert_eq!(before[0][0][0], "220");
    // The most selective dimension (d2: ten rows estimated) joins the fact table first; the
    // written order joined f to d1 first. The inner join's row is (d2, f).
    let plan = plan_lines(&s.execute(&format!("explain {}", queries[0])).unwrap());
    assert!(plan.iter().any(|l| l.trim() == "Output: id, region, id, d1, d2, amt"), "{plan:#?}");
}

#[test]
fn index_only_scans_answer_from_the_index_as_the_table_would() {
    let db = Database::open_in_memory().unwrap();
    let mut s = db.session();
    s.execute(
        "create table t (id int primary key, k int, name text, day date, price numeric(10,2)); \
         insert into t select x, x % 50, case when x % 7 = 0 then null else 'n' || x end, \
           date '2024-01-01' + x % 30, x * 1.50 from generate_series(1, 2000) x; \
         create index t_k_name on t (k, name desc nulls last); \
         create unique index t_day_id on t (day, id)",
    )
    .unwrap();
    let covered = [
        "select name from t where k = 7 order by name desc nulls last",
        "select k, count(*), count(name), min(name) from t where k between 3 and 5 group by k order by k",
        "select day, id from t where day = date '2024-01-09' order by id",
        "select count(*) from t where k < 10",
    ];
    let expected: Vec<_> = covered
        .iter()
        // The same query reading a column no index covers (numeric) goes through the rows.
        .map(|q| all_rows(&mut s, &q.replace(" where ", " where price > -1 and ")))
        .collect();
    for (q, want) in covered.iter().zip(&expected) {
        let plan = plan_lines(&s.execute(&format!("explain {q}")).unwrap()).join("\n");
        assert!(plan.contains("Index Only Scan"), "{q}: {plan}");
        assert_eq!(&all_rows(&mut s, q), want, "{q}");
    }
    // A numeric column is read from the row (its key form loses the written scale).
    let plan =
        plan_lines(&s.execute("explain select price from t where k = 7").unwrap()).join("\n");
    assert!(!plan.contains("Index Only"), "{plan}");
    // The transaction's own changes show through the index, as through the table.
    s.execute("begin; update t set k = 999 where id = 7; delete from t where id = 57").unwrap();
    assert_eq!(
        all_rows(&mut s, "select name from t where k = 999"),
        vec![vec!["NULL".to_string()]]
    );
    let out = all_rows(&mut s, "select count(*) from t where k = 7");
    assert_eq!(out[0][0], "38");
    s.execute("rollback").unwrap();
    assert_eq!(all_rows(&mut s, "select count(*) from t where k = 7")[0][0], "40");
}

#[test]
fn relation_sizes_grow_with_their_rows_and_name_relations_like_regclass() {
    let db = Database::open_in_memory().unwrap();
    let mut s = db.session();
    s.execute("create table t (id int primary key, v text); create index t_v on t (v)").unwrap();
    let size = |s: &mut oxibase_sql::Session, sql: &str| -> i64 {
        s.execute(sql).unwrap().get::<i64>(0, 0usize).unwrap()
    };
    assert_eq!(size(&mut s, "select pg_relation_size('t')"), 0);
    s.execute("insert into t select x, repeat('v', 100) || x from generate_series(1, 500) x")
        .unwrap();
    let table = size(&mut s, "select pg_relation_size('t')");
    let indexes = size(&mut s, "select pg_indexes_size('public.t')");
    assert!(table > 500 * 100, "{table}");
    assert!(indexes > 500 * 100, "{indexes}");
    assert_eq!(size(&mut s, "select pg_total_relation_size('t')"), table + indexes);
    assert_eq!(size(&mut s, "select pg_relation_size('t_v')"), indexes);
    assert_eq!(size(&mut s, "select pg_relation_size('t'::regclass)"), table);
    s.execute("delete from t where id > 250").unwrap();
    assert!(size(&mut s, "select pg_relation_size('t')") < table);
    let err = s.execute("select pg_relation_size('nosuch')").unwrap_err();
    assert_eq!(err.code(), SqlState::UNDEFINED_TABLE);
}

#[test]
fn advisory_locks_between_sessions() {
    let db = Database::open_in_memory().unwrap();
    let mut a = db.session();
    let mut b = db.session();
    let yes = |s: &mut oxibase_sql::Session, sql: &str| -> bool {
        s.execute(sql).unwrap().get::<bool>(0, 0usize).unwrap()
    };
    a.execute("select pg_advisory_lock(42)").unwrap();
    assert!(!yes(&mut b, "select pg_try_advisory_lock(42)"));
    assert!(yes(&mut b, "select pg_try_advisory_lock(43)"));
    assert!(yes(&mut b, "select pg_try_advisory_lock(0, 42)"), "the two-key space is apart");
    // Waiting ends at lock_timeout with 55P03.
    b.execute("set lock_timeout = '200ms'").unwrap();
    let err = b.execute("select pg_advisory_lock(42)").unwrap_err();
    assert_eq!(err.code(), SqlState::LOCK_NOT_AVAILABLE);
    // Session locks outlive transactions; a session may take its own lock again.
    a.execute("begin; select pg_advisory_lock(42); commit").unwrap();
    assert!(yes(&mut a, "select pg_advisory_unlock(42)"));
    assert!(!yes(&mut b, "select pg_try_advisory_lock(42)"), "still held once");
    assert!(yes(&mut a, "select pg_advisory_unlock(42)"));
    assert!(!yes(&mut a, "select pg_advisory_unlock(42)"), "nothing left: false");
    assert!(yes(&mut b, "select pg_try_advisory_lock(42)"));
    // Transaction-level locks end with the transaction.
    a.execute("begin").unwrap();
    assert!(yes(&mut a, "select pg_try_advisory_xact_lock(7)"));
    assert!(!yes(&mut b, "select pg_try_advisory_lock(7)"));
    a.execute("rollback").unwrap();
    assert!(yes(&mut b, "select pg_try_advisory_lock(7)"));
    // Shared locks share; an exclusive one waits for them.
    assert!(yes(&mut a, "select pg_try_advisory_lock_shared(9)"));
    assert!(yes(&mut b, "select pg_try_advisory_lock_shared(9)"));
    let mut c = db.session();
    assert!(!yes(&mut c, "select pg_try_advisory_lock(9)"));
    // A session's locks go with it.
    drop(a);
    drop(b);
    assert!(yes(&mut c, "select pg_try_advisory_lock(9)"));
    assert!(yes(&mut c, "select pg_try_advisory_lock(42)"));
    c.execute("select pg_advisory_unlock_all()").unwrap();
    assert!(yes(&mut db.session(), "select pg_try_advisory_lock(42)"));
}

#[test]
fn discard_resets_what_it_names() {
    let db = Database::open_in_memory().unwrap();
    let mut s = db.session();
    let mut other = db.session();
    s.execute("create temp table t (x int); insert into t values (1)").unwrap();
    s.execute("set statement_timeout = '5s'; select pg_advisory_lock(5)").unwrap();
    s.execute("create sequence q; select nextval('q')").unwrap();
    s.execute("discard sequences").unwrap();
    assert_eq!(
        s.execute("select currval('q')").unwrap_err().code(),
        SqlState::OBJECT_NOT_IN_PREREQUISITE_STATE
    );
    s.execute("discard temp").unwrap();
    assert_eq!(s.execute("select * from t").unwrap_err().code(), SqlState::UNDEFINED_TABLE);
    s.execute("create temp table t (x int)").unwrap();
    let locked = |o: &mut oxibase_sql::Session| -> bool {
        !o.execute("select pg_try_advisory_lock(5)").unwrap().get::<bool>(0, 0usize).unwrap()
    };
    assert!(locked(&mut other));
    s.execute("begin").unwrap();
    assert_eq!(s.execute("discard all").unwrap_err().code(), SqlState::ACTIVE_SQL_TRANSACTION);
    s.execute("rollback").unwrap();
    s.execute("discard all").unwrap();
    assert!(!locked(&mut other), "DISCARD ALL released the advisory lock");
    assert_eq!(s.execute("select * from t").unwrap_err().code(), SqlState::UNDEFINED_TABLE);
    let out = s.execute("show statement_timeout").unwrap();
    assert_eq!(out.get::<String>(0, 0usize).unwrap(), "0");
}

#[test]
fn session_characteristics_set_the_default_transaction_modes() {
    let db = Database::open_in_memory().unwrap();
    let mut s = db.session();
    s.execute("create table t (x int)").unwrap();
    s.execute("set session characteristics as transaction isolation level serializable, read only")
        .unwrap();
    let out = s.execute("show default_transaction_isolation").unwrap();
    assert_eq!(out.get::<String>(0, 0usize).unwrap(), "serializable");
    s.execute("begin").unwrap();
    let out = s.execute("show transaction_isolation").unwrap();
    assert_eq!(out.get::<String>(0, 0usize).unwrap(), "serializable");
    let err = s.execute("insert into t values (1)").unwrap_err();
    assert_eq!(err.code(), SqlState::READ_ONLY_SQL_TRANSACTION);
    s.execute("rollback").unwrap();
    s.execute("set session characteristics as transaction read write").unwrap();
    s.execute("insert into t values (1)").unwrap();
}

#[test]
fn views_follow_a_renamed_column_and_keep_their_output_names() {
    let db = Database::open_in_memory().unwrap();
    let mut s = db.session();
    s.execute(
        "create table t (id int primary key, v text); insert into t values (1, 'a'), (2, 'b'); \
         create table u (id int, t_id int); insert into u values (10, 2); \
         create view tv as select id, upper(v) as big from t where id > 0 order by id; \
         create view tu as select u.id, t.v from u join t on t.id = u.t_id",
    )
    .unwrap();
    s.execute("alter table t rename column id to ident").unwrap();
    let out = s.execute("select * from tv").unwrap();
    assert_eq!(out.columns()[0].name, "id", "the view's column keeps its name");
    assert_eq!(
        all_rows(&mut s, "select id, big from tv"),
        vec![vec!["1".to_string(), "A".to_string()], vec!["2".to_string(), "B".to_string()],]
    );
    // Over two tables only references qualified with the renamed table's name change.
    assert_eq!(all_rows(&mut s, "select * from tu"), vec![vec!["10".to_string(), "b".to_string()]]);
}

#[test]
fn lock_table_keeps_writers_out_until_the_transaction_ends() {
    let db = Database::open_in_memory().unwrap();
    let mut a = db.session();
    let mut b = db.session();
    a.execute("create table t (x int)").unwrap();
    let err = a.execute("lock table t").unwrap_err();
    assert_eq!(err.code(), SqlState::NO_ACTIVE_SQL_TRANSACTION);
    a.execute("begin; lock table t in access exclusive mode").unwrap();
    b.execute("set lock_timeout = '200ms'").unwrap();
    let err = b.execute("insert into t values (1)").unwrap_err();
    assert_eq!(err.code(), SqlState::LOCK_NOT_AVAILABLE);
    b.execute("begin").unwrap();
    let err = b.execute("lock table t in share mode nowait").unwrap_err();
    assert_eq!(err.code(), SqlState::LOCK_NOT_AVAILABLE);
    b.execute("rollback").unwrap();
    a.execute("commit").unwrap();
    b.execute("insert into t values (1)").unwrap();
    // The weak modes only keep schema changes out: writers go on.
    a.execute("begin; lock table t in row exclusive mode").unwrap();
    b.execute("insert into t values (2)").unwrap();
    let err = b.execute("alter table t add column y int").unwrap_err();
    assert_eq!(err.code(), SqlState::LOCK_NOT_AVAILABLE);
    a.execute("commit").unwrap();
    assert_eq!(count(&b.execute("select count(*) from t").unwrap()), 2);
}

#[test]
fn regtype_names_become_type_oids() {
    let db = Database::open_in_memory().unwrap();
    let mut s = db.session();
    let out = s.execute("select typname from pg_type where oid = 'int8'::regtype").unwrap();
    assert_eq!(out.get::<String>(0, 0usize).unwrap(), "int8");
    let out = s.execute("select 'character varying'::regtype = 1043, 'text[]'::regtype").unwrap();
    assert!(out.get::<bool>(0, 0usize).unwrap());
    assert_eq!(out.get::<i64>(0, 1usize).unwrap(), 1009);
    let err = s.execute("select 'nosuch'::regtype").unwrap_err();
    assert_eq!(err.code(), SqlState::UNDEFINED_OBJECT);
}

#[test]
fn time_travel_on_table_references() {
    let dir = tempfile::tempdir().unwrap();
    let db = database_keeping_history(dir.path());
    let mut s = db.session();
    s.execute("create table acct (id int primary key, balance int)").unwrap();
    s.execute("insert into acct values (1, 100)").unwrap();
    let at = time_now(&mut s);
    s.execute("update acct set balance = 50 where id = 1; insert into acct values (2, 7)").unwrap();
    let now = all_rows(&mut s, "select id, balance from acct order by id");
    assert_eq!(
        now,
        vec![vec!["1".to_string(), "50".to_string()], vec!["2".to_string(), "7".to_string()]]
    );
    // The table as it was before the update and insert.
    let then = all_rows(
        &mut s,
        &format!("select id, balance from acct for system_time as of '{at}' order by id"),
    );
    assert_eq!(then, vec![vec!["1".to_string(), "100".to_string()]]);
    // A join of the past with the present.
    let diff = all_rows(
        &mut s,
        &format!(
            "select n.id, n.balance - o.balance from acct n \
             join acct for system_time as of '{at}' o on o.id = n.id"
        ),
    );
    assert_eq!(diff, vec![vec!["1".to_string(), "-50".to_string()]]);
    let err = s.execute("select * from acct for system_time as of null").unwrap_err();
    assert_eq!(err.code(), SqlState::NULL_VALUE_NOT_ALLOWED);
}

#[test]
fn rows_referencing_themselves_and_long_cascades() {
    let db = Database::open_in_memory().unwrap();
    let mut s = db.session();
    s.execute(
        "create table node (id int primary key, parent int references node (id) \
         on update cascade on delete cascade)",
    )
    .unwrap();
    // A row may reference itself: the check runs after the row is written.
    s.execute("insert into node values (1, 1), (3, 1)").unwrap();
    // Moving it takes its own reference along, and its children's.
    s.execute("update node set id = 2 where id = 1").unwrap();
    assert_eq!(
        all_rows(&mut s, "select id, parent from node order by id"),
        [["2", "2"], ["3", "2"]]
    );
    // Deleting it deletes its children and does not find itself again (this overflowed the
    // stack, aborting the process).
    s.execute("delete from node where id = 2").unwrap();
    assert_eq!(count(&s.execute("select count(*) from node").unwrap()), 0);
    // Without an action, a row referencing only itself may go.
    s.execute("create table plain (id int primary key, parent int references plain (id))").unwrap();
    s.execute("insert into plain values (1, 1)").unwrap();
    s.execute("delete from plain").unwrap();
    // A cycle of two rows.
    s.execute("insert into node values (10, null), (11, 10)").unwrap();
    s.execute("update node set parent = 11 where id = 10").unwrap();
    s.execute("delete from node where id = 10").unwrap();
    assert_eq!(count(&s.execute("select count(*) from node").unwrap()), 0);

    // A chain of 2,000 rows, each the parent of the next: one delete cascades down it (the
    // index finds each row's children; without it every level scans the table).
    s.execute("create index node_parent on node (parent)").unwrap();
    s.execute("insert into node select g, nullif(g - 1, 0) from generate_series(1, 2000) g")
        .unwrap();
    s.execute("delete from node where id = 1").unwrap();
    assert_eq!(count(&s.execute("select count(*) from node").unwrap()), 0);
    // Past the depth limit the statement fails, and changes nothing.
    s.execute("insert into node select g, nullif(g - 1, 0) from generate_series(1, 10050) g")
        .unwrap();
    let err = s.execute("delete from node where id = 1").unwrap_err();
    assert_eq!(err.code(), SqlState::STATEMENT_TOO_COMPLEX, "{err}");
    assert_eq!(count(&s.execute("select count(*) from node").unwrap()), 10050);
}

#[test]
fn foreign_keys_restrict_cascade_and_set_null() {
    let db = Database::open_in_memory().unwrap();
    let mut s = db.session();
    s.execute(
        "create table p (id int primary key); insert into p values (1), (2), (3); \
         create table r (id int, pid int references p (id) on delete restrict); \
         create table c (id int, pid int references p (id) on delete cascade); \
         create table n (id int, pid int references p (id) on delete set null); \
         insert into r values (1, 1); insert into c values (1, 2), (2, 2); insert into n values (1, 3)",
    )
    .unwrap();
    let err = s.execute("delete from p where id = 1").unwrap_err();
    assert_eq!(err.code(), SqlState::FOREIGN_KEY_VIOLATION);
    s.execute("delete from p where id = 2").unwrap();
    assert_eq!(count(&s.execute("select count(*) from c").unwrap()), 0);
    s.execute("delete from p where id = 3").unwrap();
    assert_eq!(
        all_rows(&mut s, "select id, pid from n"),
        vec![vec!["1".to_string(), "NULL".to_string()]]
    );
    let err = s.execute("insert into r values (2, 99)").unwrap_err();
    assert_eq!(err.code(), SqlState::FOREIGN_KEY_VIOLATION);
}

#[test]
fn in_subqueries_and_small_ctes_look_their_rows_up_by_key() {
    let db = Database::open_in_memory().unwrap();
    let mut s = db.session();
    s.execute(
        "create table jobs (id bigint primary key, payload text not null); \
         insert into jobs select x, 'job ' || x from generate_series(1, 5000) x; \
         create table o (id int primary key, a int, b int); create index o_ab on o (a, b); \
         insert into o select x, x % 10, (x * 7919) % 1000 from generate_series(1, 2000) x",
    )
    .unwrap();
    let plan = |s: &mut oxibase_sql::Session, sql: &str| -> Vec<String> {
        plan_lines(&s.execute(&format!("explain analyze {sql}")).unwrap())
    };
    let line = |lines: &[String], prefix: &str| -> String {
        lines
            .iter()
            .find(|l| l.trim_start().trim_start_matches("->").trim().starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} in {lines:#?}"))
            .clone()
    };
    // The queue idiom with IN: the subquery runs once (ten rows locked), and the delete
    // reads those ten rows through the primary key instead of scanning 5000.
    let take = "delete from jobs where id in \
                (select id from jobs order by id limit 10 for update skip locked) returning id";
    let lines = plan(&mut s, take);
    let scan = line(&lines, "Index Scan using jobs_pkey on jobs");
    assert!(scan.contains("rows=10 loops=1"), "{lines:#?}");
    assert!(
        lines.iter().any(|l| l.contains("Index Cond: (id = ANY (ARRAY(SubPlan)")),
        "{lines:#?}"
    );
    let ids = all_rows(&mut s, &take.replace("returning id", "returning id, payload"));
    let expected: Vec<Vec<String>> =
        (11..=20).map(|i| vec![i.to_string(), format!("job {i}")]).collect();
    assert_eq!(ids, expected, "EXPLAIN ANALYZE took 1-10, this takes the next ten");
    // The same with a CTE joined to the table: the ten CTE rows drive, each looked up by key.
    let take = "with next as (select id from jobs order by id limit 10 for update skip locked) \
                delete from jobs using next where jobs.id = next.id returning jobs.id";
    let lines = plan(&mut s, take);
    assert!(line(&lines, "Nested Loop").contains("rows=10 loops=1"), "{lines:#?}");
    let scan = line(&lines, "Index Scan using jobs_pkey on jobs");
    assert!(scan.contains("loops=10"), "{lines:#?}");
    let ids = all_rows(&mut s, take);
    assert_eq!(ids, (31..=40).map(|i| vec![i.to_string()]).collect::<Vec<_>>());
    let take = "with next as (select id from jobs order by id limit 3) \
                update jobs set payload = 'taken' from next where jobs.id = next.id \
                returning jobs.id, jobs.payload, next.id";
    assert_eq!(
        all_rows(&mut s, take),
        (41..=43).map(|i| vec![i.to_string(), "taken".into(), i.to_string()]).collect::<Vec<_>>()
    );
    assert_eq!(count(&s.execute("select count(*) from jobs").unwrap()), 4960);
    // Duplicates and NULLs in the subquery: each row once, NULL matches nothing.
    let rows = all_rows(
        &mut s,
        "select id from jobs where id in (select 100 union all select 100 union all \
         select null::bigint union all select 7 union all select 99999) order by id",
    );
    assert_eq!(rows, vec![vec!["100".to_string()]]);
    let rows =
        all_rows(&mut s, "select id from jobs where id in (select id from jobs where false)");
    assert!(rows.is_empty());
    // NOT IN and a subquery of another type still mean what they say (no key lookup there).
    assert_eq!(
        count(
            &s.execute(
                "select count(*) from jobs where id not in (select id from jobs where id > 50)"
            )
            .unwrap()
        ),
        10
    );
    assert_eq!(
        all_rows(
            &mut s,
            "select id from o where id in (select 5::bigint union select 6::bigint) order by id"
        ),
        vec![vec!["5".to_string()], vec!["6".to_string()]]
    );
    // `= ANY (array)`: a literal, ARRAY(SELECT ...) and a parameter (as drivers send lists)
    // are looked up element by element; NULL and out-of-range elements match nothing.
    let q = "select id from jobs where id = any('{100,7,99999,null,100}'::bigint[]) order by id";
    assert!(plan(&mut s, q).iter().any(|l| l.contains("Index Scan using jobs_pkey")), "{q}");
    assert_eq!(all_rows(&mut s, q), vec![vec!["100".to_string()]]);
    let q = "select id from jobs where id = any(array(select id from jobs where id > 4990)) \
             order by id";
    let lines = plan(&mut s, q);
    assert!(line(&lines, "Index Scan using jobs_pkey").contains("rows=10 loops=1"), "{lines:#?}");
    let q = "select id from o where id = any('{3,99999999999}'::bigint[]) order by id";
    assert_eq!(all_rows(&mut s, q), vec![vec!["3".to_string()]]);
    let any = s.prepare("select count(*) from jobs where id = any($1)", &[]).unwrap();
    let ids = |v: &[i64]| {
        Value::Array(Box::new(oxibase_common::Array {
            element_type: oxibase_common::DataType::Int8,
            elements: v.iter().map(|&i| Value::Int8(i)).collect(),
        }))
    };
    let out = s.execute_prepared(&any, &[ids(&[41, 42, 43, 1, 5000])]).unwrap();
    assert_eq!(count(&out), 4);
    let out = s.execute_prepared(&any, &[ids(&[])]).unwrap();
    assert_eq!(count(&out), 0);
    let out = s.execute_prepared(&any, &[Value::Null]).unwrap();
    assert_eq!(count(&out), 0);
    // A set of values on an index's first column does not fix the order of the next one:
    // the sort stays and the rows come back ordered by b.
    let q = "select a, b from o where a in (select 3 union select 4) order by b limit 6";
    let by_scan = all_rows(&mut s, q);
    let by_sort = all_rows(&mut s, "select a, b from o where a + 0 in (3, 4) order by b limit 6");
    assert_eq!(by_scan, by_sort);
    assert!(plan(&mut s, q).iter().any(|l| l.contains("Sort")), "{q}");
    assert!(plan(&mut s, q).iter().any(|l| l.contains("Index Scan using o_ab")), "{q}");
}

#[test]
fn the_optimizer_folds_pushes_down_picks_indexes_and_drops_sorts() {
    let db = Database::open_in_memory().unwrap();
    let mut s = db.session();
    s.execute(
        "create table o (id int primary key, a int, b int, c text); create index o_ab on o (a, b); \
         insert into o select x, x % 10, x % 7, 'c' || x from generate_series(1, 2000) x",
    )
    .unwrap();
    let plan = |s: &mut oxibase_sql::Session, sql: &str| -> String {
        plan_lines(&s.execute(&format!("explain {sql}")).unwrap()).join("\n")
    };
    // Constant folding: the key is a literal, so the primary key gives a point read.
    let p = plan(&mut s, "select * from o where id = 2 + 3");
    assert!(p.contains("Index Cond: (id = 5)"), "{p}");
    // Equality, IN lists and a range on a composite index's prefix.
    let p = plan(&mut s, "select * from o where a = 3 and b in (1, 2)");
    assert!(p.contains("using o_ab") && p.contains("(a = 3) AND (b = ANY (1, 2))"), "{p}");
    let p = plan(&mut s, "select * from o where a = 3 and b > 4");
    assert!(p.contains("(a = 3) AND (b > 4)"), "{p}");
    // A filter moves through a derived table into the scan, where it picks the index.
    let p = plan(&mut s, "select * from (select * from o) t where t.a = 7 and t.c = 'c7'");
    assert!(p.contains("Index Scan using o_ab") && p.contains("Index Cond: (a = 7)"), "{p}");
    // An ORDER BY on the key reads the key backwards instead of sorting, and the LIMIT stops
    // the scan after ten rows.
    let out = s.execute("explain analyze select id from o order by id desc limit 10").unwrap();
    let lines = plan_lines(&out);
    assert!(!lines.iter().any(|l| l.contains("Sort")), "{lines:#?}");
    let scan = lines.iter().find(|l| l.contains("Scan on o")).unwrap();
    assert!(scan.contains("rows=10 loops=1"), "{scan}");
    assert_eq!(
        all_rows(&mut s, "select id from o order by id desc limit 2"),
        vec![vec!["2000".to_string()], vec!["1999".to_string()],]
    );
    // Folding leaves what must fail at run time to run time.
    let err = s.execute("select * from o where id = 1 / 0").unwrap_err();
    assert_eq!(err.code(), SqlState::DIVISION_BY_ZERO);
}

/// CHECKPOINT flushes the engine and truncates the log (segments behind it are removed),
/// inside a transaction block too, as PostgreSQL allows; only a superuser may run it; what
/// was committed survives a reopen.
#[test]
fn checkpoint_truncates_the_log_and_needs_a_superuser() {
    let dir = tempfile::tempdir().unwrap();
    let options = oxibase_sql::DatabaseOptions {
        fsync: false,
        segment_size: 64 << 10,
        checkpoint_log_bytes: u64::MAX / 2,
        ..Default::default()
    };
    let segments = || std::fs::read_dir(dir.path().join("wal")).unwrap().count();
    {
        let db = Database::open_with(dir.path(), options.clone()).unwrap();
        let mut s = db.session();
        s.execute("create table t (id int primary key, v text)").unwrap();
        for i in 0..20 {
            let (from, to) = (i * 1000, i * 1000 + 999);
            s.execute(&format!(
                "insert into t select g, repeat('x', 100) from generate_series({from}, {to}) g"
            ))
            .unwrap();
        }
        s.execute("create role plain login").unwrap();
        let before = segments();
        assert!(before > 10, "{before} log segments");
        let err = db.session_for("plain").execute("checkpoint").unwrap_err();
        assert_eq!(err.code(), SqlState::INSUFFICIENT_PRIVILEGE);
        assert_eq!(segments(), before, "a refused checkpoint truncated the log");
        let out = s.execute("CHECKPOINT;").unwrap();
        assert!(matches!(&out, Output::Command { tag } if tag == "CHECKPOINT"), "{out:?}");
        let after = segments();
        assert!(after <= 2, "{before} log segments became {after}");
        s.execute("begin; insert into t values (-1, 'y'); checkpoint; commit").unwrap();
        assert_eq!(s.execute("checkpoint x").unwrap_err().code(), SqlState::SYNTAX_ERROR);
    }
    let db = Database::open_with(dir.path(), options).unwrap();
    let out = db.session().execute("select count(*) from t").unwrap();
    assert_eq!(out.get::<i64>(0, "count").unwrap(), 20_001);
}

#[test]
fn merge_by_source_and_rows_changed_by_concurrent_writers() {
    let db = Database::open_in_memory().unwrap();
    let mut a = db.session();
    a.execute(
        "create table m (id int primary key, v int); insert into m values (1, 1), (2, 2), (3, 3)",
    )
    .unwrap();
    // WHEN NOT MATCHED BY SOURCE (PostgreSQL 17): target rows no source row matched.
    let out = a
        .execute(
            "merge into m using (values (1, 10), (4, 40)) s(id, v) on m.id = s.id \
             when matched then update set v = s.v \
             when not matched then insert values (s.id, s.v) \
             when not matched by source and m.id = 3 then delete \
             when not matched by source then update set v = -m.v",
        )
        .unwrap();
    assert_eq!(out.tag(), "MERGE 4");
    let rows = |s: &mut oxibase_sql::Session| all_rows(s, "select id, v from m order by id");
    assert_eq!(rows(&mut a), [["1", "10"], ["2", "-2"], ["4", "40"]]);
    let err = a
        .execute("merge into m using (values (1)) s(id) on m.id = s.id when not matched by source then update set v = s.id")
        .unwrap_err();
    assert_eq!(err.code(), SqlState::UNDEFINED_TABLE);

    // Read committed: a MERGE waiting for a row lock judges the row's committed version, and
    // picks its clause again on it.
    ddl_after_waiting_for(
        &db,
        &mut a,
        "update m set v = 100 where id = 1",
        "merge into m using (values (1)) s(id) on m.id = s.id \
         when matched and m.v >= 100 then update set v = m.v + 1 \
         when matched then update set v = 0",
    )
    .unwrap();
    // A row deleted meanwhile makes its source row not matched: the INSERT clause runs.
    ddl_after_waiting_for(
        &db,
        &mut a,
        "delete from m where id = 2",
        "merge into m using (values (2, 22)) s(id, v) on m.id = s.id \
         when matched then update set v = 0 \
         when not matched then insert values (s.id, s.v)",
    )
    .unwrap();
    // A row changed so that it no longer meets the join condition is not matched either.
    ddl_after_waiting_for(
        &db,
        &mut a,
        "update m set v = 5 where id = 4",
        "merge into m using (values (4, 40)) s(id, v) on m.id = s.id and m.v = s.v \
         when matched then delete \
         when not matched then do nothing",
    )
    .unwrap();
    assert_eq!(rows(&mut a), [["1", "101"], ["2", "22"], ["4", "5"]]);

    // Repeatable read: a row changed after the snapshot fails with 40001.
    a.execute("begin isolation level repeatable read").unwrap();
    a.execute("select 1 from m").unwrap();
    db.session().execute("update m set v = 7 where id = 1").unwrap();
    let err = a
        .execute("merge into m using (values (1)) s(id) on m.id = s.id when matched then delete")
        .unwrap_err();
    assert_eq!(err.code(), SqlState::SERIALIZATION_FAILURE);
    a.execute("rollback").unwrap();

    // A small source looks the target up by its key instead of scanning it.
    let plan = all_rows(
        &mut a,
        "explain merge into m using (values (1)) s(id) on m.id = s.id when matched then delete",
    );
    let plan: Vec<String> = plan.into_iter().map(|r| r[0].trim().to_string()).collect();
    assert_eq!(plan[0], "Merge on m");
    assert!(plan.iter().any(|l| l.contains("Index Scan using m_pkey")), "{plan:?}");
}

#[test]
fn generated_columns_survive_reopening_and_are_listed_in_the_catalog() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Database::open(dir.path()).unwrap();
        db.session()
            .execute(
                "create table gen (a int, b int generated always as (a * 3) stored); \
                 insert into gen (a) values (2)",
            )
            .unwrap();
    }
    let db = Database::open(dir.path()).unwrap();
    let mut s = db.session();
    s.execute("insert into gen (a) values (5)").unwrap();
    assert_eq!(all_rows(&mut s, "select a, b from gen order by a"), [["2", "6"], ["5", "15"]]);
    let err = s.execute("insert into gen values (1, 1)").unwrap_err();
    assert_eq!(err.code(), SqlState::GENERATED_ALWAYS);
    // psql's \d reads these: attgenerated, and the expression in pg_attrdef.
    assert_eq!(
        all_rows(
            &mut s,
            "select a.attname, a.attgenerated, d.adbin from pg_attribute a \
             join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum \
             where a.attrelid = 'gen'::regclass"
        ),
        [["b", "s", "a * 3"]]
    );
}

#[test]
fn expression_and_partial_indexes_serve_the_queries_they_match() {
    let db = Database::open_in_memory().unwrap();
    let mut s = db.session();
    s.execute(
        "create table u (id int primary key, email text, deleted_at timestamptz, n int); \
         insert into u select x, 'User' || x || '@x.com', case when x % 2 = 0 then now() end, x \
         from generate_series(1, 200) x; \
         create unique index u_lower on u (lower(email)); \
         create unique index u_live on u (email) where deleted_at is null; \
         create index u_twice on u ((n * 2)) where n > 100",
    )
    .unwrap();
    let plan = |s: &mut oxibase_sql::Session, q: &str| -> String {
        all_rows(s, &format!("explain {q}")).into_iter().map(|r| r[0].clone() + "\n").collect()
    };
    let uses = |s: &mut oxibase_sql::Session, q: &str, index: &str| {
        let p = plan(s, q);
        assert!(p.contains(&format!("Index Scan using {index} on u")), "{q}:\n{p}");
    };
    let scans = |s: &mut oxibase_sql::Session, q: &str| {
        let p = plan(s, q);
        assert!(p.contains("Seq Scan on u"), "{q}:\n{p}");
    };
    // The key expression, written as the index wrote it (a parameter too).
    uses(&mut s, "select id from u where lower(email) = 'user7@x.com'", "u_lower");
    uses(&mut s, "select id from u where lower(email) in ('a', 'b')", "u_lower");
    assert_eq!(all_rows(&mut s, "select id from u where lower(email) = 'user7@x.com'"), [["7"]]);
    s.execute("prepare q(text) as select id from u where lower(email) = $1").unwrap();
    assert_eq!(all_rows(&mut s, "execute q('user9@x.com')"), [["9"]]);
    // Another expression does not match it.
    scans(&mut s, "select id from u where upper(email) = 'USER7@X.COM'");
    // A partial index serves a query whose WHERE implies its predicate, and no other.
    uses(&mut s, "select id from u where email = 'User7@x.com' and deleted_at is null", "u_live");
    scans(&mut s, "select id from u where email = 'User7@x.com'");
    uses(&mut s, "select id from u where n * 2 = 300 and n > 100", "u_twice");
    scans(&mut s, "select id from u where n * 2 = 300");
    // A range on the expression, and ORDER BY it read from the index in order.
    let q = "select id from u where n > 100 and n * 2 > 390 order by n * 2 desc";
    let p = plan(&mut s, q);
    assert!(p.contains("Index Scan Backward using u_twice") && !p.contains("Sort"), "{p}");
    assert_eq!(all_rows(&mut s, q), [["200"], ["199"], ["198"], ["197"], ["196"]]);
    // `x IS NOT NULL` in a predicate is implied by a comparison of x.
    s.execute("create index u_n_nn on u (id) where n is not null").unwrap();
    uses(&mut s, "select id from u where id = 5 and n > 0", "u_pkey");
    s.execute("create index u_n_only on u (n) where n is not null").unwrap();
    uses(&mut s, "select id from u where n = 5", "u_n_only");
    // An expression index is never read as an index-only scan (it holds no columns).
    assert!(!plan(&mut s, "select lower(email) from u where lower(email) = 'a'").contains("Only"));
    // Writes keep the entries right: an update that moves a row in or out of a partial index.
    s.execute("update u set deleted_at = null where id = 2").unwrap();
    assert_eq!(
        all_rows(&mut s, "select id from u where email = 'User2@x.com' and deleted_at is null"),
        [["2"]]
    );
    s.execute("update u set deleted_at = now() where id = 3").unwrap();
    assert_eq!(
        all_rows(&mut s, "select id from u where email = 'User3@x.com' and deleted_at is null"),
        Vec::<Vec<String>>::new()
    );
    s.execute("insert into u values (1000, 'User3@x.com', null, 1)").unwrap_err();
    s.execute("insert into u values (1000, 'user3@X.com ', null, 1)").unwrap();
}

#[test]
fn unique_partial_indexes_hold_across_sessions_and_reopening() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Database::open(dir.path()).unwrap();
        let mut a = db.session();
        a.execute(
            "create table acct (id int primary key, email text, gone bool not null default false); \
             create unique index acct_live on acct (lower(email)) where not gone",
        )
        .unwrap();
        // Two sessions claim one live email: the second waits for the first, then fails.
        let result = ddl_after_waiting_for(
            &db,
            &mut a,
            "insert into acct values (1, 'a@x.com')",
            "insert into acct values (2, 'A@X.com')",
        );
        assert_eq!(result.unwrap_err().code(), SqlState::UNIQUE_VIOLATION);
        // A retired row frees it.
        a.execute("update acct set gone = true where id = 1").unwrap();
        a.execute("insert into acct values (2, 'A@X.com')").unwrap();
        // Built while writes go on, as CREATE INDEX CONCURRENTLY does.
        a.execute("create index concurrently acct_len on acct (length(email))").unwrap();
    }
    let db = Database::open(dir.path()).unwrap();
    let mut s = db.session();
    let err = s.execute("insert into acct values (3, 'a@x.COM')").unwrap_err();
    assert_eq!(err.code(), SqlState::UNIQUE_VIOLATION);
    assert_eq!(err.detail(), Some("Key (lower(email))=(a@x.com) already exists."));
    s.execute("insert into acct values (3, 'a@x.COM', true)").unwrap();
    assert_eq!(
        all_rows(&mut s, "select id from acct where length(email) = 7 order by id"),
        [["1"], ["2"], ["3"]]
    );
    assert_eq!(
        all_rows(&mut s, "select indexdef from pg_indexes where indexname = 'acct_live'"),
        [[
            "CREATE UNIQUE INDEX acct_live ON public.acct USING btree (lower(email)) WHERE (NOT gone)"
        ]]
    );
}

#[test]
fn deferred_foreign_keys_are_checked_at_commit_against_concurrent_writers() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Database::open(dir.path()).unwrap();
        db.session()
            .execute(
                "create table p (id int primary key); insert into p values (1), (2); \
                 create table c (id int primary key, p_id int references p deferrable initially deferred)",
            )
            .unwrap();
    }
    // The deferral survives reopening the directory.
    let db = Database::open(dir.path()).unwrap();
    let mut a = db.session();
    let mut b = db.session();
    // A parent deleted and committed by another session while a deferred child waits for
    // its commit: the commit fails and leaves nothing.
    a.execute("begin").unwrap();
    a.execute("insert into c values (1, 1)").unwrap();
    b.execute("delete from p where id = 1").unwrap();
    let err = a.execute("commit").unwrap_err();
    assert_eq!(err.code(), SqlState::FOREIGN_KEY_VIOLATION);
    assert!(!a.in_transaction_block());
    assert_eq!(all_rows(&mut a, "select count(*) from c"), [["0"]]);
    // A child of a parent another session inserts and commits before this commit is fine.
    a.execute("begin").unwrap();
    a.execute("insert into c values (2, 3)").unwrap();
    b.execute("insert into p values (3)").unwrap();
    a.execute("commit").unwrap();
    // A parent another session is deleting: the commit's check waits for that session
    // (it locks the parent FOR KEY SHARE), then finds the parent gone.
    a.execute("begin").unwrap();
    a.execute("insert into c values (3, 2)").unwrap();
    b.execute("begin").unwrap();
    b.execute("delete from p where id = 2").unwrap();
    let handle = thread::spawn(move || a.execute("commit").map(|_| a));
    thread::sleep(std::time::Duration::from_millis(200));
    assert!(!handle.is_finished(), "the commit's check must wait for the deleting session");
    b.execute("commit").unwrap();
    let err = handle.join().unwrap().map(|_| ()).unwrap_err();
    assert_eq!(err.code(), SqlState::FOREIGN_KEY_VIOLATION);
    let mut a = db.session();
    // What Django runs after each test: outside a block, a warning and no error.
    let out = a.execute("set constraints all immediate").unwrap();
    assert_eq!(out.tag(), "SET CONSTRAINTS");
    assert_eq!(all_rows(&mut a, "select id, p_id from c order by id"), [["2", "3"]]);
}

#[test]
fn enum_types_are_transactional_and_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Database::open(dir.path()).unwrap();
        let mut a = db.session();
        let mut b = db.session();
        a.execute(
            "create type mood as enum ('sad', 'ok', 'happy'); \
             create table diary (day int primary key, m mood not null, ms mood[]); \
             create index diary_m on diary (m); \
             insert into diary values (1, 'happy', '{sad,ok}'), (2, 'sad', null)",
        )
        .unwrap();
        // A type created or a label added in a rolled-back transaction is gone.
        a.execute("begin; create type color as enum ('red'); alter type mood add value 'meh'")
            .unwrap();
        a.execute("rollback").unwrap();
        let err = a.execute("select 'red'::color").unwrap_err();
        assert_eq!(err.code(), SqlState::UNDEFINED_OBJECT);
        let err = a.execute("select 'meh'::mood").unwrap_err();
        assert_eq!(err.code(), SqlState::INVALID_TEXT_REPRESENTATION);
        // Another session's statements, bound before a label was added, see it once committed.
        assert_eq!(all_rows(&mut b, "select m from diary order by m"), [["sad"], ["happy"]]);
        b.execute("insert into diary values (3, 'ok')").unwrap();
        a.execute("alter type mood add value 'meh' before 'ok'").unwrap();
        b.execute("insert into diary values (4, 'meh')").unwrap();
        assert_eq!(
            all_rows(&mut b, "select m from diary order by m"),
            [["sad"], ["meh"], ["ok"], ["happy"]]
        );
    }
    let db = Database::open(dir.path()).unwrap();
    let mut s = db.session();
    assert_eq!(
        all_rows(&mut s, "select day from diary where m >= 'meh' order by m desc"),
        [["1"], ["3"], ["4"]]
    );
    s.execute("alter type mood rename value 'sad' to 'blue'").unwrap();
    assert_eq!(
        all_rows(&mut s, "select day, m, ms from diary where m < 'ok' order by m"),
        [["2", "blue", "NULL"], ["4", "meh", "NULL"]]
    );
    assert_eq!(all_rows(&mut s, "select ms from diary where day = 1"), [["{blue,ok}"]]);
    let err = s.execute("insert into diary values (5, 'sad')").unwrap_err();
    assert_eq!(err.code(), SqlState::INVALID_TEXT_REPRESENTATION);
    assert_eq!(
        all_rows(&mut s, "select enumlabel from pg_enum order by enumsortorder"),
        [["blue"], ["meh"], ["ok"], ["happy"]]
    );
}

#[test]
fn enum_labels_added_at_one_spot_renumber_and_values_follow() {
    let db = Database::memory().unwrap();
    let mut s = db.session();
    s.execute(
        "create type level as enum ('low', 'high'); \
         create type other as enum ('x', 'y'); \
         create table t (id int primary key, l level not null, ls level[], o other); \
         create index t_l on t (l); \
         insert into t values (1, 'high', '{high,low}', 'y'), (2, 'low', '{low}', 'x')",
    )
    .unwrap();
    // Each label goes just before 'high': the gap halves each time, until the type is
    // renumbered (and the stored values and index entries with it).
    for i in 0..70 {
        s.execute(&format!("alter type level add value 'l{i}' before 'high'")).unwrap();
    }
    s.execute("insert into t values (3, 'l0', '{l69,l0}', 'y'), (4, 'l69', null, 'x')").unwrap();
    assert_eq!(
        all_rows(&mut s, "select id, l, ls from t order by l"),
        [
            ["2", "low", "{low}"],
            ["3", "l0", "{l69,l0}"],
            ["4", "l69", "NULL"],
            ["1", "high", "{high,low}"]
        ]
    );
    // Renumbered: 'high' no longer has its first order (2), and the orders stay distinct.
    let orders = all_rows(
        &mut s,
        "select count(*), count(distinct enumsortorder), min(enumsortorder), \
         (select enumsortorder > 2 from pg_enum where enumlabel = 'high') \
         from pg_enum where enumtypid = 'level'::regtype",
    );
    assert_eq!(orders, [["72", "72", "1", "t"]]);
    // The index agrees with the new orders.
    assert_eq!(all_rows(&mut s, "select id from t where l > 'l60' order by l"), [["4"], ["1"]]);
    assert_eq!(all_rows(&mut s, "select id from t where l = 'l0'"), [["3"]]);
    // A stored expression names only the enum types of its table's columns (PostgreSQL
    // allows any): the error says so.
    let e = s.execute("create table u (id int check (id > 0 or 'x'::other = 'y'))").unwrap_err();
    assert_eq!(e.code(), SqlState::UNDEFINED_OBJECT, "{e}");
    assert!(e.hint().is_some_and(|h| h.contains("own columns")), "{e:?}");
    // RENAME VALUE rewrites only the columns of its type ('other' has the same orders).
    s.execute("alter type level rename value 'low' to 'bottom'").unwrap();
    assert_eq!(
        all_rows(&mut s, "select id, l, ls, o from t order by id"),
        [
            ["1", "high", "{high,bottom}", "y"],
            ["2", "bottom", "{bottom}", "x"],
            ["3", "l0", "{l69,l0}", "y"],
            ["4", "l69", "NULL", "x"]
        ]
    );
}

/// Rows of `sql` over table `t` and over `u` (the same rows, no indexes), sorted.
fn both_ways(s: &mut oxibase_sql::Session, sql: &str) -> (Vec<Vec<String>>, Vec<Vec<String>>) {
    let mut indexed = all_rows(s, &sql.replace("{t}", "t"));
    let mut scanned = all_rows(s, &sql.replace("{t}", "u"));
    indexed.sort();
    scanned.sort();
    (indexed, scanned)
}

#[test]
fn gin_indexes_find_what_a_scan_finds_through_inserts_updates_and_deletes() {
    let db = Database::open_in_memory().unwrap();
    let mut s = db.session();
    for t in ["t", "u"] {
        s.execute(&format!(
            "create table {t} (id int primary key, tsv tsvector, tags int[], meta jsonb)"
        ))
        .unwrap();
    }
    s.execute("create index t_tsv on t using gin (tsv)").unwrap();
    s.execute("create index t_tags on t using gin (tags)").unwrap();
    s.execute("create index t_meta on t using gin (meta)").unwrap();
    let words = ["ant", "bee", "cat", "cow", "dog", "eel", "elk", "fox"];
    // A deterministic stream of writes, applied to both tables.
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = |n: u64| {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) % n
    };
    let queries = [
        ("t_tsv", "select id from {t} where tsv @@ 'cat & !dog'"),
        ("t_tsv", "select id from {t} where tsv @@ '(cow | e:*) & fox'"),
        ("t_tsv", "select id from {t} where tsv @@ 'bee <-> ant'"),
        ("t_tsv", "select id from {t} where tsv @@ 'elk:B'"),
        // Per row of the other side of a join.
        ("t_tsv", "select id from {t}, to_tsquery('simple', 'cat | fox') q where tsv @@ q"),
        ("t_tsv", "select id from (values ('eel'::tsquery)) v (q) left join {t} on q @@ tsv"),
        ("t_tags", "select id from {t} where tags @> array[3, 5]"),
        ("t_tags", "select id from {t} where tags && array[1, 7]"),
        ("t_meta", "select id from {t} where meta @> '{\"w\": \"cat\"}'"),
        ("t_meta", "select id from {t} where meta @> '{\"n\": [2]}'"),
        ("t_meta", "select id from {t} where meta ? 'odd'"),
        ("t_meta", "select id from {t} where meta ?| array['odd', 'none']"),
    ];
    let mut moved = 1000;
    for round in 0..6 {
        for _ in 0..150 {
            let id = next(200);
            let text: Vec<String> = (0..1 + next(4))
                .map(|i| {
                    let w = words[next(words.len() as u64) as usize];
                    if i == 0 && next(3) == 0 {
                        format!("{w}:1B")
                    } else {
                        format!("{w}:{}", i + 2)
                    }
                })
                .collect();
            let tags: Vec<String> = (0..next(4)).map(|_| next(8).to_string()).collect();
            let odd = if id % 2 == 1 { ", \"odd\": true" } else { "" };
            let meta = format!(
                "{{\"w\": \"{}\", \"n\": [{}, {}]{odd}}}",
                words[next(words.len() as u64) as usize],
                next(4),
                next(4)
            );
            let write = match next(4) {
                0 => format!("delete from {{t}} where id = {id}"),
                1 => {
                    moved += 1;
                    format!("update {{t}} set id = {moved} where id = {id}")
                }
                _ => format!(
                    "insert into {{t}} values ({id}, '{}', '{{{}}}', '{meta}') on conflict (id) \
                     do update set tsv = excluded.tsv, tags = excluded.tags, meta = excluded.meta",
                    text.join(" "),
                    tags.join(",")
                ),
            };
            for t in ["t", "u"] {
                s.execute(&write.replace("{t}", t)).unwrap();
            }
        }
        for (index, q) in queries {
            let plan =
                plan_lines(&s.execute(&format!("explain {}", q.replace("{t}", "t"))).unwrap());
            assert!(
                plan.iter().any(|l| l.contains(&format!("Bitmap Index Scan on {index}"))),
                "{q}: {plan:#?}"
            );
            let (indexed, scanned) = both_ways(&mut s, q);
            assert_eq!(indexed, scanned, "round {round}: {q}");
            assert!(round == 0 || !scanned.is_empty() || q.contains("<->"), "{q} finds nothing");
        }
        // One entry per distinct element of each row: none left behind by an update or
        // delete.
        for (index, elements) in [
            ("t_tsv", "select coalesce(sum(length(tsv)), 0) from t"),
            ("t_tags", "select count(*) from (select distinct id, x from t, unnest(tags) x) e"),
        ] {
            let storage = storage_of(&mut s, index);
            let expected: usize = all_rows(&mut s, elements)[0][0].parse().unwrap();
            assert_eq!(keys_under(&db, storage), expected, "round {round}: {index}");
        }
    }
}

#[test]
fn gin_indexes_are_recorded_and_used_after_reopening() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Database::open(dir.path()).unwrap();
        let mut s = db.session();
        s.execute(
            "create table d (id int primary key, body text); \
             insert into d values (1, 'fat cats'), (2, 'thin dogs'); \
             create index d_body on d using gin (to_tsvector('english', body))",
        )
        .unwrap();
    }
    let db = Database::open(dir.path()).unwrap();
    let mut s = db.session();
    let def = s.execute("select pg_get_indexdef('d_body'::regclass)").unwrap();
    assert!(def.get::<String>(0, 0usize).unwrap().contains("USING gin"));
    s.execute("insert into d values (3, 'a cat naps')").unwrap();
    let q = "select id from d where to_tsvector('english', body) @@ to_tsquery('english', 'cat')";
    let plan = plan_lines(&s.execute(&format!("explain {q}")).unwrap());
    assert!(plan.iter().any(|l| l.contains("Bitmap Index Scan on d_body")), "{plan:#?}");
    assert_eq!(all_rows(&mut s, q), vec![vec!["1".to_string()], vec!["3".to_string()]]);
}

#[test]
fn a_gin_index_built_concurrently_keeps_the_writes_made_while_it_is_built() {
    let db = Database::open_in_memory().unwrap();
    let mut s = db.session();
    s.execute("create table g (id int primary key, tags int[])").unwrap();
    s.execute(
        "insert into g select i, array[i % 7, i % 11, i % 13] from generate_series(1, 20000) i",
    )
    .unwrap();
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let writer = {
        let (db, stop, done) = (db.clone(), stop.clone(), done.clone());
        thread::spawn(move || {
            let mut s = db.session();
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) || n < 200 {
                let id = 1 + (n * 7919) % 20000;
                let write = match n % 3 {
                    0 => format!("update g set tags = array[{}, 100] where id = {id}", n % 50),
                    1 => format!("delete from g where id = {id}"),
                    _ => format!(
                        "insert into g values ({}, array[100, {}]) on conflict (id) do nothing",
                        30000 + n,
                        n % 50
                    ),
                };
                s.execute(&write).unwrap();
                n += 1;
                done.store(n, Ordering::Relaxed);
            }
        })
    };
    // Once the writer is under way.
    while done.load(Ordering::Relaxed) < 20 {
        thread::yield_now();
    }
    let before = done.load(Ordering::Relaxed);
    s.execute("create index concurrently g_tags on g using gin (tags)").unwrap();
    let during = done.load(Ordering::Relaxed) - before;
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    assert!(during > 0, "no write while the index was built");
    // The index answers as a scan does (`tags || '{}'` is not its key), and holds one entry
    // per distinct element of each row.
    for k in [0, 6, 12, 49, 100] {
        let q = format!("select id from g where tags @> array[{k}] order by id");
        let p = plan_lines(&s.execute(&format!("explain {q}")).unwrap());
        assert!(p.iter().any(|l| l.contains("Bitmap Index Scan on g_tags")), "{p:#?}");
        let scanned = q.replace("tags @>", "(tags || '{}'::int[]) @>");
        assert_eq!(all_rows(&mut s, &q), all_rows(&mut s, &scanned), "{k}");
    }
    let elements: usize =
        all_rows(&mut s, "select count(*) from (select distinct id, x from g, unnest(tags) x) e")
            [0][0]
            .parse()
            .unwrap();
    assert_eq!(keys_under(&db, storage_of(&mut s, "g_tags")), elements);
}

#[test]
fn network_containment_through_an_index_finds_what_a_scan_finds() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    let mut s = db.session();
    for t in ["t", "u"] {
        s.execute(&format!("create table {t} (id int primary key, ip inet, net cidr)")).unwrap();
    }
    s.execute("create index t_ip on t (ip)").unwrap();
    // Random IPv4 and IPv6 addresses with random masks, some of them networks.
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = |n: u64| {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) % n
    };
    let mut rows = Vec::new();
    for id in 0..2000 {
        let ip = if next(4) == 0 {
            format!("2001:db8:{:x}::{:x}/{}", next(4), next(300), 100 + next(29))
        } else {
            format!("10.{}.{}.{}/{}", next(3), next(4), next(256), 8 + next(25))
        };
        rows.push(format!("({id}, '{ip}', network('{ip}'::inet))"));
    }
    for t in ["t", "u"] {
        s.execute(&format!("insert into {t} values {}", rows.join(", "))).unwrap();
    }
    let queries = [
        "select id from {t} where ip << '10.1.0.0/16'",
        "select id from {t} where ip <<= '10.1.2.0/24'",
        "select id from {t} where '10.0.0.0/8' >> ip",
        "select id from {t} where '2001:db8:1::/48'::cidr >>= ip",
        "select id from {t} where ip << '10.2.3.0/24' and ip > '10.2.3.128'",
        // Per row of a join: not through the index (no parameterized range lookups yet).
        "select id from {t}, (values ('10.0.1.0/24'::inet)) v (n) where ip <<= v.n",
    ];
    for q in queries {
        let plan = plan_lines(&s.execute(&format!("explain {}", q.replace("{t}", "t"))).unwrap());
        assert!(
            q.contains("v.n")
                || plan.iter().any(|l| l.contains("Index Cond:") && l.contains("oxibase_network_")),
            "{q}: {plan:#?}"
        );
        let (indexed, scanned) = both_ways(&mut s, q);
        assert_eq!(indexed, scanned, "{q}");
        assert!(!scanned.is_empty(), "{q} finds nothing");
    }
    // Values keep their type, mask and order after a restart.
    let before = all_rows(&mut s, "select ip, net, ip::text from t order by 1, id");
    drop(s);
    drop(db);
    let db = Database::open(dir.path()).unwrap();
    let mut s = db.session();
    assert_eq!(all_rows(&mut s, "select ip, net, ip::text from t order by 1, id"), before);
    assert!(before.iter().any(|r| r[1].starts_with("2001:db8:") && r[1].contains('/')));
}

#[test]
fn a_table_row_type_is_a_column_type_that_follows_the_table() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Database::open(dir.path()).unwrap();
        let mut s = db.session();
        s.execute("create table pr (id int primary key, name text)").unwrap();
        assert_eq!(
            all_rows(&mut s, "select (row(1, 'a')::pr).name, pg_typeof(null::pr)"),
            [["a", "pr"]]
        );
        s.execute("create table keep (k int primary key, r pr, rs pr[])").unwrap();
        s.execute("insert into pr values (1, 'a')").unwrap();
        s.execute("insert into keep select 1, p, array[p, p] from pr p").unwrap();
        // A table cannot hold its own row type, directly or inside another.
        for ddl in ["alter table pr add c pr", "alter table pr add c keep"] {
            let e = s.execute(ddl).unwrap_err();
            assert_eq!(e.code(), SqlState::INVALID_TABLE_DEFINITION, "{ddl}: {e}");
        }
        // The stored values follow the table's columns; a change they could not follow
        // is refused, as in PostgreSQL.
        s.execute("alter table pr add column note text").unwrap();
        for ddl in
            ["alter table pr add column d int default 1", "alter table pr alter id type bigint"]
        {
            let e = s.execute(ddl).unwrap_err();
            assert_eq!(e.code(), SqlState::FEATURE_NOT_SUPPORTED, "{ddl}: {e}");
            assert!(e.message().contains("uses its row type"), "{e}");
        }
        s.execute("alter table pr drop column name").unwrap();
    }
    // And survive reopening; the table cannot go while they are stored.
    let db = Database::open(dir.path()).unwrap();
    let mut s = db.session();
    assert_eq!(
        all_rows(&mut s, "select r, rs, (r).note is null from keep"),
        [["(1,)", "{\"(1,)\",\"(1,)\"}", "t"]]
    );
    let e = s.execute("drop table pr").unwrap_err();
    assert_eq!(e.code(), SqlState::DEPENDENT_OBJECTS_STILL_EXIST, "{e}");
    s.execute("drop table pr cascade").unwrap();
    assert_eq!(all_rows(&mut s, "select * from keep"), [["1"]]);
    // An anonymous record is still no column type.
    let e = s.execute("create table bad as select row(1, 2) r").unwrap_err();
    assert_eq!(e.code(), SqlState::INVALID_TABLE_DEFINITION, "{e}");
}

#[test]
fn composite_values_nest_only_as_deep_as_a_row_can_be_read_back() {
    // On a thread with the stack the server gives statements (oxibase_server::STACK_SIZE).
    std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(nest_composites)
        .unwrap()
        .join()
        .unwrap();
}

fn nest_composites() {
    let db = Database::open_in_memory().unwrap();
    let mut s = db.session();
    // t1 = (a int), t2 = (a t1), ...: a column of tK nests values K deep.
    s.execute("create type t1 as (a int)").unwrap();
    for k in 2..=25 {
        s.execute(&format!("create type t{k} as (a t{})", k - 1)).unwrap();
    }
    let e = s.execute("create table too_deep (v t25)").unwrap_err();
    assert_eq!(e.code(), SqlState::PROGRAM_LIMIT_EXCEEDED, "{e}");
    // 24 deep is stored and read back, whole and field by field.
    s.execute("create table deep (id int, v t24)").unwrap();
    let mut value = "row(7)::t1".to_string();
    for k in 2..=24 {
        value = format!("row({value})::t{k}");
    }
    s.execute(&format!("insert into deep values (1, {value})")).unwrap();
    let whole = all_rows(&mut s, "select v from deep");
    assert!(whole[0][0].len() > 1 << 20, "the text doubles its quotes per level");
    let mut field = "v".to_string();
    for _ in 0..24 {
        field = format!("({field}).a");
    }
    assert_eq!(all_rows(&mut s, &format!("select {field} from deep")), [["7"]]);
    // So deep a result computed on the fly is refused too (its text would not fit).
    let mut row = "1".to_string();
    for _ in 0..30 {
        row = format!("row({row})");
    }
    for sql in [format!("select {row}"), format!("select length({row}::text)")] {
        let e = s.execute(&sql).unwrap_err();
        assert_eq!(e.code(), SqlState::PROGRAM_LIMIT_EXCEEDED, "{sql}: {e}");
    }
    // Growing an inner type past the limit is refused, and the table still reads.
    let e = s.execute("alter type t1 add attribute b int[]").unwrap_err();
    assert_eq!(e.code(), SqlState::PROGRAM_LIMIT_EXCEEDED, "{e}");
    assert_eq!(all_rows(&mut s, &format!("select {field} from deep")), [["7"]]);
}

#[test]
fn nesting_past_the_limit_is_an_error_not_a_crash() {
    std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(|| {
            let db = Database::open_in_memory().unwrap();
            let mut s = db.session();
            // Views over views: each binds inside the one that reads it.
            s.execute("create view w0 as select 1 as a").unwrap();
            let mut failed = None;
            for k in 1..200 {
                let sql = format!("create view w{k} as select a + 1 as a from w{}", k - 1);
                if let Err(e) = s.execute(&sql) {
                    failed = Some((k, e));
                    break;
                }
            }
            let (k, e) = failed.expect("views nest without end");
            assert_eq!(e.code(), SqlState::STATEMENT_TOO_COMPLEX, "{e}");
            assert!(k > 50, "only {k} views deep");
            assert_eq!(all_rows(&mut s, "select a from w50"), [["51"]]);
        })
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn domains_survive_reopening_and_other_sessions_plans_see_their_changes() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Database::open(dir.path()).unwrap();
        let mut s = db.session();
        s.execute(
            "create type mood as enum ('sad', 'ok');
             create domain okmood as mood check (value > 'sad');
             create domain posint as int not null default 1 check (value > 0);
             create domain small as posint check (value < 10);
             create table t (id int primary key, p small, m okmood);
             insert into t (id, m) values (1, 'ok')",
        )
        .unwrap();
    }
    let db = Database::open(dir.path()).unwrap();
    let mut s1 = db.session();
    let mut s2 = db.session();
    assert_eq!(all_rows(&mut s1, "select id, p, m from t"), [["1", "1", "ok"]]);
    for (sql, code) in [
        ("insert into t values (2, 10, 'ok')", SqlState::CHECK_VIOLATION),
        ("insert into t values (2, 0, 'ok')", SqlState::CHECK_VIOLATION),
        ("insert into t values (2, null, 'ok')", SqlState::NOT_NULL_VIOLATION),
        ("insert into t values (2, 5, 'sad')", SqlState::CHECK_VIOLATION),
        ("copy t from stdin", SqlState::CHECK_VIOLATION),
    ] {
        let e = match s1.execute(sql) {
            Ok(oxibase_sql::Output::CopyIn(pending)) => {
                s1.copy_in(pending, b"2\t0\tok\n").unwrap_err()
            }
            other => other.unwrap_err(),
        };
        assert_eq!(e.code(), code, "{sql}: {e}");
    }
    // A plan s2 cached before another session adds a constraint is bound again.
    for _ in 0..3 {
        s2.execute("update t set p = 8 where id = 1").unwrap();
    }
    s1.execute("update t set p = 2 where id = 1").unwrap();
    s1.execute("alter domain posint add constraint not_eight check (value <> 8)").unwrap();
    let e = s2.execute("update t set p = 8 where id = 1").unwrap_err();
    assert_eq!(e.code(), SqlState::CHECK_VIOLATION, "{e}");
    assert!(e.message().contains("not_eight"), "{e}");
    // Dropping the domain under CASCADE drops its columns; the other domains stay.
    s1.execute("drop domain small cascade").unwrap();
    assert_eq!(all_rows(&mut s2, "select * from t"), [["1", "ok"]]);
    assert_eq!(all_rows(&mut s2, "select 3::posint"), [["3"]]);
}

/// COPY FROM into a table under row-level security checks each row against the policies
/// WITH CHECK, as INSERT does (42501), and takes the rows that pass; COPY TO shows only the
/// rows the role may see.
#[test]
fn copy_from_obeys_row_level_security() {
    let db = Database::memory().unwrap();
    let mut admin = db.session();
    admin
        .execute(
            "create table notes (id int primary key, owner text);
             create role writer;
             grant select, insert on notes to writer;
             alter table notes enable row level security;
             create policy own on notes using (owner = current_user)",
        )
        .unwrap();
    let mut s = db.session();
    s.execute("set role writer").unwrap();
    let copy = |s: &mut oxibase_sql::Session, data: &[u8]| match s.execute("copy notes from stdin")
    {
        Ok(oxibase_sql::Output::CopyIn(pending)) => s.copy_in(pending, data),
        other => panic!("COPY FROM gave {other:?}"),
    };
    let err = copy(&mut s, b"1\twriter\n2\tsomeone_else\n").unwrap_err();
    assert_eq!(err.code(), SqlState::INSUFFICIENT_PRIVILEGE, "{err}");
    copy(&mut s, b"3\twriter\n").unwrap();
    admin.execute("insert into notes values (4, 'someone_else')").unwrap();
    assert_eq!(all_rows(&mut admin, "select count(*) from notes"), [["2"]]);
    // COPY TO shows the role only its rows.
    match s.execute("copy notes to stdout").unwrap() {
        oxibase_sql::Output::CopyOut { data, .. } => assert_eq!(data, "3\twriter\n"),
        other => panic!("COPY TO gave {other:?}"),
    }
}

/// ANALYZE of a table the role does not own is skipped with PostgreSQL's warning; its
/// owner's ANALYZE records statistics.
#[test]
fn analyze_skips_tables_the_role_does_not_own() {
    let db = Database::memory().unwrap();
    let mut admin = db.session();
    admin
        .execute(
            "create table counted (id int primary key);
             insert into counted select generate_series(1, 50);
             create role visitor;
             grant select on counted to visitor",
        )
        .unwrap();
    let mut s = db.session();
    s.execute("set role visitor").unwrap();
    s.take_notices();
    s.execute("analyze counted").unwrap();
    let notices = s.take_notices();
    assert!(
        notices.iter().any(|n| n.severity == "WARNING"
            && n.message == "permission denied to analyze \"counted\", skipping it"),
        "{notices:?}"
    );
    let analyzed = "select rows from pg_catalog.sys_statistics";
    assert!(all_rows(&mut admin, analyzed).is_empty());
    admin.execute("analyze counted").unwrap();
    assert_eq!(all_rows(&mut admin, analyzed), [["50"]]);
}
