//! Files cut by the logger's own rotation (by size, many segments per rank) merge back
//! into every record, each rank's in the order logged.
#![cfg(feature = "cli")]

mod cli_common;

use slog::info;

#[test]
fn every_record_of_every_segment_comes_back_in_order() {
    let dir = std::env::temp_dir().join(format!("ranklog-cli-rotation-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    const RANKS: u32 = 3;
    const RECORDS: u64 = 400;
    let guards: Vec<_> = (0..RANKS)
        .map(|rank| {
            ranklog::Builder::new()
                .rank_info(ranklog::RankInfo::new(rank, RANKS, rank, RANKS).unwrap())
                .dir(&dir)
                .no_console()
                .rotation(ranklog::Rotation::Bytes(8 * 1024))
                .and_then(|b| b.keep(1000))
                .unwrap()
                .build()
                .unwrap()
        })
        .collect();
    std::thread::scope(|s| {
        for guard in &guards {
            let log = guard.logger();
            s.spawn(move || {
                for seq in 0..RECORDS {
                    info!(log, "step"; "seq" => seq);
                }
            });
        }
    });
    drop(guards);
    let segments = std::fs::read_dir(&dir).unwrap().count();
    assert!(
        segments > 3 * RANKS as usize,
        "rotation cut the files: {segments}"
    );

    let out = cli_common::ok(&["merge", "--json", dir.to_str().unwrap()]);
    let mut next = vec![0u64; RANKS as usize];
    for line in out.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let Some(seq) = v["seq"].as_u64() else {
            continue;
        };
        let rank = v["rank"].as_u64().unwrap() as usize;
        assert_eq!(seq, next[rank], "rank {rank} out of order");
        next[rank] += 1;
    }
    assert_eq!(next, vec![RECORDS; RANKS as usize], "a record was lost");
    std::fs::remove_dir_all(&dir).unwrap();
}
