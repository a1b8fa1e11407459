//! The summary as aligned text tables.

use std::fmt::Write as _;

use super::{GpuSummary, LevelCounts, RankSummary, StragglerKind, Summary};
use crate::analyze::time::{human_span, TimeZoneChoice};
use crate::sink::clock::{self, EpochTime, Layout};
use crate::sink::escape;
use crate::units;

/// Placeholder of a cell without data.
const NONE: &str = "-";

/// A table whose first `left` columns are left-aligned, the others right-aligned. Columns
/// with no data in any row (every cell `-` or `0`) are left out, except the first `keep`.
struct Table {
    headers: Vec<&'static str>,
    rows: Vec<Vec<String>>,
    left: usize,
    keep: usize,
}

impl Table {
    fn render(&self, out: &mut String) {
        let shown: Vec<usize> = (0..self.headers.len())
            .filter(|&c| c < self.keep || self.rows.iter().any(|r| r[c] != NONE && r[c] != "0"))
            .collect();
        let width = |c: usize| {
            self.rows
                .iter()
                .map(|r| r[c].chars().count())
                .chain([self.headers[c].len()])
                .max()
                .unwrap_or(0)
        };
        let widths: Vec<usize> = shown.iter().map(|&c| width(c)).collect();
        let header: Vec<String> = self.headers.iter().map(|h| (*h).to_owned()).collect();
        for row in std::iter::once(&header).chain(&self.rows) {
            let mut line = String::from(" ");
            for (&c, &w) in shown.iter().zip(&widths) {
                line.push(' ');
                if c < self.left {
                    let _ = write!(line, "{:<w$}", row[c]);
                } else {
                    let _ = write!(line, "{:>w$}", row[c]);
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }
}

/// Text from the logs, escaped onto one line.
fn clean(text: &str) -> String {
    let mut out = Vec::new();
    escape::message_line(&mut out, text);
    String::from_utf8_lossy(&out).into_owned()
}

fn opt(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(|| NONE.to_owned(), |v| format!("{v:.decimals$}"))
}

fn levels_line(l: &LevelCounts) -> String {
    let parts: Vec<String> = [
        (l.critical, "critical"),
        (l.error, "error"),
        (l.warning, "warning"),
        (l.info, "info"),
        (l.debug, "debug"),
        (l.trace, "trace"),
    ]
    .iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, name)| format!("{n} {name}"))
    .collect();
    format!("{}: {}", l.total(), parts.join(", "))
}

/// `us` (microseconds since the epoch) in `layout`.
fn at(layout: Layout, us: i64) -> String {
    clock::format(layout, EpochTime::from_micros(us))
}

pub(super) fn render(s: &Summary, zone: TimeZoneChoice) -> String {
    let day_time = Layout::new("%Y-%m-%d %H:%M:%S", 3, zone);
    let time = Layout::new("%H:%M:%S", 3, zone);
    let zone_name = match zone {
        TimeZoneChoice::Utc => "UTC",
        TimeZoneChoice::Local => "local time",
    };
    let mut out = String::new();
    let job = &s.job;
    out.push_str("job\n");
    let size = job
        .world_size
        .map_or_else(|| "unknown".to_owned(), |n| n.to_string());
    let nodes: Vec<String> = job.nodes.iter().map(|n| clean(n)).collect();
    let _ = writeln!(
        out,
        "  ranks     {} with records (world size {size}) on {} node{}: {}",
        job.ranks.len(),
        nodes.len(),
        if nodes.len() == 1 { "" } else { "s" },
        nodes.join(", ")
    );
    if let Some(launcher) = &job.launcher {
        let _ = writeln!(out, "  launcher  {}", clean(launcher));
    }
    if let (Some(first), Some(last)) = (job.first_us, job.last_us) {
        let _ = writeln!(
            out,
            "  time      {} to {} {zone_name} ({})",
            at(day_time, first),
            at(time, last),
            human_span(last - first)
        );
    }
    let _ = writeln!(out, "  records   {}", levels_line(&job.levels));
    if !job.missing_ranks.is_empty() {
        let _ = writeln!(out, "  missing   ranks {} (no records)", job.missing_ranks);
    }
    if !job.ranks_with_errors.is_empty() {
        let _ = writeln!(out, "  errors    ranks {}", job.ranks_with_errors);
    }
    if !job.ranks_losing_records.is_empty() {
        let _ = writeln!(
            out,
            "  LOST      ranks {} dropped or lost records (their log_stats records)",
            job.ranks_losing_records
        );
    }
    if !job.ranks_missing_at_collector.is_empty() {
        let _ = writeln!(
            out,
            "  OTLP      ranks {}: {} records not delivered to the collector (their otlp_stats records)",
            job.ranks_missing_at_collector, job.otlp_undelivered
        );
    }
    out.push_str("\nranks\n");
    ranks_table(&s.ranks, time).render(&mut out);
    if s.ranks.iter().any(|r| r.log_stats.is_some()) {
        out.push_str("\nlogging (each rank's log_stats record)\n");
        logging_table(&s.ranks).render(&mut out);
    }
    if s.gpus.is_empty() {
        out.push_str("\nGPUs: none sampled (no kind=gpu records)\n");
    } else {
        out.push_str("\nGPUs\n");
        gpus_table(&s.gpus).render(&mut out);
    }
    let o = &s.options;
    let _ = writeln!(
        out,
        "\nstragglers (over {}x the median and {} ms above it for loads, {} ms for latency)",
        o.straggler_ratio, o.load_floor_ms, o.latency_floor_ms
    );
    if s.stragglers.is_empty() {
        out.push_str("  none\n");
    }
    for st in &s.stragglers {
        let what = match st.kind {
            StragglerKind::ModelLoad => "model load",
            StragglerKind::Latency => "p50 latency",
        };
        let _ = writeln!(
            out,
            "  rank {}: {what} {:.1} ms, {:.1}x the median {:.1} ms",
            st.rank,
            st.ms,
            st.ms / st.median_ms,
            st.median_ms
        );
    }
    out
}

/// The sections of [`render`] that start with `job` or `stragglers`.
pub(super) fn render_short(s: &Summary, zone: TimeZoneChoice) -> String {
    render(s, zone)
        .split("\n\n")
        .filter(|section| section.starts_with("job") || section.starts_with("stragglers"))
        .map(|section| section.trim_end_matches('\n'))
        .collect::<Vec<_>>()
        .join("\n\n")
        + "\n"
}

/// A file's size: `units::Bytes` from 1 MiB up, KiB with one decimal below (a short run's
/// files are a few KiB).
fn file_size(bytes: u64) -> String {
    if bytes < 1 << 20 {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    } else {
        units::Bytes(bytes).to_string()
    }
}

fn logging_table(ranks: &[RankSummary]) -> Table {
    let rows = ranks
        .iter()
        .map(|r| match &r.log_stats {
            None => {
                let mut row = vec![r.rank.to_string(), clean(&r.host)];
                row.extend(std::iter::repeat_n(NONE.to_owned(), 6));
                row.push("no log_stats: ended before its logger".to_owned());
                row
            }
            Some(st) => vec![
                r.rank.to_string(),
                clean(&r.host),
                st.written.to_string(),
                st.gated_out.to_string(),
                st.dropped.to_string(),
                st.lost.to_string(),
                file_size(st.file_bytes),
                st.queue_high_water.to_string(),
                if st.lost_any() { "LOST RECORDS" } else { NONE }.to_owned(),
            ],
        })
        .collect();
    Table {
        headers: vec![
            "rank",
            "host",
            "written",
            "gated out",
            "dropped",
            "lost",
            "file",
            "queue peak",
            "note",
        ],
        rows,
        left: 2,
        keep: 2,
    }
}

fn ranks_table(ranks: &[RankSummary], time: Layout) -> Table {
    let rows = ranks
        .iter()
        .map(|r| {
            let l = &r.levels;
            let load = r.load.as_ref();
            let inf = r.inference.as_ref();
            vec![
                r.rank.to_string(),
                clean(&r.host),
                l.total().to_string(),
                l.critical.to_string(),
                l.error.to_string(),
                l.warning.to_string(),
                l.info.to_string(),
                l.debug.to_string(),
                l.trace.to_string(),
                at(time, r.first_us),
                at(time, r.last_us),
                opt(load.map(|l| l.ms), 1),
                opt(load.and_then(|l| l.gb_per_s), 2),
                inf.map_or_else(|| NONE.to_owned(), |i| i.requests.to_string()),
                opt(inf.map(|i| i.p50_ms), 1),
                opt(inf.map(|i| i.p90_ms), 1),
                opt(inf.map(|i| i.p99_ms), 1),
                opt(inf.and_then(|i| i.tokens_per_s), 1),
            ]
        })
        .collect();
    Table {
        headers: vec![
            "rank", "host", "records", "crit", "error", "warn", "info", "debug", "trace", "first",
            "last", "load ms", "GB/s", "requests", "p50 ms", "p90 ms", "p99 ms", "tokens/s",
        ],
        rows,
        left: 2,
        keep: 3,
    }
}

fn gpus_table(gpus: &[GpuSummary]) -> Table {
    let gib = |b: Option<u64>| opt(b.map(units::gib), 2);
    let rows = gpus
        .iter()
        .map(|g| {
            vec![
                clean(&g.host),
                match (g.index, g.mig_index) {
                    (Some(gpu), Some(mig)) => format!("{gpu} mig {mig}"),
                    (Some(gpu), None) => gpu.to_string(),
                    (None, _) => NONE.to_owned(),
                },
                g.uuid.as_deref().map_or_else(|| NONE.to_owned(), clean),
                g.name.as_deref().map_or_else(|| NONE.to_owned(), clean),
                g.samples.to_string(),
                gib(g.peak_mem_used_bytes),
                gib(g.mem_total_bytes),
                opt(g.mean_util_pct, 1),
                opt(g.max_util_pct, 1),
                opt(g.energy_j, 1),
            ]
        })
        .collect();
    Table {
        headers: vec![
            "node",
            "gpu",
            "uuid",
            "name",
            "samples",
            "peak mem GiB",
            "total GiB",
            "util mean %",
            "util max %",
            "energy J",
        ],
        rows,
        left: 4,
        keep: 2,
    }
}
