//! Table scans: the whole table, a key range, or point lookups, through the primary key or
//! an index; and row locking (FOR UPDATE / FOR SHARE).

use std::ops::Bound;

use oxibase_common::keycode::{self, ColumnOrder};
use oxibase_common::{Result, Value, errdata, errinput};
use oxibase_engine::KeyRange as EngineRange;
use oxibase_mvcc::{Isolation, LockOutcome, Transaction, TxnOptions};

use super::eval::{eval, eval_condition};
use super::storage::decode_table_columns;
use super::{ExecCtx, Row, Rows};
use crate::catalog::{IndexKey, Table};
use crate::keys::relation_prefix;
use crate::plan::{Access, Expr, KeyRange, LockTarget, Node, Plan, RowLock};
use crate::types::datetime::UNIX_TO_PG_MICROS;

/// Runs a Scan node.
pub fn scan<'a>(plan: &'a Plan, ctx: &'a ExecCtx<'a>) -> Result<Rows<'a>> {
    let Node::Scan { table, access, range, reverse, filter, with_key, as_of, reads, .. } =
        &plan.node
    else {
        return Err(errinput!(INTERNAL_ERROR, "not a scan"));
    };
    let in_order = |table: &Table| -> Result<Vec<EngineRange>> {
        let ranges = key_ranges(table, access, range.as_ref(), ctx)?;
        Ok(if *reverse { ranges.into_iter().rev().collect() } else { ranges })
    };
    let reads = reads.as_deref();
    if let Access::Inverted(index, search) = access {
        // The rows the index names, read through the primary key (point reads in key
        // order), or the whole table.
        static PRIMARY: Access = Access::Primary;
        let ranges = match super::inverted::search(ctx.txn, index, search, ctx)? {
            Some(keys) => {
                keys.into_iter().map(|k| (Bound::Included(k.clone()), Bound::Included(k))).collect()
            }
            None => vec![oxibase_engine::prefix_range(&relation_prefix(table.storage))],
        };
        let filter = filter.as_ref();
        return read_ranges(ctx.txn, table, &PRIMARY, ranges, false, filter, *with_key, reads, ctx);
    }
    if let Some(as_of) = as_of {
        let snapshot = ctx.txn_as_of(as_of)?;
        let then = table_then(table, access, &snapshot, ctx)?;
        let rows = read_ranges(
            &snapshot,
            &then,
            access,
            in_order(&then)?,
            *reverse,
            filter.as_ref(),
            *with_key,
            None,
            ctx,
        )?
        .collect::<Result<Vec<_>>>()?;
        return Ok(Box::new(rows.into_iter().map(Ok)));
    }
    let order = in_order(table)?;
    read_ranges(ctx.txn, table, access, order, *reverse, filter.as_ref(), *with_key, reads, ctx)
}

/// The table as an AS OF snapshot stored it: before a TRUNCATE or a rewrite its rows lay
/// under another storage id. Rows a rewrite changed the key or a column type of cannot be
/// read in today's shape, so that is refused.
fn table_then<'t>(
    table: &'t Table,
    access: &Access,
    snapshot: &Transaction,
    ctx: &ExecCtx,
) -> Result<std::borrow::Cow<'t, Table>> {
    let Some(then) = ctx.catalog.table_by_id(snapshot, table.id)? else {
        return Err(errinput!(
            UNDEFINED_TABLE,
            "relation \"{}\" did not exist at that time",
            table.name
        ));
    };
    if then.storage == table.storage {
        return Ok(std::borrow::Cow::Borrowed(table));
    }
    let same_shape = then.primary_key == table.primary_key
        && then.columns.iter().zip(&table.columns).all(|(a, b)| a.data_type == b.data_type);
    if !same_shape || !matches!(access, Access::Primary) {
        return Err(errinput!(
            FEATURE_NOT_SUPPORTED,
            "cannot read table \"{}\" as of a time before its rows were rewritten",
            table.name
        )
        .with_detail("A new primary key or column type rewrote the rows since then."));
    }
    Ok(std::borrow::Cow::Owned(Table { storage: then.storage, ..table.clone() }))
}

/// Key-value entries read from the store.
type Entries<'a> = Box<dyn Iterator<Item = Result<(Vec<u8>, Vec<u8>)>> + 'a>;

#[allow(clippy::too_many_arguments)]
fn read_ranges<'a>(
    txn: &'a Transaction,
    table: &'a Table,
    access: &'a Access,
    ranges: Vec<EngineRange>,
    reverse: bool,
    filter: Option<&'a Expr>,
    with_key: bool,
    reads: Option<&'a [bool]>,
    ctx: &'a ExecCtx<'a>,
) -> Result<Rows<'a>> {
    let entries = ranges.into_iter().map(move |range| -> Result<Entries<'a>> {
        // A point range on the primary key is a plain read.
        if let (Access::Primary, (Bound::Included(a), Bound::Included(b))) = (access, &range)
            && a == b
        {
            let key = a.clone();
            return Ok(Box::new(txn.get(&key)?.map(|v| Ok((key, v))).into_iter()));
        }
        let scan = txn.scan(range)?;
        Ok(if reverse { Box::new(scan.rev()) } else { Box::new(scan) })
    });
    let rows = entries.flat_map(|r| match r {
        Ok(it) => it,
        Err(e) => Box::new(std::iter::once(Err(e))),
    });
    Ok(Box::new(rows.filter_map(move |entry| {
        let result = (|| -> Result<Option<Row>> {
            let (key, value) = entry?;
            let (row_key, mut row) = match access {
                Access::Primary => {
                    let row = decode_table_columns(table, &value, reads)?;
                    (key, row)
                }
                Access::Index(_) => match txn.get(&value)? {
                    Some(bytes) => (value, decode_table_columns(table, &bytes, reads)?),
                    None => return Ok(None), // an index entry of a row we cannot see
                },
                Access::IndexOnly(index) => (value, row_from_index_key(table, index, &key)?),
                Access::Inverted(index, _) => {
                    return Err(errdata!("inverted index {} read as a range", index.name));
                }
            };
            ctx.stats.borrow_mut().rows_read += 1;
            if with_key {
                row.push(Value::Bytea(row_key));
            }
            if let Some(f) = filter
                && !eval_condition(f, &row, ctx)?
            {
                return Ok(None);
            }
            Ok(Some(row))
        })();
        result.transpose()
    })))
}

/// A row with the indexed columns decoded from an index entry's key (the others NULL: an
/// index-only scan reads no other column).
fn row_from_index_key(table: &Table, index: &crate::catalog::Index, key: &[u8]) -> Result<Row> {
    let mut input = &key[relation_prefix(index.storage).len()..];
    let mut row = vec![Value::Null; table.columns.len()];
    for (key, &order) in index.keys.iter().zip(&index.orders) {
        let IndexKey::Column(col) = *key else {
            return Err(errdata!("an index-only scan of expression index {}", index.name));
        };
        row[col] = keycode::decode_value(&mut input, &table.columns[col].data_type, order)?;
    }
    Ok(row)
}

/// The key parts of an access path with their order: a column, or None for an expression
/// (the planner matched it to values of its own type).
fn key_columns(table: &Table, access: &Access) -> (u32, Vec<(Option<usize>, ColumnOrder)>) {
    match access {
        Access::Primary => (
            table.storage,
            table.primary_key.iter().map(|&c| (Some(c), ColumnOrder::ASC)).collect(),
        ),
        Access::Index(index) | Access::IndexOnly(index) | Access::Inverted(index, _) => (
            index.storage,
            index
                .keys
                .iter()
                .map(|k| match k {
                    IndexKey::Column(c) => Some(*c),
                    IndexKey::Expr(_) => None,
                })
                .zip(index.orders.iter().copied())
                .collect(),
        ),
    }
}

/// Turns bounds on an access path's key columns into engine key ranges (one per combination
/// of IN-list values), in key order.
fn key_ranges(
    table: &Table,
    access: &Access,
    range: Option<&KeyRange>,
    ctx: &ExecCtx,
) -> Result<Vec<EngineRange>> {
    let (rel, columns) = key_columns(table, access);
    let base = relation_prefix(rel);
    let Some(range) = range else { return Ok(vec![oxibase_engine::prefix_range(&base)]) };
    // Every combination of the equality values, as encoded key prefixes.
    let mut prefixes: Vec<Vec<u8>> = vec![base];
    for (i, alternatives) in range.equal.iter().enumerate() {
        let (col, order) = columns[i];
        let mut next = Vec::new();
        let mut values = Vec::with_capacity(alternatives.len());
        for e in alternatives {
            match e {
                Expr::KeySet(set) => {
                    // An element that is NULL or does not fit the column's type equals no
                    // row (the filter re-checks what the lookup reads).
                    if let Value::Array(array) = eval(set, &[], ctx)? {
                        for v in array.elements {
                            if let Ok(Some(v)) = coerce_key(v, table, col, ctx) {
                                values.push(v);
                            }
                        }
                    }
                }
                // = NULL matches nothing.
                e => values.extend(coerce_key(eval(e, &[], ctx)?, table, col, ctx)?),
            }
        }
        for prefix in &prefixes {
            for v in &values {
                let mut key = prefix.clone();
                keycode::encode_value(&mut key, v, order)?;
                next.push(key);
            }
        }
        next.sort();
        next.dedup();
        prefixes = next;
    }
    // Every key column fixed on a primary key or unique index: point reads, not scans (a
    // scan would walk every version of a hot row).
    let unique = match access {
        Access::Primary => true,
        Access::Index(index) | Access::IndexOnly(index) | Access::Inverted(index, _) => {
            index.unique
        }
    };
    if unique && range.equal.len() == columns.len() {
        return Ok(prefixes
            .into_iter()
            .map(|key| (Bound::Included(key.clone()), Bound::Included(key)))
            .collect());
    }
    let next_column = columns.get(range.equal.len()).copied();
    let mut out = Vec::new();
    for prefix in prefixes {
        let (Some((col, order)), true) = (
            next_column,
            !matches!((&range.lower, &range.upper), (Bound::Unbounded, Bound::Unbounded)),
        ) else {
            out.push(oxibase_engine::prefix_range(&prefix));
            continue;
        };
        // A range on the next column covers its non-NULL values only.
        let mut present = prefix.clone();
        present.push(if order.descending { !0x01 } else { 0x01 });
        let (mut lo, mut hi) = oxibase_engine::prefix_range(&present);
        let encode = |e: &Expr| -> Result<Option<Vec<u8>>> {
            let Some(v) = coerce_key(eval(e, &[], ctx)?, table, col, ctx)? else { return Ok(None) };
            let mut key = prefix.clone();
            keycode::encode_value(&mut key, &v, order)?;
            Ok(Some(key))
        };
        // For a descending column the key order is the reverse of the value order, so a
        // lower bound on the value is an upper bound on the key.
        let mut empty = false;
        for (bound, is_lower) in [(&range.lower, true), (&range.upper, false)] {
            let (expr, inclusive) = match bound {
                Bound::Included(e) => (e, true),
                Bound::Excluded(e) => (e, false),
                Bound::Unbounded => continue,
            };
            let Some(key) = encode(expr)? else {
                empty = true;
                continue;
            };
            if is_lower != order.descending {
                match start_at(&key, inclusive) {
                    Some(start) => lo = tighter_start(lo, start),
                    None => empty = true,
                }
            } else {
                hi = tighter_end(hi, end_at(&key, inclusive));
            }
        }
        if !empty {
            out.push((lo, hi));
        }
    }
    Ok(out)
}

/// Where a key range starts for a bound at `key`: at it, or (exclusive) just after every
/// key that starts with it. None when nothing can follow.
fn start_at(key: &[u8], inclusive: bool) -> Option<Bound<Vec<u8>>> {
    if inclusive {
        return Some(Bound::Included(key.to_vec()));
    }
    match oxibase_engine::prefix_range(key).1 {
        Bound::Excluded(end) => Some(Bound::Included(end)),
        _ => None,
    }
}

/// Where a key range ends for a bound at `key`: after every key that starts with it, or
/// (exclusive) just before it.
fn end_at(key: &[u8], inclusive: bool) -> Bound<Vec<u8>> {
    if inclusive { oxibase_engine::prefix_range(key).1 } else { Bound::Excluded(key.to_vec()) }
}

fn tighter_start(a: Bound<Vec<u8>>, b: Bound<Vec<u8>>) -> Bound<Vec<u8>> {
    match (&a, &b) {
        (Bound::Included(x), Bound::Included(y)) => {
            if y > x {
                b
            } else {
                a
            }
        }
        (Bound::Unbounded, _) => b,
        _ => a,
    }
}

fn tighter_end(a: Bound<Vec<u8>>, b: Bound<Vec<u8>>) -> Bound<Vec<u8>> {
    match (&a, &b) {
        (Bound::Excluded(x), Bound::Excluded(y)) => {
            if y < x {
                b
            } else {
                a
            }
        }
        (Bound::Unbounded, _) => b,
        _ => a,
    }
}

/// Converts a lookup value to the key column's type (None for NULL, which matches nothing).
fn coerce_key(v: Value, table: &Table, col: Option<usize>, ctx: &ExecCtx) -> Result<Option<Value>> {
    if v.is_null() {
        return Ok(None);
    }
    let Some(col) = col else { return Ok(Some(v)) };
    let ty = &table.columns[col].data_type;
    Ok(Some(crate::types::cast::cast(
        v,
        ty,
        crate::types::cast::CastKind::Explicit,
        ctx.session.zone(),
    )?))
}

impl ExecCtx<'_> {
    /// A read-only transaction reading as of a time (timestamptz) or commit timestamp.
    fn txn_as_of(&self, as_of: &Expr) -> Result<Transaction> {
        let ts = match eval(as_of, &[], self)? {
            Value::TimestampTz(t) | Value::Timestamp(t) => (t + UNIX_TO_PG_MICROS) as u64,
            Value::Int8(t) => t as u64,
            Value::Null => {
                return Err(errinput!(NULL_VALUE_NOT_ALLOWED, "AS OF needs a time, not NULL"));
            }
            other => {
                return Err(errinput!(
                    DATATYPE_MISMATCH,
                    "AS OF needs a timestamp or commit timestamp, not {}",
                    other.type_name()
                ));
            }
        };
        self.catalog.store().begin(TxnOptions {
            isolation: Isolation::Snapshot,
            read_only: true,
            as_of: Some(ts),
            lock_timeout: None,
        })
    }
}

/// Locks each row's keys as it passes; rows locked by others are waited for, refused, or
/// skipped, per the lock's policy. Under read committed, a row deleted while we waited for
/// its lock is dropped.
pub fn lock_rows<'a>(
    input: Rows<'a>,
    targets: &'a [LockTarget],
    lock: RowLock,
    ctx: &'a ExecCtx<'a>,
) -> Rows<'a> {
    Box::new(input.filter_map(move |row| {
        let result = (|| -> Result<Option<Row>> {
            let mut row = row?;
            for target in targets {
                let Some(Value::Bytea(key)) = row.get(target.key_column).cloned() else { continue };
                if ctx.txn.lock(&key, lock.mode, lock.wait)? == LockOutcome::Skipped {
                    return Ok(None);
                }
                if ctx.txn.isolation() != Isolation::ReadCommitted {
                    continue;
                }
                let (latest, changed) = ctx.txn.get_latest_and_changed(&key)?;
                let Some(latest) = latest else { return Ok(None) };
                if let Some(recheck) = &target.recheck
                    && changed
                {
                    // Changed after our snapshot: redo the row from its latest version.
                    let mut table_row = super::storage::decode_table_row(&recheck.table, &latest)?;
                    table_row.push(Value::Bytea(key.clone()));
                    if let Some(filter) = &recheck.filter
                        && super::eval::eval(filter, &table_row, ctx)? != Value::Bool(true)
                    {
                        return Ok(None);
                    }
                    row = recheck
                        .outputs
                        .iter()
                        .map(|e| super::eval::eval(e, &table_row, ctx))
                        .collect::<Result<_>>()?;
                }
            }
            Ok(Some(row))
        })();
        result.transpose()
    }))
}
