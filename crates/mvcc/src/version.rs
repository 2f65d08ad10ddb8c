//! How versions are laid out in the engine.
//!
//! A key's newest committed version (its *head*) lives under the bare key, so the common read,
//! the latest version, is one point lookup. Versions it superseded move under the key with the
//! inverted commit timestamp appended, newest first, until garbage collection removes them:
//!
//! ```text
//!   engine key                          value
//!   [k e y ...]                      -> 02 ++ commit_ts (8, BE) ++ data   (head: a row)
//!                                    -> 03 ++ commit_ts (8, BE)           (head: deleted)
//!   [k e y ...] ++ [!commit_ts (8)]  -> 01 ++ data                        (older version)
//!                                    -> 00                                (older deletion)
//!
//!   k    -> 02 @30 "c"   the head: a snapshot at 30 or later reads "c"
//!   k@20 -> 00           a snapshot at 25 reads the tombstone: k is absent
//!   k@10 -> 01 "a"       a snapshot at 15 reads "a"
//! ```
//!
//! User keys are prefix-free, so everything between `k` and `k ++ !0` is `k`'s.
//!
//! Keys starting with `00` are not versioned: they hold the store's own metadata (the last
//! applied log position and commit timestamp), written atomically with each applied group.

use std::ops::Bound;

use oxibase_common::{Result, errdata, errinput};
use oxibase_engine::{KeyRange, MAX_KEY_SIZE};

use crate::clock::Ts;

/// The byte every metadata key starts with; user keys may not.
pub const META_PREFIX: u8 = 0x00;
/// Meta key: the LSN of the last log record applied to the engine.
pub const META_APPLIED_LSN: &[u8] = b"\x00applied_lsn";
/// Meta key: the commit timestamp of the last applied record.
pub const META_LAST_TS: &[u8] = b"\x00last_ts";

const SUFFIX: usize = 8;
const TOMBSTONE: u8 = 0x00;
const LIVE: u8 = 0x01;
const HEAD_LIVE: u8 = 0x02;
const HEAD_TOMBSTONE: u8 = 0x03;

/// Encodes a head: the commit timestamp and the data, or a tombstone for `None`.
pub fn encode_head(ts: Ts, value: Option<&[u8]>) -> Vec<u8> {
    let data = value.unwrap_or_default();
    let mut out = Vec::with_capacity(1 + SUFFIX + data.len());
    out.push(if value.is_some() { HEAD_LIVE } else { HEAD_TOMBSTONE });
    out.extend_from_slice(&ts.to_be_bytes());
    out.extend_from_slice(data);
    out
}

/// True when a raw engine value is a head (the value of a bare user key).
pub fn is_head(raw: &[u8]) -> bool {
    matches!(raw.first(), Some(&(HEAD_LIVE | HEAD_TOMBSTONE)))
}

/// Decodes a head into its commit timestamp and data (`None` for a tombstone).
pub fn decode_head(mut raw: Vec<u8>) -> Result<(Ts, Option<Vec<u8>>)> {
    let (ts, live) = head_meta(&raw)?;
    if !live {
        return Ok((ts, None));
    }
    raw.drain(..1 + SUFFIX);
    Ok((ts, Some(raw)))
}

/// A head's commit timestamp and whether it is live, without copying its data.
pub fn head_meta(raw: &[u8]) -> Result<(Ts, bool)> {
    let live = match raw.first() {
        Some(&HEAD_LIVE) => true,
        Some(&HEAD_TOMBSTONE) if raw.len() == 1 + SUFFIX => false,
        _ => return Err(errdata!("invalid head value")),
    };
    let ts_bytes: [u8; SUFFIX] = raw
        .get(1..1 + SUFFIX)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| errdata!("invalid head value"))?;
    Ok((u64::from_be_bytes(ts_bytes), live))
}

/// True when `engine_key` is one of `key`'s older versions.
pub fn is_version_of(engine_key: &[u8], key: &[u8]) -> bool {
    engine_key.len() == key.len() + SUFFIX && engine_key.starts_with(key)
}

/// The engine key of `key`'s version committed at `ts`.
pub fn version_key(key: &[u8], ts: Ts) -> Vec<u8> {
    let mut out = Vec::with_capacity(key.len() + SUFFIX);
    out.extend_from_slice(key);
    out.extend_from_slice(&(!ts).to_be_bytes());
    out
}

/// Splits an engine key into its user key and commit timestamp.
pub fn split_version_key(engine_key: &[u8]) -> Result<(&[u8], Ts)> {
    if engine_key.len() <= SUFFIX {
        return Err(errdata!("invalid version key of {} bytes", engine_key.len()));
    }
    let (key, suffix) = engine_key.split_at(engine_key.len() - SUFFIX);
    let mut ts = [0u8; SUFFIX];
    ts.copy_from_slice(suffix);
    Ok((key, !u64::from_be_bytes(ts)))
}

/// Encodes a version's value: the data, or a tombstone for `None`.
pub fn encode_value(value: Option<&[u8]>) -> Vec<u8> {
    match value {
        None => vec![TOMBSTONE],
        Some(data) => {
            let mut out = Vec::with_capacity(data.len() + 1);
            out.push(LIVE);
            out.extend_from_slice(data);
            out
        }
    }
}

/// Decodes a version's value: `None` for a tombstone.
pub fn decode_value(mut raw: Vec<u8>) -> Result<Option<Vec<u8>>> {
    match raw.first() {
        Some(&TOMBSTONE) if raw.len() == 1 => Ok(None),
        Some(&LIVE) => {
            raw.remove(0);
            Ok(Some(raw))
        }
        _ => Err(errdata!("invalid version value")),
    }
}

/// True when the raw version value is a tombstone.
pub fn is_tombstone(raw: &[u8]) -> bool {
    raw == [TOMBSTONE]
}

/// Checks that a user key can be stored: non-empty, not a meta key, within the size limit.
pub fn check_user_key(key: &[u8]) -> Result<()> {
    if key.is_empty() || key[0] == META_PREFIX {
        return Err(errinput!(
            INTERNAL_ERROR,
            "invalid key: keys must be non-empty and not start with 0x00"
        ));
    }
    if key.len() > MAX_KEY_SIZE - SUFFIX {
        return Err(errinput!(
            PROGRAM_LIMIT_EXCEEDED,
            "key of {} bytes exceeds the maximum of {} bytes",
            key.len(),
            MAX_KEY_SIZE - SUFFIX
        )
        .with_hint("index a shorter column or a hash of the value"));
    }
    Ok(())
}

/// The engine range holding `key`'s head and all its older versions.
pub fn key_entries(key: &[u8]) -> KeyRange {
    (Bound::Included(key.to_vec()), Bound::Included(version_key(key, 0)))
}

/// Maps a range of user keys onto the engine range holding all their versions.
///
/// NB: relies on user keys being prefix-free, so no other key's versions fall inside.
pub fn engine_range(range: &KeyRange) -> KeyRange {
    let start = match &range.0 {
        Bound::Included(k) => Bound::Included(k.clone()),
        Bound::Excluded(k) => Bound::Excluded(version_key(k, 0)),
        Bound::Unbounded => Bound::Included(vec![META_PREFIX + 1]),
    };
    let end = match &range.1 {
        Bound::Included(k) => Bound::Included(version_key(k, 0)),
        Bound::Excluded(k) => Bound::Excluded(k.clone()),
        Bound::Unbounded => Bound::Unbounded,
    };
    (start, end)
}

/// True when `key` lies within `range`.
pub fn range_contains(range: &KeyRange, key: &[u8]) -> bool {
    let after_start = match &range.0 {
        Bound::Included(s) => key >= s.as_slice(),
        Bound::Excluded(s) => key > s.as_slice(),
        Bound::Unbounded => true,
    };
    let before_end = match &range.1 {
        Bound::Included(e) => key <= e.as_slice(),
        Bound::Excluded(e) => key < e.as_slice(),
        Bound::Unbounded => true,
    };
    after_start && before_end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_sort_newest_first_within_a_key() {
        let (a, b, c) = (version_key(b"k", 30), version_key(b"k", 20), version_key(b"k", 10));
        assert!(a < b && b < c);
        assert_eq!(split_version_key(&b).unwrap(), (&b"k"[..], 20));
        assert!(version_key(b"k", 0) < version_key(b"l", u64::MAX));
    }

    #[test]
    fn heads_sort_before_their_versions_and_round_trip() {
        assert!(b"k".to_vec() < version_key(b"k", u64::MAX));
        assert!(is_version_of(&version_key(b"k", 5), b"k") && !is_version_of(b"kx", b"k"));
        let head = encode_head(42, Some(b"v"));
        assert!(is_head(&head) && !is_head(&encode_value(Some(b"v"))));
        assert_eq!(decode_head(head).unwrap(), (42, Some(b"v".to_vec())));
        assert_eq!(decode_head(encode_head(7, None)).unwrap(), (7, None));
        assert!(decode_head(vec![2, 0]).is_err());
    }

    #[test]
    fn values_and_tombstones_round_trip() {
        assert_eq!(decode_value(encode_value(Some(b"x"))).unwrap(), Some(b"x".to_vec()));
        assert_eq!(decode_value(encode_value(Some(b""))).unwrap(), Some(vec![]));
        assert_eq!(decode_value(encode_value(None)).unwrap(), None);
        assert!(decode_value(vec![]).is_err() && decode_value(vec![7]).is_err());
    }

    #[test]
    fn meta_keys_sort_before_every_user_key_range() {
        let (start, _) = engine_range(&(Bound::Unbounded, Bound::Unbounded));
        let Bound::Included(start) = start else { panic!() };
        assert!(META_APPLIED_LSN.to_vec() < start && META_LAST_TS.to_vec() < start);
        assert!(check_user_key(b"\x00x").is_err() && check_user_key(b"").is_err());
        assert!(check_user_key(b"\x01").is_ok());
    }
}
