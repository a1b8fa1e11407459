//! The picture: a header, one panel per node with GPU samples, a timeline of every rank's
//! model loads and requests, and the requests' latency, all on one time axis.
//!
//! Titles and legends are drawn as plain text elements rather than with plotters'
//! caption and series-label boxes, which measure text with a font: an SVG then needs no
//! font file (its viewer draws the text).

use plotters::coord::Shift;
use plotters::prelude::*;

use super::font::FAMILY;
use super::{NodePanel, PlotData};
use crate::analyze::time::{human_span, TimeZoneChoice};
use crate::sink::clock::{self, EpochTime};

const HEADER_PX: u32 = 56;
const NODE_PX: u32 = 320;
const LATENCY_PX: u32 = 280;
/// Timeline height: this much plus a row per rank, within the bounds below.
const TIMELINE_BASE_PX: u32 = 110;
const TIMELINE_ROW_PX: u32 = 18;
const TIMELINE_MAX_PX: u32 = 900;
/// Space above each chart for its title and legend.
const PANEL_TOP_PX: u32 = 50;
const X_LABELS_PX: u32 = 40;
const Y_LABELS_PX: u32 = 80;
const RIGHT_LABELS_PX: u32 = 70;
/// Rough width of a legend character, pixels (legends are laid out without a font).
const LEGEND_CHAR_PX: i32 = 7;
/// Most ranks named one by one in the latency legend.
const LEGEND_RANKS: u32 = 16;

const LOAD_COLOR: RGBColor = RGBColor(230, 126, 34);
const REQUEST_COLOR: RGBColor = RGBColor(52, 101, 164);

/// Panel heights, pixels.
pub(super) struct Layout {
    width: u32,
    nodes: usize,
    timeline: Option<u32>,
    latency: Option<u32>,
}

impl Layout {
    pub(super) fn new(data: &PlotData, width: u32) -> Layout {
        let has_events = !data.loads.is_empty() || !data.requests.is_empty();
        let rows = data.max_rank + 1;
        Layout {
            width,
            nodes: data.nodes.len(),
            timeline: (has_events || data.nodes.is_empty()).then(|| {
                (TIMELINE_BASE_PX + rows.saturating_mul(TIMELINE_ROW_PX)).min(TIMELINE_MAX_PX)
            }),
            latency: (!data.requests.is_empty()).then_some(LATENCY_PX),
        }
    }

    fn heights(&self) -> Vec<u32> {
        let mut h = vec![NODE_PX; self.nodes];
        h.extend(self.timeline);
        h.extend(self.latency);
        h
    }

    pub(super) fn size(&self) -> (u32, u32) {
        (self.width, HEADER_PX + self.heights().iter().sum::<u32>())
    }
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

fn text(size: u32) -> TextStyle<'static> {
    (FAMILY, size).into_font().color(&BLACK)
}

/// How a legend entry is marked.
enum Mark {
    Line(RGBAColor, u32),
    Bar(RGBAColor),
    Dot(RGBAColor),
}

/// A panel's title and legend; returns the area left for the chart.
fn frame<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    legend: &[(String, Mark)],
) -> Result<DrawingArea<DB, Shift>, String> {
    area.draw_text(title, &text(17), (12, 8)).map_err(err)?;
    let (mut x, y) = (Y_LABELS_PX as i32, 36);
    for (label, mark) in legend {
        match *mark {
            Mark::Line(color, width) => area.draw(&PathElement::new(
                vec![(x, y), (x + 22, y)],
                color.stroke_width(width),
            )),
            Mark::Bar(color) => area.draw(&Rectangle::new(
                [(x, y - 5), (x + 22, y + 5)],
                color.filled(),
            )),
            Mark::Dot(color) => area.draw(&Circle::new((x + 11, y), 4, color.filled())),
        }
        .map_err(err)?;
        area.draw_text(label, &text(13), (x + 28, y - 7))
            .map_err(err)?;
        x += 40 + LEGEND_CHAR_PX * label.chars().count() as i32;
    }
    Ok(area.margin(PANEL_TOP_PX, 4, 4, 12))
}

/// Decimals that tell ticks apart over a time span of `span_s`.
fn time_label(span_s: f64) -> impl Fn(&f64) -> String {
    let decimals = match span_s {
        s if s < 1.0 => 3,
        s if s < 10.0 => 2,
        s if s < 100.0 => 1,
        _ => 0,
    };
    move |x: &f64| format!("{x:.decimals$}")
}

pub(super) fn draw<DB: DrawingBackend>(
    backend: DB,
    data: &PlotData,
    layout: &Layout,
) -> Result<(), String> {
    let root = backend.into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let (header, body) = root.split_vertically(HEADER_PX);
    let ranks = data.max_rank + 1;
    let title = format!(
        "ranklog: {} from {} UTC, over {}",
        if data.loads.is_empty() && data.requests.is_empty() {
            "job".to_owned()
        } else {
            format!("{ranks} rank{}", if ranks == 1 { "" } else { "s" })
        },
        clock::format(
            clock::Layout::new("%Y-%m-%d %H:%M:%S", 0, TimeZoneChoice::Utc),
            EpochTime::from_micros(data.start_us)
        ),
        human_span((data.span_s * 1e6) as i64)
    );
    header.draw_text(&title, &text(20), (12, 8)).map_err(err)?;
    let note = if data.nodes.is_empty() {
        "no GPU samples (kind=gpu records) in these logs: model loads and inference requests only"
            .to_owned()
    } else {
        "time in seconds since the first record; shaded: model loads; ticks: inference requests"
            .to_owned()
    };
    header.draw_text(&note, &text(13), (12, 34)).map_err(err)?;

    let mut breaks = Vec::new();
    let mut y = 0;
    for h in layout.heights() {
        y += h;
        breaks.push(y);
    }
    breaks.pop();
    let mut areas = body
        .split_by_breakpoints::<u32, u32, _, _>([], breaks)
        .into_iter();
    for node in &data.nodes {
        let area = areas.next().ok_or("no area for a node panel")?;
        node_panel(&area, node, data.span_s)?;
    }
    if layout.timeline.is_some() {
        let area = areas.next().ok_or("no area for the timeline")?;
        timeline_panel(&area, data)?;
    }
    if layout.latency.is_some() {
        let area = areas.next().ok_or("no area for the latency panel")?;
        latency_panel(&area, data)?;
    }
    root.present().map_err(err)
}

fn node_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    node: &NodePanel,
    span_s: f64,
) -> Result<(), String> {
    let colors: Vec<RGBAColor> = (0..node.gpus.len())
        .map(|i| Palette99::pick(i).to_rgba())
        .collect();
    let mut legend = Vec::new();
    for (gpu, &color) in node.gpus.iter().zip(&colors) {
        legend.push((format!("{} memory", gpu.label), Mark::Line(color, 3)));
        legend.push((
            format!("{} utilization", gpu.label),
            Mark::Line(color.mix(0.45), 1),
        ));
    }
    legend.push(("model load".to_owned(), Mark::Bar(LOAD_COLOR.mix(0.25))));
    legend.push((
        "inference request".to_owned(),
        Mark::Line(REQUEST_COLOR.to_rgba(), 2),
    ));
    let title = match node.mem_total_gib {
        Some(total) => format!(
            "node {}: GPU memory (of {total:.1} GiB per GPU) and utilization",
            node.host
        ),
        None => format!("node {}: GPU memory and utilization", node.host),
    };
    let plot = frame(area, &title, &legend)?;
    let mem_top = (node.mem_peak_gib * 1.15).max(0.1);
    let mut chart = ChartBuilder::on(&plot)
        .x_label_area_size(X_LABELS_PX)
        .y_label_area_size(Y_LABELS_PX)
        .right_y_label_area_size(RIGHT_LABELS_PX)
        .build_cartesian_2d(0f64..span_s, 0f64..mem_top)
        .map_err(err)?
        .set_secondary_coord(0f64..span_s, 0f64..100f64);
    let time_label = time_label(span_s);
    chart
        .configure_mesh()
        .x_desc("seconds since the first record")
        .y_desc("memory used (GiB)")
        .x_label_formatter(&time_label)
        .axis_desc_style(text(13))
        .label_style(text(12))
        .draw()
        .map_err(err)?;
    chart
        .configure_secondary_axes()
        .y_desc("utilization (%)")
        .axis_desc_style(text(13))
        .label_style(text(12))
        .draw()
        .map_err(err)?;
    chart
        .draw_series(node.loads.iter().map(|&(start, end)| {
            Rectangle::new(
                [(start, 0.0), (end, mem_top)],
                LOAD_COLOR.mix(0.12).filled(),
            )
        }))
        .map_err(err)?;
    let tick = mem_top * 0.05;
    chart
        .draw_series(
            node.requests.iter().map(|&t| {
                PathElement::new(vec![(t, 0.0), (t, tick)], REQUEST_COLOR.stroke_width(2))
            }),
        )
        .map_err(err)?;
    for (gpu, &color) in node.gpus.iter().zip(&colors) {
        chart
            .draw_series(LineSeries::new(
                gpu.memory.iter().copied(),
                color.stroke_width(3),
            ))
            .map_err(err)?;
        chart
            .draw_secondary_series(LineSeries::new(
                gpu.util.iter().copied(),
                color.mix(0.45).stroke_width(1),
            ))
            .map_err(err)?;
    }
    Ok(())
}

fn rank_label(y: &f64) -> String {
    if (y - y.round()).abs() < 1e-6 && *y >= 0.0 {
        format!("rank {}", y.round() as i64)
    } else {
        String::new()
    }
}

fn timeline_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    data: &PlotData,
) -> Result<(), String> {
    let legend = [
        ("model load".to_owned(), Mark::Bar(LOAD_COLOR.to_rgba())),
        (
            "inference request".to_owned(),
            Mark::Dot(REQUEST_COLOR.to_rgba()),
        ),
    ];
    let title = if data.loads.is_empty() && data.requests.is_empty() {
        "no model_load or inference records in these logs"
    } else {
        "model loads and inference requests by rank"
    };
    let plot = frame(area, title, &legend)?;
    let top = f64::from(data.max_rank) + 0.5;
    let mut chart = ChartBuilder::on(&plot)
        .x_label_area_size(X_LABELS_PX)
        .y_label_area_size(Y_LABELS_PX)
        .right_y_label_area_size(RIGHT_LABELS_PX)
        .build_cartesian_2d(0f64..data.span_s, -0.5f64..top)
        .map_err(err)?;
    let time_label = time_label(data.span_s);
    chart
        .configure_mesh()
        .x_desc("seconds since the first record")
        .x_label_formatter(&time_label)
        .y_labels(((data.max_rank + 2) as usize).min(40))
        .y_label_formatter(&rank_label)
        .axis_desc_style(text(13))
        .label_style(text(12))
        .draw()
        .map_err(err)?;
    chart
        .draw_series(data.loads.iter().map(|&(rank, start, end)| {
            let r = f64::from(rank);
            Rectangle::new([(start, r - 0.35), (end, r + 0.35)], LOAD_COLOR.filled())
        }))
        .map_err(err)?;
    chart
        .draw_series(
            data.requests
                .iter()
                .map(|&(rank, t, _)| Circle::new((t, f64::from(rank)), 3, REQUEST_COLOR.filled())),
        )
        .map_err(err)?;
    Ok(())
}

fn latency_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    data: &PlotData,
) -> Result<(), String> {
    let ranks = data.max_rank + 1;
    let color = |rank: u32| Palette99::pick(rank as usize).to_rgba();
    let legend: Vec<(String, Mark)> = if ranks <= LEGEND_RANKS {
        (0..ranks)
            .map(|r| (format!("rank {r}"), Mark::Dot(color(r))))
            .collect()
    } else {
        vec![("request (colour by rank)".to_owned(), Mark::Dot(color(0)))]
    };
    let plot = frame(area, "inference latency (ms)", &legend)?;
    let top = data.requests.iter().map(|r| r.2).fold(0.0, f64::max) * 1.1;
    let mut chart = ChartBuilder::on(&plot)
        .x_label_area_size(X_LABELS_PX)
        .y_label_area_size(Y_LABELS_PX)
        .right_y_label_area_size(RIGHT_LABELS_PX)
        .build_cartesian_2d(0f64..data.span_s, 0f64..top.max(1.0))
        .map_err(err)?;
    let time_label = time_label(data.span_s);
    chart
        .configure_mesh()
        .x_desc("seconds since the first record")
        .y_desc("latency (ms)")
        .x_label_formatter(&time_label)
        .axis_desc_style(text(13))
        .label_style(text(12))
        .draw()
        .map_err(err)?;
    chart
        .draw_series(
            data.requests
                .iter()
                .map(|&(rank, t, ms)| Circle::new((t, ms), 3, color(rank).filled())),
        )
        .map_err(err)?;
    Ok(())
}
