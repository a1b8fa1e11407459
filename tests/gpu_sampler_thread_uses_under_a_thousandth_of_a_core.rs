//! The sampler's own cost: with 8 GPUs answered by the NVML stand-in (the real
//! `NvmlSource` and nvml-wrapper; `tests/nvml_standin/`) the `ranklog-gpu` thread uses
//! at most 0.1 % of a core at a 1 s interval, i.e. at most 1 ms of CPU per round,
//! measured from the kernel's count of the thread's CPU time
//! (`/proc/self/task/<tid>/schedstat`, nanoseconds).
//!
//! The CI test samples every 100 ms for 3 s and checks the cost per round; the ignored
//! one is the long form (1 s for 60 s, the whole thread's CPU time, NVML's init
//! included):
//! `cargo test --release --test gpu_sampler_thread_uses_under_a_thousandth_of_a_core -- --ignored --exact sampler_at_1s_for_60s_with_8_gpus --nocapture`.
#![cfg(feature = "nvml")]

mod common;
mod nvml_standin;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::mpirun::run_with_timeout;
use common::{of_kind, probe_args, probe_env, records, temp_dir};
use nvml_standin::StandIn;

/// The measuring side: a process of its own, started with the stand-in's environment.
const PROBE: &str = "probe_measure_the_sampler_threads_cpu";
/// Set by the tests: the sampling interval (`RANKLOG_GPU_INTERVAL` syntax) and how long
/// to sample, in seconds.
const INTERVAL_ENV: &str = "CPU_PROBE_INTERVAL";
const SECONDS_ENV: &str = "CPU_PROBE_SECONDS";
/// The probe's report on stdout: `SAMPLER_CPU rounds=R thread_ns=N measured_ns=M
/// measured_rounds=K wall_ns=W`.
const REPORT: &str = "SAMPLER_CPU ";

/// 8 H100s answering every query, each with two processes.
fn eight_gpus() -> String {
    let mut s = "gpus = 8\n".to_owned();
    for i in 0..8u64 {
        s += &format!(
            "gpu{i}.memory_total = 85899345920\ngpu{i}.memory_used = {}\n\
             gpu{i}.utilization_gpu = 90\ngpu{i}.power_mw = 300000\ngpu{i}.temperature_c = 60\n\
             gpu{i}.sm_clock_mhz = 1980\ngpu{i}.energy_step_mj = 300000\n\
             gpu{i}.processes = self:1073741824 1:1073741824\n",
            (i + 1) << 30
        );
    }
    s
}

/// The sampler thread's CPU time so far, in ns.
fn sampler_cpu_ns() -> u64 {
    for task in std::fs::read_dir("/proc/self/task").unwrap() {
        let task = task.unwrap().path();
        let comm = std::fs::read_to_string(task.join("comm")).unwrap_or_default();
        if comm.trim() == ranklog::gpu::THREAD_NAME {
            let stat = std::fs::read_to_string(task.join("schedstat")).unwrap();
            return stat.split_whitespace().next().unwrap().parse().unwrap();
        }
    }
    panic!("no {} thread in this process", ranklog::gpu::THREAD_NAME);
}

/// Rounds logged so far in `file` (one `gpu_line` record per round).
fn rounds(file: &Path) -> usize {
    of_kind(&records(file), "gpu_line").len()
}

#[test]
#[ignore = "child process of this file's tests; run by them with the NVML stand-in"]
fn probe_measure_the_sampler_threads_cpu() {
    let interval = probe_env(INTERVAL_ENV).into_string().unwrap();
    let seconds: f64 = probe_env(SECONDS_ENV).to_str().unwrap().parse().unwrap();
    let dir = PathBuf::from(probe_env("RANKLOG_DIR"));
    let guard = ranklog::Builder::from_vars([("RANKLOG_GPU_INTERVAL", interval.as_str())])
        .unwrap()
        .rank_info(ranklog::RankInfo::new(0, 1, 0, 1).unwrap())
        .dir(&dir)
        .console_writer(std::io::sink())
        .log_bridge(false)
        .gpu(ranklog::GpuMode::Node)
        .build()
        .unwrap();
    let start = Instant::now();
    let gpu = guard.gpu().expect("rank 0 samples");
    assert!(common::wait_until(Duration::from_secs(10), || gpu
        .latest()
        .is_some_and(|s| s.gpus.len() == 8)));
    let file = guard.log_file().unwrap().to_owned();
    guard.flush(Duration::from_secs(1));
    let (cpu0, rounds0) = (sampler_cpu_ns(), rounds(&file));
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs_f64(seconds).saturating_sub(start.elapsed()));
    let (cpu1, wall) = (sampler_cpu_ns(), t0.elapsed());
    guard.flush(Duration::from_secs(1));
    let rounds1 = rounds(&file);
    drop(guard);
    println!(
        "{REPORT}rounds={rounds1} thread_ns={cpu1} measured_ns={} measured_rounds={} wall_ns={}",
        cpu1 - cpu0,
        rounds1 - rounds0,
        wall.as_nanos()
    );
}

/// What the probe reported.
struct Cost {
    rounds: u64,
    thread_ns: u64,
    measured_ns: u64,
    measured_rounds: u64,
}

fn measure(name: &str, interval: &str, seconds: u32) -> Cost {
    let dir = temp_dir(name);
    // No call log: its writes would be the sampler thread's cost.
    let standin = StandIn::write_without_call_log(&dir.join("standin"), &eight_gpus());
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(probe_args(PROBE))
        .env(INTERVAL_ENV, interval)
        .env(SECONDS_ENV, seconds.to_string())
        .env("RANKLOG_DIR", dir.join("logs"))
        .envs(standin.env());
    let out = run_with_timeout(cmd, Duration::from_secs(u64::from(seconds) + 60))
        .unwrap_or_else(|e| panic!("{e}"));
    let line = out
        .stdout
        .lines()
        .find_map(|l| l.find(REPORT).map(|at| &l[at + REPORT.len()..]))
        .unwrap_or_else(|| panic!("no report\n{}\n{}", out.stdout, out.stderr));
    let field = |key: &str| -> u64 {
        line.split(' ')
            .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
            .unwrap_or_else(|| panic!("no {key} in {line}"))
            .parse()
            .unwrap()
    };
    eprintln!("{line}");
    let _ = std::fs::remove_dir_all(dir);
    Cost {
        rounds: field("rounds"),
        thread_ns: field("thread_ns"),
        measured_ns: field("measured_ns"),
        measured_rounds: field("measured_rounds"),
    }
}

#[test]
fn a_round_of_8_gpus_costs_the_sampler_under_1ms_of_cpu() {
    let cost = measure("sampler-cpu", "100ms", 3);
    assert!(
        cost.measured_rounds >= 10,
        "{} rounds",
        cost.measured_rounds
    );
    let per_round_us = cost.measured_ns as f64 / cost.measured_rounds as f64 / 1e3;
    eprintln!(
        "sampler thread: {per_round_us:.1} µs of CPU per round of 8 GPUs ({} rounds); at a \
         1 s interval that is {:.4} % of a core",
        cost.measured_rounds,
        per_round_us / 1e4
    );
    assert!(
        per_round_us <= 1000.0,
        "{per_round_us:.1} µs of CPU per round: over 0.1 % of a core at a 1 s interval"
    );
}

#[test]
#[ignore = "takes a minute: the long form of a_round_of_8_gpus_costs_the_sampler_under_1ms_of_cpu"]
fn sampler_at_1s_for_60s_with_8_gpus() {
    let cost = measure("sampler-cpu-60s", "1s", 60);
    let share = cost.thread_ns as f64 / 60e9 * 100.0;
    eprintln!(
        "sampler thread: {:.3} ms of CPU over 60 s and {} rounds of 8 GPUs, NVML's init \
         included: {share:.4} % of a core",
        cost.thread_ns as f64 / 1e6,
        cost.rounds
    );
    assert!(cost.rounds >= 59, "{} rounds", cost.rounds);
    assert!(share <= 0.1, "{share:.4} % of a core");
}
