//! `oxibase tui` in a real terminal (tmux) against a running server: the tree shows the
//! tables, `/name Enter Enter` opens one, Ctrl-d pages down past the first fetched window,
//! `/` finds a row further on, `:q` quits and gives the terminal back; a server restart
//! shows an error and the next key reconnects.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{Server, runtime};

struct Tmux(String);

impl Tmux {
    fn start(command: &str) -> Tmux {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("oxibase_tui_test_{}_{n}", std::process::id());
        let status = Command::new("tmux")
            .args(["new-session", "-d", "-s", &name, "-x", "120", "-y", "30", command])
            .status()
            .expect("tmux must be installed (.ci/run installs it)");
        assert!(status.success());
        Tmux(name)
    }

    fn screen(&self) -> String {
        let out =
            Command::new("tmux").args(["capture-pane", "-p", "-t", &self.0]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Sends keys (tmux key names), then waits a moment for the screen to settle: an Escape
    /// followed at once by another key would read as Alt+key.
    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", &self.0];
        args.extend_from_slice(keys);
        assert!(Command::new("tmux").args(&args).status().unwrap().success());
        std::thread::sleep(Duration::from_millis(300));
    }

    /// Waits until the screen shows `text`; the screen on failure.
    fn wait_for(&self, text: &str) -> Result<String, String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return Ok(screen);
            }
            if Instant::now() > deadline {
                return Err(screen);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux").args(["kill-session", "-t", &self.0]).status();
    }
}

#[test]
fn the_tui_opens_pages_searches_and_quits_in_a_real_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::trust(&dir.path().join("data"));
    runtime().block_on(async {
        let c = server.connect().await;
        c.batch_execute(
            "CREATE TABLE zebra_facts (id int PRIMARY KEY, fact text);
             INSERT INTO zebra_facts SELECT g, 'stripe number ' || g FROM generate_series(1, 500) g;
             CREATE TABLE other (id int PRIMARY KEY)",
        )
        .await
        .unwrap();
    });
    let url = format!("postgres://oxibase@127.0.0.1:{}/oxibase", server.port);
    // `; sleep` keeps the pane after the TUI exits, to see what it left on the terminal.
    let tmux = Tmux::start(&format!(
        "{} tui --url {url}; echo TUI-EXITED; sleep 30",
        env!("CARGO_BIN_EXE_oxibase")
    ));
    tmux.wait_for("zebra_facts").unwrap_or_else(|s| panic!("tree not shown:\n{s}"));
    tmux.keys(&["/", "zebra", "Enter"]);
    tmux.keys(&["Enter"]);
    tmux.wait_for("stripe number 25").unwrap_or_else(|s| panic!("rows not shown:\n{s}"));
    // Ten half pages of 12 rows (25 on screen): past the first window of 100 rows.
    for _ in 0..10 {
        tmux.keys(&["C-d"]);
    }
    let screen = tmux.wait_for("row 121 of").unwrap_or_else(|s| panic!("paging:\n{s}"));
    assert!(screen.contains("stripe number 121"), "{screen}");
    tmux.keys(&["/", "number 432", "Enter"]);
    tmux.wait_for("row 432 of").unwrap_or_else(|s| panic!("search:\n{s}"));
    tmux.keys(&["gg"]);
    tmux.wait_for("row 1 of").unwrap_or_else(|s| panic!("gg:\n{s}"));
    // The server goes away: an error with the connection's SQLSTATE class; back, and the
    // next key reconnects.
    let data = dir.path().join("data");
    let port = server.port;
    server.stop();
    tmux.keys(&["j"]);
    tmux.keys(&["G"]);
    tmux.wait_for("ERROR 08").unwrap_or_else(|s| panic!("lost connection not reported:\n{s}"));
    let server = Server::start_at(port, &data, &["--auth", "trust"], &[]);
    tmux.keys(&["G"]);
    tmux.wait_for("stripe number 500").unwrap_or_else(|s| panic!("no reconnect:\n{s}"));
    tmux.keys(&["Escape"]);
    tmux.keys(&[":q", "Enter"]);
    let screen = tmux.wait_for("TUI-EXITED").unwrap_or_else(|s| panic!(":q did not quit:\n{s}"));
    assert!(!screen.contains("stripe number"), "the alternate screen was not left:\n{screen}");
    drop(server);
}

#[test]
fn a_panic_gives_the_terminal_back() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::trust(&dir.path().join("data"));
    let url = format!("postgres://oxibase@127.0.0.1:{}/oxibase", server.port);
    // After the TUI dies, the shell reports the terminal's modes: canonical input and echo
    // are back (raw mode off), and the alternate screen is gone.
    let tmux = Tmux::start(&format!(
        "OXIBASE_TUI_TEST_PANIC=1 {} tui --url {url}; stty -a | tr ' ' '\\n' | grep -xE -- '-?(icanon|echo)' | tr '\\n' ' '; echo TUI-EXITED; sleep 30",
        env!("CARGO_BIN_EXE_oxibase")
    ));
    let screen = tmux.wait_for("TUI-EXITED").unwrap_or_else(|s| panic!("did not exit:\n{s}"));
    assert!(screen.contains("icanon echo"), "raw mode left on:\n{screen}");
    assert!(screen.contains("OXIBASE_TUI_TEST_PANIC"), "the panic message is shown:\n{screen}");
    assert!(!screen.contains("oxibase tui │"), "the TUI's screen is still there:\n{screen}");
}
