//! Point reads of a million rows through fjall alone and through the row cache in front of
//! it (`Cached`), one thread, every key cached: what a hit saves over the LSM's point read,
//! and what the cache holds a million rows in.
//!
//!   cargo run --release -p oxibase-engine --example row_cache
//!
//! (BENCHMARKS.md, issue 4's stop 21 section; the server's allocator is jemalloc with
//! transparent huge pages, this program's the system's.)

use std::time::Instant;

use oxibase_common::Result;
use oxibase_engine::{Cached, Engine, Lsm, LsmOptions, WriteBatch};

const ROWS: u64 = 1_000_000;
const VALUE: usize = 120;

fn key(i: u64) -> Vec<u8> {
    let mut key = vec![0, 0, 0, 5];
    key.extend_from_slice(&i.to_be_bytes());
    key
}

/// Nanoseconds per read of every key in `keys`.
fn read_all(engine: &dyn Engine, keys: &[Vec<u8>]) -> Result<f64> {
    let start = Instant::now();
    for key in keys {
        if engine.get(key)?.is_none() {
            return Err(oxibase_common::errinput!(INTERNAL_ERROR, "a loaded key is missing"));
        }
    }
    Ok(start.elapsed().as_nanos() as f64 / keys.len() as f64)
}

fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let lsm = Lsm::open(dir.path(), &LsmOptions { cache_size: 256 << 20, ..Default::default() })?;
    for chunk in 0..ROWS / 10_000 {
        let mut batch = WriteBatch::new();
        for i in chunk * 10_000..(chunk + 1) * 10_000 {
            batch.put(key(i), vec![7u8; VALUE]);
        }
        lsm.write(batch)?;
    }
    lsm.flush_memtable()?;
    // Every key once, in a scattered order (a multiplicative permutation of 0..ROWS).
    let keys: Vec<Vec<u8>> = (0..ROWS).map(|j| key(j * 7_919 % ROWS)).collect();
    read_all(&lsm, &keys)?;
    println!("fjall point read:   {:.0} ns", read_all(&lsm, &keys)?);
    let cached = Cached::new(lsm, 1 << 30);
    read_all(&cached, &keys)?;
    println!("row cache hit:      {:.0} ns", read_all(&cached, &keys)?);
    let held = cached.status()?.row_cache_size;
    println!("row cache holds {ROWS} rows of {} bytes in {} MB", 12 + VALUE, held >> 20);
    Ok(())
}
