//! `LANGUAGE sql` functions and procedures: a body of SQL statements, run in the caller's
//! transaction like a Wasm routine's host calls, with the arguments as parameters.
//!
//! The body is parsed once per routine version (kept in `Routine::runtime_state`) and
//! each statement goes through the host as a routine statement: its parameters `$1`, `$2`,
//! ... have the declared argument types and the arguments' names (`a`, or `fname.a`) where
//! no column has the name, as in PostgreSQL. A function returns its last statement's first
//! row's first column (`RETURNS type`) or all its rows (`SETOF`, `TABLE`), cast to the
//! declared types. Plans are cached per session like any nested statement's; the body is
//! not inlined into the calling query.

use std::sync::Arc;

use oxibase_common::{DataType, Result, Value, errinput};
use sqlparser::ast;

use crate::bind::{BindEnv, Binder, Statement};
use crate::procedure::{CallResult, Host, Returns, Routine, RoutineKind, Scope, ScopeVar};
use crate::session::Output;
use crate::types::cast::{CastKind, cast};
use crate::types::datetime::Zone;

/// The language name.
pub const LANGUAGE: &str = "sql";

/// A routine's body: its statements as SQL text, parsed once per routine version, and the
/// names they give the arguments.
struct Body {
    statements: Vec<String>,
    scope: Scope,
}

/// The arguments' names, as `arg` and `routine.arg`.
fn scope(routine: &Routine) -> Scope {
    Scope {
        key: format!("routine {}", routine.id),
        vars: routine
            .args
            .iter()
            .map(|(name, ty)| ScopeVar {
                qualifier: Some(routine.name.clone()),
                name: name.clone(),
                bare: true,
                ty: ty.clone(),
            })
            .collect(),
        what: "an SQL function",
        names_conflict: false,
    }
}

fn body(routine: &Routine) -> Result<Arc<Body>> {
    if let Some(state) = routine.runtime_state.get()
        && let Ok(parsed) = state.clone().downcast::<Body>()
    {
        return Ok(parsed);
    }
    let statements = crate::parse::parse(&routine.source)?.iter().map(|s| s.to_string()).collect();
    let parsed = Arc::new(Body { statements, scope: scope(routine) });
    let _ = routine.runtime_state.set(parsed.clone());
    Ok(parsed)
}

/// Calls a LANGUAGE sql routine with its arguments (already of the declared types).
pub fn call(routine: &Routine, args: &[Value], host: &mut dyn Host) -> Result<CallResult> {
    let body = body(routine)?;
    let mut last = None;
    for sql in body.statements.iter() {
        host.check_interrupt()?;
        last = Some(host.execute_in_scope(sql, &body.scope, args)?);
    }
    let rows = match last {
        Some(Output::Rows { rows, .. }) => rows,
        _ if matches!(routine.returns, Returns::Void) => return Ok(CallResult::Value(Value::Null)),
        _ => return Err(final_statement_error(routine)),
    };
    let zone = Zone::UTC;
    let convert = |v: Value, t: &DataType| cast(v, t, CastKind::Assignment, &zone);
    Ok(match &routine.returns {
        Returns::Void | Returns::Trigger => CallResult::Value(Value::Null),
        // A composite type: the final SELECT's columns are its attributes (or its one
        // column is a value of it).
        Returns::Value(t @ DataType::Record(r)) if r.id.is_some() => {
            CallResult::Value(match rows.into_iter().next() {
                Some(row) => convert(as_record(row, r.fields.len()), t)?,
                None => Value::Null,
            })
        }
        Returns::Value(t) => CallResult::Value(match rows.into_iter().next() {
            Some(row) => convert(row.into_iter().next().unwrap_or(Value::Null), t)?,
            None => Value::Null,
        }),
        Returns::SetOf(t) => CallResult::Rows(
            rows.into_iter()
                .map(|row| Ok(vec![convert(row.into_iter().next().unwrap_or(Value::Null), t)?]))
                .collect::<Result<_>>()?,
        ),
        Returns::Table(columns) | Returns::SetOfRow(_, columns) => CallResult::Rows(
            rows.into_iter()
                .map(|row| {
                    let row = match as_record(row, columns.len()) {
                        Value::Record(fields) => *fields,
                        _ => vec![Value::Null; columns.len()],
                    };
                    row.into_iter().zip(columns).map(|(v, (_, t))| convert(v, t)).collect()
                })
                .collect::<Result<_>>()?,
        ),
        // OUT parameters: the first row (NULLs without one).
        Returns::Out(columns) => {
            let row = rows.into_iter().next().unwrap_or_else(|| vec![Value::Null; columns.len()]);
            CallResult::Rows(vec![
                row.into_iter()
                    .zip(columns)
                    .map(|(v, (_, t))| convert(v, t))
                    .collect::<Result<_>>()?,
            ])
        }
    })
}

/// A row of a composite type's `width` attributes as a record: the row's columns, or its
/// one column where that is the record already (`SELECT p FROM t` for a column `p` of the
/// type).
fn as_record(mut row: Vec<Value>, width: usize) -> Value {
    if row.len() == 1 && (width != 1 || matches!(row[0], Value::Record(_) | Value::Null)) {
        match row.pop() {
            Some(v @ Value::Record(_)) => return v,
            Some(Value::Null) if width != 1 => return Value::Null,
            Some(v) => row.push(v),
            None => {}
        }
    }
    Value::Record(Box::new(row))
}

fn final_statement_error(routine: &Routine) -> oxibase_common::Error {
    errinput!(
        INVALID_FUNCTION_DEFINITION,
        "return type mismatch in function declared to return {}",
        routine.returns.sql()
    )
    .with_detail("Function's final statement must be SELECT or INSERT/UPDATE/DELETE RETURNING.")
}

/// Checks a LANGUAGE sql routine at CREATE: the body parses and (when it creates nothing
/// the later statements could need) binds, with a final statement that returns what the
/// routine declares.
pub fn check(routine: &Routine, env: &dyn BindEnv) -> Result<()> {
    let parsed = crate::parse::parse(&routine.source)?;
    let returns_value = routine.kind == RoutineKind::Function && routine.returns != Returns::Void;
    if parsed.is_empty() && returns_value {
        return Err(final_statement_error(routine));
    }
    // A body that defines objects is bound only when it runs (what it creates does not
    // exist yet), as PostgreSQL's validator skips such bodies.
    let defines = parsed.iter().any(|s| {
        matches!(
            s,
            ast::Statement::CreateTable(_)
                | ast::Statement::CreateView(_)
                | ast::Statement::CreateIndex(_)
                | ast::Statement::AlterTable(_)
                | ast::Statement::Drop { .. }
                | ast::Statement::CreateFunction(_)
        )
    });
    if defines {
        return Ok(());
    }
    let scope = scope(routine);
    let types = scope.types();
    let mut last = None;
    for s in &parsed {
        // Transaction control fails when it runs (0A000 there, as in PostgreSQL).
        if crate::session::is_control(s) {
            last = None;
            continue;
        }
        let binder = Binder::new(env, types.clone()).in_scope(&scope);
        last = Some(binder.bind(s)?);
    }
    if !returns_value {
        return Ok(());
    }
    let columns = last.as_ref().map(crate::session::output_columns).unwrap_or_default();
    let produces_rows = matches!(
        last,
        Some(
            Statement::Query(_)
                | Statement::Insert(_)
                | Statement::Update(_)
                | Statement::Delete(_)
        )
    ) && !columns.is_empty();
    if !produces_rows {
        return Err(final_statement_error(routine));
    }
    let declared: Vec<DataType> = match &routine.returns {
        // A composite type: its attributes, or one column of the type.
        Returns::Value(DataType::Record(r)) if r.id.is_some() => {
            if matches!(columns.as_slice(), [c] if c.data_type == DataType::Record(r.clone())) {
                return Ok(());
            }
            r.fields.iter().map(|(_, t)| t.clone()).collect()
        }
        Returns::SetOfRow(_, cols) if matches!(columns.as_slice(), [c] if matches!(&c.data_type, DataType::Record(r) if r.fields.len() == cols.len() && r.id.is_some())) =>
        {
            return Ok(());
        }
        Returns::Value(t) | Returns::SetOf(t) => vec![t.clone()],
        Returns::Table(cols) | Returns::SetOfRow(_, cols) | Returns::Out(cols) => {
            cols.iter().map(|(_, t)| t.clone()).collect()
        }
        Returns::Void | Returns::Trigger => vec![],
    };
    if columns.len() != declared.len() {
        let detail = if declared.len() == 1 {
            "Final statement must return exactly one column.".to_string()
        } else {
            format!("Final statement returns {} columns.", columns.len())
        };
        return Err(errinput!(
            INVALID_FUNCTION_DEFINITION,
            "return type mismatch in function declared to return {}",
            routine.returns.sql()
        )
        .with_detail(detail));
    }
    // Types convert when the function returns (an assignment cast, as for a column).
    Ok(())
}
