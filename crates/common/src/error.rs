//! The one error type every Oxibase layer returns.
//!
//! An error is classified by *who is at fault*, which decides how callers react:
//!
//! | kind            | fault                                   | typical SQLSTATE | deterministic |
//! |-----------------|-----------------------------------------|------------------|---------------|
//! | `InvalidInput`  | the caller: SQL, parameters, config     | 42601, 22P02 ... | yes           |
//! | `InvalidData`   | stored or received bytes are malformed  | XX001            | yes           |
//! | `Conflict`      | a concurrent transaction; retry         | 40001, 40P01 ... | no            |
//! | `Io`            | the operating system or the disk        | 58030            | no            |
//! | `ReadOnly`      | writes refused (read-only, poisoned)    | 25006, 58030     | no            |
//! | `Internal`      | a bug in Oxibase                        | XX000            | no            |
//!
//! NB: "deterministic" matters to apply paths (log replay, replication): a deterministic error
//! would recur on every node replaying the same record, a non-deterministic one must never be
//! treated as a property of the record (retry or stop, never skip).
//!
//! Each error carries a PostgreSQL SQLSTATE and a message written as advice: what happened and
//! what to do about it. `detail` and `hint` map onto the fields of the same name in
//! PostgreSQL's ErrorResponse.

use std::fmt;

use crate::SqlState;

/// Who is at fault for an error; decides retry and apply-path behaviour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The caller sent something invalid (SQL, parameters, configuration).
    InvalidInput,
    /// Stored or received data is malformed (a corrupt file, bad wire bytes).
    InvalidData,
    /// A concurrent transaction got in the way; the transaction may be retried.
    Conflict,
    /// The operating system or disk failed.
    Io,
    /// Writes are refused (read-only transaction, follower node, poisoned log).
    ReadOnly,
    /// A bug in Oxibase.
    Internal,
}

/// An Oxibase error: a kind, a SQLSTATE, and a message with optional detail and hint.
#[derive(Clone, PartialEq, Eq)]
pub struct Error(Box<Inner>);

#[derive(Clone, Debug, PartialEq, Eq)]
struct Inner {
    kind: ErrorKind,
    code: SqlState,
    message: String,
    detail: Option<String>,
    hint: Option<String>,
    /// PostgreSQL's CONTEXT (the `W` field): where it happened, innermost first.
    context: Option<String>,
}

/// The result type of every fallible Oxibase operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Builds an error of the given kind and SQLSTATE.
    pub fn new(kind: ErrorKind, code: SqlState, message: impl Into<String>) -> Self {
        Self(Box::new(Inner {
            kind,
            code,
            message: message.into(),
            detail: None,
            hint: None,
            context: None,
        }))
    }

    /// Adds PostgreSQL's DETAIL field: facts about this occurrence.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.0.detail = Some(detail.into());
        self
    }

    /// Adds PostgreSQL's HINT field: what to do about it.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.0.hint = Some(hint.into());
        self
    }

    /// Adds a line to PostgreSQL's CONTEXT field (the caller's, below the ones before).
    pub fn with_context(mut self, line: impl Into<String>) -> Self {
        let line = line.into();
        self.0.context = Some(match self.0.context.take() {
            Some(inner) => format!("{inner}\n{line}"),
            None => line,
        });
        self
    }

    /// The optional CONTEXT text: one line per level, innermost first.
    pub fn context(&self) -> Option<&str> {
        self.0.context.as_deref()
    }

    /// Who is at fault.
    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }

    /// The PostgreSQL SQLSTATE code.
    pub fn code(&self) -> SqlState {
        self.0.code
    }

    /// The primary, human-readable message.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// The optional DETAIL text.
    pub fn detail(&self) -> Option<&str> {
        self.0.detail.as_deref()
    }

    /// The optional HINT text.
    pub fn hint(&self) -> Option<&str> {
        self.0.hint.as_deref()
    }

    /// True when replaying the same input would fail the same way on any node.
    pub fn is_deterministic(&self) -> bool {
        matches!(self.0.kind, ErrorKind::InvalidInput | ErrorKind::InvalidData)
    }

    /// True for conflicts a client should retry (serialization failure, deadlock).
    pub fn is_retryable(&self) -> bool {
        self.0.kind == ErrorKind::Conflict
    }

    /// Wraps an I/O error with what Oxibase was doing when it happened.
    pub fn io(context: impl fmt::Display, err: &std::io::Error) -> Self {
        Self::new(ErrorKind::Io, SqlState::IO_ERROR, format!("{context}: {err}"))
    }

    /// A bug: an invariant that should hold did not.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, SqlState::INTERNAL_ERROR, message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.0.message, self.0.code)?;
        if let Some(detail) = &self.0.detail {
            write!(f, "\nDETAIL: {detail}")?;
        }
        if let Some(hint) = &self.0.hint {
            write!(f, "\nHINT: {hint}")?;
        }
        if let Some(context) = &self.0.context {
            write!(f, "\nCONTEXT: {context}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} {}: {}", self.0.kind, self.0.code, self.0.message)
    }
}

impl std::error::Error for Error {}

/// Builds an [`ErrorKind::InvalidInput`] error: `errinput!(UNDEFINED_TABLE, "table {t} ...")`.
#[macro_export]
macro_rules! errinput {
    ($code:ident, $($arg:tt)*) => {
        $crate::Error::new($crate::ErrorKind::InvalidInput, $crate::SqlState::$code, format!($($arg)*))
    };
}

/// Builds an [`ErrorKind::InvalidData`] error (SQLSTATE XX001 data_corrupted).
#[macro_export]
macro_rules! errdata {
    ($($arg:tt)*) => {
        $crate::Error::new($crate::ErrorKind::InvalidData, $crate::SqlState::DATA_CORRUPTED, format!($($arg)*))
    };
}

/// Builds an [`ErrorKind::Conflict`] error: `errconflict!(SERIALIZATION_FAILURE, "...")`.
#[macro_export]
macro_rules! errconflict {
    ($code:ident, $($arg:tt)*) => {
        $crate::Error::new($crate::ErrorKind::Conflict, $crate::SqlState::$code, format!($($arg)*))
    };
}

/// Builds an [`ErrorKind::Internal`] error (SQLSTATE XX000): a bug in Oxibase.
#[macro_export]
macro_rules! errinternal {
    ($($arg:tt)*) => {
        $crate::Error::internal(format!($($arg)*))
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_includes_code_detail_and_hint() {
        let err = errinput!(UNDEFINED_TABLE, "relation \"{}\" does not exist", "t")
            .with_hint("create it first");
        assert_eq!(err.code(), SqlState::UNDEFINED_TABLE);
        assert_eq!(err.to_string(), "relation \"t\" does not exist (42P01)\nHINT: create it first");
        assert!(err.is_deterministic());
        assert!(!err.is_retryable());
    }

    #[test]
    fn conflicts_are_retryable_and_not_deterministic() {
        let err = errconflict!(SERIALIZATION_FAILURE, "could not serialize access");
        assert!(err.is_retryable());
        assert!(!err.is_deterministic());
        assert_eq!(err.code().as_str(), "40001");
    }
}
