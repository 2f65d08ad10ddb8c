//! Binding DDL: CREATE/DROP/ALTER of tables, indexes, views, schemas and sequences.
//!
//! DDL is bound into specifications with names still unresolved; the executor applies them
//! to the catalog inside the statement's transaction.

use oxibase_common::keycode::ColumnOrder;
use oxibase_common::{DataType, Result, errinput};
use sqlparser::ast;

use std::sync::Arc;

use super::{Binder, Relation, ident, split_name};
use crate::catalog::{Deferral, Domain, IndexMethod};
use crate::plan::Plan;

/// A DDL statement.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // one per statement
pub enum DdlStatement {
    /// CREATE TABLE
    CreateTable(Box<CreateTable>),
    /// DROP MATERIALIZED VIEW
    DropMaterializedView {
        /// (schema, name) of each.
        names: Vec<(Option<String>, String)>,
        /// IF EXISTS
        if_exists: bool,
        /// CASCADE
        cascade: bool,
    },
    /// REFRESH MATERIALIZED VIEW [CONCURRENTLY] name [WITH [NO] DATA]
    RefreshMaterializedView {
        /// (schema, name)
        name: (Option<String>, String),
        /// CONCURRENTLY (needs a unique index; readers never wait here either way).
        concurrently: bool,
        /// WITH DATA (the default); WITH NO DATA empties it.
        with_data: bool,
    },
    /// DROP TABLE
    DropTable {
        /// (schema, name) of each table.
        names: Vec<(Option<String>, String)>,
        /// IF EXISTS
        if_exists: bool,
        /// CASCADE
        cascade: bool,
    },
    /// CREATE INDEX
    CreateIndex(CreateIndex),
    /// DROP INDEX
    DropIndex {
        /// (schema, name) of each index.
        names: Vec<(Option<String>, String)>,
        /// IF EXISTS
        if_exists: bool,
    },
    /// ALTER TABLE
    AlterTable {
        /// (schema, name)
        table: (Option<String>, String),
        /// IF EXISTS
        if_exists: bool,
        /// The changes.
        actions: Vec<AlterAction>,
    },
    /// CREATE [OR REPLACE] VIEW
    CreateView {
        /// (schema, name)
        name: (Option<String>, String),
        /// OR REPLACE
        or_replace: bool,
        /// IF NOT EXISTS
        if_not_exists: bool,
        /// The query text.
        sql: String,
        /// Column names given in the statement.
        columns: Vec<String>,
        /// The bound query (its output columns name the view's columns).
        plan: Plan,
        /// WITH CHECK OPTION: 0 none, 1 LOCAL, 2 CASCADED.
        check_option: u8,
    },
    /// DROP VIEW
    DropView {
        /// (schema, name) of each view.
        names: Vec<(Option<String>, String)>,
        /// IF EXISTS
        if_exists: bool,
        /// CASCADE: drop the views that read these too.
        cascade: bool,
    },
    /// CREATE SCHEMA
    CreateSchema {
        /// The name.
        name: String,
        /// IF NOT EXISTS
        if_not_exists: bool,
    },
    /// COMMENT ON ... IS 'text' | NULL
    Comment {
        /// What is commented.
        target: CommentTarget,
        /// The text (None removes the comment).
        text: Option<String>,
    },
    /// DROP SCHEMA
    DropSchema {
        /// The names.
        names: Vec<String>,
        /// IF EXISTS
        if_exists: bool,
        /// CASCADE
        cascade: bool,
    },
    /// CREATE SEQUENCE
    CreateSequence {
        /// (schema, name)
        name: (Option<String>, String),
        /// IF NOT EXISTS
        if_not_exists: bool,
        /// Options, parsed.
        options: SequenceSpec,
    },
    /// CREATE EXTENSION
    CreateExtension {
        /// Its name.
        name: String,
        /// IF NOT EXISTS
        if_not_exists: bool,
        /// SCHEMA
        schema: Option<String>,
    },
    /// DROP EXTENSION
    DropExtension {
        /// The names.
        names: Vec<String>,
        /// IF EXISTS
        if_exists: bool,
    },
    /// ALTER SEQUENCE
    AlterSequence {
        /// (schema, name)
        name: (Option<String>, String),
        /// IF EXISTS
        if_exists: bool,
        /// The options it sets.
        options: SequenceSpec,
        /// RESTART: Some(None) at the start value, Some(Some(n)) at n.
        restart: Option<Option<i64>>,
        /// RENAME TO
        rename: Option<String>,
    },
    /// GRANT or REVOKE of privileges on objects.
    Privileges(Box<super::grant::PrivilegeSpec>),
    /// GRANT or REVOKE of role membership.
    Membership(Box<super::grant::MembershipSpec>),
    /// ALTER DEFAULT PRIVILEGES.
    DefaultPrivileges(Box<super::grant::DefaultPrivilegesSpec>),
    /// CREATE, ALTER or DROP POLICY.
    Policy(Box<super::grant::PolicySpec>),
    /// REASSIGN OWNED / DROP OWNED.
    Owned(Box<super::grant::OwnedSpec>),
    /// ALTER <object> OWNER TO role.
    OwnerTo {
        /// The object's kind as written (TABLE, SEQUENCE, TYPE, FUNCTION, ...).
        kind: String,
        /// (schema, name)
        name: (Option<String>, String),
        /// IF EXISTS
        if_exists: bool,
        /// The role.
        role: String,
    },
    /// DROP SEQUENCE
    DropSequence {
        /// (schema, name) of each sequence.
        names: Vec<(Option<String>, String)>,
        /// IF EXISTS
        if_exists: bool,
    },
    /// CREATE ROLE / CREATE USER
    CreateRole {
        /// The role names.
        names: Vec<String>,
        /// IF NOT EXISTS
        if_not_exists: bool,
        /// The attributes.
        options: RoleSpec,
    },
    /// ALTER ROLE
    AlterRole {
        /// The role.
        name: String,
        /// New attributes.
        options: RoleSpec,
        /// RENAME TO
        rename: Option<String>,
    },
    /// DROP ROLE / DROP USER
    DropRole {
        /// The role names.
        names: Vec<String>,
        /// IF EXISTS
        if_exists: bool,
    },
    /// CREATE [OR REPLACE] FUNCTION | PROCEDURE
    CreateRoutine(Box<super::RoutineSpec>),
    /// DROP FUNCTION | PROCEDURE
    DropRoutine {
        /// FUNCTION or PROCEDURE.
        kind: crate::procedure::RoutineKind,
        /// (schema, name) of each routine.
        names: Vec<(Option<String>, String)>,
        /// IF EXISTS
        if_exists: bool,
        /// CASCADE: drops the triggers that use it too.
        cascade: bool,
    },
    /// TRUNCATE
    Truncate {
        /// (schema, name) of each table.
        names: Vec<(Option<String>, String)>,
        /// RESTART IDENTITY
        restart_identity: bool,
    },
    /// CREATE TYPE ... AS ENUM
    CreateEnum {
        /// (schema, name)
        name: (Option<String>, String),
        /// The labels, in order.
        labels: Vec<String>,
    },
    /// CREATE TYPE ... AS (attribute type, ...)
    CreateComposite {
        /// (schema, name)
        name: (Option<String>, String),
        /// The attributes' names and types, in order.
        attributes: Vec<(String, DataType)>,
    },
    /// ALTER TYPE ... ADD / DROP / ALTER / RENAME ATTRIBUTE
    AlterComposite {
        /// (schema, name)
        name: (Option<String>, String),
        /// The actions, in order.
        actions: Vec<AttributeAction>,
    },
    /// ALTER TYPE
    AlterType {
        /// (schema, name)
        name: (Option<String>, String),
        /// What to change.
        action: AlterTypeAction,
    },
    /// CREATE DOMAIN
    CreateDomain(Box<super::domain::DomainSpec>),
    /// CREATE TRIGGER
    CreateTrigger(Box<super::trigger::TriggerSpec>),
    /// DROP TRIGGER [IF EXISTS] name ON table
    DropTrigger {
        /// The trigger.
        name: String,
        /// Its table: (schema, name).
        table: (Option<String>, String),
        /// IF EXISTS
        if_exists: bool,
    },
    /// ALTER DOMAIN
    AlterDomain {
        /// (schema, name)
        name: (Option<String>, String),
        /// What to change.
        action: super::domain::AlterDomainAction,
    },
    /// DROP TYPE and DROP DOMAIN
    DropType {
        /// (schema, name) of each.
        names: Vec<(Option<String>, String)>,
        /// IF EXISTS
        if_exists: bool,
        /// CASCADE: columns of the type are dropped too.
        cascade: bool,
        /// Written as DROP DOMAIN.
        domain: bool,
    },
}

/// One ALTER TYPE action on a composite type's attributes.
#[derive(Debug)]
pub enum AttributeAction {
    /// ADD ATTRIBUTE name type
    Add {
        /// The new attribute's name.
        name: String,
        /// Its type.
        data_type: DataType,
    },
    /// DROP ATTRIBUTE [IF EXISTS] name
    Drop {
        /// The attribute.
        name: String,
        /// IF EXISTS
        if_exists: bool,
    },
    /// ALTER ATTRIBUTE name [SET DATA] TYPE type
    SetType {
        /// The attribute.
        name: String,
        /// Its new type.
        data_type: DataType,
    },
    /// RENAME ATTRIBUTE from TO to
    Rename {
        /// The attribute's name now.
        from: String,
        /// Its new name.
        to: String,
    },
}

/// One ALTER TYPE action on an enum type.
#[derive(Debug)]
pub enum AlterTypeAction {
    /// RENAME TO
    Rename(String),
    /// ADD VALUE [IF NOT EXISTS] label [BEFORE | AFTER neighbor]
    AddValue {
        /// The new label.
        label: String,
        /// IF NOT EXISTS
        if_not_exists: bool,
        /// The neighbor, and whether the new label goes before it.
        neighbor: Option<(String, bool)>,
    },
    /// RENAME VALUE from TO to
    RenameValue {
        /// The label now.
        from: String,
        /// Its new text.
        to: String,
    },
}

/// A table to create.
#[derive(Debug)]
pub struct CreateTable {
    /// (schema, name)
    pub name: (Option<String>, String),
    /// IF NOT EXISTS
    pub if_not_exists: bool,
    /// Columns.
    pub columns: Vec<ColumnSpec>,
    /// Table constraints (including those written on columns).
    pub constraints: Vec<ConstraintSpec>,
    /// CREATE TABLE ... AS query: its plan.
    pub as_query: Option<Plan>,
    /// CREATE MATERIALIZED VIEW: the query's text, and whether to fill it now (WITH DATA).
    pub materialized: Option<(String, bool)>,
}

/// A column to create.
#[derive(Clone, Debug)]
pub struct ColumnSpec {
    /// Name.
    pub name: String,
    /// Type.
    pub data_type: DataType,
    /// NOT NULL.
    pub not_null: bool,
    /// DEFAULT, as SQL text.
    pub default: Option<String>,
    /// SERIAL or GENERATED ... AS IDENTITY: a sequence supplies values.
    pub serial: bool,
    /// GENERATED ALWAYS AS IDENTITY: explicit values are refused.
    pub identity_always: bool,
    /// GENERATED BY DEFAULT AS IDENTITY.
    pub identity_by_default: bool,
    /// GENERATED ALWAYS AS (expression) STORED, as SQL text.
    pub generated: Option<String>,
    /// The domain the type names (`data_type` is then its base type).
    pub domain: Option<Arc<Domain>>,
    /// GENERATED ... AS IDENTITY (options): its sequence's options.
    pub identity_options: Option<SequenceSpec>,
}

/// The object of a COMMENT ON.
#[derive(Clone, Debug)]
pub enum CommentTarget {
    /// A table, view, index or sequence, by kind and (schema, name).
    Relation(crate::catalog::RelKind, (Option<String>, String)),
    /// A column: its table and name.
    Column((Option<String>, String), String),
    /// A table's constraint: the table and the constraint's name.
    Constraint((Option<String>, String), String),
    /// A table's trigger: the table and the trigger's name.
    Trigger((Option<String>, String), String),
    /// A schema.
    Schema(String),
    /// A function or procedure, by (schema, name).
    Routine((Option<String>, String)),
    /// An extension.
    Extension(String),
}

/// What ON DELETE / ON UPDATE does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReferentialAction {
    /// NO ACTION (the default) and RESTRICT: refuse.
    Restrict,
    /// CASCADE
    Cascade,
    /// SET NULL
    SetNull,
    /// SET DEFAULT
    SetDefault,
}

impl ReferentialAction {
    /// The catalog's spelling.
    pub fn code(self) -> &'static str {
        match self {
            ReferentialAction::Restrict => "restrict",
            ReferentialAction::Cascade => "cascade",
            ReferentialAction::SetNull => "setnull",
            ReferentialAction::SetDefault => "setdefault",
        }
    }

    /// Parses the catalog's spelling.
    pub fn from_code(s: &str) -> ReferentialAction {
        match s {
            "cascade" => ReferentialAction::Cascade,
            "setnull" => ReferentialAction::SetNull,
            "setdefault" => ReferentialAction::SetDefault,
            _ => ReferentialAction::Restrict,
        }
    }
}

/// A FOREIGN KEY as written.
#[derive(Clone, Debug)]
pub struct ForeignKeySpec {
    /// Referencing columns.
    pub columns: Vec<String>,
    /// The referenced table.
    pub table: (Option<String>, String),
    /// Referenced columns (empty: its primary key).
    pub ref_columns: Vec<String>,
    /// ON DELETE
    pub on_delete: ReferentialAction,
    /// ON UPDATE
    pub on_update: ReferentialAction,
    /// [NOT] DEFERRABLE [INITIALLY DEFERRED | IMMEDIATE]
    pub deferral: Deferral,
}

/// A table constraint as written.
#[derive(Clone, Debug)]
pub enum ConstraintSpec {
    /// PRIMARY KEY (cols)
    PrimaryKey {
        /// Constraint name.
        name: Option<String>,
        /// Columns.
        columns: Vec<String>,
    },
    /// UNIQUE [NULLS NOT DISTINCT] (cols)
    Unique {
        /// Constraint name.
        name: Option<String>,
        /// Columns.
        columns: Vec<String>,
        /// NULLS NOT DISTINCT
        nulls_not_distinct: bool,
    },
    /// CHECK (expr)
    Check {
        /// Constraint name.
        name: Option<String>,
        /// The expression as SQL text.
        expr: String,
    },
    /// FOREIGN KEY
    ForeignKey {
        /// Constraint name.
        name: Option<String>,
        /// The reference.
        spec: ForeignKeySpec,
    },
}

/// An index to create.
#[derive(Debug)]
pub struct CreateIndex {
    /// Its name (generated when omitted).
    pub name: Option<String>,
    /// The table (schema, name).
    pub table: (Option<String>, String),
    /// The key's parts and their order.
    pub keys: Vec<(IndexPart, ColumnOrder)>,
    /// A partial index's WHERE, as SQL text.
    pub predicate: Option<String>,
    /// UNIQUE
    pub unique: bool,
    /// IF NOT EXISTS
    pub if_not_exists: bool,
    /// CONCURRENTLY: only records the index, not valid yet (the session fills it while
    /// writes go on, then validates it).
    pub concurrently: bool,
    /// USING ... (btree when omitted).
    pub method: IndexMethod,
    /// NULLS NOT DISTINCT
    pub nulls_not_distinct: bool,
}

/// One part of a CREATE INDEX key.
#[derive(Debug, Clone, PartialEq)]
pub enum IndexPart {
    /// A column, by name.
    Column(String),
    /// An expression, as SQL text.
    Expr(String),
}

/// One ALTER TABLE action.
#[derive(Debug)]
pub enum AlterAction {
    /// ALTER COLUMN SET STATISTICS: the column's statistics target.
    SetStatistics {
        /// The column.
        column: String,
        /// The target (-1: the default).
        target: i32,
    },
    /// REPLICA IDENTITY { DEFAULT | NOTHING | FULL | USING INDEX name }.
    ReplicaIdentity {
        /// `d`, `n`, `f` or `i` (pg_class.relreplident).
        identity: u8,
        /// The index, for USING INDEX.
        index: Option<String>,
    },
    /// ENABLE / DISABLE / FORCE / NO FORCE ROW LEVEL SECURITY: the flag (ENABLED or
    /// FORCED) and whether it is set.
    RowSecurity {
        /// `policies::ENABLED` or `policies::FORCED`.
        flag: u8,
        /// Set (else cleared).
        on: bool,
    },
    /// ENABLE / DISABLE TRIGGER name (None: ALL or USER).
    EnableTrigger {
        /// The trigger, or every trigger.
        name: Option<String>,
        /// ENABLE
        on: bool,
    },
    /// ADD COLUMN
    AddColumn {
        /// The column.
        column: ColumnSpec,
        /// Constraints written on the column.
        constraints: Vec<ConstraintSpec>,
        /// IF NOT EXISTS
        if_not_exists: bool,
    },
    /// DROP COLUMN
    DropColumn {
        /// The column.
        name: String,
        /// IF EXISTS
        if_exists: bool,
        /// CASCADE
        cascade: bool,
    },
    /// RENAME COLUMN
    RenameColumn {
        /// Old name.
        old: String,
        /// New name.
        new: String,
    },
    /// RENAME TO
    RenameTable(String),
    /// ALTER COLUMN SET DEFAULT / DROP DEFAULT
    SetDefault {
        /// The column.
        column: String,
        /// The new default (None: drop it).
        default: Option<String>,
    },
    /// ALTER COLUMN SET NOT NULL / DROP NOT NULL
    SetNotNull {
        /// The column.
        column: String,
        /// SET (true) or DROP (false).
        not_null: bool,
    },
    /// ALTER COLUMN ADD GENERATED { ALWAYS | BY DEFAULT } AS IDENTITY [(options)]
    AddIdentity {
        /// The column.
        column: String,
        /// ALWAYS (explicit values refused) rather than BY DEFAULT.
        always: bool,
        /// The sequence's options.
        options: SequenceSpec,
        /// SEQUENCE NAME, as pg_dump gives it.
        sequence_name: Option<(Option<String>, String)>,
    },
    /// ALTER COLUMN TYPE
    SetType {
        /// The column.
        column: String,
        /// The new type.
        data_type: DataType,
        /// The domain the new type names (`data_type` is then its base type).
        domain: Option<Arc<Domain>>,
        /// USING expression text.
        using: Option<String>,
    },
    /// ADD CONSTRAINT [NOT VALID]
    AddConstraint {
        /// The constraint.
        spec: ConstraintSpec,
        /// NOT VALID: existing rows are not checked (CHECK and FOREIGN KEY only).
        not_valid: bool,
    },
    /// VALIDATE CONSTRAINT: checks existing rows against a NOT VALID constraint.
    ValidateConstraint(String),
    /// DROP CONSTRAINT
    DropConstraint {
        /// The constraint name.
        name: String,
        /// IF EXISTS
        if_exists: bool,
    },
}

impl AlterAction {
    /// The action as PostgreSQL names it in messages.
    pub fn verb(&self) -> &'static str {
        match self {
            AlterAction::AddColumn { .. } => "ADD COLUMN",
            AlterAction::DropColumn { .. } => "DROP COLUMN",
            AlterAction::RenameColumn { .. } => "RENAME COLUMN",
            AlterAction::RenameTable(_) => "RENAME",
            AlterAction::SetDefault { .. } => "ALTER COLUMN SET DEFAULT",
            AlterAction::SetNotNull { .. } => "ALTER COLUMN SET NOT NULL",
            AlterAction::SetType { .. } => "ALTER COLUMN TYPE",
            AlterAction::AddIdentity { .. } => "ALTER COLUMN ADD GENERATED",
            AlterAction::AddConstraint { .. } => "ADD CONSTRAINT",
            AlterAction::ValidateConstraint(_) => "VALIDATE CONSTRAINT",
            AlterAction::DropConstraint { .. } => "DROP CONSTRAINT",
            AlterAction::RowSecurity { .. } => "ROW LEVEL SECURITY",
            AlterAction::ReplicaIdentity { .. } => "REPLICA IDENTITY",
            AlterAction::SetStatistics { .. } => "ALTER COLUMN SET STATISTICS",
            AlterAction::EnableTrigger { on: true, .. } => "ENABLE TRIGGER",
            AlterAction::EnableTrigger { on: false, .. } => "DISABLE TRIGGER",
        }
    }
}

/// Role attributes given to CREATE/ALTER ROLE (None: not mentioned).
#[derive(Clone, Debug, Default)]
pub struct RoleSpec {
    /// LOGIN / NOLOGIN
    pub login: Option<bool>,
    /// SUPERUSER / NOSUPERUSER
    pub superuser: Option<bool>,
    /// PASSWORD 'x' (Some(Some)) or PASSWORD NULL (Some(None)).
    pub password: Option<Option<String>>,
    /// CREATEROLE / NOCREATEROLE
    pub createrole: Option<bool>,
    /// INHERIT / NOINHERIT
    pub inherit: Option<bool>,
    /// CREATE ROLE's IN ROLE: roles the new one becomes a member of.
    pub in_roles: Vec<String>,
    /// CREATE ROLE's ROLE / USER: roles that become members of the new one.
    pub members: Vec<String>,
    /// CREATE ROLE's ADMIN: members with the admin option.
    pub admins: Vec<String>,
}

/// Role attributes Oxibase has no use for, accepted when they say what it does anyway
/// (NOCREATEDB, NOREPLICATION, NOBYPASSRLS: what pg_dumpall writes for every role).
fn unused_role_attribute(name: &str, on: Option<bool>) -> Result<()> {
    match on {
        Some(true) => {
            Err(errinput!(FEATURE_NOT_SUPPORTED, "role attribute {name} is not supported"))
        }
        _ => Ok(()),
    }
}

fn role_password(p: &ast::Password) -> Result<Option<String>> {
    match p {
        ast::Password::NullPassword => Ok(None),
        ast::Password::Password(ast::Expr::Value(v)) => match &v.value {
            ast::Value::SingleQuotedString(s) => Ok(Some(s.clone())),
            ast::Value::Null => Ok(None),
            other => Err(errinput!(SYNTAX_ERROR, "invalid password {other}")),
        },
        ast::Password::Password(other) => {
            Err(errinput!(SYNTAX_ERROR, "a password must be a string literal, not {other}"))
        }
    }
}

/// CREATE SEQUENCE options.
#[derive(Clone, Debug, Default)]
pub struct SequenceSpec {
    /// AS type (smallint, integer, bigint).
    pub data_type: Option<DataType>,
    /// INCREMENT BY
    pub increment: Option<i64>,
    /// MINVALUE (Some(None): NO MINVALUE)
    pub min: Option<i64>,
    /// MAXVALUE
    pub max: Option<i64>,
    /// START WITH
    pub start: Option<i64>,
    /// CYCLE (Some(false): NO CYCLE)
    pub cycle: Option<bool>,
    /// OWNED BY table.column (Some(None): OWNED BY NONE): the name's parts.
    pub owned_by: Option<Option<Vec<String>>>,
}

/// Looks up a user-defined type (an enum) by its possibly qualified name.
pub type TypeLookup<'a> = &'a dyn Fn(Option<&str>, &str) -> Result<Option<DataType>>;

/// Converts a built-in SQL type name into a data type (no user-defined types).
pub fn data_type(t: &ast::DataType) -> Result<DataType> {
    data_type_with(t, &|_, _| Ok(None))
}

/// A declared fractional-second precision (`timestamp(3)`): PostgreSQL keeps at most six
/// digits and reduces a larger precision to six.
fn time_precision(p: Option<u64>) -> Option<u8> {
    p.map(|p| p.min(u64::from(oxibase_common::MAX_TIME_PRECISION)) as u8)
}

/// Converts a SQL type name into a data type, looking user-defined names up with `types`.
pub fn data_type_with(t: &ast::DataType, types: TypeLookup<'_>) -> Result<DataType> {
    use ast::DataType as T;
    let length = |l: &Option<ast::CharacterLength>| -> Option<u32> {
        match l {
            Some(ast::CharacterLength::IntegerLength { length, .. }) => Some(*length as u32),
            _ => None,
        }
    };
    let numeric = |info: &ast::ExactNumberInfo| -> Result<DataType> {
        Ok(match info {
            ast::ExactNumberInfo::None => DataType::Numeric(None),
            ast::ExactNumberInfo::Precision(p) => {
                DataType::Numeric(Some((check_precision(*p)?, 0)))
            }
            ast::ExactNumberInfo::PrecisionAndScale(p, s) => {
                let p = check_precision(*p)?;
                if *s < 0 || *s as u64 > p as u64 {
                    return Err(errinput!(
                        INVALID_PARAMETER_VALUE,
                        "NUMERIC scale {s} must be between 0 and precision {p}"
                    ));
                }
                DataType::Numeric(Some((p, *s as u16)))
            }
        })
    };
    Ok(match t {
        T::Int2(_) | T::SmallInt(_) => DataType::Int2,
        T::Int(_) | T::Int4(_) | T::Integer(_) => DataType::Int4,
        T::Int8(_) | T::BigInt(_) => DataType::Int8,
        T::Real | T::Float4 => DataType::Float4,
        T::Float8 | T::DoublePrecision | T::Double(_) => DataType::Float8,
        T::Float(info) => match info {
            ast::ExactNumberInfo::Precision(p) if *p <= 24 => DataType::Float4,
            _ => DataType::Float8,
        },
        T::Numeric(info) | T::Decimal(info) | T::Dec(info) => numeric(info)?,
        T::Text => DataType::Text,
        T::Varchar(l) | T::CharacterVarying(l) | T::CharVarying(l) => DataType::Varchar(length(l)),
        T::Char(l) | T::Character(l) => DataType::Char(length(l).unwrap_or(1)),
        T::Bytea => DataType::Bytea,
        T::Bool | T::Boolean => DataType::Bool,
        T::Date => DataType::Date,
        T::Time(p, tz) => {
            if matches!(tz, ast::TimezoneInfo::WithTimeZone | ast::TimezoneInfo::Tz) {
                return Err(errinput!(
                    FEATURE_NOT_SUPPORTED,
                    "time with time zone is not supported; use timestamptz or time"
                ));
            }
            DataType::Time(time_precision(*p))
        }
        T::Timestamp(p, tz) => match tz {
            ast::TimezoneInfo::WithTimeZone | ast::TimezoneInfo::Tz => {
                DataType::TimestampTz(time_precision(*p))
            }
            _ => DataType::Timestamp(time_precision(*p)),
        },
        T::Interval { precision, .. } => DataType::Interval(time_precision(*precision)),
        T::Uuid => DataType::Uuid,
        T::JSON => DataType::Json,
        T::JSONB => DataType::Jsonb,
        T::Regclass => DataType::Text,
        T::TsVector => DataType::TsVector,
        T::TsQuery => DataType::TsQuery,
        T::Array(elem) => match elem {
            ast::ArrayElemTypeDef::SquareBracket(inner, _)
            | ast::ArrayElemTypeDef::AngleBracket(inner)
            | ast::ArrayElemTypeDef::Parenthesis(inner) => {
                let inner = data_type_with(inner, types)?;
                if matches!(inner, DataType::Array(_)) {
                    return Err(errinput!(
                        FEATURE_NOT_SUPPORTED,
                        "multidimensional arrays are not supported"
                    ));
                }
                DataType::Array(Box::new(inner))
            }
            _ => return Err(errinput!(SYNTAX_ERROR, "array element type missing")),
        },
        T::Custom(name, modifiers) => {
            let (schema, base) = split_name(name)?;
            let with_mods = if modifiers.is_empty() {
                base.clone()
            } else {
                format!(
                    "{base}({})",
                    modifiers.iter().map(|m| m.to_string()).collect::<Vec<_>>().join(",")
                )
            };
            match base.as_str() {
                "serial" | "serial4" => DataType::Int4,
                "bigserial" | "serial8" => DataType::Int8,
                "smallserial" | "serial2" => DataType::Int2,
                // NB: jsonpath is text; its syntax is checked where a path is used.
                "citext" | "regtype" | "regproc" | "regprocedure" | "jsonpath" | "regconfig"
                | "regdictionary" => DataType::Text,
                "oid" => DataType::Oid,
                "xid" | "cid" | "regnamespace" => DataType::Int8,
                _ => match DataType::from_name(&with_mods) {
                    Some(ty) if schema.as_deref().is_none_or(|s| s == "pg_catalog") => ty,
                    _ => types(schema.as_deref(), &base)?.ok_or_else(|| {
                        errinput!(UNDEFINED_OBJECT, "type \"{}\" does not exist", name)
                    })?,
                },
            }
        }
        other => return Err(errinput!(UNDEFINED_OBJECT, "type \"{other}\" is not supported")),
    })
}

fn check_precision(p: u64) -> Result<u16> {
    if p == 0 || p > 1000 {
        return Err(errinput!(
            INVALID_PARAMETER_VALUE,
            "NUMERIC precision {p} must be between 1 and 1000"
        ));
    }
    Ok(p as u16)
}

/// Accepts the collations Oxibase has: byte order, which is "C" (and the database default).
pub(super) fn check_collation(name: &str) -> Result<()> {
    let c = name.to_lowercase().replace('"', "");
    if !matches!(c.as_str(), "c" | "posix" | "default" | "pg_catalog.default" | "pg_catalog.c") {
        return Err(errinput!(
            UNDEFINED_OBJECT,
            "collation \"{c}\" for encoding \"UTF8\" does not exist"
        ));
    }
    Ok(())
}

pub(super) fn is_serial(t: &ast::DataType) -> bool {
    matches!(t, ast::DataType::Custom(name, _) if matches!(name.to_string().to_lowercase().as_str(), "serial" | "serial4" | "bigserial" | "serial8" | "smallserial" | "serial2"))
}

fn names(objects: &[ast::ObjectName]) -> Result<Vec<(Option<String>, String)>> {
    objects.iter().map(split_name).collect()
}

fn index_keys(cols: &[ast::IndexColumn]) -> Result<Vec<(IndexPart, ColumnOrder)>> {
    cols.iter()
        .map(|c| {
            // `(a)` is the column a, as in PostgreSQL.
            let mut expr = &c.column.expr;
            while let ast::Expr::Nested(inner) = expr {
                expr = inner;
            }
            let part = match expr {
                ast::Expr::Identifier(id) => IndexPart::Column(ident(id)),
                other => IndexPart::Expr(other.to_string()),
            };
            let descending = super::query::descending(&c.column.options);
            let nulls_first = c.column.options.nulls_first.unwrap_or(descending);
            Ok((part, ColumnOrder { descending, nulls_first }))
        })
        .collect()
}

/// CREATE INDEX's access method. An operator class is accepted where it names the
/// method's default behaviour for a type (`jsonb_path_ops` is served as `jsonb_ops`: the
/// same lookups, with more entries); GIN's other classes (`gin_trgm_ops`) need extensions
/// Oxibase does not have.
fn index_method(
    using: Option<&ast::IndexType>,
    cols: &[ast::IndexColumn],
    with: &[ast::Expr],
) -> Result<IndexMethod> {
    let name = match using {
        None => "btree".to_string(),
        Some(ast::IndexType::Custom(id)) => ident(id),
        Some(other) => other.to_string().to_lowercase(),
    };
    let method = IndexMethod::named(&name)
        .ok_or_else(|| errinput!(UNDEFINED_OBJECT, "access method \"{name}\" does not exist"))?;
    if method.inverted() {
        for class in cols.iter().filter_map(|c| c.operator_class.as_ref()) {
            let class = class.to_string().to_lowercase();
            let class = class.strip_prefix("pg_catalog.").unwrap_or(&class);
            if !matches!(class, "tsvector_ops" | "array_ops" | "jsonb_ops" | "jsonb_path_ops") {
                return Err(errinput!(
                    UNDEFINED_OBJECT,
                    "operator class \"{class}\" does not exist for access method \"gin\""
                ));
            }
        }
    }
    storage_parameters(method, with)?;
    Ok(method)
}

/// WITH (...) on CREATE INDEX: PostgreSQL's storage parameters of the method are accepted
/// (they tune its on-disk layout, which Oxibase's LSM does not share), others are 22023.
fn storage_parameters(method: IndexMethod, with: &[ast::Expr]) -> Result<()> {
    for option in with {
        let name = match option {
            ast::Expr::BinaryOp { left, op: ast::BinaryOperator::Eq, .. } => left.to_string(),
            other => other.to_string(),
        }
        .to_lowercase();
        let known: &[&str] = match method {
            IndexMethod::Btree => &["fillfactor", "deduplicate_items"],
            IndexMethod::Hash => &["fillfactor"],
            IndexMethod::Gist => &["fillfactor", "buffering"],
            IndexMethod::Spgist => &["fillfactor"],
            IndexMethod::Gin => &["fastupdate", "gin_pending_list_limit"],
            IndexMethod::Brin => &["pages_per_range", "autosummarize"],
        };
        if !known.contains(&name.as_str()) {
            return Err(errinput!(INVALID_PARAMETER_VALUE, "unrecognized parameter \"{name}\""));
        }
    }
    Ok(())
}

fn referential(a: Option<ast::ReferentialAction>) -> ReferentialAction {
    match a {
        Some(ast::ReferentialAction::Cascade) => ReferentialAction::Cascade,
        Some(ast::ReferentialAction::SetNull) => ReferentialAction::SetNull,
        Some(ast::ReferentialAction::SetDefault) => ReferentialAction::SetDefault,
        _ => ReferentialAction::Restrict,
    }
}

fn foreign_key(fk: &ast::ForeignKeyConstraint, columns: Vec<String>) -> Result<ConstraintSpec> {
    Ok(ConstraintSpec::ForeignKey {
        name: fk.name.as_ref().map(ident),
        spec: ForeignKeySpec {
            columns,
            table: split_name(&fk.foreign_table)?,
            ref_columns: fk.referred_columns.iter().map(ident).collect(),
            on_delete: referential(fk.on_delete),
            on_update: referential(fk.on_update),
            deferral: deferral(fk.characteristics.as_ref())?,
        },
    })
}

/// A foreign key's `[NOT] DEFERRABLE [INITIALLY ...]`, as PostgreSQL reads it: INITIALLY
/// DEFERRED alone makes it deferrable.
fn deferral(c: Option<&ast::ConstraintCharacteristics>) -> Result<Deferral> {
    let Some(c) = c else { return Ok(Deferral::NotDeferrable) };
    let deferred = matches!(c.initially, Some(ast::DeferrableInitial::Deferred));
    Ok(match (c.deferrable, deferred) {
        (Some(false), true) => {
            return Err(errinput!(
                SYNTAX_ERROR,
                "constraint declared INITIALLY DEFERRED must be DEFERRABLE"
            ));
        }
        (_, true) => Deferral::Deferred,
        (Some(true), false) => Deferral::Immediate,
        (_, false) => Deferral::NotDeferrable,
    })
}

/// A unique or primary key constraint is checked as rows change: DEFERRABLE is refused
/// rather than ignored.
fn immediate_key(c: Option<&ast::ConstraintCharacteristics>) -> Result<()> {
    if deferral(c)? != Deferral::NotDeferrable {
        return Err(errinput!(
            FEATURE_NOT_SUPPORTED,
            "DEFERRABLE unique and primary key constraints are not supported"
        )
        .with_hint("Only foreign keys may be deferred."));
    }
    Ok(())
}

/// Converts a table constraint.
fn table_constraint(c: &ast::TableConstraint) -> Result<ConstraintSpec> {
    let cols = |cols: &[ast::IndexColumn]| -> Result<Vec<String>> {
        index_keys(cols)?
            .into_iter()
            .map(|(part, _)| match part {
                IndexPart::Column(name) => Ok(name),
                IndexPart::Expr(e) => Err(errinput!(
                    SYNTAX_ERROR,
                    "syntax error at or near \"{e}\": a constraint's key lists columns"
                )),
            })
            .collect()
    };
    Ok(match c {
        ast::TableConstraint::PrimaryKey(pk) => {
            immediate_key(pk.characteristics.as_ref())?;
            ConstraintSpec::PrimaryKey {
                name: pk.name.as_ref().map(ident),
                columns: cols(&pk.columns)?,
            }
        }
        ast::TableConstraint::Unique(u) => {
            immediate_key(u.characteristics.as_ref())?;
            ConstraintSpec::Unique {
                name: u.name.as_ref().map(ident),
                columns: cols(&u.columns)?,
                nulls_not_distinct: matches!(
                    u.nulls_distinct,
                    ast::NullsDistinctOption::NotDistinct
                ),
            }
        }
        ast::TableConstraint::Check(ch) => {
            ConstraintSpec::Check { name: ch.name.as_ref().map(ident), expr: ch.expr.to_string() }
        }
        ast::TableConstraint::ForeignKey(fk) => {
            foreign_key(fk, fk.columns.iter().map(ident).collect())?
        }
        other => return Err(errinput!(FEATURE_NOT_SUPPORTED, "constraint not supported: {other}")),
    })
}

/// Converts a column definition and the constraints written on it.
pub fn column_spec(
    def: &ast::ColumnDef,
    types: TypeLookup<'_>,
) -> Result<(ColumnSpec, Vec<ConstraintSpec>)> {
    let name = ident(&def.name);
    let mut spec = ColumnSpec {
        name: name.clone(),
        data_type: data_type_with(&def.data_type, types)?,
        not_null: false,
        default: None,
        serial: is_serial(&def.data_type),
        identity_always: false,
        identity_by_default: false,
        generated: None,
        domain: None,
        identity_options: None,
    };
    let mut constraints = Vec::new();
    for option in &def.options {
        let cname = option.name.as_ref().map(ident);
        match &option.option {
            ast::ColumnOption::Null => spec.not_null = false,
            ast::ColumnOption::NotNull => spec.not_null = true,
            ast::ColumnOption::Default(e) => spec.default = Some(crate::parse::default_sql(e)),
            ast::ColumnOption::PrimaryKey(pk) => {
                immediate_key(pk.characteristics.as_ref())?;
                constraints
                    .push(ConstraintSpec::PrimaryKey { name: cname, columns: vec![name.clone()] })
            }
            ast::ColumnOption::Unique(u) => {
                immediate_key(u.characteristics.as_ref())?;
                constraints.push(ConstraintSpec::Unique {
                    name: cname,
                    columns: vec![name.clone()],
                    nulls_not_distinct: matches!(
                        u.nulls_distinct,
                        ast::NullsDistinctOption::NotDistinct
                    ),
                })
            }
            ast::ColumnOption::Check(ch) => constraints.push(ConstraintSpec::Check {
                name: cname.or(ch.name.as_ref().map(ident)),
                expr: ch.expr.to_string(),
            }),
            ast::ColumnOption::ForeignKey(fk) => {
                let mut spec = foreign_key(fk, vec![name.clone()])?;
                // `CONSTRAINT name REFERENCES ...` names it on the column option.
                if let ConstraintSpec::ForeignKey { name: fk_name, .. } = &mut spec
                    && fk_name.is_none()
                {
                    *fk_name = cname;
                }
                constraints.push(spec)
            }
            ast::ColumnOption::Generated {
                generation_expr: Some(expr),
                generation_expr_mode,
                ..
            } => {
                if !matches!(generation_expr_mode, Some(ast::GeneratedExpressionMode::Stored)) {
                    return Err(errinput!(
                        FEATURE_NOT_SUPPORTED,
                        "virtual generated columns are not supported"
                    )
                    .with_hint("Write GENERATED ALWAYS AS (...) STORED."));
                }
                spec.generated = Some(expr.to_string());
            }
            ast::ColumnOption::Generated {
                generated_as,
                generation_expr: None,
                sequence_options,
                ..
            } => {
                spec.serial = true;
                spec.not_null = true;
                spec.identity_always = matches!(generated_as, ast::GeneratedAs::Always);
                spec.identity_by_default = !spec.identity_always;
                spec.identity_options =
                    sequence_options.as_deref().map(sequence_spec).transpose()?;
            }
            ast::ColumnOption::Identity(_) => {
                spec.serial = true;
                spec.not_null = true;
            }
            ast::ColumnOption::Collation(c) => check_collation(&c.to_string())?,
            ast::ColumnOption::Comment(_) => {}
            other => {
                return Err(errinput!(
                    FEATURE_NOT_SUPPORTED,
                    "column option not supported: {other}"
                ));
            }
        }
    }
    if spec.generated.is_some() {
        let other = if spec.default.is_some() {
            Some("default")
        } else if spec.serial {
            Some("identity")
        } else {
            None
        };
        if let Some(other) = other {
            return Err(errinput!(
                SYNTAX_ERROR,
                "both {other} and generation expression specified for column \"{name}\""
            ));
        }
    }
    if spec.serial {
        if !matches!(spec.data_type, DataType::Int2 | DataType::Int4 | DataType::Int8) {
            return Err(errinput!(
                DATATYPE_MISMATCH,
                "identity column type must be smallint, integer, or bigint"
            ));
        }
        spec.not_null = true;
    }
    Ok((spec, constraints))
}

/// A sequence option's integer value.
fn sequence_int(e: &ast::Expr) -> Result<i64> {
    e.to_string()
        .replace(' ', "")
        .parse::<i64>()
        .map_err(|_| errinput!(INVALID_PARAMETER_VALUE, "invalid sequence option value {e}"))
}

pub(super) fn sequence_spec(options: &[ast::SequenceOptions]) -> Result<SequenceSpec> {
    let int = sequence_int;
    let mut spec = SequenceSpec::default();
    for o in options {
        match o {
            ast::SequenceOptions::DataType(t) => spec.data_type = Some(data_type(t)?),
            ast::SequenceOptions::IncrementBy(e, _) => spec.increment = Some(int(e)?),
            ast::SequenceOptions::MinValue(e) => spec.min = e.as_ref().map(int).transpose()?,
            ast::SequenceOptions::MaxValue(e) => spec.max = e.as_ref().map(int).transpose()?,
            ast::SequenceOptions::StartWith(e, _) => spec.start = Some(int(e)?),
            // sqlparser's flag is true for NO CYCLE.
            ast::SequenceOptions::Cycle(no) => spec.cycle = Some(!*no),
            ast::SequenceOptions::OwnedBy(owner) => {
                spec.owned_by = Some(owner.as_ref().map(|n| {
                    n.0.iter()
                        .map(|p| match p {
                            ast::ObjectNamePart::Identifier(id) => ident(id),
                            other => other.to_string(),
                        })
                        .collect()
                }));
            }
            // CACHE has no effect here (values are reserved in blocks regardless); a name
            // in it is an identity's SEQUENCE NAME (see parse::identity_sequence_name).
            ast::SequenceOptions::Cache(_) => {}
        }
    }
    Ok(spec)
}

impl Binder<'_> {
    /// A view's query as stored: each relation and stored function it names unqualified is
    /// qualified with the schema it resolves to now, so the view reads the same objects
    /// whatever search path it is read under (PostgreSQL stores them resolved), and a dump
    /// restores it under pg_dump's empty search path. CTE names and catalog views stay as
    /// written. A `*` in the select list becomes the columns it stands for now, as
    /// PostgreSQL expands it when the view is made (columns added to a table later do not
    /// join the view).
    pub(super) fn qualified_query(&self, query: &ast::Query, plan: &Plan) -> Result<String> {
        let ctes = crate::parse::cte_names(query);
        let mut query = query.clone();
        expand_wildcard(&mut query, plan);
        let mut failed = None;
        let _ = ast::visit_relations_mut(&mut query, |name| {
            if name.0.len() != 1 {
                return std::ops::ControlFlow::<()>::Continue(());
            }
            let Ok((None, relation)) = split_name(name) else {
                return std::ops::ControlFlow::Continue(());
            };
            if ctes.contains(&relation) {
                return std::ops::ControlFlow::Continue(());
            }
            let schema = match self.env.relation(None, &relation) {
                Ok(Some(Relation::Table(t))) => Some(t.schema.clone()),
                Ok(Some(Relation::View { schema, .. })) => Some(schema),
                Ok(Some(Relation::Sequence(q))) => Some(q.schema),
                Ok(_) => None,
                Err(e) => {
                    failed = Some(e);
                    None
                }
            };
            if let Some(schema) = schema {
                let part = name.0.remove(0);
                name.0 = vec![schema_part(&schema), part];
            }
            std::ops::ControlFlow::Continue(())
        });
        if let Some(e) = failed {
            return Err(e);
        }
        let _ = ast::visit_expressions_mut(&mut query, |e| {
            if let ast::Expr::Function(f) = e
                && f.name.0.len() == 1
                && let Ok((None, function)) = split_name(&f.name)
                && let Ok(Some(routine)) = self.env.routine(None, &function)
            {
                let part = f.name.0.remove(0);
                f.name.0 = vec![schema_part(&routine.schema), part];
            }
            std::ops::ControlFlow::<()>::Continue(())
        });
        Ok(query.to_string())
    }

    /// Binds a DDL statement; `None` if it is not one.
    pub(super) fn bind_ddl(&self, statement: &ast::Statement) -> Result<Option<DdlStatement>> {
        use ast::Statement as S;
        if let Some((kind, name, if_exists, role)) = crate::parse::owner_change(statement) {
            let name = split_name(name)?;
            return Ok(Some(DdlStatement::OwnerTo {
                kind: kind.to_string(),
                name,
                if_exists,
                role,
            }));
        }
        Ok(Some(match statement {
            S::CreateTable(ct) => DdlStatement::CreateTable(Box::new(self.bind_create_table(ct)?)),
            S::Grant(g) => DdlStatement::Privileges(Box::new(super::grant::bind_grant(g)?)),
            S::Revoke(r) => DdlStatement::Privileges(Box::new(super::grant::bind_revoke(r)?)),
            S::GrantRole(g) => {
                DdlStatement::Membership(Box::new(super::grant::bind_grant_role(g)?))
            }
            S::RevokeRole(r) => {
                DdlStatement::Membership(Box::new(super::grant::bind_revoke_role(r)?))
            }
            S::AlterDefaultPrivileges(a) => {
                DdlStatement::DefaultPrivileges(Box::new(super::grant::bind_default_privileges(a)?))
            }
            S::CreatePolicy(p) => {
                DdlStatement::Policy(Box::new(super::grant::bind_create_policy(p)?))
            }
            S::AlterPolicy(p) => {
                DdlStatement::Policy(Box::new(super::grant::bind_alter_policy(p)?))
            }
            S::DropPolicy(p) => DdlStatement::Policy(Box::new(super::grant::bind_drop_policy(p)?)),
            S::Comment { object_type, object_name, comment, .. } => {
                use crate::catalog::RelKind;
                use ast::CommentObject as O;
                let relation = |kind| Ok(CommentTarget::Relation(kind, split_name(object_name)?));
                let target = match object_type {
                    O::Table => relation(RelKind::Table)?,
                    O::View => relation(RelKind::View)?,
                    O::Index => relation(RelKind::Index)?,
                    O::Sequence => relation(RelKind::Sequence)?,
                    O::Type => relation(RelKind::Type)?,
                    O::Domain => relation(RelKind::Domain)?,
                    O::Function | O::Procedure => CommentTarget::Routine(split_name(object_name)?),
                    O::MaterializedView => relation(RelKind::Table)?,
                    O::Schema => CommentTarget::Schema(split_name(object_name)?.1),
                    O::Extension => CommentTarget::Extension(split_name(object_name)?.1),
                    O::Column => {
                        let parts: Vec<String> = object_name
                            .0
                            .iter()
                            .map(|p| match p {
                                ast::ObjectNamePart::Identifier(id) => ident(id),
                                other => other.to_string(),
                            })
                            .collect();
                        let (table, column) = match parts.as_slice() {
                            [table, column] => ((None, table.clone()), column.clone()),
                            [schema, table, column] => {
                                ((Some(schema.clone()), table.clone()), column.clone())
                            }
                            _ => {
                                return Err(errinput!(
                                    SYNTAX_ERROR,
                                    "column name must be qualified"
                                ));
                            }
                        };
                        use crate::parse::{CONSTRAINT_COMMENT_MARK, TRIGGER_COMMENT_MARK};
                        if let Some(name) = column.strip_prefix(CONSTRAINT_COMMENT_MARK) {
                            CommentTarget::Constraint(table, name.to_string())
                        } else if let Some(name) = column.strip_prefix(TRIGGER_COMMENT_MARK) {
                            CommentTarget::Trigger(table, name.to_string())
                        } else {
                            CommentTarget::Column(table, column)
                        }
                    }
                    other => {
                        return Err(errinput!(
                            FEATURE_NOT_SUPPORTED,
                            "COMMENT ON {other} is not supported"
                        ));
                    }
                };
                DdlStatement::Comment { target, text: comment.clone() }
            }
            S::Drop { object_type, if_exists, names: objects, cascade, .. } => {
                let names = names(objects)?;
                let if_exists = *if_exists;
                match object_type {
                    ast::ObjectType::Table => {
                        DdlStatement::DropTable { names, if_exists, cascade: *cascade }
                    }
                    ast::ObjectType::Index => DdlStatement::DropIndex { names, if_exists },
                    ast::ObjectType::MaterializedView => {
                        DdlStatement::DropMaterializedView { names, if_exists, cascade: *cascade }
                    }
                    ast::ObjectType::View => {
                        DdlStatement::DropView { names, if_exists, cascade: *cascade }
                    }
                    ast::ObjectType::Sequence => DdlStatement::DropSequence { names, if_exists },
                    ast::ObjectType::Type => DdlStatement::DropType {
                        names,
                        if_exists,
                        cascade: *cascade,
                        domain: crate::parse::is_drop_domain_statement(statement),
                    },
                    ast::ObjectType::Role | ast::ObjectType::User => DdlStatement::DropRole {
                        names: names.into_iter().map(|(_, n)| n).collect(),
                        if_exists,
                    },
                    ast::ObjectType::Schema => DdlStatement::DropSchema {
                        names: names.into_iter().map(|(_, n)| n).collect(),
                        if_exists,
                        cascade: *cascade,
                    },
                    other => {
                        return Err(errinput!(
                            FEATURE_NOT_SUPPORTED,
                            "DROP {other} is not supported"
                        ));
                    }
                }
            }
            S::CreateIndex(ci) => DdlStatement::CreateIndex(CreateIndex {
                name: ci.name.as_ref().map(|n| split_name(n).map(|(_, n)| n)).transpose()?,
                table: split_name(&ci.table_name)?,
                keys: index_keys(&ci.columns)?,
                predicate: ci.predicate.as_ref().map(|p| p.to_string()),
                unique: ci.unique,
                if_not_exists: ci.if_not_exists,
                concurrently: ci.concurrently,
                method: index_method(ci.using.as_ref(), &ci.columns, &ci.with)?,
                nulls_not_distinct: ci.nulls_distinct == Some(false),
            }),
            S::AlterTable(alter) if crate::parse::is_alter_domain(alter) => {
                self.bind_alter_domain(alter)?
            }
            S::AlterTable(alter) if crate::parse::is_alter_type_attributes_statement(alter) => {
                DdlStatement::AlterComposite {
                    name: split_name(&alter.name)?,
                    actions: alter
                        .operations
                        .iter()
                        .map(|op| self.attribute_action(op))
                        .collect::<Result<_>>()?,
                }
            }
            S::AlterTable(alter) => {
                let mut actions = Vec::new();
                for op in &alter.operations {
                    let mut action = alter_action(op, &|s, n| self.user_type(s, n))?;
                    self.resolve_column_domain(op, &mut action)?;
                    actions.push(action);
                }
                DdlStatement::AlterTable {
                    table: split_name(&alter.name)?,
                    if_exists: alter.if_exists,
                    actions,
                }
            }
            S::CreateDomain(domain) => self.bind_create_domain(domain)?,
            S::CreateTrigger(ct) => self.bind_create_trigger(ct)?,
            S::DropTrigger(dt) => self.bind_drop_trigger(dt)?,
            S::CreateExtension(ce) => DdlStatement::CreateExtension {
                name: ident(&ce.name),
                if_not_exists: ce.if_not_exists,
                schema: ce.schema.as_ref().map(ident),
            },
            S::DropExtension(de) => DdlStatement::DropExtension {
                names: de.names.iter().map(ident).collect(),
                if_exists: de.if_exists,
            },

            S::CreateView(cv) if cv.materialized => {
                let plan = self.bind_query(&cv.query)?;
                // Named columns take the query's types (filled when it is created).
                let columns = cv
                    .columns
                    .iter()
                    .map(|c| ColumnSpec {
                        name: ident(&c.name),
                        data_type: DataType::Text,
                        not_null: false,
                        default: None,
                        serial: false,
                        identity_always: false,
                        identity_by_default: false,
                        generated: None,
                        domain: None,
                        identity_options: None,
                    })
                    .collect();
                let sql = self.qualified_query(&cv.query, &plan)?;
                DdlStatement::CreateTable(Box::new(CreateTable {
                    name: split_name(&cv.name)?,
                    if_not_exists: cv.if_not_exists,
                    columns,
                    constraints: Vec::new(),
                    as_query: Some(plan),
                    materialized: Some((sql, !crate::parse::with_no_data(cv))),
                }))
            }
            S::RefreshMaterializedView(r) => DdlStatement::RefreshMaterializedView {
                name: split_name(&r.name)?,
                concurrently: r.concurrently,
                with_data: r.with_data != Some(false),
            },
            S::CreateView(cv) => {
                let plan = self.bind_query(&cv.query)?;
                let check_option = match cv.comment.as_deref() {
                    Some(crate::parse::LOCAL_CHECK_OPTION_MARK) => 1,
                    Some(crate::parse::CASCADED_CHECK_OPTION_MARK) => 2,
                    _ => 0,
                };
                if check_option != 0 {
                    self.check_option_allowed(&cv.query)?;
                }
                let sql = self.qualified_query(&cv.query, &plan)?;
                DdlStatement::CreateView {
                    check_option,
                    name: split_name(&cv.name)?,
                    or_replace: cv.or_replace,
                    if_not_exists: cv.if_not_exists,
                    sql,
                    columns: cv.columns.iter().map(|c| ident(&c.name)).collect(),
                    plan,
                }
            }
            S::CreateSchema { schema_name, if_not_exists, .. } => {
                let name = match schema_name {
                    ast::SchemaName::Simple(n) | ast::SchemaName::NamedAuthorization(n, _) => {
                        split_name(n)?.1
                    }
                    ast::SchemaName::UnnamedAuthorization(id) => ident(id),
                };
                DdlStatement::CreateSchema { name, if_not_exists: *if_not_exists }
            }
            S::CreateSequence { if_not_exists, name, sequence_options, .. }
                if let Some(alter) = crate::parse::alter_sequence(sequence_options) =>
            {
                let restart = match &alter.restart {
                    None => None,
                    Some(None) => Some(None),
                    Some(Some(e)) => Some(Some(sequence_int(e)?)),
                };
                DdlStatement::AlterSequence {
                    name: split_name(name)?,
                    if_exists: *if_not_exists,
                    options: sequence_spec(&alter.options)?,
                    restart,
                    rename: alter.rename.as_ref().map(ident),
                }
            }
            S::CreateSequence { if_not_exists, name, sequence_options, .. } => {
                DdlStatement::CreateSequence {
                    name: split_name(name)?,
                    if_not_exists: *if_not_exists,
                    options: sequence_spec(sequence_options)?,
                }
            }
            S::CreateRole(cr) => DdlStatement::CreateRole {
                names: cr
                    .names
                    .iter()
                    .map(|n| split_name(n).map(|(_, n)| n))
                    .collect::<Result<_>>()?,
                if_not_exists: cr.if_not_exists,
                options: {
                    // A superuser has them all (pg_dumpall writes them out for one).
                    if cr.superuser != Some(true) {
                        unused_role_attribute("CREATEDB", cr.create_db)?;
                        unused_role_attribute("REPLICATION", cr.replication)?;
                        unused_role_attribute("BYPASSRLS", cr.bypassrls)?;
                    }
                    RoleSpec {
                        login: cr.login,
                        superuser: cr.superuser,
                        password: cr.password.as_ref().map(role_password).transpose()?,
                        createrole: cr.create_role,
                        inherit: cr.inherit,
                        in_roles: cr.in_role.iter().chain(&cr.in_group).map(ident).collect(),
                        members: cr.role.iter().chain(&cr.user).map(ident).collect(),
                        admins: cr.admin.iter().map(ident).collect(),
                    }
                },
            },
            S::AlterRole { name, operation } => {
                let mut options = RoleSpec::default();
                let mut rename = None;
                match operation {
                    ast::AlterRoleOperation::RenameRole { role_name } => {
                        rename = Some(ident(role_name))
                    }
                    ast::AlterRoleOperation::WithOptions { options: list } => {
                        // A superuser has CREATEDB, REPLICATION and BYPASSRLS anyway.
                        let superuser =
                            list.iter().any(|o| matches!(o, ast::RoleOption::SuperUser(true)));
                        let unused = |name: &str, on: bool| {
                            if superuser { Ok(()) } else { unused_role_attribute(name, Some(on)) }
                        };
                        for o in list {
                            match o {
                                ast::RoleOption::Login(b) => options.login = Some(*b),
                                ast::RoleOption::SuperUser(b) => options.superuser = Some(*b),
                                ast::RoleOption::Password(p) => {
                                    options.password = Some(role_password(p)?)
                                }
                                ast::RoleOption::CreateRole(b) => options.createrole = Some(*b),
                                ast::RoleOption::Inherit(b) => options.inherit = Some(*b),
                                ast::RoleOption::CreateDB(b) => unused("CREATEDB", *b)?,
                                ast::RoleOption::Replication(b) => unused("REPLICATION", *b)?,
                                ast::RoleOption::BypassRLS(b) => unused("BYPASSRLS", *b)?,
                                other => {
                                    return Err(errinput!(
                                        FEATURE_NOT_SUPPORTED,
                                        "role option {other} is not supported"
                                    ));
                                }
                            }
                        }
                    }
                    other => {
                        return Err(errinput!(
                            FEATURE_NOT_SUPPORTED,
                            "ALTER ROLE {other} is not supported"
                        ));
                    }
                }
                DdlStatement::AlterRole { name: ident(name), options, rename }
            }
            S::CreateFunction(f) => {
                DdlStatement::CreateRoutine(Box::new(self.bind_create_routine(f)?))
            }
            S::DropFunction(d) => DdlStatement::DropRoutine {
                kind: crate::procedure::RoutineKind::Function,
                names: super::routine::routine_names(&d.func_desc)?,
                if_exists: d.if_exists,
                cascade: matches!(d.drop_behavior, Some(ast::DropBehavior::Cascade)),
            },
            S::DropProcedure { if_exists, proc_desc, drop_behavior } => DdlStatement::DropRoutine {
                kind: crate::procedure::RoutineKind::Procedure,
                names: super::routine::routine_names(proc_desc)?,
                if_exists: *if_exists,
                cascade: matches!(drop_behavior, Some(ast::DropBehavior::Cascade)),
            },
            S::CreateType { name, representation } => match representation {
                Some(ast::UserDefinedTypeRepresentation::Enum { labels }) => {
                    DdlStatement::CreateEnum {
                        name: split_name(name)?,
                        labels: labels.iter().map(|l| l.value.clone()).collect(),
                    }
                }
                Some(ast::UserDefinedTypeRepresentation::Composite { attributes }) => {
                    DdlStatement::CreateComposite {
                        name: split_name(name)?,
                        attributes: self.composite_attributes(attributes)?,
                    }
                }
                _ => {
                    return Err(errinput!(
                        FEATURE_NOT_SUPPORTED,
                        "only enum and composite types can be created (CREATE TYPE name AS ENUM (...) or AS (...))"
                    ));
                }
            },
            S::AlterType(ast::AlterType { name, operation }) => {
                use ast::AlterTypeOperation as Op;
                let action = match operation {
                    Op::Rename(r) => AlterTypeAction::Rename(ident(&r.new_name)),
                    Op::AddValue(add) => AlterTypeAction::AddValue {
                        label: add.value.value.clone(),
                        if_not_exists: add.if_not_exists,
                        neighbor: add.position.as_ref().map(|p| match p {
                            ast::AlterTypeAddValuePosition::Before(n) => (n.value.clone(), true),
                            ast::AlterTypeAddValuePosition::After(n) => (n.value.clone(), false),
                        }),
                    },
                    Op::RenameValue(r) => AlterTypeAction::RenameValue {
                        from: r.from.value.clone(),
                        to: r.to.value.clone(),
                    },
                };
                DdlStatement::AlterType { name: split_name(name)?, action }
            }
            S::Truncate(t) => DdlStatement::Truncate {
                names: t.table_names.iter().map(|t| split_name(&t.name)).collect::<Result<_>>()?,
                restart_identity: matches!(t.identity, Some(ast::TruncateIdentityOption::Restart)),
            },
            _ => return Ok(None),
        }))
    }

    /// One action of ALTER TYPE on a composite type's attributes, as the parser carries it
    /// (see [`crate::parse::is_alter_type_attributes_statement`]).
    fn attribute_action(&self, op: &ast::AlterTableOperation) -> Result<AttributeAction> {
        use ast::AlterTableOperation as Op;
        Ok(match op {
            Op::AddColumn { column_def, .. } => {
                let options = column_def.options.iter().map(|o| o.option.clone());
                let attribute = ast::UserDefinedTypeCompositeAttributeDef {
                    name: column_def.name.clone(),
                    data_type: column_def.data_type.clone(),
                    collation: options
                        .filter_map(|o| match o {
                            ast::ColumnOption::Collation(c) => Some(c),
                            _ => None,
                        })
                        .next(),
                };
                let [(name, data_type)] =
                    <[_; 1]>::try_from(self.composite_attributes(&[attribute])?)
                        .map_err(|_| errinput!(INTERNAL_ERROR, "one attribute expected"))?;
                AttributeAction::Add { name, data_type }
            }
            Op::DropColumn { column_names, if_exists, .. } => AttributeAction::Drop {
                name: column_names.first().map(ident).unwrap_or_default(),
                if_exists: *if_exists,
            },
            Op::AlterColumn {
                column_name,
                op: ast::AlterColumnOperation::SetDataType { data_type, using, .. },
            } => {
                if let Some(collation) = using {
                    check_collation(&collation.to_string())?;
                }
                let attribute = ast::UserDefinedTypeCompositeAttributeDef {
                    name: column_name.clone(),
                    data_type: data_type.clone(),
                    collation: None,
                };
                let [(name, data_type)] =
                    <[_; 1]>::try_from(self.composite_attributes(&[attribute])?)
                        .map_err(|_| errinput!(INTERNAL_ERROR, "one attribute expected"))?;
                AttributeAction::SetType { name, data_type }
            }
            Op::RenameColumn { old_column_name, new_column_name } => {
                AttributeAction::Rename { from: ident(old_column_name), to: ident(new_column_name) }
            }
            other => {
                return Err(errinput!(
                    FEATURE_NOT_SUPPORTED,
                    "ALTER TYPE action not supported: {other}"
                ));
            }
        })
    }

    /// A composite type's attributes. A domain's constraints would not be checked on the
    /// attribute's values, so domains are refused.
    fn composite_attributes(
        &self,
        attributes: &[ast::UserDefinedTypeCompositeAttributeDef],
    ) -> Result<Vec<(String, DataType)>> {
        attributes
            .iter()
            .map(|a| {
                if let Some(c) = &a.collation {
                    check_collation(&c.to_string())?;
                }
                if let Some(d) = self.domain_of(&a.data_type)? {
                    return Err(errinput!(
                        FEATURE_NOT_SUPPORTED,
                        "attribute \"{}\" of domain type {}: attributes of a domain type are not supported",
                        ident(&a.name),
                        d.sql_name()
                    ));
                }
                Ok((ident(&a.name), self.data_type(&a.data_type)?))
            })
            .collect()
    }

    fn bind_create_table(&self, ct: &ast::CreateTable) -> Result<CreateTable> {
        let mut name = split_name(&ct.name)?;
        if ct.temporary {
            if matches!(ct.on_commit, Some(ast::OnCommit::Drop | ast::OnCommit::DeleteRows)) {
                return Err(errinput!(
                    FEATURE_NOT_SUPPORTED,
                    "ON COMMIT DROP and ON COMMIT DELETE ROWS are not supported"
                ));
            }
            match name.0.as_deref() {
                None | Some("pg_temp") => name.0 = Some("pg_temp".into()),
                Some(_) => {
                    return Err(errinput!(
                        INVALID_TABLE_DEFINITION,
                        "cannot create temporary relation in non-temporary schema"
                    ));
                }
            }
        }
        let mut columns = Vec::new();
        let mut constraints = Vec::new();
        if let Some(
            ast::CreateTableLikeKind::Parenthesized(like) | ast::CreateTableLikeKind::Plain(like),
        ) = &ct.like
        {
            // LIKE copies the columns' names, types and NOT NULL; defaults only with
            // INCLUDING DEFAULTS (PostgreSQL's default: no defaults, constraints or indexes).
            let source = self.table(&like.name)?;
            let defaults = matches!(like.defaults, Some(ast::CreateTableLikeDefaults::Including));
            columns.extend(source.live_columns().map(|(_, c)| ColumnSpec {
                name: c.name.clone(),
                data_type: c.data_type.clone(),
                not_null: c.not_null,
                default: c.default.clone().filter(|_| defaults && c.generated.is_none()),
                serial: false,
                identity_always: false,
                identity_by_default: false,
                generated: None,
                domain: c.domain.clone(),
                identity_options: None,
            }));
        }
        for def in &ct.columns {
            let (mut spec, column_constraints) = column_spec(def, &|s, n| self.user_type(s, n))?;
            self.refuse_domain_array(&def.data_type)?;
            spec.domain = self.domain_of(&def.data_type)?;
            columns.push(spec);
            constraints.extend(column_constraints);
        }
        for c in &ct.constraints {
            constraints.push(table_constraint(c)?);
        }
        let as_query = ct.query.as_ref().map(|q| self.bind_query(q)).transpose()?;
        Ok(CreateTable {
            name,
            if_not_exists: ct.if_not_exists,
            columns,
            constraints,
            as_query,
            materialized: None,
        })
    }
}

fn alter_action(op: &ast::AlterTableOperation, types: TypeLookup<'_>) -> Result<AlterAction> {
    use ast::AlterTableOperation as A;
    let trigger = |name: &ast::Ident| match name.value.to_lowercase().as_str() {
        "all" | "user" if name.quote_style.is_none() => None,
        _ => Some(ident(name)),
    };
    Ok(match op {
        A::EnableTrigger { name } => AlterAction::EnableTrigger { name: trigger(name), on: true },
        A::ReplicaIdentity { identity } => {
            let (identity, index) = match identity {
                ast::ReplicaIdentity::Default => (b'd', None),
                ast::ReplicaIdentity::Nothing => (b'n', None),
                ast::ReplicaIdentity::Full => (b'f', None),
                ast::ReplicaIdentity::Index(name) => (b'i', Some(ident(name))),
            };
            AlterAction::ReplicaIdentity { identity, index }
        }
        A::EnableRowLevelSecurity => {
            AlterAction::RowSecurity { flag: crate::catalog::policies::ENABLED, on: true }
        }
        A::DisableRowLevelSecurity => {
            AlterAction::RowSecurity { flag: crate::catalog::policies::ENABLED, on: false }
        }
        A::ForceRowLevelSecurity => {
            AlterAction::RowSecurity { flag: crate::catalog::policies::FORCED, on: true }
        }
        A::NoForceRowLevelSecurity => {
            AlterAction::RowSecurity { flag: crate::catalog::policies::FORCED, on: false }
        }
        A::DisableTrigger { name } => AlterAction::EnableTrigger { name: trigger(name), on: false },
        A::AddColumn { if_not_exists, column_def, .. } => {
            let (column, constraints) = column_spec(column_def, types)?;
            AlterAction::AddColumn { column, constraints, if_not_exists: *if_not_exists }
        }
        A::DropColumn { column_names, if_exists, drop_behavior, .. } => {
            let [name] = column_names.as_slice() else {
                return Err(errinput!(FEATURE_NOT_SUPPORTED, "drop one column per DROP COLUMN"));
            };
            AlterAction::DropColumn {
                name: ident(name),
                if_exists: *if_exists,
                cascade: matches!(drop_behavior, Some(ast::DropBehavior::Cascade)),
            }
        }
        A::RenameColumn { old_column_name, new_column_name } => {
            AlterAction::RenameColumn { old: ident(old_column_name), new: ident(new_column_name) }
        }
        A::RenameTable { table_name } => {
            let name = match table_name {
                ast::RenameTableNameKind::As(n) | ast::RenameTableNameKind::To(n) => {
                    split_name(n)?.1
                }
            };
            AlterAction::RenameTable(name)
        }
        A::AlterColumn { column_name, op } => {
            let column = ident(column_name);
            match op {
                ast::AlterColumnOperation::SetNotNull => {
                    AlterAction::SetNotNull { column, not_null: true }
                }
                ast::AlterColumnOperation::DropNotNull => {
                    AlterAction::SetNotNull { column, not_null: false }
                }
                ast::AlterColumnOperation::SetDefault { value } => AlterAction::SetDefault {
                    column,
                    default: Some(crate::parse::default_sql(value)),
                },
                ast::AlterColumnOperation::DropDefault => {
                    AlterAction::SetDefault { column, default: None }
                }
                ast::AlterColumnOperation::AddGenerated { generated_as, sequence_options } => {
                    let options = sequence_options.as_deref().unwrap_or_default();
                    let sequence_name = crate::parse::identity_sequence_name(options)
                        .map(|n| split_name(&n))
                        .transpose()?;
                    let mut options = sequence_spec(options)?;
                    options.owned_by = None; // it carried the SEQUENCE NAME
                    AlterAction::AddIdentity {
                        column,
                        always: !matches!(generated_as, Some(ast::GeneratedAs::ByDefault)),
                        options,
                        sequence_name,
                    }
                }
                ast::AlterColumnOperation::SetDataType { data_type: t, using, .. } => {
                    AlterAction::SetType {
                        column,
                        data_type: data_type_with(t, types)?,
                        domain: None,
                        using: using.as_ref().map(|u| u.to_string()),
                    }
                }
                ast::AlterColumnOperation::GenericOptions { options }
                    if matches!(options.as_slice(), [ast::AlterGenericOption::Add { option, .. }]
                        if option.key.value == crate::parse::STATISTICS_OPTION) =>
                {
                    let [ast::AlterGenericOption::Add { option, .. }] = options.as_slice() else {
                        unreachable!("matched above")
                    };
                    let target: i32 = option.value.value.parse().map_err(|_| {
                        errinput!(SYNTAX_ERROR, "invalid statistics target {}", option.value.value)
                    })?;
                    // PostgreSQL's bounds: -1 (the default) up to 10000.
                    if target < -1 {
                        return Err(errinput!(
                            INVALID_PARAMETER_VALUE,
                            "statistics target {target} is too low"
                        ));
                    }
                    AlterAction::SetStatistics { column, target: target.min(10_000) }
                }
                other => {
                    return Err(errinput!(
                        FEATURE_NOT_SUPPORTED,
                        "ALTER COLUMN {other} is not supported"
                    ));
                }
            }
        }
        A::AddConstraint { constraint, not_valid } => {
            let spec = table_constraint(constraint)?;
            let kind = match spec {
                ConstraintSpec::PrimaryKey { .. } => Some("PRIMARY KEY"),
                ConstraintSpec::Unique { .. } => Some("UNIQUE"),
                ConstraintSpec::Check { .. } | ConstraintSpec::ForeignKey { .. } => None,
            };
            if let (true, Some(kind)) = (*not_valid, kind) {
                return Err(errinput!(
                    FEATURE_NOT_SUPPORTED,
                    "{kind} constraints cannot be marked NOT VALID"
                ));
            }
            AlterAction::AddConstraint { spec, not_valid: *not_valid }
        }
        A::ValidateConstraint { name } => AlterAction::ValidateConstraint(ident(name)),
        A::DropConstraint { if_exists, name, .. } => {
            AlterAction::DropConstraint { name: ident(name), if_exists: *if_exists }
        }
        other => {
            return Err(errinput!(FEATURE_NOT_SUPPORTED, "ALTER TABLE {other} is not supported"));
        }
    })
}

/// A schema name as the first part of a qualified name, quoted where SQL needs it.
fn schema_part(schema: &str) -> ast::ObjectNamePart {
    let plain = crate::functions::string::quote_identifier(schema) == schema;
    let id = if plain { ast::Ident::new(schema) } else { ast::Ident::with_quote('"', schema) };
    ast::ObjectNamePart::Identifier(id)
}

/// Replaces the one `*` (or `t.*`) of a view's plain SELECT list with the columns it stands
/// for in `plan` (the bound query), qualified as they were read. Left as it is where that
/// is not plain: set operations, several wildcards, joins with USING or NATURAL (whose
/// merged columns have no one table).
fn expand_wildcard(query: &mut ast::Query, plan: &Plan) {
    let ast::SetExpr::Select(select) = query.body.as_mut() else { return };
    let is_wildcard = |item: &ast::SelectItem| {
        matches!(item, ast::SelectItem::Wildcard(_) | ast::SelectItem::QualifiedWildcard(..))
    };
    let wildcards = select.projection.iter().filter(|i| is_wildcard(i)).count();
    let merged_joins = select.from.iter().flat_map(|t| &t.joins).any(|j| {
        let constraint = match &j.join_operator {
            ast::JoinOperator::Join(c)
            | ast::JoinOperator::Inner(c)
            | ast::JoinOperator::Left(c)
            | ast::JoinOperator::LeftOuter(c)
            | ast::JoinOperator::Right(c)
            | ast::JoinOperator::RightOuter(c)
            | ast::JoinOperator::FullOuter(c) => Some(c),
            _ => None,
        };
        matches!(constraint, Some(ast::JoinConstraint::Using(_) | ast::JoinConstraint::Natural))
    });
    let columns: Vec<&crate::plan::Column> = plan.columns.iter().filter(|c| !c.hidden).collect();
    if wildcards != 1 || merged_joins || columns.len() + 1 < select.projection.len() {
        return;
    }
    let expanded = columns.len() + 1 - select.projection.len();
    let at = select.projection.iter().position(is_wildcard).unwrap_or_default();
    let quoted = |name: &str| {
        let plain = crate::functions::string::quote_identifier(name) == name;
        if plain { ast::Ident::new(name) } else { ast::Ident::with_quote('"', name) }
    };
    let items: Vec<ast::SelectItem> = columns[at..at + expanded]
        .iter()
        .map(|c| {
            let expr = match &c.table {
                Some(t) => ast::Expr::CompoundIdentifier(vec![quoted(t), quoted(&c.name)]),
                None => ast::Expr::Identifier(quoted(&c.name)),
            };
            ast::SelectItem::UnnamedExpr(expr)
        })
        .collect();
    select.projection.splice(at..=at, items);
}
