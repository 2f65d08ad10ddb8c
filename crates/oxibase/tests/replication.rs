//! Read replicas, multi-process on loopback: a leader and followers started with
//! `--replica-of`, under a write load; followers converge to the leader's contents, refuse
//! writes with 25006, catch up after a restart, and resume without gaps after the link is
//! cut (a proxy that drops the connection).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

mod common;

use common::{Server, rows, runtime};

fn query(port: u16, sql: &str) -> Result<Vec<Vec<Option<String>>>, tokio_postgres::Error> {
    runtime().block_on(async {
        let url = format!("host=127.0.0.1 port={port} user=oxibase dbname=oxibase");
        let client = common::connect(&url).await?;
        client.simple_query(sql).await.map(rows)
    })
}

fn one(port: u16, sql: &str) -> String {
    query(port, sql).unwrap()[0][0].clone().unwrap_or_default()
}

/// A fingerprint of a table's contents: row count and an order-independent digest.
fn fingerprint(port: u16, table: &str) -> String {
    one(
        port,
        &format!(
            "select count(*) || ':' || coalesce(string_agg(id || '=' || v, ',' order by id), '') from {table}"
        ),
    )
}

fn follower(dir: &std::path::Path, leader: u16) -> Server {
    let upstream = format!("127.0.0.1:{leader}");
    Server::start(dir, &["--auth", "trust", "--replica-of", &upstream], &[])
}

/// Starts `oxibase serve --replica-of` on `dir` expecting it to refuse to start; returns its
/// stderr.
fn refused_follower(dir: &std::path::Path, leader: u16, password: &str) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_oxibase"))
        .args(["serve", "--auth", "trust", "--http", "off", "--listen", "127.0.0.1:0"])
        .arg("--data-dir")
        .arg(dir)
        .args(["--replica-of", &format!("127.0.0.1:{leader}")])
        .env("OXIBASE_REPLICATION_PASSWORD", password)
        .output()
        .unwrap();
    assert!(!out.status.success(), "the follower started");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Waits until `check` holds, up to 20 s.
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn followers_converge_refuse_writes_and_catch_up_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let leader = Server::trust(&dir.path().join("leader"));
    query(leader.port, "create table t (id int primary key, v text)").unwrap();
    query(leader.port, "insert into t select g, 'v' || g from generate_series(1, 500) g").unwrap();
    let f1 = follower(&dir.path().join("f1"), leader.port);
    let f2 = follower(&dir.path().join("f2"), leader.port);

    // A write load on the leader while the followers follow: inserts, updates, deletes, DDL.
    for round in 0..20 {
        let base = 1000 + round * 10;
        query(
            leader.port,
            &format!(
                "begin; insert into t select g, 'r{round}' from generate_series({base}, {}) g; \
                 update t set v = v || '+' where id % 7 = {}; delete from t where id = {}; commit",
                base + 9,
                round % 7,
                round + 1
            ),
        )
        .unwrap();
        if round == 10 {
            query(
                leader.port,
                "create table u (id int primary key, v text); create index t_v on t (v)",
            )
            .unwrap();
            query(leader.port, "insert into u values (1, 'one'), (2, 'two')").unwrap();
        }
    }
    let want_t = fingerprint(leader.port, "t");
    let want_u = fingerprint(leader.port, "u");
    for f in [&f1, &f2] {
        eventually("a follower to converge", || {
            query(f.port, "select 1 from u limit 1").is_ok() && fingerprint(f.port, "t") == want_t
        });
        assert_eq!(fingerprint(f.port, "u"), want_u);
        // The replicated index answers queries on the follower.
        let plan = query(f.port, "explain select id from t where v = 'r3'").unwrap();
        assert!(format!("{plan:?}").contains("t_v"), "{plan:?}");
    }

    // The leader reports both followers, caught up, with their positions and lag.
    eventually("pg_stat_replication to show two streaming followers", || {
        one(
            leader.port,
            "select count(*) from pg_stat_replication where state = 'streaming' and replay_lsn = sent_lsn and replay_lag is not null",
        ) == "2"
    });
    let (status, body) = common::http(leader.http, "GET", "/metrics", "");
    assert_eq!(status, 200);
    assert!(body.contains("oxibase_replicas 2"), "{body}");
    assert!(body.contains("oxibase_replication_lag_seconds{replica="), "{body}");

    // Writes and DDL on a follower fail with 25006 and name the leader.
    for sql in
        ["insert into t values (99999, 'no')", "create table nope (id int)", "select nextval('x')"]
    {
        let e = query(f1.port, sql).unwrap_err();
        let db = e.as_db_error().unwrap();
        if sql.starts_with("select") {
            continue; // no such sequence: 42P01 before any write
        }
        assert_eq!(db.code().code(), "25006", "{sql}: {db:?}");
        assert!(db.message().contains(&format!("127.0.0.1:{}", leader.port)), "{}", db.message());
    }

    // Over HTTP too: reads answer, writes fail with 25006.
    let (status, body) =
        common::http(f1.http, "POST", "/v1/sql", r#"{"sql": "select count(*) as n from u"}"#);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains('2'), "{body}");
    let (status, body) =
        common::http(f1.http, "POST", "/v1/sql", r#"{"sql": "insert into u values (3, 'no')"}"#);
    assert_ne!(status, 200, "{body}");
    assert!(body.contains("25006"), "{body}");

    // A follower stopped while the leader goes on catches up when it starts again.
    let f2_dir = dir.path().join("f2");
    f2.stop();
    query(leader.port, "insert into t select g, 'late' from generate_series(5000, 5099) g")
        .unwrap();
    query(leader.port, "update u set v = 'changed' where id = 1").unwrap();
    let f2 = follower(&f2_dir, leader.port);
    let want_t = fingerprint(leader.port, "t");
    let want_u = fingerprint(leader.port, "u");
    eventually("the restarted follower to catch up", || fingerprint(f2.port, "t") == want_t);
    assert_eq!(fingerprint(f2.port, "u"), want_u);
    eventually("the other follower too", || fingerprint(f1.port, "t") == want_t);

    // The leader restarted: followers reconnect and go on.
    let leader_dir = dir.path().join("leader");
    let port = leader.port;
    leader.stop();
    let leader = Server::start_at(port, &leader_dir, &["--auth", "trust"], &[]);
    query(leader.port, "insert into t values (7777, 'after restart')").unwrap();
    let want_t = fingerprint(leader.port, "t");
    for f in [&f1, &f2] {
        eventually("followers after a leader restart", || fingerprint(f.port, "t") == want_t);
    }
}

/// A TCP proxy whose connections can be cut.
struct Proxy {
    port: u16,
    cut: Arc<AtomicBool>,
}

impl Proxy {
    fn start(target: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let cut = Arc::new(AtomicBool::new(false));
        let flag = cut.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if flag.load(Ordering::SeqCst) {
                    continue; // refused while cut: the connection is dropped
                }
                let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else { continue };
                for (mut from, mut to) in
                    [(client.try_clone().unwrap(), server.try_clone().unwrap()), (server, client)]
                {
                    let flag = flag.clone();
                    std::thread::spawn(move || {
                        let _ = from.set_read_timeout(Some(Duration::from_millis(50)));
                        let mut buf = [0u8; 16384];
                        loop {
                            if flag.load(Ordering::SeqCst) {
                                let _ = from.shutdown(std::net::Shutdown::Both);
                                let _ = to.shutdown(std::net::Shutdown::Both);
                                return;
                            }
                            match from.read(&mut buf) {
                                Ok(0) => {
                                    let _ = to.shutdown(std::net::Shutdown::Both);
                                    return;
                                }
                                Ok(n) => {
                                    if to.write_all(&buf[..n]).is_err() {
                                        return;
                                    }
                                }
                                Err(e)
                                    if e.kind() == std::io::ErrorKind::WouldBlock
                                        || e.kind() == std::io::ErrorKind::TimedOut => {}
                                Err(_) => return,
                            }
                        }
                    });
                }
            }
        });
        Proxy { port, cut }
    }
}

#[test]
fn a_cut_link_resumes_without_gaps() {
    let dir = tempfile::tempdir().unwrap();
    let leader = Server::trust(&dir.path().join("leader"));
    query(leader.port, "create table t (id int primary key, v text)").unwrap();
    let proxy = Proxy::start(leader.port);
    let f = follower(&dir.path().join("f"), proxy.port);
    let mut next = 1;
    for phase in 0..3 {
        for _ in 0..50 {
            query(leader.port, &format!("insert into t values ({next}, 'p{phase}')")).unwrap();
            next += 1;
        }
        // Cut the link for a while, writing on; then restore it.
        proxy.cut.store(true, Ordering::SeqCst);
        for _ in 0..50 {
            query(leader.port, &format!("insert into t values ({next}, 'cut{phase}')")).unwrap();
            next += 1;
        }
        std::thread::sleep(Duration::from_millis(300));
        proxy.cut.store(false, Ordering::SeqCst);
    }
    let want = fingerprint(leader.port, "t");
    eventually("the follower to resume after the cuts", || fingerprint(f.port, "t") == want);
    // Every id exactly once: no gap, no duplicate.
    assert_eq!(
        one(f.port, "select count(distinct id) = max(id) and max(id) = count(*) from t"),
        "t"
    );
}

#[test]
fn a_follower_away_across_segments_and_a_leader_restart_converges() {
    let dir = tempfile::tempdir().unwrap();
    let leader_dir = dir.path().join("leader");
    let leader_args = ["--auth", "trust", "--wal-segment-mb", "1"];
    let leader = Server::start(&leader_dir, &leader_args, &[]);
    query(leader.port, "create table t (id int primary key, v text)").unwrap();
    query(leader.port, "insert into t values (1, 'first')").unwrap();
    let f_dir = dir.path().join("f");
    let f = follower(&f_dir, leader.port);
    eventually("the follower to copy the table", || {
        query(f.port, "select count(*) from t").is_ok_and(|r| r[0][0].as_deref() == Some("1"))
    });
    f.stop();
    // Several log segments while the follower is away, then a restart (which checkpoints
    // and truncates the log, except what registered followers still need).
    for i in 0..8 {
        query(
            leader.port,
            &format!(
                "insert into t select g, repeat('x', 500) from generate_series({}, {}) g",
                2 + i * 1000,
                1001 + i * 1000
            ),
        )
        .unwrap();
    }
    let port = leader.port;
    leader.stop();
    let leader = Server::start_at(port, &leader_dir, &leader_args, &[]);
    let f = follower(&f_dir, leader.port);
    let want = one(leader.port, "select count(*) || ':' || sum(length(v)) from t");
    eventually("the follower to catch up", || {
        query(f.port, "select count(*) || ':' || sum(length(v)) from t")
            .is_ok_and(|r| r[0][0].as_deref() == Some(want.as_str()))
    });
    // And it follows from there.
    query(leader.port, "insert into t values (100000, 'after')").unwrap();
    eventually("the follower to follow after the snapshot", || {
        query(f.port, "select count(*) from t where id = 100000")
            .is_ok_and(|r| r[0][0].as_deref() == Some("1"))
    });
}

#[test]
fn a_follower_of_another_history_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let a = Server::trust(&dir.path().join("a"));
    let b = Server::trust(&dir.path().join("b"));
    query(a.port, "create table t (id int primary key); insert into t values (1)").unwrap();
    query(b.port, "create table other (id int primary key)").unwrap();
    let f_dir = dir.path().join("f");
    let f = follower(&f_dir, a.port);
    eventually("the follower to copy a", || query(f.port, "select * from t").is_ok());
    f.stop();
    // Pointed at b, whose log is another history, it refuses to start rather than merge.
    let err = refused_follower(&f_dir, b.port, "");
    assert!(err.contains("diverged"), "{err}");
}

#[test]
fn synchronous_commits_survive_the_leader_being_killed() {
    let dir = tempfile::tempdir().unwrap();
    let leader_args = ["--auth", "trust", "--synchronous-replicas", "1"];
    let mut leader = Server::start(&dir.path().join("leader"), &leader_args, &[]);
    // No follower yet: a synchronous commit waits; a session may opt out.
    query(
        leader.port,
        "set synchronous_commit = local; create table t (id int primary key, v text)",
    )
    .unwrap();
    let f = follower(&dir.path().join("f"), leader.port);
    // Every acknowledged commit is on the follower the moment the leader answers.
    let mut acknowledged = 0;
    for i in 1..=100 {
        query(leader.port, &format!("insert into t values ({i}, 'sync')")).unwrap();
        acknowledged = i;
    }
    leader.child.kill().unwrap();
    leader.child.wait().unwrap();
    assert_eq!(one(f.port, "select count(*) from t"), acknowledged.to_string());
    assert_eq!(one(f.port, "select max(id) from t"), "100");
}

#[test]
fn a_synchronous_commit_waits_for_a_follower() {
    let dir = tempfile::tempdir().unwrap();
    let leader_args = ["--auth", "trust", "--synchronous-replicas", "1"];
    let leader = Server::start(&dir.path().join("leader"), &leader_args, &[]);
    query(leader.port, "set synchronous_commit = local; create table t (id int primary key)")
        .unwrap();
    let port = leader.port;
    let waiting = std::thread::spawn(move || query(port, "insert into t values (1)").map(|_| ()));
    std::thread::sleep(Duration::from_millis(500));
    assert!(!waiting.is_finished(), "a synchronous commit returned without any follower");
    let f = follower(&dir.path().join("f"), leader.port);
    waiting.join().unwrap().unwrap();
    assert_eq!(one(f.port, "select count(*) from t"), "1");
}

#[test]
fn a_promoted_follower_takes_writes_and_the_old_leader_cannot_diverge_back() {
    let dir = tempfile::tempdir().unwrap();
    let leader_dir = dir.path().join("leader");
    let leader = Server::trust(&leader_dir);
    query(
        leader.port,
        "create table t (id int primary key, v text); insert into t values (1, 'one')",
    )
    .unwrap();
    let f_dir = dir.path().join("f");
    let f = follower(&f_dir, leader.port);
    eventually("the follower to copy t", || {
        query(f.port, "select count(*) from t").is_ok_and(|r| r[0][0].as_deref() == Some("1"))
    });
    // A leader is not promoted.
    let e = query(leader.port, "select pg_promote()").unwrap_err();
    assert_eq!(e.as_db_error().unwrap().code().code(), "55000");

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_oxibase"))
        .args(["promote", "--url", &format!("postgres://oxibase@127.0.0.1:{}/oxibase", f.port)])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    query(f.port, "insert into t values (2, 'on the new leader')").unwrap();
    // The old leader goes on writing (a split brain): those writes never reach the new one.
    query(leader.port, "insert into t values (3, 'lost on the old leader')").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(one(f.port, "select string_agg(id::text, ',' order by id) from t"), "1,2");

    // The promoted directory will not follow again.
    let f_port = f.port;
    f.stop();
    assert!(refused_follower(&f_dir, leader.port, "").contains("was promoted"));
    let new_leader = Server::start_at(f_port, &f_dir, &["--auth", "trust"], &[]);
    assert_eq!(one(new_leader.port, "select count(*) from t"), "2");

    // The old leader comes back as a follower of the new one: its extra commit makes its
    // history differ, so it refuses instead of merging.
    leader.stop();
    let err = refused_follower(&leader_dir, new_leader.port, "");
    assert!(err.contains("diverged"), "{err}");
}

#[test]
fn the_leader_keeps_its_log_for_a_registered_follower_up_to_a_cap() {
    let dir = tempfile::tempdir().unwrap();
    let leader_dir = dir.path().join("leader");
    let f_dir = dir.path().join("f");
    let args = ["--auth", "trust", "--wal-segment-mb", "1"];
    let leader = Server::start(&leader_dir, &args, &[]);
    query(leader.port, "create table t (id int primary key, v text)").unwrap();
    let f = follower(&f_dir, leader.port);
    eventually("the follower to register", || {
        one(leader.port, "select count(*) from pg_stat_replication where state = 'streaming'")
            == "1"
    });
    assert!(f.stop_with_log().contains("copied"), "a new follower snapshots");
    let fill = |port: u16, from: i32| {
        for i in 0..8 {
            let lo = from + i * 1000;
            query(
                port,
                &format!(
                    "insert into t select g, repeat('x', 500) from generate_series({lo}, {}) g",
                    lo + 999
                ),
            )
            .unwrap();
        }
    };
    // Away across several segments and a leader restart: its log was kept, it resumes.
    fill(leader.port, 1);
    let port = leader.port;
    leader.stop();
    let leader = Server::start_at(port, &leader_dir, &args, &[]);
    let f = follower(&f_dir, leader.port);
    let want = one(leader.port, "select count(*) from t");
    eventually("the follower to resume", || {
        query(f.port, "select count(*) from t")
            .is_ok_and(|r| r[0][0].as_deref() == Some(want.as_str()))
    });
    let log = f.stop_with_log();
    assert!(!log.contains("snapshot") && !log.contains("copied"), "it resumed: {log}");

    // With a cap of 50 records, a follower further behind is forgotten and re-snapshots.
    leader.stop();
    let capped = ["--auth", "trust", "--wal-segment-mb", "1", "--replica-retention-records", "50"];
    let leader = Server::start_at(port, &leader_dir, &capped, &[]);
    for i in 0..60 {
        query(leader.port, &format!("insert into t values ({}, 'one by one')", 100_000 + i))
            .unwrap();
    }
    fill(leader.port, 200_000);
    std::thread::sleep(Duration::from_millis(2500)); // the sweep runs every 2 s
    leader.stop();
    let leader = Server::start_at(port, &leader_dir, &capped, &[]);
    let f = follower(&f_dir, leader.port);
    let want = one(leader.port, "select count(*) from t");
    eventually("the follower to re-snapshot", || {
        query(f.port, "select count(*) from t")
            .is_ok_and(|r| r[0][0].as_deref() == Some(want.as_str()))
    });
    let log = f.stop_with_log();
    assert!(log.contains("taking a new snapshot"), "{log}");
}

#[test]
fn a_follower_authenticates_with_the_replication_password() {
    let dir = tempfile::tempdir().unwrap();
    let leader = Server::start(
        &dir.path().join("leader"),
        &["--auth", "scram"],
        &[("OXIBASE_PASSWORD", "s3cret")],
    );
    // A wrong password: the follower cannot take its snapshot and does not start.
    let err = refused_follower(&dir.path().join("wrong"), leader.port, "nope");
    assert!(err.contains("password authentication failed"), "{err}");
    let leader_addr = format!("127.0.0.1:{}", leader.port);
    // The right one: it copies the leader and serves.
    let f = Server::start(
        &dir.path().join("right"),
        &["--auth", "trust", "--replica-of", &leader_addr],
        &[("OXIBASE_REPLICATION_PASSWORD", "s3cret")],
    );
    assert_eq!(one(f.port, "select count(*) from pg_roles where rolname = 'oxibase'"), "1");
}

#[test]
fn malformed_replication_requests_end_only_their_connection() {
    let dir = tempfile::tempdir().unwrap();
    let leader = Server::trust(&dir.path().join("leader"));
    let attempts: [&[u8]; 4] = [
        b"OXIREPL1\x51\xff\xff\xff\xff",    // a request claiming 4 GiB
        b"OXIREPL1\x51\x00\x00\x00\x03abc", // a truncated request
        b"OXIREPL1\x7a\x00\x00\x00\x00",    // an unknown message
        b"OXIREPL1",                        // nothing after the preamble
    ];
    for bytes in attempts {
        let mut s = TcpStream::connect(("127.0.0.1", leader.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
        s.write_all(bytes).unwrap();
        if bytes.len() == 8 {
            // Silent after the preamble: the leader gives up after its request timeout.
            let mut buf = Vec::new();
            let _ = s.read_to_end(&mut buf);
            continue;
        }
        let mut buf = Vec::new();
        let _ = s.read_to_end(&mut buf); // the leader answers with an error or closes
    }
    // The server and its clients go on.
    query(leader.port, "create table ok (id int)").unwrap();
    assert_eq!(one(leader.port, "select count(*) from ok"), "0");
}
