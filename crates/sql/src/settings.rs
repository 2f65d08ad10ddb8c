//! Session settings (`SET`, `SHOW`, `set_config`, `current_setting`), with PostgreSQL's
//! names, defaults and validation. Unknown names are refused (42704) unless they contain a
//! dot, as PostgreSQL allows custom `app.setting` variables.

use std::collections::BTreeMap;
use std::time::Duration;

use oxibase_common::{Result, errinput};
use oxibase_mvcc::Isolation;

use crate::types::datetime::Zone;

/// A setting PostgreSQL clients know.
struct Known {
    name: &'static str,
    default: &'static str,
    description: &'static str,
    /// Reported to clients in ParameterStatus when it changes.
    reported: bool,
    /// Clients may not change it.
    read_only: bool,
}

const KNOWN: &[Known] = &[
    k(
        "application_name",
        "",
        "Sets the application name to be reported in statistics and logs.",
        true,
    ),
    k("bytea_output", "hex", "Sets the output format for bytea.", false),
    k("client_encoding", "UTF8", "Sets the client's character set encoding.", true),
    k(
        "client_min_messages",
        "notice",
        "Sets the message levels that are sent to the client.",
        false,
    ),
    k("datestyle", "ISO, MDY", "Sets the display format for date and time values.", true),
    k(
        "default_table_access_method",
        "heap",
        "Sets the default table access method for new tables.",
        false,
    ),
    k(
        "default_transaction_isolation",
        "read committed",
        "Sets the transaction isolation level of each new transaction.",
        true,
    ),
    k(
        "default_transaction_read_only",
        "off",
        "Sets the default read-only status of new transactions.",
        true,
    ),
    k(
        "extra_float_digits",
        "1",
        "Sets the number of digits displayed for floating-point values.",
        false,
    ),
    k(
        "idle_in_transaction_session_timeout",
        "0",
        "Sets the maximum allowed idle time between queries, when in a transaction.",
        false,
    ),
    k("intervalstyle", "postgres", "Sets the display format for interval values.", true),
    k("lock_timeout", "0", "Sets the maximum allowed duration of any wait for a lock.", false),
    k(
        "search_path",
        "\"$user\", public",
        "Sets the schema search order for names that are not schema-qualified.",
        true,
    ),
    k("statement_timeout", "0", "Sets the maximum allowed duration of any statement.", false),
    k("synchronous_commit", "on", "Sets the current transaction's synchronization level.", false),
    k("timezone", "UTC", "Sets the time zone for displaying and interpreting time stamps.", true),
    k("work_mem", "4MB", "Sets the maximum memory to be used for query workspaces.", false),
    k("row_security", "on", "Enable row security.", false),
    k("enable_seqscan", "on", "Enables the planner's use of sequential-scan plans.", false),
    k("enable_indexscan", "on", "Enables the planner's use of index-scan plans.", false),
    k("enable_hashjoin", "on", "Enables the planner's use of hash join plans.", false),
    k("jit", "off", "Allow JIT compilation.", false),
    k("synchronize_seqscans", "on", "Enable synchronized sequential scans.", false),
    k(
        "max_parallel_workers_per_gather",
        "0",
        "Sets the maximum number of parallel processes per executor node.",
        false,
    ),
    k(
        "check_function_bodies",
        "on",
        "Check routine bodies during CREATE FUNCTION and CREATE PROCEDURE.",
        false,
    ),
    k(
        "xmloption",
        "content",
        "Sets whether XML data in implicit parsing and serialization operations is to be considered as documents or content fragments.",
        false,
    ),
    k(
        "vacuum_freeze_min_age",
        "50000000",
        "Minimum age at which VACUUM should freeze a table row.",
        false,
    ),
    ro("server_version", "15.0 (Oxibase 0.1.0)", "Shows the server version.", true),
    ro("server_version_num", "150000", "Shows the server version as an integer.", false),
    ro("server_encoding", "UTF8", "Shows the server (database) character set encoding.", true),
    ro(
        "standard_conforming_strings",
        "on",
        "Causes '...' strings to treat backslashes literally.",
        true,
    ),
    ro("integer_datetimes", "on", "Shows whether datetimes are integer based.", true),
    ro("is_superuser", "on", "Shows whether the current user is a superuser.", true),
    ro("max_identifier_length", "63", "Shows the maximum identifier length.", false),
    ro("max_index_keys", "32", "Shows the maximum number of index keys.", false),
    ro("max_connections", "100", "Sets the maximum number of concurrent connections.", false),
    ro("block_size", "8192", "Shows the size of a disk block.", false),
    ro("lc_collate", "C", "Shows the collation order locale.", false),
    ro("lc_ctype", "C", "Shows the character classification and case conversion locale.", false),
    ro("lc_messages", "C", "Sets the language in which messages are displayed.", false),
    ro("lc_monetary", "C", "Sets the locale for formatting monetary amounts.", false),
    ro("lc_numeric", "C", "Sets the locale for formatting numbers.", false),
    ro("lc_time", "C", "Sets the locale for formatting date and time values.", false),
    ro(
        "shared_buffers",
        "128MB",
        "Sets the number of shared memory buffers used by the server.",
        false,
    ),
    k(
        "default_text_search_config",
        "pg_catalog.english",
        "Sets default text search configuration.",
        false,
    ),
    k(
        "default_tablespace",
        "",
        "Sets the default tablespace to create tables and indexes in.",
        false,
    ),
    k(
        "default_table_access_method",
        "heap",
        "Sets the default table access method for new tables.",
        false,
    ),
    k("session_authorization", "", "Sets the session user name.", true),
    k("role", "none", "Sets the current session role.", false),
    ro("in_hot_standby", "off", "Shows whether hot standby is currently active.", true),
    ro("wal_level", "replica", "Sets the level of information written to the WAL.", false),
];

const fn k(
    name: &'static str,
    default: &'static str,
    description: &'static str,
    reported: bool,
) -> Known {
    Known { name, default, description, reported, read_only: false }
}

/// A setting as pg_settings shows it.
#[derive(Clone, Debug)]
pub struct SettingInfo {
    /// The name.
    pub name: String,
    /// The session's value.
    pub value: String,
    /// The short description.
    pub description: String,
    /// The built-in default (pg_settings.boot_val); None for a setting Oxibase only stores.
    pub default: Option<String>,
    /// Whether clients may not change it (context `internal`).
    pub read_only: bool,
}

const fn ro(
    name: &'static str,
    default: &'static str,
    description: &'static str,
    reported: bool,
) -> Known {
    Known { name, default, description, reported, read_only: true }
}

fn known(name: &str) -> Option<&'static Known> {
    KNOWN.iter().find(|k| k.name == name)
}

/// The canonical (lowercase) name of a setting.
pub fn canonical(name: &str) -> String {
    let lower = name.trim().to_ascii_lowercase();
    match lower.as_str() {
        "time zone" | "time_zone" => "timezone".into(),
        "names" => "client_encoding".into(),
        _ => lower,
    }
}

/// The name clients see in ParameterStatus (PostgreSQL's mixed case).
pub fn reported_name(name: &str) -> &str {
    match name {
        "datestyle" => "DateStyle",
        "intervalstyle" => "IntervalStyle",
        "timezone" => "TimeZone",
        other => other,
    }
}

/// A session's settings.
#[derive(Clone, Debug)]
pub struct Settings {
    values: BTreeMap<String, String>,
    /// Parsed often-used values.
    pub zone: Zone,
    /// statement_timeout (None: no limit).
    pub statement_timeout: Option<Duration>,
    /// lock_timeout (None: wait forever).
    pub lock_timeout: Option<Duration>,
    /// idle_in_transaction_session_timeout (None: no limit), enforced by the server.
    pub idle_in_transaction_timeout: Option<Duration>,
    /// default_transaction_isolation.
    pub default_isolation: Isolation,
    /// default_transaction_read_only.
    pub default_read_only: bool,
    /// search_path, as listed (`$user` unresolved).
    pub search_path: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        let values = KNOWN.iter().map(|k| (k.name.to_string(), k.default.to_string())).collect();
        Settings {
            values,
            zone: Zone::UTC,
            statement_timeout: None,
            lock_timeout: None,
            idle_in_transaction_timeout: None,
            default_isolation: Isolation::ReadCommitted,
            default_read_only: false,
            search_path: vec!["$user".into(), "public".into()],
        }
    }
}

impl Settings {
    /// A setting's value; 42704 for an unknown one (unless `missing_ok`).
    pub fn get(&self, name: &str) -> Result<Option<String>> {
        let name = canonical(name);
        match self.values.get(&name) {
            Some(v) => Ok(Some(v.clone())),
            None if name.contains('.') => Ok(None),
            None => {
                Err(errinput!(UNDEFINED_OBJECT, "unrecognized configuration parameter \"{name}\""))
            }
        }
    }

    /// Sets a setting (None: back to its default). Returns the canonical name and whether
    /// clients should be told (ParameterStatus).
    pub fn set(&mut self, name: &str, value: Option<&str>) -> Result<(String, bool)> {
        let name = canonical(name);
        let known = known(&name);
        if known.is_none() && !name.contains('.') {
            return Err(errinput!(
                UNDEFINED_OBJECT,
                "unrecognized configuration parameter \"{name}\""
            ));
        }
        // standard_conforming_strings is settable in PostgreSQL, and drivers (Rails, JDBC)
        // set it on: that is what it always is here.
        if name == "standard_conforming_strings" {
            let on = value.is_none_or(|v| {
                matches!(v.trim().to_ascii_lowercase().as_str(), "on" | "true" | "yes" | "1")
            });
            if on {
                return Ok((name, false));
            }
            return Err(errinput!(
                FEATURE_NOT_SUPPORTED,
                "standard_conforming_strings cannot be turned off: backslashes in '...' strings are always literal"
            )
            .with_hint("Use E'...' strings for backslash escapes."));
        }
        if let Some(k) = known
            && k.read_only
        {
            return Err(errinput!(
                CANT_CHANGE_RUNTIME_PARAM,
                "parameter \"{name}\" cannot be changed"
            ));
        }
        let value = match value {
            Some(v) => v.to_string(),
            None => known.map_or(String::new(), |k| k.default.to_string()),
        };
        let value = self.validate(&name, &value)?;
        self.values.insert(name.clone(), value);
        Ok((name, known.is_some_and(|k| k.reported)))
    }

    /// Sets a value the session keeps itself (a read-only one such as is_superuser, or the
    /// user a session starts as), without validation.
    pub fn force(&mut self, name: &str, value: &str) {
        self.values.insert(canonical(name), value.to_string());
    }

    /// Sets a value without validation (restoring a saved one).
    fn restore(&mut self, other: &Settings) {
        *self = other.clone();
    }

    /// Restores every setting from a saved copy (a rolled-back transaction's SETs).
    pub fn restore_from(&mut self, saved: &Settings) {
        self.restore(saved);
    }

    fn validate(&mut self, name: &str, value: &str) -> Result<String> {
        Ok(match name {
            "timezone" => {
                let v = if value.eq_ignore_ascii_case("local")
                    || value.eq_ignore_ascii_case("default")
                {
                    "UTC"
                } else {
                    value
                };
                self.zone = Zone::setting(v).map_err(|_| {
                    errinput!(
                        INVALID_PARAMETER_VALUE,
                        "invalid value for parameter \"TimeZone\": \"{value}\""
                    )
                })?;
                self.zone.name()
            }
            "statement_timeout" | "lock_timeout" | "idle_in_transaction_session_timeout" => {
                let ms = parse_duration_ms(value).ok_or_else(|| {
                    errinput!(
                        INVALID_PARAMETER_VALUE,
                        "invalid value for parameter \"{name}\": \"{value}\""
                    )
                })?;
                let d = (ms > 0).then(|| Duration::from_millis(ms));
                match name {
                    "statement_timeout" => self.statement_timeout = d,
                    "lock_timeout" => self.lock_timeout = d,
                    _ => self.idle_in_transaction_timeout = d,
                }
                ms.to_string()
            }
            "default_transaction_isolation" => {
                self.default_isolation = parse_isolation(value)?;
                isolation_name(self.default_isolation).to_string()
            }
            "default_transaction_read_only" => {
                self.default_read_only = parse_bool(name, value)?;
                on_off(self.default_read_only).into()
            }
            "search_path" => {
                self.search_path = parse_search_path(value);
                value.to_string()
            }
            "client_encoding" => {
                // PostgreSQL compares encoding names on their letters and digits only
                // (asyncpg's startup packet says `'utf-8'`, quotes included).
                let upper: String = value
                    .chars()
                    .filter(char::is_ascii_alphanumeric)
                    .map(|c| c.to_ascii_uppercase())
                    .collect();
                if !matches!(upper.as_str(), "UTF8" | "UNICODE" | "SQLASCII") {
                    return Err(errinput!(
                        INVALID_PARAMETER_VALUE,
                        "invalid value for parameter \"client_encoding\": \"{value}\""
                    )
                    .with_detail("Oxibase speaks UTF8 only."));
                }
                if upper == "SQLASCII" { "SQL_ASCII".into() } else { "UTF8".into() }
            }
            "datestyle" => {
                let lower = value.to_ascii_lowercase();
                if !lower.split(',').all(|p| {
                    matches!(
                        p.trim(),
                        "iso"
                            | "mdy"
                            | "dmy"
                            | "ymd"
                            | "us"
                            | "european"
                            | "nonEuropean"
                            | "noneuropean"
                            | "sql"
                            | "postgres"
                            | "german"
                            | ""
                    )
                }) {
                    return Err(errinput!(
                        INVALID_PARAMETER_VALUE,
                        "invalid value for parameter \"DateStyle\": \"{value}\""
                    ));
                }
                if lower.contains("iso")
                    || !lower.contains("sql")
                        && !lower.contains("postgres")
                        && !lower.contains("german")
                {
                    "ISO, MDY".into()
                } else {
                    return Err(errinput!(
                        FEATURE_NOT_SUPPORTED,
                        "DateStyle \"{value}\" is not supported; only ISO output is"
                    ));
                }
            }
            "intervalstyle" => {
                // ISO 8601 is what Rails sets on every connection; it applies to values
                // sent to clients in text format (casts to text keep PostgreSQL's style).
                let value = value.trim().to_ascii_lowercase();
                if value != "postgres" && value != "iso_8601" {
                    return Err(errinput!(
                        FEATURE_NOT_SUPPORTED,
                        "IntervalStyle \"{value}\" is not supported; postgres and iso_8601 are"
                    ));
                }
                value
            }
            "extra_float_digits" => {
                let n: i32 = value.trim().parse().map_err(|_| {
                    errinput!(
                        INVALID_PARAMETER_VALUE,
                        "invalid value for parameter \"extra_float_digits\": \"{value}\""
                    )
                })?;
                if !(-15..=3).contains(&n) {
                    return Err(errinput!(
                        INVALID_PARAMETER_VALUE,
                        "{n} is outside the valid range for parameter \"extra_float_digits\" (-15 .. 3)"
                    ));
                }
                n.to_string()
            }
            "bytea_output" => {
                if !value.eq_ignore_ascii_case("hex") {
                    return Err(errinput!(
                        FEATURE_NOT_SUPPORTED,
                        "bytea_output \"{value}\" is not supported"
                    ));
                }
                "hex".into()
            }
            // One tablespace and one table access method exist (pg_dump sets both).
            "default_tablespace" => match value.trim() {
                "" | "pg_default" => value.trim().to_string(),
                other => {
                    return Err(errinput!(
                        INVALID_PARAMETER_VALUE,
                        "invalid value for parameter \"default_tablespace\": \"{other}\""
                    )
                    .with_detail(format!("Tablespace \"{other}\" does not exist.")));
                }
            },
            "default_table_access_method" => match value.trim() {
                "heap" => "heap".into(),
                other => {
                    return Err(errinput!(
                        INVALID_PARAMETER_VALUE,
                        "invalid value for parameter \"default_table_access_method\": \"{other}\""
                    )
                    .with_detail(format!("Table access method \"{other}\" does not exist.")));
                }
            },
            "synchronous_commit" => match value.trim().to_ascii_lowercase().as_str() {
                v @ ("local" | "remote_write" | "remote_apply") => v.to_string(),
                _ => on_off(parse_bool(name, value)?).into(),
            },
            "enable_seqscan"
            | "enable_indexscan"
            | "enable_hashjoin"
            | "jit"
            | "synchronize_seqscans"
            | "row_security"
            | "check_function_bodies" => on_off(parse_bool(name, value)?).into(),
            _ => value.to_string(),
        })
    }

    /// Every setting with what pg_settings shows of it.
    pub fn described(&self) -> Vec<SettingInfo> {
        self.values
            .iter()
            .map(|(n, v)| {
                let k = known(n);
                SettingInfo {
                    name: n.clone(),
                    value: v.clone(),
                    description: k.map_or("", |k| k.description).to_string(),
                    default: k.map(|k| k.default.to_string()),
                    read_only: k.is_some_and(|k| k.read_only),
                }
            })
            .collect()
    }

    /// Every setting: (name, value, description), for SHOW ALL.
    pub fn all(&self) -> Vec<(String, String, String)> {
        self.values
            .iter()
            .map(|(n, v)| {
                let description = known(n).map_or("", |k| k.description);
                (n.clone(), v.clone(), description.to_string())
            })
            .collect()
    }

    /// The settings reported to clients at connection start: (name, value).
    pub fn reported(&self) -> Vec<(String, String)> {
        KNOWN
            .iter()
            .filter(|k| k.reported)
            .filter_map(|k| {
                self.values.get(k.name).map(|v| (reported_name(k.name).to_string(), v.clone()))
            })
            .collect()
    }
}

fn on_off(b: bool) -> &'static str {
    if b { "on" } else { "off" }
}

fn parse_bool(name: &str, value: &str) -> Result<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" | "1" | "t" | "y" => Ok(true),
        "off" | "false" | "no" | "0" | "f" | "n" => Ok(false),
        _ => {
            Err(errinput!(INVALID_PARAMETER_VALUE, "parameter \"{name}\" requires a Boolean value"))
        }
    }
}

/// Parses an isolation level name.
pub fn parse_isolation(value: &str) -> Result<Isolation> {
    match value.trim().to_ascii_lowercase().replace('_', " ").as_str() {
        "read committed" | "read uncommitted" => Ok(Isolation::ReadCommitted),
        "repeatable read" | "snapshot" => Ok(Isolation::Snapshot),
        "serializable" => Ok(Isolation::Serializable),
        _ => Err(errinput!(
            INVALID_PARAMETER_VALUE,
            "invalid value for parameter \"default_transaction_isolation\": \"{value}\""
        )),
    }
}

/// PostgreSQL's name for an isolation level.
pub fn isolation_name(i: Isolation) -> &'static str {
    match i {
        Isolation::ReadCommitted => "read committed",
        Isolation::Snapshot => "repeatable read",
        Isolation::Serializable => "serializable",
    }
}

/// Milliseconds from `500`, `5s`, `2min`, `1h`, `100ms`.
fn parse_duration_ms(value: &str) -> Option<u64> {
    let v = value.trim().trim_matches('\'');
    let split = v.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(v.len());
    let (number, unit) = v.split_at(split);
    let n: f64 = number.parse().ok()?;
    let factor = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "ms" => 1.0,
        "us" => 0.001,
        "s" => 1000.0,
        "min" => 60_000.0,
        "h" => 3_600_000.0,
        "d" => 86_400_000.0,
        _ => return None,
    };
    (n >= 0.0).then_some((n * factor) as u64)
}

fn parse_search_path(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(|s| {
            let s = s.trim();
            if let Some(inner) = s.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
                inner.replace("\"\"", "\"")
            } else {
                s.to_ascii_lowercase()
            }
        })
        .filter(|s| !s.is_empty())
        .collect()
}
