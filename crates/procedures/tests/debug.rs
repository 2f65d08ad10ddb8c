//! Routines under wasmtime's guest debugger: single-stepping a call records every stop with
//! the call stack, locals and operand stack, and the call still returns its result.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Instant;

use oxibase_common::{DataType, Result, Value, errinput};
use oxibase_procedures::{DebugOptions, RuntimeOptions, WasmRuntime};
use oxibase_sql::procedure::{
    CallResult, Host, LogLevel, ProcedureRuntime, Returns, Routine, RoutineKind,
};
use oxibase_sql::session::Output;

/// A host with no database: the routines here run no SQL.
struct NoSql;

impl Host for NoSql {
    fn execute(&mut self, _: &str, _: &[Value]) -> Result<Output> {
        Err(errinput!(FEATURE_NOT_SUPPORTED, "no SQL here"))
    }
    fn log(&mut self, _: LogLevel, _: &str) {}
    fn deadline(&self) -> Option<Instant> {
        None
    }
    fn check_interrupt(&self) -> Result<()> {
        Ok(())
    }
}

fn routine(name: &str, wat: &str, args: Vec<DataType>, returns: DataType) -> Routine {
    Routine {
        id: 1,
        schema: "public".into(),
        name: name.into(),
        kind: RoutineKind::Function,
        args: args.into_iter().map(|t| (String::new(), t)).collect(),
        defaults: Vec::new(),
        out_args: Vec::new(),
        returns: Returns::Value(returns),
        language: "wat".into(),
        source: wat.into(),
        module: Arc::new(wat::parse_str(wat).unwrap()),
        hash: name.into(),
        strict: false,
        volatility: 'v',
        security_definer: false,
        config: Vec::new(),
        runtime_state: Default::default(),
    }
}

#[test]
fn single_stepping_records_frames_locals_and_stack() {
    let runtime = WasmRuntime::new(RuntimeOptions::default()).unwrap();
    let add = routine(
        "add",
        r#"(module (func (export "add") (param i64 i64) (result i64)
             (local i64) local.get 0 local.get 1 i64.add local.tee 2))"#,
        vec![DataType::Int8, DataType::Int8],
        DataType::Int8,
    );
    runtime.check(&add).unwrap();
    let args = [Value::Int8(40), Value::Int8(2)];
    let (result, stops) =
        runtime.call_debug(&add, &args, &mut NoSql, DebugOptions { single_step: true }).unwrap();
    assert_eq!(result, CallResult::Value(Value::Int8(42)));
    assert!(stops.len() >= 4, "{stops:?}");
    assert!(stops.iter().all(|s| s.event == "breakpoint"), "{stops:?}");
    // The arguments are the first locals of the (only) frame at every stop.
    let first = &stops[0].frames[0];
    assert_eq!(stops[0].frames.len(), 1);
    assert_eq!(first.locals[..2], ["i64 40".to_string(), "i64 2".to_string()]);
    // Somewhere the operand stack holds both operands of the add, then the sum.
    assert!(stops.iter().any(|s| s.frames[0].stack == ["i64 40", "i64 2"]), "{stops:?}");
    assert!(stops.iter().any(|s| s.frames[0].stack == ["i64 42"]), "{stops:?}");
    // Stops move forward through the function's code.
    let pcs: Vec<u32> = stops.iter().map(|s| s.frames[0].pc).collect();
    assert!(pcs.windows(2).all(|w| w[0] <= w[1]), "{pcs:?}");
    // Without single-step, the call runs through with no stop, and the normal path agrees.
    let (plain, none) =
        runtime.call_debug(&add, &args, &mut NoSql, DebugOptions::default()).unwrap();
    assert_eq!(plain, result);
    assert!(none.is_empty(), "{none:?}");
    assert_eq!(runtime.call(&add, &args, &mut NoSql).unwrap(), result);
}

#[test]
fn nested_frames_show_the_call_stack() {
    let runtime = WasmRuntime::new(RuntimeOptions::default()).unwrap();
    let twice = routine(
        "twice",
        r#"(module
             (func $double (param i32) (result i32) local.get 0 i32.const 2 i32.mul)
             (func (export "twice") (param i32) (result i32) local.get 0 call $double))"#,
        vec![DataType::Int4],
        DataType::Int4,
    );
    let (result, stops) = runtime
        .call_debug(&twice, &[Value::Int4(21)], &mut NoSql, DebugOptions { single_step: true })
        .unwrap();
    assert_eq!(result, CallResult::Value(Value::Int4(42)));
    let inner = stops.iter().find(|s| s.frames.len() == 2).expect("a stop inside $double");
    assert_eq!(inner.frames[0].function, 0, "innermost frame first");
    assert_eq!(inner.frames[1].function, 1);
    assert_eq!(inner.frames[0].locals, ["i32 21"]);
}
