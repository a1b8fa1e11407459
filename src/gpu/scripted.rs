//! [`ScriptedSource`]: GPUs whose readings, unsupported fields and failures a test writes.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::source::{GpuDevice, GpuError, GpuMemory, GpuProcess, GpuSource, GpuUtilization};

/// A [`GpuSource`] that answers from a [`Script`], for tests and benchmarks: fields,
/// NotSupported answers, slow queries and failures can all be injected, also while the
/// sampler runs (clones share the script).
///
/// # Examples
///
/// ```
/// use ranklog::gpu::{GpuError, GpuMode, ScriptedGpu, ScriptedSource};
///
/// let source = ScriptedSource::new(vec![ScriptedGpu::h100(0), ScriptedGpu::h100(1)]);
/// source.edit(|s| s.gpus[1].power_mw = Err(GpuError::NotSupported));
/// let guard = ranklog::Builder::new()
///     .no_console()
///     .gpu(GpuMode::Node)
///     .gpu_source(source.clone())
///     .build()?;
/// let handle = guard.gpu().expect("a node's first rank samples in node mode");
/// let snapshot = handle.sample_now(std::time::Duration::from_secs(5)).expect("a round");
/// assert_eq!(snapshot.gpus.len(), 2);
/// assert_eq!(snapshot.gpus[1].power_mw, None);
/// source.edit(|s| s.gpus[0].failure = Some(GpuError::GpuLost));
/// # Ok::<(), ranklog::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct ScriptedSource {
    script: Arc<Mutex<Script>>,
}

/// What a [`ScriptedSource`] answers, and what it was asked.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Script {
    /// When set, [`GpuSource::open`] fails with it (no driver, no library).
    pub open_error: Option<GpuError>,
    /// The node's devices, in the order `open` lists them.
    pub gpus: Vec<ScriptedGpu>,
    /// How long every query takes, to stand for a slow driver.
    pub delay: Duration,
    /// Calls to `open` so far.
    pub opens: u32,
    /// Calls to `reopen` answered so far.
    pub reopens: u32,
    /// Per-device queries answered so far (`memory`, `utilization`, ...).
    pub queries: u64,
}

/// One scripted device: each query's answer.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ScriptedGpu {
    /// Its identity.
    pub device: GpuDevice,
    /// Answer to `memory`.
    pub memory: Result<GpuMemory, GpuError>,
    /// Answer to `utilization`.
    pub utilization: Result<GpuUtilization, GpuError>,
    /// Answer to `temperature_c`.
    pub temperature_c: Result<u32, GpuError>,
    /// Answer to `power_mw`.
    pub power_mw: Result<u32, GpuError>,
    /// Answer to `sm_clock_mhz`.
    pub sm_clock_mhz: Result<u32, GpuError>,
    /// The energy counter, in millijoules; each `total_energy_mj` query first adds
    /// [`energy_step_mj`](Self::energy_step_mj) to it.
    pub total_energy_mj: Result<u64, GpuError>,
    /// What the energy counter grows by per query, in millijoules.
    pub energy_step_mj: u64,
    /// Answer to `processes`.
    pub processes: Result<Vec<GpuProcess>, GpuError>,
    /// When set, every query about this device, and `reopen`, fails with it.
    pub failure: Option<GpuError>,
}

const GIB: u64 = 1 << 30;

impl ScriptedGpu {
    /// A healthy device: 80 GiB of which 12 GiB used, 50 % busy, 45 °C, 300 W, 1980 MHz,
    /// 1.5 J more energy per query, no processes.
    pub fn new(device: GpuDevice) -> ScriptedGpu {
        ScriptedGpu {
            device,
            memory: Ok(GpuMemory {
                used_bytes: 12 * GIB,
                free_bytes: 67 * GIB,
                total_bytes: 80 * GIB,
                reserved_bytes: GIB,
            }),
            utilization: Ok(GpuUtilization {
                gpu_pct: 50,
                mem_pct: 20,
            }),
            temperature_c: Ok(45),
            power_mw: Ok(300_000),
            sm_clock_mhz: Ok(1980),
            total_energy_mj: Ok(1_000_000_000),
            energy_step_mj: 1_500,
            processes: Ok(Vec::new()),
            failure: None,
        }
    }

    /// GPU `index` of a node of H100s, with UUID `GPU-00000000-0000-0000-0000-0000000000NN`
    /// and a PCI bus id.
    pub fn h100(index: u32) -> ScriptedGpu {
        ScriptedGpu::new(
            GpuDevice::gpu(index, format!("GPU-00000000-0000-0000-0000-{index:012}"))
                .name("NVIDIA H100 80GB HBM3")
                .pci_bus_id(format!("00000000:{:02X}:00.0", 0x18 + index * 0x10)),
        )
    }

    /// Sets the memory in use (bytes), keeping the total.
    pub fn used_bytes(mut self, used: u64) -> ScriptedGpu {
        if let Ok(m) = &mut self.memory {
            m.used_bytes = used;
            m.free_bytes = m.total_bytes.saturating_sub(used + m.reserved_bytes);
        }
        self
    }
}

impl ScriptedSource {
    /// A node with these devices.
    pub fn new(gpus: Vec<ScriptedGpu>) -> ScriptedSource {
        ScriptedSource {
            script: Arc::new(Mutex::new(Script {
                gpus,
                ..Script::default()
            })),
        }
    }

    /// A node where opening fails with `error`, e.g. [`GpuError::DriverNotLoaded`].
    pub fn failing(error: GpuError) -> ScriptedSource {
        let source = ScriptedSource::default();
        source.edit(|s| s.open_error = Some(error));
        source
    }

    /// Reads or changes the script; the sampler sees the change at its next query.
    pub fn edit<R>(&self, f: impl FnOnce(&mut Script) -> R) -> R {
        f(&mut self.lock())
    }

    fn lock(&self) -> MutexGuard<'_, Script> {
        self.script.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Answers one query about `device` with `read`, after the script's delay.
    fn query<T>(
        &self,
        device: usize,
        read: impl FnOnce(&mut ScriptedGpu) -> Result<T, GpuError>,
    ) -> Result<T, GpuError> {
        let delay = self.lock().delay;
        if !delay.is_zero() {
            std::thread::sleep(delay);
        }
        let mut script = self.lock();
        script.queries += 1;
        let gpu = script
            .gpus
            .get_mut(device)
            .ok_or_else(|| GpuError::Other(format!("no scripted device at position {device}")))?;
        match &gpu.failure {
            Some(err) => Err(err.clone()),
            None => read(gpu),
        }
    }
}

impl GpuSource for ScriptedSource {
    fn open(&mut self) -> Result<Vec<GpuDevice>, GpuError> {
        let mut script = self.lock();
        script.opens += 1;
        match &script.open_error {
            Some(err) => Err(err.clone()),
            None => Ok(script.gpus.iter().map(|g| g.device.clone()).collect()),
        }
    }

    fn reopen(&mut self, device: usize, _uuid: &str) -> Result<(), GpuError> {
        let answer = self.query(device, |_| Ok(()));
        self.lock().reopens += 1;
        answer
    }

    fn memory(&mut self, device: usize) -> Result<GpuMemory, GpuError> {
        self.query(device, |g| g.memory.clone())
    }

    fn utilization(&mut self, device: usize) -> Result<GpuUtilization, GpuError> {
        self.query(device, |g| g.utilization.clone())
    }

    fn temperature_c(&mut self, device: usize) -> Result<u32, GpuError> {
        self.query(device, |g| g.temperature_c.clone())
    }

    fn power_mw(&mut self, device: usize) -> Result<u32, GpuError> {
        self.query(device, |g| g.power_mw.clone())
    }

    fn sm_clock_mhz(&mut self, device: usize) -> Result<u32, GpuError> {
        self.query(device, |g| g.sm_clock_mhz.clone())
    }

    fn total_energy_mj(&mut self, device: usize) -> Result<u64, GpuError> {
        self.query(device, |g| {
            let step = g.energy_step_mj;
            if let Ok(total) = &mut g.total_energy_mj {
                *total += step;
            }
            g.total_energy_mj.clone()
        })
    }

    fn processes(&mut self, device: usize) -> Result<Vec<GpuProcess>, GpuError> {
        self.query(device, |g| g.processes.clone())
    }
}
