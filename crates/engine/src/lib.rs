//! Oxibase's storage engines: ordered byte key-value stores.
//!
//! The [`Engine`] trait is the bottom of the stack. Everything above it (MVCC versions, rows,
//! indexes, the catalog) is encoded into ordered byte keys, so an engine needs only point
//! reads, range scans in both directions, and atomic write batches. Two implementations pass
//! one conformance suite ([`conformance`]): [`Memory`], a skip list, and [`Lsm`], an LSM tree
//! on disk built on fjall.
//!
//! The engine is a materialised view of the write-ahead log (ARCHITECTURE.md invariant 1): it
//! need not be durable on its own, and it is rebuilt from the log after a crash.

pub mod cached;
pub mod conformance;
pub mod engine;
pub mod lsm;
pub mod memory;

pub use cached::Cached;
pub use engine::{
    Engine, KeyRange, MAX_KEY_SIZE, MAX_VALUE_SIZE, ScanIter, Status, WriteBatch, WriteOp,
    prefix_range,
};
pub use lsm::{DEFAULT_MEMTABLE_SIZE, Lsm, LsmOptions};
pub use memory::Memory;
