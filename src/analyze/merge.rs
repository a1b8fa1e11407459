//! [`Merge`]: the streaming k-way merge of every rank's file by time.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::path::PathBuf;

use super::inputs;
use super::reader::Stream;
use super::record::Record;
use super::{AnalyzeError, Warnings};

/// Most files of a merge read ahead on threads of their own (`reader::Stream`).
const MAX_READ_AHEAD: usize = 16;

/// A line handed out by [`Merge::next_line`].
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct MergedLine<'a> {
    /// The record's time, microseconds since the Unix epoch.
    pub ts_us: i64,
    /// The rank of the file the line came from (`None` for a file not named like a rank
    /// file); the record's own `rank` field says the same for a rank file.
    pub file_rank: Option<u32>,
    /// The line as written, without its `\n`.
    pub line: &'a [u8],
}

/// How far a merge has read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// Bytes read so far, over every file.
    pub bytes_read: u64,
    /// Bytes of every file when the merge opened them.
    pub bytes_total: u64,
}

/// Every rank's records in time order, read as they are needed.
///
/// One reader per rank (its rotated segments read one after the other, oldest first) and
/// a binary heap of each rank's next record: memory is one chunk of whole lines per rank
/// (256 KiB, or the longest line; with 16 ranks or fewer, each is read and split into
/// lines on a thread of its own, a chunk ahead: three), whatever the size of the files.
/// Records with the same time come in rank order; a rank's records keep their file
/// order.
pub struct Merge {
    streams: Vec<Stream>,
    heap: BinaryHeap<Reverse<(i64, usize)>>,
    /// The stream whose line was handed out last, still at the heap's top; it moves on at
    /// the next call.
    pending: Option<usize>,
    warnings: Warnings,
    bytes_total: u64,
}

impl Merge {
    /// Finds the rank files in `inputs` (directories or files; see
    /// [the module docs](super#input-files) for the names and the order of rotated segments),
    /// opens them, and reads the first record of each. With `keep`, ranks it rejects are
    /// never opened.
    ///
    /// # Errors
    ///
    /// - [`AnalyzeError::NotFound`]: an input does not exist.
    /// - [`AnalyzeError::NoRankFiles`]: no input holds a rank file.
    /// - [`AnalyzeError::Read`]: a directory or file cannot be listed, opened or read.
    pub fn open(inputs: &[PathBuf], keep: &dyn Fn(u32) -> bool) -> Result<Merge, AnalyzeError> {
        let mut warnings = Warnings::default();
        let sources = inputs::discover(inputs, keep, &mut warnings)?;
        let bytes_total = sources
            .iter()
            .flat_map(|s| &s.segments)
            .map(|s| s.bytes)
            .sum();
        // A thread per file reads ahead of the merge for a few files; for many, the
        // threads and their buffers would cost more than the reads they take over.
        let read_ahead = sources.len() <= MAX_READ_AHEAD;
        let mut streams: Vec<Stream> = sources
            .into_iter()
            .map(|source| Stream::new(source, read_ahead))
            .collect();
        let mut heap = BinaryHeap::with_capacity(streams.len());
        for (i, stream) in streams.iter_mut().enumerate() {
            if let Some(ts) = stream.advance(&mut warnings)? {
                heap.push(Reverse((ts, i)));
            }
        }
        Ok(Merge {
            streams,
            heap,
            pending: None,
            warnings,
            bytes_total,
        })
    }

    /// Number of streams: ranks (per directory), plus files not named like rank files.
    pub fn streams(&self) -> usize {
        self.streams.len()
    }

    /// The job's world size as the records at the head of the streams say it (their
    /// `size` field; the largest when they differ), `None` when none says it. Before the
    /// first call to [`next_line`](Self::next_line) these are each rank's first records.
    pub fn world_size(&self) -> Option<u32> {
        self.streams
            .iter()
            .filter_map(|s| Record::parse(s.line()).ok()?.size)
            .max()
    }

    /// Before the first call to [`next_line`](Self::next_line), the time of the merge's
    /// first record, microseconds since the epoch; after it, the time of the line handed
    /// out last (its file moves on only at the next call, so the next record's time is
    /// not known yet). `None` when there are no records (left).
    pub fn peek_ts_us(&self) -> Option<i64> {
        self.heap.peek().map(|Reverse((ts, _))| *ts)
    }

    /// The next record's line in time order, `None` after the last.
    ///
    /// # Errors
    ///
    /// [`AnalyzeError::Read`] when a file cannot be read.
    pub fn next_line(&mut self) -> Result<Option<MergedLine<'_>>, AnalyzeError> {
        // The stream handed out last is still at the top: its next line takes its place
        // there and sinks to where it belongs (one sift, not a pop and a push).
        if let Some(i) = self.pending.take() {
            match self.streams[i].advance(&mut self.warnings)? {
                Some(ts) => {
                    if let Some(mut top) = self.heap.peek_mut() {
                        *top = Reverse((ts, i));
                    }
                }
                None => {
                    self.heap.pop();
                }
            }
        }
        let Some(&Reverse((ts_us, i))) = self.heap.peek() else {
            return Ok(None);
        };
        self.pending = Some(i);
        let stream = &self.streams[i];
        Ok(Some(MergedLine {
            ts_us,
            file_rank: stream.rank,
            line: stream.line(),
        }))
    }

    /// What was wrong with the files so far.
    pub fn warnings(&self) -> &Warnings {
        &self.warnings
    }

    /// Adds the damage found when lines taken on their framing were parsed whole: lines
    /// that did not parse, lines with invalid UTF-8.
    pub(crate) fn note_damage(&mut self, damage: &Warnings) {
        self.warnings.bad_lines += damage.bad_lines;
        self.warnings.invalid_utf8 += damage.invalid_utf8;
    }

    /// Bytes read so far, and in all.
    pub fn progress(&self) -> Progress {
        Progress {
            bytes_read: self.streams.iter().map(Stream::bytes_read).sum(),
            bytes_total: self.bytes_total,
        }
    }
}
