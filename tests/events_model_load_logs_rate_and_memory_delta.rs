//! A model load logs its duration, bytes, GB/s and, when this rank samples GPUs, the
//! change of GPU memory across it; a failed or abandoned load logs the error with the same
//! context, at error level.

mod common;

use std::time::Duration;

use common::{of_kind, records, temp_dir};
use ranklog::gpu::{GpuMode, ScriptedGpu, ScriptedSource};
use ranklog::{Builder, RankInfo};

const GIB: u64 = 1 << 30;

fn builder(info: RankInfo, dir: &std::path::Path, source: &ScriptedSource) -> Builder {
    Builder::new()
        .rank_info(info)
        .dir(dir)
        .no_console()
        .log_bridge(false)
        .gpu(GpuMode::Node)
        .gpu_interval(Duration::from_secs(3600))
        .unwrap()
        .gpu_source(source.clone())
}

#[test]
fn a_finished_load_logs_its_rate_and_the_gpu_memory_it_took() {
    let dir = temp_dir("events-load");
    let source = ScriptedSource::new(vec![ScriptedGpu::h100(0), ScriptedGpu::h100(1)]);
    let guard = builder(RankInfo::new(0, 1, 0, 1).unwrap(), &dir, &source)
        .build()
        .unwrap();
    let log = guard.logger();
    let load = guard.events().model_load(&log, "llama-3-70b", 3, 2 * GIB);
    std::thread::sleep(Duration::from_millis(20));
    // The shard lands on GPU 1 (+2.5 GiB), GPU 0 frees some memory (-0.5 GiB).
    source.edit(|s| {
        s.gpus[1] = s.gpus[1].clone().used_bytes(12 * GIB + 5 * GIB / 2);
        s.gpus[0] = s.gpus[0].clone().used_bytes(12 * GIB - GIB / 2);
    });
    let took = load.finish();
    let path = guard.log_file().unwrap().to_owned();
    drop(guard);

    let all = records(&path);
    let loads = of_kind(&all, "model_load");
    assert_eq!(loads.len(), 1);
    let r = loads[0];
    assert_eq!(r["level"], "info");
    assert_eq!(r["name"], "llama-3-70b");
    assert_eq!(r["shard"], 3);
    assert_eq!(r["bytes"], 2 * GIB);
    assert_eq!(r["mem_delta_bytes"], 2 * GIB as i64);
    let ms = r["ms"].as_f64().unwrap();
    assert!(
        ms >= 20.0 && (ms - took.as_secs_f64() * 1e3).abs() < 0.01,
        "{ms} vs {took:?}"
    );
    let rate = r["gb_per_s"].as_f64().unwrap();
    let expected = 2.0 * GIB as f64 / 1e9 / (ms / 1e3);
    assert!(
        (rate - expected).abs() / expected < 0.01,
        "{rate} vs {expected}"
    );
    assert!(r.get("error").is_none());
    assert!(
        r["msg"].as_str().unwrap().contains("GPU memory +2.0 GiB"),
        "{r}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn failed_and_abandoned_loads_are_errors_with_their_context() {
    let dir = temp_dir("events-fail");
    let source = ScriptedSource::new(vec![ScriptedGpu::h100(0)]);
    // The second rank of its node: no sampler here in node mode, so no memory change.
    let guard = builder(RankInfo::new(1, 2, 1, 2).unwrap(), &dir, &source)
        .build()
        .unwrap();
    assert!(guard.gpu().is_none());
    let (log, events) = (guard.logger(), guard.events());

    events.model_load(&log, "m", 0, 10).fail(&"disk full");
    let missing = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
    let result: Result<(), _> = events
        .model_load(&log, "m", 1, 20)
        .finish_with(Err(missing));
    assert!(result.is_err(), "the error is passed on");
    let ok: Result<u8, std::io::Error> = events.model_load(&log, "m", 2, 30).finish_with(Ok(7));
    assert_eq!(ok.unwrap(), 7);
    let _abandoned = (|| -> Result<(), &str> {
        let mut load = events.model_load(&log, "m", 3, 0);
        load.set_bytes(40);
        Err("early return")?;
        load.finish();
        Ok(())
    })();
    let path = guard.log_file().unwrap().to_owned();
    drop(guard);

    let all = records(&path);
    let loads = of_kind(&all, "model_load");
    let summary: Vec<(u64, &str, u64, Option<&str>)> = loads
        .iter()
        .map(|r| {
            (
                r["shard"].as_u64().unwrap(),
                r["level"].as_str().unwrap(),
                r["bytes"].as_u64().unwrap(),
                r.get("error").and_then(|e| e.as_str()),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (0, "error", 10, Some("disk full")),
            (1, "error", 20, Some("no such file")),
            (2, "info", 30, None),
            (
                3,
                "error",
                40,
                Some("dropped before finish() or fail(): an early return?")
            ),
        ]
    );
    for r in &loads {
        assert_eq!(r["name"], "m");
        assert!(r["ms"].is_f64() && r["gb_per_s"].is_f64(), "{r}");
        assert!(
            r.get("mem_delta_bytes").is_none(),
            "no sampler, no delta: {r}"
        );
    }
    assert_eq!(source.edit(|s| s.opens), 0);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn event_records_point_at_the_applications_call_site() {
    let dir = common::temp_dir("events-location");
    let guard = ranklog::Builder::new()
        .rank_info(ranklog::RankInfo::single())
        .no_console()
        .dir(&dir)
        .gpu(ranklog::GpuMode::Off)
        .log_bridge(false)
        .build()
        .unwrap();
    let log = guard.logger();
    let events = guard.events();
    let load = events.model_load(&log, "m", 0, 10);
    let finish_line = line!() + 1;
    load.finish();
    let infer_line = line!() + 1;
    events.inference(
        &log,
        &ranklog::Inference::new(1u32, 1, 1, std::time::Duration::from_millis(1)),
    );
    let start_line = line!() + 1;
    let abandoned = events.model_load(&log, "m", 1, 10);
    drop(abandoned);
    let path = guard.log_file().unwrap().to_owned();
    drop(guard);
    let records = common::records(&path);
    let _ = std::fs::remove_dir_all(dir);
    let at = |kind: &str, nth: usize| {
        let r = common::of_kind(&records, kind)[nth];
        (
            r["file"].as_str().unwrap().to_owned(),
            r["line"].as_u64().unwrap() as u32,
        )
    };
    let here = file!().to_owned();
    assert_eq!(
        at("model_load", 0),
        (here.clone(), finish_line),
        "finish() is where it ends"
    );
    assert_eq!(at("inference", 0), (here.clone(), infer_line));
    assert_eq!(
        at("model_load", 1),
        (here, start_line),
        "an unfinished load points at its start"
    );
}
