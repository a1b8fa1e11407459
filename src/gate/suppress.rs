//! Raising the level for a block of code (vLLM's `suppress_logging`).

use std::sync::atomic::{AtomicUsize, Ordering};

use slog::Level;

/// The most verbose level that may pass, as `Level::as_usize` (1 = critical .. 6 = trace).
static MOST_VERBOSE: AtomicUsize = AtomicUsize::new(6);

/// Whether a record of `level` passes the current suppression.
#[inline]
pub(crate) fn allows(level: Level) -> bool {
    level.as_usize() <= MOST_VERBOSE.load(Ordering::Relaxed)
}

/// Restores the previous level when dropped; see [`suppress`].
#[must_use = "the suppression ends when this guard is dropped"]
#[derive(Debug)]
pub struct Suppressed {
    previous: usize,
}

impl Drop for Suppressed {
    fn drop(&mut self) {
        MOST_VERBOSE.store(self.previous, Ordering::Relaxed);
    }
}

/// Drops every record below `min_level`, in the whole process, until the returned guard
/// is dropped: a noisy phase (a warm-up, a library's chatty initialization) goes quiet.
///
/// Suppressions nest: an inner one can only raise the level further, and each guard
/// restores the level that was in force when it was made, so guards should be dropped in
/// reverse order (as scopes do). It applies to every ranklog logger of the process and to
/// records bridged from the `log` crate.
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
    let previous = MOST_VERBOSE.fetch_min(min_level.as_usize(), Ordering::Relaxed);
    Suppressed { previous }
}
