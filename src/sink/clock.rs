//! Record times as text, with the part down to the second formatted once per second.

use chrono::{DateTime, Local, TimeZone, Utc};

/// A timestamp layout: the part down to the second (a chrono format, computed once per
/// second) and how many fraction digits follow it.
pub(crate) struct Layout {
    seconds: &'static str,
    /// 3 (ms) or 6 (µs).
    fraction_digits: u32,
    /// Text after the fraction (`Z` for UTC).
    suffix: &'static str,
    local: bool,
}

/// RFC 3339 in UTC with microseconds, as the JSONL files write it:
/// `2026-11-21T04:24:06.123456Z`.
pub(crate) const FILE: Layout = Layout {
    seconds: "%Y-%m-%dT%H:%M:%S",
    fraction_digits: 6,
    suffix: "Z",
    local: false,
};

/// slog-term's console layout in local time, with milliseconds: `Nov 21 04:24:06.123`.
pub(crate) const CONSOLE: Layout = Layout {
    seconds: "%b %d %H:%M:%S",
    fraction_digits: 3,
    suffix: "",
    local: true,
};

/// Formats nanosecond timestamps in one [`Layout`], remembering the text of the last
/// second seen: records come in time order, so chrono runs about once a second.
pub(crate) struct Clock {
    layout: Layout,
    second: Option<i64>,
    text: String,
}

impl Clock {
    pub(crate) fn new(layout: Layout) -> Clock {
        Clock {
            layout,
            second: None,
            text: String::new(),
        }
    }

    /// Appends `ts_nanos` (nanoseconds since the Unix epoch) in this clock's layout.
    pub(crate) fn write(&mut self, out: &mut Vec<u8>, ts_nanos: u64) {
        let nanos = i64::try_from(ts_nanos).unwrap_or(i64::MAX);
        let second = nanos.div_euclid(1_000_000_000);
        if self.second != Some(second) {
            self.text.clear();
            let utc = Utc.timestamp_nanos(second * 1_000_000_000);
            let formatted = if self.layout.local {
                DateTime::<Local>::from(utc)
                    .format(self.layout.seconds)
                    .to_string()
            } else {
                utc.format(self.layout.seconds).to_string()
            };
            self.text.push_str(&formatted);
            self.second = Some(second);
        }
        out.extend_from_slice(self.text.as_bytes());
        out.push(b'.');
        let sub = u32::try_from(nanos.rem_euclid(1_000_000_000)).unwrap_or(0);
        let mut fraction = sub / 10u32.pow(9 - self.layout.fraction_digits);
        let mut digits = [b'0'; 9];
        let n = self.layout.fraction_digits as usize;
        for d in digits[..n].iter_mut().rev() {
            *d = b'0' + (fraction % 10) as u8;
            fraction /= 10;
        }
        out.extend_from_slice(&digits[..n]);
        out.extend_from_slice(self.layout.suffix.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(clock: &mut Clock, ts: u64) -> String {
        let mut out = Vec::new();
        clock.write(&mut out, ts);
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
}
