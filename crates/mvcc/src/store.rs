//! The store: recovery, the commit pipeline, snapshots, checkpoints and maintenance.
//!
//! ```text
//!   commit(T):  ┌─ commit mutex ───────────────────────────────────────┐
//!               │ validate T's reads (serializable)                     │
//!               │ ts = clock.next();  lsn = log.append(record(ts, W))   │
//!               │ pending.push(lsn, ts, W)                              │
//!               └──────────────────────────────────────────────────────┘
//!               ┌─ apply lock (one leader at a time) ──────────────────┐
//!               │ if applied_lsn >= lsn: done (an earlier leader did it)│
//!               │ durable = log.sync()          one fsync, whole group  │
//!               │ engine.write(versions of every pending <= durable,    │
//!               │              applied_lsn, last_ts)   one batch        │
//!               │ visible_ts = last ts; applied_lsn = durable           │
//!               └──────────────────────────────────────────────────────┘
//!               release T's row locks; acknowledge
//! ```
//!
//! New transactions take `visible_ts` as their snapshot, so they see exactly the commits that
//! are fully applied. Row locks are released only after the commit is visible, so the next
//! holder of a lock always sees the previous holder's write.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use oxibase_common::{Error, ErrorKind, Result, SqlState, errdata, errinput};
use oxibase_engine::{Engine, Status, WriteBatch};
use oxibase_log::{Log, LogStats, Lsn};
use parking_lot::Mutex;

use crate::clock::{Clock, Ts, wall_clock_micros};
use crate::gc::GcItem;
use crate::gc::GcState;
use crate::hints::DeadPrefixes;
use crate::lock_table::{LockInfo, LockTable};
use crate::record::{self, Write};
use crate::transaction::Prior;
use crate::transaction::{Isolation, Transaction, TxnOptions};
use crate::version::{META_APPLIED_LSN, META_LAST_TS, encode_head, encode_value, version_key};

/// Settings for the store.
#[derive(Clone, Debug)]
pub struct MvccOptions {
    /// How long a row-lock wait may last by default; `None` waits forever (PostgreSQL's
    /// `lock_timeout = 0`).
    pub lock_timeout: Option<Duration>,
    /// How often a waiting transaction looks for deadlocks.
    pub deadlock_check_interval: Duration,
    /// How long old versions stay readable with `AS OF` after they are overwritten.
    pub version_retention: Duration,
    /// How often the background thread collects garbage and considers a checkpoint; `None`
    /// runs no background thread (callers run [`Mvcc::gc`] and [`Mvcc::checkpoint`]).
    pub maintenance_interval: Option<Duration>,
    /// Checkpoint once this many log bytes were written since the last checkpoint.
    pub checkpoint_log_bytes: u64,
}

impl Default for MvccOptions {
    fn default() -> Self {
        Self {
            lock_timeout: None,
            deadlock_check_interval: Duration::from_millis(100),
            version_retention: Duration::ZERO,
            maintenance_interval: Some(Duration::from_millis(100)),
            checkpoint_log_bytes: 256 << 20,
        }
    }
}

/// What the store reports about itself.
#[derive(Clone, Debug)]
pub struct MvccStatus {
    /// The snapshot a new transaction gets.
    pub visible_ts: Ts,
    /// The last log record applied to the engine.
    pub applied_lsn: Lsn,
    /// Transactions with a registered snapshot.
    pub active_snapshots: usize,
    /// The oldest snapshot GC must preserve.
    pub gc_horizon: Ts,
    /// Committed read-write transactions.
    pub commits: u64,
    /// Rolled-back transactions (including failed commits).
    pub rollbacks: u64,
    /// Commits refused with a serialization failure (40001).
    pub serialization_failures: u64,
    /// Old versions removed by GC.
    pub gc_removed_versions: u64,
    /// Dropped key ranges GC removed (see [`crate::dropped`]).
    pub gc_ranges_reclaimed: u64,
    /// Keys queued for GC.
    pub gc_queue: usize,
    /// Log records replayed at the last open.
    pub replayed_records: u64,
    /// Row-lock requests that waited.
    pub lock_waits: u64,
    /// Deadlocks detected.
    pub deadlocks: u64,
    /// The engine's own status.
    pub engine: Status,
    /// The log's counters, if there is a log.
    pub log: Option<LogStats>,
}

/// A multi-version transactional store over an engine and (optionally) a log.
///
/// Without a log, nothing survives a restart (`:memory:` databases). Cloning gives another
/// handle on the same store.
#[derive(Clone)]
pub struct Mvcc {
    pub(crate) shared: Arc<Shared>,
}

pub(crate) struct Shared {
    pub(crate) engine: Box<dyn Engine>,
    pub(crate) log: Option<Log>,
    pub(crate) options: MvccOptions,
    pub(crate) locks: LockTable,
    commit: Mutex<CommitState>,
    /// Whether a group-commit leader is at work, and where its followers wait.
    apply: (Mutex<bool>, parking_lot::Condvar),
    visible_ts: AtomicU64,
    applied_lsn: AtomicU64,
    pub(crate) snapshots: Mutex<Snapshots>,
    next_txn: AtomicU64,
    pub(crate) gc: Mutex<GcState>,
    /// Tombstone heads GC found collectable, deleted by the next group leaders (see
    /// `add_head_deletes`).
    pub(crate) head_gc: Mutex<std::collections::VecDeque<crate::gc::HeadCandidate>>,
    /// The keys the recent commit groups wrote (see `crate::heads`).
    pub(crate) head_writes: Mutex<crate::heads::HeadWrites>,
    key_hasher: std::hash::RandomState,
    /// Where ranges' dead prefixes end, for scans (see `hints`).
    pub(crate) dead_prefixes: DeadPrefixes,
    poison: Mutex<Option<Error>>,
    checkpoint_at_bytes: AtomicU64,
    replayed: u64,
    /// Transactions between the start of their commit and its acknowledgement.
    committing: AtomicU64,
    pub(crate) commits: AtomicU64,
    pub(crate) rollbacks: AtomicU64,
    pub(crate) serialization_failures: AtomicU64,
    /// Set on a read replica (the leader's address): local commits are refused, only
    /// replicated records are applied.
    replica_of: Mutex<Option<String>>,
}

struct CommitState {
    clock: Clock,
    /// LSNs for a store without a log.
    next_memory_lsn: Lsn,
    /// Appended commits not yet visible, in LSN order.
    pending: VecDeque<PendingCommit>,
    /// Write sets of recent commits, for serializable validation.
    recent: VecDeque<(Ts, Arc<Vec<Write>>)>,
    /// Read-write serializable transactions running.
    serializable_active: usize,
}

struct PendingCommit {
    lsn: Lsn,
    ts: Ts,
    writes: Arc<Vec<Write>>,
    /// The heads the commit supersedes (moved to older versions when applied).
    priors: Vec<Prior>,
}

/// Registered snapshots: what GC must preserve.
#[derive(Default)]
pub(crate) struct Snapshots {
    active: BTreeMap<Ts, usize>,
    serializable: BTreeMap<Ts, usize>,
    /// The highest horizon GC has collected up to; `AS OF` below it is refused.
    pub(crate) collected_to: Ts,
}

impl Snapshots {
    fn add(map: &mut BTreeMap<Ts, usize>, ts: Ts) {
        *map.entry(ts).or_default() += 1;
    }

    fn remove(map: &mut BTreeMap<Ts, usize>, ts: Ts) {
        if let Some(n) = map.get_mut(&ts) {
            *n -= 1;
            if *n == 0 {
                map.remove(&ts);
            }
        }
    }
}

/// A request to commit: the final writes, and for serializable transactions the snapshot and
/// read set to validate.
pub(crate) struct CommitRequest<'a> {
    pub writes: Vec<Write>,
    pub priors: Vec<Prior>,
    pub validate: Option<(Ts, &'a [oxibase_engine::KeyRange])>,
}

impl Mvcc {
    /// Opens a store: recovers the engine from the log (replaying records the engine has not
    /// applied yet) and starts background maintenance.
    pub fn open(engine: Box<dyn Engine>, log: Option<Log>, options: MvccOptions) -> Result<Mvcc> {
        let applied_lsn = read_meta(engine.as_ref(), META_APPLIED_LSN)?;
        let last_ts = read_meta(engine.as_ref(), META_LAST_TS)?;
        let (applied_lsn, last_ts, replayed) = match &log {
            Some(log) => replay(engine.as_ref(), log, applied_lsn, last_ts)?,
            None => (applied_lsn, last_ts, 0),
        };
        let checkpoint_at =
            log.as_ref().map_or(0, |l| l.stats().synced_bytes) + options.checkpoint_log_bytes;
        let shared = Arc::new(Shared {
            locks: LockTable::new(options.deadlock_check_interval),
            engine,
            log,
            commit: Mutex::new(CommitState {
                clock: Clock::new(last_ts),
                next_memory_lsn: applied_lsn + 1,
                pending: VecDeque::new(),
                recent: VecDeque::new(),
                serializable_active: 0,
            }),
            apply: (Mutex::new(false), parking_lot::Condvar::new()),
            visible_ts: AtomicU64::new(last_ts),
            applied_lsn: AtomicU64::new(applied_lsn),
            // Replay rewrites heads without keeping the versions they supersede (no snapshot
            // outlives a restart), so reading as of a time before the last replayed commit
            // would miss them: refuse it as too old. A clean shutdown replays nothing.
            snapshots: Mutex::new(Snapshots {
                collected_to: if replayed > 0 { last_ts } else { 0 },
                ..Snapshots::default()
            }),
            next_txn: AtomicU64::new(1),
            gc: Mutex::new(GcState::after_restart()),
            head_gc: Mutex::new(std::collections::VecDeque::new()),
            head_writes: Mutex::new(crate::heads::HeadWrites::default()),
            key_hasher: std::hash::RandomState::new(),
            dead_prefixes: DeadPrefixes::default(),
            poison: Mutex::new(None),
            checkpoint_at_bytes: AtomicU64::new(checkpoint_at),
            replayed,
            committing: AtomicU64::new(0),
            commits: AtomicU64::new(0),
            rollbacks: AtomicU64::new(0),
            serialization_failures: AtomicU64::new(0),
            replica_of: Mutex::new(None),
            options,
        });
        if let Some(interval) = shared.options.maintenance_interval {
            spawn_maintenance(Arc::downgrade(&shared), interval);
        }
        Ok(Mvcc { shared })
    }

    /// Starts a transaction.
    pub fn begin(&self, options: TxnOptions) -> Result<Transaction> {
        self.shared.check_poison_for_writes(options.read_only || options.as_of.is_some())?;
        Transaction::begin(self.shared.clone(), options)
    }

    /// Starts a snapshot-isolation read-write transaction with default options.
    pub fn begin_default(&self) -> Result<Transaction> {
        self.begin(TxnOptions::default())
    }

    /// Makes this store a read replica of `leader`: local commits fail with 25006 (and say
    /// where to write); [`Mvcc::apply_replicated`] is the only way in.
    pub fn set_replica_of(&self, leader: Option<String>) {
        *self.shared.replica_of.lock() = leader;
    }

    /// The write-ahead log, if the store has one (replication streams it).
    pub fn log(&self) -> Option<&Log> {
        self.shared.log.as_ref()
    }

    /// A consistent position: the last applied LSN and the visible timestamp of exactly the
    /// commits up to it (read between commit groups).
    pub fn snapshot_point(&self) -> (Lsn, Ts) {
        let (lock, followers) = &self.shared.apply;
        let mut leading = lock.lock();
        while *leading {
            followers.wait(&mut leading);
        }
        (
            self.shared.applied_lsn.load(Ordering::Acquire),
            self.shared.visible_ts.load(Ordering::Acquire),
        )
    }

    /// Applies commit records streamed from a leader, in order, as a read replica does: each
    /// is appended to this store's log under the leader's LSN (a gap or an overlap is an
    /// error: the replica would diverge), then the batch is made durable with one fsync and
    /// visible, keeping the versions it supersedes for the snapshots running here. Returns
    /// the timestamp of the last record.
    pub fn apply_replicated(&self, records: &[(Lsn, Vec<u8>)]) -> Result<Ts> {
        self.shared.apply_replicated(records)
    }

    /// Starts a read-only transaction whose snapshot holds exactly the commits up to the
    /// returned LSN: what a new replica copies before it streams from the next record.
    pub fn begin_at_snapshot_point(&self) -> Result<(Transaction, Lsn)> {
        let (lock, followers) = &self.shared.apply;
        let mut leading = lock.lock();
        while *leading {
            followers.wait(&mut leading);
        }
        // No commit group can become visible while the lock is held without a leader.
        let lsn = self.shared.applied_lsn.load(Ordering::Acquire);
        let txn = self.begin(TxnOptions { read_only: true, ..Default::default() })?;
        drop(leading);
        Ok((txn, lsn))
    }

    /// Flushes the engine and truncates the log below what the engine now holds durably.
    /// Returns the LSN the checkpoint covers.
    pub fn checkpoint(&self) -> Result<Lsn> {
        self.shared.checkpoint()
    }

    /// Collects garbage versions below the horizon; returns how many were removed.
    pub fn gc(&self) -> Result<u64> {
        crate::gc::run(&self.shared, usize::MAX)
    }

    /// The snapshot a transaction started now would get.
    pub fn visible_ts(&self) -> Ts {
        self.shared.visible_ts()
    }

    /// A snapshot of the row-lock table (who holds and waits for what).
    pub fn locks(&self) -> Vec<LockInfo> {
        self.shared.locks.snapshot()
    }

    /// The store's counters and state.
    pub fn status(&self) -> Result<MvccStatus> {
        let s = &self.shared;
        let snapshots = s.snapshots.lock();
        let active_snapshots = snapshots.active.values().sum();
        drop(snapshots);
        let gc = s.gc.lock();
        Ok(MvccStatus {
            visible_ts: s.visible_ts(),
            applied_lsn: s.applied_lsn.load(Ordering::Acquire),
            active_snapshots,
            gc_horizon: s.gc_horizon(),
            commits: s.commits.load(Ordering::Relaxed),
            rollbacks: s.rollbacks.load(Ordering::Relaxed),
            serialization_failures: s.serialization_failures.load(Ordering::Relaxed),
            gc_removed_versions: gc.removed,
            gc_ranges_reclaimed: gc.ranges_reclaimed,
            gc_queue: gc.queue.len(),
            replayed_records: s.replayed,
            lock_waits: s.locks.waits.load(Ordering::Relaxed),
            deadlocks: s.locks.deadlocks.load(Ordering::Relaxed),
            engine: s.engine.status()?,
            log: s.log.as_ref().map(Log::stats),
        })
    }

    /// Makes every appended log record durable (for a clean shutdown).
    pub fn sync(&self) -> Result<()> {
        if let Some(log) = &self.shared.log {
            log.sync_all()?;
        }
        Ok(())
    }
}

fn read_meta(engine: &dyn Engine, key: &[u8]) -> Result<u64> {
    match engine.get(key)? {
        None => Ok(0),
        Some(v) => {
            let bytes: [u8; 8] =
                v.as_slice().try_into().map_err(|_| errdata!("invalid store metadata"))?;
            Ok(u64::from_be_bytes(bytes))
        }
    }
}

/// Replays log records after `applied_lsn` into the engine, in batches. Returns the new
/// applied LSN, last timestamp and number of records replayed.
fn replay(engine: &dyn Engine, log: &Log, applied_lsn: Lsn, last_ts: Ts) -> Result<(Lsn, Ts, u64)> {
    const BATCH_BYTES: usize = 8 << 20;
    let durable = log.durable_lsn();
    if applied_lsn > durable {
        return Err(errdata!(
            "the engine has applied log position {applied_lsn} but the log ends at {durable}: \
             the log directory does not belong to this data directory, or lost its tail"
        ));
    }
    if applied_lsn + 1 < log.first_lsn() {
        return Err(errdata!(
            "the log starts at position {} but the engine needs records from {}: records are missing",
            log.first_lsn(),
            applied_lsn + 1
        ));
    }
    let (mut lsn, mut ts, mut count) = (applied_lsn, last_ts, 0u64);
    let mut batch = WriteBatch::new();
    let mut batch_bytes = 0;
    for record in log.read_from(applied_lsn + 1)? {
        let record = record?;
        let commit = record::decode(&record.payload).map_err(|e| {
            errdata!("log record {} cannot be replayed: {}", record.lsn, e.message())
        })?;
        batch_bytes += record.payload.len();
        add_heads(&mut batch, commit.ts, &commit.writes);
        (lsn, ts, count) = (record.lsn, commit.ts, count + 1);
        if batch_bytes >= BATCH_BYTES {
            write_group(engine, std::mem::take(&mut batch), lsn, ts)?;
            batch_bytes = 0;
        }
    }
    if !batch.is_empty() {
        write_group(engine, batch, lsn, ts)?;
    }
    Ok((lsn, ts, count))
}

/// Writes a replica's starting copy into an empty engine: every row as a head at `ts`, and
/// the metadata saying the engine holds the log up to `lsn`. A store opened on it then
/// replays the log from `lsn + 1`.
pub fn install_snapshot(
    engine: &dyn Engine,
    rows: &mut dyn Iterator<Item = Result<(Vec<u8>, Vec<u8>)>>,
    lsn: Lsn,
    ts: Ts,
) -> Result<u64> {
    const BATCH_BYTES: usize = 8 << 20;
    let mut batch = WriteBatch::new();
    let (mut bytes, mut count) = (0, 0u64);
    for row in rows {
        let (key, value) = row?;
        crate::version::check_user_key(&key)?;
        bytes += key.len() + value.len();
        batch.put(key, encode_head(ts, Some(&value)));
        count += 1;
        if bytes >= BATCH_BYTES {
            engine.write(std::mem::take(&mut batch))?;
            bytes = 0;
        }
    }
    write_group(engine, batch, lsn, ts)?;
    engine.flush()?;
    Ok(count)
}

/// Replays one record's writes as heads. After a restart no snapshot is older than the
/// recovery, so superseded heads need not be kept, and a deletion simply removes the key.
fn add_heads(batch: &mut WriteBatch, ts: Ts, writes: &[Write]) {
    for (key, value) in writes {
        match value {
            Some(v) => batch.put(key.clone(), encode_head(ts, Some(v))),
            None => batch.delete(key.clone()),
        }
    }
}

/// Writes a group of versions with the metadata saying how far the engine has applied.
fn write_group(engine: &dyn Engine, mut batch: WriteBatch, lsn: Lsn, ts: Ts) -> Result<()> {
    batch.put(META_APPLIED_LSN.to_vec(), lsn.to_be_bytes().to_vec());
    batch.put(META_LAST_TS.to_vec(), ts.to_be_bytes().to_vec());
    engine.write(batch)
}

impl Shared {
    pub(crate) fn visible_ts(&self) -> Ts {
        self.visible_ts.load(Ordering::Acquire)
    }

    pub(crate) fn next_txn_id(&self) -> u64 {
        self.next_txn.fetch_add(1, Ordering::Relaxed)
    }

    /// Registers a snapshot at the current visible timestamp (or at `as_of`).
    pub(crate) fn register_snapshot(&self, as_of: Option<Ts>) -> Result<Ts> {
        let mut snapshots = self.snapshots.lock();
        let visible = self.visible_ts();
        let ts = match as_of {
            None => visible,
            Some(ts) if ts > visible => {
                return Err(errinput!(
                    INVALID_PARAMETER_VALUE,
                    "cannot read as of a time later than the latest commit"
                )
                .with_detail(format!("requested {ts}, latest commit {visible}")));
            }
            Some(ts) if ts < snapshots.collected_to => {
                return Err(errinput!(
                    SNAPSHOT_TOO_OLD,
                    "snapshot too old: the versions of that time are no longer retained"
                )
                .with_detail(format!("requested {ts}, oldest retained {}", snapshots.collected_to))
                .with_hint("raise version_retention to read further into the past"));
            }
            Some(ts) => ts,
        };
        Snapshots::add(&mut snapshots.active, ts);
        Ok(ts)
    }

    pub(crate) fn unregister_snapshot(&self, ts: Ts) {
        Snapshots::remove(&mut self.snapshots.lock().active, ts);
    }

    /// Registers a read-write serializable transaction and returns its snapshot: from now on
    /// every commit records its write set, and commits not yet visible are recorded now.
    ///
    /// IMPORTANT: the snapshot is taken under the commit lock. Taken before it, a commit
    /// pending at that moment could become visible and leave `pending` before this
    /// registers, and validation would never see its writes (write skew).
    pub(crate) fn register_serializable(&self) -> Result<Ts> {
        let mut commit = self.commit.lock();
        let snapshot = self.register_snapshot(None)?;
        if commit.serializable_active == 0 {
            let pending: Vec<_> = commit.pending.iter().map(|p| (p.ts, p.writes.clone())).collect();
            commit.recent.extend(pending);
        }
        commit.serializable_active += 1;
        Snapshots::add(&mut self.snapshots.lock().serializable, snapshot);
        Ok(snapshot)
    }

    pub(crate) fn unregister_serializable(&self, snapshot: Ts) {
        let mut commit = self.commit.lock();
        commit.serializable_active -= 1;
        let mut snapshots = self.snapshots.lock();
        Snapshots::remove(&mut snapshots.serializable, snapshot);
        match snapshots.serializable.keys().next() {
            Some(&oldest) => {
                while commit.recent.front().is_some_and(|(ts, _)| *ts <= oldest) {
                    commit.recent.pop_front();
                }
            }
            None => commit.recent.clear(),
        }
    }

    /// The oldest snapshot that must stay readable: nothing at or below it that a newer
    /// version supersedes is visible to anyone.
    pub(crate) fn gc_horizon(&self) -> Ts {
        let mut snapshots = self.snapshots.lock();
        let retained =
            wall_clock_micros().saturating_sub(self.options.version_retention.as_micros() as u64);
        let oldest = snapshots.active.keys().next().copied().unwrap_or(Ts::MAX);
        let horizon = oldest.min(self.visible_ts()).min(retained);
        snapshots.collected_to = snapshots.collected_to.max(horizon);
        horizon
    }

    /// Appends the commit to the log and waits until it is durable and visible. Returns the
    /// commit timestamp.
    pub(crate) fn commit(&self, request: CommitRequest<'_>) -> Result<Ts> {
        self.committing.fetch_add(1, Ordering::AcqRel);
        let result = self.commit_inner(request);
        self.committing.fetch_sub(1, Ordering::AcqRel);
        result
    }

    fn commit_inner(&self, request: CommitRequest<'_>) -> Result<Ts> {
        self.check_poison_for_writes(false)?;
        if let Some(leader) = &*self.replica_of.lock() {
            return Err(errinput!(
                READ_ONLY_SQL_TRANSACTION,
                "cannot write on a read replica: its data comes from the leader at {leader}"
            )
            .with_hint(format!("Send writes to the leader at {leader}.")));
        }
        let mut payload = record::encode(&request.writes);
        let writes = Arc::new(request.writes);
        let (lsn, ts) = {
            let mut commit = self.commit.lock();
            if let Some((snapshot, reads)) = request.validate {
                validate(&commit.recent, snapshot, reads)?;
            }
            let ts = commit.clock.tick();
            record::set_ts(&mut payload, ts);
            let lsn = match &self.log {
                Some(log) => log.append_owned(payload)?,
                None => {
                    commit.next_memory_lsn += 1;
                    commit.next_memory_lsn - 1
                }
            };
            if commit.serializable_active > 0 {
                commit.recent.push_back((ts, writes.clone()));
            }
            commit.pending.push_back(PendingCommit { lsn, ts, writes, priors: request.priors });
            (lsn, ts)
        };
        self.wait_applied(lsn)?;
        self.commits.fetch_add(1, Ordering::Relaxed);
        Ok(ts)
    }

    fn apply_replicated(&self, records: &[(Lsn, Vec<u8>)]) -> Result<Ts> {
        let Some(log) = &self.log else {
            return Err(errinput!(FEATURE_NOT_SUPPORTED, "a replica needs a write-ahead log"));
        };
        let Some(last) = records.last().map(|r| r.0) else {
            return Ok(self.visible_ts());
        };
        self.check_poison_for_writes(false)?;
        let mut last_ts = 0;
        {
            let mut commit = self.commit.lock();
            // Within the batch, a key written twice supersedes the earlier write, not the
            // head in the engine (not applied yet).
            let mut batch_heads: std::collections::HashMap<Vec<u8>, (Ts, Option<Vec<u8>>)> =
                std::collections::HashMap::new();
            let first = log.durable_lsn() + 1 + commit.pending.len() as Lsn;
            for (expected, (lsn, payload)) in (first..).zip(records) {
                if *lsn != expected {
                    return Err(errdata!(
                        "replication stream out of order: expected log position {expected}, received {lsn}"
                    ));
                }
                let decoded = record::decode(payload)
                    .map_err(|e| errdata!("replicated record {lsn} is invalid: {}", e.message()))?;
                let mut priors = Vec::new();
                for (key, value) in &decoded.writes {
                    let head = match batch_heads.get(key) {
                        Some(h) => Some(h.clone()),
                        None => crate::transaction::latest_at_head(self, key)?,
                    };
                    if let Some((ts, old)) = head {
                        priors.push((key.clone(), ts, old));
                    }
                    batch_heads.insert(key.clone(), (decoded.ts, value.clone()));
                }
                let appended = log.append(payload)?;
                if appended != *lsn {
                    return Err(self.poison(errdata!(
                        "replica log out of step: record {lsn} was appended at {appended}"
                    )));
                }
                commit.clock.observe(decoded.ts);
                commit.pending.push_back(PendingCommit {
                    lsn: *lsn,
                    ts: decoded.ts,
                    writes: Arc::new(decoded.writes),
                    priors,
                });
                last_ts = decoded.ts;
            }
        }
        self.wait_applied(last)?;
        self.commits.fetch_add(records.len() as u64, Ordering::Relaxed);
        Ok(last_ts)
    }

    /// Waits until the commit at `lsn` is applied. If no group commit is under way, this
    /// thread leads one: it makes everything appended so far durable with one fsync and
    /// applies it in one engine batch, then wakes every follower at once. Followers sleep on a
    /// condition variable rather than queueing on a mutex, so a finished group releases all of
    /// its members together instead of one context switch at a time.
    fn wait_applied(&self, lsn: Lsn) -> Result<()> {
        oxibase_common::worker::blocking(|| self.lead_or_follow(lsn))
    }

    /// `wait_applied`, on the calling thread.
    fn lead_or_follow(&self, lsn: Lsn) -> Result<()> {
        let (lock, followers) = &self.apply;
        let mut leading = lock.lock();
        loop {
            if self.applied_lsn.load(Ordering::Acquire) >= lsn {
                return Ok(());
            }
            self.check_poison_for_writes(false)?;
            if !*leading {
                *leading = true;
                drop(leading);
                let result = self.lead_group(lsn);
                leading = lock.lock();
                *leading = false;
                followers.notify_all();
                result?;
                continue;
            }
            followers.wait(&mut leading);
        }
    }

    /// Like PostgreSQL's `commit_delay`: when other transactions are about to append their
    /// commit records, a leader waits a few microseconds for them so that one fsync covers
    /// them too. Returns at once when this is the only committer.
    fn gather_group(&self) {
        const MAX_WAIT: std::time::Duration = std::time::Duration::from_micros(50);
        let in_flight = self.committing.load(Ordering::Acquire);
        let start = std::time::Instant::now();
        while start.elapsed() < MAX_WAIT {
            let appended = self.commit.lock().pending.len() as u64;
            if appended >= in_flight || appended >= self.committing.load(Ordering::Acquire) {
                return;
            }
            std::thread::yield_now();
        }
    }

    /// Makes the pending commits durable and visible: one fsync, one engine batch.
    fn lead_group(&self, lsn: Lsn) -> Result<()> {
        self.gather_group();
        let appended = self.commit.lock().pending.back().map_or(lsn, |p| p.lsn).max(lsn);
        let durable = match &self.log {
            Some(log) => log.sync(appended).map_err(|e| self.poison(e))?,
            None => appended,
        };
        let (mut batch, last_lsn, last_ts, gc_items, written) = self.build_group(durable);
        // A bounded share per group, so a backlog does not lengthen one group's commit.
        self.add_head_deletes(&mut batch, &written, 512);
        write_group(self.engine.as_ref(), batch, last_lsn, last_ts).map_err(|e| self.poison(e))?;
        // After the engine write: GC reads heads as of the last group recorded.
        self.head_writes.lock().record(written.into_iter().collect());
        self.visible_ts.store(last_ts, Ordering::Release);
        self.applied_lsn.store(last_lsn, Ordering::Release);
        // IMPORTANT: a commit leaves `pending` only once visible, so a serializable
        // transaction registering in between still finds it (see register_serializable).
        let mut commit = self.commit.lock();
        while commit.pending.front().is_some_and(|p| p.lsn <= last_lsn) {
            commit.pending.pop_front();
        }
        drop(commit);
        self.gc.lock().enqueue(gc_items);
        Ok(())
    }

    /// Collects every pending commit up to `durable` into one engine batch: each superseded
    /// head moves to its key's older versions, each write becomes the key's head. Returns the
    /// batch, the last LSN and timestamp, what GC must collect later, and the hashes of the
    /// keys written.
    #[allow(clippy::type_complexity)]
    fn build_group(
        &self,
        durable: Lsn,
    ) -> (WriteBatch, Lsn, Ts, Vec<(Ts, GcItem)>, crate::heads::KeyHashes) {
        // Only the leader records groups, so this group's number is the next one.
        let group = self.head_writes.lock().last() + 1;
        let commit = self.commit.lock();
        let mut batch = WriteBatch::new();
        let (mut last_lsn, mut last_ts) = (0, 0);
        let mut gc_items = Vec::new();
        let mut written = crate::heads::KeyHashes::default();
        for p in commit.pending.iter().take_while(|p| p.lsn <= durable) {
            // Before the engine write, so that no reader sees the row while a hint skips it.
            self.dead_prefixes.note_writes(p.ts, &p.writes);
            for (key, prior_ts, prior) in &p.priors {
                batch.put(version_key(key, *prior_ts), encode_value(prior.as_deref()));
                gc_items.push((p.ts, GcItem::Version { key: key.clone(), ts: *prior_ts }));
            }
            for (key, value) in p.writes.iter() {
                batch.put(key.clone(), encode_head(p.ts, value.as_deref()));
                if value.is_none() {
                    gc_items.push((p.ts, GcItem::Head { key: key.clone(), ts: p.ts, group }));
                }
                written.insert(self.key_hash(key));
            }
            (last_lsn, last_ts) = (p.lsn, p.ts);
        }
        (batch, last_lsn, last_ts, gc_items, written)
    }

    /// Deletes GC's tombstone heads now while no commit group is being applied: this thread
    /// then holds the leader's role for the moment it takes, so no head is written meanwhile.
    /// It takes the role for one small batch at a time, so a committer arriving meanwhile
    /// waits for one batch at most; once a group is under way, its leader and the next ones
    /// take the rest.
    pub(crate) fn collect_heads_if_idle(&self) -> Result<()> {
        let (lock, followers) = &self.apply;
        while !self.head_gc.lock().is_empty() {
            {
                let mut leading = lock.lock();
                if *leading {
                    return Ok(());
                }
                *leading = true;
            }
            let mut batch = WriteBatch::new();
            let keys = crate::heads::KeyHashes::default();
            self.add_head_deletes(&mut batch, &keys, crate::gc::BATCH);
            let result = if batch.is_empty() { Ok(()) } else { self.engine.write(batch) };
            let mut leading = lock.lock();
            *leading = false;
            followers.notify_all();
            drop(leading);
            result?;
        }
        Ok(())
    }

    /// Adds GC's deletions of tombstone heads to a group's batch (`written`: this group's
    /// key hashes). They go through the group leader, the only writer of heads, so a head
    /// written meanwhile is never deleted: a candidate is dropped when this group or one
    /// after the group it was known from wrote its key (a live row again, or a newer
    /// tombstone that has its own GC item), and read again by GC when those groups are no
    /// longer remembered. Nothing is read from the engine here: this runs while the group's
    /// members wait.
    fn add_head_deletes(
        &self,
        batch: &mut WriteBatch,
        written: &crate::heads::KeyHashes,
        limit: usize,
    ) {
        let candidates: Vec<crate::gc::HeadCandidate> = {
            let mut pending = self.head_gc.lock();
            let n = pending.len().min(limit);
            pending.drain(..n).collect()
        };
        if candidates.is_empty() {
            return;
        }
        let mut recheck = Vec::new();
        {
            let recent = self.head_writes.lock();
            for (key, ts, after) in candidates {
                let hash = self.key_hash(&key);
                if written.contains(&hash) {
                    continue;
                }
                match recent.written_after(hash, after) {
                    Some(false) => batch.delete(key),
                    Some(true) => {}
                    None => recheck.push((key, ts)),
                }
            }
        }
        if !recheck.is_empty() {
            self.gc.lock().recheck.extend(recheck);
        }
    }

    fn key_hash(&self, key: &[u8]) -> u64 {
        use std::hash::BuildHasher;
        self.key_hasher.hash_one(key)
    }

    fn poison(&self, err: Error) -> Error {
        let err = Error::new(
            ErrorKind::ReadOnly,
            SqlState::IO_ERROR,
            format!(
                "could not make a commit durable and visible: {}; its outcome is unknown until the \
                 server restarts and recovers from the log, and writes are refused until then",
                err.message()
            ),
        );
        self.poison.lock().get_or_insert(err.clone());
        err
    }

    pub(crate) fn check_poison_for_writes(&self, read_only: bool) -> Result<()> {
        match (&*self.poison.lock(), read_only) {
            (Some(err), false) => Err(err.clone()),
            _ => Ok(()),
        }
    }

    fn checkpoint(&self) -> Result<Lsn> {
        let applied = self.applied_lsn.load(Ordering::Acquire);
        let Some(log) = &self.log else { return Ok(applied) };
        if !self.engine.status()?.persistent {
            return Ok(0); // a memory engine is rebuilt from the whole log
        }
        self.engine.flush()?;
        log.truncate_below(applied + 1)?;
        self.checkpoint_at_bytes
            .store(log.stats().synced_bytes + self.options.checkpoint_log_bytes, Ordering::Relaxed);
        Ok(applied)
    }

    fn maybe_checkpoint(&self) -> Result<()> {
        let Some(log) = &self.log else { return Ok(()) };
        if log.stats().synced_bytes >= self.checkpoint_at_bytes.load(Ordering::Relaxed) {
            self.checkpoint()?;
        }
        Ok(())
    }
}

/// Fails with 40001 if a transaction that committed after `snapshot` wrote into `reads`.
fn validate(
    recent: &VecDeque<(Ts, Arc<Vec<Write>>)>,
    snapshot: Ts,
    reads: &[oxibase_engine::KeyRange],
) -> Result<()> {
    for (ts, writes) in recent.iter().filter(|(ts, _)| *ts > snapshot) {
        for (key, _) in writes.iter() {
            if reads.iter().any(|r| crate::version::range_contains(r, key)) {
                return Err(oxibase_common::errconflict!(
                    SERIALIZATION_FAILURE,
                    "could not serialize access due to read/write dependencies among transactions"
                )
                .with_detail(format!(
                    "a transaction committed at {ts} wrote data this transaction read"
                ))
                .with_hint("the transaction might succeed if retried"));
            }
        }
    }
    Ok(())
}

fn spawn_maintenance(shared: Weak<Shared>, interval: Duration) {
    let spawned = std::thread::Builder::new().name("oxibase-maintenance".into()).spawn(move || {
        let mut idle = IdleSeal::new(std::time::Instant::now());
        loop {
            std::thread::sleep(interval);
            let Some(shared) = shared.upgrade() else { return };
            // NB: failures here are retried next round; a broken engine also fails commits,
            // which is where the user hears about it.
            let _ = crate::gc::run(&shared, 10_000);
            let _ = shared.maybe_checkpoint();
            let _ = idle.tick(&*shared.engine, std::time::Instant::now());
        }
    });
    // Without the thread, GC and checkpoints still run when called explicitly.
    drop(spawned);
}

/// How long the engine's in-memory writes must stay unchanged before they are sealed.
const SEAL_WHEN_IDLE: Duration = Duration::from_secs(2);
/// The least unsealed bytes worth sealing (a smaller memtable is cheap to search, and each
/// seal makes a table for compaction to merge).
const SEAL_AT_LEAST: u64 = 1 << 20;

/// Seals the engine's in-memory writes when writing stops (see `Engine::seal`).
///
/// After a burst of writes the LSM's active memtable stays as the burst left it until more
/// writes fill it, and every point read searches its skiplist first (~1 µs with a few
/// hundred thousand entries: a sixth of a pgbench select-only query right after TPC-B). Once
/// it has not changed for [`SEAL_WHEN_IDLE`], it is handed to the engine's flush workers and
/// reads check the new table's bloom filter instead.
struct IdleSeal {
    /// Unsealed bytes at the last round, and since when they have been that.
    bytes: u64,
    since: std::time::Instant,
}

impl IdleSeal {
    fn new(now: std::time::Instant) -> IdleSeal {
        IdleSeal { bytes: 0, since: now }
    }

    /// One maintenance round; true if it sealed.
    fn tick(&mut self, engine: &dyn Engine, now: std::time::Instant) -> Result<bool> {
        let bytes = engine.unsealed_bytes();
        if bytes != self.bytes {
            self.bytes = bytes;
            self.since = now;
            return Ok(false);
        }
        if bytes < SEAL_AT_LEAST || now.duration_since(self.since) < SEAL_WHEN_IDLE {
            return Ok(false);
        }
        engine.seal()?;
        self.bytes = engine.unsealed_bytes();
        self.since = now;
        Ok(true)
    }
}

/// Used by tests and callers that need the isolation level's name.
impl std::fmt::Display for Isolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Isolation::ReadCommitted => "read committed",
            Isolation::Snapshot => "repeatable read",
            Isolation::Serializable => "serializable",
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use oxibase_engine::{Lsm, LsmOptions};

    use super::*;

    fn write(lsm: &Lsm, from: u32, to: u32) {
        let mut batch = WriteBatch::new();
        for i in from..to {
            batch.put(i.to_be_bytes().to_vec(), vec![7u8; 100]);
        }
        lsm.write(batch).unwrap();
    }

    #[test]
    fn idle_writes_are_sealed_once_they_stop_changing() {
        let dir = tempfile::tempdir().unwrap();
        let options = LsmOptions { cache_size: 8 << 20, memtable_size: 64 << 20 };
        let lsm = Lsm::open(dir.path(), &options).unwrap();
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut idle = IdleSeal::new(t0);
        // A small buffer is left alone however long it stays unchanged.
        write(&lsm, 0, 100);
        assert!(!idle.tick(&lsm, at(0)).unwrap());
        assert!(!idle.tick(&lsm, at(60_000)).unwrap());
        assert!(lsm.unsealed_bytes() > 0);
        // A large one is sealed only after it stopped changing for SEAL_WHEN_IDLE.
        write(&lsm, 100, 20_000);
        assert!(lsm.unsealed_bytes() >= SEAL_AT_LEAST);
        assert!(!idle.tick(&lsm, at(61_000)).unwrap(), "it just changed");
        assert!(!idle.tick(&lsm, at(62_000)).unwrap(), "unchanged for 1 s");
        write(&lsm, 20_000, 20_001);
        assert!(!idle.tick(&lsm, at(63_500)).unwrap(), "changed again");
        assert!(!idle.tick(&lsm, at(65_000)).unwrap(), "unchanged for 1.5 s");
        assert!(idle.tick(&lsm, at(65_600)).unwrap(), "unchanged for 2.1 s");
        assert_eq!(lsm.unsealed_bytes(), 0);
        assert!(!idle.tick(&lsm, at(70_000)).unwrap(), "nothing left to seal");
        // Everything reads back, before and after the flush worker wrote it out.
        for i in [0u32, 99, 100, 19_999, 20_000] {
            assert_eq!(lsm.get(&i.to_be_bytes()).unwrap(), Some(vec![7u8; 100]), "key {i}");
        }
        lsm.flush_memtable().unwrap();
        assert_eq!(lsm.get(&12_345u32.to_be_bytes()).unwrap(), Some(vec![7u8; 100]));
    }
}
