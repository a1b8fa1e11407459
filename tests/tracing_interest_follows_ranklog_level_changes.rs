//! tracing caches, per call site, whether a subscriber wants its events, and keeps one
//! maximum level for the process (`LevelFilter::current()`). ranklog's tracing layer
//! answers both from its level filter, which `ranklog level` changes while the job runs:
//! each change rebuilds tracing's cache, so a call site that was off comes on within the
//! watcher's poll, and one that was on goes off. (The subscriber is process-wide, so the
//! cache is the real one: one test in its own binary.)
#![cfg(feature = "tracing")]

mod common;

use std::path::Path;
use std::time::Duration;

use ranklog::control::LevelChange;
use ranklog::{Guard, RankInfo};
use serde_json::Value;
use slog::Level;
use tracing::level_filters::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;

/// One call site, hit before and after each change.
fn debug_probe(phase: u32) {
    tracing::debug!(phase, "m-debug-probe");
}

/// Another, at info.
fn info_probe(phase: u32) {
    tracing::info!(phase, "m-info-probe");
}

/// The phases in which the records with `msg` were logged.
fn phases(guard: &Guard, msg: &str) -> Vec<u64> {
    assert!(guard.flush(Duration::from_secs(5)));
    common::records(guard.log_file().unwrap())
        .iter()
        .filter(|r| r["msg"] == msg)
        .map(|r| r["phase"].as_u64().unwrap())
        .collect()
}

/// Asks for `change` through the control file and waits until this rank logged the
/// `n`th `level_changed` record (logged after the change is in force).
fn change_and_wait(guard: &Guard, dir: &Path, change: LevelChange, n: usize) {
    change.append_to(dir).unwrap();
    let applied = common::wait_until(Duration::from_secs(10), || {
        guard.flush(Duration::from_secs(5));
        let records = common::records(guard.log_file().unwrap());
        records
            .iter()
            .filter(|r: &&Value| r["kind"] == "level_changed")
            .count()
            == n
    });
    assert!(applied, "the change #{n} was not applied within 10 s");
}

#[test]
fn call_sites_follow_level_changes_at_run_time() {
    let dir = common::temp_dir("tracing-interest");
    let guard = common::builder_in(&dir, RankInfo::new(0, 1, 0, 1).unwrap())
        .no_console()
        .control(true)
        .build()
        .unwrap();
    tracing::subscriber::set_global_default(
        tracing_subscriber::registry().with(guard.tracing_layer()),
    )
    .unwrap();

    // Phase 0: level info.
    assert_eq!(LevelFilter::current(), LevelFilter::INFO);
    debug_probe(0);
    info_probe(0);
    {
        let _quiet = ranklog::suppress(Level::Warning);
        info_probe(100);
    }

    // Phase 1: `ranklog level debug`: the debug call site, off until now, comes on.
    change_and_wait(
        &guard,
        &dir,
        LevelChange::new(Some(Level::Debug), None, None).unwrap(),
        1,
    );
    assert_eq!(LevelFilter::current(), LevelFilter::DEBUG);
    debug_probe(1);
    info_probe(1);

    // Phase 2: `ranklog level warning`: both go off.
    change_and_wait(
        &guard,
        &dir,
        LevelChange::new(Some(Level::Warning), None, None).unwrap(),
        2,
    );
    assert_eq!(LevelFilter::current(), LevelFilter::WARN);
    debug_probe(2);
    info_probe(2);

    // Phase 3: a filter directive opens this test's module alone, down to debug.
    let module = module_path!();
    change_and_wait(
        &guard,
        &dir,
        LevelChange::new(None, Some(&format!("warn,{module}=debug")), None).unwrap(),
        3,
    );
    assert_eq!(LevelFilter::current(), LevelFilter::DEBUG);
    debug_probe(3);
    info_probe(3);
    tracing::info!(target: "elsewhere", phase = 3, "m-info-probe");

    assert_eq!(phases(&guard, "m-debug-probe"), [1, 3]);
    assert_eq!(phases(&guard, "m-info-probe"), [0, 1, 3]);
    drop(guard);
    let _ = std::fs::remove_dir_all(dir);
}
