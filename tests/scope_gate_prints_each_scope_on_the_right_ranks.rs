//! In one process, for each kind of rank (job-first, node-first, other), the console shows
//! exactly the records its scope allows, while the file keeps every record.

mod common;

use common::{count, temp_dir, Captured};
use ranklog::{Builder, RankInfo, Scope};
use slog::{error, info, o, warn, Level};

/// Logs one record of each kind and returns (console text, file text).
fn run(info: RankInfo, tweak: impl FnOnce(Builder) -> Builder, name: &str) -> (String, String) {
    let console = Captured::default();
    let dir = temp_dir(name);
    let guard = tweak(
        Builder::new()
            .rank_info(info)
            .dir(&dir)
            .console_writer(console.clone()),
    )
    .build()
    .unwrap();
    let log = guard.logger();
    info!(log, "m-global"; "scope" => "global");
    info!(log, "m-local"; "scope" => "local");
    info!(log, "m-process"; "scope" => "process");
    info!(log, "m-default");
    info!(log, "m-typed"; "scope" => Scope::Global);
    let global = log.new(o!("scope" => "global"));
    info!(global, "m-bound-global");
    info!(global, "m-bound-override"; "scope" => "process");
    error!(global, "m-error");
    warn!(log, "m-unknown"; "scope" => "globl");
    let path = guard.log_file().unwrap().to_owned();
    drop(guard);
    let file = std::fs::read_to_string(path).unwrap();
    let _ = std::fs::remove_dir_all(dir);
    (console.text(), file)
}

const ALL: [&str; 9] = [
    "m-global",
    "m-local",
    "m-process",
    "m-default",
    "m-typed",
    "m-bound-global",
    "m-bound-override",
    "m-error",
    "m-unknown",
];

#[test]
fn the_job_first_rank_prints_everything() {
    let (console, file) = run(RankInfo::new(0, 4, 0, 2).unwrap(), |b| b, "first");
    for m in ALL {
        assert_eq!(count(&console, &format!(" {m}")), 1, "{m} in\n{console}");
        assert_eq!(count(&file, &format!("\"{m}\"")), 1, "{m} in file");
    }
}

#[test]
fn a_node_first_rank_prints_local_process_and_errors() {
    let (console, file) = run(RankInfo::new(2, 4, 0, 2).unwrap(), |b| b, "node-first");
    for (m, n) in [
        ("m-global", 0),
        ("m-local", 1),
        ("m-process", 1),
        ("m-default", 1),
        ("m-typed", 0),
        ("m-bound-global", 0),
        ("m-bound-override", 1),
        ("m-error", 1),
        ("m-unknown", 1),
    ] {
        assert_eq!(count(&console, &format!(" {m}")), n, "{m} in\n{console}");
    }
    for m in ALL {
        assert_eq!(count(&file, &format!("\"{m}\"")), 1, "the file keeps {m}");
    }
}

#[test]
fn other_ranks_print_process_records_and_errors_only() {
    let (console, _) = run(RankInfo::new(3, 4, 1, 2).unwrap(), |b| b, "other");
    for (m, n) in [
        ("m-global", 0),
        ("m-local", 0),
        ("m-process", 1),
        ("m-default", 1),
        ("m-typed", 0),
        ("m-bound-global", 0),
        ("m-bound-override", 1),
        ("m-error", 1),
        ("m-unknown", 1),
    ] {
        assert_eq!(count(&console, &format!(" {m}")), n, "{m} in\n{console}");
    }
    assert!(
        !console.contains("job of 4 ranks"),
        "the job line is global: {console}"
    );
}

#[test]
fn an_unknown_scope_warns_once_per_process() {
    let console = Captured::default();
    let guard = Builder::new()
        .rank_info(RankInfo::new(1, 2, 1, 2).unwrap())
        .console_writer(console.clone())
        .build()
        .unwrap();
    let log = guard.logger();
    for _ in 0..3 {
        info!(log, "m-typo"; "scope" => "globl");
    }
    drop(guard);
    let text = console.text();
    assert_eq!(count(&text, "m-typo"), 3, "{text}");
    assert_eq!(count(&text, "unknown scope \"globl\""), 1, "{text}");
}

#[test]
fn all_ranks_switch_turns_gating_off() {
    let (console, _) = run(
        RankInfo::new(3, 4, 1, 2).unwrap(),
        |b| b.all_ranks(true),
        "all",
    );
    for m in ALL {
        assert_eq!(count(&console, &format!(" {m}")), 1, "{m} in\n{console}");
    }
}

#[test]
fn the_ungated_level_is_configurable() {
    let (console, _) = run(
        RankInfo::new(3, 4, 1, 2).unwrap(),
        |b| b.ungated_level(Level::Warning),
        "ungated",
    );
    assert_eq!(count(&console, " m-unknown"), 1);
    assert_eq!(count(&console, " m-global"), 0);
    let (console, _) = run(
        RankInfo::new(3, 4, 1, 2).unwrap(),
        |b| b.ungated_level(Level::Critical),
        "ungated-crit",
    );
    assert_eq!(count(&console, " m-error"), 0, "{console}");
}

#[test]
fn gated_file_scope_keeps_only_what_the_console_shows() {
    let (console, file) = run(
        RankInfo::new(3, 4, 1, 2).unwrap(),
        |b| b.file_scope(ranklog::FileScope::Gated),
        "gated-file",
    );
    // Not both empty: rank 3 prints (and files) process records but not global ones.
    assert_eq!(count(&console, " m-process"), 1, "{console}");
    assert_eq!(count(&file, "\"m-process\""), 1, "{file}");
    assert_eq!(count(&file, "\"m-global\""), 0, "{file}");
    for m in ALL {
        assert_eq!(
            count(&console, &format!(" {m}")),
            count(&file, &format!("\"{m}\"")),
            "{m}"
        );
    }
}

#[test]
fn records_logged_after_the_guard_is_dropped_still_arrive() {
    let console = Captured::default();
    let guard = Builder::new()
        .rank_info(RankInfo::single())
        .console_writer(console.clone())
        .build()
        .unwrap();
    let log = guard.logger();
    drop(guard);
    info!(log, "m-late");
    assert_eq!(count(&console.text(), " m-late"), 1, "{}", console.text());
}

#[test]
fn level_and_module_filters_apply_before_gating() {
    let console = Captured::default();
    let guard = Builder::new()
        .rank_info(RankInfo::single())
        .level(Level::Warning)
        .filter("warn,scope_gate_prints_each_scope_on_the_right_ranks=debug")
        .unwrap()
        .console_writer(console.clone())
        .build()
        .unwrap();
    let log = guard.logger();
    slog::debug!(log, "m-debug-here");
    slog::trace!(log, "m-trace-here");
    drop(guard);
    let text = console.text();
    assert_eq!(count(&text, "m-debug-here"), 1, "{text}");
    assert_eq!(count(&text, "m-trace-here"), 0, "{text}");
}

#[test]
fn group_scopes_print_on_each_groups_first_rank() {
    let mut printed = Vec::new();
    for rank in 0..4 {
        let info = RankInfo::new(rank, 4, rank % 2, 2)
            .unwrap()
            .with_contiguous_group("tp", 2)
            .unwrap();
        let console = Captured::default();
        let guard = Builder::new()
            .rank_info(info)
            .console_writer(console.clone())
            .log_bridge(false)
            .build()
            .unwrap();
        let log = guard.logger();
        info!(log, "m-tp-string"; "scope" => "group:tp");
        info!(log, "m-tp-typed"; "scope" => Scope::Group("tp"));
        info!(log, "m-ranks"; "scope" => "ranks:1,last");
        drop(guard);
        let text = console.text();
        printed.push((
            count(&text, "m-tp-string"),
            count(&text, "m-tp-typed"),
            count(&text, "m-ranks"),
        ));
    }
    assert_eq!(printed, [(1, 1, 0), (0, 0, 1), (1, 1, 0), (0, 0, 1)]);
}

#[test]
fn console_ranks_mute_other_ranks_consoles_but_not_their_files_or_errors() {
    let (console, file) = run(
        RankInfo::new(3, 4, 1, 2).unwrap(),
        |b| b.console_ranks("0-1").unwrap(),
        "console-ranks",
    );
    for (m, n) in [
        ("m-process", 0),
        ("m-default", 0),
        ("m-unknown", 0),
        ("m-error", 1),
    ] {
        assert_eq!(count(&console, &format!(" {m}")), n, "{m} in\n{console}");
    }
    for m in ALL {
        assert_eq!(count(&file, &format!("\"{m}\"")), 1, "the file keeps {m}");
    }
    let (console, _) = run(
        RankInfo::new(3, 4, 1, 2).unwrap(),
        |b| b.console_ranks("0,last").unwrap(),
        "console-ranks-last",
    );
    assert_eq!(count(&console, " m-process"), 1, "{console}");
}

#[test]
fn console_false_keeps_a_record_in_the_file_only() {
    let console = Captured::default();
    let dir = temp_dir("console-false");
    let guard = Builder::new()
        .rank_info(RankInfo::single())
        .dir(&dir)
        .console_writer(console.clone())
        .log_bridge(false)
        .build()
        .unwrap();
    let log = guard.logger();
    info!(log, "m-file-only"; "console" => false, "gpu" => 0u32);
    info!(log.new(o!("console" => false)), "m-file-only-by-logger");
    info!(log, "m-both"; "console" => true);
    let path = guard.log_file().unwrap().to_owned();
    drop(guard);
    let file = std::fs::read_to_string(path).unwrap();
    let _ = std::fs::remove_dir_all(dir);
    let text = console.text();
    assert_eq!(count(&text, "m-file-only"), 0, "{text}");
    assert_eq!(count(&text, "m-both"), 1, "{text}");
    assert_eq!(count(&file, "m-file-only"), 2);
    assert!(
        !file.contains("\"console\""),
        "the key is not written: {file}"
    );
}

#[test]
fn gated_files_keep_console_false_records_their_scope_lets_through() {
    let dir = temp_dir("gated-console-false");
    let guard = Builder::new()
        .rank_info(RankInfo::new(1, 2, 1, 2).unwrap())
        .dir(&dir)
        .file_scope(ranklog::FileScope::Gated)
        .no_console()
        .log_bridge(false)
        .build()
        .unwrap();
    let log = guard.logger();
    info!(log, "m-sample-process"; "console" => false);
    info!(log, "m-sample-global"; "console" => false, "scope" => "global");
    let path = guard.log_file().unwrap().to_owned();
    drop(guard);
    let file = std::fs::read_to_string(path).unwrap();
    let _ = std::fs::remove_dir_all(dir);
    assert_eq!(count(&file, "m-sample-process"), 1);
    assert_eq!(count(&file, "m-sample-global"), 0);
}
