//! `LANGUAGE plpgsql` functions and procedures, and `DO` blocks: PostgreSQL's procedural
//! language, interpreted.
//!
//! The body is parsed once per routine version ([`parse`]; kept in
//! `Routine::runtime_state`) into blocks and statements; the SQL in it (every expression,
//! query and command) stays SQL text and runs through the [`Host`] like a LANGUAGE sql
//! routine's statements, inside the caller's transaction, with the variables in scope as
//! its parameters: `x`, `block.x`, `rec.field` name `$n` where no column of the
//! statement's tables has the name (a name that is both is an error, as with PostgreSQL's
//! default `plpgsql.variable_conflict = error`). Each piece of SQL has its own plan-cache
//! key, so a loop runs a cached plan.
//!
//! A block with an EXCEPTION clause runs under a savepoint, which a caught error rolls
//! back; variables keep their values, as in PostgreSQL.

mod parse;

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, OnceLock};

use oxibase_common::{DataType, Error, ErrorKind, Result, SqlState, Value, errinput};

use crate::procedure::{
    CallResult, Host, LogLevel, Returns, Routine, RoutineKind, Scope, ScopeVar,
};
use crate::session::{Output, OutputColumn};
use crate::types::cast::{CastKind, cast};
use crate::types::datetime::Zone;
use parse::{
    Block, Body, CallSite, Condition, Direction, IntoClause, Level, Query, Sql, Stmt, Target,
    VarKind,
};

/// The language name.
pub const LANGUAGE: &str = "plpgsql";

/// A parsed body and, once a call has resolved them, its variables' types.
struct Compiled {
    body: Body,
    types: OnceLock<Vec<Slot>>,
}

/// A record's fields: names and types.
type Shape = Arc<Vec<(String, DataType)>>;

/// What a variable's slot holds, with its type resolved.
#[derive(Clone, Debug)]
enum Slot {
    Scalar(DataType),
    /// A record, with the shape of its declared row type (`t%ROWTYPE`) if any.
    Record(Option<Shape>),
    Alias(usize),
    Cursor,
}

/// A variable's value.
#[derive(Clone, Debug)]
enum Var {
    Scalar(DataType, Value),
    /// A record: unassigned, or its shape and values.
    Record(Option<(Shape, Vec<Value>)>),
    Alias(usize),
    /// A cursor: closed, or its rows (read when opened) and position (0: before the first
    /// row; rows count from 1).
    Cursor(Option<Box<Cursor>>),
}

/// An open cursor.
#[derive(Clone, Debug)]
struct Cursor {
    columns: Vec<OutputColumn>,
    rows: Vec<Vec<Value>>,
    position: i64,
}

/// Parses a body (at CREATE, and for a DO block before it runs).
pub fn check(routine: &Routine) -> Result<()> {
    compiled(routine).map(|_| ())
}

fn compiled(routine: &Routine) -> Result<Arc<Compiled>> {
    if let Some(state) = routine.runtime_state.get()
        && let Ok(c) = state.clone().downcast::<Compiled>()
    {
        return Ok(c);
    }
    let out_columns = match &routine.returns {
        Returns::Table(columns) | Returns::Out(columns) => columns.clone(),
        _ => vec![],
    };
    let trigger = routine.returns == Returns::Trigger;
    let body = parse::parse(&routine.source, &routine.name, &routine.args, &out_columns, trigger)?;
    let c = Arc::new(Compiled { body, types: OnceLock::new() });
    let _ = routine.runtime_state.set(c.clone());
    Ok(c)
}

/// Calls a PL/pgSQL routine with its arguments (already of the declared types).
pub fn call(routine: &Routine, args: &[Value], host: &mut dyn Host) -> Result<CallResult> {
    let compiled = compiled(routine)?;
    let mut run = Run::new(routine, &compiled, args, host)?;
    run.block(&compiled.body.block).map_err(|e| run.context(e))?;
    Ok(match &routine.returns {
        Returns::Void | Returns::Trigger => CallResult::Value(Value::Null),
        Returns::Value(_) => match run.result {
            Some(v) => CallResult::Value(v),
            None if routine.kind == RoutineKind::Procedure => CallResult::Value(Value::Null),
            None => {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    SqlState::new(b"2F005"),
                    "control reached end of function without RETURN",
                ));
            }
        },
        Returns::SetOf(_) | Returns::Table(_) | Returns::SetOfRow(..) => CallResult::Rows(run.rows),
        // OUT parameters: one row of their values.
        Returns::Out(_) => CallResult::Rows(vec![run.result_row(run.out_values())?]),
    })
}

/// Runs a trigger function for one firing: the row it returns (the table's live columns),
/// or None (RETURN NULL).
pub fn call_trigger(
    routine: &Routine,
    call: &crate::trigger::TriggerCall,
    host: &mut dyn Host,
) -> Result<Option<Vec<Value>>> {
    let compiled = compiled(routine)?;
    let mut run = Run::new(routine, &compiled, &[], host)?;
    let table = call.table;
    let shape: Shape = Arc::new(
        table.live_columns().map(|(_, c)| (c.name.clone(), c.data_type.clone())).collect(),
    );
    let old_slot = parse::NEW_SLOT + 1;
    for (slot, row) in [(parse::NEW_SLOT, call.new), (old_slot, call.old)] {
        // An absent row (NEW of a DELETE, OLD of an INSERT) reads as NULLs, and RETURNs NULL.
        let values = match row {
            Some(row) => crate::trigger::live_values(table, row),
            None => {
                run.absent.push(slot);
                vec![Value::Null; shape.len()]
            }
        };
        run.vars[slot] = Var::Record(Some((shape.clone(), values)));
    }
    let trigger = call.trigger;
    let text = |s: &str| Value::Text(s.to_string());
    let values = [
        text(&trigger.name),
        text(trigger.timing()),
        text(trigger.level()),
        text(call.op),
        text(&table.name),
        text(&table.name),
        text(&table.schema),
        cast(Value::Int8(table.id as i64), &DataType::Oid, CastKind::Explicit, &Zone::UTC)?,
        Value::Int4(trigger.args.len() as i32),
        Value::Array(Box::new(oxibase_common::Array {
            element_type: DataType::Text,
            elements: trigger.args.iter().map(|a| text(a)).collect(),
        })),
    ];
    for (i, value) in values.into_iter().enumerate() {
        run.set(old_slot + 1 + i, value);
    }
    run.block(&compiled.body.block).map_err(|e| run.context(e))?;
    match run.returned_row {
        Some(row) => Ok(row),
        None => Err(Error::new(
            ErrorKind::InvalidInput,
            SqlState::new(b"2F005"),
            "control reached end of trigger procedure without RETURN",
        )),
    }
}

impl<'a> Run<'a> {
    /// A call's state: the variables of their resolved types (resolved on the first call),
    /// the arguments in the first slots.
    fn new(
        routine: &'a Routine,
        compiled: &'a Compiled,
        args: &[Value],
        host: &'a mut dyn Host,
    ) -> Result<Run<'a>> {
        let body = &compiled.body;
        let types = match compiled.types.get() {
            Some(t) => t,
            None => {
                let resolved = resolve_types(body, host)?;
                compiled.types.get_or_init(|| resolved)
            }
        };
        let mut vars: Vec<Var> = types
            .iter()
            .map(|slot| match slot {
                Slot::Scalar(t) => Var::Scalar(t.clone(), Value::Null),
                Slot::Record(shape) => Var::Record(shape.clone().map(|s| {
                    let n = s.len();
                    (s, vec![Value::Null; n])
                })),
                Slot::Alias(target) => Var::Alias(*target),
                Slot::Cursor => Var::Cursor(None),
            })
            .collect();
        // A procedure's OUT parameter starts NULL, whatever the call passed for it.
        for (i, (var, value)) in vars.iter_mut().zip(args).enumerate() {
            if routine.out_args.get(i).copied().unwrap_or(false) {
                continue;
            }
            match (var, value) {
                (Var::Scalar(_, v), value) => *v = value.clone(),
                (Var::Record(Some((shape, values))), Value::Record(fields)) => {
                    *values = fields.to_vec();
                    values.resize(shape.len(), Value::Null);
                }
                _ => {}
            }
        }
        let found = body.found;
        let key_prefix = format!("plpgsql {}", routine.hash.get(..16).unwrap_or(&routine.hash));
        let mut run = Run {
            host,
            routine,
            body,
            types,
            vars,
            key_prefix,
            result: None,
            returned_row: None,
            absent: Vec::new(),
            rows: Vec::new(),
            row_count: 0,
            errors: Vec::new(),
            subtransactions: 0,
            found,
            zone: Zone::UTC,
            at: (1, "statement block"),
        };
        run.set(found, Value::Bool(false));
        Ok(run)
    }
}

/// The variables' types: declared types are resolved through the host (`SELECT NULL::type`),
/// as the routine's statements would see them.
fn resolve_types(body: &Body, host: &mut dyn Host) -> Result<Vec<Slot>> {
    let columns = |host: &mut dyn Host, sql: String| -> Result<Vec<OutputColumn>> {
        match host.execute(&sql, &[])? {
            Output::Rows { columns, .. } => Ok(columns),
            _ => Err(errinput!(INTERNAL_ERROR, "a type query returned no columns")),
        }
    };
    body.vars
        .iter()
        .map(|def| {
            Ok(match &def.kind {
                // An argument of a composite type: a row variable of its attributes.
                VarKind::Known(DataType::Record(r)) if r.id.is_some() => {
                    Slot::Record(Some(Arc::new(r.fields.clone())))
                }
                VarKind::Known(t) => Slot::Scalar(t.clone()),
                VarKind::Typed(text) => {
                    let cols = columns(host, format!("SELECT NULL::{text}"))?;
                    match cols.into_iter().next().map_or(DataType::Text, |c| c.data_type) {
                        // A table's name as a type: a row of its columns.
                        DataType::Record(record) => {
                            Slot::Record(Some(Arc::new(record.fields.clone())))
                        }
                        ty => Slot::Scalar(ty),
                    }
                }
                VarKind::ColumnType(table, column) => {
                    let cols = columns(host, format!("SELECT {column} FROM {table} LIMIT 0"))?;
                    Slot::Scalar(cols.into_iter().next().map_or(DataType::Text, |c| c.data_type))
                }
                VarKind::Record(None) => Slot::Record(None),
                VarKind::Record(Some(table)) => {
                    let cols = columns(host, format!("SELECT * FROM {table} LIMIT 0"))?;
                    Slot::Record(Some(Arc::new(
                        cols.into_iter().map(|c| (c.name, c.data_type)).collect(),
                    )))
                }
                VarKind::Alias(target) => Slot::Alias(*target),
                VarKind::Cursor(_) => Slot::Cursor,
            })
        })
        .collect()
}

/// How a statement list ended.
enum Flow {
    Next,
    Exit(Option<String>),
    Continue(Option<String>),
    Return,
}

/// One call's state.
struct Run<'a> {
    host: &'a mut dyn Host,
    routine: &'a Routine,
    body: &'a Body,
    types: &'a [Slot],
    vars: Vec<Var>,
    key_prefix: String,
    /// RETURN's value.
    result: Option<Value>,
    /// A trigger function's RETURN: its row, or None for NULL.
    returned_row: Option<Option<Vec<Value>>>,
    /// Record slots holding an absent row (NEW of a DELETE, OLD of an INSERT).
    absent: Vec<usize>,
    /// RETURN NEXT's and RETURN QUERY's rows.
    rows: Vec<Vec<Value>>,
    /// The last SQL statement's row count (GET DIAGNOSTICS ROW_COUNT).
    row_count: u64,
    /// The errors being handled, innermost last (`RAISE;`, GET STACKED DIAGNOSTICS).
    errors: Vec<Error>,
    /// Blocks with EXCEPTION clauses entered (COMMIT is refused inside one).
    subtransactions: usize,
    /// The slot of FOUND.
    found: usize,
    zone: Zone,
    /// Where the body is: the line of the SQL last run and the kind of statement, for an
    /// error's CONTEXT.
    at: (usize, &'static str),
}

impl Run<'_> {
    /// The slot a variable's value lives in (through aliases).
    fn slot(&self, slot: usize) -> usize {
        match self.vars[slot] {
            Var::Alias(target) => target,
            _ => slot,
        }
    }

    fn set(&mut self, slot: usize, value: Value) {
        let slot = self.slot(slot);
        if let Var::Scalar(_, v) = &mut self.vars[slot] {
            *v = value;
        }
    }

    /// The scope and parameter values for a piece of SQL: the variables visible to it.
    fn scope(&self, sql: &Sql) -> (Arc<Scope>, Vec<Value>) {
        let mut values = Vec::with_capacity(sql.visible.len());
        let mut shapes = DefaultHasher::new();
        let whole = sql.whole.get_or_init(|| {
            sql.visible.iter().map(|&slot| sql.may_name_whole(&self.body.vars[slot].name)).collect()
        });
        for (&slot, &whole) in sql.visible.iter().zip(whole) {
            match &self.vars[self.slot(slot)] {
                Var::Scalar(_, v) => values.push(v.clone()),
                Var::Record(Some((shape, row))) => {
                    shape.hash(&mut shapes);
                    values.extend(row.iter().cloned());
                    // The row as one value (`r` in an expression), NULL where absent; built
                    // only where the text may name it.
                    values.push(if !whole || self.absent.contains(&self.slot(slot)) {
                        Value::Null
                    } else {
                        Value::Record(Box::new(row.clone()))
                    });
                }
                Var::Record(None) | Var::Alias(_) | Var::Cursor(_) => 0u8.hash(&mut shapes),
            }
        }
        let signature = shapes.finish();
        if let Ok(cached) = sql.scope.lock()
            && let Some((sig, scope)) = cached.as_ref()
            && *sig == signature
        {
            return (scope.clone(), values);
        }
        let mut vars = Vec::with_capacity(values.len());
        for &slot in sql.visible.iter() {
            let def = &self.body.vars[slot];
            let (name, qualifier) = (def.name.clone(), def.qualifier.clone());
            match &self.vars[self.slot(slot)] {
                Var::Scalar(ty, _) => {
                    vars.push(ScopeVar { qualifier, name, bare: true, ty: ty.clone() })
                }
                Var::Record(Some((shape, _))) => {
                    for (field, ty) in shape.iter() {
                        vars.push(ScopeVar {
                            qualifier: Some(name.clone()),
                            name: field.clone(),
                            bare: false,
                            ty: ty.clone(),
                        });
                    }
                    let row = oxibase_common::RecordType::anonymous(shape.to_vec());
                    vars.push(ScopeVar {
                        qualifier,
                        name,
                        bare: true,
                        ty: DataType::Record(Arc::new(row)),
                    });
                }
                Var::Record(None) | Var::Alias(_) | Var::Cursor(_) => {}
            }
        }
        let scope = Arc::new(Scope {
            key: format!("{} {} {signature:x}", self.key_prefix, sql.id),
            vars,
            what: "a PL/pgSQL function",
            names_conflict: true,
        });
        if let Ok(mut cached) = sql.scope.lock() {
            *cached = Some((signature, scope.clone()));
        }
        (scope, values)
    }

    /// Runs a piece of SQL with the variables in scope.
    fn run_sql(&mut self, sql: &Sql) -> Result<Output> {
        let (scope, values) = self.scope(sql);
        self.at.0 = sql.line;
        self.host.execute_in_scope(&sql.text, &scope, &values)
    }

    /// An expression's value and type.
    fn eval(&mut self, sql: &Sql) -> Result<(Value, DataType)> {
        let (scope, values) = self.scope(sql);
        self.at.0 = sql.line;
        use std::sync::atomic::Ordering::Relaxed;
        if !sql.nested.load(Relaxed) {
            match self.host.evaluate(&sql.text, &scope, &values)? {
                Some(result) => return Ok(result),
                None => sql.nested.store(true, Relaxed),
            }
        }
        match self.host.execute_in_scope(&sql.text, &scope, &values)? {
            Output::Rows { columns, mut rows, .. } => {
                if columns.len() != 1 {
                    return Err(errinput!(
                        SYNTAX_ERROR,
                        "query \"{}\" returned {} columns",
                        sql.text,
                        columns.len()
                    ));
                }
                if rows.len() > 1 {
                    return Err(errinput!(
                        CARDINALITY_VIOLATION,
                        "query \"{}\" returned more than one row",
                        sql.text
                    ));
                }
                let ty = columns.into_iter().next().map_or(DataType::Text, |c| c.data_type);
                let value = rows.pop().and_then(|r| r.into_iter().next()).unwrap_or(Value::Null);
                Ok((value, ty))
            }
            _ => Err(errinput!(SYNTAX_ERROR, "query \"{}\" did not return data", sql.text)),
        }
    }

    fn eval_bool(&mut self, sql: &Sql) -> Result<bool> {
        Ok(match self.eval(sql)?.0 {
            Value::Null => false,
            Value::Bool(b) => b,
            other => {
                matches!(
                    cast(other, &DataType::Bool, CastKind::Explicit, &self.zone)?,
                    Value::Bool(true)
                )
            }
        })
    }

    fn eval_int(&mut self, sql: &Sql, what: &str) -> Result<i64> {
        match cast(self.eval(sql)?.0, &DataType::Int8, CastKind::Explicit, &self.zone)? {
            Value::Int8(n) => Ok(n),
            _ => Err(errinput!(NULL_VALUE_NOT_ALLOWED, "{what} of FOR loop cannot be null")),
        }
    }

    fn eval_text(&mut self, sql: &Sql) -> Result<Option<String>> {
        Ok(match self.eval(sql)?.0 {
            Value::Null => None,
            Value::Text(s) => Some(s),
            other => match cast(other, &DataType::Text, CastKind::Explicit, &self.zone)? {
                Value::Text(s) => Some(s),
                _ => None,
            },
        })
    }

    /// Stores a value in a variable or field, converted to its type.
    /// After a CALL: each OUT or INOUT value into the variable passed for it, as PostgreSQL
    /// does; an output parameter's argument must be a variable.
    fn store_out_values(&mut self, site: &CallSite, row: Vec<Value>) -> Result<()> {
        let (schema, name) = &site.name;
        let Some(routine) = self.host.routine(schema.as_deref(), name)? else { return Ok(()) };
        let Returns::Out(outs) = &routine.returns else { return Ok(()) };
        for ((out, _), value) in outs.iter().zip(row) {
            let Some(position) = routine.args.iter().position(|(arg, _)| arg == out) else {
                continue;
            };
            match site.args.get(position) {
                Some(Some(target)) => self.assign(target, value)?,
                Some(None) => {
                    return Err(errinput!(
                        SYNTAX_ERROR,
                        "procedure parameter \"{out}\" is an output parameter but corresponding argument is not writable"
                    ));
                }
                None => {}
            }
        }
        Ok(())
    }

    fn assign(&mut self, target: &Target, value: Value) -> Result<()> {
        let body = self.body;
        let name = |slot: usize| body.vars[slot].name.clone();
        match target {
            Target::Var(slot) => {
                let slot = self.slot(*slot);
                let not_null = body.vars[slot].not_null;
                let zone = self.zone.clone();
                match &mut self.vars[slot] {
                    Var::Scalar(ty, v) => {
                        let value = match value {
                            Value::Null => Value::Null,
                            value => cast(value, ty, CastKind::Explicit, &zone)?,
                        };
                        if not_null && value.is_null() {
                            return Err(errinput!(
                                NULL_VALUE_NOT_ALLOWED,
                                "null value cannot be assigned to variable \"{}\" declared NOT NULL",
                                name(slot)
                            ));
                        }
                        *v = value;
                        Ok(())
                    }
                    // A row value into a row variable: field by field, to the variable's
                    // field types (NULL sets every field NULL).
                    Var::Record(Some((shape, values)))
                        if matches!(value, Value::Record(_) | Value::Null) =>
                    {
                        let fields = match value {
                            Value::Record(fields) => *fields,
                            _ => vec![Value::Null; shape.len()],
                        };
                        if fields.len() != shape.len() {
                            return Err(errinput!(
                                DATATYPE_MISMATCH,
                                "returned record type does not match expected record type"
                            )
                            .with_detail(format!(
                                "Number of returned columns ({}) does not match expected column count ({}).",
                                fields.len(),
                                shape.len()
                            )));
                        }
                        *values = fields
                            .into_iter()
                            .zip(shape.iter())
                            .map(|(v, (_, t))| match v {
                                Value::Null => Ok(Value::Null),
                                v => cast(v, t, CastKind::Assignment, &zone),
                            })
                            .collect::<Result<_>>()?;
                        Ok(())
                    }
                    _ => Err(errinput!(
                        DATATYPE_MISMATCH,
                        "cannot assign non-composite value to a record variable"
                    )),
                }
            }
            Target::Field(slot, field) => {
                let slot = self.slot(*slot);
                let zone = self.zone.clone();
                let record = name(slot);
                match &mut self.vars[slot] {
                    Var::Record(Some((shape, values))) => {
                        let Some(i) = shape.iter().position(|(n, _)| n == field) else {
                            return Err(errinput!(
                                UNDEFINED_COLUMN,
                                "record \"{record}\" has no field \"{field}\""
                            ));
                        };
                        values[i] = match value {
                            Value::Null => Value::Null,
                            value => cast(value, &shape[i].1, CastKind::Explicit, &zone)?,
                        };
                        Ok(())
                    }
                    _ => Err(errinput!(
                        OBJECT_NOT_IN_PREREQUISITE_STATE,
                        "record \"{record}\" is not assigned yet"
                    )
                    .with_detail(
                        "The tuple structure of a not-yet-assigned record is indeterminate.",
                    )),
                }
            }
        }
    }

    /// Stores a row in INTO targets: a record takes the whole row; variables take its
    /// columns in order (missing ones NULL).
    fn assign_row(
        &mut self,
        into: &IntoClause,
        columns: &[OutputColumn],
        row: Option<Vec<Value>>,
    ) -> Result<()> {
        if let [Target::Var(slot)] = into.targets.as_slice() {
            let slot = self.slot(*slot);
            if let Var::Record(current) = &self.vars[slot] {
                let declared = match &self.types[slot] {
                    Slot::Record(Some(shape)) => Some(shape.clone()),
                    _ => None,
                };
                let record = match (declared, row) {
                    // A %ROWTYPE record keeps its fields, taking the row's values in order.
                    (Some(shape), row) => {
                        let mut row = row.unwrap_or_default().into_iter();
                        let values = shape
                            .iter()
                            .map(|(_, ty)| match row.next() {
                                None | Some(Value::Null) => Ok(Value::Null),
                                Some(v) => cast(v, ty, CastKind::Explicit, &self.zone),
                            })
                            .collect::<Result<Vec<_>>>()?;
                        Some((shape, values))
                    }
                    (None, Some(row)) => {
                        let shape = match current {
                            Some((shape, _))
                                if shape.len() == columns.len()
                                    && shape
                                        .iter()
                                        .zip(columns)
                                        .all(|((n, t), c)| *n == c.name && *t == c.data_type) =>
                            {
                                shape.clone()
                            }
                            _ => Arc::new(
                                columns
                                    .iter()
                                    .map(|c| (c.name.clone(), c.data_type.clone()))
                                    .collect(),
                            ),
                        };
                        Some((shape, row))
                    }
                    (None, None) => {
                        let shape: Shape = Arc::new(
                            columns.iter().map(|c| (c.name.clone(), c.data_type.clone())).collect(),
                        );
                        let n = shape.len();
                        Some((shape, vec![Value::Null; n]))
                    }
                };
                self.vars[slot] = Var::Record(record);
                return Ok(());
            }
        }
        let mut row = row.unwrap_or_default().into_iter();
        for target in &into.targets {
            self.assign(target, row.next().unwrap_or(Value::Null))?;
        }
        Ok(())
    }

    fn statements(&mut self, list: &[Stmt]) -> Result<Flow> {
        for stmt in list {
            match self.statement(stmt)? {
                Flow::Next => {}
                flow => return Ok(flow),
            }
        }
        Ok(Flow::Next)
    }

    fn block(&mut self, block: &Block) -> Result<Flow> {
        // Declarations are initialised outside the block's own handlers (as PostgreSQL).
        for &slot in &block.declares {
            self.initialise(slot)?;
        }
        let flow = if block.handlers.is_empty() {
            self.statements(&block.body)?
        } else {
            let savepoint = self.host.savepoint()?;
            self.subtransactions += 1;
            let result = self.statements(&block.body);
            self.subtransactions -= 1;
            match result {
                Ok(flow) => flow,
                Err(e) => {
                    let Some(handler) = block
                        .handlers
                        .iter()
                        .find(|h| h.conditions.iter().any(|c| catches(*c, &e)))
                    else {
                        return Err(e);
                    };
                    self.host.rollback_to(&savepoint)?;
                    if let Some((state, message)) = block.error_vars {
                        self.set(state, Value::Text(e.code().to_string()));
                        self.set(message, Value::Text(e.message().to_string()));
                    }
                    self.errors.push(e);
                    let result = self.statements(&handler.body);
                    self.errors.pop();
                    result?
                }
            }
        };
        Ok(match flow {
            Flow::Exit(Some(label)) if block.label.as_ref() == Some(&label) => Flow::Next,
            flow => flow,
        })
    }

    fn initialise(&mut self, slot: usize) -> Result<()> {
        let body = self.body;
        match (&body.vars[slot].default, &self.vars[slot]) {
            (Some(default), _) => {
                let (value, _) = self.eval(default)?;
                self.assign(&Target::Var(slot), value)
            }
            (None, Var::Scalar(..)) => {
                self.set(slot, Value::Null);
                Ok(())
            }
            (None, Var::Record(_)) => {
                let declared = match &self.types[slot] {
                    Slot::Record(Some(shape)) => {
                        Some((shape.clone(), vec![Value::Null; shape.len()]))
                    }
                    _ => None,
                };
                self.vars[slot] = Var::Record(declared);
                Ok(())
            }
            (None, Var::Alias(_)) => Ok(()),
            (None, Var::Cursor(_)) => {
                self.vars[slot] = Var::Cursor(None);
                Ok(())
            }
        }
    }

    /// Runs a loop body once: `None` to go on, `Some(flow)` to leave the loop with it.
    fn iteration(&mut self, label: &Option<String>, body: &[Stmt]) -> Result<Option<Flow>> {
        self.host.check_interrupt()?;
        Ok(match self.statements(body)? {
            Flow::Next => None,
            Flow::Exit(None) => Some(Flow::Next),
            Flow::Exit(Some(l)) if label.as_ref() == Some(&l) => Some(Flow::Next),
            Flow::Continue(None) => None,
            Flow::Continue(Some(l)) if label.as_ref() == Some(&l) => None,
            flow => Some(flow),
        })
    }

    /// A query's columns and rows, static or dynamic.
    fn query(&mut self, query: &Query) -> Result<(Vec<OutputColumn>, Vec<Vec<Value>>)> {
        let output = match query {
            Query::Static(sql) => self.run_sql(sql)?,
            Query::Dynamic(command, using) => self.dynamic(command, using)?,
        };
        match output {
            Output::Rows { columns, rows, .. } => Ok((columns, rows)),
            _ => Err(errinput!(SYNTAX_ERROR, "cannot open a query that does not return rows")
                .with_hint("Loop over a SELECT, or a command with RETURNING.")),
        }
    }

    fn dynamic(&mut self, command: &Sql, using: &[Arc<Sql>]) -> Result<Output> {
        let Some(text) = self.eval_text(command)? else {
            return Err(errinput!(
                NULL_VALUE_NOT_ALLOWED,
                "query string argument of EXECUTE is null"
            ));
        };
        let mut params = Vec::with_capacity(using.len());
        for arg in using {
            params.push(self.eval(arg)?.0);
        }
        self.host.execute(&text, &params)
    }

    fn set_found(&mut self, found: bool) {
        self.set(self.found, Value::Bool(found));
    }

    /// Takes a statement's rows into its INTO targets, and sets FOUND and the row count.
    fn finish(&mut self, output: Output, into: Option<&IntoClause>, dml: bool) -> Result<()> {
        let (columns, rows, tag) = match output {
            Output::Rows { columns, rows, tag } => (columns, rows, tag),
            Output::Command { tag } => (Vec::new(), Vec::new(), tag),
            _ => (Vec::new(), Vec::new(), String::new()),
        };
        let count = if columns.is_empty() {
            tag.rsplit(' ').next().and_then(|n| n.parse::<u64>().ok()).unwrap_or(0)
        } else {
            rows.len() as u64
        };
        let counts = !columns.is_empty()
            || ["INSERT", "UPDATE", "DELETE", "MERGE", "SELECT"].iter().any(|w| tag.starts_with(w));
        if counts {
            self.row_count = count;
            self.set_found(count > 0);
        }
        let Some(into) = into else { return Ok(()) };
        if columns.is_empty() {
            return Err(errinput!(
                SYNTAX_ERROR,
                "INTO used with a command that cannot return data"
            ));
        }
        if rows.len() > 1 && (into.strict || dml) {
            return Err(errinput!(TOO_MANY_ROWS, "query returned more than one row")
                .with_hint("Make sure the query returns a single row, or use LIMIT 1."));
        }
        if rows.is_empty() && into.strict {
            return Err(errinput!(NO_DATA_FOUND, "query returned no rows"));
        }
        self.assign_row(into, &columns, rows.into_iter().next())
    }

    /// An error leaving the function, with the CONTEXT line PostgreSQL gives it.
    fn context(&self, e: Error) -> Error {
        // As regprocedure prints it: `f(integer,text)`.
        let name = match self.routine.id {
            0 => self.routine.name.clone(),
            _ => {
                let types: Vec<String> = self.routine.args.iter().map(|(_, t)| t.name()).collect();
                format!("{}({})", self.routine.name, types.join(","))
            }
        };
        e.with_context(format!("PL/pgSQL function {name} line {} at {}", self.at.0, self.at.1))
    }

    fn statement(&mut self, stmt: &Stmt) -> Result<Flow> {
        self.at.1 = match stmt {
            Stmt::Assign(..) => "assignment",
            Stmt::If(..) => "IF",
            Stmt::Case(..) => "CASE",
            Stmt::Loop(..) => "LOOP",
            Stmt::While(..) => "WHILE",
            Stmt::ForRange { .. } => "FOR with integer loop variable",
            Stmt::ForQuery(_, _, Query::Static(_), _) => "FOR over SELECT rows",
            Stmt::ForQuery(..) => "FOR over EXECUTE statement",
            Stmt::Foreach(..) => "FOREACH over array",
            Stmt::Exit { next: false, .. } => "EXIT",
            Stmt::Exit { .. } => "CONTINUE",
            Stmt::Return(_) | Stmt::ReturnRecord(_) => "RETURN",
            Stmt::ReturnNext(_) | Stmt::ReturnNextRecord(_) => "RETURN NEXT",
            Stmt::ReturnQuery(_) => "RETURN QUERY",
            Stmt::Raise { .. } | Stmt::Reraise => "RAISE",
            Stmt::Assert(..) => "ASSERT",
            Stmt::Exec(sql, _) if sql.perform => "PERFORM",
            Stmt::Exec(..) => "SQL statement",
            Stmt::Call(..) => "CALL",
            Stmt::Dynamic(..) => "EXECUTE",
            Stmt::Diagnostics(_) => "GET DIAGNOSTICS",
            Stmt::Block(_) => "statement block",
            Stmt::Transaction(word) => word,
            Stmt::Null => "NULL",
            Stmt::Open(..) => "OPEN",
            Stmt::Fetch(_, _, Some(_)) => "FETCH",
            Stmt::Fetch(..) => "MOVE",
            Stmt::Close(_) => "CLOSE",
            Stmt::ForCursor(..) => "FOR over cursor",
        };
        match stmt {
            Stmt::Assign(target, expr) => {
                let (value, _) = self.eval(expr)?;
                self.assign(target, value)?;
            }
            Stmt::If(arms, otherwise) => {
                for (cond, body) in arms {
                    if self.eval_bool(cond)? {
                        return self.statements(body);
                    }
                }
                return self.statements(otherwise);
            }
            Stmt::Case(arms, otherwise) => {
                for (cond, body) in arms {
                    if self.eval_bool(cond)? {
                        return self.statements(body);
                    }
                }
                return match otherwise {
                    Some(body) => self.statements(body),
                    None => Err(Error::new(
                        ErrorKind::InvalidInput,
                        SqlState::new(b"20000"),
                        "case not found",
                    )
                    .with_hint("CASE statement is missing ELSE part.")),
                };
            }
            Stmt::Loop(label, body) => loop {
                if let Some(flow) = self.iteration(label, body)? {
                    return Ok(flow);
                }
            },
            Stmt::While(label, cond, body) => {
                while self.eval_bool(cond)? {
                    if let Some(flow) = self.iteration(label, body)? {
                        return Ok(flow);
                    }
                }
            }
            Stmt::ForRange { label, var, reverse, from, to, step, body } => {
                let from = self.eval_int(from, "lower bound")?;
                let to = self.eval_int(to, "upper bound")?;
                let step = match step {
                    Some(s) => self.eval_int(s, "BY value")?,
                    None => 1,
                };
                if step <= 0 {
                    return Err(errinput!(
                        INVALID_PARAMETER_VALUE,
                        "BY value of FOR loop must be greater than zero"
                    ));
                }
                let mut i = from;
                let mut found = false;
                while if *reverse { i >= to } else { i <= to } {
                    found = true;
                    self.set(
                        *var,
                        Value::Int4(i32::try_from(i).map_err(|_| {
                            errinput!(NUMERIC_VALUE_OUT_OF_RANGE, "integer out of range")
                        })?),
                    );
                    if let Some(flow) = self.iteration(label, body)? {
                        self.set_found(true);
                        return Ok(flow);
                    }
                    i = if *reverse { i - step } else { i + step };
                }
                self.set_found(found);
            }
            Stmt::ForQuery(label, into, query, body) => {
                let (columns, rows) = self.query(query)?;
                let found = !rows.is_empty();
                for row in rows {
                    self.assign_row(into, &columns, Some(row))?;
                    if let Some(flow) = self.iteration(label, body)? {
                        self.set_found(true);
                        return Ok(flow);
                    }
                }
                self.set_found(found);
            }
            Stmt::Foreach(label, target, array, body) => {
                let elements = match self.eval(array)?.0 {
                    Value::Array(a) => a.elements,
                    Value::Null => {
                        return Err(errinput!(
                            NULL_VALUE_NOT_ALLOWED,
                            "FOREACH expression must not be null"
                        ));
                    }
                    _ => {
                        return Err(errinput!(
                            DATATYPE_MISMATCH,
                            "FOREACH expression must yield an array, not a scalar"
                        ));
                    }
                };
                for element in elements {
                    self.assign(target, element)?;
                    if let Some(flow) = self.iteration(label, body)? {
                        return Ok(flow);
                    }
                }
            }
            Stmt::Exit { next, label, when } => {
                if let Some(cond) = when
                    && !self.eval_bool(cond)?
                {
                    return Ok(Flow::Next);
                }
                return Ok(if *next {
                    Flow::Continue(label.clone())
                } else {
                    Flow::Exit(label.clone())
                });
            }
            Stmt::Return(value) => return self.return_value(value.as_deref()),
            Stmt::ReturnRecord(slot) => {
                let slot = self.slot(*slot);
                if let Var::Scalar(_, value) = &self.vars[slot] {
                    // Not a row after all: RETURN of a scalar variable.
                    let value = value.clone();
                    return self.return_scalar(Some(value));
                }
                // A function returning a composite type returns the row as a value of it.
                if let Returns::Value(DataType::Record(r)) = &self.routine.returns
                    && r.id.is_some()
                {
                    let value = match &self.vars[slot] {
                        Var::Record(Some((_, values))) => Value::Record(Box::new(values.clone())),
                        _ => Value::Null,
                    };
                    return self.return_scalar(Some(value));
                }
                if self.routine.returns != Returns::Trigger {
                    return Err(errinput!(
                        FEATURE_NOT_SUPPORTED,
                        "RETURN of a record variable is supported in trigger functions and functions returning a composite type only"
                    )
                    .with_hint("Declare RETURNS SETOF the row type and use RETURN NEXT."));
                }
                self.returned_row = Some(match &self.vars[slot] {
                    Var::Record(Some((_, values))) if !self.absent.contains(&slot) => {
                        Some(values.clone())
                    }
                    _ => None,
                });
                return Ok(Flow::Return);
            }
            Stmt::ReturnNext(value) => self.return_next(value.as_deref())?,
            Stmt::ReturnNextRecord(slot) => {
                let slot = self.slot(*slot);
                let values = match &self.vars[slot] {
                    Var::Record(Some((_, values))) => values.clone(),
                    // A scalar variable after all (its type was not a table's).
                    Var::Scalar(_, value) => vec![value.clone()],
                    _ => {
                        return Err(errinput!(
                            OBJECT_NOT_IN_PREREQUISITE_STATE,
                            "record \"{}\" is not assigned yet",
                            self.body.vars[slot].name
                        ));
                    }
                };
                let row = self.result_row(values)?;
                self.rows.push(row);
            }
            Stmt::ReturnQuery(query) => {
                let (_, rows) = self.query(query)?;
                self.row_count = rows.len() as u64;
                self.set_found(!rows.is_empty());
                for row in rows {
                    let row = self.result_row(row)?;
                    self.rows.push(row);
                }
            }
            Stmt::Raise { level, condition, format, args, options } => {
                self.raise(*level, condition, format.as_deref(), args, options)?
            }
            Stmt::Reraise => {
                return Err(self.errors.last().cloned().ok_or_else(|| {
                    Error::new(
                        ErrorKind::InvalidInput,
                        SqlState::new(b"0Z002"),
                        "RAISE without parameters cannot be used outside an exception handler",
                    )
                })?);
            }
            Stmt::Assert(cond, message) => {
                if !self.eval_bool(cond)? {
                    let message = match message {
                        Some(m) => self.eval_text(m)?.unwrap_or_else(|| "assertion failed".into()),
                        None => "assertion failed".into(),
                    };
                    return Err(errinput!(ASSERT_FAILURE, "{message}"));
                }
            }
            Stmt::Exec(sql, into) => {
                let output = self.run_sql(sql).map_err(|e| {
                    e.with_context(format!("SQL statement \"{}\"", sql.text.trim()))
                })?;
                let first = sql.text.split_whitespace().next().unwrap_or("").to_lowercase();
                let dml = matches!(first.as_str(), "insert" | "update" | "delete" | "merge");
                self.finish(output, into.as_ref(), dml)?;
            }
            Stmt::Call(sql, site) => {
                let output = self.run_sql(sql).map_err(|e| {
                    e.with_context(format!("SQL statement \"{}\"", sql.text.trim()))
                })?;
                if let Output::Rows { rows, .. } = output
                    && let Some(row) = rows.into_iter().next()
                {
                    self.store_out_values(site, row)?;
                }
            }
            Stmt::Dynamic(command, into, using) => {
                let output = self.dynamic(command, using)?;
                self.finish(output, into.as_ref(), false)?;
            }
            Stmt::Diagnostics(items) => {
                for (target, item) in items {
                    let error = self.errors.last();
                    let value = match item.as_str() {
                        "row_count" => Value::Int8(self.row_count as i64),
                        "returned_sqlstate" => {
                            Value::Text(error.map_or(String::new(), |e| e.code().to_string()))
                        }
                        "message_text" => {
                            Value::Text(error.map_or(String::new(), |e| e.message().to_string()))
                        }
                        "pg_exception_detail" => Value::Text(
                            error.and_then(|e| e.detail()).unwrap_or_default().to_string(),
                        ),
                        "pg_exception_hint" => Value::Text(
                            error.and_then(|e| e.hint()).unwrap_or_default().to_string(),
                        ),
                        "pg_context"
                        | "pg_exception_context"
                        | "column_name"
                        | "constraint_name"
                        | "pg_datatype_name"
                        | "table_name"
                        | "schema_name" => Value::Text(String::new()),
                        other => {
                            return Err(errinput!(
                                SYNTAX_ERROR,
                                "unrecognized GET DIAGNOSTICS item \"{other}\""
                            ));
                        }
                    };
                    self.assign(target, value)?;
                }
            }
            Stmt::Block(block) => return self.block(block),
            Stmt::Transaction(word) => {
                if self.subtransactions > 0 {
                    return Err(errinput!(
                        INVALID_TRANSACTION_TERMINATION,
                        "cannot {} while a subtransaction is active",
                        word.to_lowercase()
                    ));
                }
                self.host.execute(word, &[])?;
            }
            Stmt::Null => {}
            Stmt::Open(cursor, args, query) => self.open(*cursor, args, query.as_ref())?,
            Stmt::Fetch(cursor, direction, into) => {
                self.fetch(*cursor, direction, into.as_ref())?
            }
            Stmt::Close(cursor) => {
                self.open_cursor(*cursor)?;
                self.vars[*cursor] = Var::Cursor(None);
            }
            Stmt::ForCursor(label, into, cursor, args, body) => {
                self.open(*cursor, args, None)?;
                let Var::Cursor(Some(state)) = &self.vars[*cursor] else {
                    return Err(errinput!(INTERNAL_ERROR, "an opened cursor is closed"));
                };
                let (columns, rows) = (state.columns.clone(), state.rows.clone());
                let found = !rows.is_empty();
                let mut flow = None;
                for row in rows {
                    self.assign_row(into, &columns, Some(row))?;
                    if let Some(f) = self.iteration(label, body)? {
                        flow = Some(f);
                        break;
                    }
                }
                self.vars[*cursor] = Var::Cursor(None);
                self.set_found(found);
                if let Some(flow) = flow {
                    return Ok(flow);
                }
            }
        }
        Ok(Flow::Next)
    }

    fn cursor_name(&self, slot: usize) -> String {
        self.body.vars[slot].name.clone()
    }

    /// An open cursor's state (34000 when it is not open).
    fn open_cursor(&mut self, slot: usize) -> Result<&mut Cursor> {
        let name = self.cursor_name(slot);
        match &mut self.vars[slot] {
            Var::Cursor(Some(state)) => Ok(state),
            _ => Err(errinput!(INVALID_CURSOR_NAME, "cursor \"{name}\" is not open")),
        }
    }

    /// OPEN: runs the cursor's query (its own, with arguments, or the one given) and keeps
    /// its rows.
    fn open(&mut self, slot: usize, args: &[Arc<Sql>], query: Option<&Query>) -> Result<()> {
        let name = self.cursor_name(slot);
        if matches!(self.vars[slot], Var::Cursor(Some(_))) {
            return Err(errinput!(DUPLICATE_CURSOR, "cursor \"{name}\" already in use"));
        }
        let (columns, rows) = match (query, &self.body.vars[slot].kind) {
            (Some(query), VarKind::Cursor(None)) => self.query(query)?,
            (Some(_), _) => {
                return Err(errinput!(
                    SYNTAX_ERROR,
                    "cursor \"{name}\" is bound to a query: OPEN it without FOR"
                ));
            }
            (None, VarKind::Cursor(Some((params, sql)))) => {
                if params.len() != args.len() {
                    return Err(errinput!(
                        SYNTAX_ERROR,
                        "cursor \"{name}\" has {} arguments, {} given",
                        params.len(),
                        args.len()
                    ));
                }
                for (param, arg) in params.iter().zip(args) {
                    let (value, _) = self.eval(arg)?;
                    self.assign(&Target::Var(*param), value)?;
                }
                self.query(&Query::Static(sql.clone()))?
            }
            (None, _) => {
                return Err(errinput!(
                    SYNTAX_ERROR,
                    "cursor \"{name}\" is not bound to a query: OPEN {name} FOR SELECT ..."
                ));
            }
        };
        self.vars[slot] = Var::Cursor(Some(Box::new(Cursor { columns, rows, position: 0 })));
        Ok(())
    }

    /// FETCH (with INTO) or MOVE: moves the cursor and sets FOUND; FETCH takes the row
    /// (NULLs past either end).
    fn fetch(
        &mut self,
        slot: usize,
        direction: &Direction,
        into: Option<&IntoClause>,
    ) -> Result<()> {
        let step = match direction {
            Direction::Absolute(n) | Direction::Relative(n) => Some(self.eval_int(n, "count")?),
            _ => None,
        };
        let state = self.open_cursor(slot)?;
        let len = state.rows.len() as i64;
        let target = match direction {
            Direction::Next => state.position + 1,
            Direction::Prior => state.position - 1,
            Direction::First => 1,
            Direction::Last => len,
            Direction::Absolute(_) => match step.unwrap_or(0) {
                n if n < 0 => len + 1 + n,
                n => n,
            },
            Direction::Relative(_) => state.position + step.unwrap_or(0),
        };
        state.position = target.clamp(0, len + 1);
        let row = (1..=len)
            .contains(&state.position)
            .then(|| state.rows[(state.position - 1) as usize].clone());
        let columns = state.columns.clone();
        let found = row.is_some();
        if let Some(into) = into {
            let row = row.or_else(|| Some(vec![Value::Null; columns.len()]));
            self.assign_row(into, &columns, row)?;
        }
        self.set_found(found);
        Ok(())
    }

    fn return_value(&mut self, value: Option<&Sql>) -> Result<Flow> {
        match value {
            Some(sql) => {
                let value = self.eval(sql)?.0;
                self.return_scalar(Some(value))
            }
            None => self.return_scalar(None),
        }
    }

    /// RETURN with a value (already evaluated) or without.
    fn return_scalar(&mut self, value: Option<Value>) -> Result<Flow> {
        match (&self.routine.returns, value) {
            (Returns::Trigger, Some(value)) => {
                if !value.is_null() {
                    return Err(errinput!(
                        DATATYPE_MISMATCH,
                        "returned row structure does not match the structure of the triggering table"
                    )
                    .with_hint("A trigger function returns NEW, OLD, another row variable or NULL."));
                }
                self.returned_row = Some(None);
            }
            (Returns::Value(ty), Some(value)) => {
                let value = match value {
                    Value::Null => Value::Null,
                    v => cast(v, ty, CastKind::Explicit, &self.zone)?,
                };
                self.result = Some(value);
            }
            (Returns::Value(_), None) if self.routine.kind == RoutineKind::Function => {
                return Err(errinput!(DATATYPE_MISMATCH, "missing expression at or near \";\"")
                    .with_hint("A function that returns a value ends with RETURN value."));
            }
            (Returns::Out(_), Some(_)) => {
                return Err(errinput!(
                    DATATYPE_MISMATCH,
                    "RETURN cannot have a parameter in function with OUT parameters"
                ));
            }
            (
                Returns::SetOf(_) | Returns::Table(_) | Returns::SetOfRow(..) | Returns::Void,
                Some(_),
            ) => {
                let what = if self.routine.kind == RoutineKind::Procedure {
                    "in a procedure"
                } else if self.routine.returns.is_set() {
                    "in function returning set"
                } else {
                    "in function returning void"
                };
                return Err(errinput!(DATATYPE_MISMATCH, "RETURN cannot have a parameter {what}")
                    .with_hint("Use RETURN NEXT or RETURN QUERY."));
            }
            _ => {}
        }
        Ok(Flow::Return)
    }

    /// A row of a set-returning function, converted to its declared columns.
    fn result_row(&self, row: Vec<Value>) -> Result<Vec<Value>> {
        let convert = |v: Value, t: &DataType| match v {
            Value::Null => Ok(Value::Null),
            v => cast(v, t, CastKind::Explicit, &self.zone),
        };
        match &self.routine.returns {
            Returns::SetOf(t) => {
                Ok(vec![convert(row.into_iter().next().unwrap_or(Value::Null), t)?])
            }
            Returns::Table(columns) | Returns::SetOfRow(_, columns) | Returns::Out(columns) => {
                if row.len() != columns.len() {
                    return Err(errinput!(
                        DATATYPE_MISMATCH,
                        "structure of query does not match function result type"
                    )
                    .with_detail(format!(
                        "Number of returned columns ({}) does not match expected column count ({}).",
                        row.len(),
                        columns.len()
                    )));
                }
                row.into_iter().zip(columns).map(|(v, (_, t))| convert(v, t)).collect()
            }
            _ => Err(errinput!(
                SYNTAX_ERROR,
                "cannot use RETURN NEXT or RETURN QUERY in a non-SETOF function"
            )),
        }
    }

    /// The output columns' variables' values (RETURNS TABLE, OUT parameters).
    fn out_values(&self) -> Vec<Value> {
        self.body
            .out_slots
            .iter()
            .map(|&slot| match &self.vars[self.slot(slot)] {
                Var::Scalar(_, v) => v.clone(),
                _ => Value::Null,
            })
            .collect()
    }

    fn return_next(&mut self, value: Option<&Sql>) -> Result<()> {
        let row = match (&self.routine.returns, value) {
            (Returns::Table(_), None) => self.out_values(),
            (Returns::Table(_), Some(_)) => {
                return Err(errinput!(
                    DATATYPE_MISMATCH,
                    "RETURN NEXT cannot have a parameter in function with OUT parameters"
                ));
            }
            (_, Some(sql)) => match self.run_sql(sql)? {
                Output::Rows { rows, .. } => rows.into_iter().next().unwrap_or_default(),
                _ => vec![],
            },
            (_, None) => {
                return Err(errinput!(DATATYPE_MISMATCH, "RETURN NEXT must have a parameter"));
            }
        };
        let row = self.result_row(row)?;
        self.rows.push(row);
        Ok(())
    }

    fn raise(
        &mut self,
        level: Level,
        condition: &Option<(SqlState, String)>,
        format: Option<&str>,
        args: &[Arc<Sql>],
        options: &[(String, Arc<Sql>)],
    ) -> Result<()> {
        let mut message = match format {
            Some(format) => {
                let mut values = Vec::with_capacity(args.len());
                for arg in args {
                    values.push(self.eval_text(arg)?.unwrap_or_else(|| "<NULL>".into()));
                }
                let mut out = String::new();
                let mut values = values.into_iter();
                let mut chars = format.chars().peekable();
                while let Some(c) = chars.next() {
                    if c == '%' {
                        if chars.peek() == Some(&'%') {
                            chars.next();
                            out.push('%');
                        } else {
                            out.push_str(&values.next().unwrap_or_default());
                        }
                    } else {
                        out.push(c);
                    }
                }
                Some(out)
            }
            None => None,
        };
        let mut code = condition.as_ref().map(|(c, _)| *c);
        let mut detail = None;
        let mut hint = None;
        for (name, sql) in options {
            let value = self.eval_text(sql)?.unwrap_or_default();
            match name.as_str() {
                "message" => message = Some(value),
                "detail" => detail = Some(value),
                "hint" => hint = Some(value),
                "errcode" => {
                    code = Some(
                        SqlState::from_name(&value)
                            .or_else(|| SqlState::parse(&value))
                            .ok_or_else(|| {
                                errinput!(
                                    UNDEFINED_OBJECT,
                                    "unrecognized exception condition \"{value}\""
                                )
                            })?,
                    )
                }
                "column" | "constraint" | "datatype" | "table" | "schema" => {}
                other => {
                    return Err(errinput!(
                        SYNTAX_ERROR,
                        "unrecognized RAISE statement option \"{other}\""
                    ));
                }
            }
        }
        let message = message
            .or_else(|| condition.as_ref().map(|(_, name)| name.clone()))
            .unwrap_or_default();
        let log = match level {
            Level::Exception => {
                let code = code.unwrap_or(SqlState::RAISE_EXCEPTION);
                let mut e = Error::new(ErrorKind::InvalidInput, code, message);
                if let Some(d) = detail {
                    e = e.with_detail(d);
                }
                if let Some(h) = hint {
                    e = e.with_hint(h);
                }
                return Err(e);
            }
            Level::Debug => LogLevel::Debug,
            Level::Info => LogLevel::Info,
            Level::Notice => LogLevel::Notice,
            Level::Warning => LogLevel::Warning,
        };
        self.host.log(log, &message);
        Ok(())
    }
}

/// True when a handler's condition catches an error.
fn catches(condition: Condition, e: &Error) -> bool {
    let code = e.code();
    match condition {
        Condition::Others => {
            code != SqlState::QUERY_CANCELED
                && code != SqlState::ASSERT_FAILURE
                && e.kind() != ErrorKind::Internal
        }
        Condition::Code(c) if c.as_str().ends_with("000") => c.class() == code.class(),
        Condition::Code(c) => c == code,
    }
}
