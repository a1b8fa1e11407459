//! Every way a rank ends: a panic on any thread, SIGTERM/SIGINT/SIGHUP, `exit`. Each
//! writes what is queued before the process goes. `exit()` with the guard alive is
//! `at_exit`'s, the fatal signals (SIGABRT, SIGSEGV, ...) are `fatal`'s.

use std::panic::PanicHookInfo;
use std::sync::Once;
use std::time::Duration;

use slog::{Level, Logger};

use super::registry;
use super::writer::on_writer_thread;

/// How long a panic or a signal waits for the queue to be written out. Open MPI 5 gives a
/// rank 250 ms between SIGTERM and SIGKILL when a job is aborted (Open MPI 4: 1 s).
pub(crate) const ENDING_FLUSH: Duration = Duration::from_millis(200);

/// Writes out every record queued so far by the most recently built logger and flushes
/// its console and file, waiting at most `timeout`. Returns whether everything was written
/// in time (also `true` when no ranklog logger is alive).
///
/// # Examples
///
/// ```
/// let guard = ranklog::init()?;
/// slog::info!(guard.logger(), "checkpoint written");
/// assert!(ranklog::flush(std::time::Duration::from_secs(1)));
/// # Ok::<(), ranklog::Error>(())
/// ```
pub fn flush(timeout: Duration) -> bool {
    registry::current().is_none_or(|a| a.pipeline.flush(timeout))
}

/// Flushes (at most 1 s, see [`flush`]) and ends the process with `code`.
///
/// `std::process::exit` ends the process without running destructors, so the guard's
/// flush never happens; ranklog's `atexit` handler writes the queue out then, but this
/// says so where the process ends. `_exit` and Open MPI's `MPI_Abort` run no `atexit`
/// handler: call [`flush`] right before them.
pub fn exit(code: i32) -> ! {
    flush(Duration::from_secs(1));
    std::process::exit(code)
}

/// Installs, once per process, a panic hook that logs the panic at critical level (every
/// rank prints it, with its rank tag), flushes, then runs the hook that was there before.
pub(crate) fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !on_writer_thread() {
                if let Some(active) = registry::current() {
                    log_panic(&active.own_logger(), info);
                    active.pipeline.flush(ENDING_FLUSH);
                }
            }
            previous(info);
        }));
    });
}

fn log_panic(log: &Logger, info: &PanicHookInfo<'_>) {
    let payload = crate::error::panic_message(info.payload());
    let thread = std::thread::current();
    let at = info.location().map_or_else(
        || "unknown".to_owned(),
        |l| format!("{}:{}", l.file(), l.line()),
    );
    slog::crit!(log, "panic: {}", payload;
        "kind" => "panic",
        "thread" => thread.name().unwrap_or("unnamed"),
        "at" => at,
    );
}

/// Installs, once per process, handlers for SIGTERM, SIGINT and SIGHUP (signal-hook): on
/// one, the most recently built logger notes it, flushes (at most 200 ms), and the process
/// ends as the signal would have ended it (same exit status).
///
/// # Errors
///
/// The operating system's error when the handlers cannot be registered.
pub(crate) fn install_signal_handlers() -> std::io::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    static ONCE: Once = Once::new();
    let mut result = Ok(());
    ONCE.call_once(|| {
        result = signal_hook::iterator::Signals::new([SIGTERM, SIGINT, SIGHUP]).and_then(
            |mut signals| {
                std::thread::Builder::new()
                    .name("ranklog-signals".to_owned())
                    .spawn(move || {
                        for signal in signals.forever() {
                            on_signal(signal);
                        }
                    })
                    .map(drop)
            },
        );
    });
    result
}

fn on_signal(signal: i32) {
    if let Some(active) = registry::current() {
        let name = signal_hook::low_level::signal_name(signal).unwrap_or("signal");
        slog::log!(active.own_logger(), Level::Warning, "", "received {}: flushing and exiting", name;
            "kind" => "signal", "signal" => name);
        active.pipeline.flush(ENDING_FLUSH);
    }
    // Restores the default action and raises the signal again: the usual exit status.
    let _ = signal_hook::low_level::emulate_default_handler(signal);
    std::process::exit(128 + signal);
}
