//! Under a real `mpirun -np 4`: (a) one rank panics, the job is aborted, and every rank's
//! file holds a gap-free numbered sequence; (b) mpirun gets SIGTERM after every rank has
//! logged N records, and all N are in every file; (c) with the drop policy and a tiny
//! queue, records written plus records reported dropped add up exactly.
//!
//! The rank side is the ignored [`PROBE`] test, which each test runs under `mpirun` with
//! `RANKLOG_END_PROBE` naming its case.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::mpirun::{mpirun_or_skip, run_with_timeout, self_under_mpirun};
use serde_json::Value;
use slog::info;

/// The rank side, run by each test's job under `mpirun`; also the name of its thread.
const PROBE: &str = "probe_rank_runs_the_named_case";
/// The case the ranks run, set by the test.
const CASE_ENV: &str = "RANKLOG_END_PROBE";
const DIR_ENV: &str = "RANKLOG_END_PROBE_DIR";
/// Records each rank logs before saying it is ready (case b).
const READY_AFTER: u64 = 20_000;
/// Records each rank tries to log in case c.
const BURST: u64 = 50_000;

#[test]
#[ignore = "child process of this file's tests, each its own case; run by them under mpirun"]
fn probe_rank_runs_the_named_case() {
    let case = common::probe_env(CASE_ENV);
    let dir = PathBuf::from(common::probe_env(DIR_ENV));
    let mut builder = ranklog::Builder::from_env()
        .expect("no bad RANKLOG_* variable")
        .dir(&dir)
        .gpu(ranklog::GpuMode::Off);
    if case != "panic" {
        builder = builder.no_console();
    }
    if case == "drop" {
        builder = builder
            .overflow(ranklog::Overflow::Drop)
            .queue_len(1)
            .expect("a valid queue length");
    }
    let guard = builder.build().expect("logger builds");
    let me = guard.rank_info().rank;
    let log = guard.logger();
    // Rank 2's panic aborts the job: every rank has its file first.
    common::wait_for_rank_files(&dir, guard.rank_info().size);
    match case.to_str() {
        Some("panic") => {
            for n in 0u64.. {
                if me == 2 && n == 500 {
                    panic!("rank 2 gives up at record 500");
                }
                // Files only: the console shows the panic.
                info!(log, "seq"; "n" => n, "console" => false);
                std::thread::sleep(Duration::from_micros(200));
                if n > 200_000 {
                    break; // never reached: mpirun aborts the job first
                }
            }
        }
        Some("sigterm") => {
            for n in 0..READY_AFTER {
                info!(log, "seq"; "n" => n);
            }
            // One write, so mpirun forwards it whole.
            println!("READY rank={me}");
            std::thread::sleep(Duration::from_secs(60)); // SIGTERM ends this
        }
        Some("drop") => {
            for n in 0..BURST {
                info!(log, "seq"; "n" => n);
            }
            drop(guard);
        }
        other => panic!("unknown case {other:?}"),
    }
}

fn temp_dir(case: &str) -> PathBuf {
    common::temp_dir(&format!("end-{case}"))
}

/// Every record of every rank's file: `files[rank]`.
fn read_files(dir: &Path) -> Vec<Vec<Value>> {
    (0..4)
        .map(|r| {
            let path = dir.join(format!("rank-{r:05}.jsonl"));
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
            text.lines()
                .map(|l| {
                    serde_json::from_str(l)
                        .unwrap_or_else(|e| panic!("{}: {e}: {l}", path.display()))
                })
                .collect()
        })
        .collect()
}

/// The `n` of the `seq` records, in file order.
fn sequence(records: &[Value]) -> Vec<u64> {
    records
        .iter()
        .filter(|r| r["msg"] == "seq")
        .map(|r| r["n"].as_u64().expect("n is a number"))
        .collect()
}

#[track_caller]
fn assert_gap_free(rank: usize, seq: &[u64]) {
    let expected: Vec<u64> = (0..seq.len() as u64).collect();
    assert!(
        seq == expected,
        "rank {rank}: the sequence has gaps or repeats: {:?}...",
        &seq[..seq.len().min(20)]
    );
}

#[test]
fn a_panicking_rank_leaves_gap_free_files_on_every_rank() {
    let Some(mpirun) = mpirun_or_skip() else {
        return;
    };
    let dir = temp_dir("panic");
    let dir_text = dir.to_string_lossy().into_owned();
    let cmd = self_under_mpirun(
        &mpirun,
        4,
        PROBE,
        &[(CASE_ENV, "panic"), (DIR_ENV, &dir_text)],
    );
    let out = run_with_timeout(cmd, Duration::from_secs(120));
    let err = out
        .err()
        .expect("mpirun reports the aborted job as a failure");
    let files = read_files(&dir);
    for (rank, records) in files.iter().enumerate() {
        let seq = sequence(records);
        assert_gap_free(rank, &seq);
        assert!(!seq.is_empty(), "rank {rank} logged nothing\n{err}");
    }
    assert_eq!(
        sequence(&files[2]).len(),
        500,
        "rank 2 logged 0..=499, then panicked"
    );
    let panic = files[2]
        .iter()
        .find(|r| r["kind"] == "panic")
        .unwrap_or_else(|| panic!("rank 2's file has the panic record\n{err}"));
    assert_eq!(panic["level"], "critical");
    assert_eq!(panic["msg"], "panic: rank 2 gives up at record 500");
    assert_eq!(panic["thread"], PROBE);
    assert!(
        panic["at"]
            .as_str()
            .unwrap()
            .contains("records_survive_panics"),
        "{panic}"
    );
    assert!(
        err.contains("panic: rank 2 gives up at record 500"),
        "the console shows it\n{err}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn sigterm_to_mpirun_after_n_records_leaves_all_n_in_every_file() {
    let Some(mpirun) = mpirun_or_skip() else {
        return;
    };
    let dir = temp_dir("sigterm");
    let dir_text = dir.to_string_lossy().into_owned();
    let mut cmd = self_under_mpirun(
        &mpirun,
        4,
        PROBE,
        &[(CASE_ENV, "sigterm"), (DIR_ENV, &dir_text)],
    );
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("mpirun starts");
    let stdout = BufReader::new(child.stdout.take().expect("piped"));
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut ready = 0;
    for line in stdout.lines() {
        let line = line.expect("mpirun's stdout is text");
        ready += line.matches("READY rank=").count();
        if ready == 4 || Instant::now() > deadline {
            break;
        }
    }
    assert_eq!(ready, 4, "every rank said it logged {READY_AFTER} records");
    let sent = Instant::now();
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = child.wait().expect("mpirun ends");
    let took = sent.elapsed();
    assert!(!status.success(), "a job ended by SIGTERM does not succeed");
    let mut noted = 0;
    for (rank, records) in read_files(&dir).iter().enumerate() {
        let seq = sequence(records);
        assert_gap_free(rank, &seq);
        assert_eq!(seq.len() as u64, READY_AFTER, "rank {rank}");
        let signal = records.iter().find(|r| r["kind"] == "signal");
        if let Some(signal) = signal {
            assert_eq!(signal["signal"], "SIGTERM", "rank {rank}");
            noted += 1;
        }
    }
    // Once one rank has died of the signal, Open MPI may SIGKILL its siblings before
    // their handlers run: every rank's records are on disk, but not every rank gets to
    // note the signal.
    assert!(noted >= 1, "at least one rank noted SIGTERM before ending");
    eprintln!("mpirun ended {took:?} after SIGTERM");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn with_the_drop_policy_written_plus_dropped_adds_up_exactly() {
    let Some(mpirun) = mpirun_or_skip() else {
        return;
    };
    let dir = temp_dir("drop");
    let dir_text = dir.to_string_lossy().into_owned();
    let cmd = self_under_mpirun(
        &mpirun,
        4,
        PROBE,
        &[(CASE_ENV, "drop"), (DIR_ENV, &dir_text)],
    );
    run_with_timeout(cmd, Duration::from_secs(120)).unwrap_or_else(|e| panic!("{e}"));
    let mut dropped_somewhere = false;
    for (rank, records) in read_files(&dir).iter().enumerate() {
        let written = sequence(records).len() as u64;
        let by_kind = |kind: &str, field: &str| -> Vec<u64> {
            records
                .iter()
                .filter(|r| r["kind"] == kind)
                .map(|r| r[field].as_u64().expect("a count"))
                .collect()
        };
        let reported: u64 = by_kind("dropped", "count").iter().sum();
        let totals = by_kind("dropped_total", "total");
        let total = totals.first().copied().unwrap_or(0);
        assert!(totals.len() <= 1, "rank {rank}: one total at most");
        assert_eq!(
            written + total,
            BURST,
            "rank {rank}: written {written} + dropped {total}"
        );
        assert!(
            reported <= total,
            "rank {rank}: reports {reported} <= total {total}"
        );
        let mut seq = sequence(records);
        seq.dedup();
        assert_eq!(
            seq.len() as u64,
            written,
            "rank {rank}: no record written twice"
        );
        dropped_somewhere |= total > 0;
    }
    assert!(
        dropped_somewhere,
        "a queue of 1 under a burst of {BURST} drops records"
    );
    let _ = std::fs::remove_dir_all(dir);
}
