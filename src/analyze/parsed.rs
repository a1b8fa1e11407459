//! [`ParsedBatch`]: lines scanned on one thread and used as records ([`Item`]), in their
//! order, on another (`ranklog merge --collapse` and the live view scan beside the thread
//! that collapses).

use std::borrow::Cow;
use std::ops::Range;

use super::identity::identity_hash;
use super::reader::parse_lossy;
use super::record::spans::{SpanFields, Spans};
use super::record::{Record, Value};
use super::{Filter, Warnings};

/// Parses `line` and applies the filter's conditions on contents; `None` for a line that
/// is not a record (counted in `damage`) or that the filter rejects. The rank is the
/// record's own, else `file_rank`.
pub(crate) fn parse_filtered<'a>(
    line: &'a [u8],
    file_rank: Option<u32>,
    filter: &Filter,
    scratch: &'a mut String,
    damage: &mut Warnings,
) -> Option<(Record<'a>, Option<u32>)> {
    let (rec, repaired) = parse_lossy(line, scratch);
    damage.invalid_utf8 += u64::from(repaired);
    let Some(rec) = rec else {
        damage.bad_lines += 1;
        return None;
    };
    let rank = rec.rank.or(file_rank);
    (filter.accepts_rank(rank) && filter.accepts(&rec)).then_some((rec, rank))
}

/// How many lines ahead of the record it hands out [`ParsedBatch::for_each_item`] tells
/// the identities of records: a collapser asks for the memory of their groups in three
/// stages, the farthest first (see `Collapser::prefetch`). A stage is a few records' time,
/// about the wait for main memory.
pub(crate) const AHEAD: [usize; 3] = [12, 6, 3];

/// The identities ([`identity_hash`]) of the records [`AHEAD`] lines after one: `None`
/// past the batch's end, and for a line not scanned.
pub(crate) type Ahead = [Option<u64>; 3];

/// What a parsing thread made of one line.
enum Parsed {
    /// A record the filter rejects.
    Skip,
    /// The record as ranges of its line, with its rank and the hash of its collapse
    /// identity ([`identity_hash`]).
    Record(Spans, Option<u32>, u64),
    /// A line the flat parser does not read (escapes, nested values, whitespace, invalid
    /// UTF-8, not a record): the thread that uses it parses it whole (and counts the
    /// damage).
    Again,
}

/// A record of a batch as the thread that uses it gets it.
pub(crate) enum Item<'a> {
    /// Scanned: ranges of its line, its key-values not converted yet.
    Scanned(Scanned<'a>),
    /// Parsed whole (a line the scan left), with its line.
    Parsed(&'a Record<'a>, &'a [u8]),
}

impl<'a> Item<'a> {
    /// Time of the record, microseconds since the Unix epoch.
    pub(crate) fn ts_us(&self) -> i64 {
        match self {
            Item::Scanned(s) => s.spans.ts_us,
            Item::Parsed(rec, _) => rec.ts_us,
        }
    }

    /// The hash of the record's collapse identity ([`identity_hash`]): made on the parsing
    /// thread for a scanned record.
    pub(crate) fn identity(&self) -> u64 {
        match self {
            Item::Scanned(s) => s.identity,
            Item::Parsed(rec, _) => identity_hash(rec.level, &rec.msg),
        }
    }

    /// Severity.
    pub(crate) fn level(&self) -> slog::Level {
        match self {
            Item::Scanned(s) => s.spans.level,
            Item::Parsed(rec, _) => rec.level,
        }
    }

    /// The message.
    pub(crate) fn msg(&self) -> &str {
        match self {
            Item::Scanned(s) => s.msg(),
            Item::Parsed(rec, _) => &rec.msg,
        }
    }

    /// World size.
    pub(crate) fn size(&self) -> Option<u32> {
        match self {
            Item::Scanned(s) => s.spans.size,
            Item::Parsed(rec, _) => rec.size,
        }
    }

    /// Host name.
    pub(crate) fn host(&self) -> &str {
        match self {
            Item::Scanned(s) => s.spans.host(s.text()),
            Item::Parsed(rec, _) => &rec.host,
        }
    }

    /// Resolved scope.
    pub(crate) fn scope(&self) -> &str {
        match self {
            Item::Scanned(s) => s.spans.scope(s.text()),
            Item::Parsed(rec, _) => &rec.scope,
        }
    }

    /// Rank on its node.
    pub(crate) fn local_rank(&self) -> Option<u32> {
        match self {
            Item::Scanned(s) => s.spans.local_rank(),
            Item::Parsed(rec, _) => rec.local_rank,
        }
    }

    /// Whether a `kind` key-value of the record is the string `kind`.
    pub(crate) fn has_kind(&self, kind: &str) -> bool {
        match self {
            Item::Scanned(s) => s.fields.iter().any(|(k, v)| {
                // A scanned string has no escapes: its text between the quotes is it.
                let text = &s.line[v.clone()];
                &s.line[k.clone()] == b"kind"
                    && text.len() == kind.len() + 2
                    && text.first() == Some(&b'"')
                    && &text[1..=kind.len()] == kind.as_bytes()
            }),
            Item::Parsed(rec, _) => rec
                .fields
                .iter()
                .any(|(k, v)| k == "kind" && v.as_str() == Some(kind)),
        }
    }

    /// The whole record, owning its text.
    pub(crate) fn to_owned_record(&self) -> Option<Record<'static>> {
        match self {
            Item::Scanned(s) => s.record(Vec::new()).map(Record::into_owned),
            Item::Parsed(rec, _) => Some((*rec).clone().into_owned()),
        }
    }
}

/// A scanned record: its line, its ranges and its key-values' ranges. Made only of a line
/// [`Spans::scan`] read (valid UTF-8, its ranges at character boundaries).
pub(crate) struct Scanned<'a> {
    /// The line.
    pub(crate) line: &'a [u8],
    /// Its ranges.
    pub(crate) spans: &'a Spans,
    /// Its key-values: the ranges of key and value text on `line`.
    pub(crate) fields: &'a [(Range<usize>, Range<usize>)],
    all_fields: &'a SpanFields,
    /// The hash of its collapse identity ([`identity_hash`]).
    pub(crate) identity: u64,
}

impl<'a> Scanned<'a> {
    /// The line as text.
    fn text(&self) -> &'a str {
        // SAFETY: a `Scanned` is made only of a line that `Spans::scan` read, which it
        // does only when the line is valid UTF-8 (`for_each_item`).
        unsafe { std::str::from_utf8_unchecked(self.line) }
    }

    /// The message, as text.
    pub(crate) fn msg(&self) -> &'a str {
        self.spans.msg(self.text())
    }

    /// The whole record, its values converted, its key-values in `list` (emptied first).
    pub(crate) fn record(&self, list: Vec<(Cow<'a, str>, Value<'a>)>) -> Option<Record<'a>> {
        self.spans.record(self.text(), self.all_fields, list)
    }
}

/// Lines (their bytes one after the other, where each ends, the rank of its file) and,
/// once [`parse`](Self::parse)d, what they hold. Batches go back and forth between
/// threads, so their buffers are reused.
#[derive(Default)]
pub(crate) struct ParsedBatch {
    bytes: Vec<u8>,
    lines: Vec<(usize, Option<u32>)>,
    parsed: Vec<Parsed>,
    fields: SpanFields,
}

impl ParsedBatch {
    /// Adds a line (without its `\n`).
    pub(crate) fn push(&mut self, line: &[u8], file_rank: Option<u32>) {
        self.bytes.extend_from_slice(line);
        self.lines.push((self.bytes.len(), file_rank));
    }

    /// Number of lines.
    pub(crate) fn len(&self) -> usize {
        self.lines.len()
    }

    /// Bytes of the lines.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes.len()
    }

    /// Moves the lines (not yet parsed) after the first `1 / part` of them to `other`,
    /// which must be empty.
    pub(crate) fn split_into(&mut self, other: &mut ParsedBatch, part: usize) {
        let keep = self.lines.len() / part.max(1);
        let cut = keep.checked_sub(1).map_or(0, |i| self.lines[i].0);
        other.bytes.extend_from_slice(&self.bytes[cut..]);
        other.lines.extend(
            self.lines[keep..]
                .iter()
                .map(|&(end, rank)| (end - cut, rank)),
        );
        self.bytes.truncate(cut);
        self.lines.truncate(keep);
    }

    /// Scans and filters every line (on a parsing thread): the lines of the writer's own
    /// style are found field by field, their values converted only when used; any other
    /// line is left to the thread that uses it.
    pub(crate) fn parse(&mut self, filter: &Filter) {
        // Conditions on contents are tested on the record, converted here.
        let converts = filter.needs_record() || filter.ranks.is_some();
        let mut start = 0;
        let mut spare = Vec::new();
        for &(end, file_rank) in &self.lines {
            let line = &self.bytes[start..end];
            start = end;
            let Some(spans) = Spans::scan(line, &mut self.fields) else {
                self.parsed.push(Parsed::Again);
                continue;
            };
            let rank = spans.rank.or(file_rank);
            let kept = !converts || {
                let text = std::str::from_utf8(line).unwrap_or_default();
                let rec = spans.record(text, &self.fields, std::mem::take(&mut spare));
                let kept = rec
                    .as_ref()
                    .is_some_and(|rec| filter.accepts_rank(rank) && filter.accepts(rec));
                spare = rec.map(|rec| rec.fields).unwrap_or_default();
                spare.clear();
                kept
            };
            self.parsed.push(if kept {
                // SAFETY: `Spans::scan` reads only valid UTF-8 lines.
                let text = unsafe { std::str::from_utf8_unchecked(line) };
                let identity = identity_hash(spans.level, spans.msg(text));
                Parsed::Record(spans, rank, identity)
            } else {
                Parsed::Skip
            });
        }
    }

    /// Hands `f` each record the filter kept, in line order, with its rank and the
    /// identities of the records [`AHEAD`] lines after it: scanned where
    /// [`parse`](Self::parse) scanned it, else parsed here (with `scratch`, adding the
    /// damage found to `damage`).
    ///
    /// # Errors
    ///
    /// The first error of `f`, which ends the walk.
    pub(crate) fn for_each_item<E, F>(
        &self,
        filter: &Filter,
        scratch: &mut String,
        damage: &mut Warnings,
        mut f: F,
    ) -> Result<(), E>
    where
        F: FnMut(Item<'_>, Option<u32>, Ahead) -> Result<(), E>,
    {
        let identity = |i: usize| match self.parsed.get(i) {
            Some(Parsed::Record(_, _, identity)) => Some(*identity),
            _ => None,
        };
        let mut start = 0;
        for (i, (&(end, file_rank), parsed)) in self.lines.iter().zip(&self.parsed).enumerate() {
            let line = &self.bytes[start..end];
            start = end;
            let ahead = AHEAD.map(|d| identity(i + d));
            match parsed {
                Parsed::Skip => {}
                Parsed::Record(spans, rank, identity) => {
                    let scanned = Scanned {
                        line,
                        spans,
                        fields: spans.fields(&self.fields),
                        all_fields: &self.fields,
                        identity: *identity,
                    };
                    f(Item::Scanned(scanned), *rank, ahead)?;
                }
                Parsed::Again => {
                    if let Some((rec, rank)) =
                        parse_filtered(line, file_rank, filter, scratch, damage)
                    {
                        f(Item::Parsed(&rec, line), rank, ahead)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Empties the batch, keeping its buffers.
    pub(crate) fn clear(&mut self) {
        self.bytes.clear();
        self.lines.clear();
        self.parsed.clear();
        self.fields.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_split_in_two_and_parsed_gives_every_record_in_order() {
        let lines: Vec<String> = (0..7)
            .map(|i| {
                format!(
                    r#"{{"ts":"2026-11-21T04:24:06.00000{i}Z","level":"info","msg":"m{i}","n":{i}}}"#
                )
            })
            .chain(["not json".to_owned()])
            .collect();
        let (filter, mut scratch) = (Filter::default(), String::new());
        let mut seen = Vec::new();
        let mut damage = Warnings::default();
        let mut first = ParsedBatch::default();
        for line in &lines {
            first.push(line.as_bytes(), Some(3));
        }
        let mut second = ParsedBatch::default();
        first.split_into(&mut second, 2);
        assert_eq!((first.len(), second.len()), (4, 4));
        for batch in [&mut first, &mut second] {
            batch.parse(&filter);
            batch
                .for_each_item(&filter, &mut scratch, &mut damage, |item, rank, _| {
                    let again = item.to_owned_record();
                    let Item::Scanned(scanned) = item else {
                        panic!("a line in the writer's style is scanned");
                    };
                    assert_eq!(Record::parse(scanned.line).ok(), again);
                    seen.push((scanned.msg().to_string(), rank));
                    Ok::<(), ()>(())
                })
                .unwrap();
        }
        let expected: Vec<_> = (0..7).map(|i| (format!("m{i}"), Some(3))).collect();
        assert_eq!(seen, expected);
        assert_eq!(damage.bad_lines, 1);
    }
}
