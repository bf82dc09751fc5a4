//! Reading SQLite's write-ahead log before SQLite recovers it, to report what recovery drops.
//!
//! When a database in WAL mode is opened after a crash, SQLite replays the log's frames up to the
//! last commit frame that, with every frame before it, carries the log's salts and a valid
//! running checksum; everything after that is dropped without a word. `inspect` walks the log the
//! same way (format: <https://www.sqlite.org/fileformat2.html#walformat>) and says what SQLite
//! will drop: frames of the log's own generation after a frame that fails its checksum (damage,
//! or a torn write), a log that ends in the middle of a frame, a transaction that never committed,
//! or a log whose header is damaged (SQLite then ignores all of it). Frames left from before the
//! last checkpoint carry older salts and are not counted: SQLite reuses the file from its start.
//! One sequential read of the log, which checkpoints keep to about a thousand pages.

use std::fmt;
use std::path::Path;

const HEADER_LEN: usize = 32;
const FRAME_HEADER_LEN: usize = 24;
const MAGIC_LE: u32 = 0x377f_0682;
const MAGIC_BE: u32 = 0x377f_0683;

/// Why SQLite's recovery stops short of the end of the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The log header fails its checksum or is not a log header: SQLite ignores the whole log.
    Header,
    /// The frame at this index (0-based) has the log's salts but fails its checksum.
    Checksum(u64),
    /// The file ends inside the frame at this index.
    Torn(u64),
    /// Every frame is valid, but the last ones belong to a transaction that never committed.
    Uncommitted,
}

/// What SQLite's recovery of a write-ahead log drops; made only when it drops something.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalLoss {
    /// Why recovery stops.
    pub stop: Stop,
    /// Transactions recovery keeps (commit frames before the stop).
    pub kept_commits: u64,
    /// Frames of the log's generation that recovery drops.
    pub dropped_frames: u64,
    /// Of those, commit frames: transactions that had committed (so may have been acknowledged)
    /// and are lost. A lower bound when a frame's checksum failed, since the salts of the frames
    /// after it are all there is to go on.
    pub dropped_commits: u64,
}

impl WalLoss {
    /// True when a committed transaction is among what is dropped (or may be: a damaged header).
    pub fn loses_commits(&self) -> bool {
        self.dropped_commits > 0 || self.stop == Stop::Header
    }
}

impl fmt::Display for WalLoss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (frames, commits, kept) = (self.dropped_frames, self.dropped_commits, self.kept_commits);
        match self.stop {
            Stop::Header => write!(
                f,
                "the write-ahead log's header is damaged, so SQLite ignored the whole log: {frames} frames \
                 holding about {commits} committed transactions since the last checkpoint are lost"
            ),
            Stop::Checksum(i) => write!(
                f,
                "frame {i} of the write-ahead log fails its checksum (damaged on disk, or torn by a crash \
                 of the machine): SQLite kept the {kept} transactions before it and rolled back \
                 {frames} frames after it, holding at least {commits} committed transactions, which are lost"
            ),
            Stop::Torn(i) => write!(
                f,
                "the write-ahead log ends inside frame {i} (torn by a crash of the machine, or truncated): \
                 SQLite kept the {kept} transactions before it and rolled back the last {frames} frames, \
                 a transaction whose commit did not reach the disk whole"
            ),
            Stop::Uncommitted => write!(
                f,
                "the write-ahead log ends with a transaction that never committed ({frames} frames), so \
                 SQLite rolled it back; it was never acknowledged, so no acknowledged write is lost"
            ),
        }
    }
}

/// What SQLite's recovery will drop from the log at `path`; `None` when it drops nothing (or
/// there is no log, or it cannot be read: SQLite will then say so itself).
pub(crate) fn inspect(path: &Path) -> Option<WalLoss> {
    let bytes = std::fs::read(path).ok()?;
    inspect_bytes(&bytes)
}

fn inspect_bytes(bytes: &[u8]) -> Option<WalLoss> {
    if bytes.len() < HEADER_LEN {
        // SQLite writes the header whole before any frame; a shorter file holds nothing.
        return None;
    }
    let be = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
    let magic = be(0);
    let page_size = be(8) as usize;
    let frame_len = FRAME_HEADER_LEN + page_size;
    let header_ok = (magic == MAGIC_LE || magic == MAGIC_BE)
        && page_size.is_power_of_two()
        && (512..=65536).contains(&page_size)
        && checksum(magic == MAGIC_BE, (0, 0), &bytes[..24]) == (be(24), be(28));
    if !header_ok {
        // Frames can still be counted if the page size is plausible; else nothing is known.
        let (mut frames, mut commits) = (0, 0);
        if (512..=65536).contains(&page_size) && page_size.is_power_of_two() {
            let mut at = HEADER_LEN;
            while at + frame_len <= bytes.len() {
                frames += 1;
                commits += u64::from(be(at + 4) != 0);
                at += frame_len;
            }
        }
        if frames == 0 {
            return None;
        }
        return Some(WalLoss { stop: Stop::Header, kept_commits: 0, dropped_frames: frames, dropped_commits: commits });
    }
    let big_endian = magic == MAGIC_BE;
    let salts = (be(16), be(20));
    let mut sum = (be(24), be(28));
    let (mut kept_commits, mut since_commit) = (0u64, 0u64);
    let mut index = 0u64;
    let mut at = HEADER_LEN;
    loop {
        if at >= bytes.len() {
            // The end of the file, on a frame boundary.
            break;
        }
        if at + frame_len > bytes.len() {
            // A partial frame: ours only if what there is of its header carries the log's salts.
            let ours = at + 16 <= bytes.len() && (be(at + 8), be(at + 12)) == salts;
            if !ours {
                break;
            }
            return Some(WalLoss {
                stop: Stop::Torn(index),
                kept_commits,
                dropped_frames: since_commit + 1,
                dropped_commits: 0,
            });
        }
        if (be(at + 8), be(at + 12)) != salts {
            // A frame left from before the last checkpoint: the log's end.
            break;
        }
        let next = checksum(big_endian, sum, &bytes[at..at + 8]);
        let next = checksum(big_endian, next, &bytes[at + FRAME_HEADER_LEN..at + frame_len]);
        if be(at) == 0 || next != (be(at + 16), be(at + 20)) {
            // Recovery stops here; count what of this generation lies beyond.
            let (mut frames, mut commits) = (since_commit, 0u64);
            let mut rest = at;
            while rest + frame_len <= bytes.len() && (be(rest + 8), be(rest + 12)) == salts {
                frames += 1;
                commits += u64::from(be(rest + 4) != 0);
                rest += frame_len;
            }
            return Some(WalLoss {
                stop: Stop::Checksum(index),
                kept_commits,
                dropped_frames: frames,
                dropped_commits: commits,
            });
        }
        sum = next;
        if be(at + 4) != 0 {
            kept_commits += 1;
            since_commit = 0;
        } else {
            since_commit += 1;
        }
        index += 1;
        at += frame_len;
    }
    (since_commit > 0).then_some(WalLoss {
        stop: Stop::Uncommitted,
        kept_commits,
        dropped_frames: since_commit,
        dropped_commits: 0,
    })
}

/// SQLite's WAL checksum: over 32-bit words in the log's byte order, two at a time.
fn checksum(big_endian: bool, (mut s0, mut s1): (u32, u32), data: &[u8]) -> (u32, u32) {
    let word = |b: &[u8]| {
        let b: [u8; 4] = b.try_into().expect("4 bytes");
        if big_endian { u32::from_be_bytes(b) } else { u32::from_le_bytes(b) }
    };
    for pair in data.chunks_exact(8) {
        s0 = s0.wrapping_add(word(&pair[..4])).wrapping_add(s1);
        s1 = s1.wrapping_add(word(&pair[4..])).wrapping_add(s0);
    }
    (s0, s1)
}

/// Frame offsets and whether each is a commit, for tests that damage a log on purpose.
#[cfg(test)]
pub(crate) fn frames(bytes: &[u8]) -> Vec<(usize, bool)> {
    let be = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
    let salts = (be(16), be(20));
    let frame_len = FRAME_HEADER_LEN + be(8) as usize;
    let mut out = Vec::new();
    let mut at = HEADER_LEN;
    while at + frame_len <= bytes.len() && (be(at + 8), be(at + 12)) == salts {
        out.push((at, be(at + 4) != 0));
        at += frame_len;
    }
    out
}
