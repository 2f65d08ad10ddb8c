//! Read replicas: the leader streams its write-ahead log over TCP to followers that replay
//! it (issue 9; this is its first part: asynchronous streaming, see the notes for the rest).
//!
//! A follower connects to the leader's PostgreSQL port and starts with an 8-byte magic
//! (`OXIREPL1`) where a PostgreSQL client would send its startup packet; the connection
//! thread recognises it and hands the socket here. Frames are `tag (u8) | length (u32 BE) |
//! body`:
//!
//! ```text
//! follower -> leader   Q  user, password (u32-length strings), start LSN (u64; 0 = new)
//!                      A  applied LSN (u64): durable and visible on the follower
//! leader -> follower   R  LSN (u64), commit record (the log payload, checksummed again
//!                         by the follower's log when it appends it)
//!                      H  the leader's durable LSN (u64): a heartbeat after each burst
//!                      E  an error message; the leader closes the connection
//! ```
//!
//! A new follower first copies the log from its start (while the leader retains it),
//! before it opens its database, so its catalog is the leader's and recovery replays it
//! exactly as after a crash. Then it follows: records are appended to its own log under the
//! leader's LSNs (a gap or an overlap stops replication rather than diverge), made durable
//! and visible in batches, and acknowledged, which lets the leader truncate its log.

use std::io::{BufReader, BufWriter, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use oxibase_common::{ErrorKind, Result, errdata, errinput};
use oxibase_log::{Log, LogOptions, Lsn, ReplicationStream};
use oxibase_sql::Database;

use crate::Server;

/// What a replication connection starts with.
pub const MAGIC: &[u8; 8] = b"OXIREPL1";

/// The largest frame accepted (a commit record is at most the log's record limit).
const MAX_FRAME: usize = 1 << 30;

/// Records applied per batch on the follower (one fsync each).
const BATCH: usize = 1024;

fn write_frame(w: &mut impl Write, tag: u8, body: &[u8]) -> std::io::Result<()> {
    w.write_all(&[tag])?;
    w.write_all(&(body.len() as u32).to_be_bytes())?;
    w.write_all(body)
}

fn read_frame(r: &mut impl Read) -> std::io::Result<(u8, Vec<u8>)> {
    let mut head = [0u8; 5];
    r.read_exact(&mut head)?;
    let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
    if len > MAX_FRAME {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "replication frame too large",
        ));
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body)?;
    Ok((head[0], body))
}

fn take_u64(body: &mut &[u8]) -> Option<u64> {
    let (n, rest) = body.split_first_chunk::<8>()?;
    *body = rest;
    Some(u64::from_be_bytes(*n))
}

fn take_str(body: &mut &[u8]) -> Option<String> {
    let (n, rest) = body.split_first_chunk::<4>()?;
    let len = u32::from_be_bytes(*n) as usize;
    let text = rest.get(..len)?;
    *body = &rest[len..];
    String::from_utf8(text.to_vec()).ok()
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// Whether a new connection is a follower's (it starts with [`MAGIC`]). Waits up to a
/// second for the first bytes (a PostgreSQL client sends its startup packet at once); the
/// socket is left in the blocking mode it had.
pub fn is_replication(socket: &std::net::TcpStream) -> bool {
    let mut buf = [0u8; 8];
    let _ = socket.set_nonblocking(false);
    let _ = socket.set_read_timeout(Some(Duration::from_secs(1)));
    let seen = socket.peek(&mut buf).unwrap_or(0);
    let _ = socket.set_read_timeout(None);
    let replication = seen == buf.len() && &buf == MAGIC;
    if !replication {
        let _ = socket.set_nonblocking(true);
    }
    replication
}

// ---- leader ----

/// Serves one follower on the calling thread until it disconnects.
pub fn serve_follower(server: Arc<Server>, socket: TcpStream) {
    let peer = socket.peer_addr().map_or("?".to_string(), |a| a.to_string());
    if let Err(e) = stream_to_follower(&server, socket) {
        eprintln!("oxibase: replication to {peer} ended: {}", e.message());
    }
}

fn stream_to_follower(server: &Server, socket: TcpStream) -> Result<()> {
    let io = |e: std::io::Error| errinput!(CONNECTION_FAILURE, "{e}");
    let mut reader = BufReader::new(socket.try_clone().map_err(io)?);
    let mut writer = BufWriter::new(socket);
    let mut magic = [0u8; 8];
    reader.read_exact(&mut magic).map_err(io)?;
    let (tag, body) = read_frame(&mut reader).map_err(io)?;
    let refuse = |writer: &mut BufWriter<TcpStream>, e: oxibase_common::Error| {
        let _ = write_frame(writer, b'E', format!("{} ({})", e.message(), e.code()).as_bytes());
        let _ = writer.flush();
        Err(e)
    };
    let mut body = body.as_slice();
    let (Some(user), Some(password), Some(start)) =
        (take_str(&mut body), take_str(&mut body), take_u64(&mut body))
    else {
        return refuse(&mut writer, errinput!(PROTOCOL_VIOLATION, "malformed replication request"));
    };
    if tag != b'Q' {
        return refuse(
            &mut writer,
            errinput!(PROTOCOL_VIOLATION, "expected a replication request"),
        );
    }
    if let Err(e) = authenticate(server, &user, &password) {
        return refuse(&mut writer, e);
    }
    let Some(log) = server.db.store().log() else {
        return refuse(
            &mut writer,
            errinput!(FEATURE_NOT_SUPPORTED, "this database has no log to stream"),
        );
    };
    let start = start.max(1);
    if start < log.first_lsn() {
        return refuse(
            &mut writer,
            errinput!(
                OBJECT_NOT_IN_PREREQUISITE_STATE,
                "the leader's log now starts at position {}, after the {start} this follower needs",
                log.first_lsn()
            )
            .with_hint("The follower must start again from an empty data directory."),
        );
    }
    let mut stream = match ReplicationStream::new(log, start) {
        Ok(s) => s,
        Err(e) => return refuse(&mut writer, e),
    };
    // Acknowledgements arrive on the same socket, read by a thread of their own.
    let acked = Arc::new(AtomicU64::new(0));
    let ack_reader = {
        let acked = acked.clone();
        std::thread::Builder::new()
            .name("oxibase-repl-ack".into())
            .spawn(move || {
                while let Ok((b'A', body)) = read_frame(&mut reader) {
                    if let Some(lsn) = take_u64(&mut body.as_slice()) {
                        acked.fetch_max(lsn, Ordering::AcqRel);
                    }
                }
            })
            .map_err(io)?
    };
    let result = (|| -> Result<()> {
        loop {
            let mut sent = 0;
            let mut wait = Duration::from_millis(100);
            while let Some(record) = stream.next_timeout(wait)? {
                let mut body = Vec::with_capacity(8 + record.payload.len());
                body.extend_from_slice(&record.lsn.to_be_bytes());
                body.extend_from_slice(&record.payload);
                write_frame(&mut writer, b'R', &body).map_err(io)?;
                sent += 1;
                wait = Duration::ZERO;
                if sent >= BATCH {
                    break;
                }
            }
            write_frame(&mut writer, b'H', &log.durable_lsn().to_be_bytes()).map_err(io)?;
            writer.flush().map_err(io)?;
            let acked = acked.load(Ordering::Acquire);
            if acked > 0 {
                stream.ack(acked);
            }
            if ack_reader.is_finished() {
                return Err(errinput!(CONNECTION_FAILURE, "the follower disconnected"));
            }
        }
    })();
    let _ = writer.get_ref().shutdown(std::net::Shutdown::Both);
    result
}

/// A follower authenticates as a superuser role; under `--auth trust` the role must exist.
fn authenticate(server: &Server, user: &str, password: &str) -> Result<()> {
    let role = server
        .read_txn(|txn| server.db.catalog().role(txn, user))?
        .filter(|r| r.login && r.superuser)
        .ok_or_else(|| {
            errinput!(INVALID_AUTHORIZATION_SPECIFICATION, "role \"{user}\" may not replicate")
                .with_hint("Replication needs a superuser role that can log in.")
        })?;
    if server.auth == crate::Auth::Trust {
        return Ok(());
    }
    match &role.password {
        Some(verifier) if oxibase_sql::auth::verify_password(verifier, password) => Ok(()),
        _ => Err(errinput!(INVALID_PASSWORD, "password authentication failed for user \"{user}\"")),
    }
}

// ---- follower ----

/// How a follower reaches its leader.
#[derive(Clone, Debug)]
pub struct Upstream {
    /// The leader's PostgreSQL address (`HOST:PORT`).
    pub leader: String,
    /// The role to authenticate as.
    pub user: String,
    /// Its password (ignored by a leader under `--auth trust`).
    pub password: String,
}

struct Connection {
    reader: BufReader<TcpStream>,
    writer: BufWriter<TcpStream>,
}

impl Upstream {
    fn connect(&self, start: Lsn) -> Result<Connection> {
        let socket = TcpStream::connect(&self.leader).map_err(|e| {
            errinput!(CONNECTION_FAILURE, "could not connect to the leader at {}: {e}", self.leader)
        })?;
        let _ = socket.set_nodelay(true);
        let io = |e: std::io::Error| errinput!(CONNECTION_FAILURE, "{e}");
        let mut writer = BufWriter::new(socket.try_clone().map_err(io)?);
        let mut body = Vec::new();
        put_str(&mut body, &self.user);
        put_str(&mut body, &self.password);
        body.extend_from_slice(&start.to_be_bytes());
        writer.write_all(MAGIC).map_err(io)?;
        write_frame(&mut writer, b'Q', &body).map_err(io)?;
        writer.flush().map_err(io)?;
        Ok(Connection { reader: BufReader::new(socket), writer })
    }
}

/// A message from the leader.
enum Message {
    Record(Lsn, Vec<u8>),
    Heartbeat(Lsn),
}

impl Connection {
    fn next(&mut self) -> Result<Message> {
        let (tag, body) = read_frame(&mut self.reader)
            .map_err(|e| errinput!(CONNECTION_FAILURE, "the leader's stream broke: {e}"))?;
        let mut rest = body.as_slice();
        match tag {
            b'R' => {
                let lsn =
                    take_u64(&mut rest).ok_or_else(|| errdata!("short replication record"))?;
                Ok(Message::Record(lsn, rest.to_vec()))
            }
            b'H' => Ok(Message::Heartbeat(
                take_u64(&mut rest).ok_or_else(|| errdata!("short heartbeat"))?,
            )),
            b'E' => Err(errinput!(
                CONNECTION_FAILURE,
                "the leader refused: {}",
                String::from_utf8_lossy(rest)
            )),
            other => Err(errdata!("unknown replication message {:?}", other as char)),
        }
    }

    fn ack(&mut self, lsn: Lsn) -> Result<()> {
        let io = |e: std::io::Error| errinput!(CONNECTION_FAILURE, "{e}");
        write_frame(&mut self.writer, b'A', &lsn.to_be_bytes()).map_err(io)?;
        self.writer.flush().map_err(io)
    }
}

/// Before a new follower opens its database: copies the leader's log from its start into
/// `<dir>/wal`, up to what the leader had made durable when it answered. Opening the
/// database then recovers from it as after a crash. Does nothing when the follower already
/// has a log.
pub fn initial_copy(dir: &Path, upstream: &Upstream, fsync: bool) -> Result<()> {
    let wal = dir.join("wal");
    if wal.exists() {
        return Ok(());
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| errinput!(IO_ERROR, "could not create {}: {e}", dir.display()))?;
    let partial = dir.join("wal.copying");
    let _ = std::fs::remove_dir_all(&partial);
    let result = (|| -> Result<Lsn> {
        let (log, _) = Log::open(&partial, LogOptions { fsync, ..Default::default() })?;
        let mut connection = upstream.connect(1)?;
        let mut last = 0;
        loop {
            match connection.next()? {
                Message::Record(lsn, payload) => {
                    let appended = log.append(&payload)?;
                    if appended != lsn {
                        return Err(errdata!(
                            "the leader sent record {lsn} where {appended} was expected"
                        ));
                    }
                    last = lsn;
                }
                Message::Heartbeat(durable) if last >= durable && last > 0 => break,
                Message::Heartbeat(_) => {}
            }
        }
        log.sync_all()?;
        Ok(last)
    })();
    match result {
        Ok(last) => {
            std::fs::rename(&partial, &wal)
                .map_err(|e| errinput!(IO_ERROR, "could not move {}: {e}", partial.display()))?;
            eprintln!(
                "oxibase: copied the leader's log up to position {last} from {}",
                upstream.leader
            );
            Ok(())
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(&partial);
            Err(e)
        }
    }
}

/// Follows the leader on a thread of its own: streams from the last applied position,
/// reconnecting after a cut or a leader restart; stops (with the error on stderr) if the
/// stream would make this copy diverge.
pub fn follow(db: Database, upstream: Upstream) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new().name("oxibase-replica".into()).spawn(move || {
        let mut reported = false;
        loop {
            match follow_once(&db, &upstream) {
                Err(e) if e.kind() == ErrorKind::InvalidData => {
                    eprintln!("oxibase: replication stopped: {} ({})", e.message(), e.code());
                    return;
                }
                Err(e) => {
                    if !reported {
                        eprintln!("oxibase: replication interrupted, retrying: {}", e.message());
                        reported = true;
                    }
                }
                Ok(()) => reported = false,
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    })
}

fn follow_once(db: &Database, upstream: &Upstream) -> Result<()> {
    let (applied, _) = db.store().snapshot_point();
    let mut connection = upstream.connect(applied + 1)?;
    let mut batch: Vec<(Lsn, Vec<u8>)> = Vec::new();
    loop {
        match connection.next()? {
            Message::Record(lsn, payload) => {
                batch.push((lsn, payload));
                if batch.len() < BATCH {
                    continue;
                }
            }
            Message::Heartbeat(_) if batch.is_empty() => continue,
            Message::Heartbeat(_) => {}
        }
        db.apply_replicated(&batch)?;
        let last = batch.last().map_or(0, |r| r.0);
        batch.clear();
        connection.ack(last)?;
    }
}
