//! The timestamp oracle.
//!
//! Commit timestamps are hybrid: `max(last + 1, wall-clock microseconds since the Unix
//! epoch)`. They increase strictly (commit order is timestamp order, invariant 5) and stay
//! close to real time, so a commit timestamp doubles as the time of the commit and
//! `AS OF TIMESTAMP` needs no mapping table. If the wall clock goes backwards, timestamps keep
//! increasing by one until it catches up. A cluster will replace this with a hybrid logical
//! clock that also merges timestamps received from other nodes.

use std::time::{SystemTime, UNIX_EPOCH};

/// A commit or snapshot timestamp: microseconds since the Unix epoch, made unique.
pub type Ts = u64;

/// Microseconds since the Unix epoch by the wall clock.
pub fn wall_clock_micros() -> Ts {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as Ts)
}

/// Hands out strictly increasing timestamps. Not thread-safe on its own: the store calls it
/// under its commit mutex.
#[derive(Debug)]
pub struct Clock {
    last: Ts,
}

impl Clock {
    /// A clock that will only hand out timestamps above `last`.
    pub fn new(last: Ts) -> Self {
        Self { last }
    }

    /// The next timestamp.
    pub fn tick(&mut self) -> Ts {
        self.last = (self.last + 1).max(wall_clock_micros());
        self.last
    }

    /// Moves the clock past a timestamp handed out elsewhere (a leader's commit replayed on
    /// a replica), so later local timestamps stay above it.
    pub fn observe(&mut self, ts: Ts) {
        self.last = self.last.max(ts);
    }

    /// The last timestamp handed out.
    pub fn last(&self) -> Ts {
        self.last
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strictly_increasing_even_ahead_of_the_wall_clock() {
        let future = wall_clock_micros() + 10_000_000_000;
        let mut clock = Clock::new(future);
        let a = clock.tick();
        let b = clock.tick();
        assert_eq!((a, b), (future + 1, future + 2));
        let mut clock = Clock::new(0);
        let now = clock.tick();
        assert!(now >= wall_clock_micros() - 1_000_000);
        assert!(clock.tick() > now);
    }
}
