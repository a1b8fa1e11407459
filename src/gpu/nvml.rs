//! [`NvmlSource`]: the GPUs of this node through NVML (nvml-wrapper), which loads
//! `libnvidia-ml.so.1` at run time.

use std::mem::MaybeUninit;
use std::sync::OnceLock;

use nvml_wrapper::enum_wrappers::device::{Clock, TemperatureSensor};
use nvml_wrapper::enums::device::UsedGpuMemory;
use nvml_wrapper::error::{nvml_sym, nvml_try, NvmlError};
use nvml_wrapper::{Device, Nvml};

use super::source::{GpuDevice, GpuError, GpuMemory, GpuProcess, GpuSource, GpuUtilization};

/// NVML, initialized at most once per process, on first use; a failure is kept too, so
/// that it is not retried either.
static NVML: OnceLock<Result<Nvml, GpuError>> = OnceLock::new();

/// `NVML_DEVICE_MIG_ENABLE`.
const MIG_ENABLED: u32 = 1;

#[doc(alias = "nvmlInit_v2")]
fn nvml() -> Result<&'static Nvml, GpuError> {
    NVML.get_or_init(|| Nvml::init().map_err(GpuError::from))
        .as_ref()
        .map_err(Clone::clone)
}

/// The GPUs of this node through NVML.
///
/// NVML is initialized once per process, at the first [`open`](GpuSource::open), and kept
/// for the life of the process (never re-initialized per sample). A MIG-enabled GPU is
/// listed as its MIG devices, sampled through their MIG handles; a GPU that cannot be
/// reached when the source opens is left out.
#[derive(Default)]
pub struct NvmlSource {
    /// One handle per listed device.
    handles: Vec<Device<'static>>,
}

impl std::fmt::Debug for NvmlSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NvmlSource")
            .field("devices", &self.handles.len())
            .finish()
    }
}

impl NvmlSource {
    /// A source that has not touched NVML yet.
    pub fn new() -> NvmlSource {
        NvmlSource::default()
    }

    fn handle(&self, device: usize) -> Result<&Device<'static>, GpuError> {
        self.handles
            .get(device)
            .ok_or_else(|| GpuError::Other(format!("no NVML device at position {device}")))
    }
}

/// Identity of `handle`, a whole GPU or MIG device `mig` of GPU `index`.
fn identify(
    handle: &Device<'static>,
    index: u32,
    mig: Option<u32>,
    pci_bus_id: Option<String>,
) -> Result<GpuDevice, GpuError> {
    let uuid = handle.uuid()?;
    let device = match mig {
        Some(m) => GpuDevice::mig(index, m, uuid),
        None => GpuDevice::gpu(index, uuid),
    };
    Ok(GpuDevice {
        name: handle.name().ok(),
        pci_bus_id,
        ..device
    })
}

impl GpuSource for NvmlSource {
    fn open(&mut self) -> Result<Vec<GpuDevice>, GpuError> {
        let nvml = nvml()?;
        let count = nvml.device_count()?;
        let mut devices = Vec::new();
        self.handles.clear();
        for index in 0..count {
            let Ok(gpu) = nvml.device_by_index(index) else {
                continue;
            };
            let pci = gpu.pci_info().ok().map(|p| p.bus_id);
            let mig_on = gpu.mig_mode().is_ok_and(|m| m.current == MIG_ENABLED);
            let mut migs = 0;
            if mig_on {
                for m in 0..gpu.mig_device_count().unwrap_or(0) {
                    let Ok(mig) = gpu.mig_device_by_index(m) else {
                        continue;
                    };
                    if let Ok(id) = identify(&mig, index, Some(m), pci.clone()) {
                        devices.push(id);
                        self.handles.push(mig);
                        migs += 1;
                    }
                }
            }
            if migs == 0 {
                if let Ok(id) = identify(&gpu, index, None, pci) {
                    devices.push(id);
                    self.handles.push(gpu);
                }
            }
        }
        Ok(devices)
    }

    fn reopen(&mut self, device: usize, uuid: &str) -> Result<(), GpuError> {
        let fresh = nvml()?.device_by_uuid(uuid)?;
        let slot = self
            .handles
            .get_mut(device)
            .ok_or_else(|| GpuError::Other(format!("no NVML device at position {device}")))?;
        *slot = fresh;
        Ok(())
    }

    fn memory(&mut self, device: usize) -> Result<GpuMemory, GpuError> {
        let handle = self.handle(device)?;
        match handle.memory_info() {
            Ok(m) => Ok(GpuMemory {
                used_bytes: m.used,
                free_bytes: m.free,
                total_bytes: m.total,
                reserved_bytes: m.reserved,
            }),
            Err(NvmlError::FailedToLoadSymbol(_) | NvmlError::FunctionNotFound) => {
                memory_v1(nvml()?, handle)
            }
            Err(e) => Err(e.into()),
        }
    }

    fn utilization(&mut self, device: usize) -> Result<GpuUtilization, GpuError> {
        let u = self.handle(device)?.utilization_rates()?;
        Ok(GpuUtilization {
            gpu_pct: u.gpu,
            mem_pct: u.memory,
        })
    }

    fn temperature_c(&mut self, device: usize) -> Result<u32, GpuError> {
        Ok(self.handle(device)?.temperature(TemperatureSensor::Gpu)?)
    }

    fn power_mw(&mut self, device: usize) -> Result<u32, GpuError> {
        Ok(self.handle(device)?.power_usage()?)
    }

    fn sm_clock_mhz(&mut self, device: usize) -> Result<u32, GpuError> {
        Ok(self.handle(device)?.clock_info(Clock::SM)?)
    }

    fn total_energy_mj(&mut self, device: usize) -> Result<u64, GpuError> {
        Ok(self.handle(device)?.total_energy_consumption()?)
    }

    fn processes(&mut self, device: usize) -> Result<Vec<GpuProcess>, GpuError> {
        let procs = self.handle(device)?.running_compute_processes()?;
        Ok(procs
            .into_iter()
            .map(|p| GpuProcess {
                pid: p.pid,
                used_bytes: match p.used_gpu_memory {
                    UsedGpuMemory::Used(bytes) => Some(bytes),
                    UsedGpuMemory::Unavailable => None,
                },
            })
            .collect())
    }
}

/// Memory through `nvmlDeviceGetMemoryInfo` (version 1), for drivers older than R510,
/// which lack the `_v2` call that nvml-wrapper makes: there `used` counts the memory the
/// driver reserves too, and the reserved part is not given (`reserved_bytes` is 0).
///
/// # Errors
///
/// Those of the call (e.g. [`GpuError::GpuLost`]); [`GpuError::FunctionNotFound`] when the
/// driver lacks this one too.
#[doc(alias = "nvmlDeviceGetMemoryInfo")]
fn memory_v1(nvml: &Nvml, device: &Device<'static>) -> Result<GpuMemory, GpuError> {
    let query = nvml_sym(nvml.lib().nvmlDeviceGetMemoryInfo.as_ref())?;
    let mut memory = MaybeUninit::zeroed();
    // SAFETY: `device` is a handle of this NVML, which stays initialized for the life of
    // the process; `memory` is a zeroed `nvmlMemory_t` that the call fills, and is read
    // only when the call succeeded.
    let m = unsafe {
        nvml_try(query(device.handle(), memory.as_mut_ptr()))?;
        memory.assume_init()
    };
    Ok(GpuMemory {
        used_bytes: m.used,
        free_bytes: m.free,
        total_bytes: m.total,
        reserved_bytes: 0,
    })
}

impl From<NvmlError> for GpuError {
    fn from(err: NvmlError) -> GpuError {
        match err {
            NvmlError::LibloadingError(e) => GpuError::LibraryNotFound(e.to_string()),
            NvmlError::LibraryNotFound => {
                GpuError::LibraryNotFound("libnvidia-ml.so.1 not found".to_owned())
            }
            NvmlError::DriverNotLoaded => GpuError::DriverNotLoaded,
            NvmlError::NotSupported => GpuError::NotSupported,
            NvmlError::NoPermission => GpuError::NoPermission,
            NvmlError::FailedToLoadSymbol(name) => GpuError::FunctionNotFound(name),
            NvmlError::FunctionNotFound => {
                GpuError::FunctionNotFound("a function of this NVML version".to_owned())
            }
            NvmlError::GpuLost => GpuError::GpuLost,
            NvmlError::Unknown => GpuError::Unknown,
            other => GpuError::Other(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nvml_is_initialized_once_and_its_failure_kept() {
        let first = nvml().map(|n| n as *const Nvml);
        let again = nvml().map(|n| n as *const Nvml);
        assert_eq!(first, again);
        assert!(NVML.get().is_some());
    }

    #[test]
    fn nvml_errors_map_to_field_or_device_failures() {
        assert!(GpuError::from(NvmlError::NotSupported).is_unavailable_field());
        assert!(GpuError::from(NvmlError::NoPermission).is_unavailable_field());
        assert!(GpuError::from(NvmlError::FailedToLoadSymbol("f".into())).is_unavailable_field());
        assert_eq!(GpuError::from(NvmlError::GpuLost), GpuError::GpuLost);
        assert!(!GpuError::from(NvmlError::Unknown).is_unavailable_field());
        assert!(!GpuError::from(NvmlError::ResetRequired).is_unavailable_field());
    }
}
