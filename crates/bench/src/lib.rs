//! Oxibase's benchmarks. Every benchmark runs Oxibase and its peers (SQLite in the same
//! process, PostgreSQL as a local server) in one run on the same machine and reports ratios;
//! the figures go into `BENCHMARKS.md` with the command that produced them. Benchmarks
//! measure, they never assert: a slow result is a finding to explain, not a test failure.

pub mod kernel;
pub mod postgres;
pub mod sql;
pub mod sqlite;
pub mod stats;
