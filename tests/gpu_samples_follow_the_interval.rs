//! The sampler takes a round every interval, on a fixed schedule, and each round gives one
//! console line for the node and one file record per GPU (kept off the console).

mod common;

use std::time::Duration;

use common::{count, of_kind, records, temp_dir, wait_until, Captured};
use ranklog::gpu::{GpuMode, ScriptedGpu, ScriptedSource};
use ranklog::{Builder, RankInfo};

/// Rounds to wait for: 1.8 s at one every 200 ms.
const ROUNDS: usize = 10;

/// Seconds since midnight of a record's `ts` (`2026-11-21T04:24:06.123456Z`).
fn secs_of_day(record: &serde_json::Value) -> f64 {
    let ts = record["ts"].as_str().unwrap();
    let time = &ts[ts.find('T').unwrap() + 1..ts.len() - 1];
    let mut parts = time.split(':').map(|p| p.parse::<f64>().unwrap());
    let (h, m, s) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    h * 3600.0 + m * 60.0 + s
}

#[test]
fn rounds_come_every_interval_with_one_console_line_and_one_record_per_gpu() {
    let console = Captured::default();
    let dir = temp_dir("gpu-interval");
    let source = ScriptedSource::new((0..3).map(ScriptedGpu::h100).collect());
    let guard = Builder::new()
        .rank_info(RankInfo::new(0, 1, 0, 1).unwrap())
        .dir(&dir)
        .console_writer(console.clone())
        .log_bridge(false)
        .gpu(GpuMode::Node)
        .gpu_interval(Duration::from_millis(200))
        .unwrap()
        .gpu_source(source)
        .build()
        .unwrap();
    let path = guard.log_file().unwrap().to_owned();
    // Rounds at 0, 200, 400... ms: wait for ROUNDS of them however long a loaded machine
    // takes, instead of counting what a fixed sleep gave.
    assert!(
        wait_until(Duration::from_secs(30), || count(
            &console.text(),
            "gpu sample: 0: "
        ) >= ROUNDS),
        "{ROUNDS} rounds in 30 s:\n{}",
        console.text()
    );
    drop(guard);

    let all = records(&path);
    let lines = of_kind(&all, "gpu_line");
    let gpus = of_kind(&all, "gpu");
    assert!(lines.len() >= ROUNDS, "{} rounds", lines.len());
    assert_eq!(gpus.len(), 3 * lines.len());
    // Seconds since the first round, which sets the schedule: round i is due at 0.2 * i.
    let times: Vec<f64> = lines.iter().map(|r| secs_of_day(r)).collect();
    let since: Vec<f64> = times.iter().map(|t| t - times[0]).collect();
    // A late round (a busy machine) is fine, and so is a missed slot: a fixed schedule
    // skips it. An early one is not: round i never comes before its slot. Half an interval
    // of slack, for the first round's own record being late; an early round is a whole
    // interval early.
    for (i, t) in since.iter().enumerate() {
        assert!(
            *t >= 0.2 * i as f64 - 0.1,
            "round {i} came early, {t:.3} s after the first: {since:?}"
        );
    }
    // On a fixed schedule lateness does not add up: the mean period stays 200 ms. Over at
    // least ROUNDS - 1 periods, 0.26 s leaves the last round more than half a second to be
    // late, and still catches a period 30% too long.
    let mean = since[since.len() - 1] / (since.len() - 1) as f64;
    assert!(
        (0.18..0.26).contains(&mean),
        "mean period {mean} s: {since:?}"
    );
    for r in &gpus {
        assert_eq!(r["scope"], "local");
        assert_eq!(r["mem_total_bytes"], 80u64 << 30);
    }

    let text = console.text();
    assert_eq!(
        count(&text, "gpu sample: 0: 12.0/80.0 GiB 50% 300 W | 1: "),
        lines.len(),
        "{text}"
    );
    assert_eq!(
        count(&text, " gpu 0:"),
        0,
        "per-GPU records stay off the console:\n{text}"
    );
    assert_eq!(
        count(
            &text,
            "GPU sampling every 200ms: 3 devices (0-2 NVIDIA H100 80GB HBM3)"
        ),
        1,
        "{text}"
    );
    let _ = std::fs::remove_dir_all(dir);
}
