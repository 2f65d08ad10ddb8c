//! Oxibase's multi-version concurrency control: transactions over the engine and the log.
//!
//! Every committed write is a *version* of its key, stamped with the commit timestamp; a
//! transaction reads the newest versions at or below its snapshot timestamp, so readers never
//! block writers and writers never block readers:
//!
//! ```text
//!   time ──────────────────────────────────────────────────────────────►
//!   key a:   a@10 "x" ─────────────── a@40 "y" ───────────────────────
//!   key b:   b@10 "1" ──── b@25 <deleted> ────────────────────────────
//!   T1 (snapshot 20) reads a="x", b="1"   T2 (snapshot 30) reads a="x", b absent
//! ```
//!
//! - [`store`]: the [`Mvcc`] store: recovery from the log, the group-commit pipeline,
//!   checkpoints and background maintenance.
//! - [`transaction`]: [`Transaction`]s with snapshot isolation (default), read committed and
//!   serializable; read-your-own-writes per statement; savepoints.
//! - [`scan`]: range scans at a snapshot merged with the transaction's own writes.
//! - [`lock_table`]: row locks with PostgreSQL's modes, waits, NOWAIT, SKIP LOCKED and
//!   deadlock detection.
//! - [`gc`]: garbage collection of versions no snapshot can see; [`dropped`]: whole key
//!   ranges dropped in one write and reclaimed by GC; `hints`: where a range's
//!   dead prefix ends, so that queue scans do not walk the jobs already taken.
//! - [`version`], [`record`], [`clock`]: the on-disk layout of versions, the commit record,
//!   and the timestamp oracle.
//!
//! The design and its trade-offs are written up in `docs/architecture/kernel.md`.

pub mod clock;
pub mod dropped;
pub mod gc;
mod heads;
mod hints;
pub mod lock_table;
pub mod record;
pub mod scan;
pub mod store;
pub mod transaction;
pub mod version;

pub use clock::Ts;
pub use lock_table::{Interrupt, LockInfo, LockMode, LockOutcome, LockWait, TxnId};
pub use scan::Scan;
pub use store::{Mvcc, MvccOptions, MvccStatus, install_snapshot};
pub use transaction::{Isolation, Savepoint, Transaction, TxnOptions};
