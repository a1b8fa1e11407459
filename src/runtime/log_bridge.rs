//! Records of the `log` crate (hyper, reqwest, the tokio ecosystem) into the ranklog
//! pipeline, through slog-stdlog and slog-scope.

use std::sync::atomic::{AtomicBool, Ordering};

use slog::{Level, Logger};

use crate::gate::level::to_log;

/// Whether this process installed slog-stdlog as the `log` crate's logger.
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// Routes the `log` crate's records to `logger`, with `log`'s own maximum level set to
/// `most_verbose` so that disabled `log` calls stay cheap.
///
/// Returns `false` when another `log` logger was installed first (then `log` records do not
/// reach ranklog).
pub(crate) fn install(logger: &Logger, most_verbose: Level) -> bool {
    // slog-scope's guard would, on drop, replace the global logger with one that panics on
    // the next `log` record; keep ours (it still writes after the Guard is gone).
    slog_scope::set_global_logger(logger.clone()).cancel_reset();
    let ours = INSTALLED.load(Ordering::Acquire)
        || match slog_stdlog::init() {
            Ok(()) => {
                INSTALLED.store(true, Ordering::Release);
                true
            }
            Err(_) => false,
        };
    if ours {
        log::set_max_level(to_log(most_verbose).to_level_filter());
    }
    ours
}

/// Follows a change of the logger's most verbose level (`ranklog level`): `log`'s own
/// maximum level moves with it, when the bridge is ranklog's.
pub(crate) fn set_max_level(most_verbose: Level) {
    if INSTALLED.load(Ordering::Acquire) {
        log::set_max_level(to_log(most_verbose).to_level_filter());
    }
}
