//! `RANKLOG_GPU`, `RANKLOG_GPU_INTERVAL` and `RANKLOG_SLOW_MS`: values and parsing.

use std::time::Duration;

use super::sampler::Plan;
use super::source::GpuSource;
use crate::{Error, Result};

/// Which GPUs a rank samples (`RANKLOG_GPU`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum GpuMode {
    /// No sampling.
    Off,
    /// The first rank of each node samples every GPU of the node; records have scope
    /// `local`.
    #[default]
    Node,
    /// Each rank samples its own GPUs (from `CUDA_VISIBLE_DEVICES` and its local rank);
    /// records have scope `process`.
    Rank,
}

impl GpuMode {
    /// `"off"`, `"node"` or `"rank"`, as in `RANKLOG_GPU`.
    pub fn as_str(self) -> &'static str {
        match self {
            GpuMode::Off => "off",
            GpuMode::Node => "node",
            GpuMode::Rank => "rank",
        }
    }
}

/// The default sampling period.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);

/// The shortest sampling period accepted: NVML averages utilization over 1/6 s to 1 s, and
/// polling faster holds the driver lock.
pub const MIN_INTERVAL: Duration = Duration::from_millis(100);

/// The longest sampling period accepted (one day).
const MAX_INTERVAL: Duration = Duration::from_secs(86_400);

pub(crate) fn parse_mode(var: &str, value: &str) -> Result<GpuMode> {
    match value.trim().to_ascii_lowercase().as_str() {
        "off" => Ok(GpuMode::Off),
        "node" => Ok(GpuMode::Node),
        "rank" => Ok(GpuMode::Rank),
        _ => Err(Error::invalid(var, value, "expected off, node or rank")),
    }
}

/// A period such as `500ms`, `2s`, `1.5s` or `1m`, at least [`MIN_INTERVAL`].
pub(crate) fn parse_interval(var: &str, value: &str) -> Result<Duration> {
    let text = value.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let scale = match unit.trim() {
        "ms" => 1e-3,
        "s" => 1.0,
        "m" | "min" => 60.0,
        _ => {
            return Err(Error::invalid(
                var,
                value,
                "expected a number and a unit: ms, s or m (500ms, 2s, 1m)",
            ))
        }
    };
    let secs = number
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite())
        .map(|n| n * scale)
        .ok_or_else(|| Error::invalid(var, value, "expected a number before the unit, e.g. 2s"))?;
    if secs > MAX_INTERVAL.as_secs_f64() {
        return Err(Error::invalid(var, value, "longer than a day"));
    }
    check_interval(var, value, Duration::from_secs_f64(secs))
}

/// Rejects periods below [`MIN_INTERVAL`].
pub(crate) fn check_interval(var: &str, value: &str, period: Duration) -> Result<Duration> {
    if period < MIN_INTERVAL {
        return Err(Error::invalid(
            var,
            value,
            "below the 100ms minimum: NVML averages utilization over 1/6 s to 1 s, and \
             polling faster holds the driver lock",
        ));
    }
    Ok(period)
}

/// A positive number of milliseconds, e.g. `2000` or `250.5`.
pub(crate) fn parse_millis(var: &str, value: &str) -> Result<Duration> {
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|ms| ms.is_finite() && *ms > 0.0 && *ms <= MAX_INTERVAL.as_secs_f64() * 1e3)
        .map(|ms| Duration::from_secs_f64(ms / 1e3))
        .ok_or_else(|| Error::invalid(var, value, "expected a positive number of milliseconds"))
}

/// The GPU and events settings of a [`Builder`](crate::Builder).
pub(crate) struct GpuSettings {
    pub(crate) mode: GpuMode,
    pub(crate) interval: Duration,
    pub(crate) source: Option<Box<dyn GpuSource>>,
    /// `CUDA_VISIBLE_DEVICES`; `None`: unset.
    pub(crate) visible_devices: Option<String>,
    /// `CUDA_DEVICE_ORDER`.
    pub(crate) device_order: Option<String>,
    /// `RANKLOG_SLOW_MS`.
    pub(crate) slow_request: Option<Duration>,
}

impl Default for GpuSettings {
    fn default() -> Self {
        GpuSettings {
            mode: GpuMode::default(),
            interval: DEFAULT_INTERVAL,
            source: None,
            visible_devices: None,
            device_order: None,
            slow_request: None,
        }
    }
}

impl GpuSettings {
    /// Reads `RANKLOG_GPU`, `RANKLOG_GPU_INTERVAL`, `RANKLOG_SLOW_MS`,
    /// `CUDA_VISIBLE_DEVICES` and `CUDA_DEVICE_ORDER` through `env`.
    pub(crate) fn read_env(&mut self, env: &dyn Fn(&str) -> Option<String>) -> Result<()> {
        if let Some(v) = env("RANKLOG_GPU") {
            self.mode = parse_mode("RANKLOG_GPU", &v)?;
        }
        if let Some(v) = env("RANKLOG_GPU_INTERVAL") {
            self.interval = parse_interval("RANKLOG_GPU_INTERVAL", &v)?;
        }
        if let Some(v) = env("RANKLOG_SLOW_MS") {
            self.slow_request = Some(parse_millis("RANKLOG_SLOW_MS", &v)?);
        }
        self.visible_devices = env("CUDA_VISIBLE_DEVICES");
        self.device_order = env("CUDA_DEVICE_ORDER");
        Ok(())
    }

    /// What the sampler needs, or `None` when this build has nothing to sample with.
    pub(crate) fn plan(self) -> Option<Plan> {
        if self.mode == GpuMode::Off {
            return None;
        }
        Some(Plan {
            mode: self.mode,
            interval: self.interval,
            source: self.source.or_else(super::default_source)?,
            visible_devices: self.visible_devices,
            device_order: self.device_order,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_parse_with_their_unit_and_respect_the_minimum() {
        let ok = |v| parse_interval("V", v).unwrap();
        assert_eq!(ok("500ms"), Duration::from_millis(500));
        assert_eq!(ok(" 2s "), Duration::from_secs(2));
        assert_eq!(ok("1.5s"), Duration::from_millis(1500));
        assert_eq!(ok("1m"), Duration::from_secs(60));
        assert_eq!(ok("100ms"), MIN_INTERVAL);
        for bad in [
            "99ms", "0s", "5", "s", "2 h", "1e3ms", "-1s", "2d", "", "100000m",
        ] {
            let err = parse_interval("RANKLOG_GPU_INTERVAL", bad).unwrap_err();
            assert!(
                err.to_string().contains("RANKLOG_GPU_INTERVAL"),
                "{bad}: {err}"
            );
        }
        let below = parse_interval("RANKLOG_GPU_INTERVAL", "50ms")
            .unwrap_err()
            .to_string();
        assert!(
            below.contains("\"50ms\"") && below.contains("driver lock"),
            "{below}"
        );
    }

    #[test]
    fn modes_and_millis() {
        assert_eq!(parse_mode("V", " Rank").unwrap(), GpuMode::Rank);
        assert!(parse_mode("V", "gpu").is_err());
        assert_eq!(
            parse_millis("V", "250.5").unwrap(),
            Duration::from_micros(250_500)
        );
        for bad in ["0", "-3", "NaN", "fast", "inf"] {
            assert!(parse_millis("V", bad).is_err(), "{bad}");
        }
    }
}
