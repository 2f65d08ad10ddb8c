//! Executing routine DDL and calls: CREATE/DROP FUNCTION and PROCEDURE, CALL, and the rows
//! of set-returning stored functions.

use std::sync::Arc;

use oxibase_common::{Result, Value, errinput};
use sha2::{Digest, Sha256};

use super::ExecCtx;
use super::eval::eval;
use crate::bind::{BindEnv, RoutineSpec};
use crate::plan::Expr;
use crate::procedure::{CallResult, ProcedureRuntime, Routine, RoutineKind};

/// The runtime, or 0A000 when this build of the database has none.
pub fn runtime(ctx: &ExecCtx) -> Result<Arc<dyn ProcedureRuntime>> {
    ctx.session.procedure_runtime().ok_or_else(|| {
        errinput!(
            FEATURE_NOT_SUPPORTED,
            "stored functions and procedures need the WebAssembly runtime, which this database was opened without"
        )
        .with_hint("Run them through `oxibase serve` or `oxibase sql --data-dir`, which install it.")
    })
}

/// CREATE [OR REPLACE] FUNCTION | PROCEDURE: compiles the body, checks the module against
/// the signature, and stores both in `sys_procedures` (a LANGUAGE sql body is checked by
/// binding it, and stored without a module).
pub fn create_routine(spec: &RoutineSpec, ctx: &ExecCtx, env: &dyn BindEnv) -> Result<String> {
    let schema = match &spec.name.0 {
        Some(s) => s.clone(),
        None => env.creation_schema()?,
    };
    let mut routine = Routine {
        id: 0,
        schema,
        name: spec.name.1.clone(),
        kind: spec.kind,
        args: spec.args.clone(),
        defaults: spec.defaults.clone(),
        out_args: spec.out_args.clone(),
        returns: spec.returns.clone(),
        language: spec.language.clone(),
        source: spec.source.clone(),
        module: Arc::new(Vec::new()),
        hash: String::new(),
        strict: spec.strict,
        volatility: spec.volatility,
        security_definer: spec.security_definer,
        config: spec.config.clone(),
        runtime_state: Default::default(),
    };
    // Replacing a routine takes owning it; creating one, CREATE on its schema.
    let existing = ctx.catalog.routine(ctx.txn, &routine.schema, &routine.name)?;
    match &existing {
        Some(old) if spec.or_replace => crate::privileges::check_owner(
            env,
            &crate::privileges::AclObject::routine(
                old.id,
                old.kind == RoutineKind::Procedure,
                &old.name,
            ),
        )?,
        _ => {
            if let Some(schema_id) = ctx.catalog.schema_id(ctx.txn, &routine.schema)? {
                crate::privileges::check(
                    env,
                    &crate::privileges::AclObject::schema(schema_id, &routine.schema),
                    crate::catalog::acl::CREATE,
                    false,
                    None,
                )?;
            }
        }
    }
    let hex = |bytes: &[u8]| Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
    if routine.language == crate::sql_routine::LANGUAGE {
        // pg_dump turns the check off: its functions come before the tables they read.
        let check = ctx.session.setting("check_function_bodies")?.is_none_or(|v| v != "off");
        if check {
            crate::sql_routine::check(&routine, env)?;
        } else {
            crate::parse::parse(&routine.source)?;
        }
        routine.hash = hex(routine.source.as_bytes());
    } else if routine.language == crate::plpgsql::LANGUAGE {
        // As PostgreSQL's validator: the body's syntax (and its SQL's) now, names when it runs.
        crate::plpgsql::check(&routine)?;
        routine.hash = hex(routine.source.as_bytes());
    } else {
        let runtime = runtime(ctx)?;
        let module = runtime.compile(&routine)?;
        routine.hash = hex(&module);
        routine.module = Arc::new(module);
        runtime.check(&routine)?;
    }
    let created = ctx.catalog.create_routine(ctx.txn, routine, spec.or_replace)?;
    if existing.is_none() {
        let schema = ctx.catalog.schema_id(ctx.txn, &created.schema)?;
        super::ddl::record_new_object(
            ctx,
            env,
            crate::catalog::acl::ObjectKind::Routine,
            created.id,
            schema,
        )?;
    }
    Ok(format!("CREATE {}", spec.kind.keyword()))
}

/// DROP FUNCTION | PROCEDURE [IF EXISTS] name, ...
pub fn drop_routines(
    kind: RoutineKind,
    names: &[(Option<String>, String)],
    if_exists: bool,
    cascade: bool,
    ctx: &ExecCtx,
    env: &dyn BindEnv,
) -> Result<String> {
    let noun = kind.keyword().to_lowercase();
    for (schema, name) in names {
        match env.routine(schema.as_deref(), name)? {
            Some(r) if r.kind != kind => {
                return Err(errinput!(WRONG_OBJECT_TYPE, "{} is not a {noun}", r.signature())
                    .with_hint(format!("Use DROP {} to drop it.", r.kind.keyword())));
            }
            Some(r) => {
                crate::privileges::check_owner(
                    env,
                    &crate::privileges::AclObject::routine(
                        r.id,
                        r.kind == RoutineKind::Procedure,
                        &r.name,
                    ),
                )?;
                // Triggers that call it: refused, or dropped with CASCADE.
                let function = (r.schema.clone(), r.name.clone());
                let users = ctx.catalog.all_triggers(ctx.txn)?;
                for tr in users.iter().filter(|tr| tr.function == function) {
                    let t = ctx.catalog.table_by_id(ctx.txn, tr.table_id)?.ok_or_else(|| {
                        errinput!(INTERNAL_ERROR, "trigger {} has no table", tr.name)
                    })?;
                    if !cascade {
                        return Err(errinput!(
                            DEPENDENT_OBJECTS_STILL_EXIST,
                            "cannot drop function {}() because other objects depend on it",
                            r.name
                        )
                        .with_detail(format!(
                            "trigger {} on table {} depends on function {}()",
                            tr.name, t.name, r.name
                        ))
                        .with_hint("Use DROP ... CASCADE to drop the dependent objects too."));
                    }
                    ctx.catalog.lock_relation_exclusive(ctx.txn, t.id)?;
                    ctx.catalog.drop_trigger(ctx.txn, t.id, &tr.name)?;
                    ctx.session.notice(format!(
                        "drop cascades to trigger {} on table {}",
                        tr.name, t.name
                    ));
                }
                drop_expression_users(&r, cascade, ctx, env)?;
                ctx.catalog.drop_routine(ctx.txn, &r.schema, &r.name)?;
            }
            None if if_exists => {
                ctx.session.notice(format!("{noun} {name}() does not exist, skipping"))
            }
            None => {
                return Err(errinput!(UNDEFINED_FUNCTION, "{noun} {name} does not exist"));
            }
        }
    }
    Ok(format!("DROP {}", kind.keyword()))
}

/// CALL: evaluates the arguments and runs the procedure.
pub fn call(routine: &Routine, args: &[Expr], ctx: &ExecCtx) -> Result<CallResult> {
    let values = args.iter().map(|a| eval(a, &[], ctx)).collect::<Result<Vec<_>>>()?;
    ctx.session.call_routine(routine, &values)
}

/// The rows of a stored function called in FROM.
pub fn rows(routine: &Routine, values: Vec<Value>, ctx: &ExecCtx) -> Result<Vec<Vec<Value>>> {
    if routine.strict && values.iter().any(Value::is_null) {
        return Ok(vec![]);
    }
    Ok(match ctx.session.call_routine(routine, &values)? {
        CallResult::Rows(rows) => rows,
        CallResult::Value(v) => vec![vec![v]],
    })
}

/// The CHECK constraints, indexes and generated columns whose stored expressions call a
/// routine being dropped: refused (2BP01, listing them as PostgreSQL does), or with
/// CASCADE the constraints and indexes dropped with it. A generated column is not dropped
/// that way: DROP COLUMN it first.
fn drop_expression_users(
    routine: &crate::procedure::Routine,
    cascade: bool,
    ctx: &ExecCtx,
    env: &dyn BindEnv,
) -> Result<()> {
    let calls = |table: &crate::catalog::Table, sql: &str| {
        let Ok((expr, _)) = crate::bind::bind_table_expr_env(table, sql, "CHECK", Some(env)) else {
            return false;
        };
        let mut found = false;
        expr.walk(&mut |e| {
            if let crate::plan::Expr::Routine(r, _) = e {
                found |= r.id == routine.id;
            }
        });
        found
    };
    // (table, what, its name, whether it is an index)
    let mut users: Vec<(crate::catalog::Table, &str, String)> = Vec::new();
    for table in ctx.catalog.tables(ctx.txn)? {
        let mut found: Vec<(&str, String)> = Vec::new();
        for c in &table.constraints {
            if let crate::catalog::ConstraintKind::Check { expr } = &c.kind
                && calls(&table, expr)
            {
                found.push(("constraint", c.name.clone()));
            }
        }
        for i in &table.indexes {
            let keys = i.keys.iter().filter_map(|k| match k {
                crate::catalog::IndexKey::Expr(sql) => Some(sql.as_str()),
                crate::catalog::IndexKey::Column(_) => None,
            });
            if keys.chain(i.predicate.as_deref()).any(|sql| calls(&table, sql)) {
                found.push(("index", i.name.clone()));
            }
        }
        for c in table.columns.iter().filter(|c| !c.dropped) {
            if c.generated.as_deref().is_some_and(|sql| calls(&table, sql)) {
                found.push(("column", c.name.clone()));
            }
        }
        users.extend(found.into_iter().map(|(what, name)| (table.clone(), what, name)));
    }
    let depends = |(table, what, name): &(crate::catalog::Table, &str, String)| {
        let on = match *what {
            "constraint" => format!(" on table {}", table.name),
            "column" => format!(" of table {}", table.name),
            _ => String::new(),
        };
        format!("{what} {name}{on} depends on function {}", routine.signature())
    };
    let refused = |hint: String| {
        errinput!(
            DEPENDENT_OBJECTS_STILL_EXIST,
            "cannot drop function {} because other objects depend on it",
            routine.signature()
        )
        .with_detail(users.iter().map(depends).collect::<Vec<_>>().join("\n"))
        .with_hint(hint)
    };
    if users.is_empty() {
        return Ok(());
    }
    if !cascade {
        return Err(refused("Use DROP ... CASCADE to drop the dependent objects too.".into()));
    }
    if let Some((table, _, name)) = users.iter().find(|(_, what, _)| *what == "column") {
        return Err(refused(format!("Drop column {name} of table {} first.", table.name)));
    }
    for (table, what, name) in &users {
        ctx.catalog.lock_relation_exclusive(ctx.txn, table.id)?;
        if *what == "index" {
            ctx.catalog.drop_index(ctx.txn, &table.schema, name)?;
            ctx.session.notice(format!("drop cascades to index {name}"));
        } else {
            ctx.catalog.drop_constraint(ctx.txn, table, name)?;
            ctx.session
                .notice(format!("drop cascades to constraint {name} on table {}", table.name));
        }
    }
    Ok(())
}
