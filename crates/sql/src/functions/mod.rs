//! Built-in functions: scalar, aggregate, window and table functions.
//!
//! Scalar functions are resolved at bind time from their name and argument types, as
//! PostgreSQL resolves overloads: an exact match wins, literal arguments of unknown type
//! take the parameter's type, and other arguments may be cast implicitly along the safe
//! direction (integer to numeric, varchar to text, date to timestamp). The result is a
//! function pointer plus the casts to apply to its arguments, so no lookup happens per row.

pub mod aggregate;
pub mod crypto;
pub mod datetime;
pub mod json;
pub mod math;
pub mod misc;
pub mod network;
pub mod numeric_math;
pub mod scalar;
pub mod string;
pub mod textsearch;
pub mod window;

use oxibase_common::{DataType, Result, Value};

use crate::types::datetime::Zone;

/// Session values functions may ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionValue {
    /// current_user / user / current_role
    User,
    /// session_user
    SessionUser,
    /// current_database()
    Database,
    /// current_schema()
    Schema,
    /// current_schemas(false): the search path's existing schemas, as a text array,
    /// without those searched implicitly (pg_catalog unless named, the temporary schema).
    SearchPath,
    /// pg_backend_pid()
    BackendPid,
    /// txid_current()
    TransactionId,
}

/// An advisory lock function's operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AdvisoryOp {
    /// lock, try, unlock or unlock_all.
    pub action: AdvisoryAction,
    /// Shared rather than exclusive.
    pub shared: bool,
    /// Held until the transaction ends rather than the session.
    pub xact: bool,
}

/// What an advisory lock function does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdvisoryAction {
    /// Wait for the lock.
    Lock,
    /// Take it if free.
    Try,
    /// Release one hold.
    Unlock,
    /// Release every session-level hold.
    UnlockAll,
}

/// What a sequence function does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SequenceOp {
    /// nextval(name)
    Next,
    /// currval(name)
    Current,
    /// setval(name, value): the value nextval last returned.
    Set,
    /// setval(name, value, false): the value nextval returns next.
    SetNext,
    /// lastval()
    Last,
}

/// What an `oxibase_debug_*` function asks of a debug session.
#[derive(Clone, Debug)]
pub enum DebugOp {
    /// Start debugging a statement.
    Start(String),
    /// Resume: `into`, `over`, `out` or `continue`.
    Step(i32, String),
    /// Toggle a breakpoint at (function, pc).
    Breakpoint(i32, i32, i32),
    /// Read the state.
    State(i32),
    /// End: commit (true) or roll back.
    End(i32, bool),
}

/// The environment functions run in: the session's settings, clock and sequences.
pub trait FunctionEnv {
    /// The session time zone.
    fn zone(&self) -> &Zone;
    /// When the current statement started (PostgreSQL timestamp micros, UTC).
    fn statement_ts(&self) -> i64;
    /// When the current transaction started.
    fn transaction_ts(&self) -> i64;
    /// A session value.
    fn session_value(&self, what: SessionValue) -> Result<Value>;
    /// A configuration setting's current value.
    fn setting(&self, name: &str) -> Result<Option<String>>;
    /// Changes a setting (`set_config`); `local` lasts until the end of the transaction.
    fn set_setting(&self, name: &str, value: &str, local: bool) -> Result<()>;
    /// A sequence operation on a sequence named by text.
    fn sequence(&self, op: SequenceOp, name: &str, value: Option<i64>) -> Result<i64>;
    /// A random number in [0, 1).
    fn random(&self) -> f64;
    /// Fails if the statement was cancelled or timed out (long-running functions poll it).
    fn check_interrupt(&self) -> Result<()>;
    /// The name of a relation by its oid (`oid::regclass`), schema-qualified when it is not
    /// on the search path.
    fn relation_name(&self, _oid: i64) -> Result<Option<String>> {
        Ok(None)
    }
    /// An advisory lock operation (see [`crate::advisory`]): `lock` (waiting unless `try`),
    /// `unlock` or `unlock_all`, session- or transaction-level, exclusive or shared.
    fn advisory(&self, _op: AdvisoryOp, _key: crate::advisory::AdvisoryKey) -> Result<bool> {
        Err(oxibase_common::errinput!(FEATURE_NOT_SUPPORTED, "advisory locks need a session"))
    }
    /// Cancels the statement another session runs (`pg_cancel_backend`): false when no such
    /// session runs; refused unless the caller is that session's user or a superuser.
    fn cancel_backend(&self, _pid: i32) -> Result<bool> {
        Err(oxibase_common::errinput!(FEATURE_NOT_SUPPORTED, "pg_cancel_backend needs a session"))
    }
    /// Ends another session's connection (`pg_terminate_backend`), under the same rules;
    /// with a timeout, waits that long for the session to be gone (false if it is not).
    fn terminate_backend(&self, _pid: i32, _timeout: Option<std::time::Duration>) -> Result<bool> {
        Err(oxibase_common::errinput!(
            FEATURE_NOT_SUPPORTED,
            "pg_terminate_backend needs a session"
        ))
    }
    /// Promotes this read replica to a leader (`pg_promote`).
    fn promote(&self) -> Result<bool> {
        Err(oxibase_common::errinput!(FEATURE_NOT_SUPPORTED, "pg_promote needs a session"))
    }
    /// A debug session operation (`oxibase_debug_*`, see [`crate::debug`]): the state as JSON.
    fn debug(&self, _op: DebugOp) -> Result<String> {
        Err(oxibase_common::errinput!(FEATURE_NOT_SUPPORTED, "debugging needs a session"))
    }
    /// The sessions whose row locks keep session `pid` waiting (`pg_blocking_pids`).
    fn blocking_pids(&self, _pid: i32) -> Result<Vec<i32>> {
        Ok(Vec::new())
    }
    /// NOTIFY channel, payload: queued in the transaction, sent when it commits.
    fn notify(&self, _channel: &str, _payload: &str) -> Result<()> {
        Err(oxibase_common::errinput!(FEATURE_NOT_SUPPORTED, "NOTIFY needs a session"))
    }
    /// `has_<kind>_privilege(...)` and `pg_has_role(...)` with their arguments as given
    /// (an optional role, the object, the privilege list): true, false, or NULL for an
    /// object id that names nothing.
    fn has_privilege(&self, _kind: &str, _args: &[Value]) -> Result<Value> {
        Ok(Value::Bool(true))
    }
    /// The oid of the relation a name (`t`, `s.t`, `"T"`) denotes on the search path; None
    /// when there is none.
    fn relation_oid_by_name(&self, _name: &str) -> Result<Option<i64>> {
        Ok(None)
    }
    /// The oid of the type a name (as SQL spells types) denotes, built-in or user-defined;
    /// None when there is no such type (`to_regtype`).
    fn type_oid(&self, _name: &str) -> Result<Option<i64>> {
        Ok(None)
    }
    /// `pg_export_snapshot()`: an identifier of the transaction's snapshot, which another
    /// transaction can take with SET TRANSACTION SNAPSHOT while this one runs.
    fn export_snapshot(&self) -> Result<String> {
        Err(oxibase_common::errinput!(FEATURE_NOT_SUPPORTED, "pg_export_snapshot needs a session"))
    }
    /// The oid of a schema by name (`'s'::regnamespace`); None when there is none.
    fn schema_oid(&self, _name: &str) -> Result<Option<i64>> {
        Ok(None)
    }
    /// The sequence that feeds a table column (SERIAL or identity), schema-qualified.
    fn serial_sequence(&self, _table_oid: i64, _column: &str) -> Result<Option<String>> {
        Ok(None)
    }
    /// The bytes a relation's rows (or index entries) take, latest versions: `relation`
    /// (the relation itself), `indexes` (a table's indexes) or `total` (both).
    fn relation_size(&self, _oid: i64, _what: &str) -> Result<Option<i64>> {
        Ok(None)
    }
    /// The bytes the database's files take on disk: the LSM's (like PostgreSQL's, the
    /// write-ahead log is not counted).
    fn database_size(&self) -> Result<Option<i64>> {
        Ok(None)
    }
    /// The definition of a catalog object by oid: `index`, `constraint` or `view`
    /// (pg_get_indexdef, pg_get_constraintdef, pg_get_viewdef); `comment:N` is the comment
    /// on the object (N = 0) or its column N (obj_description, col_description).
    fn catalog_definition(&self, _kind: &str, _oid: i64) -> Result<Option<String>> {
        Ok(None)
    }
}

/// True when a value of type `from` may be cast to `to` implicitly in a function call.
pub fn implicit_cast_allowed(from: &DataType, to: &DataType) -> bool {
    use DataType::*;
    // A time type converts to itself at any precision (`timestamp(0)` to `timestamp`).
    if from.same_but_time_precision(to) {
        return true;
    }
    match (from, to) {
        (Int2, Int4 | Int8 | Numeric(_) | Float4 | Float8) => true,
        (Int4, Int8 | Numeric(_) | Float4 | Float8) => true,
        (Int8, Numeric(_) | Float4 | Float8) => true,
        // oid and the integers convert both ways where PostgreSQL's casts are implicit.
        (Int2 | Int4 | Int8, Oid) | (Oid, Int8 | Numeric(_) | Float4 | Float8) => true,
        (Numeric(_), Numeric(_) | Float4 | Float8) => true,
        (Float4, Float8) => true,
        (Text | Varchar(_) | Char(_) | InternalChar | Name, Text | Varchar(None)) => true,
        (Text | Varchar(_) | Char(_), Name) => true,
        (Varchar(_), Varchar(_)) => true,
        (Date, Timestamp(_) | TimestampTz(_)) => true,
        (Timestamp(_), TimestampTz(_)) => true,
        (Time(_), Interval(_)) => true,
        (Json, Jsonb) => true,
        (Cidr, Inet) => true,
        (Int2Vector, Array(e)) => **e == Int2,
        (OidVector, Array(e)) => **e == Oid,
        (Array(a), Array(b)) => implicit_cast_allowed(a, b),
        // A record of unknown shape takes any record; otherwise field by field (a text
        // field of a row constructor may be a quoted literal, read as the field's type).
        (Record(a), Record(b)) => {
            b.fields.is_empty()
                || (a.fields.len() == b.fields.len()
                    && a.fields.iter().zip(&b.fields).all(|((_, x), (_, y))| {
                        (a.id.is_none() && *x == Text) || implicit_cast_allowed(x, y)
                    }))
        }
        _ => false,
    }
}
