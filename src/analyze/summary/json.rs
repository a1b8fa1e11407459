//! The summary as one JSON object (`ranklog summary --json`; schema in `docs/cli.md`).

use serde_json::{json, Value};

use super::{LevelCounts, StragglerKind, Summary};
use crate::sink::clock::{self, EpochTime};

fn levels(l: &LevelCounts) -> Value {
    json!({
        "critical": l.critical,
        "error": l.error,
        "warning": l.warning,
        "info": l.info,
        "debug": l.debug,
        "trace": l.trace,
    })
}

/// RFC 3339, UTC, microseconds: the files' own layout.
fn time(us: i64) -> Value {
    Value::String(clock::format(clock::FILE, EpochTime::from_micros(us)))
}

pub(super) fn render(s: &Summary) -> Value {
    let job = &s.job;
    let ranks: Vec<Value> = s
        .ranks
        .iter()
        .map(|r| {
            let mut rank = json!({
                "rank": r.rank,
                "host": r.host,
                "records": r.levels.total(),
                "levels": levels(&r.levels),
                "first": time(r.first_us),
                "last": time(r.last_us),
                "model_load": r.load.map(|l| json!({
                    "loads": l.loads,
                    "ms": l.ms,
                    "bytes": l.bytes,
                    "gb_per_s": l.gb_per_s,
                })),
                "inference": r.inference.map(|i| json!({
                    "requests": i.requests,
                    "p50_ms": i.p50_ms,
                    "p90_ms": i.p90_ms,
                    "p99_ms": i.p99_ms,
                    "tokens_per_s": i.tokens_per_s,
                })),
            });
            if let Some(st) = &r.log_stats {
                rank["log_stats"] = json!({
                    "written": st.written,
                    "gated_out": st.gated_out,
                    "dropped": st.dropped,
                    "lost": st.lost,
                    "file_bytes": st.file_bytes,
                    "queue_high_water": st.queue_high_water,
                });
            }
            rank
        })
        .collect();
    let gpus: Vec<Value> = s
        .gpus
        .iter()
        .map(|g| {
            json!({
                "host": g.host,
                "gpu": g.index,
                "mig_index": g.mig_index,
                "uuid": g.uuid,
                "name": g.name,
                "samples": g.samples,
                "peak_mem_used_bytes": g.peak_mem_used_bytes,
                "mem_total_bytes": g.mem_total_bytes,
                "mean_util_pct": g.mean_util_pct,
                "max_util_pct": g.max_util_pct,
                "energy_j": g.energy_j,
            })
        })
        .collect();
    let stragglers: Vec<Value> = s
        .stragglers
        .iter()
        .map(|st| {
            json!({
                "rank": st.rank,
                "kind": match st.kind {
                    StragglerKind::ModelLoad => "model_load",
                    StragglerKind::Latency => "latency",
                },
                "ms": st.ms,
                "median_ms": st.median_ms,
            })
        })
        .collect();
    json!({
        "job": {
            "world_size": job.world_size,
            "ranks": job.ranks.to_string(),
            "ranks_count": job.ranks.len(),
            "missing_ranks": job.missing_ranks.to_string(),
            "ranks_with_errors": job.ranks_with_errors.to_string(),
            "ranks_losing_records": job.ranks_losing_records.to_string(),
            "ranks_missing_at_collector": job.ranks_missing_at_collector.to_string(),
            "otlp_undelivered": job.otlp_undelivered,
            "nodes": job.nodes,
            "launcher": job.launcher,
            "first": job.first_us.map(time),
            "last": job.last_us.map(time),
            "records": job.levels.total(),
            "levels": levels(&job.levels),
        },
        "ranks": ranks,
        "gpus": gpus,
        "stragglers": stragglers,
        "straggler_rule": {
            "ratio": s.options.straggler_ratio,
            "load_floor_ms": s.options.load_floor_ms,
            "latency_floor_ms": s.options.latency_floor_ms,
        },
        "warnings": s.warnings.messages(),
    })
}
