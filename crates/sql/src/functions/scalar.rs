//! Scalar function resolution: from a name and argument types to an implementation.

use std::fmt;

use oxibase_common::{DataType, Result, Value, errinput};

use super::{FunctionEnv, implicit_cast_allowed};
use crate::types::SqlType;

/// A scalar function implementation.
pub type Eval = fn(&[Value], &dyn FunctionEnv) -> Result<Value>;

/// A resolved built-in scalar function.
#[derive(Clone, Copy)]
pub struct ScalarFunction {
    /// Its SQL name.
    pub name: &'static str,
    /// The implementation.
    pub eval: Eval,
    /// Returns NULL without running when any argument is NULL.
    pub strict: bool,
    /// Same arguments, same result, no side effects: may be folded at plan time.
    pub immutable: bool,
}

impl fmt::Debug for ScalarFunction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

/// A function chosen for a call: the implementation, its result type, and the type each
/// argument is cast to before the call.
#[derive(Clone, Debug)]
pub struct Resolved {
    /// The implementation.
    pub function: ScalarFunction,
    /// The result type.
    pub return_type: DataType,
    /// The parameter types (arguments are cast to these).
    pub arg_types: Vec<DataType>,
}

/// Builds a resolution for a function with fixed parameter types, if the arguments fit.
pub fn fixed(
    name: &'static str,
    eval: Eval,
    args: &[SqlType],
    params: &[DataType],
    ret: DataType,
) -> Option<Resolved> {
    fits(args, params).then(|| Resolved {
        function: ScalarFunction { name, eval, strict: true, immutable: true },
        return_type: ret,
        arg_types: params.to_vec(),
    })
}

/// True when each argument can be passed for the parameter at its position.
pub fn fits(args: &[SqlType], params: &[DataType]) -> bool {
    args.len() == params.len()
        && args.iter().zip(params).all(|(a, p)| match a {
            SqlType::Unknown => true,
            SqlType::Known(t) => implicit_cast_allowed(t, p),
        })
}

/// Marks a resolution as not strict (handles NULL arguments itself).
pub fn lenient(mut r: Resolved) -> Resolved {
    r.function.strict = false;
    r
}

/// Marks a resolution as volatile or stable (not folded at plan time).
pub fn volatile(mut r: Resolved) -> Resolved {
    r.function.immutable = false;
    r
}

/// The numeric type an argument has, with unknown literals taken as `double precision`
/// (PostgreSQL's preferred numeric type).
pub fn numeric_type(arg: &SqlType) -> Option<DataType> {
    match arg {
        SqlType::Unknown => Some(DataType::Float8),
        SqlType::Known(t) if crate::types::category(t) == 'N' => Some(match t {
            DataType::Numeric(_) => DataType::Numeric(None),
            t => t.clone(),
        }),
        _ => None,
    }
}

/// Resolves a call to a built-in scalar function, or explains why it does not exist.
pub fn resolve(name: &str, args: &[SqlType]) -> Result<Resolved> {
    let found = super::string::resolve(name, args)
        .or_else(|| super::math::resolve(name, args))
        .or_else(|| super::datetime::resolve(name, args))
        .or_else(|| super::json::resolve(name, args))
        .or_else(|| super::misc::resolve(name, args))
        .or_else(|| super::textsearch::resolve(name, args))
        .or_else(|| super::network::resolve(name, args))
        .or_else(|| super::crypto::resolve(name, args));
    found.ok_or_else(|| {
        let types: Vec<String> = args.iter().map(|a| match a {
            SqlType::Known(t) => t.name(),
            SqlType::Unknown => "unknown".into(),
        }).collect();
        errinput!(UNDEFINED_FUNCTION, "function {name}({}) does not exist", types.join(", "))
            .with_hint("No function matches the given name and argument types. You might need to add explicit type casts.")
    })
}

/// A `'static` copy of a built-in function's name. Names come only from the resolvers' own
/// match arms, so the set is small and each distinct name is allocated once.
pub fn intern(name: &str) -> &'static str {
    static NAMES: std::sync::OnceLock<parking_lot::Mutex<std::collections::HashSet<&'static str>>> =
        std::sync::OnceLock::new();
    let mut names = NAMES.get_or_init(Default::default).lock();
    if let Some(existing) = names.get(name) {
        return existing;
    }
    let leaked: &'static str = Box::leak(name.to_string().into_boxed_str());
    names.insert(leaked);
    leaked
}

/// Reads a text argument.
pub fn text(v: &Value) -> &str {
    match v {
        Value::Text(s) | Value::Json(s) | Value::Jsonb(s) => s,
        _ => "",
    }
}

/// Reads an integer argument of any width.
pub fn int(v: &Value) -> i64 {
    crate::types::compare::as_i64(v)
}

/// Reads a numeric argument as f64.
pub fn float(v: &Value) -> f64 {
    crate::types::compare::to_f64(v)
}
