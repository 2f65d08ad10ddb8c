//! Text input and output of values, as PostgreSQL's type input/output functions define them.
//!
//! Output is what psql and every driver using the text protocol see, so it follows PostgreSQL
//! exactly: `t`/`f` for booleans, shortest round-trip floats with PostgreSQL's switch to
//! exponent notation (`1e+20`), numerics with their scale (`1.50`), `\x` hex for bytea,
//! `{1,NULL,"a b"}` for arrays, and jsonb normalised with sorted keys and `", "` / `": "`.

use std::str::FromStr;

use bigdecimal::BigDecimal;
use bigdecimal::num_bigint::BigInt;
use oxibase_common::{Array, DataType, Numeric, Result, Value, errinput};

use super::datetime::{self, Zone};

/// Formats a non-NULL value as text (`None` for NULL).
pub fn format_value(value: &Value, zone: &Zone) -> Option<String> {
    Some(match value {
        Value::Null => return None,
        Value::Bool(b) => if *b { "t" } else { "f" }.into(),
        Value::Int2(v) => v.to_string(),
        Value::Int4(v) => v.to_string(),
        Value::Int8(v) => v.to_string(),
        Value::Float4(v) => format_float(*v as f64, 6, true),
        Value::Float8(v) => format_float(*v, 15, false),
        Value::Numeric(n) => format_numeric(n),
        Value::Text(s) | Value::Json(s) | Value::Jsonb(s) => s.clone(),
        Value::Bytea(b) => format_bytea(b),
        Value::Date(d) => datetime::format_date(*d),
        Value::Time(t) => datetime::format_time(*t),
        Value::Timestamp(t) => datetime::format_timestamp(*t),
        Value::TimestampTz(t) => datetime::format_timestamptz(*t, zone),
        Value::Interval(iv) => datetime::format_interval(iv),
        Value::Uuid(u) => format_uuid(u),
        Value::Array(a) => format_array(a, zone),
        Value::Enum(e) => e.label.clone(),
        Value::Record(fields) => format_record(fields, zone),
        Value::Inet(i) => super::inet::format(i),
    })
}

/// A value as a person reads it: its text, or `NULL`.
pub fn display_value(value: &Value, zone: &Zone) -> String {
    format_value(value, zone).unwrap_or_else(|| "NULL".into())
}

/// A row as a person reads it: `(a, b, NULL)`.
pub fn display_row(values: &[Value], zone: &Zone) -> String {
    let cells: Vec<String> = values.iter().map(|v| display_value(v, zone)).collect();
    format!("({})", cells.join(", "))
}

/// PostgreSQL's float output: the shortest digits that round-trip, in fixed notation unless
/// the decimal exponent is below -4 or at least `max_fixed` (15 for float8, 6 for float4).
pub fn format_float(v: f64, max_fixed: i32, single: bool) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let sci = if single { format!("{:e}", v as f32) } else { format!("{v:e}") };
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if negative { "-" } else { "" };
    if exp < -4 || exp >= max_fixed {
        let (first, rest) = digits.split_at(1);
        let frac = if rest.is_empty() { String::new() } else { format!(".{rest}") };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{first}{frac}e{esign}{:02}", exp.abs());
    }
    let point = exp + 1; // digits before the decimal point
    let body = if point <= 0 {
        format!("0.{}{digits}", "0".repeat((-point) as usize))
    } else if point as usize >= digits.len() {
        format!("{digits}{}", "0".repeat(point as usize - digits.len()))
    } else {
        let (int, frac) = digits.split_at(point as usize);
        format!("{int}.{frac}")
    };
    format!("{sign}{body}")
}

/// Formats a numeric in plain notation with its scale (`-12.50`).
pub fn format_numeric(n: &Numeric) -> String {
    match n {
        Numeric::NaN => "NaN".into(),
        Numeric::Infinity => "Infinity".into(),
        Numeric::NegInfinity => "-Infinity".into(),
        Numeric::Finite(d) => format_decimal(d),
    }
}

/// Formats a decimal in plain notation with its scale.
pub fn format_decimal(d: &BigDecimal) -> String {
    let (int, scale) = d.as_bigint_and_exponent();
    let negative = int.sign() == bigdecimal::num_bigint::Sign::Minus;
    let mut digits = int.magnitude().to_string();
    let sign = if negative { "-" } else { "" };
    if scale <= 0 {
        if digits != "0" {
            digits.push_str(&"0".repeat((-scale) as usize));
        }
        return format!("{sign}{digits}");
    }
    let scale = scale as usize;
    if digits.len() <= scale {
        digits = format!("{}{digits}", "0".repeat(scale - digits.len() + 1));
    }
    let (int_part, frac) = digits.split_at(digits.len() - scale);
    format!("{sign}{int_part}.{frac}")
}

fn format_bytea(b: &[u8]) -> String {
    let mut out = String::with_capacity(2 + b.len() * 2);
    out.push_str("\\x");
    for byte in b {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

fn format_uuid(u: &[u8; 16]) -> String {
    let hex: String = u.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

fn format_array(a: &Array, zone: &Zone) -> String {
    let items: Vec<String> = a
        .elements
        .iter()
        .map(|e| match format_value(e, zone) {
            None => "NULL".into(),
            Some(text) => quote_array_element(&text),
        })
        .collect();
    format!("{{{}}}", items.join(","))
}

fn quote_array_element(text: &str) -> String {
    let needs_quotes = text.is_empty()
        || text.eq_ignore_ascii_case("null")
        || text.chars().any(|c| matches!(c, '{' | '}' | ',' | '"' | '\\') || c.is_whitespace());
    if !needs_quotes {
        return text.to_string();
    }
    let escaped = text.replace('\\', "\\\\").replace('"', "\\\"");
    format!("\"{escaped}\"")
}

/// PostgreSQL's record_out: `(1,"a b",)`: a NULL field is empty, and a field that is empty
/// or holds a quote, backslash, parenthesis, comma or space is quoted, with quotes and
/// backslashes doubled inside.
fn format_record(fields: &[Value], zone: &Zone) -> String {
    let mut out = String::from("(");
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let Some(text) = format_value(field, zone) else { continue };
        let quote = text.is_empty()
            || text.chars().any(|c| matches!(c, '"' | '\\' | '(' | ')' | ',') || c.is_whitespace());
        if !quote {
            out.push_str(&text);
            continue;
        }
        out.push('"');
        for c in text.chars() {
            if matches!(c, '"' | '\\') {
                out.push(c);
            }
            out.push(c);
        }
        out.push('"');
    }
    out.push(')');
    out
}

/// PostgreSQL's record_in for a record whose fields are known: `(1,"a b",)`, an empty field
/// being NULL and `""` an empty string.
fn parse_record(input: &str, fields: &[(String, DataType)], zone: &Zone) -> Result<Value> {
    let malformed = |detail: &str| {
        errinput!(INVALID_TEXT_REPRESENTATION, "malformed record literal: \"{input}\"")
            .with_detail(detail)
    };
    if fields.is_empty() {
        return Err(errinput!(
            FEATURE_NOT_SUPPORTED,
            "input of anonymous composite types is not implemented"
        ));
    }
    let mut chars = input.trim_start().chars().peekable();
    if chars.next() != Some('(') {
        return Err(malformed("Missing left parenthesis."));
    }
    let mut values = Vec::with_capacity(fields.len());
    for (i, (_, ty)) in fields.iter().enumerate() {
        if i > 0 {
            match chars.next() {
                Some(',') => {}
                Some(')') | None => return Err(malformed("Too few columns.")),
                Some(_) => return Err(malformed("Unexpected character.")),
            }
        }
        if matches!(chars.peek(), Some(',' | ')')) {
            values.push(Value::Null);
            continue;
        }
        let mut text = String::new();
        let mut quoted = false;
        loop {
            match chars.peek().copied() {
                None => return Err(malformed("Unexpected end of input.")),
                Some(',' | ')') if !quoted => break,
                Some('"') => {
                    chars.next();
                    if quoted && chars.peek() == Some(&'"') {
                        chars.next();
                        text.push('"');
                    } else {
                        quoted = !quoted;
                    }
                }
                Some('\\') => {
                    chars.next();
                    match chars.next() {
                        Some(c) => text.push(c),
                        None => return Err(malformed("Unexpected end of input.")),
                    }
                }
                Some(c) => {
                    chars.next();
                    text.push(c);
                }
            }
        }
        values.push(parse_value(&text, ty, zone)?);
    }
    match chars.next() {
        Some(')') => {}
        Some(',') => return Err(malformed("Too many columns.")),
        _ => return Err(malformed("Unexpected end of input.")),
    }
    if chars.any(|c| !c.is_whitespace()) {
        return Err(malformed("Junk after right parenthesis."));
    }
    Ok(Value::Record(Box::new(values)))
}

fn syntax(type_name: &str, input: &str) -> oxibase_common::Error {
    errinput!(INVALID_TEXT_REPRESENTATION, "invalid input syntax for type {type_name}: \"{input}\"")
}

/// An int2vector's or oidvector's text form: its numbers separated by spaces.
pub fn format_vector(a: &Array) -> String {
    let numbers: Vec<String> =
        a.elements.iter().map(|v| format_value(v, &Zone::UTC).unwrap_or_default()).collect();
    numbers.join(" ")
}

/// Parses text into a value of the given type (the type's input function).
pub fn parse_value(input: &str, ty: &DataType, zone: &Zone) -> Result<Value> {
    Ok(match ty {
        DataType::Bool => Value::Bool(parse_bool(input)?),
        DataType::Int2 => Value::Int2(parse_int(input, "smallint")?),
        DataType::Int4 => Value::Int4(parse_int(input, "integer")?),
        DataType::Int8 => Value::Int8(parse_int(input, "bigint")?),
        DataType::Oid => Value::Int8(oid_value(parse_int(input, "oid")?)?),
        DataType::Float4 => {
            let v = parse_float(input, "real")?;
            if v.is_finite() && (v as f32).is_infinite() {
                return Err(errinput!(
                    NUMERIC_VALUE_OUT_OF_RANGE,
                    "\"{input}\" is out of range for type real"
                ));
            }
            Value::Float4(v as f32)
        }
        DataType::Float8 => Value::Float8(parse_float(input, "double precision")?),
        DataType::Numeric(_) => Value::Numeric(Box::new(parse_numeric(input)?)),
        DataType::Text | DataType::Varchar(_) | DataType::Char(_) => Value::Text(input.to_string()),
        // "char" keeps the first byte (here: character) of its input, as PostgreSQL's charin.
        DataType::InternalChar => Value::Text(input.chars().take(1).collect()),
        // name keeps at most 63 bytes (NAMEDATALEN - 1), cut at a character boundary.
        DataType::Name => Value::Text(truncate_name(input).to_string()),
        DataType::TsVector => Value::Text(crate::tsearch::TsVector::parse(input)?.to_text()),
        DataType::TsQuery => Value::Text(crate::tsearch::TsQuery::parse(input)?.to_text()),
        DataType::Bytea => Value::Bytea(parse_bytea(input)?),
        DataType::Date => Value::Date(datetime::parse_date(input)?),
        DataType::Time(p)
        | DataType::Timestamp(p)
        | DataType::TimestampTz(p)
        | DataType::Interval(p) => {
            let value = match ty {
                DataType::Time(_) => Value::Time(datetime::parse_time(input)?),
                DataType::Timestamp(_) => Value::Timestamp(datetime::parse_timestamp(input)?),
                DataType::TimestampTz(_) => {
                    Value::TimestampTz(datetime::parse_timestamptz(input, zone)?)
                }
                _ => Value::Interval(datetime::parse_interval(input)?),
            };
            match p {
                Some(p) => datetime::round_to_precision(value, *p),
                None => value,
            }
        }
        DataType::Uuid => Value::Uuid(parse_uuid(input)?),
        DataType::Json => {
            serde_json::from_str::<serde_json::Value>(input).map_err(|e| json_error(input, &e))?;
            Value::Json(input.to_string())
        }
        DataType::Jsonb => Value::Jsonb(normalize_jsonb(input)?),
        DataType::Array(element) => Value::Array(Box::new(parse_array(input, element, zone)?)),
        // int2vector: space-separated integers.
        DataType::Int2Vector => Value::Array(Box::new(Array {
            element_type: DataType::Int2,
            elements: input
                .split_whitespace()
                .map(|n| parse_int(n, "smallint").map(Value::Int2))
                .collect::<Result<_>>()?,
        })),
        // oidvector: space-separated oids.
        DataType::OidVector => Value::Array(Box::new(Array {
            element_type: DataType::Oid,
            elements: input
                .split_whitespace()
                .map(|n| parse_value(n, &DataType::Oid, zone))
                .collect::<Result<_>>()?,
        })),
        DataType::Record(record) => parse_record(input, &record.fields, zone)?,
        DataType::Inet => Value::Inet(super::inet::parse(input, false)?),
        DataType::Cidr => Value::Inet(super::inet::parse(input, true)?),
        DataType::Enum(e) => match e.value(input) {
            Some(value) => Value::Enum(Box::new(value.clone())),
            None => {
                return Err(errinput!(
                    INVALID_TEXT_REPRESENTATION,
                    "invalid input value for enum {}: \"{input}\"",
                    e.name()
                ));
            }
        },
    })
}

/// An integer as an oid: PostgreSQL takes -2147483648 to 4294967295, negatives wrapping.
pub fn oid_value(v: i64) -> Result<i64> {
    if !(i64::from(i32::MIN)..=i64::from(u32::MAX)).contains(&v) {
        return Err(errinput!(
            NUMERIC_VALUE_OUT_OF_RANGE,
            "value \"{v}\" is out of range for type oid"
        ));
    }
    Ok(i64::from(v as u32))
}

/// Parses PostgreSQL's boolean spellings.
pub fn parse_bool(input: &str) -> Result<bool> {
    match input.trim().to_ascii_lowercase().as_str() {
        "t" | "true" | "yes" | "y" | "on" | "1" => Ok(true),
        "f" | "false" | "no" | "n" | "off" | "0" => Ok(false),
        _ => Err(syntax("boolean", input)),
    }
}

fn parse_int<T: FromStr + TryFrom<i128>>(input: &str, type_name: &str) -> Result<T> {
    let trimmed = input.trim();
    let cleaned: String = trimmed.chars().filter(|c| *c != '_').collect();
    let wide: i128 =
        if let Some(hex) = cleaned.strip_prefix("0x").or_else(|| cleaned.strip_prefix("0X")) {
            i128::from_str_radix(hex, 16).map_err(|_| syntax(type_name, input))?
        } else {
            if cleaned.is_empty()
                || cleaned.contains(['.', 'e', 'E'])
                || trimmed.starts_with('_')
                || trimmed.ends_with('_')
            {
                return Err(syntax(type_name, input));
            }
            cleaned.parse::<i128>().map_err(|_| {
                if cleaned.trim_start_matches(['-', '+']).bytes().all(|b| b.is_ascii_digit()) {
                    errinput!(
                        NUMERIC_VALUE_OUT_OF_RANGE,
                        "value \"{input}\" is out of range for type {type_name}"
                    )
                } else {
                    syntax(type_name, input)
                }
            })?
        };
    T::try_from(wide).map_err(|_| {
        errinput!(
            NUMERIC_VALUE_OUT_OF_RANGE,
            "value \"{input}\" is out of range for type {type_name}"
        )
    })
}

fn parse_float(input: &str, type_name: &str) -> Result<f64> {
    let t = input.trim();
    match t.to_ascii_lowercase().as_str() {
        "nan" => return Ok(f64::NAN),
        "infinity" | "+infinity" | "inf" | "+inf" => return Ok(f64::INFINITY),
        "-infinity" | "-inf" => return Ok(f64::NEG_INFINITY),
        _ => {}
    }
    let v: f64 = t.parse().map_err(|_| syntax(type_name, input))?;
    if v.is_infinite() {
        return Err(errinput!(
            NUMERIC_VALUE_OUT_OF_RANGE,
            "\"{input}\" is out of range for type {type_name}"
        ));
    }
    Ok(v)
}

/// Parses a numeric literal, including `NaN` and `Infinity`.
pub fn parse_numeric(input: &str) -> Result<Numeric> {
    let t = input.trim();
    match t.to_ascii_lowercase().as_str() {
        "nan" => return Ok(Numeric::NaN),
        "infinity" | "+infinity" | "inf" | "+inf" => return Ok(Numeric::Infinity),
        "-infinity" | "-inf" => return Ok(Numeric::NegInfinity),
        _ => {}
    }
    let cleaned: String = t.chars().filter(|c| *c != '_').collect();
    let valid = !cleaned.is_empty()
        && cleaned.chars().all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E'))
        && cleaned.chars().any(|c| c.is_ascii_digit());
    if !valid {
        return Err(syntax("numeric", input));
    }
    let d = BigDecimal::from_str(&cleaned).map_err(|_| syntax("numeric", input))?;
    // Keep at least the written scale, and never a negative one (`1e3` is `1000`).
    let (_, scale) = d.as_bigint_and_exponent();
    Ok(Numeric::Finite(if scale < 0 { d.with_scale(0) } else { d }))
}

fn parse_bytea(input: &str) -> Result<Vec<u8>> {
    if let Some(hex) = input.strip_prefix("\\x") {
        let hex: String = hex.chars().filter(|c| !c.is_whitespace()).collect();
        if !hex.len().is_multiple_of(2) {
            return Err(errinput!(
                INVALID_TEXT_REPRESENTATION,
                "invalid hexadecimal data: odd number of digits"
            ));
        }
        return (0..hex.len())
            .step_by(2)
            .map(|i| {
                u8::from_str_radix(&hex[i..i + 2], 16).map_err(|_| {
                    errinput!(
                        INVALID_TEXT_REPRESENTATION,
                        "invalid hexadecimal digit: \"{}\"",
                        &hex[i..i + 2]
                    )
                })
            })
            .collect();
    }
    // The escape format: backslash-octal and doubled backslashes.
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            out.push(bytes[i]);
            i += 1;
        } else if bytes.get(i + 1) == Some(&b'\\') {
            out.push(b'\\');
            i += 2;
        } else if i + 3 < bytes.len()
            && bytes[i + 1..i + 4].iter().all(|b| (b'0'..=b'7').contains(b))
        {
            let octal = std::str::from_utf8(&bytes[i + 1..i + 4]).unwrap_or("0");
            out.push(u8::from_str_radix(octal, 8).map_err(|_| syntax("bytea", input))?);
            i += 4;
        } else {
            return Err(syntax("bytea", input));
        }
    }
    Ok(out)
}

fn parse_uuid(input: &str) -> Result<[u8; 16]> {
    let t = input.trim();
    let t = t.strip_prefix('{').and_then(|t| t.strip_suffix('}')).unwrap_or(t);
    let hex: String = t.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(syntax("uuid", input));
    }
    let mut out = [0u8; 16];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte =
            u8::from_str_radix(&hex[i * 2..i * 2 + 2], 16).map_err(|_| syntax("uuid", input))?;
    }
    Ok(out)
}

fn json_error(input: &str, e: &serde_json::Error) -> oxibase_common::Error {
    errinput!(INVALID_TEXT_REPRESENTATION, "invalid input syntax for type json")
        .with_detail(format!("{e} in \"{}\"", input.chars().take(60).collect::<String>()))
}

/// Normalises JSON text as jsonb stores it: duplicate keys collapse (the last wins), keys
/// sort by length then bytes, and the text uses PostgreSQL's spacing.
pub fn normalize_jsonb(input: &str) -> Result<String> {
    let value: serde_json::Value =
        serde_json::from_str(input).map_err(|e| json_error(input, &e))?;
    Ok(jsonb_text(&value))
}

/// Prints a JSON value in jsonb's canonical form.
pub fn jsonb_text(value: &serde_json::Value) -> String {
    let mut out = String::new();
    write_jsonb(&mut out, value);
    out
}

fn write_jsonb(out: &mut String, value: &serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by(|a, b| a.len().cmp(&b.len()).then(a.cmp(b)));
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&serde_json::Value::String(key.clone()).to_string());
                out.push_str(": ");
                write_jsonb(out, &map[key]);
            }
            out.push('}');
        }
        serde_json::Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_jsonb(out, item);
            }
            out.push(']');
        }
        // jsonb keeps numbers as NUMERIC: `1e3` reads back as 1000, `1.5e-2` as 0.015.
        serde_json::Value::Number(n) if n.as_str().contains(['e', 'E']) => {
            match parse_value(n.as_str(), &DataType::Numeric(None), &Zone::UTC) {
                Ok(v) => out.push_str(&format_value(&v, &Zone::UTC).unwrap_or_default()),
                Err(_) => out.push_str(n.as_str()),
            }
        }
        other => out.push_str(&other.to_string()),
    }
}

/// Parses an array literal such as `{1,2,NULL}` or `{"a b",c}`.
pub fn parse_array(input: &str, element: &DataType, zone: &Zone) -> Result<Array> {
    let t = input.trim();
    let body = t.strip_prefix('{').and_then(|b| b.strip_suffix('}')).ok_or_else(|| {
        errinput!(INVALID_TEXT_REPRESENTATION, "malformed array literal: \"{input}\"")
            .with_detail("Array value must start with \"{\" or dimension information.")
    })?;
    let mut elements = Vec::new();
    let chars: Vec<char> = body.chars().collect();
    let mut i = 0;
    let malformed =
        || errinput!(INVALID_TEXT_REPRESENTATION, "malformed array literal: \"{input}\"");
    while i < chars.len() {
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        let (text, quoted) = if chars.get(i) == Some(&'"') {
            i += 1;
            let mut s = String::new();
            loop {
                match chars.get(i) {
                    None => return Err(malformed()),
                    Some('"') => {
                        i += 1;
                        break;
                    }
                    Some('\\') => {
                        s.push(*chars.get(i + 1).ok_or_else(malformed)?);
                        i += 2;
                    }
                    Some(c) => {
                        s.push(*c);
                        i += 1;
                    }
                }
            }
            (s, true)
        } else {
            let start = i;
            while i < chars.len() && chars[i] != ',' {
                if matches!(chars[i], '{' | '}' | '"') {
                    return Err(malformed().with_detail("nested arrays are not supported"));
                }
                i += 1;
            }
            (chars[start..i].iter().collect::<String>().trim().to_string(), false)
        };
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        if i < chars.len() {
            if chars[i] != ',' {
                return Err(malformed());
            }
            i += 1;
            if i == chars.len() {
                return Err(malformed());
            }
        }
        if text.is_empty() && !quoted {
            return Err(malformed());
        }
        elements.push(if !quoted && text.eq_ignore_ascii_case("null") {
            Value::Null
        } else {
            parse_value(&text, element, zone)?
        });
    }
    Ok(Array { element_type: element.clone(), elements })
}

/// Builds a numeric from an integer.
pub fn numeric_from_i128(v: i128) -> Numeric {
    Numeric::Finite(BigDecimal::new(BigInt::from(v), 0))
}

/// An identifier cut to PostgreSQL's 63 bytes (NAMEDATALEN - 1) at a character boundary.
pub fn truncate_name(input: &str) -> &str {
    let mut end = input.len().min(63);
    while !input.is_char_boundary(end) {
        end -= 1;
    }
    &input[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(v: Value) -> String {
        format_value(&v, &Zone::UTC).unwrap()
    }

    #[test]
    fn floats_print_like_postgres() {
        let cases: [(f64, &str); 11] = [
            (1.5, "1.5"),
            (0.1, "0.1"),
            (100.0, "100"),
            (1e15, "1e+15"),
            (123456789012345.0, "123456789012345"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-2.5e-300, "-2.5e-300"),
            (f64::NAN, "NaN"),
            (f64::NEG_INFINITY, "-Infinity"),
            (1.0 / 3.0, "0.3333333333333333"),
        ];
        for (v, text) in cases {
            assert_eq!(out(Value::Float8(v)), text, "{v}");
        }
        assert_eq!(out(Value::Float4(1e6)), "1e+06");
        assert_eq!(out(Value::Float4(123456.0)), "123456");
        assert_eq!(out(Value::Float4(0.1)), "0.1");
    }

    #[test]
    fn numerics_keep_their_scale() {
        for text in ["1.50", "-0.001", "0", "123456789012345678901234567890.5", "-5"] {
            assert_eq!(format_numeric(&parse_numeric(text).unwrap()), text);
        }
        assert_eq!(format_numeric(&parse_numeric("1e3").unwrap()), "1000");
        assert_eq!(format_numeric(&parse_numeric("1.5e-2").unwrap()), "0.015");
        assert_eq!(format_numeric(&parse_numeric(" NaN ").unwrap()), "NaN");
        assert_eq!(
            parse_numeric("abc").unwrap_err().code(),
            oxibase_common::SqlState::INVALID_TEXT_REPRESENTATION
        );
    }

    #[test]
    fn integers_check_range_and_syntax() {
        assert_eq!(parse_value(" 42 ", &DataType::Int4, &Zone::UTC).unwrap(), Value::Int4(42));
        assert_eq!(parse_value("1_000", &DataType::Int8, &Zone::UTC).unwrap(), Value::Int8(1000));
        let err = parse_value("2147483648", &DataType::Int4, &Zone::UTC).unwrap_err();
        assert_eq!(err.code(), oxibase_common::SqlState::NUMERIC_VALUE_OUT_OF_RANGE);
        assert_eq!(err.message(), "value \"2147483648\" is out of range for type integer");
        let err = parse_value("12a", &DataType::Int2, &Zone::UTC).unwrap_err();
        assert_eq!(err.message(), "invalid input syntax for type smallint: \"12a\"");
        assert!(parse_value("1.5", &DataType::Int4, &Zone::UTC).is_err());
    }

    #[test]
    fn other_types_round_trip() {
        let zone = Zone::UTC;
        let cases = [
            (DataType::Bool, "t"),
            (DataType::Bytea, "\\xdeadbeef"),
            (DataType::Uuid, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
            (DataType::Array(Box::new(DataType::Int4)), "{1,NULL,3}"),
            (DataType::Array(Box::new(DataType::Text)), "{\"a b\",c,\"\",\"NULL\",\"q\\\"x\"}"),
            (DataType::Jsonb, "{\"a\": 1, \"bb\": [true, null]}"),
            (DataType::Interval(None), "1 day 02:00:00"),
        ];
        for (ty, text) in cases {
            let v = parse_value(text, &ty, &zone).unwrap();
            assert_eq!(format_value(&v, &zone).unwrap(), text, "{ty}");
        }
        assert_eq!(
            out(parse_value("{\"bb\":1,\"a\":2,\"a\":3}", &DataType::Jsonb, &zone).unwrap()),
            "{\"a\": 3, \"bb\": 1}"
        );
        assert!(parse_value("{1,2", &DataType::Array(Box::new(DataType::Int4)), &zone).is_err());
        assert!(parse_value("{\"a\":", &DataType::Json, &zone).is_err());
        assert!(parse_value("maybe", &DataType::Bool, &zone).is_err());
        assert_eq!(
            parse_value("abc\\\\d\\001", &DataType::Bytea, &zone).unwrap(),
            Value::Bytea(b"abc\\d\x01".to_vec())
        );
    }
}
