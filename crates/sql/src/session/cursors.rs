//! SQL cursors: `DECLARE name CURSOR FOR query`, `FETCH`, `MOVE` and `CLOSE`, as drivers use
//! them to read a large result in pieces (psycopg's and Django's server-side cursors, psql's
//! FETCH_COUNT, SQLAlchemy's stream_results).
//!
//! A cursor's rows are computed when it is declared, in the declaring statement's snapshot,
//! and kept in the session: the result is what PostgreSQL's (insensitive) cursor returns,
//! and it may be scrolled both ways. A cursor without `WITH HOLD` ends with its transaction;
//! one `WITH HOLD` outlives the commit (and is dropped if that transaction rolls back), as in
//! PostgreSQL. The rows are held in memory whole, as a suspended portal's are.

use std::collections::BTreeMap;

use oxibase_common::{DataType, Result, Value, errinput};
use sqlparser::ast;

use super::{Output, OutputColumn, Prepared, Session};
use crate::bind;
use crate::exec::Row;
use crate::system::CursorInfo;
use crate::types::datetime::now_micros;

/// Marks a `Fetch` statement that was written `MOVE` (sqlparser has no MOVE).
pub(crate) const MOVE_MARK: &str = "__oxibase_move";

/// A declared cursor.
pub(super) struct Cursor {
    /// The DECLARE statement's text (pg_cursors.statement).
    statement: String,
    columns: Vec<OutputColumn>,
    rows: Vec<Row>,
    /// 0 before the first row, 1..=len on a row, len + 1 after the last.
    position: usize,
    hold: bool,
    /// Declared NO SCROLL: it may only move forward.
    forward_only: bool,
    created: i64,
    /// Declared in the transaction now open (a rollback drops it even WITH HOLD).
    in_open_transaction: bool,
    /// How many savepoints were open when it was declared (rolling back to one of them
    /// closes it).
    savepoints: usize,
}

/// The session's cursors by name.
pub(super) type Cursors = BTreeMap<String, Cursor>;

/// Where a FETCH or MOVE goes.
#[derive(Clone, Copy, Debug)]
enum Motion {
    /// Forward this many rows (`None`: all); 0 re-reads the current row.
    Forward(Option<u64>),
    /// Backward this many rows (`None`: all); 0 re-reads the current row.
    Backward(Option<u64>),
    /// To this row (negative: from the end).
    Absolute(i64),
    /// This many rows from the current one.
    Relative(i64),
}

impl Session {
    /// Runs DECLARE, FETCH, MOVE or CLOSE; `None` for any other statement.
    pub(super) fn run_cursor_statement(
        &mut self,
        statement: &ast::Statement,
        sql: &str,
        params: &[Value],
        param_types: &[Option<DataType>],
    ) -> Option<Result<Output>> {
        Some(match statement {
            ast::Statement::Declare { stmts, .. } => self.declare(stmts, sql, params, param_types),
            ast::Statement::Fetch { name, direction, into, .. } => {
                let moving = into.as_ref().is_some_and(|i| i.to_string() == MOVE_MARK);
                self.fetch(&bind::ident(name), direction, moving)
            }
            ast::Statement::Close { cursor } => self.close(cursor),
            _ => return None,
        })
    }

    /// What a prepared DECLARE, FETCH, MOVE or CLOSE takes and returns: DECLARE's parameters
    /// are its query's; FETCH returns its cursor's columns. `None` for other statements.
    pub(super) fn prepare_cursor_statement(
        &mut self,
        sql: &str,
        statement: &ast::Statement,
        param_types: &[Option<DataType>],
    ) -> Option<Result<Prepared>> {
        let prepared = |param_types: Vec<DataType>, columns| Prepared {
            sql: sql.into(),
            statement: Some(statement.clone()),
            param_types,
            columns,
        };
        Some(match statement {
            ast::Statement::Declare { stmts, .. } => {
                let query = match declared_query(stmts) {
                    Ok((_, q)) => ast::Statement::Query(Box::new(q.clone())),
                    Err(e) => return Some(Err(e)),
                };
                self.prepare(&query.to_string(), param_types)
                    .map(|p| prepared(p.param_types, vec![]))
            }
            ast::Statement::Fetch { name, into, .. } => {
                let moving = into.as_ref().is_some_and(|i| i.to_string() == MOVE_MARK);
                // An unknown cursor fails when the FETCH runs, as in PostgreSQL.
                let columns = match self.cursors.get(&bind::ident(name)) {
                    Some(c) if !moving => c.columns.clone(),
                    _ => vec![],
                };
                Ok(prepared(vec![], columns))
            }
            ast::Statement::Close { .. } => Ok(prepared(vec![], vec![])),
            _ => return None,
        })
    }

    /// A declared cursor's columns (a Describe of it as a portal), if it exists.
    pub fn cursor_columns(&self, name: &str) -> Option<Vec<OutputColumn>> {
        self.cursors.get(name).map(|c| c.columns.clone())
    }

    /// Closes a declared cursor (a Close of it as a portal); nothing if there is none.
    pub fn close_cursor(&mut self, name: &str) {
        self.cursors.remove(name);
    }

    /// The cursors pg_cursors lists.
    pub(super) fn cursor_infos(&self) -> Vec<CursorInfo> {
        self.cursors
            .iter()
            .map(|(name, c)| CursorInfo {
                name: name.clone(),
                statement: c.statement.clone(),
                holdable: c.hold,
                scrollable: !c.forward_only,
                created: c.created,
            })
            .collect()
    }

    /// At the end of a transaction: cursors without WITH HOLD close; after a rollback, so do
    /// those the transaction declared.
    pub(super) fn end_cursors(&mut self, committed: bool) {
        self.cursors.retain(|_, c| c.hold && (committed || !c.in_open_transaction));
        for c in self.cursors.values_mut() {
            c.in_open_transaction = false;
        }
    }

    /// ROLLBACK TO the savepoint that leaves `kept` open: cursors declared after it close.
    pub(super) fn rollback_cursors_to(&mut self, kept: usize) {
        self.cursors.retain(|_, c| !c.in_open_transaction || c.savepoints < kept);
    }

    fn declare(
        &mut self,
        stmts: &[ast::Declare],
        sql: &str,
        params: &[Value],
        param_types: &[Option<DataType>],
    ) -> Result<Output> {
        let (declare, query) = declared_query(stmts)?;
        let name = bind::ident(&declare.names[0]);
        if declare.binary == Some(true) {
            return Err(errinput!(FEATURE_NOT_SUPPORTED, "binary cursors are not supported"));
        }
        let hold = declare.hold == Some(true);
        let in_block = self.implicit || self.block.as_ref().is_some_and(|b| b.explicit);
        if !hold && !in_block {
            return Err(errinput!(
                NO_ACTIVE_SQL_TRANSACTION,
                "DECLARE CURSOR can only be used in transaction blocks"
            ));
        }
        if self.cursors.contains_key(&name) {
            let e = errinput!(DUPLICATE_CURSOR, "cursor \"{name}\" already exists");
            return self.finish_statement(Err(e));
        }
        let savepoints = self.block.as_ref().map_or(0, |b| b.savepoints.len());
        let query = ast::Statement::Query(Box::new(query.clone()));
        let text = query.to_string();
        let result = self.in_transaction(|session, txn| {
            session.run_in_transaction(&query, &text, params, param_types, txn)
        });
        let declared = match result {
            Ok(Output::Rows { columns, rows, .. }) => Ok(Cursor {
                statement: sql.to_string(),
                columns,
                rows,
                position: 0,
                hold,
                forward_only: declare.scroll == Some(false),
                created: now_micros(),
                in_open_transaction: true,
                savepoints,
            }),
            Ok(_) => Err(errinput!(
                INVALID_CURSOR_DEFINITION,
                "cursor \"{name}\" must be a SELECT or VALUES query"
            )),
            Err(e) => Err(e),
        };
        // Kept before an autocommit ends (WITH HOLD outside a block), which it outlives.
        let result = declared.map(|cursor| {
            self.cursors.insert(name, cursor);
        });
        self.finish_statement(result)?;
        Ok(Output::Command { tag: "DECLARE CURSOR".into() })
    }

    fn fetch(
        &mut self,
        name: &str,
        direction: &ast::FetchDirection,
        moving: bool,
    ) -> Result<Output> {
        let result = motion(direction).and_then(|motion| {
            let cursor = self.cursors.get_mut(name).ok_or_else(|| {
                errinput!(INVALID_CURSOR_NAME, "cursor \"{name}\" does not exist")
            })?;
            cursor.advance(motion, moving)
        });
        let result = self.finish_statement(result)?;
        Ok(match result {
            (n, None) => Output::Command { tag: format!("MOVE {n}") },
            (n, Some((columns, rows))) => Output::Rows { columns, rows, tag: format!("FETCH {n}") },
        })
    }

    fn close(&mut self, which: &ast::CloseCursor) -> Result<Output> {
        let result = match which {
            ast::CloseCursor::All => {
                self.cursors.clear();
                Ok("CLOSE CURSOR ALL")
            }
            ast::CloseCursor::Specific { name } => {
                let name = bind::ident(name);
                match self.cursors.remove(&name) {
                    Some(_) => Ok("CLOSE CURSOR"),
                    None => Err(errinput!(INVALID_CURSOR_NAME, "cursor \"{name}\" does not exist")),
                }
            }
        };
        let tag = self.finish_statement(result)?;
        Ok(Output::Command { tag: tag.into() })
    }
}

/// The one cursor a DECLARE names and its query.
fn declared_query(stmts: &[ast::Declare]) -> Result<(&ast::Declare, &ast::Query)> {
    match stmts {
        [declare] if declare.names.len() == 1 => match &declare.for_query {
            Some(query) => Ok((declare, query)),
            None => Err(errinput!(SYNTAX_ERROR, "DECLARE CURSOR needs FOR and a query")),
        },
        _ => Err(errinput!(SYNTAX_ERROR, "DECLARE declares one cursor")),
    }
}

/// A FETCH direction as a motion.
fn motion(direction: &ast::FetchDirection) -> Result<Motion> {
    use ast::FetchDirection as D;
    let count = |v: &ast::ValueWithSpan| -> Result<i64> {
        match &v.value {
            ast::Value::Number(n, _) => n
                .parse::<i64>()
                .map_err(|_| errinput!(SYNTAX_ERROR, "FETCH count must be an integer, got {n}")),
            other => Err(errinput!(SYNTAX_ERROR, "FETCH count must be an integer, got {other}")),
        }
    };
    let signed = |n: i64, forward: bool| {
        if (n >= 0) == forward {
            Motion::Forward(Some(n.unsigned_abs()))
        } else {
            Motion::Backward(Some(n.unsigned_abs()))
        }
    };
    Ok(match direction {
        D::Next | D::Forward { limit: None } => Motion::Forward(Some(1)),
        D::Prior | D::Backward { limit: None } => Motion::Backward(Some(1)),
        D::First => Motion::Absolute(1),
        D::Last => Motion::Absolute(-1),
        D::Absolute { limit } => Motion::Absolute(count(limit)?),
        D::Relative { limit } => Motion::Relative(count(limit)?),
        D::Count { limit } | D::Forward { limit: Some(limit) } => signed(count(limit)?, true),
        D::Backward { limit: Some(limit) } => signed(count(limit)?, false),
        D::All | D::ForwardAll => Motion::Forward(None),
        D::BackwardAll => Motion::Backward(None),
    })
}

impl Cursor {
    /// Moves as told; returns how many rows it passed and, unless `moving`, those rows.
    #[allow(clippy::type_complexity)]
    fn advance(
        &mut self,
        motion: Motion,
        moving: bool,
    ) -> Result<(usize, Option<(Vec<OutputColumn>, Vec<Row>)>)> {
        let len = self.rows.len();
        let p = self.position;
        // The rows read, by position (1-based), and where the cursor ends up.
        let (read, end): (Vec<usize>, usize) = match motion {
            Motion::Forward(Some(0)) | Motion::Backward(Some(0)) | Motion::Relative(0) => {
                ((1..=len).contains(&p).then_some(p).into_iter().collect(), p)
            }
            Motion::Forward(n) => {
                let n = n.map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX));
                let last = p.saturating_add(n);
                let read: Vec<usize> = (p + 1..=last.min(len)).collect();
                (read, if last <= len { last } else { len + 1 })
            }
            Motion::Backward(n) => {
                let n = n.map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX));
                let read: Vec<usize> = (p.saturating_sub(n).max(1)..p.min(len + 1)).rev().collect();
                (read, p.saturating_sub(n))
            }
            Motion::Absolute(k) => {
                let target = if k >= 0 { k } else { len as i64 + 1 + k };
                match usize::try_from(target) {
                    Ok(t) if (1..=len).contains(&t) => (vec![t], t),
                    Ok(0) | Err(_) => (vec![], 0),
                    Ok(_) => (vec![], len + 1),
                }
            }
            Motion::Relative(k) => {
                let target = p as i64 + k;
                match usize::try_from(target) {
                    Ok(t) if (1..=len).contains(&t) => (vec![t], t),
                    Ok(0) | Err(_) => (vec![], 0),
                    Ok(_) => (vec![], len + 1),
                }
            }
        };
        let backward = matches!(motion, Motion::Backward(_))
            || (matches!(motion, Motion::Absolute(_) | Motion::Relative(_)) && end < p);
        if self.forward_only && backward {
            return Err(errinput!(
                OBJECT_NOT_IN_PREREQUISITE_STATE,
                "cursor can only scan forward"
            )
            .with_hint("Declare it with SCROLL option to enable backward scan."));
        }
        self.position = end;
        let n = read.len();
        if moving {
            return Ok((n, None));
        }
        let rows = read.into_iter().map(|i| self.rows[i - 1].clone()).collect();
        Ok((n, Some((self.columns.clone(), rows))))
    }
}
