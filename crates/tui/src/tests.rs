//! Screens of the navigator driven by key sequences over an embedded database, drawn on
//! ratatui's `TestBackend` and compared with the text captures in `tests/screens/`
//! (`OXIBASE_UPDATE_SCREENS=1` rewrites them after a deliberate change).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use crate::app::{App, Input, Status, View};
use crate::source::{Connection, Source, TextResult};

/// An embedded database with a few objects: a table of 1000 accounts, one with a
/// two-column key, a view, an index, one without a key, and a function.
fn database() -> Connection {
    let db = oxibase_sql::Database::memory().unwrap();
    let mut connection = Connection::Embedded(Box::new(db.session()));
    connection
        .run(
            "create table accounts (id int primary key, owner text, balance numeric, meta text);
             insert into accounts select g, 'owner ' || g, g * 10,
               '{\"tier\": ' || (g % 3) || ', \"tags\": [\"a\", \"b\"]}' from generate_series(1, 1000) g;
             create table pairs (a int, b int, note text, primary key (a, b));
             insert into pairs select g / 10, g % 10, 'n' || g from generate_series(0, 499) g;
             create view rich as select id, owner from accounts where balance > 9900;
             create index accounts_owner on accounts (owner);
             create table nokey (x int, y text);
             insert into nokey select g, 'y' || g from generate_series(1, 250) g;",
        )
        .unwrap();
    connection
}

/// Keys written as text: plain characters, and `<Enter>`, `<Esc>`, `<C-d>`, `<C-u>`, `<BS>`.
fn keys(text: &str) -> Vec<KeyEvent> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c == '<'
            && let Some(end) = rest.find('>')
        {
            let name = &rest[1..end];
            let key = match name {
                "Enter" => KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE),
                "Esc" => KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE),
                "BS" => KeyEvent::new(KeyCode::Backspace, KeyModifiers::NONE),
                "C-d" => KeyEvent::new(KeyCode::Char('d'), KeyModifiers::CONTROL),
                "C-u" => KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL),
                "C-r" => KeyEvent::new(KeyCode::Char('r'), KeyModifiers::CONTROL),
                _ => panic!("unknown key <{name}>"),
            };
            out.push(key);
            rest = &rest[end + 1..];
            continue;
        }
        out.push(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
        rest = &rest[c.len_utf8()..];
    }
    out
}

struct Screen<S: Source> {
    app: App<S>,
    terminal: Terminal<TestBackend>,
}

impl<S: Source> Screen<S> {
    fn new(source: S) -> Self {
        let mut screen = Screen {
            app: App::new(source),
            terminal: Terminal::new(TestBackend::new(100, 24)).unwrap(),
        };
        screen.draw();
        screen
    }

    fn draw(&mut self) -> String {
        let app = &mut self.app;
        self.terminal.draw(|f| crate::ui::render(app, f)).unwrap();
        let buffer = self.terminal.backend().buffer();
        let area = buffer.area;
        let mut text = String::new();
        for y in 0..area.height {
            let line: String = (0..area.width).map(|x| buffer[(x, y)].symbol()).collect();
            text.push_str(line.trim_end());
            text.push('\n');
        }
        text
    }

    /// Feeds keys, drawing after each (as the terminal loop does), and returns the screen.
    fn press(&mut self, text: &str) -> String {
        for key in keys(text) {
            self.app.on_key(key);
            self.draw();
        }
        self.draw()
    }
}

/// Compares a screen with its capture in `tests/screens/NAME.txt`.
fn check(name: &str, screen: &str) {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/screens/{name}.txt"));
    if std::env::var_os("OXIBASE_UPDATE_SCREENS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, screen).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!("no capture {}; run with OXIBASE_UPDATE_SCREENS=1", path.display())
    });
    assert_eq!(screen, expected, "screen {name} differs from {}", path.display());
}

fn cursor<S: Source>(app: &App<S>) -> (Option<String>, String) {
    let g = app.grid.as_ref().unwrap();
    (g.rows[g.row][g.col].clone(), g.columns[g.col].clone())
}

#[test]
fn the_tree_lists_schemas_and_their_objects() {
    let mut s = Screen::new(database());
    check("tree", &s.draw());
}

#[test]
fn search_in_the_tree_jumps_and_enter_opens_a_table() {
    let mut s = Screen::new(database());
    s.press("/pai<Enter>");
    assert_eq!(s.app.tree.entries[s.app.tree.selected].name, "pairs");
    s.press("gg/acc<Enter>");
    assert_eq!(s.app.tree.entries[s.app.tree.selected].name, "accounts");
    s.press("n");
    assert_eq!(
        s.app.tree.entries[s.app.tree.selected].name, "accounts_owner",
        "n finds the next match"
    );
    s.press("N");
    assert_eq!(s.app.tree.entries[s.app.tree.selected].name, "accounts");
    let screen = s.press("<Enter>");
    assert!(matches!(s.app.view, View::Grid));
    check("grid", &screen);
}

#[test]
fn the_grid_pages_by_key_through_the_whole_table() {
    let mut s = Screen::new(database());
    s.press("/accounts<Enter><Enter>");
    // Down past the first window (100 rows) and back: key pagination both ways.
    s.press("<C-d><C-d><C-d><C-d><C-d><C-d><C-d><C-d><C-d><C-d><C-d><C-d>");
    assert_eq!(s.app.page_rows, 19);
    assert_eq!(cursor(&s.app).0.as_deref(), Some("109"), "12 half pages of 9 rows");
    s.press("<C-u><C-u><C-u>");
    assert_eq!(cursor(&s.app).0.as_deref(), Some("82"));
    let screen = s.press("G");
    assert_eq!(cursor(&s.app).0.as_deref(), Some("1000"));
    check("grid-end", &screen);
    s.press("kkk");
    assert_eq!(cursor(&s.app).0.as_deref(), Some("997"));
    s.press("gg");
    assert_eq!(cursor(&s.app).0.as_deref(), Some("1"));
    // Up from the last window walks back by key too.
    s.press("G");
    for _ in 0..150 {
        s.press("k");
    }
    assert_eq!(cursor(&s.app).0.as_deref(), Some("850"));
    s.press("llll");
    assert_eq!(cursor(&s.app).1, "meta", "l stops at the last column");
    s.press("b");
    assert_eq!(cursor(&s.app).1, "id");
}

#[test]
fn a_two_column_key_and_a_table_without_key_page_correctly() {
    let mut s = Screen::new(database());
    s.press("/pairs<Enter><Enter>");
    let mut seen = Vec::new();
    for _ in 0..500 {
        seen.push(cursor(&s.app).0.unwrap());
        s.press("j");
    }
    let expected: Vec<String> = (0..500).map(|g| (g / 10).to_string()).collect();
    assert_eq!(seen, expected, "every row once, in key order");
    s.press("l");
    assert_eq!(cursor(&s.app).0.as_deref(), Some("9"));
    s.press("<Esc>/nokey<Enter><Enter>");
    for _ in 0..249 {
        s.press("j");
    }
    assert_eq!(cursor(&s.app).0.as_deref(), Some("250"));
    s.press("G");
    assert_eq!(cursor(&s.app).0.as_deref(), Some("250"));
}

#[test]
fn search_finds_values_beyond_the_loaded_rows() {
    let mut s = Screen::new(database());
    s.press("/accounts<Enter><Enter>");
    s.press("/owner 555<Enter>");
    assert_eq!(cursor(&s.app), (Some("owner 555".into()), "owner".into()));
    s.press("/owner 55<Enter>");
    assert_eq!(cursor(&s.app).0.as_deref(), Some("owner 556"), "the next match after the cursor");
    s.press("N");
    assert_eq!(cursor(&s.app).0.as_deref(), Some("owner 555"));
    s.press("/no such thing<Enter>");
    assert_eq!(s.app.status, Some(Status::Error("not found: no such thing".into())));
}

#[test]
fn sort_filter_detail_and_csv_export() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Screen::new(database());
    s.press("/accounts<Enter><Enter>");
    s.press(":sort balance desc<Enter>");
    assert_eq!(cursor(&s.app).0.as_deref(), Some("1000"));
    s.press(":filter id % 100 = 0<Enter>");
    let screen = s.press("jj");
    assert_eq!(cursor(&s.app).0.as_deref(), Some("800"));
    check("grid-sorted-filtered", &screen);
    let screen = s.press("$<Enter>");
    assert!(matches!(s.app.view, View::Detail));
    check("detail", &screen);
    let file = dir.path().join("out.csv");
    s.press(&format!("<Esc>:w {}<Enter>", file.display()));
    let csv = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 11, "a header and the ten filtered rows: {csv}");
    assert_eq!(
        lines[1],
        "1000,owner 1000,10000,\"{\"\"tier\"\": 1, \"\"tags\"\": [\"\"a\"\", \"\"b\"\"]}\""
    );
    s.press(":sort<Enter>:filter<Enter>");
    assert_eq!(cursor(&s.app).0.as_deref(), Some("{\"tier\": 1, \"tags\": [\"a\", \"b\"]}"));
}

#[test]
fn an_edit_runs_in_a_transaction_the_user_ends() {
    let mut s = Screen::new(database());
    s.press("/accounts<Enter><Enter>jl");
    s.press("i");
    assert_eq!(s.app.input, Some(Input::Edit("owner 2".into())));
    let screen = s.press("<BS><BS><BS><BS><BS><BS><BS>renamed<Enter>");
    assert!(s.app.in_transaction);
    check("grid-edited", &screen);
    let read = |s: &mut Screen<Connection>| {
        s.app.source.query("select owner from accounts where id = 2").unwrap().rows[0][0].clone()
    };
    assert_eq!(read(&mut s).as_deref(), Some("renamed"), "visible inside the transaction");
    s.press(":rollback<Enter>");
    assert!(!s.app.in_transaction);
    assert_eq!(read(&mut s).as_deref(), Some("owner 2"));
    assert_eq!(
        cursor(&s.app).0.as_deref(),
        Some("owner 2"),
        "the grid shows the rolled back value"
    );
    s.press("i<BS><BS><BS><BS><BS><BS><BS>kept<Enter>:commit<Enter>");
    assert_eq!(read(&mut s).as_deref(), Some("kept"));
    // A value the column's type refuses: the error with its SQLSTATE, nothing changed.
    s.press("li<BS><BS><BS><BS>x<Enter>");
    let status = s.app.status.clone();
    assert!(
        matches!(&status, Some(Status::Error(e)) if e.starts_with("ERROR 22P02")),
        "{status:?}"
    );
    assert!(!s.app.in_transaction);
}

#[test]
fn errors_show_their_sqlstate_and_quit_leaves() {
    let mut s = Screen::new(database());
    s.press(":nonsense<Enter>");
    assert_eq!(s.app.status, Some(Status::Error("unknown command :nonsense".into())));
    s.app.source.run("drop table nokey").unwrap();
    let screen = s.press("/nokey<Enter><Enter>");
    assert!(screen.contains("ERROR 42P01"), "{screen}");
    s.press(":q<Enter>");
    assert!(s.app.quit);
}

#[test]
fn keys_are_parsed_from_text() {
    assert_eq!(keys("a<Enter>").len(), 2);
    assert_eq!(keys("<C-d>")[0].modifiers, KeyModifiers::CONTROL);
    let _ = TextResult::default();
}

#[test]
fn the_monitor_charts_rates_and_lists_sessions_and_waits() {
    use crate::monitor::{Sample, SessionRow, WaitRow};
    let mut s = Screen::new(database());
    s.app.view = View::Monitor;
    // Five known readings a second apart: rates rise, then hold.
    for i in 0..5u64 {
        s.app.monitor.push(Sample {
            at_micros: i as i64 * 1_000_000,
            commits: 1000 * i * i,
            rollbacks: 3 * i,
            rows_read: 50_000 * i,
            rows_written: 2000 * i,
            io_ops: Some(400 * i),
            io_bytes: Some(1 << (10 + 2 * i)),
            wal_fsyncs: 100 * i,
            wal_fsync_micros: 12_000 * i,
            lock_waits: i / 2,
            cache_hits: 900 * i,
            cache_misses: 100 * i,
        });
    }
    s.app.monitor.sessions = vec![
        SessionRow {
            pid: "7".into(),
            user: "oxibase".into(),
            state: "idle in transaction".into(),
            running: String::new(),
            wait: String::new(),
            locks: 1,
            query: "update accounts set balance = 0 where id = 1".into(),
        },
        SessionRow {
            pid: "9".into(),
            user: "app".into(),
            state: "active".into(),
            running: "00:00:02.5".into(),
            wait: "tuple".into(),
            locks: 0,
            query: "update accounts set balance = 1 where id = 1".into(),
        },
    ];
    s.app.monitor.waits = vec![WaitRow {
        pid: "9".into(),
        blockers: "{7}".into(),
        waited: "00:00:02.5".into(),
        mode: "ExclusiveLock".into(),
        relation: "accounts".into(),
    }];
    check("monitor", &s.press("j"));
    assert_eq!(s.app.monitor.selected_pid(), Some("9"));
}

#[test]
fn the_monitor_reads_a_live_database_and_cancels_a_waiting_session() {
    let db = oxibase_sql::Database::memory().unwrap();
    let mut source = Connection::Embedded(Box::new(db.session()));
    source.run("create table t (id int primary key, v int); insert into t values (1, 0)").unwrap();
    let mut s = Screen::new(source);
    s.press("m");
    assert!(matches!(s.app.view, View::Monitor));
    let before = s.app.monitor.last.unwrap();
    for i in 0..30 {
        s.app.source.run(&format!("update t set v = {i} where id = 1")).unwrap();
    }
    s.app.tick();
    let after = s.app.monitor.last.unwrap();
    let rates = *s.app.monitor.rates.back().unwrap();
    assert!((30..40).contains(&(after.commits - before.commits)), "{before:?} {after:?}");
    assert!(after.rows_written - before.rows_written >= 30);
    assert!(rates.commits > 0.0 && rates.rows_written > 0.0, "{rates:?}");
    // A session holds the row; another waits for it.
    let mut holder = db.session();
    holder.execute("begin").unwrap();
    holder.execute("update t set v = 100 where id = 1").unwrap();
    let mut waiter = db.session();
    let waiter_pid = waiter.pid();
    let waiting = std::thread::spawn(move || waiter.execute("update t set v = 200 where id = 1"));
    let mut found = false;
    for _ in 0..100 {
        s.app.tick();
        if !s.app.monitor.waits.is_empty() {
            found = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(found, "no lock wait seen");
    s.app.tick(); // sessions are read before waits: once more, so both show it
    let wait = s.app.monitor.waits[0].clone();
    assert_eq!(wait.pid, waiter_pid.to_string());
    assert_eq!(wait.blockers, format!("{{{}}}", holder.pid()));
    assert_eq!(wait.mode, "ExclusiveLock");
    assert_eq!(wait.relation, "t");
    let screen = s.draw();
    assert!(screen.contains(&format!("pid {waiter_pid} waits")), "{screen}");
    // Select the waiting session and cancel its statement.
    let at = s.app.monitor.sessions.iter().position(|r| r.pid == waiter_pid.to_string()).unwrap();
    assert_eq!(s.app.monitor.sessions[at].wait, "tuple");
    let holder_row =
        s.app.monitor.sessions.iter().find(|r| r.pid == holder.pid().to_string()).unwrap();
    assert!(holder_row.locks >= 1, "the holder's row lock shows");
    s.press("gg");
    for _ in 0..at {
        s.press("j");
    }
    s.press("c");
    assert_eq!(
        s.app.status,
        Some(Status::Info(format!("cancelled the statement of session {waiter_pid}")))
    );
    let err = waiting.join().unwrap().unwrap_err();
    assert_eq!(err.code().as_str(), "57014");
    holder.execute("commit").unwrap();
    s.app.tick();
    assert!(s.app.monitor.waits.is_empty());
    // t ends the selected session (a server closes its connection; here the flag is set).
    let at = s.app.monitor.sessions.iter().position(|r| r.pid == holder.pid().to_string()).unwrap();
    s.press("gg");
    for _ in 0..at {
        s.press("j");
    }
    s.press("t");
    assert_eq!(s.app.status, Some(Status::Info(format!("terminated session {}", holder.pid()))));
    assert!(holder.terminated());
    s.press("<Esc>");
    assert!(matches!(s.app.view, View::Tree));
}

#[test]
fn the_query_editor_runs_the_statement_under_the_cursor() {
    let mut s = Screen::new(database());
    s.press("e");
    assert!(matches!(s.app.view, View::Editor));
    s.press("select count(*) as n from accounts;<Enter>select id, owner from accounts where id < 4 order by id desc;");
    s.press("<C-r>");
    let screen = s.draw();
    assert_eq!(s.app.grid.as_ref().unwrap().rows.len(), 3, "the second statement ran");
    check("editor", &screen);
    // Up to the first statement and run it.
    s.app.on_key(KeyEvent::new(KeyCode::Up, KeyModifiers::NONE));
    s.press("<C-r>");
    assert_eq!(s.app.grid.as_ref().unwrap().rows, vec![vec![Some("1000".to_string())]]);
    // Tab shows the result fullscreen; Esc comes back.
    s.press("<Esc>e");
    s.app.on_key(KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE));
    assert!(matches!(s.app.view, View::Grid));
    s.press("<Esc>");
    assert!(matches!(s.app.view, View::Editor));
    // History: ^p brings back the last statement run.
    s.app.editor.set_text("");
    s.app.on_key(KeyEvent::new(KeyCode::Char('p'), KeyModifiers::CONTROL));
    assert_eq!(s.app.editor.text(), "select count(*) as n from accounts;");
    // An error: its SQLSTATE, and the cursor where the parser stopped.
    s.app.editor.set_text("select 1;\nselect * frm accounts");
    s.press("<C-r>");
    let status = s.app.status.clone();
    assert!(
        matches!(&status, Some(Status::Error(e)) if e.starts_with("ERROR 42601")),
        "{status:?}"
    );
    assert_eq!((s.app.editor.row, s.app.editor.col), (1, 13), "at `accounts`");
    // Transactions typed in the editor show in the title.
    s.app.editor.set_text("begin;");
    s.press("<C-r>");
    assert!(s.app.in_transaction);
    s.app.editor.set_text("rollback;");
    s.press("<C-r>");
    assert!(!s.app.in_transaction);
    // :q quits from the editor as from anywhere.
    s.press("<Enter>:q<Enter>");
    assert!(s.app.quit);
}

#[test]
fn the_debugger_steps_through_a_routine_and_stops_at_a_breakpoint() {
    let db = oxibase_sql::Database::memory().unwrap();
    oxibase_procedures::install(&db).unwrap();
    let mut source = Connection::Embedded(Box::new(db.session()));
    source
        .run(
            r#"CREATE FUNCTION twice_plus(x INTEGER) RETURNS INTEGER LANGUAGE wat AS $$
                 (module
                   (func $double (param i32) (result i32) local.get 0 i32.const 2 i32.mul)
                   (func (export "twice_plus") (param i32) (result i32) (local i32)
                     local.get 0
                     call $double
                     local.set 1
                     local.get 1
                     i32.const 1
                     i32.add)) $$"#,
        )
        .unwrap();
    let mut s = Screen::new(source);
    s.press("/twice<Enter><Enter>");
    assert!(matches!(s.app.view, View::Debugger));
    assert_eq!(s.app.input, Some(Input::Command("debug select twice_plus(".into())));
    s.press("20)<Enter>");
    let session = s.app.debugger.session.clone().unwrap();
    assert_eq!(session.status, "paused", "{:?}", s.app.status);
    let line = |s: &Screen<Connection>| {
        s.app.debugger.current_line().map(|l| s.app.debugger.lines[l].text.trim().to_string())
    };
    assert_eq!(line(&s).as_deref(), Some("local.get 0"));
    s.press("ss");
    assert_eq!(line(&s).as_deref(), Some("local.get 0"), "into $double");
    assert_eq!(s.app.debugger.session.as_ref().unwrap().frames.len(), 2);
    assert_eq!(s.app.debugger.session.as_ref().unwrap().frames[0].2, vec!["i32 20".to_string()]);
    s.press("o");
    assert_eq!(line(&s).as_deref(), Some("local.set 1"), "out to the caller");
    check("debugger", &s.draw());
    // A breakpoint on `i32.add`, then continue: stops there with the operands on the stack.
    let add = s.app.debugger.lines.iter().position(|l| l.text.trim() == "i32.add").unwrap();
    s.app.debugger.cursor = add;
    s.press("b");
    assert_eq!(s.app.debugger.session.as_ref().unwrap().breakpoints.len(), 1);
    s.press("c");
    assert_eq!(line(&s).as_deref(), Some("i32.add"));
    assert_eq!(s.app.debugger.session.as_ref().unwrap().frames[0].3, vec!["i32 40", "i32 1"]);
    s.press("c");
    let session = s.app.debugger.session.clone().unwrap();
    assert_eq!(
        (session.status.as_str(), session.result.as_deref()),
        ("finished", Some("SELECT 1 (41)"))
    );
    s.press(":rollback<Enter>");
    assert_eq!(s.app.debugger.session.as_ref().unwrap().ended.as_deref(), Some("ROLLBACK"));
    s.press("<Esc>");
    assert!(matches!(s.app.view, View::Tree));
}

#[test]
fn the_debugger_shows_the_statements_and_rows_of_a_procedure() {
    let db = oxibase_sql::Database::memory().unwrap();
    oxibase_procedures::install(&db).unwrap();
    let mut source = Connection::Embedded(Box::new(db.session()));
    let module: String = include_bytes!("../../guest/modules/transfer.wasm")
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    source
        .run(&format!(
            "create table accounts (id bigint primary key, balance bigint not null);
             insert into accounts select i, 1000 from generate_series(1, 3) i;
             create procedure transfer(src bigint, dst bigint, amount bigint) language wasm as '\\x{module}'"
        ))
        .unwrap();
    let mut s = Screen::new(source);
    s.press("/transfer<Enter><Enter>1, 2, 100)<Enter>");
    assert_eq!(
        s.app.debugger.session.as_ref().map(|s| s.status.as_str()),
        Some("paused"),
        "{:?}",
        s.app.status
    );
    s.press("c");
    let session = s.app.debugger.session.clone().unwrap();
    assert_eq!(session.status, "finished", "{session:?}");
    assert_eq!(session.writes, ["accounts: (1, 900)", "accounts: (2, 1100)"]);
    assert!(
        session.host_calls.iter().any(|c| c.contains("[100, 1]") || c.contains("100")),
        "{session:?}"
    );
    let screen = s.draw();
    assert!(
        screen.contains("accounts: (1, 900)") && screen.contains("rows its transaction wrote"),
        "{screen}"
    );
    s.press(":commit<Enter>");
    assert_eq!(s.app.debugger.session.as_ref().unwrap().ended.as_deref(), Some("COMMIT"));
    let balance = s.app.source.query("select balance from accounts where id = 2").unwrap();
    assert_eq!(balance.rows, vec![vec![Some("1100".to_string())]]);
}

#[test]
fn a_rust_routine_is_debugged_on_its_source_lines() {
    let db = oxibase_sql::Database::memory().unwrap();
    oxibase_procedures::install(&db).unwrap();
    let mut source = Connection::Embedded(Box::new(db.session()));
    source
        .run(
            "CREATE FUNCTION sum_to(n BIGINT) RETURNS BIGINT LANGUAGE rust AS $$
let mut total = 0i64;
let mut i = 1i64;
while i <= n {
    total += i * i;
    i += 1;
}
total
$$",
        )
        .unwrap();
    let mut s = Screen::new(source);
    s.press("/sum_to<Enter><Enter>3)<Enter>");
    assert!(s.app.debugger.by_line, "{:?}", s.app.debugger.session);
    let screen = s.draw();
    assert!(screen.contains("sum_to (source)") && screen.contains("▶"), "{screen}");
    let first = s.app.debugger.current_line().unwrap();
    // A breakpoint on the line it stopped at (inside the loop): continue comes back to it.
    s.app.debugger.cursor = first;
    s.press("b");
    assert_eq!(s.app.debugger.session.as_ref().unwrap().line_breakpoints, vec![first as u32 + 1]);
    s.press("c");
    let session = s.app.debugger.session.clone().unwrap();
    assert_eq!(
        (session.status.as_str(), s.app.debugger.current_line()),
        ("paused", Some(first)),
        "{session:?}"
    );
    // Stepping moves by source lines, and ends with the result.
    s.press("b");
    for _ in 0..100 {
        if s.app.debugger.session.as_ref().unwrap().status != "paused" {
            break;
        }
        s.press("s");
    }
    assert_eq!(s.app.debugger.session.as_ref().unwrap().result.as_deref(), Some("SELECT 1 (14)"));
    s.press("a");
    assert_eq!(s.app.debugger.session.as_ref().unwrap().ended.as_deref(), Some("ROLLBACK"));
}
