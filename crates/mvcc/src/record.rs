//! The commit record: what one transaction contributes to the log.
//!
//! ```text
//!   01 | commit_ts (u64 LE) | n (varint) | n x ( 01 key value | 02 key )
//!   format                                 put          delete      (key, value: varint length + bytes)
//! ```
//!
//! Applying a record is deterministic and idempotent: each write becomes the version
//! `key@commit_ts`, and writing the same version twice changes nothing.

use oxibase_common::row::{bytes, read_varint, write_varint};
use oxibase_common::{Result, errdata};

use crate::clock::Ts;

const FORMAT: u8 = 1;
const PUT: u8 = 1;
const DELETE: u8 = 2;
/// Where the commit timestamp sits, so it can be filled in after the rest is encoded.
const TS_OFFSET: usize = 1;

/// One write of a committed transaction: a new value, or `None` for a delete.
pub type Write = (Vec<u8>, Option<Vec<u8>>);

/// A decoded commit record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitRecord {
    /// The commit timestamp.
    pub ts: Ts,
    /// The writes, one per key.
    pub writes: Vec<Write>,
}

/// Encodes the writes with a zero timestamp; [`set_ts`] fills it in at commit.
pub fn encode(writes: &[Write]) -> Vec<u8> {
    let size: usize =
        writes.iter().map(|(k, v)| k.len() + v.as_ref().map_or(0, Vec::len) + 8).sum();
    let mut out = Vec::with_capacity(16 + size);
    out.push(FORMAT);
    out.extend_from_slice(&0u64.to_le_bytes());
    write_varint(&mut out, writes.len() as u64);
    for (key, value) in writes {
        out.push(if value.is_some() { PUT } else { DELETE });
        write_varint(&mut out, key.len() as u64);
        out.extend_from_slice(key);
        if let Some(value) = value {
            write_varint(&mut out, value.len() as u64);
            out.extend_from_slice(value);
        }
    }
    out
}

/// Fills in the commit timestamp of an encoded record.
pub fn set_ts(record: &mut [u8], ts: Ts) {
    record[TS_OFFSET..TS_OFFSET + 8].copy_from_slice(&ts.to_le_bytes());
}

/// Decodes a commit record.
pub fn decode(mut input: &[u8]) -> Result<CommitRecord> {
    let input = &mut input;
    let format = take(input, 1)?[0];
    if format != FORMAT {
        return Err(errdata!("unknown commit record format {format}"));
    }
    let mut ts = [0u8; 8];
    ts.copy_from_slice(take(input, 8)?);
    let n = read_varint(input)?;
    if n > input.len() as u64 {
        return Err(errdata!("commit record claims {n} writes in {} bytes", input.len()));
    }
    let mut writes = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let op = take(input, 1)?[0];
        let key = bytes(input)?.to_vec();
        let value = match op {
            PUT => Some(bytes(input)?.to_vec()),
            DELETE => None,
            op => return Err(errdata!("unknown write kind {op} in commit record")),
        };
        writes.push((key, value));
    }
    if !input.is_empty() {
        return Err(errdata!("{} trailing bytes after commit record", input.len()));
    }
    Ok(CommitRecord { ts: u64::from_le_bytes(ts), writes })
}

fn take<'a>(input: &mut &'a [u8], n: usize) -> Result<&'a [u8]> {
    if input.len() < n {
        return Err(errdata!("commit record truncated"));
    }
    let (head, rest) = input.split_at(n);
    *input = rest;
    Ok(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_damage() {
        let writes = vec![
            (b"a".to_vec(), Some(b"1".to_vec())),
            (b"b".to_vec(), None),
            (b"c".to_vec(), Some(vec![])),
        ];
        let mut rec = encode(&writes);
        set_ts(&mut rec, 42);
        assert_eq!(decode(&rec).unwrap(), CommitRecord { ts: 42, writes });
        for cut in 0..rec.len() {
            assert!(decode(&rec[..cut]).is_err());
        }
        rec[0] = 9;
        assert!(decode(&rec).is_err());
    }
}
