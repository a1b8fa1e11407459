//! Under MPICH's Hydra (`mpiexec.hydra`), a second MPI implementation next to Open MPI:
//! env-only discovery (`PMI_RANK`, `PMI_SIZE`, `MPI_LOCALRANKID`, `MPI_LOCALNRANKS`) gives
//! every rank its identity, and the scopes print the same line counts as under `mpirun`.
//!
//! Two jobs: `mpiexec.hydra -np 4` on this machine (one node), and Hydra across 2
//! simulated nodes × 2 ranks (`scripts/multinode.sh --launcher hydra`, Hydra's ssh
//! launcher through the same stand-in), where `local` records print once per node.
//!
//! No extra binary: this test binary runs itself under Hydra. It must not be linked
//! against Open MPI (a different ABI), so nothing here needs feature `mpi`. The ranks run
//! the ignored [`PROBE`] test (with `RANKLOG_HYDRA_PROBE=1` set), which checks its identity
//! against the PMI variables and logs one record per scope.
//!
//! Without `mpiexec.hydra` (Debian's `mpich`) or where namespaces cannot be made, the tests
//! print a skip line, except under CI (`CI` set), where they fail: `scripts/setup.sh`
//! installs MPICH.

mod common;

use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use common::mpirun::{clean_env, find_on_path};
use common::nodes::{
    fresh_dir, launcher_var, placement, run_status, self_on_nodes, this_host, unavailable, Job,
    Launcher, ERROR, GLOBAL, LOCAL, LOCAL_LOGGER, PROCESS,
};
use common::probe_args;

/// The rank side, run by the jobs under Hydra.
const PROBE: &str = "probe_rank_under_hydra";
/// Set (to 1) in the ranks' environment by the jobs.
const PROBE_ENV: &str = "RANKLOG_HYDRA_PROBE";
/// The ranks' log directory.
const DIR_ENV: &str = "RANKLOG_HYDRA_PROBE_DIR";
/// Longest one job may take before it is stopped.
const JOB_TIMEOUT: Duration = Duration::from_secs(120);
/// World size of the one-node job.
const NP: u32 = 4;
/// The two-node job.
const TWO_NODES: &[(&str, u32)] = &[("nodeA", 2), ("nodeB", 2)];
/// What the job's first line says about the launcher (PMI gives no node count).
const JOB_START: &str =
    "on an unknown number of nodes, launched by PMI (MPICH Hydra, Intel MPI or Cray MPICH)";

/// The rank side: runs only under Hydra (see the module docs).
#[test]
#[ignore = "child process of this file's tests (two shared jobs); run by them under mpiexec.hydra"]
fn probe_rank_under_hydra() {
    common::probe_env(PROBE_ENV);
    let dir = common::probe_env(DIR_ENV);
    let info = ranklog::RankInfo::from_env().expect("Hydra's PMI variables describe this rank");
    assert_eq!(info.source, ranklog::Source::Pmi, "{info:?}");
    // The local rank and size come from MPI_LOCALRANKID/MPI_LOCALNRANKS: Hydra sets no
    // PMI_LOCAL_RANK/PMI_LOCAL_SIZE, and no other launcher's variables.
    for absent in [
        "PMI_LOCAL_RANK",
        "PMI_LOCAL_SIZE",
        "OMPI_COMM_WORLD_RANK",
        "SLURM_PROCID",
    ] {
        assert!(std::env::var_os(absent).is_none(), "{absent} is set");
    }
    let from_vars = (
        launcher_var("PMI_RANK"),
        launcher_var("PMI_SIZE"),
        launcher_var("MPI_LOCALRANKID"),
        launcher_var("MPI_LOCALNRANKS"),
    );
    let got = (
        Some(info.rank),
        Some(info.size),
        Some(info.local_rank),
        info.local_size,
    );
    assert_eq!(got, from_vars, "{info:?}");
    assert!(info.local_known, "{info:?}");
    common::nodes::log_markers(info, dir.as_ref());
}

/// `mpiexec.hydra -np 4` on this machine.
fn run_one_node() -> Option<Result<Job, String>> {
    let Some(hydra) = find_on_path("mpiexec.hydra") else {
        unavailable("mpiexec.hydra is not on PATH (install MPICH: apt-get install mpich)");
        return None;
    };
    let dir = fresh_dir("hydra-probe");
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut cmd = Command::new(hydra);
    cmd.args(["-np", &NP.to_string()])
        .arg(exe)
        .args(probe_args(PROBE));
    clean_env(&mut cmd);
    cmd.env("RANKLOG_COLOR", "never")
        .env(PROBE_ENV, "1")
        .env(DIR_ENV, &*dir);
    let done = match run_status(cmd, JOB_TIMEOUT) {
        Ok(done) if done.success() => done,
        Ok(done) => return Some(Err(done.describe())),
        Err(why) => return Some(Err(why)),
    };
    let host = this_host();
    let places = placement(&[(&host, NP)], false);
    Some(Job::collect(done.out, &dir, places))
}

/// Hydra across two simulated nodes.
fn run_two_nodes() -> Option<Result<Job, String>> {
    let dir = fresh_dir("hydra-nodes-probe");
    let dir_text = dir.to_string_lossy().into_owned();
    match self_on_nodes(
        Launcher::Hydra,
        TWO_NODES,
        false,
        PROBE,
        &[(PROBE_ENV, "1"), (DIR_ENV, &dir_text)],
        JOB_TIMEOUT,
    ) {
        Ok(Some(out)) => Some(Job::collect(out, &dir, placement(TWO_NODES, false))),
        Ok(None) => None,
        Err(why) => Some(Err(why)),
    }
}

fn get(job: &'static Option<Result<Job, String>>) -> Option<&'static Job> {
    match job {
        None => None,
        Some(Ok(job)) => Some(job),
        Some(Err(why)) => panic!("{why}"),
    }
}

fn one_node() -> Option<&'static Job> {
    static JOB: OnceLock<Option<Result<Job, String>>> = OnceLock::new();
    get(JOB.get_or_init(run_one_node))
}

fn two_nodes() -> Option<&'static Job> {
    static JOB: OnceLock<Option<Result<Job, String>>> = OnceLock::new();
    get(JOB.get_or_init(run_two_nodes))
}

// ---- mpiexec.hydra -np 4, one node ---------------------------------------------------------

#[test]
fn one_node_global_and_local_records_print_once_on_rank_0() {
    let Some(job) = one_node() else { return };
    job.assert_printed_by(GLOBAL, &[0]);
    job.assert_printed_by(LOCAL, &[0]);
    job.assert_printed_by(LOCAL_LOGGER, &[0]);
    job.assert_printed_by("kind=job_start", &[0]);
    assert!(
        job.console
            .contains(&format!("job of {NP} ranks {JOB_START}")),
        "{}",
        job.console
    );
}

#[test]
fn one_node_process_records_and_errors_print_on_every_rank() {
    let Some(job) = one_node() else { return };
    job.assert_printed_by(PROCESS, &[0, 1, 2, 3]);
    job.assert_printed_by(ERROR, &[0, 1, 2, 3]);
}

#[test]
fn one_node_files_name_each_ranks_local_rank_from_pmi() {
    let Some(job) = one_node() else { return };
    job.assert_files("pmi", None);
}

// ---- Hydra across 2 nodes × 2 ranks ------------------------------------------------------------

#[test]
fn two_nodes_local_record_prints_once_per_node_from_its_first_rank() {
    let Some(job) = two_nodes() else { return };
    assert_eq!(job.tag(2), "[2/4 nodeB:0]");
    job.assert_printed_by(LOCAL, &[0, 2]);
    job.assert_printed_by(LOCAL_LOGGER, &[0, 2]);
    job.assert_printed_by(GLOBAL, &[0]);
    job.assert_printed_by(PROCESS, &[0, 1, 2, 3]);
}

#[test]
fn two_nodes_files_name_each_ranks_node_and_local_rank() {
    let Some(job) = two_nodes() else { return };
    job.assert_files("pmi", None);
}
