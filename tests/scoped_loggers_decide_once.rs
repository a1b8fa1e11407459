//! `ranklog::global`, `local` and `group` loggers decide at creation: on a rank that does
//! not print their scope (and keeps no file of everything) they drop records below the
//! ungated level at once, and errors still go through. One test: the decision uses the
//! process's most recently built logger.

mod common;

use common::{count, Captured};
use ranklog::{Builder, FileScope, RankInfo};
use slog::{error, info, o, Drain};

fn build(info: RankInfo, dir: Option<&std::path::Path>) -> (ranklog::Guard, Captured) {
    let console = Captured::default();
    let mut b = Builder::new()
        .rank_info(info)
        .console_writer(console.clone())
        .log_bridge(false);
    if let Some(dir) = dir {
        b = b.dir(dir);
    }
    (b.build().unwrap(), console)
}

#[test]
fn scoped_loggers_print_on_the_right_ranks_and_keep_values_and_errors() {
    // Rank 3 of 4, second of its node and of its tp group {2, 3}; console only.
    let info = RankInfo::new(3, 4, 1, 2)
        .unwrap()
        .with_contiguous_group("tp", 2)
        .unwrap();
    let (guard, console) = build(info, None);
    let log = guard.logger().new(o!("model" => "llama"));
    let global = ranklog::global(&log);
    let local = ranklog::local(&log);
    let tp = ranklog::group(&log, "tp");
    let undeclared = ranklog::group(&log, "dp");
    let process = ranklog::scoped(&log, ranklog::Scope::Process);
    assert!(
        !global.is_info_enabled(),
        "decided at creation: nothing below error"
    );
    assert!(global.is_error_enabled());
    info!(global, "m-global");
    info!(local, "m-local");
    info!(tp, "m-tp");
    info!(undeclared, "m-undeclared");
    info!(process, "m-process");
    error!(global, "m-global-error");
    drop(guard);
    let text = console.text();
    for (m, n) in [
        ("m-global ", 0),
        ("m-local", 0),
        ("m-tp", 0),
        ("m-undeclared", 1),
        ("m-process", 1),
        ("m-global-error", 1),
    ] {
        assert_eq!(count(&text, m), n, "{m} in\n{text}");
    }
    assert_eq!(count(&text, "m-global-error model=llama"), 1, "{text}");
    assert_eq!(count(&text, "unknown scope \"group:dp\""), 1, "{text}");

    // The first rank of the job prints every scope through the same constructors.
    let first = RankInfo::new(0, 4, 0, 2)
        .unwrap()
        .with_contiguous_group("tp", 2)
        .unwrap();
    let (guard, console) = build(first, None);
    let log = guard.logger();
    assert!(ranklog::global(&log).is_info_enabled());
    info!(ranklog::global(&log), "m-first-global");
    info!(ranklog::group(&log, "tp"), "m-first-tp");
    drop(guard);
    let text = console.text();
    assert_eq!(count(&text, "m-first-global"), 1, "{text}");
    assert_eq!(count(&text, "m-first-tp"), 1, "{text}");

    // With a file that keeps everything, the gated-out scope still reaches the file.
    let dir = common::temp_dir("scoped-file");
    let (guard, console) = build(RankInfo::new(1, 2, 1, 2).unwrap(), Some(&dir));
    let log = guard.logger();
    info!(ranklog::global(&log), "m-to-file");
    let path = guard.log_file().unwrap().to_owned();
    drop(guard);
    let file = std::fs::read_to_string(path).unwrap();
    assert_eq!(count(&console.text(), "m-to-file"), 0);
    assert_eq!(count(&file, "m-to-file"), 1);
    let line = file.lines().find(|l| l.contains("m-to-file")).unwrap();
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(v["scope"], "global");

    // With a gated file, the decision is made once again.
    let (guard, _) = {
        let console = Captured::default();
        let g = Builder::new()
            .rank_info(RankInfo::new(1, 2, 1, 2).unwrap())
            .console_writer(console.clone())
            .dir(&dir)
            .file_scope(FileScope::Gated)
            .log_bridge(false)
            .build()
            .unwrap();
        (g, console)
    };
    assert!(!ranklog::global(&guard.logger()).is_info_enabled());
    drop(guard);
    let _ = std::fs::remove_dir_all(dir);

    // Without any ranklog logger alive, a scoped logger is the plain child.
    let seen = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let plain = slog::Logger::root(Counting(seen.clone()), o!());
    info!(ranklog::global(&plain), "m-plain");
    assert_eq!(seen.load(std::sync::atomic::Ordering::Relaxed), 1);
}

/// A drain that counts the records it gets.
struct Counting(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl Drain for Counting {
    type Ok = ();
    type Err = slog::Never;
    fn log(&self, _: &slog::Record<'_>, _: &slog::OwnedKVList) -> Result<(), slog::Never> {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }
}
