//! The text-search parser: splits a document into typed tokens as PostgreSQL's default
//! parser (`pg_catalog.default`) does, so that a configuration can send each token type to
//! its dictionaries.
//!
//! Covered: words (ASCII, other letters, with digits), hyphenated words and their parts,
//! signed and unsigned integers, decimal and scientific numbers, versions, e-mail
//! addresses, host names (with a port), URLs (and their host and path), file paths; tags
//! (`<b>`), entities (`&amp;`) and protocols (`http://`) are recognised and skipped, as
//! PostgreSQL's configurations skip them.

/// A token's type (PostgreSQL's `ts_token_type('default')` aliases).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    /// Letters, all ASCII.
    AsciiWord,
    /// Letters, some not ASCII.
    Word,
    /// Letters and digits.
    NumWord,
    /// A hyphenated word, all ASCII letters.
    AsciiHWord,
    /// A hyphenated word of letters.
    HWord,
    /// A hyphenated word with digits.
    NumHWord,
    /// A part of a hyphenated word, ASCII letters.
    HWordAsciiPart,
    /// A part of a hyphenated word, letters.
    HWordPart,
    /// A part of a hyphenated word, with digits.
    HWordNumPart,
    /// An e-mail address.
    Email,
    /// A host name.
    Host,
    /// A URL (host and path).
    Url,
    /// The path of a URL.
    UrlPath,
    /// A file path.
    File,
    /// A signed integer.
    Int,
    /// An unsigned integer.
    UInt,
    /// A decimal number.
    Float,
    /// A number in scientific notation.
    SFloat,
    /// A version number (`1.2.3`).
    Version,
}

/// The default parser's token types as `ts_token_type('default')` lists them: (id, alias,
/// description). The kinds [`tokens`] gives are the ones with a [`TokenKind`]; protocol
/// heads, tags, entities and blanks are recognised and skipped.
pub const TOKEN_TYPES: &[(i32, &str, &str)] = &[
    (1, "asciiword", "Word, all ASCII"),
    (2, "word", "Word, all letters"),
    (3, "numword", "Word, letters and digits"),
    (4, "email", "Email address"),
    (5, "url", "URL"),
    (6, "host", "Host"),
    (7, "sfloat", "Scientific notation"),
    (8, "version", "Version number"),
    (9, "hword_numpart", "Hyphenated word part, letters and digits"),
    (10, "hword_part", "Hyphenated word part, all letters"),
    (11, "hword_asciipart", "Hyphenated word part, all ASCII"),
    (12, "blank", "Space symbols"),
    (13, "tag", "XML tag"),
    (14, "protocol", "Protocol head"),
    (15, "numhword", "Hyphenated word, letters and digits"),
    (16, "asciihword", "Hyphenated word, all ASCII"),
    (17, "hword", "Hyphenated word, all letters"),
    (18, "url_path", "URL path"),
    (19, "file", "File or path name"),
    (20, "float", "Decimal notation"),
    (21, "int", "Signed integer"),
    (22, "uint", "Unsigned integer"),
    (23, "entity", "XML entity"),
];

/// The token types a configuration sends to dictionaries (all but protocol heads, tags,
/// entities and blanks), and whether a language's stemmer takes them (the words of
/// letters; the rest go to `simple`).
pub fn mapped_token_types() -> impl Iterator<Item = (i32, bool)> {
    TOKEN_TYPES
        .iter()
        .filter(|(id, _, _)| !matches!(id, 12 | 13 | 14 | 23))
        .map(|(id, _, _)| (*id, matches!(id, 1 | 2 | 10 | 11 | 16 | 17)))
}

impl TokenKind {
    /// Whether the token is a word a language's stemmer takes (the rest go to `simple`).
    pub fn is_word(self) -> bool {
        matches!(
            self,
            TokenKind::AsciiWord
                | TokenKind::Word
                | TokenKind::AsciiHWord
                | TokenKind::HWord
                | TokenKind::HWordAsciiPart
                | TokenKind::HWordPart
        )
    }
}

/// Splits `text` into its tokens, in order. Skipped tokens (spaces, punctuation, tags,
/// entities, protocols) are left out: they take no position.
pub fn tokens(text: &str) -> Vec<(TokenKind, String)> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        i = next_token(&chars, i, &mut out);
    }
    out
}

/// A piece of a document as a headline shows it: every character of the text is in
/// exactly one piece, except the text of a compound token (a hyphenated word, a URL), which
/// is also that of the pieces after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Piece {
    /// The token's type; None for what the parser skips (spaces, punctuation, tags,
    /// entities, protocols).
    pub kind: Option<TokenKind>,
    /// Its text, as written.
    pub text: String,
    /// A tag (`<b>`): shown as one space.
    pub tag: bool,
    /// The whole of a compound token, whose parts follow: not shown itself.
    pub compound: bool,
    /// A protocol (`https://`): no lexeme, but a word where a headline counts words.
    pub protocol: bool,
}

/// Splits `text` into [`Piece`]s, in order.
pub fn pieces(text: &str) -> Vec<Piece> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut tokens = Vec::new();
    let mut i = 0;
    let skipped = |out: &mut Vec<Piece>, text: String, tag: bool| {
        // Runs of spaces and punctuation are one piece.
        if let Some(last) =
            out.last_mut().filter(|p: &&mut Piece| p.kind.is_none() && !p.tag && !tag)
        {
            last.text.push_str(&text);
        } else {
            out.push(Piece { kind: None, text, tag, compound: false, protocol: false });
        }
    };
    while i < chars.len() {
        tokens.clear();
        let end = next_token(&chars, i, &mut tokens);
        let span = string(&chars, i, end);
        if tokens.is_empty() && span.ends_with("://") && span.len() > 3 {
            out.push(Piece { kind: None, text: span, tag: false, compound: false, protocol: true });
        } else if tokens.is_empty() {
            let tag = chars[i] == '<' && end > i + 1;
            skipped(&mut out, span, tag);
        } else if tokens.len() == 1 {
            let (kind, _) = tokens.remove(0);
            out.push(Piece {
                kind: Some(kind),
                text: span,
                tag: false,
                compound: false,
                protocol: false,
            });
        } else {
            // A compound, then its parts, found in order in its text.
            let (kind, whole) = tokens.remove(0);
            out.push(Piece {
                kind: Some(kind),
                text: whole,
                tag: false,
                compound: true,
                protocol: false,
            });
            let mut rest = span.as_str();
            for (kind, part) in tokens.drain(..) {
                let at = rest.find(part.as_str()).unwrap_or(0);
                if at > 0 {
                    skipped(&mut out, rest[..at].to_string(), false);
                }
                let taken = (at + part.len()).min(rest.len());
                out.push(Piece {
                    kind: Some(kind),
                    text: rest[at..taken].to_string(),
                    tag: false,
                    compound: false,
                    protocol: false,
                });
                rest = &rest[taken..];
            }
            if !rest.is_empty() {
                skipped(&mut out, rest.to_string(), false);
            }
        }
        i = end;
    }
    out
}

fn alnum(c: char) -> bool {
    c.is_alphanumeric()
}

fn at(chars: &[char], i: usize) -> Option<char> {
    chars.get(i).copied()
}

fn string(chars: &[char], from: usize, to: usize) -> String {
    chars[from..to].iter().collect()
}

/// Reads the token starting at `i` (if any), pushes what it yields and returns where the
/// next one starts.
fn next_token(chars: &[char], i: usize, out: &mut Vec<(TokenKind, String)>) -> usize {
    let c = chars[i];
    if c == '<'
        && let Some(end) = tag_end(chars, i)
    {
        return end;
    }
    if c == '&'
        && let Some(end) = entity_end(chars, i)
    {
        return end;
    }
    if (c == '-' || c == '+') && at(chars, i + 1).is_some_and(|d| d.is_ascii_digit()) {
        let (end, kind) = number(chars, i + 1);
        let kind = if kind == TokenKind::UInt { TokenKind::Int } else { kind };
        out.push((kind, string(chars, i, end)));
        return end;
    }
    if c == '/' && at(chars, i + 1).is_some_and(alnum) {
        let end = path_end(chars, i);
        out.push((TokenKind::File, string(chars, i, end)));
        return end;
    }
    if !alnum(c) {
        return i + 1;
    }
    // A protocol (`http://`) is skipped; what follows is read as a URL or host.
    let run = run_end(chars, i);
    if chars[i..run].iter().all(|c| c.is_ascii_alphabetic())
        && at(chars, run) == Some(':')
        && at(chars, run + 1) == Some('/')
        && at(chars, run + 2) == Some('/')
    {
        return run + 3;
    }
    if let Some(end) = email_end(chars, i) {
        out.push((TokenKind::Email, string(chars, i, end)));
        return end;
    }
    if c.is_ascii_digit() {
        let (end, kind) = number(chars, i);
        // Digits running into letters (`123abc`) make a word with digits.
        if kind == TokenKind::UInt && at(chars, end).is_some_and(alnum) {
            let end = run_end(chars, i);
            out.push((TokenKind::NumWord, string(chars, i, end)));
            return end;
        }
        if kind == TokenKind::UInt
            && at(chars, end) == Some('/')
            && let Some(end) = file_end(chars, i)
        {
            out.push((TokenKind::File, string(chars, i, end)));
            return end;
        }
        if !(kind == TokenKind::UInt && at(chars, end) == Some('.')) {
            out.push((kind, string(chars, i, end)));
            return end;
        }
    }
    if let Some(host) = host_end(chars, i) {
        return url_or_host(chars, i, host, out);
    }
    if matches!(at(chars, run), Some('.' | '/'))
        && let Some(end) = file_end(chars, i)
    {
        out.push((TokenKind::File, string(chars, i, end)));
        return end;
    }
    if chars[i].is_alphabetic()
        && at(chars, run) == Some('-')
        && let Some(end) = hyphenated(chars, i, out)
    {
        return end;
    }
    out.push((word_kind(&chars[i..run]), string(chars, i, run)));
    run
}

fn run_end(chars: &[char], mut i: usize) -> usize {
    while at(chars, i).is_some_and(alnum) {
        i += 1;
    }
    i
}

fn word_kind(word: &[char]) -> TokenKind {
    if word.iter().any(|c| c.is_numeric()) {
        if word.iter().all(|c| c.is_ascii_digit()) { TokenKind::UInt } else { TokenKind::NumWord }
    } else if word.iter().all(|c| c.is_ascii()) {
        TokenKind::AsciiWord
    } else {
        TokenKind::Word
    }
}

/// Digits with an optional fraction, more dotted parts (a version) or exponent.
fn number(chars: &[char], start: usize) -> (usize, TokenKind) {
    let digits = |mut i: usize| {
        while at(chars, i).is_some_and(|c| c.is_ascii_digit()) {
            i += 1;
        }
        i
    };
    let mut end = digits(start);
    let mut kind = TokenKind::UInt;
    let mut parts = 1;
    while at(chars, end) == Some('.') && at(chars, end + 1).is_some_and(|c| c.is_ascii_digit()) {
        end = digits(end + 1);
        parts += 1;
    }
    if parts == 2 {
        kind = TokenKind::Float;
    } else if parts > 2 {
        return (end, TokenKind::Version);
    }
    if matches!(at(chars, end), Some('e' | 'E')) {
        let mut e = end + 1;
        if matches!(at(chars, e), Some('+' | '-')) {
            e += 1;
        }
        if at(chars, e).is_some_and(|c| c.is_ascii_digit()) {
            let e = digits(e);
            if !at(chars, e).is_some_and(alnum) {
                return (e, TokenKind::SFloat);
            }
        }
    }
    (end, kind)
}

/// `<tag ...>` or `</tag>`: a name, then attributes (`name`, `name=value`, `name="value"`),
/// then `>` (or `/>`). Anything else after a `<` is text.
fn tag_end(chars: &[char], i: usize) -> Option<usize> {
    let name_char = |c: char| c.is_ascii_alphanumeric() || "_:-.".contains(c);
    let mut j = i + 1;
    if at(chars, j) == Some('/') {
        j += 1;
    }
    if !at(chars, j)?.is_ascii_alphabetic() {
        return None;
    }
    while at(chars, j).is_some_and(name_char) {
        j += 1;
    }
    loop {
        let spaced = at(chars, j).is_some_and(char::is_whitespace);
        while at(chars, j).is_some_and(char::is_whitespace) {
            j += 1;
        }
        match at(chars, j)? {
            '>' => return Some(j + 1),
            '/' if at(chars, j + 1) == Some('>') => return Some(j + 2),
            c if spaced && name_char(c) => {
                while at(chars, j).is_some_and(name_char) {
                    j += 1;
                }
                if at(chars, j) == Some('=') {
                    j += 1;
                    match at(chars, j)? {
                        q @ ('"' | '\'') => {
                            j += 1;
                            while at(chars, j)? != q {
                                j += 1;
                            }
                            j += 1;
                        }
                        _ => {
                            while at(chars, j).is_some_and(|c| !c.is_whitespace() && c != '>') {
                                j += 1;
                            }
                        }
                    }
                }
            }
            _ => return None,
        }
    }
}

/// `&name;` or `&#123;`.
fn entity_end(chars: &[char], i: usize) -> Option<usize> {
    let mut j = i + 1;
    let numeric = at(chars, j) == Some('#');
    if numeric {
        j += 1;
    }
    let start = j;
    while at(chars, j)
        .is_some_and(|c| if numeric { c.is_ascii_digit() } else { c.is_ascii_alphabetic() })
    {
        j += 1;
    }
    (j > start && at(chars, j) == Some(';')).then_some(j + 1)
}

/// A host name: labels of letters, digits, hyphens and underscores joined by single dots,
/// the last (the top-level domain) of two or more letters; the longest such prefix, with
/// an optional `:port`.
fn host_end(chars: &[char], i: usize) -> Option<usize> {
    let label = |mut j: usize| {
        while at(chars, j).is_some_and(|c| alnum(c) || c == '_' || c == '-') {
            j += 1;
        }
        j
    };
    let mut end = label(i);
    let mut host = None;
    while at(chars, end) == Some('.') && at(chars, end + 1).is_some_and(alnum) {
        let start = end + 1;
        end = label(start);
        if end - start >= 2 && chars[start..end].iter().all(char::is_ascii_alphabetic) {
            host = Some(end);
        }
    }
    let mut end = host?;
    if at(chars, end) == Some(':') && at(chars, end + 1).is_some_and(|c| c.is_ascii_digit()) {
        end += 1;
        while at(chars, end).is_some_and(|c| c.is_ascii_digit()) {
            end += 1;
        }
    }
    Some(end)
}

/// A file name without a leading slash: letters, digits and at least one `.` or `/`
/// followed by more (`crypt.c`, `usr/lib`; after a slash also `-` and `_`), starting with a letter
/// unless it has a slash; a trailing dot or slash is not part of it.
fn file_end(chars: &[char], i: usize) -> Option<usize> {
    let mut j = i;
    let (mut dotted, mut slashed) = (false, false);
    while let Some(c) = at(chars, j) {
        let next_alnum = at(chars, j + 1).is_some_and(alnum);
        if alnum(c) || ((c == '-' || c == '_') && slashed && next_alnum) {
            j += 1;
        } else if (c == '.' || c == '/') && next_alnum {
            dotted |= c == '.';
            slashed |= c == '/';
            j += 1;
        } else {
            break;
        }
    }
    (slashed || (dotted && chars[i].is_alphabetic())).then_some(j)
}

fn url_or_host(chars: &[char], i: usize, host: usize, out: &mut Vec<(TokenKind, String)>) -> usize {
    let host_text = string(chars, i, host);
    if at(chars, host) == Some('/') {
        let end = url_path_end(chars, host);
        if end > host + 1 {
            out.push((TokenKind::Url, string(chars, i, end)));
            out.push((TokenKind::Host, host_text));
            out.push((TokenKind::UrlPath, string(chars, host, end)));
            return end;
        }
    }
    out.push((TokenKind::Host, host_text));
    host
}

/// A file path: letters, digits and `/._-~` up to the first other character; a trailing
/// dot or slash is not part of it.
fn path_end(chars: &[char], i: usize) -> usize {
    let mut j = i;
    while at(chars, j).is_some_and(|c| alnum(c) || "/._-~".contains(c)) {
        j += 1;
    }
    while j > i + 1 && matches!(chars[j - 1], '.' | '/') {
        j -= 1;
    }
    j
}

/// A URL's path: printable ASCII but the characters RFC 3986 rules out.
fn url_path_end(chars: &[char], i: usize) -> usize {
    let mut j = i;
    while at(chars, j).is_some_and(|c| ('!'..='~').contains(&c) && !"\"<>\\^`{|}".contains(c)) {
        j += 1;
    }
    j
}

/// `local@host.domain`.
fn email_end(chars: &[char], i: usize) -> Option<usize> {
    let mut j = i;
    while at(chars, j).is_some_and(|c| alnum(c) || "._-".contains(c)) {
        j += 1;
    }
    if j == i || at(chars, j) != Some('@') || !at(chars, j + 1).is_some_and(alnum) {
        return None;
    }
    let host = host_end(chars, j + 1)?;
    Some(host)
}

/// Words joined by single hyphens, each starting with a letter: the whole, then its parts.
fn hyphenated(chars: &[char], i: usize, out: &mut Vec<(TokenKind, String)>) -> Option<usize> {
    let mut parts = vec![(i, run_end(chars, i))];
    loop {
        let end = parts.last()?.1;
        if at(chars, end) == Some('-') && at(chars, end + 1).is_some_and(char::is_alphabetic) {
            parts.push((end + 1, run_end(chars, end + 1)));
        } else {
            break;
        }
    }
    if parts.len() < 2 {
        return None;
    }
    let end = parts.last()?.1;
    let whole = &chars[i..end];
    // A hyphen after the word is not the sign of a number that follows (`gfdl-niv-1.3`).
    let next =
        if at(chars, end) == Some('-') && at(chars, end + 1).is_some_and(|c| c.is_ascii_digit()) {
            end + 1
        } else {
            end
        };
    let kind = if whole.iter().any(|c| c.is_numeric()) {
        TokenKind::NumHWord
    } else if whole.iter().all(char::is_ascii) {
        TokenKind::AsciiHWord
    } else {
        TokenKind::HWord
    };
    out.push((kind, string(chars, i, end)));
    for (from, to) in parts {
        let part = match word_kind(&chars[from..to]) {
            TokenKind::AsciiWord => TokenKind::HWordAsciiPart,
            TokenKind::Word => TokenKind::HWordPart,
            _ => TokenKind::HWordNumPart,
        };
        out.push((part, string(chars, from, to)));
    }
    Some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: &str) -> Vec<String> {
        tokens(s).into_iter().map(|(_, t)| t).collect()
    }

    #[test]
    fn splits_as_the_default_parser() {
        assert_eq!(
            texts("The quick-brown fox's"),
            ["The", "quick-brown", "quick", "brown", "fox", "s"]
        );
        assert_eq!(
            texts("-5 +7 1.5 1.2.3 3e5 abc-12"),
            ["-5", "+7", "1.5", "1.2.3", "3e5", "abc", "-12"]
        );
        assert_eq!(
            texts("x@y.com http://example.com/a/b.html"),
            ["x@y.com", "example.com/a/b.html", "example.com", "/a/b.html"]
        );
        assert_eq!(texts("<b>bold</b> &amp; 3.14abc e.g."), ["bold", "3.14", "abc", "e.g"]);
        assert_eq!(tokens("naïve x1-y2")[0].0, TokenKind::Word);
        assert_eq!(tokens("naïve x1-y2")[1].0, TokenKind::NumHWord);
    }
}
