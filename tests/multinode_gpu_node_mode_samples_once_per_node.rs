//! Across real (simulated) nodes under Open MPI's `mpirun`, GPU sampling in `node` mode
//! runs one sampler per node: on each node's first rank, and there only, whose console
//! lines and files carry the node's GPUs; the other ranks never touch a GPU.
//!
//! Layouts: 2 nodes × 2 ranks, and 1 + 2 + 3 ranks with `--map-by node` (the samplers are
//! on ranks 0, 1 and 2). The GPUs are scripted (`ScriptedSource`, two H100s per node), so
//! this runs without a GPU; the rank's identity is real (`RankInfo::from_env`).
//!
//! No extra binary: the test binary runs itself across the nodes (`scripts/multinode.sh`).
//! The ranks run the ignored [`PROBE`] test (with `RANKLOG_NODES_GPU_PROBE=1` set), which
//! builds the logger with a sampler every 100 ms and, where a sampler runs, waits for two
//! rounds and prints `SAMPLER rank=<r>` on stdout.
//!
//! Where namespaces cannot be made (not root, no `ip netns`) the tests print a skip line,
//! except under CI (`CI` set), where they fail with the reason.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::nodes::{fresh_dir, placement, self_on_nodes, Job, Launcher, Record};
use ranklog::gpu::{GpuMode, ScriptedGpu, ScriptedSource};
use serde_json::Value;

/// The rank side, run by the jobs across the simulated nodes.
const PROBE: &str = "probe_rank_samples_scripted_gpus";
/// Set (to 1) in the ranks' environment by the jobs.
const PROBE_ENV: &str = "RANKLOG_NODES_GPU_PROBE";
/// The ranks' log directory.
const DIR_ENV: &str = "RANKLOG_NODES_GPU_PROBE_DIR";
/// Longest one job may take before it is stopped.
const JOB_TIMEOUT: Duration = Duration::from_secs(120);
/// Scripted GPUs per node.
const GPUS: u32 = 2;
/// What a rank with a sampler prints on stdout.
const SAMPLER: &str = "SAMPLER rank=";

/// The rank side: runs only across the simulated nodes (see the module docs).
#[test]
#[ignore = "child process of this file's tests; run by them under mpirun across simulated nodes"]
fn probe_rank_samples_scripted_gpus() {
    common::probe_env(PROBE_ENV);
    let dir = common::probe_env(DIR_ENV);
    let info = ranklog::RankInfo::from_env().expect("Open MPI's variables describe this rank");
    let rank = info.rank;
    let guard = ranklog::Builder::from_env()
        .expect("no bad RANKLOG_* variable")
        .rank_info(info)
        .dir(std::path::PathBuf::from(dir))
        .gpu(GpuMode::Node)
        .gpu_interval(Duration::from_millis(100))
        .expect("100 ms is a valid interval")
        .gpu_source(ScriptedSource::new(
            (0..GPUS).map(ScriptedGpu::h100).collect(),
        ))
        .build()
        .expect("logger builds");
    if let Some(gpu) = guard.gpu() {
        // Each call waits for a round that starts after it: two rounds at least.
        for _ in 0..2 {
            assert!(gpu.sample_now(Duration::from_secs(10)).is_some());
        }
        println!("{SAMPLER}{rank}");
    }
    drop(guard);
}

/// Runs the probe across `nodes` and checks that the samplers ran exactly on each node's
/// first rank.
fn one_sampler_per_node(nodes: &[(&str, u32)], by_node: bool) {
    let dir = fresh_dir("nodes-gpu-probe");
    let dir_text = dir.to_string_lossy().into_owned();
    let out = match self_on_nodes(
        Launcher::OpenMpi,
        nodes,
        by_node,
        PROBE,
        &[(PROBE_ENV, "1"), (DIR_ENV, &dir_text)],
        JOB_TIMEOUT,
    ) {
        Ok(Some(out)) => out,
        Ok(None) => return,
        Err(why) => panic!("{why}"),
    };
    let job = Job::collect(out, &dir, placement(nodes, by_node)).unwrap_or_else(|e| panic!("{e}"));
    let firsts = job.local_firsts();
    assert_eq!(firsts.len(), nodes.len());

    let samplers: BTreeSet<usize> = job
        .stdout
        .lines()
        .filter_map(|l| l.find(SAMPLER).map(|at| &l[at + SAMPLER.len()..]))
        .map(|r| r.trim().parse().expect("a rank number"))
        .collect();
    assert_eq!(
        samplers.into_iter().collect::<Vec<_>>(),
        firsts,
        "ranks with a sampler\n--- stdout ---\n{}",
        job.stdout
    );

    // Console: "gpu sample: 0: ..." lines, at least two rounds, from the samplers only.
    let mut printed: BTreeSet<usize> = BTreeSet::new();
    for line in job
        .console
        .lines()
        .filter(|l| l.contains("gpu sample: 0: "))
    {
        let rank = (0..job.places.len())
            .find(|&r| line.contains(&job.tag(r)))
            .unwrap_or_else(|| panic!("a sample line with no expected rank tag: {line}"));
        printed.insert(rank);
    }
    assert_eq!(
        printed.into_iter().collect::<Vec<_>>(),
        firsts,
        "ranks that printed GPU samples\n--- console ---\n{}",
        job.console
    );
    for &r in &firsts {
        let rounds = job
            .console
            .lines()
            .filter(|l| l.contains("gpu sample: 0: ") && l.contains(&job.tag(r)))
            .count();
        assert!(
            rounds >= 2,
            "rank {r}: {rounds} sample lines\n{}",
            job.console
        );
    }

    // Files: every GPU of the node, at scope local, in the sampler's file only.
    let of_kind = |r: usize, kind: &str| -> Vec<&Record> {
        job.files[r]
            .iter()
            .filter(|rec| rec.get("kind").and_then(Value::as_str) == Some(kind))
            .collect()
    };
    for r in 0..job.places.len() {
        let samples = of_kind(r, "gpu");
        let summaries = of_kind(r, "gpu_summary");
        if firsts.contains(&r) {
            let gpus: BTreeSet<u64> = samples
                .iter()
                .map(|rec| rec["gpu"].as_u64().expect("gpu index"))
                .collect();
            assert_eq!(gpus, (0..u64::from(GPUS)).collect(), "rank {r}");
            for rec in &samples {
                assert_eq!(rec["scope"], "local", "rank {r}: {rec:?}");
                assert_eq!(
                    rec["host"],
                    job.places[r].host.as_str(),
                    "rank {r}: {rec:?}"
                );
            }
            assert_eq!(summaries.len(), GPUS as usize, "rank {r}: {summaries:?}");
        } else {
            assert!(samples.is_empty(), "rank {r} sampled: {samples:?}");
            assert!(summaries.is_empty(), "rank {r}: {summaries:?}");
        }
    }
}

#[test]
fn two_nodes_of_two_ranks_sample_on_ranks_0_and_2() {
    one_sampler_per_node(&[("nodeA", 2), ("nodeB", 2)], false);
}

#[test]
fn uneven_nodes_mapped_round_robin_sample_on_each_nodes_first_rank() {
    one_sampler_per_node(&[("nodeA", 1), ("nodeB", 2), ("nodeC", 3)], true);
}
