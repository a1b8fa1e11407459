//! A fast path for the lines the writer emits: one flat JSON object without whitespace,
//! whose strings have no escapes. Anything else (an escape, a nested value, whitespace,
//! invalid JSON) returns `None` and goes through serde_json, so both paths give the same
//! [`Record`] wherever this one answers.

use std::borrow::Cow;
use std::ops::Range;

use super::{parse_level, Record, Value};
use crate::analyze::time;
use crate::schema::RESERVED;

struct Cursor<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Cursor<'a> {
    #[inline]
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    #[inline]
    fn eat(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.at += 1)
    }

    /// A string without escapes or control characters, borrowed.
    #[inline]
    fn string(&mut self) -> Option<&'a str> {
        let bytes = self.text.as_bytes();
        if bytes.get(self.at) != Some(&b'"') {
            return None;
        }
        let start = self.at + 1;
        let end = start + special(bytes.get(start..)?)?;
        if bytes[end] != b'"' {
            return None;
        }
        self.at = end + 1;
        // Both ends are next to a `"`: character boundaries.
        self.text.get(start..end)
    }

    /// Whether the next string is [`RESERVED`]`[i]` followed by `:`; if so, moves past
    /// both, as [`string`](Self::string) and [`eat`](Self::eat) would.
    #[inline]
    fn key_is(&mut self, i: usize) -> bool {
        let rest = &self.text.as_bytes()[self.at..];
        let (pattern, n) = KEY_PATTERNS[i];
        // `"<name>":` in one comparison where 16 bytes can be read, else byte by byte.
        let is = match low_bytes(rest, n) {
            Some(head) => head == pattern,
            None => rest.len() > n && rest[..n] == pattern.to_le_bytes()[..n],
        };
        if is {
            self.at += n;
        }
        is
    }

    /// A value read as [`value`](Self::value) and then `as_u64`: a non-negative integer
    /// of up to 18 digits is read here, anything else by `value`.
    #[inline]
    fn uint(&mut self) -> Option<Option<u64>> {
        let bytes = self.text.as_bytes();
        let start = self.at;
        let mut at = start;
        let mut n = 0u64;
        while at < bytes.len() && bytes[at].is_ascii_digit() {
            n = n * 10 + u64::from(bytes[at] - b'0');
            at += 1;
            if at - start > 18 {
                return Some(self.value()?.as_u64());
            }
        }
        let len = at - start;
        let plain = len >= 1
            && (len == 1 || bytes[start] != b'0')
            && !matches!(bytes.get(at), Some(b'.' | b'e' | b'E'));
        if !plain {
            return Some(self.value()?.as_u64());
        }
        self.at = at;
        Some(Some(n))
    }

    /// A value read as [`value`](Self::value), then as a `u32` when it is a non-negative
    /// integer that fits one.
    #[inline]
    fn small(&mut self) -> Option<Option<u32>> {
        Some(self.uint()?.and_then(|v| u32::try_from(v).ok()))
    }

    fn word(&mut self, word: &str) -> Option<()> {
        let rest = &self.text.as_bytes()[self.at..];
        rest.starts_with(word.as_bytes())
            .then(|| self.at += word.len())
    }

    /// Moves past a JSON number (in the grammar serde_json reads: no leading zeros, no
    /// bare `.` or `e`): where its integer digits start and how many, and whether it has
    /// a fraction or exponent.
    fn skip_number(&mut self) -> Option<(usize, usize, bool)> {
        let bytes = self.text.as_bytes();
        let start = self.at;
        let digits = |at: &mut usize| {
            let run = digit_run(&bytes[*at..]);
            *at += run;
            run
        };
        let mut at = start;
        let negative = bytes.get(at) == Some(&b'-');
        at += usize::from(negative);
        let int_start = at;
        let int_len = digits(&mut at);
        if int_len == 0 || (int_len > 1 && bytes[int_start] == b'0') {
            return None;
        }
        let mut float = false;
        if bytes.get(at) == Some(&b'.') {
            at += 1;
            float = true;
            if digits(&mut at) == 0 {
                return None;
            }
        }
        if matches!(bytes.get(at), Some(b'e' | b'E')) {
            at += 1;
            float = true;
            if matches!(bytes.get(at), Some(b'+' | b'-')) {
                at += 1;
            }
            if digits(&mut at) == 0 {
                return None;
            }
        }
        self.at = at;
        Some((int_start, int_len, float))
    }

    /// A JSON number: an integer as `U64` or `I64` (or `F64` past their range, as
    /// serde_json does), anything with a fraction or exponent as `F64`.
    fn number(&mut self) -> Option<Value<'a>> {
        let bytes = self.text.as_bytes();
        let start = self.at;
        let (int_start, int_len, float) = self.skip_number()?;
        let at = self.at;
        let negative = int_start > start;
        let text = &self.text[start..at];
        // Up to 18 digits fit an `i64` and a `u64`: read them without `str::parse`.
        if !float && int_len <= 18 {
            let v = bytes[int_start..at]
                .iter()
                .fold(0i64, |n, &c| n * 10 + i64::from(c - b'0'));
            return Some(match (negative, v) {
                // serde_json reads `-0` as the float -0.0.
                (true, 0) => Value::F64(-0.0),
                (true, v) => Value::I64(-v),
                (false, v) => Value::U64(v as u64),
            });
        }
        if !float {
            if negative {
                // serde_json reads `-0` as the float -0.0.
                match text.parse::<i64>() {
                    Ok(0) => return Some(Value::F64(-0.0)),
                    Ok(v) => return Some(Value::I64(v)),
                    Err(_) => {}
                }
            } else if let Ok(v) = text.parse::<u64>() {
                return Some(Value::U64(v));
            }
        }
        text.parse::<f64>().ok().map(Value::F64)
    }

    fn value(&mut self) -> Option<Value<'a>> {
        match self.peek()? {
            b'"' => self.string().map(|s| Value::Str(Cow::Borrowed(s))),
            b't' => self.word("true").map(|()| Value::Bool(true)),
            b'f' => self.word("false").map(|()| Value::Bool(false)),
            b'n' => self.word("null").map(|()| Value::Null),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    /// Moves past a value as [`value`](Self::value) reads it, without converting it: the
    /// range of its text on the line (a string's with its quotes).
    fn skip_value(&mut self) -> Option<Range<usize>> {
        let start = self.at;
        match self.peek()? {
            b'"' => self.string().map(drop),
            b't' => self.word("true"),
            b'f' => self.word("false"),
            b'n' => self.word("null"),
            b'-' | b'0'..=b'9' => self.skip_number().map(drop),
            _ => None,
        }?;
        Some(start..self.at)
    }

    /// A string, or `null` read as empty.
    fn text_or_null(&mut self) -> Option<Cow<'a, str>> {
        if self.peek()? == b'n' {
            self.word("null")?;
            return Some(Cow::Borrowed(""));
        }
        self.string().map(Cow::Borrowed)
    }
}

/// How many ASCII digits `bytes` starts with: eight bytes at a time (a byte is a digit
/// when its high half is 3 and stays 3 with 6 added), then byte by byte. Carries only go
/// upwards, into later bytes, so the first byte that is not a digit is found exactly.
#[inline]
fn digit_run(bytes: &[u8]) -> usize {
    const HIGH_HALVES: u64 = u64::from_ne_bytes([0xf0; 8]);
    const THREES: u64 = u64::from_ne_bytes([0x30; 8]);
    const SIXES: u64 = u64::from_ne_bytes([0x06; 8]);
    let mut chunks = bytes.chunks_exact(8);
    let mut run = 0;
    for chunk in &mut chunks {
        let v = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        let not_digit =
            ((v & HIGH_HALVES) ^ THREES) | ((v.wrapping_add(SIXES) & HIGH_HALVES) ^ THREES);
        if not_digit != 0 {
            return run + not_digit.trailing_zeros() as usize / 8;
        }
        run += 8;
    }
    run + chunks
        .remainder()
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count()
}

/// Where the first `"`, `\\` or control character (below 0x20) of `bytes` is: eight bytes
/// at a time ("SWAR", the bit tricks of Hacker's Delight 6-1), then byte by byte.
#[inline]
fn special(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    // High bit of each byte that is zero (exact for the lowest such byte, which is all
    // that is used: borrows only carry upwards, into later bytes).
    let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS;
    let mut chunks = bytes.chunks_exact(8);
    let mut at = 0;
    for chunk in &mut chunks {
        let v = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        let below_space = v.wrapping_sub(ONES * 0x20) & !v & HIGHS;
        let hits =
            zero(v ^ (ONES * u64::from(b'"'))) | zero(v ^ (ONES * u64::from(b'\\'))) | below_space;
        if hits != 0 {
            return Some(at + hits.trailing_zeros() as usize / 8);
        }
        at += 8;
    }
    let tail = chunks.remainder();
    tail.iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
        .map(|i| at + i)
}

/// The record on `line` when it is a flat object in the writer's style; `None` when
/// serde_json must decide.
pub(crate) fn parse(line: &[u8]) -> Option<Record<'_>> {
    let text = std::str::from_utf8(line).ok()?;
    let mut rec = Record::empty();
    let mut fields = Vec::new();
    walk(text, &mut rec, &mut |key, value| {
        fields.push((Cow::Borrowed(key), value_at(text, value.start)?));
        Some(())
    })?;
    rec.fields = fields;
    Some(rec)
}

/// The first `n` bytes of `bytes` as one little-endian number, the others zero, when
/// `bytes` has 16 to read (`n` at most 16).
#[inline]
fn low_bytes(bytes: &[u8], n: usize) -> Option<u128> {
    let word = u128::from_le_bytes(bytes.get(..16)?.try_into().ok()?);
    Some(word & LOW_MASKS[n.min(16)])
}

/// `LOW_MASKS[n]`: the low `n` bytes set (a table: a shift of a `u128` by a variable
/// amount costs branches).
const LOW_MASKS: [u128; 17] = {
    let mut out = [0u128; 17];
    let mut n = 1;
    while n < 17 {
        out[n] = (out[n - 1] << 8) | 0xff;
        n += 1;
    }
    out
};

/// `text` (at most 16 bytes) as [`low_bytes`] reads it.
const fn packed(text: &[u8]) -> u128 {
    assert!(
        text.len() <= 16,
        "a schema field's key pattern fits 16 bytes"
    );
    let mut v = 0u128;
    let mut i = 0;
    while i < text.len() {
        v |= (text[i] as u128) << (8 * i);
        i += 1;
    }
    v
}

/// Each [`RESERVED`] name as its key on a line, `"<name>":`, packed ([`packed`]), and
/// that key's length in bytes.
const KEY_PATTERNS: [(u128, usize); RESERVED.len()] = {
    let mut out = [(0u128, 0usize); RESERVED.len()];
    let mut i = 0;
    while i < RESERVED.len() {
        let name = RESERVED[i].as_bytes();
        let mut key = [0u8; 16];
        key[0] = b'"';
        let mut j = 0;
        while j < name.len() {
            key[j + 1] = name[j];
            j += 1;
        }
        key[name.len() + 1] = b'"';
        key[name.len() + 2] = b':';
        out[i] = (packed(&key), name.len() + 3);
        i += 1;
    }
    out
};

/// Each [`RESERVED`] name packed ([`packed`]).
const NAMES: [u128; RESERVED.len()] = {
    let mut out = [0u128; RESERVED.len()];
    let mut i = 0;
    while i < RESERVED.len() {
        out[i] = packed(RESERVED[i].as_bytes());
        i += 1;
    }
    out
};

/// Where the key of `len` bytes at the start of `key` (the rest of the line after it) is
/// in [`RESERVED`]: as comparing the names one by one, each in one step where 16 bytes
/// can be read. (A key here has no zero byte, as no string the scan reads has a control
/// character: its packed first `len` bytes equal a name's only when it is that name.)
#[inline]
fn reserved_index(key: &[u8], len: usize) -> Option<usize> {
    match low_bytes(key, len).filter(|_| len <= 16) {
        Some(head) => NAMES.iter().position(|&name| name == head),
        None => RESERVED
            .iter()
            .position(|name| name.as_bytes() == &key[..len]),
    }
}

/// Where `name` is in [`RESERVED`] (at compile time: a name not there does not compile).
const fn own(name: &str) -> usize {
    let mut i = 0;
    while i < RESERVED.len() {
        let (a, b) = (RESERVED[i].as_bytes(), name.as_bytes());
        if a.len() == b.len() {
            let mut j = 0;
            while j < a.len() && a[j] == b[j] {
                j += 1;
            }
            if j == a.len() {
                return i;
            }
        }
        i += 1;
    }
    panic!("not a reserved field")
}

const V: usize = own("v");
const TS: usize = own("ts");
const LEVEL: usize = own("level");
const MSG: usize = own("msg");
const RANK: usize = own("rank");
const SIZE: usize = own("size");
const LOCAL_RANK: usize = own("local_rank");
const LOCAL_SIZE: usize = own("local_size");
const HOST: usize = own("host");
const PID: usize = own("pid");
const SCOPE: usize = own("scope");
const MODULE: usize = own("module");
const FILE: usize = own("file");
const LINE: usize = own("line");

/// Reads the flat object on `text` as [`parse`] does, the schema's own fields into `rec`,
/// handing each key-value to `kv` with the range of its value on the line (a string's
/// with its quotes), not yet converted: [`value_at`] converts it. `None` where [`parse`]
/// gives `None`, also when `kv` does.
pub(crate) fn walk<'a>(
    text: &'a str,
    rec: &mut Record<'a>,
    kv: &mut impl FnMut(&'a str, Range<usize>) -> Option<()>,
) -> Option<()> {
    let mut c = Cursor { text, at: 0 };
    c.eat(b'{')?;
    let (mut ts, mut level) = (None, None);
    // The writer writes the schema's fields first, in the order of `RESERVED`: each key
    // (with its `:`) is tried as the one expected next before it is read as any string.
    let mut expected = 0;
    loop {
        let (key, own) = match RESERVED.get(expected) {
            Some(&name) if c.key_is(expected) => {
                expected += 1;
                (name, Some(expected - 1))
            }
            _ => {
                let start = c.at + 1;
                let key = c.string()?;
                c.eat(b':')?;
                (key, reserved_index(&text.as_bytes()[start..], key.len()))
            }
        };
        match own {
            Some(TS) => ts = Some(time::parse_rfc3339_us(c.string()?)?),
            Some(LEVEL) => level = Some(parse_level(c.string()?)?),
            Some(MSG) => rec.msg = c.text_or_null()?,
            Some(HOST) => rec.host = c.text_or_null()?,
            Some(SCOPE) => rec.scope = c.text_or_null()?,
            Some(MODULE) => rec.module = c.text_or_null()?,
            Some(FILE) => rec.file = c.text_or_null()?,
            Some(V) => rec.v = c.uint()?,
            Some(PID) => rec.pid = c.uint()?,
            Some(RANK) => rec.rank = c.small()?,
            Some(SIZE) => rec.size = c.small()?,
            Some(LOCAL_RANK) => rec.local_rank = c.small()?,
            Some(LOCAL_SIZE) => rec.local_size = c.small()?,
            Some(LINE) => rec.line = c.small()?,
            _ => kv(key, c.skip_value()?)?,
        }
        match c.peek()? {
            b',' => c.at += 1,
            b'}' => break,
            _ => return None,
        }
    }
    if c.at + 1 != text.len() {
        return None;
    }
    rec.ts_us = ts?;
    rec.level = level?;
    Some(())
}

/// The value at `at` of `text` (where [`walk`] found one), as [`parse`] reads it.
pub(crate) fn value_at(text: &str, at: usize) -> Option<Value<'_>> {
    Cursor { text, at }.value()
}

/// The writer's own layout, `{"v":N,"ts":"<27 characters>"...`: the version and the time
/// without parsing the rest of the line.
pub(crate) fn quick_head(line: &[u8]) -> Option<(u64, i64)> {
    let rest = line.strip_prefix(b"{\"v\":")?;
    let digits = rest.iter().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 || digits > 9 {
        return None;
    }
    let v = rest[..digits]
        .iter()
        .fold(0u64, |n, &c| n * 10 + u64::from(c - b'0'));
    let rest = rest[digits..].strip_prefix(b",\"ts\":\"")?;
    if rest.get(27) != Some(&b'"') {
        return None;
    }
    Some((v, time::fast_utc_us(&rest[..27])?))
}

/// The time of the record on `line`, when it is one.
pub(crate) fn timestamp_of(line: &[u8]) -> Option<i64> {
    quick_head(line)
        .map(|(_, ts)| ts)
        .or_else(|| Record::parse(line).ok().map(|r| r.ts_us))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_writers_layout_gives_version_and_time_without_a_parse() {
        let line = br#"{"v":1,"ts":"2026-11-21T04:24:06.123456Z","level":"info"}"#;
        let (v, ts) = quick_head(line).unwrap();
        assert_eq!(v, 1);
        assert_eq!(
            Some(ts),
            crate::analyze::time::parse_rfc3339_us("2026-11-21T04:24:06.123456Z")
        );
        assert_eq!(
            quick_head(br#"{"ts":"2026-11-21T04:24:06.123456Z","v":1}"#),
            None
        );
        assert_eq!(
            quick_head(br#"{"v":1,"ts":"2026-11-21T04:24:06.12345"#),
            None
        );
        assert_eq!(
            timestamp_of(br#"{"level":"info","ts":"2026-11-21T04:24:06.123456Z"}"#),
            Some(ts)
        );
    }

    /// serde_json (without its `float_roundtrip` feature) may read a float an ulp or two
    /// off, where this path reads it exactly: floats compare as `f32`.
    fn rounded(rec: Option<Record<'_>>) -> Option<Record<'_>> {
        rec.map(|mut rec| {
            for (_, v) in &mut rec.fields {
                if let Value::F64(x) = v {
                    *v = Value::F64(f64::from(*x as f32));
                }
            }
            rec
        })
    }

    fn serde(line: &str) -> Option<Record<'_>> {
        rounded(serde_json::from_str(line).ok())
    }

    #[test]
    fn flat_lines_read_the_same_as_through_serde() {
        let lines = [
            r#"{"v":1,"ts":"2026-11-21T04:24:06.123456Z","level":"info","msg":"m","rank":3,"size":8,"local_rank":null,"local_size":4,"host":"h","pid":7,"scope":"global","module":"a::b","file":"src/a.rs","line":9,"n":-12,"big":18446744073709551616,"neg":-9223372036854775809,"f":1.5e-3,"z":0,"mz":-0,"e":2E+2,"t":true,"no":false,"nil":null,"s":"x y"}"#,
            r#"{"ts":"2026-11-21T04:24:06.000001Z","level":"warning"}"#,
            r#"{"level":"error","ts":"2026-11-21T05:24:06+01:00","kv.size":3,"size":99999999999}"#,
        ];
        for line in lines {
            assert_eq!(rounded(parse(line.as_bytes())), serde(line), "{line}");
            assert!(parse(line.as_bytes()).is_some(), "{line}");
        }
    }

    #[test]
    fn the_eight_byte_scan_finds_the_first_quote_backslash_or_control() {
        let naive = |b: &[u8]| b.iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20);
        let mut cases: Vec<Vec<u8>> = vec![b"".to_vec(), b"abcdefghijklmnop".to_vec()];
        for len in 0..20 {
            for at in 0..len {
                for special_byte in [b'"', b'\\', 0x00, 0x1f, b'\n', 0x7f, 0xff, 0x20, b'!'] {
                    let mut line = vec![b'x'; len];
                    line[at] = special_byte;
                    // A later special byte must not hide behind an earlier one's borrow.
                    if at + 1 < len {
                        line[at + 1] = b'"';
                    }
                    cases.push(line);
                }
            }
        }
        cases.push("héllo wörld \u{1F600}\"".as_bytes().to_vec());
        for case in cases {
            assert_eq!(special(&case), naive(&case), "{case:?}");
        }
    }

    #[test]
    fn the_eight_byte_digit_run_stops_at_the_first_other_byte() {
        let naive = |b: &[u8]| b.iter().take_while(|c| c.is_ascii_digit()).count();
        for len in 0..20 {
            for at in 0..=len {
                for other in (0..=255u8).filter(|b| !b.is_ascii_digit()) {
                    let mut bytes = vec![b'7'; len];
                    if at < len {
                        bytes[at] = other;
                    }
                    assert_eq!(digit_run(&bytes), naive(&bytes), "{bytes:?}");
                }
            }
        }
    }

    #[test]
    fn floats_read_exactly_as_written() {
        let line =
            br#"{"ts":"2026-11-21T04:24:06.000001Z","level":"info","loss":0.18181818181818182}"#;
        let rec = parse(line).unwrap();
        assert_eq!(rec.fields[0].1, Value::F64(2.0 / 11.0));
    }

    #[test]
    fn anything_unusual_is_left_to_serde() {
        for line in [
            r#"{"ts":"2026-11-21T04:24:06.000001Z","level":"info","msg":"a\nb"}"#,
            r#"{"ts":"2026-11-21T04:24:06.000001Z", "level":"info"}"#,
            r#"{"ts":"2026-11-21T04:24:06.000001Z","level":"info","l":[1]}"#,
            r#"{"ts":"2026-11-21T04:24:06.000001Z","level":"info","n":01}"#,
            r#"{"ts":"2026-11-21T04:24:06.000001Z","level":"info","n":1.}"#,
            r#"{"ts":"2026-11-21T04:24:06.000001Z","level":"info","n":-}"#,
            r#"{"ts":"2026-11-21T04:24:06.000001Z","level":"info"}x"#,
            r#"{"ts":"2026-11-21T04:24:06.000001Z","level":"info""#,
            r#"{"ts":"2026-11-21T04:24:06.000001Z","level":"info","msg":"tab	"}"#,
            r#"{}"#,
            r#"{"level":"info"}"#,
        ] {
            assert_eq!(parse(line.as_bytes()), None, "{line}");
        }
    }

    #[test]
    fn every_fixture_line_reads_the_same_as_through_serde() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let mut flat = 0;
        for dir in ["job8", "rotated", "damaged", "nogpu"] {
            for entry in std::fs::read_dir(root.join(dir)).unwrap() {
                let bytes = std::fs::read(entry.unwrap().path()).unwrap();
                for line in bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                    let fast = parse(line);
                    flat += usize::from(fast.is_some());
                    if fast.is_some() {
                        assert_eq!(rounded(fast), rounded(serde_json::from_slice(line).ok()));
                    }
                }
            }
        }
        assert!(flat > 300, "the fast path reads the writer's lines: {flat}");
    }

    #[test]
    fn schema_keys_are_told_apart_in_one_step_as_by_name() {
        // Each key with 16 bytes or more after its start (one step) and at the line's end
        // (byte by byte); names, their prefixes and extensions, and keys past 16 bytes.
        let mut keys: Vec<String> = RESERVED.iter().map(|n| n.to_string()).collect();
        for name in RESERVED {
            keys.push(format!("{name}x"));
            keys.push(name[..name.len() - 1].to_string());
            keys.push(format!("kv.{name}"));
        }
        keys.extend(["", "local_rank_of_the_node", "a_key_of_exactly16", "é"].map(String::from));
        for key in &keys {
            let expected = RESERVED.iter().position(|n| n == key);
            for tail in ["\":1,\"more\":\"0123456789abcdef\"}", "\":1}"] {
                let line = format!("\"{key}{tail}");
                assert_eq!(
                    reserved_index(&line.as_bytes()[1..], key.len()),
                    expected,
                    "{key}"
                );
                let found = (0..RESERVED.len()).find(|&i| Cursor { text: &line, at: 0 }.key_is(i));
                assert_eq!(found, expected, "{key} as the next key");
            }
        }
    }
}
