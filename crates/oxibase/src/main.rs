//! The `oxibase` command: one binary for every role (see ARCHITECTURE.md).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// jemalloc: a database allocates and frees many small rows and keys per statement (the
/// system allocator spent a fifth of the server's time in pgbench on malloc/free), and frees
/// memtables and compaction buffers in bulk from other threads. jemalloc's background
/// threads hand such freed pages back to the system within about a second (the decay is
/// set where jemalloc is built: `.cargo/config.toml`), so resident memory follows the live
/// heap; under mimalloc it crept up over ten minutes of TPC-B while the live heap stayed
/// flat (BENCHMARKS.md, issue 4's memory runs). It also asks for transparent huge pages
/// (`.cargo/config.toml`): the row and block caches are read at random, and with 4 KiB pages
/// nearly every lookup missed the TLB.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

mod demo;
mod migrate;
mod serve;
mod shell;

#[derive(Parser)]
#[command(
    name = "oxibase",
    version,
    about = "Oxibase: the SQL database that is also the application server"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the server: the PostgreSQL wire protocol (psql, pgbench and Postgres drivers
    /// connect unmodified) and the HTTP API, over a database in a data directory.
    Serve(serve::ServeArgs),
    /// An SQL shell: interactive, or one-shot with -c / -f; over the wire (--url) or on a
    /// data directory embedded (--data-dir).
    Sql(shell::SqlArgs),
    /// A terminal UI: navigate schemas and tables with vim keys, page through tables of any
    /// size, search, sort, filter, export CSV and edit cells inside a transaction.
    Tui(shell::TuiArgs),
    /// Declarative schema migration: diffs a desired schema file (SQL DDL or YAML) against
    /// the live database and prints the plan with its hazards; --apply executes it online.
    Migrate(migrate::MigrateArgs),
    /// Promotes a read replica to a leader (SELECT pg_promote() on it): it stops following
    /// and accepts writes.
    Promote {
        /// The replica's PostgreSQL URL.
        #[arg(
            long,
            env = "OXIBASE_URL",
            default_value = "postgres://oxibase@127.0.0.1:5433/oxibase"
        )]
        url: String,
    },
    /// Opens (or creates) an embedded database and shows the storage kernel at work:
    /// transactions, snapshot isolation, a conflict, and recovery from the log.
    Demo {
        /// The data directory.
        #[arg(long, default_value = "./oxibase-data", env = "OXIBASE_DATA_DIR")]
        data_dir: PathBuf,
    },
    /// Runs a benchmark side by side with SQLite and PostgreSQL and prints a Markdown report.
    Bench {
        #[command(subcommand)]
        which: Bench,
    },
}

#[derive(Subcommand)]
enum Bench {
    /// The SQL engine against SQLite: point selects, inserts, updates, index range scans,
    /// a join and GROUP BY, through the embedded API and rusqlite in the same process.
    Sql {
        /// Where to create the benchmark's data.
        #[arg(long, default_value = "/tmp")]
        dir: PathBuf,
        /// Rows in the main table.
        #[arg(long, default_value_t = 1_000_000)]
        rows: u64,
        /// Operations per measured step.
        #[arg(long, default_value_t = 5000)]
        ops: u64,
    },
    /// The storage kernel: durable commits with 1/4/16 writers, point and range reads,
    /// recovery speed, memory against data size.
    Kernel {
        /// Where to create the benchmark's data (put it on the disk to measure).
        #[arg(long, default_value = "/tmp")]
        dir: PathBuf,
        /// Seconds per commit-throughput run.
        #[arg(long, default_value_t = 5)]
        seconds: u64,
        /// Rows for the read benchmark.
        #[arg(long, default_value_t = 1_000_000)]
        rows: u64,
        /// Log size for the recovery benchmark, in MB.
        #[arg(long, default_value_t = 256)]
        recovery_mb: u64,
        /// Data size for the memory benchmark, in GB.
        #[arg(long, default_value_t = 1.0)]
        memory_gb: f64,
        /// Sections to run, comma-separated: commits, reads, recovery, memory.
        #[arg(long, value_delimiter = ',', default_value = "commits,reads,recovery,memory")]
        sections: Vec<String>,
        /// Skip the PostgreSQL comparison.
        #[arg(long)]
        no_postgres: bool,
    },
}

/// Runs `f` on a thread with the stack statements need (see
/// [`oxibase_server::STACK_SIZE`]).
fn with_statement_stack(
    f: impl FnOnce() -> oxibase_common::Result<()> + Send + 'static,
) -> oxibase_common::Result<()> {
    let thread = std::thread::Builder::new()
        .name("oxibase-main".into())
        .stack_size(oxibase_server::STACK_SIZE)
        .spawn(f)
        .map_err(|e| oxibase_common::errinput!(IO_ERROR, "could not start a thread: {e}"))?;
    thread.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve::run(args),
        // These may run statements in this process (an embedded data directory): on a
        // thread with the stack the server gives its sessions.
        Command::Sql(args) => with_statement_stack(move || shell::run(args)),
        Command::Tui(args) => with_statement_stack(move || shell::run_tui(args)),
        Command::Migrate(args) => with_statement_stack(move || migrate::run(args)),
        Command::Promote { url } => shell::open(Some(&url), None)
            .and_then(|mut c| c.run("select pg_promote()"))
            .map(|_| println!("promoted: the replica accepts writes now")),
        Command::Demo { data_dir } => demo::run(&data_dir),
        Command::Bench { which: Bench::Sql { dir, rows, ops } } => {
            let options = oxibase_bench::sql::SqlOptions { dir, rows, ops };
            oxibase_bench::sql::run(&options).map(|report| print!("{report}"))
        }
        Command::Bench {
            which:
                Bench::Kernel { dir, seconds, rows, recovery_mb, memory_gb, sections, no_postgres },
        } => {
            let options = oxibase_bench::kernel::KernelOptions {
                dir,
                seconds,
                rows,
                recovery_mb,
                memory_gb,
                sections,
                postgres: !no_postgres,
            };
            oxibase_bench::kernel::run(&options).map(|report| print!("{report}"))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("oxibase: {e}");
            ExitCode::FAILURE
        }
    }
}
