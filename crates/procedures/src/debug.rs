//! Running a routine under wasmtime's guest debugger.
//!
//! A separate engine compiles modules with `Config::guest_debug`, which instruments them
//! for breakpoints and single-stepping and keeps every frame's locals and operand stack
//! readable. Debugged calls always take the coroutine path (`call_async`), which guest
//! debugging requires; the session still serves the guest's SQL between steps, so a paused
//! routine keeps its transaction (and locks) open, as a debugger expects.
//!
//! This is the runtime half of the TUI's step debugger (issue 7): it records each stop
//! (event, call stack, locals, operand stack). Driving the stops interactively, breakpoints
//! by source line and the debug session protocol come with the TUI.

use std::sync::{Arc, OnceLock};

use oxibase_common::{Result, Value, errinput};
use oxibase_sql::debug::{DebugSession, Frame, HostCall};
use oxibase_sql::procedure::{CallResult, Host, Returns, Routine};
use parking_lot::Mutex;
use wasmtime::{DebugEvent, DebugHandler, Engine, Linker, Module, StoreContextMut, Val};

use crate::host::{self, CallState};
use crate::runtime::{RuntimeOptions, abi_result};

/// Stops kept per debugged call (a loop under single-step would never end).
const MAX_STOPS: usize = 100_000;

/// Where a debugged routine stopped.
#[derive(Clone, Debug, PartialEq)]
pub struct DebugStop {
    /// Why: `breakpoint` (single-step stops are breakpoints at every instruction), `trap:
    /// ...`, `host error: ...`.
    pub event: String,
    /// The call stack, innermost frame first.
    pub frames: Vec<DebugFrame>,
}

/// One Wasm frame at a stop.
#[derive(Clone, Debug, PartialEq)]
pub struct DebugFrame {
    /// The defined function's index in its module.
    pub function: u32,
    /// The module-relative byte offset of the current instruction.
    pub pc: u32,
    /// Locals (parameters first), as Wasm values.
    pub locals: Vec<String>,
    /// The operand stack, bottom first.
    pub stack: Vec<String>,
}

/// How to run a debugged call.
#[derive(Clone, Copy, Debug, Default)]
pub struct DebugOptions {
    /// Stop at every instruction.
    pub single_step: bool,
}

struct DebugShared {
    engine: Engine,
    linker: Linker<CallState>,
}

fn shared() -> Result<&'static DebugShared> {
    static SHARED: OnceLock<std::result::Result<DebugShared, String>> = OnceLock::new();
    SHARED
        .get_or_init(|| {
            let (engine, linker) = crate::runtime::engine(true)?;
            Ok(DebugShared { engine, linker })
        })
        .as_ref()
        .map_err(|e| errinput!(INTERNAL_ERROR, "could not start the debugging engine: {e}"))
}

/// Asks a debug session at every instruction whether to stop there (it blocks while
/// stopped).
#[derive(Clone)]
struct Interactive(Arc<DebugSession>, Option<Arc<crate::lines::Lines>>);

impl DebugHandler for Interactive {
    type Data = CallState;

    fn handle(
        &self,
        mut store: StoreContextMut<'_, CallState>,
        event: DebugEvent<'_>,
    ) -> impl Future<Output = ()> + Send {
        if matches!(event, DebugEvent::Breakpoint) {
            let mut depth = 0;
            let mut top = None;
            let mut next = store.debug_exit_frames().next();
            while let Some(frame) = next {
                if top.is_none() {
                    top = frame.wasm_function_index_and_pc(&mut store).ok().flatten();
                }
                depth += 1;
                next = frame.parent(&mut store).ok().flatten();
            }
            let (function, pc) = top.map_or((u32::MAX, 0), |(f, pc)| (f.as_u32(), pc.raw()));
            let lines = self.1.as_deref();
            let line = lines.and_then(|l| l.line(pc));
            // On Abort the session refuses further host calls and interrupts (DebugHost),
            // which ends the call at its next epoch check.
            let _ = self.0.at(depth, (function, pc), (line, lines.is_some()), || {
                frames(&mut store)
                    .into_iter()
                    .map(|f| Frame {
                        function: f.function,
                        pc: f.pc,
                        line: lines.and_then(|l| l.line(f.pc)),
                        locals: f.locals,
                        stack: f.stack,
                    })
                    .collect()
            });
        }
        std::future::ready(())
    }
}

/// The session's host, seen through a debug session: each statement is recorded, and an
/// aborted session stops the call.
struct DebugHost<'a> {
    inner: &'a mut dyn Host,
    session: Arc<DebugSession>,
}

impl DebugHost<'_> {
    fn aborted(&self) -> Result<()> {
        if self.session.aborting() {
            return Err(errinput!(
                QUERY_CANCELED,
                "canceling statement: the debugger aborted the call"
            ));
        }
        Ok(())
    }
}

impl Host for DebugHost<'_> {
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<oxibase_sql::Output> {
        self.aborted()?;
        let result = self.inner.execute(sql, params);
        self.session.host_call(
            HostCall {
                sql: sql.to_string(),
                params: params
                    .iter()
                    .map(|v| {
                        let zone = oxibase_sql::types::datetime::Zone::UTC;
                        oxibase_sql::types::text::display_value(v, &zone)
                    })
                    .collect(),
                outcome: match &result {
                    Ok(out) => Ok(out.count()),
                    Err(e) => Err(format!("{} ({})", e.message(), e.code())),
                },
            },
            self.inner.written_rows(),
        );
        result
    }

    fn log(&mut self, level: oxibase_sql::procedure::LogLevel, message: &str) {
        self.inner.log(level, message)
    }

    fn routine(
        &mut self,
        schema: Option<&str>,
        name: &str,
    ) -> Result<Option<std::sync::Arc<oxibase_sql::procedure::Routine>>> {
        self.inner.routine(schema, name)
    }

    fn deadline(&self) -> Option<std::time::Instant> {
        None // a paused routine has all the time it needs
    }

    fn check_interrupt(&self) -> Result<()> {
        self.aborted()?;
        self.inner.check_interrupt()
    }
}

/// Records every stop.
#[derive(Clone)]
struct Recorder(Arc<Mutex<Vec<DebugStop>>>);

impl DebugHandler for Recorder {
    type Data = CallState;

    fn handle(
        &self,
        mut store: StoreContextMut<'_, CallState>,
        event: DebugEvent<'_>,
    ) -> impl Future<Output = ()> + Send {
        let event = match event {
            DebugEvent::Breakpoint => "breakpoint".to_string(),
            DebugEvent::Trap(trap) => format!("trap: {trap}"),
            DebugEvent::HostcallError(e) => format!("host error: {e}"),
            // The epoch ticks that let the session check cancel and statement_timeout: not
            // a place the program stopped at.
            DebugEvent::EpochYield => return std::future::ready(()),
            _ => "exception".to_string(),
        };
        let mut stops = self.0.lock();
        if stops.len() < MAX_STOPS {
            stops.push(DebugStop { event, frames: frames(&mut store) });
        }
        std::future::ready(())
    }
}

fn text(v: &Val) -> String {
    match v {
        Val::I32(i) => format!("i32 {i}"),
        Val::I64(i) => format!("i64 {i}"),
        Val::F32(f) => format!("f32 {}", f32::from_bits(*f)),
        Val::F64(f) => format!("f64 {}", f64::from_bits(*f)),
        other => format!("{other:?}"),
    }
}

fn frames(store: &mut StoreContextMut<'_, CallState>) -> Vec<DebugFrame> {
    let mut out = Vec::new();
    let mut next = store.debug_exit_frames().next();
    while let Some(frame) = next {
        let (function, pc) = match frame.wasm_function_index_and_pc(&mut *store) {
            Ok(Some((f, pc))) => (f.as_u32(), pc.raw()),
            _ => (u32::MAX, 0),
        };
        let locals = (0..frame.num_locals(&mut *store).unwrap_or(0))
            .map(|i| frame.local(&mut *store, i).map(|v| text(&v)).unwrap_or_default())
            .collect();
        let stack = (0..frame.num_stacks(&mut *store).unwrap_or(0))
            .map(|i| frame.stack(&mut *store, i).map(|v| text(&v)).unwrap_or_default())
            .collect();
        out.push(DebugFrame { function, pc, locals, stack });
        next = frame.parent(&mut *store).ok().flatten();
    }
    out
}

/// Calls a routine under the guest debugger; returns its result and the stops it made.
pub fn call_debug(
    routine: &Routine,
    args: &[Value],
    host: &mut dyn Host,
    options: &RuntimeOptions,
    debug: DebugOptions,
) -> Result<(CallResult, Vec<DebugStop>)> {
    let stops = Arc::new(Mutex::new(Vec::new()));
    let result = run(routine, args, host, options, Recorder(stops.clone()), debug.single_step)?;
    let stops = std::mem::take(&mut *stops.lock());
    Ok((result, stops))
}

/// Calls a routine for a debug session ([`oxibase_sql::debug`]): it stops where the session
/// says (steps, breakpoints) and waits there for its commands; its host calls are recorded.
pub fn call_interactive(
    routine: &Routine,
    args: &[Value],
    host: &mut dyn Host,
    options: &RuntimeOptions,
    session: Arc<DebugSession>,
) -> Result<CallResult> {
    let mut host = DebugHost { inner: host, session: session.clone() };
    let lines = crate::lines::Lines::of(routine).map(Arc::new);
    run(routine, args, &mut host, options, Interactive(session, lines), true)
}

fn run<H: DebugHandler<Data = CallState>>(
    routine: &Routine,
    args: &[Value],
    host: &mut dyn Host,
    options: &RuntimeOptions,
    handler: H,
    single_step: bool,
) -> Result<CallResult> {
    let shared = shared()?;
    let module = Module::new(&shared.engine, routine.module.as_slice()).map_err(|e| {
        errinput!(INVALID_FUNCTION_DEFINITION, "invalid WebAssembly module for {}()", routine.name)
            .with_detail(format!("{e:#}"))
    })?;
    let mut store = crate::runtime::new_store(&shared.engine, options);
    store.epoch_deadline_async_yield_and_update(1);
    store.set_epoch_deadline(1);
    store.data_mut().reset(args, host);
    store.set_debug_handler(handler);
    let uses_host = module.imports().len() > 0;
    let exchange = store.data().exchange.clone();
    let name = routine.name.clone();
    let params: Vec<Val> = args
        .iter()
        .map(|v| match v {
            Value::Int2(i) => Val::I32(i32::from(*i)),
            Value::Int4(i) => Val::I32(*i),
            Value::Bool(b) => Val::I32(i32::from(*b)),
            Value::Int8(i) => Val::I64(*i),
            Value::Float4(f) => Val::F32(f.to_bits()),
            Value::Float8(f) => Val::F64(f.to_bits()),
            _ => Val::I32(0),
        })
        .collect();
    let returns_value = matches!(routine.returns, Returns::Value(_));
    let call = async {
        let instance = shared.linker.instantiate_async(&mut store, &module).await?;
        if single_step && let Some(mut edit) = store.edit_breakpoints() {
            edit.single_step(true)?;
        }
        let func = instance
            .get_func(&mut store, &name)
            .ok_or_else(|| wasmtime::Error::msg("the module does not export the routine"))?;
        let mut results = [Val::I32(0)];
        if uses_host {
            func.call_async(&mut store, &[], &mut results).await?;
        } else {
            let n = usize::from(returns_value);
            func.call_async(&mut store, &params, &mut results[..n]).await?;
        }
        wasmtime::Result::<Val>::Ok(results[0])
    };
    let outcome = host::drive(call, &exchange, host)?;
    let value = outcome.map_err(|e| {
        errinput!(EXTERNAL_ROUTINE_EXCEPTION, "{}() failed under the debugger: {e}", routine.name)
    })?;
    let result = if uses_host {
        let status = value.i32().unwrap_or(1);
        abi_result(routine, store.data_mut(), status)?
    } else {
        CallResult::Value(match (&value, &routine.returns) {
            (Val::I32(i), Returns::Value(oxibase_common::DataType::Bool)) => Value::Bool(*i != 0),
            (Val::I32(i), Returns::Value(_)) => Value::Int4(*i),
            (Val::I64(i), Returns::Value(_)) => Value::Int8(*i),
            (Val::F32(f), Returns::Value(_)) => Value::Float4(f32::from_bits(*f)),
            (Val::F64(f), Returns::Value(_)) => Value::Float8(f64::from_bits(*f)),
            _ => Value::Null,
        })
    };
    Ok(result)
}
