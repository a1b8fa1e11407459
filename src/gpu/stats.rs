//! Per-device statistics over the run, and the `gpu_summary` record made of them.

use slog::{Record, Serializer, KV};

use super::sample::{emit_identity, emit_u64, GpuSample};
use super::source::GpuDevice;
use crate::units::UsedOfTotal;

/// What a device's samples add up to.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Stats {
    pub(crate) samples: u64,
    peak_mem_used_bytes: Option<u64>,
    mem_total_bytes: Option<u64>,
    util_sum: u64,
    util_samples: u64,
    max_util_gpu_pct: Option<u32>,
    energy_mj: Option<u64>,
}

impl Stats {
    pub(crate) fn add(&mut self, s: &GpuSample) {
        self.samples += 1;
        if let Some(m) = s.memory {
            self.peak_mem_used_bytes = self.peak_mem_used_bytes.max(Some(m.used_bytes));
            self.mem_total_bytes = Some(m.total_bytes);
        }
        if let Some(u) = s.utilization {
            self.util_sum += u64::from(u.gpu_pct);
            self.util_samples += 1;
            self.max_util_gpu_pct = self.max_util_gpu_pct.max(Some(u.gpu_pct));
        }
        if let Some(e) = s.energy_mj {
            *self.energy_mj.get_or_insert(0) += e;
        }
    }

    /// Mean GPU utilization over the samples that had one, percent, to 0.1.
    fn mean_util_gpu_pct(&self) -> Option<f64> {
        (self.util_samples > 0)
            .then(|| (self.util_sum as f64 / self.util_samples as f64 * 10.0).round() / 10.0)
    }
}

/// One device's `gpu_summary` record.
pub(crate) struct Summary<'a> {
    pub(crate) device: &'a GpuDevice,
    pub(crate) stats: &'a Stats,
}

impl Summary<'_> {
    /// `peak 70.1/80.0 GiB, util mean 85.2% max 100%, 12.3 kJ, 120 samples`.
    pub(crate) fn text(&self) -> String {
        let st = self.stats;
        let mut out = String::new();
        if let (Some(peak), Some(total)) = (st.peak_mem_used_bytes, st.mem_total_bytes) {
            let peak = UsedOfTotal { used: peak, total };
            out.push_str(&format!("peak {peak}, "));
        }
        if let (Some(mean), Some(max)) = (st.mean_util_gpu_pct(), st.max_util_gpu_pct) {
            out.push_str(&format!("util mean {mean:.1}% max {max}%, "));
        }
        if let Some(mj) = st.energy_mj {
            match mj {
                0..1_000 => out.push_str(&format!("{mj} mJ, ")),
                1_000..1_000_000 => out.push_str(&format!("{:.1} J, ", mj as f64 / 1e3)),
                _ => out.push_str(&format!("{:.1} kJ, ", mj as f64 / 1e6)),
            }
        }
        let n = st.samples;
        out.push_str(&format!("{n} sample{}", if n == 1 { "" } else { "s" }));
        out
    }
}

impl KV for Summary<'_> {
    /// Emitted last field first, as [`GpuSample`]'s.
    fn serialize(&self, _: &Record<'_>, s: &mut dyn Serializer) -> slog::Result {
        let st = self.stats;
        s.emit_u64("samples", st.samples)?;
        emit_u64(s, "energy_mj", st.energy_mj)?;
        emit_u64(s, "max_util_gpu_pct", st.max_util_gpu_pct.map(u64::from))?;
        if let Some(mean) = st.mean_util_gpu_pct() {
            s.emit_f64("mean_util_gpu_pct", mean)?;
        }
        emit_u64(s, "peak_mem_used_bytes", st.peak_mem_used_bytes)?;
        emit_identity(self.device, s)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::gpu::{GpuMemory, GpuUtilization};

    #[test]
    fn stats_keep_the_peak_the_mean_and_the_energy() {
        let device = Arc::new(GpuDevice::gpu(0, "GPU-0"));
        let mut stats = Stats::default();
        for (used, util, energy) in [
            (10u64, 20u32, None),
            (30, 90, Some(5u64)),
            (20, 31, Some(7)),
        ] {
            let mut s = GpuSample::new(device.clone());
            s.memory = Some(GpuMemory {
                used_bytes: used << 30,
                total_bytes: 80 << 30,
                ..GpuMemory::default()
            });
            s.utilization = Some(GpuUtilization {
                gpu_pct: util,
                mem_pct: 0,
            });
            s.energy_mj = energy;
            stats.add(&s);
        }
        stats.add(&GpuSample::new(device.clone()));
        assert_eq!(stats.samples, 4);
        assert_eq!(stats.peak_mem_used_bytes, Some(30 << 30));
        assert_eq!(stats.mean_util_gpu_pct(), Some(47.0));
        assert_eq!(stats.max_util_gpu_pct, Some(90));
        assert_eq!(stats.energy_mj, Some(12));
        let summary = Summary {
            device: &device,
            stats: &stats,
        };
        assert_eq!(
            summary.text(),
            "peak 30.0/80.0 GiB, util mean 47.0% max 90%, 12 mJ, 4 samples"
        );
        assert_eq!(
            Summary {
                device: &device,
                stats: &Stats::default()
            }
            .text(),
            "0 samples"
        );
    }
}
