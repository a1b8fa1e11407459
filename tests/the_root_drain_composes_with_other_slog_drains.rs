//! `Guard::drain` is a plain slog drain: composed with another drain through
//! `slog::Duplicate`, ranklog still gates its own console by scope while the other drain
//! sees every record.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use ranklog::{Builder, RankInfo};
use slog::{info, o, Drain, Logger, OwnedKVList, Record};

/// Counts the records it is given.
#[derive(Clone, Default)]
struct Counter(Arc<AtomicUsize>);

impl Drain for Counter {
    type Ok = ();
    type Err = slog::Never;
    fn log(&self, _: &Record<'_>, _: &OwnedKVList) -> Result<(), slog::Never> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

#[test]
fn a_duplicated_root_gates_ranklogs_console_and_feeds_the_other_drain_everything() {
    let console = common::Captured::default();
    // Rank 1 of 4: global records are not its to print.
    let guard = Builder::new()
        .rank_info(RankInfo::new(1, 4, 1, 2).unwrap())
        .console_writer(console.clone())
        .log_bridge(false)
        .signals(false)
        .gpu(ranklog::GpuMode::Off)
        .build()
        .unwrap();
    let other = Counter::default();
    let log = Logger::root(
        slog::Duplicate::new(guard.drain(), other.clone()).ignore_res(),
        o!("model" => "llama"),
    );
    for _ in 0..3 {
        info!(log, "composed global"; "scope" => "global");
        info!(log, "composed process"; "scope" => "process");
    }
    drop(guard);
    let text = console.text();
    assert_eq!(common::count(&text, "composed global"), 0, "{text}");
    assert_eq!(common::count(&text, "composed process"), 3, "{text}");
    assert_eq!(
        common::count(&text, "model=llama"),
        3,
        "the composed logger's values reach ranklog: {text}"
    );
    assert_eq!(other.0.load(Ordering::Relaxed), 6);
}
