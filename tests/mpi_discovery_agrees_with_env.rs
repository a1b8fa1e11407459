//! Under a real `mpirun -np 4`, [`RankInfo::from_mpi`] (the communicator) and
//! [`RankInfo::from_env`] (Open MPI's `OMPI_COMM_WORLD_*` variables) describe every rank the
//! same way, and MPI counts one node.
//!
//! No extra binary: this test binary runs itself under `mpirun`. The ranks run the ignored
//! [`PROBE`] test (with `RANKLOG_MPI_PROBE=1` set), which initializes MPI, discovers the
//! identity both ways and prints `AGREE rank=<r> ...` on stdout (or panics with both
//! identities).
//!
//! Without `mpirun` on `PATH` the test prints a skip line, except under CI (`CI` set), where
//! it fails: `scripts/setup.sh` installs Open MPI.
#![cfg(feature = "mpi")]

mod common;

use std::time::Duration;

use common::mpirun::{mpirun_or_skip, run_with_timeout, self_under_mpirun};

/// World size of the job.
const NP: u32 = 4;
/// The rank side, run by the job under `mpirun`.
const PROBE: &str = "probe_rank_compares_mpi_and_env";
/// Set (to 1) in the ranks' environment by the job.
const PROBE_ENV: &str = "RANKLOG_MPI_PROBE";
/// Longest the whole `mpirun` job may take before it is killed.
const JOB_TIMEOUT: Duration = Duration::from_secs(120);

/// The rank side: runs only under `mpirun` (see the module docs).
#[test]
#[ignore = "child process of mpi_and_launcher_env_agree_on_every_rank_of_one_node; run by it under mpirun"]
fn probe_rank_compares_mpi_and_env() {
    common::probe_env(PROBE_ENV);
    common::mpirun::report_mpi_and_env_agree();
}

#[test]
fn mpi_and_launcher_env_agree_on_every_rank_of_one_node() {
    let Some(mpirun) = mpirun_or_skip() else {
        return;
    };
    let mut cmd = self_under_mpirun(&mpirun, NP, PROBE, &[(PROBE_ENV, "1")]);
    // Shared-memory single copy (CMA) needs ptrace rights that containers often lack;
    // the few bytes exchanged here do not need it.
    cmd.env("OMPI_MCA_btl_vader_single_copy_mechanism", "none");
    let out = run_with_timeout(cmd, JOB_TIMEOUT).unwrap_or_else(|why| panic!("{why}"));

    let reports = common::mpirun::agree_reports(&out.stdout);
    let ranks: Vec<u32> = reports.keys().copied().collect();
    assert_eq!(
        ranks,
        (0..NP).collect::<Vec<_>>(),
        "ranks that reported agreement\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.stdout,
        out.stderr
    );
    for (rank, fields) in &reports {
        let expect = [
            ("size", NP.to_string()),
            ("local_rank", rank.to_string()),
            ("local_size", NP.to_string()),
            ("nodes", "1".to_owned()),
            ("node", "0".to_owned()),
        ];
        for (key, value) in expect {
            assert_eq!(fields[key], value, "rank {rank}, {key}: {fields:?}");
        }
    }
}
