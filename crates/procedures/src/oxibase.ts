// The TypeScript (AssemblyScript) side of Oxibase's host ABI, version 1: compiled into every
// `LANGUAGE typescript` routine that takes or returns more than numbers. See
// docs/procedures.md for the ABI; this mirrors the Rust SDK (crates/guest) in AssemblyScript.

@external("oxibase", "args") declare function __args(ptr: usize, cap: i32): i32;
@external("oxibase", "execute") declare function __execute(sql: usize, sqlLen: i32, params: usize, paramsLen: i32): i32;
@external("oxibase", "affected") declare function __affected(handle: i32): i64;
@external("oxibase", "next_row") declare function __next_row(handle: i32, ptr: usize, cap: i32): i32;
@external("oxibase", "close") declare function __close(handle: i32): void;
@external("oxibase", "error") declare function __error(ptr: usize, cap: i32): i32;
@external("oxibase", "set_result") declare function __set_result(ptr: usize, len: i32): void;
@external("oxibase", "emit_row") declare function __emit_row(ptr: usize, len: i32): void;
@external("oxibase", "raise") declare function __raise(ptr: usize, len: i32): void;
@external("oxibase", "log") declare function __log(level: i32, ptr: usize, len: i32): void;

const NULL: u8 = 0;
const BOOL: u8 = 1;
const INT: u8 = 2;
const FLOAT: u8 = 3;
const TEXT: u8 = 4;
const BYTES: u8 = 5;

/** A SQL value crossing the host boundary. */
class Value {
  tag: u8 = NULL;
  i: i64 = 0;
  f: f64 = 0;
  s: string = "";

  static null(): Value { return new Value(); }
  static int(v: i64): Value { const x = new Value(); x.tag = INT; x.i = v; return x; }
  static float(v: f64): Value { const x = new Value(); x.tag = FLOAT; x.f = v; return x; }
  static bool(v: bool): Value { const x = new Value(); x.tag = BOOL; x.i = v ? 1 : 0; return x; }
  static text(v: string): Value { const x = new Value(); x.tag = TEXT; x.s = v; return x; }

  isNull(): bool { return this.tag == NULL; }
  asInt(): i64 { return this.tag == FLOAT ? <i64>this.f : (this.tag == TEXT ? I64.parseInt(this.s) : this.i); }
  asFloat(): f64 { return this.tag == FLOAT ? this.f : (this.tag == TEXT ? F64.parseFloat(this.s) : <f64>this.i); }
  asBool(): bool { return this.i != 0; }
  asText(): string {
    if (this.tag == TEXT) return this.s;
    if (this.tag == INT) return this.i.toString();
    if (this.tag == FLOAT) return this.f.toString();
    if (this.tag == BOOL) return this.i != 0 ? "true" : "false";
    return "";
  }
}

function encode(row: Value[]): ArrayBuffer {
  const texts = new Array<ArrayBuffer>(row.length);
  let size = 4;
  for (let k = 0; k < row.length; k++) {
    const v = row[k];
    size += 1;
    if (v.tag == BOOL) size += 1;
    else if (v.tag == INT || v.tag == FLOAT) size += 8;
    else if (v.tag == TEXT) { texts[k] = String.UTF8.encode(v.s); size += 4 + texts[k].byteLength; }
  }
  const buf = new ArrayBuffer(size);
  const p = changetype<usize>(buf);
  store<u32>(p, row.length);
  let at: usize = 4;
  for (let k = 0; k < row.length; k++) {
    const v = row[k];
    store<u8>(p + at, v.tag); at += 1;
    if (v.tag == BOOL) { store<u8>(p + at, <u8>v.i); at += 1; }
    else if (v.tag == INT) { store<i64>(p + at, v.i); at += 8; }
    else if (v.tag == FLOAT) { store<f64>(p + at, v.f); at += 8; }
    else if (v.tag == TEXT) {
      const t = texts[k];
      store<u32>(p + at, t.byteLength); at += 4;
      memory.copy(p + at, changetype<usize>(t), t.byteLength); at += t.byteLength;
    }
  }
  return buf;
}

function decode(p: usize): Value[] {
  const n = load<u32>(p);
  const row = new Array<Value>(n);
  let at: usize = 4;
  for (let k: u32 = 0; k < n; k++) {
    const tag = load<u8>(p + at); at += 1;
    const v = new Value();
    v.tag = tag;
    if (tag == BOOL) { v.i = load<u8>(p + at); at += 1; }
    else if (tag == INT) { v.i = load<i64>(p + at); at += 8; }
    else if (tag == FLOAT) { v.f = load<f64>(p + at); at += 8; }
    else if (tag == TEXT || tag == BYTES) {
      const len = load<u32>(p + at); at += 4;
      if (tag == TEXT) v.s = String.UTF8.decodeUnsafe(p + at, len);
      at += len;
    }
    row[k] = v;
  }
  return row;
}

/** Reads a row the host writes with `fill(ptr, cap) -> len`. */
function readRow(fill: (ptr: usize, cap: i32) => i32): Value[] | null {
  let buf = new ArrayBuffer(256);
  let n = fill(changetype<usize>(buf), buf.byteLength);
  if (n > buf.byteLength) {
    buf = new ArrayBuffer(n);
    n = fill(changetype<usize>(buf), buf.byteLength);
  }
  if (n <= 0) return null;
  return decode(changetype<usize>(buf));
}

let __argsRow: Value[] | null = null;

/** Starts a call: instances are reused, so the previous call's arguments are forgotten. */
function __begin(): void { __argsRow = null; }
let __handle: i32 = 0;

/** The call's arguments. */
function args(): Value[] {
  const row = readRow((ptr: usize, cap: i32): i32 => __args(ptr, cap));
  return row == null ? new Array<Value>(0) : row;
}

function argInt(i: i32): i64 { if (__argsRow == null) __argsRow = args(); return __argsRow![i].asInt(); }
function argFloat(i: i32): f64 { if (__argsRow == null) __argsRow = args(); return __argsRow![i].asFloat(); }
function argBool(i: i32): bool { if (__argsRow == null) __argsRow = args(); return __argsRow![i].asBool(); }
function argText(i: i32): string { if (__argsRow == null) __argsRow = args(); return __argsRow![i].asText(); }

/** Fails the call with a SQLSTATE and a message (does not return). */
function raise(code: string, message: string): void {
  const row = encode([Value.text(code), Value.text(message)]);
  __raise(changetype<usize>(row), row.byteLength);
}

function raiseLast(): void {
  const row = readRow((ptr: usize, cap: i32): i32 => __error(ptr, cap));
  if (row == null || row.length < 2) raise("XX000", "a statement failed");
  else raise(row[0].s, row[1].s);
}

/** Rows of a statement run in the calling transaction; errors fail the call. */
class Rows {
  constructor(public handle: i32) {}
  affected(): i64 { return __affected(this.handle); }
  next(): Value[] | null {
    __handle = this.handle;
    return readRow((ptr: usize, cap: i32): i32 => __next_row(__handle, ptr, cap));
  }
  close(): void { __close(this.handle); }
}

/** Runs a statement with parameters in the calling transaction. */
function query(sql: string, params: Value[] = []): Rows {
  const text = String.UTF8.encode(sql);
  const row = encode(params);
  const handle = __execute(changetype<usize>(text), text.byteLength, changetype<usize>(row), row.byteLength);
  if (handle < 0) raiseLast();
  return new Rows(handle);
}

/** Runs a statement; returns how many rows it wrote or returned. */
function execute(sql: string, params: Value[] = []): i64 {
  const rows = query(sql, params);
  const n = rows.affected();
  rows.close();
  return n;
}

/** The first column of the first row, or a NULL value. */
function queryValue(sql: string, params: Value[] = []): Value {
  const rows = query(sql, params);
  const row = rows.next();
  rows.close();
  return row == null || row.length == 0 ? Value.null() : row[0];
}

function setResult(v: Value): void {
  const row = encode([v]);
  __set_result(changetype<usize>(row), row.byteLength);
}

function resultInt(v: i64): void { setResult(Value.int(v)); }
function resultFloat(v: f64): void { setResult(Value.float(v)); }
function resultBool(v: bool): void { setResult(Value.bool(v)); }
function resultText(v: string): void { setResult(Value.text(v)); }

/** Adds a result row (RETURNS TABLE / SETOF functions). */
function emit(row: Value[]): void {
  const buf = encode(row);
  __emit_row(changetype<usize>(buf), buf.byteLength);
}

/** Sends a NOTICE to the client. */
function notice(message: string): void {
  const text = String.UTF8.encode(message);
  __log(2, changetype<usize>(text), text.byteLength);
}
