//! Where samples come from: the [`GpuSource`] trait and the values it returns.

/// A place the sampler reads GPUs from: NVML (`NvmlSource`, feature `nvml`), a script ([`ScriptedSource`](super::ScriptedSource), for tests and benches),
/// or anything else that can answer per-device queries.
///
/// The sampler calls every method on its own thread (`ranklog-gpu`), never on a thread
/// that logs. [`open`](Self::open) comes first, once; then, each sampling round, the
/// queries for each device it samples, each given the device's position in the list that
/// `open` returned.
///
/// # Errors
///
/// A query that fails with [`GpuError::NotSupported`], [`GpuError::NoPermission`] or
/// [`GpuError::FunctionNotFound`] leaves its fields out of that device's samples from then
/// on ([`GpuError::is_unavailable_field`]). Any other error marks the device as failing:
/// its sample is not logged, a warning says why, and the sampler calls
/// [`reopen`](Self::reopen) for it after 1, 2, 4, ... up to 64 rounds, sampling the other
/// devices meanwhile.
pub trait GpuSource: Send {
    /// Starts the source (NVML: loads `libnvidia-ml` and initializes it, once per process)
    /// and lists the devices of this node: every GPU in NVML's index order (PCI bus
    /// order), a MIG-enabled GPU replaced by its MIG devices.
    ///
    /// # Errors
    ///
    /// [`GpuError::LibraryNotFound`], [`GpuError::DriverNotLoaded`] and the like: then the
    /// sampler logs one warning saying why and stops; the job goes on.
    #[doc(alias = "nvmlInit_v2")]
    #[doc(alias = "nvmlDeviceGetCount_v2")]
    fn open(&mut self) -> Result<Vec<GpuDevice>, GpuError>;

    /// Gets a fresh handle on a device that failed, found by its UUID.
    ///
    /// # Errors
    ///
    /// Whatever keeps the device unreachable, e.g. [`GpuError::GpuLost`]; the sampler
    /// tries again later.
    #[doc(alias = "nvmlDeviceGetHandleByUUID")]
    fn reopen(&mut self, device: usize, uuid: &str) -> Result<(), GpuError>;

    /// Memory in use, free, total and reserved by the driver, in bytes. (NVML before R510
    /// has no reserved figure: then it is 0, and counted in use.)
    ///
    /// # Errors
    ///
    /// See the trait's documentation.
    #[doc(alias = "nvmlDeviceGetMemoryInfo_v2")]
    #[doc(alias = "nvmlDeviceGetMemoryInfo")]
    fn memory(&mut self, device: usize) -> Result<GpuMemory, GpuError>;

    /// GPU and memory utilization, in percent over the driver's last sample period.
    /// Never called for MIG devices, which do not report it.
    ///
    /// # Errors
    ///
    /// See the trait's documentation.
    #[doc(alias = "nvmlDeviceGetUtilizationRates")]
    fn utilization(&mut self, device: usize) -> Result<GpuUtilization, GpuError>;

    /// GPU die temperature, in °C.
    ///
    /// # Errors
    ///
    /// See the trait's documentation.
    #[doc(alias = "nvmlDeviceGetTemperature")]
    fn temperature_c(&mut self, device: usize) -> Result<u32, GpuError>;

    /// Power draw of the board, in milliwatts.
    ///
    /// # Errors
    ///
    /// See the trait's documentation.
    #[doc(alias = "nvmlDeviceGetPowerUsage")]
    fn power_mw(&mut self, device: usize) -> Result<u32, GpuError>;

    /// Current SM clock, in MHz.
    ///
    /// # Errors
    ///
    /// See the trait's documentation.
    #[doc(alias = "nvmlDeviceGetClockInfo")]
    fn sm_clock_mhz(&mut self, device: usize) -> Result<u32, GpuError>;

    /// Energy used since the driver was loaded, in millijoules: a counter, of which the
    /// sampler logs the difference between two samples.
    ///
    /// # Errors
    ///
    /// See the trait's documentation.
    #[doc(alias = "nvmlDeviceGetTotalEnergyConsumption")]
    fn total_energy_mj(&mut self, device: usize) -> Result<u64, GpuError>;

    /// The compute processes running on the device, with their memory where the driver
    /// says.
    ///
    /// # Errors
    ///
    /// See the trait's documentation.
    #[doc(alias = "nvmlDeviceGetComputeRunningProcesses_v3")]
    fn processes(&mut self, device: usize) -> Result<Vec<GpuProcess>, GpuError>;
}

/// The identity of one device, read once when the source opens.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct GpuDevice {
    /// NVML index of the GPU (of the parent GPU, for a MIG device), `0..device count`.
    pub index: u32,
    /// Position of a MIG device on its parent GPU; `None` for a whole GPU.
    pub mig_index: Option<u32>,
    /// `GPU-<uuid>`, or `MIG-<uuid>` for a MIG device.
    pub uuid: String,
    /// Product name, e.g. `NVIDIA H100 80GB HBM3`, when the driver gives it.
    pub name: Option<String>,
    /// PCI bus id (`00000000:3B:00.0`), of the parent GPU for a MIG device.
    pub pci_bus_id: Option<String>,
}

impl GpuDevice {
    /// A whole GPU.
    pub fn gpu(index: u32, uuid: impl Into<String>) -> GpuDevice {
        GpuDevice {
            index,
            mig_index: None,
            uuid: uuid.into(),
            name: None,
            pci_bus_id: None,
        }
    }

    /// MIG device `mig_index` of GPU `index`.
    pub fn mig(index: u32, mig_index: u32, uuid: impl Into<String>) -> GpuDevice {
        GpuDevice {
            mig_index: Some(mig_index),
            ..GpuDevice::gpu(index, uuid)
        }
    }

    /// Sets the product name.
    pub fn name(mut self, name: impl Into<String>) -> GpuDevice {
        self.name = Some(name.into());
        self
    }

    /// Sets the PCI bus id.
    pub fn pci_bus_id(mut self, id: impl Into<String>) -> GpuDevice {
        self.pci_bus_id = Some(id.into());
        self
    }

    /// Whether this is a MIG device.
    pub fn is_mig(&self) -> bool {
        self.mig_index.is_some()
    }
}

/// Device memory, in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[doc(alias = "nvmlMemory_v2_t")]
pub struct GpuMemory {
    /// Allocated.
    pub used_bytes: u64,
    /// Not allocated.
    pub free_bytes: u64,
    /// Installed.
    pub total_bytes: u64,
    /// Set aside by the driver.
    pub reserved_bytes: u64,
}

/// Utilization over the driver's last sample period (1/6 s to 1 s), in percent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[doc(alias = "nvmlUtilization_t")]
pub struct GpuUtilization {
    /// Time during which a kernel was running.
    pub gpu_pct: u32,
    /// Time during which device memory was read or written.
    pub mem_pct: u32,
}

/// A compute process on a device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[doc(alias = "nvmlProcessInfo_t")]
pub struct GpuProcess {
    /// Its process id.
    pub pid: u32,
    /// Its device memory in bytes; `None` when the driver does not say.
    pub used_bytes: Option<u64>,
}

/// Why a [`GpuSource`] could not answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GpuError {
    /// `libnvidia-ml` could not be loaded: no NVIDIA driver is installed.
    #[error("libnvidia-ml could not be loaded ({0}): no NVIDIA driver on this node")]
    LibraryNotFound(String),
    /// The library is there, the kernel driver is not running.
    #[error("the NVIDIA driver is not loaded")]
    DriverNotLoaded,
    /// The device does not offer this reading.
    #[error("not supported by this device")]
    NotSupported,
    /// This user may not read it.
    #[error("no permission")]
    NoPermission,
    /// The installed driver lacks the function (older than the call).
    #[error("the driver lacks {0}")]
    FunctionNotFound(String),
    /// The GPU fell off the bus or is otherwise unreachable.
    #[error("the GPU fell off the bus or is otherwise unreachable")]
    GpuLost,
    /// NVML's catch-all for unexpected failures.
    #[error("unknown driver error")]
    Unknown,
    /// Anything else, as the source describes it.
    #[error("{0}")]
    Other(String),
}

impl GpuError {
    /// Whether this error means "this field is not available here" (the field is left
    /// out) rather than "the device is failing" (the device is retried with backoff).
    pub fn is_unavailable_field(&self) -> bool {
        matches!(
            self,
            GpuError::NotSupported | GpuError::NoPermission | GpuError::FunctionNotFound(_)
        )
    }
}
