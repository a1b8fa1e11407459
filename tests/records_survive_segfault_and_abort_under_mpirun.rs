//! Under a real `mpirun -np 4`, rank 1 dies of SIGSEGV (a write through a null pointer)
//! and rank 2 of `abort()`, each right after a burst of [`N`] numbered records, while
//! ranks 0 and 3 log theirs and end normally: every rank's file holds its N records,
//! gap-free, ranks 1 and 2 name their signal in one `fatal_signal` record, and mpirun
//! reports the job as failed.
//!
//! A second job: rank 3 kills itself with SIGKILL right after its burst, once the others
//! have ended; after recovery (`ranklog::recover`) its file holds all N records too, the
//! ones its writer had not written marked `"recovered": true`.
//!
//! mpirun aborts the whole job when a rank dies of a signal, so the ranks take turns
//! through marker files in the log directory: ranks 0 and 3 finish first; ranks 1 and 2
//! wait for them, log their burst, and die at about the same moment (each waits, at most
//! 2 s, for the other's "logged" marker) so that neither is killed by mpirun before its
//! handler has run.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::mpirun::{mpirun_or_skip, run_status, self_under_mpirun};
use serde_json::Value;

/// The rank side.
const PROBE: &str = "probe_rank_logs_n_records_then_ends_its_way";
const DIR_ENV: &str = "RANKLOG_FATAL_PROBE_DIR";
/// Set (to 1) for the SIGKILL job.
const KILL_ENV: &str = "RANKLOG_FATAL_PROBE_KILL";
/// Records each rank logs.
const N: u64 = 20_000;
const MSG: &str = "numbered";

/// Waits (1 ms steps, `limit` at most) until `path` exists; returns whether it does.
fn wait_for(path: &Path, limit: Duration) -> bool {
    let end = Instant::now() + limit;
    while !path.exists() {
        if Instant::now() > end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    true
}

fn marker(dir: &Path, what: &str, rank: u32) -> PathBuf {
    dir.join(format!("{what}-{rank}"))
}

#[test]
#[ignore = "rank side of records_survive_segfault_and_abort_under_mpirun; run by it under mpirun"]
fn probe_rank_logs_n_records_then_ends_its_way() {
    let dir = PathBuf::from(common::probe_env(DIR_ENV));
    let guard = ranklog::Builder::from_env()
        .expect("no bad RANKLOG_* variable")
        .dir(&dir)
        .no_console()
        .gpu(ranklog::GpuMode::Off)
        .build()
        .expect("logger builds");
    let me = guard.rank_info().rank;
    let log = guard.logger();
    let burst = || {
        for i in 0..N {
            slog::info!(log, "{}", MSG; "seq" => i);
        }
    };
    if std::env::var_os(KILL_ENV).is_some() {
        if me == 3 {
            for first in 0..3 {
                assert!(
                    wait_for(&marker(&dir, "done", first), Duration::from_secs(60)),
                    "rank {first} finished"
                );
            }
            burst();
            // SAFETY: sending SIGKILL to this very process; nothing runs after it.
            unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
        }
        burst();
        drop(guard);
        std::fs::write(marker(&dir, "done", me), b"").expect("a marker");
        return;
    }
    match me {
        1 | 2 => {
            for first in [0, 3] {
                assert!(
                    wait_for(&marker(&dir, "done", first), Duration::from_secs(60)),
                    "rank {first} finished"
                );
            }
            burst();
            std::fs::write(marker(&dir, "logged", me), b"").expect("a marker");
            wait_for(&marker(&dir, "logged", 3 - me), Duration::from_secs(2));
            if me == 1 {
                // SAFETY: not safe, on purpose: the write faults (SIGSEGV at address 0).
                unsafe { std::ptr::write_volatile(std::ptr::null_mut::<u8>(), 1) };
            }
            // SAFETY: abort() takes no arguments and does not return.
            unsafe { libc::abort() };
        }
        _ => {
            burst();
            drop(guard);
            std::fs::write(marker(&dir, "done", me), b"").expect("a marker");
        }
    }
}

/// The numbered records' `seq`, in file order, and the `fatal_signal` records of `rank`.
fn read_rank(dir: &Path, rank: u32) -> (Vec<u64>, Vec<Value>) {
    let path = dir.join(format!("rank-{rank:05}.jsonl"));
    let records: Vec<Value> = common::read_jsonl(&path)
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .map(Value::Object)
        .collect();
    let seq = records
        .iter()
        .filter(|r| r["msg"] == MSG)
        .map(|r| r["seq"].as_u64().expect("seq is a number"))
        .collect();
    let fatal = common::of_kind(&records, "fatal_signal")
        .into_iter()
        .cloned()
        .collect();
    (seq, fatal)
}

/// Asserts that `rank`'s file holds its N numbered records, in order, each once; returns
/// its `fatal_signal` records.
fn assert_complete(dir: &Path, rank: u32, described: &str) -> Vec<Value> {
    let (seq, fatal) = read_rank(dir, rank);
    eprintln!("rank {rank}: {} of {N} numbered records kept", seq.len());
    assert!(
        seq.iter().copied().eq(0..N),
        "rank {rank}: {} of {N} records, gaps or repeats\n{described}",
        seq.len()
    );
    fatal
}

/// Runs the probe under `mpirun -np 4` with its files in a fresh directory named after
/// `name` and `envs` set, and asserts that mpirun reports the job as failed; returns the
/// directory and what mpirun printed. `None` when mpirun is missing (outside CI).
fn failing_job(name: &str, envs: &[(&str, &str)]) -> Option<(PathBuf, String)> {
    let mpirun = mpirun_or_skip()?;
    let dir = common::temp_dir(name);
    std::fs::create_dir_all(&dir).expect("a fresh directory");
    let dir_text = dir.to_string_lossy().into_owned();
    let mut all = vec![(DIR_ENV, dir_text.as_str())];
    all.extend_from_slice(envs);
    let cmd = self_under_mpirun(&mpirun, 4, PROBE, &all);
    let done = run_status(cmd, Duration::from_secs(180)).expect("mpirun runs");
    let described = done.describe();
    assert!(!done.timed_out, "{described}");
    assert!(
        done.status.is_some_and(|s| !s.success()),
        "mpirun reports the failed job\n{described}"
    );
    Some((dir, described))
}

#[test]
fn a_segfaulting_and_an_aborting_rank_keep_all_n_records_under_mpirun() {
    let Some((dir, described)) = failing_job("fatal-mpirun", &[]) else {
        return;
    };
    for rank in 0..4 {
        let fatal = assert_complete(&dir, rank, &described);
        let signal = match rank {
            1 => Some("SIGSEGV"),
            2 => Some("SIGABRT"),
            _ => None,
        };
        match signal {
            Some(name) => {
                assert_eq!(fatal.len(), 1, "rank {rank}: {fatal:?}\n{described}");
                assert_eq!(fatal[0]["signal"], name, "rank {rank}: {}", fatal[0]);
                assert_eq!(fatal[0]["rank"], rank, "{}", fatal[0]);
            }
            None => assert!(fatal.is_empty(), "rank {rank}: {fatal:?}"),
        }
    }
    let (_, fatal) = read_rank(&dir, 1);
    assert_eq!(fatal[0]["address"], "0x0", "{}", fatal[0]);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_sigkilled_rank_keeps_all_n_records_after_recovery_under_mpirun() {
    let Some((dir, described)) = failing_job("sigkill-mpirun", &[(KILL_ENV, "1")]) else {
        return;
    };
    let recovered = ranklog::recover(&dir).expect("the rings can be recovered");
    assert!(
        recovered
            .iter()
            .all(|r| r.file.ends_with("rank-00003.jsonl")),
        "only the killed rank left a ring with records: {recovered:?}"
    );
    let from_ring: u64 = recovered.iter().map(|r| r.records).sum();
    eprintln!("rank 3: {from_ring} records recovered from its ring");
    for rank in 0..4 {
        let fatal = assert_complete(&dir, rank, &described);
        assert!(fatal.is_empty(), "rank {rank}: {fatal:?}");
    }
    let _ = std::fs::remove_dir_all(dir);
}
