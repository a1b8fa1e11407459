//! Plain slog as its users set it up: slog-async (blocking, 4096 records, ranklog's default
//! queue) over slog-json or slog-term, with the scope gate a plain-slog user would write.

use std::fmt;
use std::fs::File;
use std::io::BufWriter;
use std::panic::{RefUnwindSafe, UnwindSafe};
use std::time::Duration;

use slog::{debug, info, o, Drain, Key, Level, Logger, OwnedKVList, Record, Serializer, KV};
use slog_async::{Async, AsyncGuard, OverflowStrategy};

use crate::measure::{self, count_records, Tail};
use crate::{Args, Report, ACCEPTED, GATED};

/// ranklog's default queue length, records.
const QUEUE_LEN: usize = 4096;

/// Drops records whose `scope` (the record's own, else its logger's) is not `process` on
/// every rank but the first; errors always pass. What a plain-slog user writes.
struct ScopeGate<D> {
    inner: D,
    rank: u32,
}

/// Finds the first `scope` key among the key-values it is shown.
#[derive(Default)]
struct FindScope {
    found: bool,
    process: bool,
}

impl Serializer for FindScope {
    fn emit_arguments(&mut self, key: Key, val: &fmt::Arguments<'_>) -> slog::Result {
        if !self.found && key == "scope" {
            self.found = true;
            self.process = val.as_str() == Some("process");
        }
        Ok(())
    }

    fn emit_str(&mut self, key: Key, val: &str) -> slog::Result {
        if !self.found && key == "scope" {
            self.found = true;
            self.process = val == "process";
        }
        Ok(())
    }
}

impl<D: Drain> Drain for ScopeGate<D> {
    type Ok = Option<D::Ok>;
    type Err = D::Err;

    fn log(&self, record: &Record<'_>, values: &OwnedKVList) -> Result<Self::Ok, D::Err> {
        if self.rank != 0 && !record.level().is_at_least(Level::Error) {
            let mut scope = FindScope::default();
            let _ = record.kv().serialize(record, &mut scope);
            if !scope.found {
                let _ = values.serialize(record, &mut scope);
            }
            if scope.found && !scope.process {
                return Ok(None);
            }
        }
        self.inner.log(record, values).map(Some)
    }
}

/// The identity every record carries, as the root logger's key-values.
fn root<D>(drain: D, identity: (u32, u32, u32, u32)) -> Logger
where
    D: Drain<Ok = (), Err = slog::Never> + Send + Sync + UnwindSafe + RefUnwindSafe + 'static,
{
    let (rank, size, local_rank, local_size) = identity;
    Logger::root(
        drain,
        o!("rank" => rank, "size" => size, "local_rank" => local_rank,
           "local_size" => local_size, "host" => crate::host(), "pid" => std::process::id()),
    )
}

/// The call site as key-values, for the JSON file (slog-term prints its own).
fn with_location(log: &Logger) -> Logger {
    log.new(o!("file" => slog::FnValue(|r: &Record<'_>| r.file()),
               "line" => slog::FnValue(|r: &Record<'_>| r.line())))
}

/// slog-async, blocking when full, over `drain`.
fn queued<D>(drain: D) -> (Async, AsyncGuard)
where
    D: Drain<Ok = (), Err = slog::Never> + Send + 'static,
{
    Async::new(drain)
        .chan_size(QUEUE_LEN)
        .overflow_strategy(OverflowStrategy::Block)
        .build_with_guard()
}

/// A logger for `identity`: level filter (info), scope gate, queue, `drain`.
fn logger<D>(drain: D, identity: (u32, u32, u32, u32)) -> (Logger, AsyncGuard)
where
    D: Drain<Ok = (), Err = slog::Never> + Send + 'static,
{
    let (queue, guard) = queued(drain);
    let gate = ScopeGate {
        inner: queue.fuse(),
        rank: identity.0,
    };
    let root_drain = slog::LevelFilter::new(gate, Level::Info).fuse();
    (root(root_drain, identity), guard)
}

/// slog-json to a file: one write(2) per record, like the other peers.
fn json(path: &std::path::Path) -> anyhow::Result<impl Drain<Ok = (), Err = slog::Never>> {
    Ok(slog_json::Json::new(BufWriter::new(File::create(path)?))
        .set_flush(true)
        .add_default_keys()
        .build()
        .fuse())
}

/// slog-term's full format, plain, to a file standing in for stderr.
fn term(path: &std::path::Path) -> anyhow::Result<impl Drain<Ok = (), Err = slog::Never>> {
    let decorator = slog_term::PlainSyncDecorator::new(File::create(path)?);
    Ok(slog_term::FullFormat::new(decorator)
        .use_file_location()
        .build()
        .fuse())
}

pub fn run(args: &Args, report: Report) -> anyhow::Result<Report> {
    let n = args.records();
    let console = args.dir.join("console.log");
    let mut report = match args.case {
        1 => {
            let (log, guard) = logger(term(&console)?, GATED);
            let b = measure::blocks(
                n,
                |i| info!(log, "step {}", i; "scope" => "global", "loss" => 0.25, "tokens" => i, "phase" => "decode"),
            );
            info!(log, "control"; "scope" => "process", "phase" => "decode");
            drop(log);
            drop(guard);
            measure::written_exactly(&console, 1)?;
            let mut r = report.blocks(b);
            r.note("rank 1 of 4, slog-term to a file; a ScopeGate drain before the queue serializes the record's key-values, then the logger's, to find \"scope\".");
            r
        }
        2 => {
            let (root, guard) = logger(term(&console)?, GATED);
            let log = root.new(o!("scope" => "global"));
            let b = measure::blocks(
                n,
                |i| info!(log, "step {}", i; "loss" => 0.25, "tokens" => i, "phase" => "decode"),
            );
            info!(root, "control"; "phase" => "decode");
            drop((log, root));
            drop(guard);
            measure::written_exactly(&console, 1)?;
            let mut r = report.blocks(b);
            r.note("rank 1 of 4, slog-term to a file; log.new(o!(\"scope\" => \"global\")): the ScopeGate drain finds the scope among the logger's key-values on every call.");
            r
        }
        3 => {
            let (log, guard) = logger(term(&console)?, ACCEPTED);
            let b = measure::blocks(
                n,
                |i| debug!(log, "step {}", i; "loss" => 0.25, "tokens" => i, "phase" => "decode"),
            );
            info!(log, "control"; "phase" => "decode");
            drop(log);
            drop(guard);
            measure::written_exactly(&console, 1)?;
            let mut r = report.blocks(b);
            r.note("rank 0 of 4, slog-term to a file; slog::LevelFilter at info, the outermost drain (this crate builds slog with max_level_trace, so debug! is not compiled out).");
            r
        }
        4 | 6 => {
            let path = args.dir.join(if args.case == 4 {
                "slog.jsonl"
            } else {
                "console.log"
            });
            let (log, guard) = if args.case == 4 {
                let (log, guard) = logger(json(&path)?, ACCEPTED);
                (with_location(&log), guard)
            } else {
                logger(term(&path)?, ACCEPTED)
            };
            let mut tail = Tail::new(&path)?;
            let p = measure::per_call(
                n,
                |i| info!(log, "step {}", i; "loss" => 0.25, "tokens" => i, "phase" => "decode"),
                |written| tail.wait_for(written, Duration::from_secs(60)),
            )?;
            drop(log);
            drop(guard);
            let mut r = report.per_call(p, count_records(&path)?);
            r.note(if args.case == 4 {
                "slog-json (default keys ts, level, msg; rank, size, local_rank, local_size, host, pid, file, line) over BufWriter<File> flushed per record."
            } else {
                "slog-term FullFormat, PlainSyncDecorator (one write per record) on a File, file location on."
            });
            r.note("No flush call in slog-async: after each burst the harness polls the file until every line is there.");
            r
        }
        5 => sustained(args, report)?,
        7 => report.not_applicable("slog has no once-per-message macro; n/a."),
        _ => unreachable!("clap limits --case to 1..=7"),
    };
    report.note("slog-async: chan_size 4096, OverflowStrategy::Block.");
    Ok(report)
}

/// Case 5: `threads` producers share `records`; the clock stops when the AsyncGuard's drop
/// has joined the writer thread.
fn sustained(args: &Args, report: Report) -> anyhow::Result<Report> {
    let (records, threads) = (args.records(), args.threads);
    let path = args.dir.join("slog.jsonl");
    let (log, guard) = logger(json(&path)?, ACCEPTED);
    let log = with_location(&log);
    let start = measure::producers(records, threads, |share| {
        for i in 0..share {
            let i = std::hint::black_box(i);
            info!(log, "step {}", i; "loss" => 0.25, "tokens" => i, "phase" => "decode");
        }
    });
    drop(log);
    drop(guard);
    let wall = start.elapsed();
    let mut r = report.sustained(wall, count_records(&path)?);
    r.note("slog-json over BufWriter<File> flushed per record, one file for all producers.");
    Ok(r)
}
