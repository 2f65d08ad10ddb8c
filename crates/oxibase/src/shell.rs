//! `oxibase sql`: an interactive SQL shell, or one-shot execution with `-c` / `-f`.
//!
//! It talks to a server (`--url postgres://...`, through tokio-postgres) or opens a data
//! directory embedded (`--data-dir`, through a `Session`, no server needed). Statements end
//! with `;` and may span lines; results print as aligned tables. Meta commands: `\d`, `\dt`,
//! `\d NAME`, `\dn`, `\l`, `\timing`, `\?`, `\q`.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use oxibase_common::{Result, errinput};
use oxibase_tui::source::{Connection, TextResult};

/// Options of `oxibase sql`.
#[derive(Args)]
pub struct SqlArgs {
    /// A server to connect to, e.g. postgres://oxibase:PASSWORD@127.0.0.1:5433/oxibase.
    #[arg(long, env = "OXIBASE_URL", conflicts_with = "data_dir")]
    url: Option<String>,
    /// Open this data directory embedded instead (no server; not while a server has it open).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Run these statements and exit.
    #[arg(short = 'c', long = "command")]
    command: Option<String>,
    /// Run the statements of this file and exit.
    #[arg(short = 'f', long = "file")]
    file: Option<PathBuf>,
}

/// Options of `oxibase tui`.
#[derive(Args)]
pub struct TuiArgs {
    /// A server to connect to, e.g. postgres://oxibase:PASSWORD@127.0.0.1:5433/oxibase.
    #[arg(long, env = "OXIBASE_URL", conflicts_with = "data_dir")]
    url: Option<String>,
    /// Open this data directory embedded instead (no server; not while a server has it open).
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

/// Runs `oxibase tui`.
pub fn run_tui(args: TuiArgs) -> Result<()> {
    let connection = open(args.url.as_deref(), args.data_dir.as_deref())?;
    oxibase_tui::run(connection)
}

fn connect(args: &SqlArgs) -> Result<Connection> {
    open(args.url.as_deref(), args.data_dir.as_deref())
}

/// A server connection, or the data directory opened embedded.
pub fn open(url: Option<&str>, data_dir: Option<&std::path::Path>) -> Result<Connection> {
    if let Some(dir) = data_dir {
        let db = oxibase_sql::Database::open(dir)?;
        oxibase_procedures::install(&db)?;
        oxibase_migrate::install(&db);
        return Ok(Connection::Embedded(Box::new(db.session())));
    }
    Connection::remote(url.unwrap_or("postgres://oxibase@127.0.0.1:5433/oxibase"))
}

/// Prints a result as psql does: an aligned table and a row count, or the command tag.
fn print_result(r: &TextResult, out: &mut dyn Write) -> std::io::Result<()> {
    if r.columns.is_empty() {
        return writeln!(out, "{}", r.tag);
    }
    let cell = |v: &Option<String>| v.clone().unwrap_or_default();
    let mut widths: Vec<usize> = r.columns.iter().map(|c| c.chars().count()).collect();
    for row in &r.rows {
        for (w, v) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell(v).chars().count());
        }
    }
    let header: Vec<String> =
        r.columns.iter().zip(&widths).map(|(c, w)| format!(" {c:^w$} ", w = *w)).collect();
    writeln!(out, "{}", header.join("|"))?;
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(w + 2)).collect();
    writeln!(out, "{}", rule.join("+"))?;
    for row in &r.rows {
        let cells: Vec<String> =
            row.iter().zip(&widths).map(|(v, w)| format!(" {:<w$} ", cell(v), w = *w)).collect();
        writeln!(out, "{}", cells.join("|").trim_end())?;
    }
    let n = r.rows.len();
    writeln!(out, "({n} row{})\n", if n == 1 { "" } else { "s" })
}

/// The SQL a meta command stands for.
fn meta_sql(command: &str) -> Option<String> {
    let mut words = command.split_whitespace();
    let name = words.next()?;
    let arg = words.next().map(|a| a.trim_matches('"').replace('\'', "''"));
    Some(match (name, arg) {
        ("\\dt" | "\\d", None) => "select table_schema as schema, table_name as name, lower(table_type) as type \
             from information_schema.tables where table_schema not in ('pg_catalog', 'information_schema') \
             order by 1, 2"
            .to_string(),
        ("\\d", Some(table)) => format!(
            "select column_name as column, data_type as type, \
             case is_nullable when 'NO' then 'not null' else '' end as nullable, \
             coalesce(column_default, '') as default \
             from information_schema.columns where table_name = '{table}' order by ordinal_position"
        ),
        ("\\di", _) => "select schemaname as schema, indexname as name, tablename as table, indexdef as definition \
             from pg_indexes order by 1, 2"
            .to_string(),
        ("\\dn", _) => "select schema_name as name from information_schema.schemata order by 1".to_string(),
        ("\\l", _) => "select datname as name from pg_database".to_string(),
        ("\\du", _) => "select rolname as role, rolsuper as superuser, rolcanlogin as login from pg_roles order by 1".to_string(),
        _ => return None,
    })
}

const HELP: &str = "\\d [NAME]  tables, or a table's columns   \\dt tables   \\di indexes   \\dn schemas\n\
                    \\l         databases                      \\du roles    \\timing      toggle timing\n\
                    \\q         quit                           statements end with ;";

/// Whether `buffer` holds complete statements: it ends with `;` outside quotes and comments.
fn complete(buffer: &str) -> bool {
    let (mut single, mut double, mut line_comment) = (false, false, false);
    let mut last = ' ';
    let mut chars = buffer.chars().peekable();
    while let Some(c) = chars.next() {
        if line_comment {
            if c == '\n' {
                line_comment = false;
            }
            continue;
        }
        match c {
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            '-' if !single && !double && chars.peek() == Some(&'-') => line_comment = true,
            _ => {}
        }
        if !c.is_whitespace() && !line_comment {
            last = c;
        }
    }
    !single && !double && last == ';'
}

/// Runs `oxibase sql`.
pub fn run(args: SqlArgs) -> Result<()> {
    let mut backend = connect(&args)?;
    let stdout = std::io::stdout();
    // The last statement error, whose SQLSTATE the command exits with.
    let mut failed: Option<oxibase_common::Error> = None;
    let exec = |backend: &mut Connection, sql: &str, timing: bool| {
        let start = Instant::now();
        let mut out = stdout.lock();
        match backend.run(sql) {
            Ok(results) => {
                for r in &results {
                    for notice in &r.notices {
                        eprintln!("{notice}");
                    }
                    let _ = print_result(r, &mut out);
                }
                if timing {
                    let _ = writeln!(out, "Time: {:.3} ms", start.elapsed().as_secs_f64() * 1000.0);
                }
                None
            }
            Err(e) => {
                let _ = writeln!(std::io::stderr(), "ERROR:  {} ({})", e.message(), e.code());
                if let Some(d) = e.detail() {
                    let _ = writeln!(std::io::stderr(), "DETAIL:  {d}");
                }
                if let Some(h) = e.hint() {
                    let _ = writeln!(std::io::stderr(), "HINT:  {h}");
                }
                Some(oxibase_common::Error::new(e.kind(), e.code(), String::new()))
            }
        }
    };
    if let Some(sql) = &args.command {
        let sql = meta_sql(sql).unwrap_or_else(|| sql.clone());
        return match exec(&mut backend, &sql, false) {
            Some(e) => Err(oxibase_common::Error::new(e.kind(), e.code(), "the command failed")),
            None => Ok(()),
        };
    }
    if let Some(file) = &args.file {
        let text = std::fs::read_to_string(file)
            .map_err(|e| errinput!(IO_ERROR, "could not read {}: {e}", file.display()))?;
        return match exec(&mut backend, &text, false) {
            Some(e) => Err(oxibase_common::Error::new(e.kind(), e.code(), "the script failed")),
            None => Ok(()),
        };
    }
    // Interactive: lines accumulate until a statement is complete. A terminal gets line
    // editing and history (rustyline); piped input is read line by line.
    let interactive = std::io::stdin().is_terminal();
    let history_path = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".oxibase_history"));
    let mut input = if interactive {
        match rustyline::DefaultEditor::new() {
            Ok(mut editor) => {
                if let Some(p) = &history_path {
                    let _ = editor.load_history(p);
                }
                Input::Editor(Box::new(editor))
            }
            Err(_) => Input::Lines(std::io::stdin().lock().lines()),
        }
    } else {
        Input::Lines(std::io::stdin().lock().lines())
    };
    if interactive {
        println!(
            "oxibase sql ({}) — \\? for help, \\q to quit",
            match backend {
                Connection::Embedded(_) => "embedded",
                Connection::Remote { .. } => "connected",
            }
        );
    }
    let mut timing = false;
    let mut buffer = String::new();
    loop {
        let prompt = if buffer.is_empty() { "oxibase=> " } else { "oxibase-> " };
        let line = match input.read(prompt) {
            Line::Text(line) => line,
            Line::Interrupted => {
                buffer.clear(); // Ctrl-C drops the statement being typed, as in psql
                continue;
            }
            Line::End => break,
        };
        let trimmed = line.trim();
        if buffer.is_empty() && trimmed.starts_with('\\') {
            input.remember(trimmed);
            match trimmed {
                "\\q" | "\\quit" => break,
                "\\?" | "\\help" => println!("{HELP}"),
                "\\timing" => {
                    timing = !timing;
                    println!("Timing is {}.", if timing { "on" } else { "off" });
                }
                other => match meta_sql(other) {
                    Some(sql) => {
                        exec(&mut backend, &sql, timing);
                    }
                    None => eprintln!("invalid command {other}; try \\?"),
                },
            }
            continue;
        }
        buffer.push_str(&line);
        buffer.push('\n');
        if complete(&buffer) {
            let sql = std::mem::take(&mut buffer);
            input.remember(&sql.trim().replace('\n', " "));
            failed = exec(&mut backend, &sql, timing).or(failed);
        }
    }
    if !buffer.trim().is_empty() {
        failed = exec(&mut backend, &buffer, timing).or(failed);
    }
    if let (Some(p), Input::Editor(editor)) = (&history_path, &mut input) {
        let _ = editor.save_history(p);
    }
    match failed {
        Some(e) if !interactive => {
            Err(oxibase_common::Error::new(e.kind(), e.code(), "some statements failed"))
        }
        _ => Ok(()),
    }
}

/// Where the interactive shell reads lines from.
enum Input {
    /// A terminal: line editing, history recall with the arrow keys, Ctrl-C, Ctrl-D.
    Editor(Box<rustyline::DefaultEditor>),
    /// Piped input.
    Lines(std::io::Lines<std::io::StdinLock<'static>>),
}

/// One read from [`Input`].
enum Line {
    Text(String),
    /// Ctrl-C.
    Interrupted,
    /// Ctrl-D or the end of the input.
    End,
}

impl Input {
    fn read(&mut self, prompt: &str) -> Line {
        match self {
            Input::Editor(editor) => match editor.readline(prompt) {
                Ok(line) => Line::Text(line),
                Err(rustyline::error::ReadlineError::Interrupted) => Line::Interrupted,
                Err(_) => Line::End,
            },
            Input::Lines(lines) => match lines.next() {
                Some(Ok(line)) => Line::Text(line),
                _ => Line::End,
            },
        }
    }

    /// Adds an entry to the history (kept in ~/.oxibase_history between sessions).
    fn remember(&mut self, entry: &str) {
        if let Input::Editor(editor) = self {
            let _ = editor.add_history_entry(entry);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_complete_at_a_semicolon_outside_quotes() {
        assert!(complete("select 1;"));
        assert!(complete("select 1;\n"));
        assert!(!complete("select ';"));
        assert!(!complete("select 1"));
        assert!(complete("select ';' ;"));
        assert!(!complete("select 1 -- done;"));
    }
}
