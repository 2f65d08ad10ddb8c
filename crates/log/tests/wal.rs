//! Write-ahead log behaviour: recovery, torn tails, corruption, poisoning, group commit,
//! truncation and replication streams. Most cases run on the simulated file system, which
//! can crash (dropping unsynced bytes) and fail fsync on demand.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use oxibase_common::{ErrorKind, SqlState};
use oxibase_log::{Log, LogOptions, ReplicationStream, SimFs};

const DIR: &str = "/wal";

fn open(fs: &SimFs) -> Log {
    open_with(fs, LogOptions::default())
}

fn open_with(fs: &SimFs, options: LogOptions) -> Log {
    Log::open_with(Arc::new(fs.clone()), Path::new(DIR), options).unwrap().0
}

fn payload(i: u64) -> Vec<u8> {
    format!("record {i} ").repeat((i % 5 + 1) as usize).into_bytes()
}

fn read_all(log: &Log) -> Vec<(u64, Vec<u8>)> {
    log.read_from(log.first_lsn())
        .unwrap()
        .map(|r| r.map(|r| (r.lsn, r.payload)).unwrap())
        .collect()
}

fn segment(first: u64) -> PathBuf {
    Path::new(DIR).join(format!("{first:020}.wal"))
}

#[test]
fn records_survive_reopen_with_contiguous_lsns() {
    let fs = SimFs::new();
    let log = open(&fs);
    for i in 1..=100 {
        assert_eq!(log.append_sync(&payload(i)).unwrap(), i);
    }
    drop(log);
    fs.crash(0);
    let log = open(&fs);
    let records = read_all(&log);
    assert_eq!(records.len(), 100);
    for (i, (lsn, data)) in records.into_iter().enumerate() {
        assert_eq!((lsn, data), (i as u64 + 1, payload(i as u64 + 1)));
    }
    assert_eq!(log.append(b"next").unwrap(), 101);
}

#[test]
fn large_records_handed_over_whole_are_framed_between_small_ones() {
    // A large payload passed with append_owned is written from the caller's buffer, the
    // small frames around it from the shared one; one sync writes them all, in LSN order.
    let large = |i: u64| vec![i as u8; (300 << 10) + i as usize];
    let fs = SimFs::new();
    let log = open(&fs);
    let mut expected = Vec::new();
    for i in 1..=12 {
        let data = if i % 3 == 0 { large(i) } else { payload(i) };
        let lsn = if i % 2 == 0 { log.append_owned(data.clone()) } else { log.append(&data) };
        assert_eq!(lsn.unwrap(), i);
        expected.push((i, data));
    }
    assert_eq!(log.sync(12).unwrap(), 12);
    log.append_owned(large(13)).unwrap(); // never synced: lost with the crash
    drop(log);
    fs.crash(0);
    let log = open(&fs);
    assert_eq!(read_all(&log), expected);
    assert_eq!(log.append_owned(large(13)).unwrap(), 13);
}

#[test]
fn unsynced_records_are_lost_but_synced_ones_are_not() {
    let fs = SimFs::new();
    let log = open(&fs);
    for i in 1..=10 {
        log.append_sync(&payload(i)).unwrap();
    }
    for i in 11..=15 {
        log.append(&payload(i)).unwrap(); // never synced: never acknowledged
    }
    drop(log);
    fs.crash(0);
    let log = open(&fs);
    assert_eq!(read_all(&log).len(), 10);
    assert_eq!(log.append(b"x").unwrap(), 11, "LSNs continue after the last durable record");
}

#[test]
fn torn_tail_is_cut_at_every_possible_length() {
    // Write 5 acknowledged records, then an unacknowledged group of 3 that the crash tears
    // after `torn` bytes. Whatever the cut, recovery keeps exactly the acknowledged records
    // plus any complete ones of the torn group, and the log accepts new appends.
    let group_len = {
        let fs = SimFs::new();
        let log = open(&fs);
        let before = log.stats().synced_bytes;
        for i in 6..=8 {
            log.append(&payload(i)).unwrap();
        }
        log.sync_all().unwrap();
        (log.stats().synced_bytes - before) as usize
    };
    for torn in 0..=group_len {
        let fs = SimFs::new();
        let log = open(&fs);
        for i in 1..=5 {
            log.append_sync(&payload(i)).unwrap();
        }
        fs.fail_sync_after(0); // the group's write reaches the file, its fsync fails
        for i in 6..=8 {
            log.append(&payload(i)).unwrap();
        }
        assert!(log.sync_all().is_err());
        drop(log);
        fs.crash(torn);
        let (log, report) =
            Log::open_with(Arc::new(fs.clone()), Path::new(DIR), LogOptions::default()).unwrap();
        let records = read_all(&log);
        assert!(records.len() >= 5, "torn={torn}: acknowledged records lost");
        for (lsn, data) in &records {
            assert_eq!(data, &payload(*lsn), "torn={torn}: record {lsn} damaged");
        }
        // Whatever of the torn group was not a whole record must have been cut off.
        let kept: usize = records[5..].iter().map(|(_, data)| 16 + data.len()).sum();
        assert_eq!(report.torn_bytes as usize, torn - kept, "torn={torn}: {report:?}");
        assert_eq!(report.torn_at.is_some(), torn > kept, "torn={torn}: {report:?}");
        let next = log.append_sync(b"after").unwrap();
        assert_eq!(next, records.len() as u64 + 1);
    }
}

#[test]
fn a_flush_torn_out_of_order_is_cut_but_damage_without_a_lost_sector_is_refused() {
    // Power lost during a flush whose sectors reached the disk out of order: one sector in
    // the middle of its records never arrived (zeros), the records after it did. None of them
    // was acknowledged; recovery cuts the flush at its first damaged record and goes on.
    let setup = || {
        let fs = SimFs::new();
        let log = open(&fs);
        for i in 1..=5 {
            log.append_sync(&payload(i)).unwrap();
        }
        let start = log.stats().synced_bytes as usize;
        fs.fail_sync_after(0); // the group's write reaches the file, its fsync fails
        log.append(&vec![7u8; 3000]).unwrap(); // record 6 spans sectors
        for i in 7..=9 {
            log.append(&payload(i)).unwrap();
        }
        assert!(log.sync_all().is_err(), "never acknowledged");
        drop(log);
        (fs, start)
    };
    let (fs, start) = setup();
    let sector = (start / 512 + 2) * 512; // inside record 6's payload
    fs.crash_losing(&segment(1), sector..sector + 512);
    let (log, report) =
        Log::open_with(Arc::new(fs.clone()), Path::new(DIR), LogOptions::default()).unwrap();
    let records = read_all(&log);
    assert_eq!(records, (1..=5).map(|i| (i, payload(i))).collect::<Vec<_>>());
    assert_eq!(report.torn_at, Some((segment(1), start as u64)), "{report:?}");
    assert_eq!(log.append_sync(b"after").unwrap(), 6);
    drop(log);
    let log = open(&fs);
    assert_eq!(read_all(&log).len(), 6, "the cut log reopens whole");

    // The same records with garbage instead of zeros in that sector: data damaged after it
    // was written, with records after it, is refused as corruption.
    let (fs, start) = setup();
    fs.crash(usize::MAX);
    fs.corrupt(&segment(1), sector, &[0xab; 512]);
    let err =
        Log::open_with(Arc::new(fs.clone()), Path::new(DIR), LogOptions::default()).err().unwrap();
    assert_eq!(err.code(), SqlState::DATA_CORRUPTED, "{}", err.message());
    assert!(err.message().contains(&format!("offset {start}")), "{}", err.message());
}

#[test]
fn zeros_after_the_last_record_end_the_log_and_garbage_is_a_torn_tail() {
    // Segments are preallocated with zeros (as PostgreSQL zero-fills its WAL): zeros after
    // the last record are where the next one goes, not damage. Other bytes there are a torn
    // write.
    let fs = SimFs::new();
    let log = open(&fs);
    for i in 1..=3 {
        log.append_sync(&payload(i)).unwrap();
    }
    drop(log);
    fs.append_durably(&segment(1), &[0u8; 4096]);
    let (log, report) =
        Log::open_with(Arc::new(fs.clone()), Path::new(DIR), LogOptions::default()).unwrap();
    assert_eq!(read_all(&log).len(), 3);
    assert_eq!((report.torn_bytes, report.torn_at), (0, None));
    assert_eq!(log.append_sync(&payload(4)).unwrap(), 4);
    drop(log);
    fs.append_durably(&segment(1), &[7u8; 100]);
    let (log, report) =
        Log::open_with(Arc::new(fs.clone()), Path::new(DIR), LogOptions::default()).unwrap();
    assert_eq!(read_all(&log).len(), 4);
    assert_eq!(report.torn_bytes, 100);
}

#[test]
fn preallocated_segments_on_a_real_disk_read_back_across_reopen_and_rotation() {
    // The real file layer writes into zero-filled space; reading, recovery and rotation see
    // exactly the records written, and a reader that saw the zeros before a record was
    // written reads it afterwards.
    let dir = tempfile::tempdir().unwrap();
    let options = LogOptions { segment_size: 64 << 10, fsync: true };
    let (log, _) = Log::open(dir.path(), options.clone()).unwrap();
    let mut stream = ReplicationStream::new(&log, 1).unwrap();
    for i in 1..=50 {
        log.append_sync(&payload(i)).unwrap();
        let record = stream.next_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(record.map(|r| r.lsn), Some(i));
    }
    drop(stream);
    drop(log);
    let (log, report) = Log::open(dir.path(), options.clone()).unwrap();
    assert_eq!((report.torn_bytes, report.records), (0, 50));
    for i in 51..=3000 {
        log.append_sync(&payload(i)).unwrap();
    }
    assert!(log.stats().segments > 2, "the log rotated");
    let records = read_all(&log);
    assert_eq!(records.len(), 3000);
    assert!(
        records
            .iter()
            .enumerate()
            .all(|(i, (lsn, data))| *lsn == i as u64 + 1 && *data == payload(*lsn))
    );
    drop(log);
    let (log, report) = Log::open(dir.path(), options).unwrap();
    assert_eq!((report.torn_bytes, report.records), (0, 3000));
    assert_eq!(read_all(&log).len(), 3000);
}

#[test]
fn corruption_in_the_middle_is_refused_with_file_and_offset() {
    let fs = SimFs::new();
    let log = open(&fs);
    for i in 1..=10 {
        log.append_sync(&payload(i)).unwrap();
    }
    drop(log);
    let offset = 16 + payload(1).len() + 20; // inside record 2's payload
    fs.corrupt(&segment(1), offset, b"\xde\xad");
    let err =
        Log::open_with(Arc::new(fs.clone()), Path::new(DIR), LogOptions::default()).err().unwrap();
    assert_eq!(err.kind(), ErrorKind::InvalidData);
    assert_eq!(err.code(), SqlState::DATA_CORRUPTED);
    let record_start = 16 + payload(1).len();
    let message = err.message();
    assert!(message.contains(&segment(1).display().to_string()), "{message}");
    assert!(message.contains(&format!("offset {record_start}")), "{message}");
    assert!(message.contains("LSN 2"), "{message}");
}

#[test]
fn corruption_in_an_older_segment_is_refused() {
    let fs = SimFs::new();
    let log = open_with(&fs, LogOptions { segment_size: 200, fsync: true });
    for i in 1..=30 {
        log.append_sync(&payload(i)).unwrap();
    }
    assert!(log.stats().segments > 3);
    drop(log);
    // Damage the last byte of the first segment: its last record is torn-looking, but the
    // segment is not the last one, so this can only be corruption.
    let len = oxibase_log::Fs::len(&fs, &segment(1)).unwrap() as usize;
    fs.corrupt(&segment(1), len - 1, b"\xff");
    let err =
        Log::open_with(Arc::new(fs.clone()), Path::new(DIR), LogOptions::default()).err().unwrap();
    assert_eq!(err.code(), SqlState::DATA_CORRUPTED);
    assert!(err.message().contains(&segment(1).display().to_string()), "{}", err.message());
}

#[test]
fn a_missing_segment_is_refused() {
    let fs = SimFs::new();
    let log = open_with(&fs, LogOptions { segment_size: 200, fsync: true });
    for i in 1..=30 {
        log.append_sync(&payload(i)).unwrap();
    }
    drop(log);
    let names = oxibase_log::Fs::list(&fs, Path::new(DIR)).unwrap();
    let mut names: Vec<_> = names.into_iter().collect();
    names.sort();
    oxibase_log::Fs::remove(&fs, &Path::new(DIR).join(&names[1])).unwrap();
    let err =
        Log::open_with(Arc::new(fs.clone()), Path::new(DIR), LogOptions::default()).err().unwrap();
    assert!(err.message().contains("records are missing"), "{}", err.message());
}

#[test]
fn failed_fsync_poisons_writes_but_reads_continue() {
    let fs = SimFs::new();
    let log = open(&fs);
    for i in 1..=5 {
        log.append_sync(&payload(i)).unwrap();
    }
    fs.fail_sync_after(0);
    let err = log.append_sync(b"doomed").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ReadOnly);
    assert_eq!(err.code(), SqlState::IO_ERROR);
    assert!(err.message().contains("fsync"), "{}", err.message());
    assert!(log.is_poisoned());
    fs.heal();
    // Even with a healthy disk again, the log stays poisoned: the page cache state is unknown.
    let err = log.append(b"refused").unwrap_err();
    assert!(err.message().contains("refuses writes"), "{}", err.message());
    assert_eq!(read_all(&log).len(), 5, "reads go on");
    drop(log);
    fs.crash(0);
    let log = open(&fs);
    assert_eq!(read_all(&log).len(), 5);
    log.append_sync(b"recovered").unwrap();
}

#[test]
fn group_commit_shares_fsyncs_between_concurrent_writers() {
    let dir = tempfile::tempdir().unwrap();
    let (log, _) = Log::open(dir.path(), LogOptions::default()).unwrap();
    let threads = 16;
    let per_thread = 50;
    std::thread::scope(|s| {
        for t in 0..threads {
            let log = log.clone();
            s.spawn(move || {
                for i in 0..per_thread {
                    log.append_sync(format!("{t}:{i}").as_bytes()).unwrap();
                }
            });
        }
    });
    let stats = log.stats();
    assert_eq!(stats.synced_records, threads * per_thread);
    assert!(
        stats.fsyncs < stats.synced_records,
        "{} fsyncs for {} records: no sharing",
        stats.fsyncs,
        stats.synced_records
    );
    assert_eq!(read_all(&log).len() as u64, threads * per_thread);
}

#[test]
fn truncation_removes_whole_segments_below_the_cutoff_and_respects_holds() {
    let fs = SimFs::new();
    let log = open_with(&fs, LogOptions { segment_size: 300, fsync: true });
    for i in 1..=60 {
        log.append_sync(&payload(i)).unwrap();
    }
    let segments = log.stats().segments;
    assert!(segments > 5);
    let hold = log.hold(20);
    log.truncate_below(50).unwrap();
    let first = log.first_lsn();
    assert!(first <= 20, "hold at 20 ignored: first retained is {first}");
    drop(hold);
    log.truncate_below(50).unwrap();
    let first = log.first_lsn();
    assert!(first > 20 && first <= 50, "first retained {first}");
    let records = read_all(&log);
    assert_eq!(records.first().unwrap().0, first);
    assert_eq!(records.last().unwrap().0, 60);
    let err = log.read_from(1).err().unwrap();
    assert!(err.message().contains("no longer retained"), "{}", err.message());
    log.truncate_below(u64::MAX).unwrap();
    assert!(log.stats().segments >= 1, "the active segment is never removed");
    drop(log);
    fs.crash(0);
    let log = open(&fs);
    assert_eq!(read_all(&log).last().unwrap().0, 60);
}

#[test]
fn replication_stream_reads_history_then_follows_the_tail() {
    let fs = SimFs::new();
    let log = open_with(&fs, LogOptions { segment_size: 256, fsync: true });
    for i in 1..=10 {
        log.append_sync(&payload(i)).unwrap();
    }
    let mut stream = ReplicationStream::new(&log, 4).unwrap();
    let writer = {
        let log = log.clone();
        std::thread::spawn(move || {
            for i in 11..=40 {
                log.append_sync(&payload(i)).unwrap();
                if i % 7 == 0 {
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
        })
    };
    let mut seen = Vec::new();
    while seen.len() < 37 {
        let record = stream.next_timeout(Duration::from_secs(10)).unwrap().expect("stream stalled");
        assert_eq!(record.payload, payload(record.lsn));
        seen.push(record.lsn);
        stream.ack(record.lsn);
    }
    writer.join().unwrap();
    assert_eq!(seen, (4..=40).collect::<Vec<_>>());
    assert!(
        stream.next_timeout(Duration::from_millis(20)).unwrap().is_none(),
        "nothing beyond the tail"
    );
    // Unsynced records are never streamed.
    log.append(b"not yet durable").unwrap();
    assert!(stream.next_timeout(Duration::from_millis(20)).unwrap().is_none());
    log.sync_all().unwrap();
    assert_eq!(stream.next_timeout(Duration::from_secs(1)).unwrap().unwrap().lsn, 41);
}

#[test]
fn stream_holds_back_truncation_until_acknowledged() {
    let fs = SimFs::new();
    let log = open_with(&fs, LogOptions { segment_size: 200, fsync: true });
    for i in 1..=40 {
        log.append_sync(&payload(i)).unwrap();
    }
    let mut stream = ReplicationStream::new(&log, 1).unwrap();
    log.truncate_below(35).unwrap();
    assert_eq!(log.first_lsn(), 1, "an unacknowledged stream keeps everything");
    for _ in 0..30 {
        let r = stream.next_timeout(Duration::from_secs(1)).unwrap().unwrap();
        stream.ack(r.lsn);
    }
    log.truncate_below(35).unwrap();
    assert!(log.first_lsn() > 1 && log.first_lsn() <= 31, "first {}", log.first_lsn());
    assert_eq!(stream.next_timeout(Duration::from_secs(1)).unwrap().unwrap().lsn, 31);
}
