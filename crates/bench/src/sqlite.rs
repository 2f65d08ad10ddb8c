//! SQLite as the in-process peer: WAL mode with synchronous=FULL, so a commit is durable as
//! an Oxibase commit is.

use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::{Connection, params};

/// Opens a database file in WAL mode with full synchronous commits.
pub fn open(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(30))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(conn)
}

/// Loads `rows` rows into `kv` in transactions of 10,000.
pub fn load(conn: &Connection, rows: u64, payload: &str) -> rusqlite::Result<()> {
    conn.execute_batch("CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT)")?;
    for chunk in 0..rows.div_ceil(10_000) {
        conn.execute_batch("BEGIN")?;
        {
            let mut insert = conn.prepare_cached("INSERT INTO kv (k, v) VALUES (?1, ?2)")?;
            for i in chunk * 10_000..((chunk + 1) * 10_000).min(rows) {
                insert.execute(params![i as i64, payload])?;
            }
        }
        conn.execute_batch("COMMIT")?;
    }
    Ok(())
}

/// The mean time of a point select by primary key (autocommit).
pub fn point_gets(conn: &Connection, keys: &[i64]) -> rusqlite::Result<Duration> {
    let mut select = conn.prepare("SELECT v FROM kv WHERE k = ?1")?;
    let t = Instant::now();
    for &k in keys {
        let v: String = select.query_row(params![k], |r| r.get(0))?;
        debug_assert!(!v.is_empty());
    }
    Ok(t.elapsed() / keys.len() as u32)
}

/// The mean time of a 100-row range scan from each key (autocommit).
pub fn range_scans(conn: &Connection, starts: &[i64]) -> rusqlite::Result<Duration> {
    let mut select = conn.prepare("SELECT k, v FROM kv WHERE k >= ?1 ORDER BY k LIMIT 100")?;
    let t = Instant::now();
    for &k in starts {
        let mut rows = select.query(params![k])?;
        let mut n = 0;
        while let Some(row) = rows.next()? {
            let _: String = row.get(1)?;
            n += 1;
        }
        debug_assert!(n > 0);
    }
    Ok(t.elapsed() / starts.len() as u32)
}
