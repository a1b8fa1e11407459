//! `ranklog::suppress` guards dropped out of order: while any lives, the strictest live
//! level is in force; once all are gone, nothing stays suppressed (before, the process was
//! left at the level of the guard made first). (Process-wide: alone in its test binary.)

mod common;

use common::{count, Captured};
use ranklog::{Builder, RankInfo};
use slog::Level;

#[test]
fn suppressions_dropped_out_of_order_restore_the_level() {
    let console = Captured::default();
    let guard = Builder::new()
        .rank_info(RankInfo::single())
        .console_writer(console.clone())
        .log_bridge(false)
        .build()
        .unwrap();
    let log = guard.logger();
    let warning = ranklog::suppress(Level::Warning);
    let error = ranklog::suppress(Level::Error);
    drop(warning);
    slog::warn!(log, "m-warn-while-error-lives");
    slog::error!(log, "m-error-while-error-lives");
    drop(error);
    slog::info!(log, "m-info-after-both");

    // On another thread, dropped after this thread's guard.
    let outer = ranklog::suppress(Level::Error);
    std::thread::spawn(|| {
        let inner = ranklog::suppress(Level::Warning);
        std::thread::sleep(std::time::Duration::from_millis(10));
        drop(inner);
    })
    .join()
    .unwrap();
    slog::warn!(log, "m-warn-under-outer");
    drop(outer);
    slog::info!(log, "m-info-at-the-end");
    drop(guard);

    let text = console.text();
    for (m, n) in [
        ("m-warn-while-error-lives", 0),
        ("m-error-while-error-lives", 1),
        ("m-info-after-both", 1),
        ("m-warn-under-outer", 0),
        ("m-info-at-the-end", 1),
    ] {
        assert_eq!(count(&text, m), n, "{m} in\n{text}");
    }
}
