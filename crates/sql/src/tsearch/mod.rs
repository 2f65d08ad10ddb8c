//! Full text search: `tsvector` and `tsquery`, text search configurations, and what
//! PostgreSQL's text search functions and operators compute with them.
//!
//! A `tsvector` is a sorted set of lexemes, each with the positions (1..16383) and weights
//! (A..D) where it occurs; a `tsquery` is a tree of lexemes joined by `&`, `|`, `!` and the
//! phrase operator `<N>`. Both are held as [`Value::Text`](oxibase_common::Value) in their
//! canonical text form (as `jsonb` is), so they are stored, compared and sent like text;
//! the functions here parse that form when they compute.
//!
//! A configuration (`english`, `simple`, ...) sends each token of the [`parser`] to a
//! dictionary: `simple` lowercases, a language's stemmer (Snowball's, from rust-stemmers)
//! lowercases, drops that language's stop words (PostgreSQL's lists) and stems. Word tokens
//! go to the language's stemmer, the rest (numbers, hosts, e-mail addresses, ...) to
//! `simple`, as in PostgreSQL's built-in configurations.

pub mod headline;
pub mod parser;
pub mod query;
pub mod rank;

use std::collections::BTreeMap;
use std::collections::HashSet;
use std::sync::OnceLock;

use oxibase_common::{Result, errinput};
use rust_stemmers::{Algorithm, Stemmer};

pub use query::TsQuery;

/// The largest position a lexeme can have; later ones are stored as this.
pub const MAX_POS: u16 = 16383;
/// At most this many positions are kept per lexeme.
const MAX_POSITIONS: usize = 256;
/// Lexemes longer than this (in bytes) are left out, as PostgreSQL does.
const MAX_LEXEME: usize = 2047;

/// A position with its weight: PostgreSQL's encoding, the weight in the top two bits
/// (3 = A ... 0 = D).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pos(pub u16);

impl Pos {
    /// A position (clamped to 1..16383) with a weight (3 = A ... 0 = D).
    pub fn new(pos: u16, weight: u8) -> Pos {
        Pos(pos.clamp(1, MAX_POS) | (u16::from(weight & 3) << 14))
    }
    /// The position.
    pub fn pos(self) -> u16 {
        self.0 & 0x3fff
    }
    /// 3 = A, 2 = B, 1 = C, 0 = D.
    pub fn weight(self) -> u8 {
        (self.0 >> 14) as u8
    }
    /// Whether its weight is among those a query operand asks for (a mask: A = 8, B = 4,
    /// C = 2, D = 1; 0 for any).
    pub fn has_weight(self, mask: u8) -> bool {
        mask == 0 || mask & (1 << self.weight()) != 0
    }
}

/// A `tsvector`: each lexeme (in byte order) with its positions (sorted, distinct; empty
/// for a lexeme stored without positions).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TsVector {
    /// Lexeme to positions.
    pub entries: BTreeMap<String, Vec<Pos>>,
}

impl TsVector {
    /// Adds an occurrence of a lexeme.
    pub fn add(&mut self, lexeme: String, pos: Option<Pos>) {
        let positions = self.entries.entry(lexeme).or_default();
        if let Some(pos) = pos {
            positions.push(pos);
        }
    }

    /// Sorts each lexeme's positions, keeping one weight per position (the highest) and at
    /// most 256 of them.
    pub fn normalize(&mut self) {
        for positions in self.entries.values_mut() {
            positions.sort_by_key(|p| (p.pos(), std::cmp::Reverse(p.weight())));
            positions.dedup_by_key(|p| p.pos());
            positions.truncate(MAX_POSITIONS);
        }
    }

    /// The entries a query operand names: the lexeme itself, or (a prefix) every lexeme
    /// it begins.
    pub fn matching<'a>(
        &'a self,
        lexeme: &'a str,
        prefix: bool,
    ) -> impl Iterator<Item = (&'a String, &'a Vec<Pos>)> + 'a {
        self.entries
            .range::<str, _>((std::ops::Bound::Included(lexeme), std::ops::Bound::Unbounded))
            .take_while(
                move |(k, _)| if prefix { k.starts_with(lexeme) } else { k.as_str() == lexeme },
            )
    }

    /// The number of occurrences, a lexeme without positions counting once (PostgreSQL's
    /// cnt_length, which ranking normalizes by).
    pub fn occurrences(&self) -> usize {
        self.entries.values().map(|p| p.len().max(1)).sum()
    }

    /// The largest position, 0 without any.
    pub fn max_pos(&self) -> u16 {
        self.entries.values().flat_map(|p| p.iter().map(|p| p.pos())).max().unwrap_or(0)
    }

    /// The text form: `'fat':2 'rat':3A`.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for (lexeme, positions) in &self.entries {
            if !out.is_empty() {
                out.push(' ');
            }
            quote_lexeme(&mut out, lexeme);
            for (i, p) in positions.iter().enumerate() {
                out.push(if i == 0 { ':' } else { ',' });
                out.push_str(&p.pos().to_string());
                match p.weight() {
                    3 => out.push('A'),
                    2 => out.push('B'),
                    1 => out.push('C'),
                    _ => {}
                }
            }
        }
        out
    }

    /// Reads the text form (a cast to tsvector): lexemes separated by spaces, quoted or
    /// with backslash escapes, each with an optional `:` list of positions and weights.
    pub fn parse(input: &str) -> Result<TsVector> {
        let bad = || errinput!(SYNTAX_ERROR, "syntax error in tsvector: \"{input}\"");
        // Bytes, not chars: every delimiter is ASCII, so slices between them are UTF-8.
        let bytes = input.as_bytes();
        let mut vector = TsVector::default();
        let mut i = 0;
        loop {
            while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
                i += 1;
            }
            if i >= bytes.len() {
                break;
            }
            let (lexeme, next) = read_lexeme_bytes(input, i).ok_or_else(bad)?;
            i = next;
            if lexeme.len() > MAX_LEXEME {
                return Err(errinput!(
                    PROGRAM_LIMIT_EXCEEDED,
                    "word is too long ({} bytes, max {MAX_LEXEME} bytes)",
                    lexeme.len()
                ));
            }
            let mut positions = Vec::new();
            if bytes.get(i) == Some(&b':') {
                loop {
                    i += 1;
                    let start = i;
                    let mut n: u32 = 0;
                    while let Some(d) = bytes.get(i).filter(|b| b.is_ascii_digit()) {
                        n = n.saturating_mul(10).saturating_add(u32::from(d - b'0'));
                        i += 1;
                    }
                    if i == start {
                        return Err(bad());
                    }
                    if n == 0 {
                        return Err(errinput!(
                            SYNTAX_ERROR,
                            "wrong position info in tsvector: \"{input}\""
                        ));
                    }
                    let weight = match bytes.get(i).map(u8::to_ascii_uppercase) {
                        Some(b'A') => Some(3),
                        Some(b'B') => Some(2),
                        Some(b'C') => Some(1),
                        Some(b'D' | b'*') => Some(0),
                        _ => None,
                    };
                    if weight.is_some() {
                        i += 1;
                    }
                    positions.push(Pos::new(n.min(u32::from(MAX_POS)) as u16, weight.unwrap_or(0)));
                    if bytes.get(i) != Some(&b',') {
                        break;
                    }
                }
                if bytes.get(i).is_some_and(|b| !b.is_ascii_whitespace()) {
                    return Err(bad());
                }
            }
            vector.entries.entry(lexeme).or_default().extend(positions);
        }
        vector.normalize();
        Ok(vector)
    }
}

/// Reads a binary message: a cursor over its bytes that fails on a short read.
struct Binary<'a>(&'a [u8]);

impl Binary<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8]> {
        if self.0.len() < n {
            return Err(errinput!(
                INVALID_BINARY_REPRESENTATION,
                "insufficient data left in message"
            ));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    /// A NUL-terminated UTF-8 string.
    fn cstring(&mut self) -> Result<String> {
        let end =
            self.0.iter().position(|&b| b == 0).ok_or_else(|| {
                errinput!(INVALID_BINARY_REPRESENTATION, "invalid string in message")
            })?;
        let s = std::str::from_utf8(&self.0[..end])
            .map_err(|_| {
                errinput!(
                    CHARACTER_NOT_IN_REPERTOIRE,
                    "invalid byte sequence for encoding \"UTF8\""
                )
            })?
            .to_string();
        self.0 = &self.0[end + 1..];
        Ok(s)
    }
}

impl TsVector {
    /// PostgreSQL's binary form (tsvectorsend): the number of lexemes, then each lexeme
    /// NUL-terminated with its count of positions and the positions (weight in the top
    /// two bits).
    pub fn to_binary(&self) -> Vec<u8> {
        let mut out = (self.entries.len() as u32).to_be_bytes().to_vec();
        for (lexeme, positions) in &self.entries {
            out.extend_from_slice(lexeme.as_bytes());
            out.push(0);
            out.extend_from_slice(&(positions.len() as u16).to_be_bytes());
            for p in positions {
                out.extend_from_slice(&p.0.to_be_bytes());
            }
        }
        out
    }

    /// Reads the binary form.
    pub fn from_binary(bytes: &[u8]) -> Result<TsVector> {
        let mut b = Binary(bytes);
        let mut vector = TsVector::default();
        for _ in 0..b.u32()? {
            let lexeme = b.cstring()?;
            if lexeme.is_empty() || lexeme.len() > MAX_LEXEME {
                return Err(errinput!(
                    INVALID_BINARY_REPRESENTATION,
                    "invalid tsvector: lexeme length"
                ));
            }
            let positions = vector.entries.entry(lexeme).or_default();
            for _ in 0..b.u16()? {
                let p = Pos(b.u16()?);
                if p.pos() == 0 {
                    return Err(errinput!(
                        INVALID_BINARY_REPRESENTATION,
                        "invalid tsvector: position 0"
                    ));
                }
                positions.push(p);
            }
        }
        vector.normalize();
        Ok(vector)
    }
}

/// Writes a lexeme in quotes, doubling quotes and backslashes.
pub(crate) fn quote_lexeme(out: &mut String, lexeme: &str) {
    out.push('\'');
    for c in lexeme.chars() {
        if c == '\'' || c == '\\' {
            out.push(c);
        }
        out.push(c);
    }
    out.push('\'');
}

/// [`read_lexeme`] over a str's bytes, stopping at whitespace or `:`.
fn read_lexeme_bytes(input: &str, mut i: usize) -> Option<(String, usize)> {
    let bytes = input.as_bytes();
    let mut out = String::new();
    // The run of plain bytes since the last escape, copied in one piece.
    let mut run = i;
    if bytes.get(i) == Some(&b'\'') {
        i += 1;
        run = i;
        loop {
            match *bytes.get(i)? {
                b'\\' => {
                    out.push_str(input.get(run..i)?);
                    let c = input.get(i + 1..)?.chars().next()?;
                    out.push(c);
                    i += 1 + c.len_utf8();
                    run = i;
                }
                b'\'' if bytes.get(i + 1) == Some(&b'\'') => {
                    out.push_str(input.get(run..=i)?);
                    i += 2;
                    run = i;
                }
                b'\'' => {
                    out.push_str(input.get(run..i)?);
                    return (!out.is_empty()).then_some((out, i + 1));
                }
                _ => i += 1,
            }
        }
    }
    while let Some(&b) = bytes.get(i) {
        if b == b'\\' {
            out.push_str(input.get(run..i)?);
            let c = input.get(i + 1..)?.chars().next()?;
            out.push(c);
            i += 1 + c.len_utf8();
            run = i;
        } else if b.is_ascii_whitespace() || b == b':' {
            break;
        } else {
            i += 1;
        }
    }
    out.push_str(input.get(run..i)?);
    (!out.is_empty()).then_some((out, i))
}

/// Reads a lexeme at `i`: quoted (`'it''s'`, `'a\'b'`) or up to a character `stop` accepts,
/// with backslash escapes. Returns it and where reading stopped; None when it is empty or a
/// quote is left open.
pub(crate) fn read_lexeme(
    chars: &[char],
    mut i: usize,
    stop: impl Fn(char) -> bool,
) -> Option<(String, usize)> {
    let mut out = String::new();
    if chars.get(i) == Some(&'\'') {
        i += 1;
        loop {
            match *chars.get(i)? {
                '\\' => {
                    out.push(*chars.get(i + 1)?);
                    i += 2;
                }
                '\'' if chars.get(i + 1) == Some(&'\'') => {
                    out.push('\'');
                    i += 2;
                }
                '\'' => return Some((out, i + 1)),
                c => {
                    out.push(c);
                    i += 1;
                }
            }
        }
    }
    while let Some(&c) = chars.get(i) {
        if c == '\\' {
            out.push(*chars.get(i + 1)?);
            i += 2;
        } else if stop(c) {
            break;
        } else {
            out.push(c);
            i += 1;
        }
    }
    (!out.is_empty()).then_some((out, i))
}

/// A text search configuration: `simple`, or a language's stemmer and stop words.
pub struct Config {
    /// Its name (without `pg_catalog.`).
    pub name: &'static str,
    language: Option<(Algorithm, &'static str)>,
    stop: OnceLock<HashSet<&'static str>>,
}

static CONFIGS: [Config; 14] = [
    config("simple", None),
    config("english", Some((Algorithm::English, include_str!("stop/english.stop")))),
    config("french", Some((Algorithm::French, include_str!("stop/french.stop")))),
    config("german", Some((Algorithm::German, include_str!("stop/german.stop")))),
    config("spanish", Some((Algorithm::Spanish, include_str!("stop/spanish.stop")))),
    config("italian", Some((Algorithm::Italian, include_str!("stop/italian.stop")))),
    config("portuguese", Some((Algorithm::Portuguese, include_str!("stop/portuguese.stop")))),
    config("dutch", Some((Algorithm::Dutch, include_str!("stop/dutch.stop")))),
    config("russian", Some((Algorithm::Russian, include_str!("stop/russian.stop")))),
    config("swedish", Some((Algorithm::Swedish, include_str!("stop/swedish.stop")))),
    config("danish", Some((Algorithm::Danish, include_str!("stop/danish.stop")))),
    config("norwegian", Some((Algorithm::Norwegian, include_str!("stop/norwegian.stop")))),
    config("hungarian", Some((Algorithm::Hungarian, include_str!("stop/hungarian.stop")))),
    config("turkish", Some((Algorithm::Turkish, include_str!("stop/turkish.stop")))),
];

const fn config(name: &'static str, language: Option<(Algorithm, &'static str)>) -> Config {
    Config { name, language, stop: OnceLock::new() }
}

/// The names of the configurations, for `pg_ts_config`.
pub fn config_names() -> impl Iterator<Item = &'static str> {
    CONFIGS.iter().map(|c| c.name)
}

/// A configuration by name (`english`, `pg_catalog.english`, any case).
pub fn config_named(name: &str) -> Result<&'static Config> {
    let trimmed = name.trim();
    let base = trimmed.strip_prefix("pg_catalog.").unwrap_or(trimmed).trim_matches('"');
    CONFIGS.iter().find(|c| c.name.eq_ignore_ascii_case(base)).ok_or_else(|| {
        errinput!(UNDEFINED_OBJECT, "text search configuration \"{}\" does not exist", trimmed)
    })
}

/// What a dictionary made of a token.
#[derive(Debug, PartialEq, Eq)]
pub enum Lexeme {
    /// A lexeme.
    Word(String),
    /// A stop word: dropped, but it takes its position.
    Stop,
}

impl Config {
    fn stop_words(&self) -> &HashSet<&'static str> {
        self.stop.get_or_init(|| {
            self.language
                .map(|(_, list)| list.lines().map(str::trim).filter(|w| !w.is_empty()).collect())
                .unwrap_or_default()
        })
    }

    /// Runs a token through this configuration's dictionary for its type.
    pub fn lexeme(&self, kind: parser::TokenKind, token: &str) -> Lexeme {
        let lower = token.to_lowercase();
        match self.language {
            Some((algorithm, _)) if kind.is_word() => {
                if self.stop_words().contains(lower.as_str()) {
                    return Lexeme::Stop;
                }
                with_stemmer(algorithm, |s| Lexeme::Word(s.stem(&lower).into_owned()))
            }
            _ => Lexeme::Word(lower),
        }
    }

    /// A document's lexemes with their positions (from 1; a stop word takes one and yields
    /// nothing; lexemes too long to index are left out).
    pub fn lexemes(&self, text: &str) -> Vec<(u16, Lexeme)> {
        self.lexemes_after(text, &mut 0)
    }

    /// The lexemes of a text whose first token comes after position `*pos`, which is left
    /// at the last token's.
    fn lexemes_after(&self, text: &str, pos: &mut u32) -> Vec<(u16, Lexeme)> {
        let mut out = Vec::new();
        for (kind, token) in parser::tokens(text) {
            *pos += 1;
            let lexeme = self.lexeme(kind, &token);
            if matches!(&lexeme, Lexeme::Word(w) if w.len() > MAX_LEXEME || w.is_empty()) {
                continue;
            }
            out.push(((*pos).min(u32::from(MAX_POS)) as u16, lexeme));
        }
        out
    }

    /// `to_tsvector(config, json)`: the texts of a JSON document (as `pick` selects them,
    /// in document order) as one document, a position left between two texts with words.
    pub fn json_to_tsvector(&self, texts: &[String]) -> TsVector {
        let mut vector = TsVector::default();
        let mut pos = 0;
        for text in texts {
            let mut added = false;
            for (p, lexeme) in self.lexemes_after(text, &mut pos) {
                if let Lexeme::Word(w) = lexeme {
                    vector.add(w, Some(Pos::new(p, 0)));
                    added = true;
                }
            }
            if added {
                pos += 1;
            }
        }
        vector.normalize();
        vector
    }

    /// `to_tsvector(config, text)`.
    pub fn to_tsvector(&self, text: &str) -> TsVector {
        let mut vector = TsVector::default();
        for (pos, lexeme) in self.lexemes(text) {
            if let Lexeme::Word(w) = lexeme {
                vector.add(w, Some(Pos::new(pos, 0)));
            }
        }
        vector.normalize();
        vector
    }
}

/// Runs `f` with this thread's stemmer for `algorithm` (a stemmer is cheap to use and
/// built once per thread).
fn with_stemmer<R>(algorithm: Algorithm, f: impl FnOnce(&Stemmer) -> R) -> R {
    thread_local! {
        static STEMMERS: std::cell::RefCell<Vec<(Algorithm, Stemmer)>> =
            const { std::cell::RefCell::new(Vec::new()) };
    }
    STEMMERS.with(|cell| {
        let mut stemmers = cell.borrow_mut();
        let i = match stemmers.iter().position(|(a, _)| *a == algorithm) {
            Some(i) => i,
            None => {
                stemmers.push((algorithm, Stemmer::create(algorithm)));
                stemmers.len() - 1
            }
        };
        f(&stemmers[i].1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_stems_and_drops_stop_words_keeping_positions() {
        let v = config_named("english")
            .unwrap()
            .to_tsvector("The quick brown foxes jumped over the lazy dogs");
        assert_eq!(v.to_text(), "'brown':3 'dog':9 'fox':4 'jump':5 'lazi':8 'quick':2");
        let s = config_named("pg_catalog.SIMPLE").unwrap().to_tsvector("The Foxes");
        assert_eq!(s.to_text(), "'foxes':2 'the':1");
        assert!(config_named("klingon").is_err());
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    #[test]
    fn binary_forms_are_postgres_send_formats() {
        // PostgreSQL 15: tsvectorsend('a:1A,3 bc'), tsquerysend('!a & (b:*B | c <2> d)').
        let v = TsVector::parse("a:1A,3 bc").unwrap();
        let pg_v = hex("0000000261000002c00100036263000000");
        assert_eq!(v.to_binary(), pg_v);
        assert_eq!(TsVector::from_binary(&pg_v).unwrap(), v);
        let q = TsQuery::parse("!a & (b:*B | c <2> d)").unwrap();
        let pg_q = hex("00000008020202030204000201000064000100006300010401620002010100006100");
        assert_eq!(q.to_binary(), pg_q);
        assert_eq!(TsQuery::from_binary(&pg_q).unwrap(), q);
        assert_eq!(
            TsQuery::from_binary(&TsQuery::default().to_binary()).unwrap(),
            TsQuery::default()
        );
        // Truncated or inconsistent messages are errors, not panics.
        for bad in [&pg_q[..pg_q.len() - 1], &pg_q[..6], &hex("000000020100006100")] {
            assert!(TsQuery::from_binary(bad).is_err());
        }
        assert!(TsVector::from_binary(&pg_v[..7]).is_err());
        assert!(TsVector::from_binary(&hex("00000001610000010000")).is_err());
    }

    #[test]
    fn text_form_round_trips() {
        let v = TsVector::parse("a:1A,2 b c:3,3,1 'it''s' 'b\\\\c'").unwrap();
        assert_eq!(v.to_text(), "'a':1A,2 'b' 'b\\\\c' 'c':1,3 'it''s'");
        assert_eq!(TsVector::parse(&v.to_text()).unwrap(), v);
        assert!(TsVector::parse("a:x").is_err());
        assert!(TsVector::parse("'open").is_err());
    }
}
