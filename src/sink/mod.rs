//! The sinks behind the queue: the console (stderr, or a writer) and the per-rank JSONL
//! file, fanned out from one lock ([`Sinks`]). They format [`Collected`] records: the
//! console line ([`console`], which the `ranklog` reader renders with the same code), the
//! JSONL record ([`json`], by the contract in [`crate::schema`]), times ([`clock`]) and
//! escaping ([`escape`]).

mod bytes;
pub(crate) mod clock;
pub(crate) mod console;
pub(crate) mod escape;
mod file;
mod fragments;
pub(crate) mod json;
mod numbers;
#[cfg(feature = "otlp")]
pub(crate) mod otlp;
pub(crate) mod record;
pub(crate) mod ring;
pub(crate) mod value;

pub use console::ColorChoice;
#[cfg(feature = "otlp")]
pub(crate) use file::job_id;
pub use file::Rotation;
pub(crate) use file::{check_template, file_path, FileOptions, JsonFile};

use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use slog::{Drain, OwnedKVList, Record};

use crate::gate::{Decision, Gate};
use crate::RankInfo;
use crate::{Scope, SCOPE_KEY};
use console::ConsoleFormat;
use record::Collected;
use ring::Ring;
use std::os::unix::fs::MetadataExt;

/// Which records the per-rank file keeps (`RANKLOG_FILE_SCOPE`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileScope {
    /// Every record that passes the level filter, whatever its scope: the console is the
    /// gated view, the files the full one.
    #[default]
    All,
    /// Only what this rank's console shows.
    Gated,
}

/// Console lines are written in groups of at most this many bytes (whole lines; a longer
/// line alone): the most a pipe takes in one piece (POSIX `PIPE_BUF`), so the lines of
/// ranks sharing a terminal or a launcher's pipe never interleave.
const CONSOLE_WRITE_BYTES: usize = 4096;

/// Empties a sink's buffer of written bytes; one that a huge record grew past 4 times its
/// `usual` size gives that memory back.
fn clear_buffer(buffer: &mut Vec<u8>, usual: usize) {
    buffer.clear();
    if buffer.capacity() > 4 * usual {
        *buffer = Vec::with_capacity(usual);
    }
}

/// The console's destination.
pub(crate) struct Console {
    out: Box<dyn Write + Send>,
    format: ConsoleFormat,
    /// Whole lines not yet written, at most [`CONSOLE_WRITE_BYTES`] unless one line is
    /// longer.
    buffer: Vec<u8>,
}

impl Console {
    pub(crate) fn new(
        out: Box<dyn Write + Send>,
        info: &RankInfo,
        prefix: String,
        color: bool,
    ) -> Console {
        Console {
            out,
            format: ConsoleFormat::new(info, prefix, color),
            buffer: Vec::with_capacity(CONSOLE_WRITE_BYTES),
        }
    }

    /// Adds one record's line(s), writing what was buffered first if both would not fit
    /// in one [`CONSOLE_WRITE_BYTES`] write.
    fn push(&mut self, line: &[u8]) {
        if !self.buffer.is_empty() && self.buffer.len() + line.len() > CONSOLE_WRITE_BYTES {
            self.write_out();
        }
        self.buffer.extend_from_slice(line);
    }

    fn write_out(&mut self) {
        if !self.buffer.is_empty() {
            // A console that cannot be written (a closed pipe) must not stop the job.
            let _ = self.out.write_all(&self.buffer);
            clear_buffer(&mut self.buffer, CONSOLE_WRITE_BYTES);
        }
    }
}

struct State {
    console: Option<Console>,
    file: Option<JsonFile>,
    line: Vec<u8>,
    /// The OTLP exporter (feature `otlp`), which takes what the file would keep.
    #[cfg(feature = "otlp")]
    otlp: Option<otlp::Otlp>,
}

impl State {
    /// Writes out what both sinks have buffered.
    fn write_out(&mut self) {
        if let Some(console) = self.console.as_mut() {
            console.write_out();
        }
        if let Some(file) = self.file.as_mut() {
            file.write_out();
        }
    }
}

/// Both sinks behind one lock. The writer thread writes the queue's batches here; after
/// the guard is dropped, the callers' threads write here directly, so that late records
/// still reach their destinations. Also a plain slog [`Drain`] (synchronous).
pub(crate) struct Sinks {
    state: Mutex<State>,
    gate: Arc<Gate>,
    /// Whether the file keeps records this rank's console does not show.
    file_all: bool,
    /// Flush barriers answered so far, and the condition flushers wait on.
    flushed: Mutex<u64>,
    flushed_cv: Condvar,
    /// The crash-safe ring beside the file, which the writer marks written per batch.
    ring: Option<Arc<Ring>>,
}

impl Sinks {
    /// The sinks, with the file's crash-safe `ring` when it has one.
    pub(crate) fn new(
        console: Option<Console>,
        file: Option<JsonFile>,
        gate: Arc<Gate>,
        file_all: bool,
        ring: Option<Arc<Ring>>,
    ) -> Sinks {
        Sinks {
            ring,
            state: Mutex::new(State {
                console,
                file,
                line: Vec::with_capacity(512),
                #[cfg(feature = "otlp")]
                otlp: None,
            }),
            gate,
            file_all,
            flushed: Mutex::new(0),
            flushed_cv: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while formatting must not silence the logger for the rest of the job.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Sends every record written from now on to `otlp` too (those the file would keep).
    #[cfg(feature = "otlp")]
    pub(crate) fn set_otlp(&self, otlp: otlp::Otlp) {
        self.lock().otlp = Some(otlp);
    }

    /// Takes the OTLP exporter out, to shut it down; records written afterwards are not
    /// exported. `None` without one.
    #[cfg(feature = "otlp")]
    pub(crate) fn take_otlp(&self) -> Option<otlp::Otlp> {
        self.lock().otlp.take()
    }

    /// Writes out what is buffered and flushes both sinks.
    pub(crate) fn flush_all(&self) {
        let mut state = self.lock();
        if let Some(console) = state.console.as_mut() {
            console.write_out();
            let _ = console.out.flush();
        }
        if let Some(file) = state.file.as_mut() {
            file.flush();
        }
    }

    /// Flushes both sinks and reports on stderr how many records the file lost, if any.
    pub(crate) fn finish(&self) {
        self.flush_all();
        if let Some(ring) = &self.ring {
            ring.finish();
        }
        let state = self.lock();
        if let Some(file) = state.file.as_ref().filter(|f| f.lost() > 0) {
            eprintln!(
                "ranklog: in all, {} records could not be written to {}",
                file.lost(),
                file.path().display()
            );
        }
    }

    /// The file's lost records and written bytes so far; `(0, 0)` without a file.
    pub(crate) fn file_counts(&self) -> (u64, u64) {
        let state = self.lock();
        state
            .file
            .as_ref()
            .map_or((0, 0), |f| (f.lost(), f.bytes()))
    }

    /// Waits until `ticket` barriers have been answered, at most until `deadline`.
    pub(crate) fn wait_barrier(&self, ticket: u64, deadline: Instant) -> bool {
        let mut done = self.flushed.lock().unwrap_or_else(|e| e.into_inner());
        while *done < ticket {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            done = self
                .flushed_cv
                .wait_timeout(done, left.min(Duration::from_millis(50)))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        true
    }

    /// Flushes both sinks and records that every barrier up to `ticket` is answered.
    pub(crate) fn answer_barrier(&self, ticket: u64) {
        self.flush_all();
        let mut done = self.flushed.lock().unwrap_or_else(|e| e.into_inner());
        *done = (*done).max(ticket);
        self.flushed_cv.notify_all();
    }

    /// Writes a batch of records the pipeline collected, then writes out both sinks'
    /// buffers. A slot whose buffers grew large gives them back.
    pub(crate) fn write_batch(&self, batch: &mut [Box<Collected>]) {
        let mut state = self.lock();
        // The batch's end in the ring: its records leave the ring once they are in the file.
        let ring = self
            .ring
            .as_ref()
            .zip(batch.iter().map(|c| c.ring_end).max().filter(|&e| e > 0));
        if let (Some((ring, end)), Some(file)) = (ring, state.file.as_ref()) {
            let (len, ino) = std::fs::metadata(file.path()).map_or((0, 0), |m| (m.len(), m.ino()));
            ring.prepare(end, len, ino);
        }
        for c in batch {
            c.read_pairs();
            self.write(&mut state, c);
            if c.is_heavy() {
                **c = Collected::default();
            }
        }
        state.write_out();
        if let Some((ring, end)) = ring {
            ring.commit(end);
        }
    }

    /// Frees the ring's room up to `end` for records that could not be written.
    pub(crate) fn release_ring(&self, end: Option<u64>) {
        if let (Some(ring), Some(end)) = (&self.ring, end.filter(|&e| e > 0)) {
            ring.commit(end);
        }
    }

    /// Writes one collected record at once (the callers' threads, once the writer thread
    /// has stopped).
    pub(crate) fn write_now(&self, c: &mut Collected) {
        c.read_pairs();
        let mut state = self.lock();
        self.write(&mut state, c);
        state.write_out();
    }

    /// Formats one record, its pairs [read](Collected::read_pairs), into the sinks'
    /// buffers (see [`State::write_out`]).
    fn write(&self, state: &mut State, c: &Collected) {
        let decision = self.gate.decide(c.level, c.scope());
        // What this rank's gate lets through, and of that what the console shows: a
        // `"console" => false` record is gated like any other, but goes to files only.
        let gated_in = c.console.unwrap_or(decision.prints());
        let console_ok = gated_in && c.console_wanted != Some(false);
        // An unknown scope is written as process, the value it prints as.
        let scope = match decision {
            Decision::Unknown => "process",
            _ => c.scope().unwrap_or("process"),
        };
        if let Some(console) = state.console.as_mut().filter(|_| console_ok) {
            state.line.clear();
            console.format.format(&mut state.line, c);
            console.push(&state.line);
        }
        if let Some(file) = state.file.as_mut().filter(|_| gated_in || self.file_all) {
            file.push(c, scope);
        }
        #[cfg(feature = "otlp")]
        if let Some(otlp) = state.otlp.as_ref().filter(|_| gated_in || self.file_all) {
            otlp.emit(c, scope);
        }
        if decision == Decision::Unknown && self.gate.first_unknown() {
            let warning = unknown_scope_warning(c);
            self.write(state, &warning);
        }
    }
}

/// The one-time warning about an unknown scope value, at the time and call site of the
/// record that carried it, so that it sorts and points where the mistake is.
fn unknown_scope_warning(cause: &Collected) -> Collected {
    let location = cause.location;
    let rs = slog::RecordStatic {
        location: &location,
        tag: "",
        level: slog::Level::Warning,
    };
    let kv = slog::o!(SCOPE_KEY => Scope::Process, "kind" => "unknown_scope");
    let msg = format_args!(
        "unknown scope {:?}: printed as process (expected process, local, global, \
         group:NAME of a declared group, or ranks:LIST); this warning is shown once",
        cause.scope().unwrap_or_default()
    );
    let mut warning = Collected::default();
    warning.fill(
        &Record::new(&rs, &msg, slog::BorrowedKV(&kv)),
        &OwnedKVList::from(slog::o!()),
        cause.ts_nanos,
    );
    warning.read_pairs();
    warning.push_logger_pairs(cause);
    warning.console = Some(true);
    warning
}

impl Drain for Sinks {
    type Ok = ();
    type Err = slog::Never;

    /// Collects the record (outside the lock: a value's `Display` may log too) and writes
    /// it at once.
    fn log(&self, record: &Record<'_>, values: &OwnedKVList) -> Result<(), slog::Never> {
        let mut c = Collected::default();
        c.fill(record, values, record::now_nanos());
        self.write_now(&mut c);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records the size of every `write` call.
    #[derive(Clone, Default)]
    struct Writes(Arc<Mutex<Vec<Vec<u8>>>>);

    impl Write for Writes {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().push(buf.to_vec());
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_unknown_scope_warning_keeps_the_causes_logger_values_time_and_place() {
        let values = OwnedKVList::from(slog::o!("model" => "llama", "tp" => 2u32));
        let kv = slog::o!("scope" => "globl", "step" => 7u64);
        record::with_collected(
            slog::Level::Info,
            format_args!("m"),
            &kv,
            &values,
            |cause| {
                let w = unknown_scope_warning(cause);
                let keys: Vec<_> = w.pairs().map(|(k, _)| *k).collect();
                assert_eq!(keys, ["kind", "model", "tp"]);
                match &w.pairs().nth(1).unwrap().1 {
                    record::Val::Str(r) => assert_eq!(w.text(r), "llama"),
                    other => panic!("expected text, got {other:?}"),
                }
                assert_eq!(w.scope(), Some("process"));
                assert_eq!(w.level, slog::Level::Warning);
                assert_eq!(w.ts_nanos, cause.ts_nanos);
                assert_eq!(w.location.line, cause.location.line);
                assert!(w.msg().contains("\"globl\""), "{}", w.msg());
            },
        );
    }

    #[test]
    fn console_writes_are_whole_lines_of_at_most_pipe_buf_bytes() {
        let writes = Writes::default();
        let info = RankInfo::single();
        let mut console = Console::new(Box::new(writes.clone()), &info, String::new(), false);
        let short = [b'a'; 99].iter().chain(b"\n").copied().collect::<Vec<u8>>();
        let long = [b'b'; 5000]
            .iter()
            .chain(b"\n")
            .copied()
            .collect::<Vec<u8>>();
        for _ in 0..100 {
            console.push(&short);
        }
        console.push(&long);
        console.push(&short);
        console.write_out();
        let writes = writes.0.lock().unwrap();
        let sizes: Vec<usize> = writes.iter().map(Vec::len).collect();
        assert_eq!(sizes.iter().sum::<usize>(), 101 * 100 + 5001, "{sizes:?}");
        for w in writes.iter() {
            assert_eq!(w.last(), Some(&b'\n'), "a write ends a line");
            assert!(
                w.len() <= CONSOLE_WRITE_BYTES || w == &long,
                "{} bytes in one write",
                w.len()
            );
        }
        // 40 short lines fill a write: 4000 bytes.
        assert_eq!(&sizes[..3], [4000, 4000, 2000]);
    }
}
