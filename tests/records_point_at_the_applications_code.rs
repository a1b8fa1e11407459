//! A record's file, line and module are the application's: event records carry the
//! application's module (so `RANKLOG_FILTER` directives for the application apply to
//! them), and ranklog's own records name `ranklog`, never a path into ranklog's sources.

mod common;

use std::time::Duration;

use common::{count, Captured};
use ranklog::{Builder, Inference, RankInfo};

/// This test binary's crate, as `module_path!()` writes it.
const APP: &str = module_path!();

#[test]
fn event_records_carry_the_applications_module_and_obey_its_filter() {
    assert_eq!(ranklog::program_module(), APP);
    let dir = common::temp_dir("app-module");
    let console = Captured::default();
    let guard = Builder::new()
        .rank_info(RankInfo::new(0, 2, 0, 2).unwrap())
        .filter(&format!("info,{APP}=warn,library::model=error"))
        .unwrap()
        .slow_request(Duration::from_millis(100))
        .unwrap()
        .console_writer(console.clone())
        .dir(&dir)
        .log_bridge(false)
        .gpu(ranklog::GpuMode::Off)
        .build()
        .unwrap();
    let (log, events) = (guard.logger(), guard.events());
    // Info: below the application's `warn`, filtered out.
    events.inference(&log, &Inference::new(1, 4, 8, Duration::from_millis(10)));
    // Slow, so a warning: passes the application's `warn`.
    events.inference(&log, &Inference::new(2, 4, 8, Duration::from_millis(500)));
    // A library that names its own module: its `error` directive applies.
    let library = events.clone().module("library::model");
    library.inference(&log, &Inference::new(3, 4, 8, Duration::from_millis(500)));
    events
        .model_load(&log, "weights", 0, 1024)
        .fail(&"disk gone");
    let path = guard.log_file().unwrap().to_owned();
    drop(guard);

    let text = console.text();
    assert_eq!(count(&text, "request 1:"), 0, "{text}");
    assert_eq!(count(&text, "request 2:"), 1, "{text}");
    assert_eq!(count(&text, "request 3:"), 0, "{text}");
    assert_eq!(count(&text, "failed to load"), 1, "{text}");
    let records = common::records(&path);
    let events: Vec<_> = records
        .iter()
        .filter(|r| r["kind"] == "inference" || r["kind"] == "model_load")
        .collect();
    assert_eq!(events.len(), 2, "{records:?}");
    for r in events {
        assert_eq!(r["module"], APP, "{r}");
        assert_eq!(
            r["file"], "tests/records_point_at_the_applications_code.rs",
            "{r}"
        );
    }
}

#[test]
fn ranklogs_own_records_name_ranklog_not_a_source_path() {
    let dir = common::temp_dir("own-records");
    let console = Captured::default();
    let guard = common::builder_in(&dir, RankInfo::new(0, 2, 0, 2).unwrap())
        .console_writer(console.clone())
        .build()
        .unwrap();
    slog::info!(guard.logger(), "from the application");
    let path = guard.log_file().unwrap().to_owned();
    drop(guard);

    let text = console.text();
    let job_start = text
        .lines()
        .find(|l| l.contains("kind=job_start"))
        .unwrap_or_else(|| panic!("no job_start line in {text}"));
    // `LEVEL date time [rank/size host:local] FILE:LINE message ...`
    let after_tag = job_start.split_once("] ").unwrap().1;
    let location = after_tag.split(' ').next().unwrap();
    assert!(
        location.starts_with("ranklog:") && !location.contains('/'),
        "the job's first record points at ranklog, not its sources: {job_start}"
    );
    let app_line = text
        .lines()
        .find(|l| l.contains("from the application"))
        .unwrap();
    assert!(
        app_line.contains(" tests/records_point_at_the_applications_code.rs:"),
        "{app_line}"
    );
    let records = common::records(&path);
    let start = common::of_kind(&records, "job_start")[0];
    assert_eq!(start["file"], "ranklog");
    assert!(
        start["module"].as_str().unwrap().starts_with("ranklog::"),
        "{start}"
    );
}
