//! The in-memory engine: a concurrent skip list.
//!
//! Used for `:memory:` databases and tests. Readers never block writers: the skip list
//! (crossbeam's lock-free `SkipMap`) lets scans run while batches are applied, which is why the
//! engine contract does not promise that a concurrent reader sees a batch all at once.
//! Nothing survives a restart, and `flush` has nothing to do.

use std::sync::atomic::{AtomicU64, Ordering};

use crossbeam_skiplist::SkipMap;
use oxibase_common::Result;

use crate::engine::{Engine, KeyRange, ScanIter, Status, WriteBatch, WriteOp};

/// An engine that keeps every key in memory.
#[derive(Default)]
pub struct Memory {
    map: SkipMap<Vec<u8>, Vec<u8>>,
    size: AtomicU64,
}

impl Memory {
    /// An empty in-memory engine.
    pub fn new() -> Self {
        Self::default()
    }

    fn put(&self, key: Vec<u8>, value: Vec<u8>) {
        let added = (key.len() + value.len()) as u64;
        let removed = self.map.get(&key).map_or(0, |e| (e.key().len() + e.value().len()) as u64);
        self.map.insert(key, value);
        self.adjust_size(added, removed);
    }

    fn delete(&self, key: &[u8]) {
        if let Some(e) = self.map.remove(key) {
            self.adjust_size(0, (e.key().len() + e.value().len()) as u64);
        }
    }

    fn adjust_size(&self, added: u64, removed: u64) {
        // NB: approximate under concurrent writes to one key; the status says so.
        self.size.fetch_add(added, Ordering::Relaxed);
        self.size.fetch_sub(removed.min(self.size.load(Ordering::Relaxed)), Ordering::Relaxed);
    }
}

impl Engine for Memory {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.map.get(key).map(|e| e.value().clone()))
    }

    fn scan(&self, range: KeyRange) -> ScanIter<'_> {
        Box::new(self.map.range(range).map(|e| Ok((e.key().clone(), e.value().clone()))))
    }

    fn write(&self, batch: WriteBatch) -> Result<()> {
        batch.validate()?;
        for op in batch.into_ops() {
            match op {
                WriteOp::Put(key, value) => self.put(key, value),
                WriteOp::Delete(key) => self.delete(&key),
            }
        }
        Ok(())
    }

    fn flush(&self) -> Result<()> {
        Ok(())
    }

    fn status(&self) -> Result<Status> {
        Ok(Status {
            name: "memory".into(),
            keys: self.map.len() as u64,
            size: self.size.load(Ordering::Relaxed),
            disk_size: 0,
            persistent: false,
            cache_size: 0,
            cache_capacity: 0,
        })
    }
}
