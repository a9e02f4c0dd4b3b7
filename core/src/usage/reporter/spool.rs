//! The disk spool: usage events the collector has not acknowledged yet, kept as a segment log
//! in one directory per app, so that neither a collector outage nor a crash loses them.
//!
//! Why a segment log and not SQLite: it needs no C library in every binding's build (Android
//! included); appending is one `write` of already-encoded bytes; and processes sharing the
//! directory never contend — each writes segments of its own. SQLite would give us nothing we
//! use (the spool is only appended, read whole and deleted).
//!
//! Layout: files `seg-<unix ms>-<pid>-<random>.log`. A process appends to its open segment while
//! holding an exclusive lock on it (`flock`), so another process's replayer skips it; the lock
//! goes away with the process, so a crashed process's segments are replayed by whoever looks
//! next. A segment is read whole by a replayer that holds its lock, sent, then deleted.
//!
//! Each record is framed `MAGIC (4) | length (u32 LE) | CRC-32 (u32 LE) of kind + payload |
//! kind (1) | payload`. A torn write (the process died mid-`write`) or a damaged record fails
//! the length or CRC check; the reader skips it and finds the next record by its magic.
//!
//! Bounds: the directory's bytes (`max_bytes`: an append that would pass it is refused, and the
//! caller counts the events as dropped) and age (a segment older than `max_age` is dropped
//! whole, its events counted). The byte count is this process's view — rescanned whenever it
//! replays — so several processes together may pass it by what each wrote since its last scan.
//! Writes are not `fsync`ed: they survive the process (a crash, `SIGKILL`), not a power cut.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const MAGIC: [u8; 4] = *b"MPs1";
const HEADER: usize = 4 + 4 + 4 + 1;
/// The largest record a reader accepts (a length beyond it is damage).
const MAX_RECORD: usize = 16 << 20;
/// A segment is closed and a new one begun past this size.
const SEGMENT_BYTES: u64 = 8 << 20;

/// What a record holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum RecordKind {
    /// One usage event, as its JSON.
    Event = 1,
    /// A count of events dropped (queue or spool full), as a little-endian `u64`.
    Dropped = 2,
}

/// The spool's limits.
#[derive(Debug, Clone, Copy)]
pub struct SpoolLimits {
    /// The most bytes the directory may hold.
    pub max_bytes: u64,
    /// Segments older than this are dropped unsent.
    pub max_age: Duration,
}

/// The spool is full: the records were not written.
#[derive(Debug)]
pub struct SpoolFull;

/// A spool directory, as one process sees it.
#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    limits: SpoolLimits,
    writer: Mutex<Writer>,
}

#[derive(Debug, Default)]
struct Writer {
    /// The segment this process appends to, locked, and its path.
    open: Option<(File, PathBuf, u64)>,
    /// The directory's bytes as this process last counted them, plus what it wrote since.
    dir_bytes: u64,
    /// True when something was appended since the last [`Spool::seal`].
    dirty: bool,
}

/// What a segment held.
#[derive(Debug, Default)]
pub struct Contents {
    /// The event records' payloads, in order.
    pub events: Vec<Vec<u8>>,
    /// The sum of the segment's dropped-count records.
    pub dropped: u64,
    /// Damaged or torn records skipped.
    pub torn: u64,
}

impl Spool {
    /// Opens (creating it if need be) the spool directory `dir`.
    pub fn open(dir: impl Into<PathBuf>, limits: SpoolLimits) -> io::Result<Spool> {
        let dir = dir.into();
        fs::create_dir_all(&dir)?;
        let spool = Spool {
            dir,
            limits,
            writer: Mutex::new(Writer::default()),
        };
        let bytes = spool.count_bytes();
        spool.lock().dir_bytes = bytes;
        Ok(spool)
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Writer> {
        self.writer.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends records in one write. Refused whole when the directory would pass its byte
    /// bound; an I/O error is returned as is.
    pub fn append<'a>(
        &self,
        records: impl IntoIterator<Item = (RecordKind, &'a [u8])>,
    ) -> Result<(), AppendError> {
        let mut buf = Vec::new();
        for (kind, payload) in records {
            frame(&mut buf, kind, payload);
        }
        if buf.is_empty() {
            return Ok(());
        }
        self.write(&buf, true)
    }

    /// Appends a dropped-events count, even past the byte bound (it is a few bytes, and the
    /// count must not be lost with the events).
    pub fn append_dropped(&self, count: u64) -> io::Result<()> {
        let mut buf = Vec::new();
        frame(&mut buf, RecordKind::Dropped, &count.to_le_bytes());
        self.write(&buf, false).map_err(|e| match e {
            AppendError::Io(e) => e,
            AppendError::Full(_) => io::Error::other("the spool is full"),
        })
    }

    /// Writes framed records to this process's open segment (a new one past the segment
    /// size), refused when `bounded` and the directory would pass its byte bound.
    fn write(&self, buf: &[u8], bounded: bool) -> Result<(), AppendError> {
        let mut w = self.lock();
        if bounded && w.dir_bytes + buf.len() as u64 > self.limits.max_bytes {
            return Err(AppendError::Full(SpoolFull));
        }
        if w.open.as_ref().is_some_and(|(_, _, size)| *size >= SEGMENT_BYTES) {
            w.open = None;
        }
        if w.open.is_none() {
            w.open = Some(self.new_segment()?);
        }
        let (file, _, size) = w.open.as_mut().expect("opened above");
        file.write_all(buf)?;
        *size += buf.len() as u64;
        w.dir_bytes += buf.len() as u64;
        w.dirty = true;
        Ok(())
    }

    fn new_segment(&self) -> io::Result<(File, PathBuf, u64)> {
        let millis = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis();
        let name = format!(
            "seg-{millis:013}-{}-{:08x}.log",
            std::process::id(),
            fastrand::u32(..)
        );
        let path = self.dir.join(name);
        let file = OpenOptions::new().create_new(true).append(true).open(&path)?;
        file.try_lock().map_err(io::Error::other)?;
        Ok((file, path, 0))
    }

    /// Closes this process's open segment (releasing its lock), so that it can be replayed.
    /// True when anything was appended since the last seal.
    pub fn seal(&self) -> bool {
        let mut w = self.lock();
        w.open = None;
        std::mem::take(&mut w.dirty)
    }

    /// True when this process has appended since its last [`Spool::seal`].
    pub fn dirty(&self) -> bool {
        self.lock().dirty
    }

    /// The segments in the directory, oldest first (this process's open one included: it is
    /// locked, so [`Spool::claim`] skips it). Also recounts the directory's bytes.
    pub fn segments(&self) -> Vec<PathBuf> {
        let mut names: Vec<PathBuf> = match fs::read_dir(&self.dir) {
            Ok(entries) => entries
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| is_segment(p))
                .collect(),
            Err(_) => Vec::new(),
        };
        names.sort();
        // Recounted under the writer's lock: an append between the count and the store would
        // otherwise be forgotten, and the bound passed.
        let mut w = self.lock();
        w.dir_bytes = self.count_bytes();
        drop(w);
        names
    }

    fn count_bytes(&self) -> u64 {
        fs::read_dir(&self.dir)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok())
                    .filter(|e| is_segment(&e.path()))
                    .filter_map(|e| e.metadata().ok())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0)
    }

    /// Locks the segment at `path` for replay; `None` when a live process holds it (its writer
    /// or another replayer) or it is already gone.
    pub fn claim(&self, path: &Path) -> Option<Claimed> {
        let file = File::open(path).ok()?;
        file.try_lock().ok()?;
        // Locked: make sure it is still the file at `path` (a replayer may have deleted it
        // between our open and our lock).
        let now = fs::metadata(path).ok()?;
        let held = file.metadata().ok()?;
        if now.ino() != held.ino() || now.dev() != held.dev() {
            return None;
        }
        let age = held
            .modified()
            .ok()
            .and_then(|m| SystemTime::now().duration_since(m).ok())
            .unwrap_or_default();
        Some(Claimed {
            file,
            path: path.to_owned(),
            expired: age > self.limits.max_age,
            len: held.len(),
        })
    }

    /// Forgets `bytes` removed from the directory.
    fn removed(&self, bytes: u64) {
        let mut w = self.lock();
        w.dir_bytes = w.dir_bytes.saturating_sub(bytes);
    }
}

/// Why an append failed.
#[derive(Debug)]
pub enum AppendError {
    /// The byte bound would be passed.
    Full(SpoolFull),
    /// The disk said no.
    Io(io::Error),
}

impl From<io::Error> for AppendError {
    fn from(e: io::Error) -> Self {
        AppendError::Io(e)
    }
}

impl std::fmt::Display for AppendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AppendError::Full(_) => f.write_str("the spool is full"),
            AppendError::Io(e) => write!(f, "cannot write the spool: {e}"),
        }
    }
}

/// A segment locked by this process for replay.
#[derive(Debug)]
pub struct Claimed {
    file: File,
    path: PathBuf,
    expired: bool,
    len: u64,
}

impl Claimed {
    /// True when the segment is older than the spool's age bound (its events are to be
    /// dropped, and counted).
    pub fn expired(&self) -> bool {
        self.expired
    }

    /// Reads every intact record.
    pub fn read(&mut self) -> io::Result<Contents> {
        let mut bytes = Vec::with_capacity(self.len as usize);
        self.file.read_to_end(&mut bytes)?;
        Ok(decode(&bytes))
    }

    /// Deletes the segment (still holding its lock, so no other replayer reads it after).
    pub fn remove(self, spool: &Spool) -> io::Result<()> {
        fs::remove_file(&self.path)?;
        spool.removed(self.len);
        Ok(())
    }
}

fn is_segment(p: &Path) -> bool {
    p.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with("seg-") && n.ends_with(".log"))
}

fn frame(buf: &mut Vec<u8>, kind: RecordKind, payload: &[u8]) {
    let mut crc = crc32fast::Hasher::new();
    crc.update(&[kind as u8]);
    crc.update(payload);
    buf.extend_from_slice(&MAGIC);
    buf.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    buf.extend_from_slice(&crc.finalize().to_le_bytes());
    buf.push(kind as u8);
    buf.extend_from_slice(payload);
}

/// Decodes a segment's bytes, skipping damaged records.
pub fn decode(bytes: &[u8]) -> Contents {
    let mut out = Contents::default();
    let mut at = 0;
    while at < bytes.len() {
        match record_at(bytes, at) {
            Some((kind, payload, next)) => {
                match kind {
                    k if k == RecordKind::Event as u8 => out.events.push(payload.to_vec()),
                    k if k == RecordKind::Dropped as u8 && payload.len() == 8 => {
                        let mut n = [0u8; 8];
                        n.copy_from_slice(payload);
                        out.dropped += u64::from_le_bytes(n);
                    }
                    _ => out.torn += 1,
                }
                at = next;
            }
            None => {
                out.torn += 1;
                // Find the next record by its magic.
                at = memchr::memmem::find(&bytes[at + 1..], &MAGIC).map_or(bytes.len(), |i| at + 1 + i);
            }
        }
    }
    out
}

/// The record at `at`: its kind, payload and where the next one starts, when intact.
fn record_at(bytes: &[u8], at: usize) -> Option<(u8, &[u8], usize)> {
    let header = bytes.get(at..at + HEADER)?;
    if header[..4] != MAGIC {
        return None;
    }
    let len = u32::from_le_bytes(header[4..8].try_into().ok()?) as usize;
    let crc = u32::from_le_bytes(header[8..12].try_into().ok()?);
    if len > MAX_RECORD {
        return None;
    }
    let kind = header[12];
    let payload = bytes.get(at + HEADER..at + HEADER + len)?;
    let mut h = crc32fast::Hasher::new();
    h.update(&[kind]);
    h.update(payload);
    (h.finalize() == crc).then_some((kind, payload, at + HEADER + len))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> SpoolLimits {
        SpoolLimits {
            max_bytes: 1 << 20,
            max_age: Duration::from_secs(3600),
        }
    }

    fn tempdir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "mp-spool-{name}-{}-{}",
            std::process::id(),
            fastrand::u32(..)
        ));
        let _ = fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn appended_records_read_back_after_seal() {
        let dir = tempdir("roundtrip");
        let spool = Spool::open(&dir, limits()).unwrap();
        spool
            .append([
                (RecordKind::Event, &b"{\"a\":1}"[..]),
                (RecordKind::Event, &b"{\"b\":2}"[..]),
            ])
            .unwrap();
        spool.append_dropped(3).unwrap();
        let segs = spool.segments();
        assert_eq!(segs.len(), 1);
        // Our own open segment is locked: not claimable until sealed.
        assert!(spool.claim(&segs[0]).is_none());
        assert!(spool.seal());
        let mut claimed = spool.claim(&segs[0]).unwrap();
        let c = claimed.read().unwrap();
        assert_eq!(c.events, vec![b"{\"a\":1}".to_vec(), b"{\"b\":2}".to_vec()]);
        assert_eq!((c.dropped, c.torn), (3, 0));
        claimed.remove(&spool).unwrap();
        assert!(spool.segments().is_empty());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_torn_or_damaged_record_is_skipped_and_the_rest_read() {
        let mut bytes = Vec::new();
        frame(&mut bytes, RecordKind::Event, b"first");
        let second_at = bytes.len();
        frame(&mut bytes, RecordKind::Event, b"second");
        frame(&mut bytes, RecordKind::Event, b"third");
        // Damage the second record's payload: its CRC no longer matches.
        bytes[second_at + HEADER] ^= 0xff;
        // And tear a fourth record mid-write.
        let mut torn = Vec::new();
        frame(&mut torn, RecordKind::Event, b"fourth-record");
        bytes.extend_from_slice(&torn[..torn.len() - 5]);
        let c = decode(&bytes);
        assert_eq!(c.events, vec![b"first".to_vec(), b"third".to_vec()]);
        assert_eq!(c.torn, 2);
    }

    #[test]
    fn appends_past_the_byte_bound_are_refused() {
        let dir = tempdir("bound");
        let spool = Spool::open(
            &dir,
            SpoolLimits {
                max_bytes: 100,
                max_age: Duration::from_secs(60),
            },
        )
        .unwrap();
        spool.append([(RecordKind::Event, &[b'x'; 50][..])]).unwrap();
        assert!(matches!(
            spool.append([(RecordKind::Event, &[b'y'; 50][..])]),
            Err(AppendError::Full(_))
        ));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn two_spools_on_one_directory_never_claim_the_same_segment() {
        let dir = tempdir("shared");
        let a = Spool::open(&dir, limits()).unwrap();
        let b = Spool::open(&dir, limits()).unwrap();
        a.append([(RecordKind::Event, &b"from-a"[..])]).unwrap();
        b.append([(RecordKind::Event, &b"from-b"[..])]).unwrap();
        // Each writer's open segment is locked against the other.
        let segs = a.segments();
        assert_eq!(segs.len(), 2);
        assert!(segs.iter().all(|s| a.claim(s).is_none() && b.claim(s).is_none()));
        a.seal();
        let claimable: Vec<_> = segs.iter().filter_map(|s| b.claim(s)).collect();
        assert_eq!(claimable.len(), 1);
        // While b holds it, a cannot claim it.
        assert!(segs.iter().all(|s| a.claim(s).is_none()));
        fs::remove_dir_all(&dir).unwrap();
    }
}
