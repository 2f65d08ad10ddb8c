//! The SQL/JSON path language (PostgreSQL docs, "The SQL/JSON Path Language"): what
//! `jsonb_path_query`, `jsonb_path_exists`, `jsonb_path_match`, `@?` and `@@` evaluate.
//!
//! ```text
//!   text ──parse──► Path { strict, root: Node }  ──eval(document, vars)──► [items] or an error
//! ```
//!
//! Lax mode (the default) unwraps arrays where an object or a scalar is expected and turns
//! structural errors (a missing key, a subscript out of range) into empty results; strict
//! mode reports them. Predicates are three-valued: an error inside one is `unknown`.
//! Numbers compute as NUMERIC, as in PostgreSQL. Not done: `.datetime()` and `.keyvalue()`
//! (whose `id` field is PostgreSQL's storage offset), which fail with 0A000.

use std::cmp::Ordering;

use oxibase_common::{DataType, Error, Result, SqlState, Value, errinput};
use serde_json::Value as Json;

use super::datetime::Zone;
use super::text::{format_value, parse_value};
use crate::plan::CmpOp;

/// A parsed path.
#[derive(Debug)]
pub struct Path {
    strict: bool,
    root: Node,
}

#[derive(Debug)]
enum Node {
    Root,
    Current,
    Last,
    Var(String),
    Literal(Json),
    Chain(Box<Node>, Vec<Accessor>),
    Unary(char, Box<Node>),
    Arith(char, Box<Node>, Box<Node>),
    Compare(CmpOp, Box<Node>, Box<Node>),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Not(Box<Node>),
    IsUnknown(Box<Node>),
    Exists(Box<Node>),
    LikeRegex(Box<Node>, regex::Regex),
    StartsWith(Box<Node>, Box<Node>),
}

impl Node {
    fn is_predicate(&self) -> bool {
        matches!(
            self,
            Node::Compare(..)
                | Node::And(..)
                | Node::Or(..)
                | Node::Not(_)
                | Node::IsUnknown(_)
                | Node::Exists(_)
                | Node::LikeRegex(..)
                | Node::StartsWith(..)
        )
    }
}

#[derive(Debug)]
enum Accessor {
    Key(String),
    AnyKey,
    AnyIndex,
    Index(Vec<(Node, Option<Node>)>),
    /// `.**{from to to}`; u32::MAX is `last`.
    Recursive(u32, u32),
    Method(Method),
    Filter(Box<Node>),
}

#[derive(Debug, Clone, Copy)]
enum Method {
    Type,
    Size,
    Double,
    Ceiling,
    Floor,
    Abs,
}

// ---- parsing ----

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Str(String),
    Num(String),
    Var(String),
    Punct(&'static str),
}

fn syntax(near: Option<&Token>) -> Error {
    let message = match near {
        None => "syntax error at end of jsonpath input".to_string(),
        Some(t) => format!("syntax error at or near \"{}\" of jsonpath input", token_text(t)),
    };
    Error::new(oxibase_common::ErrorKind::InvalidInput, SqlState::SYNTAX_ERROR, message)
}

fn token_text(t: &Token) -> String {
    match t {
        Token::Word(w) | Token::Num(w) => w.clone(),
        Token::Str(s) => format!("\"{s}\""),
        Token::Var(v) => format!("${v}"),
        Token::Punct(p) => (*p).to_string(),
    }
}

/// Punctuation, two-character tokens first.
const PUNCTS: [&str; 27] = [
    "**", "==", "!=", "<>", "<=", ">=", "&&", "||", "$", "@", ".", "[", "]", "(", ")", "{", "}",
    ",", "?", "*", "<", ">", "!", "+", "-", "/", "%",
];

fn lex(text: &str) -> Result<Vec<Token>> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '"' {
            let (s, next) = lex_string(&chars, i + 1)?;
            out.push(Token::Str(s));
            i = next;
        } else if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            if chars.get(i) == Some(&'.') && chars.get(i + 1).is_some_and(char::is_ascii_digit) {
                i += 1;
                while i < chars.len() && chars[i].is_ascii_digit() {
                    i += 1;
                }
            }
            if matches!(chars.get(i), Some('e' | 'E')) {
                let mut j = i + 1;
                if matches!(chars.get(j), Some('+' | '-')) {
                    j += 1;
                }
                if chars.get(j).is_some_and(char::is_ascii_digit) {
                    i = j;
                    while i < chars.len() && chars[i].is_ascii_digit() {
                        i += 1;
                    }
                }
            }
            let num: String = chars[start..i].iter().collect();
            if chars.get(i).is_some_and(|c| c.is_alphanumeric() || *c == '_') {
                return Err(syntax(Some(&Token::Num(num))));
            }
            out.push(Token::Num(num));
        } else if c == '$' {
            if chars.get(i + 1) == Some(&'"') {
                let (s, next) = lex_string(&chars, i + 2)?;
                out.push(Token::Var(s));
                i = next;
            } else if chars.get(i + 1).is_some_and(|c| c.is_alphanumeric() || *c == '_') {
                let start = i + 1;
                i += 1;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                out.push(Token::Var(chars[start..i].iter().collect()));
            } else {
                out.push(Token::Punct("$"));
                i += 1;
            }
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Token::Word(chars[start..i].iter().collect()));
        } else {
            let rest: String = chars[i..chars.len().min(i + 2)].iter().collect();
            let p = PUNCTS
                .iter()
                .find(|p| rest.starts_with(**p))
                .ok_or_else(|| syntax(Some(&Token::Word(c.to_string()))))?;
            out.push(Token::Punct(p));
            i += p.len();
        }
    }
    Ok(out)
}

fn lex_string(chars: &[char], mut i: usize) -> Result<(String, usize)> {
    let mut s = String::new();
    loop {
        let Some(&c) = chars.get(i) else { return Err(syntax(None)) };
        i += 1;
        match c {
            '"' => return Ok((s, i)),
            '\\' => {
                let Some(&e) = chars.get(i) else { return Err(syntax(None)) };
                i += 1;
                match e {
                    'b' => s.push('\u{8}'),
                    'f' => s.push('\u{c}'),
                    'n' => s.push('\n'),
                    'r' => s.push('\r'),
                    't' => s.push('\t'),
                    'v' => s.push('\u{b}'),
                    'u' | 'x' => {
                        let digits = if e == 'u' { 4 } else { 2 };
                        let hex: String = chars.get(i..i + digits).unwrap_or(&[]).iter().collect();
                        let code = u32::from_str_radix(&hex, 16)
                            .ok()
                            .filter(|_| hex.len() == digits)
                            .and_then(char::from_u32)
                            .ok_or_else(|| syntax(Some(&Token::Str(hex.clone()))))?;
                        s.push(code);
                        i += digits;
                    }
                    other => s.push(other),
                }
            }
            c => s.push(c),
        }
    }
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    /// Inside a filter: `@` is allowed.
    filters: usize,
    /// Inside an array subscript: `last` is allowed.
    subscripts: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn is_punct(&self, p: &str) -> bool {
        matches!(self.peek(), Some(Token::Punct(q)) if *q == p)
    }

    fn is_word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(x)) if x.eq_ignore_ascii_case(w))
    }

    fn eat_punct(&mut self, p: &str) -> bool {
        let yes = self.is_punct(p);
        if yes {
            self.pos += 1;
        }
        yes
    }

    fn expect_punct(&mut self, p: &str) -> Result<()> {
        if self.eat_punct(p) { Ok(()) } else { Err(syntax(self.peek())) }
    }

    fn expect_word(&mut self, w: &str) -> Result<()> {
        if self.is_word(w) {
            self.pos += 1;
            Ok(())
        } else {
            Err(syntax(self.peek()))
        }
    }

    fn or(&mut self) -> Result<Node> {
        let mut left = self.and()?;
        while self.is_punct("||") {
            predicate_operand(&left, "||")?;
            self.pos += 1;
            let right = self.and()?;
            predicate_operand(&right, "||")?;
            left = Node::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Node> {
        let mut left = self.not()?;
        while self.is_punct("&&") {
            predicate_operand(&left, "&&")?;
            self.pos += 1;
            let right = self.not()?;
            predicate_operand(&right, "&&")?;
            left = Node::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Node> {
        if self.eat_punct("!") {
            let inner = self.not()?;
            predicate_operand(&inner, "!")?;
            return Ok(Node::Not(Box::new(inner)));
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Node> {
        let left = self.additive()?;
        let op = match self.peek() {
            Some(Token::Punct("==")) => Some(CmpOp::Eq),
            Some(Token::Punct("!=" | "<>")) => Some(CmpOp::NotEq),
            Some(Token::Punct("<")) => Some(CmpOp::Lt),
            Some(Token::Punct("<=")) => Some(CmpOp::LtEq),
            Some(Token::Punct(">")) => Some(CmpOp::Gt),
            Some(Token::Punct(">=")) => Some(CmpOp::GtEq),
            _ => None,
        };
        if let Some(op) = op {
            self.pos += 1;
            let right = self.additive()?;
            return Ok(Node::Compare(op, Box::new(left), Box::new(right)));
        }
        if self.is_word("like_regex") {
            self.pos += 1;
            let Some(Token::Str(pattern)) = self.next() else { return Err(syntax(self.peek())) };
            let mut flags = String::new();
            if self.is_word("flag") {
                self.pos += 1;
                let Some(Token::Str(f)) = self.next() else { return Err(syntax(self.peek())) };
                flags = f;
            }
            return Ok(Node::LikeRegex(Box::new(left), like_regex(&pattern, &flags)?));
        }
        if self.is_word("starts") {
            self.pos += 1;
            self.expect_word("with")?;
            let right = match self.next() {
                Some(Token::Str(s)) => Node::Literal(Json::String(s)),
                Some(Token::Var(v)) => Node::Var(v),
                other => return Err(syntax(other.as_ref())),
            };
            return Ok(Node::StartsWith(Box::new(left), Box::new(right)));
        }
        if self.is_word("is") {
            self.pos += 1;
            self.expect_word("unknown")?;
            if !left.is_predicate() {
                return Err(syntax(Some(&Token::Word("unknown".into()))));
            }
            return Ok(Node::IsUnknown(Box::new(left)));
        }
        Ok(left)
    }

    fn additive(&mut self) -> Result<Node> {
        let mut left = self.multiplicative()?;
        loop {
            let op = match self.peek() {
                Some(Token::Punct("+")) => '+',
                Some(Token::Punct("-")) => '-',
                _ => return Ok(left),
            };
            self.pos += 1;
            let right = self.multiplicative()?;
            left = Node::Arith(op, Box::new(left), Box::new(right));
        }
    }

    fn multiplicative(&mut self) -> Result<Node> {
        let mut left = self.unary()?;
        loop {
            let op = match self.peek() {
                Some(Token::Punct("*")) => '*',
                Some(Token::Punct("/")) => '/',
                Some(Token::Punct("%")) => '%',
                _ => return Ok(left),
            };
            self.pos += 1;
            let right = self.unary()?;
            left = Node::Arith(op, Box::new(left), Box::new(right));
        }
    }

    fn unary(&mut self) -> Result<Node> {
        if self.eat_punct("-") {
            return Ok(Node::Unary('-', Box::new(self.unary()?)));
        }
        if self.eat_punct("+") {
            return Ok(Node::Unary('+', Box::new(self.unary()?)));
        }
        self.chain()
    }

    fn chain(&mut self) -> Result<Node> {
        let primary = self.primary()?;
        let mut accessors = Vec::new();
        loop {
            if self.eat_punct(".") {
                accessors.push(self.member()?);
            } else if self.eat_punct("[") {
                accessors.push(self.subscript()?);
            } else if self.is_punct("?") {
                self.pos += 1;
                self.expect_punct("(")?;
                self.filters += 1;
                let predicate = self.or()?;
                self.filters -= 1;
                self.expect_punct(")")?;
                accessors.push(Accessor::Filter(Box::new(predicate)));
            } else {
                break;
            }
        }
        Ok(if accessors.is_empty() { primary } else { Node::Chain(Box::new(primary), accessors) })
    }

    fn member(&mut self) -> Result<Accessor> {
        match self.next() {
            Some(Token::Punct("*")) => Ok(Accessor::AnyKey),
            Some(Token::Punct("**")) => {
                if !self.eat_punct("{") {
                    return Ok(Accessor::Recursive(0, u32::MAX));
                }
                let from = self.level()?;
                let to = if self.is_word("to") {
                    self.pos += 1;
                    self.level()?
                } else {
                    from
                };
                self.expect_punct("}")?;
                Ok(Accessor::Recursive(from, to))
            }
            Some(Token::Str(key)) => Ok(Accessor::Key(key)),
            Some(Token::Word(word)) if self.is_punct("(") => {
                self.pos += 1;
                self.expect_punct(")")?;
                let method = match word.as_str() {
                    "type" => Method::Type,
                    "size" => Method::Size,
                    "double" => Method::Double,
                    "ceiling" => Method::Ceiling,
                    "floor" => Method::Floor,
                    "abs" => Method::Abs,
                    "datetime" | "keyvalue" => {
                        return Err(errinput!(
                            FEATURE_NOT_SUPPORTED,
                            "jsonpath item method .{word}() is not supported"
                        ));
                    }
                    _ => return Err(syntax(Some(&Token::Punct("(")))),
                };
                Ok(Accessor::Method(method))
            }
            Some(Token::Word(key)) => Ok(Accessor::Key(key)),
            other => Err(syntax(other.as_ref())),
        }
    }

    fn level(&mut self) -> Result<u32> {
        match self.next() {
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("last") => Ok(u32::MAX),
            Some(Token::Num(n)) => n.parse().map_err(|_| syntax(Some(&Token::Num(n)))),
            other => Err(syntax(other.as_ref())),
        }
    }

    fn subscript(&mut self) -> Result<Accessor> {
        if self.eat_punct("*") {
            self.expect_punct("]")?;
            return Ok(Accessor::AnyIndex);
        }
        self.subscripts += 1;
        let mut items = Vec::new();
        loop {
            let from = self.or()?;
            let to = if self.is_word("to") {
                self.pos += 1;
                Some(self.or()?)
            } else {
                None
            };
            items.push((from, to));
            if !self.eat_punct(",") {
                break;
            }
        }
        self.subscripts -= 1;
        self.expect_punct("]")?;
        Ok(Accessor::Index(items))
    }

    fn primary(&mut self) -> Result<Node> {
        let token = self.next();
        Ok(match token {
            Some(Token::Punct("$")) => Node::Root,
            Some(Token::Punct("@")) => {
                if self.filters == 0 {
                    return Err(errinput!(SYNTAX_ERROR, "@ is not allowed in root expressions"));
                }
                Node::Current
            }
            Some(Token::Var(v)) => Node::Var(v),
            Some(Token::Str(s)) => Node::Literal(Json::String(s)),
            Some(Token::Num(n)) => Node::Literal(number_literal(&n)?),
            Some(Token::Punct("(")) => {
                let inner = self.or()?;
                self.expect_punct(")")?;
                inner
            }
            Some(Token::Word(w)) => match w.to_ascii_lowercase().as_str() {
                "true" => Node::Literal(Json::Bool(true)),
                "false" => Node::Literal(Json::Bool(false)),
                "null" => Node::Literal(Json::Null),
                "last" => {
                    if self.subscripts == 0 {
                        return Err(errinput!(
                            SYNTAX_ERROR,
                            "LAST is allowed only in array subscripts"
                        ));
                    }
                    Node::Last
                }
                "exists" => {
                    self.expect_punct("(")?;
                    let inner = self.or()?;
                    self.expect_punct(")")?;
                    Node::Exists(Box::new(inner))
                }
                _ => return Err(syntax(Some(&Token::Word(w)))),
            },
            other => return Err(syntax(other.as_ref())),
        })
    }
}

/// `&&`, `||` and `!` combine predicates only, as in PostgreSQL's grammar.
fn predicate_operand(node: &Node, op: &'static str) -> Result<()> {
    if node.is_predicate() { Ok(()) } else { Err(syntax(Some(&Token::Punct(op)))) }
}

fn number_literal(text: &str) -> Result<Json> {
    let value = parse_value(text, &DataType::Numeric(None), &Zone::UTC)?;
    Ok(numeric_json(&value))
}

fn like_regex(pattern: &str, flags: &str) -> Result<regex::Regex> {
    if let Some(other) = flags.chars().find(|f| !"ismxq".contains(*f)) {
        return Err(errinput!(SYNTAX_ERROR, "invalid input syntax for type jsonpath").with_detail(
            format!("Unrecognized flag character \"{other}\" in LIKE_REGEX predicate."),
        ));
    }
    let literal = flags.contains('q');
    let pattern = if literal { regex::escape(pattern) } else { pattern.to_string() };
    regex::RegexBuilder::new(&pattern)
        .case_insensitive(flags.contains('i'))
        .dot_matches_new_line(flags.contains('s'))
        .multi_line(flags.contains('m'))
        .ignore_whitespace(flags.contains('x') && !literal)
        .build()
        .map_err(|e| errinput!(INVALID_REGULAR_EXPRESSION, "invalid regular expression: {e}"))
}

/// Parses a path (42601 on a syntax error).
pub fn parse(text: &str) -> Result<Path> {
    let mut tokens = lex(text)?;
    let mut strict = false;
    if let Some(Token::Word(w)) = tokens.first() {
        let w = w.to_ascii_lowercase();
        if (w == "strict" || w == "lax") && tokens.len() > 1 {
            strict = w == "strict";
            tokens.remove(0);
        }
    }
    let mut p = Parser { tokens, pos: 0, filters: 0, subscripts: 0 };
    if p.peek().is_none() {
        return Err(syntax(None));
    }
    let root = p.or()?;
    if p.pos < p.tokens.len() {
        return Err(syntax(p.peek()));
    }
    Ok(Path { strict, root })
}

// ---- evaluation ----

/// An error while evaluating: `silent` suppresses the suppressible ones.
struct Failure {
    error: Error,
    suppressible: bool,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure { error, suppressible: false }
    }
}

type Eval<T> = std::result::Result<T, Failure>;

fn fail<T>(code: SqlState, message: impl Into<String>) -> Eval<T> {
    Err(Failure {
        error: Error::new(oxibase_common::ErrorKind::InvalidInput, code, message.into()),
        suppressible: true,
    })
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Tri {
    True,
    False,
    Unknown,
}

impl Tri {
    fn from(b: bool) -> Tri {
        if b { Tri::True } else { Tri::False }
    }
}

struct Ctx<'a> {
    root: &'a Json,
    vars: &'a serde_json::Map<String, Json>,
    strict: bool,
}

/// Runs a path over a document: its items, or its error (None when `silent` swallowed one).
pub fn query(path: &Path, doc: &Json, vars: &Json, silent: bool) -> Result<Option<Vec<Json>>> {
    let empty = serde_json::Map::new();
    let vars = match vars {
        Json::Object(map) => map,
        Json::Null => &empty,
        _ => {
            return Err(errinput!(INVALID_PARAMETER_VALUE, "\"vars\" argument is not an object")
                .with_detail(
                    "Jsonpath parameters should be encoded as key-value pairs of \"vars\" object.",
                ));
        }
    };
    let ctx = Ctx { root: doc, vars, strict: path.strict };
    let result = if path.root.is_predicate() {
        ctx.predicate(&path.root, doc, None).map(|t| vec![tri_json(t)])
    } else {
        ctx.eval(&path.root, doc, None)
    };
    match result {
        Ok(items) => Ok(Some(items)),
        Err(f) if silent && f.suppressible => Ok(None),
        Err(f) => Err(f.error),
    }
}

/// `jsonb_path_match`'s rule: the path yields one boolean (or null).
pub fn single_boolean(items: &[Json], silent: bool) -> Result<Option<bool>> {
    match items {
        [Json::Bool(b)] => Ok(Some(*b)),
        [Json::Null] => Ok(None),
        _ if silent => Ok(None),
        _ => Err(errinput!(SINGLETON_SQL_JSON_ITEM_REQUIRED, "single boolean result is expected")),
    }
}

fn tri_json(t: Tri) -> Json {
    match t {
        Tri::True => Json::Bool(true),
        Tri::False => Json::Bool(false),
        Tri::Unknown => Json::Null,
    }
}

impl Ctx<'_> {
    fn eval(&self, node: &Node, current: &Json, last: Option<usize>) -> Eval<Vec<Json>> {
        Ok(match node {
            Node::Root => vec![self.root.clone()],
            Node::Current => vec![current.clone()],
            Node::Last => match last {
                Some(n) => vec![Json::from(n as i64 - 1)],
                None => {
                    return Err(errinput!(
                        SYNTAX_ERROR,
                        "evaluating jsonpath LAST outside of array subscript"
                    )
                    .into());
                }
            },
            Node::Var(name) => match self.vars.get(name) {
                Some(v) => vec![v.clone()],
                None => {
                    return Err(errinput!(
                        UNDEFINED_OBJECT,
                        "could not find jsonpath variable \"{name}\""
                    )
                    .into());
                }
            },
            Node::Literal(v) => vec![v.clone()],
            Node::Chain(primary, accessors) => {
                let mut items = self.eval(primary, current, last)?;
                for accessor in accessors {
                    let mut next = Vec::new();
                    for item in &items {
                        self.access(accessor, item, last, &mut next)?;
                    }
                    items = next;
                }
                items
            }
            Node::Unary(op, inner) => {
                let mut out = Vec::new();
                for item in self.unwrapped(self.eval(inner, current, last)?) {
                    if !item.is_number() {
                        return fail(
                            SqlState::SQL_JSON_NUMBER_NOT_FOUND,
                            format!(
                                "operand of unary jsonpath operator {op} is not a numeric value"
                            ),
                        );
                    }
                    out.push(if *op == '-' {
                        numeric_json(&super::arith::neg(&json_numeric(&item))?)
                    } else {
                        item
                    });
                }
                out
            }
            Node::Arith(op, l, r) => {
                let operand = |side: &Node, which: &str| -> Eval<Value> {
                    let items = self.unwrapped(self.eval(side, current, last)?);
                    match items.as_slice() {
                        [n] if n.is_number() => Ok(json_numeric(n)),
                        _ => fail(
                            SqlState::SINGLETON_SQL_JSON_ITEM_REQUIRED,
                            format!(
                                "{which} operand of jsonpath operator {op} is not a single numeric value"
                            ),
                        ),
                    }
                };
                let (a, b) = (operand(l, "left")?, operand(r, "right")?);
                let result = match op {
                    '+' => super::arith::add(&a, &b, &Zone::UTC),
                    '-' => super::arith::sub(&a, &b, &Zone::UTC),
                    '*' => super::arith::mul(&a, &b),
                    '/' => super::arith::div(&a, &b),
                    _ => super::arith::rem(&a, &b),
                };
                match result {
                    Ok(v) => vec![numeric_json(&v)],
                    Err(e) => return Err(Failure { error: e, suppressible: true }),
                }
            }
            predicate => vec![tri_json(self.predicate(predicate, current, last)?)],
        })
    }

    /// Lax mode unwraps arrays (one level) where a sequence of scalars is expected.
    fn unwrapped(&self, items: Vec<Json>) -> Vec<Json> {
        if self.strict {
            return items;
        }
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            match item {
                Json::Array(elements) => out.extend(elements),
                other => out.push(other),
            }
        }
        out
    }

    fn access(
        &self,
        accessor: &Accessor,
        item: &Json,
        last: Option<usize>,
        out: &mut Vec<Json>,
    ) -> Eval<()> {
        match accessor {
            Accessor::Key(key) => match item {
                Json::Object(map) => match map.get(key) {
                    Some(v) => out.push(v.clone()),
                    None if self.strict => {
                        return fail(
                            SqlState::SQL_JSON_MEMBER_NOT_FOUND,
                            format!("JSON object does not contain key \"{key}\""),
                        );
                    }
                    None => {}
                },
                Json::Array(elements) if !self.strict => {
                    for e in elements {
                        self.access(accessor, e, last, out)?;
                    }
                }
                _ if self.strict => {
                    return fail(
                        SqlState::SQL_JSON_MEMBER_NOT_FOUND,
                        "jsonpath member accessor can only be applied to an object",
                    );
                }
                _ => {}
            },
            Accessor::AnyKey => match item {
                Json::Object(map) => out.extend(map.values().cloned()),
                Json::Array(elements) if !self.strict => {
                    for e in elements {
                        self.access(accessor, e, last, out)?;
                    }
                }
                _ if self.strict => {
                    return fail(
                        SqlState::SQL_JSON_OBJECT_NOT_FOUND,
                        "jsonpath wildcard member accessor can only be applied to an object",
                    );
                }
                _ => {}
            },
            Accessor::AnyIndex => match item {
                Json::Array(elements) => out.extend(elements.iter().cloned()),
                _ if self.strict => {
                    return fail(
                        SqlState::SQL_JSON_ARRAY_NOT_FOUND,
                        "jsonpath wildcard array accessor can only be applied to an array",
                    );
                }
                other => out.push(other.clone()),
            },
            Accessor::Index(items) => {
                let single;
                let elements: &[Json] = match item {
                    Json::Array(elements) => elements,
                    _ if self.strict => {
                        return fail(
                            SqlState::SQL_JSON_ARRAY_NOT_FOUND,
                            "jsonpath array accessor can only be applied to an array",
                        );
                    }
                    other => {
                        single = [other.clone()];
                        &single
                    }
                };
                let size = elements.len();
                for (from, to) in items {
                    let from = self.subscript(from, item, size)?;
                    let to = match to {
                        Some(to) => self.subscript(to, item, size)?,
                        None => from,
                    };
                    let in_range = |i: i64| i >= 0 && (i as usize) < size;
                    if self.strict && (!in_range(from) || !in_range(to) || from > to) {
                        return fail(
                            SqlState::INVALID_SQL_JSON_SUBSCRIPT,
                            "jsonpath array subscript is out of bounds",
                        );
                    }
                    for i in from.max(0)..=to.min(size as i64 - 1) {
                        out.push(elements[i as usize].clone());
                    }
                }
            }
            Accessor::Recursive(from, to) => recurse(item, 0, *from, *to, out),
            Accessor::Method(method) => self.method(*method, item, out)?,
            Accessor::Filter(predicate) => {
                let candidates = match item {
                    Json::Array(elements) if !self.strict => elements.clone(),
                    other => vec![other.clone()],
                };
                for c in candidates {
                    if self.predicate(predicate, &c, last)? == Tri::True {
                        out.push(c);
                    }
                }
            }
        }
        Ok(())
    }

    /// One array subscript: a single number, truncated (`last` is the array's last index).
    fn subscript(&self, node: &Node, array: &Json, size: usize) -> Eval<i64> {
        let items = self.eval(node, array, Some(size))?;
        match items.as_slice() {
            [n] if n.is_number() => {
                let v = super::compare::to_f64(&json_numeric(n)).trunc();
                if v.abs() > i32::MAX as f64 {
                    return fail(
                        SqlState::INVALID_SQL_JSON_SUBSCRIPT,
                        "jsonpath array subscript is out of integer range",
                    );
                }
                Ok(v as i64)
            }
            _ => fail(
                SqlState::INVALID_SQL_JSON_SUBSCRIPT,
                "jsonpath array subscript is not a single numeric value",
            ),
        }
    }

    fn method(&self, method: Method, item: &Json, out: &mut Vec<Json>) -> Eval<()> {
        if let (Json::Array(elements), false, false) =
            (item, self.strict, matches!(method, Method::Type | Method::Size))
        {
            for e in elements {
                self.method(method, e, out)?;
            }
            return Ok(());
        }
        let numeric_only = |name: &str| -> Eval<Value> {
            if item.is_number() {
                Ok(json_numeric(item))
            } else {
                fail(
                    SqlState::NON_NUMERIC_SQL_JSON_ITEM,
                    format!(
                        "jsonpath item method .{name}() can only be applied to a numeric value"
                    ),
                )
            }
        };
        out.push(match method {
            Method::Type => Json::String(
                match item {
                    Json::Object(_) => "object",
                    Json::Array(_) => "array",
                    Json::String(_) => "string",
                    Json::Number(_) => "number",
                    Json::Bool(_) => "boolean",
                    Json::Null => "null",
                }
                .into(),
            ),
            Method::Size => match item {
                Json::Array(elements) => Json::from(elements.len() as i64),
                _ if self.strict => {
                    return fail(
                        SqlState::SQL_JSON_ARRAY_NOT_FOUND,
                        "jsonpath item method .size() can only be applied to an array",
                    );
                }
                _ => Json::from(1),
            },
            Method::Double => {
                let text = match item {
                    Json::Number(n) => n.to_string(),
                    Json::String(s) => s.clone(),
                    _ => {
                        return fail(
                            SqlState::NON_NUMERIC_SQL_JSON_ITEM,
                            "jsonpath item method .double() can only be applied to a string or numeric value",
                        );
                    }
                };
                match parse_value(text.trim(), &DataType::Float8, &Zone::UTC) {
                    Ok(v @ Value::Float8(f)) if f.is_finite() => {
                        let numeric = super::cast::cast(
                            v,
                            &DataType::Numeric(None),
                            super::cast::CastKind::Explicit,
                            &Zone::UTC,
                        )?;
                        numeric_json(&numeric)
                    }
                    _ => {
                        return fail(
                            SqlState::NON_NUMERIC_SQL_JSON_ITEM,
                            "string argument of jsonpath item method .double() is not a valid representation of a double precision number",
                        );
                    }
                }
            }
            Method::Abs => {
                let v = numeric_only("abs")?;
                let negative = super::compare::compare(&v, &Value::Int4(0))? == Ordering::Less;
                numeric_json(&if negative { super::arith::neg(&v)? } else { v })
            }
            Method::Floor | Method::Ceiling => {
                let name = if matches!(method, Method::Floor) { "floor" } else { "ceiling" };
                let v = numeric_only(name)?;
                let f = crate::functions::math::floor_or_ceiling(&v, name == "ceiling")?;
                numeric_json(&f)
            }
        });
        Ok(())
    }

    fn predicate(&self, node: &Node, current: &Json, last: Option<usize>) -> Eval<Tri> {
        // Errors inside a predicate make it unknown; only hard errors escape.
        let items = |n: &Node| -> Eval<Option<Vec<Json>>> {
            match self.eval(n, current, last) {
                Ok(v) => Ok(Some(self.unwrapped(v))),
                Err(f) if f.suppressible => Ok(None),
                Err(f) => Err(f),
            }
        };
        Ok(match node {
            Node::And(a, b) => match self.predicate(a, current, last)? {
                Tri::False => Tri::False,
                x => match (x, self.predicate(b, current, last)?) {
                    (_, Tri::False) => Tri::False,
                    (Tri::True, Tri::True) => Tri::True,
                    _ => Tri::Unknown,
                },
            },
            Node::Or(a, b) => match self.predicate(a, current, last)? {
                Tri::True => Tri::True,
                x => match (x, self.predicate(b, current, last)?) {
                    (_, Tri::True) => Tri::True,
                    (Tri::False, Tri::False) => Tri::False,
                    _ => Tri::Unknown,
                },
            },
            Node::Not(inner) => match self.predicate(inner, current, last)? {
                Tri::True => Tri::False,
                Tri::False => Tri::True,
                Tri::Unknown => Tri::Unknown,
            },
            Node::IsUnknown(inner) => {
                Tri::from(self.predicate(inner, current, last)? == Tri::Unknown)
            }
            Node::Exists(inner) => match self.eval(inner, current, last) {
                Ok(v) => Tri::from(!v.is_empty()),
                Err(f) if f.suppressible => Tri::Unknown,
                Err(f) => return Err(f),
            },
            Node::Compare(op, l, r) => {
                let (Some(left), Some(right)) = (items(l)?, items(r)?) else {
                    return Ok(Tri::Unknown);
                };
                let mut found = false;
                let mut error = false;
                for a in &left {
                    for b in &right {
                        match compare(*op, a, b)? {
                            Tri::True if !self.strict => return Ok(Tri::True),
                            Tri::True => found = true,
                            Tri::Unknown => error = true,
                            Tri::False => {}
                        }
                    }
                }
                if error { Tri::Unknown } else { Tri::from(found) }
            }
            Node::LikeRegex(inner, re) => {
                let Some(values) = items(inner)? else { return Ok(Tri::Unknown) };
                self.any_string(&values, |s| re.is_match(s))
            }
            Node::StartsWith(inner, prefix) => {
                let Some(values) = items(inner)? else { return Ok(Tri::Unknown) };
                let prefix = match items(prefix)?.as_deref() {
                    Some([Json::String(p)]) => p.clone(),
                    _ => return Ok(Tri::Unknown),
                };
                self.any_string(&values, |s| s.starts_with(&prefix))
            }
            other => match items(other)?.as_deref() {
                Some([Json::Bool(b)]) => Tri::from(*b),
                _ => Tri::Unknown,
            },
        })
    }

    /// True if some item is a string that matches (lax: at once); unknown if an item is not
    /// a string.
    fn any_string(&self, values: &[Json], matches: impl Fn(&str) -> bool) -> Tri {
        let (mut found, mut error) = (false, false);
        for v in values {
            match v {
                Json::String(s) if matches(s) => {
                    if !self.strict {
                        return Tri::True;
                    }
                    found = true;
                }
                Json::String(_) => {}
                _ => error = true,
            }
        }
        if error { Tri::Unknown } else { Tri::from(found) }
    }
}

fn recurse(item: &Json, level: u32, from: u32, to: u32, out: &mut Vec<Json>) {
    if level >= from && level <= to {
        out.push(item.clone());
    }
    if level >= to {
        return;
    }
    match item {
        Json::Object(map) => {
            for v in map.values() {
                recurse(v, level + 1, from, to, out);
            }
        }
        Json::Array(elements) => {
            for v in elements {
                recurse(v, level + 1, from, to, out);
            }
        }
        _ => {}
    }
}

/// Compares two items: unknown for values of different types (null aside) or containers.
fn compare(op: CmpOp, a: &Json, b: &Json) -> Eval<Tri> {
    let ordering = match (a, b) {
        (Json::Null, Json::Null) => Ordering::Equal,
        (Json::Null, _) | (_, Json::Null) => {
            return Ok(Tri::from(op == CmpOp::NotEq));
        }
        (Json::Bool(x), Json::Bool(y)) => x.cmp(y),
        (Json::Number(_), Json::Number(_)) => {
            super::compare::compare(&json_numeric(a), &json_numeric(b))?
        }
        (Json::String(x), Json::String(y)) => x.as_str().cmp(y.as_str()),
        _ => return Ok(Tri::Unknown),
    };
    Ok(Tri::from(op.holds(ordering)))
}

fn json_numeric(n: &Json) -> Value {
    parse_value(&n.to_string(), &DataType::Numeric(None), &Zone::UTC).unwrap_or(Value::Null)
}

fn numeric_json(v: &Value) -> Json {
    let text = format_value(v, &Zone::UTC).unwrap_or_default();
    serde_json::from_str(&text).unwrap_or(Json::Null)
}
