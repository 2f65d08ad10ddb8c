//! Which keys the recent commit groups wrote, for deleting tombstone heads without reading
//! them again.
//!
//! A deleted key's head is a tombstone; once no snapshot can see what it hides, GC deletes
//! the head itself. That deletion must not remove a head some later commit wrote (the key
//! inserted again), and group leaders are the only writers of heads. Leaders used to check
//! by reading each candidate head from the engine inside the group commit, up to 1024 reads
//! per group while its members waited: after a bulk delete (`DROP TABLE`, a table rewrite, a
//! queue's processed jobs) that was most of the commit path's time.
//!
//! Instead each group gets a number, and the leader records the (hashed) keys its group
//! wrote. A candidate carries the number of the group after which its head was known to be
//! the tombstone: the group that wrote the tombstone, or the last group applied before GC
//! read the head. The leader deletes it unless a later group wrote the key; when that group
//! is too old to be remembered, or wrote too many keys to remember them (a bulk load), GC
//! reads the head again and hands it over anew.

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};

/// How many groups are remembered.
const GROUPS: usize = 4096;
/// A group writing more keys than this (a bulk load, a table rewrite) is remembered only as
/// a group that may have written any key.
const KEYS_PER_GROUP: usize = 65_536;

/// The keys the last [`GROUPS`] commit groups wrote, by hash.
#[derive(Default)]
pub(crate) struct HeadWrites {
    /// The number of the last group recorded (groups are numbered from 1).
    last: u64,
    /// Each remembered group's number and key hashes, oldest first.
    groups: VecDeque<(u64, Vec<u64>)>,
    /// Each remembered key hash's latest group.
    latest: HashMap<u64, u64, BuildHasherDefault<KeyHashHasher>>,
    /// The last group that wrote more than [`KEYS_PER_GROUP`] keys.
    last_bulk: u64,
}

/// A set of key hashes.
pub(crate) type KeyHashes = HashSet<u64, BuildHasherDefault<KeyHashHasher>>;

/// The keys are hashes already: used as they are.
#[derive(Default)]
pub(crate) struct KeyHashHasher(u64);

impl Hasher for KeyHashHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

impl HeadWrites {
    /// The number of the last group recorded: every group up to it is applied.
    pub(crate) fn last(&self) -> u64 {
        self.last
    }

    /// Records the next group's key hashes (after its writes reached the engine); returns
    /// its number.
    pub(crate) fn record(&mut self, mut hashes: Vec<u64>) -> u64 {
        self.last += 1;
        if hashes.len() > KEYS_PER_GROUP {
            self.last_bulk = self.last;
            hashes = Vec::new();
        }
        for h in &hashes {
            self.latest.insert(*h, self.last);
        }
        self.groups.push_back((self.last, hashes));
        while self.groups.len() > GROUPS {
            let Some((group, hashes)) = self.groups.pop_front() else { break };
            for h in hashes {
                if self.latest.get(&h) == Some(&group) {
                    self.latest.remove(&h);
                }
            }
        }
        self.last
    }

    /// Whether a group after `after` wrote the key with this hash; None when those groups
    /// are no longer all remembered.
    pub(crate) fn written_after(&self, hash: u64, after: u64) -> Option<bool> {
        let forgotten =
            after < self.last && self.groups.front().is_none_or(|(oldest, _)| *oldest > after + 1);
        if forgotten || self.last_bulk > after {
            return None;
        }
        Some(self.latest.get(&hash).is_some_and(|group| *group > after))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_writes_are_seen_while_remembered() {
        let mut w = HeadWrites::default();
        assert_eq!(w.written_after(7, 0), Some(false));
        assert_eq!(w.record(vec![7, 8]), 1);
        assert_eq!(w.record(vec![9]), 2);
        assert_eq!(w.written_after(7, 0), Some(true));
        assert_eq!(w.written_after(7, 1), Some(false));
        assert_eq!(w.written_after(9, 1), Some(true));
        assert_eq!(w.written_after(9, 2), Some(false));
        for _ in 0..GROUPS {
            w.record(vec![1]);
        }
        // Groups 1 and 2 are forgotten: what came after 0 or 1 is no longer known.
        assert_eq!(w.written_after(7, 0), None);
        assert_eq!(w.written_after(7, 1), None);
        assert_eq!(w.written_after(7, 2), Some(false));
        assert_eq!(w.written_after(1, 2), Some(true));
        assert_eq!(w.latest.len(), 1, "forgotten groups' keys are dropped");
        // After a bulk group, nothing before it can be answered; after it, as usual.
        let bulk = w.record((0..=KEYS_PER_GROUP as u64).collect());
        assert_eq!(w.written_after(1, bulk - 1), None);
        assert_eq!(w.written_after(1, bulk), Some(false));
        w.record(vec![1]);
        assert_eq!(w.written_after(1, bulk), Some(true));
    }
}
