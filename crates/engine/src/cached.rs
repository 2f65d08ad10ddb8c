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

use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;

use oxibase_common::Result;
use parking_lot::Mutex;

use crate::engine::{Engine, KeyRange, ScanIter, Status, WriteBatch, WriteOp};

/// Shards: at most 64, a write's touched shards are a bit mask.
const SHARDS: usize = 64;
const _: () = assert!(SHARDS <= 64);
/// What the allocator adds to each heap allocation (size-class rounding), on average.
const ALLOCATION_OVERHEAD: usize = 16;
/// A slot of a shard's ring.
const RING_SLOT: usize = size_of::<Option<Box<[u8]>>>();
/// Bytes before an entry's key: the key's length.
const HEADER: usize = size_of::<u32>();
/// Removed entries' slots beyond the live entries before the ring is compacted.
const RING_SLACK: usize = 16;

/// A cached key a write batch touches: its hash, its shard, its final value in the batch.
type Hot<'a> = (u64, usize, Option<&'a [u8]>);

/// An engine with a bounded cache of point reads.
pub struct Cached<E> {
    inner: E,
    shards: Vec<Mutex<Shard>>,
    /// Bytes a shard may hold.
    shard_budget: usize,
    /// One hash per key picks its shard and its slot in the shard's table.
    hasher: hashbrown::DefaultHashBuilder,
}

/// A shard: its entries in the order cached, and a table finding them by key.
///
/// An entry is one allocation, `[key length: u32][key][value]`, so a cached row costs its
/// bytes, one allocator rounding, a ring slot and a table slot. (An earlier layout, a map
/// of key and value vectors and a queue of key copies, held a million 132-byte rows in
/// 329 MB; this one in 178 MB: `cargo run --release -p oxibase-engine --example row_cache`.)
#[derive(Default)]
struct Shard {
    /// The entries, oldest first: the entry stamped `s` is at `ring[s - first]`; a removed
    /// entry leaves `None` until eviction reaches it.
    ring: VecDeque<Option<Box<[u8]>>>,
    /// The stamp of `ring[0]`.
    first: u64,
    /// The stamps of the live entries, found by their keys' hashes.
    table: hashbrown::HashTable<u64>,
    /// Heap bytes of the live entries.
    bytes: usize,
    /// Writes touching this shard under way.
    writing: usize,
    /// Writes that touched this shard so far.
    generation: u64,
}

/// An entry's key.
fn key_of(entry: &[u8]) -> &[u8] {
    let len = entry.first_chunk::<HEADER>().map_or(0, |len| u32::from_le_bytes(*len) as usize);
    entry.get(HEADER..HEADER + len).unwrap_or_default()
}

/// An entry's value.
fn value_of(entry: &[u8]) -> &[u8] {
    &entry[HEADER + key_of(entry).len()..]
}

/// The live entry stamped `stamp` in a ring whose first slot is stamped `first`.
fn slot(ring: &VecDeque<Option<Box<[u8]>>>, first: u64, stamp: u64) -> Option<&[u8]> {
    ring.get(stamp.wrapping_sub(first) as usize)?.as_deref()
}

/// The entry for a key and its value (none for a key too long for the header).
fn new_entry(key: &[u8], value: &[u8]) -> Option<Box<[u8]>> {
    let len = u32::try_from(key.len()).ok()?;
    let mut entry = Vec::with_capacity(HEADER + key.len() + value.len());
    entry.extend_from_slice(&len.to_le_bytes());
    entry.extend_from_slice(key);
    entry.extend_from_slice(value);
    Some(entry.into_boxed_slice())
}

/// Heap bytes of an entry.
fn cost(entry: &[u8]) -> usize {
    entry.len() + ALLOCATION_OVERHEAD
}

impl Shard {
    /// The value cached for a key.
    fn get(&self, hash: u64, key: &[u8]) -> Option<&[u8]> {
        let (ring, first) = (&self.ring, self.first);
        let found = |s: &u64| slot(ring, first, *s).is_some_and(|e| key_of(e) == key);
        let stamp = *self.table.find(hash, found)?;
        slot(ring, first, stamp).map(value_of)
    }

    /// Removes a key; true if it was cached.
    fn remove(&mut self, hash: u64, key: &[u8]) -> bool {
        let (ring, first) = (&self.ring, self.first);
        let found = |s: &u64| slot(ring, first, *s).is_some_and(|e| key_of(e) == key);
        let Ok(found) = self.table.find_entry(hash, found) else {
            return false;
        };
        let (stamp, _) = found.remove();
        let index = stamp.wrapping_sub(first) as usize;
        if let Some(entry) = self.ring.get_mut(index).and_then(Option::take) {
            self.bytes -= cost(&entry);
        }
        true
    }

    /// The memory the shard holds: its entries, and its ring and table at their present
    /// capacity. Tables double when they grow and never shrink back, and the tables of 64
    /// shards filled alike double together: uncounted, the cache's memory rose by a step
    /// whenever its entry count crossed a power of two, long after it was full.
    fn held(&self) -> usize {
        self.bytes + self.table.allocation_size() + self.ring.capacity() * RING_SLOT
    }

    /// Marks a write touching this shard as begun; returns its generation.
    fn begin_write(&mut self) -> u64 {
        self.writing += 1;
        self.generation += 1;
        self.generation
    }

    /// Drops the oldest entry (or removed entry's slot).
    fn evict_oldest(&mut self, hasher: &impl BuildHasher) {
        let Some(slot) = self.ring.pop_front() else { return };
        let stamp = self.first;
        self.first += 1;
        if let Some(entry) = slot {
            let hash = hasher.hash_one(key_of(&entry));
            if let Ok(found) = self.table.find_entry(hash, |&s| s == stamp) {
                found.remove();
            }
            self.bytes -= cost(&entry);
        }
    }

    /// Drops the removed entries' slots, keeping the live entries' order (and restamping
    /// them).
    fn compact(&mut self, hasher: &impl BuildHasher) {
        self.ring.retain(Option::is_some);
        self.first = 0;
        self.table.clear();
        let ring = &self.ring;
        let hash = |s: &u64| slot(ring, 0, *s).map_or(0, |e| hasher.hash_one(key_of(e)));
        for stamp in 0..ring.len() as u64 {
            self.table.insert_unique(hash(&stamp), stamp, hash);
        }
    }

    /// Caches a value, evicting the oldest entries until what the shard holds, tables
    /// included, fits its budget.
    fn insert(&mut self, hash: u64, entry: Box<[u8]>, budget: usize, hasher: &impl BuildHasher) {
        // The tables may double on this insertion; the next insertions then evict until
        // the shard fits again.
        let size = cost(&entry) + RING_SLOT;
        if size > budget / 4 {
            return;
        }
        self.remove(hash, key_of(&entry));
        while self.held() + size > budget && !self.ring.is_empty() {
            self.evict_oldest(hasher);
        }
        // Removed entries' slots at the front go at once (they hold nothing but the slot);
        // those behind live entries (a key written again and again leaves one each time)
        // go once they outnumber the live entries, so the cleanup is O(1) amortized.
        while self.ring.front().is_some_and(Option::is_none) {
            self.evict_oldest(hasher);
        }
        if self.ring.len() > 2 * self.table.len() + RING_SLACK {
            self.compact(hasher);
        }
        self.bytes += cost(&entry);
        let stamp = self.first + self.ring.len() as u64;
        self.ring.push_back(Some(entry));
        let (ring, first) = (&self.ring, self.first);
        self.table.insert_unique(hash, stamp, |s| {
            slot(ring, first, *s).map_or(0, |e| hasher.hash_one(key_of(e)))
        });
    }
}

impl<E: Engine> Cached<E> {
    /// Puts a cache of at most `budget` bytes in front of `inner`.
    pub fn new(inner: E, budget: usize) -> Self {
        Self {
            inner,
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            shard_budget: budget / SHARDS,
            hasher: hashbrown::DefaultHashBuilder::default(),
        }
    }

    /// The engine behind the cache.
    pub fn inner(&self) -> &E {
        &self.inner
    }

    /// A key's hash and shard. The shard takes bits the shard's table does not use for
    /// the key (it uses the low bits for the slot and the top seven as a tag).
    fn locate(&self, key: &[u8]) -> (u64, usize) {
        let hash = self.hasher.hash_one(key);
        (hash, (hash >> 32) as usize % SHARDS)
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
        let (hash, i) = self.locate(key);
        let shard = &self.shards[i];
        let generation = {
            let cached = shard.lock();
            if cached.writing == 0
                && let Some(value) = cached.get(hash, key)
            {
                return Ok(Some(value.to_vec()));
            }
            // A write under way when the engine is read may land during the read, so the
            // value is cached only if none was under way then and none began since.
            (cached.writing == 0).then_some(cached.generation)
        };
        let value = self.inner.get(key)?;
        if let (Some(value), Some(generation)) = (&value, generation) {
            let mut cached = shard.lock();
            if cached.writing == 0
                && cached.generation == generation
                && let Some(entry) = new_entry(key, value)
            {
                cached.insert(hash, entry, self.shard_budget, &self.hasher);
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
        let mut hot: HashMap<&[u8], Hot<'_>> = HashMap::new();
        for op in batch.ops() {
            let (key, value) = match op {
                WriteOp::Put(key, value) => (key, Some(value)),
                WriteOp::Delete(key) => (key, None),
            };
            let (hash, i) = self.locate(key);
            let mut shard = self.shards[i].lock();
            if touched & (1 << i) == 0 {
                touched |= 1 << i;
                generations[i] = shard.begin_write();
            }
            let was_cached = shard.remove(hash, key);
            drop(shard);
            let value = value.map(Vec::as_slice);
            if !hot.is_empty()
                && let Some(entry) = hot.get_mut(key.as_slice())
            {
                entry.2 = value;
            } else if was_cached {
                hot.insert(key, (hash, i, value));
            }
        }
        // The hot keys' new values are cached after the engine write, which takes the batch.
        let hot: Vec<_> = hot
            .into_iter()
            .filter_map(|(key, (hash, i, value))| Some((hash, i, new_entry(key, value?)?)))
            .collect();
        let result = self.inner.write(batch);
        if result.is_ok() {
            for (hash, i, entry) in hot {
                let mut shard = self.shards[i].lock();
                // A write touching the shard that began since may have written the key after
                // this one.
                if shard.generation == generations[i] {
                    shard.insert(hash, entry, self.shard_budget, &self.hasher);
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
            let (writing, generation) = (shard.writing, shard.generation);
            *shard = Shard { writing, generation, ..Shard::default() };
        }
        let result = self.inner.delete_range(range);
        self.end_write(u64::MAX);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A shard and the hasher its keys are found by.
    #[derive(Default)]
    struct Keyed {
        shard: Shard,
        hasher: hashbrown::DefaultHashBuilder,
    }

    impl Keyed {
        fn insert(&mut self, key: &[u8], value: &[u8], budget: usize) {
            let hash = self.hasher.hash_one(key);
            let entry = new_entry(key, value).unwrap();
            self.shard.insert(hash, entry, budget, &self.hasher);
        }

        fn remove(&mut self, key: &[u8]) -> bool {
            self.shard.remove(self.hasher.hash_one(key), key)
        }

        fn get(&self, key: &[u8]) -> Option<&[u8]> {
            self.shard.get(self.hasher.hash_one(key), key)
        }
    }

    #[test]
    fn keys_cached_again_keep_their_newest_place_and_the_ring_stays_bounded() {
        let mut keyed = Keyed::default();
        for key in [b"a", b"b", b"c", b"d", b"e", b"f", b"g", b"h"] {
            keyed.insert(key, b"1", usize::MAX);
        }
        assert_eq!(keyed.shard.table.len(), 8);
        // a is written again and again (removed, then cached with its new value).
        for i in 0..10_000u32 {
            assert!(keyed.remove(b"a"));
            keyed.insert(b"a", (i % 10).to_string().as_bytes(), usize::MAX);
        }
        assert_eq!(keyed.get(b"a"), Some(b"9".as_slice()));
        assert!(keyed.shard.ring.len() <= 2 * keyed.shard.table.len() + RING_SLACK + 1);
        // From here the shard holds as much as it may: eight keys.
        let budget = keyed.shard.held();
        // Seven new keys push out b..h.
        for key in [b"i", b"j", b"k", b"l", b"m", b"n", b"o"] {
            keyed.insert(key, b"1", budget);
        }
        assert_eq!(keyed.get(b"h"), None);
        // a is written once more: its newest entry is now behind i..o.
        keyed.remove(b"a");
        keyed.insert(b"a", b"2", budget);
        // More keys: the oldest live entries go first (i, then j), not a.
        let mut more = 0u32;
        while keyed.get(b"i").is_some() {
            keyed.insert(format!("p{more}").as_bytes(), b"1", budget);
            more += 1;
            assert!(more < 100);
        }
        assert_eq!(keyed.get(b"a"), Some(b"2".as_slice()), "a's removed slots evicted it");
        assert!(keyed.get(b"j").is_some());
        assert!(keyed.shard.held() <= budget);
    }

    /// The budget bounds the shard's memory, its table and ring included: they double as
    /// entries are added and never shrink, so counting only the entries let the cache grow
    /// past its budget by a step whenever the entry count crossed a power of two.
    #[test]
    fn a_shard_holds_its_budget_with_its_tables_counted() {
        let budget = 1 << 20;
        let mut keyed = Keyed::default();
        let tables = |s: &Shard| (s.table.allocation_size(), s.ring.capacity());
        let mut most = 0;
        for i in 0..100_000u32 {
            // Entries shrink as the run goes on, so their count keeps rising.
            let value = vec![0u8; 200 - (i / 1000) as usize];
            let before = tables(&keyed.shard);
            keyed.insert(&i.to_be_bytes(), &value, budget);
            // An insertion that doubled a table may overshoot; the next ones evict for it.
            if tables(&keyed.shard) == before {
                assert!(
                    keyed.shard.held() <= budget,
                    "{} after {i} insertions",
                    keyed.shard.held()
                );
            }
            most = most.max(keyed.shard.table.len());
        }
        assert!(most > 4000, "{most}");
        // Every key still cached reads back its own value.
        for i in 99_000..100_000u32 {
            if let Some(value) = keyed.get(&i.to_be_bytes()) {
                assert_eq!(value.len(), 200 - (i / 1000) as usize);
            }
        }
    }
}
