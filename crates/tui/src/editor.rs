//! The query editor's text: a multi-line buffer with a cursor, the statement under the
//! cursor, and the history of statements run.

/// A multi-line text buffer and its cursor (line, character).
#[derive(Default)]
pub(crate) struct Editor {
    pub(crate) lines: Vec<String>,
    pub(crate) row: usize,
    pub(crate) col: usize,
    pub(crate) history: Vec<String>,
    /// Where Ctrl-p / Ctrl-n are in the history (None: the buffer being written).
    pub(crate) recalled: Option<usize>,
    /// The first line shown.
    pub(crate) top: usize,
}

fn byte_at(line: &str, col: usize) -> usize {
    line.char_indices().nth(col).map_or(line.len(), |(i, _)| i)
}

impl Editor {
    pub(crate) fn text(&self) -> String {
        self.lines.join("\n")
    }

    pub(crate) fn set_text(&mut self, text: &str) {
        self.lines = text.split('\n').map(str::to_string).collect();
        self.row = self.lines.len() - 1;
        self.col = self.lines[self.row].chars().count();
    }

    fn line(&mut self) -> &mut String {
        if self.lines.is_empty() {
            self.lines.push(String::new());
        }
        &mut self.lines[self.row]
    }

    pub(crate) fn insert(&mut self, c: char) {
        let col = self.col;
        let line = self.line();
        let at = byte_at(line, col);
        line.insert(at, c);
        self.col += 1;
    }

    pub(crate) fn newline(&mut self) {
        let col = self.col;
        let line = self.line();
        let at = byte_at(line, col);
        let rest = line.split_off(at);
        self.lines.insert(self.row + 1, rest);
        self.row += 1;
        self.col = 0;
    }

    pub(crate) fn backspace(&mut self) {
        if self.col > 0 {
            let col = self.col;
            let line = self.line();
            let at = byte_at(line, col - 1);
            line.remove(at);
            self.col -= 1;
        } else if self.row > 0 {
            let line = self.lines.remove(self.row);
            self.row -= 1;
            self.col = self.lines[self.row].chars().count();
            self.lines[self.row].push_str(&line);
        }
    }

    pub(crate) fn move_by(&mut self, rows: i64, cols: i64) {
        if self.lines.is_empty() {
            return;
        }
        let last = self.lines.len() as i64 - 1;
        self.row = (self.row as i64 + rows).clamp(0, last) as usize;
        let width = self.lines[self.row].chars().count() as i64;
        self.col = (self.col as i64 + cols).clamp(0, width) as usize;
    }

    /// The cursor as a character offset into [`Editor::text`].
    fn offset(&self) -> usize {
        self.lines[..self.row].iter().map(|l| l.chars().count() + 1).sum::<usize>() + self.col
    }

    /// The statement under the cursor: the text between the semicolons (outside quotes and
    /// comments) around it, trimmed; the one before when the cursor follows the last `;`.
    /// Returns it with its character offset in the buffer.
    pub(crate) fn statement(&self) -> Option<(usize, String)> {
        let text: Vec<char> = self.text().chars().collect();
        let mut spans = Vec::new();
        let (mut start, mut quote, mut comment) = (0, None::<char>, false);
        let mut i = 0;
        while i < text.len() {
            let c = text[i];
            match (quote, comment) {
                (_, true) if c == '\n' => comment = false,
                (_, true) => {}
                (Some(q), _) if c == q => quote = None,
                (Some(_), _) => {}
                (None, _) if c == '\'' || c == '"' => quote = Some(c),
                (None, _) if c == '-' && text.get(i + 1) == Some(&'-') => comment = true,
                (None, _) if c == ';' => {
                    spans.push((start, i + 1));
                    start = i + 1;
                }
                _ => {}
            }
            i += 1;
        }
        spans.push((start, text.len()));
        // At the end of a line, the cursor means what the line ends with (its `;`).
        let at_end =
            self.lines.get(self.row).is_some_and(|l| self.col > 0 && self.col == l.chars().count());
        let cursor = self.offset() - usize::from(at_end);
        let chosen =
            spans.iter().position(|&(s, e)| cursor >= s && cursor < e).unwrap_or(spans.len() - 1);
        // A cursor after the last statement's `;` (on blank text) means that statement.
        let pick = |k: usize| {
            let (s, e) = spans[k];
            let raw: String = text[s..e].iter().collect();
            let lead = raw.chars().take_while(|c| c.is_whitespace()).count();
            let body = raw.trim();
            (!body.is_empty()).then(|| (s + lead, body.to_string()))
        };
        pick(chosen).or_else(|| (0..chosen).rev().find_map(pick))
    }

    /// Remembers a statement run (not twice in a row).
    pub(crate) fn remember(&mut self, sql: &str) {
        if self.history.last().map(String::as_str) != Some(sql) {
            self.history.push(sql.to_string());
        }
        self.recalled = None;
    }

    /// Replaces the buffer by an earlier (`back`) or later history entry.
    pub(crate) fn recall(&mut self, back: bool) {
        if self.history.is_empty() {
            return;
        }
        let next = match (self.recalled, back) {
            (None, true) => Some(self.history.len() - 1),
            (None, false) => None,
            (Some(i), true) => Some(i.saturating_sub(1)),
            (Some(i), false) if i + 1 < self.history.len() => Some(i + 1),
            (Some(_), false) => None,
        };
        self.recalled = next;
        let text = next.map(|i| self.history[i].clone()).unwrap_or_default();
        self.set_text(&text);
    }

    /// Puts the cursor at a character offset of the text (an error's position).
    pub(crate) fn place(&mut self, mut offset: usize) {
        for (row, line) in self.lines.iter().enumerate() {
            let width = line.chars().count();
            if offset <= width {
                (self.row, self.col) = (row, offset);
                return;
            }
            offset -= width + 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_statement_under_the_cursor() {
        let mut e = Editor::default();
        e.set_text("select 1;\nselect ';' as x;\n-- a ; comment\nselect 3");
        assert_eq!(e.statement().map(|s| s.1), Some("-- a ; comment\nselect 3".into()));
        e.row = 1;
        e.col = 3;
        assert_eq!(e.statement(), Some((10, "select ';' as x;".into())));
        e.set_text("select 1;\n");
        assert_eq!(e.statement().map(|s| s.1), Some("select 1;".into()), "after the last ;");
        e.set_text("");
        assert_eq!(e.statement(), None);
    }

    #[test]
    fn editing_and_history() {
        let mut e = Editor::default();
        for c in "selct".chars() {
            e.insert(c);
        }
        e.move_by(0, -2);
        e.insert('e');
        e.newline();
        e.insert('1');
        assert_eq!(e.text(), "sele\n1ct");
        e.move_by(0, -1);
        e.backspace();
        assert_eq!(e.text(), "sele1ct");
        e.remember("a");
        e.remember("b");
        e.recall(true);
        assert_eq!(e.text(), "b");
        e.recall(true);
        e.recall(true);
        assert_eq!(e.text(), "a");
        e.recall(false);
        assert_eq!(e.text(), "b");
        e.recall(false);
        assert_eq!(e.text(), "");
        e.set_text("ab\ncd");
        e.place(4);
        assert_eq!((e.row, e.col), (1, 1));
    }
}
