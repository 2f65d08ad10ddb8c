//! The desired schema: SQL DDL or YAML text into the [`Schema`] model.
//!
//! Both formats end as a list of DDL statements with the line each came from. They run, in
//! a private in-memory database, through the same DDL code as any CREATE statement, and
//! that database's catalog is read with [`model::read`], the function that reads the live
//! one: normalisation (type names, defaults, constraint names) is the engine's own, so the
//! two sides compare exactly. Unlike tools that diff against a scratch server, this costs
//! no second process: the scratch database lives for one plan, in memory.
//!
//! Renames are never guessed: `-- oxibase:renamed_from <old>` on (or just above) a column
//! or a `CREATE TABLE` line, or a `renamed_from:` key in YAML, says so.

use std::collections::BTreeMap;

use oxibase_common::{Error, Result, SqlState, errinput};
use oxibase_sql::Database;
use serde::Deserialize;
use serde_saphyr::Spanned;
use sqlparser::ast;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::tokenizer::{Token, Tokenizer, Whitespace};

use crate::model::{self, QName, Schema, normalize_ident};
use crate::plan::quote;

/// One DDL statement of the desired schema and where it came from.
#[derive(Clone, Debug)]
pub struct SourceStatement {
    /// The statement.
    pub sql: String,
    /// Its first line in the source.
    pub line: usize,
}

/// Explicit renames: new name to old name.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Renames {
    /// Tables: new (schema, name) to the old name (same schema).
    pub tables: BTreeMap<QName, String>,
    /// Columns: (table as named in the desired schema, new column) to the old column.
    pub columns: BTreeMap<(QName, String), String>,
}

/// The desired schema, read and normalised.
#[derive(Clone, Debug)]
pub struct Desired {
    /// The model.
    pub schema: Schema,
    /// Rename directives.
    pub renames: Renames,
}

/// The input formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// SQL DDL.
    Sql,
    /// YAML.
    Yaml,
}

impl Format {
    /// The format named by `format`, or guessed from the source name and the text.
    pub fn choose(format: Option<&str>, source: &str, text: &str) -> Result<Format> {
        match format {
            Some("sql") => return Ok(Format::Sql),
            Some("yaml" | "yml") => return Ok(Format::Yaml),
            Some(other) => {
                return Err(errinput!(
                    INVALID_PARAMETER_VALUE,
                    "unknown desired schema format \"{other}\""
                )
                .with_hint("Use sql or yaml."));
            }
            None => {}
        }
        let lower = source.to_lowercase();
        if lower.ends_with(".yaml") || lower.ends_with(".yml") {
            return Ok(Format::Yaml);
        }
        if lower.ends_with(".sql") {
            return Ok(Format::Sql);
        }
        // YAML documents start with a mapping key the model knows.
        let first = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with("--"));
        Ok(match first {
            Some(l) if l == "---" || l.split(':').next().is_some_and(is_yaml_section) => {
                Format::Yaml
            }
            _ => Format::Sql,
        })
    }
}

fn is_yaml_section(key: &str) -> bool {
    matches!(
        key.trim(),
        "tables" | "indexes" | "views" | "sequences" | "functions" | "procedures" | "schemas"
    )
}

/// Reads a desired schema. `runtime` compiles the routines it defines (the live database's).
pub fn read(
    text: &str,
    source: &str,
    format: Format,
    runtime: Option<std::sync::Arc<dyn oxibase_sql::ProcedureRuntime>>,
) -> Result<Desired> {
    let (statements, renames) = match format {
        Format::Sql => split_sql(text, source)?,
        Format::Yaml => yaml_statements(text, source)?,
    };
    let db = Database::memory()?;
    if let Some(runtime) = runtime {
        db.set_procedure_runtime(runtime);
    }
    run_statements(&db, &statements, source)?;
    let mut session = db.session();
    let schema = session.within_transaction(model::read)?;
    check_renames(&schema, &renames, &statements, source)?;
    Ok(Desired { schema, renames })
}

/// An error located in the source: `file:line: message`, with the SQLSTATE kept.
pub fn located(source: &str, line: usize, error: &Error) -> Error {
    let mut out =
        Error::new(error.kind(), error.code(), format!("{source}:{line}: {}", error.message()));
    if let Some(detail) = error.detail() {
        out = out.with_detail(detail.to_string());
    }
    if let Some(hint) = error.hint() {
        out = out.with_hint(hint.to_string());
    }
    out
}

/// Runs the statements in order; one that names an object defined further down is retried
/// after the others, so a file need not be sorted by dependency.
fn run_statements(db: &Database, statements: &[SourceStatement], source: &str) -> Result<()> {
    let mut session = db.session();
    let mut pending: Vec<&SourceStatement> = statements.iter().collect();
    loop {
        let mut failed: Vec<(&SourceStatement, Error)> = Vec::new();
        let before = pending.len();
        for statement in pending {
            if let Err(e) = session.execute(&statement.sql) {
                if is_missing_object(&e) {
                    failed.push((statement, e));
                } else {
                    return Err(located(source, error_line(statement, &e), &e));
                }
            }
        }
        if failed.is_empty() {
            return Ok(());
        }
        if failed.len() == before {
            let (statement, e) = &failed[0];
            return Err(located(source, error_line(statement, e), e));
        }
        pending = failed.into_iter().map(|(s, _)| s).collect();
    }
}

fn is_missing_object(e: &Error) -> bool {
    matches!(
        e.code(),
        SqlState::UNDEFINED_TABLE
            | SqlState::UNDEFINED_FUNCTION
            | SqlState::UNDEFINED_OBJECT
            | SqlState::INVALID_SCHEMA_NAME
            | SqlState::UNDEFINED_COLUMN
            | SqlState::INVALID_FOREIGN_KEY
    )
}

/// The source line an error points at: the parser's line within the statement, if given.
fn error_line(statement: &SourceStatement, e: &Error) -> usize {
    let within = e
        .detail()
        .and_then(|d| d.split("Line: ").nth(1))
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse::<usize>().ok());
    match within {
        Some(n) if n >= 1 => statement.line + n - 1,
        _ => statement.line,
    }
}

/// Splits SQL text into statements (on top-level semicolons, as the tokenizer sees them:
/// not inside strings, dollar quotes or comments) and collects rename directives.
fn split_sql(text: &str, source: &str) -> Result<(Vec<SourceStatement>, Renames)> {
    let dialect = PostgreSqlDialect {};
    let tokens = Tokenizer::new(&dialect, text).tokenize_with_location().map_err(|e| {
        let line = e.location.line.max(1) as usize;
        errinput!(SYNTAX_ERROR, "{source}:{line}: {}", e.message)
    })?;
    let starts = line_starts(text);
    let offset = |line: u64, column: u64| -> usize {
        let start = starts.get(line.saturating_sub(1) as usize).copied().unwrap_or(text.len());
        text[start..]
            .char_indices()
            .nth(column.saturating_sub(1) as usize)
            .map_or(text.len(), |(i, _)| start + i)
    };
    let mut statements = Vec::new();
    let mut directives: Vec<(usize, String)> = Vec::new();
    let mut begin: Option<(usize, usize)> = None;
    for token in &tokens {
        match &token.token {
            Token::Whitespace(Whitespace::SingleLineComment { comment, .. }) => {
                if let Some(rest) = comment.trim().strip_prefix("oxibase:") {
                    let line = token.span.start.line as usize;
                    let mut words = rest.split_whitespace();
                    match (words.next(), words.next(), words.next()) {
                        (Some("renamed_from"), Some(old), None) => {
                            directives.push((line, old.trim_matches('"').to_string()))
                        }
                        _ => {
                            return Err(errinput!(
                                SYNTAX_ERROR,
                                "{source}:{line}: unknown directive \"oxibase:{}\"",
                                rest.trim()
                            )
                            .with_hint("The directive is: -- oxibase:renamed_from <old name>"));
                        }
                    }
                }
            }
            Token::Whitespace(_) => {}
            Token::SemiColon => {
                if let Some((at, line)) = begin.take() {
                    let end = offset(token.span.start.line, token.span.start.column);
                    statements.push(SourceStatement { sql: text[at..end].to_string(), line });
                }
            }
            _ => {
                if begin.is_none() {
                    begin = Some((
                        offset(token.span.start.line, token.span.start.column),
                        token.span.start.line as usize,
                    ));
                }
            }
        }
    }
    if let Some((at, line)) = begin {
        statements.push(SourceStatement { sql: text[at..].to_string(), line });
    }
    for statement in &statements {
        check_statement_kind(statement, source)?;
    }
    let renames = attach_directives(&statements, &directives, source)?;
    Ok((statements, renames))
}

fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect()
}

/// Only statements that define objects describe a desired schema.
fn check_statement_kind(statement: &SourceStatement, source: &str) -> Result<()> {
    let parsed = oxibase_sql::parse::parse(&statement.sql)
        .map_err(|e| located(source, error_line(statement, &e), &e))?;
    for s in &parsed {
        if matches!(s, ast::Statement::CreateView(v) if v.materialized) {
            return Err(errinput!(
                FEATURE_NOT_SUPPORTED,
                "{source}:{}: materialized views are not managed by oxibase migrate",
                statement.line
            )
            .with_hint("Create them after the migration; a plan leaves existing ones alone."));
        }
        let domain = matches!(s, ast::Statement::CreateDomain(_))
            || matches!(s, ast::Statement::AlterTable(a) if oxibase_sql::parse::is_alter_domain(a));
        if domain {
            return Err(errinput!(
                FEATURE_NOT_SUPPORTED,
                "{source}:{}: domains are not managed by oxibase migrate yet",
                statement.line
            )
            .with_hint(
                "Create domains before the migration, with psql; a plan leaves them alone.",
            ));
        }
        let composite = matches!(
            s,
            ast::Statement::CreateType {
                representation: Some(ast::UserDefinedTypeRepresentation::Composite { .. }),
                ..
            }
        ) || matches!(s, ast::Statement::AlterTable(a) if oxibase_sql::parse::is_alter_type_attributes_statement(a));
        if composite {
            return Err(errinput!(
                FEATURE_NOT_SUPPORTED,
                "{source}:{}: composite types are not managed by oxibase migrate yet",
                statement.line
            )
            .with_hint(
                "Create composite types before the migration, with psql; a plan leaves them alone.",
            ));
        }
        let ok = matches!(
            s,
            ast::Statement::CreateTable(_)
                | ast::Statement::CreateIndex(_)
                | ast::Statement::CreateView(_)
                | ast::Statement::CreateSequence { .. }
                | ast::Statement::CreateFunction(_)
                | ast::Statement::CreateProcedure { .. }
                | ast::Statement::CreateSchema { .. }
                | ast::Statement::CreateType { .. }
                | ast::Statement::AlterTable(_)
                | ast::Statement::Comment { .. }
        );
        if !ok {
            let word = statement.sql.split_whitespace().next().unwrap_or("").to_uppercase();
            return Err(errinput!(
                FEATURE_NOT_SUPPORTED,
                "{source}:{}: a desired schema holds definitions, not {word} statements",
                statement.line
            )
            .with_hint(
                "Use CREATE TABLE/INDEX/VIEW/SEQUENCE/FUNCTION/PROCEDURE/SCHEMA/TYPE and ALTER TABLE.",
            ));
        }
    }
    Ok(())
}

/// Attaches each `renamed_from` directive to the column on its line, the CREATE TABLE
/// starting on or just after its line, or the column on the next line.
fn attach_directives(
    statements: &[SourceStatement],
    directives: &[(usize, String)],
    source: &str,
) -> Result<Renames> {
    let mut renames = Renames::default();
    if directives.is_empty() {
        return Ok(renames);
    }
    // Parsed once: the CREATE TABLE statements directives can attach to.
    let tables: Vec<(&SourceStatement, ast::CreateTable)> = statements
        .iter()
        .filter_map(|s| match oxibase_sql::parse::parse(&s.sql).ok()?.into_iter().next()? {
            ast::Statement::CreateTable(ct) => Some((s, ct)),
            _ => None,
        })
        .collect();
    'directive: for (line, old) in directives {
        for (statement, ct) in &tables {
            let table = table_name(&ct.name);
            let last_line = statement.line + statement.sql.lines().count();
            if *line + 1 < statement.line || *line > last_line {
                continue;
            }
            let column_line =
                |c: &ast::ColumnDef| statement.line + c.name.span.start.line as usize - 1;
            if let Some(c) = ct.columns.iter().find(|c| column_line(c) == *line) {
                renames.columns.insert((table, normalize_ident(&c.name)), old.clone());
                continue 'directive;
            }
            if *line <= statement.line {
                renames.tables.insert(table, old.clone());
                continue 'directive;
            }
            if let Some(c) = ct.columns.iter().find(|c| column_line(c) == *line + 1) {
                renames.columns.insert((table, normalize_ident(&c.name)), old.clone());
                continue 'directive;
            }
        }
        return Err(errinput!(
            SYNTAX_ERROR,
            "{source}:{line}: \"oxibase:renamed_from {old}\" is not on or above a column or a CREATE TABLE"
        ));
    }
    Ok(renames)
}

fn table_name(name: &ast::ObjectName) -> QName {
    let parts: Vec<String> =
        name.0.iter().filter_map(|p| p.as_ident().map(normalize_ident)).collect();
    match parts.as_slice() {
        [schema, table] => (schema.clone(), table.clone()),
        [.., table] => ("public".to_string(), table.clone()),
        [] => ("public".to_string(), String::new()),
    }
}

/// A rename must name its target in the desired schema.
fn check_renames(
    schema: &Schema,
    renames: &Renames,
    statements: &[SourceStatement],
    source: &str,
) -> Result<()> {
    let line_of =
        |name: &str| statements.iter().find(|s| s.sql.contains(name)).map_or(1, |s| s.line);
    for ((table, column), old) in &renames.columns {
        let Some(t) = schema.tables.get(table) else { continue };
        if t.column(column).is_none() {
            return Err(errinput!(
                UNDEFINED_COLUMN,
                "{source}:{}: column \"{column}\" (renamed from \"{old}\") is not in table \"{}\"",
                line_of(column),
                table.1
            ));
        }
    }
    Ok(())
}

// ---- YAML ----

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct YamlSchema {
    #[serde(default)]
    schemas: Vec<Spanned<String>>,
    #[serde(default)]
    enums: Vec<YamlEnum>,
    #[serde(default)]
    sequences: Vec<YamlSequence>,
    #[serde(default)]
    tables: Vec<YamlTable>,
    #[serde(default)]
    indexes: Vec<YamlIndex>,
    #[serde(default)]
    views: Vec<YamlView>,
    #[serde(default)]
    functions: Vec<YamlRoutine>,
    #[serde(default)]
    procedures: Vec<YamlRoutine>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct YamlTable {
    name: Spanned<String>,
    schema: Option<String>,
    renamed_from: Option<String>,
    columns: Vec<YamlColumn>,
    primary_key: Option<Vec<String>>,
    #[serde(default)]
    unique: Vec<Vec<String>>,
    #[serde(default)]
    checks: Vec<YamlCheck>,
    #[serde(default)]
    foreign_keys: Vec<YamlForeignKey>,
    #[serde(default)]
    indexes: Vec<YamlIndex>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum YamlScalar {
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
}

impl YamlScalar {
    /// A default as SQL: numbers and booleans as literals, strings as SQL expressions.
    fn sql(&self) -> String {
        match self {
            YamlScalar::Bool(b) => b.to_string(),
            YamlScalar::Int(i) => i.to_string(),
            YamlScalar::Float(f) => f.to_string(),
            YamlScalar::Text(s) => s.clone(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct YamlColumn {
    name: Spanned<String>,
    #[serde(rename = "type")]
    data_type: String,
    #[serde(default)]
    not_null: bool,
    default: Option<YamlScalar>,
    identity: Option<String>,
    /// GENERATED ALWAYS AS (this expression) STORED.
    generated: Option<String>,
    #[serde(default)]
    primary_key: bool,
    #[serde(default)]
    unique: bool,
    references: Option<String>,
    check: Option<String>,
    renamed_from: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct YamlCheck {
    name: Option<String>,
    expr: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct YamlForeignKey {
    name: Option<String>,
    columns: Spanned<Vec<String>>,
    references: YamlReference,
    on_delete: Option<String>,
    on_update: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct YamlReference {
    table: String,
    #[serde(default)]
    columns: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct YamlIndex {
    name: Option<String>,
    table: Option<String>,
    columns: Spanned<Vec<String>>,
    #[serde(default)]
    unique: bool,
    /// A partial index's predicate.
    #[serde(default, rename = "where")]
    predicate: Option<String>,
    /// The access method (`gin`); btree when omitted.
    using: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct YamlView {
    name: Spanned<String>,
    schema: Option<String>,
    query: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct YamlEnum {
    name: Spanned<String>,
    schema: Option<String>,
    values: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct YamlSequence {
    name: Spanned<String>,
    schema: Option<String>,
    start: Option<i64>,
    increment: Option<i64>,
    min: Option<i64>,
    max: Option<i64>,
    #[serde(default)]
    cycle: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct YamlRoutine {
    name: Spanned<String>,
    schema: Option<String>,
    #[serde(default)]
    args: Vec<YamlArg>,
    returns: Option<String>,
    language: String,
    body: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct YamlArg {
    name: String,
    #[serde(rename = "type")]
    data_type: String,
}

/// YAML to DDL statements, each with the line of the entry it came from.
fn yaml_statements(text: &str, source: &str) -> Result<(Vec<SourceStatement>, Renames)> {
    let doc: YamlSchema = if text.trim().is_empty() {
        YamlSchema::default()
    } else {
        serde_saphyr::from_str(text).map_err(|e| {
            let line = e.location().map_or(1, |l| l.line().max(1));
            let message = e.to_string();
            let first = message.lines().next().unwrap_or(&message);
            // "error: line 6 column 9: unknown field": the line is said once, up front.
            let first = first.strip_prefix("error: ").unwrap_or(first);
            let first = match first.split_once(": ") {
                Some((place, rest)) if place.starts_with("line ") => rest,
                _ => first,
            };
            errinput!(INVALID_PARAMETER_VALUE, "{source}:{line}: {first}")
                .with_hint("See docs/migrate.md for the YAML schema format.")
        })?
    };
    let mut out = Vec::new();
    let mut renames = Renames::default();
    let line = |s: &Spanned<String>| s.referenced.line() as usize;
    let qualified = |schema: &Option<String>, name: &str| match schema {
        Some(s) => format!("{}.{}", quote(s), quote(name)),
        None => quote(name),
    };
    for s in &doc.schemas {
        out.push(SourceStatement {
            sql: format!("CREATE SCHEMA {}", quote(&s.value)),
            line: line(s),
        });
    }
    for e in &doc.enums {
        let labels: Vec<String> = e.values.iter().map(|v| crate::plan::literal(v)).collect();
        out.push(SourceStatement {
            sql: format!(
                "CREATE TYPE {} AS ENUM ({})",
                qualified(&e.schema, &e.name.value),
                labels.join(", ")
            ),
            line: line(&e.name),
        });
    }
    for s in &doc.sequences {
        let mut sql = format!("CREATE SEQUENCE {}", qualified(&s.schema, &s.name.value));
        for (word, value) in [
            ("INCREMENT BY", s.increment),
            ("MINVALUE", s.min),
            ("MAXVALUE", s.max),
            ("START WITH", s.start),
        ] {
            if let Some(v) = value {
                sql.push_str(&format!(" {word} {v}"));
            }
        }
        if s.cycle {
            sql.push_str(" CYCLE");
        }
        out.push(SourceStatement { sql, line: line(&s.name) });
    }
    for t in &doc.tables {
        let name = qualified(&t.schema, &t.name.value);
        let qname = (t.schema.clone().unwrap_or_else(|| "public".into()), t.name.value.clone());
        if let Some(old) = &t.renamed_from {
            renames.tables.insert(qname.clone(), old.clone());
        }
        let mut parts = Vec::new();
        for c in &t.columns {
            let mut def = format!("{} {}", quote(&c.name.value), c.data_type);
            match c.identity.as_deref() {
                None => {}
                Some("always") => def.push_str(" GENERATED ALWAYS AS IDENTITY"),
                Some("by default" | "by_default") => {
                    def.push_str(" GENERATED BY DEFAULT AS IDENTITY")
                }
                Some(other) => {
                    return Err(errinput!(
                        INVALID_PARAMETER_VALUE,
                        "{source}:{}: identity must be \"always\" or \"by default\", not \"{other}\"",
                        line(&c.name)
                    ));
                }
            }
            if c.not_null {
                def.push_str(" NOT NULL");
            }
            if let Some(d) = &c.default {
                def.push_str(&format!(" DEFAULT {}", d.sql()));
            }
            if let Some(g) = &c.generated {
                def.push_str(&format!(" GENERATED ALWAYS AS ({g}) STORED"));
            }
            if c.primary_key {
                def.push_str(" PRIMARY KEY");
            }
            if c.unique {
                def.push_str(" UNIQUE");
            }
            if let Some(r) = &c.references {
                def.push_str(&format!(" REFERENCES {r}"));
            }
            if let Some(check) = &c.check {
                def.push_str(&format!(" CHECK ({check})"));
            }
            if let Some(old) = &c.renamed_from {
                renames.columns.insert((qname.clone(), c.name.value.clone()), old.clone());
            }
            parts.push(def);
        }
        if let Some(pk) = &t.primary_key {
            parts.push(format!("PRIMARY KEY ({})", idents(pk)));
        }
        for u in &t.unique {
            parts.push(format!("UNIQUE ({})", idents(u)));
        }
        for c in &t.checks {
            let named = c.name.as_ref().map(|n| format!("CONSTRAINT {} ", quote(n)));
            parts.push(format!("{}CHECK ({})", named.unwrap_or_default(), c.expr.value));
        }
        out.push(SourceStatement {
            sql: format!("CREATE TABLE {name} ({})", parts.join(", ")),
            line: line(&t.name),
        });
        for fk in &t.foreign_keys {
            let named = fk.name.as_ref().map(|n| format!("CONSTRAINT {} ", quote(n)));
            let mut sql = format!(
                "ALTER TABLE {name} ADD {}FOREIGN KEY ({}) REFERENCES {}",
                named.unwrap_or_default(),
                idents(&fk.columns.value),
                fk.references.table
            );
            if !fk.references.columns.is_empty() {
                sql.push_str(&format!(" ({})", idents(&fk.references.columns)));
            }
            for (word, action) in [("ON DELETE", &fk.on_delete), ("ON UPDATE", &fk.on_update)] {
                if let Some(a) = action {
                    sql.push_str(&format!(" {word} {a}"));
                }
            }
            out.push(SourceStatement { sql, line: fk.columns.referenced.line() as usize });
        }
        for index in &t.indexes {
            out.push(index_statement(index, Some(&name), source)?);
        }
    }
    for index in &doc.indexes {
        out.push(index_statement(index, None, source)?);
    }
    for v in &doc.views {
        out.push(SourceStatement {
            sql: format!("CREATE VIEW {} AS {}", qualified(&v.schema, &v.name.value), v.query),
            line: line(&v.name),
        });
    }
    for (kind, routines) in [("FUNCTION", &doc.functions), ("PROCEDURE", &doc.procedures)] {
        for r in routines {
            let args: Vec<String> =
                r.args.iter().map(|a| format!("{} {}", quote(&a.name), a.data_type)).collect();
            let returns = r.returns.as_ref().map(|t| format!(" RETURNS {t}")).unwrap_or_default();
            out.push(SourceStatement {
                sql: format!(
                    "CREATE {kind} {}({}){returns} LANGUAGE {} AS {}",
                    qualified(&r.schema, &r.name.value),
                    args.join(", "),
                    r.language,
                    crate::plan::dollar_quote(&r.body)
                ),
                line: line(&r.name),
            });
        }
    }
    Ok((out, renames))
}

fn index_statement(
    index: &YamlIndex,
    table: Option<&str>,
    source: &str,
) -> Result<SourceStatement> {
    let line = index.columns.referenced.line() as usize;
    let table = match (table, &index.table) {
        (_, Some(t)) => t.clone(),
        (Some(t), None) => t.to_string(),
        (None, None) => {
            return Err(errinput!(
                INVALID_PARAMETER_VALUE,
                "{source}:{line}: an index under indexes: needs a table:"
            ));
        }
    };
    let name = index.name.as_ref().map(|n| format!("{} ", quote(n))).unwrap_or_default();
    let unique = if index.unique { "UNIQUE " } else { "" };
    Ok(SourceStatement {
        sql: format!(
            "CREATE {unique}INDEX {name}ON {table}{} ({}){}",
            index.using.as_ref().map(|m| format!(" USING {m}")).unwrap_or_default(),
            index.columns.value.join(", "),
            index.predicate.as_ref().map(|p| format!(" WHERE {p}")).unwrap_or_default()
        ),
        line,
    })
}

fn idents(names: &[String]) -> String {
    names.iter().map(|n| quote(n)).collect::<Vec<_>>().join(", ")
}
