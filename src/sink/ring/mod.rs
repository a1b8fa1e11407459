//! The crash-safe record ring: a file-backed shared memory map (`MAP_SHARED`) beside each
//! rank's JSONL file that holds every accepted record from the moment its log call
//! returns until the writer thread has written it to the file. A record in a `MAP_SHARED`
//! page sits in the kernel's page cache, so it outlives its process: after a SIGKILL (the
//! OOM killer, Slurm after its KillWait, `mpirun` after its grace period) the records the
//! writer had not written yet are still in the ring, and [`recover`] puts them into the
//! JSONL file, in order, exactly once, each marked `"recovered": true`. The design is
//! Tencent Mars xlog's mmap buffer, applied to a queue.
//!
//! The file is `.NAME.ring` beside `NAME` (hidden, and not ending in `.jsonl`, so readers
//! never take it for records). It starts with a [`HEADER_BYTES`] header, then the records,
//! used as a ring ([`capacity_for`]: 512 bytes per record the queue holds, 2 MiB for the
//! default queue). Every page is touched when the ring is made, so that a log call never
//! takes a page fault on it:
//!
//! | offset | field |
//! | --- | --- |
//! | 0 | magic `RLRING02` (the record layout of [`codec`]; a ring of another layout is left alone) |
//! | 8 | capacity of the data region, bytes |
//! | 16 | `head`: bytes ever appended (the callers, under the queue's lock) |
//! | 56 | the writing process's pid |
//! | 64 | the JSONL file's name (length, then up to 255 bytes) |
//! | 328 | the record identity the file's records carry (length, then JSON text) |
//! | 4032 | `tail`: bytes ever written to the JSONL file (the writer thread) |
//! | 4040, 4048, 4056 | the batch being written: its end, the file's length and inode before it |
//!
//! `head` and the writer's words sit on different cache lines, and the callers keep their
//! own copy of `tail`, read again only when a record does not fit: a log call does not
//! wait for a cache line the writer thread has just written.
//!
//! While a process uses a ring it holds an exclusive `flock(2)` on it, so recovery never
//! touches a live rank's ring (also across nodes, on filesystems whose `flock` reaches
//! the server: NFSv4, Lustre mounted with `flock`). A process that ends normally removes
//! its ring; a ring left behind is a crashed rank's.

pub(crate) mod codec;
pub(crate) mod recover;

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use memmap2::MmapMut;

/// The ring's header, bytes.
pub(crate) const HEADER_BYTES: usize = 4096;
/// Bytes of data region per record the queue holds: a full queue of typical records
/// (100 to 300 bytes encoded) fits with room to spare.
const BYTES_PER_QUEUED_RECORD: u64 = 512;
/// The smallest and largest data regions, bytes.
const MIN_CAPACITY: u64 = 1 << 20;
const MAX_CAPACITY: u64 = 64 << 20;

/// The data region for a queue of `queue_len` records: 512 bytes a record, rounded up to a
/// power of two (positions are then masked, not divided), from 1 MiB to 64 MiB (2 MiB for
/// the default queue of 4096).
pub(crate) fn capacity_for(queue_len: usize) -> u64 {
    (queue_len as u64)
        .saturating_mul(BYTES_PER_QUEUED_RECORD)
        .clamp(MIN_CAPACITY, MAX_CAPACITY)
        .next_power_of_two()
}
const MAGIC: &[u8; 8] = b"RLRING02";
const HEAD: usize = 16;
const TAIL: usize = 4032;
const PENDING_END: usize = 4040;
const PENDING_LEN: usize = 4048;
const PENDING_INO: usize = 4056;
const PID: usize = 56;
const NAME: usize = 64;
const NAME_MAX: usize = 255;
const IDENTITY: usize = 328;
const IDENTITY_MAX: usize = TAIL - IDENTITY - 8;

/// The ring file of the JSONL file `jsonl`: `.NAME.ring` in the same directory.
pub(crate) fn ring_path(jsonl: &Path) -> PathBuf {
    let name = jsonl
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    jsonl.with_file_name(format!(".{name}.ring"))
}

/// Whether a directory entry named `name` is a ring file.
pub(crate) fn is_ring_name(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(".ring")
}

/// What [`Ring::room`] says about a record of some length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Room {
    /// It fits now.
    Fits,
    /// It fits once the writer has written what is waiting.
    Later,
    /// It is larger than the whole ring: it goes through unprotected.
    Never,
}

/// A live process's ring (see the module docs).
pub(crate) struct Ring {
    map: MmapMut,
    /// Bytes of the data region.
    capacity: u64,
    /// The appenders' copy of `head` (they are its only writers), and the `tail` they last
    /// read: used under the queue's lock only, so `Relaxed` (process memory, not the map).
    head: AtomicU64,
    tail_seen: AtomicU64,
    path: PathBuf,
    /// Holds the `flock` for as long as the ring lives.
    _file: File,
}

impl std::fmt::Debug for Ring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ring")
            .field("path", &self.path)
            .field("head", &self.load(HEAD))
            .field("tail", &self.load(TAIL))
            .finish()
    }
}

/// Takes an exclusive `flock` on `file` without waiting.
///
/// # Errors
///
/// `WouldBlock` when another open file (a live process) holds it.
pub(crate) fn lock(file: &File) -> io::Result<()> {
    // SAFETY: flock on a file descriptor this `File` owns; no memory is passed.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

impl Ring {
    /// Makes a fresh ring for the JSONL file `jsonl`, whose records carry `identity` (the
    /// JSON text after `msg`). A ring left there by a crashed process must have been
    /// recovered first.
    ///
    /// # Errors
    ///
    /// The operating system's error creating, locking, sizing or mapping the file;
    /// `InvalidInput` when the file's name or the identity does not fit the header.
    pub(crate) fn create(
        jsonl: &Path,
        identity: &str,
        mode: u32,
        capacity: u64,
    ) -> io::Result<Ring> {
        let name = jsonl
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !capacity.is_power_of_two() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the ring's capacity must be a power of two",
            ));
        }
        if name.len() > NAME_MAX || identity.len() > IDENTITY_MAX {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the file name or the rank identity is too long for the ring's header",
            ));
        }
        let path = ring_path(jsonl);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(mode)
            .open(&path)?;
        lock(&file)?;
        file.set_len(0)?;
        file.set_len(HEADER_BYTES as u64 + capacity)?;
        // SAFETY: the file is ours (locked, just sized); the map lives as long as `Ring`,
        // and nothing else in this process maps it.
        let mut map = unsafe { MmapMut::map_mut(&file)? };
        map[..8].copy_from_slice(MAGIC);
        map[8..16].copy_from_slice(&capacity.to_le_bytes());
        // Every page now, not on a log call's first write to it.
        map[HEADER_BYTES..].fill(0);
        map[PID..PID + 8].copy_from_slice(&u64::from(std::process::id()).to_le_bytes());
        map[NAME..NAME + 8].copy_from_slice(&(name.len() as u64).to_le_bytes());
        map[NAME + 8..NAME + 8 + name.len()].copy_from_slice(name.as_bytes());
        map[IDENTITY..IDENTITY + 8].copy_from_slice(&(identity.len() as u64).to_le_bytes());
        map[IDENTITY + 8..IDENTITY + 8 + identity.len()].copy_from_slice(identity.as_bytes());
        Ok(Ring {
            map,
            capacity,
            head: AtomicU64::new(0),
            tail_seen: AtomicU64::new(0),
            path,
            _file: file,
        })
    }

    fn atomic(&self, offset: usize) -> &AtomicU64 {
        debug_assert!(offset.is_multiple_of(8) && offset < HEADER_BYTES);
        // SAFETY: the map is page-aligned, so `offset` (a multiple of 8 inside the header)
        // is 8-aligned; the header's words are only ever accessed through these atomics
        // while the map lives, and the map outlives the returned reference.
        unsafe { &*(self.map.as_ptr().add(offset).cast::<AtomicU64>()) }
    }

    fn load(&self, offset: usize) -> u64 {
        self.atomic(offset).load(Ordering::Acquire)
    }

    /// Whether a record of `len` bytes fits now (callers hold the queue's lock). The
    /// writer's `tail` is read only when the last one read leaves too little room.
    pub(crate) fn room(&self, len: usize) -> Room {
        let len = len as u64;
        if len > self.capacity {
            return Room::Never;
        }
        let head = self.head.load(Ordering::Relaxed);
        let fits = |tail: u64| head - tail + len <= self.capacity;
        if fits(self.tail_seen.load(Ordering::Relaxed)) {
            return Room::Fits;
        }
        let tail = self.load(TAIL);
        self.tail_seen.store(tail, Ordering::Relaxed);
        if fits(tail) {
            Room::Fits
        } else {
            Room::Later
        }
    }

    /// Appends `wire` (one encoded record, which [`room`](Self::room) said fits) and
    /// returns the ring position after it. Callers hold the queue's lock, so appends are
    /// in queue order and never concurrent.
    pub(crate) fn append(&self, wire: &[u8]) -> u64 {
        let head = self.head.load(Ordering::Relaxed);
        let start = (head & (self.capacity - 1)) as usize;
        let first = wire.len().min(self.capacity as usize - start);
        let data = HEADER_BYTES;
        // SAFETY: both ranges lie inside the data region of the map (start < capacity,
        // first <= capacity - start, the rest <= capacity); only this appender (under
        // the queue's lock) writes the data region, and the writer thread never reads it.
        unsafe {
            let base = self.map.as_ptr().cast_mut().add(data);
            std::ptr::copy_nonoverlapping(wire.as_ptr(), base.add(start), first);
            if first < wire.len() {
                std::ptr::copy_nonoverlapping(wire.as_ptr().add(first), base, wire.len() - first);
            }
        }
        let end = head + wire.len() as u64;
        self.head.store(end, Ordering::Relaxed);
        self.atomic(HEAD).store(end, Ordering::Release);
        end
    }

    /// The writer is about to write the records up to ring position `end` to the file,
    /// which is `file_len` bytes long with inode `ino` now: if it dies half-way, recovery
    /// cuts the file back and writes them again.
    pub(crate) fn prepare(&self, end: u64, file_len: u64, ino: u64) {
        self.atomic(PENDING_LEN).store(file_len, Ordering::Release);
        self.atomic(PENDING_INO).store(ino, Ordering::Release);
        self.atomic(PENDING_END).store(end, Ordering::Release);
    }

    /// The records up to ring position `end` are in the file: their room is free again.
    pub(crate) fn commit(&self, end: u64) {
        self.atomic(TAIL).store(end, Ordering::Release);
    }

    /// Ends the ring of a logger that ends normally: removed when everything in it was
    /// written, else kept for [`recover`].
    pub(crate) fn finish(&self) {
        if self.load(TAIL) >= self.load(HEAD) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}
