//! Crash test: kill -9 a process that is committing as fast as it can, restart, and check
//! that every acknowledged commit survived and no transaction is partially visible.
//!
//! Runs 50 rounds by default; set `OXIBASE_CRASH_ROUNDS` for a longer soak. Each round starts
//! `oxibase-crash-writer` on the same directory (so it also recovers from the previous
//! crash), lets it commit for a random 30-400 ms, SIGKILLs it, then opens the store here and
//! checks it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use oxibase_engine::{Lsm, LsmOptions};
use oxibase_log::{Log, LogOptions};
use oxibase_mvcc::{Mvcc, MvccOptions};
use rand::Rng;

const THREADS: u64 = 4;

fn open(dir: &Path) -> Mvcc {
    let engine = Lsm::open(&dir.join("data"), &LsmOptions::default()).unwrap();
    let (log, _) =
        Log::open(&dir.join("wal"), LogOptions { segment_size: 256 << 10, fsync: true }).unwrap();
    Mvcc::open(
        Box::new(engine),
        Some(log),
        MvccOptions { maintenance_interval: None, ..Default::default() },
    )
    .unwrap()
}

#[test]
fn every_acknowledged_commit_survives_kill_9() {
    let rounds: u64 =
        std::env::var("OXIBASE_CRASH_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(50);
    let dir = tempfile::tempdir().unwrap();
    let mut rng = rand::rng();
    let mut acked: BTreeMap<u64, u64> = BTreeMap::new(); // number -> thread
    for round in 0..rounds {
        let first = (round + 1) * 1_000_000_000;
        let mut child = Command::new(env!("CARGO_BIN_EXE_oxibase-crash-writer"))
            .args([dir.path().to_str().unwrap(), &first.to_string(), &THREADS.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .filter_map(|line| {
                    let (t, n) = line.split_once(' ')?;
                    Some((n.parse::<u64>().ok()?, t.parse::<u64>().ok()?))
                })
                .collect::<Vec<_>>()
        });
        std::thread::sleep(Duration::from_millis(rng.random_range(30..400)));
        child.kill().unwrap(); // SIGKILL
        let status = child.wait().unwrap();
        let reported = reader.join().unwrap();
        if reported.is_empty() {
            let mut err = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
            assert!(err.is_empty(), "round {round}: writer failed ({status}): {err}");
        }
        acked.extend(reported);
        verify(dir.path(), &acked, round);
    }
    assert!(acked.len() as u64 > rounds, "too few commits to mean anything: {}", acked.len());
    eprintln!(
        "{rounds} kill -9 rounds, {} acknowledged transactions, none lost, none partial",
        acked.len()
    );
}

fn verify(dir: &Path, acked: &BTreeMap<u64, u64>, round: u64) {
    let store = open(dir);
    let txn = store.begin_default().unwrap();
    let mut parts: BTreeMap<u64, u32> = BTreeMap::new();
    for item in txn.scan_prefix(b"row/").unwrap() {
        let (key, value) = item.unwrap();
        let key = String::from_utf8(key).unwrap();
        let n: u64 = key[4..16].parse().unwrap();
        assert_eq!(
            u64::from_le_bytes(value.try_into().unwrap()),
            n,
            "round {round}: row {key} holds another value"
        );
        *parts.entry(n).or_default() += 1;
    }
    let partial: Vec<_> = parts.iter().filter(|(_, c)| **c != 2).collect();
    assert!(partial.is_empty(), "round {round}: partial transactions visible: {partial:?}");
    let lost: Vec<_> = acked.keys().filter(|n| !parts.contains_key(n)).take(10).collect();
    assert!(lost.is_empty(), "round {round}: acknowledged transactions lost: {lost:?}");
    // Each thread's `last` row is at least its last acknowledged number, and names a present row.
    for thread in 0..THREADS {
        let Some(last) = txn.get(format!("last/{thread}").as_bytes()).unwrap() else { continue };
        let last = u64::from_le_bytes(last.try_into().unwrap());
        assert!(parts.contains_key(&last), "round {round}: last/{thread} = {last} has no rows");
        if let Some(max) = acked
            .iter()
            .filter(|(_, t)| **t == thread)
            .map(|(n, _)| *n)
            .filter(|n| n / 1_000_000_000 == round + 1)
            .max()
        {
            assert!(
                last >= max,
                "round {round}: last/{thread} = {last} older than acknowledged {max}"
            );
        }
    }
}
