//! `ranklog merge --follow DIR` on a directory that ranks are still writing: records that
//! every rank wrote print once while it runs, a rank file that appears later is followed
//! too, and Ctrl-C (SIGINT) ends it cleanly, printing what was still waiting.
#![cfg(feature = "cli")]

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn record(rank: u32, msg: &str) -> String {
    format!(
        r#"{{"v":1,"ts":"2026-11-21T04:24:06.{:03}000Z","level":"info","msg":"{msg}","rank":{rank},"size":3,"host":"h","file":"src/main.rs","line":7}}"#,
        rank
    ) + "\n"
}

fn append(dir: &Path, rank: u32, text: &str) {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(format!("rank-{rank:05}.jsonl")))
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .expect("rank file writable");
}

#[test]
fn merge_follow_prints_a_running_jobs_records_once_and_stops_on_ctrl_c() {
    let dir = std::env::temp_dir().join(format!("ranklog-follow-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    append(&dir, 0, &record(0, "early"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_ranklog"))
        .args(["merge", "--follow", "--utc", "--color", "never"])
        .arg(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ranklog runs");
    let mut stdout = child.stdout.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    std::thread::sleep(Duration::from_millis(1500));
    // Ranks 1 and 2 start late; rank 2's file appears after the follower began.
    append(&dir, 1, &record(1, "early"));
    append(&dir, 2, &record(2, "early"));
    for rank in 0..3 {
        append(&dir, rank, &record(rank, "all together"));
    }
    std::thread::sleep(Duration::from_secs(3));
    append(&dir, 0, &record(0, "said by rank 0 alone"));
    // SAFETY: kill has no memory effects; the pid is our own child's.
    assert_eq!(
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) },
        0
    );
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "merge --follow ignores SIGINT"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let text = reader.join().unwrap();
    let mut stderr = String::new();
    let _ = child.stderr.take().unwrap().read_to_string(&mut stderr);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(status.success(), "{status}: {stderr}");
    let together: Vec<_> = text
        .lines()
        .filter(|l| l.contains("all together"))
        .collect();
    assert_eq!(together.len(), 1, "{text}");
    assert!(together[0].contains("[ranks 0-2]"), "{}", together[0]);
    assert!(
        text.lines()
            .any(|l| l.contains("said by rank 0 alone") && l.contains("[0/3 h:?]")),
        "the record waiting at Ctrl-C is printed: {text}"
    );
    assert!(text.contains("early"), "{text}");
}
