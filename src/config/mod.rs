//! [`Builder`]: settings, their environment variables ([`env`]) and their defaults. One
//! check per setting ([`checks`]) serves the method and the variable alike. Building hands
//! the [`Settings`] to the runtime whole.

mod checks;
mod env;

use std::fmt;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use slog::Level;

use crate::gpu::{GpuMode, GpuSource};
use crate::runtime::{ConsoleTarget, Settings};
use crate::{ColorChoice, Error, FileScope, Overflow, RankInfo, Result, Rotation};

/// Builds the logger: rank identity, levels, filters, console and file output.
///
/// Start from [`Builder::from_env`] (the `RANKLOG_*` variables) or [`Builder::new`] (the
/// defaults alone), change what you need, then [`build`](Builder::build).
///
/// | setting | method | variable | default |
/// | --- | --- | --- | --- |
/// | rank identity | [`rank_info`](Self::rank_info) | launcher variables | [`RankInfo::from_env`] at build |
/// | minimum level | [`level`](Self::level) | `RANKLOG_LEVEL`: `trace`, `debug`, `info`, `warning`, `error`, `critical` | `info` |
/// | per-module directives | [`filter`](Self::filter) | `RANKLOG_FILTER`, `RUST_LOG` syntax: `info,hyper=warn` | none |
/// | per-rank JSONL directory | [`dir`](Self::dir) | `RANKLOG_DIR` | none (console only) |
/// | which records files keep | [`file_scope`](Self::file_scope) | `RANKLOG_FILE_SCOPE`: `all`, `gated` | `all` |
/// | colour | [`color`](Self::color) | `RANKLOG_COLOR`: `auto`, `always`, `never`; `NO_COLOR` | `auto` |
/// | console on or off | [`no_console`](Self::no_console) | `RANKLOG_CONSOLE`: `stderr`, `off` (`ranklog run` sets `off`) | `stderr` |
/// | console line prefix | [`prefix`](Self::prefix) | `RANKLOG_PREFIX` | empty |
/// | scope gating off | [`all_ranks`](Self::all_ranks) | `RANKLOG_ALL_RANKS`: `1`/`0`, `true`/`false`, `yes`/`no`, `on`/`off` | off |
/// | level printed by every rank | [`ungated_level`](Self::ungated_level) | `RANKLOG_UNGATED_LEVEL` | `error` |
/// | queue length, records | [`queue_len`](Self::queue_len) | `RANKLOG_QUEUE_LEN` | 4096 |
/// | what a full queue does | [`overflow`](Self::overflow) | `RANKLOG_OVERFLOW`: `block`, `drop` | `block` |
/// | file name in the directory | [`file_name`](Self::file_name) | `RANKLOG_FILE`: `{rank}`, `{local_rank}`, `{host}`, `{job}` | `rank-{rank}.jsonl` |
/// | rotation by size, bytes | [`rotation`](Self::rotation) | `RANKLOG_ROTATE_BYTES`: `67108864`, `64MiB`, `1GiB` | none |
/// | daily rotation | [`rotation`](Self::rotation) | `RANKLOG_ROTATE=daily` | none |
/// | old segments kept | [`keep`](Self::keep) | `RANKLOG_KEEP` | 10 |
/// | permissions of new files, directories | [`file_mode`](Self::file_mode), [`dir_mode`](Self::dir_mode) | `RANKLOG_FILE_MODE`, `RANKLOG_DIR_MODE` (octal) | `640`, `750` |
/// | flush on SIGTERM, SIGINT, SIGHUP, SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL | [`signals`](Self::signals) | `RANKLOG_SIGNALS`: `1`/`0` | on |
/// | follow `ranklog level` changes (with a directory) | [`control`](Self::control) | `RANKLOG_CONTROL`: `1`/`0` | on |
/// | keep queued records in a ring that outlives a SIGKILL (with a directory) | [`crash_safe`](Self::crash_safe) | `RANKLOG_CRASH_SAFE`: `1`/`0` | on |
/// | ranks whose console shows gated records | [`console_ranks`](Self::console_ranks) | `RANKLOG_CONSOLE_RANKS`: `0,3-5,last` | all |
/// | route the `log` crate's records here | [`log_bridge`](Self::log_bridge) | `RANKLOG_LOG_BRIDGE`: `1`/`0` | on |
/// | which GPUs this rank samples | [`gpu`](Self::gpu) | `RANKLOG_GPU`: `off`, `node`, `rank` | `node` |
/// | GPU sampling period | [`gpu_interval`](Self::gpu_interval) | `RANKLOG_GPU_INTERVAL`: `500ms`, `2s`, `1m`; at least `100ms` | `5s` |
/// | where GPU samples come from | [`gpu_source`](Self::gpu_source) | — | NVML (feature `nvml`); none without it |
/// | this process's GPUs (`rank` mode) | [`cuda_visible_devices`](Self::cuda_visible_devices) | `CUDA_VISIBLE_DEVICES`, `CUDA_DEVICE_ORDER` | unset: every GPU |
/// | slow-request threshold, ms | [`slow_request`](Self::slow_request) | `RANKLOG_SLOW_MS`: `2000`, `250.5` | none |
/// | records and GPU samples to an OpenTelemetry Collector (feature `otlp`) | [`otlp`](Self::otlp) | `RANKLOG_OTLP`: `on`/`off`; then the `OTEL_*` variables | off |
///
/// By default the queue blocks the caller when full: no record is ever dropped. A panic on any thread and
/// SIGTERM, SIGINT and SIGHUP write out the queue before the process ends.
pub struct Builder {
    rank_info: Option<RankInfo>,
    settings: Settings,
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("rank_info", &self.rank_info)
            .field("settings", &self.settings)
            .finish()
    }
}

/// An [`Error::InvalidSetting`] for the `Builder` method `method` called with `value`.
fn refused(method: &'static str, value: impl fmt::Debug, reason: String) -> Error {
    Error::InvalidSetting {
        method,
        value: format!("{value:?}"),
        reason,
    }
}

impl Builder {
    /// The defaults of the table above, ignoring the environment.
    pub fn new() -> Builder {
        Builder {
            rank_info: None,
            settings: Settings::default(),
        }
    }

    /// Uses `info` instead of discovering the identity from the environment at build time,
    /// e.g. `RankInfo::from_mpi`.
    pub fn rank_info(mut self, info: RankInfo) -> Builder {
        self.rank_info = Some(info);
        self
    }

    /// Minimum level of records kept (default [`Level::Info`]).
    pub fn level(mut self, level: Level) -> Builder {
        self.settings.level = level;
        self
    }

    /// Per-module directives in `RUST_LOG` syntax (`info,hyper=warn,my_crate::model=debug`),
    /// applied on top of [`level`](Self::level); parsed by the `env_filter` crate (without
    /// its `/regex` part). A directive's module is matched against the record's module path.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidSetting`] naming `Builder::filter` when the directives are empty or
    /// do not parse.
    pub fn filter(mut self, directives: &str) -> Result<Builder> {
        checks::filter(self.settings.level, directives)
            .map_err(|reason| refused("Builder::filter", directives, reason))?;
        self.settings.filter = Some(directives.to_owned());
        Ok(self)
    }

    /// Writes this rank's records to `<dir>/rank-<rank, 5 digits>.jsonl`, creating `dir`.
    pub fn dir(mut self, dir: impl Into<PathBuf>) -> Builder {
        self.settings.dir = Some(dir.into());
        self
    }

    /// Which records the per-rank file keeps (default [`FileScope::All`]).
    pub fn file_scope(mut self, scope: FileScope) -> Builder {
        self.settings.file_scope = scope;
        self
    }

    /// When the console uses colour (default [`ColorChoice::Auto`]).
    pub fn color(mut self, color: ColorChoice) -> Builder {
        self.settings.color = color;
        self
    }

    /// Text written before every console line; control characters in it are escaped.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Builder {
        self.settings.prefix = prefix.into();
        self
    }

    /// `true` prints every record on every rank, whatever its scope (for debugging).
    pub fn all_ranks(mut self, all: bool) -> Builder {
        self.settings.all_ranks = all;
        self
    }

    /// Records at or above this level print on every rank whatever their scope (default
    /// [`Level::Error`]), so a failing rank is always heard.
    pub fn ungated_level(mut self, level: Level) -> Builder {
        self.settings.ungated_level = level;
        self
    }

    /// Length of the queue between the callers and the writer thread, in records (default
    /// 4096, at most 2^24). When it is full, callers wait.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidSetting`] naming `Builder::queue_len` for 0 or more than 2^24
    /// records, as `RANKLOG_QUEUE_LEN` refuses them.
    pub fn queue_len(mut self, len: usize) -> Result<Builder> {
        self.settings.queue_len =
            checks::queue_len(len).map_err(|reason| refused("Builder::queue_len", len, reason))?;
        Ok(self)
    }

    /// Only the listed ranks show records below the ungated level on the console, e.g.
    /// `0,3-5,last` (torchrun's `--local-ranks-filter`, for global ranks). Files keep
    /// everything, and errors still print on every rank, so a failing rank is heard.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidSetting`] naming `Builder::console_ranks` when an item is not a
    /// rank, a range like `3-5` or `last`, or a range is reversed.
    pub fn console_ranks(mut self, list: &str) -> Result<Builder> {
        checks::rank_list(list)
            .map_err(|reason| refused("Builder::console_ranks", list, reason))?;
        self.settings.console_ranks = Some(list.to_owned());
        Ok(self)
    }

    /// Whether records of crates that log through the `log` crate (hyper, reqwest, the
    /// tokio ecosystem) go through this logger: same rank tag, gating, filters and files
    /// (default on). Their target is what `RANKLOG_FILTER` directives match, so
    /// `info,hyper=warn` quiets hyper. Only one `log` logger can exist per process: when
    /// another was installed first, a warning says so.
    pub fn log_bridge(mut self, on: bool) -> Builder {
        self.settings.log_bridge = on;
        self
    }

    /// What happens when the queue is full (default [`Overflow::Block`]: the caller
    /// waits, nothing is lost). With [`Overflow::Drop`] records are dropped and counted.
    pub fn overflow(mut self, overflow: Overflow) -> Builder {
        self.settings.overflow = overflow;
        self
    }

    /// The file's name inside the log directory: a template with `{rank}` (5 digits),
    /// `{local_rank}` (`x` when unknown), `{host}` (letters, digits, `.`, `_`, `-` kept,
    /// the rest `_`) and `{job}` (the launcher's job id: `SLURM_JOB_ID`, `LSB_JOBID`,
    /// `FLUX_JOB_ID`, `PBS_JOBID`, `TORCHELASTIC_RUN_ID` or `PMIX_NAMESPACE`; `nojob`
    /// without one). Default `rank-{rank}.jsonl`. The `ranklog` command finds files whose
    /// names end in `.jsonl` (and their rotated segments).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidSetting`] naming `Builder::file_name` for another placeholder, a
    /// `/`, or a name that is empty, `.` or `..`: the file is always inside the log
    /// directory.
    pub fn file_name(mut self, template: &str) -> Result<Builder> {
        checks::file_name(template)
            .map_err(|reason| refused("Builder::file_name", template, reason))?;
        self.settings.file.template = template.to_owned();
        Ok(self)
    }

    /// When the file is cut into segments (default [`Rotation::Never`]).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidSetting`] naming `Builder::rotation` for [`Rotation::Bytes`] below
    /// 1024 bytes or above 64 GiB, as `RANKLOG_ROTATE_BYTES` refuses them.
    pub fn rotation(mut self, rotation: Rotation) -> Result<Builder> {
        if let Rotation::Bytes(bytes) = rotation {
            checks::rotation_bytes(bytes)
                .map_err(|reason| refused("Builder::rotation", rotation, reason))?;
        }
        self.settings.file.rotation = rotation;
        Ok(self)
    }

    /// How many old segments rotation keeps (default 10, at most 100,000); older ones are
    /// deleted.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidSetting`] naming `Builder::keep` for 0 or more than 100,000, as
    /// `RANKLOG_KEEP` refuses them.
    pub fn keep(mut self, keep: usize) -> Result<Builder> {
        self.settings.file.keep =
            checks::keep(keep).map_err(|reason| refused("Builder::keep", keep, reason))?;
        Ok(self)
    }

    /// Permission bits of a new log file (default `0o640`; the umask still applies).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidSetting`] naming `Builder::file_mode` for bits above `0o777`.
    pub fn file_mode(mut self, mode: u32) -> Result<Builder> {
        self.settings.file.file_mode = checks::mode(mode)
            .map_err(|reason| refused("Builder::file_mode", format_args!("{mode:#o}"), reason))?;
        Ok(self)
    }

    /// Permission bits of new log directories (default `0o750`; the umask still applies).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidSetting`] naming `Builder::dir_mode` for bits above `0o777`.
    pub fn dir_mode(mut self, mode: u32) -> Result<Builder> {
        self.settings.file.dir_mode = checks::mode(mode)
            .map_err(|reason| refused("Builder::dir_mode", format_args!("{mode:#o}"), reason))?;
        Ok(self)
    }

    /// Whether SIGTERM, SIGINT and SIGHUP write out the queue, then end the process as the
    /// signal would (default on; signal-hook). Turn off when the application handles these
    /// signals itself; it can call [`ranklog::flush`](crate::flush) in its handler.
    ///
    /// The same switch turns the fatal-signal handler on or off: on SIGABRT, SIGSEGV,
    /// SIGBUS, SIGFPE or SIGILL a helper thread writes a `fatal_signal` record and the
    /// queue (200 ms at most), then the handler installed before ranklog's, or the default
    /// action, gets the signal (see `docs/operations.md`).
    pub fn signals(mut self, on: bool) -> Builder {
        self.settings.signals = on;
        self
    }

    /// Whether this rank follows verbosity changes made while the job runs with
    /// `ranklog level` (default on; only with a log directory, whose
    /// [`control file`](crate::control) a thread named `ranklog-control` reads every
    /// 250 ms: one `stat(2)` each time).
    pub fn control(mut self, on: bool) -> Builder {
        self.settings.control = on;
        self
    }

    /// Whether every accepted record is also copied, before its log call returns, into a
    /// file-backed shared memory map beside the rank's JSONL file (`.NAME.ring`), from
    /// which [`recover`](crate::recover) restores the records a killed process had not
    /// written yet (default on; only with a log directory). Off saves the copy (a few
    /// tens of nanoseconds per record) at the price of losing the queue on SIGKILL.
    pub fn crash_safe(mut self, on: bool) -> Builder {
        self.settings.crash_safe = on;
        self
    }

    /// Whether this rank also sends its records, as OTLP log records, and its GPU samples
    /// and inference latencies, as OTLP metrics, to an OpenTelemetry Collector (default
    /// off; feature `otlp`). The standard `OTEL_*` variables say where and how:
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` (default `http://localhost:4318`, or `:4317` for grpc)
    /// and its per-signal `_LOGS_ENDPOINT` and `_METRICS_ENDPOINT`, `_PROTOCOL`
    /// (`http/protobuf` by default, or `grpc`), `_HEADERS`, `OTEL_SERVICE_NAME`,
    /// `OTEL_RESOURCE_ATTRIBUTES`. The records sent are those the file keeps
    /// ([`file_scope`](Self::file_scope), every scope by default), with or without a log
    /// directory.
    ///
    /// Export never slows the job: the writer thread hands records to a bounded queue that
    /// a thread of the OpenTelemetry SDK sends (retrying with jittered backoff); a
    /// collector that is down or slow costs the callers nothing, and the job's end waits
    /// for it at most 2 s. Each rank's file ends with an `otlp_stats` record counting the
    /// records the collector did not acknowledge, which `ranklog summary` shows. Without
    /// the feature, or with an `OTEL_*` value the exporter refuses, the rank logs a warning
    /// (kind `otlp_unavailable`) and goes on without OTLP. See `docs/otlp.md`.
    pub fn otlp(mut self, on: bool) -> Builder {
        self.settings.otlp = on;
        self
    }

    /// Which GPUs this rank samples (default [`GpuMode::Node`]: the first rank of each
    /// node samples all of the node's); see [`gpu`](crate::gpu).
    pub fn gpu(mut self, mode: GpuMode) -> Builder {
        self.settings.gpu.mode = mode;
        self
    }

    /// How often the GPUs are sampled (default 5 s).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidSetting`] naming `Builder::gpu_interval` below
    /// [`MIN_INTERVAL`](crate::gpu::MIN_INTERVAL), 100 ms (NVML averages utilization over
    /// 1/6 s to 1 s, and polling faster holds the driver lock), or above a day.
    pub fn gpu_interval(mut self, interval: Duration) -> Result<Builder> {
        self.settings.gpu.interval = crate::gpu::check_interval(interval)
            .map_err(|reason| refused("Builder::gpu_interval", interval, reason))?;
        Ok(self)
    }

    /// Samples `source` instead of NVML, e.g. a
    /// [`ScriptedSource`](crate::gpu::ScriptedSource) in tests.
    pub fn gpu_source(mut self, source: impl GpuSource + 'static) -> Builder {
        self.settings.gpu.source = Some(Box::new(source));
        self
    }

    /// `CUDA_VISIBLE_DEVICES` as the process's CUDA runtime sees it (`None`: unset), for
    /// [`GpuMode::Rank`]; [`from_env`](Self::from_env) reads it from the environment,
    /// [`new`](Self::new) starts unset.
    pub fn cuda_visible_devices(mut self, value: Option<&str>) -> Builder {
        self.settings.gpu.visible_devices = value.map(str::to_owned);
        self
    }

    /// Inference requests slower than `threshold` are logged at warning level, with
    /// `slow=true` (default: no threshold); see [`Events`](crate::Events).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidSetting`] naming `Builder::slow_request` for zero or more than a
    /// day, as `RANKLOG_SLOW_MS` refuses them.
    pub fn slow_request(mut self, threshold: Duration) -> Result<Builder> {
        let threshold = checks::slow_request(threshold)
            .map_err(|reason| refused("Builder::slow_request", threshold, reason))?;
        self.settings.gpu.slow_request = Some(threshold);
        Ok(self)
    }

    /// Sends console lines to `writer` instead of stderr (whole lines, at most 4096 bytes
    /// per `write_all` unless one line is longer); colour `auto` then means no colour.
    pub fn console_writer(mut self, writer: impl Write + Send + 'static) -> Builder {
        self.settings.console = ConsoleTarget::Writer(Box::new(writer));
        self
    }

    /// Turns the console off (files only).
    pub fn no_console(mut self) -> Builder {
        self.settings.console = ConsoleTarget::Off;
        self
    }

    /// Starts the writer thread and returns the [`Guard`](crate::Guard) that owns it.
    ///
    /// Without [`rank_info`](Self::rank_info), the identity comes from
    /// [`RankInfo::from_env`]. The first record describes the job at `global` scope (world
    /// size, nodes, launcher); every rank's file gets its own copy with its identity.
    ///
    /// # Errors
    ///
    /// - Those of [`RankInfo::from_env`] when discovering the identity.
    /// - [`Error::InvalidVar`] or [`Error::Contradiction`] for a [`rank_info`](Self::rank_info)
    ///   that does not add up (a rank not below the world size, say), as
    ///   [`RankInfo::new`] checks it.
    /// - [`Error::CreateDir`] or [`Error::OpenFile`] when the JSONL file cannot be set up.
    pub fn build(self) -> Result<crate::Guard> {
        let info = match self.rank_info {
            Some(info) => {
                info.validate()?;
                info
            }
            None => RankInfo::from_env()?,
        };
        crate::runtime::start(info, self.settings)
    }
}
