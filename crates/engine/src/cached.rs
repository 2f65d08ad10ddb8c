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
/// Bookkeeping per cached key beyond its bytes (map slot, vector headers, queue entry).
const ENTRY_OVERHEAD: usize = 96;

/// An engine with a bounded cache of point reads.
pub struct Cached<E> {
    inner: E,
    shards: Vec<Mutex<Shard>>,
    /// Bytes a shard may hold.
    shard_budget: usize,
}

#[derive(Default)]
struct Shard {
    /// Cached values, each with the stamp of its entry in `order`.
    values: HashMap<Vec<u8>, (Vec<u8>, u64)>,
    /// Keys in the order cached, for eviction. An entry whose stamp is not its key's in
    /// `values` is stale (the key was removed, or cached again later) and is skipped.
    order: VecDeque<(Vec<u8>, u64)>,
    /// The next entry's stamp.
    stamp: u64,
    bytes: usize,
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

    /// Marks a write touching this shard as begun; returns its generation.
    fn begin_write(&mut self) -> u64 {
        self.writing += 1;
        self.generation += 1;
        self.generation
    }

    fn insert(&mut self, key: Vec<u8>, value: Vec<u8>, budget: usize) {
        let size = cost(&key, &value);
        if size > budget / 4 {
            return;
        }
        self.remove(&key);
        while self.bytes + size > budget {
            let Some((old, stamp)) = self.order.pop_front() else { break };
            if self.values.get(&old).is_some_and(|(_, s)| *s == stamp) {
                self.remove(&old);
            }
        }
        // Stale entries linger in the queue: drop them before it outgrows the map.
        if self.order.len() > 2 * self.values.len() + 1024 {
            let values = &self.values;
            self.order.retain(|(k, stamp)| values.get(k).is_some_and(|(_, s)| s == stamp));
        }
        self.stamp += 1;
        self.bytes += size;
        self.order.push_back((key.clone(), self.stamp));
        self.values.insert(key, (value, self.stamp));
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

    fn status(&self) -> Result<Status> {
        let mut status = self.inner.status()?;
        status.row_cache_size = self.shards.iter().map(|s| s.lock().bytes as u64).sum();
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
        let one = cost(b"a", b"1");
        let budget = 8 * one;
        let mut shard = Shard::default();
        for key in [b"a", b"b", b"c", b"d", b"e", b"f", b"g", b"h"] {
            shard.insert(key.to_vec(), b"1".to_vec(), budget);
        }
        assert_eq!(shard.values.len(), 8);
        // a is written again and again (removed, then cached with its new value).
        for i in 0..10_000u32 {
            shard.remove(b"a");
            shard.insert(b"a".to_vec(), (i % 10).to_string().into_bytes(), budget);
        }
        assert!(shard.order.len() <= 2 * shard.values.len() + 1024 + 1, "{}", shard.order.len());
        // Seven new keys push out b..h; the queue then starts with a's old entries.
        for key in [b"i", b"j", b"k", b"l", b"m", b"n", b"o"] {
            shard.insert(key.to_vec(), b"1".to_vec(), budget);
        }
        assert!(!shard.values.contains_key(b"h".as_slice()));
        // a is written once more: its newest entry is now behind i..o.
        shard.remove(b"a");
        shard.insert(b"a".to_vec(), b"2".to_vec(), budget);
        // One more key: the oldest live entry goes (i), not a.
        shard.insert(b"p".to_vec(), b"1".to_vec(), budget);
        assert!(shard.values.contains_key(b"a".as_slice()), "a's stale entries evicted it");
        assert!(!shard.values.contains_key(b"i".as_slice()));
        assert_eq!(shard.bytes, 8 * one);
    }
}
