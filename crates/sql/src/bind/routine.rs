//! Binding stored routines: CREATE/DROP FUNCTION and PROCEDURE, CALL, and calls to stored
//! functions inside expressions and in FROM.
//!
//! Built-in functions win over stored ones of the same name, as PostgreSQL's `pg_catalog`
//! comes first on every search path; a schema-qualified name always means a stored routine.

use std::sync::Arc;

use oxibase_common::{DataType, Result, errinput};
use sqlparser::ast;

use super::expr::{ExprCtx, SqlType};
use super::scope::Scope;
use super::{Binder, Statement, ident, normalize_setting, split_name};
use crate::plan::Expr;
use crate::procedure::{Returns, Routine, RoutineKind};

/// A routine to create (compiled by the executor, which holds the runtime).
#[derive(Debug)]
pub struct RoutineSpec {
    /// (schema, name)
    pub name: (Option<String>, String),
    /// FUNCTION or PROCEDURE.
    pub kind: RoutineKind,
    /// Argument names and types.
    pub args: Vec<(String, DataType)>,
    /// Argument defaults, as SQL (one per argument).
    pub defaults: Vec<Option<String>>,
    /// Which arguments are a procedure's OUT parameters (see `Routine::out_args`).
    pub out_args: Vec<bool>,
    /// What it returns.
    pub returns: Returns,
    /// LANGUAGE
    pub language: String,
    /// The body (`AS '...'`).
    pub source: String,
    /// OR REPLACE
    pub or_replace: bool,
    /// STRICT / RETURNS NULL ON NULL INPUT
    pub strict: bool,
    /// IMMUTABLE ('i'), STABLE ('s') or VOLATILE ('v', the default).
    pub volatility: char,
    /// SECURITY DEFINER.
    pub security_definer: bool,
    /// SET name = value clauses (FROM CURRENT resolved to the current value).
    pub config: Vec<(String, String)>,
}

impl Binder<'_> {
    /// `CREATE [OR REPLACE] FUNCTION | PROCEDURE`.
    pub(super) fn bind_create_routine(&self, f: &ast::CreateFunction) -> Result<RoutineSpec> {
        let kind = if crate::parse::is_procedure(f) {
            RoutineKind::Procedure
        } else {
            RoutineKind::Function
        };
        let mut args = Vec::new();
        let mut defaults = Vec::new();
        let mut out_args = Vec::new();
        let mut outs: Vec<(String, DataType)> = Vec::new();
        let language = f.language.as_ref().map(|l| l.value.to_lowercase());
        for arg in f.args.iter().flatten() {
            let out = matches!(arg.mode, Some(ast::ArgMode::Out | ast::ArgMode::InOut));
            // A procedure's OUT parameter is also one of its call's arguments (as in
            // PostgreSQL 14 and later: CALL p(1, NULL)), holding the value passed until
            // the body sets it.
            let procedure_out = out && kind == RoutineKind::Procedure;
            if out {
                if procedure_out && !matches!(language.as_deref(), Some("plpgsql" | "sql")) {
                    return Err(errinput!(
                        FEATURE_NOT_SUPPORTED,
                        "OUT and INOUT arguments of procedures are supported in LANGUAGE plpgsql and sql"
                    )
                    .with_hint("Return the values as a result set from the procedure."));
                }
                let name = arg.name.as_ref().map(ident).unwrap_or_default();
                let taken =
                    |n: &str| args.iter().any(|(a, _)| a == n) || outs.iter().any(|(o, _)| o == n);
                if !name.is_empty() && taken(&name) {
                    return Err(errinput!(
                        INVALID_FUNCTION_DEFINITION,
                        "parameter name \"{name}\" used more than once"
                    ));
                }
                outs.push((name, self.data_type(&arg.data_type)?));
                if matches!(arg.mode, Some(ast::ArgMode::Out)) && !procedure_out {
                    continue;
                }
            }
            if let Some(default) = &arg.default_expr {
                // A literal default carries its parameter's type, as PostgreSQL shows it
                // (`DEFAULT 'x'::text`, `DEFAULT NULL::text`).
                let typed = |literal: String| -> Result<String> {
                    Ok(format!("{literal}::{}", self.data_type(&arg.data_type)?.name()))
                };
                let sql = match default {
                    ast::Expr::Value(v) => match &v.value {
                        ast::Value::SingleQuotedString(_) | ast::Value::Null => {
                            typed(default.to_string())?
                        }
                        _ => default.to_string(),
                    },
                    _ => crate::parse::default_sql(default),
                };
                defaults.push(Some(sql));
            } else if defaults.iter().any(Option::is_some) {
                return Err(errinput!(
                    INVALID_FUNCTION_DEFINITION,
                    "input parameters after one with a default value must also have defaults"
                ));
            } else {
                defaults.push(None);
            }
            let name = arg.name.as_ref().map(ident).unwrap_or_default();
            let ty = self.data_type(&arg.data_type)?;
            if matches!(&ty, DataType::Record(r) if r.id.is_none()) {
                return Err(errinput!(
                    FEATURE_NOT_SUPPORTED,
                    "arguments of a row type ({}) are not supported",
                    arg.data_type
                )
                .with_hint("Pass the row's key, or its columns as separate arguments."));
            }
            let inout = matches!(arg.mode, Some(ast::ArgMode::InOut)) || procedure_out;
            if !name.is_empty()
                && (args.iter().any(|(a, _)| *a == name)
                    || (!inout && outs.iter().any(|(o, _)| *o == name)))
            {
                return Err(errinput!(
                    INVALID_FUNCTION_DEFINITION,
                    "parameter name \"{name}\" used more than once"
                ));
            }
            args.push((name, ty));
            out_args.push(procedure_out && matches!(arg.mode, Some(ast::ArgMode::Out)));
        }
        if !out_args.contains(&true) {
            out_args.clear();
        }
        let is_record = |t: &ast::DataType| t.to_string().eq_ignore_ascii_case("record");
        let returns = match &f.return_type {
            // OUT parameters: one row of them (RETURNS record, or nothing), or rows of them
            // (RETURNS SETOF record).
            _ if !outs.is_empty() => match &f.return_type {
                None => Returns::Out(outs),
                Some(ast::FunctionReturnType::DataType(t)) if is_record(t) => Returns::Out(outs),
                Some(ast::FunctionReturnType::SetOf(t)) if is_record(t) => Returns::Table(outs),
                Some(ast::FunctionReturnType::DataType(t))
                    if outs.len() == 1 && self.data_type(t).ok() == Some(outs[0].1.clone()) =>
                {
                    Returns::Out(outs)
                }
                Some(_) => {
                    return Err(errinput!(
                        INVALID_FUNCTION_DEFINITION,
                        "function result type must be record because of OUT parameters"
                    ));
                }
            },
            None if kind == RoutineKind::Procedure => Returns::Void,
            None => {
                return Err(errinput!(
                    INVALID_FUNCTION_DEFINITION,
                    "function result type must be specified"
                ));
            }
            // SETOF a table's row type: rows of its columns, as RETURNS TABLE (...).
            Some(ast::FunctionReturnType::SetOf(t)) => match self.data_type(t)? {
                DataType::Record(record) => Returns::SetOfRow(
                    record.name.clone().unwrap_or_else(|| t.to_string()),
                    record.fields.clone(),
                ),
                ty => Returns::SetOf(ty),
            },
            Some(ast::FunctionReturnType::DataType(ast::DataType::Table(Some(columns)))) => {
                let columns: Vec<(String, DataType)> = columns
                    .iter()
                    .map(|c| Ok((ident(&c.name), self.data_type(&c.data_type)?)))
                    .collect::<Result<_>>()?;
                // The columns are variables of the body, as the arguments are.
                if let Some((n, _)) = columns.iter().find(|(n, _)| args.iter().any(|(a, _)| a == n))
                {
                    return Err(errinput!(
                        INVALID_FUNCTION_DEFINITION,
                        "parameter name \"{n}\" used more than once"
                    ));
                }
                Returns::Table(columns)
            }
            Some(ast::FunctionReturnType::DataType(t))
                if t.to_string().eq_ignore_ascii_case("void") =>
            {
                Returns::Void
            }
            Some(ast::FunctionReturnType::DataType(t))
                if t.to_string().eq_ignore_ascii_case("trigger") =>
            {
                Returns::Trigger
            }
            Some(ast::FunctionReturnType::DataType(t)) => match self.data_type(t)? {
                DataType::Record(r) if r.id.is_some() => Returns::Value(DataType::Record(r)),
                DataType::Record(_) => {
                    return Err(errinput!(
                        FEATURE_NOT_SUPPORTED,
                        "functions returning one row of a row type ({t}) are not supported"
                    )
                    .with_hint(format!("Declare RETURNS SETOF {t}, and return one row.")));
                }
                ty => Returns::Value(ty),
            },
        };
        let language = language
            .ok_or_else(|| errinput!(INVALID_FUNCTION_DEFINITION, "no language specified"))?;
        if returns == Returns::Trigger && language != crate::plpgsql::LANGUAGE {
            return Err(errinput!(
                FEATURE_NOT_SUPPORTED,
                "trigger functions are written in plpgsql here, not {language}"
            )
            .with_hint("A trigger function's PL/pgSQL can call a Wasm function for the work."));
        }
        if returns == Returns::Trigger && !args.is_empty() {
            return Err(errinput!(
                INVALID_FUNCTION_DEFINITION,
                "trigger functions cannot have declared arguments"
            )
            .with_hint("The arguments of the trigger can be accessed through TG_NARGS and TG_ARGV instead."));
        }
        let source = match &f.function_body {
            Some(ast::CreateFunctionBody::AsBeforeOptions { body, .. })
            | Some(ast::CreateFunctionBody::AsAfterOptions(body)) => match body {
                ast::Expr::Value(v) => match &v.value {
                    ast::Value::SingleQuotedString(s) => s.clone(),
                    ast::Value::DollarQuotedString(d) => d.value.clone(),
                    other => other.to_string(),
                },
                other => other.to_string(),
            },
            _ => {
                return Err(errinput!(INVALID_FUNCTION_DEFINITION, "no function body specified")
                    .with_hint("Give the code as AS $$ ... $$."));
            }
        };
        let strict = matches!(
            f.called_on_null,
            Some(
                ast::FunctionCalledOnNull::Strict
                    | ast::FunctionCalledOnNull::ReturnsNullOnNullInput
            )
        );
        let volatility = match f.behavior {
            Some(ast::FunctionBehavior::Immutable) => 'i',
            Some(ast::FunctionBehavior::Stable) => 's',
            _ => 'v',
        };
        Ok(RoutineSpec {
            name: split_name(&f.name)?,
            kind,
            args,
            defaults,
            out_args,
            returns,
            language,
            source,
            or_replace: f.or_replace,
            strict,
            volatility,
            security_definer: matches!(f.security, Some(ast::FunctionSecurity::Definer)),
            config: self.routine_config(&f.set_params)?,
        })
    }

    /// A routine's `SET name = value` clauses: checked as SET checks them; FROM CURRENT
    /// takes the session's value now, as in PostgreSQL.
    fn routine_config(
        &self,
        params: &[ast::FunctionDefinitionSetParam],
    ) -> Result<Vec<(String, String)>> {
        let mut out = Vec::new();
        for p in params {
            let name = normalize_setting(&p.name.to_string().to_lowercase());
            let value = match &p.value {
                ast::FunctionSetValue::Default => continue,
                ast::FunctionSetValue::Values(values) => {
                    values.iter().map(super::setting_value).collect::<Result<Vec<_>>>()?.join(", ")
                }
                ast::FunctionSetValue::FromCurrent => self.env.setting(&name)?.unwrap_or_default(),
            };
            // Checked now, as SET would check it.
            crate::settings::Settings::default().set(&name, Some(&value))?;
            out.push((name, value));
        }
        Ok(out)
    }

    /// `CALL name(args)`: the procedure and its arguments, cast to the declared types.
    pub(super) fn bind_call(&self, f: &ast::Function) -> Result<Statement> {
        let (schema, name) = split_name(&f.name)?;
        if schema.as_deref() == Some("pg_catalog") && name == crate::parse::DO_BLOCK {
            return self.bind_do(f);
        }
        if schema.as_deref() == Some("pg_catalog") && name == crate::parse::OWNED_BLOCK {
            return self.bind_owned(f);
        }
        let routine = self.env.routine(schema.as_deref(), &name)?.ok_or_else(|| {
            errinput!(UNDEFINED_FUNCTION, "procedure {name} does not exist")
                .with_hint("No procedure matches the given name. Create it with CREATE PROCEDURE.")
        })?;
        self.require_execute(&routine)?;
        if routine.kind != RoutineKind::Procedure {
            return Err(errinput!(WRONG_OBJECT_TYPE, "{} is not a procedure", routine.signature())
                .with_hint("To call a function, use SELECT."));
        }
        let args = match &f.args {
            ast::FunctionArguments::List(list) => {
                self.stored_call_args(Some(&routine), &f.name, &list.args, "CALL")?
            }
            _ => vec![],
        };
        let scope = Scope::default();
        let ctx = ExprCtx::plain(&scope, "CALL");
        let bound = args.iter().map(|a| self.bind_expr(a, &ctx)).collect::<Result<Vec<_>>>()?;
        let args = self.routine_args(&routine, bound)?;
        Ok(Statement::Call { routine, args })
    }

    /// `DO 'code'`: an anonymous PL/pgSQL procedure, its body checked now.
    /// REASSIGN OWNED / DROP OWNED, as `parse.rs` carries them.
    fn bind_owned(&self, f: &ast::Function) -> Result<Statement> {
        let (Some(action), Some(roles), Some(last)) =
            (literal_arg(f, 0), literal_arg(f, 1), literal_arg(f, 2))
        else {
            return Err(errinput!(SYNTAX_ERROR, "invalid REASSIGN OWNED or DROP OWNED"));
        };
        let roles = roles.split(',').map(str::to_string).collect();
        Ok(Statement::Ddl(super::DdlStatement::Owned(Box::new(if action == "reassign" {
            super::grant::OwnedSpec::Reassign { roles, to: last }
        } else {
            super::grant::OwnedSpec::Drop { roles, cascade: last == "cascade" }
        }))))
    }

    fn bind_do(&self, f: &ast::Function) -> Result<Statement> {
        let text = |i: usize| literal_arg(f, i);
        let (Some(source), Some(language)) = (text(0), text(1)) else {
            return Err(errinput!(SYNTAX_ERROR, "DO takes its code as a string"));
        };
        let language = language.to_lowercase();
        if language != crate::plpgsql::LANGUAGE {
            return Err(errinput!(
                FEATURE_NOT_SUPPORTED,
                "language \"{language}\" does not support inline code execution"
            ));
        }
        use sha2::Digest;
        let hash =
            sha2::Sha256::digest(source.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
        let routine = Routine {
            id: 0,
            schema: "pg_catalog".into(),
            name: "inline_code_block".into(),
            kind: RoutineKind::Procedure,
            args: vec![],
            defaults: vec![],
            out_args: vec![],
            returns: Returns::Void,
            language,
            source,
            module: Arc::new(Vec::new()),
            hash,
            strict: false,
            volatility: 'v',
            security_definer: false,
            config: Vec::new(),
            runtime_state: Default::default(),
        };
        crate::plpgsql::check(&routine)?;
        Ok(Statement::Call { routine: Arc::new(routine), args: vec![] })
    }

    /// The stored function a call names, if it is one: a name qualified with a schema other
    /// than pg_catalog, or an unqualified name no built-in function takes these arguments
    /// under (built-ins come first, as PostgreSQL's pg_catalog is searched first).
    pub(super) fn stored_routine(
        &self,
        schema: Option<&str>,
        name: &str,
        bound: &[(Expr, SqlType)],
    ) -> Result<Option<Arc<Routine>>> {
        let qualified = schema.is_some_and(|s| s != "pg_catalog");
        if !qualified {
            let types: Vec<SqlType> = bound.iter().map(|(_, t)| t.clone()).collect();
            if crate::functions::scalar::resolve(name, &types).is_ok() {
                return Ok(None);
            }
        }
        let Some(routine) = self.env.routine(schema, name)? else { return Ok(None) };
        if routine.kind == RoutineKind::Procedure {
            return Err(errinput!(WRONG_OBJECT_TYPE, "{} is a procedure", routine.signature())
                .with_hint("To call a procedure, use CALL."));
        }
        self.require_execute(&routine)?;
        Ok(Some(routine))
    }

    /// A scalar call to a stored function.
    pub(super) fn call_routine(
        &self,
        routine: Arc<Routine>,
        bound: Vec<(Expr, SqlType)>,
    ) -> Result<(Expr, SqlType)> {
        let ty = match &routine.returns {
            Returns::Value(t) => t.clone(),
            Returns::Out(columns) if columns.len() == 1 => columns[0].1.clone(),
            // Several OUT parameters: a record of them (`(f(x)).y` reads one).
            Returns::Out(columns) => {
                DataType::Record(Arc::new(oxibase_common::RecordType::anonymous(columns.clone())))
            }
            Returns::Void => DataType::Text,
            Returns::Trigger => {
                return Err(errinput!(
                    FEATURE_NOT_SUPPORTED,
                    "trigger functions can only be called as triggers"
                ));
            }
            Returns::SetOf(_) | Returns::Table(_) | Returns::SetOfRow(..) => {
                return Err(errinput!(
                    FEATURE_NOT_SUPPORTED,
                    "set-returning function {}() is only supported in FROM",
                    routine.name
                )
                .with_hint(format!("write SELECT * FROM {}(...)", routine.name)));
            }
        };
        let args = self.routine_args(&routine, bound)?;
        Ok((Expr::Routine(routine, args), SqlType::Known(ty)))
    }

    /// Checks the argument count and casts each argument to its declared type.
    pub(super) fn routine_args(
        &self,
        routine: &Routine,
        mut bound: Vec<(Expr, SqlType)>,
    ) -> Result<Vec<Expr>> {
        // Missing trailing arguments take their defaults.
        let missing = routine.args.len().saturating_sub(bound.len());
        let defaults = routine.defaults.get(routine.args.len() - missing..).unwrap_or_default();
        if missing > 0 && defaults.len() == missing && defaults.iter().all(Option::is_some) {
            let scope = Scope::default();
            let ctx = ExprCtx::plain(&scope, "DEFAULT");
            for sql in defaults.iter().flatten() {
                bound.push(self.bind_expr(&crate::parse::parse_expr(sql)?, &ctx)?);
            }
        }
        if bound.len() != routine.args.len() {
            let given: Vec<String> = bound
                .iter()
                .map(|(_, t)| match t {
                    SqlType::Known(t) => t.name(),
                    SqlType::Unknown => "unknown".into(),
                })
                .collect();
            return Err(errinput!(
                UNDEFINED_FUNCTION,
                "{} {}({}) does not exist",
                routine.kind.keyword().to_lowercase(),
                routine.name,
                given.join(", ")
            )
            .with_hint(format!(
                "{} takes {} arguments.",
                routine.signature(),
                routine.args.len()
            )));
        }
        bound
            .into_iter()
            .zip(&routine.args)
            .map(|((e, t), (_, want))| self.coerce(e, &t, want))
            .collect()
    }
}

impl Binder<'_> {
    /// The arguments of a call that may name them (`f(a, c => 3)`), in the stored routine's
    /// parameter order (`routine`, or the one `name` finds when an argument is named).
    pub(super) fn stored_call_args(
        &self,
        routine: Option<&Routine>,
        name: &ast::ObjectName,
        args: &[ast::FunctionArg],
        what: &str,
    ) -> Result<Vec<ast::Expr>> {
        let mut positional = Vec::new();
        let mut named = Vec::new();
        for arg in args {
            match arg {
                ast::FunctionArg::Named { name, arg: ast::FunctionArgExpr::Expr(e), .. }
                | ast::FunctionArg::ExprNamed {
                    name: ast::Expr::Identifier(name),
                    arg: ast::FunctionArgExpr::Expr(e),
                    ..
                } => named.push((ident(name), e.clone())),
                other => {
                    positional.extend(super::positional_args(std::slice::from_ref(other), what)?)
                }
            }
        }
        if named.is_empty() {
            return Ok(positional);
        }
        let found;
        let routine = match routine {
            Some(r) => r,
            None => {
                let (schema, fname) = split_name(name)?;
                found = self.env.routine(schema.as_deref(), &fname)?.ok_or_else(|| {
                    errinput!(UNDEFINED_FUNCTION, "function {fname} does not exist")
                })?;
                &found
            }
        };
        place_named_args(routine, positional, named)
    }
}

/// A call's arguments in parameter order: the positional ones first, then each named one
/// (`name => value`) at its parameter; parameters left out take their defaults.
pub(super) fn place_named_args(
    routine: &Routine,
    positional: Vec<ast::Expr>,
    named: Vec<(String, ast::Expr)>,
) -> Result<Vec<ast::Expr>> {
    let mut out: Vec<Option<ast::Expr>> = vec![None; routine.args.len().max(positional.len())];
    for (i, e) in positional.into_iter().enumerate() {
        out[i] = Some(e);
    }
    for (name, e) in named {
        let i = routine.args.iter().position(|(n, _)| *n == name).ok_or_else(|| {
            errinput!(
                UNDEFINED_FUNCTION,
                "{} {} has no parameter named \"{name}\"",
                routine.kind.keyword().to_lowercase(),
                routine.signature()
            )
        })?;
        if out[i].is_some() {
            return Err(errinput!(SYNTAX_ERROR, "argument \"{name}\" specified more than once"));
        }
        out[i] = Some(e);
    }
    out.into_iter()
        .enumerate()
        .map(|(i, e)| match e {
            Some(e) => Ok(e),
            None => match routine.defaults.get(i).cloned().flatten() {
                Some(sql) => crate::parse::parse_expr(&sql),
                None => Err(errinput!(
                    UNDEFINED_FUNCTION,
                    "{} {} has no value for parameter \"{}\"",
                    routine.kind.keyword().to_lowercase(),
                    routine.signature(),
                    routine.args[i].0
                )
                .with_hint("Give it, or declare a DEFAULT for it.")),
            },
        })
        .collect()
}

/// `DROP FUNCTION | PROCEDURE name [(types)], ...`: the names.
pub(super) fn routine_names(descs: &[ast::FunctionDesc]) -> Result<Vec<(Option<String>, String)>> {
    descs.iter().map(|d| split_name(&d.name)).collect()
}

/// A call's `i`th argument when it is a string literal.
fn literal_arg(f: &ast::Function, i: usize) -> Option<String> {
    match &f.args {
        ast::FunctionArguments::List(list) => match list.args.get(i) {
            Some(ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(ast::Expr::Value(v)))) => {
                match &v.value {
                    ast::Value::SingleQuotedString(s) => Some(s.clone()),
                    _ => None,
                }
            }
            _ => None,
        },
        _ => None,
    }
}
