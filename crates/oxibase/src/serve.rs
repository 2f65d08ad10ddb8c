//! `oxibase serve`: options from the command line, `OXIBASE_*` variables and a config file.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::Args;
use oxibase_common::{Result, errinput};
use oxibase_server::{Auth, Config};

/// Options of `oxibase serve`. Each may also come from an `OXIBASE_*` variable or from the
/// config file (`key = value` lines with the same names); the command line wins, then the
/// environment, then the file, then the defaults.
#[derive(Args)]
pub struct ServeArgs {
    /// The data directory (created on first start) [default: ./oxibase-data].
    #[arg(long, env = "OXIBASE_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// The PostgreSQL protocol address [default: 127.0.0.1:5433].
    #[arg(long, env = "OXIBASE_LISTEN")]
    listen: Option<String>,
    /// The HTTP API address, or `off` [default: 127.0.0.1:8080].
    #[arg(long, env = "OXIBASE_HTTP")]
    http: Option<String>,
    /// Also listen on the Unix-domain socket DIR/.s.PGSQL.<port>, as PostgreSQL's
    /// unix_socket_directories (`psql -h DIR -p PORT`) [default: none].
    #[arg(long, env = "OXIBASE_SOCKET_DIR")]
    socket_dir: Option<PathBuf>,
    /// How clients authenticate: `scram` (passwords) or `trust` (loopback only) [default: scram].
    #[arg(long, env = "OXIBASE_AUTH")]
    auth: Option<String>,
    /// The most concurrent connections [default: 100].
    #[arg(long, env = "OXIBASE_MAX_CONNECTIONS")]
    max_connections: Option<usize>,
    /// The engine's block cache in MiB [default: 256].
    #[arg(long, env = "OXIBASE_CACHE_MB")]
    cache_mb: Option<u64>,
    /// The cache of recently read rows in MiB [default: 64]; 0 turns it off.
    #[arg(long, env = "OXIBASE_ROW_CACHE_MB")]
    row_cache_mb: Option<u64>,
    /// TLS certificate chain (PEM); with --tls-key, clients may negotiate TLS.
    #[arg(long, env = "OXIBASE_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM) for --tls-cert.
    #[arg(long, env = "OXIBASE_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// The size of a write-ahead log segment in MiB [default: 64]; the log is truncated a
    /// whole segment at a time, after checkpoints.
    #[arg(long, env = "OXIBASE_WAL_SEGMENT_MB")]
    wal_segment_mb: Option<u64>,
    /// Synchronous replication: a commit returns only once this many followers have made it
    /// durable and visible (sessions may opt out with SET synchronous_commit = local)
    /// [default: 0, asynchronous].
    #[arg(long, env = "OXIBASE_SYNCHRONOUS_REPLICAS")]
    synchronous_replicas: Option<usize>,
    /// How many log records a registered follower may fall behind before this leader stops
    /// keeping its log for it (it then re-snapshots) [default: 10000000].
    #[arg(long, env = "OXIBASE_REPLICA_RETENTION_RECORDS")]
    replica_retention_records: Option<u64>,
    /// Run as a read replica of the leader at HOST:PORT (its PostgreSQL address): copy its
    /// log, then follow it; writes here fail with 25006. Authenticates as
    /// --replication-user with OXIBASE_REPLICATION_PASSWORD.
    #[arg(long, env = "OXIBASE_REPLICA_OF")]
    replica_of: Option<String>,
    /// The superuser role a replica authenticates as on its leader [default: oxibase].
    #[arg(long, env = "OXIBASE_REPLICATION_USER")]
    replication_user: Option<String>,
    /// A config file of `key = value` lines (data_dir, listen, http, socket_dir, auth, max_connections,
    /// cache_mb, row_cache_mb, tls_cert, tls_key, replica_of, replication_user, wal_segment_mb,
    /// synchronous_replicas, replica_retention_records).
    #[arg(long, env = "OXIBASE_CONFIG")]
    config: Option<PathBuf>,
}

fn read_config(path: &Path) -> Result<Vec<(String, String)>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        errinput!(CONFIG_FILE_ERROR, "could not read config file {}: {e}", path.display())
    })?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() || line.starts_with('[') {
            continue;
        }
        let (k, v) = line.split_once('=').ok_or_else(|| {
            errinput!(CONFIG_FILE_ERROR, "{}:{}: expected key = value", path.display(), n + 1)
        })?;
        let key = k.trim().replace('-', "_");
        if ![
            "data_dir",
            "listen",
            "http",
            "socket_dir",
            "auth",
            "max_connections",
            "cache_mb",
            "row_cache_mb",
            "tls_cert",
            "tls_key",
            "replica_of",
            "replication_user",
            "wal_segment_mb",
            "synchronous_replicas",
            "replica_retention_records",
        ]
        .contains(&key.as_str())
        {
            return Err(errinput!(
                CONFIG_FILE_ERROR,
                "{}:{}: unknown setting {key:?}",
                path.display(),
                n + 1
            ));
        }
        out.push((key, v.trim().trim_matches('"').to_string()));
    }
    Ok(out)
}

fn address(what: &str, s: &str) -> Result<SocketAddr> {
    s.parse().map_err(|_| {
        errinput!(
            INVALID_PARAMETER_VALUE,
            "invalid {what} address {s:?}: use HOST:PORT, like 127.0.0.1:5433"
        )
    })
}

/// A number setting: the command line's (or environment's), else the file's; a file value
/// that does not parse is an error, not a silent default.
fn number<T: std::str::FromStr>(
    arg: Option<T>,
    file: &[(String, String)],
    key: &str,
) -> Result<Option<T>> {
    if arg.is_some() {
        return Ok(arg);
    }
    let Some((_, value)) = file.iter().rev().find(|(k, _)| k == key) else { return Ok(None) };
    value.parse().map(Some).map_err(|_| {
        errinput!(CONFIG_FILE_ERROR, "invalid value for {key}: {value:?} is not a number")
    })
}

fn config(args: ServeArgs) -> Result<Config> {
    let file = match &args.config {
        Some(p) => read_config(p)?,
        None => Vec::new(),
    };
    let from_file = |key: &str| file.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    let mut c = Config::default();
    if let Some(d) = args.data_dir.or_else(|| from_file("data_dir").map(PathBuf::from)) {
        c.data_dir = d;
    }
    if let Some(l) = args.listen.or_else(|| from_file("listen")) {
        c.listen = address("listen", &l)?;
    }
    if let Some(h) = args.http.or_else(|| from_file("http")) {
        c.http = if h == "off" { None } else { Some(address("http", &h)?) };
    }
    if let Some(d) = args.socket_dir.or_else(|| from_file("socket_dir").map(PathBuf::from)) {
        c.socket_dir = Some(d);
    }
    if let Some(a) = args.auth.or_else(|| from_file("auth")) {
        c.auth = a.parse::<Auth>().map_err(|e| errinput!(INVALID_PARAMETER_VALUE, "{e}"))?;
    }
    if let Some(m) = number(args.max_connections, &file, "max_connections")? {
        c.max_connections = m;
    }
    if let Some(mb) = number(args.cache_mb, &file, "cache_mb")? {
        c.cache_size = mb << 20;
    }
    if let Some(mb) = number(args.row_cache_mb, &file, "row_cache_mb")? {
        c.row_cache_size = mb << 20;
    }
    if let Some(mb) = number(args.wal_segment_mb, &file, "wal_segment_mb")? {
        if mb == 0 {
            return Err(errinput!(INVALID_PARAMETER_VALUE, "wal_segment_mb must be at least 1"));
        }
        c.segment_size = mb << 20;
    }
    let cert = args.tls_cert.or_else(|| from_file("tls_cert").map(PathBuf::from));
    let key = args.tls_key.or_else(|| from_file("tls_key").map(PathBuf::from));
    c.tls = match (cert, key) {
        (Some(cert), Some(key)) => Some((cert, key)),
        (None, None) => None,
        _ => {
            return Err(errinput!(
                CONFIG_FILE_ERROR,
                "TLS needs both a certificate (tls_cert) and a private key (tls_key)"
            ));
        }
    };
    c.password = std::env::var("OXIBASE_PASSWORD").ok().filter(|p| !p.is_empty());
    if let Some(n) = number(args.synchronous_replicas, &file, "synchronous_replicas")? {
        c.synchronous_replicas = n;
    }
    if let Some(n) = number(args.replica_retention_records, &file, "replica_retention_records")? {
        c.replica_retention_records = n;
    }
    if let Some(leader) = args.replica_of.or_else(|| from_file("replica_of")) {
        c.replica_of = Some(oxibase_server::replication::Upstream {
            leader,
            user: args
                .replication_user
                .or_else(|| from_file("replication_user"))
                .unwrap_or_else(|| "oxibase".into()),
            password: std::env::var("OXIBASE_REPLICATION_PASSWORD").unwrap_or_default(),
        });
    }
    c.heap = Some(heap);
    Ok(c)
}

/// jemalloc's counters (the binary's allocator, see main.rs), refreshed on each read.
fn heap() -> Option<oxibase_server::Heap> {
    use tikv_jemalloc_ctl::{epoch, stats};
    epoch::advance().ok()?;
    Some(oxibase_server::Heap {
        allocated: stats::allocated::read().ok()? as u64,
        resident: stats::resident::read().ok()? as u64,
    })
}

/// Runs the server until SIGINT/SIGTERM.
pub fn run(args: ServeArgs) -> Result<()> {
    let config = config(args)?;
    let runtime = oxibase_server::runtime(config.max_connections)?;
    let result = runtime.block_on(oxibase_server::serve(config));
    // Connections still open may be waiting for their clients on threads of the runtime's
    // pool, which dropping it would wait for: the log is flushed, their transactions end
    // with the process.
    runtime.shutdown_background();
    result
}
