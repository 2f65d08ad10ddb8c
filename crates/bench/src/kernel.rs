//! The storage kernel benchmark (issue 2), run side by side with SQLite and PostgreSQL.
//!
//! Sections, each selectable:
//! - `commits`: durable commits per second with 1, 4 and 16 concurrent writers, one row per
//!   transaction, fsync on. Oxibase (LSM engine + log), SQLite (WAL, synchronous=FULL, one
//!   connection per writer) and PostgreSQL (pgbench, fsync and synchronous_commit on).
//! - `reads`: point-get and 100-row range-scan latency on a table of 1M rows, each read in
//!   its own transaction (autocommit), against SQLite in the same process.
//! - `recovery`: restart after a crash that lost the engine's state: the whole log is
//!   replayed into a fresh engine; reports MB/s.
//! - `memory`: load N GB into the LSM engine with a 64 MB block cache, read randomly, and
//!   report resident memory against data size.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use oxibase_common::row::encode_row;
use oxibase_common::{Result, Value};
use oxibase_engine::{Lsm, LsmOptions};
use oxibase_log::{Log, LogOptions};
use oxibase_mvcc::{Mvcc, MvccOptions, TxnOptions};
use oxibase_sql::keys::{relation_prefix, row_key};
use rand::Rng;

use crate::postgres::PgServer;
use crate::stats::{Latencies, memory, micros, ratio};

/// What to run.
#[derive(Clone, Debug)]
pub struct KernelOptions {
    /// Where to create data directories (on the disk being measured).
    pub dir: PathBuf,
    /// Seconds per commit-throughput run.
    pub seconds: u64,
    /// Rows for the read benchmark.
    pub rows: u64,
    /// Log size for the recovery benchmark, in MB.
    pub recovery_mb: u64,
    /// Data size for the memory benchmark, in GB.
    pub memory_gb: f64,
    /// Sections to run: any of commits, reads, recovery, memory.
    pub sections: Vec<String>,
    /// Compare with PostgreSQL (needs its server binaries).
    pub postgres: bool,
}

impl Default for KernelOptions {
    fn default() -> Self {
        Self {
            dir: std::env::temp_dir(),
            seconds: 5,
            rows: 1_000_000,
            recovery_mb: 256,
            memory_gb: 1.0,
            sections: vec!["commits".into(), "reads".into(), "recovery".into(), "memory".into()],
            postgres: true,
        }
    }
}

const TABLE: u32 = 16384;

fn open_store(dir: &Path, cache: u64, checkpoint_log_bytes: u64) -> Result<Mvcc> {
    let engine =
        Lsm::open(&dir.join("data"), &LsmOptions { cache_size: cache, ..Default::default() })?;
    let fsync = std::env::var("OXIBASE_BENCH_NO_FSYNC").is_err();
    let (log, _) = Log::open(&dir.join("wal"), LogOptions { fsync, ..Default::default() })?;
    Mvcc::open(
        Box::new(engine),
        Some(log),
        MvccOptions { checkpoint_log_bytes, ..Default::default() },
    )
}

fn row(i: u64, payload: &str) -> Vec<u8> {
    encode_row(&[Value::Int8(i as i64), Value::Text(payload.to_string())])
}

/// Runs the selected sections and returns a Markdown report.
pub fn run(options: &KernelOptions) -> Result<String> {
    let mut report = String::new();
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    writeln!(report, "Machine: {cpus} CPUs; data under {}.\n", options.dir.display()).ok();
    let wants = |s: &str| options.sections.iter().any(|x| x == s);
    if wants("commits") {
        report.push_str(&commits(options)?);
    }
    if wants("reads") {
        report.push_str(&reads(options)?);
    }
    if wants("recovery") {
        report.push_str(&recovery(options)?);
    }
    if wants("memory") {
        report.push_str(&memory_bound(options)?);
    }
    Ok(report)
}

struct CommitRun {
    commits_per_sec: f64,
    commits_per_fsync: f64,
    p50: Duration,
    p99: Duration,
}

fn oxibase_commits(options: &KernelOptions, writers: usize) -> Result<CommitRun> {
    let dir =
        tempfile::tempdir_in(&options.dir).map_err(|e| oxibase_common::Error::io("tempdir", &e))?;
    let store = open_store(dir.path(), 64 << 20, 256 << 20)?;
    let stop = Arc::new(AtomicBool::new(false));
    let next = Arc::new(AtomicU64::new(0));
    let payload = "x".repeat(100);
    let before = store.status()?.log.unwrap_or_default();
    let started = Instant::now();
    let handles: Vec<_> = (0..writers)
        .map(|_| {
            let (store, stop, next, payload) =
                (store.clone(), stop.clone(), next.clone(), payload.clone());
            std::thread::spawn(move || -> Result<Latencies> {
                let mut latencies = Latencies::default();
                while !stop.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let t = Instant::now();
                    let txn = store.begin_default()?;
                    txn.put(&row_key(TABLE, &[Value::Int8(i as i64)])?, row(i, &payload))?;
                    txn.commit()?;
                    latencies.record(t.elapsed());
                }
                Ok(latencies)
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(options.seconds));
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Latencies::default();
    for h in handles {
        latencies.merge(h.join().map_err(|_| oxibase_common::errinternal!("writer panicked"))??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let after = store.status()?.log.unwrap_or_default();
    let commits = (after.synced_records - before.synced_records) as f64;
    let fsyncs = (after.fsyncs - before.fsyncs).max(1) as f64;
    Ok(CommitRun {
        commits_per_sec: commits / elapsed,
        commits_per_fsync: commits / fsyncs,
        p50: latencies.percentile(50.0),
        p99: latencies.percentile(99.0),
    })
}

fn sqlite_commits(
    options: &KernelOptions,
    writers: usize,
) -> std::result::Result<f64, rusqlite::Error> {
    let dir = tempfile::tempdir_in(&options.dir)
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    let path = dir.path().join("bench.db");
    let setup = crate::sqlite::open(&path)?;
    setup.execute_batch("CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT)")?;
    let stop = Arc::new(AtomicBool::new(false));
    let next = Arc::new(AtomicU64::new(0));
    let count = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let handles: Vec<_> = (0..writers)
        .map(|_| {
            let (path, stop, next, count) =
                (path.clone(), stop.clone(), next.clone(), count.clone());
            std::thread::spawn(move || -> std::result::Result<(), rusqlite::Error> {
                let conn = crate::sqlite::open(&path)?;
                let payload = "x".repeat(100);
                let mut insert = conn.prepare("INSERT INTO kv (k, v) VALUES (?1, ?2)")?;
                while !stop.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed) as i64;
                    insert.execute(rusqlite::params![i, payload])?;
                    count.fetch_add(1, Ordering::Relaxed);
                }
                Ok(())
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(options.seconds));
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        h.join().map_err(|_| rusqlite::Error::InvalidQuery)??;
    }
    Ok(count.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64())
}

fn commits(options: &KernelOptions) -> Result<String> {
    let mut out = String::new();
    writeln!(out, "### Durable commits per second (one 100-byte row per transaction, fsync on)\n")
        .ok();
    let pg = if options.postgres {
        match PgServer::start() {
            Ok(pg) => match pg.psql("CREATE TABLE kv (k bigint PRIMARY KEY, v text)") {
                Ok(_) => Some(pg),
                Err(e) => {
                    writeln!(out, "PostgreSQL: not run ({e})\n").ok();
                    None
                }
            },
            Err(e) => {
                writeln!(out, "PostgreSQL: not run ({e})\n").ok();
                None
            }
        }
    } else {
        None
    };
    writeln!(out, "| writers | Oxibase commits/s | commits per fsync | p50 | p99 | SQLite commits/s | PostgreSQL tps | Oxibase ÷ SQLite | Oxibase ÷ PostgreSQL |").ok();
    writeln!(out, "|---|---|---|---|---|---|---|---|---|").ok();
    let mut firsts = (0.0, 0.0, 0.0);
    let mut lasts = (0.0, 0.0, 0.0);
    for writers in [1usize, 4, 16] {
        let ours = oxibase_commits(options, writers)?;
        let sqlite = sqlite_commits(options, writers).ok();
        let script = "\\set k random(1, 9000000000000000)\nINSERT INTO kv VALUES (:k, repeat('x', 100)) ON CONFLICT DO NOTHING;\n";
        let postgres = pg
            .as_ref()
            .and_then(|pg| pg.pgbench(script, writers, options.seconds).ok())
            .map(|r| r.tps);
        writeln!(
            out,
            "| {writers} | {:.0} | {:.1} | {} | {} | {} | {} | {} | {} |",
            ours.commits_per_sec,
            ours.commits_per_fsync,
            micros(ours.p50),
            micros(ours.p99),
            sqlite.map_or("n/a".into(), |s| format!("{s:.0}")),
            postgres.map_or("n/a".into(), |p| format!("{p:.0}")),
            ratio(ours.commits_per_sec, sqlite),
            ratio(ours.commits_per_sec, postgres),
        )
        .ok();
        let t = (ours.commits_per_sec, sqlite.unwrap_or(0.0), postgres.unwrap_or(0.0));
        if writers == 1 {
            firsts = t;
        }
        lasts = t;
    }
    let gain = |a: f64, b: f64| if a > 0.0 { format!("{:.1}×", b / a) } else { "n/a".into() };
    writeln!(
        out,
        "\nGroup commit gain, 16 writers over 1: Oxibase {}, SQLite {}, PostgreSQL {}.\n",
        gain(firsts.0, lasts.0),
        gain(firsts.1, lasts.1),
        gain(firsts.2, lasts.2)
    )
    .ok();
    Ok(out)
}

fn reads(options: &KernelOptions) -> Result<String> {
    let io = |e: std::io::Error| oxibase_common::Error::io("benchmark directory", &e);
    let dir = tempfile::tempdir_in(&options.dir).map_err(io)?;
    let store = open_store(dir.path(), 256 << 20, 256 << 20)?;
    let payload = "y".repeat(100);
    let load_start = Instant::now();
    for chunk in 0..options.rows.div_ceil(10_000) {
        let txn = store.begin_default()?;
        for i in chunk * 10_000..((chunk + 1) * 10_000).min(options.rows) {
            txn.put(&row_key(TABLE, &[Value::Int8(i as i64)])?, row(i, &payload))?;
        }
        txn.commit()?;
    }
    let load_secs = load_start.elapsed().as_secs_f64();
    let sqlite = crate::sqlite::open(&dir.path().join("reads.db")).map_err(sqlite_err)?;
    crate::sqlite::load(&sqlite, options.rows, &payload).map_err(sqlite_err)?;

    let ops = 100_000;
    let mut rng = rand::rng();
    let keys: Vec<i64> = (0..ops).map(|_| rng.random_range(0..options.rows as i64)).collect();
    let read_only = TxnOptions { read_only: true, ..Default::default() };

    let t = Instant::now();
    for &k in &keys {
        let txn = store.begin(read_only.clone())?;
        let found = txn.get(&row_key(TABLE, &[Value::Int8(k)])?)?;
        debug_assert!(found.is_some());
        txn.commit()?;
    }
    let ours_get = t.elapsed() / ops as u32;
    let theirs_get = crate::sqlite::point_gets(&sqlite, &keys).map_err(sqlite_err)?;

    let scans = 20_000;
    let t = Instant::now();
    for &k in keys.iter().take(scans) {
        let txn = store.begin(read_only.clone())?;
        let start = row_key(TABLE, &[Value::Int8(k)])?;
        let end = relation_prefix(TABLE + 1);
        let n = txn
            .scan((std::ops::Bound::Included(start), std::ops::Bound::Excluded(end)))?
            .take(100)
            .count();
        debug_assert!(n > 0);
        txn.commit()?;
    }
    let ours_scan = t.elapsed() / scans as u32;
    let theirs_scan = crate::sqlite::range_scans(&sqlite, &keys[..scans]).map_err(sqlite_err)?;

    let mut out = String::new();
    writeln!(out, "### Reads on {} rows (each read its own transaction)\n", options.rows).ok();
    writeln!(
        out,
        "Loaded in {load_secs:.1} s ({:.0} rows/s in transactions of 10,000 rows).\n",
        options.rows as f64 / load_secs
    )
    .ok();
    writeln!(out, "| operation | Oxibase | SQLite | Oxibase ÷ SQLite |").ok();
    writeln!(out, "|---|---|---|---|").ok();
    let ratio_of = |a: Duration, b: Duration| ratio(a.as_secs_f64(), Some(b.as_secs_f64()));
    writeln!(
        out,
        "| point get by primary key | {} | {} | {} |",
        micros(ours_get),
        micros(theirs_get),
        ratio_of(ours_get, theirs_get)
    )
    .ok();
    writeln!(
        out,
        "| range scan, 100 rows | {} | {} | {} |\n",
        micros(ours_scan),
        micros(theirs_scan),
        ratio_of(ours_scan, theirs_scan)
    )
    .ok();
    Ok(out)
}

fn sqlite_err(e: rusqlite::Error) -> oxibase_common::Error {
    oxibase_common::errinternal!("SQLite: {e}")
}

fn recovery(options: &KernelOptions) -> Result<String> {
    let io = |e: std::io::Error| oxibase_common::Error::io("benchmark directory", &e);
    let dir = tempfile::tempdir_in(&options.dir).map_err(io)?;
    let (log, _) = Log::open(&dir.path().join("wal"), LogOptions::default())?;
    // Commit records of 32 rows of 1 kB, as the commit path writes them.
    let payload = "z".repeat(1000);
    let target = options.recovery_mb << 20;
    let (mut bytes, mut i, mut ts) = (0u64, 0u64, 1u64);
    while bytes < target {
        let writes: Vec<_> = (0..32)
            .map(|_| {
                i += 1;
                Ok((row_key(TABLE, &[Value::Int8(i as i64)])?, Some(row(i, &payload))))
            })
            .collect::<Result<_>>()?;
        let mut record = oxibase_mvcc::record::encode(&writes);
        oxibase_mvcc::record::set_ts(&mut record, ts);
        ts += 1;
        bytes += record.len() as u64;
        log.append(&record)?;
        if ts % 64 == 0 {
            log.sync_all()?;
        }
    }
    log.sync_all()?;
    drop(log);
    // The crash lost the engine: recovery replays every record into a fresh one.
    let t = Instant::now();
    let store = open_store(dir.path(), 64 << 20, u64::MAX)?;
    let secs = t.elapsed().as_secs_f64();
    let status = store.status()?;
    let mut out = String::new();
    writeln!(out, "### Recovery\n").ok();
    writeln!(
        out,
        "Replayed {} records ({:.0} MB of log, {} rows) into an empty LSM engine in {secs:.2} s: **{:.0} MB/s**.\n",
        status.replayed_records,
        bytes as f64 / 1048576.0,
        i,
        bytes as f64 / 1048576.0 / secs
    )
    .ok();
    Ok(out)
}

fn memory_bound(options: &KernelOptions) -> Result<String> {
    let io = |e: std::io::Error| oxibase_common::Error::io("benchmark directory", &e);
    let dir = tempfile::tempdir_in(&options.dir).map_err(io)?;
    let cache = 64 << 20;
    let store = open_store(dir.path(), cache, 64 << 20)?;
    let payload = "m".repeat(1000);
    let rows = (options.memory_gb * 1e9 / 1000.0) as u64;
    let (rss_before, _) = memory();
    let t = Instant::now();
    let mut peak_during_load = 0;
    for chunk in 0..rows.div_ceil(1000) {
        let txn = store.begin_default()?;
        for i in chunk * 1000..((chunk + 1) * 1000).min(rows) {
            txn.put(&row_key(TABLE, &[Value::Int8(i as i64)])?, row(i, &payload))?;
        }
        txn.commit()?;
        if chunk % 100 == 0 {
            peak_during_load = peak_during_load.max(memory().0);
        }
    }
    let load_secs = t.elapsed().as_secs_f64();
    let (rss_loaded, _) = memory();
    let mut rng = rand::rng();
    let read_only = TxnOptions { read_only: true, ..Default::default() };
    let mut peak_during_reads = 0;
    for n in 0..200_000 {
        let txn = store.begin(read_only.clone())?;
        txn.get(&row_key(TABLE, &[Value::Int8(rng.random_range(0..rows as i64))])?)?;
        txn.commit()?;
        if n % 10_000 == 0 {
            peak_during_reads = peak_during_reads.max(memory().0);
        }
    }
    let disk = store.status()?.engine.disk_size;
    let mb = |b: u64| b as f64 / 1048576.0;
    let mut out = String::new();
    writeln!(out, "### Memory against data size (LSM engine, 64 MB block cache)\n").ok();
    writeln!(out, "| data loaded | on disk | load time | RSS before | RSS peak while loading | RSS after load | RSS peak during 200k random reads |").ok();
    writeln!(out, "|---|---|---|---|---|---|---|").ok();
    writeln!(
        out,
        "| {:.1} GB ({rows} rows of 1 kB) | {:.0} MB | {load_secs:.0} s | {:.0} MB | {:.0} MB | {:.0} MB | {:.0} MB |\n",
        options.memory_gb,
        mb(disk),
        mb(rss_before),
        mb(peak_during_load),
        mb(rss_loaded),
        mb(peak_during_reads)
    )
    .ok();
    Ok(out)
}
