//! Record times as text, with the part down to the second formatted once per second: the
//! one clock of the files, the console and the `ranklog` reader.

use chrono::{DateTime, Local, Utc};

/// Which clock times are printed in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeZoneChoice {
    /// The machine's local time (the `TZ` variable), as the console does.
    #[default]
    Local,
    /// UTC.
    Utc,
}

/// A time: whole seconds since the Unix epoch (UTC) and nanoseconds into that second.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct EpochTime {
    secs: i64,
    /// `0..1_000_000_000`.
    nanos: u32,
}

impl EpochTime {
    /// `ts_nanos` nanoseconds since the epoch, as the sinks stamp records (a time past
    /// 2262 reads as the last nanosecond `i64` holds).
    pub(crate) fn from_nanos(ts_nanos: u64) -> EpochTime {
        let nanos = i64::try_from(ts_nanos).unwrap_or(i64::MAX);
        EpochTime {
            secs: nanos.div_euclid(1_000_000_000),
            nanos: u32::try_from(nanos.rem_euclid(1_000_000_000)).unwrap_or(0),
        }
    }

    /// Whole seconds since the epoch.
    pub(crate) fn secs(self) -> i64 {
        self.secs
    }

    /// Whole microseconds into the second (truncated, as `%.6f` truncates).
    pub(crate) fn micros(self) -> u32 {
        self.nanos / 1000
    }

    /// `ts_us` microseconds since the epoch (before 1970 when negative), as the reader
    /// parses records.
    #[cfg(feature = "cli")]
    pub(crate) fn from_micros(ts_us: i64) -> EpochTime {
        EpochTime {
            secs: ts_us.div_euclid(1_000_000),
            nanos: u32::try_from(ts_us.rem_euclid(1_000_000) * 1000).unwrap_or(0),
        }
    }
}

/// A timestamp layout: the part down to the second (a chrono format, computed once per
/// second), how many fraction digits follow it, and in which zone.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Layout {
    seconds: &'static str,
    /// 0 (no fraction, no `.`), 3 (ms) or 6 (µs); at most 9. The fraction is truncated,
    /// as chrono's `%.3f` and `%.6f` truncate.
    fraction_digits: u32,
    /// Text after the fraction (`Z` for UTC).
    suffix: &'static str,
    zone: TimeZoneChoice,
}

/// RFC 3339 in UTC with microseconds, as the JSONL files write it:
/// `2026-11-21T04:24:06.123456Z`.
pub(crate) const FILE: Layout = Layout {
    seconds: "%Y-%m-%dT%H:%M:%S",
    fraction_digits: 6,
    suffix: "Z",
    zone: TimeZoneChoice::Utc,
};

/// What [`FILE`] writes after the seconds of `time`: `.`, six digits of microseconds and
/// `Z`, as one 8-byte word (the writer thread writes it on every record; see
/// [`Clock::seconds`] for the part before).
pub(crate) fn file_fraction(time: EpochTime) -> [u8; 8] {
    const _: () = assert!(FILE.fraction_digits == 6 && FILE.suffix.len() == 1);
    let [a, b, c, d, e, f] = super::numbers::six_digits(time.micros());
    [b'.', a, b, c, d, e, f, FILE.suffix.as_bytes()[0]]
}

/// slog-term's console layout in local time, with milliseconds: `Nov 21 04:24:06.123`.
pub(crate) const CONSOLE: Layout = Layout {
    seconds: "%b %d %H:%M:%S",
    fraction_digits: 3,
    suffix: "",
    zone: TimeZoneChoice::Local,
};

impl Layout {
    /// `seconds` (a chrono format of whole seconds, e.g. `%H:%M:%S`), then `.` and
    /// `fraction_digits` digits (none and no `.` for 0), in `zone`.
    ///
    /// # Panics
    ///
    /// When `fraction_digits` is above 9 (at compile time in a `const`).
    #[cfg(feature = "cli")]
    pub(crate) const fn new(
        seconds: &'static str,
        fraction_digits: u32,
        zone: TimeZoneChoice,
    ) -> Layout {
        assert!(fraction_digits <= 9, "at most 9 fraction digits");
        Layout {
            seconds,
            fraction_digits,
            suffix: "",
            zone,
        }
    }

    /// The same layout in `zone` (the console's in UTC for `ranklog merge --utc`).
    #[cfg(feature = "cli")]
    pub(crate) const fn in_zone(self, zone: TimeZoneChoice) -> Layout {
        Layout { zone, ..self }
    }
}

/// Formats times in one [`Layout`], remembering the text of the last second seen:
/// records come in time order, so chrono runs about once a second.
pub(crate) struct Clock {
    layout: Layout,
    second: Option<i64>,
    text: String,
}

impl Clock {
    /// A clock writing `layout`.
    pub(crate) fn new(layout: Layout) -> Clock {
        Clock {
            layout,
            second: None,
            text: String::new(),
        }
    }

    /// Appends `time` in this clock's layout. A second chrono cannot represent (beyond
    /// the year 262,000) is written `@<seconds since the epoch>s`.
    pub(crate) fn write(&mut self, out: &mut Vec<u8>, time: EpochTime) {
        out.extend_from_slice(self.seconds(time.secs).as_bytes());
        let n = self.layout.fraction_digits as usize;
        if n > 0 {
            out.push(b'.');
            let mut fraction = time.nanos / 10u32.pow(9 - self.layout.fraction_digits);
            let mut digits = [b'0'; 9];
            for d in digits[..n].iter_mut().rev() {
                *d = b'0' + (fraction % 10) as u8;
                fraction /= 10;
            }
            out.extend_from_slice(&digits[..n]);
        }
        out.extend_from_slice(self.layout.suffix.as_bytes());
    }

    /// The layout's part down to the second of the time `secs` seconds after the epoch:
    /// what [`write`](Self::write) writes before the fraction. A second chrono cannot
    /// represent (beyond the year 262,000) is `@<secs>s`.
    pub(crate) fn seconds(&mut self, secs: i64) -> &str {
        if self.second != Some(secs) {
            self.text.clear();
            let formatted = match DateTime::<Utc>::from_timestamp(secs, 0) {
                Some(utc) => match self.layout.zone {
                    TimeZoneChoice::Utc => utc.format(self.layout.seconds).to_string(),
                    TimeZoneChoice::Local => DateTime::<Local>::from(utc)
                        .format(self.layout.seconds)
                        .to_string(),
                },
                None => format!("@{secs}s"),
            };
            self.text.push_str(&formatted);
            self.second = Some(secs);
        }
        &self.text
    }
}

/// `time` in `layout`, as a new string: for the odd time printed alone (a summary's
/// first and last record).
#[cfg(feature = "cli")]
pub(crate) fn format(layout: Layout, time: EpochTime) -> String {
    let mut out = Vec::new();
    Clock::new(layout).write(&mut out, time);
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn text(clock: &mut Clock, ts: u64) -> String {
        let mut out = Vec::new();
        clock.write(&mut out, EpochTime::from_nanos(ts));
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn file_times_match_chronos_rfc3339_across_seconds() {
        let mut clock = Clock::new(FILE);
        for ts in [
            0u64,
            1_779_336_246_000_000_001,
            1_779_336_246_123_456_789,
            1_779_336_246_999_999_999,
            1_779_336_247_000_500_000,
            1_779_336_246_000_000_000,
        ] {
            let expected = Utc
                .timestamp_nanos(ts as i64)
                .format("%Y-%m-%dT%H:%M:%S%.6fZ")
                .to_string();
            assert_eq!(text(&mut clock, ts), expected);
        }
    }

    #[test]
    fn console_times_match_chronos_local_layout() {
        let mut clock = Clock::new(CONSOLE);
        for ts in [
            1_779_336_246_123_456_789u64,
            1_779_336_246_999_999_999,
            1_779_422_646_000_000_000,
        ] {
            let expected = Local
                .timestamp_nanos(ts as i64)
                .format("%b %d %H:%M:%S%.3f")
                .to_string();
            assert_eq!(text(&mut clock, ts), expected);
        }
    }

    #[test]
    #[cfg(feature = "cli")]
    fn microsecond_times_before_and_after_1970_match_chrono() {
        for us in [-500_000i64, -1, 0, 1_779_336_246_123_456] {
            let expected = Utc
                .timestamp_micros(us)
                .unwrap()
                .format("%Y-%m-%d %H:%M:%S%.3f")
                .to_string();
            let layout = Layout::new("%Y-%m-%d %H:%M:%S", 3, TimeZoneChoice::Utc);
            assert_eq!(format(layout, EpochTime::from_micros(us)), expected);
        }
        let whole = Layout::new("%H:%M:%S", 0, TimeZoneChoice::Utc);
        assert_eq!(format(whole, EpochTime::from_micros(1_500_000)), "00:00:01");
    }
}
