//! Recovery: the records a crashed rank left in its ring, written into its JSONL file in
//! order, exactly once, each marked `"recovered": true`.
//!
//! Steps, each safe to repeat if recovery itself is interrupted: lock the ring (a live
//! rank holds it: skip); if the writer died in the middle of writing a batch, cut the file
//! back to its length before that batch (the batch is in the ring); note the file's length
//! in the ring before appending; append the records; mark the ring empty; remove it.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::codec::{decode, record_len, Texts};
use super::{
    is_ring_name, lock, HEAD, HEADER_BYTES, IDENTITY, IDENTITY_MAX, MAGIC, NAME, NAME_MAX,
    PENDING_END, PENDING_INO, PENDING_LEN, TAIL,
};
use crate::sink::json::JsonFormat;
use crate::sink::record::{Collected, Val};
use crate::{Error, Result};

/// The key-value that marks a recovered record.
pub const RECOVERED_KEY: &str = "recovered";

/// What recovery did for one crashed rank's ring.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Recovered {
    /// The JSONL file the records went into.
    pub file: PathBuf,
    /// Records written back, in order.
    pub records: u64,
    /// Bytes cut from the end of a file that a batch had been half-written to (the same
    /// records were written again whole).
    pub cut_bytes: u64,
    /// Whether the ring held damage after its last whole record (the end of a record
    /// being copied when the process died): that record's call had not returned.
    pub damaged_tail: bool,
}

/// Recovers every crashed rank's ring in the log directory `dir`: the next start of a rank
/// on the same file does it too, and so does every `ranklog` command that reads `dir`
/// (`ranklog recover DIR` does nothing else). Rings of live ranks are left alone.
///
/// # Errors
///
/// [`Error::Recover`] naming the ring or the JSONL file that could not be read or written
/// (e.g. a directory this user may not write); rings recovered before it stay recovered.
///
/// # Examples
///
/// ```no_run
/// for r in ranklog::recover(std::path::Path::new("logs/job-42"))? {
///     eprintln!("{} records of {} recovered", r.records, r.file.display());
/// }
/// # Ok::<(), ranklog::Error>(())
/// ```
pub fn recover(dir: &Path) -> Result<Vec<Recovered>> {
    let entries = std::fs::read_dir(dir).map_err(|source| Error::Recover {
        path: dir.to_owned(),
        source,
    })?;
    let mut rings: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .filter(|e| is_ring_name(&e.file_name().to_string_lossy()))
        .map(|e| e.path())
        .collect();
    rings.sort();
    let mut done = Vec::new();
    for ring in rings {
        if let Some(r) = recover_ring(&ring)? {
            done.push(r);
        }
    }
    Ok(done)
}

/// Recovers the ring at `ring`; `None` when a live process holds it, it is not a ring, or
/// it held nothing left to write (it is removed then).
///
/// # Errors
///
/// [`Error::Recover`] naming the file that could not be read or written.
pub(crate) fn recover_ring(ring: &Path) -> Result<Option<Recovered>> {
    let failed = |path: &Path| {
        let path = path.to_owned();
        move |source| Error::Recover { path, source }
    };
    let mut file = match OpenOptions::new().read(true).write(true).open(ring) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(failed(ring)(e)),
    };
    match lock(&file) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
        Err(e) => return Err(failed(ring)(e)),
    }
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(failed(ring))?;
    let Some(header) = Header::read(&bytes) else {
        return Ok(None);
    };
    let jsonl = ring.with_file_name(&header.name);
    let cut_bytes = if header.pending_end > header.tail {
        cut_back(&jsonl, header.pending_len, header.pending_ino).map_err(failed(&jsonl))?
    } else {
        0
    };
    let data = &bytes[HEADER_BYTES..];
    let (lines, records, damaged_tail) = format_records(data, &header);
    if records > 0 {
        let mut out = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o640)
            .open(&jsonl)
            .map_err(failed(&jsonl))?;
        let meta = out.metadata().map_err(failed(&jsonl))?;
        // If this recovery dies while appending, the next one cuts back to here.
        write_u64(&mut file, PENDING_LEN, meta.len()).map_err(failed(ring))?;
        write_u64(&mut file, PENDING_INO, meta.ino()).map_err(failed(ring))?;
        write_u64(&mut file, PENDING_END, header.head).map_err(failed(ring))?;
        out.write_all(&lines).map_err(failed(&jsonl))?;
        out.sync_data().map_err(failed(&jsonl))?;
    }
    write_u64(&mut file, TAIL, header.head).map_err(failed(ring))?;
    std::fs::remove_file(ring).map_err(failed(ring))?;
    if records == 0 && cut_bytes == 0 && !damaged_tail {
        // Its rank had written everything (it ended by a signal or `exit` after a flush).
        return Ok(None);
    }
    Ok(Some(Recovered {
        file: jsonl,
        records,
        cut_bytes,
        damaged_tail,
    }))
}

/// A ring's header, as read from its file.
struct Header {
    capacity: u64,
    head: u64,
    tail: u64,
    pending_end: u64,
    pending_len: u64,
    pending_ino: u64,
    name: String,
    identity: String,
}

fn u64_at(bytes: &[u8], offset: usize) -> u64 {
    bytes
        .get(offset..offset + 8)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u64::from_le_bytes)
}

fn text_at(bytes: &[u8], offset: usize, max: usize) -> Option<String> {
    let len = usize::try_from(u64_at(bytes, offset)).ok()?;
    if len > max {
        return None;
    }
    let text = bytes.get(offset + 8..offset + 8 + len)?;
    String::from_utf8(text.to_vec()).ok()
}

impl Header {
    fn read(bytes: &[u8]) -> Option<Header> {
        if bytes.len() < HEADER_BYTES || &bytes[..8] != MAGIC {
            return None;
        }
        let header = Header {
            capacity: u64_at(bytes, 8),
            head: u64_at(bytes, HEAD),
            tail: u64_at(bytes, TAIL),
            pending_end: u64_at(bytes, PENDING_END),
            pending_len: u64_at(bytes, PENDING_LEN),
            pending_ino: u64_at(bytes, PENDING_INO),
            name: text_at(bytes, NAME, NAME_MAX)?,
            identity: text_at(bytes, IDENTITY, IDENTITY_MAX)?,
        };
        let data = (bytes.len() - HEADER_BYTES) as u64;
        let sane = header.capacity == data
            && header.tail <= header.head
            && header.head - header.tail <= header.capacity
            && !header.name.contains('/')
            && !header.name.is_empty();
        sane.then_some(header)
    }
}

/// The records between the ring's tail and head as JSONL lines, each with
/// `"recovered":true`; how many; and whether damage stopped the walk early.
fn format_records(data: &[u8], header: &Header) -> (Vec<u8>, u64, bool) {
    let cap = header.capacity;
    let read = |pos: u64, len: usize| -> Vec<u8> {
        let start = (pos % cap) as usize;
        let first = len.min(cap as usize - start);
        let mut out = data[start..start + first].to_vec();
        out.extend_from_slice(&data[..len - first]);
        out
    };
    let mut format = JsonFormat::from_identity(header.identity.clone());
    let mut texts = Texts::default();
    let (mut lines, mut records) = (Vec::new(), 0u64);
    let mut pos = header.tail;
    while pos < header.head {
        let left = header.head - pos;
        let Some(len) = (left >= 4)
            .then(|| read(pos, 4))
            .and_then(|b| record_len(&b))
            .filter(|&n| n as u64 <= left)
        else {
            return (lines, records, true);
        };
        let Some(mut c) = decode(&read(pos, len), &mut texts).map(Collected::read_back) else {
            return (lines, records, true);
        };
        c.add_pair(RECOVERED_KEY, Val::Bool(true));
        let scope = written_scope(c.scope());
        format.format(&mut lines, &c, scope);
        records += 1;
        pos += len as u64;
    }
    (lines, records, false)
}

/// The scope a recovered record is written with: as the writer writes it, an unknown
/// value as `process` (the rank's declared groups are not known here, so any `group:`
/// value is kept).
fn written_scope(scope: Option<&str>) -> &str {
    match scope {
        Some(s @ ("process" | "local" | "global")) => s,
        Some(s) if s.starts_with("group:") || s.starts_with("ranks:") => s,
        _ => "process",
    }
}

/// Cuts back a file that a batch was being written to when the writer died: the file with
/// inode `ino` (the JSONL file, or a segment rotation renamed during the batch) goes back
/// to `len` bytes; when it is a rotated segment, the new file started during the batch
/// holds only that batch's records and is emptied. Returns the bytes cut.
fn cut_back(jsonl: &Path, len: u64, ino: u64) -> io::Result<u64> {
    let current = std::fs::metadata(jsonl).ok();
    if let Some(meta) = current.as_ref().filter(|m| m.ino() == ino) {
        return truncate(jsonl, meta.len(), len);
    }
    let (Some(dir), Some(name)) = (jsonl.parent(), jsonl.file_name()) else {
        return Ok(0);
    };
    let name = name.to_string_lossy().into_owned();
    for entry in std::fs::read_dir(dir)?.filter_map(|e| e.ok()) {
        let entry_name = entry.file_name().to_string_lossy().into_owned();
        if entry_name != name && entry_name.starts_with(&name) {
            let meta = entry.metadata()?;
            if meta.ino() == ino {
                let mut cut = truncate(&entry.path(), meta.len(), len)?;
                if let Some(current) = current {
                    cut += truncate(jsonl, current.len(), 0)?;
                }
                return Ok(cut);
            }
        }
    }
    Ok(0)
}

fn truncate(path: &Path, now: u64, to: u64) -> io::Result<u64> {
    if now <= to {
        return Ok(0);
    }
    OpenOptions::new().write(true).open(path)?.set_len(to)?;
    Ok(now - to)
}

fn write_u64(file: &mut File, offset: usize, value: u64) -> io::Result<()> {
    file.seek(SeekFrom::Start(offset as u64))?;
    file.write_all(&value.to_le_bytes())?;
    file.sync_data()
}
