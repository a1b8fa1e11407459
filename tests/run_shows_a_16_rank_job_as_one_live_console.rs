//! `ranklog run -- mpirun -np 16 ...` (oversubscribed, real ranks): every record all the
//! ranks log prints once, `[ranks 0-15]`, and the ranks' own consoles stay off; a rank
//! that logs a step 12 s after the others is named missing, then shown late; the job's
//! own output passes through; the run ends with the summary and the job directory, and
//! exits with the job's status.
//!
//! The rank side is the ignored [`PROBE`] test, which the job runs with `PROBE_ENV` set.
#![cfg(feature = "cli")]

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::mpirun::{mpirun_or_skip, ranklog_run_under_mpirun, run_status};
use slog::{info, warn};

const PROBE: &str = "probe_rank_logs_steps_one_late";
const PROBE_ENV: &str = "RANKLOG_RUN_PROBE";
const NP: u32 = 16;
/// The rank that logs the second step late, and how late.
const LATE_RANK: u32 = 5;
const LATE: Duration = Duration::from_secs(12);
const LOADED: &str = "run-mark-model-loaded";
const STEP: &str = "run-mark-step-done";
const SLOW: &str = "run-mark-slow-warning";
const PASSTHROUGH: &str = "run-mark-println";
const GLOBAL: &str = "run-mark-global";
const LOCAL: &str = "run-mark-local";
const LISTED: &str = "run-mark-ranks-list";

#[test]
#[ignore = "child process of run_collapses_the_ranks_records_and_names_the_late_rank; run by it under ranklog run and mpirun"]
fn probe_rank_logs_steps_one_late() {
    common::probe_env(PROBE_ENV);
    let guard = ranklog::Builder::from_env()
        .expect("ranklog run's variables are valid")
        .gpu(ranklog::GpuMode::Off)
        .build()
        .expect("logger builds");
    let info = guard.rank_info().clone();
    let dir = std::env::var_os("RANKLOG_DIR").expect("ranklog run sets RANKLOG_DIR");
    common::wait_for_rank_files(Path::new(&dir), info.size);
    let log = guard.logger();
    println!("{PASSTHROUGH} rank={}", info.rank);
    info!(log, "{}", LOADED; "bytes" => 1024_u64 * u64::from(info.rank + 1));
    warn!(log, "{}", SLOW; "scope" => "process");
    info!(log, "{}", GLOBAL; "scope" => "global");
    info!(log, "{}", LOCAL; "scope" => "local");
    info!(log, "{}", LISTED; "scope" => "ranks:1,last");
    if info.rank == LATE_RANK {
        std::thread::sleep(LATE);
    }
    info!(log, "{}", STEP; "step" => 1);
    drop(guard);
}

#[test]
fn run_collapses_the_ranks_records_and_names_the_late_rank() {
    let Some(mpirun) = mpirun_or_skip() else {
        return;
    };
    let dir = common::temp_dir("run-16");
    // A 4 s window: the ranks of a loaded 2-core machine log the same record within it.
    let mut cmd = ranklog_run_under_mpirun(
        env!("CARGO_BIN_EXE_ranklog"),
        &["--utc", "--window", "4s"],
        &dir,
        &mpirun,
        NP,
        PROBE,
    );
    cmd.env(PROBE_ENV, "1");
    let done = run_status(cmd, Duration::from_secs(300)).expect("ranklog run starts");
    assert!(done.success(), "{}", done.describe());
    let (stdout, stderr) = (&done.out.stdout, &done.out.stderr);
    let lines =
        |marker: &str| -> Vec<&str> { stderr.lines().filter(|l| l.contains(marker)).collect() };

    for marker in [LOADED, SLOW] {
        let found = lines(marker);
        assert_eq!(
            found.len(),
            1,
            "one line for all ranks, no rank console:\n{stderr}"
        );
        assert!(found[0].contains("[ranks 0-15]"), "{}", found[0]);
    }
    assert!(lines(SLOW)[0].starts_with("WARN "), "{}", lines(SLOW)[0]);
    // Every rank's file has the scoped records; the view shows the copies a console would
    // have printed: rank 0's global one, the node's first rank's local one (one node
    // here), the listed ranks' ones collapsed.
    for (marker, tag) in [
        (GLOBAL, "[00/16 "),
        (LOCAL, "[00/16 "),
        (LISTED, "[ranks 1,15 of 16]"),
    ] {
        let found = lines(marker);
        assert_eq!(found.len(), 1, "{marker} once:\n{stderr}");
        assert!(found[0].contains(tag), "{marker} as {tag}: {}", found[0]);
    }
    assert!(
        lines(LOADED)[0].contains("bytes=1024..16384"),
        "differing values show their range: {}",
        lines(LOADED)[0]
    );

    let step = lines(STEP);
    assert_eq!(step.len(), 2, "the step, then the late rank's:\n{stderr}");
    assert!(
        step[0].contains("[ranks 0-4,6-15 of 16, missing 5]"),
        "{}",
        step[0]
    );
    let late = step[1];
    let secs: f64 = late
        .split_once("[rank 5, ")
        .and_then(|(_, rest)| rest.split_once(" s later]"))
        .and_then(|(s, _)| s.parse().ok())
        .unwrap_or_else(|| panic!("a late follow-up for rank 5: {late}"));
    assert!(
        secs >= LATE.as_secs_f64() - 0.5 && secs < 120.0,
        "late by about {LATE:?}: {late}"
    );

    let passed: Vec<_> = stdout.lines().filter(|l| l.contains(PASSTHROUGH)).collect();
    assert_eq!(
        passed.len(),
        NP as usize,
        "the job's own output, unchanged:\n{stdout}"
    );
    assert!(
        stderr.contains("\njob\n  ranks     16 with records (world size 16)"),
        "{stderr}"
    );
    assert!(stderr.contains("\nstragglers"), "{stderr}");
    let end = stderr.lines().last().unwrap_or_default();
    assert!(
        end.contains("exited with status 0") && end.contains(&*dir.to_string_lossy()),
        "the last line names the job directory: {end}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn run_exits_with_the_commands_status() {
    let out = Command::new(env!("CARGO_BIN_EXE_ranklog"))
        .args(["run", "--dir"])
        .arg(common::temp_dir("run-status"))
        .args(["--", "sh", "-c", "echo plain-output; exit 7"])
        .output()
        .expect("ranklog runs");
    assert_eq!(out.status.code(), Some(7), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "plain-output\n");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no rank files"), "{stderr}");
    assert!(stderr.contains("sh exited with status 7"), "{stderr}");
}
