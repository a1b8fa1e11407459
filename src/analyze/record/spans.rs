//! [`Spans`]: a parsed [`Record`] as byte ranges of its line, owning nothing and borrowing
//! nothing, so that one thread can parse lines that another thread then uses as records
//! (`ranklog merge --collapse` parses beside the thread that collapses).

use std::borrow::Cow;
use std::ops::Range;

use slog::Level;

use super::{Record, Value};

/// A key-value's value: as [`Value`], with text as a range of the line.
#[derive(Clone, Debug)]
pub(crate) enum SpanValue {
    Null,
    Bool(bool),
    U64(u64),
    I64(i64),
    F64(f64),
    Str(Range<usize>),
}

/// A record whose text all lies in its line, as ranges of the line. Its key-values are
/// `fields` of a list shared by many records (one allocation per batch, not per record).
#[derive(Clone, Debug)]
pub(crate) struct Spans {
    v: Option<u64>,
    ts_us: i64,
    level: Level,
    msg: Range<usize>,
    rank: Option<u32>,
    size: Option<u32>,
    local_rank: Option<u32>,
    local_size: Option<u32>,
    host: Range<usize>,
    pid: Option<u64>,
    scope: Range<usize>,
    module: Range<usize>,
    file: Range<usize>,
    line: Option<u32>,
    fields: Range<usize>,
}

/// The key-values of many [`Spans`], one after the other.
pub(crate) type SpanFields = Vec<(Range<usize>, SpanValue)>;

/// Where `text` lies in `line`; empty text anywhere is `0..0`. `None` for text that is
/// not a slice of the line (unescaped into a copy, which is memory of its own).
fn range(line: &[u8], text: &str) -> Option<Range<usize>> {
    if text.is_empty() {
        return Some(0..0);
    }
    let start = (text.as_ptr() as usize).checked_sub(line.as_ptr() as usize)?;
    let end = start + text.len();
    (end <= line.len()).then_some(start..end)
}

impl Spans {
    /// `rec`, parsed from `line`, as ranges of `line`, its key-values appended to
    /// `fields`; `None` (and `fields` unchanged) when some of its text is not a slice of
    /// the line (a string with escapes, a repaired line) or a value is an array or object.
    pub(crate) fn of(line: &[u8], rec: &Record<'_>, fields: &mut SpanFields) -> Option<Spans> {
        let first = fields.len();
        let mut add = |key: &Cow<'_, str>, value: &Value<'_>| -> Option<()> {
            let value = match value {
                Value::Null => SpanValue::Null,
                Value::Bool(v) => SpanValue::Bool(*v),
                Value::U64(v) => SpanValue::U64(*v),
                Value::I64(v) => SpanValue::I64(*v),
                Value::F64(v) => SpanValue::F64(*v),
                Value::Str(s) => SpanValue::Str(range(line, s)?),
                Value::Json(_) => return None,
            };
            fields.push((range(line, key)?, value));
            Some(())
        };
        if rec.fields.iter().any(|(k, v)| add(k, v).is_none()) {
            fields.truncate(first);
            return None;
        }
        let text = |t: &Cow<'_, str>| range(line, t);
        let spans = (|| {
            Some(Spans {
                v: rec.v,
                ts_us: rec.ts_us,
                level: rec.level,
                msg: text(&rec.msg)?,
                rank: rec.rank,
                size: rec.size,
                local_rank: rec.local_rank,
                local_size: rec.local_size,
                host: text(&rec.host)?,
                pid: rec.pid,
                scope: text(&rec.scope)?,
                module: text(&rec.module)?,
                file: text(&rec.file)?,
                line: rec.line,
                fields: first..fields.len(),
            })
        })();
        if spans.is_none() {
            fields.truncate(first);
        }
        spans
    }

    /// The record again, borrowing from `line` (the line it was made of, as text) and
    /// its key-values from `fields` (the list it was made with), in `list` (emptied first;
    /// a list handed back from an earlier record saves an allocation). `None` when they
    /// are not.
    pub(crate) fn record<'a>(
        &self,
        line: &'a str,
        fields: &SpanFields,
        mut list: Vec<(Cow<'a, str>, Value<'a>)>,
    ) -> Option<Record<'a>> {
        let text = |r: &Range<usize>| line.get(r.clone()).map(Cow::Borrowed);
        let mut rec = Record::empty();
        list.clear();
        rec.fields = list;
        for (key, value) in fields.get(self.fields.clone())? {
            let value = match value {
                SpanValue::Null => Value::Null,
                SpanValue::Bool(v) => Value::Bool(*v),
                SpanValue::U64(v) => Value::U64(*v),
                SpanValue::I64(v) => Value::I64(*v),
                SpanValue::F64(v) => Value::F64(*v),
                SpanValue::Str(r) => Value::Str(text(r)?),
            };
            rec.fields.push((text(key)?, value));
        }
        rec.v = self.v;
        rec.ts_us = self.ts_us;
        rec.level = self.level;
        rec.msg = text(&self.msg)?;
        rec.rank = self.rank;
        rec.size = self.size;
        rec.local_rank = self.local_rank;
        rec.local_size = self.local_size;
        rec.host = text(&self.host)?;
        rec.pid = self.pid;
        rec.scope = text(&self.scope)?;
        rec.module = text(&self.module)?;
        rec.file = text(&self.file)?;
        rec.line = self.line;
        Some(rec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_made_spans_and_back_is_the_same_record() {
        let lines = [
            r#"{"v":1,"ts":"2026-11-21T04:24:06.123456Z","level":"warning","msg":"loaded","rank":3,"size":16,"local_rank":null,"local_size":2,"host":"node-a","pid":1,"scope":"global","module":"m","file":"src/m.rs","line":12,"bytes":10,"name":"a b","kv.size":7,"f":1.5,"none":null,"t":true,"n":-4,"e":""}"#,
            r#"{"ts":"2026-11-21T04:24:06.123456Z","level":"info"}"#,
        ];
        let mut fields = vec![(0..0, SpanValue::Null)];
        for line in lines {
            let rec = Record::parse(line.as_bytes()).unwrap();
            let spans = Spans::of(line.as_bytes(), &rec, &mut fields).unwrap();
            let again = spans.record(line, &fields, vec![(Cow::Borrowed("old"), Value::Null)]);
            assert_eq!(again, Some(rec), "{line}");
        }
    }

    #[test]
    fn text_that_is_not_a_slice_of_the_line_has_no_spans() {
        let mut fields = Vec::new();
        for line in [
            r#"{"ts":"2026-11-21T04:24:06.123456Z","level":"info","msg":"a\nb"}"#,
            r#"{"ts":"2026-11-21T04:24:06.123456Z","level":"info","k":1,"s":"a\tb"}"#,
            r#"{"ts":"2026-11-21T04:24:06.123456Z","level":"info","k":1,"l":[1]}"#,
        ] {
            let rec = Record::parse(line.as_bytes()).unwrap();
            assert!(
                Spans::of(line.as_bytes(), &rec, &mut fields).is_none(),
                "{line}"
            );
            assert!(fields.is_empty(), "nothing is left behind: {line}");
        }
    }
}
