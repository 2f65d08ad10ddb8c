//! Applying DDL to the catalog, inside the statement's transaction.
//!
//! Schema changes are transactional: they write catalog rows under MVCC like any other
//! write, so `BEGIN; CREATE TABLE ...; ROLLBACK` leaves nothing behind, and other sessions
//! see a change when it commits.
//!
//! A change to an existing table first locks the table's catalog row exclusively (and
//! rewrites it). Writers lock the same row in a shared mode before they write, so a change
//! waits for in-flight writers, and a writer whose snapshot predates a committed change
//! notices it when it locks (see [`Catalog::relation_key`]). Work that must see every row,
//! such as building an index or rewriting a table for a new column type, reads the latest
//! committed rows under that lock rather than the snapshot.

mod domains;
mod policies;
mod privileges;
pub(crate) use privileges::record_new_object;
mod roles;
mod sequences;
mod triggers;
mod types;

use std::collections::HashSet;
use std::ops::ControlFlow;

use oxibase_common::keycode::ColumnOrder;
use oxibase_common::{DataType, Result, Value, errinput};
use sqlparser::ast;

use super::eval::eval;
use super::storage::{self, decode_table_row};
use super::{ExecCtx, Row, collect, execute};
use crate::bind::{
    AlterAction, BindEnv, ColumnSpec, ConstraintSpec, CreateIndex, CreateTable, DdlStatement,
    ForeignKeySpec, IndexPart, parse_expr,
};
use crate::catalog::{
    Catalog, Column, Constraint, ConstraintKind, Deferral, Index, IndexKey, IndexMethod, RelKind,
    Sequence, Table, TableSpec,
};
use crate::functions::implicit_cast_allowed;
use crate::keys::{RelId, relation_prefix};
use crate::types::cast::{CastKind, cast};
use crate::types::text::format_value;

/// Applies a DDL statement; returns the command tag.
pub fn execute_ddl(stmt: &DdlStatement, ctx: &ExecCtx, env: &dyn BindEnv) -> Result<String> {
    // Waits while a schema migration runs (it holds this lock exclusively).
    ctx.txn.lock_latest(
        &Catalog::ddl_lock_key()?,
        oxibase_mvcc::LockMode::KeyShare,
        oxibase_mvcc::LockWait::Wait(None),
    )?;
    let ddl = Ddl { ctx, env, cascading: std::cell::Cell::new(false) };
    match stmt {
        DdlStatement::CreateTable(ct) => ddl.create_table(ct),
        DdlStatement::CreateRoutine(spec) => super::routine::create_routine(spec, ctx, env),
        DdlStatement::DropRoutine { kind, names, if_exists, cascade } => {
            super::routine::drop_routines(*kind, names, *if_exists, *cascade, ctx, env)
        }
        DdlStatement::DropTable { names, if_exists, cascade } => {
            ddl.drop_tables(names, *if_exists, *cascade, Some(false))?;
            Ok("DROP TABLE".into())
        }
        DdlStatement::DropMaterializedView { names, if_exists, cascade } => {
            ddl.drop_tables(names, *if_exists, *cascade, Some(true))?;
            Ok("DROP MATERIALIZED VIEW".into())
        }
        DdlStatement::RefreshMaterializedView { name, concurrently, with_data } => {
            ddl.refresh_materialized_view(name, *concurrently, *with_data)?;
            Ok("REFRESH MATERIALIZED VIEW".into())
        }
        DdlStatement::CreateIndex(ci) => {
            ddl.create_index(ci)?;
            Ok("CREATE INDEX".into())
        }
        DdlStatement::DropIndex { names, if_exists } => {
            ddl.drop_indexes(names, *if_exists)?;
            Ok("DROP INDEX".into())
        }
        DdlStatement::AlterTable { table, if_exists, actions } => {
            ddl.alter_table(table, *if_exists, actions)?;
            Ok("ALTER TABLE".into())
        }
        DdlStatement::CreateView {
            name,
            or_replace,
            if_not_exists,
            sql,
            columns,
            plan,
            check_option,
        } => {
            let view = ViewSpec { sql, columns, plan, check_option: *check_option };
            ddl.create_view(name, *or_replace, *if_not_exists, &view)?;
            Ok("CREATE VIEW".into())
        }
        DdlStatement::DropView { names, if_exists, cascade } => {
            ddl.drop_views(names, *if_exists, *cascade)?;
            Ok("DROP VIEW".into())
        }
        DdlStatement::Comment { target, text } => {
            ddl.comment(target, text.as_deref())?;
            Ok("COMMENT".into())
        }
        DdlStatement::CreateSchema { name, if_not_exists } => {
            let database = env.database().unwrap_or_default();
            let object = crate::privileges::AclObject {
                kind: crate::catalog::acl::ObjectKind::Database,
                id: crate::system::DATABASE_OID as RelId,
                label: "database",
                name: &database,
            };
            crate::privileges::check(env, &object, crate::catalog::acl::CREATE, false, None)?;
            if ctx.catalog.schema_id(ctx.txn, name)?.is_some() && *if_not_exists {
                ctx.session.notice(format!("schema \"{name}\" already exists, skipping"));
            } else {
                let id = ctx.catalog.create_schema(ctx.txn, name)?;
                ddl.record_owner(crate::catalog::acl::ObjectKind::Schema, id, None)?;
            }
            Ok("CREATE SCHEMA".into())
        }
        DdlStatement::DropSchema { names, if_exists, cascade } => {
            ddl.drop_schemas(names, *if_exists, *cascade)?;
            Ok("DROP SCHEMA".into())
        }
        DdlStatement::CreateSequence { name, if_not_exists, options } => {
            let schema = ddl.creation_schema(&name.0)?;
            if *if_not_exists && ctx.catalog.relation(ctx.txn, &schema, &name.1)?.is_some() {
                ctx.session.notice(format!("relation \"{}\" already exists, skipping", name.1));
                return Ok("CREATE SEQUENCE".into());
            }
            ddl.require_create_in(&schema)?;
            let seq = sequence_from_spec(&schema, &name.1, options)?;
            let mut seq = ctx.catalog.create_sequence(ctx.txn, seq)?;
            ddl.record_owner(crate::catalog::acl::ObjectKind::Sequence, seq.id, Some(&schema))?;
            if let Some(owner) = &options.owned_by {
                seq.owned_by = ddl.sequence_owner(&seq, owner.as_deref())?;
                ctx.catalog.update_sequence(ctx.txn, &seq)?;
            }
            Ok("CREATE SEQUENCE".into())
        }
        DdlStatement::CreateExtension { name, if_not_exists, schema } => {
            use crate::catalog::extensions::AVAILABLE;
            if !AVAILABLE.iter().any(|(n, _, _)| n == name) {
                let names: Vec<&str> = AVAILABLE.iter().map(|(n, _, _)| *n).collect();
                return Err(errinput!(
                    FEATURE_NOT_SUPPORTED,
                    "extension \"{name}\" is not available"
                )
                .with_hint(format!("Oxibase provides these extensions: {}.", names.join(", "))));
            }
            if ctx.catalog.extension(ctx.txn, name)?.is_some() && *if_not_exists {
                ctx.session.notice(format!("extension \"{name}\" already exists, skipping"));
                return Ok("CREATE EXTENSION".into());
            }
            let schema = ddl.creation_schema(schema)?;
            ctx.catalog.create_extension(ctx.txn, name, &schema)?;
            Ok("CREATE EXTENSION".into())
        }
        DdlStatement::DropExtension { names, if_exists } => {
            for name in names {
                match ctx.catalog.extension(ctx.txn, name)? {
                    Some(extension) => ctx.catalog.drop_extension(ctx.txn, &extension)?,
                    None if *if_exists => {
                        ctx.session.notice(format!("extension \"{name}\" does not exist, skipping"))
                    }
                    None => {
                        return Err(errinput!(
                            UNDEFINED_OBJECT,
                            "extension \"{name}\" does not exist"
                        ));
                    }
                }
            }
            Ok("DROP EXTENSION".into())
        }
        DdlStatement::AlterSequence { name, if_exists, options, restart, rename } => {
            ddl.alter_sequence(name, *if_exists, options, *restart, rename.as_ref())?;
            Ok("ALTER SEQUENCE".into())
        }
        DdlStatement::OwnerTo { kind, name, if_exists, role } => {
            ddl.owner_to(kind, name, *if_exists, role)?;
            Ok(format!("ALTER {kind}"))
        }
        DdlStatement::DropSequence { names, if_exists } => {
            for name in names {
                match ddl.find(name, RelKind::Sequence)? {
                    Some((schema, _)) => ctx.catalog.drop_sequence(ctx.txn, &schema, &name.1)?,
                    None if *if_exists => ctx
                        .session
                        .notice(format!("sequence \"{}\" does not exist, skipping", name.1)),
                    None => {
                        return Err(errinput!(
                            UNDEFINED_TABLE,
                            "sequence \"{}\" does not exist",
                            name.1
                        ));
                    }
                }
            }
            Ok("DROP SEQUENCE".into())
        }
        DdlStatement::CreateRole { names, if_not_exists, options } => {
            ddl.create_roles(names, *if_not_exists, options)?;
            Ok("CREATE ROLE".into())
        }
        DdlStatement::AlterRole { name, options, rename } => {
            ddl.alter_role(name, options, rename.as_ref())?;
            Ok("ALTER ROLE".into())
        }
        DdlStatement::DropRole { names, if_exists } => {
            ddl.drop_roles(names, *if_exists)?;
            Ok("DROP ROLE".into())
        }
        DdlStatement::Privileges(spec) => {
            ddl.privileges(spec)?;
            Ok(if spec.grant { "GRANT" } else { "REVOKE" }.into())
        }
        DdlStatement::Membership(spec) => {
            ddl.membership(spec)?;
            Ok(if spec.grant { "GRANT ROLE" } else { "REVOKE ROLE" }.into())
        }
        DdlStatement::DefaultPrivileges(spec) => {
            ddl.default_privileges(spec)?;
            Ok("ALTER DEFAULT PRIVILEGES".into())
        }
        DdlStatement::Policy(spec) => ddl.policy(spec),
        DdlStatement::Owned(spec) => ddl.owned(spec),
        DdlStatement::Truncate { names, restart_identity } => {
            ddl.truncate(names, *restart_identity)?;
            Ok("TRUNCATE TABLE".into())
        }
        DdlStatement::CreateEnum { name, labels } => {
            ddl.create_enum(name, labels)?;
            Ok("CREATE TYPE".into())
        }
        DdlStatement::CreateComposite { name, attributes } => {
            ddl.create_composite(name, attributes)?;
            Ok("CREATE TYPE".into())
        }
        DdlStatement::AlterComposite { name, actions } => {
            ddl.alter_attributes(name, actions)?;
            Ok("ALTER TYPE".into())
        }
        DdlStatement::AlterType { name, action } => {
            ddl.alter_type(name, action)?;
            Ok("ALTER TYPE".into())
        }
        DdlStatement::CreateDomain(spec) => {
            ddl.create_domain(spec)?;
            Ok("CREATE DOMAIN".into())
        }
        DdlStatement::CreateTrigger(spec) => {
            ddl.create_trigger(spec)?;
            Ok("CREATE TRIGGER".into())
        }
        DdlStatement::DropTrigger { name, table, if_exists } => {
            ddl.drop_trigger(name, table, *if_exists)?;
            Ok("DROP TRIGGER".into())
        }
        DdlStatement::AlterDomain { name, action } => {
            ddl.alter_domain(name, action)?;
            Ok("ALTER DOMAIN".into())
        }
        DdlStatement::DropType { names, if_exists, cascade, domain } => {
            ddl.drop_types(names, *if_exists, *cascade)?;
            Ok(if *domain { "DROP DOMAIN" } else { "DROP TYPE" }.into())
        }
    }
}

/// Builds a sequence from CREATE SEQUENCE options, with PostgreSQL's defaults for the type.
pub fn sequence_from_spec(
    schema: &str,
    name: &str,
    spec: &crate::bind::SequenceSpec,
) -> Result<Sequence> {
    let (type_min, type_max) =
        sequence_type_bounds(spec.data_type.as_ref().unwrap_or(&DataType::Int8))?;
    let increment = spec.increment.unwrap_or(1);
    if increment == 0 {
        return Err(errinput!(INVALID_PARAMETER_VALUE, "INCREMENT must not be zero"));
    }
    let min = spec.min.unwrap_or(if increment > 0 { 1 } else { type_min });
    let max = spec.max.unwrap_or(if increment > 0 { type_max } else { -1 });
    for (what, v) in [("MINVALUE", min), ("MAXVALUE", max)] {
        if v < type_min || v > type_max {
            return Err(errinput!(
                INVALID_PARAMETER_VALUE,
                "{what} ({v}) is out of range for sequence data type {}",
                spec.data_type.as_ref().unwrap_or(&DataType::Int8).name()
            ));
        }
    }
    let start = spec.start.unwrap_or(if increment > 0 { min } else { max });
    let mut seq = Sequence::ascending(schema, name);
    seq.start = start;
    seq.increment = increment;
    seq.min = min;
    seq.max = max;
    seq.cycle = spec.cycle.unwrap_or(false);
    Ok(seq)
}

/// An identity column's sequence from its options: the column's type bounds it unless
/// they say AS.
fn identity_sequence(
    schema: &str,
    name: &str,
    options: &crate::bind::SequenceSpec,
    column_type: &DataType,
) -> Result<Sequence> {
    let options = crate::bind::SequenceSpec {
        data_type: options.data_type.clone().or_else(|| Some(column_type.clone())),
        ..options.clone()
    };
    sequence_from_spec(schema, name, &options)
}

/// The values a sequence of this type (`AS smallint | integer | bigint`) may take.
fn sequence_type_bounds(t: &DataType) -> Result<(i64, i64)> {
    Ok(match t {
        DataType::Int2 => (i16::MIN as i64, i16::MAX as i64),
        DataType::Int4 => (i32::MIN as i64, i32::MAX as i64),
        DataType::Int8 => (i64::MIN, i64::MAX),
        other => {
            return Err(errinput!(
                INVALID_PARAMETER_VALUE,
                "sequence type must be smallint, integer, or bigint, not {}",
                other.name()
            ));
        }
    })
}

type Name = (Option<String>, String);

/// CREATE VIEW's definition.
#[derive(Clone, Copy)]
struct ViewSpec<'a> {
    sql: &'a str,
    columns: &'a [String],
    plan: &'a crate::plan::Plan,
    check_option: u8,
}

/// Whether a visit of a table's rows goes on ([`Ddl::each_latest_row`]).
enum Visit {
    Next,
    Stop,
}

struct Ddl<'a, 'c> {
    ctx: &'a ExecCtx<'c>,
    env: &'a dyn BindEnv,
    /// Dropping what depends on an object being dropped (CASCADE): the dependents go
    /// whoever owns them, as in PostgreSQL, so `find` does not check their owner.
    cascading: std::cell::Cell<bool>,
}

impl Ddl<'_, '_> {
    /// Runs `f` dropping dependents: owners are not checked (see `Ddl::cascading`).
    fn cascade<T>(&self, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let before = self.cascading.replace(true);
        let result = f();
        self.cascading.set(before);
        result
    }
}

impl Ddl<'_, '_> {
    fn catalog(&self) -> &Catalog {
        self.ctx.catalog
    }

    fn notice(&self, message: String) {
        self.ctx.session.notice(message);
    }

    fn creation_schema(&self, schema: &Option<String>) -> Result<String> {
        match schema.as_deref() {
            // The session's temporary schema, created on first use.
            Some("pg_temp") => {
                let temp = self.env.temp_schema()?;
                if self.catalog().schema_id(self.ctx.txn, &temp)?.is_none() {
                    let id = self.catalog().create_schema(self.ctx.txn, &temp)?;
                    self.record_owner(crate::catalog::acl::ObjectKind::Schema, id, None)?;
                    self.ctx.txn.next_command()?; // the new schema is seen from here on
                }
                Ok(temp)
            }
            Some(s) => Ok(s.to_string()),
            None => self.env.creation_schema(),
        }
    }

    /// Finds a relation of a kind by possibly qualified name, following the search path,
    /// for a statement that changes or drops it: the current role must own it (an index:
    /// its table; 42501 if not). A relation of another kind with the name is an error
    /// (42809).
    fn find(&self, name: &Name, kind: RelKind) -> Result<Option<(String, RelId)>> {
        let found = self.find_unchecked(name, kind)?;
        if let Some((_, id)) = &found
            && kind != RelKind::Index
            && !self.cascading.get()
        {
            self.require_relation_owner(*id, kind, &name.1)?;
        }
        Ok(found)
    }

    /// [`Ddl::find`] without the owner check (a statement that needs a privilege instead,
    /// or only reads the relation).
    fn find_unchecked(&self, name: &Name, kind: RelKind) -> Result<Option<(String, RelId)>> {
        self.ctx.txn.next_command()?;
        let schemas = match &name.0 {
            Some(s) => vec![s.clone()],
            None => self.env.search_path(),
        };
        for schema in schemas {
            if let Some((id, found)) = self.catalog().relation(self.ctx.txn, &schema, &name.1)? {
                if found != kind {
                    let mut err = errinput!(
                        WRONG_OBJECT_TYPE,
                        "\"{}\" is not a{} {}",
                        name.1,
                        if kind == RelKind::Index { "n" } else { "" },
                        kind.noun()
                    );
                    if found == RelKind::View && kind == RelKind::Table {
                        err = err.with_hint("Use DROP VIEW to remove a view.");
                    }
                    return Err(err);
                }
                return Ok(Some((schema, id)));
            }
        }
        Ok(None)
    }

    fn table(&self, id: RelId) -> Result<Table> {
        self.ctx.txn.next_command()?;
        self.catalog()
            .table_by_id(self.ctx.txn, id)?
            .ok_or_else(|| errinput!(UNDEFINED_TABLE, "relation {id} does not exist"))
    }

    /// COMMENT ON: the object's id and column number (0 for the object itself).
    fn comment(&self, target: &crate::bind::CommentTarget, text: Option<&str>) -> Result<()> {
        use crate::bind::CommentTarget as T;
        let ctx = self.ctx;
        let (id, sub) = match target {
            T::Relation(kind, name) => {
                // COMMENT ON TYPE names an enum, composite or domain alike.
                let kind = match kind {
                    RelKind::Type => self.find_type_id(name)?.map_or(*kind, |(_, k)| k),
                    kind => *kind,
                };
                let (_, id) = self.find(name, kind)?.ok_or_else(|| match kind {
                    RelKind::Type | RelKind::Domain | RelKind::Composite => {
                        errinput!(UNDEFINED_OBJECT, "type \"{}\" does not exist", display(name))
                    }
                    _ => {
                        errinput!(UNDEFINED_TABLE, "relation \"{}\" does not exist", display(name))
                    }
                })?;
                (id, 0)
            }
            T::Column(table, column) => {
                // A composite type's attribute is a column of its relation, as in PostgreSQL.
                let table = match self.find_type_id(table)? {
                    Some((id, RelKind::Composite)) => {
                        self.find(table, RelKind::Composite)?;
                        ctx.catalog.composite_by_id(ctx.txn, id)?.ok_or_else(|| {
                            errinput!(
                                UNDEFINED_OBJECT,
                                "type \"{}\" does not exist",
                                display(table)
                            )
                        })?
                    }
                    _ => self.require_table(table)?,
                };
                (table.id, require_column(&table, column)? as i32 + 1)
            }
            T::Constraint(table, name) => {
                let table = self.require_table(table)?;
                let exists = table.constraints.iter().any(|c| c.name == *name)
                    || table.indexes.iter().any(|i| i.constraint && i.name == *name)
                    || (!table.primary_key.is_empty() && *name == format!("{}_pkey", table.name));
                if !exists {
                    return Err(errinput!(
                        UNDEFINED_OBJECT,
                        "constraint \"{name}\" for table \"{}\" does not exist",
                        table.name
                    ));
                }
                (crate::system::constraint_oid(table.id, name), 0)
            }
            T::Trigger(table, name) => {
                let table = self.require_table(table)?;
                let trigger = table.triggers.iter().find(|t| t.name == *name).ok_or_else(|| {
                    errinput!(
                        UNDEFINED_OBJECT,
                        "trigger \"{name}\" for table \"{}\" does not exist",
                        table.name
                    )
                })?;
                (trigger.id, 0)
            }
            T::Schema(name) => {
                let id = ctx.catalog.schema_id(ctx.txn, name)?.ok_or_else(|| {
                    errinput!(INVALID_SCHEMA_NAME, "schema \"{name}\" does not exist")
                })?;
                (id, 0)
            }
            T::Extension(name) => {
                let extension = ctx.catalog.extension(ctx.txn, name)?.ok_or_else(|| {
                    errinput!(UNDEFINED_OBJECT, "extension \"{name}\" does not exist")
                })?;
                (extension.id, 0)
            }
            T::Routine(name) => {
                let routine = self.env.routine(name.0.as_deref(), &name.1)?.ok_or_else(|| {
                    errinput!(UNDEFINED_FUNCTION, "function {} does not exist", display(name))
                })?;
                (routine.id, 0)
            }
        };
        ctx.catalog.set_comment(ctx.txn, id, sub, text.filter(|t| !t.is_empty()))
    }

    fn find_table(&self, name: &Name) -> Result<Option<Table>> {
        self.find(name, RelKind::Table)?.map(|(_, id)| self.table(id)).transpose()
    }

    fn require_table(&self, name: &Name) -> Result<Table> {
        self.find_table(name)?.ok_or_else(|| {
            errinput!(UNDEFINED_TABLE, "relation \"{}\" does not exist", display(name))
        })
    }

    /// REFRESH MATERIALIZED VIEW: runs its query again and replaces its rows (new storage,
    /// as TRUNCATE, so a reader's snapshot keeps the old rows until the commit).
    /// CONCURRENTLY needs a unique index, as in PostgreSQL; here no reader waits either way.
    fn refresh_materialized_view(
        &self,
        name: &Name,
        concurrently: bool,
        with_data: bool,
    ) -> Result<()> {
        let ctx = self.ctx;
        let table = self.require_table(name)?;
        let Some(query) = table.materialized.clone() else {
            return Err(errinput!(
                WRONG_OBJECT_TYPE,
                "\"{}\" is not a materialized view",
                table.name
            ));
        };
        if concurrently && !with_data {
            return Err(errinput!(
                FEATURE_NOT_SUPPORTED,
                "REFRESH options CONCURRENTLY and WITH NO DATA cannot be used together"
            ));
        }
        if concurrently && !table.indexes.iter().any(|i| i.unique && i.plain_columns().is_some()) {
            return Err(errinput!(
                OBJECT_NOT_IN_PREREQUISITE_STATE,
                "cannot refresh materialized view \"{}.{}\" concurrently",
                table.schema,
                table.name
            )
            .with_hint(
                "Create a unique index with no WHERE clause on one or more columns of the materialized view.",
            ));
        }
        let table = self.lock_table(&table)?;
        let plan = if with_data { Some(self.bind_stored_query(&query)?) } else { None };
        ctx.catalog.replace_storage(ctx.txn, &table)?;
        ctx.txn.next_command()?;
        ctx.catalog.set_populated(ctx.txn, table.id, with_data)?;
        ctx.txn.next_command()?;
        let Some(plan) = plan else { return Ok(()) };
        let table = self.table(table.id)?;
        self.fill_materialized(&table, &plan).map(|_| ())
    }

    /// Binds a materialized view's stored query.
    fn bind_stored_query(&self, sql: &str) -> Result<crate::plan::Plan> {
        let ast::Statement::Query(query) = crate::parse::parse_one(sql)? else {
            return Err(errinput!(INTERNAL_ERROR, "a materialized view's query is not a query"));
        };
        let plan = crate::bind::Binder::new(self.env, vec![]).bind_query_plan(&query)?;
        Ok(crate::optimize::optimize(plan))
    }

    /// Inserts a query's rows into a new table (CREATE TABLE AS) or a materialized view,
    /// converting each value to its column's type (a view's tables may have changed since
    /// it was made). Returns the count.
    fn fill_materialized(&self, table: &Table, plan: &crate::plan::Plan) -> Result<usize> {
        let ctx = self.ctx;
        let visible: Vec<usize> =
            plan.columns.iter().enumerate().filter(|(_, c)| !c.hidden).map(|(i, _)| i).collect();
        let live: Vec<usize> = table.live_columns().map(|(i, _)| i).collect();
        if visible.len() != live.len() {
            return Err(errinput!(
                DATATYPE_MISMATCH,
                "the query of \"{}\" returns {} columns, not {}",
                table.name,
                visible.len(),
                live.len()
            ));
        }
        let zone = ctx.session.zone();
        let mut count = 0;
        for row in collect(execute(plan, ctx)?, ctx)? {
            let mut stored = vec![Value::Null; table.columns.len()];
            for (&from, &to) in visible.iter().zip(&live) {
                let ty = &table.columns[to].data_type;
                stored[to] = cast(row[from].clone(), ty, CastKind::Assignment, zone)?;
            }
            storage::insert_or_fail(ctx, table, &mut stored)?;
            count += 1;
        }
        Ok(count)
    }

    /// Locks a table for a schema change and reloads it (the definition may have changed
    /// while waiting).
    fn lock_table(&self, table: &Table) -> Result<Table> {
        self.catalog().lock_relation_exclusive(self.ctx.txn, table.id)?;
        self.table(table.id)
    }

    /// A relation name not yet used in the schema: `base`, then `base1`, `base2`, ... with
    /// the numbers before the suffix, as PostgreSQL chooses index and sequence names.
    fn choose_relation_name(&self, schema: &str, stem: &str, suffix: &str) -> Result<String> {
        for n in 0.. {
            let name =
                if n == 0 { format!("{stem}_{suffix}") } else { format!("{stem}_{suffix}{n}") };
            if self.catalog().relation(self.ctx.txn, schema, &name)?.is_none() {
                return Ok(name);
            }
        }
        unreachable!("the name search is unbounded")
    }

    // ---- tables ----

    fn create_table(&self, ct: &CreateTable) -> Result<String> {
        let ctx = self.ctx;
        let schema = self.creation_schema(&ct.name.0)?;
        let name = &ct.name.1;
        if ctx.catalog.schema_id(ctx.txn, &schema)?.is_none() {
            return Err(errinput!(INVALID_SCHEMA_NAME, "schema \"{schema}\" does not exist"));
        }
        if ctx.catalog.relation(ctx.txn, &schema, name)?.is_some() {
            if ct.if_not_exists {
                self.notice(format!("relation \"{name}\" already exists, skipping"));
                return Ok(if ct.as_query.is_some() {
                    "SELECT 0".into()
                } else {
                    "CREATE TABLE".into()
                });
            }
            return Err(errinput!(DUPLICATE_TABLE, "relation \"{name}\" already exists"));
        }
        let mut specs: Vec<ColumnSpec> = ct.columns.clone();
        if let Some(plan) = &ct.as_query {
            let visible: Vec<&crate::plan::Column> =
                plan.columns.iter().filter(|c| !c.hidden).collect();
            if specs.len() > visible.len() {
                return Err(errinput!(SYNTAX_ERROR, "too many column names were specified"));
            }
            for (i, column) in visible.iter().enumerate() {
                if i < specs.len() {
                    specs[i].data_type = column.data_type.clone();
                } else {
                    specs.push(ColumnSpec {
                        name: column.name.clone(),
                        data_type: column.data_type.clone(),
                        not_null: false,
                        default: None,
                        serial: false,
                        identity_always: false,
                        identity_by_default: false,
                        generated: None,
                        domain: None,
                        identity_options: None,
                    });
                }
            }
        }
        let primary_keys: Vec<&Vec<String>> = ct
            .constraints
            .iter()
            .filter_map(|c| match c {
                ConstraintSpec::PrimaryKey { columns, .. } => Some(columns),
                _ => None,
            })
            .collect();
        if primary_keys.len() > 1 {
            return Err(errinput!(
                INVALID_TABLE_DEFINITION,
                "multiple primary keys for table \"{name}\" are not allowed"
            ));
        }
        self.require_create_in(&schema)?;
        let mut columns = Vec::with_capacity(specs.len());
        let mut serials = Vec::new();
        for spec in &specs {
            let mut column = Column::new(spec.name.clone(), spec.data_type.clone());
            column.not_null = spec.not_null;
            column.domain = spec.domain.clone();
            if let Some(default) = &spec.default {
                check_default(default)?;
                column.default = Some(normalize_default(default, &spec.data_type));
            }
            column.generated = spec.generated.clone();
            if spec.serial {
                let seq = self.serial_sequence(&schema, name, spec)?;
                column.default = Some(nextval_default(&seq));
                column.not_null = true;
                column.identity_always = spec.identity_always;
                column.identity_by_default = spec.identity_by_default;
                serials.push((columns.len(), seq));
            }
            columns.push(column);
        }
        let table = ctx.catalog.create_table(
            ctx.txn,
            TableSpec {
                schema: schema.clone(),
                name: name.clone(),
                columns,
                primary_key: primary_keys.first().map(|c| (*c).clone()).unwrap_or_default(),
            },
        )?;
        self.record_owner(crate::catalog::acl::ObjectKind::Table, table.id, Some(&schema))?;
        for (position, seq) in serials {
            self.record_owner(crate::catalog::acl::ObjectKind::Sequence, seq.id, Some(&schema))?;
            self.own_sequence(seq, table.id, position)?;
        }
        for position in 0..table.columns.len() {
            self.check_generated(&table, position)?;
        }
        for constraint in &ct.constraints {
            if !matches!(constraint, ConstraintSpec::PrimaryKey { .. }) {
                let table = self.table(table.id)?;
                self.add_constraint(&table, constraint)?;
            }
        }
        if let Some((query, with_data)) = &ct.materialized {
            ctx.txn.next_command()?;
            ctx.catalog.set_materialized(ctx.txn, table.id, query)?;
            if !with_data {
                ctx.txn.next_command()?;
                ctx.catalog.set_populated(ctx.txn, table.id, false)?;
                return Ok("CREATE MATERIALIZED VIEW".into());
            }
        }
        if let Some(plan) = &ct.as_query {
            let table = self.table(table.id)?;
            let count = self.fill_materialized(&table, plan)?;
            return Ok(format!("SELECT {count}"));
        }
        Ok("CREATE TABLE".into())
    }

    /// Creates the sequence behind a SERIAL or identity column.
    fn serial_sequence(&self, schema: &str, table: &str, spec: &ColumnSpec) -> Result<Sequence> {
        let max = match spec.data_type {
            DataType::Int2 => i16::MAX as i64,
            DataType::Int4 => i32::MAX as i64,
            DataType::Int8 => i64::MAX,
            ref other => {
                return Err(errinput!(
                    INVALID_PARAMETER_VALUE,
                    "identity column type must be smallint, integer, or bigint, not {}",
                    other.name()
                ));
            }
        };
        let name = self.choose_relation_name(schema, &format!("{table}_{}", spec.name), "seq")?;
        let seq = match &spec.identity_options {
            Some(options) => identity_sequence(schema, &name, options, &spec.data_type)?,
            None => Sequence { max, ..Sequence::ascending(schema, name) },
        };
        self.catalog().create_sequence(self.ctx.txn, seq)
    }

    /// Records that a SERIAL sequence belongs to a column (created before the table, so its
    /// id is known only now).
    fn own_sequence(&self, seq: Sequence, table: RelId, column: usize) -> Result<()> {
        let owned = Sequence { owned_by: Some((table, column)), ..seq };
        self.catalog().update_sequence(self.ctx.txn, &owned)
    }

    fn owned_sequences(&self, table: RelId, column: Option<usize>) -> Result<Vec<Sequence>> {
        Ok(self
            .catalog()
            .sequences(self.ctx.txn)?
            .into_iter()
            .filter(|s| {
                s.owned_by.is_some_and(|(t, c)| t == table && column.is_none_or(|x| x == c))
            })
            .collect())
    }

    /// DROP TABLE (`materialized` Some(false)) or DROP MATERIALIZED VIEW (Some(true)): each
    /// refuses the other's kind, as PostgreSQL does; None drops either (DROP SCHEMA).
    fn drop_tables(
        &self,
        names: &[Name],
        if_exists: bool,
        cascade: bool,
        materialized: Option<bool>,
    ) -> Result<()> {
        let noun = if materialized == Some(true) { "materialized view" } else { "table" };
        let mut tables = Vec::new();
        for name in names {
            match self.find_table(name)? {
                Some(t) if materialized.is_some_and(|m| t.materialized.is_some() != m) => {
                    return Err(errinput!(WRONG_OBJECT_TYPE, "\"{}\" is not a {noun}", t.name)
                        .with_hint(if materialized == Some(true) {
                            "Use DROP TABLE to remove a table."
                        } else {
                            "Use DROP MATERIALIZED VIEW to remove a materialized view."
                        }));
                }
                Some(t) => tables.push(t),
                None if if_exists => {
                    self.notice(format!("{noun} \"{}\" does not exist, skipping", display(name)))
                }
                None => {
                    return Err(errinput!(
                        UNDEFINED_TABLE,
                        "{noun} \"{}\" does not exist",
                        display(name)
                    ));
                }
            }
        }
        let dropping: HashSet<RelId> = tables.iter().map(|t| t.id).collect();
        for table in &tables {
            let table = self.lock_table(table)?;
            for (child, constraint) in self.catalog().referencing(self.ctx.txn, table.id)? {
                if dropping.contains(&child.id) {
                    continue;
                }
                if !cascade {
                    return Err(errinput!(
                        DEPENDENT_OBJECTS_STILL_EXIST,
                        "cannot drop table {} because other objects depend on it",
                        table.name
                    )
                    .with_detail(format!(
                        "constraint {} on table {} depends on table {}",
                        constraint.name, child.name, table.name
                    ))
                    .with_hint("Use DROP ... CASCADE to drop the dependent objects too."));
                }
                self.notice(format!(
                    "drop cascades to constraint {} on table {}",
                    constraint.name, child.name
                ));
                let child = self.lock_table(&child)?;
                self.catalog().drop_constraint(self.ctx.txn, &child, &constraint.name)?;
            }
            self.drop_dependent_views(table.id, "table", &table.name, cascade, &dropping)?;
            self.drop_row_type_users(&table, cascade, &dropping)?;
            let owned = self.owned_sequences(table.id, None)?;
            self.catalog().drop_table(self.ctx.txn, &table.schema, &table.name)?;
            for seq in owned {
                self.catalog().drop_sequence(self.ctx.txn, &seq.schema, &seq.name)?;
            }
        }
        Ok(())
    }

    fn truncate(&self, names: &[Name], restart_identity: bool) -> Result<()> {
        let mut tables = Vec::with_capacity(names.len());
        for name in names {
            let Some((_, id)) = self.find_unchecked(name, RelKind::Table)? else {
                return Err(errinput!(
                    UNDEFINED_TABLE,
                    "relation \"{}\" does not exist",
                    display(name)
                ));
            };
            let table = self.table(id)?;
            if table.materialized.is_some() {
                return Err(errinput!(WRONG_OBJECT_TYPE, "\"{}\" is not a table", table.name));
            }
            let object = crate::privileges::AclObject::relation(table.id, "table", &table.name);
            crate::privileges::check(
                self.env,
                &object,
                crate::catalog::acl::TRUNCATE,
                false,
                None,
            )?;
            tables.push(table);
        }
        let ids: HashSet<RelId> = tables.iter().map(|t| t.id).collect();
        for table in &tables {
            let table = self.lock_table(table)?;
            for (child, _) in self.catalog().referencing(self.ctx.txn, table.id)? {
                if !ids.contains(&child.id) {
                    return Err(errinput!(
                        FEATURE_NOT_SUPPORTED,
                        "cannot truncate a table referenced in a foreign key constraint"
                    )
                    .with_detail(format!("Table \"{}\" references \"{}\".", child.name, table.name))
                    .with_hint(format!(
                        "Truncate table \"{}\" at the same time, or use TRUNCATE ... CASCADE.",
                        child.name
                    )));
                }
            }
            let txn = self.ctx.txn;
            self.catalog().replace_storage(txn, &table)?;
            if restart_identity {
                for seq in self.owned_sequences(table.id, None)? {
                    self.catalog().set_sequence(&seq, seq.start.wrapping_sub(seq.increment))?;
                }
            }
        }
        Ok(())
    }

    // ---- constraints ----

    /// Adds a table constraint, validating the table's existing rows against it.
    fn add_constraint(&self, table: &Table, spec: &ConstraintSpec) -> Result<()> {
        self.add_constraint_checking(table, spec, true)
    }

    /// Adds a constraint; `check_rows` false is NOT VALID (existing rows are not checked).
    fn add_constraint_checking(
        &self,
        table: &Table,
        spec: &ConstraintSpec,
        check_rows: bool,
    ) -> Result<()> {
        let ctx = self.ctx;
        match spec {
            ConstraintSpec::PrimaryKey { name, columns } => {
                if !table.primary_key.is_empty() {
                    return Err(errinput!(
                        INVALID_TABLE_DEFINITION,
                        "multiple primary keys for table \"{}\" are not allowed",
                        table.name
                    ));
                }
                let positions = column_positions(table, columns)?;
                let name = name.clone().unwrap_or_else(|| format!("{}_pkey", table.name));
                let mut new = table.clone();
                for &p in &positions {
                    new.columns[p].not_null = true;
                    ctx.catalog.update_column(
                        ctx.txn,
                        table,
                        &table.columns[p].name,
                        new.columns[p].clone(),
                    )?;
                }
                new.primary_key = positions;
                ctx.catalog.set_primary_key(ctx.txn, table.id, &new.primary_key)?;
                self.rewrite(table, &new, &|row| Ok(row), Some(&name))
            }
            ConstraintSpec::Unique { name, columns, nulls_not_distinct } => {
                let positions = column_positions(table, columns)?;
                let name = match name {
                    Some(n) => n.clone(),
                    None => self.choose_relation_name(
                        &table.schema,
                        &format!("{}_{}", table.name, columns.join("_")),
                        "key",
                    )?,
                };
                let index = Index {
                    id: 0,
                    storage: 0,
                    name,
                    table_id: table.id,
                    unique: true,
                    orders: vec![ColumnOrder::ASC; positions.len()],
                    keys: positions.into_iter().map(IndexKey::Column).collect(),
                    valid: true,
                    predicate: None,
                    method: IndexMethod::Btree,
                    nulls_not_distinct: *nulls_not_distinct,
                    constraint: true,
                };
                self.build_index(table, index).map(|_| ())
            }
            ConstraintSpec::Check { name, expr } => {
                let (bound, data_type) = self.bind_stored(table, expr, "CHECK")?;
                if data_type != DataType::Bool {
                    return Err(errinput!(
                        DATATYPE_MISMATCH,
                        "argument of CHECK must be type boolean, not type {}",
                        data_type.name()
                    ));
                }
                let name = match name {
                    Some(n) => n.clone(),
                    None => {
                        let cols = bound.columns();
                        let stem = match cols.as_slice() {
                            [c] => format!("{}_{}", table.name, table.columns[*c].name),
                            _ => table.name.clone(),
                        };
                        self.choose_constraint_name(table, &stem, "check")
                    }
                };
                let constraint = Constraint {
                    name,
                    kind: ConstraintKind::Check { expr: expr.clone() },
                    validated: check_rows,
                    deferral: Deferral::NotDeferrable,
                };
                if check_rows {
                    self.check_existing_rows(table, &constraint)?;
                }
                ctx.catalog.add_constraint(ctx.txn, table, &constraint)
            }
            ConstraintSpec::ForeignKey { name, spec } => {
                self.add_foreign_key(table, name, spec, check_rows)
            }
        }
    }

    fn choose_constraint_name(&self, table: &Table, stem: &str, suffix: &str) -> String {
        let taken = |n: &str| {
            table.constraints.iter().any(|c| c.name == n)
                || table.indexes.iter().any(|i| i.name == n)
        };
        let mut n = 0;
        loop {
            let name =
                if n == 0 { format!("{stem}_{suffix}") } else { format!("{stem}_{suffix}{n}") };
            if !taken(&name) {
                return name;
            }
            n += 1;
        }
    }

    /// Checks every row against a CHECK or FOREIGN KEY constraint (ADD, VALIDATE).
    fn check_existing_rows(&self, table: &Table, constraint: &Constraint) -> Result<()> {
        let ctx = self.ctx;
        match &constraint.kind {
            ConstraintKind::Check { expr } => {
                let bound = self.bind_stored(table, expr, "CHECK")?.0;
                self.each_latest_row(table, |_, row| {
                    if matches!(eval(&bound, &row, ctx)?, Value::Bool(false)) {
                        return Err(errinput!(
                            CHECK_VIOLATION,
                            "check constraint \"{}\" of relation \"{}\" is violated by some row",
                            constraint.name,
                            table.name
                        ));
                    }
                    Ok(Visit::Next)
                })
            }
            ConstraintKind::ForeignKey { .. } => {
                let mut with = table.clone();
                with.constraints = vec![constraint.clone()];
                self.each_latest_row(table, |_, row| {
                    storage::check_references(ctx, &with, &row, None, None)?;
                    Ok(Visit::Next)
                })
            }
        }
    }

    /// ALTER TABLE ... VALIDATE CONSTRAINT: checks the rows a NOT VALID constraint skipped.
    fn validate_constraint(&self, table: &Table, name: &str) -> Result<()> {
        let Some(constraint) = table.constraints.iter().find(|c| c.name == name) else {
            return Err(errinput!(
                UNDEFINED_OBJECT,
                "constraint \"{name}\" of relation \"{}\" does not exist",
                table.name
            ));
        };
        if constraint.validated {
            return Ok(());
        }
        self.check_existing_rows(table, constraint)?;
        let validated = Constraint { validated: true, ..constraint.clone() };
        self.ctx.catalog.replace_constraint(self.ctx.txn, table, &validated)
    }

    fn add_foreign_key(
        &self,
        table: &Table,
        name: &Option<String>,
        spec: &ForeignKeySpec,
        check_rows: bool,
    ) -> Result<()> {
        let ctx = self.ctx;
        let columns = column_positions(table, &spec.columns)?;
        let same_table = spec.table.1 == table.name
            && spec.table.0.as_ref().is_none_or(|s| *s == table.schema)
            && self
                .find_unchecked(&spec.table, RelKind::Table)?
                .is_none_or(|(_, id)| id == table.id);
        let parent = match self.find_unchecked(&spec.table, RelKind::Table)? {
            _ if same_table => table.clone(),
            Some((_, id)) => self.table(id)?,
            None => {
                return Err(errinput!(
                    UNDEFINED_TABLE,
                    "relation \"{}\" does not exist",
                    display(&spec.table)
                ));
            }
        };
        // Referencing a table takes REFERENCES on it, as in PostgreSQL.
        let object = crate::privileges::AclObject::relation(parent.id, "table", &parent.name);
        crate::privileges::check(self.env, &object, crate::catalog::acl::REFERENCES, false, None)?;
        let ref_columns = if spec.ref_columns.is_empty() {
            if parent.primary_key.is_empty() {
                return Err(errinput!(
                    INVALID_FOREIGN_KEY,
                    "there is no primary key for referenced table \"{}\"",
                    parent.name
                ));
            }
            parent.primary_key.clone()
        } else {
            column_positions(&parent, &spec.ref_columns)?
        };
        if ref_columns.len() != columns.len() {
            return Err(errinput!(
                INVALID_FOREIGN_KEY,
                "number of referencing and referenced columns for foreign key disagree"
            ));
        }
        let mut wanted = ref_columns.clone();
        wanted.sort_unstable();
        let sorted = |cols: &[usize]| {
            let mut c = cols.to_vec();
            c.sort_unstable();
            c
        };
        let unique = (!parent.primary_key.is_empty() && sorted(&parent.primary_key) == wanted)
            || parent.indexes.iter().any(|i| {
                i.unique && i.valid && i.plain_columns().is_some_and(|c| sorted(&c) == wanted)
            });
        if !unique {
            return Err(errinput!(
                INVALID_FOREIGN_KEY,
                "there is no unique constraint matching given keys for referenced table \"{}\"",
                parent.name
            ));
        }
        let name = match name {
            Some(n) => n.clone(),
            None => {
                let names: Vec<&str> =
                    columns.iter().map(|&c| table.columns[c].name.as_str()).collect();
                self.choose_constraint_name(
                    table,
                    &format!("{}_{}", table.name, names.join("_")),
                    "fkey",
                )
            }
        };
        for (&c, &r) in columns.iter().zip(&ref_columns) {
            let (a, b) = (&table.columns[c].data_type, &parent.columns[r].data_type);
            if !(a == b || implicit_cast_allowed(a, b) || implicit_cast_allowed(b, a)) {
                return Err(errinput!(
                    DATATYPE_MISMATCH,
                    "foreign key constraint \"{name}\" cannot be implemented"
                )
                .with_detail(format!(
                    "Key columns \"{}\" and \"{}\" are of incompatible types: {} and {}.",
                    table.columns[c].name,
                    parent.columns[r].name,
                    a.name(),
                    b.name()
                )));
            }
        }
        let constraint = Constraint {
            name,
            kind: ConstraintKind::ForeignKey {
                columns,
                ref_table: parent.id,
                ref_columns,
                on_delete: spec.on_delete.code().into(),
                on_update: spec.on_update.code().into(),
            },
            validated: check_rows,
            deferral: spec.deferral,
        };
        ctx.catalog.add_constraint(ctx.txn, table, &constraint)?;
        if check_rows {
            self.check_existing_rows(table, &constraint)?;
        }
        Ok(())
    }

    fn drop_constraint(&self, table: &Table, name: &str, if_exists: bool) -> Result<()> {
        let ctx = self.ctx;
        if ctx.catalog.drop_constraint(ctx.txn, table, name)? {
            return Ok(());
        }
        if let Some(index) = table.indexes.iter().find(|i| i.name == name && i.constraint) {
            self.check_index_unreferenced(table, index)?;
            return ctx.catalog.drop_index(ctx.txn, &table.schema, name);
        }
        if name == format!("{}_pkey", table.name) && !table.primary_key.is_empty() {
            let pk = table.primary_key.clone();
            if ctx.catalog.referencing(ctx.txn, table.id)?.iter().any(|(_, c)| {
                matches!(&c.kind, ConstraintKind::ForeignKey { ref_columns, .. } if sorted_eq(ref_columns, &pk))
            }) {
                return Err(errinput!(
                    DEPENDENT_OBJECTS_STILL_EXIST,
                    "cannot drop constraint {name} on table {} because other objects depend on it",
                    table.name
                )
                .with_hint("Use DROP ... CASCADE to drop the dependent objects too."));
            }
            let mut new = table.clone();
            new.primary_key = Vec::new();
            ctx.catalog.set_primary_key(ctx.txn, table.id, &[])?;
            return self.rewrite(table, &new, &|row| Ok(row), None);
        }
        if if_exists {
            self.notice(format!(
                "constraint \"{name}\" of relation \"{}\" does not exist, skipping",
                table.name
            ));
            return Ok(());
        }
        Err(errinput!(
            UNDEFINED_OBJECT,
            "constraint \"{name}\" of relation \"{}\" does not exist",
            table.name
        ))
    }

    /// Refuses to drop a unique index that a foreign key relies on.
    fn check_index_unreferenced(&self, table: &Table, index: &Index) -> Result<()> {
        for (child, c) in self.catalog().referencing(self.ctx.txn, table.id)? {
            if let ConstraintKind::ForeignKey { ref_columns, .. } = &c.kind
                && index.plain_columns().is_some_and(|c| sorted_eq(ref_columns, &c))
                && !sorted_eq(ref_columns, &table.primary_key)
            {
                return Err(errinput!(
                    DEPENDENT_OBJECTS_STILL_EXIST,
                    "cannot drop index {} because other objects depend on it",
                    index.name
                )
                .with_detail(format!(
                    "constraint {} on table {} depends on index {}",
                    c.name, child.name, index.name
                ))
                .with_hint("Use DROP ... CASCADE to drop the dependent objects too."));
            }
        }
        Ok(())
    }

    // ---- indexes ----

    fn create_index(&self, ci: &CreateIndex) -> Result<()> {
        let table = self.require_table(&ci.table)?;
        let mut keys = Vec::with_capacity(ci.keys.len());
        for (part, order) in &ci.keys {
            let (key, ty) = match part {
                IndexPart::Column(n) => {
                    let c = table.column_index(n).ok_or_else(|| {
                        errinput!(UNDEFINED_COLUMN, "column \"{n}\" does not exist")
                    })?;
                    (IndexKey::Column(c), table.columns[c].data_type.clone())
                }
                IndexPart::Expr(sql) => {
                    let ty = self.check_index_expr(
                        &table,
                        sql,
                        "index expressions",
                        "index expression",
                    )?;
                    (IndexKey::Expr(sql.clone()), ty)
                }
            };
            if ci.method.inverted() {
                check_inverted_key(&ty, *order)?;
            }
            keys.push(key);
        }
        if ci.unique && ci.method.inverted() {
            return Err(errinput!(
                FEATURE_NOT_SUPPORTED,
                "access method \"{}\" does not support unique indexes",
                ci.method.name()
            ));
        }
        if let Some(predicate) = &ci.predicate {
            let ty =
                self.check_index_expr(&table, predicate, "index predicates", "index predicate")?;
            if ty != DataType::Bool {
                return Err(errinput!(
                    DATATYPE_MISMATCH,
                    "argument of WHERE must be type boolean, not type {}",
                    ty.name()
                ));
            }
        }
        let name = match &ci.name {
            Some(n) => {
                if self.catalog().relation(self.ctx.txn, &table.schema, n)?.is_some() {
                    if ci.if_not_exists {
                        self.notice(format!("relation \"{n}\" already exists, skipping"));
                        return Ok(());
                    }
                    return Err(errinput!(DUPLICATE_TABLE, "relation \"{n}\" already exists"));
                }
                n.clone()
            }
            None => {
                // A part that repeats an earlier one is numbered (`expr`, `expr1`), as
                // PostgreSQL names them.
                let mut parts: Vec<String> = Vec::new();
                for (part, _) in &ci.keys {
                    let base = name_part(part);
                    let mut name = base.clone();
                    let mut n = 0;
                    while parts.contains(&name) {
                        n += 1;
                        name = format!("{base}{n}");
                    }
                    parts.push(name);
                }
                self.choose_relation_name(
                    &table.schema,
                    &format!("{}_{}", table.name, parts.join("_")),
                    "idx",
                )?
            }
        };
        let index = Index {
            id: 0,
            storage: 0,
            name,
            table_id: table.id,
            unique: ci.unique,
            keys,
            orders: ci.keys.iter().map(|(_, o)| *o).collect(),
            valid: !ci.concurrently,
            predicate: ci.predicate.clone(),
            method: ci.method,
            nulls_not_distinct: ci.nulls_not_distinct,
            constraint: false,
        };
        if ci.concurrently {
            let table = self.lock_table(&table)?;
            return self.ctx.catalog.create_index(self.ctx.txn, &table.schema, index).map(|_| ());
        }
        self.build_index(&table, index).map(|_| ())
    }

    /// Records an index and fills it from the table's rows.
    fn build_index(&self, table: &Table, index: Index) -> Result<Index> {
        let ctx = self.ctx;
        let table = self.lock_table(table)?;
        let index = ctx.catalog.create_index(ctx.txn, &table.schema, index)?;
        let mut seen = HashSet::new();
        self.each_latest_row(&table, |key, row| {
            let Some(values) = storage::index_values(ctx, &table, &index, &row)? else {
                return Ok(Visit::Next);
            };
            if index.method.inverted() {
                for entry in storage::index_entry_keys(&index, &values, &key)? {
                    ctx.txn.put(&entry, key.clone())?;
                }
                return Ok(Visit::Next);
            }
            let entry = storage::index_entry_key(&index, &values, &key)?;
            if storage::keyed(&index, &values) && !seen.insert(entry.clone()) {
                let names = index.key_names(&table);
                return Err(errinput!(
                    UNIQUE_VIOLATION,
                    "could not create unique index \"{}\"",
                    index.name
                )
                .with_detail(format!(
                    "{} is duplicated.",
                    storage::format_key(&names, &values, ctx)
                )));
            }
            ctx.txn.put(&entry, key)?;
            Ok(Visit::Next)
        })?;
        Ok(index)
    }

    fn drop_indexes(&self, names: &[Name], if_exists: bool) -> Result<()> {
        for name in names {
            let Some((schema, id)) = self.find(name, RelKind::Index)? else {
                if if_exists {
                    self.notice(format!("index \"{}\" does not exist, skipping", name.1));
                    continue;
                }
                return Err(errinput!(UNDEFINED_OBJECT, "index \"{}\" does not exist", name.1));
            };
            if let Some(table) = self
                .catalog()
                .tables(self.ctx.txn)?
                .into_iter()
                .find(|t| t.indexes.iter().any(|i| i.id == id))
            {
                // An index belongs to its table's owner.
                self.require_relation_owner(table.id, RelKind::Table, &table.name).map_err(
                    |_| errinput!(INSUFFICIENT_PRIVILEGE, "must be owner of index {}", name.1),
                )?;
                let table = self.lock_table(&table)?;
                if let Some(index) = table.indexes.iter().find(|i| i.id == id) {
                    if index.constraint {
                        return Err(errinput!(
                            DEPENDENT_OBJECTS_STILL_EXIST,
                            "cannot drop index {} because constraint {} on table {} requires it",
                            index.name,
                            index.name,
                            table.name
                        )
                        .with_hint(format!(
                            "You can drop constraint {} on table {} instead.",
                            index.name, table.name
                        )));
                    }
                    self.check_index_unreferenced(&table, index)?;
                }
            }
            self.catalog().drop_index(self.ctx.txn, &schema, &name.1)?;
        }
        Ok(())
    }

    // ---- rows ----

    /// Visits every row of a table as last committed (plus this transaction's writes): what a
    /// schema change under the table's exclusive lock must cover. Rows are read one at a time
    /// (a table is not copied into memory to be checked or indexed); the visit reads the table
    /// as a fresh command found it, so what it writes meanwhile is not in it.
    fn each_latest_row(
        &self,
        table: &Table,
        visit: impl FnMut(Vec<u8>, Row) -> Result<Visit>,
    ) -> Result<()> {
        self.ctx.txn.next_command()?;
        self.visit_rows(table, visit)
    }

    /// [`Ddl::each_latest_row`] in the current command.
    fn visit_rows(
        &self,
        table: &Table,
        mut visit: impl FnMut(Vec<u8>, Row) -> Result<Visit>,
    ) -> Result<()> {
        let ctx = self.ctx;
        let range = oxibase_engine::prefix_range(&relation_prefix(table.storage));
        for (i, item) in ctx.txn.scan_latest(range)?.enumerate() {
            if i % 1024 == 1023 {
                ctx.session.check_interrupt()?;
            }
            let (key, bytes) = item?;
            if let Visit::Stop = visit(key, decode_table_row(table, &bytes)?)? {
                break;
            }
        }
        Ok(())
    }

    /// Whether any row of the table matches.
    fn any_latest_row(&self, table: &Table, test: impl Fn(&Row) -> bool) -> Result<bool> {
        let mut found = false;
        self.each_latest_row(table, |_, row| {
            found = test(&row);
            Ok(if found { Visit::Stop } else { Visit::Next })
        })?;
        Ok(found)
    }

    /// Rewrites every row of `old` into the shape of `new` (a new column type, primary key,
    /// or per-row default): moves the table and its indexes to new storage (the old ranges
    /// are dropped whole), then inserts the transformed rows with all constraints checked.
    /// `key_name` names the primary key in duplicate errors when the key is new.
    fn rewrite(
        &self,
        old: &Table,
        new: &Table,
        transform: &dyn Fn(Row) -> Result<Row>,
        key_name: Option<&str>,
    ) -> Result<()> {
        let ctx = self.ctx;
        let old = self.lock_table(old)?;
        ctx.txn.next_command()?;
        let mut new = new.clone();
        new.storage = ctx.catalog.replace_storage(ctx.txn, &old)?;
        new.indexes = self.table(old.id)?.indexes;
        // The old rows stream into the new storage one at a time; the new rows, written in
        // this command under another prefix, are not in the visit.
        self.visit_rows(&old, |_, row| {
            let mut row = transform(row)?;
            if let Err(conflict) = storage::insert(ctx, &new, &mut row)? {
                let constraint = key_name.map_or(conflict.constraint.clone(), str::to_string);
                return Err(errinput!(
                    UNIQUE_VIOLATION,
                    "could not create unique index \"{constraint}\""
                )
                .with_detail(format!(
                    "{} is duplicated.",
                    key_detail(&new, &conflict.columns, &row, ctx)
                )));
            }
            Ok(Visit::Next)
        })
    }

    // ---- ALTER TABLE ----

    fn alter_table(&self, name: &Name, if_exists: bool, actions: &[AlterAction]) -> Result<()> {
        let Some(table) = self.find_table(name)? else {
            if if_exists {
                self.notice(format!("relation \"{}\" does not exist, skipping", display(name)));
                return Ok(());
            }
            return Err(errinput!(
                UNDEFINED_TABLE,
                "relation \"{}\" does not exist",
                display(name)
            ));
        };
        // A materialized view's rows come from its query: only names change.
        if table.materialized.is_some()
            && let Some(action) = actions.iter().find(|a| {
                !matches!(a, AlterAction::RenameTable(_) | AlterAction::RenameColumn { .. })
            })
        {
            return Err(errinput!(
                WRONG_OBJECT_TYPE,
                "ALTER action {} cannot be performed on relation \"{}\"",
                action.verb(),
                table.name
            )
            .with_detail("This operation is not supported for materialized views."));
        }
        let id = table.id;
        self.lock_table(&table)?;
        for action in actions {
            let table = self.table(id)?;
            self.alter_action(&table, action)?;
        }
        Ok(())
    }

    fn alter_action(&self, table: &Table, action: &AlterAction) -> Result<()> {
        let ctx = self.ctx;
        let txn = ctx.txn;
        match action {
            AlterAction::EnableTrigger { name, on } => {
                self.enable_trigger(table, name.as_deref(), *on)
            }
            AlterAction::SetStatistics { column, target } => {
                let position = require_column(table, column)?;
                let mut c = table.columns[position].clone();
                c.statistics = *target;
                ctx.catalog.update_column(txn, table, column, c)
            }
            AlterAction::ReplicaIdentity { identity, index } => {
                let index = match index {
                    Some(name) => self.replica_identity_index(table, name)?,
                    None => 0,
                };
                self.catalog().lock_relation_exclusive(txn, table.id)?;
                self.catalog().set_replica_identity(txn, table.id, *identity, index)
            }
            AlterAction::RowSecurity { flag, on } => {
                let flags =
                    if *on { table.row_security | flag } else { table.row_security & !flag };
                self.catalog().lock_relation_exclusive(txn, table.id)?;
                self.catalog().set_row_security(txn, table.id, flags)
            }
            AlterAction::AddColumn { column: spec, constraints, if_not_exists } => {
                if table.column_index(&spec.name).is_some() && *if_not_exists {
                    self.notice(format!(
                        "column \"{}\" of relation \"{}\" already exists, skipping",
                        spec.name, table.name
                    ));
                    return Ok(());
                }
                self.add_column(table, spec)?;
                for c in constraints {
                    let table = self.table(table.id)?;
                    self.add_constraint(&table, c)?;
                }
                Ok(())
            }
            AlterAction::DropColumn { name, if_exists, cascade } => {
                if table.column_index(name).is_none() && *if_exists {
                    self.notice(format!(
                        "column \"{name}\" of relation \"{}\" does not exist, skipping",
                        table.name
                    ));
                    return Ok(());
                }
                self.drop_column(table, name, *cascade)
            }
            AlterAction::RenameColumn { old, new } => {
                let position = require_column(table, old)?;
                self.rename_column_in_views(table, old, new)?;
                let mut column = table.columns[position].clone();
                column.name = new.clone();
                ctx.catalog.update_column(txn, table, old, column)?;
                let table = self.table(table.id)?;
                self.map_table_exprs(&table, &|sql| rename_identifier(sql, old, new))
            }
            AlterAction::RenameTable(new) => {
                self.rename_table_in_views(table, new)?;
                ctx.catalog.rename_table(txn, table.id, new)
            }
            AlterAction::SetDefault { column, default } => {
                let position = require_column(table, column)?;
                let mut c = table.columns[position].clone();
                if let Some(d) = default {
                    check_default(d)?;
                }
                c.default = default.as_deref().map(|d| normalize_default(d, &c.data_type));
                ctx.catalog.update_column(txn, table, column, c)
            }
            AlterAction::SetNotNull { column, not_null } => {
                let position = require_column(table, column)?;
                if !not_null && table.primary_key.contains(&position) {
                    return Err(errinput!(
                        INVALID_TABLE_DEFINITION,
                        "column \"{column}\" is in a primary key"
                    ));
                }
                if *not_null && self.any_latest_row(table, |r| r[position].is_null())? {
                    return Err(errinput!(
                        NOT_NULL_VIOLATION,
                        "column \"{column}\" of relation \"{}\" contains null values",
                        table.name
                    ));
                }
                let mut c = table.columns[position].clone();
                c.not_null = *not_null;
                ctx.catalog.update_column(txn, table, column, c)
            }
            AlterAction::AddIdentity { column, always, options, sequence_name } => {
                self.add_identity(table, column, *always, options, sequence_name.as_ref())
            }
            AlterAction::SetType { column, data_type, domain, using } => {
                let position = require_column(table, column)?;
                self.refuse_row_type_change(table)?;
                let old_type = table.columns[position].data_type.clone();
                let using = match using {
                    Some(sql) => Some(crate::bind::bind_using_expr(table, sql, data_type)?),
                    None => {
                        if !assignment_castable(&old_type, data_type) {
                            return Err(errinput!(
                                DATATYPE_MISMATCH,
                                "column \"{column}\" cannot be cast automatically to type {}",
                                data_type.name()
                            )
                            .with_hint(format!(
                                "You might need to specify \"USING {column}::{}\".",
                                data_type.name()
                            )));
                        }
                        None
                    }
                };
                let mut c = table.columns[position].clone();
                c.data_type = data_type.clone();
                c.domain = domain.clone();
                ctx.catalog.update_column(txn, table, column, c.clone())?;
                let mut new = table.clone();
                new.columns[position] = c;
                let zone = ctx.session.zone();
                // A value that does not convert names its row, so it can be fixed.
                let key: Vec<usize> = if table.primary_key.is_empty() {
                    table.live_columns().map(|(i, _)| i).collect()
                } else {
                    table.primary_key.clone()
                };
                let transform = |mut row: Row| -> Result<Row> {
                    let converted = match &using {
                        Some(expr) => eval(expr, &row, ctx),
                        None => Ok(row[position].clone()),
                    }
                    .and_then(|value| cast(value, data_type, CastKind::Assignment, zone))
                    .and_then(|value| match domain {
                        Some(d) => storage::check_domain(ctx, d, &value).map(|_| value),
                        None => Ok(value),
                    });
                    row[position] = converted.map_err(|e| {
                        let detail =
                            format!("Failing row: {}.", key_detail(table, &key, &row, ctx));
                        match e.detail() {
                            Some(d) => e.clone().with_detail(format!("{d}\n{detail}")),
                            None => e.clone().with_detail(detail),
                        }
                    })?;
                    Ok(row)
                };
                self.rewrite(table, &new, &transform, None)
            }
            AlterAction::AddConstraint { spec, not_valid } => {
                self.add_constraint_checking(table, spec, !not_valid)
            }
            AlterAction::ValidateConstraint(name) => self.validate_constraint(table, name),
            AlterAction::DropConstraint { name, if_exists } => {
                self.drop_constraint(table, name, *if_exists)
            }
        }
    }

    fn add_column(&self, table: &Table, spec: &ColumnSpec) -> Result<()> {
        let ctx = self.ctx;
        types::refuse_self_member(&spec.data_type, table.id, &table.name)?;
        let mut column = Column::new(spec.name.clone(), spec.data_type.clone());
        column.not_null = spec.not_null;
        let mut seq = None;
        if spec.serial {
            let s = self.serial_sequence(&table.schema, &table.name, spec)?;
            column.default = Some(nextval_default(&s));
            column.not_null = true;
            column.identity_always = spec.identity_always;
            column.identity_by_default = spec.identity_by_default;
            seq = Some(s);
        } else if let Some(default) = &spec.default {
            check_default(default)?;
            column.default = Some(normalize_default(default, &spec.data_type));
        }
        column.generated = spec.generated.clone();
        column.domain = spec.domain.clone();
        // Values of the table's row type stored elsewhere would need the default: refused,
        // as in PostgreSQL (without one they gain a NULL field).
        if column.default_sql().is_some() || column.generated.is_some() {
            self.refuse_row_type_change(table)?;
        }
        let position = table.columns.len();
        if column.generated.is_some() {
            let mut with_column = table.clone();
            with_column.columns.push(column.clone());
            self.check_generated(&with_column, position)?;
        }
        // A constant default is stored once as the value old rows read (no rewrite); a
        // volatile one (nextval, random) is evaluated per existing row, as PostgreSQL does.
        // Without a default of its own, a column of a domain takes the domain's.
        let default_expr = match column.default_sql() {
            Some(sql) => {
                let mut scope_table = table.clone();
                scope_table.columns.push(column.clone());
                Some(self.bind_stored(&scope_table, sql, "DEFAULT")?.0)
            }
            None => None,
        };
        let zone = ctx.session.zone();
        // A generated column is computed for each existing row by the rewrite's writes.
        let mut rewrite = column.generated.is_some();
        column.missing = match &default_expr {
            Some(expr) if expr.is_constant() => {
                cast(eval(expr, &[], ctx)?, &spec.data_type, CastKind::Assignment, zone)?
            }
            Some(_) => {
                rewrite = true;
                Value::Null
            }
            None => Value::Null,
        };
        if let Some(domain) = &column.domain
            && !rewrite
            && self.any_latest_row(table, |_| true)?
        {
            storage::check_domain(ctx, domain, &column.missing)?;
        }
        if column.not_null
            && column.missing.is_null()
            && !rewrite
            && self.any_latest_row(table, |_| true)?
        {
            return Err(errinput!(
                NOT_NULL_VIOLATION,
                "column \"{}\" of relation \"{}\" contains null values",
                spec.name,
                table.name
            ));
        }
        ctx.catalog.add_column(ctx.txn, table, column.clone())?;
        if let Some(s) = seq {
            self.own_sequence(s, table.id, position)?;
        }
        if rewrite {
            let new = self.table(table.id)?;
            let expr = default_expr.unwrap_or(crate::plan::Expr::Literal(Value::Null));
            let data_type = spec.data_type.clone();
            let transform = |mut row: Row| -> Result<Row> {
                row.truncate(position);
                let v = cast(eval(&expr, &row, ctx)?, &data_type, CastKind::Assignment, zone)?;
                if let Some(domain) = &column.domain {
                    storage::check_domain(ctx, domain, &v)?;
                }
                row.push(v);
                Ok(row)
            };
            self.rewrite(table, &new, &transform, None)?;
        }
        // Values of the table's row type stored elsewhere gain the field, NULL.
        self.follow_row_type(table.id, &|fields| fields.push(Value::Null))
    }

    fn drop_column(&self, table: &Table, name: &str, cascade: bool) -> Result<()> {
        let ctx = self.ctx;
        let position = require_column(table, name)?;
        let field = table.live_columns().position(|(p, _)| p == position);
        for (child, c) in ctx.catalog.referencing(ctx.txn, table.id)? {
            if child.id == table.id {
                continue;
            }
            if let ConstraintKind::ForeignKey { ref_columns, .. } = &c.kind
                && ref_columns.contains(&position)
            {
                if !cascade {
                    return Err(column_in_use(
                        name,
                        table,
                        &format!("constraint {} on table {}", c.name, child.name),
                    ));
                }
                self.notice(format!(
                    "drop cascades to constraint {} on table {}",
                    c.name, child.name
                ));
                let child = self.lock_table(&child)?;
                ctx.catalog.drop_constraint(ctx.txn, &child, &c.name)?;
            }
        }
        self.drop_views_reading_column(table, name, cascade)?;
        // Generated columns computed from this one go with it (CASCADE) or keep it.
        for (i, c) in table.columns.iter().enumerate() {
            let Some(expr) = &c.generated else { continue };
            if i == position || c.dropped {
                continue;
            }
            if !self.bind_stored(table, expr, "GENERATED")?.0.columns().contains(&position) {
                continue;
            }
            if !cascade {
                return Err(column_in_use(
                    name,
                    table,
                    &format!("column {} of table {}", c.name, table.name),
                ));
            }
            self.notice(format!("drop cascades to column {} of table {}", c.name, table.name));
            let current = self.table(table.id)?;
            self.drop_column(&current, &c.name, true)?;
        }
        let table = &self.table(table.id)?;
        for c in &table.constraints {
            let uses = match &c.kind {
                ConstraintKind::Check { expr } => {
                    self.bind_stored(table, expr, "CHECK")?.0.columns().contains(&position)
                }
                ConstraintKind::ForeignKey { columns, ref_table, ref_columns, .. } => {
                    columns.contains(&position)
                        || (*ref_table == table.id && ref_columns.contains(&position))
                }
            };
            if uses {
                ctx.catalog.drop_constraint(ctx.txn, table, &c.name)?;
            }
        }
        // PostgreSQL drops an index whose key or predicate reads the column with it.
        for index in &table.indexes {
            if storage::index_reads(self.ctx, table, index)?.contains(&position) {
                ctx.catalog.drop_index(ctx.txn, &table.schema, &index.name)?;
            }
        }
        let mut current = self.table(table.id)?;
        if current.primary_key.contains(&position) {
            let mut new = current.clone();
            new.primary_key = Vec::new();
            ctx.catalog.set_primary_key(ctx.txn, table.id, &[])?;
            self.rewrite(&current, &new, &|row| Ok(row), None)?;
            current = self.table(table.id)?;
        }
        ctx.catalog.drop_column(ctx.txn, &current, name)?;
        for seq in self.owned_sequences(table.id, Some(position))? {
            ctx.catalog.drop_sequence(ctx.txn, &seq.schema, &seq.name)?;
        }
        // Values of the table's row type stored elsewhere lose the field.
        match field {
            Some(at) => self.follow_row_type(table.id, &|fields| {
                if at < fields.len() {
                    fields.remove(at);
                }
            }),
            None => Ok(()),
        }
    }

    // ---- views and schemas ----

    fn create_view(
        &self,
        name: &Name,
        or_replace: bool,
        if_not_exists: bool,
        view: &ViewSpec,
    ) -> Result<()> {
        let ViewSpec { sql, columns, plan, check_option } = *view;
        let ctx = self.ctx;
        let schema = self.creation_schema(&name.0)?;
        let mut replacing = None;
        match ctx.catalog.relation(ctx.txn, &schema, &name.1)? {
            Some((id, RelKind::View)) if or_replace => {
                // The view keeps its id, owner, privileges and comments.
                self.require_relation_owner(id, RelKind::View, &name.1)?;
                replacing = Some(id);
            }
            Some(_) if if_not_exists => {
                self.notice(format!("relation \"{}\" already exists, skipping", name.1));
                return Ok(());
            }
            Some((_, RelKind::View)) | None if or_replace => {}
            Some((_, kind)) if or_replace => {
                return Err(errinput!(WRONG_OBJECT_TYPE, "\"{}\" is not a view", name.1)
                    .with_detail(format!("\"{}\" is a {}.", name.1, kind.noun())));
            }
            Some(_) => {
                return Err(errinput!(DUPLICATE_TABLE, "relation \"{}\" already exists", name.1));
            }
            None => {}
        }
        let visible: Vec<&crate::plan::Column> =
            plan.columns.iter().filter(|c| !c.hidden).collect();
        for c in &visible {
            self.catalog().check_storable(self.ctx.txn, &c.name, &c.data_type)?;
        }
        if columns.len() > visible.len() {
            return Err(errinput!(
                SYNTAX_ERROR,
                "CREATE VIEW specifies more column names than columns"
            ));
        }
        let mut names: Vec<String> = visible.iter().map(|c| c.name.clone()).collect();
        names[..columns.len()].clone_from_slice(columns);
        for (i, n) in names.iter().enumerate() {
            if names[..i].contains(n) {
                return Err(errinput!(DUPLICATE_COLUMN, "column \"{n}\" specified more than once"));
            }
        }
        let stored = if columns.is_empty() {
            sql.to_string()
        } else {
            let quoted: Vec<String> = names.iter().map(|n| quote_ident(n)).collect();
            format!("SELECT * FROM ({sql}) AS {}({})", quote_ident(&name.1), quoted.join(", "))
        };
        if let Some(id) = replacing {
            // One write: a second read of the row in this command would not see the first.
            return ctx.catalog.replace_view(ctx.txn, id, &stored, check_option);
        }
        self.require_create_in(&schema)?;
        let id = ctx.catalog.create_view(ctx.txn, &schema, &name.1, &stored)?;
        if check_option != 0 {
            ctx.txn.next_command()?; // the new row is read back from here on
            ctx.catalog.set_view_check_option(ctx.txn, id, check_option)?;
        }
        self.record_owner(crate::catalog::acl::ObjectKind::Table, id, Some(&schema))
    }

    fn drop_views(&self, names: &[Name], if_exists: bool, cascade: bool) -> Result<()> {
        let mut found = Vec::new();
        for name in names {
            match self.find(name, RelKind::View)? {
                Some((schema, id)) => found.push((schema, id, name.1.clone())),
                None if if_exists => {
                    self.notice(format!("view \"{}\" does not exist, skipping", name.1))
                }
                None => {
                    return Err(errinput!(UNDEFINED_TABLE, "view \"{}\" does not exist", name.1));
                }
            }
        }
        let dropping: HashSet<RelId> = found.iter().map(|(_, id, _)| *id).collect();
        for (schema, id, name) in found {
            self.drop_dependent_views(id, "view", &name, cascade, &dropping)?;
            self.catalog().drop_view(self.ctx.txn, &schema, &name)?;
        }
        Ok(())
    }

    /// The views whose definitions read relation `id` (by the names they use, resolved on
    /// the search path now): (schema, name, id).
    fn dependent_views(&self, id: RelId) -> Result<Vec<(String, String, RelId)>> {
        let mut out = Vec::new();
        for (schema, name, view_id, sql) in self.catalog().views(self.ctx.txn)? {
            if view_id != id && self.reads_relation(&sql, id)? {
                out.push((schema, name, view_id));
            }
        }
        Ok(out)
    }

    /// The materialized views whose queries read relation `id`: (schema, name, id).
    fn dependent_materialized_views(&self, id: RelId) -> Result<Vec<(String, String, RelId)>> {
        let mut out = Vec::new();
        for table in self.catalog().tables(self.ctx.txn)? {
            if let Some(sql) = &table.materialized
                && table.id != id
                && self.reads_relation(sql, id)?
            {
                out.push((table.schema.clone(), table.name.clone(), table.id));
            }
        }
        Ok(out)
    }

    /// Whether a stored query names relation `id` (resolved on the search path now).
    fn reads_relation(&self, sql: &str, id: RelId) -> Result<bool> {
        let txn = self.ctx.txn;
        // NB: a definition that no longer parses reads nothing we can name.
        let Some(names) = crate::parse::relations_read(sql) else { return Ok(false) };
        for (rel_schema, rel_name) in names {
            let path = rel_schema.map_or_else(|| self.env.search_path(), |s| vec![s]);
            for candidate in path {
                if let Some((found, _)) = self.catalog().relation(txn, &candidate, &rel_name)? {
                    if found == id {
                        return Ok(true);
                    }
                    break;
                }
            }
        }
        Ok(false)
    }

    /// Follows a column rename in the views that read the table, as PostgreSQL's views
    /// (which store parsed references) do: references to the column take the new name, and
    /// a select item that was just the column keeps its output name with an alias. In a view
    /// over several relations only references qualified with the table's name are renamed.
    /// Rewrites the SQL stored with a table (defaults, generated columns, index expressions
    /// and predicates, CHECK constraints) with `f`, saving what changed.
    pub(super) fn map_table_exprs(
        &self,
        table: &Table,
        f: &dyn Fn(&str) -> Result<String>,
    ) -> Result<()> {
        let (catalog, txn) = (self.catalog(), self.ctx.txn);
        for (i, c) in table.columns.iter().enumerate().filter(|(_, c)| !c.dropped) {
            let map = |sql: &Option<String>| sql.as_deref().map(f).transpose();
            let (default, generated) = (map(&c.default)?, map(&c.generated)?);
            if default != c.default || generated != c.generated {
                let current = self.table(table.id)?;
                let column = Column { default, generated, ..current.columns[i].clone() };
                catalog.update_column(txn, &current, &c.name, column)?;
            }
        }
        for index in table.indexes.iter().filter(|i| i.computed()) {
            let mut mapped = index.clone();
            mapped.predicate = index.predicate.as_deref().map(f).transpose()?;
            for key in &mut mapped.keys {
                if let IndexKey::Expr(sql) = key {
                    *sql = f(sql)?;
                }
            }
            if mapped != *index {
                catalog.update_index(txn, &mapped)?;
            }
        }
        for c in &table.constraints {
            if let ConstraintKind::Check { expr } = &c.kind {
                let mapped = f(expr)?;
                if mapped != *expr {
                    let c =
                        Constraint { kind: ConstraintKind::Check { expr: mapped }, ..c.clone() };
                    catalog.replace_constraint(txn, table, &c)?;
                }
            }
        }
        Ok(())
    }

    /// The index REPLICA IDENTITY USING INDEX names, checked as PostgreSQL checks it: the
    /// table's, unique, on plain NOT NULL columns, not partial. Its oid.
    fn replica_identity_index(&self, table: &Table, name: &str) -> Result<RelId> {
        let not_usable = |why: &str| {
            errinput!(WRONG_OBJECT_TYPE, "cannot use {why} index \"{name}\" as replica identity")
        };
        let (id, columns) =
            if !table.primary_key.is_empty() && *name == format!("{}_pkey", table.name) {
                (crate::system::pkey_oid(table.id), table.primary_key.clone())
            } else {
                let index = table.indexes.iter().find(|i| i.name == name).ok_or_else(|| {
                    errinput!(
                        UNDEFINED_OBJECT,
                        "index \"{name}\" for table \"{}\" does not exist",
                        table.name
                    )
                })?;
                if !index.unique {
                    return Err(not_usable("non-unique"));
                }
                if index.predicate.is_some() {
                    return Err(not_usable("partial"));
                }
                let columns = index.plain_columns().ok_or_else(|| not_usable("expression"))?;
                (index.id, columns)
            };
        if let Some(c) = columns.iter().find(|&&c| !table.columns[c].not_null) {
            return Err(errinput!(
                WRONG_OBJECT_TYPE,
                "index \"{name}\" cannot be used as replica identity because column \"{}\" is nullable",
                table.columns[*c].name
            ));
        }
        Ok(id)
    }

    /// Follows a table's rename in the views and materialized views that read it, as
    /// PostgreSQL's (which store the table's oid) do: its name in FROM and as a column
    /// qualifier takes the new name.
    fn rename_table_in_views(&self, table: &Table, new: &str) -> Result<()> {
        let txn = self.ctx.txn;
        for (schema, view, id) in self.dependent_views(table.id)? {
            let Some(sql) = self.catalog().view(txn, &schema, &view)? else { continue };
            if let Some(rewritten) = renamed_relation_in_query(table, &sql, new) {
                self.catalog().set_view_definition(txn, id, &rewritten)?;
            }
        }
        for (_, _, id) in self.dependent_materialized_views(table.id)? {
            let Some(sql) = self.table(id)?.materialized else { continue };
            if let Some(rewritten) = renamed_relation_in_query(table, &sql, new) {
                self.catalog().set_materialized(txn, id, &rewritten)?;
            }
        }
        Ok(())
    }

    fn rename_column_in_views(&self, table: &Table, old: &str, new: &str) -> Result<()> {
        let txn = self.ctx.txn;
        for (schema, view, id) in self.dependent_views(table.id)? {
            let Some(sql) = self.catalog().view(txn, &schema, &view)? else { continue };
            if let Some(rewritten) = renamed_in_query(table, &sql, old, new) {
                self.catalog().set_view_definition(txn, id, &rewritten)?;
            }
        }
        // A materialized view's stored query follows too, so REFRESH still runs it.
        for (_, _, id) in self.dependent_materialized_views(table.id)? {
            let Some(sql) = self.table(id)?.materialized else { continue };
            if let Some(rewritten) = renamed_in_query(table, &sql, old, new) {
                self.catalog().set_materialized(txn, id, &rewritten)?;
            }
        }
        Ok(())
    }
}

/// A stored query with `table` renamed to `new` where it names it: in FROM (qualified
/// with its schema, or not) and as a column qualifier. None when nothing changed.
fn renamed_relation_in_query(table: &Table, sql: &str, new: &str) -> Option<String> {
    let Ok(mut statement) = crate::parse::parse_one(sql) else { return None };
    let plain = crate::functions::string::quote_identifier(new) == new;
    let new_ident = || if plain { ast::Ident::new(new) } else { ast::Ident::with_quote('"', new) };
    let _ = ast::visit_relations_mut(&mut statement, |r| {
        let named = match crate::bind::split_name(r) {
            Ok((Some(schema), name)) => schema == table.schema && name == table.name,
            Ok((None, name)) => name == table.name,
            Err(_) => false,
        };
        if named && let Some(last) = r.0.last_mut() {
            *last = ast::ObjectNamePart::Identifier(new_ident());
        }
        ControlFlow::<()>::Continue(())
    });
    let _ = ast::visit_expressions_mut(&mut statement, |e| {
        if let ast::Expr::CompoundIdentifier(parts) = e
            && parts.len() >= 2
        {
            let at = parts.len() - 2;
            if crate::bind::ident(&parts[at]) == table.name {
                parts[at] = new_ident();
            }
        }
        ControlFlow::<()>::Continue(())
    });
    let rewritten = statement.to_string();
    (rewritten != sql).then_some(rewritten)
}

/// A stored query with references to column `old` of `table` renamed to `new` (None when
/// nothing changed or it does not parse).
fn renamed_in_query(table: &Table, sql: &str, old: &str, new: &str) -> Option<String> {
    let Ok(mut statement) = crate::parse::parse_one(sql) else { return None };
    let mut relations = Vec::new();
    let _ = ast::visit_relations(&statement, |r| {
        relations.push(r.clone());
        ControlFlow::<()>::Continue(())
    });
    let only_this =
        relations.iter().all(|r| crate::bind::split_name(r).is_ok_and(|(_, n)| n == table.name));
    let ast::Statement::Query(query) = &mut statement else { return None };
    if only_this {
        keep_output_name(query, old, new);
    }
    let rename = |id: &mut ast::Ident| {
        if crate::bind::ident(id) == old {
            *id = ast::Ident::with_quote('"', new);
        }
    };
    let _ = ast::visit_expressions_mut(&mut statement, |e| {
        match e {
            ast::Expr::Identifier(id) if only_this => rename(id),
            ast::Expr::CompoundIdentifier(parts) => {
                let qualified_here =
                    parts.len() >= 2 && crate::bind::ident(&parts[parts.len() - 2]) == table.name;
                if (only_this || qualified_here)
                    && let Some(last) = parts.last_mut()
                {
                    rename(last);
                }
            }
            _ => {}
        }
        ControlFlow::<()>::Continue(())
    });
    let rewritten = statement.to_string();
    (rewritten != sql).then_some(rewritten)
}

impl Ddl<'_, '_> {
    /// Refuses to drop a column while a view of its table names it (or selects `*`), or
    /// with `cascade` drops those views. NB: found by name in the definitions, so a view
    /// naming a like-named column of another table it reads counts too (conservative).
    fn drop_views_reading_column(&self, table: &Table, column: &str, cascade: bool) -> Result<()> {
        for (schema, view, _) in self.dependent_views(table.id)? {
            let Some(sql) = self.catalog().view(self.ctx.txn, &schema, &view)? else { continue };
            let Ok(statement) = crate::parse::parse_one(&sql) else { continue };
            let mut reads = false;
            let _ = ast::visit_expressions(&statement, |e| {
                let named = match e {
                    ast::Expr::Identifier(id) => Some(id),
                    ast::Expr::CompoundIdentifier(parts) => parts.last(),
                    _ => None,
                };
                reads |= named.is_some_and(|id| crate::bind::ident(id) == column);
                ControlFlow::<()>::Continue(())
            });
            reads |= matches!(&statement, ast::Statement::Query(q) if selects_wildcard(q));
            if !reads {
                continue;
            }
            if !cascade {
                return Err(errinput!(
                    DEPENDENT_OBJECTS_STILL_EXIST,
                    "cannot drop column {column} of table {} because other objects depend on it",
                    table.name
                )
                .with_detail(format!(
                    "view {view} depends on column {column} of table {}",
                    table.name
                ))
                .with_hint("Use DROP ... CASCADE to drop the dependent objects too."));
            }
            let id = self
                .find_unchecked(&(Some(schema.clone()), view.clone()), RelKind::View)?
                .map(|(_, id)| id);
            if let Some(id) = id {
                self.drop_dependent_views(id, "view", &view, true, &HashSet::new())?;
            }
            self.notice(format!("drop cascades to view {view}"));
            self.catalog().drop_view(self.ctx.txn, &schema, &view)?;
        }
        Ok(())
    }

    /// Refuses to drop relation `id` while views read it, or with `cascade` drops them
    /// (and the views that read those) first. Views in `dropping` go anyway.
    fn drop_dependent_views(
        &self,
        id: RelId,
        noun: &str,
        name: &str,
        cascade: bool,
        dropping: &HashSet<RelId>,
    ) -> Result<()> {
        let views = self.dependent_views(id)?.into_iter().map(|v| (v, false));
        let materialized = self.dependent_materialized_views(id)?.into_iter().map(|v| (v, true));
        for ((schema, view, view_id), is_materialized) in views.chain(materialized) {
            if dropping.contains(&view_id) {
                continue;
            }
            let kind = if is_materialized { "materialized view" } else { "view" };
            if !cascade {
                return Err(errinput!(
                    DEPENDENT_OBJECTS_STILL_EXIST,
                    "cannot drop {noun} {name} because other objects depend on it"
                )
                .with_detail(format!("{kind} {view} depends on {noun} {name}"))
                .with_hint("Use DROP ... CASCADE to drop the dependent objects too."));
            }
            self.notice(format!("drop cascades to {kind} {view}"));
            // A dependent goes with what it depends on, whoever owns it, as in PostgreSQL.
            if is_materialized {
                let name = [(Some(schema), view)];
                self.cascade(|| self.drop_tables(&name, true, true, Some(true)))?;
            } else {
                self.drop_dependent_views(view_id, "view", &view, true, dropping)?;
                self.catalog().drop_view(self.ctx.txn, &schema, &view)?;
            }
        }
        Ok(())
    }

    fn drop_schemas(&self, names: &[String], if_exists: bool, cascade: bool) -> Result<()> {
        let ctx = self.ctx;
        for name in names {
            if name == "pg_catalog" || name == "information_schema" {
                return Err(errinput!(
                    DEPENDENT_OBJECTS_STILL_EXIST,
                    "cannot drop schema {name} because it is required by the database system"
                ));
            }
            let Some(id) = ctx.catalog.schema_id(ctx.txn, name)? else {
                if if_exists {
                    self.notice(format!("schema \"{name}\" does not exist, skipping"));
                    continue;
                }
                return Err(errinput!(INVALID_SCHEMA_NAME, "schema \"{name}\" does not exist"));
            };
            self.require_owner(&crate::privileges::AclObject::schema(id, name))?;
            // The schema's routines: they stop it, or go first under CASCADE (before the
            // types and tables their signatures may name).
            let routines: Vec<_> =
                ctx.catalog.routines(ctx.txn)?.into_iter().filter(|r| r.schema == *name).collect();
            if let Some(r) = routines.first()
                && !cascade
            {
                return Err(errinput!(
                    DEPENDENT_OBJECTS_STILL_EXIST,
                    "cannot drop schema {name} because other objects depend on it"
                )
                .with_detail(format!(
                    "{} {name}.{} depends on schema {name}",
                    r.kind.keyword().to_lowercase(),
                    r.signature()
                ))
                .with_hint("Use DROP ... CASCADE to drop the dependent objects too."));
            }
            for r in &routines {
                let noun = r.kind.keyword().to_lowercase();
                self.notice(format!("drop cascades to {noun} {name}.{}", r.signature()));
                let names = [(Some(name.clone()), r.name.clone())];
                self.cascade(|| {
                    super::routine::drop_routines(r.kind, &names, true, true, ctx, self.env)
                })?;
            }
            if cascade {
                let relations = ctx.catalog.relations_in_schema(ctx.txn, name)?;
                for (rel, _, kind) in &relations {
                    if *kind == RelKind::View {
                        ctx.catalog.drop_view(ctx.txn, name, rel)?;
                    }
                }
                let tables: Vec<Name> = relations
                    .iter()
                    .filter(|(_, _, k)| *k == RelKind::Table)
                    .map(|(n, _, _)| (Some(name.clone()), n.clone()))
                    .collect();
                if !tables.is_empty() {
                    self.cascade(|| self.drop_tables(&tables, true, true, None))?;
                }
                for (rel, id, kind) in ctx.catalog.relations_in_schema(ctx.txn, name)? {
                    if kind == RelKind::Sequence {
                        ctx.catalog.drop_sequence(ctx.txn, name, &rel)?;
                    }
                    if kind == RelKind::Type
                        && let Some(ty) = ctx.catalog.enum_by_id(ctx.txn, id)?
                    {
                        self.notice(format!("drop cascades to type {}", ty.name()));
                        self.drop_type(&ty, true)?;
                    }
                    if kind == RelKind::Composite
                        && let Some(ty) = ctx.catalog.composite_by_id(ctx.txn, id)?
                    {
                        let name = oxibase_common::value::type_sql_name(&ty.schema, &ty.name);
                        self.notice(format!("drop cascades to type {name}"));
                        self.drop_composite(&ty, true)?;
                    }
                }
            }
            ctx.txn.next_command()?;
            ctx.catalog.drop_schema(ctx.txn, name)?;
        }
        Ok(())
    }
}

/// A password as stored: a SCRAM verifier (one given already hashed is kept as is).
fn password_verifier(password: &str) -> String {
    if crate::auth::is_verifier(password) {
        password.to_string()
    } else {
        crate::auth::scram_verifier(password)
    }
}

/// The default of a SERIAL column, as PostgreSQL shows it: the name inside the literal is
/// quoted where SQL needs it (`nextval('"User_id_seq"'::regclass)`), so it reads back as
/// the sequence's own name.
fn nextval_default(seq: &Sequence) -> String {
    let name = match seq.schema.as_str() {
        "public" => quote_ident(&seq.name),
        schema => format!("{}.{}", quote_ident(schema), quote_ident(&seq.name)),
    };
    format!("nextval('{}'::regclass)", name.replace('\'', "''"))
}

/// A DEFAULT as PostgreSQL stores and shows it: a quoted literal carries its column's type
/// (`'x'::character varying`), anything else keeps its written form.
fn normalize_default(sql: &str, data_type: &DataType) -> String {
    let full = data_type.name();
    let base = full.split('(').next().unwrap_or(&full).trim().to_string();
    let string = |e: &ast::Expr| match e {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::SingleQuotedString(text) => Some(text.clone()),
            _ => None,
        },
        _ => None,
    };
    let text =
        match parse_expr(sql) {
            Ok(e @ ast::Expr::Value(_)) => string(&e),
            // Already normalised (`'x'::text`, as the catalog shows it): the same text again,
            // so a default read back and set again does not change.
            Ok(ast::Expr::Cast {
                kind: ast::CastKind::DoubleColon, expr, data_type: cast, ..
            }) if cast.to_string().eq_ignore_ascii_case(&base) => string(&expr),
            Ok(e) => return crate::parse::default_sql(&e),
            Err(_) => None,
        };
    match text {
        Some(text) => format!("'{}'::{base}", text.replace('\'', "''")),
        None => sql.trim().to_string(),
    }
}

/// A DEFAULT may not refer to columns or subqueries.
fn check_default(sql: &str) -> Result<()> {
    let expr = parse_expr(sql)?;
    let mut bad = None;
    let _ = ast::visit_expressions(&expr, |e| {
        match e {
            ast::Expr::Identifier(_) | ast::Expr::CompoundIdentifier(_) => {
                bad = Some("cannot use column reference in DEFAULT expression");
            }
            ast::Expr::Subquery(_)
            | ast::Expr::Exists { .. }
            | ast::Expr::In { target: ast::InTarget::Subquery(_), .. } => {
                bad = Some("cannot use subquery in DEFAULT expression");
            }
            _ => {}
        }
        ControlFlow::<()>::Continue(())
    });
    match bad {
        Some(message) => Err(errinput!(FEATURE_NOT_SUPPORTED, "{message}")),
        None => Ok(()),
    }
}

/// Renames a column in a stored expression.
fn rename_identifier(sql: &str, old: &str, new: &str) -> Result<String> {
    let mut expr = parse_expr(sql)?;
    let rename = |id: &mut ast::Ident| {
        if crate::bind::ident(id) == old {
            // Quoted only where a plain identifier would not read back as `new`.
            *id = if crate::functions::string::quote_identifier(new) == new {
                ast::Ident::new(new)
            } else {
                ast::Ident::with_quote('"', new)
            };
        }
    };
    let _ = ast::visit_expressions_mut(&mut expr, |e| {
        match e {
            ast::Expr::Identifier(id) => rename(id),
            ast::Expr::CompoundIdentifier(parts) => {
                if let Some(last) = parts.last_mut() {
                    rename(last);
                }
            }
            _ => {}
        }
        ControlFlow::<()>::Continue(())
    });
    Ok(expr.to_string())
}

/// Whether ALTER COLUMN TYPE may convert without USING (PostgreSQL allows implicit and
/// assignment casts; text to a non-text type needs USING).
fn assignment_castable(from: &DataType, to: &DataType) -> bool {
    use DataType::*;
    let texty = |t: &DataType| matches!(t, Text | Varchar(_) | Char(_) | Name);
    if from == to || implicit_cast_allowed(from, to) || texty(to) {
        return true;
    }
    let numeric = |t: &DataType| matches!(t, Int2 | Int4 | Int8 | Float4 | Float8 | Numeric(_));
    match (from, to) {
        (a, b) if numeric(a) && numeric(b) => true,
        (a, b) if texty(a) && texty(b) => true,
        (Timestamp(_) | TimestampTz(_), Date | Time(_) | Timestamp(_) | TimestampTz(_)) => true,
        (Json | Jsonb, Json | Jsonb) => true,
        _ => false,
    }
}

fn column_positions(table: &Table, names: &[String]) -> Result<Vec<usize>> {
    let mut out = Vec::with_capacity(names.len());
    for n in names {
        let p = table.column_index(n).ok_or_else(|| {
            errinput!(UNDEFINED_COLUMN, "column \"{n}\" named in key does not exist")
        })?;
        if out.contains(&p) {
            return Err(errinput!(DUPLICATE_COLUMN, "column \"{n}\" appears twice in key"));
        }
        out.push(p);
    }
    Ok(out)
}

fn require_column(table: &Table, name: &str) -> Result<usize> {
    table.column_index(name).ok_or_else(|| {
        errinput!(
            UNDEFINED_COLUMN,
            "column \"{name}\" of relation \"{}\" does not exist",
            table.name
        )
    })
}

fn sorted_eq(a: &[usize], b: &[usize]) -> bool {
    let (mut x, mut y) = (a.to_vec(), b.to_vec());
    x.sort_unstable();
    y.sort_unstable();
    x == y
}

fn key_detail(table: &Table, columns: &[usize], row: &[Value], ctx: &ExecCtx) -> String {
    let names: Vec<&str> = columns.iter().map(|&c| table.columns[c].name.as_str()).collect();
    let values: Vec<String> = columns
        .iter()
        .map(|&c| format_value(&row[c], ctx.session.zone()).unwrap_or_else(|| "null".into()))
        .collect();
    format!("Key ({})=({})", names.join(", "), values.join(", "))
}

fn display(name: &Name) -> String {
    match &name.0 {
        Some(s) => format!("{s}.{}", name.1),
        None => name.1.clone(),
    }
}

pub use oxibase_common::value::quote_ident;

/// True when a query (or a set operation or derived table in it) selects `*` or `t.*`.
fn selects_wildcard(query: &ast::Query) -> bool {
    fn set_expr(e: &ast::SetExpr) -> bool {
        match e {
            ast::SetExpr::Select(select) => {
                select.projection.iter().any(|item| {
                    matches!(
                        item,
                        ast::SelectItem::Wildcard(_) | ast::SelectItem::QualifiedWildcard(..)
                    )
                }) || select.from.iter().any(|t| {
                    std::iter::once(&t.relation).chain(t.joins.iter().map(|j| &j.relation)).any(
                        |r| matches!(r, ast::TableFactor::Derived { subquery, .. } if selects_wildcard(subquery)),
                    )
                })
            }
            ast::SetExpr::Query(q) => selects_wildcard(q),
            ast::SetExpr::SetOperation { left, right, .. } => set_expr(left) || set_expr(right),
            _ => false,
        }
    }
    set_expr(&query.body)
}

/// In a view's query, a select item that is just the renamed column becomes `new AS old`,
/// so the view's output column keeps its name.
fn keep_output_name(query: &mut ast::Query, old: &str, new: &str) {
    fn set_expr(e: &mut ast::SetExpr, old: &str, new: &str) {
        match e {
            ast::SetExpr::Select(select) => {
                for item in &mut select.projection {
                    if let ast::SelectItem::UnnamedExpr(ast::Expr::Identifier(id)) = item
                        && crate::bind::ident(id) == old
                    {
                        *item = ast::SelectItem::ExprWithAlias {
                            expr: ast::Expr::Identifier(ast::Ident::with_quote('"', new)),
                            alias: ast::Ident::with_quote('"', old),
                        };
                    }
                }
            }
            ast::SetExpr::Query(q) => set_expr(&mut q.body, old, new),
            ast::SetExpr::SetOperation { left, .. } => set_expr(left, old, new),
            _ => {}
        }
    }
    set_expr(&mut query.body, old, new);
}

/// Whether an expression calls only immutable functions and runs no subquery (what a
/// stored expression may compute: the same inputs always give the same value).
fn immutable(expr: &crate::plan::Expr) -> bool {
    let mut mutable = false;
    expr.walk(&mut |e| match e {
        crate::plan::Expr::Call(f, _) if !f.immutable => mutable = true,
        crate::plan::Expr::Routine(r, _) if r.volatility != 'i' => mutable = true,
        crate::plan::Expr::Subquery { .. } => mutable = true,
        _ => {}
    });
    !mutable
}

impl Ddl<'_, '_> {
    /// An expression stored with a table bound over its row, calling stored functions the
    /// statement's environment finds (see [`crate::bind::bind_table_expr_env`]).
    fn bind_stored(
        &self,
        table: &Table,
        sql: &str,
        clause: &'static str,
    ) -> Result<(crate::plan::Expr, DataType)> {
        crate::bind::bind_table_expr_env(table, sql, clause, Some(self.env))
    }

    /// Checks an index expression or predicate as PostgreSQL does: it binds over the table
    /// and calls only immutable functions (42P17). Returns its type.
    fn check_index_expr(
        &self,
        table: &Table,
        sql: &str,
        clause: &'static str,
        what: &str,
    ) -> Result<DataType> {
        let (expr, ty) = self.bind_stored(table, sql, clause)?;
        if !immutable(&expr) {
            return Err(errinput!(
                INVALID_OBJECT_DEFINITION,
                "functions in {what} must be marked IMMUTABLE"
            ));
        }
        Ok(ty)
    }

    /// Checks a column's generation expression as PostgreSQL does (42P17): it reads no
    /// other generated column and calls only immutable functions.
    fn check_generated(&self, table: &Table, position: usize) -> Result<()> {
        let Some(sql) = &table.columns[position].generated else { return Ok(()) };
        let expr = self.bind_stored(table, sql, "CHECK")?.0;
        for c in expr.columns() {
            if table.columns[c].generated.is_some() {
                return Err(errinput!(
                    INVALID_OBJECT_DEFINITION,
                    "cannot use generated column \"{}\" in column generation expression",
                    table.columns[c].name
                )
                .with_detail("A generated column cannot reference another generated column."));
            }
        }
        if !immutable(&expr) {
            return Err(errinput!(
                INVALID_OBJECT_DEFINITION,
                "generation expression is not immutable"
            ));
        }
        Ok(())
    }
}

/// A GIN index's key part: a tsvector, an array or jsonb (the types with a default GIN
/// operator class), in no order.
fn check_inverted_key(ty: &DataType, order: ColumnOrder) -> Result<()> {
    if order != ColumnOrder::ASC {
        return Err(errinput!(
            FEATURE_NOT_SUPPORTED,
            "access method \"gin\" does not support ASC/DESC options"
        ));
    }
    if !matches!(ty, DataType::TsVector | DataType::Array(_) | DataType::Jsonb) {
        return Err(errinput!(
            UNDEFINED_OBJECT,
            "data type {} has no default operator class for access method \"gin\"",
            ty.name()
        )
        .with_hint(
            "You must specify an operator class for the index or define a default operator \
             class for the data type.",
        ));
    }
    Ok(())
}

/// The part of a generated index name a key part gives (PostgreSQL's): a column's name, a
/// function call's name, else `expr`.
fn name_part(part: &IndexPart) -> String {
    match part {
        IndexPart::Column(name) => name.clone(),
        IndexPart::Expr(sql) => match parse_expr(sql) {
            Ok(ast::Expr::Function(f)) => {
                f.name.0.last().map_or("expr".into(), |p| p.to_string().to_lowercase())
            }
            _ => "expr".into(),
        },
    }
}

/// 2BP01: a column another object depends on, dropped without CASCADE.
fn column_in_use(name: &str, table: &Table, dependent: &str) -> oxibase_common::Error {
    errinput!(
        DEPENDENT_OBJECTS_STILL_EXIST,
        "cannot drop column {name} of table {} because other objects depend on it",
        table.name
    )
    .with_detail(format!("{dependent} depends on column {name} of table {}", table.name))
    .with_hint("Use DROP ... CASCADE to drop the dependent objects too.")
}
