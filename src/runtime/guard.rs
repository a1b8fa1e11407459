//! [`Guard`]: owns the writer thread; dropping it flushes every sink.

use std::fmt;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use slog::{o, Logger};

use super::drain::{Overflow, Pipeline};
use super::queue::Queue;
use super::registry::{self, Active};
use super::settings::{ConsoleTarget, Settings};
use super::stats::{Counters, LogStats};
use super::watch::{self, Watcher};
use super::writer::Worker;
use super::{at_exit, fatal, lifecycle, log_bridge, otlp, own};
use crate::gate::level::LevelFilter;
use crate::gate::live::LiveFilter;
use crate::gate::once::OnceMemory;
use crate::gate::Gate;
use crate::gpu::{self, GpuHandle, Sampler};
use crate::identity::rank_list;
use crate::sink::json::record_identity;
use crate::sink::ring::recover::{recover_ring, Recovered};
use crate::sink::ring::{capacity_for, ring_path, Ring};
use crate::sink::{escape, file_path, ColorChoice, Console, FileScope, JsonFile, Sinks};
use crate::{Error, Events, RankInfo, Result, Scope, Source};

/// Keeps the logger's writer thread alive; dropping it writes out every queued record and
/// flushes the console and the file.
///
/// Loggers obtained from [`logger`](Guard::logger) stay usable after the guard is gone:
/// their records are then written synchronously on the caller's thread.
///
/// `std::process::exit` ends the process without running destructors; an `atexit` handler
/// writes out the queue then (at most 1 s). `_exit` and Open MPI's `MPI_Abort` run no
/// handler at all, so records still queued are lost: drop the guard first
/// (`drop(guard)`), or call [`flush`](Guard::flush) before them. A panic on any thread,
/// SIGTERM, SIGINT and SIGHUP, and the fatal signals SIGABRT, SIGSEGV, SIGBUS, SIGFPE and
/// SIGILL flush by themselves (see [`Builder::signals`](crate::Builder::signals)).
#[must_use = "dropping the guard at once stops the writer thread; keep it for the job's lifetime"]
pub struct Guard {
    logger: Logger,
    info: RankInfo,
    file: Option<PathBuf>,
    sinks: Arc<Sinks>,
    worker: Option<Worker>,
    active: Arc<Active>,
    /// The GPU sampler, when this rank samples.
    sampler: Option<Sampler>,
    /// The control-file watcher (`ranklog level`), with a log directory.
    watcher: Option<Watcher>,
    events: Events,
}

impl Guard {
    /// A handle on the logger (cheap: a reference-counted clone).
    pub fn logger(&self) -> Logger {
        self.logger.clone()
    }

    /// The root drain behind [`logger`](Guard::logger), to compose with other slog drains
    /// (see [`RankDrain`](crate::RankDrain)).
    pub fn drain(&self) -> crate::RankDrain {
        super::RankDrain(self.active.pipeline.clone())
    }

    /// The identity the logger was built for.
    pub fn rank_info(&self) -> &RankInfo {
        &self.info
    }

    /// This rank's JSONL file, when `RANKLOG_DIR` (or [`Builder::dir`](crate::Builder::dir))
    /// is set.
    pub fn log_file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// Writes out every record logged so far and flushes the console and the file, waiting
    /// at most `timeout`; returns whether it finished in time. A full default queue (4096
    /// records) takes a few milliseconds.
    pub fn flush(&self, timeout: Duration) -> bool {
        self.active.pipeline.flush(timeout)
    }

    /// Records dropped because the queue was full (only with [`Overflow::Drop`]).
    pub fn dropped(&self) -> u64 {
        self.active
            .pipeline
            .dropped
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// What this logger has done so far: records written by level, gated out, dropped,
    /// lost, the file's bytes and the queue's high-water mark (see [`LogStats`]). Records
    /// still in the queue are not counted yet: [`flush`](Self::flush) first for exact
    /// counts. The same figures end every rank's file as a `log_stats` record.
    ///
    /// # Examples
    ///
    /// ```
    /// let guard = ranklog::Builder::new().no_console().build()?;
    /// slog::info!(guard.logger(), "one");
    /// guard.flush(std::time::Duration::from_secs(1));
    /// assert!(guard.stats().by_level.info >= 1);
    /// # Ok::<(), ranklog::Error>(())
    /// ```
    pub fn stats(&self) -> LogStats {
        self.active.pipeline.stats()
    }

    /// The GPU sampler of this rank, when it has one: in `node` mode on the first rank of
    /// each node, in `rank` mode on every rank (see [`gpu`](crate::gpu)). It exists from
    /// the start even when it then finds no driver or no GPU
    /// ([`GpuHandle::has_stopped`] says so).
    pub fn gpu(&self) -> Option<GpuHandle> {
        self.sampler.as_ref().map(Sampler::handle)
    }

    /// Model-load and inference events with this rank's GPU samples and the slow-request
    /// threshold (`RANKLOG_SLOW_MS`).
    pub fn events(&self) -> Events {
        self.events.clone()
    }

    /// The directory of the per-rank files, when `RANKLOG_DIR` (or
    /// [`Builder::dir`](crate::Builder::dir)) is set.
    pub fn log_dir(&self) -> Option<&Path> {
        self.file.as_deref().and_then(Path::parent)
    }

    /// A [`tracing_subscriber::Layer`] that sends `tracing` events through this logger's
    /// gate, queue and sinks, exactly as slog records (feature `tracing`).
    ///
    /// - `tracing::info!(scope = "global", bytes = n, "model loaded")` is gated like
    ///   `slog::info!(log, "model loaded"; "scope" => "global", "bytes" => n)`: errors on
    ///   every rank, other levels by their `scope` field (`global`, `local`, `process`,
    ///   `group:NAME`, `ranks:LIST`; none means `process`).
    /// - The event's target is the record's module (what `RANKLOG_FILTER` directives
    ///   match), its file and line the record's, its other fields key-values. The fields of
    ///   the spans it is in follow as context, innermost span first; the event's own
    ///   `scope` wins over a span's.
    /// - tracing's `ERROR`, `WARN`, `INFO`, `DEBUG`, `TRACE` are ranklog's error, warning,
    ///   info, debug, trace.
    /// - `RANKLOG_LEVEL`, `RANKLOG_FILTER` and [`suppress`](crate::suppress) apply, through
    ///   a per-layer filter: tracing caches per call site that a level- or module-disabled
    ///   event is not wanted (and gets ranklog's level as its maximum level), so such an
    ///   event costs about a nanosecond and the subscriber's other layers still see it. A
    ///   `ranklog level` change rebuilds that cache. Spans below the level are not kept,
    ///   so they add no context.
    ///
    /// It works with any subscriber built on tracing-subscriber's
    /// [`Registry`](tracing_subscriber::Registry) (per-layer filters need one). Records go
    /// to this guard's sinks; after the guard is dropped they are written on the caller's
    /// thread, as the slog loggers' are.
    ///
    /// Infallible and never panics. Install the subscriber once per process
    /// (`tracing::subscriber::set_global_default`, which fails if another was set first).
    ///
    /// # Examples
    ///
    /// ```
    /// use tracing_subscriber::layer::SubscriberExt;
    ///
    /// let guard = ranklog::Builder::new().no_console().build()?;
    /// let subscriber = tracing_subscriber::registry().with(guard.tracing_layer());
    /// tracing::subscriber::with_default(subscriber, || {
    ///     let _request = tracing::info_span!("request", request_id = 7).entered();
    ///     tracing::info!(scope = "global", bytes = 1u64 << 30, "model loaded");
    /// });
    /// guard.flush(std::time::Duration::from_secs(1));
    /// assert_eq!(guard.stats().by_level.info, 2); // the job's first record, and ours
    /// # Ok::<(), ranklog::Error>(())
    /// ```
    #[cfg(feature = "tracing")]
    pub fn tracing_layer<S>(&self) -> impl tracing_subscriber::Layer<S> + Send + Sync + 'static
    where
        S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    {
        super::tracing_layer::layer(self.active.pipeline.clone())
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        // Stops the sampler within 100 ms and logs the per-GPU summaries while the writer
        // thread still runs.
        if let Some(sampler) = self.sampler.take() {
            sampler.stop();
        }
        drop(self.watcher.take());
        registry::deactivate(&self.active);
        // Closes the queue behind every queued record and joins the writer thread.
        drop(self.worker.take());
        self.active.pipeline.report_drop_total();
        #[cfg(feature = "otlp")]
        otlp::finish(&self.sinks);
        self.active.pipeline.report_stats();
        self.sinks.finish();
    }
}

impl fmt::Debug for Guard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guard")
            .field("rank_info", &self.info)
            .field("log_file", &self.file)
            .field("writer_running", &self.worker.is_some())
            .field("gpu_sampler", &self.sampler.is_some())
            .field("control_watcher", &self.watcher.is_some())
            .finish_non_exhaustive()
    }
}

/// Whether the console uses colour: `auto` means a terminal on stderr and no `NO_COLOR`.
fn use_color(settings: &Settings) -> bool {
    match settings.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            !settings.no_color
                && matches!(settings.console, ConsoleTarget::Stderr)
                && std::io::stderr().is_terminal()
        }
    }
}

/// Opens the sinks, starts the writer thread and logs the job's first record.
///
/// # Errors
///
/// [`Error::CreateDir`] or [`Error::OpenFile`] when the JSONL file cannot be set up.
pub(crate) fn start(info: RankInfo, settings: Settings) -> Result<Guard> {
    let color = use_color(&settings);
    // The Builder parsed the directives once already; this cannot fail on them.
    let filter =
        LevelFilter::new(settings.level, settings.filter.as_deref()).map_err(|reason| {
            Error::invalid(
                "RANKLOG_FILTER",
                settings.filter.as_deref().unwrap_or(""),
                reason,
            )
        })?;
    let mut gate = Gate::new(&info, settings.ungated_level, settings.all_ranks);
    if let Some(list) = &settings.console_ranks {
        // Validated by the Builder.
        if !rank_list::contains(list, info.rank, info.size).unwrap_or(true) {
            gate.mute_console();
        }
    }
    let gate = Arc::new(gate);
    let opened = settings
        .dir
        .as_deref()
        .map(|dir| open_file(dir, &info, &settings))
        .transpose()?;
    let (file, ring, recovered, ring_trouble) = match opened {
        Some(o) => (Some(o.file), o.ring, o.recovered, o.ring_trouble),
        None => (None, None, Ok(None), None),
    };
    let file_path = file.as_ref().map(|f| f.path().to_owned());
    let prefix = escape::one_line(&settings.prefix);
    let console = match settings.console {
        ConsoleTarget::Stderr => Some(Console::new(
            Box::new(std::io::stderr()),
            &info,
            prefix,
            color,
        )),
        ConsoleTarget::Writer(w) => Some(Console::new(w, &info, prefix, color)),
        ConsoleTarget::Off => None,
    };
    // The OTLP exporter takes what the file would keep, with or without a file.
    let file_all =
        (file.is_some() || otlp::wanted(settings.otlp)) && settings.file_scope == FileScope::All;
    let sinks = Arc::new(Sinks::new(
        console,
        file,
        gate.clone(),
        file_all,
        ring.clone(),
    ));
    let otlp_trouble = otlp::start(settings.otlp, &info, &sinks);
    let queue = Arc::new(Queue::new(
        settings.queue_len,
        settings.overflow == Overflow::Block,
        ring,
    ));
    let counters = Arc::new(Counters::default());
    let worker = Worker::start(queue.clone(), sinks.clone(), counters.clone());
    let most_verbose = filter.most_verbose();
    let pipeline = Arc::new(Pipeline {
        filter: LiveFilter::new(filter),
        gate: gate.clone(),
        file_all,
        queue,
        overflow: settings.overflow,
        sinks: sinks.clone(),
        once: OnceMemory::default(),
        unreported: Default::default(),
        dropped: Default::default(),
        counters,
    });
    let logger = Logger::root(pipeline.clone(), o!());
    let own = own::own_logger(super::RankDrain(pipeline.clone()));
    let active = Arc::new(Active {
        pipeline,
        gate,
        file_all,
    });
    registry::activate(active.clone());
    announce(&own, &info, file_path.as_deref());
    if let Some(reason) = otlp_trouble {
        otlp::warn_unavailable(&own, &reason);
    }
    let (recovered, recovery_trouble) = match recovered {
        Ok(r) => (r, None),
        Err(err) => (None, Some(err)),
    };
    if let Some(r) = recovered {
        slog::warn!(own, "recovered {} records that the previous process on {} had logged but not written (it was killed)", r.records, r.file.display();
            "kind" => "recovered_records", "records" => r.records, "cut_bytes" => r.cut_bytes,
            "damaged_tail" => r.damaged_tail);
    }
    if let Some(err) = recovery_trouble {
        slog::error!(own, "cannot recover the records a previous process left in its ring: {}", err;
            "kind" => "recovery_failed");
    }
    if let Some(err) = ring_trouble {
        slog::warn!(own, "records are not crash-safe: cannot make the ring beside the log file ({}); a SIGKILL would lose the records not yet written", err;
            "kind" => "ring_unavailable");
    }
    lifecycle::install_panic_hook();
    if !at_exit::install() {
        slog::warn!(own, "cannot register the atexit flush; records queued when the process calls exit() may be lost";
            "kind" => "atexit_unavailable");
    }
    if settings.signals {
        if let Err(err) = lifecycle::install_signal_handlers() {
            slog::warn!(own, "cannot handle SIGTERM, SIGINT and SIGHUP: {}; records queued when one arrives may be lost", err;
                "kind" => "signals_unavailable");
        }
        if let Err(err) = fatal::install() {
            slog::warn!(own, "cannot handle SIGABRT, SIGSEGV, SIGBUS, SIGFPE and SIGILL: {}; records queued when one arrives may be lost", err;
                "kind" => "signals_unavailable");
        }
    }
    if settings.log_bridge && !log_bridge::install(&logger, most_verbose) {
        slog::warn!(own, "records of the `log` crate are not routed to ranklog: another `log` logger was installed first";
            "scope" => Scope::Global, "kind" => "log_bridge_unavailable");
    }
    let watcher = settings
        .dir
        .clone()
        .filter(|_| settings.control)
        .and_then(|dir| {
            let pipeline = active.pipeline.clone();
            watch::start(dir, pipeline, own.clone(), info.rank, info.size)
        });
    let slow_request = settings.gpu.slow_request;
    let sampler = settings
        .gpu
        .plan()
        .and_then(|plan| gpu::start(&own, &info, plan));
    let events = Events::new()
        .gpu(sampler.as_ref().map(Sampler::handle))
        .slow_request(slow_request);
    Ok(Guard {
        logger,
        info,
        file: file_path,
        sinks,
        worker: Some(worker),
        active,
        sampler,
        watcher,
        events,
    })
}

/// This rank's JSONL file in `dir`, its crash-safe ring, and what became of a previous
/// process's ring for the same file.
struct OpenedFile {
    file: JsonFile,
    ring: Option<Arc<Ring>>,
    /// The previous process's unwritten records, recovered into the file before it opened.
    recovered: Result<Option<Recovered>>,
    /// Why there is no ring (with `RANKLOG_CRASH_SAFE` on).
    ring_trouble: Option<std::io::Error>,
}

/// Recovers a killed previous process's ring for this rank's file (before this process
/// writes a record), opens the file, and makes the new ring.
///
/// # Errors
///
/// Those of [`file_path`] and [`JsonFile::open`]; recovery and ring failures are reported
/// in [`OpenedFile`], not errors: the job logs on without them.
fn open_file(dir: &Path, info: &RankInfo, settings: &Settings) -> Result<OpenedFile> {
    let path = file_path(dir, info, &settings.file)?;
    let recovered = recover_ring(&ring_path(&path));
    let file = JsonFile::open(&path, info, &settings.file)?;
    let (mut ring, mut ring_trouble) = (None, None);
    if settings.crash_safe {
        match Ring::create(
            &path,
            &record_identity(info),
            settings.file.file_mode,
            capacity_for(settings.queue_len),
        ) {
            Ok(r) => ring = Some(Arc::new(r)),
            Err(err) => ring_trouble = Some(err),
        }
    }
    Ok(OpenedFile {
        file,
        ring,
        recovered,
        ring_trouble,
    })
}

/// The job's first record (global scope; each rank's file keeps its own copy), a warning
/// for each thing discovery assumed, and, when the local rank is unknown, the warning that
/// says what `local` scope does then.
fn announce(log: &Logger, info: &RankInfo, file: Option<&Path>) {
    let msg = match info.source {
        Source::Single => format!(
            "single process on {}, no launcher variables found",
            info.host
        ),
        source => {
            let nodes = match info.nodes {
                Some(1) => "1 node".to_owned(),
                Some(n) => format!("{n} nodes"),
                None => "an unknown number of nodes".to_owned(),
            };
            let ranks = if info.size == 1 { "rank" } else { "ranks" };
            format!(
                "job of {} {ranks} on {nodes}, launched by {source}",
                info.size
            )
        }
    };
    let kv = slog::o!(
        "scope" => Scope::Global,
        "kind" => "job_start",
        "world_size" => info.size,
        "nodes" => info.nodes,
        "launcher" => info.source.as_str(),
        "local_known" => info.local_known,
    );
    match file {
        Some(file) => slog::info!(log.new(kv), "{}", msg; "log_file" => %file.display()),
        None => slog::info!(log.new(kv), "{}", msg),
    }
    for assumed in &info.assumed {
        slog::warn!(log, "identity assumed: {}", assumed;
            "scope" => Scope::Global, "kind" => "identity_assumed");
    }
    if !info.local_known {
        slog::warn!(log, "local rank unknown: {} gives none, so `local` records print on every rank \
                          (use RankInfo::from_mpi, or a launcher that sets a local rank)", info.source;
            "scope" => Scope::Global,
            "kind" => "local_rank_unknown",
        );
    }
}
