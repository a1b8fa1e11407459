//! A record collected once, on the caller's thread, into reusable buffers: level, location,
//! time, message and key-values. It is what the queue carries to the writer thread and
//! what every sink formats.

use std::fmt::{self, Write as _};
use std::ops::Range;

use slog::{Key, Level, OwnedKVList, Record, RecordLocation, Serializer, KV};

use super::ring::codec::{self, Decoded, Header, TextKind, TextWriter};
pub(crate) use super::value::{causes, Val, CAUSE_END};
use crate::schema::CONSOLE_KEY;
use crate::SCOPE_KEY;

/// Now, in nanoseconds since the Unix epoch (0 before 1970): `clock_gettime(2)` with
/// `CLOCK_REALTIME`, what `SystemTime::now` reads, without its conversions (this runs on
/// every log call).
pub(crate) fn now_nanos() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `clock_gettime` writes one `timespec` into `ts`, which lives on this stack.
    if unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) } != 0 {
        return 0;
    }
    match (u64::try_from(ts.tv_sec), u64::try_from(ts.tv_nsec)) {
        (Ok(secs), Ok(nanos)) => secs.saturating_mul(1_000_000_000).saturating_add(nanos),
        _ => 0,
    }
}

/// Where a collected record comes from before [`Collected::fill`] says.
const NOWHERE: RecordLocation = RecordLocation {
    file: "",
    line: 0,
    column: 0,
    function: "",
    module: "",
};

/// Heap bytes above which a queue slot gives its buffers back after being written, so a
/// rare huge record does not keep its memory for the rest of the job.
const SLOT_KEEP_BYTES: usize = 16 * 1024;

/// A record's level, location, message and key-values, collected into reusable buffers.
///
/// The caller's thread collects the record straight into the crash-safe ring's layout
/// ([`wire`](Self::wire), see [`super::ring`]'s codec): file, module, message, then each
/// key-value as an entry with its text inline. Copying it into the ring is then one
/// `memcpy`. The writer's side reads the entries into [`pairs`](Self::pairs) once
/// ([`read_pairs`](Self::read_pairs)) before formatting; text values are ranges of the
/// record's bytes.
pub(crate) struct Collected {
    pub(crate) level: Level,
    /// File, line and module of the log call (`'static` texts, copied).
    pub(crate) location: RecordLocation,
    /// The record's time: nanoseconds since the Unix epoch.
    pub(crate) ts_nanos: u64,
    /// Whether this rank's console shows it, as the caller's thread decided; `None`: the
    /// sinks decide.
    pub(crate) console: Option<bool>,
    /// The first `"console" => bool` found; `false` keeps the record off the console.
    pub(crate) console_wanted: Option<bool>,
    /// The record's bytes in the ring's layout. Its text ranges (message, scope, text
    /// values) hold UTF-8 only: they are written from `&str`, or checked when read back
    /// from a ring file.
    wire: Vec<u8>,
    /// Whether `wire` fits the ring's layout (see [`wire`](Self::wire)).
    fits: bool,
    /// The formatted message's range in `wire`.
    msg: Range<usize>,
    /// The first `scope` value found (record before logger): its text's range in `wire`.
    scope: Option<Range<usize>>,
    /// The key-values as collected, in slog's order, a repeated key included (text
    /// values are ranges of `wire`): what `wire`'s entries hold, kept so that the writer's
    /// side need not read them back from the bytes.
    collected: Vec<(Key, Val)>,
    /// Leading collected key-values that belong to the record (the rest are its logger's).
    record_entries: usize,
    /// Which of `collected` the sinks show, in order (see [`pairs`](Self::pairs)). Empty
    /// until [`read_pairs`](Self::read_pairs), and when `natural`.
    shown: Vec<u32>,
    /// Whether the sinks show every collected key-value, the record's and then its
    /// logger's, each in reverse order (no key is repeated, the common case): `shown` is
    /// then not filled.
    natural: bool,
    /// Whether `shown` is resolved.
    pairs_read: bool,
    /// Number of leading `shown` that belong to the record.
    record_pairs: usize,
    /// Text added by [`push_logger_pairs`](Self::push_logger_pairs), which `pairs` may point
    /// into past `wire`'s end.
    extra: String,
    /// Its position in the crash-safe ring after it (see [`super::ring`]); 0 when it is
    /// not in a ring.
    pub(crate) ring_end: u64,
}

impl Default for Collected {
    fn default() -> Collected {
        Collected {
            level: Level::Info,
            location: NOWHERE,
            ts_nanos: 0,
            console: None,
            console_wanted: None,
            wire: Vec::new(),
            fits: false,
            msg: 0..0,
            scope: None,
            collected: Vec::new(),
            record_entries: 0,
            shown: Vec::new(),
            natural: false,
            pairs_read: true,
            record_pairs: 0,
            extra: String::new(),
            ring_end: 0,
        }
    }
}

/// Bytes of ring layout and key-values a warm slot's buffers have room for: a typical
/// record (message, location, a few key-values) fits without growing them.
const WARM_WIRE_BYTES: usize = 384;
const WARM_ENTRIES: usize = 8;

impl Collected {
    /// A boxed record whose buffers already have room for a typical record, their memory
    /// touched now. The queue's first two batches of boxes and each thread's own box start
    /// so, so that a log call neither grows buffers nor takes page faults on fresh heap
    /// while the writer keeps up (measured: those faults, 1 to 3 µs each, were most of
    /// case 4's p99.5).
    pub(crate) fn warm() -> Box<Collected> {
        let mut c = Box::<Collected>::default();
        c.wire.reserve_exact(WARM_WIRE_BYTES);
        c.collected.reserve_exact(WARM_ENTRIES);
        c
    }

    /// Collects `record`, made at `ts_nanos`, and its logger's `values`, replacing what
    /// was there; `console` is `None`.
    pub(crate) fn fill(&mut self, record: &Record<'_>, values: &OwnedKVList, ts_nanos: u64) {
        self.level = record.level();
        self.location = *record.location();
        self.ts_nanos = ts_nanos;
        self.console = None;
        self.console_wanted = None;
        self.scope = None;
        self.ring_end = 0;
        self.collected.clear();
        self.shown.clear();
        self.natural = false;
        self.pairs_read = false;
        self.extra.clear();
        let start = codec::start(&mut self.wire, &self.location);
        let mut text = TextWriter::new(&mut self.wire);
        match record.msg().as_str() {
            Some(msg) => text.push_str(msg),
            None => {
                let _ = text.write_fmt(*record.msg());
            }
        }
        self.msg = start..self.wire.len();
        // Our serializer never fails; a value's own error leaves that value out.
        if let Err(e) = record.kv().serialize(record, self) {
            drop(e);
        }
        self.record_entries = self.collected.len();
        if let Err(e) = values.serialize(record, self) {
            drop(e);
        }
        self.fits = codec::finish(
            &mut self.wire,
            &Header {
                level: self.level,
                location: &self.location,
                ts_nanos,
                msg: &self.msg,
                scope: self.scope.as_ref(),
                entries: self.collected.len(),
                record_entries: self.record_entries,
            },
        );
    }

    /// A record read back from a ring file (recovery), its pairs resolved.
    pub(crate) fn read_back(d: Decoded) -> Collected {
        let mut c = Collected {
            level: d.level,
            location: d.location,
            ts_nanos: d.ts_nanos,
            fits: true,
            msg: d.msg,
            scope: d.scope,
            collected: d.collected,
            record_entries: d.record_entries,
            pairs_read: false,
            wire: d.wire,
            ..Collected::default()
        };
        c.read_pairs();
        c
    }

    /// The record's bytes as the ring holds them; `None` when it does not fit the ring's
    /// layout (past 4 GiB or 64 Ki key-values): such a record goes through unprotected.
    pub(crate) fn wire(&self) -> Option<&[u8]> {
        self.fits.then_some(&self.wire[..])
    }

    /// The formatted message.
    pub(crate) fn msg(&self) -> &str {
        self.text(&self.msg)
    }

    /// Resolves which collected key-values the sinks show ([`pairs`](Self::pairs)): the
    /// writer's side, before formatting; does nothing when it was done already.
    pub(crate) fn read_pairs(&mut self) {
        if self.pairs_read {
            return;
        }
        self.pairs_read = true;
        self.natural = !codec::has_repeats(&self.collected);
        self.record_pairs = if self.natural {
            self.shown.clear();
            self.record_entries.min(self.collected.len())
        } else {
            codec::resolve(&self.collected, self.record_entries, &mut self.shown)
        };
    }

    /// The key-values as the sinks show them: the record's in the order written, then the
    /// logger's from the root, each key once (the record's value over its logger's).
    /// Empty until [`read_pairs`](Self::read_pairs).
    pub(crate) fn pairs(&self) -> impl Iterator<Item = &(Key, Val)> {
        let natural = if self.natural {
            self.collected.len()
        } else {
            0
        };
        let (record, logger) = self.collected[..natural].split_at(self.record_pairs.min(natural));
        record
            .iter()
            .rev()
            .chain(logger.iter().rev())
            .chain(self.shown.iter().map(|&i| &self.collected[i as usize]))
    }

    /// Adds a key-value after those shown (a mark the writer's side adds, e.g. to a
    /// recovered record).
    pub(crate) fn add_pair(&mut self, key: Key, val: Val) {
        if self.natural {
            // Those shown so far, as `shown` lists them.
            let (all, record) = (self.collected.len() as u32, self.record_pairs as u32);
            self.shown.clear();
            self.shown
                .extend((0..record).rev().chain((record..all).rev()));
            self.natural = false;
        }
        self.shown.push(self.collected.len() as u32);
        self.collected.push((key, val));
    }

    /// Whether the buffers hold more than a queue slot should keep after it is written.
    pub(crate) fn is_heavy(&self) -> bool {
        self.wire.capacity()
            + self.extra.capacity()
            + self.collected.capacity() * std::mem::size_of::<(Key, Val)>()
            + self.shown.capacity() * std::mem::size_of::<u32>()
            > SLOT_KEEP_BYTES
    }

    /// The record's scope text, `None` when neither it nor its logger gave one.
    pub(crate) fn scope(&self) -> Option<&str> {
        self.scope.as_ref().map(|r| self.text(r))
    }

    /// The text of a value's range (of [`pairs`](Self::pairs)).
    pub(crate) fn text(&self, range: &Range<usize>) -> &str {
        let bytes = match range.start.checked_sub(self.wire.len()) {
            Some(start) => &self.extra.as_bytes()[start..range.end - self.wire.len()],
            None => &self.wire[range.clone()],
        };
        // SAFETY: every text range of `wire` holds UTF-8 (see the field), and a range
        // past `wire`'s end is one of `extra`'s, a `String`'s, taken at char boundaries.
        unsafe { std::str::from_utf8_unchecked(bytes) }
    }

    /// Collects a key-value that is not text.
    #[inline]
    fn push(&mut self, key: Key, val: Val) {
        codec::put_entry(&mut self.wire, key, &val);
        self.collected.push((key, val));
    }

    /// Collects a text key-value, written by `write` (a repeated key is resolved when the
    /// key-values are read: the first collected wins, the record's over its logger's).
    #[inline]
    fn push_text(&mut self, key: Key, write: impl FnOnce(&mut TextWriter<'_>)) {
        let range = codec::put_text(&mut self.wire, key, TextKind::Str, write);
        self.collected.push((key, Val::Str(range)));
    }

    /// Adds `from`'s logger key-values (those after its record's own) behind this record's,
    /// as a record logged through the same logger would have them. Both records' pairs
    /// must have been [read](Self::read_pairs); the additions go to `pairs` only, not
    /// to the record's bytes (this is for the writer's own warnings, which are
    /// formatted, never queued).
    pub(crate) fn push_logger_pairs(&mut self, from: &Collected) {
        for (key, val) in from.pairs().skip(from.record_pairs) {
            if self.pairs().any(|(k, _)| k == key) {
                continue;
            }
            let val = match val {
                Val::Str(range) | Val::Chain(range) => {
                    let start = self.wire.len() + self.extra.len();
                    self.extra.push_str(from.text(range));
                    let moved = start..self.wire.len() + self.extra.len();
                    if matches!(val, Val::Str(_)) {
                        Val::Str(moved)
                    } else {
                        Val::Chain(moved)
                    }
                }
                other => other.clone(),
            };
            self.add_pair(key, val);
        }
    }

    fn take_scope(&mut self, text: fmt::Arguments<'_>) {
        if self.scope.is_none() {
            let range = codec::put_text(&mut self.wire, "", TextKind::Scope, |w| {
                let _ = w.write_fmt(text);
            });
            self.scope = Some(range);
        }
    }
}

impl Serializer for Collected {
    fn emit_arguments(&mut self, key: Key, val: &fmt::Arguments<'_>) -> slog::Result {
        if key == SCOPE_KEY {
            self.take_scope(*val);
        } else {
            self.push_text(key, |w| {
                let _ = w.write_fmt(*val);
            });
        }
        Ok(())
    }

    fn emit_str(&mut self, key: Key, val: &str) -> slog::Result {
        if key == SCOPE_KEY {
            self.take_scope(format_args!("{val}"));
        } else {
            let range = codec::put_str(&mut self.wire, key, val);
            self.collected.push((key, Val::Str(range)));
        }
        Ok(())
    }

    fn emit_u64(&mut self, key: Key, val: u64) -> slog::Result {
        if key == SCOPE_KEY {
            self.take_scope(format_args!("{val}"));
        } else {
            self.push(key, Val::U64(val));
        }
        Ok(())
    }

    fn emit_u8(&mut self, key: Key, val: u8) -> slog::Result {
        self.emit_u64(key, val.into())
    }

    fn emit_u16(&mut self, key: Key, val: u16) -> slog::Result {
        self.emit_u64(key, val.into())
    }
    fn emit_u32(&mut self, key: Key, val: u32) -> slog::Result {
        self.emit_u64(key, val.into())
    }
    fn emit_usize(&mut self, key: Key, val: usize) -> slog::Result {
        self.emit_u64(key, val as u64)
    }

    fn emit_i64(&mut self, key: Key, val: i64) -> slog::Result {
        if key == SCOPE_KEY {
            self.take_scope(format_args!("{val}"));
        } else {
            self.push(key, Val::I64(val));
        }
        Ok(())
    }
    fn emit_i8(&mut self, key: Key, val: i8) -> slog::Result {
        self.emit_i64(key, val.into())
    }
    fn emit_i16(&mut self, key: Key, val: i16) -> slog::Result {
        self.emit_i64(key, val.into())
    }
    fn emit_i32(&mut self, key: Key, val: i32) -> slog::Result {
        self.emit_i64(key, val.into())
    }
    fn emit_isize(&mut self, key: Key, val: isize) -> slog::Result {
        self.emit_i64(key, val as i64)
    }

    fn emit_f64(&mut self, key: Key, val: f64) -> slog::Result {
        if key == SCOPE_KEY {
            self.take_scope(format_args!("{val}"));
        } else {
            self.push(key, Val::F64(val));
        }
        Ok(())
    }
    fn emit_f32(&mut self, key: Key, val: f32) -> slog::Result {
        self.emit_f64(key, val.into())
    }

    fn emit_bool(&mut self, key: Key, val: bool) -> slog::Result {
        if key == SCOPE_KEY {
            self.take_scope(format_args!("{val}"));
        } else if key == CONSOLE_KEY {
            self.console_wanted = self.console_wanted.or(Some(val));
        } else {
            self.push(key, Val::Bool(val));
        }
        Ok(())
    }

    fn emit_unit(&mut self, key: Key) -> slog::Result {
        self.emit_none(key)
    }

    fn emit_error(&mut self, key: Key, error: &(dyn std::error::Error + 'static)) -> slog::Result {
        if key == SCOPE_KEY {
            self.take_scope(format_args!("{error}"));
            return Ok(());
        }
        let range = codec::put_text(&mut self.wire, key, TextKind::Chain, |w| {
            let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
            while let Some(e) = cause {
                let from = w.len();
                let _ = write!(w, "{e}");
                if w.since(from).contains(CAUSE_END) {
                    let own = w.since(from).replace(CAUSE_END, "\\x1f");
                    w.truncate(from);
                    w.push_str(&own);
                }
                let _ = w.write_char(CAUSE_END);
                cause = e.source();
            }
        });
        self.collected.push((key, Val::Chain(range)));
        Ok(())
    }

    fn emit_none(&mut self, key: Key) -> slog::Result {
        if key == SCOPE_KEY {
            self.take_scope(format_args!("None"));
        } else {
            self.push(key, Val::Null);
        }
        Ok(())
    }
}

/// Builds a record from parts and hands it, collected, to `f` (for the formatters' tests).
#[cfg(test)]
pub(crate) fn with_collected<R>(
    level: slog::Level,
    msg: fmt::Arguments<'_>,
    kv: &dyn KV,
    values: &OwnedKVList,
    f: impl FnOnce(&Collected) -> R,
) -> R {
    with_collected_at(now_nanos(), level, msg, kv, values, f)
}

/// [`with_collected`] for a record made `ts_nanos` nanoseconds after the epoch.
#[cfg(test)]
pub(crate) fn with_collected_at<R>(
    ts_nanos: u64,
    level: slog::Level,
    msg: fmt::Arguments<'_>,
    kv: &dyn KV,
    values: &OwnedKVList,
    f: impl FnOnce(&Collected) -> R,
) -> R {
    static LOCATION: slog::RecordLocation = slog::RecordLocation {
        file: file!(),
        line: line!(),
        column: 0,
        function: "",
        module: module_path!(),
    };
    let rs = slog::RecordStatic {
        location: &LOCATION,
        tag: "",
        level,
    };
    let record = Record::new(&rs, &msg, slog::BorrowedKV(kv));
    let mut c = Collected::default();
    c.fill(&record, values, ts_nanos);
    c.read_pairs();
    f(&c)
}

#[cfg(test)]
mod tests {
    use super::super::ring::codec::{decode, record_len, Texts};
    use super::*;
    use slog::{o, Level};

    #[test]
    fn pairs_come_in_written_order_record_first_and_first_value_wins() {
        let values = OwnedKVList::from(o!("job" => "a", "size" => 3u32));
        let kv = o!("x" => 1u8, "job" => "b", "scope" => "global");
        with_collected(Level::Info, format_args!("hi {}", 5), &kv, &values, |c| {
            assert_eq!(c.msg(), "hi 5");
            assert_eq!(c.console, None);
            assert_eq!(c.scope(), Some("global"));
            let keys: Vec<_> = c.pairs().map(|(k, _)| *k).collect();
            assert_eq!(keys, ["x", "job", "size"]);
            match &c.pairs().nth(1).unwrap().1 {
                Val::Str(r) => assert_eq!(c.text(r), "b"),
                other => panic!("expected text, got {other:?}"),
            }
        });
    }

    #[test]
    fn without_repeated_keys_pairs_come_in_the_order_resolve_gives() {
        let values = OwnedKVList::from(o!("job" => "a", "size" => 3u32, "tp" => 2u8));
        let kv = o!("x" => 1u8, "y" => "b", "z" => 2.5f64);
        with_collected(Level::Info, format_args!("m"), &kv, &values, |c| {
            assert!(c.natural);
            let mut shown = Vec::new();
            let record = codec::resolve(&c.collected, c.record_entries, &mut shown);
            let resolved: Vec<_> = shown.iter().map(|&i| c.collected[i as usize].0).collect();
            let keys: Vec<_> = c.pairs().map(|(k, _)| *k).collect();
            assert_eq!(keys, resolved);
            assert_eq!(keys, ["x", "y", "z", "job", "size", "tp"]);
            assert_eq!(c.record_pairs, record);
        });
        // A mark added after them keeps their order and its own place.
        let kv = o!("x" => 1u8);
        let values = OwnedKVList::from(o!("job" => "a", "size" => 3u32));
        let mut c = Collected::default();
        with_collected(Level::Info, format_args!("m"), &kv, &values, |from| {
            let rs = slog::RecordStatic {
                location: &NOWHERE,
                tag: "",
                level: Level::Info,
            };
            let kv = o!("k" => 1u8);
            c.fill(
                &Record::new(&rs, &format_args!("w"), slog::BorrowedKV(&kv)),
                &OwnedKVList::from(o!()),
                0,
            );
            c.read_pairs();
            c.push_logger_pairs(from);
        });
        c.add_pair("recovered", Val::Bool(true));
        let keys: Vec<_> = c.pairs().map(|(k, _)| *k).collect();
        assert_eq!(keys, ["k", "job", "size", "recovered"]);
    }

    #[test]
    fn console_false_is_taken_out_of_the_pairs() {
        let kv = o!("console" => false, "gpu" => 0u32);
        with_collected(
            Level::Info,
            format_args!("m"),
            &kv,
            &OwnedKVList::from(o!("console" => true)),
            |c| {
                assert_eq!(c.console_wanted, Some(false));
                let keys: Vec<_> = c.pairs().map(|(k, _)| *k).collect();
                assert_eq!(keys, ["gpu"]);
            },
        );
    }

    #[test]
    fn the_first_scope_is_kept_as_text() {
        let kv = o!("scope" => "globl", "scope" => 5u8);
        let values = OwnedKVList::from(o!("scope" => "local"));
        with_collected(Level::Info, format_args!("m"), &kv, &values, |c| {
            assert_eq!(c.scope(), Some("5"));
            assert_eq!(c.console, None);
            assert!(c.ts_nanos > 0);
        });
    }

    #[test]
    fn a_record_reads_back_from_the_rings_layout_as_it_was_collected() {
        let values = OwnedKVList::from(o!("model" => "llama", "tp" => 2u32));
        // "tp" is the record's and its logger's, "n" the record's twice: the record's
        // newest value wins, read live or from the ring.
        let kv = o!("scope" => "global", "n" => 1u8, "tp" => 4u32, "n" => -3i64, "f" => 1.5f64, "ok" => true, "none" => None::<u8>, "text" => "a \"b\"");
        with_collected(Level::Warning, format_args!("msg é"), &kv, &values, |c| {
            let wire = c.wire().expect("fits the layout").to_vec();
            assert_eq!(record_len(&wire), Some(wire.len()));
            let back = Collected::read_back(decode(&wire, &mut Texts::default()).unwrap());
            assert_eq!(back.level, c.level);
            assert_eq!(back.ts_nanos, c.ts_nanos);
            assert_eq!(back.location.file, c.location.file);
            assert_eq!(back.location.line, c.location.line);
            assert_eq!(back.location.module, c.location.module);
            assert_eq!(back.msg(), c.msg());
            assert_eq!(back.scope(), Some("global"));
            let pairs = |c: &Collected| format!("{:?}", c.pairs().collect::<Vec<_>>());
            assert_eq!(pairs(&back), pairs(c));
            let keys: Vec<_> = back.pairs().map(|(k, _)| *k).collect();
            assert_eq!(keys, ["tp", "n", "f", "ok", "none", "text", "model"]);
            assert!(matches!(back.pairs().nth(1), Some((_, Val::I64(-3)))));
            assert!(matches!(back.pairs().next(), Some((_, Val::U64(4)))));
            assert!(decode(&wire[..wire.len() - 1], &mut Texts::default()).is_none());
        });
    }

    #[test]
    fn damaged_text_is_refused_on_read_back() {
        with_collected(
            Level::Info,
            format_args!("m"),
            &o!("text" => "ab"),
            &OwnedKVList::from(o!()),
            |c| {
                let mut wire = c.wire().expect("fits").to_vec();
                let at = wire.len() - 1;
                wire[at] = 0xff;
                assert!(decode(&wire, &mut Texts::default()).is_none());
            },
        );
    }
}
