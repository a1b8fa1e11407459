//! Fatal signals: SIGABRT, SIGSEGV, SIGBUS, SIGFPE and SIGILL. GPU ranks seldom end by
//! returning from `main`: NCCL and CUDA errors end in `abort()`, a bad pointer in a C
//! library in SIGSEGV or SIGBUS. On one of these, the rank writes one critical record
//! (`kind=fatal_signal`) and everything queued before it, then dies exactly as it would
//! have without ranklog: same signal, same core dump, same exit status.
//!
//! A signal handler may only call async-signal-safe functions (POSIX `signal-safety(7)`):
//! no allocation, no lock (the faulting thread may hold the allocator's or the queue's),
//! nothing that formats. So the handler does not log; like glog's
//! `InstallFailureSignalHandler` and quill's signal handler, it hands the work to a thread
//! that is not in a signal handler. The steps and why each is safe there:
//!
//! | step | how | why it is safe in a handler |
//! | --- | --- | --- |
//! | who am I | `getpid`, `gettid` (`syscall(SYS_gettid)`), `open`/`read`/`close` of `/proc/thread-self/comm` | system calls on the signal-safety list; a stack buffer |
//! | note the signal | signal number, faulting address (`si_addr`), thread id into atomics | lock-free atomic stores |
//! | wake the helper | `write(2)` of one byte to a non-blocking pipe | on the list; never blocks |
//! | wait for it | `DONE` flag, `nanosleep` 1 ms steps, `clock_gettime` bound: 200 ms at most | on the list; bounded |
//! | hand the signal on | `sigaction` (re-install the saved action), then call the saved handler, or `raise` | on the list |
//!
//! The helper thread (`ranklog-fatal`, started at install, blocked in `read(2)` on the
//! pipe) is an ordinary thread: it writes the `fatal_signal` record (`signal`, `signo`,
//! `thread`, `tid`, `address` for a fault) through the active logger's own logger,
//! flushes the queue and sets the `DONE` flag. If the faulting thread holds a lock the
//! helper needs, the helper blocks and the handler stops waiting after 200 ms: the process
//! ends as it would have, only later.
//!
//! Handing on: the action that was there before ranklog's (saved at install) is put back.
//! A handler function (Rust's own stack-overflow handler for SIGSEGV and SIGBUS, CUDA's,
//! Python's `faulthandler`) is called directly with the same arguments. The default action
//! is reached by returning from a fault the kernel raised (`si_code > 0`: the instruction
//! faults again, now with the default action: core dump, status 128+signal) and by
//! `raise` for a signal sent by `kill`, `raise` or `abort` (`si_code <= 0`): it is blocked
//! while the handler runs, so it is delivered with the default action on return. `abort`
//! raises SIGABRT again by itself anyway.
//!
//! Skipped hand-offs: the handler re-entered on the same thread (a second fatal signal
//! while handling the first), a crash on the helper or the writer thread (it would wait for
//! itself), a process forked after install (the helper thread and the writer thread stayed
//! in the parent). A second thread with a fatal signal while the first is being handled
//! waits for the same `DONE` flag. `RANKLOG_SIGNALS=0` (or `Builder::signals(false)`)
//! installs nothing.

use std::ffi::c_void;
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};
use std::sync::{Once, OnceLock};
use std::time::Duration;

use libc::{c_int, siginfo_t};

use super::lifecycle::ENDING_FLUSH;
use super::registry;
use super::writer::WRITER_THREAD;

/// The signals handled here.
const FATAL: [c_int; 5] = [
    libc::SIGABRT,
    libc::SIGSEGV,
    libc::SIGBUS,
    libc::SIGFPE,
    libc::SIGILL,
];

/// The helper thread's name.
const FATAL_THREAD: &str = "ranklog-fatal";

/// The process that installed the handler (0: none): a forked child has no helper thread.
static INSTALLED_IN: AtomicI32 = AtomicI32::new(0);
/// The write end of the helper's pipe (non-blocking).
static WAKE: AtomicI32 = AtomicI32::new(-1);
/// The helper thread's id.
static HELPER_TID: AtomicI32 = AtomicI32::new(0);
/// The thread handing a signal off (0: none yet); set once, never cleared.
static HANDLING: AtomicI32 = AtomicI32::new(0);
/// What the helper reports: signal number, thread id, faulting address.
static SIGNO: AtomicI32 = AtomicI32::new(0);
static TID: AtomicI32 = AtomicI32::new(0);
static ADDRESS: AtomicUsize = AtomicUsize::new(0);
static HAS_ADDRESS: AtomicBool = AtomicBool::new(false);
/// Set by the helper once the record is written and the queue flushed.
static DONE: AtomicBool = AtomicBool::new(false);
/// The actions that were installed before ranklog's, in the order of [`FATAL`].
static PREVIOUS: OnceLock<[libc::sigaction; 5]> = OnceLock::new();

/// Installs, once per process, the handler for the fatal signals and starts its helper
/// thread.
///
/// # Errors
///
/// The operating system's error when the pipe, the thread or a handler cannot be set up;
/// nothing is installed then.
pub(crate) fn install() -> io::Result<()> {
    static ONCE: Once = Once::new();
    let mut result = Ok(());
    ONCE.call_once(|| result = install_once());
    result
}

fn install_once() -> io::Result<()> {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: pipe2 succeeded, so both are open descriptors that nothing else owns.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // The handler must never block on a full pipe (it holds one byte per signal at most).
    // SAFETY: fcntl on a descriptor this function owns.
    if unsafe { libc::fcntl(fds[1], libc::F_SETFL, libc::O_NONBLOCK) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let (tid_tx, tid_rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name(FATAL_THREAD.to_owned())
        .spawn(move || {
            let _ = tid_tx.send(gettid());
            helper(File::from(read));
        })?;
    let helper_tid = tid_rx
        .recv()
        .map_err(|_| io::Error::other("the helper thread ended at start"))?;
    HELPER_TID.store(helper_tid, Ordering::Release);
    // SAFETY: a zeroed sigaction is a valid value (SIG_DFL, empty mask, no flags).
    let mut previous: [libc::sigaction; 5] = unsafe { std::mem::zeroed() };
    for (signo, old) in FATAL.iter().zip(previous.iter_mut()) {
        // SAFETY: a null new action only reads the current one into `old`.
        if unsafe { libc::sigaction(*signo, std::ptr::null(), old) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    let _ = PREVIOUS.set(previous);
    // The write end lives as long as the process: the handler may need it at any time.
    WAKE.store(
        std::os::fd::IntoRawFd::into_raw_fd(write),
        Ordering::Release,
    );
    // SAFETY: getpid cannot fail.
    INSTALLED_IN.store(unsafe { libc::getpid() }, Ordering::Release);
    // SAFETY: a zeroed sigaction is a valid value; the fields that matter are set below.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = on_fatal as extern "C" fn(c_int, *mut siginfo_t, *mut c_void) as usize;
    action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
    // SAFETY: `action.sa_mask` is a valid sigset_t to empty.
    unsafe { libc::sigemptyset(&mut action.sa_mask) };
    for signo in FATAL {
        // SAFETY: installs a handler that only calls async-signal-safe functions (see the
        // module documentation); the previous action was saved above.
        if unsafe { libc::sigaction(signo, &action, std::ptr::null_mut()) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// The calling thread's kernel id.
fn gettid() -> i32 {
    // SAFETY: SYS_gettid takes no arguments, cannot fail and is async-signal-safe.
    unsafe { libc::syscall(libc::SYS_gettid) as i32 }
}

/// The signal handler. Only async-signal-safe calls from here on (see the module docs).
extern "C" fn on_fatal(signo: c_int, info: *mut siginfo_t, context: *mut c_void) {
    // SAFETY: __errno_location gives this thread's errno, always valid.
    let errno = unsafe { *libc::__errno_location() };
    // SAFETY: getpid is async-signal-safe and cannot fail.
    if unsafe { libc::getpid() } == INSTALLED_IN.load(Ordering::Acquire) {
        hand_off(signo, info);
    }
    // SAFETY: as above; the interrupted code or the next handler sees its own errno.
    unsafe { *libc::__errno_location() = errno };
    hand_on(signo, info, context);
}

/// Has the helper write the record and flush, and waits for it (200 ms at most).
fn hand_off(signo: c_int, info: *mut siginfo_t) {
    let tid = gettid();
    if tid == HELPER_TID.load(Ordering::Acquire) || on_writer_thread() {
        return; // it would wait for itself
    }
    match HANDLING.compare_exchange(0, tid, Ordering::AcqRel, Ordering::Acquire) {
        Ok(_) => {
            TID.store(tid, Ordering::Relaxed);
            if let Some(address) = fault_address(signo, info) {
                ADDRESS.store(address, Ordering::Relaxed);
                HAS_ADDRESS.store(true, Ordering::Relaxed);
            }
            // Last, Release: the helper loads it first, Acquire, and sees the stores above.
            SIGNO.store(signo, Ordering::Release);
            let byte = 1u8;
            // SAFETY: write(2) of one byte from a live stack variable to the pipe's
            // non-blocking write end: async-signal-safe, never blocks.
            let written = unsafe {
                libc::write(WAKE.load(Ordering::Acquire), (&byte as *const u8).cast(), 1)
            };
            if written != 1 {
                return;
            }
        }
        // Re-entered on this thread: a second fatal signal while handling the first.
        Err(owner) if owner == tid => return,
        // Another thread is handing its signal off: wait for the same flush.
        Err(_) => {}
    }
    wait_done(ENDING_FLUSH);
}

/// The faulting address of a fault the kernel raised (`si_code > 0`).
fn fault_address(signo: c_int, info: *mut siginfo_t) -> Option<usize> {
    if info.is_null()
        || !matches!(
            signo,
            libc::SIGSEGV | libc::SIGBUS | libc::SIGFPE | libc::SIGILL
        )
    {
        return None;
    }
    // SAFETY: the kernel passes a valid siginfo_t with SA_SIGINFO; si_addr is the union
    // member it fills for these four signals when it raised them (si_code > 0).
    unsafe {
        if (*info).si_code <= 0 {
            return None;
        }
        Some((*info).si_addr() as usize)
    }
}

/// Whether the calling thread is ranklog's writer thread, from its name in
/// `/proc/thread-self/comm`: open, read and close are async-signal-safe; no allocation.
fn on_writer_thread() -> bool {
    const PATH: &[u8] = b"/proc/thread-self/comm\0";
    let mut name = [0u8; 16];
    // SAFETY: PATH is NUL-terminated; the descriptor is closed below.
    let fd = unsafe { libc::open(PATH.as_ptr().cast(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return false;
    }
    // SAFETY: reads at most `name.len()` bytes into `name`.
    let len = unsafe { libc::read(fd, name.as_mut_ptr().cast(), name.len()) };
    // SAFETY: `fd` was opened above and is closed once.
    unsafe { libc::close(fd) };
    let Ok(len) = usize::try_from(len) else {
        return false;
    };
    let name = &name[..len];
    let name = name.strip_suffix(b"\n").unwrap_or(name);
    name == WRITER_THREAD.as_bytes()
}

/// Waits until the helper is done, `limit` at most, in 1 ms sleeps.
fn wait_done(limit: Duration) {
    let start = monotonic();
    let step = libc::timespec {
        tv_sec: 0,
        tv_nsec: 1_000_000,
    };
    while !DONE.load(Ordering::Acquire) {
        if monotonic().saturating_sub(start) >= limit {
            return;
        }
        // SAFETY: nanosleep is async-signal-safe; `step` is a valid timespec and the
        // remainder is not wanted.
        unsafe { libc::nanosleep(&step, std::ptr::null_mut()) };
    }
}

/// CLOCK_MONOTONIC (clock_gettime is async-signal-safe).
fn monotonic() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid timespec to fill; CLOCK_MONOTONIC always exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

/// Puts back the action that was there before ranklog's and passes the signal to it.
fn hand_on(signo: c_int, info: *mut siginfo_t, context: *mut c_void) {
    let previous = PREVIOUS
        .get()
        .and_then(|all| FATAL.iter().position(|s| *s == signo).map(|i| all[i]));
    // SAFETY: a zeroed sigaction is SIG_DFL with no flags.
    let previous = previous.unwrap_or_else(|| unsafe { std::mem::zeroed() });
    let handler = previous.sa_sigaction;
    let is_function = handler != libc::SIG_DFL && handler != libc::SIG_IGN;
    let mut restored = previous;
    if is_function && previous.sa_flags & libc::SA_RESETHAND != 0 {
        // It would have been reset to the default on delivery.
        restored.sa_sigaction = libc::SIG_DFL;
    }
    // SAFETY: sigaction is async-signal-safe; `restored` is a copy of a saved action.
    unsafe { libc::sigaction(signo, &restored, std::ptr::null_mut()) };
    if handler == libc::SIG_DFL {
        if !raised_by_kernel(info) {
            // Blocked while this handler runs: delivered, with the default action, as it
            // returns.
            // SAFETY: raise is async-signal-safe.
            unsafe { libc::raise(signo) };
        }
        // A kernel fault: the instruction faults again on return, now with the default
        // action.
        return;
    }
    if handler == libc::SIG_IGN {
        return;
    }
    // SAFETY: pthread_sigmask is async-signal-safe; blocks what the previous handler's
    // mask blocked, as the kernel would have (the mask is restored when this handler
    // returns).
    unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &previous.sa_mask, std::ptr::null_mut()) };
    if previous.sa_flags & libc::SA_SIGINFO != 0 {
        // SAFETY: with SA_SIGINFO the saved handler was installed as a three-argument
        // sa_sigaction function; it gets the arguments the kernel gave this one.
        let f: extern "C" fn(c_int, *mut siginfo_t, *mut c_void) =
            unsafe { std::mem::transmute(handler) };
        f(signo, info, context);
    } else {
        // SAFETY: without SA_SIGINFO the saved handler is a one-argument sa_handler.
        let f: extern "C" fn(c_int) = unsafe { std::mem::transmute(handler) };
        f(signo);
    }
}

/// Whether the kernel raised the signal for a fault (`si_code > 0`), rather than `kill`,
/// `raise`, `abort` or `sigqueue` (`si_code <= 0`).
fn raised_by_kernel(info: *mut siginfo_t) -> bool {
    // SAFETY: the kernel passes a valid siginfo_t with SA_SIGINFO; null is checked.
    !info.is_null() && unsafe { (*info).si_code } > 0
}

/// The helper thread: waits for the handler's byte, then writes the record and flushes.
fn helper(mut wake: File) {
    let mut byte = [0u8; 1];
    while wake.read_exact(&mut byte).is_ok() {
        report();
        DONE.store(true, Ordering::Release);
    }
}

/// Writes the `fatal_signal` record through the active logger and flushes its queue.
fn report() {
    let Some(active) = registry::current() else {
        return;
    };
    let signo = SIGNO.load(Ordering::Acquire);
    let tid = TID.load(Ordering::Relaxed);
    let name = signal_hook::low_level::signal_name(signo).unwrap_or("signal");
    let thread = thread_name(tid);
    let log = active.own_logger();
    if HAS_ADDRESS.load(Ordering::Relaxed) {
        let address = format!("{:#x}", ADDRESS.load(Ordering::Relaxed));
        slog::crit!(log, "fatal signal {} at address {} on thread {} (tid {})", name, address, thread, tid;
            "kind" => "fatal_signal", "signal" => name, "signo" => signo,
            "thread" => &thread, "tid" => tid, "address" => &address);
    } else {
        slog::crit!(log, "fatal signal {} on thread {} (tid {})", name, thread, tid;
            "kind" => "fatal_signal", "signal" => name, "signo" => signo,
            "thread" => &thread, "tid" => tid);
    }
    active.pipeline.flush(ENDING_FLUSH);
}

/// The name of thread `tid` of this process, or `unknown`.
fn thread_name(tid: i32) -> String {
    std::fs::read_to_string(format!("/proc/self/task/{tid}/comm"))
        .map(|name| name.trim_end_matches('\n').to_owned())
        .unwrap_or_else(|_| "unknown".to_owned())
}
