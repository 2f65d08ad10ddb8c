//! From a routine's source to a WebAssembly module, per language.
//!
//! | language     | source                                   | compiled by                    |
//! |--------------|------------------------------------------|--------------------------------|
//! | `wat`        | WebAssembly text                         | the `wat` crate, in process    |
//! | `wasm`       | a binary module, hex (`\x0061...`) or base64 | (decoded only)             |
//! | `rust`       | a function body, or a module with `extern "C"` exports | `rustc --target wasm32-unknown-unknown` |
//! | `typescript` | a function body, or an AssemblyScript module | AssemblyScript's `asc`     |
//!
//! Rust code is compiled against the `oxibase-guest` SDK, whose source the server carries,
//! so a body can use `tx.query(...)` and `?` without any project around it. External
//! compilers run in a temporary directory with a time limit; their messages come back to
//! the client with line numbers that point into the routine's own source.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use oxibase_common::{DataType, Error, Result, errinput};
use oxibase_sql::procedure::{Returns, Routine};

/// How long an external compiler may run.
const COMPILER_TIMEOUT: Duration = Duration::from_secs(300);

/// The guest SDK's source, compiled into every Rust routine.
const SDK_LIB: &str = include_str!("../../guest/src/lib.rs");
const SDK_ABI: &str = include_str!("../../guest/src/abi.rs");

/// The AssemblyScript SDK, compiled into TypeScript routines that use SQL or non-numbers.
const TS_SDK: &str = include_str!("oxibase.ts");

/// Compiles a routine's source into module bytes.
pub fn compile(routine: &Routine) -> Result<Vec<u8>> {
    match routine.language.as_str() {
        "wat" => wat::parse_str(&routine.source).map_err(|e| {
            errinput!(INVALID_FUNCTION_DEFINITION, "invalid WebAssembly text in {}()", routine.name)
                .with_detail(e.to_string())
        }),
        "wasm" => binary(&routine.source),
        "rust" => rust(routine),
        "typescript" | "assemblyscript" => typescript(routine),
        other => Err(errinput!(UNDEFINED_OBJECT, "language \"{other}\" does not exist").with_hint(
            "Oxibase runs routines written in sql, plpgsql, wat, wasm, rust and typescript.",
        )),
    }
}

/// A binary module given as hex (`\x0061736d...` or bare) or base64.
fn binary(source: &str) -> Result<Vec<u8>> {
    let text: String = source.chars().filter(|c| !c.is_whitespace()).collect();
    let hex = text.strip_prefix("\\x").or_else(|| text.strip_prefix("0x"));
    let bytes = match hex {
        Some(hex) => decode_hex(hex),
        None if text.len().is_multiple_of(2) && text.starts_with("0061736d") => decode_hex(&text),
        None => base64::engine::general_purpose::STANDARD.decode(text.as_bytes()).ok(),
    };
    let bytes = bytes.ok_or_else(|| {
        errinput!(INVALID_FUNCTION_DEFINITION, "a wasm module must be given as hex or base64")
            .with_hint("Write AS '\\x0061736d...' (hex) or AS 'AGFzbQ...' (base64).")
    })?;
    if !bytes.starts_with(b"\0asm") {
        return Err(errinput!(
            INVALID_FUNCTION_DEFINITION,
            "not a WebAssembly module: it does not start with \\0asm"
        ));
    }
    Ok(bytes)
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok()).collect()
}

/// True when every argument and the result are numbers a Wasm function takes directly.
fn numeric(routine: &Routine) -> bool {
    let ok = |t: &DataType| wasm_scalar(t).is_some();
    routine.args.iter().all(|(_, t)| ok(t))
        && match &routine.returns {
            Returns::Void => true,
            Returns::Value(t) => ok(t),
            _ => false,
        }
}

/// A Rust body compiled to a plain Wasm function: numbers in and out, no SQL (`tx`).
fn plain(routine: &Routine) -> bool {
    numeric(routine) && !routine.source.contains("tx")
}

/// The Rust / AssemblyScript type of a number passed directly.
fn wasm_scalar(t: &DataType) -> Option<&'static str> {
    Some(match t {
        DataType::Int2 | DataType::Int4 => "i32",
        DataType::Int8 => "i64",
        DataType::Float4 => "f32",
        DataType::Float8 => "f64",
        _ => return None,
    })
}

/// The Rust type an argument or result reads as through the SDK.
fn rust_type(t: &DataType) -> &'static str {
    match t {
        DataType::Int2 | DataType::Int4 => "i32",
        DataType::Int8 => "i64",
        DataType::Float4 | DataType::Float8 => "f64",
        DataType::Bool => "bool",
        DataType::Bytea => "Vec<u8>",
        _ => "String",
    }
}

/// `name: type` of each argument passed as a plain number (Rust and AssemblyScript agree).
fn numeric_params(routine: &Routine) -> Vec<String> {
    routine
        .args
        .iter()
        .enumerate()
        .map(|(i, (n, t))| format!("{}: {}", arg_name(i, n), wasm_scalar(t).unwrap_or("i64")))
        .collect()
}

fn arg_name(i: usize, name: &str) -> String {
    if name.is_empty() { format!("arg{}", i + 1) } else { name.to_string() }
}

/// The Rust crate for a routine: the user's module, or a body wrapped in an exported
/// function. Returns the source and the line the user's code starts on.
pub(crate) fn rust_source(routine: &Routine) -> Result<(String, usize)> {
    let mut out = String::from(
        "#![allow(dead_code, unused_imports, unused_variables)]\n#[allow(missing_docs)]\nmod oxibase_guest;\n",
    );
    if routine.source.contains("extern \"C\"") {
        let line = out.lines().count() + 1;
        out.push_str(&routine.source);
        return Ok((out, line));
    }
    let name = &routine.name;
    if plain(routine) {
        let params = numeric_params(routine);
        let ret = match &routine.returns {
            Returns::Value(t) => format!(" -> {}", wasm_scalar(t).unwrap_or("i64")),
            _ => String::new(),
        };
        out.push_str(&format!(
            "#[unsafe(no_mangle)]\npub extern \"C\" fn {name}({}){ret} {{\n",
            params.join(", ")
        ));
    } else {
        let ret = match &routine.returns {
            Returns::Void => "()",
            Returns::Value(t) => rust_type(t),
            _ => {
                return Err(errinput!(
                    FEATURE_NOT_SUPPORTED,
                    "a set-returning Rust routine must be written as a module"
                )
                .with_hint(
                    "Export `extern \"C\" fn name() -> i32` calling oxibase_guest::entry_rows.",
                ));
            }
        };
        let names: Vec<String> =
            routine.args.iter().enumerate().map(|(i, (n, _))| arg_name(i, n)).collect();
        let types: Vec<&str> = routine.args.iter().map(|(_, t)| rust_type(t)).collect();
        let (names, types) = if names.is_empty() {
            (String::new(), String::new())
        } else {
            (format!("{},", names.join(", ")), format!("{},", types.join(", ")))
        };
        out.push_str(&format!(
            "#[unsafe(no_mangle)]\npub extern \"C\" fn {name}() -> i32 {{\n    oxibase_guest::entry(|tx: &oxibase_guest::Tx| -> oxibase_guest::Result<{ret}> {{\n        let ({names}): ({types}) = oxibase_guest::args()?;\n"
        ));
    }
    let line = out.lines().count() + 1;
    out.push_str(&routine.source);
    out.push_str(if plain(routine) { "\n}\n" } else { "\n    })\n}\n" });
    Ok((out, line))
}

fn rust(routine: &Routine) -> Result<Vec<u8>> {
    let rustc = std::env::var("OXIBASE_RUSTC").unwrap_or_else(|_| "rustc".into());
    let install = "LANGUAGE rust needs the Rust toolchain with its WebAssembly target on the server: \
                   install rustup (https://rustup.rs), then run `rustup target add wasm32-unknown-unknown`";
    let sysroot = Command::new(&rustc).args(["--print", "sysroot"]).output().map_err(|e| {
        errinput!(FEATURE_NOT_SUPPORTED, "{install}").with_detail(format!("running {rustc}: {e}"))
    })?;
    let sysroot = String::from_utf8_lossy(&sysroot.stdout).trim().to_string();
    if !Path::new(&sysroot).join("lib/rustlib/wasm32-unknown-unknown").is_dir() {
        return Err(errinput!(FEATURE_NOT_SUPPORTED, "{install}")
            .with_detail(format!("the toolchain at {sysroot} lacks wasm32-unknown-unknown")));
    }
    let dir = temp_dir()?;
    let (source, first_line) = rust_source(routine)?;
    write(&dir.path().join("lib.rs"), &source)?;
    std::fs::create_dir_all(dir.path().join("oxibase_guest")).map_err(io)?;
    write(&dir.path().join("oxibase_guest/mod.rs"), SDK_LIB)?;
    write(&dir.path().join("oxibase_guest/abi.rs"), SDK_ABI)?;
    let out = dir.path().join("out.wasm");
    let mut command = Command::new(&rustc);
    command
        .current_dir(dir.path())
        .args(["--edition", "2024", "--crate-type", "cdylib"])
        .args(["--target", "wasm32-unknown-unknown"])
        // Line tables only: what the debugger maps instructions to body lines with.
        .args(["-C", "opt-level=2", "-C", "debuginfo=line-tables-only", "-C", "panic=abort"])
        .args(["--error-format", "human", "-o"])
        .arg(&out)
        .arg("lib.rs");
    run_compiler(command, routine, "lib.rs", first_line)?;
    std::fs::read(&out).map_err(io)
}

fn typescript(routine: &Routine) -> Result<Vec<u8>> {
    let asc = find_asc().ok_or_else(|| {
        errinput!(
            FEATURE_NOT_SUPPORTED,
            "LANGUAGE typescript needs AssemblyScript's compiler `asc` on the server: install Node.js, then run `npm install -g assemblyscript` (or set OXIBASE_ASC to the asc program)"
        )
    })?;
    let (source, first_line) = typescript_source(routine)?;
    let dir = temp_dir()?;
    write(&dir.path().join("routine.ts"), &source)?;
    let out = dir.path().join("out.wasm");
    let mut command = Command::new(&asc);
    command.current_dir(dir.path()).arg("routine.ts").arg("--outFile").arg(&out).args([
        "-O3",
        "--runtime",
        "incremental",
        "--use",
        "abort=",
        "--sourceMap",
    ]);
    run_compiler(command, routine, "routine.ts", first_line)?;
    let mut module = std::fs::read(&out).map_err(io)?;
    // The source map goes into the module (the debugger's lines), without the sources' text.
    let map = std::fs::read_to_string(dir.path().join("out.wasm.map")).unwrap_or_default();
    if let Ok(map) = serde_json::from_str::<serde_json::Value>(&map) {
        let slim = serde_json::json!({"sources": map["sources"], "mappings": map["mappings"]});
        append_custom_section(&mut module, SOURCE_MAP_SECTION, slim.to_string().as_bytes());
    }
    Ok(module)
}

/// The custom section a TypeScript routine's source map is kept in.
pub(crate) const SOURCE_MAP_SECTION: &str = "oxibase.sourcemap";

/// Appends a custom section (valid anywhere after the header, ignored when running).
fn append_custom_section(module: &mut Vec<u8>, name: &str, data: &[u8]) {
    fn leb(out: &mut Vec<u8>, mut n: usize) {
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            out.push(if n == 0 { byte } else { byte | 0x80 });
            if n == 0 {
                break;
            }
        }
    }
    let mut body = Vec::new();
    leb(&mut body, name.len());
    body.extend_from_slice(name.as_bytes());
    body.extend_from_slice(data);
    module.push(0);
    leb(module, body.len());
    module.extend_from_slice(&body);
}

/// The AssemblyScript module for a routine: a plain function for a numeric body; else the
/// SDK (`oxibase.ts`) with the body as a function of its typed arguments, exported through
/// a wrapper that reads the arguments and sets the result. Returns the source and the line
/// the user's code starts on.
pub(crate) fn typescript_source(routine: &Routine) -> Result<(String, usize)> {
    let name = &routine.name;
    if routine.source.contains("export function") {
        let mut out = format!("{TS_SDK}\n");
        let line = out.lines().count() + 1;
        out.push_str(&routine.source);
        return Ok((out, line));
    }
    let uses_sdk = ["query", "execute", "emit", "notice", "raise", "Value"]
        .iter()
        .any(|word| routine.source.contains(word));
    if numeric(routine) && !uses_sdk {
        let ret = match &routine.returns {
            Returns::Value(t) => wasm_scalar(t).unwrap_or("i64"),
            _ => "void",
        };
        let params = numeric_params(routine).join(", ");
        let source =
            format!("export function {name}({params}): {ret} {{\n{}\n}}\n", routine.source);
        return Ok((source, 2));
    }
    let ts_type = |t: &DataType| match t {
        DataType::Int2 | DataType::Int4 => "i32",
        DataType::Int8 => "i64",
        DataType::Float4 => "f32",
        DataType::Float8 => "f64",
        DataType::Bool => "bool",
        _ => "string",
    };
    let read = |i: usize, t: &DataType| match t {
        DataType::Int2 | DataType::Int4 => format!("<i32>argInt({i})"),
        DataType::Int8 => format!("argInt({i})"),
        DataType::Float4 => format!("<f32>argFloat({i})"),
        DataType::Float8 => format!("argFloat({i})"),
        DataType::Bool => format!("argBool({i})"),
        _ => format!("argText({i})"),
    };
    let params: Vec<String> = routine
        .args
        .iter()
        .enumerate()
        .map(|(i, (n, t))| format!("{}: {}", arg_name(i, n), ts_type(t)))
        .collect();
    let reads: Vec<String> =
        routine.args.iter().enumerate().map(|(i, (_, t))| read(i, t)).collect();
    let (ret, call) = match &routine.returns {
        Returns::Value(t) => {
            let set = match t {
                DataType::Int2 | DataType::Int4 | DataType::Int8 => "resultInt(<i64>",
                DataType::Float4 | DataType::Float8 => "resultFloat(<f64>",
                DataType::Bool => "resultBool(",
                _ => "resultText(",
            };
            (ts_type(t), format!("{set}__body({}));", reads.join(", ")))
        }
        _ => ("void", format!("__body({});", reads.join(", "))),
    };
    let mut out = format!("{TS_SDK}\nfunction __body({}): {ret} {{\n", params.join(", "));
    let line = out.lines().count() + 1;
    out.push_str(&routine.source);
    out.push_str(&format!(
        "\n}}\nexport function {name}(): i32 {{\n  __begin();\n  {call}\n  return 0;\n}}\n"
    ));
    Ok((out, line))
}

fn find_asc() -> Option<std::path::PathBuf> {
    if let Ok(path) = std::env::var("OXIBASE_ASC") {
        let path = std::path::PathBuf::from(path);
        return path.is_file().then_some(path);
    }
    let local = Path::new("node_modules/.bin/asc");
    if local.is_file() {
        return std::fs::canonicalize(local).ok();
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join("asc")).find(|p| p.is_file())
}

/// Runs a compiler; on failure returns its messages (lines renumbered to the routine's
/// source) as the error's detail.
fn run_compiler(
    mut command: Command,
    routine: &Routine,
    file: &str,
    first_line: usize,
) -> Result<()> {
    let program = command.get_program().to_string_lossy().into_owned();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| errinput!(FEATURE_NOT_SUPPORTED, "could not run {program}: {e}"))?;
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(io)? {
            break status;
        }
        if started.elapsed() > COMPILER_TIMEOUT {
            let _ = child.kill();
            return Err(errinput!(
                QUERY_CANCELED,
                "compiling {}() took longer than {} s",
                routine.name,
                COMPILER_TIMEOUT.as_secs()
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    if status.success() {
        return Ok(());
    }
    let mut messages = String::new();
    if let Some(mut out) = child.stderr.take() {
        let _ = out.read_to_string(&mut messages);
    }
    if let Some(mut out) = child.stdout.take() {
        let _ = out.read_to_string(&mut messages);
    }
    Err(errinput!(
        INVALID_FUNCTION_DEFINITION,
        "{} compilation of {}() failed",
        routine.language,
        routine.name
    )
    .with_detail(renumber(&messages, file, first_line).trim().to_string()))
}

/// Rewrites `file:LINE` (rustc) and `file(LINE,` (asc) positions so that line 1 is the
/// routine's first line.
fn renumber(messages: &str, file: &str, first_line: usize) -> String {
    let mut out = String::with_capacity(messages.len());
    let mut rest = messages;
    while let Some(at) = rest.find(file) {
        out.push_str(&rest[..at]);
        let after = &rest[at + file.len()..];
        let sep = after.chars().next();
        let digits: String = after.chars().skip(1).take_while(char::is_ascii_digit).collect();
        match (sep, digits.parse::<usize>()) {
            (Some(c @ (':' | '(')), Ok(line)) => {
                let line = (line + 1).saturating_sub(first_line).max(1);
                let _ = c;
                out.push_str(&format!("line {line}"));
                rest = &after[1 + digits.len()..];
            }
            _ => {
                out.push_str(file);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    // rustc's and asc's source excerpts number their lines in a gutter: `7 | let y = x +;`.
    out.lines()
        .map(|line| {
            let digits = line.trim_start();
            let number: String = digits.chars().take_while(char::is_ascii_digit).collect();
            match number.parse::<usize>() {
                Ok(n)
                    if digits[number.len()..].starts_with(" |")
                        || digits[number.len()..].starts_with(" │") =>
                {
                    let pad = line.len() - digits.len();
                    let n = (n + 1).saturating_sub(first_line).max(1);
                    format!("{}{n}{}", " ".repeat(pad), &digits[number.len()..])
                }
                _ => line.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn temp_dir() -> Result<tempfile::TempDir> {
    tempfile::Builder::new().prefix("oxibase-routine-").tempdir().map_err(io)
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(io)
}

fn io(e: std::io::Error) -> Error {
    errinput!(IO_ERROR, "compiling a routine: {e}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiler_positions_point_into_the_routine() {
        let m = renumber("error[E0425]: x\n --> lib.rs:7:5\n  |\n7 | let y = x +;\n", "lib.rs", 5);
        assert!(m.contains("--> line 3:5"), "{m}");
        assert!(m.contains("\n3 | let y"), "{m}");
        let m = renumber("ERROR TS2304: y in routine.ts(3,9)", "routine.ts", 2);
        assert!(m.contains("line 2,9)"), "{m}");
    }

    #[test]
    fn binary_modules_are_hex_or_base64() {
        assert_eq!(binary("\\x0061736d01000000").ok(), Some(b"\0asm\x01\0\0\0".to_vec()));
        assert_eq!(binary("AGFzbQEAAAA=").ok(), Some(b"\0asm\x01\0\0\0".to_vec()));
        assert!(binary("\\x00ff").is_err());
        assert!(binary("not a module").is_err());
    }
}
