//! Under a real Slurm (Debian's `slurm-wlm` and `munge`, started by the test on this
//! machine): `srun -n 4` ranks discover their identity from `SLURM_*` alone (rank from
//! `SLURM_PROCID`, local rank from `SLURM_LOCALID`, local size from
//! `SLURM_STEP_TASKS_PER_NODE`) and the scopes print the same line counts as under
//! `mpirun`. And what a batch script sees outside of `srun`.
//!
//! Each test starts its own single-node cluster ([`common::slurm::Cluster`]): private
//! daemons, files and network namespace, stopped by pid when dropped, also when an
//! assertion fails.
//!
//! No extra binary: this test binary runs itself under `srun` and in a batch script, for
//! two ignored tests: [`PROBE`] (with `RANKLOG_SLURM_PROBE=1` set) checks its identity
//! against the `SLURM_*` variables and logs one record per scope; [`BATCH_PROBE`] (with
//! `RANKLOG_SLURM_BATCH_PROBE=1`) prints what `RankInfo::from_env` says.
//!
//! Without root, Slurm or munge the tests print a skip line, except under CI (`CI` set),
//! where they fail: `scripts/setup.sh` installs `slurm-wlm` and `munge`.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use common::nodes::{
    launcher_var, placement, run_status, this_host, Job, ERROR, GLOBAL, LOCAL, LOCAL_LOGGER,
    PROCESS,
};
use common::probe_args;
use common::slurm::{cluster, Cluster, CPUS};

/// The tasks' side, run by the job under `srun`.
const PROBE: &str = "probe_task_under_srun";
/// Set (to 1) for `srun`'s tasks by the test.
const PROBE_ENV: &str = "RANKLOG_SLURM_PROBE";
/// The tasks' log directory.
const DIR_ENV: &str = "RANKLOG_SLURM_PROBE_DIR";
/// The batch script's side, run by it outside of any `srun`.
const BATCH_PROBE: &str = "probe_batch_script_outside_srun";
/// Set (to 1) for the batch script by the test.
const BATCH_PROBE_ENV: &str = "RANKLOG_SLURM_BATCH_PROBE";
/// Number of tasks of the job: one per CPU of the node.
const NTASKS: u32 = CPUS;
/// Longest a job may take.
const JOB_TIMEOUT: Duration = Duration::from_secs(60);
/// What [`BATCH_PROBE`] prints before its report.
const REPORT: &str = "FROM_ENV ";

/// The rank side under `srun` (see the module docs).
#[test]
#[ignore = "child process of srun_tasks_discover_slurm_and_print_the_expected_counts; run by it under srun"]
fn probe_task_under_srun() {
    common::probe_env(PROBE_ENV);
    let dir = common::probe_env(DIR_ENV);
    let info = ranklog::RankInfo::from_env().expect("Slurm's variables describe this task");
    assert_eq!(info.source, ranklog::Source::Slurm, "{info:?}");
    // No launcher but srun, and the local size from the step's tasks-per-node list.
    for absent in [
        "SLURM_NTASKS_PER_NODE",
        "OMPI_COMM_WORLD_RANK",
        "PMI_RANK",
        "RANK",
    ] {
        assert!(std::env::var_os(absent).is_none(), "{absent} is set");
    }
    let from_vars = (
        launcher_var("SLURM_PROCID"),
        launcher_var("SLURM_NTASKS"),
        launcher_var("SLURM_LOCALID"),
        launcher_var("SLURM_STEP_TASKS_PER_NODE"),
        launcher_var("SLURM_STEP_NUM_NODES"),
        launcher_var("SLURM_NODEID"),
    );
    let got = (
        Some(info.rank),
        Some(info.size),
        Some(info.local_rank),
        info.local_size,
        info.nodes,
        info.node,
    );
    assert_eq!(got, from_vars, "{info:?}");
    assert_eq!(
        (info.size, info.local_size, info.nodes, info.node),
        (NTASKS, Some(NTASKS), Some(1), Some(0)),
        "{info:?}"
    );
    common::nodes::log_markers(info, dir.as_ref());
}

/// The batch script's side: what `RankInfo::from_env` makes of a batch step's environment.
#[test]
#[ignore = "child process of the a_batch_script_* tests; run by their sbatch script"]
fn probe_batch_script_outside_srun() {
    common::probe_env(BATCH_PROBE_ENV);
    match ranklog::RankInfo::from_env() {
        Ok(i) => println!(
            "{REPORT}ok rank={} size={} local_rank={} local_size={} local_known={} nodes={} \
             source={}",
            i.rank,
            i.size,
            i.local_rank,
            i.local_size
                .map_or_else(|| "none".to_owned(), |n| n.to_string()),
            i.local_known,
            i.nodes.map_or_else(|| "none".to_owned(), |n| n.to_string()),
            i.source.as_str()
        ),
        Err(e) => println!("{REPORT}error {e}"),
    }
}

// ---- srun -n 4 -----------------------------------------------------------------------------

#[test]
fn srun_tasks_discover_slurm_and_print_the_expected_counts() {
    let Some(cluster) = cluster() else {
        return;
    };
    let dir = cluster.job_dir().join("logs");
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut cmd = cluster.command("srun", &["-n", &NTASKS.to_string()]);
    cmd.arg(exe)
        .args(probe_args(PROBE))
        .env("RANKLOG_COLOR", "never")
        .env(PROBE_ENV, "1")
        .env(DIR_ENV, &dir);
    let done = run_status(cmd, JOB_TIMEOUT).unwrap_or_else(|why| panic!("{why}"));
    assert!(done.success(), "{}\n{}", done.describe(), cluster.logs());
    let places = placement(&[(&this_host(), NTASKS)], false);
    let job = Job::collect(done.out, &dir, places).unwrap_or_else(|why| panic!("{why}"));

    job.assert_printed_by(GLOBAL, &[0]);
    job.assert_printed_by(LOCAL, &[0]);
    job.assert_printed_by(LOCAL_LOGGER, &[0]);
    job.assert_printed_by("kind=job_start", &[0]);
    job.assert_printed_by(PROCESS, &[0, 1, 2, 3]);
    job.assert_printed_by(ERROR, &[0, 1, 2, 3]);
    assert!(
        job.console
            .contains("job of 4 ranks on 1 node, launched by Slurm"),
        "{}",
        job.console
    );
    job.assert_files("slurm", Some(1));
}

// ---- a batch script, outside srun --------------------------------------------------------------

/// What a batch script of `sbatch -n 4` saw: its `SLURM_*` variables and
/// [`BATCH_PROBE`]'s report.
struct Batch {
    env: BTreeMap<String, String>,
    report: String,
}

/// Submits a batch script (`sbatch -n 4`) that records its environment and runs
/// [`BATCH_PROBE`] outside of any `srun`; waits for it.
fn run_batch(cluster: &Cluster) -> Batch {
    let job = cluster.job_dir();
    let exe = std::env::current_exe().expect("the test binary's path");
    let script = job.join("batch.sh");
    let quote = |p: &Path| format!("'{}'", p.display().to_string().replace('\'', r"'\''"));
    fs::write(
        &script,
        format!(
            "#!/bin/sh\nenv > {env}\n{exe} {args} > {report} 2>&1\n\
             echo $? > {done}.tmp && mv {done}.tmp {done}\n",
            env = quote(&job.join("env.txt")),
            exe = quote(&exe),
            args = probe_args(BATCH_PROBE).join(" "),
            report = quote(&job.join("report.txt")),
            done = quote(&job.join("done")),
        ),
    )
    .expect("writing the batch script");
    let mut cmd = cluster.command(
        "sbatch",
        &[
            "--parsable",
            "-n",
            &NTASKS.to_string(),
            "-J",
            "ranklog-batch-probe",
            "-o",
            &job.join("batch.out").to_string_lossy(),
        ],
    );
    cmd.arg("--chdir").arg(&job).arg(&script);
    cmd.env(BATCH_PROBE_ENV, "1");
    let done = run_status(cmd, JOB_TIMEOUT).unwrap_or_else(|why| panic!("{why}"));
    assert!(done.success(), "{}\n{}", done.describe(), cluster.logs());
    // The scheduler starts it within a few seconds; poll for the script's last step.
    let start = Instant::now();
    while !job.join("done").exists() {
        if start.elapsed() > JOB_TIMEOUT {
            let queue = cluster
                .command("squeue", &[])
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default();
            panic!(
                "batch job {} did not finish in {JOB_TIMEOUT:?}\nsqueue:\n{queue}\n{}",
                done.out.stdout.trim(),
                cluster.logs()
            );
        }
        thread::sleep(Duration::from_millis(100));
    }
    let env = fs::read_to_string(job.join("env.txt"))
        .expect("the batch script's environment")
        .lines()
        .filter_map(|l| l.split_once('='))
        .filter(|(k, _)| k.starts_with("SLURM"))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let text = fs::read_to_string(job.join("report.txt")).expect("the batch probe's output");
    let report = text
        .lines()
        .find_map(|l| l.find(REPORT).map(|at| l[at + REPORT.len()..].to_owned()))
        .unwrap_or_else(|| panic!("no report from {BATCH_PROBE}:\n{text}"));
    Batch { env, report }
}

/// The facts of Slurm that discovery must live with: a batch script runs outside any step,
/// yet it has `SLURM_PROCID` (0), `SLURM_LOCALID` and the job's `SLURM_NTASKS`; what tells
/// it apart is the missing step (`SLURM_STEP_ID`, `SLURM_STEP_TASKS_PER_NODE`).
#[test]
fn a_batch_script_has_slurm_procid_but_no_step() {
    let Some(cluster) = cluster() else {
        return;
    };
    let batch = run_batch(&cluster);
    let env = &batch.env;
    let get = |k: &str| env.get(k).map(String::as_str);
    assert_eq!(get("SLURM_PROCID"), Some("0"), "{env:#?}");
    assert_eq!(get("SLURM_LOCALID"), Some("0"), "{env:#?}");
    assert_eq!(get("SLURM_NODEID"), Some("0"), "{env:#?}");
    assert_eq!(get("SLURM_NTASKS"), Some("4"), "{env:#?}");
    assert_eq!(get("SLURM_TASKS_PER_NODE"), Some("4"), "{env:#?}");
    for absent in [
        "SLURM_STEP_ID",
        "SLURM_STEPID",
        "SLURM_STEP_NUM_TASKS",
        "SLURM_STEP_TASKS_PER_NODE",
        "SLURM_NTASKS_PER_NODE",
    ] {
        assert_eq!(get(absent), None, "{absent} in a batch script: {env:#?}");
    }
    eprintln!(
        "batch script outside srun: RankInfo::from_env() = {}",
        batch.report
    );
}

/// A batch script is one process, not rank 0 of the job's `SLURM_NTASKS` ranks: otherwise
/// it writes `rank-00000.jsonl` next to the real rank 0 of the `srun` step that follows it
/// and claims a world size it does not have.
#[test]
fn a_batch_script_outside_srun_is_a_single_process() {
    let Some(cluster) = cluster() else {
        return;
    };
    let batch = run_batch(&cluster);
    assert!(
        batch.report.starts_with("ok rank=0 size=1 "),
        "RankInfo::from_env() in a batch script: {}",
        batch.report
    );
}
