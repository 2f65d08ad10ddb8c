//! Parsing SQL: sqlparser's PostgreSQL dialect, extended with Oxibase's syntax.
//!
//! Oxibase's dialect is PostgreSQL's in every respect (it even reports itself as
//! `PostgreSqlDialect` to the parser's dialect checks), plus SQL:2011 time travel on table
//! references: `SELECT * FROM t FOR SYSTEM_TIME AS OF '2024-05-01 12:00:00+00'`.
//! The delegating methods below forward every method PostgreSQL's dialect overrides.

mod alter;
mod domain;

pub use alter::is_alter_type_attributes_statement;
pub use alter::{
    AlterSequence, CONSTRAINT_COMMENT_MARK, STATISTICS_OPTION, TRIGGER_COMMENT_MARK,
    alter_sequence, identity_sequence_name, owner_change,
};
pub use domain::{is_alter_domain, is_drop_domain_statement, null_constraint};

use std::any::TypeId;

use oxibase_common::{Result, errinput};
use sqlparser::ast;
use sqlparser::dialect::{BindPlaceholderStyle, Dialect, PostgreSqlDialect, Precedence};
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};

/// PostgreSQL's dialect plus `FOR SYSTEM_TIME AS OF`.
#[derive(Debug, Default)]
pub struct OxibaseDialect(PostgreSqlDialect);

/// Parses a string of SQL statements.
pub fn parse(sql: &str) -> Result<Vec<ast::Statement>> {
    let dialect = OxibaseDialect::default();
    let normalized = normalize_copy_options(sql, &dialect);
    let text = normalized.as_deref().unwrap_or(sql);
    let locks = normalize_lock_strengths(text, &dialect);
    let text = locks.as_deref().unwrap_or(text);
    let conflicts = normalize_conflict_targets(text, &dialect);
    let text = conflicts.as_deref().unwrap_or(text);
    let operators = normalize_qualified_operators(text, &dialect);
    let text = operators.as_deref().unwrap_or(text);
    let aliases = normalize_at_aliases(text, &dialect);
    let text = aliases.as_deref().unwrap_or(text);
    let statistics = alter::normalize_set_statistics(text, &dialect);
    let text = statistics.as_deref().unwrap_or(text);
    let objects = alter::normalize_comment_on_table_object(text, &dialect);
    let text = objects.as_deref().unwrap_or(text);
    let comments = alter::normalize_comment_on_routine(text, &dialect);
    let text = comments.as_deref().unwrap_or(text);
    let stars = normalize_field_stars(text, &dialect);
    Parser::new(&dialect)
        .try_with_sql(stars.as_deref().unwrap_or(text))
        .and_then(|mut p| p.parse_statements())
        .map_err(|e| syntax_error(sql, &e))
}

/// COPY options take any PostgreSQL boolean (`FREEZE on`, `HEADER 1`), where sqlparser
/// accepts only TRUE and FALSE: rewrites the others, on tokens, so literals are untouched.
/// None when there is nothing to rewrite.
fn normalize_copy_options(sql: &str, dialect: &OxibaseDialect) -> Option<String> {
    use sqlparser::tokenizer::Token;
    let trimmed = sql.trim_start();
    if !trimmed.get(..4).is_some_and(|w| w.eq_ignore_ascii_case("copy")) {
        return None;
    }
    let (mut tokens, ranges) = tokens_of(sql, dialect)?;
    let original = tokens.clone();
    let mut changed = false;
    for i in 0..tokens.len() {
        let is_option = matches!(&tokens[i], Token::Word(w) if w.keyword == Keyword::FREEZE || w.keyword == Keyword::HEADER);
        if !is_option {
            continue;
        }
        let Some(j) = (i + 1..tokens.len()).find(|&j| !matches!(tokens[j], Token::Whitespace(_)))
        else {
            continue;
        };
        let value = match &tokens[j] {
            Token::Word(w) => w.value.to_ascii_lowercase(),
            Token::Number(n, _) => n.clone(),
            _ => continue,
        };
        let replacement = match value.as_str() {
            "on" | "1" | "yes" | "match" => "TRUE",
            "off" | "0" | "no" => "FALSE",
            _ => continue,
        };
        tokens[j] = Token::make_keyword(replacement);
        changed = true;
    }
    changed.then(|| render_tokens(sql, &original, &ranges, &tokens))
}

/// Marks the lock clause after it as `FOR NO KEY UPDATE` (see [`normalize_lock_strengths`]).
pub const NO_KEY_UPDATE_MARK: &str = "__oxibase_for_no_key_update";
/// Marks the lock clause after it as `FOR KEY SHARE`.
pub const KEY_SHARE_MARK: &str = "__oxibase_for_key_share";

/// `FOR NO KEY UPDATE` and `FOR KEY SHARE`, which sqlparser does not parse, become
/// `FOR UPDATE` and `FOR SHARE` preceded by a marker clause (`FOR UPDATE OF <mark>`) that the
/// binder turns back into the exact lock strength. Rewritten on tokens, so literals are
/// untouched; None when there is nothing to rewrite.
fn normalize_lock_strengths(sql: &str, dialect: &OxibaseDialect) -> Option<String> {
    use sqlparser::tokenizer::{Token, Whitespace};
    if !mentions(sql, "KEY") || !mentions(sql, "FOR") {
        return None;
    }
    let (mut tokens, ranges) = tokens_of(sql, dialect)?;
    let original = tokens.clone();
    let words: Vec<usize> =
        (0..tokens.len()).filter(|&i| !matches!(tokens[i], Token::Whitespace(_))).collect();
    let kw = |t: &Token, k: Keyword| matches!(t, Token::Word(w) if w.keyword == k && w.quote_style.is_none());
    // (position of FOR, tokens to blank, mark)
    let mut edits = Vec::new();
    for w in words.windows(4) {
        if kw(&tokens[w[0]], Keyword::FOR)
            && kw(&tokens[w[1]], Keyword::NO)
            && kw(&tokens[w[2]], Keyword::KEY)
            && kw(&tokens[w[3]], Keyword::UPDATE)
        {
            edits.push((w[0], vec![w[1], w[2]], NO_KEY_UPDATE_MARK));
        }
    }
    for w in words.windows(3) {
        if kw(&tokens[w[0]], Keyword::FOR)
            && kw(&tokens[w[1]], Keyword::KEY)
            && kw(&tokens[w[2]], Keyword::SHARE)
        {
            edits.push((w[0], vec![w[1]], KEY_SHARE_MARK));
        }
    }
    if edits.is_empty() {
        return None;
    }
    for (at, blank, mark) in edits {
        for i in blank {
            tokens[i] = Token::Whitespace(Whitespace::Space);
        }
        tokens[at] = Token::make_word(&format!("FOR UPDATE OF {mark} FOR"), None);
    }
    Some(render_tokens(sql, &original, &ranges, &tokens))
}

/// `x OPERATOR(pg_catalog.=) ANY (...)` (pg_dump's and psql's queries name operators with
/// their schema): sqlparser reads `OPERATOR(...)` as an operator of its own, which cannot
/// come before ANY or ALL. An operator of pg_catalog is the operator itself, so it travels
/// bare. None when there is nothing to rewrite.
fn normalize_qualified_operators(sql: &str, dialect: &OxibaseDialect) -> Option<String> {
    use sqlparser::tokenizer::{Token, Whitespace};
    if !mentions(sql, "OPERATOR(PG_CATALOG.") {
        return None;
    }
    let (mut tokens, ranges) = tokens_of(sql, dialect)?;
    let original = tokens.clone();
    let mut changed = false;
    let mut i = 0;
    while i + 4 < tokens.len() {
        let is = |t: &Token, k: Keyword| matches!(t, Token::Word(w) if w.keyword == k && w.quote_style.is_none());
        let catalog =
            matches!(&tokens[i + 2], Token::Word(w) if w.value.eq_ignore_ascii_case("pg_catalog"));
        if is(&tokens[i], Keyword::OPERATOR)
            && tokens[i + 1] == Token::LParen
            && catalog
            && tokens[i + 3] == Token::Period
            && let Some(close) = (i + 4..tokens.len()).find(|&j| tokens[j] == Token::RParen)
        {
            let operator: String = tokens[i + 4..close].iter().map(ToString::to_string).collect();
            for t in &mut tokens[i..=close] {
                *t = Token::Whitespace(Whitespace::Space);
            }
            tokens[i] = Token::make_word(&format!(" {operator} "), None);
            changed = true;
            i = close + 1;
        } else {
            i += 1;
        }
    }
    changed.then(|| render_tokens(sql, &original, &ranges, &tokens))
}

/// `FROM pg_attribute at LEFT JOIN ...` (pg_dump's column-privilege query): with table
/// versioning on, sqlparser reads a relation followed by `AT` as Snowflake's `AT(...)`
/// clause. An unquoted `at` after a word and before anything but `(` or `TIME` (`x AT TIME
/// ZONE`) is an alias, so it travels quoted. None when there is nothing to rewrite.
fn normalize_at_aliases(sql: &str, dialect: &OxibaseDialect) -> Option<String> {
    use sqlparser::tokenizer::Token;
    let bytes = sql.as_bytes();
    let word_byte = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'"';
    let standalone = (1..bytes.len().saturating_sub(1)).any(|i| {
        bytes[i..i + 2].eq_ignore_ascii_case(b"at")
            && !word_byte(bytes[i - 1])
            && bytes.get(i + 2).is_none_or(|&b| !word_byte(b))
    });
    if !standalone {
        return None;
    }
    let (mut tokens, ranges) = tokens_of(sql, dialect)?;
    let original = tokens.clone();
    let words: Vec<usize> =
        (0..tokens.len()).filter(|&i| !matches!(tokens[i], Token::Whitespace(_))).collect();
    let mut changed = false;
    for k in 1..words.len() {
        let w = [words[k - 1], words[k]];
        let is_at = matches!(&tokens[w[1]], Token::Word(x) if x.keyword == Keyword::AT && x.quote_style.is_none());
        let after_word = matches!(&tokens[w[0]], Token::Word(_));
        let before_alias = match words.get(k + 1).map(|&i| &tokens[i]) {
            Some(Token::LParen) => false,
            Some(Token::Word(x)) => x.keyword != Keyword::TIME,
            _ => true,
        };
        if is_at && after_word && before_alias {
            let Token::Word(x) = &tokens[w[1]] else { continue };
            tokens[w[1]] = Token::make_word(&x.value.to_ascii_lowercase(), Some('"'));
            changed = true;
        }
    }
    changed.then(|| render_tokens(sql, &original, &ranges, &tokens))
}

/// The quoted field name `(expr).*` travels as (see [`normalize_field_stars`]).
pub(crate) const ALL_FIELDS: &str = "*";

/// `(expr).*`, all the fields of a composite value, which sqlparser reads only after a
/// name (`t.*`): the `*` travels as the quoted field name [`ALL_FIELDS`], which the select
/// list expands. None when there is nothing to rewrite.
fn normalize_field_stars(sql: &str, dialect: &OxibaseDialect) -> Option<String> {
    use sqlparser::tokenizer::Token;
    if !sql.contains(").*") {
        return None;
    }
    let (mut tokens, ranges) = tokens_of(sql, dialect)?;
    let original = tokens.clone();
    let mut changed = false;
    for i in 2..tokens.len() {
        if tokens[i] == Token::Mul
            && tokens[i - 1] == Token::Period
            && tokens[i - 2] == Token::RParen
        {
            tokens[i] = Token::make_word(ALL_FIELDS, Some('"'));
            changed = true;
        }
    }
    changed.then(|| render_tokens(sql, &original, &ranges, &tokens))
}

/// Tokens of `sql` for the rewrites below, with the byte range each came from. A rewrite
/// changes tokens in place; [`render_tokens`] gives back the original text of every token
/// it left alone (a token's Display does not escape quotes inside literals and quoted
/// names, so `'it''s'` would come back as `'it's'`).
pub(crate) fn tokens_of(
    sql: &str,
    dialect: &OxibaseDialect,
) -> Option<(Vec<sqlparser::tokenizer::Token>, Vec<std::ops::Range<usize>>)> {
    let spanned =
        sqlparser::tokenizer::Tokenizer::new(dialect, sql).tokenize_with_location().ok()?;
    // Walk the text once, from each token's start (line and column, counted in characters)
    // to the next.
    let mut starts = Vec::with_capacity(spanned.len());
    let (mut line, mut column, mut chars) = (1u64, 1u64, sql.char_indices().peekable());
    for t in &spanned {
        let want = (t.span.start.line, t.span.start.column);
        while (line, column) < want {
            match chars.next() {
                Some((_, '\n')) => (line, column) = (line + 1, 1),
                Some(_) => column += 1,
                None => break,
            }
        }
        starts.push(chars.peek().map_or(sql.len(), |(i, _)| *i));
    }
    let ranges = (0..starts.len())
        .map(|i| starts[i]..starts.get(i + 1).copied().unwrap_or(sql.len()))
        .collect();
    Some((spanned.into_iter().map(|t| t.token).collect(), ranges))
}

/// The text of tokens from [`tokens_of`] after a rewrite: the original text where a token is
/// unchanged, its Display where it changed.
pub(crate) fn render_tokens(
    sql: &str,
    original: &[sqlparser::tokenizer::Token],
    ranges: &[std::ops::Range<usize>],
    tokens: &[sqlparser::tokenizer::Token],
) -> String {
    let mut out = String::with_capacity(sql.len());
    for (i, t) in tokens.iter().enumerate() {
        match (original.get(i), ranges.get(i)) {
            (Some(o), Some(r)) if o == t => out.push_str(&sql[r.clone()]),
            _ => out.push_str(&t.to_string()),
        }
    }
    out
}

/// An unquoted word's text in upper case (`ATTRIBUTE`, `MOVE`: words sqlparser has no
/// keyword for, or keywords compared by text); empty for anything else, a quoted name
/// included.
pub(crate) fn bare_word(token: &sqlparser::tokenizer::Token) -> String {
    match token {
        sqlparser::tokenizer::Token::Word(w) if w.quote_style.is_none() => {
            w.value.to_ascii_uppercase()
        }
        _ => String::new(),
    }
}

/// Whether `sql` contains the upper-case ASCII `word` in any case (a cheap test before
/// tokenizing).
fn mentions(sql: &str, word: &str) -> bool {
    sql.as_bytes().windows(word.len()).any(|w| w.eq_ignore_ascii_case(word.as_bytes()))
}

/// Prefix of the identifier an ON CONFLICT expression travels in (see
/// [`normalize_conflict_targets`]).
const CONFLICT_EXPR_MARK: &str = "__oxibase_conflict_expr_";

/// `ON CONFLICT (lower(email), ...)`: sqlparser reads only column names in a conflict
/// target, so each element that is not one travels as an identifier holding its text in
/// hex, which [`conflict_expr`] gives back to the binder. Rewritten on tokens; None when
/// there is nothing to rewrite.
fn normalize_conflict_targets(sql: &str, dialect: &OxibaseDialect) -> Option<String> {
    use sqlparser::tokenizer::{Token, Whitespace};
    if !mentions(sql, "CONFLICT") {
        return None;
    }
    let (mut tokens, ranges) = tokens_of(sql, dialect)?;
    let original = tokens.clone();
    let significant = |t: &Token| !matches!(t, Token::Whitespace(_));
    let kw = |t: &Token, k: Keyword| matches!(t, Token::Word(w) if w.keyword == k && w.quote_style.is_none());
    let mut changed = false;
    let mut i = 0;
    while i < tokens.len() {
        if !kw(&tokens[i], Keyword::CONFLICT) {
            i += 1;
            continue;
        }
        // The opening parenthesis right after CONFLICT (skipping whitespace).
        let Some(open) = (i + 1..tokens.len()).find(|&j| significant(&tokens[j])) else { break };
        if tokens[open] != Token::LParen {
            i = open;
            continue;
        }
        // Elements at depth 1, split at commas, up to the matching parenthesis.
        let mut depth = 0;
        let mut start = open + 1;
        let mut elements = Vec::new();
        let mut close = None;
        for (j, token) in tokens.iter().enumerate().skip(open) {
            match token {
                Token::LParen => depth += 1,
                Token::RParen => {
                    depth -= 1;
                    if depth == 0 {
                        elements.push((start, j));
                        close = Some(j);
                        break;
                    }
                }
                Token::Comma if depth == 1 => {
                    elements.push((start, j));
                    start = j + 1;
                }
                _ => {}
            }
        }
        let Some(close) = close else { break };
        for &(from, to) in elements.iter().rev() {
            let parts: Vec<&Token> = tokens[from..to].iter().filter(|t| significant(t)).collect();
            if matches!(parts.as_slice(), [Token::Word(_)]) || parts.is_empty() {
                continue;
            }
            let text = render_tokens(sql, &original[from..], &ranges[from..], &tokens[from..to]);
            let hex: String = text.trim().bytes().map(|b| format!("{b:02x}")).collect();
            // In place (one token for the element, spaces for the rest), so every token
            // keeps its position in `original`.
            tokens[from] = Token::make_word(&format!("{CONFLICT_EXPR_MARK}{hex}"), None);
            for t in &mut tokens[from + 1..to] {
                *t = Token::Whitespace(Whitespace::Space);
            }
            changed = true;
        }
        i = if changed { open + 1 } else { close + 1 };
    }
    changed.then(|| render_tokens(sql, &original, &ranges, &tokens))
}

/// The expression an ON CONFLICT target element carried (see
/// [`normalize_conflict_targets`]), or None for a plain column name.
pub fn conflict_expr(name: &str) -> Option<String> {
    let hex = name.strip_prefix(CONFLICT_EXPR_MARK)?;
    let bytes: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .map(|i| hex.get(i..i + 2).and_then(|b| u8::from_str_radix(b, 16).ok()))
        .collect();
    String::from_utf8(bytes?).ok()
}

/// Parses one expression (for expressions the binder writes itself).
pub fn parse_expr(sql: &str) -> Result<ast::Expr> {
    Parser::new(&OxibaseDialect::default())
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_expr())
        .map_err(|e| syntax_error(sql, &e))
}

/// Parses exactly one statement.
pub fn parse_one(sql: &str) -> Result<ast::Statement> {
    let mut statements = parse(sql)?;
    match statements.len() {
        1 => Ok(statements.remove(0)),
        0 => Err(errinput!(SYNTAX_ERROR, "empty query")),
        _ => Err(errinput!(
            SYNTAX_ERROR,
            "cannot insert multiple commands into a prepared statement"
        )),
    }
}

/// Turns sqlparser's message into PostgreSQL's form: `syntax error at or near "x"`.
fn syntax_error(sql: &str, e: &ParserError) -> oxibase_common::Error {
    let text = e.to_string();
    let message = text.strip_prefix("sql parser error: ").unwrap_or(&text);
    let near = message
        .split("found: ")
        .nth(1)
        .map(|rest| rest.split(" at Line").next().unwrap_or(rest).trim().to_string());
    let main = match near {
        Some(token) if token == "EOF" => "syntax error at end of input".to_string(),
        Some(token) => format!("syntax error at or near \"{token}\""),
        None => format!("syntax error: {message}"),
    };
    let _ = sql;
    errinput!(SYNTAX_ERROR, "{main}").with_detail(message.to_string())
}

impl Dialect for OxibaseDialect {
    fn dialect(&self) -> TypeId {
        TypeId::of::<PostgreSqlDialect>()
    }

    fn supports_table_versioning(&self) -> bool {
        true
    }

    fn parse_statement(
        &self,
        parser: &mut Parser,
    ) -> Option<std::result::Result<ast::Statement, ParserError>> {
        if parser.peek_keyword(Keyword::VACUUM) {
            return Some(parse_vacuum(parser));
        }
        if parser.peek_keyword(Keyword::TABLE) {
            // PostgreSQL's `TABLE name` (SELECT * FROM name); sqlparser reads it only inside
            // a query (after WITH, in a set operation or parentheses).
            return Some(parser.parse_query().map(ast::Statement::Query));
        }
        if is_create_materialized_view(parser) {
            return Some(parse_create_materialized_view(parser));
        }
        if is_create_view(parser) {
            return Some(parse_create_view(parser));
        }
        if is_set_constraints(parser) {
            return Some(parse_set_constraints(parser));
        }
        if is_create_trigger(parser) {
            return Some(parse_create_trigger(parser));
        }
        if is_do(parser) {
            return Some(parse_do(parser));
        }
        if is_owned(parser) {
            return Some(parse_owned(parser));
        }
        if is_checkpoint(parser) {
            parser.next_token();
            return Some(Ok(checkpoint_statement()));
        }
        if alter::is_owner_change(parser) {
            return Some(alter::parse_owner_change(parser));
        }
        if alter::is_identity_with_sequence_name(parser) {
            return Some(alter::parse_identity_with_sequence_name(parser));
        }
        if alter::is_alter_type_attributes(parser) {
            return Some(alter::parse_alter_type_attributes(parser));
        }
        if alter::is_alter_sequence(parser) {
            return Some(alter::parse_alter_sequence(parser));
        }
        if domain::is_create_domain(parser) {
            return Some(domain::parse_create_domain(parser));
        }
        if domain::is_drop_domain(parser) {
            return Some(domain::parse_drop_domain(parser));
        }
        if domain::is_alter_domain_statement(parser) {
            return Some(domain::parse_alter_domain(parser));
        }
        if is_create_procedure(parser) {
            return Some(parse_create_procedure(parser));
        }
        if let Some(moving) = fetch_or_move(parser) {
            return Some(parse_fetch(parser, moving));
        }
        None
    }

    fn supports_cte_materialization(&self) -> bool {
        self.0.supports_cte_materialization()
    }

    fn identifier_quote_style(&self, _identifier: &str) -> Option<char> {
        self.0.identifier_quote_style(_identifier)
    }

    fn ordered_bind_placeholder_style(&self) -> Option<BindPlaceholderStyle> {
        self.0.ordered_bind_placeholder_style()
    }

    fn is_delimited_identifier_start(&self, ch: char) -> bool {
        self.0.is_delimited_identifier_start(ch)
    }

    fn is_identifier_start(&self, ch: char) -> bool {
        self.0.is_identifier_start(ch)
    }

    fn is_identifier_part(&self, ch: char) -> bool {
        self.0.is_identifier_part(ch)
    }

    fn supports_unicode_string_literal(&self) -> bool {
        self.0.supports_unicode_string_literal()
    }

    fn is_reserved_for_identifier(&self, kw: Keyword) -> bool {
        self.0.is_reserved_for_identifier(kw)
    }

    fn is_table_alias(&self, kw: &Keyword, _parser: &mut Parser) -> bool {
        self.0.is_table_alias(kw, _parser)
    }

    fn supports_string_literal_column_alias(&self, _explicit: bool) -> bool {
        self.0.supports_string_literal_column_alias(_explicit)
    }

    fn supports_string_literal_table_alias(&self, _explicit: bool) -> bool {
        self.0.supports_string_literal_table_alias(_explicit)
    }

    fn is_custom_operator_part(&self, ch: char) -> bool {
        self.0.is_custom_operator_part(ch)
    }

    fn get_next_precedence(&self, parser: &Parser) -> Option<Result<u8, ParserError>> {
        self.0.get_next_precedence(parser)
    }

    fn supports_filter_during_aggregation(&self) -> bool {
        self.0.supports_filter_during_aggregation()
    }

    fn supports_group_by_expr(&self) -> bool {
        self.0.supports_group_by_expr()
    }

    fn supports_drop_group(&self) -> bool {
        self.0.supports_drop_group()
    }

    fn supports_alter_user_as_alter_role(&self) -> bool {
        self.0.supports_alter_user_as_alter_role()
    }

    fn supports_create_group(&self) -> bool {
        self.0.supports_create_group()
    }

    fn supports_create_role_if_not_exists(&self) -> bool {
        self.0.supports_create_role_if_not_exists()
    }

    fn prec_value(&self, prec: Precedence) -> u8 {
        self.0.prec_value(prec)
    }

    fn allow_extract_custom(&self) -> bool {
        self.0.allow_extract_custom()
    }

    fn allow_extract_single_quotes(&self) -> bool {
        self.0.allow_extract_single_quotes()
    }

    fn supports_create_index_with_clause(&self) -> bool {
        self.0.supports_create_index_with_clause()
    }

    fn supports_sql_option_without_value(&self) -> bool {
        self.0.supports_sql_option_without_value()
    }

    fn supports_explain_with_utility_options(&self) -> bool {
        self.0.supports_explain_with_utility_options()
    }

    fn supports_listen_notify(&self) -> bool {
        self.0.supports_listen_notify()
    }

    fn supports_exclude_constraint(&self) -> bool {
        self.0.supports_exclude_constraint()
    }

    fn supports_factorial_operator(&self) -> bool {
        self.0.supports_factorial_operator()
    }

    fn supports_bitwise_shift_operators(&self) -> bool {
        self.0.supports_bitwise_shift_operators()
    }

    fn supports_tilde_like_match_operator(&self) -> bool {
        self.0.supports_tilde_like_match_operator()
    }

    fn supports_comparison_in_between_low_bound(&self) -> bool {
        self.0.supports_comparison_in_between_low_bound()
    }

    fn supports_comment_on(&self) -> bool {
        self.0.supports_comment_on()
    }

    fn supports_load_extension(&self) -> bool {
        self.0.supports_load_extension()
    }

    fn supports_named_fn_args_with_colon_operator(&self) -> bool {
        self.0.supports_named_fn_args_with_colon_operator()
    }

    fn supports_named_fn_args_with_expr_name(&self) -> bool {
        self.0.supports_named_fn_args_with_expr_name()
    }

    fn supports_named_fn_args_with_assignment_operator(&self) -> bool {
        self.0.supports_named_fn_args_with_assignment_operator()
    }

    fn supports_empty_projections(&self) -> bool {
        self.0.supports_empty_projections()
    }

    fn supports_nested_comments(&self) -> bool {
        self.0.supports_nested_comments()
    }

    fn supports_copy_from_stdin_data(&self) -> bool {
        self.0.supports_copy_from_stdin_data()
    }

    fn supports_string_escape_constant(&self) -> bool {
        self.0.supports_string_escape_constant()
    }

    fn supports_numeric_literal_underscores(&self) -> bool {
        self.0.supports_numeric_literal_underscores()
    }

    fn supports_non_decimal_integer_literals(&self) -> bool {
        self.0.supports_non_decimal_integer_literals()
    }

    fn supports_array_typedef_with_brackets(&self) -> bool {
        self.0.supports_array_typedef_with_brackets()
    }

    fn supports_geometric_types(&self) -> bool {
        self.0.supports_geometric_types()
    }

    fn supports_order_by_using_operator(&self) -> bool {
        self.0.supports_order_by_using_operator()
    }

    fn supports_set_names(&self) -> bool {
        self.0.supports_set_names()
    }

    fn supports_alter_column_type_using(&self) -> bool {
        self.0.supports_alter_column_type_using()
    }

    fn supports_left_associative_joins_without_parens(&self) -> bool {
        self.0.supports_left_associative_joins_without_parens()
    }

    fn supports_notnull_operator(&self) -> bool {
        self.0.supports_notnull_operator()
    }

    fn supports_interval_options(&self) -> bool {
        self.0.supports_interval_options()
    }

    fn is_interval_qualifier(&self, kw: Keyword) -> bool {
        self.0.is_interval_qualifier(kw)
    }

    fn supports_insert_table_alias(&self) -> bool {
        self.0.supports_insert_table_alias()
    }

    fn supports_create_table_like_parenthesized(&self) -> bool {
        self.0.supports_create_table_like_parenthesized()
    }

    fn supports_select_wildcard_with_alias(&self) -> bool {
        self.0.supports_select_wildcard_with_alias()
    }

    fn supports_comma_separated_trim(&self) -> bool {
        self.0.supports_comma_separated_trim()
    }

    fn supports_xml_expressions(&self) -> bool {
        self.0.supports_xml_expressions()
    }

    fn is_custom_type_typed_string(&self, first_keyword: Keyword, qualified: bool) -> bool {
        self.0.is_custom_type_typed_string(first_keyword, qualified)
    }

    fn supports_aliased_function_args(&self) -> bool {
        self.0.supports_aliased_function_args()
    }

    fn supports_comment_optimizer_hint(&self) -> bool {
        self.0.supports_comment_optimizer_hint()
    }

    fn supports_add_column_if_not_exists(&self) -> bool {
        self.0.supports_add_column_if_not_exists()
    }

    fn supports_attach_partition_of(&self) -> bool {
        self.0.supports_attach_partition_of()
    }

    fn supports_detach_partition_of(&self) -> bool {
        self.0.supports_detach_partition_of()
    }

    fn supports_table_inheritance_markers(&self) -> bool {
        self.0.supports_table_inheritance_markers()
    }

    fn supports_column_generic_options(&self) -> bool {
        self.0.supports_column_generic_options()
    }
}

/// PostgreSQL's `VACUUM [FULL] [FREEZE] [VERBOSE] [ANALYZE] [(options)] [table [, ...]]`
/// (sqlparser knows only Redshift's form). Only the first table is kept: VACUUM collects
/// garbage store-wide.
/// Marks a `CreateFunction` parsed from `CREATE PROCEDURE` (sqlparser has PostgreSQL's
/// `CREATE FUNCTION` but not its `CREATE PROCEDURE`, whose clauses are the same).
const PROCEDURE_MARK: &str = "oxibase_procedure";

/// True when a parsed CREATE FUNCTION was written as CREATE PROCEDURE.
pub fn is_procedure(f: &ast::CreateFunction) -> bool {
    f.options.as_ref().is_some_and(|o| {
        o.iter().any(|o| matches!(o, ast::SqlOption::Ident(n) if n.to_string() == PROCEDURE_MARK))
    })
}

fn is_create_procedure(parser: &Parser) -> bool {
    use sqlparser::tokenizer::Token;
    let t = parser.peek_tokens::<4>();
    let kw = |i: usize, k: Keyword| matches!(&t[i], Token::Word(w) if w.keyword == k);
    kw(0, Keyword::CREATE)
        && (kw(1, Keyword::PROCEDURE)
            || (kw(1, Keyword::OR) && kw(2, Keyword::REPLACE) && kw(3, Keyword::PROCEDURE)))
}

/// `CREATE [OR REPLACE] PROCEDURE name(args) LANGUAGE l AS $$ ... $$`: parsed with the
/// CREATE FUNCTION clauses, marked as a procedure.
fn parse_create_procedure(parser: &mut Parser) -> std::result::Result<ast::Statement, ParserError> {
    parser.expect_keyword(Keyword::CREATE)?;
    let or_replace = parser.parse_keywords(&[Keyword::OR, Keyword::REPLACE]);
    parser.expect_keyword(Keyword::PROCEDURE)?;
    let mut statement = parser.parse_create_function(false, or_replace, false)?;
    if let ast::Statement::CreateFunction(f) = &mut statement {
        if f.return_type.is_some() {
            return Err(ParserError::ParserError(
                "a procedure has no RETURNS clause (use CREATE FUNCTION)".into(),
            ));
        }
        f.options =
            Some(vec![ast::SqlOption::Ident(ast::ObjectName::from(vec![ast::Ident::new(
                PROCEDURE_MARK,
            )]))]);
    }
    Ok(statement)
}

/// PostgreSQL's `CHECKPOINT` (no keyword or AST in sqlparser): a bare word before the end
/// of the statement.
fn is_checkpoint(parser: &Parser) -> bool {
    use sqlparser::tokenizer::Token;
    let [word, next] = parser.peek_tokens::<2>();
    bare_word(&word) == "CHECKPOINT" && matches!(next, Token::EOF | Token::SemiColon)
}

/// After `CREATE [OR REPLACE]`: the position of the next token (None: not a CREATE).
fn create_or_replace(tokens: &[sqlparser::tokenizer::Token]) -> Option<usize> {
    use sqlparser::tokenizer::Token;
    let word = |t: &Token, k: Keyword| matches!(t, Token::Word(w) if w.keyword == k);
    if !word(&tokens[0], Keyword::CREATE) {
        return None;
    }
    if word(&tokens[1], Keyword::OR) && word(&tokens[2], Keyword::REPLACE) {
        return Some(3);
    }
    Some(1)
}

fn is_create_trigger(parser: &Parser) -> bool {
    use sqlparser::tokenizer::Token;
    let tokens = parser.peek_tokens::<5>();
    let word = |t: &Token, k: Keyword| matches!(t, Token::Word(w) if w.keyword == k);
    let Some(mut i) = create_or_replace(&tokens) else { return false };
    if word(&tokens[i], Keyword::CONSTRAINT) {
        i += 1;
    }
    word(&tokens[i], Keyword::TRIGGER)
}

/// `CREATE [OR REPLACE] [CONSTRAINT] TRIGGER`, as sqlparser reads it but for the function's
/// arguments, which PostgreSQL writes as literals (`EXECUTE FUNCTION f('a', 1)`): each is
/// carried as an argument whose default is its text.
fn parse_create_trigger(parser: &mut Parser) -> std::result::Result<ast::Statement, ParserError> {
    use sqlparser::tokenizer::Token;
    parser.expect_keyword(Keyword::CREATE)?;
    let or_replace = parser.parse_keywords(&[Keyword::OR, Keyword::REPLACE]);
    let is_constraint = parser.parse_keyword(Keyword::CONSTRAINT);
    parser.expect_keyword(Keyword::TRIGGER)?;
    let name = parser.parse_object_name(false)?;
    let period = Some(parser.parse_trigger_period()?);
    let events = parser.parse_keyword_separated(Keyword::OR, Parser::parse_trigger_event)?;
    parser.expect_keyword(Keyword::ON)?;
    let table_name = parser.parse_object_name(false)?;
    let referenced_table_name = if parser.parse_keyword(Keyword::FROM) {
        Some(parser.parse_object_name(true)?)
    } else {
        None
    };
    let characteristics = parser.parse_constraint_characteristics()?;
    let mut referencing = vec![];
    if parser.parse_keyword(Keyword::REFERENCING) {
        while let Some(r) = parser.parse_trigger_referencing()? {
            referencing.push(r);
        }
    }
    let trigger_object = if parser.parse_keyword(Keyword::FOR) {
        let each = parser.parse_keyword(Keyword::EACH);
        let object = match parser.expect_one_of_keywords(&[Keyword::ROW, Keyword::STATEMENT])? {
            Keyword::ROW => ast::TriggerObject::Row,
            _ => ast::TriggerObject::Statement,
        };
        Some(if each {
            ast::TriggerObjectKind::ForEach(object)
        } else {
            ast::TriggerObjectKind::For(object)
        })
    } else {
        None
    };
    let condition =
        if parser.parse_keyword(Keyword::WHEN) { Some(parser.parse_expr()?) } else { None };
    parser.expect_keyword(Keyword::EXECUTE)?;
    let exec_type = match parser.expect_one_of_keywords(&[Keyword::FUNCTION, Keyword::PROCEDURE])? {
        Keyword::FUNCTION => ast::TriggerExecBodyType::Function,
        _ => ast::TriggerExecBodyType::Procedure,
    };
    let function = parser.parse_object_name(false)?;
    parser.expect_token(&Token::LParen)?;
    let mut args = Vec::new();
    if !parser.consume_token(&Token::RParen) {
        loop {
            let token = parser.next_token();
            let text = match token.token {
                Token::SingleQuotedString(s) | Token::EscapedStringLiteral(s) => s,
                Token::DollarQuotedString(d) => d.value,
                Token::Number(n, _) => n,
                Token::Word(w) => w.value,
                _ => return parser.expected("a trigger argument (a literal)", token),
            };
            args.push(ast::OperateFunctionArg {
                mode: None,
                name: None,
                data_type: ast::DataType::Text,
                default_expr: Some(ast::Expr::value(ast::Value::SingleQuotedString(text))),
            });
            if parser.consume_token(&Token::RParen) {
                break;
            }
            parser.expect_token(&Token::Comma)?;
        }
    }
    Ok(ast::Statement::CreateTrigger(ast::CreateTrigger {
        or_alter: false,
        temporary: false,
        or_replace,
        is_constraint,
        name,
        period,
        period_before_table: true,
        events,
        table_name,
        referenced_table_name,
        referencing,
        trigger_object,
        condition,
        exec_body: Some(ast::TriggerExecBody {
            exec_type,
            func_desc: ast::FunctionDesc { name: function, args: Some(args) },
        }),
        statements_as: false,
        statements: None,
        characteristics,
    }))
}

/// The name a `DO` block is carried under: `CALL pg_catalog."$do"(body, language)`.
pub const DO_BLOCK: &str = "$do";

/// The procedure `REASSIGN OWNED` and `DROP OWNED` are carried as a CALL of, in
/// pg_catalog: `(action, roles, new owner or cascade)`.
pub const OWNED_BLOCK: &str = "$owned";

/// `REASSIGN OWNED BY` or `DROP OWNED BY`.
fn is_owned(parser: &Parser) -> bool {
    use sqlparser::tokenizer::Token;
    let [first, owned] = parser.peek_tokens::<2>();
    let reassign = bare_word(&first) == "REASSIGN";
    let drop = matches!(&first, Token::Word(w) if w.keyword == Keyword::DROP);
    (reassign || drop) && matches!(&owned, Token::Word(w) if w.keyword == Keyword::OWNED)
}

/// `REASSIGN OWNED BY role [, ...] TO role` / `DROP OWNED BY role [, ...] [CASCADE |
/// RESTRICT]`, which sqlparser does not read, carried as a CALL of [`OWNED_BLOCK`].
fn parse_owned(parser: &mut Parser) -> std::result::Result<ast::Statement, ParserError> {
    let reassign = !parser.parse_keyword(Keyword::DROP);
    if reassign {
        parser.next_token(); // REASSIGN
    }
    parser.expect_keywords(&[Keyword::OWNED, Keyword::BY])?;
    // Names fold to lower case unless quoted, as identifiers do.
    let name = |id: ast::Ident| match id.quote_style {
        None => id.value.to_lowercase(),
        Some(_) => id.value,
    };
    let roles = parser.parse_comma_separated(|p| p.parse_identifier())?;
    let names: Vec<String> = roles.into_iter().map(name).collect();
    let last = if reassign {
        parser.expect_keyword(Keyword::TO)?;
        name(parser.parse_identifier()?)
    } else if parser.parse_keyword(Keyword::CASCADE) {
        "cascade".into()
    } else {
        let _ = parser.parse_keyword(Keyword::RESTRICT);
        "restrict".into()
    };
    let quote = |s: &str| format!("'{}'", s.replace('\'', "''"));
    let action = if reassign { "reassign" } else { "drop" };
    let call = format!(
        "CALL pg_catalog.\"{OWNED_BLOCK}\"({}, {}, {})",
        quote(action),
        quote(&names.join(",")),
        quote(&last)
    );
    parse_one(&call).map_err(|e| ParserError::ParserError(e.message().to_string()))
}

fn is_do(parser: &Parser) -> bool {
    use sqlparser::tokenizer::Token;
    let [word, next] = parser.peek_tokens::<2>();
    matches!(&word, Token::Word(w) if w.quote_style.is_none() && w.keyword == Keyword::DO)
        && matches!(
            next,
            Token::SingleQuotedString(_)
                | Token::DollarQuotedString(_)
                | Token::EscapedStringLiteral(_)
                | Token::Word(_)
        )
}

/// `DO [LANGUAGE name] code [LANGUAGE name]`, carried as a CALL of [`DO_BLOCK`].
fn parse_do(parser: &mut Parser) -> std::result::Result<ast::Statement, ParserError> {
    use sqlparser::tokenizer::Token;
    parser.expect_keyword(Keyword::DO)?;
    let mut language = None;
    if parser.parse_keyword(Keyword::LANGUAGE) {
        language = Some(parser.parse_identifier()?.value);
    }
    let token = parser.next_token();
    let code = match token.token {
        Token::SingleQuotedString(s) | Token::EscapedStringLiteral(s) => s,
        Token::DollarQuotedString(d) => d.value,
        _ => return parser.expected("the code of the DO block as a string", token),
    };
    if language.is_none() && parser.parse_keyword(Keyword::LANGUAGE) {
        language = Some(parser.parse_identifier()?.value);
    }
    let quote = |s: &str| format!("'{}'", s.replace('\'', "''"));
    let language = language.unwrap_or_else(|| "plpgsql".into());
    let call = format!("CALL pg_catalog.\"{DO_BLOCK}\"({}, {})", quote(&code), quote(&language));
    parse_one(&call).map_err(|e| ParserError::ParserError(e.message().to_string()))
}

fn is_create_materialized_view(parser: &Parser) -> bool {
    use sqlparser::tokenizer::Token;
    let [create, materialized] = parser.peek_tokens::<2>();
    matches!(&create, Token::Word(w) if w.keyword == Keyword::CREATE)
        && matches!(&materialized, Token::Word(w) if w.keyword == Keyword::MATERIALIZED)
}

/// `CREATE [OR REPLACE] [TEMP | TEMPORARY] VIEW`.
fn is_create_view(parser: &Parser) -> bool {
    use sqlparser::tokenizer::Token;
    let tokens = parser.peek_tokens::<5>();
    let word = |t: &Token, k: Keyword| matches!(t, Token::Word(w) if w.keyword == k);
    let Some(mut i) = create_or_replace(&tokens) else { return false };
    if word(&tokens[i], Keyword::TEMP) || word(&tokens[i], Keyword::TEMPORARY) {
        i += 1;
    }
    word(&tokens[i], Keyword::VIEW)
}

/// Marks a view created WITH [CASCADED] CHECK OPTION (in the view's comment, which
/// PostgreSQL's syntax has no other use for).
pub const CASCADED_CHECK_OPTION_MARK: &str = "__oxibase_check_option_cascaded";
/// Marks a view created WITH LOCAL CHECK OPTION.
pub const LOCAL_CHECK_OPTION_MARK: &str = "__oxibase_check_option_local";

/// CREATE VIEW, with PostgreSQL's trailing `WITH [CASCADED | LOCAL] CHECK OPTION`, which
/// sqlparser does not read.
fn parse_create_view(parser: &mut Parser) -> std::result::Result<ast::Statement, ParserError> {
    parser.expect_keyword(Keyword::CREATE)?;
    let or_replace = parser.parse_keywords(&[Keyword::OR, Keyword::REPLACE]);
    let temporary = parser.parse_one_of_keywords(&[Keyword::TEMP, Keyword::TEMPORARY]).is_some();
    let mut view = parser.parse_create_view(false, or_replace, temporary, None)?;
    if parser.parse_keyword(Keyword::WITH) {
        let local = parser.parse_keyword(Keyword::LOCAL);
        if !local {
            let _ = parser.parse_keyword(Keyword::CASCADED);
        }
        parser.expect_keywords(&[Keyword::CHECK, Keyword::OPTION])?;
        let mark = if local { LOCAL_CHECK_OPTION_MARK } else { CASCADED_CHECK_OPTION_MARK };
        view.comment = Some(mark.into());
    }
    Ok(ast::Statement::CreateView(view))
}

/// Marks a CREATE MATERIALIZED VIEW written WITH NO DATA (in the view's comment, which
/// PostgreSQL's syntax has no other use for).
const WITH_NO_DATA_MARK: &str = "__oxibase_with_no_data";

/// CREATE MATERIALIZED VIEW, with PostgreSQL's trailing `WITH [NO] DATA`, which sqlparser
/// does not read.
fn parse_create_materialized_view(
    parser: &mut Parser,
) -> std::result::Result<ast::Statement, ParserError> {
    parser.expect_keyword(Keyword::CREATE)?;
    let mut view = parser.parse_create_view(false, false, false, None)?;
    if parser.parse_keywords(&[Keyword::WITH, Keyword::NO, Keyword::DATA]) {
        view.comment = Some(WITH_NO_DATA_MARK.into());
    } else {
        let _ = parser.parse_keywords(&[Keyword::WITH, Keyword::DATA]);
    }
    Ok(ast::Statement::CreateView(view))
}

/// True when a parsed CREATE MATERIALIZED VIEW said WITH NO DATA.
pub fn with_no_data(view: &ast::CreateView) -> bool {
    view.comment.as_deref() == Some(WITH_NO_DATA_MARK)
}

fn is_set_constraints(parser: &Parser) -> bool {
    use sqlparser::tokenizer::Token;
    let [set, constraints] = parser.peek_tokens::<2>();
    matches!(&set, Token::Word(w) if w.keyword == Keyword::SET)
        && bare_word(&constraints) == "CONSTRAINTS"
}

/// The variable a `SET CONSTRAINTS` statement is carried in (see [`parse_set_constraints`]).
pub const SET_CONSTRAINTS_MARK: &str = "__oxibase_set_constraints";

/// `SET CONSTRAINTS { ALL | name [, ...] } { DEFERRED | IMMEDIATE }`, which sqlparser does
/// not parse, carried as `SET __oxibase_set_constraints = mode, name, ...` (no names for
/// ALL) for the binder.
fn parse_set_constraints(parser: &mut Parser) -> std::result::Result<ast::Statement, ParserError> {
    parser.expect_keyword(Keyword::SET)?;
    parser.next_token(); // CONSTRAINTS
    let mut names = Vec::new();
    if !parser.parse_keyword(Keyword::ALL) {
        loop {
            let name = parser.parse_object_name(false)?;
            let parts = name.0.iter().filter_map(|p| p.as_ident().cloned()).collect();
            names.push(ast::Expr::CompoundIdentifier(parts));
            if !parser.consume_token(&sqlparser::tokenizer::Token::Comma) {
                break;
            }
        }
    }
    let mode = if parser.parse_keyword(Keyword::DEFERRED) {
        "deferred"
    } else if parser.parse_keyword(Keyword::IMMEDIATE) {
        "immediate"
    } else {
        return parser.expected("DEFERRED or IMMEDIATE", parser.peek_token());
    };
    let mut values = vec![ast::Expr::Identifier(ast::Ident::new(mode))];
    values.extend(names);
    Ok(ast::Statement::Set(ast::Set::SingleAssignment {
        scope: None,
        hivevar: false,
        variable: ast::ObjectName::from(vec![ast::Ident::new(SET_CONSTRAINTS_MARK)]),
        values,
    }))
}

/// `CHECKPOINT`, carried in sqlparser's AST as a VACUUM with Redshift's BOOST flag, which
/// PostgreSQL's VACUUM (see [`parse_vacuum`]) never sets.
fn checkpoint_statement() -> ast::Statement {
    ast::Statement::Vacuum(ast::VacuumStatement {
        full: false,
        sort_only: false,
        delete_only: false,
        reindex: false,
        recluster: false,
        table_name: None,
        threshold: None,
        boost: true,
    })
}

/// True when a parsed VACUUM was written as CHECKPOINT.
pub fn is_checkpoint_statement(v: &ast::VacuumStatement) -> bool {
    v.boost
}

fn parse_vacuum(parser: &mut Parser) -> std::result::Result<ast::Statement, ParserError> {
    parser.expect_keyword(Keyword::VACUUM)?;
    let mut full = false;
    loop {
        if parser.parse_keyword(Keyword::FULL) {
            full = true;
        } else if !(parser.parse_keyword(Keyword::FREEZE)
            || parser.parse_keyword(Keyword::VERBOSE)
            || parser.parse_keyword(Keyword::ANALYZE))
        {
            break;
        }
    }
    if parser.consume_token(&sqlparser::tokenizer::Token::LParen) {
        // (option [value], ...): accepted and ignored.
        let mut depth = 1;
        while depth > 0 {
            match parser.next_token().token {
                sqlparser::tokenizer::Token::LParen => depth += 1,
                sqlparser::tokenizer::Token::RParen => depth -= 1,
                sqlparser::tokenizer::Token::EOF => {
                    return parser.expected(")", parser.peek_token());
                }
                _ => {}
            }
        }
    }
    let mut table_name = None;
    if !matches!(
        parser.peek_token().token,
        sqlparser::tokenizer::Token::EOF | sqlparser::tokenizer::Token::SemiColon
    ) {
        let tables = parser.parse_comma_separated(|p| p.parse_object_name(false))?;
        table_name = tables.into_iter().next();
    }
    Ok(ast::Statement::Vacuum(ast::VacuumStatement {
        full,
        sort_only: false,
        delete_only: false,
        reindex: false,
        recluster: false,
        table_name,
        threshold: None,
        boost: false,
    }))
}

/// `Some(true)` before `MOVE`, `Some(false)` before `FETCH`.
fn fetch_or_move(parser: &Parser) -> Option<bool> {
    use sqlparser::tokenizer::Token;
    match parser.peek_token_ref().token {
        Token::Word(ref w) if w.quote_style.is_none() && w.keyword == Keyword::FETCH => Some(false),
        Token::Word(ref w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("move") => {
            Some(true)
        }
        _ => None,
    }
}

/// PostgreSQL's `FETCH [direction] [FROM | IN] cursor` and `MOVE` (the same, without rows;
/// marked with [`crate::session::MOVE_MARK`] as the target of INTO, which PostgreSQL's FETCH
/// has no use for). sqlparser's FETCH needs FROM or IN and reads no signed counts.
fn parse_fetch(
    parser: &mut Parser,
    moving: bool,
) -> std::result::Result<ast::Statement, ParserError> {
    use ast::FetchDirection as D;
    use sqlparser::tokenizer::Token;
    parser.next_token();
    let count = |parser: &mut Parser| -> std::result::Result<ast::ValueWithSpan, ParserError> {
        let negative = parser.consume_token(&Token::Minus);
        if !negative {
            let _ = parser.consume_token(&Token::Plus);
        }
        let mut value = parser.parse_number_value()?;
        if let ast::Value::Number(n, _) = &mut value.value
            && negative
        {
            n.insert(0, '-');
        }
        Ok(value)
    };
    let starts_count = |parser: &Parser| {
        matches!(parser.peek_token_ref().token, Token::Number(..) | Token::Minus | Token::Plus)
    };
    let direction = if parser.parse_keyword(Keyword::NEXT) {
        D::Next
    } else if parser.parse_keyword(Keyword::PRIOR) {
        D::Prior
    } else if parser.parse_keyword(Keyword::FIRST) {
        D::First
    } else if parser.parse_keyword(Keyword::LAST) {
        D::Last
    } else if parser.parse_keyword(Keyword::ABSOLUTE) {
        D::Absolute { limit: count(parser)? }
    } else if parser.parse_keyword(Keyword::RELATIVE) {
        D::Relative { limit: count(parser)? }
    } else if parser.parse_keyword(Keyword::ALL) {
        D::All
    } else if parser.parse_keyword(Keyword::FORWARD) {
        if parser.parse_keyword(Keyword::ALL) {
            D::ForwardAll
        } else if starts_count(parser) {
            D::Forward { limit: Some(count(parser)?) }
        } else {
            D::Forward { limit: None }
        }
    } else if parser.parse_keyword(Keyword::BACKWARD) {
        if parser.parse_keyword(Keyword::ALL) {
            D::BackwardAll
        } else if starts_count(parser) {
            D::Backward { limit: Some(count(parser)?) }
        } else {
            D::Backward { limit: None }
        }
    } else if starts_count(parser) {
        D::Count { limit: count(parser)? }
    } else {
        D::Next
    };
    let position = if parser.parse_keyword(Keyword::IN) {
        ast::FetchPosition::In
    } else {
        let _ = parser.parse_keyword(Keyword::FROM);
        ast::FetchPosition::From
    };
    let name = parser.parse_identifier()?;
    let into =
        moving.then(|| ast::ObjectName::from(vec![ast::Ident::new(crate::session::MOVE_MARK)]));
    Ok(ast::Statement::Fetch { name, direction, position, into })
}

/// The names a query's WITH clauses give (at any depth), which its relation names may be
/// rather than tables.
pub fn cte_names<V: ast::Visit>(query: &V) -> std::collections::HashSet<String> {
    struct CteNames(std::collections::HashSet<String>);
    impl ast::Visitor for CteNames {
        type Break = ();
        fn pre_visit_query(&mut self, q: &ast::Query) -> std::ops::ControlFlow<()> {
            if let Some(with) = &q.with {
                self.0.extend(with.cte_tables.iter().map(|c| crate::bind::ident(&c.alias.name)));
            }
            std::ops::ControlFlow::Continue(())
        }
    }
    let mut ctes = CteNames(Default::default());
    let _ = query.visit(&mut ctes);
    ctes.0
}

/// The relations a stored query (a view's, a materialized view's) names, as (schema if
/// given, name), CTE names left out; None when it no longer parses.
pub fn relations_read(sql: &str) -> Option<Vec<(Option<String>, String)>> {
    let statement = parse_one(sql).ok()?;
    let ctes = cte_names(&statement);
    let mut names = Vec::new();
    let _ = ast::visit_relations(&statement, |rel| {
        if let Ok((schema, name)) = crate::bind::split_name(rel)
            && (schema.is_some() || !ctes.contains(&name))
        {
            names.push((schema, name));
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    Some(names)
}

/// A default (of a column or a routine's parameter) as stored SQL text. sqlparser prints a
/// built-in type in a cast in capitals (`::TEXT`, `::REGCLASS`); PostgreSQL's spelling
/// keeps defaults as pg_get_expr and pg_dump show them the same after a dump is restored.
/// A type named by the user (`::app.mood`) is left as written.
pub fn default_sql(e: &ast::Expr) -> String {
    let mut e = e.clone();
    let _ = ast::visit_expressions_mut(&mut e, |x| {
        if let ast::Expr::Cast { data_type, .. } = x
            && !matches!(data_type, ast::DataType::Custom(..))
        {
            let spelled = data_type.to_string().to_lowercase();
            *data_type = ast::DataType::Custom(
                ast::ObjectName::from(vec![ast::Ident::new(spelled)]),
                Vec::new(),
            );
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    e.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_postgres_and_time_travel() {
        assert_eq!(parse("SELECT 1; SELECT $1::int").unwrap().len(), 2);
        let s =
            parse_one("SELECT * FROM t FOR SYSTEM_TIME AS OF '2024-01-01' WHERE x = 1").unwrap();
        assert!(s.to_string().contains("FOR SYSTEM_TIME AS OF"));
        assert!(parse_one("SELECT * FROM t FOR UPDATE SKIP LOCKED").is_ok());
        assert!(parse_one("SELECT x ~ 'a' , y::text[] FROM t").is_ok());
        let err = parse("SELEC 1").unwrap_err();
        assert_eq!(err.code(), oxibase_common::SqlState::SYNTAX_ERROR);
        assert_eq!(err.message(), "syntax error at or near \"SELEC\"");
        assert_eq!(parse("SELECT (").unwrap_err().message(), "syntax error at end of input");
    }
}
