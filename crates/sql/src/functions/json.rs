//! JSON functions (PostgreSQL docs, "JSON Functions and Operators").

use oxibase_common::{DataType, Result, Value, errinput};
use serde_json::Value as Json;

use super::FunctionEnv;
use super::scalar::{Resolved, ScalarFunction, fixed, int, intern, lenient, text};
use crate::types::SqlType;
use crate::types::datetime::{self, Zone};
use crate::types::json_ops::{as_text, parse, wrap};
use crate::types::jsonpath;
use crate::types::text::{format_value, jsonb_text};

use DataType::{Bool, Int4, Json as JsonT, Jsonb, Text};

/// Resolves a JSON function.
pub fn resolve(name: &str, args: &[SqlType]) -> Option<Resolved> {
    let f = |eval, params: &[DataType], ret| fixed(intern(name), eval, args, params, ret);
    let doc = || match args.first() {
        Some(SqlType::Known(JsonT)) => JsonT,
        _ => Jsonb,
    };
    match (name, args.len()) {
        ("to_json", 1) => f(to_json, &[args[0].resolve()], JsonT),
        ("to_jsonb", 1) => f(to_jsonb, &[args[0].resolve()], Jsonb),
        (
            "json_build_object" | "jsonb_build_object" | "json_build_array" | "jsonb_build_array",
            _,
        ) => {
            if name.ends_with("object") && !args.len().is_multiple_of(2) {
                return None;
            }
            let params: Vec<DataType> = args.iter().map(SqlType::resolve).collect();
            let ret = if name.starts_with("jsonb") { Jsonb } else { JsonT };
            let eval: super::scalar::Eval = match name {
                "json_build_object" => json_build_object,
                "jsonb_build_object" => jsonb_build_object,
                "json_build_array" => json_build_array,
                _ => jsonb_build_array,
            };
            Some(lenient(Resolved {
                function: ScalarFunction {
                    name: intern(name),
                    eval,
                    strict: false,
                    immutable: true,
                },
                return_type: ret,
                arg_types: params,
            }))
        }
        (ROW_TO_JSON, n) if n.is_multiple_of(2) => {
            let params: Vec<DataType> = args.iter().map(SqlType::resolve).collect();
            Some(lenient(Resolved {
                function: ScalarFunction {
                    name: intern(name),
                    eval: row_object,
                    strict: false,
                    immutable: true,
                },
                return_type: JsonT,
                arg_types: params,
            }))
        }
        ("json_typeof" | "jsonb_typeof", 1) => f(typeof_, &[doc()], Text),
        ("json_array_length" | "jsonb_array_length", 1) => f(array_length, &[doc()], Int4),
        (
            "json_extract_path"
            | "jsonb_extract_path"
            | "json_extract_path_text"
            | "jsonb_extract_path_text",
            n,
        ) if n >= 2 => {
            let mut params = vec![doc()];
            params.extend(std::iter::repeat_n(Text, n - 1));
            let ret = if name.ends_with("_text") { Text } else { doc() };
            let eval: super::scalar::Eval =
                if name.ends_with("_text") { extract_path_text } else { extract_path };
            f(eval, &params, ret)
        }
        ("jsonb_set", 3 | 4) => {
            let params = [Jsonb, DataType::Array(Box::new(Text)), Jsonb, Bool];
            f(jsonb_set, &params[..args.len()], Jsonb)
        }
        ("jsonb_pretty", 1) => f(pretty, &[Jsonb], Text),
        ("jsonb_strip_nulls" | "json_strip_nulls", 1) => f(strip_nulls, &[doc()], doc()),
        ("jsonb_object_length", 1) => f(object_length, &[Jsonb], Int4),
        (
            "jsonb_path_exists"
            | "jsonb_path_match"
            | "jsonb_path_query_array"
            | "jsonb_path_query_first",
            2..=4,
        )
        | ("jsonb_path_exists_opr" | "jsonb_path_match_opr", 2) => {
            let params = [Jsonb, Text, Jsonb, Bool];
            // The `_opr` forms are `@?` and `@@`: always silent.
            let (eval, ret): (super::scalar::Eval, DataType) = match name {
                "jsonb_path_exists" => (path_exists, Bool),
                "jsonb_path_exists_opr" => (path_exists_silent, Bool),
                "jsonb_path_match" => (path_match, Bool),
                "jsonb_path_match_opr" => (path_match_silent, Bool),
                "jsonb_path_query_array" => (path_query_array, Jsonb),
                _ => (path_query_first, Jsonb),
            };
            f(eval, &params[..args.len()], ret)
        }
        _ => None,
    }
}

/// Converts a SQL value to JSON as `to_json` does: numbers stay numbers, temporal values
/// become ISO 8601 strings, arrays become JSON arrays, json values are embedded.
pub fn value_to_json(v: &Value, zone: &Zone) -> Result<Json> {
    typed_value_to_json(v, None, zone)
}

/// [`value_to_json`] for a value of type `ty` where known: a record's fields are named as
/// its type names them (an array's elements are of the array's element type).
fn typed_value_to_json(v: &Value, ty: Option<&DataType>, zone: &Zone) -> Result<Json> {
    Ok(match v {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int2(_) | Value::Int4(_) | Value::Int8(_) | Value::Numeric(_) => {
            number(&format_value(v, zone).unwrap_or_default())
        }
        Value::Float4(_) | Value::Float8(_) => {
            let text = format_value(v, zone).unwrap_or_default();
            if text.parse::<f64>().is_ok_and(f64::is_finite) {
                number(&text)
            } else {
                Json::String(text)
            }
        }
        Value::Json(s) | Value::Jsonb(s) => parse(s)?,
        Value::Timestamp(t) => Json::String(datetime::format_timestamp(*t).replacen(' ', "T", 1)),
        Value::TimestampTz(t) => {
            let s = datetime::format_timestamptz(*t, zone);
            let s = s.replacen(' ', "T", 1);
            // PostgreSQL writes the offset as +HH:MM in JSON.
            Json::String(if s.len() >= 3 && s[s.len() - 3..].starts_with(['+', '-']) {
                format!("{s}:00")
            } else {
                s
            })
        }
        Value::Array(a) => Json::Array(
            a.elements
                .iter()
                .map(|e| typed_value_to_json(e, Some(&a.element_type), zone))
                .collect::<Result<_>>()?,
        ),
        // A record inside another value: its fields named by its type where that is known,
        // else f1, f2, ...
        Value::Record(fields) => {
            let named = match ty {
                Some(DataType::Record(r)) if r.fields.len() == fields.len() => Some(&r.fields),
                _ => None,
            };
            Json::Object(
                fields
                    .iter()
                    .enumerate()
                    .map(|(i, f)| {
                        Ok(match named {
                            Some(named) => {
                                let (name, ty) = &named[i];
                                (name.clone(), typed_value_to_json(f, Some(ty), zone)?)
                            }
                            None => (format!("f{}", i + 1), value_to_json(f, zone)?),
                        })
                    })
                    .collect::<Result<_>>()?,
            )
        }
        other => Json::String(format_value(other, zone).unwrap_or_default()),
    })
}

fn number(text: &str) -> Json {
    serde_json::from_str::<Json>(text).unwrap_or_else(|_| Json::String(text.to_string()))
}

fn result(json: &Json, jsonb: bool) -> Value {
    if jsonb { Value::Jsonb(jsonb_text(json)) } else { Value::Json(json_text(json)) }
}

/// PostgreSQL's json (not jsonb) output of built values: `{"a" : 1, "b" : 2}`.
fn json_text(json: &Json) -> String {
    match json {
        Json::Object(map) => {
            let items: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{} : {}", Json::String(k.clone()), json_text(v)))
                .collect();
            format!("{{{}}}", items.join(", "))
        }
        Json::Array(items) => {
            format!("[{}]", items.iter().map(json_text).collect::<Vec<_>>().join(", "))
        }
        other => other.to_string(),
    }
}

fn to_json(a: &[Value], env: &dyn FunctionEnv) -> Result<Value> {
    match &a[0] {
        Value::Json(s) => Ok(Value::Json(s.clone())),
        // Arrays and records are written compactly, as array_to_json and row_to_json do.
        v @ (Value::Array(_) | Value::Record(_)) => {
            Ok(Value::Json(value_to_json(v, env.zone())?.to_string()))
        }
        v => Ok(result(&value_to_json(v, env.zone())?, false)),
    }
}

fn to_jsonb(a: &[Value], env: &dyn FunctionEnv) -> Result<Value> {
    Ok(result(&value_to_json(&a[0], env.zone())?, true))
}

/// An argument of json_build_object/json_build_array as PostgreSQL writes it into the json
/// text: json as given, an SQL array as array_to_json does (compact), anything else as
/// its json value.
fn json_arg_text(v: &Value, zone: &crate::types::datetime::Zone) -> Result<String> {
    Ok(match v {
        Value::Json(s) | Value::Jsonb(s) => s.clone(),
        Value::Array(_) | Value::Record(_) => value_to_json(v, zone)?.to_string(),
        other => json_text(&value_to_json(other, zone)?),
    })
}

/// The function a whole-row reference in `row_to_json(t)` becomes (the binder writes it):
/// name/value pairs as one compact json object, `{"id":1,"name":"x"}`, as PostgreSQL writes
/// a row (values as `to_json` writes them, json and jsonb embedded as they are).
pub const ROW_TO_JSON: &str = "oxibase_row_to_json";

fn row_object(a: &[Value], env: &dyn FunctionEnv) -> Result<Value> {
    let mut items = Vec::with_capacity(a.len() / 2);
    for pair in a.chunks(2) {
        let key = Json::String(format_value(&pair[0], env.zone()).unwrap_or_default());
        items.push(format!("{key}:{}", json_arg_text(&pair[1], env.zone())?));
    }
    Ok(Value::Json(format!("{{{}}}", items.join(","))))
}

fn build_object(a: &[Value], env: &dyn FunctionEnv, jsonb: bool) -> Result<Value> {
    if !jsonb {
        // json keeps the arguments' order and duplicate keys, so it is written as text.
        let mut items = Vec::new();
        for pair in a.chunks(2) {
            let key = match &pair[0] {
                Value::Null => {
                    return Err(errinput!(
                        NULL_VALUE_NOT_ALLOWED,
                        "null value not allowed for object key"
                    ));
                }
                k => format_value(k, env.zone()).unwrap_or_default(),
            };
            let value =
                pair.get(1).map_or(Ok("null".to_string()), |v| json_arg_text(v, env.zone()))?;
            items.push(format!("{} : {value}", Json::String(key)));
        }
        return Ok(Value::Json(format!("{{{}}}", items.join(", "))));
    }
    let mut map = serde_json::Map::new();
    for pair in a.chunks(2) {
        let key = match &pair[0] {
            Value::Null => {
                return Err(errinput!(
                    NULL_VALUE_NOT_ALLOWED,
                    "null value not allowed for object key"
                ));
            }
            k => format_value(k, env.zone()).unwrap_or_default(),
        };
        map.insert(key, value_to_json(&pair[1], env.zone())?);
    }
    Ok(result(&Json::Object(map), jsonb))
}

fn build_array(a: &[Value], env: &dyn FunctionEnv, jsonb: bool) -> Result<Value> {
    if !jsonb {
        let items = a.iter().map(|v| json_arg_text(v, env.zone())).collect::<Result<Vec<_>>>()?;
        return Ok(Value::Json(format!("[{}]", items.join(", "))));
    }
    let items = a.iter().map(|v| value_to_json(v, env.zone())).collect::<Result<_>>()?;
    Ok(result(&Json::Array(items), jsonb))
}

fn json_build_object(a: &[Value], env: &dyn FunctionEnv) -> Result<Value> {
    build_object(a, env, false)
}

fn jsonb_build_object(a: &[Value], env: &dyn FunctionEnv) -> Result<Value> {
    build_object(a, env, true)
}

fn json_build_array(a: &[Value], env: &dyn FunctionEnv) -> Result<Value> {
    build_array(a, env, false)
}

fn jsonb_build_array(a: &[Value], env: &dyn FunctionEnv) -> Result<Value> {
    build_array(a, env, true)
}

fn typeof_(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    Ok(Value::Text(
        match parse(text(&a[0]))? {
            Json::Null => "null",
            Json::Bool(_) => "boolean",
            Json::Number(_) => "number",
            Json::String(_) => "string",
            Json::Array(_) => "array",
            Json::Object(_) => "object",
        }
        .into(),
    ))
}

fn array_length(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    match parse(text(&a[0]))? {
        Json::Array(items) => Ok(Value::Int4(items.len() as i32)),
        Json::Object(_) => {
            Err(errinput!(INVALID_PARAMETER_VALUE, "cannot get array length of a non-array"))
        }
        _ => Err(errinput!(INVALID_PARAMETER_VALUE, "cannot get array length of a scalar")),
    }
}

fn object_length(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    match parse(text(&a[0]))? {
        Json::Object(map) => Ok(Value::Int4(map.len() as i32)),
        _ => Err(errinput!(INVALID_PARAMETER_VALUE, "cannot get object length of a non-object")),
    }
}

fn walk<'a>(json: &'a Json, path: &[Value]) -> Option<&'a Json> {
    let mut current = json;
    for key in path {
        current = match current {
            Json::Object(map) => map.get(text(key))?,
            Json::Array(items) => {
                let i: i64 = text(key).parse().ok()?;
                let i = if i < 0 { items.len() as i64 + i } else { i };
                items.get(usize::try_from(i).ok()?)?
            }
            _ => return None,
        };
    }
    Some(current)
}

fn extract_path(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    let json = parse(text(&a[0]))?;
    Ok(walk(&json, &a[1..]).map_or(Value::Null, |found| wrap(found, &a[0])))
}

fn extract_path_text(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    let json = parse(text(&a[0]))?;
    Ok(walk(&json, &a[1..]).map_or(Value::Null, as_text))
}

fn set_path(json: &mut Json, path: &[String], new: Json, create: bool) {
    let Some((first, rest)) = path.split_first() else {
        *json = new;
        return;
    };
    match json {
        Json::Object(map) => {
            if rest.is_empty() {
                if create || map.contains_key(first) {
                    map.insert(first.clone(), new);
                }
            } else if let Some(child) = map.get_mut(first) {
                set_path(child, rest, new, create);
            }
        }
        Json::Array(items) => {
            let Ok(i) = first.parse::<i64>() else { return };
            let len = items.len() as i64;
            let index = if i < 0 { len + i } else { i };
            if rest.is_empty() {
                if (0..len).contains(&index) {
                    items[index as usize] = new;
                } else if create {
                    if index >= len { items.push(new) } else { items.insert(0, new) }
                }
            } else if (0..len).contains(&index) {
                set_path(&mut items[index as usize], rest, new, create);
            }
        }
        _ => {}
    }
}

fn jsonb_set(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    let mut json = parse(text(&a[0]))?;
    let Value::Array(path) = &a[1] else { return Ok(Value::Null) };
    let path: Vec<String> = path.elements.iter().map(|e| text(e).to_string()).collect();
    let create = a.get(3).is_none_or(|v| matches!(v, Value::Bool(true)));
    set_path(&mut json, &path, parse(text(&a[2]))?, create);
    Ok(Value::Jsonb(jsonb_text(&json)))
}

fn pretty(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    fn write(out: &mut String, json: &Json, indent: usize) {
        let pad = "    ".repeat(indent + 1);
        let close = "    ".repeat(indent);
        match json {
            Json::Object(map) if !map.is_empty() => {
                out.push_str("{\n");
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort_by(|a, b| a.len().cmp(&b.len()).then(a.cmp(b)));
                for (i, k) in keys.into_iter().enumerate() {
                    if i > 0 {
                        out.push_str(",\n");
                    }
                    out.push_str(&format!("{pad}{}: ", Json::String(k.clone())));
                    write(out, &map[k], indent + 1);
                }
                out.push_str(&format!("\n{close}}}"));
            }
            Json::Array(items) if !items.is_empty() => {
                out.push_str("[\n");
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(",\n");
                    }
                    out.push_str(&pad);
                    write(out, item, indent + 1);
                }
                out.push_str(&format!("\n{close}]"));
            }
            other => out.push_str(&jsonb_text(other)),
        }
    }
    let mut out = String::new();
    write(&mut out, &parse(text(&a[0]))?, 0);
    Ok(Value::Text(out))
}

fn strip(json: Json) -> Json {
    match json {
        Json::Object(map) => Json::Object(
            map.into_iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k, strip(v))).collect(),
        ),
        Json::Array(items) => Json::Array(items.into_iter().map(strip).collect()),
        other => other,
    }
}

fn strip_nulls(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    Ok(wrap(&strip(parse(text(&a[0]))?), &a[0]))
}

/// Builds the value of `json_agg`/`jsonb_agg` from collected values.
pub fn aggregate_array(values: &[Value], zone: &Zone, jsonb: bool) -> Result<Value> {
    let items = values.iter().map(|v| value_to_json(v, zone)).collect::<Result<_>>()?;
    Ok(result(&Json::Array(items), jsonb))
}

/// Builds the value of `json_agg` as PostgreSQL writes it: each value's json text (json kept
/// as written), separated by ", ", and by a newline too before an array or a row (not before
/// a NULL).
pub fn aggregate_json_text(values: &[Value], zone: &Zone, rows: bool) -> Result<Value> {
    let mut out = String::from("[");
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            // PostgreSQL breaks the line before a row or array, not before a NULL.
            let nested = matches!(v, Value::Array(_) | Value::Record(_)) || (rows && !v.is_null());
            out.push_str(if nested { ", \n " } else { ", " });
        }
        out.push_str(&json_arg_text(v, zone)?);
    }
    out.push(']');
    Ok(Value::Json(out))
}

/// Builds the value of `json_object_agg`/`jsonb_object_agg` from key/value pairs.
pub fn aggregate_object(pairs: &[(Value, Value)], zone: &Zone, jsonb: bool) -> Result<Value> {
    let mut map = serde_json::Map::new();
    for (k, v) in pairs {
        if k.is_null() {
            return Err(errinput!(NULL_VALUE_NOT_ALLOWED, "field name must not be null"));
        }
        map.insert(format_value(k, zone).unwrap_or_default(), value_to_json(v, zone)?);
    }
    Ok(result(&Json::Object(map), jsonb))
}

/// Converts a jsonb array element for json_array_elements and friends.
pub fn elements(doc: &Value, as_text_result: bool) -> Result<Vec<Value>> {
    match parse(text(doc))? {
        Json::Array(items) => Ok(items
            .iter()
            .map(|i| if as_text_result { as_text(i) } else { wrap(i, doc) })
            .collect()),
        _ => Err(errinput!(
            INVALID_PARAMETER_VALUE,
            "cannot extract elements from a scalar or object"
        )),
    }
}

/// Key/value pairs of a JSON object for json_each and friends.
pub fn entries(doc: &Value, as_text_result: bool) -> Result<Vec<(Value, Value)>> {
    match parse(text(doc))? {
        Json::Object(map) => Ok(map
            .iter()
            .map(|(k, v)| {
                (Value::Text(k.clone()), if as_text_result { as_text(v) } else { wrap(v, doc) })
            })
            .collect()),
        _ => Err(errinput!(INVALID_PARAMETER_VALUE, "cannot deconstruct a non-object")),
    }
}

/// The rows of `json[b]_to_record` (`set`: `json[b]_to_recordset`, named `name`): each object
/// gives one row of the declared `columns`, each the value of the key of that name converted
/// as PostgreSQL's populate_record does (a missing key or JSON null is NULL; a string is
/// read by the column type's input function; arrays become arrays for array columns; json
/// columns take the JSON value). Absent keys take `base`'s fields (json[b]_populate_record's
/// first argument) or NULL. A NULL document is one row of the base, or none for a set.
pub fn to_records(
    doc: &Value,
    set: bool,
    name: &str,
    columns: &[(String, DataType)],
    base: Option<&[Value]>,
    zone: &Zone,
) -> Result<Vec<Vec<Value>>> {
    let absent = |i: usize| base.and_then(|b| b.get(i).cloned()).unwrap_or(Value::Null);
    if doc.is_null() {
        return Ok(if set { vec![] } else { vec![(0..columns.len()).map(absent).collect()] });
    }
    let json = parse(text(doc))?;
    let objects = match (&json, set) {
        (Json::Object(_), false) => vec![&json],
        (Json::Array(_), false) => {
            return Err(errinput!(
                INVALID_PARAMETER_VALUE,
                "cannot call populate_composite on an array"
            ));
        }
        (_, false) => {
            return Err(errinput!(
                INVALID_PARAMETER_VALUE,
                "cannot call populate_composite on a scalar"
            ));
        }
        (Json::Array(items), true) => items.iter().collect(),
        (_, true) => {
            return Err(errinput!(INVALID_PARAMETER_VALUE, "cannot call {name} on a non-array"));
        }
    };
    objects
        .into_iter()
        .map(|object| {
            let Json::Object(map) = object else {
                return Err(errinput!(
                    INVALID_PARAMETER_VALUE,
                    "argument of {name} must be an array of objects"
                ));
            };
            columns
                .iter()
                .enumerate()
                .map(|(i, (key, ty))| {
                    map.get(key).map_or_else(|| Ok(absent(i)), |v| from_json(v, ty, zone))
                })
                .collect()
        })
        .collect()
}

/// One JSON value as a value of `ty` (populate_record's conversion).
fn from_json(json: &Json, ty: &DataType, zone: &Zone) -> Result<Value> {
    Ok(match (json, ty) {
        (Json::Null, _) => Value::Null,
        (json, JsonT) => Value::Json(json.to_string()),
        (json, Jsonb) => Value::Jsonb(jsonb_text(json)),
        (Json::Array(items), DataType::Array(element)) => {
            Value::Array(Box::new(oxibase_common::Array {
                element_type: (**element).clone(),
                elements: items
                    .iter()
                    .map(|i| from_json(i, element, zone))
                    .collect::<Result<_>>()?,
            }))
        }
        (json, ty) => {
            let text = match as_text(json) {
                Value::Text(s) => s,
                _ => String::new(),
            };
            let assign = crate::types::cast::CastKind::Assignment;
            crate::types::cast::cast(Value::Text(text), ty, assign, zone)?
        }
    })
}

/// Reads an integer for callers that index JSON arrays.
pub fn index(v: &Value) -> i64 {
    int(v)
}

thread_local! {
    /// The path a function was last called with, parsed: a query calls one path per row.
    static LAST_PATH: std::cell::RefCell<Option<(String, std::rc::Rc<jsonpath::Path>)>> =
        const { std::cell::RefCell::new(None) };
}

fn parsed_path(text: &str) -> Result<std::rc::Rc<jsonpath::Path>> {
    LAST_PATH.with(|last| {
        if let Some((t, p)) = last.borrow().as_ref()
            && t == text
        {
            return Ok(p.clone());
        }
        let path = std::rc::Rc::new(jsonpath::parse(text)?);
        *last.borrow_mut() = Some((text.to_string(), path.clone()));
        Ok(path)
    })
}

/// Runs `jsonb_path_*(target, path [, vars [, silent]])`: the items, or None when silent
/// swallowed an error.
fn run_path(a: &[Value], silent: bool) -> Result<Option<Vec<Json>>> {
    let path = parsed_path(text(&a[1]))?;
    let doc = parse(text(&a[0]))?;
    let vars = match a.get(2) {
        Some(v) => parse(text(v))?,
        None => Json::Null,
    };
    let silent = silent || matches!(a.get(3), Some(Value::Bool(true)));
    jsonpath::query(&path, &doc, &vars, silent)
}

/// The items of `jsonb_path_query(target, path [, vars [, silent]])`.
pub fn path_query(a: &[Value]) -> Result<Vec<Value>> {
    Ok(run_path(a, false)?
        .unwrap_or_default()
        .iter()
        .map(|j| Value::Jsonb(jsonb_text(j)))
        .collect())
}

fn path_exists(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    Ok(run_path(a, false)?.map_or(Value::Null, |items| Value::Bool(!items.is_empty())))
}

fn path_exists_silent(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    Ok(run_path(a, true)?.map_or(Value::Null, |items| Value::Bool(!items.is_empty())))
}

fn match_result(a: &[Value], silent: bool) -> Result<Value> {
    let silent = silent || matches!(a.get(3), Some(Value::Bool(true)));
    Ok(match run_path(a, silent)? {
        None => Value::Null,
        Some(items) => jsonpath::single_boolean(&items, silent)?.map_or(Value::Null, Value::Bool),
    })
}

fn path_match(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    match_result(a, false)
}

fn path_match_silent(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    match_result(a, true)
}

fn path_query_array(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    Ok(run_path(a, false)?
        .map_or(Value::Null, |items| Value::Jsonb(jsonb_text(&Json::Array(items)))))
}

fn path_query_first(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    Ok(run_path(a, false)?
        .and_then(|items| items.into_iter().next())
        .map_or(Value::Null, |j| Value::Jsonb(jsonb_text(&j))))
}
