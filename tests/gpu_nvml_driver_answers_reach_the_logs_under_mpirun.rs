//! The real `NvmlSource` (nvml-wrapper loading `libnvidia-ml.so.1`) under a real
//! `mpirun -np 4`, against the stand-in NVML library of `tests/nvml_standin/`: what the
//! "driver" answers reaches the console and the files, field by field; NVML is
//! initialized once per sampling process and never per round; node mode runs one
//! sampler; rank mode finds each rank's GPU from `CUDA_VISIBLE_DEVICES` given as an index,
//! a UUID, a unique prefix or a MIG UUID; fields the driver refuses are left out; a GPU
//! lost mid-run is retried with backoff and comes back; a model load's memory delta is
//! what the rank allocated; `gpu_summary` closes the run, and `ranklog plot` (feature
//! `cli`) draws the series.
//!
//! The ranks run the ignored [`PROBE`] test of this binary with the stand-in's directory
//! first on `LD_LIBRARY_PATH` and its scenario in `RANKLOG_NVML_STANDIN`.
#![cfg(feature = "nvml")]

#[cfg(feature = "cli")]
mod cli_common;
mod common;
mod nvml_standin;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::mpirun::{clean_env, mpirun_or_skip, run_with_timeout, Output};
use common::{of_kind, probe_args, probe_env, records, temp_dir};
use nvml_standin::StandIn;
use serde_json::Value;

/// The rank side, run by this file's tests under `mpirun`.
const PROBE: &str = "probe_rank_samples_the_standin_gpus";
/// Set by the tests in the ranks' environment: sampling rounds a sampling rank asks for.
const ROUNDS_ENV: &str = "STANDIN_PROBE_ROUNDS";
/// Set by the tests: bytes a sampling rank "loads" onto its first GPU inside a model load.
const LOAD_ENV: &str = "STANDIN_PROBE_LOAD_BYTES";
/// Longest one job may take.
const JOB_TIMEOUT: Duration = Duration::from_secs(120);
/// What a probe prints on stdout, with `rank=R pid=P sampled=UUID,UUID`.
const REPORT: &str = "STANDIN rank=";

const GIB: u64 = 1 << 30;

/// The rank side: logs with `RANKLOG_*` from the environment (the tests set `RANKLOG_DIR`
/// and `RANKLOG_GPU`), asks its sampler for `STANDIN_PROBE_ROUNDS` rounds, and with
/// `STANDIN_PROBE_LOAD_BYTES` "loads a model" of that size onto its first GPU.
#[test]
#[ignore = "child process of this file's tests; run by them under mpirun with the NVML stand-in"]
fn probe_rank_samples_the_standin_gpus() {
    let rounds: u32 = probe_env(ROUNDS_ENV).to_str().unwrap().parse().unwrap();
    let info = ranklog::RankInfo::from_env().expect("Open MPI's variables describe this rank");
    let rank = info.rank;
    let guard = ranklog::Builder::from_env()
        .expect("good RANKLOG_* variables")
        .rank_info(info)
        .build()
        .expect("logger builds");
    let log = guard.logger().clone();
    let mut sampled = Vec::new();
    if let Some(gpu) = guard.gpu() {
        let mut first = None;
        for _ in 0..rounds {
            if let Some(round) = gpu.sample_now(Duration::from_secs(10)) {
                if let Some(s) = round.gpus.first() {
                    first.get_or_insert_with(|| s.device.clone());
                }
                for s in &round.gpus {
                    if !sampled.contains(&s.device.uuid) {
                        sampled.push(s.device.uuid.clone());
                    }
                }
            }
        }
        if let (Some(bytes), Some(device)) = (std::env::var_os(LOAD_ENV), first) {
            let bytes: i64 = bytes.to_str().unwrap().parse().unwrap();
            let load = guard
                .events()
                .model_load(&log, "standin-model", rank, bytes as u64);
            nvml_standin::allocate(device.index, device.mig_index, bytes);
            load.finish();
        }
    }
    println!(
        "{REPORT}{rank} pid={} sampled={}",
        std::process::id(),
        sampled.join(",")
    );
    drop(guard);
}

/// A finished job: what it printed, each rank's records, and its `STANDIN` reports.
struct Job {
    out: Output,
    /// Records by rank.
    files: Vec<Vec<Value>>,
    /// rank → (pid, sampled UUIDs).
    reports: BTreeMap<u32, (u32, Vec<String>)>,
}

impl Job {
    fn records(&self, rank: usize, kind: &str) -> Vec<&Value> {
        of_kind(&self.files[rank], kind)
    }

    fn show(&self) -> String {
        format!(
            "--- stdout ---\n{}\n--- stderr ---\n{}",
            self.out.stdout, self.out.stderr
        )
    }
}

/// Runs the probe as 4 ranks under `mpirun`, with the stand-in, the ranks' files in
/// `dir`, `envs` set; `per_rank` sets `CUDA_VISIBLE_DEVICES` per rank, as a launcher
/// binding GPUs to tasks does. `None` when `mpirun` is missing outside CI.
fn run_job(
    standin: &StandIn,
    dir: &Path,
    envs: &[(&str, &str)],
    per_rank: Option<[&str; 4]>,
) -> Option<Job> {
    let mpirun = mpirun_or_skip()?;
    let exe = std::env::current_exe().unwrap();
    let mut cmd = Command::new(mpirun);
    cmd.args(["--oversubscribe", "--bind-to", "none", "-np", "4"]);
    if let Some(values) = per_rank {
        // Each rank sets its own CUDA_VISIBLE_DEVICES from STANDIN_CVD_<rank>, then becomes
        // the probe.
        cmd.args([
            "sh",
            "-c",
            r#"eval "export CUDA_VISIBLE_DEVICES=\"\$STANDIN_CVD_$OMPI_COMM_WORLD_RANK\""; exec "$0" "$@""#,
        ]);
        for (rank, v) in values.iter().enumerate() {
            cmd.env(format!("STANDIN_CVD_{rank}"), v);
        }
    }
    cmd.arg(&exe).args(probe_args(PROBE));
    clean_env(&mut cmd);
    cmd.env_remove("CUDA_VISIBLE_DEVICES")
        .env("RANKLOG_COLOR", "never")
        .env("RANKLOG_DIR", dir)
        .env("RANKLOG_GPU_INTERVAL", "100ms")
        .env(ROUNDS_ENV, "4");
    for (k, v) in standin.env() {
        cmd.env(k, v);
    }
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = run_with_timeout(cmd, JOB_TIMEOUT).unwrap_or_else(|e| panic!("{e}"));
    let files = (0..4)
        .map(|r| records(&dir.join(format!("rank-{r:05}.jsonl"))))
        .collect();
    let mut reports = BTreeMap::new();
    for line in out.stdout.lines() {
        let Some(at) = line.find(REPORT) else {
            continue;
        };
        let fields: BTreeMap<&str, &str> = line[at + "STANDIN ".len()..]
            .split(' ')
            .filter_map(|kv| kv.split_once('='))
            .collect();
        let sampled = fields["sampled"]
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        reports.insert(
            fields["rank"].parse().unwrap(),
            (fields["pid"].parse().unwrap(), sampled),
        );
    }
    let job = Job {
        out,
        files,
        reports,
    };
    assert_eq!(job.reports.len(), 4, "every rank reports\n{}", job.show());
    Some(job)
}

/// Two H100s that answer every query; GPU 0 also lists this process (1 GiB) and init
/// (2 GiB, not the job's).
const TWO_GPUS: &str = "\
gpus = 2
driver_version = 550.54.15
gpu0.uuid = GPU-1f3a0c2e-0000-4000-8000-00000000a000
gpu0.memory_total = 85899345920
gpu0.memory_reserved = 536870912
gpu0.memory_used = 3221225472
gpu0.utilization_gpu = 97
gpu0.utilization_memory = 41
gpu0.temperature_c = 64
gpu0.power_mw = 310499
gpu0.sm_clock_mhz = 1980
gpu0.energy_mj = 5000000
gpu0.energy_step_mj = 31000
gpu0.processes = self:1073741824 1:2147483648
gpu1.uuid = GPU-1f3a0c2e-0000-4000-8000-00000000a001
gpu1.memory_total = 85899345920
gpu1.memory_used = 1073741824
gpu1.utilization_gpu = 12
gpu1.utilization_memory = 3
gpu1.temperature_c = 41
gpu1.power_mw = 90000
gpu1.sm_clock_mhz = 1410
gpu1.energy_mj = 100
gpu1.energy_step_mj = 9000
";

#[test]
fn node_mode_samples_once_per_node_with_one_nvml_init_and_every_field() {
    let dir = temp_dir("nvml-node");
    let standin = StandIn::write(&dir.join("standin"), TWO_GPUS);
    let load = (2 * GIB).to_string();
    let Some(job) = run_job(
        &standin,
        &dir.join("logs"),
        &[("RANKLOG_GPU", "node"), (LOAD_ENV, &load)],
        None,
    ) else {
        return;
    };

    // One sampler, on rank 0; one NVML init there, and none on the other ranks.
    let sampler_pid = job.reports[&0].0;
    assert_eq!(
        job.reports[&0].1,
        [
            "GPU-1f3a0c2e-0000-4000-8000-00000000a000",
            "GPU-1f3a0c2e-0000-4000-8000-00000000a001"
        ],
        "{}",
        job.show()
    );
    for r in 1..4 {
        assert!(job.reports[&r].1.is_empty(), "rank {r}\n{}", job.show());
        assert!(job.records(r as usize, "gpu").is_empty(), "rank {r}");
    }
    let inits = standin.count_by_pid("init");
    assert_eq!(
        inits,
        BTreeMap::from([(sampler_pid, 1)]),
        "nvmlInit_v2 calls"
    );
    let rounds = standin.count_by_pid("round");
    assert!(rounds[&sampler_pid] >= 5, "rounds seen by NVML: {rounds:?}");
    assert!(
        standin.count_by_pid("by_uuid").is_empty(),
        "no GPU was reopened"
    );

    // Every field, as the driver gave it, at scope local.
    let samples = job.records(0, "gpu");
    let gpu0: Vec<_> = samples.iter().filter(|r| r["gpu"] == 0).collect();
    assert!(gpu0.len() >= 5, "{samples:?}");
    let first = gpu0[0];
    for (key, want) in [
        ("scope", Value::from("local")),
        ("uuid", "GPU-1f3a0c2e-0000-4000-8000-00000000a000".into()),
        ("name", "NVIDIA H100 80GB HBM3".into()),
        ("pci_bus_id", "00000000:18:00.0".into()),
        ("mem_used_bytes", (3 * GIB).into()),
        ("mem_total_bytes", (80 * GIB).into()),
        ("mem_reserved_bytes", (GIB / 2).into()),
        ("mem_free_bytes", (80 * GIB - 3 * GIB - GIB / 2).into()),
        ("util_gpu_pct", 97.into()),
        ("util_mem_pct", 41.into()),
        ("temp_c", 64.into()),
        ("power_mw", 310_499.into()),
        ("sm_clock_mhz", 1980.into()),
        ("job_mem_used_bytes", GIB.into()),
    ] {
        assert_eq!(first[key], want, "{key} in {first}");
    }
    assert!(
        first.get("energy_mj").is_none(),
        "no energy on a first sample"
    );
    assert_eq!(gpu0[1]["energy_mj"], 31_000, "{}", gpu0[1]);
    assert!(first.get("mig").is_none());

    // The model load took what the rank allocated, and the samples after it show it.
    let loads = job.records(0, "model_load");
    assert_eq!(loads.len(), 1, "{loads:?}");
    assert_eq!(loads[0]["mem_delta_bytes"], 2 * GIB, "{}", loads[0]);
    let last = gpu0.last().unwrap();
    assert_eq!(last["mem_used_bytes"], 5 * GIB, "{last}");
    assert_eq!(last["job_mem_used_bytes"], 3 * GIB, "{last}");

    // Console: one line per round for both GPUs; the summary per GPU at the end.
    let console = format!("{}{}", job.out.stdout, job.out.stderr);
    assert!(
        console.contains("gpu sample: 0: 3.0/80.0 GiB 97% 310 W | 1: 1.0/80.0 GiB 12% 90 W"),
        "{console}"
    );
    let summaries = job.records(0, "gpu_summary");
    assert_eq!(summaries.len(), 2, "{summaries:?}");
    assert_eq!(summaries[0]["peak_mem_used_bytes"], 5 * GIB);
    assert_eq!(summaries[0]["max_util_gpu_pct"], 97);
    assert!(summaries[0]["samples"].as_u64().unwrap() >= 5);
    assert!(console.contains("gpu 0 summary: peak 5.0/80.0 GiB, util mean 97.0% max 97%"));

    #[cfg(feature = "cli")]
    plot_and_summary_show_the_series(&dir.join("logs"));
    let _ = std::fs::remove_dir_all(dir);
}

/// `ranklog plot` finds the node's two GPUs and draws their series; `ranklog summary`
/// lists them.
#[cfg(feature = "cli")]
fn plot_and_summary_show_the_series(logs: &Path) {
    let svg = logs.join("job.svg");
    let out = cli_common::ranklog(&["plot", logs.to_str().unwrap(), "-o", svg.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("2 GPUs on 1 node"), "{stderr}");
    let svg = std::fs::read_to_string(svg).unwrap();
    for series in [
        "GPU 0 memory",
        "GPU 1 memory",
        "GPU 0 utilization",
        "model load",
    ] {
        assert!(svg.contains(series), "{series} missing from the plot");
    }
    let summary = cli_common::ok(&["summary", logs.to_str().unwrap()]);
    assert!(
        summary.contains("GPU-1f3a0c2e-0000-4000-8000-00000000a001"),
        "{summary}"
    );
}

/// Four GPUs: 0 to 2 whole, 3 MIG-enabled with MIG devices 0 and 1 (of 7 slots).
const FOUR_GPUS_ONE_MIG: &str = "\
gpus = 4
gpu0.uuid = GPU-0a0a0a0a-1111-4000-8000-000000000000
gpu1.uuid = GPU-0a0a0a0a-2222-4000-8000-000000000000
gpu2.uuid = GPU-0b0b0b0b-3333-4000-8000-000000000000
gpu3.uuid = GPU-0c0c0c0c-4444-4000-8000-000000000000
gpu0.memory_total = 85899345920
gpu1.memory_total = 85899345920
gpu2.memory_total = 85899345920
gpu3.memory_total = 85899345920
gpu1.utilization_gpu = 55
gpu3.mig_mode = 1
gpu3.mig0.uuid = MIG-9d9d9d9d-0000-5000-8000-000000000000
gpu3.mig0.memory_total = 10737418240
gpu3.mig1.uuid = MIG-9e9e9e9e-0000-5000-8000-000000000000
gpu3.mig1.name = NVIDIA H100 80GB HBM3 MIG 2g.20gb
gpu3.mig1.memory_total = 21474836480
gpu3.mig1.memory_used = 1073741824
gpu3.mig1.power_mw = 120000
";

#[test]
fn rank_mode_finds_each_ranks_gpu_by_index_uuid_prefix_and_mig_uuid() {
    let dir = temp_dir("nvml-rank");
    let standin = StandIn::write(&dir.join("standin"), FOUR_GPUS_ONE_MIG);
    let load = GIB.to_string();
    let Some(job) = run_job(
        &standin,
        &dir.join("logs"),
        &[("RANKLOG_GPU", "rank"), (LOAD_ENV, &load)],
        Some([
            "1",
            "GPU-0b0b0b0b-3333-4000-8000-000000000000",
            "GPU-0a0a0a0a-1",
            "MIG-9e9e9e9e-0000-5000-8000-000000000000",
        ]),
    ) else {
        return;
    };
    let want = [
        "GPU-0a0a0a0a-2222-4000-8000-000000000000",
        "GPU-0b0b0b0b-3333-4000-8000-000000000000",
        "GPU-0a0a0a0a-1111-4000-8000-000000000000",
        "MIG-9e9e9e9e-0000-5000-8000-000000000000",
    ];
    let inits = standin.count_by_pid("init");
    for (rank, uuid) in want.iter().enumerate() {
        let (pid, sampled) = &job.reports[&(rank as u32)];
        assert_eq!(sampled, &[*uuid], "rank {rank}\n{}", job.show());
        assert_eq!(inits.get(pid), Some(&1), "rank {rank}: NVML init calls");
        let samples = job.records(rank, "gpu");
        assert!(samples.len() >= 4, "rank {rank}: {samples:?}");
        for s in &samples {
            assert_eq!(s["uuid"], *uuid, "rank {rank}: {s}");
            assert_eq!(s["scope"], "process", "rank {rank}: {s}");
        }
        let loads = job.records(rank, "model_load");
        assert_eq!(loads[0]["mem_delta_bytes"], GIB, "rank {rank}: {loads:?}");
        assert_eq!(job.records(rank, "gpu_summary").len(), 1, "rank {rank}");
    }
    // Rank 1 named GPU 1 by index, rank 3 a MIG device: its records say so and leave
    // utilization out, which MIG devices do not report.
    assert_eq!(job.records(0, "gpu")[0]["util_gpu_pct"], 55);
    let mig = job.records(3, "gpu")[0];
    assert_eq!(mig["gpu"], 3, "{mig}");
    assert_eq!(mig["mig_index"], 1, "{mig}");
    assert_eq!(mig["mig"], true, "{mig}");
    assert_eq!(mig["name"], "NVIDIA H100 80GB HBM3 MIG 2g.20gb", "{mig}");
    assert_eq!(mig["mem_used_bytes"], GIB, "{mig}");
    assert_eq!(mig["mem_total_bytes"], 20 * GIB, "{mig}");
    assert_eq!(mig["power_mw"], 120_000, "{mig}");
    assert!(mig.get("util_gpu_pct").is_none(), "{mig}");
    let console = format!("{}{}", job.out.stdout, job.out.stderr);
    assert!(
        console.contains("gpu sample: 3.mig1: 1.0/20.0 GiB 120 W"),
        "{console}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// GPU 0 is lost from the driver's round 3 to round 9; GPU 1 refuses power (not
/// supported), temperature (no permission) and energy, and does not say its processes'
/// memory.
const LOST_AND_REFUSED: &str = "\
gpus = 2
gpu0.memory_total = 85899345920
gpu0.memory_used = 1073741824
gpu0.power_mw = 300000
gpu0.temperature_c = 60
gpu0.lost_from = 3
gpu0.lost_until = 9
gpu1.memory_total = 85899345920
gpu1.memory_used = 2147483648
gpu1.utilization_gpu = 50
gpu1.power_mw = NOT_SUPPORTED
gpu1.temperature_c = NO_PERMISSION
gpu1.energy_mj = NOT_SUPPORTED
gpu1.processes = self:- 1:1024
";

#[test]
fn refused_fields_are_left_out_and_a_lost_gpu_comes_back_after_backoff() {
    let dir = temp_dir("nvml-faults");
    let standin = StandIn::write(&dir.join("standin"), LOST_AND_REFUSED);
    let Some(job) = run_job(
        &standin,
        &dir.join("logs"),
        &[("RANKLOG_GPU", "node"), (ROUNDS_ENV, "16")],
        None,
    ) else {
        return;
    };
    let samples = job.records(0, "gpu");
    let gpu1: Vec<_> = samples.iter().filter(|r| r["gpu"] == 1).collect();
    assert!(
        gpu1.len() >= 16,
        "GPU 1 is sampled every round: {samples:?}"
    );
    for s in &gpu1 {
        for gone in ["power_mw", "temp_c", "energy_mj", "job_mem_used_bytes"] {
            assert!(s.get(gone).is_none(), "{gone} in {s}");
        }
        assert_eq!(s["mem_used_bytes"], 2 * GIB, "{s}");
        assert_eq!(s["util_gpu_pct"], 50, "{s}");
    }

    // GPU 0: sampled in rounds 1-2, lost in round 3 (failure 1, retry in 1 round), retried
    // through a fresh handle by UUID in round 5 (failure 2, retry in 2) and 8 (failure 3,
    // retry in 4, no warning: they come at the 1st, 2nd, 4th... failure), back in 13.
    let uuid0 = "GPU-5ce0a000-0000-4000-8000-000000000000";
    let gpu0: Vec<_> = samples.iter().filter(|r| r["gpu"] == 0).collect();
    let errors = job.records(0, "gpu_error");
    let failures: Vec<u64> = errors
        .iter()
        .map(|e| e["failures"].as_u64().unwrap())
        .collect();
    assert_eq!(failures, [1, 2], "{errors:?}\n{}", job.show());
    assert_eq!(errors[0]["uuid"], uuid0);
    assert!(
        errors[0]["error"]
            .as_str()
            .unwrap()
            .contains("fell off the bus"),
        "{}",
        errors[0]
    );
    let back = job.records(0, "gpu_recovered");
    assert_eq!(back.len(), 1, "{}", job.show());
    assert_eq!(back[0]["failures"], 3, "{}", back[0]);
    let reopens: Vec<_> = standin
        .calls()
        .into_iter()
        .filter(|(_, e, _)| e == "by_uuid")
        .map(|(_, _, uuid)| uuid)
        .collect();
    assert_eq!(reopens.len(), 3, "retries of GPU 0 by UUID: {reopens:?}");
    assert!(reopens.iter().all(|u| u == uuid0), "{reopens:?}");
    assert!(gpu0.len() >= 3, "{gpu0:?}");
    assert!(gpu0.len() < gpu1.len(), "GPU 0 missed rounds while lost");
    assert_eq!(gpu0.last().unwrap()["power_mw"], 300_000);

    let console = format!("{}{}", job.out.stdout, job.out.stderr);
    assert!(
        console.contains(
            "gpu 0 (GPU-5ce0a000-0000-4000-8000-000000000000) is back after 3 failed attempts"
        ),
        "{console}"
    );
    assert!(console.contains("| 1: 2.0/80.0 GiB 50%"), "{console}");
    let summaries = job.records(0, "gpu_summary");
    assert_eq!(summaries.len(), 2, "{summaries:?}");
    assert!(summaries[1].get("energy_mj").is_none(), "{}", summaries[1]);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_driver_before_r510_without_memory_info_v2_still_gives_memory() {
    let dir = temp_dir("nvml-r470");
    let standin = StandIn::write(&dir.join("standin"), TWO_GPUS).before_r510();
    let Some(job) = run_job(
        &standin,
        &dir.join("logs"),
        &[("RANKLOG_GPU", "node")],
        None,
    ) else {
        return;
    };
    let samples = job.records(0, "gpu");
    assert!(samples.len() >= 8, "{}", job.show());
    let first = samples[0];
    // Version 1 counts the reserved memory as used and does not give it apart.
    assert_eq!(first["mem_used_bytes"], 3 * GIB + GIB / 2, "{first}");
    assert_eq!(first["mem_reserved_bytes"], 0, "{first}");
    assert_eq!(first["mem_total_bytes"], 80 * GIB, "{first}");
    assert_eq!(first["util_gpu_pct"], 97, "{first}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_driver_that_is_not_loaded_is_one_warning_per_node_and_the_job_goes_on() {
    let dir = temp_dir("nvml-no-driver");
    let standin = StandIn::write(&dir.join("standin"), "init = DRIVER_NOT_LOADED\ngpus = 2\n");
    let Some(job) = run_job(
        &standin,
        &dir.join("logs"),
        &[("RANKLOG_GPU", "node")],
        None,
    ) else {
        return;
    };
    let off = job.records(0, "gpu_unavailable");
    assert_eq!(off.len(), 1, "{}", job.show());
    assert_eq!(
        off[0]["reason"], "the NVIDIA driver is not loaded",
        "{}",
        off[0]
    );
    for r in 0..4 {
        assert!(job.records(r, "gpu").is_empty(), "rank {r}");
        if r > 0 {
            assert!(job.records(r, "gpu_unavailable").is_empty(), "rank {r}");
        }
    }
    let inits = standin.count_by_pid("init");
    assert_eq!(inits.values().sum::<usize>(), 1, "{inits:?}");
    let _ = std::fs::remove_dir_all(dir);
}
