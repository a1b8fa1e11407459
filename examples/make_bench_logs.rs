//! Writes a large job's logs for measuring `ranklog merge`: RANKS ranks (threads, each
//! with its own real logger, as in a job) log RECORDS records each, interleaved in time,
//! as fast as they can or, with RATE, at RATE records a second each (paced every 100
//! records), as a running job does for `ranklog merge --follow` (`scripts/bench_live.sh`).
//!
//! ```text
//! cargo run --release --example make_bench_logs -- /tmp/ranklog-bench 8 1000000
//! /usr/bin/time -v target/release/ranklog merge --json --stats /tmp/ranklog-bench >/dev/null
//! cargo run --release --example make_bench_logs -- /tmp/ranklog-live 64 400000 20000
//! ```
//!
//! Each record is a training-step line of about 300 bytes with four key-values; the
//! directory is emptied first. `docs/cli.md` ("Performance") has the measured figures.

use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use slog::info;

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: make_bench_logs DIR [RANKS] [RECORDS] [RATE (records/s per rank)]";
    let dir = PathBuf::from(args.next().context(usage)?);
    let ranks: u32 = args.next().map_or(Ok(8), |a| a.parse()).context(usage)?;
    let records: u64 = args
        .next()
        .map_or(Ok(1_000_000), |a| a.parse())
        .context(usage)?;
    let rate: Option<f64> = args.next().map(|a| a.parse()).transpose().context(usage)?;
    ensure!(ranks > 0, "{usage}: RANKS must be at least 1");
    ensure!(
        rate.is_none_or(|r| r > 0.0),
        "{usage}: RATE must be above 0 records/s"
    );
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    let started = Instant::now();
    let guards = (0..ranks)
        .map(|rank| {
            let info = ranklog::RankInfo::new(rank, ranks, rank % 4, 4.min(ranks))?;
            Ok(ranklog::Builder::new()
                .rank_info(info)
                .dir(&dir)
                .no_console()
                .build()?)
        })
        .collect::<Result<Vec<_>>>()?;
    thread::scope(|s| {
        for guard in &guards {
            let log = guard.logger();
            s.spawn(move || {
                for step in 0..records {
                    // With a rate, every 100 records wait for the time they are due.
                    if let Some(rate) = rate.filter(|_| step % 100 == 0) {
                        let due = started + Duration::from_secs_f64(step as f64 / rate);
                        thread::sleep(due.saturating_duration_since(Instant::now()));
                    }
                    info!(log, "step {} done", step;
                        "kind" => "train", "step" => step, "loss" => 1.0 / (step + 1) as f64,
                        "tokens" => 4096u64);
                }
            });
        }
    });
    drop(guards);
    println!(
        "{} records in {} files under {} in {:.1} s",
        u64::from(ranks) * records,
        ranks,
        dir.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
