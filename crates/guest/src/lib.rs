//! Write Oxibase stored procedures as ordinary Rust functions.
//!
//! A procedure is a WebAssembly module that Oxibase runs inside the caller's transaction.
//! This crate is its side of the host ABI ([`abi`]): typed arguments, a transaction handle
//! that runs SQL with parameters, typed rows, and `?` for errors, which come back to the
//! client with their SQLSTATE.
//!
//! ```ignore
//! use oxibase_guest::{Tx, Result, Error};
//!
//! // CREATE PROCEDURE transfer(src bigint, dst bigint, amount bigint) LANGUAGE wasm AS '...'
//! #[unsafe(no_mangle)]
//! pub extern "C" fn transfer() -> i32 {
//!     oxibase_guest::entry(|tx: &Tx| {
//!         let (src, dst, amount): (i64, i64, i64) = oxibase_guest::args()?;
//!         let balance: i64 = tx.query_value("SELECT balance FROM accounts WHERE id = $1 FOR UPDATE", &[&src])?
//!             .ok_or_else(|| Error::new("P0002", "no such account"))?;
//!         if balance < amount {
//!             return Err(Error::new("P0001", "insufficient funds"));
//!         }
//!         tx.execute("UPDATE accounts SET balance = balance - $1 WHERE id = $2", &[&amount, &src])?;
//!         tx.execute("UPDATE accounts SET balance = balance + $1 WHERE id = $2", &[&amount, &dst])?;
//!         Ok(())
//!     })
//! }
//! ```
//!
//! Build with `cargo build --release --target wasm32-unknown-unknown` (crate-type `cdylib`),
//! or let the server do it: `CREATE FUNCTION ... LANGUAGE rust AS $$ body $$` compiles a
//! body against this crate.
//!
//! Outside Oxibase (on a native target) the host calls fail with an error, so code using
//! this crate still compiles and type-checks natively.

pub mod abi;

use abi::Val;

/// A procedure's error: a PostgreSQL SQLSTATE and a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    /// The SQLSTATE, e.g. `P0001` (raise_exception) or `23505` (unique_violation).
    pub code: String,
    /// The message the client sees.
    pub message: String,
}

impl Error {
    /// An error with a SQLSTATE.
    pub fn new(code: &str, message: impl Into<String>) -> Error {
        Error { code: code.to_string(), message: message.into() }
    }

    /// `RAISE EXCEPTION message` (SQLSTATE P0001).
    pub fn raise(message: impl Into<String>) -> Error {
        Error::new("P0001", message)
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

/// The result of a procedure step.
pub type Result<T> = std::result::Result<T, Error>;

/// A SQL value converted into a Rust type.
pub trait FromVal: Sized {
    /// Converts, or fails with 22023 naming the mismatch.
    fn from_val(v: &Val) -> Result<Self>;
}

/// A Rust value passed to SQL.
pub trait ToVal {
    /// The value in the ABI's form.
    fn to_val(&self) -> Val;
}

fn mismatch(v: &Val, want: &str) -> Error {
    Error::new("22023", format!("cannot read {v:?} as {want}"))
}

fn not_null<T>(v: &Val, want: &str, f: impl FnOnce(&Val) -> Option<T>) -> Result<T> {
    match v {
        Val::Null => Err(Error::new("22004", format!("unexpected NULL where {want} was expected"))),
        v => f(v).ok_or_else(|| mismatch(v, want)),
    }
}

impl FromVal for i64 {
    fn from_val(v: &Val) -> Result<i64> {
        not_null(v, "an integer", |v| match v {
            Val::Int(i) => Some(*i),
            Val::Text(s) => s.parse().ok(),
            _ => None,
        })
    }
}

impl FromVal for i32 {
    fn from_val(v: &Val) -> Result<i32> {
        i32::try_from(i64::from_val(v)?).map_err(|_| Error::new("22003", "integer out of range"))
    }
}

impl FromVal for f64 {
    fn from_val(v: &Val) -> Result<f64> {
        not_null(v, "a number", |v| match v {
            Val::Float(f) => Some(*f),
            Val::Int(i) => Some(*i as f64),
            Val::Text(s) => s.parse().ok(),
            _ => None,
        })
    }
}

impl FromVal for bool {
    fn from_val(v: &Val) -> Result<bool> {
        not_null(v, "a boolean", |v| match v {
            Val::Bool(b) => Some(*b),
            _ => None,
        })
    }
}

impl FromVal for String {
    fn from_val(v: &Val) -> Result<String> {
        not_null(v, "text", |v| match v {
            Val::Text(s) => Some(s.clone()),
            Val::Int(i) => Some(i.to_string()),
            Val::Float(f) => Some(f.to_string()),
            Val::Bool(b) => Some(if *b { "true" } else { "false" }.to_string()),
            _ => None,
        })
    }
}

impl FromVal for Vec<u8> {
    fn from_val(v: &Val) -> Result<Vec<u8>> {
        not_null(v, "bytea", |v| match v {
            Val::Bytes(b) => Some(b.clone()),
            _ => None,
        })
    }
}

impl FromVal for Val {
    fn from_val(v: &Val) -> Result<Val> {
        Ok(v.clone())
    }
}

impl<T: FromVal> FromVal for Option<T> {
    fn from_val(v: &Val) -> Result<Option<T>> {
        match v {
            Val::Null => Ok(None),
            v => T::from_val(v).map(Some),
        }
    }
}

macro_rules! to_val {
    ($($t:ty => |$x:ident| $e:expr;)*) => {
        $(impl ToVal for $t {
            fn to_val(&self) -> Val {
                let $x = self;
                $e
            }
        })*
    };
}

to_val! {
    i64 => |x| Val::Int(*x);
    i32 => |x| Val::Int(i64::from(*x));
    f64 => |x| Val::Float(*x);
    bool => |x| Val::Bool(*x);
    String => |x| Val::Text(x.clone());
    &str => |x| Val::Text(x.to_string());
    Vec<u8> => |x| Val::Bytes(x.clone());
    Val => |x| x.clone();
    () => |_x| Val::Null;
}

impl<T: ToVal> ToVal for Option<T> {
    fn to_val(&self) -> Val {
        self.as_ref().map_or(Val::Null, ToVal::to_val)
    }
}

/// A row converted into a tuple of Rust values.
pub trait FromRow: Sized {
    /// Converts, or fails when the column count or a type does not match.
    fn from_row(row: &[Val]) -> Result<Self>;
}

macro_rules! from_row {
    ($n:expr; $($t:ident $i:tt),*) => {
        impl<$($t: FromVal),*> FromRow for ($($t,)*) {
            fn from_row(row: &[Val]) -> Result<Self> {
                if row.len() != $n {
                    return Err(Error::new(
                        "42804",
                        format!("expected {} values, got {}", $n, row.len()),
                    ));
                }
                Ok(($($t::from_val(&row[$i])?,)*))
            }
        }
    };
}

from_row!(0;);
from_row!(1; A 0);
from_row!(2; A 0, B 1);
from_row!(3; A 0, B 1, C 2);
from_row!(4; A 0, B 1, C 2, D 3);
from_row!(5; A 0, B 1, C 2, D 3, E 4);
from_row!(6; A 0, B 1, C 2, D 3, E 4, F 5);

/// One result row.
#[derive(Clone, Debug, PartialEq)]
pub struct Row(pub Vec<Val>);

impl Row {
    /// The value of column `i`, converted.
    pub fn get<T: FromVal>(&self, i: usize) -> Result<T> {
        let v = self.0.get(i).ok_or_else(|| {
            Error::new("42703", format!("column {i} out of range ({} columns)", self.0.len()))
        })?;
        T::from_val(v)
    }

    /// The whole row as a tuple.
    pub fn into<T: FromRow>(self) -> Result<T> {
        T::from_row(&self.0)
    }
}

/// The calling transaction: every statement runs inside it and commits or rolls back with
/// the caller.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tx;

impl Tx {
    /// Runs a statement and returns its rows (RETURNING rows for a write).
    pub fn query(&self, sql: &str, params: &[&dyn ToVal]) -> Result<Rows> {
        let params: Vec<Val> = params.iter().map(|p| p.to_val()).collect();
        let encoded = abi::encode(&params);
        let handle = ffi::execute(sql.as_bytes(), &encoded);
        if handle < 0 {
            return Err(last_error());
        }
        Ok(Rows { handle, buffer: vec![0; 256] })
    }

    /// Runs a statement; returns how many rows it wrote (or returned).
    pub fn execute(&self, sql: &str, params: &[&dyn ToVal]) -> Result<u64> {
        let rows = self.query(sql, params)?;
        Ok(ffi::affected(rows.handle).max(0) as u64)
    }

    /// Commits the transaction so far; the procedure goes on in a new one. Only a procedure
    /// called on its own (`CALL`, not inside a transaction block) may (2D000 otherwise).
    pub fn commit(&self) -> Result<()> {
        self.execute("COMMIT", &[]).map(|_| ())
    }

    /// Rolls back the transaction so far; the procedure goes on in a new one (as `commit`).
    pub fn rollback(&self) -> Result<()> {
        self.execute("ROLLBACK", &[]).map(|_| ())
    }

    /// The first row, if any, as a tuple.
    pub fn query_one<T: FromRow>(&self, sql: &str, params: &[&dyn ToVal]) -> Result<Option<T>> {
        match self.query(sql, params)?.next() {
            Some(row) => row?.into().map(Some),
            None => Ok(None),
        }
    }

    /// The first column of the first row, if any.
    pub fn query_value<T: FromVal>(&self, sql: &str, params: &[&dyn ToVal]) -> Result<Option<T>> {
        match self.query(sql, params)?.next() {
            Some(row) => row?.get(0).map(Some),
            None => Ok(None),
        }
    }
}

/// The rows of a statement, read one at a time from the host.
#[derive(Debug)]
pub struct Rows {
    handle: i32,
    buffer: Vec<u8>,
}

impl Rows {
    /// How many rows the statement wrote or returned.
    pub fn affected(&self) -> u64 {
        ffi::affected(self.handle).max(0) as u64
    }
}

impl Iterator for Rows {
    type Item = Result<Row>;

    fn next(&mut self) -> Option<Result<Row>> {
        loop {
            let n = ffi::next_row(self.handle, &mut self.buffer);
            if n <= 0 {
                return None;
            }
            let n = n as usize;
            if n > self.buffer.len() {
                self.buffer.resize(n, 0);
                continue;
            }
            return Some(
                abi::decode(&self.buffer[..n])
                    .map(Row)
                    .map_err(|e| Error::new("XX000", e.to_string())),
            );
        }
    }
}

impl Drop for Rows {
    fn drop(&mut self) {
        ffi::close(self.handle);
    }
}

/// The call's arguments as a tuple of Rust values.
pub fn args<T: FromRow>() -> Result<T> {
    let mut buffer = vec![0; 256];
    loop {
        let n = ffi::args(&mut buffer);
        if n < 0 {
            return Err(Error::new("XX000", "arguments unavailable"));
        }
        let n = n as usize;
        if n > buffer.len() {
            buffer.resize(n, 0);
            continue;
        }
        let row = abi::decode(&buffer[..n]).map_err(|e| Error::new("XX000", e.to_string()))?;
        return T::from_row(&row);
    }
}

/// How loud a log message is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Kept out of the client's way.
    Debug = 0,
    /// INFO
    Info = 1,
    /// NOTICE
    Notice = 2,
    /// WARNING
    Warning = 3,
}

/// Sends a message to the client (RAISE NOTICE and friends).
pub fn log(level: Level, message: &str) {
    ffi::log(level as i32, message.as_bytes());
}

/// Sends a NOTICE.
pub fn notice(message: &str) {
    log(Level::Notice, message);
}

/// Emits result rows of a set-returning function (RETURNS TABLE / SETOF).
#[derive(Debug, Default)]
pub struct Emitter;

impl Emitter {
    /// Adds one result row.
    pub fn row(&mut self, values: &[&dyn ToVal]) {
        let row: Vec<Val> = values.iter().map(|v| v.to_val()).collect();
        ffi::emit_row(&abi::encode(&row));
    }
}

/// Runs a function or procedure body: its value becomes the call's result, its error is
/// raised with its SQLSTATE. Export it as the routine:
/// `#[unsafe(no_mangle)] pub extern "C" fn name() -> i32 { oxibase_guest::entry(|tx| ...) }`.
pub fn entry<R: ToVal>(body: impl FnOnce(&Tx) -> Result<R>) -> i32 {
    match body(&Tx) {
        Ok(value) => {
            ffi::set_result(&abi::encode(&[value.to_val()]));
            0
        }
        Err(e) => raise(e),
    }
}

/// Runs a set-returning function's body, which emits its rows.
pub fn entry_rows(body: impl FnOnce(&Tx, &mut Emitter) -> Result<()>) -> i32 {
    match body(&Tx, &mut Emitter) {
        Ok(()) => 0,
        Err(e) => raise(e),
    }
}

/// Fails the call with an error (the host stops the guest here).
pub fn raise(e: Error) -> i32 {
    ffi::raise(&abi::encode(&[Val::Text(e.code), Val::Text(e.message)]));
    1
}

fn last_error() -> Error {
    let mut buffer = vec![0; 512];
    loop {
        let n = ffi::error(&mut buffer);
        let n = n.max(0) as usize;
        if n > buffer.len() {
            buffer.resize(n, 0);
            continue;
        }
        return match abi::decode(&buffer[..n]).as_deref() {
            Ok([Val::Text(code), Val::Text(message)]) => Error::new(code, message.clone()),
            _ => Error::new("XX000", "the host reported an error it could not describe"),
        };
    }
}

/// The host functions (ABI version 1), each wrapped so the rest of the crate is safe code.
#[allow(unsafe_code)]
mod ffi {
    #[cfg(target_arch = "wasm32")]
    mod imports {
        #[link(wasm_import_module = "oxibase")]
        unsafe extern "C" {
            pub fn args(ptr: *mut u8, cap: i32) -> i32;
            pub fn execute(sql: *const u8, sql_len: i32, params: *const u8, params_len: i32)
            -> i32;
            pub fn affected(handle: i32) -> i64;
            pub fn next_row(handle: i32, ptr: *mut u8, cap: i32) -> i32;
            pub fn close(handle: i32);
            pub fn error(ptr: *mut u8, cap: i32) -> i32;
            pub fn set_result(ptr: *const u8, len: i32);
            pub fn emit_row(ptr: *const u8, len: i32);
            pub fn raise(ptr: *const u8, len: i32);
            pub fn log(level: i32, ptr: *const u8, len: i32);
        }
    }

    #[cfg(target_arch = "wasm32")]
    mod calls {
        use super::imports as host;

        // SAFETY (all): pointers and lengths come from live Rust slices; the host reads or
        // writes only within them.
        pub fn args(buf: &mut [u8]) -> i32 {
            unsafe { host::args(buf.as_mut_ptr(), buf.len() as i32) }
        }
        pub fn execute(sql: &[u8], params: &[u8]) -> i32 {
            unsafe {
                host::execute(sql.as_ptr(), sql.len() as i32, params.as_ptr(), params.len() as i32)
            }
        }
        pub fn affected(handle: i32) -> i64 {
            unsafe { host::affected(handle) }
        }
        pub fn next_row(handle: i32, buf: &mut [u8]) -> i32 {
            unsafe { host::next_row(handle, buf.as_mut_ptr(), buf.len() as i32) }
        }
        pub fn close(handle: i32) {
            unsafe { host::close(handle) }
        }
        pub fn error(buf: &mut [u8]) -> i32 {
            unsafe { host::error(buf.as_mut_ptr(), buf.len() as i32) }
        }
        pub fn set_result(row: &[u8]) {
            unsafe { host::set_result(row.as_ptr(), row.len() as i32) }
        }
        pub fn emit_row(row: &[u8]) {
            unsafe { host::emit_row(row.as_ptr(), row.len() as i32) }
        }
        pub fn raise(row: &[u8]) {
            unsafe { host::raise(row.as_ptr(), row.len() as i32) }
        }
        pub fn log(level: i32, message: &[u8]) {
            unsafe { host::log(level, message.as_ptr(), message.len() as i32) }
        }
    }

    /// Natively there is no host: every call fails, so code type-checks and unit tests of
    /// pure helpers run.
    #[cfg(not(target_arch = "wasm32"))]
    mod calls {
        use crate::abi::{Val, encode};

        fn unavailable(buf: &mut [u8]) -> i32 {
            let row = encode(&[
                Val::Text("0A000".into()),
                Val::Text("oxibase-guest runs only inside Oxibase (wasm32)".into()),
            ]);
            if row.len() <= buf.len() {
                buf[..row.len()].copy_from_slice(&row);
            }
            row.len() as i32
        }
        pub fn args(_: &mut [u8]) -> i32 {
            -1
        }
        pub fn execute(_: &[u8], _: &[u8]) -> i32 {
            -1
        }
        pub fn affected(_: i32) -> i64 {
            0
        }
        pub fn next_row(_: i32, _: &mut [u8]) -> i32 {
            0
        }
        pub fn close(_: i32) {}
        pub fn error(buf: &mut [u8]) -> i32 {
            unavailable(buf)
        }
        pub fn set_result(_: &[u8]) {}
        pub fn emit_row(_: &[u8]) {}
        pub fn raise(_: &[u8]) {}
        pub fn log(_: i32, _: &[u8]) {}
    }

    pub use calls::*;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tuples_convert_from_rows() {
        let row = [Val::Int(1), Val::Text("x".into()), Val::Null];
        let (a, b, c): (i64, String, Option<f64>) = FromRow::from_row(&row).unwrap();
        assert_eq!((a, b.as_str(), c), (1, "x", None));
        assert!(<(i64,)>::from_row(&row).is_err());
        assert!(<(bool, String, Option<f64>)>::from_row(&row).is_err());
    }

    #[test]
    fn natively_host_calls_fail_with_an_error() {
        let err = Tx.execute("select 1", &[]).unwrap_err();
        assert_eq!(err.code, "0A000");
    }
}
