//! `ranklog merge`: a [`Merge`] filtered, optionally collapsed, and written as console
//! lines or JSONL.

use std::io::Write;
use std::sync::mpsc;

use super::collapse::{Collapser, Group};
use super::console::LineFormat;
use super::merge::{Merge, Progress};
use super::parsed::{parse_filtered, ParsedBatch};
use super::time::TimeZoneChoice;
use super::{AnalyzeError, Filter, Warnings};
use crate::sink::console::Tag;

/// Output is written in pieces of about this many bytes.
const OUT_CHUNK: usize = 64 * 1024;
/// Most threads that parse and format records, by default.
const MAX_WORKERS: usize = 4;
/// Records a worker gets at a time.
const BATCH_LINES: usize = 2048;
/// Batches given out per worker and not yet written: bounds the memory in flight.
const IN_FLIGHT_PER_WORKER: usize = 2;
/// Records between two progress reports.
const PROGRESS_EVERY: u64 = 1 << 16;

/// How `ranklog merge` prints.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct MergeOptions {
    /// Which records to keep.
    pub filter: Filter,
    /// Write the original JSONL lines instead of console lines.
    pub json: bool,
    /// Collapse records with the same level and message from several ranks within this
    /// window after the first of them, microseconds (`--collapse`, `--window`).
    pub collapse_window_us: Option<i64>,
    /// The clock of console lines.
    pub time_zone: TimeZoneChoice,
    /// Colour console lines with ANSI escapes.
    pub color: bool,
    /// Threads that parse and format records beside the merging one (with collapsing:
    /// that parse them, the merging thread collapsing and formatting): 0 (the default)
    /// for one per core, at most 4; 1 to do everything on the calling thread.
    pub threads: usize,
}

/// What a merge did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MergeStats {
    /// Records read from the files.
    pub records_read: u64,
    /// Records that passed the filter.
    pub records_kept: u64,
    /// Records (or collapsed groups) written.
    pub records_written: u64,
}

/// Writes the merge's records to `out` as `options` say, calling `progress` now and then
/// (every 65,536 records).
///
/// Records that must be parsed (console lines, or `--json` with a filter on their
/// contents) are parsed and formatted in batches on other threads while this one merges
/// ([`MergeOptions::threads`]), and written in merge order. With collapsing, the other
/// threads parse and this one collapses, in merge order: the output is the same on any
/// number of threads. Memory stays bounded by the number of files (and
/// the batches in flight), except with collapsing, which holds the records of one window
/// (at most 200,000 groups).
///
/// # Errors
///
/// [`AnalyzeError::Read`] when a file cannot be read, [`AnalyzeError::Output`] when `out`
/// cannot be written (a closed pipe included).
pub fn print_merged<W: Write>(
    merge: &mut Merge,
    options: &MergeOptions,
    out: &mut W,
    progress: &mut dyn FnMut(Progress),
) -> Result<MergeStats, AnalyzeError> {
    let mut lines = Lines::new(merge, &options.filter, progress);
    let mut output = Output::new(out);
    let mut damage = Warnings::default();
    let cores = || std::thread::available_parallelism().map_or(1, |n| n.get());
    let workers = match options.threads {
        0 => cores().min(MAX_WORKERS),
        n => n,
    };
    let kept = if options.collapse_window_us.is_some() {
        // One thread: no other.
        let others = if workers > 1 { workers } else { 0 };
        collapsed(&mut lines, options, &mut output, &mut damage, others)?
    } else if options.json && !options.filter.needs_record() {
        lines.each(|line, _| output.extend(line, true))?;
        output.written
    } else {
        if workers > 1 {
            parallel(&mut lines, options, &mut output, &mut damage, workers)?
        } else {
            let mut printer = Printer::new(options);
            lines.each(|line, file_rank| {
                printer.print(line, file_rank, &mut output.buf);
                output.flush_full()
            })?;
            output.written = printer.kept;
            damage = printer.damage;
            printer.kept
        }
    };
    output.finish()?;
    let stats = MergeStats {
        records_read: lines.read,
        records_kept: kept,
        records_written: output.written,
    };
    lines.finish(&damage);
    Ok(stats)
}

/// The merge's lines within the time bounds, with progress reports.
struct Lines<'m, 'p> {
    merge: &'m mut Merge,
    progress: &'p mut dyn FnMut(Progress),
    since: i64,
    until: i64,
    read: u64,
}

impl<'m, 'p> Lines<'m, 'p> {
    fn new(merge: &'m mut Merge, filter: &Filter, progress: &'p mut dyn FnMut(Progress)) -> Self {
        let first = merge.peek_ts_us().unwrap_or(0);
        Lines {
            since: filter.since.map_or(i64::MIN, |b| b.resolve(first)),
            until: filter.until.map_or(i64::MAX, |b| b.resolve(first)),
            merge,
            progress,
            read: 0,
        }
    }

    /// Hands `f` each line in time order, with the rank of its file.
    fn each(
        &mut self,
        mut f: impl FnMut(&[u8], Option<u32>) -> Result<(), AnalyzeError>,
    ) -> Result<(), AnalyzeError> {
        loop {
            if self.read.is_multiple_of(PROGRESS_EVERY) {
                (self.progress)(self.merge.progress());
            }
            let Some(line) = self.merge.next_line()? else {
                return Ok(());
            };
            self.read += 1;
            if line.ts_us >= self.since && line.ts_us <= self.until {
                f(line.line, line.file_rank)?;
            }
        }
    }

    fn finish(self, damage: &Warnings) {
        self.merge.note_damage(damage);
        (self.progress)(self.merge.progress());
    }
}

/// The output, written in pieces of about [`OUT_CHUNK`] bytes.
struct Output<'w, W: Write> {
    out: &'w mut W,
    buf: Vec<u8>,
    written: u64,
}

impl<'w, W: Write> Output<'w, W> {
    fn new(out: &'w mut W) -> Self {
        Output {
            out,
            buf: Vec::with_capacity(OUT_CHUNK + 4096),
            written: 0,
        }
    }

    /// Appends bytes (a line with its `\n` when `line`), counting a record.
    fn extend(&mut self, bytes: &[u8], line: bool) -> Result<(), AnalyzeError> {
        self.buf.extend_from_slice(bytes);
        if line {
            self.buf.push(b'\n');
        }
        self.written += 1;
        self.flush_full()
    }

    fn flush_full(&mut self) -> Result<(), AnalyzeError> {
        if self.buf.len() >= OUT_CHUNK {
            self.out
                .write_all(&self.buf)
                .map_err(AnalyzeError::Output)?;
            self.buf.clear();
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), AnalyzeError> {
        self.out
            .write_all(&self.buf)
            .map_err(AnalyzeError::Output)?;
        self.buf.clear();
        self.out.flush().map_err(AnalyzeError::Output)
    }
}

/// Parses, filters and formats records one at a time.
struct Printer<'o> {
    options: &'o MergeOptions,
    format: LineFormat,
    scratch: String,
    damage: Warnings,
    kept: u64,
}

impl<'o> Printer<'o> {
    fn new(options: &'o MergeOptions) -> Self {
        Printer {
            options,
            format: LineFormat::new(options.time_zone, options.color),
            scratch: String::new(),
            damage: Warnings::default(),
            kept: 0,
        }
    }

    /// Appends the record's line to `buf` when the filter keeps it.
    fn print(&mut self, line: &[u8], file_rank: Option<u32>, buf: &mut Vec<u8>) {
        let filter = &self.options.filter;
        let Some((rec, _)) =
            parse_filtered(line, file_rank, filter, &mut self.scratch, &mut self.damage)
        else {
            return;
        };
        self.kept += 1;
        if self.options.json {
            buf.extend_from_slice(line);
            buf.push(b'\n');
        } else {
            self.format.record(buf, &rec);
        }
    }
}

/// Lines for one worker (their bytes one after the other, and where each ends), and the
/// worker's output for them. Batches go back and forth, so their buffers are reused.
#[derive(Default)]
struct Batch {
    bytes: Vec<u8>,
    lines: Vec<(usize, Option<u32>)>,
    out: Vec<u8>,
    kept: u64,
    damage: Warnings,
}

/// Lines gathered for another thread ([`in_batches`]).
trait LineBatch: Default + Send {
    /// Adds a line (without its `\n`) of a file of rank `file_rank`.
    fn push_line(&mut self, line: &[u8], file_rank: Option<u32>);
    /// Number of lines.
    fn lines(&self) -> usize;
    /// Empties the batch, keeping its buffers.
    fn empty(&mut self);
}

impl LineBatch for Batch {
    fn push_line(&mut self, line: &[u8], file_rank: Option<u32>) {
        self.bytes.extend_from_slice(line);
        self.lines.push((self.bytes.len(), file_rank));
    }

    fn lines(&self) -> usize {
        self.lines.len()
    }

    fn empty(&mut self) {
        self.bytes.clear();
        self.lines.clear();
        self.out.clear();
    }
}

/// Gathers the lines in batches of [`BATCH_LINES`] that go round-robin to `workers`
/// threads (each with its own state, made by `start`), which run `work` on them; the
/// batches come back in the order they were made and `done` takes each on this thread.
/// `seal` sees each batch just before it goes. At most [`IN_FLIGHT_PER_WORKER`] batches a
/// worker are out at once. With no workers, `work` runs on this thread. `what` names the
/// threads in the error when one stops.
///
/// # Errors
///
/// Those of `lines` and `done`, and [`AnalyzeError::Output`] when a thread stopped.
fn in_batches<B: LineBatch, S>(
    lines: &mut Lines<'_, '_>,
    workers: usize,
    what: &str,
    start: impl Fn() -> S + Sync,
    work: impl Fn(&mut S, &mut B) + Sync,
    mut seal: impl FnMut(&mut B),
    mut done: impl FnMut(&mut B) -> Result<(), AnalyzeError>,
) -> Result<(), AnalyzeError> {
    let mut batch = B::default();
    if workers == 0 {
        let mut state = start();
        let mut take = |batch: &mut B| {
            seal(batch);
            work(&mut state, batch);
            done(batch)?;
            batch.empty();
            Ok::<(), AnalyzeError>(())
        };
        lines.each(|line, file_rank| {
            batch.push_line(line, file_rank);
            if batch.lines() == BATCH_LINES {
                take(&mut batch)?;
            }
            Ok(())
        })?;
        return take(&mut batch);
    }
    let stopped = || AnalyzeError::Output(std::io::Error::other(format!("{what} stopped")));
    let (start, work) = (&start, &work);
    std::thread::scope(|scope| {
        let mut inputs = Vec::with_capacity(workers);
        let mut results = Vec::with_capacity(workers);
        for _ in 0..workers {
            let (batch_tx, batch_rx) = mpsc::channel::<B>();
            let (done_tx, done_rx) = mpsc::channel::<B>();
            scope.spawn(move || {
                let mut state = start();
                for mut batch in batch_rx {
                    work(&mut state, &mut batch);
                    if done_tx.send(batch).is_err() {
                        return;
                    }
                }
            });
            inputs.push(batch_tx);
            results.push(done_rx);
        }
        let (mut sent, mut taken) = (0usize, 0usize);
        let mut free: Vec<B> = Vec::new();
        let mut take_until = |sent: usize, in_flight: usize, free: &mut Vec<B>| {
            while sent - taken > in_flight {
                let mut batch = results[taken % workers].recv().map_err(|_| stopped())?;
                done(&mut batch)?;
                taken += 1;
                batch.empty();
                free.push(batch);
            }
            Ok::<(), AnalyzeError>(())
        };
        lines.each(|line, file_rank| {
            batch.push_line(line, file_rank);
            if batch.lines() == BATCH_LINES {
                let next = free.pop().unwrap_or_default();
                let mut full = std::mem::replace(&mut batch, next);
                seal(&mut full);
                inputs[sent % workers].send(full).map_err(|_| stopped())?;
                sent += 1;
                take_until(sent, IN_FLIGHT_PER_WORKER * workers, &mut free)?;
            }
            Ok(())
        })?;
        if batch.lines() > 0 {
            seal(&mut batch);
            inputs[sent % workers].send(batch).map_err(|_| stopped())?;
            sent += 1;
        }
        drop(inputs);
        take_until(sent, 0, &mut free)
    })
}

/// Batches go round-robin to `workers` threads that parse, filter and format them; their
/// outputs are written in the order the batches were made.
fn parallel<W: Write>(
    lines: &mut Lines<'_, '_>,
    options: &MergeOptions,
    output: &mut Output<'_, W>,
    damage: &mut Warnings,
    workers: usize,
) -> Result<u64, AnalyzeError> {
    let mut kept = 0;
    let format = |printer: &mut Printer<'_>, batch: &mut Batch| {
        let mut start = 0;
        for &(end, file_rank) in &batch.lines {
            printer.print(&batch.bytes[start..end], file_rank, &mut batch.out);
            start = end;
        }
        batch.kept = std::mem::take(&mut printer.kept);
        batch.damage = std::mem::take(&mut printer.damage);
    };
    let write = |batch: &mut Batch| {
        kept += batch.kept;
        damage.bad_lines += batch.damage.bad_lines;
        damage.invalid_utf8 += batch.damage.invalid_utf8;
        output.written += batch.kept;
        output
            .out
            .write_all(&batch.out)
            .map_err(AnalyzeError::Output)
    };
    let start = || Printer::new(options);
    let seal = |_: &mut Batch| {};
    in_batches(
        lines,
        workers,
        "a formatting thread",
        start,
        format,
        seal,
        write,
    )?;
    Ok(kept)
}

/// `--collapse`: records grouped by level and message, one line per group. The lines are
/// scanned in batches ([`ParsedBatch`]) on `workers` other threads (on this one with none)
/// and collapsed on this thread in merge order: the output is the same on any number of
/// threads. The groups handed out go with the next batch sent and are printed on its
/// thread, before it scans the batch; their lines are written when the batch comes back,
/// in order. Printing a group (converting its first record, formatting it) then costs
/// the collapsing thread, which limits the whole, nothing.
fn collapsed<W: Write>(
    lines: &mut Lines<'_, '_>,
    options: &MergeOptions,
    output: &mut Output<'_, W>,
    damage: &mut Warnings,
    workers: usize,
) -> Result<u64, AnalyzeError> {
    let window = options.collapse_window_us.unwrap_or(0);
    let mut collapser = Collapser::new(window, options.json);
    let mut scratch = String::new();
    let mut kept = 0;
    let filter = &options.filter;
    let json = options.json;
    // Groups handed out since the last batch was sent.
    let shown = std::cell::RefCell::new(Vec::new());
    let mut show = |group: Group| -> Result<(), AnalyzeError> {
        shown.borrow_mut().push(group);
        Ok(())
    };
    let start = || LineFormat::new(options.time_zone, options.color);
    let scan = |format: &mut LineFormat, batch: &mut CollapseBatch| {
        // The groups are dropped on the collapsing thread, which made them: glibc's
        // malloc frees another thread's memory under its arena's lock.
        for group in &batch.groups {
            write_group(&mut batch.printed, format, group, json);
        }
        batch.lines.parse(filter);
    };
    let seal = |batch: &mut CollapseBatch| {
        let groups = &mut *shown.borrow_mut();
        batch.shown = groups.len() as u64;
        std::mem::swap(&mut batch.groups, groups);
    };
    let collapse = |batch: &mut CollapseBatch| {
        output.buf.extend_from_slice(&batch.printed);
        output.written += batch.shown;
        output.flush_full()?;
        batch
            .lines
            .for_each_item(filter, &mut scratch, damage, |item, rank, ahead| {
                kept += 1;
                collapser.push_item(item, rank, ahead, &mut show)
            })
    };
    in_batches(
        lines,
        workers,
        "a parsing thread",
        start,
        scan,
        seal,
        collapse,
    )?;
    collapser.finish(&mut show)?;
    let mut format = start();
    for group in shown.into_inner() {
        write_group(&mut output.buf, &mut format, &group, json);
        output.written += 1;
        output.flush_full()?;
    }
    Ok(kept)
}

/// A batch of lines to scan for `--collapse`, with the groups handed out before it was
/// sent: its thread prints them into `printed`, written when the batch comes back.
#[derive(Default)]
struct CollapseBatch {
    lines: ParsedBatch,
    groups: Vec<Group>,
    /// Groups in `printed`.
    shown: u64,
    printed: Vec<u8>,
}

impl LineBatch for CollapseBatch {
    fn push_line(&mut self, line: &[u8], file_rank: Option<u32>) {
        self.lines.push(line, file_rank);
    }

    fn lines(&self) -> usize {
        self.lines.len()
    }

    fn empty(&mut self) {
        self.lines.clear();
        self.groups.clear();
        self.shown = 0;
        self.printed.clear();
        // A window closing on many groups at once hands a batch tens of thousands; the
        // batches go round, so what one needed once is not kept by each.
        self.groups.shrink_to(KEEP_GROUPS);
        self.printed.shrink_to(KEEP_PRINTED);
    }
}

/// Groups and bytes of printed lines a [`CollapseBatch`] keeps room for once used.
const KEEP_GROUPS: usize = 4096;
const KEEP_PRINTED: usize = 1 << 20;

/// A group as one line: its first record, with the ranks that said it.
pub(crate) fn write_group(buf: &mut Vec<u8>, format: &mut LineFormat, group: &Group, json: bool) {
    let collapsed = group.rank_count() > 1;
    if json {
        let end = group.raw.iter().rposition(|&b| b == b'}');
        match end.filter(|_| collapsed) {
            Some(end) => {
                buf.extend_from_slice(&group.raw[..end]);
                buf.extend_from_slice(b",\"collapsed\":");
                buf.extend_from_slice(collapsed_json(group).as_bytes());
                buf.extend_from_slice(&group.raw[end..]);
            }
            None => buf.extend_from_slice(&group.raw),
        }
        buf.push(b'\n');
        return;
    }
    group.with_first(|first| {
        if !collapsed {
            format.record(buf, first);
            return;
        }
        let tag = group.ranks_tag();
        format.head(buf, first, Tag::Text(&tag));
        for (i, (key, value)) in first.fields.iter().enumerate() {
            match group.spread(i).map(|s| s.range) {
                None => format.field(buf, key, value),
                Some(Some((lo, hi))) => format.field_text(buf, key, &format!("{lo}..{hi}")),
                Some(None) => format.field_text(buf, key, "(varies)"),
            }
        }
        format.tail(buf, first);
    });
}

/// `{"ranks":"0-3,5","count":5,"size":8,"missing":"4,6-7","varies":["ms"]}`.
fn collapsed_json(group: &Group) -> String {
    let said = super::RankSet::from_ranks(group.ranks());
    let missing = group.size.map(|size| said.complement(size).to_string());
    let varies: Vec<&str> = group.varying_keys().collect();
    serde_json::json!({
        "ranks": said.to_string(),
        "count": group.rank_count(),
        "size": group.size,
        "missing": missing,
        "varies": varies,
    })
    .to_string()
}
