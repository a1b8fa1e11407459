//! A rank of a GPU job, logged with ranklog, for `scripts/gpu-check.sh` on a machine with a
//! real NVIDIA GPU: no MPI, identity from the launcher (`torchrun --no-python`), GPU
//! samples from NVML (`RANKLOG_GPU`, `RANKLOG_GPU_INTERVAL`), and one model load whose GPU
//! memory delta can be set against what PyTorch allocated.
//!
//! Every rank logs a step every 100 ms for `--seconds`. With `--handshake DIR`, local rank 0
//! also "loads a model" a third of the way in: it starts a `model_load` event (a GPU
//! sampling round before), writes `DIR/load-request` with `--load-bytes`, waits (at most
//! 20 s) for another process, such as gpu-check.sh's PyTorch process, to allocate that
//! much GPU memory and write `DIR/load-done`, then finishes the event (a round after:
//! `mem_delta_bytes`) and logs what the other process said it allocated (`kind=load_peer`,
//! its text in `peer`).
//!
//! ```text
//! cargo build --release --example gpu_worker
//! RANKLOG_DIR=logs RANKLOG_GPU_INTERVAL=200ms torchrun --no-python --nproc-per-node 4 \
//!     target/release/examples/gpu_worker --seconds 20
//! ```

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;
use slog::info;

#[derive(Parser)]
#[command(about = "a rank of a GPU job, logged with ranklog (scripts/gpu-check.sh)")]
struct Args {
    /// How long to run, in seconds.
    #[arg(long, default_value_t = 20.0)]
    seconds: f64,
    /// Directory shared with the process that allocates GPU memory for the model load.
    #[arg(long)]
    handshake: Option<PathBuf>,
    /// Bytes the model load asks that process to allocate.
    #[arg(long, default_value_t = 4 << 30)]
    load_bytes: u64,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let guard = ranklog::init()?;
    let log = guard.logger().clone();
    let me = guard.rank_info().clone();
    let start = Instant::now();
    let run = Duration::from_secs_f64(args.seconds);
    let mut loaded = args.handshake.is_none() || me.local_rank != 0;
    let mut step = 0u64;
    while start.elapsed() < run {
        if !loaded && start.elapsed() >= run / 3 {
            let dir = args.handshake.as_ref().expect("checked above");
            load_through(&guard, &log, dir, args.load_bytes, me.rank)?;
            loaded = true;
        }
        step += 1;
        if step.is_multiple_of(10) {
            info!(log, "step {}", step; "kind" => "step", "step" => step);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    info!(log, "done after {} steps", step; "scope" => "global");
    drop(guard);
    Ok(())
}

/// The model load: the other process allocates `bytes` of GPU memory while the event runs.
fn load_through(
    guard: &ranklog::Guard,
    log: &slog::Logger,
    dir: &std::path::Path,
    bytes: u64,
    rank: u32,
) -> Result<()> {
    let done = dir.join("load-done");
    let _ = std::fs::remove_file(&done);
    let load = guard
        .events()
        .model_load(log, "torch-allocation", rank, bytes);
    let request = dir.join("load-request");
    let tmp = dir.join("load-request.tmp");
    std::fs::write(&tmp, bytes.to_string())
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &request).with_context(|| format!("writing {}", request.display()))?;
    let asked = Instant::now();
    let peer = loop {
        if let Ok(text) = std::fs::read_to_string(&done) {
            break text.trim().to_owned();
        }
        if asked.elapsed() > Duration::from_secs(20) {
            load.fail(&"no answer in 20 s");
            bail!("no {} within 20 s of {}", done.display(), request.display());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    load.finish();
    info!(log, "the allocating process says: {}", peer; "kind" => "load_peer", "peer" => &peer);
    Ok(())
}
