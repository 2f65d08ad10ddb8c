//! The leader's view of its read replicas: one entry per connected follower, kept up to
//! date by the replication sender (in the server crate) and shown by `pg_stat_replication`
//! and the metrics endpoint.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

/// One follower as the leader sees it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReplicaStat {
    /// An id for the connection (shown as `pid`).
    pub id: i32,
    /// The role it authenticated as.
    pub user: String,
    /// The follower's address.
    pub client_addr: String,
    /// When it connected (PostgreSQL micros).
    pub started: i64,
    /// `snapshot` while it copies the data, `catchup` while it is behind, `streaming`.
    pub state: String,
    /// The last LSN sent.
    pub sent_lsn: u64,
    /// The last LSN the follower acknowledged: written, flushed and replayed (a follower
    /// acknowledges a batch once it is durable and visible).
    pub replay_lsn: u64,
    /// Time from the leader making the last acknowledged record durable to the follower's
    /// acknowledgement, in microseconds.
    pub lag_micros: Option<i64>,
    /// Whether commits wait for followers (`quorum` in pg_stat_replication's sync_state).
    pub synchronous: bool,
}

/// The followers connected to this leader.
#[derive(Debug, Default)]
pub struct Replicas {
    entries: Mutex<BTreeMap<i32, ReplicaStat>>,
    /// Signalled on every acknowledgement.
    acked: Condvar,
    next: AtomicI32,
    /// Followers that must acknowledge a commit before it returns (`--synchronous-replicas`).
    required: AtomicUsize,
}

impl Replicas {
    /// Registers a connected follower; returns its id.
    pub fn register(&self, mut stat: ReplicaStat) -> i32 {
        let id = 1_000_000 + self.next.fetch_add(1, Ordering::Relaxed);
        stat.id = id;
        stat.synchronous = self.required() > 0;
        self.entries.lock().insert(id, stat);
        id
    }

    /// Changes a follower's entry.
    pub fn update(&self, id: i32, f: impl FnOnce(&mut ReplicaStat)) {
        if let Some(stat) = self.entries.lock().get_mut(&id) {
            f(stat);
        }
        self.acked.notify_all();
    }

    /// Sets how many followers must acknowledge a commit (synchronous replication; 0:
    /// asynchronous).
    pub fn set_required(&self, n: usize) {
        self.required.store(n, Ordering::Relaxed);
    }

    /// How many followers must acknowledge a commit.
    pub fn required(&self) -> usize {
        self.required.load(Ordering::Relaxed)
    }

    /// Waits until `n` followers have made `lsn` durable and visible. `cancelled` is asked
    /// every 100 ms; true there ends the wait (false is returned).
    pub fn wait_acked(&self, lsn: u64, n: usize, cancelled: &dyn Fn() -> bool) -> bool {
        let mut entries = self.entries.lock();
        loop {
            if entries.values().filter(|r| r.replay_lsn >= lsn).count() >= n {
                return true;
            }
            if cancelled() {
                return false;
            }
            self.acked.wait_for(&mut entries, Duration::from_millis(100));
        }
    }

    /// Forgets a follower that disconnected.
    pub fn remove(&self, id: i32) {
        self.entries.lock().remove(&id);
    }

    /// Every connected follower.
    pub fn list(&self) -> Vec<ReplicaStat> {
        self.entries.lock().values().cloned().collect()
    }
}

/// An LSN as PostgreSQL prints one (`0/16B3748`).
pub fn format_lsn(lsn: u64) -> String {
    format!("{:X}/{:X}", lsn >> 32, lsn & 0xFFFF_FFFF)
}
