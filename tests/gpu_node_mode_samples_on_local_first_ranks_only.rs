//! `RANKLOG_GPU=node`: only the first rank of each node samples, every GPU of the node,
//! at scope `local`. `RANKLOG_GPU=rank`: every rank samples its own GPUs (from
//! `CUDA_VISIBLE_DEVICES` and its local rank) at scope `process`. Four ranks on two
//! nodes, in one process.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::{count, of_kind, records, temp_dir, wait_until, Captured};
use ranklog::gpu::{GpuDevice, GpuMode, ScriptedGpu, ScriptedSource};
use ranklog::{Builder, RankInfo};

/// What one rank logged.
struct Rank {
    console: String,
    records: Vec<serde_json::Value>,
    source: ScriptedSource,
}

/// Runs ranks 0..4 (two per node, each node with `gpus` scripted GPUs) with builders from
/// `builder`, until every sampling rank has had two rounds.
fn run_job(name: &str, gpus: u32, builder: impl Fn() -> Builder) -> Vec<Rank> {
    let dir = temp_dir(name);
    let mut running = Vec::new();
    for rank in 0..4 {
        let console = Captured::default();
        let source = ScriptedSource::new((0..gpus).map(ScriptedGpu::h100).collect());
        let guard = builder()
            .rank_info(RankInfo::new(rank, 4, rank % 2, 2).unwrap())
            .dir(dir.join(rank.to_string()))
            .console_writer(console.clone())
            .log_bridge(false)
            .gpu_interval(Duration::from_millis(100))
            .unwrap()
            .gpu_source(source.clone())
            .build()
            .unwrap();
        running.push((guard, console, source));
    }
    for (guard, _, _) in &running {
        if let Some(gpu) = guard.gpu() {
            // Each call waits for a round that starts after it: two rounds at least.
            for _ in 0..2 {
                assert!(gpu.sample_now(Duration::from_secs(5)).is_some());
            }
        }
    }
    let ranks = running
        .into_iter()
        .map(|(guard, console, source)| {
            let path: PathBuf = guard.log_file().unwrap().to_owned();
            drop(guard);
            Rank {
                console: console.text(),
                records: records(&path),
                source,
            }
        })
        .collect();
    let _ = std::fs::remove_dir_all(dir);
    ranks
}

/// The GPU indices in each round of a rank's `gpu` records.
fn sampled(rank: &Rank) -> Vec<u64> {
    let mut gpus: Vec<u64> = of_kind(&rank.records, "gpu")
        .iter()
        .map(|r| r["gpu"].as_u64().unwrap())
        .collect();
    gpus.sort_unstable();
    gpus.dedup();
    gpus
}

#[test]
fn in_node_mode_only_the_first_rank_of_each_node_samples_every_gpu() {
    let ranks = run_job("gpu-node", 4, || Builder::new().gpu(GpuMode::Node));
    for (rank, r) in ranks.iter().enumerate() {
        let opens = r.source.edit(|s| s.opens);
        if rank % 2 == 0 {
            assert_eq!(opens, 1, "rank {rank} opens the source once");
            assert_eq!(sampled(r), [0, 1, 2, 3], "rank {rank}");
            for rec in of_kind(&r.records, "gpu") {
                assert_eq!(rec["scope"], "local");
            }
            assert!(count(&r.console, "gpu sample: 0: ") >= 2, "{}", r.console);
            assert!(count(&r.console, "gpu 0 summary: ") == 1, "{}", r.console);
        } else {
            assert_eq!(opens, 0, "rank {rank} never touches the GPUs");
            assert!(of_kind(&r.records, "gpu").is_empty(), "rank {rank}");
            assert!(of_kind(&r.records, "gpu_summary").is_empty(), "rank {rank}");
            assert_eq!(count(&r.console, "gpu"), 0, "{}", r.console);
        }
    }
}

#[test]
fn in_rank_mode_each_rank_samples_its_share_of_the_visible_gpus() {
    let ranks = run_job("gpu-rank", 4, || Builder::new().gpu(GpuMode::Rank));
    for (rank, r) in ranks.iter().enumerate() {
        let own: Vec<u64> = if rank % 2 == 0 {
            vec![0, 1]
        } else {
            vec![2, 3]
        };
        assert_eq!(sampled(r), own, "rank {rank}");
        for rec in of_kind(&r.records, "gpu") {
            assert_eq!(rec["scope"], "process");
        }
        assert!(
            count(&r.console, &format!("gpu sample: {}: ", own[0])) >= 2,
            "{}",
            r.console
        );
    }
}

#[test]
fn in_rank_mode_cuda_visible_devices_names_the_gpus_in_its_order() {
    let builder = || {
        Builder::from_vars([
            ("RANKLOG_GPU", "rank"),
            (
                "CUDA_VISIBLE_DEVICES",
                "GPU-00000000-0000-0000-0000-000000000003,1",
            ),
        ])
        .unwrap()
    };
    let ranks = run_job("gpu-rank-cvd", 4, builder);
    for r in &ranks {
        let order: Vec<u64> = of_kind(&r.records, "gpu")
            .iter()
            .take(2)
            .map(|rec| rec["gpu"].as_u64().unwrap())
            .collect();
        assert_eq!(order, [3, 1]);
        assert_eq!(sampled(r), [1, 3]);
    }
}

#[test]
fn a_bad_visible_device_entry_and_an_ambiguous_index_order_are_warned_about() {
    let dir = temp_dir("gpu-cvd-warnings");
    let run = |vars: &[(&str, &str)]| {
        let console = Captured::default();
        let mut gpus: Vec<_> = (0..3).map(ScriptedGpu::h100).collect();
        gpus[2] = ScriptedGpu::new(GpuDevice::gpu(2, "GPU-l40s").name("NVIDIA L40S"));
        let guard = Builder::from_vars(vars.iter().copied())
            .unwrap()
            .rank_info(RankInfo::new(0, 1, 0, 1).unwrap())
            .dir(&dir)
            .console_writer(console.clone())
            .log_bridge(false)
            .gpu(GpuMode::Rank)
            .gpu_source(ScriptedSource::new(gpus))
            .build()
            .unwrap();
        let gpu = guard.gpu().unwrap();
        let snapshot = gpu.sample_now(Duration::from_secs(5));
        drop(guard);
        let sampled: Vec<u32> = snapshot
            .map(|s| s.gpus.iter().map(|g| g.device.index).collect())
            .unwrap_or_default();
        (console.text(), sampled)
    };
    let (text, sampled) = run(&[("CUDA_VISIBLE_DEVICES", "2,0,7,1")]);
    assert_eq!(sampled, [2, 0]);
    assert_eq!(count(&text, "entry \"7\" matches no GPU"), 1, "{text}");
    assert_eq!(
        count(&text, "set CUDA_DEVICE_ORDER=PCI_BUS_ID"),
        1,
        "{text}"
    );

    let (text, sampled) = run(&[
        ("CUDA_VISIBLE_DEVICES", "2,0"),
        ("CUDA_DEVICE_ORDER", "PCI_BUS_ID"),
    ]);
    assert_eq!(sampled, [2, 0]);
    assert_eq!(count(&text, "CUDA_DEVICE_ORDER"), 0, "{text}");

    let (text, sampled) = run(&[("CUDA_VISIBLE_DEVICES", "GPU-l40s")]);
    assert_eq!(sampled, [2]);
    assert_eq!(
        count(&text, "CUDA_DEVICE_ORDER"),
        0,
        "UUIDs are unambiguous: {text}"
    );

    let (text, sampled) = run(&[("CUDA_VISIBLE_DEVICES", "")]);
    assert!(sampled.is_empty());
    assert_eq!(
        count(&text, "GPU sampling off on ") + count(&text, "leaves this rank no GPU"),
        2,
        "{text}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn rank_mode_without_a_known_local_rank_samples_every_visible_gpu() {
    let source = ScriptedSource::new((0..2).map(ScriptedGpu::h100).collect());
    let mut info = RankInfo::new(1, 2, 1, 2).unwrap();
    info.local_known = false;
    let guard = Builder::new()
        .rank_info(info)
        .no_console()
        .log_bridge(false)
        .gpu(GpuMode::Rank)
        .gpu_source(source)
        .build()
        .unwrap();
    let gpu = guard.gpu().unwrap();
    assert!(wait_until(Duration::from_secs(5), || gpu
        .latest()
        .is_some()));
    assert_eq!(gpu.latest().unwrap().gpus.len(), 2);
}
