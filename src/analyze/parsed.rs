//! [`ParsedBatch`]: lines parsed on one thread and used as records, in their order, on
//! another (`ranklog merge --collapse` and the live view parse beside the thread that
//! collapses).

use std::borrow::Cow;
use std::ops::Range;

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

/// What a parsing thread made of one line.
enum Parsed {
    /// A record the filter rejects.
    Skip,
    /// The record as ranges of its line, with its rank.
    Record(Spans, Option<u32>),
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

    /// Moves the later half of the lines (not yet parsed) to `other`, which must be empty.
    pub(crate) fn split_into(&mut self, other: &mut ParsedBatch) {
        let keep = self.lines.len() / 2;
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
                Parsed::Record(spans, rank)
            } else {
                Parsed::Skip
            });
        }
    }

    /// Parses the lines here, handing `f` each record the filter kept, in line order,
    /// with its rank and line; the damage found goes to `damage`.
    ///
    /// # Errors
    ///
    /// The first error of `f`, which ends the walk.
    pub(crate) fn parse_each<E, F>(
        &self,
        filter: &Filter,
        scratch: &mut String,
        damage: &mut Warnings,
        mut f: F,
    ) -> Result<(), E>
    where
        F: FnMut(&Record<'_>, Option<u32>, &[u8]) -> Result<(), E>,
    {
        let mut start = 0;
        for &(end, file_rank) in &self.lines {
            let line = &self.bytes[start..end];
            start = end;
            if let Some((rec, rank)) = parse_filtered(line, file_rank, filter, scratch, damage) {
                f(&rec, rank, line)?;
            }
        }
        Ok(())
    }

    /// Hands `f` each record the filter kept, in line order, with its rank and line
    /// (after [`parse`](Self::parse); lines it left are parsed here, with `scratch`),
    /// and adds the damage found to `damage`.
    ///
    /// # Errors
    ///
    /// The first error of `f`, which ends the walk.
    pub(crate) fn for_each<E, F>(
        &self,
        filter: &Filter,
        scratch: &mut String,
        damage: &mut Warnings,
        mut f: F,
    ) -> Result<(), E>
    where
        F: FnMut(&Record<'_>, Option<u32>, &[u8]) -> Result<(), E>,
    {
        let mut start = 0;
        // One list of key-values for every record of the batch.
        let mut spare = Vec::new();
        for (&(end, file_rank), parsed) in self.lines.iter().zip(&self.parsed) {
            let line = &self.bytes[start..end];
            start = end;
            let ready = match parsed {
                Parsed::Skip => continue,
                Parsed::Record(spans, rank) => std::str::from_utf8(line)
                    .ok()
                    .and_then(|text| spans.record(text, &self.fields, std::mem::take(&mut spare)))
                    .map(|rec| (rec, *rank)),
                Parsed::Again => None,
            };
            if let Some((rec, rank)) = ready {
                f(&rec, rank, line)?;
                spare = rec.fields;
            } else if let Some((rec, rank)) =
                parse_filtered(line, file_rank, filter, scratch, damage)
            {
                f(&rec, rank, line)?;
            }
        }
        Ok(())
    }

    /// Hands `f` each record the filter kept, in line order, with its rank: scanned
    /// where [`parse`](Self::parse) scanned it, else parsed here (with `scratch`, adding
    /// the damage found to `damage`).
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
        F: FnMut(Item<'_>, Option<u32>) -> Result<(), E>,
    {
        let mut start = 0;
        for (&(end, file_rank), parsed) in self.lines.iter().zip(&self.parsed) {
            let line = &self.bytes[start..end];
            start = end;
            match parsed {
                Parsed::Skip => {}
                Parsed::Record(spans, rank) => {
                    let scanned = Scanned {
                        line,
                        spans,
                        fields: spans.fields(&self.fields),
                        all_fields: &self.fields,
                    };
                    f(Item::Scanned(scanned), *rank)?;
                }
                Parsed::Again => {
                    if let Some((rec, rank)) =
                        parse_filtered(line, file_rank, filter, scratch, damage)
                    {
                        f(Item::Parsed(&rec, line), rank)?;
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
        first.split_into(&mut second);
        assert_eq!((first.len(), second.len()), (4, 4));
        for batch in [&mut first, &mut second] {
            batch.parse(&filter);
            batch
                .for_each(&filter, &mut scratch, &mut damage, |rec, rank, line| {
                    assert_eq!(Record::parse(line).ok().as_ref(), Some(rec));
                    seen.push((rec.msg.to_string(), rank));
                    Ok::<(), ()>(())
                })
                .unwrap();
        }
        let expected: Vec<_> = (0..7).map(|i| (format!("m{i}"), Some(3))).collect();
        assert_eq!(seen, expected);
        assert_eq!(damage.bad_lines, 1);
    }
}
