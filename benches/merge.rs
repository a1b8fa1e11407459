//! Throughput of reading a job's logs back (records/s): 8 ranks of 20,000 records each,
//! written by the real logger, merged into a sink as JSONL, as console lines and
//! collapsed, followed by the live view, and summarized; and the live view of 64 ranks of
//! 5,000 records each (the issue's job: 64 ranks logging 20,000 records/s each is
//! 1.28 M records/s). Small enough to run in seconds:
//!
//! ```text
//! cargo bench --features cli --bench merge
//! ```
//!
//! The 8 x 1,000,000-record measurement with peak memory is in `docs/cli.md`
//! ("Performance"), with `examples/make_bench_logs.rs`.

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ranklog::analyze::{
    print_merged, summarize, FollowOptions, FollowStats, Follower, Merge, MergeOptions,
    SummaryOptions,
};
use slog::info;

const RANKS: u32 = 8;
const RECORDS: u64 = 20_000;

/// Writes a job's files with the real logger, one thread per rank: `ranks` ranks of
/// `records` records each.
fn write_logs(ranks: u32, records: u64) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "ranklog-bench-merge-{}-{ranks}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let guards: Vec<_> = (0..ranks)
        .map(|rank| {
            let info = ranklog::RankInfo::new(rank, ranks, rank % 4, 4).expect("valid ranks");
            ranklog::Builder::new()
                .rank_info(info)
                .dir(&dir)
                .no_console()
                .build()
                .expect("logger starts")
        })
        .collect();
    std::thread::scope(|s| {
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
    dir
}

fn merge(c: &mut Criterion) {
    let dir = write_logs(RANKS, RECORDS);
    let inputs = [dir.clone()];
    let mut group = c.benchmark_group("read_back");
    group.throughput(Throughput::Elements(u64::from(RANKS) * RECORDS));
    group.sample_size(10);
    // `merge_collapse_1s` parses on other threads (one per core, at most 4) while this
    // one merges and collapses; `merge_collapse_1s_one_thread` does it all on one.
    let cases = [
        ("merge_jsonl", true, None, 0),
        ("merge_console", false, None, 0),
        ("merge_collapse_1s", false, Some(1_000_000), 0),
        ("merge_collapse_1s_one_thread", false, Some(1_000_000), 1),
    ];
    for (name, json, collapse, threads) in cases {
        let mut options = MergeOptions::default();
        options.json = json;
        options.collapse_window_us = collapse;
        options.threads = threads;
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut merge = Merge::open(&inputs, &|_| true).expect("files open");
                let stats = print_merged(&mut merge, &options, &mut std::io::sink(), &mut |_| {});
                black_box(stats.expect("merge runs"))
            })
        });
    }
    // The live view of `ranklog run` / `merge --follow` reading the same files as a
    // backlog: its records/s is how many records a second the ranks can write with the
    // follower keeping up.
    group.bench_function("follow_collapse", |b| b.iter(|| follow(&dir)));
    group.bench_function("summary", |b| {
        b.iter(|| black_box(summarize(&inputs, SummaryOptions::default()).expect("summary")))
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
    // The live view of 64 ranks: groups of 64 records, as in the issue's job.
    let (ranks, records) = (64, 5_000);
    let dir = write_logs(ranks, records);
    let mut group = c.benchmark_group("read_back_64_ranks");
    group.throughput(Throughput::Elements(u64::from(ranks) * records));
    group.sample_size(10);
    group.bench_function("follow_collapse", |b| b.iter(|| follow(&dir)));
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

/// The live view of the job in `dir`, read to its end.
fn follow(dir: &Path) -> FollowStats {
    let mut follower = Follower::new(dir, FollowOptions::default());
    black_box(
        follower
            .finish(&mut std::io::sink())
            .expect("follower reads"),
    )
}

criterion_group!(benches, merge);
criterion_main!(benches);
