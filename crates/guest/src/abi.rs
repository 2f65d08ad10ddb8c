//! The host ABI's value encoding, shared by the host (the server) and guests.
//!
//! ABI version 1. A row is a `u32` count followed by that many values; a value is a tag
//! byte and its payload, little-endian:
//!
//! ```text
//!   0 NULL                       3 FLOAT  f64
//!   1 BOOL   u8 (0 or 1)         4 TEXT   u32 length, UTF-8 bytes
//!   2 INT    i64                 5 BYTES  u32 length, bytes
//! ```
//!
//! SQL integers travel as INT, floating-point as FLOAT, bytea as BYTES, booleans as BOOL;
//! every other type (numeric, dates, json, arrays, ...) as TEXT in PostgreSQL's text form,
//! which the host parses back into the declared type. The host writes rows straight into
//! the guest's memory in this form; nothing is serialized twice.

/// The ABI version this module implements.
pub const VERSION: u32 = 1;

/// The import module name of every host function.
pub const MODULE: &str = "oxibase";

/// Value tags.
pub const NULL: u8 = 0;
/// BOOL tag.
pub const BOOL: u8 = 1;
/// INT tag.
pub const INT: u8 = 2;
/// FLOAT tag.
pub const FLOAT: u8 = 3;
/// TEXT tag.
pub const TEXT: u8 = 4;
/// BYTES tag.
pub const BYTES: u8 = 5;

/// A value crossing the host boundary.
#[derive(Clone, Debug, PartialEq)]
pub enum Val {
    /// SQL NULL.
    Null,
    /// A boolean.
    Bool(bool),
    /// Any SQL integer.
    Int(i64),
    /// real or double precision.
    Float(f64),
    /// Text, or any other type in PostgreSQL's text form.
    Text(String),
    /// bytea.
    Bytes(Vec<u8>),
}

impl Val {
    /// The encoded size in bytes.
    pub fn encoded_len(&self) -> usize {
        1 + match self {
            Val::Null => 0,
            Val::Bool(_) => 1,
            Val::Int(_) | Val::Float(_) => 8,
            Val::Text(s) => 4 + s.len(),
            Val::Bytes(b) => 4 + b.len(),
        }
    }
}

/// The encoded size of a row.
pub fn row_len(row: &[Val]) -> usize {
    4 + row.iter().map(Val::encoded_len).sum::<usize>()
}

/// Writes a row into `out`, which holds at least [`row_len`] bytes; returns the length.
pub fn encode_into(row: &[Val], out: &mut [u8]) -> usize {
    let mut w = Writer { out, at: 0 };
    w.put(&(row.len() as u32).to_le_bytes());
    for v in row {
        match v {
            Val::Null => w.put(&[NULL]),
            Val::Bool(b) => w.put(&[BOOL, u8::from(*b)]),
            Val::Int(i) => {
                w.put(&[INT]);
                w.put(&i.to_le_bytes());
            }
            Val::Float(f) => {
                w.put(&[FLOAT]);
                w.put(&f.to_le_bytes());
            }
            Val::Text(s) => w.bytes(TEXT, s.as_bytes()),
            Val::Bytes(b) => w.bytes(BYTES, b),
        }
    }
    w.at
}

/// Encodes a row into a new buffer.
pub fn encode(row: &[Val]) -> Vec<u8> {
    let mut out = vec![0; row_len(row)];
    encode_into(row, &mut out);
    out
}

/// A sequential writer into a byte slice. Callers size the slice first, so writes past
/// its end are dropped rather than panicking.
pub struct Writer<'a> {
    /// The destination.
    pub out: &'a mut [u8],
    /// Bytes written so far.
    pub at: usize,
}

impl Writer<'_> {
    /// Appends bytes.
    pub fn put(&mut self, bytes: &[u8]) {
        let end = (self.at + bytes.len()).min(self.out.len());
        let n = end.saturating_sub(self.at);
        self.out[self.at..end].copy_from_slice(&bytes[..n]);
        self.at += bytes.len();
    }

    /// Appends a length-prefixed value with its tag.
    pub fn bytes(&mut self, tag: u8, bytes: &[u8]) {
        self.put(&[tag]);
        self.put(&(bytes.len() as u32).to_le_bytes());
        self.put(bytes);
    }
}

/// Why bytes are not a valid encoded row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid encoded row: {}", self.0)
    }
}

/// Decodes a row.
pub fn decode(bytes: &[u8]) -> Result<Vec<Val>, DecodeError> {
    let mut r = Reader { bytes, at: 0 };
    let count = u32::from_le_bytes(r.array()?) as usize;
    if count > bytes.len() {
        return Err(DecodeError(format!("{count} values in {} bytes", bytes.len())));
    }
    let mut row = Vec::with_capacity(count);
    for _ in 0..count {
        let [tag] = r.array()?;
        row.push(match tag {
            NULL => Val::Null,
            BOOL => Val::Bool(r.array::<1>()?[0] != 0),
            INT => Val::Int(i64::from_le_bytes(r.array()?)),
            FLOAT => Val::Float(f64::from_le_bytes(r.array()?)),
            TEXT => Val::Text(
                String::from_utf8(r.prefixed()?.to_vec())
                    .map_err(|_| DecodeError("text is not UTF-8".into()))?,
            ),
            BYTES => Val::Bytes(r.prefixed()?.to_vec()),
            other => return Err(DecodeError(format!("unknown tag {other}"))),
        });
    }
    if r.at != bytes.len() {
        return Err(DecodeError(format!("{} bytes after the row", bytes.len() - r.at)));
    }
    Ok(row)
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or_else(|| DecodeError("truncated".into()))?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn prefixed(&mut self) -> Result<&'a [u8], DecodeError> {
        let n = u32::from_le_bytes(self.array()?) as usize;
        self.take(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip() {
        let row = vec![
            Val::Null,
            Val::Bool(true),
            Val::Int(-5),
            Val::Float(2.5),
            Val::Text("héllo".into()),
            Val::Bytes(vec![0, 255]),
        ];
        let bytes = encode(&row);
        assert_eq!(bytes.len(), row_len(&row));
        assert_eq!(decode(&bytes), Ok(row));
    }

    #[test]
    fn malformed_rows_are_errors() {
        assert!(decode(&[]).is_err());
        assert!(decode(&[1, 0, 0, 0, 9]).is_err());
        assert!(decode(&[1, 0, 0, 0, TEXT, 255, 255, 255, 255]).is_err());
        assert!(decode(&[255, 255, 255, 255]).is_err());
        let mut extra = encode(&[Val::Int(1)]);
        extra.push(0);
        assert!(decode(&extra).is_err());
    }
}
