//! The root drain, on the caller's thread: filter, gate, stamp, queue ([`Pipeline`]), and
//! its public face, [`RankDrain`].

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use slog::{BorrowedKV, Drain, Level, OwnedKVList, Record, RecordStatic};

use super::queue::{Push, Queue};
use super::stats::Counters;
use crate::gate::live::LiveFilter;
use crate::gate::once::{once_key, OnceMemory};
use crate::gate::{suppress_allows, Gate};
use crate::sink::record::{now_nanos, Collected};
use crate::sink::Sinks;
use crate::{Scope, ONCE_TAG, SCOPE_KEY};

thread_local! {
    /// Each thread collects its records here; the queue swaps the box of a written record
    /// back, so a thread's steady state allocates nothing.
    static SCRATCH: RefCell<Box<Collected>> = RefCell::new(Collected::warm());
}

/// What the queue does when it is full (`RANKLOG_OVERFLOW`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Overflow {
    /// The caller waits for room: no record is ever lost.
    #[default]
    Block,
    /// The record is dropped and counted; the count is logged (`kind=dropped`) as soon as
    /// the queue has room, and the total (`kind=dropped_total`) when the guard is dropped.
    Drop,
}

/// Decides, on the caller's thread and before the queue, whether a record is wanted: by
/// level and module (and any [`suppress`](crate::suppress)), then by scope, then, for the
/// `*_once!` macros' records, by whether it was seen before. A record this rank neither
/// prints nor files is dropped here without formatting or allocating. A wanted record is
/// collected here, with its time and console decision, into the thread's reusable
/// [`Collected`] and moved into the [`Queue`]; the writer thread formats it.
pub(crate) struct Pipeline {
    pub(crate) filter: LiveFilter,
    pub(crate) gate: Arc<Gate>,
    /// Whether the file keeps records the console does not show (`RANKLOG_FILE_SCOPE=all`
    /// with a file open).
    pub(crate) file_all: bool,
    pub(crate) queue: Arc<Queue>,
    pub(crate) overflow: Overflow,
    /// The sinks themselves, written directly once the writer thread has stopped.
    pub(crate) sinks: Arc<Sinks>,
    /// Once-records already passed.
    pub(crate) once: OnceMemory,
    /// Records dropped (drop policy) and not yet reported.
    pub(crate) unreported: AtomicU64,
    /// Records dropped since the start.
    pub(crate) dropped: AtomicU64,
    /// What [`Guard::stats`](crate::Guard::stats) reports, shared with the writer thread.
    pub(crate) counters: Arc<Counters>,
}

/// Where ranklog's own reports say they come from.
static REPORT_LOCATION: slog::RecordLocation = slog::RecordLocation {
    file: crate::schema::OWN_FILE,
    line: line!(),
    column: 0,
    function: "",
    module: module_path!(),
};

/// ranklog's own warnings that no logger makes (the drop reports): from here.
pub(crate) static OWN_WARNING: RecordStatic<'static> = RecordStatic {
    location: &REPORT_LOCATION,
    tag: "",
    level: Level::Warning,
};

/// ranklog's own info records that no logger makes (the final statistics, a verbosity
/// change): from here.
pub(crate) static OWN_INFO: RecordStatic<'static> = RecordStatic {
    location: &REPORT_LOCATION,
    tag: "",
    level: Level::Info,
};

impl Pipeline {
    /// Collects `record` (its time `ts_nanos`, shown on the console or not) in this
    /// thread's scratch buffers and queues it; writes it here when the writer thread has
    /// stopped.
    fn send(
        &self,
        record: &Record<'_>,
        values: &OwnedKVList,
        ts_nanos: u64,
        console: bool,
    ) -> Push {
        let send = |c: &mut Box<Collected>| {
            c.fill(record, values, ts_nanos);
            c.console = Some(console);
            let pushed = self.queue.push(c);
            if pushed == Push::Closed {
                // The guard was dropped: write here, lose nothing.
                self.sinks.write_now(c);
                self.counters.written(c.level);
            }
            // A queued record was swapped for a slot's box, which the writer thread has
            // already trimmed; one kept here (dropped, or written here) gives a huge
            // record's buffers back.
            if pushed != Push::Queued && c.is_heavy() {
                **c = Collected::default();
            }
            pushed
        };
        // A value's `Display` that logs, or a record during thread teardown, gets fresh
        // buffers.
        SCRATCH
            .try_with(|scratch| match scratch.try_borrow_mut() {
                Ok(mut c) => send(&mut c),
                Err(_) => send(&mut Box::default()),
            })
            .unwrap_or_else(|_| send(&mut Box::default()))
    }

    /// Logs how many records were dropped since the last report, if any, when there is
    /// room; a report that does not fit is carried over.
    fn report_drops(&self, values: &OwnedKVList) {
        let count = self.unreported.swap(0, Ordering::Relaxed);
        if count == 0 {
            return;
        }
        let total = self.dropped.load(Ordering::Relaxed);
        let kv = slog::o!(SCOPE_KEY => Scope::Process, "kind" => "dropped", "count" => count, "total" => total);
        let msg = format_args!(
            "{count} records dropped: the queue was full (RANKLOG_OVERFLOW=drop); {total} in all"
        );
        let record = Record::new(&OWN_WARNING, &msg, BorrowedKV(&kv));
        if self.send(&record, values, now_nanos(), true) == Push::Full {
            self.unreported.fetch_add(count, Ordering::Relaxed);
        }
    }

    /// Writes the total of dropped records, if any, straight to the sinks (the writer
    /// thread has stopped).
    pub(crate) fn report_drop_total(&self) {
        let total = self.dropped.load(Ordering::Relaxed);
        if total == 0 {
            return;
        }
        let kv = slog::o!(SCOPE_KEY => Scope::Process, "kind" => "dropped_total", "total" => total);
        let msg = format_args!(
            "{total} records dropped in all: the queue was full (RANKLOG_OVERFLOW=drop)"
        );
        let _ = self.sinks.log(
            &Record::new(&OWN_WARNING, &msg, BorrowedKV(&kv)),
            &OwnedKVList::from(slog::o!()),
        );
    }

    /// The counts so far (see [`LogStats`](crate::LogStats)).
    pub(crate) fn stats(&self) -> crate::LogStats {
        let (lost, file_bytes) = self.sinks.file_counts();
        self.counters
            .snapshot(self.dropped.load(Ordering::Relaxed), lost, file_bytes)
    }

    /// Writes the final `log_stats` record straight to the sinks (the writer thread has
    /// stopped), past the level filter: at info level and to the file only, or as a
    /// warning on the console too when records were dropped or lost.
    pub(crate) fn report_stats(&self) {
        let s = self.stats();
        let trouble = s.dropped > 0 || s.lost > 0;
        let kv = slog::o!(
            SCOPE_KEY => Scope::Process,
            "kind" => "log_stats",
            crate::schema::CONSOLE_KEY => trouble,
            "written" => s.written,
            "critical" => s.by_level.critical,
            "error" => s.by_level.error,
            "warning" => s.by_level.warning,
            "info" => s.by_level.info,
            "debug" => s.by_level.debug,
            "trace" => s.by_level.trace,
            "gated_out" => s.gated_out,
            "dropped" => s.dropped,
            "lost" => s.lost,
            "file_bytes" => s.file_bytes,
            "queue_high_water" => s.queue_high_water,
        );
        let msg = format_args!(
            "log stats: {} records written, {} gated out, {} dropped, {} lost",
            s.written, s.gated_out, s.dropped, s.lost
        );
        let rs = if trouble { &OWN_WARNING } else { &OWN_INFO };
        let _ = self.sinks.log(
            &Record::new(rs, &msg, BorrowedKV(&kv)),
            &OwnedKVList::from(slog::o!()),
        );
    }

    /// Writes out every record queued before this call and flushes the sinks, waiting at
    /// most `timeout`. Returns whether everything was written in time.
    pub(crate) fn flush(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        match self.queue.barrier() {
            Some(ticket) => self.sinks.wait_barrier(ticket, deadline),
            None => {
                // No writer thread: everything was written synchronously.
                self.sinks.flush_all();
                true
            }
        }
    }
}

impl Pipeline {
    /// Everything after the level filter: the scope gate, the once-memory, the queue.
    #[inline]
    pub(crate) fn accept(&self, record: &Record<'_>, values: &OwnedKVList) {
        let level = record.level();
        let console = self.gate.level_passes(level)
            || self.gate.decide_record(level, record, values).prints();
        if !console {
            self.counters.gated_out.fetch_add(1, Ordering::Relaxed);
            if !self.file_all {
                return;
            }
        }
        if record.tag() == ONCE_TAG && !self.once.first(once_key(record)) {
            return;
        }
        match self.send(record, values, now_nanos(), console) {
            Push::Queued if self.overflow == Overflow::Drop => self.report_drops(values),
            Push::Queued | Push::Closed => {}
            Push::Full => {
                self.unreported.fetch_add(1, Ordering::Relaxed);
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

impl Drain for Pipeline {
    type Ok = ();
    type Err = slog::Never;

    #[inline]
    fn log(&self, record: &Record<'_>, values: &OwnedKVList) -> Result<(), slog::Never> {
        let level = record.level();
        if self.filter.enabled(level, filter_target(record)) && suppress_allows(level) {
            self.accept(record, values);
        }
        Ok(())
    }

    #[inline]
    fn is_enabled(&self, level: Level) -> bool {
        self.filter.may_pass(level) && suppress_allows(level)
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

/// ranklog's root drain, for composing with other slog drains (e.g. `slog::Duplicate`):
/// filters by level and module, gates by scope, and queues what this rank prints or files
/// to the writer thread of the [`Guard`](crate::Guard) it came from. Its records go to
/// that guard's console and file; other drains composed with it see every record.
///
/// Cheap to clone (a reference count). It never fails (`Err = slog::Never`), and once its
/// guard is dropped, records are written on the caller's thread.
///
/// # Examples
///
/// ```
/// use slog::Drain;
///
/// let guard = ranklog::Builder::new().no_console().build()?;
/// // ranklog's gated console and file, plus the application's own drain.
/// let both = slog::Duplicate::new(guard.drain(), slog::Discard).ignore_res();
/// let log = slog::Logger::root(both, slog::o!("model" => "llama"));
/// slog::info!(log, "loaded"; "scope" => "global");
/// # Ok::<(), ranklog::Error>(())
/// ```
#[derive(Clone)]
pub struct RankDrain(pub(crate) Arc<Pipeline>);

impl std::fmt::Debug for RankDrain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let p = &self.0;
        f.debug_struct("RankDrain")
            .field("most_verbose", &p.filter.most_verbose())
            .field("overflow", &p.overflow)
            .field("file_all", &p.file_all)
            .field("dropped", &p.dropped.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Drain for RankDrain {
    type Ok = ();
    type Err = slog::Never;

    #[inline]
    fn log(&self, record: &Record<'_>, values: &OwnedKVList) -> Result<(), slog::Never> {
        self.0.log(record, values)
    }

    #[inline]
    fn is_enabled(&self, level: Level) -> bool {
        self.0.is_enabled(level)
    }
}
