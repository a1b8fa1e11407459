//! `ranklog plot`: GPU memory and utilization over time, one panel per node, with model
//! loads and inference requests on the same time axis (plotters; SVG or PNG).

mod draw;
mod font;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::gpu::GpuId;
use super::reader::for_each_record;
use super::record::{Record, Value};
use super::{AnalyzeError, Warnings};
use crate::sink::escape;
use crate::units;

/// How `ranklog plot` draws.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PlotOptions {
    /// Width of the picture, pixels (default 1400); the height follows from the panels.
    pub width_px: u32,
    /// The TrueType font for a PNG's text; `None` looks in `$RANKLOG_FONT`, then in the
    /// usual system places (DejaVu Sans, Liberation Sans, FreeSans, Arial). An SVG needs
    /// no font.
    pub font: Option<PathBuf>,
}

impl Default for PlotOptions {
    fn default() -> Self {
        PlotOptions {
            width_px: 1400,
            font: None,
        }
    }
}

/// What was drawn.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PlotReport {
    /// Nodes with GPU samples, one panel each.
    pub gpu_nodes: usize,
    /// GPUs drawn.
    pub gpus: usize,
    /// `kind=gpu` samples drawn.
    pub gpu_samples: usize,
    /// Model loads drawn as spans.
    pub model_loads: usize,
    /// Inference requests drawn.
    pub inference_requests: usize,
    /// Size of the picture, pixels.
    pub size_px: (u32, u32),
    /// What was wrong with the files.
    pub warnings: Warnings,
}

/// The picture's format, from the output's extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Svg,
    Png,
}

/// One GPU's samples: time (s since the start), memory used (GiB), utilization (%).
#[derive(Default)]
struct GpuSeries {
    label: String,
    memory: Vec<(f64, f64)>,
    util: Vec<(f64, f64)>,
}

/// A node's panel.
#[derive(Default)]
struct NodePanel {
    host: String,
    gpus: Vec<GpuSeries>,
    /// Largest memory used, GiB: the memory axis ends a little above it.
    mem_peak_gib: f64,
    /// Largest memory total, GiB.
    mem_total_gib: Option<f64>,
    /// Model-load spans of the node's ranks, seconds.
    loads: Vec<(f64, f64)>,
    /// Times of the node's ranks' inference records, seconds.
    requests: Vec<f64>,
}

/// Everything drawn, on one time axis in seconds since the first record.
struct PlotData {
    /// The first record's time, microseconds since the epoch.
    start_us: i64,
    /// Seconds from the first record to a little after the last.
    span_s: f64,
    nodes: Vec<NodePanel>,
    /// (rank, start, end) of every model load.
    loads: Vec<(u32, f64, f64)>,
    /// (rank, time, latency ms) of every inference request.
    requests: Vec<(u32, f64, f64)>,
    /// The largest rank with a load or a request.
    max_rank: u32,
}

/// One GPU sample as read.
struct Sample {
    us: i64,
    used_bytes: Option<u64>,
    total_bytes: Option<u64>,
    util_pct: Option<f64>,
}

/// Raw events in microseconds, before the start is known.
#[derive(Default)]
struct Raw {
    first_us: Option<i64>,
    last_us: Option<i64>,
    /// Samples per GPU.
    gpus: BTreeMap<GpuId, Vec<Sample>>,
    /// (rank, host, start us, end us).
    loads: Vec<(u32, String, i64, i64)>,
    /// (rank, host, us, latency ms).
    requests: Vec<(u32, String, i64, f64)>,
}

impl Raw {
    fn add(&mut self, file_rank: Option<u32>, rec: &Record<'_>) {
        let ts = rec.ts_us;
        self.first_us = Some(self.first_us.map_or(ts, |t| t.min(ts)));
        self.last_us = Some(self.last_us.map_or(ts, |t| t.max(ts)));
        let rank = rec.rank.or(file_rank);
        let num = |key| rec.field(key).and_then(Value::as_f64);
        match (rec.kind(), rank) {
            (Some("gpu"), _) => {
                let sample = Sample {
                    us: ts,
                    used_bytes: rec.field("mem_used_bytes").and_then(Value::as_u64),
                    total_bytes: rec.field("mem_total_bytes").and_then(Value::as_u64),
                    util_pct: num("util_gpu_pct"),
                };
                self.gpus.entry(GpuId::of(rec)).or_default().push(sample);
            }
            (Some("model_load"), Some(rank)) => {
                // A failed load (with an `error`) is no span.
                if let Some(ms) = num("ms").filter(|_| rec.field("error").is_none()) {
                    let start = ts - (ms * 1e3).round() as i64;
                    self.loads.push((rank, rec.host.to_string(), start, ts));
                    self.first_us = self.first_us.map(|t| t.min(start));
                }
            }
            (Some("inference"), Some(rank)) => {
                if let Some(ms) = num("latency_ms") {
                    self.requests.push((rank, rec.host.to_string(), ts, ms));
                }
            }
            _ => {}
        }
    }

    fn into_data(self) -> Option<PlotData> {
        let start_us = self.first_us?;
        let secs = |us: i64| (us - start_us) as f64 / 1e6;
        // A little room after the last record, so that its marks are not cut in half.
        let span_s = secs(self.last_us?).max(1e-3) * 1.02;
        let mut nodes: BTreeMap<String, NodePanel> = BTreeMap::new();
        for (id, mut samples) in self.gpus {
            samples.sort_by_key(|s| s.us);
            let node = nodes.entry(id.host.clone()).or_default();
            node.host = clean(&id.host);
            let mut series = GpuSeries {
                label: clean(&id.label()),
                ..GpuSeries::default()
            };
            for sample in samples {
                let t = secs(sample.us);
                if let Some(used) = sample.used_bytes.map(units::gib) {
                    series.memory.push((t, used));
                    node.mem_peak_gib = node.mem_peak_gib.max(used);
                }
                if let Some(total) = sample.total_bytes.map(units::gib) {
                    node.mem_total_gib = Some(node.mem_total_gib.map_or(total, |t| t.max(total)));
                }
                series.util.extend(sample.util_pct.map(|u| (t, u)));
            }
            node.gpus.push(series);
        }
        for (_, host, start, end) in &self.loads {
            if let Some(node) = nodes.get_mut(host) {
                node.loads.push((secs(*start), secs(*end)));
            }
        }
        for (_, host, us, _) in &self.requests {
            if let Some(node) = nodes.get_mut(host) {
                node.requests.push(secs(*us));
            }
        }
        let max_rank = self
            .loads
            .iter()
            .map(|l| l.0)
            .chain(self.requests.iter().map(|r| r.0))
            .max()
            .unwrap_or(0);
        Some(PlotData {
            start_us,
            span_s,
            nodes: nodes.into_values().collect(),
            loads: self
                .loads
                .iter()
                .map(|&(rank, _, s, e)| (rank, secs(s), secs(e)))
                .collect(),
            requests: self
                .requests
                .iter()
                .map(|&(rank, _, us, ms)| (rank, secs(us), ms))
                .collect(),
            max_rank,
        })
    }
}

/// Text from the logs, escaped onto one line (no control character reaches the picture).
fn clean(text: &str) -> String {
    let mut out = Vec::new();
    escape::message_line(&mut out, text);
    String::from_utf8_lossy(&out).into_owned()
}

/// Draws the job's GPU memory and utilization (one panel per node, model loads shaded,
/// requests ticked), then every rank's model loads and requests, and the requests'
/// latency, on one time axis, into `output` (`.svg` or `.png`). Without `kind=gpu`
/// records the picture has the event panels only and says so.
///
/// # Errors
///
/// - [`AnalyzeError::PlotFormat`]: `output` ends in neither `.svg` nor `.png`.
/// - [`AnalyzeError::NoFont`], [`AnalyzeError::BadFont`]: a PNG without a usable font.
/// - Those of [`Merge::open`](super::Merge::open): [`AnalyzeError::NotFound`],
///   [`AnalyzeError::NoRankFiles`], [`AnalyzeError::Read`].
/// - [`AnalyzeError::NothingToPlot`]: the files hold no record.
/// - [`AnalyzeError::Draw`]: drawing or writing the picture failed.
pub fn plot(
    inputs: &[PathBuf],
    output: &Path,
    options: &PlotOptions,
) -> Result<PlotReport, AnalyzeError> {
    let ext = output
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    let format = match ext.as_deref() {
        Some("svg") => Format::Svg,
        Some("png") => Format::Png,
        _ => {
            return Err(AnalyzeError::PlotFormat {
                path: output.to_owned(),
            })
        }
    };
    // An SVG's text is drawn by its viewer: it never needs (or looks for) a font file.
    if format == Format::Png && font::register(options.font.as_deref())?.is_none() {
        return Err(AnalyzeError::NoFont {
            searched: font::searched(),
        });
    }
    let mut warnings = Warnings::default();
    let mut raw = Raw::default();
    for_each_record(inputs, &mut warnings, &mut |rank, rec| raw.add(rank, rec))?;
    let data = raw.into_data().ok_or_else(|| AnalyzeError::NothingToPlot {
        inputs: inputs
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
    })?;
    let layout = draw::Layout::new(&data, options.width_px.max(400));
    let size_px = layout.size();
    let drawn = match format {
        Format::Svg => {
            let backend = plotters::backend::SVGBackend::new(output, size_px);
            draw::draw(backend, &data, &layout)
        }
        Format::Png => {
            let backend = plotters::backend::BitMapBackend::new(output, size_px);
            draw::draw(backend, &data, &layout)
        }
    };
    drawn.map_err(|reason| AnalyzeError::Draw {
        path: output.to_owned(),
        reason,
    })?;
    Ok(PlotReport {
        gpu_nodes: data.nodes.len(),
        gpus: data.nodes.iter().map(|n| n.gpus.len()).sum(),
        gpu_samples: data
            .nodes
            .iter()
            .flat_map(|n| &n.gpus)
            .map(|g| g.memory.len().max(g.util.len()))
            .sum(),
        model_loads: data.loads.len(),
        inference_requests: data.requests.len(),
        size_px,
        warnings,
    })
}
