//! Measurements: latency percentiles and process memory.

use std::time::Duration;

/// Latencies recorded during a run.
#[derive(Default, Clone)]
pub struct Latencies(Vec<Duration>);

impl Latencies {
    /// Records one operation.
    pub fn record(&mut self, d: Duration) {
        self.0.push(d);
    }

    /// Merges another set.
    pub fn merge(&mut self, other: Latencies) {
        self.0.extend(other.0);
    }

    /// The `p`-th percentile (0-100), or zero when empty.
    pub fn percentile(&mut self, p: f64) -> Duration {
        if self.0.is_empty() {
            return Duration::ZERO;
        }
        self.0.sort_unstable();
        let rank = ((p / 100.0) * (self.0.len() - 1) as f64).round() as usize;
        self.0[rank.min(self.0.len() - 1)]
    }

    /// The mean.
    pub fn mean(&self) -> Duration {
        if self.0.is_empty() {
            return Duration::ZERO;
        }
        self.0.iter().sum::<Duration>() / self.0.len() as u32
    }
}

/// Resident and peak resident memory of this process in bytes, from /proc (Linux).
pub fn memory() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Formats a duration in microseconds with two decimals.
pub fn micros(d: Duration) -> String {
    format!("{:.2} µs", d.as_secs_f64() * 1e6)
}

/// Formats a ratio "oxibase / peer" for a lower-is-better measure, or "n/a".
pub fn ratio(ours: f64, theirs: Option<f64>) -> String {
    match theirs {
        Some(t) if t > 0.0 => format!("{:.2}×", ours / t),
        _ => "n/a".into(),
    }
}
