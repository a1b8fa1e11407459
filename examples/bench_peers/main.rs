//! Side by side: what ranklog, slog + slog-async and tracing cost on the same work.
//!
//! One (peer, case) per process, so that the peak resident set belongs to that run alone;
//! prints one JSON line of results on stdout. `scripts/bench.sh` runs every combination,
//! the Python peer (`scripts/bench_peers.py`) next to them, and writes
//! `target/bench/report.md`; `docs/bench.md` says what each case measures.
//!
//! ```text
//! bench_peers --peer ranklog|slog-async|tracing|tracing-ranklog --case 1..7 [--threads N] [--records N] --dir DIR
//! ```
//!
//! Cases: 1 a record gated out by its own scope (rank 1 of 4, `"scope" => "global"`);
//! 2 the same through a logger bound to the scope at creation; 3 a level-disabled record;
//! 4 an accepted record with 3 key-values to the JSONL file, on the caller's thread;
//! 5 sustained throughput to the JSONL file with `--threads` producers, and records lost;
//! 6 the console format, to a file standing in for stderr; 7 `*_once` after its first hit.

mod measure;
mod ranklog_peer;
mod slog_peer;
mod tracing_peer;
#[cfg(feature = "tracing")]
mod tracing_ranklog_peer;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use serde::Serialize;

#[global_allocator]
static ALLOC: measure::CountingAlloc = measure::CountingAlloc;

/// The loggers compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Peer {
    /// This crate.
    Ranklog,
    /// slog with slog-async over slog-json / slog-term.
    SlogAsync,
    /// tracing-subscriber's fmt over tracing-appender's non-blocking writer.
    Tracing,
    /// tracing events through ranklog (`Guard::tracing_layer()`; cases 1, 3 and 4; needs
    /// the feature `tracing`).
    TracingRanklog,
}

impl Peer {
    fn name(self) -> &'static str {
        match self {
            Peer::Ranklog => "ranklog",
            Peer::SlogAsync => "slog-async",
            Peer::Tracing => "tracing",
            Peer::TracingRanklog => "tracing-ranklog",
        }
    }
}

/// One (peer, case) run.
#[derive(Parser, Debug)]
#[command(about = "One (peer, case) of the side-by-side logging benchmark; one JSON line out")]
pub struct Args {
    /// Which logger.
    #[arg(long, value_enum)]
    pub peer: Peer,
    /// Which case, 1 to 7 (see docs/bench.md).
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=7))]
    pub case: u8,
    /// Producer threads (case 5).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=64))]
    pub threads: u64,
    /// Calls (cases 1-3, 7; default 1 000 000), records (4, 6; default 102 400) or records
    /// in all threads together (5; default 2 000 000).
    #[arg(long)]
    pub records: Option<u64>,
    /// Where the run writes its files (created if missing; left for the caller to remove).
    #[arg(long)]
    pub dir: PathBuf,
    /// A label copied into the JSON line, for the report's grouping (e.g. `5-burst`).
    #[arg(long)]
    pub tag: Option<String>,
}

impl Args {
    /// `--records`, or the case's default.
    pub fn records(&self) -> u64 {
        self.records.unwrap_or(match self.case {
            4 | 6 => 100 * measure::BURST,
            5 => 2_000_000,
            _ => 1_000_000,
        })
    }
}

/// The JSON line: one (peer, case) run. Fields that do not apply are null.
#[derive(Serialize, Debug, Default)]
pub struct Report {
    pub peer: &'static str,
    pub tag: Option<String>,
    pub case: u8,
    pub threads: u64,
    pub records: u64,
    pub p50_ns: Option<f64>,
    pub p99_ns: Option<f64>,
    pub records_per_s: Option<f64>,
    pub bytes_per_s: Option<f64>,
    pub lost: Option<i64>,
    pub peak_rss_bytes: Option<u64>,
    /// Heap allocations on the caller's thread per call (cases 1-4, 6, 7).
    pub allocs_per_call: Option<f64>,
    /// Median cost of an empty timed section, already subtracted (cases 4, 6), ns.
    pub timer_overhead_ns: Option<f64>,
    /// Wall time of the measured part, s.
    pub wall_s: Option<f64>,
    /// How the numbers were taken.
    pub method: &'static str,
    pub notes: String,
}

impl Report {
    fn new(args: &Args) -> Report {
        Report {
            peer: args.peer.name(),
            tag: args.tag.clone(),
            case: args.case,
            threads: if args.case == 5 { args.threads } else { 1 },
            records: args.records(),
            ..Report::default()
        }
    }

    /// Fills in the figures of [`measure::blocks`].
    pub fn blocks(mut self, b: measure::Blocks) -> Report {
        self.p50_ns = Some(b.p50_ns);
        self.p99_ns = Some(b.p99_ns);
        self.allocs_per_call = Some(b.allocs_per_call);
        self.method = "blocks of 1000 calls timed with Instant; p50/p99 over blocks";
        self
    }

    /// Fills in the figures of [`measure::per_call`] and the file it wrote.
    pub fn per_call(mut self, p: measure::PerCall, file: measure::FileCount) -> Report {
        let busy = p.busy.as_secs_f64();
        self.p50_ns = Some(p.p50_ns);
        self.p99_ns = Some(p.p99_ns);
        self.timer_overhead_ns = Some(p.timer_overhead_ns);
        self.allocs_per_call = Some(p.allocs_per_call);
        self.records_per_s = Some(self.records as f64 / busy);
        self.bytes_per_s = Some(file.bytes as f64 / busy);
        self.lost = Some(self.records as i64 - file.records as i64);
        self.wall_s = Some(busy);
        self.method = "each call timed with Instant, timer overhead subtracted; bursts of \
                       1024 then wait until written; records/s and bytes/s over the bursts \
                       until written";
        self
    }

    /// Fills in a sustained run: `wall` from the first record until all were written.
    pub fn sustained(mut self, wall: Duration, file: measure::FileCount) -> Report {
        let wall = wall.as_secs_f64();
        self.records_per_s = Some(self.records as f64 / wall);
        self.bytes_per_s = Some(file.bytes as f64 / wall);
        self.lost = Some(self.records as i64 - file.records as i64);
        self.wall_s = Some(wall);
        self.method = "wall time from the first record until the logger's guard was dropped \
                       (everything written); lost = records - lines in the file";
        self
    }

    /// A case this peer has no feature for.
    pub fn not_applicable(mut self, why: &str) -> Report {
        self.method = "n/a";
        self.note(why);
        self
    }

    /// Adds a sentence to the notes.
    pub fn note(&mut self, text: &str) {
        if !self.notes.is_empty() {
            self.notes.push(' ');
        }
        self.notes.push_str(text);
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    std::fs::create_dir_all(&args.dir)?;
    let report = Report::new(&args);
    let mut report = match args.peer {
        Peer::Ranklog => ranklog_peer::run(&args, report)?,
        Peer::SlogAsync => slog_peer::run(&args, report)?,
        Peer::Tracing => tracing_peer::run(&args, report)?,
        #[cfg(feature = "tracing")]
        Peer::TracingRanklog => tracing_ranklog_peer::run(&args, report)?,
        #[cfg(not(feature = "tracing"))]
        Peer::TracingRanklog => anyhow::bail!(
            "--peer tracing-ranklog needs ranklog's feature tracing: \
             cargo build --release --features tracing --example bench_peers"
        ),
    };
    if (1..=3).contains(&args.case) {
        report.note(
            "Checked after the run: none of the timed records reached the output, and a \
             control record that should print did.",
        );
    }
    report.peak_rss_bytes = measure::peak_rss_bytes();
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}

/// The identity of the gated cases: rank 1 of 4, second on its node of 2.
pub const GATED: (u32, u32, u32, u32) = (1, 4, 1, 2);
/// The identity of the accepted cases: rank 0 of 4.
pub const ACCEPTED: (u32, u32, u32, u32) = (0, 4, 0, 2);

/// The host name every peer puts in its records.
pub fn host() -> String {
    hostname::get()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "unknown".into())
}
