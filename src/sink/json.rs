//! The per-rank JSONL record (schema in `docs/schema.md`).

use std::io::Write as _;

use super::bytes::{copy, put};
use super::clock::{self, Clock, EpochTime};
use super::fragments::Fragments;
use super::numbers::{put_f64, put_i64, put_u64};
use super::record::{causes, Collected, Val};
use crate::schema::{level_name, LEVELS, RESERVED, SCHEMA_VERSION};
use crate::{RankInfo, Scope};

/// The identity every record of this process carries, as the JSON text after `msg`:
/// `,"rank":..,"size":..,"local_rank":..,"local_size":..,"host":..,"pid":..`.
pub(crate) fn record_identity(info: &RankInfo) -> String {
    let mut out = Vec::new();
    let _ = write!(out, ",\"rank\":{},\"size\":{}", info.rank, info.size);
    if info.local_known {
        let _ = write!(out, ",\"local_rank\":{}", info.local_rank);
    } else {
        out.extend_from_slice(b",\"local_rank\":null");
    }
    if let Some(local_size) = info.local_size {
        let _ = write!(out, ",\"local_size\":{local_size}");
    } else {
        out.extend_from_slice(b",\"local_size\":null");
    }
    out.extend_from_slice(b",\"host\":");
    json(&mut out, &info.host);
    let _ = write!(out, ",\"pid\":{}", std::process::id());
    String::from_utf8(out).expect("JSON is UTF-8")
}

/// Formats JSONL records for one rank.
pub(crate) struct JsonFormat {
    /// `{"v":1,"ts":"`, the start of every record.
    head: String,
    /// `,"rank":..,"pid":..` written in every record.
    identity: String,
    /// `ts`: RFC 3339 in UTC with microseconds.
    clock: Clock,
    /// `head` and the time of [`second`](Self::second) down to the second: each record's
    /// first bytes, remade once a second.
    stamp: Vec<u8>,
    /// The second `stamp` holds (seconds since the epoch).
    second: Option<i64>,
    /// Call sites' and keys' escaped JSON.
    fragments: Fragments,
    /// `","level":"<level>","msg":` for each level, in [`LEVELS`]' order: by
    /// `Level::as_usize() - 1`.
    level_fields: Vec<Vec<u8>>,
}

/// The three plain scopes, nearly every record's: a call site's cached fragment holds the
/// identity and the `scope` field for them (by their index here).
const PLAIN_SCOPES: [Scope; 3] = [Scope::Process, Scope::Local, Scope::Global];

/// Of a call site's fragment: no identity and no `scope` field (a scope that is not
/// plain is written on its own).
const NOT_PLAIN: u8 = PLAIN_SCOPES.len() as u8;

fn json(out: &mut Vec<u8>, value: &(impl serde::Serialize + ?Sized)) {
    serde_json::to_writer(out, value).expect("serializing to memory cannot fail");
}

const ONES: u64 = u64::from_le_bytes([0x01; 8]);
const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);

/// Whether some byte of `word` is zero (exact for "some byte": Bit Twiddling Hacks,
/// "haszero").
#[inline]
fn has_zero(word: u64) -> bool {
    word.wrapping_sub(ONES) & !word & HIGHS != 0
}

/// Whether some byte of `word` is a `"`, a `\` or below 0x20 (Bit Twiddling Hacks,
/// "hasless", exact for "some byte" when the bound is at most 128).
#[inline]
fn word_needs_escape(word: u64) -> bool {
    // `|`, not `||`: three short computations the CPU runs side by side, one branch.
    (word.wrapping_sub(ONES * 0x20) & !word & HIGHS != 0)
        | has_zero(word ^ (ONES * u64::from(b'"')))
        | has_zero(word ^ (ONES * u64::from(b'\\')))
}

/// The 1 to 7 `bytes` as one word, its other bytes `A` (which needs no escaping): two
/// overlapping loads instead of a loop over the bytes.
#[inline]
fn short_word(bytes: &[u8]) -> u64 {
    const FILL: u64 = ONES * 0x41;
    let len = bytes.len();
    let u16_at = |i: usize| u64::from(u16::from_le_bytes([bytes[i], bytes[i + 1]]));
    let u32_at = |i: usize| {
        u64::from(u32::from_le_bytes(
            bytes[i..i + 4].try_into().expect("4 bytes"),
        ))
    };
    match len {
        4.. => u32_at(0) | u32_at(len - 4) << 32,
        2..=3 => u16_at(0) | u16_at(len - 2) << 16 | (FILL & !0xffff_ffff),
        _ => u64::from(bytes[0]) | (FILL & !0xff),
    }
}

/// Whether JSON needs the text `bytes` escaped: it holds a `"`, a `\` or a control
/// character (below 0x20). Looks at 8 bytes at a time, the last few through one
/// overlapping word (the writer thread runs this on every key, path and message; byte by
/// byte it was half of the thread's instructions).
#[inline]
fn needs_escape(bytes: &[u8]) -> bool {
    let len = bytes.len();
    if len < 8 {
        return len > 0 && word_needs_escape(short_word(bytes));
    }
    let word_at = |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().expect("8 bytes"));
    if len <= 16 {
        // One or two words, the second overlapping the first: most messages and values.
        return word_needs_escape(word_at(0)) | word_needs_escape(word_at(len - 8));
    }
    let mut i = 0;
    while i + 8 <= len {
        if word_needs_escape(word_at(i)) {
            return true;
        }
        i += 8;
    }
    i < len && word_needs_escape(word_at(len - 8))
}

/// Appends `text` as a JSON string: copied between quotes when nothing in it needs
/// escaping (no `"`, `\` or control character: almost every key, path and message),
/// else escaped by serde_json.
#[inline]
fn json_str(out: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    if needs_escape(bytes) {
        json_escaped(out, text);
        return;
    }
    let at = out.len();
    out.reserve(bytes.len() + 2);
    // SAFETY: `reserve` made room for the text and its two quotes past `at`; the copy's
    // source is `text`, not the vector, and the new length counts only bytes written.
    unsafe {
        let to = out.as_mut_ptr().add(at);
        *to = b'"';
        copy(bytes, to.add(1));
        *to.add(1 + bytes.len()) = b'"';
        out.set_len(at + bytes.len() + 2);
    }
}

/// [`json_str`]'s rare case: a text that needs escaping.
#[cold]
#[inline(never)]
fn json_escaped(out: &mut Vec<u8>, text: &str) {
    json(out, text);
}

impl JsonFormat {
    /// The records of the rank `info` describes, in this process.
    pub(crate) fn new(info: &RankInfo) -> JsonFormat {
        JsonFormat::from_identity(record_identity(info))
    }

    /// Records carrying `identity` (see [`record_identity`]), e.g. a crashed process's,
    /// read back from its ring.
    pub(crate) fn from_identity(identity: String) -> JsonFormat {
        JsonFormat {
            head: format!("{{\"v\":{SCHEMA_VERSION},\"ts\":\""),
            identity,
            clock: Clock::new(clock::FILE),
            stamp: Vec::new(),
            second: None,
            fragments: Fragments::default(),
            level_fields: LEVELS
                .into_iter()
                .map(|level| {
                    let mut field = b"\",\"level\":".to_vec();
                    json_str(&mut field, level_name(level));
                    field.extend_from_slice(b",\"msg\":");
                    field
                })
                .collect(),
        }
    }

    /// Appends the record as one JSON object and a `\n`.
    /// `scope` is the record's resolved scope (`process` for an unknown one).
    pub(crate) fn format(&mut self, out: &mut Vec<u8>, c: &Collected, scope: &str) {
        let time = EpochTime::from_nanos(c.ts_nanos);
        if self.second != Some(time.secs()) {
            self.stamp.clear();
            self.stamp.extend_from_slice(self.head.as_bytes());
            self.stamp
                .extend_from_slice(self.clock.seconds(time.secs()).as_bytes());
            self.second = Some(time.secs());
        }
        put(out, &self.stamp);
        put(out, &clock::file_fraction(time));
        put(out, &self.level_fields[c.level.as_usize() - 1]);
        json_str(out, c.msg());
        let plain = PLAIN_SCOPES
            .iter()
            .position(|s| s.as_str() == scope)
            .map_or(NOT_PLAIN, |i| i as u8);
        if plain == NOT_PLAIN {
            put(out, self.identity.as_bytes());
            put(out, b",\"scope\":");
            json_str(out, scope);
        }
        let location = &c.location;
        let identity = &self.identity;
        put(
            out,
            self.fragments.site(location, plain, |site| {
                if let Some(scope) = PLAIN_SCOPES.get(usize::from(plain)) {
                    site.extend_from_slice(identity.as_bytes());
                    site.extend_from_slice(b",\"scope\":");
                    json_str(site, scope.as_str());
                }
                site.extend_from_slice(b",\"module\":");
                json_str(site, location.module);
                site.extend_from_slice(b",\"file\":");
                json_str(site, location.file);
                site.extend_from_slice(b",\"line\":");
                json(site, &location.line);
            }),
        );
        for (key, val) in c.pairs() {
            put(
                out,
                self.fragments.key(key, |name| {
                    name.push(b',');
                    if RESERVED.contains(key) {
                        json_str(name, &format!("kv.{key}"));
                    } else {
                        json_str(name, key);
                    }
                    name.push(b':');
                }),
            );
            match val {
                Val::Str(range) => json_str(out, c.text(range)),
                Val::U64(v) => put_u64(out, *v),
                Val::I64(v) => put_i64(out, *v),
                Val::F64(v) => put_f64(out, *v),
                Val::Bool(v) => put(out, if *v { b"true" } else { b"false" }),
                Val::Null => put(out, b"null"),
                Val::Chain(range) => {
                    out.push(b'[');
                    for (i, cause) in causes(c.text(range)).enumerate() {
                        if i > 0 {
                            out.push(b',');
                        }
                        json_str(out, cause);
                    }
                    out.push(b']');
                }
            }
        }
        put(out, b"}\n");
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_word_at_a_time_escape_check_agrees_with_a_byte_by_byte_one() {
        let naive = |b: &[u8]| b.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\');
        for fill in [b'a', 0x20, 0x21, 0x5b, 0x5d, 0x7f, 0x80, 0xff, 0x1f, b'"'] {
            for len in 0..20 {
                for at in 0..len {
                    for byte in 0..=255u8 {
                        let mut text = vec![fill; len];
                        text[at] = byte;
                        assert_eq!(super::needs_escape(&text), naive(&text), "{text:?}");
                    }
                }
            }
        }
        // Several bytes near the boundaries in one word, where a borrow could carry.
        let alphabet = [
            0x00, 0x1f, 0x20, 0x21, b'"', b'#', 0x5b, b'\\', 0x5d, 0x7f, 0x80, 0xa0, 0xff,
        ];
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..200_000 {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let text: Vec<u8> = (0..(seed >> 60) as usize + 8)
                .map(|i| alphabet[((seed >> (i % 16 * 4)) & 0xf) as usize % alphabet.len()])
                .collect();
            assert_eq!(super::needs_escape(&text), naive(&text), "{text:?}");
        }
    }

    use super::*;
    use crate::sink::record::{with_collected, with_collected_at};
    use slog::{o, Level, OwnedKVList};

    #[test]
    fn strings_are_copied_when_plain_and_escaped_like_serde_json_otherwise() {
        for text in [
            "",
            "plain path/to/file.rs",
            "é ✓ \u{7f}",
            "q\"",
            "b\\",
            "nl\n",
            "\u{1b}[2J",
            "\u{0}",
        ] {
            let mut ours = Vec::new();
            json_str(&mut ours, text);
            assert_eq!(ours, serde_json::to_vec(text).unwrap(), "{text:?}");
        }
    }

    #[test]
    fn a_record_is_one_parseable_object_with_identity_and_pairs() {
        let mut info = crate::RankInfo::new(2, 4, 0, 2).unwrap();
        info.host = "h\"1".into();
        let mut fmt = JsonFormat::new(&info);
        let kv =
            o!("size" => 7u64, "f" => 1.5f64, "nan" => f64::NAN, "ok" => true, "scope" => "local");
        let values = OwnedKVList::from(o!("job" => "j"));
        let msg = format_args!("line1\nline2 \u{1b}");
        let out = with_collected(Level::Info, msg, &kv, &values, |c| {
            let mut out = Vec::new();
            fmt.format(&mut out, c, c.scope().unwrap());
            out
        });
        assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 1);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["v"], 1);
        assert_eq!(v["msg"], "line1\nline2 \u{1b}");
        assert_eq!(v["rank"], 2);
        assert_eq!(v["size"], 4);
        assert_eq!(v["kv.size"], 7);
        assert_eq!(v["local_rank"], 0);
        assert_eq!(v["local_size"], 2);
        assert_eq!(v["host"], "h\"1");
        assert_eq!(v["scope"], "local");
        assert_eq!(v["level"], "info");
        assert_eq!(v["f"], 1.5);
        assert!(v["nan"].is_null());
        assert_eq!(v["ok"], true);
        assert_eq!(v["job"], "j");
        assert!(v["ts"].as_str().unwrap().ends_with('Z'));
    }

    /// `c` formatted with the identity `,"rank":2` as `scope`.
    fn line(fmt: &mut JsonFormat, c: &Collected, scope: &str) -> String {
        let mut out = Vec::new();
        fmt.format(&mut out, c, scope);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_record_is_written_byte_for_byte_as_the_schema_says() {
        let mut fmt = JsonFormat::from_identity(",\"rank\":2".into());
        let kv = o!("loss" => 0.25, "tokens" => 3u64, "phase" => "decode", "neg" => -7i64,
            "ok" => false, "none" => None::<u8>, "big" => 1e300, "inf" => f64::INFINITY);
        let values = OwnedKVList::from(o!("job" => "j\"1"));
        let ts = 1_779_337_446_123_456_789;
        with_collected_at(
            ts,
            Level::Info,
            format_args!("step {}", 3),
            &kv,
            &values,
            |c| {
                let site = format!(
                    ",\"module\":\"{}\",\"file\":\"{}\",\"line\":{}",
                    c.location.module, c.location.file, c.location.line
                );
                let pairs = ",\"loss\":0.25,\"tokens\":3,\"phase\":\"decode\",\"neg\":-7,\
                         \"ok\":false,\"none\":null,\"big\":1e+300,\"inf\":null,\"job\":\"j\\\"1\"}\n";
                let head = "{\"v\":1,\"ts\":\"2026-05-21T04:24:06.123456Z\",\"level\":\"info\",\
                        \"msg\":\"step 3\",\"rank\":2";
                // A plain scope (from the call site's cached fragment), another one, the plain
                // one again.
                for scope in ["process", "group:tp", "process", "global"] {
                    assert_eq!(
                        line(&mut fmt, c, scope),
                        format!("{head},\"scope\":\"{scope}\"{site}{pairs}")
                    );
                }
            },
        );
    }

    #[test]
    fn times_match_chrono_across_minutes_hours_days_and_years_in_any_order() {
        let mut fmt = JsonFormat::from_identity(String::new());
        let s = 1_000_000_000u64;
        for ts in [
            1_798_761_599 * s + 999_999_999, // 2026-12-31T23:59:59.999999
            1_798_761_600 * s,               // 2027-01-01T00:00:00.000000
            1_798_761_600 * s + 1_000,
            1_798_761_659 * s + 100_000_000,
            1_798_761_660 * s + 10_000,
            1_709_164_799 * s + 500_000_000, // 2024-02-28T23:59:59.5
            1_709_164_800 * s + 999,         // 2024-02-29, under a microsecond
            1_798_761_599 * s + 1,           // back to 2026
            0,
            999_999,
        ] {
            let text = with_collected_at(
                ts,
                Level::Info,
                format_args!("m"),
                &o!(),
                &OwnedKVList::from(o!()),
                |c| line(&mut fmt, c, "process"),
            );
            let v: serde_json::Value = serde_json::from_str(&text).unwrap();
            let expected = chrono::TimeZone::timestamp_nanos(&chrono::Utc, ts as i64)
                .format("%Y-%m-%dT%H:%M:%S%.6fZ")
                .to_string();
            assert_eq!(v["ts"], expected, "{ts}");
        }
    }

    #[test]
    fn every_level_and_scope_reads_back_by_its_name() {
        let mut fmt = JsonFormat::new(&crate::RankInfo::new(0, 1, 0, 1).unwrap());
        for (level, scope) in LEVELS.into_iter().zip(
            [
                "process",
                "local",
                "global",
                "group:tp",
                "ranks:0-3",
                "\"odd\"",
            ]
            .into_iter()
            .cycle(),
        ) {
            let kv = o!("scope" => scope);
            let out = with_collected(
                level,
                format_args!("m"),
                &kv,
                &OwnedKVList::from(o!()),
                |c| {
                    let mut out = Vec::new();
                    fmt.format(&mut out, c, c.scope().unwrap());
                    out
                },
            );
            let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
            assert_eq!(v["level"], crate::schema::level_name(level));
            assert_eq!(v["scope"], scope);
            assert_eq!(v["msg"], "m");
        }
    }
}
