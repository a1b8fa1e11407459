//! tracing as its users set it up: tracing-subscriber's fmt (JSON for the file, plain text
//! with ANSI off for the console) over tracing-appender's non-blocking writer, made to block
//! when full (`lossy(false)`; its default drops), with a `Targets` filter for scopes.

use std::fs::File;
use std::io::Write;
use std::time::Duration;

use tracing::{debug, info};
use tracing_appender::non_blocking::{NonBlocking, NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;

use crate::measure::{self, count_records, Tail};
use crate::{Args, Report, ACCEPTED, GATED};

/// Scope as a target: on every rank but the first, records with target `global` pass only
/// at error level. Decided per call site, once (tracing's callsite interest cache).
fn targets(rank: u32) -> Targets {
    let t = Targets::new().with_default(LevelFilter::TRACE);
    if rank == 0 {
        t
    } else {
        t.with_target("global", LevelFilter::ERROR)
    }
}

/// tracing-appender's writer thread over `out`, blocking when its queue is full.
fn non_blocking(out: impl Write + Send + 'static) -> (NonBlocking, WorkerGuard) {
    NonBlockingBuilder::default().lossy(false).finish(out)
}

/// The process-wide subscriber: JSON lines (timestamp, level, fields, target, file, line
/// and the rank span's fields) to `writer`, level info.
fn install_json(writer: NonBlocking, rank: u32) -> anyhow::Result<()> {
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_writer(writer)
        .with_file(true)
        .with_line_number(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_max_level(LevelFilter::INFO)
        .finish()
        .with(targets(rank));
    tracing::subscriber::set_global_default(subscriber)?;
    Ok(())
}

/// The process-wide subscriber: fmt's default text format, ANSI off, file and line on.
fn install_text(writer: NonBlocking, rank: u32) -> anyhow::Result<()> {
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(writer)
        .with_file(true)
        .with_line_number(true)
        .with_max_level(LevelFilter::INFO)
        .finish()
        .with(targets(rank));
    tracing::subscriber::set_global_default(subscriber)?;
    Ok(())
}

/// The identity every record carries: a span entered on each producer thread.
fn rank_span(identity: (u32, u32, u32, u32)) -> tracing::Span {
    let (rank, size, local_rank, local_size) = identity;
    tracing::info_span!(
        "rank",
        rank,
        size,
        local_rank,
        local_size,
        host = %crate::host(),
        pid = std::process::id()
    )
}

pub fn run(args: &Args, report: Report) -> anyhow::Result<Report> {
    let n = args.records();
    let mut report = match args.case {
        1 | 2 => {
            let console = args.dir.join("console.log");
            let (writer, guard) = non_blocking(File::create(&console)?);
            install_text(writer, GATED.0)?;
            let span = rank_span(GATED).entered();
            let b = measure::blocks(
                n,
                |i| info!(target: "global", loss = 0.25, tokens = i, phase = "decode", "step {}", i),
            );
            info!(phase = "decode", "control");
            drop(span);
            drop(guard);
            measure::written_exactly(&console, 1)?;
            let mut r = report.blocks(b);
            r.note("rank 1 of 4, fmt text to a file; scope as the target (target: \"global\") and a Targets filter (global=error on ranks > 0): the call site's interest is cached after the first call.");
            if args.case == 2 {
                r.note("tracing has no logger objects to bind a scope to: the target is fixed at the call site, so case 2 is the same call as case 1.");
            }
            r
        }
        3 => {
            let console = args.dir.join("console.log");
            let (writer, guard) = non_blocking(File::create(&console)?);
            install_text(writer, ACCEPTED.0)?;
            let span = rank_span(ACCEPTED).entered();
            let b = measure::blocks(n, |i| {
                debug!(loss = 0.25, tokens = i, phase = "decode", "step {}", i)
            });
            info!(phase = "decode", "control");
            drop(span);
            drop(guard);
            measure::written_exactly(&console, 1)?;
            let mut r = report.blocks(b);
            r.note("rank 0 of 4, fmt text to a file; LevelFilter::INFO through fmt's with_max_level (the max-level hint: debug! stops at LevelFilter::current()); no EnvFilter.");
            r
        }
        4 | 6 => {
            let path = args.dir.join(if args.case == 4 {
                "tracing.jsonl"
            } else {
                "console.log"
            });
            let (writer, guard) = non_blocking(File::create(&path)?);
            if args.case == 4 {
                install_json(writer, ACCEPTED.0)?;
            } else {
                install_text(writer, ACCEPTED.0)?;
            }
            let span = rank_span(ACCEPTED).entered();
            let mut tail = Tail::new(&path)?;
            let p = measure::per_call(
                n,
                |i| info!(loss = 0.25, tokens = i, phase = "decode", "step {}", i),
                |written| tail.wait_for(written, Duration::from_secs(60)),
            )?;
            drop(span);
            drop(guard);
            let mut r = report.per_call(p, count_records(&path)?);
            r.note(if args.case == 4 {
                "fmt().json() with file, line and the rank span (rank, size, local_rank, local_size, host, pid), to a File."
            } else {
                "fmt() text format, ANSI off, file and line, to a File."
            });
            r.note("No flush call in tracing-appender: after each burst the harness polls the file until every line is there.");
            r
        }
        5 => sustained(args, report)?,
        7 => report.not_applicable("tracing has no once-per-message macro; n/a."),
        _ => unreachable!("clap limits --case to 1..=7"),
    };
    report.note("tracing-appender non_blocking with lossy(false) (its default, lossy, drops records when its queue of 128000 lines is full), default queue length.");
    Ok(report)
}

/// Case 5: `threads` producers share `records`; the clock stops when the WorkerGuard's drop
/// returns. That drop waits at most 100 ms to queue its shutdown message and 1 s for the
/// writer, so records still queued after that are lost when the process exits: they are
/// counted right after the drop, as an application's exit would see them.
fn sustained(args: &Args, report: Report) -> anyhow::Result<Report> {
    let (records, threads) = (args.records(), args.threads);
    let path = args.dir.join("tracing.jsonl");
    let (writer, guard) = non_blocking(File::create(&path)?);
    install_json(writer, ACCEPTED.0)?;
    let span = rank_span(ACCEPTED);
    let start = measure::producers(records, threads, |share| {
        let _span = span.clone().entered();
        for i in 0..share {
            let i = std::hint::black_box(i);
            info!(loss = 0.25, tokens = i, phase = "decode", "step {}", i);
        }
    });
    drop(guard);
    let wall = start.elapsed();
    let mut r = report.sustained(wall, count_records(&path)?);
    if r.lost.unwrap_or(0) > 0 {
        std::thread::sleep(Duration::from_secs(2));
        let later = count_records(&path)?.records;
        r.note(&format!(
            "The WorkerGuard's drop returned with records still queued: {later} lines were in the file 2 s later."
        ));
    }
    r.note("fmt().json() to a File, one file for all producers.");
    Ok(r)
}
