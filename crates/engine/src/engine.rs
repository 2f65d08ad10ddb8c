//! The storage engine contract.

use std::ops::Bound;

use oxibase_common::{Result, errinput};

/// A key range: lower and upper bounds over byte keys.
pub type KeyRange = (Bound<Vec<u8>>, Bound<Vec<u8>>);

/// An iterator over `(key, value)` pairs in key order; `.rev()` walks it backwards.
pub type ScanIter<'a> = Box<dyn DoubleEndedIterator<Item = Result<(Vec<u8>, Vec<u8>)>> + 'a>;

/// An ordered byte key-value store.
///
/// Keys are ordered bytewise (shorter first on a common prefix). The engine is shared by many
/// threads: every method takes `&self`.
///
/// Keys are 1 to [`MAX_KEY_SIZE`] bytes and values at most [`MAX_VALUE_SIZE`]; a batch
/// breaking these limits is refused whole with SQLSTATE 54000 (see [`WriteBatch::validate`]).
///
/// What the contract promises:
/// - `write` applies its batch atomically with respect to crashes: after a restart either the
///   whole batch is present or none of it, and batches are recovered as a *prefix* of the order
///   in which they were written.
/// - Once `flush` returns, every batch written before it survives a crash (for a persistent
///   engine; [`Status::persistent`] says which kind this is).
/// - Readers see a batch all at once: a `get` or `scan` running concurrently with `write`
///   observes either none of the batch or all of it, and an overwritten key is never seen
///   absent. MVCC relies on it: a commit moves a key's newest version aside and writes the
///   new one under the same key in one batch.
/// - An iterator is a point-in-time view: it sees exactly the batches written before it was
///   created, however long it lives.
///
/// What it does not promise:
/// - Writes are not durable before `flush`: an engine may keep them in memory or in an
///   unsynced journal. Oxibase's write-ahead log, not the engine, makes commits durable.
/// - After an I/O error the engine may refuse further writes; reads go on where they can.
pub trait Engine: Send + Sync + 'static {
    /// Reads the value stored under `key`.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>>;

    /// Iterates over the keys in `range`, ascending; reverse the iterator for descending.
    fn scan(&self, range: KeyRange) -> ScanIter<'_>;

    /// Applies a batch of puts and deletes atomically (see the trait documentation).
    fn write(&self, batch: WriteBatch) -> Result<()>;

    /// Makes every batch written so far durable.
    fn flush(&self) -> Result<()>;

    /// Reports the engine's size and kind.
    fn status(&self) -> Result<Status>;

    /// Bytes of recent writes held in memory and not yet sealed (the LSM's active
    /// memtable); 0 for an engine without such a buffer. Cheap: called every maintenance
    /// round.
    fn unsealed_bytes(&self) -> u64 {
        0
    }

    /// Seals the recent writes held in memory, which the engine then writes out in the
    /// background in its on-disk form (the LSM: the active memtable becomes a table, so a
    /// point read checks that table's bloom filter instead of searching the memtable's
    /// skiplist). Nothing is lost or made durable by it. A no-op without such a buffer.
    fn seal(&self) -> Result<()> {
        Ok(())
    }

    /// Removes every key in `range`, for a range that no reader or writer uses any more
    /// (MVCC reclaiming a dropped table's keys). Not atomic: a concurrent reader may see part
    /// of the range gone, and after a crash part of it may be back, so a caller repeats it
    /// until it has returned once (and its own record of the range is gone).
    ///
    /// Returns how many keys it deleted one by one; the default deletes every key that way,
    /// in batches.
    fn delete_range(&self, range: KeyRange) -> Result<u64> {
        delete_keys_in(self, range)
    }

    /// Iterates over every key that starts with `prefix`.
    fn scan_prefix(&self, prefix: &[u8]) -> ScanIter<'_> {
        self.scan(prefix_range(prefix))
    }
}

/// A shared engine is an engine: lets several owners (a store and a test inspecting it) use
/// one engine.
impl<E: Engine + ?Sized> Engine for std::sync::Arc<E> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        (**self).get(key)
    }

    fn scan(&self, range: KeyRange) -> ScanIter<'_> {
        (**self).scan(range)
    }

    fn write(&self, batch: WriteBatch) -> Result<()> {
        (**self).write(batch)
    }

    fn flush(&self) -> Result<()> {
        (**self).flush()
    }

    fn status(&self) -> Result<Status> {
        (**self).status()
    }

    fn unsealed_bytes(&self) -> u64 {
        (**self).unsealed_bytes()
    }

    fn seal(&self) -> Result<()> {
        (**self).seal()
    }

    fn delete_range(&self, range: KeyRange) -> Result<u64> {
        (**self).delete_range(range)
    }
}

/// Deletes every key in `range` key by key, a batch of at most 16,384 deletes at a time
/// (what [`Engine::delete_range`] does unless an engine has something faster); returns how
/// many it deleted.
pub fn delete_keys_in<E: Engine + ?Sized>(engine: &E, range: KeyRange) -> Result<u64> {
    const BATCH: usize = 16_384;
    let mut from = range.0;
    let mut deleted = 0;
    loop {
        let keys: Vec<Vec<u8>> = engine
            .scan((from, range.1.clone()))
            .take(BATCH)
            .map(|item| item.map(|(key, _)| key))
            .collect::<Result<_>>()?;
        let Some(last) = keys.last().cloned() else { return Ok(deleted) };
        let full = keys.len() == BATCH;
        deleted += keys.len() as u64;
        let mut batch = WriteBatch::new();
        keys.into_iter().for_each(|key| batch.delete(key));
        engine.write(batch)?;
        if !full {
            return Ok(deleted);
        }
        from = Bound::Excluded(last);
    }
}

/// The key range holding exactly the keys that start with `prefix`.
pub fn prefix_range(prefix: &[u8]) -> KeyRange {
    let start = Bound::Included(prefix.to_vec());
    // The end is the prefix with its last non-0xFF byte incremented and the tail dropped.
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xFF {
            end.push(last + 1);
            return (start, Bound::Excluded(end));
        }
    }
    (start, Bound::Unbounded)
}

/// The largest key an engine accepts (fjall's limit, and far above PostgreSQL's index tuple
/// limit of about 2.7 kB).
pub const MAX_KEY_SIZE: usize = u16::MAX as usize;

/// The largest value an engine accepts; PostgreSQL's largest field is 1 GB.
pub const MAX_VALUE_SIZE: usize = 1 << 30;

/// One operation in a write batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WriteOp {
    /// Store a value under a key, replacing any previous one.
    Put(Vec<u8>, Vec<u8>),
    /// Remove a key (no error if it is absent).
    Delete(Vec<u8>),
}

/// A batch of writes applied together by [`Engine::write`]; later operations on the same key
/// win over earlier ones.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriteBatch {
    ops: Vec<WriteOp>,
}

impl WriteBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a put.
    pub fn put(&mut self, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.ops.push(WriteOp::Put(key.into(), value.into()));
    }

    /// Adds a delete.
    pub fn delete(&mut self, key: impl Into<Vec<u8>>) {
        self.ops.push(WriteOp::Delete(key.into()));
    }

    /// The number of operations.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// True when the batch holds no operation.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Checks every key and value against the engine limits; engines call this before
    /// applying anything, so a bad batch is refused whole.
    pub fn validate(&self) -> Result<()> {
        for op in &self.ops {
            let (key, value_len) = match op {
                WriteOp::Put(k, v) => (k, v.len()),
                WriteOp::Delete(k) => (k, 0),
            };
            if key.is_empty() || key.len() > MAX_KEY_SIZE {
                return Err(errinput!(
                    PROGRAM_LIMIT_EXCEEDED,
                    "key of {} bytes is outside the engine's limits (1 to {MAX_KEY_SIZE} bytes)",
                    key.len()
                ));
            }
            if value_len > MAX_VALUE_SIZE {
                return Err(errinput!(
                    PROGRAM_LIMIT_EXCEEDED,
                    "value of {value_len} bytes exceeds the maximum of {MAX_VALUE_SIZE} bytes"
                ));
            }
        }
        Ok(())
    }

    /// The operations, in order.
    pub fn ops(&self) -> &[WriteOp] {
        &self.ops
    }

    /// The operations, consumed.
    pub fn into_ops(self) -> Vec<WriteOp> {
        self.ops
    }
}

/// What an engine reports about itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    /// The implementation, e.g. `memory` or `lsm`.
    pub name: String,
    /// The number of keys (approximate for the LSM, which counts until compaction).
    pub keys: u64,
    /// Logical bytes of keys and values (approximate).
    pub size: u64,
    /// Bytes on disk, zero in memory.
    pub disk_size: u64,
    /// True when data survives a restart once flushed.
    pub persistent: bool,
    /// Bytes held in the block cache (engines with one).
    pub cache_size: u64,
    /// The block cache's capacity in bytes.
    pub cache_capacity: u64,
    /// Blocks served from the block cache since the engine opened.
    pub cache_hits: u64,
    /// Blocks that had to be read from disk (or the OS page cache) since it opened.
    pub cache_misses: u64,
    /// On-disk tables (LSM), 0 for others.
    pub tables: u64,
    /// Bytes in memtables, active and sealed (LSM), 0 for others.
    pub write_buffer: u64,
    /// Journal files not yet released by flushes (LSM), 0 for others.
    pub journals: u64,
    /// Bytes the row cache in front of the engine accounts for (see `Cached`), 0 without one.
    pub row_cache_size: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_range_bounds() {
        assert_eq!(
            prefix_range(b"ab"),
            (Bound::Included(b"ab".to_vec()), Bound::Excluded(b"ac".to_vec()))
        );
        assert_eq!(
            prefix_range(&[1, 0xFF]),
            (Bound::Included(vec![1, 0xFF]), Bound::Excluded(vec![2]))
        );
        assert_eq!(prefix_range(&[0xFF]), (Bound::Included(vec![0xFF]), Bound::Unbounded));
        assert_eq!(prefix_range(&[]), (Bound::Included(vec![]), Bound::Unbounded));
    }
}
