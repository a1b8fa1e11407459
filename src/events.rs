//! Model-loading and inference events: ordinary slog records with a `kind` field
//! (`model_load`, `inference`) and stable field names, listed in `docs/schema.md`, so that
//! the `ranklog` command can aggregate them across ranks.

use std::fmt;
use std::panic::Location;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use slog::{Key, Level, Logger, Record, Serializer, KV};

use crate::gpu::{GpuHandle, GpuSnapshot};
use crate::units::{gb_per_s, Bytes, SignedBytes};

/// Logs at `level` with the location `at` (the application's call site, from
/// `#[track_caller]`, not this file's) and the application's module `module`, in slog's
/// syntax: format arguments, `;`, key-values.
macro_rules! log_at {
    ($log:expr, $level:expr, $at:expr, $module:expr, $fmt:literal $(, $arg:expr)* ; $($kv:tt)+) => {{
        let at: &'static std::panic::Location<'static> = $at;
        let location = slog::RecordLocation {
            file: at.file(),
            line: at.line(),
            column: at.column(),
            function: "",
            module: $module,
        };
        let rs = slog::RecordStatic {
            location: &location,
            tag: "",
            level: $level,
        };
        $log.log(&slog::Record::new(
            &rs,
            &format_args!($fmt $(, $arg)*),
            slog::b!($($kv)+),
        ));
    }};
}

/// How long an event waits, at each end, for the GPU sample that gives its memory change.
const GPU_WAIT: Duration = Duration::from_secs(1);

/// Logs model loads and inference requests, with the GPU memory change of a load when
/// this rank samples GPUs and the slow-request threshold (`RANKLOG_SLOW_MS`). Get one
/// from [`Guard::events`](crate::Guard::events); cheap to clone.
///
/// Records go to the logger given to each call, with its scope: an `inference` logged
/// through a `global` logger prints once per job. Their file and line are the caller's
/// (`#[track_caller]`), and their module is the application's, not ranklog's, so that a
/// `RANKLOG_FILTER` directive for the application applies to them: by default the crate
/// name of the running program ([`program_module`]), or the module given to
/// [`module`](Self::module), e.g. `events.module(module_path!())` in library code.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use ranklog::{Inference, Events};
///
/// let guard = ranklog::Builder::new().slow_request(Duration::from_millis(500))?.build()?;
/// let (log, events) = (guard.logger(), guard.events());
///
/// let load = events.model_load(&log, "llama-3-8b", 0, 16 << 30);
/// // ... read the shard ...
/// load.finish();
///
/// events.inference(&log, &Inference::new(7, 12, 64, Duration::from_millis(830))
///     .ttft(Duration::from_millis(95)));                    // a warning: slower than 500 ms
/// # Ok::<(), ranklog::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Events {
    gpu: Option<GpuHandle>,
    slow_request: Option<Duration>,
    /// The module path event records carry.
    module: &'static str,
}

impl Default for Events {
    fn default() -> Self {
        Events {
            gpu: None,
            slow_request: None,
            module: program_module(),
        }
    }
}

/// The crate name of the running program, as `module_path!()` writes it at the root of its
/// crate: the executable's file name without the `-<16 hex digits>` cargo adds to test and
/// bench executables, `-` written `_` (`my-server` → `my_server`); `"main"` when the
/// executable's path is unknown. Computed once per process.
///
/// # Examples
///
/// ```
/// // A doc test runs as its own small program, named after the test.
/// assert!(!ranklog::program_module().is_empty());
/// ```
pub fn program_module() -> &'static str {
    static MODULE: OnceLock<String> = OnceLock::new();
    MODULE.get_or_init(|| {
        let exe = std::env::current_exe().ok();
        let stem = exe
            .as_deref()
            .and_then(|p| p.file_stem())
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        crate_name_of(&stem)
    })
}

/// The crate name behind an executable's file stem (see [`program_module`]).
fn crate_name_of(stem: &str) -> String {
    let stem = match stem.rsplit_once('-') {
        Some((name, hash))
            if !name.is_empty()
                && hash.len() == 16
                && hash.bytes().all(|b| b.is_ascii_hexdigit()) =>
        {
            name
        }
        _ => stem,
    };
    if stem.is_empty() {
        return "main".to_owned();
    }
    stem.replace('-', "_")
}

impl Events {
    /// Events without GPU samples and without a slow-request threshold, whose records carry
    /// the module [`program_module`].
    pub fn new() -> Events {
        Events::default()
    }

    /// Event records carry `module` (e.g. `module_path!()`) as their module, which is what
    /// `RANKLOG_FILTER` directives match (default: [`program_module`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let guard = ranklog::Builder::new().no_console().build()?;
    /// let events = guard.events().module(module_path!());
    /// # Ok::<(), ranklog::Error>(())
    /// ```
    pub fn module(mut self, module: &'static str) -> Events {
        self.module = module;
        self
    }

    /// Takes the GPU memory change of model loads from `gpu`'s samples.
    pub fn gpu(mut self, gpu: Option<GpuHandle>) -> Events {
        self.gpu = gpu;
        self
    }

    /// Requests slower than `threshold` are logged at warning level with `slow=true`.
    pub fn slow_request(mut self, threshold: Option<Duration>) -> Events {
        self.slow_request = threshold;
        self
    }

    /// Starts timing the load of shard `shard` of model `name`, `bytes` long; the returned
    /// [`ModelLoad`] logs it when finished.
    ///
    /// When this rank samples GPUs, the sampler takes a round now (waiting at most 1 s,
    /// before the clock starts), and another at the end, for the memory change.
    #[track_caller]
    pub fn model_load(
        &self,
        log: &Logger,
        name: impl Into<String>,
        shard: u32,
        bytes: u64,
    ) -> ModelLoad {
        let before = self.gpu.as_ref().and_then(|g| g.sample_now(GPU_WAIT));
        ModelLoad {
            log: log.clone(),
            module: self.module,
            name: name.into(),
            shard,
            bytes,
            gpu: self.gpu.clone(),
            before,
            start: Instant::now(),
            started_at: Location::caller(),
            done: false,
        }
    }

    /// Logs one served request (kind `inference`): at info level, or at warning level with
    /// `slow=true` when its latency is above the slow-request threshold.
    #[track_caller]
    pub fn inference(&self, log: &Logger, inference: &Inference) {
        let latency_ms = millis(inference.latency);
        let slow = self
            .slow_request
            .filter(|t| inference.latency > *t)
            .map(millis);
        let tokens_per_s =
            round3(inference.completion_tokens as f64 / inference.latency.as_secs_f64().max(1e-9));
        let kv = InferenceKv {
            i: inference,
            latency_ms,
            tokens_per_s,
            slow: slow.is_some(),
        };
        let (request, tokens) = (&inference.request, inference.completion_tokens);
        // The message holds only what every rank of a tensor-parallel group shares, so
        // `ranklog merge --collapse` folds a request into one line; the timings follow as
        // key-values.
        let level = if slow.is_some() {
            Level::Warning
        } else {
            Level::Info
        };
        log_at!(log, level, Location::caller(), self.module, "request {}: {} tokens{}", request, tokens, Slower(slow);
            "kind" => "inference", kv);
    }
}

/// One served request.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Inference {
    /// The request's id.
    pub request: RequestId,
    /// Tokens of the prompt.
    pub prompt_tokens: u64,
    /// Tokens generated.
    pub completion_tokens: u64,
    /// From the request's arrival to its last token.
    pub latency: Duration,
    /// Time to the first generated token, when measured.
    pub ttft: Option<Duration>,
}

impl Inference {
    /// A request that took `latency` to generate `completion_tokens` from a prompt of
    /// `prompt_tokens`.
    pub fn new(
        request: impl Into<RequestId>,
        prompt_tokens: u64,
        completion_tokens: u64,
        latency: Duration,
    ) -> Inference {
        Inference {
            request: request.into(),
            prompt_tokens,
            completion_tokens,
            latency,
            ttft: None,
        }
    }

    /// Sets the time to the first token.
    pub fn ttft(mut self, ttft: Duration) -> Inference {
        self.ttft = Some(ttft);
        self
    }
}

/// A request id: a number (written as a JSON number) or text.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RequestId {
    /// A numeric id.
    Number(u64),
    /// Any other id, e.g. a UUID.
    Text(String),
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestId::Number(n) => write!(f, "{n}"),
            RequestId::Text(t) => f.write_str(t),
        }
    }
}

impl From<u64> for RequestId {
    fn from(n: u64) -> RequestId {
        RequestId::Number(n)
    }
}

impl From<u32> for RequestId {
    fn from(n: u32) -> RequestId {
        RequestId::Number(n.into())
    }
}

impl From<usize> for RequestId {
    fn from(n: usize) -> RequestId {
        RequestId::Number(n as u64)
    }
}

/// So that `Inference::new(7, ...)` works: an integer literal is an `i32`. A negative id
/// is kept as text.
impl From<i32> for RequestId {
    fn from(n: i32) -> RequestId {
        i64::from(n).into()
    }
}

/// A negative id is kept as text.
impl From<i64> for RequestId {
    fn from(n: i64) -> RequestId {
        u64::try_from(n).map_or_else(|_| RequestId::Text(n.to_string()), RequestId::Number)
    }
}

impl From<&str> for RequestId {
    fn from(t: &str) -> RequestId {
        RequestId::Text(t.to_owned())
    }
}

impl From<String> for RequestId {
    fn from(t: String) -> RequestId {
        RequestId::Text(t)
    }
}

impl slog::Value for RequestId {
    fn serialize(&self, _: &Record<'_>, key: Key, s: &mut dyn Serializer) -> slog::Result {
        match self {
            RequestId::Number(n) => s.emit_u64(key, *n),
            RequestId::Text(t) => s.emit_str(key, t),
        }
    }
}

/// The `inference` record's fields, emitted last first (slog writes a record's key-values
/// newest first; ranklog restores the written order).
struct InferenceKv<'a> {
    i: &'a Inference,
    latency_ms: f64,
    tokens_per_s: f64,
    slow: bool,
}

impl KV for InferenceKv<'_> {
    fn serialize(&self, record: &Record<'_>, s: &mut dyn Serializer) -> slog::Result {
        if self.slow {
            s.emit_bool("slow", true)?;
        }
        s.emit_f64("tokens_per_s", self.tokens_per_s)?;
        if let Some(ttft) = self.i.ttft {
            s.emit_f64("ttft_ms", millis(ttft))?;
        }
        s.emit_f64("latency_ms", self.latency_ms)?;
        s.emit_u64("completion_tokens", self.i.completion_tokens)?;
        s.emit_u64("prompt_tokens", self.i.prompt_tokens)?;
        slog::Value::serialize(&self.i.request, record, "request", s)
    }
}

/// A model shard being loaded; logs a `model_load` record when it ends.
///
/// End it with [`finish`](Self::finish) (info level: `ms`, `bytes`, `gb_per_s` and, when
/// this rank samples GPUs, `mem_delta_bytes`), [`fail`](Self::fail) (error level, with the
/// `error` text and the same context) or [`finish_with`](Self::finish_with), which picks
/// one from a `Result`. Dropped without either (an early return, a panic), it logs a
/// failure saying so.
#[must_use = "the load is logged when finished; dropped at once, it logs a failure"]
pub struct ModelLoad {
    log: Logger,
    /// The module path the load's record carries.
    module: &'static str,
    name: String,
    shard: u32,
    bytes: u64,
    gpu: Option<GpuHandle>,
    before: Option<Arc<GpuSnapshot>>,
    start: Instant,
    /// Where the load began: the location of its record when it is dropped unfinished.
    started_at: &'static Location<'static>,
    done: bool,
}

impl fmt::Debug for ModelLoad {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ModelLoad")
            .field("name", &self.name)
            .field("shard", &self.shard)
            .field("bytes", &self.bytes)
            .field("elapsed", &self.start.elapsed())
            .finish()
    }
}

impl ModelLoad {
    /// Corrects the byte count, when it is known only once loaded.
    pub fn set_bytes(&mut self, bytes: u64) {
        self.bytes = bytes;
    }

    /// Logs the load as done and returns how long it took. The record's location is the
    /// caller's.
    #[track_caller]
    pub fn finish(mut self) -> Duration {
        self.end(None, Location::caller())
    }

    /// Logs the load as failed with `error`, at error level.
    #[track_caller]
    pub fn fail(mut self, error: &dyn fmt::Display) {
        self.end(Some(error), Location::caller());
    }

    /// Logs the load as done or failed according to `result`, and passes it on.
    ///
    /// # Examples
    ///
    /// ```
    /// # let guard = ranklog::Builder::new().no_console().build()?;
    /// # let log = guard.logger();
    /// let load = guard.events().model_load(&log, "llama", 0, 1024);
    /// let weights: Result<Vec<u8>, std::io::Error> = Ok(vec![0; 1024]);
    /// let weights = load.finish_with(weights)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[track_caller]
    pub fn finish_with<T, E: fmt::Display>(mut self, result: Result<T, E>) -> Result<T, E> {
        let at = Location::caller();
        match &result {
            Ok(_) => self.end(None, at),
            Err(e) => self.end(Some(e), at),
        };
        result
    }

    fn end(
        &mut self,
        error: Option<&dyn fmt::Display>,
        at: &'static Location<'static>,
    ) -> Duration {
        let elapsed = self.start.elapsed();
        self.done = true;
        let after = self.gpu.as_ref().and_then(|g| g.sample_now(GPU_WAIT));
        let mem_delta_bytes = match (&self.before, &after) {
            (Some(b), Some(a)) => a.mem_used_delta_bytes(b),
            _ => None,
        };
        let ms = millis(elapsed);
        let gb_per_s = round3(gb_per_s(self.bytes, elapsed.as_secs_f64().max(1e-9) * 1e3));
        let kv = LoadKv {
            name: &self.name,
            shard: self.shard,
            bytes: self.bytes,
            ms,
            gb_per_s,
            mem_delta_bytes,
        };
        let delta = Delta(mem_delta_bytes);
        match error {
            None => {
                log_at!(self.log, Level::Info, at, self.module, "model {} shard {} loaded: {} in {:.1} ms, {:.2} GB/s{}",
                self.name, self.shard, Bytes(self.bytes), ms, gb_per_s, delta;
                "kind" => "model_load", kv)
            }
            Some(error) => {
                log_at!(self.log, Level::Error, at, self.module, "model {} shard {} failed to load after {:.1} ms: {}",
                self.name, self.shard, ms, error;
                "kind" => "model_load", kv, "error" => %error)
            }
        }
        elapsed
    }
}

impl Drop for ModelLoad {
    fn drop(&mut self) {
        if !self.done {
            let why: &dyn fmt::Display = if std::thread::panicking() {
                &"the thread panicked during the load"
            } else {
                &"dropped before finish() or fail(): an early return?"
            };
            self.end(Some(why), self.started_at);
        }
    }
}

/// `, slower than 250 ms` for a slow request.
struct Slower(Option<f64>);

impl fmt::Display for Slower {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(threshold) => write!(f, ", slower than {threshold} ms"),
            None => Ok(()),
        }
    }
}

/// `, GPU memory +1.2 GiB` when known.
struct Delta(Option<i64>);

impl fmt::Display for Delta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(d) => write!(f, ", GPU memory {}", SignedBytes(d)),
            None => Ok(()),
        }
    }
}

/// The `model_load` record's fields, emitted last first.
struct LoadKv<'a> {
    name: &'a str,
    shard: u32,
    bytes: u64,
    ms: f64,
    gb_per_s: f64,
    mem_delta_bytes: Option<i64>,
}

impl KV for LoadKv<'_> {
    fn serialize(&self, _: &Record<'_>, s: &mut dyn Serializer) -> slog::Result {
        if let Some(d) = self.mem_delta_bytes {
            s.emit_i64("mem_delta_bytes", d)?;
        }
        s.emit_f64("gb_per_s", self.gb_per_s)?;
        s.emit_f64("ms", self.ms)?;
        s.emit_u64("bytes", self.bytes)?;
        s.emit_u32("shard", self.shard)?;
        s.emit_str("name", self.name)
    }
}

/// A duration in milliseconds, to the microsecond.
fn millis(d: Duration) -> f64 {
    round3(d.as_secs_f64() * 1e3)
}

fn round3(x: f64) -> f64 {
    (x * 1e3).round() / 1e3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_program_module_is_the_crate_name_of_the_executable() {
        assert_eq!(crate_name_of("my-server"), "my_server");
        assert_eq!(crate_name_of("tp_inference"), "tp_inference");
        assert_eq!(
            crate_name_of("events_model_load-0123456789abcdef"),
            "events_model_load"
        );
        assert_eq!(crate_name_of("v-1-2"), "v_1_2");
        assert_eq!(crate_name_of(""), "main");
        // This unit-test executable is `ranklog-<hash>`: the crate `ranklog`.
        assert_eq!(program_module(), "ranklog");
    }

    #[test]
    fn request_ids_are_numbers_unless_negative_or_text() {
        assert_eq!(RequestId::from(7), RequestId::Number(7));
        assert_eq!(RequestId::from(7usize), RequestId::Number(7));
        assert_eq!(RequestId::from(-1), RequestId::Text("-1".into()));
        assert_eq!(RequestId::from("req-9"), RequestId::Text("req-9".into()));
        assert_eq!(RequestId::from(u64::MAX).to_string(), u64::MAX.to_string());
    }

    #[test]
    fn sizes_and_memory_changes_read_well_on_the_console() {
        assert_eq!(Bytes(3 << 29).to_string(), "1.5 GiB");
        assert_eq!(Bytes(300 << 20).to_string(), "300.0 MiB");
        assert_eq!(Delta(Some(-(1 << 30))).to_string(), ", GPU memory -1.0 GiB");
        assert_eq!(Delta(None).to_string(), "");
    }
}
