//! A cache of single keys in front of an engine: recently read values by key, so a hot key's
//! point read is one hash lookup instead of the engine's (for the LSM: memtables, then a
//! table's bloom filter, block index and block).
//!
//! MVCC reads a row's newest version (its head) with one point read, and the same rows are
//! read again and again (an account, a queue's counters), so this is where Oxibase keeps its
//! hot rows, as PostgreSQL keeps them in shared buffers. Scans go to the engine.
//!
//! Coherence: two counters keep readers from caching or serving a value a write makes stale.
//!
//! ```text
//!   write:  writing += 1; generation += 1; remove the batch's keys; engine.write(batch);
//!           writing -= 1
//!   get:    hit only while writing == 0 (checked under the shard's lock)
//!           miss: g = generation; idle = (writing == 0); value = engine.get; cache it only
//!           if idle, writing == 0 and generation == g (no write was under way when the
//!           engine was read, and none began since)
//! ```
//!
//! While a write is under way nothing is served from or added to the cache, and its keys are
//! gone from it before it starts; a reader that finds `writing == 0` under the shard lock
//! precedes the write or follows it. So the engine's promise holds through the cache: a batch
//! is seen all at once.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use oxibase_common::Result;
use parking_lot::Mutex;

use crate::engine::{Engine, KeyRange, ScanIter, Status, WriteBatch, WriteOp};

const SHARDS: usize = 16;
/// Bookkeeping per cached key beyond its bytes (map slot, vector headers, queue entry).
const ENTRY_OVERHEAD: usize = 96;

/// An engine with a bounded cache of point reads.
pub struct Cached<E> {
    inner: E,
    shards: Vec<Mutex<Shard>>,
    /// Bytes a shard may hold.
    shard_budget: usize,
    /// Writes under way.
    writing: AtomicUsize,
    /// Writes begun so far.
    generation: AtomicU64,
}

#[derive(Default)]
struct Shard {
    values: HashMap<Vec<u8>, Vec<u8>>,
    /// Keys in the order cached, for eviction (possibly already removed).
    order: VecDeque<Vec<u8>>,
    bytes: usize,
}

impl Shard {
    fn remove(&mut self, key: &[u8]) {
        if let Some(value) = self.values.remove(key) {
            self.bytes -= cost(key, &value);
        }
    }

    fn insert(&mut self, key: Vec<u8>, value: Vec<u8>, budget: usize) {
        let size = cost(&key, &value);
        if size > budget / 4 {
            return;
        }
        self.remove(&key);
        while self.bytes + size > budget {
            let Some(old) = self.order.pop_front() else { break };
            self.remove(&old);
        }
        // Removed keys linger in the queue: drop them before it outgrows the map.
        if self.order.len() > 2 * self.values.len() + 1024 {
            let values = &self.values;
            self.order.retain(|k| values.contains_key(k));
        }
        self.bytes += size;
        self.order.push_back(key.clone());
        self.values.insert(key, value);
    }
}

fn cost(key: &[u8], value: &[u8]) -> usize {
    2 * key.len() + value.len() + ENTRY_OVERHEAD
}

impl<E: Engine> Cached<E> {
    /// Puts a cache of at most `budget` bytes in front of `inner`.
    pub fn new(inner: E, budget: usize) -> Self {
        Self {
            inner,
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            shard_budget: budget / SHARDS,
            writing: AtomicUsize::new(0),
            generation: AtomicU64::new(0),
        }
    }

    fn shard(&self, key: &[u8]) -> &Mutex<Shard> {
        let mut hasher = DefaultHasher::new();
        key.hash(&mut hasher);
        &self.shards[hasher.finish() as usize % SHARDS]
    }

    /// Marks a write as under way: from here until [`Self::end_write`] nothing is served
    /// from the cache or added to it.
    fn begin_write(&self) {
        self.writing.fetch_add(1, Ordering::SeqCst);
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    fn end_write(&self) {
        self.writing.fetch_sub(1, Ordering::SeqCst);
    }
}

impl<E: Engine> Engine for Cached<E> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let shard = self.shard(key);
        {
            let cached = shard.lock();
            if self.writing.load(Ordering::SeqCst) == 0
                && let Some(value) = cached.values.get(key)
            {
                return Ok(Some(value.clone()));
            }
        }
        // A write under way when the engine is read may land during the read, so the value
        // is cached only if none was under way then and none began since.
        let generation = self.generation.load(Ordering::SeqCst);
        let idle = self.writing.load(Ordering::SeqCst) == 0;
        let value = self.inner.get(key)?;
        if let Some(value) = &value
            && idle
        {
            let mut cached = shard.lock();
            if self.writing.load(Ordering::SeqCst) == 0
                && self.generation.load(Ordering::SeqCst) == generation
            {
                cached.insert(key.to_vec(), value.clone(), self.shard_budget);
            }
        }
        Ok(value)
    }

    fn scan(&self, range: KeyRange) -> ScanIter<'_> {
        self.inner.scan(range)
    }

    fn write(&self, batch: WriteBatch) -> Result<()> {
        self.begin_write();
        for op in batch.ops() {
            let (WriteOp::Put(key, _) | WriteOp::Delete(key)) = op;
            self.shard(key).lock().remove(key);
        }
        let result = self.inner.write(batch);
        self.end_write();
        result
    }

    fn flush(&self) -> Result<()> {
        self.inner.flush()
    }

    fn status(&self) -> Result<Status> {
        self.inner.status()
    }

    fn delete_range(&self, range: KeyRange) -> Result<u64> {
        // Rare (a dropped table's range): the whole cache goes rather than a search by range.
        self.begin_write();
        self.shards.iter().for_each(|s| *s.lock() = Shard::default());
        let result = self.inner.delete_range(range);
        self.end_write();
        result
    }
}
