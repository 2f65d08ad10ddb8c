//! Stored procedures end to end, over pgwire against the real binary: WebAssembly routines
//! created in wat, wasm, rust and typescript, stored in sys_procedures, called from SQL
//! inside the caller's transaction, stopped when they run away, and refused when malformed;
//! a module is compiled once, however many sessions call it first.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Server, http, rows, runtime};
use tokio_postgres::Client;
use tokio_postgres::error::SqlState;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// An oxibase-guest example built to wasm now, or the committed module where the wasm32
/// target cannot be had (the message says so).
fn guest_module(name: &str) -> Vec<u8> {
    let root = workspace();
    let built = Command::new(env!("CARGO"))
        .current_dir(&root)
        .args(["build", "-p", "oxibase-guest", "--release", "--target", "wasm32-unknown-unknown"])
        .args(["--example", name])
        .env("CARGO_TARGET_DIR", root.join("target/guest"))
        .env("CARGO_PROFILE_RELEASE_DEBUG", "false")
        .env("CARGO_PROFILE_RELEASE_STRIP", "true")
        .output();
    let path =
        root.join(format!("target/guest/wasm32-unknown-unknown/release/examples/{name}.wasm"));
    match built {
        Ok(out) if out.status.success() => std::fs::read(path).unwrap(),
        other => {
            eprintln!(
                "NOTE: could not build the {name} example for wasm32 ({}); using the committed \
                 crates/guest/modules/{name}.wasm (rebuild it with scripts/build-guest-modules.sh)",
                match other {
                    Ok(out) => String::from_utf8_lossy(&out.stderr)
                        .lines()
                        .last()
                        .unwrap_or("")
                        .to_string(),
                    Err(e) => e.to_string(),
                }
            );
            std::fs::read(root.join(format!("crates/guest/modules/{name}.wasm"))).unwrap()
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn one(client: &Client, sql: &str) -> Vec<Vec<Option<String>>> {
    rows(client.simple_query(sql).await.unwrap_or_else(|e| panic!("{sql}: {e:?}")))
}

async fn error(client: &Client, sql: &str) -> tokio_postgres::error::DbError {
    let e = client.simple_query(sql).await.expect_err(sql);
    e.as_db_error().unwrap_or_else(|| panic!("{sql}: {e:?}")).clone()
}

fn v(s: &str) -> Option<String> {
    Some(s.to_string())
}

const ADD1: &str = r#"CREATE FUNCTION add1(x BIGINT) RETURNS BIGINT LANGUAGE wat AS $$
    (module (func (export "add1") (param i64) (result i64) local.get 0 i64.const 1 i64.add)) $$"#;

#[test]
fn numeric_functions_are_stored_listed_and_called() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::trust(dir.path());
    runtime().block_on(async {
        let c = server.connect().await;
        one(&c, ADD1).await;
        one(&c, "create table n (v bigint); insert into n select * from generate_series(1, 1000)").await;
        assert_eq!(one(&c, "select sum(add1(v)) from n").await, [[v("501500")]]);
        // Extended protocol, binary parameters.
        let row = c.query_one("select add1($1)", &[&41i64]).await.unwrap();
        assert_eq!(row.get::<_, i64>(0), 42);
        // Plain Wasm numbers have no NULL: NULL in, NULL out.
        assert_eq!(one(&c, "select add1(null)").await, [[None]]);
        // Stored and listed.
        assert_eq!(
            one(&c, "select name, language, kind, length(module) > 8, length(hash) from sys_procedures").await,
            [[v("add1"), v("wat"), v("f"), v("t"), v("64")]]
        );
        assert_eq!(
            one(&c, "select proname, prokind, pronargs, proretset from pg_proc where proname = 'add1'").await,
            [[v("add1"), v("f"), v("1"), v("f")]]
        );
        assert_eq!(
            one(&c, "select routine_name, routine_type, data_type, external_language from information_schema.routines").await,
            [[v("add1"), v("FUNCTION"), v("bigint"), v("WAT")]]
        );
        // psql's \df lists it with its signature.
        let out = Command::new("psql")
            .args(["-X", "-h", "127.0.0.1", "-p", &server.port.to_string(), "-U", "oxibase", "oxibase", "-c", "\\df"])
            .output()
            .expect("psql");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("add1 | bigint           | x bigint"), "{text}{}", String::from_utf8_lossy(&out.stderr));
        // Names are unique; OR REPLACE changes the code, not the signature.
        assert_eq!(error(&c, ADD1).await.code(), &SqlState::DUPLICATE_FUNCTION);
        one(&c, &ADD1.replace("CREATE", "CREATE OR REPLACE").replace("i64.const 1", "i64.const 2")).await;
        assert_eq!(one(&c, "select add1(1)").await, [[v("3")]]);
        let e = error(&c, &ADD1.replace("CREATE", "CREATE OR REPLACE").replace("RETURNS BIGINT", "RETURNS INTEGER")).await;
        assert_eq!(e.code(), &SqlState::INVALID_FUNCTION_DEFINITION);
        // Functions are transactional catalog rows.
        one(&c, "begin; drop function add1; rollback").await;
        assert_eq!(one(&c, "select add1(1)").await, [[v("3")]]);
        one(&c, "drop function add1(bigint)").await;
        assert_eq!(error(&c, "select add1(1)").await.code(), &SqlState::UNDEFINED_FUNCTION);
        assert_eq!(error(&c, "drop function add1").await.code(), &SqlState::UNDEFINED_FUNCTION);
        one(&c, "drop function if exists add1").await;
        // Built-ins come first; a schema-qualified name reaches a stored one.
        one(&c, r#"CREATE FUNCTION public.abs(x INTEGER) RETURNS INTEGER LANGUAGE wat AS $$
            (module (func (export "abs") (param i32) (result i32) i32.const 7)) $$"#).await;
        assert_eq!(one(&c, "select abs(-2), public.abs(-2)").await, [[v("2"), v("7")]]);
        // A float function, called in FROM.
        one(&c, r#"CREATE FUNCTION half(x DOUBLE PRECISION) RETURNS DOUBLE PRECISION LANGUAGE wat AS $$
            (module (func (export "half") (param f64) (result f64) local.get 0 f64.const 2 f64.div)) $$"#).await;
        assert_eq!(one(&c, "select * from half(5)").await, [[v("2.5")]]);
    });
}

async fn bank(c: &Client) {
    let module = hex(&guest_module("transfer"));
    one(c, "create table accounts (id bigint primary key, balance bigint not null)").await;
    one(c, "insert into accounts select i, 1000 from generate_series(1, 10) i").await;
    one(c, &format!("create procedure transfer(src bigint, dst bigint, amount bigint) language wasm as '\\x{module}'")).await;
    one(
        c,
        &format!(
            "create function balance(id bigint) returns bigint language wasm as '\\x{module}'"
        ),
    )
    .await;
}

async fn balances(c: &Client) -> Vec<Vec<Option<String>>> {
    one(c, "select id, balance from accounts where id <= 3 order by id").await
}

/// A function that returns its argument through the host ABI: the arguments row `args`
/// writes is a row of one value, which is what `set_result` takes.
fn echo(name: &str, arg: &str, returns: &str) -> String {
    format!(
        r#"CREATE FUNCTION {name}(x {arg}) RETURNS {returns} LANGUAGE wat AS $$
        (module
          (import "oxibase" "args" (func $args (param i32 i32) (result i32)))
          (import "oxibase" "set_result" (func $set (param i32 i32)))
          (memory (export "memory") 1)
          (func (export "{name}") (result i32)
            (call $set (i32.const 0) (call $args (i32.const 0) (i32.const 1024)))
            i32.const 0)) $$"#
    )
}

#[test]
fn enum_values_pass_to_and_from_routines_by_label() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::trust(dir.path());
    runtime().block_on(async {
        let c = server.connect().await;
        one(&c, "create type mood as enum ('sad', 'ok', 'happy')").await;
        one(&c, &echo("same_mood", "mood", "mood")).await;
        one(&c, &echo("mood_label", "mood", "text")).await;
        one(&c, &echo("to_mood", "text", "mood")).await;
        one(&c, "create table d (id int, m mood); insert into d values (1, 'happy'), (2, 'sad'), (3, null)").await;
        // An enum argument arrives as its label; an enum result is cast from the label, so
        // it orders as the type says.
        assert_eq!(
            one(&c, "select id, same_mood(m), pg_typeof(same_mood(m))::text, mood_label(m) from d order by same_mood(m)").await,
            [[v("2"), v("sad"), v("mood"), v("sad")], [v("1"), v("happy"), v("mood"), v("happy")], [v("3"), None, v("mood"), None]]
        );
        assert_eq!(one(&c, "select to_mood('ok') < 'happy'").await, [[v("t")]]);
        // A label the type lacks fails as the cast would.
        let e = error(&c, "select to_mood('meh')").await;
        assert_eq!(e.code(), &SqlState::INVALID_TEXT_REPRESENTATION, "{e:?}");
        // The type cannot go while a routine's signature uses it, but with CASCADE, which
        // takes the routines (Wasm ones too) and the column along, as in PostgreSQL.
        let e = error(&c, "drop type mood").await;
        assert_eq!(e.code(), &SqlState::DEPENDENT_OBJECTS_STILL_EXIST, "{e:?}");
        one(&c, "drop type mood cascade").await;
        let left = "select count(*) from pg_proc where proname in ('same_mood', 'mood_label', 'to_mood')";
        assert_eq!(one(&c, left).await, [[v("0")]]);
        assert_eq!(one(&c, "select count(*) from d").await, [[v("3")]]);
    });
}

#[test]
fn procedures_read_and_write_inside_the_callers_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::trust(dir.path());
    runtime().block_on(async {
        let c = server.connect().await;
        bank(&c).await;
        one(&c, "call transfer(1, 2, 100)").await;
        assert_eq!(
            one(&c, "select balance(1), balance(2), balance(99)").await,
            [[v("900"), v("1100"), None]]
        );
        // Parameters over the extended protocol.
        c.execute("call transfer($1, $2, $3)", &[&2i64, &3i64, &50i64]).await.unwrap();
        let start = [[v("1"), v("900")], [v("2"), v("1050")], [v("3"), v("1050")]];
        assert_eq!(balances(&c).await, start);
        // The guest's error comes back with its SQLSTATE, and the statement's writes (the
        // debit made before the credit failed) are rolled back.
        let e = error(&c, "call transfer(1, 42, 10)").await;
        assert_eq!((e.code().code(), e.message()), ("P0002", "account 42 does not exist"));
        let e = error(&c, "call transfer(1, 2, 5000)").await;
        assert_eq!(e.code(), &SqlState::RAISE_EXCEPTION);
        assert!(e.message().contains("insufficient funds"), "{}", e.message());
        assert_eq!(balances(&c).await, start);
        // Inside an explicit block, the procedure's writes belong to the block.
        one(&c, "begin; call transfer(1, 2, 1); call transfer(1, 2, 1)").await;
        assert_eq!(one(&c, "select balance(1)").await, [[v("898")]]);
        one(&c, "rollback").await;
        assert_eq!(balances(&c).await, start);
        // An error fails the block, as any statement's does.
        one(&c, "begin; call transfer(1, 2, 1)").await;
        error(&c, "call transfer(1, 42, 1)").await;
        assert_eq!(error(&c, "select 1").await.code(), &SqlState::IN_FAILED_SQL_TRANSACTION);
        one(&c, "rollback").await;
        assert_eq!(balances(&c).await, start);
        // Concurrent transfers keep the total (read committed re-checks under row locks).
        let mut tasks = Vec::new();
        for worker in 0..4i64 {
            let client = server.connect().await;
            tasks.push(tokio::spawn(async move {
                for i in 0..40i64 {
                    let (src, dst) = (1 + (worker + i) % 10, 1 + (worker * 3 + i + 1) % 10);
                    if src != dst {
                        client
                            .execute("call transfer($1, $2, $3)", &[&src, &dst, &7i64])
                            .await
                            .unwrap();
                    }
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(
            one(&c, "select sum(balance), count(*) from accounts").await,
            [[v("10000"), v("10")]]
        );
    });
}

/// The modules compiled so far, from /metrics.
fn modules_compiled(server: &Server) -> u64 {
    let (status, body) = http(server.http, "GET", "/metrics", "");
    assert_eq!(status, 200, "{body}");
    body.lines()
        .find_map(|l| l.strip_prefix("oxibase_wasm_modules_compiled_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no module counter in {body}"))
}

/// A module is compiled once: the check at CREATE is kept for the calls, and after a
/// restart the sessions that make the first calls at the same moment wait for one
/// compilation (eight used to compile it eight times at once).
#[test]
fn a_module_is_compiled_once_however_many_sessions_call_it_first() {
    let dir = tempfile::tempdir().unwrap();
    let calls = |server: &Server| {
        runtime().block_on(async {
            let mut calls = Vec::new();
            for i in 0..8i64 {
                let client = server.connect().await;
                calls.push(tokio::spawn(async move {
                    let (src, dst) = (1 + i % 5, 6 + i % 5);
                    client.execute("call transfer($1, $2, 1)", &[&src, &dst]).await.unwrap();
                }));
            }
            for call in calls {
                call.await.unwrap();
            }
        })
    };
    let server = Server::trust(dir.path());
    runtime().block_on(async { bank(&server.connect().await).await });
    // transfer and balance: one module under two exports and signatures, checked apart.
    assert_eq!(modules_compiled(&server), 2);
    calls(&server);
    assert_eq!(modules_compiled(&server), 2, "the calls compiled nothing");
    server.stop();
    let server = Server::trust(dir.path());
    assert_eq!(modules_compiled(&server), 0);
    calls(&server);
    assert_eq!(modules_compiled(&server), 1, "eight first calls, one compilation");
    runtime().block_on(async {
        let c = server.connect().await;
        let total = one(&c, "select sum(balance) from accounts").await;
        assert_eq!(total, vec![vec![v("10000")]], "money is conserved");
    });
}

#[test]
fn procedures_called_on_their_own_may_commit_and_roll_back() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::trust(dir.path());
    runtime().block_on(async {
        let c = server.connect().await;
        one(&c, "create table log (i bigint)").await;
        // Commits after every second row, then fails: the committed rows stay, the rest go.
        one(
            &c,
            r#"CREATE PROCEDURE batches(n BIGINT, fail BOOLEAN) LANGUAGE rust AS $$
            for i in 0..n {
                tx.execute("insert into log values ($1)", &[&i])?;
                if i % 2 == 1 { tx.commit()?; }
            }
            if fail { return Err(oxibase_guest::Error::raise("boom")); }
            Ok(()) $$"#,
        )
        .await;
        let e = error(&c, "call batches(5, true)").await;
        assert_eq!(e.message(), "boom");
        assert_eq!(one(&c, "select count(*), max(i) from log").await, [[v("4"), v("3")]]);
        one(&c, "call batches(3, false)").await;
        assert_eq!(one(&c, "select count(*) from log").await, [[v("7")]]);
        one(
            &c,
            r#"CREATE PROCEDURE undo() LANGUAGE rust AS $$
            tx.execute("delete from log", &[])?;
            tx.rollback()?;
            tx.execute("insert into log values (100)", &[])?;
            Ok(()) $$"#,
        )
        .await;
        one(&c, "call undo()").await;
        assert_eq!(one(&c, "select count(*), max(i) from log").await, [[v("8"), v("100")]]);
        // Inside a transaction block the caller owns the transaction.
        one(&c, "begin").await;
        let e = error(&c, "call batches(2, false)").await;
        assert_eq!(e.code(), &SqlState::INVALID_TRANSACTION_TERMINATION);
        one(&c, "rollback").await;
        assert_eq!(one(&c, "select count(*) from log").await, [[v("8")]]);
    });
}

/// A procedure's OUT and INOUT values come back as one row: over the extended protocol,
/// described before the call (RowDescription), and from a call on its own, where the
/// procedure may COMMIT (over either protocol, as in PostgreSQL).
#[test]
fn procedures_return_their_out_parameters_over_pgwire() {
    use tokio_postgres::SimpleQueryMessage;
    use tokio_postgres::types::Type;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::trust(dir.path());
    runtime().block_on(async {
        let c = server.connect().await;
        c.batch_execute(
            "create table ledger (n int);
             create procedure record_and_count(in x int, out total bigint, inout note text)
             language plpgsql as $$ begin
               insert into ledger values (x);
               select count(*) into total from ledger;
               note := note || ' #' || total;
             end $$;
             create procedure record_and_commit(in x int, out total bigint)
             language plpgsql as $$ begin
               insert into ledger values (x);
               commit;
               select count(*) into total from ledger;
             end $$",
        )
        .await
        .unwrap();
        let stmt = c.prepare("call record_and_count($1, null, $2)").await.unwrap();
        assert_eq!(stmt.params(), &[Type::INT4, Type::TEXT]);
        let columns: Vec<_> =
            stmt.columns().iter().map(|c| (c.name(), c.type_().clone())).collect();
        assert_eq!(columns, [("total", Type::INT8), ("note", Type::TEXT)]);
        let row = c.query_one(&stmt, &[&7i32, &"first"]).await.unwrap();
        assert_eq!((row.get::<_, i64>(0), row.get::<_, String>(1)), (1, "first #1".into()));
        let messages = c.simple_query("call record_and_commit(8, null)").await.unwrap();
        let values: Vec<_> = messages
            .iter()
            .filter_map(|m| match m {
                SimpleQueryMessage::Row(r) => Some(r.get(0).map(str::to_string)),
                _ => None,
            })
            .collect();
        assert_eq!(values, [Some("2".to_string())]);
        let row = c.query_one("call record_and_commit($1, null)", &[&9i32]).await.unwrap();
        assert_eq!(row.get::<_, i64>(0), 3);
        // Inside a block the procedure may not commit: the error comes back, nothing stays;
        // nor in a query of several statements, which is one transaction.
        c.batch_execute("begin").await.unwrap();
        let e = c.simple_query("call record_and_commit(10, null)").await.unwrap_err();
        assert_eq!(e.code(), Some(&SqlState::INVALID_TRANSACTION_TERMINATION));
        c.batch_execute("rollback").await.unwrap();
        let e = c.batch_execute("call record_and_commit(11, null); select 1").await.unwrap_err();
        assert_eq!(e.code(), Some(&SqlState::INVALID_TRANSACTION_TERMINATION));
        let n: i64 = c.query_one("select count(*) from ledger", &[]).await.unwrap().get(0);
        assert_eq!(n, 3);
    });
}

#[test]
fn set_returning_functions_nested_calls_and_recursion() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::trust(dir.path());
    runtime().block_on(async {
        let c = server.connect().await;
        let module = hex(&guest_module("queue"));
        one(&c, "create table jobs (id bigint primary key, payload text, status text not null default 'pending', worker text)").await;
        one(&c, "insert into jobs (id, payload) select i, 'job ' || i from generate_series(1, 25) i").await;
        one(&c, &format!("create function take_jobs(worker text, n int) returns table (id bigint, payload text) language wasm as '\\x{module}'")).await;
        one(&c, &format!("create function complete_job(id bigint) returns boolean language wasm as '\\x{module}'")).await;
        let taken = one(&c, "select * from take_jobs('w1', 10)").await;
        assert_eq!(taken.len(), 10);
        assert_eq!(taken[0], [v("1"), v("job 1")]);
        assert_eq!(one(&c, "select count(*) from jobs where status = 'taken' and worker = 'w1'").await, [[v("10")]]);
        assert_eq!(one(&c, "select complete_job(1), complete_job(1), complete_job(11)").await, [[v("t"), v("f"), v("f")]]);
        // Two consumers in open transactions never get the same job (SKIP LOCKED).
        let c2 = server.connect().await;
        one(&c, "begin").await;
        one(&c2, "begin").await;
        let a = one(&c, "select id from take_jobs('a', 5)").await;
        let b = one(&c2, "select id from take_jobs('b', 5)").await;
        assert_eq!(a.len(), 5);
        assert_eq!(b.len(), 5);
        assert!(a.iter().all(|x| !b.contains(x)), "{a:?} {b:?}");
        one(&c, "commit").await;
        one(&c2, "rollback").await;
        assert_eq!(one(&c, "select count(*) from jobs where status = 'pending'").await, [[v("10")]]);
        // In the select list, a set-returning function gives its rows (a record each); where
        // one value is wanted, it is refused.
        assert_eq!(one(&c, "select take_jobs('x', 1)").await.len(), 1);
        let sql = "select 1 from jobs where take_jobs('x', 1) is not null";
        assert_eq!(error(&c, sql).await.code(), &SqlState::FEATURE_NOT_SUPPORTED);

        // Nested: a routine whose SQL calls routines, reading what its caller wrote.
        bank(&c).await;
        one(&c, r#"create function total() returns bigint language rust as $$
            let t: Option<i64> = tx.query_value("select sum(balance(id))::bigint from accounts", &[])?;
            Ok(t.unwrap_or(0)) $$"#).await;
        assert_eq!(one(&c, "select total()").await, [[v("10000")]]);
        one(&c, "begin; insert into accounts values (11, 5)").await;
        assert_eq!(one(&c, "select total()").await, [[v("10005")]]);
        one(&c, "rollback").await;
        // A statement does not see the writes of the routines it calls (PostgreSQL's rule),
        // the next statement does.
        one(&c, r#"create function bump(id bigint) returns bigint language rust as $$
            tx.execute("update accounts set balance = balance + 1 where id = $1", &[&id])?;
            Ok(id) $$"#).await;
        assert_eq!(one(&c, "select bump(id), balance from accounts where id = 1").await, [[v("1"), v("1000")]]);
        assert_eq!(one(&c, "select balance from accounts where id = 1").await, [[v("1001")]]);
        // Recursion through SQL ends at the depth limit with a clear error.
        one(&c, r#"create function down(n bigint) returns bigint language rust as $$
            if n == 0 { return Ok(0); }
            let r: Option<i64> = tx.query_value("select down($1)", &[&(n - 1)])?;
            Ok(r.unwrap_or(0) + 1) $$"#).await;
        assert_eq!(one(&c, "select down(5)").await, [[v("5")]]);
        let e = error(&c, "select down(1000)").await;
        assert_eq!(e.code(), &SqlState::STATEMENT_TOO_COMPLEX, "{}", e.message());
        assert_eq!(one(&c, "select down(3)").await, [[v("3")]]);
    });
}

#[test]
fn runaway_routines_are_stopped_and_the_server_lives_on() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::trust(dir.path());
    runtime().block_on(async {
        let c = server.connect().await;
        one(&c, r#"CREATE FUNCTION spin(x BIGINT) RETURNS BIGINT LANGUAGE wat AS $$
            (module (func (export "spin") (param i64) (result i64) (loop br 0) local.get 0)) $$"#).await;
        // The same loop in a module that uses the host ABI (it runs as a coroutine).
        one(&c, r#"CREATE FUNCTION spin_abi() RETURNS BIGINT LANGUAGE wat AS $$
            (module (import "oxibase" "log" (func (param i32 i32 i32)))
                    (memory (export "memory") 1)
                    (func (export "spin_abi") (result i32) (loop br 0) i32.const 0)) $$"#).await;
        for sql in ["select spin(1)", "select spin_abi()"] {
            let started = Instant::now();
            let e = error(&c, &format!("set statement_timeout = 500; {sql}")).await;
            assert_eq!(e.code(), &SqlState::QUERY_CANCELED, "{sql}: {}", e.message());
            assert!(e.message().contains("statement timeout"), "{}", e.message());
            assert!(started.elapsed() < Duration::from_secs(5), "{sql} took {:?}", started.elapsed());
            one(&c, "set statement_timeout = 0").await;
        }
        // A cancel request stops it too.
        let cancel = c.cancel_token();
        let canceller = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            cancel.cancel_query(tokio_postgres::NoTls).await.unwrap();
        });
        let e = error(&c, "select spin(2)").await;
        assert_eq!(e.code(), &SqlState::QUERY_CANCELED);
        canceller.await.unwrap();
        // A memory bomb hits the per-instance cap.
        one(&c, r#"CREATE FUNCTION bomb() RETURNS INTEGER LANGUAGE wat AS $$
            (module (memory 1)
              (func (export "bomb") (result i32)
                (loop (br_if 0 (i32.ne (memory.grow (i32.const 16)) (i32.const -1))))
                i32.const 0)) $$"#).await;
        let e = error(&c, "select bomb()").await;
        assert_eq!(e.code(), &SqlState::PROGRAM_LIMIT_EXCEEDED, "{}", e.message());
        assert!(e.message().contains("memory limit"), "{}", e.message());
        // Unbounded recursion hits the stack bound.
        one(&c, r#"CREATE FUNCTION deep(x BIGINT) RETURNS BIGINT LANGUAGE wat AS $$
            (module (func $f (export "deep") (param i64) (result i64)
               local.get 0 i64.const 1 i64.add call $f)) $$"#).await;
        let e = error(&c, "select deep(1)").await;
        assert_eq!(e.code(), &SqlState::STATEMENT_TOO_COMPLEX, "{}", e.message());
        // A trap is an error of the statement.
        one(&c, r#"CREATE FUNCTION div0(x INTEGER) RETURNS INTEGER LANGUAGE wat AS $$
            (module (func (export "div0") (param i32) (result i32) local.get 0 i32.const 0 i32.div_s)) $$"#).await;
        let e = error(&c, "select div0(1)").await;
        assert_eq!(e.code().code(), "38000");
        assert!(e.message().contains("divide by zero"), "{}", e.message());
        assert_eq!(one(&c, "select 1").await, [[v("1")]]);
    });
}

#[test]
fn malformed_modules_and_unoffered_imports_are_rejected_at_create() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::trust(dir.path());
    runtime().block_on(async {
        let c = server.connect().await;
        let bad = [
            // WAT that does not parse: the message points at the line.
            ("CREATE FUNCTION f(x INTEGER) RETURNS INTEGER LANGUAGE wat AS $$ (module\n (func (export \"f\") (param i32) (result i32) local.get 0 i32.bogus)) $$", "2:"),
            // Bytes that are not a module.
            ("CREATE FUNCTION f(x INTEGER) RETURNS INTEGER LANGUAGE wasm AS '\\x00ff00ff'", "\\0asm"),
            ("CREATE FUNCTION f(x INTEGER) RETURNS INTEGER LANGUAGE wasm AS '\\x0061736d0100000001ff'", "module"),
            // A module importing what the host does not offer (WASI's clock, here).
            (r#"CREATE FUNCTION f(x INTEGER) RETURNS INTEGER LANGUAGE wat AS $$ (module
                (import "wasi_snapshot_preview1" "clock_time_get" (func (param i32 i64 i32) (result i32)))
                (func (export "f") (param i32) (result i32) local.get 0)) $$"#, "clock_time_get"),
            (r#"CREATE FUNCTION f(x INTEGER) RETURNS INTEGER LANGUAGE wat AS $$ (module
                (import "oxibase" "now" (func (result i64)))
                (func (export "f") (param i32) (result i32) local.get 0)) $$"#, "\"oxibase\".\"now\""),
            // The right name with the wrong types, and no export at all.
            (r#"CREATE FUNCTION f(x INTEGER) RETURNS INTEGER LANGUAGE wat AS $$ (module
                (func (export "f") (param i64) (result i64) local.get 0)) $$"#, "does not match"),
            ("CREATE FUNCTION f(x INTEGER) RETURNS INTEGER LANGUAGE wat AS $$ (module) $$", "does not export"),
            // A host ABI import with the wrong type fails to link.
            (r#"CREATE FUNCTION f() RETURNS INTEGER LANGUAGE wat AS $$ (module
                (import "oxibase" "log" (func (param i64)))
                (memory (export "memory") 1)
                (func (export "f") (result i32) i32.const 0)) $$"#, "link"),
        ];
        for (sql, needle) in bad {
            let e = error(&c, sql).await;
            assert_eq!(e.code(), &SqlState::INVALID_FUNCTION_DEFINITION, "{sql}: {}", e.message());
            let text = format!("{} {} {}", e.message(), e.detail().unwrap_or(""), e.hint().unwrap_or(""));
            assert!(text.contains(needle), "{sql}: {text}");
        }
        let e = error(&c, "CREATE FUNCTION f() RETURNS INTEGER LANGUAGE plperl AS $$ return 1; $$").await;
        assert_eq!(e.code(), &SqlState::UNDEFINED_OBJECT);
        assert_eq!(one(&c, "select count(*) from sys_procedures").await, [[v("0")]]);
    });
}

#[test]
fn drop_while_another_session_is_calling() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::trust(dir.path());
    runtime().block_on(async {
        let a = server.connect().await;
        let b = server.connect().await;
        // Counts down from x: about a second for 10^9.
        one(
            &a,
            r#"CREATE FUNCTION slow(x BIGINT) RETURNS BIGINT LANGUAGE wat AS $$
            (module (func (export "slow") (param i64) (result i64)
              (loop local.get 0 i64.const 1 i64.sub local.tee 0 i64.const 0 i64.gt_s br_if 0)
              i64.const 7)) $$"#,
        )
        .await;
        let running = tokio::spawn(async move {
            let r = one(&a, "select slow(1000000000)").await;
            (a, r)
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        let started = Instant::now();
        one(&b, "drop function slow").await;
        let dropped_in = started.elapsed();
        let (a, r) = running.await.unwrap();
        assert_eq!(r, [[v("7")]], "the running call finishes with the code it started with");
        assert!(dropped_in < Duration::from_secs(5), "DROP waited {dropped_in:?}");
        assert_eq!(error(&a, "select slow(1)").await.code(), &SqlState::UNDEFINED_FUNCTION);
    });
}

fn asc() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("OXIBASE_ASC") {
        return Some(p.into());
    }
    for local in ["node_modules/.bin/asc", ".ci/node/node_modules/.bin/asc"] {
        let local = workspace().join(local);
        if local.is_file() {
            return Some(local);
        }
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join("asc")).find(|p| p.is_file())
}

#[test]
fn rust_and_typescript_are_compiled_by_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let asc = asc();
    let asc_env =
        asc.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "/nonexistent/asc".into());
    let server = Server::start(dir.path(), &["--auth", "trust"], &[("OXIBASE_ASC", &asc_env)]);
    runtime().block_on(async {
        let c = server.connect().await;
        one(&c, "CREATE FUNCTION triple(x INTEGER) RETURNS INTEGER LANGUAGE rust AS $$ x * 3 $$").await;
        assert_eq!(one(&c, "select triple(14)").await, [[v("42")]]);
        one(&c, "create table names (n text); insert into names values ('ann'), ('bob')").await;
        one(&c, r#"CREATE FUNCTION greet(who TEXT) RETURNS TEXT LANGUAGE rust AS $$
            let n: Option<i64> = tx.query_value("select count(*) from names", &[])?;
            Ok(format!("hello {who}, one of {}", n.unwrap_or(0))) $$"#).await;
        assert_eq!(one(&c, "select greet(n) from names order by n").await, [[v("hello ann, one of 2")], [v("hello bob, one of 2")]]);
        // The compiler's message, with lines of the routine's own body.
        let e = error(&c, "CREATE FUNCTION broken(x INTEGER) RETURNS INTEGER LANGUAGE rust AS $$\nlet y = x +;\ny $$").await;
        assert_eq!(e.code(), &SqlState::INVALID_FUNCTION_DEFINITION);
        let detail = e.detail().unwrap_or("");
        assert!(detail.contains("expected expression") && detail.contains("line 2"), "{detail}");

        let ts = "CREATE FUNCTION tsadd(a DOUBLE PRECISION, b DOUBLE PRECISION) RETURNS DOUBLE PRECISION LANGUAGE typescript AS $$ return a + b * 2; $$";
        if asc.is_some() {
            one(&c, ts).await;
            assert_eq!(one(&c, "select tsadd(1, 2)").await, [[v("5")]]);
            let e = error(&c, "CREATE FUNCTION tsbad(a INTEGER) RETURNS INTEGER LANGUAGE typescript AS $$ return a + ; $$").await;
            assert_eq!(e.code(), &SqlState::INVALID_FUNCTION_DEFINITION, "{}", e.message());
            // Through the AssemblyScript SDK: SQL in the calling transaction, text, rows.
            one(&c, r#"CREATE FUNCTION tgreet(who TEXT, n BIGINT) RETURNS TEXT LANGUAGE typescript AS $$
                const c = queryValue("select count(*) from names where n <> $1", [Value.text(who)]).asInt();
                return "hello " + who + " " + n.toString() + " of " + c.toString(); $$"#).await;
            assert_eq!(
                one(&c, "select tgreet(n, 7) from names order by n").await,
                [[v("hello ann 7 of 1")], [v("hello bob 7 of 1")]]
            );
            one(&c, r#"CREATE FUNCTION tnames() RETURNS TABLE (n TEXT, len INT) LANGUAGE typescript AS $$
                const rows = query("select n from names order by n");
                let row = rows.next();
                while (row != null) { emit([row[0], Value.int(row[0].s.length)]); row = rows.next(); }
                rows.close(); $$"#).await;
            assert_eq!(one(&c, "select * from tnames()").await, [[v("ann"), v("3")], [v("bob"), v("3")]]);
            // A SQL error inside fails the call with the statement's SQLSTATE.
            one(&c, r#"CREATE FUNCTION tfail() RETURNS BIGINT LANGUAGE typescript AS $$
                return queryValue("select * from no_such_table").asInt(); $$"#).await;
            assert_eq!(error(&c, "select tfail()").await.code(), &SqlState::UNDEFINED_TABLE);
        } else {
            eprintln!("NOTE: AssemblyScript's asc is not installed here; checking the error that names it");
            let e = error(&c, ts).await;
            assert_eq!(e.code(), &SqlState::FEATURE_NOT_SUPPORTED);
            assert!(e.message().contains("npm install -g assemblyscript"), "{}", e.message());
        }
    });
}

#[test]
fn routines_are_callable_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::trust(dir.path());
    runtime().block_on(async {
        let c = server.connect().await;
        bank(&c).await;
    });
    let (status, body) = http(server.http, "POST", "/v1/call/transfer", "[1, 2, 300]");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""result":null"#), "{body}");
    let (status, body) =
        http(server.http, "POST", "/v1/call/transfer", r#"{"src": 2, "dst": 3, "amount": 5}"#);
    assert_eq!(status, 200, "{body}");
    let (status, body) = http(server.http, "POST", "/v1/call/balance", "[2]");
    assert_eq!((status, body.as_str()), (200, r#"{"result":1295}"#));
    let (status, body) = http(server.http, "POST", "/v1/call/transfer", "[1, 2, 999999]");
    assert_eq!(status, 400);
    assert!(body.contains("P0001") && body.contains("insufficient funds"), "{body}");
    let (status, body) = http(server.http, "POST", "/v1/call/transfer", r#"{"src": 1}"#);
    assert_eq!(status, 400);
    assert!(body.contains("dst"), "{body}");
    let (status, body) = http(server.http, "POST", "/v1/call/nothing", "[]");
    assert_eq!(status, 400);
    assert!(body.contains("42883"), "{body}");
    let (status, body) =
        http(server.http, "POST", "/v1/sql", r#"{"sql": "select sum(balance) from accounts"}"#);
    assert_eq!(status, 200);
    assert!(body.contains("10000"), "{body}");
}

/// The state of a debug session, from an `oxibase_debug_*` function.
async fn debug(c: &Client, sql: &str) -> serde_json::Value {
    let r = one(c, sql).await;
    serde_json::from_str(r[0][0].as_deref().unwrap()).unwrap()
}

#[test]
fn a_procedure_runs_step_by_step_under_the_debugger() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::trust(dir.path());
    runtime().block_on(async {
        let c = server.connect().await;
        let watcher = server.connect().await;
        bank(&c).await;
        // Stopped at the first instruction, nothing run yet.
        let s = debug(&c, "select oxibase_debug_start('call transfer(1, 2, 100)')").await;
        assert_eq!(s["status"], "paused", "{s}");
        let id = s["id"].as_i64().unwrap();
        let frames = s["frames"].as_array().unwrap();
        assert_eq!(frames.len(), 1, "{s}");
        let function = frames[0]["function"].as_i64().unwrap();
        // Step into a few instructions: each stop is a later instruction.
        let mut pcs = vec![frames[0]["pc"].as_i64().unwrap()];
        for _ in 0..5 {
            let s = debug(&c, &format!("select oxibase_debug_step({id}, 'into')")).await;
            assert_eq!(s["status"], "paused");
            pcs.push(s["frames"][0]["pc"].as_i64().unwrap());
        }
        assert!(pcs.windows(2).all(|w| w[0] != w[1]), "{pcs:?}");
        // Abort while paused: the call fails, its transaction rolls back.
        let s = debug(&c, &format!("select oxibase_debug_end({id}, true)")).await;
        assert_eq!(s["status"], "ended", "{s}");
        assert_eq!(s["ended"], "ROLLBACK");
        assert!(s["error"].as_str().unwrap().contains("debugger aborted"), "{s}");
        assert_eq!(
            balances(&watcher).await,
            [[v("1"), v("1000")], [v("2"), v("1000")], [v("3"), v("1000")]]
        );

        // A breakpoint stops `continue` there.
        let s = debug(&c, "select oxibase_debug_start('call transfer(1, 2, 100)')").await;
        let id = s["id"].as_i64().unwrap();
        let s =
            debug(&c, &format!("select oxibase_debug_breakpoint({id}, {function}, {})", pcs[4]))
                .await;
        assert_eq!(s["breakpoints"], serde_json::json!([[function, pcs[4]]]));
        let s = debug(&c, &format!("select oxibase_debug_step({id}, 'continue')")).await;
        assert_eq!(
            (s["status"].as_str(), s["frames"][0]["pc"].as_i64()),
            (Some("paused"), Some(pcs[4]))
        );
        assert!(
            !s["frames"][0]["locals"].as_array().unwrap().is_empty()
                || s["frames"][0]["stack"].is_array()
        );
        // Off again, and to the end: the statements it ran, with parameters and row counts.
        debug(&c, &format!("select oxibase_debug_breakpoint({id}, {function}, {})", pcs[4])).await;
        let s = debug(&c, &format!("select oxibase_debug_step({id}, 'continue')")).await;
        assert_eq!(s["status"], "finished", "{s}");
        assert_eq!(s["result"], "CALL", "{s}");
        let calls = s["host_calls"].as_array().unwrap();
        assert!(calls.len() >= 3, "{s}");
        assert!(
            calls.iter().any(|c| c["sql"]
                .as_str()
                .unwrap()
                .to_lowercase()
                .contains("update accounts")
                && c["params"].as_array().unwrap().iter().any(|p| p == "100")
                && c["rows"] == 1),
            "{s}"
        );
        // The rows its transaction wrote.
        let writes: Vec<&str> =
            s["writes"].as_array().unwrap().iter().filter_map(|w| w.as_str()).collect();
        assert_eq!(writes, ["accounts: (1, 900)", "accounts: (2, 1100)"], "{s}");
        // Finished but not ended: the transaction is open, its row locks visible to others.
        let locks = one(&watcher, "select count(*) > 1 from pg_locks where granted").await;
        assert_eq!(locks, [[v("t")]]);
        assert_eq!(balances(&watcher).await[0], [v("1"), v("1000")]);
        let s = debug(&c, &format!("select oxibase_debug_end({id}, true)")).await;
        assert_eq!(s["ended"], "COMMIT", "{s}");
        assert_eq!(balances(&watcher).await[..2], [[v("1"), v("900")], [v("2"), v("1100")]]);

        // Step over and out from the routine's first instruction runs to the end.
        let s = debug(&c, "select oxibase_debug_start('call transfer(2, 1, 100)')").await;
        let id = s["id"].as_i64().unwrap();
        let s = debug(&c, &format!("select oxibase_debug_step({id}, 'out')")).await;
        assert_eq!(s["status"], "finished", "{s}");
        let s = debug(&c, &format!("select oxibase_debug_end({id}, false)")).await;
        assert_eq!(s["ended"], "ROLLBACK");
        assert_eq!(balances(&watcher).await[0], [v("1"), v("900")]);

        // Unknown sessions and steps; only a superuser may debug.
        assert_eq!(
            error(&c, &format!("select oxibase_debug_state({id})")).await.code().code(),
            "42704"
        );
        let s = debug(&c, "select oxibase_debug_start('call transfer(1, 2, 1)')").await;
        let id = s["id"].as_i64().unwrap();
        assert_eq!(
            error(&c, &format!("select oxibase_debug_step({id}, 'sideways')")).await.code().code(),
            "22023"
        );
        debug(&c, &format!("select oxibase_debug_end({id}, false)")).await;
        one(&c, "create role dev login").await;
        let dev = common::connect(&format!(
            "host=127.0.0.1 port={} user=dev dbname=oxibase",
            server.port
        ))
        .await
        .unwrap();
        let e = error(&dev, "select oxibase_debug_start('call transfer(1, 2, 1)')").await;
        assert_eq!(e.code().code(), "42501");
    });
}

#[test]
fn a_debug_session_ends_with_the_connection_that_drove_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::trust(dir.path());
    runtime().block_on(async {
        let c = server.connect().await;
        bank(&c).await;
        let driver = server.connect().await;
        let s = debug(&driver, "select oxibase_debug_start('call transfer(1, 2, 100)')").await;
        debug(&driver, &format!("select oxibase_debug_step({}, 'continue')", s["id"])).await;
        // Finished, its row locks held; the driver goes away.
        assert_eq!(one(&c, "select count(*) > 0 from pg_locks").await, [[v("t")]]);
        drop(driver);
        let mut left = vec![];
        for _ in 0..100 {
            left = one(&c, "select count(*) from pg_locks").await;
            if left == [[v("0")]] {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(left, [[v("0")]], "the debugged transaction still holds locks");
        assert_eq!(balances(&c).await[0], [v("1"), v("1000")], "rolled back");
        // Its row can be written again at once.
        one(&c, "update accounts set balance = 1 where id = 1").await;
    });
}

#[test]
fn ending_a_debug_session_that_waits_for_a_lock_cancels_the_wait() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::trust(dir.path());
    runtime().block_on(async {
        let c = server.connect().await;
        bank(&c).await;
        let holder = server.connect().await;
        holder.batch_execute("begin; update accounts set balance = 0 where id = 1").await.unwrap();
        // The call under the debugger runs until the routine's SELECT ... FOR UPDATE waits.
        let s = debug(&c, "select oxibase_debug_start('call transfer(1, 2, 100)')").await;
        let id = s["id"].as_i64().unwrap();
        let sql = format!("select oxibase_debug_step({id}, 'continue')");
        let step = c.simple_query(&sql);
        let _ = tokio::time::timeout(std::time::Duration::from_millis(500), step).await;
        let other = server.connect().await;
        let started = std::time::Instant::now();
        let s = debug(&other, &format!("select oxibase_debug_end({id}, true)")).await;
        assert!(started.elapsed() < std::time::Duration::from_secs(10), "{s}");
        assert_eq!(s["ended"], "ROLLBACK", "{s}");
        holder.batch_execute("rollback").await.unwrap();
        assert_eq!(balances(&c).await[..2], [[v("1"), v("1000")], [v("2"), v("1000")]]);
    });
}

#[test]
fn a_rust_procedure_steps_by_the_lines_of_its_source() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::trust(dir.path());
    runtime().block_on(async {
        let c = server.connect().await;
        one(
            &c,
            "CREATE FUNCTION sum_to(n BIGINT) RETURNS BIGINT LANGUAGE rust AS $$
let mut total = 0i64;
let mut i = 1i64;
while i <= n {
    total += i * i;
    i += 1;
}
total
$$",
        )
        .await;
        let s = debug(&c, "select oxibase_debug_start('select sum_to(3)')").await;
        assert_eq!(s["status"], "paused", "{s}");
        let id = s["id"].as_i64().unwrap();
        let mut lines = vec![s["frames"][0]["line"].as_i64().expect("a line for the first stop")];
        let mut status = String::new();
        for _ in 0..200 {
            let s = debug(&c, &format!("select oxibase_debug_step({id}, 'into')")).await;
            status = s["status"].as_str().unwrap().to_string();
            if status != "paused" {
                assert_eq!(s["result"], "SELECT 1 (14)", "{s}");
                break;
            }
            lines.push(
                s["frames"][0]["line"].as_i64().expect("every stop is on a line of the body"),
            );
        }
        assert_eq!(status, "finished");
        assert!(lines.iter().all(|l| (1..=8).contains(l)), "{lines:?}");
        assert!(lines.windows(2).any(|w| w[0] != w[1]), "steps move between lines: {lines:?}");
        debug(&c, &format!("select oxibase_debug_end({id}, false)")).await;
        // A breakpoint on a line the stepping passed (not the first): continue stops there.
        let target = *lines.iter().find(|l| **l != lines[0]).unwrap();
        let s = debug(&c, "select oxibase_debug_start('select sum_to(3)')").await;
        let id = s["id"].as_i64().unwrap();
        let s = debug(&c, &format!("select oxibase_debug_breakpoint({id}, -1, {target})")).await;
        assert_eq!(s["line_breakpoints"], serde_json::json!([target]));
        let s = debug(&c, &format!("select oxibase_debug_step({id}, 'continue')")).await;
        assert_eq!(
            (s["status"].as_str(), s["frames"][0]["line"].as_i64()),
            (Some("paused"), Some(target)),
            "{s}"
        );
        debug(&c, &format!("select oxibase_debug_end({id}, false)")).await;
    });
}

#[test]
fn a_typescript_procedure_steps_by_the_lines_of_its_source() {
    let Some(asc) = asc() else {
        // As in rust_and_typescript_are_compiled_by_the_server: .ci/run installs asc.
        eprintln!("SKIPPED: no AssemblyScript compiler (set OXIBASE_ASC or run .ci/run)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let asc = asc.display().to_string();
    let server = Server::start(dir.path(), &["--auth", "trust"], &[("OXIBASE_ASC", &asc)]);
    runtime().block_on(async {
        let c = server.connect().await;
        one(
            &c,
            "CREATE FUNCTION sq_sum(n BIGINT) RETURNS BIGINT LANGUAGE typescript AS $$
let t: i64 = 0;
for (let i: i64 = 1; i <= n; i++) {
  t += i * i;
}
return t;
$$",
        )
        .await;
        let s = debug(&c, "select oxibase_debug_start('select sq_sum(3)')").await;
        assert_eq!(s["status"], "paused", "{s}");
        let id = s["id"].as_i64().unwrap();
        let mut lines = vec![s["frames"][0]["line"].as_i64().expect("a line for the first stop")];
        for _ in 0..200 {
            let s = debug(&c, &format!("select oxibase_debug_step({id}, 'into')")).await;
            if s["status"] != "paused" {
                assert_eq!(s["result"], "SELECT 1 (14)", "{s}");
                break;
            }
            lines.push(
                s["frames"][0]["line"].as_i64().expect("every stop is on a line of the body"),
            );
        }
        assert!(lines.iter().all(|l| (1..=6).contains(l)), "{lines:?}");
        assert!(lines.windows(2).any(|w| w[0] != w[1]), "steps move between lines: {lines:?}");
        debug(&c, &format!("select oxibase_debug_end({id}, false)")).await;
    });
}

#[test]
fn plpgsql_runs_over_psql_with_notices_commits_triggers_and_wasm_calls() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::trust(dir.path());
    let script = r#"
CREATE FUNCTION add1(x BIGINT) RETURNS BIGINT LANGUAGE wat AS $$
    (module (func (export "add1") (param i64) (result i64) local.get 0 i64.const 1 i64.add)) $$;
CREATE TABLE t (id bigint PRIMARY KEY, n bigint);
CREATE FUNCTION bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.n := add1(coalesce(NEW.n, 0));
  RAISE NOTICE 'bumped % to %', NEW.id, NEW.n;
  RETURN NEW;
END $$;
CREATE TRIGGER bump BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION bump();
CREATE PROCEDURE fill(k int) LANGUAGE plpgsql AS $$
BEGIN
  FOR i IN 1..k LOOP
    INSERT INTO t VALUES (i, i * 10);
    IF i = 2 THEN COMMIT; END IF;
  END LOOP;
  RAISE EXCEPTION 'stop after %', k;
END $$;
DO $$ BEGIN RAISE NOTICE 'rows before: %', (SELECT count(*) FROM t); END $$;
CALL fill(3);
SELECT string_agg(id || '=' || n, ',' ORDER BY id) FROM t;
\sf bump
"#;
    let file = dir.path().join("script.sql");
    std::fs::write(&file, script).unwrap();
    let out = Command::new("psql")
        .args([
            "-X",
            "-q",
            "-t",
            "-A",
            "-h",
            "127.0.0.1",
            "-p",
            &server.port.to_string(),
            "-U",
            "oxibase",
            "oxibase",
        ])
        .arg("-f")
        .arg(&file)
        .output()
        .expect("psql");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("NOTICE:  rows before: 0"), "{stderr}");
    // The trigger called the Wasm function for each row and said so.
    assert!(stderr.contains("NOTICE:  bumped 1 to 11"), "{stderr}");
    assert!(stderr.contains("NOTICE:  bumped 3 to 31"), "{stderr}");
    // The procedure committed after its second row; the error rolled back only the third.
    assert!(stderr.contains("ERROR:  stop after 3"), "{stderr}");
    let (first, sf) = stdout.trim().split_once('\n').unwrap_or_default();
    assert_eq!(first, "1=11,2=21", "{stderr}");
    // psql's \sf shows the function as PostgreSQL's pg_get_functiondef lays it out.
    assert!(
        sf.starts_with("CREATE OR REPLACE FUNCTION public.bump()\n RETURNS trigger\n LANGUAGE plpgsql\nAS $function$\nBEGIN"),
        "{sf}"
    );
}
