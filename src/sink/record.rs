//! A record collected once, on the caller's thread, into reusable buffers: level, location,
//! time, message and key-values. It is what the queue carries to the writer thread and
//! what every sink formats.

use std::fmt::{self, Write as _};
use std::ops::Range;
use std::time::{SystemTime, UNIX_EPOCH};

use slog::{Key, Level, OwnedKVList, Record, RecordLocation, Serializer, KV};

use crate::schema::CONSOLE_KEY;
use crate::SCOPE_KEY;

/// Now, in nanoseconds since the Unix epoch (0 before 1970).
pub(crate) fn now_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// One collected value; text lives in the record's arena.
#[derive(Clone, Debug)]
pub(crate) enum Val {
    Str(Range<usize>),
    U64(u64),
    I64(i64),
    F64(f64),
    Bool(bool),
    Null,
    /// An error's chain of causes ([`ErrorChain`](crate::ErrorChain)): their texts in the
    /// arena, outermost first, each ended by [`CAUSE_END`].
    Chain(Range<usize>),
}

/// Ends each cause of a [`Val::Chain`] in the arena; a cause's own `\x1f` is written as
/// the text `\x1f`, as the console would escape it.
pub(crate) const CAUSE_END: char = '\u{1f}';

/// The causes of a [`Val::Chain`]'s text, outermost first.
pub(crate) fn causes(chain: &str) -> impl Iterator<Item = &str> {
    chain.split_terminator(CAUSE_END)
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
    /// The first `scope` value found (record before logger), as text.
    pub(super) scope: Option<Range<usize>>,
    /// The formatted message.
    pub(crate) msg: String,
    /// Key-values: the record's in the order written, then the logger's from the root.
    pub(crate) pairs: Vec<(Key, Val)>,
    /// Number of leading `pairs` that belong to the record.
    pub(super) record_pairs: usize,
    /// The text of the key-values (and the scope), which `pairs` point into.
    pub(super) arena: String,
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
            scope: None,
            msg: String::new(),
            pairs: Vec::new(),
            record_pairs: 0,
            arena: String::new(),
            ring_end: 0,
        }
    }
}

impl Collected {
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
        self.msg.clear();
        self.pairs.clear();
        self.arena.clear();
        match record.msg().as_str() {
            Some(text) => self.msg.push_str(text),
            None => {
                let _ = self.msg.write_fmt(*record.msg());
            }
        }
        let _ = record.kv().serialize(record, self);
        self.record_pairs = self.pairs.len();
        let _ = values.serialize(record, self);
        // slog serializes the newest key-value first; show them in the order written.
        self.pairs[..self.record_pairs].reverse();
        self.pairs[self.record_pairs..].reverse();
    }

    /// Whether the buffers hold more than a queue slot should keep after it is written.
    pub(crate) fn is_heavy(&self) -> bool {
        self.msg.capacity()
            + self.arena.capacity()
            + self.pairs.capacity() * std::mem::size_of::<(Key, Val)>()
            > SLOT_KEEP_BYTES
    }

    /// The record's scope text, `None` when neither it nor its logger gave one.
    pub(crate) fn scope(&self) -> Option<&str> {
        self.scope.as_ref().map(|r| &self.arena[r.clone()])
    }

    pub(crate) fn text(&self, range: &Range<usize>) -> &str {
        &self.arena[range.clone()]
    }

    fn push(&mut self, key: Key, val: Val) {
        // The first value of a key wins: the record's over its logger's, as for the scope.
        if !self.pairs.iter().any(|(k, _)| *k == key) {
            self.pairs.push((key, val));
        }
    }

    /// Adds a text value, written into the arena by `write`, unless `key` already has one.
    fn push_text(&mut self, key: Key, write: impl FnOnce(&mut String)) {
        if self.pairs.iter().any(|(k, _)| *k == key) {
            return;
        }
        let start = self.arena.len();
        write(&mut self.arena);
        let end = self.arena.len();
        self.pairs.push((key, Val::Str(start..end)));
    }

    /// Adds `from`'s logger key-values (those after its record's own) behind this record's,
    /// as a record logged through the same logger would have them.
    pub(crate) fn push_logger_pairs(&mut self, from: &Collected) {
        for (key, val) in &from.pairs[from.record_pairs..] {
            match val {
                Val::Str(range) => self.push_text(key, |arena| arena.push_str(from.text(range))),
                Val::Chain(range) => {
                    if !self.pairs.iter().any(|(k, _)| k == key) {
                        let start = self.arena.len();
                        self.arena.push_str(from.text(range));
                        let end = self.arena.len();
                        self.pairs.push((key, Val::Chain(start..end)));
                    }
                }
                other => self.push(key, other.clone()),
            }
        }
    }

    fn take_scope(&mut self, text: fmt::Arguments<'_>) {
        if self.scope.is_none() {
            let start = self.arena.len();
            let _ = self.arena.write_fmt(text);
            self.scope = Some(start..self.arena.len());
        }
    }
}

impl Serializer for Collected {
    fn emit_arguments(&mut self, key: Key, val: &fmt::Arguments<'_>) -> slog::Result {
        if key == SCOPE_KEY {
            self.take_scope(*val);
        } else {
            self.push_text(key, |arena| {
                let _ = arena.write_fmt(*val);
            });
        }
        Ok(())
    }

    fn emit_str(&mut self, key: Key, val: &str) -> slog::Result {
        if key == SCOPE_KEY {
            self.take_scope(format_args!("{val}"));
        } else {
            self.push_text(key, |arena| arena.push_str(val));
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
        if self.pairs.iter().any(|(k, _)| *k == key) {
            return Ok(());
        }
        let start = self.arena.len();
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
        while let Some(e) = cause {
            let from = self.arena.len();
            let _ = write!(self.arena, "{e}");
            if self.arena[from..].contains(CAUSE_END) {
                let own = self.arena.split_off(from).replace(CAUSE_END, "\\x1f");
                self.arena.push_str(&own);
            }
            self.arena.push(CAUSE_END);
            cause = e.source();
        }
        let end = self.arena.len();
        self.pairs.push((key, Val::Chain(start..end)));
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
    c.fill(&record, values, now_nanos());
    f(&c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use slog::{o, Level};

    #[test]
    fn pairs_come_in_written_order_record_first_and_first_value_wins() {
        let values = OwnedKVList::from(o!("job" => "a", "size" => 3u32));
        let kv = o!("x" => 1u8, "job" => "b", "scope" => "global");
        with_collected(Level::Info, format_args!("hi {}", 5), &kv, &values, |c| {
            assert_eq!(c.msg, "hi 5");
            assert_eq!(c.console, None);
            assert_eq!(c.scope(), Some("global"));
            let keys: Vec<_> = c.pairs.iter().map(|(k, _)| *k).collect();
            assert_eq!(keys, ["x", "job", "size"]);
            match &c.pairs[1].1 {
                Val::Str(r) => assert_eq!(c.text(r), "b"),
                other => panic!("expected text, got {other:?}"),
            }
        });
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
                let keys: Vec<_> = c.pairs.iter().map(|(k, _)| *k).collect();
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
}
