//! Dropping the guard stops the `ranklog-gpu` thread within 100 ms, whatever the interval
//! and even in the middle of a round of slow driver calls.

mod common;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::wait_until;
use ranklog::gpu::{GpuMode, ScriptedGpu, ScriptedSource, THREAD_NAME};
use ranklog::{Builder, RankInfo};

/// The tests of this file run one at a time: they time drops and count threads.
static SERIAL: Mutex<()> = Mutex::new(());

fn build(source: &ScriptedSource, interval: Duration) -> ranklog::Guard {
    Builder::new()
        .rank_info(RankInfo::new(0, 1, 0, 1).unwrap())
        .no_console()
        .log_bridge(false)
        .gpu(GpuMode::Node)
        .gpu_interval(interval)
        .unwrap()
        .gpu_source(source.clone())
        .build()
        .unwrap()
}

/// Threads of this process named `name` (Linux: `/proc/self/task/*/comm`).
#[cfg(target_os = "linux")]
fn threads_named(name: &str) -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|comm| comm.trim_end() == name)
        .count()
}

#[test]
fn a_waiting_sampler_stops_at_once_not_after_its_interval() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut worst = Duration::ZERO;
    for _ in 0..5 {
        let source = ScriptedSource::new((0..8).map(ScriptedGpu::h100).collect());
        let guard = build(&source, Duration::from_secs(3600));
        let gpu = guard.gpu().unwrap();
        assert!(wait_until(Duration::from_secs(5), || gpu
            .latest()
            .is_some()));
        let start = Instant::now();
        drop(guard);
        worst = worst.max(start.elapsed());
        assert!(gpu.has_stopped());
        assert!(
            gpu.sample_now(Duration::from_secs(1)).is_none(),
            "a stopped sampler takes no round"
        );
    }
    eprintln!("guard drop with an idle sampler: worst of 5 took {worst:?}");
    assert!(worst < Duration::from_millis(100), "{worst:?}");
}

#[test]
fn a_sampler_in_the_middle_of_slow_driver_calls_stops_within_100ms() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // 8 GPUs x 7 queries x 4 ms: a round takes about 220 ms.
    let source = ScriptedSource::new((0..8).map(ScriptedGpu::h100).collect());
    source.edit(|s| s.delay = Duration::from_millis(4));
    let guard = build(&source, Duration::from_millis(100));
    let gpu = guard.gpu().unwrap();
    assert!(wait_until(Duration::from_secs(5), || source
        .edit(|s| s.queries)
        > 10));
    let start = Instant::now();
    drop(guard);
    let took = start.elapsed();
    eprintln!("guard drop in the middle of a slow round took {took:?}");
    assert!(took < Duration::from_millis(100), "{took:?}");
    assert!(gpu.has_stopped());
}

#[cfg(target_os = "linux")]
#[test]
fn the_thread_is_named_and_gone_after_the_drop() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    assert_eq!(threads_named(THREAD_NAME), 0);
    let source = ScriptedSource::new(vec![ScriptedGpu::h100(0)]);
    let guard = build(&source, Duration::from_secs(3600));
    // The new thread names itself as it starts.
    assert!(wait_until(Duration::from_secs(5), || threads_named(
        THREAD_NAME
    ) == 1));
    drop(guard);
    assert_eq!(threads_named(THREAD_NAME), 0, "joined");
}
