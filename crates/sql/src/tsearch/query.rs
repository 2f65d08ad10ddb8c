//! `tsquery`: parsing (the text form, `to_tsquery`, `plainto_tsquery`, `phraseto_tsquery`,
//! `websearch_to_tsquery`), printing, and matching against a `tsvector` (`@@`).

use oxibase_common::{Result, errinput};

use super::{Config, Lexeme, MAX_POS, TsVector, quote_lexeme, read_lexeme};

/// A query tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    /// A lexeme.
    Operand {
        /// The lexeme.
        lexeme: String,
        /// The weights it must have: a mask, A = 8, B = 4, C = 2, D = 1; 0 for any.
        weights: u8,
        /// Whether it matches as a prefix (`:*`).
        prefix: bool,
    },
    /// `!q`
    Not(Box<Node>),
    /// `a & b`
    And(Box<Node>, Box<Node>),
    /// `a | b`
    Or(Box<Node>, Box<Node>),
    /// `left <N> right`: right follows left N positions later.
    Phrase(Box<Node>, Box<Node>, u16),
}

/// A `tsquery`; empty when every word of it was a stop word.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TsQuery(pub Option<Node>);

const PRIORITY_OR: u8 = 1;
const PRIORITY_AND: u8 = 2;
const PRIORITY_PHRASE: u8 = 3;
const PRIORITY_NOT: u8 = 4;

/// A query token.
#[derive(Clone, Debug, PartialEq)]
enum Token {
    Operand { text: String, weights: u8, prefix: bool },
    Not,
    And,
    Or,
    Phrase(u16),
    Open,
    Close,
}

fn syntax_error(input: &str) -> oxibase_common::Error {
    errinput!(SYNTAX_ERROR, "syntax error in tsquery: \"{input}\"")
}

fn tokenize(input: &str) -> Result<Vec<Token>> {
    let chars: Vec<char> = input.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let simple = match c {
            '!' => Some(Token::Not),
            '&' => Some(Token::And),
            '|' => Some(Token::Or),
            '(' => Some(Token::Open),
            ')' => Some(Token::Close),
            _ => None,
        };
        if let Some(t) = simple {
            out.push(t);
            i += 1;
            continue;
        }
        if c == '<' {
            let close =
                chars[i..].iter().position(|&c| c == '>').ok_or_else(|| syntax_error(input))?;
            let inner: String = chars[i + 1..i + close].iter().collect();
            let distance = if inner == "-" {
                1
            } else {
                let n: i64 = inner.trim().parse().map_err(|_| syntax_error(input))?;
                if !(0..=i64::from(MAX_POS)).contains(&n) {
                    return Err(errinput!(
                        INVALID_PARAMETER_VALUE,
                        "distance in phrase operator must be an integer value between zero and {MAX_POS} inclusive"
                    ));
                }
                n as u16
            };
            out.push(Token::Phrase(distance));
            i += close + 1;
            continue;
        }
        let (text, next) = read_lexeme(&chars, i, |c| c.is_whitespace() || "!&|()<:".contains(c))
            .ok_or_else(|| syntax_error(input))?;
        i = next;
        let (mut weights, mut prefix) = (0, false);
        if chars.get(i) == Some(&':') {
            i += 1;
            while let Some(&c) = chars.get(i) {
                match c.to_ascii_uppercase() {
                    '*' => prefix = true,
                    'A' => weights |= 8,
                    'B' => weights |= 4,
                    'C' => weights |= 2,
                    'D' => weights |= 1,
                    _ => break,
                }
                i += 1;
            }
        }
        out.push(Token::Operand { text, weights, prefix });
    }
    Ok(out)
}

/// How deep a query tree may nest (parentheses, NOTs, phrase chains): the functions over
/// it recurse, so a deeper one is refused (54001) rather than overflowing the stack. Long
/// AND and OR chains are built balanced and stay shallow.
pub const MAX_DEPTH: usize = 256;
/// How deep parentheses and NOTs may nest in a query's text (its parser recurses through
/// several functions per level).
pub const MAX_NESTING: usize = 200;

fn too_complex() -> oxibase_common::Error {
    errinput!(STATEMENT_TOO_COMPLEX, "tsquery is too complex: it nests too deeply")
}

/// Joins items with an associative operator: left-deep (as PostgreSQL builds them) when
/// there are few, balanced when there are many, so the tree stays shallow.
fn chain<T>(mut items: Vec<T>, join: &impl Fn(T, T) -> T) -> Option<T> {
    const LEFT_DEEP: usize = 64;
    if items.len() <= LEFT_DEEP {
        return items.into_iter().reduce(join);
    }
    let right = items.split_off(items.len() / 2);
    Some(join(chain(items, join)?, chain(right, join)?))
}

/// A tree's depth, counted without recursion.
fn depth(node: &Node) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(node, 1)];
    while let Some((n, d)) = stack.pop() {
        deepest = deepest.max(d);
        match n {
            Node::Operand { .. } => {}
            Node::Not(i) => stack.push((i, d + 1)),
            Node::And(l, r) | Node::Or(l, r) | Node::Phrase(l, r, _) => {
                stack.push((l, d + 1));
                stack.push((r, d + 1));
            }
        }
    }
    deepest
}

/// Refuses a tree deeper than [`MAX_DEPTH`].
fn checked(node: Option<Node>) -> Result<Option<Node>> {
    match &node {
        Some(n) if depth(n) > MAX_DEPTH => Err(too_complex()),
        _ => Ok(node),
    }
}

/// A parsed query before its operands became lexemes: an operand is its text.
struct Parser<'a> {
    tokens: Vec<Token>,
    at: usize,
    input: &'a str,
    /// Parentheses and NOTs open now.
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn or(&mut self) -> Result<Node> {
        self.joined(Token::Or, Self::and, |l, r| Node::Or(Box::new(l), Box::new(r)))
    }

    fn and(&mut self) -> Result<Node> {
        self.joined(Token::And, Self::phrase, |l, r| Node::And(Box::new(l), Box::new(r)))
    }

    /// Operands read by `operand`, separated by `op`, joined by `join`.
    fn joined(
        &mut self,
        op: Token,
        operand: fn(&mut Self) -> Result<Node>,
        join: fn(Node, Node) -> Node,
    ) -> Result<Node> {
        let mut items = vec![operand(self)?];
        while self.peek() == Some(&op) {
            self.at += 1;
            items.push(operand(self)?);
        }
        chain(items, &join).ok_or_else(|| syntax_error(self.input))
    }

    fn phrase(&mut self) -> Result<Node> {
        let mut left = self.unary()?;
        let mut length = 0;
        while let Some(&Token::Phrase(d)) = self.peek() {
            self.at += 1;
            length += 1;
            if self.depth + length > MAX_DEPTH {
                return Err(too_complex());
            }
            left = Node::Phrase(Box::new(left), Box::new(self.unary()?), d);
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Node> {
        let token = self.peek().cloned().ok_or_else(|| syntax_error(self.input))?;
        self.at += 1;
        if matches!(token, Token::Not | Token::Open) {
            self.depth += 1;
            if self.depth > MAX_NESTING {
                return Err(too_complex());
            }
        }
        let node = self.nested(token);
        self.depth = self.depth.saturating_sub(1);
        node
    }

    fn nested(&mut self, token: Token) -> Result<Node> {
        match token {
            Token::Not => Ok(Node::Not(Box::new(self.unary()?))),
            Token::Open => {
                let inner = self.or()?;
                if self.peek() != Some(&Token::Close) {
                    return Err(syntax_error(self.input));
                }
                self.at += 1;
                Ok(inner)
            }
            Token::Operand { text, weights, prefix } => {
                Ok(Node::Operand { lexeme: text, weights, prefix })
            }
            _ => Err(syntax_error(self.input)),
        }
    }
}

fn parse_tree(input: &str) -> Result<Option<Node>> {
    let tokens = tokenize(input)?;
    if tokens.is_empty() {
        return Ok(None);
    }
    let mut parser = Parser { tokens, at: 0, input, depth: 0 };
    let node = parser.or()?;
    if parser.at != parser.tokens.len() {
        return Err(syntax_error(input));
    }
    checked(Some(node))
}

/// A subtree with its stop words taken out: None when nothing is left; `left`/`right` are
/// the positions the removed words took at its start and end (they widen a phrase).
struct Cleaned {
    node: Option<Node>,
    left: u16,
    right: u16,
}

/// Operands that became several lexemes or stop words; `Some` is a real subtree.
enum Morph {
    Node(Node),
    /// A stop word, or text with no lexeme at all.
    Void,
}

fn clean(node: Morphed) -> Cleaned {
    match node {
        Morphed::Leaf(Morph::Void) => Cleaned { node: None, left: 0, right: 0 },
        Morphed::Leaf(Morph::Node(n)) => Cleaned { node: Some(n), left: 0, right: 0 },
        Morphed::Not(inner) => {
            let c = clean(*inner);
            Cleaned { node: c.node.map(|n| Node::Not(Box::new(n))), left: 0, right: 0 }
        }
        Morphed::Binary(op, l, r) => {
            let (l, r) = (clean(*l), clean(*r));
            match op {
                BinOp::Phrase(d) => match (l.node, r.node) {
                    (None, None) => Cleaned {
                        node: None,
                        left: l
                            .left
                            .saturating_add(l.right)
                            .saturating_add(d)
                            .saturating_add(r.left)
                            .saturating_add(r.right),
                        right: 0,
                    },
                    (None, Some(rn)) => Cleaned {
                        node: Some(rn),
                        left: l
                            .left
                            .saturating_add(l.right)
                            .saturating_add(d)
                            .saturating_add(r.left),
                        right: r.right,
                    },
                    (Some(ln), None) => Cleaned {
                        node: Some(ln),
                        left: l.left,
                        right: l
                            .right
                            .saturating_add(d)
                            .saturating_add(r.left)
                            .saturating_add(r.right),
                    },
                    (Some(ln), Some(rn)) => Cleaned {
                        node: Some(Node::Phrase(
                            Box::new(ln),
                            Box::new(rn),
                            l.right.saturating_add(d).saturating_add(r.left).min(MAX_POS),
                        )),
                        left: l.left,
                        right: r.right,
                    },
                },
                BinOp::And | BinOp::Or => match (l.node, r.node) {
                    (None, None) => Cleaned { node: None, left: 0, right: 0 },
                    (None, Some(n)) | (Some(n), None) => {
                        Cleaned { node: Some(n), left: 0, right: 0 }
                    }
                    (Some(ln), Some(rn)) => Cleaned {
                        node: Some(if matches!(op, BinOp::And) {
                            Node::And(Box::new(ln), Box::new(rn))
                        } else {
                            Node::Or(Box::new(ln), Box::new(rn))
                        }),
                        left: 0,
                        right: 0,
                    },
                },
            }
        }
    }
}

#[derive(Clone, Copy)]
enum BinOp {
    And,
    Or,
    Phrase(u16),
}

/// A query tree whose operands went through a configuration.
enum Morphed {
    Leaf(Morph),
    Not(Box<Morphed>),
    Binary(BinOp, Box<Morphed>, Box<Morphed>),
}

/// Chains lexemes with their positions into a phrase (`a <-> b <2> c`); stop words leave
/// gaps. A run with no lexeme is Void.
fn phrase_of(lexemes: &[(u16, Lexeme)], weights: u8, prefix: bool) -> Result<Morphed> {
    if lexemes.len() > MAX_DEPTH {
        return Err(too_complex());
    }
    let mut tree: Option<(Morphed, u16)> = None;
    for (pos, lexeme) in lexemes {
        let leaf = match lexeme {
            Lexeme::Word(w) => {
                Morphed::Leaf(Morph::Node(Node::Operand { lexeme: w.clone(), weights, prefix }))
            }
            Lexeme::Stop => Morphed::Leaf(Morph::Void),
        };
        tree = Some(match tree {
            None => (leaf, *pos),
            Some((left, last)) => (
                Morphed::Binary(
                    BinOp::Phrase(pos.saturating_sub(last)),
                    Box::new(left),
                    Box::new(leaf),
                ),
                *pos,
            ),
        });
    }
    Ok(tree.map_or(Morphed::Leaf(Morph::Void), |(t, _)| t))
}

fn morph(node: Node, config: &Config) -> Result<Morphed> {
    let binary = |op, l: Box<Node>, r: Box<Node>| -> Result<Morphed> {
        Ok(Morphed::Binary(op, Box::new(morph(*l, config)?), Box::new(morph(*r, config)?)))
    };
    match node {
        Node::Operand { lexeme, weights, prefix } => {
            phrase_of(&config.lexemes(&lexeme), weights, prefix)
        }
        Node::Not(inner) => Ok(Morphed::Not(Box::new(morph(*inner, config)?))),
        Node::And(l, r) => binary(BinOp::And, l, r),
        Node::Or(l, r) => binary(BinOp::Or, l, r),
        Node::Phrase(l, r, d) => binary(BinOp::Phrase(d), l, r),
    }
}

/// Tells the client, as PostgreSQL does, when a query lost every word to the dictionaries.
pub const EMPTY_QUERY_NOTICE: &str =
    "text-search query contains only stop words or doesn't contain lexemes, ignored";

impl TsQuery {
    /// The text form of a tsquery (`'fat' & 'rat':*`), as a cast reads it: operands are
    /// taken as they are.
    pub fn parse(input: &str) -> Result<TsQuery> {
        Ok(TsQuery(parse_tree(input)?))
    }

    /// `to_tsquery(config, text)`: the query syntax, each operand normalized by the
    /// configuration (a hyphenated word becomes a phrase of its lexemes).
    pub fn to_tsquery(config: &Config, input: &str) -> Result<TsQuery> {
        let Some(tree) = parse_tree(input)? else { return Ok(TsQuery(None)) };
        Ok(TsQuery(checked(clean(morph(tree, config)?).node)?))
    }

    /// `plainto_tsquery`: every lexeme of the text, joined by `&`.
    pub fn plain(config: &Config, input: &str) -> TsQuery {
        let leaves = config
            .lexemes(input)
            .into_iter()
            .filter_map(|(_, lexeme)| match lexeme {
                Lexeme::Word(w) => Some(Node::Operand { lexeme: w, weights: 0, prefix: false }),
                Lexeme::Stop => None,
            })
            .collect();
        TsQuery(chain(leaves, &|l, r| Node::And(Box::new(l), Box::new(r))))
    }

    /// `phraseto_tsquery`: the text's lexemes as one phrase, stop words leaving gaps.
    pub fn phrase(config: &Config, input: &str) -> Result<TsQuery> {
        Ok(TsQuery(checked(clean(phrase_of(&config.lexemes(input), 0, false)?).node)?))
    }

    /// `websearch_to_tsquery`: words are ANDed, `"quoted text"` is a phrase, `or` between
    /// two terms ORs them, a leading `-` negates a term. Never a syntax error.
    pub fn websearch(config: &Config, input: &str) -> Result<TsQuery> {
        let chars: Vec<char> = input.chars().collect();
        // Terms of the current AND group; groups are ORed.
        let mut groups: Vec<Vec<Morphed>> = vec![Vec::new()];
        let mut i = 0;
        let mut negate = false;
        while i < chars.len() {
            let c = chars[i];
            if c == '"' {
                let end = chars[i + 1..]
                    .iter()
                    .position(|&c| c == '"')
                    .map_or(chars.len(), |p| i + 1 + p);
                let text: String = chars[i + 1..end].iter().collect();
                let term = phrase_of(&config.lexemes(&text), 0, false)?;
                push_term(&mut groups, term, negate);
                negate = false;
                i = end + 1;
                continue;
            }
            if c == '-' && (i == 0 || !chars[i - 1].is_alphanumeric()) {
                negate = true;
                i += 1;
                continue;
            }
            if !c.is_alphanumeric() {
                i += 1;
                continue;
            }
            let start = i;
            while i < chars.len() && !chars[i].is_whitespace() && chars[i] != '"' {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            if word.eq_ignore_ascii_case("or") && !negate {
                if groups.last().is_some_and(|g| !g.is_empty()) {
                    groups.push(Vec::new());
                }
                continue;
            }
            let lexemes = config.lexemes(&word);
            push_term(&mut groups, phrase_of(&lexemes, 0, false)?, negate);
            negate = false;
        }
        let and = |l, r| Morphed::Binary(BinOp::And, Box::new(l), Box::new(r));
        let or = |l, r| Morphed::Binary(BinOp::Or, Box::new(l), Box::new(r));
        let tree = chain(groups.into_iter().filter_map(|g| chain(g, &and)).collect(), &or);
        Ok(TsQuery(checked(tree.and_then(|t| clean(t).node))?))
    }

    /// The text form, parenthesized as PostgreSQL prints it.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        if let Some(node) = &self.0 {
            infix(node, 0, false, &mut out);
        }
        out
    }

    /// Whether the vector matches (`@@`); an empty query matches nothing.
    pub fn matches(&self, vector: &TsVector) -> bool {
        self.0.as_ref().is_some_and(|n| eval(n, vector))
    }

    /// The operands, each lexeme once, in byte order (for ranking, which combines their
    /// scores in this order, as PostgreSQL's SortAndUniqItems does).
    pub fn operands(&self) -> Vec<(&str, u8, bool)> {
        let mut out = self.all_operands();
        out.sort_by(|a, b| a.0.cmp(b.0));
        out.dedup_by(|a, b| a.0 == b.0);
        out
    }

    /// Every operand, in the query's order: lexeme, weights, prefix.
    pub fn all_operands(&self) -> Vec<(&str, u8, bool)> {
        fn walk<'a>(n: &'a Node, out: &mut Vec<(&'a str, u8, bool)>) {
            match n {
                Node::Operand { lexeme, weights, prefix } => out.push((lexeme, *weights, *prefix)),
                Node::Not(i) => walk(i, out),
                Node::And(l, r) | Node::Or(l, r) | Node::Phrase(l, r, _) => {
                    walk(l, out);
                    walk(r, out);
                }
            }
        }
        let mut out = Vec::new();
        if let Some(n) = &self.0 {
            walk(n, &mut out);
        }
        out
    }

    /// The number of nodes (`numnode`).
    pub fn node_count(&self) -> i32 {
        fn count(n: &Node) -> i32 {
            match n {
                Node::Operand { .. } => 1,
                Node::Not(i) => 1 + count(i),
                Node::And(l, r) | Node::Or(l, r) | Node::Phrase(l, r, _) => 1 + count(l) + count(r),
            }
        }
        self.0.as_ref().map_or(0, count)
    }

    /// `q1 && q2`, `q1 || q2`, `q1 <N> q2`: an empty side gives the other.
    pub fn combine(self, other: TsQuery, op: char, distance: u16) -> Result<TsQuery> {
        match (self.0, other.0) {
            (Some(l), Some(r)) => Ok(TsQuery(checked(Some(match op {
                '&' => Node::And(Box::new(l), Box::new(r)),
                '|' => Node::Or(Box::new(l), Box::new(r)),
                _ => Node::Phrase(Box::new(l), Box::new(r), distance),
            }))?)),
            (l, r) => Ok(TsQuery(l.or(r))),
        }
    }

    /// `!! q`.
    pub fn negate(self) -> Result<TsQuery> {
        Ok(TsQuery(checked(self.0.map(|n| Node::Not(Box::new(n))))?))
    }
}

impl TsQuery {
    /// PostgreSQL's binary form (tsquerysend): the number of items, then each item in
    /// prefix order with an operator's right operand before its left: an operand is
    /// `1, weights, prefix, lexeme NUL`, an operator `2, op` (NOT 1, AND 2, OR 3, PHRASE 4
    /// with a 16-bit distance).
    pub fn to_binary(&self) -> Vec<u8> {
        fn write(n: &Node, out: &mut Vec<u8>) {
            match n {
                Node::Operand { lexeme, weights, prefix } => {
                    out.extend_from_slice(&[1, *weights, u8::from(*prefix)]);
                    out.extend_from_slice(lexeme.as_bytes());
                    out.push(0);
                }
                Node::Not(inner) => {
                    out.extend_from_slice(&[2, 1]);
                    write(inner, out);
                }
                Node::And(l, r) | Node::Or(l, r) | Node::Phrase(l, r, _) => {
                    match n {
                        Node::And(..) => out.extend_from_slice(&[2, 2]),
                        Node::Or(..) => out.extend_from_slice(&[2, 3]),
                        Node::Phrase(_, _, d) => {
                            out.extend_from_slice(&[2, 4]);
                            out.extend_from_slice(&d.to_be_bytes());
                        }
                        _ => unreachable!("a binary node"),
                    }
                    write(r, out);
                    write(l, out);
                }
            }
        }
        let mut body = Vec::new();
        if let Some(n) = &self.0 {
            write(n, &mut body);
        }
        let mut out = (self.node_count() as u32).to_be_bytes().to_vec();
        out.extend(body);
        out
    }

    /// Reads the binary form.
    pub fn from_binary(bytes: &[u8]) -> Result<TsQuery> {
        fn bad() -> oxibase_common::Error {
            errinput!(INVALID_BINARY_REPRESENTATION, "malformed tsquery: invalid item")
        }
        fn read(b: &mut super::Binary<'_>, left: &mut u32, depth: usize) -> Result<Node> {
            if depth > MAX_DEPTH {
                return Err(too_complex());
            }
            *left = left.checked_sub(1).ok_or_else(bad)?;
            match b.u8()? {
                1 => {
                    let weights = b.u8()?;
                    let prefix = b.u8()? != 0;
                    let lexeme = b.cstring()?;
                    if weights > 15 || lexeme.is_empty() {
                        return Err(bad());
                    }
                    Ok(Node::Operand { lexeme, weights, prefix })
                }
                2 => match b.u8()? {
                    1 => Ok(Node::Not(Box::new(read(b, left, depth + 1)?))),
                    op @ 2..=4 => {
                        let distance = if op == 4 { b.u16()? } else { 0 };
                        if distance > MAX_POS {
                            return Err(bad());
                        }
                        let r = Box::new(read(b, left, depth + 1)?);
                        let l = Box::new(read(b, left, depth + 1)?);
                        Ok(match op {
                            2 => Node::And(l, r),
                            3 => Node::Or(l, r),
                            _ => Node::Phrase(l, r, distance),
                        })
                    }
                    _ => Err(bad()),
                },
                _ => Err(bad()),
            }
        }
        let mut b = super::Binary(bytes);
        let mut left = b.u32()?;
        if left == 0 {
            return Ok(TsQuery(None));
        }
        let node = read(&mut b, &mut left, 1)?;
        if left != 0 || !b.0.is_empty() {
            return Err(bad());
        }
        Ok(TsQuery(Some(node)))
    }
}

fn push_term(groups: &mut [Vec<Morphed>], term: Morphed, negate: bool) {
    let term = if negate { Morphed::Not(Box::new(term)) } else { term };
    if let Some(group) = groups.last_mut() {
        group.push(term);
    }
}

fn priority(n: &Node) -> u8 {
    match n {
        Node::Operand { .. } => 5,
        Node::Not(_) => PRIORITY_NOT,
        Node::Phrase(..) => PRIORITY_PHRASE,
        Node::And(..) => PRIORITY_AND,
        Node::Or(..) => PRIORITY_OR,
    }
}

fn infix(node: &Node, parent: u8, right_of_phrase: bool, out: &mut String) {
    match node {
        Node::Operand { lexeme, weights, prefix } => {
            quote_lexeme(out, lexeme);
            if *prefix || *weights != 0 {
                out.push(':');
                if *prefix {
                    out.push('*');
                }
                for (bit, letter) in [(8, 'A'), (4, 'B'), (2, 'C'), (1, 'D')] {
                    if weights & bit != 0 {
                        out.push(letter);
                    }
                }
            }
        }
        Node::Not(inner) => {
            let paren = PRIORITY_NOT < parent;
            if paren {
                out.push_str("( ");
            }
            out.push('!');
            infix(inner, PRIORITY_NOT, false, out);
            if paren {
                out.push_str(" )");
            }
        }
        Node::And(l, r) | Node::Or(l, r) | Node::Phrase(l, r, _) => {
            let p = priority(node);
            let is_phrase = matches!(node, Node::Phrase(..));
            let paren = p < parent || (is_phrase && right_of_phrase);
            if paren {
                out.push_str("( ");
            }
            infix(l, p, false, out);
            match node {
                Node::And(..) => out.push_str(" & "),
                Node::Or(..) => out.push_str(" | "),
                Node::Phrase(_, _, 1) => out.push_str(" <-> "),
                Node::Phrase(_, _, d) => out.push_str(&format!(" <{d}> ")),
                _ => unreachable!("a binary node"),
            }
            infix(r, p, is_phrase, out);
            if paren {
                out.push_str(" )");
            }
        }
    }
}

fn eval(node: &Node, vector: &TsVector) -> bool {
    match node {
        Node::Operand { lexeme, weights, prefix } => {
            vector.matching(lexeme, *prefix).map(|(_, p)| p).any(|positions| {
                // A lexeme stored without positions matches whatever weights are asked for.
                positions.is_empty() || positions.iter().any(|p| p.has_weight(*weights))
            })
        }
        Node::Not(inner) => !eval(inner, vector),
        Node::And(l, r) => eval(l, vector) && eval(r, vector),
        Node::Or(l, r) => eval(l, vector) || eval(r, vector),
        Node::Phrase(..) => phrase_positions(node, vector).is_some_and(|p| p.matches()),
    }
}

/// Where a phrase operand matches: the positions it ends at (negated: all positions but
/// those).
struct Positions {
    at: Vec<u16>,
    negated: bool,
}

impl Positions {
    fn matches(&self) -> bool {
        self.negated || !self.at.is_empty()
    }
}

/// The positions a subtree of a phrase matches at; None for an operand without positions
/// (a stripped vector), which no phrase matches.
fn phrase_positions(node: &Node, vector: &TsVector) -> Option<Positions> {
    match node {
        Node::Operand { lexeme, weights, prefix } => {
            let mut at = Vec::new();
            for positions in vector.matching(lexeme, *prefix).map(|(_, p)| p) {
                if positions.is_empty() {
                    return None;
                }
                at.extend(positions.iter().filter(|p| p.has_weight(*weights)).map(|p| p.pos()));
            }
            at.sort_unstable();
            at.dedup();
            Some(Positions { at, negated: false })
        }
        Node::Not(inner) => {
            let p = phrase_positions(inner, vector)?;
            Some(Positions { at: p.at, negated: !p.negated })
        }
        Node::And(l, r) | Node::Or(l, r) => {
            let (l, r) = (phrase_positions(l, vector)?, phrase_positions(r, vector)?);
            let and = matches!(node, Node::And(..));
            Some(combine_positions(l, r, and))
        }
        Node::Phrase(l, r, d) => {
            let (l, r) = (phrase_positions(l, vector)?, phrase_positions(r, vector)?);
            let d = *d;
            let at: Vec<u16> = match (l.negated, r.negated) {
                (false, false) => {
                    r.at.iter()
                        .copied()
                        .filter(|&p| p >= d && l.at.binary_search(&(p - d)).is_ok())
                        .collect()
                }
                (false, true) => {
                    l.at.iter().map(|&p| p + d).filter(|p| r.at.binary_search(p).is_err()).collect()
                }
                (true, false) => {
                    r.at.iter()
                        .copied()
                        .filter(|&p| p < d || l.at.binary_search(&(p - d)).is_err())
                        .collect()
                }
                (true, true) => return Some(Positions { at: Vec::new(), negated: true }),
            };
            Some(Positions { at, negated: false })
        }
    }
}

fn combine_positions(l: Positions, r: Positions, and: bool) -> Positions {
    let union = |a: &[u16], b: &[u16]| {
        let mut v: Vec<u16> = a.iter().chain(b).copied().collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let inter = |a: &[u16], b: &[u16]| {
        a.iter().copied().filter(|p| b.binary_search(p).is_ok()).collect::<Vec<_>>()
    };
    let minus = |a: &[u16], b: &[u16]| {
        a.iter().copied().filter(|p| b.binary_search(p).is_err()).collect::<Vec<_>>()
    };
    match (l.negated, r.negated, and) {
        (false, false, true) => Positions { at: inter(&l.at, &r.at), negated: false },
        (false, false, false) => Positions { at: union(&l.at, &r.at), negated: false },
        (true, true, true) => Positions { at: union(&l.at, &r.at), negated: true },
        (true, true, false) => Positions { at: inter(&l.at, &r.at), negated: true },
        (false, true, true) => Positions { at: minus(&l.at, &r.at), negated: false },
        (true, false, true) => Positions { at: minus(&r.at, &l.at), negated: false },
        (false, true, false) => Positions { at: minus(&r.at, &l.at), negated: true },
        (true, false, false) => Positions { at: minus(&l.at, &r.at), negated: true },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tsearch::config_named;

    fn q(s: &str) -> String {
        TsQuery::parse(s).unwrap().to_text()
    }

    #[test]
    fn prints_as_postgres() {
        assert_eq!(q("a & (b | c)"), "'a' & ( 'b' | 'c' )");
        assert_eq!(q("a <2> b:AB*"), "'a' <2> 'b':*AB");
        assert_eq!(q("!(a|b) & c"), "!( 'a' | 'b' ) & 'c'");
        assert_eq!(q("a <-> (b <-> c)"), "'a' <-> ( 'b' <-> 'c' )");
        assert_eq!(q("(a | b) <-> c"), "( 'a' | 'b' ) <-> 'c'");
        assert_eq!(q("!!a"), "!!'a'");
        assert!(TsQuery::parse("a &").is_err());
        assert!(TsQuery::parse("(a").is_err());
    }

    #[test]
    fn configurations_normalize_queries() {
        let en = config_named("english").unwrap();
        let t = |s: &str| TsQuery::to_tsquery(en, s).unwrap().to_text();
        assert_eq!(t("fox & !dogs | cats:* & (a | jumping)"), "'fox' & !'dog' | 'cat':* & 'jump'");
        assert_eq!(t("foo-bar"), "'foo-bar' <-> 'foo' <-> 'bar'");
        assert_eq!(t("fat <-> the <-> cat"), "'fat' <2> 'cat'");
        assert_eq!(t("the"), "");
        assert_eq!(
            TsQuery::plain(en, "The quick brown foxes").to_text(),
            "'quick' & 'brown' & 'fox'"
        );
        assert_eq!(
            TsQuery::phrase(en, "foo-bar the cat").unwrap().to_text(),
            "'foo-bar' <-> 'foo' <-> 'bar' <2> 'cat'"
        );
        assert_eq!(
            TsQuery::websearch(en, "the fat \"rat the cat\" or -dog").unwrap().to_text(),
            "'fat' & 'rat' <2> 'cat' | !'dog'"
        );
    }

    #[test]
    fn deep_queries_are_refused_and_long_chains_stay_shallow() {
        // Run on a thread with a small stack: what passes here passes on a server thread.
        std::thread::Builder::new()
            .stack_size(1 << 20)
            .spawn(|| {
                let en = config_named("english").unwrap();
                let nested = |n: usize| format!("{}a{}", "(".repeat(n), ")".repeat(n));
                assert!(
                    TsQuery::parse(&nested(MAX_NESTING))
                        .unwrap()
                        .matches(&TsVector::parse("a").unwrap())
                );
                assert!(TsQuery::parse(&nested(MAX_NESTING + 1)).is_err());
                assert!(TsQuery::parse(&nested(100_000)).is_err());
                assert!(TsQuery::parse(&"!".repeat(100_000)).is_err());
                let words = |n: usize, sep: &str| {
                    (0..n).map(|i| format!("w{i}")).collect::<Vec<_>>().join(sep)
                };
                // Long AND/OR chains: as long as the input.
                let long_and = TsQuery::parse(&words(100_000, " & ")).unwrap();
                assert_eq!(long_and.node_count(), 199_999);
                assert!(long_and.matches(&TsVector::parse(&words(100_000, " ")).unwrap()));
                assert!(!long_and.matches(&TsVector::parse("w1").unwrap()));
                assert!(
                    TsQuery::parse(&words(100_000, " | "))
                        .unwrap()
                        .matches(&TsVector::parse("w5").unwrap())
                );
                let doc = words(50_000, " ");
                assert_eq!(TsQuery::plain(en, &doc).node_count(), 99_999);
                assert!(TsQuery::websearch(en, &doc).is_ok());
                // Phrases nest as they chain: a long one is refused.
                let long_phrase = TsQuery::parse(&words(MAX_DEPTH - 10, " <-> ")).unwrap();
                let positioned =
                    (0..MAX_DEPTH - 10).map(|i| format!("w{i}:{}", i + 1)).collect::<Vec<_>>();
                let v = TsVector::parse(&positioned.join(" ")).unwrap();
                assert!(long_phrase.matches(&v));
                assert!(
                    crate::tsearch::rank::ts_rank_cd(
                        &crate::tsearch::rank::DEFAULT_WEIGHTS,
                        &v,
                        &long_phrase,
                        0
                    ) > 0.0
                );
                assert_eq!(TsQuery::parse(&long_phrase.to_text()).unwrap(), long_phrase);
                assert_eq!(TsQuery::from_binary(&long_phrase.to_binary()).unwrap(), long_phrase);
                assert!(TsQuery::parse(&words(100_000, " <-> ")).is_err());
                assert!(TsQuery::phrase(en, &doc).is_err());
                assert!(TsQuery::to_tsquery(en, &format!("'{doc}'")).is_err());
                let mut q = TsQuery::parse("a").unwrap();
                for _ in 0..MAX_DEPTH * 2 {
                    match q.clone().negate() {
                        Ok(n) => q = n,
                        Err(_) => return,
                    }
                }
                panic!("negation nested without limit");
            })
            .unwrap()
            .join()
            .unwrap();
    }

    #[test]
    fn matches_with_weights_prefixes_and_phrases() {
        let m = |v: &str, q: &str| TsQuery::parse(q).unwrap().matches(&TsVector::parse(v).unwrap());
        assert!(m("a", "a:A"));
        assert!(!m("a:1", "a:A"));
        assert!(m("a:1A", "a:A"));
        assert!(m("ab", "a:*"));
        assert!(m("a:1 b:2", "a <-> b"));
        assert!(!m("a:1 b:3", "a <-> b"));
        assert!(!m("a b", "a <-> b"));
        assert!(!m("a:1 b:2", "!a <-> b"));
        assert!(m("a:1 b:3", "!a <-> b"));
        assert!(m("a:1 c:2", "a & !b"));
    }
}
