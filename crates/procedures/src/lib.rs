//! Oxibase's stored procedures: WebAssembly routines run by wasmtime inside the caller's
//! transaction.
//!
//! The SQL layer stores routines (`sys_procedures`) and binds calls to them; this crate is
//! the [`ProcedureRuntime`](oxibase_sql::ProcedureRuntime) it calls:
//!
//! - [`compile`]: source in wat, wasm, rust or typescript to a module;
//! - [`runtime`]: the engine, the module cache, warm instances, limits and the two calling
//!   conventions (plain Wasm numbers, or the host ABI);
//! - [`host`]: the host ABI, and the driver that runs a guest as a coroutine of the session
//!   so that its SQL runs in the caller's transaction;
//! - [`codec`]: SQL values in the ABI's compact encoding;
//! - [`debug`]: a call under wasmtime's guest debugger (single-step, frames and locals),
//!   the runtime half of the TUI's step debugger.
//!
//! The ABI is versioned and documented in `docs/procedures.md`; the guest side is the
//! `oxibase-guest` crate.

pub mod codec;
pub mod compile;
pub mod debug;
pub mod host;
mod lines;
pub mod runtime;

pub use debug::{DebugFrame, DebugOptions, DebugStop};
pub use runtime::{RuntimeOptions, WasmRuntime};

/// Installs a runtime with default limits in a database, so that it can create and call
/// routines.
pub fn install(db: &oxibase_sql::Database) -> oxibase_common::Result<()> {
    let runtime = WasmRuntime::new(RuntimeOptions::default())?;
    db.set_procedure_runtime(std::sync::Arc::new(runtime));
    Ok(())
}
