//! A GPU that fails mid-run (GpuLost, an unknown driver error) is retried through a fresh
//! handle with exponential backoff, warned about at its 1st, 2nd, 4th... failure, and
//! sampled again once back; the other GPUs are sampled all along and the sampler never
//! stops.

mod common;

use std::time::Duration;

use common::{of_kind, records, temp_dir, wait_until};
use ranklog::gpu::{GpuError, GpuMode, ScriptedGpu, ScriptedSource};
use ranklog::{Builder, RankInfo};

fn build(source: &ScriptedSource, name: &str) -> (ranklog::Guard, std::path::PathBuf) {
    let guard = Builder::new()
        .rank_info(RankInfo::new(0, 1, 0, 1).unwrap())
        .dir(temp_dir(name))
        .no_console()
        .log_bridge(false)
        .gpu(GpuMode::Node)
        .gpu_interval(Duration::from_millis(100))
        .unwrap()
        .gpu_source(source.clone())
        .build()
        .unwrap();
    let path = guard.log_file().unwrap().to_owned();
    (guard, path)
}

#[test]
fn a_lost_gpu_is_retried_with_backoff_and_sampled_again_when_back() {
    let source = ScriptedSource::new((0..2).map(ScriptedGpu::h100).collect());
    let (guard, path) = build(&source, "gpu-lost");
    let gpu = guard.gpu().unwrap();
    assert!(gpu.sample_now(Duration::from_secs(5)).is_some());
    source.edit(|s| s.gpus[1].failure = Some(GpuError::GpuLost));
    // Failures at rounds 1, 3, 6, 11: waits of 1, 2, 4 rounds between attempts.
    assert!(wait_until(Duration::from_secs(10), || source
        .edit(|s| s.reopens)
        >= 3));
    source.edit(|s| s.gpus[1].failure = None);
    assert!(wait_until(Duration::from_secs(10), || {
        gpu.latest().is_some_and(|s| s.gpus.len() == 2)
    }));
    assert!(!gpu.has_stopped());
    drop(guard);

    let all = records(&path);
    let errors = of_kind(&all, "gpu_error");
    let failures: Vec<u64> = errors
        .iter()
        .map(|r| r["failures"].as_u64().unwrap())
        .collect();
    let retry: Vec<u64> = errors
        .iter()
        .map(|r| r["retry_in_rounds"].as_u64().unwrap())
        .collect();
    // Four failures (the first and three reopens), warned about at the 1st, 2nd and 4th.
    assert_eq!(failures, [1, 2, 4], "{errors:?}");
    assert_eq!(retry, [1, 2, 8]);
    for e in &errors {
        assert_eq!(e["level"], "warning");
        assert_eq!(e["gpu"], 1);
        assert_eq!(
            e["error"],
            "the GPU fell off the bus or is otherwise unreachable"
        );
    }
    let recovered = of_kind(&all, "gpu_recovered");
    assert_eq!(recovered.len(), 1);
    assert_eq!(recovered[0]["failures"], 4);

    // GPU 0 was sampled in every round; GPU 1 before the failure and after recovery.
    let rounds = of_kind(&all, "gpu_line").len();
    let samples = |i: u64| {
        of_kind(&all, "gpu")
            .iter()
            .filter(|r| r["gpu"] == i)
            .count()
    };
    assert_eq!(samples(0), rounds);
    assert!(
        samples(1) >= 2 && samples(1) < rounds,
        "{} of {rounds}",
        samples(1)
    );
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

#[test]
fn a_driver_failing_for_every_gpu_does_not_stop_the_sampler() {
    let source = ScriptedSource::new((0..2).map(ScriptedGpu::h100).collect());
    let (guard, path) = build(&source, "gpu-unknown");
    let gpu = guard.gpu().unwrap();
    assert!(gpu.sample_now(Duration::from_secs(5)).is_some());
    source.edit(|s| {
        s.gpus
            .iter_mut()
            .for_each(|g| g.failure = Some(GpuError::Unknown))
    });
    let empty = gpu
        .sample_now(Duration::from_secs(5))
        .expect("rounds go on");
    assert!(empty.gpus.is_empty());
    source.edit(|s| s.gpus.iter_mut().for_each(|g| g.failure = None));
    assert!(wait_until(Duration::from_secs(10), || {
        gpu.latest().is_some_and(|s| s.gpus.len() == 2)
    }));
    drop(guard);
    let all = records(&path);
    assert_eq!(of_kind(&all, "gpu_recovered").len(), 2);
    let errors = of_kind(&all, "gpu_error");
    // Each GPU's first failure is warned about (an empty list would pass the check below).
    let mut failed: Vec<u64> = errors.iter().map(|r| r["gpu"].as_u64().unwrap()).collect();
    failed.sort_unstable();
    failed.dedup();
    assert_eq!(failed, [0, 1], "{errors:?}");
    assert!(
        errors.iter().all(|r| r["error"] == "unknown driver error"),
        "{errors:?}"
    );
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}
