//! [`Spans`]: a scanned [`Record`] as byte ranges of its line, its key-values' values not
//! converted, owning nothing and borrowing nothing, so that one thread can scan lines
//! that another thread then uses as records (`ranklog merge --collapse` and the live view
//! scan beside the thread that collapses).

use std::borrow::Cow;
use std::ops::Range;

use slog::Level;

use super::flat::{value_at, walk};
use super::{Record, Value};

/// A record in the writer's own style (the lines [`flat`](super::flat) reads) as ranges of
/// its line. Its key-values are `fields` of a list shared by many records (one
/// allocation per batch, not per record), each value as the range of its text on the
/// line, converted only when it is used ([`record`](Self::record)).
#[derive(Clone, Debug)]
pub(crate) struct Spans {
    v: Option<u64>,
    pub(crate) ts_us: i64,
    pub(crate) level: Level,
    msg: Range<usize>,
    pub(crate) rank: Option<u32>,
    pub(crate) size: Option<u32>,
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

/// The key-values of many [`Spans`], one after the other: the range of the key and that
/// of the value's text (a string's with its quotes) on the line.
pub(crate) type SpanFields = Vec<(Range<usize>, Range<usize>)>;

/// Where `text` lies in `line`; empty text anywhere is `0..0`. `None` for text that is
/// not a slice of the line.
fn range(line: &[u8], text: &str) -> Option<Range<usize>> {
    if text.is_empty() {
        return Some(0..0);
    }
    let start = (text.as_ptr() as usize).checked_sub(line.as_ptr() as usize)?;
    let end = start + text.len();
    (end <= line.len()).then_some(start..end)
}

impl Spans {
    /// The record on `line` as ranges of it, its key-values appended to `fields`, without
    /// converting their values; `None` (and `fields` unchanged) where the flat parser
    /// gives none (serde_json must read the line: escapes, nested values, whitespace,
    /// invalid UTF-8, not a record).
    pub(crate) fn scan(line: &[u8], fields: &mut SpanFields) -> Option<Spans> {
        let first = fields.len();
        let spans = std::str::from_utf8(line).ok().and_then(|text| {
            let mut rec = Record::empty();
            walk(text, &mut rec, &mut |key, value| {
                fields.push((range(line, key)?, value));
                Some(())
            })?;
            let text = |t: &Cow<'_, str>| range(line, t);
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
        });
        if spans.is_none() {
            fields.truncate(first);
        }
        spans
    }

    /// The same record with its key-values at the start of their list: for a record
    /// that keeps its own copy of them (`fields(all).to_vec()`).
    pub(crate) fn rebased(&self) -> Spans {
        Spans {
            fields: 0..self.fields.len(),
            ..self.clone()
        }
    }

    /// The host on `line` (the line it was made of).
    pub(crate) fn host<'l>(&self, line: &'l str) -> &'l str {
        line.get(self.host.clone()).unwrap_or_default()
    }

    /// The scope on `line` (the line it was made of).
    pub(crate) fn scope<'l>(&self, line: &'l str) -> &'l str {
        line.get(self.scope.clone()).unwrap_or_default()
    }

    /// The rank on its node.
    pub(crate) fn local_rank(&self) -> Option<u32> {
        self.local_rank
    }

    /// The message on `line` (the line it was made of).
    pub(crate) fn msg<'l>(&self, line: &'l str) -> &'l str {
        line.get(self.msg.clone()).unwrap_or_default()
    }

    /// The key-values' key and value ranges, in `fields` (the list it was made with).
    pub(crate) fn fields<'f>(&self, fields: &'f SpanFields) -> &'f [(Range<usize>, Range<usize>)] {
        &fields[self.fields.clone()]
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
            rec.fields.push((text(key)?, value_at(line, value.start)?));
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

/// The value whose text is `token` (a range [`Spans::scan`] found), as the full parse
/// reads it; `None` when `token` is not such a value.
pub(crate) fn token_value(token: &[u8]) -> Option<Value<'_>> {
    value_at(std::str::from_utf8(token).ok()?, 0)
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
        let mut fields = vec![(0..0, 0..0)];
        for line in lines {
            let rec = Record::parse(line.as_bytes()).unwrap();
            let spans = Spans::scan(line.as_bytes(), &mut fields).unwrap();
            let again = spans.record(line, &fields, vec![(Cow::Borrowed("old"), Value::Null)]);
            assert_eq!(again, Some(rec), "{line}");
        }
    }

    #[test]
    fn lines_the_flat_parser_leaves_to_serde_have_no_spans() {
        let mut fields = Vec::new();
        for line in [
            r#"{"ts":"2026-11-21T04:24:06.123456Z","level":"info","msg":"a\nb"}"#,
            r#"{"ts":"2026-11-21T04:24:06.123456Z","level":"info","k":1,"s":"a\tb"}"#,
            r#"{"ts":"2026-11-21T04:24:06.123456Z","level":"info","k":1,"l":[1]}"#,
        ] {
            assert!(Record::parse(line.as_bytes()).is_ok());
            assert!(
                Spans::scan(line.as_bytes(), &mut fields).is_none(),
                "{line}"
            );
            assert!(fields.is_empty(), "nothing is left behind: {line}");
        }
    }
}
