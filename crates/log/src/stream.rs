//! Following the log as it grows: what replication consumes.
//!
//! A [`ReplicationStream`] starts at any retained LSN, reads the records already on disk, and
//! then waits for new ones as they become durable. Only durable records are ever returned, so
//! a follower never applies a commit the leader could still lose in a crash. While the stream
//! exists it holds back log truncation at the position its consumer acknowledged.

use std::time::{Duration, Instant};

use oxibase_common::Result;

use crate::record::{Lsn, Record};
use crate::wal::{Log, LogReader, RetentionHold};

/// Reads records from an LSN onward and then follows the durable tail of the log.
pub struct ReplicationStream {
    reader: LogReader,
    hold: RetentionHold,
    log: Log,
}

impl ReplicationStream {
    /// Starts a stream at `lsn`; fails if the log no longer retains it.
    pub fn new(log: &Log, lsn: Lsn) -> Result<Self> {
        let hold = log.hold(lsn);
        let reader = LogReader::new(log.clone(), lsn, None)?;
        Ok(Self { reader, hold, log: log.clone() })
    }

    /// The LSN of the next record the stream returns.
    pub fn next_lsn(&self) -> Lsn {
        self.reader.next_lsn()
    }

    /// Returns the next record, waiting up to `timeout` for one to become durable.
    pub fn next_timeout(&mut self, timeout: Duration) -> Result<Option<Record>> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(record) = self.reader.try_next()? {
                return Ok(Some(record));
            }
            let now = Instant::now();
            if now >= deadline || !self.log.wait_durable(self.reader.next_lsn(), deadline - now) {
                return Ok(None);
            }
        }
    }

    /// Tells the log the consumer has durably applied everything up to `lsn`, so records up
    /// to it may be truncated.
    pub fn ack(&self, lsn: Lsn) {
        self.hold.advance(lsn + 1);
    }
}
