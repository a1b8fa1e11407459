//! The writer thread writes records out by itself, without a flush or the guard's drop:
//! at most one nap (10 ms) after a record while records keep coming, at once after a
//! quiet second, and a burst larger than the queue gets through whole.

mod common;

use std::time::{Duration, Instant};

use ranklog::{Builder, RankInfo};
use slog::info;

/// Lines of the file that contain `marker`.
fn lines_with(path: &std::path::Path, marker: &str) -> usize {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(marker))
        .count()
}

/// How long until `count` lines with `marker` are in the file; `None` when they are not
/// there after 30 s, which no loaded machine explains: the writer stalled.
fn time_until(path: &std::path::Path, marker: &str, count: usize) -> Option<Duration> {
    let start = Instant::now();
    common::wait_until(Duration::from_secs(30), || {
        lines_with(path, marker) >= count
    })
    .then(|| start.elapsed())
}

#[test]
fn records_are_written_without_a_flush_and_bursts_get_through_whole() {
    let dir = common::temp_dir("no-flush");
    let guard = Builder::new()
        .rank_info(RankInfo::new(0, 2, 0, 2).unwrap())
        .no_console()
        .dir(&dir)
        .queue_len(256)
        .unwrap()
        .log_bridge(false)
        .signals(false)
        .build()
        .unwrap();
    let log = guard.logger();
    let path = guard.log_file().unwrap().to_owned();

    // A lone record while the writer naps.
    info!(log, "first");
    let first = time_until(&path, "\"first\"", 1).expect("a lone record is written");

    // After a quiet second the writer sleeps until the next record, which wakes it.
    std::thread::sleep(Duration::from_millis(1500));
    info!(log, "after quiet");
    let woken = time_until(&path, "\"after quiet\"", 1).expect("the next record wakes the writer");

    // A burst of 20 queues' worth: the callers wait for room, nothing stalls or is lost.
    for n in 0..5120u32 {
        info!(log, "burst"; "n" => n);
    }
    let burst = time_until(&path, "\"burst\"", 5120).expect("the whole burst is written");

    drop(guard);
    let _ = std::fs::remove_dir_all(&dir);
    eprintln!("lone record {first:?}, after a quiet second {woken:?}, burst of 5120 {burst:?}");
    // The writer wakes for a record by itself: within a nap (10 ms) while records come,
    // at once after a quiet second. Timed on the wall clock, on a machine that may be busy
    // building, so the bound is 200 naps: still far below any periodic flush a writer that
    // did not wake by itself would need to be caught by. The burst's point is that all of
    // it arrives (above, within 30 s); the callers waited for room, so at most a queue
    // (256 records) was left to write when the loop ended, and its time is only printed.
    for (what, took) in [("lone", first), ("after quiet", woken)] {
        assert!(
            took < Duration::from_secs(2),
            "the {what} record(s) took {took:?} to reach the file"
        );
    }
}
