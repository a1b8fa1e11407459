//! Sustained records per second into the per-rank JSONL file, with the default blocking
//! queue, from one and from two producer threads (issue 7's case 5): each iteration logs
//! 200,000 records and waits until all are written.
//!
//! `cargo bench --bench throughput`; `scripts/bench.sh` also checks that none was lost.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ranklog::{Builder, RankInfo};
use slog::info;

const RECORDS: u64 = 200_000;

fn throughput(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("ranklog-bench-throughput-{}", std::process::id()));
    let guard = Builder::new()
        .rank_info(RankInfo::new(0, 4, 0, 2).expect("valid identity"))
        .no_console()
        .dir(&dir)
        // Bounded disk use over millions of records.
        .rotation(ranklog::Rotation::Bytes(64 << 20))
        .and_then(|b| b.keep(1))
        .expect("valid rotation settings")
        .log_bridge(false)
        .signals(false)
        .gpu(ranklog::GpuMode::Off)
        .build()
        .expect("logger builds");
    let log = guard.logger();
    let mut g = c.benchmark_group("throughput");
    g.throughput(Throughput::Elements(RECORDS));
    g.sample_size(10);
    for producers in [1u64, 2] {
        g.bench_function(format!("jsonl_{producers}_producers"), |b| {
            b.iter(|| {
                std::thread::scope(|s| {
                    for _ in 0..producers {
                        let log = &log;
                        s.spawn(move || {
                            for n in 0..RECORDS / producers {
                                info!(log, "step {}", n; "loss" => 0.25, "tokens" => n, "phase" => "decode");
                            }
                        });
                    }
                });
                assert!(guard.flush(Duration::from_secs(30)), "queue written out");
            })
        });
    }
    g.finish();
    drop(guard);
    let _ = std::fs::remove_dir_all(dir);
}

criterion_group!(benches, throughput);
criterion_main!(benches);
