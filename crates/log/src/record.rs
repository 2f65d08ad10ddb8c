//! Log records and their on-disk framing.
//!
//! Each record is framed as a 16-byte header and its payload:
//!
//! ```text
//!   0        4        8                16
//!   +--------+--------+----------------+------------------+
//!   | length |  crc   |      lsn       | payload (length) |
//!   +--------+--------+----------------+------------------+
//!     u32 LE   u32 LE      u64 LE
//! ```
//!
//! The CRC (CRC-32C) covers the length, the LSN and the payload, so a damaged length is caught
//! as surely as damaged data. LSNs number records 1, 2, 3, ... with no gaps, so a missing or
//! repeated record is caught too.

/// A log sequence number: the position of a record in the log, starting at 1.
pub type Lsn = u64;

/// The size of a record header in bytes.
pub const HEADER_SIZE: usize = 16;

/// The largest payload a record may carry.
pub const MAX_PAYLOAD: usize = (u32::MAX as usize) - HEADER_SIZE;

/// A record read back from the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The record's log sequence number.
    pub lsn: Lsn,
    /// What the log's user wrote; the log does not interpret it.
    pub payload: Vec<u8>,
}

/// Appends the framed record to `out`.
pub fn encode_frame(out: &mut Vec<u8>, lsn: Lsn, payload: &[u8]) {
    out.extend_from_slice(&frame_header(lsn, payload));
    out.extend_from_slice(payload);
}

/// The header that frames `payload` as record `lsn`.
pub fn frame_header(lsn: Lsn, payload: &[u8]) -> [u8; HEADER_SIZE] {
    let len = (payload.len() as u32).to_le_bytes();
    let lsn = lsn.to_le_bytes();
    let crc = crc32c::crc32c_append(crc32c::crc32c_append(crc32c::crc32c(&len), &lsn), payload);
    let mut header = [0u8; HEADER_SIZE];
    header[..4].copy_from_slice(&len);
    header[4..8].copy_from_slice(&crc.to_le_bytes());
    header[8..].copy_from_slice(&lsn);
    header
}

/// What is found at an offset of a segment.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// A valid record, and the offset just past it.
    Valid(Record, usize),
    /// The data ends before the header or the payload does.
    Incomplete,
    /// A complete frame whose checksum does not match.
    Corrupt,
    /// Zeros where a header would be: the end of what was written in a segment whose file
    /// is preallocated with zeros (no valid record has LSN 0, so no header is all zeros).
    End,
}

/// Parses the frame starting at `offset` of `buf`.
pub fn parse_frame(buf: &[u8], offset: usize) -> Frame {
    let Some(header) = buf.get(offset..offset + HEADER_SIZE) else {
        return Frame::Incomplete;
    };
    let word = |at: usize| {
        u32::from_le_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
    };
    if header.iter().all(|&b| b == 0) {
        return Frame::End;
    }
    let (len, crc) = (word(0) as usize, word(4));
    let mut lsn_bytes = [0u8; 8];
    lsn_bytes.copy_from_slice(&header[8..16]);
    let end = offset + HEADER_SIZE + len;
    let Some(payload) = buf.get(offset + HEADER_SIZE..end) else {
        return Frame::Incomplete;
    };
    let actual = crc32c::crc32c_append(
        crc32c::crc32c_append(crc32c::crc32c(&header[0..4]), &lsn_bytes),
        payload,
    );
    if actual != crc {
        return Frame::Corrupt;
    }
    Frame::Valid(Record { lsn: u64::from_le_bytes(lsn_bytes), payload: payload.to_vec() }, end)
}

/// Looks for any valid record with an LSN above `after_lsn` starting anywhere past `from`.
///
/// Recovery uses this to tell a torn tail (nothing valid follows the damage: the last write
/// was cut short) from corruption in the middle (valid records follow: data was damaged).
/// Only headers whose LSN lies a plausible distance ahead are checksummed, so the scan is
/// cheap even over a long tail.
pub fn find_valid_frame_after(buf: &[u8], from: usize, after_lsn: Lsn) -> Option<usize> {
    const PLAUSIBLE_GAP: u64 = 1 << 24;
    (from..buf.len().saturating_sub(HEADER_SIZE - 1)).find(|&offset| {
        let mut lsn = [0u8; 8];
        lsn.copy_from_slice(&buf[offset + 8..offset + 16]);
        let lsn = u64::from_le_bytes(lsn);
        lsn > after_lsn
            && lsn - after_lsn <= PLAUSIBLE_GAP
            && matches!(parse_frame(buf, offset), Frame::Valid(..))
    })
}

/// The unit a disk writes atomically: a sector is on it whole or not at all.
const SECTOR: usize = 512;

/// Whether `buf[from..to]` (file offsets) shows a sector that never reached the disk: the part
/// of some 512-byte sector inside the range, at least 8 bytes of it, is all zeros (log files
/// are zero-filled ahead of their records, so an unwritten sector reads back as zeros).
///
/// A flush writes its pages in one request; the disk may make them durable in any order, so
/// power lost before its fdatasync returned can leave a sector missing between records that
/// did arrive. Recovery uses this to tell that torn flush from data damaged after it was
/// durable, which no sector of zeros explains.
pub fn holds_lost_sector(buf: &[u8], from: usize, to: usize) -> bool {
    let to = to.min(buf.len());
    let mut start = from;
    while start < to {
        let end = ((start / SECTOR + 1) * SECTOR).min(to);
        if end - start >= 8 && buf[start..end].iter().all(|&b| b == 0) {
            return true;
        }
        start = end;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lost_sector_is_a_sector_of_zeros_inside_the_range() {
        let mut buf = vec![1u8; 2048];
        assert!(!holds_lost_sector(&buf, 100, 2000));
        buf[512..1024].fill(0); // a whole sector
        assert!(holds_lost_sector(&buf, 100, 2000));
        assert!(!holds_lost_sector(&buf, 1024, 2000), "outside the range");
        assert!(holds_lost_sector(&buf, 1000, 1500), "its part in the range, 24 bytes");
        assert!(!holds_lost_sector(&buf, 1020, 1500), "4 bytes of zeros are no evidence");
        buf[600] = 9; // zeros with data in the sector: not a sector that never arrived
        assert!(!holds_lost_sector(&buf, 100, 2000));
    }

    #[test]
    fn frames_round_trip_and_detect_damage() {
        let mut buf = Vec::new();
        encode_frame(&mut buf, 7, b"hello");
        encode_frame(&mut buf, 8, b"");
        let Frame::Valid(r, next) = parse_frame(&buf, 0) else { panic!() };
        assert_eq!((r.lsn, r.payload.as_slice(), next), (7, &b"hello"[..], 21));
        let Frame::Valid(r, end) = parse_frame(&buf, next) else { panic!() };
        assert_eq!((r.lsn, end), (8, buf.len()));
        assert_eq!(parse_frame(&buf, end), Frame::Incomplete);
        assert_eq!(parse_frame(&buf[..20], 0), Frame::Incomplete);
        for byte in 0..21 {
            let mut damaged = buf.clone();
            damaged[byte] ^= 0x40;
            assert_ne!(
                std::mem::discriminant(&parse_frame(&damaged, 0)),
                std::mem::discriminant(&Frame::Valid(r.clone(), 0)),
                "flipping byte {byte} went unnoticed"
            );
        }
    }

    #[test]
    fn finds_valid_frames_after_damage() {
        let mut buf = Vec::new();
        encode_frame(&mut buf, 1, b"first");
        let second = buf.len();
        encode_frame(&mut buf, 2, b"second");
        let third = buf.len();
        encode_frame(&mut buf, 3, b"third");
        buf[second + HEADER_SIZE] ^= 1;
        assert_eq!(parse_frame(&buf, second), Frame::Corrupt);
        assert_eq!(find_valid_frame_after(&buf, second + 1, 1), Some(third));
        assert_eq!(find_valid_frame_after(&buf[..third + 5], second + 1, 1), None);
    }
}
