//! A rank killed by SIGKILL right after logging a burst keeps every record whose log call
//! returned: the ones its writer had not written yet are in the ring beside its file, and
//! recovery (`ranklog::recover`, `ranklog recover`, `ranklog merge`, or the next start of a
//! rank on the same file) puts them into the file, in order, exactly once, marked
//! `"recovered": true`. Recovering twice adds nothing.
//!
//! The rank side is the ignored [`PROBE`] test, run as a child process with
//! `RANKLOG_KILL_PROBE=1` and `RANKLOG_DIR` set.

#[cfg(feature = "cli")]
mod cli_common;
mod common;

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Command;

use ranklog::{Builder, RankInfo};

const PROBE: &str = "probe_rank_logs_a_burst_and_is_killed";
const PROBE_ENV: &str = "RANKLOG_KILL_PROBE";
/// Records in the burst.
const N: u64 = 20_000;

#[test]
#[ignore = "child process of this file's tests; run by them with RANKLOG_KILL_PROBE=1"]
fn probe_rank_logs_a_burst_and_is_killed() {
    common::probe_env(PROBE_ENV);
    let guard = Builder::from_env()
        .unwrap()
        .rank_info(RankInfo::new(0, 1, 0, 1).unwrap())
        .no_console()
        .log_bridge(false)
        .gpu(ranklog::GpuMode::Off)
        .build()
        .unwrap();
    let log = guard.logger();
    for seq in 0..N {
        slog::info!(log, "burst"; "seq" => seq);
    }
    // SAFETY: sending SIGKILL to this very process; nothing runs after it.
    unsafe {
        libc::kill(libc::getpid(), libc::SIGKILL);
    }
    unreachable!("SIGKILL ends the process");
}

/// Runs the probe in a child process logging to `dir`; asserts it died by SIGKILL.
fn killed_child(dir: &Path) {
    let status = Command::new(std::env::current_exe().unwrap())
        .args(common::probe_args(PROBE))
        .env(PROBE_ENV, "1")
        .env("RANKLOG_DIR", dir)
        .env_remove("RANKLOG_CRASH_SAFE")
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert_eq!(status.signal(), Some(libc::SIGKILL), "{status:?}");
}

/// The burst's records in `dir`'s rank file: asserts `seq` is 0..N, in order, each once,
/// and returns how many were marked recovered.
fn assert_burst_complete(dir: &Path) -> u64 {
    let records = common::records(&dir.join("rank-00000.jsonl"));
    let burst: Vec<&serde_json::Value> = records.iter().filter(|r| r["msg"] == "burst").collect();
    let seqs: Vec<u64> = burst.iter().map(|r| r["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs.len() as u64, N, "every record of the burst, once");
    assert!(
        seqs.iter().copied().eq(0..N),
        "in order, gap-free, no duplicates"
    );
    let recovered = burst.iter().filter(|r| r["recovered"] == true).count() as u64;
    // Recovered records come after the written ones, and carry the rank's identity.
    let first = burst.iter().position(|r| r["recovered"] == true);
    if let Some(first) = first {
        assert!(burst[first..].iter().all(|r| r["recovered"] == true));
        assert_eq!(burst[first]["rank"], 0);
        assert_eq!(burst[first]["scope"], "process");
        assert_eq!(
            burst[first]["file"],
            "tests/records_outlive_sigkill_and_are_recovered_once.rs"
        );
    }
    recovered
}

/// A new logger of rank 0 on `dir`'s file, as a restarted rank would make it.
fn restart(dir: &Path) -> ranklog::Guard {
    common::builder_in(dir, RankInfo::new(0, 1, 0, 1).unwrap())
        .no_console()
        .build()
        .unwrap()
}

fn ring_of(dir: &Path) -> std::path::PathBuf {
    dir.join(".rank-00000.jsonl.ring")
}

#[test]
fn a_sigkilled_rank_keeps_every_record_after_recovery() {
    let dir = common::temp_dir("sigkill-recover");
    killed_child(&dir);
    assert!(ring_of(&dir).exists(), "a killed rank leaves its ring");
    let done = ranklog::recover(&dir).unwrap();
    assert_eq!(done.len(), 1, "{done:?}");
    let recovered = assert_burst_complete(&dir);
    assert_eq!(recovered, done[0].records, "{done:?}");
    eprintln!("recovered {recovered} of {N} records from the ring");
    assert!(!ring_of(&dir).exists(), "the recovered ring is removed");

    // Twice adds nothing.
    let before = std::fs::read(dir.join("rank-00000.jsonl")).unwrap();
    assert!(ranklog::recover(&dir).unwrap().is_empty());
    assert_eq!(std::fs::read(dir.join("rank-00000.jsonl")).unwrap(), before);
    // And a restart after a recovery adds only its own records.
    let guard = restart(&dir);
    drop(guard);
    assert_burst_complete(&dir);
    assert!(!ring_of(&dir).exists(), "a normal end removes its ring");
}

#[test]
fn the_next_start_on_the_same_file_recovers_first() {
    let dir = common::temp_dir("sigkill-restart");
    killed_child(&dir);
    let guard = restart(&dir);
    slog::info!(guard.logger(), "after the restart");
    drop(guard);
    assert_burst_complete(&dir);
    let records = common::records(&dir.join("rank-00000.jsonl"));
    let note = common::of_kind(&records, "recovered_records");
    assert_eq!(note.len(), 1, "the restart says what it recovered");
    let last_burst = records.iter().rposition(|r| r["msg"] == "burst").unwrap();
    let restart = records
        .iter()
        .position(|r| r["msg"] == "after the restart")
        .unwrap();
    assert!(
        last_burst < restart,
        "recovered records come before the new run's"
    );
}

#[cfg(feature = "cli")]
#[test]
fn ranklog_merge_recovers_before_reading_and_ranklog_recover_finds_nothing_left() {
    let dir = common::temp_dir("sigkill-merge");
    killed_child(&dir);
    let dir_text = dir.to_str().unwrap();
    let out = cli_common::ranklog(&["merge", "--json", "--grep", "burst", dir_text]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let merged = String::from_utf8(out.stdout).unwrap();
    assert_eq!(merged.lines().count() as u64, N);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("recovered from their rings") || !merged.contains("\"recovered\":true"),
        "merge says when it recovered: {stderr}"
    );
    assert_burst_complete(&dir);
    let again = cli_common::ranklog(&["recover", dir_text]);
    assert!(again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("nothing to recover"),
        "{}",
        String::from_utf8_lossy(&again.stdout)
    );
}
