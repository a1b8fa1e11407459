//! `ranklog run` under a real `mpirun -np 4`: a rank silent for longer than
//! `--quiet-after` while the others log is named quiet (with its host and last record), and
//! again when it logs; ranks whose files land where the job directory is not (a node that
//! does not see it) are named missing with the shared-filesystem hint, also across two
//! simulated nodes where the second node does not see the job directory
//! (`scripts/multinode.sh --hide-on-others`); a rank that fails makes `ranklog run` exit
//! non-zero.
//!
//! The rank side is the ignored [`PROBE`] test, which the job runs with `PROBE_ENV` set to
//! the case.
#![cfg(feature = "cli")]

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::mpirun::{clean_env, mpirun_or_skip, ranklog_run_under_mpirun, run_status, Finished};
use common::nodes::multinode_script;
use slog::info;

const PROBE: &str = "probe_rank_goes_quiet_hides_or_fails";
const PROBE_ENV: &str = "RANKLOG_QUIET_PROBE";
/// With the `hidden` case: where ranks 2 and 3 write instead of the job directory.
const ELSEWHERE_ENV: &str = "RANKLOG_QUIET_PROBE_ELSEWHERE";
const NP: u32 = 4;
const TICK: &str = "quiet-mark-tick";
const BEFORE: &str = "quiet-mark-before-the-silence";

#[test]
#[ignore = "child process of the tests of this file; run by them under ranklog run and mpirun"]
fn probe_rank_goes_quiet_hides_or_fails() {
    let case = common::probe_env(PROBE_ENV);
    let info = ranklog::RankInfo::from_env().expect("Open MPI's variables describe this rank");
    let mut builder = ranklog::Builder::from_env()
        .expect("ranklog run's variables are valid")
        .gpu(ranklog::GpuMode::Off);
    if case == "hidden" && info.rank >= 2 {
        builder = builder.dir(common::probe_env(ELSEWHERE_ENV));
    }
    let guard = builder.build().expect("logger builds");
    let log = guard.logger();
    match case.to_str() {
        Some("quiet") => {
            // Rank 1 is silent for 8 s (--quiet-after 2s) while the others tick.
            info!(log, "{}", BEFORE);
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(8) {
                if info.rank != 1 {
                    info!(log, "{}", TICK);
                }
                std::thread::sleep(Duration::from_millis(250));
            }
            info!(log, "{}", TICK);
        }
        Some("hidden" | "ticks") => {
            // Long enough for the quiet period to pass while the job runs.
            for _ in 0..12 {
                info!(log, "{}", TICK);
                std::thread::sleep(Duration::from_millis(250));
            }
        }
        Some("fail") => {
            info!(log, "{}", TICK);
            if info.rank == 2 {
                drop(guard);
                std::process::exit(3);
            }
        }
        other => panic!("unknown case {other:?}"),
    }
}

/// `ranklog run --quiet-after 2s -- mpirun -np 4 <probe>` with `case`.
fn run(case: &str, envs: &[(&str, &str)]) -> Finished {
    let mpirun = mpirun_or_skip().expect("checked by the caller");
    let dir = common::temp_dir(&format!("run-{case}"));
    let mut cmd = ranklog_run_under_mpirun(
        env!("CARGO_BIN_EXE_ranklog"),
        &["--quiet-after", "2s"],
        &dir,
        &mpirun,
        NP,
        PROBE,
    );
    cmd.env(PROBE_ENV, case);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let done = run_status(cmd, Duration::from_secs(300)).expect("ranklog run starts");
    let _ = std::fs::remove_dir_all(&dir);
    done
}

#[test]
fn a_rank_silent_while_others_log_is_named_quiet_then_heard_again() {
    if mpirun_or_skip().is_none() {
        return;
    }
    let done = run("quiet", &[]);
    assert!(done.success(), "{}", done.describe());
    let stderr = &done.out.stderr;
    let quiet: Vec<_> = stderr
        .lines()
        .filter(|l| l.contains(" quiet:") && l.contains("rank 1 ("))
        .collect();
    assert_eq!(quiet.len(), 1, "one warning for rank 1:\n{stderr}");
    assert!(
        quiet[0].contains("rank 1 (") && quiet[0].contains(BEFORE),
        "names the rank, its host and its last record: {}",
        quiet[0]
    );
    assert!(
        stderr.contains("ranklog: rank 1 (") && stderr.contains("logs again after"),
        "{stderr}"
    );
}

#[test]
fn ranks_whose_files_are_not_in_the_job_directory_are_named_missing() {
    if mpirun_or_skip().is_none() {
        return;
    }
    let elsewhere = common::temp_dir("run-elsewhere");
    let done = run("hidden", &[(ELSEWHERE_ENV, &elsewhere.to_string_lossy())]);
    let _ = std::fs::remove_dir_all(&elsewhere);
    assert!(done.success(), "{}", done.describe());
    let stderr = &done.out.stderr;
    let missing: Vec<_> = stderr
        .lines()
        .filter(|l| l.contains("no file in"))
        .collect();
    assert_eq!(missing.len(), 1, "named once:\n{stderr}");
    assert!(
        missing[0].contains("ranks 2-3 of 4") && missing[0].contains("filesystem every node sees"),
        "{}",
        missing[0]
    );
    let ticks: Vec<_> = stderr.lines().filter(|l| l.contains(TICK)).collect();
    assert!(
        !ticks.is_empty()
            && ticks.iter().all(|l| ["[ranks 0-1 of 4]", "[0/4 ", "[1/4 "]
                .iter()
                .any(|t| l.contains(t))),
        "{stderr}"
    );
}

#[test]
fn a_failing_rank_makes_ranklog_run_fail() {
    if mpirun_or_skip().is_none() {
        return;
    }
    let done = run("fail", &[]);
    let code = done.status.and_then(|s| s.code());
    assert!(
        !done.timed_out && code.is_some_and(|c| c != 0),
        "{}",
        done.describe()
    );
    let end = done.out.stderr.lines().last().unwrap_or_default();
    assert!(
        end.contains(&format!("exited with status {}", code.unwrap_or(0))),
        "{end}"
    );
}

#[test]
fn ranks_on_a_node_that_does_not_see_the_job_directory_are_named_missing() {
    let dir = common::temp_dir("run-hidden-node");
    std::fs::create_dir_all(&dir).unwrap();
    let dir_text = dir.to_string_lossy().into_owned();
    let id = format!("r14h-{}", std::process::id());
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ranklog"));
    cmd.args([
        "run",
        "--quiet-after",
        "2s",
        "--dir",
        &dir_text,
        "--",
        "bash",
    ])
    .arg(multinode_script())
    .args([
        "--id",
        &id,
        "--nodes",
        "nodeA:2,nodeB:2",
        "--hide-on-others",
        &dir_text,
    ])
    .args(["-x", &format!("{PROBE_ENV}=ticks"), "--"])
    .arg(std::env::current_exe().expect("the test binary's path"))
    .args(common::probe_args(PROBE));
    clean_env(&mut cmd);
    cmd.env("NO_COLOR", "1");
    let done = run_status(cmd, Duration::from_secs(240)).expect("ranklog run starts");
    let _ = std::fs::remove_dir_all(&dir);
    if common::nodes::skipped_cannot_simulate(&done) {
        return;
    }
    assert!(done.success(), "{}", done.describe());
    let stderr = &done.out.stderr;
    let missing: Vec<_> = stderr
        .lines()
        .filter(|l| l.contains("no file in"))
        .collect();
    assert_eq!(missing.len(), 1, "named once:\n{stderr}");
    assert!(
        missing[0].contains(&format!("ranks 2-3 of 4 have no file in {dir_text}")),
        "{}",
        missing[0]
    );
    assert!(
        stderr.contains("2 with records (world size 4) on 1 node: nodeA"),
        "only the first node's ranks are in the directory:\n{stderr}"
    );
}
