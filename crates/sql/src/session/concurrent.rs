//! `CREATE INDEX CONCURRENTLY`: an index built while writes to its table go on.
//!
//! 1. One short transaction records the index as not valid. It takes the table's schema
//!    lock like any DDL, so it waits for the writers in flight; every writer after it sees
//!    the new definition (a statement whose snapshot predates it re-binds) and maintains
//!    the index's entries. Queries do not read an index that is not valid.
//! 2. The rows that existed before are added in batches, each its own transaction: for
//!    each row the batch takes a FOR SHARE lock (an update of that row waits for the batch
//!    to commit, or the batch waits for the update), reads the row's latest version and
//!    writes its entry. A unique index checks each entry against the others.
//! 3. A last short transaction marks the index valid: queries use it from its commit on,
//!    all at once.
//!
//! Any failure (a duplicate key, a cancel) drops the index again: the schema is as before.
//! Like PostgreSQL's, it cannot run inside a transaction block.

use oxibase_common::{DataType, Result, Value, errinput};
use oxibase_mvcc::{LockMode, LockWait};
use sqlparser::ast;
use std::ops::Bound;

use super::{Output, Session};
use crate::catalog::{Catalog, Index};
use crate::exec::ExecCtx;
use crate::exec::storage::{
    decode_table_row, format_key, index_entry_key, index_entry_keys, index_values,
};
use crate::keys::{RelId, relation_prefix};

/// Rows added to the index per transaction.
const BATCH: usize = 1000;

impl Session {
    /// Runs `CREATE INDEX CONCURRENTLY`.
    pub(super) fn create_index_concurrently(
        &mut self,
        statement: &ast::Statement,
        params: &[Value],
        param_types: &[Option<DataType>],
        sql: &str,
    ) -> Result<Output> {
        if self.in_transaction_block() {
            return Err(errinput!(
                ACTIVE_SQL_TRANSACTION,
                "CREATE INDEX CONCURRENTLY cannot run inside a transaction block"
            ));
        }
        let ast::Statement::CreateIndex(ci) = statement else {
            return Err(errinput!(INTERNAL_ERROR, "not a CREATE INDEX"));
        };
        let name = ci.name.as_ref().map(crate::bind::split_name).transpose()?.map(|(_, n)| n);
        let result = self.in_transaction(|session, txn| {
            session.run_in_transaction(statement, sql, params, param_types, txn)
        });
        let output = self.finish_statement(result)?;
        // The index just recorded: not valid yet, with the given name or, unnamed, the newest.
        let found = self.within_transaction(|catalog, txn| {
            let mut found: Option<(RelId, RelId, Index)> = None;
            for table in catalog.tables(txn)? {
                for index in table.indexes.iter().filter(|i| !i.valid) {
                    let named = name.as_ref().is_none_or(|n| *n == index.name);
                    if named && found.as_ref().is_none_or(|(_, _, f)| f.id < index.id) {
                        found = Some((table.id, table.storage, index.clone()));
                    }
                }
            }
            Ok(found)
        })?;
        // IF NOT EXISTS found one already: nothing was recorded.
        let Some((table_id, storage, index)) = found else { return Ok(output) };
        let built = self
            .fill_index(table_id, storage, index.id)
            .and_then(|()| self.validate_index(table_id, index.id));
        if let Err(e) = built {
            let schema = self
                .within_transaction(|catalog, txn| {
                    Ok(catalog.table_by_id(txn, table_id)?.map(|t| t.schema))
                })
                .ok()
                .flatten();
            if let Some(schema) = schema {
                let _ = self.execute(&format!(
                    "DROP INDEX IF EXISTS {}.{}",
                    crate::exec::ddl::quote_ident(&schema),
                    crate::exec::ddl::quote_ident(&index.name)
                ));
            }
            return Err(e);
        }
        Ok(output)
    }

    /// Adds the entries of the rows that are in the table, a batch per transaction. A
    /// rewrite of the table meanwhile (new storage) wrote every entry itself: that ends it.
    fn fill_index(&mut self, table_id: RelId, storage: RelId, index_id: RelId) -> Result<()> {
        let prefix = relation_prefix(storage);
        let (_, end) = oxibase_engine::prefix_range(&prefix);
        let mut start = Bound::Included(prefix);
        loop {
            let range = (start.clone(), end.clone());
            let batch = self.in_transaction(|session, txn| {
                session.check_cancel()?;
                // Like a writer: schema changes wait for the batch.
                txn.lock_latest(
                    &Catalog::relation_key(table_id)?,
                    LockMode::KeyShare,
                    LockWait::Wait(None),
                )?;
                let table = session.catalog().table_by_id(txn, table_id)?.ok_or_else(|| {
                    errinput!(
                        OBJECT_IN_USE,
                        "the table was dropped while its index was being built"
                    )
                })?;
                let index =
                    table.indexes.iter().find(|i| i.id == index_id).cloned().ok_or_else(|| {
                        errinput!(OBJECT_IN_USE, "the index was dropped while it was being built")
                    })?;
                if table.storage != storage {
                    return Ok(Vec::new());
                }
                let keys = txn
                    .scan(range)?
                    .take(BATCH)
                    .map(|item| item.map(|(key, _)| key))
                    .collect::<Result<Vec<_>>>()?;
                let env = session.env(txn, None);
                let ctx = ExecCtx::new(txn, session.catalog(), &env, &[]);
                for key in &keys {
                    txn.lock_latest(key, LockMode::Share, LockWait::Wait(None))?;
                    let Some(bytes) = txn.get_latest(key)? else { continue };
                    let row = decode_table_row(&table, &bytes)?;
                    let Some(values) = index_values(&ctx, &table, &index, &row)? else { continue };
                    if index.method.inverted() {
                        for entry in index_entry_keys(&index, &values, key)? {
                            txn.put(&entry, key.clone())?;
                        }
                        continue;
                    }
                    let entry = index_entry_key(&index, &values, key)?;
                    let keyed = crate::exec::storage::keyed(&index, &values);
                    if keyed && txn.get_latest(&entry)?.is_some_and(|other| other != *key) {
                        return Err(errinput!(
                            UNIQUE_VIOLATION,
                            "could not create unique index \"{}\"",
                            index.name
                        )
                        .with_detail(format!(
                            "{} is duplicated.",
                            format_key(&index.key_names(&table), &values, &ctx)
                        )));
                    }
                    txn.put(&entry, key.clone())?;
                }
                Ok(keys)
            });
            let keys = self.finish_statement(batch)?;
            match keys.last() {
                Some(last) if keys.len() == BATCH => start = Bound::Excluded(last.clone()),
                _ => return Ok(()),
            }
        }
    }

    /// Marks the index valid: queries read it from this commit on.
    fn validate_index(&mut self, table_id: RelId, index_id: RelId) -> Result<()> {
        let result = self.in_transaction(|session, txn| {
            let catalog = session.catalog();
            catalog.lock_relation_exclusive(txn, table_id)?;
            let table = catalog.table_by_id(txn, table_id)?.ok_or_else(|| {
                errinput!(OBJECT_IN_USE, "the table was dropped while its index was being built")
            })?;
            let mut index =
                table.indexes.iter().find(|i| i.id == index_id).cloned().ok_or_else(|| {
                    errinput!(OBJECT_IN_USE, "the index was dropped while it was being built")
                })?;
            index.valid = true;
            catalog.update_index(txn, &index)?;
            if let Some(block) = &session.block {
                block.did_ddl.set(true);
            }
            Ok(())
        });
        self.forget_catalog();
        self.finish_statement(result)
    }

    fn check_cancel(&self) -> Result<()> {
        if self.cancel.swap(false, std::sync::atomic::Ordering::SeqCst) {
            return Err(errinput!(QUERY_CANCELED, "canceling statement due to user request"));
        }
        Ok(())
    }
}
