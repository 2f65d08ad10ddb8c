//! A text-level SQL connection: statements in, results as text out, over a server
//! (tokio-postgres, simple query protocol) or an embedded database (a `Session`). Used by
//! the TUI and by `oxibase sql`.

use oxibase_common::{Error, ErrorKind, Result, SqlState, errinput};
use oxibase_sql::types::text::format_value;

/// One statement's result, as text.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TextResult {
    /// Column names (none for a statement without rows).
    pub columns: Vec<String>,
    /// Rows, NULL as `None`.
    pub rows: Vec<Vec<Option<String>>>,
    /// The command tag (`SELECT 3`, `OK 1`).
    pub tag: String,
    /// Notices the statement raised, as `SEVERITY: message` (embedded only).
    pub notices: Vec<String>,
}

/// Runs SQL and answers in text: what the TUI needs of a database.
pub trait Source {
    /// Runs the statements of `sql` (a simple query) and returns one result per statement.
    fn run(&mut self, sql: &str) -> Result<Vec<TextResult>>;

    /// Where this source is connected, for the title bar.
    fn describe(&self) -> String;

    /// Runs one statement and returns its result (the last one, for several).
    fn query(&mut self, sql: &str) -> Result<TextResult> {
        Ok(self.run(sql)?.pop().unwrap_or_default())
    }
}

/// A connection to a server or an embedded database.
pub enum Connection {
    /// A session on a database opened in this process.
    Embedded(Box<oxibase_sql::Session>),
    /// A server, through tokio-postgres on a runtime of its own.
    #[allow(missing_docs)]
    Remote { url: String, runtime: Box<tokio::runtime::Runtime>, client: tokio_postgres::Client },
}

impl Connection {
    /// Connects to a server.
    pub fn remote(url: &str) -> Result<Connection> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| errinput!(IO_ERROR, "{e}"))?;
        let client = connect(&runtime, url)?;
        Ok(Connection::Remote { url: url.to_string(), runtime: Box::new(runtime), client })
    }

    /// Runs SQL; a remote connection that was lost is re-established once first (the
    /// statement is not retried after a failure mid-way: it may have run).
    pub fn run(&mut self, sql: &str) -> Result<Vec<TextResult>> {
        match self {
            Connection::Embedded(session) => run_embedded(session, sql),
            Connection::Remote { url, runtime, client } => {
                if client.is_closed() {
                    *client = connect(runtime, url).map_err(|e| {
                        errinput!(
                            CONNECTION_FAILURE,
                            "the connection was lost and could not be re-established: {}",
                            e.message()
                        )
                    })?;
                }
                runtime.block_on(run_remote(client, sql))
            }
        }
    }
}

impl Source for Connection {
    fn run(&mut self, sql: &str) -> Result<Vec<TextResult>> {
        Connection::run(self, sql)
    }

    fn describe(&self) -> String {
        match self {
            Connection::Embedded(_) => "embedded".to_string(),
            Connection::Remote { url, .. } => redact(url),
        }
    }
}

/// A URL without its password.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let user = &url[scheme + 3..at];
            let user = user.split(':').next().unwrap_or(user);
            format!("{}{user}{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_string(),
    }
}

fn connect(runtime: &tokio::runtime::Runtime, url: &str) -> Result<tokio_postgres::Client> {
    runtime.block_on(async {
        let (client, connection) =
            tokio_postgres::connect(url, tokio_postgres::NoTls).await.map_err(remote_error)?;
        tokio::spawn(connection);
        Ok(client)
    })
}

fn run_embedded(session: &mut oxibase_sql::Session, sql: &str) -> Result<Vec<TextResult>> {
    let mut out = Vec::new();
    for r in session.run_batch(sql) {
        let r = r?;
        // NB: after the batch, so a SET TIME ZONE in it shows in its results.
        let zone = session.zone();
        let notices: Vec<String> = session
            .take_notices()
            .into_iter()
            .map(|n| format!("{}: {}", n.severity, n.message))
            .collect();
        out.push(match r {
            oxibase_sql::Output::Rows { columns, rows, tag } => TextResult {
                columns: columns.into_iter().map(|c| c.name).collect(),
                rows: rows
                    .iter()
                    .map(|r| r.iter().map(|v| format_value(v, &zone)).collect())
                    .collect(),
                tag,
                notices,
            },
            oxibase_sql::Output::CopyIn(_) => {
                return Err(errinput!(
                    FEATURE_NOT_SUPPORTED,
                    "COPY FROM STDIN is not available here; use INSERT or a client like psql"
                ));
            }
            other => TextResult { tag: other.tag().to_string(), notices, ..Default::default() },
        });
    }
    Ok(out)
}

async fn run_remote(client: &tokio_postgres::Client, sql: &str) -> Result<Vec<TextResult>> {
    use tokio_postgres::SimpleQueryMessage as M;
    let messages = client.simple_query(sql).await.map_err(remote_error)?;
    let mut out = Vec::new();
    let mut current: Option<TextResult> = None;
    for m in messages {
        match m {
            M::RowDescription(cols) => {
                let columns = cols.iter().map(|c| c.name().to_string()).collect();
                current = Some(TextResult { columns, ..Default::default() });
            }
            M::Row(row) => {
                let r = current.get_or_insert_with(|| TextResult {
                    columns: row.columns().iter().map(|c| c.name().to_string()).collect(),
                    ..Default::default()
                });
                r.rows.push((0..row.len()).map(|i| row.get(i).map(str::to_string)).collect());
            }
            M::CommandComplete(n) => {
                let mut r = current.take().unwrap_or_default();
                r.tag =
                    if r.columns.is_empty() { format!("OK {n}") } else { format!("SELECT {n}") };
                out.push(r);
            }
            _ => {}
        }
    }
    Ok(out)
}

/// A server's error as Oxibase's error, keeping its SQLSTATE, detail, hint and position.
pub fn remote_error(e: tokio_postgres::Error) -> Error {
    match e.as_db_error() {
        Some(db) => {
            let mut err = Error::new(
                ErrorKind::InvalidInput,
                SqlState::new(db.code().code().as_bytes().try_into().unwrap_or(b"XX000")),
                db.message().to_string(),
            );
            let position = match db.position() {
                Some(tokio_postgres::error::ErrorPosition::Original(p)) => Some(*p),
                _ => None,
            };
            match (db.detail(), position) {
                (Some(d), Some(p)) => err = err.with_detail(format!("{d} (at character {p})")),
                (Some(d), None) => err = err.with_detail(d.to_string()),
                (None, Some(p)) => err = err.with_detail(format!("at character {p}")),
                (None, None) => {}
            }
            if let Some(h) = db.hint() {
                err = err.with_hint(h.to_string());
            }
            err
        }
        None => {
            // tokio-postgres's own text ("error connecting to server") leaves out the cause.
            let mut message = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(cause) = source {
                message.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            errinput!(CONNECTION_FAILURE, "{message}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_not_shown() {
        assert_eq!(redact("postgres://ann:secret@h:5433/db"), "postgres://ann@h:5433/db");
        assert_eq!(redact("postgres://ann@h/db"), "postgres://ann@h/db");
        assert_eq!(redact("postgres://h/db"), "postgres://h/db");
    }

    #[test]
    fn a_failed_connection_says_why() {
        // Port 0 cannot be connected to: the operating system's reason must be in the message.
        let Err(err) = Connection::remote("host=127.0.0.1 port=0 user=x dbname=x") else {
            panic!("connected to port 0");
        };
        assert_eq!(err.code(), SqlState::CONNECTION_FAILURE);
        let message = err.message();
        assert!(message.starts_with("error connecting to server: "), "{message}");
    }
}
