//! On a node with an NVIDIA driver and GPUs: NVML lists them as `nvidia-smi` does, reads
//! their fields (saying which the driver refuses), a round of NVML queries has a measured
//! cost, and the sampler logs every GPU.
//!
//! These tests need a real GPU, so they are ignored in normal runs (where they could only
//! skip) and `scripts/gpu-check.sh` runs them on a GPU machine:
//! `gpu_nvml_reads_real_devices --ignored --nocapture --test-threads 1`. Run without a GPU,
//! they fail, saying why. Their output lines starting with `NVML` are the check's report:
//! `NVML device ...` per GPU, `NVML refused ...` per refused field, `NVML round ...` for
//! the cost of one round.
//!
//! With `RANKLOG_NVML_STANDIN` set (gpu-check.sh's `--standin` dry run), NVML is the test
//! stand-in of `tests/nvml_standin/`, and the report says so.
#![cfg(feature = "nvml")]

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{of_kind, records, temp_dir};
use ranklog::gpu::{GpuDevice, GpuError, GpuMode, GpuSource, NvmlSource};
use ranklog::{Builder, RankInfo};

/// Sampling rounds timed for the cost of one round.
const ROUNDS: usize = 200;

/// NVML's devices.
///
/// # Panics
///
/// Without NVML or without a GPU, saying so: these tests need one.
fn devices(source: &mut NvmlSource) -> Vec<GpuDevice> {
    if std::env::var_os("RANKLOG_NVML_STANDIN").is_some() {
        println!("NVML is the test stand-in (RANKLOG_NVML_STANDIN is set): not a real GPU");
    }
    match source.open() {
        Ok(devices) if !devices.is_empty() => devices,
        Ok(_) => panic!("NVML is present but finds no GPU: this test needs a real NVIDIA GPU"),
        Err(err) => panic!(
            "no NVML here ({err}): this test needs a real NVIDIA GPU and its driver; \
             scripts/gpu-check.sh runs it on one"
        ),
    }
}

/// `nvidia-smi`'s view: (uuid, memory used MiB, memory total MiB, utilization %).
fn nvidia_smi() -> Vec<(String, u64, u64, u64)> {
    let out = Command::new("nvidia-smi")
        .args([
            "--query-gpu=uuid,memory.used,memory.total,utilization.gpu",
            "--format=csv,noheader,nounits",
        ])
        .output()
        .unwrap_or_else(|e| panic!("nvidia-smi does not run ({e}); it comes with the driver"));
    assert!(out.status.success(), "nvidia-smi failed: {out:?}");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(',').map(str::trim).collect();
            let n = |i: usize| f[i].parse::<u64>().unwrap_or(0);
            (f[0].to_owned(), n(1), n(2), n(3))
        })
        .collect()
}

/// Prints what a query gave, or that the driver refused it.
fn report<T: std::fmt::Debug>(device: &GpuDevice, field: &str, got: Result<T, GpuError>) {
    match got {
        Ok(v) => println!("NVML device {} {field}: {v:?}", device.uuid),
        Err(e) => println!(
            "NVML refused {field} on {} ({:?}): {e}",
            device.uuid, device.name
        ),
    }
}

#[test]
#[ignore = "needs a real NVIDIA GPU: run by scripts/gpu-check.sh"]
fn nvml_lists_the_gpus_nvidia_smi_lists_and_reads_their_fields() {
    let mut source = NvmlSource::new();
    let devices = devices(&mut source);
    let smi = nvidia_smi();
    for (pos, d) in devices.iter().enumerate() {
        println!("NVML device {pos}: {d:?}");
        assert!(
            d.uuid.starts_with("GPU-") || d.uuid.starts_with("MIG-"),
            "{d:?}"
        );
        let m = source.memory(pos).expect("every GPU reports its memory");
        assert!(
            m.total_bytes > 0 && m.used_bytes <= m.total_bytes,
            "{d:?}: {m:?}"
        );
        report(d, "memory", Ok(m));
        report(d, "utilization", source.utilization(pos));
        report(d, "temperature_c", source.temperature_c(pos));
        report(d, "power_mw", source.power_mw(pos));
        report(d, "sm_clock_mhz", source.sm_clock_mhz(pos));
        report(d, "total_energy_mj", source.total_energy_mj(pos));
        report(d, "processes", source.processes(pos));
        source.reopen(pos, &d.uuid).expect("a fresh handle by UUID");
        if !d.is_mig() {
            let (_, used_mib, total_mib, util) = smi
                .iter()
                .find(|s| s.0 == d.uuid)
                .unwrap_or_else(|| panic!("nvidia-smi does not list {}: {smi:?}", d.uuid));
            println!(
                "NVML vs nvidia-smi {}: used {} vs {used_mib} MiB, total {} vs {total_mib} MiB, \
                 utilization {:?} vs {util} %",
                d.uuid,
                m.used_bytes >> 20,
                m.total_bytes >> 20,
                source.utilization(pos).map(|u| u.gpu_pct)
            );
            assert!(
                (m.total_bytes >> 20).abs_diff(*total_mib) <= 1,
                "total memory: NVML {} MiB, nvidia-smi {total_mib} MiB",
                m.total_bytes >> 20
            );
            // Both read a GPU that a busy process uses: allow for what changed between.
            assert!(
                (m.used_bytes >> 20).abs_diff(*used_mib) <= 2048,
                "used memory: NVML {} MiB, nvidia-smi {used_mib} MiB",
                m.used_bytes >> 20
            );
        }
    }
    let whole = devices.iter().filter(|d| !d.is_mig()).count();
    assert!(
        smi.len() >= whole,
        "NVML lists {whole} GPUs, nvidia-smi {}",
        smi.len()
    );
}

#[test]
#[ignore = "needs a real NVIDIA GPU: run by scripts/gpu-check.sh"]
fn one_nvml_round_costs_what_it_costs() {
    let mut source = NvmlSource::new();
    let devices = devices(&mut source);
    let mut times = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let start = Instant::now();
        for (pos, device) in devices.iter().enumerate() {
            let _ = (
                source.memory(pos),
                (!device.is_mig()).then(|| source.utilization(pos)),
                source.temperature_c(pos),
                source.power_mw(pos),
                source.sm_clock_mhz(pos),
                source.total_energy_mj(pos),
                source.processes(pos),
            );
        }
        times.push(start.elapsed());
        std::thread::sleep(Duration::from_millis(5));
    }
    times.sort_unstable();
    let mean = times.iter().sum::<Duration>() / ROUNDS as u32;
    let p99 = times[ROUNDS * 99 / 100 - 1];
    println!(
        "NVML round over {} devices (7 queries each): mean {:.1} µs, p99 {:.1} µs, max {:.1} µs \
         over {ROUNDS} rounds",
        devices.len(),
        mean.as_secs_f64() * 1e6,
        p99.as_secs_f64() * 1e6,
        times[ROUNDS - 1].as_secs_f64() * 1e6
    );
    assert!(
        mean < Duration::from_millis(100),
        "a round takes {mean:?}: the 100 ms minimum interval would be all NVML"
    );
}

#[test]
#[ignore = "needs a real NVIDIA GPU: run by scripts/gpu-check.sh"]
fn the_sampler_logs_every_gpu_of_the_node() {
    let count = devices(&mut NvmlSource::new()).len();
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
    let mut rounds = Vec::new();
    for _ in 0..20 {
        let asked = Instant::now();
        gpu.sample_now(Duration::from_secs(10)).expect("a round");
        rounds.push(asked.elapsed());
    }
    rounds.sort_unstable();
    println!(
        "NVML sampler round trip (sample_now, {count} devices, logged): median {:.1} µs over {} rounds",
        rounds[rounds.len() / 2].as_secs_f64() * 1e6,
        rounds.len()
    );
    let snapshot = gpu.latest().expect("a round");
    assert_eq!(snapshot.gpus.len(), count);
    let path = guard.log_file().unwrap().to_owned();
    drop(guard);
    let all = records(&path);
    assert!(of_kind(&all, "gpu").len() >= 20 * count);
    assert_eq!(of_kind(&all, "gpu_summary").len(), count);
    assert!(of_kind(&all, "gpu_unavailable").is_empty());
    assert!(
        of_kind(&all, "gpu_error").is_empty(),
        "{:?}",
        of_kind(&all, "gpu_error")
    );
    for r in of_kind(&all, "gpu").iter().take(count) {
        println!("NVML record {r}");
    }
    let _ = std::fs::remove_dir_all(dir);
}
