//! Stored functions and procedures: what the SQL layer knows of them, and the boundary to
//! the runtime that executes them.
//!
//! A routine (`CREATE FUNCTION` or `CREATE PROCEDURE`) is a row of `sys_procedures` holding
//! its signature, its source and the WebAssembly module compiled from it. The SQL layer
//! binds calls to routines like calls to built-in functions, and runs them through a
//! [`ProcedureRuntime`], which the `procedures` crate implements with wasmtime: `sql` never
//! links a Wasm engine (ARCHITECTURE.md).
//!
//! ```text
//!   SELECT add1(v) FROM t          CALL transfer(1, 2, 100)
//!          │                               │
//!   binder: Expr::Procedure        binder: Statement::Call
//!          │                               │
//!   executor ──► runtime.call(def, args, host) ◄──┘
//!                       │  guest asks for SQL
//!                       ▼
//!                host.execute(sql, params) ──► a nested statement in the caller's
//!                                                transaction (Transaction::begin_nested)
//! ```
//!
//! The host is the caller's session and transaction: a routine's statements read the
//! caller's snapshot plus every write of the transaction so far, and write into it, so a
//! routine's effects commit or roll back with its caller and replicate as plain row writes.

use std::sync::Arc;
use std::time::Instant;

use oxibase_common::{DataType, Result, Value};

use crate::keys::RelId;
use crate::session::Output;

/// FUNCTION or PROCEDURE.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoutineKind {
    /// Called in expressions (`SELECT f(x)`) or in FROM; returns a value or rows.
    Function,
    /// Called with `CALL`; returns nothing (or its result row, as PostgreSQL's OUT arguments).
    Procedure,
}

impl RoutineKind {
    /// PostgreSQL's `pg_proc.prokind` code.
    pub fn code(self) -> &'static str {
        match self {
            RoutineKind::Function => "f",
            RoutineKind::Procedure => "p",
        }
    }

    /// The SQL keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            RoutineKind::Function => "FUNCTION",
            RoutineKind::Procedure => "PROCEDURE",
        }
    }
}

/// What a routine returns.
#[derive(Clone, Debug, PartialEq)]
pub enum Returns {
    /// Nothing (procedures, and `RETURNS void`).
    Void,
    /// One value.
    Value(DataType),
    /// `RETURNS SETOF type`: rows of one column.
    SetOf(DataType),
    /// `RETURNS TABLE (name type, ...)`: rows of several columns.
    Table(Vec<(String, DataType)>),
    /// `RETURNS SETOF table`: rows of the table's columns (as it had them at CREATE). Unlike
    /// `TABLE (...)`, its columns are not PL/pgSQL variables.
    SetOfRow(String, Vec<(String, DataType)>),
    /// OUT (and INOUT) parameters: one row of them (`RETURNS record`, or no RETURNS).
    Out(Vec<(String, DataType)>),
    /// `RETURNS trigger`: called only by triggers, with the row as NEW and OLD.
    Trigger,
}

impl Returns {
    /// True when the routine returns rows (callable in FROM).
    pub fn is_set(&self) -> bool {
        matches!(
            self,
            Returns::SetOf(_) | Returns::Table(_) | Returns::SetOfRow(..) | Returns::Out(_)
        )
    }

    /// The result columns of a set-returning routine named `name`.
    pub fn columns(&self, name: &str) -> Vec<(String, DataType)> {
        match self {
            Returns::Void | Returns::Trigger => vec![],
            Returns::Value(t) | Returns::SetOf(t) => vec![(name.to_string(), t.clone())],
            Returns::Table(columns) | Returns::SetOfRow(_, columns) | Returns::Out(columns) => {
                columns.clone()
            }
        }
    }

    /// The types of what the routine returns: its value's, or its columns'.
    pub fn types(&self) -> Vec<DataType> {
        match self {
            Returns::Void | Returns::Trigger => Vec::new(),
            Returns::Value(t) | Returns::SetOf(t) => vec![t.clone()],
            Returns::Table(columns) | Returns::SetOfRow(_, columns) | Returns::Out(columns) => {
                columns.iter().map(|(_, t)| t.clone()).collect()
            }
        }
    }

    /// The type as `pg_get_function_result` shows it.
    pub fn sql(&self) -> String {
        self.sql_with(&DataType::name)
    }

    /// [`Returns::sql`] with the types named by `name` (as the catalog functions name them,
    /// qualified where the search path does not reach them).
    pub fn sql_with(&self, name: &dyn Fn(&DataType) -> String) -> String {
        match self {
            Returns::Void => "void".into(),
            Returns::Trigger => "trigger".into(),
            Returns::Value(t) => name(t),
            Returns::SetOf(t) => format!("SETOF {}", name(t)),
            Returns::SetOfRow(table, _) => format!("SETOF {table}"),
            Returns::Out(columns) if columns.len() == 1 => name(&columns[0].1),
            Returns::Out(_) => "record".into(),
            Returns::Table(columns) => format!(
                "TABLE({})",
                columns
                    .iter()
                    .map(|(n, t)| format!("{n} {}", name(t)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

/// A stored function or procedure, as `sys_procedures` holds it.
#[derive(Clone, Debug)]
pub struct Routine {
    /// Its object id.
    pub id: RelId,
    /// Its schema.
    pub schema: String,
    /// Its name.
    pub name: String,
    /// FUNCTION or PROCEDURE.
    pub kind: RoutineKind,
    /// Argument names (empty for unnamed ones) and types.
    pub args: Vec<(String, DataType)>,
    /// Each argument's DEFAULT, as SQL (empty, or one per argument: trailing ones only).
    pub defaults: Vec<Option<String>>,
    /// Which arguments are a procedure's OUT parameters (empty when none is): a call passes
    /// a value for each (PostgreSQL 14's CALL p(1, NULL)), which the body does not see.
    pub out_args: Vec<bool>,
    /// What it returns.
    pub returns: Returns,
    /// The language it was written in: wat, wasm, rust, typescript.
    pub language: String,
    /// The source as written (hex for a binary module).
    pub source: String,
    /// The compiled WebAssembly module.
    pub module: Arc<Vec<u8>>,
    /// The module's SHA-256, hex: the key of the runtime's module cache.
    pub hash: String,
    /// STRICT (RETURNS NULL ON NULL INPUT): a NULL argument gives NULL without a call.
    pub strict: bool,
    /// `pg_proc.provolatile`: i(mmutable), s(table) or v(olatile).
    pub volatility: char,
    /// SECURITY DEFINER: runs with its owner's privileges.
    pub security_definer: bool,
    /// Its own settings (`SET name = value` / `FROM CURRENT`), in force while it runs.
    pub config: Vec<(String, String)>,
    /// The runtime's own state for this routine (its compiled module), kept with the
    /// routine so that a call through a cached plan finds it without a lookup.
    pub runtime_state: std::sync::OnceLock<Arc<dyn std::any::Any + Send + Sync>>,
}

/// Routines are the same when they are the same version of the same object.
impl PartialEq for Routine {
    fn eq(&self, other: &Routine) -> bool {
        self.id == other.id && self.hash == other.hash && self.name == other.name
    }
}

impl Eq for Routine {}

impl Routine {
    /// The command tag of a call: `CALL`, or `DO` for a DO block.
    pub fn call_tag(&self) -> &'static str {
        if self.id == 0 && self.name == "inline_code_block" { "DO" } else { "CALL" }
    }

    /// `name(type, ...)`, as PostgreSQL names a routine in messages.
    pub fn signature(&self) -> String {
        let types: Vec<String> = self.args.iter().map(|(_, t)| t.name()).collect();
        format!("{}({})", self.name, types.join(", "))
    }
}

/// The names a statement of a routine written in SQL (LANGUAGE sql or plpgsql) gives its
/// parameters: a LANGUAGE sql routine's arguments, or the PL/pgSQL variables in scope. A
/// column of the statement's tables wins over a variable of the same name.
#[derive(Clone, Debug)]
pub struct Scope {
    /// Tells this scope's plans apart from other scopes' plans of the same SQL text in the
    /// session's plan cache.
    pub key: String,
    /// `$1`, `$2`, ...: the type of each and the name that refers to it (innermost last).
    pub vars: Vec<ScopeVar>,
    /// What runs the statements, for messages ("an SQL function", "a PL/pgSQL function").
    pub what: &'static str,
    /// True when a name that is both a column and a variable is an error (PL/pgSQL);
    /// false when the column wins (LANGUAGE sql).
    pub names_conflict: bool,
}

/// One parameter of a [`Scope`].
#[derive(Clone, Debug)]
pub struct ScopeVar {
    /// The qualifier that may name it: the routine (`f.arg`), a block label, or the record
    /// variable it is a field of.
    pub qualifier: Option<String>,
    /// Its name (empty: unnamed, only `$n` reaches it).
    pub name: String,
    /// True when the bare name reaches it (false for a record's fields).
    pub bare: bool,
    /// Its type.
    pub ty: DataType,
}

impl Scope {
    /// The parameter `qualifier.name` (or a bare `name`) refers to, innermost first.
    pub fn position(&self, qualifier: Option<&str>, name: &str) -> Option<usize> {
        self.vars.iter().rposition(|v| {
            !v.name.is_empty()
                && v.name == name
                && match qualifier {
                    Some(q) => v.qualifier.as_deref() == Some(q),
                    None => v.bare,
                }
        })
    }

    /// The parameter types, `$1` first.
    pub fn types(&self) -> Vec<Option<DataType>> {
        self.vars.iter().map(|v| Some(v.ty.clone())).collect()
    }
}

/// True for the languages the SQL layer runs itself (sql, plpgsql): no Wasm module.
pub fn is_interpreted(language: &str) -> bool {
    language == crate::sql_routine::LANGUAGE || language == crate::plpgsql::LANGUAGE
}

/// Calls a routine written in sql or plpgsql.
pub fn call_interpreted(
    routine: &Routine,
    args: &[Value],
    host: &mut dyn Host,
) -> Result<CallResult> {
    if routine.language == crate::plpgsql::LANGUAGE {
        crate::plpgsql::call(routine, args, host)
    } else {
        crate::sql_routine::call(routine, args, host)
    }
}

/// What a call produced.
#[derive(Clone, Debug, PartialEq)]
pub enum CallResult {
    /// A value (NULL for a routine that returned none).
    Value(Value),
    /// Rows, for a set-returning routine.
    Rows(Vec<Vec<Value>>),
}

/// How loud a message a routine logs is (PostgreSQL's RAISE levels).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogLevel {
    /// DEBUG: not sent to the client.
    Debug,
    /// INFO
    Info,
    /// NOTICE
    Notice,
    /// WARNING
    Warning,
}

/// What a running routine may ask of its caller: the session and transaction that called it.
///
/// NB: methods are called between steps of the guest, never re-entrantly.
pub trait Host {
    /// Runs one statement with parameters inside the caller's transaction. Text parameters
    /// are untyped literals: they take the type their place in the statement needs.
    /// A failed statement leaves no trace (it runs under a savepoint), so the routine may
    /// handle the error and go on.
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<Output>;
    /// Runs one statement of a routine written in SQL (see [`crate::sql_routine`] and
    /// [`crate::plpgsql`]) inside the caller's transaction: `$1`, `$2`, ... are `values`,
    /// of the scope's types, also named by its names. Like [`Host::execute`], a failed
    /// statement leaves no trace.
    fn execute_in_scope(&mut self, sql: &str, scope: &Scope, values: &[Value]) -> Result<Output> {
        let _ = (sql, values);
        Err(oxibase_common::errinput!(FEATURE_NOT_SUPPORTED, "{} cannot run here", scope.what))
    }
    /// Evaluates `SELECT expr` directly when it is a plain expression (no table, subquery or
    /// routine call: nothing to read, write or isolate), without a nested statement: the
    /// value and its type, or None to run it as a statement instead.
    fn evaluate(
        &mut self,
        sql: &str,
        scope: &Scope,
        values: &[Value],
    ) -> Result<Option<(Value, DataType)>> {
        let _ = (sql, scope, values);
        Ok(None)
    }
    /// Looks up a stored routine by optional schema and name along the caller's search path
    /// (PL/pgSQL's CALL needs the procedure's parameters to store its OUT values).
    fn routine(&mut self, schema: Option<&str>, name: &str) -> Result<Option<Arc<Routine>>> {
        let _ = (schema, name);
        Ok(None)
    }
    /// Marks the transaction's state, for a PL/pgSQL block with an EXCEPTION clause.
    fn savepoint(&mut self) -> Result<oxibase_mvcc::Savepoint> {
        Err(oxibase_common::errinput!(FEATURE_NOT_SUPPORTED, "savepoints cannot be taken here"))
    }
    /// Undoes every write and row lock since `savepoint`.
    fn rollback_to(&mut self, savepoint: &oxibase_mvcc::Savepoint) -> Result<()> {
        let _ = savepoint;
        Err(oxibase_common::errinput!(FEATURE_NOT_SUPPORTED, "savepoints cannot be taken here"))
    }
    /// Sends a message to the client (or the server log, for DEBUG).
    fn log(&mut self, level: LogLevel, message: &str);
    /// When the call must stop: the statement's `statement_timeout`.
    fn deadline(&self) -> Option<Instant>;
    /// An error if the statement was cancelled or ran past its deadline.
    fn check_interrupt(&self) -> Result<()>;
    /// The session's cancel flag (set by a CancelRequest), for checks without the host.
    fn cancel_flag(&self) -> Option<std::sync::Arc<std::sync::atomic::AtomicBool>> {
        None
    }
    /// The table rows the caller's transaction has written so far, as text (`table:
    /// (values)`, or `table: deleted`), for the debugger.
    fn written_rows(&self) -> Vec<String> {
        Vec::new()
    }
}

/// Compiles and runs routines. Implemented by the `procedures` crate (wasmtime).
///
/// Contract: `compile` and `check` are deterministic for the same input; `call` runs on the
/// calling thread, returns only after the guest has finished (or was stopped), and leaves
/// the host's transaction usable whatever the guest did (an error is returned, never a
/// panic, for any module, input or trap).
pub trait ProcedureRuntime: Send + Sync {
    /// Compiles a routine's source (in its language, for its signature) into a WebAssembly
    /// module (42P13 with the compiler's messages on an error; 0A000 naming what to install
    /// when a compiler is missing). `routine.module` is not read.
    fn compile(&self, routine: &Routine) -> Result<Vec<u8>>;
    /// Checks that a routine's module can run: it validates, imports only what the host
    /// offers, and exports a function its signature can call (42P13 otherwise).
    fn check(&self, routine: &Routine) -> Result<()>;
    /// Calls a routine with its arguments (already of the declared types).
    fn call(&self, routine: &Routine, args: &[Value], host: &mut dyn Host) -> Result<CallResult>;
    /// How many modules the runtime has compiled to machine code since it started (checks
    /// at CREATE and compilations for calls), for monitoring.
    fn modules_compiled(&self) -> u64 {
        0
    }
}
