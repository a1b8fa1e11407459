//! Records of crates that use the `log` crate get the rank tag, the gating, the filters
//! and the files. (The `log` logger is process-wide: one test in its own binary.)

mod common;

use common::{count, Captured};
use ranklog::{Builder, RankInfo};

mod chatty_dependency {
    pub fn poll() {
        log::info!("m-chatty-info");
        log::warn!("m-chatty-warn");
        log::info!(target: "chatty_target", "m-custom-target");
    }
}

#[test]
fn log_records_are_tagged_filtered_and_filed() {
    let dir = common::temp_dir("log-bridge");
    let console = Captured::default();
    let guard = Builder::new()
        .rank_info(RankInfo::new(2, 4, 0, 2).unwrap())
        .filter("info,log_crate_records_flow_through_the_pipeline::chatty_dependency=warn,chatty_target=error")
        .unwrap()
        .console_writer(console.clone())
        .dir(&dir)
        .gpu(ranklog::GpuMode::Off)
        .build()
        .unwrap();
    log::info!("m-app-info");
    log::debug!("m-app-debug");
    chatty_dependency::poll();
    let path = guard.log_file().unwrap().to_owned();
    drop(guard);
    // After the guard: still delivered, never a panic.
    log::error!("m-after-guard");

    let text = console.text();
    assert_eq!(count(&text, "m-app-info"), 1, "{text}");
    assert_eq!(
        count(&text, "[2/4 "),
        count(&text, "m-"),
        "every line has the rank tag:\n{text}"
    );
    assert_eq!(count(&text, "m-app-debug"), 0);
    assert_eq!(
        count(&text, "m-chatty-info"),
        0,
        "quieted by its module: {text}"
    );
    assert_eq!(count(&text, "m-chatty-warn"), 1);
    assert_eq!(
        count(&text, "m-custom-target"),
        0,
        "quieted by its target: {text}"
    );
    assert_eq!(count(&text, "m-after-guard"), 1, "{text}");
    assert_eq!(log::max_level(), log::LevelFilter::Info);

    let file = std::fs::read_to_string(path).unwrap();
    let _ = std::fs::remove_dir_all(dir);
    let line = file.lines().find(|l| l.contains("m-app-info")).unwrap();
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(v["rank"], 2);
    assert_eq!(v["module"], "log_crate_records_flow_through_the_pipeline");
}
