//! A money transfer as a stored procedure: moves `amount` from one account to another
//! inside the caller's transaction, refusing overdrafts and unknown accounts.
//!
//! ```sql
//! CREATE TABLE accounts (id bigint PRIMARY KEY, balance bigint NOT NULL);
//! CREATE PROCEDURE transfer(src bigint, dst bigint, amount bigint) LANGUAGE wasm AS '<this module>';
//! CALL transfer(1, 2, 100);
//! ```
//!
//! Build: `cargo build -p oxibase-guest --example transfer --release --target wasm32-unknown-unknown`.

use oxibase_guest::{Error, Tx, args, entry};

/// `transfer(src, dst, amount)`.
#[unsafe(no_mangle)]
pub extern "C" fn transfer() -> i32 {
    entry(|tx: &Tx| {
        let (src, dst, amount): (i64, i64, i64) = args()?;
        if amount <= 0 {
            return Err(Error::new("22023", format!("amount must be positive, got {amount}")));
        }
        if src == dst {
            return Err(Error::new("22023", "source and destination are the same account"));
        }
        // Lock both rows in id order first, so that transfers in opposite directions queue
        // instead of deadlocking.
        tx.execute(
            "SELECT id FROM accounts WHERE id IN ($1, $2) ORDER BY id FOR UPDATE",
            &[&src, &dst],
        )?;
        // The WHERE clause is re-checked on the row's latest version under its lock, so two
        // concurrent transfers cannot both spend the same balance.
        let debited = tx.execute(
            "UPDATE accounts SET balance = balance - $1 WHERE id = $2 AND balance >= $1",
            &[&amount, &src],
        )?;
        if debited == 0 {
            let balance: Option<i64> =
                tx.query_value("SELECT balance FROM accounts WHERE id = $1", &[&src])?;
            return Err(match balance {
                None => Error::new("P0002", format!("account {src} does not exist")),
                Some(b) => Error::raise(format!(
                    "insufficient funds in account {src}: balance {b}, transfer {amount}"
                )),
            });
        }
        let credited = tx.execute(
            "UPDATE accounts SET balance = balance + $1 WHERE id = $2",
            &[&amount, &dst],
        )?;
        if credited == 0 {
            // Returning the error rolls back the debit above with the caller's statement.
            return Err(Error::new("P0002", format!("account {dst} does not exist")));
        }
        Ok(())
    })
}

/// `balance(id)`: a scalar function reading inside the caller's transaction.
#[unsafe(no_mangle)]
pub extern "C" fn balance() -> i32 {
    entry(|tx: &Tx| {
        let (id,): (i64,) = args()?;
        tx.query_value::<i64>("SELECT balance FROM accounts WHERE id = $1", &[&id])
    })
}
