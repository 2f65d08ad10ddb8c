//! `CALL oxibase_migrate(...)`: the SQL entry point of declarative schema migration.
//!
//! The diff engine lives in the `oxibase-migrate` crate, above this one; the binary installs
//! it in the database as a [`Migrator`], as it installs the procedure runtime. The session
//! recognises the call before binding (it is a system procedure, not a row of
//! `sys_procedures`), evaluates its arguments and hands the migrator the session itself, so
//! the migrator can run its own transactions: an online index build commits in steps, which
//! no statement inside one transaction could do.

use oxibase_common::{DataType, Result, Value, errinput};
use sqlparser::ast;

use crate::session::{Output, OutputColumn, Session};

/// The name of the system procedure.
pub const PROCEDURE: &str = "oxibase_migrate";

/// The arguments of `oxibase_migrate`, in order; all but the first have defaults.
pub const PARAMETERS: [&str; 6] =
    ["desired", "apply", "allow_hazards", "source", "format", "plan_hash"];

/// What a caller asks of the migrator.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MigrateRequest {
    /// The desired schema: SQL DDL or YAML text.
    pub desired: String,
    /// Execute the plan (otherwise only plan it).
    pub apply: bool,
    /// The hazard kinds the caller accepts (`data_loss`, `table_rewrite`, ...).
    pub allow_hazards: Vec<String>,
    /// Where the text came from (a file name), for error messages.
    pub source: String,
    /// `sql` or `yaml`; None guesses from the source name and the text.
    pub format: Option<String>,
    /// Apply only if the plan still hashes to this (the one a person reviewed).
    pub plan_hash: Option<String>,
}

/// The migration engine, installed in a database by the binary that links it.
pub trait Migrator: Send + Sync {
    /// Plans, and with `request.apply` executes, a migration of the session's database to
    /// the desired schema; returns the plan as rows (see [`plan_columns`]).
    fn migrate(&self, session: &mut Session, request: &MigrateRequest) -> Result<Output>;
}

/// The columns of the rows `oxibase_migrate` returns: one per step.
pub fn plan_columns() -> Vec<OutputColumn> {
    [
        ("step", DataType::Int4),
        ("statement", DataType::Text),
        ("hazards", DataType::Text),
        ("depends_on", DataType::Text),
        ("status", DataType::Text),
        ("plan_hash", DataType::Text),
    ]
    .into_iter()
    .map(|(name, data_type)| OutputColumn { name: name.into(), data_type })
    .collect()
}

/// The arguments of a `CALL oxibase_migrate(...)` statement as (parameter name, expression),
/// or None when the statement is not that call.
pub fn call_arguments(statement: &ast::Statement) -> Option<Result<Vec<(usize, ast::Expr)>>> {
    let ast::Statement::Call(f) = statement else { return None };
    let (schema, name) = crate::bind::split_name(&f.name).ok()?;
    if name != PROCEDURE || schema.is_some_and(|s| s != "oxibase" && s != "pg_catalog") {
        return None;
    }
    let ast::FunctionArguments::List(list) = &f.args else {
        return Some(Ok(vec![]));
    };
    Some(arguments(&list.args))
}

fn arguments(args: &[ast::FunctionArg]) -> Result<Vec<(usize, ast::Expr)>> {
    let mut out: Vec<(usize, ast::Expr)> = Vec::new();
    for (i, arg) in args.iter().enumerate() {
        let (position, expr) = match arg {
            ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => {
                if out.len() != i {
                    return Err(errinput!(
                        SYNTAX_ERROR,
                        "positional argument cannot follow named argument"
                    ));
                }
                (i, e.clone())
            }
            ast::FunctionArg::Named { name, arg: ast::FunctionArgExpr::Expr(e), .. }
            | ast::FunctionArg::ExprNamed {
                name: ast::Expr::Identifier(name),
                arg: ast::FunctionArgExpr::Expr(e),
                ..
            } => {
                let wanted = name.value.to_lowercase();
                let position = PARAMETERS.iter().position(|p| *p == wanted).ok_or_else(|| {
                    errinput!(
                        UNDEFINED_FUNCTION,
                        "procedure {PROCEDURE} has no parameter named \"{}\"",
                        name.value
                    )
                    .with_hint(format!("Its parameters are {}.", PARAMETERS.join(", ")))
                })?;
                (position, e.clone())
            }
            _ => {
                return Err(errinput!(SYNTAX_ERROR, "{PROCEDURE} takes values, not {arg}"));
            }
        };
        if position >= PARAMETERS.len() {
            return Err(errinput!(
                UNDEFINED_FUNCTION,
                "procedure {PROCEDURE} takes at most {} arguments",
                PARAMETERS.len()
            ));
        }
        if out.iter().any(|(p, _)| *p == position) {
            return Err(errinput!(
                SYNTAX_ERROR,
                "argument \"{}\" of {PROCEDURE} is given twice",
                PARAMETERS[position]
            ));
        }
        out.push((position, expr));
    }
    if !out.iter().any(|(p, _)| *p == 0) {
        return Err(errinput!(
            UNDEFINED_FUNCTION,
            "{PROCEDURE} needs the desired schema as its first argument"
        )
        .with_hint("CALL oxibase_migrate('CREATE TABLE ...', apply => false)"));
    }
    Ok(out)
}

/// Builds the request from the evaluated arguments (parameter position, value).
pub fn request(values: Vec<(usize, Value)>) -> Result<MigrateRequest> {
    let mut request = MigrateRequest { source: "desired schema".into(), ..Default::default() };
    for (position, value) in values {
        let name = PARAMETERS[position];
        let text = || -> Result<Option<String>> {
            match &value {
                Value::Null => Ok(None),
                Value::Text(s) => Ok(Some(s.clone())),
                other => Err(errinput!(
                    DATATYPE_MISMATCH,
                    "argument \"{name}\" of {PROCEDURE} must be text, not {}",
                    other.type_name()
                )),
            }
        };
        match position {
            0 => {
                request.desired = text()?.ok_or_else(|| {
                    errinput!(NULL_VALUE_NOT_ALLOWED, "the desired schema must not be null")
                })?
            }
            1 => {
                request.apply = match value {
                    Value::Null => false,
                    Value::Bool(b) => b,
                    Value::Text(t) if matches!(t.to_lowercase().as_str(), "true" | "t" | "on") => {
                        true
                    }
                    Value::Text(t)
                        if matches!(t.to_lowercase().as_str(), "false" | "f" | "off") =>
                    {
                        false
                    }
                    other => {
                        return Err(errinput!(
                            DATATYPE_MISMATCH,
                            "argument \"apply\" of {PROCEDURE} must be boolean, not {}",
                            other.type_name()
                        ));
                    }
                }
            }
            2 => {
                request.allow_hazards = text()?
                    .unwrap_or_default()
                    .split(',')
                    .map(|s| s.trim().to_lowercase())
                    .filter(|s| !s.is_empty())
                    .collect()
            }
            3 => {
                if let Some(s) = text()? {
                    request.source = s;
                }
            }
            4 => request.format = text()?.map(|s| s.to_lowercase()),
            _ => request.plan_hash = text()?,
        }
    }
    Ok(request)
}
