//! `CREATE DOMAIN`, `ALTER DOMAIN` and `DROP DOMAIN`, read here rather than by sqlparser
//! (which requires `AS`, reads no `NOT NULL` / `NULL` constraint, has no ALTER DOMAIN and
//! takes one name to DROP).
//!
//! All are carried in sqlparser's AST: CREATE DOMAIN as its `CreateDomain`, with `NOT NULL`
//! and `NULL` as CHECK constraints marked `NO INHERIT` (which a domain's CHECK cannot say),
//! see [`null_constraint`]; ALTER DOMAIN as an ALTER TABLE of the Snowflake-only "dynamic"
//! kind, which this dialect never parses, see [`is_alter_domain`], with the domain's
//! NOT NULL and DEFAULT changes as changes to a column named `value`; DROP DOMAIN as DROP
//! TYPE, which drops domains too (as in PostgreSQL).

use sqlparser::ast;
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::Token;

type ParseResult<T> = std::result::Result<T, ParserError>;

fn starts_with(parser: &Parser, first: Keyword) -> bool {
    let [a, b] = parser.peek_tokens::<2>();
    matches!(&a, Token::Word(w) if w.keyword == first)
        && matches!(&b, Token::Word(w) if w.keyword == Keyword::DOMAIN)
}

/// `CREATE DOMAIN ...` comes next.
pub(super) fn is_create_domain(parser: &Parser) -> bool {
    starts_with(parser, Keyword::CREATE)
}

/// `ALTER DOMAIN ...` comes next.
pub(super) fn is_alter_domain_statement(parser: &Parser) -> bool {
    starts_with(parser, Keyword::ALTER)
}

/// `DROP DOMAIN ...` comes next.
pub(super) fn is_drop_domain(parser: &Parser) -> bool {
    starts_with(parser, Keyword::DROP)
}

/// `DROP DOMAIN [IF EXISTS] name [, ...] [CASCADE | RESTRICT]` (sqlparser reads one name),
/// carried as DROP TYPE, which drops domains too, marked with Hive's PURGE (see
/// [`is_drop_domain_statement`]) for the command tag.
pub(super) fn parse_drop_domain(parser: &mut Parser) -> ParseResult<ast::Statement> {
    parser.expect_keywords(&[Keyword::DROP, Keyword::DOMAIN])?;
    let if_exists = parser.parse_keywords(&[Keyword::IF, Keyword::EXISTS]);
    let names = parser.parse_comma_separated(|p| p.parse_object_name(false))?;
    let cascade = parser.parse_keyword(Keyword::CASCADE);
    let restrict = !cascade && parser.parse_keyword(Keyword::RESTRICT);
    Ok(ast::Statement::Drop {
        object_type: ast::ObjectType::Type,
        if_exists,
        names,
        cascade,
        restrict,
        purge: true,
        temporary: false,
        table: None,
    })
}

/// True when a parsed DROP was written as DROP DOMAIN.
pub fn is_drop_domain_statement(statement: &ast::Statement) -> bool {
    matches!(
        statement,
        ast::Statement::Drop { object_type: ast::ObjectType::Type, purge: true, .. }
    )
}

/// True when a parsed ALTER TABLE was written as ALTER DOMAIN.
pub fn is_alter_domain(alter: &ast::AlterTable) -> bool {
    alter.table_type == Some(ast::AlterTableType::Dynamic)
}

/// For a domain constraint: `Some(true)` for NOT NULL, `Some(false)` for NULL, None for a
/// CHECK.
pub fn null_constraint(c: &ast::TableConstraint) -> Option<bool> {
    match c {
        ast::TableConstraint::Check(check) if check.no_inherit => {
            Some(matches!(*check.expr, ast::Expr::IsNotNull(_)))
        }
        _ => None,
    }
}

fn value_ident() -> Box<ast::Expr> {
    Box::new(ast::Expr::Identifier(ast::Ident::new("VALUE")))
}

/// `[CONSTRAINT name] { NOT NULL | NULL | CHECK (expr) }`, if one comes next.
fn domain_constraint(parser: &mut Parser) -> ParseResult<Option<ast::TableConstraint>> {
    let name = if parser.parse_keyword(Keyword::CONSTRAINT) {
        Some(parser.parse_identifier()?)
    } else {
        None
    };
    let null = |name, not_null: bool| {
        let expr = if not_null {
            ast::Expr::IsNotNull(value_ident())
        } else {
            ast::Expr::IsNull(value_ident())
        };
        ast::TableConstraint::Check(ast::CheckConstraint {
            name,
            expr: Box::new(expr),
            no_inherit: true,
            enforced: None,
        })
    };
    if parser.parse_keywords(&[Keyword::NOT, Keyword::NULL]) {
        return Ok(Some(null(name, true)));
    }
    if parser.parse_keyword(Keyword::NULL) {
        return Ok(Some(null(name, false)));
    }
    if parser.parse_keyword(Keyword::CHECK) {
        parser.expect_token(&Token::LParen)?;
        let expr = parser.parse_expr()?;
        parser.expect_token(&Token::RParen)?;
        return Ok(Some(ast::TableConstraint::Check(ast::CheckConstraint {
            name,
            expr: Box::new(expr),
            no_inherit: false,
            enforced: None,
        })));
    }
    match name {
        Some(_) => parser.expected("NOT NULL, NULL or CHECK", parser.peek_token()),
        None => Ok(None),
    }
}

/// `CREATE DOMAIN name [AS] type [COLLATE c] [DEFAULT expr] [constraint ...]`, the clauses
/// after the type in any order.
pub(super) fn parse_create_domain(parser: &mut Parser) -> ParseResult<ast::Statement> {
    parser.expect_keywords(&[Keyword::CREATE, Keyword::DOMAIN])?;
    let name = parser.parse_object_name(false)?;
    let _ = parser.parse_keyword(Keyword::AS);
    let data_type = parser.parse_data_type()?;
    let mut domain =
        ast::CreateDomain { name, data_type, collation: None, default: None, constraints: vec![] };
    loop {
        if parser.parse_keyword(Keyword::COLLATE) {
            domain.collation = Some(parser.parse_identifier()?);
        } else if parser.parse_keyword(Keyword::DEFAULT) {
            if domain.default.is_some() {
                return Err(ParserError::ParserError("multiple default expressions".into()));
            }
            domain.default = Some(parser.parse_expr()?);
        } else if let Some(c) = domain_constraint(parser)? {
            domain.constraints.push(c);
        } else {
            break;
        }
    }
    Ok(ast::Statement::CreateDomain(domain))
}

/// `ALTER DOMAIN name action`: SET DEFAULT / DROP DEFAULT, SET / DROP NOT NULL,
/// ADD constraint [NOT VALID], DROP CONSTRAINT [IF EXISTS] name [RESTRICT | CASCADE],
/// RENAME CONSTRAINT a TO b, RENAME TO name, VALIDATE CONSTRAINT name.
pub(super) fn parse_alter_domain(parser: &mut Parser) -> ParseResult<ast::Statement> {
    use ast::AlterTableOperation as Op;
    parser.expect_keywords(&[Keyword::ALTER, Keyword::DOMAIN])?;
    let name = parser.parse_object_name(false)?;
    let column = |op| Op::AlterColumn { column_name: ast::Ident::new("value"), op };
    let operation = if parser.parse_keywords(&[Keyword::SET, Keyword::DEFAULT]) {
        column(ast::AlterColumnOperation::SetDefault { value: parser.parse_expr()? })
    } else if parser.parse_keywords(&[Keyword::DROP, Keyword::DEFAULT]) {
        column(ast::AlterColumnOperation::DropDefault)
    } else if parser.parse_keywords(&[Keyword::SET, Keyword::NOT, Keyword::NULL]) {
        column(ast::AlterColumnOperation::SetNotNull)
    } else if parser.parse_keywords(&[Keyword::DROP, Keyword::NOT, Keyword::NULL]) {
        column(ast::AlterColumnOperation::DropNotNull)
    } else if parser.parse_keyword(Keyword::ADD) {
        let Some(constraint) = domain_constraint(parser)? else {
            return parser.expected("a domain constraint", parser.peek_token());
        };
        let not_valid = parser.parse_keywords(&[Keyword::NOT, Keyword::VALID]);
        Op::AddConstraint { constraint, not_valid }
    } else if parser.parse_keywords(&[Keyword::DROP, Keyword::CONSTRAINT]) {
        let if_exists = parser.parse_keywords(&[Keyword::IF, Keyword::EXISTS]);
        let name = parser.parse_identifier()?;
        let drop_behavior = if parser.parse_keyword(Keyword::CASCADE) {
            Some(ast::DropBehavior::Cascade)
        } else if parser.parse_keyword(Keyword::RESTRICT) {
            Some(ast::DropBehavior::Restrict)
        } else {
            None
        };
        Op::DropConstraint { if_exists, name, drop_behavior }
    } else if parser.parse_keywords(&[Keyword::RENAME, Keyword::CONSTRAINT]) {
        let old_name = parser.parse_identifier()?;
        parser.expect_keyword(Keyword::TO)?;
        Op::RenameConstraint { old_name, new_name: parser.parse_identifier()? }
    } else if parser.parse_keywords(&[Keyword::RENAME, Keyword::TO]) {
        let new = parser.parse_identifier()?;
        Op::RenameTable {
            table_name: ast::RenameTableNameKind::To(ast::ObjectName::from(vec![new])),
        }
    } else if parser.parse_keywords(&[Keyword::VALIDATE, Keyword::CONSTRAINT]) {
        Op::ValidateConstraint { name: parser.parse_identifier()? }
    } else {
        return parser.expected(
            "SET, DROP, ADD, RENAME or VALIDATE after ALTER DOMAIN name",
            parser.peek_token(),
        );
    };
    Ok(ast::Statement::AlterTable(ast::AlterTable {
        name,
        if_exists: false,
        only: false,
        operations: vec![operation],
        location: None,
        on_cluster: None,
        table_type: Some(ast::AlterTableType::Dynamic),
        end_token: ast::helpers::attached_token::AttachedToken::empty(),
    }))
}
