//! `*_once!` prints once per call site and message, after the scope check; the rate
//! limits print the expected calls and say how many they skipped.

mod common;

use std::time::Duration;

use common::{count, Captured};
use ranklog::{Builder, RankInfo};
use slog::Level;

fn logger(info: RankInfo) -> (ranklog::Guard, Captured) {
    let console = Captured::default();
    let guard = Builder::new()
        .rank_info(info)
        .level(Level::Debug)
        .console_writer(console.clone())
        .log_bridge(false)
        .build()
        .unwrap();
    (guard, console)
}

#[test]
fn once_prints_once_per_call_site_and_formatted_message() {
    let (guard, console) = logger(RankInfo::single());
    let log = guard.logger();
    for i in 0..1000u32 {
        ranklog::info_once!(log, "m-once-global"; "scope" => "global", "i" => i);
        ranklog::warn_once!(log, "m-once-value {}", i % 3);
        ranklog::debug_once!(log, "m-once-debug");
        ranklog::error_once!(log, "m-once-error");
    }
    ranklog::info_once!(log, "m-once-global"; "scope" => "global"); // another call site
    drop(guard);
    let text = console.text();
    assert_eq!(count(&text, "m-once-global"), 2, "{text}");
    assert_eq!(
        count(&text, "m-once-global i=0"),
        1,
        "the first call's values: {text}"
    );
    for v in 0..3 {
        assert_eq!(count(&text, &format!("m-once-value {v}")), 1, "{text}");
    }
    assert_eq!(count(&text, "m-once-debug"), 1);
    assert_eq!(count(&text, "m-once-error"), 1);
}

#[test]
fn a_rank_that_does_not_print_the_scope_never_prints_the_once_record() {
    let (guard, console) = logger(RankInfo::new(1, 4, 1, 4).unwrap());
    let log = guard.logger();
    for _ in 0..1000 {
        ranklog::info_once!(log, "m-once-gated"; "scope" => "global");
        ranklog::info_once!(log, "m-once-process"; "scope" => "process");
    }
    drop(guard);
    let text = console.text();
    assert_eq!(count(&text, "m-once-gated"), 0, "{text}");
    assert_eq!(count(&text, "m-once-process"), 1, "{text}");
}

#[test]
fn once_records_reach_the_file_once_when_files_keep_everything() {
    let dir = common::temp_dir("once-file");
    let guard = Builder::new()
        .rank_info(RankInfo::new(1, 4, 1, 4).unwrap())
        .no_console()
        .dir(&dir)
        .log_bridge(false)
        .build()
        .unwrap();
    let log = guard.logger();
    for _ in 0..100 {
        ranklog::info_once!(log, "m-once-to-file"; "scope" => "global");
    }
    let path = guard.log_file().unwrap().to_owned();
    drop(guard);
    let file = std::fs::read_to_string(path).unwrap();
    let _ = std::fs::remove_dir_all(dir);
    assert_eq!(count(&file, "m-once-to-file"), 1);
}

#[test]
fn the_once_memory_is_bounded_and_forgets_the_oldest_first() {
    let (guard, console) = logger(RankInfo::single());
    let log = guard.logger();
    let once = |i: u32| ranklog::info_once!(log, "m-fill {}", i); // one call site
    let n = ranklog::ONCE_CAPACITY as u32 + 1;
    for i in 0..n {
        once(i);
    }
    once(0); // the oldest, forgotten: prints again
    once(n - 1); // the newest, remembered
    drop(guard);
    let text = console.text();
    let zero = text.lines().filter(|l| l.ends_with("m-fill 0")).count();
    let last = text
        .lines()
        .filter(|l| l.ends_with(&format!("m-fill {}", n - 1)))
        .count();
    assert_eq!((zero, last), (2, 1));
}

#[test]
fn every_n_prints_every_nth_call_with_the_skipped_count() {
    let (guard, console) = logger(RankInfo::single());
    let log = guard.logger();
    for step in 0..1000u64 {
        ranklog::info_every_n!(log, 100, "m-every-n {}", step; "scope" => "global");
        ranklog::warn_every_n!(log, 0, "m-every-zero"); // 0 counts as 1
    }
    drop(guard);
    let text = console.text();
    let printed: Vec<&str> = text.lines().filter(|l| l.contains("m-every-n")).collect();
    assert_eq!(printed.len(), 10, "{text}");
    assert!(
        printed[0].contains("m-every-n 0 skipped=0"),
        "{}",
        printed[0]
    );
    assert!(
        printed[1].contains("m-every-n 100 skipped=99"),
        "{}",
        printed[1]
    );
    assert_eq!(count(&text, "m-every-zero"), 1000);
}

#[test]
fn first_n_prints_only_the_first_calls() {
    let (guard, console) = logger(RankInfo::single());
    let log = guard.logger();
    for i in 0..1000u64 {
        ranklog::error_first_n!(log, 3, "m-first {}", i);
    }
    drop(guard);
    let text = console.text();
    assert_eq!(count(&text, "m-first"), 3, "{text}");
    assert_eq!(count(&text, "m-first 2 skipped=0"), 1, "{text}");
}

#[test]
fn every_interval_prints_the_first_call_and_then_at_most_once_per_interval() {
    let (guard, console) = logger(RankInfo::single());
    let log = guard.logger();
    for i in 0..1000u64 {
        ranklog::info_every!(log, Duration::from_secs(3600), "m-hourly {}", i);
        ranklog::debug_every!(log, Duration::ZERO, "m-always");
    }
    for _ in 0..3 {
        std::thread::sleep(Duration::from_millis(30));
        ranklog::warn_every!(log, Duration::from_millis(20), "m-paced"; "scope" => "process");
    }
    drop(guard);
    let text = console.text();
    assert_eq!(count(&text, "m-hourly"), 1, "{text}");
    assert_eq!(count(&text, "m-hourly 0 skipped=0"), 1);
    assert_eq!(count(&text, "m-always"), 1000);
    assert_eq!(
        count(&text, "m-paced"),
        3,
        "30 ms apart with a 20 ms interval: {text}"
    );
}
