//! Raising the level for a block of code (vLLM's `suppress_logging`).
//!
//! Every live [`Suppressed`] guard is counted by its level; the level in force is the
//! strictest of the live ones, recomputed whenever a guard is made or dropped, so guards
//! may be dropped in any order (or on other threads) and the process's level comes back
//! in full once the last one is gone. The per-record check stays one relaxed load.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use slog::Level;

/// `Level::as_usize` of the most verbose level (trace): no suppression.
const NONE: usize = 6;

/// The live suppressions of one process and the level they leave in force.
pub(crate) struct Suppressions {
    /// The most verbose level that may pass, as `Level::as_usize` (1 = critical .. 6 =
    /// trace): the strictest live suppression, or trace when none is live.
    most_verbose: AtomicUsize,
    /// How many live guards suppress below each level, indexed by `Level::as_usize`.
    live: Mutex<[usize; NONE + 1]>,
}

impl Suppressions {
    /// No suppression in force.
    pub(crate) const fn new() -> Suppressions {
        Suppressions {
            most_verbose: AtomicUsize::new(NONE),
            live: Mutex::new([0; NONE + 1]),
        }
    }

    /// Whether a record of `level` passes: one relaxed load.
    #[inline]
    pub(crate) fn allows(&self, level: Level) -> bool {
        level.as_usize() <= self.most_verbose.load(Ordering::Relaxed)
    }

    /// Counts one more live suppression at `level` (as `Level::as_usize`), or one fewer.
    fn change(&self, level: usize, more: bool) {
        // A panic elsewhere while holding the lock leaves consistent counts: go on.
        let mut live = self.live.lock().unwrap_or_else(PoisonError::into_inner);
        let count = &mut live[level.min(NONE)];
        *count = if more {
            count.saturating_add(1)
        } else {
            count.saturating_sub(1)
        };
        let strictest = (1..NONE).find(|&l| live[l] > 0).unwrap_or(NONE);
        // Under the lock, so that the stores happen in the order of the changes.
        self.most_verbose.store(strictest, Ordering::Relaxed);
    }
}

/// The suppressions of this process.
static SUPPRESSIONS: Suppressions = Suppressions::new();

/// Whether a record of `level` passes the current suppression.
#[inline]
pub(crate) fn allows(level: Level) -> bool {
    SUPPRESSIONS.allows(level)
}

/// Ends its suppression when dropped; see [`suppress`].
#[must_use = "the suppression ends when this guard is dropped"]
#[derive(Debug)]
pub struct Suppressed {
    /// The guard's level, as `Level::as_usize`.
    level: usize,
}

impl Drop for Suppressed {
    fn drop(&mut self) {
        SUPPRESSIONS.change(self.level, false);
    }
}

/// Drops every record below `min_level`, in the whole process, until the returned guard
/// is dropped: a noisy phase (a warm-up, a library's chatty initialization) goes quiet.
///
/// Suppressions nest and overlap: while several guards live, the strictest of their
/// levels is in force, whatever the order (or the threads) in which they were made; once
/// the last guard is dropped, nothing is suppressed any more. Guards may be dropped in
/// any order. It applies to every ranklog logger of the process and to records bridged
/// from the `log` crate.
///
/// # Examples
///
/// ```
/// let guard = ranklog::Builder::new().no_console().build()?;
/// let log = guard.logger();
/// {
///     let _quiet = ranklog::suppress(slog::Level::Error);
///     slog::warn!(log, "dropped");
///     slog::error!(log, "still printed");
/// }
/// slog::warn!(log, "printed again");
/// # Ok::<(), ranklog::Error>(())
/// ```
pub fn suppress(min_level: Level) -> Suppressed {
    let level = min_level.as_usize();
    SUPPRESSIONS.change(level, true);
    Suppressed { level }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A guard on a private registry (the process's one is shared by every test).
    struct Held<'a>(&'a Suppressions, usize);

    fn hold(s: &Suppressions, level: Level) -> Held<'_> {
        s.change(level.as_usize(), true);
        Held(s, level.as_usize())
    }

    impl Drop for Held<'_> {
        fn drop(&mut self) {
            self.0.change(self.1, false);
        }
    }

    /// The most verbose level that passes.
    fn passing(s: &Suppressions) -> usize {
        s.most_verbose.load(Ordering::Relaxed)
    }

    #[test]
    fn guards_dropped_in_order_restore_each_level() {
        let s = Suppressions::new();
        let a = hold(&s, Level::Warning);
        assert!(s.allows(Level::Warning) && !s.allows(Level::Info));
        let b = hold(&s, Level::Error);
        assert!(!s.allows(Level::Warning));
        drop(b);
        assert_eq!(passing(&s), Level::Warning.as_usize());
        drop(a);
        assert_eq!(passing(&s), NONE);
        assert!(s.allows(Level::Trace));
    }

    #[test]
    fn guards_dropped_out_of_order_keep_the_strictest_live_one_and_restore_all() {
        let s = Suppressions::new();
        let a = hold(&s, Level::Warning);
        let b = hold(&s, Level::Error);
        drop(a);
        assert_eq!(passing(&s), Level::Error.as_usize(), "b still lives");
        drop(b);
        assert_eq!(passing(&s), NONE, "nothing left suppressed");

        // A laxer guard made inside a stricter one changes nothing until the stricter ends.
        let strict = hold(&s, Level::Critical);
        let lax = hold(&s, Level::Info);
        assert_eq!(passing(&s), Level::Critical.as_usize());
        drop(strict);
        assert_eq!(passing(&s), Level::Info.as_usize());
        drop(lax);
        assert_eq!(passing(&s), NONE);

        // Two guards at the same level: the level holds until both are gone.
        let one = hold(&s, Level::Error);
        let two = hold(&s, Level::Error);
        drop(one);
        assert_eq!(passing(&s), Level::Error.as_usize());
        drop(two);
        assert_eq!(passing(&s), NONE);
    }

    #[test]
    fn guards_nested_across_threads_restore_the_level_in_any_order() {
        let s = Suppressions::new();
        let levels = [
            Level::Critical,
            Level::Error,
            Level::Warning,
            Level::Info,
            Level::Debug,
        ];
        std::thread::scope(|scope| {
            for (t, &level) in levels.iter().enumerate() {
                let s = &s;
                scope.spawn(move || {
                    for i in 0..2000 {
                        let outer = hold(s, level);
                        let inner = hold(s, levels[(t + i) % levels.len()]);
                        assert!(passing(s) <= level.as_usize());
                        if i % 2 == 0 {
                            drop(outer);
                            drop(inner);
                        } else {
                            drop(inner);
                            drop(outer);
                        }
                    }
                });
            }
        });
        assert_eq!(passing(&s), NONE);
        assert!(s.live.lock().unwrap().iter().all(|&n| n == 0));
    }
}
