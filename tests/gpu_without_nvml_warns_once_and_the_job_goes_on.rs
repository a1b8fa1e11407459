//! With the real NVML source on a node without `libnvidia-ml`, without a driver or without
//! a GPU: one warning per node says why, the sampler stops, and the job runs on to exit
//! status 0. Each job runs in a child process: this test binary, re-run for its ignored
//! [`PROBE`] test. On a node where NVML works, the test says it is skipped.

mod common;

use std::process::{Command, Output};

/// The job itself, run by the test in a child process.
const PROBE: &str = "probe_job_with_the_real_nvml_source";
/// Set in the child processes by the test.
const CHILD: &str = "RANKLOG_TEST_GPU_CHILD";

/// The job itself; runs only as a child of the test (see the module docs).
#[test]
#[ignore = "child process of the test of this file; run by it as rank 0 and rank 1 of a job"]
fn probe_job_with_the_real_nvml_source() {
    common::probe_env(CHILD);
    let guard = ranklog::init().unwrap();
    let log = guard.logger();
    guard.events().model_load(&log, "m", 0, 1 << 20).finish();
    std::thread::sleep(std::time::Duration::from_millis(300));
    slog::info!(log, "job done");
    drop(guard);
}

/// Runs [`probe_job_with_the_real_nvml_source`] as rank `rank` of 2 on one node under Open MPI's variables.
fn run_rank(rank: u32, gpu_mode: &str) -> Output {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(common::probe_args(PROBE));
    for (key, _) in std::env::vars() {
        if key.starts_with("RANKLOG_") || key.starts_with("OMPI_") || key.starts_with("SLURM_") {
            cmd.env_remove(key);
        }
    }
    cmd.env(CHILD, "1")
        .env("RANKLOG_GPU", gpu_mode)
        .env("RANKLOG_GPU_INTERVAL", "100ms")
        .env("RANKLOG_COLOR", "never")
        .env("OMPI_COMM_WORLD_RANK", rank.to_string())
        .env("OMPI_COMM_WORLD_SIZE", "2")
        .env("OMPI_COMM_WORLD_LOCAL_RANK", rank.to_string())
        .env("OMPI_COMM_WORLD_LOCAL_SIZE", "2")
        .env_remove("CUDA_VISIBLE_DEVICES");
    cmd.output().unwrap()
}

#[cfg(feature = "nvml")]
#[test]
fn without_nvml_one_warning_per_node_says_why_and_the_job_exits_zero() {
    use ranklog::gpu::{GpuSource, NvmlSource};

    let reason = match NvmlSource::new().open() {
        Ok(devices) if !devices.is_empty() => {
            eprintln!(
                "skipped: NVML works on this node ({} devices); tests/gpu_nvml_reads_real_devices.rs \
                 covers it",
                devices.len()
            );
            return;
        }
        Ok(_) => "no GPU found".to_owned(),
        Err(err) => err.to_string(),
    };
    for mode in ["node", "rank"] {
        let mut warnings = 0;
        for rank in 0..2 {
            let out = run_rank(rank, mode);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                out.status.success(),
                "{mode} rank {rank}: {:?}\n{stderr}",
                out.status
            );
            assert_eq!(stderr.matches("job done").count(), 1, "{stderr}");
            assert_eq!(
                stderr.matches("model m shard 0 loaded").count(),
                1,
                "{stderr}"
            );
            assert!(
                !stderr.contains("GPU memory"),
                "no samples, no memory change: {stderr}"
            );
            let off: Vec<&str> = stderr
                .lines()
                .filter(|l| l.contains("GPU sampling off on"))
                .collect();
            for line in &off {
                assert!(line.starts_with("WARN"), "{line}");
                assert!(line.contains(&reason), "{line} should say {reason:?}");
            }
            warnings += off.len();
        }
        eprintln!("RANKLOG_GPU={mode}: one warning for the node: {reason}");
        assert_eq!(warnings, 1, "RANKLOG_GPU={mode}: one warning per node");
    }
}

#[cfg(not(feature = "nvml"))]
#[test]
fn without_the_nvml_feature_there_is_no_sampler_and_no_warning() {
    let out = run_rank(0, "node");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("job done"), "{stderr}");
    assert!(!stderr.contains("GPU"), "{stderr}");
}
