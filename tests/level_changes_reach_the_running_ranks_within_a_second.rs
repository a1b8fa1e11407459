//! `ranklog level debug --ranks 2 DIR` makes rank 2 alone of a running 4-rank `mpirun` job
//! log its debug records within a second, and `ranklog level info DIR` stops them; each
//! rank that applies a change logs it.
//!
//! The rank side is the ignored [`PROBE`] test, which the job runs with
//! `RANKLOG_LEVEL_PROBE=1` set: it logs an info and a debug tick every 20 ms until the
//! parent writes the stop file.
#![cfg(feature = "cli")]

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::mpirun::{mpirun_or_skip, run_status, self_under_mpirun};

const PROBE: &str = "probe_rank_ticks_until_told_to_stop";
const PROBE_ENV: &str = "RANKLOG_LEVEL_PROBE";
const NP: u32 = 4;
/// Created by the parent when the ranks should end.
const STOP: &str = "stop";

#[test]
#[ignore = "child process of level_debug_reaches_rank_2_alone_and_level_info_stops_it; run by it under mpirun"]
fn probe_rank_ticks_until_told_to_stop() {
    common::probe_env(PROBE_ENV);
    let guard = ranklog::init().expect("the logger builds from Open MPI's variables");
    let log = guard.logger();
    let stop = guard.log_dir().expect("RANKLOG_DIR is set").join(STOP);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut n = 0u64;
    while !stop.exists() && Instant::now() < deadline {
        slog::info!(log, "tick-info"; "n" => n);
        slog::debug!(log, "tick-debug"; "n" => n);
        n += 1;
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The records of rank `rank` in `dir`, in file order.
fn records(dir: &Path, rank: u32) -> Vec<serde_json::Value> {
    let path = dir.join(format!("rank-{rank:05}.jsonl"));
    if !path.exists() {
        return Vec::new();
    }
    common::records(&path)
}

/// The records after the `nth` (0-based) `level_changed` record among `recs`.
fn after_change(recs: &[serde_json::Value], nth: usize) -> Option<&[serde_json::Value]> {
    let at = recs
        .iter()
        .enumerate()
        .filter(|(_, r)| r["kind"] == "level_changed")
        .nth(nth)?
        .0;
    Some(&recs[at + 1..])
}

fn ranklog_level(args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_ranklog"))
        .arg("level")
        .args(args)
        .output()
        .expect("the ranklog binary runs");
    assert!(
        out.status.success(),
        "ranklog level {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn micros(ts: &serde_json::Value) -> i64 {
    let text = ts.as_str().expect("a ts text");
    chrono::DateTime::parse_from_rfc3339(text)
        .expect("RFC 3339")
        .timestamp_micros()
}

#[test]
fn level_debug_reaches_rank_2_alone_and_level_info_stops_it() {
    let Some(mpirun) = mpirun_or_skip() else {
        return;
    };
    let dir = common::temp_dir("level-control");
    let dir_text = dir.to_string_lossy().into_owned();
    let cmd = self_under_mpirun(
        &mpirun,
        NP,
        PROBE,
        &[
            (PROBE_ENV, "1"),
            ("RANKLOG_DIR", &dir_text),
            ("RANKLOG_GPU", "off"),
        ],
    );
    let job = std::thread::spawn(move || run_status(cmd, Duration::from_secs(120)));
    let running = common::wait_until(Duration::from_secs(60), || {
        (0..NP).all(|r| records(&dir, r).iter().any(|v| v["msg"] == "tick-info"))
    });
    if !running {
        std::fs::write(dir.join(STOP), b"").unwrap();
        let finished = job.join().unwrap().unwrap();
        panic!("the ranks never logged:\n{}", finished.describe());
    }

    let asked = chrono::Utc::now().timestamp_micros();
    ranklog_level(&["debug", "--ranks", "2", &dir_text]);
    let debug_seen = common::wait_until(Duration::from_secs(10), || {
        records(&dir, 2).iter().any(|v| v["msg"] == "tick-debug")
    });
    assert!(debug_seen, "rank 2 never logged a debug record");
    let rank2 = records(&dir, 2);
    let first_debug = rank2.iter().find(|v| v["msg"] == "tick-debug").unwrap();
    let took_us = micros(&first_debug["ts"]) - asked;
    assert!(
        took_us <= 1_000_000,
        "rank 2's first debug record came {took_us} µs after `ranklog level`"
    );
    let change = rank2.iter().find(|v| v["kind"] == "level_changed").unwrap();
    assert_eq!(change["min_level"], "debug", "{change}");
    assert_eq!(change["previous_min_level"], "info", "{change}");

    ranklog_level(&["info", &dir_text]);
    let quiet = common::wait_until(Duration::from_secs(10), || {
        (0..NP).all(|r| {
            records(&dir, r)
                .iter()
                .filter(|v| v["kind"] == "level_changed")
                .count()
                == if r == 2 { 2 } else { 1 }
        })
    });
    assert!(quiet, "not every rank applied `ranklog level info`");
    // Some ticks after the change, then stop.
    let before_stop = records(&dir, 2).len();
    assert!(common::wait_until(Duration::from_secs(10), || {
        records(&dir, 2).len() > before_stop + 5
    }));
    std::fs::write(dir.join(STOP), b"").unwrap();
    let finished = job.join().unwrap().unwrap();
    assert!(finished.success(), "{}", finished.describe());

    for r in 0..NP {
        let recs = records(&dir, r);
        let debug = recs.iter().filter(|v| v["msg"] == "tick-debug").count();
        if r == 2 {
            assert!(debug > 0);
            let after = after_change(&recs, 1).expect("rank 2 applied two changes");
            assert!(
                after.iter().all(|v| v["msg"] != "tick-debug"),
                "rank 2 logged debug records after `ranklog level info`"
            );
        } else {
            assert_eq!(debug, 0, "rank {r} logged debug records");
        }
    }
    // The console: rank 2's debug lines with its tag, nobody else's.
    let console = &finished.out.stderr;
    let debug_lines: Vec<&str> = console
        .lines()
        .filter(|l| l.contains("tick-debug"))
        .collect();
    assert!(!debug_lines.is_empty(), "{console}");
    assert!(
        debug_lines.iter().all(|l| l.contains("[2/4 ")),
        "{debug_lines:?}"
    );
}
