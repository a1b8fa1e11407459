//! On a node with an NVIDIA driver and GPUs: NVML lists them, reads their fields, and the
//! sampler logs them. Compiles everywhere; without NVML each test says why it is skipped.
#![cfg(feature = "nvml")]

mod common;

use std::time::{Duration, Instant};

use common::{of_kind, records, temp_dir};
use ranklog::gpu::{GpuDevice, GpuMode, GpuSource, NvmlSource};
use ranklog::{Builder, RankInfo};

/// NVML's devices, or `None` after printing why the test is skipped.
fn devices_or_skip(source: &mut NvmlSource) -> Option<Vec<GpuDevice>> {
    match source.open() {
        Ok(devices) if !devices.is_empty() => Some(devices),
        Ok(_) => {
            eprintln!("skipped: NVML is present but finds no GPU");
            None
        }
        Err(err) => {
            eprintln!("skipped: no NVML on this node: {err}");
            None
        }
    }
}

#[test]
fn nvml_lists_the_gpus_and_reads_their_memory() {
    let mut source = NvmlSource::new();
    let Some(devices) = devices_or_skip(&mut source) else {
        return;
    };
    for (pos, d) in devices.iter().enumerate() {
        assert!(
            d.uuid.starts_with("GPU-") || d.uuid.starts_with("MIG-"),
            "{d:?}"
        );
        let m = source.memory(pos).expect("every GPU reports its memory");
        assert!(
            m.total_bytes > 0 && m.used_bytes <= m.total_bytes,
            "{d:?}: {m:?}"
        );
        source.reopen(pos, &d.uuid).expect("a fresh handle by UUID");
        // Any answer is fine; what matters is that none panics.
        let _ = (
            source.temperature_c(pos),
            source.power_mw(pos),
            source.processes(pos),
        );
    }
    let start = Instant::now();
    for pos in 0..devices.len() {
        let _ = (
            source.memory(pos),
            source.utilization(pos),
            source.temperature_c(pos),
            source.power_mw(pos),
            source.sm_clock_mhz(pos),
            source.total_energy_mj(pos),
            source.processes(pos),
        );
    }
    eprintln!(
        "one NVML round over {} devices (7 queries each) took {:?}",
        devices.len(),
        start.elapsed()
    );
}

#[test]
fn the_sampler_logs_every_gpu_of_the_node() {
    let Some(devices) = devices_or_skip(&mut NvmlSource::new()) else {
        return;
    };
    let dir = temp_dir("gpu-nvml");
    let guard = Builder::new()
        .rank_info(RankInfo::new(0, 1, 0, 1).unwrap())
        .dir(&dir)
        .log_bridge(false)
        .gpu(GpuMode::Node)
        .gpu_interval(Duration::from_millis(200))
        .unwrap()
        .build()
        .unwrap();
    let gpu = guard.gpu().unwrap();
    let snapshot = gpu.sample_now(Duration::from_secs(10)).expect("a round");
    assert_eq!(snapshot.gpus.len(), devices.len());
    std::thread::sleep(Duration::from_millis(500));
    let path = guard.log_file().unwrap().to_owned();
    drop(guard);
    let all = records(&path);
    assert!(of_kind(&all, "gpu").len() >= devices.len());
    assert_eq!(of_kind(&all, "gpu_summary").len(), devices.len());
    assert!(of_kind(&all, "gpu_unavailable").is_empty());
    for r in of_kind(&all, "gpu").iter().take(devices.len()) {
        eprintln!("{r}");
    }
    let _ = std::fs::remove_dir_all(dir);
}
