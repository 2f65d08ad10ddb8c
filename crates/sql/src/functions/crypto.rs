//! The functions of PostgreSQL's pgcrypto and uuid-ossp extensions that applications call:
//! `digest`, `hmac`, `gen_random_bytes` (pgcrypto; `gen_random_uuid` is in `misc`), and
//! `uuid_generate_v1`, `v1mc`, `v3`, `v4`, `v5`, `uuid_nil` and the namespace constants
//! (uuid-ossp). They are always available; `CREATE EXTENSION` records the extension (see
//! `catalog::extensions`). Not here: pgcrypto's `crypt` / `gen_salt` and PGP functions.

use hmac::{KeyInit, Mac};
use oxibase_common::DataType::{Bytea, Int4, Text, Uuid};
use oxibase_common::{Result, Value, errinput};

use super::FunctionEnv;
use super::scalar::{Resolved, fixed, intern, volatile};
use crate::types::SqlType;

/// Resolves a pgcrypto or uuid-ossp function.
pub fn resolve(name: &str, args: &[SqlType]) -> Option<Resolved> {
    let f = |eval, params: &[oxibase_common::DataType], ret| {
        fixed(intern(name), eval, args, params, ret)
    };
    let random =
        |eval, params: &[oxibase_common::DataType], ret| f(eval, params, ret).map(volatile);
    let bytes_arg = matches!(args.first(), Some(SqlType::Known(Bytea)));
    let data = if bytes_arg { Bytea } else { Text };
    match (name, args.len()) {
        ("digest", 2) => f(digest, &[data, Text], Bytea),
        ("hmac", 3) => f(hmac, &[data.clone(), data, Text], Bytea),
        ("gen_random_bytes", 1) => random(gen_random_bytes, &[Int4], Bytea),
        ("uuid_nil", 0) => f(|_, _| Ok(Value::Uuid([0; 16])), &[], Uuid),
        ("uuid_ns_dns", 0) => f(|_, _| Ok(Value::Uuid(namespace(0x10))), &[], Uuid),
        ("uuid_ns_url", 0) => f(|_, _| Ok(Value::Uuid(namespace(0x11))), &[], Uuid),
        ("uuid_ns_oid", 0) => f(|_, _| Ok(Value::Uuid(namespace(0x12))), &[], Uuid),
        ("uuid_ns_x500", 0) => f(|_, _| Ok(Value::Uuid(namespace(0x14))), &[], Uuid),
        ("uuid_generate_v3", 2) => f(|a, _| name_based(a, 3), &[Uuid, Text], Uuid),
        ("uuid_generate_v5", 2) => f(|a, _| name_based(a, 5), &[Uuid, Text], Uuid),
        ("uuid_generate_v1" | "uuid_generate_v1mc", 0) => random(time_based, &[], Uuid),
        _ => None,
    }
}

fn bytes(v: &Value) -> &[u8] {
    match v {
        Value::Bytea(b) => b,
        Value::Text(t) => t.as_bytes(),
        _ => &[],
    }
}

fn text(v: &Value) -> &str {
    match v {
        Value::Text(t) => t,
        _ => "",
    }
}

fn unknown_algorithm(name: &str) -> oxibase_common::Error {
    errinput!(INVALID_PARAMETER_VALUE, "Cannot use \"{name}\": No such hash algorithm")
}

/// digest(data, type): md5, sha1, sha224, sha256, sha384 or sha512.
fn digest(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    use sha2::Digest;
    let data = bytes(&a[0]);
    let out = match text(&a[1]).to_ascii_lowercase().as_str() {
        "md5" => md5::Md5::digest(data).to_vec(),
        "sha1" => sha1::Sha1::digest(data).to_vec(),
        "sha224" => sha2::Sha224::digest(data).to_vec(),
        "sha256" => sha2::Sha256::digest(data).to_vec(),
        "sha384" => sha2::Sha384::digest(data).to_vec(),
        "sha512" => sha2::Sha512::digest(data).to_vec(),
        other => return Err(unknown_algorithm(other)),
    };
    Ok(Value::Bytea(out))
}

fn mac<M: Mac + KeyInit>(key: &[u8], data: &[u8]) -> Vec<u8> {
    // Any key length is valid for HMAC.
    let mut m =
        <M as KeyInit>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes any key"));
    m.update(data);
    m.finalize().into_bytes().to_vec()
}

/// hmac(data, key, type).
fn hmac(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    use hmac::Hmac;
    let (data, key) = (bytes(&a[0]), bytes(&a[1]));
    let out = match text(&a[2]).to_ascii_lowercase().as_str() {
        "md5" => mac::<Hmac<md5::Md5>>(key, data),
        "sha1" => mac::<Hmac<sha1::Sha1>>(key, data),
        "sha224" => mac::<Hmac<sha2::Sha224>>(key, data),
        "sha256" => mac::<Hmac<sha2::Sha256>>(key, data),
        "sha384" => mac::<Hmac<sha2::Sha384>>(key, data),
        "sha512" => mac::<Hmac<sha2::Sha512>>(key, data),
        other => return Err(unknown_algorithm(other)),
    };
    Ok(Value::Bytea(out))
}

/// gen_random_bytes(n), 1 to 1024 bytes as in pgcrypto.
fn gen_random_bytes(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    let n = match a[0] {
        Value::Int4(n) => n,
        _ => 0,
    };
    if !(1..=1024).contains(&n) {
        return Err(errinput!(EXTERNAL_ROUTINE_INVOCATION_EXCEPTION, "Length not in range"));
    }
    Ok(Value::Bytea((0..n).map(|_| rand::random::<u8>()).collect()))
}

/// The RFC 4122 namespaces: 6ba7b8XX-9dad-11d1-80b4-00c04fd430c8.
fn namespace(kind: u8) -> [u8; 16] {
    [0x6b, 0xa7, 0xb8, kind, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8]
}

/// uuid_generate_v3 (MD5) and v5 (SHA-1) of a namespace and a name.
fn name_based(a: &[Value], version: u8) -> Result<Value> {
    use sha2::Digest;
    let Value::Uuid(ns) = &a[0] else { return Ok(Value::Null) };
    let mut input = ns.to_vec();
    input.extend_from_slice(text(&a[1]).as_bytes());
    let hash = if version == 3 {
        md5::Md5::digest(&input).to_vec()
    } else {
        sha1::Sha1::digest(&input).to_vec()
    };
    let mut out = [0u8; 16];
    out.copy_from_slice(&hash[..16]);
    out[6] = (out[6] & 0x0f) | (version << 4);
    out[8] = (out[8] & 0x3f) | 0x80;
    Ok(Value::Uuid(out))
}

/// uuid_generate_v1 / v1mc: the time in 100 ns since 1582-10-15, a random clock sequence
/// and a random node with the multicast bit set (no MAC address is read: v1mc's form).
fn time_based(_: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    const GREGORIAN_OFFSET: u64 = 0x01B2_1DD2_1381_4000;
    let since_epoch =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let ticks = (since_epoch.as_nanos() / 100) as u64 + GREGORIAN_OFFSET;
    let mut out: [u8; 16] = rand::random();
    out[0..4].copy_from_slice(&((ticks & 0xffff_ffff) as u32).to_be_bytes());
    out[4..6].copy_from_slice(&(((ticks >> 32) & 0xffff) as u16).to_be_bytes());
    out[6..8].copy_from_slice(&((((ticks >> 48) & 0x0fff) as u16) | 0x1000).to_be_bytes());
    out[8] = (out[8] & 0x3f) | 0x80;
    out[10] |= 0x01; // multicast: not a real MAC address
    Ok(Value::Uuid(out))
}
