//! Scanning a key range at a snapshot, merged with the transaction's own writes.
//!
//! Two sorted streams are merged: committed rows (engine versions resolved at the snapshot)
//! and the transaction's writes from earlier statements. Where both have a key, the own
//! write wins; an own delete hides the committed row.
//!
//! ```text
//!   engine:  a@10 "1" | b@30 "9" b@20 "2" | c@20 <del> c@10 "3"      snapshot 25
//!   resolved:  a "1"      b "2"              (c deleted)
//!   own:                  b "7"                                d "4"
//!   scan:      a "1"      b "7"                                d "4"
//! ```
//!
//! Forward, a key's newest version comes first. Backward, its oldest comes first, so the
//! reverse resolver keeps the last candidate at or below the snapshot until the key changes.
//! The own-writes stream is looked up afresh at each step (the write set may grow while the
//! scan runs, but only with writes of the current command, which the scan does not see).

use std::ops::Bound;

use oxibase_common::Result;
use oxibase_engine::{KeyRange, ScanIter};

use crate::clock::Ts;
use crate::hints::WORTH_A_HINT;
use crate::transaction::Transaction;
use crate::version::{
    decode_head, decode_value, engine_range, head_meta, is_head, is_version_of, split_version_key,
};

type Entry = (Vec<u8>, Vec<u8>);
/// An own write: the key and its value, `None` for a delete.
type OwnWrite = (Vec<u8>, Option<Vec<u8>>);

/// A scan over a transaction's view of a key range; see the module documentation.
pub struct Scan<'a> {
    txn: &'a Transaction,
    range: KeyRange,
    command: u32,
    resolver: Resolver<'a>,
    /// Per direction: the next committed entry, and the next own write.
    peek: [Option<Entry>; 2],
    own: [Option<OwnWrite>; 2],
    /// Per direction: no own write is left (the write set only grows with writes of the
    /// current command, which this scan does not see, so this stays true).
    own_done: [bool; 2],
    /// Per direction: the last key returned, where the own-writes lookup resumes and what a
    /// serializable transaction has read.
    last: [Option<Vec<u8>>; 2],
    done: [bool; 2],
    /// Whether the forward direction's first answer was looked at for a dead-prefix hint,
    /// and whether the backward direction has read anything (then it is not looked at).
    hint_checked: bool,
    backward_used: bool,
}

const FWD: usize = 0;
const BWD: usize = 1;

impl<'a> Scan<'a> {
    pub(crate) fn new(txn: &'a Transaction, range: KeyRange, snapshot: Ts, command: u32) -> Self {
        // Committed rows start where a hint says the range's dead prefix ends (see `hints`);
        // the transaction's own writes are merged over the whole range.
        let shared = txn.shared();
        let iter = match shared.dead_prefixes.resume(&range.0, snapshot) {
            None => Some(shared.engine.scan(engine_range(&range))),
            Some(resume) => {
                let hinted = engine_range(&(resume, range.1.clone()));
                let (lower, upper) = (bound(&hinted.0), bound(&hinted.1));
                valid_range(&lower, &upper).then(|| shared.engine.scan(hinted))
            }
        };
        Scan {
            txn,
            range,
            command,
            resolver: Resolver { iter, pending: [None, None], snapshot, read_forward: 0 },
            peek: [None, None],
            own: [None, None],
            own_done: [false, false],
            last: [None, None],
            done: [false, false],
            hint_checked: false,
            backward_used: false,
        }
    }

    fn next_committed(&mut self, dir: usize) -> Result<Option<Entry>> {
        // The engine's iterator reads one point in time, so neither a commit nor a GC pass
        // that runs meanwhile changes what either direction sees.
        if dir == BWD {
            self.backward_used = true;
            return self.resolver.next_backward();
        }
        let entry = self.resolver.next_forward()?;
        if !self.hint_checked {
            self.hint_checked = true;
            self.note_first_visible(entry.as_ref().map(|(key, _)| key.as_slice()));
        }
        Ok(entry)
    }

    /// How many engine entries (heads, older versions) the forward direction has read: what
    /// a scan costs beyond the rows it returns.
    pub fn entries_read(&self) -> usize {
        self.resolver.read_forward
    }

    /// After the forward direction's first committed answer: when the scan stepped over a
    /// long dead prefix to get there (or the range already has a hint), records where the
    /// first visible key is, so that later scans start there.
    fn note_first_visible(&self, first: Option<&[u8]>) {
        let hints = &self.txn.shared().dead_prefixes;
        if self.backward_used
            || (self.resolver.read_forward <= WORTH_A_HINT && !hints.has(&self.range.0))
        {
            return;
        }
        let resume = match (first, &self.range.1) {
            (Some(key), _) => Bound::Included(key.to_vec()),
            (None, Bound::Included(end)) => Bound::Excluded(end.clone()),
            (None, Bound::Excluded(end)) => Bound::Included(end.clone()),
            (None, Bound::Unbounded) => return,
        };
        hints.record(self.range.0.clone(), resume, self.resolver.snapshot);
    }

    /// The next own write of an earlier command beyond the last key, in direction `dir`.
    fn next_own(&mut self, dir: usize) -> Result<Option<OwnWrite>> {
        if self.own_done[dir] {
            return Ok(None);
        }
        let state = self.txn.lock_state()?;
        let lower = match &self.last[FWD] {
            Some(k) if dir == FWD => Bound::Excluded(k.as_slice()),
            _ => bound(&self.range.0),
        };
        let upper = match &self.last[BWD] {
            Some(k) if dir == BWD => Bound::Excluded(k.as_slice()),
            _ => bound(&self.range.1),
        };
        if state.writes.is_empty() || !valid_range(&lower, &upper) {
            self.own_done[dir] = true;
            return Ok(None);
        }
        let mut iter = state.writes.range::<[u8], _>((lower, upper));
        loop {
            let item = if dir == FWD { iter.next() } else { iter.next_back() };
            let Some((key, writes)) = item else {
                self.own_done[dir] = true;
                return Ok(None);
            };
            if let Some(value) = writes.visible(self.command) {
                return Ok(Some((key.clone(), value.clone())));
            }
        }
    }

    fn step(&mut self, dir: usize) -> Result<Option<Entry>> {
        loop {
            if self.peek[dir].is_none() {
                self.peek[dir] = self.next_committed(dir)?;
            }
            if self.own[dir].is_none() {
                self.own[dir] = self.next_own(dir)?;
            }
            let take_own = match (&self.peek[dir], &self.own[dir]) {
                (None, None) => return Ok(None),
                (Some(_), None) => false,
                (None, Some(_)) => true,
                (Some((committed, _)), Some((own, _))) => {
                    let replaces = own == committed;
                    let own_first = if dir == FWD { own <= committed } else { own >= committed };
                    if replaces {
                        self.peek[dir] = None; // the own write replaces the committed row
                    }
                    own_first
                }
            };
            let entry = if take_own {
                let Some((key, value)) = self.own[dir].take() else { continue };
                self.last[dir] = Some(key.clone());
                match value {
                    Some(value) => (key, value),
                    None => continue, // deleted by this transaction
                }
            } else {
                let Some(entry) = self.peek[dir].take() else { continue };
                entry
            };
            // Stop where the other direction already reached (a scan consumed from both ends).
            if let Some(stop) = &self.last[1 - dir]
                && (if dir == FWD { &entry.0 >= stop } else { &entry.0 <= stop })
            {
                return Ok(None);
            }
            // The buffer is reused: no allocation per row.
            match &mut self.last[dir] {
                Some(last) => {
                    last.clear();
                    last.extend_from_slice(&entry.0);
                }
                last => *last = Some(entry.0.clone()),
            }
            return Ok(Some(entry));
        }
    }

    /// Records what a serializable transaction read: the part of the range it walked.
    fn record_read(&mut self) {
        let Ok(mut state) = self.txn.lock_state() else { return };
        if !state.track_reads {
            return;
        }
        if self.done[FWD] || self.done[BWD] {
            state.reads.push(self.range.clone());
            return;
        }
        if let Some(last) = &self.last[FWD] {
            state.reads.push((self.range.0.clone(), Bound::Included(last.clone())));
        }
        if let Some(last) = &self.last[BWD] {
            state.reads.push((Bound::Included(last.clone()), self.range.1.clone()));
        }
    }
}

fn bound(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    b.as_ref().map(Vec::as_slice)
}

fn valid_range(lower: &Bound<&[u8]>, upper: &Bound<&[u8]>) -> bool {
    match (lower, upper) {
        (Bound::Included(a), Bound::Included(b)) => a <= b,
        (Bound::Included(a) | Bound::Excluded(a), Bound::Included(b) | Bound::Excluded(b)) => a < b,
        _ => true,
    }
}

impl Iterator for Scan<'_> {
    type Item = Result<(Vec<u8>, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        let item = self.step(FWD).transpose();
        self.done[FWD] |= item.is_none();
        item
    }
}

impl DoubleEndedIterator for Scan<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        let item = self.step(BWD).transpose();
        self.done[BWD] |= item.is_none();
        item
    }
}

impl Drop for Scan<'_> {
    fn drop(&mut self) {
        self.record_read();
    }
}

/// Turns a stream of engine entries (each key's head, then its older versions newest first)
/// into one entry per key, as of a snapshot.
struct Resolver<'a> {
    /// `None` when a hint put the start past the range's end.
    iter: Option<ScanIter<'a>>,
    /// Per direction, an entry read ahead that belongs to the next key.
    pending: [Option<Entry>; 2],
    snapshot: Ts,
    /// Engine entries the forward direction has read.
    read_forward: usize,
}

impl Resolver<'_> {
    /// The next raw entry in a direction. When the iterator is exhausted (the two ends met),
    /// the entry the other direction read ahead is the last one left on this side.
    fn next_raw(&mut self, dir: usize) -> Option<Result<Entry>> {
        if let Some(entry) = self.pending[dir].take() {
            return Some(Ok(entry));
        }
        let iter = self.iter.as_mut()?;
        let item = if dir == FWD {
            self.read_forward += 1;
            iter.next()
        } else {
            iter.next_back()
        };
        item.or_else(|| self.pending[1 - dir].take().map(Ok))
    }

    /// Forward: a head, then its key's older versions. The head answers when it is at or
    /// below the snapshot; otherwise the first older version that is.
    fn next_forward(&mut self) -> Result<Option<Entry>> {
        while let Some(item) = self.next_raw(FWD) {
            let (key, raw) = item?;
            if !is_head(&raw) {
                continue; // an older version without its head (left by a replayed deletion)
            }
            let (head_ts, _) = head_meta(&raw)?;
            let mut answer =
                if head_ts <= self.snapshot { Some(decode_head(raw)?.1) } else { None };
            // Walk (or skip) the key's older versions.
            while let Some(next) = self.next_raw(FWD) {
                let (version_key, value) = next?;
                if !is_version_of(&version_key, &key) {
                    self.pending[FWD] = Some((version_key, value));
                    break;
                }
                if answer.is_none() {
                    let (_, ts) = split_version_key(&version_key)?;
                    if ts <= self.snapshot {
                        answer = Some(decode_value(value)?);
                    }
                }
            }
            if let Some(Some(value)) = answer {
                return Ok(Some((key, value)));
            }
        }
        Ok(None)
    }

    /// Backward: a key's older versions arrive oldest first, then its head.
    fn next_backward(&mut self) -> Result<Option<Entry>> {
        loop {
            // Older versions seen so far, oldest first, waiting for their head.
            let mut versions: Vec<Entry> = Vec::new();
            let head = loop {
                let Some(item) = self.next_raw(BWD) else { break None };
                let (engine_key, raw) = item?;
                if is_head(&raw) {
                    break Some((engine_key, raw));
                }
                versions.push((engine_key, raw));
            };
            let Some((key, raw)) = head else { return Ok(None) };
            let (head_ts, _) = head_meta(&raw)?;
            let answer = if head_ts <= self.snapshot {
                decode_head(raw)?.1
            } else {
                // The newest of the key's versions at or below the snapshot (the list runs
                // oldest first; versions of other keys, without their head, are ignored).
                let mut found = None;
                for (version_key, value) in versions {
                    if is_version_of(&version_key, &key) {
                        let (_, ts) = split_version_key(&version_key)?;
                        if ts <= self.snapshot {
                            found = Some(value);
                        }
                    }
                }
                match found {
                    Some(value) => decode_value(value)?,
                    None => None,
                }
            };
            if let Some(value) = answer {
                return Ok(Some((key, value)));
            }
        }
    }
}
