//! String functions (PostgreSQL docs, "String Functions and Operators").

use std::cell::RefCell;
use std::collections::HashMap;

use base64::Engine as _;
use oxibase_common::{Array, DataType, Result, Value, errinput};
use regex::Regex;

use super::FunctionEnv;
use super::scalar::{Resolved, fits, fixed, int, intern, lenient, text};
use crate::types::SqlType;
use crate::types::text::format_value;

use DataType::{Bool, Bytea, Int4, Int8, Text};

fn text_array() -> DataType {
    DataType::Array(Box::new(Text))
}

/// Resolves a string function.
pub fn resolve(name: &str, args: &[SqlType]) -> Option<Resolved> {
    let f = |eval, params: &[DataType], ret| fixed(intern(name), eval, args, params, ret);
    match (name, args.len()) {
        ("length" | "char_length" | "character_length", 1) => f(length, &[Text], Int4)
            .or_else(|| fixed("octet_length", octet_length, args, &[Bytea], Int4)),
        ("octet_length", 1) => {
            f(octet_length, &[Text], Int4).or_else(|| f(octet_length, &[Bytea], Int4))
        }
        ("bit_length", 1) => f(bit_length, &[Text], Int4),
        ("lower", 1) => f(lower, &[Text], Text),
        ("upper", 1) => f(upper, &[Text], Text),
        ("initcap", 1) => f(initcap, &[Text], Text),
        ("substr" | "substring", 2 | 3) if args.first() == Some(&SqlType::Known(Bytea)) => {
            f(substr_bytes, &[Bytea, Int8, Int8][..args.len()], Bytea)
        }
        ("strpos" | "position", 2) if args.first() == Some(&SqlType::Known(Bytea)) => {
            f(position_bytes, &[Bytea, Bytea], Int4)
        }
        ("get_byte", 2) => f(get_byte, &[Bytea, Int4], Int4),
        ("set_byte", 3) => f(set_byte, &[Bytea, Int4, Int4], Bytea),
        ("substr" | "substring", 2) => f(substr, &[Text, Int8], Text),
        ("substr" | "substring", 3) => f(substr, &[Text, Int8, Int8], Text),
        ("strpos" | "position", 2) => f(strpos, &[Text, Text], Int4),
        ("replace", 3) => f(replace, &[Text, Text, Text], Text),
        ("btrim" | "trim", 1 | 2) => f(btrim, &[Text, Text][..args.len()], Text),
        ("ltrim", 1 | 2) => f(ltrim, &[Text, Text][..args.len()], Text),
        ("rtrim", 1 | 2) => f(rtrim, &[Text, Text][..args.len()], Text),
        ("lpad", 2 | 3) => f(lpad, &[Text, Int8, Text][..args.len()], Text),
        ("rpad", 2 | 3) => f(rpad, &[Text, Int8, Text][..args.len()], Text),
        ("repeat", 2) => f(repeat, &[Text, Int8], Text),
        ("reverse", 1) => f(reverse, &[Text], Text),
        ("left", 2) => f(left, &[Text, Int8], Text),
        ("right", 2) => f(right, &[Text, Int8], Text),
        ("split_part", 3) => f(split_part, &[Text, Text, Int8], Text),
        ("concat", n) if n >= 1 => Some(any_args(name, concat, args, Text)),
        ("convert_to", 2) => f(convert_to, &[Text, Text], Bytea),
        ("convert_from", 2) => f(convert_from, &[Bytea, Text], Text),
        ("concat_ws", n) if n >= 2 => Some(any_args(name, concat_ws, args, Text)),
        ("format", n) if n >= 1 => Some(any_args(name, format, args, Text)),
        ("md5", 1) => f(md5, &[Text], Text).or_else(|| f(md5, &[Bytea], Text)),
        ("sha256", 1) => f(sha256, &[Bytea], Bytea),
        ("to_hex", 1) => f(to_hex, &[Int4], Text).or_else(|| f(to_hex, &[Int8], Text)),
        ("ascii", 1) => f(ascii, &[Text], Int4),
        ("chr", 1) => f(chr, &[Int8], Text),
        ("starts_with", 2) => f(starts_with, &[Text, Text], Bool),
        ("regexp_replace", 3 | 4) => {
            f(regexp_replace, &[Text, Text, Text, Text][..args.len()], Text)
        }
        ("regexp_match", 2 | 3) => f(regexp_match, &[Text, Text, Text][..args.len()], text_array()),
        ("regexp_split_to_array", 2 | 3) => {
            f(regexp_split_to_array, &[Text, Text, Text][..args.len()], text_array())
        }
        ("substring_regex", 2) => f(substring_regex, &[Text, Text], Text),
        ("like_any", 4) => f(like_any, &[Text, text_array(), Bool, Bool], Bool).map(lenient),
        ("regexp_like", 2 | 3) => f(regexp_like, &[Text, Text, Text][..args.len()], Bool),
        ("regexp_count", 2) => f(regexp_count, &[Text, Text], Int4),
        ("translate", 3) => f(translate, &[Text, Text, Text], Text),
        ("quote_ident", 1) => f(quote_ident, &[Text], Text),
        ("quote_literal", 1) => f(quote_literal, &[Text], Text),
        ("quote_nullable", 1) => f(quote_literal, &[Text], Text).map(lenient),
        ("string_to_array", 2 | 3) => {
            f(string_to_array, &[Text, Text, Text][..args.len()], text_array()).map(lenient)
        }
        ("array_to_string", 2 | 3) => {
            let arr = args.first().and_then(|a| match a {
                SqlType::Known(t @ DataType::Array(_)) => Some(t.clone()),
                _ => None,
            })?;
            f(array_to_string, &[arr, Text, Text][..args.len()], Text)
        }
        ("encode", 2) => f(encode, &[Bytea, Text], Text),
        ("decode", 2) => f(decode, &[Text, Text], Bytea),
        _ => None,
    }
}

fn any_args(name: &str, eval: super::scalar::Eval, args: &[SqlType], ret: DataType) -> Resolved {
    let params: Vec<DataType> = args.iter().map(SqlType::resolve).collect();
    let r = fixed(intern(name), eval, args, &params, ret);
    lenient(r.unwrap_or_else(|| unreachable_resolution(name)))
}

fn unreachable_resolution(name: &str) -> Resolved {
    // NB: every argument fits its own resolved type, so `fixed` cannot fail above.
    Resolved {
        function: super::scalar::ScalarFunction {
            name: intern(name),
            eval: |_, _| Ok(Value::Null),
            strict: true,
            immutable: true,
        },
        return_type: Text,
        arg_types: vec![],
    }
}

fn t(s: impl Into<String>) -> Value {
    Value::Text(s.into())
}

fn length(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    Ok(Value::Int4(text(&a[0]).chars().count() as i32))
}

fn octet_length(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    Ok(Value::Int4(match &a[0] {
        Value::Bytea(b) => b.len(),
        v => text(v).len(),
    } as i32))
}

fn bit_length(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    Ok(Value::Int4(text(&a[0]).len() as i32 * 8))
}

/// Maps each character to its one-character case form, keeping characters whose case form
/// is several characters (`ß`), as PostgreSQL's character-wise towupper/towlower do.
fn map_case(s: &str, upper: bool) -> String {
    s.chars()
        .map(|c| {
            let mut mapped: Vec<char> =
                if upper { c.to_uppercase().collect() } else { c.to_lowercase().collect() };
            if mapped.len() == 1 { mapped.remove(0) } else { c }
        })
        .collect()
}

fn lower(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    Ok(t(map_case(text(&a[0]), false)))
}

/// The encodings Oxibase text converts to and from: its own, UTF-8 (and ASCII, a subset).
fn utf8_encoding(name: &str) -> Result<()> {
    match name.to_ascii_uppercase().replace(['-', '_'], "").as_str() {
        "UTF8" | "UNICODE" | "SQLASCII" => Ok(()),
        _ => Err(errinput!(
            FEATURE_NOT_SUPPORTED,
            "conversion to or from encoding \"{name}\" is not supported; the database encoding is UTF8"
        )),
    }
}

fn convert_to(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    utf8_encoding(text(&a[1]))?;
    Ok(Value::Bytea(text(&a[0]).as_bytes().to_vec()))
}

fn convert_from(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    utf8_encoding(text(&a[1]))?;
    let Value::Bytea(bytes) = &a[0] else { return Ok(Value::Null) };
    String::from_utf8(bytes.clone()).map(Value::Text).map_err(|_| {
        errinput!(CHARACTER_NOT_IN_REPERTOIRE, "invalid byte sequence for encoding \"UTF8\"")
    })
}

fn upper(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    Ok(t(map_case(text(&a[0]), true)))
}

fn initcap(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    let mut out = String::new();
    let mut start = true;
    for c in text(&a[0]).chars() {
        if c.is_alphanumeric() {
            if start {
                out.extend(c.to_uppercase());
            } else {
                out.extend(c.to_lowercase());
            }
            start = false;
        } else {
            out.push(c);
            start = true;
        }
    }
    Ok(t(out))
}

/// PostgreSQL's substring: a 1-based start that may lie before the string, and an optional
/// length counted from that start.
pub fn substr(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    let s: Vec<char> = text(&a[0]).chars().collect();
    let start = int(&a[1]);
    let end = match a.get(2) {
        Some(len) => {
            let len = int(len);
            if len < 0 {
                return Err(errinput!(SUBSTRING_ERROR, "negative substring length not allowed"));
            }
            start.saturating_add(len)
        }
        None => i64::MAX,
    };
    let from = (start.max(1) - 1) as usize;
    let to = (end.max(1) - 1).min(s.len() as i64) as usize;
    Ok(t(if from >= to { String::new() } else { s[from..to].iter().collect() }))
}

fn strpos(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    let (hay, needle) = (text(&a[0]), text(&a[1]));
    Ok(Value::Int4(match hay.find(needle) {
        Some(byte) => hay[..byte].chars().count() as i32 + 1,
        None => 0,
    }))
}

fn replace(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    let from = text(&a[1]);
    if from.is_empty() {
        return Ok(a[0].clone());
    }
    Ok(t(text(&a[0]).replace(from, text(&a[2]))))
}

fn trim_chars(a: &[Value]) -> Vec<char> {
    a.get(1).map_or(vec![' '], |c| text(c).chars().collect())
}

fn btrim(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    let chars = trim_chars(a);
    Ok(t(text(&a[0]).trim_matches(|c| chars.contains(&c))))
}

fn ltrim(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    let chars = trim_chars(a);
    Ok(t(text(&a[0]).trim_start_matches(|c| chars.contains(&c))))
}

fn rtrim(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    let chars = trim_chars(a);
    Ok(t(text(&a[0]).trim_end_matches(|c| chars.contains(&c))))
}

fn pad(a: &[Value], left: bool) -> Result<Value> {
    let s: Vec<char> = text(&a[0]).chars().collect();
    let len = int(&a[1]).max(0) as usize;
    if len > 100_000_000 {
        return Err(errinput!(PROGRAM_LIMIT_EXCEEDED, "requested length too large"));
    }
    let fill: Vec<char> = a.get(2).map_or(vec![' '], |f| text(f).chars().collect());
    if s.len() >= len || fill.is_empty() {
        return Ok(t(s.iter().take(len).collect::<String>()));
    }
    let padding: String = fill.iter().cycle().take(len - s.len()).collect();
    let body: String = s.iter().collect();
    Ok(t(if left { padding + &body } else { body + &padding }))
}

fn lpad(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    pad(a, true)
}

fn rpad(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    pad(a, false)
}

fn repeat(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    let n = int(&a[1]).max(0) as usize;
    let s = text(&a[0]);
    if s.len().saturating_mul(n) > 1 << 30 {
        return Err(errinput!(PROGRAM_LIMIT_EXCEEDED, "requested length too large"));
    }
    Ok(t(s.repeat(n)))
}

fn reverse(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    Ok(t(text(&a[0]).chars().rev().collect::<String>()))
}

fn left(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    let s: Vec<char> = text(&a[0]).chars().collect();
    let n = int(&a[1]);
    let take = if n >= 0 {
        (n as usize).min(s.len())
    } else {
        s.len().saturating_sub(n.unsigned_abs() as usize)
    };
    Ok(t(s[..take].iter().collect::<String>()))
}

fn right(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    let s: Vec<char> = text(&a[0]).chars().collect();
    let n = int(&a[1]);
    let take = if n >= 0 {
        (n as usize).min(s.len())
    } else {
        s.len().saturating_sub(n.unsigned_abs() as usize)
    };
    Ok(t(s[s.len() - take..].iter().collect::<String>()))
}

fn split_part(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    let (s, delim, n) = (text(&a[0]), text(&a[1]), int(&a[2]));
    if n == 0 {
        return Err(errinput!(INVALID_PARAMETER_VALUE, "field position must not be zero"));
    }
    let parts: Vec<&str> = if delim.is_empty() { vec![s] } else { s.split(delim).collect() };
    let index = if n > 0 { n - 1 } else { parts.len() as i64 + n };
    Ok(t(usize::try_from(index).ok().and_then(|i| parts.get(i)).copied().unwrap_or("")))
}

fn display(v: &Value, env: &dyn FunctionEnv) -> Option<String> {
    format_value(v, env.zone())
}

fn concat(a: &[Value], env: &dyn FunctionEnv) -> Result<Value> {
    Ok(t(a.iter().filter_map(|v| display(v, env)).collect::<String>()))
}

fn concat_ws(a: &[Value], env: &dyn FunctionEnv) -> Result<Value> {
    let Some(sep) = display(&a[0], env) else { return Ok(Value::Null) };
    Ok(t(a[1..].iter().filter_map(|v| display(v, env)).collect::<Vec<_>>().join(&sep)))
}

/// `format(fmt, args...)`: `%[position$][flags][width]type` with types s, I, L and `%%`, as
/// PostgreSQL: `%2$s` picks an argument, `-` pads on the right, `*` takes the width from the
/// next argument (a negative one pads on the right).
fn format(a: &[Value], env: &dyn FunctionEnv) -> Result<Value> {
    let Some(fmt) = display(&a[0], env) else { return Ok(Value::Null) };
    let bad = |m: &str| errinput!(INVALID_PARAMETER_VALUE, "{m}");
    let args = &a[1..];
    let mut next = 0; // the next argument taken without a position
    let mut out = String::new();
    let mut chars = fmt.chars().peekable();
    let number = |chars: &mut std::iter::Peekable<std::str::Chars>| -> Option<usize> {
        let mut n: Option<usize> = None;
        while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
            n = Some(n.unwrap_or(0) * 10 + d as usize);
            chars.next();
        }
        n
    };
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'%') {
            chars.next();
            out.push('%');
            continue;
        }
        // An optional `n$` position, flags, then a width (digits or `*`).
        let mut position = None;
        let mut left = false;
        let mut width = None;
        let digits = number(&mut chars);
        if chars.peek() == Some(&'$') {
            chars.next();
            position = Some(digits.filter(|&n| n > 0).ok_or_else(|| {
                bad("format specifies argument 0, but arguments are numbered from 1")
            })?);
        } else {
            width = digits;
        }
        if width.is_none() {
            while chars.peek() == Some(&'-') {
                chars.next();
                left = true;
            }
            if chars.peek() == Some(&'*') {
                chars.next();
                let w = args.get(next).ok_or_else(|| bad("too few arguments for format()"))?;
                next += 1;
                let w = if w.is_null() { 0 } else { int(w) };
                left |= w < 0;
                width = Some(w.unsigned_abs() as usize);
            } else {
                width = number(&mut chars);
            }
        }
        let spec = chars.next().ok_or_else(|| bad("unterminated format() type specifier"))?;
        let index = match position {
            Some(p) => p - 1,
            None => next,
        };
        let arg = args.get(index).ok_or_else(|| bad("too few arguments for format()"))?;
        next = index + 1;
        let text = match spec {
            's' => display(arg, env).unwrap_or_default(),
            'I' => quote_identifier(&display(arg, env).ok_or_else(|| {
                errinput!(
                    NULL_VALUE_NOT_ALLOWED,
                    "null values cannot be formatted as an SQL identifier"
                )
            })?),
            'L' => display(arg, env).map_or("NULL".into(), |s| quote_literal_text(&s)),
            other => {
                return Err(bad(&format!("unrecognized format() type specifier \"{other}\"")));
            }
        };
        let pad = width.unwrap_or(0).saturating_sub(text.chars().count());
        if left {
            out.push_str(&text);
            out.extend(std::iter::repeat_n(' ', pad));
        } else {
            out.extend(std::iter::repeat_n(' ', pad));
            out.push_str(&text);
        }
    }
    Ok(t(out))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn bytes_of(v: &Value) -> &[u8] {
    match v {
        Value::Bytea(b) => b,
        v => text(v).as_bytes(),
    }
}

fn md5(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    use md5::Digest;
    Ok(t(hex(&md5::Md5::digest(bytes_of(&a[0])))))
}

fn sha256(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    use sha2::Digest;
    Ok(Value::Bytea(sha2::Sha256::digest(bytes_of(&a[0])).to_vec()))
}

fn to_hex(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    // A negative number prints as its two's complement in the argument's width.
    Ok(t(match &a[0] {
        Value::Int4(v) => format!("{v:x}"),
        v => format!("{:x}", int(v)),
    }))
}

fn ascii(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    Ok(Value::Int4(text(&a[0]).chars().next().map_or(0, |c| c as i32)))
}

fn chr(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    let code = int(&a[0]);
    let c =
        u32::try_from(code).ok().filter(|c| *c != 0).and_then(char::from_u32).ok_or_else(|| {
            errinput!(PROGRAM_LIMIT_EXCEEDED, "requested character not valid: {code}")
        })?;
    Ok(t(c.to_string()))
}

fn starts_with(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    Ok(Value::Bool(text(&a[0]).starts_with(text(&a[1]))))
}

thread_local! {
    static REGEX_CACHE: RefCell<HashMap<String, Regex>> = RefCell::new(HashMap::new());
}

/// Compiles a regular expression (cached per thread), translating PostgreSQL flags.
pub fn regex(pattern: &str, case_insensitive: bool) -> Result<Regex> {
    let key = format!("{}{pattern}", if case_insensitive { "(?i)" } else { "" });
    REGEX_CACHE.with(|cache| {
        if let Some(r) = cache.borrow().get(&key) {
            return Ok(r.clone());
        }
        let r = Regex::new(&key).map_err(|e| {
            errinput!(INVALID_REGULAR_EXPRESSION, "invalid regular expression: {e}")
        })?;
        let mut cache = cache.borrow_mut();
        if cache.len() > 256 {
            cache.clear();
        }
        cache.insert(key, r.clone());
        Ok(r)
    })
}

fn flags(a: &[Value], at: usize) -> Result<(bool, bool)> {
    let flags = a.get(at).map_or("", text);
    let mut out = (false, false); // (global, case-insensitive)
    for f in flags.chars() {
        match f {
            'g' => out.0 = true,
            'i' => out.1 = true,
            'c' | 'n' | 'p' | 'w' | 'x' | 's' | 't' => {}
            other => {
                return Err(errinput!(
                    INVALID_PARAMETER_VALUE,
                    "invalid regular expression option: \"{other}\""
                ));
            }
        }
    }
    Ok(out)
}

fn regexp_replace(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    let (global, ci) = flags(a, 3)?;
    let re = regex(text(&a[1]), ci)?;
    // PostgreSQL writes back-references as \1; the regex crate as ${1}.
    let replacement = text(&a[2]).replace("\\&", "${0}");
    let replacement = regex::Regex::new(r"\\(\d)")
        .map_or(replacement.clone(), |r| r.replace_all(&replacement, "$${$1}").into_owned());
    let out = if global {
        re.replace_all(text(&a[0]), replacement.as_str())
    } else {
        re.replace(text(&a[0]), replacement.as_str())
    };
    Ok(t(out.into_owned()))
}

fn regexp_match(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    let (_, ci) = flags(a, 2)?;
    let re = regex(text(&a[1]), ci)?;
    let Some(caps) = re.captures(text(&a[0])) else { return Ok(Value::Null) };
    let elements: Vec<Value> = if caps.len() == 1 {
        vec![t(caps.get(0).map_or("", |m| m.as_str()))]
    } else {
        caps.iter().skip(1).map(|m| m.map_or(Value::Null, |m| t(m.as_str()))).collect()
    };
    Ok(Value::Array(Box::new(Array { element_type: Text, elements })))
}

fn regexp_split_to_array(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    let (_, ci) = flags(a, 2)?;
    let re = regex(text(&a[1]), ci)?;
    let s = text(&a[0]);
    // NB: like PostgreSQL, an empty match splits between characters but never at either end.
    let mut elements = Vec::new();
    let mut start = 0;
    for m in re.find_iter(s) {
        if m.start() == m.end() && (m.start() == 0 || m.start() >= s.len()) {
            continue;
        }
        elements.push(t(&s[start..m.start()]));
        start = m.end();
    }
    elements.push(t(&s[start..]));
    Ok(Value::Array(Box::new(Array { element_type: Text, elements })))
}

/// regexp_matches(text, pattern [, flags]): for the first match (every match with 'g'), the
/// captured groups as a text[] (the whole match when the pattern has no groups).
pub fn regexp_matches(a: &[Value]) -> Result<Vec<Value>> {
    if a.iter().take(2).any(Value::is_null) {
        return Ok(Vec::new());
    }
    let (global, ci) = flags(a, 2)?;
    let re = regex(text(&a[1]), ci)?;
    let mut out = Vec::new();
    for caps in re.captures_iter(text(&a[0])) {
        let elements: Vec<Value> = if caps.len() == 1 {
            vec![t(caps.get(0).map_or("", |m| m.as_str()))]
        } else {
            caps.iter().skip(1).map(|m| m.map_or(Value::Null, |m| t(m.as_str()))).collect()
        };
        out.push(Value::Array(Box::new(Array { element_type: Text, elements })));
        if !global {
            break;
        }
    }
    Ok(out)
}

/// substr(bytea, from [, count]), counting bytes from 1 as PostgreSQL does.
fn substr_bytes(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    let Value::Bytea(b) = &a[0] else { return Ok(Value::Null) };
    let from = int(&a[1]);
    let end = match a.get(2) {
        Some(n) if int(n) < 0 => {
            return Err(errinput!(SUBSTRING_ERROR, "negative substring length not allowed"));
        }
        Some(n) => from.saturating_add(int(n)),
        None => i64::MAX,
    };
    let len = b.len() as i64;
    let (lo, hi) = ((from - 1).clamp(0, len), (end - 1).clamp(0, len));
    Ok(Value::Bytea(if lo < hi { b[lo as usize..hi as usize].to_vec() } else { Vec::new() }))
}

/// position(needle in haystack) for bytea: 1-based, 0 when absent.
fn position_bytes(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    let (Value::Bytea(hay), Value::Bytea(needle)) = (&a[0], &a[1]) else { return Ok(Value::Null) };
    let at = if needle.is_empty() {
        Some(0)
    } else {
        hay.windows(needle.len()).position(|w| w == needle.as_slice())
    };
    Ok(Value::Int4(at.map_or(0, |i| i as i32 + 1)))
}

fn byte_index(b: &[u8], n: i64) -> Result<usize> {
    if n < 0 || n as usize >= b.len() {
        return Err(errinput!(
            ARRAY_SUBSCRIPT_ERROR,
            "index {n} out of valid range, 0..{}",
            b.len() as i64 - 1
        ));
    }
    Ok(n as usize)
}

fn get_byte(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    let Value::Bytea(b) = &a[0] else { return Ok(Value::Null) };
    Ok(Value::Int4(b[byte_index(b, int(&a[1]))?] as i32))
}

fn set_byte(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    let Value::Bytea(b) = &a[0] else { return Ok(Value::Null) };
    let mut out = b.clone();
    let i = byte_index(b, int(&a[1]))?;
    out[i] = int(&a[2]) as u8;
    Ok(Value::Bytea(out))
}

/// `x [NOT] [I]LIKE ANY (patterns)`, bound by the binder: (x, patterns, ci, negated).
fn like_any(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    let (Value::Text(x), Value::Array(patterns)) = (&a[0], &a[1]) else { return Ok(Value::Null) };
    let (ci, negated) = (matches!(a[2], Value::Bool(true)), matches!(a[3], Value::Bool(true)));
    let mut saw_null = false;
    for p in &patterns.elements {
        let Value::Text(p) = p else {
            saw_null = true;
            continue;
        };
        if crate::exec::eval::like(x, p, Some('\\'), ci)? != negated {
            return Ok(Value::Bool(true));
        }
    }
    Ok(if saw_null { Value::Null } else { Value::Bool(false) })
}

/// `substring(s FROM pattern)`: the part matching the first parenthesized group, or the
/// whole match without groups; NULL without a match.
fn substring_regex(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    let re = regex(text(&a[1]), false)?;
    let Some(caps) = re.captures(text(&a[0])) else { return Ok(Value::Null) };
    let m = if caps.len() > 1 { caps.get(1) } else { caps.get(0) };
    Ok(m.map_or(Value::Null, |m| t(m.as_str())))
}

fn regexp_like(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    let (_, ci) = flags(a, 2)?;
    Ok(Value::Bool(regex(text(&a[1]), ci)?.is_match(text(&a[0]))))
}

fn regexp_count(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    Ok(Value::Int4(regex(text(&a[1]), false)?.find_iter(text(&a[0])).count() as i32))
}

fn translate(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    let from: Vec<char> = text(&a[1]).chars().collect();
    let to: Vec<char> = text(&a[2]).chars().collect();
    let out: String = text(&a[0])
        .chars()
        .filter_map(|c| match from.iter().position(|f| *f == c) {
            Some(i) => to.get(i).copied(),
            None => Some(c),
        })
        .collect();
    Ok(t(out))
}

/// Quotes an identifier when PostgreSQL would (`quote_ident`).
pub fn quote_identifier(s: &str) -> String {
    let plain = s.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain { s.to_string() } else { format!("\"{}\"", s.replace('"', "\"\"")) }
}

fn quote_ident(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    Ok(t(quote_identifier(text(&a[0]))))
}

fn quote_literal_text(s: &str) -> String {
    if s.contains('\\') {
        format!("E'{}'", s.replace('\\', "\\\\").replace('\'', "''"))
    } else {
        format!("'{}'", s.replace('\'', "''"))
    }
}

fn quote_literal(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    Ok(match &a[0] {
        Value::Null => t("NULL"),
        v => t(quote_literal_text(text(v))),
    })
}

fn string_to_array(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    if a[0].is_null() {
        return Ok(Value::Null);
    }
    let s = text(&a[0]);
    let null_text = a.get(2).filter(|v| !v.is_null()).map(text);
    let parts: Vec<String> = match &a[1] {
        Value::Null => s.chars().map(String::from).collect(),
        d if text(d).is_empty() => vec![s.to_string()],
        d => s.split(text(d)).map(String::from).collect(),
    };
    let elements = if s.is_empty() {
        vec![]
    } else {
        parts
            .into_iter()
            .map(|p| if Some(p.as_str()) == null_text { Value::Null } else { t(p) })
            .collect()
    };
    Ok(Value::Array(Box::new(Array { element_type: Text, elements })))
}

fn array_to_string(a: &[Value], env: &dyn FunctionEnv) -> Result<Value> {
    let Value::Array(arr) = &a[0] else { return Ok(Value::Null) };
    let null_text = a.get(2).map(text);
    let parts: Vec<String> = arr
        .elements
        .iter()
        .filter_map(|e| match e {
            Value::Null => null_text.map(String::from),
            v => display(v, env),
        })
        .collect();
    Ok(t(parts.join(text(&a[1]))))
}

fn encode(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    let bytes = bytes_of(&a[0]);
    Ok(t(match text(&a[1]).to_ascii_lowercase().as_str() {
        "hex" => hex(bytes),
        "base64" => base64::engine::general_purpose::STANDARD.encode(bytes),
        "escape" => bytes
            .iter()
            .map(|b| match b {
                b'\\' => "\\\\".to_string(),
                0x20..=0x7e => (*b as char).to_string(),
                b => format!("\\{b:03o}"),
            })
            .collect(),
        other => {
            return Err(errinput!(INVALID_PARAMETER_VALUE, "unrecognized encoding: \"{other}\""));
        }
    }))
}

fn decode(a: &[Value], env: &dyn FunctionEnv) -> Result<Value> {
    let s = text(&a[0]);
    Ok(Value::Bytea(match text(&a[1]).to_ascii_lowercase().as_str() {
        "hex" => match crate::types::text::parse_value(&format!("\\x{s}"), &Bytea, env.zone())? {
            Value::Bytea(b) => b,
            _ => vec![],
        },
        "base64" => base64::engine::general_purpose::STANDARD
            .decode(s.chars().filter(|c| !c.is_whitespace()).collect::<String>())
            .map_err(|e| errinput!(INVALID_PARAMETER_VALUE, "invalid base64 input: {e}"))?,
        "escape" => match crate::types::text::parse_value(s, &Bytea, env.zone())? {
            Value::Bytea(b) => b,
            _ => vec![],
        },
        other => {
            return Err(errinput!(INVALID_PARAMETER_VALUE, "unrecognized encoding: \"{other}\""));
        }
    }))
}

/// True when the arguments fit `(text, text)` (used by operators mapped onto functions).
pub fn fits_text_pair(args: &[SqlType]) -> bool {
    fits(args, &[Text, Text])
}
