//! `Guard::stats()` and the `log_stats` record that ends every rank's file count exactly
//! what the test logged: written by level, gated out, dropped, the file's bytes.

#[cfg(feature = "cli")]
mod cli_common;
mod common;

use std::time::Duration;

use ranklog::{Builder, RankInfo};

#[test]
fn the_counts_equal_what_was_logged() {
    let dir = common::temp_dir("log-stats");
    // Rank 1 of 4: `global` records are gated out here, but the file keeps them.
    let guard = common::builder_in(&dir, RankInfo::new(1, 4, 1, 2).unwrap())
        .level(slog::Level::Debug)
        .no_console()
        .build()
        .unwrap();
    let log = guard.logger();
    for i in 0..10 {
        slog::info!(log, "info"; "i" => i);
    }
    for i in 0..7 {
        slog::debug!(log, "debug"; "i" => i);
    }
    for i in 0..5 {
        slog::trace!(log, "filtered out by the level"; "i" => i);
    }
    for i in 0..3 {
        slog::warn!(log, "gated out"; "scope" => "global", "i" => i);
    }
    slog::error!(log, "an error");
    assert!(guard.flush(Duration::from_secs(5)));
    let path = guard.log_file().unwrap().to_owned();
    let on_disk = std::fs::metadata(&path).unwrap().len();
    let stats = guard.stats();
    // The job's first record (info, global: gated out on rank 1, kept by the file).
    assert_eq!(stats.by_level.info, 10 + 1, "{stats:?}");
    assert_eq!(stats.by_level.debug, 7, "{stats:?}");
    assert_eq!(stats.by_level.trace, 0, "{stats:?}");
    assert_eq!(stats.by_level.warning, 3, "{stats:?}");
    assert_eq!(stats.by_level.error, 1, "{stats:?}");
    assert_eq!(stats.written, 10 + 1 + 7 + 3 + 1, "{stats:?}");
    assert_eq!(stats.gated_out, 3 + 1, "{stats:?}");
    assert_eq!((stats.dropped, stats.lost), (0, 0), "{stats:?}");
    assert_eq!(stats.file_bytes, on_disk, "{stats:?}");
    assert!(stats.queue_high_water >= 1, "{stats:?}");
    drop(guard);

    let records = common::records(&path);
    let last = records.last().unwrap();
    assert_eq!(last["kind"], "log_stats", "{last}");
    assert_eq!(last["level"], "info", "{last}");
    assert_eq!(last["written"], 22, "{last}");
    assert_eq!(last["info"], 11, "{last}");
    assert_eq!(last["debug"], 7, "{last}");
    assert_eq!(last["warning"], 3, "{last}");
    assert_eq!(last["error"], 1, "{last}");
    assert_eq!(last["gated_out"], 4, "{last}");
    assert_eq!(last["dropped"], 0, "{last}");
    assert_eq!(last["lost"], 0, "{last}");
    assert_eq!(last["file_bytes"], on_disk, "{last}");
    assert_eq!(
        records.len(),
        22 + 1,
        "every written record, then the stats"
    );
}

#[test]
fn dropped_records_make_the_stats_a_console_warning() {
    let console = common::Captured::default();
    let guard = Builder::new()
        .rank_info(RankInfo::new(0, 1, 0, 1).unwrap())
        .console_writer(console.clone())
        .overflow(ranklog::Overflow::Drop)
        .queue_len(1)
        .unwrap()
        .log_bridge(false)
        .gpu(ranklog::GpuMode::Off)
        .build()
        .unwrap();
    let log = guard.logger();
    for i in 0..20_000 {
        slog::info!(log, "burst"; "i" => i);
    }
    let dropped = guard.dropped();
    assert!(
        dropped > 0,
        "a one-record queue drops some of a 20,000 burst"
    );
    drop(guard);
    let text = console.text();
    let line = text
        .lines()
        .find(|l| l.contains("kind=log_stats"))
        .unwrap_or_else(|| panic!("no log_stats line on the console:\n{text}"));
    assert!(line.starts_with("WARN "), "{line}");
    assert!(line.contains(&format!("dropped={dropped}")), "{line}");
}

#[cfg(feature = "cli")]
#[test]
fn the_summary_shows_each_ranks_stats_and_names_a_rank_that_lost_records() {
    let dir = common::temp_dir("log-stats-summary");
    for rank in 0..2u32 {
        let mut builder =
            common::builder_in(&dir, RankInfo::new(rank, 2, rank, 2).unwrap()).no_console();
        if rank == 1 {
            builder = builder
                .overflow(ranklog::Overflow::Drop)
                .queue_len(1)
                .unwrap();
        }
        let guard = builder.build().unwrap();
        for i in 0..20_000 {
            slog::info!(guard.logger(), "burst"; "i" => i);
        }
        if rank == 1 {
            assert!(guard.dropped() > 0);
        }
    }
    let text = cli_common::ok(&["summary", dir.to_str().unwrap()]);
    assert!(
        text.contains("  LOST      ranks 1 dropped or lost records"),
        "{text}"
    );
    let table = text
        .split("logging (each rank's log_stats record)\n")
        .nth(1)
        .unwrap_or_else(|| panic!("no logging table:\n{text}"));
    let rows: Vec<&str> = table.lines().skip(1).take(2).collect();
    assert!(rows[0].trim_start().starts_with("0 "), "{table}");
    assert!(!rows[0].contains("LOST RECORDS"), "{table}");
    assert!(rows[1].contains("LOST RECORDS"), "{table}");
}
