//! A process that logs a burst of [`N`] numbered records and then dies keeps every one of
//! them in its file, however it dies: returning from `main`, `std::process::exit` with the
//! guard still alive (the `atexit` flush), `ranklog::exit`, `abort()`, a real SIGSEGV (a
//! write through a null pointer), a real SIGBUS (reading a mapped page of a file truncated
//! to nothing), a stack overflow (Rust's own SIGSEGV handler still reports it), and SIGFPE
//! and SIGILL (sent with `raise`, not by a faulting instruction: the handler treats raised
//! signals and faults alike save for how it ends the process, and the SIGSEGV and SIGBUS
//! cases cover faults). It also ends the way it would have without ranklog: the same exit
//! code or the same signal; and a fatal signal leaves exactly one `fatal_signal` record
//! naming it.
//!
//! Each case is one child process: this test binary again, running the ignored [`PROBE`]
//! with [`CASE_ENV`] naming how to die.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::mpirun::{clean_env, run_status};
use serde_json::Value;

/// The child side; also the name of the thread it runs on.
const PROBE: &str = "probe_child_logs_n_records_then_dies";
/// How the child dies, set by the parent.
const CASE_ENV: &str = "RANKLOG_DEATH_PROBE";
/// The child's log directory.
const DIR_ENV: &str = "RANKLOG_DEATH_PROBE_DIR";
/// Records the child logs before it dies.
const N: u64 = 20_000;
/// The child's message for its numbered records.
const MSG: &str = "numbered";

#[test]
#[ignore = "child process of this file's tests, one per way of dying; run by them"]
fn probe_child_logs_n_records_then_dies() {
    let case = common::probe_env(CASE_ENV);
    let dir = PathBuf::from(common::probe_env(DIR_ENV));
    let guard = ranklog::Builder::from_env()
        .expect("no bad RANKLOG_* variable")
        .dir(&dir)
        .no_console()
        .gpu(ranklog::GpuMode::Off)
        .build()
        .expect("logger builds");
    let log = guard.logger();
    for i in 0..N {
        slog::info!(log, "{}", MSG; "seq" => i);
    }
    match case.to_str() {
        Some("return") => drop(guard),
        Some("exit") => {
            // The guard is never dropped: only the atexit handler can write the queue out.
            std::mem::forget(guard);
            std::process::exit(3);
        }
        Some("ranklog_exit") => {
            // Flushes, then std::process::exit: the atexit flush finds nothing left.
            std::mem::forget(guard);
            ranklog::exit(4);
        }
        // SAFETY: abort() takes no arguments and does not return.
        Some("abort") => unsafe { libc::abort() },
        Some("segv") => {
            // SAFETY: not safe at all, on purpose: the write through a null pointer faults
            // (SIGSEGV, SEGV_MAPERR at address 0) and the process dies there.
            unsafe { std::ptr::write_volatile(std::ptr::null_mut::<u8>(), 1) };
        }
        Some("bus") => {
            let path = dir.join("truncated");
            let file = std::fs::File::options()
                .create(true)
                .truncate(true)
                .read(true)
                .write(true)
                .open(&path)
                .expect("a scratch file");
            file.set_len(4096).expect("a page of zeros");
            // SAFETY: maps one readable page of a file this process owns; the mapping is
            // read once below, through a volatile read.
            let page = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    4096,
                    libc::PROT_READ,
                    libc::MAP_SHARED,
                    std::os::fd::AsRawFd::as_raw_fd(&file),
                    0,
                )
            };
            assert_ne!(page, libc::MAP_FAILED, "mmap");
            file.set_len(0).expect("truncate");
            // SAFETY: not safe, on purpose: the page lies past the end of the file now, so
            // reading it raises SIGBUS (BUS_ADRERR) and the process dies there.
            let byte = unsafe { std::ptr::read_volatile(page.cast::<u8>()) };
            panic!("reading a truncated mapping gave {byte} instead of SIGBUS");
        }
        // SAFETY: raise() sends a signal to the calling thread; the default action of both
        // ends the process.
        Some("fpe") => unsafe {
            libc::raise(libc::SIGFPE);
        },
        // SAFETY: as above.
        Some("ill") => unsafe {
            libc::raise(libc::SIGILL);
        },
        Some("overflow") => {
            // Rust's own SIGSEGV handler (installed before ranklog's) tells a stack
            // overflow from other faults and aborts: ranklog passes the fault on to it.
            #[allow(unconditional_recursion)] // on purpose
            fn deeper(depth: u64) -> u64 {
                let frame = std::hint::black_box([depth; 64]);
                frame[(depth % 64) as usize] + deeper(depth + 1)
            }
            let overflowing = std::thread::Builder::new()
                .name("overflowing".to_owned())
                .stack_size(256 * 1024)
                .spawn(|| deeper(0))
                .expect("a thread");
            let never = overflowing.join();
            panic!("the stack overflow did not end the process: {never:?}");
        }
        other => panic!("unknown case {other:?}"),
    }
}

/// How a child ended, and the records of its file.
struct Death {
    status: std::process::ExitStatus,
    records: Vec<Value>,
    described: String,
}

/// Runs the probe with `case` and reads back its file.
fn die(case: &str) -> Death {
    let dir = common::temp_dir(&format!("death-{case}"));
    std::fs::create_dir_all(&dir).expect("a fresh directory");
    let mut cmd = Command::new(std::env::current_exe().expect("the test binary's path"));
    cmd.args(common::probe_args(PROBE));
    clean_env(&mut cmd);
    cmd.env(CASE_ENV, case).env(DIR_ENV, &dir);
    // No core files from the crashing children.
    // SAFETY: setrlimit is async-signal-safe, so it may run between fork and exec.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
            let none = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            libc::setrlimit(libc::RLIMIT_CORE, &none);
            Ok(())
        });
    }
    let done = run_status(cmd, Duration::from_secs(120)).expect("the child runs");
    assert!(!done.timed_out, "{}", done.describe());
    let status = done.status.expect("the child's status");
    let records = common::read_jsonl(&rank_file(&dir))
        .unwrap_or_else(|e| panic!("{e}\n{}", done.describe()))
        .into_iter()
        .map(Value::Object)
        .collect();
    let _ = std::fs::remove_dir_all(&dir);
    Death {
        status,
        records,
        described: done.describe(),
    }
}

/// The one JSONL file the child wrote in `dir`.
fn rank_file(dir: &Path) -> PathBuf {
    let files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("the child's directory")
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    assert_eq!(
        files.len(),
        1,
        "one rank file in {}: {files:?}",
        dir.display()
    );
    files.into_iter().next().unwrap()
}

/// Checks that the child's file holds every numbered record once, in order.
#[track_caller]
fn assert_all_n_kept(case: &str, death: &Death) {
    let seq: Vec<u64> = death
        .records
        .iter()
        .filter(|r| r["msg"] == MSG)
        .map(|r| r["seq"].as_u64().expect("seq is a number"))
        .collect();
    eprintln!(
        "{case}: {} of {N} numbered records kept, child {}",
        seq.len(),
        death.status
    );
    let expected: Vec<u64> = (0..N).collect();
    assert!(
        seq == expected,
        "{case}: {} of {N} records kept; first gap after {:?}\n{}",
        seq.len(),
        seq.iter().zip(0..).find(|(s, i)| **s != *i).map(|(_, i)| i),
        death.described
    );
}

/// The `fatal_signal` records of the child's file.
fn fatal_records(death: &Death) -> Vec<&Value> {
    common::of_kind(&death.records, "fatal_signal")
}

/// Runs the child dying of `signo` and checks its status, its records and its one
/// `fatal_signal` record, which it returns.
fn dies_of_signal(case: &str, signo: i32, name: &str) -> Value {
    use std::os::unix::process::ExitStatusExt;
    let death = die(case);
    assert_eq!(
        death.status.signal(),
        Some(signo),
        "{case}: the child dies of {name}, as it would without ranklog\n{}",
        death.described
    );
    assert_all_n_kept(case, &death);
    let fatal = fatal_records(&death);
    assert_eq!(
        fatal.len(),
        1,
        "{case}: one fatal_signal record\n{}",
        death.described
    );
    let record = fatal[0].clone();
    assert_eq!(record["level"], "critical", "{record}");
    assert_eq!(record["signal"], name, "{record}");
    assert_eq!(record["signo"], signo, "{record}");
    assert!(record["tid"].as_u64().is_some_and(|t| t > 0), "{record}");
    // libtest runs the probe on a thread named after it; Linux keeps 15 bytes of a name.
    assert_eq!(record["thread"], PROBE[..15], "{record}");
    record
}

#[test]
fn returning_from_main_keeps_all_n_records() {
    let death = die("return");
    assert!(death.status.success(), "{}", death.described);
    assert_all_n_kept("return", &death);
    assert!(fatal_records(&death).is_empty());
}

#[test]
fn process_exit_with_the_guard_alive_keeps_all_n_records_and_the_exit_code() {
    let death = die("exit");
    assert_eq!(death.status.code(), Some(3), "{}", death.described);
    assert_all_n_kept("exit", &death);
    assert!(fatal_records(&death).is_empty());
}

#[test]
fn ranklog_exit_still_keeps_all_n_records_and_the_exit_code() {
    let death = die("ranklog_exit");
    assert_eq!(death.status.code(), Some(4), "{}", death.described);
    assert_all_n_kept("ranklog_exit", &death);
    assert!(fatal_records(&death).is_empty());
}

#[test]
fn abort_keeps_all_n_records_and_dies_of_sigabrt() {
    let record = dies_of_signal("abort", libc::SIGABRT, "SIGABRT");
    assert!(record.get("address").is_none(), "{record}");
}

#[test]
fn a_null_pointer_write_keeps_all_n_records_and_dies_of_sigsegv_at_0x0() {
    let record = dies_of_signal("segv", libc::SIGSEGV, "SIGSEGV");
    assert_eq!(record["address"], "0x0", "{record}");
}

#[test]
fn a_truncated_mapping_keeps_all_n_records_and_dies_of_sigbus() {
    let record = dies_of_signal("bus", libc::SIGBUS, "SIGBUS");
    let address = record["address"].as_str().expect("a fault has an address");
    assert!(address.starts_with("0x") && address != "0x0", "{record}");
}

#[test]
fn sigfpe_keeps_all_n_records_and_dies_of_it() {
    let record = dies_of_signal("fpe", libc::SIGFPE, "SIGFPE");
    assert!(
        record.get("address").is_none(),
        "raised, not a fault: {record}"
    );
}

#[test]
fn sigill_keeps_all_n_records_and_dies_of_it() {
    let record = dies_of_signal("ill", libc::SIGILL, "SIGILL");
    assert!(
        record.get("address").is_none(),
        "raised, not a fault: {record}"
    );
}

#[test]
fn a_stack_overflow_keeps_all_n_records_and_still_reaches_rusts_own_handler() {
    use std::os::unix::process::ExitStatusExt;
    let death = die("overflow");
    // Rust's handler reports the overflow and aborts, as without ranklog.
    assert_eq!(
        death.status.signal(),
        Some(libc::SIGABRT),
        "{}",
        death.described
    );
    assert!(
        death.described.contains("has overflowed its stack"),
        "{}",
        death.described
    );
    assert_all_n_kept("overflow", &death);
    // One record, for the SIGSEGV; the SIGABRT that follows on the same thread is not
    // handed off again.
    let fatal = fatal_records(&death);
    assert_eq!(fatal.len(), 1, "{}", death.described);
    assert_eq!(fatal[0]["signal"], "SIGSEGV", "{}", fatal[0]);
    assert_eq!(fatal[0]["thread"], "overflowing", "{}", fatal[0]);
}
