//! `oxibase serve`: the PostgreSQL wire protocol server and the HTTP API over one database.
//!
//! ```text
//!   TCP 5433 ─┬ pgwire ── Handlers (one per connection) ── Session ──┐
//!   DIR/.s.PGSQL.5433 ┘                                               │
//!   HTTP 8080 ── axum ── /v1/sql, /metrics, /health ── Session ──────┼── Database
//!                                                                    │   (catalog, MVCC,
//!                                                                    │    WAL, LSM)
//! ```
//!
//! Every connection gets its own [`Session`](oxibase_sql::Session), the object the embedded
//! API uses, so the server adds only the protocol. A dropped connection drops its session,
//! which rolls back its open transaction and releases its locks.

mod batched;
pub mod codec;
mod connection;
pub mod http;
mod local;
pub mod replication;
mod stream;
pub mod wire;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use oxibase_common::{Result, errinput};
use oxibase_mvcc::TxnOptions;
use oxibase_sql::catalog::system::BOOTSTRAP_ROLE;
use oxibase_sql::{Database, DatabaseOptions};
use stream::Socket;
use tokio::net::{TcpListener, UnixStream};

/// How clients authenticate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Auth {
    /// Any existing role connects without a password.
    Trust,
    /// SCRAM-SHA-256 against the role's stored verifier.
    Scram,
}

impl std::str::FromStr for Auth {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "trust" => Ok(Auth::Trust),
            "scram" | "scram-sha-256" => Ok(Auth::Scram),
            other => Err(format!("unknown auth method {other:?}: use trust or scram")),
        }
    }
}

/// The server's configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// The data directory.
    pub data_dir: PathBuf,
    /// The PostgreSQL protocol address.
    pub listen: SocketAddr,
    /// The HTTP API address (None: no HTTP API).
    pub http: Option<SocketAddr>,
    /// A directory for the Unix-domain socket `.s.PGSQL.<port>` (None: TCP only).
    pub socket_dir: Option<PathBuf>,
    /// How clients authenticate.
    pub auth: Auth,
    /// The most concurrent connections.
    pub max_connections: usize,
    /// fsync the log at commit.
    pub fsync: bool,
    /// The engine's block cache, in bytes.
    pub cache_size: u64,
    /// The cache of recently read rows, in bytes (0: none).
    pub row_cache_size: u64,
    /// The superuser's password to set on first start (else one is generated under scram).
    pub password: Option<String>,
    /// TLS: the certificate chain and private key files (PEM). Without them the server
    /// answers SSL requests with 'N' and clients go on unencrypted (or give up, if they
    /// require TLS).
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Run as a read replica of this leader.
    pub replica_of: Option<replication::Upstream>,
    /// The size of a log segment, in bytes.
    pub segment_size: u64,
    /// Followers that must acknowledge each commit (0: asynchronous replication).
    pub synchronous_replicas: usize,
    /// How far (in log records) a registered follower may fall behind before the leader
    /// stops keeping its log (it must then re-snapshot).
    pub replica_retention_records: u64,
    /// What the process's allocator holds, for /metrics (None: not reported). The binary
    /// chooses the allocator, so it supplies this.
    pub heap: Option<HeapStats>,
}

/// Reads the allocator's counters: bytes the program has allocated and not freed, and bytes
/// of physical memory the allocator holds for them (the difference is fragmentation and freed
/// pages not yet handed back to the system).
pub type HeapStats = fn() -> Option<Heap>;

/// The allocator's counters at one moment.
#[derive(Clone, Copy, Debug)]
pub struct Heap {
    /// Bytes allocated and not freed.
    pub allocated: u64,
    /// Bytes of physical memory the allocator holds.
    pub resident: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("oxibase-data"),
            listen: SocketAddr::from(([127, 0, 0, 1], 5433)),
            http: Some(SocketAddr::from(([127, 0, 0, 1], 8080))),
            socket_dir: None,
            auth: Auth::Scram,
            max_connections: 100,
            fsync: true,
            cache_size: 256 << 20,
            row_cache_size: DatabaseOptions::default().row_cache_size,
            password: None,
            tls: None,
            replica_of: None,
            segment_size: DatabaseOptions::default().segment_size,
            synchronous_replicas: 0,
            replica_retention_records: 10_000_000,
            heap: None,
        }
    }
}

/// What every connection shares.
pub struct Server {
    /// The database.
    pub db: Database,
    /// How clients authenticate.
    pub auth: Auth,
    /// The most concurrent sessions.
    pub max_connections: usize,
    /// Sessions now open.
    pub connections: AtomicUsize,
    /// The most COPY FROM STDIN data one statement may send.
    pub max_copy_bytes: usize,
    /// Registered followers whose log this leader keeps.
    pub retention: replication::Retention,
    /// The allocator's counters, where the binary reports them.
    pub heap: Option<HeapStats>,
}

impl Server {
    fn read_txn<T>(&self, f: impl FnOnce(&oxibase_mvcc::Transaction) -> Result<T>) -> Result<T> {
        let txn = self.db.store().begin(TxnOptions { read_only: true, ..Default::default() })?;
        let result = f(&txn);
        let _ = txn.rollback();
        result
    }

    /// Whether a role exists and may log in.
    pub fn user_exists(&self, user: &str) -> bool {
        self.read_txn(|txn| self.db.catalog().role(txn, user))
            .ok()
            .flatten()
            .is_some_and(|r| r.login)
    }

    /// A role's password verifier.
    pub fn password_of(&self, user: &str) -> Option<String> {
        self.read_txn(|txn| self.db.catalog().role(txn, user))
            .ok()
            .flatten()
            .and_then(|r| r.password)
    }
}

/// Refuses configurations that would expose the database without authentication.
pub fn check_config(config: &Config) -> Result<()> {
    let exposed = |a: &SocketAddr| !a.ip().is_loopback();
    if config.auth == Auth::Trust
        && (exposed(&config.listen) || config.http.as_ref().is_some_and(exposed))
    {
        return Err(errinput!(
            INVALID_PARAMETER_VALUE,
            "refusing to listen on a non-loopback address with --auth trust: anyone who can reach it would have full access"
        )
        .with_hint("Use --auth scram (the default), or listen on 127.0.0.1."));
    }
    Ok(())
}

/// Opens the database and prepares the bootstrap role's password.
pub fn open(config: &Config) -> Result<Arc<Server>> {
    check_config(config)?;
    let open_db = || {
        Database::open_with(
            &config.data_dir,
            DatabaseOptions {
                fsync: config.fsync,
                cache_size: config.cache_size,
                row_cache_size: config.row_cache_size,
                replica_of: config.replica_of.as_ref().map(|u| u.leader.clone()),
                segment_size: config.segment_size,
                ..Default::default()
            },
        )
    };
    let db = match &config.replica_of {
        None => open_db()?,
        Some(upstream) => {
            if config.data_dir.join(oxibase_sql::database::PROMOTED).exists() {
                return Err(errinput!(
                    OBJECT_NOT_IN_PREREQUISITE_STATE,
                    "data directory \"{}\" was promoted to a leader: it will not follow {} again",
                    config.data_dir.display(),
                    upstream.leader
                )
                .with_hint(
                    "Start it without --replica-of, or follow with an empty data directory.",
                ));
            }
            replication::prepare(&config.data_dir, upstream, config.fsync)?;
            let db = open_db()?;
            match replication::check_position(&db, upstream)? {
                replication::Position::Served => db,
                replication::Position::Behind => {
                    drop(db);
                    replication::wipe(&config.data_dir)?;
                    replication::prepare(&config.data_dir, upstream, config.fsync)?;
                    open_db()?
                }
            }
        }
    };
    oxibase_procedures::install(&db)?;
    oxibase_migrate::install(&db);
    db.replicas().set_required(config.synchronous_replicas);
    let retention = replication::Retention::open(&db, config.replica_retention_records)?;
    if let Some(log) = db.store().log() {
        retention.sweep(log);
    }
    let server = Arc::new(Server {
        retention,
        db,
        auth: config.auth,
        max_connections: config.max_connections,
        connections: AtomicUsize::new(0),
        max_copy_bytes: 1 << 30,
        heap: config.heap,
    });
    replication::spawn_retention_sweeper(Arc::downgrade(&server))
        .map_err(|e| errinput!(IO_ERROR, "could not start the retention thread: {e}"))?;
    match &config.replica_of {
        // The roles, passwords and everything else come from the leader.
        Some(upstream) => {
            replication::follow(server.db.clone(), upstream.clone())
                .map_err(|e| errinput!(IO_ERROR, "could not start the replication thread: {e}"))?;
        }
        None => ensure_password(&server, config)?,
    }
    Ok(server)
}

/// On first start, gives the superuser a password: `OXIBASE_PASSWORD`, or under scram a
/// generated one, printed once.
fn ensure_password(server: &Server, config: &Config) -> Result<()> {
    let catalog = server.db.catalog();
    let txn = server.db.store().begin_default()?;
    let Some(mut role) = catalog.role(&txn, BOOTSTRAP_ROLE)? else {
        return Ok(());
    };
    if role.password.is_some() {
        return Ok(());
    }
    let password = match (&config.password, config.auth) {
        (Some(p), _) => p.clone(),
        (None, Auth::Scram) => {
            let bytes: [u8; 12] = rand::random();
            let p: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            eprintln!("oxibase: generated a password for role \"{BOOTSTRAP_ROLE}\": {p}");
            eprintln!(
                "oxibase: it is shown only this once; change it with ALTER ROLE {BOOTSTRAP_ROLE} PASSWORD '...'"
            );
            p
        }
        (None, Auth::Trust) => return Ok(()),
    };
    role.password = Some(oxibase_sql::auth::scram_verifier(&password));
    catalog.update_role(&txn, &role)?;
    txn.commit()?;
    Ok(())
}

/// Runs the server until SIGINT or SIGTERM.
pub async fn serve(config: Config) -> Result<()> {
    let tls = match &config.tls {
        Some((cert, key)) => Some(tls_acceptor(cert, key)?),
        None => None,
    };
    let server = tokio::task::block_in_place(|| open(&config))?;
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| errinput!(IO_ERROR, "could not listen on {}: {e}", config.listen))?;
    eprintln!(
        "oxibase: data directory {}, PostgreSQL protocol on {} (auth {:?}, TLS {})",
        config.data_dir.display(),
        listener.local_addr().map_or(config.listen, |a| a),
        config.auth,
        if tls.is_some() { "on" } else { "off" }
    );
    let local = match &config.socket_dir {
        Some(dir) => {
            let port = listener.local_addr().map_or(config.listen.port(), |a| a.port());
            let local = local::LocalSocket::bind(dir, port)?;
            eprintln!("oxibase: PostgreSQL protocol on Unix socket {}", local.path().display());
            Some(local)
        }
        None => None,
    };
    if let Some(addr) = config.http {
        let http = http::listen(server.clone(), addr).await?;
        eprintln!("oxibase: HTTP API on http://{}", http);
    }
    let open = Arc::new(AtomicUsize::new(0));
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                match accepted {
                    Ok((socket, _)) => {
                        let _ = socket.set_nodelay(true);
                        let started = socket.into_std().and_then(|socket| {
                            let client = Socket::Tcp(socket);
                            spawn_connection(server.clone(), client, tls.clone(), open.clone())
                        });
                        if let Err(e) = started {
                            eprintln!("oxibase: could not start a connection thread: {e}");
                        }
                    }
                    Err(e) => eprintln!("oxibase: accept failed: {e}"),
                }
            }
            accepted = accept_local(local.as_ref()) => {
                match accepted.and_then(|socket| socket.into_std()) {
                    Ok(socket) => {
                        let client = Socket::Unix(socket);
                        if let Err(e) = spawn_connection(server.clone(), client, None, open.clone()) {
                            eprintln!("oxibase: could not start a connection thread: {e}");
                        }
                    }
                    Err(e) => eprintln!("oxibase: accept on the Unix socket failed: {e}"),
                }
            }
            _ = &mut shutdown => break,
        }
    }
    eprintln!("oxibase: shutting down: no new connections; waiting up to 5 s for open ones");
    drop(listener);
    drop(local);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while open.load(Ordering::SeqCst) > 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let left = open.load(Ordering::SeqCst);
    if left > 0 {
        eprintln!("oxibase: {left} connections still open; their open transactions roll back");
    }
    tokio::task::block_in_place(|| server.db.checkpoint())?;
    eprintln!(
        "oxibase: stopped ({} sessions were open)",
        server.connections.load(Ordering::SeqCst)
    );
    Ok(())
}

/// The next client on the Unix socket; never, without one.
async fn accept_local(local: Option<&local::LocalSocket>) -> std::io::Result<UnixStream> {
    match local {
        Some(local) => local.accept().await,
        None => std::future::pending().await,
    }
}

/// Serves one connection as a task on the shared runtime (a replication follower: on a
/// thread of its own).
fn spawn_connection(
    server: Arc<Server>,
    client: Socket,
    tls: Option<tokio_rustls::TlsAcceptor>,
    open: Arc<AtomicUsize>,
) -> std::io::Result<()> {
    // A second handle on the socket, for ending an idle connection from outside pgwire.
    let watchdog_socket = client.try_clone()?;
    open.fetch_add(1, Ordering::SeqCst);
    tokio::spawn(async move {
        let client = match client {
            Socket::Tcp(socket) => match tokio::net::TcpStream::from_std(socket) {
                Ok(socket) if replication::is_replication(&socket).await => {
                    start_follower(server, socket, open);
                    return;
                }
                Ok(socket) => match socket.into_std() {
                    Ok(socket) => Socket::Tcp(socket),
                    Err(_) => return closed(&open),
                },
                Err(_) => return closed(&open),
            },
            client => client,
        };
        let handlers = wire::Handlers::new(server);
        let watchdog = tokio::spawn(end_when_idle_in_transaction(handlers.conn(), watchdog_socket));
        let _ = connection::serve(client, tls, handlers).await;
        // It holds the session: the session ends with it.
        watchdog.abort();
        closed(&open);
    });
    Ok(())
}

/// Counts a connection as ended.
fn closed(open: &AtomicUsize) {
    open.fetch_sub(1, Ordering::SeqCst);
}

/// Serves a replication follower on a thread of its own: its log stream blocks.
fn start_follower(server: Arc<Server>, socket: tokio::net::TcpStream, open: Arc<AtomicUsize>) {
    let socket = match socket.into_std().and_then(|s| s.set_nonblocking(false).map(|()| s)) {
        Ok(socket) => socket,
        Err(_) => return closed(&open),
    };
    let counter = open.clone();
    let follower = std::thread::Builder::new().name("oxibase-follower".into()).spawn(move || {
        replication::serve_follower(server, socket);
        closed(&counter);
    });
    if let Err(e) = follower {
        eprintln!("oxibase: could not start a replication thread: {e}");
        closed(&open);
    }
}

/// The stack of the threads that run sessions' statements.
pub const STACK_SIZE: usize = 64 << 20;

/// Builds the runtime the server runs on: its connections share one thread per core, and
/// a session's work that may wait or run long leaves its thread first, handing the thread's
/// other connections to another (see [`oxibase_common::worker`]).
/// Each session may wait in one such hand-off at a time: the pool of threads that take them
/// is sized so that every session can.
pub fn runtime(max_connections: usize) -> Result<tokio::runtime::Runtime> {
    fn hand_off(work: &mut dyn FnMut()) {
        tokio::task::block_in_place(work)
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // Statements run on these threads: binding and evaluating recurse per level of
        // nesting (up to oxibase_sql's MAX_NESTING), which 2 MiB does not hold. Only the
        // pages used are committed.
        .thread_stack_size(STACK_SIZE)
        .max_blocking_threads(max_connections.saturating_add(64))
        .thread_name("oxibase-conn")
        .on_thread_start(|| oxibase_common::worker::set_hook(Some(hand_off)))
        .build()
        .map_err(|e| errinput!(IO_ERROR, "could not start the runtime: {e}"))
}

/// idle_in_transaction_session_timeout: a session left inside a transaction block longer
/// than its limit gets PostgreSQL's FATAL 25P03 and its connection is closed, which rolls
/// the transaction back and releases its locks. Runs beside the connection, as a task;
/// the session is busy (and never idle) while a statement runs.
async fn end_when_idle_in_transaction(conn: Arc<wire::Conn>, socket: Socket) {
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if !conn.idle_in_transaction_expired() {
            continue;
        }
        let mut fields = Vec::new();
        for (tag, value) in [
            (b'S', "FATAL"),
            (b'V', "FATAL"),
            (b'C', "25P03"),
            (b'M', "terminating connection due to idle-in-transaction timeout"),
        ] {
            fields.push(tag);
            fields.extend_from_slice(value.as_bytes());
            fields.push(0);
        }
        fields.push(0);
        let mut message = vec![b'E'];
        message.extend_from_slice(&(fields.len() as u32 + 4).to_be_bytes());
        message.extend_from_slice(&fields);
        // NB: the connection is idle, so pgwire is not writing; a full buffer only loses the
        // message, not the close. Under TLS the bytes would have to be encrypted: the client
        // just sees the connection close.
        socket.close_with((!conn.is_secure()).then_some(&message[..]));
        return;
    }
}

/// A TLS acceptor for a PEM certificate chain and private key.
fn tls_acceptor(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> Result<tokio_rustls::TlsAcceptor> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    use tokio_rustls::rustls;
    let bad = |what: &str, path: &std::path::Path, e: &dyn std::fmt::Display| {
        errinput!(CONFIG_FILE_ERROR, "could not load the TLS {what} {}: {e}", path.display())
    };
    let certs = CertificateDer::pem_file_iter(cert)
        .map_err(|e| bad("certificate", cert, &e))?
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| bad("certificate", cert, &e))?;
    if certs.is_empty() {
        return Err(bad("certificate", cert, &"no certificate in the file"));
    }
    let private_key = PrivateKeyDer::from_pem_file(key).map_err(|e| bad("key", key, &e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad("certificate", cert, &e))?
        .with_no_client_auth()
        .with_single_cert(certs, private_key)
        .map_err(|e| bad("certificate and key", cert, &e))?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            }
            _ => std::future::pending::<()>().await,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
