//! The `ranklog-gpu` thread: samples the devices every interval (or when asked), logs the
//! records, keeps the newest round and the per-device statistics, backs off from failing
//! devices, and stops promptly when the guard is dropped.

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use slog::{info, o, warn, Logger};

use super::job::JobProcesses;
use super::sample::{GpuSample, GpuSnapshot, Label};
use super::settings::{GpuMode, Plan};
use super::source::{GpuDevice, GpuError, GpuSource};
use super::stats::{Stats, Summary};
use super::visible;
use crate::{RankInfo, Scope};

/// The name of the sampler thread.
pub const THREAD_NAME: &str = "ranklog-gpu";

/// How long the guard waits for the thread to finish after asking it to stop.
const STOP_WAIT: Duration = Duration::from_millis(100);

/// Longest backoff of a failing device, in sampling rounds.
const MAX_BACKOFF_ROUNDS: u32 = 64;

/// State shared by the thread, the guard and the [`GpuHandle`]s.
struct Shared {
    state: Mutex<State>,
    /// Wakes the thread (stop, sample now) and the waiters (round done, exited).
    wake: Condvar,
    /// Checked between devices, without the lock.
    stopping: AtomicBool,
}

#[derive(Default)]
struct State {
    stop: bool,
    exited: bool,
    /// Sample-now requests made so far.
    requested: u64,
    /// Requests served by a finished round.
    served: u64,
    latest: Option<Arc<GpuSnapshot>>,
    /// Per sampled device.
    stats: Vec<(Arc<GpuDevice>, Stats)>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A handle on a running sampler: its newest round, or a fresh one on demand. Cheap to
/// clone; usable from any thread.
#[derive(Clone)]
pub struct GpuHandle {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for GpuHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.shared.lock();
        f.debug_struct("GpuHandle")
            .field("exited", &state.exited)
            .field("devices", &state.stats.len())
            .finish()
    }
}

impl GpuHandle {
    /// The newest sampling round, if any yet.
    pub fn latest(&self) -> Option<Arc<GpuSnapshot>> {
        self.shared.lock().latest.clone()
    }

    /// Asks the sampler thread for a round now (it also logs it) and waits for it, at most
    /// `timeout`: a round that started after this call. NVML is still only called on the
    /// sampler thread.
    ///
    /// Returns `None` when no such round came in time, or the sampler has stopped (no
    /// driver, no GPU, or the guard is being dropped).
    pub fn sample_now(&self, timeout: Duration) -> Option<Arc<GpuSnapshot>> {
        let mut state = self.shared.lock();
        if state.exited || state.stop {
            return None;
        }
        state.requested += 1;
        let want = state.requested;
        self.shared.wake.notify_all();
        let (state, _) = self
            .shared
            .wake
            .wait_timeout_while(state, timeout, |s| s.served < want && !s.exited && !s.stop)
            .unwrap_or_else(|e| e.into_inner());
        if state.served >= want {
            state.latest.clone()
        } else {
            None
        }
    }

    /// Whether the thread has finished (stopped, or found nothing to sample).
    pub fn has_stopped(&self) -> bool {
        self.shared.lock().exited
    }
}

/// The running sampler, owned by the guard.
pub(crate) struct Sampler {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    log: Logger,
}

/// Starts the sampler thread when `plan.mode` asks this rank to sample.
pub(crate) fn start(log: &Logger, info: &RankInfo, plan: Plan) -> Option<Sampler> {
    let scope = match plan.mode {
        GpuMode::Node if info.is_local_first() => Scope::Local,
        GpuMode::Rank => Scope::Process,
        _ => return None,
    };
    let log = log.new(o!("scope" => scope));
    let shared = Arc::new(Shared {
        state: Mutex::new(State::default()),
        wake: Condvar::new(),
        stopping: AtomicBool::new(false),
    });
    let worker = Worker {
        shared: shared.clone(),
        log: log.clone(),
        host: info.host.clone(),
        rank: (info.local_rank, info.local_size, info.local_known),
        plan,
    };
    let spawned = std::thread::Builder::new()
        .name(THREAD_NAME.to_owned())
        .spawn(move || worker.run());
    match spawned {
        Ok(thread) => Some(Sampler {
            shared,
            thread: Some(thread),
            log,
        }),
        Err(err) => {
            warn!(log, "GPU sampling off: cannot start the {} thread: {}", THREAD_NAME, err;
                "scope" => Scope::Local, "kind" => "gpu_unavailable", "reason" => %err);
            None
        }
    }
}

impl Sampler {
    pub(crate) fn handle(&self) -> GpuHandle {
        GpuHandle {
            shared: self.shared.clone(),
        }
    }

    /// Stops the thread (waiting at most 100 ms for it; a thread stuck in the driver is
    /// left behind and logs nothing more), then logs one summary record per device.
    pub(crate) fn stop(mut self) {
        self.signal_stop();
        let (state, _) = self
            .shared
            .wake
            .wait_timeout_while(self.shared.lock(), STOP_WAIT, |s| !s.exited)
            .unwrap_or_else(|e| e.into_inner());
        if state.exited {
            if let Some(thread) = self.thread.take() {
                // It has finished its work; a panic was caught and logged there.
                let _ = thread.join();
            }
        }
        for (device, stats) in state.stats.iter().filter(|(_, s)| s.samples > 0) {
            let summary = Summary { device, stats };
            info!(self.log, "gpu {} summary: {}", Label(device), summary.text();
                "kind" => "gpu_summary", summary);
        }
    }
}

impl Sampler {
    /// Tells the thread to stop: it returns from its wait at once, or after the device it
    /// is reading.
    fn signal_stop(&self) {
        self.shared.stopping.store(true, Ordering::Relaxed);
        self.shared.lock().stop = true;
        self.shared.wake.notify_all();
    }
}

impl Drop for Sampler {
    /// A sampler dropped without [`stop`](Sampler::stop) still ends its thread.
    fn drop(&mut self) {
        self.signal_stop();
    }
}

/// The thread's side.
struct Worker {
    shared: Arc<Shared>,
    log: Logger,
    host: String,
    /// Local rank, local size, and whether they are known.
    rank: (u32, Option<u32>, bool),
    plan: Plan,
}

/// Sets `exited` however the thread ends.
struct ExitFlag(Arc<Shared>);

impl Drop for ExitFlag {
    fn drop(&mut self) {
        self.0.lock().exited = true;
        self.0.wake.notify_all();
    }
}

impl Worker {
    fn run(mut self) {
        let _exit = ExitFlag(self.shared.clone());
        let log = self.log.clone();
        if let Err(panic) = panic::catch_unwind(AssertUnwindSafe(|| self.sample_until_stopped())) {
            let what = crate::error::panic_message(&*panic);
            slog::error!(log, "GPU sampling stopped by a panic: {}", what;
                "kind" => "gpu_unavailable", "reason" => what);
        }
    }

    /// Logs why sampling is off, once per node (scope `local`).
    fn off(&self, reason: &str) {
        warn!(self.log, "GPU sampling off on {}: {}", self.host, reason;
            "scope" => Scope::Local, "kind" => "gpu_unavailable", "reason" => reason);
    }

    fn sample_until_stopped(&mut self) {
        let devices = match self.plan.source.open() {
            Ok(devices) => devices,
            Err(err) => return self.off(&err.to_string()),
        };
        if devices.is_empty() {
            return self.off("no GPU found");
        }
        let Some(mut states) = self.select(&devices) else {
            return;
        };
        self.shared.lock().stats = states
            .iter()
            .map(|d| (d.device.clone(), Stats::default()))
            .collect();
        info!(self.log, "GPU sampling every {:?}: {} ({})", self.plan.interval,
            plural(states.len()), device_names(&states);
            "kind" => "gpu_start", "gpus" => states.len(), "mode" => self.plan.mode.as_str(),
            "interval_ms" => self.plan.interval.as_millis() as u64);
        let mut job = JobProcesses::new();
        let mut next = Instant::now();
        loop {
            let Some(serving) = self.wait(next) else {
                return;
            };
            let started = Instant::now();
            let taken = SystemTime::now();
            let mut samples = Vec::with_capacity(states.len());
            for (i, d) in states.iter_mut().enumerate() {
                if self.shared.stopping.load(Ordering::Relaxed) {
                    return;
                }
                if let Some(sample) = self.sample(d, &mut job) {
                    samples.push((i, sample));
                }
            }
            if self.shared.stopping.load(Ordering::Relaxed) {
                return;
            }
            self.publish(taken, samples, serving);
            while next <= started {
                next += self.plan.interval;
            }
        }
    }

    /// The devices this rank samples, or `None` (after saying why) when there are none.
    fn select(&self, devices: &[GpuDevice]) -> Option<Vec<DeviceState>> {
        let chosen: Vec<usize> = match self.plan.mode {
            GpuMode::Rank => {
                let cvd = self.plan.visible_devices.as_deref();
                let visible = visible::resolve(cvd, devices);
                if let Some(entry) = &visible.invalid {
                    warn!(self.log, "CUDA_VISIBLE_DEVICES={:?}: entry {:?} matches no GPU of this \
                                     node, or one listed before; CUDA ignores it and the \
                                     entries after it",
                        cvd.unwrap_or_default(), entry;
                        "scope" => Scope::Local, "kind" => "gpu_visible_devices",
                        "entry" => entry.as_str());
                }
                let pci_order =
                    self.plan.device_order.as_deref().map(str::trim) == Some("PCI_BUS_ID");
                if visible.by_index && !pci_order && visible::mixed_models(devices) {
                    warn!(self.log, "CUDA_VISIBLE_DEVICES={:?} uses indices on a node with GPUs of \
                                     different models: CUDA numbers them fastest first, NVML and \
                                     ranklog by PCI bus, so the GPUs sampled may not be those the \
                                     job uses; set CUDA_DEVICE_ORDER=PCI_BUS_ID",
                        cvd.unwrap_or_default();
                        "scope" => Scope::Local, "kind" => "gpu_device_order");
                }
                let (local_rank, local_size, known) = self.rank;
                visible::own(&visible, local_rank, local_size, known)
            }
            _ => (0..devices.len()).collect(),
        };
        if chosen.is_empty() {
            let cvd = self.plan.visible_devices.as_deref().unwrap_or_default();
            self.off(&format!(
                "CUDA_VISIBLE_DEVICES={cvd:?} leaves this rank no GPU"
            ));
            return None;
        }
        Some(
            chosen
                .into_iter()
                .map(|pos| DeviceState::new(pos, Arc::new(devices[pos].clone())))
                .collect(),
        )
    }

    /// Waits for the next round: the periodic one at `next`, or one asked for. Returns the
    /// requests it serves, or `None` when stopping.
    fn wait(&self, next: Instant) -> Option<u64> {
        let mut state = self.shared.lock();
        loop {
            if state.stop {
                return None;
            }
            let now = Instant::now();
            if state.requested > state.served || now >= next {
                return Some(state.requested);
            }
            state = self
                .shared
                .wake
                .wait_timeout(state, next - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Samples one device, handling its failures and recovery.
    fn sample(&mut self, d: &mut DeviceState, job: &mut JobProcesses) -> Option<GpuSample> {
        let source = &mut *self.plan.source;
        if let Health::Failing { wait, .. } = &mut d.health {
            if *wait > 0 {
                *wait -= 1;
                return None;
            }
            if let Err(err) = source.reopen(d.pos, &d.device.uuid) {
                self.failed(d, err);
                return None;
            }
            d.skip = d.initial_skip();
        }
        match d.read(source, job) {
            Ok(sample) => {
                if let Health::Failing { failures, .. } = d.health {
                    info!(self.log, "gpu {} ({}) is back after {} failed attempt{}",
                        Label(&d.device), d.device.uuid, failures, plural_s(failures);
                        "kind" => "gpu_recovered", "gpu" => d.device.index,
                        "uuid" => d.device.uuid.as_str(), "failures" => failures);
                    d.health = Health::Ok;
                }
                Some(sample)
            }
            Err(err) => {
                self.failed(d, err);
                None
            }
        }
    }

    /// Backs off from a failing device; warns at its 1st, 2nd, 4th, 8th... failure.
    fn failed(&self, d: &mut DeviceState, err: GpuError) {
        let (failures, backoff) = match d.health {
            Health::Ok => (1, 1),
            Health::Failing {
                failures, backoff, ..
            } => (failures + 1, (backoff * 2).min(MAX_BACKOFF_ROUNDS)),
        };
        d.health = Health::Failing {
            failures,
            backoff,
            wait: backoff,
        };
        if failures.is_power_of_two() {
            warn!(self.log, "gpu {} ({}) failed: {}; {} failure{} so far, next try in {} \
                             sampling round{}, the other GPUs are still sampled",
                Label(&d.device), d.device.uuid, err, failures, plural_s(failures), backoff, plural_s(backoff);
                "kind" => "gpu_error", "gpu" => d.device.index, "uuid" => d.device.uuid.as_str(),
                "error" => %err, "failures" => failures, "retry_in_rounds" => backoff);
        }
    }

    /// Logs a round, makes it the newest, updates the statistics, wakes the waiters.
    fn publish(&self, taken: SystemTime, samples: Vec<(usize, GpuSample)>, serving: u64) {
        if !samples.is_empty() {
            let mut line = String::with_capacity(48 * samples.len());
            for (_, s) in &samples {
                if !line.is_empty() {
                    line.push_str(" | ");
                }
                s.write_compact(&mut line);
            }
            info!(self.log, "gpu sample: {}", line; "kind" => "gpu_line", "gpus" => samples.len());
            let mut text = String::with_capacity(48);
            for (_, s) in &samples {
                text.clear();
                s.write_compact(&mut text);
                info!(self.log, "gpu {}", text; "kind" => "gpu", "console" => false, s);
            }
        }
        let mut state = self.shared.lock();
        for (i, s) in &samples {
            if let Some((_, stats)) = state.stats.get_mut(*i) {
                stats.add(s);
            }
        }
        state.latest = Some(Arc::new(GpuSnapshot {
            taken,
            gpus: samples.into_iter().map(|(_, s)| s).collect(),
        }));
        state.served = state.served.max(serving);
        self.shared.wake.notify_all();
    }
}

fn plural_s(n: u32) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn plural(n: usize) -> String {
    if n == 1 {
        "1 device".to_owned()
    } else {
        format!("{n} devices")
    }
}

/// `0-1 NVIDIA H100 80GB HBM3, 2 NVIDIA L40S`: the devices, runs of one model grouped.
fn device_names(states: &[DeviceState]) -> String {
    let mut out: Vec<(String, String)> = Vec::new();
    for d in states {
        let name = d
            .device
            .name
            .clone()
            .unwrap_or_else(|| "unnamed".to_owned());
        let label = Label(&d.device).to_string();
        match out.last_mut() {
            Some((first, last_name)) if *last_name == name => {
                let start = first.split('-').next().unwrap_or_default().to_owned();
                *first = format!("{start}-{label}");
            }
            _ => out.push((label, name)),
        }
    }
    out.iter()
        .map(|(labels, name)| format!("{labels} {name}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A device's state on the sampler thread.
struct DeviceState {
    /// Its position in the source's list.
    pos: usize,
    device: Arc<GpuDevice>,
    /// Fields not to query: not supported or not permitted here.
    skip: u8,
    /// The energy counter at the previous sample, millijoules.
    last_energy_mj: Option<u64>,
    health: Health,
}

enum Health {
    Ok,
    Failing {
        failures: u32,
        /// Rounds between attempts now.
        backoff: u32,
        /// Rounds left before the next attempt.
        wait: u32,
    },
}

/// Bits of [`DeviceState::skip`].
const MEMORY: u8 = 1;
const UTILIZATION: u8 = 1 << 1;
const TEMPERATURE: u8 = 1 << 2;
const POWER: u8 = 1 << 3;
const SM_CLOCK: u8 = 1 << 4;
const ENERGY: u8 = 1 << 5;
const PROCESSES: u8 = 1 << 6;

impl DeviceState {
    fn new(pos: usize, device: Arc<GpuDevice>) -> DeviceState {
        let mut d = DeviceState {
            pos,
            device,
            skip: 0,
            last_energy_mj: None,
            health: Health::Ok,
        };
        d.skip = d.initial_skip();
        d
    }

    /// MIG devices have no utilization.
    fn initial_skip(&self) -> u8 {
        if self.device.is_mig() {
            UTILIZATION
        } else {
            0
        }
    }

    /// One query: `None` when the field is not available here (and will not be asked
    /// again), an error when the device is failing.
    fn field<T>(
        &mut self,
        bit: u8,
        query: impl FnOnce() -> Result<T, GpuError>,
    ) -> Result<Option<T>, GpuError> {
        if self.skip & bit != 0 {
            return Ok(None);
        }
        match query() {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.is_unavailable_field() => {
                self.skip |= bit;
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    fn read(
        &mut self,
        source: &mut dyn GpuSource,
        job: &mut JobProcesses,
    ) -> Result<GpuSample, GpuError> {
        let pos = self.pos;
        let mut s = GpuSample::new(self.device.clone());
        s.memory = self.field(MEMORY, || source.memory(pos))?;
        s.utilization = self.field(UTILIZATION, || source.utilization(pos))?;
        s.temp_c = self.field(TEMPERATURE, || source.temperature_c(pos))?;
        s.power_mw = self.field(POWER, || source.power_mw(pos))?;
        s.sm_clock_mhz = self.field(SM_CLOCK, || source.sm_clock_mhz(pos))?;
        let energy = self.field(ENERGY, || source.total_energy_mj(pos))?;
        s.energy_mj = match (self.last_energy_mj, energy) {
            (Some(before), Some(now)) => now.checked_sub(before),
            _ => None,
        };
        self.last_energy_mj = energy.or(self.last_energy_mj);
        let processes = self.field(PROCESSES, || source.processes(pos))?;
        s.job_mem_used_bytes = processes.and_then(|p| job.mem_used_bytes(&p));
        Ok(s)
    }
}
