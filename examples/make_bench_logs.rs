//! Writes a large job's logs for measuring `ranklog merge`: RANKS ranks (threads, each
//! with its own real logger, as in a job) log RECORDS records each, interleaved in time.
//!
//! ```text
//! cargo run --release --example make_bench_logs -- /tmp/ranklog-bench 8 1000000
//! /usr/bin/time -v target/release/ranklog merge --json --stats /tmp/ranklog-bench >/dev/null
//! ```
//!
//! Each record is a training-step line of about 300 bytes with four key-values; the
//! directory is emptied first. `docs/cli.md` ("Performance") has the measured figures.

use std::path::PathBuf;
use std::thread;
use std::time::Instant;

use anyhow::{ensure, Context, Result};
use slog::info;

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: make_bench_logs DIR [RANKS] [RECORDS]";
    let dir = PathBuf::from(args.next().context(usage)?);
    let ranks: u32 = args.next().map_or(Ok(8), |a| a.parse()).context(usage)?;
    let records: u64 = args
        .next()
        .map_or(Ok(1_000_000), |a| a.parse())
        .context(usage)?;
    ensure!(ranks > 0, "{usage}: RANKS must be at least 1");
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
