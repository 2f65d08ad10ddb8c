//! Drawing the navigator: a title bar, the current view, and a status or input line.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::{App, Grid, Input, Kind, Status, View};
use crate::source::Source;

/// The widest a grid column gets (longer values end in `…`).
const MAX_WIDTH: usize = 40;
const SEPARATOR: &str = " │ ";

/// Draws the whole screen.
pub fn render<S: Source>(app: &mut App<S>, frame: &mut Frame) {
    let [title, body, status] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(1), Constraint::Length(1)])
            .areas(frame.area());
    let what = match (&app.view, &app.grid) {
        (View::Tree, _) => "objects".to_string(),
        (View::Monitor, _) => "monitor".to_string(),
        (View::Editor, _) => "query editor".to_string(),
        (View::Debugger, _) => format!("debugger: {}", app.debugger.routine),
        (View::Grid | View::Detail, Some(g)) if g.query.is_some() => "query result".to_string(),
        (View::Grid | View::Detail, Some(g)) => format!("{}.{}", g.schema, g.table),
        (_, None) => String::new(),
    };
    let transaction = if app.in_transaction { " │ IN TRANSACTION" } else { "" };
    frame.render_widget(
        Paragraph::new(format!(" oxibase tui │ {} │ {what}{transaction}", app.source.describe()))
            .style(Style::new().add_modifier(Modifier::REVERSED)),
        title,
    );
    match app.view {
        View::Tree => render_tree(app, frame, body),
        View::Grid => render_grid(app, frame, body),
        View::Detail => render_detail(app, frame, body),
        View::Monitor => crate::monitor::render(&app.monitor, frame, body),
        View::Editor => render_editor(app, frame, body),
        View::Debugger => crate::debugger::render(&mut app.debugger, frame, body),
    }
    let line = match (&app.input, &app.status) {
        (Some(Input::Search(s)), _) => Line::from(format!("/{s}")),
        (Some(Input::Command(s)), _) => Line::from(format!(":{s}")),
        (Some(Input::Edit(s)), _) => Line::from(format!("new value: {s}")),
        (None, Some(Status::Error(e))) => Line::styled(e.clone(), Style::new().fg(Color::Red)),
        (None, Some(Status::Info(i))) => Line::from(i.clone()),
        (None, None) => Line::styled(hint(&app.view), Style::new().fg(Color::DarkGray)),
    };
    frame.render_widget(Paragraph::new(line), status);
}

fn hint(view: &View) -> &'static str {
    match view {
        View::Tree => {
            "j/k move  /search n/N  Enter open (a procedure: debug it)  e SQL  m monitor  :q quit"
        }
        View::Monitor => {
            "j/k select a session  c cancel its statement  t terminate it  Esc back  :q quit"
        }
        View::Editor => {
            "type SQL  ^r or F5 run the statement under the cursor  ^p/^n history  Tab result  Esc back  :q"
        }
        View::Grid => {
            "h/j/k/l move  w/b columns  gg/G  ^d/^u  /search  Enter row  i edit  :sort :filter :w  Esc back"
        }
        View::Detail => "Esc or Enter back to the grid",
        View::Debugger => {
            "s into  n over  o out  c continue  b breakpoint  j/k move  a abort  :commit :rollback  Esc back"
        }
    }
}

fn render_editor<S: Source>(app: &mut App<S>, frame: &mut Frame, area: Rect) {
    let has_result = app.grid.as_ref().is_some_and(|g| g.query.is_some());
    let [text, result] = if has_result {
        Layout::vertical([Constraint::Percentage(40), Constraint::Min(4)]).areas(area)
    } else {
        [area, Rect::default()]
    };
    let e = &mut app.editor;
    let height = text.height.saturating_sub(1) as usize;
    if e.row < e.top {
        e.top = e.row;
    } else if height > 0 && e.row >= e.top + height {
        e.top = e.row + 1 - height;
    }
    let mut lines: Vec<Line> = Vec::new();
    let shown = if e.lines.is_empty() { vec![String::new()] } else { e.lines.clone() };
    for (n, line) in shown.iter().enumerate().skip(e.top).take(height) {
        let number = Span::styled(format!("{:>3} ", n + 1), Style::new().fg(Color::DarkGray));
        if n == e.row {
            // The cursor: the character under it reversed (a space at the end of the line).
            let chars: Vec<char> = line.chars().collect();
            let before: String = chars[..e.col.min(chars.len())].iter().collect();
            let at: String = chars.get(e.col).map_or(" ".to_string(), |c| c.to_string());
            let after: String =
                chars.get(e.col + 1..).map(|c| c.iter().collect()).unwrap_or_default();
            lines.push(Line::from(vec![
                number,
                Span::raw(before),
                Span::styled(at, Style::new().add_modifier(Modifier::REVERSED)),
                Span::raw(after),
            ]));
        } else {
            lines.push(Line::from(vec![number, Span::raw(line.clone())]));
        }
    }
    frame.render_widget(Paragraph::new(lines), text);
    if has_result {
        render_grid(app, frame, result);
    }
}

fn render_tree<S: Source>(app: &mut App<S>, frame: &mut Frame, area: Rect) {
    let height = area.height as usize;
    let tree = &mut app.tree;
    if tree.selected < tree.top {
        tree.top = tree.selected;
    } else if height > 0 && tree.selected >= tree.top + height {
        tree.top = tree.selected + 1 - height;
    }
    app.page_rows = height;
    if tree.entries.is_empty() {
        frame.render_widget(Paragraph::new(" (no tables, views or procedures yet)"), area);
        return;
    }
    let lines: Vec<Line> = tree
        .entries
        .iter()
        .enumerate()
        .skip(tree.top)
        .take(height)
        .map(|(i, e)| {
            let (indent, style) = match e.kind {
                Kind::Schema => ("", Style::new().add_modifier(Modifier::BOLD)),
                Kind::Group => ("  ", Style::new().fg(Color::DarkGray)),
                _ => ("    ", Style::new()),
            };
            let label = match e.kind {
                Kind::Routine => format!("{indent}{} ({})", e.name, e.detail),
                _ => format!("{indent}{}", e.name),
            };
            let style =
                if i == tree.selected { style.add_modifier(Modifier::REVERSED) } else { style };
            Line::styled(label, style)
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), area);
}

/// Each column's width: its header or widest loaded value, at most [`MAX_WIDTH`].
fn widths(g: &Grid) -> Vec<usize> {
    g.columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let widest = g.rows.iter().map(|r| cell_text(&r[i]).chars().count()).max().unwrap_or(0);
            widest.max(c.chars().count()).clamp(1, MAX_WIDTH)
        })
        .collect()
}

fn cell_text(v: &Option<String>) -> String {
    match v {
        Some(s) => s.replace(['\n', '\r', '\t'], " "),
        None => "NULL".to_string(),
    }
}

fn fit(text: &str, width: usize) -> String {
    let count = text.chars().count();
    if count <= width {
        format!("{text:<width$}")
    } else {
        let cut: String = text.chars().take(width.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

fn render_grid<S: Source>(app: &mut App<S>, frame: &mut Frame, area: Rect) {
    let Some(g) = &mut app.grid else { return };
    if g.columns.is_empty() {
        return;
    }
    let [header_area, rows_area, info_area] =
        Layout::vertical([Constraint::Length(2), Constraint::Min(1), Constraint::Length(1)])
            .areas(area);
    let height = rows_area.height as usize;
    app.page_rows = height;
    // Keep the cursor on screen: rows, then columns.
    if g.row < g.top {
        g.top = g.row;
    } else if height > 0 && g.row >= g.top + height {
        g.top = g.row + 1 - height;
    }
    g.top = g.top.min(g.rows.len().saturating_sub(1));
    let widths = widths(g);
    let screen = area.width as usize;
    let visible = |left: usize| {
        let mut used = 0;
        let mut last = left;
        for (i, w) in widths.iter().enumerate().skip(left) {
            let need = if i == left { *w } else { w + SEPARATOR.len() - 2 };
            if i > left && used + need > screen {
                break;
            }
            used += need;
            last = i;
        }
        last
    };
    if g.col < g.left {
        g.left = g.col;
    }
    while g.left < g.col && visible(g.left) < g.col {
        g.left += 1;
    }
    let last = visible(g.left);
    let columns = g.left..=last.min(g.columns.len().saturating_sub(1));
    let row_line = |cells: Vec<(String, Style)>| {
        let mut spans = Vec::new();
        for (n, (text, style)) in cells.into_iter().enumerate() {
            if n > 0 {
                spans.push(Span::styled(SEPARATOR, Style::new().fg(Color::DarkGray)));
            }
            spans.push(Span::styled(text, style));
        }
        Line::from(spans)
    };
    let bold = Style::new().add_modifier(Modifier::BOLD);
    let header: Vec<(String, Style)> = columns
        .clone()
        .map(|i| {
            let key =
                if g.key.contains(&i) { Style::new().fg(Color::Yellow) } else { Style::new() };
            (fit(&g.columns[i], widths[i]), bold.patch(key))
        })
        .collect();
    let rule: String =
        columns.clone().map(|i| "─".repeat(widths[i])).collect::<Vec<_>>().join("─┼─");
    frame.render_widget(
        Paragraph::new(vec![
            row_line(header),
            Line::styled(rule, Style::new().fg(Color::DarkGray)),
        ]),
        header_area,
    );
    let lines: Vec<Line> = g
        .rows
        .iter()
        .enumerate()
        .skip(g.top)
        .take(height)
        .map(|(r, row)| {
            let cells = columns
                .clone()
                .map(|i| {
                    let style = match (r == g.row, i == g.col, row[i].is_none()) {
                        (true, true, _) => Style::new().add_modifier(Modifier::REVERSED),
                        (true, false, _) => Style::new().bg(Color::Indexed(236)),
                        (false, _, true) => Style::new().fg(Color::DarkGray),
                        _ => Style::new(),
                    };
                    (fit(&cell_text(&row[i]), widths[i]), style)
                })
                .collect();
            row_line(cells)
        })
        .collect();
    if g.rows.is_empty() {
        frame.render_widget(Paragraph::new(" (no rows)"), rows_area);
    } else {
        frame.render_widget(Paragraph::new(lines), rows_area);
    }
    let position = match g.base {
        Some(base) => format!(
            "row {} of {}",
            base + g.row as u64 + 1,
            match (g.at_end, g.rows.len()) {
                (true, n) => (base + n as u64).to_string(),
                (false, _) => "more".to_string(),
            }
        ),
        None if g.at_end => format!("row {} from the end", g.rows.len() - g.row),
        None => "row ?".to_string(),
    };
    let order = match &g.order {
        _ if g.query.is_some() => format!("all {} rows of the query", g.rows.len()),
        crate::app::Order::Key => {
            let key: Vec<&str> = g.key.iter().map(|&k| g.columns[k].as_str()).collect();
            format!("by key ({})", key.join(", "))
        }
        crate::app::Order::Offset { sort: Some((c, desc)) } => {
            format!("sorted by {c}{}", if *desc { " desc" } else { "" })
        }
        crate::app::Order::Offset { sort: None } => "no key: paged by offset".to_string(),
    };
    let filter = g.filter.as_ref().map(|f| format!(" │ where {f}")).unwrap_or_default();
    let column = g.columns.get(g.col).map(String::as_str).unwrap_or_default();
    frame.render_widget(
        Paragraph::new(format!(" {position} │ column {column} │ {order}{filter}"))
            .style(Style::new().fg(Color::DarkGray)),
        info_area,
    );
}

/// A value as the detail view shows it: JSON objects and arrays pretty-printed.
fn detail_value(value: &Option<String>) -> Vec<String> {
    let Some(v) = value else { return vec!["NULL".to_string()] };
    let trimmed = v.trim_start();
    if (trimmed.starts_with('{') || trimmed.starts_with('['))
        && let Ok(json) = serde_json::from_str::<serde_json::Value>(v)
        && let Ok(pretty) = serde_json::to_string_pretty(&json)
    {
        return pretty.lines().map(str::to_string).collect();
    }
    v.lines().map(str::to_string).collect()
}

fn render_detail<S: Source>(app: &mut App<S>, frame: &mut Frame, area: Rect) {
    let Some(g) = &app.grid else { return };
    let Some(row) = g.rows.get(g.row) else { return };
    let width = g.columns.iter().map(|c| c.chars().count()).max().unwrap_or(0);
    let mut lines = Vec::new();
    for (column, value) in g.columns.iter().zip(row) {
        for (n, text) in detail_value(value).into_iter().enumerate() {
            let label = if n == 0 { format!("{column:>width$}") } else { " ".repeat(width) };
            lines.push(Line::from(vec![
                Span::styled(label, Style::new().add_modifier(Modifier::BOLD)),
                Span::raw(" │ "),
                Span::raw(text),
            ]));
        }
    }
    frame.render_widget(Paragraph::new(lines), area);
}
