//! Across real (simulated) nodes under Open MPI's `mpirun`: `global` records print once
//! per job, `local` ones once per node from each node's first rank, `process` ones on every
//! rank, each tagged with its own node; every rank's file names its node.
//!
//! Two jobs, each run once for all the tests of its layout: 2 nodes × 2 ranks, and an
//! uneven 1 + 2 + 3 ranks with `--map-by node`, where a node's ranks are not consecutive
//! (nodeB runs ranks 1 and 3, nodeC ranks 2, 4 and 5). `scripts/multinode.sh` gives each
//! node its own network and UTS namespace, so each has its own host name and Open MPI
//! counts real nodes.
//!
//! No extra binary: the test binary runs itself there. The ranks run the ignored [`PROBE`]
//! test (with `RANKLOG_NODES_PROBE=1` set), which discovers its identity from the
//! environment (`RankInfo::from_env`, Open MPI's `OMPI_COMM_WORLD_*`) and logs one record
//! per scope.
//!
//! Where namespaces cannot be made (not root, no `ip netns`) the tests print a skip line,
//! except under CI (`CI` set), where they fail with the reason.

mod common;

use std::sync::OnceLock;
use std::time::Duration;

use common::nodes::{
    fresh_dir, placement, self_on_nodes, Job, Launcher, ERROR, GLOBAL, LOCAL, LOCAL_LOGGER, PROCESS,
};

/// The rank side, run by the jobs across the simulated nodes.
const PROBE: &str = "probe_rank_logs_one_record_per_scope";
/// Set (to 1) in the ranks' environment by the jobs.
const PROBE_ENV: &str = "RANKLOG_NODES_PROBE";
/// The ranks' log directory.
const DIR_ENV: &str = "RANKLOG_NODES_PROBE_DIR";
/// Longest one job may take before it is stopped.
const JOB_TIMEOUT: Duration = Duration::from_secs(120);

/// 2 nodes × 2 ranks, filled by slot: nodeA runs ranks 0 and 1, nodeB ranks 2 and 3.
const EVEN: &[(&str, u32)] = &[("nodeA", 2), ("nodeB", 2)];
/// 1 + 2 + 3 ranks, round robin over the nodes (`--map-by node`).
const UNEVEN: &[(&str, u32)] = &[("nodeA", 1), ("nodeB", 2), ("nodeC", 3)];

/// The rank side: runs only across the simulated nodes (see the module docs).
#[test]
#[ignore = "child process of this file's tests (two shared jobs); run by them under mpirun across simulated nodes"]
fn probe_rank_logs_one_record_per_scope() {
    common::probe_env(PROBE_ENV);
    let dir = common::probe_env(DIR_ENV);
    let info = ranklog::RankInfo::from_env().expect("Open MPI's variables describe this rank");
    assert_eq!(info.source, ranklog::Source::OpenMpi, "{info:?}");
    common::nodes::log_markers(info, dir.as_ref());
}

fn run(nodes: &[(&str, u32)], by_node: bool) -> Option<Result<Job, String>> {
    let dir = fresh_dir("nodes-probe");
    let dir_text = dir.to_string_lossy().into_owned();
    let out = self_on_nodes(
        Launcher::OpenMpi,
        nodes,
        by_node,
        PROBE,
        &[(PROBE_ENV, "1"), (DIR_ENV, &dir_text)],
        JOB_TIMEOUT,
    );
    match out {
        Ok(Some(out)) => Some(Job::collect(out, &dir, placement(nodes, by_node))),
        Ok(None) => None,
        Err(why) => Some(Err(why)),
    }
}

fn job(cell: &'static OnceLock<Option<Result<Job, String>>>, uneven: bool) -> Option<&'static Job> {
    let job = cell.get_or_init(|| {
        if uneven {
            run(UNEVEN, true)
        } else {
            run(EVEN, false)
        }
    });
    match job {
        None => None,
        Some(Ok(job)) => Some(job),
        Some(Err(why)) => panic!("{why}"),
    }
}

/// The 2 × 2 job, run on first use; `None` when skipped.
fn even() -> Option<&'static Job> {
    static JOB: OnceLock<Option<Result<Job, String>>> = OnceLock::new();
    job(&JOB, false)
}

/// The 1 + 2 + 3 job, run on first use; `None` when skipped.
fn uneven() -> Option<&'static Job> {
    static JOB: OnceLock<Option<Result<Job, String>>> = OnceLock::new();
    job(&JOB, true)
}

// ---- 2 nodes × 2 ranks -------------------------------------------------------------------

#[test]
fn two_by_two_global_record_prints_once_on_rank_0_of_node_a() {
    let Some(job) = even() else { return };
    assert_eq!(job.tag(0), "[0/4 nodeA:0]");
    job.assert_printed_by(GLOBAL, &[0]);
    job.assert_printed_by("kind=job_start", &[0]);
    assert!(
        job.console
            .contains("job of 4 ranks on 2 nodes, launched by Open MPI"),
        "{}",
        job.console
    );
}

#[test]
fn two_by_two_local_record_prints_once_per_node_from_its_first_rank() {
    let Some(job) = even() else { return };
    assert_eq!(job.local_firsts(), [0, 2]);
    assert_eq!(job.tag(2), "[2/4 nodeB:0]");
    job.assert_printed_by(LOCAL, &[0, 2]);
    job.assert_printed_by(LOCAL_LOGGER, &[0, 2]);
}

#[test]
fn two_by_two_process_records_and_errors_print_on_every_rank_with_its_node() {
    let Some(job) = even() else { return };
    job.assert_printed_by(PROCESS, &[0, 1, 2, 3]);
    job.assert_printed_by(ERROR, &[0, 1, 2, 3]);
}

#[test]
fn two_by_two_files_name_each_ranks_node_and_local_rank() {
    let Some(job) = even() else { return };
    job.assert_files("open-mpi", Some(2));
}

// ---- 1 + 2 + 3 ranks, --map-by node ------------------------------------------------------

#[test]
fn uneven_layout_places_ranks_round_robin() {
    let Some(job) = uneven() else { return };
    let hosts: Vec<&str> = job.places.iter().map(|p| p.host.as_str()).collect();
    assert_eq!(
        hosts,
        ["nodeA", "nodeB", "nodeC", "nodeB", "nodeC", "nodeC"]
    );
    // The placement is this test's model of Open MPI's mapping; the files (written with
    // each rank's own gethostname and OMPI_COMM_WORLD_LOCAL_*) confirm it.
    job.assert_files("open-mpi", Some(3));
}

#[test]
fn uneven_layout_local_record_comes_from_each_nodes_first_rank() {
    let Some(job) = uneven() else { return };
    assert_eq!(job.local_firsts(), [0, 1, 2]);
    assert_eq!(job.tag(1), "[1/6 nodeB:0]");
    assert_eq!(job.tag(3), "[3/6 nodeB:1]");
    job.assert_printed_by(LOCAL, &[0, 1, 2]);
    job.assert_printed_by(LOCAL_LOGGER, &[0, 1, 2]);
}

#[test]
fn uneven_layout_global_and_process_records_print_as_on_one_node() {
    let Some(job) = uneven() else { return };
    job.assert_printed_by(GLOBAL, &[0]);
    job.assert_printed_by(PROCESS, &[0, 1, 2, 3, 4, 5]);
    job.assert_printed_by(ERROR, &[0, 1, 2, 3, 4, 5]);
    assert!(
        job.console
            .contains("job of 6 ranks on 3 nodes, launched by Open MPI"),
        "{}",
        job.console
    );
}
