//! `ranklog run` reaches every rank whatever the launcher: under MPICH's Hydra
//! (`mpiexec.hydra -np 4`, which passes its environment on) and under Open MPI across two
//! simulated nodes (`scripts/multinode.sh --no-forward`: the ranks of the second node
//! start from a clean environment, as after ssh, and get only what Open MPI forwards, i.e.
//! `OMPI_MCA_mca_base_env_list`, which `ranklog run` extends and a list of the user's is
//! kept in), every rank logs to the job directory with its console off, and the live
//! view prints the record every rank logged once, `[ranks 0-3]`.
//!
//! The ranks run the ignored [`PROBE`] test. This binary runs under Hydra, so it must not
//! be linked against Open MPI: nothing here needs feature `mpi`. Without `mpiexec.hydra`
//! or where namespaces cannot be made, the tests print a skip line, except under CI (`CI`
//! set), where they fail: `scripts/setup.sh` installs what they need.
#![cfg(feature = "cli")]

mod common;

use std::process::Command;
use std::time::Duration;

use common::mpirun::{clean_env, find_on_path, run_status, Finished};
use common::nodes::{multinode_script, unavailable};
use slog::info;

const PROBE: &str = "probe_rank_logs_one_marker";
const PROBE_ENV: &str = "RANKLOG_RUN_LAUNCHER_PROBE";
const MARKER: &str = "launcher-mark-every-rank";

#[test]
#[ignore = "child process of this file's tests; run by them under ranklog run and a launcher"]
fn probe_rank_logs_one_marker() {
    common::probe_env(PROBE_ENV);
    assert!(
        std::env::var_os("RANKLOG_DIR").is_some(),
        "ranklog run's RANKLOG_DIR reached this rank"
    );
    let guard = ranklog::Builder::from_env()
        .expect("ranklog run's variables are valid")
        .gpu(ranklog::GpuMode::Off)
        .build()
        .expect("logger builds");
    info!(guard.logger(), "{}", MARKER);
}

/// `ranklog run --window 30s --dir DIR -- LAUNCHER...` of the probe: a long window, so
/// that ranks started far apart on a loaded machine still make one group (it prints as
/// soon as all have logged).
fn run(name: &str, launcher: &[&str], envs: &[(&str, &str)]) -> (Finished, String) {
    let dir = common::temp_dir(name);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ranklog"));
    cmd.args(["run", "--window", "30s", "--dir"])
        .arg(&dir)
        .arg("--")
        .args(launcher)
        .arg(std::env::current_exe().expect("the test binary's path"))
        .args(common::probe_args(PROBE));
    clean_env(&mut cmd);
    cmd.env("NO_COLOR", "1");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let done = run_status(cmd, Duration::from_secs(240)).expect("ranklog run starts");
    let _ = std::fs::remove_dir_all(&dir);
    (done, dir.to_string_lossy().into_owned())
}

fn assert_one_line_for_all(done: &Finished, hosts: &str) {
    assert!(done.success(), "{}", done.describe());
    let stderr = &done.out.stderr;
    let lines: Vec<_> = stderr.lines().filter(|l| l.contains(MARKER)).collect();
    assert_eq!(lines.len(), 1, "one line, no rank console:\n{stderr}");
    assert!(lines[0].contains("[ranks 0-3]"), "{}", lines[0]);
    assert!(
        stderr.contains(&format!("4 with records (world size 4) on {hosts}")),
        "{stderr}"
    );
}

#[test]
fn run_reaches_every_rank_under_hydra() {
    let Some(hydra) = find_on_path("mpiexec.hydra") else {
        unavailable("no mpiexec.hydra (install MPICH: mpich)");
        return;
    };
    let hydra = hydra.to_string_lossy().into_owned();
    let (done, _) = run("run-hydra", &[&hydra, "-np", "4"], &[(PROBE_ENV, "1")]);
    assert_one_line_for_all(&done, "1 node");
}

#[test]
fn run_reaches_every_rank_across_two_simulated_nodes() {
    let script = multinode_script().to_string_lossy().into_owned();
    let id = format!("r14-{}", std::process::id());
    let launcher = [
        "bash",
        &script,
        "--no-forward",
        "--id",
        &id,
        "--nodes",
        "nodeA:2,nodeB:2",
        "--",
    ];
    // The user's own list, which ranklog run must keep: it carries the probe's variable.
    let envs = [(PROBE_ENV, "1"), ("OMPI_MCA_mca_base_env_list", PROBE_ENV)];
    let (done, _) = run("run-nodes", &launcher, &envs);
    if common::nodes::skipped_cannot_simulate(&done) {
        return;
    }
    assert_one_line_for_all(&done, "2 nodes: nodeA, nodeB");
}
