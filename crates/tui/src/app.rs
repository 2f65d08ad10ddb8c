//! The navigator's state and its keys: a tree of the database's objects, a table grid paged
//! by primary key, a row's detail, and the `/` and `:` input lines. No terminal here: keys
//! come in as crossterm events, the screen is drawn by `ui` from this state, and the
//! database is a [`Source`], so every screen can be driven and checked in tests.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use oxibase_common::Error;

use crate::source::{Source, TextResult};

/// Rows fetched per window of a grid.
pub(crate) const WINDOW: usize = 100;
/// Windows a search walks past the loaded one before giving up.
const SEARCH_WINDOWS: usize = 50;

/// What an entry of the tree is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Schema,
    Group,
    Table,
    View,
    Routine,
    Index,
}

/// One line of the tree.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub(crate) kind: Kind,
    pub(crate) schema: String,
    pub(crate) name: String,
    /// What Enter shows for entries that do not open a grid (an index's definition).
    pub(crate) detail: String,
}

/// The tree of schemas and their tables, views, routines and indexes.
#[derive(Default)]
pub(crate) struct Tree {
    pub(crate) entries: Vec<Entry>,
    pub(crate) selected: usize,
    pub(crate) top: usize,
}

/// How a grid's rows are ordered and paged.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Order {
    /// By the primary key, paged by key (`WHERE key > last ORDER BY key LIMIT n`).
    Key,
    /// By a column (`:sort`) or, without a key, in scan order: paged by OFFSET.
    Offset { sort: Option<(String, bool)> },
}

/// An open table or view: a window of its rows around the cursor.
pub(crate) struct Grid {
    pub(crate) schema: String,
    pub(crate) table: String,
    pub(crate) columns: Vec<String>,
    pub(crate) types: Vec<String>,
    /// The primary key's columns, as positions in `columns`.
    pub(crate) key: Vec<usize>,
    pub(crate) order: Order,
    pub(crate) filter: Option<String>,
    pub(crate) rows: Vec<Vec<Option<String>>>,
    /// The position in the whole relation of `rows[0]`, when known (paging from the start).
    pub(crate) base: Option<u64>,
    pub(crate) at_start: bool,
    pub(crate) at_end: bool,
    pub(crate) row: usize,
    pub(crate) col: usize,
    pub(crate) top: usize,
    pub(crate) left: usize,
    /// For a query's result (all its rows loaded, not re-read): the statement.
    pub(crate) query: Option<String>,
}

/// What is on screen.
pub(crate) enum View {
    Tree,
    Grid,
    /// One row, column by column (JSON pretty-printed).
    Detail,
    /// Live charts, sessions and lock waits.
    Monitor,
    /// The query editor, with the last result below it.
    Editor,
    /// The procedure debugger.
    Debugger,
}

/// A line being typed at the bottom.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Input {
    Search(String),
    Command(String),
    /// A new value for the cursor's cell.
    Edit(String),
}

/// A message on the status line.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Status {
    Info(String),
    Error(String),
}

/// The whole navigator.
pub struct App<S: Source> {
    pub(crate) source: S,
    pub(crate) tree: Tree,
    pub(crate) grid: Option<Grid>,
    pub(crate) view: View,
    pub(crate) input: Option<Input>,
    pub(crate) status: Option<Status>,
    pub(crate) last_search: Option<String>,
    /// An edit's transaction is open (`:commit` / `:rollback` end it).
    pub(crate) in_transaction: bool,
    pub(crate) quit: bool,
    /// Rows the grid showed at the last draw (for Ctrl-d / Ctrl-u and scrolling).
    pub(crate) page_rows: usize,
    pub(crate) monitor: crate::monitor::Monitor,
    pub(crate) editor: crate::editor::Editor,
    pub(crate) debugger: crate::debugger::Debugger,
    pending_g: bool,
}

/// Quotes an identifier.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Quotes a string literal.
pub fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

fn error_text(e: &Error) -> String {
    let mut text = format!("ERROR {}: {}", e.code(), e.message());
    if let Some(d) = e.detail() {
        text.push_str(&format!(" — {d}"));
    }
    text
}

const SYSTEM_SCHEMAS: &str = "('pg_catalog', 'information_schema')";

impl<S: Source> App<S> {
    /// A navigator over `source`, with its tree loaded.
    pub fn new(source: S) -> App<S> {
        let mut app = App {
            source,
            tree: Tree::default(),
            grid: None,
            view: View::Tree,
            input: None,
            status: None,
            last_search: None,
            in_transaction: false,
            quit: false,
            page_rows: 20,
            monitor: Default::default(),
            editor: Default::default(),
            debugger: Default::default(),
            pending_g: false,
        };
        app.load_tree();
        app
    }

    fn query(&mut self, sql: &str) -> Option<TextResult> {
        match self.source.query(sql) {
            Ok(r) => Some(r),
            Err(e) => {
                self.status = Some(Status::Error(error_text(&e)));
                None
            }
        }
    }

    /// Reads the schemas and their objects into the tree.
    pub fn load_tree(&mut self) {
        let relations = self.query(&format!(
            "select table_schema, table_name, table_type from information_schema.tables \
             where table_schema not in {SYSTEM_SCHEMAS} order by 1, 2"
        ));
        let routines = self.query(&format!(
            "select routine_schema, routine_name, routine_type from information_schema.routines \
             where routine_schema not in {SYSTEM_SCHEMAS} order by 1, 2"
        ));
        let indexes = self.query(&format!(
            "select schemaname, indexname, indexdef from pg_indexes \
             where schemaname not in {SYSTEM_SCHEMAS} order by 1, 2"
        ));
        let mut objects: Vec<(String, Kind, String, String)> = Vec::new();
        for r in relations.iter().flat_map(|r| &r.rows) {
            let kind = if r[2].as_deref() == Some("VIEW") { Kind::View } else { Kind::Table };
            objects.push((text(&r[0]), kind, text(&r[1]), String::new()));
        }
        for r in routines.iter().flat_map(|r| &r.rows) {
            objects.push((text(&r[0]), Kind::Routine, text(&r[1]), text(&r[2]).to_lowercase()));
        }
        for r in indexes.iter().flat_map(|r| &r.rows) {
            objects.push((text(&r[0]), Kind::Index, text(&r[1]), text(&r[2])));
        }
        let mut schemas: Vec<String> = objects.iter().map(|o| o.0.clone()).collect();
        schemas.sort();
        schemas.dedup();
        let mut entries = Vec::new();
        for schema in schemas {
            entries.push(Entry {
                kind: Kind::Schema,
                schema: schema.clone(),
                name: schema.clone(),
                detail: String::new(),
            });
            for (kind, group) in [
                (Kind::Table, "tables"),
                (Kind::View, "views"),
                (Kind::Routine, "procedures"),
                (Kind::Index, "indexes"),
            ] {
                let members: Vec<_> =
                    objects.iter().filter(|o| o.0 == schema && o.1 == kind).collect();
                if members.is_empty() {
                    continue;
                }
                entries.push(Entry {
                    kind: Kind::Group,
                    schema: schema.clone(),
                    name: group.to_string(),
                    detail: String::new(),
                });
                for (_, kind, name, detail) in members {
                    entries.push(Entry {
                        kind: *kind,
                        schema: schema.clone(),
                        name: name.clone(),
                        detail: detail.clone(),
                    });
                }
            }
        }
        self.tree.selected = self.tree.selected.min(entries.len().saturating_sub(1));
        self.tree.entries = entries;
    }

    /// Handles one key.
    pub fn on_key(&mut self, key: KeyEvent) {
        if self.input.is_some() {
            self.on_input_key(key);
            return;
        }
        if matches!(self.view, View::Editor) {
            self.on_editor_key(key);
            return;
        }
        if matches!(self.view, View::Debugger) && self.on_debugger_key(key) {
            return;
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let g = std::mem::take(&mut self.pending_g);
        match (key.code, ctrl) {
            (KeyCode::Char(':'), false) => self.input = Some(Input::Command(String::new())),
            (KeyCode::Char('/'), false) if !matches!(self.view, View::Detail) => {
                self.input = Some(Input::Search(String::new()))
            }
            (KeyCode::Char('n'), false) => self.search_again(true),
            (KeyCode::Char('N'), false) => self.search_again(false),
            (KeyCode::Char('g'), false) if g => self.jump_start(),
            (KeyCode::Char('g'), false) => self.pending_g = true,
            (KeyCode::Char('G'), false) => self.jump_end(),
            (KeyCode::Char('j') | KeyCode::Down, false) => self.move_rows(1),
            (KeyCode::Char('k') | KeyCode::Up, false) => self.move_rows(-1),
            (KeyCode::Char('d'), true) => self.move_rows((self.page_rows / 2).max(1) as i64),
            (KeyCode::Char('u'), true) => self.move_rows(-((self.page_rows / 2).max(1) as i64)),
            (KeyCode::PageDown, _) | (KeyCode::Char('f'), true) => {
                self.move_rows(self.page_rows.max(1) as i64)
            }
            (KeyCode::PageUp, _) | (KeyCode::Char('b'), true) => {
                self.move_rows(-(self.page_rows.max(1) as i64))
            }
            (KeyCode::Char('h') | KeyCode::Left, false) => self.move_cols(-1),
            (KeyCode::Char('l') | KeyCode::Right, false) => self.move_cols(1),
            (KeyCode::Char('w'), false) => self.move_cols(5),
            (KeyCode::Char('b'), false) => self.move_cols(-5),
            (KeyCode::Char('0') | KeyCode::Home, false) => self.move_cols(-(i64::from(u16::MAX))),
            (KeyCode::Char('$') | KeyCode::End, false) => self.move_cols(i64::from(u16::MAX)),
            (KeyCode::Char('i'), false) => self.start_edit(),
            (KeyCode::Char('m'), false) if matches!(self.view, View::Tree) => self.open_monitor(),
            (KeyCode::Char('e'), false) if matches!(self.view, View::Tree) => {
                self.view = View::Editor
            }
            (KeyCode::Char('c'), false) if matches!(self.view, View::Monitor) => {
                self.signal_selected(false)
            }
            (KeyCode::Char('t'), false) if matches!(self.view, View::Monitor) => {
                self.signal_selected(true)
            }
            (KeyCode::Enter, _) => self.enter(),
            (KeyCode::Esc, _) => self.back(),
            (KeyCode::Char('c'), true) => self.quit = true,
            _ => {}
        }
    }

    fn on_input_key(&mut self, key: KeyEvent) {
        let Some(input) = &mut self.input else { return };
        let editing = matches!(input, Input::Edit(_));
        let buffer = match input {
            Input::Search(b) | Input::Command(b) | Input::Edit(b) => b,
        };
        match key.code {
            KeyCode::Esc => self.input = None,
            KeyCode::Backspace if buffer.pop().is_none() && !editing => {
                self.input = None;
            }
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => buffer.push(c),
            KeyCode::Enter => {
                let Some(input) = self.input.take() else { return };
                match input {
                    Input::Search(text) => {
                        if !text.is_empty() {
                            self.last_search = Some(text);
                        }
                        self.search_again(true);
                    }
                    Input::Command(text) => self.command(text.trim()),
                    Input::Edit(value) => self.finish_edit(&value),
                }
            }
            _ => {}
        }
    }

    fn enter(&mut self) {
        match self.view {
            View::Tree => {
                let Some(entry) = self.tree.entries.get(self.tree.selected).cloned() else {
                    return;
                };
                match entry.kind {
                    Kind::Table | Kind::View => self.open(&entry.schema, &entry.name),
                    Kind::Index => self.status = Some(Status::Info(entry.detail)),
                    Kind::Routine => self.open_debugger(&entry.name, &entry.detail),
                    Kind::Schema | Kind::Group => {}
                }
            }
            View::Grid => {
                if self.grid.as_ref().is_some_and(|g| !g.rows.is_empty()) {
                    self.view = View::Detail;
                }
            }
            View::Detail => self.view = View::Grid,
            View::Monitor | View::Editor | View::Debugger => {}
        }
    }

    fn back(&mut self) {
        let from_query = self.grid.as_ref().is_some_and(|g| g.query.is_some());
        self.view = match self.view {
            View::Detail => View::Grid,
            View::Grid if from_query => View::Editor,
            View::Debugger => {
                self.end_debugging(false);
                View::Tree
            }
            View::Grid | View::Tree | View::Monitor | View::Editor => View::Tree,
        };
    }

    /// Shows a routine's module in the debugger and offers to start a call.
    fn open_debugger(&mut self, name: &str, kind: &str) {
        let Some(r) = self.query(&format!(
            "select module, language, source from sys_procedures where name = {} limit 1",
            literal(name)
        )) else {
            return;
        };
        let module = r.rows.first().and_then(|r| r[0].as_deref()).and_then(crate::debugger::bytea);
        let source: Option<Vec<String>> = r
            .rows
            .first()
            .filter(|r| matches!(r[1].as_deref(), Some("rust" | "typescript")))
            .and_then(|r| r[2].as_deref())
            .map(|s| s.lines().map(str::to_string).collect());
        let Some(module) = module else {
            self.status = Some(Status::Error(format!("no module stored for {name}")));
            return;
        };
        match crate::debugger::wat_lines(&module) {
            Ok(lines) => {
                self.debugger = crate::debugger::Debugger {
                    routine: name.to_string(),
                    lines,
                    source,
                    ..Default::default()
                };
                self.view = View::Debugger;
                let verb = if kind == "procedure" { "call" } else { "select" };
                self.status = None;
                self.input = Some(Input::Command(format!("debug {verb} {name}(")));
            }
            Err(e) => self.status = Some(Status::Error(format!("cannot show {name}: {e}"))),
        }
    }

    /// Runs a debug session function and takes its state.
    fn debug_call(&mut self, sql: &str) {
        let Some(r) = self.query(sql) else { return };
        let json = r.rows.first().and_then(|r| r[0].clone()).unwrap_or_default();
        match crate::debugger::Session::parse(&json) {
            Some(session) => self.debugger.update(session),
            None => {
                self.status = Some(Status::Error(format!("unexpected debugger answer: {json}")))
            }
        }
    }

    fn session_id(&self) -> Option<i64> {
        self.debugger.session.as_ref().filter(|s| s.ended.is_none()).map(|s| s.id)
    }

    /// Ends the debug session: commit or roll back what the call did.
    fn end_debugging(&mut self, commit: bool) {
        if let Some(id) = self.session_id() {
            self.debug_call(&format!("select oxibase_debug_end({id}, {commit})"));
        }
    }

    /// The debugger's own keys; false for keys the common handler takes (moving, `:`).
    fn on_debugger_key(&mut self, key: KeyEvent) -> bool {
        if key.modifiers.contains(KeyModifiers::CONTROL) {
            return false;
        }
        let step = match key.code {
            KeyCode::Char('s' | 'i') => "into",
            KeyCode::Char('n') => "over",
            KeyCode::Char('o') => "out",
            KeyCode::Char('c') => "continue",
            KeyCode::Char('b') => {
                match (self.session_id(), self.debugger.cursor_location()) {
                    (Some(id), Some((f, pc))) => self
                        .debug_call(&format!("select oxibase_debug_breakpoint({id}, {f}, {pc})")),
                    (None, _) => {
                        self.status =
                            Some(Status::Error("start a call first: :debug call ...".into()))
                    }
                    (_, None) => self.status = Some(Status::Error("not an instruction".into())),
                }
                return true;
            }
            KeyCode::Char('a') => {
                self.end_debugging(false);
                return true;
            }
            _ => return false,
        };
        match self.session_id() {
            Some(id) => self.debug_call(&format!("select oxibase_debug_step({id}, '{step}')")),
            None => self.status = Some(Status::Error("start a call first: :debug call ...".into())),
        }
        true
    }

    fn on_editor_key(&mut self, key: KeyEvent) {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let e = &mut self.editor;
        match (key.code, ctrl) {
            (KeyCode::Esc, _) => self.view = View::Tree,
            (KeyCode::Char('r'), true) | (KeyCode::F(5), _) => self.run_statement(),
            (KeyCode::Char('p'), true) => e.recall(true),
            (KeyCode::Char('n'), true) => e.recall(false),
            (KeyCode::Char('f'), true) | (KeyCode::Tab, _)
                if self.grid.as_ref().is_some_and(|g| g.query.is_some()) =>
            {
                self.view = View::Grid;
            }
            (KeyCode::Char('c'), true) => self.quit = true,
            (KeyCode::Char(c), false) => e.insert(c),
            // `:q` alone on a line quits from the editor too (it is no SQL).
            (KeyCode::Enter, _)
                if e.lines.get(e.row).is_some_and(|l| matches!(l.trim(), ":q" | ":q!")) =>
            {
                self.quit = true
            }
            (KeyCode::Enter, _) => e.newline(),
            (KeyCode::Backspace, _) => e.backspace(),
            (KeyCode::Left, _) => e.move_by(0, -1),
            (KeyCode::Right, _) => e.move_by(0, 1),
            (KeyCode::Up, _) => e.move_by(-1, 0),
            (KeyCode::Down, _) => e.move_by(1, 0),
            (KeyCode::Home, _) => e.move_by(0, -(i64::from(u16::MAX))),
            (KeyCode::End, _) => e.move_by(0, i64::from(u16::MAX)),
            _ => {}
        }
    }

    /// Runs the statement under the editor's cursor; rows become the result grid.
    fn run_statement(&mut self) {
        let Some((start, sql)) = self.editor.statement() else { return };
        self.editor.remember(&sql);
        match self.source.run(&sql) {
            Ok(mut results) => {
                let Some(result) = results.pop() else { return };
                let n = result.rows.len();
                let tag =
                    if result.tag.is_empty() { format!("{n} rows") } else { result.tag.clone() };
                let lower = sql.trim_end_matches(';').trim().to_ascii_lowercase();
                if ["commit", "rollback", "end", "abort"].contains(&lower.as_str()) {
                    self.in_transaction = false;
                } else if lower == "begin"
                    || lower.starts_with("begin ")
                    || lower.starts_with("start transaction")
                {
                    self.in_transaction = true;
                }
                if !result.columns.is_empty() {
                    self.grid = Some(Grid {
                        schema: String::new(),
                        table: "query result".into(),
                        types: vec!["text".into(); result.columns.len()],
                        columns: result.columns,
                        key: Vec::new(),
                        order: Order::Offset { sort: None },
                        filter: None,
                        rows: result.rows,
                        base: Some(0),
                        at_start: true,
                        at_end: true,
                        row: 0,
                        col: 0,
                        top: 0,
                        left: 0,
                        query: Some(sql),
                    });
                }
                self.status = Some(Status::Info(tag));
            }
            Err(e) => {
                // Where the statement went wrong: put the cursor there.
                if let Some(p) = e.detail().and_then(|d| error_offset(d, &sql)) {
                    self.editor.place(start + p);
                }
                self.status = Some(Status::Error(error_text(&e)));
            }
        }
    }

    /// Shows the monitor, with a first reading.
    pub fn open_monitor(&mut self) {
        self.view = View::Monitor;
        self.status = None;
        self.tick();
    }

    /// Reads the server's counters, sessions and lock waits once (the terminal loop calls
    /// this every second while the monitor is shown).
    pub fn tick(&mut self) {
        if let Err(e) = self.monitor.refresh(&mut self.source) {
            self.status = Some(Status::Error(error_text(&e)));
        }
    }

    /// Whether the monitor is on screen (and wants a tick a second).
    pub fn monitoring(&self) -> bool {
        matches!(self.view, View::Monitor)
    }

    /// Cancels the selected session's statement, or ends the session (`terminate`).
    fn signal_selected(&mut self, terminate: bool) {
        let Some(pid) = self.monitor.selected_pid().map(str::to_string) else { return };
        let Ok(pid) = pid.parse::<i32>() else { return };
        let function = if terminate { "pg_terminate_backend" } else { "pg_cancel_backend" };
        if let Some(r) = self.query(&format!("select {function}({pid})")) {
            let done = r.rows.first().and_then(|r| r[0].as_deref()) == Some("t");
            self.status = Some(match (done, terminate) {
                (true, false) => Status::Info(format!("cancelled the statement of session {pid}")),
                (true, true) => Status::Info(format!("terminated session {pid}")),
                (false, _) => Status::Error(format!("session {pid} is gone")),
            });
        }
    }

    /// Opens a table or view in the grid, at its first rows.
    pub fn open(&mut self, schema: &str, table: &str) {
        let Some(cols) = self.query(&format!(
            "select column_name, data_type from information_schema.columns \
             where table_schema = {} and table_name = {} order by ordinal_position",
            literal(schema),
            literal(table)
        )) else {
            return;
        };
        if cols.rows.is_empty() {
            // Not there (or not visible): let the server say so, with its SQLSTATE.
            let probe = format!("select * from {}.{} limit 0", ident(schema), ident(table));
            if self.query(&probe).is_some() {
                self.status = Some(Status::Error(format!("{schema}.{table} has no columns")));
            }
            return;
        }
        let columns: Vec<String> = cols.rows.iter().map(|r| text(&r[0])).collect();
        let types: Vec<String> = cols.rows.iter().map(|r| text(&r[1])).collect();
        let key_columns = self
            .query(&format!(
                "select kcu.column_name from information_schema.table_constraints tc \
                 join information_schema.key_column_usage kcu \
                 on kcu.constraint_name = tc.constraint_name and kcu.table_schema = tc.table_schema \
                 where tc.table_schema = {} and tc.table_name = {} \
                 and tc.constraint_type = 'PRIMARY KEY' order by kcu.ordinal_position",
                literal(schema),
                literal(table)
            ))
            .map(|r| r.rows.iter().map(|r| text(&r[0])).collect::<Vec<_>>())
            .unwrap_or_default();
        let key: Vec<usize> =
            key_columns.iter().filter_map(|k| columns.iter().position(|c| c == k)).collect();
        let key = if key.len() == key_columns.len() { key } else { Vec::new() };
        let order = if key.is_empty() { Order::Offset { sort: None } } else { Order::Key };
        self.grid = Some(Grid {
            schema: schema.to_string(),
            table: table.to_string(),
            columns,
            types,
            key,
            order,
            filter: None,
            rows: Vec::new(),
            base: Some(0),
            at_start: true,
            at_end: false,
            row: 0,
            col: 0,
            top: 0,
            left: 0,
            query: None,
        });
        self.view = View::Grid;
        self.status = None;
        self.jump_start();
    }

    fn grid_sql(grid: &Grid, page: Page<'_>) -> String {
        let relation = format!("{}.{}", ident(&grid.schema), ident(&grid.table));
        let mut conditions: Vec<String> = grid.filter.iter().map(|f| format!("({f})")).collect();
        let limit = WINDOW;
        match &grid.order {
            Order::Key => {
                let key_list = |desc: bool| -> String {
                    let dir = if desc { " desc" } else { "" };
                    grid.key
                        .iter()
                        .map(|&k| format!("{}{dir}", ident(&grid.columns[k])))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                let (anchor, desc) = match page {
                    Page::First => (None, false),
                    Page::Last => (None, true),
                    Page::After(row) => (Some((row, ">")), false),
                    Page::Before(row) => (Some((row, "<")), true),
                    Page::From(row) => (Some((row, ">=")), false),
                    Page::Offset(_) => (None, false),
                };
                if let Some((row, op)) = anchor {
                    conditions.push(key_condition(grid, row, op));
                }
                let filter = if conditions.is_empty() {
                    String::new()
                } else {
                    format!(" where {}", conditions.join(" and "))
                };
                format!(
                    "select * from {relation}{filter} order by {} limit {limit}",
                    key_list(desc)
                )
            }
            Order::Offset { sort } => {
                let filter = if conditions.is_empty() {
                    String::new()
                } else {
                    format!(" where {}", conditions.join(" and "))
                };
                let order = match sort {
                    Some((col, desc)) => {
                        format!(" order by {}{}", ident(col), if *desc { " desc" } else { "" })
                    }
                    None => String::new(),
                };
                let offset = match page {
                    Page::Offset(n) => n,
                    _ => 0,
                };
                format!("select * from {relation}{filter}{order} limit {limit} offset {offset}")
            }
        }
    }

    /// Fetches a window of the grid's rows; None (with the error on the status line) on failure.
    fn fetch(&mut self, page: Page<'_>) -> Option<Vec<Vec<Option<String>>>> {
        if self.grid.as_ref().is_some_and(|g| g.query.is_some()) {
            self.status =
                Some(Status::Error("a query's result is not read again: change the query".into()));
            return None;
        }
        let sql = Self::grid_sql(self.grid.as_ref()?, page);
        let reverse = matches!(page, Page::Last | Page::Before(_))
            && self.grid.as_ref().is_some_and(|g| g.order == Order::Key);
        let mut rows = self.query(&sql)?.rows;
        if reverse {
            rows.reverse();
        }
        Some(rows)
    }

    fn jump_start(&mut self) {
        match self.view {
            View::Tree => self.tree.selected = 0,
            View::Grid if self.grid.as_ref().is_some_and(|g| g.query.is_some()) => {
                if let Some(g) = &mut self.grid {
                    g.row = 0;
                }
            }
            View::Grid => {
                let Some(rows) = self.fetch(Page::First) else { return };
                if let Some(g) = &mut self.grid {
                    g.at_end = rows.len() < WINDOW;
                    g.rows = rows;
                    (g.base, g.at_start, g.row, g.top) = (Some(0), true, 0, 0);
                }
            }
            View::Monitor => self.monitor.selected = 0,
            View::Debugger => self.debugger.cursor = 0,
            View::Detail | View::Editor => {}
        }
    }

    fn jump_end(&mut self) {
        match self.view {
            View::Tree => self.tree.selected = self.tree.entries.len().saturating_sub(1),
            View::Grid if self.grid.as_ref().is_some_and(|g| g.query.is_some()) => {
                if let Some(g) = &mut self.grid {
                    g.row = g.rows.len().saturating_sub(1);
                }
            }
            View::Grid => {
                let Some(g) = &self.grid else { return };
                if g.order != Order::Key {
                    // Paged by offset: walk to the end.
                    while !self.grid.as_ref().is_some_and(|g| g.at_end) {
                        if !self.next_window() {
                            break;
                        }
                    }
                    if let Some(g) = &mut self.grid {
                        g.row = g.rows.len().saturating_sub(1);
                    }
                    return;
                }
                let Some(rows) = self.fetch(Page::Last) else { return };
                if let Some(g) = &mut self.grid {
                    g.at_start = rows.len() < WINDOW;
                    g.base = if g.at_start { Some(0) } else { None };
                    g.rows = rows;
                    g.at_end = true;
                    g.row = g.rows.len().saturating_sub(1);
                }
            }
            View::Monitor => self.monitor.selected = self.monitor.sessions.len().saturating_sub(1),
            View::Debugger => self.debugger.cursor = self.debugger.len().saturating_sub(1),
            View::Detail | View::Editor => {}
        }
    }

    /// Replaces the window by the rows after it; false at the end.
    fn next_window(&mut self) -> bool {
        let Some(g) = &self.grid else { return false };
        if g.at_end {
            return false;
        }
        let page = match (&g.order, g.rows.last()) {
            (Order::Key, Some(last)) => Page::After(last),
            (Order::Key, None) => Page::First,
            (Order::Offset { .. }, _) => Page::Offset(g.base.unwrap_or(0) + g.rows.len() as u64),
        };
        let page = page.owned();
        let Some(rows) = self.fetch(page.borrowed()) else { return false };
        let Some(g) = &mut self.grid else { return false };
        if rows.is_empty() {
            g.at_end = true;
            return false;
        }
        g.base = g.base.map(|b| b + g.rows.len() as u64);
        g.at_end = rows.len() < WINDOW;
        g.at_start = false;
        g.rows = rows;
        true
    }

    /// Replaces the window by the rows before it; false at the start.
    fn previous_window(&mut self) -> bool {
        let Some(g) = &self.grid else { return false };
        if g.at_start || g.base == Some(0) {
            return false;
        }
        let page = match (&g.order, g.rows.first()) {
            (Order::Key, Some(first)) => Page::Before(first),
            (Order::Key, None) => Page::Last,
            (Order::Offset { .. }, _) => {
                Page::Offset(g.base.unwrap_or(0).saturating_sub(WINDOW as u64))
            }
        };
        let page = page.owned();
        let Some(rows) = self.fetch(page.borrowed()) else { return false };
        let Some(g) = &mut self.grid else { return false };
        if rows.is_empty() {
            g.at_start = true;
            return false;
        }
        g.at_start = rows.len() < WINDOW;
        g.base = match g.base {
            Some(b) => Some(b.saturating_sub(rows.len() as u64)),
            None if g.at_start => Some(0),
            None => None,
        };
        g.at_end = false;
        g.rows = rows;
        true
    }

    fn move_rows(&mut self, delta: i64) {
        match self.view {
            View::Tree => {
                let last = self.tree.entries.len().saturating_sub(1) as i64;
                self.tree.selected = (self.tree.selected as i64 + delta).clamp(0, last) as usize;
            }
            View::Grid => {
                let Some(g) = &self.grid else { return };
                let mut target = g.row as i64 + delta;
                loop {
                    let Some(g) = &self.grid else { return };
                    let len = g.rows.len() as i64;
                    if target >= len {
                        if !self.next_window() {
                            target = len - 1;
                            break;
                        }
                        target -= len;
                        if let Some(g) = &mut self.grid {
                            g.top = 0;
                        }
                    } else if target < 0 {
                        if !self.previous_window() {
                            target = 0;
                            break;
                        }
                        let Some(g) = &mut self.grid else { return };
                        target += g.rows.len() as i64;
                        g.top = g.rows.len();
                    } else {
                        break;
                    }
                }
                if let Some(g) = &mut self.grid {
                    g.row = target.max(0) as usize;
                }
            }
            View::Monitor => {
                let last = self.monitor.sessions.len().saturating_sub(1) as i64;
                self.monitor.selected =
                    (self.monitor.selected as i64 + delta).clamp(0, last) as usize;
            }
            View::Debugger => {
                let last = self.debugger.len().saturating_sub(1) as i64;
                self.debugger.cursor =
                    (self.debugger.cursor as i64 + delta).clamp(0, last) as usize;
            }
            View::Detail | View::Editor => {}
        }
    }

    fn move_cols(&mut self, delta: i64) {
        if let (View::Grid, Some(g)) = (&self.view, &mut self.grid) {
            let last = g.columns.len().saturating_sub(1) as i64;
            g.col = (g.col as i64 + delta).clamp(0, last) as usize;
        }
    }

    fn search_again(&mut self, forward: bool) {
        let Some(needle) = self.last_search.clone() else { return };
        let needle = needle.to_lowercase();
        match self.view {
            View::Tree => {
                let n = self.tree.entries.len();
                let found = (1..=n)
                    .map(|i| {
                        if forward {
                            (self.tree.selected + i) % n
                        } else {
                            (self.tree.selected + n * 2 - i) % n
                        }
                    })
                    .find(|&i| self.tree.entries[i].name.to_lowercase().contains(&needle));
                match found {
                    Some(i) => self.tree.selected = i,
                    None => self.status = Some(Status::Error(format!("not found: {needle}"))),
                }
            }
            View::Grid => self.search_grid(&needle, forward),
            View::Detail | View::Monitor | View::Editor | View::Debugger => {}
        }
    }

    /// Finds the next cell containing `needle` after the cursor (row by row), moving through
    /// further windows when the loaded one has none.
    fn search_grid(&mut self, needle: &str, forward: bool) {
        let matches = |cell: &Option<String>| {
            cell.as_ref().is_some_and(|v| v.to_lowercase().contains(needle))
        };
        let Some(g) = &self.grid else { return };
        let width = g.columns.len().max(1);
        let mut position = Some((g.row * width + g.col) as i64);
        for _ in 0..=SEARCH_WINDOWS {
            let Some(g) = &self.grid else { return };
            let cells = (g.rows.len() * width) as i64;
            let start = position.unwrap_or(if forward { -1 } else { cells });
            let found = if forward {
                (start + 1..cells)
                    .find(|&p| matches(&g.rows[p as usize / width][p as usize % width]))
            } else {
                (0..start).rev().find(|&p| matches(&g.rows[p as usize / width][p as usize % width]))
            };
            if let Some(p) = found {
                let Some(g) = &mut self.grid else { return };
                (g.row, g.col) = (p as usize / width, p as usize % width);
                self.status = None;
                return;
            }
            let moved = if forward { self.next_window() } else { self.previous_window() };
            if !moved {
                break;
            }
            position = None;
        }
        self.status = Some(Status::Error(format!("not found: {needle}")));
    }

    fn command(&mut self, command: &str) {
        let (name, arg) = match command.split_once(char::is_whitespace) {
            Some((n, a)) => (n, a.trim()),
            None => (command, ""),
        };
        match name {
            "q" | "q!" | "quit" | "qa" => self.quit = true,
            "monitor" => self.open_monitor(),
            "sql" | "query" => self.view = View::Editor,
            "w" if !arg.is_empty() => self.export_csv(arg),
            "sort" => self.set_sort(arg),
            "filter" => {
                if let Some(g) = &mut self.grid {
                    g.filter = (!arg.is_empty()).then(|| arg.to_string());
                    self.jump_start();
                }
            }
            "debug" if !arg.is_empty() => {
                self.end_debugging(false);
                self.debug_call(&format!("select oxibase_debug_start({})", literal(arg)));
            }
            "commit" | "rollback" if matches!(self.view, View::Debugger) => {
                self.end_debugging(name == "commit");
            }
            "commit" | "rollback" => {
                if self.query(name).is_some() {
                    self.in_transaction = false;
                    self.status = Some(Status::Info(name.to_uppercase()));
                    if matches!(self.view, View::Grid) {
                        self.reload();
                    }
                }
            }
            "" => {}
            other => self.status = Some(Status::Error(format!("unknown command :{other}"))),
        }
    }

    /// Reads the window again from its first row (after a change to what it shows).
    fn reload(&mut self) {
        let Some(g) = &self.grid else { return };
        let (row, col) = (g.row, g.col);
        let page = match (&g.order, g.rows.first()) {
            (Order::Key, Some(first)) if !g.at_start => Page::From(first).owned(),
            (Order::Offset { .. }, _) => OwnedPage::Offset(g.base.unwrap_or(0)),
            _ => OwnedPage::First,
        };
        if let Some(rows) = self.fetch(page.borrowed())
            && let Some(g) = &mut self.grid
        {
            g.at_end = rows.len() < WINDOW;
            g.rows = rows;
            g.row = row.min(g.rows.len().saturating_sub(1));
            g.col = col;
        }
    }

    fn set_sort(&mut self, arg: &str) {
        let Some(g) = &mut self.grid else { return };
        let mut words = arg.split_whitespace();
        match words.next() {
            None => {
                g.order = if g.key.is_empty() { Order::Offset { sort: None } } else { Order::Key }
            }
            Some(col) => {
                let Some(name) = g.columns.iter().find(|c| c.eq_ignore_ascii_case(col)) else {
                    self.status = Some(Status::Error(format!("no column {col}")));
                    return;
                };
                let desc = words.next().is_some_and(|w| w.eq_ignore_ascii_case("desc"));
                g.order = Order::Offset { sort: Some((name.clone(), desc)) };
            }
        }
        self.jump_start();
    }

    fn export_csv(&mut self, path: &str) {
        let Some(g) = &self.grid else {
            self.status = Some(Status::Error(":w writes the open table; open one first".into()));
            return;
        };
        let sql = Self::grid_sql(g, Page::First);
        let sql = sql.rsplit_once(" limit ").map_or(sql.clone(), |(head, _)| head.to_string());
        let Some(result) = self.query(&sql) else { return };
        let mut out = String::new();
        let line = |cells: Vec<String>| cells.join(",") + "\n";
        out.push_str(&line(result.columns.iter().map(|c| csv_field(c)).collect()));
        for row in &result.rows {
            out.push_str(&line(
                row.iter().map(|v| v.as_deref().map(csv_field).unwrap_or_default()).collect(),
            ));
        }
        self.status = Some(match std::fs::write(path, out) {
            Ok(()) => Status::Info(format!("wrote {} rows to {path}", result.rows.len())),
            Err(e) => Status::Error(format!("could not write {path}: {e}")),
        });
    }

    fn start_edit(&mut self) {
        let Some(g) = &self.grid else { return };
        if !matches!(self.view, View::Grid) || g.rows.is_empty() {
            return;
        }
        if g.key.is_empty() {
            self.status = Some(Status::Error("editing needs a primary key".into()));
            return;
        }
        let value = g.rows[g.row][g.col].clone().unwrap_or_default();
        self.input = Some(Input::Edit(value));
    }

    fn finish_edit(&mut self, value: &str) {
        let Some(g) = &self.grid else { return };
        let row = &g.rows[g.row];
        let sql = format!(
            "update {}.{} set {} = cast({} as {}) where {}",
            ident(&g.schema),
            ident(&g.table),
            ident(&g.columns[g.col]),
            literal(value),
            g.types[g.col],
            key_condition(g, row, "=")
        );
        if !self.in_transaction {
            if self.query("begin").is_none() {
                return;
            }
            self.in_transaction = true;
        }
        if let Some(r) = self.query(&sql) {
            self.status = Some(Status::Info(format!(
                "{} — in a transaction: :commit or :rollback",
                r.tag.replace("OK", "UPDATE")
            )));
            if let Some(g) = &mut self.grid {
                let (row, col) = (g.row, g.col);
                g.rows[row][col] = Some(value.to_string());
            }
        } else {
            // A failed statement aborts the transaction, as in PostgreSQL.
            let _ = self.source.query("rollback");
            self.in_transaction = false;
        }
    }
}

/// Which window of a grid to fetch.
#[derive(Clone, Copy)]
enum Page<'a> {
    First,
    Last,
    After(&'a Vec<Option<String>>),
    Before(&'a Vec<Option<String>>),
    /// From this row on (itself included).
    From(&'a Vec<Option<String>>),
    Offset(u64),
}

/// A page whose anchor row is owned (so the grid can be borrowed mutably meanwhile).
enum OwnedPage {
    First,
    Last,
    After(Vec<Option<String>>),
    Before(Vec<Option<String>>),
    From(Vec<Option<String>>),
    Offset(u64),
}

impl Page<'_> {
    fn owned(self) -> OwnedPage {
        match self {
            Page::First => OwnedPage::First,
            Page::Last => OwnedPage::Last,
            Page::After(r) => OwnedPage::After(r.clone()),
            Page::Before(r) => OwnedPage::Before(r.clone()),
            Page::From(r) => OwnedPage::From(r.clone()),
            Page::Offset(n) => OwnedPage::Offset(n),
        }
    }
}

impl OwnedPage {
    fn borrowed(&self) -> Page<'_> {
        match self {
            OwnedPage::First => Page::First,
            OwnedPage::Last => Page::Last,
            OwnedPage::After(r) => Page::After(r),
            OwnedPage::Before(r) => Page::Before(r),
            OwnedPage::From(r) => Page::From(r),
            OwnedPage::Offset(n) => Page::Offset(*n),
        }
    }
}

/// `key op row's key`, for a key of one or more columns: `(a, b) >= (1, 2)` spelled out as
/// `a > 1 or (a = 1 and b >= 2)`, each value cast to its column's type.
fn key_condition(grid: &Grid, row: &[Option<String>], op: &str) -> String {
    let strict = op.trim_end_matches('=');
    let term = |k: usize, op: &str| {
        let value = row[k].as_deref().unwrap_or_default();
        format!("{} {op} cast({} as {})", ident(&grid.columns[k]), literal(value), grid.types[k])
    };
    if op == "=" {
        return grid.key.iter().map(|&k| term(k, "=")).collect::<Vec<_>>().join(" and ");
    }
    let mut alternatives = Vec::new();
    for (i, &k) in grid.key.iter().enumerate() {
        let mut parts: Vec<String> = grid.key[..i].iter().map(|&e| term(e, "=")).collect();
        parts.push(term(k, if i + 1 == grid.key.len() { op } else { strict }));
        alternatives.push(format!("({})", parts.join(" and ")));
    }
    format!("({})", alternatives.join(" or "))
}

/// The character offset in `sql` an error's detail points at: PostgreSQL's "at character N"
/// (1-based), or the parser's "Line: L, Column: C".
fn error_offset(detail: &str, sql: &str) -> Option<usize> {
    if let Some((_, n)) = detail.rsplit_once("at character ") {
        let n: usize = n.trim_end_matches(')').trim().parse().ok()?;
        return Some(n.saturating_sub(1));
    }
    let (_, at) = detail.rsplit_once("Line: ")?;
    let (line, column) = at.split_once(", Column: ")?;
    let line: usize = line.trim().parse().ok()?;
    let column: usize =
        column.chars().take_while(char::is_ascii_digit).collect::<String>().parse().ok()?;
    let before: usize =
        sql.split('\n').take(line.saturating_sub(1)).map(|l| l.chars().count() + 1).sum();
    Some(before + column.saturating_sub(1))
}

fn text(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

fn csv_field(v: &str) -> String {
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_string()
    }
}
