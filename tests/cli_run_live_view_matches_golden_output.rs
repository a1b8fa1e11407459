//! The live view of `ranklog run` / `merge --follow` ([`ranklog::analyze::Follower`]) over
//! rank files written in two parts: what every rank said prints once, differing values as
//! ranges; a step one rank had not logged when the window passed names it missing; its
//! record, written later, gets a follow-up line; a record of one rank keeps its own tag.
//! Compared with `tests/fixtures/golden/run.live.txt` (rewrite with `RANKLOG_BLESS=1`).
#![cfg(feature = "cli")]

mod cli_common;

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use ranklog::analyze::{FollowOptions, Follower, TimeZoneChoice};

/// One record as the writer lays it out, `ms` after 04:24:06 UTC.
fn record(rank: u32, ms: u64, level: &str, line: u32, msg: &str, kvs: &str) -> String {
    let host = if rank < 2 { "node-a" } else { "node-b" };
    format!(
        r#"{{"v":1,"ts":"2026-11-21T04:24:{:02}.{:03}000Z","level":"{level}","msg":"{msg}","rank":{rank},"size":4,"local_rank":{},"local_size":2,"host":"{host}","pid":{},"scope":"process","module":"app","file":"src/main.rs","line":{line}{kvs}}}"#,
        6 + ms / 1000,
        ms % 1000,
        rank % 2,
        100 + rank
    ) + "\n"
}

fn append(dir: &Path, rank: u32, text: &str) {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(format!("rank-{rank:05}.jsonl")))
        .expect("rank file opens");
    file.write_all(text.as_bytes()).expect("rank file writable");
}

#[test]
fn the_live_view_of_a_job_written_in_two_parts_matches_golden_output() {
    let dir = std::env::temp_dir().join(format!("ranklog-live-golden-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for rank in 0..4 {
        let ms = u64::from(rank) * 3;
        let mut text = record(
            rank,
            ms,
            "info",
            10,
            "model loaded",
            &format!(r#","ms":{}"#, 800 + rank * 50),
        );
        text += &record(
            rank,
            ms + 20,
            "warning",
            11,
            "cache is cold",
            r#","hit_rate":0.0"#,
        );
        if rank != 3 {
            text += &record(rank, ms + 40, "info", 12, "step done", r#","step":1"#);
        }
        if rank == 0 {
            text += &record(
                rank,
                50,
                "info",
                13,
                "checkpoint saved",
                r#","path":"/ckpt/1""#,
            );
        }
        append(&dir, rank, &text);
    }
    let mut options = FollowOptions::default();
    options.window = Duration::from_millis(200);
    options.time_zone = TimeZoneChoice::Utc;
    let mut follower = Follower::new(&dir, options);
    let mut out = Vec::new();
    follower.poll(&mut out).unwrap();
    std::thread::sleep(Duration::from_millis(400));
    follower.poll(&mut out).unwrap();
    append(
        &dir,
        3,
        &record(3, 4249, "info", 12, "step done", r#","step":1"#),
    );
    let stats = follower.finish(&mut out).unwrap();
    assert_eq!((stats.records, stats.files), (13, 4));
    assert_eq!(follower.world_size(), Some(4));
    let _ = std::fs::remove_dir_all(&dir);
    cli_common::golden("run.live.txt", &String::from_utf8(out).unwrap());
}
