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
//! A commit that supersedes a head moves it to the key's older versions and queues it with
//! the commit's timestamp: once the horizon passes that timestamp, the moved version is
//! garbage and is deleted by its exact key, without reading anything. A commit that deletes a
//! key also queues its tombstone head; once the horizon passes it, the head goes too, through
//! the next commit group's leader (the only writer of heads, so a head rewritten meanwhile is
//! never lost). After a restart the queue is empty, so one incremental sweep walks every key
//! once to catch what the lost queue held.
//!
//! Versions are only ever deleted once no snapshot can read them, and the engine's iterators
//! read one point in time (a promise of the engine contract), so a reader in either direction
//! never sees a half-collected key.

use std::collections::{BTreeSet, VecDeque};

use oxibase_common::Result;
use oxibase_engine::WriteBatch;

use crate::clock::Ts;
use crate::store::Shared;
use crate::version::{
    head_meta, is_head, is_tombstone, is_version_of, split_version_key, version_key,
};

/// Something a commit made collectable once the horizon passes its timestamp.
pub(crate) enum GcItem {
    /// An older version (a superseded head), by key and its own timestamp.
    Version {
        /// The user key.
        key: Vec<u8>,
        /// The version's commit timestamp.
        ts: Ts,
    },
    /// A tombstone head, deleted if it is still the head then.
    Head {
        /// The user key.
        key: Vec<u8>,
        /// The tombstone's commit timestamp.
        ts: Ts,
        /// The commit group that wrote it (see `crate::heads`).
        group: u64,
    },
}

/// A tombstone head handed to the group leaders: (key, timestamp, the group after which it
/// was known to be the key's head).
pub(crate) type HeadCandidate = (Vec<u8>, Ts, u64);

/// Items waiting for collection, and progress counters.
pub(crate) struct GcState {
    /// (commit timestamp, item) in timestamp order.
    pub(crate) queue: VecDeque<(Ts, GcItem)>,
    /// Where the post-restart sweep continues; `None` once it has walked every key.
    sweep_from: Option<Vec<u8>>,
    /// Versions removed so far.
    pub(crate) removed: u64,
    /// Dropped key ranges removed so far (see `crate::dropped`).
    pub(crate) ranges_reclaimed: u64,
    /// Tombstone heads to read again before handing them over: the groups after the one
    /// that wrote them are no longer remembered.
    pub(crate) recheck: Vec<(Vec<u8>, Ts)>,
}

impl GcState {
    /// The state after opening a store: the queue is empty, so a sweep is due.
    pub(crate) fn after_restart() -> Self {
        Self {
            queue: VecDeque::new(),
            sweep_from: Some(vec![0x01]),
            removed: 0,
            ranges_reclaimed: 0,
            recheck: Vec::new(),
        }
    }

    /// Queues what a group of commits made collectable.
    pub(crate) fn enqueue(&mut self, items: Vec<(Ts, GcItem)>) {
        self.queue.extend(items);
    }
}

/// The most deletions GC writes to the engine in one batch. The engine applies a batch under
/// the lock every commit group's write also takes, so one batch of all a round's deletions
/// (up to 10,000 after a bulk update) held every commit up until it was in; small
/// batches let the groups in between (transfers beside 300k-row updates: 8% fewer calls over
/// 5 ms, BENCHMARKS.md issue 5 stop 23).
pub(crate) const BATCH: usize = 256;

/// Runs one pass: queued items below the horizon, then up to `limit` keys of the sweep, then
/// the dropped ranges the horizon has passed.
/// Returns the number of versions removed (tombstone heads are counted when handed over).
pub(crate) fn run(shared: &Shared, limit: usize) -> Result<u64> {
    let horizon = shared.gc_horizon();
    let mut garbage = BTreeSet::new();
    let mut heads = Vec::new();
    {
        let mut gc = shared.gc.lock();
        let mut taken = 0;
        while taken < limit && gc.queue.front().is_some_and(|(ts, _)| *ts <= horizon) {
            match gc.queue.pop_front() {
                Some((_, GcItem::Version { key, ts })) => {
                    garbage.insert(version_key(&key, ts));
                }
                Some((_, GcItem::Head { key, ts, group })) => heads.push((key, ts, group)),
                None => break,
            }
            taken += 1;
        }
    }
    // Heads read from now on are known to be tombstones after the last group recorded.
    let read_after = shared.head_writes.lock().last();
    let mut read = Vec::new();
    sweep(shared, horizon, limit, &mut garbage, &mut read)?;
    let recheck = {
        let mut gc = shared.gc.lock();
        let keep = gc.recheck.len().saturating_sub(limit);
        gc.recheck.split_off(keep)
    };
    for (key, ts) in recheck {
        if let Some(raw) = shared.engine.get(&key)?
            && head_meta(&raw)? == (ts, false)
        {
            read.push((key, ts));
        }
    }
    heads.extend(read.into_iter().map(|(key, ts)| (key, ts, read_after)));
    let removed = (garbage.len() + heads.len()) as u64;
    // Newest first within a key reversed: each key's versions go oldest first.
    let mut garbage = garbage.into_iter().rev().peekable();
    while garbage.peek().is_some() {
        let mut batch = WriteBatch::new();
        garbage.by_ref().take(BATCH).for_each(|key| batch.delete(key));
        shared.engine.write(batch)?;
    }
    if !heads.is_empty() {
        shared.head_gc.lock().extend(heads);
        shared.collect_heads_if_idle()?;
    }
    let ranges = crate::dropped::reclaim(shared, horizon)?;
    let mut gc = shared.gc.lock();
    gc.removed += removed;
    gc.ranges_reclaimed += ranges;
    Ok(removed)
}

/// Given one key's versions newest first (the head first), the timestamps that are garbage
/// (newest first).
fn garbage_of(versions: &[(Ts, bool)], horizon: Ts) -> Vec<Ts> {
    let Some(keep) = versions.iter().position(|(ts, _)| *ts <= horizon) else { return Vec::new() };
    let from = if versions[keep].1 { keep } else { keep + 1 };
    versions[from..].iter().map(|(ts, _)| *ts).collect()
}

/// Continues the post-restart sweep over up to `limit` keys.
fn sweep(
    shared: &Shared,
    horizon: Ts,
    limit: usize,
    garbage: &mut BTreeSet<Vec<u8>>,
    heads: &mut Vec<(Vec<u8>, Ts)>,
) -> Result<()> {
    let Some(from) = shared.gc.lock().sweep_from.clone() else { return Ok(()) };
    let iter = shared.engine.scan((std::ops::Bound::Included(from), std::ops::Bound::Unbounded));
    // The key being walked, its versions (head first), and whether it has a head.
    let mut current: Option<(Vec<u8>, bool)> = None;
    let mut versions: Vec<(Ts, bool)> = Vec::new();
    let mut seen = 0;
    let mut finish = |key: &[u8], has_head: bool, versions: &[(Ts, bool)]| {
        if !has_head {
            // Versions without a head (left by a replayed deletion) are all garbage.
            garbage.extend(versions.iter().map(|(ts, _)| version_key(key, *ts)));
            return;
        }
        for ts in garbage_of(versions, horizon) {
            if ts == versions[0].0 {
                heads.push((key.to_vec(), ts));
            } else {
                garbage.insert(version_key(key, ts));
            }
        }
    };
    let mut next_from = None;
    let mut copies = Vec::new();
    for item in iter {
        let (engine_key, value) = item?;
        let belongs = current.as_ref().is_some_and(|(k, _)| is_version_of(&engine_key, k));
        if !belongs {
            if let Some((done, has_head)) = current.take() {
                finish(&done, has_head, &versions);
                versions.clear();
                if seen >= limit {
                    next_from = Some(engine_key);
                    break;
                }
            }
            if is_head(&value) {
                let (ts, live) = head_meta(&value)?;
                versions.push((ts, !live));
                current = Some((engine_key, true));
            } else {
                let (key, ts) = split_version_key(&engine_key)?;
                versions.push((ts, is_tombstone(&value)));
                current = Some((key.to_vec(), false));
            }
            seen += 1;
            continue;
        }
        let (_, ts) = split_version_key(&engine_key)?;
        let has_head = current.as_ref().is_some_and(|(_, has_head)| *has_head);
        if has_head && versions[0].0 == ts {
            // A copy of the head under its own timestamp: the head is the version, the copy
            // is garbage whatever the horizon.
            copies.push(engine_key);
            continue;
        }
        versions.push((ts, is_tombstone(&value)));
    }
    if let (None, Some((done, has_head))) = (&next_from, current) {
        finish(&done, has_head, &versions);
    }
    garbage.extend(copies);
    shared.gc.lock().sweep_from = next_from;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::garbage_of as garbage;

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
