//! Under a real `mpirun -np 4`, a `tracing` event through
//! [`Guard::tracing_layer`](ranklog::Guard::tracing_layer) is gated exactly like the slog
//! record that says the same: for every scope (global, local, process, none, a rank list,
//! bound to the logger or the span, an error) the console shows as many lines, on the same
//! ranks, and every rank's file keeps each record once with the same resolved scope.
//!
//! This test binary runs itself under `mpirun`: the ranks run the ignored [`PROBE`] test
//! (with `RANKLOG_TRACING_PROBE=1` set), which logs each case once through slog and once
//! through tracing, each with its own marker. Without `mpirun` on `PATH` the test prints a
//! skip line, except under CI (`CI` set), where it fails.
#![cfg(feature = "tracing")]

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::mpirun::{mpirun_or_skip, run_with_timeout, self_under_mpirun};
use serde_json::Value;
use slog::{debug, error, info, o};
use tracing_subscriber::layer::SubscriberExt;

const NP: u32 = 4;
const PROBE: &str = "probe_rank_logs_each_scope_through_slog_and_tracing";
const PROBE_ENV: &str = "RANKLOG_TRACING_PROBE";
const DIR_ENV: &str = "RANKLOG_TRACING_PROBE_DIR";

/// The cases: (name, console lines expected in the job, ranks that print them). Each is
/// logged with the marker `slog-mark-NAME-end` and `tracing-mark-NAME-end`.
const CASES: [(&str, &[u32], &str); 8] = [
    ("global", &[0], "global"),
    ("local", &[0], "local"),
    ("process", &[0, 1, 2, 3], "process"),
    ("default", &[0, 1, 2, 3], "process"),
    ("ranks13", &[1, 3], "ranks:1,3"),
    ("bound", &[0], "global"),
    ("errglobal", &[0, 1, 2, 3], "global"),
    ("debug", &[], ""),
];

fn marker(peer: &str, case: &str) -> String {
    format!("{peer}-mark-{case}-end")
}

#[test]
#[ignore = "child process of same_console_lines_and_file_records_for_every_scope; run by it under mpirun"]
fn probe_rank_logs_each_scope_through_slog_and_tracing() {
    common::probe_env(PROBE_ENV);
    let dir = common::probe_env(DIR_ENV);
    let guard = ranklog::Builder::from_env()
        .and_then(|b| b.dir(PathBuf::from(dir)).gpu(ranklog::GpuMode::Off).build())
        .expect("logger builds from Open MPI's environment");
    assert_eq!(guard.rank_info().size, NP);
    tracing::subscriber::set_global_default(
        tracing_subscriber::registry().with(guard.tracing_layer()),
    )
    .expect("the only subscriber of this process");
    let log = guard.logger();
    let m = |case| marker("slog", case);
    info!(log, "{}", m("global"); "scope" => "global");
    info!(log, "{}", m("local"); "scope" => "local");
    info!(log, "{}", m("process"); "scope" => "process");
    info!(log, "{}", m("default"));
    info!(log, "{}", m("ranks13"); "scope" => "ranks:1,3");
    info!(log.new(o!("scope" => "global")), "{}", m("bound"));
    error!(log, "{}", m("errglobal"); "scope" => "global");
    debug!(log, "{}", m("debug"));

    let m = |case| marker("tracing", case);
    tracing::info!(scope = "global", "{}", m("global"));
    tracing::info!(scope = "local", "{}", m("local"));
    tracing::info!(scope = "process", "{}", m("process"));
    tracing::info!("{}", m("default"));
    tracing::info!(scope = "ranks:1,3", "{}", m("ranks13"));
    tracing::info_span!("load", scope = "global").in_scope(|| tracing::info!("{}", m("bound")));
    tracing::error!(scope = "global", "{}", m("errglobal"));
    tracing::debug!("{}", m("debug"));
    drop(guard);
}

#[test]
fn same_console_lines_and_file_records_for_every_scope() {
    let Some(mpirun) = mpirun_or_skip() else {
        return;
    };
    let dir = common::temp_dir("tracing-mpirun");
    let dir_text = dir.to_string_lossy().into_owned();
    let cmd = self_under_mpirun(
        &mpirun,
        NP,
        PROBE,
        &[(PROBE_ENV, "1"), (DIR_ENV, &dir_text)],
    );
    let out = run_with_timeout(cmd, Duration::from_secs(120)).unwrap_or_else(|e| panic!("{e}"));
    let console = out.stderr;
    let files: Vec<Vec<Value>> = (0..NP)
        .map(|r| common::records(&dir.join(format!("rank-{r:05}.jsonl"))))
        .collect();
    let _ = std::fs::remove_dir_all(&dir);

    for (case, ranks, scope) in CASES {
        for peer in ["slog", "tracing"] {
            let mark = marker(peer, case);
            let lines: Vec<&str> = console.lines().filter(|l| l.contains(&mark)).collect();
            let printed_by: Vec<u32> = (0..NP)
                .filter(|r| lines.iter().any(|l| l.contains(&format!("[{r}/{NP} "))))
                .collect();
            assert_eq!(
                (lines.len(), printed_by.as_slice()),
                (ranks.len(), ranks),
                "{peer}, case {case}: console lines and the ranks that printed them\n\
                 --- console ---\n{console}"
            );
            for (r, records) in files.iter().enumerate() {
                let filed: Vec<&Value> = records.iter().filter(|v| v["msg"] == mark).collect();
                if scope.is_empty() {
                    assert!(filed.is_empty(), "rank {r}, {peer} {case}: {filed:?}");
                } else {
                    assert_eq!(filed.len(), 1, "rank {r}, {peer} {case}: {records:#?}");
                    assert_eq!(filed[0]["scope"], scope, "rank {r}: {}", filed[0]);
                    assert_eq!(filed[0]["rank"], r, "{}", filed[0]);
                }
            }
        }
    }
}
