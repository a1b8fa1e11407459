//! Across real (simulated) nodes under Open MPI's `mpirun`, [`RankInfo::from_mpi`] (the
//! communicator, its shared-memory split and an all-reduce) and [`RankInfo::from_env`]
//! (`OMPI_COMM_WORLD_*`, `OMPI_MCA_orte_num_nodes`) describe every rank the same way,
//! node count included, and both name the rank's own node.
//!
//! Layouts: 2 nodes × 2 ranks, and 1 + 2 + 3 ranks with `--map-by node`. No extra binary:
//! this test binary runs itself across the nodes (`scripts/multinode.sh`). The ranks run
//! the ignored [`PROBE`] test (with `RANKLOG_NODES_MPI_PROBE=1` set), which initializes MPI,
//! discovers the identity both ways and prints `AGREE rank=<r> ...` on stdout (or panics
//! with both identities).
//!
//! Where namespaces cannot be made (not root, no `ip netns`) the tests print a skip line,
//! except under CI (`CI` set), where they fail with the reason.
#![cfg(feature = "mpi")]

mod common;

use std::time::Duration;

use common::nodes::{placement, self_on_nodes, Launcher};

/// The rank side, run by the jobs across the simulated nodes.
const PROBE: &str = "probe_rank_compares_mpi_and_env";
/// Set (to 1) in the ranks' environment by the jobs.
const PROBE_ENV: &str = "RANKLOG_NODES_MPI_PROBE";
/// Longest one job may take before it is stopped.
const JOB_TIMEOUT: Duration = Duration::from_secs(120);

/// The rank side: runs only across the simulated nodes (see the module docs).
#[test]
#[ignore = "child process of this file's tests; run by them under mpirun across simulated nodes"]
fn probe_rank_compares_mpi_and_env() {
    common::probe_env(PROBE_ENV);
    common::mpirun::report_mpi_and_env_agree();
}

/// Runs the probe across `nodes` and checks every rank's report against where it should
/// run.
fn agree_on(nodes: &[(&str, u32)], by_node: bool) {
    let out = match self_on_nodes(
        Launcher::OpenMpi,
        nodes,
        by_node,
        PROBE,
        &[(PROBE_ENV, "1")],
        JOB_TIMEOUT,
    ) {
        Ok(Some(out)) => out,
        Ok(None) => return,
        Err(why) => panic!("{why}"),
    };
    let reports = common::mpirun::agree_reports(&out.stdout);
    let places = placement(nodes, by_node);
    assert_eq!(
        reports.keys().map(|&r| r as usize).collect::<Vec<_>>(),
        (0..places.len()).collect::<Vec<_>>(),
        "ranks that reported agreement\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.stdout,
        out.stderr
    );
    for (rank, fields) in &reports {
        let place = &places[*rank as usize];
        let expect = [
            ("size", places.len().to_string()),
            ("local_rank", place.local_rank.to_string()),
            ("local_size", place.local_size.to_string()),
            ("nodes", nodes.len().to_string()),
            // MPI numbers the nodes in the order of their first ranks: the list's order
            // both by slot and round robin.
            (
                "node",
                nodes
                    .iter()
                    .position(|n| n.0 == place.host)
                    .expect("every rank runs on a listed node")
                    .to_string(),
            ),
            ("host", place.host.clone()),
        ];
        for (key, value) in expect {
            assert_eq!(fields[key], value, "rank {rank}, {key}: {fields:?}");
        }
    }
}

#[test]
fn mpi_and_launcher_env_agree_on_two_nodes_of_two_ranks() {
    agree_on(&[("nodeA", 2), ("nodeB", 2)], false);
}

#[test]
fn mpi_and_launcher_env_agree_on_uneven_nodes_mapped_round_robin() {
    agree_on(&[("nodeA", 1), ("nodeB", 2), ("nodeC", 3)], true);
}
