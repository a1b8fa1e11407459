//! `RANKLOG_GPU` and `RANKLOG_GPU_INTERVAL` values outside the accepted ones are errors
//! naming the variable, the value and the reason; `off` starts no sampler.

use std::time::Duration;

use ranklog::gpu::{GpuMode, ScriptedGpu, ScriptedSource, MIN_INTERVAL};
use ranklog::{Builder, RankInfo};

fn error(vars: &[(&str, &str)]) -> String {
    Builder::from_vars(vars.iter().copied())
        .expect_err("rejected")
        .to_string()
}

#[test]
fn a_period_below_100ms_names_the_variable_the_value_and_the_nvml_reason() {
    let err = error(&[("RANKLOG_GPU_INTERVAL", "50ms")]);
    assert_eq!(
        err,
        "invalid RANKLOG_GPU_INTERVAL=\"50ms\": below the 100ms minimum: NVML averages \
         utilization over 1/6 s to 1 s, and polling faster holds the driver lock"
    );
    let err = Builder::new()
        .gpu_interval(Duration::from_millis(20))
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.starts_with("invalid Builder::gpu_interval(20ms): below the 100ms minimum"),
        "{err}"
    );
    assert!(Builder::new().gpu_interval(MIN_INTERVAL).is_ok());
}

#[test]
fn bad_modes_and_periods_are_rejected() {
    for (var, value, reason) in [
        ("RANKLOG_GPU", "gpu", "expected off, node or rank"),
        ("RANKLOG_GPU", "", "expected off, node or rank"),
        ("RANKLOG_GPU_INTERVAL", "5", "expected a number and a unit"),
        (
            "RANKLOG_GPU_INTERVAL",
            "fast",
            "expected a number and a unit",
        ),
        ("RANKLOG_GPU_INTERVAL", "2h", "expected a number and a unit"),
        (
            "RANKLOG_GPU_INTERVAL",
            "..s",
            "expected a number before the unit",
        ),
    ] {
        let err = error(&[(var, value)]);
        assert!(
            err.starts_with(&format!("invalid {var}={value:?}: {reason}")),
            "{err}"
        );
    }
    for good in ["500ms", "2s", "0.25s", "1m"] {
        assert!(
            Builder::from_vars([("RANKLOG_GPU_INTERVAL", good)]).is_ok(),
            "{good}"
        );
    }
}

#[test]
fn off_starts_no_sampler_and_never_opens_the_source() {
    let source = ScriptedSource::new(vec![ScriptedGpu::h100(0)]);
    let guard = Builder::from_vars([("RANKLOG_GPU", "OFF")])
        .unwrap()
        .rank_info(RankInfo::new(0, 1, 0, 1).unwrap())
        .no_console()
        .log_bridge(false)
        .gpu_source(source.clone())
        .build()
        .unwrap();
    assert!(guard.gpu().is_none());
    drop(guard);
    assert_eq!(source.edit(|s| s.opens), 0);
    let node = Builder::new()
        .gpu(GpuMode::Node)
        .rank_info(RankInfo::new(0, 1, 0, 1).unwrap());
    let guard = node
        .no_console()
        .log_bridge(false)
        .gpu_source(source.clone())
        .build()
        .unwrap();
    assert!(
        guard.gpu().is_some(),
        "node is the default mode's sampler on a first rank"
    );
}
