//! Logging statistics: what [`Guard::stats`](crate::Guard::stats) returns and what the
//! `log_stats` record at the end of every rank says (Python's `logging` has none; glog
//! counts lines per severity; this counts what a distributed job needs: what was gated,
//! dropped or lost where).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use slog::Level;

use crate::LevelCounts;

/// Counts of one logger's records since it was built.
///
/// `by_level` counts the records that reached this rank's sinks (its console or its
/// file), by level. Records a level filter turned away are not counted anywhere: they
/// cost nothing, by design. Records from loggers bound to a scope this rank does not print
/// ([`ranklog::global`](crate::global) and friends) are dropped before they are looked at
/// and are not counted as gated out either.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LogStats {
    /// Records written, by level.
    pub by_level: LevelCounts,
    /// Records that passed the level filter but that the scope gate kept off this rank's
    /// console (files may still keep them, `RANKLOG_FILE_SCOPE=all`).
    pub gated_out: u64,
    /// Records handed to the sinks by the writer thread (`by_level`'s total).
    pub written: u64,
    /// Records dropped because the queue was full (`RANKLOG_OVERFLOW=drop` only).
    pub dropped: u64,
    /// Records the file could not take (a full disk, a failed rotation): lost.
    pub lost: u64,
    /// Bytes written to this rank's JSONL file, all segments together.
    pub file_bytes: u64,
    /// The most records ever waiting in the queue at once (its capacity is
    /// `RANKLOG_QUEUE_LEN`): near the capacity, callers waited or dropped.
    pub queue_high_water: u64,
}

/// The counters behind [`LogStats`] that the callers and the writer thread keep.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// Records written, by `Level::as_usize() - 1` (critical first).
    by_level: [AtomicU64; 6],
    pub(crate) gated_out: AtomicU64,
    high_water: AtomicUsize,
}

impl Counters {
    /// The writer thread took `pending` records at once.
    pub(crate) fn batch(&self, pending: usize) {
        self.high_water.fetch_max(pending, Ordering::Relaxed);
    }

    /// The writer thread wrote a record of `level`.
    pub(crate) fn written(&self, level: Level) {
        self.by_level[level.as_usize() - 1].fetch_add(1, Ordering::Relaxed);
    }

    /// The counts so far, with what the pipeline and the file count themselves.
    pub(crate) fn snapshot(&self, dropped: u64, lost: u64, file_bytes: u64) -> LogStats {
        let n = |level: Level| self.by_level[level.as_usize() - 1].load(Ordering::Relaxed);
        let by_level = LevelCounts {
            critical: n(Level::Critical),
            error: n(Level::Error),
            warning: n(Level::Warning),
            info: n(Level::Info),
            debug: n(Level::Debug),
            trace: n(Level::Trace),
        };
        LogStats {
            written: by_level.total(),
            by_level,
            gated_out: self.gated_out.load(Ordering::Relaxed),
            dropped,
            lost,
            file_bytes,
            queue_high_water: self.high_water.load(Ordering::Relaxed) as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_snapshot_adds_the_levels_up() {
        let c = Counters::default();
        c.written(Level::Info);
        c.written(Level::Info);
        c.written(Level::Critical);
        c.batch(7);
        c.batch(3);
        let s = c.snapshot(1, 2, 300);
        assert_eq!((s.by_level.info, s.by_level.critical, s.written), (2, 1, 3));
        assert_eq!(s.by_level.at(Level::Info), 2);
        assert_eq!((s.dropped, s.lost, s.file_bytes), (1, 2, 300));
        assert_eq!(s.queue_high_water, 7);
    }
}
