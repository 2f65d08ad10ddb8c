//! Oxibase's write-ahead log: the truth every other structure is derived from.
//!
//! Every committed transaction is one record in this log (ARCHITECTURE.md invariant 1). A
//! commit is acknowledged only once its record is fsynced (invariant 6); concurrent commits
//! share fsyncs through group commit. The key-value engine is a materialised view that is
//! rebuilt from the log after a crash, and replication ships the same records.
//!
//! - [`record`]: framing, checksums and LSNs.
//! - [`wal`]: segments, group commit, poisoning, recovery, truncation, readers.
//! - [`stream`]: a [`ReplicationStream`] that follows the durable tail.
//! - [`fs`]: the file layer, real or simulated (for crash and fault-injection tests).

pub mod fs;
pub mod record;
pub mod stream;
pub mod wal;

pub use fs::{Fs, FsFile, SimFs, StdFs};
pub use record::{Lsn, Record};
pub use stream::ReplicationStream;
pub use wal::{Log, LogOptions, LogReader, LogStats, RecoveryReport, RetentionHold};
