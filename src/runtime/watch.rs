//! The control-file watcher: a thread that reads the job's [`CONTROL_FILE`] about every
//! [`POLL`] and applies the verbosity changes that name this rank (see [`crate::control`]).
//! The callers never wait for it: a change is one swap of the live filter.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use slog::Logger;

use super::drain::{Pipeline, OWN_INFO};
use super::log_bridge;
use crate::control::{control_path, LevelChange, CONTROL_FILE};
use crate::schema::level_name;
use crate::Scope;

/// How often the control file is looked at: a change reaches every rank within a second,
/// on a local filesystem and on NFS mounted with an attribute cache of at most 0.5 s
/// (`actimeo`); each look is one `stat(2)`.
pub(crate) const POLL: Duration = Duration::from_millis(250);

/// The thread's name.
const THREAD_NAME: &str = "ranklog-control";

/// The running watcher; dropping it stops the thread within a moment.
pub(crate) struct Watcher {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let (stop, wake) = &*self.stop;
        *stop.lock().unwrap_or_else(|e| e.into_inner()) = true;
        wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// What the thread needs to apply a change.
struct Target {
    pipeline: Arc<Pipeline>,
    /// ranklog's own logger, for the `level_changed` records.
    own: Logger,
    rank: u32,
    size: u32,
    path: PathBuf,
    /// Bytes of the control file already read.
    offset: u64,
    /// An unfinished last line, kept until its newline arrives.
    partial: String,
}

/// Starts watching `dir`'s control file for rank `rank` of `size`. `None` (with a warning
/// on `own`) when the thread cannot start.
pub(crate) fn start(
    dir: PathBuf,
    pipeline: Arc<Pipeline>,
    own: Logger,
    rank: u32,
    size: u32,
) -> Option<Watcher> {
    let stop = Arc::new((Mutex::new(false), Condvar::new()));
    let mut target = Target {
        pipeline,
        own: own.clone(),
        rank,
        size,
        path: control_path(&dir),
        offset: 0,
        partial: String::new(),
    };
    let thread_stop = stop.clone();
    let spawned = std::thread::Builder::new()
        .name(THREAD_NAME.to_owned())
        .spawn(move || {
            let (stopped, wake) = &*thread_stop;
            let mut done = stopped.lock().unwrap_or_else(|e| e.into_inner());
            while !*done {
                drop(done);
                target.poll();
                done = stopped.lock().unwrap_or_else(|e| e.into_inner());
                if !*done {
                    done = wake
                        .wait_timeout(done, POLL)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
            }
        });
    match spawned {
        Ok(thread) => Some(Watcher {
            stop,
            thread: Some(thread),
        }),
        Err(err) => {
            slog::warn!(own, "cannot start the {} thread ({}): `ranklog level` will not reach this rank", THREAD_NAME, err;
                "kind" => "control_unavailable");
            None
        }
    }
}

impl Target {
    /// Reads what was appended to the control file since the last look and applies it.
    fn poll(&mut self) {
        let Ok(len) = std::fs::metadata(&self.path).map(|m| m.len()) else {
            return;
        };
        if len < self.offset {
            // Replaced or truncated by hand: read it again from the start.
            self.offset = 0;
            self.partial.clear();
        }
        if len == self.offset {
            return;
        }
        let mut text = String::new();
        let read = File::open(&self.path).and_then(|mut f| {
            f.seek(SeekFrom::Start(self.offset))?;
            f.take(len - self.offset).read_to_string(&mut text)
        });
        let Ok(n) = read else {
            return;
        };
        self.offset += n as u64;
        self.partial.push_str(&text);
        let Some(end) = self.partial.rfind('\n') else {
            return;
        };
        let complete: String = self.partial.drain(..=end).collect();
        for line in complete.lines().filter(|l| !l.trim().is_empty()) {
            match LevelChange::parse_line(line) {
                Ok(change) if change.applies_to(self.rank, self.size) => self.apply(&change),
                Ok(_) => {}
                Err(reason) => {
                    slog::warn!(self.own, "ignored a line of {}: {}", CONTROL_FILE, reason;
                        "kind" => "control_ignored", "line" => line);
                }
            }
        }
    }

    fn apply(&self, change: &LevelChange) {
        let before = self.pipeline.filter.snapshot();
        let after = change.apply(&before);
        let (level, directives) = (after.level(), after.directives().map(str::to_owned));
        let most_verbose = after.most_verbose();
        self.pipeline.filter.replace(after);
        log_bridge::set_max_level(most_verbose);
        #[cfg(feature = "tracing")]
        super::tracing_layer::filter_changed();
        let filter = directives.as_deref().unwrap_or("none");
        // Logged past the filter it announces: a rank quieted to `error` still says so.
        let values = slog::OwnedKVList::from(slog::o!());
        let kv = slog::o!(
            "scope" => Scope::Process,
            "kind" => "level_changed",
            "min_level" => level_name(level),
            "filter" => filter,
            "previous_min_level" => level_name(before.level()),
            "previous_filter" => before.directives().unwrap_or("none").to_owned(),
        );
        let msg = format_args!(
            "verbosity changed by {CONTROL_FILE}: level {} (was {}), filter {filter}",
            level_name(level),
            level_name(before.level())
        );
        self.pipeline.accept(
            &slog::Record::new(&OWN_INFO, &msg, slog::BorrowedKV(&kv)),
            &values,
        );
    }
}
