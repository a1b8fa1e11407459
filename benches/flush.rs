//! How long writing out a full default queue (4096 records, console and JSONL file) takes:
//! what a rank has between SIGTERM and SIGKILL when mpirun aborts a job (Open MPI 4: 1 s,
//! Open MPI 5: 250 ms).
//!
//! The console writer is held while the queue fills, so the queue is really full when the
//! flush starts. `cargo bench --bench flush`.

use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use ranklog::{Builder, RankInfo};
use slog::info;

/// A console that blocks its first write until released.
#[derive(Clone)]
struct Held(Arc<(Mutex<bool>, Condvar)>);

impl Write for Held {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let (open, cv) = &*self.0;
        let mut open = open.lock().unwrap();
        while !*open {
            open = cv.wait(open).unwrap();
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

const QUEUE: usize = 4096;

fn flush_full_queue(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("ranklog-bench-flush-{}", std::process::id()));
    let mut g = c.benchmark_group("flush");
    g.sample_size(20).measurement_time(Duration::from_secs(10));
    g.bench_function("full_default_queue_4096_records", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let held = Held(Arc::new((Mutex::new(false), Condvar::new())));
                let guard = Builder::new()
                    .rank_info(RankInfo::single())
                    .console_writer(held.clone())
                    .dir(&dir)
                    .queue_len(QUEUE)
                    .log_bridge(false)
                    .signals(false)
                    .build()
                    .expect("logger builds");
                let log = guard.logger();
                // The job-start record holds the writer; these fill the queue.
                for n in 0..QUEUE {
                    info!(log, "step {}", n; "loss" => 0.25, "tokens" => n, "phase" => "decode");
                }
                let start = Instant::now();
                {
                    let (open, cv) = &*held.0;
                    *open.lock().unwrap() = true;
                    cv.notify_all();
                }
                assert!(guard.flush(Duration::from_secs(5)));
                total += start.elapsed();
                drop(guard);
                let _ = std::fs::remove_dir_all(&dir);
            }
            total
        })
    });
    g.finish();
}

criterion_group!(benches, flush_full_queue);
criterion_main!(benches);
