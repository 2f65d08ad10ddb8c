//! What the monitor reads, over the wire: `oxibase_stat_server` and `pg_stat_database`
//! counters move with the work done; `pg_locks` and `pg_stat_activity` show who waits for
//! whom and since when; `pg_cancel_backend` ends a waiting statement with 57014.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{Server, rows, runtime};

async fn read(c: &tokio_postgres::Client) -> Vec<Option<i64>> {
    let sql = "select xact_commit, rows_written, wal_fsyncs, wal_bytes, statements, io_write_ops \
               from oxibase_stat_server";
    let r = rows(c.simple_query(sql).await.unwrap());
    r[0].iter().map(|v| v.as_ref().map(|v| v.parse::<i64>().unwrap())).collect()
}

async fn pid(c: &tokio_postgres::Client) -> String {
    rows(c.simple_query("select pg_backend_pid()").await.unwrap())[0][0].clone().unwrap()
}

#[test]
fn stats_views_locks_and_cancel() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::trust(dir.path());
    runtime().block_on(async {
        let a = server.connect().await;
        let b = server.connect().await;
        let watcher = server.connect().await;
        let before = read(&watcher).await;
        a.batch_execute("create table t (id int primary key, v int)").await.unwrap();
        for i in 0..20 {
            a.batch_execute(&format!("insert into t values ({i}, 0)")).await.unwrap();
        }
        let after = read(&watcher).await;
        let grew = |i: usize, by: i64| after[i].unwrap() - before[i].unwrap() >= by;
        assert!(grew(0, 21), "commits: {before:?} -> {after:?}");
        assert!(grew(1, 20), "rows written: {before:?} -> {after:?}");
        assert!(grew(2, 1) && grew(3, 20 * 8), "log: {before:?} -> {after:?}");
        assert!(grew(4, 21), "statements: {before:?} -> {after:?}");
        if cfg!(target_os = "linux") {
            assert!(grew(5, 1), "process writes: {before:?} -> {after:?}");
        }
        let db = rows(
            watcher
                .simple_query("select datname, xact_commit > 20, numbackends >= 3 from pg_stat_database")
                .await
                .unwrap(),
        );
        assert_eq!(db, vec![vec![Some("oxibase".into()), Some("t".into()), Some("t".into())]]);

        // a holds row 1; b waits for it.
        let (pid_a, pid_b) = (pid(&a).await, pid(&b).await);
        a.batch_execute("begin; update t set v = 1 where id = 1").await.unwrap();
        let waiter = tokio::spawn(async move {
            let r = b.batch_execute("update t set v = 2 where id = 1").await;
            (b, r)
        });
        let mut graph = Vec::new();
        for _ in 0..100 {
            graph = rows(
                watcher
                    .simple_query(
                        "select pid, mode, granted, waitstart is not null, relation = 't'::regclass::oid \
                         from pg_locks order by granted desc, pid",
                    )
                    .await
                    .unwrap(),
            );
            if graph.iter().any(|r| r[2].as_deref() == Some("f")) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let row = |pid: &str, granted: &str, started: &str| {
            vec![
                Some(pid.to_string()),
                Some("ExclusiveLock".to_string()),
                Some(granted.to_string()),
                Some(started.to_string()),
                Some("t".to_string()),
            ]
        };
        assert!(graph.contains(&row(&pid_a, "t", "f")), "{graph:?}");
        assert!(graph.contains(&row(&pid_b, "f", "t")), "{graph:?}");
        let activity = rows(
            watcher
                .simple_query(&format!(
                    "select wait_event_type, wait_event, state, query from pg_stat_activity where pid = {pid_b}"
                ))
                .await
                .unwrap(),
        );
        assert_eq!(
            activity,
            vec![vec![
                Some("Lock".into()),
                Some("tuple".into()),
                Some("active".into()),
                Some("update t set v = 2 where id = 1".into())
            ]]
        );
        let blockers = rows(
            watcher.simple_query(&format!("select pg_blocking_pids({pid_b}), pg_blocking_pids({pid_a})")).await.unwrap(),
        );
        assert_eq!(blockers, vec![vec![Some(format!("{{{pid_a}}}")), Some("{}".into())]]);
        let cancelled =
            rows(watcher.simple_query(&format!("select pg_cancel_backend({pid_b})")).await.unwrap());
        assert_eq!(cancelled[0][0].as_deref(), Some("t"));
        let (b, result) = tokio::time::timeout(Duration::from_secs(10), waiter).await.unwrap().unwrap();
        let err = result.unwrap_err();
        assert_eq!(err.code().unwrap().code(), "57014", "{err:?}");
        let none =
            rows(watcher.simple_query("select pg_cancel_backend(999999)").await.unwrap());
        assert_eq!(none[0][0].as_deref(), Some("f"));
        a.batch_execute("commit").await.unwrap();
        b.batch_execute("update t set v = 2 where id = 1").await.unwrap();
        let left = rows(watcher.simple_query("select count(*) from pg_locks").await.unwrap());
        assert_eq!(left[0][0].as_deref(), Some("0"));

        // pg_terminate_backend ends an idle session's connection with FATAL 57P01 and rolls
        // back its open transaction.
        b.batch_execute("begin; update t set v = 3 where id = 1").await.unwrap();
        let done =
            rows(watcher.simple_query(&format!("select pg_terminate_backend({pid_b})")).await.unwrap());
        assert_eq!(done[0][0].as_deref(), Some("t"));
        for _ in 0..100 {
            if b.is_closed() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(b.is_closed(), "the terminated connection is still open");
        assert!(b.simple_query("select 1").await.is_err());
        let gone = rows(
            watcher
                .simple_query(&format!("select count(*) from pg_stat_activity where pid = {pid_b}"))
                .await
                .unwrap(),
        );
        assert_eq!(gone[0][0].as_deref(), Some("0"));
        a.batch_execute("update t set v = 4 where id = 1").await.unwrap(); // its lock is gone
        // With a timeout it waits until the session is gone.
        let c = server.connect().await;
        let pid_c = pid(&c).await;
        let done = rows(
            watcher.simple_query(&format!("select pg_terminate_backend({pid_c}, 5000)")).await.unwrap(),
        );
        assert_eq!(done[0][0].as_deref(), Some("t"));
        let gone = rows(
            watcher
                .simple_query(&format!("select count(*) from pg_stat_activity where pid = {pid_c}"))
                .await
                .unwrap(),
        );
        assert_eq!(gone[0][0].as_deref(), Some("0"), "gone when it returns");
        // So is one waiting for its next query on a thread it kept (its last statements left
        // the shared threads: scans), in a blocking read.
        let d = server.connect().await;
        let pid_d = pid(&d).await;
        // Its socket leaves the runtime's poll set while it reads that way and comes back
        // with the first quick statement: every message is still answered across the moves.
        let moves = async {
            for round in 0..3 {
                for _ in 0..3 {
                    d.simple_query("select count(*) from t").await.unwrap();
                }
                for i in 0..2 {
                    let r = rows(d.simple_query(&format!("select {round} * 10 + {i}")).await.unwrap());
                    assert_eq!(r[0][0], Some((round * 10 + i).to_string()));
                }
            }
            for _ in 0..3 {
                d.simple_query("select count(*) from t").await.unwrap();
            }
        };
        tokio::time::timeout(Duration::from_secs(30), moves).await.expect("a message went unanswered");
        let done = rows(
            watcher.simple_query(&format!("select pg_terminate_backend({pid_d}, 5000)")).await.unwrap(),
        );
        assert_eq!(done[0][0].as_deref(), Some("t"));
        assert!(d.simple_query("select 1").await.is_err());
        let e = watcher.simple_query("select pg_terminate_backend(1, -1)").await.unwrap_err();
        assert_eq!(e.code().unwrap().code(), "22023");
    });
}
