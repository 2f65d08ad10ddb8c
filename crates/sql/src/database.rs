//! A database: the store, its catalog, and what sessions share.
//!
//! ```text
//!   <dir>/data/     the LSM engine (fjall): versioned rows, indexes, catalog
//!   <dir>/wal/      the write-ahead log: every commit is here, fsynced, before it is
//!                   acknowledged; replayed into the engine on open
//!   <dir>/LOCK      held while the database is open, so two servers cannot share a directory
//! ```
//!
//! Sessions share a catalog generation counter: it moves when a transaction that changed
//! the catalog commits, and sessions use it to know when cached tables and plans are stale.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::time::Duration;

use oxibase_common::{Result, errinput};
use oxibase_engine::{Lsm, LsmOptions, Memory};
use oxibase_log::{Log, LogOptions};
use oxibase_mvcc::{Mvcc, MvccOptions, Ts};
use parking_lot::Mutex;

use crate::catalog::Catalog;
use crate::session::Session;
use crate::system::SessionInfo;

/// The file a promoted replica leaves in its data directory.
pub const PROMOTED: &str = "PROMOTED";

/// How to open a database.
#[derive(Clone, Debug)]
pub struct DatabaseOptions {
    /// fsync the log at commit (off only for benchmarks that measure without it).
    pub fsync: bool,
    /// The engine's block cache, in bytes.
    pub cache_size: u64,
    /// The cache of recently read rows (their newest versions) in front of the engine, in
    /// bytes (`oxibase_engine::Cached`); 0 for none.
    pub row_cache_size: u64,
    /// The engine's memtable size, in bytes.
    pub memtable_size: u64,
    /// A log segment's size before the next one starts.
    pub segment_size: u64,
    /// Checkpoint once this many log bytes were written since the last one.
    pub checkpoint_log_bytes: u64,
    /// How long overwritten versions stay readable with `FOR SYSTEM_TIME AS OF`.
    pub version_retention: Duration,
    /// The database name sessions report.
    pub name: String,
    /// A read replica of this leader (`HOST:PORT`): every transaction is read-only, and
    /// writes fail with 25006 naming the leader.
    pub replica_of: Option<String>,
}

impl Default for DatabaseOptions {
    fn default() -> Self {
        DatabaseOptions {
            fsync: true,
            cache_size: 256 << 20,
            row_cache_size: 64 << 20,
            memtable_size: oxibase_engine::DEFAULT_MEMTABLE_SIZE,
            segment_size: 64 << 20,
            checkpoint_log_bytes: 256 << 20,
            version_retention: Duration::ZERO,
            name: "oxibase".into(),
            replica_of: None,
        }
    }
}

/// What sessions of one database share.
pub(crate) struct Shared {
    pub(crate) catalog: Catalog,
    pub(crate) name: String,
    /// Moves when a transaction that changed the catalog commits.
    pub(crate) generation: AtomicU64,
    /// The commit timestamp of the last catalog change (a snapshot older than this must
    /// not use caches built after it).
    pub(crate) ddl_ts: AtomicU64,
    /// Serializes commits of catalog changes (see [`Database::commit_ddl`]).
    ddl_commit: Mutex<()>,
    next_pid: AtomicI32,
    /// Running sessions: what pg_stat_activity shows, and cancel flags.
    pub(crate) sessions: Mutex<HashMap<i32, SessionEntry>>,
    /// Committed and rolled back transactions, statements run.
    pub(crate) counters: Counters,
    /// When the database was opened (PostgreSQL micros): where the counters start.
    pub(crate) opened_at: i64,
    /// Statements running under the step debugger.
    pub(crate) debug: crate::debug::DebugSessions,
    /// pg_advisory_lock and friends.
    pub(crate) advisory: crate::advisory::AdvisoryLocks,
    /// LISTEN / NOTIFY channels and inboxes.
    pub(crate) notifier: crate::notify::Notifier,
    /// Runs stored functions and procedures (set by the binary that links one).
    procedures: parking_lot::RwLock<Option<Arc<dyn crate::procedure::ProcedureRuntime>>>,
    /// The leader this database replicates, if it is a read replica (None once promoted).
    /// The replication thread holds it (shared) while it applies a batch, so a promotion
    /// (exclusive) waits for the batch and none follows it.
    replica_of: parking_lot::RwLock<Option<String>>,
    /// The followers replicating this database.
    replicas: crate::replicas::Replicas,
    /// Plans and applies schema migrations (set by the binary that links the engine).
    migrator: parking_lot::RwLock<Option<Arc<dyn crate::migrate::Migrator>>>,
    _lock: Option<File>,
    dir: Option<PathBuf>,
}

/// A running session as others see it.
pub(crate) struct SessionEntry {
    /// Shared with the session, which updates it without taking the map's lock.
    pub(crate) info: Arc<Mutex<SessionInfo>>,
    pub(crate) secret: i32,
    pub(crate) cancel: Arc<AtomicBool>,
    /// Set by pg_terminate_backend: the connection ends at its next chance. Shared with the
    /// session, which reads it without taking the map's lock.
    pub(crate) terminate: Arc<AtomicBool>,
}

/// Database-wide counters.
#[derive(Default)]
pub struct Counters {
    /// Committed transactions.
    pub commits: AtomicU64,
    /// Rolled back transactions.
    pub rollbacks: AtomicU64,
    /// Statements executed.
    pub statements: AtomicU64,
    /// Statements that ran a plan shared with texts differing only in integer literals.
    pub lifted_statements: AtomicU64,
    /// Rows read by statements.
    pub rows_read: AtomicU64,
    /// Rows written by statements.
    pub rows_written: AtomicU64,
}

/// A database. Cheap to clone; every clone is the same database.
#[derive(Clone)]
pub struct Database {
    pub(crate) shared: Arc<Shared>,
}

impl Database {
    /// Opens (or creates) a database in a directory with default options.
    pub fn open(dir: &Path) -> Result<Database> {
        Self::open_with(dir, DatabaseOptions::default())
    }

    /// Opens (or creates) a database in a directory.
    pub fn open_with(dir: &Path, options: DatabaseOptions) -> Result<Database> {
        std::fs::create_dir_all(dir).map_err(|e| {
            errinput!(IO_ERROR, "could not create data directory \"{}\": {e}", dir.display())
        })?;
        let lock_path = dir.join("LOCK");
        let lock =
            File::options().create(true).truncate(false).write(true).open(&lock_path).map_err(
                |e| {
                    errinput!(IO_ERROR, "could not open lock file \"{}\": {e}", lock_path.display())
                },
            )?;
        if lock.try_lock().is_err() {
            return Err(errinput!(
                OBJECT_IN_USE,
                "data directory \"{}\" is in use by another Oxibase process",
                dir.display()
            )
            .with_hint("Stop the other server, or give this one another --data-dir."));
        }
        let engine = Lsm::open(
            &dir.join("data"),
            &LsmOptions { cache_size: options.cache_size, memtable_size: options.memtable_size },
        )?;
        let (log, _) = Log::open(
            &dir.join("wal"),
            LogOptions { segment_size: options.segment_size, fsync: options.fsync },
        )?;
        let engine: Box<dyn oxibase_engine::Engine> = match options.row_cache_size {
            0 => Box::new(engine),
            size => Box::new(oxibase_engine::Cached::new(engine, size as usize)),
        };
        let store = Mvcc::open(
            engine,
            Some(log),
            MvccOptions {
                checkpoint_log_bytes: options.checkpoint_log_bytes,
                version_retention: options.version_retention,
                ..Default::default()
            },
        )?;
        store.set_replica_of(options.replica_of.clone());
        let db = Self::from_store_with(
            store,
            options.name,
            Some(lock),
            Some(dir.to_path_buf()),
            options.replica_of,
        )?;
        Ok(db)
    }

    /// A database held in memory only (nothing survives the process): for tests and demos.
    pub fn open_in_memory() -> Result<Database> {
        Self::memory()
    }

    /// The same as [`Database::open_in_memory`].
    pub fn memory() -> Result<Database> {
        let store = Mvcc::open(Box::new(Memory::new()), None, MvccOptions::default())?;
        Self::from_store(store, "oxibase".into(), None, None)
    }

    fn from_store(
        store: Mvcc,
        name: String,
        lock: Option<File>,
        dir: Option<PathBuf>,
    ) -> Result<Database> {
        Self::from_store_with(store, name, lock, dir, None)
    }

    fn from_store_with(
        store: Mvcc,
        name: String,
        lock: Option<File>,
        dir: Option<PathBuf>,
        replica_of: Option<String>,
    ) -> Result<Database> {
        let catalog = Catalog::open(store)?;
        let db = Database {
            shared: Arc::new(Shared {
                catalog,
                name,
                generation: AtomicU64::new(2),
                ddl_ts: AtomicU64::new(0),
                ddl_commit: Mutex::new(()),
                next_pid: AtomicI32::new(1),
                sessions: Mutex::new(HashMap::new()),
                counters: Counters::default(),
                opened_at: crate::types::datetime::now_micros(),
                debug: Default::default(),
                advisory: Default::default(),
                notifier: Default::default(),
                procedures: parking_lot::RwLock::new(None),
                migrator: parking_lot::RwLock::new(None),
                replica_of: parking_lot::RwLock::new(replica_of),
                replicas: Default::default(),
                _lock: lock,
                dir,
            }),
        };
        if db.replica_of().is_none() {
            db.drop_leftover_temp_schemas()?;
        }
        Ok(db)
    }

    /// Installs the runtime that compiles and runs stored functions and procedures
    /// (without one, CREATE FUNCTION and calls to stored routines fail with 0A000).
    pub fn set_procedure_runtime(&self, runtime: Arc<dyn crate::procedure::ProcedureRuntime>) {
        *self.shared.procedures.write() = Some(runtime);
    }

    /// The installed procedure runtime, if any.
    pub fn procedure_runtime(&self) -> Option<Arc<dyn crate::procedure::ProcedureRuntime>> {
        self.shared.procedures.read().clone()
    }

    /// The followers connected to this database (as their leader).
    pub fn replicas(&self) -> &crate::replicas::Replicas {
        &self.shared.replicas
    }

    /// Whether this database is a read replica.
    pub fn is_replica(&self) -> bool {
        self.shared.replica_of.read().is_some()
    }

    /// The leader this database is a read replica of, if it is one.
    pub fn replica_of(&self) -> Option<String> {
        self.shared.replica_of.read().clone()
    }

    /// Promotes a read replica to a leader: it stops applying the leader's records (a batch
    /// being applied finishes first) and accepts writes from now on. The data directory
    /// records it (`PROMOTED`), so it is not started as a follower again by mistake.
    /// False if this database is not a replica.
    pub fn promote(&self) -> Result<bool> {
        let mut replica_of = self.shared.replica_of.write();
        let Some(leader) = replica_of.take() else { return Ok(false) };
        if let Some(dir) = &self.shared.dir {
            let marker = dir.join(PROMOTED);
            std::fs::write(&marker, format!("promoted from a replica of {leader}\n"))
                .map_err(|e| errinput!(IO_ERROR, "could not write {}: {e}", marker.display()))?;
        }
        self.store().set_replica_of(None);
        Ok(true)
    }

    /// Applies commit records streamed from the leader (see [`Mvcc::apply_replicated`]);
    /// a record that changes the catalog invalidates cached plans and relations, as a
    /// local DDL commit does. Fails once the database was promoted.
    pub fn apply_replicated(&self, records: &[(oxibase_log::Lsn, Vec<u8>)]) -> Result<()> {
        let replica_of = self.shared.replica_of.read();
        if replica_of.is_none() {
            return Err(errinput!(
                OBJECT_NOT_IN_PREREQUISITE_STATE,
                "this database was promoted: it no longer follows a leader"
            ));
        }
        let catalog = records.iter().any(|(_, payload)| {
            oxibase_mvcc::record::decode(payload).is_ok_and(|r| {
                r.writes.iter().any(|(key, _)| {
                    crate::keys::relation_of(key).is_none_or(|id| id < crate::keys::FIRST_USER_ID)
                })
            })
        });
        if !catalog {
            return self.store().apply_replicated(records).map(|_| ());
        }
        let _serial = self.shared.ddl_commit.lock();
        self.shared.generation.fetch_add(1, Ordering::AcqRel);
        let result = self.store().apply_replicated(records);
        if let Ok(ts) = &result {
            self.shared.ddl_ts.fetch_max(*ts, Ordering::AcqRel);
        }
        self.shared.generation.fetch_add(1, Ordering::AcqRel);
        result.map(|_| ())
    }

    /// Installs the schema migration engine behind `CALL oxibase_migrate(...)`.
    pub fn set_migrator(&self, migrator: Arc<dyn crate::migrate::Migrator>) {
        *self.shared.migrator.write() = Some(migrator);
    }

    /// The installed migration engine, if any.
    pub fn migrator(&self) -> Option<Arc<dyn crate::migrate::Migrator>> {
        self.shared.migrator.read().clone()
    }

    /// Drops the temporary schemas of sessions that ended without dropping them (the
    /// process stopped first).
    fn drop_leftover_temp_schemas(&self) -> Result<()> {
        let mut session = self.session();
        let found = session.execute(
            "select nspname from pg_catalog.pg_namespace where nspname like 'pg\\_temp\\_%'",
        )?;
        let crate::Output::Rows { rows, .. } = found else { return Ok(()) };
        for row in rows {
            if let Some(oxibase_common::Value::Text(name)) = row.first() {
                session.execute(&format!("drop schema if exists {name} cascade"))?;
            }
        }
        Ok(())
    }

    /// Starts a session as the default user.
    pub fn session(&self) -> Session {
        self.session_for("oxibase")
    }

    /// Starts a session for a user.
    pub fn session_for(&self, user: &str) -> Session {
        Session::new(self.clone(), user)
    }

    /// The catalog.
    pub fn catalog(&self) -> &Catalog {
        &self.shared.catalog
    }

    /// The versioned store.
    pub fn store(&self) -> &Mvcc {
        self.shared.catalog.store()
    }

    /// The database name.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// The data directory, for an on-disk database.
    pub fn dir(&self) -> Option<&Path> {
        self.shared.dir.as_deref()
    }

    /// Database-wide counters.
    pub fn counters(&self) -> &Counters {
        &self.shared.counters
    }

    /// The cumulative counters the monitoring views show.
    pub fn stats(&self) -> crate::system::ServerStats {
        use crate::system::{ProcessIo, ServerStats};
        let c = &self.shared.counters;
        let mut stats = ServerStats {
            server_start: self.shared.opened_at,
            now: crate::types::datetime::now_micros(),
            commits: c.commits.load(Ordering::Relaxed),
            rollbacks: c.rollbacks.load(Ordering::Relaxed),
            statements: c.statements.load(Ordering::Relaxed),
            rows_read: c.rows_read.load(Ordering::Relaxed),
            rows_written: c.rows_written.load(Ordering::Relaxed),
            io: ProcessIo::read(),
            ..Default::default()
        };
        if let Ok(status) = self.store().status() {
            stats.serialization_failures = status.serialization_failures;
            stats.lock_waits = status.lock_waits;
            stats.deadlocks = status.deadlocks;
            stats.active_snapshots = status.active_snapshots as u64;
            stats.cache_hits = status.engine.cache_hits;
            stats.cache_misses = status.engine.cache_misses;
            stats.cache_bytes = status.engine.cache_size;
            if let Some(log) = status.log {
                stats.wal_records = log.synced_records;
                stats.wal_bytes = log.synced_bytes;
                stats.wal_fsyncs = log.fsyncs;
                stats.wal_fsync_micros = log.fsync_time.as_micros() as u64;
            }
        }
        stats
    }

    /// The sessions that keep session `pid` waiting for a row lock: holders of a
    /// conflicting lock on the row it waits for, and conflicting waiters queued before it.
    pub fn blocking_pids(&self, pid: i32) -> Vec<i32> {
        let sessions = self.session_txns();
        let Some(&(_, txn)) = sessions.iter().find(|(p, _)| *p == pid) else { return vec![] };
        let mut blockers = Vec::new();
        for info in self.store().locks() {
            let Some(at) = info.waiters.iter().position(|(t, _, _)| *t == txn) else { continue };
            let mode = info.waiters[at].1;
            let ahead = info.waiters[..at].iter().map(|(t, m, _)| (*t, *m));
            for (other, held) in info.holders.iter().copied().chain(ahead) {
                if other != txn && held.conflicts(mode) {
                    blockers.extend(sessions.iter().filter(|(_, t)| *t == other).map(|(p, _)| *p));
                }
            }
        }
        blockers.sort_unstable();
        blockers.dedup();
        blockers
    }

    /// (pid, transaction id) of every session with a transaction open.
    fn session_txns(&self) -> Vec<(i32, u64)> {
        let sessions = self.shared.sessions.lock();
        sessions
            .values()
            .filter_map(|e| {
                let info = e.info.lock();
                Some((info.pid, info.txn?))
            })
            .collect()
    }

    /// The row locks held and awaited, with the sessions whose transactions they are.
    pub fn lock_rows(&self) -> Vec<crate::system::LockRow> {
        use oxibase_mvcc::LockMode;
        let pids: HashMap<u64, i32> =
            self.session_txns().into_iter().map(|(pid, txn)| (txn, pid)).collect();
        // PostgreSQL's heavyweight-lock names for its four tuple lock strengths.
        let mode = |m: LockMode| match m {
            LockMode::KeyShare => "AccessShareLock",
            LockMode::Share => "RowShareLock",
            LockMode::NoKeyUpdate => "ExclusiveLock",
            LockMode::Update => "AccessExclusiveLock",
        };
        let now = crate::types::datetime::now_micros();
        let mut rows = Vec::new();
        for info in self.store().locks() {
            let relation = crate::keys::relation_of(&info.key);
            for (txn, m) in &info.holders {
                rows.push(crate::system::LockRow {
                    relation,
                    txn: *txn,
                    pid: pids.get(txn).copied(),
                    mode: mode(*m),
                    granted: true,
                    wait_start: None,
                });
            }
            for (txn, m, waited) in &info.waiters {
                rows.push(crate::system::LockRow {
                    relation,
                    txn: *txn,
                    pid: pids.get(txn).copied(),
                    mode: mode(*m),
                    granted: false,
                    wait_start: Some(now - waited.as_micros() as i64),
                });
            }
        }
        rows
    }

    /// Flushes the engine and truncates the log.
    pub fn checkpoint(&self) -> Result<()> {
        self.store().checkpoint().map(|_| ())
    }

    /// Asks the session with this backend id to cancel its running statement, if the
    /// secret matches (PostgreSQL's CancelRequest). Returns whether a session was found.
    pub fn cancel(&self, pid: i32, secret: i32) -> bool {
        match self.shared.sessions.lock().get(&pid) {
            Some(entry) if entry.secret == secret => {
                entry.cancel.store(true, Ordering::SeqCst);
                true
            }
            _ => false,
        }
    }

    /// Cancels the running statement of session `pid` (an authorised `pg_cancel_backend`):
    /// false when there is no such session.
    pub fn cancel_pid(&self, pid: i32) -> bool {
        match self.shared.sessions.lock().get(&pid) {
            Some(entry) => {
                entry.cancel.store(true, Ordering::SeqCst);
                true
            }
            None => false,
        }
    }

    /// Ends session `pid` (an authorised `pg_terminate_backend`): cancels its statement and
    /// wakes its connection, which closes with FATAL 57P01. False when there is no such
    /// session.
    pub fn terminate_pid(&self, pid: i32) -> bool {
        let found = match self.shared.sessions.lock().get(&pid) {
            Some(entry) => {
                entry.terminate.store(true, Ordering::SeqCst);
                entry.cancel.store(true, Ordering::SeqCst);
                true
            }
            None => false,
        };
        if found {
            self.shared.notifier.wake(pid);
        }
        found
    }

    /// The sessions now running, as pg_stat_activity shows them.
    pub fn sessions(&self) -> Vec<SessionInfo> {
        let mut out: Vec<SessionInfo> =
            self.shared.sessions.lock().values().map(|e| e.info.lock().clone()).collect();
        out.sort_by_key(|s| s.pid);
        out
    }

    /// Registers a session: its backend id, its cancel secret, and the activity record it
    /// keeps current for pg_stat_activity.
    pub(crate) fn register(
        &self,
        info: SessionInfo,
        cancel: Arc<AtomicBool>,
        terminate: Arc<AtomicBool>,
    ) -> (i32, i32, Arc<Mutex<SessionInfo>>) {
        let pid = self.shared.next_pid.fetch_add(1, Ordering::Relaxed);
        let secret = rand::random::<i32>();
        let info = Arc::new(Mutex::new(SessionInfo { pid, ..info }));
        let entry = SessionEntry { info: info.clone(), secret, cancel, terminate };
        self.shared.sessions.lock().insert(pid, entry);
        (pid, secret, info)
    }

    pub(crate) fn unregister(&self, pid: i32) {
        self.shared.sessions.lock().remove(&pid);
    }

    /// The current catalog generation and the commit time of its last change, or None
    /// while a catalog change is committing (caches must not be used or filled then).
    pub(crate) fn cache_generation(&self) -> Option<(u64, Ts)> {
        let generation = self.shared.generation.load(Ordering::Acquire);
        if generation % 2 == 1 {
            return None;
        }
        let ddl_ts = self.shared.ddl_ts.load(Ordering::Acquire);
        (self.shared.generation.load(Ordering::Acquire) == generation)
            .then_some((generation, ddl_ts))
    }

    /// Commits a transaction that changed the catalog. The generation is odd while the
    /// commit is in flight, so no session caches what it reads meanwhile.
    pub(crate) fn commit_ddl(&self, txn: oxibase_mvcc::Transaction) -> Result<()> {
        let _serial = self.shared.ddl_commit.lock();
        self.shared.generation.fetch_add(1, Ordering::AcqRel);
        let result = txn.commit();
        if let Ok(ts) = &result {
            self.shared.ddl_ts.fetch_max(*ts, Ordering::AcqRel);
        }
        self.shared.generation.fetch_add(1, Ordering::AcqRel);
        result.map(|_| ())
    }
}
