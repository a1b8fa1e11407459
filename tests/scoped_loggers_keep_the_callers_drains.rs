//! `ranklog::global` and friends keep the drains of the logger they are made from: on a
//! rank that does not print the scope, a logger composed of ranklog's drain and the
//! application's own (`slog::Duplicate`) still feeds the application's drain every record,
//! with the caller's key-values and the scope; ranklog's console prints only what the rank
//! prints. A logger on other drains only keeps them too. ranklog's own logger still
//! decides once.

mod common;

use std::sync::{Arc, Mutex};

use common::{count, Captured};
use ranklog::{Builder, RankInfo};
use slog::{error, info, o, Drain, Level, Logger, OwnedKVList, Record, Serializer, KV};

/// A drain that keeps each record's level, message and key-values (`key=value` joined).
#[derive(Clone, Default)]
struct Keeping(Arc<Mutex<Vec<(Level, String, String)>>>);

struct Pairs(String);

impl Serializer for Pairs {
    fn emit_arguments(&mut self, key: slog::Key, val: &std::fmt::Arguments<'_>) -> slog::Result {
        self.0.push_str(&format!("{key}={val} "));
        Ok(())
    }
}

impl Drain for Keeping {
    type Ok = ();
    type Err = slog::Never;
    fn log(&self, record: &Record<'_>, values: &OwnedKVList) -> Result<(), slog::Never> {
        let mut pairs = Pairs(String::new());
        let _ = record.kv().serialize(record, &mut pairs);
        let _ = values.serialize(record, &mut pairs);
        self.0
            .lock()
            .unwrap()
            .push((record.level(), record.msg().to_string(), pairs.0));
        Ok(())
    }
}

impl Keeping {
    fn seen(&self, msg: &str) -> Vec<(Level, String)> {
        let seen = self.0.lock().unwrap();
        seen.iter()
            .filter(|(_, m, _)| m == msg)
            .map(|(l, _, kv)| (*l, kv.clone()))
            .collect()
    }
}

#[test]
fn scoped_loggers_keep_the_callers_drains() {
    // Rank 1 of 4: global records are not its to print.
    let console = Captured::default();
    let guard = Builder::new()
        .rank_info(RankInfo::new(1, 4, 1, 4).unwrap())
        .console_writer(console.clone())
        .log_bridge(false)
        .build()
        .unwrap();
    let mine = Keeping::default();
    let both = Logger::root(
        slog::Duplicate::new(guard.drain(), mine.clone()).ignore_res(),
        o!("model" => "llama"),
    );
    let global = ranklog::global(&both);
    assert!(
        global.is_info_enabled(),
        "the application's drain wants info records"
    );
    info!(global, "m-info"; "step" => 1);
    error!(global, "m-error");

    // A logger on the application's drains only, while a ranklog logger is alive.
    let other = Keeping::default();
    let plain = Logger::root(other.clone(), o!("job" => "x"));
    info!(ranklog::local(&plain), "m-plain-info");
    error!(ranklog::local(&plain), "m-plain-error");

    // ranklog's own logger still decides once.
    let own = ranklog::global(&guard.logger());
    assert!(!own.is_info_enabled());
    assert!(own.is_error_enabled());
    info!(own, "m-own-info");
    drop(guard);

    for (msg, level) in [("m-info", Level::Info), ("m-error", Level::Error)] {
        let seen = mine.seen(msg);
        assert_eq!(seen.len(), 1, "{msg}: {seen:?}");
        assert_eq!(seen[0].0, level);
        assert!(
            seen[0].1.contains("scope=global") && seen[0].1.contains("model=llama"),
            "{msg}: {seen:?}"
        );
    }
    assert!(mine.seen("m-info")[0].1.contains("step=1"));
    for msg in ["m-plain-info", "m-plain-error"] {
        let seen = other.seen(msg);
        assert_eq!(seen.len(), 1, "{msg}: {seen:?}");
        assert!(seen[0].1.contains("scope=local") && seen[0].1.contains("job=x"));
    }

    let text = console.text();
    for (m, n) in [
        ("m-info", 0),
        ("m-error", 1),
        ("m-plain", 0),
        ("m-own-info", 0),
    ] {
        assert_eq!(count(&text, m), n, "{m} in\n{text}");
    }
}
