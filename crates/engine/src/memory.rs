//! The in-memory engine: a persistent (copy-on-write) B-tree behind a pointer swap.
//!
//! Used for `:memory:` databases and tests. A batch is applied to a private copy of the tree
//! (imbl's `OrdMap` shares every node it does not touch, so the copy costs O(log n) per
//! key written) and published by swapping the root, so readers see a batch all at once.
//! A scan holds the root it started with, which makes every iterator a consistent
//! point-in-time view without blocking writers. Nothing survives a restart, and `flush` has
//! nothing to do.

use std::collections::VecDeque;
use std::ops::Bound;
use std::sync::Arc;

use imbl::OrdMap;
use oxibase_common::Result;
use parking_lot::{Mutex, RwLock};

use crate::engine::{Engine, KeyRange, ScanIter, Status, WriteBatch, WriteOp};

type Tree = OrdMap<Arc<[u8]>, Arc<[u8]>>;

/// An engine that keeps every key in memory.
#[derive(Default)]
pub struct Memory {
    /// The published tree; readers clone it (a reference count) and let go of the lock.
    root: RwLock<Tree>,
    /// Serialises writers, who build the next tree outside `root`'s lock. Holds the size in
    /// bytes of every key and value, which only writers change.
    writer: Mutex<u64>,
}

impl Memory {
    /// An empty in-memory engine.
    pub fn new() -> Self {
        Self::default()
    }

    fn snapshot(&self) -> Tree {
        self.root.read().clone()
    }
}

impl Engine for Memory {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.root.read().get(key).map(|v| v.to_vec()))
    }

    fn scan(&self, range: KeyRange) -> ScanIter<'_> {
        Box::new(SnapshotIter {
            tree: self.snapshot(),
            lower: range.0,
            upper: range.1,
            front: VecDeque::new(),
            back: VecDeque::new(),
        })
    }

    fn write(&self, batch: WriteBatch) -> Result<()> {
        batch.validate()?;
        let mut size = self.writer.lock();
        let mut next = self.snapshot();
        for op in batch.into_ops() {
            match op {
                WriteOp::Put(key, value) => {
                    let added = (key.len() + value.len()) as u64;
                    if let Some(old) = next.insert(key.clone().into(), value.into()) {
                        *size -= (key.len() + old.len()) as u64;
                    }
                    *size += added;
                }
                WriteOp::Delete(key) => {
                    if let Some(old) = next.remove(key.as_slice()) {
                        *size -= (key.len() + old.len()) as u64;
                    }
                }
            }
        }
        *self.root.write() = next;
        Ok(())
    }

    fn flush(&self) -> Result<()> {
        Ok(())
    }

    fn status(&self) -> Result<Status> {
        let size = *self.writer.lock();
        Ok(Status {
            name: "memory".into(),
            keys: self.root.read().len() as u64,
            size,
            disk_size: 0,
            persistent: false,
            cache_size: 0,
            cache_capacity: 0,
            cache_hits: 0,
            cache_misses: 0,
            tables: 0,
            write_buffer: 0,
            journals: 0,
            row_cache_size: 0,
        })
    }
}

/// How many entries a scan copies out of the tree at a time.
const CHUNK: usize = 64;

/// A scan over one version of the tree. It walks the remaining range `lower..upper` in
/// chunks from either end; each chunk narrows the range, so the two ends never overlap.
struct SnapshotIter {
    tree: Tree,
    lower: Bound<Vec<u8>>,
    upper: Bound<Vec<u8>>,
    /// Entries taken from the front, ascending.
    front: VecDeque<(Vec<u8>, Vec<u8>)>,
    /// Entries taken from the back, descending.
    back: VecDeque<(Vec<u8>, Vec<u8>)>,
}

impl SnapshotIter {
    fn remaining(&self) -> impl DoubleEndedIterator<Item = (&Arc<[u8]>, &Arc<[u8]>)> + '_ {
        fn bound(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
            b.as_ref().map(Vec::as_slice)
        }
        self.tree.range::<_, [u8]>((bound(&self.lower), bound(&self.upper)))
    }

    fn empty_range(&self) -> bool {
        match (&self.lower, &self.upper) {
            (Bound::Included(l), Bound::Included(u)) => l > u,
            (Bound::Included(l) | Bound::Excluded(l), Bound::Excluded(u))
            | (Bound::Excluded(l), Bound::Included(u)) => l >= u,
            _ => false,
        }
    }

    fn refill_front(&mut self) {
        if self.empty_range() {
            return;
        }
        let chunk: Vec<_> =
            self.remaining().take(CHUNK).map(|(k, v)| (k.to_vec(), v.to_vec())).collect();
        if let Some((last, _)) = chunk.last() {
            self.lower = Bound::Excluded(last.clone());
        }
        self.front.extend(chunk);
    }

    fn refill_back(&mut self) {
        if self.empty_range() {
            return;
        }
        let chunk: Vec<_> =
            self.remaining().rev().take(CHUNK).map(|(k, v)| (k.to_vec(), v.to_vec())).collect();
        if let Some((last, _)) = chunk.last() {
            self.upper = Bound::Excluded(last.clone());
        }
        self.back.extend(chunk);
    }
}

impl Iterator for SnapshotIter {
    type Item = Result<(Vec<u8>, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.front.is_empty() {
            self.refill_front();
        }
        // Once the middle is exhausted, what is left sits in the back chunk.
        self.front.pop_front().or_else(|| self.back.pop_back()).map(Ok)
    }
}

impl DoubleEndedIterator for SnapshotIter {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.back.is_empty() {
            self.refill_back();
        }
        self.back.pop_front().or_else(|| self.front.pop_back()).map(Ok)
    }
}
