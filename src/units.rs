//! Byte counts and transfer rates for people: `12.3 GiB`, `512 MiB`, GB/s. One copy for
//! the console lines (GPU samples, model loads) and the `ranklog` reader's tables and
//! plots.
//!
//! Sizes are binary (a GiB is 2^30 bytes), rates decimal (a GB/s is 10^9 bytes a second),
//! as `nvidia-smi` and the storage vendors print them. The text wrappers write through
//! `Display`, so they allocate nothing of their own.

use std::fmt;

/// Bytes in a MiB (2^20).
const MIB: f64 = (1u64 << 20) as f64;

/// Bytes in a GiB (2^30).
const GIB: f64 = (1u64 << 30) as f64;

/// `bytes` in GiB (2^30 bytes).
#[cfg(feature = "cli")]
pub(crate) fn gib(bytes: u64) -> f64 {
    bytes as f64 / GIB
}

/// The rate of `bytes` moved in `ms` milliseconds, in GB/s (10^9 bytes per second).
/// Infinite or NaN for `ms` of 0; callers say what a zero time means.
pub(crate) fn gb_per_s(bytes: u64, ms: f64) -> f64 {
    bytes as f64 / (ms * 1e6)
}

/// The unit sizes are shown in: GiB with one decimal when `reference` (the size itself,
/// or the total it is part of) is at least 1 GiB, else MiB with `mib_decimals` decimals.
/// Returns bytes per unit, the unit's name and the decimals.
fn unit(reference: u64, mib_decimals: usize) -> (f64, &'static str, usize) {
    if reference as f64 >= GIB {
        (GIB, "GiB", 1)
    } else {
        (MIB, "MiB", mib_decimals)
    }
}

/// A byte count with one decimal: `1.5 GiB` from 1 GiB up, `300.0 MiB` below.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Bytes(pub(crate) u64);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (per, name, decimals) = unit(self.0, 1);
        write!(f, "{:.decimals$} {name}", self.0 as f64 / per)
    }
}

/// A change of memory, signed: `+1.2 GiB` from 1 GiB up, `-300 MiB` (whole MiB) below.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SignedBytes(pub(crate) i64);

impl fmt::Display for SignedBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { '-' } else { '+' };
        let abs = self.0.unsigned_abs();
        let (per, name, decimals) = unit(abs, 0);
        write!(f, "{sign}{:.decimals$} {name}", abs as f64 / per)
    }
}

/// Memory used of a total, both in the total's unit: `12.3/80.0 GiB` for a total of 1 GiB
/// or more, `512/1024 MiB` (whole MiB) below.
#[derive(Clone, Copy, Debug)]
pub(crate) struct UsedOfTotal {
    /// Bytes used.
    pub(crate) used: u64,
    /// Bytes in all; it picks the unit.
    pub(crate) total: u64,
}

impl fmt::Display for UsedOfTotal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (per, name, decimals) = unit(self.total, 0);
        write!(
            f,
            "{:.decimals$}/{:.decimals$} {name}",
            self.used as f64 / per,
            self.total as f64 / per
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_gib_from_one_gib_up_and_mib_below() {
        assert_eq!(Bytes(3 << 29).to_string(), "1.5 GiB");
        assert_eq!(Bytes(300 << 20).to_string(), "300.0 MiB");
        assert_eq!(Bytes((1 << 30) - 1).to_string(), "1024.0 MiB");
        assert_eq!(SignedBytes(-(300 << 20)).to_string(), "-300 MiB");
        assert_eq!(SignedBytes(3 << 29).to_string(), "+1.5 GiB");
        assert_eq!(SignedBytes(0).to_string(), "+0 MiB");
        let used = |used, total| UsedOfTotal { used, total }.to_string();
        assert_eq!(used(12 << 30, 80 << 30), "12.0/80.0 GiB");
        assert_eq!(used(256 << 20, 512 << 20), "256/512 MiB");
    }

    #[test]
    fn rates_are_decimal_gigabytes_per_second() {
        assert_eq!(gb_per_s(2_000_000_000, 1000.0), 2.0);
        assert_eq!(gb_per_s(16 << 30, 4000.0), 4.294967296);
    }
}
