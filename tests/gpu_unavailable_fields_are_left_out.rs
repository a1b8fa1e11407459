//! A field the GPU does not support (NotSupported), that this user may not read
//! (NoPermission) or that the driver lacks is left out of the record, is not asked for
//! again, and never hides the GPU; MIG devices are sampled without utilization.

mod common;

use std::time::Duration;

use common::{of_kind, records, temp_dir};
use ranklog::gpu::{GpuDevice, GpuError, GpuMode, GpuProcess, ScriptedGpu, ScriptedSource};
use ranklog::{Builder, RankInfo};

const MEM_FIELDS: [&str; 4] = [
    "mem_used_bytes",
    "mem_free_bytes",
    "mem_total_bytes",
    "mem_reserved_bytes",
];

#[test]
fn unavailable_fields_are_omitted_and_the_gpu_is_still_sampled() {
    let me = std::process::id();
    let mut gpus: Vec<_> = (0..2).map(ScriptedGpu::h100).collect();
    gpus[0].power_mw = Err(GpuError::NotSupported);
    gpus[0].utilization = Err(GpuError::NoPermission);
    gpus[0].total_energy_mj = Err(GpuError::FunctionNotFound(
        "nvmlDeviceGetTotalEnergyConsumption".into(),
    ));
    gpus[0].memory = Err(GpuError::NotSupported);
    gpus[0].processes = Err(GpuError::NoPermission);
    gpus[1].processes = Ok(vec![
        GpuProcess {
            pid: me,
            used_bytes: Some(2 << 30),
        },
        GpuProcess {
            pid: u32::MAX - 3,
            used_bytes: Some(5 << 30),
        },
    ]);
    // A MIG device whose utilization query would fail the device if it were asked.
    let mut mig = ScriptedGpu::new(GpuDevice::mig(2, 0, "MIG-0a").name("NVIDIA A100 MIG 1g.10gb"));
    mig.utilization = Err(GpuError::GpuLost);
    mig.temperature_c = Err(GpuError::NotSupported);
    gpus.push(mig);
    let source = ScriptedSource::new(gpus);

    let dir = temp_dir("gpu-omit");
    let guard = Builder::new()
        .rank_info(RankInfo::new(0, 1, 0, 1).unwrap())
        .dir(&dir)
        .no_console()
        .log_bridge(false)
        .gpu(GpuMode::Node)
        .gpu_interval(Duration::from_secs(60))
        .unwrap()
        .gpu_source(source.clone())
        .build()
        .unwrap();
    let gpu = guard.gpu().unwrap();
    let first = gpu.sample_now(Duration::from_secs(5)).unwrap();
    assert_eq!(first.gpus.len(), 3, "no device hidden");
    // Now supported: still not asked again, so still absent.
    source.edit(|s| s.gpus[0].power_mw = Ok(123_000));
    let queries = source.edit(|s| s.queries);
    let second = gpu.sample_now(Duration::from_secs(5)).unwrap();
    let asked = source.edit(|s| s.queries) - queries;
    assert_eq!(second.gpus[0].power_mw, None);
    // Per round: GPU 0 answers temperature and clock, GPU 1 all 7, the MIG device 5
    // (memory, power, clock, energy, processes).
    assert_eq!(asked, 2 + 7 + 5);
    let path = guard.log_file().unwrap().to_owned();
    drop(guard);

    let all = records(&path);
    let recs = of_kind(&all, "gpu");
    assert!(recs.len() >= 6, "{} gpu records", recs.len());
    let last = |index: u64| recs.iter().rev().find(|r| r["gpu"] == index).unwrap();
    let g0 = last(0);
    for gone in MEM_FIELDS.iter().chain(&[
        "util_gpu_pct",
        "util_mem_pct",
        "power_mw",
        "energy_mj",
        "job_mem_used_bytes",
        "mig",
    ]) {
        assert!(g0.get(gone).is_none(), "gpu 0 has {gone}: {g0}");
    }
    assert_eq!(g0["temp_c"], 45);
    assert_eq!(g0["sm_clock_mhz"], 1980);
    assert_eq!(g0["uuid"], "GPU-00000000-0000-0000-0000-000000000000");

    let g1 = last(1);
    for kept in
        MEM_FIELDS
            .iter()
            .chain(&["util_gpu_pct", "power_mw", "temp_c", "name", "pci_bus_id"])
    {
        assert!(g1.get(kept).is_some(), "gpu 1 lacks {kept}: {g1}");
    }
    assert_eq!(
        g1["job_mem_used_bytes"],
        2u64 << 30,
        "only this job's process counts"
    );
    assert_eq!(g1["energy_mj"], 1_500, "energy since the previous sample");
    let first_g1 = recs.iter().find(|r| r["gpu"] == 1).unwrap();
    assert!(
        first_g1.get("energy_mj").is_none(),
        "no previous sample: {first_g1}"
    );

    let m = last(2);
    assert_eq!(m["mig"], true);
    assert_eq!(m["mig_index"], 0);
    assert!(
        m.get("util_gpu_pct").is_none() && m.get("temp_c").is_none(),
        "{m}"
    );
    assert_eq!(m["mem_total_bytes"], 80u64 << 30);
    assert!(of_kind(&all, "gpu_error").is_empty(), "nothing failed");
    let _ = std::fs::remove_dir_all(dir);
}
