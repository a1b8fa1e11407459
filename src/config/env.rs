//! The `RANKLOG_*` variables (and `NO_COLOR`): each read, parsed and checked by the same
//! rules as its [`Builder`] method, with errors naming the variable and its value.

use std::collections::HashMap;
use std::path::PathBuf;

use slog::Level;

use super::checks;
use super::Builder;
use crate::gpu::GpuMode;
use crate::identity::vars::{parse_u32, Lookup};
use crate::{ColorChoice, Error, FileScope, Overflow, Result, Rotation};

/// `RANKLOG_*` variables whose value is one word of a fixed list.
const COLOR: &[(&str, ColorChoice)] = &[
    ("auto", ColorChoice::Auto),
    ("always", ColorChoice::Always),
    ("never", ColorChoice::Never),
];
/// `RANKLOG_CONSOLE`: `stderr` (the default) or `off` (files only; `ranklog run` sets it).
const CONSOLE: &[(&str, bool)] = &[("stderr", true), ("off", false)];
const FILE_SCOPE: &[(&str, FileScope)] = &[("all", FileScope::All), ("gated", FileScope::Gated)];
const OVERFLOW: &[(&str, Overflow)] = &[("block", Overflow::Block), ("drop", Overflow::Drop)];
const ROTATE: &[(&str, Rotation)] = &[("daily", Rotation::Daily), ("never", Rotation::Never)];
const GPU: &[(&str, GpuMode)] = &[
    ("off", GpuMode::Off),
    ("node", GpuMode::Node),
    ("rank", GpuMode::Rank),
];
const BOOL: &[(&str, bool)] = &[
    ("1", true),
    ("true", true),
    ("yes", true),
    ("on", true),
    ("0", false),
    ("false", false),
    ("no", false),
    ("off", false),
];

/// The entry of `choices` named by `value` (trimmed, any case).
///
/// # Errors
///
/// [`Error::InvalidVar`] naming `var`, listing the accepted words.
pub(crate) fn choice<T: Copy>(var: &str, value: &str, choices: &[(&str, T)]) -> Result<T> {
    let word = value.trim().to_ascii_lowercase();
    if let Some((_, v)) = choices.iter().find(|(name, _)| *name == word) {
        return Ok(*v);
    }
    let names: Vec<&str> = choices.iter().map(|(name, _)| *name).collect();
    let expected = match names.split_last() {
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    };
    Err(Error::invalid(var, value, format!("expected {expected}")))
}

fn parse_bool(var: &str, value: &str) -> Result<bool> {
    choice(var, value, BOOL).map_err(|_| {
        Error::invalid(
            var,
            value,
            "expected 1 or 0 (also true/false, yes/no, on/off)",
        )
    })
}

/// Parses a level name as in `RANKLOG_LEVEL`.
pub(crate) fn parse_level(var: &str, value: &str) -> Result<Level> {
    crate::schema::level_from_name(value.trim()).ok_or_else(|| {
        Error::invalid(
            var,
            value,
            "expected trace, debug, info, warning, error or critical",
        )
    })
}

/// Parses a byte count: a number, optionally followed by `K`/`KiB`, `M`/`MiB`, `G`/`GiB`
/// (powers of 1024) or `B`; the result is checked as [`Builder::rotation`] checks it.
fn parse_bytes(var: &str, value: &str) -> Result<u64> {
    const EXPECTED: &str = "expected bytes such as 67108864, 64MiB or 1GiB";
    let text = value.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let scale: u64 = match unit.trim() {
        "" | "B" => 1,
        "K" | "KiB" => 1 << 10,
        "M" | "MiB" => 1 << 20,
        "G" | "GiB" => 1 << 30,
        _ => return Err(Error::invalid(var, value, EXPECTED)),
    };
    if number.is_empty() {
        return Err(Error::invalid(var, value, EXPECTED));
    }
    let bytes = number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .ok_or_else(|| Error::invalid(var, value, "too large"))?;
    checks::rotation_bytes(bytes).map_err(|reason| Error::invalid(var, value, reason))
}

/// Parses octal permission bits such as `640` or `0o750`.
fn parse_mode(var: &str, value: &str) -> Result<u32> {
    let text = value.trim();
    let digits = text.strip_prefix("0o").unwrap_or(text);
    match u32::from_str_radix(digits, 8) {
        Ok(mode) if !digits.is_empty() => {
            checks::mode(mode).map_err(|reason| Error::invalid(var, value, reason))
        }
        _ => Err(Error::invalid(
            var,
            value,
            "expected octal permission bits such as 640",
        )),
    }
}

/// Runs a setting's check on a variable's value, naming the variable on failure.
fn checked<T>(var: &str, value: &str, check: impl FnOnce() -> Result<T, String>) -> Result<T> {
    check().map_err(|reason| Error::invalid(var, value, reason))
}

impl Builder {
    /// The defaults, overridden by the `RANKLOG_*` variables of the process environment
    /// (and `NO_COLOR`). Rank discovery waits for [`build`](Self::build), so that a
    /// [`rank_info`](Self::rank_info) from MPI can replace it.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidVar`] naming the variable, its value and why, for a value outside
    /// the accepted ones (see the table on [`Builder`]); an empty value counts as invalid.
    /// [`Error::Contradiction`] for `RANKLOG_ROTATE_BYTES` and `RANKLOG_ROTATE` together.
    pub fn from_env() -> Result<Builder> {
        Builder::from_lookup(&|name| {
            std::env::var_os(name).map(|v| v.to_string_lossy().into_owned())
        })
    }

    /// [`from_env`](Self::from_env) over the given variables instead of the process
    /// environment; variables not given count as unset.
    ///
    /// # Errors
    ///
    /// As [`from_env`](Self::from_env).
    ///
    /// # Examples
    ///
    /// ```
    /// let err = ranklog::Builder::from_vars([("RANKLOG_LEVEL", "loud")]).err().unwrap();
    /// assert!(err.to_string().contains("RANKLOG_LEVEL"));
    /// ```
    pub fn from_vars<I, K, V>(vars: I) -> Result<Builder>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let vars: HashMap<String, String> = vars
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        Builder::from_lookup(&|name| vars.get(name).cloned())
    }

    fn from_lookup(env: Lookup<'_>) -> Result<Builder> {
        let mut b = Builder::new();
        let s = &mut b.settings;
        // Levels and filters.
        if let Some(v) = env("RANKLOG_LEVEL") {
            s.level = parse_level("RANKLOG_LEVEL", &v)?;
        }
        if let Some(v) = env("RANKLOG_FILTER") {
            checked("RANKLOG_FILTER", &v, || checks::filter(s.level, &v))?;
            s.filter = Some(v);
        }
        if let Some(v) = env("RANKLOG_UNGATED_LEVEL") {
            s.ungated_level = parse_level("RANKLOG_UNGATED_LEVEL", &v)?;
        }
        if let Some(v) = env("RANKLOG_ALL_RANKS") {
            s.all_ranks = parse_bool("RANKLOG_ALL_RANKS", &v)?;
        }
        if let Some(v) = env("RANKLOG_CONSOLE_RANKS") {
            checked("RANKLOG_CONSOLE_RANKS", &v, || checks::rank_list(&v))?;
            s.console_ranks = Some(v);
        }
        if let Some(v) = env("RANKLOG_LOG_BRIDGE") {
            s.log_bridge = parse_bool("RANKLOG_LOG_BRIDGE", &v)?;
        }
        // The console.
        if let Some(v) = env("RANKLOG_COLOR") {
            s.color = choice("RANKLOG_COLOR", &v, COLOR)?;
        }
        if let Some(v) = env("RANKLOG_CONSOLE") {
            if !choice("RANKLOG_CONSOLE", &v, CONSOLE)? {
                s.console = crate::runtime::ConsoleTarget::Off;
            }
        }
        // https://no-color.org: any non-empty value turns colour off.
        s.no_color = env("NO_COLOR").is_some_and(|v| !v.is_empty());
        if let Some(v) = env("RANKLOG_PREFIX") {
            s.prefix = v;
        }
        // The queue and the ending.
        if let Some(v) = env("RANKLOG_QUEUE_LEN") {
            let n = parse_u32("RANKLOG_QUEUE_LEN", &v)? as usize;
            s.queue_len = checked("RANKLOG_QUEUE_LEN", &v, || checks::queue_len(n))?;
        }
        if let Some(v) = env("RANKLOG_OVERFLOW") {
            s.overflow = choice("RANKLOG_OVERFLOW", &v, OVERFLOW)?;
        }
        if let Some(v) = env("RANKLOG_SIGNALS") {
            s.signals = parse_bool("RANKLOG_SIGNALS", &v)?;
        }
        if let Some(v) = env("RANKLOG_CONTROL") {
            s.control = parse_bool("RANKLOG_CONTROL", &v)?;
        }
        if let Some(v) = env("RANKLOG_CRASH_SAFE") {
            s.crash_safe = parse_bool("RANKLOG_CRASH_SAFE", &v)?;
        }
        // The files.
        if let Some(v) = env("RANKLOG_DIR") {
            if v.trim().is_empty() {
                return Err(Error::invalid(
                    "RANKLOG_DIR",
                    &v,
                    "empty; unset it to log to the console only",
                ));
            }
            s.dir = Some(PathBuf::from(v));
        }
        if let Some(v) = env("RANKLOG_FILE_SCOPE") {
            s.file_scope = choice("RANKLOG_FILE_SCOPE", &v, FILE_SCOPE)?;
        }
        if let Some(v) = env("RANKLOG_FILE") {
            checked("RANKLOG_FILE", &v, || checks::file_name(&v))?;
            s.file.template = v;
        }
        match (env("RANKLOG_ROTATE_BYTES"), env("RANKLOG_ROTATE")) {
            (Some(bytes), Some(when)) => {
                return Err(Error::Contradiction {
                    var_a: "RANKLOG_ROTATE_BYTES".to_owned(),
                    value_a: bytes,
                    var_b: "RANKLOG_ROTATE".to_owned(),
                    value_b: when,
                    reason: "rotate by size or daily, not both".to_owned(),
                })
            }
            (Some(bytes), None) => {
                s.file.rotation = Rotation::Bytes(parse_bytes("RANKLOG_ROTATE_BYTES", &bytes)?)
            }
            (None, Some(when)) => s.file.rotation = choice("RANKLOG_ROTATE", &when, ROTATE)?,
            (None, None) => {}
        }
        if let Some(v) = env("RANKLOG_KEEP") {
            let keep = parse_u32("RANKLOG_KEEP", &v)? as usize;
            s.file.keep = checked("RANKLOG_KEEP", &v, || checks::keep(keep))?;
        }
        if let Some(v) = env("RANKLOG_FILE_MODE") {
            s.file.file_mode = parse_mode("RANKLOG_FILE_MODE", &v)?;
        }
        if let Some(v) = env("RANKLOG_DIR_MODE") {
            s.file.dir_mode = parse_mode("RANKLOG_DIR_MODE", &v)?;
        }
        // OpenTelemetry export (the OTEL_* variables are the SDK's to read).
        if let Some(v) = env("RANKLOG_OTLP") {
            s.otlp = parse_bool("RANKLOG_OTLP", &v)?;
        }
        // GPUs and events.
        if let Some(v) = env("RANKLOG_GPU") {
            s.gpu.mode = choice("RANKLOG_GPU", &v, GPU)?;
        }
        if let Some(v) = env("RANKLOG_GPU_INTERVAL") {
            s.gpu.interval = checked("RANKLOG_GPU_INTERVAL", &v, || {
                crate::gpu::parse_interval(&v)
            })?;
        }
        if let Some(v) = env("RANKLOG_SLOW_MS") {
            s.gpu.slow_request = Some(checked("RANKLOG_SLOW_MS", &v, || {
                crate::gpu::parse_millis(&v)
            })?);
        }
        s.gpu.visible_devices = env("CUDA_VISIBLE_DEVICES");
        s.gpu.device_order = env("CUDA_DEVICE_ORDER");
        Ok(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_choice_names_every_accepted_word() {
        let err = choice("RANKLOG_COLOR", "pink", COLOR).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid RANKLOG_COLOR=\"pink\": expected auto, always or never"
        );
        assert_eq!(choice("RANKLOG_GPU", " Node ", GPU).unwrap(), GpuMode::Node);
    }

    #[test]
    fn ranklog_console_off_turns_the_console_off_and_other_words_are_named_errors() {
        let b = Builder::from_vars([("RANKLOG_CONSOLE", "Off")]).unwrap();
        assert!(matches!(
            b.settings.console,
            crate::runtime::ConsoleTarget::Off
        ));
        let b = Builder::from_vars([("RANKLOG_CONSOLE", "stderr")]).unwrap();
        assert!(matches!(
            b.settings.console,
            crate::runtime::ConsoleTarget::Stderr
        ));
        let err = Builder::from_vars([("RANKLOG_CONSOLE", "no")])
            .err()
            .unwrap();
        assert_eq!(
            err.to_string(),
            "invalid RANKLOG_CONSOLE=\"no\": expected stderr or off"
        );
    }

    #[test]
    fn byte_counts_past_4_gib_are_accepted_in_plain_bytes_too() {
        assert_eq!(
            parse_bytes("RANKLOG_ROTATE_BYTES", "5368709120").unwrap(),
            5 << 30
        );
        assert_eq!(
            parse_bytes("RANKLOG_ROTATE_BYTES", "5GiB").unwrap(),
            5 << 30
        );
        assert!(parse_bytes("RANKLOG_ROTATE_BYTES", "99999999999999999999").is_err());
        assert!(parse_bytes("RANKLOG_ROTATE_BYTES", "20000000000GiB").is_err());
        assert!(parse_bytes("RANKLOG_ROTATE_BYTES", "MiB").is_err());
    }
}
