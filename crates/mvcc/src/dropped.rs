//! Dropped key ranges: a transaction done with every key under a prefix (the rows of a
//! dropped, truncated or rewritten table) records the prefix instead of deleting its keys one
//! by one; once no snapshot can read the range any more, garbage collection removes it from
//! the engine as a whole ([`oxibase_engine::Engine::delete_range`], which an LSM does by
//! dropping table files).
//!
//! The record is an ordinary key, written in the transaction like any other:
//!
//! ```text
//!   01 | prefix length (u16, BE) | prefix   ->  (empty)      a "marker"
//! ```
//!
//! so it commits, rolls back, reaches the log and replicas, and survives a crash with the
//! transaction. GC reads the markers (a handful of keys) on each pass; a marker whose commit
//! timestamp is at or below the horizon has its range deleted, then is deleted itself. Each
//! node reclaims its own copy, as it collects its own versions. A crash in between leaves the
//! marker, and the next pass deletes the range again.
//!
//! What the caller promises: after the commit nobody reads the prefix at a newer snapshot or
//! writes under it again (SQL gives a rewritten table a new storage prefix and never reuses
//! one), and a prefix is dropped once. Snapshots older than the commit go on reading the
//! range as it was: it stays until the horizon passes the commit.

use oxibase_common::{Result, errinput};
use oxibase_engine::{WriteBatch, prefix_range};

use crate::clock::Ts;
use crate::store::Shared;
use crate::version::{head_meta, is_head, key_entries};

/// The first byte of every marker key.
pub const MARKER_PREFIX: u8 = 0x01;

/// The marker key recording that `prefix` was dropped.
pub(crate) fn marker_key(prefix: &[u8]) -> Result<Vec<u8>> {
    if prefix.is_empty() || prefix[0] <= MARKER_PREFIX || prefix.len() > u16::MAX as usize {
        return Err(errinput!(
            INTERNAL_ERROR,
            "cannot drop the key prefix {prefix:02x?}: it is empty, too long or reserved"
        ));
    }
    let mut key = Vec::with_capacity(3 + prefix.len());
    key.push(MARKER_PREFIX);
    key.extend_from_slice(&(prefix.len() as u16).to_be_bytes());
    key.extend_from_slice(prefix);
    Ok(key)
}

/// The prefix a marker key records; `None` for a key that is not a marker (a version of one,
/// or anything else under the marker byte).
fn prefix_of(key: &[u8]) -> Option<&[u8]> {
    match key {
        [MARKER_PREFIX, a, b, prefix @ ..]
            if prefix.len() == u16::from_be_bytes([*a, *b]) as usize =>
        {
            Some(prefix)
        }
        _ => None,
    }
}

/// Deletes every dropped range whose marker committed at or below `horizon`, then its marker.
/// Returns the number of ranges reclaimed.
pub(crate) fn reclaim(shared: &Shared, horizon: Ts) -> Result<u64> {
    let mut due = Vec::new();
    for item in shared.engine.scan_prefix(&[MARKER_PREFIX]) {
        let (key, value) = item?;
        if prefix_of(&key).is_some() && is_head(&value) && head_meta(&value)?.0 <= horizon {
            due.push(key);
        }
    }
    for marker in &due {
        let Some(prefix) = prefix_of(marker) else { continue };
        shared.engine.delete_range(prefix_range(prefix))?;
        // NB: deleting the head here, outside a commit group, is safe because the marker is
        // never written again (a prefix is dropped once).
        let mut batch = WriteBatch::new();
        for item in shared.engine.scan(key_entries(marker)) {
            batch.delete(item?.0);
        }
        shared.engine.write(batch)?;
    }
    Ok(due.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_keys_are_prefix_free_and_give_back_their_prefix() {
        let a = marker_key(&[0x10, 1]).unwrap();
        let b = marker_key(&[0x10, 1, 2]).unwrap();
        assert!(!b.starts_with(&a) && !a.starts_with(&b));
        assert_eq!(prefix_of(&a), Some(&[0x10, 1][..]));
        assert_eq!(prefix_of(&crate::version::version_key(&a, 7)), None);
        assert!(marker_key(&[]).is_err());
        assert!(marker_key(&[0x00, 1]).is_err());
        assert!(marker_key(&[MARKER_PREFIX, 1]).is_err());
    }
}
