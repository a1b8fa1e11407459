//! `ranklog run -- srun -n 4 ...` under a real Slurm (a single-node cluster the test starts,
//! see [`common::slurm`]): Slurm passes the environment on, so `RANKLOG_DIR` and
//! `RANKLOG_CONSOLE=off` reach every task; every rank writes its file to the job directory
//! and prints nothing itself; the live view prints the record every rank logged once,
//! `[ranks 0-3]`; and `ranklog run` exits with `srun`'s status, also when a task fails.
//!
//! The tasks run the ignored [`PROBE`] test of this binary. Without root, Slurm or munge
//! the tests print a skip line, except under CI (`CI` set), where they fail:
//! `scripts/setup.sh` installs `slurm-wlm` and `munge`.
#![cfg(feature = "cli")]

mod common;

use std::path::Path;
use std::time::Duration;

use common::mpirun::Finished;
use common::nodes::{launcher_var, read_rank_files, run_status};
use common::slurm::{cluster, Cluster, CPUS};
use serde_json::Value;
use slog::info;

/// The tasks' side, run under `srun`.
const PROBE: &str = "probe_task_logs_one_marker";
/// Set (to 1) for the tasks by the test.
const PROBE_ENV: &str = "RANKLOG_RUN_SLURM_PROBE";
/// The rank that exits with [`FAIL_CODE`] after logging, when set.
const FAIL_ENV: &str = "RANKLOG_RUN_SLURM_FAIL_RANK";
/// The failing rank's exit status: neither 0 nor libtest's 101 for a failed probe.
const FAIL_CODE: i32 = 3;
/// What every task logs once.
const MARKER: &str = "slurm-run-mark-every-rank";
/// Number of tasks of the job: one per CPU of the node.
const NTASKS: u32 = CPUS;
/// Longest `ranklog run` may take.
const RUN_TIMEOUT: Duration = Duration::from_secs(120);

#[test]
#[ignore = "child process of this file's tests; run by them under ranklog run and srun"]
fn probe_task_logs_one_marker() {
    common::probe_env(PROBE_ENV);
    let rank = launcher_var("SLURM_PROCID").expect("SLURM_PROCID: a task of srun");
    assert!(
        std::env::var_os("RANKLOG_DIR").is_some(),
        "ranklog run's RANKLOG_DIR reached task {rank}"
    );
    assert_eq!(
        std::env::var("RANKLOG_CONSOLE").as_deref(),
        Ok("off"),
        "ranklog run's RANKLOG_CONSOLE reached task {rank}"
    );
    let guard = ranklog::Builder::from_env()
        .expect("ranklog run's variables are valid")
        .gpu(ranklog::GpuMode::Off)
        .build()
        .expect("logger builds");
    info!(guard.logger(), "{}", MARKER);
    drop(guard);
    if launcher_var(FAIL_ENV) == Some(rank) {
        std::process::exit(FAIL_CODE);
    }
}

/// `ranklog run --window 30s --dir DIR -- srun -n 4 PROBE` inside `cluster`, with task
/// `fail` (if any) exiting with [`FAIL_CODE`]; how it ended. A long window, so that tasks
/// started far apart on a loaded machine still make one group (it prints as soon as all
/// have logged).
fn run(cluster: &Cluster, dir: &Path, fail: Option<u32>) -> Finished {
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut cmd = cluster.command(
        env!("CARGO_BIN_EXE_ranklog"),
        &["run", "--window", "30s", "--dir"],
    );
    cmd.arg(dir)
        .args(["--", "srun", "-n", &NTASKS.to_string()])
        .arg(exe)
        .args(common::probe_args(PROBE))
        .env("NO_COLOR", "1")
        .env(PROBE_ENV, "1");
    if let Some(rank) = fail {
        cmd.env(FAIL_ENV, rank.to_string());
    }
    run_status(cmd, RUN_TIMEOUT).unwrap_or_else(|why| panic!("{why}"))
}

/// Asserts that the live console has the marker once, for all ranks (no rank printed its
/// own), and the summary counts the four ranks on one node.
#[track_caller]
fn assert_one_line_for_all(done: &Finished, cluster: &Cluster) {
    let stderr = &done.out.stderr;
    let lines: Vec<_> = stderr.lines().filter(|l| l.contains(MARKER)).collect();
    assert_eq!(
        lines.len(),
        1,
        "one line, no rank console:\n{}\n{}",
        done.describe(),
        cluster.logs()
    );
    assert!(lines[0].contains("[ranks 0-3]"), "{}", done.describe());
    assert!(
        stderr.contains("4 with records (world size 4) on 1 node"),
        "{}",
        done.describe()
    );
}

/// Asserts that `dir` holds a file for each of the four ranks and no other, each with one
/// marker and a `job_start` record that names Slurm.
#[track_caller]
fn assert_files_of_all(dir: &Path) {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| n.starts_with("rank-"))
        .collect();
    names.sort();
    let expected: Vec<String> = (0..NTASKS).map(|r| format!("rank-{r:05}.jsonl")).collect();
    assert_eq!(names, expected, "rank files in {}", dir.display());
    let files = read_rank_files(dir, NTASKS as usize).unwrap_or_else(|why| panic!("{why}"));
    for (r, records) in files.iter().enumerate() {
        let text = |rec: &serde_json::Map<String, Value>, key: &str| {
            rec.get(key).and_then(Value::as_str).map(str::to_owned)
        };
        let marks = records
            .iter()
            .filter(|rec| text(rec, "msg").as_deref() == Some(MARKER))
            .count();
        assert_eq!(marks, 1, "rank {r}: {records:#?}");
        let start = records
            .iter()
            .find(|rec| text(rec, "kind").as_deref() == Some("job_start"))
            .unwrap_or_else(|| panic!("rank {r}: no job_start: {records:#?}"));
        assert_eq!(
            text(start, "launcher").as_deref(),
            Some("slurm"),
            "{start:?}"
        );
        assert_eq!(start.get("rank").and_then(Value::as_u64), Some(r as u64));
        assert_eq!(
            start.get("size").and_then(Value::as_u64),
            Some(u64::from(NTASKS))
        );
    }
}

#[test]
fn run_reaches_every_rank_under_slurm() {
    let Some(cluster) = cluster() else {
        return;
    };
    let dir = cluster.job_dir().join("logs");
    let done = run(&cluster, &dir, None);
    assert!(done.success(), "{}\n{}", done.describe(), cluster.logs());
    assert_one_line_for_all(&done, &cluster);
    assert_files_of_all(&dir);
}

/// `srun` exits with the highest exit status of its tasks, and `ranklog run` with srun's;
/// the failed task's record still reaches the console.
#[test]
fn run_exits_with_sruns_status_when_a_task_fails() {
    let Some(cluster) = cluster() else {
        return;
    };
    let dir = cluster.job_dir().join("logs");
    let done = run(&cluster, &dir, Some(2));
    assert!(!done.timed_out, "{}", done.describe());
    assert_eq!(
        done.status.and_then(|s| s.code()),
        Some(FAIL_CODE),
        "{}\n{}",
        done.describe(),
        cluster.logs()
    );
    let stderr = &done.out.stderr;
    assert!(
        stderr.contains(&format!("task 2: Exited with exit code {FAIL_CODE}")),
        "srun's own word on the task: {}",
        done.describe()
    );
    assert!(
        stderr.contains(&format!("ranklog: srun exited with status {FAIL_CODE};")),
        "{}",
        done.describe()
    );
    assert_one_line_for_all(&done, &cluster);
    assert_files_of_all(&dir);
}
