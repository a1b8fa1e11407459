//! # ranklog
//!
//! A rank-aware logger for distributed, multi-GPU jobs, built on [`slog`].
//!
//! Every rank learns who it is ([`RankInfo`]: rank, world size, local rank, node) from the
//! launcher's environment or from MPI; records carry a scope (`"scope" => "global"`,
//! `"local"` or `"process"`) and a drain gates them, so a job of 64 ranks reads like one
//! program on the console, while each rank's JSONL file keeps the full record.
//!
//! # Quick start
//!
//! ```
//! let guard = ranklog::init()?;          // = Builder::from_env()?.build()
//! let log = guard.logger();
//! slog::info!(log, "model loaded"; "scope" => "global", "bytes" => 1u64 << 30);
//! slog::info!(log, "shard ready"; "scope" => "local");      // once per node
//! slog::debug!(log, "step timings"; "ms" => 1.25);            // every rank (process)
//! slog::error!(log, "never gated"; "scope" => "global");      // errors print on every rank
//! drop(guard);                                                // flushes everything
//! # Ok::<(), ranklog::Error>(())
//! ```
//!
//! With MPI (feature `mpi`), the application initializes MPI and hands the communicator:
//!
//! ```no_run
//! # #[cfg(feature = "mpi")] {
//! let universe = mpi::initialize().expect("MPI initialized once");
//! let info = ranklog::RankInfo::from_mpi(&universe.world())?;
//! let guard = ranklog::Builder::from_env()?.rank_info(info).build()?;
//! # }
//! # Ok::<(), ranklog::Error>(())
//! ```
//!
//! # Scopes
//!
//! | scope | printed by |
//! | --- | --- |
//! | `process` (default) | every rank |
//! | `local` | the first rank of each node (`local_rank == 0`) |
//! | `global` | the first rank of the job (`rank == 0`) |
//!
//! A record's own `scope` wins over its logger's (`log.new(o!("scope" => "local"))`).
//! Records at error level and above print on every rank. `RANKLOG_ALL_RANKS=1` turns gating
//! off. An unknown scope value prints as `process` and warns once.
//!
//! # Environment variables
//!
//! See [`Builder`] for the table of `RANKLOG_*` variables and their defaults, and
//! [`RankInfo::from_env`] for the launcher variables.
//!
//! # Output
//!
//! The console (stderr) gets one line per record:
//! `INFO Nov 21 04:24:06.123 [3/4 node-a:1] src/main.rs:12 model loaded bytes=1073741824`:
//! level, local time, `[rank/world size host:local rank]`, file and line, message,
//! key-values. Control characters are escaped and continuation lines of a multi-line
//! message start with `    | `, so no record can pass for another. With `RANKLOG_DIR` set,
//! each rank also writes `rank-<rank>.jsonl` there; `docs/schema.md` describes its fields.
//!
//! # GPUs and events
//!
//! A thread named `ranklog-gpu` samples the GPUs (feature `nvml`) every
//! `RANKLOG_GPU_INTERVAL` (5 s): by default the first rank of each node samples all of the
//! node's GPUs, prints one `gpu sample: 0: 12.3/80.0 GiB 97% 310 W | 1: ...` line per round,
//! and writes one `gpu` record per GPU to its file; dropping the guard logs one
//! `gpu_summary` per GPU. See [`gpu`] for the modes, `CUDA_VISIBLE_DEVICES` and faults.
//! [`Guard::events`] logs model loads (with the GPU memory they took) and served requests
//! (a warning above `RANKLOG_SLOW_MS`) as records with stable fields:
//!
//! ```
//! use std::time::Duration;
//! let guard = ranklog::init()?;
//! let (log, events) = (guard.logger(), guard.events());
//! let load = events.model_load(&log, "llama-3-8b", 0, 16 << 30);
//! load.finish();                                              // ms, GB/s, memory delta
//! let served = ranklog::Inference::new(7, 12, 64, Duration::from_millis(830));
//! events.inference(&log, &served.ttft(Duration::from_millis(95)));
//! # Ok::<(), ranklog::Error>(())
//! ```
//!
//! # Crate features
//!
//! - `mpi` (off by default): `RankInfo::from_mpi`, through rsmpi. Building it needs a
//!   system MPI (e.g. Debian's `libopenmpi-dev`) and libclang.
//! - `cli` (off by default): the `ranklog` command (merge, collapse, summary, plot of a
//!   job's JSONL files) and the `analyze` module behind it.
//! - `nvml` (on by default): GPU sampling through nvml-wrapper (`gpu::NvmlSource`).
//!   `libnvidia-ml` is loaded at run time, so the crate builds on any machine; without a
//!   driver one warning per node says so and there are no GPU records. Without the feature
//!   the sampler runs only with a source given to [`Builder::gpu_source`].
//! - `tracing` (off by default): `Guard::tracing_layer()`, a `tracing_subscriber` layer
//!   that sends `tracing` events through the same gate, queue and sinks as slog records
//!   (`docs/tracing.md`).
#![deny(missing_docs)]

#[cfg(feature = "cli")]
pub mod analyze;
mod config;
pub mod control;
mod error;
mod error_chain;
mod events;
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing;
mod gate;
pub mod gpu;
mod identity;
mod runtime;
mod schema;
mod sink;
mod units;

pub use config::Builder;
pub use error::{Error, Result};
pub use error_chain::{ErrorChain, WithBacktrace, BACKTRACE_KEY};
pub use events::{program_module, Events, Inference, ModelLoad, RequestId};
pub use gate::{suppress, Suppressed};
pub use gate::{Scope, ScopeGate, UnknownScope, ONCE_CAPACITY, ONCE_TAG, SCOPE_KEY};
pub use gpu::{GpuHandle, GpuMode};
pub use identity::{Group, RankInfo, Source};
pub use runtime::keeps;
pub use runtime::{
    exit, flush, global, group, local, scoped, Guard, LogStats, Overflow, RankDrain,
};
pub use schema::{LevelCounts, CONSOLE_KEY, SCHEMA_VERSION};
pub use sink::ring::recover::{recover, Recovered, RECOVERED_KEY};
pub use sink::{ColorChoice, FileScope, Rotation};

/// Items the exported macros expand to; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use crate::gate::once::{with_skipped, EveryInterval, EveryN, FirstN};
    pub use slog;
}

/// Builds the logger from the environment: `Builder::from_env()?.build()`.
///
/// # Errors
///
/// Those of [`Builder::from_env`] and [`Builder::build`]: a bad `RANKLOG_*` value, launcher
/// variables that do not make sense, or a log directory that cannot be written.
pub fn init() -> Result<Guard> {
    Builder::from_env()?.build()
}
