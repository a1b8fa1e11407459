//! [`Guard`]: owns the writer thread; dropping it flushes every sink.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use slog::{o, Level, Logger};

use crate::config::{ConsoleTarget, FileScope};
use crate::filter::LevelFilter;
use crate::gpu::{self, GpuHandle, Plan, Sampler};
use crate::lifecycle;
use crate::once::OnceMemory;
use crate::output::{Console, FileOptions, JsonFile, Sinks};
use crate::pipeline::{Overflow, Pipeline};
use crate::queue::{Queue, Worker};
use crate::scope::{Gate, Scope};
use crate::scoped::{self, Active};
use crate::{bridge, ranks};
use crate::{Events, RankInfo, Result, Source};

/// Keeps the logger's writer thread alive; dropping it writes out every queued record and
/// flushes the console and the file.
///
/// Loggers obtained from [`logger`](Guard::logger) stay usable after the guard is gone:
/// their records are then written synchronously on the caller's thread.
///
/// `std::process::exit` (and `MPI_Abort`) end the process without running destructors, so
/// records still queued are lost: drop the guard first (`drop(guard)`), or call
/// [`ranklog::exit`](crate::exit) / [`flush`](Guard::flush) before them. A panic on any
/// thread and SIGTERM, SIGINT and SIGHUP flush by themselves (see
/// [`Builder::signals`](crate::Builder::signals)).
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
        crate::RankDrain(self.active.pipeline.clone())
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
}

impl Drop for Guard {
    fn drop(&mut self) {
        // Stops the sampler within 100 ms and logs the per-GPU summaries while the writer
        // thread still runs.
        if let Some(sampler) = self.sampler.take() {
            sampler.stop();
        }
        scoped::deactivate(&self.active);
        // Closes the queue behind every queued record and joins the writer thread.
        drop(self.worker.take());
        self.active.pipeline.report_drop_total();
        self.sinks.finish();
    }
}

/// Everything [`Builder::build`](crate::Builder::build) has validated.
pub(crate) struct Parts {
    pub(crate) info: RankInfo,
    pub(crate) filter: LevelFilter,
    pub(crate) dir: Option<PathBuf>,
    pub(crate) file: FileOptions,
    pub(crate) file_scope: FileScope,
    pub(crate) overflow: Overflow,
    /// Whether to flush on SIGTERM, SIGINT and SIGHUP.
    pub(crate) signals: bool,
    pub(crate) color: bool,
    pub(crate) prefix: String,
    pub(crate) all_ranks: bool,
    pub(crate) ungated_level: Level,
    pub(crate) queue_len: usize,
    pub(crate) console: ConsoleTarget,
    /// `RANKLOG_CONSOLE_RANKS`: the ranks whose console shows gated records.
    pub(crate) console_ranks: Option<String>,
    /// Whether to route the `log` crate's records here.
    pub(crate) log_bridge: bool,
    /// The GPU sampler's settings; `None`: no sampling.
    pub(crate) gpu: Option<Plan>,
    /// `RANKLOG_SLOW_MS`.
    pub(crate) slow_request: Option<Duration>,
}

/// Opens the sinks, starts the writer thread and logs the job's first record.
pub(crate) fn start(parts: Parts) -> Result<Guard> {
    let info = parts.info;
    let mut gate = Gate::new(&info, parts.ungated_level, parts.all_ranks);
    if let Some(list) = &parts.console_ranks {
        // Validated by the Builder.
        if !ranks::contains(list, info.rank, info.size).unwrap_or(true) {
            gate.mute_console();
        }
    }
    let gate = Arc::new(gate);
    let file = parts
        .dir
        .as_deref()
        .map(|dir| JsonFile::open(dir, &info, &parts.file))
        .transpose()?;
    let file_path = file.as_ref().map(|f| f.path().to_owned());
    let console = match parts.console {
        ConsoleTarget::Stderr => Some(Console::new(
            Box::new(std::io::stderr()),
            &info,
            parts.prefix,
            parts.color,
        )),
        ConsoleTarget::Writer(w) => Some(Console::new(w, &info, parts.prefix, parts.color)),
        ConsoleTarget::Off => None,
    };
    let file_all = file.is_some() && parts.file_scope == FileScope::All;
    let sinks = Arc::new(Sinks::new(console, file, gate.clone(), file_all));
    let (queue, worker) = Queue::start(
        parts.queue_len,
        parts.overflow == Overflow::Block,
        sinks.clone(),
    );
    let most_verbose = parts.filter.most_verbose();
    let pipeline = Arc::new(Pipeline {
        filter: parts.filter,
        gate: gate.clone(),
        file_all,
        queue,
        overflow: parts.overflow,
        sinks: sinks.clone(),
        once: OnceMemory::default(),
        unreported: Default::default(),
        dropped: Default::default(),
    });
    let logger = Logger::root(pipeline.clone(), o!());
    let active = Arc::new(Active {
        pipeline,
        gate,
        file_all,
    });
    scoped::activate(active.clone());
    announce(&logger, &info, file_path.as_deref());
    lifecycle::install_panic_hook();
    if parts.signals {
        if let Err(err) = lifecycle::install_signal_handlers() {
            slog::warn!(logger, "cannot handle SIGTERM, SIGINT and SIGHUP: {}; records queued when one arrives may be lost", err;
                "kind" => "signals_unavailable");
        }
    }
    if parts.log_bridge && !bridge::install(&logger, most_verbose) {
        slog::warn!(logger, "records of the `log` crate are not routed to ranklog: another `log` logger was installed first";
            "scope" => Scope::Global, "kind" => "log_bridge_unavailable");
    }
    let sampler = parts.gpu.and_then(|plan| gpu::start(&logger, &info, plan));
    let events = Events::new()
        .gpu(sampler.as_ref().map(Sampler::handle))
        .slow_request(parts.slow_request);
    Ok(Guard {
        logger,
        info,
        file: file_path,
        sinks,
        worker: Some(worker),
        active,
        sampler,
        events,
    })
}

/// The job's first record (global scope; each rank's file keeps its own copy) and, when the
/// local rank is unknown, the warning that says what `local` scope does then.
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
    if !info.local_known {
        slog::warn!(log, "local rank unknown: {} gives none, so `local` records print on every rank \
                          (use RankInfo::from_mpi, or a launcher that sets a local rank)", info.source;
            "scope" => Scope::Global,
            "kind" => "local_rank_unknown",
        );
    }
}
