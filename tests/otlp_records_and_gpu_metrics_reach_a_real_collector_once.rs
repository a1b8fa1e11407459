//! Feature `otlp`, under a real `mpirun -np 4`, against a real OpenTelemetry Collector
//! on loopback (`rotel-agent`, see `common::collector`): every record of every rank, of
//! every scope, arrives exactly once, as a log record under its rank's resource
//! attributes; the scripted GPUs' samples arrive as `hw.gpu.*` metrics, one series per
//! GPU UUID; inference events feed the latency histogram. Over http/protobuf (the
//! default) and over grpc.
//!
//! No extra binary: the test binary runs itself under `mpirun` (the ignored [`PROBE`]
//! test, with `RANKLOG_OTLP_PROBE=1` set).

#![cfg(feature = "otlp")]

mod common;

use std::time::Duration;

use common::collector::{parse, rotel_or_skip, Collector, Item, Request};
use common::mpirun::{mpirun_or_skip, run_status, self_under_mpirun};
use ranklog::gpu::{GpuMode, ScriptedGpu, ScriptedSource};
use ranklog::Inference;

/// The rank side, run by the job.
const PROBE: &str = "probe_rank_logs_to_the_collector";
/// Set (to 1) in the ranks' environment by the job.
const PROBE_ENV: &str = "RANKLOG_OTLP_PROBE";
/// The ranks' log directory.
const DIR_ENV: &str = "RANKLOG_OTLP_PROBE_DIR";
/// Records of scope `process` each rank logs.
const PER_RANK: u32 = 20;
/// Ranks in the job.
const NP: u32 = 4;
/// Scripted GPUs on the node (sampled by rank 0, the node's first rank).
const GPUS: u32 = 2;

/// The rank side: runs only under the job of [`job_delivers`].
#[test]
#[ignore = "child process of this file's tests; run by them under mpirun"]
fn probe_rank_logs_to_the_collector() {
    common::probe_env(PROBE_ENV);
    let dir = common::probe_env(DIR_ENV);
    let info = ranklog::RankInfo::from_env().expect("Open MPI's variables describe this rank");
    let rank = info.rank;
    let guard = ranklog::Builder::from_env()
        .expect("no bad RANKLOG_* variable")
        .rank_info(info)
        .dir(std::path::PathBuf::from(dir))
        .gpu(GpuMode::Node)
        .gpu_interval(Duration::from_millis(100))
        .expect("100 ms is a valid interval")
        .gpu_source(ScriptedSource::new(
            (0..GPUS).map(ScriptedGpu::h100).collect(),
        ))
        .build()
        .expect("logger builds");
    let log = guard.logger();
    for i in 0..PER_RANK {
        slog::info!(log, "otlp-probe rank={} i={}", rank, i; "i" => i, "bytes" => 1u64 << 20);
    }
    slog::info!(log, "otlp-probe global from rank={}", rank; "scope" => "global");
    slog::warn!(log, "otlp-probe local from rank={}", rank; "scope" => "local");
    guard.events().inference(
        &log,
        &Inference::new(
            u64::from(rank),
            8,
            16,
            Duration::from_millis(40 + 10 * u64::from(rank)),
        )
        .ttft(Duration::from_millis(5)),
    );
    if let Some(gpu) = guard.gpu() {
        for _ in 0..2 {
            assert!(gpu.sample_now(Duration::from_secs(10)).is_some());
        }
    }
    drop(guard);
}

/// What one job left: the collector's requests and each rank's file.
struct Delivered {
    requests: Vec<Request>,
    /// Each rank's records, by rank.
    files: Vec<Vec<serde_json::Value>>,
}

/// Runs the job against a fresh collector with `protocol`; `None` when the job cannot run
/// here (a skip line says why).
fn job_delivers(protocol: &str) -> Option<Delivered> {
    let rotel = rotel_or_skip()?;
    let mpirun = mpirun_or_skip()?;
    let dir = common::temp_dir(&format!("otlp-{}", protocol.replace('/', "-")));
    std::fs::create_dir_all(&dir).unwrap();
    let collector = Collector::start(&rotel, &dir.join("rotel.pid"));
    let endpoint = if protocol == "grpc" {
        &collector.grpc
    } else {
        &collector.http
    };
    let dir_text = dir.to_string_lossy().into_owned();
    let cmd = self_under_mpirun(
        &mpirun,
        NP,
        PROBE,
        &[
            (PROBE_ENV, "1"),
            (DIR_ENV, &dir_text),
            ("RANKLOG_OTLP", "on"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
            ("OTEL_SERVICE_NAME", "otlp-probe"),
            ("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=ci"),
        ],
    );
    let job = run_status(cmd, Duration::from_secs(120)).expect("mpirun starts");
    assert!(job.success(), "{}", job.describe());
    let files: Vec<_> = (0..NP)
        .map(|r| common::records(&dir.join(format!("rank-{r:05}.jsonl"))))
        .collect();
    // Every record the ranks exported, and the metrics: the job has ended, so all were
    // sent; the collector prints them as they come.
    let exported: usize = files.iter().map(|f| f.len() - 2).sum();
    let out = collector.wait_for(Duration::from_secs(20), |out| {
        common::count(out, "LogRecord #") >= exported && out.contains("hw.gpu.memory.usage")
    });
    let _ = std::fs::remove_dir_all(&dir);
    Some(Delivered {
        requests: parse(&out),
        files,
    })
}

#[test]
fn over_http_protobuf_every_record_arrives_once_with_its_ranks_resource() {
    if let Some(d) = job_delivers("http/protobuf") {
        check(&d);
    }
}

#[test]
fn over_grpc_every_record_arrives_once_with_its_ranks_resource() {
    if let Some(d) = job_delivers("grpc") {
        check(&d);
    }
}

/// The rank of a request's resource.
fn rank_of(req: &Request) -> u32 {
    let text = req
        .resource("ranklog.rank")
        .expect("ranklog.rank in every resource");
    text.strip_prefix("Int(")
        .and_then(|t| t.strip_suffix(')'))
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("ranklog.rank is not an integer: {text}"))
}

fn check(d: &Delivered) {
    let mut bodies: Vec<Vec<String>> = vec![Vec::new(); NP as usize];
    for req in d.requests.iter().filter(|r| !r.metrics) {
        let rank = rank_of(req);
        let pid = req.resource("process.pid").unwrap_or_default();
        assert!(pid.starts_with("Int("), "process.pid is an integer: {pid}");
        assert_eq!(req.resource("ranklog.world_size"), Some("Int(4)"));
        assert_eq!(
            req.resource("ranklog.local_rank"),
            Some(&*format!("Int({rank})"))
        );
        assert_eq!(req.resource("ranklog.local_size"), Some("Int(4)"));
        // Open MPI's `mpirun` gives no node index: the attribute is left out, not guessed.
        assert_eq!(req.resource("ranklog.node"), None);
        assert_eq!(req.resource("service.name"), Some("Str(otlp-probe)"));
        assert_eq!(req.resource("deployment.environment.name"), Some("Str(ci)"));
        let instance = req.resource("service.instance.id").unwrap_or_default();
        assert!(instance.ends_with(&format!("-{rank})")), "{instance}");
        for item in &req.items {
            bodies[rank as usize].push(item.name.clone());
            if item.name.starts_with("otlp-probe") {
                assert!(
                    item.name.contains(&format!("rank={rank}")),
                    "{:?} arrived under rank {rank}'s resource",
                    item.name
                );
                assert!(item
                    .attribute("code.filepath")
                    .unwrap_or_default()
                    .contains(file!()));
            }
        }
    }
    for (rank, file) in d.files.iter().enumerate() {
        // The file ends with log_stats and otlp_stats, written after the export ended.
        let n = file.len();
        assert_eq!(file[n - 1]["kind"], "log_stats");
        let stats = &file[n - 2];
        assert_eq!(stats["kind"], "otlp_stats");
        assert_eq!(stats["undelivered"], 0, "rank {rank}: {stats}");
        assert_eq!(stats["delivered"], (n - 2) as u64, "rank {rank}: {stats}");
        let mut want: Vec<String> = file[..n - 2]
            .iter()
            .map(|r| r["msg"].as_str().unwrap().to_owned())
            .collect();
        let mut got = bodies[rank].clone();
        want.sort();
        got.sort();
        assert_eq!(
            got, want,
            "rank {rank}: the collector's records are the file's, once each"
        );
        let probes = want.iter().filter(|m| m.starts_with("otlp-probe")).count();
        assert_eq!(
            probes,
            PER_RANK as usize + 2,
            "rank {rank}: every scope is exported"
        );
    }
    // The GPU metrics come from rank 0, the node's sampler: one series per scripted GPU.
    let points: Vec<(u32, &Item)> = d
        .requests
        .iter()
        .filter(|r| r.metrics)
        .flat_map(|r| r.items.iter().map(move |i| (rank_of(r), i)))
        .collect();
    for metric in [
        "hw.gpu.memory.usage",
        "hw.gpu.memory.limit",
        "hw.gpu.utilization",
        "hw.power",
        "hw.temperature",
    ] {
        let mut ids: Vec<(u32, &str)> = points
            .iter()
            .filter(|(_, i)| i.name == metric)
            .map(|(rank, i)| (*rank, i.attribute("hw.id").unwrap_or_default()))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let want: Vec<(u32, String)> = (0..GPUS)
            .map(|g| (0, format!("Str(GPU-00000000-0000-0000-0000-{g:012})")))
            .collect();
        let ids: Vec<(u32, String)> = ids.into_iter().map(|(r, s)| (r, s.to_owned())).collect();
        assert_eq!(ids, want, "{metric}: one series per GPU, from rank 0");
    }
    // Each rank served one request: its latency histogram counts it.
    for rank in 0..NP {
        let counts: Vec<&str> = points
            .iter()
            .filter(|(r, i)| *r == rank && i.name == "gen_ai.server.request.duration")
            .filter_map(|(_, i)| i.value.as_deref())
            .collect();
        assert!(
            counts.contains(&"1"),
            "rank {rank}: request.duration counts {counts:?}"
        );
    }
}
