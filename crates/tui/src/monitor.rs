//! The performance monitor: once a second it reads the server's cumulative counters
//! (`oxibase_stat_server`), its sessions (`pg_stat_activity`) and its lock waits (`pg_locks`,
//! `pg_blocking_pids`), and charts the per-second rates of the last five minutes.

use std::collections::VecDeque;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Sparkline};

use crate::source::Source;

/// Seconds of history kept.
const HISTORY: usize = 300;

/// The counters read at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Sample {
    /// Server clock, microseconds.
    pub(crate) at_micros: i64,
    pub(crate) commits: u64,
    pub(crate) rollbacks: u64,
    pub(crate) rows_read: u64,
    pub(crate) rows_written: u64,
    pub(crate) io_ops: Option<u64>,
    pub(crate) io_bytes: Option<u64>,
    pub(crate) wal_fsyncs: u64,
    pub(crate) wal_fsync_micros: u64,
    pub(crate) lock_waits: u64,
    pub(crate) cache_hits: u64,
    pub(crate) cache_misses: u64,
}

/// What one interval between two samples amounts to, per second.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Rates {
    pub(crate) commits: f64,
    pub(crate) aborts: f64,
    pub(crate) rows_read: f64,
    pub(crate) rows_written: f64,
    pub(crate) iops: Option<f64>,
    pub(crate) io_bytes: Option<f64>,
    pub(crate) fsyncs: f64,
    /// Mean fsync time in the interval, milliseconds (None without fsyncs).
    pub(crate) fsync_ms: Option<f64>,
    pub(crate) lock_waits: f64,
    /// Block cache hits over block reads in the interval (None without reads).
    pub(crate) hit_ratio: Option<f64>,
}

impl Rates {
    fn between(a: &Sample, b: &Sample) -> Rates {
        let seconds = ((b.at_micros - a.at_micros) as f64 / 1e6).max(1e-3);
        let per = |x: u64, y: u64| y.saturating_sub(x) as f64 / seconds;
        let fsyncs = b.wal_fsyncs.saturating_sub(a.wal_fsyncs);
        let hits = b.cache_hits.saturating_sub(a.cache_hits);
        let reads = hits + b.cache_misses.saturating_sub(a.cache_misses);
        Rates {
            commits: per(a.commits, b.commits),
            aborts: per(a.rollbacks, b.rollbacks),
            rows_read: per(a.rows_read, b.rows_read),
            rows_written: per(a.rows_written, b.rows_written),
            iops: a.io_ops.zip(b.io_ops).map(|(x, y)| per(x, y)),
            io_bytes: a.io_bytes.zip(b.io_bytes).map(|(x, y)| per(x, y)),
            fsyncs: per(a.wal_fsyncs, b.wal_fsyncs),
            fsync_ms: (fsyncs > 0).then(|| {
                b.wal_fsync_micros.saturating_sub(a.wal_fsync_micros) as f64 / fsyncs as f64 / 1e3
            }),
            lock_waits: per(a.lock_waits, b.lock_waits),
            hit_ratio: (reads > 0).then(|| hits as f64 / reads as f64),
        }
    }
}

/// A session as the monitor lists it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct SessionRow {
    pub(crate) pid: String,
    pub(crate) user: String,
    pub(crate) state: String,
    pub(crate) running: String,
    pub(crate) wait: String,
    /// Row locks the session holds (a debugger-paused session keeps its own).
    pub(crate) locks: u64,
    pub(crate) query: String,
}

/// A lock wait: who waits, for whom, how long.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct WaitRow {
    pub(crate) pid: String,
    pub(crate) blockers: String,
    pub(crate) waited: String,
    pub(crate) mode: String,
    pub(crate) relation: String,
}

/// The monitor's state.
#[derive(Default)]
pub(crate) struct Monitor {
    pub(crate) last: Option<Sample>,
    pub(crate) rates: VecDeque<Rates>,
    pub(crate) sessions: Vec<SessionRow>,
    pub(crate) waits: Vec<WaitRow>,
    pub(crate) selected: usize,
}

const STATS_SQL: &str = "select (extract(epoch from clock_timestamp()) * 1000000)::int8, \
     xact_commit, xact_rollback, rows_read, rows_written, io_read_ops + io_write_ops, \
     io_read_bytes + io_write_bytes, wal_fsyncs, wal_fsync_micros, lock_waits, cache_hits, \
     cache_misses from oxibase_stat_server";
const SESSIONS_SQL: &str = "select pid, usename, state, \
     coalesce((now() - query_start)::text, ''), coalesce(wait_event, ''), query \
     from pg_stat_activity where pid <> pg_backend_pid() order by pid";
const HELD_SQL: &str =
    "select pid, count(*) from pg_locks where granted and pid is not null group by pid";
const WAITS_SQL: &str = "select pid, pg_blocking_pids(pid)::text, \
     coalesce((now() - waitstart)::text, ''), mode, coalesce(relation::regclass::text, '') \
     from pg_locks where not granted order by waitstart";

fn number(v: &Option<String>) -> Option<u64> {
    v.as_deref()?.parse::<i64>().ok().map(|n| n.max(0) as u64)
}

fn cell(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

impl Monitor {
    /// Adds a sample; the first only sets the baseline.
    pub(crate) fn push(&mut self, sample: Sample) {
        if let Some(last) = &self.last {
            if self.rates.len() == HISTORY {
                self.rates.pop_front();
            }
            self.rates.push_back(Rates::between(last, &sample));
        }
        self.last = Some(sample);
    }

    /// Reads the server once: counters, sessions and lock waits.
    pub(crate) fn refresh(&mut self, source: &mut impl Source) -> oxibase_common::Result<()> {
        let stats = source.query(STATS_SQL)?;
        if let Some(r) = stats.rows.first() {
            let n = |i: usize| number(&r[i]).unwrap_or(0);
            self.push(Sample {
                at_micros: n(0) as i64,
                commits: n(1),
                rollbacks: n(2),
                rows_read: n(3),
                rows_written: n(4),
                io_ops: number(&r[5]),
                io_bytes: number(&r[6]),
                wal_fsyncs: n(7),
                wal_fsync_micros: n(8),
                lock_waits: n(9),
                cache_hits: n(10),
                cache_misses: n(11),
            });
        }
        let held: Vec<(String, u64)> = source
            .query(HELD_SQL)?
            .rows
            .iter()
            .map(|r| (cell(&r[0]), number(&r[1]).unwrap_or(0)))
            .collect();
        self.sessions = source
            .query(SESSIONS_SQL)?
            .rows
            .iter()
            .map(|r| SessionRow {
                pid: cell(&r[0]),
                user: cell(&r[1]),
                state: cell(&r[2]),
                running: cell(&r[3]),
                wait: cell(&r[4]),
                locks: held.iter().find(|(p, _)| *p == cell(&r[0])).map_or(0, |(_, n)| *n),
                query: cell(&r[5]).split_whitespace().collect::<Vec<_>>().join(" "),
            })
            .collect();
        self.selected = self.selected.min(self.sessions.len().saturating_sub(1));
        self.waits = source
            .query(WAITS_SQL)?
            .rows
            .iter()
            .map(|r| WaitRow {
                pid: cell(&r[0]),
                blockers: cell(&r[1]),
                waited: cell(&r[2]),
                mode: cell(&r[3]),
                relation: cell(&r[4]),
            })
            .collect();
        Ok(())
    }

    /// The selected session's pid.
    pub(crate) fn selected_pid(&self) -> Option<&str> {
        self.sessions.get(self.selected).map(|s| s.pid.as_str())
    }
}

/// A count per second, short: 12, 3.4k, 5.6M.
fn short(v: f64) -> String {
    match v {
        v if v >= 1e6 => format!("{:.1}M", v / 1e6),
        v if v >= 1e4 => format!("{:.0}k", v / 1e3),
        v if v >= 1e3 => format!("{:.1}k", v / 1e3),
        v if v >= 10.0 || v == 0.0 => format!("{v:.0}"),
        v => format!("{v:.1}"),
    }
}

fn bytes(v: f64) -> String {
    match v {
        v if v >= 1048576.0 => format!("{:.1} MiB", v / 1048576.0),
        v if v >= 1024.0 => format!("{:.1} KiB", v / 1024.0),
        v => format!("{v:.0} B"),
    }
}

type Metric = (&'static str, fn(&Rates) -> Option<f64>, fn(f64) -> String);

const METRICS: [Metric; 10] = [
    ("commits/s", |r| Some(r.commits), short),
    ("aborts/s", |r| Some(r.aborts), short),
    ("lock waits/s", |r| Some(r.lock_waits), short),
    ("rows read/s", |r| Some(r.rows_read), short),
    ("rows written/s", |r| Some(r.rows_written), short),
    ("cache hit %", |r| r.hit_ratio.map(|h| h * 100.0), |v| format!("{v:.1}")),
    ("I/O ops/s", |r| r.iops, short),
    ("I/O bytes/s", |r| r.io_bytes, bytes),
    ("WAL fsyncs/s", |r| Some(r.fsyncs), short),
    ("fsync ms", |r| r.fsync_ms, |v| format!("{v:.3}")),
];

/// Draws the monitor into `area`.
pub(crate) fn render(monitor: &Monitor, frame: &mut Frame, area: Rect) {
    let chart_rows = METRICS.len().div_ceil(3) as u16;
    let [charts, sessions, waits] = Layout::vertical([
        Constraint::Length(chart_rows * 3),
        Constraint::Min(3),
        Constraint::Length((monitor.waits.len() as u16 + 1).clamp(2, 6)),
    ])
    .areas(area);
    let rows = Layout::vertical(vec![Constraint::Length(3); chart_rows as usize]).split(charts);
    for (i, (name, value, format)) in METRICS.iter().enumerate() {
        let columns = Layout::horizontal([Constraint::Ratio(1, 3); 3]).split(rows[i / 3]);
        let area = columns[i % 3];
        let [title, chart] =
            Layout::vertical([Constraint::Length(1), Constraint::Length(2)]).areas(area);
        let width = area.width.saturating_sub(1) as usize;
        let values: Vec<Option<f64>> =
            monitor.rates.iter().rev().take(width).rev().map(value).collect();
        let now = values.last().copied().flatten();
        let peak = values.iter().flatten().fold(0.0f64, |a, b| a.max(*b));
        let label = match now {
            Some(v) => format!(" {name} {} (peak {})", format(v), format(peak)),
            None => format!(" {name} -"),
        };
        frame.render_widget(
            Paragraph::new(label).style(Style::new().add_modifier(Modifier::BOLD)),
            title,
        );
        // Sparklines take integers: scale so the peak is 1000.
        let scale = if peak > 0.0 { 1000.0 / peak } else { 0.0 };
        let data: Vec<u64> = values.iter().map(|v| (v.unwrap_or(0.0) * scale) as u64).collect();
        frame.render_widget(
            Sparkline::default().data(&data).max(1000).style(Style::new().fg(Color::Cyan)),
            chart.inner(ratatui::layout::Margin { horizontal: 1, vertical: 0 }),
        );
    }
    let mut lines = vec![Line::styled(
        format!(
            " {:>6}  {:<10} {:<20} {:>16}  {:<8} {:>5}  query",
            "pid", "user", "state", "running", "wait", "locks"
        ),
        Style::new().add_modifier(Modifier::BOLD),
    )];
    let visible = sessions.height.saturating_sub(1) as usize;
    let top = monitor.selected.saturating_sub(visible.saturating_sub(1));
    for (i, s) in monitor.sessions.iter().enumerate().skip(top).take(visible) {
        let style = if i == monitor.selected {
            Style::new().add_modifier(Modifier::REVERSED)
        } else {
            Style::new()
        };
        let running = if s.state == "active" { s.running.as_str() } else { "" };
        lines.push(Line::styled(
            format!(
                " {:>6}  {:<10} {:<20} {:>16}  {:<8} {:>5}  {}",
                s.pid, s.user, s.state, running, s.wait, s.locks, s.query
            ),
            style,
        ));
    }
    if monitor.sessions.is_empty() {
        lines.push(Line::from(" (no other sessions)"));
    }
    frame.render_widget(Paragraph::new(lines), sessions);
    let mut lines = vec![Line::styled(" lock waits", Style::new().add_modifier(Modifier::BOLD))];
    for w in &monitor.waits {
        lines.push(Line::styled(
            format!(
                " pid {} waits {} for {} ({} on a row of {})",
                w.pid, w.waited, w.blockers, w.mode, w.relation
            ),
            Style::new().fg(Color::Yellow),
        ));
    }
    if monitor.waits.is_empty() {
        lines.push(Line::styled(" none", Style::new().fg(Color::DarkGray)));
    }
    frame.render_widget(Paragraph::new(lines), waits);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_per_second_over_the_interval() {
        let a = Sample {
            at_micros: 0,
            commits: 100,
            wal_fsyncs: 10,
            wal_fsync_micros: 1000,
            cache_hits: 50,
            cache_misses: 50,
            io_ops: Some(7),
            ..Default::default()
        };
        let b = Sample {
            at_micros: 2_000_000,
            commits: 300,
            wal_fsyncs: 30,
            wal_fsync_micros: 5000,
            cache_hits: 140,
            cache_misses: 60,
            io_ops: Some(17),
            ..Default::default()
        };
        let r = Rates::between(&a, &b);
        assert_eq!(r.commits, 100.0);
        assert_eq!(r.fsyncs, 10.0);
        assert_eq!(r.fsync_ms, Some(0.2));
        assert_eq!(r.hit_ratio, Some(0.9));
        assert_eq!(r.iops, Some(5.0));
        assert_eq!(r.io_bytes, None);
        assert_eq!(Rates::between(&b, &b).fsync_ms, None);
        assert_eq!(
            (short(1234.0), short(56789.0), short(0.5), bytes(2048.0)),
            ("1.2k".into(), "57k".into(), "0.5".into(), "2.0 KiB".into())
        );
    }
}
