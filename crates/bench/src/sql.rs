//! The SQL engine benchmark (issue 3): Oxibase's embedded API against SQLite (rusqlite,
//! bundled) in the same process, on the same data and disk, prepared statements on both.
//!
//! Tables: `items(id PK, k int indexed, grp int, v float, name text)` with N rows and
//! `groups(id PK, label text)` with 1000 rows. Operations:
//! - point select by primary key; update by key (each its own durable transaction);
//! - single-row insert (autocommit, durable) and batched insert (1000 rows per transaction);
//! - range scan of about 100 rows through the secondary index on `k`;
//! - a two-table join (`items` of a `k` range joined to `groups`);
//! - GROUP BY with count/sum/avg over every row.
//!
//! SQLite runs in WAL mode with synchronous=FULL, so its commits are as durable as Oxibase's.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use oxibase_common::{Result, Value, errinput};
use oxibase_sql::Database;
use rand::Rng;
use rusqlite::params;

use crate::stats::micros;

/// What to run.
#[derive(Clone, Debug)]
pub struct SqlOptions {
    /// Where to create the databases.
    pub dir: PathBuf,
    /// Rows in the main table.
    pub rows: u64,
    /// Operations per measured step (point selects, updates, scans, joins).
    pub ops: u64,
}

impl Default for SqlOptions {
    fn default() -> Self {
        SqlOptions { dir: std::env::temp_dir(), rows: 1_000_000, ops: 5000 }
    }
}

fn sqlite_err(e: rusqlite::Error) -> oxibase_common::Error {
    errinput!(INTERNAL_ERROR, "sqlite: {e}")
}

struct Row {
    op: &'static str,
    oxibase: Duration,
    sqlite: Duration,
    per: &'static str,
}

/// Runs the benchmark and returns a Markdown report.
pub fn run(options: &SqlOptions) -> Result<String> {
    let work = tempfile::tempdir_in(&options.dir).map_err(|e| errinput!(IO_ERROR, "{e}"))?;
    let db = Database::open(&work.path().join("oxibase"))?;
    let mut ox = db.session();
    let lite = crate::sqlite::open(&work.path().join("sqlite.db")).map_err(sqlite_err)?;
    let n = options.rows as i64;
    let mut rng = rand::rng();

    // Load both, in transactions of 10,000 rows.
    let load_start = Instant::now();
    ox.execute("create table groups (id int primary key, label text)")?;
    ox.execute("create table items (id bigint primary key, k int not null, grp int not null, v float8, name text)")?;
    ox.execute("insert into groups select g, 'group ' || g from generate_series(0, 999) g")?;
    let chunk = 10_000;
    let mut from = 0;
    while from < n {
        let to = (from + chunk).min(n) - 1;
        ox.execute(&format!(
            "insert into items select g, (g * 7919) % {n}, g % 1000, g * 0.5, 'item ' || g from generate_series({from}::bigint, {to}::bigint) g"
        ))?;
        from += chunk;
    }
    ox.execute("create index items_k on items (k)")?;
    let ox_load = load_start.elapsed();

    let load_start = Instant::now();
    lite.execute_batch(
        "CREATE TABLE groups (id INTEGER PRIMARY KEY, label TEXT);
         CREATE TABLE items (id INTEGER PRIMARY KEY, k INTEGER NOT NULL, grp INTEGER NOT NULL, v REAL, name TEXT);",
    )
    .map_err(sqlite_err)?;
    {
        let tx = lite.unchecked_transaction().map_err(sqlite_err)?;
        let mut g = tx.prepare("INSERT INTO groups VALUES (?1, ?2)").map_err(sqlite_err)?;
        for i in 0..1000 {
            g.execute(params![i, format!("group {i}")]).map_err(sqlite_err)?;
        }
        drop(g);
        tx.commit().map_err(sqlite_err)?;
    }
    let mut from = 0;
    while from < n {
        let tx = lite.unchecked_transaction().map_err(sqlite_err)?;
        let mut ins =
            tx.prepare("INSERT INTO items VALUES (?1, ?2, ?3, ?4, ?5)").map_err(sqlite_err)?;
        for i in from..(from + chunk).min(n) {
            ins.execute(params![i, (i * 7919) % n, i % 1000, i as f64 * 0.5, format!("item {i}")])
                .map_err(sqlite_err)?;
        }
        drop(ins);
        tx.commit().map_err(sqlite_err)?;
        from += chunk;
    }
    lite.execute_batch("CREATE INDEX items_k ON items (k)").map_err(sqlite_err)?;
    let lite_load = load_start.elapsed();

    let ops = options.ops as usize;
    let keys: Vec<i64> = (0..ops).map(|_| rng.random_range(0..n)).collect();
    let mut rows = Vec::new();

    // Point select by primary key.
    let p = ox.prepare("select name, v from items where id = $1", &[])?;
    let t = Instant::now();
    for k in &keys {
        let out = ox.execute_prepared(&p, &[Value::Int8(*k)])?;
        debug_assert_eq!(out.rows().len(), 1);
    }
    let oxibase = t.elapsed() / ops as u32;
    let mut s = lite.prepare("SELECT name, v FROM items WHERE id = ?1").map_err(sqlite_err)?;
    let t = Instant::now();
    for k in &keys {
        let _: (String, f64) =
            s.query_row(params![k], |r| Ok((r.get(0)?, r.get(1)?))).map_err(sqlite_err)?;
    }
    rows.push(Row {
        op: "point select by primary key",
        oxibase,
        sqlite: t.elapsed() / ops as u32,
        per: "select",
    });
    drop(s);

    // Update by key, each a durable transaction.
    let updates = ops.min(2000);
    let p = ox.prepare("update items set v = v + 1 where id = $1", &[])?;
    let t = Instant::now();
    for k in keys.iter().take(updates) {
        ox.execute_prepared(&p, &[Value::Int8(*k)])?;
    }
    let oxibase = t.elapsed() / updates as u32;
    let mut s = lite.prepare("UPDATE items SET v = v + 1 WHERE id = ?1").map_err(sqlite_err)?;
    let t = Instant::now();
    for k in keys.iter().take(updates) {
        s.execute(params![k]).map_err(sqlite_err)?;
    }
    rows.push(Row {
        op: "update by key (durable commit each)",
        oxibase,
        sqlite: t.elapsed() / updates as u32,
        per: "update",
    });
    drop(s);

    // Single inserts, each a durable transaction.
    let p = ox.prepare("insert into items values ($1, $2, $3, $4, $5)", &[])?;
    let t = Instant::now();
    for i in 0..updates as i64 {
        let id = n + i;
        ox.execute_prepared(
            &p,
            &[
                Value::Int8(id),
                Value::Int4((id % n) as i32),
                Value::Int4(1),
                Value::Float8(1.0),
                Value::Text("new".into()),
            ],
        )?;
    }
    let oxibase = t.elapsed() / updates as u32;
    let mut s =
        lite.prepare("INSERT INTO items VALUES (?1, ?2, ?3, ?4, ?5)").map_err(sqlite_err)?;
    let t = Instant::now();
    for i in 0..updates as i64 {
        let id = n + i;
        s.execute(params![id, id % n, 1, 1.0, "new"]).map_err(sqlite_err)?;
    }
    rows.push(Row {
        op: "single-row insert (durable commit each)",
        oxibase,
        sqlite: t.elapsed() / updates as u32,
        per: "row",
    });
    drop(s);

    // Batched inserts: 1000 rows per transaction.
    let batch_rows = 50_000i64;
    let base = n + updates as i64;
    let t = Instant::now();
    let mut i = 0;
    while i < batch_rows {
        ox.execute("begin")?;
        for j in i..(i + 1000).min(batch_rows) {
            let id = base + j;
            ox.execute_prepared(
                &p,
                &[
                    Value::Int8(id),
                    Value::Int4((id % n) as i32),
                    Value::Int4(2),
                    Value::Float8(2.0),
                    Value::Text("batch".into()),
                ],
            )?;
        }
        ox.execute("commit")?;
        i += 1000;
    }
    let oxibase = t.elapsed() / batch_rows as u32;
    let t = Instant::now();
    let mut i = 0;
    while i < batch_rows {
        let tx = lite.unchecked_transaction().map_err(sqlite_err)?;
        {
            let mut s = tx
                .prepare_cached("INSERT INTO items VALUES (?1, ?2, ?3, ?4, ?5)")
                .map_err(sqlite_err)?;
            for j in i..(i + 1000).min(batch_rows) {
                let id = base + j;
                s.execute(params![id, id % n, 2, 2.0, "batch"]).map_err(sqlite_err)?;
            }
        }
        tx.commit().map_err(sqlite_err)?;
        i += 1000;
    }
    rows.push(Row {
        op: "batched insert (1000 rows per transaction)",
        oxibase,
        sqlite: t.elapsed() / batch_rows as u32,
        per: "row",
    });

    // Range scan of ~100 rows through the secondary index.
    let scans = ops.min(2000);
    let p = ox.prepare("select id, v from items where k between $1 and $2", &[])?;
    let t = Instant::now();
    let mut total = 0;
    for k in keys.iter().take(scans) {
        total += ox
            .execute_prepared(&p, &[Value::Int4(*k as i32), Value::Int4((*k + 99) as i32)])?
            .rows()
            .len();
    }
    let oxibase = t.elapsed() / scans as u32;
    let mut s =
        lite.prepare("SELECT id, v FROM items WHERE k BETWEEN ?1 AND ?2").map_err(sqlite_err)?;
    let t = Instant::now();
    let mut lite_total = 0;
    for k in keys.iter().take(scans) {
        let mut q = s.query(params![k, k + 99]).map_err(sqlite_err)?;
        while q.next().map_err(sqlite_err)?.is_some() {
            lite_total += 1;
        }
    }
    if total != lite_total {
        return Err(errinput!(
            INTERNAL_ERROR,
            "range scans disagree: {total} vs {lite_total} rows"
        ));
    }
    rows.push(Row {
        op: "range scan, ~100 rows via secondary index",
        oxibase,
        sqlite: t.elapsed() / scans as u32,
        per: "scan",
    });
    drop(s);

    // A two-table join over an index range.
    let p = ox.prepare(
        "select g.label, count(*), sum(i.v) from items i join groups g on g.id = i.grp where i.k between $1 and $2 group by g.label",
        &[],
    )?;
    let t = Instant::now();
    for k in keys.iter().take(scans) {
        ox.execute_prepared(&p, &[Value::Int4(*k as i32), Value::Int4((*k + 99) as i32)])?;
    }
    let oxibase = t.elapsed() / scans as u32;
    let mut s = lite
        .prepare("SELECT g.label, count(*), sum(i.v) FROM items i JOIN groups g ON g.id = i.grp WHERE i.k BETWEEN ?1 AND ?2 GROUP BY g.label")
        .map_err(sqlite_err)?;
    let t = Instant::now();
    for k in keys.iter().take(scans) {
        let mut q = s.query(params![k, k + 99]).map_err(sqlite_err)?;
        while q.next().map_err(sqlite_err)?.is_some() {}
    }
    rows.push(Row {
        op: "two-table join (~100 rows, index range)",
        oxibase,
        sqlite: t.elapsed() / scans as u32,
        per: "query",
    });
    drop(s);

    // GROUP BY over every row.
    let t = Instant::now();
    let out =
        ox.execute("select grp % 100, count(*), sum(v), avg(v) from items group by grp % 100")?;
    let oxibase = t.elapsed();
    let groups = out.rows().len();
    let t = Instant::now();
    let mut s = lite
        .prepare("SELECT grp % 100, count(*), sum(v), avg(v) FROM items GROUP BY grp % 100")
        .map_err(sqlite_err)?;
    let mut q = s.query([]).map_err(sqlite_err)?;
    let mut lite_groups = 0;
    while q.next().map_err(sqlite_err)?.is_some() {
        lite_groups += 1;
    }
    rows.push(Row {
        op: "GROUP BY count/sum/avg over every row",
        oxibase,
        sqlite: t.elapsed(),
        per: "query",
    });
    if groups != lite_groups {
        return Err(errinput!(
            INTERNAL_ERROR,
            "GROUP BY disagrees: {groups} vs {lite_groups} groups"
        ));
    }

    let mut report = String::new();
    let _ = writeln!(
        report,
        "Loaded {} rows: Oxibase {:.1} s, SQLite {:.1} s (10,000 rows per transaction, then the index).\n",
        n,
        ox_load.as_secs_f64(),
        lite_load.as_secs_f64()
    );
    let _ = writeln!(report, "| operation | Oxibase | SQLite | Oxibase ÷ SQLite |");
    let _ = writeln!(report, "|---|---|---|---|");
    for r in rows {
        let ratio = r.oxibase.as_secs_f64() / r.sqlite.as_secs_f64().max(1e-9);
        let _ = writeln!(
            report,
            "| {} | {} per {} | {} | {:.2}× |",
            r.op,
            micros(r.oxibase),
            r.per,
            micros(r.sqlite),
            ratio
        );
    }
    Ok(report)
}
