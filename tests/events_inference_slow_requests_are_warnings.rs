//! An inference request is logged with its tokens, latency, time to first token and
//! tokens/s; above `RANKLOG_SLOW_MS` it is a warning with `slow=true`.

mod common;

use std::time::Duration;

use common::{records, temp_dir, Captured};
use ranklog::{Builder, Events, Inference, RankInfo};

fn run(vars: &[(&str, &str)], name: &str, requests: &[Inference]) -> Vec<serde_json::Value> {
    let dir = temp_dir(name);
    let guard = Builder::from_vars(vars.iter().copied())
        .unwrap()
        .rank_info(RankInfo::new(0, 1, 0, 1).unwrap())
        .dir(&dir)
        .no_console()
        .log_bridge(false)
        .build()
        .unwrap();
    let (log, events) = (guard.logger(), guard.events());
    for r in requests {
        events.inference(&log, r);
    }
    let path = guard.log_file().unwrap().to_owned();
    drop(guard);
    let all = records(&path);
    let _ = std::fs::remove_dir_all(dir);
    all.into_iter()
        .filter(|r| r["kind"] == "inference")
        .collect()
}

#[test]
fn requests_over_the_threshold_are_warnings_marked_slow() {
    let requests = [
        Inference::new(1u32, 12, 64, Duration::from_millis(400)),
        Inference::new("req-b", 8, 100, Duration::from_millis(800))
            .ttft(Duration::from_micros(95_500)),
        Inference::new(3u64, 8, 10, Duration::from_millis(500)),
    ];
    let recs = run(
        &[("RANKLOG_SLOW_MS", "500"), ("RANKLOG_GPU", "off")],
        "events-slow",
        &requests,
    );
    assert_eq!(recs.len(), 3);
    let fast = &recs[0];
    assert_eq!(fast["level"], "info");
    assert_eq!(fast["request"], 1);
    assert_eq!(fast["prompt_tokens"], 12);
    assert_eq!(fast["completion_tokens"], 64);
    assert_eq!(fast["latency_ms"], 400.0);
    assert_eq!(fast["tokens_per_s"], 160.0);
    assert!(
        fast.get("ttft_ms").is_none() && fast.get("slow").is_none(),
        "{fast}"
    );

    let slow = &recs[1];
    assert_eq!(slow["level"], "warning");
    assert_eq!(slow["slow"], true);
    assert_eq!(slow["request"], "req-b");
    assert_eq!(slow["ttft_ms"], 95.5);
    assert_eq!(slow["tokens_per_s"], 125.0);
    assert!(
        slow["msg"]
            .as_str()
            .unwrap()
            .ends_with("slower than 500 ms"),
        "{slow}"
    );
    // Exactly at the threshold is not slower than it.
    assert_eq!(recs[2]["level"], "info");
}

#[test]
fn without_a_threshold_no_request_is_slow() {
    let recs = run(
        &[],
        "events-noslow",
        &[Inference::new(1u32, 1, 1, Duration::from_secs(60))],
    );
    assert_eq!(recs[0]["level"], "info");
    assert!(recs[0].get("slow").is_none());
}

#[test]
fn bad_thresholds_are_named_errors() {
    for bad in ["0", "-5", "soon", ""] {
        let err = Builder::from_vars([("RANKLOG_SLOW_MS", bad)])
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("RANKLOG_SLOW_MS") && err.contains("milliseconds"),
            "{err}"
        );
    }
}

#[test]
fn events_work_with_any_logger_and_keep_its_scope() {
    let console = Captured::default();
    // Rank 1 of 2: a `global` logger's inference records are not its to print.
    let guard = Builder::new()
        .rank_info(RankInfo::new(1, 2, 1, 2).unwrap())
        .console_writer(console.clone())
        .log_bridge(false)
        .build()
        .unwrap();
    let log = guard.logger();
    let request = Inference::new(9u32, 1, 2, Duration::from_millis(10));
    Events::new().inference(&ranklog::global(&log), &request);
    Events::new().inference(&log, &request);
    drop(guard);
    assert_eq!(
        common::count(&console.text(), "request 9: 2 tokens kind=inference request=9 prompt_tokens=1 completion_tokens=2 latency_ms=10"),
        1
    );
}
