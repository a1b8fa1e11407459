//! GPU resource logging: a sampler thread that reads every GPU's memory, utilization,
//! temperature, power, clock and energy (through NVML, feature `nvml`) into the same log as
//! the job's own records.
//!
//! The [`Builder`](crate::Builder) starts the sampler, a thread named `ranklog-gpu`,
//! according to `RANKLOG_GPU` ([`GpuMode`]) and `RANKLOG_GPU_INTERVAL`:
//!
//! - `node` (default): the first rank of each node samples every GPU of the node; its
//!   records have scope `local`. When the launcher gives no local rank, every rank counts
//!   as the first of its node (see [`RankInfo`](crate::RankInfo)) and samples.
//! - `rank`: each rank samples its own GPUs, found from `CUDA_VISIBLE_DEVICES` and its
//!   local rank; its records have scope `process`.
//! - `off`: nothing.
//!
//! Each round gives one console line per node (or rank) covering all its GPUs,
//! `gpu sample: 0: 12.3/80.0 GiB 97% 310 W | 1: ...` (record kind `gpu_line`), and in the
//! files one record per GPU (kind `gpu`, kept off the console by `"console" => false`),
//! with memory in bytes. A field the GPU does not support, or that this user may not read,
//! is left out of the record; it never hides the GPU. When the guard is dropped, one
//! `gpu_summary` record per GPU gives the peak memory, the mean and maximum utilization and
//! the energy over the run. `docs/schema.md` lists every field.
//!
//! # `CUDA_VISIBLE_DEVICES` (rank mode)
//!
//! Entries are NVML indices, `GPU-<uuid>` or `MIG-<uuid>` (a unique prefix of the UUID is
//! enough), separated by commas; the first entry that matches no device, or several, or
//! one listed before, ends the list, as in CUDA. Empty: no GPU; unset: every GPU. When the
//! variable narrows the node's GPUs, they are this rank's (the launcher bound them); when
//! every GPU is visible, local rank `r` of `n` takes the `r`-th equal share
//! (`torch.cuda.set_device(local_rank)`). Indices are NVML's, in PCI bus order: on a node
//! with GPUs of several models, CUDA's default order (fastest first) differs, and a
//! warning says so unless `CUDA_DEVICE_ORDER=PCI_BUS_ID`.
//!
//! # Faults
//!
//! Without `libnvidia-ml`, without a driver or without a GPU, one warning per node says
//! why (kind `gpu_unavailable`) and the sampler stops; the job goes on. A GPU that fails
//! mid-run (`GpuLost`, an unknown driver error) is retried with exponential backoff (1, 2,
//! 4, ... up to 64 rounds) through a fresh handle, with a warning at its 1st, 2nd, 4th,
//! 8th... failure and a record when it is back; the other GPUs are sampled meanwhile. The
//! thread never panics the job, and stops within 100 ms of the guard's drop.
//!
//! # Sources
//!
//! The sampler reads a [`GpuSource`]: `NvmlSource` by default (feature `nvml`, NVML
//! initialized once per process), or any other given to
//! [`Builder::gpu_source`](crate::Builder::gpu_source), such as the [`ScriptedSource`]
//! the tests use. NVML is called only on the sampler thread; other threads get the newest
//! round from a [`GpuHandle`] ([`Guard::gpu`](crate::Guard::gpu)).

mod job;
#[cfg(feature = "nvml")]
mod nvml;
mod sample;
mod sampler;
mod scripted;
mod settings;
mod source;
mod stats;
mod visible;

#[cfg(feature = "nvml")]
pub use nvml::NvmlSource;
pub use sample::{GpuSample, GpuSnapshot};
pub use sampler::{GpuHandle, THREAD_NAME};
pub use scripted::{Script, ScriptedGpu, ScriptedSource};
pub use settings::{GpuMode, DEFAULT_INTERVAL, MIN_INTERVAL};
pub use source::{GpuDevice, GpuError, GpuMemory, GpuProcess, GpuSource, GpuUtilization};

/// The positions, in `devices`, that `CUDA_VISIBLE_DEVICES=value` makes visible (for the
/// fuzz targets).
#[cfg(fuzzing)]
pub(crate) fn resolve_visible(value: Option<&str>, devices: &[GpuDevice]) -> Vec<usize> {
    visible::resolve(value, devices).devices
}

pub(crate) use sampler::{start, Sampler};
pub(crate) use settings::{
    check_interval, check_slow_request, parse_interval, parse_millis, GpuSettings,
};

/// The source used when none is given: NVML with feature `nvml`, none without.
pub(crate) fn default_source() -> Option<Box<dyn GpuSource>> {
    #[cfg(feature = "nvml")]
    return Some(Box::new(NvmlSource::new()));
    #[cfg(not(feature = "nvml"))]
    return None;
}
