//! Metrics from the records: the GPU sampler's `gpu` records become OpenTelemetry's
//! hardware metrics, one series per GPU, and `inference` records feed two histograms.
//!
//! | metric | instrument, unit | from (`docs/schema.md`) | convention |
//! | --- | --- | --- | --- |
//! | `hw.gpu.memory.usage` | up-down counter, `By` | `mem_used_bytes` | semantic conventions, hardware/GPU |
//! | `hw.gpu.memory.limit` | up-down counter, `By` | `mem_total_bytes` | same |
//! | `hw.gpu.utilization` | gauge, `1` (0 to 1) | `util_gpu_pct` / 100 | same |
//! | `hw.gpu.memory.utilization` | gauge, `1` (0 to 1) | `util_mem_pct` / 100 | same |
//! | `hw.power` | gauge, `W` | `power_mw` / 1000 | semantic conventions, hardware (common) |
//! | `hw.temperature` | gauge, `Cel` | `temp_c` | same |
//! | `hw.energy` | counter, `J` | the sum of `energy_mj` / 1000 | same |
//! | `gen_ai.server.request.duration` | histogram, `s` | `latency_ms` / 1000 | semantic conventions, GenAI server |
//! | `gen_ai.server.time_to_first_token` | histogram, `s` | `ttft_ms` / 1000 | same |
//!
//! Each GPU's series carries `hw.id` (its UUID), `hw.type` = `gpu` and `hw.name` (its
//! model). The gauges and up-down counters give each GPU's newest sample when the
//! periodic reader collects (`OTEL_METRIC_EXPORT_INTERVAL`, 60 s by default, and once
//! more at the job's end); a field the GPU did not give is not observed.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use opentelemetry::metrics::{
    Histogram, Meter, MeterProvider as _, ObservableCounter, ObservableGauge,
    ObservableUpDownCounter,
};
use opentelemetry::KeyValue;
use opentelemetry_sdk::metrics::SdkMeterProvider;

use crate::sink::record::{Collected, Val};

/// Bucket bounds of `gen_ai.server.request.duration`, seconds (the convention's advice).
const DURATION_BOUNDS: [f64; 14] = [
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];
/// Bucket bounds of `gen_ai.server.time_to_first_token`, seconds (the convention's advice).
const TTFT_BOUNDS: [f64; 16] = [
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// One GPU's newest readings.
#[derive(Clone, Debug, Default, PartialEq)]
struct Reading {
    attributes: Vec<KeyValue>,
    mem_used_bytes: Option<i64>,
    mem_total_bytes: Option<i64>,
    util_gpu: Option<f64>,
    util_mem: Option<f64>,
    power_w: Option<f64>,
    temp_c: Option<f64>,
    /// Energy summed over the samples so far, joules.
    energy_j: f64,
}

/// The newest reading of each GPU, by UUID.
#[derive(Clone, Default)]
struct Table(Arc<Mutex<BTreeMap<String, Reading>>>);

impl Table {
    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Reading>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Observes `field` of every GPU that has it.
    fn each<T>(
        &self,
        field: impl Fn(&Reading) -> Option<T>,
        mut observe: impl FnMut(T, &[KeyValue]),
    ) {
        for r in self.lock().values() {
            if let Some(v) = field(r) {
                observe(v, &r.attributes);
            }
        }
    }
}

/// The instruments, kept alive with the meter provider.
pub(super) struct Instruments {
    table: Table,
    duration: Histogram<f64>,
    ttft: Histogram<f64>,
    _memory: [ObservableUpDownCounter<i64>; 2],
    _ratios: [ObservableGauge<f64>; 4],
    _energy: ObservableCounter<f64>,
}

impl Instruments {
    /// Registers the instruments of the table above on `provider`'s `ranklog` meter.
    pub(super) fn new(provider: &SdkMeterProvider) -> Instruments {
        let meter = provider.meter(super::SCOPE_NAME);
        let table = Table::default();
        let memory = |name: &'static str, field: fn(&Reading) -> Option<i64>| {
            let t = table.clone();
            meter
                .i64_observable_up_down_counter(name)
                .with_unit("By")
                .with_callback(move |o| t.each(field, |v, a| o.observe(v, a)))
                .build()
        };
        let gauge = |name: &'static str, unit: &'static str, field: fn(&Reading) -> Option<f64>| {
            let t = table.clone();
            meter
                .f64_observable_gauge(name)
                .with_unit(unit)
                .with_callback(move |o| t.each(field, |v, a| o.observe(v, a)))
                .build()
        };
        let energy = {
            let t = table.clone();
            meter
                .f64_observable_counter("hw.energy")
                .with_unit("J")
                .with_callback(move |o| t.each(|r| Some(r.energy_j), |v, a| o.observe(v, a)))
                .build()
        };
        Instruments {
            _memory: [
                memory("hw.gpu.memory.usage", |r| r.mem_used_bytes),
                memory("hw.gpu.memory.limit", |r| r.mem_total_bytes),
            ],
            _ratios: [
                gauge("hw.gpu.utilization", "1", |r| r.util_gpu),
                gauge("hw.gpu.memory.utilization", "1", |r| r.util_mem),
                gauge("hw.power", "W", |r| r.power_w),
                gauge("hw.temperature", "Cel", |r| r.temp_c),
            ],
            _energy: energy,
            duration: histogram(&meter, "gen_ai.server.request.duration", &DURATION_BOUNDS),
            ttft: histogram(&meter, "gen_ai.server.time_to_first_token", &TTFT_BOUNDS),
            table,
        }
    }

    /// Takes the metrics out of a `gpu` or `inference` record; other records are left.
    pub(super) fn observe(&self, c: &Collected) {
        match text(c, "kind") {
            Some("gpu") => self.gpu(c),
            Some("inference") => {
                if let Some(ms) = number(c, "latency_ms") {
                    self.duration.record(ms / 1000.0, &[]);
                }
                if let Some(ms) = number(c, "ttft_ms") {
                    self.ttft.record(ms / 1000.0, &[]);
                }
            }
            _ => {}
        }
    }

    fn gpu(&self, c: &Collected) {
        let Some(uuid) = text(c, "uuid") else { return };
        let mut table = self.table.lock();
        let r = table.entry(uuid.to_owned()).or_insert_with(|| Reading {
            attributes: gpu_attributes(uuid, text(c, "name")),
            ..Reading::default()
        });
        let int = |key| number(c, key).map(|v| v as i64);
        r.mem_used_bytes = int("mem_used_bytes");
        r.mem_total_bytes = int("mem_total_bytes");
        r.util_gpu = number(c, "util_gpu_pct").map(|p| p / 100.0);
        r.util_mem = number(c, "util_mem_pct").map(|p| p / 100.0);
        r.power_w = number(c, "power_mw").map(|mw| mw / 1000.0);
        r.temp_c = number(c, "temp_c");
        r.energy_j += number(c, "energy_mj").unwrap_or(0.0) / 1000.0;
    }
}

/// A histogram in seconds with the convention's bucket bounds.
fn histogram(meter: &Meter, name: &'static str, bounds: &[f64]) -> Histogram<f64> {
    meter
        .f64_histogram(name)
        .with_unit("s")
        .with_boundaries(bounds.to_vec())
        .build()
}

/// The attributes of one GPU's series.
fn gpu_attributes(uuid: &str, name: Option<&str>) -> Vec<KeyValue> {
    let mut a = vec![
        KeyValue::new("hw.id", uuid.to_owned()),
        KeyValue::new("hw.type", "gpu"),
    ];
    if let Some(name) = name {
        a.push(KeyValue::new("hw.name", name.to_owned()));
    }
    a
}

/// The value of `key` in `c`.
fn find<'c>(c: &'c Collected, key: &str) -> Option<&'c Val> {
    c.pairs().find(|(k, _)| *k == key).map(|(_, v)| v)
}

fn text<'c>(c: &'c Collected, key: &str) -> Option<&'c str> {
    match find(c, key)? {
        Val::Str(r) => Some(c.text(r)),
        _ => None,
    }
}

fn number(c: &Collected, key: &str) -> Option<f64> {
    match find(c, key)? {
        Val::U64(n) => Some(*n as f64),
        Val::I64(n) => Some(*n as f64),
        Val::F64(x) => Some(*x),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::record::with_collected;
    use slog::{o, Level, OwnedKVList};

    #[test]
    fn a_gpu_record_becomes_its_gpus_reading_in_the_conventions_units() {
        let provider = SdkMeterProvider::builder().build();
        let instruments = Instruments::new(&provider);
        let kv = o!("kind" => "gpu", "gpu" => 0u32, "uuid" => "GPU-1", "name" => "H100",
            "mem_used_bytes" => 1024u64, "mem_total_bytes" => 4096u64, "util_gpu_pct" => 50u32,
            "power_mw" => 300_500u32, "temp_c" => 61u32, "energy_mj" => 2500u64);
        for _ in 0..2 {
            with_collected(
                Level::Info,
                format_args!("s"),
                &kv,
                &OwnedKVList::from(o!()),
                |c| instruments.observe(c),
            );
        }
        let table = instruments.table.lock();
        let r = &table["GPU-1"];
        assert_eq!(
            (r.mem_used_bytes, r.mem_total_bytes),
            (Some(1024), Some(4096))
        );
        assert_eq!((r.util_gpu, r.util_mem), (Some(0.5), None));
        assert_eq!((r.power_w, r.temp_c), (Some(300.5), Some(61.0)));
        assert_eq!(r.energy_j, 5.0);
        assert_eq!(r.attributes, gpu_attributes("GPU-1", Some("H100")));
    }
}
