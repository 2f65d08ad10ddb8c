//! Oxibase's SQL layer.
//!
//! For now this holds the foundation the SQL engine stands on:
//! - [`keys`]: how tables, indexes and counters map onto ordered store keys.
//! - [`catalog`]: schemas, tables, columns, indexes and sequences as rows of system tables
//!   under MVCC, so DDL is transactional.

pub mod auth;
pub mod bind;
pub mod catalog;
pub mod database;
pub mod exec;
pub mod functions;
pub mod keys;
pub mod optimize;
pub mod parse;
pub mod plan;
pub mod session;
pub mod settings;
pub mod system;
pub mod types;

pub use catalog::{Catalog, Column, Index, RelKind, Sequence, Table, TableSpec};
pub use database::{Database, DatabaseOptions};
pub use session::{Notice, Output, OutputColumn, PendingCopy, Prepared, Session, TxnStatus};
