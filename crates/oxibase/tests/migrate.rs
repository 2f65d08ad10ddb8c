//! `oxibase migrate` end to end: the real binary against a server (and a data directory
//! opened embedded), plans printed as SQL with hazards, --apply, --allow-hazards,
//! --plan-hash, YAML input, bad input reported with file and line, and the same engine
//! driven over the HTTP API.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

mod common;

use common::{Server, http};

fn migrate(args: &[&str]) -> (bool, String, String) {
    let out =
        Command::new(env!("CARGO_BIN_EXE_oxibase")).arg("migrate").args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn sql(url: &str, query: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_oxibase"))
        .args(["sql", "--url", url, "-c", query])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn plan_apply_and_converge_over_the_wire() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::trust(&dir.path().join("data"));
    let url = server.url();
    sql(&url, "create table people (id int primary key, name text, nick text)");
    sql(&url, "insert into people values (1, 'ada', 'a'), (2, 'linus', 'l')");
    let file = dir.path().join("schema.sql");
    std::fs::write(
        &file,
        "CREATE TABLE people (\n  id int PRIMARY KEY,\n  name text NOT NULL,\n  age int NOT NULL DEFAULT 0\n);\nCREATE INDEX people_name ON people (name);\n",
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let (ok, plan, err) = migrate(&["--url", &url, "--desired", file]);
    assert!(ok, "{err}");
    assert!(
        plan.contains("ALTER TABLE people ADD COLUMN age integer DEFAULT 0 NOT NULL;"),
        "{plan}"
    );
    assert!(plan.contains("-- hazard data_loss: drops column nick"), "{plan}");
    assert!(plan.contains("CREATE INDEX CONCURRENTLY people_name ON people (name);"), "{plan}");
    assert!(plan.contains("dry run: nothing was changed"), "{plan}");
    let hash = plan.split("(plan ").nth(1).unwrap().split(')').next().unwrap().to_string();

    // Dropping nick is data loss: refused until allowed, and nothing changes meanwhile.
    let (ok, _, err) = migrate(&["--url", &url, "--desired", file, "--apply"]);
    assert!(!ok);
    assert!(err.contains("hazardous steps") && err.contains("--allow-hazards data_loss"), "{err}");
    assert!(
        sql(&url, "select count(*) from information_schema.columns where table_name = 'people'")
            .contains('3')
    );
    let reviewed = |hash: &str| {
        migrate(&[
            "--url",
            &url,
            "--desired",
            file,
            "--apply",
            "--allow-hazards",
            "data_loss",
            "--plan-hash",
            hash,
        ])
    };
    let (ok, _, err) = reviewed("feedface");
    assert!(!ok && err.contains("no longer the one reviewed"), "{err}");
    let (ok, out, err) = reviewed(&hash);
    assert!(ok, "{err}");
    assert!(out.contains("-- applied 4 steps"), "{out}");
    let rows = sql(&url, "select id, name, age from people order by id");
    assert!(rows.contains(" 1  | ada   | 0") && rows.contains(" 2  | linus | 0"), "{rows}");
    let history = sql(&url, "select plan_hash, steps, hazards_allowed from oxibase.migrations");
    assert!(history.contains(&hash) && history.contains("data_loss"), "{history}");
    let (ok, out, _) = migrate(&["--url", &url, "--desired", file, "--apply"]);
    assert!(ok && out.contains("nothing to do"), "{out}");

    // The same engine over the HTTP API.
    let body = r#"{"sql": "CALL oxibase_migrate($1)", "params": ["CREATE TABLE people (id int PRIMARY KEY, name text NOT NULL, age int NOT NULL DEFAULT 0); CREATE INDEX people_name ON people (name); CREATE TABLE pets (id int PRIMARY KEY)"]}"#;
    let (status, body) = http(server.http, "POST", "/v1/sql", body);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("CREATE TABLE pets") && body.contains("planned"), "{body}");
}

#[test]
fn bad_input_names_the_file_and_line_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let cases = [
        (
            "missing.sql",
            "CREATE TABLE a (id int PRIMARY KEY);\n\nCREATE TABLE b (a_id int REFERENCES nowhere (id));\n",
            "missing.sql:3: relation \"nowhere\" does not exist",
        ),
        (
            "syntax.sql",
            "CREATE TABLE a (\n  id int,\n  x int NOT NUL\n);\n",
            "syntax.sql:3: syntax error",
        ),
        (
            "keys.yaml",
            "tables:\n  - name: a\n    colums: []\n",
            "keys.yaml:3: unknown field `colums`",
        ),
        (
            "types.yaml",
            "tables:\n  - name: a\n    columns:\n      - name: id\n        type: int\n        unique: 12\n",
            "types.yaml:6:",
        ),
        (
            "directive.sql",
            "CREATE TABLE a (id int);\n-- oxibase:renamed_form b\n",
            "directive.sql:2: unknown directive",
        ),
    ];
    for (name, text, expected) in cases {
        let file = dir.path().join(name);
        std::fs::write(&file, text).unwrap();
        for apply in [false, true] {
            let mut args = vec!["--data-dir", data, "--desired", file.to_str().unwrap()];
            if apply {
                args.push("--apply");
            }
            let (ok, out, err) = migrate(&args);
            assert!(!ok, "{name}: {out}");
            assert!(err.contains(expected), "{name}: expected {expected:?} in {err}");
        }
    }
    let out = Command::new(env!("CARGO_BIN_EXE_oxibase"))
        .args([
            "sql",
            "--data-dir",
            data,
            "-c",
            "select count(*) from information_schema.tables where table_schema = 'public'",
        ])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(" 0\n"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let (ok, _, err) = migrate(&["--data-dir", data, "--desired", "/nonexistent/schema.sql"]);
    assert!(!ok && err.contains("could not read /nonexistent/schema.sql"), "{err}");
}

#[test]
fn yaml_schema_on_an_embedded_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let file = dir.path().join("schema.yaml");
    std::fs::write(
        &file,
        "tables:\n  - name: jobs\n    columns:\n      - {name: id, type: bigint, identity: always, primary_key: true}\n      - {name: status, type: text, not_null: true, default: \"'new'\"}\n    indexes:\n      - {name: jobs_status, columns: [status, id]}\n",
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let (ok, out, err) = migrate(&["--data-dir", data, "--desired", file, "--apply"]);
    assert!(ok, "{err}");
    assert!(out.contains("CREATE TABLE jobs (id bigint GENERATED ALWAYS AS IDENTITY, status text DEFAULT 'new'::text NOT NULL, PRIMARY KEY (id))"), "{out}");
    let (ok, out, _) = migrate(&["--data-dir", data, "--desired", file]);
    assert!(ok && out.contains("nothing to do"), "{out}");
}
