//! Under a real `mpirun -np 4`, counting console lines: a once-record in a 1000-iteration
//! loop prints once with global scope and four times with process scope; rate limits print
//! the expected counts on every rank; with two tensor-parallel groups of 2, a group-scoped
//! record prints twice; a rank list prints on the listed ranks.
//!
//! The rank side is the ignored [`PROBE`] test, which the job runs under `mpirun` with
//! `RANKLOG_LESS_PROBE=1` set.

mod common;

use std::sync::OnceLock;
use std::time::Duration;

use common::count;
use common::mpirun::{mpirun_or_skip, run_with_timeout, self_under_mpirun};
use slog::info;

/// The rank side, run by the job under `mpirun`.
const PROBE: &str = "probe_rank_logs_rate_limited_and_group_records";
/// Set (to 1) in the ranks' environment by the job.
const PROBE_ENV: &str = "RANKLOG_LESS_PROBE";

#[test]
#[ignore = "child process of this file's tests (one shared job); run by them under mpirun"]
fn probe_rank_logs_rate_limited_and_group_records() {
    common::probe_env(PROBE_ENV);
    let info = ranklog::RankInfo::from_env()
        .and_then(|i| i.with_contiguous_group("tp", 2))
        .expect("Open MPI identity with two tp groups of 2");
    let guard = ranklog::Builder::from_env()
        .expect("no bad RANKLOG_* variable")
        .rank_info(info)
        .build()
        .expect("logger builds");
    let log = guard.logger();
    for step in 0..1000u64 {
        ranklog::info_once!(log, "less-once-global"; "scope" => "global", "step" => step);
        ranklog::info_once!(log, "less-once-process"; "step" => step);
        ranklog::info_once!(log, "less-once-value {}", step % 2; "scope" => "global");
        ranklog::info_every_n!(log, 250, "less-every-n"; "scope" => "process");
        ranklog::info_first_n!(log, 3, "less-first-n"; "scope" => "global");
        ranklog::warn_every!(log, Duration::from_secs(3600), "less-every-hour");
    }
    info!(log, "less-group-tp"; "scope" => "group:tp");
    info!(ranklog::group(&log, "tp"), "less-group-logger");
    info!(log, "less-rank-list"; "scope" => "ranks:1,last");
    info!(ranklog::local(&log), "less-local-logger");
    drop(guard);
}

fn console() -> Option<&'static str> {
    static JOB: OnceLock<Option<Result<String, String>>> = OnceLock::new();
    let job = JOB.get_or_init(|| {
        let mpirun = mpirun_or_skip()?;
        let cmd = self_under_mpirun(&mpirun, 4, PROBE, &[(PROBE_ENV, "1")]);
        Some(run_with_timeout(cmd, Duration::from_secs(120)).map(|out| out.stderr))
    });
    match job {
        None => None,
        Some(Ok(text)) => Some(text),
        Some(Err(why)) => panic!("{why}"),
    }
}

#[track_caller]
fn lines(marker: &str, expected: usize) {
    let Some(text) = console() else { return };
    assert_eq!(
        count(text, marker),
        expected,
        "{marker}\n--- console ---\n{text}"
    );
}

#[test]
fn a_global_once_record_in_a_loop_prints_once_per_job() {
    lines("less-once-global", 1);
    lines("less-once-global step=0", 1);
    lines("less-once-value 0", 1);
    lines("less-once-value 1", 1);
}

#[test]
fn a_process_once_record_in_a_loop_prints_once_per_rank() {
    lines("less-once-process", 4);
}

#[test]
fn rate_limits_print_the_expected_counts() {
    lines("less-every-n skipped=0", 4);
    lines("less-every-n skipped=249", 12);
    lines("less-first-n", 3);
    lines("less-every-hour skipped=0", 4);
}

#[test]
fn two_tp_groups_of_two_print_a_group_record_twice() {
    lines("less-group-tp", 2);
    lines("less-group-logger", 2);
    let Some(text) = console() else { return };
    for line in text.lines().filter(|l| l.contains("less-group-tp")) {
        assert!(line.contains("[0/4 ") || line.contains("[2/4 "), "{line}");
    }
}

#[test]
fn rank_lists_and_scoped_loggers_print_on_their_ranks() {
    lines("less-rank-list", 2);
    lines("less-local-logger", 1);
    let Some(text) = console() else { return };
    for line in text.lines().filter(|l| l.contains("less-rank-list")) {
        assert!(line.contains("[1/4 ") || line.contains("[3/4 "), "{line}");
    }
}
