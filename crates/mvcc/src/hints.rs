//! Where the live rows of a range start: hints that let a scan skip a dead prefix.
//!
//! A queue table is consumed from its first key, so every dequeue would otherwise walk the
//! versions and tombstones of all the jobs taken before it (and, once GC has removed those,
//! the engine's delete markers). A scan that walked a long dead prefix records where the first
//! row visible to it was; a later scan of the same range at a snapshot no older starts there.
//!
//! ```text
//!   range start                 resume
//!   │ dead dead dead dead dead  │ live live ...     hint: nothing in [start, resume) is
//!   │ (taken jobs, versions)    │                   visible at any snapshot >= since
//! ```
//!
//! A hint stays true as long as no commit after `since` writes a live value below `resume`:
//! deletions only add dead keys, so only inserts and updates matter, and each one simply
//! lowers the `resume` of the hints it falls under (before the commit becomes visible). A scan
//! at snapshot S that records a hint after commits newer than S were applied must also account
//! for those: the store keeps a short list of recent live writes for that, and refuses to
//! record a hint when the list no longer reaches back to S.
//!
//! Hints live in memory only; after a restart the first scans find the prefixes again.

use std::collections::{HashMap, VecDeque};
use std::ops::Bound;
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::Mutex;

use crate::clock::Ts;
use crate::record::Write;

/// How many dead entries a scan must step over before its range gets a hint.
pub(crate) const WORTH_A_HINT: usize = 16;
/// Ranges with a hint (the least recently used is dropped beyond this).
const MAX_HINTS: usize = 64;
/// Recent live writes remembered for scans that record a hint late.
const RECENT_WRITES: usize = 1024;

/// Per range start: where its first visible key may be, as recorded by the last few scans.
/// Each entry holds for every snapshot at or after its `since`, so a scan takes the furthest
/// `resume` among the entries it may use. Several are kept because concurrent consumers'
/// snapshots interleave: one whose statement began a moment before the latest recorder's
/// would otherwise find no hint it may use and walk the whole prefix.
struct Hint {
    entries: Vec<Entry>,
    used: u64,
}

struct Entry {
    resume: Bound<Vec<u8>>,
    since: Ts,
}

/// Entries kept per range.
const ENTRIES: usize = 8;

#[derive(Default)]
struct Inner {
    hints: HashMap<Bound<Vec<u8>>, Hint>,
    /// Live writes of recent commits, oldest first: every one with a timestamp above
    /// `complete_after` is here.
    recent: VecDeque<(Ts, Vec<u8>)>,
    complete_after: Ts,
    /// Whether `recent` is kept: from the first scan that wanted a hint on (until then a
    /// commit only moves `complete_after`).
    tracking: bool,
    clock: u64,
}

/// The store's hints; see the module documentation.
#[derive(Default)]
pub(crate) struct DeadPrefixes {
    inner: Mutex<Inner>,
    /// How many hints exist, so that scans of a store without any skip the lock.
    count: AtomicUsize,
}

/// True when `key` lies below the lower bound `resume` (a write there may be visible).
fn below(key: &[u8], resume: &Bound<Vec<u8>>) -> bool {
    match resume {
        Bound::Included(r) => key < r.as_slice(),
        Bound::Excluded(r) => key <= r.as_slice(),
        Bound::Unbounded => false,
    }
}

/// Orders lower bounds by where they start: `Included(k)` before `Excluded(k)`.
fn lower_bound_cmp(a: &Bound<Vec<u8>>, b: &Bound<Vec<u8>>) -> std::cmp::Ordering {
    use std::cmp::Ordering::*;
    match (a, b) {
        (Bound::Unbounded, Bound::Unbounded) => Equal,
        (Bound::Unbounded, _) => Less,
        (_, Bound::Unbounded) => Greater,
        (Bound::Included(x) | Bound::Excluded(x), Bound::Included(y) | Bound::Excluded(y)) => {
            x.cmp(y).then(match (a, b) {
                (Bound::Included(_), Bound::Excluded(_)) => Less,
                (Bound::Excluded(_), Bound::Included(_)) => Greater,
                _ => Equal,
            })
        }
    }
}

/// True when `key` lies at or after the lower bound `start`.
fn at_or_after(key: &[u8], start: &Bound<Vec<u8>>) -> bool {
    match start {
        Bound::Included(s) => key >= s.as_slice(),
        Bound::Excluded(s) => key > s.as_slice(),
        Bound::Unbounded => true,
    }
}

impl DeadPrefixes {
    /// Where a scan of a range starting at `start`, at `snapshot`, may begin instead.
    pub(crate) fn resume(&self, start: &Bound<Vec<u8>>, snapshot: Ts) -> Option<Bound<Vec<u8>>> {
        if self.count.load(Ordering::Acquire) == 0 || snapshot == Ts::MAX {
            return None;
        }
        let mut inner = self.inner.lock();
        inner.clock += 1;
        let clock = inner.clock;
        let hint = inner.hints.get_mut(start)?;
        let usable = hint.entries.iter().filter(|e| e.since <= snapshot);
        let best = usable.max_by(|a, b| lower_bound_cmp(&a.resume, &b.resume))?;
        let resume = best.resume.clone();
        hint.used = clock;
        Some(resume)
    }

    /// Whether a range starting at `start` has a hint to keep current.
    pub(crate) fn has(&self, start: &Bound<Vec<u8>>) -> bool {
        self.count.load(Ordering::Acquire) > 0 && self.inner.lock().hints.contains_key(start)
    }

    /// Records that a scan at `snapshot` found nothing visible in `[start, resume)`.
    pub(crate) fn record(&self, start: Bound<Vec<u8>>, mut resume: Bound<Vec<u8>>, snapshot: Ts) {
        if snapshot == Ts::MAX {
            return;
        }
        let mut inner = self.inner.lock();
        inner.tracking = true;
        if snapshot < inner.complete_after {
            return; // commits after the snapshot may have written below `resume` unseen
        }
        for (ts, key) in &inner.recent {
            if *ts > snapshot && at_or_after(key, &start) && below(key, &resume) {
                resume = Bound::Included(key.clone());
            }
        }
        inner.clock += 1;
        let used = inner.clock;
        if inner.hints.len() >= MAX_HINTS && !inner.hints.contains_key(&start) {
            let oldest = inner.hints.iter().min_by_key(|(_, h)| h.used).map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                inner.hints.remove(&oldest);
            }
        }
        let hint = inner.hints.entry(start).or_insert_with(|| Hint { entries: Vec::new(), used });
        hint.used = used;
        // An entry no newer and no further than another is of no use.
        hint.entries
            .retain(|e| !(e.since >= snapshot && lower_bound_cmp(&e.resume, &resume).is_le()));
        if hint.entries.len() == ENTRIES {
            hint.entries.remove(0);
        }
        hint.entries.push(Entry { resume, since: snapshot });
        self.count.store(inner.hints.len(), Ordering::Release);
    }

    /// Notes a commit's live writes (inserted or updated keys) before it becomes visible:
    /// each lowers the hints it falls under.
    pub(crate) fn note_writes(&self, ts: Ts, writes: &[Write]) {
        let mut inner = self.inner.lock();
        let inner = &mut *inner;
        if !inner.tracking {
            inner.complete_after = ts;
            return;
        }
        if writes.len() > RECENT_WRITES {
            // A bulk write: forget what is known rather than track it key by key.
            inner.recent.clear();
            inner.complete_after = ts;
            inner.hints.clear();
            self.count.store(0, Ordering::Release);
            return;
        }
        let live = writes.iter().filter(|(_, value)| value.is_some());
        for key in live.map(|(key, _)| key.as_slice()) {
            for (start, hint) in inner.hints.iter_mut() {
                if !at_or_after(key, start) {
                    continue;
                }
                for entry in &mut hint.entries {
                    if below(key, &entry.resume) {
                        entry.resume = Bound::Included(key.to_vec());
                    }
                }
            }
            if inner.recent.len() == RECENT_WRITES
                && let Some((dropped, _)) = inner.recent.pop_front()
            {
                inner.complete_after = dropped;
            }
            inner.recent.push_back((ts, key.to_vec()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inc(k: &[u8]) -> Bound<Vec<u8>> {
        Bound::Included(k.to_vec())
    }

    fn puts(keys: &[&[u8]]) -> Vec<Write> {
        keys.iter().map(|k| (k.to_vec(), Some(b"row".to_vec()))).collect()
    }

    /// A store whose hints track writes from the start (as after a first scan wanted one).
    fn tracking() -> DeadPrefixes {
        let d = DeadPrefixes::default();
        d.record(Bound::Unbounded, Bound::Unbounded, 0);
        d
    }

    #[test]
    fn commits_before_the_first_hint_are_not_tracked() {
        let d = DeadPrefixes::default();
        d.note_writes(11, &puts(&[b"c"]));
        d.record(inc(b"a"), inc(b"m"), 10); // c@11 is not known: refused
        assert_eq!(d.resume(&inc(b"a"), 11), None);
        d.note_writes(12, &puts(&[b"d"]));
        d.record(inc(b"a"), inc(b"m"), 11); // tracked since the refusal
        assert_eq!(d.resume(&inc(b"a"), 12), Some(inc(b"d")));
    }

    #[test]
    fn a_hint_applies_to_snapshots_from_its_own() {
        let d = DeadPrefixes::default();
        d.record(inc(b"a"), inc(b"m"), 10);
        assert_eq!(d.resume(&inc(b"a"), 9), None);
        assert_eq!(d.resume(&inc(b"a"), 10), Some(inc(b"m")));
        assert_eq!(d.resume(&inc(b"b"), 10), None);
    }

    #[test]
    fn an_older_snapshot_uses_an_older_entry() {
        // Consumers' snapshots interleave: a scan a moment older than the latest recorder's
        // still skips most of the prefix.
        let d = DeadPrefixes::default();
        d.record(inc(b"a"), inc(b"k"), 10);
        d.record(inc(b"a"), inc(b"m"), 12);
        d.record(inc(b"a"), inc(b"l"), 11);
        assert_eq!(d.resume(&inc(b"a"), 9), None);
        assert_eq!(d.resume(&inc(b"a"), 10), Some(inc(b"k")));
        assert_eq!(d.resume(&inc(b"a"), 11), Some(inc(b"l")));
        assert_eq!(d.resume(&inc(b"a"), 13), Some(inc(b"m")));
        assert_eq!(
            lower_bound_cmp(&inc(b"m"), &Bound::Excluded(b"m".to_vec())),
            std::cmp::Ordering::Less
        );
    }

    #[test]
    fn a_live_write_below_the_hint_lowers_it() {
        let d = DeadPrefixes::default();
        d.record(inc(b"a"), inc(b"m"), 10);
        d.note_writes(11, &puts(&[b"z", b"0"])); // above the hint, below the range
        assert_eq!(d.resume(&inc(b"a"), 11), Some(inc(b"m")));
        d.note_writes(12, &[(b"b".to_vec(), None)]); // a deletion leaves it
        d.note_writes(13, &puts(&[b"c"]));
        assert_eq!(d.resume(&inc(b"a"), 13), Some(inc(b"c")));
    }

    #[test]
    fn a_late_record_accounts_for_newer_writes() {
        let d = tracking();
        d.note_writes(11, &puts(&[b"c"]));
        // A scan at snapshot 10 did not see c@11 and found the first live key at m.
        d.record(inc(b"a"), inc(b"m"), 10);
        assert_eq!(d.resume(&inc(b"a"), 11), Some(inc(b"c")));
        // One at snapshot 11 saw it (and c was deleted since): m stands from 11 on, while
        // a snapshot at 10 still starts at c.
        d.record(inc(b"a"), inc(b"m"), 11);
        assert_eq!(d.resume(&inc(b"a"), 11), Some(inc(b"m")));
        assert_eq!(d.resume(&inc(b"a"), 10), Some(inc(b"c")));
    }

    #[test]
    fn a_record_older_than_the_remembered_writes_is_refused() {
        let d = tracking();
        for i in 0..=RECENT_WRITES as u32 {
            d.note_writes(100 + Ts::from(i), &puts(&[&i.to_be_bytes()]));
        }
        d.record(inc(b"a"), inc(b"m"), 99);
        assert_eq!(d.resume(&inc(b"a"), 5000), None);
        d.record(inc(b"a"), inc(b"m"), 100);
        assert_eq!(d.resume(&inc(b"a"), 5000), Some(inc(b"m")));
    }

    #[test]
    fn a_bulk_write_drops_the_hints() {
        let d = DeadPrefixes::default();
        d.record(inc(b"a"), inc(b"m"), 10);
        let keys: Vec<[u8; 4]> = (0..=RECENT_WRITES as u32).map(u32::to_be_bytes).collect();
        d.note_writes(11, &puts(&keys.iter().map(|k| &k[..]).collect::<Vec<_>>()));
        assert_eq!(d.resume(&inc(b"a"), 11), None);
        d.record(inc(b"a"), inc(b"m"), 10);
        assert_eq!(d.resume(&inc(b"a"), 11), None, "older than the bulk write");
    }
}
