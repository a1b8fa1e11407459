//! Dropping the guard logs one `gpu_summary` record per sampled GPU, before the files are
//! closed: peak memory, mean and maximum utilization, energy over the run, sample count.

mod common;

use std::time::Duration;

use common::{count, of_kind, records, temp_dir, wait_until, Captured};
use ranklog::gpu::{GpuError, GpuMode, GpuUtilization, ScriptedGpu, ScriptedSource};
use ranklog::{Builder, RankInfo};

#[test]
fn each_gpu_gets_a_summary_of_its_samples_at_drop() {
    let source = ScriptedSource::new((0..3).map(ScriptedGpu::h100).collect());
    // GPU 2 never answers: no summary for it.
    source.edit(|s| s.gpus[2].failure = Some(GpuError::GpuLost));
    let console = Captured::default();
    let dir = temp_dir("gpu-summary");
    let guard = Builder::new()
        .rank_info(RankInfo::new(0, 1, 0, 1).unwrap())
        .dir(&dir)
        .console_writer(console.clone())
        .log_bridge(false)
        .gpu(GpuMode::Node)
        .gpu_interval(Duration::from_secs(3600))
        .unwrap()
        .gpu_source(source.clone())
        .build()
        .unwrap();
    let gpu = guard.gpu().unwrap();
    // The first round (12 GiB, 50 %), then two more on demand.
    assert!(wait_until(Duration::from_secs(5), || gpu
        .latest()
        .is_some()));
    for (used_gib, util) in [(10u64, 20u32), (30, 80)] {
        source.edit(|s| {
            s.gpus[0] = s.gpus[0].clone().used_bytes(used_gib << 30);
            s.gpus[0].utilization = Ok(GpuUtilization {
                gpu_pct: util,
                mem_pct: 1,
            });
        });
        assert!(gpu.sample_now(Duration::from_secs(5)).is_some());
    }
    let path = guard.log_file().unwrap().to_owned();
    drop(guard);

    let all = records(&path);
    let summaries = of_kind(&all, "gpu_summary");
    assert_eq!(summaries.len(), 2, "{summaries:?}");
    let s0 = summaries[0];
    assert_eq!(s0["gpu"], 0);
    assert_eq!(s0["uuid"], "GPU-00000000-0000-0000-0000-000000000000");
    assert_eq!(s0["name"], "NVIDIA H100 80GB HBM3");
    assert_eq!(s0["samples"], 3);
    assert_eq!(s0["peak_mem_used_bytes"], 30u64 << 30);
    assert_eq!(s0["mean_util_gpu_pct"], 50.0);
    assert_eq!(s0["max_util_gpu_pct"], 80);
    // Two energy differences of 1.5 J each (the first sample has none).
    assert_eq!(s0["energy_mj"], 3_000);
    assert_eq!(s0["scope"], "local");
    assert_eq!(summaries[1]["peak_mem_used_bytes"], 12u64 << 30);
    assert_eq!(summaries[1]["max_util_gpu_pct"], 50);
    // After every sample, and written out before the guard's drop returned.
    let last_sample = all.iter().rposition(|r| r["kind"] == "gpu").unwrap();
    let first_summary = all.iter().position(|r| r["kind"] == "gpu_summary").unwrap();
    assert!(last_sample < first_summary);

    let text = console.text();
    assert_eq!(
        count(
            &text,
            "gpu 0 summary: peak 30.0/80.0 GiB, util mean 50.0% max 80%, 3.0 J, 3 samples"
        ),
        1,
        "{text}"
    );
    assert_eq!(count(&text, "gpu 2 summary"), 0);
    let _ = std::fs::remove_dir_all(dir);
}
