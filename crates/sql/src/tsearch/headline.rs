//! `ts_headline`: a document's best stretch around the query's words, those words marked,
//! chosen as PostgreSQL's default headline does (one fragment: the shortest cover of the
//! query, widened or trimmed to MinWords..MaxWords, ending on a long word if it can), or with
//! MaxFragments as its mark_hl_fragments does (the covers cut into pieces of at most
//! MaxWords that begin and end on query words, the ones with the most query words taken,
//! stretched evenly both ways, joined by FragmentDelimiter).

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
    max_fragments: usize,
    fragment_delimiter: String,
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
            max_fragments: 0,
            fragment_delimiter: " ... ".into(),
        };
        let (mut short_word, mut max_fragments) = (3, 0);
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
                "shortword" => short_word = number()?,
                "highlightall" => {
                    o.highlight_all = matches!(
                        value.to_ascii_lowercase().as_str(),
                        "1" | "on" | "true" | "t" | "y" | "yes"
                    )
                }
                "maxfragments" => max_fragments = number()?,
                "fragmentdelimiter" => o.fragment_delimiter = value.into(),
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
            if short_word < 0 {
                return Err(errinput!(INVALID_PARAMETER_VALUE, "ShortWord should be >= 0"));
            }
            if max_fragments < 0 {
                return Err(errinput!(INVALID_PARAMETER_VALUE, "MaxFragments should be >= 0"));
            }
        }
        o.short_word = short_word.max(0) as usize;
        o.max_fragments = max_fragments.max(0) as usize;
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

/// The earliest stretch from `p` on that begins and ends on query words and satisfies the
/// query, at most `max_cover` words long: for each start, the first end that does.
fn cover(query: &TsQuery, words: &[Word], p: usize, max_cover: usize) -> Option<(usize, usize)> {
    let first = |i: usize| (i..words.len()).find(|&j| words[j].item.is_some());
    let mut start = first(p);
    while let Some(from) = start {
        let mut next_start = None;
        let mut end = Some(from);
        while let Some(to) = end.filter(|&to| to - from < max_cover) {
            if satisfied(query, words, from, to) {
                return Some((from, to));
            }
            let next = first(to + 1);
            if to == from {
                next_start = next;
            }
            end = next;
        }
        start = next_start;
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
    // The words shown.
    let mut shown = vec![false; words.len()];
    if options.highlight_all {
        shown.fill(true);
    } else if options.max_fragments > 0 {
        fragments(query, &words, options, &mut shown);
    } else {
        let (begin, end) = choose(query, &words, options);
        shown[begin..=end].fill(true);
    }
    let mut out = String::new();
    let mut fragment = false;
    let mut count = 0;
    for (w, &shown) in words.iter().zip(&shown) {
        if !shown {
            fragment = false;
            continue;
        }
        if !fragment {
            fragment = true;
            count += 1;
            if count > 1 {
                out.push_str(&options.fragment_delimiter);
            }
        }
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
            // Too long: trim back past poor last words.
            let mut j = i.min(cq);
            while curlen > o.min_words && words[j].no_end(o.short_word) {
                if !words[j].non_word() {
                    curlen -= 1;
                }
                if words[j].item.is_some() {
                    poslen -= 1;
                }
                if j == 0 {
                    break;
                }
                pose = j - 1;
                j -= 1;
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

/// A fragment of a cover: its ends, its words and its query words.
struct Fragment {
    start: usize,
    end: usize,
    words: usize,
    items: usize,
    chosen: bool,
    excluded: bool,
}

/// PostgreSQL's mark_hl_fragments: marks in `shown` up to MaxFragments fragments.
fn fragments(query: &TsQuery, words: &[Word], o: &Options, shown: &mut [bool]) {
    let max_cover = (o.max_words * 10).max(100) * o.max_fragments;
    let counted = |i: usize| usize::from(!words[i].non_word());
    let mut covers: Vec<Fragment> = Vec::new();
    let mut p = 0;
    while let Some((cp, cq)) = cover(query, words, p, max_cover) {
        // Pieces of at most MaxWords words, each beginning and ending on a query word.
        let (mut start, mut end) = (cp, cq);
        while start <= end {
            let mut i = start;
            while i <= end {
                start = i;
                if words[i].item.is_some() {
                    break;
                }
                i += 1;
            }
            let (mut len, mut items) = (0, 0);
            let mut i = start;
            while i <= end && len < o.max_words {
                len += counted(i);
                items += usize::from(words[i].item.is_some());
                i += 1;
            }
            if end > i {
                // Cut: back to the last query word.
                end = i;
                let mut j = end as i64;
                while j >= start as i64 {
                    end = j as usize;
                    if words[end].item.is_some() {
                        break;
                    }
                    len = len.saturating_sub(counted(end));
                    j -= 1;
                }
            }
            covers.push(Fragment { start, end, words: len, items, chosen: false, excluded: false });
            start = end + 1;
            end = cq;
        }
        p = cp + 1;
    }
    let mut marked = 0;
    for _ in 0..o.max_fragments {
        // The most query words; then the fewest words.
        let mut best: Option<usize> = None;
        for (i, c) in covers.iter().enumerate() {
            if c.chosen || c.excluded {
                continue;
            }
            let better = match best {
                None => true,
                Some(b) => {
                    covers[b].items < c.items
                        || (covers[b].items == c.items && covers[b].words > c.words)
                }
            };
            if better {
                best = Some(i);
            }
        }
        let Some(b) = best else { break };
        covers[b].chosen = true;
        let (mut start, mut end, mut len) = (covers[b].start, covers[b].end, covers[b].words);
        if len < o.max_words {
            // Half of the room before it (up to a fragment already shown), then back to a
            // good first word; the rest after it, then back to a good last word.
            let max_stretch = (o.max_words - len) / 2;
            let (mut stretch, mut marker) = (0, start);
            let mut i = start as i64 - 1;
            while i >= 0 && stretch < max_stretch && !shown[i as usize] {
                let c = counted(i as usize);
                len += c;
                stretch += c;
                marker = i as usize;
                i -= 1;
            }
            let mut i = marker;
            while i < start && words[i].no_end(o.short_word) {
                len -= counted(i);
                i += 1;
            }
            start = i;
            let mut marker = end;
            let mut i = end + 1;
            while i < words.len() && len < o.max_words && !shown[i] {
                len += counted(i);
                marker = i;
                i += 1;
            }
            let mut i = marker;
            while i > end && words[i].no_end(o.short_word) {
                i -= 1;
            }
            end = i;
        }
        shown[start..=end].fill(true);
        marked += 1;
        for (i, c) in covers.iter_mut().enumerate() {
            if i != b
                && ((c.start >= start && c.start <= end)
                    || (c.end >= start && c.end <= end)
                    || (c.start < start && c.end > end))
            {
                c.excluded = true;
            }
        }
    }
    if marked == 0 {
        // The first MinWords words.
        let mut len = 0;
        let mut i = 0;
        while i < words.len() && len < o.min_words {
            len += counted(i);
            shown[i] = true;
            i += 1;
        }
    }
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
            // A value starts with any character (a comma too) and runs to a space or comma;
            // a name with none is malformed.
            None => return Err(bad()),
            Some(&first) => {
                value.push(first);
                i += 1;
                while let Some(&c) = chars.get(i).filter(|c| !c.is_whitespace() && **c != ',') {
                    value.push(c);
                    i += 1;
                }
            }
        }
        pairs.push((name, value));
    }
}
