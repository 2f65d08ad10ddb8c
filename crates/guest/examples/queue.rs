//! A queue consumer as a set-returning function: takes up to `n` pending jobs, marks them
//! taken by `worker`, and returns them, skipping jobs other consumers hold (SKIP LOCKED), so
//! concurrent consumers never get the same job.
//!
//! ```sql
//! CREATE TABLE jobs (id bigint PRIMARY KEY, payload text, status text NOT NULL DEFAULT 'pending', worker text);
//! CREATE FUNCTION take_jobs(worker text, n int) RETURNS TABLE (id bigint, payload text)
//!     LANGUAGE wasm AS '<this module>';
//! SELECT * FROM take_jobs('w1', 10);
//! ```
//!
//! Build: `cargo build -p oxibase-guest --example queue --release --target wasm32-unknown-unknown`.

use oxibase_guest::{Emitter, Level, Tx, args, entry_rows, log};

/// `take_jobs(worker, n)`.
#[unsafe(no_mangle)]
pub extern "C" fn take_jobs() -> i32 {
    entry_rows(|tx: &Tx, out: &mut Emitter| {
        let (worker, n): (String, i64) = args()?;
        let taken = tx.query(
            "UPDATE jobs SET status = 'taken', worker = $1 WHERE id IN \
             (SELECT id FROM jobs WHERE status = 'pending' ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED) \
             RETURNING id, payload",
            &[&worker, &n],
        )?;
        let mut count = 0;
        for row in taken {
            let (id, payload): (i64, Option<String>) = row?.into()?;
            out.row(&[&id, &payload]);
            count += 1;
        }
        log(Level::Debug, &format!("{worker} took {count} jobs"));
        Ok(())
    })
}

/// `complete_job(id)`: marks a taken job done; returns whether it was taken.
#[unsafe(no_mangle)]
pub extern "C" fn complete_job() -> i32 {
    oxibase_guest::entry(|tx: &Tx| {
        let (id,): (i64,) = args()?;
        let n = tx.execute(
            "UPDATE jobs SET status = 'done' WHERE id = $1 AND status = 'taken'",
            &[&id],
        )?;
        Ok(n == 1)
    })
}
