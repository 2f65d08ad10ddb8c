//! Store-level behaviour: recovery, checkpoints, poisoning, group commit, GC bounds and
//! concurrency invariants.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use oxibase_common::{ErrorKind, SqlState};
use oxibase_engine::{Engine, Lsm, LsmOptions, Memory};
use oxibase_log::{Log, LogOptions, SimFs};
use oxibase_mvcc::{Isolation, LockMode, LockWait, Mvcc, MvccOptions, TxnOptions};

fn options() -> MvccOptions {
    MvccOptions { maintenance_interval: None, ..Default::default() }
}

fn sim_log(fs: &SimFs) -> Log {
    Log::open_with(Arc::new(fs.clone()), Path::new("/wal"), LogOptions::default()).unwrap().0
}

fn key(i: u64) -> Vec<u8> {
    format!("k{i:08}").into_bytes()
}

fn count(store: &Mvcc) -> usize {
    let txn = store.begin_default().unwrap();
    let n = txn.scan_prefix(b"k").unwrap().count();
    txn.commit().unwrap();
    n
}

#[test]
fn recovery_after_crash_keeps_exactly_the_acknowledged_transactions() {
    // Transactions of three rows each; crash with various torn tails. After recovery, every
    // acknowledged transaction is present with all three rows, and no transaction is partial.
    for torn in [0usize, 1, 7, 40, 200, 10_000] {
        let fs = SimFs::new();
        let store = Mvcc::open(Box::new(Memory::new()), Some(sim_log(&fs)), options()).unwrap();
        let mut acked = 0;
        for i in 0..50u64 {
            let txn = store.begin_default().unwrap();
            for part in 0..3 {
                txn.put(&key(i * 3 + part), vec![i as u8; 10]).unwrap();
            }
            txn.commit().unwrap();
            acked += 1;
        }
        // A commit whose fsync fails was never acknowledged; its bytes may be torn.
        fs.fail_sync_after(0);
        let txn = store.begin_default().unwrap();
        for part in 0..3 {
            txn.put(&key(1000 + part), vec![9; 10]).unwrap();
        }
        assert!(txn.commit().is_err());
        drop(store);
        fs.crash(torn);
        let store = Mvcc::open(Box::new(Memory::new()), Some(sim_log(&fs)), options()).unwrap();
        let n = count(&store);
        assert!(
            n == acked * 3 || n == acked * 3 + 3,
            "torn={torn}: {n} rows, partial transaction visible"
        );
        let txn = store.begin_default().unwrap();
        for i in 0..acked as u64 * 3 {
            assert_eq!(
                txn.get(&key(i)).unwrap(),
                Some(vec![(i / 3) as u8; 10]),
                "torn={torn}: row {i} lost"
            );
        }
    }
}

#[test]
fn lsm_store_recovers_from_engine_state_plus_log_tail() {
    let dir = tempfile::tempdir().unwrap();
    let open = || {
        let engine = Lsm::open(&dir.path().join("data"), &LsmOptions::default()).unwrap();
        let (log, _) =
            Log::open(&dir.path().join("wal"), LogOptions { segment_size: 4096, fsync: true })
                .unwrap();
        Mvcc::open(Box::new(engine), Some(log), options()).unwrap()
    };
    let store = open();
    for i in 0..100 {
        let txn = store.begin_default().unwrap();
        txn.put(&key(i), b"before checkpoint".to_vec()).unwrap();
        txn.commit().unwrap();
    }
    let segments_before = store.status().unwrap().log.unwrap().segments;
    let covered = store.checkpoint().unwrap();
    let status = store.status().unwrap();
    assert!(covered >= 100);
    assert!(
        status.log.as_ref().unwrap().segments < segments_before,
        "checkpoint truncated nothing"
    );
    for i in 100..150 {
        let txn = store.begin_default().unwrap();
        txn.put(&key(i), b"after checkpoint".to_vec()).unwrap();
        txn.delete(&key(i - 100)).unwrap();
        txn.commit().unwrap();
    }
    drop(store);
    let store = open();
    assert!(store.status().unwrap().replayed_records <= 50, "replayed more than the tail");
    let txn = store.begin_default().unwrap();
    assert_eq!(txn.get(&key(0)).unwrap(), None);
    assert_eq!(txn.get(&key(60)).unwrap(), Some(b"before checkpoint".to_vec()));
    assert_eq!(txn.get(&key(149)).unwrap(), Some(b"after checkpoint".to_vec()));
    assert_eq!(txn.scan_prefix(b"k").unwrap().count(), 100);
    // New commits get timestamps after every recovered one.
    let before = txn.snapshot_ts();
    drop(txn);
    let txn = store.begin_default().unwrap();
    txn.put(b"z", b"1".to_vec()).unwrap();
    assert!(txn.commit().unwrap() > before);
}

#[test]
fn failed_fsync_poisons_commits_but_reads_continue() {
    let fs = SimFs::new();
    let store = Mvcc::open(Box::new(Memory::new()), Some(sim_log(&fs)), options()).unwrap();
    let txn = store.begin_default().unwrap();
    txn.put(b"a", b"1".to_vec()).unwrap();
    txn.commit().unwrap();
    fs.fail_sync_after(0);
    let txn = store.begin_default().unwrap();
    txn.put(b"b", b"2".to_vec()).unwrap();
    let err = txn.commit().unwrap_err();
    assert_eq!((err.kind(), err.code()), (ErrorKind::ReadOnly, SqlState::IO_ERROR));
    fs.heal();
    let err = store.begin_default().err().unwrap();
    assert!(err.message().contains("refused"), "{}", err.message());
    let reader = store.begin(TxnOptions { read_only: true, ..Default::default() }).unwrap();
    assert_eq!(reader.get(b"a").unwrap(), Some(b"1".to_vec()));
    assert_eq!(reader.get(b"b").unwrap(), None);
}

#[test]
fn group_commit_shares_fsyncs_across_transactions() {
    let dir = tempfile::tempdir().unwrap();
    let (log, _) = Log::open(dir.path(), LogOptions::default()).unwrap();
    let store = Mvcc::open(Box::new(Memory::new()), Some(log), options()).unwrap();
    std::thread::scope(|s| {
        for t in 0..16u64 {
            let store = store.clone();
            s.spawn(move || {
                for i in 0..20 {
                    let txn = store.begin_default().unwrap();
                    txn.put(&key(t * 1000 + i), b"v".to_vec()).unwrap();
                    txn.commit().unwrap();
                }
            });
        }
    });
    let status = store.status().unwrap();
    let log = status.log.unwrap();
    assert_eq!(status.commits, 320);
    assert_eq!(log.synced_records, 320);
    assert!(log.fsyncs < 320, "{} fsyncs for 320 commits", log.fsyncs);
    assert_eq!(count(&store), 320);
}

#[test]
fn a_key_updated_many_times_keeps_few_versions() {
    let engine = Arc::new(Memory::new());
    let store = Mvcc::open(Box::new(engine.clone()), None, options()).unwrap();
    for i in 0..20_000u64 {
        let txn = store.begin_default().unwrap();
        txn.put(b"hot", i.to_le_bytes().to_vec()).unwrap();
        txn.commit().unwrap();
        if i % 1000 == 999 {
            store.gc().unwrap();
        }
    }
    store.gc().unwrap();
    let keys = engine.status().unwrap().keys;
    assert!(keys <= 4, "{keys} engine keys for one row after 20,000 updates"); // version + 2 meta
    let txn = store.begin_default().unwrap();
    assert_eq!(txn.get(b"hot").unwrap(), Some(19_999u64.to_le_bytes().to_vec()));
}

#[test]
fn deleted_keys_lose_their_heads_but_keys_written_again_keep_theirs() {
    let engine = Arc::new(Memory::new());
    let store = Mvcc::open(Box::new(engine.clone()), None, options()).unwrap();
    let txn = store.begin_default().unwrap();
    for i in 0..2000 {
        txn.put(&key(i), b"row".to_vec()).unwrap();
    }
    txn.commit().unwrap();
    let txn = store.begin_default().unwrap();
    for i in 0..2000 {
        txn.delete(&key(i)).unwrap();
    }
    txn.commit().unwrap();
    // Written again after the deletion: their tombstones' GC items must not remove them.
    let txn = store.begin_default().unwrap();
    for i in 0..100 {
        txn.put(&key(i), b"again".to_vec()).unwrap();
    }
    txn.commit().unwrap();
    for _ in 0..3 {
        store.gc().unwrap();
    }
    assert_eq!(count(&store), 100);
    let keys = engine.status().unwrap().keys;
    assert!(keys <= 104, "{keys} engine keys for 100 rows"); // heads + meta
}

/// Every engine key under `prefix` (heads and versions).
fn engine_keys(engine: &dyn Engine, prefix: &[u8]) -> usize {
    engine.scan_prefix(prefix).count()
}

#[test]
fn a_dropped_prefix_stays_readable_to_older_snapshots_and_is_reclaimed_after() {
    let engine = Arc::new(Memory::new());
    let store = Mvcc::open(Box::new(engine.clone()), None, options()).unwrap();
    let txn = store.begin_default().unwrap();
    for i in 0..3000 {
        txn.put(&key(i), b"row".to_vec()).unwrap();
    }
    txn.put(b"other", b"kept".to_vec()).unwrap();
    txn.commit().unwrap();
    let txn = store.begin_default().unwrap();
    txn.put(&key(1), b"updated".to_vec()).unwrap(); // leaves a version behind the head
    txn.commit().unwrap();
    let old = store.begin_default().unwrap();
    assert_eq!(old.scan_prefix(b"k").unwrap().count(), 3000);

    // Rolled back: nothing is dropped.
    let txn = store.begin_default().unwrap();
    txn.drop_prefix(b"k").unwrap();
    txn.rollback().unwrap();
    // Committed, with a write under the prefix in the same transaction.
    let txn = store.begin_default().unwrap();
    txn.put(&key(5000), b"written then dropped".to_vec()).unwrap();
    txn.drop_prefix(b"k").unwrap();
    txn.commit().unwrap();

    // The old snapshot still reads the range as it was, through any number of GC passes.
    store.gc().unwrap();
    store.gc().unwrap();
    assert_eq!(old.scan_prefix(b"k").unwrap().count(), 3000);
    assert_eq!(old.get(&key(1)).unwrap(), Some(b"updated".to_vec()));
    assert_eq!(store.status().unwrap().gc_ranges_reclaimed, 0);
    drop(old);

    store.gc().unwrap();
    assert_eq!(store.status().unwrap().gc_ranges_reclaimed, 1);
    assert_eq!(engine_keys(&*engine, b"k"), 0, "the dropped range is gone from the engine");
    assert_eq!(
        engine_keys(&*engine, &[oxibase_mvcc::dropped::MARKER_PREFIX]),
        0,
        "and so is its marker"
    );
    let txn = store.begin_default().unwrap();
    assert_eq!(txn.get(b"other").unwrap(), Some(b"kept".to_vec()));
    store.gc().unwrap();
    assert_eq!(store.status().unwrap().gc_ranges_reclaimed, 1, "reclaimed once");
}

#[test]
fn writes_in_a_range_the_transaction_created_or_under_new_keys_take_no_row_locks() {
    let store = Mvcc::open(Box::new(Memory::new()), None, options()).unwrap();
    let txn = store.begin_default().unwrap();
    txn.put(b"old1", b"committed".to_vec()).unwrap();
    txn.commit().unwrap();

    let txn = store.begin_default().unwrap();
    txn.own_prefix(b"new").unwrap();
    for i in 0..100u32 {
        txn.put(&[&b"new"[..], &i.to_be_bytes()].concat(), b"row".to_vec()).unwrap();
    }
    txn.put_new(b"fresh", b"row".to_vec()).unwrap();
    assert!(store.locks().is_empty(), "no row locks for keys no one else can reach");
    // Uniqueness checks inside the range still see the transaction's own writes.
    assert_eq!(txn.get_latest(b"new\0\0\0\x05").unwrap(), Some(b"row".to_vec()));
    assert_eq!(txn.get_latest(b"new\xff").unwrap(), None);
    // Outside it, writes lock as always.
    txn.put(b"old1", b"updated".to_vec()).unwrap();
    assert_eq!(store.locks().len(), 1);
    // Writing a key under a new id again, in a later statement, locks it then.
    txn.begin_statement().unwrap();
    txn.delete(b"fresh").unwrap();
    assert_eq!(store.locks().len(), 2);
    txn.commit().unwrap();
    assert!(store.locks().is_empty());

    let txn = store.begin_default().unwrap();
    assert_eq!(txn.scan_prefix(b"new").unwrap().count(), 100);
    assert_eq!(txn.get(b"fresh").unwrap(), None);
    assert_eq!(txn.get(b"old1").unwrap(), Some(b"updated".to_vec()));
    // A rolled-back load leaves nothing.
    let load = store.begin_default().unwrap();
    load.own_prefix(b"tmp").unwrap();
    load.put(b"tmp1", b"row".to_vec()).unwrap();
    load.rollback().unwrap();
    assert_eq!(txn.scan_prefix(b"tmp").unwrap().count(), 0);
}

#[test]
fn a_dropped_prefix_is_reclaimed_after_a_crash_and_replay() {
    let fs = SimFs::new();
    let engine = Arc::new(Memory::new());
    let store = Mvcc::open(Box::new(engine.clone()), Some(sim_log(&fs)), options()).unwrap();
    let txn = store.begin_default().unwrap();
    for i in 0..500 {
        txn.put(&key(i), b"row".to_vec()).unwrap();
    }
    txn.commit().unwrap();
    let txn = store.begin_default().unwrap();
    txn.drop_prefix(b"k").unwrap();
    txn.commit().unwrap();
    drop(store);
    fs.crash(0);
    // A fresh engine: everything, the marker included, comes back from the log.
    let engine = Arc::new(Memory::new());
    let store = Mvcc::open(Box::new(engine.clone()), Some(sim_log(&fs)), options()).unwrap();
    assert_eq!(engine_keys(&*engine, b"k"), 500);
    store.gc().unwrap();
    assert_eq!(engine_keys(&*engine, b"k"), 0);
}

#[test]
fn a_tombstone_older_than_the_remembered_groups_is_read_again_before_its_deletion() {
    let engine = Arc::new(Memory::new());
    let store = Mvcc::open(Box::new(engine.clone()), None, options()).unwrap();
    for k in [b"a".to_vec(), b"b".to_vec()] {
        let txn = store.begin_default().unwrap();
        txn.put(&k, b"row".to_vec()).unwrap();
        txn.commit().unwrap();
    }
    let old = store.begin_default().unwrap(); // keeps the horizon below the deletions
    old.get(b"a").unwrap();
    let txn = store.begin_default().unwrap();
    txn.delete(b"a").unwrap();
    txn.delete(b"b").unwrap();
    txn.commit().unwrap();
    // "b" is written again, then more groups commit than are remembered: that "b" was
    // written after its tombstone is forgotten, and only reading its head again tells.
    let txn = store.begin_default().unwrap();
    txn.put(b"b", b"again".to_vec()).unwrap();
    txn.commit().unwrap();
    for i in 0..5000 {
        let txn = store.begin_default().unwrap();
        txn.put(b"other", i.to_string().into_bytes()).unwrap();
        txn.commit().unwrap();
    }
    drop(old);
    for _ in 0..3 {
        store.gc().unwrap();
    }
    let txn = store.begin_default().unwrap();
    assert_eq!(txn.get(b"a").unwrap(), None);
    assert_eq!(txn.get(b"b").unwrap(), Some(b"again".to_vec()));
    drop(txn);
    let keys = engine.status().unwrap().keys;
    assert!(keys <= 4, "{keys} engine keys: \"a\"'s tombstone head should be gone"); // b, other, meta
}

#[test]
fn background_maintenance_collects_garbage() {
    let engine = Arc::new(Memory::new());
    let opts =
        MvccOptions { maintenance_interval: Some(Duration::from_millis(5)), ..Default::default() };
    let store = Mvcc::open(Box::new(engine.clone()), None, opts).unwrap();
    for i in 0..2000u64 {
        let txn = store.begin_default().unwrap();
        txn.put(b"hot", i.to_le_bytes().to_vec()).unwrap();
        txn.commit().unwrap();
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while engine.status().unwrap().keys > 4 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(engine.status().unwrap().keys <= 4);
}

#[test]
fn concurrent_transfers_preserve_the_total_under_snapshot_isolation() {
    bank(Isolation::Snapshot);
}

#[test]
fn concurrent_transfers_preserve_the_total_under_serializable() {
    bank(Isolation::Serializable);
}

/// Threads move money between 10 accounts, retrying on 40001/40P01; concurrent readers must
/// always see the same total, and so must the end state.
fn bank(isolation: Isolation) {
    let store = Mvcc::open(Box::new(Memory::new()), None, MvccOptions::default()).unwrap();
    let setup = store.begin_default().unwrap();
    for a in 0..10 {
        setup.put(&key(a), 100i64.to_le_bytes().to_vec()).unwrap();
    }
    setup.commit().unwrap();
    let read = |txn: &oxibase_mvcc::Transaction, a: u64| -> i64 {
        i64::from_le_bytes(txn.get(&key(a)).unwrap().unwrap().try_into().unwrap())
    };
    let retries = AtomicU64::new(0);
    std::thread::scope(|s| {
        for t in 0..4u64 {
            let (store, retries) = (&store, &retries);
            s.spawn(move || {
                let mut rng = t * 7919 + 1;
                for _ in 0..200 {
                    rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    let (from, to) = ((rng >> 33) % 10, (rng >> 45) % 10);
                    if from == to {
                        continue;
                    }
                    loop {
                        let txn =
                            store.begin(TxnOptions { isolation, ..Default::default() }).unwrap();
                        let result = (|| {
                            txn.begin_statement()?;
                            let (f, tt) = (read(&txn, from), read(&txn, to));
                            txn.put(&key(from), (f - 5).to_le_bytes().to_vec())?;
                            txn.put(&key(to), (tt + 5).to_le_bytes().to_vec())?;
                            Ok::<_, oxibase_common::Error>(())
                        })();
                        match result.and_then(|()| txn.commit().map(|_| ())) {
                            Ok(()) => break,
                            Err(e) if e.is_retryable() => {
                                retries.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(e) => panic!("{e}"),
                        }
                    }
                }
            });
        }
        s.spawn(|| {
            for _ in 0..200 {
                let txn =
                    store.begin(TxnOptions { read_only: true, ..Default::default() }).unwrap();
                let total: i64 = (0..10).map(|a| read(&txn, a)).sum();
                assert_eq!(total, 1000, "a reader saw money appear or vanish");
            }
        });
    });
    let txn = store.begin_default().unwrap();
    assert_eq!((0..10).map(|a| read(&txn, a)).sum::<i64>(), 1000);
}

#[test]
fn serializable_prevents_write_skew_under_concurrency() {
    // Invariant: x + y >= 0. Each transaction reads both and subtracts 1 from one of them if
    // the sum stays non-negative. Write skew would drive the sum negative.
    let store = Mvcc::open(Box::new(Memory::new()), None, MvccOptions::default()).unwrap();
    let setup = store.begin_default().unwrap();
    setup.put(b"x", 5i64.to_le_bytes().to_vec()).unwrap();
    setup.put(b"y", 5i64.to_le_bytes().to_vec()).unwrap();
    setup.commit().unwrap();
    let get = |txn: &oxibase_mvcc::Transaction, k: &[u8]| {
        i64::from_le_bytes(txn.get(k).unwrap().unwrap().try_into().unwrap())
    };
    std::thread::scope(|s| {
        for t in 0..4 {
            let store = &store;
            s.spawn(move || {
                for i in 0..50 {
                    let txn = store
                        .begin(TxnOptions {
                            isolation: Isolation::Serializable,
                            ..Default::default()
                        })
                        .unwrap();
                    let (x, y) = (get(&txn, b"x"), get(&txn, b"y"));
                    if x + y > 0 {
                        let target: &[u8] = if (t + i) % 2 == 0 { b"x" } else { b"y" };
                        let v = if target == b"x" { x } else { y };
                        if txn.put(target, (v - 1).to_le_bytes().to_vec()).is_err() {
                            continue;
                        }
                    }
                    let _ = txn.commit();
                }
            });
        }
    });
    let txn = store.begin_default().unwrap();
    assert!(get(&txn, b"x") + get(&txn, b"y") >= 0, "write skew under serializable");
}

#[test]
fn dropping_a_transaction_releases_its_locks() {
    let store = Mvcc::open(Box::new(Memory::new()), None, options()).unwrap();
    let t1 = store.begin_default().unwrap();
    t1.put(b"a", b"1".to_vec()).unwrap();
    t1.lock(b"b", LockMode::Share, LockWait::NoWait).unwrap();
    let t2 = store.begin_default().unwrap();
    assert!(t2.lock(b"a", LockMode::Update, LockWait::NoWait).is_err());
    drop(t1); // a client that disconnected
    assert!(store.locks().is_empty());
    t2.lock(b"a", LockMode::Update, LockWait::NoWait).unwrap();
    t2.lock(b"b", LockMode::Update, LockWait::NoWait).unwrap();
    assert_eq!(t2.get(b"a").unwrap(), None, "the dropped transaction's write is gone");
}

#[test]
fn engine_ahead_of_log_is_refused() {
    let fs = SimFs::new();
    let engine = Arc::new(Memory::new());
    let store = Mvcc::open(Box::new(engine.clone()), Some(sim_log(&fs)), options()).unwrap();
    let txn = store.begin_default().unwrap();
    txn.put(b"a", b"1".to_vec()).unwrap();
    txn.commit().unwrap();
    drop(store);
    let other_fs = SimFs::new(); // an empty log directory
    let err = Mvcc::open(Box::new(engine), Some(sim_log(&other_fs)), options()).err().unwrap();
    assert_eq!(err.code(), SqlState::DATA_CORRUPTED);
    assert!(err.message().contains("log ends"), "{}", err.message());
}

#[test]
fn invalid_keys_and_read_only_writes_are_errors() {
    let store = Mvcc::open(Box::new(Memory::new()), None, options()).unwrap();
    let txn = store.begin_default().unwrap();
    assert!(txn.put(b"", b"x".to_vec()).is_err());
    assert!(txn.put(b"\x00meta", b"x".to_vec()).is_err());
    let err = txn.put(&vec![1u8; 70_000], b"x".to_vec()).unwrap_err();
    assert_eq!(err.code(), SqlState::PROGRAM_LIMIT_EXCEEDED);
    let ro = store.begin(TxnOptions { read_only: true, ..Default::default() }).unwrap();
    assert_eq!(
        ro.put(b"a", b"1".to_vec()).unwrap_err().code(),
        SqlState::READ_ONLY_SQL_TRANSACTION
    );
}

#[test]
fn insert_select_does_not_read_its_own_output() {
    // The Halloween problem: copy every row to a new key while scanning the same range.
    let store = Mvcc::open(Box::new(Memory::new()), None, options()).unwrap();
    let txn = store.begin_default().unwrap();
    txn.begin_statement().unwrap();
    for i in 0..10 {
        txn.put(&key(i), b"v".to_vec()).unwrap();
    }
    txn.begin_statement().unwrap();
    let rows: Vec<_> = txn.scan_prefix(b"k").unwrap().collect::<Result<_, _>>().unwrap();
    let mut copied = 0;
    for (i, _) in txn.scan_prefix(b"k").unwrap().map(Result::unwrap).enumerate() {
        txn.put(&key(100 + i as u64), b"copy".to_vec()).unwrap(); // lands inside the scanned range
        copied += 1;
    }
    assert_eq!((rows.len(), copied), (10, 10));
    txn.begin_statement().unwrap();
    assert_eq!(txn.scan_prefix(b"k").unwrap().count(), 20);
}

#[test]
fn as_of_a_wall_clock_time_reads_the_state_at_that_time() {
    // Commit timestamps are microseconds since the Unix epoch, so any point in time is a
    // snapshot: reading "as of 10:00:00.5" sees exactly the commits made before it.
    let store = Mvcc::open(
        Box::new(Memory::new()),
        None,
        MvccOptions { version_retention: Duration::from_secs(3600), ..options() },
    )
    .unwrap();
    let write = |v: &str| {
        let txn = store.begin_default().unwrap();
        txn.put(b"k", v.as_bytes().to_vec()).unwrap();
        txn.commit().unwrap()
    };
    let first = write("first");
    std::thread::sleep(Duration::from_millis(5));
    let between = oxibase_mvcc::clock::wall_clock_micros();
    std::thread::sleep(Duration::from_millis(5));
    let second = write("second");
    assert!(first < between && between < second);
    store.gc().unwrap(); // the retention window keeps the old version
    let past = store.begin(TxnOptions { as_of: Some(between), ..Default::default() }).unwrap();
    assert_eq!(past.get(b"k").unwrap(), Some(b"first".to_vec()));
    assert!(past.is_read_only());
    let before_everything =
        store.begin(TxnOptions { as_of: Some(first - 1), ..Default::default() }).unwrap();
    assert_eq!(before_everything.get(b"k").unwrap(), None);
    let future = store.begin(TxnOptions { as_of: Some(second + 60_000_000), ..Default::default() });
    assert_eq!(future.err().unwrap().code(), SqlState::INVALID_PARAMETER_VALUE);
}

#[test]
fn as_of_before_replayed_commits_is_refused_not_answered_wrongly() {
    // Recovery replays heads without the versions they superseded, so a time before the last
    // replayed commit can no longer be answered exactly; after a clean checkpoint it can.
    let fs = SimFs::new();
    let retained = MvccOptions { version_retention: Duration::from_secs(3600), ..options() };
    let store = Mvcc::open(Box::new(Memory::new()), Some(sim_log(&fs)), retained.clone()).unwrap();
    let write = |store: &Mvcc, v: &str| {
        let txn = store.begin_default().unwrap();
        txn.put(b"k", v.as_bytes().to_vec()).unwrap();
        txn.commit().unwrap()
    };
    let first = write(&store, "first");
    let second = write(&store, "second");
    drop(store);
    let store = Mvcc::open(Box::new(Memory::new()), Some(sim_log(&fs)), retained).unwrap();
    assert!(store.status().unwrap().replayed_records >= 2);
    let past = store.begin(TxnOptions { as_of: Some(first), ..Default::default() });
    assert_eq!(past.err().unwrap().code(), SqlState::SNAPSHOT_TOO_OLD);
    let now = store.begin(TxnOptions { as_of: Some(second), ..Default::default() }).unwrap();
    assert_eq!(now.get(b"k").unwrap(), Some(b"second".to_vec()));
}

#[test]
fn versions_survive_a_checkpointed_restart_for_time_travel() {
    let dir = tempfile::tempdir().unwrap();
    let open = || {
        let engine = Lsm::open(&dir.path().join("data"), &LsmOptions::default()).unwrap();
        let (log, _) = Log::open(&dir.path().join("wal"), LogOptions::default()).unwrap();
        let retained = MvccOptions { version_retention: Duration::from_secs(3600), ..options() };
        Mvcc::open(Box::new(engine), Some(log), retained).unwrap()
    };
    let store = open();
    let mut stamps = Vec::new();
    for v in ["one", "two", "three"] {
        let txn = store.begin_default().unwrap();
        txn.put(b"k", v.as_bytes().to_vec()).unwrap();
        stamps.push(txn.commit().unwrap());
    }
    let txn = store.begin_default().unwrap();
    txn.delete(b"k").unwrap();
    let deleted = txn.commit().unwrap();
    store.checkpoint().unwrap();
    drop(store);
    let store = open();
    assert_eq!(store.status().unwrap().replayed_records, 0);
    for (ts, v) in stamps.iter().zip(["one", "two", "three"]) {
        let past = store.begin(TxnOptions { as_of: Some(*ts), ..Default::default() }).unwrap();
        assert_eq!(past.get(b"k").unwrap(), Some(v.as_bytes().to_vec()), "as of {ts}");
    }
    let gone = store.begin(TxnOptions { as_of: Some(deleted), ..Default::default() }).unwrap();
    assert_eq!(gone.get(b"k").unwrap(), None);
}

#[test]
fn nested_commands_see_the_callers_writes_and_the_caller_does_not_see_theirs() {
    // A routine's statement runs as a nested command in the middle of its caller's
    // statement: it sees the caller's writes so far; the caller, back at its own command,
    // sees neither its own writes nor the nested ones; the next statement sees all of them.
    let store = Mvcc::open(Box::new(Memory::new()), None, options()).unwrap();
    let txn = store.begin_default().unwrap();
    txn.begin_statement().unwrap();
    txn.put(b"k1", b"caller".to_vec()).unwrap();
    let outer = txn.begin_nested().unwrap();
    assert_eq!(txn.get(b"k1").unwrap(), Some(b"caller".to_vec()));
    txn.put(b"k2", b"nested".to_vec()).unwrap();
    let savepoint = txn.savepoint().unwrap();
    txn.put(b"k3", b"undone".to_vec()).unwrap();
    txn.rollback_to(&savepoint).unwrap();
    txn.end_nested(outer);
    assert_eq!(txn.get(b"k1").unwrap(), None);
    assert_eq!(txn.get(b"k2").unwrap(), None);
    txn.put(b"k4", b"caller again".to_vec()).unwrap();
    txn.begin_statement().unwrap();
    let seen: Vec<_> = txn.scan_prefix(b"k").unwrap().map(|r| r.unwrap().0).collect();
    assert_eq!(seen, [b"k1".to_vec(), b"k2".to_vec(), b"k4".to_vec()]);
    txn.commit().unwrap();
    assert_eq!(count(&store), 3);
}

#[test]
fn a_queue_scan_skips_the_jobs_already_taken() {
    // Consumers take jobs from the front; a later scan starts past the taken prefix instead
    // of stepping over every tombstone and superseded version, old snapshot or not.
    let store = Mvcc::open(Box::new(Memory::new()), None, options()).unwrap();
    let txn = store.begin_default().unwrap();
    for i in 0..1000 {
        txn.put(&key(i), b"job".to_vec()).unwrap();
    }
    txn.commit().unwrap();
    let old = store.begin_default().unwrap(); // an old snapshot: GC keeps every version
    let first = |txn: &oxibase_mvcc::Transaction| {
        let mut scan = txn.scan_prefix(b"k").unwrap();
        let row = scan.next().transpose().unwrap().map(|(k, _)| k);
        (row, scan.entries_read())
    };
    for i in 0..500 {
        let txn = store.begin_default().unwrap();
        assert_eq!(first(&txn).0, Some(key(i)));
        txn.delete(&key(i)).unwrap();
        txn.commit().unwrap();
    }
    let txn = store.begin_default().unwrap();
    let (row, read) = first(&txn);
    assert_eq!(row, Some(key(500)));
    assert!(read < 10, "the scan read {read} entries to find the first job");
    // The old snapshot still sees every job: the hint is not for snapshots before it.
    assert_eq!(first(&old).0, Some(key(0)));
    assert_eq!(old.scan_prefix(b"k").unwrap().count(), 1000);
    // A job enqueued below the hint is found; so is this transaction's own uncommitted one.
    let writer = store.begin_default().unwrap();
    writer.put(&key(7), b"again".to_vec()).unwrap();
    writer.commit().unwrap();
    let txn = store.begin_default().unwrap();
    assert_eq!(first(&txn).0, Some(key(7)));
    txn.begin_statement().unwrap();
    txn.put(&key(3), b"own".to_vec()).unwrap();
    txn.begin_statement().unwrap();
    assert_eq!(first(&txn).0, Some(key(3)));
    // An emptied queue is found empty at once.
    let txn = store.begin_default().unwrap();
    txn.delete(&key(7)).unwrap();
    for i in 500..1000 {
        txn.delete(&key(i)).unwrap();
    }
    txn.commit().unwrap();
    for _ in 0..2 {
        let txn = store.begin_default().unwrap();
        assert_eq!(first(&txn).0, None);
    }
    let txn = store.begin_default().unwrap();
    assert_eq!(first(&txn), (None, 0));
    drop(old);
}

#[test]
fn queue_scans_with_hints_agree_with_point_reads_under_concurrent_enqueues() {
    // Producers enqueue anywhere in a small key space (often below the consumers' front)
    // while consumers take the first job: whatever a consumer's scan returns first, no key
    // below it may be visible to its snapshot (checked with point reads, which use no hint).
    const KEYS: u64 = 400;
    let store = Mvcc::open(Box::new(Memory::new()), None, options()).unwrap();
    let txn = store.begin_default().unwrap();
    for i in 0..KEYS {
        txn.put(&key(i), b"job".to_vec()).unwrap();
    }
    txn.commit().unwrap();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let producers: Vec<_> = (0..2)
        .map(|p| {
            let (store, stop) = (store.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut x = 0x9e37_79b9_u64 + p;
                while !stop.load(Ordering::Relaxed) {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let txn = store.begin_default().unwrap();
                    if txn.put(&key(x % KEYS), b"job".to_vec()).is_ok() {
                        let _ = txn.commit();
                    }
                    std::thread::sleep(Duration::from_micros(200));
                }
            })
        })
        .collect();
    let consumers: Vec<_> = (0..3)
        .map(|_| {
            let store = store.clone();
            std::thread::spawn(move || {
                let mut checked = 0;
                for _ in 0..600 {
                    let txn = store.begin_default().unwrap();
                    let first = txn.scan_prefix(b"k").unwrap().next().transpose().unwrap();
                    let end = first.as_ref().map_or(KEYS, |(k, _)| {
                        std::str::from_utf8(&k[1..]).unwrap().parse().unwrap()
                    });
                    for i in 0..end {
                        assert_eq!(txn.get(&key(i)).unwrap(), None, "key {i} is below {end}");
                    }
                    checked += 1;
                    if let Some((k, _)) = first
                        && txn.delete(&k).is_ok()
                    {
                        let _ = txn.commit();
                    }
                }
                checked
            })
        })
        .collect();
    let checked: usize = consumers.into_iter().map(|c| c.join().unwrap()).sum();
    stop.store(true, Ordering::Relaxed);
    for p in producers {
        p.join().unwrap();
    }
    assert_eq!(checked, 1800);
}
