//! Numbers as JSON text, byte for byte what serde_json writes (`serde_json::to_writer`),
//! without its call chain: integers digit by digit, and floats with a short decimal form
//! (`0.25`, `3.0`, `0.0003`: few fraction digits, as settings and rounded metrics are)
//! without the shortest-digits search. Every other float goes to serde_json.

/// Room for the longest text written here: `-` and the 20 digits of `u64::MAX`, or a
/// float's sign, 9 integer digits, `.` and 6 fraction digits.
const ROOM: usize = 24;

/// Two ASCII digits of each number below 100, `00` to `99`.
const PAIRS: [u8; 200] = {
    let mut pairs = [0u8; 200];
    let mut i = 0;
    while i < 100 {
        pairs[2 * i] = b'0' + (i / 10) as u8;
        pairs[2 * i + 1] = b'0' + (i % 10) as u8;
        i += 1;
    }
    pairs
};

/// The two digits of `n` (below 100).
#[inline]
fn pair(n: usize) -> [u8; 2] {
    [PAIRS[2 * n], PAIRS[2 * n + 1]]
}

/// The six digits of `n` (below 10^6), leading zeros included: microseconds, or a
/// float's fraction digits.
#[inline]
pub(crate) fn six_digits(n: u32) -> [u8; 6] {
    let n = n as usize;
    let (high, rest) = (n / 10_000, n % 10_000);
    let [a, b] = pair(high);
    let [c, d] = pair(rest / 100);
    let [e, f] = pair(rest % 100);
    [a, b, c, d, e, f]
}

/// Writes `value`'s decimal digits so that they end before `end` in `buf`, two at a
/// time; returns where they start.
#[inline]
fn digits(buf: &mut [u8; ROOM], mut end: usize, mut value: u64) -> usize {
    while value >= 100 {
        end -= 2;
        buf[end..end + 2].copy_from_slice(&pair((value % 100) as usize));
        value /= 100;
    }
    if value >= 10 {
        end -= 2;
        buf[end..end + 2].copy_from_slice(&pair(value as usize));
    } else {
        end -= 1;
        buf[end] = b'0' + value as u8;
    }
    end
}

/// Appends `value` as serde_json writes a `u64`.
#[inline]
pub(crate) fn put_u64(out: &mut Vec<u8>, value: u64) {
    let mut buf = [0u8; ROOM];
    let start = digits(&mut buf, ROOM, value);
    super::bytes::put(out, &buf[start..]);
}

/// Appends `value` as serde_json writes an `i64`.
#[inline]
pub(crate) fn put_i64(out: &mut Vec<u8>, value: i64) {
    let mut buf = [0u8; ROOM];
    let mut start = digits(&mut buf, ROOM, value.unsigned_abs());
    if value < 0 {
        start -= 1;
        buf[start] = b'-';
    }
    super::bytes::put(out, &buf[start..]);
}

/// Appends `value` as serde_json writes an `f64` (`null` when not finite).
#[inline]
pub(crate) fn put_f64(out: &mut Vec<u8>, value: f64) {
    if !short_f64(out, value) {
        long_f64(out, value);
    }
}

/// [`put_f64`] for a float without a short decimal form.
#[cold]
#[inline(never)]
fn long_f64(out: &mut Vec<u8>, value: f64) {
    serde_json::to_writer(out, &value).expect("serializing to memory cannot fail");
}

/// Appends `value` when it is `m / 10^k` rounded to a float, for an integer `m` below
/// 10^15 and `k` at most 6, written as serde_json would write it: `m` with a `.` before
/// its last `k` digits, trailing zeros dropped (`0.25`), `.0` after an integer (`3.0`);
/// returns whether it did.
///
/// Why the text is serde_json's: serde_json writes the shortest decimal that rounds to
/// the float (the `zmij` crate, as `ryu` before it), in this positional form for
/// decimal exponents -5 to 15. Decimals of at most 15 significant digits lie at least
/// 10^-15 of their size apart, farther than the 2^-53 either side of a float that rounds
/// to it, so at most one of them rounds to `value`: `m / 10^k` is that one, and the
/// shortest (with its trailing zeros taken off).
#[inline]
fn short_f64(out: &mut Vec<u8>, value: f64) -> bool {
    const SCALE: f64 = 1e6;
    const SCALE_INT: u64 = 1_000_000;
    let size = value.abs();
    // `size * 10^6` is within 0.25 of `m * 10^(6 - k)` below 10^15, so adding 0.5 and
    // cutting finds it; the division (both exact, the quotient rounded) checks it. A
    // NaN fails the first test, an infinity the second.
    let (whole, millionths) = if size < 1e9 {
        let m = (size * SCALE + 0.5) as u64;
        if m as f64 / SCALE != size || (m < 10 && m > 0) {
            // Not short; or below 10^-5, where serde_json writes an exponent (`1e-6`).
            return false;
        }
        (m / SCALE_INT, (m % SCALE_INT) as u32)
    } else if size < 1e15 && (size as u64) as f64 == size {
        (size as u64, 0)
    } else {
        return false;
    };
    let mut buf = [b'0'; ROOM];
    // `.` and six digits, less the trailing zeros but one.
    let mut end = ROOM - 7;
    buf[end] = b'.';
    buf[end + 1..ROOM].copy_from_slice(&six_digits(millionths));
    end = ROOM;
    while end > ROOM - 5 && buf[end - 1] == b'0' {
        end -= 1;
    }
    let mut start = digits(&mut buf, ROOM - 7, whole);
    if value.is_sign_negative() {
        start -= 1;
        buf[start] = b'-';
    }
    super::bytes::put(out, &buf[start..end]);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ours(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8(out).unwrap()
    }

    fn check_f64(value: f64) {
        assert_eq!(
            ours(|out| put_f64(out, value)),
            serde_json::to_string(&value).unwrap(),
            "{value:e} ({:#x})",
            value.to_bits()
        );
    }

    #[test]
    fn integers_are_written_as_serde_json_writes_them() {
        let mut samples = vec![0u64, 1, 9, 10, 99, 100, 102_399, u64::MAX, u64::MAX - 1];
        samples.extend((0..64).map(|b| 1u64 << b));
        samples.extend((0..20).map(|e| 10u64.pow(e)));
        samples.extend((1..20).map(|e| 10u64.pow(e) - 1));
        for v in samples {
            assert_eq!(ours(|o| put_u64(o, v)), serde_json::to_string(&v).unwrap());
            for s in [v as i64, (v as i64).wrapping_neg()] {
                assert_eq!(ours(|o| put_i64(o, s)), serde_json::to_string(&s).unwrap());
            }
        }
        for s in [i64::MIN, i64::MAX, -1, 0] {
            assert_eq!(ours(|o| put_i64(o, s)), serde_json::to_string(&s).unwrap());
        }
    }

    #[test]
    fn short_decimals_and_their_neighbours_are_written_as_serde_json_writes_them() {
        // Every decimal with up to 6 fraction digits in a few ranges, each one's
        // neighbouring floats (no short form), and their negatives.
        let ranges: [(u64, u64, i32); 6] = [
            (0, 20_000, 6),
            (0, 20_000, 4),
            (0, 20_000, 1),
            (999_990_000, 1_000_010_000, 6),
            (123_456_789_000, 123_456_799_000, 3),
            (999_999_999_990_000, 1_000_000_000_010_000, 6),
        ];
        for (from, to, k) in ranges {
            for m in from..to {
                let value = m as f64 / 10f64.powi(k);
                for v in [value, -value, f64::from_bits(value.to_bits() + 1)] {
                    check_f64(v);
                    check_f64(f64::from_bits(v.to_bits().saturating_sub(1)));
                }
            }
        }
        for v in [
            0.25,
            1.5,
            3.0,
            1e-5,
            1.5e-5,
            1e-6,
            1e-7,
            0.1,
            0.3,
            1e9,
            1e15,
            1e16,
            1e300,
            -0.0,
            f64::MIN_POSITIVE,
            5e-324,
            f64::MAX,
            f64::EPSILON,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            999_999_999.999_999_9,
            999_999_999_999_999.0,
            999_999_999_999_999.9,
        ] {
            check_f64(v);
            check_f64(-v);
        }
    }

    #[test]
    fn random_floats_are_written_as_serde_json_writes_them() {
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..300_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            // Any bits; a random magnitude with few digits; an integer.
            check_f64(f64::from_bits(seed));
            let digits = (seed >> 40) % 1_000_000_000;
            check_f64(digits as f64 / 10f64.powi((seed % 12) as i32));
            check_f64((seed >> 14) as f64);
        }
    }
}
