//! Runs the engine conformance suite against both engines, mirrors them against each other,
//! and checks what only a persistent engine promises: flushed data survives a reopen.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use oxibase_engine::conformance::{self, checks};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};

use oxibase_engine::{
    Cached, Engine, KeyRange, Lsm, LsmOptions, Memory, ScanIter, Status, WriteBatch,
};

fn lsm(dir: &tempfile::TempDir) -> Lsm {
    Lsm::open(dir.path(), &LsmOptions::default()).unwrap()
}

#[test]
fn memory_passes_the_conformance_suite() {
    for (name, check) in checks::<Memory>() {
        eprintln!("memory: {name}");
        check(&Memory::new());
    }
}

#[test]
fn lsm_passes_the_conformance_suite() {
    for (name, check) in checks::<Lsm>() {
        eprintln!("lsm: {name}");
        let dir = tempfile::tempdir().unwrap();
        check(&lsm(&dir));
    }
}

#[test]
fn cached_engines_pass_the_conformance_suite() {
    // Small budgets, so eviction runs too.
    for (name, check) in checks::<Cached<Memory>>() {
        eprintln!("cached memory: {name}");
        check(&Cached::new(Memory::new(), 64 << 10));
    }
    for (name, check) in checks::<Cached<Lsm>>() {
        eprintln!("cached lsm: {name}");
        let dir = tempfile::tempdir().unwrap();
        check(&Cached::new(lsm(&dir), 1 << 20));
    }
}

#[test]
fn memory_and_lsm_agree_in_lockstep() {
    // Two different engine types: mirror each against the model with the same seed and steps,
    // then compare the two final states directly.
    let dir = tempfile::tempdir().unwrap();
    let (memory, disk) = (Memory::new(), lsm(&dir));
    conformance::mirror(&[&memory], 42, 5000);
    conformance::mirror(&[&disk], 42, 5000);
    let all = (std::ops::Bound::Unbounded, std::ops::Bound::Unbounded);
    let a: Vec<_> = memory.scan(all.clone()).map(Result::unwrap).collect();
    let b: Vec<_> = disk.scan(all).map(Result::unwrap).collect();
    assert_eq!(a, b);
}

#[test]
fn lsm_flushed_data_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let engine = lsm(&dir);
        let mut batch = WriteBatch::new();
        for i in 0..10_000u32 {
            batch.put(i.to_be_bytes().to_vec(), vec![7; 100]);
        }
        engine.write(batch).unwrap();
        let mut batch = WriteBatch::new();
        batch.delete(5u32.to_be_bytes().to_vec());
        engine.write(batch).unwrap();
        engine.flush().unwrap();
    }
    let engine = lsm(&dir);
    assert_eq!(engine.get(&4u32.to_be_bytes()).unwrap(), Some(vec![7; 100]));
    assert_eq!(engine.get(&5u32.to_be_bytes()).unwrap(), None);
    assert_eq!(engine.scan_prefix(&[]).count(), 9_999);
    assert!(engine.status().unwrap().persistent);
}

#[test]
fn lsm_counts_block_cache_hits_and_misses() {
    let dir = tempfile::tempdir().unwrap();
    // A small memtable, so the data reaches sorted tables (and reads go through blocks).
    let engine =
        Lsm::open(dir.path(), &LsmOptions { cache_size: 8 << 20, memtable_size: 1 << 20 }).unwrap();
    let value = vec![7u8; 1000];
    for chunk in 0..8 {
        let mut batch = WriteBatch::new();
        for i in 0..1000u32 {
            batch.put((chunk * 1000 + i).to_be_bytes().to_vec(), value.clone());
        }
        engine.write(batch).unwrap();
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let read_all = || {
        for i in (0..8000u32).step_by(97) {
            assert!(engine.get(&i.to_be_bytes()).unwrap().is_some());
        }
    };
    loop {
        read_all();
        let status = engine.status().unwrap();
        if status.cache_misses > 0 && status.cache_hits > 0 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no block reads counted: {status:?}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // The memory engine has no block cache and says so.
    let status = Memory::new().status().unwrap();
    assert_eq!((status.cache_hits, status.cache_misses), (0, 0));
}

#[test]
fn lsm_delete_range_drops_whole_tables_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let options = LsmOptions { cache_size: 8 << 20, memtable_size: 1 << 20 };
    let key = |p: u8, i: u32| [&[p][..], &i.to_be_bytes()].concat();
    let value = vec![9u8; 200];
    let range = || oxibase_engine::prefix_range(&[2]);
    {
        let engine = Lsm::open(dir.path(), &options).unwrap();
        // Prefix 2's keys are written in batches of their own and flushed, so they fill
        // tables of their own (which `delete_range` drops as files); tables holding prefix 1
        // or 3 may straddle its ends.
        for (p, n) in [(1u8, 2_000u32), (2, 100_000), (3, 2_000)] {
            for chunk in (0..n).collect::<Vec<_>>().chunks(5_000) {
                let mut batch = WriteBatch::new();
                chunk.iter().for_each(|&i| batch.put(key(p, i), value.clone()));
                engine.write(batch).unwrap();
            }
            engine.flush_memtable().unwrap();
        }
        // A delete marker in a newer table for a key whose value is in an older one, and keys
        // in the memtable.
        let mut batch = WriteBatch::new();
        batch.delete(key(2, 5));
        batch.put(key(2, 100_000), b"memtable".to_vec());
        batch.put(key(1, 0), b"newer".to_vec());
        engine.write(batch).unwrap();
        // Tables a background compaction merged across the range's ends straddle them, and
        // their keys in the range go one by one; most of the range goes as files.
        let one_by_one = engine.delete_range(range()).unwrap();
        assert!(one_by_one < 50_000, "{one_by_one} of 100,000 keys deleted one by one");
        assert_eq!(engine.scan(range()).count(), 0);
        assert_eq!(engine.get(&key(2, 5)).unwrap(), None);
        assert_eq!(engine.get(&key(2, 100_000)).unwrap(), None);
        assert_eq!(engine.get(&key(1, 0)).unwrap(), Some(b"newer".to_vec()));
        engine.flush().unwrap();
    }
    let engine = Lsm::open(dir.path(), &options).unwrap();
    assert_eq!(engine.scan(range()).count(), 0);
    assert_eq!(engine.scan(oxibase_engine::prefix_range(&[1])).count(), 2_000);
    assert_eq!(engine.scan(oxibase_engine::prefix_range(&[3])).count(), 2_000);
}

/// An engine whose writes, once begun, wait for a signal, and whose reads, once done, wait
/// for another: to run a read of the engine exactly across a write.
struct Stepped {
    inner: Memory,
    stepping: Arc<AtomicBool>,
    write_started: Mutex<Sender<()>>,
    write_may_go: Mutex<Receiver<()>>,
    read_done: Mutex<Sender<()>>,
    read_may_return: Mutex<Receiver<()>>,
}

impl Engine for Stepped {
    fn get(&self, key: &[u8]) -> oxibase_common::Result<Option<Vec<u8>>> {
        let value = self.inner.get(key);
        if self.stepping.load(Ordering::SeqCst) {
            self.read_done.lock().unwrap().send(()).unwrap();
            self.read_may_return.lock().unwrap().recv().unwrap();
        }
        value
    }
    fn scan(&self, range: KeyRange) -> ScanIter<'_> {
        self.inner.scan(range)
    }
    fn write(&self, batch: WriteBatch) -> oxibase_common::Result<()> {
        if self.stepping.load(Ordering::SeqCst) {
            self.write_started.lock().unwrap().send(()).unwrap();
            self.write_may_go.lock().unwrap().recv().unwrap();
        }
        self.inner.write(batch)
    }
    fn flush(&self) -> oxibase_common::Result<()> {
        self.inner.flush()
    }
    fn status(&self) -> oxibase_common::Result<Status> {
        self.inner.status()
    }
}

#[test]
fn a_value_read_while_a_write_is_applied_is_not_cached() {
    let (write_started, write_was_started) = channel();
    let (write_go, write_may_go) = channel();
    let (read_done, read_was_done) = channel();
    let (read_go, read_may_return) = channel();
    let stepping = Arc::new(AtomicBool::new(false));
    let engine = Cached::new(
        Stepped {
            inner: Memory::new(),
            stepping: stepping.clone(),
            write_started: Mutex::new(write_started),
            write_may_go: Mutex::new(write_may_go),
            read_done: Mutex::new(read_done),
            read_may_return: Mutex::new(read_may_return),
        },
        1 << 20,
    );
    let mut batch = WriteBatch::new();
    batch.put(b"k".to_vec(), b"old".to_vec());
    engine.write(batch).unwrap();
    stepping.store(true, Ordering::SeqCst);
    // The write begins; a read misses the cache and reads the engine before the write lands;
    // the write lands and ends; then the read returns what it read.
    std::thread::scope(|s| {
        let writer = s.spawn(|| {
            let mut batch = WriteBatch::new();
            batch.put(b"k".to_vec(), b"new".to_vec());
            engine.write(batch).unwrap();
        });
        write_was_started.recv().unwrap();
        let reader = s.spawn(|| engine.get(b"k").unwrap());
        read_was_done.recv().unwrap();
        write_go.send(()).unwrap();
        writer.join().unwrap();
        read_go.send(()).unwrap();
        assert_eq!(reader.join().unwrap(), Some(b"old".to_vec()));
    });
    stepping.store(false, Ordering::SeqCst);
    assert_eq!(engine.get(b"k").unwrap(), Some(b"new".to_vec()), "the cache kept a stale value");
}

/// An engine that counts point reads, and whose writes can be held at a gate named by the
/// first value they put, to land two writes in the engine in a chosen order.
#[derive(Default)]
struct Gated {
    inner: Memory,
    gets: std::sync::atomic::AtomicUsize,
    gates: Mutex<std::collections::HashMap<Vec<u8>, Receiver<()>>>,
    started: Mutex<Option<Sender<Vec<u8>>>>,
}

impl Gated {
    /// Holds the write whose first value is `value` until the returned sender sends.
    fn gate(&self, value: &[u8]) -> Sender<()> {
        let (go, wait) = channel();
        self.gates.lock().unwrap().insert(value.to_vec(), wait);
        go
    }
}

impl Engine for Gated {
    fn get(&self, key: &[u8]) -> oxibase_common::Result<Option<Vec<u8>>> {
        self.gets.fetch_add(1, Ordering::SeqCst);
        self.inner.get(key)
    }
    fn scan(&self, range: KeyRange) -> ScanIter<'_> {
        self.inner.scan(range)
    }
    fn write(&self, batch: WriteBatch) -> oxibase_common::Result<()> {
        let first = batch.ops().iter().find_map(|op| match op {
            oxibase_engine::WriteOp::Put(_, v) => Some(v.clone()),
            oxibase_engine::WriteOp::Delete(_) => None,
        });
        let gate = first.as_ref().and_then(|v| self.gates.lock().unwrap().remove(v));
        if let (Some(gate), Some(value)) = (gate, first) {
            if let Some(started) = &*self.started.lock().unwrap() {
                started.send(value).unwrap();
            }
            gate.recv().unwrap();
        }
        self.inner.write(batch)
    }
    fn flush(&self) -> oxibase_common::Result<()> {
        self.inner.flush()
    }
    fn status(&self) -> oxibase_common::Result<Status> {
        self.inner.status()
    }
}

fn put(engine: &impl Engine, ops: &[(&[u8], Option<&[u8]>)]) {
    let mut batch = WriteBatch::new();
    for (key, value) in ops {
        match value {
            Some(v) => batch.put(key.to_vec(), v.to_vec()),
            None => batch.delete(key.to_vec()),
        }
    }
    engine.write(batch).unwrap();
}

#[test]
fn a_cached_key_that_is_written_is_served_its_new_value_from_the_cache() {
    let engine = Cached::new(Gated::default(), 1 << 20);
    let gets = || engine.inner().gets.load(Ordering::SeqCst);
    put(&engine, &[(b"a", Some(b"1")), (b"b", Some(b"1"))]);
    assert_eq!(engine.get(b"a").unwrap(), Some(b"1".to_vec()));
    assert_eq!(engine.get(b"b").unwrap(), Some(b"1".to_vec()));
    assert_eq!(gets(), 2);
    // Read, update, read again: the second read is a hit with the new value. Within one
    // batch the last write of a key wins.
    put(&engine, &[(b"a", Some(b"2")), (b"a", Some(b"3")), (b"b", Some(b"2")), (b"b", None)]);
    assert_eq!(engine.get(b"a").unwrap(), Some(b"3".to_vec()));
    assert_eq!(gets(), 2, "a written hot key was read from the engine again");
    assert_eq!(engine.get(b"b").unwrap(), None);
    // A key nobody read is not pulled into the cache by a write.
    put(&engine, &[(b"c", Some(b"1"))]);
    let before = gets();
    assert_eq!(engine.get(b"c").unwrap(), Some(b"1".to_vec()));
    assert_eq!(gets(), before + 1);
}

#[test]
fn a_write_overlapped_by_a_later_write_of_its_key_does_not_cache_its_value() {
    let (started, was_started) = channel();
    let gated = Gated { started: Mutex::new(Some(started)), ..Default::default() };
    let first = gated.gate(b"first");
    let second = gated.gate(b"second");
    let engine = Cached::new(gated, 1 << 20);
    put(&engine, &[(b"k", Some(b"old"))]);
    assert_eq!(engine.get(b"k").unwrap(), Some(b"old".to_vec()));
    // Two writes of k overlap: the first (which found k cached) lands and finishes, then the
    // second lands, so the engine ends with the second's value.
    std::thread::scope(|s| {
        let a = s.spawn(|| put(&engine, &[(b"k", Some(b"first"))]));
        assert_eq!(was_started.recv().unwrap(), b"first");
        let b = s.spawn(|| put(&engine, &[(b"k", Some(b"second"))]));
        assert_eq!(was_started.recv().unwrap(), b"second");
        first.send(()).unwrap();
        a.join().unwrap();
        second.send(()).unwrap();
        b.join().unwrap();
    });
    assert_eq!(engine.inner().get(b"k").unwrap(), Some(b"second".to_vec()));
    assert_eq!(engine.get(b"k").unwrap(), Some(b"second".to_vec()), "the cache kept a stale value");
}
