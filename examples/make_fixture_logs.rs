//! Writes the JSONL fixtures of the `ranklog` command's tests by running the real logger
//! for several simulated ranks in one process (one thread per rank, host names set by
//! hand to simulate nodes). Run from the repository root, then commit the files:
//!
//! ```text
//! cargo run --example make_fixture_logs -- tests/fixtures
//! ```
//!
//! Each run overwrites the four fixture directories it makes; the golden outputs under
//! `tests/fixtures/golden/` must then be regenerated too (`docs/cli.md`, "Tests").
//!
//! - `job8`: 8 ranks on 2 nodes (`node-a`: 0-3, `node-b`: 4-7). Every rank reads the
//!   configuration, loads a model shard (rank 5 slowly), warns about a slow link (all but
//!   rank 6), serves 10 requests (rank 2 slowly); rank 3 reports an out-of-memory error;
//!   rank 1 logs a message that tries to forge a console line. The first rank of each node
//!   logs `kind=gpu` samples of 2 GPUs every 10 ms, as the GPU sampler does.
//! - `rotated`: 3 ranks whose files are cut into rotated segments (`rank-00001.jsonl.2`,
//!   `.1`, live; `rank-00002.2.jsonl`, `.1.jsonl`, live), an empty segment and a
//!   compressed one.
//! - `damaged`: 5 ranks: rank 4's file removed, rank 3's last line cut short, a record of
//!   schema version 2 with an unknown field in rank 2's, a line that is not JSON in rank
//!   1's, and a `console.log` beside them.
//! - `nogpu`: 2 ranks that load and serve, without GPU samples.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use slog::{debug, error, info, o, warn, Level, Logger};

/// GPUs per simulated node.
const GPUS_PER_NODE: u64 = 2;
/// Bytes of one rank's model shard.
const SHARD_BYTES: u64 = 256 << 20;
/// Bytes of one simulated GPU.
const GPU_BYTES: u64 = 80 << 30;

fn main() -> Result<()> {
    let root = PathBuf::from(std::env::args().nth(1).unwrap_or("tests/fixtures".into()));
    ensure!(
        root.is_relative(),
        "give a relative directory (the files record their path)"
    );
    job8(&root.join("job8"))?;
    rotated(&root.join("rotated"))?;
    damaged(&root.join("damaged"))?;
    nogpu(&root.join("nogpu"))?;
    println!("fixtures written under {}", root.display());
    Ok(())
}

/// A fresh directory.
fn fresh(dir: &Path) -> Result<()> {
    if dir.exists() {
        fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))
}

/// The logger of a simulated rank; `ranks_per_node` consecutive ranks share a node.
fn rank_logger(dir: &Path, rank: u32, size: u32, ranks_per_node: u32) -> Result<ranklog::Guard> {
    let mut info = ranklog::RankInfo::new(rank, size, rank % ranks_per_node, ranks_per_node)?;
    info.host = format!("node-{}", char::from(b'a' + (rank / ranks_per_node) as u8));
    info.nodes = Some(size.div_ceil(ranks_per_node));
    Ok(ranklog::Builder::new()
        .rank_info(info)
        .dir(dir)
        .no_console()
        .level(Level::Debug)
        .build()?)
}

/// Runs `body` for every rank on its own thread, all loggers built before any starts.
fn run_ranks(
    dir: &Path,
    size: u32,
    ranks_per_node: u32,
    body: impl Fn(u32, &Logger, &Barrier) + Sync,
) -> Result<()> {
    let guards = (0..size)
        .map(|rank| rank_logger(dir, rank, size, ranks_per_node))
        .collect::<Result<Vec<_>>>()?;
    let barrier = Barrier::new(size as usize);
    thread::scope(|s| {
        for (rank, guard) in (0..size).zip(&guards) {
            let log = guard.logger();
            let (body, barrier) = (&body, &barrier);
            s.spawn(move || body(rank, &log, barrier));
        }
    });
    drop(guards);
    Ok(())
}

/// `kind=gpu` samples of this node's GPUs every 10 ms until `stop`, as the GPU sampler
/// logs them; memory follows `loaded` (bytes of shards loaded on the node).
fn sample_gpus(log: &Logger, stop: &AtomicBool, node: u32, loaded: &dyn Fn() -> u64) {
    let start = Instant::now();
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        for gpu in 0..GPUS_PER_NODE {
            let busy = start.elapsed().as_millis() > 60;
            let util = if busy {
                70 + (n * 7 + gpu * 11) % 25
            } else {
                n % 3
            };
            info!(log, "gpu sample";
                "scope" => "local", "kind" => "gpu", "gpu" => gpu,
                "uuid" => format!("GPU-{node:02x}{gpu:02x}0000-fixture"),
                "name" => "Simulated H100", "mem_used_bytes" => (1 << 30) + loaded() / GPUS_PER_NODE,
                "mem_total_bytes" => GPU_BYTES, "util_gpu_pct" => util,
                "util_mem_pct" => util / 2, "temperature_c" => 40 + util / 4,
                "power_mw" => 90_000 + util * 5_000, "energy_mj" => 900 + util * 50);
        }
        n += 1;
        thread::sleep(Duration::from_millis(10));
    }
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

/// A model-load record as the events API logs it, after `sleep` of "reading".
fn load_shard(log: &Logger, rank: u32, sleep: Duration) {
    let start = Instant::now();
    thread::sleep(sleep);
    let took = start.elapsed();
    info!(log, "shard {} loaded", rank;
        "kind" => "model_load", "name" => "llama-fixture", "shard" => rank,
        "bytes" => SHARD_BYTES, "ms" => ms(took),
        "gb_per_s" => (SHARD_BYTES as f64 / took.as_secs_f64() / 1e9 * 1e3).round() / 1e3);
}

/// Inference records as the events API logs them, each after `latency` of "compute".
fn serve(log: &Logger, requests: u32, latency: Duration, barrier: &Barrier) {
    for request in 0..requests {
        barrier.wait();
        let start = Instant::now();
        thread::sleep(latency);
        let took = start.elapsed();
        let tokens = 16u64;
        info!(log, "request {} done", request;
            "scope" => "global", "kind" => "inference", "request" => request,
            "prompt_tokens" => 8u64, "completion_tokens" => tokens,
            "latency_ms" => ms(took),
            "tokens_per_s" => (tokens as f64 / took.as_secs_f64() * 10.0).round() / 10.0);
    }
}

fn job8(dir: &Path) -> Result<()> {
    fresh(dir)?;
    let loaded = [AtomicU64::new(0), AtomicU64::new(0)];
    let stop = AtomicBool::new(false);
    run_ranks(dir, 8, 4, |rank, log, barrier| {
        let node = rank / 4;
        let node_loaded = &loaded[node as usize];
        thread::scope(|s| {
            if rank % 4 == 0 {
                let (log, stop) = (log.clone(), &stop);
                s.spawn(move || {
                    sample_gpus(&log, stop, node, &|| node_loaded.load(Ordering::Relaxed))
                });
            }
            info!(log, "configuration read"; "scope" => "global", "model" => "llama-fixture",
                "tp" => 8u32);
            debug!(log, "rank {} starting", rank; "cuda_device" => rank % 4);
            barrier.wait();
            let slow = if rank == 5 {
                150
            } else {
                40 + u64::from(rank) * 2
            };
            load_shard(log, rank, Duration::from_millis(slow));
            node_loaded.fetch_add(SHARD_BYTES, Ordering::Relaxed);
            if rank != 6 {
                warn!(log, "slow link to peer"; "peer" => (rank + 1) % 8, "gbit_s" => 12.5);
            }
            if rank == 1 {
                info!(log, "user input: {}", "ok\nINFO forged line \u{1b}[31mred\r";
                    "note" => "tab\there");
            }
            barrier.wait();
            let latency = if rank == 2 { 14 } else { 3 };
            serve(log, 10, Duration::from_millis(latency), barrier);
            if rank == 3 {
                error!(log, "CUDA error: out of memory"; "kind" => "failed",
                    "requested_bytes" => 2u64 << 30);
            }
            barrier.wait();
            info!(log, "node done"; "scope" => "local");
            info!(log, "shutting down"; "scope" => "global");
            thread::sleep(Duration::from_millis(15));
            barrier.wait();
            stop.store(true, Ordering::Relaxed);
        });
    })
}

fn rotated(dir: &Path) -> Result<()> {
    fresh(dir)?;
    run_ranks(dir, 3, 3, |rank, log, barrier| {
        for step in 0..12u32 {
            barrier.wait();
            info!(log, "step {} done", step; "step" => step, "loss" => 2.0 / f64::from(step + 1));
            thread::sleep(Duration::from_millis(2));
        }
        let log = log.new(o!("phase" => "eval"));
        info!(log, "eval done"; "rank_seen" => rank);
    })?;
    let split = |rank: u32, names: &[&str]| -> Result<()> {
        let live = dir.join(format!("rank-{rank:05}.jsonl"));
        let text = fs::read_to_string(&live)?;
        let lines: Vec<&str> = text.lines().collect();
        let per = lines.len().div_ceil(names.len() + 1);
        for (i, name) in names.iter().enumerate() {
            let part = &lines[i * per..((i + 1) * per).min(lines.len())];
            fs::write(dir.join(name), part.join("\n") + "\n")?;
        }
        let rest = &lines[(names.len() * per).min(lines.len())..];
        fs::write(&live, rest.join("\n") + "\n")?;
        Ok(())
    };
    // Oldest first, as rotation names them: a higher number is older.
    split(1, &["rank-00001.jsonl.2", "rank-00001.jsonl.1"])?;
    split(2, &["rank-00002.2.jsonl", "rank-00002.1.jsonl"])?;
    fs::write(dir.join("rank-00000.jsonl.1"), "")?;
    let live0 = fs::read(dir.join("rank-00000.jsonl"))?;
    fs::write(dir.join("rank-00000.jsonl.2.gz"), &live0[..live0.len() / 2])?;
    Ok(())
}

fn damaged(dir: &Path) -> Result<()> {
    fresh(dir)?;
    run_ranks(dir, 5, 5, |rank, log, barrier| {
        barrier.wait();
        load_shard(log, rank, Duration::from_millis(20));
        barrier.wait();
        for i in 0..4u32 {
            info!(log, "tick {}", i; "i" => i);
            thread::sleep(Duration::from_millis(1));
        }
    })?;
    let path = |rank: u32| dir.join(format!("rank-{rank:05}.jsonl"));
    fs::remove_file(path(4))?;
    let text = fs::read(path(3))?;
    fs::write(path(3), &text[..text.len() - 25])?;
    let text = fs::read_to_string(path(2))?;
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines[3] = lines[3].replacen("{\"v\":1,", "{\"v\":2,", 1).replacen(
        ",\"scope\":",
        ",\"trace_id\":\"from-a-newer-ranklog\",\"scope\":",
        1,
    );
    fs::write(path(2), lines.join("\n") + "\n")?;
    let text = fs::read_to_string(path(1))?;
    let mut lines: Vec<&str> = text.lines().collect();
    lines.insert(2, "disk full: this line is not JSON");
    fs::write(path(1), lines.join("\n") + "\n")?;
    fs::write(
        dir.join("console.log"),
        "INFO the job's console, not a rank file\n",
    )?;
    Ok(())
}

fn nogpu(dir: &Path) -> Result<()> {
    fresh(dir)?;
    run_ranks(dir, 2, 2, |rank, log, barrier| {
        barrier.wait();
        load_shard(log, rank, Duration::from_millis(30 + u64::from(rank) * 10));
        barrier.wait();
        serve(log, 5, Duration::from_millis(4), barrier);
    })
}
