//! ranklog: the crate under test, set up as an application would.

use std::fs::File;
use std::time::Duration;

use ranklog::{Builder, ColorChoice, GpuMode, Guard, RankInfo};
use slog::{debug, info};

use crate::measure::{self, count_records};
use crate::{Args, Report, ACCEPTED, GATED};

/// How long a flush may take before the run counts as failed.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(60);

/// A builder for `identity`, with nothing this benchmark does not measure: no `log`
/// bridge, no signal handlers, no GPU sampler.
fn builder(identity: (u32, u32, u32, u32)) -> anyhow::Result<Builder> {
    let (rank, size, local_rank, local_size) = identity;
    Ok(Builder::new()
        .rank_info(RankInfo::new(rank, size, local_rank, local_size)?)
        .log_bridge(false)
        .signals(false)
        .gpu(GpuMode::Off))
}

/// The console to `console.log` in `args.dir` (a file standing in for stderr), colour off,
/// no JSONL file.
pub fn console_file(
    args: &Args,
    identity: (u32, u32, u32, u32),
) -> anyhow::Result<(Guard, std::path::PathBuf)> {
    let path = args.dir.join("console.log");
    let guard = builder(identity)?
        .console_writer(File::create(&path)?)
        .color(ColorChoice::Never)
        .build()?;
    Ok((guard, path))
}

/// The per-rank JSONL file in `args.dir`, console off.
pub fn to_file(args: &Args) -> anyhow::Result<Guard> {
    Ok(builder(ACCEPTED)?.no_console().dir(&args.dir).build()?)
}

pub fn run(args: &Args, report: Report) -> anyhow::Result<Report> {
    let n = args.records();
    let mut report = match args.case {
        1 => {
            let (guard, path) = console_file(args, GATED)?;
            let log = guard.logger();
            let b = measure::blocks(
                n,
                |i| info!(log, "step {}", i; "scope" => "global", "loss" => 0.25, "tokens" => i, "phase" => "decode"),
            );
            info!(log, "control"; "scope" => "process", "phase" => "decode");
            drop(log);
            drop(guard);
            measure::written_exactly(&path, 1)?;
            let mut r = report.blocks(b);
            r.note("rank 1 of 4, console to a file; the record's own \"scope\" => \"global\" gates it out.");
            r
        }
        2 => {
            let (guard, path) = console_file(args, GATED)?;
            let log = ranklog::global(&guard.logger());
            let b = measure::blocks(
                n,
                |i| info!(log, "step {}", i; "loss" => 0.25, "tokens" => i, "phase" => "decode"),
            );
            info!(guard.logger(), "control"; "phase" => "decode");
            drop(log);
            drop(guard);
            measure::written_exactly(&path, 1)?;
            let mut r = report.blocks(b);
            r.note("rank 1 of 4, console to a file; logger from ranklog::global(&log), which decides at creation.");
            r
        }
        3 => {
            let (guard, path) = console_file(args, ACCEPTED)?;
            let log = guard.logger();
            let b = measure::blocks(
                n,
                |i| debug!(log, "step {}", i; "loss" => 0.25, "tokens" => i, "phase" => "decode"),
            );
            info!(log, "control"; "phase" => "decode");
            drop(log);
            drop(guard);
            measure::written_exactly(&path, 1)?;
            let mut r = report.blocks(b);
            r.note("rank 0 of 4, console to a file; debug! under the default level info.");
            r
        }
        4 => {
            let guard = to_file(args)?;
            let log = guard.logger();
            let path = guard
                .log_file()
                .expect("a log directory was set")
                .to_owned();
            let p = measure::per_call(
                n,
                |i| info!(log, "step {}", i; "loss" => 0.25, "tokens" => i, "phase" => "decode"),
                |_| flushed(&guard),
            )?;
            drop(log);
            drop(guard);
            let mut r = report.per_call(p, count_records(&path)?);
            r.note(
                "rank 0 of 4, console off, per-rank JSONL file; guard.flush() after each burst.",
            );
            r
        }
        5 => sustained(args, report)?,
        6 => {
            let (guard, path) = console_file(args, ACCEPTED)?;
            let log = guard.logger();
            let p = measure::per_call(
                n,
                |i| info!(log, "step {}", i; "loss" => 0.25, "tokens" => i, "phase" => "decode"),
                |_| flushed(&guard),
            )?;
            drop(log);
            drop(guard);
            let mut r = report.per_call(p, count_records(&path)?);
            r.note("rank 0 of 4, console writer = a File (stderr's stand-in), colour off, no JSONL file.");
            r
        }
        7 => {
            let guard = builder(ACCEPTED)?.console_writer(std::io::sink()).build()?;
            let log = guard.logger();
            ranklog::info_once!(log, "using {} kernels", "flash");
            let mut r = report.blocks(measure::blocks(n, |_| {
                ranklog::info_once!(log, "using {} kernels", "flash")
            }));
            r.note("rank 0 of 4, console to io::sink(); the first hit is printed before timing.");
            r
        }
        _ => unreachable!("clap limits --case to 1..=7"),
    };
    report.note("Default queue of 4096 records, blocking when full.");
    Ok(report)
}

pub fn flushed(guard: &Guard) -> std::io::Result<()> {
    if guard.flush(FLUSH_TIMEOUT) {
        Ok(())
    } else {
        Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "ranklog's flush did not finish in 60 s",
        ))
    }
}

/// Case 5: `threads` producers share `records`; the clock stops when the guard's drop has
/// written everything.
fn sustained(args: &Args, report: Report) -> anyhow::Result<Report> {
    let (records, threads) = (args.records(), args.threads);
    let guard = to_file(args)?;
    let path = guard
        .log_file()
        .expect("a log directory was set")
        .to_owned();
    let log = guard.logger();
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
    r.note("rank 0 of 4, console off, one per-rank JSONL file for all producers.");
    Ok(r)
}
