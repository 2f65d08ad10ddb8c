//! Transactions: a snapshot, a private write set, row locks, and (if serializable) a read set.
//!
//! Writes stay in the transaction's write set until commit. Each write is tagged with the
//! transaction's current *command id*; a statement reads the write set only up to the
//! previous command, so it never sees its own output (PostgreSQL's command ids, which solve
//! the Halloween problem: `INSERT INTO t SELECT * FROM t` reads only the old rows):
//!
//! ```text
//!   begin_statement()          command 1:  put(a, "x")
//!   begin_statement()          command 2:  get(a) -> "x"   put(a, "y")   get(a) -> "x"
//!   begin_statement()          command 3:  get(a) -> "y"
//! ```
//!
//! A savepoint is the command id at which it was taken: rolling back to it drops every write
//! of a later command and the row locks taken since.
//!
//! Methods take `&self` (the mutable state sits behind a mutex), so a statement can scan and
//! write through the same transaction at once. A transaction dropped without commit rolls
//! back, so a client that disappears never leaves locks behind.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use oxibase_common::{Result, errconflict, errinput};
use oxibase_engine::KeyRange;
use parking_lot::{Mutex, MutexGuard};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::clock::Ts;
use crate::lock_table::{Interrupt, LockMode, LockOutcome, LockWait, PriorMode, TxnId};
use crate::record::Write;
use crate::scan::Scan;
use crate::store::{CommitRequest, Shared};
use crate::version::{
    check_user_key, decode_head, decode_value, head_meta, is_version_of, key_entries,
    split_version_key,
};

/// How a transaction is isolated from concurrent ones.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Isolation {
    /// A fresh snapshot for every statement (PostgreSQL's default level).
    ReadCommitted,
    /// One snapshot for the whole transaction; concurrent updates of a row fail with 40001
    /// (PostgreSQL's REPEATABLE READ).
    #[default]
    Snapshot,
    /// Snapshot isolation plus read-set validation at commit: no write skew, no phantoms.
    Serializable,
}

/// How to start a transaction.
#[derive(Clone, Debug, Default)]
pub struct TxnOptions {
    /// The isolation level.
    pub isolation: Isolation,
    /// Refuse writes (25006).
    pub read_only: bool,
    /// Read the database as of this commit timestamp (implies read-only).
    pub as_of: Option<Ts>,
    /// Row-lock wait limit; `None` uses the store's default.
    pub lock_timeout: Option<Duration>,
}

/// A savepoint: where [`Transaction::rollback_to`] returns the transaction to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Savepoint {
    command: u32,
    locks: usize,
}

/// A transaction. Commit or roll back explicitly; dropping it rolls back.
pub struct Transaction {
    shared: Arc<Shared>,
    id: TxnId,
    isolation: Isolation,
    read_only: bool,
    lock_timeout: Option<Duration>,
    /// What ends the current statement's lock waits early (cancel, statement_timeout).
    interrupt: Mutex<Interrupt>,
    state: Mutex<State>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Active,
    Ended,
}

pub(crate) struct State {
    status: Status,
    /// The snapshot reads use; read committed moves it at each statement.
    pub(crate) snapshot: Ts,
    /// The snapshot registered for GC (the oldest one this transaction still reads at).
    registered: Ts,
    serializable_registered: Option<Ts>,
    /// The current command id; reads see own writes of earlier commands only.
    pub(crate) command: u32,
    /// The highest command id handed out (a nested command ends by returning to a lower one).
    issued: u32,
    pub(crate) writes: BTreeMap<Vec<u8>, KeyWrites>,
    /// Locks in the order taken, with the mode held before (for savepoint rollback).
    locks: Vec<(Vec<u8>, PriorMode)>,
    /// Keys and ranges read, for serializable validation.
    pub(crate) reads: Vec<KeyRange>,
    pub(crate) track_reads: bool,
    /// The head (latest committed version) of keys this transaction holds a write lock on,
    /// as read under the lock (no one else can commit a version of them meanwhile), so the
    /// write after a locked read does not look again.
    latest_heads: HashMap<Vec<u8>, Option<Head>>,
    /// Key prefixes this transaction created (see [`Transaction::own_prefix`]).
    own_prefixes: Vec<Vec<u8>>,
}

impl State {
    /// Whether `key` lies in a range this transaction created.
    fn owns(&self, key: &[u8]) -> bool {
        self.own_prefixes.iter().any(|p| key.starts_with(p))
    }
}

/// A key's latest committed version: its commit timestamp and value (`None`: deleted).
pub(crate) type Head = (Ts, Option<Vec<u8>>);

/// The transaction's writes to one key, oldest first.
pub(crate) struct KeyWrites {
    /// The key's head when the transaction first wrote it (under its lock, so still the head
    /// at commit): the commit moves it to the key's older versions.
    prior: Option<Head>,
    entries: Vec<(u32, Option<Vec<u8>>)>,
}

impl State {
    /// Moves to a fresh command id, above every one handed out before.
    fn new_command(&mut self) {
        self.issued += 1;
        self.command = self.issued;
    }
}

impl KeyWrites {
    /// The value visible to a statement at `command`: the last write of an earlier command.
    pub(crate) fn visible(&self, command: u32) -> Option<&Option<Vec<u8>>> {
        self.entries.iter().rev().find(|(cid, _)| *cid < command).map(|(_, v)| v)
    }

    fn latest(&self) -> Option<&Option<Vec<u8>>> {
        self.entries.last().map(|(_, v)| v)
    }
}

impl Transaction {
    pub(crate) fn begin(shared: Arc<Shared>, options: TxnOptions) -> Result<Transaction> {
        let read_only = options.read_only || options.as_of.is_some();
        let serializable = options.isolation == Isolation::Serializable && !read_only;
        let snapshot = if serializable {
            shared.register_serializable()?
        } else {
            shared.register_snapshot(options.as_of)?
        };
        let state = State {
            status: Status::Active,
            snapshot,
            registered: snapshot,
            serializable_registered: serializable.then_some(snapshot),
            command: 1,
            issued: 1,
            writes: BTreeMap::new(),
            locks: Vec::new(),
            reads: Vec::new(),
            track_reads: serializable,
            latest_heads: HashMap::new(),
            own_prefixes: Vec::new(),
        };
        Ok(Transaction {
            id: shared.next_txn_id(),
            lock_timeout: options.lock_timeout.or(shared.options.lock_timeout),
            interrupt: Mutex::new(Interrupt::default()),
            shared,
            isolation: if options.as_of.is_some() {
                Isolation::Snapshot
            } else {
                options.isolation
            },
            read_only,
            state: Mutex::new(state),
        })
    }

    /// The transaction's id in the lock table.
    pub fn id(&self) -> TxnId {
        self.id
    }

    /// The isolation level.
    pub fn isolation(&self) -> Isolation {
        self.isolation
    }

    /// True for read-only transactions.
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// The snapshot timestamp reads currently use.
    pub fn snapshot_ts(&self) -> Ts {
        self.state.lock().snapshot
    }

    /// True while the transaction can still be used.
    pub fn is_active(&self) -> bool {
        self.state.lock().status == Status::Active
    }

    /// True when the transaction has written something.
    pub fn has_writes(&self) -> bool {
        self.state.lock().writes.values().any(|w| !w.entries.is_empty())
    }

    pub(crate) fn shared(&self) -> &Shared {
        &self.shared
    }

    pub(crate) fn lock_state(&self) -> Result<MutexGuard<'_, State>> {
        let state = self.state.lock();
        if state.status != Status::Active {
            return Err(errinput!(NO_ACTIVE_SQL_TRANSACTION, "the transaction has already ended"));
        }
        Ok(state)
    }

    /// Starts a new statement: later reads see this transaction's earlier writes, and under
    /// read committed they use a fresh snapshot.
    pub fn begin_statement(&self) -> Result<()> {
        let mut state = self.lock_state()?;
        state.new_command();
        if self.isolation == Isolation::ReadCommitted {
            let fresh = self.shared.register_snapshot(None)?;
            self.shared.unregister_snapshot(state.registered);
            (state.snapshot, state.registered) = (fresh, fresh);
        }
        Ok(())
    }

    /// Starts a new command within the statement, keeping the snapshot: later reads see
    /// this transaction's writes so far (a schema change reading back what it just wrote).
    pub fn next_command(&self) -> Result<()> {
        self.lock_state()?.new_command();
        Ok(())
    }

    /// Starts a nested command: a statement that a procedure runs in the middle of its
    /// caller's statement. It reads at the caller's snapshot and sees every write of the
    /// transaction so far (the caller's included); returns the caller's command, which
    /// [`Transaction::end_nested`] restores, so the caller goes on not seeing its own writes
    /// nor the nested ones (PostgreSQL: a statement does not see what the functions it calls
    /// write).
    pub fn begin_nested(&self) -> Result<u32> {
        let mut state = self.lock_state()?;
        let outer = state.command;
        state.new_command();
        Ok(outer)
    }

    /// Ends a nested command, returning to the caller's command.
    pub fn end_nested(&self, outer: u32) {
        self.state.lock().command = outer;
    }

    /// Reads a key as the current statement sees it: the snapshot, overlaid with this
    /// transaction's writes from earlier statements.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let mut state = self.lock_state()?;
        if let Some(value) = state.writes.get(key).and_then(|w| w.visible(state.command)) {
            return Ok(value.clone());
        }
        if state.track_reads {
            state.reads.push((
                std::ops::Bound::Included(key.to_vec()),
                std::ops::Bound::Included(key.to_vec()),
            ));
        }
        let snapshot = state.snapshot;
        drop(state);
        self.read_committed_at(key, snapshot)
    }

    /// Reads the newest state of a key regardless of the snapshot: this transaction's latest
    /// write (from any statement), or else the latest committed version. Meaningful under a
    /// row lock (re-checking a row after a lock wait) and for uniqueness checks.
    pub fn get_latest(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.latest(key, false)?.0)
    }

    /// [`Transaction::get_latest`], and whether a transaction that committed after this
    /// statement's snapshot wrote the key (a READ COMMITTED row lock then re-evaluates the
    /// row), from one read of the key's head.
    pub fn get_latest_and_changed(&self, key: &[u8]) -> Result<(Option<Vec<u8>>, bool)> {
        self.latest(key, true)
    }

    /// The latest state of `key`, and (when `changed` is asked for; else false) whether it
    /// changed since the snapshot.
    fn latest(&self, key: &[u8], changed: bool) -> Result<(Option<Vec<u8>>, bool)> {
        let state = self.lock_state()?;
        let snapshot = state.snapshot;
        if let Some(value) = state.writes.get(key).and_then(KeyWrites::latest) {
            let value = value.clone();
            drop(state);
            let changed =
                changed && self.latest_committed(key)?.is_some_and(|(ts, _)| ts > snapshot);
            return Ok((value, changed));
        }
        if state.owns(key) {
            return Ok((None, false)); // nothing is committed in a range this transaction created
        }
        drop(state);
        let head = self.latest_committed(key)?;
        let changed = head.as_ref().is_some_and(|(ts, _)| *ts > snapshot);
        let value = head.as_ref().and_then(|(_, value)| value.clone());
        if self.shared.locks.held(self.id, key).is_some_and(|m| m >= LockMode::NoKeyUpdate) {
            self.lock_state()?.latest_heads.insert(key.to_vec(), head);
        }
        Ok((value, changed))
    }

    /// Scans a key range, ascending (reverse the iterator for descending), as the current
    /// statement sees it.
    pub fn scan(&self, range: KeyRange) -> Result<Scan<'_>> {
        let state = self.lock_state()?;
        let (snapshot, command) = (state.snapshot, state.command);
        drop(state);
        Ok(Scan::new(self, range, snapshot, command))
    }

    /// Scans a key range at the latest committed state, overlaid with this transaction's
    /// writes: for work done under an exclusive lock that must see every committed row, not
    /// only those in the snapshot (building an index, rewriting a table).
    pub fn scan_latest(&self, range: KeyRange) -> Result<Scan<'_>> {
        let command = self.lock_state()?.command;
        Ok(Scan::new(self, range, Ts::MAX, command))
    }

    /// The latest committed timestamp of a key's version, if it has one (own writes aside):
    /// whether it changed after this statement's snapshot.
    pub fn changed_since_snapshot(&self, key: &[u8]) -> Result<bool> {
        let snapshot = self.lock_state()?.snapshot;
        Ok(self.latest_committed(key)?.is_some_and(|(ts, _)| ts > snapshot))
    }

    /// This transaction's writes so far, each key's latest (a delete as `None`), in key
    /// order: what it would commit now (for a debugger's view).
    pub fn own_writes(&self) -> Result<Vec<crate::record::Write>> {
        let state = self.lock_state()?;
        Ok(state
            .writes
            .iter()
            .filter_map(|(key, w)| w.latest().map(|v| (key.clone(), v.clone())))
            .collect())
    }

    /// Scans every key starting with `prefix`.
    pub fn scan_prefix(&self, prefix: &[u8]) -> Result<Scan<'_>> {
        self.scan(oxibase_engine::prefix_range(prefix))
    }

    /// Writes a value (taking a FOR NO KEY UPDATE row lock if not held).
    pub fn put(&self, key: &[u8], value: Vec<u8>) -> Result<()> {
        self.write(key, Some(value), LockMode::NoKeyUpdate, false)
    }

    /// Writes a key no transaction ever wrote (a row under a new row id, taken from a counter
    /// that never hands a value out twice): as [`Transaction::put`], without the row lock and
    /// the read of an earlier version, as no other transaction can reach the key before this
    /// one commits.
    pub fn put_new(&self, key: &[u8], value: Vec<u8>) -> Result<()> {
        self.write(key, Some(value), LockMode::NoKeyUpdate, true)
    }

    /// Deletes a key (taking a FOR UPDATE row lock if not held). Deleting an absent key is
    /// not an error.
    pub fn delete(&self, key: &[u8]) -> Result<()> {
        self.write(key, None, LockMode::Update, false)
    }

    /// Drops every key under `prefix`, committed or written by this transaction, in one write:
    /// once the commit is older than every snapshot, GC removes the range from the engine as a
    /// whole (see [`crate::dropped`]). After the commit nobody may read the prefix at a newer
    /// snapshot nor write under it again; this transaction may still read it (a table rewrite
    /// streams its old rows into their new storage), and snapshots older than the commit go on
    /// reading it as it was.
    pub fn drop_prefix(&self, prefix: &[u8]) -> Result<()> {
        self.put(&crate::dropped::marker_key(prefix)?, Vec::new())
    }

    /// Declares `prefix` a key range this transaction created (a new table's or a rewrite's
    /// storage): no other transaction can reach it before this one commits, and nothing was
    /// committed in it. Writes under it then take no row lock and read no earlier version,
    /// which is most of what loading a table in the transaction that created it costs.
    pub fn own_prefix(&self, prefix: &[u8]) -> Result<()> {
        self.lock_state()?.own_prefixes.push(prefix.to_vec());
        Ok(())
    }

    fn write(&self, key: &[u8], value: Option<Vec<u8>>, mode: LockMode, new: bool) -> Result<()> {
        if self.read_only {
            return Err(errinput!(
                READ_ONLY_SQL_TRANSACTION,
                "cannot write in a read-only transaction"
            ));
        }
        check_user_key(key)?;
        let (first_write, owned) = {
            let state = self.lock_state()?;
            (!state.writes.contains_key(key), new || state.owns(key))
        };
        let lock = first_write || self.shared.locks.held(self.id, key).is_none_or(|h| h < mode);
        if lock && !owned {
            self.lock_checked(key, mode, LockWait::Wait(self.lock_timeout))?;
        }
        let prior = if first_write && !owned {
            let memo = self.lock_state()?.latest_heads.remove(key);
            match memo {
                Some(head) => head,
                None => self.latest_committed(key)?,
            }
        } else {
            None
        };
        let mut state = self.lock_state()?;
        let command = state.command;
        let writes =
            state.writes.entry(key.to_vec()).or_insert(KeyWrites { prior, entries: Vec::new() });
        match writes.entries.last_mut() {
            Some((cid, v)) if *cid == command => *v = value,
            _ => writes.entries.push((command, value)),
        }
        Ok(())
    }

    /// Sets what ends this transaction's lock waits early from now on: the running
    /// statement's cancel flag and statement_timeout deadline.
    pub fn set_interrupt(&self, interrupt: Interrupt) {
        *self.interrupt.lock() = interrupt;
    }

    /// Locks a row without the snapshot check of [`Transaction::lock`]: for callers that go
    /// on to read the latest version (referential integrity checks).
    pub fn lock_latest(&self, key: &[u8], mode: LockMode, wait: LockWait) -> Result<LockOutcome> {
        if self.lock_state()?.owns(key) {
            return Ok(LockOutcome::Acquired); // no one else can reach it
        }
        self.lock_unowned(key, mode, wait)
    }

    fn lock_unowned(&self, key: &[u8], mode: LockMode, wait: LockWait) -> Result<LockOutcome> {
        check_user_key(key)?;
        let wait = match wait {
            LockWait::Wait(None) => LockWait::Wait(self.lock_timeout),
            other => other,
        };
        let (outcome, prior) = self.shared.locks.lock_interruptible(
            self.id,
            key,
            mode,
            wait,
            &self.interrupt.lock().clone(),
        )?;
        if outcome == LockOutcome::Acquired && prior.is_none_or(|p| p < mode) {
            self.lock_state()?.locks.push((key.to_vec(), prior));
        }
        Ok(outcome)
    }

    /// Locks a row. Under snapshot and serializable isolation, a row changed by a commit
    /// after this transaction's snapshot fails with 40001 once the lock is held (the first
    /// updater wins, as in PostgreSQL); under read committed the caller re-reads the row
    /// with [`Transaction::get_latest`].
    pub fn lock(&self, key: &[u8], mode: LockMode, wait: LockWait) -> Result<LockOutcome> {
        if self.lock_state()?.owns(key) {
            return Ok(LockOutcome::Acquired);
        }
        self.lock_checked(key, mode, wait)
    }

    /// [`Transaction::lock`] for a key outside the ranges this transaction created.
    fn lock_checked(&self, key: &[u8], mode: LockMode, wait: LockWait) -> Result<LockOutcome> {
        if self.lock_unowned(key, mode, wait)? == LockOutcome::Skipped {
            return Ok(LockOutcome::Skipped);
        }
        // The snapshot is the statement's: waiting for the lock did not move it.
        let snapshot = self.lock_state()?.snapshot;
        if self.isolation != Isolation::ReadCommitted
            && let Some((ts, _)) = self.latest_committed(key)?
            && ts > snapshot
        {
            self.shared.serialization_failures.fetch_add(1, Ordering::Relaxed);
            return Err(errconflict!(SERIALIZATION_FAILURE, "could not serialize access due to concurrent update")
                .with_detail(format!("the row was changed by a transaction that committed at {ts}, after this transaction's snapshot at {snapshot}"))
                .with_hint("the transaction might succeed if retried"));
        }
        Ok(LockOutcome::Acquired)
    }

    /// Takes a savepoint.
    pub fn savepoint(&self) -> Result<Savepoint> {
        let mut state = self.lock_state()?;
        state.new_command();
        Ok(Savepoint { command: state.command, locks: state.locks.len() })
    }

    /// Undoes every write and row lock since the savepoint; the savepoint stays usable.
    pub fn rollback_to(&self, savepoint: &Savepoint) -> Result<()> {
        let mut state = self.lock_state()?;
        for writes in state.writes.values_mut() {
            writes.entries.retain(|(cid, _)| *cid < savepoint.command);
        }
        state.writes.retain(|_, w| !w.entries.is_empty());
        let keep = savepoint.locks.min(state.locks.len());
        let released: Vec<_> = state.locks.drain(keep..).collect();
        state.latest_heads.clear();
        state.new_command();
        drop(state);
        for (key, prior) in released.into_iter().rev() {
            self.shared.locks.release(self.id, &key, prior);
        }
        Ok(())
    }

    /// Commits: the writes become one log record, durable and visible before this returns.
    /// Returns the commit timestamp (the snapshot timestamp for a transaction that wrote
    /// nothing). On a serialization failure the transaction is rolled back.
    pub fn commit(self) -> Result<Ts> {
        let mut state = self.lock_state()?;
        let (writes, priors) = final_writes(std::mem::take(&mut state.writes));
        if writes.is_empty() {
            let ts = state.snapshot;
            drop(state);
            self.end(false);
            return Ok(ts);
        }
        let reads = std::mem::take(&mut state.reads);
        let validate = state.serializable_registered.map(|snapshot| (snapshot, reads.as_slice()));
        let result = self.shared.commit(CommitRequest { writes, priors, validate });
        drop(state);
        self.end(result.is_err());
        result
    }

    /// Rolls back: discards the writes and releases the locks.
    pub fn rollback(self) -> Result<()> {
        drop(self.lock_state()?);
        self.end(true);
        Ok(())
    }

    fn end(&self, rolled_back: bool) {
        let mut state = self.state.lock();
        if state.status == Status::Ended {
            return;
        }
        state.status = Status::Ended;
        state.writes.clear();
        let locks = std::mem::take(&mut state.locks);
        let (registered, serializable) = (state.registered, state.serializable_registered.take());
        drop(state);
        for (key, _) in locks.iter().rev() {
            self.shared.locks.release(self.id, key, None);
        }
        self.shared.unregister_snapshot(registered);
        if let Some(snapshot) = serializable {
            self.shared.unregister_serializable(snapshot);
        }
        if rolled_back {
            self.shared.rollbacks.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Reads the newest version of `key` at or below `ts`.
    pub(crate) fn read_committed_at(&self, key: &[u8], ts: Ts) -> Result<Option<Vec<u8>>> {
        read_at(self.shared(), key, ts)
    }

    /// The latest committed version of `key` (its head): timestamp and value.
    fn latest_committed(&self, key: &[u8]) -> Result<Option<Head>> {
        latest_at_head(self.shared(), key)
    }
}

/// A key's head, read with one point lookup.
pub(crate) fn latest_at_head(shared: &Shared, key: &[u8]) -> Result<Option<Head>> {
    shared.engine.get(key)?.map(decode_head).transpose()
}

/// Reads the newest version of `key` at or below `ts` from the engine: the head when it is
/// old enough (one point lookup), else the newest older version at or below `ts`.
pub(crate) fn read_at(shared: &Shared, key: &[u8], ts: Ts) -> Result<Option<Vec<u8>>> {
    let Some(raw) = shared.engine.get(key)? else { return Ok(None) };
    if head_meta(&raw)?.0 <= ts {
        return Ok(decode_head(raw)?.1);
    }
    // NB: a point get may see the head of a commit still being applied, whose superseded
    // version an iterator created now would not show; so the slow path reads the head again
    // together with the versions, from one point-in-time iterator.
    for item in shared.engine.scan(key_entries(key)) {
        let (engine_key, value) = item?;
        if engine_key.as_slice() == key {
            if head_meta(&value)?.0 <= ts {
                return Ok(decode_head(value)?.1);
            }
        } else if is_version_of(&engine_key, key) && split_version_key(&engine_key)?.1 <= ts {
            return decode_value(value);
        }
    }
    Ok(None)
}

/// A head a commit supersedes: the key, and the head's timestamp and value, which move to
/// the key's older versions.
pub(crate) type Prior = (Vec<u8>, Ts, Option<Vec<u8>>);

/// The writes a commit makes: each key's latest value, leaving out deletes of keys that do
/// not exist; and the heads they supersede. Takes the write set apart rather than copying it
/// (a bulk load's is hundreds of megabytes).
fn final_writes(writes: BTreeMap<Vec<u8>, KeyWrites>) -> (Vec<Write>, Vec<Prior>) {
    let mut out = Vec::with_capacity(writes.len());
    let mut priors = Vec::new();
    for (key, mut w) in writes {
        let Some((_, value)) = w.entries.pop() else { continue };
        let exists = w.prior.as_ref().is_some_and(|(_, v)| v.is_some());
        if value.is_none() && !exists {
            continue;
        }
        if let Some((ts, old)) = w.prior {
            priors.push((key.clone(), ts, old));
        }
        out.push((key, value));
    }
    (out, priors)
}

impl Drop for Transaction {
    fn drop(&mut self) {
        self.end(true);
    }
}
