//! Golden plans: each `tests/golden/*.test` file holds a live schema (SQL run first), a
//! desired schema (SQL or YAML) and the plan `oxibase migrate` prints for it. The test
//! checks the plan, applies it (all hazards allowed), checks that the live schema then
//! matches the desired one (a second plan is empty), and, when the file has a `== check`
//! section, runs those queries after the migration and compares their output with the
//! `== expect` section. `OXIBASE_UPDATE_GOLDEN=1` rewrites the expected sections.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use std::path::Path;

use oxibase_sql::{Database, Output, Session, Value};

struct Case {
    sections: Vec<(String, String)>,
}

impl Case {
    fn parse(text: &str) -> Case {
        let mut sections: Vec<(String, String)> = Vec::new();
        for line in text.lines() {
            if let Some(name) = line.strip_prefix("== ") {
                sections.push((name.trim().to_string(), String::new()));
            } else if let Some((_, body)) = sections.last_mut() {
                body.push_str(line);
                body.push('\n');
            }
        }
        Case { sections }
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.sections.iter().find(|(n, _)| n == name).map(|(_, b)| b.as_str())
    }

    fn desired(&self) -> (&str, &str) {
        self.sections
            .iter()
            .find(|(n, _)| n.starts_with("desired"))
            .map(|(n, b)| (n.as_str(), b.as_str()))
            .expect("a == desired.sql or == desired.yaml section")
    }

    fn set(&mut self, name: &str, body: String) {
        match self.sections.iter_mut().find(|(n, _)| n == name) {
            Some((_, b)) => *b = body,
            None => self.sections.push((name.to_string(), body)),
        }
    }

    fn text(&self) -> String {
        self.sections.iter().map(|(n, b)| format!("== {n}\n{b}")).collect()
    }
}

/// A value as psql shows it (None for NULL).
fn cell(v: &Value) -> Option<String> {
    oxibase_sql::types::text::format_value(v, &oxibase_sql::types::datetime::Zone::UTC)
}

/// Runs `oxibase_migrate` through SQL, as the command line does, and renders the plan.
fn migrate(
    session: &mut Session,
    desired: &str,
    source: &str,
    apply: bool,
) -> Result<String, String> {
    let out = session
        .query(
            "CALL oxibase_migrate($1, apply => $2, allow_hazards => $3, source => $4)",
            &[
                Value::Text(desired.to_string()),
                Value::Bool(apply),
                Value::Text("data_loss,table_rewrite,long_lock".into()),
                Value::Text(source.to_string()),
            ],
        )
        .map_err(|e| e.to_string())?;
    let Output::Rows { columns, rows, .. } = out else { return Err(format!("not rows: {out:?}")) };
    let columns: Vec<String> = columns.into_iter().map(|c| c.name).collect();
    let rows: Vec<Vec<Option<String>>> =
        rows.iter().map(|r| r.iter().map(cell).collect()).collect();
    Ok(oxibase_migrate::render(&columns, &rows, source, apply))
}

fn query_text(session: &mut Session, sql: &str) -> String {
    let mut out = String::new();
    for statement in sql.split(";\n").map(str::trim).filter(|s| !s.is_empty()) {
        out.push_str(&format!("> {}\n", statement.trim_end_matches(';')));
        match session.execute(statement) {
            Ok(Output::Rows { rows, .. }) => {
                for r in rows {
                    let cells: Vec<String> =
                        r.iter().map(|v| cell(v).unwrap_or_else(|| "NULL".into())).collect();
                    out.push_str(&cells.join(" | "));
                    out.push('\n');
                }
            }
            Ok(other) => out.push_str(&format!("{}\n", other.tag())),
            Err(e) => out.push_str(&format!("error: {e}\n")),
        }
    }
    out
}

fn run_case(path: &Path, update: bool) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let mut case = Case::parse(&text);
    let db = Database::memory().map_err(|e| e.to_string())?;
    oxibase_procedures::install(&db).map_err(|e| e.to_string())?;
    oxibase_migrate::install(&db);
    let mut session = db.session();
    if let Some(live) = case.get("live") {
        session.execute(live).map_err(|e| format!("live schema: {e}"))?;
    }
    let (name, desired) = case.desired();
    let source = name
        .strip_prefix("desired")
        .map_or("desired.sql", |s| if s.contains("yaml") { "desired.yaml" } else { "desired.sql" });
    let desired = desired.to_string();
    let plan = match migrate(&mut session, &desired, source, false) {
        Ok(p) => p,
        Err(e) => format!("error: {e}\n"),
    };
    let mut failures = Vec::new();
    if update {
        case.set("plan", plan.clone());
    } else if case.get("plan") != Some(plan.as_str()) {
        failures.push(format!(
            "plan differs:\n--- expected\n{}--- got\n{plan}",
            case.get("plan").unwrap_or("")
        ));
    }
    if !plan.starts_with("error:") {
        let applied = migrate(&mut session, &desired, source, true);
        let after = match &applied {
            Ok(_) => migrate(&mut session, &desired, source, false)
                .unwrap_or_else(|e| format!("error: {e}")),
            Err(e) => format!("apply failed: {e}"),
        };
        if after != format!("-- {source}: nothing to do, the schema already matches\n") {
            failures.push(format!("after applying, the plan is not empty:\n{after}"));
        }
        if let Some(check) = case.get("check").map(str::to_string) {
            let got = query_text(&mut session, &check);
            if update {
                case.set("expect", got);
            } else if case.get("expect") != Some(got.as_str()) {
                failures.push(format!(
                    "check differs:\n--- expected\n{}--- got\n{got}",
                    case.get("expect").unwrap_or("")
                ));
            }
        }
    }
    if update {
        std::fs::write(path, case.text()).map_err(|e| e.to_string())?;
    }
    if failures.is_empty() { Ok(()) } else { Err(failures.join("\n")) }
}

#[test]
fn golden_plans() {
    let update = std::env::var_os("OXIBASE_UPDATE_GOLDEN").is_some();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/golden")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "test"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 10, "golden cases missing");
    let mut failed = Vec::new();
    for path in &paths {
        if let Err(e) = run_case(path, update) {
            failed.push(format!("{}:\n{e}", path.display()));
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n\n"));
}
