//! Garbage collection of old versions.
//!
//! The horizon is the oldest snapshot anyone may still read (the oldest active transaction,
//! and `now - version_retention` for `AS OF`). For each key, the newest version at or below
//! the horizon is what every such snapshot reads; every older version is garbage, and so is
//! that version itself when it is a tombstone:
//!
//! ```text
//!   horizon = 25       k@30 "c"   kept (newer than the horizon)
//!                      k@20 "b"   kept (what a snapshot at 25..29 reads)
//!                      k@10 "a"   garbage
//!   horizon = 35       k@30 "c"   kept; k@20 is now garbage too
//! ```
//!
//! Commits that overwrite or delete an existing key queue it, with their timestamp; a pass
//! collects the queued keys the horizon has passed. After a restart the queue is empty, so one
//! incremental sweep walks every key once to catch garbage whose queue entries were lost.
//!
//! IMPORTANT: within a key, versions are deleted oldest first. A forward reader meets the
//! newest version first, so it can never see an older version once the newer one is gone.
//! Reverse readers meet the oldest first; they re-check their answer with a point read when a
//! pass ran while they scanned (see `scan.rs`).

use std::collections::{BTreeSet, VecDeque};
use std::sync::atomic::Ordering;

use oxibase_common::Result;
use oxibase_engine::WriteBatch;

use crate::clock::Ts;
use crate::store::Shared;
use crate::version::{all_versions, is_tombstone, split_version_key, version_key};

/// Keys waiting for collection, and progress counters.
pub(crate) struct GcState {
    /// (commit timestamp, key) in timestamp order.
    pub(crate) queue: VecDeque<(Ts, Vec<u8>)>,
    /// Where the post-restart sweep continues; `None` once it has walked every key.
    sweep_from: Option<Vec<u8>>,
    /// Versions removed so far.
    pub(crate) removed: u64,
}

impl GcState {
    /// The state after opening a store: the queue is empty, so a sweep is due.
    pub(crate) fn after_restart() -> Self {
        Self { queue: VecDeque::new(), sweep_from: Some(vec![0x01]), removed: 0 }
    }

    /// Queues keys whose older versions became garbage at `ts`.
    pub(crate) fn enqueue(&mut self, ts: Ts, keys: Vec<Vec<u8>>) {
        self.queue.extend(keys.into_iter().map(|k| (ts, k)));
    }
}

/// Runs one pass: queued keys below the horizon, then up to `limit` versions of the sweep.
/// Returns the number of versions removed.
pub(crate) fn run(shared: &Shared, limit: usize) -> Result<u64> {
    let horizon = shared.gc_horizon();
    // Version keys to delete. Within a key, versions sort newest first, so walking this set
    // backwards deletes each key's versions oldest first (see the module docs).
    let mut garbage = BTreeSet::new();
    let mut keys = Vec::new();
    {
        let mut gc = shared.gc.lock();
        while keys.len() < limit && gc.queue.front().is_some_and(|(ts, _)| *ts <= horizon) {
            if let Some((_, key)) = gc.queue.pop_front() {
                keys.push(key);
            }
        }
    }
    keys.sort();
    keys.dedup();
    for key in &keys {
        collect_key(shared, key, horizon, &mut garbage)?;
    }
    sweep(shared, horizon, limit, &mut garbage)?;
    let removed = garbage.len() as u64;
    if removed > 0 {
        let mut batch = WriteBatch::new();
        garbage.into_iter().rev().for_each(|key| batch.delete(key));
        shared.gc_passes.fetch_add(1, Ordering::AcqRel);
        shared.engine.write(batch)?;
        shared.gc.lock().removed += removed;
    }
    Ok(removed)
}

/// Adds the garbage versions of `key` to the set.
fn collect_key(
    shared: &Shared,
    key: &[u8],
    horizon: Ts,
    garbage: &mut BTreeSet<Vec<u8>>,
) -> Result<()> {
    let mut versions = Vec::new();
    for item in shared.engine.scan(all_versions(key)) {
        let (engine_key, value) = item?;
        let (user_key, ts) = split_version_key(&engine_key)?;
        if user_key == key {
            versions.push((ts, is_tombstone(&value)));
        }
    }
    add_garbage(garbage, key, &versions, horizon);
    Ok(())
}

/// Given one key's versions newest first, the timestamps that are garbage (newest first).
fn garbage(versions: &[(Ts, bool)], horizon: Ts) -> Vec<Ts> {
    let Some(keep) = versions.iter().position(|(ts, _)| *ts <= horizon) else { return Vec::new() };
    let from = if versions[keep].1 { keep } else { keep + 1 };
    versions[from..].iter().map(|(ts, _)| *ts).collect()
}

/// Continues the post-restart sweep over up to `limit` versions.
fn sweep(
    shared: &Shared,
    horizon: Ts,
    limit: usize,
    garbage: &mut BTreeSet<Vec<u8>>,
) -> Result<()> {
    let Some(from) = shared.gc.lock().sweep_from.clone() else { return Ok(()) };
    let mut iter =
        shared.engine.scan((std::ops::Bound::Included(from), std::ops::Bound::Unbounded));
    let (mut current, mut versions): (Option<Vec<u8>>, Vec<(Ts, bool)>) = (None, Vec::new());
    let mut seen = 0;
    let next_from = loop {
        let Some(item) = iter.next() else { break None };
        let (engine_key, value) = item?;
        let (user_key, ts) = split_version_key(&engine_key)?;
        if current.as_deref() != Some(user_key) {
            if let Some(done) = current.take() {
                add_garbage(garbage, &done, &versions, horizon);
                if seen >= limit {
                    break Some(user_key.to_vec());
                }
            }
            current = Some(user_key.to_vec());
            versions.clear();
        }
        versions.push((ts, is_tombstone(&value)));
        seen += 1;
    };
    if let (None, Some(done)) = (&next_from, current) {
        add_garbage(garbage, &done, &versions, horizon);
    }
    shared.gc.lock().sweep_from = next_from;
    Ok(())
}

fn add_garbage(set: &mut BTreeSet<Vec<u8>>, key: &[u8], versions: &[(Ts, bool)], horizon: Ts) {
    set.extend(garbage(versions, horizon).into_iter().map(|ts| version_key(key, ts)));
}

#[cfg(test)]
mod tests {
    use super::garbage;

    #[test]
    fn keeps_the_newest_version_at_or_below_the_horizon() {
        let versions = [(30, false), (20, false), (10, false)];
        assert_eq!(garbage(&versions, 25), vec![10]);
        assert_eq!(garbage(&versions, 35), vec![20, 10]);
        assert_eq!(garbage(&versions, 5), Vec::<u64>::new());
        let deleted = [(30, true), (20, false)];
        assert_eq!(garbage(&deleted, 30), vec![30, 20], "a tombstone at the horizon goes too");
        assert_eq!(garbage(&deleted, 29), Vec::<u64>::new());
    }
}
