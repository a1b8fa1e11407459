//! [`LiveFilter`]: the level and module filter of a running logger, which `ranklog level`
//! can change while the job runs (see [`crate::control`]). A record whose level no module
//! may log at is rejected by one relaxed atomic load, as cheaply as before; without
//! `RANKLOG_FILTER` directives that load is the whole decision.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use slog::Level;

use super::level::LevelFilter;

/// A [`LevelFilter`] that can be replaced while records pass through it.
pub(crate) struct LiveFilter {
    /// The most verbose level any module may log at, as `Level::as_usize` (1 = critical ..
    /// 6 = trace).
    most_verbose: AtomicUsize,
    /// Whether the level alone decides (no directives): then `most_verbose` is the answer.
    plain: AtomicBool,
    /// The whole filter, read only for records that pass `most_verbose` when directives
    /// are in force.
    current: RwLock<Arc<LevelFilter>>,
}

impl LiveFilter {
    pub(crate) fn new(filter: LevelFilter) -> LiveFilter {
        LiveFilter {
            most_verbose: AtomicUsize::new(filter.most_verbose().as_usize()),
            plain: AtomicBool::new(filter.is_plain()),
            current: RwLock::new(Arc::new(filter)),
        }
    }

    /// The filter in force now.
    pub(crate) fn snapshot(&self) -> Arc<LevelFilter> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Puts `filter` in force for every record from now on.
    pub(crate) fn replace(&self, filter: LevelFilter) {
        let mut current = self.current.write().unwrap_or_else(|e| e.into_inner());
        self.most_verbose
            .store(filter.most_verbose().as_usize(), Ordering::Relaxed);
        self.plain.store(filter.is_plain(), Ordering::Relaxed);
        *current = Arc::new(filter);
    }

    /// The most verbose level that can pass for some module.
    #[inline]
    pub(crate) fn most_verbose(&self) -> Level {
        level_of(self.most_verbose.load(Ordering::Relaxed))
    }

    /// Whether `level` can pass for some module: one relaxed load.
    #[inline]
    pub(crate) fn may_pass(&self, level: Level) -> bool {
        level.as_usize() <= self.most_verbose.load(Ordering::Relaxed)
    }

    /// Whether a record of `level` from `module` passes.
    #[inline]
    pub(crate) fn enabled(&self, level: Level, module: &str) -> bool {
        if !self.may_pass(level) {
            return false;
        }
        if self.plain.load(Ordering::Relaxed) {
            return true;
        }
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .enabled(level, module)
    }
}

/// The level whose `as_usize` is `n` (1 = critical .. 6 = trace).
fn level_of(n: usize) -> Level {
    Level::from_usize(n).unwrap_or(Level::Trace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replaced_filter_decides_from_then_on() {
        let live = LiveFilter::new(LevelFilter::new(Level::Info, None).unwrap());
        assert!(!live.enabled(Level::Debug, "app"));
        assert!(live.enabled(Level::Info, "app"));
        live.replace(LevelFilter::new(Level::Debug, None).unwrap());
        assert!(live.enabled(Level::Debug, "app"));
        assert_eq!(live.most_verbose(), Level::Debug);
        live.replace(LevelFilter::new(Level::Info, Some("info,hyper=trace")).unwrap());
        assert!(live.enabled(Level::Trace, "hyper::client"));
        assert!(!live.enabled(Level::Debug, "app"));
        assert_eq!(live.snapshot().directives(), Some("info,hyper=trace"));
    }
}
