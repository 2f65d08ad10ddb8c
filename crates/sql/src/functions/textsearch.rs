//! Full text search functions and the functions behind its operators (`@@`, `||`, `&&`,
//! `!!`); the types and algorithms are in [`crate::tsearch`].

use oxibase_common::{Array, DataType, Result, Value, errinput};

use super::FunctionEnv;
use super::scalar::{Resolved, fixed, float, int, intern, text, volatile};
use crate::tsearch::{self, Config, Pos, TsQuery, TsVector, rank};
use crate::types::SqlType;

use DataType::{Bool, Float4, Int4, InternalChar, Json, Jsonb, Text, TsQuery as Q, TsVector as V};

/// Resolves a text search function.
pub fn resolve(name: &str, args: &[SqlType]) -> Option<Resolved> {
    let f = |eval, params: &[DataType], ret| fixed(intern(name), eval, args, params, ret);
    // Those that read default_text_search_config are stable, not immutable.
    let stable = |eval, params: &[DataType], ret| f(eval, params, ret).map(volatile);
    let weights = DataType::Array(Box::new(Float4));
    let text_array = DataType::Array(Box::new(Text));
    match (name, args.len()) {
        // json before jsonb: json would otherwise be cast to jsonb, reordering its keys.
        ("to_tsvector", 1) => {
            let json = |a: &[Value], env: &dyn FunctionEnv| {
                json_tsvector(default_config(env)?, &a[0], None)
            };
            stable(|a, env| vector(&to_tsvector(default_config(env)?, &a[0])), &[Text], V)
                .or_else(|| stable(json, &[Json], V))
                .or_else(|| stable(json, &[Jsonb], V))
        }
        ("to_tsvector", 2) => {
            let json =
                |a: &[Value], _: &dyn FunctionEnv| json_tsvector(config(&a[0])?, &a[1], None);
            f(|a, _| vector(&to_tsvector(config(&a[0])?, &a[1])), &[Text, Text], V)
                .or_else(|| f(json, &[Text, Json], V))
                .or_else(|| f(json, &[Text, Jsonb], V))
        }
        ("jsonb_to_tsvector" | "json_to_tsvector", 2) => {
            let doc = if name == "jsonb_to_tsvector" { Jsonb } else { Json };
            stable(
                |a, env| json_tsvector(default_config(env)?, &a[0], Some(&a[1])),
                &[doc, Jsonb],
                V,
            )
        }
        ("jsonb_to_tsvector" | "json_to_tsvector", 3) => {
            let doc = if name == "jsonb_to_tsvector" { Jsonb } else { Json };
            f(|a, _| json_tsvector(config(&a[0])?, &a[1], Some(&a[2])), &[Text, doc, Jsonb], V)
        }
        ("to_tsquery" | "plainto_tsquery" | "phraseto_tsquery" | "websearch_to_tsquery", 1) => {
            stable(query_function(name), &[Text], Q)
        }
        ("to_tsquery" | "plainto_tsquery" | "phraseto_tsquery" | "websearch_to_tsquery", 2) => {
            f(query_function(name), &[Text, Text], Q)
        }
        ("get_current_ts_config", 0) => {
            stable(|_, env| Ok(Value::Text(default_config(env)?.name.into())), &[], Text)
        }
        ("ts_headline", 2) => {
            stable(|a, env| ts_headline(default_config(env)?, &a[0], &a[1], None), &[Text, Q], Text)
        }
        ("ts_headline", 3) => stable(
            |a, env| ts_headline(default_config(env)?, &a[0], &a[1], Some(&a[2])),
            &[Text, Q, Text],
            Text,
        )
        .or_else(|| {
            f(|a, _| ts_headline(config(&a[0])?, &a[1], &a[2], None), &[Text, Text, Q], Text)
        }),
        ("ts_headline", 4) => f(
            |a, _| ts_headline(config(&a[0])?, &a[1], &a[2], Some(&a[3])),
            &[Text, Text, Q, Text],
            Text,
        ),
        ("ts_rank" | "ts_rank_cd", 2) => f(rank_function(name), &[V, Q], Float4),
        ("ts_rank" | "ts_rank_cd", 3) => f(rank_function(name), &[V, Q, Int4], Float4)
            .or_else(|| f(rank_function(name), &[weights, V, Q], Float4)),
        ("ts_rank" | "ts_rank_cd", 4) => f(rank_function(name), &[weights, V, Q, Int4], Float4),
        ("setweight", 2) => f(setweight, &[V, InternalChar], V),
        ("setweight", 3) => f(setweight, &[V, InternalChar, text_array], V),
        ("strip", 1) => f(|a, _| vector(&map_vector(&a[0], |_, p| p.clear())?), &[V], V),
        ("length", 1) => {
            f(|a, _| Ok(Value::Int4(parse_vector(&a[0])?.entries.len() as i32)), &[V], Int4)
        }
        ("numnode", 1) => f(|a, _| Ok(Value::Int4(parse_query(&a[0])?.node_count())), &[Q], Int4),
        ("tsvector_to_array", 1) => f(tsvector_to_array, &[V], text_array),
        ("array_to_tsvector", 1) => f(array_to_tsvector, &[text_array], V),
        ("tsquery_phrase", 2) => f(|a, _| combine(a, '<', 1), &[Q, Q], Q),
        ("tsquery_phrase", 3) => f(tsquery_phrase, &[Q, Q, Int4], Q),
        ("ts_match_vq" | "oxibase_ts_match", 2) => f(match_vq, &[V, Q], Bool)
            .or_else(|| f(match_qv, &[Q, V], Bool))
            .or_else(|| stable(match_tq, &[Text, Q], Bool))
            .or_else(|| stable(match_tt, &[Text, Text], Bool)),
        ("ts_match_qv", 2) => f(match_qv, &[Q, V], Bool),
        ("ts_match_tq", 2) => stable(match_tq, &[Text, Q], Bool),
        ("ts_match_tt", 2) => stable(match_tt, &[Text, Text], Bool),
        ("tsvector_concat" | "oxibase_tsvector_concat", 2) => f(concat, &[V, V], V),
        ("tsquery_and" | "oxibase_tsquery_and", 2) => f(|a, _| combine(a, '&', 0), &[Q, Q], Q),
        ("tsquery_or" | "oxibase_tsquery_or", 2) => f(|a, _| combine(a, '|', 0), &[Q, Q], Q),
        ("tsquery_not" | "oxibase_tsquery_not", 1) => {
            f(|a, _| query(&parse_query(&a[0])?.negate()?), &[Q], Q)
        }
        _ => None,
    }
}

fn parse_vector(v: &Value) -> Result<TsVector> {
    TsVector::parse(text(v))
}

fn parse_query(v: &Value) -> Result<TsQuery> {
    TsQuery::parse(text(v))
}

/// A query argument, parsed: the last one parsed on this thread is kept, since a statement
/// matches or ranks every row against the same query.
fn cached_query(v: &Value) -> Result<std::rc::Rc<TsQuery>> {
    type Last = std::cell::RefCell<Option<(String, std::rc::Rc<TsQuery>)>>;
    thread_local! {
        static LAST: Last = const { std::cell::RefCell::new(None) };
    }
    let input = text(v);
    let hit = LAST
        .with(|last| last.borrow().as_ref().filter(|(t, _)| t == input).map(|(_, q)| q.clone()));
    if let Some(q) = hit {
        return Ok(q);
    }
    let q = std::rc::Rc::new(TsQuery::parse(input)?);
    LAST.with(|last| *last.borrow_mut() = Some((input.to_string(), q.clone())));
    Ok(q)
}

fn vector(v: &TsVector) -> Result<Value> {
    Ok(Value::Text(v.to_text()))
}

fn query(q: &TsQuery) -> Result<Value> {
    Ok(Value::Text(q.to_text()))
}

fn config(v: &Value) -> Result<&'static Config> {
    tsearch::config_named(text(v))
}

/// The configuration default_text_search_config names.
fn default_config(env: &dyn FunctionEnv) -> Result<&'static Config> {
    let name = env.setting("default_text_search_config")?.unwrap_or_else(|| "english".into());
    tsearch::config_named(&name)
}

fn to_tsvector(config: &Config, document: &Value) -> TsVector {
    config.to_tsvector(text(document))
}

/// The `to_tsquery` family: one or two arguments (configuration, text).
fn query_function(name: &str) -> super::scalar::Eval {
    fn run(
        a: &[Value],
        env: &dyn FunctionEnv,
        id: &'static str,
        f: fn(&Config, &str) -> Result<TsQuery>,
    ) -> Result<Value> {
        let (config, input) = match a {
            [c, t] => (config(c)?, t),
            [t] => (default_config(env)?, t),
            _ => return Err(errinput!(UNDEFINED_FUNCTION, "wrong number of arguments")),
        };
        // The last result on this thread is kept: a query built from constants in a WHERE
        // clause is built again for every row, from the same arguments.
        type Key = (&'static str, &'static str, String);
        thread_local! {
            static LAST: std::cell::RefCell<Option<(Key, Value)>> =
                const { std::cell::RefCell::new(None) };
        }
        let input = text(input);
        let hit = LAST.with(|last| {
            let last = last.borrow();
            let ((i, c, t), v) = last.as_ref()?;
            (*i == id && *c == config.name && t == input).then(|| v.clone())
        });
        if let Some(v) = hit {
            return Ok(v);
        }
        let v = query(&f(config, input)?)?;
        LAST.with(|last| {
            *last.borrow_mut() = Some(((id, config.name, input.to_string()), v.clone()))
        });
        Ok(v)
    }
    match name {
        "to_tsquery" => |a, env| run(a, env, "to", TsQuery::to_tsquery),
        "plainto_tsquery" => |a, env| run(a, env, "plain", |c, t| Ok(TsQuery::plain(c, t))),
        "phraseto_tsquery" => |a, env| run(a, env, "phrase", TsQuery::phrase),
        _ => |a, env| run(a, env, "websearch", TsQuery::websearch),
    }
}

fn match_vq(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    Ok(Value::Bool(cached_query(&a[1])?.matches(&parse_vector(&a[0])?)))
}

fn match_qv(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    Ok(Value::Bool(cached_query(&a[0])?.matches(&parse_vector(&a[1])?)))
}

/// `text @@ tsquery`: the text as `to_tsvector` makes it.
fn match_tq(a: &[Value], env: &dyn FunctionEnv) -> Result<Value> {
    let v = to_tsvector(default_config(env)?, &a[0]);
    Ok(Value::Bool(cached_query(&a[1])?.matches(&v)))
}

/// `text @@ text`: `to_tsvector(a) @@ plainto_tsquery(b)`.
fn match_tt(a: &[Value], env: &dyn FunctionEnv) -> Result<Value> {
    let config = default_config(env)?;
    let v = to_tsvector(config, &a[0]);
    Ok(Value::Bool(TsQuery::plain(config, text(&a[1])).matches(&v)))
}

/// `ts_rank` or `ts_rank_cd`.
fn rank_function(name: &str) -> super::scalar::Eval {
    if name == "ts_rank_cd" {
        |a, _| ranked(a, rank::ts_rank_cd)
    } else {
        |a, _| ranked(a, rank::ts_rank)
    }
}

/// `ts_rank[_cd]([weights,] vector, query [, normalization])`.
fn ranked(a: &[Value], rank: fn(&[f32; 4], &TsVector, &TsQuery, i32) -> f32) -> Result<Value> {
    let (weights, rest) = match &a[0] {
        Value::Array(w) => {
            let values: Vec<Option<f64>> =
                w.elements.iter().map(|v| (!v.is_null()).then(|| float(v))).collect();
            (rank::weights(&values)?, &a[1..])
        }
        _ => (rank::DEFAULT_WEIGHTS, a),
    };
    let method = rest.get(2).map_or(0, int);
    let (v, q) = (parse_vector(&rest[0])?, cached_query(&rest[1])?);
    Ok(Value::Float4(rank(&weights, &v, &q, method as i32)))
}

/// The weight a `"char"` names: A, B, C or D (either case).
fn weight_of(v: &Value) -> Result<u8> {
    match text(v).to_ascii_uppercase().as_str() {
        "A" => Ok(3),
        "B" => Ok(2),
        "C" => Ok(1),
        "D" => Ok(0),
        other => Err(errinput!(INVALID_PARAMETER_VALUE, "unrecognized weight: \"{other}\"")),
    }
}

fn map_vector(v: &Value, f: impl Fn(&str, &mut Vec<Pos>)) -> Result<TsVector> {
    let mut vector = parse_vector(v)?;
    for (lexeme, positions) in vector.entries.iter_mut() {
        f(lexeme, positions);
    }
    Ok(vector)
}

/// `setweight(vector, weight [, lexemes])`: sets the weight of every position (of the
/// lexemes listed).
fn setweight(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    let weight = weight_of(&a[1])?;
    let only: Option<Vec<String>> = match a.get(2) {
        Some(Value::Array(list)) => {
            if list.elements.iter().any(Value::is_null) {
                return Err(errinput!(
                    NULL_VALUE_NOT_ALLOWED,
                    "lexeme array may not contain nulls"
                ));
            }
            Some(list.elements.iter().map(|e| text(e).to_string()).collect())
        }
        _ => None,
    };
    vector(&map_vector(&a[0], |lexeme, positions| {
        if only.as_ref().is_none_or(|l| l.iter().any(|x| x == lexeme)) {
            for p in positions.iter_mut() {
                *p = Pos::new(p.pos(), weight);
            }
        }
    })?)
}

/// `a || b`: b's positions follow a's last position.
fn concat(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    let mut left = parse_vector(&a[0])?;
    let right = parse_vector(&a[1])?;
    let shift = left.max_pos();
    for (lexeme, positions) in right.entries {
        let shifted = positions.into_iter().map(|p| {
            Pos::new(
                (u32::from(p.pos()) + u32::from(shift)).min(u32::from(tsearch::MAX_POS)) as u16,
                p.weight(),
            )
        });
        left.entries.entry(lexeme).or_default().extend(shifted);
    }
    left.normalize();
    vector(&left)
}

fn combine(a: &[Value], op: char, distance: u16) -> Result<Value> {
    query(&parse_query(&a[0])?.combine(parse_query(&a[1])?, op, distance)?)
}

fn tsquery_phrase(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    let d = int(&a[2]);
    if !(0..=i64::from(tsearch::MAX_POS)).contains(&d) {
        return Err(errinput!(
            INVALID_PARAMETER_VALUE,
            "distance in phrase operator must be an integer value between zero and {} inclusive",
            tsearch::MAX_POS
        ));
    }
    combine(a, '<', d as u16)
}

fn tsvector_to_array(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    let v = parse_vector(&a[0])?;
    Ok(Value::Array(Box::new(Array {
        element_type: Text,
        elements: v.entries.into_keys().map(Value::Text).collect(),
    })))
}

fn array_to_tsvector(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    let Value::Array(list) = &a[0] else { return Ok(Value::Null) };
    let mut v = TsVector::default();
    for e in &list.elements {
        if e.is_null() {
            return Err(errinput!(NULL_VALUE_NOT_ALLOWED, "lexeme array may not contain nulls"));
        }
        if text(e).is_empty() {
            return Err(errinput!(
                ZERO_LENGTH_CHARACTER_STRING,
                "lexeme array may not contain empty strings"
            ));
        }
        v.add(text(e).to_string(), None);
    }
    vector(&v)
}

/// `to_tsvector` of a JSON document, or `json[b]_to_tsvector` with a filter: a JSON array
/// of what to index, `"string"`, `"numeric"`, `"boolean"`, `"key"` or `"all"` (strings
/// only without one).
fn json_tsvector(config: &Config, doc: &Value, filter: Option<&Value>) -> Result<Value> {
    let parse = |v: &Value| {
        serde_json::from_str::<serde_json::Value>(text(v)).map_err(|e| {
            errinput!(INVALID_TEXT_REPRESENTATION, "invalid input syntax for type json: {e}")
        })
    };
    let (mut strings, mut numbers, mut booleans, mut keys) = (true, false, false, false);
    if let Some(filter) = filter {
        (strings, numbers, booleans, keys) = (false, false, false, false);
        let kinds = match parse(filter)? {
            serde_json::Value::Array(kinds) => kinds,
            serde_json::Value::String(kind) => vec![serde_json::Value::String(kind)],
            _ => {
                return Err(errinput!(
                    INVALID_PARAMETER_VALUE,
                    "wrong flag type, only arrays and scalars are allowed"
                ));
            }
        };
        for kind in kinds {
            match kind.as_str() {
                Some("string") => strings = true,
                Some("numeric") => numbers = true,
                Some("boolean") => booleans = true,
                Some("key") => keys = true,
                Some("all") => (strings, numbers, booleans, keys) = (true, true, true, true),
                Some(other) => {
                    return Err(errinput!(
                        INVALID_PARAMETER_VALUE,
                        "wrong flag in flag array: \"{other}\""
                    )
                    .with_hint("Possible values are: \"string\", \"numeric\", \"boolean\", \"key\", and \"all\"."));
                }
                None => {
                    return Err(errinput!(INVALID_PARAMETER_VALUE, "flag array element is not a string")
                        .with_hint("Possible values are: \"string\", \"numeric\", \"boolean\", \"key\", and \"all\"."));
                }
            }
        }
    }
    // Document order, without recursion: a stack of what is still to visit.
    enum Visit<'a> {
        Value(&'a serde_json::Value),
        Key(&'a str),
    }
    let mut texts = Vec::new();
    let root = parse(doc)?;
    let mut stack = vec![Visit::Value(&root)];
    while let Some(next) = stack.pop() {
        let v = match next {
            Visit::Key(k) => {
                texts.push(k.to_string());
                continue;
            }
            Visit::Value(v) => v,
        };
        match v {
            serde_json::Value::String(s) if strings => texts.push(s.clone()),
            serde_json::Value::Number(n) if numbers => texts.push(n.to_string()),
            serde_json::Value::Bool(b) if booleans => texts.push(b.to_string()),
            serde_json::Value::Array(items) => stack.extend(items.iter().rev().map(Visit::Value)),
            serde_json::Value::Object(fields) => {
                // Pushed in reverse, each key after its value: popped, the key comes first.
                for (k, v) in fields.iter().rev() {
                    stack.push(Visit::Value(v));
                    if keys {
                        stack.push(Visit::Key(k));
                    }
                }
            }
            _ => {}
        }
    }
    vector(&config.json_to_tsvector(&texts))
}

/// `ts_headline([config,] document, query [, options])`.
fn ts_headline(
    config: &Config,
    document: &Value,
    q: &Value,
    options: Option<&Value>,
) -> Result<Value> {
    let options = tsearch::headline::Options::parse(options.map_or("", text))?;
    let q = cached_query(q)?;
    Ok(Value::Text(tsearch::headline::headline(config, text(document), &q, &options)))
}
