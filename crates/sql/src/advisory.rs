//! Advisory locks (`pg_advisory_lock` and friends): application-defined locks on 64-bit keys,
//! held by a session until unlocked or the session ends, or by a transaction until it ends.
//! Migration tools and job runners take them to run alone.
//!
//! Exclusive and shared modes as PostgreSQL has them: a session may take a lock it holds
//! again (the count goes up; each unlock takes one off). Waits end on cancel,
//! statement_timeout and lock_timeout; there is no deadlock detection between advisory
//! locks (PostgreSQL has it), so a cycle waits until one of those ends it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use oxibase_common::{Result, errinput};
use parking_lot::{Condvar, Mutex};

/// An advisory lock key: `pg_advisory_lock(bigint)` and `pg_advisory_lock(int, int)` keys
/// are separate spaces, as in PostgreSQL.
pub type AdvisoryKey = (i64, bool);

/// What one session holds on a key: (session-level count, transaction-level count).
#[derive(Clone, Copy, Debug, Default)]
struct Held {
    session: u32,
    xact: u32,
}

impl Held {
    fn any(&self) -> bool {
        self.session + self.xact > 0
    }
}

#[derive(Debug, Default)]
struct Entry {
    exclusive: HashMap<i32, Held>,
    shared: HashMap<i32, Held>,
}

impl Entry {
    /// Whether `pid` may take the lock in this mode now.
    fn free_for(&self, pid: i32, shared: bool) -> bool {
        let others_exclusive = self.exclusive.iter().any(|(p, h)| *p != pid && h.any());
        let others_shared = self.shared.iter().any(|(p, h)| *p != pid && h.any());
        !others_exclusive && (shared || !others_shared)
    }

    fn is_empty(&self) -> bool {
        !self.exclusive.values().chain(self.shared.values()).any(Held::any)
    }
}

/// The database's advisory locks.
#[derive(Debug, Default)]
pub struct AdvisoryLocks {
    entries: Mutex<HashMap<AdvisoryKey, Entry>>,
    released: Condvar,
    /// Whether `entries` has any (set under its lock after every change): every transaction
    /// ends with `release`, and while nobody holds an advisory lock it need not lock the map
    /// all sessions share. A session's own locks were counted here by its own thread, and
    /// the flag turns false only when the map is empty, so it never misses them.
    any: AtomicBool,
}

/// How a lock request waits.
pub struct Wait<'a> {
    /// Give up at once (the `pg_try_*` functions).
    pub try_only: bool,
    /// lock_timeout.
    pub timeout: Option<Duration>,
    /// Checked while waiting: cancel and statement_timeout.
    pub interrupt: &'a dyn Fn() -> Result<()>,
}

impl AdvisoryLocks {
    /// Takes a lock; false when `try_only` and it is not free.
    pub fn lock(
        &self,
        pid: i32,
        key: AdvisoryKey,
        shared: bool,
        xact: bool,
        wait: Wait,
    ) -> Result<bool> {
        let deadline = wait.timeout.map(|t| Instant::now() + t);
        let mut entries = self.entries.lock();
        loop {
            let entry = entries.entry(key).or_default();
            // The map now holds at least this key's entry.
            self.any.store(true, Ordering::Release);
            if entry.free_for(pid, shared) {
                let map = if shared { &mut entry.shared } else { &mut entry.exclusive };
                let held = map.entry(pid).or_default();
                if xact {
                    held.xact += 1;
                } else {
                    held.session += 1;
                }
                return Ok(true);
            }
            if wait.try_only {
                if entry.is_empty() {
                    entries.remove(&key);
                }
                self.any.store(!entries.is_empty(), Ordering::Release);
                return Ok(false);
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(errinput!(
                    LOCK_NOT_AVAILABLE,
                    "canceling statement due to lock timeout"
                ));
            }
            oxibase_common::worker::blocking(|| {
                self.released.wait_for(&mut entries, Duration::from_millis(50))
            });
            drop(entries);
            (wait.interrupt)()?;
            entries = self.entries.lock();
        }
    }

    /// Releases one session-level hold; false (PostgreSQL warns) when none is held.
    pub fn unlock(&self, pid: i32, key: AdvisoryKey, shared: bool) -> bool {
        let mut entries = self.entries.lock();
        let Some(entry) = entries.get_mut(&key) else { return false };
        let map = if shared { &mut entry.shared } else { &mut entry.exclusive };
        let released = match map.get_mut(&pid) {
            Some(held) if held.session > 0 => {
                held.session -= 1;
                true
            }
            _ => false,
        };
        if entry.is_empty() {
            entries.remove(&key);
        }
        self.any.store(!entries.is_empty(), Ordering::Release);
        drop(entries);
        self.released.notify_all();
        released
    }

    /// Releases what a session holds: its transaction-level locks (at the end of a
    /// transaction), or everything (`pg_advisory_unlock_all`, or when the session ends).
    pub fn release(&self, pid: i32, everything: bool) {
        if !self.any.load(Ordering::Acquire) {
            return;
        }
        let mut entries = self.entries.lock();
        for entry in entries.values_mut() {
            for map in [&mut entry.exclusive, &mut entry.shared] {
                if let Some(held) = map.get_mut(&pid) {
                    held.xact = 0;
                    if everything {
                        held.session = 0;
                    }
                }
            }
        }
        entries.retain(|_, e| !e.is_empty());
        self.any.store(!entries.is_empty(), Ordering::Release);
        drop(entries);
        self.released.notify_all();
    }

    /// Every held lock: (key, pid, shared), for pg_locks.
    pub fn held(&self) -> Vec<(AdvisoryKey, i32, bool)> {
        let entries = self.entries.lock();
        let mut out = Vec::new();
        for (key, e) in entries.iter() {
            out.extend(e.exclusive.iter().filter(|(_, h)| h.any()).map(|(p, _)| (*key, *p, false)));
            out.extend(e.shared.iter().filter(|(_, h)| h.any()).map(|(p, _)| (*key, *p, true)));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now(try_only: bool) -> Wait<'static> {
        Wait { try_only, timeout: Some(Duration::from_millis(100)), interrupt: &|| Ok(()) }
    }

    #[test]
    fn exclusive_shared_reentrant_and_released_with_the_session() {
        let locks = AdvisoryLocks::default();
        let key = (42, false);
        assert!(locks.lock(1, key, false, false, now(true)).unwrap());
        assert!(locks.lock(1, key, false, false, now(true)).unwrap(), "re-entrant");
        assert!(!locks.lock(2, key, false, false, now(true)).unwrap());
        assert!(!locks.lock(2, key, true, false, now(true)).unwrap());
        let err = locks.lock(2, key, false, false, now(false)).unwrap_err();
        assert_eq!(err.code(), oxibase_common::SqlState::LOCK_NOT_AVAILABLE);
        assert!(locks.unlock(1, key, false));
        assert!(!locks.lock(2, key, false, false, now(true)).unwrap(), "still held once");
        assert!(locks.unlock(1, key, false));
        assert!(!locks.unlock(1, key, false), "nothing left to unlock");
        assert!(locks.lock(2, key, true, false, now(true)).unwrap());
        assert!(locks.lock(3, key, true, true, now(true)).unwrap(), "shared with shared");
        assert!(!locks.lock(1, key, false, false, now(true)).unwrap());
        locks.release(3, false); // 3's transaction ended
        locks.release(2, true); // 2's session ended
        assert!(locks.lock(1, key, false, false, now(true)).unwrap());
        assert!(locks.lock(1, (42, true), false, false, now(true)).unwrap(), "other key space");
        assert_eq!(locks.held().len(), 2);
    }

    /// `release` skips the shared map while nobody holds a lock; locks taken after it was
    /// empty are still released.
    #[test]
    fn locks_taken_after_the_map_emptied_are_released() {
        let locks = AdvisoryLocks::default();
        let key = (7, false);
        locks.release(1, false);
        for round in 0..3 {
            assert!(locks.lock(1, key, false, true, now(true)).unwrap(), "round {round}");
            assert!(!locks.lock(2, key, false, true, now(true)).unwrap());
            locks.release(1, false);
            assert!(locks.held().is_empty(), "round {round}");
            assert!(!locks.any.load(Ordering::Acquire));
        }
    }
}
