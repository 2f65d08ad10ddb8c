//! Binding expressions: names, literals, operators, functions, subqueries.

use std::cell::RefCell;
use std::sync::Arc;

use oxibase_common::{DataType, Interval, Result, Value, errinput};
use sqlparser::ast;

use super::scope::Scope;
use super::{Binder, ident, split_name};
use crate::functions::aggregate;
use crate::functions::scalar;
use crate::functions::window;
use crate::plan::{AggregateCall, BinOp, CmpOp, Expr, SortKey, SubqueryKind, WindowCall};
pub(super) use crate::types::SqlType;
use crate::types::cast::{CastKind, cast};
use crate::types::datetime::Zone;
use crate::types::{common_type, resolve_common};

/// Aggregation in progress: group-by expressions and aggregate calls found so far. Bound
/// expressions over the aggregated row refer to group keys first, then aggregates.
pub(super) struct AggState {
    /// The scope of the rows being aggregated.
    pub input: Scope,
    /// GROUP BY as written, to recognise the same expression in SELECT.
    pub group_asts: Vec<ast::Expr>,
    /// GROUP BY bound over the input.
    pub group_exprs: Vec<Expr>,
    pub group_types: Vec<DataType>,
    pub aggregates: Vec<AggregateCall>,
    pub aggregate_types: Vec<DataType>,
    /// Debug forms of the aggregates, to reuse identical calls.
    keys: Vec<String>,
    /// Grouping sets are in use: the aggregate's output has a GROUPING() bitmap column right
    /// after the group-by values, before the aggregates.
    pub grouping_column: bool,
}

impl AggState {
    pub fn new(input: Scope) -> Self {
        AggState {
            input,
            group_asts: vec![],
            group_exprs: vec![],
            group_types: vec![],
            aggregates: vec![],
            aggregate_types: vec![],
            keys: vec![],
            grouping_column: false,
        }
    }

    fn group_match(&self, e: &ast::Expr) -> Option<usize> {
        let e = strip_nested(e);
        self.group_asts.iter().position(|g| strip_nested(g) == e)
    }

    fn bound_group_match(&self, e: &Expr) -> Option<usize> {
        let key = format!("{e:?}");
        self.group_exprs.iter().position(|g| format!("{g:?}") == key)
    }
}

/// A set-returning function in a select list: its function, arguments and result type.
pub(super) type SrfCall = (crate::plan::TableFunction, Vec<Expr>, DataType);

/// Where set-returning function results are numbered while binding (see `bind_select`).
pub(super) const SRF_MARK: usize = 1 << 41;

/// Window functions found so far; bound expressions refer to their results after the input.
pub(super) struct WindowState {
    /// The width of the window's input row.
    pub base: usize,
    pub calls: Vec<WindowCall>,
    pub types: Vec<DataType>,
}

/// Where an expression is being bound, and what it may contain.
pub(super) struct ExprCtx<'s> {
    pub scope: &'s Scope,
    pub agg: Option<&'s RefCell<AggState>>,
    pub windows: Option<&'s RefCell<WindowState>>,
    /// Set-returning functions of the select list (None where they are not allowed).
    pub srfs: Option<&'s RefCell<Vec<SrfCall>>>,
    /// The clause, for "aggregate functions are not allowed in WHERE".
    pub clause: &'static str,
}

impl<'s> ExprCtx<'s> {
    pub fn plain(scope: &'s Scope, clause: &'static str) -> Self {
        ExprCtx { scope, agg: None, windows: None, srfs: None, clause }
    }
}

fn strip_nested(e: &ast::Expr) -> &ast::Expr {
    match e {
        ast::Expr::Nested(inner) => strip_nested(inner),
        other => other,
    }
}

fn known(t: DataType) -> SqlType {
    SqlType::Known(t)
}

impl Binder<'_> {
    /// Binds an expression and coerces it to boolean (WHERE, ON, HAVING, CHECK).
    pub(super) fn bind_condition(&self, e: &ast::Expr, ctx: &ExprCtx) -> Result<Expr> {
        let (expr, ty) = self.bind_expr(e, ctx)?;
        self.coerce(expr, &ty, &DataType::Bool).map_err(|_| {
            errinput!(
                DATATYPE_MISMATCH,
                "argument of {} must be type boolean, not type {}",
                ctx.clause,
                ty.resolve().name()
            )
        })
    }

    /// Binds an expression, returning it with its type.
    pub(super) fn bind_expr(&self, e: &ast::Expr, ctx: &ExprCtx) -> Result<(Expr, SqlType)> {
        let _depth = super::Nesting::enter()?;
        self.bind_expr_inner(e, ctx)
    }

    fn bind_expr_inner(&self, e: &ast::Expr, ctx: &ExprCtx) -> Result<(Expr, SqlType)> {
        if let Some(agg) = ctx.agg {
            let state = agg.borrow();
            if let Some(i) = state.group_match(e) {
                return Ok((Expr::Column(i), known(state.group_types[i].clone())));
            }
        }
        use ast::Expr as E;
        match e {
            E::Identifier(_) | E::CompoundIdentifier(_) => self.bind_column(e, ctx),
            E::Value(v) => self.bind_value(&v.value),
            E::Nested(inner) => self.bind_expr(inner, ctx),
            E::TypedString(ts) => {
                let ty = self.data_type(&ts.data_type)?;
                let text = match &ts.value.value {
                    ast::Value::SingleQuotedString(s) | ast::Value::DoubleQuotedString(s) => {
                        s.clone()
                    }
                    other => other.to_string(),
                };
                if matches!(ty, DataType::TimestampTz(_)) {
                    // Read in the session's time zone when the statement runs, as
                    // `'...'::timestamptz` is (the zone is not known while binding).
                    let x = self.explicit_cast(
                        Expr::Literal(Value::Text(text)),
                        &SqlType::Unknown,
                        &ty,
                    )?;
                    return Ok((x, known(ty)));
                }
                Ok((
                    Expr::Literal(cast(Value::Text(text), &ty, CastKind::Explicit, &Zone::UTC)?),
                    known(ty),
                ))
            }
            E::Interval(iv) => self.bind_interval(iv),
            E::BinaryOp { left, op, right } => self.bind_binary(left, op, right, ctx),
            E::UnaryOp { op, expr } => self.bind_unary(op, expr, ctx),
            E::IsNull(x) | E::IsNotNull(x) => {
                let (x, _) = self.bind_expr(x, ctx)?;
                Ok((Expr::IsNull(Box::new(x), matches!(e, E::IsNotNull(_))), known(DataType::Bool)))
            }
            E::IsTrue(x)
            | E::IsNotTrue(x)
            | E::IsFalse(x)
            | E::IsNotFalse(x)
            | E::IsUnknown(x)
            | E::IsNotUnknown(x) => {
                let x = self.bind_condition(x, ctx)?;
                let (value, negated) = match e {
                    E::IsTrue(_) => (Some(true), false),
                    E::IsNotTrue(_) => (Some(true), true),
                    E::IsFalse(_) => (Some(false), false),
                    E::IsNotFalse(_) => (Some(false), true),
                    E::IsUnknown(_) => (None, false),
                    _ => (None, true),
                };
                Ok((Expr::IsBool(Box::new(x), value, negated), known(DataType::Bool)))
            }
            E::IsDistinctFrom(a, b) | E::IsNotDistinctFrom(a, b) => {
                let (a, b, _) = self.bind_pair(a, b, ctx, "IS DISTINCT FROM")?;
                Ok((
                    Expr::IsDistinct(
                        Box::new(a),
                        Box::new(b),
                        matches!(e, E::IsNotDistinctFrom(..)),
                    ),
                    known(DataType::Bool),
                ))
            }
            E::In { expr, target: ast::InTarget::List(list), negated, .. } => {
                self.bind_in_list(expr, list, *negated, ctx)
            }
            E::In { expr, target: ast::InTarget::Subquery(subquery), negated, .. }
                if matches!(strip_nested(expr), E::Tuple(_)) =>
            {
                let E::Tuple(items) = strip_nested(expr) else { unreachable!() };
                let (plan, correlated) = self.bind_subquery(subquery, ctx)?;
                if plan.columns.len() != items.len() {
                    let few = plan.columns.len() < items.len();
                    return Err(errinput!(
                        SYNTAX_ERROR,
                        "subquery has too {} columns",
                        if few { "few" } else { "many" }
                    ));
                }
                let mut exprs = Vec::with_capacity(items.len());
                let mut plan = plan;
                for (i, item) in items.iter().enumerate() {
                    let (x, xt) = self.bind_expr(item, ctx)?;
                    let (x, unified) = self.unify_subquery_column_at(x, &xt, plan, i)?;
                    exprs.push(x);
                    plan = unified;
                }
                let kind = SubqueryKind::InRow { exprs, negated: *negated };
                Ok((
                    Expr::Subquery { plan: Arc::new(plan), kind, correlated, id: self.next_id() },
                    known(DataType::Bool),
                ))
            }
            E::In { expr, target: ast::InTarget::Subquery(subquery), negated, .. } => {
                let (x, xt) = self.bind_expr(expr, ctx)?;
                let (plan, correlated) = self.bind_subquery(subquery, ctx)?;
                let (x, plan) = self.unify_subquery_column(x, &xt, plan)?;
                let kind = SubqueryKind::In { expr: Box::new(x), negated: *negated };
                Ok((
                    Expr::Subquery { plan: Arc::new(plan), kind, correlated, id: self.next_id() },
                    known(DataType::Bool),
                ))
            }
            E::In { expr, target: ast::InTarget::Unnest(array_expr), negated, .. } => {
                let (x, xt) = self.bind_expr(expr, ctx)?;
                let (arr, at) = self.bind_expr(array_expr, ctx)?;
                let x = self.coerce_to_element(x, &xt, &at)?;
                let any = Expr::ArrayCompare {
                    expr: Box::new(x),
                    op: CmpOp::Eq,
                    array: Box::new(arr),
                    all: false,
                };
                Ok((if *negated { Expr::Not(Box::new(any)) } else { any }, known(DataType::Bool)))
            }
            E::Between { expr, negated, low, high } => {
                let (x, lo, _) = self.bind_pair(expr, low, ctx, "BETWEEN")?;
                let (x2, hi, _) = self.bind_pair(expr, high, ctx, "BETWEEN")?;
                let range = Expr::And(
                    Box::new(Expr::Compare(CmpOp::GtEq, Box::new(x), Box::new(lo))),
                    Box::new(Expr::Compare(CmpOp::LtEq, Box::new(x2), Box::new(hi))),
                );
                Ok((
                    if *negated { Expr::Not(Box::new(range)) } else { range },
                    known(DataType::Bool),
                ))
            }
            E::Like { negated, expr, pattern, escape_char, any }
            | E::ILike { negated, expr, pattern, escape_char, any } => {
                if *any {
                    // `x LIKE ANY (array or list)`: true when some pattern matches.
                    let (x, xt) = self.bind_expr(expr, ctx)?;
                    let x = self.coerce(x, &xt, &DataType::Text)?;
                    let patterns = match strip_nested(pattern) {
                        ast::Expr::Tuple(items) => self.bind_array(items, ctx)?,
                        other => self.bind_expr(other, ctx)?,
                    };
                    let ci = matches!(e, E::ILike { .. });
                    return self.call_scalar(
                        "like_any",
                        vec![
                            (x, known(DataType::Text)),
                            patterns,
                            (Expr::Literal(Value::Bool(ci)), known(DataType::Bool)),
                            (Expr::Literal(Value::Bool(*negated)), known(DataType::Bool)),
                        ],
                    );
                }
                let (x, p, escape) =
                    self.bind_pattern(expr, pattern, escape_char.as_deref(), ctx)?;
                let case_insensitive = matches!(e, E::ILike { .. });
                Ok((
                    Expr::Like {
                        expr: Box::new(x),
                        pattern: Box::new(p),
                        escape,
                        case_insensitive,
                        negated: *negated,
                    },
                    known(DataType::Bool),
                ))
            }
            E::SimilarTo { negated, expr, pattern, escape_char } => {
                let (x, p, escape) =
                    self.bind_pattern(expr, pattern, escape_char.as_deref(), ctx)?;
                Ok((
                    Expr::Similar {
                        expr: Box::new(x),
                        pattern: Box::new(p),
                        escape,
                        negated: *negated,
                    },
                    known(DataType::Bool),
                ))
            }
            E::AnyOp { left, compare_op, right, .. } | E::AllOp { left, compare_op, right } => {
                let all = matches!(e, E::AllOp { .. });
                self.bind_any_all(left, compare_op, right, all, ctx)
            }
            E::Cast { expr, data_type, .. } if is_regclass(data_type) => {
                self.bind_regclass(expr, ctx)
            }
            // 'f'::regproc::oid, 'f(int)'::regprocedure::oid (psql's \sf and \ef): a stored
            // routine's oid.
            E::Cast { expr: inner, data_type, .. }
                if matches!(
                    super::ddl::data_type(data_type),
                    Ok(DataType::Oid | DataType::Int8)
                ) && matches!(&**inner, E::Cast { data_type: t, expr: lit, .. }
                        if (is_named_type(t, "regproc") || is_named_type(t, "regprocedure"))
                            && matches!(&**lit, E::Value(_))) =>
            {
                let E::Cast { expr: lit, .. } = &**inner else { unreachable!("matched above") };
                let (Expr::Literal(Value::Text(signature)), _) = self.bind_expr(lit, ctx)? else {
                    return Err(errinput!(SYNTAX_ERROR, "a function name must be text"));
                };
                let qualified = signature.split('(').next().unwrap_or_default().trim();
                let parsed = crate::parse::parse_expr(qualified).map_err(|_| {
                    errinput!(UNDEFINED_FUNCTION, "function \"{signature}\" does not exist")
                })?;
                let parts: Vec<String> = match &parsed {
                    ast::Expr::Identifier(id) => vec![ident(id)],
                    ast::Expr::CompoundIdentifier(ids) => ids.iter().map(ident).collect(),
                    _ => vec![],
                };
                let (schema, name) = match parts.as_slice() {
                    [name] => (None, name.as_str()),
                    [schema, name] => (Some(schema.as_str()), name.as_str()),
                    _ => (None, ""),
                };
                let routine = self.env.routine(schema, name)?.ok_or_else(|| {
                    errinput!(UNDEFINED_FUNCTION, "function \"{signature}\" does not exist")
                })?;
                Ok((Expr::Literal(Value::Int8(routine.id as i64)), known(DataType::Int8)))
            }
            // 'array_in(cstring,oid,integer)'::regprocedure: functions are named by text here
            // (pg_type.typinput holds `array_in`, as regproc prints), so the signature's name.
            E::Cast { expr, data_type, .. } if is_named_type(data_type, "regprocedure") => {
                let (x, t) = self.bind_expr(expr, ctx)?;
                match x {
                    Expr::Literal(Value::Text(signature)) => {
                        let name = signature.split('(').next().unwrap_or_default().trim();
                        let name = name.strip_prefix("pg_catalog.").unwrap_or(name);
                        Ok((Expr::Literal(Value::Text(name.to_string())), known(DataType::Text)))
                    }
                    x => Ok((self.coerce(x, &t, &DataType::Text)?, known(DataType::Text))),
                }
            }
            // oid::regdictionary (psql's \dF+): the dictionary's name, as regdictionary prints.
            E::Cast { expr, data_type, .. } if is_named_type(data_type, "regdictionary") => {
                let (x, t) = self.bind_expr(expr, ctx)?;
                match t.resolve() {
                    DataType::Int2 | DataType::Int4 | DataType::Int8 | DataType::Oid => {
                        let x = self.coerce(x, &t, &DataType::Int8)?;
                        self.call_scalar(
                            "oxibase_regdictionary_name",
                            vec![(x, known(DataType::Int8))],
                        )
                    }
                    _ => Ok((self.coerce(x, &t, &DataType::Text)?, known(DataType::Text))),
                }
            }
            // 'pg_catalog'::regnamespace: the schema's oid.
            E::Cast { expr, data_type, .. } if is_named_type(data_type, "regnamespace") => {
                let (x, t) = self.bind_expr(expr, ctx)?;
                match t {
                    SqlType::Known(DataType::Text | DataType::Varchar(_) | DataType::Name)
                    | SqlType::Unknown => {
                        let x = self.coerce(x, &t, &DataType::Text)?;
                        self.call_scalar(
                            "oxibase_regnamespace_oid",
                            vec![(x, known(DataType::Text))],
                        )
                    }
                    _ => Ok((self.coerce(x, &t, &DataType::Int8)?, known(DataType::Int8))),
                }
            }
            // A regproc column of a catalog read as an oid (`prsstart::oid`): regproc
            // columns hold function names here.
            E::Cast { expr: inner, data_type, .. }
                if matches!(super::ddl::data_type(data_type), Ok(DataType::Oid))
                    && is_regproc_column(inner) =>
            {
                let (x, t) = self.bind_expr(inner, ctx)?;
                match t.resolve() {
                    DataType::Text => {
                        self.call_scalar("oxibase_regproc_oid", vec![(x, known(DataType::Text))])
                    }
                    _ => Ok((self.explicit_cast(x, &t, &DataType::Oid)?, known(DataType::Oid))),
                }
            }
            // 'int8'::regtype: the type's oid (a number here; regtype is not a type of its own).
            E::Cast { expr, data_type, .. } if is_named_type(data_type, "regtype") => {
                let (x, t) = self.bind_expr(expr, ctx)?;
                match x {
                    Expr::Literal(Value::Text(name)) => {
                        // The name as a type in a cast, so every spelling SQL accepts works.
                        let parsed = super::parse_expr(&format!("NULL::{name}"));
                        let (ty, domain) = match parsed {
                            Ok(ast::Expr::Cast { data_type, .. }) => (
                                self.data_type(&data_type).ok(),
                                self.domain_of(&data_type).ok().flatten(),
                            ),
                            _ => (None, None),
                        };
                        let ty = ty.ok_or_else(|| {
                            errinput!(UNDEFINED_OBJECT, "type \"{name}\" does not exist")
                        })?;
                        // A domain is a type of its own here (its pg_type row's oid).
                        let oid = domain.map_or(crate::types::type_oid(&ty), |d| d.id) as i64;
                        Ok((Expr::Literal(Value::Int8(oid)), known(DataType::Int8)))
                    }
                    // A name computed at run time.
                    x if matches!(
                        t,
                        SqlType::Known(DataType::Text | DataType::Varchar(_)) | SqlType::Unknown
                    ) =>
                    {
                        let x = self.coerce(x, &t, &DataType::Text)?;
                        self.call_scalar("oxibase_regtype_oid", vec![(x, known(DataType::Text))])
                    }
                    x => Ok((self.coerce(x, &t, &DataType::Int8)?, known(DataType::Int8))),
                }
            }
            // x::regtype::text is the type's name, as regtype prints (format_type).
            E::Cast { expr: inner, data_type, .. }
                if matches!(
                    super::ddl::data_type(data_type),
                    Ok(DataType::Text | DataType::Varchar(_))
                ) && matches!(&**inner, E::Cast { data_type: t, .. } if is_named_type(t, "regtype")) =>
            {
                let (oid, t) = self.bind_expr(inner, ctx)?;
                let typmod = (Expr::Literal(Value::Null), known(DataType::Int4));
                self.call_scalar("format_type", vec![(oid, t), typmod])
            }
            // 'name'::regclass::text is the relation's name (checked to exist).
            E::Cast { expr: inner, data_type, .. }
                if matches!(
                    super::ddl::data_type(data_type),
                    Ok(DataType::Text | DataType::Varchar(_))
                ) && matches!(&**inner, E::Cast { data_type: t, expr: lit, .. } if is_regclass(t) && matches!(&**lit, E::Value(_))) =>
            {
                let E::Cast { expr: lit, .. } = &**inner else { unreachable!("matched above") };
                // Checked to exist now; named as regclass prints it (qualified only when
                // not on the search path).
                let (oid, _) = self.bind_regclass(lit, ctx)?;
                self.call_scalar("regclass_name", vec![(oid, known(DataType::Int8))])
            }
            E::Cast { expr, data_type, .. } => {
                let ty = self.data_type(data_type)?;
                let (x, xt) = self.bind_expr(expr, ctx)?;
                let x = self.explicit_cast(x, &xt, &ty)?;
                Ok(match self.domain_of(data_type)? {
                    Some(domain) => (Expr::Domain(Box::new(x), domain), known(ty)),
                    None => (x, known(ty)),
                })
            }
            E::AtTimeZone { timestamp, time_zone } => {
                let (ts, tt) = self.bind_expr(timestamp, ctx)?;
                let (zone, zt) = self.bind_expr(time_zone, ctx)?;
                let zone_type = match zt.resolve() {
                    DataType::Interval(_) => DataType::Interval(None),
                    _ => DataType::Text,
                };
                let zone = self.coerce(zone, &zt, &zone_type)?;
                let ty = match tt.resolve() {
                    DataType::Text => DataType::TimestampTz(None),
                    t => t,
                };
                let ts = self.coerce(ts, &tt, &ty)?;
                let r = scalar::resolve("timezone", &[known(zone_type), known(ty)])?;
                Ok((Expr::Call(r.function, vec![zone, ts]), known(r.return_type)))
            }
            E::Extract { field, expr, .. } => {
                let field = Expr::Literal(Value::Text(field.to_string().to_lowercase()));
                let (x, xt) = self.bind_expr(expr, ctx)?;
                self.call_scalar("extract", vec![(field, known(DataType::Text)), (x, xt)])
            }
            E::Ceil { expr, .. } | E::Floor { expr, .. } => {
                let name = if matches!(e, E::Ceil { .. }) { "ceil" } else { "floor" };
                let arg = self.bind_expr(expr, ctx)?;
                self.call_scalar(name, vec![arg])
            }
            E::Position { expr, r#in } => {
                let needle = self.bind_expr(expr, ctx)?;
                let hay = self.bind_expr(r#in, ctx)?;
                self.call_scalar("strpos", vec![hay, needle])
            }
            E::Substring { expr, substring_from, substring_for, .. } => {
                let mut args = vec![self.bind_expr(expr, ctx)?];
                args.push(match substring_from {
                    Some(f) => self.bind_expr(f, ctx)?,
                    None => (Expr::lit(1i64), known(DataType::Int8)),
                });
                // `substring(s FROM pattern)` with a text pattern is a POSIX regex match.
                let text_pattern = match &args[1] {
                    (_, SqlType::Known(DataType::Text | DataType::Varchar(_))) => true,
                    (Expr::Literal(Value::Text(p)), SqlType::Unknown) => {
                        p.trim().parse::<i64>().is_err()
                    }
                    _ => false,
                };
                if text_pattern && substring_for.is_none() {
                    return self.call_scalar("substring_regex", args);
                }
                if let Some(f) = substring_for {
                    args.push(self.bind_expr(f, ctx)?);
                }
                self.call_scalar("substr", args)
            }
            E::Trim { expr, trim_where, trim_what, trim_characters } => {
                let name = match trim_where {
                    Some(ast::TrimWhereField::Leading) => "ltrim",
                    Some(ast::TrimWhereField::Trailing) => "rtrim",
                    _ => "btrim",
                };
                let mut args = vec![self.bind_expr(expr, ctx)?];
                if let Some(what) = trim_what {
                    args.push(self.bind_expr(what, ctx)?);
                } else if let Some(chars) = trim_characters.as_ref().and_then(|c| c.first()) {
                    args.push(self.bind_expr(chars, ctx)?);
                }
                self.call_scalar(name, args)
            }
            E::Overlay { expr, overlay_what, overlay_from, overlay_for } => {
                // overlay(s placing r from f for n) = substr(s, 1, f-1) || r || substr(s, f+n)
                let (s, _) = self.bind_expr(expr, ctx)?;
                let (r, rt) = self.bind_expr(overlay_what, ctx)?;
                let (f, ft) = self.bind_expr(overlay_from, ctx)?;
                let f = self.coerce(f, &ft, &DataType::Int8)?;
                let n = match overlay_for {
                    Some(n) => {
                        let (n, nt) = self.bind_expr(n, ctx)?;
                        self.coerce(n, &nt, &DataType::Int8)?
                    }
                    None => self.call_scalar("length", vec![(r.clone(), rt.clone())])?.0,
                };
                let r = self.coerce(r, &rt, &DataType::Text)?;
                let substr = scalar::resolve(
                    "substr",
                    &[known(DataType::Text), known(DataType::Int8), known(DataType::Int8)],
                )?
                .function;
                let substr2 =
                    scalar::resolve("substr", &[known(DataType::Text), known(DataType::Int8)])?
                        .function;
                let head = Expr::Call(
                    substr,
                    vec![
                        s.clone(),
                        Expr::lit(1i64),
                        Expr::Binary(BinOp::Sub, Box::new(f.clone()), Box::new(Expr::lit(1i64))),
                    ],
                );
                let tail = Expr::Call(
                    substr2,
                    vec![
                        s,
                        Expr::Binary(
                            BinOp::Add,
                            Box::new(f),
                            Box::new(Expr::Cast(Box::new(n), DataType::Int8)),
                        ),
                    ],
                );
                let cat = Expr::Binary(
                    BinOp::Concat,
                    Box::new(Expr::Binary(BinOp::Concat, Box::new(head), Box::new(r))),
                    Box::new(tail),
                );
                Ok((cat, known(DataType::Text)))
            }
            E::Collate { expr, collation } => {
                let name = collation.to_string().to_lowercase().replace('"', "");
                if !matches!(
                    name.as_str(),
                    "c" | "posix" | "default" | "pg_catalog.c" | "pg_catalog.default" | "ucs_basic"
                ) {
                    return Err(errinput!(
                        UNDEFINED_OBJECT,
                        "collation \"{name}\" for encoding \"UTF8\" does not exist"
                    ));
                }
                self.bind_expr(expr, ctx)
            }
            E::Function(f) => self.bind_function(f, ctx),
            E::Case { operand, conditions, else_result, .. } => {
                self.bind_case(operand.as_deref(), conditions, else_result.as_deref(), ctx)
            }
            E::Exists { subquery, negated } => {
                let (plan, correlated) = self.bind_subquery(subquery, ctx)?;
                let exists = Expr::Subquery {
                    plan: Arc::new(plan),
                    kind: SubqueryKind::Exists,
                    correlated,
                    id: self.next_id(),
                };
                Ok((
                    if *negated { Expr::Not(Box::new(exists)) } else { exists },
                    known(DataType::Bool),
                ))
            }
            E::Subquery(query) => {
                let (plan, correlated) = self.bind_subquery(query, ctx)?;
                if plan.columns.len() != 1 {
                    return Err(errinput!(SYNTAX_ERROR, "subquery must return only one column"));
                }
                let ty = plan.columns[0].data_type.clone();
                Ok((
                    Expr::Subquery {
                        plan: Arc::new(plan),
                        kind: SubqueryKind::Scalar,
                        correlated,
                        id: self.next_id(),
                    },
                    known(ty),
                ))
            }
            E::Array(array) => self.bind_array(&array.elem, ctx),
            E::CompoundFieldAccess { root, access_chain } => {
                self.bind_access(root, access_chain, ctx)
            }
            E::Tuple(items) => self.bind_row(items, ctx),
            // `t.*` where a value is expected (`count(t.*)`): t's row as a record.
            E::QualifiedWildcard(name, _) => {
                let table = match name.0.as_slice() {
                    [ast::ObjectNamePart::Identifier(t)] => ident(t),
                    _ => {
                        return Err(errinput!(
                            FEATURE_NOT_SUPPORTED,
                            "{name}.* is not supported here"
                        ));
                    }
                };
                match self.whole_row(&table, ctx)? {
                    Some(row) => Ok(row),
                    None => Err(errinput!(
                        UNDEFINED_TABLE,
                        "missing FROM-clause entry for table \"{table}\""
                    )),
                }
            }
            E::Wildcard(_) => Err(errinput!(SYNTAX_ERROR, "\"*\" is not allowed here")),
            other => Err(errinput!(FEATURE_NOT_SUPPORTED, "expression not supported: {other}")),
        }
    }

    fn bind_column(&self, e: &ast::Expr, ctx: &ExprCtx) -> Result<(Expr, SqlType)> {
        let (table, name) = match e {
            ast::Expr::Identifier(id) => (None, ident(id)),
            ast::Expr::CompoundIdentifier(ids) => {
                let parts: Vec<String> = ids.iter().map(ident).collect();
                match parts.as_slice() {
                    [t, c] => (Some(t.clone()), c.clone()),
                    [_schema, t, c] => (Some(t.clone()), c.clone()),
                    _ => return Err(errinput!(SYNTAX_ERROR, "improper qualified name: {e}")),
                }
            }
            _ => return Err(errinput!(INTERNAL_ERROR, "not a column reference")),
        };
        // Aggregated rows expose group keys and aggregates only.
        if let Some(agg) = ctx.agg {
            let state = agg.borrow();
            if let Some((i, _)) = state.input.resolve(table.as_deref(), &name)? {
                if let Some(g) = state.bound_group_match(&Expr::Column(i)) {
                    return Ok((Expr::Column(g), known(state.group_types[g].clone())));
                }
                // A column of a table grouped by its primary key has one value per group.
                if !state.grouping_column
                    && state.input.depends_on_grouped_key(i, |j| {
                        state.bound_group_match(&Expr::Column(j)).is_some()
                    })
                {
                    drop(state);
                    return self.bind_aggregate_call(
                        "any_value",
                        std::slice::from_ref(e),
                        false,
                        false,
                        &[],
                        None,
                        ctx,
                    );
                }
                let qualified = match table.or_else(|| state.input.columns[i].table.clone()) {
                    Some(t) => format!("{t}.{name}"),
                    None => name,
                };
                return Err(errinput!(
                    GROUPING_ERROR,
                    "column \"{qualified}\" must appear in the GROUP BY clause or be used in an aggregate function"
                ));
            }
        } else if let Some((i, ty)) = ctx.scope.resolve(table.as_deref(), &name)? {
            self.refuse_ambiguous_variable(table.as_deref(), &name)?;
            return Ok((Expr::Column(i), known(ty)));
        }
        // Enclosing queries, innermost first: a correlated reference.
        let outer = self.outer.borrow();
        for (depth, scope) in outer.iter().rev().enumerate() {
            if let Some((index, ty)) = scope.resolve(table.as_deref(), &name)? {
                self.refuse_ambiguous_variable(table.as_deref(), &name)?;
                let mut flags = self.correlated.borrow_mut();
                let n = flags.len();
                for flag in flags[n.saturating_sub(depth + 1)..].iter_mut() {
                    *flag = true;
                }
                return Ok((Expr::Outer { depth, index }, known(ty)));
            }
        }
        // In a routine written in SQL, an argument's or variable's name where no column has it.
        if let Some(i) = self.routine_arg(table.as_deref(), &name) {
            let ty = self.params.borrow().get(i).cloned().flatten();
            return Ok((Expr::Param(i), ty.map_or(SqlType::Unknown, SqlType::Known)));
        }
        // `arg.field`: a field of an argument of a row type, where no table has the name.
        if let Some(t) = &table
            && !ctx.scope.has_table(t)
            && !outer.iter().any(|s| s.has_table(t))
            && let Some(i) = self.routine_arg(None, t)
            && let Some(ty @ DataType::Record(_)) = self.params.borrow().get(i).cloned().flatten()
        {
            return select_named_field((Expr::Param(i), known(ty)), &name, t);
        }
        if let Some(t) = &table
            && ctx.scope.unreachable.contains(t)
        {
            return Err(errinput!(
                UNDEFINED_TABLE,
                "invalid reference to FROM-clause entry for table \"{t}\""
            )
            .with_hint(format!(
                "There is an entry for table \"{t}\", but it cannot be referenced from this part of the query."
            )));
        }
        if let Some(t) = &table
            && !ctx.scope.has_table(t)
            && !outer.iter().any(|s| s.has_table(t))
        {
            return Err(errinput!(UNDEFINED_TABLE, "missing FROM-clause entry for table \"{t}\""));
        }
        // Some keyword-like functions are written without parentheses.
        if table.is_none()
            && let Some(f) = niladic(&name)
        {
            return self.call_scalar(f, vec![]);
        }
        drop(outer);
        // A relation's name where no column has it: the whole row, as a record.
        if table.is_none()
            && let Some(row) = self.whole_row(&name, ctx)?
        {
            return Ok(row);
        }
        let qualified = table.map_or(name.clone(), |t| format!("{t}.{name}"));
        Err(errinput!(UNDEFINED_COLUMN, "column \"{qualified}\" does not exist"))
    }

    pub(super) fn bind_value(&self, v: &ast::Value) -> Result<(Expr, SqlType)> {
        use ast::Value as V;
        Ok(match v {
            V::Number(n, _) => number_literal(n)?,
            V::SingleQuotedString(s)
            | V::EscapedStringLiteral(s)
            | V::NationalStringLiteral(s)
            | V::TripleSingleQuotedString(s) => {
                (Expr::Literal(Value::Text(s.clone())), SqlType::Unknown)
            }
            V::DollarQuotedString(d) => {
                (Expr::Literal(Value::Text(d.value.clone())), SqlType::Unknown)
            }
            V::HexStringLiteral(h) => (Expr::Literal(Value::Text(h.clone())), SqlType::Unknown),
            V::Boolean(b) => (Expr::Literal(Value::Bool(*b)), known(DataType::Bool)),
            V::Null => (Expr::Literal(Value::Null), SqlType::Unknown),
            V::Placeholder(p) => {
                let n: usize = p
                    .trim_start_matches('$')
                    .parse()
                    .map_err(|_| errinput!(SYNTAX_ERROR, "invalid parameter {p}"))?;
                if n == 0 || n > 65535 {
                    return Err(errinput!(UNDEFINED_PARAMETER, "there is no parameter {p}"));
                }
                let mut params = self.params.borrow_mut();
                if params.len() < n {
                    params.resize(n, None);
                }
                let ty = params[n - 1].clone().map_or(SqlType::Unknown, SqlType::Known);
                (Expr::Param(n - 1), ty)
            }
            other => {
                return Err(errinput!(FEATURE_NOT_SUPPORTED, "literal not supported: {other}"));
            }
        })
    }

    fn bind_interval(&self, iv: &ast::Interval) -> Result<(Expr, SqlType)> {
        let text = match &*iv.value {
            ast::Expr::Value(v) => match &v.value {
                ast::Value::SingleQuotedString(s) => s.clone(),
                ast::Value::Number(n, _) => n.clone(),
                other => other.to_string(),
            },
            other => other.to_string(),
        };
        // INTERVAL '2' HOUR: a bare number takes the leading field as its unit.
        let text = match &iv.leading_field {
            Some(field) if text.trim().parse::<f64>().is_ok() => format!("{text} {field}"),
            _ => text,
        };
        let value = crate::types::datetime::parse_interval(&text)?;
        let value = truncate_interval(value, iv.last_field.as_ref().or(iv.leading_field.as_ref()));
        // `interval(0) '1.5 seconds'`, `INTERVAL '1.5' SECOND(0)`: fewer fractional digits.
        let precision = iv.fractional_seconds_precision.or(match iv.leading_field {
            None | Some(ast::DateTimeField::Second) => iv.leading_precision,
            Some(_) => None,
        });
        let value = match precision {
            Some(p) => crate::types::datetime::round_to_precision(
                Value::Interval(value),
                p.min(u64::from(oxibase_common::MAX_TIME_PRECISION)) as u8,
            ),
            None => Value::Interval(value),
        };
        Ok((Expr::Literal(value), known(DataType::Interval(None))))
    }

    fn bind_unary(
        &self,
        op: &ast::UnaryOperator,
        expr: &ast::Expr,
        ctx: &ExprCtx,
    ) -> Result<(Expr, SqlType)> {
        // Fold negative numeric literals so -2147483648 is an integer.
        if let (ast::UnaryOperator::Minus, ast::Expr::Value(v)) = (op, strip_nested(expr))
            && let ast::Value::Number(n, _) = &v.value
        {
            return number_literal(&format!("-{n}"));
        }
        let (x, t) = self.bind_expr(expr, ctx)?;
        match op {
            ast::UnaryOperator::Not => Ok((
                Expr::Not(Box::new(self.coerce(x, &t, &DataType::Bool)?)),
                known(DataType::Bool),
            )),
            ast::UnaryOperator::Minus => {
                let (x, t) = match t {
                    SqlType::Unknown => {
                        (self.coerce(x, &t, &DataType::Float8)?, known(DataType::Float8))
                    }
                    t => (x, t),
                };
                Ok((Expr::Negate(Box::new(x)), t))
            }
            ast::UnaryOperator::Plus => Ok((x, t)),
            ast::UnaryOperator::PGAbs => self.call_scalar("abs", vec![(x, t)]),
            ast::UnaryOperator::PGPrefixFactorial if is_tsquery(&t) => {
                self.call_scalar("oxibase_tsquery_not", vec![(x, t)])
            }
            ast::UnaryOperator::PGSquareRoot => self.call_scalar("sqrt", vec![(x, t)]),
            ast::UnaryOperator::PGCubeRoot => self.call_scalar("cbrt", vec![(x, t)]),
            ast::UnaryOperator::BitwiseNot if is_network(&t) => {
                self.call_scalar("inetnot", vec![(x, t)])
            }
            ast::UnaryOperator::BitwiseNot => {
                let ty = t.resolve();
                Ok((
                    Expr::Binary(
                        BinOp::BitXor,
                        Box::new(x),
                        Box::new(Expr::Literal(cast(
                            Value::Int8(-1),
                            &ty,
                            CastKind::Explicit,
                            &Zone::UTC,
                        )?)),
                    ),
                    known(ty),
                ))
            }
            other => {
                Err(errinput!(FEATURE_NOT_SUPPORTED, "unary operator {other} is not supported"))
            }
        }
    }

    /// Compares two row constructors as PostgreSQL does: `=` and `<>` field by field, and
    /// the orderings lexicographically, deciding at the first pair that is unequal or null:
    /// `(a, b) < (c, d)` is `a < c OR (a = c AND b < d)`, whose three-valued logic gives
    /// exactly PostgreSQL's answer (null when the deciding pair has a null).
    fn bind_row_comparison(
        &self,
        left: &[ast::Expr],
        op: &ast::BinaryOperator,
        right: &[ast::Expr],
        ctx: &ExprCtx,
    ) -> Result<(Expr, SqlType)> {
        use ast::BinaryOperator as B;
        if left.len() != right.len() {
            return Err(errinput!(SYNTAX_ERROR, "unequal number of entries in row expressions"));
        }
        let pair = |op: B, i: usize| ast::Expr::BinaryOp {
            left: Box::new(left[i].clone()),
            op,
            right: Box::new(right[i].clone()),
        };
        let join = |op: B, a: ast::Expr, b: ast::Expr| ast::Expr::BinaryOp {
            left: Box::new(a),
            op,
            right: Box::new(b),
        };
        let n = left.len();
        if matches!(op, B::Overlaps) {
            return self.bind_overlaps(left, right, ctx);
        }
        let expanded = match op {
            B::Eq | B::NotEq => {
                let both = if matches!(op, B::Eq) { B::And } else { B::Or };
                (1..n).fold(pair(op.clone(), 0), |acc, i| {
                    join(both.clone(), acc, pair(op.clone(), i))
                })
            }
            B::Lt | B::LtEq | B::Gt | B::GtEq => {
                let strict = if matches!(op, B::Lt | B::LtEq) { B::Lt } else { B::Gt };
                // Built from the last field outwards: the last pair uses the operator itself.
                (0..n - 1).rev().fold(pair(op.clone(), n - 1), |rest, i| {
                    join(B::Or, pair(strict.clone(), i), join(B::And, pair(B::Eq, i), rest))
                })
            }
            other => {
                return Err(errinput!(
                    FEATURE_NOT_SUPPORTED,
                    "operator {other} is not supported for row expressions"
                ));
            }
        };
        let e = self.bind_condition(&expanded, ctx)?;
        Ok((e, known(DataType::Bool)))
    }

    /// `(s1, e1) OVERLAPS (s2, e2)`; an end may also be an interval after its start.
    fn bind_overlaps(
        &self,
        left: &[ast::Expr],
        right: &[ast::Expr],
        ctx: &ExprCtx,
    ) -> Result<(Expr, SqlType)> {
        if left.len() != 2 {
            return Err(errinput!(
                SYNTAX_ERROR,
                "wrong number of parameters on left side of OVERLAPS expression"
            ));
        }
        let all = [&left[0], &left[1], &right[0], &right[1]];
        let bound = all.iter().map(|e| self.bind_expr(e, ctx)).collect::<Result<Vec<_>>>()?;
        let points: Vec<SqlType> = bound
            .iter()
            .map(|(_, t)| t.clone())
            .filter(|t| !matches!(t, SqlType::Known(DataType::Interval(_))))
            .collect();
        let ty = self.unify(&points, "OVERLAPS")?;
        let args = bound
            .into_iter()
            .map(|(e, t)| match t {
                SqlType::Known(DataType::Interval(_)) => Ok((e, t)),
                t => Ok((self.coerce(e, &t, &ty)?, known(ty.clone()))),
            })
            .collect::<Result<Vec<_>>>()?;
        self.call_scalar("overlaps", args)
    }

    fn bind_binary(
        &self,
        left: &ast::Expr,
        op: &ast::BinaryOperator,
        right: &ast::Expr,
        ctx: &ExprCtx,
    ) -> Result<(Expr, SqlType)> {
        use ast::BinaryOperator as B;
        // `OPERATOR(pg_catalog.~)` is the operator `~` named with its schema (psql writes them).
        // `a <<= b` parses as a custom operator: the same mapping as `OPERATOR(<<=)`.
        if let B::Custom(symbol) = op {
            return self.bind_binary(
                left,
                &B::PGCustomBinaryOperator(vec![symbol.clone()]),
                right,
                ctx,
            );
        }
        if let B::PGCustomBinaryOperator(parts) = op
            && let Some(symbol) = parts.last()
        {
            let standard = match symbol.as_str() {
                "=" => B::Eq,
                "<>" | "!=" => B::NotEq,
                "<" => B::Lt,
                "<=" => B::LtEq,
                ">" => B::Gt,
                ">=" => B::GtEq,
                "~" => B::PGRegexMatch,
                "~*" => B::PGRegexIMatch,
                "!~" => B::PGRegexNotMatch,
                "!~*" => B::PGRegexNotIMatch,
                "~~" => B::PGLikeMatch,
                "~~*" => B::PGILikeMatch,
                "!~~" => B::PGNotLikeMatch,
                "!~~*" => B::PGNotILikeMatch,
                "+" => B::Plus,
                "-" => B::Minus,
                "*" => B::Multiply,
                "/" => B::Divide,
                "%" => B::Modulo,
                "||" => B::StringConcat,
                "@>" => B::AtArrow,
                "<@" => B::ArrowAt,
                "&&" => B::PGOverlap,
                "<<" => B::PGBitwiseShiftLeft,
                ">>" => B::PGBitwiseShiftRight,
                "&" => B::BitwiseAnd,
                "|" => B::BitwiseOr,
                // Network containment or equality (`inet <<= cidr`), which has no AST operator.
                "<<=" | ">>=" => {
                    let l = self.bind_expr(left, ctx)?;
                    let r = self.bind_expr(right, ctx)?;
                    let name = if symbol == "<<=" { "network_subeq" } else { "network_supeq" };
                    return self.call_scalar(name, vec![l, r]);
                }
                other => {
                    return Err(errinput!(UNDEFINED_FUNCTION, "operator does not exist: {other}"));
                }
            };
            return self.bind_binary(left, &standard, right, ctx);
        }
        if let (Some(l), Some(r)) = (row_fields(left), row_fields(right)) {
            return self.bind_row_comparison(&l, op, &r, ctx);
        }
        let bool_t = known(DataType::Bool);
        let cmp = |op: CmpOp| -> Result<(Expr, SqlType)> {
            let (l, r, _) = self.bind_pair(left, right, ctx, op.sql())?;
            Ok((Expr::Compare(op, Box::new(l), Box::new(r)), known(DataType::Bool)))
        };
        match op {
            B::And | B::Or => {
                let l = self.bind_condition(left, ctx)?;
                let r = self.bind_condition(right, ctx)?;
                let e = if matches!(op, B::And) {
                    Expr::And(Box::new(l), Box::new(r))
                } else {
                    Expr::Or(Box::new(l), Box::new(r))
                };
                Ok((e, bool_t))
            }
            B::Eq => cmp(CmpOp::Eq),
            B::NotEq => cmp(CmpOp::NotEq),
            B::Lt => cmp(CmpOp::Lt),
            B::LtEq => cmp(CmpOp::LtEq),
            B::Gt => cmp(CmpOp::Gt),
            B::GtEq => cmp(CmpOp::GtEq),
            B::Plus | B::Minus | B::Multiply | B::Divide | B::Modulo => {
                let bop = match op {
                    B::Plus => BinOp::Add,
                    B::Minus => BinOp::Sub,
                    B::Multiply => BinOp::Mul,
                    B::Divide => BinOp::Div,
                    _ => BinOp::Mod,
                };
                self.bind_arith(bop, left, right, ctx)
            }
            B::PGExp => {
                let (l, lt) = self.bind_expr(left, ctx)?;
                let (r, rt) = self.bind_expr(right, ctx)?;
                let numeric =
                    [&lt, &rt].iter().any(|t| matches!(t, SqlType::Known(DataType::Numeric(_))));
                if numeric {
                    let n = DataType::Numeric(None);
                    return Ok((
                        Expr::Binary(
                            BinOp::Pow,
                            Box::new(self.coerce(l, &lt, &n)?),
                            Box::new(self.coerce(r, &rt, &n)?),
                        ),
                        known(n),
                    ));
                }
                self.call_scalar("power", vec![(l, lt), (r, rt)])
            }
            B::StringConcat => self.bind_concat(left, right, ctx),
            B::PGStartsWith => {
                let l = self.bind_expr(left, ctx)?;
                let r = self.bind_expr(right, ctx)?;
                self.call_scalar("starts_with", vec![l, r])
            }
            B::BitwiseAnd
            | B::BitwiseOr
            | B::PGBitwiseXor
            | B::PGBitwiseShiftLeft
            | B::PGBitwiseShiftRight => {
                let (l, lt) = self.bind_expr(left, ctx)?;
                let (r, rt) = self.bind_expr(right, ctx)?;
                // On addresses: containment (`<<`, `>>`) and bitwise AND / OR.
                let network = match op {
                    B::PGBitwiseShiftLeft => Some("network_sub"),
                    B::PGBitwiseShiftRight => Some("network_sup"),
                    B::BitwiseAnd => Some("inetand"),
                    B::BitwiseOr => Some("inetor"),
                    _ => None,
                };
                if let Some(network) = network
                    && (is_network(&lt) || is_network(&rt))
                {
                    return self.call_scalar(network, vec![(l, lt), (r, rt)]);
                }
                let bop = match op {
                    B::BitwiseAnd => BinOp::BitAnd,
                    B::BitwiseOr => BinOp::BitOr,
                    B::PGBitwiseXor => BinOp::BitXor,
                    B::PGBitwiseShiftLeft => BinOp::ShiftLeft,
                    _ => BinOp::ShiftRight,
                };
                let (l, r, t) = self.coerce_pair(l, lt, r, rt, "bitwise operator")?;
                Ok((Expr::Binary(bop, Box::new(l), Box::new(r)), known(t)))
            }
            B::PGRegexMatch | B::PGRegexIMatch | B::PGRegexNotMatch | B::PGRegexNotIMatch => {
                let (x, xt) = self.bind_expr(left, ctx)?;
                let (p, pt) = self.bind_expr(right, ctx)?;
                let e = Expr::Regex {
                    expr: Box::new(self.coerce(x, &xt, &DataType::Text)?),
                    pattern: Box::new(self.coerce(p, &pt, &DataType::Text)?),
                    case_insensitive: matches!(op, B::PGRegexIMatch | B::PGRegexNotIMatch),
                    negated: matches!(op, B::PGRegexNotMatch | B::PGRegexNotIMatch),
                };
                Ok((e, bool_t))
            }
            B::PGLikeMatch | B::PGILikeMatch | B::PGNotLikeMatch | B::PGNotILikeMatch => {
                let (x, p, escape) = self.bind_pattern(left, right, None, ctx)?;
                let e = Expr::Like {
                    expr: Box::new(x),
                    pattern: Box::new(p),
                    escape,
                    case_insensitive: matches!(op, B::PGILikeMatch | B::PGNotILikeMatch),
                    negated: matches!(op, B::PGNotLikeMatch | B::PGNotILikeMatch),
                };
                Ok((e, bool_t))
            }
            B::Arrow | B::LongArrow | B::HashArrow | B::HashLongArrow => {
                self.bind_json_access(left, op, right, ctx)
            }
            B::AtArrow | B::ArrowAt => {
                let (l, lt) = self.bind_expr(left, ctx)?;
                let (r, rt) = self.bind_expr(right, ctx)?;
                let (l, r) = if matches!(lt, SqlType::Known(DataType::Array(_)))
                    || matches!(rt, SqlType::Known(DataType::Array(_)))
                {
                    let t = self.unify(&[lt.clone(), rt.clone()], "operator")?;
                    (self.coerce(l, &lt, &t)?, self.coerce(r, &rt, &t)?)
                } else {
                    (self.coerce(l, &lt, &DataType::Jsonb)?, self.coerce(r, &rt, &DataType::Jsonb)?)
                };
                let bop =
                    if matches!(op, B::AtArrow) { BinOp::Contains } else { BinOp::ContainedBy };
                Ok((Expr::Binary(bop, Box::new(l), Box::new(r)), bool_t))
            }
            B::AtQuestion | B::AtAt => {
                let (l, lt) = self.bind_expr(left, ctx)?;
                let (r, rt) = self.bind_expr(right, ctx)?;
                // `@@` is a text search match unless a side is jsonb (a jsonpath match).
                let jsonb =
                    |t: &SqlType| matches!(t, SqlType::Known(DataType::Jsonb | DataType::Json));
                if matches!(op, B::AtAt) && !jsonb(&lt) && !jsonb(&rt) {
                    return self.call_scalar("oxibase_ts_match", vec![(l, lt), (r, rt)]);
                }
                let name = if matches!(op, B::AtQuestion) {
                    "jsonb_path_exists_opr"
                } else {
                    "jsonb_path_match_opr"
                };
                self.call_scalar(name, vec![(l, lt), (r, rt)])
            }
            B::Question | B::QuestionPipe | B::QuestionAnd => {
                let (l, lt) = self.bind_expr(left, ctx)?;
                let (r, rt) = self.bind_expr(right, ctx)?;
                if !matches!(op, B::Question) {
                    let array = DataType::Array(Box::new(DataType::Text));
                    let bop = if matches!(op, B::QuestionPipe) {
                        BinOp::JsonExistsAny
                    } else {
                        BinOp::JsonExistsAll
                    };
                    return Ok((
                        Expr::Binary(
                            bop,
                            Box::new(self.coerce(l, &lt, &DataType::Jsonb)?),
                            Box::new(self.coerce(r, &rt, &array)?),
                        ),
                        bool_t,
                    ));
                }
                Ok((
                    Expr::Binary(
                        BinOp::JsonExists,
                        Box::new(self.coerce(l, &lt, &DataType::Jsonb)?),
                        Box::new(self.coerce(r, &rt, &DataType::Text)?),
                    ),
                    bool_t,
                ))
            }
            B::PGOverlap => {
                let (l, lt) = self.bind_expr(left, ctx)?;
                let (r, rt) = self.bind_expr(right, ctx)?;
                if is_tsquery(&lt) || is_tsquery(&rt) {
                    return self.call_scalar("oxibase_tsquery_and", vec![(l, lt), (r, rt)]);
                }
                if is_network(&lt) || is_network(&rt) {
                    return self.call_scalar("network_overlap", vec![(l, lt), (r, rt)]);
                }
                let (l, r, _) = self.coerce_pair(l, lt, r, rt, "&&")?;
                Ok((Expr::Binary(BinOp::Overlap, Box::new(l), Box::new(r)), bool_t))
            }
            other => Err(errinput!(UNDEFINED_FUNCTION, "operator does not exist: {other}")),
        }
    }

    fn bind_json_access(
        &self,
        left: &ast::Expr,
        op: &ast::BinaryOperator,
        right: &ast::Expr,
        ctx: &ExprCtx,
    ) -> Result<(Expr, SqlType)> {
        use ast::BinaryOperator as B;
        let (doc, dt) = self.bind_expr(left, ctx)?;
        let doc_type = match dt.resolve() {
            DataType::Json => DataType::Json,
            _ => DataType::Jsonb,
        };
        let doc = self.coerce(doc, &dt, &doc_type)?;
        let (key, kt) = self.bind_expr(right, ctx)?;
        let path = matches!(op, B::HashArrow | B::HashLongArrow);
        let key = match (&kt, path) {
            (_, true) => self.coerce(key, &kt, &DataType::Array(Box::new(DataType::Text)))?,
            (SqlType::Known(t), false) if crate::types::category(t) == 'N' => {
                self.coerce(key, &kt, &DataType::Int8)?
            }
            _ => self.coerce(key, &kt, &DataType::Text)?,
        };
        let text_result = matches!(op, B::LongArrow | B::HashLongArrow);
        let bop = match (path, text_result) {
            (false, false) => BinOp::JsonGet,
            (false, true) => BinOp::JsonGetText,
            (true, false) => BinOp::JsonPath,
            (true, true) => BinOp::JsonPathText,
        };
        let ty = if text_result { DataType::Text } else { doc_type };
        Ok((Expr::Binary(bop, Box::new(doc), Box::new(key)), known(ty)))
    }

    /// Binds both operands and coerces them to their common type.
    pub(super) fn bind_pair(
        &self,
        left: &ast::Expr,
        right: &ast::Expr,
        ctx: &ExprCtx,
        what: &str,
    ) -> Result<(Expr, Expr, DataType)> {
        let (l, lt) = self.bind_expr(left, ctx)?;
        let (r, rt) = self.bind_expr(right, ctx)?;
        self.coerce_pair(l, lt, r, rt, what)
    }

    /// Coerces two operands to a common type. A constant compared with a column is cast to
    /// the column's type when that loses nothing, so index lookups stay possible.
    pub(super) fn coerce_pair(
        &self,
        l: Expr,
        lt: SqlType,
        r: Expr,
        rt: SqlType,
        what: &str,
    ) -> Result<(Expr, Expr, DataType)> {
        if let (SqlType::Known(a), SqlType::Known(b)) = (&lt, &rt)
            && a != b
        {
            if let Some(lossless) = lossless_constant(&r, a) {
                return Ok((l, lossless, a.clone()));
            }
            if let Some(lossless) = lossless_constant(&l, b) {
                return Ok((lossless, r, b.clone()));
            }
        }
        let ty = match (&lt, &rt) {
            (SqlType::Unknown, SqlType::Unknown) => DataType::Text,
            // A literal compared with a `varchar(3)` column is read as `varchar`: as
            // PostgreSQL's operators, none truncates or rounds it first.
            (SqlType::Known(t), SqlType::Unknown) | (SqlType::Unknown, SqlType::Known(t)) => {
                t.without_modifier()
            }
            (SqlType::Known(a), SqlType::Known(b)) => common_type(a, b).ok_or_else(|| {
                errinput!(UNDEFINED_FUNCTION, "operator does not exist: {} {what} {}", a.name(), b.name())
                    .with_hint("No operator matches the given name and argument types. You might need to add explicit type casts.")
            })?,
        };
        Ok((self.coerce(l, &lt, &ty)?, self.coerce(r, &rt, &ty)?, ty))
    }

    fn bind_arith(
        &self,
        op: BinOp,
        left: &ast::Expr,
        right: &ast::Expr,
        ctx: &ExprCtx,
    ) -> Result<(Expr, SqlType)> {
        let (l, lt) = self.bind_expr(left, ctx)?;
        let (r, rt) = self.bind_expr(right, ctx)?;
        // Addresses move by integers; two addresses subtract to their distance.
        if is_network(&lt) || is_network(&rt) {
            return match op {
                BinOp::Add if is_network(&lt) => self.call_scalar("inetpl", vec![(l, lt), (r, rt)]),
                BinOp::Add => self.call_scalar("inetpl", vec![(r, rt), (l, lt)]),
                BinOp::Sub if is_network(&rt) => self.call_scalar("inetmi", vec![(l, lt), (r, rt)]),
                BinOp::Sub => self.call_scalar("inetmi_int8", vec![(l, lt), (r, rt)]),
                _ => Err(errinput!(
                    UNDEFINED_FUNCTION,
                    "operator does not exist: {} {} {}",
                    lt.resolve().name(),
                    op.sql(),
                    rt.resolve().name()
                )),
            };
        }
        use DataType::*;
        let (a, b) = (lt.clone(), rt.clone());
        // Unknown operands take the other side's type, as PostgreSQL resolves them.
        let (a, b) = match (a, b) {
            (SqlType::Unknown, SqlType::Unknown) => (known(Numeric(None)), known(Numeric(None))),
            (SqlType::Unknown, SqlType::Known(t)) => {
                (known(unknown_partner(&t, op, false)), known(t))
            }
            (SqlType::Known(t), SqlType::Unknown) => {
                let u = unknown_partner(&t, op, true);
                (known(t), known(u))
            }
            pair => pair,
        };
        let (SqlType::Known(a), SqlType::Known(b)) = (a, b) else {
            return Err(unreachable_types());
        };
        let numeric = |t: &DataType| crate::types::category(t) == 'N';
        let result = match (op, &a, &b) {
            (_, x, y) if numeric(x) && numeric(y) => {
                // real with anything but real is double precision arithmetic in PostgreSQL
                // (the float48 operators; float8 is the category's preferred type).
                let t = match (x, y) {
                    (Float4, Float4) => Float4,
                    (Float4, _) | (_, Float4) => Float8,
                    _ => common_type(x, y).unwrap_or(Float8),
                };
                return Ok((
                    Expr::Binary(
                        op,
                        Box::new(self.coerce(l, &lt, &t)?),
                        Box::new(self.coerce(r, &rt, &t)?),
                    ),
                    known(t),
                ));
            }
            (BinOp::Add, Date, Int2 | Int4 | Int8)
            | (BinOp::Add, Int2 | Int4 | Int8, Date)
            | (BinOp::Sub, Date, Int2 | Int4 | Int8) => Date,
            (BinOp::Sub, Date, Date) => Int4,
            (BinOp::Add | BinOp::Sub, Date, Interval(_))
            | (BinOp::Add, Interval(_), Date)
            | (BinOp::Add, Date, Time(_))
            | (BinOp::Add, Time(_), Date) => Timestamp(None),
            (BinOp::Add | BinOp::Sub, Timestamp(_), Interval(_))
            | (BinOp::Add, Interval(_), Timestamp(_)) => Timestamp(None),
            (BinOp::Add | BinOp::Sub, TimestampTz(_), Interval(_))
            | (BinOp::Add, Interval(_), TimestampTz(_)) => TimestampTz(None),
            (BinOp::Sub, Timestamp(_), Timestamp(_))
            | (BinOp::Sub, TimestampTz(_), TimestampTz(_)) => Interval(None),
            (BinOp::Sub, Timestamp(_), TimestampTz(_))
            | (BinOp::Sub, TimestampTz(_), Timestamp(_)) => {
                let l = self.coerce(l, &lt, &TimestampTz(None))?;
                let r = self.coerce(r, &rt, &TimestampTz(None))?;
                return Ok((Expr::Binary(op, Box::new(l), Box::new(r)), known(Interval(None))));
            }
            (BinOp::Sub, Date, Timestamp(_)) | (BinOp::Sub, Timestamp(_), Date) => Interval(None),
            (BinOp::Add | BinOp::Sub, Time(_), Interval(_))
            | (BinOp::Add, Interval(_), Time(_)) => Time(None),
            (BinOp::Sub, Time(_), Time(_)) => Interval(None),
            (BinOp::Add | BinOp::Sub, Interval(_), Interval(_)) => Interval(None),
            (BinOp::Mul, Interval(_), n)
            | (BinOp::Mul, n, Interval(_))
            | (BinOp::Div, Interval(_), n)
                if numeric(n) =>
            {
                Interval(None)
            }
            (BinOp::Sub, Jsonb, Text | Int4 | Int8) => {
                let r = self.coerce(r, &rt, &b)?;
                let l = self.coerce(l, &lt, &Jsonb)?;
                let f = json_delete_function();
                return Ok((Expr::Call(f, vec![l, r]), known(Jsonb)));
            }
            _ => {
                return Err(errinput!(UNDEFINED_FUNCTION, "operator does not exist: {} {} {}", a.name(), op.sql(), b.name())
                    .with_hint("No operator matches the given name and argument types. You might need to add explicit type casts."));
            }
        };
        let l = self.coerce(l, &lt, &a)?;
        let r = self.coerce(r, &rt, &b)?;
        Ok((Expr::Binary(op, Box::new(l), Box::new(r)), known(result)))
    }

    fn bind_concat(
        &self,
        left: &ast::Expr,
        right: &ast::Expr,
        ctx: &ExprCtx,
    ) -> Result<(Expr, SqlType)> {
        let (l, lt) = self.bind_expr(left, ctx)?;
        let (r, rt) = self.bind_expr(right, ctx)?;
        // tsvector || tsvector concatenates documents; tsquery || tsquery ORs queries.
        let ts = |t: &SqlType, ty: DataType| matches!(t, SqlType::Known(k) if *k == ty);
        if ts(&lt, DataType::TsVector) || ts(&rt, DataType::TsVector) {
            return self.call_scalar("oxibase_tsvector_concat", vec![(l, lt), (r, rt)]);
        }
        if is_tsquery(&lt) || is_tsquery(&rt) {
            return self.call_scalar("oxibase_tsquery_or", vec![(l, lt), (r, rt)]);
        }
        let ty = match (&lt, &rt) {
            (SqlType::Known(a @ DataType::Array(e)), other)
            | (other, SqlType::Known(a @ DataType::Array(e))) => match other {
                SqlType::Known(DataType::Array(_)) => {
                    let t = self.unify(&[lt.clone(), rt.clone()], "||")?;
                    return Ok((
                        Expr::Binary(
                            BinOp::Concat,
                            Box::new(self.coerce(l, &lt, &t)?),
                            Box::new(self.coerce(r, &rt, &t)?),
                        ),
                        known(t),
                    ));
                }
                _ => {
                    let (l, r) = if matches!(lt, SqlType::Known(DataType::Array(_))) {
                        (l, self.coerce(r, &rt, e)?)
                    } else {
                        (self.coerce(l, &lt, e)?, r)
                    };
                    return Ok((
                        Expr::Binary(BinOp::Concat, Box::new(l), Box::new(r)),
                        known(a.clone()),
                    ));
                }
            },
            (SqlType::Known(DataType::Bytea), SqlType::Known(DataType::Bytea)) => DataType::Bytea,
            (
                SqlType::Known(DataType::Jsonb),
                SqlType::Known(DataType::Jsonb) | SqlType::Unknown,
            )
            | (SqlType::Unknown, SqlType::Known(DataType::Jsonb)) => {
                let (l, r) = (
                    self.coerce(l, &lt, &DataType::Jsonb)?,
                    self.coerce(r, &rt, &DataType::Jsonb)?,
                );
                return Ok((
                    Expr::Binary(BinOp::Concat, Box::new(l), Box::new(r)),
                    known(DataType::Jsonb),
                ));
            }
            _ => DataType::Text,
        };
        let text = |e: Expr, t: &SqlType| -> Result<Expr> {
            match t {
                SqlType::Unknown | SqlType::Known(DataType::Char(_)) => {
                    self.coerce(e, t, &DataType::Text)
                }
                _ => Ok(e),
            }
        };
        Ok((
            Expr::Binary(BinOp::Concat, Box::new(text(l, &lt)?), Box::new(text(r, &rt)?)),
            known(ty),
        ))
    }

    fn bind_pattern(
        &self,
        expr: &ast::Expr,
        pattern: &ast::Expr,
        escape: Option<&ast::Expr>,
        ctx: &ExprCtx,
    ) -> Result<(Expr, Expr, Option<Box<Expr>>)> {
        let (x, xt) = self.bind_expr(expr, ctx)?;
        let (p, pt) = self.bind_expr(pattern, ctx)?;
        let escape = match escape {
            Some(e) => {
                let (e, et) = self.bind_expr(e, ctx)?;
                Some(Box::new(self.coerce(e, &et, &DataType::Text)?))
            }
            None => None,
        };
        let x = self.coerce(x, &xt, &DataType::Text).map_err(|_| {
            errinput!(
                UNDEFINED_FUNCTION,
                "operator does not exist: {} ~~ unknown",
                xt.resolve().name()
            )
        })?;
        Ok((x, self.coerce(p, &pt, &DataType::Text)?, escape))
    }

    fn bind_in_list(
        &self,
        expr: &ast::Expr,
        list: &[ast::Expr],
        negated: bool,
        ctx: &ExprCtx,
    ) -> Result<(Expr, SqlType)> {
        // `(a, b) IN ((1, 2), (3, 4))`: the row equals one of the rows (an OR of row
        // equalities, NULLs and all, as PostgreSQL expands it).
        if let Some(fields) = row_fields(expr) {
            let mut any: Option<Expr> = None;
            for item in list {
                let Some(item) = row_fields(item) else {
                    return Err(errinput!(SYNTAX_ERROR, "the IN list of a row needs rows: {item}"));
                };
                let (eq, _) =
                    self.bind_row_comparison(&fields, &ast::BinaryOperator::Eq, &item, ctx)?;
                any = Some(match any {
                    None => eq,
                    Some(prev) => Expr::Or(Box::new(prev), Box::new(eq)),
                });
            }
            let any = any.ok_or_else(|| errinput!(SYNTAX_ERROR, "an IN list needs items"))?;
            let e = if negated { Expr::Not(Box::new(any)) } else { any };
            return Ok((e, known(DataType::Bool)));
        }
        let (x, xt) = self.bind_expr(expr, ctx)?;
        let items: Vec<(Expr, SqlType)> =
            list.iter().map(|i| self.bind_expr(i, ctx)).collect::<Result<_>>()?;
        let mut types = vec![xt.clone()];
        types.extend(items.iter().map(|(_, t)| t.clone()));
        // Keep the tested column's type when every item converts losslessly (for indexes).
        let ty = match &xt {
            SqlType::Known(t)
                if items.iter().all(|(e, it)| {
                    matches!(it, SqlType::Unknown) || it == &xt || lossless_constant(e, t).is_some()
                }) =>
            {
                t.without_modifier()
            }
            _ => self.unify(&types, "IN")?,
        };
        let list = items
            .into_iter()
            .map(|(e, t)| lossless_constant(&e, &ty).map_or_else(|| self.coerce(e, &t, &ty), Ok))
            .collect::<Result<_>>()?;
        Ok((
            Expr::InList { expr: Box::new(self.coerce(x, &xt, &ty)?), list, negated },
            known(DataType::Bool),
        ))
    }

    fn bind_any_all(
        &self,
        left: &ast::Expr,
        op: &ast::BinaryOperator,
        right: &ast::Expr,
        all: bool,
        ctx: &ExprCtx,
    ) -> Result<(Expr, SqlType)> {
        let op = match op {
            ast::BinaryOperator::Eq => CmpOp::Eq,
            ast::BinaryOperator::NotEq => CmpOp::NotEq,
            ast::BinaryOperator::Lt => CmpOp::Lt,
            ast::BinaryOperator::LtEq => CmpOp::LtEq,
            ast::BinaryOperator::Gt => CmpOp::Gt,
            ast::BinaryOperator::GtEq => CmpOp::GtEq,
            other => {
                return Err(errinput!(
                    FEATURE_NOT_SUPPORTED,
                    "operator {other} with ANY/ALL is not supported"
                ));
            }
        };
        let (x, xt) = self.bind_expr(left, ctx)?;
        if let ast::Expr::Subquery(query) = strip_nested(right) {
            let (plan, correlated) = self.bind_subquery(query, ctx)?;
            let (x, plan) = self.unify_subquery_column(x, &xt, plan)?;
            let kind = if all {
                SubqueryKind::All { expr: Box::new(x), op }
            } else {
                SubqueryKind::Any { expr: Box::new(x), op }
            };
            return Ok((
                Expr::Subquery { plan: Arc::new(plan), kind, correlated, id: self.next_id() },
                known(DataType::Bool),
            ));
        }
        let (arr, at) = self.bind_expr(right, ctx)?;
        let at = int2vector_as_array(at);
        let arr_type = match (&at, &xt) {
            (SqlType::Known(t @ DataType::Array(_)), _) => t.clone(),
            (SqlType::Unknown, SqlType::Known(t)) => DataType::Array(Box::new(t.clone())),
            _ => {
                return Err(errinput!(
                    DATATYPE_MISMATCH,
                    "op ANY/ALL (array) requires array on right side"
                ));
            }
        };
        // Different element and operand types compare in their common type, as PostgreSQL
        // resolves `bigint = ANY (ARRAY[1, 2])` (an int4 array) with a cross-type operator.
        if let (DataType::Array(element), SqlType::Known(t)) = (&arr_type, &xt)
            && **element != *t
            && let Some(common) = common_type(t, element)
        {
            let target = DataType::Array(Box::new(common.clone()));
            let arr = if **element == common { arr } else { Expr::Cast(Box::new(arr), target) };
            let x = self.coerce(x, &xt, &common)?;
            return Ok((
                Expr::ArrayCompare { expr: Box::new(x), op, array: Box::new(arr), all },
                known(DataType::Bool),
            ));
        }
        let arr = self.coerce(arr, &at, &arr_type)?;
        let x = self.coerce_to_element(x, &xt, &known(arr_type))?;
        Ok((
            Expr::ArrayCompare { expr: Box::new(x), op, array: Box::new(arr), all },
            known(DataType::Bool),
        ))
    }

    fn coerce_to_element(&self, x: Expr, xt: &SqlType, array: &SqlType) -> Result<Expr> {
        match array {
            SqlType::Known(DataType::Array(e)) => self.coerce(x, xt, e),
            _ => Ok(x),
        }
    }

    /// Makes a subquery's single column comparable with `x`.
    fn unify_subquery_column(
        &self,
        x: Expr,
        xt: &SqlType,
        plan: crate::plan::Plan,
    ) -> Result<(Expr, crate::plan::Plan)> {
        if plan.columns.len() != 1 {
            return Err(errinput!(SYNTAX_ERROR, "subquery has too many columns"));
        }
        self.unify_subquery_column_at(x, xt, plan, 0)
    }

    /// Gives `x` and column `at` of the subquery one type (casting the column in a
    /// projection when it is `x`'s type that wins).
    fn unify_subquery_column_at(
        &self,
        x: Expr,
        xt: &SqlType,
        plan: crate::plan::Plan,
        at: usize,
    ) -> Result<(Expr, crate::plan::Plan)> {
        let ct = plan.columns[at].data_type.clone();
        let ty = match xt {
            SqlType::Unknown => ct.without_modifier(),
            SqlType::Known(t) => common_type(t, &ct).ok_or_else(|| {
                errinput!(
                    UNDEFINED_FUNCTION,
                    "operator does not exist: {} = {}",
                    t.name(),
                    ct.name()
                )
            })?,
        };
        let x = self.coerce(x, xt, &ty)?;
        if ty == ct {
            return Ok((x, plan));
        }
        let mut columns = plan.columns.clone();
        columns[at].data_type = ty.clone();
        let exprs = (0..columns.len())
            .map(|i| {
                let column = Expr::Column(i);
                if i == at { Expr::Cast(Box::new(column), ty.clone()) } else { column }
            })
            .collect();
        let projected = crate::plan::Plan::new(
            crate::plan::Node::Project { input: Box::new(plan), exprs },
            columns,
        );
        Ok((x, projected))
    }

    fn bind_case(
        &self,
        operand: Option<&ast::Expr>,
        conditions: &[ast::CaseWhen],
        otherwise: Option<&ast::Expr>,
        ctx: &ExprCtx,
    ) -> Result<(Expr, SqlType)> {
        let results: Vec<(Expr, SqlType)> =
            conditions.iter().map(|c| self.bind_expr(&c.result, ctx)).collect::<Result<_>>()?;
        let otherwise = otherwise.map(|e| self.bind_expr(e, ctx)).transpose()?;
        let mut types: Vec<SqlType> = results.iter().map(|(_, t)| t.clone()).collect();
        types.extend(otherwise.iter().map(|(_, t)| t.clone()));
        let ty = self.unify(&types, "CASE")?;
        let whens = match operand {
            Some(operand) => {
                let (o, ot) = self.bind_expr(operand, ctx)?;
                let mut whens = Vec::new();
                for (c, (r, rt)) in conditions.iter().zip(results) {
                    let (w, wt) = self.bind_expr(&c.condition, ctx)?;
                    let (o2, w, _) = self.coerce_pair(o.clone(), ot.clone(), w, wt, "=")?;
                    whens.push((
                        Expr::Compare(CmpOp::Eq, Box::new(o2), Box::new(w)),
                        self.coerce(r, &rt, &ty)?,
                    ));
                }
                whens
            }
            None => conditions
                .iter()
                .zip(results)
                .map(|(c, (r, rt))| {
                    Ok((
                        self.bind_condition(
                            &c.condition,
                            &ExprCtx { clause: "CASE/WHEN", ..*ctx },
                        )?,
                        self.coerce(r, &rt, &ty)?,
                    ))
                })
                .collect::<Result<_>>()?,
        };
        let otherwise = otherwise.map(|(e, t)| self.coerce(e, &t, &ty)).transpose()?.map(Box::new);
        Ok((Expr::Case { operand: None, whens, otherwise }, known(ty)))
    }

    fn bind_array(&self, elements: &[ast::Expr], ctx: &ExprCtx) -> Result<(Expr, SqlType)> {
        let items: Vec<(Expr, SqlType)> =
            elements.iter().map(|e| self.bind_expr(e, ctx)).collect::<Result<_>>()?;
        let types: Vec<SqlType> = items.iter().map(|(_, t)| t.clone()).collect();
        let element = self.unify(&types, "ARRAY")?;
        if matches!(element, DataType::Array(_)) {
            return Err(errinput!(
                FEATURE_NOT_SUPPORTED,
                "multidimensional arrays are not supported"
            ));
        }
        let items =
            items.into_iter().map(|(e, t)| self.coerce(e, &t, &element)).collect::<Result<_>>()?;
        Ok((Expr::Array(items, element.clone()), known(DataType::Array(Box::new(element)))))
    }

    /// `ROW(a, b)` or `(a, b)`: a record whose fields are named f1, f2, ... and typed as
    /// their expressions (an unknown literal as text).
    fn bind_row(&self, items: &[ast::Expr], ctx: &ExprCtx) -> Result<(Expr, SqlType)> {
        let mut fields = Vec::with_capacity(items.len());
        let mut types = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let (e, t) = self.bind_expr(item, ctx)?;
            let ty = t.resolve();
            fields.push(self.coerce(e, &t, &ty)?);
            types.push((format!("f{}", i + 1), ty));
        }
        let ty = DataType::Record(Arc::new(oxibase_common::RecordType::anonymous(types)));
        // A row nested deeper than a row holds could not be printed either (its text
        // doubles its quotes per level): refused where it is made.
        let depth = oxibase_common::row::nesting_depth(&ty);
        if depth > oxibase_common::row::MAX_NESTING {
            return Err(errinput!(
                PROGRAM_LIMIT_EXCEEDED,
                "row constructors nested {depth} deep; at most {}",
                oxibase_common::row::MAX_NESTING
            ));
        }
        Ok((Expr::Row(fields, crate::plan::RowNull::Never), known(ty)))
    }

    /// `t` or `t.*` as a value: the row of relation `t` (of this query or an enclosing one)
    /// as a record of its visible columns, NULL where an outer join NULL-extended it (known
    /// by its primary key being NULL). `None` when no relation has that name.
    fn whole_row(&self, table: &str, ctx: &ExprCtx) -> Result<Option<(Expr, SqlType)>> {
        let agg = ctx.agg.map(|a| a.borrow());
        let local = agg.as_ref().map_or(ctx.scope, |a| &a.input);
        let outer = self.outer.borrow();
        let Some(scope) =
            std::iter::once(local).chain(outer.iter().rev()).find(|s| s.has_table(table))
        else {
            return Ok(None);
        };
        let positions = scope.table_columns(table);
        let key = scope
            .keys
            .iter()
            .find(|k| positions.first().is_some_and(|p| k.columns.contains(p)))
            .and_then(|k| k.key.first())
            .and_then(|k| positions.iter().position(|p| p == k));
        let null = match key {
            Some(k) => crate::plan::RowNull::Key(k),
            None if scope.nullable.iter().any(|t| t == table) => crate::plan::RowNull::AllNull,
            None => crate::plan::RowNull::Never,
        };
        let names: Vec<String> = positions.iter().map(|&i| scope.columns[i].name.clone()).collect();
        drop(outer);
        drop(agg);
        let qualifier = ast::Ident::with_quote('"', table);
        let mut fields = Vec::with_capacity(names.len());
        let mut types = Vec::with_capacity(names.len());
        for name in names {
            let column = ast::Expr::CompoundIdentifier(vec![
                qualifier.clone(),
                ast::Ident::with_quote('"', name.clone()),
            ]);
            let (e, t) = self.bind_column(&column, ctx)?;
            types.push((name, t.resolve()));
            fields.push(e);
        }
        let ty = DataType::Record(Arc::new(oxibase_common::RecordType::anonymous(types)));
        Ok(Some((Expr::Row(fields, null), known(ty))))
    }

    fn bind_access(
        &self,
        root: &ast::Expr,
        chain: &[ast::AccessExpr],
        ctx: &ExprCtx,
    ) -> Result<(Expr, SqlType)> {
        // `t.col[1]` parses as `t` followed by `.col` and `[1]`: the leading field names
        // qualify a column.
        let dots = chain
            .iter()
            .take_while(|a| matches!(a, ast::AccessExpr::Dot(ast::Expr::Identifier(_))))
            .count();
        let (mut expr, mut ty) = if dots == 0 {
            self.bind_expr(root, ctx)?
        } else {
            match qualified_access(root, &chain[..dots]) {
                Some(column) => self.bind_expr(&column, ctx)?,
                // `(r).field`: field selection from a record.
                None => {
                    let mut bound = self.bind_expr(root, ctx)?;
                    // A relation's row names its relation in errors, as a column would.
                    let mut what = match (strip_nested(root), &bound.0) {
                        (ast::Expr::Identifier(id), Expr::Row(..)) => ident(id),
                        _ => String::new(),
                    };
                    for dot in &chain[..dots] {
                        if let ast::AccessExpr::Dot(ast::Expr::Identifier(field)) = dot {
                            bound = select_named_field(bound, &ident(field), &what)?;
                            what.clear();
                        }
                    }
                    bound
                }
            }
        };
        for access in &chain[dots..] {
            match access {
                ast::AccessExpr::Subscript(ast::Subscript::Index { index }) => {
                    let (i, it) = self.bind_expr(index, ctx)?;
                    let mut i = self.coerce(i, &it, &DataType::Int8)?;
                    // A name is an array of its characters, counted from 0 (pg_dump's
                    // `typname[0] = '_'`): the character as a "char".
                    if ty.resolve() == DataType::Name {
                        let one = Expr::Literal(Value::Int8(1));
                        let from = Expr::Binary(
                            crate::plan::BinOp::Add,
                            Box::new(i),
                            Box::new(one.clone()),
                        );
                        let (x, _) = self.call_scalar(
                            "substr",
                            vec![
                                (expr, known(DataType::Text)),
                                (from, known(DataType::Int8)),
                                (one, known(DataType::Int8)),
                            ],
                        )?;
                        expr = x;
                        ty = known(DataType::InternalChar);
                        continue;
                    }
                    // int2vector and oidvector subscripts count from 0.
                    if let Some(element) = ty.resolve().vector_element() {
                        i = Expr::Binary(
                            crate::plan::BinOp::Add,
                            Box::new(i),
                            Box::new(Expr::Literal(Value::Int8(1))),
                        );
                        ty = known(DataType::Array(Box::new(element)));
                    }
                    let element = match ty.resolve() {
                        DataType::Array(e) => *e,
                        other => {
                            return Err(errinput!(
                                DATATYPE_MISMATCH,
                                "cannot subscript type {} because it is not an array",
                                other.name()
                            ));
                        }
                    };
                    expr = Expr::Subscript(Box::new(expr), Box::new(i));
                    ty = known(element);
                }
                ast::AccessExpr::Subscript(ast::Subscript::Slice {
                    lower_bound,
                    upper_bound,
                    stride: None,
                }) => {
                    let bound = |b: &Option<ast::Expr>, open: i64| match b {
                        Some(b) => self.bind_expr(b, ctx),
                        None => Ok((Expr::Literal(Value::Int8(open)), known(DataType::Int8))),
                    };
                    let lo = bound(lower_bound, i64::MIN)?;
                    let hi = bound(upper_bound, i64::MAX)?;
                    (expr, ty) = self.call_scalar("array_slice", vec![(expr, ty), lo, hi])?;
                }
                other => {
                    return Err(errinput!(
                        FEATURE_NOT_SUPPORTED,
                        "access {other} is not supported"
                    ));
                }
            }
        }
        Ok((expr, ty))
    }

    /// Binds a subquery with the current scope as its outer scope. Returns the plan and
    /// whether it refers to the enclosing query.
    pub(super) fn bind_subquery(
        &self,
        query: &ast::Query,
        ctx: &ExprCtx,
    ) -> Result<(crate::plan::Plan, bool)> {
        let scope = match ctx.agg {
            Some(agg) => aggregated_scope(&agg.borrow()),
            None => ctx.scope.clone(),
        };
        self.outer.borrow_mut().push(scope);
        self.correlated.borrow_mut().push(false);
        let result = self.bind_query(query);
        self.outer.borrow_mut().pop();
        let correlated = self.correlated.borrow_mut().pop().unwrap_or(false);
        Ok((result?, correlated))
    }

    /// `x::regclass`: a relation name (a literal, resolved now) becomes its oid, so it can
    /// be compared with oid columns; an oid becomes the relation's name, for display.
    fn bind_regclass(&self, expr: &ast::Expr, ctx: &ExprCtx) -> Result<(Expr, SqlType)> {
        let (x, t) = self.bind_expr(expr, ctx)?;
        match (&x, &t) {
            (Expr::Literal(Value::Text(name)), _) => {
                let (schema, rel) = split_relation_name(name, self.env.database().as_deref())?;
                if let Ok(oid) = rel.parse::<i64>() {
                    return Ok((Expr::Literal(Value::Int8(oid)), known(DataType::Int8)));
                }
                let oid = match self.env.relation_oid(schema.as_deref(), &rel)? {
                    Some(oid) => oid,
                    None => crate::system::catalog_oid(schema.as_deref(), &rel)
                        .map(i64::from)
                        .ok_or_else(|| {
                            errinput!(UNDEFINED_TABLE, "relation \"{name}\" does not exist")
                        })?,
                };
                Ok((Expr::Literal(Value::Int8(oid)), known(DataType::Int8)))
            }
            (
                _,
                SqlType::Known(DataType::Int2 | DataType::Int4 | DataType::Int8 | DataType::Oid),
            ) => {
                let x = self.coerce(x, &t, &DataType::Int8)?;
                self.call_scalar("regclass_name", vec![(x, known(DataType::Int8))])
            }
            (Expr::Literal(Value::Null), _) => {
                Ok((Expr::Literal(Value::Null), known(DataType::Int8)))
            }
            // A name computed at run time (`pg_get_serial_sequence(...)::regclass`, a
            // parameter).
            (_, SqlType::Known(DataType::Text | DataType::Varchar(_)) | SqlType::Unknown) => {
                let x = self.coerce(x, &t, &DataType::Text)?;
                self.call_scalar("oxibase_regclass_oid", vec![(x, known(DataType::Text))])
            }
            _ => Err(errinput!(
                FEATURE_NOT_SUPPORTED,
                "casting a {} expression to regclass is not supported",
                t.resolve().name()
            )),
        }
    }

    fn bind_function(&self, f: &ast::Function, ctx: &ExprCtx) -> Result<(Expr, SqlType)> {
        let name = match f.name.0.last() {
            Some(ast::ObjectNamePart::Identifier(id)) => ident(id),
            _ => return Err(errinput!(SYNTAX_ERROR, "invalid function name {}", f.name)),
        };
        // Named arguments of a stored routine go to its parameters by name.
        let stored = match has_named_args(f) && !name.eq_ignore_ascii_case("make_interval") {
            true => {
                let (schema, _) = split_name(&f.name)?;
                self.env.routine(schema.as_deref(), &name)?
            }
            false => None,
        };
        let (mut args, distinct, order_by, star) = function_args(f, stored.as_deref())?;
        // `ROW(a, b)` parses as a call.
        if name == "row"
            && f.name.0.len() == 1
            && f.over.is_none()
            && !distinct
            && !star
            && order_by.is_empty()
        {
            return self.bind_row(&args, ctx);
        }
        // Sequence functions name their sequence: `nextval('s'::regclass)` is `nextval('s')`.
        if matches!(name.as_str(), "nextval" | "currval" | "setval")
            && let Some(ast::Expr::Cast { expr, data_type, .. }) = args.first()
            && is_regclass(data_type)
        {
            args[0] = (**expr).clone();
        }
        if let Some(over) = &f.over {
            return self.bind_window_call(&name, &args, star, f.filter.as_deref(), over, ctx);
        }
        if aggregate::is_ordered_set(&name) {
            // `f(direct...) WITHIN GROUP (ORDER BY x)`: the aggregate sees x first, then the
            // direct arguments, in the order the WITHIN GROUP clause sorts x.
            let [within] = f.within_group.as_slice() else {
                return Err(errinput!(
                    WRONG_OBJECT_TYPE,
                    "WITHIN GROUP is required for ordered-set aggregate {name}"
                ));
            };
            let mut all = vec![within.expr.clone()];
            all.extend(args.iter().cloned());
            return self.bind_aggregate_call(
                &name,
                &all,
                false,
                false,
                std::slice::from_ref(within),
                f.filter.as_deref(),
                ctx,
            );
        }
        if !f.within_group.is_empty() {
            return Err(errinput!(
                WRONG_OBJECT_TYPE,
                "{name} is not an ordered-set aggregate, so it cannot have WITHIN GROUP"
            ));
        }
        if aggregate::is_aggregate(&name) {
            return self.bind_aggregate_call(
                &name,
                &args,
                star,
                distinct,
                &order_by,
                f.filter.as_deref(),
                ctx,
            );
        }
        if window::is_window_function(&name) {
            return Err(errinput!(
                WRONG_OBJECT_TYPE,
                "window function {name} requires an OVER clause"
            ));
        }
        if star {
            return Err(errinput!(
                SYNTAX_ERROR,
                "{name}(*) specified, but {name} is not an aggregate function"
            ));
        }
        if name == "array"
            && let ast::FunctionArguments::Subquery(query) = &f.args
        {
            let (plan, correlated) = self.bind_subquery(query, ctx)?;
            let ty = DataType::Array(Box::new(
                plan.columns.first().map_or(DataType::Text, |c| c.data_type.clone()),
            ));
            return Ok((
                Expr::Subquery {
                    plan: Arc::new(plan),
                    kind: SubqueryKind::Array,
                    correlated,
                    id: self.next_id(),
                },
                known(ty),
            ));
        }
        if name == "grouping" {
            return self.bind_grouping(&args, ctx);
        }
        let regclass_first = matches!(
            name.as_str(),
            "pg_relation_size"
                | "pg_table_size"
                | "pg_indexes_size"
                | "pg_total_relation_size"
                | "pg_get_viewdef"
                | "pg_get_serial_sequence"
                | "pg_partition_ancestors"
        );
        let bound: Vec<(Expr, SqlType)> = args
            .iter()
            .enumerate()
            .map(|(i, a)| {
                // These take a regclass: a relation's name in quotes names the relation.
                let quoted = matches!(a, ast::Expr::Value(v)
                    if matches!(v.value, ast::Value::SingleQuotedString(_)));
                if regclass_first && i == 0 && quoted {
                    self.bind_regclass(a, ctx)
                } else {
                    self.bind_expr(a, ctx)
                }
            })
            .collect::<Result<_>>()?;
        match name.as_str() {
            "coalesce" | "greatest" | "least" => {
                let types: Vec<SqlType> = bound.iter().map(|(_, t)| t.clone()).collect();
                let ty = self.unify(&types, &name.to_uppercase())?;
                let items = bound
                    .into_iter()
                    .map(|(e, t)| self.coerce(e, &t, &ty))
                    .collect::<Result<Vec<_>>>()?;
                let e = match name.as_str() {
                    "coalesce" => Expr::Coalesce(items),
                    n => Expr::Extreme(items, n == "greatest"),
                };
                Ok((e, known(ty)))
            }
            "nullif" => {
                let mut it = bound.into_iter();
                let (Some((a, at)), Some((b, bt)), None) = (it.next(), it.next(), it.next()) else {
                    return Err(errinput!(
                        UNDEFINED_FUNCTION,
                        "function nullif requires two arguments"
                    ));
                };
                let (a, b, ty) = self.coerce_pair(a, at, b, bt, "=")?;
                Ok((Expr::NullIf(Box::new(a), Box::new(b)), known(ty)))
            }
            "enum_first" | "enum_last" | "enum_range"
                if matches!(bound.first(), Some((_, SqlType::Known(DataType::Enum(_))))) =>
            {
                enum_function(&name, bound)
            }
            "pg_typeof" if bound.len() == 1 => {
                let name = bound[0].1.resolve().name();
                let name =
                    if bound[0].1 == SqlType::Unknown { "unknown".to_string() } else { name };
                Ok((Expr::Literal(Value::Text(name)), known(DataType::Text)))
            }
            "generate_series"
            | "unnest"
            | "json_each"
            | "jsonb_each"
            | "json_each_text"
            | "jsonb_each_text"
            | "json_array_elements"
            | "jsonb_array_elements"
            | "json_array_elements_text"
            | "jsonb_array_elements_text"
            | "json_object_keys"
            | "jsonb_object_keys"
            | "jsonb_path_query"
            | "regexp_split_to_table"
            | "regexp_matches"
            | "generate_subscripts"
            | "_pg_expandarray"
            | "pg_partition_ancestors"
            | "json_populate_record"
            | "jsonb_populate_record"
            | "json_populate_recordset"
            | "jsonb_populate_recordset"
                if ctx.srfs.is_some() =>
            {
                let Some(srfs) = ctx.srfs else { unreachable!("checked by the guard") };
                // populate_record's value is of its base's type (`null::t`).
                let base = match bound.first() {
                    Some((_, SqlType::Known(t @ DataType::Record(_))))
                        if name.contains("populate") =>
                    {
                        Some(t.clone())
                    }
                    _ => None,
                };
                let (function, args, columns) = match super::query::json_to_record(&name) {
                    Some((name, set)) => self.json_to_record(name, set, bound, None)?,
                    None => self.table_function(None, &name, bound)?,
                };
                // Several columns make a record of them, as in PostgreSQL.
                let ty = match (columns.as_slice(), base) {
                    (_, Some(base)) => base,
                    ([(_, ty)], None) => ty.clone(),
                    (fields, None) => DataType::Record(Arc::new(
                        oxibase_common::RecordType::anonymous(fields.to_vec()),
                    )),
                };
                let mut list = srfs.borrow_mut();
                list.push((function, args, ty.clone()));
                Ok((Expr::Column(SRF_MARK + list.len() - 1), known(ty)))
            }
            "generate_series"
            | "unnest"
            | "json_each"
            | "jsonb_each"
            | "json_array_elements"
            | "jsonb_array_elements"
            | "jsonb_object_keys" => Err(errinput!(
                FEATURE_NOT_SUPPORTED,
                "set-returning function {name}() is only supported in FROM"
            )
            .with_hint(format!("write SELECT ... FROM {name}(...) AS t(x)"))),
            _ => {
                let (schema, _) = split_name(&f.name)?;
                match self.stored_routine(schema.as_deref(), &name, &bound)? {
                    // A stored set-returning function in the select list: its rows, as the
                    // built-in ones above (a record of its columns where it has several).
                    Some(routine)
                        if ctx.srfs.is_some()
                            && matches!(
                                routine.returns,
                                crate::procedure::Returns::SetOf(_)
                                    | crate::procedure::Returns::Table(_)
                                    | crate::procedure::Returns::SetOfRow(..)
                            ) =>
                    {
                        let Some(srfs) = ctx.srfs else { unreachable!("checked by the guard") };
                        let ty = match routine.returns.columns(&routine.name).as_slice() {
                            [(_, ty)] => ty.clone(),
                            fields => DataType::Record(Arc::new(
                                oxibase_common::RecordType::anonymous(fields.to_vec()),
                            )),
                        };
                        let args = self.routine_args(&routine, bound)?;
                        let mut list = srfs.borrow_mut();
                        list.push((crate::plan::TableFunction::Routine(routine), args, ty.clone()));
                        Ok((Expr::Column(SRF_MARK + list.len() - 1), known(ty)))
                    }
                    Some(routine) => self.call_routine(routine, bound),
                    None => self.call_scalar(&name, bound),
                }
            }
        }
    }

    /// Calls a built-in scalar function on bound arguments.
    pub(super) fn call_scalar(
        &self,
        name: &str,
        args: Vec<(Expr, SqlType)>,
    ) -> Result<(Expr, SqlType)> {
        let mut args: Vec<(Expr, SqlType)> =
            args.into_iter().map(|(e, t)| (e, int2vector_as_array(t))).collect();
        // A record becomes JSON as an object of its fields (`row_to_json(ROW(1, 'x'))`,
        // `json_build_object('r', t)`): the binder knows the field names, the value does not.
        let jsonb = match name {
            "row_to_json" | "to_json" | "json_build_object" | "json_build_array" => Some(false),
            "to_jsonb" | "jsonb_build_object" | "jsonb_build_array" => Some(true),
            n if n == crate::functions::json::ROW_TO_JSON => Some(false),
            _ => None,
        };
        if let Some(jsonb) = jsonb {
            let mut converted = false;
            for arg in &mut args {
                if let SqlType::Known(DataType::Record(record)) = &arg.1
                    && !record.fields.is_empty()
                {
                    let record = record.clone();
                    let e = std::mem::replace(&mut arg.0, Expr::Literal(Value::Null));
                    *arg = self.record_json(e, &record, jsonb)?;
                    converted = true;
                }
            }
            if converted
                && args.len() == 1
                && matches!(name, "row_to_json" | "to_json" | "to_jsonb")
            {
                return Ok(args.remove(0));
            }
        }
        let types: Vec<SqlType> = args.iter().map(|(_, t)| t.clone()).collect();
        let resolved = scalar::resolve(name, &types)?;
        let args = args
            .into_iter()
            .zip(&resolved.arg_types)
            .map(|((e, t), p)| self.coerce(e, &t, p))
            .collect::<Result<Vec<_>>>()?;
        Ok((Expr::Call(resolved.function, args), known(resolved.return_type)))
    }

    /// A record as a JSON object of its named fields (json, or jsonb with `jsonb`).
    fn record_json(
        &self,
        e: Expr,
        record: &Arc<oxibase_common::RecordType>,
        jsonb: bool,
    ) -> Result<(Expr, SqlType)> {
        let ty = known(DataType::Record(record.clone()));
        let mut pairs = Vec::with_capacity(record.fields.len() * 2);
        for (i, (field, field_type)) in record.fields.iter().enumerate() {
            pairs.push((Expr::Literal(Value::Text(field.clone())), known(DataType::Text)));
            pairs.push(select_field((e.clone(), ty.clone()), i, field_type));
        }
        let builder =
            if jsonb { "jsonb_build_object" } else { crate::functions::json::ROW_TO_JSON };
        let (object, object_type) = self.call_scalar(builder, pairs)?;
        // The row an outer join NULL-extended is NULL, not an object of NULLs.
        let is_null = |f: &Expr| Expr::IsNull(Box::new(f.clone()), false);
        let missing = match &e {
            Expr::Row(fields, crate::plan::RowNull::Key(key)) => Some(is_null(&fields[*key])),
            Expr::Row(fields, crate::plan::RowNull::AllNull) => {
                fields.iter().map(is_null).reduce(|a, b| Expr::And(Box::new(a), Box::new(b)))
            }
            _ => None,
        };
        let object = match missing {
            Some(missing) => Expr::Case {
                operand: None,
                whens: vec![(missing, Expr::Literal(Value::Null))],
                otherwise: Some(Box::new(object)),
            },
            None => object,
        };
        Ok((object, object_type))
    }

    #[allow(clippy::too_many_arguments)]
    fn bind_aggregate_call(
        &self,
        name: &str,
        args: &[ast::Expr],
        star: bool,
        distinct: bool,
        order_by: &[ast::OrderByExpr],
        filter: Option<&ast::Expr>,
        ctx: &ExprCtx,
    ) -> Result<(Expr, SqlType)> {
        let Some(agg) = ctx.agg else {
            return Err(errinput!(
                GROUPING_ERROR,
                "aggregate functions are not allowed in {}",
                ctx.clause
            ));
        };
        let input = agg.borrow().input.clone();
        let inner = ExprCtx {
            scope: &input,
            agg: None,
            windows: None,
            srfs: None,
            clause: "aggregate function calls",
        };
        let mut bound: Vec<(Expr, SqlType)> =
            args.iter().map(|a| self.bind_expr(a, &inner)).collect::<Result<_>>()?;
        // `json_agg(t)` of a record: its rows as objects of the named fields, written as
        // PostgreSQL writes aggregated rows.
        let mut name = name;
        if let ("json_agg" | "jsonb_agg", [(e, SqlType::Known(DataType::Record(record)))]) =
            (name, bound.as_mut_slice())
            && !record.fields.is_empty()
        {
            let record = record.clone();
            let e = std::mem::replace(e, Expr::Literal(Value::Null));
            let jsonb = name == "jsonb_agg";
            bound[0] = self.record_json(e, &record, jsonb)?;
            if !jsonb {
                name = aggregate::JSON_AGG_ROWS;
            }
        }
        let types: Vec<SqlType> = bound.iter().map(|(_, t)| t.clone()).collect();
        let resolved = aggregate::resolve(name, &types, star)?;
        let args = bound
            .into_iter()
            .zip(&resolved.arg_types)
            .map(|((e, t), p)| self.coerce(e, &t, p))
            .collect::<Result<Vec<_>>>()?;
        let filter = filter
            .map(|f| self.bind_condition(f, &ExprCtx { clause: "FILTER", ..inner }))
            .transpose()?;
        let order_by = order_by
            .iter()
            .map(|o| {
                let (expr, _) = self.bind_expr(&o.expr, &inner)?;
                let descending = super::query::descending(&o.options);
                Ok(SortKey {
                    expr,
                    descending,
                    nulls_first: o.options.nulls_first.unwrap_or(descending),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let call = AggregateCall {
            function: resolved.function,
            args,
            distinct,
            filter,
            order_by,
            arg_types: resolved.arg_types.clone(),
            return_type: resolved.return_type.clone(),
        };
        let key = format!("{call:?}");
        let mut state = agg.borrow_mut();
        let index = match state.keys.iter().position(|k| *k == key) {
            Some(i) => i,
            None => {
                state.keys.push(key);
                state.aggregates.push(call);
                state.aggregate_types.push(resolved.return_type.clone());
                state.aggregates.len() - 1
            }
        };
        let first = state.group_exprs.len() + usize::from(state.grouping_column);
        Ok((Expr::Column(first + index), known(resolved.return_type)))
    }

    /// `GROUPING(a, b, ...)`: a bit per argument, set when that group-by expression is not
    /// part of the row's grouping set (the first argument is the most significant bit).
    fn bind_grouping(&self, args: &[ast::Expr], ctx: &ExprCtx) -> Result<(Expr, SqlType)> {
        let not_grouped = || {
            errinput!(
                GROUPING_ERROR,
                "arguments to GROUPING must be grouping expressions of the associated query level"
            )
        };
        let Some(agg) = ctx.agg else {
            return Err(errinput!(
                GROUPING_ERROR,
                "grouping operations are not allowed in {}",
                ctx.clause
            ));
        };
        if args.is_empty() || args.len() > 31 {
            return Err(errinput!(SYNTAX_ERROR, "GROUPING must have between 1 and 31 arguments"));
        }
        let state = agg.borrow();
        let positions = args
            .iter()
            .map(|a| state.group_match(a).ok_or_else(not_grouped))
            .collect::<Result<Vec<_>>>()?;
        if !state.grouping_column {
            return Ok((Expr::Literal(Value::Int4(0)), known(DataType::Int4)));
        }
        let width = state.group_exprs.len();
        let mut call = vec![
            (Expr::Column(width), known(DataType::Int8)),
            (Expr::Literal(Value::Int8(width as i64)), known(DataType::Int8)),
        ];
        call.extend(
            positions
                .into_iter()
                .map(|p| (Expr::Literal(Value::Int8(p as i64)), known(DataType::Int8))),
        );
        drop(state);
        self.call_scalar("grouping_bits", call)
    }

    fn bind_window_call(
        &self,
        name: &str,
        args: &[ast::Expr],
        star: bool,
        filter: Option<&ast::Expr>,
        over: &ast::WindowType,
        ctx: &ExprCtx,
    ) -> Result<(Expr, SqlType)> {
        let Some(windows) = ctx.windows else {
            return Err(errinput!(
                WINDOWING_ERROR,
                "window functions are not allowed in {}",
                ctx.clause
            ));
        };
        let named;
        let spec = match over {
            ast::WindowType::WindowSpec(spec) => spec,
            ast::WindowType::NamedWindow(n) => {
                named = self.named_window(&ident(n))?;
                &named
            }
        };
        // `OVER (w ORDER BY ...)`: a named window refined by the call.
        let merged;
        let spec = match &spec.window_name {
            Some(base) => {
                let mut m = self.named_window(&ident(base))?;
                if !spec.partition_by.is_empty() {
                    return Err(errinput!(
                        WINDOWING_ERROR,
                        "cannot override PARTITION BY clause of window \"{}\"",
                        ident(base)
                    ));
                }
                if !spec.order_by.is_empty() {
                    m.order_by = spec.order_by.clone();
                }
                if spec.window_frame.is_some() {
                    m.window_frame = spec.window_frame.clone();
                }
                merged = m;
                &merged
            }
            None => spec,
        };
        // Window arguments see the row the window runs over (aggregated, if grouping).
        let inner = ExprCtx {
            scope: ctx.scope,
            agg: ctx.agg,
            windows: None,
            srfs: None,
            clause: "window function calls",
        };
        let bound: Vec<(Expr, SqlType)> =
            args.iter().map(|a| self.bind_expr(a, &inner)).collect::<Result<_>>()?;
        let types: Vec<SqlType> = bound.iter().map(|(_, t)| t.clone()).collect();
        let (function, ret, params) = window::resolve(name, &types, star)?;
        let args = bound
            .into_iter()
            .zip(&params)
            .map(|((e, t), p)| self.coerce(e, &t, p))
            .collect::<Result<Vec<_>>>()?;
        let partition_by = spec
            .partition_by
            .iter()
            .map(|p| Ok(self.bind_expr(p, &inner)?.0))
            .collect::<Result<Vec<_>>>()?;
        let order_by = spec
            .order_by
            .iter()
            .map(|o| {
                let (expr, _) = self.bind_expr(&o.expr, &inner)?;
                let descending = super::query::descending(&o.options);
                Ok(SortKey {
                    expr,
                    descending,
                    nulls_first: o.options.nulls_first.unwrap_or(descending),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let frame = self.bind_frame(spec.window_frame.as_ref(), order_by.len(), &inner)?;
        let filter = filter
            .map(|f| self.bind_condition(f, &ExprCtx { clause: "FILTER", ..inner }))
            .transpose()?;
        let mut state = windows.borrow_mut();
        state.calls.push(WindowCall {
            function,
            args,
            partition_by,
            order_by,
            frame,
            filter,
            arg_types: params,
            return_type: ret.clone(),
        });
        state.types.push(ret.clone());
        Ok((Expr::Column(state.base + state.calls.len() - 1), known(ret)))
    }

    fn bind_frame(
        &self,
        frame: Option<&ast::WindowFrame>,
        order_keys: usize,
        ctx: &ExprCtx,
    ) -> Result<crate::plan::Frame> {
        use crate::plan::{Frame, FrameBound, FrameUnits};
        let Some(frame) = frame else {
            // The default: RANGE UNBOUNDED PRECEDING to CURRENT ROW (peers included), or the
            // whole partition without ORDER BY.
            let end = if order_keys > 0 {
                FrameBound::CurrentRow
            } else {
                FrameBound::UnboundedFollowing
            };
            return Ok(Frame {
                units: FrameUnits::Range,
                start: FrameBound::UnboundedPreceding,
                end,
            });
        };
        let bound = |b: &ast::WindowFrameBound| -> Result<FrameBound> {
            Ok(match b {
                ast::WindowFrameBound::CurrentRow => FrameBound::CurrentRow,
                ast::WindowFrameBound::Preceding(None) => FrameBound::UnboundedPreceding,
                ast::WindowFrameBound::Following(None) => FrameBound::UnboundedFollowing,
                ast::WindowFrameBound::Preceding(Some(e)) => {
                    FrameBound::Preceding(self.bind_expr(e, ctx)?.0)
                }
                ast::WindowFrameBound::Following(Some(e)) => {
                    FrameBound::Following(self.bind_expr(e, ctx)?.0)
                }
            })
        };
        let units = match frame.units {
            ast::WindowFrameUnits::Rows => FrameUnits::Rows,
            ast::WindowFrameUnits::Range => FrameUnits::Range,
            ast::WindowFrameUnits::Groups => FrameUnits::Groups,
        };
        let start = bound(&frame.start_bound)?;
        let end =
            frame.end_bound.as_ref().map(bound).transpose()?.unwrap_or(FrameBound::CurrentRow);
        if matches!(start, FrameBound::UnboundedFollowing) {
            return Err(errinput!(WINDOWING_ERROR, "frame start cannot be UNBOUNDED FOLLOWING"));
        }
        if matches!(end, FrameBound::UnboundedPreceding) {
            return Err(errinput!(WINDOWING_ERROR, "frame end cannot be UNBOUNDED PRECEDING"));
        }
        let offsets = matches!(start, FrameBound::Preceding(_) | FrameBound::Following(_))
            || matches!(end, FrameBound::Preceding(_) | FrameBound::Following(_));
        if units == FrameUnits::Range && offsets && order_keys != 1 {
            return Err(errinput!(
                WINDOWING_ERROR,
                "RANGE with offset PRECEDING/FOLLOWING requires exactly one ORDER BY column"
            ));
        }
        if units == FrameUnits::Groups && order_keys == 0 {
            return Err(errinput!(WINDOWING_ERROR, "GROUPS mode requires an ORDER BY clause"));
        }
        Ok(Frame { units, start, end })
    }

    /// The common type of several expressions (for CASE, COALESCE, UNION, ...).
    pub(super) fn unify(&self, types: &[SqlType], what: &str) -> Result<DataType> {
        Ok(resolve_common(types, what)?.resolve())
    }

    /// Converts `expr` of type `from` to `to`: parses unknown literals now, records the type
    /// of an untyped parameter, and otherwise adds a cast where the types differ.
    pub(super) fn coerce(&self, expr: Expr, from: &SqlType, to: &DataType) -> Result<Expr> {
        match (from, expr) {
            (SqlType::Unknown, Expr::Literal(Value::Text(text))) => literal_as(text, to),
            (SqlType::Unknown, Expr::Literal(Value::Null)) => Ok(Expr::Literal(Value::Null)),
            // A parameter is typed without a precision (a client names its type by oid
            // alone), then rounded to it.
            (SqlType::Unknown, e @ Expr::Param(_)) if to.time_precision().is_some() => {
                let base = to.without_time_precision();
                let param = self.coerce(e, from, &base)?;
                Ok(Expr::Cast(Box::new(param), to.clone()))
            }
            (SqlType::Unknown, Expr::Param(i)) => {
                let mut params = self.params.borrow_mut();
                if params.len() <= i {
                    params.resize(i + 1, None);
                }
                match &params[i] {
                    None => {
                        params[i] = Some(to.clone());
                        Ok(Expr::Param(i))
                    }
                    Some(t) if t == to => Ok(Expr::Param(i)),
                    Some(_) => Ok(Expr::Cast(Box::new(Expr::Param(i)), to.clone())),
                }
            }
            (SqlType::Unknown, e) => Ok(Expr::Cast(Box::new(e), to.clone())),
            (SqlType::Known(t), e) if t == to => Ok(e),
            (SqlType::Known(t), e) => {
                // char(n) to text drops the padding, as PostgreSQL's bpchar-to-text does.
                if matches!(t, DataType::Char(_))
                    && matches!(to, DataType::Text | DataType::Varchar(_))
                {
                    return Ok(rtrim_padding(e));
                }
                // To text from a string, or to a type's plain form from the type with a
                // modifier (`varchar` from `varchar(3)`), the value needs no change.
                let same_family =
                    matches!((t, to), (DataType::Varchar(_) | DataType::Text, DataType::Text))
                        || t.is_modified_form_of(to);
                if same_family {
                    return Ok(e);
                }
                if !crate::functions::implicit_cast_allowed(t, to) && !matches!(to, DataType::Text)
                {
                    return Err(errinput!(
                        DATATYPE_MISMATCH,
                        "cannot use a value of type {} as {}",
                        t.name(),
                        to.name()
                    )
                    .with_hint("add an explicit cast"));
                }
                Ok(fold_cast(e, to))
            }
        }
    }

    /// An explicit cast (`CAST(x AS t)`, `x::t`).
    pub(super) fn explicit_cast(&self, expr: Expr, from: &SqlType, to: &DataType) -> Result<Expr> {
        match (from, expr) {
            (SqlType::Unknown, Expr::Literal(Value::Text(text))) => literal_as(text, to),
            (SqlType::Unknown, e @ Expr::Param(_)) => self.coerce(e, from, to),
            (SqlType::Known(t), e) if t == to => Ok(e),
            // An enum, tsvector or tsquery casts only to and from text types (and to
            // itself).
            (SqlType::Known(t), _)
                if (matches!(t, DataType::Enum(_) | DataType::TsVector | DataType::TsQuery)
                    && !matches!(
                        to,
                        DataType::Text | DataType::Varchar(_) | DataType::Char(_)
                    ))
                    || (matches!(
                        to,
                        DataType::Enum(_) | DataType::TsVector | DataType::TsQuery
                    ) && !matches!(
                        t,
                        DataType::Text | DataType::Varchar(_) | DataType::Char(_)
                    )) =>
            {
                Err(errinput!(CANNOT_COERCE, "cannot cast type {t} to {to}"))
            }
            (SqlType::Known(DataType::Char(_)), e) if !matches!(to, DataType::Char(_)) => {
                Ok(fold_cast(rtrim_padding(e), to))
            }
            // int2vector and oidvector print their numbers space-separated.
            (SqlType::Known(v), e)
                if v.vector_element().is_some()
                    && matches!(to, DataType::Text | DataType::Varchar(_)) =>
            {
                let element = v.vector_element().unwrap_or(DataType::Int2);
                let (text, _) = self.call_scalar(
                    "oxibase_vector_text",
                    vec![(e, known(DataType::Array(Box::new(element))))],
                )?;
                Ok(fold_cast(text, to))
            }
            // int2vector and smallint[] hold the same values (oidvector and oid[] too).
            (SqlType::Known(v), e)
                if v.vector_element().is_some_and(|el| {
                    matches!(to, DataType::Array(t) if **t == el || (el == DataType::Oid && **t == DataType::Int8))
                }) =>
            {
                Ok(e)
            }
            (SqlType::Known(t), e) if to == &DataType::Int2Vector && is_int2_array(t) => Ok(e),
            (SqlType::Known(DataType::Array(t)), e)
                if to == &DataType::OidVector && matches!(**t, DataType::Oid | DataType::Int8) =>
            {
                Ok(e)
            }
            (_, e) => Ok(fold_cast(e, to)),
        }
    }
}

/// enum_first, enum_last and enum_range of an enum type: constants of the type as the
/// statement sees it (the argument's value only bounds the two-argument enum_range).
fn enum_function(name: &str, bound: Vec<(Expr, SqlType)>) -> Result<(Expr, SqlType)> {
    let Some((_, SqlType::Known(ty @ DataType::Enum(e)))) = bound.first() else {
        return Err(errinput!(UNDEFINED_FUNCTION, "function {name} requires an enum argument"));
    };
    let value = |v: &oxibase_common::EnumValue| Value::Enum(Box::new(v.clone()));
    let bound_at = |i: usize| -> Result<Option<f64>> {
        match bound.get(i) {
            None | Some((Expr::Literal(Value::Null), _)) => Ok(None),
            Some((Expr::Literal(Value::Enum(v)), t)) if t == &bound[0].1 => Ok(Some(v.order)),
            Some((_, t)) if t != &bound[0].1 => Err(errinput!(
                UNDEFINED_FUNCTION,
                "function {name}({}, {}) does not exist",
                ty,
                t.resolve()
            )),
            Some(_) => {
                Err(errinput!(FEATURE_NOT_SUPPORTED, "enum_range bounds must be constants here"))
            }
        }
    };
    Ok(match (name, bound.len()) {
        ("enum_first", 1) => {
            (Expr::Literal(e.labels.first().map_or(Value::Null, value)), known(ty.clone()))
        }
        ("enum_last", 1) => {
            (Expr::Literal(e.labels.last().map_or(Value::Null, value)), known(ty.clone()))
        }
        ("enum_range", 1 | 2) => {
            let (low, high) =
                if bound.len() == 2 { (bound_at(0)?, bound_at(1)?) } else { (None, None) };
            let elements = e
                .labels
                .iter()
                .filter(|v| low.is_none_or(|l| v.order >= l) && high.is_none_or(|h| v.order <= h))
                .map(value)
                .collect();
            let array = DataType::Array(Box::new(ty.clone()));
            let array_value = Value::Array(Box::new(oxibase_common::Array {
                element_type: ty.clone(),
                elements,
            }));
            (Expr::Literal(array_value), known(array))
        }
        _ => {
            return Err(errinput!(
                UNDEFINED_FUNCTION,
                "function {name} with {} arguments does not exist",
                bound.len()
            ));
        }
    })
}

/// A quoted literal read as `to`: now, or (for timestamptz, whose text without an offset
/// means the session's time zone) when the statement runs. Bad text fails either way.
fn literal_as(text: String, to: &DataType) -> Result<Expr> {
    let value = cast(Value::Text(text.clone()), to, CastKind::Explicit, &Zone::UTC)?;
    if matches!(to, DataType::TimestampTz(_)) {
        return Ok(Expr::Cast(Box::new(Expr::Literal(Value::Text(text))), to.clone()));
    }
    Ok(Expr::Literal(value))
}

/// Casts a literal now when it cannot fail at run time differently; otherwise a cast node.
pub(crate) fn fold_cast(e: Expr, to: &DataType) -> Expr {
    match e {
        Expr::Literal(v) => match cast(v.clone(), to, CastKind::Explicit, &Zone::UTC) {
            Ok(folded)
                if !matches!(
                    to,
                    DataType::TimestampTz(_)
                        | DataType::Timestamp(_)
                        | DataType::Date
                        | DataType::Time(_)
                ) =>
            {
                Expr::Literal(folded)
            }
            _ => Expr::Cast(Box::new(Expr::Literal(v)), to.clone()),
        },
        e => Expr::Cast(Box::new(e), to.clone()),
    }
}

/// A constant converted to `ty` without loss (for comparing an integer column with a
/// bigint or numeric literal), or None.
fn lossless_constant(e: &Expr, ty: &DataType) -> Option<Expr> {
    let Expr::Literal(v) = e else { return None };
    if v.is_null()
        || crate::types::category(ty) != 'N'
        || !matches!(v, Value::Int2(_) | Value::Int4(_) | Value::Int8(_) | Value::Numeric(_))
    {
        return None;
    }
    let converted = cast(v.clone(), ty, CastKind::Explicit, &Zone::UTC).ok()?;
    let back =
        cast(converted.clone(), &DataType::Numeric(None), CastKind::Explicit, &Zone::UTC).ok()?;
    let original =
        cast(v.clone(), &DataType::Numeric(None), CastKind::Explicit, &Zone::UTC).ok()?;
    (crate::types::compare::equal(&back, &original).ok()?
        && !matches!(ty, DataType::Float4 | DataType::Float8))
    .then_some(Expr::Literal(converted))
}

fn number_literal(n: &str) -> Result<(Expr, SqlType)> {
    if let Ok(i) = n.parse::<i32>() {
        return Ok((Expr::Literal(Value::Int4(i)), known(DataType::Int4)));
    }
    if let Ok(i) = n.parse::<i64>() {
        return Ok((Expr::Literal(Value::Int8(i)), known(DataType::Int8)));
    }
    let numeric = crate::types::text::parse_numeric(n)?;
    Ok((Expr::Literal(Value::Numeric(Box::new(numeric))), known(DataType::Numeric(None))))
}

/// The type an unknown operand takes next to `t` in arithmetic.
fn unknown_partner(t: &DataType, op: BinOp, right: bool) -> DataType {
    use DataType::*;
    match (t, op, right) {
        (Date, BinOp::Add | BinOp::Sub, true) => Int4,
        (Timestamp(_) | TimestampTz(_) | Date | Time(_), BinOp::Add | BinOp::Sub, _) => {
            Interval(None)
        }
        (Interval(_), BinOp::Mul | BinOp::Div, _) => Float8,
        (Jsonb, BinOp::Sub, true) => Text,
        (t, _, _) => t.clone(),
    }
}

fn unreachable_types() -> oxibase_common::Error {
    errinput!(INTERNAL_ERROR, "operand types not resolved")
}

fn json_delete_function() -> scalar::ScalarFunction {
    scalar::ScalarFunction {
        name: "jsonb_delete",
        eval: |a, _| crate::types::json_ops::delete(&a[0], &a[1]),
        strict: true,
        immutable: true,
    }
}

/// The scope seen by a subquery inside an aggregated query: group keys that are plain
/// columns keep their names.
fn aggregated_scope(state: &AggState) -> Scope {
    let mut columns = Vec::new();
    for (expr, ty) in state.group_exprs.iter().zip(&state.group_types) {
        let mut column = match expr {
            Expr::Column(i) => state.input.columns[*i].clone(),
            _ => crate::plan::Column::new("?column?", ty.clone()),
        };
        column.data_type = ty.clone();
        columns.push(column);
    }
    if state.grouping_column {
        let mut c = crate::plan::Column::new("?grouping?", DataType::Int8);
        c.hidden = true;
        columns.push(c);
    }
    for ty in &state.aggregate_types {
        let mut c = crate::plan::Column::new("?aggregate?", ty.clone());
        c.hidden = true;
        columns.push(c);
    }
    Scope::new(columns)
}

/// Keyword functions written without parentheses.
fn niladic(name: &str) -> Option<&'static str> {
    Some(match name {
        "current_timestamp" => "now",
        "current_date" => "current_date",
        "current_time" => "current_time",
        "localtime" => "localtime",
        "localtimestamp" => "localtimestamp",
        "current_user" | "user" | "current_role" => "current_user",
        "session_user" => "session_user",
        "current_catalog" => "current_database",
        "current_schema" => "current_schema",
        _ => return None,
    })
}

/// Splits a call's arguments: expressions, DISTINCT, ORDER BY inside the call, and `*`.
/// True when a call names any of its arguments (`f(a => 1)`).
fn has_named_args(f: &ast::Function) -> bool {
    matches!(&f.args, ast::FunctionArguments::List(list) if list.args.iter().any(|a| {
        matches!(a, ast::FunctionArg::Named { .. } | ast::FunctionArg::ExprNamed { .. })
    }))
}

fn function_args(
    f: &ast::Function,
    stored: Option<&crate::procedure::Routine>,
) -> Result<(Vec<ast::Expr>, bool, Vec<ast::OrderByExpr>, bool)> {
    let list = match &f.args {
        ast::FunctionArguments::None => return Ok((vec![], false, vec![], false)),
        ast::FunctionArguments::Subquery(_) => return Ok((vec![], false, vec![], false)),
        ast::FunctionArguments::List(list) => list,
    };
    let distinct = matches!(list.duplicate_treatment, Some(ast::DuplicateTreatment::Distinct));
    let mut args = Vec::new();
    let mut named: Vec<(String, ast::Expr)> = Vec::new();
    let mut star = false;
    for arg in &list.args {
        match arg {
            ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => args.push(e.clone()),
            ast::FunctionArg::Named { name, arg: ast::FunctionArgExpr::Expr(e), .. } => {
                named.push((ident(name), e.clone()))
            }
            ast::FunctionArg::ExprNamed {
                name: ast::Expr::Identifier(name),
                arg: ast::FunctionArgExpr::Expr(e),
                ..
            } => named.push((ident(name), e.clone())),
            ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Wildcard) => star = true,
            // `t.*`, the whole row (`count(t.*)`; JSON functions: see `whole_row_json`).
            ast::FunctionArg::Unnamed(ast::FunctionArgExpr::QualifiedWildcard(name)) => {
                args.push(ast::Expr::QualifiedWildcard(
                    name.clone(),
                    sqlparser::ast::helpers::attached_token::AttachedToken::empty(),
                ));
            }
            other => {
                return Err(errinput!(
                    FEATURE_NOT_SUPPORTED,
                    "function argument {other} is not supported"
                ));
            }
        }
    }
    if !named.is_empty() {
        args = match stored {
            Some(routine) => super::routine::place_named_args(routine, args, named)?,
            None => named_arguments(f, args, named)?,
        };
    }
    let mut order_by = Vec::new();
    for clause in &list.clauses {
        if let ast::FunctionArgumentClause::OrderBy(o) = clause {
            order_by.extend(o.iter().cloned());
        }
    }
    Ok((args, distinct, order_by, star))
}

/// Places named arguments (`make_interval(days => 3)`) at their parameter positions, with
/// the parameters' defaults for those not given.
fn named_arguments(
    f: &ast::Function,
    positional: Vec<ast::Expr>,
    named: Vec<(String, ast::Expr)>,
) -> Result<Vec<ast::Expr>> {
    let name = f.name.to_string().to_lowercase();
    let params: &[&str] = match name.as_str() {
        "make_interval" | "pg_catalog.make_interval" => {
            &["years", "months", "weeks", "days", "hours", "mins", "secs"]
        }
        _ => {
            return Err(errinput!(
                FEATURE_NOT_SUPPORTED,
                "named arguments are not supported for function {name}"
            ));
        }
    };
    let zero = || ast::Expr::value(ast::Value::Number("0".into(), false));
    let mut out: Vec<Option<ast::Expr>> = vec![None; params.len()];
    if positional.len() > params.len() {
        return Err(errinput!(
            UNDEFINED_FUNCTION,
            "function {name} has {} parameters",
            params.len()
        ));
    }
    for (i, e) in positional.into_iter().enumerate() {
        out[i] = Some(e);
    }
    for (n, e) in named {
        let i = params.iter().position(|p| *p == n).ok_or_else(|| {
            errinput!(UNDEFINED_FUNCTION, "function {name} has no parameter named \"{n}\"")
        })?;
        if out[i].is_some() {
            return Err(errinput!(SYNTAX_ERROR, "argument \"{n}\" specified more than once"));
        }
        out[i] = Some(e);
    }
    Ok(out.into_iter().map(|e| e.unwrap_or_else(zero)).collect())
}

/// Drops interval fields below the last field named (`INTERVAL '1 day 2 hours' DAY`).
fn truncate_interval(iv: Interval, field: Option<&ast::DateTimeField>) -> Interval {
    use ast::DateTimeField as F;
    match field {
        Some(F::Year | F::Years) => Interval { months: iv.months / 12 * 12, days: 0, micros: 0 },
        Some(F::Month | F::Months) => Interval { days: 0, micros: 0, ..iv },
        Some(F::Day | F::Days) => Interval { micros: 0, ..iv },
        Some(F::Hour | F::Hours) => {
            Interval { micros: iv.micros / 3_600_000_000 * 3_600_000_000, ..iv }
        }
        Some(F::Minute | F::Minutes) => {
            Interval { micros: iv.micros / 60_000_000 * 60_000_000, ..iv }
        }
        _ => iv,
    }
}

/// `rtrim(e)`: the value of a char(n) without its padding.
pub(super) fn rtrim_padding(e: Expr) -> Expr {
    match crate::functions::scalar::resolve("rtrim", &[SqlType::Known(DataType::Text)]) {
        Ok(r) => Expr::Call(r.function, vec![e]),
        Err(_) => e,
    }
}

/// A custom type name, like `regtype`.
fn is_named_type(t: &ast::DataType, name: &str) -> bool {
    matches!(t, ast::DataType::Custom(n, _) if n.0.last().is_some_and(|p| matches!(p, ast::ObjectNamePart::Identifier(id) if id.value.eq_ignore_ascii_case(name))))
}

/// A catalog column PostgreSQL types `regproc` (a function, printed by name), which holds
/// the function's name here.
fn is_regproc_column(e: &ast::Expr) -> bool {
    const REGPROC_COLUMNS: &[&str] = &[
        "prsstart",
        "prstoken",
        "prsend",
        "prsheadline",
        "prslextype",
        "tmplinit",
        "tmpllexize",
        "typinput",
        "typoutput",
        "typreceive",
        "typsend",
        "amhandler",
        "amproc",
    ];
    let name = match e {
        ast::Expr::Identifier(id) => &id.value,
        ast::Expr::CompoundIdentifier(ids) => match ids.last() {
            Some(id) => &id.value,
            None => return false,
        },
        _ => return false,
    };
    REGPROC_COLUMNS.iter().any(|c| name.eq_ignore_ascii_case(c))
}

pub(super) fn is_regclass(t: &ast::DataType) -> bool {
    match t {
        ast::DataType::Regclass => true,
        ast::DataType::Custom(name, _) => name.0.last().is_some_and(|p| matches!(p, ast::ObjectNamePart::Identifier(id) if id.value.eq_ignore_ascii_case("regclass"))),
        _ => false,
    }
}

/// The fields of a row constructor, `(a, b)` or `ROW(a, b)`.
fn row_fields(e: &ast::Expr) -> Option<Vec<ast::Expr>> {
    match e {
        ast::Expr::Tuple(fields) => Some(fields.clone()),
        ast::Expr::Nested(inner) => row_fields(inner),
        ast::Expr::Function(f) if f.name.to_string().eq_ignore_ascii_case("row") => match &f.args {
            ast::FunctionArguments::List(list) => list
                .args
                .iter()
                .map(|a| match a {
                    ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => Some(e.clone()),
                    _ => None,
                })
                .collect(),
            _ => None,
        },
        _ => None,
    }
}

/// `t` with the field names `.col` after it, as the compound identifier `t.col`; `None` when
/// the root is not a name.
fn qualified_access(root: &ast::Expr, dots: &[ast::AccessExpr]) -> Option<ast::Expr> {
    let mut ids = match root {
        ast::Expr::Identifier(id) => vec![id.clone()],
        ast::Expr::CompoundIdentifier(ids) => ids.clone(),
        _ => return None,
    };
    ids.extend(dots.iter().filter_map(|d| match d {
        ast::AccessExpr::Dot(ast::Expr::Identifier(id)) => Some(id.clone()),
        _ => None,
    }));
    Some(ast::Expr::CompoundIdentifier(ids))
}

/// Field `name` of a record-typed expression (`what` names the record in errors).
fn select_named_field(
    (expr, ty): (Expr, SqlType),
    name: &str,
    what: &str,
) -> Result<(Expr, SqlType)> {
    let SqlType::Known(DataType::Record(record)) = &ty else {
        return Err(errinput!(
            UNDEFINED_COLUMN,
            "column notation .{name} applied to type {}, which is not a composite type",
            ty.resolve().name()
        ));
    };
    let Some(i) = record.field(name) else {
        return Err(match what {
            "" => errinput!(
                UNDEFINED_COLUMN,
                "could not identify column \"{name}\" in record data type"
            ),
            what => errinput!(UNDEFINED_COLUMN, "column {what}.{name} does not exist"),
        });
    };
    let field_type = record.fields[i].1.clone();
    Ok(select_field((expr, ty), i, &field_type))
}

/// Field `i` (of type `field_type`) of a record; a row constructor's field is its expression.
fn select_field((expr, _): (Expr, SqlType), i: usize, field_type: &DataType) -> (Expr, SqlType) {
    match expr {
        Expr::Row(mut fields, _) => (fields.swap_remove(i), known(field_type.clone())),
        e => (Expr::Field(Box::new(e), i), known(field_type.clone())),
    }
}

/// A relation's name as regclass reads it (`t`, `s.t`, `"T"`): schema and name, unquoted
/// parts folded to lower case.
/// `database`, when known, is the one connected to: a three-part name must name it, as in
/// PostgreSQL.
pub fn split_relation_name(name: &str, database: Option<&str>) -> Result<(Option<String>, String)> {
    let parts: Vec<String> = name
        .split('.')
        .map(|p| {
            let p = p.trim();
            match p.strip_prefix('"').and_then(|p| p.strip_suffix('"')) {
                Some(q) => q.to_string(),
                None => p.to_lowercase(),
            }
        })
        .collect();
    match parts.as_slice() {
        [r] => Ok((None, r.clone())),
        [s, r] => Ok((Some(s.clone()), r.clone())),
        [c, s, r] if database == Some(c.as_str()) => Ok((Some(s.clone()), r.clone())),
        [_, _, _] => Err(errinput!(
            FEATURE_NOT_SUPPORTED,
            "cross-database references are not implemented: {name}"
        )),
        _ => Err(errinput!(INVALID_NAME, "improper relation name (too many dotted names): {name}")),
    }
}

/// int2vector reads as `smallint[]` where functions and operators take arrays (its values
/// are arrays already).
fn is_tsquery(t: &SqlType) -> bool {
    matches!(t, SqlType::Known(DataType::TsQuery))
}

fn is_network(t: &SqlType) -> bool {
    matches!(t, SqlType::Known(DataType::Inet | DataType::Cidr))
}

pub(super) fn int2vector_as_array(t: SqlType) -> SqlType {
    match t {
        SqlType::Known(t) if t.vector_element().is_some() => {
            known(DataType::Array(Box::new(t.vector_element().unwrap_or(DataType::Int2))))
        }
        t => t,
    }
}

fn is_int2_array(t: &DataType) -> bool {
    matches!(t, DataType::Array(e) if **e == DataType::Int2)
}
