//! `ranklog::suppress` drops records below a level for a block, nests, and restores.
//! (Process-wide: alone in its test binary.)

mod common;

use common::{count, Captured};
use ranklog::{Builder, RankInfo};
use slog::Level;

#[test]
fn a_suppression_raises_the_level_for_a_block() {
    let console = Captured::default();
    let guard = Builder::new()
        .rank_info(RankInfo::single())
        .console_writer(console.clone())
        .log_bridge(false)
        .build()
        .unwrap();
    let log = guard.logger();
    {
        let _quiet = ranklog::suppress(Level::Error);
        slog::warn!(log, "m-suppressed");
        slog::error!(log, "m-still-printed");
        {
            let _quieter = ranklog::suppress(Level::Critical);
            slog::error!(log, "m-inner-suppressed");
        }
        slog::error!(log, "m-outer-again");
    }
    slog::info!(log, "m-back");
    drop(guard);
    let text = console.text();
    assert_eq!(count(&text, "m-suppressed"), 0, "{text}");
    assert_eq!(count(&text, "m-inner-suppressed"), 0, "{text}");
    for m in ["m-still-printed", "m-outer-again", "m-back"] {
        assert_eq!(count(&text, m), 1, "{m}: {text}");
    }
}
