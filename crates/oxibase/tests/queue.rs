//! Tables as queues over the wire: consumers on separate connections take jobs with
//! `FOR UPDATE SKIP LOCKED` and each job is processed exactly once; a consumer whose
//! connection dies mid-job gives its job back; batches taken through a CTE or `IN (SELECT
//! ...)` go to one consumer each; NOWAIT fails at once with 55P03; a deadlock
//! is broken with 40P01.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::{Server, runtime};
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, NoTls};

const TAKE: &str =
    "SELECT id FROM jobs WHERE status = 'pending' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED";

async fn setup(c: &Client, jobs: i64) {
    c.batch_execute(&format!(
        "CREATE TABLE jobs (id bigint PRIMARY KEY, status text NOT NULL DEFAULT 'pending', worker int);
         CREATE TABLE processed (id bigint PRIMARY KEY, worker int NOT NULL);
         INSERT INTO jobs (id) SELECT i FROM generate_series(1, {jobs}) i"
    ))
    .await
    .unwrap();
}

#[test]
fn every_job_is_processed_exactly_once_by_concurrent_consumers() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::trust(dir.path());
    runtime().block_on(async {
        let c = server.connect().await;
        setup(&c, 200).await;
        let mut consumers = Vec::new();
        for worker in 0..4i32 {
            let client = server.connect().await;
            consumers.push(tokio::spawn(async move {
                let mut taken = 0;
                loop {
                    client.batch_execute("BEGIN").await.unwrap();
                    let rows = client.query(TAKE, &[]).await.unwrap();
                    let Some(row) = rows.first() else {
                        client.batch_execute("COMMIT").await.unwrap();
                        return taken;
                    };
                    let id: i64 = row.get(0);
                    client
                        .execute(
                            "UPDATE jobs SET status = 'done', worker = $2 WHERE id = $1",
                            &[&id, &worker],
                        )
                        .await
                        .unwrap();
                    client
                        .execute("INSERT INTO processed VALUES ($1, $2)", &[&id, &worker])
                        .await
                        .unwrap();
                    client.batch_execute("COMMIT").await.unwrap();
                    taken += 1;
                }
            }));
        }
        let mut total = 0;
        let mut busy = 0;
        for consumer in consumers {
            let n = consumer.await.unwrap();
            total += n;
            busy += usize::from(n > 0);
        }
        assert_eq!(total, 200);
        assert!(busy >= 2, "the consumers shared the work");
        let row =
            c.query_one("SELECT count(*), count(DISTINCT id) FROM processed", &[]).await.unwrap();
        assert_eq!((row.get::<_, i64>(0), row.get::<_, i64>(1)), (200, 200));
        let left =
            c.query_one("SELECT count(*) FROM jobs WHERE status <> 'done'", &[]).await.unwrap();
        assert_eq!(left.get::<_, i64>(0), 0);
    });
}

/// The batched idioms: a CTE of five locked jobs joined to the table it names, and
/// `IN (SELECT ... LIMIT 5 FOR UPDATE SKIP LOCKED)`, each one statement per batch.
#[test]
fn batched_takes_with_a_cte_or_in_hand_out_each_job_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::trust(dir.path());
    runtime().block_on(async {
        let c = server.connect().await;
        setup(&c, 300).await;
        let forms = [
            "WITH next AS (SELECT id FROM jobs WHERE status = 'pending' ORDER BY id LIMIT 5 \
             FOR UPDATE SKIP LOCKED) UPDATE jobs SET status = 'done', worker = $1 FROM next \
             WHERE jobs.id = next.id RETURNING jobs.id",
            "UPDATE jobs SET status = 'done', worker = $1 WHERE id IN (SELECT id FROM jobs \
             WHERE status = 'pending' ORDER BY id LIMIT 5 FOR UPDATE SKIP LOCKED) RETURNING id",
        ];
        let mut consumers = Vec::new();
        for worker in 0..4i32 {
            let client = server.connect().await;
            let take = forms[worker as usize % 2];
            consumers.push(tokio::spawn(async move {
                let take = client.prepare(take).await.unwrap();
                let mut taken = 0;
                loop {
                    let rows = client.query(&take, &[&worker]).await.unwrap();
                    if rows.is_empty() {
                        return taken;
                    }
                    assert!(rows.len() <= 5, "a batch of {}", rows.len());
                    for row in rows {
                        let id: i64 = row.get(0);
                        client
                            .execute("INSERT INTO processed VALUES ($1, $2)", &[&id, &worker])
                            .await
                            .unwrap();
                        taken += 1;
                    }
                }
            }));
        }
        let mut total = 0;
        for consumer in consumers {
            total += consumer.await.unwrap();
        }
        assert_eq!(total, 300);
        let row = c
            .query_one(
                "SELECT count(*), count(DISTINCT p.id) FROM processed p JOIN jobs j \
                 ON j.id = p.id AND j.worker = p.worker AND j.status = 'done'",
                &[],
            )
            .await
            .unwrap();
        assert_eq!((row.get::<_, i64>(0), row.get::<_, i64>(1)), (300, 300));
    });
}

#[test]
fn a_consumer_that_dies_mid_job_gives_the_job_back() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::trust(dir.path());
    runtime().block_on(async {
        let c = server.connect().await;
        setup(&c, 3).await;
        // A takes job 1 and its connection is cut without a goodbye.
        let (a, connection) = tokio_postgres::connect(&server.url(), NoTls).await.unwrap();
        let link = tokio::spawn(connection);
        a.batch_execute("BEGIN").await.unwrap();
        let held: i64 = a.query_one(TAKE, &[]).await.unwrap().get(0);
        assert_eq!(held, 1);
        // Meanwhile B skips it.
        let b = server.connect().await;
        b.batch_execute("BEGIN").await.unwrap();
        assert_eq!(b.query_one(TAKE, &[]).await.unwrap().get::<_, i64>(0), 2);
        b.batch_execute("ROLLBACK").await.unwrap();
        link.abort();
        drop(a);
        // Once the server notices, the job is free again.
        let mut back = None;
        for _ in 0..100 {
            b.batch_execute("BEGIN").await.unwrap();
            let id: i64 = b.query_one(TAKE, &[]).await.unwrap().get(0);
            b.batch_execute("ROLLBACK").await.unwrap();
            if id == 1 {
                back = Some(id);
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(back, Some(1), "the dead consumer's job came back");
    });
}

#[test]
fn nowait_fails_at_once_and_deadlocks_are_broken() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::trust(dir.path());
    runtime().block_on(async {
        let c = server.connect().await;
        setup(&c, 2).await;
        let a = server.connect().await;
        let b = server.connect().await;
        a.batch_execute("BEGIN; SELECT * FROM jobs WHERE id = 1 FOR UPDATE").await.unwrap();
        let started = std::time::Instant::now();
        let e =
            b.batch_execute("SELECT * FROM jobs WHERE id = 1 FOR UPDATE NOWAIT").await.unwrap_err();
        assert_eq!(e.code(), Some(&SqlState::LOCK_NOT_AVAILABLE));
        assert!(started.elapsed() < Duration::from_secs(2));
        // A waiting locker gives up at lock_timeout, with the same SQLSTATE.
        let started = std::time::Instant::now();
        let e = b
            .batch_execute("SET lock_timeout = '200ms'; SELECT * FROM jobs WHERE id = 1 FOR SHARE")
            .await
            .unwrap_err();
        assert_eq!(e.code(), Some(&SqlState::LOCK_NOT_AVAILABLE));
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(150) && waited < Duration::from_secs(3),
            "{waited:?}"
        );
        b.batch_execute("SET lock_timeout = 0").await.unwrap();
        // PostgreSQL's four strengths: FOR KEY SHARE (a foreign-key check) passes a FOR NO
        // KEY UPDATE, FOR SHARE does not.
        let c2 = server.connect().await;
        c2.batch_execute("BEGIN; SELECT * FROM jobs WHERE id = 2 FOR NO KEY UPDATE").await.unwrap();
        b.batch_execute("BEGIN; SELECT * FROM jobs WHERE id = 2 FOR KEY SHARE NOWAIT")
            .await
            .unwrap();
        let e =
            b.batch_execute("SELECT * FROM jobs WHERE id = 2 FOR SHARE NOWAIT").await.unwrap_err();
        assert_eq!(e.code(), Some(&SqlState::LOCK_NOT_AVAILABLE));
        b.batch_execute("ROLLBACK").await.unwrap();
        c2.batch_execute("ROLLBACK").await.unwrap();
        // SKIP LOCKED sees past it; a plain FOR SHARE would wait.
        let free: Vec<i64> = b
            .query("SELECT id FROM jobs FOR UPDATE SKIP LOCKED", &[])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(free, [2]);
        // A deadlock: A holds 1 and wants 2, B holds 2 and wants 1.
        b.batch_execute("BEGIN; SELECT * FROM jobs WHERE id = 2 FOR UPDATE").await.unwrap();
        // Either may be the victim (PostgreSQL's is whichever checks first); the victim's
        // transaction keeps its locks until it rolls back, which lets the other one go on.
        // NB: rolling back only B once both returned hung whenever A was the victim.
        let a_wants = tokio::spawn(async move {
            let r = a.batch_execute("SELECT * FROM jobs WHERE id = 2 FOR UPDATE").await;
            if r.is_err() {
                a.batch_execute("ROLLBACK").await.unwrap();
            }
            (a, r)
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
        let b_result = b.batch_execute("SELECT * FROM jobs WHERE id = 1 FOR UPDATE").await;
        if b_result.is_err() {
            b.batch_execute("ROLLBACK").await.unwrap();
        }
        let (a, a_result) = a_wants.await.unwrap();
        let codes: Vec<_> = [&a_result, &b_result]
            .iter()
            .filter_map(|r| r.as_ref().err().and_then(|e| e.code().cloned()))
            .collect();
        assert_eq!(codes, [SqlState::T_R_DEADLOCK_DETECTED], "exactly one is chosen as the victim");
        let _ = a.batch_execute("ROLLBACK").await;
        let _ = b.batch_execute("ROLLBACK").await;
        let ids: HashSet<i64> = c
            .query("SELECT id FROM jobs FOR UPDATE NOWAIT", &[])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(ids.len(), 2, "every lock was released");
    });
}
