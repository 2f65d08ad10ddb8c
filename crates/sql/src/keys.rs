//! How SQL objects map onto store keys.
//!
//! Every table and index stores its rows or entries under a 32-bit *storage id*, owning the
//! key range starting with `10 ++ storage`; non-transactional counters (sequences, the id
//! allocator) live under `12`:
//!
//! ```text
//!   10 | storage (BE) | primary key columns (keycode)                  -> row (row encoding)
//!   10 | storage (BE) | index columns (keycode) [| primary key columns] -> primary key (row encoding)
//!   12 | sequence id (BE)                                              -> last reserved value
//! ```
//!
//! A relation's storage id starts as its relation id and changes when TRUNCATE or a table
//! rewrite (a new primary key, a column type change) fills a new range and drops the old one
//! whole, as PostgreSQL's relfilenode does: `DROP TABLE`, `TRUNCATE` and rewrites then cost
//! one write however many rows there were, and the old range goes from the engine as whole
//! files once no snapshot can read it (`oxibase_mvcc::dropped`, whose marker keys start with
//! `01`). Storage ids come from the same allocator as relation ids and are never reused.
//!
//! A table's rows are therefore one contiguous, ordered key range (a primary-key range scan
//! is a key range scan), and so is each index. Keycode keeps every key prefix-free, as MVCC
//! requires. Ids below 16384 belong to the system (PostgreSQL's FirstNormalObjectId).

use oxibase_common::keycode::{self, ColumnOrder};
use oxibase_common::{Result, Value};

/// A relation (table, index, view, sequence) or schema id.
pub type RelId = u32;

/// The first id handed to user objects.
pub const FIRST_USER_ID: RelId = 16384;

const RELATION: u8 = 0x10;
const COUNTER: u8 = 0x12;

/// The prefix of every key under a storage id (a relation's rows or entries).
pub fn relation_prefix(rel: RelId) -> Vec<u8> {
    let mut key = Vec::with_capacity(16);
    key.push(RELATION);
    keycode::encode_u32(&mut key, rel);
    key
}

/// The storage id a key lies under, if it is a relation's key.
pub fn relation_of(key: &[u8]) -> Option<RelId> {
    match key {
        [RELATION, id @ ..] if id.len() >= 4 => keycode::decode_u32(&mut &id[..4]).ok(),
        _ => None,
    }
}

/// The key of a table row with the given primary-key values.
pub fn row_key(table: RelId, primary_key: &[Value]) -> Result<Vec<u8>> {
    let mut key = relation_prefix(table);
    keycode::encode_values(&mut key, primary_key)?;
    Ok(key)
}

/// The key of an index entry: the indexed values in their column orders, then (for
/// non-unique indexes) the row's primary key to keep entries distinct.
pub fn index_key(
    index: RelId,
    values: &[(Value, ColumnOrder)],
    primary_key: &[Value],
) -> Result<Vec<u8>> {
    let mut key = relation_prefix(index);
    for (value, order) in values {
        keycode::encode_value(&mut key, value, *order)?;
    }
    keycode::encode_values(&mut key, primary_key)?;
    Ok(key)
}

/// The key of a non-transactional counter (a sequence's reserved value).
pub fn counter_key(id: RelId) -> Vec<u8> {
    let mut key = vec![COUNTER];
    keycode::encode_u32(&mut key, id);
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_of_a_table_form_one_ordered_range() {
        let k = |t, v: i64| row_key(t, &[Value::Int8(v)]).unwrap();
        assert!(k(20000, -5) < k(20000, 3));
        assert!(k(20000, i64::MAX) < k(20001, i64::MIN));
        assert!(k(20000, 0).starts_with(&relation_prefix(20000)));
        assert!(counter_key(1) > relation_prefix(u32::MAX));
    }
}
