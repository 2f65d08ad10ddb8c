//! The on-disk engine: a log-structured merge tree, provided by the `fjall` crate.
//!
//! fjall keeps recent writes in a memtable backed by its own journal, flushes full memtables
//! into sorted string tables, and compacts tables in the background (leveled compaction). A
//! block cache of configurable size bounds the memory used for reads, so memory does not grow
//! with the data.
//!
//! ```text
//!   write ──► journal (unsynced) + memtable ──flush──► L0 tables ──compaction──► L1 .. Ln
//!   read  ──► memtable ─► sealed memtables ─► tables (bloom filters, block cache)
//! ```
//!
//! IMPORTANT: Oxibase's own write-ahead log is the source of truth, so fjall's journal is not
//! synced on every batch (`manual_journal_persist`). After a crash fjall recovers a prefix of
//! the batches written to it, and Oxibase replays its log from the last log position the
//! engine recorded. [`Engine::flush`] syncs fjall's journal, which is what a checkpoint needs
//! before the log below it may be truncated.

use std::path::Path;

use fjall::{AbstractTree, Database, Keyspace, KeyspaceCreateOptions, PersistMode, Readable};
use oxibase_common::{Error, ErrorKind, Result, SqlState};

use crate::engine::{Engine, KeyRange, ScanIter, Status, WriteBatch, WriteOp, delete_keys_in};

/// Settings for the LSM engine.
#[derive(Clone, Debug)]
pub struct LsmOptions {
    /// Block cache size in bytes: the main bound on memory used for reads.
    pub cache_size: u64,
    /// Memtable size in bytes before it is flushed to a table. Small is faster here: every
    /// commit inserts its versions into the memtable's skiplist, and a search in a 32 MB one
    /// walks more levels, most of them cache misses. Measured (BENCHMARKS.md, issue 5's stop 23
    /// rerun): 4 MB against 32 MB, the transfer procedure +7% over 60 s with 10% less user CPU
    /// per call, 4 queue consumers +5%, a 3M-row INSERT 17 s against 22 s; select-only and
    /// TPC-B unchanged within the runs' spread.
    pub memtable_size: u64,
}

/// The memtable size the server uses unless told otherwise (see [`LsmOptions::memtable_size`]).
pub const DEFAULT_MEMTABLE_SIZE: u64 = 4 << 20;

impl Default for LsmOptions {
    fn default() -> Self {
        Self { cache_size: 64 << 20, memtable_size: DEFAULT_MEMTABLE_SIZE }
    }
}

/// An engine storing its data in a fjall LSM tree in one directory.
pub struct Lsm {
    db: Database,
    data: Keyspace,
}

impl Lsm {
    /// Opens (or creates) the engine in `dir`, recovering whatever fjall had persisted.
    pub fn open(dir: &Path, options: &LsmOptions) -> Result<Self> {
        // Three background workers whatever the core count: with two (fjall's default on a
        // 2-core machine) worker 0 busy-loops re-queueing compaction requests while worker 1
        // compacts; with one, a worker can block forever sending itself a flush request
        // (docs/architecture/kernel.md, "fjall").
        let db = Database::builder(dir)
            .worker_threads(3)
            .cache_size(options.cache_size)
            .manual_journal_persist(true)
            .open()
            .map_err(|e| {
                convert(&format!("could not open the LSM engine in {}", dir.display()), e)
            })?;
        let memtable_size = options.memtable_size;
        let data = db
            .keyspace("data", || {
                KeyspaceCreateOptions::default()
                    .manual_journal_persist(true)
                    .max_memtable_size(memtable_size)
            })
            .map_err(|e| convert("could not open the LSM keyspace", e))?;
        Ok(Self { db, data })
    }

    /// Writes the memtable out as a table and waits for it (tests use it to put data where
    /// a background flush would put it later).
    pub fn flush_memtable(&self) -> Result<()> {
        self.data.rotate_memtable_and_wait().map_err(|e| convert("LSM memtable flush failed", e))
    }
}

/// Turns a fjall error into an Oxibase error, classifying corruption apart from I/O.
fn convert(context: &str, err: fjall::Error) -> Error {
    let (kind, code) = match &err {
        fjall::Error::Io(_) | fjall::Error::Locked => (ErrorKind::Io, SqlState::IO_ERROR),
        fjall::Error::Poisoned => (ErrorKind::ReadOnly, SqlState::IO_ERROR),
        _ => (ErrorKind::InvalidData, SqlState::DATA_CORRUPTED),
    };
    Error::new(kind, code, format!("{context}: {err}"))
}

impl Engine for Lsm {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let value = self.data.get(key).map_err(|e| convert("LSM read failed", e))?;
        Ok(value.map(|v| v.to_vec()))
    }

    fn scan(&self, range: KeyRange) -> ScanIter<'_> {
        // NB: `Keyspace::range` reads at the newest sequence number, including a batch still
        // being applied; a snapshot reads exactly the batches published before it.
        Box::new(self.db.snapshot().range(&self.data, range).map(|guard| {
            let (k, v) = guard.into_inner().map_err(|e| convert("LSM scan failed", e))?;
            Ok((k.to_vec(), v.to_vec()))
        }))
    }

    fn write(&self, batch: WriteBatch) -> Result<()> {
        batch.validate()?;
        let mut b = self.db.batch();
        for op in batch.into_ops() {
            match op {
                WriteOp::Put(key, value) => b.insert(&self.data, key, value),
                WriteOp::Delete(key) => b.remove(&self.data, key),
            }
        }
        b.commit().map_err(|e| convert("LSM write failed", e))
    }

    fn flush(&self) -> Result<()> {
        self.db.persist(PersistMode::SyncAll).map_err(|e| convert("LSM flush failed", e))
    }

    fn unsealed_bytes(&self) -> u64 {
        self.data.tree.active_memtable().size()
    }

    fn seal(&self) -> Result<()> {
        // Queues the sealed memtable for fjall's flush workers; reads see it meanwhile.
        self.data.rotate_memtable().map_err(|e| convert("LSM memtable seal failed", e))?;
        Ok(())
    }

    fn delete_range(&self, range: KeyRange) -> Result<u64> {
        // Tables lying wholly inside the range are dropped as files, without writing a delete
        // per key or compacting anything; keys in the memtables and in tables that straddle
        // the range's ends are then deleted one by one. That second step also deletes what
        // dropping a table may uncover: an older value in a straddling table whose delete
        // marker sat in a dropped one.
        // NB: `Keyspace::tree` is public but hidden from fjall's documentation (3.1); fjall
        // offers no other way to drop a range.
        self.data
            .tree
            .drop_range(range.clone())
            .map_err(|e| convert("LSM range drop failed", fjall::Error::from(e)))?;
        delete_keys_in(self, range)
    }

    fn status(&self) -> Result<Status> {
        let disk_size = self.db.disk_space().map_err(|e| convert("LSM status failed", e))?;
        Ok(Status {
            name: "lsm".into(),
            keys: self.data.approximate_len() as u64,
            size: disk_size,
            disk_size,
            persistent: true,
            cache_size: self.db.cache_size(),
            cache_capacity: self.db.cache_capacity(),
            cache_hits: self.data.metrics().block_load_cached_count() as u64,
            cache_misses: self.data.metrics().block_load_io_count() as u64,
            tables: self.data.table_count() as u64,
            write_buffer: self.db.write_buffer_size(),
            journals: self.db.journal_count() as u64,
            row_cache_size: 0,
        })
    }
}
