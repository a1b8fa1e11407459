//! Reading launcher variables: one lookup, one parsed variable, one integer parser, shared
//! by the launcher table, Slurm's lists and the `RANKLOG_*` settings.

use crate::{Error, Result};

/// Looks up one environment variable; `None` when unset.
pub(crate) type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// One parsed variable: its name (for error messages) and value.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Var {
    pub(crate) name: &'static str,
    pub(crate) value: u32,
}

/// Parses a non-negative integer that fits in `u32`, naming the variable on failure.
pub(crate) fn parse_u32(name: &str, raw: &str) -> Result<u32> {
    let value = raw.trim();
    if value.is_empty() {
        return Err(Error::invalid(
            name,
            raw,
            "empty, expected a non-negative integer",
        ));
    }
    if value.starts_with('-') {
        return Err(Error::invalid(
            name,
            raw,
            "negative, expected a non-negative integer",
        ));
    }
    if !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::invalid(name, raw, "not a non-negative integer"));
    }
    value
        .parse::<u32>()
        .map_err(|_| Error::invalid(name, raw, "too large, at most 4294967295"))
}
