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
    let shared = shared()?;
    let module = Module::new(&shared.engine, routine.module.as_slice()).map_err(|e| {
        errinput!(INVALID_FUNCTION_DEFINITION, "invalid WebAssembly module for {}()", routine.name)
            .with_detail(format!("{e:#}"))
    })?;
    let mut store = crate::runtime::new_store(&shared.engine, options);
    store.epoch_deadline_async_yield_and_update(1);
    store.set_epoch_deadline(1);
    store.data_mut().reset(args, host);
    let stops = Arc::new(Mutex::new(Vec::new()));
    store.set_debug_handler(Recorder(stops.clone()));
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
        if debug.single_step
            && let Some(mut edit) = store.edit_breakpoints()
        {
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
    let stops = std::mem::take(&mut *stops.lock());
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
    Ok((result, stops))
}
