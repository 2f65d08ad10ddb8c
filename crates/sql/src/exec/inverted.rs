//! Inverted (GIN) indexes: an entry per distinct element of a row's key value, and the
//! searches that read them.
//!
//! An entry's key is `[index prefix][key part position][element][row key]`; its value is
//! the row key. The elements of a value (its type was checked by CREATE INDEX):
//!
//! - a tsvector: its lexemes, as text (positions and weights are not kept: a weighted or
//!   phrase query is re-checked);
//! - an array: its non-NULL elements, in the element type, multi-dimensional ones flattened;
//! - jsonb: PostgreSQL's `jsonb_ops` entries, tagged text: `K` and the text for every
//!   object key and every string in an array (or a top-level string, a raw scalar being an
//!   array of one), `S` for a string that is an object's value, `N` a number (as a float,
//!   so `1` and `1.0` are one entry), `B` a boolean, `Z` null.
//!
//! A search turns the operator's operand into a tree of element lookups: a tsquery's AND
//! and phrase intersect, OR unites, NOT reads everything; `@>` intersects, `&&` and `?|`
//! unite, `?&` intersects. The rows come back in key order, or as `None` when the operand
//! names no element that every matching row has (`!x`, `@> '{}'`): then the table is read
//! whole. Either way the scan's filter re-checks every row, as PostgreSQL's bitmap heap
//! scan rechecks a lossy match.

use oxibase_common::keycode::{self, ColumnOrder};
use oxibase_common::{DataType, Result, Value, errdata};
use oxibase_mvcc::Transaction;
use serde_json::Value as Json;

use super::ExecCtx;
use super::eval::eval;
use crate::catalog::Index;
use crate::keys::relation_prefix;
use crate::plan::{InvertedOp, InvertedSearch};
use crate::tsearch::TsVector;
use crate::tsearch::query::{Node as TsNode, TsQuery};
use crate::types::json_ops;

/// The keys of a row's entries in an inverted index with these key values, sorted.
pub fn entry_keys(index: &Index, values: &[Value], row_key: &[u8]) -> Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    let mut suffix = Vec::with_capacity(row_key.len() + 4);
    keycode::encode_value(&mut suffix, &Value::Bytea(row_key.to_vec()), ColumnOrder::ASC)?;
    for (position, value) in values.iter().enumerate() {
        let start = part_key(index, position)?;
        for element in elements(value)? {
            let mut key = start.clone();
            keycode::encode_value(&mut key, &element, ColumnOrder::ASC)?;
            key.extend_from_slice(&suffix);
            out.push(key);
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// The start of every entry of key part `position`.
fn part_key(index: &Index, position: usize) -> Result<Vec<u8>> {
    let mut key = relation_prefix(index.storage);
    keycode::encode_value(&mut key, &Value::Int2(position as i16), ColumnOrder::ASC)?;
    Ok(key)
}

/// The start of every entry of `element` in key part `position`.
fn element_key(index: &Index, position: usize, element: &Value) -> Result<Vec<u8>> {
    let mut key = part_key(index, position)?;
    keycode::encode_value(&mut key, element, ColumnOrder::ASC)?;
    Ok(key)
}

/// A key value's elements (see the module's documentation).
fn elements(value: &Value) -> Result<Vec<Value>> {
    let mut out = Vec::new();
    match value {
        Value::Null => {}
        Value::Text(vector) => {
            out.extend(TsVector::parse(vector)?.entries.into_keys().map(Value::Text))
        }
        Value::Array(_) => array_elements(value, &mut out),
        Value::Jsonb(doc) => json_entries(&json_ops::parse(doc)?, true, &mut out),
        other => return Err(errdata!("a {} value in a GIN index", other.type_name())),
    }
    Ok(out)
}

fn array_elements(value: &Value, out: &mut Vec<Value>) {
    match value {
        Value::Null => {}
        Value::Array(a) => a.elements.iter().for_each(|e| array_elements(e, out)),
        v => out.push(v.clone()),
    }
}

/// A jsonb value's entries; `in_array` for an array's element (or the top level).
fn json_entries(json: &Json, in_array: bool, out: &mut Vec<Value>) {
    let tagged = |tag: char, text: &str| Value::Text(format!("{tag}{text}"));
    match json {
        Json::Object(map) => {
            for (k, v) in map {
                out.push(tagged('K', k));
                json_entries(v, false, out);
            }
        }
        Json::Array(items) => items.iter().for_each(|item| json_entries(item, true, out)),
        Json::String(s) if in_array => out.push(tagged('K', s)),
        Json::String(s) => out.push(tagged('S', s)),
        Json::Number(n) => out.push(tagged('N', &n.as_f64().unwrap_or(f64::NAN).to_string())),
        Json::Bool(b) => out.push(tagged('B', &b.to_string())),
        Json::Null => out.push(tagged('Z', "")),
    }
}

/// A search's element lookups.
enum Lookup {
    /// The rows with an entry for the element (or, with `prefix`, any text element it
    /// begins).
    Element(Value, bool),
    /// The rows every part finds (every row when there are none).
    And(Vec<Lookup>),
    /// The rows any part finds (no row when there are none).
    Or(Vec<Lookup>),
    /// Every row.
    All,
}

/// The keys of the rows an inverted index names for a search, in key order; `None` when
/// the search needs every row read.
pub fn search(
    txn: &Transaction,
    index: &Index,
    search: &InvertedSearch,
    ctx: &ExecCtx,
) -> Result<Option<Vec<Vec<u8>>>> {
    let arg = eval(&search.arg, &[], ctx)?;
    // A NULL operand matches no row.
    let lookup = if arg.is_null() { Lookup::Or(Vec::new()) } else { lookup(search, arg, ctx)? };
    rows(txn, index, search.key, &lookup)
}

fn lookup(search: &InvertedSearch, arg: Value, ctx: &ExecCtx) -> Result<Lookup> {
    let element = |v: Value| Lookup::Element(v, false);
    let key = |text: &str| element(Value::Text(format!("K{text}")));
    let texts = |arg: &Value| -> Vec<String> {
        let mut out = Vec::new();
        array_elements(arg, &mut out);
        out.into_iter().map(|v| crate::functions::scalar::text(&v).to_string()).collect()
    };
    Ok(match (search.op, &search.key_type) {
        (InvertedOp::TsMatch, _) => {
            match TsQuery::parse(crate::functions::scalar::text(&arg))?.0 {
                Some(node) => ts_lookup(&node),
                // A query of stop words only matches nothing.
                None => Lookup::Or(Vec::new()),
            }
        }
        (InvertedOp::Contains | InvertedOp::Overlaps, DataType::Array(element_type)) => {
            let mut values = Vec::new();
            array_elements(&arg, &mut values);
            // An element of another type is cast to the key's; one that cannot be equals
            // no element of it.
            let cast = |v: Value| {
                crate::types::cast::cast(
                    v,
                    element_type,
                    crate::types::cast::CastKind::Explicit,
                    ctx.session.zone(),
                )
            };
            let parts = values.into_iter().map(|v| match cast(v) {
                Ok(v) => element(v),
                Err(_) => Lookup::Or(Vec::new()),
            });
            if search.op == InvertedOp::Contains {
                Lookup::And(parts.collect())
            } else {
                Lookup::Or(parts.collect())
            }
        }
        (InvertedOp::Contains, _) => {
            let mut entries = Vec::new();
            if let Value::Jsonb(doc) = &arg {
                json_entries(&json_ops::parse(doc)?, true, &mut entries);
            }
            Lookup::And(entries.into_iter().map(element).collect())
        }
        (InvertedOp::Exists, _) => key(crate::functions::scalar::text(&arg)),
        (InvertedOp::ExistsAny, _) => Lookup::Or(texts(&arg).iter().map(|t| key(t)).collect()),
        (InvertedOp::ExistsAll, _) => Lookup::And(texts(&arg).iter().map(|t| key(t)).collect()),
        (InvertedOp::Overlaps, other) => {
            return Err(errdata!("&& through a GIN index on {}", other.name()));
        }
    })
}

/// A tsquery node's lookups: a superset of the rows it matches.
fn ts_lookup(node: &TsNode) -> Lookup {
    match node {
        TsNode::Operand { lexeme, prefix, .. } => {
            Lookup::Element(Value::Text(lexeme.clone()), *prefix)
        }
        TsNode::Not(_) => Lookup::All,
        TsNode::And(a, b) | TsNode::Phrase(a, b, _) => {
            Lookup::And(vec![ts_lookup(a), ts_lookup(b)])
        }
        TsNode::Or(a, b) => Lookup::Or(vec![ts_lookup(a), ts_lookup(b)]),
    }
}

/// The rows a lookup finds, as sorted row keys (None: every row). A posting list comes out of
/// its key range sorted (the row key ends the entry key, encoded in its order); sets are
/// combined by merging sorted lists.
fn rows(
    txn: &Transaction,
    index: &Index,
    position: usize,
    lookup: &Lookup,
) -> Result<Option<Vec<Vec<u8>>>> {
    Ok(match lookup {
        Lookup::All => None,
        Lookup::Element(element, prefix) => {
            let mut start = element_key(index, position, element)?;
            if *prefix {
                // A text's encoding ends with a two-byte terminator: without it, the key
                // starts every text that begins with this one.
                start.truncate(start.len() - 2);
            }
            let mut found = Vec::new();
            for entry in txn.scan(oxibase_engine::prefix_range(&start))? {
                found.push(entry?.1);
            }
            // A prefix's lists follow each other, each sorted.
            if !found.is_sorted() {
                found.sort_unstable();
                found.dedup();
            }
            Some(found)
        }
        Lookup::And(parts) => {
            let mut found: Option<Vec<Vec<u8>>> = None;
            for part in parts {
                let Some(part) = rows(txn, index, position, part)? else { continue };
                found = Some(match found {
                    None => part,
                    Some(found) => intersect(found, &part),
                });
                if found.as_ref().is_some_and(Vec::is_empty) {
                    break;
                }
            }
            found
        }
        Lookup::Or(parts) => {
            let mut found = Vec::new();
            for part in parts {
                match rows(txn, index, position, part)? {
                    None => return Ok(None),
                    Some(part) => found = unite(found, part),
                }
            }
            Some(found)
        }
    })
}

/// The keys in both sorted lists.
fn intersect(a: Vec<Vec<u8>>, b: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut out = Vec::with_capacity(a.len().min(b.len()));
    let mut rest = b;
    for key in a {
        // Skip b's smaller keys.
        let skip = rest.partition_point(|k| *k < key);
        rest = &rest[skip..];
        match rest.first() {
            Some(k) if *k == key => {
                out.push(key);
                rest = &rest[1..];
            }
            Some(_) => {}
            None => break,
        }
    }
    out
}

/// The keys in either sorted list, sorted.
fn unite(a: Vec<Vec<u8>>, b: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    if a.is_empty() {
        return b;
    }
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut a, mut b) = (a.into_iter().peekable(), b.into_iter().peekable());
    loop {
        let next = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) if x < y => a.next(),
            (Some(x), Some(y)) if x > y => b.next(),
            (Some(_), Some(_)) => {
                b.next();
                a.next()
            }
            (Some(_), None) => a.next(),
            (None, Some(_)) => b.next(),
            (None, None) => break,
        };
        out.extend(next);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{intersect, unite};

    fn keys(v: &[u8]) -> Vec<Vec<u8>> {
        v.iter().map(|&b| vec![b]).collect()
    }

    #[test]
    fn sorted_lists_intersect_and_unite() {
        assert_eq!(intersect(keys(&[1, 3, 5, 7, 9]), &keys(&[2, 3, 4, 9, 10])), keys(&[3, 9]));
        assert_eq!(intersect(keys(&[1, 2]), &keys(&[])), keys(&[]));
        assert_eq!(intersect(keys(&[5]), &keys(&[1, 2, 5])), keys(&[5]));
        assert_eq!(unite(keys(&[1, 3, 5]), keys(&[2, 3, 6])), keys(&[1, 2, 3, 5, 6]));
        assert_eq!(unite(keys(&[]), keys(&[4])), keys(&[4]));
        assert_eq!(unite(keys(&[4]), keys(&[])), keys(&[4]));
    }
}
