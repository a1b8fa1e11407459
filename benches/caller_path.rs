//! What a log call costs on the caller's thread: records that are not printed (issue 7's
//! cases 1-3), the `*_once!` path after its first hit (case 7), and an accepted record to
//! the JSONL file and to the console (cases 4 and 6).
//!
//! `cargo bench --bench caller_path` (or `scripts/bench.sh`).

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use ranklog::{Builder, RankInfo};
use slog::{debug, info, o};

fn caller_path(c: &mut Criterion) {
    // Rank 1 of 4, second on its node: global and local records are not its to print.
    let guard = Builder::new()
        .rank_info(RankInfo::new(1, 4, 1, 2).expect("valid identity"))
        .console_writer(std::io::sink())
        .log_bridge(false)
        .build()
        .expect("logger builds");
    let log = guard.logger().new(o!("model" => "llama"));
    let global = ranklog::global(&log);
    let bound = log.new(o!("scope" => "global"));
    let n = 7u64;

    let mut g = c.benchmark_group("caller_path");
    g.bench_function("gated_out_scope_on_record", |b| {
        b.iter(|| info!(log, "step {}", n; "scope" => "global", "ms" => 1.5, "bytes" => n))
    });
    g.bench_function("gated_out_logger_bound_by_new", |b| {
        b.iter(|| info!(bound, "step {}", n; "ms" => 1.5, "bytes" => n))
    });
    g.bench_function("gated_out_scoped_logger_global", |b| {
        b.iter(|| info!(global, "step {}", n; "ms" => 1.5, "bytes" => n))
    });
    g.bench_function("level_disabled", |b| {
        b.iter(|| debug!(log, "step {}", n; "ms" => 1.5, "bytes" => n))
    });
    g.bench_function("once_after_first_hit", |b| {
        b.iter(|| ranklog::info_once!(log, "using {} kernels", "flash"; "scope" => "process"))
    });
    g.bench_function("every_n_skipped_call", |b| {
        b.iter(|| ranklog::info_every_n!(log, u64::MAX, "step {}", n))
    });
    g.finish();
    drop(guard);

    // An accepted record with three key-values (issue cases 4 and 6), timed on the
    // caller's thread in bursts of 1024, a quarter of the default queue, with the queue
    // written out between bursts: the caller's cost, not the writer's back-pressure (that
    // is `benches/throughput.rs`).
    let dir = std::env::temp_dir().join(format!("ranklog-bench-accepted-{}", std::process::id()));
    let mut g = c.benchmark_group("accepted");
    // The JSONL file with and without the crash-safe ring (the copy of each record into
    // the memory-mapped ring beside the file, before the call returns).
    for (name, to_console, crash_safe) in [
        ("record_with_3_kv_to_jsonl", false, true),
        ("record_with_3_kv_to_jsonl_without_the_ring", false, false),
        ("record_with_3_kv_to_console", true, true),
    ] {
        let builder = Builder::new()
            .rank_info(RankInfo::new(0, 4, 0, 2).expect("valid identity"))
            .log_bridge(false)
            .signals(false)
            .crash_safe(crash_safe)
            .gpu(ranklog::GpuMode::Off);
        let builder = if to_console {
            builder.console_writer(std::io::sink())
        } else {
            // Bounded disk use over millions of records.
            builder
                .no_console()
                .dir(&dir)
                .rotation(ranklog::Rotation::Bytes(64 << 20))
                .and_then(|b| b.keep(1))
                .expect("valid rotation settings")
        };
        let guard = builder.build().expect("logger builds");
        let log = guard.logger();
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut caller = Duration::ZERO;
                let mut left = iters;
                while left > 0 {
                    let burst = left.min(1024);
                    let start = Instant::now();
                    for _ in 0..burst {
                        info!(log, "step {}", n; "loss" => 0.25, "tokens" => n, "phase" => "decode");
                    }
                    caller += start.elapsed();
                    assert!(guard.flush(Duration::from_secs(10)), "queue written out");
                    left -= burst;
                }
                caller
            })
        });
        drop(guard);
    }
    g.finish();
    let _ = std::fs::remove_dir_all(dir);
}

criterion_group!(benches, caller_path);
criterion_main!(benches);
