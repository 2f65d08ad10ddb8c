//! ANALYZE: row counts and distinct-value estimates for the optimizer.
//!
//! Every row is counted (the scan is cheap next to what a bad plan costs); distinct values
//! come from a uniform sample of up to [`SAMPLE`] rows (reservoir sampling), scaled to the
//! table with the Haas-Stokes estimator PostgreSQL uses:
//!
//! ```text
//!   D = n·d / (n − f1 + f1·n/N)      n sampled, N total (non-null), d distinct in the
//!                                    sample, f1 of them seen exactly once
//! ```

use std::collections::HashMap;

use oxibase_common::{Result, Value};
use rand::Rng;

use super::ExecCtx;
use super::storage::decode_table_row;
use crate::catalog::{Table, TableStats};
use crate::functions::FunctionEnv;
use crate::keys::{FIRST_USER_ID, relation_prefix};
use crate::types::compare::group_key;

/// The rows sampled per table at the default statistics target (100): PostgreSQL samples
/// 300 × the largest target of the table's columns.
pub const SAMPLE: usize = 30_000;

/// The sample size for a table: 300 × the largest statistics target of its columns (a
/// column's own, or the default 100).
fn sample_size(table: &Table) -> usize {
    let targets = table.columns.iter().filter(|c| !c.dropped).map(|c| match c.statistics {
        -1 => SAMPLE / 300,
        t => t.max(0) as usize,
    });
    300 * targets.max().unwrap_or(SAMPLE / 300)
}

/// Analyzes one table, or every user table.
pub fn analyze(ctx: &ExecCtx, table: Option<&Table>) -> Result<()> {
    let tables = match table {
        Some(t) => vec![t.clone()],
        None => {
            ctx.catalog.tables(ctx.txn)?.into_iter().filter(|t| t.id >= FIRST_USER_ID).collect()
        }
    };
    for table in tables {
        let stats = table_stats(ctx, &table)?;
        ctx.catalog.set_statistics(ctx.txn, table.id, &stats)?;
    }
    Ok(())
}

fn table_stats(ctx: &ExecCtx, table: &Table) -> Result<TableStats> {
    let mut rng = rand::rng();
    let size = sample_size(table);
    let mut sample: Vec<Vec<Value>> = Vec::new();
    let mut rows = 0u64;
    for (i, item) in ctx.txn.scan_prefix(&relation_prefix(table.storage))?.enumerate() {
        if i % 4096 == 4095 {
            ctx.check_interrupt()?;
        }
        let (_, bytes) = item?;
        rows += 1;
        if size == 0 {
            continue;
        }
        if sample.len() < size {
            sample.push(decode_table_row(table, &bytes)?);
        } else {
            let j = rng.random_range(0..rows);
            if (j as usize) < size {
                sample[j as usize] = decode_table_row(table, &bytes)?;
            }
        }
    }
    let mut distinct = Vec::with_capacity(table.columns.len());
    for (position, column) in table.columns.iter().enumerate() {
        // A dropped column has none; a column whose target is 0 is not analyzed (0 is
        // unknown: the planner takes its default).
        if column.dropped || column.statistics == 0 {
            distinct.push(0);
            continue;
        }
        distinct.push(estimate_distinct(&sample, position, rows)?);
    }
    Ok(TableStats { rows, distinct })
}

/// The Haas-Stokes estimate of a column's distinct non-null values.
fn estimate_distinct(sample: &[Vec<Value>], column: usize, rows: u64) -> Result<u64> {
    let mut seen: HashMap<Vec<u8>, u32> = HashMap::new();
    let mut non_null = 0u64;
    for row in sample {
        let value = row.get(column).unwrap_or(&Value::Null);
        if value.is_null() {
            continue;
        }
        non_null += 1;
        let mut key = Vec::new();
        group_key(std::slice::from_ref(value), &mut key)?;
        *seen.entry(key).or_default() += 1;
    }
    let d = seen.len() as f64;
    if non_null == 0 {
        return Ok(0);
    }
    let n = non_null as f64;
    // The non-null rows of the whole table, in the sample's proportion.
    let total = (rows as f64 * n / sample.len() as f64).max(n);
    if sample.len() as u64 == rows {
        return Ok(d as u64);
    }
    let f1 = seen.values().filter(|&&c| c == 1).count() as f64;
    let estimate = n * d / (n - f1 + f1 * n / total);
    Ok(estimate.clamp(d, total).round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(values: &[i64]) -> Vec<Vec<Value>> {
        values.iter().map(|v| vec![Value::Int8(*v)]).collect()
    }

    #[test]
    fn the_sample_follows_the_largest_statistics_target() {
        use crate::catalog::Column;
        use oxibase_common::DataType;
        let column = |statistics| Column { statistics, ..Column::new("c", DataType::Int4) };
        let table = |targets: &[i32]| {
            let columns = targets.iter().map(|&t| column(t)).collect();
            Table::plain(1, "public".into(), "t".into(), columns)
        };
        assert_eq!(sample_size(&table(&[-1, -1])), SAMPLE);
        assert_eq!(sample_size(&table(&[-1, 500])), 150_000);
        assert_eq!(sample_size(&table(&[10, 0])), 3_000);
        assert_eq!(sample_size(&table(&[0, 0])), 0);
    }

    #[test]
    fn a_whole_table_sample_counts_exactly_and_a_partial_one_scales() {
        let sample = column(&[1, 2, 2, 3, 3, 3]);
        assert_eq!(estimate_distinct(&sample, 0, 6).unwrap(), 3);
        // All distinct in a 1% sample: a key-like column, about as many values as rows.
        let unique: Vec<i64> = (0..1000).collect();
        let estimate = estimate_distinct(&column(&unique), 0, 100_000).unwrap();
        assert!(estimate > 90_000, "{estimate}");
        // Ten values each seen often: ten.
        let few: Vec<i64> = (0..1000).map(|i| i % 10).collect();
        assert_eq!(estimate_distinct(&column(&few), 0, 100_000).unwrap(), 10);
    }
}
