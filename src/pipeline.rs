//! The root drain, on the caller's thread: filter, gate, stamp, queue.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use slog::{BorrowedKV, Drain, Level, OwnedKVList, Record, RecordStatic};
use slog_async::{AsyncCore, AsyncError};

use crate::filter::LevelFilter;
use crate::once::{once_key, OnceMemory, ONCE_TAG};
use crate::output::record::Meta;
use crate::output::{Sinks, FLUSH_TAG};
use crate::scope::{self, Gate, Scope, SCOPE_KEY};
use crate::suppress;

/// What the queue does when it is full (`RANKLOG_OVERFLOW`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Overflow {
    /// The caller waits for room: no record is ever lost (slog-async's
    /// `OverflowStrategy::Block`).
    #[default]
    Block,
    /// The record is dropped and counted; the count is logged (`kind=dropped`) as soon as
    /// the queue has room, and the total (`kind=dropped_total`) when the guard is dropped.
    Drop,
}

/// Decides, on the caller's thread and before the queue, whether a record is wanted: by
/// level and module (and any [`suppress`](crate::suppress)), then by scope, then, for the
/// `*_once!` macros' records, by whether it was seen before. A record this rank neither
/// prints nor files is dropped here without formatting or allocating. Wanted records get
/// their timestamp and console decision attached ([`Meta`]) and go to the writer thread.
pub(crate) struct Pipeline {
    pub(crate) filter: LevelFilter,
    pub(crate) gate: Arc<Gate>,
    /// Whether the file keeps records the console does not show (`RANKLOG_FILE_SCOPE=all`
    /// with a file open).
    pub(crate) file_all: bool,
    pub(crate) queue: AsyncCore,
    pub(crate) overflow: Overflow,
    /// The sinks themselves, written directly once the writer thread has stopped.
    pub(crate) sinks: Arc<Sinks>,
    /// Once-records already passed.
    pub(crate) once: OnceMemory,
    /// Records dropped (drop policy) and not yet reported.
    pub(crate) unreported: AtomicU64,
    /// Records dropped since the start.
    pub(crate) dropped: AtomicU64,
    /// Flush barriers sent; held while sending one, so tickets follow queue order.
    pub(crate) barriers: Mutex<u64>,
}

/// Where ranklog's own reports say they come from.
static REPORT_LOCATION: slog::RecordLocation = slog::RecordLocation {
    file: file!(),
    line: line!(),
    column: 0,
    function: "",
    module: module_path!(),
};

/// The drop reports: warnings from here.
static REPORT: RecordStatic<'static> = RecordStatic {
    location: &REPORT_LOCATION,
    tag: "",
    level: Level::Warning,
};

/// The flush barrier: a critical level passes every filter; the tag is what the sinks
/// answer.
static BARRIER: RecordStatic<'static> = RecordStatic {
    location: &REPORT_LOCATION,
    tag: FLUSH_TAG,
    level: Level::Critical,
};

impl Pipeline {
    /// Queues a stamped record: `Ok(true)` when queued, `Ok(false)` when dropped (full,
    /// drop policy), `Err(())` when the writer thread is gone.
    fn send(&self, record: &Record<'_>, values: &OwnedKVList) -> Result<bool, ()> {
        match self.queue.log(record, values) {
            Ok(()) => Ok(true),
            Err(AsyncError::Full) => Ok(false),
            Err(_) => Err(()),
        }
    }

    /// Logs how many records were dropped since the last report, if any, when there is
    /// room; a report that does not fit is carried over.
    fn report_drops(&self, values: &OwnedKVList) {
        let count = self.unreported.swap(0, Ordering::Relaxed);
        if count == 0 {
            return;
        }
        let total = self.dropped.load(Ordering::Relaxed);
        let kv = (
            Meta::now(true),
            slog::o!(SCOPE_KEY => Scope::Process, "kind" => "dropped", "count" => count, "total" => total),
        );
        let msg = format_args!(
            "{count} records dropped: the queue was full (RANKLOG_OVERFLOW=drop); {total} in all"
        );
        match self.send(&Record::new(&REPORT, &msg, BorrowedKV(&kv)), values) {
            Ok(true) => {}
            Ok(false) => {
                self.unreported.fetch_add(count, Ordering::Relaxed);
            }
            Err(()) => {
                let _ = self
                    .sinks
                    .log(&Record::new(&REPORT, &msg, BorrowedKV(&kv)), values);
            }
        }
    }

    /// Writes the total of dropped records, if any, straight to the sinks (the writer
    /// thread has stopped).
    pub(crate) fn report_drop_total(&self) {
        let total = self.dropped.load(Ordering::Relaxed);
        if total == 0 {
            return;
        }
        let kv = (
            Meta::now(true),
            slog::o!(SCOPE_KEY => Scope::Process, "kind" => "dropped_total", "total" => total),
        );
        let msg = format_args!(
            "{total} records dropped in all: the queue was full (RANKLOG_OVERFLOW=drop)"
        );
        let _ = self.sinks.log(
            &Record::new(&REPORT, &msg, BorrowedKV(&kv)),
            &OwnedKVList::from(slog::o!()),
        );
    }

    /// Writes out every record queued before this call and flushes the sinks, waiting at
    /// most `timeout`. Returns whether everything was written in time.
    pub(crate) fn flush(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let ticket = {
            let mut sent = self.barriers.lock().unwrap_or_else(|e| e.into_inner());
            let values = OwnedKVList::from(slog::o!());
            loop {
                match self.send(
                    &Record::new(&BARRIER, &format_args!("flush"), slog::b!()),
                    &values,
                ) {
                    Ok(true) => break,
                    // Drop policy and a full queue: wait for room, within the deadline.
                    Ok(false) if Instant::now() < deadline => std::thread::yield_now(),
                    Ok(false) => return false,
                    Err(()) => {
                        // No writer thread: everything was written synchronously.
                        self.sinks.flush_all();
                        return true;
                    }
                }
            }
            *sent += 1;
            *sent
        };
        self.sinks.wait_barrier(ticket, deadline)
    }
}

impl Drain for Pipeline {
    type Ok = ();
    type Err = slog::Never;

    #[inline]
    fn log(&self, record: &Record<'_>, values: &OwnedKVList) -> Result<(), slog::Never> {
        let level = record.level();
        if !suppress::allows(level) || !self.filter.enabled(level, filter_target(record)) {
            return Ok(());
        }
        let console = self.gate.level_passes(level)
            || self
                .gate
                .decide_text(level, &scope::resolve(record, values))
                .prints();
        if !console && !self.file_all {
            return Ok(());
        }
        if record.tag() == ONCE_TAG && !self.once.first(once_key(record)) {
            return Ok(());
        }
        let kv = (Meta::now(console), record.kv());
        let rs = RecordStatic {
            location: record.location(),
            tag: record.tag(),
            level,
        };
        let stamped = Record::new(&rs, record.msg(), BorrowedKV(&kv));
        match self.send(&stamped, values) {
            Ok(true) => {
                if self.overflow == Overflow::Drop {
                    self.report_drops(values);
                }
            }
            Ok(false) => {
                self.unreported.fetch_add(1, Ordering::Relaxed);
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
            // The writer thread is gone (the guard was dropped): write here, lose nothing.
            Err(()) => {
                let _ = self.sinks.log(&stamped, values);
            }
        }
        Ok(())
    }

    #[inline]
    fn is_enabled(&self, level: Level) -> bool {
        level.is_at_least(self.filter.most_verbose()) && suppress::allows(level)
    }
}

/// What `RANKLOG_FILTER` directives match: the record's tag when it has one (records
/// bridged from the `log` crate carry their target there), else its module path.
#[inline]
fn filter_target<'a>(record: &'a Record<'a>) -> &'a str {
    match record.tag() {
        "" | ONCE_TAG => record.module(),
        target => target,
    }
}
