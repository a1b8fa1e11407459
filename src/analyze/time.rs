//! Timestamps (microseconds since the Unix epoch, UTC) and durations: parsing, and
//! printing spans. Times are printed by the writer's own clock ([`crate::sink::clock`]).

use std::cell::Cell;

use chrono::DateTime;

pub use crate::sink::clock::TimeZoneChoice;

/// Microseconds in a second.
pub(crate) const US_PER_S: i64 = 1_000_000;

/// Parses an RFC 3339 time into microseconds since the epoch. The writer's own layout
/// (`2026-11-21T04:24:06.123456Z`) takes a fast path; any other RFC 3339 form goes
/// through chrono.
pub(crate) fn parse_rfc3339_us(text: &str) -> Option<i64> {
    fast_utc_us(text.as_bytes()).or_else(|| {
        DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|t| t.timestamp_micros())
    })
}

thread_local! {
    /// The minute of the last time [`fast_utc_us`] read on this thread (its first 16
    /// bytes, `YYYY-MM-DDTHH:MM`) and its microseconds since the epoch: a log's
    /// consecutive records mostly share it, and only seconds and microseconds are read.
    static LAST_MINUTE: Cell<([u8; 16], i64)> = const { Cell::new(([0; 16], 0)) };
}

/// `YYYY-MM-DDTHH:MM:SS.ffffffZ` exactly, or `None`.
pub(crate) fn fast_utc_us(b: &[u8]) -> Option<i64> {
    if b.len() != 27
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'.'
        || b[26] != b'Z'
    {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<i64> {
        b[from..to].iter().try_fold(0i64, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0'))
        })
    };
    let (sec, micros) = (num(17, 19)?, num(20, 26)?);
    if sec > 59 {
        return None;
    }
    let minute: [u8; 16] = b[..16].try_into().ok()?;
    let (last, last_us) = LAST_MINUTE.get();
    let minute_us = if minute == last {
        last_us
    } else {
        let (year, month, day) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
        let (hour, min) = (num(11, 13)?, num(14, 16)?);
        let days_in_month = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
            2 => 28,
            _ => return None,
        };
        if day < 1 || day > days_in_month || hour > 23 || min > 59 {
            return None;
        }
        let days = days_from_civil(year, month, day);
        let us = ((days * 24 + hour) * 60 + min) * 60 * US_PER_S;
        LAST_MINUTE.set((minute, us));
        us
    };
    Some(minute_us + sec * US_PER_S + micros)
}

/// Days from 1970-01-01 to the given proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses a duration: a number and a unit, `us`, `ms`, `s`, `m` or `h` (`500ms`, `1.5s`,
/// `2m`); `0` alone is zero. Returns microseconds.
///
/// # Examples
///
/// ```
/// assert_eq!(ranklog::analyze::parse_duration_us("1.5s"), Some(1_500_000));
/// assert_eq!(ranklog::analyze::parse_duration_us("250ms"), Some(250_000));
/// assert_eq!(ranklog::analyze::parse_duration_us("-1s"), None);
/// ```
pub fn parse_duration_us(text: &str) -> Option<i64> {
    let text = text.trim();
    if text == "0" {
        return Some(0);
    }
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = text.split_at(split);
    let number: f64 = number.trim().parse().ok()?;
    let scale = match unit {
        "us" | "µs" => 1.0,
        "ms" => 1e3,
        "s" => 1e6,
        "m" | "min" => 60e6,
        "h" => 3600e6,
        _ => return None,
    };
    let us = (number * scale).round();
    (number.is_finite() && number >= 0.0 && us < 1e17).then_some(us as i64)
}

/// `1.234 s`, `12.5 ms`, `3 min 20 s`: a span for people.
pub(crate) fn human_span(us: i64) -> String {
    let s = us as f64 / 1e6;
    if us.abs() < 1000 {
        format!("{us} µs")
    } else if s.abs() < 1.0 {
        format!("{:.1} ms", s * 1e3)
    } else if s.abs() < 120.0 {
        format!("{s:.3} s")
    } else {
        let total = s.round() as i64;
        let (h, m, sec) = (total / 3600, total / 60 % 60, total % 60);
        if h > 0 {
            format!("{h} h {m} min {sec} s")
        } else {
            format!("{m} min {sec} s")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_path_agrees_with_chrono_across_dates() {
        for text in [
            "1970-01-01T00:00:00.000000Z",
            "2000-02-29T23:59:59.999999Z",
            "2026-11-21T04:24:06.123456Z",
            "2100-03-01T00:00:00.000001Z",
            "1969-12-31T23:59:59.500000Z",
        ] {
            let slow = DateTime::parse_from_rfc3339(text)
                .unwrap()
                .timestamp_micros();
            assert_eq!(fast_utc_us(text.as_bytes()), Some(slow), "{text}");
        }
    }

    #[test]
    fn other_rfc3339_forms_parse_and_nonsense_does_not() {
        assert_eq!(
            parse_rfc3339_us("2026-11-21T05:24:06.1+01:00"),
            parse_rfc3339_us("2026-11-21T04:24:06.100000Z")
        );
        assert_eq!(fast_utc_us(b"2026-02-30T00:00:00.000000Z"), None);
        assert_eq!(parse_rfc3339_us("2026-02-30T00:00:00.000000Z"), None);
        assert_eq!(parse_rfc3339_us("2026-11-21"), None);
        assert_eq!(fast_utc_us(b"2026-11-21T04:24:06.12345xZ"), None);
    }

    #[test]
    fn durations_need_a_unit_and_stay_non_negative() {
        assert_eq!(parse_duration_us("0"), Some(0));
        assert_eq!(parse_duration_us("10s"), Some(10 * US_PER_S));
        assert_eq!(parse_duration_us("2m"), Some(120 * US_PER_S));
        assert_eq!(parse_duration_us("1h"), Some(3600 * US_PER_S));
        assert_eq!(parse_duration_us("750us"), Some(750));
        assert_eq!(parse_duration_us("10"), None);
        assert_eq!(parse_duration_us("10 parsecs"), None);
        assert_eq!(parse_duration_us("NaNs"), None);
        assert_eq!(parse_duration_us("1e300s"), None);
    }

    #[test]
    fn the_clock_prints_milliseconds_after_the_cached_second() {
        use crate::sink::clock::{self, Clock, EpochTime};
        let mut clock = Clock::new(clock::CONSOLE.in_zone(TimeZoneChoice::Utc));
        let ts = parse_rfc3339_us("2026-11-21T04:24:06.123456Z").unwrap();
        let mut out = Vec::new();
        clock.write(&mut out, EpochTime::from_micros(ts));
        out.push(b'|');
        clock.write(&mut out, EpochTime::from_micros(ts + 800_000));
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "Nov 21 04:24:06.123|Nov 21 04:24:06.923"
        );
        assert_eq!(human_span(1_500), "1.5 ms");
        assert_eq!(human_span(2_345_678), "2.346 s");
        assert_eq!(human_span(3_723 * US_PER_S), "1 h 2 min 3 s");
    }
}
