//! Scratch: run SQL from stdin against an in-memory database.
#![allow(clippy::unwrap_used, missing_docs)]
use std::io::Read;
fn main() {
    let db = oxibase_sql::Database::memory().unwrap();
    let mut s = db.session();
    let mut sql = String::new();
    std::io::stdin().read_to_string(&mut sql).unwrap();
    for stmt in sql.split(";\n").filter(|s| !s.trim().is_empty()) {
        println!("> {}", stmt.trim());
        match s.execute(stmt) {
            Ok(oxibase_sql::Output::Rows { columns, rows, tag }) => {
                println!(
                    "{}",
                    columns.iter().map(|c| c.name.clone()).collect::<Vec<_>>().join(" | ")
                );
                for r in rows {
                    println!(
                        "{}",
                        r.iter()
                            .map(|v| oxibase_sql::types::text::format_value(v, &s.zone())
                                .unwrap_or("NULL".into()))
                            .collect::<Vec<_>>()
                            .join(" | ")
                    );
                }
                println!("({tag})");
            }
            Ok(o) => println!("{}", o.tag()),
            Err(e) => println!("ERROR {}: {} {:?}", e.code(), e.message(), e.detail()),
        }
        for n in s.take_notices() {
            println!("{}: {}", n.severity, n.message);
        }
    }
}
