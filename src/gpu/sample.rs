//! One device's readings ([`GpuSample`]), one round's ([`GpuSnapshot`]), and how they
//! are written: key-values for the files, a compact text for the console.

use std::fmt::{self, Write as _};
use std::sync::Arc;
use std::time::SystemTime;

use slog::{Key, Record, Serializer, KV};

use super::source::{GpuDevice, GpuMemory, GpuUtilization};
use crate::units::UsedOfTotal;

/// What one device reported in one sampling round. A field is `None` when the device
/// does not offer it (NotSupported) or this user may not read it (NoPermission).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct GpuSample {
    /// Which device.
    pub device: Arc<GpuDevice>,
    /// Memory used, free, total and reserved, in bytes.
    pub memory: Option<GpuMemory>,
    /// GPU and memory utilization in percent; never for MIG devices.
    pub utilization: Option<GpuUtilization>,
    /// Die temperature, °C.
    pub temp_c: Option<u32>,
    /// Power draw, milliwatts.
    pub power_mw: Option<u32>,
    /// SM clock, MHz.
    pub sm_clock_mhz: Option<u32>,
    /// Energy used since this device's previous sample, millijoules (from the total-energy
    /// counter; absent on the first sample).
    pub energy_mj: Option<u64>,
    /// Device memory used by this job's processes, in bytes: this process and its sibling
    /// processes (those with the same parent: the launcher's daemon on this node).
    /// Absent when the driver does not give a process's memory.
    pub job_mem_used_bytes: Option<u64>,
}

impl GpuSample {
    /// A sample of `device` with no readings yet.
    pub fn new(device: Arc<GpuDevice>) -> GpuSample {
        GpuSample {
            device,
            memory: None,
            utilization: None,
            temp_c: None,
            power_mw: None,
            sm_clock_mhz: None,
            energy_mj: None,
            job_mem_used_bytes: None,
        }
    }

    /// The device's label on the console: its index, `3`, or `3.mig1` for MIG device 1 of
    /// GPU 3.
    pub(crate) fn label(&self) -> Label<'_> {
        Label(&self.device)
    }

    /// Appends `0: 12.3/80.0 GiB 97% 310 W` (the fields it has) to `out`.
    pub(crate) fn write_compact(&self, out: &mut String) {
        let _ = write!(out, "{}:", self.label());
        let before = out.len();
        if let Some(m) = self.memory {
            let memory = UsedOfTotal {
                used: m.used_bytes,
                total: m.total_bytes,
            };
            let _ = write!(out, " {memory}");
        }
        if let Some(u) = self.utilization {
            let _ = write!(out, " {}%", u.gpu_pct);
        }
        if let Some(mw) = self.power_mw {
            let _ = write!(out, " {} W", (u64::from(mw) + 500) / 1000);
        }
        if out.len() == before {
            out.push_str(" -");
        }
    }
}

/// `3` or `3.mig1`.
pub(crate) struct Label<'a>(pub(crate) &'a GpuDevice);

impl fmt::Display for Label<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.mig_index {
            Some(mig) => write!(f, "{}.mig{mig}", self.0.index),
            None => write!(f, "{}", self.0.index),
        }
    }
}

impl KV for GpuSample {
    /// The `gpu` record's fields; those the device did not give are left out. slog writes
    /// a record's key-values newest first and ranklog restores the written order, so they
    /// are emitted here last field first.
    fn serialize(&self, _: &Record<'_>, s: &mut dyn Serializer) -> slog::Result {
        let d = &self.device;
        if d.is_mig() {
            s.emit_bool("mig", true)?;
        }
        emit_u64(s, "job_mem_used_bytes", self.job_mem_used_bytes)?;
        emit_u64(s, "energy_mj", self.energy_mj)?;
        emit_u64(s, "sm_clock_mhz", self.sm_clock_mhz.map(u64::from))?;
        emit_u64(s, "power_mw", self.power_mw.map(u64::from))?;
        emit_u64(s, "temp_c", self.temp_c.map(u64::from))?;
        if let Some(u) = self.utilization {
            s.emit_u32("util_mem_pct", u.mem_pct)?;
            s.emit_u32("util_gpu_pct", u.gpu_pct)?;
        }
        if let Some(m) = self.memory {
            s.emit_u64("mem_reserved_bytes", m.reserved_bytes)?;
            s.emit_u64("mem_total_bytes", m.total_bytes)?;
            s.emit_u64("mem_free_bytes", m.free_bytes)?;
            s.emit_u64("mem_used_bytes", m.used_bytes)?;
        }
        emit_identity(d, s)
    }
}

/// `gpu`, `mig_index`, `uuid`, `pci_bus_id`, `name`, emitted last first.
pub(crate) fn emit_identity(d: &GpuDevice, s: &mut dyn Serializer) -> slog::Result {
    if let Some(name) = &d.name {
        s.emit_str("name", name)?;
    }
    if let Some(pci) = &d.pci_bus_id {
        s.emit_str("pci_bus_id", pci)?;
    }
    s.emit_str("uuid", &d.uuid)?;
    emit_u64(s, "mig_index", d.mig_index.map(u64::from))?;
    s.emit_u32("gpu", d.index)
}

/// Emits `key` when there is a value; leaves it out otherwise.
pub(crate) fn emit_u64(s: &mut dyn Serializer, key: Key, value: Option<u64>) -> slog::Result {
    match value {
        Some(v) => s.emit_u64(key, v),
        None => Ok(()),
    }
}

/// One sampling round: every device that answered, in sampling order.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct GpuSnapshot {
    /// When the round began.
    pub taken: SystemTime,
    /// One sample per device; a device that failed this round is missing.
    pub gpus: Vec<GpuSample>,
}

impl GpuSnapshot {
    /// Memory used, summed over the devices with a memory reading, in bytes; `None` when
    /// no device has one.
    pub fn mem_used_bytes(&self) -> Option<u64> {
        self.gpus
            .iter()
            .filter_map(|g| g.memory.map(|m| m.used_bytes))
            .reduce(|a, b| a.saturating_add(b))
    }

    /// How much device memory in use grew from `before` to `self`, in bytes (negative when
    /// it shrank), over the devices with a memory reading in both; `None` when there are
    /// none.
    pub fn mem_used_delta_bytes(&self, before: &GpuSnapshot) -> Option<i64> {
        let mut delta: Option<i128> = None;
        for after in &self.gpus {
            let Some(a) = after.memory else { continue };
            let earlier = before
                .gpus
                .iter()
                .find(|b| b.device.uuid == after.device.uuid)
                .and_then(|b| b.memory);
            if let Some(b) = earlier {
                *delta.get_or_insert(0) += i128::from(a.used_bytes) - i128::from(b.used_bytes);
            }
        }
        delta.map(|d| d.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(index: u32, used: u64, total: u64) -> GpuSample {
        let mut s = GpuSample::new(Arc::new(GpuDevice::gpu(index, format!("GPU-{index}"))));
        s.memory = Some(GpuMemory {
            used_bytes: used,
            total_bytes: total,
            ..GpuMemory::default()
        });
        s
    }

    #[test]
    fn compact_text_uses_gib_above_one_gib_and_mib_below() {
        let mut s = sample(0, 12_884_901_888, 85_899_345_920);
        s.utilization = Some(GpuUtilization {
            gpu_pct: 97,
            mem_pct: 40,
        });
        s.power_mw = Some(310_499);
        let mut out = String::new();
        s.write_compact(&mut out);
        assert_eq!(out, "0: 12.0/80.0 GiB 97% 310 W");

        let mut small = String::new();
        sample(1, 256 << 20, 512 << 20).write_compact(&mut small);
        assert_eq!(small, "1: 256/512 MiB");

        let mut bare = String::new();
        GpuSample::new(Arc::new(GpuDevice::mig(2, 1, "MIG-x"))).write_compact(&mut bare);
        assert_eq!(bare, "2.mig1: -");
    }

    #[test]
    fn memory_delta_counts_only_devices_present_in_both_rounds() {
        let before = GpuSnapshot {
            taken: SystemTime::now(),
            gpus: vec![sample(0, 100, 1000), sample(1, 500, 1000)],
        };
        let after = GpuSnapshot {
            taken: SystemTime::now(),
            gpus: vec![sample(0, 40, 1000), sample(2, 900, 1000)],
        };
        assert_eq!(after.mem_used_delta_bytes(&before), Some(-60));
        assert_eq!(after.mem_used_bytes(), Some(940));
        let none = GpuSnapshot {
            taken: SystemTime::now(),
            gpus: vec![sample(3, 1, 1)],
        };
        assert_eq!(none.mem_used_delta_bytes(&before), None);
    }
}
