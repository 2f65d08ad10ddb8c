//! Sessions: a client's connection state, and where statements run.
//!
//! ```text
//!   SQL ─parse─► AST ─┬─ BEGIN/COMMIT/SAVEPOINT/SET/SHOW/PREPARE ──► session state
//!                     └─ bind ─► optimize ─► execute, inside the session's transaction
//! ```
//!
//! A session is always in one of three transaction states, as PostgreSQL reports them in
//! ReadyForQuery: idle (autocommit: each statement is its own transaction), in a block
//! (after BEGIN), or failed (an error in a block: everything but ROLLBACK is refused with
//! 25P02 until the block ends). Several statements sent in one simple query, or between two
//! Syncs of the extended protocol, form an implicit block that commits at the end.
//!
//! The transaction itself starts at the first statement that needs it, so a REPEATABLE
//! READ snapshot is taken by the first query after BEGIN, as in PostgreSQL.
//!
//! Bound plans are cached per session by SQL text (from the second time a text is bound),
//! tables by name, and each table's referencing foreign keys by its id; all are valid for
//! one catalog generation (see [`crate::database`]) and are bypassed by a transaction that
//! changed the catalog itself or whose snapshot predates the last catalog change.

mod call;
mod concurrent;
mod cursors;
mod host;
mod lift;
mod plans;
mod quick;

pub(crate) use cursors::MOVE_MARK;
pub use lift::LiteralLifting;

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use oxibase_common::{DataType, Error, Result, Value, errconflict, errinput};
use oxibase_mvcc::{Isolation, LockMode, LockWait, Savepoint, Transaction, TxnOptions};
use sqlparser::ast;

use crate::bind::{self, BindEnv, Binder, CopyStatement, Relation, Statement};
use crate::catalog::{Catalog, RelKind};
use crate::database::Database;
use crate::exec::{self, ExecCtx, Row, SessionEnv};
use crate::functions::{FunctionEnv, SequenceOp, SessionValue};
use crate::keys::RelId;
use crate::optimize::optimize;
use crate::plan::{Column, Plan};
use crate::settings::{Settings, isolation_name};
use crate::system::{CatalogSnapshot, SessionInfo, SystemTable};
use crate::types::cast::{CastKind, cast};
use crate::types::datetime::{Zone, now_micros};
use oxibase_common::worker;

/// A result column.
#[derive(Clone, Debug, PartialEq)]
pub struct OutputColumn {
    /// Its name.
    pub name: String,
    /// Its type.
    pub data_type: DataType,
}

/// What a statement produced.
#[derive(Debug)]
pub enum Output {
    /// Rows (a query, or DML with RETURNING), with the command tag (`SELECT 3`,
    /// `INSERT 0 1`).
    Rows {
        /// The columns.
        columns: Vec<OutputColumn>,
        /// The rows.
        rows: Vec<Row>,
        /// The command tag.
        tag: String,
    },
    /// A command without rows (`CREATE TABLE`, `UPDATE 5`, `BEGIN`).
    Command {
        /// The command tag.
        tag: String,
    },
    /// COPY ... FROM STDIN: the session waits for the data ([`Session::copy_in`]).
    CopyIn(PendingCopy),
    /// COPY ... TO STDOUT: the data, ready to send.
    CopyOut {
        /// Columns per row.
        columns: usize,
        /// The formatted data.
        data: String,
        /// The command tag (`COPY 3`).
        tag: String,
    },
    /// An empty query string.
    Empty,
}

impl Output {
    /// The command tag (empty for an empty query or a pending COPY).
    pub fn tag(&self) -> &str {
        match self {
            Output::Rows { tag, .. } | Output::Command { tag } | Output::CopyOut { tag, .. } => tag,
            Output::CopyIn(_) | Output::Empty => "",
        }
    }

    /// The rows, for a statement that returned some (empty otherwise).
    pub fn rows(&self) -> &[Row] {
        match self {
            Output::Rows { rows, .. } => rows,
            _ => &[],
        }
    }

    /// The number of rows a command affected, from its tag (`UPDATE 5` is 5).
    pub fn count(&self) -> u64 {
        self.tag().rsplit(' ').next().and_then(|n| n.parse().ok()).unwrap_or(0)
    }
}

/// Converts a SQL value to a Rust value ([`Output::get`]).
pub trait FromValue: Sized {
    /// Converts, or fails with 42804 (datatype_mismatch) / 22004 (NULL into a non-Option).
    fn from_value(value: &Value) -> Result<Self>;
}

fn mismatch(value: &Value, want: &str) -> Error {
    errinput!(DATATYPE_MISMATCH, "cannot read a {} value as {want}", value.type_name())
}

fn not_null(value: &Value, want: &str) -> Result<()> {
    if value.is_null() {
        return Err(errinput!(NULL_VALUE_NOT_ALLOWED, "NULL read as {want}; use Option<{want}>"));
    }
    Ok(())
}

impl FromValue for i64 {
    fn from_value(value: &Value) -> Result<Self> {
        not_null(value, "i64")?;
        match value {
            Value::Int2(v) => Ok(i64::from(*v)),
            Value::Int4(v) => Ok(i64::from(*v)),
            Value::Int8(v) => Ok(*v),
            other => Err(mismatch(other, "i64")),
        }
    }
}

impl FromValue for i32 {
    fn from_value(value: &Value) -> Result<Self> {
        let v = i64::from_value(value)?;
        i32::try_from(v)
            .map_err(|_| errinput!(NUMERIC_VALUE_OUT_OF_RANGE, "{v} does not fit in i32"))
    }
}

impl FromValue for f64 {
    fn from_value(value: &Value) -> Result<Self> {
        not_null(value, "f64")?;
        match value {
            Value::Float4(v) => Ok(f64::from(*v)),
            Value::Float8(v) => Ok(*v),
            Value::Int2(_) | Value::Int4(_) | Value::Int8(_) | Value::Numeric(_) => {
                Ok(crate::types::compare::to_f64(value))
            }
            other => Err(mismatch(other, "f64")),
        }
    }
}

impl FromValue for bool {
    fn from_value(value: &Value) -> Result<Self> {
        not_null(value, "bool")?;
        match value {
            Value::Bool(b) => Ok(*b),
            other => Err(mismatch(other, "bool")),
        }
    }
}

impl FromValue for String {
    fn from_value(value: &Value) -> Result<Self> {
        not_null(value, "String")?;
        match value {
            Value::Text(s) | Value::Json(s) | Value::Jsonb(s) => Ok(s.clone()),
            other => Ok(crate::types::text::format_value(other, &Zone::UTC).unwrap_or_default()),
        }
    }
}

impl FromValue for Vec<u8> {
    fn from_value(value: &Value) -> Result<Self> {
        not_null(value, "Vec<u8>")?;
        match value {
            Value::Bytea(b) => Ok(b.clone()),
            other => Err(mismatch(other, "Vec<u8>")),
        }
    }
}

impl FromValue for Value {
    fn from_value(value: &Value) -> Result<Self> {
        Ok(value.clone())
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(value: &Value) -> Result<Self> {
        if value.is_null() { Ok(None) } else { T::from_value(value).map(Some) }
    }
}

/// A column named by position or by name.
pub trait ColumnIndex {
    /// The column's position in the output.
    fn position(&self, columns: &[OutputColumn]) -> Result<usize>;
}

impl ColumnIndex for usize {
    fn position(&self, columns: &[OutputColumn]) -> Result<usize> {
        if *self < columns.len() {
            Ok(*self)
        } else {
            Err(errinput!(
                UNDEFINED_COLUMN,
                "column {self} is out of range ({} columns)",
                columns.len()
            ))
        }
    }
}

impl ColumnIndex for &str {
    fn position(&self, columns: &[OutputColumn]) -> Result<usize> {
        columns
            .iter()
            .position(|c| c.name == *self)
            .ok_or_else(|| errinput!(UNDEFINED_COLUMN, "column \"{self}\" is not in the result"))
    }
}

impl Output {
    /// The columns of a result with rows.
    pub fn columns(&self) -> &[OutputColumn] {
        match self {
            Output::Rows { columns, .. } => columns,
            _ => &[],
        }
    }

    /// A value of the result, converted: `out.get::<i64>(0, "id")`.
    pub fn get<T: FromValue>(&self, row: usize, column: impl ColumnIndex) -> Result<T> {
        let index = column.position(self.columns())?;
        let row = self.rows().get(row).ok_or_else(|| {
            errinput!(
                INVALID_PARAMETER_VALUE,
                "row {row} is out of range ({} rows)",
                self.rows().len()
            )
        })?;
        T::from_value(&row[index])
    }
}

/// A COPY FROM STDIN waiting for its data.
#[derive(Debug)]
pub struct PendingCopy {
    statement: Box<CopyStatement>,
}

impl PendingCopy {
    /// The number of columns each row carries.
    pub fn columns(&self) -> usize {
        self.statement.columns.len()
    }

    /// Whether the data is CSV (else PostgreSQL's text format).
    pub fn csv(&self) -> bool {
        self.statement.csv
    }

    /// Whether the data is in PostgreSQL's binary COPY format, which the wire layer decodes
    /// (with [`PendingCopy::column_types`]) and hands over with [`Session::copy_in_rows`].
    pub fn binary(&self) -> bool {
        self.statement.binary
    }

    /// The types of the columns each row carries, in order.
    pub fn column_types(&self) -> Vec<DataType> {
        let Some(table) = &self.statement.table else { return Vec::new() };
        self.statement.columns.iter().map(|&c| table.columns[c].data_type.clone()).collect()
    }
}

/// A message for the client that is not an error.
#[derive(Clone, Debug, PartialEq)]
pub struct Notice {
    /// NOTICE or WARNING.
    pub severity: &'static str,
    /// The SQLSTATE.
    pub code: &'static str,
    /// The message.
    pub message: String,
}

/// The transaction state, as ReadyForQuery reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxnStatus {
    /// Not in a transaction block (`I`).
    Idle,
    /// In a transaction block (`T`).
    InBlock,
    /// In a failed transaction block (`E`).
    Failed,
}

/// A statement prepared for repeated execution (the extended protocol's Parse, or SQL
/// PREPARE).
#[derive(Clone, Debug)]
pub struct Prepared {
    /// The SQL text.
    pub sql: String,
    statement: Option<ast::Statement>,
    /// The parameter types (declared by the client, or inferred from use).
    pub param_types: Vec<DataType>,
    /// The result columns (empty for a statement without rows).
    pub columns: Vec<OutputColumn>,
}

/// The open transaction block.
struct Block {
    /// Started lazily, by the first statement that needs it.
    txn: Option<Transaction>,
    /// Tables this transaction holds the writer's lock on (see `lock_for_write`).
    locked_relations: RefCell<HashSet<RelId>>,
    options: TxnOptions,
    /// BEGIN was given (an implicit or autocommit block ends after its statements).
    explicit: bool,
    aborted: bool,
    savepoints: Vec<(String, Savepoint)>,
    /// Settings at the start, restored if the block rolls back.
    /// Taken at the first SET in the block (so autocommit statements copy nothing).
    saved_settings: RefCell<Option<Settings>>,
    /// The transaction changed the catalog.
    did_ddl: Cell<bool>,
    /// When it started (PostgreSQL micros), for now().
    started_at: i64,
    /// A COPY FROM STDIN is waiting for data.
    copy_pending: bool,
    /// NOTIFY (channel, payload) pairs, sent at commit.
    notifies: RefCell<Vec<(String, String)>>,
    /// LISTEN / UNLISTEN, applied at commit.
    listens: RefCell<Vec<crate::notify::ListenOp>>,
    /// Foreign key checks deferred to the commit.
    deferred: RefCell<Vec<crate::exec::storage::DeferredCheck>>,
    /// SET CONSTRAINTS in this transaction: ALL, then by name (true: deferred).
    constraint_modes: RefCell<(Option<bool>, HashMap<String, bool>)>,
}

/// A table's referencing foreign keys, with the tables that own them.
type Referencing = Arc<Vec<(crate::catalog::Table, crate::catalog::Constraint)>>;

/// What a session read from the catalog, each entry valid for the catalog generation it was
/// read in (see [`Session::cache_state`]).
struct CatalogCache<K, V> {
    entries: RefCell<HashMap<K, (u64, V)>>,
}

impl<K: Eq + std::hash::Hash, V: Clone> CatalogCache<K, V> {
    /// How many entries a session keeps before it starts over.
    const LIMIT: usize = 4096;

    fn new() -> Self {
        CatalogCache { entries: RefCell::new(HashMap::new()) }
    }

    fn get(&self, key: &K, generation: u64) -> Option<V> {
        let entries = self.entries.borrow();
        entries.get(key).filter(|(g, _)| *g == generation).map(|(_, v)| v.clone())
    }

    fn insert(&self, key: K, generation: u64, value: V) {
        let mut entries = self.entries.borrow_mut();
        if entries.len() >= Self::LIMIT {
            entries.clear();
        }
        entries.insert(key, (generation, value));
    }

    fn clear(&self) {
        self.entries.borrow_mut().clear();
    }
}

/// A client's session.
pub struct Session {
    db: Database,
    pid: i32,
    secret: i32,
    user: String,
    /// What pg_stat_activity shows for this session (shared with the database's list).
    activity: Arc<parking_lot::Mutex<crate::system::SessionInfo>>,
    settings: RefCell<Settings>,
    /// Values to restore at the end of the transaction for SET LOCAL, by name.
    local_saved: RefCell<Vec<(String, Option<String>)>>,
    block: Option<Block>,
    /// Running a batch (several statements of one query, or messages until Sync).
    implicit: bool,
    /// The batch is several statements of one query, which PostgreSQL runs as one
    /// transaction block from the first (messages until Sync become one only with their
    /// second statement).
    implicit_multi: bool,
    prepared: HashMap<String, Prepared>,
    /// DECLAREd cursors.
    cursors: cursors::Cursors,
    plans: RefCell<plans::PlanCache>,
    /// Keys of statements whose integer literals were lifted (see [`lift`]).
    lifts: RefCell<lift::LiftCache>,
    /// Relation lookups by (schema, name); None: no such relation.
    relations: CatalogCache<(String, String), Option<Relation>>,
    /// The foreign keys referencing each table: read by every UPDATE and DELETE of a table,
    /// so not scanned from the catalog each time.
    referencing: CatalogCache<RelId, Referencing>,
    /// The roles, memberships and default privileges privilege checks read.
    access: CatalogCache<(), Arc<crate::catalog::acl::RoleGraph>>,
    /// Objects' owners and ACLs, by (`sys_acl` kind, id).
    acls: CatalogCache<(&'static str, RelId), crate::catalog::acl::Acl>,
    /// The views' columns as pg_attribute lists them (each view bound), by the role that
    /// bound them (it lists the views it may read).
    view_tables: CatalogCache<String, Arc<Vec<crate::catalog::Table>>>,
    /// The owners of the SECURITY DEFINER routines running, innermost last: the current
    /// role while they run.
    definers: RefCell<Vec<String>>,
    currval: RefCell<HashMap<RelId, i64>>,
    lastval: Cell<Option<i64>>,
    notices: RefCell<Vec<Notice>>,
    parameter_changes: RefCell<Vec<(String, String)>>,
    cancel: Arc<AtomicBool>,
    /// Set by pg_terminate_backend.
    terminate: Arc<AtomicBool>,
    /// The session asked for its temporary schema (`pg_temp_<pid>`): it is searched first,
    /// and dropped when the session ends.
    temp_schema: Cell<bool>,
    /// How deep stored routines are calling routines right now.
    routine_depth: Cell<u32>,
    /// The session listens on some channel (after its committed LISTENs and UNLISTENs).
    listening: Cell<bool>,
}

impl Session {
    pub(crate) fn new(db: Database, user: &str) -> Session {
        let cancel = Arc::new(AtomicBool::new(false));
        let info = SessionInfo {
            user: user.to_string(),
            state: "idle".into(),
            backend_start: now_micros(),
            ..Default::default()
        };
        let terminate = Arc::new(AtomicBool::new(false));
        let (pid, secret, activity) = db.register(info, cancel.clone(), terminate.clone());
        let settings = Settings::default();
        let mut session = Session {
            db,
            pid,
            secret,
            user: user.to_string(),
            activity,
            settings: RefCell::new(settings),
            local_saved: RefCell::new(Vec::new()),
            block: None,
            implicit: false,
            implicit_multi: false,
            prepared: HashMap::new(),
            cursors: cursors::Cursors::new(),
            plans: RefCell::new(plans::PlanCache::default()),
            lifts: RefCell::new(lift::LiftCache::default()),
            relations: CatalogCache::new(),
            referencing: CatalogCache::new(),
            access: CatalogCache::new(),
            acls: CatalogCache::new(),
            view_tables: CatalogCache::new(),
            definers: RefCell::new(Vec::new()),
            currval: RefCell::new(HashMap::new()),
            lastval: Cell::new(None),
            notices: RefCell::new(Vec::new()),
            parameter_changes: RefCell::new(Vec::new()),
            cancel,
            terminate,
            temp_schema: Cell::new(false),
            listening: Cell::new(false),
            routine_depth: Cell::new(0),
        };
        session.settings.get_mut().force("session_authorization", user);
        let superuser = session.role_is_superuser(user).unwrap_or(false);
        session.settings.get_mut().force("is_superuser", if superuser { "on" } else { "off" });
        session
    }

    /// Whether the session's user may connect: CONNECT on the database (PUBLIC holds it
    /// until revoked), as PostgreSQL checks at login (42501).
    pub fn check_connect(&self) -> Result<()> {
        self.with_read_txn(|txn| {
            let graph = crate::catalog::acl::RoleGraph::load(self.db.catalog(), txn)?;
            let role = graph.role(&self.user).ok_or_else(|| {
                errinput!(
                    INVALID_AUTHORIZATION_SPECIFICATION,
                    "role \"{}\" does not exist",
                    self.user
                )
            })?;
            let name = self.db.name().to_string();
            let object = crate::privileges::AclObject {
                kind: crate::catalog::acl::ObjectKind::Database,
                id: crate::system::DATABASE_OID as RelId,
                label: "database",
                name: &name,
            };
            let acl = self.db.catalog().object_acl(txn, object.kind, object.id)?;
            let held = crate::privileges::privileges_of(&graph, role.id, &object, &acl);
            if held & crate::catalog::acl::CONNECT == 0 {
                return Err(errinput!(
                    INSUFFICIENT_PRIVILEGE,
                    "permission denied for database \"{name}\""
                )
                .with_detail("User does not have CONNECT privilege."));
            }
            Ok(())
        })
    }

    /// The current role (`current_user`): SET ROLE's, else the session user.
    pub(crate) fn current_user(&self) -> String {
        if let Some(owner) = self.definers.borrow().last() {
            return owner.clone();
        }
        let role = self.settings.borrow().get("role").ok().flatten();
        match role {
            Some(role) if role != "none" => role,
            _ => self.session_user(),
        }
    }

    /// The session user (`session_user`): SET SESSION AUTHORIZATION's, else the user who
    /// connected.
    pub(crate) fn session_user(&self) -> String {
        match self.settings.borrow().get("session_authorization").ok().flatten() {
            Some(user) if !user.is_empty() => user,
            _ => self.user.clone(),
        }
    }

    /// Runs `f` with the block's transaction, or a short read-only one.
    fn with_read_txn<T>(&self, f: impl FnOnce(&Transaction) -> Result<T>) -> Result<T> {
        if let Some(Block { txn: Some(txn), .. }) = &self.block {
            return f(txn);
        }
        let txn = self.db.store().begin(TxnOptions {
            isolation: Isolation::ReadCommitted,
            read_only: true,
            ..Default::default()
        })?;
        let result = f(&txn);
        let _ = txn.rollback();
        result
    }

    fn role_is_superuser(&self, name: &str) -> Result<bool> {
        self.with_read_txn(|txn| {
            Ok(self.db.catalog().role(txn, name)?.is_some_and(|r| r.superuser))
        })
    }

    /// SET ROLE's check: the role exists and the session user is a member of it (or a
    /// superuser), as PostgreSQL requires.
    fn check_set_role(&self, value: Option<&str>) -> Result<()> {
        let Some(target) = value.filter(|v| !v.eq_ignore_ascii_case("none")) else {
            return Ok(());
        };
        let session_user = self.session_user();
        self.with_read_txn(|txn| {
            let graph = crate::catalog::acl::RoleGraph::load(self.db.catalog(), txn)?;
            let role = graph
                .role(target)
                .ok_or_else(|| errinput!(UNDEFINED_OBJECT, "role \"{target}\" does not exist"))?;
            let me = graph.role(&session_user);
            if me.is_some_and(|me| me.superuser || graph.member_of(me.id).contains(&role.id)) {
                return Ok(());
            }
            Err(errinput!(INSUFFICIENT_PRIVILEGE, "permission denied to set role \"{target}\""))
        })
    }

    /// SET SESSION AUTHORIZATION's check: only a superuser who connected may become another
    /// role. Returns the user to become (the connected one for DEFAULT).
    fn check_session_authorization(&self, value: Option<&str>) -> Result<String> {
        let target = value.unwrap_or(&self.user).to_string();
        if target == self.user {
            return Ok(target);
        }
        self.with_read_txn(|txn| {
            let catalog = self.db.catalog();
            if !catalog.role(txn, &self.user)?.is_some_and(|r| r.superuser) {
                return Err(errinput!(
                    INSUFFICIENT_PRIVILEGE,
                    "permission denied to set session authorization"
                ));
            }
            if catalog.role(txn, &target)?.is_none() {
                return Err(errinput!(UNDEFINED_OBJECT, "role \"{target}\" does not exist"));
            }
            Ok(target)
        })
    }

    /// After the current or session user changed: plans were checked for the old one, and
    /// is_superuser tells clients about the new one.
    fn identity_changed(&self) {
        self.plans.borrow_mut().clear();
        self.lifts.borrow_mut().clear();
        self.relations.clear();
        let superuser = self.role_is_superuser(&self.current_user()).unwrap_or(false);
        let value = if superuser { "on" } else { "off" };
        if self.settings.borrow().get("is_superuser").ok().flatten().as_deref() != Some(value) {
            self.settings.borrow_mut().force("is_superuser", value);
            self.parameter_changes.borrow_mut().push(("is_superuser".into(), value.into()));
        }
    }

    /// Whether pg_terminate_backend told this session to end (its connection closes with
    /// FATAL 57P01).
    pub fn terminated(&self) -> bool {
        self.terminate.load(Ordering::SeqCst)
    }

    /// Whether a notification can arrive for this session: it listens on some channel.
    pub fn listening(&self) -> bool {
        self.listening.get()
    }

    /// The backend id (pg_backend_pid()).
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// The secret a CancelRequest must present.
    pub fn secret(&self) -> i32 {
        self.secret
    }

    /// The database.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// The session's time zone (for formatting values).
    pub fn zone(&self) -> Zone {
        self.settings.borrow().zone.clone()
    }

    /// Whether intervals go to clients in ISO 8601 (`SET intervalstyle = iso_8601`).
    pub fn iso_intervals(&self) -> bool {
        self.settings.borrow().get("intervalstyle").ok().flatten().as_deref() == Some("iso_8601")
    }

    /// How long the session may sit idle inside a transaction block before the server ends
    /// it (idle_in_transaction_session_timeout); None without a limit.
    pub fn idle_in_transaction_timeout(&self) -> Option<std::time::Duration> {
        self.settings.borrow().idle_in_transaction_timeout
    }

    /// The transaction state.
    pub fn status(&self) -> TxnStatus {
        match &self.block {
            Some(b) if b.aborted => TxnStatus::Failed,
            Some(b) if b.explicit => TxnStatus::InBlock,
            _ => TxnStatus::Idle,
        }
    }

    /// The settings reported at connection start: (name, value).
    pub fn reported_settings(&self) -> Vec<(String, String)> {
        self.settings.borrow().reported()
    }

    /// Applies a startup parameter (from the connection's startup message).
    pub fn set_startup_parameter(&mut self, name: &str, value: &str) -> Result<()> {
        if name == "options" {
            // `-c name=value` pairs, as libpq's PGOPTIONS passes them.
            let mut words = value.split_whitespace();
            while let Some(w) = words.next() {
                let pair =
                    if w == "-c" { words.next().unwrap_or("") } else { w.trim_start_matches("--") };
                if let Some((n, v)) = pair.split_once('=') {
                    self.settings.get_mut().set(&n.replace('-', "_"), Some(v))?;
                }
            }
            return Ok(());
        }
        if matches!(name, "user" | "database" | "replication") {
            return Ok(());
        }
        match self.settings.get_mut().set(name, Some(value)) {
            Ok(_) => Ok(()),
            Err(e) if name.contains('.') => Err(e),
            // Unknown startup parameters are ignored with a warning in PostgreSQL only for
            // some; be lenient so drivers that send extras still connect.
            Err(e) if e.code().as_str() == "42704" => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Takes the notices produced since the last call.
    pub fn take_notices(&self) -> Vec<Notice> {
        std::mem::take(&mut self.notices.borrow_mut())
    }

    /// Takes the reported settings that changed since the last call (ParameterStatus).
    pub fn take_parameter_changes(&self) -> Vec<(String, String)> {
        std::mem::take(&mut self.parameter_changes.borrow_mut())
    }

    fn warn(&self, message: impl Into<String>) {
        self.notices.borrow_mut().push(Notice {
            severity: "WARNING",
            code: "25P01",
            message: message.into(),
        });
    }

    // ---- entry points ----

    /// Runs every statement of `sql` (as one implicit transaction when there are several,
    /// like a simple query) and returns the last statement's output.
    pub fn execute(&mut self, sql: &str) -> Result<Output> {
        let mut last = Output::Empty;
        for result in self.run_batch(sql) {
            last = result?;
        }
        Ok(last)
    }

    /// Runs one statement with parameters (`$1`, ...), typed by the given values.
    pub fn query(&mut self, sql: &str, params: &[Value]) -> Result<Output> {
        let types: Vec<Option<DataType>> =
            params.iter().map(|v| (!v.is_null()).then(|| value_type(v))).collect();
        let prepared = self.prepare(sql, &types)?;
        self.execute_prepared(&prepared, params)
    }

    /// Runs the statements of a simple query: one result per statement, ending at the
    /// first error. Several statements form an implicit transaction block.
    pub fn run_batch(&mut self, sql: &str) -> Vec<Result<Output>> {
        if let Some(result) = self.run_lifted(sql) {
            return vec![result];
        }
        let statements = match crate::parse::parse(sql) {
            Ok(s) => s,
            Err(e) => {
                self.fail_current();
                return vec![Err(e)];
            }
        };
        if statements.is_empty() {
            return vec![Ok(Output::Empty)];
        }
        let batch = statements.len() > 1;
        if batch {
            self.begin_implicit_block();
            self.implicit_multi = true;
        }
        let mut out = Vec::new();
        for statement in &statements {
            let text = if batch { statement.to_string() } else { sql.to_string() };
            let result = self.run_statement(statement, &[], &[], &text);
            let failed = result.is_err();
            let copy = matches!(result, Ok(Output::CopyIn(_)));
            out.push(result);
            if failed || copy {
                break;
            }
        }
        if batch
            && !matches!(out.last(), Some(Ok(Output::CopyIn(_))))
            && let Err(e) = self.end_implicit_block()
        {
            out.push(Err(e));
        }
        out
    }

    /// Runs `sql` as its lifted key's statement (see [`lift`]) when that key was found to
    /// keep its meaning, now or before; None: run it as written.
    fn run_lifted(&mut self, sql: &str) -> Option<Result<Output>> {
        let lifted = lift::lift(sql)?;
        let (generation, _) = self.db.cache_generation()?;
        let decision = self.lifts.borrow_mut().decide(&lifted.key, generation);
        let statement = match decision {
            lift::Decision::Run(statement) => statement,
            lift::Decision::AsWritten => return None,
            lift::Decision::Check => {
                let (generation, checked) = self.check_lift(sql, &lifted)?;
                self.lifts.borrow_mut().record(lifted.key.clone(), generation, checked.clone());
                checked?
            }
        };
        let types = lifted.types();
        self.db.counters().lifted_statements.fetch_add(1, Ordering::Relaxed);
        Some(self.run_statement_shown(&statement, &lifted.values, &types, &lifted.key, sql))
    }

    /// Binds `sql` as written and as lifted, and compares the plans: the lifted statement
    /// if they mean the same, None if not, with the catalog generation that holds for; None
    /// when this cannot be decided now (`sql` fails to parse or bind, which running it as
    /// written reports, or the catalog this transaction sees is not the cached one).
    fn check_lift(
        &mut self,
        sql: &str,
        lifted: &lift::Lifted,
    ) -> Option<(u64, Option<Arc<ast::Statement>>)> {
        if self.block.as_ref().is_some_and(|b| b.aborted) {
            return None;
        }
        let mut statements = crate::parse::parse(sql).ok()?;
        let original = statements.pop().filter(|_| statements.is_empty())?;
        let lifted_statement = match crate::parse::parse(&lifted.key) {
            Ok(mut s) if s.len() == 1 => s.pop()?,
            _ => return Some((self.db.cache_generation()?.0, None)),
        };
        let types = lifted.types();
        self.with_bind_txn(|session, txn| {
            let env = session.env(txn, None);
            if !env.cacheable {
                return Ok(None);
            }
            let literal = Binder::new(&env, vec![]).bind(&original)?;
            let binder = Binder::new(&env, types.clone());
            let same = binder.bind(&lifted_statement).is_ok_and(|bound| {
                binder.param_types().iter().map(|t| Some(t.clone())).eq(types.iter().cloned())
                    && lift::same_meaning(&literal, bound, &lifted.values)
            });
            Ok(Some((env.generation, same.then(|| Arc::new(lifted_statement)))))
        })
        .ok()
        .flatten()
    }

    /// When this session lifts integer literals out of statement texts (see [`lift`]).
    pub fn set_literal_lifting(&mut self, mode: LiteralLifting) {
        let mut lifts = self.lifts.borrow_mut();
        lifts.mode = mode;
        lifts.clear();
    }

    /// Starts an implicit block: statements until [`Session::end_implicit_block`] share a
    /// transaction unless they open an explicit one (the extended protocol until Sync).
    pub fn begin_implicit_block(&mut self) {
        self.implicit = true;
    }

    /// Ends an implicit block: commits its transaction (or rolls it back after an error).
    pub fn end_implicit_block(&mut self) -> Result<()> {
        self.implicit = false;
        self.implicit_multi = false;
        match &self.block {
            Some(b) if !b.explicit && !b.copy_pending => {
                if b.aborted {
                    self.rollback_block();
                    Ok(())
                } else {
                    self.commit_block()
                }
            }
            _ => Ok(()),
        }
    }

    /// Marks the current implicit or explicit block failed (an error outside statement
    /// execution, like a protocol error).
    pub fn fail_current(&mut self) {
        if let Some(b) = &mut self.block {
            if b.explicit {
                b.aborted = true;
            } else if !self.implicit {
                self.rollback_block();
            } else {
                b.aborted = true;
            }
        }
    }

    /// Parses and binds a statement without running it: its parameter and result types.
    pub fn prepare(&mut self, sql: &str, param_types: &[Option<DataType>]) -> Result<Prepared> {
        let mut statements = crate::parse::parse(sql)?;
        if statements.len() > 1 {
            return Err(errinput!(
                SYNTAX_ERROR,
                "cannot insert multiple commands into a prepared statement"
            ));
        }
        let Some(statement) = statements.pop() else {
            return Ok(Prepared {
                sql: sql.into(),
                statement: None,
                param_types: vec![],
                columns: vec![],
            });
        };
        // Statements whose columns are known without binding: control statements (SHOW
        // has one) and the migration procedure's plan rows.
        let known = match crate::migrate::call_arguments(&statement) {
            Some(_) => Some(crate::migrate::plan_columns()),
            None => control_columns(&statement),
        };
        if let Some(columns) = known {
            return Ok(Prepared {
                sql: sql.into(),
                statement: Some(statement),
                param_types: param_types
                    .iter()
                    .map(|t| t.clone().unwrap_or(DataType::Text))
                    .collect(),
                columns,
            });
        }
        if self.block.as_ref().is_some_and(|b| b.aborted) {
            return Err(aborted_error());
        }
        if let Some(prepared) = self.prepare_cursor_statement(sql, &statement, param_types) {
            return prepared;
        }
        let (param_types, columns) = self.with_bind_txn(|session, txn| {
            let env = session.env(txn, None);
            let binder = Binder::new(&env, param_types.to_vec());
            let bound = binder.bind(&statement)?;
            Ok((binder.param_types(), output_columns(&bound)))
        })?;
        Ok(Prepared { sql: sql.into(), statement: Some(statement), param_types, columns })
    }

    /// Runs a prepared statement with parameters.
    pub fn execute_prepared(&mut self, prepared: &Prepared, params: &[Value]) -> Result<Output> {
        let Some(statement) = &prepared.statement else { return Ok(Output::Empty) };
        if params.len() != prepared.param_types.len() {
            return Err(errinput!(
                PROTOCOL_VIOLATION,
                "bind message supplies {} parameters, but prepared statement \"\" requires {}",
                params.len(),
                prepared.param_types.len()
            ));
        }
        let zone = self.zone();
        let params: Vec<Value> = params
            .iter()
            .zip(&prepared.param_types)
            .map(|(v, t)| cast(v.clone(), t, CastKind::Explicit, &zone))
            .collect::<Result<_>>()?;
        let types: Vec<Option<DataType>> = prepared.param_types.iter().cloned().map(Some).collect();
        self.run_statement(statement, &params, &types, &prepared.sql)
    }

    /// Feeds a COPY FROM STDIN its data and runs it.
    pub fn copy_in(&mut self, pending: PendingCopy, data: &[u8]) -> Result<Output> {
        if let Some(b) = &mut self.block {
            b.copy_pending = false;
        }
        let text = std::str::from_utf8(data).map_err(|e| {
            errinput!(
                CHARACTER_NOT_IN_REPERTOIRE,
                "invalid byte sequence for encoding \"UTF8\": {e}"
            )
        });
        match text {
            Ok(text) => self.copy_input(pending, exec::dml::CopyInput::Text(text)),
            Err(e) => self.finish_statement(Err(e)),
        }
    }

    /// Feeds a binary COPY FROM STDIN its rows, decoded by the wire layer (or the error that
    /// decoding met), and runs it.
    pub fn copy_in_rows(
        &mut self,
        pending: PendingCopy,
        rows: Result<Vec<Vec<Value>>>,
    ) -> Result<Output> {
        if let Some(b) = &mut self.block {
            b.copy_pending = false;
        }
        match rows {
            Ok(rows) => self.copy_input(pending, exec::dml::CopyInput::Rows(rows)),
            Err(e) => self.finish_statement(Err(e)),
        }
    }

    fn copy_input(&mut self, pending: PendingCopy, input: exec::dml::CopyInput) -> Result<Output> {
        let result = {
            // Rows and their index entries, then perhaps a lock wait: off the shared thread.
            worker::blocking(|| {
                self.in_transaction(|session, txn| {
                    let env = session.env(txn, None);
                    if let Some(table) = &pending.statement.table {
                        session.lock_for_write(txn, table.id, &table.name)?;
                    }
                    let ctx = ExecCtx::new(txn, session.catalog(), &env, &[]);
                    let n = exec::dml::copy_from(&pending.statement, input, &ctx)?;
                    Ok(Output::Command { tag: format!("COPY {n}") })
                })
            })
        };
        self.finish_statement(result)
    }

    /// Abandons a COPY FROM STDIN (the client sent CopyFail).
    pub fn copy_fail(&mut self, _pending: PendingCopy, message: &str) -> Error {
        if let Some(b) = &mut self.block {
            b.copy_pending = false;
        }
        let error = errinput!(QUERY_CANCELED, "COPY from stdin failed: {message}");
        let _ = self.finish_statement::<()>(Err(error.clone()));
        error
    }

    // ---- statement execution ----

    fn catalog(&self) -> &Catalog {
        self.db.catalog()
    }

    fn run_statement(
        &mut self,
        statement: &ast::Statement,
        params: &[Value],
        param_types: &[Option<DataType>],
        sql: &str,
    ) -> Result<Output> {
        self.run_statement_shown(statement, params, param_types, sql, sql)
    }

    /// [`Session::run_statement`] with `shown` as the text pg_stat_activity shows.
    fn run_statement_shown(
        &mut self,
        statement: &ast::Statement,
        params: &[Value],
        param_types: &[Option<DataType>],
        sql: &str,
        shown: &str,
    ) -> Result<Output> {
        self.cancel.store(false, Ordering::SeqCst);
        self.db.counters().statements.fetch_add(1, Ordering::Relaxed);
        let started = now_micros();
        {
            let mut activity = self.activity.lock();
            activity.state.clear();
            activity.state.push_str("active");
            activity.query.clear();
            activity.query.push_str(shown);
            activity.query_start = Some(started);
        }
        let mut result = self.run_statement_inner(statement, params, param_types, sql);
        if let Err(e) = &result
            && e.code() == oxibase_common::SqlState::READ_ONLY_SQL_TRANSACTION
            && !e.message().contains("read replica")
            && let Some(leader) = self.db.replica_of()
        {
            result = Err(errinput!(
                READ_ONLY_SQL_TRANSACTION,
                "cannot write on a read replica: its data comes from the leader at {leader}"
            )
            .with_detail(e.message().to_string())
            .with_hint(format!("Send writes to the leader at {leader}.")));
        }
        let state = match self.status() {
            TxnStatus::Idle => "idle",
            TxnStatus::InBlock => "idle in transaction",
            TxnStatus::Failed => "idle in transaction (aborted)",
        };
        let xact_start = self.block.as_ref().map(|b| b.started_at);
        let txn = self.block.as_ref().and_then(|b| b.txn.as_ref()).map(|t| t.id());
        {
            let mut activity = self.activity.lock();
            activity.state.clear();
            activity.state.push_str(state);
            activity.xact_start = xact_start;
            activity.txn = txn;
        }
        result
    }

    /// `sql` is the statement's own text (it keys the plan cache).
    fn run_statement_inner(
        &mut self,
        statement: &ast::Statement,
        params: &[Value],
        param_types: &[Option<DataType>],
        sql: &str,
    ) -> Result<Output> {
        if is_control(statement) {
            return self.control(statement);
        }
        if self.block.as_ref().is_some_and(|b| b.aborted) {
            return Err(aborted_error());
        }
        if let Some(result) = self.run_cursor_statement(statement, sql, params, param_types) {
            return result;
        }
        // Control statements wait for nothing but a commit, which leaves the shared thread
        // itself (see commit_block); a statement leaves it in run_in_transaction unless it
        // is quick (session/quick.rs).
        if let Some(args) = crate::migrate::call_arguments(statement) {
            return worker::blocking(|| self.run_migrate(args?, params, param_types));
        }
        if self.is_top_level_call(statement) {
            return worker::blocking(|| self.run_call(statement, sql, params, param_types));
        }
        if matches!(statement, ast::Statement::CreateIndex(ci) if ci.concurrently) {
            return worker::blocking(|| {
                self.create_index_concurrently(statement, params, param_types, sql)
            });
        }
        let result = self.in_transaction(|session, txn| {
            session.run_in_transaction(statement, sql, params, param_types, txn)
        });
        if matches!(result, Ok(Output::CopyIn(_))) {
            if let Some(b) = &mut self.block {
                b.copy_pending = true;
            }
            return result;
        }
        self.finish_statement(result)
    }

    /// `CALL oxibase_migrate(...)`: evaluates the arguments and hands the session to the
    /// installed migrator.
    fn run_migrate(
        &mut self,
        args: Vec<(usize, ast::Expr)>,
        params: &[Value],
        param_types: &[Option<DataType>],
    ) -> Result<Output> {
        let select = format!(
            "SELECT {}",
            args.iter().map(|(_, e)| e.to_string()).collect::<Vec<_>>().join(", ")
        );
        let statement = crate::parse::parse(&select)?
            .pop()
            .ok_or_else(|| errinput!(INTERNAL_ERROR, "no arguments to evaluate"))?;
        let values = match self.run_statement_inner(&statement, params, param_types, &select)? {
            Output::Rows { mut rows, .. } if !rows.is_empty() => rows.swap_remove(0),
            _ => return Err(errinput!(INTERNAL_ERROR, "the arguments evaluated to no row")),
        };
        let request = crate::migrate::request(
            args.iter().map(|(p, _)| *p).zip(values.iter().cloned()).collect(),
        )?;
        if request.apply && self.in_transaction_block() {
            return Err(errinput!(
                ACTIVE_SQL_TRANSACTION,
                "{}(apply => true) cannot run inside a transaction block",
                crate::migrate::PROCEDURE
            )
            .with_hint(
                "It runs its own transactions (an index is built while writes go on). Call it on its own.",
            ));
        }
        let migrator = self.db.migrator().ok_or_else(|| {
            errinput!(
                FEATURE_NOT_SUPPORTED,
                "this database was opened without the schema migration engine"
            )
        })?;
        migrator.migrate(self, &request)
    }

    /// True inside BEGIN ... COMMIT or a multi-statement simple query.
    pub fn in_transaction_block(&self) -> bool {
        self.implicit || self.block.as_ref().is_some_and(|b| b.explicit)
    }

    /// Runs `f` as one statement would: in the open transaction block, or in a transaction
    /// of its own that commits when `f` succeeds and rolls back when it fails. For engines
    /// above this crate (the migrator) that read the catalog or lock under the session's
    /// transaction.
    pub fn within_transaction<T>(
        &mut self,
        f: impl FnOnce(&Catalog, &Transaction) -> Result<T>,
    ) -> Result<T> {
        if self.block.as_ref().is_some_and(|b| b.aborted) {
            return Err(aborted_error());
        }
        let result = self.in_transaction(|session, txn| f(session.catalog(), txn));
        self.finish_statement(result)
    }

    /// Runs `f` in the block's transaction, starting the block (autocommit) and the
    /// transaction as needed.
    fn in_transaction<T>(
        &mut self,
        f: impl FnOnce(&Session, &Transaction) -> Result<T>,
    ) -> Result<T> {
        if self.block.is_none() {
            self.block = Some(self.new_block(false));
        }
        let started = self.ensure_txn()?;
        let block =
            self.block.as_ref().ok_or_else(|| errinput!(INTERNAL_ERROR, "no transaction block"))?;
        let txn = block.txn.as_ref().ok_or_else(|| errinput!(INTERNAL_ERROR, "no transaction"))?;
        if !started {
            txn.begin_statement()?;
        }
        f(self, txn)
    }

    /// After a statement: ends an autocommit transaction, or marks a block failed.
    fn finish_statement<T>(&mut self, result: Result<T>) -> Result<T> {
        let Some(block) = &mut self.block else { return result };
        match result {
            Ok(v) => {
                if !block.explicit && !self.implicit {
                    self.commit_block()?;
                }
                Ok(v)
            }
            Err(e) => {
                if block.explicit || self.implicit {
                    block.aborted = true;
                } else {
                    self.rollback_block();
                }
                Err(e)
            }
        }
    }

    fn new_block(&self, explicit: bool) -> Block {
        let settings = self.settings.borrow();
        Block {
            txn: None,
            options: TxnOptions {
                isolation: settings.default_isolation,
                read_only: settings.default_read_only,
                as_of: None,
                lock_timeout: settings.lock_timeout,
            },
            explicit,
            aborted: false,
            savepoints: Vec::new(),
            saved_settings: RefCell::new(None),
            locked_relations: RefCell::new(HashSet::new()),
            did_ddl: Cell::new(false),
            started_at: now_micros(),
            copy_pending: false,
            notifies: RefCell::new(Vec::new()),
            listens: RefCell::new(Vec::new()),
            deferred: RefCell::new(Vec::new()),
            constraint_modes: RefCell::new((None, HashMap::new())),
        }
    }

    /// Starts the block's transaction if it has none; true if it just started.
    fn ensure_txn(&mut self) -> Result<bool> {
        let lock_timeout = self.settings.borrow().lock_timeout;
        let store = self.db.store().clone();
        let Some(block) = &mut self.block else { return Ok(false) };
        if block.txn.is_some() {
            return Ok(false);
        }
        let mut options = block.options.clone();
        options.lock_timeout = lock_timeout;
        // A read replica only reads: its rows come from the leader's log.
        options.read_only |= self.db.is_replica();
        let txn = store.begin(options)?;
        let id = txn.id();
        block.txn = Some(txn);
        self.activity.lock().txn = Some(id);
        Ok(true)
    }

    fn commit_block(&mut self) -> Result<()> {
        let Some(block) = self.block.take() else { return Ok(()) };
        // Read before SET LOCAL values end with the transaction.
        let synchronous = self.db.replicas().required() > 0
            && self
                .settings
                .borrow()
                .get("synchronous_commit")
                .ok()
                .flatten()
                .is_some_and(|v| matches!(v.as_str(), "on" | "remote_write" | "remote_apply"));
        // Transaction-level advisory locks end with the transaction, whatever its outcome.
        self.db.shared.advisory.release(self.pid, false);
        self.end_local_settings();
        let notifies = block.notifies.take();
        let listens = block.listens.take();
        let deferred = block.deferred.take();
        let Some(txn) = block.txn else {
            self.end_cursors(true);
            self.publish(&listens, notifies);
            return Ok(());
        };
        let wrote = txn.has_writes();
        let did_ddl = block.did_ddl.get();
        // A commit with writes waits for its fsync (and perhaps followers): off the shared
        // thread. A read-only one waits for nothing.
        let commit = || {
            // Deferred foreign keys are checked first: a failure rolls the transaction back.
            if !deferred.is_empty() {
                txn.begin_statement()?;
                let env = self.env(&txn, None);
                let ctx = ExecCtx::new(&txn, self.catalog(), &env, &[]);
                crate::exec::storage::run_deferred(&ctx, &deferred)?;
            }
            let result = if did_ddl { self.db.commit_ddl(txn) } else { txn.commit().map(|_| ()) };
            if result.is_ok() && wrote && synchronous {
                self.wait_for_replicas();
            }
            result
        };
        let result = if wrote || did_ddl { worker::blocking(commit) } else { commit() };
        if result.is_ok() {
            self.publish(&listens, notifies);
        }
        self.end_cursors(result.is_ok());
        match &result {
            Ok(()) => self.db.counters().commits.fetch_add(1, Ordering::Relaxed),
            Err(_) => {
                if let Some(saved) = block.saved_settings.borrow().as_ref() {
                    self.restore_settings(saved);
                }
                self.db.counters().rollbacks.fetch_add(1, Ordering::Relaxed)
            }
        };
        result
    }

    /// Synchronous replication: the commit returns once enough followers have made it
    /// durable and visible. A cancel ends the wait with a warning, as in PostgreSQL: the
    /// transaction has committed here and will reach the followers.
    fn wait_for_replicas(&self) {
        let replicas = self.db.replicas();
        // Everything applied so far, this commit included (it is visible now).
        let (lsn, _) = self.db.store().snapshot_point();
        let cancel = self.cancel.clone();
        let cancelled = move || cancel.swap(false, Ordering::SeqCst);
        if !replicas.wait_acked(lsn, replicas.required(), &cancelled) {
            self.notices.borrow_mut().push(Notice {
                severity: "WARNING",
                code: "01000",
                message: "canceling wait for synchronous replication due to user request: the transaction has already committed locally, but might not have been replicated to the standby".into(),
            });
        }
    }

    /// After a commit: LISTEN/UNLISTEN take effect and notifications go out.
    fn publish(&self, listens: &[crate::notify::ListenOp], notifies: Vec<(String, String)>) {
        let notifier = &self.db.shared.notifier;
        if !listens.is_empty() {
            self.listening.set(notifier.apply(self.pid, listens));
        }
        if !notifies.is_empty() {
            notifier.publish(self.pid, notifies);
        }
    }

    /// Notifications received for this session (LISTEN), oldest first.
    pub fn take_notifications(&self) -> Vec<crate::notify::Notification> {
        self.db.shared.notifier.take(self.pid)
    }

    /// Sets what wakes this session's connection when a notification arrives.
    pub fn set_notification_waker(&self, waker: crate::notify::Waker) {
        self.db.shared.notifier.set_waker(self.pid, waker);
    }

    /// Queues a NOTIFY in the open block, or sends it at once outside one.
    fn queue_notify(&self, channel: &str, payload: &str) -> Result<()> {
        crate::notify::check(channel, payload)?;
        let note = (channel.to_string(), payload.to_string());
        match &self.block {
            Some(block) => {
                let mut notes = block.notifies.borrow_mut();
                // Identical notifications of one transaction are sent once (PostgreSQL).
                if !notes.contains(&note) {
                    notes.push(note);
                }
            }
            None => self.publish(&[], vec![note]),
        }
        Ok(())
    }

    /// Queues a LISTEN/UNLISTEN in the open block, or applies it at once outside one.
    fn queue_listen(&self, op: crate::notify::ListenOp) {
        match &self.block {
            Some(block) => block.listens.borrow_mut().push(op),
            None => self.publish(&[op], vec![]),
        }
    }

    fn rollback_block(&mut self) {
        let Some(block) = self.block.take() else { return };
        self.end_cursors(false);
        self.db.shared.advisory.release(self.pid, false);
        self.local_saved.borrow_mut().clear();
        if let Some(saved) = block.saved_settings.borrow().as_ref() {
            self.restore_settings(saved);
        }
        if let Some(txn) = block.txn {
            let _ = txn.rollback();
            self.db.counters().rollbacks.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Restores settings (a rolled back block's SETs), reporting changed ones.
    fn restore_settings(&self, saved: &Settings) {
        let before = self.settings.borrow().reported();
        let identity = (self.current_user(), self.settings.borrow().search_path.clone());
        let superuser = self.settings.borrow().get("is_superuser").ok().flatten();
        self.settings.borrow_mut().restore_from(saved);
        if let Some(superuser) = superuser {
            self.settings.borrow_mut().force("is_superuser", &superuser);
        }
        if identity != (self.current_user(), self.settings.borrow().search_path.clone()) {
            self.identity_changed();
        }
        let after = self.settings.borrow().reported();
        let mut changes = self.parameter_changes.borrow_mut();
        for (a, b) in after.into_iter().zip(before) {
            if a != b {
                changes.push(a);
            }
        }
    }

    /// Undoes SET LOCAL at the end of a transaction.
    fn end_local_settings(&self) {
        let saved = std::mem::take(&mut *self.local_saved.borrow_mut());
        let identity = (self.current_user(), self.settings.borrow().search_path.clone());
        let changed = |session: &Session| {
            identity != (session.current_user(), session.settings.borrow().search_path.clone())
        };
        for (name, value) in saved.into_iter().rev() {
            let result = self.settings.borrow_mut().set(&name, value.as_deref());
            if let Ok((name, true)) = result {
                let v = self.settings.borrow().get(&name).ok().flatten().unwrap_or_default();
                self.parameter_changes
                    .borrow_mut()
                    .push((crate::settings::reported_name(&name).into(), v));
            }
        }
        if changed(self) {
            self.identity_changed();
        }
    }

    /// A statement bound and optimized as it would run, outside any cache.
    #[cfg(test)]
    pub(crate) fn bind_for_test(&mut self, sql: &str) -> Result<Arc<Statement>> {
        let statement = crate::parse::parse(sql)?
            .pop()
            .ok_or_else(|| errinput!(SYNTAX_ERROR, "no statement in {sql:?}"))?;
        self.with_bind_txn(|session, txn| {
            let env = session.env(txn, None);
            session.bind(&statement, sql, &[], &env, false)
        })
    }

    /// Runs `f` with a transaction for binding: the block's, or a short read-only one.
    fn with_bind_txn<T>(
        &mut self,
        f: impl FnOnce(&Session, &Transaction) -> Result<T>,
    ) -> Result<T> {
        if let Some(Block { txn: Some(txn), .. }) = &self.block {
            txn.begin_statement()?;
            return f(self, txn);
        }
        let txn = self.db.store().begin(TxnOptions {
            isolation: Isolation::ReadCommitted,
            read_only: true,
            ..Default::default()
        })?;
        let result = f(self, &txn);
        let _ = txn.rollback();
        result
    }

    fn env<'a>(&'a self, txn: &'a Transaction, deadline: Option<Instant>) -> Env<'a> {
        let settings = self.settings.borrow();
        let (generation, cacheable) = self.cache_state(txn);
        Env {
            session: self,
            txn,
            zone: settings.zone.clone(),
            statement_ts: now_micros(),
            transaction_ts: self.block.as_ref().map_or_else(now_micros, |b| b.started_at),
            deadline,
            generation,
            cacheable,
            expr_generation: if cacheable {
                generation
            } else {
                static UNCACHED: std::sync::atomic::AtomicU64 =
                    std::sync::atomic::AtomicU64::new(0);
                (1 << 63) | UNCACHED.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            },
            snapshot: RefCell::new(None),
            access: RefCell::new(None),
            superuser: RefCell::new(None),
        }
    }

    /// Drops what this session cached from the catalog (after it changed the catalog itself).
    fn forget_catalog(&self) {
        self.relations.clear();
        self.referencing.clear();
    }

    /// The catalog generation, and whether caches may be used by this statement.
    fn cache_state(&self, txn: &Transaction) -> (u64, bool) {
        let did_ddl = self.block.as_ref().is_some_and(|b| b.did_ddl.get());
        match self.db.cache_generation() {
            Some((generation, ddl_ts)) => (generation, !did_ddl && txn.snapshot_ts() >= ddl_ts),
            None => (0, false),
        }
    }

    fn run_in_transaction(
        &self,
        statement: &ast::Statement,
        sql_key: &str,
        params: &[Value],
        param_types: &[Option<DataType>],
        txn: &Transaction,
    ) -> Result<Output> {
        let deadline = self.settings.borrow().statement_timeout.map(|d| Instant::now() + d);
        // Row-lock waits end on a cancel or at the deadline too, not only at lock_timeout.
        txn.set_interrupt(oxibase_mvcc::Interrupt { cancel: Some(self.cancel.clone()), deadline });
        let env = self.env(txn, deadline);
        let bound = self.bind(statement, sql_key, param_types, &env, true)?;
        if quick::is_quick(&bound) {
            return self.run_bound(statement, sql_key, params, param_types, env, bound);
        }
        worker::blocking(|| self.run_bound(statement, sql_key, params, param_types, env, bound))
    }

    /// Runs a bound statement: locks the tables it writes, and binds it again if one of them
    /// changed since its snapshot (as read committed allows).
    fn run_bound<'a>(
        &'a self,
        statement: &ast::Statement,
        sql_key: &str,
        params: &[Value],
        param_types: &[Option<DataType>],
        mut env: Env<'a>,
        mut bound: Arc<Statement>,
    ) -> Result<Output> {
        let txn = env.txn;
        for attempt in 0.. {
            if attempt > 0 {
                env = self.env(txn, env.deadline);
                bound = self.bind(statement, sql_key, param_types, &env, false)?;
            }
            if let Some(name) = self.lock_write_targets(&bound, &env, txn)? {
                if txn.isolation() == Isolation::ReadCommitted && attempt < 5 {
                    // The table changed under our statement snapshot: take a new one.
                    txn.begin_statement()?;
                    continue;
                }
                return Err(errconflict!(
                    SERIALIZATION_FAILURE,
                    "could not serialize access due to concurrent change of the definition of relation \"{name}\""
                ));
            }
            let output = self.execute_bound(&bound, params, &env, txn, None);
            self.add_counters(&env);
            return output;
        }
        unreachable!("the retry loop returns")
    }

    fn add_counters(&self, _env: &Env) {}

    /// Locks, as a writer, the tables a statement writes and those its foreign keys reach:
    /// the tables its rows reference (whose rows new ones must find) and those referencing
    /// it (whose rows a change checks, cascades to or nulls). Schema changes then wait for
    /// the statement, and a statement bound before one committed (its tables' rows may have
    /// moved to new storage) is found out. Returns the name of such a changed table.
    fn lock_write_targets(
        &self,
        bound: &Statement,
        env: &Env,
        txn: &Transaction,
    ) -> Result<Option<String>> {
        for table in write_targets(bound) {
            if !self.lock_for_write(txn, table.id, &table.name)? {
                return Ok(Some(table.name.clone()));
            }
            let parents = table.constraints.iter().filter_map(|c| match &c.kind {
                crate::catalog::ConstraintKind::ForeignKey { ref_table, .. } => Some(*ref_table),
                crate::catalog::ConstraintKind::Check { .. } => None,
            });
            for parent in parents.filter(|&p| p != table.id) {
                if !self.lock_for_write(txn, parent, "")? {
                    let parent = self.catalog().table_by_id(txn, parent)?;
                    return Ok(Some(parent.map_or_else(|| table.name.clone(), |t| t.name)));
                }
            }
            for (child, _) in env.referencing(self.catalog(), txn, table.id)?.iter() {
                if child.id != table.id && !self.lock_for_write(txn, child.id, &child.name)? {
                    return Ok(Some(child.name.clone()));
                }
            }
        }
        Ok(None)
    }

    /// Locks a table for writing (shared with other writers, exclusive of schema changes);
    /// false if its definition changed after this statement's snapshot.
    fn lock_for_write(&self, txn: &Transaction, table_id: RelId, _name: &str) -> Result<bool> {
        // Once held, the lock keeps schema changes out until the transaction ends, so later
        // statements need not check again.
        let locked = self.block.as_ref().map(|b| &b.locked_relations);
        if locked.is_some_and(|l| l.borrow().contains(&table_id)) {
            return Ok(true);
        }
        let key = Catalog::relation_key(table_id)?;
        txn.lock_latest(&key, LockMode::KeyShare, LockWait::Wait(None))?;
        // A table's definition changes only in a catalog commit, which marks the generation
        // odd before it commits and records its time before marking it even again: with no
        // catalog commit after this snapshot (nor one in flight), the definition is the one
        // the snapshot sees, and reading its row again is not needed.
        let no_ddl_since =
            self.db.cache_generation().is_some_and(|(_, ddl_ts)| ddl_ts <= txn.snapshot_ts());
        let fresh = no_ddl_since || !txn.changed_since_snapshot(&key)?;
        if fresh && let Some(l) = locked {
            l.borrow_mut().insert(table_id);
        }
        Ok(fresh)
    }

    /// Binds (or finds in the plan cache) and optimizes a statement.
    fn bind(
        &self,
        statement: &ast::Statement,
        sql_key: &str,
        param_types: &[Option<DataType>],
        env: &Env,
        use_cache: bool,
    ) -> Result<Arc<Statement>> {
        if use_cache
            && env.cacheable
            && let Some(cached) = self.plans.borrow().get(sql_key, param_types, env.generation)
        {
            return Ok(cached.statement.clone());
        }
        let binder = Binder::new(env, param_types.to_vec());
        let bound = binder.bind(statement)?;
        let bound = Arc::new(optimize_statement(bound));
        if env.cacheable && cacheable(&bound) {
            let plan = plans::CachedPlan {
                statement: bound.clone(),
                generation: env.generation,
                param_types: binder.param_types(),
            };
            self.plans.borrow_mut().offer(sql_key, param_types, plan);
        }
        Ok(bound)
    }

    fn execute_bound(
        &self,
        bound: &Statement,
        params: &[Value],
        env: &Env,
        txn: &Transaction,
        profile: Option<&RefCell<exec::Profile>>,
    ) -> Result<Output> {
        let mut ctx = ExecCtx::new(txn, self.catalog(), env, params);
        ctx.profile = profile;
        let output = match bound {
            Statement::Query(plan) => {
                let rows = exec::collect(exec::execute(plan, &ctx)?, &ctx)?;
                let tag = format!("SELECT {}", rows.len());
                Output::Rows { columns: plan_columns(plan), rows, tag }
            }
            Statement::Insert(insert) => {
                let (n, rows) = exec::dml::insert(insert, &ctx)?;
                dml_output(format!("INSERT 0 {n}"), insert.returning.as_ref(), rows)
            }
            Statement::Update(update) => {
                let (n, rows) = exec::dml::update(update, &ctx)?;
                dml_output(format!("UPDATE {n}"), update.returning.as_ref(), rows)
            }
            Statement::Delete(delete) => {
                let (n, rows) = exec::dml::delete(delete, &ctx)?;
                dml_output(format!("DELETE {n}"), delete.returning.as_ref(), rows)
            }
            Statement::Merge(merge) => {
                Output::Command { tag: format!("MERGE {}", exec::dml::merge(merge, &ctx)?) }
            }
            Statement::Ddl(ddl) => {
                if let Some(block) = &self.block {
                    block.did_ddl.set(true);
                }
                let tag = exec::ddl::execute_ddl(ddl, &ctx, env)?;
                self.forget_catalog();
                Output::Command { tag }
            }
            Statement::Explain { statement, analyze } => {
                self.explain(statement, *analyze, params, env, txn)?
            }
            Statement::Copy(copy) => {
                if copy.file.is_some() {
                    return Err(errinput!(
                        INSUFFICIENT_PRIVILEGE,
                        "COPY to or from a file on the server is not allowed"
                    )
                    .with_hint("Use COPY ... FROM STDIN or TO STDOUT (psql's \\copy)."));
                }
                if copy.from {
                    return Ok(Output::CopyIn(PendingCopy {
                        statement: Box::new(copy_clone(copy)),
                    }));
                }
                let (n, data) = exec::dml::copy_to(copy, &ctx)?;
                let columns = match &copy.query {
                    Some(q) => q.columns.iter().filter(|c| !c.hidden).count(),
                    None => copy.columns.len(),
                };
                Output::CopyOut { columns, data, tag: format!("COPY {n}") }
            }
            Statement::LockTables { tables, exclusive, nowait } => {
                if !self.block.as_ref().is_some_and(|b| b.explicit) {
                    return Err(errinput!(
                        NO_ACTIVE_SQL_TRANSACTION,
                        "LOCK TABLE can only be used in transaction blocks"
                    ));
                }
                let mode = if *exclusive { LockMode::Update } else { LockMode::KeyShare };
                let wait = if *nowait { LockWait::NoWait } else { LockWait::Wait(None) };
                for table in tables {
                    let key = Catalog::relation_key(table.id)?;
                    txn.lock_latest(&key, mode, wait).map_err(|e| {
                        if e.code() == oxibase_common::SqlState::LOCK_NOT_AVAILABLE && *nowait {
                            errinput!(
                                LOCK_NOT_AVAILABLE,
                                "could not obtain lock on relation \"{}\"",
                                table.name
                            )
                        } else {
                            e
                        }
                    })?;
                }
                Output::Command { tag: "LOCK TABLE".into() }
            }
            Statement::Analyze(table) => {
                // Only a table's owner analyzes it; PostgreSQL warns and skips it otherwise.
                if let Some(t) = table {
                    let object = crate::privileges::AclObject::relation(t.id, "table", &t.name);
                    if crate::privileges::check_owner(env, &object).is_err() {
                        self.notices.borrow_mut().push(Notice {
                            severity: "WARNING",
                            code: "01000",
                            message: format!(
                                "permission denied to analyze \"{}\", skipping it",
                                t.name
                            ),
                        });
                        return Ok(Output::Command { tag: "ANALYZE".into() });
                    }
                }
                crate::exec::analyze::analyze(&ctx, table.as_deref())?;
                // New statistics change plans: cached ones are dropped at commit.
                if let Some(block) = &self.block {
                    block.did_ddl.set(true);
                }
                Output::Command { tag: "ANALYZE".into() }
            }
            Statement::Vacuum => {
                if self.block.as_ref().is_some_and(|b| b.explicit || self.implicit) {
                    return Err(errinput!(
                        ACTIVE_SQL_TRANSACTION,
                        "VACUUM cannot run inside a transaction block"
                    ));
                }
                self.db.store().gc()?;
                Output::Command { tag: "VACUUM".into() }
            }
            Statement::Checkpoint => {
                let role = self.db.catalog().role(ctx.txn, &self.current_user())?;
                if !role.is_some_and(|r| r.superuser) {
                    return Err(errinput!(
                        INSUFFICIENT_PRIVILEGE,
                        "must be superuser to do CHECKPOINT"
                    ));
                }
                self.db.checkpoint()?;
                Output::Command { tag: "CHECKPOINT".into() }
            }
            Statement::Noop(tag) => Output::Command { tag: tag.clone() },
            Statement::Call { routine, args } => {
                call_output(routine, exec::routine::call(routine, args, &ctx)?)
            }
            other => return Err(errinput!(INTERNAL_ERROR, "unexpected statement {other:?}")),
        };
        let stats = ctx.stats.borrow();
        let counters = self.db.counters();
        counters.rows_read.fetch_add(stats.rows_read, Ordering::Relaxed);
        counters.rows_written.fetch_add(stats.rows_written, Ordering::Relaxed);
        Ok(output)
    }

    fn explain(
        &self,
        statement: &Statement,
        analyze: bool,
        params: &[Value],
        env: &Env,
        txn: &Transaction,
    ) -> Result<Output> {
        let plan: Option<&Plan> = match statement {
            Statement::Query(p) => Some(p),
            Statement::Insert(i) => Some(&i.source),
            Statement::Update(u) => Some(&u.source),
            Statement::Delete(d) => Some(&d.source),
            Statement::Merge(m) => Some(&m.source),
            _ => None,
        };
        let Some(plan) = plan else {
            return Err(errinput!(
                FEATURE_NOT_SUPPORTED,
                "EXPLAIN of this statement is not supported"
            ));
        };
        let mut lines = Vec::new();
        match statement {
            Statement::Insert(i) => lines.push(format!("Insert on {}", i.table.name)),
            Statement::Update(u) => lines.push(format!("Update on {}", u.table.name)),
            Statement::Delete(d) => lines.push(format!("Delete on {}", d.table.name)),
            Statement::Merge(m) => lines.push(format!("Merge on {}", m.table.name)),
            _ => {}
        }
        let nested = !lines.is_empty();
        let profile = RefCell::new(exec::Profile::new());
        let mut summary = Vec::new();
        if analyze {
            let start = Instant::now();
            let output = self.execute_bound(statement, params, env, txn, Some(&profile))?;
            let elapsed = start.elapsed();
            let rows = match &output {
                Output::Rows { rows, tag, .. } if tag.starts_with("SELECT") => rows.len() as u64,
                other => other.count(),
            };
            summary.push(format!("Rows: {rows}"));
            summary.push(format!("Execution Time: {:.3} ms", elapsed.as_secs_f64() * 1000.0));
        }
        let profile = profile.into_inner();
        // PostgreSQL's figures: time per loop in ms, rows per loop, loops; a node that never
        // ran says so.
        let annotate = |p: &Plan| -> Option<String> {
            if !analyze {
                return None;
            }
            Some(match profile.get(&exec::profile_key(p)) {
                Some(n) if n.loops > 0 => format!(
                    "(actual time={:.3} rows={} loops={})",
                    n.time.as_secs_f64() * 1000.0 / n.loops as f64,
                    n.rows / n.loops,
                    n.loops
                ),
                _ => "(never executed)".to_string(),
            })
        };
        for (i, line) in crate::plan::explain::explain_with(plan, &annotate).into_iter().enumerate()
        {
            lines.push(match (nested, i) {
                (false, _) => line,
                (true, 0) => format!("  ->  {line}"),
                (true, _) => format!("      {line}"),
            });
        }
        lines.extend(summary);
        let rows = lines.into_iter().map(|l| vec![Value::Text(l)]).collect::<Vec<_>>();
        let tag = "EXPLAIN".to_string();
        Ok(Output::Rows {
            columns: vec![OutputColumn { name: "QUERY PLAN".into(), data_type: DataType::Text }],
            rows,
            tag,
        })
    }

    // ---- transaction control and settings ----

    fn control(&mut self, statement: &ast::Statement) -> Result<Output> {
        match statement {
            ast::Statement::LISTEN { channel } => {
                self.check_not_aborted()?;
                self.queue_listen(crate::notify::ListenOp::Listen(bind::ident(channel)));
                return Ok(Output::Command { tag: "LISTEN".into() });
            }
            ast::Statement::UNLISTEN { channel } => {
                self.check_not_aborted()?;
                let op = if channel.value == "*" {
                    crate::notify::ListenOp::UnlistenAll
                } else {
                    crate::notify::ListenOp::Unlisten(bind::ident(channel))
                };
                self.queue_listen(op);
                return Ok(Output::Command { tag: "UNLISTEN".into() });
            }
            ast::Statement::NOTIFY { channel, payload } => {
                self.check_not_aborted()?;
                self.queue_notify(&bind::ident(channel), payload.as_deref().unwrap_or(""))?;
                return Ok(Output::Command { tag: "NOTIFY".into() });
            }
            ast::Statement::Prepare { name, data_types, statement } => {
                self.check_not_aborted()?;
                let name = bind::ident(name);
                if self.prepared.contains_key(&name) {
                    return Err(errinput!(
                        DUPLICATE_PSTATEMENT,
                        "prepared statement \"{name}\" already exists"
                    ));
                }
                let types: Vec<Option<DataType>> = data_types
                    .iter()
                    .map(|t| bind::data_type(t).map(Some))
                    .collect::<Result<_>>()?;
                let sql = statement.to_string();
                let prepared = self.prepare(&sql, &types)?;
                self.prepared.insert(name, prepared);
                return Ok(Output::Command { tag: "PREPARE".into() });
            }
            ast::Statement::Execute { name: Some(name), parameters, .. } => {
                self.check_not_aborted()?;
                let (_, name) = bind::split_name(name)?;
                let prepared = self.prepared.get(&name).cloned().ok_or_else(|| {
                    errinput!(UNDEFINED_PSTATEMENT, "prepared statement \"{name}\" does not exist")
                })?;
                let params = self.constant_params(parameters, &prepared.param_types)?;
                return self.execute_prepared(&prepared, &params);
            }
            ast::Statement::Deallocate { name, .. } => {
                let name = bind::ident(name);
                if name == "all" {
                    self.prepared.clear();
                } else if self.prepared.remove(&name).is_none() {
                    return Err(errinput!(
                        UNDEFINED_PSTATEMENT,
                        "prepared statement \"{name}\" does not exist"
                    ));
                }
                return Ok(Output::Command { tag: "DEALLOCATE".into() });
            }
            ast::Statement::Reset(reset) => {
                self.check_not_aborted()?;
                match &reset.reset {
                    ast::Reset::ALL => {
                        // Who the session is stays: RESET ALL leaves SET ROLE and SET
                        // SESSION AUTHORIZATION alone, as in PostgreSQL.
                        let mut fresh = Settings::default();
                        for name in ["role", "session_authorization", "is_superuser"] {
                            let value = self.settings.borrow().get(name)?.unwrap_or_default();
                            fresh.force(name, &value);
                        }
                        self.restore_settings(&fresh);
                    }
                    ast::Reset::SessionAuthorization => {
                        self.set_setting_value("session_authorization", None, false)?
                    }
                    ast::Reset::ConfigurationParameter(name) => {
                        let name = name.to_string().to_lowercase();
                        self.set_setting_value(&name, None, false)?;
                    }
                }
                return Ok(Output::Command { tag: "RESET".into() });
            }
            _ => {}
        }
        struct NoEnv;
        impl BindEnv for NoEnv {
            fn relation(&self, _: Option<&str>, _: &str) -> Result<Option<Relation>> {
                Ok(None)
            }
            fn creation_schema(&self) -> Result<String> {
                Ok("public".into())
            }
        }
        let bound = Binder::new(&NoEnv, vec![]).bind(statement)?;
        let aborted = self.block.as_ref().is_some_and(|b| b.aborted);
        let command = |tag: &str| Ok(Output::Command { tag: tag.into() });
        match bound {
            Statement::Begin { isolation, read_only } => {
                if aborted {
                    return Err(aborted_error());
                }
                match &mut self.block {
                    Some(b) if b.explicit => {
                        self.warn("there is already a transaction in progress");
                    }
                    Some(b) => {
                        // BEGIN inside an implicit block turns it into an explicit one.
                        b.explicit = true;
                        apply_modes(b, isolation, read_only)?;
                    }
                    None => {
                        let mut b = self.new_block(true);
                        apply_modes(&mut b, isolation, read_only)?;
                        self.block = Some(b);
                    }
                }
                command("BEGIN")
            }
            Statement::Commit { chain: true } | Statement::Rollback { chain: true } => {
                let commit = matches!(bound, Statement::Commit { .. });
                let what = if commit { "COMMIT AND CHAIN" } else { "ROLLBACK AND CHAIN" };
                self.require_block(what)?;
                let Some(block) = &self.block else { return command("ROLLBACK") };
                let (isolation, read_only) = (block.options.isolation, block.options.read_only);
                let tag = if commit && !aborted {
                    self.commit_block()?;
                    "COMMIT"
                } else {
                    self.rollback_block();
                    "ROLLBACK"
                };
                let mut next = self.new_block(true);
                next.options.isolation = isolation;
                next.options.read_only = read_only;
                self.block = Some(next);
                command(tag)
            }
            Statement::Commit { .. } => match &self.block {
                None => {
                    self.warn("there is no transaction in progress");
                    command("COMMIT")
                }
                Some(b) if b.aborted => {
                    self.rollback_block();
                    command("ROLLBACK")
                }
                Some(_) => {
                    self.commit_block()?;
                    command("COMMIT")
                }
            },
            Statement::Rollback { .. } => {
                if self.block.is_none() {
                    self.warn("there is no transaction in progress");
                }
                self.rollback_block();
                command("ROLLBACK")
            }
            Statement::Savepoint(name) => {
                if aborted {
                    return Err(aborted_error());
                }
                self.require_block("SAVEPOINT")?;
                self.ensure_txn()?;
                let block =
                    self.block.as_mut().ok_or_else(|| errinput!(INTERNAL_ERROR, "no block"))?;
                let txn = block
                    .txn
                    .as_ref()
                    .ok_or_else(|| errinput!(INTERNAL_ERROR, "no transaction"))?;
                let sp = txn.savepoint()?;
                block.savepoints.push((name, sp));
                command("SAVEPOINT")
            }
            Statement::Release(name) => {
                if aborted {
                    return Err(aborted_error());
                }
                self.require_block("RELEASE SAVEPOINT")?;
                let block =
                    self.block.as_mut().ok_or_else(|| errinput!(INTERNAL_ERROR, "no block"))?;
                let i =
                    block.savepoints.iter().rposition(|(n, _)| *n == name).ok_or_else(|| {
                        errinput!(
                            INVALID_SAVEPOINT_SPECIFICATION,
                            "savepoint \"{name}\" does not exist"
                        )
                    })?;
                block.savepoints.truncate(i);
                command("RELEASE")
            }
            Statement::RollbackTo(name) => {
                self.require_block("ROLLBACK TO SAVEPOINT")?;
                let block =
                    self.block.as_mut().ok_or_else(|| errinput!(INTERNAL_ERROR, "no block"))?;
                let i =
                    block.savepoints.iter().rposition(|(n, _)| *n == name).ok_or_else(|| {
                        errinput!(
                            INVALID_SAVEPOINT_SPECIFICATION,
                            "savepoint \"{name}\" does not exist"
                        )
                    })?;
                let sp = block.savepoints[i].1;
                block.savepoints.truncate(i + 1);
                if let Some(txn) = &block.txn {
                    txn.rollback_to(&sp)?;
                }
                // Locks taken after the savepoint are gone with it, and so are cursors.
                block.locked_relations.borrow_mut().clear();
                block.aborted = false;
                self.rollback_cursors_to(i + 1);
                command("ROLLBACK")
            }
            Statement::SetTransaction { isolation, read_only, snapshot } => {
                if aborted {
                    return Err(aborted_error());
                }
                match &mut self.block {
                    Some(b) if b.explicit => {
                        if b.txn.is_some() && isolation.is_some() {
                            return Err(errinput!(
                                ACTIVE_SQL_TRANSACTION,
                                "SET TRANSACTION ISOLATION LEVEL must be called before any query"
                            ));
                        }
                        apply_modes(b, isolation, read_only)?;
                        if let Some(id) = snapshot {
                            import_snapshot(b, &id)?;
                        }
                    }
                    _ => self.warn("SET TRANSACTION can only be used in transaction blocks"),
                }
                command("SET")
            }
            Statement::Set { name, value, local } => {
                if aborted {
                    return Err(aborted_error());
                }
                if name == "transaction_isolation" || name == "transaction_read_only" {
                    let isolation = match (&value, name.as_str()) {
                        (Some(v), "transaction_isolation") => {
                            Some(crate::settings::parse_isolation(v)?)
                        }
                        _ => None,
                    };
                    let read_only = match (&value, name.as_str()) {
                        (Some(v), "transaction_read_only") => Some(matches!(
                            v.to_ascii_lowercase().as_str(),
                            "on" | "true" | "1" | "yes"
                        )),
                        _ => None,
                    };
                    if let Some(b) = &mut self.block
                        && b.explicit
                    {
                        apply_modes(b, isolation, read_only)?;
                    }
                    return command("SET");
                }
                if local && !self.block.as_ref().is_some_and(|b| b.explicit) {
                    self.warn("SET LOCAL can only be used in transaction blocks");
                    return command("SET");
                }
                self.set_setting_value(&name, value.as_deref(), local)?;
                command("SET")
            }
            Statement::SetSessionCharacteristics { isolation, read_only } => {
                if aborted {
                    return Err(aborted_error());
                }
                if let Some(i) = isolation {
                    let name = crate::settings::isolation_name(i);
                    self.set_setting_value("default_transaction_isolation", Some(name), false)?;
                }
                if let Some(r) = read_only {
                    let value = if r { "on" } else { "off" };
                    self.set_setting_value("default_transaction_read_only", Some(value), false)?;
                }
                command("SET")
            }
            Statement::SetConstraints { names, deferred } => {
                if aborted {
                    return Err(aborted_error());
                }
                self.set_constraints(&names, deferred)?;
                command("SET CONSTRAINTS")
            }
            Statement::Show(name) => {
                if aborted {
                    return Err(aborted_error());
                }
                self.show(&name)
            }
            Statement::Noop(tag) => {
                let all = tag == "DISCARD ALL";
                if all && self.block.as_ref().is_some_and(|b| b.explicit) {
                    return Err(errinput!(
                        ACTIVE_SQL_TRANSACTION,
                        "DISCARD ALL cannot run inside a transaction block"
                    ));
                }
                if all {
                    self.prepared.clear();
                    self.cursors.clear();
                    let fresh = Settings::default();
                    self.restore_settings(&fresh);
                    self.db.shared.advisory.release(self.pid, true);
                }
                if all || tag == "DISCARD PLANS" {
                    self.plans.borrow_mut().clear();
                    self.lifts.borrow_mut().clear();
                }
                if all || tag == "DISCARD SEQUENCES" {
                    self.currval.borrow_mut().clear();
                    self.lastval.set(None);
                }
                if (all || tag == "DISCARD TEMP") && self.temp_schema.get() {
                    let sql =
                        format!("drop schema if exists {} cascade", temp_schema_name(self.pid));
                    self.execute(&sql)?;
                    self.temp_schema.set(false);
                }
                command(&tag)
            }
            other => Err(errinput!(INTERNAL_ERROR, "unexpected control statement {other:?}")),
        }
    }

    /// SET CONSTRAINTS: checks the names (42704 for none such, 42809 for one that cannot be
    /// deferred), records the mode for the rest of the transaction, and makes the deferred
    /// checks of constraints that became IMMEDIATE now, as PostgreSQL does.
    fn set_constraints(
        &mut self,
        names: &[(Option<String>, String)],
        deferred: bool,
    ) -> Result<()> {
        use crate::catalog::{ConstraintKind, Deferral, Table};
        self.with_bind_txn(|session, txn| {
            let snapshot = session.env(txn, None).system_snapshot(txn)?;
            for (schema, name) in names {
                let in_schema = |t: &&Table| schema.as_ref().is_none_or(|s| *s == t.schema);
                let tables: Vec<&Table> = snapshot.tables.iter().filter(in_schema).collect();
                let foreign_keys: Vec<_> = tables
                    .iter()
                    .flat_map(|t| &t.constraints)
                    .filter(|c| {
                        c.name == *name && matches!(c.kind, ConstraintKind::ForeignKey { .. })
                    })
                    .collect();
                let other = tables.iter().any(|t| {
                    *name == format!("{}_pkey", t.name)
                        || t.indexes.iter().any(|i| i.name == *name)
                        || t.constraints.iter().any(|c| c.name == *name)
                });
                if foreign_keys.is_empty() && !other {
                    return Err(errinput!(
                        UNDEFINED_OBJECT,
                        "constraint \"{name}\" does not exist"
                    ));
                }
                if foreign_keys.is_empty()
                    || foreign_keys.iter().any(|c| c.deferral == Deferral::NotDeferrable)
                {
                    return Err(errinput!(
                        WRONG_OBJECT_TYPE,
                        "constraint \"{name}\" is not deferrable"
                    ));
                }
            }
            Ok(())
        })?;
        let Some(block) = self.block.as_ref().filter(|b| b.explicit) else {
            self.warn("SET CONSTRAINTS can only be used in transaction blocks");
            return Ok(());
        };
        {
            let mut modes = block.constraint_modes.borrow_mut();
            if names.is_empty() {
                *modes = (Some(deferred), HashMap::new());
            } else {
                for (_, name) in names {
                    modes.1.insert(name.clone(), deferred);
                }
            }
        }
        if deferred {
            return Ok(());
        }
        let now_immediate = |check: &crate::exec::storage::DeferredCheck| {
            use crate::exec::storage::DeferredCheck as D;
            let (D::Child { constraint, .. } | D::Parent { constraint, .. }) = check;
            names.is_empty() || names.iter().any(|(_, n)| n == constraint)
        };
        let (due, rest): (Vec<_>, Vec<_>) =
            block.deferred.take().into_iter().partition(now_immediate);
        *block.deferred.borrow_mut() = rest;
        if due.is_empty() {
            return Ok(());
        }
        let result = self.in_transaction(|session, txn| {
            let env = session.env(txn, None);
            let ctx = ExecCtx::new(txn, session.catalog(), &env, &[]);
            crate::exec::storage::run_deferred(&ctx, &due)
        });
        self.finish_statement(result)
    }

    fn check_not_aborted(&self) -> Result<()> {
        if self.block.as_ref().is_some_and(|b| b.aborted) { Err(aborted_error()) } else { Ok(()) }
    }

    fn require_block(&self, what: &str) -> Result<()> {
        if self.block.as_ref().is_some_and(|b| b.explicit) {
            Ok(())
        } else {
            Err(errinput!(
                NO_ACTIVE_SQL_TRANSACTION,
                "{what} can only be used in transaction blocks"
            ))
        }
    }

    /// SET / set_config: applies a setting, remembering the old value for SET LOCAL.
    fn set_setting_value(&self, name: &str, value: Option<&str>, local: bool) -> Result<()> {
        if let Some(block) = &self.block {
            let mut saved = block.saved_settings.borrow_mut();
            if saved.is_none() {
                *saved = Some(self.settings.borrow().clone());
            }
        }
        let old = self.settings.borrow().get(name)?;
        let authorization;
        let canonical_name = crate::settings::canonical(name);
        if matches!(canonical_name.as_str(), "role" | "session_authorization")
            && !self.definers.borrow().is_empty()
        {
            return Err(errinput!(
                INSUFFICIENT_PRIVILEGE,
                "cannot set parameter \"{canonical_name}\" within security-definer function"
            ));
        }
        let value = match canonical_name.as_str() {
            "role" => {
                self.check_set_role(value)?;
                value
            }
            "session_authorization" => {
                authorization = self.check_session_authorization(value)?;
                Some(authorization.as_str())
            }
            _ => value,
        };
        let (canonical, reported) = self.settings.borrow_mut().set(name, value)?;
        if local && self.block.is_some() {
            self.local_saved.borrow_mut().push((canonical.clone(), old));
        }
        if canonical == "search_path" {
            self.plans.borrow_mut().clear();
            self.lifts.borrow_mut().clear();
            self.relations.clear();
        }
        if canonical == "session_authorization" {
            // Becoming another session user ends SET ROLE, as in PostgreSQL.
            let role = self.settings.borrow().get("role")?;
            if local && self.block.is_some() {
                self.local_saved.borrow_mut().push(("role".into(), role));
            }
            self.settings.borrow_mut().set("role", None)?;
        }
        if matches!(canonical.as_str(), "role" | "session_authorization") {
            self.identity_changed();
        }
        if reported {
            let v = self.settings.borrow().get(&canonical)?.unwrap_or_default();
            self.parameter_changes
                .borrow_mut()
                .push((crate::settings::reported_name(&canonical).into(), v));
        }
        Ok(())
    }

    fn show(&self, name: &str) -> Result<Output> {
        if name == "all" {
            let rows: Vec<Row> = self
                .settings
                .borrow()
                .all()
                .into_iter()
                .map(|(n, v, d)| vec![Value::Text(n), Value::Text(v), Value::Text(d)])
                .collect();
            let tag = format!("SHOW {}", rows.len());
            let columns = ["name", "setting", "description"]
                .iter()
                .map(|n| OutputColumn { name: (*n).into(), data_type: DataType::Text })
                .collect();
            return Ok(Output::Rows { columns, rows, tag });
        }
        let value = self.setting_value(name)?.ok_or_else(|| {
            errinput!(UNDEFINED_OBJECT, "unrecognized configuration parameter \"{name}\"")
        })?;
        let column = crate::settings::reported_name(&crate::settings::canonical(name)).to_string();
        Ok(Output::Rows {
            columns: vec![OutputColumn { name: column, data_type: DataType::Text }],
            rows: vec![vec![Value::Text(value)]],
            tag: "SHOW".into(),
        })
    }

    /// A setting's value, with the transaction's own (isolation, read-only).
    fn setting_value(&self, name: &str) -> Result<Option<String>> {
        let block_options = self.block.as_ref().map(|b| (b.options.isolation, b.options.read_only));
        let settings = self.settings.borrow();
        match crate::settings::canonical(name).as_str() {
            "transaction_isolation" | "transaction isolation level" => Ok(Some(
                isolation_name(block_options.map_or(settings.default_isolation, |o| o.0)).into(),
            )),
            "transaction_read_only" => Ok(Some(
                if block_options.map_or(settings.default_read_only, |o| o.1) {
                    "on"
                } else {
                    "off"
                }
                .into(),
            )),
            "session_authorization" | "session authorization" => Ok(Some(self.session_user())),
            _ => settings.get(name),
        }
    }

    /// EXECUTE's parameters: constant expressions.
    fn constant_params(&mut self, exprs: &[ast::Expr], types: &[DataType]) -> Result<Vec<Value>> {
        if exprs.len() != types.len() {
            return Err(errinput!(
                SYNTAX_ERROR,
                "wrong number of parameters for prepared statement: expected {}, got {}",
                types.len(),
                exprs.len()
            ));
        }
        let select = format!(
            "SELECT {}",
            exprs
                .iter()
                .zip(types)
                .map(|(e, t)| format!("CAST({e} AS {})", t.name()))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let statements = crate::parse::parse(&select)?;
        let [statement] = statements.as_slice() else {
            return Err(errinput!(SYNTAX_ERROR, "invalid EXECUTE parameters"));
        };
        let values = self.with_bind_txn(|session, txn| {
            let env = session.env(txn, None);
            let bound = Binder::new(&env, vec![]).bind(statement)?;
            let Statement::Query(plan) = bound else {
                return Err(errinput!(SYNTAX_ERROR, "invalid EXECUTE parameters"));
            };
            let ctx = ExecCtx::new(txn, session.catalog(), &env, &[]);
            let rows = exec::collect(exec::execute(&plan, &ctx)?, &ctx)?;
            rows.into_iter().next().ok_or_else(|| errinput!(INTERNAL_ERROR, "no parameter row"))
        })?;
        Ok(values)
    }
}

#[allow(dead_code)]
fn assert_send() {
    fn is_send<T: Send>() {}
    is_send::<Session>();
    is_send::<Output>();
    is_send::<Prepared>();
}

impl Drop for Session {
    fn drop(&mut self) {
        self.rollback_block();
        self.db.shared.advisory.release(self.pid, true);
        if self.temp_schema.get() {
            // Temporary tables end with their session. NB: if this fails, or the process
            // dies first, the schema stays until Database::open drops every `pg_temp_*`.
            let sql = format!("drop schema if exists {} cascade", temp_schema_name(self.pid));
            let _ = self.execute(&sql);
        }
        self.db.shared.notifier.remove(self.pid);
        // Debug sessions this session drove end with it (rolled back), not paused forever.
        self.db.shared.debug.end_owned_by(self.pid);
        self.db.unregister(self.pid);
    }
}

/// The schema holding a session's temporary tables.
pub(crate) fn temp_schema_name(pid: i32) -> String {
    format!("pg_temp_{pid}")
}

fn apply_modes(
    block: &mut Block,
    isolation: Option<Isolation>,
    read_only: Option<bool>,
) -> Result<()> {
    if let Some(i) = isolation {
        block.options.isolation = i;
    }
    if let Some(r) = read_only {
        if block.txn.is_some() && !r && block.options.read_only {
            return Err(errinput!(
                ACTIVE_SQL_TRANSACTION,
                "transaction read-write mode must be set before any query"
            ));
        }
        block.options.read_only = r;
    }
    Ok(())
}

/// The identifier `pg_export_snapshot()` gives a transaction's snapshot: its timestamp.
pub(crate) fn snapshot_id(ts: u64) -> String {
    format!("{ts:016X}-1")
}

/// SET TRANSACTION SNAPSHOT: the block's transaction will read at the snapshot another
/// transaction exported (as PostgreSQL's, in REPEATABLE READ or SERIALIZABLE, before any
/// query). Its versions are kept while the exporting transaction runs; a snapshot the
/// store no longer holds fails when the transaction starts.
fn import_snapshot(block: &mut Block, id: &str) -> Result<()> {
    if block.txn.is_some() {
        return Err(errinput!(
            ACTIVE_SQL_TRANSACTION,
            "SET TRANSACTION SNAPSHOT must be called before any query"
        ));
    }
    if block.options.isolation == Isolation::ReadCommitted {
        return Err(errinput!(
            FEATURE_NOT_SUPPORTED,
            "a snapshot-importing transaction must have isolation level SERIALIZABLE or REPEATABLE READ"
        ));
    }
    if !block.options.read_only {
        return Err(errinput!(
            FEATURE_NOT_SUPPORTED,
            "a snapshot-importing transaction must be READ ONLY in Oxibase"
        ));
    }
    let ts = id
        .strip_suffix("-1")
        .and_then(|hex| u64::from_str_radix(hex, 16).ok())
        .filter(|_| id.len() == 18)
        .ok_or_else(|| {
            errinput!(INVALID_PARAMETER_VALUE, "invalid snapshot identifier: \"{id}\"")
        })?;
    block.options.as_of = Some(ts);
    Ok(())
}

fn aborted_error() -> Error {
    errinput!(
        IN_FAILED_SQL_TRANSACTION,
        "current transaction is aborted, commands ignored until end of transaction block"
    )
}

/// Statements the session handles itself, without a transaction.
pub(crate) fn is_control(statement: &ast::Statement) -> bool {
    use ast::Statement as S;
    matches!(
        statement,
        S::StartTransaction { .. }
            | S::Commit { .. }
            | S::Rollback { .. }
            | S::Savepoint { .. }
            | S::ReleaseSavepoint { .. }
            | S::Set(_)
            | S::ShowVariable { .. }
            | S::Discard { .. }
            | S::Deallocate { .. }
            | S::Prepare { .. }
            | S::Execute { name: Some(_), .. }
            | S::Reset(_)
            | S::LISTEN { .. }
            | S::UNLISTEN { .. }
            | S::NOTIFY { .. }
    )
}

/// The result columns of a control statement (SHOW has one), or None if not one.
fn control_columns(statement: &ast::Statement) -> Option<Vec<OutputColumn>> {
    if !is_control(statement) {
        return None;
    }
    Some(match statement {
        ast::Statement::ShowVariable { variable } => {
            let name =
                variable.iter().map(|i| i.value.to_lowercase()).collect::<Vec<_>>().join(" ");
            if name == "all" {
                ["name", "setting", "description"]
                    .iter()
                    .map(|n| OutputColumn { name: (*n).into(), data_type: DataType::Text })
                    .collect()
            } else {
                let canonical = crate::settings::canonical(&bind::normalize_setting(&name));
                vec![OutputColumn {
                    name: crate::settings::reported_name(&canonical).into(),
                    data_type: DataType::Text,
                }]
            }
        }
        _ => vec![],
    })
}

fn plan_columns(plan: &Plan) -> Vec<OutputColumn> {
    plan.columns
        .iter()
        .filter(|c| !c.hidden)
        .map(|c: &Column| OutputColumn { name: c.name.clone(), data_type: c.data_type.clone() })
        .collect()
}

/// The columns a bound statement returns (none for a command without RETURNING).
pub(crate) fn output_columns(statement: &Statement) -> Vec<OutputColumn> {
    let returning = |r: Option<&bind::Returning>| {
        r.map(|r| {
            r.columns
                .iter()
                .map(|c| OutputColumn { name: c.name.clone(), data_type: c.data_type.clone() })
                .collect()
        })
        .unwrap_or_default()
    };
    match statement {
        Statement::Query(plan) => plan_columns(plan),
        Statement::Insert(i) => returning(i.returning.as_ref()),
        Statement::Update(u) => returning(u.returning.as_ref()),
        Statement::Delete(d) => returning(d.returning.as_ref()),
        Statement::Explain { .. } => {
            vec![OutputColumn { name: "QUERY PLAN".into(), data_type: DataType::Text }]
        }
        Statement::Call { routine, .. } => match &routine.returns {
            crate::procedure::Returns::Out(columns) => out_columns(columns),
            _ => vec![],
        },
        _ => vec![],
    }
}

/// What a CALL returns: a procedure with OUT or INOUT parameters gives one row of their
/// values, as PostgreSQL does; others only their tag.
pub(crate) fn call_output(
    routine: &crate::procedure::Routine,
    result: crate::procedure::CallResult,
) -> Output {
    let tag = routine.call_tag().to_string();
    let crate::procedure::Returns::Out(columns) = &routine.returns else {
        return Output::Command { tag };
    };
    let rows = match result {
        crate::procedure::CallResult::Rows(rows) => rows,
        crate::procedure::CallResult::Value(v) => vec![vec![v]],
    };
    Output::Rows { columns: out_columns(columns), rows, tag }
}

fn out_columns(columns: &[(String, DataType)]) -> Vec<OutputColumn> {
    columns
        .iter()
        .enumerate()
        .map(|(i, (name, ty))| OutputColumn {
            // An unnamed OUT parameter is named by position, as PostgreSQL names it.
            name: if name.is_empty() { format!("column{}", i + 1) } else { name.clone() },
            data_type: ty.clone(),
        })
        .collect()
}

fn dml_output(tag: String, returning: Option<&bind::Returning>, rows: Vec<Row>) -> Output {
    match returning {
        Some(r) => Output::Rows {
            columns: r
                .columns
                .iter()
                .map(|c| OutputColumn { name: c.name.clone(), data_type: c.data_type.clone() })
                .collect(),
            rows,
            tag,
        },
        None => Output::Command { tag },
    }
}

/// The tables a statement writes: its own target (COPY FROM's included) and those of
/// data-modifying CTEs, which the binder hangs on a `ModifyFirst` at the root of the
/// statement's (or source's) plan.
fn write_targets(statement: &Statement) -> Vec<&crate::catalog::Table> {
    let (target, plan) = match statement {
        Statement::Insert(i) => (Some(&i.table), &i.source),
        Statement::Update(u) => (Some(&u.table), &u.source),
        Statement::Delete(d) => (Some(&d.table), &d.source),
        Statement::Merge(m) => (Some(&m.table), &m.source),
        Statement::Query(p) => (None, p),
        Statement::Copy(c) if c.from => return c.table.iter().map(|t| &**t).collect(),
        _ => return Vec::new(),
    };
    let mut out: Vec<&crate::catalog::Table> = target.map(|t| &**t).into_iter().collect();
    if let crate::plan::Node::ModifyFirst { ctes, .. } = &plan.node {
        for (_, cte) in ctes {
            if let crate::plan::Node::Modify { statement } = &cte.node {
                let table = match statement.as_ref() {
                    crate::plan::Modify::Insert(i) => &i.table,
                    crate::plan::Modify::Update(u) => &u.table,
                    crate::plan::Modify::Delete(d) => &d.table,
                };
                out.push(table);
            }
        }
    }
    out
}

fn cacheable(statement: &Statement) -> bool {
    matches!(
        statement,
        Statement::Query(_)
            | Statement::Insert(_)
            | Statement::Update(_)
            | Statement::Delete(_)
            | Statement::Merge(_)
            | Statement::Call { .. }
    )
}

fn optimize_statement(statement: Statement) -> Statement {
    match statement {
        Statement::Query(plan) => Statement::Query(optimize(plan)),
        Statement::Insert(mut i) => {
            i.source = optimize(std::mem::replace(&mut i.source, Plan::single_row()));
            Statement::Insert(i)
        }
        Statement::Update(mut u) => {
            u.source = optimize(std::mem::replace(&mut u.source, Plan::single_row()));
            Statement::Update(u)
        }
        Statement::Delete(mut d) => {
            d.source = optimize(std::mem::replace(&mut d.source, Plan::single_row()));
            Statement::Delete(d)
        }
        Statement::Merge(mut m) => {
            m.source = optimize(std::mem::replace(&mut m.source, Plan::single_row()));
            Statement::Merge(m)
        }
        Statement::Explain { statement, analyze } => {
            Statement::Explain { statement: Box::new(optimize_statement(*statement)), analyze }
        }
        Statement::Copy(mut c) => {
            c.query = c.query.map(optimize);
            Statement::Copy(c)
        }
        other => other,
    }
}

fn copy_clone(c: &CopyStatement) -> CopyStatement {
    CopyStatement {
        table: c.table.clone(),
        row_check: c.row_check.clone(),
        columns: c.columns.clone(),
        query: c.query.clone(),
        from: c.from,
        csv: c.csv,
        binary: c.binary,
        header: c.header,
        delimiter: c.delimiter,
        null: c.null.clone(),
        quote: c.quote,
        escape: c.escape,
        file: c.file.clone(),
    }
}

/// The SQL type of a value (for parameters given as values).
pub fn value_type(v: &Value) -> DataType {
    v.data_type().unwrap_or(DataType::Text)
}

/// What a statement runs with: the session, its transaction, and per-statement state.
struct Env<'a> {
    session: &'a Session,
    txn: &'a Transaction,
    zone: Zone,
    statement_ts: i64,
    transaction_ts: i64,
    deadline: Option<Instant>,
    generation: u64,
    cacheable: bool,
    /// What the executor's stored-expression cache keys on: the catalog generation, or
    /// one number of this statement's own where the catalog changed in its transaction.
    expr_generation: u64,
    /// The catalog as the system views show it, built once per statement.
    snapshot: RefCell<Option<Arc<CatalogSnapshot>>>,
    /// The roles and ACLs, read once per statement when the session's cache cannot be used.
    access: RefCell<Option<Arc<crate::catalog::acl::RoleGraph>>>,
    /// Whether the current role is a superuser (with the role it was found for), asked
    /// once per statement: nextval and name lookups ask it per call.
    superuser: RefCell<Option<(String, bool)>>,
}

impl Env<'_> {
    /// Each view read as `SELECT * FROM` it: its columns as a query sees them. A view that
    /// no longer binds (or the role may not read) lists none.
    fn bind_view_columns(&self, snapshot: &mut CatalogSnapshot) {
        use crate::functions::string::quote_identifier as quote;
        let binder = crate::bind::Binder::new(self, Vec::new());
        for (schema, name, id, _) in &snapshot.views {
            let sql = format!("select * from {}.{}", quote(schema), quote(name));
            let Ok(sqlparser::ast::Statement::Query(query)) = crate::parse::parse_one(&sql) else {
                continue;
            };
            let Ok(plan) = binder.bind_query_plan(&query) else { continue };
            let columns = plan
                .columns
                .iter()
                .filter(|c| !c.hidden)
                .map(|c| crate::catalog::Column::new(c.name.clone(), c.data_type.clone()))
                .collect();
            snapshot.view_tables.push(crate::catalog::Table::plain(
                *id,
                schema.clone(),
                name.clone(),
                columns,
            ));
        }
    }

    /// Whether the current role is a superuser, remembered for the statement.
    fn is_superuser(&self) -> Result<bool> {
        let me = self.session.current_user();
        if let Some((role, superuser)) = self.superuser.borrow().as_ref()
            && *role == me
        {
            return Ok(*superuser);
        }
        let superuser = crate::privileges::is_superuser(self)?;
        *self.superuser.borrow_mut() = Some((me, superuser));
        Ok(superuser)
    }
}

impl Env<'_> {
    /// The search path with `$user` resolved, pg_catalog first.
    fn resolved_search_path(&self) -> Vec<String> {
        let settings = self.session.settings.borrow();
        let mut out = Vec::with_capacity(settings.search_path.len() + 2);
        // As in PostgreSQL, the temporary schema is searched first for relations.
        if self.session.temp_schema.get() {
            out.push(temp_schema_name(self.session.pid));
        }
        if !settings.search_path.iter().any(|s| s == "pg_catalog") {
            out.push("pg_catalog".to_string());
        }
        let me = self.session.current_user();
        for s in &settings.search_path {
            let s = if s == "$user" { me.clone() } else { s.clone() };
            if !out.contains(&s) {
                out.push(s);
            }
        }
        drop(settings);
        // As in PostgreSQL, a schema the role may not use is left out of the path.
        if !self.is_superuser().unwrap_or(true) {
            out.retain(|s| self.schema_usage(s).unwrap_or(true));
        }
        out
    }

    /// Whether the current role may use a schema (true for one that does not exist: the
    /// lookup in it finds nothing anyway).
    fn schema_usage(&self, schema: &str) -> Result<bool> {
        let Some(id) = self.session.catalog().schema_id(self.txn, schema)? else {
            return Ok(true);
        };
        let object = crate::privileges::AclObject::schema(id, schema);
        Ok(crate::privileges::check(self, &object, crate::catalog::acl::USAGE, false, None).is_ok())
    }

    fn lookup(&self, schema: &str, name: &str) -> Result<Option<Relation>> {
        if matches!(schema, "pg_catalog" | "information_schema")
            && let Some(t) = SystemTable::lookup(Some(schema), name)
        {
            return Ok(Some(Relation::System(t)));
        }
        let key = (schema.to_string(), name.to_string());
        if self.cacheable
            && let Some(relation) = self.session.relations.get(&key, self.generation)
        {
            return Ok(relation);
        }
        let catalog = self.session.catalog();
        let relation = match catalog.relation(self.txn, schema, name)? {
            None => None,
            Some((id, RelKind::Table)) => {
                catalog.table_by_id(self.txn, id)?.map(|t| Relation::Table(Arc::new(t)))
            }
            Some((id, RelKind::View)) => {
                let check_option = catalog.view_check_option(self.txn, id)?;
                catalog.view(self.txn, schema, name)?.map(|sql| Relation::View {
                    id,
                    schema: schema.to_string(),
                    name: name.to_string(),
                    sql,
                    check_option,
                })
            }
            Some((_, RelKind::Sequence)) => {
                catalog.sequence(self.txn, schema, name)?.map(Relation::Sequence)
            }
            Some((_, RelKind::Index)) => {
                return Err(errinput!(WRONG_OBJECT_TYPE, "\"{name}\" is an index"));
            }
            Some((_, RelKind::Type | RelKind::Domain | RelKind::Composite)) => None,
        };
        if self.cacheable {
            self.session.relations.insert(key, self.generation, relation.clone());
        }
        Ok(relation)
    }

    /// Finds a sequence by the text name nextval() and friends take.
    fn sequence_by_name(&self, text: &str) -> Result<crate::catalog::Sequence> {
        let parts = split_qualified(text);
        let (schema, name) = match parts.as_slice() {
            [name] => (None, name.clone()),
            [schema, name] => (Some(schema.clone()), name.clone()),
            [_, schema, name] => (Some(schema.clone()), name.clone()),
            _ => {
                return Err(errinput!(
                    INVALID_NAME,
                    "improper relation name (too many dotted names): {text}"
                ));
            }
        };
        match self.relation(schema.as_deref(), &name)? {
            Some(Relation::Sequence(s)) => Ok(s),
            Some(_) => Err(errinput!(WRONG_OBJECT_TYPE, "\"{name}\" is not a sequence")),
            None => Err(errinput!(UNDEFINED_TABLE, "relation \"{text}\" does not exist")),
        }
    }
}

/// Splits `a.b` / `"A".b` as regclass input does (unquoted parts fold to lowercase).
fn split_qualified(text: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut chars = text.trim().chars().peekable();
    let mut was_quoted = false;
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                current.push('"');
                chars.next();
            }
            '"' => {
                quoted = !quoted;
                was_quoted = true;
            }
            '.' if !quoted => {
                parts.push(if was_quoted {
                    std::mem::take(&mut current)
                } else {
                    std::mem::take(&mut current).to_lowercase()
                });
                was_quoted = false;
            }
            c => current.push(c),
        }
    }
    parts.push(if was_quoted { current } else { current.to_lowercase() });
    parts
}

impl BindEnv for Env<'_> {
    fn database(&self) -> Option<String> {
        Some(self.session.db.name().to_string())
    }

    fn enum_type(
        &self,
        schema: Option<&str>,
        name: &str,
    ) -> Result<Option<Arc<oxibase_common::EnumType>>> {
        self.on_search_path(schema, |s| self.session.catalog().enum_type(self.txn, s, name))
    }

    fn domain(
        &self,
        schema: Option<&str>,
        name: &str,
    ) -> Result<Option<Arc<crate::catalog::Domain>>> {
        self.on_search_path(schema, |s| self.session.catalog().domain(self.txn, s, name))
    }

    fn composite_type(
        &self,
        schema: Option<&str>,
        name: &str,
    ) -> Result<Option<Arc<oxibase_common::RecordType>>> {
        self.on_search_path(schema, |s| self.session.catalog().composite_type(self.txn, s, name))
    }

    fn routine(
        &self,
        schema: Option<&str>,
        name: &str,
    ) -> Result<Option<Arc<crate::procedure::Routine>>> {
        self.find_routine(schema, name)
    }

    fn access(&self) -> Result<Arc<crate::catalog::acl::RoleGraph>> {
        let cached = if self.cacheable {
            self.session.access.get(&(), self.generation)
        } else {
            self.access.borrow().clone()
        };
        if let Some(graph) = cached {
            return Ok(graph);
        }
        let graph =
            Arc::new(crate::catalog::acl::RoleGraph::load(self.session.catalog(), self.txn)?);
        if self.cacheable {
            self.session.access.insert((), self.generation, graph.clone());
        } else {
            *self.access.borrow_mut() = Some(graph.clone());
        }
        Ok(graph)
    }

    fn object_acl(
        &self,
        kind: crate::catalog::acl::ObjectKind,
        id: RelId,
    ) -> Result<crate::catalog::acl::Acl> {
        let key = (kind.key(), id);
        if self.cacheable
            && let Some(acl) = self.session.acls.get(&key, self.generation)
        {
            return Ok(acl);
        }
        let acl = self.session.catalog().object_acl(self.txn, kind, id)?;
        if self.cacheable {
            self.session.acls.insert(key, self.generation, acl.clone());
        }
        Ok(acl)
    }

    fn current_role(&self) -> String {
        self.session.current_user()
    }

    fn session_user(&self) -> String {
        self.session.session_user()
    }

    fn setting(&self, name: &str) -> Result<Option<String>> {
        self.session.setting_value(name)
    }

    fn relation(&self, schema: Option<&str>, name: &str) -> Result<Option<Relation>> {
        match schema {
            Some(s) => {
                if !matches!(s, "pg_catalog" | "information_schema")
                    && !self.is_superuser()?
                    && !self.schema_usage(s)?
                {
                    return Err(errinput!(
                        INSUFFICIENT_PRIVILEGE,
                        "permission denied for schema {s}"
                    ));
                }
                self.lookup(s, name)
            }
            None => {
                for s in self.resolved_search_path() {
                    if let Some(r) = self.lookup(&s, name)? {
                        return Ok(Some(r));
                    }
                }
                Ok(None)
            }
        }
    }

    fn creation_schema(&self) -> Result<String> {
        let settings_path = self.session.settings.borrow().search_path.clone();
        for s in settings_path {
            let s = if s == "$user" { self.session.current_user() } else { s };
            if s == "pg_catalog" {
                continue;
            }
            if self.session.catalog().schema_id(self.txn, &s)?.is_some() {
                return Ok(s);
            }
        }
        Err(errinput!(INVALID_SCHEMA_NAME, "no schema has been selected to create in"))
    }

    fn search_path(&self) -> Vec<String> {
        self.resolved_search_path()
    }

    fn temp_schema(&self) -> Result<String> {
        self.session.temp_schema.set(true);
        Ok(temp_schema_name(self.session.pid))
    }

    fn relation_oid(&self, schema: Option<&str>, name: &str) -> Result<Option<i64>> {
        let schemas = match schema {
            Some(s) => vec![s.to_string()],
            None => self.resolved_search_path(),
        };
        for s in schemas {
            if let Some((id, _)) = self.session.catalog().relation(self.txn, &s, name)? {
                return Ok(Some(id as i64));
            }
        }
        Ok(None)
    }
}

impl Env<'_> {
    /// Whether this session may signal session `pid` (false, with a warning, when there is
    /// no such session): a superuser, or the same role, as PostgreSQL allows.
    fn may_signal(&self, pid: i32, what: &str) -> Result<bool> {
        let db = &self.session.db;
        let Some(target) = db.sessions().into_iter().find(|s| s.pid == pid) else {
            self.session.warn(format!("PID {pid} is not an Oxibase server process"));
            return Ok(false);
        };
        let me = &self.session.current_user();
        let superuser = db.catalog().role(self.txn, me)?.is_some_and(|r| r.superuser);
        if target.user != *me && !superuser {
            return Err(errinput!(INSUFFICIENT_PRIVILEGE, "permission denied to {what}").with_detail(
                format!(
                    "Only roles with the SUPERUSER attribute may {what} of other roles, or the role \"{}\" itself.",
                    target.user
                ),
            ));
        }
        Ok(true)
    }
}

impl FunctionEnv for Env<'_> {
    fn notify(&self, channel: &str, payload: &str) -> Result<()> {
        self.session.queue_notify(channel, payload)
    }

    fn blocking_pids(&self, pid: i32) -> Result<Vec<i32>> {
        Ok(self.session.db.blocking_pids(pid))
    }

    fn debug(&self, op: crate::functions::DebugOp) -> Result<String> {
        use crate::debug::{Step, state_json};
        use crate::functions::DebugOp;
        const WAIT: std::time::Duration = std::time::Duration::from_secs(30);
        let db = &self.session.db;
        let me = &self.session.current_user();
        let superuser = db.catalog().role(self.txn, me)?.is_some_and(|r| r.superuser);
        if !superuser {
            return Err(errinput!(INSUFFICIENT_PRIVILEGE, "permission denied to debug routines")
                .with_hint(
                    "Only roles with the SUPERUSER attribute may run routines under the debugger.",
                ));
        }
        let sessions = &db.shared.debug;
        let find = |id: i32| {
            u32::try_from(id)
                .ok()
                .and_then(|id| sessions.get(id))
                .ok_or_else(|| errinput!(UNDEFINED_OBJECT, "debug session {id} does not exist"))
        };
        let json = |d: &crate::debug::DebugSession, state: &crate::debug::State| {
            state_json(d.id, state, &d.breakpoints(), &d.line_breakpoints())
        };
        Ok(match op {
            DebugOp::Start(sql) => {
                let debug = sessions.start(me, self.session.pid, &sql, db.session_for(me));
                // The first stop, or the end if no routine runs.
                let state = debug.wait_stopped(WAIT);
                json(&debug, &state)
            }
            DebugOp::Step(id, how) => {
                let debug = find(id)?;
                let step = match how.to_ascii_lowercase().as_str() {
                    "into" | "step" | "s" => Step::Into,
                    "over" | "next" | "n" => Step::Over,
                    "out" | "finish" | "o" => Step::Out,
                    "continue" | "c" => Step::Continue,
                    other => {
                        return Err(errinput!(
                            INVALID_PARAMETER_VALUE,
                            "unknown debugger step \"{other}\""
                        )
                        .with_hint("Use into, over, out or continue."));
                    }
                };
                let state = debug.step(step, WAIT);
                json(&debug, &state)
            }
            DebugOp::Breakpoint(id, function, pc) => {
                let debug = find(id)?;
                if function < 0 {
                    debug.toggle_line_breakpoint(pc.max(0) as u32);
                } else {
                    debug.toggle_breakpoint(function as u32, pc.max(0) as u32);
                }
                json(&debug, &debug.state())
            }
            DebugOp::State(id) => {
                let debug = find(id)?;
                json(&debug, &debug.state())
            }
            DebugOp::End(id, commit) => {
                let debug = find(id)?;
                if matches!(debug.state().status, crate::debug::Status::Running)
                    && let Some(pid) = *debug.pid.lock()
                {
                    // Not at a stop (waiting for a lock, say): cancel what it waits for.
                    db.cancel_pid(pid);
                }
                let state = sessions.end(debug.id, commit, WAIT).unwrap_or_else(|| debug.state());
                json(&debug, &state)
            }
        })
    }

    fn cancel_backend(&self, pid: i32) -> Result<bool> {
        Ok(self.may_signal(pid, "cancel query")? && self.session.db.cancel_pid(pid))
    }

    fn promote(&self) -> Result<bool> {
        let db = &self.session.db;
        let me = &self.session.current_user();
        if !db.catalog().role(self.txn, me)?.is_some_and(|r| r.superuser) {
            return Err(errinput!(INSUFFICIENT_PRIVILEGE, "permission denied to promote")
                .with_detail("Only roles with the SUPERUSER attribute may promote a replica."));
        }
        if !db.promote()? {
            return Err(errinput!(OBJECT_NOT_IN_PREREQUISITE_STATE, "recovery is not in progress")
                .with_hint("pg_promote() promotes a read replica; this server is a leader."));
        }
        Ok(true)
    }

    fn terminate_backend(&self, pid: i32, timeout: Option<std::time::Duration>) -> Result<bool> {
        let db = &self.session.db;
        if !(self.may_signal(pid, "terminate process")? && db.terminate_pid(pid)) {
            return Ok(false);
        }
        let Some(timeout) = timeout else { return Ok(true) };
        let deadline = Instant::now() + timeout;
        while db.sessions().iter().any(|s| s.pid == pid) {
            if Instant::now() >= deadline {
                self.session.warn(format!(
                    "backend with PID {pid} did not terminate within {} milliseconds",
                    timeout.as_millis()
                ));
                return Ok(false);
            }
            self.check_interrupt()?;
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        Ok(true)
    }

    fn zone(&self) -> &Zone {
        &self.zone
    }

    fn statement_ts(&self) -> i64 {
        self.statement_ts
    }

    fn transaction_ts(&self) -> i64 {
        self.transaction_ts
    }

    fn session_value(&self, what: SessionValue) -> Result<Value> {
        Ok(match what {
            SessionValue::User => Value::Text(self.session.current_user()),
            SessionValue::SessionUser => Value::Text(self.session.session_user()),
            SessionValue::Database => Value::Text(self.session.db.name().to_string()),
            SessionValue::Schema => {
                for s in self.resolved_search_path() {
                    if s != "pg_catalog"
                        && self.session.catalog().schema_id(self.txn, &s)?.is_some()
                    {
                        return Ok(Value::Text(s));
                    }
                }
                Value::Null
            }
            SessionValue::SearchPath => {
                let named = self.session.settings.borrow().search_path.clone();
                let me = self.session.current_user();
                let mut elements = Vec::new();
                for s in named {
                    let s = if s == "$user" { me.clone() } else { s };
                    let exists = self.session.catalog().schema_id(self.txn, &s)?.is_some()
                        || s == "pg_catalog"
                        || s == "information_schema";
                    if exists && !elements.contains(&Value::Text(s.clone())) {
                        elements.push(Value::Text(s));
                    }
                }
                Value::Array(Box::new(oxibase_common::Array {
                    element_type: oxibase_common::DataType::Text,
                    elements,
                }))
            }
            SessionValue::BackendPid => Value::Int4(self.session.pid),
            SessionValue::TransactionId => Value::Int8(self.txn.id() as i64),
        })
    }

    fn setting(&self, name: &str) -> Result<Option<String>> {
        self.session.setting_value(name)
    }

    fn advisory(
        &self,
        op: crate::functions::AdvisoryOp,
        key: crate::advisory::AdvisoryKey,
    ) -> Result<bool> {
        use crate::functions::AdvisoryAction::*;
        let locks = &self.session.db.shared.advisory;
        let pid = self.session.pid;
        Ok(match op.action {
            Lock | Try => {
                let timeout = self.session.settings.borrow().lock_timeout;
                let interrupt = || self.check_interrupt();
                let wait = crate::advisory::Wait {
                    try_only: op.action == Try,
                    timeout,
                    interrupt: &interrupt,
                };
                locks.lock(pid, key, op.shared, op.xact, wait)?
            }
            Unlock => {
                let released = locks.unlock(pid, key, op.shared);
                if !released {
                    let mode = if op.shared { "ShareLock" } else { "ExclusiveLock" };
                    self.session.warn(format!("you don't own a lock of type {mode}"));
                }
                released
            }
            UnlockAll => {
                locks.release(pid, true);
                true
            }
        })
    }

    fn set_setting(&self, name: &str, value: &str, local: bool) -> Result<()> {
        self.session.set_setting_value(name, Some(value), local)
    }

    fn sequence(&self, op: SequenceOp, name: &str, value: Option<i64>) -> Result<i64> {
        if op == SequenceOp::Last {
            return self.session.lastval.get().ok_or_else(|| {
                errinput!(
                    OBJECT_NOT_IN_PREREQUISITE_STATE,
                    "lastval is not yet defined in this session"
                )
            });
        }
        let seq = self.sequence_by_name(name)?;
        // PostgreSQL's rule: nextval takes USAGE or UPDATE, currval USAGE or SELECT, setval
        // UPDATE.
        {
            use crate::catalog::acl::{SELECT, UPDATE, USAGE};
            let wanted = match op {
                SequenceOp::Next => USAGE | UPDATE,
                SequenceOp::Current => USAGE | SELECT,
                _ => UPDATE,
            };
            if !self.is_superuser()? {
                let object = crate::privileges::AclObject::relation(seq.id, "sequence", &seq.name);
                crate::privileges::check(self, &object, wanted, wanted != UPDATE, None)?;
            }
        }
        match op {
            SequenceOp::Next => {
                if self.txn.is_read_only() {
                    return Err(errinput!(
                        READ_ONLY_SQL_TRANSACTION,
                        "cannot execute nextval() in a read-only transaction"
                    ));
                }
                let v = self.session.catalog().nextval(&seq)?;
                self.session.currval.borrow_mut().insert(seq.id, v);
                self.session.lastval.set(Some(v));
                Ok(v)
            }
            SequenceOp::Current => {
                self.session.currval.borrow().get(&seq.id).copied().ok_or_else(|| {
                    errinput!(
                        OBJECT_NOT_IN_PREREQUISITE_STATE,
                        "currval of sequence \"{}\" is not yet defined in this session",
                        seq.name
                    )
                })
            }
            SequenceOp::Set | SequenceOp::SetNext => {
                let v = value.unwrap_or(seq.start);
                if v < seq.min || v > seq.max {
                    return Err(errinput!(
                        NUMERIC_VALUE_OUT_OF_RANGE,
                        "setval: value {v} is out of bounds for sequence \"{}\" ({}..{})",
                        seq.name,
                        seq.min,
                        seq.max
                    ));
                }
                if op == SequenceOp::SetNext {
                    // nextval returns v next; currval is left alone, as in PostgreSQL.
                    self.session.catalog().set_sequence(&seq, v.wrapping_sub(seq.increment))?;
                    return Ok(v);
                }
                self.session.catalog().set_sequence(&seq, v)?;
                self.session.currval.borrow_mut().insert(seq.id, v);
                self.session.lastval.set(Some(v));
                Ok(v)
            }
            SequenceOp::Last => unreachable!("handled above"),
        }
    }

    fn random(&self) -> f64 {
        rand::random::<f64>()
    }

    fn has_privilege(&self, kind: &str, args: &[Value]) -> Result<Value> {
        use crate::catalog::acl::{ObjectKind, PUBLIC_ROLE};
        let graph = self.access()?;
        // (role, object, privileges): the role is optional (the current one).
        let explicit_role = match kind {
            "column" => args.len() == 4,
            _ => args.len() == 3,
        };
        let role = if explicit_role {
            match &args[0] {
                Value::Null => return Ok(Value::Null),
                Value::Text(name) if name == "public" => PUBLIC_ROLE,
                Value::Text(name) => graph
                    .role(name)
                    .map(|r| r.id)
                    .ok_or_else(|| errinput!(UNDEFINED_OBJECT, "role \"{name}\" does not exist"))?,
                other => match oid_of(other) {
                    Some(id) if graph.role_by_id(id as RelId).is_some() => id as RelId,
                    _ => return Ok(Value::Null),
                },
            }
        } else {
            crate::privileges::current_role_id(self)?
        };
        let rest = &args[usize::from(explicit_role)..];
        let (object, privileges) = (&rest[0], rest.last().unwrap_or(&Value::Null));
        let (Value::Text(privileges), false) = (privileges, object.is_null()) else {
            return Ok(Value::Null);
        };
        if kind == "role" {
            let target = match object {
                Value::Text(name) => graph
                    .role(name)
                    .map(|r| r.id)
                    .ok_or_else(|| errinput!(UNDEFINED_OBJECT, "role \"{name}\" does not exist"))?,
                other => oid_of(other).unwrap_or(0) as RelId,
            };
            let mut held = false;
            for mode in privileges.split(',').map(|p| p.trim().to_ascii_uppercase()) {
                let (mode, admin) = match mode.strip_suffix(" WITH ADMIN OPTION") {
                    Some(m) => (m.trim().to_string(), true),
                    None => (mode, false),
                };
                let member = match mode.as_str() {
                    "USAGE" => graph.privileged_roles(role).contains(&target),
                    "MEMBER" | "SET" => graph.member_of(role).contains(&target),
                    other => {
                        return Err(errinput!(
                            INVALID_PARAMETER_VALUE,
                            "unrecognized privilege type: \"{other}\""
                        ));
                    }
                };
                held |= if admin { graph.can_admin(role, target) } else { member };
            }
            return Ok(Value::Bool(held));
        }
        let catalog = self.session.catalog();
        let relation_kind = |label: &'static str| {
            if label == "sequence" { ObjectKind::Sequence } else { ObjectKind::Table }
        };
        let (object_kind, id) = match (kind, object) {
            ("table" | "sequence" | "column", Value::Text(name)) => {
                let (schema, rel) = bind::split_relation_name(name, self.database().as_deref())?;
                match BindEnv::relation(self, schema.as_deref(), &rel)? {
                    Some(Relation::Table(t)) => (ObjectKind::Table, t.id),
                    Some(Relation::View { id, .. }) => (ObjectKind::Table, id),
                    Some(Relation::Sequence(s)) => (ObjectKind::Sequence, s.id),
                    // The built-in catalogs: everyone reads them.
                    Some(Relation::System(_)) => {
                        let select =
                            privileges.split(',').all(|p| p.trim().eq_ignore_ascii_case("select"));
                        return Ok(Value::Bool(select || crate::privileges::is_superuser(self)?));
                    }
                    None => {
                        return Err(errinput!(
                            UNDEFINED_TABLE,
                            "relation \"{name}\" does not exist"
                        ));
                    }
                }
            }
            ("table" | "sequence" | "column", other) => {
                let Some(id) = oid_of(other) else { return Ok(Value::Null) };
                match catalog.relation_by_id(self.txn, id as RelId)? {
                    Some((_, RelKind::Sequence)) => (ObjectKind::Sequence, id as RelId),
                    Some(_) => (relation_kind("table"), id as RelId),
                    None => return Ok(Value::Null),
                }
            }
            ("schema", Value::Text(name)) => {
                let id = catalog.schema_id(self.txn, name)?.ok_or_else(|| {
                    errinput!(INVALID_SCHEMA_NAME, "schema \"{name}\" does not exist")
                })?;
                (ObjectKind::Schema, id)
            }
            ("schema", other) => match oid_of(other) {
                Some(id) if catalog.schema_by_id(self.txn, id as RelId)?.is_some() => {
                    (ObjectKind::Schema, id as RelId)
                }
                _ => return Ok(Value::Null),
            },
            ("database", Value::Text(name)) => {
                if *name != self.session.db.name() {
                    return Err(errinput!(
                        INVALID_CATALOG_NAME,
                        "database \"{name}\" does not exist"
                    ));
                }
                (ObjectKind::Database, crate::system::DATABASE_OID as RelId)
            }
            ("database", other) => match oid_of(other) {
                Some(crate::system::DATABASE_OID) => {
                    (ObjectKind::Database, crate::system::DATABASE_OID as RelId)
                }
                _ => return Ok(Value::Null),
            },
            ("function", Value::Text(signature)) => {
                let name = signature.split('(').next().unwrap_or_default().trim();
                let (schema, routine) =
                    bind::split_relation_name(name, self.database().as_deref())?;
                match self.find_routine(schema.as_deref(), &routine)? {
                    Some(r) => (ObjectKind::Routine, r.id),
                    // A built-in function: everyone may call it.
                    None => return Ok(Value::Bool(true)),
                }
            }
            (_, other) => {
                let Some(id) = oid_of(other) else { return Ok(Value::Null) };
                (ObjectKind::Routine, id as RelId)
            }
        };
        let acl = BindEnv::object_acl(self, object_kind, id)?;
        let held = match graph.role_by_id(role) {
            Some(_) => {
                let object =
                    crate::privileges::AclObject { kind: object_kind, id, label: "", name: "" };
                crate::privileges::privileges_of(&graph, role, &object, &acl)
            }
            // PUBLIC: what the ACL gives everyone.
            None => acl.privileges(object_kind, id, &[]),
        };
        let grantable = match graph.role_by_id(role) {
            Some(r) if r.superuser => object_kind.all(),
            Some(_) => acl.grantable(object_kind, id, &graph.privileged_roles(role)),
            None => 0,
        };
        let mut answer = false;
        for p in privileges.split(',').map(str::trim) {
            let upper = p.to_ascii_uppercase();
            let (name, with_grant) = match upper.strip_suffix(" WITH GRANT OPTION") {
                Some(n) => (n.trim().to_string(), true),
                None => (upper, false),
            };
            let bit = crate::catalog::acl::privilege_named(&name).ok_or_else(|| {
                errinput!(INVALID_PARAMETER_VALUE, "unrecognized privilege type: \"{p}\"")
            })?;
            answer |= if with_grant { grantable & bit != 0 } else { held & bit != 0 };
        }
        Ok(Value::Bool(answer))
    }

    fn relation_oid_by_name(&self, name: &str) -> Result<Option<i64>> {
        let (schema, rel) = bind::split_relation_name(name, self.database().as_deref())?;
        BindEnv::relation_oid(self, schema.as_deref(), &rel)
    }

    fn catalog_definition(&self, kind: &str, oid: i64) -> Result<Option<String>> {
        if let Some(sub) = kind.strip_prefix("comment:") {
            let sub: i32 = sub.parse().unwrap_or(-1);
            let comments = self.session.catalog().comments(self.txn)?;
            return Ok(comments
                .into_iter()
                .find(|(id, s, _)| i64::from(*id) == oid && *s == sub)
                .map(|(_, _, t)| t));
        }
        if kind == "role" {
            return Ok(self.access()?.role_by_id(oid as RelId).map(|r| r.name.clone()));
        }
        let snapshot = self.system_snapshot(self.txn)?;
        if kind == "table_visible" {
            // Visible: its schema is on the search path, and no schema before it there has a
            // relation of the name.
            let relations = || {
                let tables = snapshot.tables.iter().flat_map(|t| {
                    std::iter::once((i64::from(t.id), t.schema.as_str(), t.name.clone())).chain(
                        t.indexes
                            .iter()
                            .map(|i| (i64::from(i.id), t.schema.as_str(), i.name.clone())),
                    )
                });
                let views = snapshot
                    .views
                    .iter()
                    .map(|(s, n, id, _)| (i64::from(*id), s.as_str(), n.clone()));
                let sequences = snapshot
                    .sequences
                    .iter()
                    .map(|(q, _)| (i64::from(q.id), q.schema.as_str(), q.name.clone()));
                let composites = snapshot
                    .composites
                    .iter()
                    .map(|c| (i64::from(c.id), c.schema.as_str(), c.name.clone()));
                tables.chain(views).chain(sequences).chain(composites)
            };
            let found = relations()
                .find(|(id, _, _)| *id == oid)
                .map(|(_, s, n)| (s.to_string(), n))
                .or_else(|| {
                    crate::system::system_relation_by_oid(oid)
                        .map(|(s, n)| (s.to_string(), n.to_string()))
                });
            let Some((schema, name)) = found else { return Ok(None) };
            for s in self.resolved_search_path() {
                if s == schema {
                    return Ok(Some("t".into()));
                }
                let taken = relations().any(|(_, rs, rn)| rs == s && rn == name)
                    || (s == "pg_catalog"
                        && SystemTable::lookup(Some("pg_catalog"), &name).is_some());
                if taken {
                    return Ok(None);
                }
            }
            return Ok(None);
        }
        Ok(match kind {
            "index" => crate::system::index_definition_by_oid(&snapshot, oid),
            "constraint" => {
                let path = self.resolved_search_path();
                crate::system::constraint_definition(&snapshot, oid, &|s| {
                    path.iter().any(|p| p == s)
                })
            }
            "view" => crate::system::view_definition(&snapshot, oid),
            "trigger" | "trigger_pretty" => {
                let path = self.resolved_search_path();
                let pretty = kind == "trigger_pretty";
                crate::system::trigger_definition(&snapshot, oid, pretty, &|s| {
                    path.iter().any(|p| p == s)
                })
            }
            "functiondef" => snapshot
                .routines
                .iter()
                .find(|r| i64::from(r.id) == oid)
                .map(|r| crate::system::function_definition(&snapshot, r)),
            "type" => crate::system::user_type_name(&snapshot, oid),
            "function_result" | "function_arguments" | "function_identity_arguments" => {
                // A procedure has no result type (NULL), as in PostgreSQL.
                snapshot.routines.iter().find(|r| i64::from(r.id) == oid).and_then(|r| {
                    if kind != "function_result" {
                        let defaults = kind == "function_arguments";
                        let name = |t: &DataType| crate::system::visible_type_name(&snapshot, t);
                        Some(crate::system::function_arguments(r, defaults, &name))
                    } else if r.kind == crate::procedure::RoutineKind::Procedure {
                        None
                    } else {
                        let name = |t: &DataType| crate::system::visible_type_name(&snapshot, t);
                        Some(r.returns.sql_with(&name))
                    }
                })
            }
            _ => None,
        })
    }

    fn relation_name(&self, oid: i64) -> Result<Option<String>> {
        let Ok(id) = crate::keys::RelId::try_from(oid) else { return Ok(None) };
        let catalog = self.session.catalog();
        let named = |schema: &str, name: String| {
            let visible = self.resolved_search_path().iter().any(|s| s == schema);
            if visible { name } else { format!("{schema}.{name}") }
        };
        if let Some(t) = catalog.table_by_id(self.txn, id)? {
            return Ok(Some(named(&t.schema, t.name)));
        }
        for seq in catalog.sequences(self.txn)? {
            if seq.id == id {
                return Ok(Some(named(&seq.schema, seq.name)));
            }
        }
        if let Some((schema, name, _, _)) =
            catalog.views(self.txn)?.into_iter().find(|(_, _, view, _)| *view == id)
        {
            return Ok(Some(named(&schema, name)));
        }
        // A primary key's index (its oid is derived from the table's), or another index.
        if let Some(table) = crate::system::table_of_pkey_oid(id)
            && let Some(t) = catalog.table_by_id(self.txn, table)?
        {
            return Ok(Some(named(&t.schema, format!("{}_pkey", t.name))));
        }
        for t in catalog.tables(self.txn)? {
            if let Some(index) = t.indexes.iter().find(|i| i.id == id) {
                return Ok(Some(named(&t.schema, index.name.clone())));
            }
        }
        Ok(crate::system::catalog_name(oid).map(str::to_string))
    }

    fn check_interrupt(&self) -> Result<()> {
        if self.session.cancel.swap(false, Ordering::SeqCst) {
            return Err(errinput!(QUERY_CANCELED, "canceling statement due to user request"));
        }
        if let Some(deadline) = self.deadline
            && Instant::now() >= deadline
        {
            return Err(errinput!(QUERY_CANCELED, "canceling statement due to statement timeout"));
        }
        Ok(())
    }
}

impl SessionEnv for Env<'_> {
    fn bind_env(&self) -> Option<&dyn BindEnv> {
        Some(self)
    }

    fn expr_generation(&self) -> u64 {
        self.expr_generation
    }

    fn defer(
        &self,
        constraint: &crate::catalog::Constraint,
        check: crate::exec::storage::DeferredCheck,
    ) -> bool {
        use crate::catalog::Deferral;
        let Some(block) = &self.session.block else { return false };
        if constraint.deferral == Deferral::NotDeferrable {
            return false;
        }
        let deferred = {
            let modes = block.constraint_modes.borrow();
            modes
                .1
                .get(&constraint.name)
                .copied()
                .or(modes.0)
                .unwrap_or(constraint.deferral == Deferral::Deferred)
        };
        if deferred {
            block.deferred.borrow_mut().push(check);
        }
        deferred
    }

    fn referencing(
        &self,
        catalog: &Catalog,
        txn: &Transaction,
        table: RelId,
    ) -> Result<Referencing> {
        if self.cacheable
            && let Some(found) = self.session.referencing.get(&table, self.generation)
        {
            return Ok(found);
        }
        let found = Arc::new(catalog.referencing(txn, table)?);
        if self.cacheable {
            self.session.referencing.insert(table, self.generation, found.clone());
        }
        Ok(found)
    }

    fn live_state(&self, snapshot: &mut CatalogSnapshot) {
        snapshot.add_live_state(
            self.session.db.stats(),
            self.session.db.lock_rows(),
            self.session.db.replicas().list(),
        );
    }

    fn view_columns(&self, snapshot: &mut CatalogSnapshot) {
        // Bound once per catalog generation and role (drivers read pg_attribute often).
        let role = self.session.current_user();
        if self.cacheable
            && let Some(tables) = self.session.view_tables.get(&role, self.generation)
        {
            snapshot.view_tables = (*tables).clone();
            return;
        }
        self.bind_view_columns(snapshot);
        if self.cacheable {
            let tables = Arc::new(snapshot.view_tables.clone());
            self.session.view_tables.insert(role, self.generation, tables);
        }
    }

    fn system_snapshot(&self, txn: &Transaction) -> Result<CatalogSnapshot> {
        if let Some(s) = self.snapshot.borrow().as_ref() {
            return Ok((**s).clone());
        }
        let snapshot = self.build_snapshot(txn)?;
        *self.snapshot.borrow_mut() = Some(Arc::new(snapshot.clone()));
        Ok(snapshot)
    }

    fn warning(&self, code: &'static str, message: String) {
        self.session.notices.borrow_mut().push(Notice { severity: "WARNING", code, message });
    }

    fn notice(&self, message: String) {
        self.session.notices.borrow_mut().push(Notice {
            severity: "NOTICE",
            code: "00000",
            message,
        });
    }

    fn procedure_runtime(&self) -> Option<Arc<dyn crate::procedure::ProcedureRuntime>> {
        self.runtime()
    }

    fn call_routine(
        &self,
        routine: &crate::procedure::Routine,
        args: &[Value],
    ) -> Result<crate::procedure::CallResult> {
        self.call(routine, args)
    }

    fn fire_trigger(&self, call: &crate::trigger::TriggerCall) -> Result<Option<Vec<Value>>> {
        self.fire(call)
    }

    fn trigger_condition(&self, call: &crate::trigger::TriggerCall) -> Result<bool> {
        self.with_host(|host| crate::trigger::condition(call, host))
    }
}

impl Env<'_> {
    /// The first object `find` finds: in the named schema, or along the search path.
    fn on_search_path<T>(
        &self,
        schema: Option<&str>,
        find: impl Fn(&str) -> Result<Option<T>>,
    ) -> Result<Option<T>> {
        if let Some(s) = schema {
            return find(s);
        }
        for s in self.resolved_search_path() {
            if let Some(found) = find(&s)? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    fn build_snapshot(&self, txn: &Transaction) -> Result<CatalogSnapshot> {
        let catalog = self.session.catalog();
        let sequences = catalog
            .sequences(txn)?
            .into_iter()
            .map(|s| {
                let last = catalog.sequence_last(&s).ok().flatten();
                (s, last)
            })
            .collect();
        let views = catalog.views(txn)?;
        let view_check_options = views
            .iter()
            .map(|(_, _, id, _)| Ok((*id, catalog.view_check_option(txn, *id)?)))
            .filter(|r| !matches!(r, Ok((_, 0))))
            .collect::<Result<_>>()?;
        Ok(CatalogSnapshot {
            schemas: catalog.schemas(txn)?,
            tables: catalog.tables(txn)?,
            views,
            sequences,
            settings: self.session.settings.borrow().described(),
            user: self.session.current_user(),
            database: self.session.db.name().to_string(),
            sessions: self.session.db.sessions(),
            routines: catalog.routines(txn)?,
            // Filled by `live_state` for the views that show them (not on every catalog query).
            stats: Default::default(),
            locks: Vec::new(),
            replicas: Vec::new(),
            comments: catalog.comments(txn)?,
            enums: catalog.enum_types(txn)?,
            domains: catalog.domains(txn)?,
            composites: catalog.composite_types(txn)?,
            extensions: catalog.extensions(txn)?,
            cursors: self.session.cursor_infos(),
            access: self.access()?,
            acls: catalog
                .object_acls(txn)?
                .into_iter()
                .map(|(kind, id, acl)| ((kind, id), acl))
                .collect(),
            view_check_options,
            view_tables: Vec::new(),
        })
    }
}

/// An object id given as a number (any integer type).
fn oid_of(value: &Value) -> Option<i64> {
    match value {
        Value::Int2(v) => Some(i64::from(*v)),
        Value::Int4(v) => Some(i64::from(*v)),
        Value::Int8(v) => Some(*v),
        _ => None,
    }
}
