//! The `ranklog` command: one readable story from a job's per-rank logs.
//!
//! A thin front end over [`ranklog::analyze`]; `docs/cli.md` is its manual.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use ranklog::analyze::{
    self, AnalyzeError, Filter, FollowOptions, Merge, MergeOptions, PlotOptions, RankSet,
    SummaryOptions, TimeBound, TimeZoneChoice, Warnings,
};

#[path = "ranklog/run.rs"]
mod run;

type Result<T, E = AnalyzeError> = std::result::Result<T, E>;

/// Merges smaller than this never show a progress bar, bytes.
const PROGRESS_MIN_BYTES: u64 = 32 << 20;

#[derive(Parser)]
#[command(
    name = "ranklog",
    version,
    about = "One readable story from a distributed job's per-rank logs",
    long_about = "One readable story from a distributed job's per-rank logs.\n\n\
        Reads the rank-<rank>.jsonl files that ranklog writes (RANKLOG_DIR), including \
        rotated segments (rank-R.jsonl.N, rank-R.N.jsonl), and merges, summarizes or plots \
        them.",
    after_help = "Exit status: 0 done (damaged lines are skipped and reported once on \
        stderr); 1 failed (missing input, no rank files, unreadable file, bad value, \
        cannot draw); 2 bad command line.\n\nSee docs/cli.md for the fields each command reads."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs a job (mpirun, srun, torchrun, ...) with one live console for all its ranks.
    #[command(
        long_about = "Runs COMMAND (mpirun -np 64 ./app, srun -n 512 ./app, torchrun \
        --nproc-per-node 8 app.py) with its ranks logging to a job directory (RANKLOG_DIR) \
        and their own consoles off (RANKLOG_CONSOLE=off); Open MPI is told to set both on \
        every node (OMPI_MCA_mca_base_env_list), Hydra and Slurm pass them on anyway. While \
        the job runs, every rank's file is followed and printed on stderr as one console: \
        records that several ranks logged (same level and message, as merge --collapse \
        decides) print once, [ranks 0-63], within --window of their first appearance; ranks \
        that had not logged one by then are named ([ranks 0-16,18-63 of 64, missing 17]) and \
        get a follow-up line when they do ([rank 17, 41.2 s later]). A rank silent for \
        --quiet-after while others log is named with its host and last record, and ranks \
        without a file by then are named (across nodes DIR must be on a filesystem every \
        node sees). COMMAND's own output passes through unchanged. At the end: the \
        summary's job and stragglers sections and the job directory.",
        after_help = "Exit status: COMMAND's (128 + N when signal N ended it); 1 when \
        COMMAND cannot be started. A Ctrl-C reaches COMMAND; records logged afterwards are \
        still printed.\n\nExamples:\n  ranklog run -- mpirun -np 64 ./app\n  ranklog run \
        --dir logs/job-42 --quiet-after 2m -- srun -n 512 ./app"
    )]
    Run(RunArgs),
    /// Every rank's records in time order, as console lines or JSONL.
    #[command(
        long_about = "Every rank's records in time order (a streaming merge: memory \
        grows with the number of files, not their size), printed like the console prints \
        them (level, time, [rank/size host:local rank], file:line, message, key=value) or, \
        with --json, as the original lines.\n\nWith --collapse, records with the same level \
        and message from several ranks within a window print once, tagged with the ranks \
        that said it: [ranks 0-7], [ranks 0-3,5 of 8], and, when more than half did, who \
        did not: [ranks 0-5,7 of 8, missing 6]. Key-values that differ between the ranks \
        show their range (ms=812..1503) or (varies)."
    )]
    Merge(MergeArgs),
    /// Per-rank and per-GPU tables and the job's stragglers.
    #[command(
        long_about = "Per-rank table (records by level, first and last record, \
        model-load time and GB/s from kind=model_load records, request count, latency \
        p50/p90/p99 and tokens/s from kind=inference records), per-GPU table per node \
        (peak memory, mean and max utilization, energy, from kind=gpu samples) and the \
        job's stragglers: ranks whose load time or median latency is more than \
        --straggler-ratio times the median of the ranks, and more than a floor above it."
    )]
    Summary(SummaryArgs),
    /// GPU memory and utilization over time, with model loads and requests (SVG or PNG).
    #[command(
        long_about = "Draws GPU memory and utilization over time (one panel per \
        node, from kind=gpu samples), with model loads shaded and inference requests \
        ticked, then every rank's model loads and requests, and the requests' latency, \
        all on one time axis. Without GPU samples the picture shows the events alone. \
        SVG needs no font; PNG needs a TrueType font (--font, $RANKLOG_FONT, or DejaVu \
        Sans from fonts-dejavu-core and the like)."
    )]
    Plot(PlotArgs),
    /// Changes the verbosity of a running job's ranks, within a second.
    #[command(
        long_about = "Changes the verbosity of a running job: appends the change to the \
        job directory's control file (DIR/.ranklog-control), which every rank logging to DIR \
        reads every 250 ms; each rank the change names applies it and logs a \
        kind=level_changed record. A LEVEL alone sets the minimum level and drops any \
        RANKLOG_FILTER directives; --filter alone replaces the directives and keeps the \
        level. Across nodes DIR must be on a filesystem every node sees. Ranks started with \
        RANKLOG_CONTROL=0 ignore it.",
        after_help = "Examples:\n  ranklog level debug --ranks 17 logs/job-42\n  \
        ranklog level info logs/job-42\n  ranklog level --filter 'info,my_app::model=trace' logs/job-42"
    )]
    Level(LevelArgs),
    /// Puts the records a killed rank left in its ring into its JSONL file.
    #[command(
        long_about = "Recovers the records that ranks killed by SIGKILL (the OOM killer, \
        Slurm after its KillWait, mpirun after its grace period) had logged but not yet \
        written: every rank keeps its queued records in a memory-mapped ring beside its file \
        (.rank-NNNNN.jsonl.ring), and a ring left behind is a killed rank's. Its records are \
        appended to the rank's file in order, exactly once, marked \"recovered\": true, and \
        the ring is removed. Rings of running ranks are left alone. merge, summary and plot \
        do the same before reading, and so does the next start of a rank on the same file; \
        running it twice adds nothing."
    )]
    Recover(RecoverArgs),
}

#[derive(Args)]
struct RecoverArgs {
    /// Job log directories.
    #[arg(value_name = "DIR", required = true)]
    dirs: Vec<PathBuf>,
}

#[derive(Args)]
struct LevelArgs {
    /// The new minimum level (trace, debug, info, warning, error or critical; may be left
    /// out with --filter), then the job's log directory (its RANKLOG_DIR).
    #[arg(value_name = "[LEVEL] DIR", num_args = 1..=2, required = true)]
    args: Vec<String>,
    /// Per-module directives in RANKLOG_FILTER syntax (info,hyper=warn).
    #[arg(long, value_name = "DIRECTIVES")]
    filter: Option<String>,
    /// Only these ranks: 0,3-5,last (default: every rank).
    #[arg(long, value_name = "LIST")]
    ranks: Option<String>,
}

#[derive(Args)]
struct RunArgs {
    /// The job directory (default: a fresh logs/run-<time>-<pid>).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    #[command(flatten)]
    live: LiveArgs,
    /// The job's command and its arguments.
    #[arg(value_name = "COMMAND", required = true, last = true)]
    command: Vec<std::ffi::OsString>,
}

/// The options of the live view (`run`, `merge --follow`).
#[derive(Args)]
struct LiveArgs {
    /// Longest time a record waits for the other ranks' before it prints (500ms, 1s).
    #[arg(long = "window", value_name = "DURATION", default_value = "1s",
        value_parser = parse_window)]
    live_window: i64,
    /// Name a rank silent this long while others log, and ranks without a file this long
    /// after the start.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_window)]
    quiet_after: i64,
    /// Print times in UTC instead of local time.
    #[arg(long = "utc")]
    live_utc: bool,
}

impl LiveArgs {
    fn options(&self, color: bool) -> FollowOptions {
        let micros = |us: i64| std::time::Duration::from_micros(us.max(0).unsigned_abs());
        let mut options = FollowOptions::default();
        options.window = micros(self.live_window);
        options.quiet_after = micros(self.quiet_after);
        options.time_zone = zone(self.live_utc);
        options.color = color;
        options
    }
}

#[derive(Args)]
#[command(group(ArgGroup::new("grouping").args(["collapse", "follow"]).multiple(true)))]
struct MergeArgs {
    /// Job log directories (their rank-*.jsonl files) or single files.
    #[arg(value_name = "DIR", required = true)]
    inputs: Vec<PathBuf>,
    /// Print the original JSONL lines instead of console lines.
    #[arg(long)]
    json: bool,
    /// Print records with the same level and message from several ranks once.
    #[arg(long)]
    collapse: bool,
    /// Collapse records within this time after the first of them (500ms, 1s, 2m); with
    /// --follow, the longest a record waits for the other ranks'.
    #[arg(long, value_name = "DURATION", default_value = "1s", requires = "grouping",
        value_parser = parse_window)]
    window: i64,
    /// Follow a running job's directory: the live, collapsed view of `ranklog run`, until
    /// interrupted (Ctrl-C).
    #[arg(long, conflicts_with_all = ["json", "ranks", "level", "scope", "grep", "since",
        "until", "kind", "stats"])]
    follow: bool,
    /// With --follow: name a rank silent this long while others log, and ranks without a
    /// file this long after the start.
    #[arg(long, value_name = "DURATION", default_value = "60s", requires = "follow",
        value_parser = parse_window)]
    quiet_after: i64,
    /// Only these ranks: single ranks, ranges and last (the job's last rank, from the
    /// records' world size), comma-separated (0,3-5,last).
    #[arg(long, value_name = "LIST", value_parser = parse_ranks)]
    ranks: Option<RankSet>,
    /// Only records at this level or more severe: trace, debug, info, warning, error,
    /// critical.
    #[arg(long, value_name = "LEVEL", value_parser = parse_level)]
    level: Option<slog::Level>,
    /// Only records of these scopes (process, local, global, ...), comma-separated.
    #[arg(long, value_name = "SCOPE", value_delimiter = ',')]
    scope: Vec<String>,
    /// Only records whose message or a string key-value contains TEXT (plain text,
    /// case-sensitive; not a regular expression).
    #[arg(long, value_name = "TEXT")]
    grep: Option<String>,
    /// Only records at or after TIME: RFC 3339 (2026-11-21T04:24:06Z) or a duration after
    /// the first record (90s, 1.5m, 500ms).
    #[arg(long, value_name = "TIME", value_parser = parse_bound)]
    since: Option<TimeBound>,
    /// Only records at or before TIME (same forms as --since).
    #[arg(long, value_name = "TIME", value_parser = parse_bound)]
    until: Option<TimeBound>,
    /// Only records whose kind key-value is one of these (model_load, inference, gpu,
    /// job_start, ...), comma-separated.
    #[arg(long, value_name = "KIND", value_delimiter = ',')]
    kind: Vec<String>,
    /// Print times in UTC instead of local time.
    #[arg(long)]
    utc: bool,
    /// Colour console lines: auto (when stdout is a terminal and NO_COLOR is unset),
    /// always, never.
    #[arg(long, value_name = "WHEN", default_value = "auto")]
    color: ColorWhen,
    /// Never show the progress bar (shown on a terminal for merges over 32 MiB).
    #[arg(long)]
    no_progress: bool,
    /// Print on stderr how many records were read and written, and how fast.
    #[arg(long)]
    stats: bool,
    /// Threads that parse and format records beside the merging one: 0 for one per core
    /// (at most 4), 1 for none.
    #[arg(long, value_name = "N", default_value_t = 0)]
    threads: usize,
}

#[derive(Clone, Copy, ValueEnum)]
enum ColorWhen {
    Auto,
    Always,
    Never,
}

#[derive(Args)]
struct SummaryArgs {
    /// Job log directories (their rank-*.jsonl files) or single files.
    #[arg(value_name = "DIR", required = true)]
    inputs: Vec<PathBuf>,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    json: bool,
    /// Print times in UTC instead of local time.
    #[arg(long)]
    utc: bool,
    /// A straggler takes more than this many times the median of the ranks.
    #[arg(long, value_name = "RATIO", default_value_t = 1.5)]
    straggler_ratio: f64,
    /// ...and its model load takes this many milliseconds more than the median.
    #[arg(long, value_name = "MS", default_value_t = 100.0)]
    load_floor_ms: f64,
    /// ...or its median inference latency is this many milliseconds above the median.
    #[arg(long, value_name = "MS", default_value_t = 5.0)]
    latency_floor_ms: f64,
}

#[derive(Args)]
struct PlotArgs {
    /// Job log directories (their rank-*.jsonl files) or single files.
    #[arg(value_name = "DIR", required = true)]
    inputs: Vec<PathBuf>,
    /// The picture to write: FILE.svg or FILE.png.
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,
    /// Width of the picture, pixels; the height follows from the panels.
    #[arg(long, value_name = "PX", default_value_t = 1400)]
    width: u32,
    /// TrueType font for a PNG's text (default: $RANKLOG_FONT, then DejaVu Sans,
    /// Liberation Sans, FreeSans or Arial where installed).
    #[arg(long, value_name = "FILE.ttf")]
    font: Option<PathBuf>,
}

fn parse_ranks(text: &str) -> Result<RankSet, String> {
    text.parse().map_err(|e: AnalyzeError| e.to_string())
}

fn parse_bound(text: &str) -> Result<TimeBound, String> {
    text.parse().map_err(|e: AnalyzeError| e.to_string())
}

fn parse_level(text: &str) -> Result<slog::Level, String> {
    analyze::parse_level(text)
        .ok_or_else(|| "expected trace, debug, info, warning, error or critical".to_owned())
}

fn parse_window(text: &str) -> Result<i64, String> {
    analyze::parse_duration_us(text)
        .ok_or_else(|| "expected a duration such as 500ms, 1s or 2m".to_owned())
}

fn zone(utc: bool) -> TimeZoneChoice {
    if utc {
        TimeZoneChoice::Utc
    } else {
        TimeZoneChoice::Local
    }
}

/// Whether console lines are coloured: `--color`, and for `auto` a terminal and no
/// `NO_COLOR`.
fn color(when: ColorWhen, json: bool, terminal: bool) -> bool {
    match when {
        ColorWhen::Always => true,
        ColorWhen::Never => false,
        ColorWhen::Auto => {
            !json && terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

fn warn_all(warnings: &Warnings) {
    for message in warnings.messages() {
        eprintln!("ranklog: warning: {message}");
    }
}

fn merge(args: MergeArgs) -> Result<()> {
    if args.follow {
        let [dir] = args.inputs.as_slice() else {
            return Err(AnalyzeError::InvalidArgument {
                option: "--follow",
                value: format!("{} inputs", args.inputs.len()),
                reason: "follow one job directory".to_owned(),
            });
        };
        let live = LiveArgs {
            live_window: args.window,
            quiet_after: args.quiet_after,
            live_utc: args.utc,
        };
        let color = color(args.color, false, std::io::stdout().is_terminal());
        return run::follow(dir, live.options(color));
    }
    let ranks = match args.ranks {
        // `last` comes from the world size in each rank's first record: a first look at
        // every file, then the merge opens only the ranks kept.
        Some(set) if set.needs_world_size() => {
            let size = Merge::open(&args.inputs, &|_| true)?.world_size();
            Some(set.resolve(size)?)
        }
        ranks => ranks,
    };
    let keep = |rank: u32| ranks.as_ref().is_none_or(|set| set.contains(rank));
    let mut merge = Merge::open(&args.inputs, &keep)?;
    let mut filter = Filter::default();
    filter.ranks = ranks.clone();
    filter.min_level = args.level;
    filter.scopes = args.scope;
    filter.grep = args.grep;
    filter.since = args.since;
    filter.until = args.until;
    filter.kinds = args.kind;
    let stdout = std::io::stdout();
    let mut options = MergeOptions::default();
    options.filter = filter;
    options.json = args.json;
    options.collapse_window_us = args.collapse.then_some(args.window);
    options.time_zone = zone(args.utc);
    options.threads = args.threads;
    options.color = color(args.color, args.json, stdout.is_terminal());
    let total = merge.progress().bytes_total;
    let bar = (!args.no_progress && total >= PROGRESS_MIN_BYTES && std::io::stderr().is_terminal())
        .then(|| {
            let bar = ProgressBar::new(total);
            bar.set_style(
                ProgressStyle::with_template(
                    "merging {bar:40} {binary_bytes}/{binary_total_bytes} \
                     {binary_bytes_per_sec} eta {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        });
    let started = Instant::now();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let stats = analyze::print_merged(&mut merge, &options, &mut out, &mut |p| {
        if let Some(bar) = &bar {
            bar.set_position(p.bytes_read);
        }
    });
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let stats = stats?;
    out.flush().map_err(AnalyzeError::Output)?;
    warn_all(merge.warnings());
    if args.stats {
        let secs = started.elapsed().as_secs_f64();
        eprintln!(
            "ranklog: {} records read from {} streams ({:.1} MiB) in {secs:.3} s: {:.0} \
             records/s; {} kept, {} written",
            stats.records_read,
            merge.streams(),
            merge.progress().bytes_read as f64 / f64::from(1u32 << 20),
            stats.records_read as f64 / secs.max(1e-9),
            stats.records_kept,
            stats.records_written
        );
    }
    Ok(())
}

fn summary(args: SummaryArgs) -> Result<()> {
    let mut options = SummaryOptions::default();
    options.straggler_ratio = args.straggler_ratio;
    options.load_floor_ms = args.load_floor_ms;
    options.latency_floor_ms = args.latency_floor_ms;
    let summary = analyze::summarize(&args.inputs, options)?;
    let mut out = std::io::stdout().lock();
    let written = if args.json {
        serde_json::to_writer_pretty(&mut out, &summary.to_json())
            .map_err(std::io::Error::from)
            .and_then(|()| out.write_all(b"\n"))
    } else {
        out.write_all(summary.to_text(zone(args.utc)).as_bytes())
    };
    written
        .and_then(|()| out.flush())
        .map_err(AnalyzeError::Output)?;
    warn_all(&summary.warnings);
    Ok(())
}

fn plot(args: PlotArgs) -> Result<()> {
    let mut options = PlotOptions::default();
    options.width_px = args.width;
    options.font = args.font;
    let report = analyze::plot(&args.inputs, &args.output, &options)?;
    warn_all(&report.warnings);
    if report.gpu_nodes == 0 {
        eprintln!(
            "ranklog: note: no GPU samples (kind=gpu records) in these logs; the picture \
             shows model loads and inference requests only"
        );
    }
    eprintln!(
        "ranklog: wrote {} ({}x{} px): {} GPUs on {} nodes ({} samples), {} model loads, \
         {} inference requests",
        args.output.display(),
        report.size_px.0,
        report.size_px.1,
        report.gpus,
        report.gpu_nodes,
        report.gpu_samples,
        report.model_loads,
        report.inference_requests
    );
    Ok(())
}

/// Appends the change to the job's control file.
fn level(args: LevelArgs) -> Result<()> {
    let invalid =
        |option: &'static str, value: &str, reason: String| AnalyzeError::InvalidArgument {
            option,
            value: value.to_owned(),
            reason,
        };
    let (level, dir) = match args.args.as_slice() {
        [level, dir] => {
            let level = parse_level(level).map_err(|reason| invalid("LEVEL", level, reason))?;
            (Some(level), PathBuf::from(dir))
        }
        [dir] if args.filter.is_some() => (None, PathBuf::from(dir)),
        [dir] => {
            return Err(invalid(
                "LEVEL",
                "",
                format!(
                    "give a level before {dir} (e.g. `ranklog level debug {dir}`), or --filter"
                ),
            ))
        }
        _ => unreachable!("clap takes one or two values"),
    };
    if !dir.is_dir() {
        return Err(AnalyzeError::NotFound { path: dir });
    }
    let change =
        ranklog::control::LevelChange::new(level, args.filter.as_deref(), args.ranks.as_deref())
            .map_err(|e| match e {
                ranklog::Error::InvalidSetting { value, reason, .. } => {
                    let option = if args.ranks.as_deref() == Some(value.as_str()) {
                        "--ranks"
                    } else {
                        "--filter"
                    };
                    invalid(option, &value, reason)
                }
                other => invalid("LEVEL", "", other.to_string()),
            })?;
    change
        .append_to(&dir)
        .map_err(|e| invalid("DIR", &dir.display().to_string(), e.to_string()))?;
    let who = args
        .ranks
        .as_deref()
        .map_or_else(|| "every rank".to_owned(), |list| format!("ranks {list}"));
    eprintln!(
        "ranklog: asked {who} logging to {} to change verbosity; each logs kind=level_changed when it applies it",
        dir.display()
    );
    Ok(())
}

/// Recovers every killed rank's ring in the directories, saying what it did.
fn recover(args: RecoverArgs) -> Result<()> {
    for dir in &args.dirs {
        if !dir.is_dir() {
            return Err(AnalyzeError::NotFound { path: dir.clone() });
        }
        let done = ranklog::recover(dir).map_err(|e| AnalyzeError::InvalidArgument {
            option: "DIR",
            value: dir.display().to_string(),
            reason: ranklog::ErrorChain(&e).to_string(),
        })?;
        if done.is_empty() {
            println!("{}: nothing to recover", dir.display());
        }
        for r in done {
            let damaged = if r.damaged_tail {
                " (the ring ended in a record being copied when the rank died: skipped)"
            } else {
                ""
            };
            println!(
                "{}: {} records recovered{damaged}",
                r.file.display(),
                r.records
            );
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => {
            let color = color(ColorWhen::Auto, false, std::io::stderr().is_terminal());
            let run = run::Run {
                dir: args.dir,
                command: args.command,
                follow: args.live.options(color),
            };
            match run::run(run) {
                Ok(code) => return code,
                Err(err) => Err(err),
            }
        }
        Command::Merge(args) => merge(args),
        Command::Summary(args) => summary(args),
        Command::Plot(args) => plot(args),
        Command::Level(args) => level(args),
        Command::Recover(args) => recover(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // `ranklog merge DIR | head`: the reader has all it wanted.
        Err(AnalyzeError::Output(err)) if err.kind() == std::io::ErrorKind::BrokenPipe => {
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("ranklog: error: {err}");
            ExitCode::FAILURE
        }
    }
}
