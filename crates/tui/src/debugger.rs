//! The procedure debugger: a routine's module as WAT text with each instruction's offset,
//! driven through the server's debug session functions (`oxibase_debug_*`): step into /
//! over / out, continue, breakpoints on WAT lines, the call stack with each frame's locals
//! and operand stack, and the statements the routine ran.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

/// One line of the WAT text.
pub(crate) struct WatLine {
    pub(crate) text: String,
    /// The byte offset of what the line shows (instructions: the instruction).
    pub(crate) offset: Option<u32>,
    /// The function the line belongs to (its index in the module, imports counted).
    pub(crate) function: Option<u32>,
}

/// What the debug session said last (its JSON state, read).
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Session {
    pub(crate) id: i64,
    pub(crate) status: String,
    pub(crate) frames: Vec<(u32, u32, Vec<String>, Vec<String>)>,
    /// Each frame's source line, when the module maps lines.
    pub(crate) lines: Vec<Option<u32>>,
    pub(crate) line_breakpoints: Vec<u32>,
    pub(crate) host_calls: Vec<String>,
    pub(crate) writes: Vec<String>,
    pub(crate) breakpoints: Vec<(u32, u32)>,
    pub(crate) result: Option<String>,
    pub(crate) error: Option<String>,
    pub(crate) ended: Option<String>,
}

impl Session {
    pub(crate) fn parse(json: &str) -> Option<Session> {
        let v: serde_json::Value = serde_json::from_str(json).ok()?;
        let strings = |v: &serde_json::Value| -> Vec<String> {
            v.as_array()
                .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
                .unwrap_or_default()
        };
        let text = |v: &serde_json::Value| v.as_str().map(str::to_string);
        Some(Session {
            id: v["id"].as_i64()?,
            status: text(&v["status"])?,
            frames: v["frames"]
                .as_array()?
                .iter()
                .map(|f| {
                    let n = |k: &str| f[k].as_u64().unwrap_or(0) as u32;
                    (n("function"), n("pc"), strings(&f["locals"]), strings(&f["stack"]))
                })
                .collect(),
            lines: v["frames"]
                .as_array()?
                .iter()
                .map(|f| f["line"].as_u64().map(|l| l as u32))
                .collect(),
            line_breakpoints: v["line_breakpoints"]
                .as_array()
                .map(|a| a.iter().filter_map(|l| l.as_u64().map(|l| l as u32)).collect())
                .unwrap_or_default(),
            host_calls: v["host_calls"]
                .as_array()?
                .iter()
                .map(|c| {
                    let params = strings(&c["params"]).join(", ");
                    let outcome = match (c["rows"].as_u64(), c["error"].as_str()) {
                        (Some(n), _) => format!("{n} row{}", if n == 1 { "" } else { "s" }),
                        (None, Some(e)) => format!("ERROR {e}"),
                        _ => String::new(),
                    };
                    format!("{} [{params}] → {outcome}", c["sql"].as_str().unwrap_or_default())
                })
                .collect(),
            writes: strings(&v["writes"]),
            breakpoints: v["breakpoints"]
                .as_array()?
                .iter()
                .filter_map(|b| Some((b[0].as_u64()? as u32, b[1].as_u64()? as u32)))
                .collect(),
            result: text(&v["result"]),
            error: text(&v["error"]),
            ended: text(&v["ended"]),
        })
    }
}

/// The debugger's state: the module's text, the cursor, the session.
#[derive(Default)]
pub(crate) struct Debugger {
    pub(crate) routine: String,
    pub(crate) lines: Vec<WatLine>,
    pub(crate) cursor: usize,
    pub(crate) top: usize,
    pub(crate) session: Option<Session>,
    /// The routine's source (Rust, TypeScript), shown instead of the WAT once stops carry
    /// lines.
    pub(crate) source: Option<Vec<String>>,
    /// Showing the source (the cursor is then a source line, 0-based).
    pub(crate) by_line: bool,
}

/// Decodes PostgreSQL's bytea text (`\x0061...`).
pub(crate) fn bytea(text: &str) -> Option<Vec<u8>> {
    let hex = text.strip_prefix("\\x")?;
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok()).collect()
}

/// A module as WAT lines with their offsets and functions.
pub(crate) fn wat_lines(wasm: &[u8]) -> Result<Vec<WatLine>, String> {
    let mut out = String::new();
    wasmprinter::Config::new()
        .print_offsets(true)
        .print(wasm, &mut wasmprinter::PrintFmtWrite(&mut out))
        .map_err(|e| e.to_string())?;
    let mut function = None;
    let mut lines = Vec::new();
    for raw in out.lines() {
        let (offset, text) = match raw.strip_prefix("(;@").and_then(|r| r.split_once(";)")) {
            Some((hex, rest)) => (u32::from_str_radix(hex.trim(), 16).ok(), rest.to_string()),
            None => (None, raw.to_string()),
        };
        let trimmed = text.trim_start();
        if trimmed.starts_with("(func ") {
            // `(func $name (;3;) ...`: the index is the first `(;N;)`.
            function = trimmed
                .split("(;")
                .nth(1)
                .and_then(|r| r.split(";)").next())
                .and_then(|n| n.parse().ok());
        } else if !trimmed.starts_with(' ') && !text.starts_with("    ") && trimmed.starts_with('(')
        {
            function = None; // another module field
        }
        lines.push(WatLine { text, offset, function });
    }
    Ok(lines)
}

impl Debugger {
    /// The line showing the innermost frame's instruction (in the source when shown).
    pub(crate) fn current_line(&self) -> Option<usize> {
        let session = self.session.as_ref()?;
        if self.by_line {
            return session.lines.first().copied().flatten().map(|l| l as usize - 1);
        }
        let (function, pc, _, _) = session.frames.first()?;
        self.line_of(*function, *pc)
    }

    /// Takes a new state: shows the source once the stops carry lines.
    pub(crate) fn update(&mut self, session: Session) {
        if self.source.is_some() && session.lines.first().copied().flatten().is_some() {
            self.by_line = true;
        }
        self.session = Some(session);
        if let Some(line) = self.current_line() {
            self.cursor = line;
        }
    }

    /// How many lines the shown text has.
    pub(crate) fn len(&self) -> usize {
        match (&self.source, self.by_line) {
            (Some(source), true) => source.len(),
            _ => self.lines.len(),
        }
    }

    fn line_of(&self, function: u32, pc: u32) -> Option<usize> {
        self.lines.iter().position(|l| l.offset == Some(pc) && l.function == Some(function))
    }

    /// The breakpoint the cursor's line stands for: (function, offset) of an instruction, or
    /// (-1, line) of a source line.
    pub(crate) fn cursor_location(&self) -> Option<(i64, u32)> {
        if self.by_line {
            return Some((-1, self.cursor as u32 + 1));
        }
        let line = self.lines.get(self.cursor)?;
        Some((i64::from(line.function?), line.offset?))
    }
}

/// Draws the debugger.
pub(crate) fn render(d: &mut Debugger, frame: &mut Frame, area: Rect) {
    let source = source_area(area);
    let current = d.current_line();
    let height = source.height.saturating_sub(2) as usize;
    if d.cursor < d.top {
        d.top = d.cursor;
    } else if height > 0 && d.cursor >= d.top + height {
        d.top = d.cursor + 1 - height;
    }
    let breakpoints = d.session.as_ref().map(|s| s.breakpoints.clone()).unwrap_or_default();
    if let (Some(source), true) = (&d.source, d.by_line) {
        let line_breaks =
            d.session.as_ref().map(|s| s.line_breakpoints.clone()).unwrap_or_default();
        let lines: Vec<Line> = source
            .iter()
            .enumerate()
            .skip(d.top)
            .take(height)
            .map(|(i, text)| {
                let at_break = line_breaks.contains(&(i as u32 + 1));
                code_line(
                    format!("{:>4}", i + 1),
                    text,
                    Some(i) == current,
                    i == d.cursor,
                    at_break,
                )
            })
            .collect();
        frame.render_widget(
            Paragraph::new(lines)
                .block(Block::bordered().title(format!(" {} (source) ", d.routine))),
            source_area(area),
        );
        render_side(d, frame, area);
        return;
    }
    let lines: Vec<Line> = d
        .lines
        .iter()
        .enumerate()
        .skip(d.top)
        .take(height)
        .map(|(i, l)| {
            let at_break = matches!((l.function, l.offset), (Some(f), Some(o)) if breakpoints.contains(&(f, o)));
            let offset = l.offset.map(|o| format!("{o:>5x}")).unwrap_or_else(|| "     ".into());
            code_line(offset, &l.text, Some(i) == current, i == d.cursor, at_break)
        })
        .collect();
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(format!(" {} (WAT) ", d.routine))),
        source,
    );
    render_side(d, frame, area);
}

/// One line of code: a gutter (▶ where the call is, ● on a breakpoint, then a line number
/// or offset) and the text, highlighted where the call is and reversed under the cursor.
fn code_line(
    gutter: String,
    text: &str,
    current: bool,
    cursor: bool,
    breakpoint: bool,
) -> Line<'static> {
    let marker = match (current, breakpoint) {
        (true, _) => "▶",
        (false, true) => "●",
        _ => " ",
    };
    let mut style = Style::new();
    if current {
        style = style.fg(Color::Yellow).add_modifier(Modifier::BOLD);
    }
    if cursor {
        style = style.add_modifier(Modifier::REVERSED);
    }
    Line::from(vec![
        Span::styled(format!("{marker}{gutter} "), Style::new().fg(Color::Red)),
        Span::styled(text.to_string(), style),
    ])
}

fn source_area(area: Rect) -> Rect {
    Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).split(area)[0]
}

/// The call stack, the statements run and the rows written, right of the code.
fn render_side(d: &Debugger, frame: &mut Frame, area: Rect) {
    let side =
        Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).split(area)[1];
    let [stack, calls] =
        Layout::vertical([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(side);
    let mut text = Vec::new();
    match &d.session {
        None => text.push(Line::from(" not running: :debug <call ...> starts it")),
        Some(s) => {
            let status = match (&s.status[..], &s.result, &s.error, &s.ended) {
                (_, _, _, Some(e)) => format!(" ended: {e}"),
                ("finished", Some(r), _, _) => format!(" finished: {r} (:commit or :rollback)"),
                ("finished", _, Some(e), _) => format!(" failed: {e} (:rollback)"),
                (other, _, _, _) => format!(" {other}"),
            };
            text.push(Line::styled(status, Style::new().add_modifier(Modifier::BOLD)));
            for (depth, (function, pc, locals, stack)) in s.frames.iter().enumerate() {
                let line = match s.lines.get(depth).copied().flatten() {
                    Some(l) => format!(" line {l}"),
                    None => String::new(),
                };
                text.push(Line::styled(
                    format!(" #{depth} func {function} @ {pc:x}{line}"),
                    Style::new().fg(Color::Cyan),
                ));
                for (n, local) in locals.iter().enumerate() {
                    text.push(Line::from(format!("   local {n}: {local}")));
                }
                if !stack.is_empty() {
                    text.push(Line::from(format!("   stack: {}", stack.join(" | "))));
                }
            }
        }
    }
    frame.render_widget(Paragraph::new(text).block(Block::bordered().title(" call stack ")), stack);
    let [calls, writes] =
        Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(calls);
    let list = |items: fn(&Session) -> &Vec<String>| -> Vec<Line> {
        d.session
            .iter()
            .flat_map(|s| items(s).iter())
            .map(|c| Line::from(format!(" {c}")))
            .collect()
    };
    frame.render_widget(
        Paragraph::new(list(|s| &s.host_calls))
            .block(Block::bordered().title(" statements the routine ran ")),
        calls,
    );
    frame.render_widget(
        Paragraph::new(list(|s| &s.writes))
            .block(Block::bordered().title(" rows its transaction wrote ")),
        writes,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wat_lines_carry_offsets_and_functions() {
        let wasm = wat::parse_str(
            r#"(module (func $helper (param i32) (result i32) local.get 0 i32.const 2 i32.mul)
                (func (export "f") (param i32) (result i32) local.get 0 call $helper))"#,
        )
        .unwrap();
        let lines = wat_lines(&wasm).unwrap();
        let find = |text: &str| lines.iter().find(|l| l.text.trim() == text).unwrap();
        assert_eq!(find("i32.mul").function, Some(0));
        assert_eq!(find("call $helper").function, Some(1));
        assert!(find("i32.const 2").offset.is_some());
        assert_eq!(bytea("\\x0061ff"), Some(vec![0, 0x61, 0xff]));
        assert_eq!(bytea("0061"), None);
    }
}
