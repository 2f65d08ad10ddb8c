//! The binder: from parsed SQL to plans.
//!
//! ```text
//!   sqlparser AST ──bind──► Statement { Query(Plan) | Insert | Update | Delete | DDL | ... }
//!                  names  → column positions (through scopes, outer scopes for subqueries)
//!                  types  → checked and coerced (implicit casts made explicit)
//!                  calls  → resolved functions, aggregates, window functions
//! ```
//!
//! The binder reads the catalog through [`BindEnv`], so it sees exactly what the statement's
//! transaction sees (a table created earlier in the same transaction, not one created by an
//! uncommitted other transaction).

mod ddl;
mod dml;
mod domain;
mod expr;
pub mod grant;
mod merge;
mod query;
mod routine;
mod row_security;
pub mod scope;
mod trigger;
mod updatable_view;
pub(crate) use updatable_view::is_updatable as view_is_updatable;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::sync::Arc;

use oxibase_common::{DataType, Result, SqlState, Value, errinput};
use sqlparser::ast;

use crate::catalog::{Sequence, Table};
use crate::plan::{Column, Expr, Plan};
use crate::system::SystemTable;
pub use ddl::{
    AlterAction, AlterTypeAction, AttributeAction, ColumnSpec, CommentTarget, ConstraintSpec,
    CreateIndex, CreateTable, DdlStatement, ForeignKeySpec, IndexPart, ReferentialAction, RoleSpec,
    SequenceSpec, data_type, data_type_with,
};
pub use dml::{Delete, Insert, OnConflict, Returning, Update};
pub use domain::{AlterDomainAction, DomainSpec};
pub(crate) use expr::fold_cast;
pub use expr::split_relation_name;
pub use merge::{Merge, MergeAction, MergeClause};
pub use routine::RoutineSpec;
use scope::Scope;
pub use trigger::TriggerSpec;

/// A relation a name can refer to.
#[derive(Clone, Debug)]
pub enum Relation {
    /// A table.
    Table(Arc<Table>),
    /// A view: its defining query and column names.
    View {
        /// Its id.
        id: crate::keys::RelId,
        /// Schema.
        schema: String,
        /// Name.
        name: String,
        /// The SELECT text.
        sql: String,
        /// WITH CHECK OPTION: 0 none, 1 LOCAL, 2 CASCADED.
        check_option: u8,
    },
    /// A sequence.
    Sequence(Sequence),
    /// A built-in catalog view (pg_catalog, information_schema).
    System(SystemTable),
}

/// What the binder needs from the session: catalog lookups in the statement's transaction.
pub trait BindEnv {
    /// Looks up a relation by optional schema and name, following the search path.
    fn relation(&self, schema: Option<&str>, name: &str) -> Result<Option<Relation>>;
    /// The schema new objects go into (the first of the search path that exists).
    fn creation_schema(&self) -> Result<String>;
    /// The session's schema for temporary tables (`pg_temp_<pid>`), which goes first on the
    /// search path from now on; it is dropped with everything in it when the session ends.
    fn temp_schema(&self) -> Result<String> {
        Err(errinput!(FEATURE_NOT_SUPPORTED, "temporary tables are not supported here"))
    }
    /// The schemas searched for unqualified names, in order.
    fn search_path(&self) -> Vec<String> {
        vec!["pg_catalog".into(), "public".into()]
    }
    /// Looks up a stored function or procedure by optional schema and name, following the
    /// search path.
    fn routine(
        &self,
        _schema: Option<&str>,
        _name: &str,
    ) -> Result<Option<Arc<crate::procedure::Routine>>> {
        Ok(None)
    }
    /// Looks up an enum type by optional schema and name, following the search path.
    fn enum_type(
        &self,
        _schema: Option<&str>,
        _name: &str,
    ) -> Result<Option<Arc<oxibase_common::EnumType>>> {
        Ok(None)
    }
    /// Looks up a composite type by optional schema and name, following the search path.
    fn composite_type(
        &self,
        _schema: Option<&str>,
        _name: &str,
    ) -> Result<Option<Arc<oxibase_common::RecordType>>> {
        Ok(None)
    }
    /// Looks up a domain by optional schema and name, following the search path.
    fn domain(
        &self,
        _schema: Option<&str>,
        _name: &str,
    ) -> Result<Option<Arc<crate::catalog::Domain>>> {
        Ok(None)
    }
    /// The database connected to, which a three-part name may name.
    fn database(&self) -> Option<String> {
        None
    }
    /// The roles, memberships and ACLs privilege checks read (see [`crate::privileges`]).
    fn access(&self) -> Result<Arc<crate::catalog::acl::RoleGraph>> {
        crate::privileges::bootstrap_access()
    }
    /// An object's owner and ACL (the bootstrap superuser's and the defaults where it has
    /// none of its own).
    fn object_acl(
        &self,
        _kind: crate::catalog::acl::ObjectKind,
        _id: crate::keys::RelId,
    ) -> Result<crate::catalog::acl::Acl> {
        Ok(crate::catalog::acl::Acl::owned_by(crate::catalog::system::BOOTSTRAP_ROLE_ID))
    }
    /// The role privileges are checked for (`current_user`).
    fn current_role(&self) -> String {
        crate::catalog::system::BOOTSTRAP_ROLE.into()
    }
    /// A setting's current value (a routine's `SET ... FROM CURRENT`).
    fn setting(&self, _name: &str) -> Result<Option<String>> {
        Ok(None)
    }
    /// The session's user (`session_user`).
    fn session_user(&self) -> String {
        self.current_role()
    }
    /// The oid of a relation of any kind (`'name'::regclass`).
    fn relation_oid(&self, schema: Option<&str>, name: &str) -> Result<Option<i64>> {
        Ok(match self.relation(schema, name)? {
            Some(Relation::Table(t)) => Some(t.id as i64),
            Some(Relation::Sequence(s)) => Some(s.id as i64),
            _ => None,
        })
    }
}

/// A bound statement.
#[derive(Debug)]
pub enum Statement {
    /// A query returning rows.
    Query(Plan),
    /// INSERT
    Insert(Box<Insert>),
    /// UPDATE
    Update(Box<Update>),
    /// DELETE
    Delete(Box<Delete>),
    /// MERGE
    Merge(Box<Merge>),
    /// A schema change.
    Ddl(DdlStatement),
    /// BEGIN / START TRANSACTION
    Begin {
        /// ISOLATION LEVEL, if given.
        isolation: Option<oxibase_mvcc::Isolation>,
        /// READ ONLY / READ WRITE, if given.
        read_only: Option<bool>,
    },
    /// LOCK TABLE: the tables' catalog rows, FOR UPDATE (modes from SHARE UPDATE EXCLUSIVE
    /// up, which keep writers and schema changes out) or FOR KEY SHARE (the weaker modes,
    /// which keep schema changes out), until the transaction ends.
    LockTables {
        /// The tables.
        tables: Vec<Arc<Table>>,
        /// A mode that excludes writers.
        exclusive: bool,
        /// NOWAIT: fail at once (55P03) instead of waiting.
        nowait: bool,
    },
    /// SET SESSION CHARACTERISTICS AS TRANSACTION ...: the session's defaults.
    SetSessionCharacteristics {
        /// ISOLATION LEVEL, if given.
        isolation: Option<oxibase_mvcc::Isolation>,
        /// READ ONLY / READ WRITE, if given.
        read_only: Option<bool>,
    },
    /// SET TRANSACTION inside a transaction.
    SetTransaction {
        /// ISOLATION LEVEL, if given.
        isolation: Option<oxibase_mvcc::Isolation>,
        /// READ ONLY / READ WRITE, if given.
        read_only: Option<bool>,
        /// SNAPSHOT 'id': another transaction's snapshot (`pg_export_snapshot()`), which
        /// parallel pg_dump workers share.
        snapshot: Option<String>,
    },
    /// COMMIT [AND CHAIN]
    Commit {
        /// AND CHAIN: a new transaction block starts at once, with the same isolation
        /// level and access mode.
        chain: bool,
    },
    /// ROLLBACK [AND CHAIN]
    Rollback {
        /// AND CHAIN (as for COMMIT).
        chain: bool,
    },
    /// SAVEPOINT name
    Savepoint(String),
    /// RELEASE [SAVEPOINT] name
    Release(String),
    /// ROLLBACK TO [SAVEPOINT] name
    RollbackTo(String),
    /// SET name = value (None: DEFAULT); `local` for SET LOCAL.
    Set {
        /// The setting.
        name: String,
        /// Its new value.
        value: Option<String>,
        /// SET LOCAL.
        local: bool,
    },
    /// SET CONSTRAINTS { ALL | names } { DEFERRED | IMMEDIATE }: no names for ALL.
    SetConstraints {
        /// The constraints, (schema, name).
        names: Vec<(Option<String>, String)>,
        /// DEFERRED (else IMMEDIATE).
        deferred: bool,
    },
    /// SHOW name (or ALL)
    Show(String),
    /// RESET name (or ALL)
    Reset(String),
    /// EXPLAIN [ANALYZE] statement
    Explain {
        /// The explained statement.
        statement: Box<Statement>,
        /// Run it and report actual rows and times.
        analyze: bool,
    },
    /// COPY table FROM STDIN / TO STDOUT
    Copy(Box<CopyStatement>),
    /// ANALYZE [table]
    Analyze(Option<Arc<Table>>),
    /// VACUUM: collect old row versions now.
    Vacuum,
    /// CHECKPOINT: flush the storage engine and truncate the write-ahead log.
    Checkpoint,
    /// CALL procedure(args)
    Call {
        /// The procedure.
        routine: Arc<crate::procedure::Routine>,
        /// Its arguments, cast to the declared types.
        args: Vec<Expr>,
    },
    /// A statement with nothing to do (an empty query, DISCARD, ...); the tag is reported.
    Noop(String),
}

/// COPY between a table (or query) and the client.
#[derive(Debug)]
pub struct CopyStatement {
    /// The table for COPY FROM; also COPY TO of a table.
    pub table: Option<Arc<Table>>,
    /// COPY FROM into a table under row-level security: the WITH CHECK each row must pass.
    pub row_check: Option<Expr>,
    /// The column positions copied (COPY FROM) .
    pub columns: Vec<usize>,
    /// The query for COPY TO.
    pub query: Option<Plan>,
    /// FROM (true) or TO (false).
    pub from: bool,
    /// CSV (true) or text format.
    pub csv: bool,
    /// PostgreSQL's binary COPY format (COPY FROM STDIN only; the server decodes it).
    pub binary: bool,
    /// HEADER
    pub header: bool,
    /// The delimiter.
    pub delimiter: char,
    /// The NULL string.
    pub null: String,
    /// The quote character (CSV).
    pub quote: char,
    /// The escape character (CSV).
    pub escape: char,
    /// A file path (COPY ... FROM/TO 'file'), rejected unless allowed.
    pub file: Option<String>,
}

/// A named common table expression visible to a query.
/// A data-modifying CTE: its id and its `Modify` plan.
type ModifyingCte = (usize, Arc<Plan>);

#[derive(Clone, Debug)]
struct Cte {
    id: usize,
    plan: Option<Arc<Plan>>,
    columns: Vec<Column>,
}

/// A view a statement writes through.
struct TargetView {
    id: crate::keys::RelId,
    name: String,
    sql: String,
    /// WITH CHECK OPTION: 0 none, 1 LOCAL, 2 CASCADED.
    check_option: u8,
}

/// Binds statements against an environment. One binder per statement.
pub struct Binder<'a> {
    env: &'a dyn BindEnv,
    /// Types of `$n` parameters: given by the client or inferred from use.
    params: RefCell<Vec<Option<DataType>>>,
    /// Scopes of enclosing queries (innermost last), for correlated references.
    outer: RefCell<Vec<Scope>>,
    /// Set when a correlated reference was bound at each outer depth (innermost last).
    correlated: RefCell<Vec<bool>>,
    /// CTEs by name, innermost WITH last.
    ctes: RefCell<Vec<HashMap<String, Cte>>>,
    /// Per WITH being bound, its data-modifying CTEs (id and `Modify` plan), run first.
    modifying_ctes: RefCell<Vec<Vec<ModifyingCte>>>,
    /// Depth of queries being bound (a data-modifying CTE must be at the top level).
    query_depth: std::cell::Cell<usize>,
    next_id: Cell<usize>,
    /// Views being expanded (to refuse a view that refers to itself).
    expanding: RefCell<Vec<String>>,
    /// The WINDOW clauses of the SELECTs being bound, innermost last.
    named_windows: RefCell<Vec<Vec<ast::NamedWindowDefinition>>>,
    /// A statement of a routine written in SQL: the names of its parameters `$1`, `$2`,
    /// ..., which they have where no column has the name.
    scope: Option<&'a crate::procedure::Scope>,
    /// The owners of the views being expanded, innermost last: a view's query reads its
    /// relations with its owner's privileges, as in PostgreSQL.
    check_as: RefCell<Vec<crate::keys::RelId>>,
}

impl<'a> Binder<'a> {
    /// A binder; `param_types` are the types the client declared for `$1`, `$2`, ...
    pub fn new(env: &'a dyn BindEnv, param_types: Vec<Option<DataType>>) -> Self {
        Binder {
            env,
            params: RefCell::new(param_types),
            outer: RefCell::new(Vec::new()),
            correlated: RefCell::new(Vec::new()),
            ctes: RefCell::new(Vec::new()),
            modifying_ctes: RefCell::new(Vec::new()),
            query_depth: std::cell::Cell::new(0),
            next_id: Cell::new(0),
            expanding: RefCell::new(Vec::new()),
            named_windows: RefCell::new(Vec::new()),
            scope: None,
            check_as: RefCell::new(Vec::new()),
        }
    }

    /// Checks that the current role (or, inside a view, the view's owner) holds every
    /// privilege of `wanted` on the object (42501 if not).
    fn require(
        &self,
        object: crate::privileges::AclObject,
        wanted: crate::catalog::acl::Privileges,
    ) -> Result<()> {
        let as_role = self.check_as.borrow().last().copied();
        crate::privileges::check(self.env, &object, wanted, false, as_role)
    }

    /// [`Binder::require`] for a table (or materialized view).
    fn require_table(&self, table: &Table, wanted: crate::catalog::acl::Privileges) -> Result<()> {
        let label = if table.materialized.is_some() { "materialized view" } else { "table" };
        self.require(crate::privileges::AclObject::relation(table.id, label, &table.name), wanted)
    }

    /// EXECUTE on a stored routine.
    fn require_execute(&self, routine: &crate::procedure::Routine) -> Result<()> {
        let procedure = routine.kind == crate::procedure::RoutineKind::Procedure;
        let object = crate::privileges::AclObject::routine(routine.id, procedure, &routine.name);
        self.require(object, crate::catalog::acl::EXECUTE)
    }

    /// Runs `f` with a view's owner as the role whose privileges the relations it reads are
    /// checked for.
    fn as_view_owner<T>(
        &self,
        view: crate::keys::RelId,
        f: impl FnOnce() -> Result<T>,
    ) -> Result<T> {
        let owner =
            crate::privileges::owner_of(self.env, crate::catalog::acl::ObjectKind::Table, view)?;
        self.check_as.borrow_mut().push(owner);
        let result = f();
        self.check_as.borrow_mut().pop();
        result
    }

    /// A binder for a statement of a routine written in SQL: the scope names its
    /// parameters (`arg`, `routine.arg`, a PL/pgSQL variable or record field).
    pub fn in_scope(mut self, scope: &'a crate::procedure::Scope) -> Self {
        self.scope = Some(scope);
        self
    }

    /// PL/pgSQL's `variable_conflict = error`: a name that is both a column here and a
    /// variable in scope is refused (LANGUAGE sql lets the column win).
    fn refuse_ambiguous_variable(&self, qualifier: Option<&str>, name: &str) -> Result<()> {
        match self.scope {
            Some(scope) if scope.names_conflict && scope.position(qualifier, name).is_some() => {
                let name = qualifier.map_or(name.to_string(), |q| format!("{q}.{name}"));
                Err(errinput!(AMBIGUOUS_COLUMN, "column reference \"{name}\" is ambiguous")
                    .with_detail("It could refer to either a PL/pgSQL variable or a table column."))
            }
            _ => Ok(()),
        }
    }

    /// The parameter a routine argument's or variable's name refers to, if it names one.
    fn routine_arg(&self, qualifier: Option<&str>, name: &str) -> Option<usize> {
        self.scope?.position(qualifier, name)
    }

    /// A user-defined type by name, for [`ddl::data_type_with`].
    /// A table's name is also its row type (`null::t`, `jsonb_populate_record(null::t, ...)`),
    /// here a record of its columns.
    fn user_type(&self, schema: Option<&str>, name: &str) -> Result<Option<DataType>> {
        if let Some(e) = self.env.enum_type(schema, name)? {
            return Ok(Some(DataType::Enum(e)));
        }
        if let Some(d) = self.env.domain(schema, name)? {
            return Ok(Some(d.base.clone()));
        }
        if let Some(c) = self.env.composite_type(schema, name)? {
            return Ok(Some(DataType::Record(c)));
        }
        // Where relations cannot be named (a stored CHECK or default), neither can their
        // types: that lookup's refusal means "no such type" here.
        Ok(match self.env.relation(schema, name).unwrap_or(None) {
            Some(Relation::Table(t)) => {
                Some(DataType::Record(Arc::new(crate::catalog::row_type(&t))))
            }
            _ => None,
        })
    }

    /// Converts a SQL type name, user-defined types included (a domain converts to its
    /// base type; see [`Binder::domain_of`]).
    fn data_type(&self, t: &ast::DataType) -> Result<DataType> {
        self.refuse_domain_array(t)?;
        ddl::data_type_with(t, &|s, n| self.user_type(s, n))
    }

    /// The domain a type name names, if it names one (built-in names come first, as
    /// `pg_catalog` is searched first).
    fn domain_of(&self, t: &ast::DataType) -> Result<Option<Arc<crate::catalog::Domain>>> {
        let ast::DataType::Custom(name, modifiers) = t else { return Ok(None) };
        if ddl::data_type(t).is_ok() {
            return Ok(None);
        }
        let (schema, base) = split_name(name)?;
        let domain = self.env.domain(schema.as_deref(), &base)?;
        if domain.is_some() && !modifiers.is_empty() {
            return Err(errinput!(
                SYNTAX_ERROR,
                "type modifier is not allowed for type \"{}\"",
                base
            ));
        }
        Ok(domain)
    }

    /// Arrays of domains would store values their element checks never saw: refused.
    fn refuse_domain_array(&self, t: &ast::DataType) -> Result<()> {
        if let ast::DataType::Array(
            ast::ArrayElemTypeDef::SquareBracket(inner, _)
            | ast::ArrayElemTypeDef::AngleBracket(inner)
            | ast::ArrayElemTypeDef::Parenthesis(inner),
        ) = t
            && let Some(d) = self.domain_of(inner)?
        {
            return Err(errinput!(
                FEATURE_NOT_SUPPORTED,
                "arrays of domains are not supported (domain {})",
                d.sql_name()
            ));
        }
        Ok(())
    }

    /// The parameter types after binding (unknown ones default to text).
    pub fn param_types(&self) -> Vec<DataType> {
        self.params.borrow().iter().map(|t| t.clone().unwrap_or(DataType::Text)).collect()
    }

    /// A window defined in the WINDOW clause of the SELECT being bound.
    fn named_window(&self, name: &str) -> Result<ast::WindowSpec> {
        let frames = self.named_windows.borrow();
        let defs = frames.last().map(Vec::as_slice).unwrap_or_default();
        let mut current = name.to_string();
        for _ in 0..=defs.len() {
            let def = defs
                .iter()
                .find(|d| ident(&d.0) == current)
                .ok_or_else(|| errinput!(UNDEFINED_OBJECT, "window \"{name}\" does not exist"))?;
            match &def.1 {
                ast::NamedWindowExpr::WindowSpec(spec) => return Ok(spec.clone()),
                ast::NamedWindowExpr::NamedWindow(other) => current = ident(other),
            }
        }
        Err(errinput!(WINDOWING_ERROR, "window \"{name}\" refers to itself"))
    }

    fn next_id(&self) -> usize {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        id
    }

    /// Binds one statement.
    pub fn bind(&self, statement: &ast::Statement) -> Result<Statement> {
        use ast::Statement as S;
        Ok(match statement {
            S::Query(query)
                if matches!(
                    &*query.body,
                    ast::SetExpr::Insert(_) | ast::SetExpr::Update(_) | ast::SetExpr::Delete(_)
                ) =>
            {
                self.bind_with_modify(query)?
            }
            S::Query(query) => {
                let plan = self.bind_query(query)?;
                refuse_deep_output(&plan)?;
                Statement::Query(self.regclass_names(query, plan)?)
            }
            S::Insert(insert) => Statement::Insert(Box::new(self.bind_insert(insert)?)),
            S::Update(update) => Statement::Update(Box::new(self.bind_update(update)?)),
            S::Delete(delete) => Statement::Delete(Box::new(self.bind_delete(delete)?)),
            S::Merge(merge) => Statement::Merge(Box::new(self.bind_merge(merge)?)),
            S::StartTransaction { modes, .. } => {
                let (isolation, read_only) = transaction_modes(modes)?;
                Statement::Begin { isolation, read_only }
            }
            S::Commit { chain, .. } => Statement::Commit { chain: *chain },
            S::Rollback { chain, savepoint: None } => Statement::Rollback { chain: *chain },
            S::Rollback { savepoint: Some(name), .. } => {
                Statement::RollbackTo(name.value.to_lowercase())
            }
            S::Savepoint { name } => Statement::Savepoint(name.value.to_lowercase()),
            S::ReleaseSavepoint { name } => Statement::Release(name.value.to_lowercase()),
            S::Set(set) => self.bind_set(set)?,
            S::ShowVariable { variable } => {
                let name =
                    variable.iter().map(|i| i.value.to_lowercase()).collect::<Vec<_>>().join(" ");
                Statement::Show(normalize_setting(&name))
            }
            S::Explain { statement, analyze, .. } => {
                Statement::Explain { statement: Box::new(self.bind(statement)?), analyze: *analyze }
            }
            S::Copy { source, to, target, options, legacy_options, .. } => Statement::Copy(
                Box::new(self.bind_copy(source, *to, target, options, legacy_options)?),
            ),
            S::Analyze(analyze) => {
                let table = match &analyze.table_name {
                    Some(name) => Some(self.table(name)?),
                    None => None,
                };
                Statement::Analyze(table)
            }
            S::Discard { object_type } => Statement::Noop(
                match object_type {
                    ast::DiscardObject::ALL => "DISCARD ALL",
                    ast::DiscardObject::PLANS => "DISCARD PLANS",
                    ast::DiscardObject::SEQUENCES => "DISCARD SEQUENCES",
                    ast::DiscardObject::TEMP => "DISCARD TEMP",
                }
                .into(),
            ),
            S::Vacuum(v) if crate::parse::is_checkpoint_statement(v) => Statement::Checkpoint,
            S::Vacuum(v) => {
                if let Some(name) = &v.table_name {
                    self.table(name)?;
                }
                Statement::Vacuum
            }
            S::Call(f) => self.bind_call(f)?,
            S::Deallocate { name, .. } => Statement::Noop(format!("DEALLOCATE {}", name.value)),
            S::Lock(lock) => {
                use crate::catalog::acl::{DELETE, INSERT, SELECT, TRUNCATE, UPDATE};
                use ast::LockTableMode as M;
                let tables =
                    lock.tables.iter().map(|t| self.table(&t.name)).collect::<Result<Vec<_>>>()?;
                let exclusive =
                    !matches!(lock.lock_mode, Some(M::AccessShare | M::RowShare | M::RowExclusive));
                // PostgreSQL's rule: ACCESS SHARE takes SELECT, ROW EXCLUSIVE one of the
                // writing privileges, stronger modes UPDATE, DELETE or TRUNCATE.
                let wanted = match lock.lock_mode {
                    Some(M::AccessShare) => SELECT,
                    Some(M::RowExclusive) => INSERT | UPDATE | DELETE | TRUNCATE,
                    _ => UPDATE | DELETE | TRUNCATE,
                };
                for t in &tables {
                    let label =
                        if t.materialized.is_some() { "materialized view" } else { "table" };
                    let object = crate::privileges::AclObject::relation(t.id, label, &t.name);
                    let as_role = self.check_as.borrow().last().copied();
                    crate::privileges::check(self.env, &object, wanted, true, as_role)?;
                }
                Statement::LockTables { tables, exclusive, nowait: lock.nowait }
            }
            other => match self.bind_ddl(other)? {
                Some(ddl) => Statement::Ddl(ddl),
                None => {
                    let text = other.to_string();
                    let word = text.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
                    return Err(errinput!(FEATURE_NOT_SUPPORTED, "{word} is not supported"));
                }
            },
        })
    }

    /// A table a statement writes, with the privilege it takes: not a materialized view
    /// (42809: only REFRESH changes one).
    fn write_target(
        &self,
        name: &ast::ObjectName,
        wanted: crate::catalog::acl::Privileges,
    ) -> Result<Arc<Table>> {
        let table = self.table(name)?;
        self.require_table(&table, wanted)?;
        if table.materialized.is_some() {
            return Err(errinput!(
                WRONG_OBJECT_TYPE,
                "cannot change materialized view \"{}\"",
                table.name
            ));
        }
        Ok(table)
    }

    /// The view a statement names as its target, if it is one.
    fn target_view(&self, name: &ast::ObjectName) -> Result<Option<TargetView>> {
        let (schema, table) = split_name(name)?;
        Ok(match self.env.relation(schema.as_deref(), &table)? {
            Some(Relation::View { id, name, sql, check_option, .. }) => {
                Some(TargetView { id, name, sql, check_option })
            }
            _ => None,
        })
    }

    /// A write through a view: the current role needs `wanted` on the view, and the
    /// rewritten statement on the view's table is checked for the view's owner.
    fn through_view<T>(
        &self,
        (id, name): (crate::keys::RelId, &str),
        wanted: crate::catalog::acl::Privileges,
        bind: impl FnOnce() -> Result<T>,
    ) -> Result<T> {
        self.require(crate::privileges::AclObject::relation(id, "view", name), wanted)?;
        self.as_view_owner(id, bind)
    }

    /// Looks up a table by a possibly qualified name (42P01 if missing or not a table).
    fn table(&self, name: &ast::ObjectName) -> Result<Arc<Table>> {
        let (schema, table) = split_name(name)?;
        match self.env.relation(schema.as_deref(), &table)? {
            Some(Relation::Table(t)) => Ok(t),
            Some(_) => Err(errinput!(WRONG_OBJECT_TYPE, "\"{table}\" is not a table")),
            None => Err(errinput!(
                UNDEFINED_TABLE,
                "relation \"{}\" does not exist",
                display_name(name)
            )),
        }
    }

    fn bind_set(&self, set: &ast::Set) -> Result<Statement> {
        use ast::Set as S;
        Ok(match set {
            S::SingleAssignment { variable, values, .. }
                if variable.to_string() == crate::parse::SET_CONSTRAINTS_MARK =>
            {
                let deferred = matches!(values.first(), Some(ast::Expr::Identifier(m)) if m.value == "deferred");
                let names = values[1..]
                    .iter()
                    .map(|v| match v {
                        ast::Expr::CompoundIdentifier(parts) => match parts.as_slice() {
                            [name] => Ok((None, ident(name))),
                            [schema, name] => Ok((Some(ident(schema)), ident(name))),
                            _ => Err(errinput!(SYNTAX_ERROR, "invalid constraint name {v}")),
                        },
                        _ => Err(errinput!(SYNTAX_ERROR, "invalid constraint name {v}")),
                    })
                    .collect::<Result<Vec<_>>>()?;
                Statement::SetConstraints { names, deferred }
            }
            S::SingleAssignment { scope, variable, values, .. } => {
                let name = normalize_setting(&variable.to_string().to_lowercase());
                let local = matches!(scope, Some(ast::ContextModifier::Local));
                let value = match values.as_slice() {
                    [ast::Expr::Identifier(id)]
                        if id.value.eq_ignore_ascii_case("default") && id.quote_style.is_none() =>
                    {
                        None
                    }
                    values => Some(
                        values.iter().map(setting_value).collect::<Result<Vec<_>>>()?.join(", "),
                    ),
                };
                Statement::Set { name, value, local }
            }
            S::SetTimeZone { local, value } => Statement::Set {
                name: "timezone".into(),
                value: Some(match value {
                    ast::Expr::Interval(interval) => zone_of_interval(interval)?,
                    value => setting_value(value)?,
                }),
                local: *local,
            },
            S::SetNames { charset_name, .. } => Statement::Set {
                name: "client_encoding".into(),
                value: Some(charset_name.to_string()),
                local: false,
            },
            S::SetTransaction { modes, snapshot, session: false } => {
                let (isolation, read_only) = transaction_modes(modes)?;
                let snapshot = match snapshot.as_ref().map(|v| &v.value) {
                    None => None,
                    Some(ast::Value::SingleQuotedString(id)) => Some(id.clone()),
                    Some(other) => {
                        return Err(errinput!(SYNTAX_ERROR, "invalid snapshot identifier {other}"));
                    }
                };
                Statement::SetTransaction { isolation, read_only, snapshot }
            }
            S::SetTransaction { modes, session: true, .. } => {
                let (isolation, read_only) = transaction_modes(modes)?;
                Statement::SetSessionCharacteristics { isolation, read_only }
            }
            S::SetRole { context_modifier, role_name } => Statement::Set {
                name: "role".into(),
                value: Some(role_name.as_ref().map_or_else(|| "none".into(), ident)),
                local: matches!(context_modifier, Some(ast::ContextModifier::Local)),
            },
            S::SetSessionAuthorization(param) => Statement::Set {
                name: "session_authorization".into(),
                value: match &param.kind {
                    ast::SetSessionAuthorizationParamKind::Default => None,
                    ast::SetSessionAuthorizationParamKind::User(name) => Some(ident(name)),
                },
                local: matches!(param.scope, ast::ContextModifier::Local),
            },
            other => return Err(errinput!(FEATURE_NOT_SUPPORTED, "{other} is not supported")),
        })
    }
}

pub(super) fn setting_value(expr: &ast::Expr) -> Result<String> {
    Ok(match expr {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::SingleQuotedString(s) | ast::Value::DoubleQuotedString(s) => s.clone(),
            ast::Value::Number(n, _) => n.clone(),
            ast::Value::Boolean(b) => b.to_string(),
            other => other.to_string(),
        },
        ast::Expr::Identifier(id) => id.value.clone(),
        ast::Expr::UnaryOp { op: ast::UnaryOperator::Minus, expr } => {
            format!("-{}", setting_value(expr)?)
        }
        other => other.to_string(),
    })
}

/// `SET TIME ZONE INTERVAL '+05:30' HOUR TO MINUTE`: a fixed offset east of UTC, named as
/// the time zone setting reads and shows it (`<+05:30>-05:30`).
fn zone_of_interval(interval: &ast::Interval) -> Result<String> {
    let text = match &*interval.value {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::SingleQuotedString(s) => s.clone(),
            other => other.to_string(),
        },
        other => other.to_string(),
    };
    let parsed = crate::types::datetime::parse_interval(&text)?;
    let zone = crate::types::datetime::zone_of_interval(&parsed).map_err(|_| {
        errinput!(
            INVALID_PARAMETER_VALUE,
            "invalid value for parameter \"TimeZone\": \"INTERVAL '{text}'\""
        )
    })?;
    Ok(zone.name())
}

/// Canonical setting names (`time zone` is `timezone`, ...).
pub fn normalize_setting(name: &str) -> String {
    match name.trim() {
        "time zone" | "time_zone" => "timezone".into(),
        "transaction isolation level" => "transaction_isolation".into(),
        "session authorization" => "session_authorization".into(),
        n => n.to_string(),
    }
}

/// The isolation level and access mode a list of transaction modes names.
pub(crate) fn transaction_modes(
    modes: &[ast::TransactionMode],
) -> Result<(Option<oxibase_mvcc::Isolation>, Option<bool>)> {
    use oxibase_mvcc::Isolation;
    let mut isolation = None;
    let mut read_only = None;
    for mode in modes {
        match mode {
            ast::TransactionMode::IsolationLevel(level) => {
                isolation = Some(match level {
                    ast::TransactionIsolationLevel::ReadUncommitted
                    | ast::TransactionIsolationLevel::ReadCommitted => Isolation::ReadCommitted,
                    ast::TransactionIsolationLevel::RepeatableRead
                    | ast::TransactionIsolationLevel::Snapshot => Isolation::Snapshot,
                    ast::TransactionIsolationLevel::Serializable => Isolation::Serializable,
                })
            }
            ast::TransactionMode::AccessMode(mode) => {
                read_only = Some(matches!(mode, ast::TransactionAccessMode::ReadOnly))
            }
        }
    }
    Ok((isolation, read_only))
}

/// The arguments of a call given by position (`f(a, b)`); named ones are refused.
fn positional_args(args: &[ast::FunctionArg], what: &str) -> Result<Vec<ast::Expr>> {
    args.iter()
        .map(|a| match a {
            ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => Ok(e.clone()),
            other => {
                Err(errinput!(FEATURE_NOT_SUPPORTED, "argument {other} is not supported in {what}"))
            }
        })
        .collect()
}

/// How deeply expressions and queries may nest while a statement binds (views and the
/// stored SQL they read included): past it, PostgreSQL's 54001 rather than a stack
/// overflow. Binding, optimizing and evaluating recurse once per level; the server's
/// threads have the stack for this many (`oxibase_server::runtime`), sqlparser stops a
/// single statement's expressions at 50.
pub const MAX_NESTING: u32 = 100;

thread_local! {
    static NESTING: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Refuses a result column whose values nest deeper than a row holds
/// ([`oxibase_common::row::MAX_NESTING`]): the text of `row(row(...))` doubles its quotes
/// at each level, and 45 levels would not fit in memory (PostgreSQL fails at its 1 GB
/// value limit).
fn refuse_deep_output(plan: &Plan) -> Result<()> {
    for c in &plan.columns {
        let depth = oxibase_common::row::nesting_depth(&c.data_type);
        if depth > oxibase_common::row::MAX_NESTING {
            return Err(errinput!(
                PROGRAM_LIMIT_EXCEEDED,
                "column \"{}\" nests values {depth} deep; at most {} are returned",
                c.name,
                oxibase_common::row::MAX_NESTING
            ));
        }
    }
    Ok(())
}

/// One level of [`MAX_NESTING`], held while it binds.
pub(crate) struct Nesting;

impl Nesting {
    pub(crate) fn enter() -> Result<Nesting> {
        let depth = NESTING.with(|n| n.get());
        if depth >= MAX_NESTING {
            return Err(errinput!(
                STATEMENT_TOO_COMPLEX,
                "stack depth limit exceeded: expressions and queries nested {MAX_NESTING} deep"
            ));
        }
        NESTING.with(|n| n.set(depth + 1));
        Ok(Nesting)
    }
}

impl Drop for Nesting {
    fn drop(&mut self) {
        NESTING.with(|n| n.set(n.get().saturating_sub(1)));
    }
}

/// Splits a name into optional schema and object, lowercasing unquoted identifiers.
pub fn split_name(name: &ast::ObjectName) -> Result<(Option<String>, String)> {
    let parts: Vec<String> = name
        .0
        .iter()
        .map(|p| match p {
            ast::ObjectNamePart::Identifier(id) => Ok(ident(id)),
            other => Err(errinput!(SYNTAX_ERROR, "unexpected name part {other}")),
        })
        .collect::<Result<_>>()?;
    match parts.as_slice() {
        [name] => Ok((None, name.clone())),
        [schema, name] => Ok((Some(schema.clone()), name.clone())),
        [_db, schema, name] => Ok((Some(schema.clone()), name.clone())),
        _ => {
            Err(errinput!(SYNTAX_ERROR, "improper qualified name (too many dotted names): {name}"))
        }
    }
}

/// An identifier as PostgreSQL folds it: unquoted ones are lowercased.
pub fn ident(id: &ast::Ident) -> String {
    if id.quote_style.is_some() { id.value.clone() } else { id.value.to_lowercase() }
}

fn display_name(name: &ast::ObjectName) -> String {
    name.0
        .iter()
        .map(|p| match p {
            ast::ObjectNamePart::Identifier(id) => ident(id),
            other => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// Parses a column DEFAULT (or any stored SQL expression) into an AST expression.
pub fn parse_expr(sql: &str) -> Result<ast::Expr> {
    let dialect = sqlparser::dialect::PostgreSqlDialect {};
    sqlparser::parser::Parser::new(&dialect)
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_expr())
        .map_err(|e| errinput!(SYNTAX_ERROR, "invalid stored expression {sql:?}: {e}"))
}

/// Binds an expression stored with a table (a CHECK constraint, a column default) over the
/// table's row: column names refer to the row's positions.
pub fn bind_table_expr(table: &Table, sql: &str) -> Result<Expr> {
    Ok(bind_table_expr_typed(table, sql)?.0)
}

/// [`bind_table_expr`], also returning the expression's type.
pub fn bind_table_expr_typed(table: &Table, sql: &str) -> Result<(Expr, DataType)> {
    bind_table_expr_in(table, sql, "CHECK")
}

/// [`bind_table_expr_typed`] for an expression of `clause` ("index expressions", ...), the
/// name messages give it.
pub fn bind_table_expr_in(
    table: &Table,
    sql: &str,
    clause: &'static str,
) -> Result<(Expr, DataType)> {
    bind_over_table(table, sql, clause, None, None)
}

/// [`bind_table_expr_in`] where the expression may call stored functions, which `env`
/// finds (on its search path). Without an env, a stored function is not found.
pub fn bind_table_expr_env(
    table: &Table,
    sql: &str,
    clause: &'static str,
    env: Option<&dyn BindEnv>,
) -> Result<(Expr, DataType)> {
    bind_over_table(table, sql, clause, None, env)
}

/// Binds ALTER COLUMN ... TYPE's USING expression, which may also name the new type.
pub fn bind_using_expr(table: &Table, sql: &str, new_type: &DataType) -> Result<Expr> {
    Ok(bind_over_table(table, sql, "USING", Some(new_type), None)?.0)
}

/// Binds an expression stored with a table. It may name no relation; the enum types it
/// can name are those of the table's columns (and `extra`): it is bound again whenever the
/// table is loaded, where there is no catalog at hand. The stored functions it calls are
/// found through `routines` where there is one.
fn bind_over_table(
    table: &Table,
    sql: &str,
    clause: &'static str,
    extra: Option<&DataType>,
    routines: Option<&dyn BindEnv>,
) -> Result<(Expr, DataType)> {
    struct TableTypes<'a> {
        table: &'a Table,
        extra: Option<&'a DataType>,
        routines: Option<&'a dyn BindEnv>,
    }
    impl BindEnv for TableTypes<'_> {
        fn routine(
            &self,
            schema: Option<&str>,
            name: &str,
        ) -> Result<Option<Arc<crate::procedure::Routine>>> {
            match self.routines {
                Some(env) => env.routine(schema, name),
                None => Ok(None),
            }
        }
        fn relation(&self, _: Option<&str>, name: &str) -> Result<Option<Relation>> {
            Err(errinput!(
                FEATURE_NOT_SUPPORTED,
                "cannot use a subquery referring to \"{name}\" in a constraint or default"
            ))
        }
        fn creation_schema(&self) -> Result<String> {
            Ok("public".into())
        }
        fn enum_type(
            &self,
            schema: Option<&str>,
            name: &str,
        ) -> Result<Option<Arc<oxibase_common::EnumType>>> {
            let columns = self.table.columns.iter().filter(|c| !c.dropped);
            let mut types = columns.map(|c| &c.data_type).chain(self.extra);
            Ok(types
                .find_map(|t| {
                    t.enum_type()
                        .filter(|e| e.type_name == name && schema.is_none_or(|s| s == e.schema))
                })
                .cloned())
        }
    }
    let env = TableTypes { table, extra, routines };
    let binder = Binder::new(&env, vec![]);
    let scope = Scope::new(dml::table_columns(table));
    let (expr, data_type) = binder
        .bind_expr(&parse_expr(sql)?, &expr::ExprCtx::plain(&scope, clause))
        .map_err(|e| {
            if e.code() == SqlState::UNDEFINED_OBJECT && e.message().starts_with("type ") {
                e.with_hint("An expression stored with a table can name only the enum types of the table's own columns.")
            } else {
                e
            }
        })?;
    Ok((expr, data_type.resolve()))
}

/// Binds a domain's CHECK expression over a one-value row: `VALUE` is the value, of the
/// domain's base type. Returns the expression and its type.
pub fn bind_domain_check(name: &str, base: &DataType, sql: &str) -> Result<(Expr, DataType)> {
    let columns = vec![crate::catalog::Column::new("value", base.clone())];
    let value = Table::plain(0, String::new(), name.to_string(), columns);
    bind_over_table(&value, sql, "CHECK", None, None)
}

/// A literal value's expression (used to fill defaults).
pub fn literal(v: Value) -> Expr {
    Expr::Literal(v)
}

impl Binder<'_> {
    /// `SELECT 't'::regclass` shows the relation's name, as regclass prints (where the
    /// binder gives such a cast its oid, for comparisons): the statement's own select-list
    /// items of that form are output through `regclass_name`. Other outputs of a regclass
    /// cast are names already (`relid::regclass`).
    fn regclass_names(&self, query: &ast::Query, plan: Plan) -> Result<Plan> {
        let ast::SetExpr::Select(select) = &*query.body else { return Ok(plan) };
        let literal_regclass = |e: &ast::Expr| {
            matches!(e, ast::Expr::Cast { expr, data_type, .. }
                if expr::is_regclass(data_type)
                    && matches!(&**expr, ast::Expr::Value(v) if matches!(v.value, ast::Value::SingleQuotedString(_))))
        };
        let named: Vec<bool> = select
            .projection
            .iter()
            .map(|item| match item {
                ast::SelectItem::UnnamedExpr(e)
                | ast::SelectItem::ExprWithAlias { expr: e, .. } => literal_regclass(e),
                _ => false,
            })
            .collect();
        let visible: Vec<usize> =
            (0..plan.columns.len()).filter(|&i| !plan.columns[i].hidden).collect();
        if !named.contains(&true) || visible.len() != named.len() {
            return Ok(plan);
        }
        let mut columns = plan.columns.clone();
        let mut exprs: Vec<Expr> = (0..columns.len()).map(Expr::Column).collect();
        for (k, &i) in visible.iter().enumerate() {
            if named[k] {
                let column = (Expr::Column(i), crate::types::SqlType::Known(DataType::Int8));
                exprs[i] = self.call_scalar("regclass_name", vec![column])?.0;
                columns[i].data_type = DataType::Text;
                // Named after its type, as a cast is.
                if matches!(select.projection[k], ast::SelectItem::UnnamedExpr(_)) {
                    columns[i].name = "regclass".into();
                }
            }
        }
        Ok(Plan::new(crate::plan::Node::Project { input: Box::new(plan), exprs }, columns))
    }
}
