//! `ranklog merge --ranks` reads rank lists by the grammar of `RANKLOG_CONSOLE_RANKS` and
//! `ranks:LIST` scopes: `last` (also `-1`) is the job's last rank, from the world size the
//! records give, alone, in a list or ending a range; where no record gives the world size,
//! the error says so.
#![cfg(feature = "cli")]

mod cli_common;

use cli_common::{ok, ranklog};

const JOB8: &str = "tests/fixtures/job8";

fn merged(ranks: &str, dir: &str) -> String {
    ok(&["merge", "--utc", "--ranks", ranks, dir])
}

#[test]
fn last_is_the_last_rank_of_the_records_world_size() {
    let last = merged("last", JOB8);
    assert!(last.contains(" [7/8 node-b:3] "), "{last}");
    assert_eq!(last, merged("7", JOB8));
    assert_eq!(ok(&["merge", "--utc", "--ranks=-1", JOB8]), last);
    assert_eq!(merged("0,last", JOB8), merged("0,7", JOB8));
    assert_eq!(merged("5-last", JOB8), merged("5-7", JOB8));
    assert_eq!(
        merged("last", "tests/fixtures/rotated"),
        merged("2", "tests/fixtures/rotated")
    );
    // The damaged job's records say 5 ranks, and rank 4 wrote no file: `last` is the
    // job's last rank, not the last file.
    assert_eq!(merged("last", "tests/fixtures/damaged"), "");
}

#[test]
fn last_without_a_world_size_or_reversed_is_a_clear_error() {
    let out = ranklog(&[
        "merge",
        "--ranks",
        "last",
        "tests/fixtures/damaged/console.log",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("invalid --ranks \"last\"") && stderr.contains("world size"),
        "{stderr}"
    );
    let out = ranklog(&["merge", "--ranks", "last-3", JOB8]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("\"last-3\": a range ends below its start"),
        "{stderr}"
    );
}
