//! [`Builder`]: settings, their environment variables and their defaults.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use slog::Level;

use crate::gpu::{GpuMode, GpuSettings, GpuSource};
use crate::output::{FileOptions, Rotation};
use crate::pipeline::Overflow;
use crate::{Error, RankInfo, Result};

/// When the console uses colour (`RANKLOG_COLOR`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ColorChoice {
    /// Colour when stderr is a terminal and `NO_COLOR` is unset or empty.
    #[default]
    Auto,
    /// Always colour (ANSI escapes), even into a pipe or file.
    Always,
    /// Never colour.
    Never,
}

/// Which records the per-rank file keeps (`RANKLOG_FILE_SCOPE`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileScope {
    /// Every record that passes the level filter, whatever its scope: the console is the
    /// gated view, the files the full one.
    #[default]
    All,
    /// Only what this rank's console shows.
    Gated,
}

/// Where console lines go.
pub(crate) enum ConsoleTarget {
    Stderr,
    Writer(Box<dyn Write + Send>),
    Off,
}

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
/// | flush on SIGTERM, SIGINT, SIGHUP | [`signals`](Self::signals) | `RANKLOG_SIGNALS`: `1`/`0` | on |
/// | ranks whose console shows gated records | [`console_ranks`](Self::console_ranks) | `RANKLOG_CONSOLE_RANKS`: `0,3-5,last` | all |
/// | route the `log` crate's records here | [`log_bridge`](Self::log_bridge) | `RANKLOG_LOG_BRIDGE`: `1`/`0` | on |
/// | which GPUs this rank samples | [`gpu`](Self::gpu) | `RANKLOG_GPU`: `off`, `node`, `rank` | `node` |
/// | GPU sampling period | [`gpu_interval`](Self::gpu_interval) | `RANKLOG_GPU_INTERVAL`: `500ms`, `2s`, `1m`; at least `100ms` | `5s` |
/// | where GPU samples come from | [`gpu_source`](Self::gpu_source) | — | NVML (feature `nvml`); none without it |
/// | this process's GPUs (`rank` mode) | [`cuda_visible_devices`](Self::cuda_visible_devices) | `CUDA_VISIBLE_DEVICES`, `CUDA_DEVICE_ORDER` | unset: every GPU |
/// | slow-request threshold, ms | [`slow_request`](Self::slow_request) | `RANKLOG_SLOW_MS`: `2000`, `250.5` | none |
///
/// By default the queue blocks the caller when full: no record is ever dropped. A panic on any thread and
/// SIGTERM, SIGINT and SIGHUP write out the queue before the process ends.
pub struct Builder {
    rank_info: Option<RankInfo>,
    level: Level,
    filter: Option<String>,
    dir: Option<PathBuf>,
    file_scope: FileScope,
    color: ColorChoice,
    no_color: bool,
    prefix: String,
    all_ranks: bool,
    ungated_level: Level,
    queue_len: usize,
    console: ConsoleTarget,
    console_ranks: Option<String>,
    log_bridge: bool,
    gpu: GpuSettings,
    file: FileOptions,
    overflow: Overflow,
    signals: bool,
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

/// Default queue length, in records.
const DEFAULT_QUEUE_LEN: usize = 4096;
/// Largest accepted queue length, in records.
const MAX_QUEUE_LEN: usize = 1 << 24;

impl Builder {
    /// The defaults of the table above, ignoring the environment.
    pub fn new() -> Builder {
        Builder {
            rank_info: None,
            level: Level::Info,
            filter: None,
            dir: None,
            file_scope: FileScope::All,
            color: ColorChoice::Auto,
            no_color: false,
            prefix: String::new(),
            all_ranks: false,
            ungated_level: Level::Error,
            queue_len: DEFAULT_QUEUE_LEN,
            console: ConsoleTarget::Stderr,
            console_ranks: None,
            log_bridge: true,
            gpu: GpuSettings::default(),
            file: FileOptions::default(),
            overflow: Overflow::Block,
            signals: true,
        }
    }

    /// The defaults, overridden by the `RANKLOG_*` variables of the process environment
    /// (and `NO_COLOR`). Rank discovery waits for [`build`](Self::build), so that a
    /// [`rank_info`](Self::rank_info) from MPI can replace it.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidVar`] naming the variable, its value and why, for a value outside
    /// the accepted ones (see the table on [`Builder`]); an empty value counts as invalid.
    pub fn from_env() -> Result<Builder> {
        Builder::from_lookup(&|name| {
            std::env::var_os(name).map(|v| v.to_string_lossy().into_owned())
        })
    }

    /// [`from_env`](Self::from_env) over the given variables instead of the process
    /// environment; variables not given count as unset.
    ///
    /// # Errors
    ///
    /// As [`from_env`](Self::from_env).
    ///
    /// # Examples
    ///
    /// ```
    /// let err = ranklog::Builder::from_vars([("RANKLOG_LEVEL", "loud")]).err().unwrap();
    /// assert!(err.to_string().contains("RANKLOG_LEVEL"));
    /// ```
    pub fn from_vars<I, K, V>(vars: I) -> Result<Builder>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let vars: HashMap<String, String> = vars
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        Builder::from_lookup(&|name| vars.get(name).cloned())
    }

    fn from_lookup(env: &dyn Fn(&str) -> Option<String>) -> Result<Builder> {
        let mut b = Builder::new();
        if let Some(v) = env("RANKLOG_LEVEL") {
            b.level = parse_level("RANKLOG_LEVEL", &v)?;
        }
        if let Some(v) = env("RANKLOG_FILTER") {
            if v.trim().is_empty() {
                return Err(Error::invalid(
                    "RANKLOG_FILTER",
                    &v,
                    "empty; unset it, or give directives like info,hyper=warn",
                ));
            }
            crate::filter::LevelFilter::new(b.level, Some(&v))
                .map_err(|reason| Error::invalid("RANKLOG_FILTER", &v, reason))?;
            b.filter = Some(v);
        }
        if let Some(v) = env("RANKLOG_DIR") {
            if v.trim().is_empty() {
                return Err(Error::invalid(
                    "RANKLOG_DIR",
                    &v,
                    "empty; unset it to log to the console only",
                ));
            }
            b.dir = Some(PathBuf::from(v));
        }
        if let Some(v) = env("RANKLOG_FILE_SCOPE") {
            b.file_scope = match v.trim().to_ascii_lowercase().as_str() {
                "all" => FileScope::All,
                "gated" => FileScope::Gated,
                _ => {
                    return Err(Error::invalid(
                        "RANKLOG_FILE_SCOPE",
                        &v,
                        "expected all or gated",
                    ))
                }
            };
        }
        if let Some(v) = env("RANKLOG_COLOR") {
            b.color = match v.trim().to_ascii_lowercase().as_str() {
                "auto" => ColorChoice::Auto,
                "always" => ColorChoice::Always,
                "never" => ColorChoice::Never,
                _ => {
                    return Err(Error::invalid(
                        "RANKLOG_COLOR",
                        &v,
                        "expected auto, always or never",
                    ))
                }
            };
        }
        // https://no-color.org: any non-empty value turns colour off.
        b.no_color = env("NO_COLOR").is_some_and(|v| !v.is_empty());
        if let Some(v) = env("RANKLOG_PREFIX") {
            b.prefix = v;
        }
        if let Some(v) = env("RANKLOG_ALL_RANKS") {
            b.all_ranks = parse_bool("RANKLOG_ALL_RANKS", &v)?;
        }
        if let Some(v) = env("RANKLOG_UNGATED_LEVEL") {
            b.ungated_level = parse_level("RANKLOG_UNGATED_LEVEL", &v)?;
        }
        if let Some(v) = env("RANKLOG_QUEUE_LEN") {
            let n = crate::rank::parse_u32("RANKLOG_QUEUE_LEN", &v)? as usize;
            if n == 0 || n > MAX_QUEUE_LEN {
                return Err(Error::invalid(
                    "RANKLOG_QUEUE_LEN",
                    &v,
                    format!("expected 1 to {MAX_QUEUE_LEN} records"),
                ));
            }
            b.queue_len = n;
        }
        if let Some(v) = env("RANKLOG_CONSOLE_RANKS") {
            b = b.console_ranks(&v).map_err(|e| match e {
                Error::InvalidVar { reason, .. } => {
                    Error::invalid("RANKLOG_CONSOLE_RANKS", &v, reason)
                }
                other => other,
            })?;
        }
        if let Some(v) = env("RANKLOG_LOG_BRIDGE") {
            b.log_bridge = parse_bool("RANKLOG_LOG_BRIDGE", &v)?;
        }
        if let Some(v) = env("RANKLOG_OVERFLOW") {
            b.overflow = match v.trim().to_ascii_lowercase().as_str() {
                "block" => Overflow::Block,
                "drop" => Overflow::Drop,
                _ => {
                    return Err(Error::invalid(
                        "RANKLOG_OVERFLOW",
                        &v,
                        "expected block or drop",
                    ))
                }
            };
        }
        if let Some(v) = env("RANKLOG_FILE") {
            b = b.file_name(&v)?;
        }
        match (env("RANKLOG_ROTATE_BYTES"), env("RANKLOG_ROTATE")) {
            (Some(bytes), Some(when)) => {
                return Err(Error::Contradiction {
                    var_a: "RANKLOG_ROTATE_BYTES".to_owned(),
                    value_a: bytes,
                    var_b: "RANKLOG_ROTATE".to_owned(),
                    value_b: when,
                    reason: "rotate by size or daily, not both".to_owned(),
                })
            }
            (Some(bytes), None) => {
                b.file.rotation = Rotation::Bytes(parse_bytes("RANKLOG_ROTATE_BYTES", &bytes)?)
            }
            (None, Some(when)) => {
                b.file.rotation = match when.trim().to_ascii_lowercase().as_str() {
                    "daily" => Rotation::Daily,
                    "never" => Rotation::Never,
                    _ => {
                        return Err(Error::invalid(
                            "RANKLOG_ROTATE",
                            &when,
                            "expected daily or never",
                        ))
                    }
                }
            }
            (None, None) => {}
        }
        if let Some(v) = env("RANKLOG_KEEP") {
            let keep = crate::rank::parse_u32("RANKLOG_KEEP", &v)?;
            if keep == 0 || keep > MAX_KEEP {
                return Err(Error::invalid(
                    "RANKLOG_KEEP",
                    &v,
                    format!("expected 1 to {MAX_KEEP} old segments"),
                ));
            }
            b.file.keep = keep as usize;
        }
        if let Some(v) = env("RANKLOG_FILE_MODE") {
            b.file.file_mode = parse_mode("RANKLOG_FILE_MODE", &v)?;
        }
        if let Some(v) = env("RANKLOG_DIR_MODE") {
            b.file.dir_mode = parse_mode("RANKLOG_DIR_MODE", &v)?;
        }
        if let Some(v) = env("RANKLOG_SIGNALS") {
            b.signals = parse_bool("RANKLOG_SIGNALS", &v)?;
        }
        b.gpu.read_env(env)?;
        Ok(b)
    }

    /// Uses `info` instead of discovering the identity from the environment at build time,
    /// e.g. `RankInfo::from_mpi`.
    pub fn rank_info(mut self, info: RankInfo) -> Builder {
        self.rank_info = Some(info);
        self
    }

    /// Minimum level of records kept (default [`Level::Info`]).
    pub fn level(mut self, level: Level) -> Builder {
        self.level = level;
        self
    }

    /// Per-module directives in `RUST_LOG` syntax (`info,hyper=warn,my_crate::model=debug`),
    /// applied on top of [`level`](Self::level); parsed by the `env_filter` crate (without
    /// its `/regex` part). A directive's module is matched against the record's module path.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidVar`] (naming `RANKLOG_FILTER`) when the directives do not parse.
    pub fn filter(mut self, directives: &str) -> Result<Builder> {
        crate::filter::LevelFilter::new(self.level, Some(directives))
            .map_err(|reason| Error::invalid("RANKLOG_FILTER", directives, reason))?;
        self.filter = Some(directives.to_owned());
        Ok(self)
    }

    /// Writes this rank's records to `<dir>/rank-<rank, 5 digits>.jsonl`, creating `dir`.
    pub fn dir(mut self, dir: impl Into<PathBuf>) -> Builder {
        self.dir = Some(dir.into());
        self
    }

    /// Which records the per-rank file keeps (default [`FileScope::All`]).
    pub fn file_scope(mut self, scope: FileScope) -> Builder {
        self.file_scope = scope;
        self
    }

    /// When the console uses colour (default [`ColorChoice::Auto`]).
    pub fn color(mut self, color: ColorChoice) -> Builder {
        self.color = color;
        self
    }

    /// Text written before every console line; control characters in it are escaped.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Builder {
        self.prefix = prefix.into();
        self
    }

    /// `true` prints every record on every rank, whatever its scope (for debugging).
    pub fn all_ranks(mut self, all: bool) -> Builder {
        self.all_ranks = all;
        self
    }

    /// Records at or above this level print on every rank whatever their scope (default
    /// [`Level::Error`]), so a failing rank is always heard.
    pub fn ungated_level(mut self, level: Level) -> Builder {
        self.ungated_level = level;
        self
    }

    /// Length of the queue between the callers and the writer thread, in records (default
    /// 4096). When it is full, callers wait.
    ///
    /// # Panics
    ///
    /// When `len` is 0.
    pub fn queue_len(mut self, len: usize) -> Builder {
        assert!(len > 0, "the queue must hold at least one record");
        self.queue_len = len;
        self
    }

    /// Only the listed ranks show records below the ungated level on the console, e.g.
    /// `0,3-5,last` (torchrun's `--local-ranks-filter`, for global ranks). Files keep
    /// everything, and errors still print on every rank, so a failing rank is heard.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidVar`] (naming `RANKLOG_CONSOLE_RANKS`) when an item is not a rank,
    /// a range like `3-5` or `last`, or a range is reversed.
    pub fn console_ranks(mut self, list: &str) -> Result<Builder> {
        crate::ranks::contains(list, 0, 1)
            .map_err(|reason| Error::invalid("RANKLOG_CONSOLE_RANKS", list, reason))?;
        self.console_ranks = Some(list.to_owned());
        Ok(self)
    }

    /// Whether records of crates that log through the `log` crate (hyper, reqwest, the
    /// tokio ecosystem) go through this logger: same rank tag, gating, filters and files
    /// (default on). Their target is what `RANKLOG_FILTER` directives match, so
    /// `info,hyper=warn` quiets hyper. Only one `log` logger can exist per process: when
    /// another was installed first, a warning says so.
    pub fn log_bridge(mut self, on: bool) -> Builder {
        self.log_bridge = on;
        self
    }

    /// What happens when the queue is full (default [`Overflow::Block`]: the caller
    /// waits, nothing is lost). With [`Overflow::Drop`] records are dropped and counted.
    pub fn overflow(mut self, overflow: Overflow) -> Builder {
        self.overflow = overflow;
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
    /// [`Error::InvalidVar`] (naming `RANKLOG_FILE`) for another placeholder, a `/`, or a
    /// name that is empty, `.` or `..`: the file is always inside the log directory.
    pub fn file_name(mut self, template: &str) -> Result<Builder> {
        crate::output::check_template(template)?;
        self.file.template = template.to_owned();
        Ok(self)
    }

    /// When the file is cut into segments (default [`Rotation::Never`]).
    pub fn rotation(mut self, rotation: Rotation) -> Builder {
        self.file.rotation = rotation;
        self
    }

    /// How many old segments rotation keeps (default 10); older ones are deleted.
    ///
    /// # Panics
    ///
    /// When `keep` is 0.
    pub fn keep(mut self, keep: usize) -> Builder {
        assert!(keep > 0, "rotation keeps at least one old segment");
        self.file.keep = keep;
        self
    }

    /// Permission bits of a new log file (default `0o640`; the umask still applies).
    pub fn file_mode(mut self, mode: u32) -> Builder {
        self.file.file_mode = mode & 0o777;
        self
    }

    /// Permission bits of new log directories (default `0o750`; the umask still applies).
    pub fn dir_mode(mut self, mode: u32) -> Builder {
        self.file.dir_mode = mode & 0o777;
        self
    }

    /// Whether SIGTERM, SIGINT and SIGHUP write out the queue, then end the process as the
    /// signal would (default on; signal-hook). Turn off when the application handles these
    /// signals itself; it can call [`ranklog::flush`](crate::flush) in its handler.
    pub fn signals(mut self, on: bool) -> Builder {
        self.signals = on;
        self
    }

    /// Which GPUs this rank samples (default [`GpuMode::Node`]: the first rank of each
    /// node samples all of the node's); see [`gpu`](crate::gpu).
    pub fn gpu(mut self, mode: GpuMode) -> Builder {
        self.gpu.mode = mode;
        self
    }

    /// How often the GPUs are sampled (default 5 s).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidVar`] (naming `RANKLOG_GPU_INTERVAL`) below
    /// [`MIN_INTERVAL`](crate::gpu::MIN_INTERVAL), 100 ms: NVML averages utilization over
    /// 1/6 s to 1 s, and polling faster holds the driver lock.
    pub fn gpu_interval(mut self, interval: Duration) -> Result<Builder> {
        let text = format!("{interval:?}");
        self.gpu.interval = crate::gpu::check_interval("RANKLOG_GPU_INTERVAL", &text, interval)?;
        Ok(self)
    }

    /// Samples `source` instead of NVML, e.g. a
    /// [`ScriptedSource`](crate::gpu::ScriptedSource) in tests.
    pub fn gpu_source(mut self, source: impl GpuSource + 'static) -> Builder {
        self.gpu.source = Some(Box::new(source));
        self
    }

    /// `CUDA_VISIBLE_DEVICES` as the process's CUDA runtime sees it (`None`: unset), for
    /// [`GpuMode::Rank`]; [`from_env`](Self::from_env) reads it from the environment,
    /// [`new`](Self::new) starts unset.
    pub fn cuda_visible_devices(mut self, value: Option<&str>) -> Builder {
        self.gpu.visible_devices = value.map(str::to_owned);
        self
    }

    /// Inference requests slower than `threshold` are logged at warning level, with
    /// `slow=true` (default: no threshold); see [`Events`](crate::Events).
    pub fn slow_request(mut self, threshold: Duration) -> Builder {
        self.gpu.slow_request = Some(threshold);
        self
    }

    /// Sends console lines to `writer` instead of stderr (whole lines, at most 4096 bytes
    /// per `write_all` unless one line is longer); colour `auto` then means no colour.
    pub fn console_writer(mut self, writer: impl Write + Send + 'static) -> Builder {
        self.console = ConsoleTarget::Writer(Box::new(writer));
        self
    }

    /// Turns the console off (files only).
    pub fn no_console(mut self) -> Builder {
        self.console = ConsoleTarget::Off;
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
    /// - [`Error::CreateDir`] or [`Error::OpenFile`] when the JSONL file cannot be set up.
    pub fn build(self) -> Result<crate::Guard> {
        let info = match self.rank_info {
            Some(info) => info,
            None => RankInfo::from_env()?,
        };
        let color = match self.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                !self.no_color
                    && matches!(self.console, ConsoleTarget::Stderr)
                    && std::io::stderr().is_terminal()
            }
        };
        let filter = crate::filter::LevelFilter::new(self.level, self.filter.as_deref()).map_err(
            |reason| {
                Error::invalid(
                    "RANKLOG_FILTER",
                    self.filter.as_deref().unwrap_or(""),
                    reason,
                )
            },
        )?;
        crate::guard::start(crate::guard::Parts {
            info,
            filter,
            dir: self.dir,
            file_scope: self.file_scope,
            color,
            prefix: crate::output::escape::one_line(&self.prefix),
            all_ranks: self.all_ranks,
            ungated_level: self.ungated_level,
            queue_len: self.queue_len,
            console: self.console,
            console_ranks: self.console_ranks,
            log_bridge: self.log_bridge,
            slow_request: self.gpu.slow_request,
            gpu: self.gpu.plan(),
            file: self.file,
            overflow: self.overflow,
            signals: self.signals,
        })
    }
}

/// Parses a level name as in `RANKLOG_LEVEL`.
pub(crate) fn parse_level(var: &str, value: &str) -> Result<Level> {
    crate::output::level_from_name(value.trim()).ok_or_else(|| {
        Error::invalid(
            var,
            value,
            "expected trace, debug, info, warning, error or critical",
        )
    })
}

/// Largest accepted number of old segments.
const MAX_KEEP: u32 = 100_000;

/// Parses a byte count: a number, optionally followed by `K`/`KiB`, `M`/`MiB`, `G`/`GiB`
/// (powers of 1024) or `B`.
fn parse_bytes(var: &str, value: &str) -> Result<u64> {
    let text = value.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let scale: u64 = match unit.trim() {
        "" | "B" => 1,
        "K" | "KiB" => 1 << 10,
        "M" | "MiB" => 1 << 20,
        "G" | "GiB" => 1 << 30,
        _ => {
            return Err(Error::invalid(
                var,
                value,
                "expected bytes such as 67108864, 64MiB or 1GiB",
            ))
        }
    };
    let n: u64 = crate::rank::parse_u32(var, number)?.into();
    let bytes = n * scale;
    if bytes < 1024 {
        return Err(Error::invalid(var, value, "at least 1024 bytes"));
    }
    Ok(bytes)
}

/// Parses octal permission bits such as `640` or `0o750`.
fn parse_mode(var: &str, value: &str) -> Result<u32> {
    let text = value.trim();
    let digits = text.strip_prefix("0o").unwrap_or(text);
    match u32::from_str_radix(digits, 8) {
        Ok(mode) if !digits.is_empty() && mode <= 0o777 => Ok(mode),
        _ => Err(Error::invalid(
            var,
            value,
            "expected octal permission bits such as 640",
        )),
    }
}

fn parse_bool(var: &str, value: &str) -> Result<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(Error::invalid(
            var,
            value,
            "expected 1 or 0 (also true/false, yes/no, on/off)",
        )),
    }
}
