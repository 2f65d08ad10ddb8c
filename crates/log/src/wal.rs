//! The write-ahead log: segmented files of checksummed records, with group commit.
//!
//! ```text
//!   wal/00000000000000000001.wal   records 1 .. 4711
//!   wal/00000000000000004712.wal   records 4712 .. (active: appended to)
//! ```
//!
//! A segment is named by the LSN of its first record. Records never span segments; a new
//! segment starts once the active one has grown past `segment_size`.
//!
//! **Group commit.** Appending only frames the record into an in-memory buffer and assigns its
//! LSN (a large record the caller hands over is kept as its own buffer, not copied). Making it
//! durable is [`Log::sync`]: one thread at a time (the holder of the writer lock) takes the
//! *whole* buffer, writes it and fsyncs once. Committers that arrive while an
//! fsync is under way queue on the writer lock and find their records made durable by the
//! next single fsync, so N concurrent committers share about one fsync per round:
//!
//! ```text
//!   T1 append ─ sync ━━━━ fsync(1) ━━━━┓
//!   T2 append ─ sync ┄┄┄┄┄┄┄┄┄┄┄┄┄┄┄┄┄┄┻━ fsync(2,3,4) ━━┓
//!   T3 append ─ sync ┄┄┄┄┄┄┄┄┄┄┄┄┄┄┄┄┄┄┄ (done by T2) ┄┄┄┛
//!   T4 append ─ sync ┄┄┄┄┄┄┄┄┄┄┄┄┄┄┄┄┄┄┄ (done by T2) ┄┄┄┛
//! ```
//!
//! **Poisoning.** After a failed write or fsync, the state of the file is unknown (Linux may
//! drop the dirty pages and report success on the next fsync; see "Can Applications Recover
//! from fsync Failures?", Rebello et al., USENIX ATC 2020). The log therefore refuses every
//! later append with a clear error; reads go on. Restarting recovers from what is on disk.
//!
//! **Recovery.** Opening the log reads every segment and checks checksums and LSN continuity.
//! Damage at the very end of the last segment with nothing valid after it is a torn write
//! (the crash cut the last, unacknowledged write short): it is cut off. So is damage followed
//! by valid records when a sector of zeros in it shows a flush whose sectors reached the disk
//! out of order (power lost before its fdatasync returned: none of its records was
//! acknowledged). Other damage followed by valid records, or damage in any segment but the
//! last, is corruption: opening fails with an error naming the file and offset, because
//! skipping it would silently lose acknowledged commits.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use oxibase_common::{Error, ErrorKind, Result, SqlState, errdata, errinput};
use parking_lot::{Condvar, Mutex};

use crate::fs::{Fs, FsFile, StdFs};
use crate::record::{
    Frame, Lsn, MAX_PAYLOAD, Record, encode_frame, find_valid_frame_after, frame_header,
    holds_lost_sector, parse_frame,
};

const SEGMENT_SUFFIX: &str = ".wal";

/// Settings for the log.
#[derive(Clone, Debug)]
pub struct LogOptions {
    /// A new segment starts once the active one is this large.
    pub segment_size: u64,
    /// Whether [`Log::sync`] calls fsync. Off only for benchmarks that measure without it.
    pub fsync: bool,
}

impl Default for LogOptions {
    fn default() -> Self {
        Self { segment_size: 64 << 20, fsync: true }
    }
}

/// What recovery found when the log was opened.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Segments found.
    pub segments: usize,
    /// Valid records found.
    pub records: u64,
    /// Bytes of a torn last write that were cut off.
    pub torn_bytes: u64,
    /// Where the torn write was cut, if any: file and offset.
    pub torn_at: Option<(PathBuf, u64)>,
}

/// Counters describing the log's activity.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LogStats {
    /// The oldest retained LSN.
    pub first_lsn: Lsn,
    /// The LSN the next append gets.
    pub next_lsn: Lsn,
    /// Every record up to this LSN is durable.
    pub durable_lsn: Lsn,
    /// Segment files on disk.
    pub segments: usize,
    /// fsync calls made.
    pub fsyncs: u64,
    /// Records made durable.
    pub synced_records: u64,
    /// Bytes written to segment files.
    pub synced_bytes: u64,
    /// Total time spent in fsync.
    pub fsync_time: Duration,
    /// fsync latencies: (upper bound in seconds, fsyncs in this bucket), not cumulative.
    pub fsync_histogram: Vec<(f64, u64)>,
}

/// Upper bounds of the fsync latency histogram, in seconds.
pub const FSYNC_BUCKETS: [f64; 12] =
    [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0];

/// The write-ahead log. Cloning gives another handle on the same log.
#[derive(Clone)]
pub struct Log {
    shared: Arc<Shared>,
}

struct Shared {
    fs: Arc<dyn Fs>,
    dir: PathBuf,
    options: LogOptions,
    /// Framed records not yet written to a file, and the next LSN to assign.
    pending: Mutex<Pending>,
    /// The active segment; whoever holds this lock is the one thread writing and syncing.
    writer: Mutex<Writer>,
    /// Segment files by first LSN.
    segments: Mutex<BTreeMap<Lsn, PathBuf>>,
    durable_lsn: AtomicU64,
    /// Signalled whenever `durable_lsn` advances, for replication streams.
    durable_signal: (Mutex<()>, Condvar),
    poison: Mutex<Option<String>>,
    /// Retention holds: subscriber id -> lowest LSN it still needs.
    holds: Mutex<BTreeMap<u64, Lsn>>,
    next_hold: AtomicU64,
    fsyncs: AtomicU64,
    synced_records: AtomicU64,
    synced_bytes: AtomicU64,
    fsync_nanos: AtomicU64,
    fsync_buckets: [AtomicU64; FSYNC_BUCKETS.len()],
}

struct Pending {
    /// What the next sync writes, in order. Small frames are copied into one shared buffer;
    /// a large record's payload stays the caller's own buffer after a buffer holding its
    /// header ([`Log::append_owned`]), so a bulk load's record is not copied once more.
    chunks: Vec<Vec<u8>>,
    /// Whether the last chunk is a shared buffer that takes further small frames.
    open: bool,
    next_lsn: Lsn,
}

impl Pending {
    /// The buffer small frames are copied into.
    fn shared_buffer(&mut self) -> &mut Vec<u8> {
        if !self.open {
            self.chunks.push(Vec::new());
            self.open = true;
        }
        let last = self.chunks.len() - 1; // `open` implies a last chunk
        &mut self.chunks[last]
    }
}

/// Payloads of this size and more handed over with [`Log::append_owned`] are written from the
/// caller's buffer rather than copied.
const OWNED_PAYLOAD: usize = 256 << 10;

struct Writer {
    file: Box<dyn FsFile>,
    path: PathBuf,
    len: u64,
}

fn segment_path(dir: &Path, first: Lsn) -> PathBuf {
    dir.join(format!("{first:020}{SEGMENT_SUFFIX}"))
}

fn io_err(what: &str, path: &Path, err: &std::io::Error) -> Error {
    Error::io(format!("{what} {}", path.display()), err)
}

impl Log {
    /// Opens the log in `dir` on the real file system, recovering what is there.
    pub fn open(dir: &Path, options: LogOptions) -> Result<(Log, RecoveryReport)> {
        Self::open_with(Arc::new(StdFs), dir, options)
    }

    /// Opens the log in `dir` on the given file layer, recovering what is there.
    pub fn open_with(
        fs: Arc<dyn Fs>,
        dir: &Path,
        options: LogOptions,
    ) -> Result<(Log, RecoveryReport)> {
        fs.create_dir_all(dir).map_err(|e| io_err("could not create log directory", dir, &e))?;
        let (segments, next_lsn, report) = recover(fs.as_ref(), dir)?;
        let (segments, active) = match segments.last_key_value() {
            Some((_, path)) => (segments.clone(), path.clone()),
            None => {
                let path = segment_path(dir, 1);
                fs.open_append(&path, true).map_err(|e| io_err("could not create", &path, &e))?;
                fs.sync_dir(dir).map_err(|e| io_err("could not sync", dir, &e))?;
                (BTreeMap::from([(1, path.clone())]), path)
            }
        };
        let mut file =
            fs.open_append(&active, false).map_err(|e| io_err("could not open", &active, &e))?;
        // NB: recovered records may sit only in the page cache of a crashed process; make them
        // durable before anything new is appended behind them.
        file.sync().map_err(|e| io_err("could not sync", &active, &e))?;
        let len = fs.len(&active).map_err(|e| io_err("could not stat", &active, &e))?;
        let shared = Shared {
            fs,
            dir: dir.to_path_buf(),
            options,
            pending: Mutex::new(Pending { chunks: Vec::new(), open: false, next_lsn }),
            writer: Mutex::new(Writer { file, path: active, len }),
            segments: Mutex::new(segments),
            durable_lsn: AtomicU64::new(next_lsn - 1),
            durable_signal: (Mutex::new(()), Condvar::new()),
            poison: Mutex::new(None),
            holds: Mutex::new(BTreeMap::new()),
            next_hold: AtomicU64::new(1),
            fsyncs: AtomicU64::new(0),
            synced_records: AtomicU64::new(0),
            synced_bytes: AtomicU64::new(0),
            fsync_nanos: AtomicU64::new(0),
            fsync_buckets: Default::default(),
        };
        Ok((Log { shared: Arc::new(shared) }, report))
    }

    /// Creates an empty log in `dir` whose first record will be `first` (a replica that
    /// starts from a copy of its leader's data at `first - 1`). Fails if `dir` has segments.
    pub fn create_at(dir: &Path, first: Lsn, options: LogOptions) -> Result<Log> {
        let fs = StdFs;
        fs.create_dir_all(dir).map_err(|e| io_err("could not create log directory", dir, &e))?;
        let names = fs.list(dir).map_err(|e| io_err("could not list log directory", dir, &e))?;
        if names.iter().any(|n| n.ends_with(SEGMENT_SUFFIX)) {
            return Err(errinput!(OBJECT_IN_USE, "log directory {} is not empty", dir.display()));
        }
        let path = segment_path(dir, first.max(1));
        fs.open_append(&path, true).map_err(|e| io_err("could not create", &path, &e))?;
        fs.sync_dir(dir).map_err(|e| io_err("could not sync", dir, &e))?;
        Ok(Self::open(dir, options)?.0)
    }

    /// Frames a record in memory and assigns its LSN; it is durable only after [`Log::sync`].
    pub fn append(&self, payload: &[u8]) -> Result<Lsn> {
        self.check_payload(payload)?;
        let mut pending = self.shared.pending.lock();
        let lsn = pending.next_lsn;
        pending.next_lsn += 1;
        encode_frame(pending.shared_buffer(), lsn, payload);
        Ok(lsn)
    }

    /// [`Log::append`] for a payload the caller is done with: a large one is written from
    /// this buffer, not copied.
    pub fn append_owned(&self, payload: Vec<u8>) -> Result<Lsn> {
        if payload.len() < OWNED_PAYLOAD {
            return self.append(&payload);
        }
        self.check_payload(&payload)?;
        let mut pending = self.shared.pending.lock();
        let lsn = pending.next_lsn;
        pending.next_lsn += 1;
        pending.shared_buffer().extend_from_slice(&frame_header(lsn, &payload));
        pending.chunks.push(payload);
        pending.open = false;
        Ok(lsn)
    }

    fn check_payload(&self, payload: &[u8]) -> Result<()> {
        self.check_poison()?;
        if payload.len() > MAX_PAYLOAD {
            return Err(errinput!(
                PROGRAM_LIMIT_EXCEEDED,
                "log record of {} bytes exceeds the maximum of {MAX_PAYLOAD} bytes",
                payload.len()
            )
            .with_hint("split the transaction into smaller ones"));
        }
        Ok(())
    }

    /// Makes every record up to `lsn` durable, sharing one fsync with concurrent callers.
    /// Returns the durable LSN, which may be beyond `lsn`.
    pub fn sync(&self, lsn: Lsn) -> Result<Lsn> {
        let durable = self.durable_lsn();
        if durable >= lsn {
            return Ok(durable);
        }
        let mut writer = self.shared.writer.lock();
        self.check_poison()?;
        if self.durable_lsn() >= lsn {
            return Ok(self.durable_lsn());
        }
        let (chunks, last) = {
            let mut pending = self.shared.pending.lock();
            pending.open = false;
            (std::mem::take(&mut pending.chunks), pending.next_lsn - 1)
        };
        if chunks.is_empty() {
            return Ok(self.durable_lsn());
        }
        let first = self.durable_lsn() + 1;
        if writer.len >= self.shared.options.segment_size {
            self.rotate(&mut writer, first)?;
        }
        self.write_and_sync(&mut writer, &chunks)?;
        self.shared.synced_records.fetch_add(last + 1 - first, Ordering::Relaxed);
        self.shared.durable_lsn.store(last, Ordering::Release);
        let _guard = self.shared.durable_signal.0.lock();
        self.shared.durable_signal.1.notify_all();
        Ok(last)
    }

    /// Appends a record and waits until it is durable.
    pub fn append_sync(&self, payload: &[u8]) -> Result<Lsn> {
        let lsn = self.append(payload)?;
        self.sync(lsn)?;
        Ok(lsn)
    }

    /// Makes everything appended so far durable (used at shutdown).
    pub fn sync_all(&self) -> Result<Lsn> {
        let last = self.shared.pending.lock().next_lsn - 1;
        self.sync(last)
    }

    fn write_and_sync(&self, writer: &mut Writer, chunks: &[Vec<u8>]) -> Result<()> {
        for buf in chunks {
            if let Err(e) = writer.file.append(buf) {
                let path = writer.path.display();
                return Err(self.poison(&format!("write to {path} failed: {e}")));
            }
            writer.len += buf.len() as u64;
            self.shared.synced_bytes.fetch_add(buf.len() as u64, Ordering::Relaxed);
        }
        if self.shared.options.fsync {
            let start = Instant::now();
            if let Err(e) = writer.file.sync() {
                return Err(self.poison(&format!("fsync of {} failed: {e}", writer.path.display())));
            }
            let elapsed = start.elapsed();
            self.shared.fsync_nanos.fetch_add(elapsed.as_nanos() as u64, Ordering::Relaxed);
            self.shared.fsyncs.fetch_add(1, Ordering::Relaxed);
            let seconds = elapsed.as_secs_f64();
            if let Some(i) = FSYNC_BUCKETS.iter().position(|b| seconds <= *b) {
                self.shared.fsync_buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        Ok(())
    }

    fn rotate(&self, writer: &mut Writer, first: Lsn) -> Result<()> {
        let fs = &self.shared.fs;
        let path = segment_path(&self.shared.dir, first);
        let file = fs
            .open_append(&path, true)
            .map_err(|e| self.poison(&format!("could not create {}: {e}", path.display())))?;
        // IMPORTANT: the new file must be durably linked into the directory before any
        // record in it is acknowledged.
        fs.sync_dir(&self.shared.dir).map_err(|e| {
            self.poison(&format!("fsync of directory {} failed: {e}", self.shared.dir.display()))
        })?;
        self.shared.segments.lock().insert(first, path.clone());
        *writer = Writer { file, path, len: 0 };
        Ok(())
    }

    fn poison(&self, what: &str) -> Error {
        let message = format!(
            "the write-ahead log refuses writes after a failure: {what}; \
             restart the server to recover from the log on disk"
        );
        self.shared.poison.lock().get_or_insert(message.clone());
        Error::new(ErrorKind::ReadOnly, SqlState::IO_ERROR, message)
    }

    fn check_poison(&self) -> Result<()> {
        match &*self.shared.poison.lock() {
            Some(message) => {
                Err(Error::new(ErrorKind::ReadOnly, SqlState::IO_ERROR, message.clone()))
            }
            None => Ok(()),
        }
    }

    /// True once a write or fsync has failed.
    pub fn is_poisoned(&self) -> bool {
        self.shared.poison.lock().is_some()
    }

    /// Every record up to this LSN is durable.
    pub fn durable_lsn(&self) -> Lsn {
        self.shared.durable_lsn.load(Ordering::Acquire)
    }

    /// The oldest LSN still retained on disk.
    pub fn first_lsn(&self) -> Lsn {
        self.shared.segments.lock().keys().next().copied().unwrap_or(1)
    }

    /// The log's directory.
    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }

    /// Activity counters.
    pub fn stats(&self) -> LogStats {
        let s = &self.shared;
        LogStats {
            first_lsn: self.first_lsn(),
            next_lsn: s.pending.lock().next_lsn,
            durable_lsn: self.durable_lsn(),
            segments: s.segments.lock().len(),
            fsyncs: s.fsyncs.load(Ordering::Relaxed),
            synced_records: s.synced_records.load(Ordering::Relaxed),
            synced_bytes: s.synced_bytes.load(Ordering::Relaxed),
            fsync_time: Duration::from_nanos(s.fsync_nanos.load(Ordering::Relaxed)),
            fsync_histogram: FSYNC_BUCKETS
                .iter()
                .zip(&s.fsync_buckets)
                .map(|(b, c)| (*b, c.load(Ordering::Relaxed)))
                .collect(),
        }
    }

    /// Removes segments whose records all lie below `lsn` and below every retention hold
    /// (replication subscribers). The active segment is never removed. Returns how many
    /// segments were removed.
    pub fn truncate_below(&self, lsn: Lsn) -> Result<usize> {
        let hold = self.shared.holds.lock().values().min().copied().unwrap_or(Lsn::MAX);
        let cutoff = lsn.min(hold);
        let mut segments = self.shared.segments.lock();
        let firsts: Vec<Lsn> = segments.keys().copied().collect();
        let mut removed = 0;
        for pair in firsts.windows(2) {
            // The segment starting at pair[0] holds records pair[0] .. pair[1] - 1.
            if pair[1] > cutoff {
                break;
            }
            if let Some(path) = segments.remove(&pair[0]) {
                self.shared.fs.remove(&path).map_err(|e| io_err("could not remove", &path, &e))?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Holds back truncation of records at and above `lsn` until the returned handle is
    /// dropped or advanced.
    pub fn hold(&self, lsn: Lsn) -> RetentionHold {
        let id = self.shared.next_hold.fetch_add(1, Ordering::Relaxed);
        self.shared.holds.lock().insert(id, lsn);
        RetentionHold { log: self.clone(), id }
    }

    /// Reads the durable records from `lsn` up to the durable LSN at the time of the call.
    pub fn read_from(&self, lsn: Lsn) -> Result<LogReader> {
        LogReader::new(self.clone(), lsn, Some(self.durable_lsn()))
    }

    /// Waits until the durable LSN reaches `lsn` or the timeout passes; true if it did.
    pub fn wait_durable(&self, lsn: Lsn, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let (lock, signal) = &self.shared.durable_signal;
        let mut guard = lock.lock();
        while self.durable_lsn() < lsn {
            if signal.wait_until(&mut guard, deadline).timed_out() {
                return self.durable_lsn() >= lsn;
            }
        }
        true
    }

    fn segment_for(&self, lsn: Lsn) -> Option<(Lsn, PathBuf, Option<Lsn>)> {
        let segments = self.shared.segments.lock();
        let (first, path) = segments.range(..=lsn).next_back()?;
        let next = segments.range(first + 1..).next().map(|(k, _)| *k);
        Some((*first, path.clone(), next))
    }
}

/// Keeps the log from truncating records at and above an LSN (a replication subscriber).
pub struct RetentionHold {
    log: Log,
    id: u64,
}

impl RetentionHold {
    /// Moves the hold forward: records below `lsn` may now be truncated.
    pub fn advance(&self, lsn: Lsn) {
        if let Some(held) = self.log.shared.holds.lock().get_mut(&self.id) {
            *held = (*held).max(lsn);
        }
    }
}

impl Drop for RetentionHold {
    fn drop(&mut self) {
        self.log.shared.holds.lock().remove(&self.id);
    }
}

/// Reads records in LSN order from the segment files.
pub struct LogReader {
    log: Log,
    next_lsn: Lsn,
    /// Stop after this LSN; `None` follows the durable LSN as it advances.
    until: Option<Lsn>,
    /// The segment being read: its path, the next segment's first LSN, bytes and position.
    segment: Option<(PathBuf, Option<Lsn>)>,
    buf: Vec<u8>,
    pos: usize,
    file_offset: u64,
    /// Zeros were found where the next record belongs and the file was read again.
    reread_zeros: bool,
}

impl LogReader {
    pub(crate) fn new(log: Log, lsn: Lsn, until: Option<Lsn>) -> Result<Self> {
        let first = log.first_lsn();
        if lsn < first {
            return Err(errinput!(
                OBJECT_NOT_IN_PREREQUISITE_STATE,
                "log position {lsn} is no longer retained (the oldest retained is {first})"
            )
            .with_hint("a replica this far behind must take a new snapshot"));
        }
        Ok(Self {
            log,
            next_lsn: lsn,
            until,
            segment: None,
            buf: Vec::new(),
            pos: 0,
            file_offset: 0,
            reread_zeros: false,
        })
    }

    /// The LSN of the next record this reader returns.
    pub fn next_lsn(&self) -> Lsn {
        self.next_lsn
    }

    /// Reads the next durable record, or `None` if there is none (yet).
    pub fn try_next(&mut self) -> Result<Option<Record>> {
        let limit = self.until.unwrap_or(Lsn::MAX).min(self.log.durable_lsn());
        if self.next_lsn > limit {
            return Ok(None);
        }
        loop {
            if self.segment.is_none() {
                self.open_segment()?;
            }
            match parse_frame(&self.buf, self.pos) {
                Frame::Valid(record, end) => {
                    self.pos = end;
                    self.reread_zeros = false;
                    if record.lsn < self.next_lsn {
                        continue; // skipping forward to the requested LSN
                    }
                    if record.lsn != self.next_lsn {
                        return Err(self.corrupt(&format!(
                            "expected LSN {} but found {}",
                            self.next_lsn, record.lsn
                        )));
                    }
                    self.next_lsn += 1;
                    return Ok(Some(record));
                }
                Frame::Corrupt => return Err(self.corrupt("checksum mismatch")),
                Frame::Incomplete => {
                    if !self.refill()? {
                        return Err(self.corrupt("durable record missing from the file"));
                    }
                }
                Frame::End => {
                    // Zeros past the written end, possibly read before the record was
                    // written: read this part of the file again, then look in the next
                    // segment.
                    self.buf.truncate(self.pos);
                    if !self.reread_zeros {
                        self.reread_zeros = true;
                        if !self.refill()? {
                            return Err(self.corrupt("durable record missing from the file"));
                        }
                        continue;
                    }
                    self.reread_zeros = false;
                    match self.log.segment_for(self.next_lsn) {
                        Some((_, path, _))
                            if self
                                .segment
                                .as_ref()
                                .is_some_and(|(current, _)| *current != path) =>
                        {
                            self.open_segment()?;
                        }
                        _ => return Err(self.corrupt("durable record missing from the file")),
                    }
                }
            }
        }
    }

    fn open_segment(&mut self) -> Result<()> {
        let Some((_, path, next)) = self.log.segment_for(self.next_lsn) else {
            return Err(errdata!("no log segment holds LSN {}", self.next_lsn));
        };
        self.segment = Some((path, next));
        (self.buf, self.pos, self.file_offset) = (Vec::new(), 0, 0);
        Ok(())
    }

    /// Loads more bytes of the segment, or moves to the next segment at its end. Returns
    /// false when there is nothing more to read.
    fn refill(&mut self) -> Result<bool> {
        let Some((path, next)) = self.segment.clone() else { return Ok(false) };
        self.file_offset += self.pos as u64;
        self.buf.drain(..self.pos);
        self.pos = 0;
        let offset = self.file_offset + self.buf.len() as u64;
        let len = self.log.shared.fs.len(&path).map_err(|e| io_err("could not stat", &path, &e))?;
        if len > offset {
            let more = self
                .log
                .shared
                .fs
                .read_at(&path, offset, (len - offset) as usize)
                .map_err(|e| io_err("could not read", &path, &e))?;
            self.buf.extend_from_slice(&more);
            return Ok(true);
        }
        match next {
            Some(next) if next == self.next_lsn && self.buf.is_empty() => {
                self.open_segment()?;
                Ok(true)
            }
            Some(_) => Err(self.corrupt("segment ends before the next segment's first LSN")),
            None => {
                // This was the active segment when opened, but the log may have rotated since:
                // if another segment now holds the next LSN, move on to it.
                match self.log.segment_for(self.next_lsn) {
                    Some((_, current, _)) if current != path && self.buf.is_empty() => {
                        self.open_segment()?;
                        Ok(true)
                    }
                    _ => Ok(false),
                }
            }
        }
    }

    fn corrupt(&self, what: &str) -> Error {
        let file = self.segment.as_ref().map_or_else(String::new, |(p, _)| p.display().to_string());
        errdata!("log corrupt in {file} at offset {}: {what}", self.file_offset + self.pos as u64)
    }
}

impl Iterator for LogReader {
    type Item = Result<Record>;

    fn next(&mut self) -> Option<Self::Item> {
        self.try_next().transpose()
    }
}

/// Lists, validates and repairs the segments in `dir`: returns them by first LSN, the next
/// LSN to assign, and what was found.
fn recover(fs: &dyn Fs, dir: &Path) -> Result<(BTreeMap<Lsn, PathBuf>, Lsn, RecoveryReport)> {
    let names = fs.list(dir).map_err(|e| io_err("could not list log directory", dir, &e))?;
    let mut segments = BTreeMap::new();
    for name in names {
        let Some(stem) = name.strip_suffix(SEGMENT_SUFFIX) else { continue };
        let first: Lsn = stem
            .parse()
            .map_err(|_| errdata!("unexpected file {name} in log directory {}", dir.display()))?;
        if first == 0 {
            return Err(errdata!("invalid log segment name {name} in {}", dir.display()));
        }
        segments.insert(first, dir.join(name));
    }
    let mut report = RecoveryReport { segments: segments.len(), ..Default::default() };
    let mut expected: Option<Lsn> = None;
    let count = segments.len();
    for (i, (first, path)) in segments.iter().enumerate() {
        if let Some(e) = expected
            && e != *first
        {
            return Err(errdata!(
                "log segment {} starts at LSN {first} but the previous segment ends at LSN {}: records are missing",
                path.display(),
                e - 1
            ));
        }
        let next = scan_segment(fs, path, *first, i + 1 == count, &mut report)?;
        expected = Some(next);
    }
    Ok((segments, expected.unwrap_or(1), report))
}

/// Validates one segment; returns the LSN after its last record. In the last segment a torn
/// tail is cut off and recorded in the report.
fn scan_segment(
    fs: &dyn Fs,
    path: &Path,
    first: Lsn,
    last: bool,
    report: &mut RecoveryReport,
) -> Result<Lsn> {
    let len = fs.len(path).map_err(|e| io_err("could not stat", path, &e))?;
    let buf = fs.read_at(path, 0, len as usize).map_err(|e| io_err("could not read", path, &e))?;
    let (mut offset, mut lsn) = (0usize, first);
    while offset < buf.len() {
        match parse_frame(&buf, offset) {
            Frame::Valid(record, end) => {
                if record.lsn != lsn {
                    return Err(errdata!(
                        "log corrupt in {} at offset {offset}: expected LSN {lsn} but found {}",
                        path.display(),
                        record.lsn
                    ));
                }
                (offset, lsn) = (end, lsn + 1);
                report.records += 1;
            }
            Frame::End if buf[offset..].iter().all(|&b| b == 0) => {
                // The zero-filled rest of a preallocated segment: its records end here. The
                // active segment is cut there, so that appends go on from its end.
                if last {
                    fs.truncate(path, offset as u64)
                        .map_err(|e| io_err("could not truncate the zeros of", path, &e))?;
                }
                break;
            }
            damage => {
                let what =
                    if damage == Frame::Corrupt { "checksum mismatch" } else { "truncated record" };
                // Valid records after the damage mean corruption, unless a sector of zeros
                // shows a flush torn out of order (`holds_lost_sector`): none of its records
                // was acknowledged, since an fdatasync that returned made every earlier byte
                // of the file durable too, so it is cut like any torn tail.
                let follows = find_valid_frame_after(&buf, offset + 1, lsn - 1);
                let torn_flush = follows.is_some_and(|next| holds_lost_sector(&buf, offset, next));
                if !last || (follows.is_some() && !torn_flush) {
                    return Err(errdata!(
                        "log corrupt in {} at offset {offset} (LSN {lsn}): {what}, and valid records follow",
                        path.display()
                    )
                    .with_hint("the log is damaged in the middle; restore from a backup or replica"));
                }
                fs.truncate(path, offset as u64)
                    .map_err(|e| io_err("could not truncate torn tail of", path, &e))?;
                report.torn_bytes = (buf.len() - offset) as u64;
                report.torn_at = Some((path.to_path_buf(), offset as u64));
                break;
            }
        }
    }
    Ok(lsn)
}
