//! `RANKLOG_OTLP=on` never fails a rank: with an `OTEL_*` value the exporter refuses (with
//! feature `otlp`), or in a program built without the feature, the rank logs one
//! `otlp_unavailable` warning naming why, and logs on to its console and file.

mod common;

use common::{of_kind, records, temp_dir, Captured};
use ranklog::{Builder, RankInfo};

/// Builds rank 0's logger (the warning is `global`: its console shows it) with
/// `RANKLOG_OTLP=on`, logs one record, and returns the console and
/// the file's records.
fn run(name: &str) -> (String, Vec<serde_json::Value>) {
    let dir = temp_dir(name);
    let console = Captured::default();
    let guard = Builder::from_vars([("RANKLOG_OTLP", "on")])
        .unwrap()
        .rank_info(RankInfo::new(0, 2, 0, 2).unwrap())
        .dir(&dir)
        .console_writer(console.clone())
        .log_bridge(false)
        .gpu(ranklog::gpu::GpuMode::Off)
        .build()
        .expect("a refused OTLP setting does not fail the build");
    slog::info!(guard.logger(), "still logging");
    let file = guard.log_file().unwrap().to_owned();
    drop(guard);
    let recs = records(&file);
    let _ = std::fs::remove_dir_all(dir);
    (console.text(), recs)
}

#[cfg(feature = "otlp")]
#[test]
fn an_unknown_otlp_protocol_is_a_warning_naming_the_variable() {
    // The only test of this binary that touches the process environment.
    std::env::set_var("OTEL_EXPORTER_OTLP_PROTOCOL", "carrier-pigeon");
    let (console, recs) = run("otlp-bad-protocol");
    let warnings = of_kind(&recs, "otlp_unavailable");
    assert_eq!(warnings.len(), 1, "{recs:?}");
    let reason = warnings[0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("OTEL_EXPORTER_OTLP_PROTOCOL=\"carrier-pigeon\""),
        "{reason}"
    );
    assert!(console.contains("OTLP export off"), "{console}");
    assert!(recs.iter().any(|r| r["msg"] == "still logging"));
    assert!(
        of_kind(&recs, "otlp_stats").is_empty(),
        "no exporter, no otlp_stats"
    );
}

#[cfg(not(feature = "otlp"))]
#[test]
fn without_the_feature_otlp_on_is_a_warning() {
    let (console, recs) = run("otlp-no-feature");
    let warnings = of_kind(&recs, "otlp_unavailable");
    assert_eq!(warnings.len(), 1, "{recs:?}");
    assert!(
        warnings[0]["reason"]
            .as_str()
            .unwrap()
            .contains("without ranklog's feature `otlp`"),
        "{recs:?}"
    );
    assert!(console.contains("OTLP export off"), "{console}");
    assert!(recs.iter().any(|r| r["msg"] == "still logging"));
}
