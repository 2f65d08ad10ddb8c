//! Window functions (PostgreSQL docs, "Window Functions"); any aggregate can be used as a
//! window function too.

use oxibase_common::{DataType, Result, errinput};

use super::aggregate::{self, AggregateFunction};
use crate::types::SqlType;

/// A function evaluated over a window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WindowFunction {
    /// row_number()
    RowNumber,
    /// rank()
    Rank,
    /// dense_rank()
    DenseRank,
    /// percent_rank()
    PercentRank,
    /// cume_dist()
    CumeDist,
    /// ntile(n)
    Ntile,
    /// lag(x [, offset [, default]])
    Lag,
    /// lead(x [, offset [, default]])
    Lead,
    /// first_value(x)
    FirstValue,
    /// last_value(x)
    LastValue,
    /// nth_value(x, n)
    NthValue,
    /// An aggregate over the frame.
    Aggregate(AggregateFunction),
}

/// True for the names of window-only functions.
pub fn is_window_function(name: &str) -> bool {
    matches!(
        name,
        "row_number"
            | "rank"
            | "dense_rank"
            | "percent_rank"
            | "cume_dist"
            | "ntile"
            | "lag"
            | "lead"
            | "first_value"
            | "last_value"
            | "nth_value"
    )
}

/// Resolves a window function: the function, its result type and its argument types.
pub fn resolve(
    name: &str,
    args: &[SqlType],
    star: bool,
) -> Result<(WindowFunction, DataType, Vec<DataType>)> {
    use DataType::*;
    use WindowFunction::*;
    let arg = |i: usize| args.get(i).map(SqlType::resolve).unwrap_or(Text);
    Ok(match (name, args.len()) {
        ("row_number", 0) => (RowNumber, Int8, vec![]),
        ("rank", 0) => (Rank, Int8, vec![]),
        ("dense_rank", 0) => (DenseRank, Int8, vec![]),
        ("percent_rank", 0) => (PercentRank, Float8, vec![]),
        ("cume_dist", 0) => (CumeDist, Float8, vec![]),
        ("ntile", 1) => (Ntile, Int4, vec![Int4]),
        ("lag" | "lead", 1..=3) => {
            let t = match (args.first(), args.get(2)) {
                (Some(SqlType::Unknown), Some(SqlType::Known(d))) => d.clone(),
                _ => arg(0),
            };
            let mut params = vec![t.clone(), Int4, t.clone()];
            params.truncate(args.len());
            (if name == "lag" { Lag } else { Lead }, t, params)
        }
        ("first_value", 1) => (FirstValue, arg(0), vec![arg(0)]),
        ("last_value", 1) => (LastValue, arg(0), vec![arg(0)]),
        ("nth_value", 2) => (NthValue, arg(0), vec![arg(0), Int4]),
        _ if aggregate::is_aggregate(name) => {
            let r = aggregate::resolve(name, args, star)?;
            (Aggregate(r.function), r.return_type, r.arg_types)
        }
        _ => {
            return Err(errinput!(
                UNDEFINED_FUNCTION,
                "function {name} with {} arguments is not a window function",
                args.len()
            ));
        }
    })
}
