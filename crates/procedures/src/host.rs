//! The host side of the ABI: the functions a guest imports from `oxibase`, and the driver
//! that runs a guest as a coroutine of the calling session.
//!
//! The guest's SQL has to run in the caller's transaction, which the caller only lends for
//! the duration of the call (`&mut dyn Host`), while wasmtime wants host state that lives as
//! long as its store. So the guest runs as a coroutine (wasmtime's async call on a fiber):
//!
//! ```text
//!   driver (session thread)                      guest (fiber)
//!   poll(call) ───────────────────────────────►  ... execute(sql, params)
//!                                                   request := Execute{sql, params}
//!   ◄──────────────────────────── Pending ─────    await reply
//!   host.execute(sql, params)  (the SQL runs on
//!   the session's own stack, in its transaction)
//!   reply := rows
//!   poll(call) ───────────────────────────────►  reply ready: rows kept under a handle
//!                                                ... next_row(handle, buf) (no round trip)
//!   ◄──────────────────────────── Ready(result)
//! ```
//!
//! An epoch tick also makes the guest yield (Pending with no request): the driver then
//! checks the statement's cancel flag and deadline, and drops the call to stop the guest.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::task::{Context, Poll};
use std::time::Instant;

use oxibase_common::{Result, SqlState, Value, errinput};
use oxibase_guest::abi::Val;
use oxibase_sql::procedure::{Host, LogLevel};
use oxibase_sql::session::Output;
use parking_lot::Mutex;
use wasmtime::{Caller, Linker, Memory, StoreLimits};

use crate::codec;

/// The most a guest may emit as result rows, in encoded bytes.
const MAX_EMITTED_BYTES: usize = 256 << 20;

/// Why a call was stopped from outside.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stop {
    Timeout,
    Cancel,
}

/// A statement's rows, kept for the guest to read one at a time.
pub(crate) struct ResultSet {
    rows: Vec<Vec<Value>>,
    next: usize,
    affected: u64,
}

impl From<Output> for ResultSet {
    fn from(output: Output) -> ResultSet {
        let affected = output.count();
        let rows = match output {
            Output::Rows { rows, .. } => rows,
            _ => Vec::new(),
        };
        ResultSet { rows, next: 0, affected }
    }
}

/// What a suspended guest asks of the driver.
pub(crate) enum Request {
    Execute { sql: String, params: Vec<Value> },
}

/// The mailbox between a guest (in its fiber) and the driver.
#[derive(Default)]
pub(crate) struct Exchange {
    request: Option<Request>,
    reply: Option<Result<ResultSet>>,
    logs: Vec<(LogLevel, String)>,
}

/// A store's state: one call's arguments and results, and its limits.
pub(crate) struct CallState {
    pub(crate) limits: StoreLimits,
    pub(crate) args: Vec<Value>,
    pub(crate) exchange: Arc<Mutex<Exchange>>,
    results: Vec<Option<ResultSet>>,
    last_error: Option<oxibase_common::Error>,
    pub(crate) result: Option<Vec<Val>>,
    pub(crate) rows: Vec<Vec<Val>>,
    emitted: usize,
    pub(crate) raised: Option<oxibase_common::Error>,
    /// For direct (synchronous) calls: when to stop, and the session's cancel flag.
    pub(crate) deadline: Option<Instant>,
    pub(crate) cancel: Option<Arc<AtomicBool>>,
    pub(crate) stopped: Option<Stop>,
}

impl CallState {
    pub(crate) fn new(limits: StoreLimits) -> CallState {
        CallState {
            limits,
            args: Vec::new(),
            exchange: Arc::default(),
            results: Vec::new(),
            last_error: None,
            result: None,
            rows: Vec::new(),
            emitted: 0,
            raised: None,
            deadline: None,
            cancel: None,
            stopped: None,
        }
    }

    /// Readies a (pooled) store for a new call.
    pub(crate) fn reset(&mut self, args: &[Value], host: &dyn Host) {
        self.args = args.to_vec();
        *self.exchange.lock() = Exchange::default();
        self.results.clear();
        self.last_error = None;
        self.result = None;
        self.rows.clear();
        self.emitted = 0;
        self.raised = None;
        self.deadline = host.deadline();
        self.cancel = host.cancel_flag();
        self.stopped = None;
    }

    /// Readies a store for a direct call, which needs only the stop conditions.
    pub(crate) fn arm(&mut self, host: &dyn Host) {
        self.deadline = host.deadline();
        if self.cancel.is_none() {
            self.cancel = host.cancel_flag();
        }
        self.stopped = None;
    }

    /// Checks the deadline and cancel flag (from the epoch callback of a direct call).
    pub(crate) fn should_stop(&mut self) -> Option<Stop> {
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            self.stopped = Some(Stop::Timeout);
        } else if self
            .cancel
            .as_ref()
            .is_some_and(|c| c.swap(false, std::sync::atomic::Ordering::SeqCst))
        {
            self.stopped = Some(Stop::Cancel);
        }
        self.stopped
    }
}

/// The error a stopped call reports (PostgreSQL's wording).
pub(crate) fn stop_error(stop: Stop) -> oxibase_common::Error {
    match stop {
        Stop::Timeout => {
            errinput!(QUERY_CANCELED, "canceling statement due to statement timeout")
        }
        Stop::Cancel => errinput!(QUERY_CANCELED, "canceling statement due to user request"),
    }
}

/// The host functions of ABI version 1 (documented in docs/procedures.md).
pub(crate) const IMPORTS: &[&str] = &[
    "args",
    "execute",
    "affected",
    "next_row",
    "close",
    "error",
    "set_result",
    "emit_row",
    "raise",
    "log",
];

type Ctx<'a> = Caller<'a, CallState>;

fn memory(caller: &mut Ctx) -> wasmtime::Result<Memory> {
    caller
        .get_export("memory")
        .and_then(|e| e.into_memory())
        .ok_or_else(|| wasmtime::Error::msg("the module exports no memory named \"memory\""))
}

fn range(ptr: i32, len: usize, size: usize) -> wasmtime::Result<std::ops::Range<usize>> {
    let start = u32::try_from(ptr).map_err(|_| wasmtime::Error::msg("negative pointer"))? as usize;
    let end = start.checked_add(len).filter(|&e| e <= size);
    let end = end.ok_or_else(|| wasmtime::Error::msg("pointer out of the module's memory"))?;
    Ok(start..end)
}

fn read(caller: &mut Ctx, ptr: i32, len: i32) -> wasmtime::Result<Vec<u8>> {
    let memory = memory(caller)?;
    let len = u32::try_from(len).map_err(|_| wasmtime::Error::msg("negative length"))? as usize;
    let data = memory.data(&*caller);
    Ok(data[range(ptr, len, data.len())?].to_vec())
}

/// Writes a row straight into guest memory when it fits in `cap`; returns its length.
fn write_row(caller: &mut Ctx, row: &[Value], ptr: i32, cap: i32) -> wasmtime::Result<i32> {
    let need = codec::row_len(row);
    if need <= cap.max(0) as usize {
        let memory = memory(caller)?;
        let data = memory.data_mut(&mut *caller);
        let r = range(ptr, need, data.len())?;
        codec::encode_row_into(row, &mut data[r]);
    }
    Ok(need as i32)
}

fn decode(bytes: &[u8]) -> wasmtime::Result<Vec<Val>> {
    codec::decode(bytes).map_err(|e| wasmtime::Error::msg(e.message().to_string()))
}

/// A guest-raised error: its SQLSTATE when valid, P0001 otherwise.
fn raised_error(row: &[Val]) -> oxibase_common::Error {
    let text = |i: usize| match row.get(i) {
        Some(Val::Text(s)) => s.clone(),
        _ => String::new(),
    };
    let (code, message) = (text(0), text(1));
    let state = match code.as_bytes() {
        [a, b, c, d, e] if code.bytes().all(|b| b.is_ascii_alphanumeric()) => {
            SqlState::new(&[*a, *b, *c, *d, *e])
        }
        _ => SqlState::RAISE_EXCEPTION,
    };
    oxibase_common::Error::new(oxibase_common::ErrorKind::InvalidInput, state, message)
}

/// Registers the ABI's host functions.
pub(crate) fn define(linker: &mut Linker<CallState>) -> wasmtime::Result<()> {
    const M: &str = oxibase_guest::abi::MODULE;
    linker.func_wrap(M, "args", |mut c: Ctx, ptr: i32, cap: i32| {
        let args = std::mem::take(&mut c.data_mut().args);
        let n = write_row(&mut c, &args, ptr, cap);
        c.data_mut().args = args;
        n
    })?;
    linker.func_wrap_async(
        M,
        "execute",
        |mut c: Ctx, (sql, sql_len, params, len): (i32, i32, i32, i32)| {
            Box::new(async move {
                let sql = String::from_utf8(read(&mut c, sql, sql_len)?)
                    .map_err(|_| wasmtime::Error::msg("SQL text is not UTF-8"))?;
                let params: Vec<Value> =
                    decode(&read(&mut c, params, len)?)?.into_iter().map(codec::param).collect();
                let exchange = c.data().exchange.clone();
                exchange.lock().request = Some(Request::Execute { sql, params });
                match (Reply(exchange)).await {
                    Ok(set) => {
                        let results = &mut c.data_mut().results;
                        results.push(Some(set));
                        Ok(results.len() as i32 - 1)
                    }
                    Err(e) => {
                        c.data_mut().last_error = Some(e);
                        Ok(-1)
                    }
                }
            })
        },
    )?;
    linker.func_wrap(M, "affected", |c: Ctx, handle: i32| -> i64 {
        match c.data().results.get(handle.max(0) as usize) {
            Some(Some(set)) => set.affected as i64,
            _ => -1,
        }
    })?;
    linker.func_wrap(M, "next_row", |mut c: Ctx, handle: i32, ptr: i32, cap: i32| {
        let slot = handle.max(0) as usize;
        let Some(Some(set)) = c.data_mut().results.get_mut(slot) else { return Ok(0) };
        let Some(row) = set.rows.get_mut(set.next).map(std::mem::take) else { return Ok(0) };
        let n = write_row(&mut c, &row, ptr, cap)?;
        if let Some(Some(set)) = c.data_mut().results.get_mut(slot) {
            if n <= cap {
                set.next += 1;
            } else if let Some(r) = set.rows.get_mut(set.next) {
                *r = row;
            }
        }
        Ok(n)
    })?;
    linker.func_wrap(M, "close", |mut c: Ctx, handle: i32| {
        if let Some(slot) = c.data_mut().results.get_mut(handle.max(0) as usize) {
            *slot = None;
        }
    })?;
    linker.func_wrap(M, "error", |mut c: Ctx, ptr: i32, cap: i32| {
        let row = match &c.data().last_error {
            Some(e) => vec![
                Value::Text(e.code().as_str().to_string()),
                Value::Text(e.message().to_string()),
            ],
            None => vec![Value::Text("00000".into()), Value::Text(String::new())],
        };
        write_row(&mut c, &row, ptr, cap)
    })?;
    linker.func_wrap(M, "set_result", |mut c: Ctx, ptr: i32, len: i32| {
        let row = decode(&read(&mut c, ptr, len)?)?;
        c.data_mut().result = Some(row);
        Ok(())
    })?;
    linker.func_wrap(M, "emit_row", |mut c: Ctx, ptr: i32, len: i32| {
        let bytes = read(&mut c, ptr, len)?;
        let state = c.data_mut();
        state.emitted += bytes.len();
        if state.emitted > MAX_EMITTED_BYTES {
            state.raised = Some(errinput!(
                PROGRAM_LIMIT_EXCEEDED,
                "a routine may return at most {} MiB of rows",
                MAX_EMITTED_BYTES >> 20
            ));
            return Err(wasmtime::Error::msg("too many rows"));
        }
        let row = decode(&bytes)?;
        c.data_mut().rows.push(row);
        Ok(())
    })?;
    linker.func_wrap(M, "raise", |mut c: Ctx, ptr: i32, len: i32| -> wasmtime::Result<()> {
        let row = decode(&read(&mut c, ptr, len)?)?;
        c.data_mut().raised = Some(raised_error(&row));
        Err(wasmtime::Error::msg("the routine raised an error"))
    })?;
    linker.func_wrap(M, "log", |mut c: Ctx, level: i32, ptr: i32, len: i32| {
        let message = String::from_utf8_lossy(&read(&mut c, ptr, len)?).into_owned();
        let level = match level {
            0 => LogLevel::Debug,
            1 => LogLevel::Info,
            3 => LogLevel::Warning,
            _ => LogLevel::Notice,
        };
        c.data().exchange.lock().logs.push((level, message));
        Ok(())
    })?;
    Ok(())
}

/// Resolves once the driver has put a reply in the exchange.
struct Reply(Arc<Mutex<Exchange>>);

impl Future for Reply {
    type Output = Result<ResultSet>;

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Self::Output> {
        match self.0.lock().reply.take() {
            Some(reply) => Poll::Ready(reply),
            None => Poll::Pending,
        }
    }
}

/// Runs a guest call to completion on this thread, serving its SQL through `host`.
/// Returns `Err` when the host stopped it (cancel, timeout), dropping the call.
pub(crate) fn drive<F: Future>(
    call: F,
    exchange: &Mutex<Exchange>,
    host: &mut dyn Host,
) -> Result<F::Output> {
    let mut call = std::pin::pin!(call);
    let mut cx = Context::from_waker(std::task::Waker::noop());
    loop {
        let poll = call.as_mut().poll(&mut cx);
        let (request, logs) = {
            let mut ex = exchange.lock();
            (ex.request.take(), std::mem::take(&mut ex.logs))
        };
        for (level, message) in logs {
            host.log(level, &message);
        }
        if let Poll::Ready(output) = poll {
            return Ok(output);
        }
        match request {
            Some(Request::Execute { sql, params }) => {
                let reply = host.execute(&sql, &params).map(ResultSet::from);
                exchange.lock().reply = Some(reply);
            }
            // An epoch tick: the guest yielded so that the statement can be stopped.
            None => host.check_interrupt()?,
        }
    }
}
