//! Oxibase's SQL layer, and its embedded API.
//!
//! ```no_run
//! # fn main() -> oxibase_sql::Result<()> {
//! use oxibase_sql::Database;
//! let db = Database::open(std::path::Path::new("./data"))?; // or Database::open_in_memory()
//! let mut session = db.session();
//! session.execute("create table t (id int primary key, name text)")?;
//! session.query("insert into t values ($1, $2)", &[1.into(), "one".into()])?;
//! let out = session.query("select name from t where id = $1", &[1.into()])?;
//! let name: String = out.get(0, "name")?;
//! # Ok(()) }
//! ```
//!
//! - [`parse`], [`bind`], [`optimize`], [`exec`]: SQL text to a plan, the plan rewritten, and
//!   run as pull-based iterators over MVCC transactions.
//! - [`catalog`]: schemas, tables, columns, indexes, sequences, constraints and roles as rows
//!   of system tables under MVCC, so DDL is transactional; [`keys`] maps them onto store keys.
//! - [`session`] and [`database`]: connection state (transactions, settings, prepared
//!   statements, plan cache), the same object the server uses.

pub mod advisory;
pub mod auth;
pub mod bind;
pub mod catalog;
pub mod database;
pub mod debug;
pub mod exec;
pub mod functions;
pub mod keys;
pub mod migrate;
pub mod notify;
pub mod optimize;
pub mod parse;
pub mod plan;
pub mod plpgsql;
pub mod privileges;
pub mod procedure;
pub mod replicas;
pub mod session;
pub mod settings;
pub mod sql_routine;
pub mod system;
pub mod trigger;
pub mod tsearch;
pub mod types;

pub use catalog::{
    Catalog, Column, Index, IndexKey, IndexMethod, RelKind, Sequence, Table, TableSpec,
};
pub use database::{Database, DatabaseOptions};
pub use oxibase_common::{Error, Result, SqlState, Value};
pub use procedure::{CallResult, Host, LogLevel, ProcedureRuntime, Returns, Routine, RoutineKind};
pub use session::{
    ColumnIndex, FromValue, LiteralLifting, Notice, Output, OutputColumn, PendingCopy, Prepared,
    Session, TxnStatus,
};
