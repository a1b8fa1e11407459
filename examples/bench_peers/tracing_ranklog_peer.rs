//! tracing through ranklog (feature `tracing`): the ranklog peer's logger, with `tracing`
//! events entering it through `Guard::tracing_layer()` on a registry subscriber. Cases 1, 3
//! and 4 only: the gated-out, the level-disabled and the accepted record.

use tracing::{debug, info};
use tracing_subscriber::layer::SubscriberExt;

use crate::measure::{self, count_records};
use crate::ranklog_peer::{console_file, flushed, to_file};
use crate::{Args, Report, ACCEPTED, GATED};

/// The process-wide subscriber: a registry with ranklog's layer alone.
fn install(guard: &ranklog::Guard) -> anyhow::Result<()> {
    tracing::subscriber::set_global_default(
        tracing_subscriber::registry().with(guard.tracing_layer()),
    )?;
    Ok(())
}

pub fn run(args: &Args, report: Report) -> anyhow::Result<Report> {
    let n = args.records();
    let mut report = match args.case {
        1 => {
            let (guard, path) = console_file(args, GATED)?;
            install(&guard)?;
            let b = measure::blocks(n, |i| {
                info!(
                    scope = "global",
                    loss = 0.25,
                    tokens = i,
                    phase = "decode",
                    "step {}",
                    i
                )
            });
            info!(scope = "process", phase = "decode", "control");
            drop(guard);
            measure::written_exactly(&path, 1)?;
            let mut r = report.blocks(b);
            r.note("rank 1 of 4, console to a file; the event's own scope = \"global\" gates it out in ranklog's gate (the call site itself is wanted: its interest is cached as always).");
            r
        }
        3 => {
            let (guard, path) = console_file(args, ACCEPTED)?;
            install(&guard)?;
            let b = measure::blocks(n, |i| {
                debug!(loss = 0.25, tokens = i, phase = "decode", "step {}", i)
            });
            info!(phase = "decode", "control");
            drop(guard);
            measure::written_exactly(&path, 1)?;
            let mut r = report.blocks(b);
            r.note("rank 0 of 4, console to a file; debug! under ranklog's default level info: the layer's max-level hint stops it at LevelFilter::current().");
            r
        }
        4 => {
            let guard = to_file(args)?;
            install(&guard)?;
            let path = guard
                .log_file()
                .expect("a log directory was set")
                .to_owned();
            let p = measure::per_call(
                n,
                |i| info!(loss = 0.25, tokens = i, phase = "decode", "step {}", i),
                |_| flushed(&guard),
            )?;
            drop(guard);
            let mut r = report.per_call(p, count_records(&path)?);
            r.note("rank 0 of 4, console off, per-rank JSONL file; guard.flush() after each burst; no span entered.");
            r
        }
        _ => report.not_applicable("tracing through ranklog is measured in cases 1, 3 and 4 only."),
    };
    report.note("registry().with(guard.tracing_layer()); ranklog's default queue of 4096 records, blocking when full.");
    Ok(report)
}
