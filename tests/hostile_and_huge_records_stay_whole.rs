//! Records cannot forge other records, and huge or concurrent ones stay whole: a 10 MiB
//! message, 1000 key-values, 16 threads at once, every character through JSON and back.

mod common;

use std::sync::Arc;

use common::{count, temp_dir, Captured};
use ranklog::{Builder, RankInfo};
use serde_json::Value;
use slog::{info, Key, Record, Serializer, KV};

fn build(name: &str) -> (ranklog::Guard, Captured, std::path::PathBuf) {
    let console = Captured::default();
    let dir = temp_dir(name);
    let guard = Builder::new()
        .rank_info(RankInfo::new(1, 2, 1, 2).unwrap())
        .console_writer(console.clone())
        .dir(&dir)
        .log_bridge(false)
        .signals(false)
        .build()
        .unwrap();
    (guard, console, dir)
}

fn finish(guard: ranklog::Guard, dir: &std::path::Path) -> Vec<Value> {
    let path = guard.log_file().unwrap().to_owned();
    drop(guard);
    let text = std::fs::read_to_string(path).unwrap();
    let _ = std::fs::remove_dir_all(dir);
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: a torn line {:.200}", l)))
        .collect()
}

#[test]
fn forged_lines_and_terminal_escapes_are_neutralised_on_the_console() {
    let (guard, console, dir) = build("forgery");
    let log = guard.logger();
    let forged =
        "ok\nERRO Nov 21 00:00:00.000 [0/2 host:0] x.rs:1 forged\r\x1b[2J\x1b]0;t\x07\u{202e}";
    info!(log, "{}", forged; "val" => forged, forged => 1u8);
    let records = finish(guard, &dir);
    let text = console.text();
    assert!(
        !text.contains('\x1b'),
        "no raw escape reaches the terminal: {text:?}"
    );
    assert!(!text.contains('\r'), "no carriage return: {text:?}");
    assert!(!text.contains('\u{202e}'), "no bidi override: {text:?}");
    let lines: Vec<&str> = text.lines().filter(|l| !l.contains("job_start")).collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[1].starts_with("    | ERRO"),
        "the continuation is marked: {:?}",
        lines[1]
    );
    assert_eq!(count(&text, "\nERRO"), 0);
    let record = records.iter().find(|r| r["val"].is_string()).unwrap();
    assert_eq!(record["msg"], forged, "files keep the exact text");
    assert_eq!(record["val"], forged);
    assert_eq!(record[forged], 1, "even a hostile key survives as JSON");
}

#[test]
fn every_character_below_256_and_beyond_round_trips_through_json() {
    let (guard, _console, dir) = build("every-char");
    let log = guard.logger();
    let all: String = (0u32..=0x2FF)
        .filter_map(char::from_u32)
        .chain(['\u{FFFF}', '😀', '\u{10FFFF}'])
        .collect();
    // Invalid UTF-8 cannot reach a &str; bytes are shown lossily, never a panic.
    let lossy = String::from_utf8_lossy(b"a\xff\xfeb").into_owned();
    info!(log, "{}", all; "all" => &all, "lossy" => &lossy);
    let records = finish(guard, &dir);
    let r = records.iter().find(|r| r["all"].is_string()).unwrap();
    assert_eq!(r["msg"], all.as_str());
    assert_eq!(r["all"], all.as_str());
    assert_eq!(r["lossy"], "a\u{FFFD}\u{FFFD}b");
}

#[test]
fn a_ten_mib_message_is_one_whole_record() {
    let (guard, console, dir) = build("huge");
    let log = guard.logger();
    let huge: String = "0123456789abcdef\n".repeat(10 * 1024 * 1024 / 17);
    info!(log, "{}", huge; "marker" => "huge");
    info!(log, "after"; "marker" => "after");
    let records = finish(guard, &dir);
    let r = records.iter().find(|r| r["marker"] == "huge").unwrap();
    assert_eq!(r["msg"].as_str().unwrap().len(), huge.len());
    assert!(records.iter().any(|r| r["marker"] == "after"));
    let text = console.text();
    let continuation = text
        .lines()
        .filter(|l| l.starts_with("    | 0123456789abcdef"))
        .count();
    assert_eq!(continuation, huge.lines().count() - 1);
}

/// 1000 key-values with distinct keys.
struct Thousand(Vec<&'static str>);

impl KV for Thousand {
    fn serialize(&self, _: &Record<'_>, s: &mut dyn Serializer) -> slog::Result {
        for (i, key) in self.0.iter().enumerate() {
            s.emit_u64(Key::from(*key), i as u64)?;
        }
        Ok(())
    }
}

#[test]
fn a_record_with_a_thousand_key_values_keeps_them_all() {
    let (guard, _console, dir) = build("thousand");
    let log = guard.logger();
    let keys: Vec<&'static str> = (0..1000)
        .map(|i| &*Box::leak(format!("k{i:04}").into_boxed_str()))
        .collect();
    let many = Thousand(keys);
    log.log(&slog::record!(
        slog::Level::Info,
        "",
        &format_args!("many"),
        slog::BorrowedKV(&many)
    ));
    let records = finish(guard, &dir);
    let r = records.iter().find(|r| r["msg"] == "many").unwrap();
    for i in 0..1000u64 {
        assert_eq!(r[format!("k{i:04}")], i);
    }
}

#[test]
fn sixteen_threads_at_once_never_interleave_two_records() {
    let (guard, console, dir) = build("threads");
    let log = Arc::new(guard.logger());
    const PER_THREAD: u64 = 2_000;
    let threads: Vec<_> = (0..16u64)
        .map(|t| {
            let log = log.clone();
            std::thread::spawn(move || {
                for n in 0..PER_THREAD {
                    let body = "x".repeat(((t * 37 + n) % 300) as usize);
                    info!(log, "t{} n{} {}\nsecond line", t, n, body; "t" => t, "n" => n);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let records = finish(guard, &dir);
    let mut next = [0u64; 16];
    for r in records.iter().filter(|r| r["t"].is_u64()) {
        let t = r["t"].as_u64().unwrap() as usize;
        assert_eq!(
            r["n"].as_u64().unwrap(),
            next[t],
            "thread {t}: in order, none lost"
        );
        next[t] += 1;
    }
    assert_eq!(next, [PER_THREAD; 16]);
    let text = console.text();
    let firsts = text
        .lines()
        .filter(|l| l.starts_with("INFO ") && l.contains(" t"))
        .count();
    let seconds = text.lines().filter(|l| *l == "    | second line").count();
    assert_eq!(
        (firsts as u64, seconds as u64),
        (16 * PER_THREAD, 16 * PER_THREAD)
    );
}
