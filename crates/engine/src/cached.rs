//! A cache of single keys in front of an engine: recently read values by key, so a hot key's
//! point read is one hash lookup instead of the engine's (for the LSM: memtables, then a
//! table's bloom filter, block index and block).
//!
//! MVCC reads a row's newest version (its head) with one point read, and the same rows are
//! read again and again (an account, a queue's counters), so this is where Oxibase keeps its
//! hot rows, as PostgreSQL keeps them in shared buffers. Scans go to the engine.
//!
//! Coherence: each shard counts the writes touching it that are under way (`writing`) and
//! those begun so far (`generation`), under the shard's lock, so a reader can neither serve
//! nor cache a value a write makes stale:
//!
//! ```text
//!   write:  for each shard the batch touches: writing += 1; generation += 1; remove its
//!           keys, noting those that were cached (hot);
//!           engine.write(batch);
//!           cache the hot keys' new values in shards no write has touched since;
//!           writing -= 1
//!   get:    hit only while the key's shard has writing == 0
//!           miss: g = generation; idle = (writing == 0); value = engine.get; cache it only
//!           if idle, writing == 0 and generation == g (no write touching the shard was under
//!           way when the engine was read, and none began since)
//! ```
//!
//! While a write is under way nothing in the shards it touches is served from or added to the
//! cache, and its keys are gone from it before the engine write starts; a reader that finds
//! `writing == 0` under the shard lock precedes the write or follows it. So the engine's
//! promise holds through the cache: a batch is seen all at once. Keys of other shards are
//! served meanwhile: a commit group's write does not stall every reader.
//!
//! A written key that was cached is cached again with its new value (write-through), not
//! just dropped: a row is typically read, then updated, then read again later (an account in
//! a transfer), and dropping it on every update would make every such read a miss. A cached
//! key has no write under way (each removes it, and nothing is cached while one is under
//! way), so only the first of overlapping writes of a key can find it cached; it caches its
//! value only if no write touching the shard began since, else a later write of the key may
//! have landed after it.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};

use oxibase_common::Result;
use parking_lot::Mutex;

use crate::engine::{Engine, KeyRange, ScanIter, Status, WriteBatch, WriteOp};

/// Shards: at most 64, a write's touched shards are a bit mask.
const SHARDS: usize = 64;
const _: () = assert!(SHARDS <= 64);
/// What the allocator adds to each heap allocation (size-class rounding), on average.
const ALLOCATION_OVERHEAD: usize = 16;
/// A slot of a shard's eviction queue.
const QUEUE_SLOT: usize = size_of::<(Vec<u8>, u64)>();
/// Stale queue entries beyond the live ones before the queue is cleaned.
const QUEUE_SLACK: usize = 16;

/// An engine with a bounded cache of point reads.
pub struct Cached<E> {
    inner: E,
    shards: Vec<Mutex<Shard>>,
    /// Bytes a shard may hold.
    shard_budget: usize,
}

#[derive(Default)]
struct Shard {
    /// Cached values, each with the stamp of its entry in `order` (hashbrown's map, for
    /// its allocation size).
    values: hashbrown::HashMap<Vec<u8>, (Vec<u8>, u64)>,
    /// Keys in the order cached, for eviction. An entry whose stamp is not its key's in
    /// `values` is stale (the key was removed, or cached again later) and is skipped.
    order: VecDeque<(Vec<u8>, u64)>,
    /// The next entry's stamp.
    stamp: u64,
    /// Heap bytes of the cached keys and values.
    bytes: usize,
    /// Heap bytes of the keys in the queue (stale entries' too).
    queue_bytes: usize,
    /// Writes touching this shard under way.
    writing: usize,
    /// Writes that touched this shard so far.
    generation: u64,
}

impl Shard {
    /// Removes a key; true if it was cached.
    fn remove(&mut self, key: &[u8]) -> bool {
        match self.values.remove(key) {
            Some((value, _)) => {
                self.bytes -= cost(key, &value);
                true
            }
            None => false,
        }
    }

    /// The memory the shard holds: its keys and values and its two tables at their present
    /// capacity. Hash maps and queues double when they grow and never shrink back, and the
    /// tables of 64 shards filled alike double together: uncounted, the cache's memory rose
    /// by a step whenever its entry count crossed a power of two, long after it was full.
    fn held(&self) -> usize {
        self.bytes
            + self.queue_bytes
            + self.values.allocation_size()
            + self.order.capacity() * QUEUE_SLOT
    }

    /// Marks a write touching this shard as begun; returns its generation.
    fn begin_write(&mut self) -> u64 {
        self.writing += 1;
        self.generation += 1;
        self.generation
    }

    /// Caches a value, evicting the oldest entries until what the shard holds, tables
    /// included, fits its budget.
    fn insert(&mut self, key: Vec<u8>, value: Vec<u8>, budget: usize) {
        // The tables may double on this insertion; the next insertions then evict until
        // the shard fits again.
        let size = cost(&key, &value) + queue_cost(&key);
        if size > budget / 4 {
            return;
        }
        self.remove(&key);
        while self.held() + size > budget {
            let Some((old, stamp)) = self.order.pop_front() else { break };
            self.queue_bytes -= queue_cost(&old);
            if self.values.get(&old).is_some_and(|(_, s)| *s == stamp) {
                self.remove(&old);
            }
        }
        // Stale entries linger in the queue: drop them before it outgrows the map (at most
        // once per `len + QUEUE_SLACK` insertions, so the cleanup is O(1) amortized).
        if self.order.len() > 2 * self.values.len() + QUEUE_SLACK {
            let values = &self.values;
            self.order.retain(|(k, stamp)| values.get(k).is_some_and(|(_, s)| s == stamp));
            self.queue_bytes = self.order.iter().map(|(k, _)| queue_cost(k)).sum();
        }
        self.stamp += 1;
        self.bytes += cost(&key, &value);
        self.queue_bytes += queue_cost(&key);
        self.order.push_back((key.clone(), self.stamp));
        self.values.insert(key, (value, self.stamp));
    }
}

/// Heap bytes of a cached key and value (the map's slot is counted by capacity).
fn cost(key: &[u8], value: &[u8]) -> usize {
    key.len() + value.len() + 2 * ALLOCATION_OVERHEAD
}

/// Heap bytes of a queue entry's copy of its key.
fn queue_cost(key: &[u8]) -> usize {
    key.len() + ALLOCATION_OVERHEAD
}

impl<E: Engine> Cached<E> {
    /// Puts a cache of at most `budget` bytes in front of `inner`.
    pub fn new(inner: E, budget: usize) -> Self {
        Self {
            inner,
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            shard_budget: budget / SHARDS,
        }
    }

    /// The engine behind the cache.
    pub fn inner(&self) -> &E {
        &self.inner
    }

    fn shard_of(key: &[u8]) -> usize {
        let mut hasher = DefaultHasher::new();
        key.hash(&mut hasher);
        hasher.finish() as usize % SHARDS
    }

    /// Ends the writes begun on the shards in `touched`.
    fn end_write(&self, touched: u64) {
        for (i, shard) in self.shards.iter().enumerate() {
            if touched & (1 << i) != 0 {
                shard.lock().writing -= 1;
            }
        }
    }
}

impl<E: Engine> Engine for Cached<E> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let shard = &self.shards[Self::shard_of(key)];
        let generation = {
            let cached = shard.lock();
            if cached.writing == 0
                && let Some((value, _)) = cached.values.get(key)
            {
                return Ok(Some(value.clone()));
            }
            // A write under way when the engine is read may land during the read, so the
            // value is cached only if none was under way then and none began since.
            (cached.writing == 0).then_some(cached.generation)
        };
        let value = self.inner.get(key)?;
        if let (Some(value), Some(generation)) = (&value, generation) {
            let mut cached = shard.lock();
            if cached.writing == 0 && cached.generation == generation {
                cached.insert(key.to_vec(), value.clone(), self.shard_budget);
            }
        }
        Ok(value)
    }

    fn scan(&self, range: KeyRange) -> ScanIter<'_> {
        self.inner.scan(range)
    }

    fn write(&self, batch: WriteBatch) -> Result<()> {
        let mut touched = 0u64;
        // Per touched shard: this write's generation.
        let mut generations = [0u64; SHARDS];
        // Keys that were cached, with their final value in the batch (a later op on the same
        // key wins) and their shard.
        let mut hot: HashMap<Vec<u8>, (usize, Option<Vec<u8>>)> = HashMap::new();
        for op in batch.ops() {
            let (key, value) = match op {
                WriteOp::Put(key, value) => (key, Some(value)),
                WriteOp::Delete(key) => (key, None),
            };
            let i = Self::shard_of(key);
            let mut shard = self.shards[i].lock();
            if touched & (1 << i) == 0 {
                touched |= 1 << i;
                generations[i] = shard.begin_write();
            }
            let was_cached = shard.remove(key);
            drop(shard);
            if !hot.is_empty()
                && let Some(entry) = hot.get_mut(key.as_slice())
            {
                entry.1 = value.cloned();
            } else if was_cached {
                hot.insert(key.clone(), (i, value.cloned()));
            }
        }
        let result = self.inner.write(batch);
        if result.is_ok() {
            for (key, (i, value)) in hot {
                let mut shard = self.shards[i].lock();
                // A write touching the shard that began since may have written the key after
                // this one.
                if let Some(value) = value
                    && shard.generation == generations[i]
                {
                    shard.insert(key, value, self.shard_budget);
                }
            }
        }
        self.end_write(touched);
        result
    }

    fn flush(&self) -> Result<()> {
        self.inner.flush()
    }

    fn unsealed_bytes(&self) -> u64 {
        self.inner.unsealed_bytes()
    }

    fn seal(&self) -> Result<()> {
        self.inner.seal()
    }

    fn status(&self) -> Result<Status> {
        let mut status = self.inner.status()?;
        status.row_cache_size = self.shards.iter().map(|s| s.lock().held() as u64).sum();
        Ok(status)
    }

    fn delete_range(&self, range: KeyRange) -> Result<u64> {
        // Rare (a dropped table's range): the whole cache goes rather than a search by range.
        for shard in &self.shards {
            let mut shard = shard.lock();
            shard.begin_write();
            let (writing, generation, stamp) = (shard.writing, shard.generation, shard.stamp);
            *shard = Shard { writing, generation, stamp, ..Shard::default() };
        }
        let result = self.inner.delete_range(range);
        self.end_write(u64::MAX);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_cached_again_keep_their_newest_place_and_the_queue_stays_bounded() {
        let mut shard = Shard::default();
        for key in [b"a", b"b", b"c", b"d", b"e", b"f", b"g", b"h"] {
            shard.insert(key.to_vec(), b"1".to_vec(), usize::MAX);
        }
        assert_eq!(shard.values.len(), 8);
        // a is written again and again (removed, then cached with its new value).
        for i in 0..10_000u32 {
            shard.remove(b"a");
            shard.insert(b"a".to_vec(), (i % 10).to_string().into_bytes(), usize::MAX);
        }
        assert!(shard.order.len() <= 2 * shard.values.len() + QUEUE_SLACK + 1);
        // From here the shard holds as much as it may: eight keys.
        let budget = shard.held();
        // Seven new keys push out b..h; the queue then starts with a's old entries.
        for key in [b"i", b"j", b"k", b"l", b"m", b"n", b"o"] {
            shard.insert(key.to_vec(), b"1".to_vec(), budget);
        }
        assert!(!shard.values.contains_key(b"h".as_slice()));
        // a is written once more: its newest entry is now behind i..o.
        shard.remove(b"a");
        shard.insert(b"a".to_vec(), b"2".to_vec(), budget);
        // More keys: the oldest live entries go first (i, then j), not a.
        let mut more = 0u32;
        while shard.values.contains_key(b"i".as_slice()) {
            shard.insert(format!("p{more}").into_bytes(), b"1".to_vec(), budget);
            more += 1;
            assert!(more < 100);
        }
        assert!(shard.values.contains_key(b"a".as_slice()), "a's stale entries evicted it");
        assert!(shard.values.contains_key(b"j".as_slice()));
        assert!(shard.held() <= budget);
    }

    /// The budget bounds the shard's memory, its map and queue included: they double as
    /// entries are added and never shrink, so counting only the entries let the cache grow
    /// past its budget by a step whenever the entry count crossed a power of two.
    #[test]
    fn a_shard_holds_its_budget_with_its_tables_counted() {
        let budget = 1 << 20;
        let mut shard = Shard::default();
        let tables = |s: &Shard| (s.values.allocation_size(), s.order.capacity());
        let mut most = 0;
        for i in 0..100_000u32 {
            // Entries shrink as the run goes on, so their count keeps rising.
            let value = vec![0u8; 200 - (i / 1000) as usize];
            let before = tables(&shard);
            shard.insert(i.to_be_bytes().to_vec(), value, budget);
            // An insertion that doubled a table may overshoot; the next ones evict for it.
            if tables(&shard) == before {
                assert!(shard.held() <= budget, "{} after {i} insertions", shard.held());
            }
            most = most.max(shard.values.len());
        }
        assert!(most > 2000, "{most}");
    }
}
