//! Row locks: PostgreSQL's four modes, fair queues, timeouts, NOWAIT, SKIP LOCKED and
//! deadlock detection.
//!
//! PostgreSQL's row-lock conflict table (PostgreSQL docs, "Explicit Locking", table 13.3):
//!
//! ```text
//!                      KEY SHARE   SHARE   NO KEY UPDATE   UPDATE
//!   FOR KEY SHARE                                            X
//!   FOR SHARE                                     X          X
//!   FOR NO KEY UPDATE                   X         X          X
//!   FOR UPDATE            X             X         X          X
//! ```
//!
//! Each locked key has its holders and a FIFO queue of waiters. A request is granted at once
//! only if it conflicts with no holder and no earlier waiter, so a stream of share lockers
//! cannot starve a writer. A transaction that already holds a key and asks for a stronger
//! mode (an upgrade) only has to wait for the other holders, and queues first.
//!
//! Deadlocks are found by walking the wait-for graph, computed from the live lock table each
//! time (who holds or queues ahead for what the waiter wants), when a transaction starts to
//! wait and then periodically while it waits. The transaction that finds itself in a cycle
//! gives up with 40P01, like the PostgreSQL backend whose deadlock_timeout fires.

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::BuildHasher;
use std::sync::Arc;
use std::time::{Duration, Instant};

use oxibase_common::{Result, errconflict, errinput};
use parking_lot::{Condvar, Mutex};

/// A transaction's identity in the lock table.
pub type TxnId = u64;

/// A row-lock mode, weakest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LockMode {
    /// `FOR KEY SHARE`: blocks only deleting the row or changing its key.
    KeyShare,
    /// `FOR SHARE`: blocks any change.
    Share,
    /// `FOR NO KEY UPDATE`: taken by updates that keep the key.
    NoKeyUpdate,
    /// `FOR UPDATE`: taken by deletes and key changes.
    Update,
}

impl LockMode {
    /// True when a holder of `self` and a holder of `other` (different transactions) conflict.
    pub fn conflicts(self, other: LockMode) -> bool {
        use LockMode::*;
        matches!(
            (self, other),
            (Update, _) | (_, Update) | (NoKeyUpdate, Share | NoKeyUpdate) | (Share, NoKeyUpdate)
        )
    }

    /// The SQL spelling, for messages.
    pub fn sql(self) -> &'static str {
        match self {
            LockMode::KeyShare => "FOR KEY SHARE",
            LockMode::Share => "FOR SHARE",
            LockMode::NoKeyUpdate => "FOR NO KEY UPDATE",
            LockMode::Update => "FOR UPDATE",
        }
    }
}

/// What to do when a lock is not free.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockWait {
    /// Wait, up to the timeout if there is one (55P03 when it passes).
    Wait(Option<Duration>),
    /// Fail at once with 55P03 (`NOWAIT`).
    NoWait,
    /// Give up at once and report the row as skipped (`SKIP LOCKED`).
    SkipLocked,
}

/// The outcome of a lock request that did not fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockOutcome {
    /// The lock is held (newly, or it already was).
    Acquired,
    /// The lock is held by another transaction and `SKIP LOCKED` was asked for.
    Skipped,
}

/// What a transaction held on a key before a lock call, so savepoint rollback can restore it.
pub type PriorMode = Option<LockMode>;

/// What may end a lock wait early, besides its own timeout: the statement's cancel flag
/// (set by a CancelRequest; cleared when it cancels the wait) and statement_timeout's deadline.
#[derive(Clone, Debug, Default)]
pub struct Interrupt {
    /// Set to cancel the running statement.
    pub cancel: Option<Arc<std::sync::atomic::AtomicBool>>,
    /// When the statement's time is up.
    pub deadline: Option<Instant>,
}

impl Interrupt {
    /// 57014 when the statement was canceled or ran out of time.
    pub fn check(&self) -> Result<()> {
        if let Some(cancel) = &self.cancel
            && cancel.swap(false, std::sync::atomic::Ordering::SeqCst)
        {
            return Err(errinput!(QUERY_CANCELED, "canceling statement due to user request"));
        }
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(errinput!(QUERY_CANCELED, "canceling statement due to statement timeout"));
        }
        Ok(())
    }
}

const SHARDS: usize = 64;

/// The lock table shared by all transactions of a store.
pub struct LockTable {
    shards: Vec<Mutex<HashMap<Vec<u8>, Entry>>>,
    hasher: std::collections::hash_map::RandomState,
    /// What each waiting transaction waits for: the wait-for graph's nodes.
    waiting: Mutex<HashMap<TxnId, (Vec<u8>, LockMode)>>,
    deadlock_check_interval: Duration,
    /// Lock requests that had to wait.
    pub(crate) waits: std::sync::atomic::AtomicU64,
    /// Deadlocks detected.
    pub(crate) deadlocks: std::sync::atomic::AtomicU64,
}

#[derive(Default)]
struct Entry {
    holders: Vec<(TxnId, LockMode)>,
    waiters: VecDeque<Waiter>,
}

struct Waiter {
    txn: TxnId,
    mode: LockMode,
    grant: Arc<Grant>,
    since: std::time::Instant,
}

#[derive(Default)]
struct Grant {
    granted: Mutex<bool>,
    signal: Condvar,
}

/// A snapshot of who holds and waits on a key, for monitoring.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockInfo {
    /// The locked key.
    pub key: Vec<u8>,
    /// Holding transactions and their modes.
    pub holders: Vec<(TxnId, LockMode)>,
    /// Waiting transactions, the modes they want and how long they have waited, in queue
    /// order.
    pub waiters: Vec<(TxnId, LockMode, std::time::Duration)>,
}

impl Entry {
    fn held_by(&self, txn: TxnId) -> Option<LockMode> {
        self.holders.iter().find(|(t, _)| *t == txn).map(|(_, m)| *m)
    }

    /// The transactions that keep `txn` from getting `mode` now: conflicting holders, and
    /// (unless it is upgrading) conflicting waiters queued ahead of it.
    fn blockers(&self, txn: TxnId, mode: LockMode, upgrading: bool) -> Vec<TxnId> {
        let mut blockers: Vec<TxnId> = self
            .holders
            .iter()
            .filter(|(t, m)| *t != txn && m.conflicts(mode))
            .map(|(t, _)| *t)
            .collect();
        if !upgrading {
            let ahead = self.waiters.iter().take_while(|w| w.txn != txn);
            blockers.extend(ahead.filter(|w| w.mode.conflicts(mode)).map(|w| w.txn));
        }
        blockers
    }

    fn grant(&mut self, txn: TxnId, mode: LockMode) {
        match self.holders.iter_mut().find(|(t, _)| *t == txn) {
            Some((_, held)) => *held = (*held).max(mode),
            None => self.holders.push((txn, mode)),
        }
    }

    /// Grants every queued request that no holder and no earlier waiter blocks: the same
    /// rule [`Entry::blockers`] states, so the wait-for graph matches who really waits.
    fn wake_waiters(&mut self) {
        let mut i = 0;
        while i < self.waiters.len() {
            let (txn, mode) = (self.waiters[i].txn, self.waiters[i].mode);
            let upgrading = self.held_by(txn).is_some();
            if self.blockers(txn, mode, upgrading).is_empty() {
                if let Some(w) = self.waiters.remove(i) {
                    self.grant(w.txn, w.mode);
                    *w.grant.granted.lock() = true;
                    w.grant.signal.notify_all();
                }
            } else {
                i += 1;
            }
        }
    }
}

impl LockTable {
    /// An empty lock table.
    pub fn new(deadlock_check_interval: Duration) -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            hasher: Default::default(),
            waiting: Mutex::new(HashMap::new()),
            deadlock_check_interval,
            waits: std::sync::atomic::AtomicU64::new(0),
            deadlocks: std::sync::atomic::AtomicU64::new(0),
        }
    }

    fn shard(&self, key: &[u8]) -> &Mutex<HashMap<Vec<u8>, Entry>> {
        &self.shards[(self.hasher.hash_one(key) as usize) % SHARDS]
    }

    /// Requests `mode` on `key` for `txn`. Returns the outcome and the mode `txn` held
    /// before (so that a savepoint rollback can restore it).
    pub fn lock(
        &self,
        txn: TxnId,
        key: &[u8],
        mode: LockMode,
        wait: LockWait,
    ) -> Result<(LockOutcome, PriorMode)> {
        self.lock_interruptible(txn, key, mode, wait, &Interrupt::default())
    }

    /// [`LockTable::lock`], giving up a wait with 57014 when `interrupt` says so.
    pub fn lock_interruptible(
        &self,
        txn: TxnId,
        key: &[u8],
        mode: LockMode,
        wait: LockWait,
        interrupt: &Interrupt,
    ) -> Result<(LockOutcome, PriorMode)> {
        let (grant, prior) = {
            let mut shard = self.shard(key).lock();
            let entry = shard.entry(key.to_vec()).or_default();
            let prior = entry.held_by(txn);
            if prior.is_some_and(|held| held >= mode) {
                return Ok((LockOutcome::Acquired, prior));
            }
            let upgrading = prior.is_some();
            if entry.blockers(txn, mode, upgrading).is_empty() {
                entry.grant(txn, mode);
                return Ok((LockOutcome::Acquired, prior));
            }
            match wait {
                LockWait::SkipLocked => {
                    Self::forget_if_unused(&mut shard, key);
                    return Ok((LockOutcome::Skipped, prior));
                }
                LockWait::NoWait => {
                    Self::forget_if_unused(&mut shard, key);
                    return Err(errinput!(
                        LOCK_NOT_AVAILABLE,
                        "could not obtain lock on row ({})",
                        mode.sql()
                    ));
                }
                LockWait::Wait(_) => {}
            }
            let grant = Arc::new(Grant::default());
            let waiter =
                Waiter { txn, mode, grant: grant.clone(), since: std::time::Instant::now() };
            if upgrading {
                entry.waiters.push_front(waiter);
            } else {
                entry.waiters.push_back(waiter);
            }
            (grant, prior)
        };
        let timeout = match wait {
            LockWait::Wait(timeout) => timeout,
            _ => None,
        };
        self.waiting.lock().insert(txn, (key.to_vec(), mode));
        self.waits.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // The holder may be a client whose next message a shared thread has to read.
        let result = oxibase_common::worker::blocking(|| {
            self.wait_for_grant(txn, key, &grant, timeout, interrupt)
        });
        self.waiting.lock().remove(&txn);
        result.map(|()| (LockOutcome::Acquired, prior))
    }

    fn wait_for_grant(
        &self,
        txn: TxnId,
        key: &[u8],
        grant: &Grant,
        timeout: Option<Duration>,
        interrupt: &Interrupt,
    ) -> Result<()> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut check_deadlock = true;
        loop {
            if check_deadlock && self.in_cycle(txn) {
                if !self.withdraw(txn, key, grant) {
                    return Ok(()); // granted just before we withdrew
                }
                self.deadlocks.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                return Err(errconflict!(DEADLOCK_DETECTED, "deadlock detected")
                    .with_detail(format!("transaction {txn} waits for a row lock held by a transaction that waits for it"))
                    .with_hint("see the server log for query details; retry the transaction"));
            }
            let mut granted = grant.granted.lock();
            if *granted {
                return Ok(());
            }
            let mut wake = Instant::now() + self.deadlock_check_interval;
            for limit in deadline.iter().chain(interrupt.deadline.iter()) {
                wake = wake.min(*limit);
            }
            grant.signal.wait_until(&mut granted, wake);
            if *granted {
                return Ok(());
            }
            drop(granted);
            if let Err(e) = interrupt.check() {
                if !self.withdraw(txn, key, grant) {
                    return Ok(());
                }
                return Err(e);
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                if !self.withdraw(txn, key, grant) {
                    return Ok(());
                }
                return Err(errinput!(
                    LOCK_NOT_AVAILABLE,
                    "canceling statement due to lock timeout"
                )
                .with_hint("raise lock_timeout, or find the transaction holding the row lock"));
            }
            check_deadlock = true;
        }
    }

    /// Removes a waiter from its queue. Returns false if the lock was granted meanwhile.
    fn withdraw(&self, txn: TxnId, key: &[u8], grant: &Grant) -> bool {
        let mut shard = self.shard(key).lock();
        if *grant.granted.lock() {
            return false;
        }
        if let Some(entry) = shard.get_mut(key) {
            entry.waiters.retain(|w| w.txn != txn);
            // Our departure may unblock those queued behind us.
            entry.wake_waiters();
        }
        Self::forget_if_unused(&mut shard, key);
        true
    }

    /// True when `start`'s wait closes a cycle in the wait-for graph.
    fn in_cycle(&self, start: TxnId) -> bool {
        let mut seen = HashSet::new();
        let mut stack = vec![start];
        while let Some(txn) = stack.pop() {
            for blocker in self.blockers_of(txn) {
                if blocker == start {
                    return true;
                }
                if seen.insert(blocker) {
                    stack.push(blocker);
                }
            }
        }
        false
    }

    /// The transactions `txn` is waiting for right now (empty if it is not waiting).
    fn blockers_of(&self, txn: TxnId) -> Vec<TxnId> {
        let Some((key, mode)) = self.waiting.lock().get(&txn).cloned() else { return Vec::new() };
        let shard = self.shard(&key).lock();
        let Some(entry) = shard.get(&key) else { return Vec::new() };
        // NB: `waiting` and the shard are read apart, so `txn` may have been granted or
        // withdrawn (and even finished) in between: only a queued request has blockers.
        if !entry.waiters.iter().any(|w| w.txn == txn) {
            return Vec::new();
        }
        let upgrading = entry.held_by(txn).is_some();
        entry.blockers(txn, mode, upgrading)
    }

    /// Releases `txn`'s lock on `key` (or lowers it to `keep`), waking waiters it blocked.
    pub fn release(&self, txn: TxnId, key: &[u8], keep: PriorMode) {
        let mut shard = self.shard(key).lock();
        if let Some(entry) = shard.get_mut(key) {
            match keep {
                Some(mode) => {
                    if let Some((_, held)) = entry.holders.iter_mut().find(|(t, _)| *t == txn) {
                        *held = mode;
                    }
                }
                None => entry.holders.retain(|(t, _)| *t != txn),
            }
            entry.wake_waiters();
        }
        Self::forget_if_unused(&mut shard, key);
    }

    fn forget_if_unused(shard: &mut HashMap<Vec<u8>, Entry>, key: &[u8]) {
        if shard.get(key).is_some_and(|e| e.holders.is_empty() && e.waiters.is_empty()) {
            shard.remove(key);
        }
    }

    /// The mode `txn` holds on `key`, if any.
    pub fn held(&self, txn: TxnId, key: &[u8]) -> Option<LockMode> {
        self.shard(key).lock().get(key).and_then(|e| e.held_by(txn))
    }

    /// Every key that has holders or waiters, for monitoring (the lock graph).
    pub fn snapshot(&self) -> Vec<LockInfo> {
        let mut infos = Vec::new();
        for shard in &self.shards {
            for (key, entry) in shard.lock().iter() {
                infos.push(LockInfo {
                    key: key.clone(),
                    holders: entry.holders.clone(),
                    waiters: entry
                        .waiters
                        .iter()
                        .map(|w| (w.txn, w.mode, w.since.elapsed()))
                        .collect(),
                });
            }
        }
        infos.sort_by(|a, b| a.key.cmp(&b.key));
        infos
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Many transactions queueing on one key never form a cycle, so none may be told it
    /// deadlocked, however their grants and releases interleave with the detector.
    #[test]
    fn a_queue_on_one_key_is_never_a_deadlock() {
        let table = Arc::new(LockTable::new(Duration::from_micros(50)));
        let next = Arc::new(std::sync::atomic::AtomicU64::new(1));
        let threads: Vec<_> = (0..6)
            .map(|_| {
                let (table, next) = (table.clone(), next.clone());
                std::thread::spawn(move || {
                    for _ in 0..300 {
                        let txn = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let wait = LockWait::Wait(None);
                        table.lock(txn, b"row", LockMode::NoKeyUpdate, wait)?;
                        std::thread::yield_now();
                        table.release(txn, b"row", None);
                    }
                    Ok::<(), oxibase_common::Error>(())
                })
            })
            .collect();
        for t in threads {
            t.join().expect("locker thread").expect("no lock error");
        }
        assert_eq!(table.deadlocks.load(std::sync::atomic::Ordering::Relaxed), 0);
        assert!(table.snapshot().is_empty(), "every lock released");
    }
}
