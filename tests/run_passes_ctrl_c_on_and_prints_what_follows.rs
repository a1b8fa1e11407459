//! A SIGINT sent to `ranklog run` (as a batch system or `kill -INT` would) does not end
//! it: it reaches COMMAND, the records COMMAND logs afterwards (ranklog's own "received
//! SIGINT" record here) are still printed, and `ranklog run` exits with COMMAND's status
//! (130, a SIGINT).
//!
//! The job is the ignored [`PROBE`] test, run plainly (one process), with `PROBE_ENV` set.
#![cfg(feature = "cli")]

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use slog::info;

const PROBE: &str = "probe_waits_for_a_signal";
const PROBE_ENV: &str = "RANKLOG_SIGNAL_PROBE";
const READY: &str = "signal-mark-ready";

#[test]
#[ignore = "child process of run_passes_sigint_on_and_prints_the_records_after_it; run by it under ranklog run"]
fn probe_waits_for_a_signal() {
    common::probe_env(PROBE_ENV);
    let guard = ranklog::Builder::from_env()
        .expect("ranklog run's variables are valid")
        .gpu(ranklog::GpuMode::Off)
        .build()
        .expect("logger builds");
    info!(guard.logger(), "{}", READY);
    assert!(
        guard.flush(Duration::from_secs(10)),
        "the record is written"
    );
    // ranklog's signal handler logs the signal, flushes and exits 130.
    std::thread::sleep(Duration::from_secs(120));
    panic!("no signal came");
}

#[test]
fn run_passes_sigint_on_and_prints_the_records_after_it() {
    let dir = common::temp_dir("run-sigint");
    let child = Command::new(env!("CARGO_BIN_EXE_ranklog"))
        .args(["run", "--dir"])
        .arg(&dir)
        .arg("--")
        .arg(std::env::current_exe().expect("the test binary's path"))
        .args(common::probe_args(PROBE))
        .env(PROBE_ENV, "1")
        .env("NO_COLOR", "1")
        .env_remove("RANKLOG_DIR")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ranklog runs");
    let file = dir.join("rank-00000.jsonl");
    let start = Instant::now();
    while !std::fs::read_to_string(&file).is_ok_and(|t| t.contains(READY)) {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the job never got ready"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // SAFETY: kill has no memory effects; the pid is our own child's.
    assert_eq!(
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) },
        0
    );
    let out = child.wait_with_output().expect("ranklog run ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains(READY), "{stderr}");
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("WARN ") && l.contains("received SIGINT")),
        "the record logged after the signal is printed:\n{stderr}"
    );
    assert!(
        stderr.contains("exited with status 130 (after SIGINT)"),
        "{stderr}"
    );
}
