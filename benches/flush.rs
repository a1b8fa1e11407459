//! How long writing out a full default queue (4096 records, console and JSONL file) takes:
//! what a rank has between SIGTERM and SIGKILL when mpirun aborts a job (Open MPI 4: 1 s,
//! Open MPI 5: 250 ms).
//!
//! The writer thread is held in a console write while the queue fills, so the queue is
//! really full when the flush starts. `cargo bench --bench flush`.

use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use ranklog::{Builder, RankInfo};
use slog::info;

/// Whether console writes pass, and whether one is waiting for them to.
#[derive(Default)]
struct Gate {
    closed: bool,
    waiting: bool,
}

/// A console whose writes wait while its gate is closed.
#[derive(Clone, Default)]
struct Held(Arc<(Mutex<Gate>, Condvar)>);

impl Held {
    fn set_closed(&self, closed: bool) {
        let (gate, cv) = &*self.0;
        gate.lock().unwrap().closed = closed;
        cv.notify_all();
    }

    /// Waits until a write is held at the closed gate.
    fn wait_for_a_held_write(&self) {
        let (gate, cv) = &*self.0;
        let mut gate = gate.lock().unwrap();
        while !gate.waiting {
            gate = cv.wait(gate).unwrap();
        }
    }
}

impl Write for Held {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let (gate, cv) = &*self.0;
        let mut gate = gate.lock().unwrap();
        while gate.closed {
            gate.waiting = true;
            cv.notify_all();
            gate = cv.wait(gate).unwrap();
        }
        gate.waiting = false;
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
                let held = Held::default();
                let guard = Builder::new()
                    .rank_info(RankInfo::single())
                    .console_writer(held.clone())
                    .dir(&dir)
                    .queue_len(QUEUE)
                    .expect("a valid queue length")
                    .log_bridge(false)
                    .signals(false)
                    .gpu(ranklog::GpuMode::Off)
                    .build()
                    .expect("logger builds");
                let log = guard.logger();
                assert!(guard.flush(Duration::from_secs(5)));
                // One record holds the writer thread at the closed console; the queue then
                // takes exactly QUEUE more.
                held.set_closed(true);
                info!(log, "held");
                held.wait_for_a_held_write();
                for n in 0..QUEUE {
                    info!(log, "step {}", n; "loss" => 0.25, "tokens" => n, "phase" => "decode");
                }
                let start = Instant::now();
                held.set_closed(false);
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
