//! `oxibase serve` end to end: the real binary, driven by tokio-postgres (simple and
//! extended protocol, binary parameters and results, transactions, errors, COPY, cancel),
//! psql, raw HTTP, and malformed bytes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tokio_postgres::NoTls;
use tokio_postgres::error::SqlState;

mod common;

use common::{
    Server, connect, frontend_message, http, query_message, read_message, rows, runtime,
    startup_message, startup_message_with, until_ready,
};

/// A trust server on `dir` that also listens on a Unix socket in a directory of its own:
/// the server, that directory (removed when dropped) and the socket file.
fn start_with_unix_socket(
    dir: &std::path::Path,
) -> (Server, tempfile::TempDir, std::path::PathBuf) {
    let sockets = tempfile::tempdir().unwrap();
    let socket_dir = sockets.path().to_str().unwrap();
    let server = Server::start(dir, &["--auth", "trust", "--socket-dir", socket_dir], &[]);
    let file = sockets.path().join(format!(".s.PGSQL.{}", server.port));
    (server, sockets, file)
}

#[test]
fn simple_and_extended_protocol_with_binary_values() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::trust(dir.path());
    runtime().block_on(async {
        let mut c = server.connect().await;
        c.batch_execute(
            "create table t (id int primary key, name text not null, score float8, big bigint,
                             ok bool, data bytea, amount numeric(10,2), note varchar(5))",
        )
        .await
        .unwrap();
        // Extended protocol: parameters travel in binary (tokio-postgres's default).
        let insert = c
            .prepare("insert into t values ($1, $2, $3, $4, $5, $6, ($7::text)::numeric, $8)")
            .await
            .unwrap();
        for i in 0..5i32 {
            let name = format!("n{i}");
            let data = vec![i as u8, 0xff];
            c.execute(
                &insert,
                &[
                    &i,
                    &name,
                    &(i as f64 * 1.5),
                    &(i64::from(i) << 40),
                    &(i % 2 == 0),
                    &data,
                    &format!("{i}.25"),
                    &"abc",
                ],
            )
            .await
            .unwrap();
        }
        let row = c
            .query_one("select id, name, score, big, ok, data, note from t where id = $1", &[&3i32])
            .await
            .unwrap();
        assert_eq!(row.get::<_, i32>(0), 3);
        assert_eq!(row.get::<_, String>(1), "n3");
        assert_eq!(row.get::<_, f64>(2), 4.5);
        assert_eq!(row.get::<_, i64>(3), 3i64 << 40);
        assert!(!row.get::<_, bool>(4));
        assert_eq!(row.get::<_, Vec<u8>>(5), vec![3, 0xff]);
        assert_eq!(row.get::<_, String>(6), "abc");
        // Simple protocol: text values.
        let r = rows(c.simple_query("select amount, ok from t order by id").await.unwrap());
        assert_eq!(r[1], vec![Some("1.25".into()), Some("f".into())]);
        // Parameter types inferred from use, and NULLs.
        let n: i64 = c
            .query_one(
                "select count(*) from t where score > $1 or $2::text is null",
                &[&2.0f64, &None::<String>],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(n, 5);
        // A statement prepared once, executed many times with the row limit of a portal.
        let tx = c.transaction().await.unwrap();
        let portal = tx.bind("select id from t order by id", &[]).await.unwrap();
        let first = tx.query_portal(&portal, 2).await.unwrap();
        let rest = tx.query_portal(&portal, 10).await.unwrap();
        assert_eq!(first.len(), 2);
        assert_eq!(rest.iter().map(|r| r.get::<_, i32>(0)).collect::<Vec<_>>(), vec![2, 3, 4]);
        tx.commit().await.unwrap();
        // Assignment length limits are errors, with PostgreSQL's SQLSTATE.
        let err =
            c.execute("update t set note = $1 where id = 1", &[&"too long"]).await.unwrap_err();
        assert_eq!(err.code(), Some(&SqlState::STRING_DATA_RIGHT_TRUNCATION));
    });
}

/// A value of a SQL enum type as a driver sees it: tokio-postgres looks the type up in
/// pg_type and pg_enum (its typeinfo queries) and hands over the labels.
#[derive(Debug, PartialEq)]
struct Mood(String);

impl tokio_postgres::types::ToSql for Mood {
    fn to_sql(
        &self,
        _: &tokio_postgres::types::Type,
        out: &mut tokio_postgres::types::private::BytesMut,
    ) -> Result<tokio_postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        out.extend_from_slice(self.0.as_bytes());
        Ok(tokio_postgres::types::IsNull::No)
    }

    fn accepts(ty: &tokio_postgres::types::Type) -> bool {
        is_mood(ty)
    }

    tokio_postgres::types::to_sql_checked!();
}

impl<'a> tokio_postgres::types::FromSql<'a> for Mood {
    fn from_sql(
        _: &tokio_postgres::types::Type,
        raw: &'a [u8],
    ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Mood(std::str::from_utf8(raw)?.to_string()))
    }

    fn accepts(ty: &tokio_postgres::types::Type) -> bool {
        is_mood(ty)
    }
}

fn is_mood(ty: &tokio_postgres::types::Type) -> bool {
    ty.name() == "mood"
        && ty.schema() == "public"
        && matches!(ty.kind(), tokio_postgres::types::Kind::Enum(labels) if labels == &["sad", "ok", "happy"])
}

#[test]
fn enum_types_through_a_driver() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::trust(dir.path());
    runtime().block_on(async {
        let c = server.connect().await;
        c.batch_execute(
            "create type mood as enum ('sad', 'ok', 'happy');
             create table diary (day int primary key, m mood not null, ms mood[])",
        )
        .await
        .unwrap();
        // The parameter's type is the enum's oid: the driver resolves it through the catalog.
        let insert = c.prepare("insert into diary (day, m) values ($1, $2)").await.unwrap();
        assert!(is_mood(&insert.params()[1]), "{:?}", insert.params()[1]);
        for (day, m) in [(1, "happy"), (2, "sad"), (3, "ok")] {
            c.execute(&insert, &[&day, &Mood(m.into())]).await.unwrap();
        }
        let err = c.execute(&insert, &[&4i32, &Mood("glum".into())]).await.unwrap_err();
        assert_eq!(err.code(), Some(&SqlState::INVALID_TEXT_REPRESENTATION));
        let message = err.as_db_error().unwrap().message();
        assert_eq!(message, "invalid input value for enum mood: \"glum\"");
        // Results in binary (the driver's choice) and ordered by the type's order.
        let got: Vec<(i32, Mood)> = c
            .query("select day, m from diary where m >= $1 order by m", &[&Mood("ok".into())])
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        assert_eq!(got, vec![(3, Mood("ok".into())), (1, Mood("happy".into()))]);
        // Arrays of the type, and the text protocol.
        c.execute("update diary set ms = '{sad,happy}' where day = 1", &[]).await.unwrap();
        let ms: Vec<Mood> =
            c.query_one("select ms from diary where day = 1", &[]).await.unwrap().get(0);
        assert_eq!(ms, vec![Mood("sad".into()), Mood("happy".into())]);
        let r = rows(c.simple_query("select m, ms from diary where day = 1").await.unwrap());
        assert_eq!(r, vec![vec![Some("happy".into()), Some("{sad,happy}".into())]]);
    });
}

/// A value of the composite type `pair (a int, b text)`, read and written in PostgreSQL's
/// binary record form: the field count, then each field's type oid, length and bytes.
#[derive(Debug, PartialEq)]
struct Pair(i32, Option<String>);

fn is_pair(ty: &tokio_postgres::types::Type) -> bool {
    use tokio_postgres::types::{Kind, Type};
    let Kind::Composite(fields) = ty.kind() else { return false };
    let fields: Vec<(&str, &Type)> = fields.iter().map(|f| (f.name(), f.type_())).collect();
    ty.name() == "pair" && fields == [("a", &Type::INT4), ("b", &Type::TEXT)]
}

impl tokio_postgres::types::ToSql for Pair {
    fn to_sql(
        &self,
        _: &tokio_postgres::types::Type,
        out: &mut tokio_postgres::types::private::BytesMut,
    ) -> Result<tokio_postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        out.extend_from_slice(&2i32.to_be_bytes());
        out.extend_from_slice(&23u32.to_be_bytes());
        out.extend_from_slice(&4i32.to_be_bytes());
        out.extend_from_slice(&self.0.to_be_bytes());
        out.extend_from_slice(&25u32.to_be_bytes());
        match &self.1 {
            Some(b) => {
                out.extend_from_slice(&(b.len() as i32).to_be_bytes());
                out.extend_from_slice(b.as_bytes());
            }
            None => out.extend_from_slice(&(-1i32).to_be_bytes()),
        }
        Ok(tokio_postgres::types::IsNull::No)
    }

    fn accepts(ty: &tokio_postgres::types::Type) -> bool {
        is_pair(ty)
    }

    tokio_postgres::types::to_sql_checked!();
}

impl<'a> tokio_postgres::types::FromSql<'a> for Pair {
    fn from_sql(
        _: &tokio_postgres::types::Type,
        raw: &'a [u8],
    ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        let int = |at: usize| i32::from_be_bytes(raw[at..at + 4].try_into().unwrap());
        assert_eq!((int(0), int(4), int(8)), (2, 23, 4), "{raw:?}");
        assert_eq!(int(16), 25, "{raw:?}");
        let b = match int(20) {
            -1 => None,
            n => Some(String::from_utf8(raw[24..24 + n as usize].to_vec())?),
        };
        Ok(Pair(int(12), b))
    }

    fn accepts(ty: &tokio_postgres::types::Type) -> bool {
        is_pair(ty)
    }
}

#[test]
fn composite_types_through_a_driver() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::trust(dir.path());
    runtime().block_on(async {
        let c = server.connect().await;
        c.batch_execute(
            "create type pair as (a int, b text);
             create table pairs (id int primary key, p pair, ps pair[])",
        )
        .await
        .unwrap();
        // The parameter's type is the composite type's oid; the driver reads its
        // attributes from the catalog and sends the value in binary.
        let insert = c.prepare("insert into pairs (id, p, ps) values ($1, $2, $3)").await.unwrap();
        assert!(is_pair(&insert.params()[1]), "{:?}", insert.params()[1]);
        let ps = vec![Pair(2, Some("y".into())), Pair(3, None)];
        c.execute(&insert, &[&1i32, &Pair(1, Some("x, \"q\"".into())), &ps]).await.unwrap();
        c.execute(&insert, &[&2i32, &Pair(4, None), &Vec::<Pair>::new()]).await.unwrap();
        let row = c.query_one("select p, ps from pairs where id = 1", &[]).await.unwrap();
        assert!(is_pair(&row.columns()[0].type_().clone()));
        assert_eq!(row.get::<_, Pair>(0), Pair(1, Some("x, \"q\"".into())));
        assert_eq!(row.get::<_, Vec<Pair>>(1), ps);
        let found: i32 = c
            .query_one("select id from pairs where p = $1", &[&Pair(4, None)])
            .await
            .unwrap()
            .get(0);
        assert_eq!(found, 2);
        // The text protocol gives PostgreSQL's text form.
        let r = rows(c.simple_query("select p, ps from pairs where id = 1").await.unwrap());
        let text = vec![Some(r#"(1,"x, ""q""")"#.into()), Some(r#"{"(2,y)","(3,)"}"#.into())];
        assert_eq!(r, vec![text]);
    });
}

#[test]
fn deeply_nested_statements_get_an_answer_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::trust(dir.path());
    runtime().block_on(async {
        let c = server.connect().await;
        // 44 nested calls (sqlparser stops at 50) took a debug build's server down with a
        // stack overflow on its 2 MiB threads.
        let mut value = "1".to_string();
        for _ in 0..44 {
            value = format!("abs({value})");
        }
        let n: i32 = c.query_one(&format!("select {value}"), &[]).await.unwrap().get(0);
        assert_eq!(n, 1);
        // Deeper still: an error, and the connection goes on.
        let mut deeper = "1".to_string();
        for _ in 0..60 {
            deeper = format!("abs({deeper})");
        }
        let e = c.simple_query(&format!("select {deeper}")).await.unwrap_err();
        assert_eq!(e.code(), Some(&SqlState::SYNTAX_ERROR), "{e}");
        let n: i32 = c.query_one("select 1 + 1", &[]).await.unwrap().get(0);
        assert_eq!(n, 2);
    });
}

/// A value of a text search type in its binary wire form, as tokio-postgres hands it over.
#[derive(Debug, PartialEq)]
struct TextSearch(Vec<u8>);

impl tokio_postgres::types::ToSql for TextSearch {
    fn to_sql(
        &self,
        _: &tokio_postgres::types::Type,
        out: &mut tokio_postgres::types::private::BytesMut,
    ) -> Result<tokio_postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        out.extend_from_slice(&self.0);
        Ok(tokio_postgres::types::IsNull::No)
    }

    fn accepts(ty: &tokio_postgres::types::Type) -> bool {
        matches!(ty.name(), "tsvector" | "tsquery")
    }

    tokio_postgres::types::to_sql_checked!();
}

impl<'a> tokio_postgres::types::FromSql<'a> for TextSearch {
    fn from_sql(
        _: &tokio_postgres::types::Type,
        raw: &'a [u8],
    ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(TextSearch(raw.to_vec()))
    }

    fn accepts(ty: &tokio_postgres::types::Type) -> bool {
        matches!(ty.name(), "tsvector" | "tsquery")
    }
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

#[test]
fn text_search_values_in_binary() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::trust(dir.path());
    runtime().block_on(async {
        let c = server.connect().await;
        c.batch_execute(
            "create table docs (id int primary key, body text, \
               tsv tsvector generated always as (to_tsvector('english', body)) stored);
             insert into docs (id, body) values (1, 'Fat cats ate rats'), (2, 'Dogs bark')",
        )
        .await
        .unwrap();
        // Results in binary: PostgreSQL 15's tsvectorsend/tsquerysend bytes for the same
        // values.
        let row = c
            .query_one(
                "select tsv, to_tsquery('english', 'cats & !dogs') from docs where id = 1",
                &[],
            )
            .await
            .unwrap();
        let vector: TextSearch = row.get(0);
        let query: TextSearch = row.get(1);
        assert_eq!(
            vector.0,
            hex("000000046174650000010003636174000001000266617400000100017261740000010004")
        );
        assert_eq!(query.0, hex("0000000402020201010000646f670001000063617400"));
        // A binary tsquery parameter, matched with @@.
        let found: Vec<i32> = c
            .query("select id from docs where tsv @@ $1 order by id", &[&query])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(found, vec![1]);
        // A malformed one is a clear error, not a panic.
        let err = c
            .query("select id from docs where tsv @@ $1", &[&TextSearch(hex("0000000501"))])
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some(&SqlState::INVALID_BINARY_REPRESENTATION));
    });
}

#[test]
fn connection_settings_rails_sends() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::trust(dir.path());
    runtime().block_on(async {
        let c = server.connect().await;
        let q = "select interval '1 year 2 months 3 days 04:05:06.5', interval '0', \
                 interval '-1 day 2 hours', interval '-1.5 seconds', interval '90 minutes'";
        c.batch_execute("set intervalstyle = iso_8601").await.unwrap();
        let got = rows(c.simple_query(q).await.unwrap());
        let iso = ["P1Y2M3DT4H5M6.5S", "PT0S", "P-1DT2H", "PT-1.5S", "PT1H30M"];
        assert_eq!(got, vec![iso.iter().map(|s| Some(s.to_string())).collect::<Vec<_>>()]);
        let text = rows(c.simple_query("show intervalstyle").await.unwrap());
        assert_eq!(text, vec![vec![Some("iso_8601".to_string())]]);
        c.batch_execute("set intervalstyle = postgres").await.unwrap();
        let got = rows(c.simple_query("select interval '90 minutes'").await.unwrap());
        assert_eq!(got, vec![vec![Some("01:30:00".to_string())]]);
        let e = c.batch_execute("set intervalstyle = sql_standard").await.unwrap_err();
        assert_eq!(e.code(), Some(&SqlState::FEATURE_NOT_SUPPORTED));
        // Rails also sets standard_conforming_strings on; off would change what '\' means.
        c.batch_execute("set standard_conforming_strings = on").await.unwrap();
        let e = c.batch_execute("set standard_conforming_strings = off").await.unwrap_err();
        assert_eq!(e.code(), Some(&SqlState::FEATURE_NOT_SUPPORTED));
    });
}

#[test]
fn transactions_errors_and_the_failed_state() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::trust(dir.path());
    runtime().block_on(async {
        let mut c = server.connect().await;
        c.batch_execute("create table acct (id int primary key, bal int check (bal >= 0))")
            .await
            .unwrap();
        c.execute("insert into acct values (1, 100), (2, 0)", &[]).await.unwrap();
        let tx = c.transaction().await.unwrap();
        tx.execute("update acct set bal = bal - 30 where id = 1", &[]).await.unwrap();
        tx.execute("update acct set bal = bal + 30 where id = 2", &[]).await.unwrap();
        tx.rollback().await.unwrap();
        let bal: i32 = c.query_one("select bal from acct where id = 1", &[]).await.unwrap().get(0);
        assert_eq!(bal, 100);

        let err = c.execute("insert into acct values (1, 5)", &[]).await.unwrap_err();
        assert_eq!(err.code(), Some(&SqlState::UNIQUE_VIOLATION));
        let err = c.execute("update acct set bal = -1", &[]).await.unwrap_err();
        assert_eq!(err.code(), Some(&SqlState::CHECK_VIOLATION));
        let err = c.query("select * from missing", &[]).await.unwrap_err();
        assert_eq!(err.code(), Some(&SqlState::UNDEFINED_TABLE));

        // An error inside a block fails it until ROLLBACK; the connection stays usable.
        c.batch_execute("begin").await.unwrap();
        assert!(c.batch_execute("select 1/0").await.is_err());
        let err = c.batch_execute("select 1").await.unwrap_err();
        assert_eq!(err.code(), Some(&SqlState::IN_FAILED_SQL_TRANSACTION));
        c.batch_execute("rollback").await.unwrap();
        assert_eq!(
            rows(c.simple_query("select 1").await.unwrap()),
            vec![vec![Some("1".to_string())]]
        );

        // Several statements in one simple query are one transaction.
        assert!(
            c.batch_execute("insert into acct values (3, 1); insert into acct values (3, 2)")
                .await
                .is_err()
        );
        let n: i64 =
            c.query_one("select count(*) from acct where id = 3", &[]).await.unwrap().get(0);
        assert_eq!(n, 0);

        // A second connection sees only committed work.
        let other = server.connect().await;
        c.batch_execute("begin; insert into acct values (4, 4)").await.unwrap();
        let n: i64 = other.query_one("select count(*) from acct", &[]).await.unwrap().get(0);
        assert_eq!(n, 2);
        c.batch_execute("commit").await.unwrap();
        let n: i64 = other.query_one("select count(*) from acct", &[]).await.unwrap().get(0);
        assert_eq!(n, 3);
    });
}

#[test]
fn copy_in_and_out() {
    use futures::SinkExt;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::trust(dir.path());
    runtime().block_on(async {
        let c = server.connect().await;
        c.batch_execute("create table items (id int primary key, name text, price numeric)").await.unwrap();
        let sink = c.copy_in("copy items from stdin").await.unwrap();
        futures::pin_mut!(sink);
        let mut data = String::new();
        for i in 0..1000 {
            data.push_str(&format!("{i}\titem {i}\t{}.5\n", i % 10));
        }
        data.push_str("1000\t\\N\t1\n");
        sink.send(bytes::Bytes::from(data)).await.unwrap();
        let n = sink.finish().await.unwrap();
        assert_eq!(n, 1001);
        let nulls: i64 = c.query_one("select count(*) from items where name is null", &[]).await.unwrap().get(0);
        assert_eq!(nulls, 1);

        let stream = c.copy_out("copy (select id, name from items where id < 3 order by id) to stdout with (format csv)").await.unwrap();
        futures::pin_mut!(stream);
        let mut out = Vec::new();
        while let Some(chunk) = futures::StreamExt::next(&mut stream).await {
            out.extend_from_slice(&chunk.unwrap());
        }
        assert_eq!(String::from_utf8(out).unwrap(), "0,item 0\n1,item 1\n2,item 2\n");

        // Text out (tabs, \N for NULL) and CSV in (quoted fields, an empty unquoted NULL).
        let stream = c.copy_out("copy (select id, name from items where id in (1, 1000) order by id) to stdout").await.unwrap();
        futures::pin_mut!(stream);
        let mut out = Vec::new();
        while let Some(chunk) = futures::StreamExt::next(&mut stream).await {
            out.extend_from_slice(&chunk.unwrap());
        }
        assert_eq!(String::from_utf8(out).unwrap(), "1\titem 1\n1000\t\\N\n");
        let sink = c.copy_in("copy items (id, name, price) from stdin with (format csv)").await.unwrap();
        futures::pin_mut!(sink);
        sink.send(bytes::Bytes::from_static(b"2001,\"a, \"\"quoted\"\" name\",1.5\n2002,,2\n")).await.unwrap();
        assert_eq!(sink.finish().await.unwrap(), 2);
        let name: String = c.query_one("select name from items where id = 2001", &[]).await.unwrap().get(0);
        assert_eq!(name, "a, \"quoted\" name");
        let null: Option<String> = c.query_one("select name from items where id = 2002", &[]).await.unwrap().get(0);
        assert_eq!(null, None);
        c.batch_execute("delete from items where id > 2000").await.unwrap();

        // Bad COPY data fails the statement and leaves nothing behind.
        let sink = c.copy_in("copy items from stdin").await.unwrap();
        futures::pin_mut!(sink);
        sink.send(bytes::Bytes::from_static(b"5000\tx\tnot-a-number\n")).await.unwrap();
        let err = sink.finish().await.unwrap_err();
        assert_eq!(err.code(), Some(&SqlState::INVALID_TEXT_REPRESENTATION));
        let n: i64 = c.query_one("select count(*) from items", &[]).await.unwrap().get(0);
        assert_eq!(n, 1001);
    });
}

/// Binary parameters are typed without a precision (a client names the type by oid), then
/// rounded to the column's: `timestamptz(0)` keeps whole seconds.
#[test]
fn time_precision_applies_to_binary_parameters() {
    use std::time::{Duration, UNIX_EPOCH};
    use tokio_postgres::types::Type;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::trust(dir.path());
    runtime().block_on(async {
        let c = server.connect().await;
        c.batch_execute(
            "create table tprec (id int primary key, at timestamptz(0), at3 timestamp(3))",
        )
        .await
        .unwrap();
        let stmt = c.prepare("insert into tprec values ($1, $2, $3)").await.unwrap();
        assert_eq!(stmt.params(), &[Type::INT4, Type::TIMESTAMPTZ, Type::TIMESTAMP]);
        // 2020-09-13 12:26:40 UTC, plus 0.6 s and 0.123456 s.
        let at = UNIX_EPOCH + Duration::from_micros(1_600_000_000_600_000);
        let at3 = UNIX_EPOCH + Duration::from_micros(1_600_000_000_123_456);
        c.execute(&stmt, &[&1i32, &at, &at3]).await.unwrap();
        let row = c.query_one("select at::text, at3::text, at from tprec", &[]).await.unwrap();
        assert_eq!(row.get::<_, String>(0), "2020-09-13 12:26:41+00");
        assert_eq!(row.get::<_, String>(1), "2020-09-13 12:26:40.123");
        assert_eq!(
            row.get::<_, std::time::SystemTime>(2),
            UNIX_EPOCH + Duration::from_secs(1_600_000_001)
        );
        // A parameter compared with the column is not rounded first.
        let n: i64 =
            c.query_one("select count(*) from tprec where at = $1", &[&at]).await.unwrap().get(0);
        assert_eq!(n, 0);
    });
}

#[test]
fn copy_in_binary() {
    use futures::SinkExt;
    use tokio_postgres::binary_copy::BinaryCopyInWriter;
    use tokio_postgres::types::{ToSql, Type};
    let dir = tempfile::tempdir().unwrap();
    let server = Server::trust(dir.path());
    runtime().block_on(async {
        let c = server.connect().await;
        c.batch_execute(
            "create table bin (id int8 primary key, name varchar(5), score float8, ok bool, raw bytea, tags text[], n int4 default 7)",
        )
        .await
        .unwrap();
        // tokio-postgres writes the header, the rows and the trailer.
        let sink = c.copy_in("copy bin (id, name, score, ok, raw, tags) from stdin (format binary)").await.unwrap();
        let types = [Type::INT8, Type::VARCHAR, Type::FLOAT8, Type::BOOL, Type::BYTEA, Type::TEXT_ARRAY];
        let writer = BinaryCopyInWriter::new(sink, &types);
        futures::pin_mut!(writer);
        for i in 0..500i64 {
            let name = format!("n{}", i % 100);
            let raw = vec![i as u8, 0, 255];
            let tags = vec![format!("t{i}"), "x".to_string()];
            let score = (i % 2 == 0).then_some(i as f64 / 4.0);
            let row: [&(dyn ToSql + Sync); 6] = [&i, &name, &score, &(i % 3 == 0), &raw, &tags];
            writer.as_mut().write(&row).await.unwrap();
        }
        assert_eq!(writer.finish().await.unwrap(), 500);
        let row = c.query_one("select name, score, ok, raw, tags, n from bin where id = 6", &[]).await.unwrap();
        assert_eq!(row.get::<_, String>(0), "n6");
        assert_eq!(row.get::<_, Option<f64>>(1), Some(1.5));
        assert!(row.get::<_, bool>(2));
        assert_eq!(row.get::<_, Vec<u8>>(3), vec![6, 0, 255]);
        assert_eq!(row.get::<_, Vec<String>>(4), vec!["t6".to_string(), "x".to_string()]);
        assert_eq!(row.get::<_, i32>(5), 7, "a column left out takes its default");
        let nulls: i64 = c.query_one("select count(*) from bin where score is null", &[]).await.unwrap().get(0);
        assert_eq!(nulls, 250);

        // Bad data fails the statement with 22P04 (or the column's own error) and keeps
        // nothing: a wrong signature, a wrong field count, a truncated row, a value too long.
        let header = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0".to_vec();
        let one_field = |id: i64| {
            let mut row = header.clone();
            row.extend_from_slice(&1i16.to_be_bytes());
            row.extend_from_slice(&8i32.to_be_bytes());
            row.extend_from_slice(&id.to_be_bytes());
            row
        };
        let mut truncated = one_field(9001);
        truncated.truncate(truncated.len() - 3);
        let mut long = header.clone();
        long.extend_from_slice(&2i16.to_be_bytes());
        long.extend_from_slice(&8i32.to_be_bytes());
        long.extend_from_slice(&9002i64.to_be_bytes());
        long.extend_from_slice(&6i32.to_be_bytes());
        long.extend_from_slice(b"abcdef");
        let cases: [(&str, Vec<u8>, &str); 4] = [
            ("copy bin (id) from stdin (format binary)", b"PGCOPY\nnope".to_vec(), "22P04"),
            ("copy bin (id, name) from stdin (format binary)", one_field(9000), "22P04"),
            ("copy bin (id) from stdin (format binary)", truncated, "22P04"),
            ("copy bin (id, name) from stdin (format binary)", long, "22001"),
        ];
        for (sql, data, code) in cases {
            let sink = c.copy_in(sql).await.unwrap();
            futures::pin_mut!(sink);
            sink.send(bytes::Bytes::from(data)).await.unwrap();
            let err = sink.finish().await.unwrap_err();
            assert_eq!(err.code().map(|c| c.code()), Some(code), "{sql}: {err:?}");
        }
        let n: i64 = c.query_one("select count(*) from bin", &[]).await.unwrap().get(0);
        assert_eq!(n, 500);
        // Only FROM STDIN takes the binary format; other options conflict with it.
        let err = c.batch_execute("copy bin to stdout (format binary)").await.unwrap_err();
        assert_eq!(err.code(), Some(&SqlState::FEATURE_NOT_SUPPORTED));
        let err = c.batch_execute("copy bin from stdin (format binary, delimiter ',')").await.unwrap_err();
        assert_eq!(err.code(), Some(&SqlState::SYNTAX_ERROR));
    });
}

#[test]
fn cancel_stops_a_running_statement() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::trust(dir.path());
    runtime().block_on(async {
        let c = server.connect().await;
        let token = c.cancel_token();
        let canceller = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            token.cancel_query(NoTls).await.unwrap();
        });
        let start = Instant::now();
        let err =
            c.simple_query("select count(*) from generate_series(1, 100000000)").await.unwrap_err();
        canceller.await.unwrap();
        assert_eq!(err.code(), Some(&SqlState::QUERY_CANCELED));
        assert!(start.elapsed() < Duration::from_secs(20));
        // The session goes on.
        assert_eq!(
            rows(c.simple_query("select 2").await.unwrap()),
            vec![vec![Some("2".to_string())]]
        );
        // statement_timeout cancels too.
        c.batch_execute("set statement_timeout = '200ms'").await.unwrap();
        let err =
            c.simple_query("select count(*) from generate_series(1, 100000000)").await.unwrap_err();
        assert_eq!(err.code(), Some(&SqlState::QUERY_CANCELED));
        // A statement waiting for a row lock is canceled as well.
        c.batch_execute("set statement_timeout = 0; create table locked (id int primary key)")
            .await
            .unwrap();
        c.batch_execute("insert into locked values (1)").await.unwrap();
        let holder = server.connect().await;
        holder.batch_execute("begin; delete from locked where id = 1").await.unwrap();
        let token = c.cancel_token();
        let canceller = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            token.cancel_query(NoTls).await.unwrap();
        });
        let start = Instant::now();
        let err = c.simple_query("update locked set id = 2 where id = 1").await.unwrap_err();
        canceller.await.unwrap();
        assert_eq!(err.code(), Some(&SqlState::QUERY_CANCELED), "{err}");
        assert!(start.elapsed() < Duration::from_secs(20));
        holder.batch_execute("rollback").await.unwrap();
    });
}

/// Connections share one runtime thread per core. A session waiting for a row lock,
/// sleeping, or writing to a client that does not read leaves its thread first: however many
/// of them there are, other clients are served meanwhile, the lock holder's COMMIT gets
/// through, and every waiter then finishes.
#[test]
fn waiting_sleeping_and_stalled_sessions_do_not_hold_up_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _sockets, socket_file) = start_with_unix_socket(dir.path());
    let many = 2 * std::thread::available_parallelism().map_or(2, |n| n.get()) + 2;
    runtime().block_on(async {
        let setup = server.connect().await;
        setup
            .batch_execute("create table t (id int primary key, n int); insert into t values (1, 0), (2, 0)")
            .await
            .unwrap();
        let holder = server.connect().await;
        holder.batch_execute("begin; update t set n = 100 where id = 1").await.unwrap();
        let mut waiters = Vec::new();
        for _ in 0..many {
            let c = within("a connection", server.connect()).await;
            waiters.push(tokio::spawn(async move {
                c.batch_execute("update t set n = n + 1 where id = 1").await.unwrap();
            }));
        }
        let mut sleepers = Vec::new();
        for _ in 0..many {
            let c = within("a connection", server.connect()).await;
            let token = c.cancel_token();
            sleepers.push((token, tokio::spawn(async move { c.simple_query("select pg_sleep(60)").await })));
        }
        // Clients that ask for 8 MB each and read none of it (over a Unix socket, whose
        // buffers hold far less): 8000 point reads of a 1000-byte row, which run on the
        // shared thread, so their answers are written from it.
        setup
            .batch_execute("create table wide (id int primary key, w text); insert into wide values (1, repeat('x', 1000))")
            .await
            .unwrap();
        let reads = "select w from wide where id = 1;".repeat(8000);
        let stalled: Vec<UnixStream> = (0..many)
            .map(|_| {
                let mut s = UnixStream::connect(&socket_file).unwrap();
                s.set_write_timeout(Some(Duration::from_secs(30))).unwrap();
                s.write_all(&startup_message()).unwrap();
                s.write_all(&query_message(&reads)).expect("the server reads the query");
                s
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(500)).await;
        let reader = within("a connection", server.connect()).await;
        for _ in 0..20 {
            let n = within("a point read", reader.simple_query("select n from t where id = 2")).await;
            assert_eq!(rows(n.unwrap()), vec![vec![Some("0".into())]]);
        }
        let scan = within("a scan", reader.simple_query("select count(*) from t")).await;
        assert_eq!(rows(scan.unwrap()), vec![vec![Some("2".into())]]);
        assert!(waiters.iter().all(|w| !w.is_finished()), "the waiters wait for the holder");
        within("the holder's commit", holder.batch_execute("commit")).await.unwrap();
        for w in waiters {
            within("a waiter", w).await.unwrap();
        }
        let n = rows(reader.simple_query("select n from t where id = 1").await.unwrap());
        assert_eq!(n, vec![vec![Some((100 + many).to_string())]]);
        for (token, sleeper) in sleepers {
            assert!(!sleeper.is_finished(), "still sleeping");
            token.cancel_query(NoTls).await.unwrap();
            let err = within("a sleeper", sleeper).await.unwrap().unwrap_err();
            assert_eq!(err.code(), Some(&SqlState::QUERY_CANCELED));
        }
        // The stalled clients get every row once they read.
        for s in stalled {
            s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
            let mut s = std::io::BufReader::new(s);
            let mut data_rows = 0;
            loop {
                let (kind, body) = read_message(&mut s);
                match kind {
                    b'D' => data_rows += 1,
                    b'E' => panic!("error: {}", String::from_utf8_lossy(&body)),
                    b'Z' if data_rows > 0 => break,
                    _ => {}
                }
            }
            assert_eq!(data_rows, 8000);
        }
    });
}

/// What a client learns at startup and around statements, in raw protocol messages:
/// ParameterStatus for the settings drivers read, a NoticeResponse, Close of a named
/// statement (then unknown: 26000), and a role that DROP ROLE removed can no longer log in.
#[test]
fn parameter_status_notices_close_and_dropped_roles() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::trust(dir.path());
    let mut s = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(&startup_message()).unwrap();
    let mut parameters = std::collections::HashMap::new();
    for (kind, body) in until_ready(&mut s) {
        if kind == b'S' {
            let mut parts =
                body.split(|b| *b == 0).map(|p| String::from_utf8_lossy(p).into_owned());
            parameters.insert(parts.next().unwrap(), parts.next().unwrap());
        }
    }
    for (name, value) in [
        ("client_encoding", "UTF8"),
        ("DateStyle", "ISO, MDY"),
        ("integer_datetimes", "on"),
        ("standard_conforming_strings", "on"),
    ] {
        assert_eq!(parameters.get(name).map(String::as_str), Some(value), "{parameters:?}");
    }
    assert!(parameters["server_version"].starts_with("15"), "{parameters:?}");

    s.write_all(&query_message("drop table if exists nothing_here")).unwrap();
    let notice = until_ready(&mut s).into_iter().find(|(kind, _)| *kind == b'N');
    let (_, body) = notice.expect("a NoticeResponse");
    let text = String::from_utf8_lossy(&body);
    assert!(text.contains("nothing_here") && text.contains("skipping"), "{text}");

    let message = frontend_message;
    let sync = message(b'S', b"");
    s.write_all(&message(b'P', b"s1\0select 1\0\0\0")).unwrap();
    s.write_all(&message(b'C', b"Ss1\0")).unwrap();
    s.write_all(&sync).unwrap();
    let kinds: Vec<u8> = until_ready(&mut s).into_iter().map(|(kind, _)| kind).collect();
    assert_eq!(kinds, vec![b'1', b'3'], "ParseComplete, CloseComplete");
    s.write_all(&message(b'B', b"\0s1\0\0\0\0\0\0\0")).unwrap();
    s.write_all(&sync).unwrap();
    let error = until_ready(&mut s).into_iter().find(|(kind, _)| *kind == b'E');
    let text = String::from_utf8_lossy(&error.expect("an ErrorResponse").1).into_owned();
    assert!(text.contains("C26000"), "{text}");

    runtime().block_on(async {
        let admin = server.connect().await;
        admin.batch_execute("create role visitor login password 'pw'").await.unwrap();
        let url = format!("host=127.0.0.1 port={} user=visitor dbname=oxibase", server.port);
        connect(&url).await.unwrap();
        admin.batch_execute("drop role visitor").await.unwrap();
        let err = connect(&url).await.unwrap_err();
        assert_eq!(err.code(), Some(&SqlState::INVALID_AUTHORIZATION_SPECIFICATION), "{err:?}");
    });
}

/// asyncpg's startup packet: `client_encoding` as `'utf-8'` (quotes included) is UTF8, as
/// PostgreSQL reads encoding names; a bad parameter is FATAL and ends the connection with no
/// ReadyForQuery after the ErrorResponse.
#[test]
fn startup_parameters_as_asyncpg_sends_them() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::trust(dir.path());
    let kinds = |parameters: &[(&str, &str)]| {
        let mut s = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        s.write_all(&startup_message_with(parameters)).unwrap();
        let mut seen = Vec::new();
        loop {
            let mut head = [0u8; 5];
            if s.read_exact(&mut head).is_err() {
                return seen; // closed
            }
            let len = i32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
            let mut body = vec![0u8; len - 4];
            s.read_exact(&mut body).unwrap();
            seen.push((head[0], String::from_utf8_lossy(&body).into_owned()));
            if head[0] == b'Z' {
                return seen;
            }
        }
    };
    let ok = kinds(&[("client_encoding", "'utf-8'")]);
    assert_eq!(ok.last().map(|(k, _)| *k), Some(b'Z'), "{ok:?}");
    assert!(ok.iter().any(|(k, b)| *k == b'S' && b.starts_with("client_encoding\0UTF8")), "{ok:?}");
    let refused = kinds(&[("DateStyle", "bogus")]);
    assert_eq!(refused.len(), 1, "one ErrorResponse, then the connection closes: {refused:?}");
    assert_eq!(refused[0].0, b'E');
    assert!(refused[0].1.contains("FATAL") && refused[0].1.contains("C22023"), "{refused:?}");
}

/// A cursor DECLAREd in SQL is a portal, as psycopg's server-side cursors (Django's
/// `iterator()`) use it: DECLARE with a bound parameter, Describe of the cursor as a portal,
/// FETCH in pieces, Close of the portal ends it.
#[test]
fn declared_cursors_are_portals() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::trust(dir.path());
    let mut s = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(&startup_message()).unwrap();
    until_ready(&mut s);
    let message = frontend_message;
    let cstr = |text: &str| [text.as_bytes(), b"\0"].concat();
    // Parse, Bind (text parameters), Execute and Sync of one statement.
    let run = |s: &mut TcpStream, sql: &str, params: &[&str]| {
        let mut parse = cstr("");
        parse.extend_from_slice(&cstr(sql));
        parse.extend_from_slice(&0i16.to_be_bytes());
        let mut bind = [cstr(""), cstr("")].concat();
        bind.extend_from_slice(&0i16.to_be_bytes());
        bind.extend_from_slice(&(params.len() as i16).to_be_bytes());
        for p in params {
            bind.extend_from_slice(&(p.len() as i32).to_be_bytes());
            bind.extend_from_slice(p.as_bytes());
        }
        bind.extend_from_slice(&0i16.to_be_bytes());
        let mut execute = cstr("");
        execute.extend_from_slice(&0i32.to_be_bytes());
        for m in [message(b'P', &parse), message(b'B', &bind), message(b'E', &execute)] {
            s.write_all(&m).unwrap();
        }
        s.write_all(&message(b'S', b"")).unwrap();
        until_ready(s)
    };
    let tag = |seen: &[(u8, Vec<u8>)]| {
        let (_, body) = seen.iter().find(|(k, _)| *k == b'C' || *k == b'E').expect("a reply");
        String::from_utf8_lossy(body).trim_end_matches('\0').to_string()
    };

    let seen = run(
        &mut s,
        "declare \"big\" no scroll cursor with hold for select g, 'row ' || g as label from generate_series(1, 5) g where g > $1",
        &["1"],
    );
    assert_eq!(tag(&seen), "DECLARE CURSOR");
    // Describe of the cursor as a portal: its two columns.
    s.write_all(&message(b'D', &[b"P".as_slice(), &cstr("big")].concat())).unwrap();
    s.write_all(&message(b'S', b"")).unwrap();
    let seen = until_ready(&mut s);
    let (kind, body) = &seen[0];
    assert_eq!(*kind, b'T', "a RowDescription: {seen:?}");
    assert_eq!(i16::from_be_bytes([body[0], body[1]]), 2);
    assert!(String::from_utf8_lossy(body).contains("label"));

    let seen = run(&mut s, "fetch forward 3 from \"big\"", &[]);
    let data: Vec<String> = seen
        .iter()
        .filter(|(k, _)| *k == b'D')
        .map(|(_, body)| String::from_utf8_lossy(&body[body.len() - 5..]).into_owned())
        .collect();
    assert_eq!(data, ["row 2", "row 3", "row 4"]);
    assert_eq!(tag(&seen), "FETCH 3");
    let seen = run(&mut s, "fetch backward 1 from \"big\"", &[]);
    assert!(tag(&seen).contains("55000"), "NO SCROLL moves forward only: {seen:?}");

    s.write_all(&message(b'C', &[b"P".as_slice(), &cstr("big")].concat())).unwrap();
    s.write_all(&message(b'S', b"")).unwrap();
    until_ready(&mut s);
    let seen = run(&mut s, "fetch 1 from \"big\"", &[]);
    assert!(tag(&seen).contains("34000"), "closed: {seen:?}");
    s.write_all(&query_message("select count(*) from pg_cursors")).unwrap();
    let seen = until_ready(&mut s);
    let (_, row) = seen.iter().find(|(k, _)| *k == b'D').expect("a row");
    assert_eq!(row.last(), Some(&b'0'));
}

/// `f`'s output, or a panic naming `what` when it takes over 30 s (stuck behind others).
async fn within<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
    let limit = Duration::from_secs(30);
    tokio::time::timeout(limit, f).await.unwrap_or_else(|_| panic!("{what}: stuck"))
}

#[test]
fn idle_in_transaction_timeout_ends_the_session_and_frees_its_locks() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::trust(dir.path());
    runtime().block_on(async {
        let setup = server.connect().await;
        setup.batch_execute("create table t (id int primary key, n int); insert into t values (1, 0)").await.unwrap();
        // Idle outside a transaction block: the limit does not apply.
        let calm = server.connect().await;
        calm.batch_execute("set idle_in_transaction_session_timeout = '200ms'").await.unwrap();
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(rows(calm.simple_query("select 1").await.unwrap()), vec![vec![Some("1".into())]]);
        // Idle inside one, holding a row lock: the server ends the session.
        let idle = server.connect().await;
        idle.batch_execute("set idle_in_transaction_session_timeout = '300ms'; begin; update t set n = 1 where id = 1").await.unwrap();
        tokio::time::sleep(Duration::from_millis(1200)).await;
        let err = idle.simple_query("select 1").await.unwrap_err();
        assert!(idle.is_closed(), "the connection is closed: {err}");
        // Its transaction rolled back and its lock is free: an update goes through at once.
        setup.batch_execute("set lock_timeout = '2s'; update t set n = n + 10 where id = 1").await.unwrap();
        let n = rows(setup.simple_query("select n from t").await.unwrap());
        assert_eq!(n, vec![vec![Some("10".into())]]);
        // A busy statement is not idle, however long it takes.
        let busy = server.connect().await;
        busy.batch_execute("set idle_in_transaction_session_timeout = '500ms'; begin").await.unwrap();
        busy.simple_query("select pg_sleep(1.5)").await.unwrap();
        busy.batch_execute("commit").await.unwrap();
    });
}

#[test]
fn scram_authentication_and_startup_errors() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--auth", "scram"], &[("OXIBASE_PASSWORD", "s3cret")]);
    runtime().block_on(async {
        let url = |user: &str, password: &str, db: &str| {
            format!(
                "host=127.0.0.1 port={} user={user} password={password} dbname={db}",
                server.port
            )
        };
        let c = connect(&url("oxibase", "s3cret", "oxibase")).await.unwrap();
        c.batch_execute("create role app login password 'apppw'").await.unwrap();
        let err = connect(&url("oxibase", "wrong", "oxibase")).await.unwrap_err();
        assert_eq!(err.code(), Some(&SqlState::INVALID_PASSWORD));
        let app = connect(&url("app", "apppw", "oxibase")).await.unwrap();
        assert_eq!(
            rows(app.simple_query("select current_user").await.unwrap()),
            vec![vec![Some("app".to_string())]]
        );
        c.batch_execute("alter role app password 'new'").await.unwrap();
        assert!(connect(&url("app", "apppw", "oxibase")).await.is_err());
        assert!(connect(&url("app", "new", "oxibase")).await.is_ok());
        let err = connect(&url("oxibase", "s3cret", "nosuchdb")).await.unwrap_err();
        assert_eq!(err.code(), Some(&SqlState::INVALID_CATALOG_NAME));
        let err = connect(&url("ghost", "x", "oxibase")).await.unwrap_err();
        assert!(
            err.code() == Some(&SqlState::INVALID_PASSWORD)
                || err.code() == Some(&SqlState::INVALID_AUTHORIZATION_SPECIFICATION)
        );
    });
}

/// Privileges over the wire: a login role reads only what it was granted, a revoke reaches
/// its prepared statements, SET ROLE takes membership, and CONNECT decides who may log in.
#[test]
fn privileges_decide_what_a_login_role_may_do() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--auth", "scram"], &[("OXIBASE_PASSWORD", "s3cret")]);
    runtime().block_on(async {
        let url = |user: &str, password: &str| {
            format!(
                "host=127.0.0.1 port={} user={user} password={password} dbname=oxibase",
                server.port
            )
        };
        let admin = connect(&url("oxibase", "s3cret")).await.unwrap();
        admin
            .batch_execute(
                "create role app login password 'apppw';
                 create table open_rows (x int); insert into open_rows values (1);
                 create table secret_rows (x int); insert into secret_rows values (2);
                 grant select on open_rows to app",
            )
            .await
            .unwrap();
        let app = connect(&url("app", "apppw")).await.unwrap();
        let superuser = app.simple_query("show is_superuser").await.unwrap();
        assert_eq!(rows(superuser), vec![vec![Some("off".to_string())]]);
        let read = app.prepare("select x from open_rows").await.unwrap();
        assert_eq!(app.query(&read, &[]).await.unwrap()[0].get::<_, i32>(0), 1);
        let err = app.simple_query("select * from secret_rows").await.unwrap_err();
        assert_eq!(err.code(), Some(&SqlState::INSUFFICIENT_PRIVILEGE), "{err:?}");
        assert_eq!(err.as_db_error().unwrap().message(), "permission denied for table secret_rows");
        let err = app.simple_query("insert into open_rows values (3)").await.unwrap_err();
        assert_eq!(err.code(), Some(&SqlState::INSUFFICIENT_PRIVILEGE), "{err:?}");
        let err = app.simple_query("set role oxibase").await.unwrap_err();
        assert_eq!(err.code(), Some(&SqlState::INSUFFICIENT_PRIVILEGE), "{err:?}");
        let err = app.simple_query("create role other").await.unwrap_err();
        assert_eq!(err.code(), Some(&SqlState::INSUFFICIENT_PRIVILEGE), "{err:?}");

        // A revoke reaches a statement the role prepared before it (and ran since).
        admin.batch_execute("revoke select on open_rows from app").await.unwrap();
        let err = app.query(&read, &[]).await.unwrap_err();
        assert_eq!(err.code(), Some(&SqlState::INSUFFICIENT_PRIVILEGE), "{err:?}");

        // CONNECT: PUBLIC holds it until revoked; superusers connect regardless.
        admin.batch_execute("revoke connect on database oxibase from public").await.unwrap();
        let err = connect(&url("app", "apppw")).await.unwrap_err();
        assert_eq!(err.code(), Some(&SqlState::INSUFFICIENT_PRIVILEGE), "{err:?}");
        assert!(connect(&url("oxibase", "s3cret")).await.is_ok());
        admin.batch_execute("grant connect on database oxibase to app").await.unwrap();
        assert!(connect(&url("app", "apppw")).await.is_ok());
    });
}

#[test]
fn trust_on_a_public_address_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_oxibase"))
        .args(["serve", "--data-dir"])
        .arg(dir.path())
        .args(["--listen", "0.0.0.0:0", "--http", "off", "--auth", "trust"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("non-loopback"));
}

#[test]
fn sigterm_shuts_down_cleanly_and_data_survives() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::trust(dir.path());
    runtime().block_on(async {
        let c = server.connect().await;
        c.batch_execute("create table kept (id int primary key); insert into kept select generate_series(1, 100)").await.unwrap();
        // An open transaction at shutdown is rolled back, not half-applied.
        c.batch_execute("begin; insert into kept values (1000)").await.unwrap();
    });
    let status = server.stop();
    assert!(status.success(), "exit status {status}");
    let server = Server::trust(dir.path());
    runtime().block_on(async {
        let c = server.connect().await;
        let n: i64 = c.query_one("select count(*) from kept", &[]).await.unwrap().get(0);
        assert_eq!(n, 100);
    });
}

#[test]
fn local_clients_connect_through_a_unix_socket() {
    let dir = tempfile::tempdir().unwrap();
    let (server, sockets, file) = start_with_unix_socket(dir.path());
    let socket_dir = sockets.path().to_str().unwrap();
    assert!(file.exists(), "no socket file {}", file.display());
    // psql -h DIR -p PORT, as with PostgreSQL.
    let out = Command::new("psql")
        .args(["-X", "-A", "-t", "-h", socket_dir, "-p", &server.port.to_string()])
        .args(["-U", "oxibase", "-d", "oxibase", "-c", "create table t (id int primary key)"])
        .args(["-c", "insert into t values (1), (2)", "-c", "select sum(id) from t"])
        .output()
        .expect("psql must be installed (.ci/run installs postgresql-client)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).ends_with("3\n"), "{:?}", out.stdout);
    // A driver with host=DIR, extended protocol, sees what TCP clients see.
    runtime().block_on(async {
        let url = format!("host={socket_dir} port={} user=oxibase dbname=oxibase", server.port);
        let local = connect(&url).await.unwrap();
        let n: i64 =
            local.query_one("select count(*) from t where id > $1", &[&0i32]).await.unwrap().get(0);
        assert_eq!(n, 2);
        let tcp = server.connect().await;
        let n: i64 = tcp.query_one("select count(*) from t", &[]).await.unwrap().get(0);
        assert_eq!(n, 2);
        // A result far larger than the socket's buffer (the server waits for room).
        let big = local
            .simple_query("select repeat('x', 1000) from generate_series(1, 20000)")
            .await
            .unwrap();
        assert_eq!(rows(big).len(), 20_000);
        // Cancel, through the socket too.
        let token = local.cancel_token();
        let canceller = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            token.cancel_query(NoTls).await.unwrap();
        });
        let err = local
            .simple_query("select count(*) from generate_series(1, 100000000)")
            .await
            .unwrap_err();
        canceller.await.unwrap();
        assert_eq!(err.code(), Some(&SqlState::QUERY_CANCELED), "{err}");
        // A session idle in a transaction past its limit is ended, and its lock freed.
        let idle = connect(&url).await.unwrap();
        idle.batch_execute(
            "set idle_in_transaction_session_timeout = '300ms'; begin; delete from t where id = 1",
        )
        .await
        .unwrap();
        tokio::time::sleep(Duration::from_millis(1200)).await;
        let err = idle.simple_query("select 1").await.unwrap_err();
        assert!(idle.is_closed(), "the connection is closed: {err}");
        local
            .batch_execute("set lock_timeout = '2s'; update t set id = 3 where id = 1")
            .await
            .unwrap();
        // An idle local session (its connection asleep in a read) ends when terminated.
        let doomed = connect(&url).await.unwrap();
        let pid: i32 = doomed.query_one("select pg_backend_pid()", &[]).await.unwrap().get(0);
        let sql = format!("select pg_terminate_backend({pid}, 5000)");
        let done = rows(local.simple_query(&sql).await.unwrap());
        assert_eq!(done[0][0].as_deref(), Some("t"), "the session is gone within the timeout");
        assert!(doomed.simple_query("select 1").await.is_err());
        assert!(doomed.is_closed());
    });
    // A second server (another loopback address, the same port) may not take over the
    // socket a live one answers on.
    let other = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_oxibase"))
        .args(["serve", "--data-dir"])
        .arg(other.path())
        .args(["--listen", &format!("127.0.0.2:{}", server.port), "--http", "off"])
        .args(["--auth", "trust", "--socket-dir", socket_dir])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("another server is listening"), "{stderr}");
    // A clean stop removes the file; one left by a killed server is replaced.
    let port = server.port;
    assert!(server.stop().success());
    assert!(!file.exists(), "the socket file outlived its server");
    let mut server =
        Server::start_at(port, dir.path(), &["--auth", "trust", "--socket-dir", socket_dir], &[]);
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    assert!(file.exists(), "a killed server leaves its socket file");
    let server =
        Server::start_at(port, dir.path(), &["--auth", "trust", "--socket-dir", socket_dir], &[]);
    runtime().block_on(async {
        let url = format!("host={socket_dir} port={port} user=oxibase dbname=oxibase");
        let local = connect(&url).await.unwrap();
        let n: i64 = local.query_one("select sum(id) from t", &[]).await.unwrap().get(0);
        assert_eq!(n, 5);
    });
    drop(server);
    // A directory that does not exist is a clear error.
    let out = Command::new(env!("CARGO_BIN_EXE_oxibase"))
        .args(["serve", "--data-dir"])
        .arg(other.path())
        .args(["--listen", "127.0.0.1:0", "--http", "off", "--auth", "trust"])
        .args(["--socket-dir", "/nonexistent/oxibase-sockets"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("no such directory"), "{stderr}");
}

#[test]
fn settings_come_from_a_config_file_and_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let sockets = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let config = dir.path().join("oxibase.conf");
    std::fs::write(
        &config,
        format!(
            "# comment\nlisten = 127.0.0.1:{port}\nhttp = off\nauth = trust\nsocket_dir = {}\nmax_connections = 3\n",
            sockets.path().display()
        ),
    )
    .unwrap();
    let data = dir.path().join("data");
    let mut child = Command::new(env!("CARGO_BIN_EXE_oxibase"))
        .args(["serve", "--config"])
        .arg(&config)
        .env("OXIBASE_DATA_DIR", &data)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(child.try_wait().unwrap().is_none(), "server exited");
        assert!(Instant::now() < deadline, "server did not start listening in 60 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(data.exists(), "OXIBASE_DATA_DIR was not used");
    assert!(sockets.path().join(format!(".s.PGSQL.{port}")).exists());
    runtime().block_on(async {
        let url = format!("host=127.0.0.1 port={port} user=oxibase dbname=oxibase");
        let mut clients = Vec::new();
        for _ in 0..3 {
            clients.push(connect(&url).await.unwrap());
        }
        // max_connections = 3 from the file.
        let err = connect(&url).await.unwrap_err();
        assert_eq!(err.code(), Some(&SqlState::TOO_MANY_CONNECTIONS), "{err}");
    });
    let _ = child.kill();
    let _ = child.wait();
    // A value that is not a number, or a setting that does not exist, stops the start with
    // the line at fault.
    for (line, expect) in [
        ("max_connections = lots", "invalid value for max_connections: \"lots\""),
        ("row_cache_mb = 64MB", "invalid value for row_cache_mb"),
        ("listen_port = 5433", "unknown setting \"listen_port\""),
    ] {
        std::fs::write(&config, format!("{line}\n")).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_oxibase"))
            .args(["serve", "--config"])
            .arg(&config)
            .args(["--data-dir"])
            .arg(&data)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{line}: {stderr}");
        assert!(stderr.contains(expect) && stderr.contains("F0000"), "{line}: {stderr}");
    }
}

#[test]
fn psql_works() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::trust(dir.path());
    let psql = |args: &[&str]| {
        let out = Command::new("psql")
            .args([
                "-X",
                "-h",
                "127.0.0.1",
                "-p",
                &server.port.to_string(),
                "-U",
                "oxibase",
                "-d",
                "oxibase",
            ])
            .args(args)
            .output()
            .expect("psql must be installed (.ci/run installs postgresql-client)");
        assert!(out.status.success(), "psql {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    psql(&[
        "-c",
        "create table people (id serial primary key, name text not null, email varchar(50) unique)",
    ]);
    psql(&["-c", "insert into people (name, email) values ('Ann', 'ann@x'), ('Bob', null)"]);
    let out = psql(&["-A", "-t", "-c", "select name from people order by id"]);
    assert_eq!(out, "Ann\nBob\n");
    // \d and friends run psql's own catalog queries.
    let dt = psql(&["-c", "\\dt"]);
    assert!(dt.contains("people"), "{dt}");
    let d = psql(&["-c", "\\d people"]);
    assert!(
        d.contains("email") && d.contains("character varying(50)") && d.contains("people_pkey"),
        "{d}"
    );
    let l = psql(&["-c", "\\l"]);
    assert!(l.contains("oxibase"), "{l}");
    // COPY through psql's \copy.
    let csv = dir.path().join("in.csv");
    std::fs::write(&csv, "10,Cy,cy@x\n11,Di,\n").unwrap();
    psql(&[
        "-c",
        &format!("\\copy people (id, name, email) from '{}' with (format csv)", csv.display()),
    ]);
    let out = psql(&["-A", "-t", "-c", "select count(*) from people"]);
    assert_eq!(out, "4\n");
}

#[test]
fn http_api() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::trust(dir.path());
    let (status, body) = http(
        server.http,
        "POST",
        "/v1/sql",
        r#"{"sql": "create table h (id int primary key, v jsonb); insert into h values (1, '{\"a\": 2}')"}"#,
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = http(
        server.http,
        "POST",
        "/v1/sql",
        r#"{"sql": "select id, v, 1.50::numeric as n from h where id = $1", "params": [1]}"#,
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""rows":[[1,{"a":2},1.50]]"#), "{body}");
    let (status, body) = http(server.http, "POST", "/v1/sql", r#"{"sql": "select * from nope"}"#);
    assert_eq!(status, 400);
    assert!(body.contains("42P01"), "{body}");
    let (status, body) = http(server.http, "GET", "/health", "");
    assert_eq!((status, body.trim()), (200, "ok"));
    let (status, body) = http(server.http, "GET", "/metrics", "");
    assert_eq!(status, 200);
    for metric in [
        "oxibase_transactions_committed_total",
        "oxibase_wal_fsync_seconds_bucket",
        "oxibase_connections",
        "oxibase_rows_written_total",
        "oxibase_cache_hits_total",
        "oxibase_cache_misses_total",
        "oxibase_row_cache_bytes",
        "oxibase_lsm_tables",
        "oxibase_lsm_journals",
        "oxibase_gc_queue_versions",
        "oxibase_heap_allocated_bytes",
        "oxibase_heap_resident_bytes",
    ] {
        assert!(body.contains(metric), "missing {metric}");
    }
    // The rows written above sit in the engine's memtable.
    let gauge = |name: &str| -> u64 {
        let line = body.lines().find(|l| l.starts_with(&format!("{name} "))).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    };
    assert!(gauge("oxibase_lsm_write_buffer_bytes") > 0, "{body}");
    // The allocator's counters: resident memory covers what is allocated.
    let (allocated, resident) =
        (gauge("oxibase_heap_allocated_bytes"), gauge("oxibase_heap_resident_bytes"));
    assert!(allocated > 0 && resident >= allocated, "{body}");
}

/// Random and mutated protocol messages: each connection may fail, but the server must
/// survive and keep serving a well-behaved client.
#[test]
fn malformed_protocol_bytes_do_not_hurt_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::trust(dir.path());
    let startup = startup_message();
    let query = query_message;
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for round in 0..200 {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", server.port)) else { continue };
        s.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
        let mut payload = if round % 3 == 0 { Vec::new() } else { startup.clone() };
        match round % 4 {
            0 => (0..(next() % 512)).for_each(|_| payload.push(next() as u8)),
            1 => {
                let mut q = query("select 1");
                let i = (next() as usize) % q.len();
                q[i] ^= (next() as u8) | 1;
                payload.extend(q);
            }
            2 => {
                // A message that claims to be huge.
                payload.push(b'Q');
                payload.extend_from_slice(&i32::MAX.to_be_bytes());
                payload.extend_from_slice(b"select");
            }
            _ => {
                let mut q = query("select 1");
                q.truncate((next() as usize) % q.len());
                payload.extend(q);
            }
        }
        let _ = s.write_all(&payload);
        let mut sink = [0u8; 4096];
        let _ = s.read(&mut sink);
    }
    runtime().block_on(async {
        let c = server.connect().await;
        assert_eq!(
            rows(c.simple_query("select 40 + 2").await.unwrap()),
            vec![vec![Some("42".to_string())]]
        );
    });
}

#[test]
fn sql_shell_over_the_wire_and_embedded() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::trust(dir.path());
    let url = format!("postgres://oxibase@127.0.0.1:{}/oxibase", server.port);
    let run = |args: &[&str], stdin: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_oxibase"))
            .arg("sql")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (ok, _, err) = run(
        &[
            "--url",
            &url,
            "-c",
            "create table s (id int primary key, name text); insert into s values (1, 'ann')",
        ],
        "",
    );
    assert!(ok, "{err}");
    let (ok, out, _) = run(&["--url", &url], "select id,\n  name from s;\n\\d s\n");
    assert!(ok);
    assert!(out.contains(" 1  | ann") && out.contains("(1 row)"), "{out}");
    assert!(out.contains("name   | text"), "{out}");
    let (ok, _, err) = run(&["--url", &url, "-c", "select * from missing"], "");
    assert!(!ok && err.contains("42P01"), "{err}");
    // The command's own failure carries the statement's SQLSTATE, not a syntax error's.
    assert!(err.contains("the command failed (42P01)"), "{err}");
    let (ok, _, err) = run(&["--url", &url], "select 1/0;\nselect 1;\n");
    assert!(!ok && err.contains("some statements failed (22012)"), "{err}");
    drop(server);
    // Embedded, on the same directory once the server is gone.
    let (ok, out, err) =
        run(&["--data-dir", dir.path().to_str().unwrap(), "-c", "select name from s"], "");
    assert!(ok, "{err}");
    assert!(out.contains("ann"), "{out}");
}

/// Runs psql with a connection string; returns (success, stdout, stderr).
fn psql_conninfo(conninfo: &str, command: &str) -> (bool, String, String) {
    let out = Command::new("psql")
        .args(["-X", conninfo, "-c", command])
        .output()
        .expect("psql must be installed (.ci/run installs postgresql-client)");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn tls_when_a_certificate_is_configured_and_a_clean_refusal_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let (cert, key) = (dir.path().join("server.crt"), dir.path().join("server.key"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    let data = dir.path().join("data");
    let server = Server::start(
        &data,
        &[
            "--auth",
            "trust",
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
        &[],
    );
    let url = |mode: &str| {
        format!("host=127.0.0.1 port={} user=oxibase dbname=oxibase sslmode={mode}", server.port)
    };
    let (ok, out, err) = psql_conninfo(&url("require"), "\\conninfo");
    assert!(ok, "{err}");
    assert!(out.contains("SSL connection"), "{out}");
    let (ok, out, err) = psql_conninfo(&url("require"), "select 40 + 2");
    assert!(ok && out.contains("42"), "{out} {err}");
    // A client that does not ask for TLS still gets in.
    let (ok, out, err) = psql_conninfo(&url("disable"), "\\conninfo");
    assert!(ok && !out.contains("SSL connection"), "{out} {err}");
    drop(server);

    // Without a certificate the SSL request is answered 'N': `require` fails cleanly,
    // `prefer` goes on unencrypted.
    let plain = Server::trust(&data);
    let url = |mode: &str| {
        format!("host=127.0.0.1 port={} user=oxibase dbname=oxibase sslmode={mode}", plain.port)
    };
    let (ok, _, err) = psql_conninfo(&url("require"), "select 1");
    assert!(!ok && err.contains("does not support SSL"), "{err}");
    let (ok, out, err) = psql_conninfo(&url("prefer"), "select 1");
    assert!(ok && out.contains('1'), "{err}");

    // A broken key file stops the server at start with a clear error.
    std::fs::write(&key, "not a key").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_oxibase"))
        .args(["serve", "--auth", "trust", "--http", "off", "--listen", "127.0.0.1:0"])
        .arg("--data-dir")
        .arg(dir.path().join("other"))
        .args(["--tls-cert", cert.to_str().unwrap(), "--tls-key", key.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("TLS key"), "{stderr}");
}

/// Drives the interactive shell through a pseudo-terminal (python3's pty module): a
/// statement, the up arrow to recall and run it again, Ctrl-C to drop a half-typed one,
/// Ctrl-D to leave; the history file keeps what ran.
#[test]
fn interactive_shell_edits_lines_and_keeps_history() {
    let dir = tempfile::tempdir().unwrap();
    let script = r#"
import os, pty, select, sys, time
home, binary = sys.argv[1], sys.argv[2]
pid, fd = pty.fork()
if pid == 0:
    os.environ['HOME'] = home
    os.execv(binary, ['oxibase', 'sql', '--data-dir', os.path.join(home, 'data')])
out = b''
def drain(seconds):
    global out
    end = time.time() + seconds
    while time.time() < end:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                out += os.read(fd, 4096)
            except OSError:
                return
drain(5)
os.write(fd, b'select 40 + 2 as answer;\r'); drain(2)
os.write(fd, b'\x1b[A\r'); drain(2)
os.write(fd, b'select 1 +\r'); drain(0.5)
os.write(fd, b'\x03'); drain(0.5)
os.write(fd, b'\x04'); drain(2)
os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors='replace'))
"#;
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(dir.path())
        .arg(env!("CARGO_BIN_EXE_oxibase"))
        .output()
        .expect("python3 runs the pseudo-terminal");
    let screen = String::from_utf8_lossy(&out.stdout);
    assert_eq!(screen.matches(" 42").count(), 2, "the recalled statement ran again: {screen}");
    let history = std::fs::read_to_string(dir.path().join(".oxibase_history")).unwrap();
    assert!(history.contains("select 40 + 2 as answer;"), "{history}");
    assert!(!history.contains("select 1 +"), "a dropped statement is not history: {history}");
}
