//! `oxibase tui`: a terminal UI over a running server (or an embedded database).
//!
//! The data navigator: a tree of schemas, tables, views, procedures and indexes; a table
//! grid with vim motions, paged by primary key so tables of millions of rows open at once;
//! `/` search with `n`/`N`; a row's detail; `:sort`, `:filter`, `:w file.csv`; cell edits
//! inside an explicit transaction; a query editor (`e`). The performance monitor (`m`):
//! per-second charts of the server's counters, its sessions (cancel one with `c`) and who
//! waits for whom. The procedure debugger (Enter on a procedure): its module as WAT with
//! offsets, step into / over / out, continue, breakpoints, frames with locals and operand
//! stack, the statements it ran, through the server's `oxibase_debug_*` functions.
//!
//! - [`source`]: the database as text (server or embedded), shared with `oxibase sql`.
//! - [`app`]: state and keys, no terminal; [`ui`]: drawing it with ratatui.
//!
//! The terminal is put back (raw mode off, main screen) on every exit, including a panic.

pub mod app;
mod debugger;
mod editor;
mod monitor;
pub mod source;
pub mod ui;

use std::io::Write;
use std::time::Duration;

use crossterm::event::{self, Event, KeyEventKind};
use crossterm::terminal::{EnterAlternateScreen, LeaveAlternateScreen};
use oxibase_common::{Result, errinput};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

use crate::app::App;
use crate::source::Source;

fn io_error(e: std::io::Error) -> oxibase_common::Error {
    errinput!(IO_ERROR, "terminal: {e}")
}

/// Leaves raw mode and the alternate screen (idempotent, errors ignored: it runs on the way
/// out, from a panic too).
fn restore_terminal() {
    let _ = crossterm::terminal::disable_raw_mode();
    let mut out = std::io::stdout();
    let _ = crossterm::execute!(out, LeaveAlternateScreen, crossterm::cursor::Show);
    let _ = out.flush();
}

/// Runs the navigator on this terminal until `:q`.
pub fn run<S: Source>(source: S) -> Result<()> {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore_terminal();
        previous(info);
    }));
    crossterm::terminal::enable_raw_mode().map_err(io_error)?;
    let result = (|| {
        crossterm::execute!(std::io::stdout(), EnterAlternateScreen).map_err(io_error)?;
        let mut terminal =
            Terminal::new(CrosstermBackend::new(std::io::stdout())).map_err(io_error)?;
        let mut app = App::new(source);
        let mut last_tick = std::time::Instant::now();
        // Fault injection for the terminal-restore test: panic once the screen is drawn.
        let panic_after_draw = std::env::var_os("OXIBASE_TUI_TEST_PANIC").is_some();
        while !app.quit {
            if app.monitoring() && last_tick.elapsed() >= Duration::from_secs(1) {
                app.tick();
                last_tick = std::time::Instant::now();
            }
            terminal.draw(|frame| ui::render(&mut app, frame)).map_err(io_error)?;
            if panic_after_draw {
                panic!("OXIBASE_TUI_TEST_PANIC: a panic with the TUI on screen");
            }
            if !event::poll(Duration::from_millis(200)).map_err(io_error)? {
                continue;
            }
            match event::read().map_err(io_error)? {
                Event::Key(key) if key.kind == KeyEventKind::Press => app.on_key(key),
                _ => {}
            }
        }
        Ok(())
    })();
    restore_terminal();
    result
}

#[cfg(test)]
mod tests;
