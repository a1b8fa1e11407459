//! `ranklog merge --collapse` over the files of a real job across three simulated nodes
//! (1 + 2 + 3 ranks, `--map-by node`): a record every rank wrote prints once with
//! `[ranks 0-5]`; one that a single rank did not write names that rank; per-node records
//! keep their nodes apart.
//!
//! The rank side is the ignored [`PROBE`] test, which the job runs across the nodes with
//! `RANKLOG_COLLAPSE_PROBE=1` set.
#![cfg(feature = "cli")]

mod common;

use std::process::Command;
use std::time::Duration;

use common::nodes::{fresh_dir, self_on_nodes, Launcher, ERROR, PROCESS};
use slog::info;

/// The rank side, run by the job across the simulated nodes.
const PROBE: &str = "probe_rank_logs_a_multinode_story";
/// Set (to 1) in the ranks' environment by the job.
const PROBE_ENV: &str = "RANKLOG_COLLAPSE_PROBE";
const DIR_ENV: &str = "RANKLOG_COLLAPSE_PROBE_DIR";
const UNEVEN: &[(&str, u32)] = &[("nodeA", 1), ("nodeB", 2), ("nodeC", 3)];
/// Written by every rank but rank 4.
const CHECKPOINT: &str = "collapse-mark-checkpoint-saved";
/// Written by each rank with its node's name in the message.
const NODE_LINE: &str = "collapse-mark-node";

#[test]
#[ignore = "child process of merge_collapse_folds_a_multinode_job_into_one_story; run by it under mpirun across simulated nodes"]
fn probe_rank_logs_a_multinode_story() {
    common::probe_env(PROBE_ENV);
    let dir = common::probe_env(DIR_ENV);
    let info = ranklog::RankInfo::from_env().expect("Open MPI's variables describe this rank");
    let (rank, host) = (info.rank, info.host.clone());
    common::nodes::log_markers(info.clone(), dir.as_ref());
    // A second logger on the same file: the markers' guard is gone.
    let guard = ranklog::Builder::from_env()
        .expect("no bad RANKLOG_* variable")
        .rank_info(info)
        .dir(std::path::PathBuf::from(dir))
        .gpu(ranklog::GpuMode::Off)
        .build()
        .expect("logger builds");
    let log = guard.logger();
    if rank != 4 {
        info!(log, "{}", CHECKPOINT; "scope" => "global");
    }
    info!(log, "{} {}", NODE_LINE, host; "scope" => "local");
    drop(guard);
}

#[test]
fn merge_collapse_folds_a_multinode_job_into_one_story() {
    let dir = fresh_dir("collapse-probe");
    let dir_text = dir.to_string_lossy().into_owned();
    let out = self_on_nodes(
        Launcher::OpenMpi,
        UNEVEN,
        true,
        PROBE,
        &[(PROBE_ENV, "1"), (DIR_ENV, &dir_text)],
        Duration::from_secs(120),
    );
    match out {
        Ok(Some(_)) => {}
        Ok(None) => return, // skipped: this machine cannot simulate nodes (not CI)
        Err(why) => panic!("{why}"),
    }
    let merged = Command::new(env!("CARGO_BIN_EXE_ranklog"))
        .args(["merge", "--collapse"])
        .arg(&*dir)
        .output()
        .expect("ranklog runs");
    assert!(merged.status.success(), "{merged:?}");
    let text = String::from_utf8(merged.stdout).expect("UTF-8");
    let lines =
        |marker: &str| -> Vec<&str> { text.lines().filter(|l| l.contains(marker)).collect() };

    let process = lines(PROCESS);
    assert_eq!(
        process.len(),
        1,
        "every rank's copy folds into one line:\n{text}"
    );
    assert!(process[0].contains("[ranks 0-5]"), "{}", process[0]);
    let error = lines(ERROR);
    assert_eq!(error.len(), 1, "{text}");
    assert!(
        error[0].starts_with("ERRO ") && error[0].contains("[ranks 0-5]"),
        "{}",
        error[0]
    );

    let checkpoint = lines(CHECKPOINT);
    assert_eq!(checkpoint.len(), 1, "{text}");
    assert!(
        checkpoint[0].contains("[ranks 0-3,5 of 6, missing 4]"),
        "the rank that did not say it is the interesting part: {}",
        checkpoint[0]
    );

    for (node, ranks) in [
        ("nodeA", "[0/6 nodeA:0]"),
        ("nodeB", "[ranks 1,3 of 6]"),
        ("nodeC", "[ranks 2,4-5 of 6]"),
    ] {
        let line = lines(&format!("{NODE_LINE} {node}"));
        assert_eq!(line.len(), 1, "{node}:\n{text}");
        assert!(line[0].contains(ranks), "{node}: {}", line[0]);
    }
}
