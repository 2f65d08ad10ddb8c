//! `CALL` outside a transaction block: a procedure that may COMMIT and ROLLBACK.
//!
//! As in PostgreSQL, a procedure called on its own (autocommit, not inside BEGIN ... COMMIT)
//! may end the transaction it runs in: `COMMIT` makes its work so far durable and a new
//! transaction starts with its next statement; an error later rolls back only what came
//! after. The session itself is the host here (not one statement's environment), which the
//! coroutine design allows: the guest is suspended while the session serves its request,
//! so the session may end one transaction and begin the next in between.

use std::sync::Arc;
use std::time::Instant;

use oxibase_common::{DataType, Result, Value, errinput};
use sqlparser::ast;

use super::{Notice, Output, Session};
use crate::bind::Statement;
use crate::exec::ExecCtx;
use crate::exec::eval::eval;
use crate::procedure::{CallResult, Host, LogLevel, Routine, Scope};

impl Session {
    /// True when a CALL runs with transaction control: not in a transaction block, nor in a
    /// query of several statements; over the extended protocol, when it is the first
    /// statement since Sync (as PostgreSQL, whose implicit block starts with the second).
    pub(super) fn is_top_level_call(&self, statement: &ast::Statement) -> bool {
        // REASSIGN OWNED and DROP OWNED travel as a CALL; they are DDL.
        let owned = matches!(statement, ast::Statement::Call(f)
            if f.name.0.last().and_then(|p| p.as_ident()).is_some_and(|i| i.value == crate::parse::OWNED_BLOCK));
        !owned
            && matches!(statement, ast::Statement::Call(_))
            && !self.block.as_ref().is_some_and(|b| b.explicit)
            && (!self.implicit
                || (!self.implicit_multi && self.block.as_ref().is_none_or(|b| b.txn.is_none())))
    }

    /// Runs a top-level CALL; the procedure's COMMIT and ROLLBACK end transactions. `sql`
    /// is the statement's text (it keys the plan cache).
    pub(super) fn run_call(
        &mut self,
        statement: &ast::Statement,
        sql: &str,
        params: &[Value],
        param_types: &[Option<DataType>],
    ) -> Result<Output> {
        let deadline = self.settings.borrow().statement_timeout.map(|d| Instant::now() + d);
        let prepared = self.in_transaction(|session, txn| {
            let env = session.env(txn, deadline);
            let bound = session.bind(statement, sql, param_types, &env, true)?;
            let Statement::Call { routine, args } = bound.as_ref() else {
                return Err(errinput!(INTERNAL_ERROR, "CALL bound to another statement"));
            };
            let ctx = ExecCtx::new(txn, session.catalog(), &env, params);
            let values = args.iter().map(|a| eval(a, &[], &ctx)).collect::<Result<Vec<_>>>()?;
            Ok((routine.clone(), values, env.definer_of(routine)?))
        });
        let (routine, values, definer) = match prepared {
            Ok(p) => p,
            Err(e) => return self.finish_statement(Err(e)),
        };
        let result = match self.enter_routine(&routine, definer) {
            Ok(context) => {
                let result = self.call_with_control(&routine, &values, deadline);
                self.leave_routine(context);
                result
            }
            Err(e) => Err(e),
        };
        self.finish_statement(result.map(|r| super::call_output(&routine, r)))
    }

    fn call_with_control(
        &mut self,
        routine: &Arc<Routine>,
        args: &[Value],
        deadline: Option<Instant>,
    ) -> Result<CallResult> {
        let host = &mut SessionHost { session: self, deadline };
        if crate::procedure::is_interpreted(&routine.language) {
            return crate::procedure::call_interpreted(routine, args, host);
        }
        let runtime = host.session.db.procedure_runtime().ok_or_else(|| {
            errinput!(
                FEATURE_NOT_SUPPORTED,
                "procedure {}() is stored, but this database was opened without the WebAssembly runtime",
                routine.name
            )
        })?;
        runtime.call(routine, args, host)
    }
}

/// The session as the host of a top-level procedure.
struct SessionHost<'s> {
    session: &'s mut Session,
    deadline: Option<Instant>,
}

impl SessionHost<'_> {
    /// Runs a statement in the session's transaction under a savepoint.
    fn run(&mut self, sql: &str, params: &[Value], scope: Option<&Scope>) -> Result<Output> {
        let deadline = self.deadline;
        let depth = self.session.routine_depth.get();
        self.session.routine_depth.set(depth + 1);
        let result = self.session.in_transaction(|session, txn| {
            let savepoint = txn.savepoint()?;
            let result = session.run_nested(sql, params, scope, txn, deadline);
            if result.is_err() {
                txn.rollback_to(&savepoint)?;
            }
            result
        });
        self.session.routine_depth.set(depth);
        result
    }
}

impl SessionHost<'_> {
    /// SET TRANSACTION in a procedure called on its own (`sql`, whose first word is
    /// `first`): the modes of the transaction its next statement starts (25001 once that
    /// transaction has run a query, as PostgreSQL). None for any other statement.
    fn set_transaction(&mut self, first: &str, sql: &str) -> Option<Result<Output>> {
        if !first.eq_ignore_ascii_case("set") {
            return None;
        }
        match crate::parse::parse_one(sql.trim_end_matches(';')) {
            Ok(ast::Statement::Set(ast::Set::SetTransaction { modes, session: false, .. })) => {
                Some(self.apply_transaction_modes(&modes))
            }
            _ => None,
        }
    }

    fn apply_transaction_modes(&mut self, modes: &[ast::TransactionMode]) -> Result<Output> {
        let (isolation, read_only) = crate::bind::transaction_modes(modes)?;
        if self.session.block.is_none() {
            let fresh = self.session.new_block(false);
            self.session.block = Some(fresh);
        }
        let block =
            self.session.block.as_mut().ok_or_else(|| errinput!(INTERNAL_ERROR, "no block"))?;
        if block.txn.is_some() && isolation.is_some() {
            return Err(errinput!(
                ACTIVE_SQL_TRANSACTION,
                "SET TRANSACTION ISOLATION LEVEL must be called before any query"
            ));
        }
        super::apply_modes(block, isolation, read_only)?;
        Ok(Output::Command { tag: "SET".into() })
    }
}

impl Host for SessionHost<'_> {
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<Output> {
        self.check_interrupt()?;
        let trimmed = sql.trim().trim_end_matches(';').trim();
        // Only transaction control is the procedure's own; anything else is a statement.
        let first = trimmed.split_ascii_whitespace().next().unwrap_or("");
        if let Some(result) = self.set_transaction(first, trimmed) {
            return result;
        }
        if !first.eq_ignore_ascii_case("commit") && !first.eq_ignore_ascii_case("rollback") {
            return self.run(sql, params, None);
        }
        let words: Vec<String> =
            trimmed.split_ascii_whitespace().map(str::to_ascii_lowercase).collect();
        let (commit, chain) = match words.iter().map(String::as_str).collect::<Vec<_>>().as_slice()
        {
            ["commit"] => (true, false),
            ["rollback"] => (false, false),
            ["commit", "and", "chain"] => (true, true),
            ["rollback", "and", "chain"] => (false, true),
            _ => return self.run(sql, params, None),
        };
        // AND CHAIN: the next transaction keeps this one's isolation level and access mode.
        let options =
            self.session.block.as_ref().map(|b| (b.options.isolation, b.options.read_only));
        if commit {
            self.session.commit_block()?;
        } else {
            self.session.rollback_block();
        }
        if let (true, Some((isolation, read_only))) = (chain, options) {
            let mut next = self.session.new_block(false);
            next.options.isolation = isolation;
            next.options.read_only = read_only;
            self.session.block = Some(next);
        }
        Ok(Output::Command { tag: if commit { "COMMIT" } else { "ROLLBACK" }.into() })
    }

    fn routine(&mut self, schema: Option<&str>, name: &str) -> Result<Option<Arc<Routine>>> {
        let deadline = self.deadline;
        self.session.in_transaction(|session, txn| {
            crate::bind::BindEnv::routine(&session.env(txn, deadline), schema, name)
        })
    }

    fn execute_in_scope(&mut self, sql: &str, scope: &Scope, values: &[Value]) -> Result<Output> {
        self.check_interrupt()?;
        let trimmed = sql.trim();
        let first = trimmed.split_ascii_whitespace().next().unwrap_or("");
        if let Some(result) = self.set_transaction(first, trimmed) {
            return result;
        }
        self.run(sql, values, Some(scope))
    }

    fn evaluate(
        &mut self,
        sql: &str,
        scope: &Scope,
        values: &[Value],
    ) -> Result<Option<(Value, DataType)>> {
        let deadline = self.deadline;
        self.session.in_transaction(|session, txn| {
            let env = session.env(txn, deadline);
            session.evaluate(sql, scope, values, &env)
        })
    }

    fn savepoint(&mut self) -> Result<oxibase_mvcc::Savepoint> {
        self.session.in_transaction(|_, txn| txn.savepoint())
    }

    fn rollback_to(&mut self, savepoint: &oxibase_mvcc::Savepoint) -> Result<()> {
        self.session.in_transaction(|_, txn| txn.rollback_to(savepoint))
    }

    fn log(&mut self, level: LogLevel, message: &str) {
        let (severity, code) = match level {
            LogLevel::Debug => return,
            LogLevel::Info => ("INFO", "00000"),
            LogLevel::Notice => ("NOTICE", "00000"),
            LogLevel::Warning => ("WARNING", "01000"),
        };
        self.session.notices.borrow_mut().push(Notice {
            severity,
            code,
            message: message.to_string(),
        });
    }

    fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    fn check_interrupt(&self) -> Result<()> {
        if self.session.cancel.swap(false, std::sync::atomic::Ordering::SeqCst) {
            return Err(errinput!(QUERY_CANCELED, "canceling statement due to user request"));
        }
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(errinput!(QUERY_CANCELED, "canceling statement due to statement timeout"));
        }
        Ok(())
    }

    fn cancel_flag(&self) -> Option<Arc<std::sync::atomic::AtomicBool>> {
        Some(self.session.cancel.clone())
    }
}
