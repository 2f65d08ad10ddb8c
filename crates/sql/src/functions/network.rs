//! Network address functions (`host`, `masklen`, `network`, `broadcast`, ...) and the
//! functions behind the `inet`/`cidr` operators (`<<`, `<<=`, `>>`, `>>=`, `&&`, `~`, `&`,
//! `|`, `+`, `-`), named as PostgreSQL names them; the address logic is in
//! [`crate::types::inet`].

use oxibase_common::{Inet, Result, Value, errinput};

use super::FunctionEnv;
use super::scalar::{Resolved, fixed, int, intern};
use crate::types::SqlType;
use crate::types::inet;

use oxibase_common::DataType::{Bool, Cidr, Inet as I, Int4, Int8, Text};

/// Resolves a network address function.
pub fn resolve(name: &str, args: &[SqlType]) -> Option<Resolved> {
    let f = |eval, params: &[oxibase_common::DataType], ret| {
        fixed(intern(name), eval, args, params, ret)
    };
    // Functions whose result depends on cidr-ness take a cidr argument as a cidr.
    let cidr_arg = matches!(args.first(), Some(SqlType::Known(Cidr)));
    match (name, args.len()) {
        ("host", 1) => f(|a, _| Ok(Value::Text(inet::address(&addr(&a[0])?))), &[I], Text),
        ("masklen", 1) => f(|a, _| Ok(Value::Int4(i32::from(addr(&a[0])?.bits))), &[I], Int4),
        ("family", 1) => f(|a, _| Ok(Value::Int4(if addr(&a[0])?.v6 { 6 } else { 4 })), &[I], Int4),
        ("network", 1) => f(network, &[I], Cidr),
        ("broadcast", 1) => f(broadcast, &[I], I),
        ("netmask", 1) => f(|a, _| Ok(Value::Inet(inet::mask(&addr(&a[0])?, false))), &[I], I),
        ("hostmask", 1) => f(|a, _| Ok(Value::Inet(inet::mask(&addr(&a[0])?, true))), &[I], I),
        ("set_masklen", 2) if cidr_arg => f(set_masklen, &[Cidr, Int4], Cidr),
        ("set_masklen", 2) => f(set_masklen, &[I, Int4], I),
        // text(inet) always shows the mask, as the cast to text does.
        ("text", 1) if matches!(args[0], SqlType::Known(I | Cidr)) => {
            f(|a, _| Ok(Value::Text(inet::show(&addr(&a[0])?))), &[I], Text)
        }
        ("abbrev", 1) if cidr_arg => f(abbrev, &[Cidr], Text),
        ("abbrev", 1) => f(abbrev, &[I], Text),
        ("inet_same_family", 2) => {
            f(|a, _| Ok(Value::Bool(addr(&a[0])?.v6 == addr(&a[1])?.v6)), &[I, I], Bool)
        }
        ("inet_merge", 2) => f(merge, &[I, I], Cidr),
        ("network_sub" | "network_subeq" | "network_sup" | "network_supeq", 2) => {
            f(containment(name), &[I, I], Bool)
        }
        ("network_overlap", 2) => {
            f(|a, _| Ok(Value::Bool(inet::overlap(&addr(&a[0])?, &addr(&a[1])?))), &[I, I], Bool)
        }
        ("inetnot", 1) => f(not, &[I], I),
        ("inetand" | "inetor", 2) => f(if name == "inetand" { and } else { or }, &[I, I], I),
        ("inetpl", 2) => f(|a, _| add(&addr(&a[0])?, int(&a[1]).into()), &[I, Int8], I),
        ("inetmi_int8", 2) => f(|a, _| add(&addr(&a[0])?, -i128::from(int(&a[1]))), &[I, Int8], I),
        ("inetmi", 2) => f(subtract, &[I, I], Int8),
        // The bounds of an index range over the addresses inside a network (the optimizer's).
        ("oxibase_network_first", 1) => f(
            |a, _| {
                let i = addr(&a[0])?;
                Ok(Value::Inet(Inet { addr: i.masked(i.bits), cidr: false, ..i }))
            },
            &[I],
            I,
        ),
        ("oxibase_network_last", 1) => f(
            |a, _| {
                let i = addr(&a[0])?;
                Ok(Value::Inet(Inet { bits: i.max_bits(), ..inet::broadcast(&i) }))
            },
            &[I],
            I,
        ),
        _ => None,
    }
}

fn addr(v: &Value) -> Result<Inet> {
    match v {
        Value::Inet(i) => Ok(*i),
        other => Err(errinput!(DATATYPE_MISMATCH, "expected inet, got {}", other.type_name())),
    }
}

fn network(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    let i = addr(&a[0])?;
    Ok(Value::Inet(Inet { addr: i.masked(i.bits), cidr: true, ..i }))
}

fn broadcast(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    Ok(Value::Inet(inet::broadcast(&addr(&a[0])?)))
}

fn set_masklen(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    let i = addr(&a[0])?;
    let bits = int(&a[1]);
    let bits = if bits == -1 { i64::from(i.max_bits()) } else { bits };
    if !(0..=i64::from(i.max_bits())).contains(&bits) {
        return Err(errinput!(INVALID_PARAMETER_VALUE, "invalid mask length: {}", int(&a[1])));
    }
    let bits = bits as u8;
    let address = if i.cidr { i.masked(bits) } else { i.addr };
    Ok(Value::Inet(Inet { bits, addr: address, ..i }))
}

fn abbrev(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    Ok(Value::Text(inet::abbrev(&addr(&a[0])?)))
}

fn merge(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    let (x, y) = (addr(&a[0])?, addr(&a[1])?);
    if x.v6 != y.v6 {
        return Err(errinput!(
            INVALID_PARAMETER_VALUE,
            "cannot merge addresses from different families"
        ));
    }
    let bits = x.bits.min(y.bits).min(inet::common_prefix(&x, &y));
    Ok(Value::Inet(Inet { bits, addr: x.masked(bits), cidr: true, ..x }))
}

fn containment(name: &str) -> super::scalar::Eval {
    match name {
        "network_sub" => {
            |a, _| Ok(Value::Bool(inet::contained(&addr(&a[0])?, &addr(&a[1])?, true)))
        }
        "network_subeq" => {
            |a, _| Ok(Value::Bool(inet::contained(&addr(&a[0])?, &addr(&a[1])?, false)))
        }
        "network_sup" => {
            |a, _| Ok(Value::Bool(inet::contained(&addr(&a[1])?, &addr(&a[0])?, true)))
        }
        _ => |a, _| Ok(Value::Bool(inet::contained(&addr(&a[1])?, &addr(&a[0])?, false))),
    }
}

fn not(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    let i = addr(&a[0])?;
    let all = inet::to_number(&inet::mask(&Inet { bits: i.max_bits(), ..i }, false));
    let n = !inet::to_number(&i) & all;
    Ok(Value::Inet(Inet { cidr: false, ..inet::from_number(&i, n).unwrap_or(i) }))
}

fn bitwise(a: &[Value], what: &str, op: fn(u128, u128) -> u128) -> Result<Value> {
    let (x, y) = (addr(&a[0])?, addr(&a[1])?);
    if x.v6 != y.v6 {
        return Err(errinput!(
            FEATURE_NOT_SUPPORTED,
            "cannot {what} inet values of different sizes"
        ));
    }
    let n = op(inet::to_number(&x), inet::to_number(&y));
    let bits = x.bits.max(y.bits);
    let out = inet::from_number(&x, n).unwrap_or(x);
    Ok(Value::Inet(Inet { bits, cidr: false, ..out }))
}

fn and(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    bitwise(a, "AND", |x, y| x & y)
}

fn or(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    bitwise(a, "OR", |x, y| x | y)
}

/// `inet + n` and `inet - n`: the address moved by n, keeping its mask.
fn add(i: &Inet, n: i128) -> Result<Value> {
    let out_of_range = || errinput!(NUMERIC_VALUE_OUT_OF_RANGE, "result is out of range");
    let current = inet::to_number(i);
    let moved = if n >= 0 {
        current.checked_add(n.unsigned_abs())
    } else {
        current.checked_sub(n.unsigned_abs())
    };
    let moved = moved.ok_or_else(out_of_range)?;
    let out = inet::from_number(i, moved).ok_or_else(out_of_range)?;
    Ok(Value::Inet(Inet { cidr: false, ..out }))
}

fn subtract(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    let (x, y) = (addr(&a[0])?, addr(&a[1])?);
    if x.v6 != y.v6 {
        return Err(errinput!(
            FEATURE_NOT_SUPPORTED,
            "cannot subtract inet values of different sizes"
        ));
    }
    let (a, b) = (inet::to_number(&x), inet::to_number(&y));
    let difference =
        if a >= b { i64::try_from(a - b).ok() } else { i64::try_from(b - a).ok().map(|d| -d) };
    let difference = difference
        .ok_or_else(|| errinput!(NUMERIC_VALUE_OUT_OF_RANGE, "result is out of range"))?;
    Ok(Value::Int8(difference))
}
