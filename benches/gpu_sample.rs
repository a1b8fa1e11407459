//! What one sampling round costs the sampler: 8 scripted GPUs read (7 queries each), one
//! console line and 8 per-GPU records formatted into the queue, the round published to
//! `latest()`. Measured as a `sample_now` round trip from the caller, which adds the wake-up
//! of the `ranklog-gpu` thread. With NVML the driver calls come on top: the sampler
//! thread's CPU time through the real nvml-wrapper and the test stand-in of
//! `libnvidia-ml` is measured by `tests/gpu_sampler_thread_uses_under_a_thousandth_of_a_core.rs`,
//! a real driver's round by `tests/gpu_nvml_reads_real_devices.rs` (`scripts/gpu-check.sh`;
//! `docs/gpu.md`).
//!
//! `cargo bench --bench gpu_sample`.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use ranklog::gpu::{GpuMode, ScriptedGpu, ScriptedSource};
use ranklog::{Builder, RankInfo};

fn gpu_sample(c: &mut Criterion) {
    let source = ScriptedSource::new((0..8).map(ScriptedGpu::h100).collect());
    let guard = Builder::new()
        .rank_info(RankInfo::new(0, 1, 0, 1).expect("valid identity"))
        .console_writer(std::io::sink())
        .log_bridge(false)
        .gpu(GpuMode::Node)
        .gpu_interval(Duration::from_secs(3600))
        .expect("valid interval")
        .gpu_source(source)
        .build()
        .expect("logger builds");
    let gpu = guard.gpu().expect("the first rank of a node samples");

    let mut g = c.benchmark_group("gpu_sample");
    g.bench_function("round_of_8_scripted_gpus", |b| {
        b.iter(|| gpu.sample_now(Duration::from_secs(5)).expect("a round"))
    });
    g.finish();
    drop(guard);
}

criterion_group!(benches, gpu_sample);
criterion_main!(benches);
