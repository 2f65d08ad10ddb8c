//! JSON operators (PostgreSQL docs, "JSON Functions and Operators").
//!
//! `json` values keep the text as written; `jsonb` values are stored normalised (see
//! `text::normalize_jsonb`). Operators parse their operands with serde_json and return the
//! same kind they were given.

use oxibase_common::{Result, Value, errinput};
use serde_json::Value as Json;

use super::text::jsonb_text;

/// Parses a json or jsonb value's text.
pub fn parse(text: &str) -> Result<Json> {
    serde_json::from_str(text).map_err(|e| {
        errinput!(INVALID_TEXT_REPRESENTATION, "invalid input syntax for type json")
            .with_detail(e.to_string())
    })
}

/// Wraps a JSON value as the same kind (json or jsonb) as `like`.
pub fn wrap(json: &Json, like: &Value) -> Value {
    match like {
        Value::Json(_) => Value::Json(json.to_string()),
        _ => Value::Jsonb(jsonb_text(json)),
    }
}

/// The text of a JSON value as `->>` returns it: strings unquoted, null as SQL NULL.
pub fn as_text(json: &Json) -> Value {
    match json {
        Json::Null => Value::Null,
        Json::String(s) => Value::Text(s.clone()),
        other => Value::Text(jsonb_text(other)),
    }
}

fn text_of(v: &Value) -> Option<&str> {
    match v {
        Value::Json(s) | Value::Jsonb(s) => Some(s),
        _ => None,
    }
}

/// Steps into an object by key or an array by index (negative counts from the end).
fn step<'a>(json: &'a Json, key: &Value) -> Option<&'a Json> {
    match (json, key) {
        (Json::Object(map), Value::Text(k)) => map.get(k),
        (Json::Array(items), Value::Int2(_) | Value::Int4(_) | Value::Int8(_)) => {
            let i = super::compare::as_i64(key);
            let i = if i < 0 { items.len() as i64 + i } else { i };
            usize::try_from(i).ok().and_then(|i| items.get(i))
        }
        (Json::Array(items), Value::Text(k)) => k.parse::<i64>().ok().and_then(|i| {
            let i = if i < 0 { items.len() as i64 + i } else { i };
            usize::try_from(i).ok().and_then(|i| items.get(i))
        }),
        _ => None,
    }
}

/// `json -> key`, or with `as_text`, `json ->> key`.
pub fn get(doc: &Value, key: &Value, as_text_result: bool) -> Result<Value> {
    let Some(text) = text_of(doc) else { return Ok(Value::Null) };
    let json = parse(text)?;
    Ok(match step(&json, key) {
        None => Value::Null,
        Some(found) if as_text_result => as_text(found),
        Some(found) => wrap(found, doc),
    })
}

/// `json #> path`, or with `as_text`, `json #>> path`.
pub fn get_path(doc: &Value, path: &Value, as_text_result: bool) -> Result<Value> {
    let (Some(text), Value::Array(path)) = (text_of(doc), path) else { return Ok(Value::Null) };
    let json = parse(text)?;
    let mut current = &json;
    for key in &path.elements {
        match step(current, key) {
            Some(next) => current = next,
            None => return Ok(Value::Null),
        }
    }
    Ok(if as_text_result { as_text(current) } else { wrap(current, doc) })
}

/// `a @> b` for jsonb: PostgreSQL's containment.
pub fn contains(a: &Value, b: &Value) -> Result<bool> {
    let (Some(x), Some(y)) = (text_of(a), text_of(b)) else { return Ok(false) };
    Ok(json_contains(&parse(x)?, &parse(y)?, true))
}

fn json_contains(a: &Json, b: &Json, top: bool) -> bool {
    match (a, b) {
        (Json::Object(x), Json::Object(y)) => {
            y.iter().all(|(k, v)| x.get(k).is_some_and(|xv| json_contains(xv, v, false)))
        }
        (Json::Array(x), Json::Array(y)) => {
            y.iter().all(|v| x.iter().any(|xv| json_contains(xv, v, false)))
        }
        // A top-level array contains a primitive that is one of its elements.
        (Json::Array(x), prim) if top && !prim.is_object() && !prim.is_array() => {
            x.iter().any(|xv| xv == prim)
        }
        (Json::Number(x), Json::Number(y)) => x.as_f64() == y.as_f64(),
        (x, y) => x == y,
    }
}

/// `jsonb ? key`: a top-level key (or array string element) exists.
pub fn exists(doc: &Value, key: &str) -> Result<bool> {
    let Some(text) = text_of(doc) else { return Ok(false) };
    Ok(match parse(text)? {
        Json::Object(map) => map.contains_key(key),
        Json::Array(items) => items.iter().any(|i| i.as_str() == Some(key)),
        Json::String(s) => s == key,
        _ => false,
    })
}

/// `jsonb || jsonb`: objects merge (right wins), arrays concatenate, others become arrays.
pub fn merge(a: &str, b: &str) -> Result<String> {
    let (x, y) = (parse(a)?, parse(b)?);
    let merged = match (x, y) {
        (Json::Object(mut l), Json::Object(r)) => {
            l.extend(r);
            Json::Object(l)
        }
        (Json::Array(mut l), Json::Array(r)) => {
            l.extend(r);
            Json::Array(l)
        }
        (Json::Array(mut l), r) => {
            l.push(r);
            Json::Array(l)
        }
        (l, Json::Array(r)) => Json::Array(std::iter::once(l).chain(r).collect()),
        (l, r) => Json::Array(vec![l, r]),
    };
    Ok(jsonb_text(&merged))
}

/// `jsonb - key` (or `- index`): removes a key or array element.
pub fn delete(doc: &Value, key: &Value) -> Result<Value> {
    let Some(text) = text_of(doc) else { return Ok(Value::Null) };
    let json = match (parse(text)?, key) {
        (Json::Object(mut map), Value::Text(k)) => {
            map.shift_remove(k);
            Json::Object(map)
        }
        (Json::Array(items), Value::Text(k)) => {
            Json::Array(items.into_iter().filter(|i| i.as_str() != Some(k)).collect())
        }
        (Json::Array(mut items), k) => {
            let i = super::compare::as_i64(k);
            let i = if i < 0 { items.len() as i64 + i } else { i };
            if let Ok(i) = usize::try_from(i)
                && i < items.len()
            {
                items.remove(i);
            }
            Json::Array(items)
        }
        (other, _) => {
            return Err(errinput!(
                INVALID_PARAMETER_VALUE,
                "cannot delete from {}",
                if other.is_object() { "object using integer index" } else { "scalar" }
            ));
        }
    };
    Ok(wrap(&json, doc))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jb(s: &str) -> Value {
        Value::Jsonb(crate::types::text::normalize_jsonb(s).unwrap())
    }

    #[test]
    fn access_and_containment() {
        let doc = jb(r#"{"a": {"b": [10, "x", null]}, "n": 1}"#);
        assert_eq!(get(&doc, &Value::from("n"), false).unwrap(), jb("1"));
        assert_eq!(
            get(&doc, &Value::from("a"), true).unwrap(),
            Value::from(r#"{"b": [10, "x", null]}"#)
        );
        let path = crate::types::text::parse_value(
            "{a,b,1}",
            &oxibase_common::DataType::Array(Box::new(oxibase_common::DataType::Text)),
            &crate::types::datetime::Zone::UTC,
        )
        .unwrap();
        assert_eq!(get_path(&doc, &path, true).unwrap(), Value::from("x"));
        assert_eq!(get(&jb("[1,2,3]"), &Value::Int4(-1), false).unwrap(), jb("3"));
        assert_eq!(get(&doc, &Value::from("missing"), true).unwrap(), Value::Null);
        assert!(contains(&doc, &jb(r#"{"a": {"b": [10]}}"#)).unwrap());
        assert!(!contains(&doc, &jb(r#"{"a": {"b": [11]}}"#)).unwrap());
        assert!(contains(&jb("[1, 2, [3]]"), &jb("2")).unwrap());
        assert!(exists(&doc, "n").unwrap() && !exists(&doc, "b").unwrap());
        assert_eq!(merge(r#"{"a":1}"#, r#"{"b":2,"a":3}"#).unwrap(), r#"{"a": 3, "b": 2}"#);
        assert_eq!(delete(&jb(r#"{"a":1,"b":2}"#), &Value::from("a")).unwrap(), jb(r#"{"b":2}"#));
    }
}
