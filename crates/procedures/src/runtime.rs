//! The wasmtime runtime: one engine, a cache of compiled modules, and warm instances.
//!
//! Two calling conventions, chosen by what the module imports:
//!
//! - **direct**: a module importing nothing, exporting a function named like the routine
//!   whose Wasm parameters and result are the SQL ones (INTEGER i32, BIGINT i64, REAL f32,
//!   DOUBLE PRECISION f64). It is called synchronously, with no SDK and no copying.
//! - **host ABI**: a module importing from `oxibase` (see [`crate::host`]), exporting
//!   `name() -> i32`. It runs as a coroutine so its SQL can run in the caller's transaction.
//!
//! Modules are compiled once per content hash and kept (up to [`MODULE_CACHE`]). Instances
//! are pooled per thread (a connection is a thread), so a call does not instantiate either:
//! the pool hands back the instance a previous call of the same session used. NB: an
//! instance's memory and globals therefore survive between calls of one session, as a
//! PL/Python session's globals do; a routine must not rely on fresh state.
//!
//! Limits: a per-instance memory cap, a bound on the Wasm stack, and epochs (a tick every
//! [`TICK`]) that stop a call past its statement's deadline or on cancel.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use oxibase_common::{DataType, Result, Value, errinput};
use oxibase_sql::procedure::{CallResult, Host, ProcedureRuntime, Returns, Routine};
use parking_lot::Mutex;
use wasmtime::{
    Config, Engine, ExternType, Func, Instance, InstancePre, Linker, Module, Store,
    StoreLimitsBuilder, Trap, TypedFunc, UpdateDeadline, Val, ValType,
};

use crate::host::{self, CallState, Stop};
use crate::{codec, compile};

/// How often the epoch advances: the granularity of statement_timeout and cancel.
const TICK: Duration = Duration::from_millis(5);

/// Compiled modules kept.
const MODULE_CACHE: usize = 256;

/// Modules with warm instances kept per thread.
const POOL_MODULES: usize = 32;

/// Warm instances kept per module and thread.
const POOL_PER_MODULE: usize = 4;

/// Limits applied to every call.
#[derive(Clone, Debug)]
pub struct RuntimeOptions {
    /// Linear memory per instance, in bytes.
    pub memory_limit: usize,
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        RuntimeOptions { memory_limit: 64 << 20 }
    }
}

/// How a module is called.
enum Convention {
    /// Exports `name` with the SQL signature in Wasm numbers.
    Direct,
    /// Imports the host ABI; exports `name() -> i32`.
    Abi(InstancePre<CallState>),
}

struct Compiled {
    module: Module,
    convention: Convention,
    /// Names this module and export in the per-thread instance pools.
    key: u64,
}

/// A warm instance: its store, and the routine's export.
struct Warm {
    store: Store<CallState>,
    func: Func,
    /// The export as a typed function for the common direct signatures: a typed call skips
    /// the dynamic type checks of `Func::call`, most of a trivial call's cost.
    typed: Option<Typed>,
}

/// Typed entry points of direct functions.
enum Typed {
    I64(TypedFunc<i64, i64>),
    I32(TypedFunc<i32, i32>),
    F64(TypedFunc<f64, f64>),
    I64x2(TypedFunc<(i64, i64), i64>),
    I32x2(TypedFunc<(i32, i32), i32>),
    F64x2(TypedFunc<(f64, f64), f64>),
}

impl Typed {
    fn of(func: &Func, store: &Store<CallState>) -> Option<Typed> {
        Some(if let Ok(f) = func.typed(store) {
            Typed::I64(f)
        } else if let Ok(f) = func.typed(store) {
            Typed::I32(f)
        } else if let Ok(f) = func.typed(store) {
            Typed::F64(f)
        } else if let Ok(f) = func.typed(store) {
            Typed::I64x2(f)
        } else if let Ok(f) = func.typed(store) {
            Typed::I32x2(f)
        } else if let Ok(f) = func.typed(store) {
            Typed::F64x2(f)
        } else {
            return None;
        })
    }

    /// Calls with SQL values of the declared types; None when they do not fit the variant.
    fn call(&self, store: &mut Store<CallState>, args: &[Value]) -> Option<wasmtime::Result<Val>> {
        use Value::{Float8 as F, Int4 as I, Int8 as L};
        Some(match (self, args) {
            (Typed::I64(f), [L(a)]) => f.call(store, *a).map(Val::I64),
            (Typed::I32(f), [I(a)]) => f.call(store, *a).map(Val::I32),
            (Typed::F64(f), [F(a)]) => f.call(store, *a).map(|r| Val::F64(r.to_bits())),
            (Typed::I64x2(f), [L(a), L(b)]) => f.call(store, (*a, *b)).map(Val::I64),
            (Typed::I32x2(f), [I(a), I(b)]) => f.call(store, (*a, *b)).map(Val::I32),
            (Typed::F64x2(f), [F(a), F(b)]) => {
                f.call(store, (*a, *b)).map(|r| Val::F64(r.to_bits()))
            }
            _ => return None,
        })
    }
}

thread_local! {
    /// Warm instances of this thread (session), by [`Compiled::key`]. A session uses few
    /// routines, so a short list searched in order beats hashing on every call.
    static POOL: RefCell<Vec<(u64, Vec<Warm>)>> = const { RefCell::new(Vec::new()) };
}

/// Takes a warm instance of a module from this thread's pool.
fn pool_take(key: u64) -> Option<Warm> {
    POOL.with(|p| p.borrow_mut().iter_mut().find(|(k, _)| *k == key).and_then(|(_, l)| l.pop()))
}

fn next_key() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// The engine and the host functions, shared by every runtime in the process (one epoch
/// ticker thread).
struct Shared {
    engine: Engine,
    linker: Linker<CallState>,
}

fn shared() -> Result<&'static Shared> {
    static SHARED: OnceLock<std::result::Result<Shared, String>> = OnceLock::new();
    SHARED
        .get_or_init(|| {
            let (engine, linker) = engine(false)?;
            Ok(Shared { engine, linker })
        })
        .as_ref()
        .map_err(|e| errinput!(INTERNAL_ERROR, "could not start the WebAssembly engine: {e}"))
}

/// An engine for routines (instrumented for guest debugging, or not), its epoch ticker
/// thread, and a linker offering the host ABI.
pub(crate) fn engine(debug: bool) -> std::result::Result<(Engine, Linker<CallState>), String> {
    let mut config = Config::new();
    config.guest_debug(debug);
    config.epoch_interruption(true);
    config.max_wasm_stack(512 << 10);
    config.async_stack_size(2 << 20);
    let engine = Engine::new(&config).map_err(|e| e.to_string())?;
    let mut linker = Linker::new(&engine);
    host::define(&mut linker).map_err(|e| e.to_string())?;
    let ticker = engine.weak();
    std::thread::Builder::new()
        .name("oxibase-wasm-epoch".into())
        .spawn(move || {
            while let Some(engine) = ticker.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(TICK);
            }
        })
        .map_err(|e| e.to_string())?;
    Ok((engine, linker))
}

/// A store for one instance, with the memory cap.
pub(crate) fn new_store(engine: &Engine, options: &RuntimeOptions) -> Store<CallState> {
    let limits = StoreLimitsBuilder::new()
        .memory_size(options.memory_limit)
        .instances(1)
        .trap_on_grow_failure(true)
        .build();
    let mut store = Store::new(engine, CallState::new(limits));
    store.limiter(|s| &mut s.limits);
    store
}

/// Runs routines with wasmtime.
pub struct WasmRuntime {
    options: RuntimeOptions,
    /// By module hash and export name.
    modules: Mutex<HashMap<String, Arc<Compiled>>>,
    /// Held while a module compiles, so that calls arriving together on a routine not yet
    /// compiled wait for one compilation instead of each running their own.
    compiling: Mutex<()>,
    /// Modules compiled so far.
    compiled_count: std::sync::atomic::AtomicU64,
}

impl WasmRuntime {
    /// A runtime with the given limits.
    pub fn new(options: RuntimeOptions) -> Result<WasmRuntime> {
        shared()?;
        Ok(WasmRuntime {
            options,
            modules: Mutex::new(HashMap::new()),
            compiling: Mutex::new(()),
            compiled_count: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// Calls a routine under the guest debugger (see [`crate::debug`]): its result and
    /// every stop it made.
    pub fn call_debug(
        &self,
        routine: &Routine,
        args: &[Value],
        host: &mut dyn Host,
        debug: crate::debug::DebugOptions,
    ) -> Result<(CallResult, Vec<crate::debug::DebugStop>)> {
        crate::debug::call_debug(routine, args, host, &self.options, debug)
    }

    /// The compiled module of a routine: kept with the routine, else from the cache, else
    /// compiled and checked now.
    fn compiled(&self, routine: &Routine) -> Result<Arc<Compiled>> {
        if let Some(state) = routine.runtime_state.get()
            && let Ok(compiled) = state.clone().downcast::<Compiled>()
        {
            return Ok(compiled);
        }
        let key = pool_key(routine);
        let cached = self.modules.lock().get(&key).cloned();
        let compiled = match cached {
            Some(c) => c,
            None => {
                // NB: eight pgbench clients' first calls used to compile the module eight
                // times at once (~1.5 s of CPU on two cores for the transfer example).
                let _one_at_a_time = self.compiling.lock();
                let cached = self.modules.lock().get(&key).cloned();
                match cached {
                    Some(c) => c,
                    None => {
                        let compiled = Arc::new(self.prepare(routine)?);
                        self.remember(key, compiled.clone());
                        compiled
                    }
                }
            }
        };
        let _ = routine.runtime_state.set(compiled.clone());
        Ok(compiled)
    }

    /// Compiles and checks a module (see [`prepare`]), counted.
    fn prepare(&self, routine: &Routine) -> Result<Compiled> {
        self.compiled_count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        prepare(routine)
    }

    fn remember(&self, key: String, compiled: Arc<Compiled>) {
        let mut modules = self.modules.lock();
        if modules.len() >= MODULE_CACHE {
            modules.clear();
        }
        modules.insert(key, compiled);
    }

    /// A warm instance of the module, from this thread's pool or instantiated now.
    fn checkout(&self, routine: &Routine, compiled: &Compiled) -> Result<Option<Warm>> {
        let warm = pool_take(compiled.key);
        if warm.is_some() {
            return Ok(warm);
        }
        let mut store = new_store(&shared()?.engine, &self.options);
        match &compiled.convention {
            Convention::Direct => {
                store.epoch_deadline_callback(|mut ctx| match ctx.data_mut().should_stop() {
                    Some(_) => Err(wasmtime::Error::msg("interrupted")),
                    None => Ok(UpdateDeadline::Continue(1)),
                });
                let instance = Instance::new(&mut store, &compiled.module, &[])
                    .map_err(|e| instantiate_error(routine, &self.options, e))?;
                let func = export(&mut store, &instance, routine)?;
                let typed = Typed::of(&func, &store);
                Ok(Some(Warm { store, func, typed }))
            }
            // Instantiating may run the module's start function: that is done on the
            // call's fiber (see `call_abi`).
            Convention::Abi(_) => Ok(None),
        }
    }

    fn checkin(&self, compiled: &Compiled, warm: Warm) {
        POOL.with(|p| {
            let mut pool = p.borrow_mut();
            let at = match pool.iter().position(|(k, _)| *k == compiled.key) {
                Some(at) => at,
                None => {
                    if pool.len() >= POOL_MODULES {
                        pool.remove(0);
                    }
                    pool.push((compiled.key, Vec::new()));
                    pool.len() - 1
                }
            };
            if pool[at].1.len() < POOL_PER_MODULE {
                pool[at].1.push(warm);
            }
        });
    }

    fn call_direct(
        &self,
        routine: &Routine,
        compiled: &Compiled,
        args: &[Value],
        host: &mut dyn Host,
    ) -> Result<CallResult> {
        // Plain Wasm numbers have no NULL: a NULL argument gives NULL without a call.
        if args.iter().any(Value::is_null) {
            return Ok(CallResult::Value(Value::Null));
        }
        let Some(mut warm) = self.checkout(routine, compiled)? else {
            return Err(errinput!(INTERNAL_ERROR, "no instance for {}()", routine.name));
        };
        warm.store.data_mut().arm(host);
        warm.store.set_epoch_deadline(1);
        let mut results = [Val::I32(0)];
        let typed = warm.typed.as_ref().and_then(|t| t.call(&mut warm.store, args));
        let outcome = match typed {
            Some(outcome) => outcome.map(|v| results[0] = v),
            None => {
                let params: Vec<Val> = args
                    .iter()
                    .zip(&routine.args)
                    .map(|(v, (_, t))| wasm_value(v, t, routine))
                    .collect::<Result<_>>()?;
                let n = usize::from(matches!(routine.returns, Returns::Value(_)));
                warm.func.call(&mut warm.store, &params, &mut results[..n])
            }
        };
        if let Err(e) = outcome {
            return Err(call_error(routine, &self.options, warm.store.data_mut(), e));
        }
        let value = match &routine.returns {
            Returns::Value(t) => sql_value(&results[0], t),
            _ => Value::Null,
        };
        self.checkin(compiled, warm);
        Ok(CallResult::Value(value))
    }

    fn call_abi(
        &self,
        routine: &Routine,
        compiled: &Compiled,
        pre: &InstancePre<CallState>,
        args: &[Value],
        host: &mut dyn Host,
    ) -> Result<CallResult> {
        let warm = pool_take(compiled.key);
        let (mut store, func) = match warm {
            Some(w) => (w.store, Some(w.func)),
            None => {
                let mut store = new_store(&shared()?.engine, &self.options);
                store.epoch_deadline_async_yield_and_update(1);
                (store, None)
            }
        };
        store.data_mut().reset(args, host);
        store.set_epoch_deadline(1);
        let exchange = store.data().exchange.clone();
        let call = async {
            let func = match func {
                Some(f) => f,
                None => {
                    let instance = pre.instantiate_async(&mut store).await?;
                    instance
                        .get_func(&mut store, &routine.name)
                        .ok_or_else(|| wasmtime::Error::msg("export missing"))?
                }
            };
            let typed = func.typed::<(), i32>(&store)?;
            let status = typed.call_async(&mut store, ()).await?;
            wasmtime::Result::Ok((func, status))
        };
        let outcome = host::drive(call, &exchange, host)?;
        let (func, status) = match outcome {
            Ok(done) => done,
            Err(e) => return Err(call_error(routine, &self.options, store.data_mut(), e)),
        };
        let result = abi_result(routine, store.data_mut(), status)?;
        self.checkin(compiled, Warm { store, func, typed: None });
        Ok(result)
    }
}

impl ProcedureRuntime for WasmRuntime {
    fn compile(&self, routine: &Routine) -> Result<Vec<u8>> {
        compile::compile(routine)
    }

    fn check(&self, routine: &Routine) -> Result<()> {
        // Checked afresh, and kept in the module cache: the routine's first call does not
        // compile it again.
        self.remember(pool_key(routine), Arc::new(self.prepare(routine)?));
        Ok(())
    }

    fn call(&self, routine: &Routine, args: &[Value], host: &mut dyn Host) -> Result<CallResult> {
        if let Some(session) = oxibase_sql::debug::current() {
            return crate::debug::call_interactive(routine, args, host, &self.options, session);
        }
        let compiled = self.compiled(routine)?;
        match &compiled.convention {
            Convention::Direct => self.call_direct(routine, &compiled, args, host),
            Convention::Abi(pre) => self.call_abi(routine, &compiled, pre, args, host),
        }
    }

    fn modules_compiled(&self) -> u64 {
        self.compiled_count.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// What a host-ABI call produced: its raised error, or its value or rows as declared.
pub(crate) fn abi_result(
    routine: &Routine,
    state: &mut CallState,
    status: i32,
) -> Result<CallResult> {
    if let Some(e) = state.raised.take() {
        return Err(e);
    }
    if status != 0 {
        return Err(errinput!(
            EXTERNAL_ROUTINE_EXCEPTION,
            "{}() returned status {status}",
            routine.name
        ));
    }
    Ok(match &routine.returns {
        // (Trigger functions are written in plpgsql: never here.)
        Returns::Void | Returns::Trigger => CallResult::Value(Value::Null),
        Returns::Value(t) => match state.result.take() {
            Some(mut row) if row.len() == 1 => {
                CallResult::Value(codec::result(row.remove(0), t, &routine.name)?)
            }
            _ => CallResult::Value(Value::Null),
        },
        Returns::SetOf(t) => CallResult::Rows(
            std::mem::take(&mut state.rows)
                .into_iter()
                .map(|mut row| {
                    let v = if row.is_empty() {
                        oxibase_guest::abi::Val::Null
                    } else {
                        row.swap_remove(0)
                    };
                    Ok(vec![codec::result(v, t, &routine.name)?])
                })
                .collect::<Result<_>>()?,
        ),
        Returns::Table(columns) | Returns::SetOfRow(_, columns) | Returns::Out(columns) => {
            CallResult::Rows(
                std::mem::take(&mut state.rows)
                    .into_iter()
                    .map(|row| table_row(row, columns, &routine.name))
                    .collect::<Result<_>>()?,
            )
        }
    })
}

/// Compiled modules are per module and export (one module may hold several routines).
/// What a compiled module was checked against: the module, the export, the signature (the
/// same module under another signature is checked again, not taken from the cache).
fn pool_key(routine: &Routine) -> String {
    let args: Vec<_> = routine.args.iter().map(|(_, t)| t).collect();
    format!("{}/{}/{:?}/{args:?}/{:?}", routine.hash, routine.name, routine.kind, routine.returns)
}

fn table_row(
    row: Vec<oxibase_guest::abi::Val>,
    columns: &[(String, DataType)],
    routine: &str,
) -> Result<Vec<Value>> {
    if row.len() != columns.len() {
        return Err(errinput!(
            DATATYPE_MISMATCH,
            "{routine}() returned a row of {} values where its table has {} columns",
            row.len(),
            columns.len()
        ));
    }
    row.into_iter().zip(columns).map(|(v, (_, t))| codec::result(v, t, routine)).collect()
}

/// Compiles a routine's module and checks it against the signature and the host ABI.
fn prepare(routine: &Routine) -> Result<Compiled> {
    let shared = shared()?;
    let module = Module::new(&shared.engine, routine.module.as_slice()).map_err(|e| {
        errinput!(INVALID_FUNCTION_DEFINITION, "invalid WebAssembly module for {}()", routine.name)
            .with_detail(format!("{e:#}"))
    })?;
    let mut uses_host = false;
    for import in module.imports() {
        if import.module() != oxibase_guest::abi::MODULE || !host::IMPORTS.contains(&import.name())
        {
            return Err(errinput!(
                INVALID_FUNCTION_DEFINITION,
                "module of {}() imports \"{}\".\"{}\", which Oxibase does not offer",
                routine.name,
                import.module(),
                import.name()
            )
            .with_hint(format!(
                "A routine may import only the host ABI from \"oxibase\": {}. There is no clock, randomness, file or network access.",
                host::IMPORTS.join(", ")
            )));
        }
        uses_host = true;
    }
    let Some(ExternType::Func(ty)) = module.get_export(&routine.name) else {
        return Err(errinput!(
            INVALID_FUNCTION_DEFINITION,
            "the module does not export a function named \"{}\"",
            routine.name
        )
        .with_hint("Export the routine under its SQL name."));
    };
    let params: Vec<ValType> = ty.params().collect();
    let results: Vec<ValType> = ty.results().collect();
    if uses_host {
        if !params.is_empty() || results.len() != 1 || !matches!(results[0], ValType::I32) {
            return Err(errinput!(
                INVALID_FUNCTION_DEFINITION,
                "\"{}\" must be `() -> i32` in a module that uses the host ABI",
                routine.name
            )
            .with_hint("Arguments come from args() and the result goes through set_result()."));
        }
        if !matches!(module.get_export("memory"), Some(ExternType::Memory(_))) {
            return Err(errinput!(
                INVALID_FUNCTION_DEFINITION,
                "a module that uses the host ABI must export its memory as \"memory\""
            ));
        }
        let pre = shared.linker.instantiate_pre(&module).map_err(|e| {
            errinput!(INVALID_FUNCTION_DEFINITION, "module of {}() cannot link", routine.name)
                .with_detail(format!("{e:#}"))
        })?;
        return Ok(Compiled { module, convention: Convention::Abi(pre), key: next_key() });
    }
    let want_params: Vec<Option<ValType>> =
        routine.args.iter().map(|(_, t)| wasm_type(t)).collect();
    let want_results: Vec<Option<ValType>> = match &routine.returns {
        Returns::Void => vec![],
        Returns::Value(t) => vec![wasm_type(t)],
        _ => vec![None],
    };
    let same = |want: &[Option<ValType>], got: &[ValType]| {
        want.len() == got.len()
            && want.iter().zip(got).all(|(w, g)| w.as_ref().is_some_and(|w| ValType::eq(w, g)))
    };
    if !same(&want_params, &params) || !same(&want_results, &results) {
        let show = |v: &[Option<ValType>]| {
            v.iter()
                .map(|t| t.as_ref().map_or("?".into(), |t| t.to_string()))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let got = |v: &[ValType]| v.iter().map(ToString::to_string).collect::<Vec<_>>().join(" ");
        let numeric = want_params.iter().chain(&want_results).all(Option::is_some);
        let hint = if numeric {
            format!(
                "{} needs (param {}) (result {}); the module has (param {}) (result {}).",
                routine.signature(),
                show(&want_params),
                show(&want_results),
                got(&params),
                got(&results)
            )
        } else {
            "Only INTEGER, BIGINT, REAL and DOUBLE PRECISION pass as plain Wasm numbers; other types need the host ABI (import from \"oxibase\", e.g. through the oxibase-guest crate).".into()
        };
        return Err(errinput!(
            INVALID_FUNCTION_DEFINITION,
            "the export \"{}\" does not match {}",
            routine.name,
            routine.signature()
        )
        .with_hint(hint));
    }
    Ok(Compiled { module, convention: Convention::Direct, key: next_key() })
}

fn wasm_type(t: &DataType) -> Option<ValType> {
    Some(match t {
        DataType::Int2 | DataType::Int4 | DataType::Bool => ValType::I32,
        DataType::Int8 => ValType::I64,
        DataType::Float4 => ValType::F32,
        DataType::Float8 => ValType::F64,
        _ => return None,
    })
}

fn wasm_value(v: &Value, t: &DataType, routine: &Routine) -> Result<Val> {
    Ok(match (v, t) {
        (Value::Int2(i), _) => Val::I32(i32::from(*i)),
        (Value::Int4(i), _) => Val::I32(*i),
        (Value::Bool(b), _) => Val::I32(i32::from(*b)),
        (Value::Int8(i), _) => Val::I64(*i),
        (Value::Float4(f), _) => Val::F32(f.to_bits()),
        (Value::Float8(f), _) => Val::F64(f.to_bits()),
        (Value::Null, _) => {
            return Err(errinput!(
                NULL_VALUE_NOT_ALLOWED,
                "{}() takes plain numbers and cannot be passed NULL",
                routine.name
            )
            .with_hint(
                "Declare it STRICT (RETURNS NULL ON NULL INPUT) to return NULL for NULL input.",
            ));
        }
        (other, _) => {
            return Err(errinput!(
                INTERNAL_ERROR,
                "unexpected argument {other:?} for {}",
                routine.name
            ));
        }
    })
}

fn sql_value(v: &Val, t: &DataType) -> Value {
    match (v, t) {
        (Val::I32(i), DataType::Int2) => Value::Int2(*i as i16),
        (Val::I32(i), DataType::Bool) => Value::Bool(*i != 0),
        (Val::I32(i), _) => Value::Int4(*i),
        (Val::I64(i), _) => Value::Int8(*i),
        (Val::F32(f), _) => Value::Float4(f32::from_bits(*f)),
        (Val::F64(f), _) => Value::Float8(f64::from_bits(*f)),
        _ => Value::Null,
    }
}

fn export(store: &mut Store<CallState>, instance: &Instance, routine: &Routine) -> Result<Func> {
    instance.get_func(&mut *store, &routine.name).ok_or_else(|| {
        errinput!(INVALID_FUNCTION_DEFINITION, "the module does not export \"{}\"", routine.name)
    })
}

fn instantiate_error(
    routine: &Routine,
    options: &RuntimeOptions,
    e: wasmtime::Error,
) -> oxibase_common::Error {
    let text = format!("{e:#}");
    if text.contains("memory") && (text.contains("limit") || text.contains("grow")) {
        return memory_error(routine, options);
    }
    errinput!(EXTERNAL_ROUTINE_EXCEPTION, "could not instantiate the module of {}()", routine.name)
        .with_detail(text)
}

fn memory_error(routine: &Routine, options: &RuntimeOptions) -> oxibase_common::Error {
    errinput!(
        PROGRAM_LIMIT_EXCEEDED,
        "{}() exceeded its memory limit of {} MiB",
        routine.name,
        options.memory_limit >> 20
    )
}

/// Turns a failed call into the error the client sees.
fn call_error(
    routine: &Routine,
    options: &RuntimeOptions,
    state: &mut CallState,
    e: wasmtime::Error,
) -> oxibase_common::Error {
    if let Some(raised) = state.raised.take() {
        return raised;
    }
    if let Some(stop) = state.stopped.take() {
        return host::stop_error(stop);
    }
    let text = format!("{e:#}");
    match e.downcast_ref::<Trap>() {
        Some(Trap::StackOverflow) => {
            errinput!(STATEMENT_TOO_COMPLEX, "stack depth limit exceeded in {}()", routine.name)
                .with_hint("The routine recursed too deep.")
        }
        Some(Trap::Interrupt) => host::stop_error(Stop::Timeout),
        _ if text.contains("forcing trap when growing memory") => memory_error(routine, options),
        Some(trap) => {
            errinput!(EXTERNAL_ROUTINE_EXCEPTION, "{}() failed: wasm trap: {trap}", routine.name)
                .with_detail(text)
        }
        None => errinput!(EXTERNAL_ROUTINE_EXCEPTION, "{}() failed: {e}", routine.name)
            .with_detail(text),
    }
}
