//! ALTER statements pg_dump writes that sqlparser does not read: `ALTER <object> ... OWNER
//! TO role` for every kind of object, `ALTER SEQUENCE`, and an identity's
//! `SEQUENCE NAME` option.
//!
//! OWNER TO is carried as an ALTER TABLE of ClickHouse's `ON CLUSTER` form naming the
//! object's kind (this dialect never parses ON CLUSTER), see [`owner_change`]. ALTER
//! SEQUENCE is carried as a CREATE SEQUENCE whose first option is a marker `CACHE`, see
//! [`alter_sequence`]. An identity's options with `SEQUENCE NAME n` are read here, the name
//! carried as `OWNED BY n`, see [`identity_sequence_name`].

use sqlparser::ast;
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::Token;

type ParseResult<T> = std::result::Result<T, ParserError>;

const OWNER_KINDS: &[&str] = &[
    "TABLE",
    "SEQUENCE",
    "VIEW",
    "MATERIALIZED VIEW",
    "INDEX",
    "TYPE",
    "DOMAIN",
    "SCHEMA",
    "FUNCTION",
    "PROCEDURE",
    "ROUTINE",
    "DATABASE",
];

/// `ALTER <kind> ... OWNER TO role` comes next.
pub(super) fn is_owner_change(parser: &Parser) -> bool {
    if !matches!(parser.peek_token().token, Token::Word(w) if w.keyword == Keyword::ALTER) {
        return false;
    }
    let mut words = Vec::new();
    for i in 0.. {
        match parser.peek_nth_token(i).token {
            Token::EOF | Token::SemiColon => break,
            Token::Word(w) if w.quote_style.is_none() => words.push(w.value.to_uppercase()),
            other => words.push(other.to_string()),
        }
    }
    let n = words.len();
    n >= 5 && words[n - 3] == "OWNER" && words[n - 2] == "TO"
}

/// Parses `ALTER <kind> [IF EXISTS] [ONLY] name [(args)] OWNER TO role`.
pub(super) fn parse_owner_change(parser: &mut Parser) -> ParseResult<ast::Statement> {
    parser.expect_keyword(Keyword::ALTER)?;
    let mut kind = parser.parse_identifier()?.value.to_uppercase();
    if kind == "MATERIALIZED" {
        parser.expect_keyword(Keyword::VIEW)?;
        kind = "MATERIALIZED VIEW".into();
    }
    if !OWNER_KINDS.contains(&kind.as_str()) {
        return parser.expected("an object kind before OWNER TO", parser.peek_token());
    }
    let if_exists = parser.parse_keywords(&[Keyword::IF, Keyword::EXISTS]);
    let _ = parser.parse_keyword(Keyword::ONLY);
    let name = parser.parse_object_name(false)?;
    if parser.consume_token(&Token::LParen) {
        // A routine's argument types: they name one routine where Oxibase has only one.
        let mut depth = 1;
        while depth > 0 {
            match parser.next_token().token {
                Token::LParen => depth += 1,
                Token::RParen => depth -= 1,
                Token::EOF => return parser.expected(")", parser.peek_token()),
                _ => {}
            }
        }
    }
    parser.expect_keywords(&[Keyword::OWNER, Keyword::TO])?;
    let owner = ast::Owner::Ident(parser.parse_identifier()?);
    Ok(ast::Statement::AlterTable(ast::AlterTable {
        name,
        if_exists,
        only: false,
        operations: vec![ast::AlterTableOperation::OwnerTo { new_owner: owner }],
        location: None,
        on_cluster: Some(ast::Ident::new(kind)),
        table_type: None,
        end_token: ast::helpers::attached_token::AttachedToken::empty(),
    }))
}

/// An OWNER TO of any object: (object kind, name, if exists, role).
pub fn owner_change(statement: &ast::Statement) -> Option<(&str, &ast::ObjectName, bool, String)> {
    let ast::Statement::AlterTable(alter) = statement else { return None };
    let [ast::AlterTableOperation::OwnerTo { new_owner }] = alter.operations.as_slice() else {
        return None;
    };
    let kind = alter.on_cluster.as_ref().map_or("TABLE", |k| k.value.as_str());
    let role = match new_owner {
        ast::Owner::Ident(id) if id.quote_style.is_some() => id.value.clone(),
        ast::Owner::Ident(id) => id.value.to_lowercase(),
        other => other.to_string().to_lowercase(),
    };
    Some((kind, &alter.name, alter.if_exists, role))
}

/// Marks a CREATE SEQUENCE that carries an ALTER SEQUENCE.
const ALTER_SEQUENCE_MARK: &str = "__oxibase_alter_sequence";
/// Marks RESTART [WITH n] among the options.
const RESTART_MARK: &str = "__oxibase_restart";
/// Marks RENAME TO name among the options.
const RENAME_MARK: &str = "__oxibase_rename";

/// `ALTER SEQUENCE ...` comes next (OWNER TO is read by [`parse_owner_change`]).
pub(super) fn is_alter_sequence(parser: &Parser) -> bool {
    let [a, b] = parser.peek_tokens::<2>();
    matches!(&a, Token::Word(w) if w.keyword == Keyword::ALTER)
        && matches!(&b, Token::Word(w) if w.keyword == Keyword::SEQUENCE)
}

fn mark(values: Vec<ast::Expr>) -> ast::SequenceOptions {
    ast::SequenceOptions::Cache(ast::Expr::Tuple(values))
}

fn word(w: &str) -> ast::Expr {
    ast::Expr::Identifier(ast::Ident::new(w))
}

/// One of CREATE SEQUENCE's options (but OWNED BY), if one comes next.
fn sequence_option(parser: &mut Parser) -> ParseResult<Option<ast::SequenceOptions>> {
    use ast::SequenceOptions as O;
    Ok(Some(if parser.parse_keyword(Keyword::AS) {
        O::DataType(parser.parse_data_type()?)
    } else if parser.parse_keyword(Keyword::INCREMENT) {
        let by = parser.parse_keyword(Keyword::BY);
        O::IncrementBy(parser.parse_expr()?, by)
    } else if parser.parse_keywords(&[Keyword::NO, Keyword::MINVALUE]) {
        O::MinValue(None)
    } else if parser.parse_keyword(Keyword::MINVALUE) {
        O::MinValue(Some(parser.parse_expr()?))
    } else if parser.parse_keywords(&[Keyword::NO, Keyword::MAXVALUE]) {
        O::MaxValue(None)
    } else if parser.parse_keyword(Keyword::MAXVALUE) {
        O::MaxValue(Some(parser.parse_expr()?))
    } else if parser.parse_keyword(Keyword::START) {
        let with = parser.parse_keyword(Keyword::WITH);
        O::StartWith(parser.parse_expr()?, with)
    } else if parser.parse_keyword(Keyword::CACHE) {
        O::Cache(parser.parse_expr()?)
    } else if parser.parse_keywords(&[Keyword::NO, Keyword::CYCLE]) {
        O::Cycle(true)
    } else if parser.parse_keyword(Keyword::CYCLE) {
        O::Cycle(false)
    } else {
        return Ok(None);
    }))
}

/// `ALTER SEQUENCE [IF EXISTS] name` with CREATE SEQUENCE's options, `RESTART [[WITH] n]`
/// and `OWNED BY`, or `RENAME TO name`.
pub(super) fn parse_alter_sequence(parser: &mut Parser) -> ParseResult<ast::Statement> {
    parser.expect_keywords(&[Keyword::ALTER, Keyword::SEQUENCE])?;
    let if_exists = parser.parse_keywords(&[Keyword::IF, Keyword::EXISTS]);
    let name = parser.parse_object_name(false)?;
    let mut options = vec![mark(vec![word(ALTER_SEQUENCE_MARK)])];
    if parser.parse_keywords(&[Keyword::RENAME, Keyword::TO]) {
        let new = parser.parse_identifier()?;
        options.push(mark(vec![word(RENAME_MARK), ast::Expr::Identifier(new)]));
    } else {
        loop {
            if parser.parse_keyword(Keyword::RESTART) {
                let mut values = vec![word(RESTART_MARK)];
                let with = parser.parse_keyword(Keyword::WITH);
                if with || matches!(parser.peek_token().token, Token::Number(..) | Token::Minus) {
                    values.push(parser.parse_expr()?);
                }
                options.push(mark(values));
            } else if parser.parse_keywords(&[Keyword::OWNED, Keyword::BY]) {
                let owner = parser.parse_object_name(false)?;
                let none = owner.to_string().eq_ignore_ascii_case("none");
                options.push(ast::SequenceOptions::OwnedBy((!none).then_some(owner)));
            } else if let Some(option) = sequence_option(parser)? {
                options.push(option);
            } else {
                break;
            }
        }
        if options.len() == 1 {
            return parser
                .expected("a sequence option after ALTER SEQUENCE name", parser.peek_token());
        }
    }
    Ok(ast::Statement::CreateSequence {
        temporary: false,
        if_not_exists: if_exists,
        name,
        sequence_options: options,
    })
}

/// What an ALTER SEQUENCE changes, read back from its carrier.
#[derive(Debug, Default)]
pub struct AlterSequence {
    /// The options it sets (CREATE SEQUENCE's, OWNED BY included).
    pub options: Vec<ast::SequenceOptions>,
    /// RESTART: Some(None) restarts at the start value, Some(Some(n)) at n.
    pub restart: Option<Option<ast::Expr>>,
    /// RENAME TO
    pub rename: Option<ast::Ident>,
}

/// The ALTER SEQUENCE a CREATE SEQUENCE carries, if it carries one (IF EXISTS is its
/// `if_not_exists`).
pub fn alter_sequence(options: &[ast::SequenceOptions]) -> Option<AlterSequence> {
    let is_mark = |o: &ast::SequenceOptions, m: &str| matches!(o, ast::SequenceOptions::Cache(ast::Expr::Tuple(v)) if matches!(v.first(), Some(ast::Expr::Identifier(id)) if id.value == m));
    if !options.first().is_some_and(|o| is_mark(o, ALTER_SEQUENCE_MARK)) {
        return None;
    }
    let mut alter = AlterSequence::default();
    for o in &options[1..] {
        match o {
            ast::SequenceOptions::Cache(ast::Expr::Tuple(v)) if is_mark(o, RESTART_MARK) => {
                alter.restart = Some(v.get(1).cloned());
            }
            ast::SequenceOptions::Cache(ast::Expr::Tuple(v)) if is_mark(o, RENAME_MARK) => {
                if let Some(ast::Expr::Identifier(id)) = v.get(1) {
                    alter.rename = Some(id.clone());
                }
            }
            other => alter.options.push(other.clone()),
        }
    }
    Some(alter)
}

/// `ALTER TABLE ... ADD GENERATED ... AS IDENTITY (... SEQUENCE NAME name ...)` comes next
/// (as pg_dump writes an identity column; sqlparser reads no SEQUENCE NAME).
pub(super) fn is_identity_with_sequence_name(parser: &Parser) -> bool {
    let [alter, table] = parser.peek_tokens::<2>();
    if !(matches!(&alter, Token::Word(w) if w.keyword == Keyword::ALTER)
        && matches!(&table, Token::Word(w) if w.keyword == Keyword::TABLE))
    {
        return false;
    }
    let mut previous = None;
    for i in 0.. {
        let token = parser.peek_nth_token(i).token;
        match &token {
            Token::EOF | Token::SemiColon => return false,
            Token::Word(w) if w.value.eq_ignore_ascii_case("name") => {
                if matches!(&previous, Some(Token::Word(p)) if p.keyword == Keyword::SEQUENCE) {
                    return true;
                }
            }
            _ => {}
        }
        previous = Some(token);
    }
    false
}

/// `ALTER TABLE [IF EXISTS] [ONLY] t ALTER [COLUMN] c ADD GENERATED { ALWAYS | BY DEFAULT }
/// AS IDENTITY (options)`, where the options may say `SEQUENCE NAME n`: carried as the
/// identity's options with `OWNED BY n` (which identity options cannot say otherwise), see
/// [`identity_sequence_name`].
pub(super) fn parse_identity_with_sequence_name(
    parser: &mut Parser,
) -> ParseResult<ast::Statement> {
    parser.expect_keywords(&[Keyword::ALTER, Keyword::TABLE])?;
    let if_exists = parser.parse_keywords(&[Keyword::IF, Keyword::EXISTS]);
    let only = parser.parse_keyword(Keyword::ONLY);
    let name = parser.parse_object_name(false)?;
    parser.expect_keyword(Keyword::ALTER)?;
    let _ = parser.parse_keyword(Keyword::COLUMN);
    let column_name = parser.parse_identifier()?;
    parser.expect_keywords(&[Keyword::ADD, Keyword::GENERATED])?;
    let generated_as = if parser.parse_keyword(Keyword::ALWAYS) {
        ast::GeneratedAs::Always
    } else {
        parser.expect_keywords(&[Keyword::BY, Keyword::DEFAULT])?;
        ast::GeneratedAs::ByDefault
    };
    parser.expect_keywords(&[Keyword::AS, Keyword::IDENTITY])?;
    parser.expect_token(&Token::LParen)?;
    let mut options = Vec::new();
    loop {
        if parser.parse_keyword(Keyword::SEQUENCE) {
            let word = parser.parse_identifier()?;
            if !word.value.eq_ignore_ascii_case("name") {
                return parser.expected("NAME after SEQUENCE", parser.peek_token());
            }
            options.push(ast::SequenceOptions::OwnedBy(Some(parser.parse_object_name(false)?)));
        } else if let Some(option) = sequence_option(parser)? {
            options.push(option);
        } else {
            break;
        }
    }
    parser.expect_token(&Token::RParen)?;
    let op = ast::AlterColumnOperation::AddGenerated {
        generated_as: Some(generated_as),
        sequence_options: Some(options),
    };
    Ok(ast::Statement::AlterTable(ast::AlterTable {
        name,
        if_exists,
        only,
        operations: vec![ast::AlterTableOperation::AlterColumn { column_name, op }],
        location: None,
        on_cluster: None,
        table_type: None,
        end_token: ast::helpers::attached_token::AttachedToken::empty(),
    }))
}

/// The sequence name an identity's options give (`SEQUENCE NAME`, carried as OWNED BY).
pub fn identity_sequence_name(options: &[ast::SequenceOptions]) -> Option<ast::ObjectName> {
    options.iter().find_map(|o| match o {
        ast::SequenceOptions::OwnedBy(Some(name)) => Some(name.clone()),
        _ => None,
    })
}

/// The option name `ALTER COLUMN c SET STATISTICS n` travels as (see
/// [`normalize_set_statistics`]).
pub const STATISTICS_OPTION: &str = "__oxibase_statistics";

/// `ALTER TABLE ... ALTER [COLUMN] c SET STATISTICS n`, which sqlparser does not read,
/// travels as the column option `OPTIONS (__oxibase_statistics 'n')`. On tokens; None
/// when nothing changed.
pub(super) fn normalize_set_statistics(
    sql: &str,
    dialect: &super::OxibaseDialect,
) -> Option<String> {
    if !super::mentions(sql, "STATISTICS") || !super::mentions(sql, "ALTER") {
        return None;
    }
    let (mut tokens, ranges) = super::tokens_of(sql, dialect)?;
    let original = tokens.clone();
    let words: Vec<usize> =
        (0..tokens.len()).filter(|&i| !matches!(tokens[i], Token::Whitespace(_))).collect();
    let upper = super::bare_word;
    let mut changed = false;
    for k in 0..words.len().saturating_sub(2) {
        let w = &words[k..];
        if upper(&tokens[w[0]]) != "SET" || upper(&tokens[w[1]]) != "STATISTICS" {
            continue;
        }
        // The target: a number, or a minus sign and a number.
        let (number, last) = match (&tokens[w[2]], w.get(3).map(|&i| &tokens[i])) {
            (Token::Number(n, _), _) => (n.clone(), w[2]),
            (Token::Minus, Some(Token::Number(n, _))) => (format!("-{n}"), w[3]),
            _ => continue,
        };
        let replacement = format!("OPTIONS ({STATISTICS_OPTION} '{number}')");
        for t in &mut tokens[w[0]..=last] {
            *t = Token::Whitespace(sqlparser::tokenizer::Whitespace::Space);
        }
        tokens[w[0]] = Token::make_word(&replacement, None);
        changed = true;
    }
    changed.then(|| super::render_tokens(sql, &original, &ranges, &tokens))
}

/// Marks a column name that carries COMMENT ON CONSTRAINT's constraint (see
/// [`normalize_comment_on_table_object`]).
pub const CONSTRAINT_COMMENT_MARK: &str = "__oxibase_constraint__";
/// Marks a column name that carries COMMENT ON TRIGGER's trigger.
pub const TRIGGER_COMMENT_MARK: &str = "__oxibase_trigger__";

/// `COMMENT ON CONSTRAINT name ON table IS ...` and `COMMENT ON TRIGGER name ON table IS
/// ...`, which sqlparser does not read, travel as a COMMENT ON COLUMN of the table whose
/// column name is the object's name after a mark. On tokens; None when nothing changed.
pub(super) fn normalize_comment_on_table_object(
    sql: &str,
    dialect: &super::OxibaseDialect,
) -> Option<String> {
    if !super::mentions(sql, "comment") {
        return None;
    }
    let (mut tokens, ranges) = super::tokens_of(sql, dialect)?;
    let original = tokens.clone();
    let words: Vec<usize> =
        (0..tokens.len()).filter(|&i| !matches!(tokens[i], Token::Whitespace(_))).collect();
    let upper = |i: usize| super::bare_word(&tokens[i]);
    let mut edits = Vec::new();
    for (k, w) in words.windows(5).enumerate() {
        let mark = match upper(w[2]).as_str() {
            "CONSTRAINT" => CONSTRAINT_COMMENT_MARK,
            "TRIGGER" => TRIGGER_COMMENT_MARK,
            _ => continue,
        };
        if upper(w[0]) != "COMMENT" || upper(w[1]) != "ON" || upper(w[4]) != "ON" {
            continue;
        }
        let Token::Word(name) = &tokens[w[3]] else { continue };
        let name =
            if name.quote_style.is_some() { name.value.clone() } else { name.value.to_lowercase() };
        // The table's name runs from after the second ON up to IS.
        let Some(is) = words[k + 5..].iter().copied().find(|&i| upper(i) == "IS") else {
            continue;
        };
        edits.push((w[2], w[4], is, format!("{mark}{name}")));
    }
    if edits.is_empty() {
        return None;
    }
    for (kind, on, is, column) in edits.into_iter().rev() {
        let table =
            super::render_tokens(sql, &original[on + 1..], &ranges[on + 1..], &tokens[on + 1..is]);
        let replacement =
            format!("COLUMN {}.{} ", table.trim(), Token::make_word(&column, Some('"')));
        for t in &mut tokens[kind..is] {
            *t = Token::Whitespace(sqlparser::tokenizer::Whitespace::Space);
        }
        tokens[kind] = Token::make_word(&replacement, None);
    }
    Some(super::render_tokens(sql, &original, &ranges, &tokens))
}

/// `COMMENT ON FUNCTION | PROCEDURE | ROUTINE name(argument types) IS ...`: sqlparser takes
/// no argument list there. Oxibase has one routine per name, so the list is dropped (on
/// tokens; None when there is nothing to rewrite).
pub(super) fn normalize_comment_on_routine(
    sql: &str,
    dialect: &super::OxibaseDialect,
) -> Option<String> {
    if !super::mentions(sql, "comment") {
        return None;
    }
    let (mut tokens, ranges) = super::tokens_of(sql, dialect)?;
    let original = tokens.clone();
    let words: Vec<(usize, String)> = tokens
        .iter()
        .enumerate()
        .filter(|(_, t)| !matches!(t, Token::Whitespace(_)))
        .map(|(i, t)| (i, t.to_string().to_uppercase()))
        .collect();
    let mut changed = false;
    for w in words.windows(3) {
        let routine = matches!(w[2].1.as_str(), "FUNCTION" | "PROCEDURE" | "ROUTINE");
        if !(w[0].1 == "COMMENT" && w[1].1 == "ON" && routine) {
            continue;
        }
        // The name's tokens, then the argument list up to its closing parenthesis.
        let Some(open) = (w[2].0 + 1..tokens.len()).find(|&i| tokens[i] == Token::LParen) else {
            continue;
        };
        let mut depth = 0;
        for token in tokens.iter_mut().skip(open) {
            match token {
                Token::LParen => depth += 1,
                Token::RParen => depth -= 1,
                _ => {}
            }
            *token = Token::Whitespace(sqlparser::tokenizer::Whitespace::Space);
            if depth == 0 {
                break;
            }
        }
        changed = true;
    }
    changed.then(|| super::render_tokens(sql, &original, &ranges, &tokens))
}

/// `ALTER TYPE name ADD | DROP | ALTER | RENAME ATTRIBUTE ...` comes next.
pub(super) fn is_alter_type_attributes(parser: &Parser) -> bool {
    let word = |i: usize| super::bare_word(&parser.peek_nth_token_ref(i).token);
    if word(0) != "ALTER" || word(1) != "TYPE" {
        return false;
    }
    // The name: words with periods between.
    let mut i = 2;
    while matches!(parser.peek_nth_token_ref(i + 1).token, Token::Period) {
        i += 2;
    }
    matches!(word(i + 1).as_str(), "ADD" | "DROP" | "ALTER" | "RENAME")
        && word(i + 2) == "ATTRIBUTE"
}

/// Consumes `keyword ATTRIBUTE` (ATTRIBUTE is no keyword of sqlparser's) if it comes next.
fn keyword_attribute(parser: &mut Parser, keyword: Keyword) -> bool {
    let [a, b] = parser.peek_tokens::<2>();
    let found =
        matches!(&a, Token::Word(w) if w.keyword == keyword) && super::bare_word(&b) == "ATTRIBUTE";
    if found {
        parser.next_token();
        parser.next_token();
    }
    found
}

/// True when a parsed ALTER TABLE was written as ALTER TYPE ... ATTRIBUTE (see
/// [`parse_alter_type_attributes`]).
pub fn is_alter_type_attributes_statement(alter: &ast::AlterTable) -> bool {
    alter.table_type == Some(ast::AlterTableType::External)
}

/// Parses ALTER TYPE's attribute actions on a composite type: `ADD ATTRIBUTE a type
/// [COLLATE c]`, `DROP ATTRIBUTE [IF EXISTS] a`, `ALTER ATTRIBUTE a [SET DATA] TYPE type
/// [COLLATE c]` (several, comma-separated) or `RENAME ATTRIBUTE a TO b`, each with an
/// optional CASCADE or RESTRICT (which reach typed tables in PostgreSQL; there are none
/// here). Carried as the column actions of an ALTER TABLE marked as Snowflake's EXTERNAL.
pub(super) fn parse_alter_type_attributes(parser: &mut Parser) -> ParseResult<ast::Statement> {
    use ast::AlterTableOperation as Op;
    parser.expect_keywords(&[Keyword::ALTER, Keyword::TYPE])?;
    let name = parser.parse_object_name(false)?;
    let behavior =
        |p: &mut Parser| match p.parse_one_of_keywords(&[Keyword::CASCADE, Keyword::RESTRICT]) {
            Some(Keyword::CASCADE) => Some(ast::DropBehavior::Cascade),
            Some(_) => Some(ast::DropBehavior::Restrict),
            None => None,
        };
    let collation = |p: &mut Parser| -> ParseResult<Vec<ast::ColumnOptionDef>> {
        Ok(if p.parse_keyword(Keyword::COLLATE) {
            vec![ast::ColumnOptionDef {
                name: None,
                option: ast::ColumnOption::Collation(p.parse_object_name(false)?),
            }]
        } else {
            vec![]
        })
    };
    let operations = if keyword_attribute(parser, Keyword::RENAME) {
        let old_column_name = parser.parse_identifier()?;
        parser.expect_keyword(Keyword::TO)?;
        let new_column_name = parser.parse_identifier()?;
        behavior(parser);
        vec![Op::RenameColumn { old_column_name, new_column_name }]
    } else {
        parser.parse_comma_separated(|p| {
            let op = if keyword_attribute(p, Keyword::ADD) {
                let name = p.parse_identifier()?;
                let data_type = p.parse_data_type()?;
                let options = collation(p)?;
                Op::AddColumn {
                    column_keyword: true,
                    if_not_exists: false,
                    column_def: ast::ColumnDef { name, data_type, options },
                    column_position: None,
                }
            } else if keyword_attribute(p, Keyword::DROP) {
                let if_exists = p.parse_keywords(&[Keyword::IF, Keyword::EXISTS]);
                Op::DropColumn {
                    has_column_keyword: true,
                    column_names: vec![p.parse_identifier()?],
                    if_exists,
                    drop_behavior: None,
                }
            } else if keyword_attribute(p, Keyword::ALTER) {
                let column_name = p.parse_identifier()?;
                let had_set = p.parse_keywords(&[Keyword::SET, Keyword::DATA]);
                p.expect_keyword(Keyword::TYPE)?;
                let data_type = p.parse_data_type()?;
                // A COLLATE travels in USING (which ALTER ATTRIBUTE does not have), as the
                // collation's name for the binder to check.
                let using = match collation(p)?.pop() {
                    Some(ast::ColumnOptionDef {
                        option: ast::ColumnOption::Collation(c), ..
                    }) => Some(ast::Expr::Identifier(ast::Ident::new(c.to_string()))),
                    _ => None,
                };
                Op::AlterColumn {
                    column_name,
                    op: ast::AlterColumnOperation::SetDataType { data_type, using, had_set },
                }
            } else {
                return p
                    .expected("ADD ATTRIBUTE, DROP ATTRIBUTE or ALTER ATTRIBUTE", p.peek_token());
            };
            behavior(p);
            Ok(op)
        })?
    };
    Ok(ast::Statement::AlterTable(ast::AlterTable {
        name,
        if_exists: false,
        only: false,
        operations,
        location: None,
        on_cluster: None,
        table_type: Some(ast::AlterTableType::External),
        end_token: ast::helpers::attached_token::AttachedToken::empty(),
    }))
}
