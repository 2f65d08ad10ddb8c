//! Parsing a PL/pgSQL body into blocks and statements.
//!
//! PL/pgSQL's own syntax (blocks, declarations, control structures) is read here; the SQL
//! inside it (expressions, queries, commands) is kept as text, checked by the SQL parser,
//! and run through the host with the variables in scope as parameters (see the module
//! above). Each piece of SQL remembers the variables visible where it was written.

use std::sync::{Arc, Mutex};

use oxibase_common::{Error, Result, SqlState, errinput};

/// A parsed body: its outermost block and every variable it declares.
#[derive(Debug)]
pub struct Body {
    /// The outermost block.
    pub block: Block,
    /// Every variable: the routine's arguments first, then `found`, then declarations in
    /// the order they appear. A variable's index is its slot.
    pub vars: Vec<VarDef>,
    /// The slots of the output columns (RETURNS TABLE, OUT and INOUT parameters), in order.
    pub out_slots: Vec<usize>,
    /// The slot of FOUND.
    pub found: usize,
}

/// A declared variable.
#[derive(Debug, Clone)]
pub struct VarDef {
    /// Its name (lower case unless quoted).
    pub name: String,
    /// The label of the block declaring it (the routine's name for its arguments).
    pub qualifier: Option<String>,
    /// What it holds.
    pub kind: VarKind,
    /// CONSTANT
    pub constant: bool,
    /// NOT NULL
    pub not_null: bool,
    /// Its initial value (NULL when none).
    pub default: Option<Arc<Sql>>,
}

/// What a variable holds.
#[derive(Debug, Clone)]
pub enum VarKind {
    /// A value of a type written as SQL (`integer`, `numeric(10,2)`, `my_enum`).
    Typed(String),
    /// A value of the type of a column: `table.column%TYPE`.
    ColumnType(String, String),
    /// A value of a known type (arguments, `found`, loop counters).
    Known(oxibase_common::DataType),
    /// A row: `record` (its fields are the last row assigned) or `table%ROWTYPE`.
    Record(Option<String>),
    /// Another name for a variable (`name ALIAS FOR $1`): its slot.
    Alias(usize),
    /// A cursor: bound to a query (`CURSOR [(args)] FOR query`: the argument variables'
    /// slots and the query), or unbound (`refcursor`, opened FOR a query).
    Cursor(Option<(Vec<usize>, Arc<Sql>)>),
}

impl VarKind {
    /// Whether the variable may hold a row, whose fields `var.field` names: a record, a
    /// variable of a type written as SQL (a table's or composite type's name), an argument
    /// of a composite type.
    fn may_be_row(&self) -> bool {
        match self {
            VarKind::Record(_) | VarKind::Typed(_) => true,
            VarKind::Known(oxibase_common::DataType::Record(r)) => r.id.is_some(),
            _ => false,
        }
    }
}

/// Where FETCH and MOVE go.
#[derive(Debug, Clone)]
pub enum Direction {
    /// NEXT, FORWARD
    Next,
    /// PRIOR, BACKWARD
    Prior,
    /// FIRST
    First,
    /// LAST
    Last,
    /// ABSOLUTE n
    Absolute(Arc<Sql>),
    /// RELATIVE n
    Relative(Arc<Sql>),
}

/// A block: `[<<label>>] [DECLARE ...] BEGIN ... [EXCEPTION ...] END`.
#[derive(Debug)]
pub struct Block {
    /// Its label.
    pub label: Option<String>,
    /// The variables it declares (slots), initialised in order on entry.
    pub declares: Vec<usize>,
    /// Its statements.
    pub body: Vec<Stmt>,
    /// Its exception handlers (a block with any runs under a savepoint).
    pub handlers: Vec<Handler>,
    /// The slots of `sqlstate` and `sqlerrm`, set in a handler.
    pub error_vars: Option<(usize, usize)>,
}

/// `WHEN condition [OR ...] THEN statements`
#[derive(Debug)]
pub struct Handler {
    /// What it catches.
    pub conditions: Vec<Condition>,
    /// What it runs.
    pub body: Vec<Stmt>,
}

/// An exception condition.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Condition {
    /// OTHERS: every error but a cancel and a failed ASSERT.
    Others,
    /// A code; one ending in `000` names its whole class.
    Code(SqlState),
}

/// A piece of SQL in the body: an expression (run as `SELECT expr`) or a statement.
#[derive(Debug)]
pub struct Sql {
    /// Its number in the body (part of its plan-cache key).
    pub id: usize,
    /// The SQL to run.
    pub text: String,
    /// The variables visible where it was written (slots, outermost first).
    pub visible: Arc<Vec<usize>>,
    /// The line it starts on (for messages).
    pub line: usize,
    /// Written as PERFORM (for messages).
    pub perform: bool,
    /// Set once the host found it is not a plain expression: it runs as a nested statement
    /// without asking again (a second plan lookup per evaluation).
    pub nested: std::sync::atomic::AtomicBool,
    /// The scope last built for it, by the record shapes it was built for.
    pub scope: Mutex<Option<(u64, Arc<crate::procedure::Scope>)>>,
    /// For each visible variable, whether the text may name it whole (not only
    /// `name.field`): a row variable's value as one record is built only then.
    pub whole: std::sync::OnceLock<Vec<bool>>,
}

impl Sql {
    /// Whether the text may name the variable `name` as a whole: an occurrence of the
    /// name, in any case, not followed by a period. Over-counts (a string or another
    /// object of that name counts), never under-counts.
    pub fn may_name_whole(&self, name: &str) -> bool {
        let text = self.text.to_lowercase();
        let name = name.to_lowercase();
        let ident = |c: char| c.is_alphanumeric() || c == '_' || c == '$';
        text.match_indices(&name).any(|(at, _)| {
            let before = text[..at].chars().next_back();
            let after = &text[at + name.len()..];
            before.is_none_or(|c| !ident(c))
                && after.chars().next().is_none_or(|c| !ident(c))
                && !after.trim_start().trim_start_matches('"').starts_with('.')
        })
    }
}

/// Where a value goes.
#[derive(Debug, Clone)]
pub enum Target {
    /// A variable.
    Var(usize),
    /// A field of a record variable.
    Field(usize, String),
}

/// A CALL in a body: the procedure's (schema, name), and each argument that is a variable
/// (or a record's field), where an OUT or INOUT parameter's value is stored after the call.
#[derive(Debug, Clone)]
pub struct CallSite {
    /// The procedure, as written.
    pub name: (Option<String>, String),
    /// Per argument, in order: the variable it names, if it is one.
    pub args: Vec<Option<Target>>,
}

/// `INTO [STRICT] target, ...`
#[derive(Debug, Clone)]
pub struct IntoClause {
    /// STRICT: exactly one row.
    pub strict: bool,
    /// The targets.
    pub targets: Vec<Target>,
}

/// A query a loop or RETURN QUERY reads.
#[derive(Debug)]
pub enum Query {
    /// Written in the body.
    Static(Arc<Sql>),
    /// `EXECUTE text [USING args]`.
    Dynamic(Arc<Sql>, Vec<Arc<Sql>>),
}

/// RAISE's level.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Level {
    /// DEBUG and LOG
    Debug,
    /// INFO
    Info,
    /// NOTICE
    Notice,
    /// WARNING
    Warning,
    /// EXCEPTION
    Exception,
}

/// A statement.
#[derive(Debug)]
pub enum Stmt {
    /// `target := expr`
    Assign(Target, Arc<Sql>),
    /// IF / ELSIF / ELSE
    If(Vec<(Arc<Sql>, Vec<Stmt>)>, Vec<Stmt>),
    /// CASE [subject] WHEN ... (conditions already combined with the subject)
    Case(Vec<(Arc<Sql>, Vec<Stmt>)>, Option<Vec<Stmt>>),
    /// LOOP
    Loop(Option<String>, Vec<Stmt>),
    /// WHILE cond LOOP
    While(Option<String>, Arc<Sql>, Vec<Stmt>),
    /// FOR i IN [REVERSE] a .. b [BY s] LOOP
    ForRange {
        /// Its label.
        label: Option<String>,
        /// The loop variable's slot.
        var: usize,
        /// REVERSE
        reverse: bool,
        /// The bounds and step.
        from: Arc<Sql>,
        /// The upper (lower, REVERSE) bound.
        to: Arc<Sql>,
        /// BY
        step: Option<Arc<Sql>>,
        /// The body.
        body: Vec<Stmt>,
    },
    /// FOR target IN query LOOP
    ForQuery(Option<String>, IntoClause, Query, Vec<Stmt>),
    /// FOREACH target IN ARRAY expr LOOP
    Foreach(Option<String>, Target, Arc<Sql>, Vec<Stmt>),
    /// EXIT / CONTINUE [label] [WHEN cond]
    Exit {
        /// CONTINUE rather than EXIT.
        next: bool,
        /// The loop (or block) to leave.
        label: Option<String>,
        /// WHEN
        when: Option<Arc<Sql>>,
    },
    /// RETURN [expr]
    Return(Option<Arc<Sql>>),
    /// RETURN record (a trigger function's NEW, OLD or another record variable)
    ReturnRecord(usize),
    /// RETURN NEXT [expr]
    ReturnNext(Option<Arc<Sql>>),
    /// RETURN NEXT record
    ReturnNextRecord(usize),
    /// RETURN QUERY
    ReturnQuery(Query),
    /// RAISE
    Raise {
        /// Its level.
        level: Level,
        /// The condition named instead of a message (`RAISE division_by_zero`).
        condition: Option<(SqlState, String)>,
        /// The format (`%` takes the next argument).
        format: Option<String>,
        /// The arguments.
        args: Vec<Arc<Sql>>,
        /// USING option = expr
        options: Vec<(String, Arc<Sql>)>,
    },
    /// `RAISE;` in a handler: the error again.
    Reraise,
    /// ASSERT cond [, message]
    Assert(Arc<Sql>, Option<Arc<Sql>>),
    /// An SQL statement (PERFORM as its SELECT), with INTO.
    Exec(Arc<Sql>, Option<IntoClause>),
    /// CALL of a procedure: the statement, and where its OUT and INOUT values go.
    Call(Arc<Sql>, CallSite),
    /// EXECUTE text [INTO ...] [USING ...]
    Dynamic(Arc<Sql>, Option<IntoClause>, Vec<Arc<Sql>>),
    /// GET [CURRENT | STACKED] DIAGNOSTICS target = item, ...
    Diagnostics(Vec<(Target, String)>),
    /// A nested block.
    Block(Block),
    /// OPEN cursor [(args)] | OPEN cursor FOR query | FOR EXECUTE ...
    Open(usize, Vec<Arc<Sql>>, Option<Query>),
    /// FETCH / MOVE [direction] [FROM | IN] cursor [INTO targets]
    Fetch(usize, Direction, Option<IntoClause>),
    /// CLOSE cursor
    Close(usize),
    /// FOR target IN cursor [(args)] LOOP
    ForCursor(Option<String>, IntoClause, usize, Vec<Arc<Sql>>, Vec<Stmt>),
    /// COMMIT or ROLLBACK (in a procedure called on its own).
    Transaction(&'static str),
    /// NULL
    Null,
}

// ---------------------------------------------------------------------------------------
// Tokens

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    /// A word: lower-cased unless it was quoted.
    Word(String, bool),
    /// A string literal, with its value.
    Str(String),
    Number,
    /// Punctuation and operators.
    Punct(String),
    Semi,
}

#[derive(Debug, Clone)]
struct Token {
    kind: Kind,
    start: usize,
    end: usize,
    line: usize,
}

fn syntax(line: usize, near: &str) -> Error {
    errinput!(SYNTAX_ERROR, "syntax error at or near \"{near}\"")
        .with_detail(format!("PL/pgSQL, line {line} of the body"))
}

fn tokenize(src: &str) -> Result<Vec<Token>> {
    let bytes = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut line = 1;
    let count_lines = |from: usize, to: usize| src[from..to].matches('\n').count();
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        let start_line = line;
        if c.is_ascii_whitespace() {
            if c == b'\n' {
                line += 1;
            }
            i += 1;
            continue;
        }
        if src[i..].starts_with("--") {
            i = src[i..].find('\n').map_or(bytes.len(), |n| i + n);
            continue;
        }
        if src[i..].starts_with("/*") {
            let end = src[i + 2..].find("*/").map(|n| i + 2 + n + 2);
            let end = end.ok_or_else(|| syntax(line, "/*"))?;
            line += count_lines(i, end);
            i = end;
            continue;
        }
        let kind;
        let escape = (c == b'e' || c == b'E') && bytes.get(i + 1) == Some(&b'\'');
        if c == b'\'' || escape {
            let (value, end) = string(src, if escape { i + 1 } else { i }, escape)
                .ok_or_else(|| syntax(line, "unterminated quoted string"))?;
            kind = Kind::Str(value);
            i = end;
        } else if c == b'$'
            && let Some(tag_end) = dollar_tag(src, i)
        {
            let tag = &src[i..tag_end];
            let close = src[tag_end..].find(tag).ok_or_else(|| syntax(line, tag))?;
            kind = Kind::Str(src[tag_end..tag_end + close].to_string());
            i = tag_end + close + tag.len();
        } else if c == b'"' {
            let mut value = String::new();
            let mut j = i + 1;
            loop {
                let Some(n) = src[j..].find('"') else { return Err(syntax(line, "\"")) };
                value.push_str(&src[j..j + n]);
                j += n + 1;
                if bytes.get(j) == Some(&b'"') {
                    value.push('"');
                    j += 1;
                } else {
                    break;
                }
            }
            kind = Kind::Word(value, true);
            i = j;
        } else if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 {
            let mut j = i;
            while j < bytes.len()
                && (bytes[j].is_ascii_alphanumeric()
                    || bytes[j] == b'_'
                    || bytes[j] == b'$'
                    || bytes[j] >= 0x80)
            {
                j += 1;
            }
            kind = Kind::Word(src[i..j].to_lowercase(), false);
            i = j;
        } else if c.is_ascii_digit()
            || (c == b'.' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit))
        {
            let mut j = i;
            while j < bytes.len() {
                let b = bytes[j];
                let exponent_sign =
                    (b == b'+' || b == b'-') && j > i && matches!(bytes[j - 1], b'e' | b'E');
                let point = b == b'.' && bytes.get(j + 1) != Some(&b'.');
                if b.is_ascii_alphanumeric() || b == b'_' || point || exponent_sign {
                    j += 1;
                } else {
                    break;
                }
            }
            kind = Kind::Number;
            i = j;
        } else if c == b';' {
            kind = Kind::Semi;
            i += 1;
        } else if c == b'$' {
            // A parameter: $1
            let mut j = i + 1;
            while j < bytes.len() && bytes[j].is_ascii_digit() {
                j += 1;
            }
            kind = Kind::Word(src[i..j].to_string(), false);
            i = j;
        } else {
            const OPERATOR: &[u8] = b"+-*/<>=~!@#%^&|`?";
            let two = src.get(i..i + 2).unwrap_or("");
            let len = if [":=", "..", "::", "<<", ">>"].contains(&two) {
                2
            } else if OPERATOR.contains(&c) {
                let mut j = i;
                while j < bytes.len() && OPERATOR.contains(&bytes[j]) {
                    // A comment starting inside an operator ends it.
                    if src[j..].starts_with("--") || src[j..].starts_with("/*") {
                        break;
                    }
                    j += 1;
                }
                (j - i).max(1)
            } else {
                src[i..].chars().next().map_or(1, char::len_utf8)
            };
            kind = Kind::Punct(src[i..i + len].to_string());
            i += len;
        }
        line += count_lines(start, i);
        out.push(Token { kind, start, end: i, line: start_line });
    }
    Ok(out)
}

/// A quoted string starting at `start` (its quote): its value and where it ends.
fn string(src: &str, start: usize, escapes: bool) -> Option<(String, usize)> {
    let mut value = String::new();
    let mut chars = src[start + 1..].char_indices();
    while let Some((n, ch)) = chars.next() {
        match ch {
            '\'' => {
                if src[start + 1 + n + 1..].starts_with('\'') {
                    chars.next();
                    value.push('\'');
                } else {
                    return Some((value, start + 1 + n + 1));
                }
            }
            '\\' if escapes => match chars.next()?.1 {
                'n' => value.push('\n'),
                't' => value.push('\t'),
                'r' => value.push('\r'),
                'b' => value.push('\u{8}'),
                'f' => value.push('\u{c}'),
                other => value.push(other),
            },
            ch => value.push(ch),
        }
    }
    None
}

/// The end of a dollar-quote tag (`$$`, `$body$`) starting at `start`.
fn dollar_tag(src: &str, start: usize) -> Option<usize> {
    let rest = &src[start + 1..];
    let n = rest.find('$')?;
    let tag = &rest[..n];
    let ok = tag.is_empty()
        || (tag.chars().all(|c| c.is_alphanumeric() || c == '_')
            && !tag.starts_with(|c: char| c.is_ascii_digit()));
    ok.then_some(start + 1 + n + 1)
}

// ---------------------------------------------------------------------------------------
// The parser

/// The variables a trigger function has, in their slots (after NEW and OLD).
pub const TRIGGER_VARS: &[&str] = &[
    "tg_name",
    "tg_when",
    "tg_level",
    "tg_op",
    "tg_table_name",
    "tg_relname",
    "tg_table_schema",
    "tg_relid",
    "tg_nargs",
    "tg_argv",
];

/// The slot of NEW in a trigger function (OLD follows, then [`TRIGGER_VARS`]).
pub const NEW_SLOT: usize = 0;

/// Parses a body for a routine with these arguments (names and types); a trigger function
/// also has NEW, OLD and the TG_ variables.
pub fn parse(
    src: &str,
    routine_name: &str,
    args: &[(String, oxibase_common::DataType)],
    out_columns: &[(String, oxibase_common::DataType)],
    trigger: bool,
) -> Result<Body> {
    let tokens = tokenize(src)?;
    let mut p = Parser {
        src,
        tokens,
        pos: 0,
        vars: Vec::new(),
        visible: Vec::new(),
        sql_count: 0,
        trigger,
        depth: 0,
        args: args.len(),
    };
    for (i, (name, ty)) in args.iter().enumerate() {
        // `$1` names the first argument whatever its name.
        let name = if name.is_empty() { format!("${}", i + 1) } else { name.clone() };
        p.declare(name, Some(routine_name.to_string()), VarKind::Known(ty.clone()));
    }
    // Output columns (RETURNS TABLE, OUT parameters) are variables too; an INOUT
    // parameter's is its argument's.
    let mut out_slots = Vec::with_capacity(out_columns.len());
    for (name, ty) in out_columns {
        let slot = match args.iter().position(|(n, _)| n == name && !n.is_empty()) {
            Some(arg) => arg,
            None => {
                p.declare(name.clone(), Some(routine_name.to_string()), VarKind::Known(ty.clone()))
            }
        };
        out_slots.push(slot);
    }
    if trigger {
        use oxibase_common::DataType as T;
        p.declare("new".into(), None, VarKind::Record(None));
        p.declare("old".into(), None, VarKind::Record(None));
        for name in TRIGGER_VARS {
            let ty = match *name {
                "tg_relid" => T::Oid,
                "tg_nargs" => T::Int4,
                "tg_argv" => T::Array(Box::new(T::Text)),
                _ => T::Text,
            };
            p.declare(name.to_string(), Some(routine_name.to_string()), VarKind::Known(ty));
        }
    }
    let found = p.declare(
        "found".into(),
        Some(routine_name.to_string()),
        VarKind::Known(oxibase_common::DataType::Bool),
    );
    let label = p.label()?;
    if !(p.peek_word("declare") || p.peek_word("begin")) {
        return Err(p.error_here());
    }
    let block = p.block(label)?;
    p.eat(&Kind::Semi);
    if p.pos < p.tokens.len() {
        return Err(p.error_here());
    }
    Ok(Body { block, vars: p.vars, out_slots, found })
}

struct Parser<'s> {
    src: &'s str,
    tokens: Vec<Token>,
    pos: usize,
    vars: Vec<VarDef>,
    visible: Vec<usize>,
    sql_count: usize,
    /// A trigger function's body (TG_ARGV counts from 0).
    trigger: bool,
    /// How many arguments the routine has (the first slots).
    args: usize,
    /// How deeply statement lists nest here (bounded: the parser and the interpreter
    /// recurse on it).
    depth: usize,
}

/// How deeply blocks, loops and IFs may nest.
const MAX_DEPTH: usize = 200;

/// Words that end a statement list.
const LIST_END: &[&str] = &["end", "elsif", "elseif", "else", "when", "exception"];

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn peek_at(&self, n: usize) -> Option<&Token> {
        self.tokens.get(self.pos + n)
    }

    fn peek_word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Token { kind: Kind::Word(x, false), .. }) if x == w)
    }

    fn peek_punct(&self, p: &str) -> bool {
        matches!(self.peek(), Some(Token { kind: Kind::Punct(x), .. }) if x == p)
    }

    fn eat_word(&mut self, w: &str) -> bool {
        let yes = self.peek_word(w);
        if yes {
            self.pos += 1;
        }
        yes
    }

    fn eat(&mut self, kind: &Kind) -> bool {
        let yes = self.peek().is_some_and(|t| &t.kind == kind);
        if yes {
            self.pos += 1;
        }
        yes
    }

    fn eat_punct(&mut self, p: &str) -> bool {
        self.eat(&Kind::Punct(p.to_string()))
    }

    fn line(&self) -> usize {
        self.peek().or(self.tokens.last()).map_or(1, |t| t.line)
    }

    fn error_here(&self) -> Error {
        match self.peek() {
            Some(t) => syntax(t.line, &self.src[t.start..t.end]),
            None => syntax(self.line(), "end of function"),
        }
    }

    fn expect_word(&mut self, w: &str) -> Result<()> {
        if self.eat_word(w) { Ok(()) } else { Err(self.error_here()) }
    }

    fn expect_semi(&mut self) -> Result<()> {
        if self.eat(&Kind::Semi) { Ok(()) } else { Err(self.error_here()) }
    }

    /// An identifier (any word, quoted or not).
    fn ident(&mut self) -> Result<String> {
        match self.peek() {
            Some(Token { kind: Kind::Word(w, _), .. }) => {
                let w = w.clone();
                self.pos += 1;
                Ok(w)
            }
            _ => Err(self.error_here()),
        }
    }

    fn declare(&mut self, name: String, qualifier: Option<String>, kind: VarKind) -> usize {
        self.vars.push(VarDef {
            name,
            qualifier,
            kind,
            constant: false,
            not_null: false,
            default: None,
        });
        let slot = self.vars.len() - 1;
        self.visible.push(slot);
        slot
    }

    /// The variable a name refers to here, innermost first.
    fn lookup(&self, qualifier: Option<&str>, name: &str) -> Option<usize> {
        self.visible.iter().rev().copied().find(|&s| {
            let v = &self.vars[s];
            v.name == name && qualifier.is_none_or(|q| v.qualifier.as_deref() == Some(q))
        })
    }

    /// `<<label>>`
    fn label(&mut self) -> Result<Option<String>> {
        if !self.eat_punct("<<") {
            return Ok(None);
        }
        let label = self.ident()?;
        if !self.eat_punct(">>") {
            return Err(self.error_here());
        }
        Ok(Some(label))
    }

    /// A piece of SQL from here to the first of `until` (words, or `;` / `,` / `..`) outside
    /// parentheses and CASE ... END; the terminator is not consumed.
    fn sql_until(&mut self, until: &[&str], prefix: &str) -> Result<Arc<Sql>> {
        let (start, end) = self.span_until(until)?;
        if start == end {
            return Err(self.error_here());
        }
        let text = format!("{prefix}{}", &self.src[start..end]);
        self.make_sql(text, start)
    }

    fn make_sql(&mut self, text: String, start: usize) -> Result<Arc<Sql>> {
        let line = self.src[..start].matches('\n').count() + 1;
        let text = if self.trigger { argv_from_zero(&text) } else { text };
        // The SQL's own syntax is checked now, as PostgreSQL does when it compiles a body.
        crate::parse::parse_one(&text).map_err(|e| {
            let detail = format!("PL/pgSQL, line {line} of the body: {text}");
            Error::new(e.kind(), e.code(), e.message().to_string()).with_detail(detail)
        })?;
        let id = self.sql_count;
        self.sql_count += 1;
        // Only the variables the text names become its parameters (the arguments always,
        // so `$n` keeps its meaning): fewer values to pass per statement.
        let words: std::collections::HashSet<String> = tokenize(&text)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|t| match t.kind {
                Kind::Word(w, _) => Some(w),
                _ => None,
            })
            .collect();
        let visible: Vec<usize> = self
            .visible
            .iter()
            .copied()
            .filter(|&slot| {
                let var = &self.vars[slot];
                slot < self.args
                    || words.contains(&var.name)
                    || var.qualifier.as_ref().is_some_and(|q| words.contains(q))
            })
            .collect();
        Ok(Arc::new(Sql {
            id,
            text,
            visible: Arc::new(visible),
            line,
            perform: false,
            nested: Default::default(),
            scope: Mutex::new(None),
            whole: std::sync::OnceLock::new(),
        }))
    }

    /// The source span up to a terminator (see [`Parser::sql_until`]).
    fn span_until(&mut self, until: &[&str]) -> Result<(usize, usize)> {
        let start_pos = self.pos;
        let mut depth = 0i32;
        while let Some(t) = self.peek() {
            let stop = match &t.kind {
                Kind::Semi => depth == 0 || until.contains(&";"),
                Kind::Punct(p) if p == "(" || p == "[" => {
                    depth += 1;
                    false
                }
                Kind::Punct(p) if p == ")" || p == "]" => {
                    depth -= 1;
                    depth < 0
                }
                Kind::Punct(p) => depth == 0 && until.contains(&p.as_str()),
                Kind::Word(w, false) if w == "case" => {
                    depth += 1;
                    false
                }
                Kind::Word(w, false) if w == "end" && depth > 0 => {
                    depth -= 1;
                    false
                }
                Kind::Word(w, false) => depth == 0 && until.contains(&w.as_str()),
                _ => false,
            };
            if stop {
                break;
            }
            self.pos += 1;
        }
        if self.pos == start_pos {
            let here = self.peek().map_or(self.src.len(), |t| t.start);
            return Ok((here, here));
        }
        let start = self.tokens[start_pos].start;
        let end = self.tokens[self.pos - 1].end;
        Ok((start, end))
    }

    /// `[<<label>>] [DECLARE decls] BEGIN stmts [EXCEPTION handlers] END [label]`
    fn block(&mut self, label: Option<String>) -> Result<Block> {
        let depth = self.visible.len();
        let mut declares = Vec::new();
        if self.eat_word("declare") {
            while !self.peek_word("begin") {
                if self.peek().is_none() {
                    return Err(self.error_here());
                }
                if self.eat_word("declare") {
                    continue;
                }
                declares.push(self.declaration(label.clone())?);
            }
        }
        self.expect_word("begin")?;
        let body = self.statements()?;
        let mut handlers = Vec::new();
        let mut error_vars = None;
        if self.eat_word("exception") {
            let text = VarKind::Known(oxibase_common::DataType::Text);
            let state = self.declare("sqlstate".into(), None, text.clone());
            let message = self.declare("sqlerrm".into(), None, text);
            error_vars = Some((state, message));
            while self.eat_word("when") {
                let mut conditions = vec![self.condition()?];
                while self.eat_word("or") {
                    conditions.push(self.condition()?);
                }
                self.expect_word("then")?;
                let body = self.statements()?;
                handlers.push(Handler { conditions, body });
            }
            if handlers.is_empty() {
                return Err(self.error_here());
            }
        }
        self.expect_word("end")?;
        self.end_label(&label)?;
        self.visible.truncate(depth);
        Ok(Block { label, declares, body, handlers, error_vars })
    }

    /// An optional label after END must be the construct's own.
    fn end_label(&mut self, label: &Option<String>) -> Result<()> {
        if let Some(Token { kind: Kind::Word(w, _), .. }) = self.peek()
            && !matches!(self.peek(), Some(Token { kind: Kind::Word(_, false), .. }) if LIST_END.contains(&w.as_str()))
        {
            let w = w.clone();
            if label.as_deref() != Some(w.as_str()) {
                return Err(errinput!(
                    SYNTAX_ERROR,
                    "end label \"{w}\" differs from block's label"
                )
                .with_detail(format!("PL/pgSQL, line {} of the body", self.line())));
            }
            self.pos += 1;
        }
        Ok(())
    }

    fn condition(&mut self) -> Result<Condition> {
        if self.eat_word("sqlstate") {
            return match self.peek().map(|t| t.kind.clone()) {
                Some(Kind::Str(code)) => {
                    self.pos += 1;
                    SqlState::parse(&code)
                        .map(Condition::Code)
                        .ok_or_else(|| errinput!(SYNTAX_ERROR, "invalid SQLSTATE code \"{code}\""))
                }
                _ => Err(self.error_here()),
            };
        }
        let name = self.ident()?;
        if name == "others" {
            return Ok(Condition::Others);
        }
        SqlState::from_name(&name).map(Condition::Code).ok_or_else(|| {
            errinput!(UNDEFINED_OBJECT, "unrecognized exception condition \"{name}\"")
        })
    }

    /// `name [CONSTANT] type [COLLATE c] [NOT NULL] [{DEFAULT | := | =} expr];`
    fn declaration(&mut self, qualifier: Option<String>) -> Result<usize> {
        let name = self.ident()?;
        if self.eat_word("alias") {
            self.expect_word("for")?;
            let target = self.ident()?;
            let slot = self.lookup(None, &target).ok_or_else(|| {
                errinput!(UNDEFINED_OBJECT, "variable \"{target}\" does not exist")
            })?;
            self.expect_semi()?;
            return Ok(self.declare(name, qualifier, VarKind::Alias(self.resolve(slot))));
        }
        let constant = self.eat_word("constant");
        if self.eat_word("refcursor") {
            self.expect_semi()?;
            return Ok(self.declare(name, qualifier, VarKind::Cursor(None)));
        }
        if self.eat_word("no") {
            self.expect_word("scroll")?;
        } else {
            self.eat_word("scroll");
        }
        if self.eat_word("cursor") {
            return self.cursor_declaration(name, qualifier);
        }
        let (start, end) = self.span_until(&["not", "default", ":=", "=", "collate", ";"])?;
        if start == end {
            return Err(self.error_here());
        }
        let type_text = self.src[start..end].trim().to_string();
        let kind = var_kind(&type_text);
        if self.eat_word("collate") {
            self.ident()?;
        }
        let not_null = if self.eat_word("not") {
            self.expect_word("null")?;
            true
        } else {
            false
        };
        let default = if self.eat_word("default") || self.eat_punct(":=") || self.eat_punct("=") {
            Some(self.sql_until(&[";"], "SELECT ")?)
        } else {
            None
        };
        self.expect_semi()?;
        if not_null && default.is_none() {
            return Err(errinput!(
                SYNTAX_ERROR,
                "variable \"{name}\" must have a default value, since it's declared NOT NULL"
            ));
        }
        let slot = self.declare(name, qualifier, kind);
        self.vars[slot].constant = constant;
        self.vars[slot].not_null = not_null;
        self.vars[slot].default = default;
        Ok(slot)
    }

    /// `CURSOR [(arg type, ...)] {FOR | IS} query;`: the arguments are variables the query
    /// alone sees.
    fn cursor_declaration(&mut self, name: String, qualifier: Option<String>) -> Result<usize> {
        let depth = self.visible.len();
        let mut args = Vec::new();
        if self.eat_punct("(") {
            loop {
                let arg = self.ident()?;
                let (start, end) = self.span_until(&[",", ")"])?;
                let ty = var_kind(self.src[start..end].trim());
                args.push(self.declare(arg, Some(name.clone()), ty));
                if self.eat_punct(")") {
                    break;
                }
                if !self.eat_punct(",") {
                    return Err(self.error_here());
                }
            }
        }
        if !(self.eat_word("for") || self.eat_word("is")) {
            return Err(self.error_here());
        }
        let query = self.sql_until(&[";"], "")?;
        self.expect_semi()?;
        self.visible.truncate(depth);
        Ok(self.declare(name, qualifier, VarKind::Cursor(Some((args, query)))))
    }

    /// A cursor variable by name (42P01-like 34000 when the name is not a cursor).
    fn cursor(&mut self) -> Result<usize> {
        let line = self.line();
        let name = self.ident()?;
        match self.lookup(None, &name).map(|s| self.resolve(s)) {
            Some(slot) if matches!(self.vars[slot].kind, VarKind::Cursor(_)) => Ok(slot),
            _ => Err(errinput!(SYNTAX_ERROR, "\"{name}\" is not a known cursor variable")
                .with_detail(format!("PL/pgSQL, line {line} of the body"))),
        }
    }

    /// `(expr, ...)` after a bound cursor's name.
    fn cursor_args(&mut self) -> Result<Vec<Arc<Sql>>> {
        if !self.eat_punct("(") {
            return Ok(Vec::new());
        }
        let args = self.expression_list(&[")"])?;
        if !self.eat_punct(")") {
            return Err(self.error_here());
        }
        Ok(args)
    }

    fn direction(&mut self) -> Result<Direction> {
        let word = match self.peek() {
            Some(Token { kind: Kind::Word(w, false), .. }) => w.clone(),
            _ => return Ok(Direction::Next),
        };
        let direction = match word.as_str() {
            "next" | "forward" => Direction::Next,
            "prior" | "backward" => Direction::Prior,
            "first" => Direction::First,
            "last" => Direction::Last,
            "absolute" | "relative" => {
                self.pos += 1;
                let n = self.sql_until(&["from", "in"], "SELECT ")?;
                return Ok(if word == "absolute" {
                    Direction::Absolute(n)
                } else {
                    Direction::Relative(n)
                });
            }
            _ => return Ok(Direction::Next),
        };
        self.pos += 1;
        Ok(direction)
    }

    /// The variable an alias stands for.
    fn resolve(&self, slot: usize) -> usize {
        match self.vars[slot].kind {
            VarKind::Alias(target) => target,
            _ => slot,
        }
    }

    fn statements(&mut self) -> Result<Vec<Stmt>> {
        self.depth += 1;
        let result = self.statement_list();
        self.depth -= 1;
        result
    }

    fn statement_list(&mut self) -> Result<Vec<Stmt>> {
        if self.depth > MAX_DEPTH {
            return Err(errinput!(
                STATEMENT_TOO_COMPLEX,
                "PL/pgSQL statements nest more than {MAX_DEPTH} deep"
            ));
        }
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => return Err(self.error_here()),
                Some(Token { kind: Kind::Word(w, false), .. })
                    if LIST_END.contains(&w.as_str()) =>
                {
                    // `END` closes the list unless it is `END IF` / `END LOOP` / `END CASE`
                    // of an enclosing construct, which the caller reads.
                    return Ok(out);
                }
                _ => out.push(self.statement()?),
            }
        }
    }

    fn statement(&mut self) -> Result<Stmt> {
        let label = self.label()?;
        let Some(Token { kind: Kind::Word(word, quoted), .. }) = self.peek().cloned() else {
            if label.is_none() && self.eat(&Kind::Semi) {
                return Ok(Stmt::Null);
            }
            return Err(self.error_here());
        };
        if label.is_some()
            && !["declare", "begin", "loop", "while", "for", "foreach"].contains(&word.as_str())
        {
            return Err(self.error_here());
        }
        if !quoted && self.is_assignment() {
            let target = self.target()?;
            if !(self.eat_punct(":=") || self.eat_punct("=")) {
                return Err(self.error_here());
            }
            let expr = self.sql_until(&[";"], "SELECT ")?;
            self.expect_semi()?;
            if let Target::Var(slot) | Target::Field(slot, _) = &target
                && self.vars[*slot].constant
            {
                return Err(errinput!(
                    SYNTAX_ERROR,
                    "variable \"{}\" is declared CONSTANT",
                    self.vars[*slot].name
                ));
            }
            return Ok(Stmt::Assign(target, expr));
        }
        if quoted {
            return self.sql_statement();
        }
        match word.as_str() {
            "declare" | "begin" => {
                let block = self.block(label)?;
                self.expect_semi()?;
                Ok(Stmt::Block(block))
            }
            "if" => self.if_statement(),
            "case" => self.case_statement(),
            "loop" => {
                self.pos += 1;
                let body = self.loop_body(&label)?;
                Ok(Stmt::Loop(label, body))
            }
            "while" => {
                self.pos += 1;
                let cond = self.sql_until(&["loop"], "SELECT ")?;
                self.expect_word("loop")?;
                let body = self.loop_body(&label)?;
                Ok(Stmt::While(label, cond, body))
            }
            "for" => self.for_statement(label),
            "foreach" => self.foreach_statement(label),
            "exit" | "continue" => {
                self.pos += 1;
                let label = match self.peek() {
                    Some(Token { kind: Kind::Word(w, _), .. }) if w != "when" => {
                        Some(self.ident()?)
                    }
                    _ => None,
                };
                let when = if self.eat_word("when") {
                    Some(self.sql_until(&[";"], "SELECT ")?)
                } else {
                    None
                };
                self.expect_semi()?;
                Ok(Stmt::Exit { next: word == "continue", label, when })
            }
            "return" => self.return_statement(),
            "raise" => self.raise_statement(),
            "assert" => {
                self.pos += 1;
                let cond = self.sql_until(&[",", ";"], "SELECT ")?;
                let message = if self.eat_punct(",") {
                    Some(self.sql_until(&[";"], "SELECT ")?)
                } else {
                    None
                };
                self.expect_semi()?;
                Ok(Stmt::Assert(cond, message))
            }
            "perform" => {
                self.pos += 1;
                let (start, end) = self.span_until(&[";"])?;
                if start == end {
                    return Err(self.error_here());
                }
                let text = format!("SELECT {}", &self.src[start..end]);
                let mut sql = self.make_sql(text, start)?;
                if let Some(sql) = Arc::get_mut(&mut sql) {
                    sql.perform = true;
                }
                self.expect_semi()?;
                Ok(Stmt::Exec(sql, None))
            }
            "execute" => {
                self.pos += 1;
                let command = self.sql_until(&["into", "using", ";"], "SELECT ")?;
                let mut into = None;
                let mut using = Vec::new();
                loop {
                    if self.eat_word("into") {
                        into = Some(self.parse_into()?);
                    } else if self.eat_word("using") {
                        using = self.expression_list(&[";", "into"])?;
                    } else {
                        break;
                    }
                }
                self.expect_semi()?;
                Ok(Stmt::Dynamic(command, into, using))
            }
            "get" => self.diagnostics(),
            "null" => {
                self.pos += 1;
                self.expect_semi()?;
                Ok(Stmt::Null)
            }
            "commit" | "rollback" => {
                self.pos += 1;
                let chain = if self.eat_word("and") {
                    let no = self.eat_word("no");
                    self.expect_word("chain")?;
                    !no
                } else {
                    false
                };
                self.expect_semi()?;
                Ok(Stmt::Transaction(match (word.as_str(), chain) {
                    ("commit", false) => "COMMIT",
                    ("commit", true) => "COMMIT AND CHAIN",
                    (_, false) => "ROLLBACK",
                    (_, true) => "ROLLBACK AND CHAIN",
                }))
            }
            "open" => {
                self.pos += 1;
                let cursor = self.cursor()?;
                let args = self.cursor_args()?;
                let query = if self.eat_word("for") { Some(self.query_source(";")?) } else { None };
                self.expect_semi()?;
                Ok(Stmt::Open(cursor, args, query))
            }
            "fetch" | "move" => {
                self.pos += 1;
                let direction = self.direction()?;
                let _ = self.eat_word("from") || self.eat_word("in");
                let cursor = self.cursor()?;
                let into = if word == "fetch" {
                    self.expect_word("into")?;
                    Some(self.parse_into()?)
                } else {
                    None
                };
                self.expect_semi()?;
                Ok(Stmt::Fetch(cursor, direction, into))
            }
            "close" => {
                self.pos += 1;
                let cursor = self.cursor()?;
                self.expect_semi()?;
                Ok(Stmt::Close(cursor))
            }
            _ => self.sql_statement(),
        }
    }

    /// `name :=`, `name =`, `rec.field :=` at the start of a statement.
    fn is_assignment(&self) -> bool {
        let assign = |t: Option<&Token>| matches!(t, Some(Token { kind: Kind::Punct(p), .. }) if p == ":=" || p == "=");
        if assign(self.peek_at(1)) {
            return true;
        }
        matches!(self.peek_at(1), Some(Token { kind: Kind::Punct(p), .. }) if p == ".")
            && matches!(self.peek_at(2), Some(Token { kind: Kind::Word(..), .. }))
            && assign(self.peek_at(3))
    }

    /// A variable or `record.field`.
    fn target(&mut self) -> Result<Target> {
        let line = self.line();
        let first = self.ident()?;
        if self.eat_punct(".") {
            let second = self.ident()?;
            if let Some(slot) = self.lookup(Some(&first), &second).map(|s| self.resolve(s)) {
                return Ok(Target::Var(slot));
            }
            // A record, or a variable declared with a table's name as its type (a row).
            if let Some(slot) = self.lookup(None, &first).map(|s| self.resolve(s))
                && self.vars[slot].kind.may_be_row()
            {
                return Ok(Target::Field(slot, second));
            }
            return None.ok_or_else(|| {
                errinput!(UNDEFINED_OBJECT, "\"{first}.{second}\" is not a known variable")
                    .with_detail(format!("PL/pgSQL, line {line} of the body"))
            });
        }
        self.lookup(None, &first).map(|s| Target::Var(self.resolve(s))).ok_or_else(|| {
            errinput!(SYNTAX_ERROR, "\"{first}\" is not a known variable")
                .with_detail(format!("PL/pgSQL, line {line} of the body"))
        })
    }

    fn parse_into(&mut self) -> Result<IntoClause> {
        let strict = self.eat_word("strict");
        let mut targets = vec![self.target()?];
        while self.eat_punct(",") {
            targets.push(self.target()?);
        }
        Ok(IntoClause { strict, targets })
    }

    fn expression_list(&mut self, until: &[&str]) -> Result<Vec<Arc<Sql>>> {
        let mut until = until.to_vec();
        until.push(",");
        let mut out = vec![self.sql_until(&until, "SELECT ")?];
        while self.eat_punct(",") {
            out.push(self.sql_until(&until, "SELECT ")?);
        }
        Ok(out)
    }

    fn loop_body(&mut self, label: &Option<String>) -> Result<Vec<Stmt>> {
        let body = self.statements()?;
        self.expect_word("end")?;
        self.expect_word("loop")?;
        self.end_label(label)?;
        self.expect_semi()?;
        Ok(body)
    }

    fn if_statement(&mut self) -> Result<Stmt> {
        self.expect_word("if")?;
        let mut arms = Vec::new();
        let mut otherwise = Vec::new();
        loop {
            let cond = self.sql_until(&["then"], "SELECT ")?;
            self.expect_word("then")?;
            arms.push((cond, self.statements()?));
            if self.eat_word("elsif") || self.eat_word("elseif") {
                continue;
            }
            if self.eat_word("else") {
                otherwise = self.statements()?;
            }
            break;
        }
        self.expect_word("end")?;
        self.expect_word("if")?;
        self.expect_semi()?;
        Ok(Stmt::If(arms, otherwise))
    }

    fn case_statement(&mut self) -> Result<Stmt> {
        self.expect_word("case")?;
        let subject = if self.peek_word("when") {
            None
        } else {
            let (start, end) = self.span_until(&["when"])?;
            Some(self.src[start..end].to_string())
        };
        let mut arms = Vec::new();
        while self.eat_word("when") {
            let (start, end) = self.span_until(&["then"])?;
            let values = &self.src[start..end];
            let text = match &subject {
                Some(s) => format!("SELECT ({s}) IN ({values})"),
                None => format!("SELECT {values}"),
            };
            let cond = self.make_sql(text, start)?;
            self.expect_word("then")?;
            arms.push((cond, self.statements()?));
        }
        if arms.is_empty() {
            return Err(self.error_here());
        }
        let otherwise = if self.eat_word("else") { Some(self.statements()?) } else { None };
        self.expect_word("end")?;
        self.expect_word("case")?;
        self.expect_semi()?;
        Ok(Stmt::Case(arms, otherwise))
    }

    fn for_statement(&mut self, label: Option<String>) -> Result<Stmt> {
        self.expect_word("for")?;
        let depth = self.visible.len();
        let start = self.pos;
        let first = self.ident()?;
        let query_loop = self.peek_punct(",") || self.peek_punct(".");
        self.pos = start;
        let Some(Token { kind: Kind::Word(after_in, _), .. }) = self.find_after_in() else {
            return Err(self.error_here());
        };
        let is_cursor = self
            .lookup(None, &after_in)
            .is_some_and(|s| matches!(self.vars[self.resolve(s)].kind, VarKind::Cursor(_)));
        if is_cursor {
            // The loop's variable is a record of its own, declared for the loop.
            let cursor_at = self.pos + 2;
            self.pos = cursor_at;
            let cursor = self.cursor()?;
            let args = self.cursor_args()?;
            self.expect_word("loop")?;
            let row = self.declare(first, label.clone(), VarKind::Record(None));
            let into = IntoClause { strict: false, targets: vec![Target::Var(row)] };
            let body = self.loop_body(&label)?;
            self.visible.truncate(depth);
            return Ok(Stmt::ForCursor(label, into, cursor, args, body));
        }
        let is_query = query_loop
            || ["select", "with", "values", "table", "execute"].contains(&after_in.as_str());
        if is_query {
            let into = self.loop_targets()?;
            self.expect_word("in")?;
            let query = self.query_source("loop")?;
            self.expect_word("loop")?;
            let body = self.loop_body(&label)?;
            return Ok(Stmt::ForQuery(label, into, query, body));
        }
        self.pos += 1; // the variable
        self.expect_word("in")?;
        let reverse = self.eat_word("reverse");
        let from = self.sql_until(&["..", "loop"], "SELECT ")?;
        if !self.eat_punct("..") {
            return Err(self.error_here());
        }
        let to = self.sql_until(&["by", "loop"], "SELECT ")?;
        let step =
            if self.eat_word("by") { Some(self.sql_until(&["loop"], "SELECT ")?) } else { None };
        self.expect_word("loop")?;
        // The loop variable is an integer declared for the loop alone.
        let var =
            self.declare(first, label.clone(), VarKind::Known(oxibase_common::DataType::Int4));
        let body = self.loop_body(&label)?;
        self.visible.truncate(depth);
        Ok(Stmt::ForRange { label, var, reverse, from, to, step, body })
    }

    /// The token after the loop's `IN` (and REVERSE), without moving.
    fn find_after_in(&self) -> Option<Token> {
        let mut i = self.pos;
        while let Some(t) = self.tokens.get(i) {
            if matches!(&t.kind, Kind::Word(w, false) if w == "in") {
                let mut next = self.tokens.get(i + 1)?;
                if matches!(&next.kind, Kind::Word(w, false) if w == "reverse") {
                    next = self.tokens.get(i + 2)?;
                }
                return match &next.kind {
                    Kind::Word(..) => Some(next.clone()),
                    _ => Some(Token { kind: Kind::Word(String::new(), false), ..next.clone() }),
                };
            }
            i += 1;
        }
        None
    }

    fn loop_targets(&mut self) -> Result<IntoClause> {
        let mut targets = vec![self.target()?];
        while self.eat_punct(",") {
            targets.push(self.target()?);
        }
        Ok(IntoClause { strict: false, targets })
    }

    fn foreach_statement(&mut self, label: Option<String>) -> Result<Stmt> {
        self.expect_word("foreach")?;
        let target = self.target()?;
        if self.eat_word("slice") {
            return Err(errinput!(FEATURE_NOT_SUPPORTED, "FOREACH ... SLICE is not supported"));
        }
        self.expect_word("in")?;
        self.expect_word("array")?;
        let array = self.sql_until(&["loop"], "SELECT ")?;
        self.expect_word("loop")?;
        let body = self.loop_body(&label)?;
        Ok(Stmt::Foreach(label, target, array, body))
    }

    fn return_statement(&mut self) -> Result<Stmt> {
        self.expect_word("return")?;
        if self.eat_word("next") {
            if self.eat(&Kind::Semi) {
                return Ok(Stmt::ReturnNext(None));
            }
            if let Some(slot) = self.record_then_semi() {
                self.pos += 2;
                return Ok(Stmt::ReturnNextRecord(slot));
            }
            let value = self.sql_until(&[";"], "SELECT ")?;
            self.expect_semi()?;
            return Ok(Stmt::ReturnNext(Some(value)));
        }
        if self.eat_word("query") {
            let query = self.query_source(";")?;
            self.expect_semi()?;
            return Ok(Stmt::ReturnQuery(query));
        }
        if self.eat(&Kind::Semi) {
            return Ok(Stmt::Return(None));
        }
        if let Some(slot) = self.record_then_semi() {
            self.pos += 2;
            return Ok(Stmt::ReturnRecord(slot));
        }
        let value = self.sql_until(&[";"], "SELECT ")?;
        self.expect_semi()?;
        Ok(Stmt::Return(Some(value)))
    }

    /// A query up to `end`: `EXECUTE text [USING args]`, or one written in place.
    fn query_source(&mut self, end: &str) -> Result<Query> {
        if !self.eat_word("execute") {
            return Ok(Query::Static(self.sql_until(&[end], "")?));
        }
        let command = self.sql_until(&["using", end], "SELECT ")?;
        let using = if self.eat_word("using") { self.expression_list(&[end])? } else { vec![] };
        Ok(Query::Dynamic(command, using))
    }

    /// A record variable's slot when the next tokens are its name and `;`.
    fn record_then_semi(&self) -> Option<usize> {
        let (Some(Token { kind: Kind::Word(name, _), .. }), Some(Token { kind: Kind::Semi, .. })) =
            (self.peek(), self.peek_at(1))
        else {
            return None;
        };
        let slot = self.resolve(self.lookup(None, name)?);
        self.vars[slot].kind.may_be_row().then_some(slot)
    }

    fn raise_statement(&mut self) -> Result<Stmt> {
        self.expect_word("raise")?;
        if self.eat(&Kind::Semi) {
            return Ok(Stmt::Reraise);
        }
        let level = match self.peek() {
            Some(Token { kind: Kind::Word(w, false), .. }) => match w.as_str() {
                "debug" | "log" => Some(Level::Debug),
                "info" => Some(Level::Info),
                "notice" => Some(Level::Notice),
                "warning" => Some(Level::Warning),
                "exception" => Some(Level::Exception),
                _ => None,
            },
            _ => None,
        };
        if level.is_some() {
            self.pos += 1;
        }
        let level = level.unwrap_or(Level::Exception);
        let mut condition = None;
        let mut format = None;
        let mut args = Vec::new();
        match self.peek().map(|t| t.kind.clone()) {
            Some(Kind::Str(f)) => {
                self.pos += 1;
                format = Some(f);
                while self.eat_punct(",") {
                    args.push(self.sql_until(&[",", "using", ";"], "SELECT ")?);
                }
            }
            Some(Kind::Word(w, false)) if w == "sqlstate" => {
                self.pos += 1;
                let Some(Kind::Str(code)) = self.peek().map(|t| t.kind.clone()) else {
                    return Err(self.error_here());
                };
                self.pos += 1;
                let state = SqlState::parse(&code)
                    .ok_or_else(|| errinput!(SYNTAX_ERROR, "invalid SQLSTATE code \"{code}\""))?;
                condition = Some((state, code));
            }
            Some(Kind::Word(w, _)) if w != "using" => {
                self.pos += 1;
                let state = SqlState::from_name(&w).ok_or_else(|| {
                    errinput!(UNDEFINED_OBJECT, "unrecognized exception condition \"{w}\"")
                })?;
                condition = Some((state, w));
            }
            _ => {}
        }
        let mut options = Vec::new();
        if self.eat_word("using") {
            loop {
                let name = self.ident()?;
                if !(self.eat_punct("=") || self.eat_punct(":=")) {
                    return Err(self.error_here());
                }
                options.push((name, self.sql_until(&[",", ";"], "SELECT ")?));
                if !self.eat_punct(",") {
                    break;
                }
            }
        }
        self.expect_semi()?;
        if let Some(f) = &format {
            let placeholders = f.matches('%').count() - 2 * f.matches("%%").count();
            if placeholders != args.len() {
                let which = if placeholders > args.len() { "few" } else { "many" };
                return Err(errinput!(SYNTAX_ERROR, "too {which} parameters specified for RAISE"));
            }
        }
        Ok(Stmt::Raise { level, condition, format, args, options })
    }

    fn diagnostics(&mut self) -> Result<Stmt> {
        self.expect_word("get")?;
        let _stacked = self.eat_word("stacked") || !self.eat_word("current");
        self.expect_word("diagnostics")?;
        let mut items = Vec::new();
        loop {
            let target = self.target()?;
            if !(self.eat_punct("=") || self.eat_punct(":=")) {
                return Err(self.error_here());
            }
            let item = self.ident()?;
            items.push((target, item));
            if !self.eat_punct(",") {
                break;
            }
        }
        self.expect_semi()?;
        Ok(Stmt::Diagnostics(items))
    }

    /// An SQL statement to `;`, with its INTO clause taken out.
    fn sql_statement(&mut self) -> Result<Stmt> {
        let start_pos = self.pos;
        let first = match self.peek() {
            Some(Token { kind: Kind::Word(w, _), .. }) => w.clone(),
            _ => String::new(),
        };
        let mut depth = 0i32;
        let mut returning = false;
        let mut into: Option<(usize, usize, IntoClause)> = None;
        while let Some(t) = self.peek().cloned() {
            match &t.kind {
                Kind::Semi if depth == 0 => break,
                Kind::Punct(p) if p == "(" || p == "[" => depth += 1,
                Kind::Punct(p) if p == ")" || p == "]" => depth -= 1,
                Kind::Word(w, false) if depth == 0 && w == "returning" => returning = true,
                Kind::Word(w, false)
                    if depth == 0
                        && w == "into"
                        && into.is_none()
                        && (matches!(first.as_str(), "select" | "with")
                            || (returning
                                && matches!(first.as_str(), "insert" | "update" | "delete"))) =>
                {
                    let from = t.start;
                    self.pos += 1;
                    let clause = self.parse_into()?;
                    let to = self.tokens[self.pos - 1].end;
                    into = Some((from, to, clause));
                    continue;
                }
                _ => {}
            }
            self.pos += 1;
        }
        if self.pos == start_pos {
            return Err(self.error_here());
        }
        let start = self.tokens[start_pos].start;
        let end = self.tokens[self.pos - 1].end;
        self.expect_semi()?;
        let (text, into) = match into {
            Some((from, to, clause)) => {
                (format!("{} {}", &self.src[start..from], &self.src[to..end]), Some(clause))
            }
            None => (self.src[start..end].to_string(), None),
        };
        if first == "call"
            && into.is_none()
            && let Some(site) = self.call_site(start_pos + 1, self.pos - 1)
        {
            return Ok(Stmt::Call(self.make_sql(text, start)?, site));
        }
        Ok(Stmt::Exec(self.make_sql(text, start)?, into))
    }

    /// The procedure a CALL's tokens (`from` after CALL, to `semi` at the `;`) name, and
    /// which of its arguments are variables; None when the call is not `name(args)`.
    fn call_site(&self, from: usize, semi: usize) -> Option<CallSite> {
        let word = |i: usize| match self.tokens.get(i).map(|t| &t.kind) {
            Some(Kind::Word(w, _)) => Some(w.clone()),
            _ => None,
        };
        let punct = |i: usize, p: &str| matches!(self.tokens.get(i).map(|t| &t.kind), Some(Kind::Punct(x)) if x == p);
        let mut i = from;
        let mut name = (None, word(i)?);
        i += 1;
        if punct(i, ".") {
            name = (Some(name.1), word(i + 1)?);
            i += 2;
        }
        if !punct(i, "(") || !punct(semi - 1, ")") {
            return None;
        }
        // The arguments: token ranges between top-level commas.
        let mut args = Vec::new();
        let (mut depth, mut arg_start) = (0, i + 1);
        for j in i + 1..semi - 1 {
            match &self.tokens[j].kind {
                Kind::Punct(p) if p == "(" || p == "[" => depth += 1,
                Kind::Punct(p) if p == ")" || p == "]" => depth -= 1,
                Kind::Punct(p) if p == "," && depth == 0 => {
                    args.push(arg_start..j);
                    arg_start = j + 1;
                }
                _ => {}
            }
        }
        if arg_start < semi - 1 {
            args.push(arg_start..semi - 1);
        }
        let targets = args
            .into_iter()
            .map(|range| match range.len() {
                1 => {
                    let slot = self.lookup(None, &word(range.start)?)?;
                    Some(Target::Var(self.resolve(slot)))
                }
                3 if punct(range.start + 1, ".") => {
                    let (first, second) = (word(range.start)?, word(range.start + 2)?);
                    if let Some(slot) = self.lookup(Some(&first), &second) {
                        return Some(Target::Var(self.resolve(slot)));
                    }
                    let slot = self.resolve(self.lookup(None, &first)?);
                    self.vars[slot].kind.may_be_row().then_some(Target::Field(slot, second))
                }
                _ => None,
            })
            .collect();
        Some(CallSite { name, args: targets })
    }
}

/// `TG_ARGV[i]` counts from 0 (PostgreSQL gives the array a lower bound of 0); arrays here
/// count from 1, so the subscript becomes `[1+i]`.
fn argv_from_zero(text: &str) -> String {
    let lower = text.to_lowercase();
    let mut out = String::with_capacity(text.len() + 8);
    let mut rest = 0;
    let mut from = 0;
    while let Some(found) = lower[from..].find("tg_argv") {
        let at = from + found;
        let after = at + "tg_argv".len();
        let word_start =
            at == 0 || !lower[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_');
        let bracket = lower[after..].trim_start();
        if word_start && bracket.starts_with('[') {
            let open = after + (lower[after..].len() - bracket.len()) + 1;
            out.push_str(&text[rest..open]);
            out.push_str("1+");
            rest = open;
        }
        from = after;
    }
    out.push_str(&text[rest..]);
    out
}

/// What a declared type says the variable holds.
fn var_kind(text: &str) -> VarKind {
    let lower = text.to_lowercase();
    if lower == "record" {
        return VarKind::Record(None);
    }
    if let Some(table) = lower.strip_suffix("%rowtype") {
        return VarKind::Record(Some(table.trim().to_string()));
    }
    if let Some(column) = lower.strip_suffix("%type")
        && let Some((table, column)) = column.trim().rsplit_once('.')
    {
        return VarKind::ColumnType(table.to_string(), column.to_string());
    }
    VarKind::Typed(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A row variable's whole value is built only for SQL that may name it whole: never
    /// missed (that would read NULL), a field reference alone does not count.
    #[test]
    fn sql_names_a_row_variable_whole_or_by_its_fields() {
        let sql = |text: &str| Sql {
            id: 0,
            text: text.into(),
            visible: Arc::new(vec![]),
            line: 1,
            perform: false,
            nested: Default::default(),
            scope: Mutex::new(None),
            whole: std::sync::OnceLock::new(),
        };
        for text in ["f(r)", "r::text", "row_to_json(R)", "r = s", "(r)", "\"r\" is null"] {
            assert!(sql(text).may_name_whole("r"), "{text}");
        }
        for text in ["r.a + 1", "r .a", "\"r\".a", "rr", "sr.r2", "x_r"] {
            assert!(!sql(text).may_name_whole("r"), "{text}");
        }
    }

    /// Bad bodies are errors, never panics or hangs: random soups of PL/pgSQL's words,
    /// punctuation and SQL, and cut-off prefixes of a valid body.
    #[test]
    fn random_and_truncated_bodies_are_errors_not_panics() {
        const PIECES: &[&str] = &[
            "begin",
            "end",
            "declare",
            "if",
            "then",
            "else",
            "elsif",
            "loop",
            "while",
            "for",
            "in",
            "..",
            "reverse",
            "by",
            "exit",
            "continue",
            "when",
            "return",
            "next",
            "query",
            "raise",
            "notice",
            "exception",
            "others",
            "perform",
            "execute",
            "into",
            "strict",
            "using",
            "get",
            "diagnostics",
            "case",
            "foreach",
            "array",
            "select",
            "from",
            "x",
            "y",
            "r",
            "r.a",
            ":=",
            "=",
            ";",
            ",",
            "(",
            ")",
            "[",
            "]",
            "<<l>>",
            "'s'",
            "$$",
            "$t$",
            "1",
            "2.5",
            "e'\\n'",
            "\"q\"",
            "--c\n",
            "/*",
            "*/",
            "%",
            "+",
            "é",
            "$1",
            "null",
            "alias",
            "constant",
            "not",
            "record",
            "int",
            "%type",
            "%rowtype",
        ];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let args = [("a".to_string(), oxibase_common::DataType::Int4)];
        for _ in 0..3000 {
            let n = (next() % 40) as usize;
            let body: Vec<&str> =
                (0..n).map(|_| PIECES[(next() % PIECES.len() as u64) as usize]).collect();
            let body = body.join(" ");
            let _ = parse(&body, "f", &args, &[], next() % 2 == 0);
        }
        let valid = "declare r record; s int := 0; begin for i in 1..a loop s := s + i; \
                     end loop; if s > 2 then raise notice 'x %', s; end if; return s; \
                     exception when others then return 0; end";
        assert!(parse(valid, "f", &args, &[], false).is_ok());
        for cut in 0..valid.len() {
            if valid.is_char_boundary(cut) {
                let _ = parse(&valid[..cut], "f", &args, &[], false);
            }
        }
        let nested = "begin ".repeat(5000) + &"end; ".repeat(5000);
        let e = parse(&nested, "f", &args, &[], false).unwrap_err();
        assert_eq!(e.code(), SqlState::STATEMENT_TOO_COMPLEX);
    }
}
