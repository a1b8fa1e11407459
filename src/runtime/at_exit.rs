//! `exit()` with the guard still alive: `std::process::exit`, C's `exit`, a C or Python
//! host that never drops the guard, a library that calls `exit` on an error. Destructors
//! do not run then, but `atexit` handlers do: one, registered once per process when a
//! logger is built, writes out the queue of the logger built last (at most
//! [`EXIT_FLUSH`]) before the process goes. It does nothing when no logger is active (the
//! guard was dropped: its drop wrote everything), on the writer thread (it would wait for
//! itself), and in a child forked after it was registered (the writer thread stayed in
//! the parent).
//!
//! `_exit`, `quick_exit`, SIGKILL and Open MPI's `MPI_Abort` (4.1.4: the aborting rank's
//! `atexit` handlers do not run) run no `atexit` handler: there only a
//! [`flush`](crate::flush) before them helps. Fatal signals are [`fatal`](super::fatal)'s.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Once;
use std::time::Duration;

use super::registry;
use super::writer::on_writer_thread;

/// How long `exit()` waits for the queue to be written out; as [`crate::exit`].
pub(crate) const EXIT_FLUSH: Duration = Duration::from_secs(1);

/// The process that registered the handler.
static REGISTERED_IN: AtomicI32 = AtomicI32::new(0);

/// Registers, once per process, the `atexit` handler that writes out the queue. Returns
/// whether it is registered (`atexit` fails only when the C library is out of memory).
pub(crate) fn install() -> bool {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: getpid cannot fail.
        REGISTERED_IN.store(unsafe { libc::getpid() }, Ordering::Release);
        // SAFETY: registers a function with C linkage that takes nothing and never
        // unwinds (it catches panics).
        if unsafe { libc::atexit(flush_at_exit) } != 0 {
            REGISTERED_IN.store(0, Ordering::Release);
        }
    });
    REGISTERED_IN.load(Ordering::Acquire) != 0
}

/// The `atexit` handler.
extern "C" fn flush_at_exit() {
    // SAFETY: getpid cannot fail.
    if unsafe { libc::getpid() } != REGISTERED_IN.load(Ordering::Acquire) {
        return;
    }
    // An unwinding panic must not cross into C's exit().
    let _ = catch_unwind(AssertUnwindSafe(|| {
        if !on_writer_thread() {
            if let Some(active) = registry::current() {
                active.pipeline.flush(EXIT_FLUSH);
            }
        }
    }));
}
