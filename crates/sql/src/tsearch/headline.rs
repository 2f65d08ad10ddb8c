//! `ts_headline`: a document's best stretch around the query's words, those words marked,
//! chosen as PostgreSQL's default headline does (one fragment: the shortest cover of the
//! query, widened or trimmed to MinWords..MaxWords, ending on a long word if it can).

use oxibase_common::{Result, errinput};

use super::parser::{Piece, TokenKind, pieces};
use super::{Config, Lexeme, MAX_POS, Pos, TsQuery, TsVector};

/// ts_headline's options.
pub struct Options {
    start_sel: String,
    stop_sel: String,
    max_words: usize,
    min_words: usize,
    short_word: usize,
    highlight_all: bool,
}

impl Options {
    /// Reads `'MaxWords=10, StartSel=<<'`-style options.
    pub fn parse(input: &str) -> Result<Options> {
        let mut o = Options {
            start_sel: "<b>".into(),
            stop_sel: "</b>".into(),
            max_words: 35,
            min_words: 15,
            short_word: 3,
            highlight_all: false,
        };
        for (name, value) in option_pairs(input)? {
            let (name, value) = (name.as_str(), value.as_str());
            let number = || {
                value.parse::<i64>().map_err(|_| {
                    errinput!(INVALID_PARAMETER_VALUE, "invalid value for {name}: \"{value}\"")
                })
            };
            match name.to_ascii_lowercase().as_str() {
                "startsel" => o.start_sel = value.into(),
                "stopsel" => o.stop_sel = value.into(),
                "maxwords" => o.max_words = number()?.max(0) as usize,
                "minwords" => o.min_words = number()?.max(0) as usize,
                "shortword" => o.short_word = number()?.max(0) as usize,
                "highlightall" => {
                    o.highlight_all = matches!(
                        value.to_ascii_lowercase().as_str(),
                        "1" | "on" | "true" | "t" | "y" | "yes"
                    )
                }
                "maxfragments" if number()? == 0 => {}
                "maxfragments" => {
                    return Err(errinput!(
                        FEATURE_NOT_SUPPORTED,
                        "ts_headline with MaxFragments is not supported"
                    ));
                }
                "fragmentdelimiter" => {}
                _ => {
                    return Err(errinput!(
                        INVALID_PARAMETER_VALUE,
                        "unrecognized headline parameter: \"{name}\""
                    ));
                }
            }
        }
        if !o.highlight_all {
            if o.min_words >= o.max_words {
                return Err(errinput!(
                    INVALID_PARAMETER_VALUE,
                    "MinWords should be less than MaxWords"
                ));
            }
            if o.min_words == 0 {
                return Err(errinput!(INVALID_PARAMETER_VALUE, "MinWords should be positive"));
            }
        }
        Ok(o)
    }
}

/// A piece with what the headline needs: its position, whether a query word is in it.
struct Word {
    piece: Piece,
    pos: u16,
    /// A lexeme of it the query names.
    item: Option<String>,
}

impl Word {
    /// Not a word for counting (spaces, tags, compounds).
    fn non_word(&self) -> bool {
        (self.piece.kind.is_none() && !self.piece.protocol) || self.piece.compound
    }
    /// A poor place to end a headline: not a word, a number or a short word, unless it
    /// is one of the query's.
    fn no_end(&self, short_word: usize) -> bool {
        let poor = self.non_word()
            || self.piece.protocol
            || matches!(
                self.piece.kind,
                Some(
                    TokenKind::SFloat
                        | TokenKind::Version
                        | TokenKind::Float
                        | TokenKind::Int
                        | TokenKind::UInt
                )
            )
            || self.piece.text.len() <= short_word;
        poor && self.item.is_none()
    }
}

/// Whether the query holds on the query words in `words[from..=to]`.
fn satisfied(query: &TsQuery, words: &[Word], from: usize, to: usize) -> bool {
    let mut seen = TsVector::default();
    for w in &words[from..=to] {
        if let Some(item) = &w.item {
            seen.add(item.clone(), Some(Pos::new(w.pos, 0)));
        }
    }
    query.matches(&seen)
}

/// The earliest, shortest stretch from `*p` on whose query words satisfy the query.
fn cover(query: &TsQuery, words: &[Word], p: usize, max_cover: usize) -> Option<(usize, usize)> {
    let next_item = |mut i: usize| {
        while i < words.len() && words[i].item.is_none() {
            i += 1;
        }
        i
    };
    let mut pmin = next_item(p);
    while pmin < words.len() {
        let mut pmax = pmin;
        while pmax < words.len() && !satisfied(query, words, pmin, pmax) {
            pmax = next_item(pmax + 1);
        }
        if pmax >= words.len() {
            return None;
        }
        // Shortest: move the start up while the query still holds.
        loop {
            let next = next_item(pmin + 1);
            if next > pmax || !satisfied(query, words, next, pmax) {
                break;
            }
            pmin = next;
        }
        if pmax - pmin < max_cover {
            return Some((pmin, pmax));
        }
        pmin = next_item(pmin + 1);
    }
    None
}

/// `ts_headline(config, document, query, options)`.
pub fn headline(config: &Config, document: &str, query: &TsQuery, options: &Options) -> String {
    let operands = query.all_operands();
    let mut pos: u32 = 0;
    let words: Vec<Word> = pieces(document)
        .into_iter()
        .map(|piece| {
            let mut item = None;
            let mut at = 0;
            if let Some(kind) = piece.kind {
                pos += 1;
                at = pos.min(u32::from(MAX_POS)) as u16;
                if let Lexeme::Word(lexeme) = config.lexeme(kind, &piece.text) {
                    item = operands
                        .iter()
                        .any(
                            |(op, _, prefix)| {
                                if *prefix { lexeme.starts_with(op) } else { lexeme == *op }
                            },
                        )
                        .then_some(lexeme);
                }
            }
            Word { piece, pos: at, item }
        })
        .collect();
    if words.is_empty() {
        return String::new();
    }
    let (begin, end) =
        if options.highlight_all { (0, words.len() - 1) } else { choose(query, &words, options) };
    let mut out = String::new();
    for w in &words[begin..=end] {
        if w.piece.compound {
            continue;
        }
        // A tag shows as a space, but as itself when the whole document is shown.
        if w.piece.tag && !options.highlight_all {
            out.push(' ');
            continue;
        }
        if w.item.is_some() {
            out.push_str(&options.start_sel);
            out.push_str(&w.piece.text);
            out.push_str(&options.stop_sel);
        } else {
            out.push_str(&w.piece.text);
        }
    }
    out
}

/// PostgreSQL's mark_hl_words: of the covers, the stretch that holds one whole, then has
/// the most query words, then ends on a good word; none: the first MinWords words.
fn choose(query: &TsQuery, words: &[Word], o: &Options) -> (usize, usize) {
    let max_cover = (o.max_words * 10).max(100);
    let (mut bestb, mut beste, mut bestlen, mut bestcover) = (0usize, 0usize, -1i64, false);
    let mut p = 0;
    while let Some((cp, cq)) = cover(query, words, p, max_cover) {
        let (mut curlen, mut poslen) = (0usize, 0i64);
        let (mut posb, mut pose) = (cp, cp);
        let mut i = cp;
        while i <= cq && curlen < o.max_words {
            if !words[i].non_word() {
                curlen += 1;
            }
            if words[i].item.is_some() {
                poslen += 1;
            }
            pose = i;
            i += 1;
        }
        if curlen < o.max_words {
            // Room to lengthen: forward to a good stopping point.
            let mut j = i - 1;
            while j < words.len() && curlen < o.max_words {
                if j > cq {
                    if !words[j].non_word() {
                        curlen += 1;
                    }
                    if words[j].item.is_some() {
                        poslen += 1;
                    }
                }
                pose = j;
                if words[j].no_end(o.short_word) {
                    j += 1;
                    continue;
                }
                if curlen >= o.min_words {
                    break;
                }
                j += 1;
            }
            if curlen < o.min_words {
                // The end of the text came first: lengthen to the left.
                let mut k = cp as i64 - 1;
                while k >= 0 {
                    let w = &words[k as usize];
                    if !w.non_word() {
                        curlen += 1;
                    }
                    if w.item.is_some() {
                        poslen += 1;
                    }
                    if curlen >= o.max_words {
                        break;
                    }
                    if w.no_end(o.short_word) {
                        k -= 1;
                        continue;
                    }
                    if curlen >= o.min_words {
                        break;
                    }
                    k -= 1;
                }
                posb = k.max(0) as usize;
            }
        } else {
            // Too long: trim back to a good end.
            let mut j = if i > cq { cq } else { i };
            while curlen > o.min_words {
                if !words[j].non_word() {
                    curlen -= 1;
                }
                if words[j].item.is_some() {
                    poslen -= 1;
                }
                pose = j;
                if words[j].no_end(o.short_word) {
                    if j == 0 {
                        break;
                    }
                    j -= 1;
                    continue;
                }
                break;
            }
        }
        let poscover = posb <= cp && pose >= cq;
        let better_end =
            !words[pose].no_end(o.short_word) && bestlen >= 0 && words[beste].no_end(o.short_word);
        if (poscover && !bestcover)
            || (poscover == bestcover && poslen > bestlen)
            || (poscover == bestcover && poslen == bestlen && better_end)
        {
            (bestb, beste, bestlen, bestcover) = (posb, pose, poslen, poscover);
        }
        p = cp + 1;
    }
    if bestlen < 0 {
        let (mut curlen, mut pose) = (0, 0);
        let mut i = 0;
        while i < words.len() && curlen < o.min_words {
            if !words[i].non_word() {
                curlen += 1;
            }
            pose = i;
            i += 1;
        }
        return (0, pose);
    }
    (bestb, beste)
}

/// `name=value` pairs separated by commas or spaces; a value may be quoted with `'` or `"`
/// (a doubled quote inside stands for one), as PostgreSQL reads ts_headline's options.
fn option_pairs(input: &str) -> Result<Vec<(String, String)>> {
    let bad = || errinput!(SYNTAX_ERROR, "invalid parameter list format: \"{input}\"");
    let chars: Vec<char> = input.chars().collect();
    let mut pairs = Vec::new();
    let mut i = 0;
    let skip = |i: &mut usize| {
        while chars.get(*i).is_some_and(|c| c.is_whitespace() || *c == ',') {
            *i += 1;
        }
    };
    loop {
        skip(&mut i);
        if i >= chars.len() {
            return Ok(pairs);
        }
        let start = i;
        while chars.get(i).is_some_and(|c| !c.is_whitespace() && *c != '=' && *c != ',') {
            i += 1;
        }
        let name: String = chars[start..i].iter().collect();
        while chars.get(i).is_some_and(|c| c.is_whitespace()) {
            i += 1;
        }
        if name.is_empty() || chars.get(i) != Some(&'=') {
            return Err(bad());
        }
        i += 1;
        while chars.get(i).is_some_and(|c| c.is_whitespace()) {
            i += 1;
        }
        let mut value = String::new();
        match chars.get(i) {
            Some(&q @ ('\'' | '"')) => {
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(bad()),
                        Some(&c) if c == q && chars.get(i + 1) == Some(&q) => {
                            value.push(q);
                            i += 2;
                        }
                        Some(&c) if c == q => {
                            i += 1;
                            break;
                        }
                        Some(&c) => {
                            value.push(c);
                            i += 1;
                        }
                    }
                }
            }
            _ => {
                while let Some(&c) = chars.get(i).filter(|c| !c.is_whitespace() && **c != ',') {
                    value.push(c);
                    i += 1;
                }
            }
        }
        pairs.push((name, value));
    }
}
