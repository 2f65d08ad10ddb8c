//! Literal lifting: simple-protocol statements that differ only in their integer literals
//! share one parsed, bound and optimized plan.
//!
//! Clients that send values as literals (pgbench's default mode, psql scripts, most ORMs'
//! "simple" paths) make every statement's text unique, so the plan cache never sees a text
//! twice and each statement is tokenized, parsed, bound and optimized again. [`lift`] scans
//! a statement's text (one pass over its bytes, nothing parsed) and replaces each integer
//! literal that fits an `integer` with a parameter: `UPDATE t SET x = x + 5 WHERE id = 7`
//! becomes the key `UPDATE t SET x = x + $1 WHERE id = $2` with the values (5, 7). Statements
//! with the same key then run one cached plan with their own values as `integer`
//! parameters, which is what an integer literal is typed as anyway.
//!
//! That the lifted statement means the same as the literal one is not assumed but checked,
//! once per key and catalog generation ([`same_meaning`]): the literal statement and the
//! lifted one are both bound, the lifted plan's parameters are replaced by the literals
//! (with the folds binding applies to literals: negation, casts), and the two plans must be
//! identical. Where binding treats a literal as more than its value — `ORDER BY 1` and
//! `GROUP BY 1` name output columns, a literal compared with a `smallint` column is
//! converted to `smallint` so an index can serve it, arithmetic on literals is folded —
//! the plans differ and the key is never lifted. Binding depends on an integer literal's
//! type, not its value (all lifted values are `integer`s), so what holds for one set of
//! values holds for the others.
//!
//! Texts with `$` (parameters or dollar quoting) or with several statements are not lifted.

use std::collections::HashMap;
use std::sync::Arc;

use oxibase_common::{DataType, Value};
use sqlparser::ast;

use crate::bind::{Returning, Statement};
use crate::plan::{Expr, Plan};

/// How many keys a session remembers before it starts over.
const LIMIT: usize = 512;

/// When a session lifts literals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LiteralLifting {
    /// Never.
    Off,
    /// From the second statement with the same key (the default: a key seen once costs
    /// nothing beyond the scan).
    Repeated,
    /// From the first statement of every key (tests use it to run every liftable statement
    /// lifted).
    Always,
}

/// A statement's text with its integer literals replaced by parameters.
pub(super) struct Lifted {
    /// The text with `$1`, `$2`, ... in place of the literals.
    pub key: String,
    /// The literals, as `integer` values.
    pub values: Vec<Value>,
}

impl Lifted {
    /// The parameters' types: all `integer`.
    pub fn types(&self) -> Vec<Option<DataType>> {
        vec![Some(DataType::Int4); self.values.len()]
    }
}

/// Scans `sql` for integer literals outside strings, quoted identifiers and comments; None
/// when there are none to lift or the text is not liftable (see the module docs).
pub(super) fn lift(sql: &str) -> Option<Lifted> {
    let b = sql.as_bytes();
    let mut key = String::new();
    let mut values = Vec::new();
    let mut copied = 0;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'$' => return None,
            b'\'' => i = skip_quoted(b, i, b'\'', false)?,
            b'"' => i = skip_quoted(b, i, b'"', false)?,
            b'-' if b.get(i + 1) == Some(&b'-') => {
                i = b[i..].iter().position(|&c| c == b'\n').map_or(b.len(), |n| i + n);
            }
            b'/' if b.get(i + 1) == Some(&b'*') => i = skip_block_comment(b, i)?,
            b';' => {
                // Only more semicolons and white space may follow: one statement.
                if !b[i..].iter().all(|c| *c == b';' || c.is_ascii_whitespace()) {
                    return None;
                }
                break;
            }
            c if c.is_ascii_digit()
                || (c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit)) =>
            {
                let start = i;
                let (end, plain) = number_end(b, i);
                i = end;
                let attached = (start > 0 && is_identifier_byte(b[start - 1]))
                    || b.get(end).is_some_and(|&c| is_identifier_byte(c) || c == b'.');
                if !plain || attached {
                    continue;
                }
                let Ok(value) = sql[start..end].parse::<i32>() else { continue };
                key.push_str(&sql[copied..start]);
                values.push(Value::Int4(value));
                key.push('$');
                key.push_str(&values.len().to_string());
                copied = end;
            }
            c if is_identifier_byte(c) => {
                let start = i;
                while i < b.len() && is_identifier_byte(b[i]) {
                    i += 1;
                }
                // E'...': backslash escapes inside.
                if i - start == 1 && matches!(c, b'e' | b'E') && b.get(i) == Some(&b'\'') {
                    i = skip_quoted(b, i, b'\'', true)?;
                }
            }
            _ => i += 1,
        }
    }
    if values.is_empty() {
        return None;
    }
    key.push_str(&sql[copied..]);
    Some(Lifted { key, values })
}

/// Letters, digits, `_` and any byte of a non-ASCII character continue an identifier.
fn is_identifier_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80
}

/// The end of the numeric token at `i`, and whether it is plain digits.
fn number_end(b: &[u8], mut i: usize) -> (usize, bool) {
    let digits = |b: &[u8], mut i: usize| {
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        i
    };
    let start = i;
    i = digits(b, i);
    let mut plain = i > start;
    if b.get(i) == Some(&b'.') {
        plain = false;
        i = digits(b, i + 1);
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(b.get(i + 1), Some(b'+' | b'-')));
        if b.get(i + 1 + sign).is_some_and(u8::is_ascii_digit) {
            plain = false;
            i = digits(b, i + 1 + sign);
        }
    }
    (i, plain)
}

/// The position after the quoted token starting at `i` (a doubled quote stands for itself;
/// with `backslashes`, a backslash escapes the next byte); None if it never ends.
fn skip_quoted(b: &[u8], mut i: usize, quote: u8, backslashes: bool) -> Option<usize> {
    i += 1;
    while i < b.len() {
        match b[i] {
            b'\\' if backslashes => i += 2,
            c if c == quote => {
                if b.get(i + 1) == Some(&quote) {
                    i += 2;
                } else {
                    return Some(i + 1);
                }
            }
            _ => i += 1,
        }
    }
    None
}

/// The position after the (possibly nested) block comment starting at `i`.
fn skip_block_comment(b: &[u8], mut i: usize) -> Option<usize> {
    let mut depth = 0usize;
    while i + 1 < b.len() {
        match (b[i], b[i + 1]) {
            (b'/', b'*') => {
                depth += 1;
                i += 2;
            }
            (b'*', b'/') => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => i += 1,
        }
    }
    None
}

/// Whether `lifted` (bound from the lifted text) with `values` in place of its parameters
/// is exactly `literal` (bound from the original text).
pub(super) fn same_meaning(literal: &Statement, lifted: Statement, values: &[Value]) -> bool {
    let instantiated = match lifted {
        Statement::Query(plan) => Statement::Query(instantiate_plan(plan, values)),
        Statement::Insert(mut i) => {
            i.source =
                instantiate_plan(std::mem::replace(&mut i.source, Plan::single_row()), values);
            if let Some(crate::bind::OnConflict::Update { assignments, filter, .. }) =
                &mut i.on_conflict
            {
                instantiate_all(assignments.iter_mut().map(|(_, e)| e), values);
                instantiate_all(filter.iter_mut(), values);
            }
            instantiate_returning(&mut i.returning, values);
            Statement::Insert(i)
        }
        Statement::Update(mut u) => {
            u.source =
                instantiate_plan(std::mem::replace(&mut u.source, Plan::single_row()), values);
            instantiate_all(u.assignments.iter_mut().map(|(_, e)| e), values);
            instantiate_all(u.recheck.iter_mut(), values);
            instantiate_returning(&mut u.returning, values);
            Statement::Update(u)
        }
        Statement::Delete(mut d) => {
            d.source =
                instantiate_plan(std::mem::replace(&mut d.source, Plan::single_row()), values);
            instantiate_all(d.recheck.iter_mut(), values);
            instantiate_returning(&mut d.returning, values);
            Statement::Delete(d)
        }
        _ => return false,
    };
    format!("{instantiated:?}") == format!("{literal:?}")
}

fn instantiate_returning(returning: &mut Option<Returning>, values: &[Value]) {
    if let Some(r) = returning {
        instantiate_all(r.exprs.iter_mut(), values);
    }
}

fn instantiate_all<'a>(exprs: impl Iterator<Item = &'a mut Expr>, values: &[Value]) {
    for e in exprs {
        let taken = std::mem::replace(e, Expr::Literal(Value::Null));
        *e = instantiate(taken, values);
    }
}

fn instantiate_plan(plan: Plan, values: &[Value]) -> Plan {
    crate::optimize::map_all_exprs(plan, &mut |e| instantiate(e, values))
}

/// Replaces parameters with their values, folding what binding folds around a literal.
fn instantiate(e: Expr, values: &[Value]) -> Expr {
    e.transform(&mut |e| match e {
        Expr::Param(i) => values.get(i).cloned().map_or(Expr::Param(i), Expr::Literal),
        // A negative number literal is bound as one literal.
        Expr::Negate(inner) => match *inner {
            Expr::Literal(Value::Int4(v)) => Expr::Literal(Value::Int4(-v)),
            inner => Expr::Negate(Box::new(inner)),
        },
        Expr::Cast(inner, to) => crate::bind::fold_cast(*inner, &to),
        Expr::AssignCast(inner, to) => match *inner {
            Expr::Literal(v) => match crate::types::cast::cast(
                v.clone(),
                &to,
                crate::types::cast::CastKind::Assignment,
                &crate::types::datetime::Zone::UTC,
            ) {
                Ok(cast) => Expr::Literal(cast),
                Err(_) => Expr::AssignCast(Box::new(Expr::Literal(v)), to),
            },
            inner => Expr::AssignCast(Box::new(inner), to),
        },
        Expr::Subquery { plan, kind, correlated, id } => Expr::Subquery {
            plan: Arc::new(instantiate_plan(Arc::unwrap_or_clone(plan), values)),
            kind,
            correlated,
            id,
        },
        e => e,
    })
}

/// What a session knows about each key.
enum Entry {
    /// Lifting keeps its meaning: the lifted statement, parsed.
    Lifted(Arc<ast::Statement>),
    /// Lifting changes its meaning, or the lifted text does not bind.
    Refused,
}

/// What to do with a statement whose text lifted to a key.
pub(super) enum Decision {
    /// Run this (the key's parsed statement) with the lifted values.
    Run(Arc<ast::Statement>),
    /// Check whether lifting keeps the meaning, then run it either way.
    Check,
    /// Run the text as it is.
    AsWritten,
}

/// The session's keys, valid for one catalog generation.
pub(super) struct LiftCache {
    entries: HashMap<String, (u64, Entry)>,
    seen: super::plans::SeenOnce,
    pub mode: LiteralLifting,
}

impl Default for LiftCache {
    fn default() -> Self {
        LiftCache {
            entries: HashMap::new(),
            seen: super::plans::SeenOnce::default(),
            mode: LiteralLifting::Repeated,
        }
    }
}

impl LiftCache {
    /// What to do with `key` in catalog generation `generation`.
    pub fn decide(&mut self, key: &str, generation: u64) -> Decision {
        match self.entries.get(key) {
            Some((g, Entry::Lifted(statement))) if *g == generation => {
                return Decision::Run(statement.clone());
            }
            Some((g, Entry::Refused)) if *g == generation => return Decision::AsWritten,
            Some(_) => return Decision::Check,
            None => {}
        }
        match self.mode {
            LiteralLifting::Off => Decision::AsWritten,
            LiteralLifting::Always => Decision::Check,
            LiteralLifting::Repeated => {
                if self.seen.repeated(key) {
                    Decision::Check
                } else {
                    Decision::AsWritten
                }
            }
        }
    }

    /// Records the outcome of a check: the lifted statement, or None when refused.
    pub fn record(&mut self, key: String, generation: u64, lifted: Option<Arc<ast::Statement>>) {
        if self.entries.len() >= LIMIT {
            self.entries.clear();
        }
        let entry = lifted.map_or(Entry::Refused, Entry::Lifted);
        self.entries.insert(key, (generation, entry));
    }

    /// Forgets every key (the search path changed, or DISCARD PLANS).
    pub fn clear(&mut self) {
        self.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(sql: &str) -> Option<(String, Vec<i32>)> {
        lift(sql).map(|l| {
            let values = l
                .values
                .iter()
                .map(|v| match v {
                    Value::Int4(i) => *i,
                    other => panic!("not an integer: {other:?}"),
                })
                .collect();
            (l.key, values)
        })
    }

    #[test]
    fn integer_literals_become_parameters() {
        assert_eq!(
            key("UPDATE pgbench_accounts SET abalance = abalance + -4021 WHERE aid = 78;"),
            Some((
                "UPDATE pgbench_accounts SET abalance = abalance + -$1 WHERE aid = $2;".into(),
                vec![4021, 78]
            ))
        );
        assert_eq!(
            key("select x from t1 where y=007"),
            Some(("select x from t1 where y=$1".into(), vec![7]))
        );
        assert_eq!(key("select 1::int8, (2)"), Some(("select $1::int8, ($2)".into(), vec![1, 2])));
    }

    #[test]
    fn what_is_not_an_integer_literal_stays() {
        // Identifiers, decimals, exponents, big numbers, strings, quoted names, comments.
        assert_eq!(key("select c1, t2.c3 from t4"), None);
        assert_eq!(key("select 1.5, .5, 1e5, 2E-3, 1e, 0x1F, 1_000, 2147483648"), None);
        assert_eq!(key("select '5', E'\\'5', \"col 5\", U&'6' -- 7\n /* 8 /* 9 */ 10 */"), None);
        assert_eq!(
            key("select 'it''s 5', 6 -- 7"),
            Some(("select 'it''s 5', $1 -- 7".into(), vec![6]))
        );
        assert_eq!(key("select 1e-5 + 3"), Some(("select 1e-5 + $1".into(), vec![3])));
    }

    #[test]
    fn texts_that_are_not_lifted() {
        // Parameters, dollar quoting, several statements, unterminated tokens.
        assert_eq!(key("select $1 + 2"), None);
        assert_eq!(key("select $$5$$"), None);
        assert_eq!(key("select 1; select 2"), None);
        assert_eq!(key("select 'abc 1"), None);
        assert_eq!(key("select 1 /* x"), None);
        assert_eq!(key("select 1 ;; \n"), Some(("select $1 ;; \n".into(), vec![1])));
    }

    #[test]
    fn keys_are_checked_once_per_generation_and_lifted_from_the_second_time() {
        let mut cache = LiftCache::default();
        assert!(matches!(cache.decide("k", 1), Decision::AsWritten));
        assert!(matches!(cache.decide("k", 1), Decision::Check));
        cache.record("k".into(), 1, None);
        assert!(matches!(cache.decide("k", 1), Decision::AsWritten));
        assert!(matches!(cache.decide("k", 2), Decision::Check));
        let statement =
            Arc::new(ast::Statement::Commit { chain: false, end: false, modifier: None });
        cache.record("k".into(), 2, Some(statement));
        assert!(matches!(cache.decide("k", 2), Decision::Run(_)));
        cache.mode = LiteralLifting::Always;
        assert!(matches!(cache.decide("other", 2), Decision::Check));
        cache.mode = LiteralLifting::Off;
        assert!(matches!(cache.decide("third", 2), Decision::AsWritten));
    }
}
