//! Feature `otlp`, under a real `mpirun -np 4`: the collector (`rotel-agent`) is killed
//! in the middle of the run. The job still exits 0, every rank's file still holds every
//! record, no log call waits on the dead collector, each rank's end waits at most the
//! exporter's exit bound (2 s), and the records the collector never got are counted in
//! each rank's `otlp_stats` record and shown by `ranklog summary`.
//!
//! The ranks (the ignored [`PROBE`] test, with `RANKLOG_OTLP_KILL_PROBE=1` set) log
//! [`BEFORE`] records, wait until the test has seen them at the collector, killed it and
//! said so (a file in the log directory), then log [`AFTER`] more and end. A second job
//! sends to a collector that takes connections and never answers: the same holds.

#![cfg(all(feature = "otlp", feature = "cli"))]

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::collector::{rotel_or_skip, Collector};
use common::mpirun::{mpirun_or_skip, run_status, self_under_mpirun};
use serde_json::Value;

/// The rank side, run by the job.
const PROBE: &str = "probe_rank_logs_through_a_collectors_death";
/// Set (to 1) in the ranks' environment by the job.
const PROBE_ENV: &str = "RANKLOG_OTLP_KILL_PROBE";
/// The ranks' log directory.
const DIR_ENV: &str = "RANKLOG_OTLP_KILL_PROBE_DIR";
/// The file the test makes in the log directory once the collector is dead.
const KILLED: &str = "collector-killed";
/// Records each rank logs before and after the collector's death.
const BEFORE: u32 = 10;
const AFTER: u32 = 30;
/// Ranks in the job.
const NP: u32 = 4;
/// The exporter's bound on the job's end (`EXIT_WAIT`), and what else a rank's end may
/// take on a loaded 2-core machine (the writer thread, the files, the GPU sampler's stop).
const EXIT_WAIT: Duration = Duration::from_secs(2);
const SLACK: Duration = Duration::from_millis(1500);

/// The rank side: runs only under the job of the test below.
#[test]
#[ignore = "child process of this file's tests; run by them under mpirun"]
fn probe_rank_logs_through_a_collectors_death() {
    common::probe_env(PROBE_ENV);
    let dir = PathBuf::from(common::probe_env(DIR_ENV));
    let info = ranklog::RankInfo::from_env().expect("Open MPI's variables describe this rank");
    let rank = info.rank;
    let guard = ranklog::Builder::from_env()
        .expect("no bad RANKLOG_* variable")
        .rank_info(info)
        .dir(&dir)
        .gpu(ranklog::gpu::GpuMode::Off)
        .build()
        .expect("logger builds");
    let log = guard.logger();
    let mut slowest = Duration::ZERO;
    let mut timed = |i: u32, phase: &str| {
        let t = Instant::now();
        slog::info!(log, "otlp-kill {} rank={} i={}", phase, rank, i; "i" => i);
        slowest = slowest.max(t.elapsed());
    };
    for i in 0..BEFORE {
        timed(i, "before");
    }
    let waited = Instant::now();
    while !dir.join(KILLED).exists() {
        assert!(
            waited.elapsed() < Duration::from_secs(60),
            "the test never killed the collector"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    for i in 0..AFTER {
        timed(i, "after");
        std::thread::sleep(Duration::from_millis(10));
    }
    let end = Instant::now();
    drop(guard);
    println!(
        "RANK {rank} slowest_log_us={} end_ms={}",
        slowest.as_micros(),
        end.elapsed().as_millis()
    );
}

#[test]
fn the_job_exits_whole_and_in_time_and_counts_what_the_collector_missed() {
    let (Some(rotel), Some(mpirun)) = (rotel_or_skip(), mpirun_or_skip()) else {
        return;
    };
    let dir = common::temp_dir("otlp-kill");
    std::fs::create_dir_all(&dir).unwrap();
    let mut collector = Collector::start(&rotel, &dir.join("rotel.pid"));
    let dir_text = dir.to_string_lossy().into_owned();
    let cmd = self_under_mpirun(
        &mpirun,
        NP,
        PROBE,
        &[
            (PROBE_ENV, "1"),
            (DIR_ENV, &dir_text),
            ("RANKLOG_OTLP", "on"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &collector.http),
            // Batches every 100 ms, so the first records arrive before the kill.
            ("OTEL_BLRP_SCHEDULE_DELAY", "100"),
        ],
    );
    let job = std::thread::spawn(move || run_status(cmd, Duration::from_secs(120)));
    let seen = collector.wait_for(Duration::from_secs(60), |out| {
        common::count(out, "otlp-kill before") == (NP * BEFORE) as usize
    });
    assert_eq!(
        common::count(&seen, "otlp-kill before"),
        (NP * BEFORE) as usize,
        "the records before the kill reach the live collector:\n{seen}"
    );
    // The collector answers a request after printing it: give the answers time to
    // arrive, so that what it printed was also acknowledged.
    std::thread::sleep(Duration::from_millis(500));
    collector.kill();
    std::fs::write(dir.join(KILLED), b"").unwrap();
    let job = job.join().unwrap().expect("mpirun starts");
    for (rank, s) in whole_and_in_time(&job, &dir).iter().enumerate() {
        let delivered = s["delivered"].as_u64().unwrap();
        let undelivered = s["undelivered"].as_u64().unwrap();
        assert!(delivered >= u64::from(BEFORE), "rank {rank}: {s}");
        assert!(undelivered >= u64::from(AFTER), "rank {rank}: {s}");
    }

    // `ranklog summary` tells which ranks' records the collector missed.
    let summary = Command::new(env!("CARGO_BIN_EXE_ranklog"))
        .arg("summary")
        .arg(&dir)
        .output()
        .expect("ranklog runs");
    let text = String::from_utf8_lossy(&summary.stdout);
    assert!(summary.status.success(), "{text}");
    let line = text
        .lines()
        .find(|l| l.contains("OTLP"))
        .unwrap_or_else(|| panic!("no OTLP line in the summary:\n{text}"));
    assert!(line.contains("ranks 0-3"), "{line}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Checks what every collector failure must leave: the job exited 0, no log call waited
/// on the collector, each rank's end waited at most the bound, each file has every record
/// and one `otlp_stats` warning whose counts add up. Returns the ranks' `otlp_stats`.
fn whole_and_in_time(job: &common::mpirun::Finished, dir: &Path) -> Vec<Value> {
    assert!(job.success(), "{}", job.describe());
    (0..NP)
        .map(|rank| {
            // libtest prints `test NAME ... ` first, on the same line.
            let tag = format!("RANK {rank} ");
            let line = job
                .out
                .stdout
                .lines()
                .find_map(|l| l.find(&tag).map(|at| &l[at..]))
                .unwrap_or_else(|| panic!("rank {rank} printed no timing:\n{}", job.describe()));
            let field = |name: &str| -> u128 {
                line.split_whitespace()
                    .find_map(|w| w.strip_prefix(name)?.strip_prefix('='))
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| panic!("no {name} in {line:?}"))
            };
            assert!(
                field("slowest_log_us") < 100_000,
                "a log call waited on the collector: {line}"
            );
            assert!(
                field("end_ms") <= (EXIT_WAIT + SLACK).as_millis(),
                "rank {rank}'s end waited past the bound: {line}"
            );
            let records = common::records(&dir.join(format!("rank-{rank:05}.jsonl")));
            let logged = records
                .iter()
                .filter(|r| r["msg"].as_str().unwrap_or("").starts_with("otlp-kill"))
                .count();
            assert_eq!(
                logged,
                (BEFORE + AFTER) as usize,
                "rank {rank}'s file is whole"
            );
            let stats = common::of_kind(&records, "otlp_stats");
            assert_eq!(stats.len(), 1, "rank {rank}: one otlp_stats record");
            let s = stats[0].clone();
            let n = |key: &str| s[key].as_u64().unwrap();
            assert_eq!(n("sent"), n("delivered") + n("undelivered"), "{s}");
            assert_eq!(s["level"], "warning", "{s}");
            s
        })
        .collect()
}

#[test]
fn a_collector_that_never_answers_delays_the_end_at_most_the_bound() {
    let Some(mpirun) = mpirun_or_skip() else {
        return;
    };
    // Takes connections and never answers: every export waits for its timeout (10 s).
    // It holds every connection until the test ends: one that stopped after N connections
    // closed them all and let the last exports fail at once, so the exporters finished.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    let dir = common::temp_dir("otlp-hung");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(KILLED), b"").unwrap();
    let dir_text = dir.to_string_lossy().into_owned();
    let cmd = self_under_mpirun(
        &mpirun,
        NP,
        PROBE,
        &[
            (PROBE_ENV, "1"),
            (DIR_ENV, &dir_text),
            ("RANKLOG_OTLP", "on"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("OTEL_BLRP_SCHEDULE_DELAY", "100"),
        ],
    );
    let job = run_status(cmd, Duration::from_secs(120)).expect("mpirun starts");
    for (rank, s) in whole_and_in_time(&job, &dir).iter().enumerate() {
        assert_eq!(s["delivered"], 0, "rank {rank}: {s}");
        assert_eq!(s["finished"], false, "rank {rank}: {s}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
