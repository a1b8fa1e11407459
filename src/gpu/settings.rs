//! `RANKLOG_GPU`, `RANKLOG_GPU_INTERVAL` and `RANKLOG_SLOW_MS`: values and parsing.

use std::time::Duration;

use super::source::GpuSource;

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

/// A period such as `500ms`, `2s`, `1.5s` or `1m`, checked as [`check_interval`] does.
///
/// # Errors
///
/// Why `value` is refused; the caller names the variable.
pub(crate) fn parse_interval(value: &str) -> Result<Duration, String> {
    let text = value.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let scale = match unit.trim() {
        "ms" => 1e-3,
        "s" => 1.0,
        "m" | "min" => 60.0,
        _ => return Err("expected a number and a unit: ms, s or m (500ms, 2s, 1m)".to_owned()),
    };
    let secs = number
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite())
        .map(|n| n * scale)
        .ok_or_else(|| "expected a number before the unit, e.g. 2s".to_owned())?;
    if secs > MAX_INTERVAL.as_secs_f64() {
        return Err("longer than a day".to_owned());
    }
    check_interval(Duration::from_secs_f64(secs))
}

/// Accepts sampling periods from [`MIN_INTERVAL`] to a day.
///
/// # Errors
///
/// Why `period` is refused; the caller names the input.
pub(crate) fn check_interval(period: Duration) -> Result<Duration, String> {
    if period < MIN_INTERVAL {
        return Err(
            "below the 100ms minimum: NVML averages utilization over 1/6 s to 1 s, \
                    and polling faster holds the driver lock"
                .to_owned(),
        );
    }
    if period > MAX_INTERVAL {
        return Err("longer than a day".to_owned());
    }
    Ok(period)
}

/// A positive number of milliseconds, e.g. `2000` or `250.5`, at most a day.
///
/// # Errors
///
/// Why `value` is refused; the caller names the variable.
pub(crate) fn parse_millis(value: &str) -> Result<Duration, String> {
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|ms| ms.is_finite() && *ms > 0.0)
        .ok_or_else(|| "expected a positive number of milliseconds".to_owned())
        .and_then(|ms| check_slow_request(Duration::from_secs_f64((ms / 1e3).min(1e12))))
}

/// Accepts slow-request thresholds above zero and at most a day.
///
/// # Errors
///
/// Why `threshold` is refused; the caller names the input.
pub(crate) fn check_slow_request(threshold: Duration) -> Result<Duration, String> {
    if threshold.is_zero() || threshold > MAX_INTERVAL {
        return Err("expected a positive number of milliseconds, at most a day".to_owned());
    }
    Ok(threshold)
}

/// What the sampler needs, as validated by the builder.
pub(crate) struct Plan {
    pub(crate) mode: GpuMode,
    pub(crate) interval: Duration,
    pub(crate) source: Box<dyn GpuSource>,
    /// `CUDA_VISIBLE_DEVICES`, for rank mode.
    pub(crate) visible_devices: Option<String>,
    /// `CUDA_DEVICE_ORDER`.
    pub(crate) device_order: Option<String>,
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

impl std::fmt::Debug for GpuSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuSettings")
            .field("mode", &self.mode)
            .field("interval", &self.interval)
            .field("source", &self.source.as_ref().map(|_| "custom"))
            .field("visible_devices", &self.visible_devices)
            .field("device_order", &self.device_order)
            .field("slow_request", &self.slow_request)
            .finish()
    }
}

impl GpuSettings {
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
        let ok = |v| parse_interval(v).unwrap();
        assert_eq!(ok("500ms"), Duration::from_millis(500));
        assert_eq!(ok(" 2s "), Duration::from_secs(2));
        assert_eq!(ok("1.5s"), Duration::from_millis(1500));
        assert_eq!(ok("1m"), Duration::from_secs(60));
        assert_eq!(ok("100ms"), MIN_INTERVAL);
        for bad in [
            "99ms", "0s", "5", "s", "2 h", "1e3ms", "-1s", "2d", "", "100000m",
        ] {
            assert!(parse_interval(bad).is_err(), "{bad}");
        }
        let below = parse_interval("50ms").unwrap_err();
        assert!(below.contains("driver lock"), "{below}");
        assert!(check_interval(Duration::from_secs(86_401)).is_err());
    }

    #[test]
    fn millis() {
        assert_eq!(
            parse_millis("250.5").unwrap(),
            Duration::from_micros(250_500)
        );
        for bad in ["0", "-3", "NaN", "fast", "inf", "86400001"] {
            assert!(parse_millis(bad).is_err(), "{bad}");
        }
        assert!(check_slow_request(Duration::ZERO).is_err());
    }
}
