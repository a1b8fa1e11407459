//! `tracing` events through [`Guard::tracing_layer`](ranklog::Guard::tracing_layer): their
//! fields become key-values with their JSON types, their spans' fields are context, their
//! levels, targets and scopes are ranklog's, `RANKLOG_FILTER` applies to the target, an
//! event that is filtered or gated out is never formatted, and what ranklog filters out
//! still reaches the subscriber's other layers. Each test installs its own subscriber for
//! its thread (`with_default`).
#![cfg(feature = "tracing")]

mod common;

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::{builder_in, count, Captured};
use ranklog::{Guard, RankInfo};
use serde_json::Value;
use tracing_subscriber::layer::SubscriberExt;

/// A logger for rank `rank` of 4 (two per node) with its file in a fresh directory named
/// `name`, the console captured, and `filter` as `RANKLOG_FILTER`.
fn logger(name: &str, rank: u32, filter: Option<&str>) -> (Guard, Captured, std::path::PathBuf) {
    let dir = common::temp_dir(name);
    let console = Captured::default();
    let mut b = builder_in(&dir, RankInfo::new(rank, 4, rank % 2, 2).unwrap())
        .console_writer(console.clone());
    if let Some(f) = filter {
        b = b.filter(f).unwrap();
    }
    (b.build().unwrap(), console, dir)
}

/// Runs `body` with a registry subscriber holding `guard`'s layer, then drops the guard
/// and returns its file's records.
fn traced(guard: Guard, dir: &std::path::Path, body: impl FnOnce()) -> Vec<Value> {
    traced_raw(guard, dir, body).0
}

/// [`traced`], with the file's text too.
fn traced_raw(guard: Guard, dir: &std::path::Path, body: impl FnOnce()) -> (Vec<Value>, String) {
    let subscriber = tracing_subscriber::registry().with(guard.tracing_layer());
    tracing::subscriber::with_default(subscriber, body);
    let path = guard.log_file().unwrap().to_owned();
    drop(guard);
    let records = common::records(&path);
    let raw = std::fs::read_to_string(&path).unwrap();
    let _ = std::fs::remove_dir_all(dir);
    (records, raw)
}

/// The records whose message is `msg`.
fn with_msg<'a>(records: &'a [Value], msg: &str) -> Vec<&'a Value> {
    records.iter().filter(|r| r["msg"] == msg).collect()
}

mod serving {
    /// An event two spans deep; returns the line of the event.
    pub fn handle() -> u32 {
        let request = tracing::info_span!("request", request_id = 7u64, model = "llama");
        let _request = request.enter();
        let decode = tracing::info_span!("decode", step = 3i64, model = "llama-draft");
        let _decode = decode.enter();
        let line = line!() + 1;
        tracing::info!(bytes = 1024u64, ratio = 0.5, ok = true, name = "x", shape = ?[2, 3], "m-fields {}", 5);
        line
    }
}

#[test]
fn fields_are_key_values_and_spans_are_context() {
    let (guard, console, dir) = logger("tracing-fields", 0, None);
    let mut line = 0;
    let (records, raw) = traced_raw(guard, &dir, || line = serving::handle());
    let found = with_msg(&records, "m-fields 5");
    assert_eq!(found.len(), 1, "{records:#?}");
    let r = found[0];
    assert_eq!(r["level"], "info");
    assert_eq!(r["scope"], "process");
    assert_eq!(r["bytes"], 1024);
    assert_eq!(r["ratio"], 0.5);
    assert_eq!(r["ok"], true);
    assert_eq!(r["name"], "x");
    assert_eq!(r["shape"], "[2, 3]");
    assert_eq!(r["request_id"], 7, "the outer span's field: {r}");
    assert_eq!(r["step"], 3, "the inner span's field: {r}");
    assert_eq!(r["model"], "llama-draft", "the innermost span wins: {r}");
    assert!(r.get("message").is_none(), "the message is msg: {r}");
    // The target is the module; file and line are the application's.
    assert_eq!(
        r["module"],
        "tracing_events_carry_fields_spans_levels_and_filters::serving"
    );
    assert_eq!(
        r["file"],
        "tests/tracing_events_carry_fields_spans_levels_and_filters.rs"
    );
    assert_eq!(r["line"], line);
    let text = console.text();
    assert_eq!(count(&text, "m-fields 5"), 1, "{text}");
    let printed = text.lines().find(|l| l.contains("m-fields 5")).unwrap();
    assert!(printed.starts_with("INFO "), "{printed}");
    assert!(printed.contains("[0/4 "), "{printed}");
    // In the order written: the event's fields, then the inner span's, then the outer's.
    let at = |key: &str| {
        printed
            .find(&format!(" {key}="))
            .unwrap_or_else(|| panic!("no {key}= in {printed}"))
    };
    let keys = [
        "bytes",
        "ratio",
        "ok",
        "name",
        "shape",
        "step",
        "model",
        "request_id",
    ];
    for pair in keys.windows(2) {
        assert!(
            at(pair[0]) < at(pair[1]),
            "{pair:?} out of order: {printed}"
        );
    }
    assert_eq!(count(printed, "model="), 1, "{printed}");
    let line = raw.lines().find(|l| l.contains("m-fields 5")).unwrap();
    let json_at = |key: &str| line.find(&format!("\"{key}\":")).unwrap();
    for pair in keys.windows(2) {
        assert!(
            json_at(pair[0]) < json_at(pair[1]),
            "{pair:?} out of order: {line}"
        );
    }
}

#[test]
fn an_events_own_field_wins_over_its_spans() {
    let (guard, _console, dir) = logger("tracing-shadow", 0, None);
    let records = traced(guard, &dir, || {
        let _outer = tracing::info_span!("outer", model = "outer", replica = 2u64).entered();
        tracing::info!(model = "event", "m-shadow");
    });
    let r = with_msg(&records, "m-shadow")[0];
    assert_eq!(r["model"], "event", "{r}");
    assert_eq!(r["replica"], 2, "{r}");
}

#[test]
fn levels_map_to_ranklogs_and_errors_are_never_gated() {
    // Rank 1: not the first of the job.
    let (guard, console, dir) = logger("tracing-levels", 1, None);
    let records = traced(guard, &dir, || {
        tracing::error!(scope = "global", "m-error");
        tracing::warn!(scope = "global", "m-warn-global");
        tracing::warn!("m-warn");
        tracing::info!(scope = "global", "m-info-global");
        tracing::info!(scope = "local", "m-info-local");
        tracing::info!(scope = "ranks:1,3", "m-info-ranks");
        tracing::debug!("m-debug");
        tracing::trace!("m-trace");
    });
    let text = console.text();
    for (msg, printed, level) in [
        ("m-error", 1, Some("error")),
        ("m-warn-global", 0, Some("warning")),
        ("m-warn", 1, Some("warning")),
        ("m-info-global", 0, Some("info")),
        ("m-info-local", 0, Some("info")),
        ("m-info-ranks", 1, Some("info")),
        ("m-debug", 0, None),
        ("m-trace", 0, None),
    ] {
        let lines = text.lines().filter(|l| l.ends_with(msg)).count();
        assert_eq!(lines, printed, "console lines of {msg}:\n{text}");
        let filed = with_msg(&records, msg);
        match level {
            // The file keeps every record above the level, gated or not.
            Some(level) => {
                assert_eq!(filed.len(), 1, "{msg}: {records:#?}");
                assert_eq!(filed[0]["level"], level, "{msg}");
            }
            None => assert!(filed.is_empty(), "{msg}: {filed:?}"),
        }
    }
    assert_eq!(with_msg(&records, "m-info-ranks")[0]["scope"], "ranks:1,3");
}

#[test]
fn a_spans_scope_gates_the_events_inside_unless_they_say_otherwise() {
    let (guard, console, dir) = logger("tracing-span-scope", 1, None);
    traced(guard, &dir, || {
        let _load = tracing::info_span!("load", scope = "global").entered();
        tracing::info!("m-in-global-span");
        tracing::info!(scope = "process", "m-own-scope-wins");
    });
    let text = console.text();
    assert_eq!(count(&text, "m-in-global-span"), 0, "{text}");
    assert_eq!(count(&text, "m-own-scope-wins"), 1, "{text}");
}

#[test]
fn ranklog_filter_directives_match_the_target() {
    let (guard, console, dir) = logger(
        "tracing-filter",
        0,
        Some("info,noisy=error,chatty::deep=debug"),
    );
    let records = traced(guard, &dir, || {
        tracing::info!(target: "noisy", "m-noisy-info");
        tracing::error!(target: "noisy", "m-noisy-error");
        tracing::debug!(target: "chatty::deep::inner", "m-deep-debug");
        tracing::debug!(target: "chatty", "m-chatty-debug");
        tracing::info!("m-app-info");
    });
    let text = console.text();
    for (msg, n) in [
        ("m-noisy-info", 0),
        ("m-noisy-error", 1),
        ("m-deep-debug", 1),
        ("m-chatty-debug", 0),
        ("m-app-info", 1),
    ] {
        assert_eq!(count(&text, msg), n, "console lines of {msg}:\n{text}");
        assert_eq!(with_msg(&records, msg).len(), n, "{msg}: {records:#?}");
    }
    assert_eq!(
        with_msg(&records, "m-deep-debug")[0]["module"],
        "chatty::deep::inner"
    );
}

/// A value that counts how often it is formatted.
#[derive(Clone)]
struct Formatted(Arc<AtomicUsize>);

impl fmt::Debug for Formatted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fetch_add(1, Ordering::Relaxed);
        f.write_str("formatted")
    }
}

#[test]
fn filtered_and_gated_out_events_are_never_formatted() {
    let (guard, console, dir) = logger("tracing-lazy", 1, Some("info,quiet=warn"));
    let formatted = Formatted(Arc::new(AtomicUsize::new(0)));
    let f = formatted.clone();
    let records = traced(guard, &dir, move || {
        tracing::debug!(value = ?f, "m-debug {:?}", f);
        tracing::info!(target: "quiet", value = ?f, "m-filtered {:?}", f);
    });
    assert_eq!(formatted.0.load(Ordering::Relaxed), 0);
    assert!(with_msg(&records, "m-debug formatted").is_empty());
    assert!(with_msg(&records, "m-filtered formatted").is_empty());

    // Gated out on the console, kept in the file: formatted once, for the file.
    let (guard, console2, dir2) = logger("tracing-lazy-gated", 1, None);
    let f = formatted.clone();
    let records = traced(guard, &dir2, move || {
        tracing::info!(value = ?f, scope = "global", "m-gated");
    });
    assert_eq!(with_msg(&records, "m-gated").len(), 1);
    assert_eq!(with_msg(&records, "m-gated")[0]["value"], "formatted");
    assert_eq!(formatted.0.load(Ordering::Relaxed), 1);
    assert_eq!(count(&console.text(), "m-"), 0);
    assert_eq!(count(&console2.text(), "m-gated"), 0);
}

#[test]
fn fields_recorded_later_and_text_messages_are_kept() {
    let (guard, _console, dir) = logger("tracing-record", 0, None);
    let records = traced(guard, &dir, || {
        let span =
            tracing::info_span!("request", request_id = tracing::field::Empty, tokens = 1u64);
        span.record("request_id", 9u64);
        span.record("tokens", 12u64);
        let _in = span.enter();
        tracing::info!(message = "m-text-message", ok = true);
    });
    let r = with_msg(&records, "m-text-message");
    assert_eq!(r.len(), 1, "{records:#?}");
    assert_eq!(r[0]["request_id"], 9, "{}", r[0]);
    assert_eq!(r[0]["tokens"], 12, "{}", r[0]);
    assert_eq!(r[0]["ok"], true, "{}", r[0]);
}

/// Counts the events it sees.
struct Seen(Arc<AtomicUsize>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Seen {
    fn on_event(&self, _: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn what_ranklog_filters_out_still_reaches_the_other_layers() {
    let (guard, console, dir) = logger("tracing-other-layers", 0, None);
    let seen = Arc::new(AtomicUsize::new(0));
    let subscriber = tracing_subscriber::registry()
        .with(guard.tracing_layer())
        .with(Seen(seen.clone()));
    tracing::subscriber::with_default(subscriber, || {
        tracing::debug!("m-debug-for-others");
        tracing::info!("m-info-for-both");
    });
    drop(guard);
    let _ = std::fs::remove_dir_all(dir);
    assert_eq!(seen.load(Ordering::Relaxed), 2);
    let text = console.text();
    assert_eq!(count(&text, "m-debug-for-others"), 0, "{text}");
    assert_eq!(count(&text, "m-info-for-both"), 1, "{text}");
}
