//! The sinks behind the queue: console (stderr) and the per-rank JSONL file.

mod console;
pub(crate) mod escape;
mod file;
mod json;

pub use file::Rotation;
pub(crate) use file::{check_template, FileOptions, JsonFile};
pub(crate) use json::level_from_name;
#[cfg(feature = "cli")]
pub(crate) use json::RESERVED;
pub use json::SCHEMA_VERSION;
pub use record::CONSOLE_KEY;
pub(crate) mod record;

use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use slog::{Drain, OwnedKVList, Record};

use crate::scope::{Decision, Gate, Scope, SCOPE_KEY};
use crate::RankInfo;
use console::ConsoleFormat;
use record::{Collected, Meta};

/// The tag of the barrier records [`Sinks`] answer by flushing and counting.
pub(crate) const FLUSH_TAG: &str = "ranklog:flush";

/// The console's destination.
pub(crate) struct Console {
    pub(crate) out: Box<dyn Write + Send>,
    pub(crate) format: ConsoleFormat,
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
        }
    }
}

struct State {
    console: Option<Console>,
    file: Option<JsonFile>,
    collected: Collected,
    line: Vec<u8>,
}

/// Both sinks behind one lock. Runs on the writer thread; after the guard is dropped, on
/// the caller's thread, so that late records still reach their destinations.
pub(crate) struct Sinks {
    state: Mutex<State>,
    gate: Arc<Gate>,
    /// Whether the file keeps records this rank's console does not show.
    file_all: bool,
    /// Flush barriers answered so far, and the condition flushers wait on.
    flushed: Mutex<u64>,
    flushed_cv: Condvar,
}

impl Sinks {
    pub(crate) fn new(
        console: Option<Console>,
        file: Option<JsonFile>,
        gate: Arc<Gate>,
        file_all: bool,
    ) -> Sinks {
        Sinks {
            state: Mutex::new(State {
                console,
                file,
                collected: Collected::default(),
                line: Vec::with_capacity(512),
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

    /// Flushes both sinks.
    pub(crate) fn flush_all(&self) {
        let mut state = self.lock();
        if let Some(console) = state.console.as_mut() {
            let _ = console.out.flush();
        }
        if let Some(file) = state.file.as_mut() {
            file.flush();
        }
    }

    /// Flushes both sinks and reports on stderr how many records the file lost, if any.
    pub(crate) fn finish(&self) {
        self.flush_all();
        let state = self.lock();
        if let Some(file) = state.file.as_ref().filter(|f| f.lost() > 0) {
            eprintln!(
                "ranklog: in all, {} records could not be written to {}",
                file.lost(),
                file.path().display()
            );
        }
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

    fn answer_barrier(&self) {
        self.flush_all();
        *self.flushed.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        self.flushed_cv.notify_all();
    }

    /// The one-time warning about an unknown scope value, at the time and call site of the
    /// record that carried it, so that it sorts and points where the mistake is.
    fn warn_unknown_scope(
        &self,
        cause: &Record<'_>,
        ts_nanos: u64,
        text: &str,
        values: &OwnedKVList,
    ) {
        let rs = slog::RecordStatic {
            location: cause.location(),
            tag: "",
            level: slog::Level::Warning,
        };
        let kv = (
            Meta {
                ts_nanos,
                console: true,
            },
            slog::o!(SCOPE_KEY => Scope::Process, "kind" => "unknown_scope"),
        );
        let msg = format_args!(
            "unknown scope {text:?}: printed as process (expected process, local, global, \
             group:NAME of a declared group, or ranks:LIST); this warning is shown once"
        );
        let _ = self.log(&Record::new(&rs, &msg, slog::BorrowedKV(&kv)), values);
    }
}

impl Drain for Sinks {
    type Ok = ();
    type Err = slog::Never;

    fn log(&self, record: &Record<'_>, values: &OwnedKVList) -> Result<(), slog::Never> {
        if record.tag() == FLUSH_TAG {
            self.answer_barrier();
            return Ok(());
        }
        let mut guard = self.lock();
        let state = &mut *guard;
        state.collected.fill(record, values);
        let c = &state.collected;
        let decision = self.gate.decide(record.level(), c.scope());
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
            console.format.format(&mut state.line, record, c);
            let _ = console.out.write_all(&state.line);
        }
        if let Some(file) = state.file.as_mut().filter(|_| gated_in || self.file_all) {
            state.line.clear();
            file.format.format(&mut state.line, record, c, scope);
            file.write_record(&state.line);
        }
        if decision == Decision::Unknown && self.gate.first_unknown() {
            let text = c.scope().unwrap_or_default().to_owned();
            let ts_nanos = c.ts_nanos;
            drop(guard);
            self.warn_unknown_scope(record, ts_nanos, &text, values);
        }
        Ok(())
    }
}
