//! Which statements may run on a connection's shared thread (see [`oxibase_common::worker`]).
//!
//! Only those that cannot run long: a statement touching at most one row found by a unique
//! key (every key column equal to one value), or inserting one row of values, reading no
//! past version, whose expressions call nothing but immutable built-in functions and run no
//! subquery. pgbench's statements are all such: `SELECT abalance FROM pgbench_accounts
//! WHERE aid = $1`, `UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2`,
//! `INSERT INTO pgbench_history VALUES (...)`. What such a statement may still wait for (a
//! row lock, a foreign key's parent row, its commit) leaves the shared thread where it
//! waits; anything that scans, calls a function that may sleep or a stored function, or
//! runs a subquery leaves it before it starts.

use std::ops::Bound;

use crate::bind::{Returning, Statement};
use crate::plan::{Access, Expr, Node, Plan};

/// Whether a bound statement touches at most one row, by key, and calls nothing that could
/// run long.
pub(super) fn is_quick(statement: &Statement) -> bool {
    let returning = |r: &Option<Returning>| r.iter().flat_map(|r| &r.exprs).all(calls_nothing);
    match statement {
        Statement::Query(plan) => reads_one_row(plan),
        Statement::Insert(insert) => {
            matches!(&insert.source.node, Node::Values { rows } if rows.len() == 1)
                && reads_one_row(&insert.source)
                && insert.on_conflict.is_none()
                && returning(&insert.returning)
        }
        Statement::Update(update) => {
            reads_one_row(&update.source)
                && update.assignments.iter().all(|(_, e)| calls_nothing(e))
                && update.recheck.iter().all(calls_nothing)
                && returning(&update.returning)
        }
        Statement::Delete(delete) => {
            reads_one_row(&delete.source)
                && delete.recheck.iter().all(calls_nothing)
                && returning(&delete.returning)
        }
        _ => false,
    }
}

fn reads_one_row(plan: &Plan) -> bool {
    match &plan.node {
        Node::Scan { table, access, range: Some(range), as_of: None, filter, .. } => {
            let key_columns = match access {
                Access::Primary => table.primary_key.len(),
                Access::Index(index) | Access::IndexOnly(index) if index.unique => index.keys.len(),
                _ => return false,
            };
            let one_value = |values: &Vec<Expr>| {
                crate::plan::KeyRange::one_value(values) && values.iter().all(calls_nothing)
            };
            key_columns > 0
                && range.equal.len() == key_columns
                && range.equal.iter().all(one_value)
                && bound_is_quick(&range.lower)
                && bound_is_quick(&range.upper)
                && filter.iter().all(calls_nothing)
        }
        Node::Values { rows } => rows.len() <= 1 && rows.iter().flatten().all(calls_nothing),
        Node::Filter { input, predicate } => calls_nothing(predicate) && reads_one_row(input),
        // Its row lock waits where it waits; its re-check is the query's own filter.
        Node::LockRows { input, .. } => reads_one_row(input),
        Node::Project { input, exprs } => exprs.iter().all(calls_nothing) && reads_one_row(input),
        Node::Limit { input, limit, offset, ties } => {
            limit.iter().chain(offset).chain(ties.iter().flatten()).all(calls_nothing)
                && reads_one_row(input)
        }
        _ => false,
    }
}

fn bound_is_quick(bound: &Bound<Expr>) -> bool {
    match bound {
        Bound::Included(e) | Bound::Excluded(e) => calls_nothing(e),
        Bound::Unbounded => true,
    }
}

/// Built-in functions that are not immutable but only read the clock, the session or a
/// random generator: they neither wait nor run long.
const QUICK_FUNCTIONS: &[&str] = &[
    "now",
    "current_timestamp",
    "transaction_timestamp",
    "statement_timestamp",
    "clock_timestamp",
    "timeofday",
    "current_date",
    "current_time",
    "localtime",
    "localtimestamp",
    "random",
    "gen_random_uuid",
    "current_user",
    "session_user",
    "current_schema",
    "current_database",
    "pg_backend_pid",
];

/// True when an expression calls only immutable built-in functions (or those above) and
/// runs no subquery.
fn calls_nothing(expr: &Expr) -> bool {
    let mut quick = true;
    expr.walk(&mut |e| match e {
        Expr::Call(function, _) => {
            quick &= function.immutable || QUICK_FUNCTIONS.contains(&function.name)
        }
        Expr::Routine(..) | Expr::Subquery { .. } => quick = false,
        _ => {}
    });
    quick
}

#[cfg(test)]
mod tests {
    use crate::Database;

    /// The statement as bound in a session: (quick read?) for each text.
    fn classify(sqls: &[&str]) -> Vec<bool> {
        let db = Database::open_in_memory().unwrap();
        let mut session = db.session();
        session
            .execute(
                "create table t (id int primary key, u int unique, v int, w text);
                 create index t_v on t (v);
                 create table pair (a int, b int, primary key (a, b))",
            )
            .unwrap();
        sqls.iter()
            .map(|sql| {
                let bound = session.bind_for_test(sql).unwrap();
                super::is_quick(&bound)
            })
            .collect()
    }

    #[test]
    fn only_statements_on_one_row_by_key_that_call_nothing_are_quick() {
        let quick = [
            "update t set v = v + 1 where id = 1",
            "update t set w = 'x' where u = 2 returning v",
            "delete from t where id = 1",
            "insert into t values (1, 1, 1, 'x')",
            "insert into pair values ($1, $2)",
            "insert into t values (1, 1, 1, current_timestamp::text)",
            "update t set w = now()::text where id = 1",
            "select w from t where id = 1 for update",
            "select w from t where id = 1",
            "select w, v + 1 from t where id = $1",
            "select * from t where u = 7",
            "select lower(w) from t where id = 3 and v > 2",
            "select 1",
            "select a from pair where a = 1 and b = 2",
        ];
        assert_eq!(classify(&quick), vec![true; quick.len()], "{quick:?}");
        let not_quick = [
            "select w from t where v = 1",
            "select * from t",
            "select w from t where id > 1",
            "select w from t where id in (1, 2)",
            "select a from pair where a = 1",
            "select pg_sleep(1) from t where id = 1",
            "select pg_advisory_lock(1)",
            "select (select count(*) from t) from t where id = 1",
            "insert into t values (1, 1, 1, 'x'), (2, 2, 2, 'y')",
            "insert into t select * from t",
            "insert into t values (1, 1, 1, 'x') on conflict do nothing",
            "update t set v = 2 where v = 1",
            "update t set v = (select 1) where id = 1",
            "delete from t where id > 1",
            "delete from t where id = 1 returning pg_sleep(1)",
            "create table u (a int)",
        ];
        assert_eq!(classify(&not_quick), vec![false; not_quick.len()], "{not_quick:?}");
    }
}
