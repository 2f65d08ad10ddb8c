//! The session as the host of a running stored routine: what a guest's SQL runs in.
//!
//! A routine's statement is a *nested command* of the statement that called the routine
//! ([`Transaction::begin_nested`]): it reads the caller's snapshot plus everything the
//! transaction wrote so far, writes into the caller's transaction, and runs under a
//! savepoint so that a failed statement leaves nothing behind when the guest handles the
//! error. Plans are cached per session by SQL text, as the session caches its own.

use std::sync::Arc;
use std::time::Instant;

use oxibase_common::{DataType, Result, Value, errconflict, errinput};
use oxibase_mvcc::Transaction;

use super::{Env, Notice, Output, Session, is_control};
use super::{cacheable, optimize_statement, value_type};
use crate::bind::{Binder, Statement};
use crate::functions::FunctionEnv;
use crate::procedure::{CallResult, Host, LogLevel, ProcedureRuntime, Routine, Scope};
use crate::types::cast::{CastKind, cast};

/// How deep routines may call routines (each level holds a Wasm instance and a native stack).
const MAX_ROUTINE_DEPTH: u32 = 16;

impl Env<'_> {
    /// Finds a routine: in the named schema, or the first on the search path.
    pub(super) fn find_routine(
        &self,
        schema: Option<&str>,
        name: &str,
    ) -> Result<Option<Arc<Routine>>> {
        let catalog = self.session.catalog();
        let schemas = match schema {
            Some(s) => vec![s.to_string()],
            None => self.resolved_search_path(),
        };
        for schema in schemas {
            if let Some(routine) = catalog.routine(self.txn, &schema, name)? {
                return Ok(Some(Arc::new(routine)));
            }
        }
        Ok(None)
    }

    pub(super) fn runtime(&self) -> Option<Arc<dyn ProcedureRuntime>> {
        self.session.db.procedure_runtime()
    }

    /// The owner a SECURITY DEFINER routine runs as (None for one that runs as its caller).
    pub(super) fn definer_of(&self, routine: &Routine) -> Result<Option<String>> {
        if !routine.security_definer {
            return Ok(None);
        }
        let graph = crate::bind::BindEnv::access(self)?;
        let kind = crate::catalog::acl::ObjectKind::Routine;
        let owner = crate::bind::BindEnv::object_acl(self, kind, routine.id)?.owner;
        Ok(Some(graph.name_of(owner)))
    }

    /// Calls a routine with this statement's transaction as its host.
    pub(super) fn call(&self, routine: &Routine, args: &[Value]) -> Result<CallResult> {
        let context = self.session.enter_routine(routine, self.definer_of(routine)?)?;
        let result = self.call_as_invoked(routine, args);
        self.session.leave_routine(context);
        result
    }

    fn call_as_invoked(&self, routine: &Routine, args: &[Value]) -> Result<CallResult> {
        let interpreted = crate::procedure::is_interpreted(&routine.language);
        let runtime = match self.runtime() {
            Some(runtime) => Some(runtime),
            None if interpreted => None,
            None => {
                return Err(errinput!(
                    FEATURE_NOT_SUPPORTED,
                    "function {}() is stored, but this database was opened without the WebAssembly runtime",
                    routine.name
                ));
            }
        };
        self.with_host(|host| match runtime {
            Some(runtime) if !interpreted => runtime.call(routine, args, host),
            _ => crate::procedure::call_interpreted(routine, args, host),
        })
    }

    /// Runs a trigger's function (looked up once per loaded trigger).
    pub(super) fn fire(&self, call: &crate::trigger::TriggerCall) -> Result<Option<Vec<Value>>> {
        let trigger = call.trigger;
        let routine = match trigger.routine.get() {
            Some(r) => r.clone(),
            None => {
                let (schema, name) = &trigger.function;
                let routine = self.find_routine(Some(schema), name)?.ok_or_else(|| {
                    errinput!(UNDEFINED_FUNCTION, "function {schema}.{name}() does not exist")
                })?;
                let _ = trigger.routine.set(routine.clone());
                routine
            }
        };
        let context = self.session.enter_routine(&routine, self.definer_of(&routine)?)?;
        let result = self.with_host(|host| crate::plpgsql::call_trigger(&routine, call, host));
        self.session.leave_routine(context);
        result
    }

    /// Runs `f` with this statement's transaction as a routine's host, one routine level
    /// deeper (refused past [`MAX_ROUTINE_DEPTH`]).
    pub(super) fn with_host<T>(&self, f: impl FnOnce(&mut dyn Host) -> Result<T>) -> Result<T> {
        let depth = self.session.routine_depth.get();
        if depth >= MAX_ROUTINE_DEPTH {
            return Err(errinput!(
                STATEMENT_TOO_COMPLEX,
                "stack depth limit exceeded: routines nested {MAX_ROUTINE_DEPTH} deep"
            )
            .with_hint("A routine (or trigger) probably calls itself without end."));
        }
        self.session.routine_depth.set(depth + 1);
        let result = f(&mut RoutineHost { env: self });
        self.session.routine_depth.set(depth);
        result
    }
}

/// A running routine's view of its caller.
struct RoutineHost<'e, 'a> {
    env: &'e Env<'a>,
}

impl RoutineHost<'_, '_> {
    /// Runs a statement as a nested command under a savepoint.
    fn run(&mut self, sql: &str, params: &[Value], scope: Option<&Scope>) -> Result<Output> {
        self.env.check_interrupt()?;
        let txn = self.env.txn;
        let outer = txn.begin_nested()?;
        let result = txn.savepoint().and_then(|savepoint| {
            let result = self.env.session.run_nested(sql, params, scope, txn, self.env.deadline);
            if result.is_err() {
                txn.rollback_to(&savepoint)?;
            }
            result
        });
        txn.end_nested(outer);
        result
    }
}

impl Host for RoutineHost<'_, '_> {
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<Output> {
        self.run(sql, params, None)
    }

    fn routine(&mut self, schema: Option<&str>, name: &str) -> Result<Option<Arc<Routine>>> {
        crate::bind::BindEnv::routine(self.env, schema, name)
    }

    fn execute_in_scope(&mut self, sql: &str, scope: &Scope, values: &[Value]) -> Result<Output> {
        self.run(sql, values, Some(scope))
    }

    fn evaluate(
        &mut self,
        sql: &str,
        scope: &Scope,
        values: &[Value],
    ) -> Result<Option<(Value, DataType)>> {
        self.env.session.evaluate(sql, scope, values, self.env)
    }

    // Both in a nested command: the calling statement keeps its own command (and so does
    // not see what the routine writes).
    fn savepoint(&mut self) -> Result<oxibase_mvcc::Savepoint> {
        let txn = self.env.txn;
        let outer = txn.begin_nested()?;
        let savepoint = txn.savepoint();
        txn.end_nested(outer);
        savepoint
    }

    fn rollback_to(&mut self, savepoint: &oxibase_mvcc::Savepoint) -> Result<()> {
        let txn = self.env.txn;
        let outer = txn.begin_nested()?;
        let result = txn.rollback_to(savepoint);
        txn.end_nested(outer);
        result
    }

    fn log(&mut self, level: LogLevel, message: &str) {
        let severity = match level {
            LogLevel::Debug => return,
            LogLevel::Info => "INFO",
            LogLevel::Notice => "NOTICE",
            LogLevel::Warning => "WARNING",
        };
        let code = if level == LogLevel::Warning { "01000" } else { "00000" };
        self.env.session.notices.borrow_mut().push(Notice {
            severity,
            code,
            message: message.to_string(),
        });
    }

    fn deadline(&self) -> Option<Instant> {
        self.env.deadline
    }

    fn check_interrupt(&self) -> Result<()> {
        self.env.check_interrupt()
    }

    fn cancel_flag(&self) -> Option<Arc<std::sync::atomic::AtomicBool>> {
        Some(self.env.session.cancel.clone())
    }

    fn written_rows(&self) -> Vec<String> {
        const MAX: usize = 200;
        let txn = self.env.txn;
        let catalog = self.env.session.catalog();
        let zone = crate::types::datetime::Zone::UTC;
        let mut out = Vec::new();
        // Tables by the storage their rows lie under; index entries match none.
        let tables: std::collections::HashMap<_, _> = catalog
            .tables(txn)
            .unwrap_or_default()
            .into_iter()
            .map(|t| (t.storage, t.name))
            .collect();
        for (key, value) in txn.own_writes().unwrap_or_default() {
            let Some(id) = crate::keys::relation_of(&key) else { continue };
            if id < crate::keys::FIRST_USER_ID {
                continue;
            }
            let Some(name) = tables.get(&id) else { continue };
            let row = match value {
                None => "deleted".to_string(),
                Some(bytes) => match oxibase_common::row::decode_row(&bytes) {
                    Ok(values) => crate::types::text::display_row(&values, &zone),
                    Err(_) => "(undecodable)".to_string(),
                },
            };
            out.push(format!("{name}: {row}"));
            if out.len() == MAX {
                out.push("...".to_string());
                break;
            }
        }
        out
    }
}

impl Session {
    /// Finds a stored function or procedure by name (`name` or `schema.name`), as a call in
    /// this session would (the HTTP API uses it to build the call).
    pub fn find_routine(&mut self, name: &str) -> Result<Option<Arc<Routine>>> {
        let (schema, name) = match name.split_once('.') {
            Some((schema, name)) => (Some(schema.to_string()), name.to_string()),
            None => (None, name.to_string()),
        };
        self.with_bind_txn(|session, txn| {
            session.env(txn, None).find_routine(schema.as_deref(), &name)
        })
    }

    /// Runs one statement of a routine in the caller's transaction (already in a nested
    /// command). Text and NULL parameters are untyped: they take the type the statement
    /// needs, as the extended protocol's unspecified parameter types do. A statement of a
    /// routine written in SQL has its `scope`'s values as parameters instead, typed and
    /// named by the scope.
    pub(super) fn run_nested(
        &self,
        sql: &str,
        params: &[Value],
        scope: Option<&Scope>,
        txn: &Transaction,
        deadline: Option<Instant>,
    ) -> Result<Output> {
        let types: Vec<Option<DataType>> = match scope {
            Some(s) => s.types(),
            None => params
                .iter()
                .map(|v| match v {
                    Value::Null | Value::Text(_) => None,
                    v => Some(value_type(v)),
                })
                .collect(),
        };
        let env = self.env(txn, deadline);
        let (bound, param_types) = self.nested_plan(sql, &types, scope, &env)?;
        if let Statement::Set { name, value, local } = bound.as_ref() {
            self.set_setting_value(name, value.as_deref(), *local)?;
            return Ok(Output::Command { tag: "SET".into() });
        }
        let params = params
            .iter()
            .zip(&param_types)
            .map(|(v, t)| match v {
                Value::Text(_) if *t != DataType::Text => {
                    cast(v.clone(), t, CastKind::Explicit, &env.zone)
                }
                v => Ok(v.clone()),
            })
            .collect::<Result<Vec<_>>>()?;
        if let Some(name) = self.lock_write_targets(&bound, &env, txn)? {
            return Err(errconflict!(
                SERIALIZATION_FAILURE,
                "could not serialize access due to concurrent change of the definition of relation \"{name}\""
            ));
        }
        let output = self.execute_bound(&bound, &params, &env, txn, None)?;
        if matches!(output, Output::CopyIn(_) | Output::CopyOut { .. }) {
            return Err(errinput!(FEATURE_NOT_SUPPORTED, "COPY is not allowed in a routine"));
        }
        Ok(output)
    }

    /// [`Host::evaluate`] for a routine running in `env`'s statement.
    pub(super) fn evaluate(
        &self,
        sql: &str,
        scope: &Scope,
        values: &[Value],
        env: &Env,
    ) -> Result<Option<(Value, DataType)>> {
        use crate::plan::{Expr, Node};
        let (bound, _) = self.nested_plan(sql, &scope.types(), Some(scope), env)?;

        let Statement::Query(plan) = bound.as_ref() else { return Ok(None) };
        let Node::Project { input, exprs } = &plan.node else { return Ok(None) };
        let (Node::Values { rows }, [expr]) = (&input.node, exprs.as_slice()) else {
            return Ok(None);
        };
        if !matches!(rows.as_slice(), [row] if row.is_empty()) {
            return Ok(None);
        }
        let mut plain = true;
        expr.walk(&mut |e| plain &= !matches!(e, Expr::Subquery { .. } | Expr::Routine(..)));
        if !plain {
            return Ok(None);
        }
        let ctx = crate::exec::ExecCtx::new(env.txn, env.session.catalog(), env, values);
        let value = crate::exec::eval::eval(expr, &[], &ctx)?;
        Ok(Some((value, plan.columns[0].data_type.clone())))
    }

    /// The plan of a routine's statement, from the plan cache or bound now, with the
    /// parameter types it settled on.
    fn nested_plan(
        &self,
        sql: &str,
        types: &[Option<DataType>],
        scope: Option<&Scope>,
        env: &Env,
    ) -> Result<(Arc<Statement>, Vec<DataType>)> {
        // A routine's statement binds its scope's names: cached per scope (and, in a
        // SECURITY DEFINER routine, per owner: plans are checked for a role).
        let definer = self.definers.borrow().last().cloned();
        let key = match (scope, definer) {
            (Some(s), None) => std::borrow::Cow::Owned(format!("{sql}\0{}", s.key)),
            (None, None) => std::borrow::Cow::Borrowed(sql),
            (scope, Some(owner)) => std::borrow::Cow::Owned(format!(
                "{sql}\0{}\0{owner}",
                scope.map_or("", |s| s.key.as_str())
            )),
        };
        if env.cacheable
            && let Some(cached) = self.plans.borrow().get(&key, types, env.generation)
        {
            return Ok((cached.statement.clone(), cached.param_types.clone()));
        }
        let statement = crate::parse::parse_one(sql)?;
        // SET and RESET of a setting (not of the transaction's modes) run in a routine as
        // set_config does, as PostgreSQL allows.
        if let sqlparser::ast::Statement::Reset(reset) = &statement
            && let sqlparser::ast::Reset::ConfigurationParameter(name) = &reset.reset
        {
            let name = crate::bind::normalize_setting(&name.to_string().to_lowercase());
            return Ok((Arc::new(Statement::Set { name, value: None, local: false }), Vec::new()));
        }
        if matches!(
            &statement,
            sqlparser::ast::Statement::Set(
                sqlparser::ast::Set::SingleAssignment { .. }
                    | sqlparser::ast::Set::SetTimeZone { .. }
                    | sqlparser::ast::Set::SetRole { .. }
                    | sqlparser::ast::Set::SetSessionAuthorization(_)
            )
        ) {
            let bound = Binder::new(env, vec![]).bind(&statement)?;
            if let Statement::Set { name, .. } = &bound
                && !name.starts_with("transaction_")
                && !name.starts_with("__oxibase")
            {
                return Ok((Arc::new(bound), Vec::new()));
            }
        }
        if let Some(scope) = scope
            && is_control(&statement)
        {
            return Err(errinput!(
                FEATURE_NOT_SUPPORTED,
                "{} is not allowed in {}",
                statement_word(&statement),
                scope.what
            ));
        }
        if is_control(&statement) {
            let code = if matches!(
                statement,
                sqlparser::ast::Statement::Commit { .. }
                    | sqlparser::ast::Statement::Rollback { .. }
            ) {
                oxibase_common::SqlState::INVALID_TRANSACTION_TERMINATION
            } else {
                oxibase_common::SqlState::FEATURE_NOT_SUPPORTED
            };
            return Err(oxibase_common::Error::new(
                oxibase_common::ErrorKind::InvalidInput,
                code,
                format!("{} is not allowed in a routine's statements", statement_word(&statement)),
            )
            .with_hint(
                "A routine runs inside its caller's transaction; the caller commits or rolls back.",
            ));
        }
        let mut binder = Binder::new(env, types.to_vec());
        if let Some(s) = scope {
            binder = binder.in_scope(s);
        }
        let bound = Arc::new(optimize_statement(binder.bind(&statement)?));
        let param_types = binder.param_types();
        if env.cacheable && cacheable(&bound) {
            let plan = super::plans::CachedPlan {
                statement: bound.clone(),
                generation: env.generation,
                param_types: param_types.clone(),
            };
            self.plans.borrow_mut().offer(&key, types, plan);
        }
        Ok((bound, param_types))
    }
}

fn statement_word(statement: &sqlparser::ast::Statement) -> String {
    statement.to_string().split_whitespace().next().unwrap_or("this statement").to_uppercase()
}

/// What a routine's SECURITY DEFINER and SET clauses changed, undone when it returns.
pub(super) struct RoutineContext {
    definer: bool,
    saved: Vec<(String, Option<String>)>,
    path_changed: bool,
}

impl Session {
    /// Enters a routine: its owner becomes the current role (SECURITY DEFINER) and its SET
    /// clauses take effect, as in PostgreSQL; None when it has neither.
    pub(super) fn enter_routine(
        &self,
        routine: &Routine,
        definer: Option<String>,
    ) -> Result<Option<RoutineContext>> {
        if definer.is_none() && routine.config.is_empty() {
            return Ok(None);
        }
        let path = self.settings.borrow().search_path.clone();
        let mut saved = Vec::with_capacity(routine.config.len());
        for (name, value) in &routine.config {
            let old = self.settings.borrow().get(name)?;
            let set = self.settings.borrow_mut().set(name, Some(value));
            if let Err(e) = set {
                self.restore_routine_settings(saved);
                return Err(e);
            }
            saved.push((name.clone(), old));
        }
        let path_changed = self.settings.borrow().search_path != path;
        if path_changed {
            self.forget_plans();
        }
        let context = RoutineContext { definer: definer.is_some(), saved, path_changed };
        if let Some(owner) = definer {
            self.definers.borrow_mut().push(owner);
        }
        Ok(Some(context))
    }

    /// Leaves a routine entered with [`Session::enter_routine`].
    pub(super) fn leave_routine(&self, context: Option<RoutineContext>) {
        let Some(context) = context else { return };
        if context.definer {
            self.definers.borrow_mut().pop();
        }
        self.restore_routine_settings(context.saved);
        if context.path_changed {
            self.forget_plans();
        }
    }

    fn restore_routine_settings(&self, saved: Vec<(String, Option<String>)>) {
        for (name, old) in saved.into_iter().rev() {
            let _ = self.settings.borrow_mut().set(&name, old.as_deref());
        }
    }

    /// Forgets the plans bound under another search path.
    fn forget_plans(&self) {
        self.plans.borrow_mut().clear();
        self.lifts.borrow_mut().clear();
        self.relations.clear();
    }
}
