//! A child process for the crash test (`tests/crash.rs`): opens a store in a directory,
//! recovering whatever is there, then commits numbered transactions from several threads
//! as fast as it can and prints each number once its commit is acknowledged. The test kills
//! it with SIGKILL at a random moment and checks the printed numbers against the store.
//!
//! Each transaction `n` (written by thread `t`) inserts `row/n/1` and `row/n/2` and sets
//! `last/t = n`. Usage: `oxibase-crash-writer DIR FIRST_NUMBER THREADS`.

use std::io::Write;
use std::path::Path;

use oxibase_engine::{Lsm, LsmOptions};
use oxibase_log::{Log, LogOptions};
use oxibase_mvcc::{Mvcc, MvccOptions};

fn main() {
    if let Err(e) = run() {
        eprintln!("oxibase-crash-writer: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, dir, first, threads] = args.as_slice() else {
        return Err("usage: oxibase-crash-writer DIR FIRST_NUMBER THREADS".into());
    };
    let (first, threads): (u64, u64) = (first.parse()?, threads.parse()?);
    let store = open(Path::new(dir))?;
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || write_forever(&store, first + t, threads, t))
        })
        .collect();
    for handle in handles {
        handle.join().map_err(|_| "writer thread panicked")??;
    }
    Ok(())
}

/// Opens the store the way the crash test verifies it, with small segments and frequent
/// checkpoints so that crashes also land in the middle of rotation and truncation.
pub fn open(dir: &Path) -> Result<Mvcc, oxibase_common::Error> {
    let engine =
        Lsm::open(&dir.join("data"), &LsmOptions { cache_size: 8 << 20, memtable_size: 1 << 20 })?;
    let (log, _) =
        Log::open(&dir.join("wal"), LogOptions { segment_size: 256 << 10, fsync: true })?;
    let options = MvccOptions { checkpoint_log_bytes: 1 << 20, ..Default::default() };
    Mvcc::open(Box::new(engine), Some(log), options)
}

fn write_forever(
    store: &Mvcc,
    mut n: u64,
    step: u64,
    thread: u64,
) -> Result<(), oxibase_common::Error> {
    loop {
        let txn = store.begin_default()?;
        txn.put(format!("row/{n:012}/1").as_bytes(), n.to_le_bytes().to_vec())?;
        txn.put(format!("row/{n:012}/2").as_bytes(), n.to_le_bytes().to_vec())?;
        txn.put(format!("last/{thread}").as_bytes(), n.to_le_bytes().to_vec())?;
        txn.commit()?;
        let mut out = std::io::stdout().lock();
        // NB: a failed print means the parent went away; stop quietly.
        if writeln!(out, "{thread} {n}").and_then(|()| out.flush()).is_err() {
            return Ok(());
        }
        n += step;
    }
}
