//! `ranklog summary`: per-rank and per-GPU tables and the job's stragglers, from the
//! records of every rank (`docs/cli.md` lists the fields read).

mod json;
mod stats;
mod text;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use slog::Level;

use super::filter::RankSet;
use super::gpu::GpuId;
use super::reader::for_each_record;
use super::record::{Record, Value};
use super::{AnalyzeError, Warnings};
pub use crate::schema::LevelCounts;
use crate::units;

pub use stats::percentile;

/// Thresholds of the straggler check.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct SummaryOptions {
    /// A rank is a straggler when its value is more than this many times the median of
    /// all ranks (default 1.5)...
    pub straggler_ratio: f64,
    /// ...and its model-load time exceeds the median by more than this, milliseconds
    /// (default 100)...
    pub load_floor_ms: f64,
    /// ...or its median inference latency exceeds the median of the ranks' by more than
    /// this, milliseconds (default 5).
    pub latency_floor_ms: f64,
}

impl Default for SummaryOptions {
    fn default() -> Self {
        SummaryOptions {
            straggler_ratio: 1.5,
            load_floor_ms: 100.0,
            latency_floor_ms: 5.0,
        }
    }
}

/// A rank's model loads: `kind=model_load` records with an `ms` field and no `error`.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct LoadSummary {
    /// Number of load records (shards, files).
    pub loads: u64,
    /// Their durations added, milliseconds.
    pub ms: f64,
    /// Their `bytes` added, when every one says.
    pub bytes: Option<u64>,
    /// `bytes / ms` in GB/s (10^9 bytes per second); without `bytes`, the mean of the
    /// records' `gb_per_s`.
    pub gb_per_s: Option<f64>,
}

/// A rank's inference requests: `kind=inference` records with a `latency_ms` field.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct InferenceSummary {
    /// Number of requests.
    pub requests: u64,
    /// Median latency, milliseconds (nearest rank).
    pub p50_ms: f64,
    /// 90th percentile latency, milliseconds.
    pub p90_ms: f64,
    /// 99th percentile latency, milliseconds.
    pub p99_ms: f64,
    /// `completion_tokens` added over latency added; without them, the mean of the
    /// records' `tokens_per_s`.
    pub tokens_per_s: Option<f64>,
}

/// One rank's line of the summary.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct RankSummary {
    /// The rank.
    pub rank: u32,
    /// Its host (the first seen).
    pub host: String,
    /// Records per level.
    pub levels: LevelCounts,
    /// Time of its first record, microseconds since the epoch.
    pub first_us: i64,
    /// Time of its last record, microseconds since the epoch.
    pub last_us: i64,
    /// Its model loads, if it logged any.
    pub load: Option<LoadSummary>,
    /// Its inference requests, if it logged any.
    pub inference: Option<InferenceSummary>,
    /// Its logger's own counts, from its last `kind=log_stats` record (written when the
    /// logger ended; absent for a rank that died first).
    pub log_stats: Option<LogStatsSummary>,
}

/// A rank's logging statistics, from its `kind=log_stats` record
/// ([`ranklog::LogStats`](crate::LogStats)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LogStatsSummary {
    /// Records the rank's logger wrote.
    pub written: u64,
    /// Records its scope gate kept off its console.
    pub gated_out: u64,
    /// Records dropped because its queue was full.
    pub dropped: u64,
    /// Records its file could not take.
    pub lost: u64,
    /// Bytes written to its file.
    pub file_bytes: u64,
    /// The most records waiting in its queue at once.
    pub queue_high_water: u64,
}

impl LogStatsSummary {
    /// Whether the rank dropped or lost records.
    pub fn lost_any(&self) -> bool {
        self.dropped > 0 || self.lost > 0
    }
}

/// One GPU's line of the summary, from `kind=gpu` samples.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct GpuSummary {
    /// The node (`host` of the samples).
    pub host: String,
    /// The GPU's index on its node (`gpu`); the parent GPU's for a MIG device.
    pub index: Option<u64>,
    /// The MIG device's index on its GPU (`mig_index`).
    pub mig_index: Option<u64>,
    /// The GPU's `uuid`.
    pub uuid: Option<String>,
    /// The GPU's `name`, when sampled.
    pub name: Option<String>,
    /// Number of samples.
    pub samples: u64,
    /// Highest `mem_used_bytes`.
    pub peak_mem_used_bytes: Option<u64>,
    /// Highest `mem_total_bytes`.
    pub mem_total_bytes: Option<u64>,
    /// Mean `util_gpu_pct`.
    pub mean_util_pct: Option<f64>,
    /// Highest `util_gpu_pct`.
    pub max_util_pct: Option<f64>,
    /// `energy_mj` (energy since the previous sample) added, joules.
    pub energy_j: Option<f64>,
}

/// What a straggler is slow at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StragglerKind {
    /// Total model-load time.
    ModelLoad,
    /// Median inference latency.
    Latency,
}

/// A rank far slower than the median of the ranks.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct Straggler {
    /// The rank.
    pub rank: u32,
    /// What it is slow at.
    pub kind: StragglerKind,
    /// Its value, milliseconds.
    pub ms: f64,
    /// The median of all ranks' values, milliseconds.
    pub median_ms: f64,
}

/// The job as a whole.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct JobSummary {
    /// The largest world size (`size`) the records give.
    pub world_size: Option<u32>,
    /// Ranks with at least one record.
    pub ranks: RankSet,
    /// Ranks of `0..world_size` without a record.
    pub missing_ranks: RankSet,
    /// Ranks with an `error` or `critical` record.
    pub ranks_with_errors: RankSet,
    /// Ranks whose `log_stats` record says records were dropped or lost.
    pub ranks_losing_records: RankSet,
    /// Ranks whose `otlp_stats` record says the OpenTelemetry Collector did not get some
    /// of their records (feature `otlp`), and how many records in all.
    pub ranks_missing_at_collector: RankSet,
    /// Records the collector did not get, every rank (`undelivered` of `otlp_stats`).
    pub otlp_undelivered: u64,
    /// The nodes (`host` values), sorted.
    pub nodes: Vec<String>,
    /// The launcher named by the `job_start` records.
    pub launcher: Option<String>,
    /// Time of the first record, microseconds since the epoch.
    pub first_us: Option<i64>,
    /// Time of the last record, microseconds since the epoch.
    pub last_us: Option<i64>,
    /// Records per level, every rank.
    pub levels: LevelCounts,
}

/// Everything `ranklog summary` prints.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct Summary {
    /// The job as a whole.
    pub job: JobSummary,
    /// One entry per rank, by rank.
    pub ranks: Vec<RankSummary>,
    /// One entry per GPU, by node then GPU.
    pub gpus: Vec<GpuSummary>,
    /// Ranks far slower than the median, slowest first within each kind.
    pub stragglers: Vec<Straggler>,
    /// The thresholds the stragglers were found with.
    pub options: SummaryOptions,
    /// What was wrong with the files.
    pub warnings: Warnings,
}

impl Summary {
    /// The summary as a table for people: job, ranks, GPUs, stragglers.
    pub fn to_text(&self, zone: super::TimeZoneChoice) -> String {
        text::render(self, zone)
    }

    /// The job and stragglers sections of [`to_text`](Self::to_text) alone: the end of
    /// `ranklog run`.
    pub fn to_short_text(&self, zone: super::TimeZoneChoice) -> String {
        text::render_short(self, zone)
    }

    /// The summary as one JSON object (schema in `docs/cli.md`).
    pub fn to_json(&self) -> serde_json::Value {
        json::render(self)
    }
}

#[derive(Default)]
struct RankAcc {
    host: Option<String>,
    levels: LevelCounts,
    first_us: i64,
    last_us: i64,
    loads: u64,
    load_ms: f64,
    load_bytes: Option<u64>,
    load_rates: Vec<f64>,
    latencies: Vec<f64>,
    tokens: Option<f64>,
    rates: Vec<f64>,
    log_stats: Option<LogStatsSummary>,
    /// `undelivered` of its `otlp_stats` record.
    otlp_undelivered: u64,
}

#[derive(Default)]
struct GpuAcc {
    name: Option<String>,
    samples: u64,
    peak: Option<u64>,
    total: Option<u64>,
    util_sum: f64,
    util_n: u64,
    util_max: Option<f64>,
    energy_mj: Option<f64>,
}

fn num(rec: &Record<'_>, key: &str) -> Option<f64> {
    rec.field(key).and_then(Value::as_f64)
}

/// Reads every record of `inputs` and summarizes the job.
///
/// Memory: one entry per rank and GPU, plus every inference latency (8 bytes each) for
/// the percentiles.
///
/// # Errors
///
/// Those of [`Merge::open`](super::Merge::open): [`AnalyzeError::NotFound`],
/// [`AnalyzeError::NoRankFiles`], [`AnalyzeError::Read`].
pub fn summarize(inputs: &[PathBuf], options: SummaryOptions) -> Result<Summary, AnalyzeError> {
    let mut warnings = Warnings::default();
    let mut ranks: BTreeMap<u32, RankAcc> = BTreeMap::new();
    let mut gpus: BTreeMap<GpuId, GpuAcc> = BTreeMap::new();
    let mut job = JobSummary::default();
    let mut nodes = BTreeSet::new();
    let mut errors = Vec::new();
    for_each_record(inputs, &mut warnings, &mut |file_rank, rec| {
        job.levels.add(rec.level);
        job.first_us = Some(job.first_us.map_or(rec.ts_us, |t| t.min(rec.ts_us)));
        job.last_us = Some(job.last_us.map_or(rec.ts_us, |t| t.max(rec.ts_us)));
        job.world_size = job.world_size.max(rec.size);
        if !rec.host.is_empty() && !nodes.contains(&*rec.host) {
            nodes.insert(rec.host.to_string());
        }
        match rec.kind() {
            Some("job_start") if job.launcher.is_none() => {
                job.launcher = rec
                    .field("launcher")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
            }
            Some("gpu") => gpu_sample(&mut gpus, rec),
            _ => {}
        }
        let Some(rank) = rec.rank.or(file_rank) else {
            return;
        };
        if rec.level.is_at_least(Level::Error) {
            errors.push(rank);
        }
        rank_record(ranks.entry(rank).or_default(), rec);
    })?;
    job.nodes = nodes.into_iter().collect();
    job.ranks = RankSet::from_ranks(ranks.keys().copied());
    job.missing_ranks = job
        .world_size
        .map(|size| job.ranks.complement(size))
        .unwrap_or_default();
    job.ranks_with_errors = RankSet::from_ranks(errors);
    job.ranks_missing_at_collector = RankSet::from_ranks(
        ranks
            .iter()
            .filter(|(_, acc)| acc.otlp_undelivered > 0)
            .map(|(rank, _)| *rank),
    );
    job.otlp_undelivered = ranks.values().map(|acc| acc.otlp_undelivered).sum();
    let ranks: Vec<RankSummary> = ranks.into_iter().map(finish_rank).collect();
    job.ranks_losing_records = RankSet::from_ranks(
        ranks
            .iter()
            .filter(|r| r.log_stats.is_some_and(|s| s.lost_any()))
            .map(|r| r.rank),
    );
    let gpus = gpus.into_iter().map(finish_gpu).collect();
    let stragglers = stats::stragglers(&ranks, &options);
    Ok(Summary {
        job,
        ranks,
        gpus,
        stragglers,
        options,
        warnings,
    })
}

fn rank_record(acc: &mut RankAcc, rec: &Record<'_>) {
    if acc.levels.total() == 0 {
        acc.first_us = rec.ts_us;
        acc.last_us = rec.ts_us;
    }
    acc.levels.add(rec.level);
    acc.first_us = acc.first_us.min(rec.ts_us);
    acc.last_us = acc.last_us.max(rec.ts_us);
    if acc.host.is_none() && !rec.host.is_empty() {
        acc.host = Some(rec.host.to_string());
    }
    match rec.kind() {
        Some("log_stats") => {
            let n = |key| rec.field(key).and_then(Value::as_u64).unwrap_or(0);
            acc.log_stats = Some(LogStatsSummary {
                written: n("written"),
                gated_out: n("gated_out"),
                dropped: n("dropped"),
                lost: n("lost"),
                file_bytes: n("file_bytes"),
                queue_high_water: n("queue_high_water"),
            });
        }
        Some("otlp_stats") => {
            acc.otlp_undelivered = rec
                .field("undelivered")
                .and_then(Value::as_u64)
                .unwrap_or(0);
        }
        Some("model_load") => {
            // A failed load (with an `error`) counts among the errors, not the loads.
            let Some(ms) = num(rec, "ms").filter(|_| rec.field("error").is_none()) else {
                return;
            };
            acc.load_bytes = match (acc.loads, acc.load_bytes, rec.field("bytes")) {
                (0, _, Some(v)) => v.as_u64(),
                (_, Some(sum), Some(v)) => v.as_u64().map(|b| sum.saturating_add(b)),
                _ => None,
            };
            acc.loads += 1;
            acc.load_ms += ms;
            acc.load_rates.extend(num(rec, "gb_per_s"));
        }
        Some("inference") => {
            let Some(latency) = num(rec, "latency_ms") else {
                return;
            };
            acc.tokens = match (
                acc.latencies.len(),
                acc.tokens,
                num(rec, "completion_tokens"),
            ) {
                (0, _, Some(t)) => Some(t),
                (_, Some(sum), Some(t)) => Some(sum + t),
                _ => None,
            };
            acc.latencies.push(latency);
            acc.rates.extend(num(rec, "tokens_per_s"));
        }
        _ => {}
    }
}

fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

fn finish_rank((rank, mut acc): (u32, RankAcc)) -> RankSummary {
    let load = (acc.loads > 0).then(|| LoadSummary {
        loads: acc.loads,
        ms: acc.load_ms,
        bytes: acc.load_bytes,
        gb_per_s: match acc.load_bytes {
            Some(bytes) if acc.load_ms > 0.0 => Some(units::gb_per_s(bytes, acc.load_ms)),
            _ => mean(&acc.load_rates),
        },
    });
    acc.latencies.sort_by(f64::total_cmp);
    let latency_s: f64 = acc.latencies.iter().sum::<f64>() / 1e3;
    let inference = (!acc.latencies.is_empty()).then(|| InferenceSummary {
        requests: acc.latencies.len() as u64,
        p50_ms: percentile(&acc.latencies, 50.0),
        p90_ms: percentile(&acc.latencies, 90.0),
        p99_ms: percentile(&acc.latencies, 99.0),
        tokens_per_s: match acc.tokens {
            Some(tokens) if latency_s > 0.0 => Some(tokens / latency_s),
            _ => mean(&acc.rates),
        },
    });
    RankSummary {
        rank,
        host: acc.host.unwrap_or_default(),
        levels: acc.levels,
        first_us: acc.first_us,
        last_us: acc.last_us,
        load,
        inference,
        log_stats: acc.log_stats,
    }
}

fn gpu_sample(gpus: &mut BTreeMap<GpuId, GpuAcc>, rec: &Record<'_>) {
    let acc = gpus.entry(GpuId::of(rec)).or_default();
    acc.samples += 1;
    if acc.name.is_none() {
        acc.name = rec.field("name").and_then(Value::as_str).map(str::to_owned);
    }
    if let Some(used) = rec.field("mem_used_bytes").and_then(Value::as_u64) {
        acc.peak = acc.peak.max(Some(used));
    }
    if let Some(total) = rec.field("mem_total_bytes").and_then(Value::as_u64) {
        acc.total = acc.total.max(Some(total));
    }
    if let Some(util) = num(rec, "util_gpu_pct") {
        acc.util_sum += util;
        acc.util_n += 1;
        acc.util_max = Some(acc.util_max.map_or(util, |m: f64| m.max(util)));
    }
    if let Some(energy) = num(rec, "energy_mj") {
        acc.energy_mj = Some(acc.energy_mj.unwrap_or(0.0) + energy);
    }
}

fn finish_gpu((id, acc): (GpuId, GpuAcc)) -> GpuSummary {
    GpuSummary {
        host: id.host,
        index: id.index,
        mig_index: id.mig_index,
        uuid: id.uuid,
        name: acc.name,
        samples: acc.samples,
        peak_mem_used_bytes: acc.peak,
        mem_total_bytes: acc.total,
        mean_util_pct: (acc.util_n > 0).then(|| acc.util_sum / acc.util_n as f64),
        max_util_pct: acc.util_max,
        energy_j: acc.energy_mj.map(|mj| mj / 1e3),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_loads_are_errors_not_load_time_and_mig_devices_are_their_own_gpus() {
        let dir = std::env::temp_dir().join(format!("ranklog-summary-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let ts = "\"ts\":\"2026-11-21T04:00:00.000000Z\"";
        let id = "\"rank\":0,\"size\":1,\"host\":\"n\"";
        let lines = [
            format!(
                r#"{{{ts},"level":"info",{id},"kind":"model_load","ms":100.0,"bytes":1000000000}}"#
            ),
            format!(r#"{{{ts},"level":"error",{id},"kind":"model_load","ms":5.0,"error":"disk"}}"#),
            format!(
                r#"{{{ts},"level":"info",{id},"kind":"gpu","gpu":0,"mig_index":1,"uuid":"MIG-b","util_gpu_pct":50}}"#
            ),
            format!(
                r#"{{{ts},"level":"info",{id},"kind":"gpu","gpu":0,"mig_index":0,"uuid":"MIG-a","energy_mj":1500}}"#
            ),
            format!(
                r#"{{{ts},"level":"info",{id},"kind":"inference","latency_ms":20.0,"completion_tokens":10}}"#
            ),
        ];
        std::fs::write(dir.join("rank-00000.jsonl"), lines.join("\n") + "\n").unwrap();
        let s = summarize(std::slice::from_ref(&dir), SummaryOptions::default()).unwrap();
        let load = s.ranks[0].load.unwrap();
        assert_eq!(
            (load.loads, load.ms, load.bytes),
            (1, 100.0, Some(1_000_000_000))
        );
        assert_eq!(load.gb_per_s, Some(10.0));
        assert_eq!(s.ranks[0].levels.error, 1);
        assert_eq!(s.job.ranks_with_errors.to_string(), "0");
        let inference = s.ranks[0].inference.unwrap();
        assert_eq!(
            (inference.requests, inference.tokens_per_s),
            (1, Some(500.0))
        );
        let migs: Vec<_> = s.gpus.iter().map(|g| (g.index, g.mig_index)).collect();
        assert_eq!(migs, [(Some(0), Some(0)), (Some(0), Some(1))]);
        assert_eq!(s.gpus[0].energy_j, Some(1.5));
        assert_eq!(s.gpus[1].mean_util_pct, Some(50.0));
        assert!(s
            .to_text(crate::analyze::TimeZoneChoice::Utc)
            .contains("  n    0 mig 1 MIG-b"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
