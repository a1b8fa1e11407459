//! The sinks behind the queue: console (stderr) and the per-rank JSONL file.

mod console;
pub(crate) mod escape;
mod json;

pub use json::SCHEMA_VERSION;
pub use record::CONSOLE_KEY;
pub(crate) mod record;

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use slog::{Drain, OwnedKVList, Record};

use crate::scope::{Decision, Gate, Scope, SCOPE_KEY};
use crate::{Error, RankInfo, Result};
use console::ConsoleFormat;
use json::JsonFormat;
use record::Collected;
use record::Meta;

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

/// The per-rank JSONL file.
pub(crate) struct JsonFile {
    path: PathBuf,
    out: File,
    format: JsonFormat,
}

/// `rank-<rank, 5 digits>.jsonl`.
pub(crate) fn file_name(info: &RankInfo) -> String {
    format!("rank-{:05}.jsonl", info.rank)
}

impl JsonFile {
    /// Creates `dir` if needed and opens this rank's file for appending.
    pub(crate) fn open(dir: &Path, info: &RankInfo) -> Result<JsonFile> {
        fs::create_dir_all(dir).map_err(|source| Error::CreateDir {
            path: dir.to_owned(),
            source,
        })?;
        let path = dir.join(file_name(info));
        let out = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|source| Error::OpenFile {
                path: path.clone(),
                source,
            })?;
        Ok(JsonFile {
            path,
            out,
            format: JsonFormat::new(info),
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
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
    /// Records that could not be written to the file.
    file_lost: AtomicU64,
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
            file_lost: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while formatting must not silence the logger for the rest of the job.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Flushes both sinks and reports on stderr how many records the file lost, if any.
    pub(crate) fn finish(&self) {
        let mut state = self.lock();
        if let Some(console) = state.console.as_mut() {
            let _ = console.out.flush();
        }
        if let Some(file) = state.file.as_mut() {
            let _ = file.out.flush();
            let lost = self.file_lost.load(Ordering::Relaxed);
            if lost > 0 {
                eprintln!(
                    "ranklog: {lost} records could not be written to {}",
                    file.path.display()
                );
            }
        }
    }

    fn write_file(&self, file: &mut JsonFile, bytes: &[u8]) {
        if let Err(err) = file.out.write_all(bytes) {
            if self.file_lost.fetch_add(1, Ordering::Relaxed) == 0 {
                eprintln!(
                    "ranklog: cannot write {}: {err}; the job goes on, lost records are counted",
                    file.path.display()
                );
            }
        }
    }
}

impl Sinks {
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
        let mut guard = self.lock();
        let state = &mut *guard;
        state.collected.fill(record, values);
        let c = &state.collected;
        let decision = self.gate.decide(record.level(), c.scope());
        let console_ok = c.console.unwrap_or(decision.prints()) && c.console_wanted != Some(false);
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
        if let Some(file) = state.file.as_mut().filter(|_| console_ok || self.file_all) {
            state.line.clear();
            file.format.format(&mut state.line, record, c, scope);
            self.write_file(file, &state.line);
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
