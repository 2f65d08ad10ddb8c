//! The sqllogictest suite: every `tests/slt/*.slt` file, each against a fresh in-memory
//! database through the embedded [`Session`] API.
//!
//! Files whose first line is `# postgres-compatible` hold only PostgreSQL behaviour: their
//! expected output was produced by PostgreSQL, and they can be checked against it:
//!
//! ```text
//!   OXIBASE_SLT_POSTGRES=postgres://postgres@localhost:5499/slt cargo test -p oxibase-sql --test slt
//!       runs the PostgreSQL-compatible files against that server instead
//!   OXIBASE_SLT_COMPLETE=postgres://... OXIBASE_SLT_FILE=joins cargo test -p oxibase-sql --test slt
//!       rewrites a file's expected results with PostgreSQL's (for writing new tests)
//! ```
//!
//! `scripts/slt-postgres.sh` starts a throwaway local PostgreSQL and does the first.
//! `OXIBASE_SLT_KEEP_GOING=1` reports every failing record of a file instead of the first.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt;
use std::path::{Path, PathBuf};

use oxibase_common::{DataType, Value};
use oxibase_sql::types::datetime::Zone;
use oxibase_sql::types::text::format_value;
use oxibase_sql::{Database, LiteralLifting, Output, Session};
use sqllogictest::{DBOutput, DefaultColumnType};

#[derive(Debug)]
struct SltError {
    message: String,
    code: Option<String>,
}

impl fmt::Display for SltError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.code {
            Some(c) => write!(f, "{c}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for SltError {}

fn column_type(t: &DataType) -> DefaultColumnType {
    match t {
        DataType::Int2 | DataType::Int4 | DataType::Int8 => DefaultColumnType::Integer,
        DataType::Float4 | DataType::Float8 | DataType::Numeric(_) => {
            DefaultColumnType::FloatingPoint
        }
        _ => DefaultColumnType::Text,
    }
}

fn cell(v: Option<String>) -> String {
    match v {
        None => "NULL".into(),
        Some(s) if s.is_empty() => "(empty)".into(),
        Some(s) => s,
    }
}

/// Oxibase through the embedded API.
struct Oxibase {
    session: Session,
}

impl sqllogictest::DB for Oxibase {
    type Error = SltError;
    type ColumnType = DefaultColumnType;

    fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, SltError> {
        let output = self.session.execute(sql).map_err(|e| SltError {
            message: e.message().to_string(),
            code: Some(e.code().as_str().to_string()),
        })?;
        let zone: Zone = self.session.zone();
        Ok(match output {
            Output::Rows { columns, rows, tag }
                if tag.starts_with("SELECT")
                    || tag == "SHOW"
                    || tag == "EXPLAIN"
                    || !rows.is_empty()
                    || !columns.is_empty() =>
            {
                DBOutput::Rows {
                    types: columns.iter().map(|c| column_type(&c.data_type)).collect(),
                    rows: rows
                        .iter()
                        .map(|r| r.iter().map(|v: &Value| cell(format_value(v, &zone))).collect())
                        .collect(),
                }
            }
            other => DBOutput::StatementComplete(other.count()),
        })
    }

    fn engine_name(&self) -> &str {
        "oxibase"
    }

    fn error_sql_state(err: &SltError) -> Option<String> {
        err.code.clone()
    }
}

/// PostgreSQL over the wire, for checking PostgreSQL-compatible files.
struct Postgres {
    runtime: tokio::runtime::Runtime,
    client: tokio_postgres::Client,
}

impl Postgres {
    fn connect(url: &str) -> Postgres {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let client = runtime.block_on(async {
            let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                .await
                .expect("connect to PostgreSQL");
            tokio::spawn(connection);
            client
        });
        Postgres { runtime, client }
    }
}

fn pg_error(e: tokio_postgres::Error) -> SltError {
    match e.as_db_error() {
        Some(db) => {
            SltError { message: db.message().to_string(), code: Some(db.code().code().to_string()) }
        }
        None => SltError { message: e.to_string(), code: None },
    }
}

fn pg_column_type(t: &tokio_postgres::types::Type) -> DefaultColumnType {
    use tokio_postgres::types::Type;
    match *t {
        Type::INT2 | Type::INT4 | Type::INT8 => DefaultColumnType::Integer,
        Type::FLOAT4 | Type::FLOAT8 | Type::NUMERIC => DefaultColumnType::FloatingPoint,
        _ => DefaultColumnType::Text,
    }
}

impl sqllogictest::DB for Postgres {
    type Error = SltError;
    type ColumnType = DefaultColumnType;

    fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, SltError> {
        self.runtime.block_on(async {
            // The column types come from describing the statement (when it can be
            // described alone), the values from the simple protocol's text.
            let types = match self.client.prepare(sql).await {
                Ok(stmt) => Some(
                    stmt.columns().iter().map(|c| pg_column_type(c.type_())).collect::<Vec<_>>(),
                ),
                Err(_) => None,
            };
            let messages = self.client.simple_query(sql).await.map_err(pg_error)?;
            let mut rows = Vec::new();
            let mut count = 0;
            let mut has_rows = false;
            for m in messages {
                match m {
                    tokio_postgres::SimpleQueryMessage::Row(row) => {
                        rows.push(
                            (0..row.len()).map(|i| cell(row.get(i).map(str::to_string))).collect(),
                        );
                    }
                    tokio_postgres::SimpleQueryMessage::RowDescription(_) => has_rows = true,
                    tokio_postgres::SimpleQueryMessage::CommandComplete(n) => count = n,
                    _ => {}
                }
            }
            let types = types.filter(|t| !t.is_empty());
            Ok(match types {
                Some(types) => DBOutput::Rows { types, rows },
                None if has_rows => {
                    let width = rows.first().map_or(0, |r: &Vec<String>| r.len());
                    DBOutput::Rows { types: vec![DefaultColumnType::Any; width], rows }
                }
                None => DBOutput::StatementComplete(count),
            })
        })
    }

    fn engine_name(&self) -> &str {
        "postgres"
    }

    fn error_sql_state(err: &SltError) -> Option<String> {
        err.code.clone()
    }
}

fn files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/slt");
    let only = std::env::var("OXIBASE_SLT_FILE").ok();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "slt"))
        .filter(|p| {
            only.as_ref().is_none_or(|o| {
                p.file_stem().is_some_and(|s| s.to_string_lossy().contains(o.as_str()))
            })
        })
        .collect();
    files.sort();
    files
}

/// Completion writes errors as `statement error 42P01: <message>`; tests expect the
/// SQLSTATE only (`statement error (42P01)`), as messages are not part of the contract.
fn expect_sqlstates(path: &Path) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let mut rewritten = None;
        for kind in ["statement error ", "query error "] {
            if let Some(rest) = line.strip_prefix(kind)
                && rest.len() > 6
                && rest.as_bytes()[5] == b':'
                && rest[..5].bytes().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
            {
                rewritten = Some(format!("{kind}({})", &rest[..5]));
            }
        }
        out.push_str(rewritten.as_deref().unwrap_or(line));
        out.push('\n');
    }
    std::fs::write(path, out).unwrap();
}

fn postgres_compatible(path: &Path) -> bool {
    std::fs::read_to_string(path).unwrap().starts_with("# postgres-compatible")
}

/// PostgreSQL's database for a file: a fresh one per file, so files do not see each other.
fn fresh_pg_database(admin_url: &str, name: &str) -> String {
    let mut admin = Postgres::connect(admin_url);
    use sqllogictest::DB;
    let _ = admin.run(&format!("DROP DATABASE IF EXISTS {name}"));
    admin.run(&format!("CREATE DATABASE {name}")).unwrap();
    let base = admin_url.rsplit_once('/').map_or(admin_url, |(b, _)| b);
    format!("{base}/{name}")
}

#[test]
fn sqllogictest() {
    let pg = std::env::var("OXIBASE_SLT_POSTGRES").ok();
    let complete = std::env::var("OXIBASE_SLT_COMPLETE").ok();
    let mut failures = Vec::new();
    let mut ran = 0;
    for path in files() {
        let name = path.file_stem().unwrap().to_string_lossy().replace('-', "_");
        if let Some(url) = complete.as_ref() {
            if !postgres_compatible(&path) {
                continue;
            }
            let url = fresh_pg_database(url, &format!("slt_{name}"));
            let mut runner = sqllogictest::Runner::new(move || {
                let url = url.clone();
                async move { Ok(Postgres::connect(&url)) }
            });
            futures::executor::block_on(runner.update_test_file(
                &path,
                " ",
                sqllogictest::default_validator,
                sqllogictest::default_normalizer,
                sqllogictest::strict_column_validator,
            ))
            .unwrap_or_else(|e| panic!("completing {}: {e}", path.display()));
            expect_sqlstates(&path);
            ran += 1;
            continue;
        }
        let result = match pg.as_ref() {
            Some(url) => {
                if !postgres_compatible(&path) {
                    continue;
                }
                let url = fresh_pg_database(url, &format!("slt_{name}"));
                let mut runner = sqllogictest::Runner::new(move || {
                    let url = url.clone();
                    async move { Ok(Postgres::connect(&url)) }
                });
                runner.with_column_validator(sqllogictest::strict_column_validator);
                runner.run_file(&path)
            }
            None => {
                // One database per file; each `connection` of the file is a session of it.
                let db = Database::memory().unwrap();
                let mut runner = sqllogictest::Runner::new(move || {
                    let db = db.clone();
                    async move { Ok(Oxibase { session: db.session() }) }
                });
                runner.with_column_validator(sqllogictest::strict_column_validator);
                if std::env::var_os("OXIBASE_SLT_KEEP_GOING").is_some() {
                    // Every failing record of the file, not just the first (for triage).
                    let records = sqllogictest::parse_file(&path).unwrap();
                    let errors: Vec<String> = records
                        .into_iter()
                        .filter_map(|r| runner.run(r).err().map(|e| e.display(true).to_string()))
                        .collect();
                    ran += 1;
                    if !errors.is_empty() {
                        failures.push(format!("{}:\n{}", path.display(), errors.join("\n\n")));
                    }
                    continue;
                }
                runner.run_file(&path)
            }
        };
        ran += 1;
        if let Err(e) = result {
            failures.push(format!("{}:\n{}", path.display(), e.display(true)));
        }
    }
    assert!(ran > 0, "no sqllogictest files ran");
    assert!(
        failures.is_empty(),
        "{} of {ran} files failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// The suite again with every statement that can be lifted run lifted from its first time
/// (its integer literals turned into parameters of a plan shared with like texts): the
/// expected results are the same, so lifting changed no result, error or column type.
#[test]
fn sqllogictest_with_literals_lifted() {
    if std::env::var_os("OXIBASE_SLT_POSTGRES").is_some()
        || std::env::var_os("OXIBASE_SLT_COMPLETE").is_some()
    {
        return;
    }
    let mut failures = Vec::new();
    let mut lifted = 0;
    for path in files() {
        let db = Database::memory().unwrap();
        let sessions = db.clone();
        let mut runner = sqllogictest::Runner::new(move || {
            let mut session = sessions.session();
            session.set_literal_lifting(LiteralLifting::Always);
            async move { Ok(Oxibase { session }) }
        });
        runner.with_column_validator(sqllogictest::strict_column_validator);
        if let Err(e) = runner.run_file(&path) {
            failures.push(format!("{}:\n{}", path.display(), e.display(true)));
        }
        lifted += db.counters().lifted_statements.load(std::sync::atomic::Ordering::Relaxed);
    }
    assert!(failures.is_empty(), "with literals lifted:\n\n{}", failures.join("\n\n"));
    // Not vacuous: the files have many statements with integer literals.
    assert!(lifted > 300, "only {lifted} statements ran lifted");
}
