//! Read replicas: the leader streams its write-ahead log over TCP to followers that replay
//! it (issue 9; this is its first part: asynchronous streaming, see the notes for the rest).
//!
//! A follower connects to the leader's PostgreSQL port and starts with an 8-byte magic
//! (`OXIREPL1`) where a PostgreSQL client would send its startup packet; the connection
//! thread recognises it and hands the socket here. Frames are `tag (u8) | length (u32 BE) |
//! body`:
//!
//! ```text
//! follower -> leader   Q  user, password (u32-length strings), start LSN (u64; 0 = new),
//!                         follower id (u64; 0 = not registered), commit timestamp of
//!                         the record before it (u64; 0 = unknown):
//!                         the leader checks it against its own, so a follower whose
//!                         history differs (the leader lost commits) is refused, not merged
//!                      A  applied LSN (u64): durable and visible on the follower
//! leader -> follower   S  snapshot LSN (u64), timestamp (u64): a copy of every row as of
//!                         that commit follows, as K frames (u32 key length, key, value),
//!                         ended by Z (row count, u64); records follow from LSN + 1
//!                      R  LSN (u64), CRC-32C of the record (u32), commit record (the log
//!                         payload); a checksum mismatch stops replication
//!                      H  the leader's durable LSN (u64): a heartbeat after each burst
//!                      B  the start LSN is no longer in the leader's log: re-snapshot
//!                      D  the follower's history differs from the leader's: it stops
//!                      E  an error message; the leader closes the connection
//! ```
//!
//! A new follower (or one that fell behind the log the leader retains) first takes a
//! consistent snapshot: the rows visible at a commit boundary, written into a fresh engine
//! as of that commit's LSN, with an empty log starting after it, before it opens its
//! database, so its catalog is the leader's. Then it follows: records are appended to its
//! own log under the leader's LSNs (a gap or an overlap stops replication rather than
//! diverge), made durable and visible in batches, and acknowledged, which lets the leader
//! truncate its log.

use std::collections::VecDeque;
use std::io::{BufReader, BufWriter, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use oxibase_common::{ErrorKind, Result, errdata, errinput};
use oxibase_log::{Log, LogOptions, Lsn, ReplicationStream, RetentionHold};
use oxibase_sql::Database;
use oxibase_sql::replicas::ReplicaStat;
use parking_lot::Mutex;

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

/// The largest frame a follower sends (its request, acknowledgements).
const MAX_FOLLOWER_FRAME: usize = 64 << 10;

/// How long a new replication connection may take to send its request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

fn read_frame(r: &mut impl Read) -> std::io::Result<(u8, Vec<u8>)> {
    read_frame_limited(r, MAX_FRAME)
}

fn read_frame_limited(r: &mut impl Read, max: usize) -> std::io::Result<(u8, Vec<u8>)> {
    let mut head = [0u8; 5];
    r.read_exact(&mut head)?;
    let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
    if len > max {
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
pub async fn is_replication(socket: &tokio::net::TcpStream) -> bool {
    let mut buf = [0u8; 8];
    let peek = tokio::time::timeout(Duration::from_secs(1), socket.peek(&mut buf)).await;
    let seen = peek.ok().and_then(|seen| seen.ok()).unwrap_or(0);
    seen == buf.len() && &buf == MAGIC
}

// ---- leader ----

/// Serves one follower on the calling thread until it disconnects.
pub fn serve_follower(server: Arc<Server>, socket: TcpStream) {
    let peer = socket.peer_addr().map_or("?".to_string(), |a| a.to_string());
    if let Err(e) = stream_to_follower(&server, socket, &peer) {
        eprintln!("oxibase: replication to {peer} ended: {}", e.message());
    }
}

fn stream_to_follower(server: &Arc<Server>, socket: TcpStream, peer: &str) -> Result<()> {
    let io = |e: std::io::Error| errinput!(CONNECTION_FAILURE, "{e}");
    let mut reader = BufReader::new(socket.try_clone().map_err(io)?);
    let mut writer = BufWriter::new(socket);
    let mut magic = [0u8; 8];
    reader.read_exact(&mut magic).map_err(io)?;
    // Before authentication: a bounded request, in bounded time.
    let _ = writer.get_ref().set_read_timeout(Some(REQUEST_TIMEOUT));
    let (tag, body) = read_frame_limited(&mut reader, MAX_FOLLOWER_FRAME).map_err(io)?;
    let _ = writer.get_ref().set_read_timeout(None);
    let refuse = |writer: &mut BufWriter<TcpStream>, e: oxibase_common::Error| {
        let _ = write_frame(writer, b'E', format!("{} ({})", e.message(), e.code()).as_bytes());
        let _ = writer.flush();
        Err(e)
    };
    let mut body = body.as_slice();
    let (Some(user), Some(password), Some(start), Some(follower), Some(last_ts)) = (
        take_str(&mut body),
        take_str(&mut body),
        take_u64(&mut body),
        take_u64(&mut body),
        take_u64(&mut body),
    ) else {
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
    // Shown in pg_stat_replication while connected.
    let replicas = server.db.replicas();
    let id = replicas.register(ReplicaStat {
        user: user.clone(),
        client_addr: peer.to_string(),
        started: oxibase_sql::types::datetime::now_micros(),
        state: if start == 0 { "snapshot" } else { "catchup" }.into(),
        ..Default::default()
    });
    let _registered = Registered { server: server.clone(), id };
    // A snapshot's hold keeps the records after it until the stream holds them.
    let (start, _snapshot_hold) = if start == 0 {
        match send_snapshot(server, log, &mut writer) {
            Ok((lsn, hold)) => (lsn + 1, Some(hold)),
            Err(e) => return refuse(&mut writer, e),
        }
    } else {
        (start, None)
    };
    if start < log.first_lsn() {
        let message = format!(
            "the leader's log now starts at position {}, after the {start} this follower needs",
            log.first_lsn()
        );
        let _ = write_frame(&mut writer, b'B', message.as_bytes());
        let _ = writer.flush();
        return Err(errinput!(OBJECT_NOT_IN_PREREQUISITE_STATE, "{message}"));
    }
    if let Err(e) = check_history(log, start, last_ts) {
        let _ = write_frame(&mut writer, b'D', e.message().as_bytes());
        let _ = writer.flush();
        return Err(e);
    }
    let mut stream = match ReplicationStream::new(log, start) {
        Ok(s) if follower != 0 => {
            server.retention.register(log, follower, start);
            s
        }
        Ok(s) => s,
        Err(e) => return refuse(&mut writer, e),
    };
    // Acknowledgements arrive on the same socket, read by a thread of their own.
    // The follower holds everything before `start`.
    replicas.update(id, |r| {
        r.state = "catchup".into();
        r.sent_lsn = start - 1;
    });
    let acked = Arc::new(AtomicU64::new(0));
    // When each burst went out: an acknowledgement's lag is measured from it.
    let sent_at: Arc<Mutex<VecDeque<(Lsn, Instant)>>> = Arc::default();
    let ack_reader = {
        let acked = acked.clone();
        let sent_at = sent_at.clone();
        let server = server.clone();
        std::thread::Builder::new()
            .name("oxibase-repl-ack".into())
            .spawn(move || {
                while let Ok((b'A', body)) = read_frame_limited(&mut reader, MAX_FOLLOWER_FRAME) {
                    let Some(lsn) = take_u64(&mut body.as_slice()) else { continue };
                    acked.fetch_max(lsn, Ordering::AcqRel);
                    if follower != 0 {
                        server.retention.acked(follower, lsn);
                    }
                    let mut sent = sent_at.lock();
                    let mut when = None;
                    while sent.front().is_some_and(|(l, _)| *l <= lsn) {
                        when = sent.pop_front().map(|(_, at)| at);
                    }
                    drop(sent);
                    let durable = server.db.store().log().map_or(0, |l| l.durable_lsn());
                    server.db.replicas().update(id, |r| {
                        r.replay_lsn = lsn;
                        if let Some(at) = when {
                            r.lag_micros = Some(at.elapsed().as_micros() as i64);
                        }
                        r.state = if lsn >= durable { "streaming" } else { "catchup" }.into();
                    });
                }
            })
            .map_err(io)?
    };
    let result = (|| -> Result<()> {
        let mut last_sent = start - 1;
        loop {
            let mut sent = 0;
            let mut wait = Duration::from_millis(100);
            while let Some(record) = stream.next_timeout(wait)? {
                let mut body = Vec::with_capacity(12 + record.payload.len());
                body.extend_from_slice(&record.lsn.to_be_bytes());
                body.extend_from_slice(&crc32c::crc32c(&record.payload).to_be_bytes());
                body.extend_from_slice(&record.payload);
                write_frame(&mut writer, b'R', &body).map_err(io)?;
                sent += 1;
                wait = Duration::ZERO;
                last_sent = record.lsn;
                if sent >= BATCH {
                    break;
                }
            }
            if sent > 0 {
                sent_at.lock().push_back((last_sent, Instant::now()));
                replicas.update(id, |r| r.sent_lsn = last_sent);
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

/// Removes a follower's pg_stat_replication entry when its connection ends.
struct Registered {
    server: Arc<Server>,
    id: i32,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.server.db.replicas().remove(self.id);
    }
}

/// A follower resuming at `start` must have the leader's record `start - 1`: same position,
/// same commit. One ahead of the leader, or with another commit there, has diverged.
fn check_history(log: &Log, start: Lsn, last_ts: u64) -> Result<()> {
    let durable = log.durable_lsn();
    if start > durable + 1 {
        return Err(errinput!(
            OBJECT_NOT_IN_PREREQUISITE_STATE,
            "the follower has applied up to log position {}, beyond this leader's {durable}: their histories diverged",
            start - 1
        )
        .with_hint("Start the follower again from an empty data directory."));
    }
    if start < 2 || last_ts == 0 || start - 1 < log.first_lsn() {
        return Ok(());
    }
    let mut reader = log.read_from(start - 1)?;
    if let Some(record) = reader.try_next()? {
        let ours = oxibase_mvcc::record::decode(&record.payload)?.ts;
        if ours != last_ts {
            return Err(errinput!(
                OBJECT_NOT_IN_PREREQUISITE_STATE,
                "the follower's commit at log position {} is not the leader's: their histories diverged",
                start - 1
            )
            .with_hint("Start the follower again from an empty data directory."));
        }
    }
    Ok(())
}

/// Sends a consistent copy of the data: every row visible at a commit boundary. Returns the
/// LSN it holds; the log is held from before it, so the records after it stay available.
fn send_snapshot(
    server: &Server,
    log: &Log,
    writer: &mut BufWriter<TcpStream>,
) -> Result<(Lsn, RetentionHold)> {
    let io = |e: std::io::Error| errinput!(CONNECTION_FAILURE, "{e}");
    let hold = log.hold(log.first_lsn());
    let (txn, lsn) = server.db.store().begin_at_snapshot_point()?;
    let mut head = Vec::with_capacity(16);
    head.extend_from_slice(&lsn.to_be_bytes());
    head.extend_from_slice(&txn.snapshot_ts().to_be_bytes());
    write_frame(writer, b'S', &head).map_err(io)?;
    let mut count = 0u64;
    // Meta keys (0x00...) are the engine's own, not rows.
    let rows = (std::ops::Bound::Included(vec![1u8]), std::ops::Bound::Unbounded);
    for item in txn.scan(rows)? {
        let (key, value) = item?;
        let mut body = Vec::with_capacity(4 + key.len() + value.len());
        body.extend_from_slice(&(key.len() as u32).to_be_bytes());
        body.extend_from_slice(&key);
        body.extend_from_slice(&value);
        write_frame(writer, b'K', &body).map_err(io)?;
        count += 1;
    }
    write_frame(writer, b'Z', &count.to_be_bytes()).map_err(io)?;
    writer.flush().map_err(io)?;
    let _ = txn.rollback();
    Ok((lsn, hold))
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
    fn connect(&self, start: Lsn, follower: u64, last_ts: u64) -> Result<Connection> {
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
        body.extend_from_slice(&follower.to_be_bytes());
        body.extend_from_slice(&last_ts.to_be_bytes());
        writer.write_all(MAGIC).map_err(io)?;
        write_frame(&mut writer, b'Q', &body).map_err(io)?;
        writer.flush().map_err(io)?;
        Ok(Connection { reader: BufReader::new(socket), writer })
    }
}

/// A message from the leader.
enum Message {
    Record(Lsn, Vec<u8>),
    Heartbeat,
    Snapshot(Lsn, u64),
    Row(Vec<u8>, Vec<u8>),
    SnapshotEnd(u64),
    Behind(String),
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
                let (crc, payload) = rest
                    .split_first_chunk::<4>()
                    .ok_or_else(|| errdata!("short replication record"))?;
                if crc32c::crc32c(payload) != u32::from_be_bytes(*crc) {
                    return Err(errdata!("replicated record {lsn} fails its checksum"));
                }
                Ok(Message::Record(lsn, payload.to_vec()))
            }
            b'H' => Ok(Message::Heartbeat),
            b'S' => {
                let lsn = take_u64(&mut rest).ok_or_else(|| errdata!("short snapshot header"))?;
                let ts = take_u64(&mut rest).ok_or_else(|| errdata!("short snapshot header"))?;
                Ok(Message::Snapshot(lsn, ts))
            }
            b'K' => {
                let (len, rest) =
                    rest.split_first_chunk::<4>().ok_or_else(|| errdata!("short snapshot row"))?;
                let len = u32::from_be_bytes(*len) as usize;
                if len > rest.len() {
                    return Err(errdata!("snapshot row key longer than its frame"));
                }
                Ok(Message::Row(rest[..len].to_vec(), rest[len..].to_vec()))
            }
            b'Z' => Ok(Message::SnapshotEnd(
                take_u64(&mut rest).ok_or_else(|| errdata!("short snapshot end"))?,
            )),
            b'B' => Ok(Message::Behind(String::from_utf8_lossy(rest).into_owned())),
            // Diverged: fatal, replication must not go on.
            b'D' => Err(errdata!("{}", String::from_utf8_lossy(rest))),
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

/// Whether the leader can stream to a follower from where it is.
#[derive(Debug, PartialEq, Eq)]
pub enum Position {
    /// The leader has the records from the follower's next position on.
    Served,
    /// The leader no longer retains them: the follower must take a new snapshot.
    Behind,
}

/// Asks the leader whether it can serve an opened follower from its position (its last
/// applied LSN and that commit's timestamp). A follower whose history differs is an error.
pub fn check_position(db: &Database, upstream: &Upstream) -> Result<Position> {
    let (applied, ts) = db.store().snapshot_point();
    let id = db.dir().map(follower_id).transpose()?.unwrap_or(0);
    let mut probe = upstream.connect(applied + 1, id, ts)?;
    match probe.next()? {
        Message::Behind(why) => {
            eprintln!("oxibase: {why}: taking a new snapshot");
            Ok(Position::Behind)
        }
        _ => Ok(Position::Served),
    }
}

/// Removes a follower's data and log, so [`prepare`] takes a new snapshot.
pub fn wipe(dir: &Path) -> Result<()> {
    for sub in ["data", "wal"] {
        let path = dir.join(sub);
        if path.exists() {
            std::fs::remove_dir_all(&path)
                .map_err(|e| errinput!(IO_ERROR, "could not remove {}: {e}", path.display()))?;
        }
    }
    Ok(())
}

/// Before a new follower (no log yet) opens its database: takes a consistent snapshot from
/// the leader into `dir`. A follower with data is left as it is (see [`check_position`]).
pub fn prepare(dir: &Path, upstream: &Upstream, fsync: bool) -> Result<()> {
    if dir.join("wal").exists() {
        return Ok(());
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| errinput!(IO_ERROR, "could not create {}: {e}", dir.display()))?;
    let staging = dir.join("replica.copying");
    let _ = std::fs::remove_dir_all(&staging);
    let result = copy_snapshot(&staging, upstream, fsync);
    let moved = result.and_then(|(lsn, rows)| {
        for sub in ["data", "wal"] {
            std::fs::rename(staging.join(sub), dir.join(sub))
                .map_err(|e| errinput!(IO_ERROR, "could not move the snapshot into place: {e}"))?;
        }
        eprintln!(
            "oxibase: copied {rows} rows from the leader at {} as of its log position {lsn}",
            upstream.leader
        );
        Ok(())
    });
    let _ = std::fs::remove_dir_all(&staging);
    moved
}

/// Receives a snapshot into `<staging>/data` (an engine holding it as of the snapshot's LSN)
/// and `<staging>/wal` (an empty log starting after it). Returns the LSN and the row count.
fn copy_snapshot(staging: &Path, upstream: &Upstream, fsync: bool) -> Result<(Lsn, u64)> {
    let mut connection = upstream.connect(0, 0, 0)?;
    let (lsn, ts) = match connection.next()? {
        Message::Snapshot(lsn, ts) => (lsn, ts),
        _ => return Err(errdata!("the leader did not start with a snapshot")),
    };
    let engine = oxibase_engine::Lsm::open(&staging.join("data"), &Default::default())?;
    let mut end = None;
    let copied = oxibase_mvcc::install_snapshot(
        &engine,
        &mut std::iter::from_fn(|| match connection.next() {
            Ok(Message::Row(key, value)) => Some(Ok((key, value))),
            Ok(Message::SnapshotEnd(count)) => {
                end = Some(count);
                None
            }
            Ok(_) => Some(Err(errdata!("unexpected message inside a snapshot"))),
            Err(e) => Some(Err(e)),
        }),
        lsn,
        ts,
    )?;
    if end != Some(copied) {
        return Err(errdata!(
            "the snapshot ended after {copied} rows, but the leader sent {end:?}"
        ));
    }
    drop(engine);
    Log::create_at(&staging.join("wal"), lsn + 1, LogOptions { fsync, ..Default::default() })?;
    Ok((lsn, copied))
}

/// Follows the leader on a thread of its own: streams from the last applied position,
/// reconnecting after a cut or a leader restart; stops (with the error on stderr) if the
/// stream would make this copy diverge.
pub fn follow(db: Database, upstream: Upstream) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new().name("oxibase-replica".into()).spawn(move || {
        let mut reported = false;
        loop {
            if !db.is_replica() {
                eprintln!("oxibase: promoted: no longer following {}", upstream.leader);
                return;
            }
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
    let (applied, ts) = db.store().snapshot_point();
    let id = db.dir().map(follower_id).transpose()?.unwrap_or(0);
    let mut connection = upstream.connect(applied + 1, id, ts)?;
    // What this follower already holds (a snapshot, or records from before a reconnect)
    // counts for synchronous commits waiting on the leader.
    connection.ack(applied)?;
    let mut batch: Vec<(Lsn, Vec<u8>)> = Vec::new();
    loop {
        match connection.next()? {
            Message::Record(lsn, payload) => {
                batch.push((lsn, payload));
                if batch.len() < BATCH {
                    continue;
                }
            }
            Message::Heartbeat if batch.is_empty() => continue,
            Message::Heartbeat => {}
            Message::Behind(why) => {
                return Err(errdata!("{why}; restart this follower to take a new snapshot"));
            }
            Message::Snapshot(..) | Message::Row(..) | Message::SnapshotEnd(_) => {
                return Err(errdata!("unexpected snapshot while following"));
            }
        }
        db.apply_replicated(&batch)?;
        let last = batch.last().map_or(0, |r| r.0);
        batch.clear();
        connection.ack(last)?;
    }
}

// ---- retention for registered followers ----

/// The file in the leader's data directory that lists registered followers.
const REPLICAS_FILE: &str = "replicas";

/// Registered followers: the leader keeps its log from each one's acknowledged position,
/// across the follower's disconnects and the leader's restarts, until the follower is more
/// than `cap` records behind; then it is forgotten and must re-snapshot.
pub struct Retention {
    file: Option<std::path::PathBuf>,
    cap: u64,
    entries: Mutex<std::collections::HashMap<u64, (Lsn, RetentionHold)>>,
    saved: Mutex<Instant>,
}

impl Retention {
    /// Loads the registered followers of a leader (none for a database without a log).
    pub fn open(db: &Database, cap: u64) -> Result<Retention> {
        let file = db.dir().map(|d| d.join(REPLICAS_FILE));
        let mut entries = std::collections::HashMap::new();
        if let (Some(path), Some(log)) = (&file, db.store().log())
            && let Ok(text) = std::fs::read_to_string(path)
        {
            for line in text.lines() {
                let mut words = line.split_whitespace();
                let (Some(Ok(id)), Some(Ok(lsn))) =
                    (words.next().map(str::parse::<u64>), words.next().map(str::parse::<Lsn>))
                else {
                    return Err(errdata!("{} has a malformed line: {line:?}", path.display()));
                };
                entries.insert(id, (lsn, log.hold(lsn)));
            }
        }
        Ok(Retention { file, cap, entries: Mutex::new(entries), saved: Mutex::new(Instant::now()) })
    }

    /// A follower streams from `start`: the log is kept from there for it.
    fn register(&self, log: &Log, id: u64, start: Lsn) {
        let mut entries = self.entries.lock();
        match entries.get_mut(&id) {
            Some((lsn, hold)) => {
                *lsn = start;
                hold.advance(start);
            }
            None => {
                entries.insert(id, (start, log.hold(start)));
            }
        }
        drop(entries);
        self.save(true);
    }

    /// A follower holds everything up to `acked`.
    fn acked(&self, id: u64, acked: Lsn) {
        if let Some((lsn, hold)) = self.entries.lock().get_mut(&id) {
            *lsn = acked + 1;
            hold.advance(acked + 1);
        }
        self.save(false);
    }

    /// Forgets followers more than `cap` records behind the log's end.
    pub fn sweep(&self, log: &Log) {
        let durable = log.durable_lsn();
        let mut entries = self.entries.lock();
        let before = entries.len();
        entries.retain(|id, (lsn, _)| {
            let keep = durable.saturating_sub(*lsn) <= self.cap;
            if !keep {
                eprintln!(
                    "oxibase: follower {id:016x} is more than {} records behind: its log is no longer kept; it will take a new snapshot",
                    self.cap
                );
            }
            keep
        });
        let changed = entries.len() != before;
        drop(entries);
        if changed {
            self.save(true);
        }
    }

    /// Writes the registered positions (at most once a second unless `now`).
    fn save(&self, now: bool) {
        let Some(path) = &self.file else { return };
        let mut saved = self.saved.lock();
        if !now && saved.elapsed() < Duration::from_secs(1) {
            return;
        }
        *saved = Instant::now();
        let text: String =
            self.entries.lock().iter().map(|(id, (lsn, _))| format!("{id} {lsn}\n")).collect();
        let temp = path.with_extension("tmp");
        if std::fs::write(&temp, text).and_then(|()| std::fs::rename(&temp, path)).is_err() {
            eprintln!("oxibase: could not save {}", path.display());
        }
    }
}

/// Sweeps the registered followers every few seconds, for as long as the server runs.
pub fn spawn_retention_sweeper(server: std::sync::Weak<Server>) -> std::io::Result<()> {
    std::thread::Builder::new().name("oxibase-retention".into()).spawn(move || {
        loop {
            std::thread::sleep(Duration::from_secs(2));
            let Some(server) = server.upgrade() else { return };
            if let Some(log) = server.db.store().log() {
                server.retention.sweep(log);
            }
        }
    })?;
    Ok(())
}

/// This follower's id, kept in its data directory (made on first use).
fn follower_id(dir: &Path) -> Result<u64> {
    let path = dir.join("replica-id");
    if let Ok(text) = std::fs::read_to_string(&path) {
        return u64::from_str_radix(text.trim(), 16)
            .map_err(|_| errdata!("{} is not a follower id", path.display()));
    }
    let id = rand::random::<u64>().max(1);
    std::fs::write(&path, format!("{id:016x}\n"))
        .map_err(|e| errinput!(IO_ERROR, "could not write {}: {e}", path.display()))?;
    Ok(id)
}
