//! Oxibase embedded: a database in a directory (or in memory), a session, transactions,
//! parameters and typed results, without a server.
//!
//! `cargo run -p oxibase-sql --example embedded [DIR]`

use oxibase_sql::{Database, Result, SqlState, Value};

fn main() -> Result<()> {
    let db = match std::env::args().nth(1) {
        Some(dir) => Database::open(std::path::Path::new(&dir))?,
        None => Database::open_in_memory()?,
    };
    let mut session = db.session();
    session.execute(
        "create table if not exists accounts (
             id serial primary key,
             owner text not null unique,
             balance numeric(12,2) not null default 0 check (balance >= 0))",
    )?;
    for (owner, balance) in [("ann", "100.00"), ("bob", "25.50")] {
        session.query(
            "insert into accounts (owner, balance) values ($1, $2::text::numeric)
             on conflict (owner) do nothing",
            &[owner.into(), balance.into()],
        )?;
    }

    // A transfer in one transaction; a failed one leaves nothing behind.
    session.execute("begin")?;
    session.query(
        "update accounts set balance = balance - $1 where owner = $2",
        &[Value::Int8(30), "ann".into()],
    )?;
    session.query(
        "update accounts set balance = balance + $1 where owner = $2",
        &[Value::Int8(30), "bob".into()],
    )?;
    session.execute("commit")?;

    // The CHECK constraint refuses a negative balance.
    match session
        .query("update accounts set balance = balance - 1000 where owner = $1", &["bob".into()])
    {
        Err(e) if e.code() == SqlState::CHECK_VIOLATION => {
            println!("refused as expected: {} ({})", e.message(), e.code())
        }
        other => panic!("expected a check violation, got {other:?}"),
    }

    let out = session.execute("select id, owner, balance from accounts order by id")?;
    for row in 0..out.rows().len() {
        let id: i64 = out.get(row, "id")?;
        let owner: String = out.get(row, "owner")?;
        let balance: String = out.get(row, "balance")?;
        println!("{id:>3}  {owner:<5} {balance:>8}");
    }
    Ok(())
}
