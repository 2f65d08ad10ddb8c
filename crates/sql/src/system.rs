//! Built-in catalog views: enough of `pg_catalog` and `information_schema` for psql, drivers
//! and ORMs to discover schemas, tables, columns, indexes and constraints.
//!
//! They are computed on demand from the catalog (a [`CatalogSnapshot`] taken in the reading
//! transaction), so they are always consistent with the real catalog and cost nothing to
//! maintain. Object ids are the catalog's relation ids, type OIDs are PostgreSQL's.

use std::sync::Arc;

use oxibase_common::{Array, DataType, Result, Value};

use crate::catalog::acl::ObjectKind;
use crate::catalog::{
    ConstraintKind, Deferral, Domain, Index, IndexKey, IndexMethod, Sequence, Table, deparse,
};
use crate::keys::RelId;
use crate::procedure::{Routine, RoutineKind};
use crate::types::{type_oid, type_size};

/// A built-in catalog view.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SystemTable {
    /// pg_namespace
    PgNamespace,
    /// pg_class
    PgClass,
    /// pg_attribute
    PgAttribute,
    /// pg_type
    PgType,
    /// pg_enum
    PgEnum,
    /// pg_index
    PgIndex,
    /// pg_database
    PgDatabase,
    /// pg_roles
    PgRoles,
    /// pg_authid: pg_roles with each role's password verifier (NULL for none), for
    /// superusers only (pg_dumpall reads it).
    PgAuthid,
    /// pg_user
    PgUser,
    /// pg_settings
    PgSettings,
    /// pg_tables
    PgTables,
    /// pg_stat_all_tables / pg_stat_user_tables (`io`: pg_statio_*), one row per table;
    /// Oxibase keeps no per-table counters, so they are NULL.
    PgStatTables {
        /// System catalogs too (the `_all_` views).
        all: bool,
        /// The block I/O view (pg_statio_*).
        io: bool,
    },
    /// pg_views
    PgViews,
    /// pg_matviews
    PgMatviews,
    /// pg_indexes
    PgIndexes,
    /// pg_sequences
    PgSequences,
    /// pg_constraint
    PgConstraint,
    /// pg_attrdef
    PgAttrdef,
    /// pg_description (empty)
    PgDescription,
    /// pg_proc (built-ins are not listed)
    PgProc,
    /// pg_am
    PgAm,
    /// pg_tablespace: PostgreSQL's two built-in tablespaces (Oxibase keeps everything in its
    /// data directory, which is `pg_default`).
    PgTablespace,
    /// pg_inherits (empty)
    PgInherits,
    /// pg_extension (empty)
    PgExtension,
    /// pg_trigger
    PgTrigger,
    /// pg_collation
    PgCollation,
    /// pg_ts_config, pg_ts_dict, pg_ts_parser, pg_ts_template: the text search
    /// configurations Oxibase has (`simple` and one snowball stemmer per language), their
    /// dictionaries, the one parser and the two templates behind them.
    PgTsConfig,
    /// pg_ts_dict (see [`SystemTable::PgTsConfig`]).
    PgTsDict,
    /// pg_ts_parser (see [`SystemTable::PgTsConfig`]).
    PgTsParser,
    /// pg_ts_template (see [`SystemTable::PgTsConfig`]).
    PgTsTemplate,
    /// pg_language: internal, c (which Wasm routines show as) and sql
    PgLanguage,
    /// pg_stat_activity
    PgStatActivity,
    /// pg_stat_database: one row, the database's cumulative counters
    PgStatDatabase,
    /// pg_locks: the row locks held and awaited
    PgLocks,
    /// oxibase_stat_server: every cumulative counter the monitor charts (see
    /// `docs/monitoring.md`)
    OxibaseStatServer,
    /// `pg_stat_replication`: the followers streaming from this leader.
    PgStatReplication,
    /// pg_cursors: the session's open cursors
    PgCursors,
    /// pg_sequence: each sequence's parameters by relation oid
    PgSequence,
    /// information_schema.tables
    InfoTables,
    /// information_schema.columns
    InfoColumns,
    /// information_schema.schemata
    InfoSchemata,
    /// information_schema.table_constraints
    InfoTableConstraints,
    /// information_schema.key_column_usage
    InfoKeyColumnUsage,
    /// information_schema.referential_constraints
    InfoReferentialConstraints,
    /// information_schema.constraint_column_usage
    InfoConstraintColumnUsage,
    /// information_schema.constraint_table_usage
    InfoConstraintTableUsage,
    /// information_schema.views
    InfoViews,
    /// information_schema.sequences
    InfoSequences,
    /// information_schema.routines (user routines; none yet)
    InfoRoutines,
    /// information_schema.triggers: one row per trigger and event
    InfoTriggers,
    /// information_schema.domains
    InfoDomains,
    /// information_schema.domain_constraints
    InfoDomainConstraints,
    /// information_schema.table_privileges (and role_table_grants)
    InfoTablePrivileges,
    /// A catalog table Oxibase has no objects for (policies, publications, triggers, ...):
    /// always empty, with PostgreSQL's columns, so client queries that join it work. The
    /// number is its position in `EMPTY_TABLES`.
    Empty(usize),
}

/// Catalog tables that are always empty here, with their columns (PostgreSQL's names and
/// types), as clients like psql query them.
/// pg_language's oid of plpgsql (PostgreSQL 15 gives it one above the bootstrap range).
const PLPGSQL_OID: RelId = 13_576;

/// The WebAssembly languages' pg_language oids (built in, so below 16384, where pg_dump
/// leaves them out), by the name `CREATE FUNCTION ... LANGUAGE` takes.
const WASM_LANGUAGES: &[(RelId, &str)] = &[
    (13_580, "wat"),
    (13_581, "wasm"),
    (13_582, "rust"),
    (13_583, "typescript"),
    (13_584, "assemblyscript"),
];

const EMPTY_TABLES: &[(&str, &[(&str, &str)])] = &[
    (
        "pg_policies",
        &[
            ("schemaname", "text"),
            ("tablename", "text"),
            ("policyname", "text"),
            ("permissive", "text"),
            ("roles", "text[]"),
            ("cmd", "text"),
            ("qual", "text"),
            ("with_check", "text"),
        ],
    ),
    (
        "pg_policy",
        &[
            ("oid", "int8"),
            ("polname", "text"),
            ("polrelid", "int8"),
            ("polcmd", "text"),
            ("polpermissive", "bool"),
            ("polroles", "int8[]"),
            ("polqual", "text"),
            ("polwithcheck", "text"),
        ],
    ),
    (
        "pg_statistic_ext",
        &[
            ("oid", "int8"),
            ("stxrelid", "int8"),
            ("stxname", "text"),
            ("stxnamespace", "int8"),
            ("stxowner", "int8"),
            ("stxstattarget", "int4"),
            ("stxkeys", "int2[]"),
            ("stxkind", "text[]"),
        ],
    ),
    ("pg_statistic_ext_data", &[("stxoid", "int8"), ("stxdinherit", "bool")]),
    (
        "pg_publication",
        &[
            ("oid", "int8"),
            ("pubname", "text"),
            ("pubowner", "int8"),
            ("puballtables", "bool"),
            ("pubinsert", "bool"),
            ("pubupdate", "bool"),
            ("pubdelete", "bool"),
            ("pubtruncate", "bool"),
            ("pubviaroot", "bool"),
        ],
    ),
    (
        "pg_publication_rel",
        &[
            ("oid", "int8"),
            ("prpubid", "int8"),
            ("prrelid", "int8"),
            ("prqual", "text"),
            ("prattrs", "int2[]"),
        ],
    ),
    ("pg_publication_namespace", &[("oid", "int8"), ("pnpubid", "int8"), ("pnnspid", "int8")]),
    (
        "pg_subscription",
        &[
            ("oid", "int8"),
            ("subdbid", "int8"),
            ("subname", "text"),
            ("subowner", "int8"),
            ("subenabled", "bool"),
            ("subbinary", "bool"),
            ("substream", "text"),
            ("subtwophasestate", "text"),
            ("subdisableonerr", "bool"),
            ("subconninfo", "text"),
            ("subslotname", "text"),
            ("subsynccommit", "text"),
            ("subpublications", "text[]"),
            ("subskiplsn", "text"),
        ],
    ),
    (
        "pg_auth_members",
        &[
            ("oid", "int8"),
            ("roleid", "int8"),
            ("member", "int8"),
            ("grantor", "int8"),
            ("admin_option", "bool"),
        ],
    ),
    (
        "pg_rewrite",
        &[
            ("oid", "int8"),
            ("rulename", "text"),
            ("ev_class", "int8"),
            ("ev_type", "text"),
            ("ev_enabled", "text"),
            ("is_instead", "bool"),
        ],
    ),
    (
        "pg_event_trigger",
        &[
            ("oid", "int8"),
            ("evtname", "text"),
            ("evtevent", "text"),
            ("evtowner", "int8"),
            ("evtfoid", "int8"),
            ("evtenabled", "text"),
            ("evttags", "text[]"),
        ],
    ),
    (
        "pg_depend",
        &[
            ("classid", "int8"),
            ("objid", "int8"),
            ("objsubid", "int4"),
            ("refclassid", "int8"),
            ("refobjid", "int8"),
            ("refobjsubid", "int4"),
            ("deptype", "text"),
        ],
    ),
    (
        "pg_shdepend",
        &[
            ("dbid", "int8"),
            ("classid", "int8"),
            ("objid", "int8"),
            ("objsubid", "int4"),
            ("refclassid", "int8"),
            ("refobjid", "int8"),
            ("deptype", "text"),
        ],
    ),
    ("pg_shdescription", &[("objoid", "int8"), ("classoid", "int8"), ("description", "text")]),
    (
        "pg_partitioned_table",
        &[
            ("partrelid", "int8"),
            ("partstrat", "text"),
            ("partnatts", "int2"),
            ("partdefid", "int8"),
            ("partattrs", "int2[]"),
            ("partclass", "int8[]"),
            ("partcollation", "int8[]"),
            ("partexprs", "text"),
        ],
    ),
    ("pg_foreign_table", &[("ftrelid", "int8"), ("ftserver", "int8")]),
    (
        "pg_foreign_server",
        &[
            ("oid", "int8"),
            ("srvname", "text"),
            ("srvowner", "int8"),
            ("srvfdw", "int8"),
            ("srvtype", "text"),
            ("srvversion", "text"),
            ("srvacl", "text[]"),
            ("srvoptions", "text[]"),
        ],
    ),
    (
        "pg_foreign_data_wrapper",
        &[
            ("oid", "int8"),
            ("fdwname", "text"),
            ("fdwowner", "int8"),
            ("fdwhandler", "int8"),
            ("fdwvalidator", "int8"),
            ("fdwacl", "text[]"),
            ("fdwoptions", "text[]"),
        ],
    ),
    (
        "pg_user_mappings",
        &[
            ("umid", "int8"),
            ("srvid", "int8"),
            ("srvname", "text"),
            ("umuser", "int8"),
            ("usename", "text"),
            ("umoptions", "text[]"),
        ],
    ),
    (
        "pg_db_role_setting",
        &[("setdatabase", "int8"), ("setrole", "int8"), ("setconfig", "text[]")],
    ),
    ("pg_largeobject_metadata", &[("oid", "int8"), ("lomowner", "int8"), ("lomacl", "text[]")]),
    (
        "pg_opclass",
        &[
            ("oid", "int8"),
            ("opcmethod", "int8"),
            ("opcname", "text"),
            ("opcnamespace", "int8"),
            ("opcintype", "int8"),
            ("opcdefault", "bool"),
            ("opcowner", "int8"),
            ("opcfamily", "int8"),
            ("opckeytype", "int8"),
        ],
    ),
    (
        "pg_operator",
        &[
            ("oid", "int8"),
            ("oprname", "text"),
            ("oprnamespace", "int8"),
            ("oprowner", "int8"),
            ("oprkind", "text"),
            ("oprleft", "int8"),
            ("oprright", "int8"),
            ("oprresult", "int8"),
            ("oprcode", "int8"),
        ],
    ),
    ("pg_aggregate", &[("aggfnoid", "int8"), ("aggkind", "text"), ("aggtransfn", "text")]),
    (
        "pg_cast",
        &[
            ("oid", "int8"),
            ("castsource", "int8"),
            ("casttarget", "int8"),
            ("castfunc", "int8"),
            ("castcontext", "text"),
            ("castmethod", "text"),
        ],
    ),
    (
        "pg_opfamily",
        &[
            ("oid", "int8"),
            ("opfmethod", "int8"),
            ("opfname", "text"),
            ("opfnamespace", "int8"),
            ("opfowner", "int8"),
        ],
    ),
    (
        "pg_conversion",
        &[
            ("oid", "int8"),
            ("conname", "text"),
            ("connamespace", "int8"),
            ("conowner", "int8"),
            ("conforencoding", "int4"),
            ("contoencoding", "int4"),
            ("conproc", "int8"),
            ("condefault", "bool"),
        ],
    ),
    (
        "pg_default_acl",
        &[
            ("oid", "int8"),
            ("defaclrole", "int8"),
            ("defaclnamespace", "int8"),
            ("defaclobjtype", "text"),
            ("defaclacl", "text[]"),
        ],
    ),
    (
        "pg_init_privs",
        &[
            ("objoid", "int8"),
            ("classoid", "int8"),
            ("objsubid", "int4"),
            ("privtype", "text"),
            ("initprivs", "text[]"),
        ],
    ),
    (
        "pg_seclabel",
        &[
            ("objoid", "int8"),
            ("classoid", "int8"),
            ("objsubid", "int4"),
            ("provider", "text"),
            ("label", "text"),
        ],
    ),
    ("pg_range", &[("rngtypid", "int8"), ("rngsubtype", "int8"), ("rngmultitypid", "int8")]),
    (
        "pg_transform",
        &[
            ("oid", "int8"),
            ("trftype", "int8"),
            ("trflang", "int8"),
            ("trffromsql", "int8"),
            ("trftosql", "int8"),
        ],
    ),
    (
        "pg_amop",
        &[
            ("oid", "int8"),
            ("amopfamily", "int8"),
            ("amoplefttype", "int8"),
            ("amoprighttype", "int8"),
            ("amopstrategy", "int2"),
            ("amopopr", "int8"),
            ("amopmethod", "int8"),
        ],
    ),
    (
        "pg_amproc",
        &[
            ("oid", "int8"),
            ("amprocfamily", "int8"),
            ("amproclefttype", "int8"),
            ("amprocrighttype", "int8"),
            ("amprocnum", "int2"),
            ("amproc", "text"),
        ],
    ),
    ("pg_parameter_acl", &[("oid", "int8"), ("parname", "text"), ("paracl", "text[]")]),
    (
        "pg_ts_config_map",
        &[("mapcfg", "int8"), ("maptokentype", "int4"), ("mapseqno", "int4"), ("mapdict", "int8")],
    ),
    (
        "pg_shseclabel",
        &[("objoid", "int8"), ("classoid", "int8"), ("provider", "text"), ("label", "text")],
    ),
    (
        "pg_seclabels",
        &[
            ("objoid", "int8"),
            ("classoid", "int8"),
            ("objsubid", "int4"),
            ("objtype", "text"),
            ("objnamespace", "int8"),
            ("objname", "text"),
            ("provider", "text"),
            ("label", "text"),
        ],
    ),
];

/// The catalog columns PostgreSQL types `oid` (object ids and references to them): drivers
/// bind parameters compared with them as oids (four bytes in binary), so they say so.
const OID_COLUMNS: &[&str] = &[
    "oid",
    "adrelid",
    "aggfnoid",
    "attcollation",
    "attrelid",
    "atttypid",
    "castfunc",
    "castsource",
    "casttarget",
    "classid",
    "classoid",
    "collnamespace",
    "confrelid",
    "conindid",
    "connamespace",
    "conrelid",
    "datdba",
    "datid",
    "dbid",
    "defaclnamespace",
    "defaclrole",
    "enumtypid",
    "ev_class",
    "evtfoid",
    "evtowner",
    "fdwowner",
    "ftrelid",
    "ftserver",
    "grantor",
    "indexrelid",
    "indrelid",
    "inhparent",
    "inhrelid",
    "lanowner",
    "member",
    "nspowner",
    "objid",
    "objoid",
    "opcintype",
    "opcmethod",
    "opcnamespace",
    "oprleft",
    "oprnamespace",
    "oprresult",
    "oprright",
    "partdefid",
    "partrelid",
    "pnnspid",
    "pnpubid",
    "polrelid",
    "prolang",
    "pronamespace",
    "prorettype",
    "prpubid",
    "prrelid",
    "pubowner",
    "refclassid",
    "refobjid",
    "relam",
    "relfilenode",
    "relid",
    "relnamespace",
    "reloftype",
    "relowner",
    "reltablespace",
    "reltype",
    "rngsubtype",
    "rngtypid",
    "roleid",
    "srvfdw",
    "srvowner",
    "stxnamespace",
    "stxoid",
    "stxowner",
    "stxrelid",
    "subdbid",
    "subowner",
    "tgconstraint",
    "tgconstrindid",
    "tgconstrrelid",
    "tgfoid",
    "tgparentid",
    "tgrelid",
    "typarray",
    "typbasetype",
    "typcollation",
    "typelem",
    "typnamespace",
    "typowner",
    "typrelid",
    "usesysid",
];

/// The catalog columns PostgreSQL types `"char"` that drivers read in binary (a type's kind
/// and category, when they look up a type they do not know).
const CHAR_COLUMNS: &[&str] = &["typtype", "typcategory"];

/// Constant columns some views carry beyond those Oxibase computes, appended to each row
/// (PostgreSQL columns that are always the same here: no TOAST, no collations, ...).
fn constant_columns(table: SystemTable) -> Vec<(&'static str, DataType, Value)> {
    use DataType::{Bool, Int2, Int4, Int8, Text};
    let t = |s: &str| Value::Text(s.to_string());
    match table {
        SystemTable::PgClass => vec![
            ("reltoastrelid", Int8, Value::Int8(0)),
            ("relpartbound", Text, Value::Null),
            ("relfrozenxid", Int8, Value::Int8(0)),
            ("relminmxid", Int8, Value::Int8(0)),
            ("relrewrite", Int8, Value::Int8(0)),
            ("relallvisible", Int4, Value::Int4(0)),
        ],
        SystemTable::PgAttribute => vec![
            ("attcompression", Text, t("")),
            ("attinhcount", Int4, Value::Int4(0)),
            ("attstorage", Text, t("x")),
            ("attalign", Text, t("i")),
            ("attbyval", Bool, Value::Bool(false)),
            ("attacl", DataType::Array(Box::new(Text)), Value::Null),
            ("attoptions", DataType::Array(Box::new(Text)), Value::Null),
            ("attfdwoptions", DataType::Array(Box::new(Text)), Value::Null),
            ("attmissingval", Text, Value::Null),
            ("atthasmissing", Bool, Value::Bool(false)),
        ],
        SystemTable::PgType => vec![
            ("typcollation", Int8, Value::Int8(0)),
            ("typdefaultbin", Text, Value::Null),
            ("typbyval", Bool, Value::Bool(false)),
            ("typisdefined", Bool, Value::Bool(true)),
            ("typalign", Text, t("i")),
            ("typstorage", Text, t("p")),
            ("typndims", Int4, Value::Int4(0)),
            ("typispreferred", Bool, Value::Bool(false)),
            ("typanalyze", Text, t("-")),
            ("typmodin", Text, t("-")),
            ("typmodout", Text, t("-")),
        ],
        SystemTable::PgIndex => vec![
            ("indisreplident", Bool, Value::Bool(false)),
            ("indisexclusion", Bool, Value::Bool(false)),
            ("indimmediate", Bool, Value::Bool(true)),
            ("indcheckxmin", Bool, Value::Bool(false)),
            ("indisready", Bool, Value::Bool(true)),
            ("indislive", Bool, Value::Bool(true)),
            ("indnullsnotdistinct", Bool, Value::Bool(false)),
            ("indcollation", DataType::OidVector, Value::Null),
            ("indclass", DataType::OidVector, Value::Null),
        ],
        SystemTable::PgInherits => vec![("inhdetachpending", Bool, Value::Bool(false))],
        SystemTable::PgExtension => vec![
            ("extconfig", DataType::Array(Box::new(DataType::Oid)), Value::Null),
            ("extcondition", DataType::Array(Box::new(Text)), Value::Null),
        ],
        SystemTable::PgConstraint => vec![
            ("conislocal", Bool, Value::Bool(true)),
            ("coninhcount", Int4, Value::Int4(0)),
            ("connoinherit", Bool, Value::Bool(false)),
        ],
        SystemTable::PgDatabase => vec![
            ("daticulocale", Text, Value::Null),
            ("datlocprovider", Text, t("c")),
            ("datcollversion", Text, Value::Null),
            ("dattablespace", Int8, Value::Int8(1663)),
            ("datfrozenxid", Int8, Value::Int8(0)),
            ("datminmxid", Int8, Value::Int8(1)),
        ],
        SystemTable::PgRoles | SystemTable::PgAuthid => {
            vec![("rolconfig", DataType::Array(Box::new(Text)), Value::Null)]
        }
        SystemTable::PgProc => vec![
            ("proparallel", Text, t("u")),
            ("pronargdefaults", Int2, Value::Int2(0)),
            ("probin", Text, Value::Null),
            ("proleakproof", Bool, Value::Bool(false)),
            ("protrftypes", DataType::Array(Box::new(DataType::Oid)), Value::Null),
            ("prosupport", Text, t("-")),
        ],
        SystemTable::PgNamespace => vec![],
        _ => vec![],
    }
}

/// A session as pg_stat_activity shows it.
#[derive(Clone, Debug, Default)]
pub struct SessionInfo {
    /// Backend id.
    pub pid: i32,
    /// User name.
    pub user: String,
    /// application_name.
    pub application: String,
    /// Client address.
    pub client: String,
    /// idle, active, idle in transaction...
    pub state: String,
    /// The current or last statement.
    pub query: String,
    /// When the session started (PostgreSQL micros).
    pub backend_start: i64,
    /// When the transaction started, if one is open.
    pub xact_start: Option<i64>,
    /// When the current statement started.
    pub query_start: Option<i64>,
    /// What it waits for (Lock), if anything.
    pub wait_event: Option<String>,
    /// Its current transaction's id, if it has one (to find its locks).
    pub txn: Option<u64>,
}

/// What the views are computed from.
#[derive(Clone, Debug, Default)]
pub struct CatalogSnapshot {
    /// (id, name) of every schema.
    pub schemas: Vec<(RelId, String)>,
    /// Every table, system tables included.
    pub tables: Vec<Table>,
    /// (schema, name, id, SQL) of every view.
    pub views: Vec<(String, String, RelId, String)>,
    /// Every sequence with its last value.
    pub sequences: Vec<(Sequence, Option<i64>)>,
    /// (name, value, description) of every setting.
    pub settings: Vec<crate::settings::SettingInfo>,
    /// The current user.
    pub user: String,
    /// The database name.
    pub database: String,
    /// Sessions, for pg_stat_activity.
    pub sessions: Vec<SessionInfo>,
    /// Stored functions and procedures.
    pub routines: Vec<Routine>,
    /// Cumulative counters, for pg_stat_database and oxibase_stat_server.
    pub stats: ServerStats,
    /// Row locks held and awaited, for pg_locks.
    pub locks: Vec<LockRow>,
    /// Followers streaming from this database, for pg_stat_replication.
    pub replicas: Vec<crate::replicas::ReplicaStat>,
    /// COMMENT ON texts: (object id, column number or 0, text).
    pub comments: Vec<(RelId, i32, String)>,
    /// Enum types with their schema ids.
    pub enums: Vec<(RelId, Arc<oxibase_common::EnumType>)>,
    /// Domains.
    pub domains: Vec<Arc<crate::catalog::Domain>>,
    /// Composite types, each as a table of its attributes (no rows).
    pub composites: Vec<Table>,
    /// Installed extensions.
    pub extensions: Vec<crate::catalog::extensions::Extension>,
    /// The session's open cursors, for pg_cursors.
    pub cursors: Vec<CursorInfo>,
    /// Roles, memberships and default privileges.
    pub access: Arc<crate::catalog::acl::RoleGraph>,
    /// The objects with an owner or ACL of their own, by (`sys_acl` kind, id).
    pub acls: std::collections::HashMap<(char, RelId), crate::catalog::acl::Acl>,
    /// The views with WITH CHECK OPTION: (id, 1 LOCAL or 2 CASCADED).
    pub view_check_options: Vec<(RelId, u8)>,
    /// Each view's columns as a table of its id and name (no storage), for pg_attribute and
    /// information_schema.columns; filled by the session only for them.
    pub view_tables: Vec<Table>,
}

impl CatalogSnapshot {
    /// The schemas of the session's search path (`$user` resolved, pg_catalog included).
    fn search_path(&self) -> Vec<String> {
        let value = self.settings.iter().find(|v| v.name == "search_path");
        let mut path = vec!["pg_catalog".to_string()];
        for part in value.map_or("", |v| v.value.as_str()).split(',') {
            let part = part.trim();
            let name = match part.strip_prefix('"').and_then(|p| p.strip_suffix('"')) {
                Some(quoted) => quoted.replace("\"\"", "\""),
                None => part.to_lowercase(),
            };
            let name = if name == "$user" { self.user.clone() } else { name };
            if !name.is_empty() {
                path.push(name);
            }
        }
        path
    }

    /// An object's owner and ACL.
    fn acl(&self, kind: ObjectKind, id: RelId) -> crate::catalog::acl::Acl {
        let key = (kind.key().chars().next().unwrap_or('r'), id);
        self.acls.get(&key).cloned().unwrap_or_else(|| {
            crate::catalog::acl::Acl::owned_by(crate::catalog::system::BOOTSTRAP_ROLE_ID)
        })
    }

    /// Whether information_schema shows the current role an object: a superuser sees
    /// everything; others what they own (or are members of the owner of) or hold some
    /// privilege on, as PostgreSQL's views filter. The built-in catalogs are everyone's.
    fn visible(&self, kind: ObjectKind, id: RelId) -> bool {
        let graph = &self.access;
        let Some(me) = graph.role(&self.user) else { return false };
        if me.superuser || (kind == ObjectKind::Table && id < crate::keys::FIRST_USER_ID) {
            return true;
        }
        let acl = self.acl(kind, id);
        let roles = graph.privileged_roles(me.id);
        roles.contains(&acl.owner) || acl.privileges(kind, id, &roles) != 0
    }

    /// A view's WITH CHECK OPTION as information_schema words it.
    fn check_option_word(&self, view: RelId) -> &'static str {
        match self.view_check_options.iter().find(|(id, _)| *id == view) {
            Some((_, 1)) => "LOCAL",
            Some(_) => "CASCADED",
            None => "NONE",
        }
    }
}

/// An open cursor as pg_cursors shows it.
#[derive(Clone, Debug, Default)]
pub struct CursorInfo {
    /// Its name.
    pub name: String,
    /// The DECLARE statement.
    pub statement: String,
    /// Declared WITH HOLD.
    pub holdable: bool,
    /// It may move backward.
    pub scrollable: bool,
    /// When it was declared (PostgreSQL micros).
    pub created: i64,
}

/// The server's cumulative counters at one moment (since the database opened).
#[derive(Clone, Debug, Default)]
pub struct ServerStats {
    /// When the database opened and when these were read (PostgreSQL micros).
    pub server_start: i64,
    /// When these counters were read.
    pub now: i64,
    /// Transactions committed and rolled back.
    pub commits: u64,
    /// Transactions rolled back (or failed).
    pub rollbacks: u64,
    /// Commits refused with 40001.
    pub serialization_failures: u64,
    /// Statements run.
    pub statements: u64,
    /// Rows read and written by statements.
    pub rows_read: u64,
    /// Rows inserted, updated or deleted.
    pub rows_written: u64,
    /// Row-lock requests that had to wait, and deadlocks broken.
    pub lock_waits: u64,
    /// Deadlocks detected (40P01).
    pub deadlocks: u64,
    /// Log records and bytes made durable, fsync calls and the time they took.
    pub wal_records: u64,
    /// Bytes written to the log.
    pub wal_bytes: u64,
    /// fsync calls on the log.
    pub wal_fsyncs: u64,
    /// Time spent in those calls.
    pub wal_fsync_micros: u64,
    /// Block cache hits and misses (reads that went to the file system), and its size.
    pub cache_hits: u64,
    /// Blocks read from files.
    pub cache_misses: u64,
    /// Bytes held in the block cache.
    pub cache_bytes: u64,
    /// The process's I/O (Linux `/proc/self/io`), if known.
    pub io: Option<ProcessIo>,
    /// Transactions holding a snapshot.
    pub active_snapshots: u64,
}

/// A process's cumulative I/O: read and write calls, and bytes that reached storage.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProcessIo {
    /// read-like system calls.
    pub read_ops: u64,
    /// write-like system calls.
    pub write_ops: u64,
    /// Bytes fetched from storage.
    pub read_bytes: u64,
    /// Bytes sent to storage.
    pub write_bytes: u64,
}

impl ProcessIo {
    /// This process's counters (Linux); None elsewhere.
    pub fn read() -> Option<ProcessIo> {
        let text = std::fs::read_to_string("/proc/self/io").ok()?;
        let field = |name: &str| {
            text.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(": ")?.trim().parse().ok())
        };
        Some(ProcessIo {
            read_ops: field("syscr")?,
            write_ops: field("syscw")?,
            read_bytes: field("read_bytes")?,
            write_bytes: field("write_bytes")?,
        })
    }
}

/// One row lock, held or awaited, as pg_locks shows it.
#[derive(Clone, Debug)]
pub struct LockRow {
    /// The table (or index) the locked key belongs to.
    pub relation: Option<RelId>,
    /// The transaction.
    pub txn: u64,
    /// Its session, when it is one of this server's.
    pub pid: Option<i32>,
    /// PostgreSQL's name for the tuple lock's mode.
    pub mode: &'static str,
    /// Held (true) or awaited.
    pub granted: bool,
    /// When the wait began (PostgreSQL micros), for a waiter.
    pub wait_start: Option<i64>,
}

impl CatalogSnapshot {
    /// Adds the server's live state: its counters and row locks, and the sessions' lock waits.
    /// A lock's relation arrives as the storage id its key lies under; it is shown as the
    /// table's or index's id.
    pub fn add_live_state(
        &mut self,
        stats: ServerStats,
        mut locks: Vec<LockRow>,
        replicas: Vec<crate::replicas::ReplicaStat>,
    ) {
        let relations: std::collections::HashMap<RelId, RelId> = self
            .tables
            .iter()
            .flat_map(|t| {
                std::iter::once((t.storage, t.id))
                    .chain(t.indexes.iter().map(|i| (i.storage, i.id)))
            })
            .filter(|(storage, id)| storage != id)
            .collect();
        for lock in &mut locks {
            if let Some(id) = lock.relation.and_then(|r| relations.get(&r)) {
                lock.relation = Some(*id);
            }
        }
        self.replicas = replicas;
        for session in &mut self.sessions {
            if locks.iter().any(|l| !l.granted && l.pid == Some(session.pid)) {
                session.wait_event = Some("tuple".into()); // as PostgreSQL names a row lock wait
            }
        }
        self.stats = stats;
        self.locks = locks;
    }
}

impl SystemTable {
    /// Whether the view shows the server's live state (counters, locks), which the catalog
    /// snapshot does not carry until asked.
    pub fn is_live(&self) -> bool {
        use SystemTable::*;
        matches!(
            self,
            PgStatActivity | PgStatDatabase | PgLocks | OxibaseStatServer | PgStatReplication
        )
    }

    /// Whether the view lists views' columns, which [`CatalogSnapshot::view_tables`] holds
    /// only when asked (each view's query is bound for them).
    pub fn lists_view_columns(&self) -> bool {
        matches!(self, SystemTable::PgAttribute | SystemTable::InfoColumns)
    }

    /// Finds a view by schema and name (unqualified names look in pg_catalog).
    pub fn lookup(schema: Option<&str>, name: &str) -> Option<SystemTable> {
        use SystemTable::*;
        let pg = match name {
            "pg_namespace" => Some(PgNamespace),
            "pg_class" => Some(PgClass),
            "pg_attribute" => Some(PgAttribute),
            "pg_type" => Some(PgType),
            "pg_enum" => Some(PgEnum),
            "pg_index" => Some(PgIndex),
            "pg_database" => Some(PgDatabase),
            "pg_roles" => Some(PgRoles),
            "pg_authid" => Some(PgAuthid),
            "pg_user" => Some(PgUser),
            "pg_settings" => Some(PgSettings),
            "pg_tables" => Some(PgTables),
            "pg_stat_all_tables" => Some(PgStatTables { all: true, io: false }),
            "pg_stat_user_tables" => Some(PgStatTables { all: false, io: false }),
            "pg_statio_all_tables" => Some(PgStatTables { all: true, io: true }),
            "pg_statio_user_tables" => Some(PgStatTables { all: false, io: true }),
            "pg_views" => Some(PgViews),
            "pg_matviews" => Some(PgMatviews),
            "pg_indexes" => Some(PgIndexes),
            "pg_sequences" => Some(PgSequences),
            "pg_constraint" => Some(PgConstraint),
            "pg_attrdef" => Some(PgAttrdef),
            "pg_description" => Some(PgDescription),
            "pg_proc" => Some(PgProc),
            "pg_am" => Some(PgAm),
            "pg_tablespace" => Some(PgTablespace),
            "pg_inherits" => Some(PgInherits),
            "pg_extension" => Some(PgExtension),
            "pg_trigger" => Some(PgTrigger),
            "pg_collation" => Some(PgCollation),
            "pg_ts_config" => Some(PgTsConfig),
            "pg_ts_dict" => Some(PgTsDict),
            "pg_ts_parser" => Some(PgTsParser),
            "pg_ts_template" => Some(PgTsTemplate),
            "pg_language" => Some(PgLanguage),
            "pg_stat_activity" => Some(PgStatActivity),
            "pg_stat_database" => Some(PgStatDatabase),
            "pg_locks" => Some(PgLocks),
            "pg_stat_replication" => Some(PgStatReplication),
            "pg_cursors" => Some(PgCursors),
            "pg_sequence" => Some(PgSequence),
            "oxibase_stat_server" => Some(OxibaseStatServer),
            other => EMPTY_TABLES.iter().position(|(n, _)| *n == other).map(Empty),
        };
        let info = match name {
            "tables" => Some(InfoTables),
            "columns" => Some(InfoColumns),
            "schemata" => Some(InfoSchemata),
            "table_constraints" => Some(InfoTableConstraints),
            "key_column_usage" => Some(InfoKeyColumnUsage),
            "referential_constraints" => Some(InfoReferentialConstraints),
            "constraint_column_usage" => Some(InfoConstraintColumnUsage),
            "constraint_table_usage" => Some(InfoConstraintTableUsage),
            "views" => Some(InfoViews),
            "sequences" => Some(InfoSequences),
            "routines" => Some(InfoRoutines),
            "triggers" => Some(InfoTriggers),
            "domains" => Some(InfoDomains),
            "domain_constraints" => Some(InfoDomainConstraints),
            "table_privileges" | "role_table_grants" => Some(InfoTablePrivileges),
            _ => None,
        };
        match schema {
            None | Some("pg_catalog") => pg,
            Some("information_schema") => info,
            _ => None,
        }
    }

    /// The view's columns.
    pub fn columns(&self) -> Vec<(String, DataType)> {
        use DataType::{Bool, Int2, Int4, Int8, Name, Text};
        use SystemTable::*;
        let text_array = DataType::Array(Box::new(Text));
        let cols: Vec<(&str, DataType)> = match self {
            Empty(i) => EMPTY_TABLES[*i]
                .1
                .iter()
                .map(|(n, t)| (*n, DataType::from_name(t).unwrap_or(Text)))
                .collect(),
            PgNamespace => {
                vec![("oid", Int8), ("nspname", Name), ("nspowner", Int8), ("nspacl", text_array)]
            }
            PgClass => vec![
                ("oid", Int8),
                ("relname", Name),
                ("relnamespace", Int8),
                ("reltype", Int8),
                ("relowner", Int8),
                ("relam", Int8),
                ("relfilenode", Int8),
                ("reltablespace", Int8),
                ("relpages", Int4),
                ("reltuples", DataType::Float4),
                ("relhasindex", Bool),
                ("relisshared", Bool),
                ("relpersistence", Text),
                ("relkind", Text),
                ("relnatts", Int2),
                ("relchecks", Int2),
                ("relhasrules", Bool),
                ("relhastriggers", Bool),
                ("relhassubclass", Bool),
                ("relrowsecurity", Bool),
                ("relforcerowsecurity", Bool),
                ("relispopulated", Bool),
                ("relreplident", Text),
                ("relispartition", Bool),
                ("reloftype", Int8),
                ("relacl", text_array.clone()),
                ("reloptions", text_array),
            ],
            PgAttribute => vec![
                ("attrelid", Int8),
                ("attname", Name),
                ("atttypid", Int8),
                ("attlen", Int2),
                ("attnum", Int2),
                ("atttypmod", Int4),
                ("attnotnull", Bool),
                ("atthasdef", Bool),
                ("attisdropped", Bool),
                ("attidentity", Text),
                ("attgenerated", Text),
                ("attcollation", Int8),
                ("attndims", Int4),
                ("attislocal", Bool),
                ("attstattarget", Int4),
            ],
            PgType => vec![
                ("oid", Int8),
                ("typname", Name),
                ("typnamespace", Int8),
                ("typlen", Int2),
                ("typtype", Text),
                ("typcategory", Text),
                ("typelem", Int8),
                ("typarray", Int8),
                ("typbasetype", Int8),
                ("typrelid", Int8),
                ("typnotnull", Bool),
                ("typdelim", Text),
                ("typinput", Text),
                ("typoutput", Text),
                ("typreceive", Text),
                ("typsend", Text),
                ("typtypmod", Int4),
                ("typdefault", Text),
                ("typowner", Int8),
                ("typacl", DataType::Array(Box::new(Text))),
            ],
            PgEnum => vec![
                ("oid", Int8),
                ("enumtypid", Int8),
                ("enumsortorder", DataType::Float4),
                ("enumlabel", Name),
            ],
            PgIndex => vec![
                ("indexrelid", Int8),
                ("indrelid", Int8),
                ("indnatts", Int2),
                ("indnkeyatts", Int2),
                ("indisunique", Bool),
                ("indisprimary", Bool),
                ("indisclustered", Bool),
                ("indisvalid", Bool),
                ("indkey", DataType::Int2Vector),
                ("indexprs", Text),
                ("indpred", Text),
                ("indoption", DataType::Int2Vector),
            ],
            PgDatabase => vec![
                ("oid", Int8),
                ("datname", Name),
                ("datdba", Int8),
                ("encoding", Int4),
                ("datcollate", Text),
                ("datctype", Text),
                ("datistemplate", Bool),
                ("datallowconn", Bool),
                ("datconnlimit", Int4),
                ("datacl", DataType::Array(Box::new(Text))),
            ],
            PgRoles | PgAuthid => vec![
                ("oid", Int8),
                ("rolname", Name),
                ("rolsuper", Bool),
                ("rolinherit", Bool),
                ("rolcreaterole", Bool),
                ("rolcreatedb", Bool),
                ("rolcanlogin", Bool),
                ("rolreplication", Bool),
                ("rolconnlimit", Int4),
                ("rolpassword", Text),
                ("rolvaliduntil", DataType::TimestampTz(None)),
                ("rolbypassrls", Bool),
            ],
            PgUser => vec![
                ("usename", Name),
                ("usesysid", Int8),
                ("usecreatedb", Bool),
                ("usesuper", Bool),
                ("userepl", Bool),
                ("passwd", Text),
            ],
            PgSettings => vec![
                ("name", Text),
                ("setting", Text),
                ("unit", Text),
                ("category", Text),
                ("short_desc", Text),
                ("context", Text),
                ("vartype", Text),
                ("source", Text),
                ("boot_val", Text),
                ("reset_val", Text),
                ("pending_restart", Bool),
            ],
            PgStatTables { io, .. } => {
                let mut cols = vec![("relid", Int8), ("schemaname", Name), ("relname", Name)];
                cols.extend(stat_table_counters(*io));
                cols
            }
            PgTables => vec![
                ("schemaname", Name),
                ("tablename", Name),
                ("tableowner", Name),
                ("tablespace", Text),
                ("hasindexes", Bool),
                ("hasrules", Bool),
                ("hastriggers", Bool),
                ("rowsecurity", Bool),
            ],
            PgViews => vec![
                ("schemaname", Name),
                ("viewname", Name),
                ("viewowner", Name),
                ("definition", Text),
            ],
            PgMatviews => vec![
                ("schemaname", Name),
                ("matviewname", Name),
                ("matviewowner", Text),
                ("tablespace", Text),
                ("hasindexes", Bool),
                ("ispopulated", Bool),
                ("definition", Text),
            ],
            PgIndexes => vec![
                ("schemaname", Name),
                ("tablename", Name),
                ("indexname", Name),
                ("tablespace", Text),
                ("indexdef", Text),
            ],
            PgSequences => vec![
                ("schemaname", Name),
                ("sequencename", Name),
                ("sequenceowner", Name),
                ("data_type", Text),
                ("start_value", Int8),
                ("min_value", Int8),
                ("max_value", Int8),
                ("increment_by", Int8),
                ("cycle", Bool),
                ("cache_size", Int8),
                ("last_value", Int8),
            ],
            PgConstraint => vec![
                ("oid", Int8),
                ("conname", Name),
                ("connamespace", Int8),
                ("contype", Text),
                ("condeferrable", Bool),
                ("condeferred", Bool),
                ("convalidated", Bool),
                ("conrelid", Int8),
                ("conindid", Int8),
                ("confrelid", Int8),
                ("confupdtype", Text),
                ("confdeltype", Text),
                ("conkey", DataType::Array(Box::new(Int2))),
                ("confkey", DataType::Array(Box::new(Int2))),
                ("consrc", Text),
                ("contypid", Int8),
                ("conparentid", Int8),
            ],
            PgAttrdef => vec![("oid", Int8), ("adrelid", Int8), ("adnum", Int2), ("adbin", Text)],
            PgDescription => vec![
                ("objoid", Int8),
                ("classoid", Int8),
                ("objsubid", Int4),
                ("description", Text),
            ],
            PgProc => vec![
                ("oid", Int8),
                ("proname", Name),
                ("pronamespace", Int8),
                ("prorettype", Int8),
                ("prokind", Text),
                ("prosrc", Text),
                ("prolang", Int8),
                ("proretset", Bool),
                ("provolatile", Text),
                ("proisstrict", Bool),
                ("pronargs", Int2),
                ("proargtypes", DataType::OidVector),
                ("proargnames", DataType::Array(Box::new(Text))),
                ("proargmodes", DataType::Array(Box::new(DataType::InternalChar))),
                ("proallargtypes", DataType::Array(Box::new(Int8))),
                ("proowner", Int8),
                ("proacl", DataType::Array(Box::new(Text))),
                ("prosecdef", Bool),
                ("proconfig", DataType::Array(Box::new(Text))),
                ("procost", DataType::Float4),
                ("prorows", DataType::Float4),
            ],
            PgAm => vec![("oid", Int8), ("amname", Name), ("amtype", Text), ("amhandler", Text)],
            PgTablespace => vec![
                ("oid", Int8),
                ("spcname", Name),
                ("spcowner", Int8),
                ("spcacl", DataType::Array(Box::new(Text))),
                ("spcoptions", DataType::Array(Box::new(Text))),
            ],
            PgInherits => vec![("inhrelid", Int8), ("inhparent", Int8), ("inhseqno", Int4)],
            PgTrigger => vec![
                ("oid", Int8),
                ("tgrelid", Int8),
                ("tgparentid", Int8),
                ("tgname", Name),
                ("tgfoid", Int8),
                ("tgtype", Int2),
                ("tgenabled", Text),
                ("tgisinternal", Bool),
                ("tgconstrrelid", Int8),
                ("tgconstrindid", Int8),
                ("tgconstraint", Int8),
                ("tgdeferrable", Bool),
                ("tginitdeferred", Bool),
                ("tgnargs", Int2),
            ],
            PgExtension => vec![
                ("oid", Int8),
                ("extname", Name),
                ("extversion", Text),
                ("extnamespace", Int8),
                ("extowner", Int8),
                ("extrelocatable", Bool),
            ],
            PgCollation => vec![
                ("oid", Int8),
                ("collname", Name),
                ("collnamespace", Int8),
                ("collowner", Int8),
                ("collprovider", DataType::InternalChar),
                ("collisdeterministic", Bool),
                ("collencoding", Int4),
                ("collcollate", Text),
                ("collctype", Text),
                ("colliculocale", Text),
                ("collversion", Text),
            ],
            PgTsConfig => vec![
                ("oid", Int8),
                ("cfgname", Name),
                ("cfgnamespace", Int8),
                ("cfgowner", Int8),
                ("cfgparser", Int8),
            ],
            PgTsDict => vec![
                ("oid", Int8),
                ("dictname", Name),
                ("dictnamespace", Int8),
                ("dictowner", Int8),
                ("dicttemplate", Int8),
                ("dictinitoption", Text),
            ],
            PgTsParser => vec![
                ("oid", Int8),
                ("prsname", Name),
                ("prsnamespace", Int8),
                ("prsstart", Text),
                ("prstoken", Text),
                ("prsend", Text),
                ("prsheadline", Text),
                ("prslextype", Text),
            ],
            PgTsTemplate => vec![
                ("oid", Int8),
                ("tmplname", Name),
                ("tmplnamespace", Int8),
                ("tmplinit", Text),
                ("tmpllexize", Text),
            ],
            PgLanguage => vec![
                ("oid", Int8),
                ("lanname", Name),
                ("lanowner", Int8),
                ("lanispl", Bool),
                ("lanpltrusted", Bool),
                ("lanplcallfoid", Int8),
                ("laninline", Int8),
                ("lanvalidator", Int8),
                ("lanacl", text_array.clone()),
            ],
            PgStatActivity => vec![
                ("datid", Int8),
                ("datname", Name),
                ("pid", Int4),
                ("usename", Name),
                ("application_name", Text),
                ("client_addr", Text),
                ("backend_start", DataType::TimestampTz(None)),
                ("xact_start", DataType::TimestampTz(None)),
                ("query_start", DataType::TimestampTz(None)),
                ("state_change", DataType::TimestampTz(None)),
                ("wait_event_type", Text),
                ("wait_event", Text),
                ("state", Text),
                ("query", Text),
                ("backend_type", Text),
            ],
            PgStatDatabase => vec![
                ("datid", Int8),
                ("datname", Name),
                ("numbackends", Int4),
                ("xact_commit", Int8),
                ("xact_rollback", Int8),
                ("blks_read", Int8),
                ("blks_hit", Int8),
                ("tup_returned", Int8),
                ("tup_fetched", Int8),
                ("tup_written", Int8),
                ("conflicts", Int8),
                ("deadlocks", Int8),
                ("stats_reset", DataType::TimestampTz(None)),
            ],
            PgLocks => vec![
                ("locktype", Text),
                ("database", Int8),
                ("relation", Int8),
                ("transactionid", Int8),
                ("pid", Int4),
                ("mode", Text),
                ("granted", Bool),
                ("waitstart", DataType::TimestampTz(None)),
            ],
            PgSequence => vec![
                ("seqrelid", Int8),
                ("seqtypid", Int8),
                ("seqstart", Int8),
                ("seqincrement", Int8),
                ("seqmax", Int8),
                ("seqmin", Int8),
                ("seqcache", Int8),
                ("seqcycle", Bool),
            ],
            PgCursors => vec![
                ("name", Text),
                ("statement", Text),
                ("is_holdable", Bool),
                ("is_binary", Bool),
                ("is_scrollable", Bool),
                ("creation_time", DataType::TimestampTz(None)),
            ],
            PgStatReplication => vec![
                ("pid", Int4),
                ("usename", Name),
                ("application_name", Text),
                ("client_addr", Text),
                ("backend_start", DataType::TimestampTz(None)),
                ("state", Text),
                ("sent_lsn", Text),
                ("write_lsn", Text),
                ("flush_lsn", Text),
                ("replay_lsn", Text),
                ("write_lag", DataType::Interval(None)),
                ("flush_lag", DataType::Interval(None)),
                ("replay_lag", DataType::Interval(None)),
                ("sync_state", Text),
            ],
            OxibaseStatServer => vec![
                ("server_start", DataType::TimestampTz(None)),
                ("now", DataType::TimestampTz(None)),
                ("sessions", Int4),
                ("xact_commit", Int8),
                ("xact_rollback", Int8),
                ("serialization_failures", Int8),
                ("statements", Int8),
                ("rows_read", Int8),
                ("rows_written", Int8),
                ("lock_waits", Int8),
                ("deadlocks", Int8),
                ("wal_records", Int8),
                ("wal_bytes", Int8),
                ("wal_fsyncs", Int8),
                ("wal_fsync_micros", Int8),
                ("cache_hits", Int8),
                ("cache_misses", Int8),
                ("cache_bytes", Int8),
                ("io_read_ops", Int8),
                ("io_write_ops", Int8),
                ("io_read_bytes", Int8),
                ("io_write_bytes", Int8),
                ("active_snapshots", Int8),
            ],
            InfoTables => vec![
                ("table_catalog", Text),
                ("table_schema", Text),
                ("table_name", Text),
                ("table_type", Text),
                ("self_referencing_column_name", Text),
                ("reference_generation", Text),
                ("user_defined_type_catalog", Text),
                ("user_defined_type_schema", Text),
                ("user_defined_type_name", Text),
                ("is_insertable_into", Text),
                ("is_typed", Text),
                ("commit_action", Text),
            ],
            InfoColumns => vec![
                ("table_catalog", Text),
                ("table_schema", Text),
                ("table_name", Text),
                ("column_name", Text),
                ("ordinal_position", Int4),
                ("column_default", Text),
                ("is_nullable", Text),
                ("data_type", Text),
                ("character_maximum_length", Int4),
                ("character_octet_length", Int4),
                ("numeric_precision", Int4),
                ("numeric_precision_radix", Int4),
                ("numeric_scale", Int4),
                ("datetime_precision", Int4),
                ("interval_type", Text),
                ("interval_precision", Int4),
                ("character_set_catalog", Text),
                ("character_set_schema", Text),
                ("character_set_name", Text),
                ("collation_catalog", Text),
                ("collation_schema", Text),
                ("collation_name", Text),
                ("domain_catalog", Text),
                ("domain_schema", Text),
                ("domain_name", Text),
                ("udt_catalog", Text),
                ("udt_schema", Text),
                ("udt_name", Text),
                ("scope_catalog", Text),
                ("scope_schema", Text),
                ("scope_name", Text),
                ("maximum_cardinality", Int4),
                ("dtd_identifier", Text),
                ("is_self_referencing", Text),
                ("is_identity", Text),
                ("identity_generation", Text),
                ("identity_start", Text),
                ("identity_increment", Text),
                ("identity_maximum", Text),
                ("identity_minimum", Text),
                ("identity_cycle", Text),
                ("is_generated", Text),
                ("generation_expression", Text),
                ("is_updatable", Text),
            ],
            InfoSchemata => {
                vec![("catalog_name", Text), ("schema_name", Text), ("schema_owner", Text)]
            }
            InfoTableConstraints => vec![
                ("constraint_catalog", Text),
                ("constraint_schema", Text),
                ("constraint_name", Text),
                ("table_catalog", Text),
                ("table_schema", Text),
                ("table_name", Text),
                ("constraint_type", Text),
                ("is_deferrable", Text),
                ("initially_deferred", Text),
                ("enforced", Text),
            ],
            InfoKeyColumnUsage => vec![
                ("constraint_catalog", Text),
                ("constraint_schema", Text),
                ("constraint_name", Text),
                ("table_catalog", Text),
                ("table_schema", Text),
                ("table_name", Text),
                ("column_name", Text),
                ("ordinal_position", Int4),
                ("position_in_unique_constraint", Int4),
            ],
            InfoConstraintColumnUsage => vec![
                ("table_catalog", Text),
                ("table_schema", Text),
                ("table_name", Text),
                ("column_name", Text),
                ("constraint_catalog", Text),
                ("constraint_schema", Text),
                ("constraint_name", Text),
            ],
            InfoConstraintTableUsage => vec![
                ("table_catalog", Text),
                ("table_schema", Text),
                ("table_name", Text),
                ("constraint_catalog", Text),
                ("constraint_schema", Text),
                ("constraint_name", Text),
            ],
            InfoReferentialConstraints => vec![
                ("constraint_catalog", Text),
                ("constraint_schema", Text),
                ("constraint_name", Text),
                ("unique_constraint_catalog", Text),
                ("unique_constraint_schema", Text),
                ("unique_constraint_name", Text),
                ("match_option", Text),
                ("update_rule", Text),
                ("delete_rule", Text),
            ],
            InfoViews => vec![
                ("table_catalog", Text),
                ("table_schema", Text),
                ("table_name", Text),
                ("view_definition", Text),
                ("check_option", Text),
                ("is_updatable", Text),
            ],
            InfoSequences => vec![
                ("sequence_catalog", Text),
                ("sequence_schema", Text),
                ("sequence_name", Text),
                ("data_type", Text),
                ("start_value", Text),
                ("minimum_value", Text),
                ("maximum_value", Text),
                ("increment", Text),
                ("cycle_option", Text),
            ],
            InfoDomains => vec![
                ("domain_catalog", Text),
                ("domain_schema", Text),
                ("domain_name", Text),
                ("data_type", Text),
                ("character_maximum_length", Int4),
                ("numeric_precision", Int4),
                ("numeric_scale", Int4),
                ("domain_default", Text),
                ("udt_catalog", Text),
                ("udt_schema", Text),
                ("udt_name", Text),
            ],
            InfoTablePrivileges => vec![
                ("grantor", Text),
                ("grantee", Text),
                ("table_catalog", Text),
                ("table_schema", Text),
                ("table_name", Text),
                ("privilege_type", Text),
                ("is_grantable", Text),
                ("with_hierarchy", Text),
            ],
            InfoDomainConstraints => vec![
                ("constraint_catalog", Text),
                ("constraint_schema", Text),
                ("constraint_name", Text),
                ("domain_catalog", Text),
                ("domain_schema", Text),
                ("domain_name", Text),
                ("is_deferrable", Text),
                ("initially_deferred", Text),
            ],
            InfoTriggers => vec![
                ("trigger_catalog", Text),
                ("trigger_schema", Text),
                ("trigger_name", Text),
                ("event_manipulation", Text),
                ("event_object_catalog", Text),
                ("event_object_schema", Text),
                ("event_object_table", Text),
                ("action_order", Int4),
                ("action_condition", Text),
                ("action_statement", Text),
                ("action_orientation", Text),
                ("action_timing", Text),
            ],
            InfoRoutines => vec![
                ("specific_catalog", Text),
                ("specific_schema", Text),
                ("specific_name", Text),
                ("routine_catalog", Text),
                ("routine_schema", Text),
                ("routine_name", Text),
                ("routine_type", Text),
                ("data_type", Text),
                ("external_language", Text),
            ],
        };
        let mut out: Vec<(String, DataType)> = cols
            .into_iter()
            .map(|(n, t)| match t {
                DataType::Int8 if OID_COLUMNS.contains(&n) => (n.to_string(), DataType::Oid),
                DataType::Text if CHAR_COLUMNS.contains(&n) => {
                    (n.to_string(), DataType::InternalChar)
                }
                t => (n.to_string(), t),
            })
            .collect();
        out.extend(constant_columns(*self).into_iter().map(|(n, t, _)| (n.to_string(), t)));
        out
    }

    /// The view's rows.
    pub fn rows(&self, s: &CatalogSnapshot) -> Result<Vec<Vec<Value>>> {
        let mut rows = self.computed_rows(s)?;
        let constants = constant_columns(*self);
        if !constants.is_empty() {
            for row in &mut rows {
                row.extend(constants.iter().map(|(_, _, v)| v.clone()));
            }
        }
        // How a value of each type is stored (plain for fixed-size types, main for
        // numeric and the network types, else extended), the same for a column as for its
        // type, so pg_dump sees nothing to SET STORAGE for.
        let storage_columns = match self {
            SystemTable::PgType => Some(("typlen", "oid", "typstorage")),
            SystemTable::PgAttribute => Some(("attlen", "atttypid", "attstorage")),
            _ => None,
        };
        if let Some((len, type_id, storage)) = storage_columns {
            let columns = self.columns();
            let at = |name: &str| columns.iter().position(|(n, _)| n == name);
            if let (Some(l), Some(t), Some(k)) = (at(len), at(type_id), at(storage)) {
                for row in &mut rows {
                    let main = matches!(row[t], Value::Int8(1700 | 869 | 650));
                    let fixed = matches!(row[l], Value::Int2(n) if n > 0);
                    row[k] = text(if main {
                        "m"
                    } else if fixed {
                        "p"
                    } else {
                        "x"
                    });
                }
            }
        }
        if *self == SystemTable::PgIndex {
            // The index a table's REPLICA IDENTITY USING INDEX names.
            let columns = self.columns();
            let replica = columns.iter().position(|(n, _)| n == "indisreplident");
            let replicas: Vec<i64> = s
                .tables
                .iter()
                .filter(|t| t.replica_identity == b'i')
                .map(|t| i64::from(t.replica_index))
                .collect();
            if let Some(k) = replica {
                for row in &mut rows {
                    if matches!(row[0], Value::Int8(id) if replicas.contains(&id)) {
                        row[k] = Value::Bool(true);
                    }
                }
            }
        }
        if *self == SystemTable::PgType {
            // String types collate with the default collation (oid 100), as attcollation says.
            let columns = self.columns();
            let category = columns.iter().position(|(n, _)| n == "typcategory");
            let collation = columns.iter().position(|(n, _)| n == "typcollation");
            if let (Some(c), Some(k)) = (category, collation) {
                for row in &mut rows {
                    if matches!(&row[c], Value::Text(t) if t == "S") {
                        row[k] = Value::Int8(100);
                    }
                }
            }
            // A domain's default is an expression (pg_get_expr(typdefaultbin) reads it;
            // pg_dump takes typdefault alone for a literal).
            let default = columns.iter().position(|(n, _)| n == "typdefault");
            let bin = columns.iter().position(|(n, _)| n == "typdefaultbin");
            if let (Some(d), Some(b)) = (default, bin) {
                for row in &mut rows {
                    row[b] = row[d].clone();
                }
            }
        }
        Ok(rows)
    }

    fn computed_rows(&self, s: &CatalogSnapshot) -> Result<Vec<Vec<Value>>> {
        use SystemTable::*;
        Ok(match self {
            Empty(i) if EMPTY_TABLES[*i].0 == "pg_depend" => pg_depend(s),
            // Each configuration's dictionary for each token type: the language's stemmer
            // for words of letters, `simple` for the rest (as PostgreSQL's configurations).
            Empty(i) if EMPTY_TABLES[*i].0 == "pg_ts_config_map" => crate::tsearch::config_names()
                .enumerate()
                .flat_map(|(i, _)| {
                    crate::tsearch::parser::mapped_token_types().map(move |(token, word)| {
                        let dictionary = ts_dictionary_oid(if word { i } else { 0 });
                        vec![
                            oid(ts_config_oid(i)),
                            Value::Int4(token),
                            Value::Int4(1),
                            oid(dictionary),
                        ]
                    })
                })
                .collect(),
            Empty(i) if EMPTY_TABLES[*i].0 == "pg_init_privs" => {
                // The built-in schemas' ACLs as the database was created with them, which
                // pg_dump takes as the base to write GRANTs and REVOKEs against.
                let builtin =
                    [PG_CATALOG_OID, crate::catalog::system::PUBLIC, INFORMATION_SCHEMA_OID];
                builtin
                    .into_iter()
                    .map(|id| {
                        let initial = crate::catalog::acl::Acl::owned_by(
                            crate::catalog::system::BOOTSTRAP_ROLE_ID,
                        );
                        let items = initial
                            .entries(ObjectKind::Schema, id)
                            .iter()
                            .map(|i| {
                                text(&crate::catalog::acl::render_item(i, &|r| s.access.name_of(r)))
                            })
                            .collect();
                        vec![
                            oid(id),
                            Value::Int8(2615),
                            Value::Int4(0),
                            text("i"),
                            Value::Array(Box::new(Array {
                                element_type: DataType::Text,
                                elements: items,
                            })),
                        ]
                    })
                    .collect()
            }
            Empty(i) if EMPTY_TABLES[*i].0 == "pg_auth_members" => s
                .access
                .memberships()
                .iter()
                .map(|m| {
                    vec![
                        Value::Int8(0),
                        oid(m.role),
                        oid(m.member),
                        oid(m.grantor),
                        Value::Bool(m.admin),
                    ]
                })
                .collect(),
            Empty(i) if EMPTY_TABLES[*i].0 == "pg_default_acl" => s
                .access
                .default_acls()
                .iter()
                .map(|d| {
                    let items = d.items.iter().map(|item| {
                        text(&crate::catalog::acl::render_item(item, &|r| s.access.name_of(r)))
                    });
                    vec![
                        Value::Int8(0),
                        oid(d.role),
                        oid(d.schema),
                        text(&d.objtype.to_string()),
                        Value::Array(Box::new(Array {
                            element_type: DataType::Text,
                            elements: items.collect(),
                        })),
                    ]
                })
                .collect(),
            Empty(i) if EMPTY_TABLES[*i].0 == "pg_policy" => s
                .tables
                .iter()
                .flat_map(|t| t.policies.iter().map(move |p| (t, p)))
                .map(|(t, p)| {
                    let roles = if p.roles.is_empty() { vec![0] } else { p.roles.clone() };
                    vec![
                        oid(p.id),
                        text(&p.name),
                        oid(t.id),
                        text(&p.command.to_string()),
                        Value::Bool(p.permissive),
                        Value::Array(Box::new(Array {
                            element_type: DataType::Int8,
                            elements: roles
                                .into_iter()
                                .map(|r| Value::Int8(i64::from(r)))
                                .collect(),
                        })),
                        p.using.as_deref().map_or(Value::Null, |e| text(&deparse(e))),
                        p.check.as_deref().map_or(Value::Null, |e| text(&deparse(e))),
                    ]
                })
                .collect(),
            Empty(i) if EMPTY_TABLES[*i].0 == "pg_policies" => s
                .tables
                .iter()
                .flat_map(|t| t.policies.iter().map(move |p| (t, p)))
                .map(|(t, p)| {
                    let roles: Vec<Value> = if p.roles.is_empty() || p.roles.contains(&0) {
                        vec![text("public")]
                    } else {
                        p.roles.iter().map(|r| text(&s.access.name_of(*r))).collect()
                    };
                    vec![
                        text(&t.schema),
                        text(&t.name),
                        text(&p.name),
                        text(if p.permissive { "PERMISSIVE" } else { "RESTRICTIVE" }),
                        Value::Array(Box::new(Array {
                            element_type: DataType::Text,
                            elements: roles,
                        })),
                        text(p.command_name()),
                        p.using.as_deref().map_or(Value::Null, |e| text(&deparse(e))),
                        p.check.as_deref().map_or(Value::Null, |e| text(&deparse(e))),
                    ]
                })
                .collect(),
            Empty(_) => vec![],
            PgNamespace => s
                .schemas
                .iter()
                .map(|(id, name)| {
                    let (owner, acl) = owner_and_acl(s, ObjectKind::Schema, *id);
                    vec![oid(*id), text(name), owner, acl]
                })
                .collect(),
            PgClass => pg_class(s),
            PgAttribute => pg_attribute(s),
            PgType => pg_type(s),
            PgEnum => s
                .enums
                .iter()
                .flat_map(|(_, e)| {
                    e.labels.iter().enumerate().map(|(i, v)| {
                        vec![
                            Value::Int8(enum_label_oid(e.id, i)),
                            oid(e.id),
                            Value::Float4(v.order as f32),
                            text(&v.label),
                        ]
                    })
                })
                .collect(),
            PgIndex => pg_index(s),
            PgDatabase => vec![vec![
                oid(DATABASE_OID as u32),
                text(&s.database),
                oid(10),
                Value::Int4(6),
                text("C.UTF-8"),
                text("C.UTF-8"),
                Value::Bool(false),
                Value::Bool(true),
                Value::Int4(-1),
                owner_and_acl(s, ObjectKind::Database, DATABASE_OID as RelId).1,
            ]],
            PgRoles | PgAuthid => s
                .access
                .roles()
                .iter()
                .map(|r| {
                    // pg_roles hides passwords; pg_authid holds the verifier.
                    let password = match self {
                        PgAuthid => r.password.as_deref().map_or(Value::Null, text),
                        _ => text("********"),
                    };
                    vec![
                        oid(r.id),
                        text(&r.name),
                        Value::Bool(r.superuser),
                        Value::Bool(r.inherit),
                        Value::Bool(r.createrole || r.superuser),
                        Value::Bool(r.superuser),
                        Value::Bool(r.login),
                        Value::Bool(r.superuser),
                        Value::Int4(-1),
                        password,
                        Value::Null,
                        Value::Bool(r.superuser),
                    ]
                })
                .collect(),
            PgUser => s
                .access
                .roles()
                .iter()
                .filter(|r| r.login)
                .map(|r| {
                    vec![
                        text(&r.name),
                        oid(r.id),
                        Value::Bool(r.superuser),
                        Value::Bool(r.superuser),
                        Value::Bool(r.superuser),
                        text("********"),
                    ]
                })
                .collect(),
            PgSettings => s
                .settings
                .iter()
                .map(|info| {
                    // `default` where the session has the built-in value (psql's \dconfig
                    // lists the others).
                    let source = match &info.default {
                        Some(d) if *d == info.value => "default",
                        _ => "session",
                    };
                    let boot = info.default.as_deref().map_or(Value::Null, text);
                    vec![
                        text(&info.name),
                        text(&info.value),
                        Value::Null,
                        text("Oxibase"),
                        text(&info.description),
                        text(if info.read_only { "internal" } else { "user" }),
                        text("string"),
                        text(source),
                        boot.clone(),
                        boot,
                        Value::Bool(false),
                    ]
                })
                .collect(),
            PgStatTables { all, io } => s
                .tables
                .iter()
                .filter(|t| t.materialized.is_none() && (*all || t.schema != "pg_catalog"))
                .map(|t| {
                    let mut row = vec![Value::Int8(t.id as i64), text(&t.schema), text(&t.name)];
                    row.extend(stat_table_counters(*io).iter().map(|_| Value::Null));
                    row
                })
                .collect(),
            PgTables => {
                let referenced = referenced_tables(s);
                user_tables(s)
                    .filter(|t| t.materialized.is_none())
                    .map(|t| {
                        vec![
                            text(&t.schema),
                            text(&t.name),
                            text(&s.user),
                            Value::Null,
                            Value::Bool(!t.indexes.is_empty() || !t.primary_key.is_empty()),
                            Value::Bool(false),
                            Value::Bool(has_triggers(t, &referenced)),
                            Value::Bool(false),
                        ]
                    })
                    .collect()
            }
            PgViews => s
                .views
                .iter()
                .map(|(schema, name, id, sql)| {
                    let owner = s.access.name_of(s.acl(ObjectKind::Table, *id).owner);
                    vec![text(schema), text(name), text(&owner), text(&display_query(s, sql))]
                })
                .collect(),
            PgMatviews => user_tables(s)
                .filter_map(|t| {
                    let sql = display_query(s, t.materialized.as_ref()?);
                    let owner = s.access.name_of(s.acl(ObjectKind::Table, t.id).owner);
                    Some(vec![
                        text(&t.schema),
                        text(&t.name),
                        text(&owner),
                        Value::Null,
                        Value::Bool(!t.indexes.is_empty()),
                        Value::Bool(!t.unpopulated),
                        text(&format!(" {sql};")),
                    ])
                })
                .collect(),
            PgIndexes => pg_indexes(s),
            PgSequences => s
                .sequences
                .iter()
                .map(|(q, last)| {
                    let owner = s.acl(ObjectKind::Sequence, q.id).owner;
                    vec![
                        text(&q.schema),
                        text(&q.name),
                        text(&s.access.name_of(owner)),
                        text(&sequence_type(s, q).name()),
                        Value::Int8(q.start),
                        Value::Int8(q.min),
                        Value::Int8(q.max),
                        Value::Int8(q.increment),
                        Value::Bool(q.cycle),
                        Value::Int8(1),
                        // NULL until a value was handed out (one outside the bounds is a
                        // `setval(s, v, false)`).
                        last.filter(|l| (q.min..=q.max).contains(l))
                            .map_or(Value::Null, Value::Int8),
                    ]
                })
                .collect(),
            PgConstraint => pg_constraint(s)
                .into_iter()
                .map(|mut row| {
                    row.push(oid(0)); // conparentid: no partitions
                    row
                })
                .collect(),
            PgAttrdef => pg_attrdef(s),
            PgProc => s.routines.iter().map(|r| pg_proc_row(s, r)).collect(),
            PgDescription => {
                let classes = object_classes(s);
                s.comments
                    .iter()
                    .filter_map(|(id, sub, t)| {
                        // A comment outlives nothing: one on an object since dropped (a
                        // trigger, a constraint) is not shown.
                        let class = match classes.get(id)? {
                            // A composite type's attribute is a column of its relation.
                            1247 if *sub > 0 => 1259,
                            class => *class,
                        };
                        Some(vec![oid(*id), oid(class), Value::Int4(*sub), text(t)])
                    })
                    .collect()
            }
            PgTrigger => s
                .tables
                .iter()
                .flat_map(|t| t.triggers.iter().map(move |tr| (t, tr)))
                .map(|(t, tr)| {
                    let function = s
                        .routines
                        .iter()
                        .find(|r| (&r.schema, &r.name) == (&tr.function.0, &tr.function.1))
                        .map_or(0, |r| r.id);
                    vec![
                        oid(tr.id),
                        oid(t.id),
                        oid(0),
                        text(&tr.name),
                        oid(function),
                        Value::Int2(tr.tgtype),
                        text(if tr.enabled { "O" } else { "D" }),
                        Value::Bool(false),
                        oid(0),
                        oid(0),
                        oid(0),
                        Value::Bool(false),
                        Value::Bool(false),
                        Value::Int2(tr.args.len() as i16),
                    ]
                })
                .collect(),
            PgExtension => s
                .extensions
                .iter()
                .map(|e| {
                    vec![
                        oid(e.id),
                        text(&e.name),
                        text(&e.version),
                        oid(e.schema_id),
                        oid(10),
                        Value::Bool(true),
                    ]
                })
                .collect(),
            PgInherits => vec![],
            PgLanguage => [(12, "internal"), (13, "c"), (14, "sql"), (PLPGSQL_OID, "plpgsql")]
                .into_iter()
                .chain(WASM_LANGUAGES.iter().copied())
                .map(|(id, name)| {
                    let procedural = id == PLPGSQL_OID;
                    // A Wasm routine runs sandboxed: any role may write one, as in SQL.
                    let trusted = id == 14 || procedural || id >= WASM_LANGUAGES[0].0;
                    // PostgreSQL's handler, inline handler and validator of PL/pgSQL.
                    let (call, inline, validator) =
                        if procedural { (13_573, 13_574, 13_575) } else { (0, 0, 0) };
                    vec![
                        oid(id),
                        text(name),
                        oid(10),
                        Value::Bool(procedural),
                        Value::Bool(trusted),
                        oid(call),
                        oid(inline),
                        oid(validator),
                        Value::Null,
                    ]
                })
                .collect(),
            PgTablespace => [(1663, "pg_default"), (1664, "pg_global")]
                .into_iter()
                .map(|(id, name)| vec![oid(id), text(name), oid(10), Value::Null, Value::Null])
                .collect(),
            PgAm => {
                std::iter::once(vec![oid(2), text("heap"), text("t"), text("heap_tableam_handler")])
                    .chain(IndexMethod::ALL.into_iter().map(|m| {
                        let handler = match m.name() {
                            "spgist" => "spghandler".to_string(),
                            "btree" => "bthandler".to_string(),
                            name => format!("{name}handler"),
                        };
                        vec![oid(m.oid()), text(m.name()), text("i"), text(&handler)]
                    }))
                    .collect()
            }
            PgCollation => {
                [(100, "default", "d", ""), (950, "C", "c", "C"), (951, "POSIX", "c", "POSIX")]
                    .into_iter()
                    .map(|(id, name, provider, locale)| {
                        let locale = if locale.is_empty() { Value::Null } else { text(locale) };
                        vec![
                            oid(id),
                            text(name),
                            oid(11),
                            oid(10),
                            text(provider),
                            Value::Bool(true),
                            Value::Int4(-1),
                            locale.clone(),
                            locale,
                            Value::Null,
                            Value::Null,
                        ]
                    })
                    .collect()
            }
            PgTsConfig => crate::tsearch::config_names()
                .enumerate()
                .map(|(i, name)| {
                    vec![oid(ts_config_oid(i)), text(name), oid(11), oid(10), oid(TS_PARSER_OID)]
                })
                .collect(),
            PgTsDict => crate::tsearch::config_names()
                .enumerate()
                .map(|(i, name)| {
                    if i == 0 {
                        return vec![
                            oid(ts_dictionary_oid(0)),
                            text("simple"),
                            oid(11),
                            oid(10),
                            oid(3727),
                            Value::Null,
                        ];
                    }
                    vec![
                        oid(ts_dictionary_oid(i)),
                        text(&format!("{name}_stem")),
                        oid(11),
                        oid(10),
                        oid(TS_SNOWBALL_OID),
                        text(&format!("language = '{name}', stopwords = '{name}'")),
                    ]
                })
                .collect(),
            PgTsParser => vec![vec![
                oid(TS_PARSER_OID),
                text("default"),
                oid(11),
                text("prsd_start"),
                text("prsd_nexttoken"),
                text("prsd_end"),
                text("prsd_headline"),
                text("prsd_lextype"),
            ]],
            PgTsTemplate => vec![
                vec![
                    oid(3727),
                    text("simple"),
                    oid(11),
                    text("dsimple_init"),
                    text("dsimple_lexize"),
                ],
                vec![
                    oid(TS_SNOWBALL_OID),
                    text("snowball"),
                    oid(11),
                    text("dsnowball_init"),
                    text("dsnowball_lexize"),
                ],
            ],
            PgStatActivity => s
                .sessions
                .iter()
                .map(|a| {
                    let ts = |t: Option<i64>| t.map_or(Value::Null, Value::TimestampTz);
                    vec![
                        oid(16384),
                        text(&s.database),
                        Value::Int4(a.pid),
                        text(&a.user),
                        text(&a.application),
                        text(&a.client),
                        Value::TimestampTz(a.backend_start),
                        ts(a.xact_start),
                        ts(a.query_start),
                        ts(a.query_start),
                        a.wait_event.as_ref().map_or(Value::Null, |_| text("Lock")),
                        a.wait_event.as_ref().map_or(Value::Null, |w| text(w)),
                        text(&a.state),
                        text(&a.query),
                        text("client backend"),
                    ]
                })
                .collect(),
            PgStatDatabase => {
                let st = &s.stats;
                vec![vec![
                    oid(16384),
                    text(&s.database),
                    Value::Int4(s.sessions.len() as i32),
                    int8(st.commits),
                    int8(st.rollbacks),
                    int8(st.cache_misses),
                    int8(st.cache_hits),
                    int8(st.rows_read),
                    int8(st.rows_read),
                    int8(st.rows_written),
                    int8(0),
                    int8(st.deadlocks),
                    Value::TimestampTz(st.server_start),
                ]]
            }
            PgLocks => s
                .locks
                .iter()
                .map(|l| {
                    vec![
                        text("tuple"),
                        oid(16384),
                        l.relation.map_or(Value::Null, oid),
                        int8(l.txn),
                        l.pid.map_or(Value::Null, Value::Int4),
                        text(l.mode),
                        Value::Bool(l.granted),
                        l.wait_start.map_or(Value::Null, Value::TimestampTz),
                    ]
                })
                .collect(),
            PgSequence => s
                .sequences
                .iter()
                .map(|(q, _)| {
                    vec![
                        oid(q.id),
                        Value::Int8(i64::from(type_oid(&sequence_type(s, q)))),
                        Value::Int8(q.start),
                        Value::Int8(q.increment),
                        Value::Int8(q.max),
                        Value::Int8(q.min),
                        Value::Int8(1),
                        Value::Bool(q.cycle),
                    ]
                })
                .collect(),
            PgCursors => s
                .cursors
                .iter()
                .map(|c| {
                    vec![
                        text(&c.name),
                        text(&c.statement),
                        Value::Bool(c.holdable),
                        Value::Bool(false),
                        Value::Bool(c.scrollable),
                        Value::TimestampTz(c.created),
                    ]
                })
                .collect(),
            PgStatReplication => s
                .replicas
                .iter()
                .map(|r| {
                    let lsn = |l: u64| Value::Text(crate::replicas::format_lsn(l));
                    let lag = || {
                        r.lag_micros.map_or(Value::Null, |micros| {
                            Value::Interval(oxibase_common::value::Interval {
                                months: 0,
                                days: 0,
                                micros,
                            })
                        })
                    };
                    vec![
                        Value::Int4(r.id),
                        Value::Text(r.user.clone()),
                        Value::Text("oxibase replica".into()),
                        Value::Text(r.client_addr.clone()),
                        Value::TimestampTz(r.started),
                        Value::Text(r.state.clone()),
                        lsn(r.sent_lsn),
                        lsn(r.replay_lsn),
                        lsn(r.replay_lsn),
                        lsn(r.replay_lsn),
                        lag(),
                        lag(),
                        lag(),
                        Value::Text(if r.synchronous { "quorum" } else { "async" }.into()),
                    ]
                })
                .collect(),
            OxibaseStatServer => {
                let st = &s.stats;
                let io = |v: Option<u64>| v.map_or(Value::Null, int8);
                vec![vec![
                    Value::TimestampTz(st.server_start),
                    Value::TimestampTz(st.now),
                    Value::Int4(s.sessions.len() as i32),
                    int8(st.commits),
                    int8(st.rollbacks),
                    int8(st.serialization_failures),
                    int8(st.statements),
                    int8(st.rows_read),
                    int8(st.rows_written),
                    int8(st.lock_waits),
                    int8(st.deadlocks),
                    int8(st.wal_records),
                    int8(st.wal_bytes),
                    int8(st.wal_fsyncs),
                    int8(st.wal_fsync_micros),
                    int8(st.cache_hits),
                    int8(st.cache_misses),
                    int8(st.cache_bytes),
                    io(st.io.map(|i| i.read_ops)),
                    io(st.io.map(|i| i.write_ops)),
                    io(st.io.map(|i| i.read_bytes)),
                    io(st.io.map(|i| i.write_bytes)),
                    int8(st.active_snapshots),
                ]]
            }
            InfoTables => {
                let mut rows: Vec<Vec<Value>> = s
                    .tables
                    .iter()
                    .filter(|t| t.materialized.is_none() && s.visible(ObjectKind::Table, t.id))
                    .map(|t| info_table_row(s, &t.schema, &t.name, "BASE TABLE", true))
                    .collect();
                rows.extend(s.views.iter().filter(|v| s.visible(ObjectKind::Table, v.2)).map(
                    |(schema, name, _, sql)| {
                        let updatable = crate::bind::view_is_updatable(sql);
                        info_table_row(s, schema, name, "VIEW", updatable)
                    },
                ));
                rows
            }
            InfoColumns => info_columns(s),
            InfoSchemata => s
                .schemas
                .iter()
                .filter(|(id, _)| s.visible(ObjectKind::Schema, *id))
                .map(|(id, n)| {
                    let owner = s.access.name_of(s.acl(ObjectKind::Schema, *id).owner);
                    vec![text(&s.database), text(n), text(&owner)]
                })
                .collect(),
            InfoTableConstraints => info_table_constraints(s),
            InfoKeyColumnUsage => info_key_column_usage(s),
            InfoReferentialConstraints => info_referential_constraints(s),
            InfoConstraintColumnUsage => info_constraint_usage(s, true),
            InfoConstraintTableUsage => info_constraint_usage(s, false),
            InfoViews => s
                .views
                .iter()
                .filter(|v| s.visible(ObjectKind::Table, v.2))
                .map(|(schema, name, id, sql)| {
                    vec![
                        text(&s.database),
                        text(schema),
                        text(name),
                        text(&display_query(s, sql)),
                        text(s.check_option_word(*id)),
                        text(yes_no(crate::bind::view_is_updatable(sql))),
                    ]
                })
                .collect(),
            InfoSequences => s
                .sequences
                .iter()
                .filter(|(q, _)| s.visible(ObjectKind::Sequence, q.id))
                .map(|(q, _)| {
                    vec![
                        text(&s.database),
                        text(&q.schema),
                        text(&q.name),
                        text(&sequence_type(s, q).name()),
                        text(&q.start.to_string()),
                        text(&q.min.to_string()),
                        text(&q.max.to_string()),
                        text(&q.increment.to_string()),
                        text(if q.cycle { "YES" } else { "NO" }),
                    ]
                })
                .collect(),
            InfoDomains => s.domains.iter().map(|d| info_domain_row(s, d)).collect(),
            InfoTablePrivileges => info_table_privileges(s),
            InfoDomainConstraints => s
                .domains
                .iter()
                .flat_map(|d| {
                    d.checks.iter().map(|c| {
                        vec![
                            text(&s.database),
                            text(&d.schema),
                            text(&c.name),
                            text(&s.database),
                            text(&d.schema),
                            text(&d.name),
                            text("NO"),
                            text("NO"),
                        ]
                    })
                })
                .collect(),
            InfoTriggers => {
                use crate::catalog::triggers::{DELETE, INSERT, UPDATE};
                let mut rows = Vec::new();
                for t in &s.tables {
                    for event in [INSERT, DELETE, UPDATE] {
                        // action_order: the firing order among the table's triggers of the
                        // same event, timing and level (by name, as they fire).
                        let mut order: std::collections::HashMap<(&str, &str), i32> =
                            std::collections::HashMap::new();
                        for tr in t.triggers.iter().filter(|tr| tr.tgtype & event != 0) {
                            let n = order.entry((tr.timing(), tr.level())).or_insert(0);
                            *n += 1;
                            let op = match event {
                                INSERT => "INSERT",
                                DELETE => "DELETE",
                                _ => "UPDATE",
                            };
                            let args: Vec<String> = tr
                                .args
                                .iter()
                                .map(|a| format!("'{}'", a.replace('\'', "''")))
                                .collect();
                            rows.push(vec![
                                text(&s.database),
                                text(&t.schema),
                                text(&tr.name),
                                text(op),
                                text(&s.database),
                                text(&t.schema),
                                text(&t.name),
                                Value::Int4(*n),
                                tr.when.as_deref().map_or(Value::Null, text),
                                text(&format!(
                                    "EXECUTE FUNCTION {}({})",
                                    tr.function.1,
                                    args.join(", ")
                                )),
                                text(tr.level()),
                                text(tr.timing()),
                            ]);
                        }
                    }
                }
                rows
            }
            InfoRoutines => s
                .routines
                .iter()
                .filter(|r| s.visible(ObjectKind::Routine, r.id))
                .map(|r| {
                    let data_type = match &r.returns {
                        crate::procedure::Returns::Void if r.kind == RoutineKind::Procedure => {
                            Value::Null
                        }
                        crate::procedure::Returns::Value(t) => text(&t.name()),
                        crate::procedure::Returns::Void => text("void"),
                        crate::procedure::Returns::Trigger => text("trigger"),
                        _ => text("record"),
                    };
                    vec![
                        text(&s.database),
                        text(&r.schema),
                        text(&format!("{}_{}", r.name, r.id)),
                        text(&s.database),
                        text(&r.schema),
                        text(&r.name),
                        text(r.kind.keyword()),
                        data_type,
                        text(&r.language.to_uppercase()),
                    ]
                })
                .collect(),
        })
    }
}

/// The text search parser (`default`) and the snowball template, as PostgreSQL numbers them.
const TS_PARSER_OID: RelId = 3722;
const TS_SNOWBALL_OID: RelId = 13_610;

/// The oid of the i-th text search configuration: `simple` keeps PostgreSQL's 3748, the
/// languages (which PostgreSQL numbers when a cluster is created) follow from 13_612.
fn ts_config_oid(i: usize) -> RelId {
    if i == 0 { 3748 } else { 13_610 + 2 * i as RelId }
}

/// The oid of the i-th configuration's dictionary: `simple`'s is PostgreSQL's 3765, each
/// language's stemmer (`<language>_stem`) follows its configuration's.
fn ts_dictionary_oid(i: usize) -> RelId {
    if i == 0 { 3765 } else { ts_config_oid(i) + 100 }
}

/// A text search dictionary's name by its oid (`oid::regdictionary`): `simple`, or a
/// language's `<language>_stem`.
pub fn ts_dictionary_name(dictionary: i64) -> Option<String> {
    crate::tsearch::config_names().enumerate().find_map(|(i, name)| {
        let name = if i == 0 { "simple".to_string() } else { format!("{name}_stem") };
        (dictionary == i64::from(ts_dictionary_oid(i))).then_some(name)
    })
}

fn oid(id: RelId) -> Value {
    Value::Int8(id as i64)
}

/// A stored routine as pg_proc shows it.
fn pg_proc_row(s: &CatalogSnapshot, r: &Routine) -> Vec<Value> {
    use crate::procedure::Returns;
    let namespace = s.schemas.iter().find(|(_, n)| *n == r.schema).map_or(2200, |(id, _)| *id);
    let rettype = match &r.returns {
        Returns::Void => 2278,
        Returns::Trigger => 2279,
        Returns::Value(t) | Returns::SetOf(t) => crate::types::type_oid(t),
        Returns::Table(_) | Returns::Out(_) => 2249,
        Returns::SetOfRow(..) => 2249,
    };
    let int8s = |v: Vec<i64>| {
        Value::Array(Box::new(Array {
            element_type: DataType::Int8,
            elements: v.into_iter().map(Value::Int8).collect(),
        }))
    };
    let parameters = parameters(r);
    let all_inputs = parameters.iter().all(|(mode, _, _)| *mode == 'i');
    // pg_language's oids: sql (14), plpgsql, the Wasm languages (c, 13, for another).
    let language = match r.language.as_str() {
        crate::sql_routine::LANGUAGE => 14,
        crate::plpgsql::LANGUAGE => PLPGSQL_OID as i64,
        other => WASM_LANGUAGES.iter().find(|(_, n)| *n == other).map_or(13, |(id, _)| *id as i64),
    };
    let set = r.returns.is_set() && !matches!(r.returns, Returns::Out(_));
    vec![
        oid(r.id),
        text(&r.name),
        oid(namespace),
        Value::Int8(i64::from(rettype)),
        text(r.kind.code()),
        text(&r.source),
        Value::Int8(language),
        Value::Bool(set),
        Value::Text(r.volatility.to_string()),
        Value::Bool(r.strict),
        Value::Int2(r.args.len() as i16),
        int8s(r.args.iter().map(|(_, t)| i64::from(crate::types::type_oid(t))).collect()),
        Value::Array(Box::new(Array {
            element_type: DataType::Text,
            elements: parameters.iter().map(|(_, n, _)| text(n)).collect(),
        })),
        // NULL when every parameter is an input, as in PostgreSQL.
        if all_inputs {
            Value::Null
        } else {
            Value::Array(Box::new(Array {
                element_type: DataType::InternalChar,
                elements: parameters.iter().map(|(m, _, _)| text(&m.to_string())).collect(),
            }))
        },
        if all_inputs {
            Value::Null
        } else {
            int8s(parameters.iter().map(|(_, _, t)| i64::from(crate::types::type_oid(t))).collect())
        },
        owner_and_acl(s, ObjectKind::Routine, r.id).0,
        owner_and_acl(s, ObjectKind::Routine, r.id).1,
        Value::Bool(r.security_definer),
        if r.config.is_empty() {
            Value::Null
        } else {
            Value::Array(Box::new(Array {
                element_type: DataType::Text,
                elements: r.config.iter().map(|(n, v)| text(&format!("{n}={v}"))).collect(),
            }))
        },
        // PostgreSQL's default costs: 1 for C functions, 100 for the others; 1000 rows for a
        // set-returning function.
        Value::Float4(if matches!(language, 12 | 13) { 1.0 } else { 100.0 }),
        Value::Float4(if set { 1000.0 } else { 0.0 }),
    ]
}

fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

fn int8(v: u64) -> Value {
    Value::Int8(v.min(i64::MAX as u64) as i64)
}

fn schema_id(s: &CatalogSnapshot, name: &str) -> RelId {
    s.schemas.iter().find(|(_, n)| n == name).map_or(0, |(id, _)| *id)
}

/// The counter columns of pg_stat_*_tables (or pg_statio_*_tables), after relid, schemaname
/// and relname.
fn stat_table_counters(io: bool) -> Vec<(&'static str, DataType)> {
    use DataType::{Int8, TimestampTz};
    let names: &[&str] = if io {
        &[
            "heap_blks_read",
            "heap_blks_hit",
            "idx_blks_read",
            "idx_blks_hit",
            "toast_blks_read",
            "toast_blks_hit",
            "tidx_blks_read",
            "tidx_blks_hit",
        ]
    } else {
        &[
            "seq_scan",
            "seq_tup_read",
            "idx_scan",
            "idx_tup_fetch",
            "n_tup_ins",
            "n_tup_upd",
            "n_tup_del",
            "n_tup_hot_upd",
            "n_live_tup",
            "n_dead_tup",
            "n_mod_since_analyze",
            "n_ins_since_vacuum",
            "last_vacuum",
            "last_autovacuum",
            "last_analyze",
            "last_autoanalyze",
            "vacuum_count",
            "autovacuum_count",
            "analyze_count",
            "autoanalyze_count",
        ]
    };
    names
        .iter()
        .map(|n| (*n, if n.starts_with("last_") { TimestampTz(None) } else { Int8 }))
        .collect()
}

fn user_tables(s: &CatalogSnapshot) -> impl Iterator<Item = &Table> {
    s.tables.iter().filter(|t| t.schema != "pg_catalog")
}

fn int2_array(values: impl Iterator<Item = usize>) -> Value {
    Value::Array(Box::new(Array {
        element_type: DataType::Int2,
        elements: values.map(|v| Value::Int2(v as i16 + 1)).collect(),
    }))
}

fn class_row(
    id: RelId,
    name: &str,
    namespace: RelId,
    kind: &str,
    natts: usize,
    has_index: bool,
    checks: usize,
) -> Vec<Value> {
    vec![
        oid(id),
        text(name),
        oid(namespace),
        Value::Int8(0),
        oid(10),
        Value::Int8(if kind == "i" { 403 } else { 2 }),
        oid(id),
        Value::Int8(0),
        Value::Int4(0),
        Value::Float4(-1.0),
        Value::Bool(has_index),
        Value::Bool(false),
        text("p"),
        text(kind),
        Value::Int2(natts as i16),
        Value::Int2(checks as i16),
        Value::Bool(false),
        Value::Bool(false),
        Value::Bool(false),
        Value::Bool(false),
        Value::Bool(false),
        Value::Bool(true),
        text("d"),
        Value::Bool(false),
        Value::Int8(0),
        Value::Null,
        Value::Null,
    ]
}

/// A primary key shows in the catalogs as an index named `<table>_pkey` with an id derived
/// from the table's (PostgreSQL has a real index relation; Oxibase's rows *are* the index).
pub fn pkey_oid(table_id: RelId) -> RelId {
    table_id.wrapping_add(1 << 30)
}

/// The table whose primary key [`pkey_oid`] names (if `oid` is of that form).
pub fn table_of_pkey_oid(oid: RelId) -> Option<RelId> {
    oid.checked_sub(1 << 30)
}

/// The tables some foreign key references.
fn referenced_tables(s: &CatalogSnapshot) -> std::collections::HashSet<RelId> {
    s.tables
        .iter()
        .flat_map(|t| &t.constraints)
        .filter_map(|c| match &c.kind {
            ConstraintKind::ForeignKey { ref_table, .. } => Some(*ref_table),
            _ => None,
        })
        .collect()
}

/// relhastriggers: a table with triggers, and one on either side of a foreign key (which
/// has referential-action triggers in PostgreSQL; psql shows its keys only when this says
/// so).
fn has_triggers(t: &Table, referenced: &std::collections::HashSet<RelId>) -> bool {
    !t.triggers.is_empty()
        || referenced.contains(&t.id)
        || t.constraints.iter().any(|c| matches!(c.kind, ConstraintKind::ForeignKey { .. }))
}

fn pg_class(s: &CatalogSnapshot) -> Vec<Vec<Value>> {
    let mut rows = Vec::new();
    let referenced = referenced_tables(s);
    for t in &s.tables {
        let ns = schema_id(s, &t.schema);
        let checks =
            t.constraints.iter().filter(|c| matches!(c.kind, ConstraintKind::Check { .. })).count();
        let live = t.columns.iter().filter(|c| !c.dropped).count();
        let mut row = class_row(
            t.id,
            &t.name,
            ns,
            if t.materialized.is_some() { "m" } else { "r" },
            live,
            !t.indexes.is_empty() || !t.primary_key.is_empty(),
            checks,
        );
        row[17] = Value::Bool(has_triggers(t, &referenced)); // relhastriggers
        row[19] = Value::Bool(t.row_security & crate::catalog::policies::ENABLED != 0);
        row[20] = Value::Bool(t.row_security & crate::catalog::policies::FORCED != 0);
        row[22] = text(&char::from(t.replica_identity).to_string()); // relreplident
        if t.schema != "pg_catalog" {
            row[3] = oid(t.id); // reltype: its row type
        }
        rows.push(row);
        if !t.primary_key.is_empty() {
            rows.push(class_row(
                pkey_oid(t.id),
                &format!("{}_pkey", t.name),
                ns,
                "i",
                t.primary_key.len(),
                false,
                0,
            ));
        }
        for i in &t.indexes {
            let mut row = class_row(i.id, &i.name, ns, "i", i.keys.len(), false, 0);
            row[5] = Value::Int8(i.method.oid().into()); // relam
            rows.push(row);
        }
    }
    for (schema, name, id, _) in &s.views {
        let mut row = class_row(*id, name, schema_id(s, schema), "v", 0, false, 0);
        let option = s.check_option_word(*id);
        if option != "NONE" {
            row[26] = Value::Array(Box::new(Array {
                element_type: DataType::Text,
                elements: vec![text(&format!("check_option={}", option.to_lowercase()))],
            }));
        }
        rows.push(row);
    }
    for (q, _) in &s.sequences {
        rows.push(class_row(q.id, &q.name, schema_id(s, &q.schema), "S", 3, false, 0));
    }
    for c in &s.composites {
        let live = c.live_columns().count();
        let mut row = class_row(c.id, &c.name, schema_id(s, &c.schema), "c", live, false, 0);
        row[3] = oid(c.id); // reltype
        row[5] = Value::Int8(0); // relam
        row[6] = Value::Int8(0); // relfilenode
        rows.push(row);
    }
    // relowner and relacl; an index belongs to its table's owner.
    let index_tables: std::collections::HashMap<i64, RelId> = s
        .tables
        .iter()
        .flat_map(|t| {
            t.indexes
                .iter()
                .map(|i| i64::from(i.id))
                .chain((!t.primary_key.is_empty()).then(|| i64::from(pkey_oid(t.id))))
                .map(move |i| (i, t.id))
        })
        .collect();
    for row in &mut rows {
        let (Value::Int8(id), Value::Text(kind)) = (&row[0], &row[13]) else { continue };
        let object = if kind == "S" { ObjectKind::Sequence } else { ObjectKind::Table };
        let (owner, acl) = match index_tables.get(id) {
            Some(table) => (owner_and_acl(s, ObjectKind::Table, *table).0, Value::Null),
            None => owner_and_acl(s, object, *id as RelId),
        };
        row[4] = owner;
        row[25] = acl;
    }
    rows.extend(system_class_rows());
    rows
}

/// information_schema.table_privileges: one row per privilege an ACL entry gives on a
/// table or view (the owner's too), where the current role is the grantor or the grantee
/// (or may act as them), or the grantee is PUBLIC, as PostgreSQL's view filters them.
fn info_table_privileges(s: &CatalogSnapshot) -> Vec<Vec<Value>> {
    let graph = &s.access;
    let me = graph.role(&s.user).map_or(0, |r| r.id);
    let superuser = graph.role_by_id(me).is_some_and(|r| r.superuser);
    let mine = graph.privileged_roles(me);
    let relations = s
        .tables
        .iter()
        .filter(|t| t.id >= crate::keys::FIRST_USER_ID)
        .map(|t| (t.id, t.schema.as_str(), t.name.as_str()))
        .chain(s.views.iter().map(|(schema, name, id, _)| (*id, schema.as_str(), name.as_str())));
    let mut rows = Vec::new();
    for (id, schema, name) in relations {
        let acl = s.acl(ObjectKind::Table, id);
        for item in acl.entries(ObjectKind::Table, id) {
            let public = item.grantee == crate::catalog::acl::PUBLIC_ROLE;
            if !superuser
                && !public
                && !mine.contains(&item.grantee)
                && !mine.contains(&item.grantor)
            {
                continue;
            }
            for privilege in crate::catalog::acl::privilege_names(item.privileges) {
                let bit = crate::catalog::acl::privilege_named(privilege).unwrap_or(0);
                let grantable = item.grant_options & bit != 0 || item.grantee == acl.owner;
                rows.push(vec![
                    text(&graph.name_of(item.grantor)),
                    text(&if public { "PUBLIC".to_string() } else { graph.name_of(item.grantee) }),
                    text(&s.database),
                    text(schema),
                    text(name),
                    text(privilege),
                    text(yes_no(grantable)),
                    text(yes_no(privilege == "SELECT")),
                ]);
            }
        }
    }
    rows
}

/// An object's owner and ACL as the catalogs show them (`relowner`, `relacl`: NULL for the
/// default privileges).
fn owner_and_acl(s: &CatalogSnapshot, kind: ObjectKind, id: RelId) -> (Value, Value) {
    let mut acl = s.acl(kind, id);
    // PostgreSQL's built-in schemas carry their ACL written out (`=U/...` for everyone).
    let builtin = [crate::catalog::system::PUBLIC, PG_CATALOG_OID, INFORMATION_SCHEMA_OID];
    if kind == ObjectKind::Schema && builtin.contains(&id) && acl.items.is_none() {
        acl.items = Some(acl.entries(kind, id));
    }
    let items = acl.render(|r| s.access.name_of(r)).map_or(Value::Null, |items| {
        Value::Array(Box::new(Array {
            element_type: DataType::Text,
            elements: items.into_iter().map(Value::Text).collect(),
        }))
    });
    (oid(acl.owner), items)
}

fn pg_attribute(s: &CatalogSnapshot) -> Vec<Vec<Value>> {
    let mut rows = Vec::new();
    for t in s.tables.iter().chain(&s.view_tables).chain(&s.composites) {
        for (i, c) in t.columns.iter().enumerate() {
            rows.push(vec![
                oid(t.id),
                text(&c.name),
                Value::Int8(
                    c.domain.as_ref().map_or_else(|| type_oid(&c.data_type), |d| d.id) as i64
                ),
                Value::Int2(type_size(&c.data_type)),
                Value::Int2(i as i16 + 1),
                Value::Int4(crate::types::type_modifier(&c.data_type)),
                Value::Bool(c.not_null),
                Value::Bool(column_default(c).is_some()),
                Value::Bool(c.dropped),
                // GENERATED ALWAYS / BY DEFAULT AS IDENTITY.
                text(if c.identity_always {
                    "a"
                } else if c.identity_by_default {
                    "d"
                } else {
                    ""
                }),
                text(if c.generated.is_some() { "s" } else { "" }),
                Value::Int8(if crate::types::category(&c.data_type) == 'S' { 100 } else { 0 }),
                Value::Int4(i32::from(matches!(c.data_type, DataType::Array(_)))),
                Value::Bool(true),
                Value::Int4(c.statistics),
            ]);
        }
    }
    rows.extend(system_attribute_rows());
    rows
}

/// A synthetic oid for an enum label (PostgreSQL gives each pg_enum row one).
fn enum_label_oid(type_id: RelId, index: usize) -> i64 {
    ((type_id as i64) << 16) | index as i64
}

/// The name of a user-defined type by oid (a domain, an enum or composite type or its
/// array type), for format_type: qualified where the search path does not reach it.
pub fn user_type_name(s: &CatalogSnapshot, oid_: i64) -> Option<String> {
    if let Some(d) = s.domains.iter().find(|d| i64::from(d.id) == oid_) {
        return Some(d.sql_name());
    }
    for c in row_types(s) {
        let name = visible_name(s, &c.schema, &c.name);
        if i64::from(c.id) == oid_ {
            return Some(name);
        } else if i64::from(oxibase_common::value::user_array_oid(c.id)) == oid_ {
            return Some(format!("{name}[]"));
        }
    }
    s.enums.iter().find_map(|(_, e)| {
        let name = || visible_name(s, &e.schema, &e.type_name);
        if i64::from(e.id) == oid_ {
            Some(name())
        } else if i64::from(e.array_oid()) == oid_ {
            Some(format!("{}[]", name()))
        } else {
            None
        }
    })
}

/// A type's name as the catalog functions print it: an enum or composite type qualified
/// where the search path does not reach it (pg_dump's empty search path: `public.mood`).
pub fn visible_type_name(s: &CatalogSnapshot, t: &DataType) -> String {
    match t {
        DataType::Enum(e) => visible_name(s, &e.schema, &e.type_name),
        DataType::Record(r) => match row_types(s).find(|c| Some(c.id) == r.id) {
            Some(c) => visible_name(s, &c.schema, &c.name),
            None => t.name(),
        },
        DataType::Array(element) => format!("{}[]", visible_type_name(s, element)),
        t => t.name(),
    }
}

/// The relations with a row type of their own in pg_type: composite types and user tables
/// (materialized views included).
fn row_types(s: &CatalogSnapshot) -> impl Iterator<Item = &Table> {
    s.composites.iter().chain(user_tables(s))
}

/// A user-defined type's name: bare where its schema is on the search path, else
/// qualified, quoted where SQL needs it.
fn visible_name(s: &CatalogSnapshot, schema: &str, name: &str) -> String {
    use oxibase_common::value::quote_ident;
    if s.search_path().iter().any(|p| p == schema) {
        quote_ident(name)
    } else {
        format!("{}.{}", quote_ident(schema), quote_ident(name))
    }
}

fn pg_type(s: &CatalogSnapshot) -> Vec<Vec<Value>> {
    let base = [
        ("bool", DataType::Bool),
        ("bytea", DataType::Bytea),
        ("int8", DataType::Int8),
        ("int2", DataType::Int2),
        ("int4", DataType::Int4),
        ("text", DataType::Text),
        ("json", DataType::Json),
        ("float4", DataType::Float4),
        ("float8", DataType::Float8),
        ("bpchar", DataType::Char(1)),
        ("varchar", DataType::Varchar(None)),
        ("date", DataType::Date),
        ("time", DataType::Time(None)),
        ("timestamp", DataType::Timestamp(None)),
        ("timestamptz", DataType::TimestampTz(None)),
        ("interval", DataType::Interval(None)),
        ("numeric", DataType::Numeric(None)),
        ("uuid", DataType::Uuid),
        ("jsonb", DataType::Jsonb),
        ("tsvector", DataType::TsVector),
        ("tsquery", DataType::TsQuery),
        ("inet", DataType::Inet),
        ("cidr", DataType::Cidr),
    ];
    let mut rows = Vec::new();
    for (name, ty) in base {
        let array = DataType::Array(Box::new(ty.clone()));
        let (io_in, io_out) = (format!("{name}in"), format!("{name}out"));
        rows.push(type_row(
            type_oid(&ty),
            name,
            type_size(&ty),
            'b',
            crate::types::category(&ty),
            0,
            type_oid(&array),
            &io_in,
            &io_out,
        ));
        rows.push(type_row(
            type_oid(&array),
            &format!("_{name}"),
            -1,
            'b',
            'A',
            type_oid(&ty),
            0,
            "array_in",
            "array_out",
        ));
    }
    rows.push(type_row(19, "name", 64, 'b', 'S', 18, 1003, "namein", "nameout"));
    rows.push(type_row(1003, "_name", -1, 'b', 'A', 19, 0, "array_in", "array_out"));
    rows.push(type_row(26, "oid", 4, 'b', 'N', 0, 1028, "oidin", "oidout"));
    rows.push(type_row(2205, "regclass", 4, 'b', 'N', 0, 2210, "regclassin", "regclassout"));
    rows.push(type_row(3734, "regconfig", 4, 'b', 'N', 0, 3735, "regconfigin", "regconfigout"));
    rows.push(type_row(705, "unknown", -2, 'p', 'X', 0, 0, "unknownin", "unknownout"));
    rows.push(type_row(2249, "record", -1, 'p', 'P', 0, 2287, "record_in", "record_out"));
    rows.push(type_row(2278, "void", 4, 'p', 'P', 0, 0, "void_in", "void_out"));
    for (schema, e) in &s.enums {
        let name = e.type_name.as_str();
        let mut row = type_row(e.id, name, 4, 'e', 'E', 0, e.array_oid(), "enum_in", "enum_out");
        row[2] = oid(*schema);
        rows.push(row);
        let array = format!("_{name}");
        let mut row =
            type_row(e.array_oid(), &array, -1, 'b', 'A', e.id, 0, "array_in", "array_out");
        row[2] = oid(*schema);
        rows.push(row);
    }
    // Composite types, and each table's row type (as PostgreSQL, which psql's \dT and
    // pg_dump tell apart by the relation's kind).
    for c in row_types(s) {
        let array = oxibase_common::value::user_array_oid(c.id);
        let mut row = type_row(c.id, &c.name, -1, 'c', 'C', 0, array, "record_in", "record_out");
        row[2] = oid(schema_id(s, &c.schema));
        row[9] = oid(c.id); // typrelid
        rows.push(row);
        let name = format!("_{}", c.name);
        let mut row = type_row(array, &name, -1, 'b', 'A', c.id, 0, "array_in", "array_out");
        row[2] = oid(schema_id(s, &c.schema));
        rows.push(row);
    }
    for d in &s.domains {
        let category = crate::types::category(&d.base);
        let mut row =
            type_row(d.id, &d.name, type_size(&d.base), 'd', category, 0, 0, "domain_in", "");
        row[2] = oid(schema_id(s, &d.schema));
        row[8] = oid(d.parent.as_ref().map_or_else(|| type_oid(&d.base), |p| p.id));
        row[10] = Value::Bool(d.not_null);
        row[13] = text(&format!("{}out", d.base.name()));
        row[15] = Value::Null;
        row[16] = Value::Int4(crate::types::type_modifier(&d.base));
        row[17] = d.default.as_deref().map_or(Value::Null, text);
        rows.push(row);
    }
    // A user-defined type's owner and ACL are its own; its array type's owner is its.
    let owned: std::collections::HashMap<i64, RelId> = s
        .enums
        .iter()
        .flat_map(|(_, e)| [(e.id, e.id), (e.array_oid(), e.id)])
        .chain(
            row_types(s)
                .flat_map(|c| [(c.id, c.id), (oxibase_common::value::user_array_oid(c.id), c.id)]),
        )
        .chain(s.domains.iter().map(|d| (d.id, d.id)))
        .map(|(oid_, id)| (i64::from(oid_), id))
        .collect();
    for row in &mut rows {
        let Value::Int8(oid_) = row[0] else { continue };
        if let Some(&id) = owned.get(&oid_) {
            let (owner, acl) = owner_and_acl(s, ObjectKind::Table, id);
            row[18] = owner;
            row[19] = if i64::from(id) == oid_ { acl } else { Value::Null };
        }
    }
    rows
}

#[allow(clippy::too_many_arguments)]
fn type_row(
    oid_: u32,
    name: &str,
    len: i16,
    typtype: char,
    category: char,
    elem: u32,
    array: u32,
    input: &str,
    output: &str,
) -> Vec<Value> {
    vec![
        Value::Int8(oid_ as i64),
        text(name),
        oid(11),
        Value::Int2(len),
        text(&typtype.to_string()),
        text(&category.to_string()),
        Value::Int8(elem as i64),
        Value::Int8(array as i64),
        Value::Int8(0),
        Value::Int8(0),
        Value::Bool(false),
        text(","),
        text(input),
        text(output),
        text(&input.replace("in", "recv")),
        text(&output.replace("out", "send")),
        Value::Int4(-1),
        Value::Null,
        oid(crate::catalog::system::BOOTSTRAP_ROLE_ID),
        Value::Null,
    ]
}

fn pg_index(s: &CatalogSnapshot) -> Vec<Vec<Value>> {
    let mut rows = Vec::new();
    for t in &s.tables {
        if !t.primary_key.is_empty() {
            rows.push(vec![
                oid(pkey_oid(t.id)),
                oid(t.id),
                Value::Int2(t.primary_key.len() as i16),
                Value::Int2(t.primary_key.len() as i16),
                Value::Bool(true),
                Value::Bool(true),
                Value::Bool(false),
                Value::Bool(true),
                int2_array(t.primary_key.iter().copied()),
                Value::Null,
                Value::Null,
                index_options(&[], t.primary_key.len()),
            ]);
        }
        for i in &t.indexes {
            rows.push(vec![
                oid(i.id),
                oid(t.id),
                Value::Int2(i.keys.len() as i16),
                Value::Int2(i.keys.len() as i16),
                Value::Bool(i.unique),
                Value::Bool(false),
                Value::Bool(false),
                Value::Bool(i.valid),
                // An expression's position is 0; its text is in indexprs (PostgreSQL keeps a
                // node tree there, psql reads pg_get_indexdef instead).
                Value::Array(Box::new(Array {
                    element_type: DataType::Int2,
                    elements: i
                        .keys
                        .iter()
                        .map(|k| match k {
                            IndexKey::Column(c) => Value::Int2(*c as i16 + 1),
                            IndexKey::Expr(_) => Value::Int2(0),
                        })
                        .collect(),
                })),
                {
                    let exprs: Vec<&str> = i
                        .keys
                        .iter()
                        .filter_map(|k| match k {
                            IndexKey::Expr(sql) => Some(sql.as_str()),
                            IndexKey::Column(_) => None,
                        })
                        .collect();
                    if exprs.is_empty() { Value::Null } else { text(&exprs.join(", ")) }
                },
                i.predicate.as_deref().map_or(Value::Null, text),
                index_options(&i.orders, i.keys.len()),
            ]);
        }
    }
    rows
}

/// pg_index.indoption: per key, 1 for DESC and 2 for NULLS FIRST (keys without an order
/// are ascending).
fn index_options(orders: &[oxibase_common::keycode::ColumnOrder], keys: usize) -> Value {
    let option = |k: usize| {
        orders.get(k).map_or(0, |o| i16::from(o.descending) | (i16::from(o.nulls_first) << 1))
    };
    Value::Array(Box::new(Array {
        element_type: DataType::Int2,
        elements: (0..keys).map(|k| Value::Int2(option(k))).collect(),
    }))
}

/// The CREATE INDEX statement of a table's primary key (pg_indexes.indexdef,
/// pg_get_indexdef).
fn primary_key_definition(t: &Table) -> String {
    let key = Index {
        id: 0,
        storage: 0,
        name: format!("{}_pkey", t.name),
        table_id: t.id,
        unique: true,
        keys: t.primary_key.iter().map(|&c| IndexKey::Column(c)).collect(),
        orders: Vec::new(),
        valid: true,
        predicate: None,
        method: IndexMethod::Btree,
        nulls_not_distinct: false,
        constraint: true,
    };
    index_definition(t, &key)
}

/// The CREATE INDEX statement of an index (pg_indexes.indexdef, pg_get_indexdef).
pub fn index_definition(t: &Table, i: &Index) -> String {
    let quote = crate::functions::string::quote_identifier;
    let keys: Vec<String> = i
        .key_definitions(t)
        .into_iter()
        .zip(i.orders.iter().map(Some).chain(std::iter::repeat(None)))
        .map(|(key, order)| match order {
            Some(o) if o.descending && !o.nulls_first => format!("{key} DESC NULLS LAST"),
            Some(o) if o.descending => format!("{key} DESC"),
            Some(o) if o.nulls_first => format!("{key} NULLS FIRST"),
            _ => key,
        })
        .collect();
    let predicate = i
        .predicate
        .as_ref()
        .map(|p| format!(" WHERE {}", crate::catalog::deparse(p)))
        .unwrap_or_default();
    format!(
        "CREATE {}INDEX {} ON {}.{} USING {} ({}){}{predicate}",
        if i.unique { "UNIQUE " } else { "" },
        quote(&i.name),
        quote(&t.schema),
        quote(&t.name),
        i.method.name(),
        keys.join(", "),
        if i.nulls_not_distinct { " NULLS NOT DISTINCT" } else { "" },
    )
}

fn pg_indexes(s: &CatalogSnapshot) -> Vec<Vec<Value>> {
    let mut rows = Vec::new();
    for t in user_tables(s) {
        if !t.primary_key.is_empty() {
            let name = format!("{}_pkey", t.name);
            rows.push(vec![
                text(&t.schema),
                text(&t.name),
                text(&name),
                Value::Null,
                text(&primary_key_definition(t)),
            ]);
        }
        for i in &t.indexes {
            rows.push(vec![
                text(&t.schema),
                text(&t.name),
                text(&i.name),
                Value::Null,
                text(&index_definition(t, i)),
            ]);
        }
    }
    rows
}

fn pg_constraint(s: &CatalogSnapshot) -> Vec<Vec<Value>> {
    let mut rows = Vec::new();
    let mut not_valid: Vec<(RelId, &String)> = Vec::new();
    let mut deferrable: Vec<(RelId, &String, bool)> = Vec::new();
    for t in user_tables(s) {
        let ns = schema_id(s, &t.schema);
        let mut row = |name: &str,
                       kind: &str,
                       index: RelId,
                       ref_table: RelId,
                       key: Value,
                       fkey: Value,
                       src: Value,
                       del: &str,
                       upd: &str| {
            rows.push(vec![
                oid(constraint_oid(t.id, name)),
                text(name),
                oid(ns),
                text(kind),
                Value::Bool(false),
                Value::Bool(false),
                Value::Bool(true),
                oid(t.id),
                oid(index),
                oid(ref_table),
                text(upd),
                text(del),
                key,
                fkey,
                src,
                oid(0),
            ]);
        };
        if !t.primary_key.is_empty() {
            row(
                &format!("{}_pkey", t.name),
                "p",
                pkey_oid(t.id),
                0,
                int2_array(t.primary_key.iter().copied()),
                Value::Null,
                Value::Null,
                " ",
                " ",
            );
        }
        // A UNIQUE constraint's index (CREATE UNIQUE INDEX makes no constraint).
        for (i, columns) in
            t.indexes.iter().filter(|i| i.constraint).filter_map(|i| Some((i, i.plain_columns()?)))
        {
            row(
                &i.name,
                "u",
                i.id,
                0,
                int2_array(columns.into_iter()),
                Value::Null,
                Value::Null,
                " ",
                " ",
            );
        }
        for c in &t.constraints {
            match &c.kind {
                ConstraintKind::Check { expr } => {
                    // The columns the check reads, in order of appearance as PostgreSQL
                    // lists them (none we can name if it no longer binds).
                    let columns = crate::bind::bind_table_expr(t, expr)
                        .map(|e| e.columns())
                        .unwrap_or_default();
                    let key = match columns.is_empty() {
                        true => Value::Null,
                        false => int2_array(columns.into_iter()),
                    };
                    row(&c.name, "c", 0, 0, key, Value::Null, text(expr), " ", " ")
                }
                ConstraintKind::ForeignKey {
                    columns,
                    ref_table,
                    ref_columns,
                    on_delete,
                    on_update,
                } => {
                    let code = |a: &str| match a {
                        "cascade" => "c",
                        "setnull" => "n",
                        "setdefault" => "d",
                        _ => "a",
                    };
                    // conindid: the referenced table's key or unique index the foreign key
                    // relies on (pgjdbc's getImportedKeys joins it for PK_NAME).
                    let mut wanted = ref_columns.clone();
                    wanted.sort_unstable();
                    let same = |cols: &[usize]| {
                        let mut cols = cols.to_vec();
                        cols.sort_unstable();
                        cols == wanted
                    };
                    let index = s.tables.iter().find(|x| x.id == *ref_table).map_or(0, |target| {
                        if same(&target.primary_key) {
                            pkey_oid(target.id)
                        } else {
                            target
                                .indexes
                                .iter()
                                .filter(|i| i.unique && i.predicate.is_none())
                                .find(|i| i.plain_columns().is_some_and(|c| same(&c)))
                                .map_or(0, |i| i.id)
                        }
                    });
                    row(
                        &c.name,
                        "f",
                        index,
                        *ref_table,
                        int2_array(columns.iter().copied()),
                        int2_array(ref_columns.iter().copied()),
                        Value::Null,
                        code(on_delete),
                        code(on_update),
                    )
                }
            }
        }
        not_valid.extend(t.constraints.iter().filter(|c| !c.validated).map(|c| (t.id, &c.name)));
        deferrable.extend(
            t.constraints
                .iter()
                .filter(|c| c.deferral != Deferral::NotDeferrable)
                .map(|c| (t.id, &c.name, c.deferral == Deferral::Deferred)),
        );
    }
    for row in &mut rows {
        if not_valid.iter().any(|(t, n)| row[7] == oid(*t) && row[1] == text(n)) {
            row[6] = Value::Bool(false);
        }
        if let Some((_, _, deferred)) =
            deferrable.iter().find(|(t, n, _)| row[7] == oid(*t) && row[1] == text(n))
        {
            row[4] = Value::Bool(true);
            row[5] = Value::Bool(*deferred);
        }
    }
    for d in &s.domains {
        for (i, c) in d.checks.iter().enumerate() {
            let ConstraintKind::Check { expr } = &c.kind else { continue };
            rows.push(vec![
                oid(domain_check_oid(d.id, i)),
                text(&c.name),
                oid(schema_id(s, &d.schema)),
                text("c"),
                Value::Bool(false),
                Value::Bool(false),
                Value::Bool(c.validated),
                oid(0),
                oid(0),
                oid(0),
                text(" "),
                text(" "),
                Value::Null,
                Value::Null,
                text(expr),
                oid(d.id),
            ]);
        }
    }
    rows
}

/// The pg_constraint oid of a domain's CHECK (the `index`th by name).
fn domain_check_oid(domain: RelId, index: usize) -> RelId {
    (3 << 29) + domain * 32 + index as RelId
}

/// `CHECK ((expr))` as pg_get_constraintdef prints it.
fn check_definition(expr: &str) -> String {
    if expr.starts_with('(') && expr.ends_with(')') {
        format!("CHECK ({expr})")
    } else {
        format!("CHECK (({expr}))")
    }
}

/// pg_get_constraintdef: a constraint's definition by its pg_constraint oid.
pub fn constraint_definition(
    s: &CatalogSnapshot,
    wanted: i64,
    on_search_path: &dyn Fn(&str) -> bool,
) -> Option<String> {
    for d in &s.domains {
        for (i, c) in d.checks.iter().enumerate() {
            if let ConstraintKind::Check { expr } = &c.kind
                && i64::from(domain_check_oid(d.id, i)) == wanted
            {
                let valid = if c.validated { "" } else { " NOT VALID" };
                return Some(check_definition(expr) + valid);
            }
        }
    }
    let quote = crate::functions::string::quote_identifier;
    for t in user_tables(s) {
        let names = |table: &Table, cols: &[usize]| {
            cols.iter().map(|&c| quote(&table.columns[c].name)).collect::<Vec<_>>().join(", ")
        };
        let mut defs = Vec::new();
        if !t.primary_key.is_empty() {
            let name = format!("{}_pkey", t.name);
            defs.push((name, format!("PRIMARY KEY ({})", names(t, &t.primary_key))));
        }
        for i in t.indexes.iter().filter(|i| i.constraint) {
            let Some(columns) = i.plain_columns() else { continue };
            let nulls = if i.nulls_not_distinct { "NULLS NOT DISTINCT " } else { "" };
            defs.push((i.name.clone(), format!("UNIQUE {nulls}({})", names(t, &columns))));
        }
        for c in &t.constraints {
            defs.push((
                c.name.clone(),
                match &c.kind {
                    ConstraintKind::Check { expr } => check_definition(expr),
                    ConstraintKind::ForeignKey {
                        columns,
                        ref_table,
                        ref_columns,
                        on_delete,
                        on_update,
                    } => {
                        let parent = s.tables.iter().find(|p| p.id == *ref_table);
                        let action = |what: &str, a: &str| match a {
                            "cascade" => format!(" ON {what} CASCADE"),
                            "setnull" => format!(" ON {what} SET NULL"),
                            "setdefault" => format!(" ON {what} SET DEFAULT"),
                            _ => String::new(),
                        };
                        format!(
                            "FOREIGN KEY ({}) REFERENCES {}({}){}{}",
                            names(t, columns),
                            // Qualified unless on the search path, as PostgreSQL's.
                            parent.map_or_else(
                                || ref_table.to_string(),
                                |p| match on_search_path(&p.schema) {
                                    true => quote(&p.name),
                                    false => format!("{}.{}", quote(&p.schema), quote(&p.name)),
                                }
                            ),
                            parent.map_or_else(String::new, |p| names(p, ref_columns)),
                            action("UPDATE", on_update),
                            action("DELETE", on_delete)
                        )
                    }
                } + match c.deferral {
                    Deferral::NotDeferrable => "",
                    Deferral::Immediate => " DEFERRABLE",
                    Deferral::Deferred => " DEFERRABLE INITIALLY DEFERRED",
                } + if c.validated { "" } else { " NOT VALID" },
            ));
        }
        for (name, d) in defs {
            if i64::from(constraint_oid(t.id, &name)) == wanted {
                return Some(d);
            }
        }
    }
    None
}

/// The catalog (its pg_class oid) of every object a comment may be on, by object id:
/// pg_namespace, pg_type, pg_proc, pg_extension, pg_constraint, pg_trigger, pg_class.
fn object_classes(s: &CatalogSnapshot) -> std::collections::HashMap<RelId, RelId> {
    let mut classes = std::collections::HashMap::new();
    classes.extend(s.schemas.iter().map(|(id, _)| (*id, 2615)));
    classes.extend(s.enums.iter().map(|(_, e)| (e.id, 1247)));
    classes.extend(s.domains.iter().map(|d| (d.id, 1247)));
    classes.extend(s.composites.iter().map(|c| (c.id, 1247)));
    classes.extend(s.routines.iter().map(|r| (r.id, 1255)));
    classes.extend(s.extensions.iter().map(|e| (e.id, 3079)));
    classes.extend(s.views.iter().map(|v| (v.2, 1259)));
    classes.extend(s.sequences.iter().map(|(q, _)| (q.id, 1259)));
    for t in &s.tables {
        classes.insert(t.id, 1259);
        classes.extend(t.indexes.iter().map(|i| (i.id, 1259)));
        classes.extend(t.triggers.iter().map(|tr| (tr.id, 2620)));
        let mut constraints: Vec<&str> = t.constraints.iter().map(|c| c.name.as_str()).collect();
        constraints.extend(t.indexes.iter().filter(|i| i.constraint).map(|i| i.name.as_str()));
        let pkey = format!("{}_pkey", t.name);
        if !t.primary_key.is_empty() {
            classes.insert(pkey_oid(t.id), 1259);
            constraints.push(&pkey);
        }
        classes.extend(constraints.into_iter().map(|c| (constraint_oid(t.id, c), 2606)));
    }
    classes
}

/// A table constraint's oid (pg_constraint.oid, what COMMENT ON CONSTRAINT keys its text
/// by): a hash of its table and name into a range of its own, so it stays the same while
/// the constraint does.
pub fn constraint_oid(table: RelId, name: &str) -> RelId {
    let mut hash: u32 = 0x811c_9dc5;
    for b in table.to_le_bytes().iter().chain(name.as_bytes()) {
        hash = (hash ^ u32::from(*b)).wrapping_mul(0x0100_0193);
    }
    (1 << 29) | (hash & ((1 << 29) - 1))
}

/// pg_get_indexdef: an index's CREATE INDEX statement by its oid (a primary key's index
/// has the oid `pkey_oid` gives).
pub fn index_definition_by_oid(s: &CatalogSnapshot, wanted: i64) -> Option<String> {
    for t in &s.tables {
        if !t.primary_key.is_empty() && i64::from(pkey_oid(t.id)) == wanted {
            return Some(primary_key_definition(t));
        }
        if let Some(i) = t.indexes.iter().find(|i| i64::from(i.id) == wanted) {
            return Some(index_definition(t, i));
        }
    }
    None
}

/// pg_get_function_arguments: `a integer, b integer DEFAULT 1, INOUT c text, OUT d int`.
pub fn function_arguments(
    r: &Routine,
    with_defaults: bool,
    type_name: &dyn Fn(&DataType) -> String,
) -> String {
    // A procedure spells its inputs IN, as PostgreSQL's.
    let any_mode = r.kind == crate::procedure::RoutineKind::Procedure;
    parameters(r)
        .into_iter()
        .enumerate()
        .map(|(i, (mode, n, t))| {
            let t = type_name(t);
            let arg = if n.is_empty() { t } else { format!("{n} {t}") };
            let arg = match mode {
                'b' => format!("INOUT {arg}"),
                'o' => format!("OUT {arg}"),
                _ if any_mode => format!("IN {arg}"),
                _ => arg,
            };
            match r.defaults.get(i).cloned().flatten().filter(|_| with_defaults) {
                Some(d) => format!("{arg} DEFAULT {d}"),
                None => arg,
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A routine's parameters as pg_proc's proargmodes tells them: (mode, name, type) with
/// mode `i` (IN), `b` (INOUT) or `o` (OUT); a function's OUT parameters, which are not
/// arguments of its call, come after its arguments.
fn parameters(r: &Routine) -> Vec<(char, &str, &DataType)> {
    let outs = match &r.returns {
        crate::procedure::Returns::Out(c) => c.as_slice(),
        _ => &[],
    };
    let is_out = |n: &str| !n.is_empty() && outs.iter().any(|(o, _)| o == n);
    r.args
        .iter()
        .enumerate()
        .map(|(i, (n, t))| {
            let mode = if r.out_args.get(i).copied().unwrap_or(false) {
                'o'
            } else if is_out(n) {
                'b'
            } else {
                'i'
            };
            (mode, n.as_str(), t)
        })
        .chain(
            outs.iter()
                .filter(|(o, _)| !r.args.iter().any(|(n, _)| n == o))
                .map(|(o, t)| ('o', o.as_str(), t)),
        )
        .collect()
}

/// pg_get_functiondef: a routine's CREATE OR REPLACE statement, laid out as PostgreSQL's.
pub fn function_definition(s: &CatalogSnapshot, r: &Routine) -> String {
    let keyword = r.kind.keyword();
    let type_name = |t: &DataType| visible_type_name(s, t);
    let args = function_arguments(r, true, &type_name);
    let mut out = format!("CREATE OR REPLACE {keyword} {}.{}({args})\n", r.schema, r.name);
    if r.kind == crate::procedure::RoutineKind::Function {
        out.push_str(&format!(" RETURNS {}\n", r.returns.sql_with(&type_name)));
    }
    out.push_str(&format!(" LANGUAGE {}\n", r.language));
    let mut traits = Vec::new();
    match r.volatility {
        'i' => traits.push("IMMUTABLE"),
        's' => traits.push("STABLE"),
        _ => {}
    }
    if r.strict {
        traits.push("STRICT");
    }
    if r.security_definer {
        traits.push("SECURITY DEFINER");
    }
    if !traits.is_empty() {
        out.push_str(&format!(" {}\n", traits.join(" ")));
    }
    for (name, value) in &r.config {
        let quoted: Vec<String> =
            value.split(", ").map(|v| format!("'{}'", v.replace('\'', "''"))).collect();
        out.push_str(&format!(" SET {name} TO {}\n", quoted.join(", ")));
    }
    let tag = format!("${}$", keyword.to_lowercase());
    out.push_str(&format!("AS {tag}{}{tag}\n", r.source));
    out
}

/// pg_get_triggerdef: a trigger's CREATE TRIGGER by its oid.
/// The table is qualified unless `unqualified` says its schema may be left out (pretty
/// output names a table on the search path as regclass prints it).
pub fn trigger_definition(
    s: &CatalogSnapshot,
    wanted: i64,
    pretty: bool,
    on_search_path: &dyn Fn(&str) -> bool,
) -> Option<String> {
    use crate::functions::string::quote_identifier as quote;
    s.tables.iter().find_map(|t| {
        let trigger = t.triggers.iter().find(|tr| i64::from(tr.id) == wanted)?;
        // The table is qualified unless pretty and on the search path; the function unless
        // on the search path, as PostgreSQL's pg_get_triggerdef names them.
        let table = match pretty && on_search_path(&t.schema) {
            true => quote(&t.name),
            false => format!("{}.{}", quote(&t.schema), quote(&t.name)),
        };
        let (schema, name) = &trigger.function;
        let function = match schema.is_empty() || on_search_path(schema) {
            true => quote(name),
            false => format!("{}.{}", quote(schema), quote(name)),
        };
        Some(trigger.definition(&table, &function))
    })
}

/// pg_get_viewdef: a view's query by its oid.
pub fn view_definition(s: &CatalogSnapshot, wanted: i64) -> Option<String> {
    let materialized =
        || s.tables.iter().find(|t| i64::from(t.id) == wanted).and_then(|t| t.materialized.clone());
    s.views
        .iter()
        .find(|v| i64::from(v.2) == wanted)
        .map(|v| v.3.clone())
        .or_else(materialized)
        .map(|sql| format!(" {};", display_query(s, &sql)))
}

/// A stored view query as pg_get_viewdef shows it: relations and functions in a schema on
/// the search path unqualified, the others qualified (views store them all qualified).
pub fn display_query(s: &CatalogSnapshot, sql: &str) -> String {
    query_for_search_path(sql, &s.search_path())
}

/// A stored query with the schema left off the relations and functions it names in the
/// schemas of `path`.
pub fn query_for_search_path(sql: &str, path: &[String]) -> String {
    let Ok(mut statement) = crate::parse::parse_one(sql) else { return sql.to_string() };
    let visible = |name: &sqlparser::ast::ObjectName| match crate::bind::split_name(name) {
        Ok((Some(schema), _)) => path.contains(&schema),
        _ => false,
    };
    let mut changed = false;
    let _ = sqlparser::ast::visit_relations_mut(&mut statement, |name| {
        if name.0.len() == 2 && visible(name) {
            name.0.remove(0);
            changed = true;
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    let _ = sqlparser::ast::visit_expressions_mut(&mut statement, |e| {
        if let sqlparser::ast::Expr::Function(f) = e
            && f.name.0.len() == 2
            && visible(&f.name)
        {
            f.name.0.remove(0);
            changed = true;
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    if changed { statement.to_string() } else { sql.to_string() }
}

fn pg_attrdef(s: &CatalogSnapshot) -> Vec<Vec<Value>> {
    let mut rows = Vec::new();
    for t in user_tables(s) {
        for (i, c) in t.columns.iter().enumerate() {
            if let Some(d) = column_default(c) {
                let id = attrdef_oid(t.id, i);
                rows.push(vec![oid(id), oid(t.id), Value::Int2(i as i16 + 1), text(d)]);
            }
        }
    }
    rows
}

/// A column's default or generation expression as pg_attrdef holds it. An identity
/// column has none there (its sequence is its identity, not a default).
fn column_default(c: &crate::catalog::Column) -> Option<&String> {
    if c.is_identity() {
        return None;
    }
    c.default.as_ref().or(c.generated.as_ref())
}

/// The oid of a column default's pg_attrdef row (high bit set: apart from relation ids).
fn attrdef_oid(table: RelId, position: usize) -> RelId {
    (1 << 31) | (table << 10) | (position as RelId & 0x3ff)
}

/// The type a sequence counts in (pg_sequence.seqtypid, `AS integer`): its column's for a
/// serial or identity sequence, else the type whose default bounds it has (Oxibase keeps a
/// sequence's bounds, not its type).
fn sequence_type(s: &CatalogSnapshot, q: &Sequence) -> DataType {
    if let Some((table, position)) = q.owned_by
        && let Some(column) =
            s.tables.iter().find(|t| t.id == table).and_then(|t| t.columns.get(position))
        && matches!(column.data_type, DataType::Int2 | DataType::Int4 | DataType::Int8)
    {
        return column.data_type.clone();
    }
    let bounds = |min: i64, max: i64| {
        (q.min == 1 && q.max == max && q.increment > 0)
            || (q.min == min && q.max == -1 && q.increment < 0)
    };
    if bounds(i16::MIN.into(), i16::MAX.into()) {
        DataType::Int2
    } else if bounds(i32::MIN.into(), i32::MAX.into()) {
        DataType::Int4
    } else {
        DataType::Int8
    }
}

/// pg_depend: what pg_dump orders its output by. A serial or identity sequence belongs to
/// its column ('a', 'i'), a column default depends on the sequences its `nextval` names,
/// and a view or materialized view on the relations its query reads ('n').
fn pg_depend(s: &CatalogSnapshot) -> Vec<Vec<Value>> {
    const PG_CLASS: i64 = 1259;
    const PG_ATTRDEF: i64 = 2604;
    let row = |classid: i64, objid: RelId, refobjid: RelId, refsubid: i32, deptype: &str| {
        vec![
            Value::Int8(classid),
            oid(objid),
            Value::Int4(0),
            Value::Int8(PG_CLASS),
            oid(refobjid),
            Value::Int4(refsubid),
            text(deptype),
        ]
    };
    let mut rows = Vec::new();
    let tables: std::collections::HashMap<RelId, &Table> =
        s.tables.iter().map(|t| (t.id, t)).collect();
    for (q, _) in &s.sequences {
        if let Some((table, position)) = q.owned_by {
            let identity = tables
                .get(&table)
                .and_then(|t| t.columns.get(position))
                .is_some_and(|c| c.is_identity());
            let deptype = if identity { "i" } else { "a" };
            rows.push(row(PG_CLASS, q.id, table, position as i32 + 1, deptype));
        }
    }
    // A relation by a name as stored SQL spells it: qualified, or in the referring
    // object's schema, or on the default search path.
    let relation = |schema: Option<&str>, name: &str, home: &str| -> Option<RelId> {
        let candidates: Vec<&str> = match schema {
            Some(schema) => vec![schema],
            None => vec![home, "public", "pg_catalog"],
        };
        candidates.into_iter().find_map(|schema| {
            let table = s.tables.iter().find(|t| t.schema == schema && t.name == name);
            let view = s.views.iter().find(|v| v.0 == schema && v.1 == name);
            let sequence = s.sequences.iter().find(|(q, _)| q.schema == schema && q.name == name);
            table.map(|t| t.id).or(view.map(|v| v.2)).or(sequence.map(|(q, _)| q.id))
        })
    };
    for t in user_tables(s) {
        for (i, c) in t.columns.iter().enumerate() {
            let Some(default) = column_default(c) else { continue };
            for name in nextval_targets(default) {
                let (schema, name) = match name.split_once('.') {
                    Some((schema, name)) => (Some(schema.to_string()), name.to_string()),
                    None => (None, name),
                };
                if let Some(sequence) = relation(schema.as_deref(), &name, &t.schema) {
                    rows.push(row(PG_ATTRDEF, attrdef_oid(t.id, i), sequence, 0, "n"));
                }
            }
        }
    }
    let queries =
        s.views.iter().map(|(schema, _, id, sql)| (schema.as_str(), *id, sql.as_str())).chain(
            user_tables(s).filter_map(|t| {
                t.materialized.as_deref().map(|sql| (t.schema.as_str(), t.id, sql))
            }),
        );
    for (home, id, sql) in queries {
        let Some(names) = crate::parse::relations_read(sql) else { continue };
        let mut seen = std::collections::HashSet::new();
        for (schema, name) in names {
            if let Some(target) = relation(schema.as_deref(), &name, home)
                && target != id
                && seen.insert(target)
            {
                rows.push(row(PG_CLASS, id, target, 0, "n"));
            }
        }
    }
    // A composite type's relation on its type, internally (pg_dump reads it the other way:
    // the type after its relation, which comes after its attributes' types).
    for c in &s.composites {
        let mut internal = row(PG_CLASS, c.id, c.id, 0, "i");
        internal[3] = Value::Int8(PG_TYPE);
        rows.push(internal);
    }
    // A routine on the enum and row types of its arguments and result.
    for r in &s.routines {
        let returns = match &r.returns {
            // SETOF a table: its row type (the stored name).
            crate::procedure::Returns::SetOfRow(name, _) => row_types(s)
                .filter(|t| oxibase_common::value::type_sql_name(&t.schema, &t.name) == *name)
                .map(|t| DataType::Record(Arc::new(crate::catalog::row_type(t))))
                .collect(),
            returns => returns.types(),
        };
        let mut seen = std::collections::HashSet::new();
        for used in r.args.iter().map(|(_, t)| t).chain(&returns).flat_map(user_types_in) {
            if seen.insert(used) {
                let mut on_type = row(PG_PROC, r.id, used, 0, "n");
                on_type[3] = Value::Int8(PG_TYPE);
                rows.push(on_type);
            }
        }
    }
    // A table's row type on its table, internally (what depends on the row type comes
    // after the table in a dump).
    for t in user_tables(s) {
        rows.push(row(PG_TYPE, t.id, t.id, 0, "i"));
    }
    // A column of a table or an attribute of a composite type on the enum and composite
    // types it holds (pg_dump orders types by these).
    for t in user_tables(s).chain(&s.composites) {
        for (i, c) in t.columns.iter().enumerate() {
            for used in user_types_in(&c.data_type) {
                rows.push(vec![
                    Value::Int8(PG_CLASS),
                    oid(t.id),
                    Value::Int4(i as i32 + 1),
                    Value::Int8(PG_TYPE),
                    oid(used),
                    Value::Int4(0),
                    text("n"),
                ]);
            }
        }
    }
    rows
}

/// The catalog id of `pg_type`.
const PG_TYPE: i64 = 1247;
/// The catalog id of `pg_proc`.
const PG_PROC: i64 = 1255;

/// The enum and composite types a value of `t` holds: `t` itself, an array's element, a
/// composite type (not the types inside it, which it depends on itself).
fn user_types_in(t: &DataType) -> Vec<RelId> {
    match t {
        DataType::Enum(e) => vec![e.id],
        DataType::Record(r) => r.id.into_iter().collect(),
        DataType::Array(element) => user_types_in(element),
        _ => vec![],
    }
}

/// The sequence names a default's `nextval('name'...)` calls name, unquoted.
fn nextval_targets(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let lower = sql.to_ascii_lowercase();
    let mut rest = lower.as_str();
    let mut offset = 0;
    while let Some(at) = rest.find("nextval('") {
        let start = offset + at + "nextval('".len();
        let Some(len) = sql[start..].find('\'') else { break };
        let name: String = sql[start..start + len].replace('"', "");
        out.push(name);
        offset = start + len;
        rest = &lower[offset..];
    }
    out
}

/// information_schema.tables' row; `insertable` is false for a view that is not
/// automatically updatable.
fn info_table_row(
    s: &CatalogSnapshot,
    schema: &str,
    name: &str,
    kind: &str,
    insertable: bool,
) -> Vec<Value> {
    vec![
        text(&s.database),
        text(schema),
        text(name),
        text(kind),
        Value::Null,
        Value::Null,
        Value::Null,
        Value::Null,
        Value::Null,
        text(yes_no(insertable)),
        text("NO"),
        Value::Null,
    ]
}

/// information_schema's yes_or_no.
fn yes_no(yes: bool) -> &'static str {
    if yes { "YES" } else { "NO" }
}

/// The SQL-standard type name information_schema reports.
fn standard_type_name(t: &DataType) -> String {
    match t {
        DataType::Varchar(_) => "character varying".into(),
        DataType::Char(_) => "character".into(),
        DataType::Numeric(_) => "numeric".into(),
        DataType::Array(_) => "ARRAY".into(),
        DataType::Json => "json".into(),
        DataType::Jsonb => "jsonb".into(),
        DataType::Uuid => "uuid".into(),
        DataType::Enum(_) => "USER-DEFINED".into(),
        DataType::Record(r) if r.id.is_some() => "USER-DEFINED".into(),
        t => t.without_modifier().name(),
    }
}

/// A column type's schema and name as information_schema gives them (a user-defined
/// type's schema is its own).
fn udt_of(s: &CatalogSnapshot, t: &DataType) -> (String, String) {
    let (element, prefix) = match t {
        DataType::Array(e) => (&**e, "_"),
        t => (t, ""),
    };
    if let DataType::Record(r) = element
        && let Some(c) = row_types(s).find(|c| Some(c.id) == r.id)
    {
        return (c.schema.clone(), format!("{prefix}{}", c.name));
    }
    let schema = t.enum_type().map_or("pg_catalog", |e| e.schema.as_str());
    (schema.to_string(), udt_name(t))
}

/// The last part of a possibly schema-qualified type name.
fn udt_name(t: &DataType) -> String {
    match t {
        DataType::Bool => "bool",
        DataType::Int2 => "int2",
        DataType::Int4 => "int4",
        DataType::Int8 => "int8",
        DataType::Float4 => "float4",
        DataType::Float8 => "float8",
        DataType::Numeric(_) => "numeric",
        DataType::Text => "text",
        DataType::Varchar(_) => "varchar",
        DataType::Char(_) => "bpchar",
        DataType::Bytea => "bytea",
        DataType::Date => "date",
        DataType::Time(_) => "time",
        DataType::Timestamp(_) => "timestamp",
        DataType::TimestampTz(_) => "timestamptz",
        DataType::Interval(_) => "interval",
        DataType::Uuid => "uuid",
        DataType::Json => "json",
        DataType::Jsonb => "jsonb",
        DataType::Oid => "oid",
        DataType::InternalChar => "char",
        DataType::Name => "name",
        DataType::Int2Vector => "int2vector",
        DataType::OidVector => "oidvector",
        DataType::TsVector => "tsvector",
        DataType::TsQuery => "tsquery",
        DataType::Array(e) => return format!("_{}", udt_name(e)),
        DataType::Enum(e) => return e.type_name.clone(),
        DataType::Record(_) => "record",
        DataType::Inet => "inet",
        DataType::Cidr => "cidr",
    }
    .into()
}

/// information_schema's data_type of a domain: its base type's standard name, or
/// USER-DEFINED over a type outside pg_catalog (another domain, an enum).
fn domain_data_type(d: &Domain) -> String {
    match &d.parent {
        Some(_) => "USER-DEFINED".into(),
        None => standard_type_name(&d.base),
    }
}

fn info_domain_row(s: &CatalogSnapshot, d: &Domain) -> Vec<Value> {
    let (len, precision, scale) = match &d.base {
        DataType::Varchar(Some(n)) | DataType::Char(n) => {
            (Value::Int4(*n as i32), Value::Null, Value::Null)
        }
        DataType::Numeric(Some((p, sc))) => {
            (Value::Null, Value::Int4(*p as i32), Value::Int4(*sc as i32))
        }
        _ => (Value::Null, Value::Null, Value::Null),
    };
    let (udt_schema, udt) = match &d.parent {
        Some(p) => (p.schema.clone(), p.name.clone()),
        None => (
            d.base.enum_type().map_or("pg_catalog", |e| e.schema.as_str()).to_string(),
            udt_name(&d.base),
        ),
    };
    vec![
        text(&s.database),
        text(&d.schema),
        text(&d.name),
        text(&domain_data_type(d)),
        len,
        precision,
        scale,
        d.default.as_deref().map_or(Value::Null, text),
        text(&s.database),
        text(&udt_schema),
        text(&udt),
    ]
}

fn info_columns(s: &CatalogSnapshot) -> Vec<Vec<Value>> {
    let mut rows = Vec::new();
    let tables = s.tables.iter().chain(&s.view_tables);
    for t in tables.filter(|t| t.materialized.is_none() && s.visible(ObjectKind::Table, t.id)) {
        // A view's columns are updatable where the view is.
        let updatable = match s.views.iter().find(|v| v.2 == t.id) {
            Some((_, _, _, sql)) => yes_no(crate::bind::view_is_updatable(sql)),
            None => "YES",
        };
        let mut position = 0;
        for c in t.columns.iter().filter(|c| !c.dropped) {
            position += 1;
            let (len, precision, radix, scale) = match &c.data_type {
                DataType::Varchar(Some(n)) | DataType::Char(n) => {
                    (Value::Int4(*n as i32), Value::Null, Value::Null, Value::Null)
                }
                DataType::Int2 => (Value::Null, Value::Int4(16), Value::Int4(2), Value::Int4(0)),
                DataType::Int4 => (Value::Null, Value::Int4(32), Value::Int4(2), Value::Int4(0)),
                DataType::Int8 => (Value::Null, Value::Int4(64), Value::Int4(2), Value::Int4(0)),
                DataType::Float4 => (Value::Null, Value::Int4(24), Value::Int4(2), Value::Null),
                DataType::Float8 => (Value::Null, Value::Int4(53), Value::Int4(2), Value::Null),
                DataType::Numeric(Some((p, sc))) => {
                    (Value::Null, Value::Int4(*p as i32), Value::Int4(10), Value::Int4(*sc as i32))
                }
                DataType::Numeric(None) => (Value::Null, Value::Null, Value::Int4(10), Value::Null),
                _ => (Value::Null, Value::Null, Value::Null, Value::Null),
            };
            // Fractional digits of seconds: the declared precision, or microseconds.
            let datetime_precision = match &c.data_type {
                DataType::Date => Value::Int4(0),
                DataType::Time(p)
                | DataType::Timestamp(p)
                | DataType::TimestampTz(p)
                | DataType::Interval(p) => Value::Int4(i32::from(p.unwrap_or(6))),
                _ => Value::Null,
            };
            rows.push(vec![
                text(&s.database),
                text(&t.schema),
                text(&t.name),
                text(&c.name),
                Value::Int4(position),
                // An identity column has no default (its sequence is its identity).
                c.default.as_ref().filter(|_| !c.is_identity()).map_or(Value::Null, |d| text(d)),
                text(if c.not_null { "NO" } else { "YES" }),
                text(
                    &c.domain
                        .as_deref()
                        .map_or_else(|| standard_type_name(&c.data_type), domain_data_type),
                ),
                len.clone(),
                len,
                precision,
                radix,
                scale,
                datetime_precision,
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                c.domain.as_ref().map_or(Value::Null, |_| text(&s.database)),
                c.domain.as_ref().map_or(Value::Null, |d| text(&d.schema)),
                c.domain.as_ref().map_or(Value::Null, |d| text(&d.name)),
                text(&s.database),
                // A user-defined type's schema is its own.
                text(&udt_of(s, &c.data_type).0),
                text(&udt_of(s, &c.data_type).1),
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                text(&position.to_string()),
                text("NO"),
                text(if c.is_identity() { "YES" } else { "NO" }),
                match (c.identity_always, c.identity_by_default) {
                    (true, _) => text("ALWAYS"),
                    (_, true) => text("BY DEFAULT"),
                    _ => Value::Null,
                },
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                if c.is_identity() { text("NO") } else { Value::Null },
                text(if c.generated.is_some() { "ALWAYS" } else { "NEVER" }),
                c.generated.as_ref().map_or(Value::Null, |g| text(g)),
                text(updatable),
            ]);
        }
    }
    rows
}

fn info_table_constraints(s: &CatalogSnapshot) -> Vec<Vec<Value>> {
    let mut rows = Vec::new();
    for t in user_tables(s) {
        let yes_no = |b: bool| text(if b { "YES" } else { "NO" });
        let mut row = |name: &str, kind: &str, deferral: Deferral| {
            rows.push(vec![
                text(&s.database),
                text(&t.schema),
                text(name),
                text(&s.database),
                text(&t.schema),
                text(&t.name),
                text(kind),
                yes_no(deferral != Deferral::NotDeferrable),
                yes_no(deferral == Deferral::Deferred),
                text("YES"),
            ]);
        };
        if !t.primary_key.is_empty() {
            row(&format!("{}_pkey", t.name), "PRIMARY KEY", Deferral::NotDeferrable);
        }
        for i in t.indexes.iter().filter(|i| i.constraint && i.plain_columns().is_some()) {
            row(&i.name, "UNIQUE", Deferral::NotDeferrable);
        }
        for c in &t.constraints {
            let kind = if matches!(c.kind, ConstraintKind::Check { .. }) {
                "CHECK"
            } else {
                "FOREIGN KEY"
            };
            row(&c.name, kind, c.deferral);
        }
    }
    rows
}

fn info_key_column_usage(s: &CatalogSnapshot) -> Vec<Vec<Value>> {
    let mut rows = Vec::new();
    for t in user_tables(s) {
        let mut add = |name: &str, cols: &[usize], unique_positions: Option<&[usize]>| {
            for (n, &c) in cols.iter().enumerate() {
                rows.push(vec![
                    text(&s.database),
                    text(&t.schema),
                    text(name),
                    text(&s.database),
                    text(&t.schema),
                    text(&t.name),
                    text(&t.columns[c].name),
                    Value::Int4(n as i32 + 1),
                    unique_positions.map_or(Value::Null, |_| Value::Int4(n as i32 + 1)),
                ]);
            }
        };
        if !t.primary_key.is_empty() {
            add(&format!("{}_pkey", t.name), &t.primary_key, None);
        }
        for i in t.indexes.iter().filter(|i| i.constraint) {
            if let Some(columns) = i.plain_columns() {
                add(&i.name, &columns, None);
            }
        }
        for c in &t.constraints {
            if let ConstraintKind::ForeignKey { columns, ref_columns, .. } = &c.kind {
                add(&c.name, columns, Some(ref_columns));
            }
        }
    }
    rows
}

/// information_schema.constraint_column_usage (`columns`) and constraint_table_usage: the
/// table (and columns) each constraint uses. A foreign key uses the table and columns it
/// references, a check the columns its expression reads, a key its own columns.
fn info_constraint_usage(s: &CatalogSnapshot, columns: bool) -> Vec<Vec<Value>> {
    let mut rows = Vec::new();
    for t in user_tables(s) {
        let mut add = |used: &Table, cols: &[usize], name: &str| {
            let mut row = vec![text(&s.database), text(&used.schema), text(&used.name)];
            let tail = [text(&s.database), text(&t.schema), text(name)];
            if !columns {
                rows.push(row.into_iter().chain(tail).collect());
                return;
            }
            let mut cols = cols.to_vec();
            cols.sort_unstable();
            cols.dedup();
            for c in cols {
                row.truncate(3);
                row.push(text(&used.columns[c].name));
                rows.push(row.iter().cloned().chain(tail.iter().cloned()).collect());
            }
        };
        if !t.primary_key.is_empty() {
            add(t, &t.primary_key, &format!("{}_pkey", t.name));
        }
        for i in t.indexes.iter().filter(|i| i.constraint) {
            if let Some(cols) = i.plain_columns() {
                add(t, &cols, &i.name);
            }
        }
        for c in &t.constraints {
            match &c.kind {
                // constraint_table_usage lists keys and foreign keys only.
                ConstraintKind::Check { .. } if !columns => {}
                ConstraintKind::Check { expr } => {
                    // A check that no longer binds reads no column we can name.
                    let cols = crate::bind::bind_table_expr(t, expr)
                        .map(|e| e.columns())
                        .unwrap_or_default();
                    add(t, &cols, &c.name);
                }
                ConstraintKind::ForeignKey { ref_table, ref_columns, .. } => {
                    if let Some(target) = s.tables.iter().find(|x| x.id == *ref_table) {
                        add(target, ref_columns, &c.name);
                    }
                }
            }
        }
    }
    rows
}

fn info_referential_constraints(s: &CatalogSnapshot) -> Vec<Vec<Value>> {
    let mut rows = Vec::new();
    for t in user_tables(s) {
        for c in &t.constraints {
            if let ConstraintKind::ForeignKey { ref_table, on_delete, on_update, .. } = &c.kind {
                let target = s.tables.iter().find(|x| x.id == *ref_table);
                let unique = target.map_or(String::new(), |x| format!("{}_pkey", x.name));
                let rule = |a: &str| match a {
                    "cascade" => "CASCADE",
                    "setnull" => "SET NULL",
                    "setdefault" => "SET DEFAULT",
                    _ => "NO ACTION",
                };
                rows.push(vec![
                    text(&s.database),
                    text(&t.schema),
                    text(&c.name),
                    text(&s.database),
                    text(target.map_or("", |x| x.schema.as_str())),
                    text(&unique),
                    text("NONE"),
                    text(rule(on_update)),
                    text(rule(on_delete)),
                ]);
            }
        }
    }
    rows
}

/// pg_database's oid for the one database.
pub const DATABASE_OID: i64 = 16384;

/// PostgreSQL's fixed oids of the system catalogs, which `'pg_catalog.pg_constraint'::regclass`
/// names (pg_description.classoid compares with them).
const CATALOG_OIDS: &[(&str, u32)] = &[
    ("pg_type", 1247),
    ("pg_attribute", 1249),
    ("pg_proc", 1255),
    ("pg_class", 1259),
    ("pg_authid", 1260),
    ("pg_database", 1262),
    ("pg_am", 2601),
    ("pg_attrdef", 2604),
    ("pg_constraint", 2606),
    ("pg_depend", 2608),
    ("pg_description", 2609),
    ("pg_index", 2610),
    ("pg_inherits", 2611),
    ("pg_rewrite", 2618),
    ("pg_trigger", 2620),
    ("pg_namespace", 2615),
    ("pg_sequence", 2224),
    ("pg_extension", 3079),
    ("pg_collation", 3456),
    ("pg_enum", 3501),
    ("pg_language", 2612),
    ("pg_tablespace", 1213),
    ("pg_auth_members", 1261),
    ("pg_shdescription", 2396),
    ("pg_operator", 2617),
    ("pg_opclass", 2616),
    ("pg_opfamily", 2753),
    ("pg_cast", 2605),
    ("pg_conversion", 2607),
    ("pg_event_trigger", 3466),
    ("pg_policy", 3256),
    ("pg_publication", 6104),
    ("pg_subscription", 6100),
    ("pg_statistic_ext", 3381),
    ("pg_foreign_data_wrapper", 2328),
    ("pg_foreign_server", 1417),
    ("pg_default_acl", 826),
    ("pg_largeobject_metadata", 2995),
    ("pg_db_role_setting", 2964),
    ("pg_ts_config", 3602),
    ("pg_ts_dict", 3600),
    ("pg_ts_parser", 3601),
    ("pg_ts_template", 3764),
    ("pg_transform", 3576),
    ("pg_amop", 2602),
    ("pg_amproc", 2603),
    ("pg_seclabel", 3596),
    ("pg_shseclabel", 3592),
    ("pg_ts_config_map", 3603),
    ("pg_parameter_acl", 6243),
    ("pg_init_privs", 3394),
    ("pg_partitioned_table", 3350),
    ("pg_foreign_table", 3118),
    ("pg_aggregate", 2600),
    ("pg_range", 3541),
    ("pg_shdepend", 1214),
    ("pg_publication_rel", 6106),
    ("pg_publication_namespace", 6237),
];

/// The catalog views `SystemTable::lookup` finds in pg_catalog besides `EMPTY_TABLES`, and
/// whether PostgreSQL has each as a view (`true`) or a table.
const PG_CATALOG_RELATIONS: &[(&str, bool)] = &[
    ("pg_namespace", false),
    ("pg_class", false),
    ("pg_attribute", false),
    ("pg_type", false),
    ("pg_enum", false),
    ("pg_index", false),
    ("pg_database", false),
    ("pg_roles", true),
    ("pg_authid", false),
    ("pg_user", true),
    ("pg_settings", true),
    ("pg_tables", true),
    ("pg_stat_all_tables", true),
    ("pg_stat_user_tables", true),
    ("pg_statio_all_tables", true),
    ("pg_statio_user_tables", true),
    ("pg_views", true),
    ("pg_matviews", true),
    ("pg_indexes", true),
    ("pg_sequences", true),
    ("pg_constraint", false),
    ("pg_attrdef", false),
    ("pg_description", false),
    ("pg_proc", false),
    ("pg_am", false),
    ("pg_tablespace", false),
    ("pg_inherits", false),
    ("pg_extension", false),
    ("pg_trigger", false),
    ("pg_collation", false),
    ("pg_ts_config", false),
    ("pg_ts_dict", false),
    ("pg_ts_parser", false),
    ("pg_ts_template", false),
    ("pg_language", false),
    ("pg_stat_activity", true),
    ("pg_stat_database", true),
    ("pg_locks", true),
    ("pg_stat_replication", true),
    ("pg_cursors", true),
    ("pg_sequence", false),
    ("oxibase_stat_server", true),
];

/// The views `SystemTable::lookup` finds in information_schema.
const INFORMATION_SCHEMA_VIEWS: &[&str] = &[
    "tables",
    "columns",
    "schemata",
    "table_constraints",
    "key_column_usage",
    "referential_constraints",
    "constraint_column_usage",
    "constraint_table_usage",
    "views",
    "sequences",
    "routines",
    "triggers",
    "domains",
    "domain_constraints",
    "table_privileges",
    "role_table_grants",
];

/// The oid of information_schema (as pg_namespace lists it).
const INFORMATION_SCHEMA_OID: RelId = 13_000;

/// Every built-in catalog relation: (schema oid, name, oid, relkind), in a fixed order. A
/// catalog PostgreSQL numbers keeps its number; the others are numbered from 12_000
/// (pg_catalog) and 12_800 (information_schema), below any user object's.
fn system_relations() -> impl Iterator<Item = (RelId, &'static str, RelId, &'static str)> {
    let empty = EMPTY_TABLES.iter().map(|(name, _)| (*name, false));
    let pg =
        PG_CATALOG_RELATIONS.iter().copied().chain(empty).enumerate().map(|(i, (name, view))| {
            let id = CATALOG_OIDS
                .iter()
                .find(|(n, _)| *n == name)
                .map_or(12_000 + i as RelId, |(_, oid)| *oid);
            (PG_CATALOG_OID, name, id, if view { "v" } else { "r" })
        });
    let info = INFORMATION_SCHEMA_VIEWS
        .iter()
        .enumerate()
        .map(|(i, name)| (INFORMATION_SCHEMA_OID, *name, 12_800 + i as RelId, "v"));
    pg.chain(info)
}

/// The oid of pg_catalog.
const PG_CATALOG_OID: RelId = 11;

/// A built-in catalog relation's oid by schema and name (unqualified: pg_catalog).
pub fn catalog_oid(schema: Option<&str>, name: &str) -> Option<u32> {
    let namespace = match schema {
        None | Some("pg_catalog") => PG_CATALOG_OID,
        Some("information_schema") => INFORMATION_SCHEMA_OID,
        Some(_) => return None,
    };
    system_relations().find(|(ns, n, _, _)| *ns == namespace && *n == name).map(|(_, _, id, _)| id)
}

/// A built-in catalog relation's name by oid.
pub fn catalog_name(oid: i64) -> Option<&'static str> {
    system_relations().find(|(_, _, id, _)| i64::from(*id) == oid).map(|(_, n, _, _)| n)
}

/// pg_class rows for the built-in catalog relations.
/// The schema and name of a built-in catalog relation by its oid.
pub fn system_relation_by_oid(oid: i64) -> Option<(&'static str, &'static str)> {
    system_relations().find(|(_, _, id, _)| i64::from(*id) == oid).map(|(ns, name, _, _)| {
        (if ns == PG_CATALOG_OID { "pg_catalog" } else { "information_schema" }, name)
    })
}

fn system_class_rows() -> impl Iterator<Item = Vec<Value>> {
    system_relations().map(|(ns, name, id, kind)| {
        let schema = if ns == PG_CATALOG_OID { "pg_catalog" } else { "information_schema" };
        let columns = SystemTable::lookup(Some(schema), name).map_or(0, |t| t.columns().len());
        class_row(id, name, ns, kind, columns, false, 0)
    })
}

/// pg_attribute rows for the built-in catalog relations' columns.
fn system_attribute_rows() -> impl Iterator<Item = Vec<Value>> {
    system_relations().flat_map(|(ns, name, id, _)| {
        let schema = if ns == PG_CATALOG_OID { "pg_catalog" } else { "information_schema" };
        let columns =
            SystemTable::lookup(Some(schema), name).map(|t| t.columns()).unwrap_or_default();
        columns.into_iter().enumerate().map(move |(i, (column, ty))| {
            vec![
                oid(id),
                text(&column),
                Value::Int8(i64::from(type_oid(&ty))),
                Value::Int2(type_size(&ty)),
                Value::Int2(i as i16 + 1),
                Value::Int4(crate::types::type_modifier(&ty)),
                Value::Bool(false),
                Value::Bool(false),
                Value::Bool(false),
                text(""),
                text(""),
                Value::Int8(if crate::types::category(&ty) == 'S' { 100 } else { 0 }),
                Value::Int4(i32::from(matches!(ty, DataType::Array(_)))),
                Value::Bool(true),
                Value::Int4(-1),
            ]
        })
    })
}
