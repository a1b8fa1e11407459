//! [`Stream`]: one rank's segments read line by line, in order, skipping and counting
//! damaged lines.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;

use super::inputs::{self, Segment, Source};
use super::read_ahead::ReadAhead;
use super::record::{quick_head, Record};
use super::{AnalyzeError, Warnings};

/// Read buffer per open file, bytes.
const READ_BUFFER: usize = 256 * 1024;
/// A line buffer grown past this (a huge record) is given back after use, bytes.
const LINE_KEEP: usize = 1 << 20;

struct Open {
    path: PathBuf,
    reader: Box<dyn BufRead>,
    line_no: u64,
}

/// One rank's segments, oldest first, as one sequence of record lines. Memory: one read
/// buffer (three with read-ahead) and the current line.
pub(crate) struct Stream {
    /// The rank from the file name.
    pub(crate) rank: Option<u32>,
    segments: std::vec::IntoIter<Segment>,
    open: Option<Open>,
    /// The current record's line, without its `\n`.
    pub(crate) line: Vec<u8>,
    bytes_read: u64,
    /// Whether files are read on a thread of their own ([`ReadAhead`]).
    read_ahead: bool,
}

impl Stream {
    /// The stream of `source`'s segments; with `read_ahead`, each is read on a thread of
    /// its own a chunk ahead ([`ReadAhead`]; if the thread cannot start, here).
    pub(crate) fn new(source: Source, read_ahead: bool) -> Stream {
        Stream {
            rank: source.rank,
            segments: source.segments.into_iter(),
            open: None,
            line: Vec::new(),
            bytes_read: 0,
            read_ahead,
        }
    }

    /// Bytes read so far, `\n`s and skipped lines included.
    pub(crate) fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// Reads the next record into [`line`](Self::line) and returns its time; `None` at
    /// the end of the last segment. Lines that are not records are skipped and counted in
    /// `warnings`. A line the writer framed (`{"v":..,"ts":"..",...}` ending in `\n`) is
    /// taken on its framing and time alone; any other line is parsed whole.
    ///
    /// # Errors
    ///
    /// [`AnalyzeError::Read`] when a segment cannot be opened or read.
    pub(crate) fn advance(&mut self, warnings: &mut Warnings) -> Result<Option<i64>, AnalyzeError> {
        while let Some(terminated) = self.read_line(warnings)? {
            if terminated && self.line.last() == Some(&b'}') {
                if let Some((v, ts)) = quick_head(&self.line) {
                    warnings.schema(v);
                    return Ok(Some(ts));
                }
            }
            let mut parsed = Record::parse(&self.line).map(|r| (r.v, r.ts_us));
            if parsed.is_err() && std::str::from_utf8(&self.line).is_err() {
                self.line = String::from_utf8_lossy(&self.line)
                    .into_owned()
                    .into_bytes();
                warnings.invalid_utf8 += 1;
                parsed = Record::parse(&self.line).map(|r| (r.v, r.ts_us));
            }
            match parsed {
                Ok((v, ts)) => {
                    warnings.schema(v.unwrap_or(0));
                    return Ok(Some(ts));
                }
                Err(_) => {
                    let (path, line_no) = self
                        .open
                        .as_ref()
                        .map(|o| (o.path.clone(), o.line_no))
                        .unwrap_or_default();
                    if terminated {
                        warnings.bad_line(&path, line_no);
                    } else {
                        warnings.truncated.push(path);
                    }
                }
            }
        }
        Ok(None)
    }

    /// Reads the next non-blank line; `Some(true)` when it ended with `\n`.
    fn read_line(&mut self, warnings: &mut Warnings) -> Result<Option<bool>, AnalyzeError> {
        loop {
            let Some(open) = self.open.as_mut() else {
                let Some(segment) = self.segments.next() else {
                    return Ok(None);
                };
                match File::open(&segment.path) {
                    Ok(file) => {
                        let ahead = self.read_ahead.then(|| file.try_clone());
                        let ahead = ahead.and_then(|f| f.and_then(ReadAhead::new).ok());
                        let reader: Box<dyn BufRead> = match ahead {
                            Some(ahead) => Box::new(ahead),
                            None => Box::new(BufReader::with_capacity(READ_BUFFER, file)),
                        };
                        self.open = Some(Open {
                            path: segment.path,
                            reader,
                            line_no: 0,
                        });
                    }
                    Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                        warnings.vanished.push(segment.path);
                    }
                    Err(source) => {
                        return Err(AnalyzeError::Read {
                            path: segment.path,
                            source,
                        })
                    }
                }
                continue;
            };
            self.line.clear();
            if self.line.capacity() > LINE_KEEP {
                self.line.shrink_to(READ_BUFFER);
            }
            let n = read_line_into(&mut open.reader, &mut self.line).map_err(|source| {
                AnalyzeError::Read {
                    path: open.path.clone(),
                    source,
                }
            })?;
            if n == 0 {
                self.open = None;
                continue;
            }
            self.bytes_read += n as u64;
            open.line_no += 1;
            let terminated = self.line.last() == Some(&b'\n');
            if terminated {
                self.line.pop();
                if self.line.last() == Some(&b'\r') {
                    self.line.pop();
                }
            }
            if !self.line.iter().all(u8::is_ascii_whitespace) {
                return Ok(Some(terminated));
            }
        }
    }
}

/// Appends the next line of `reader`, with its `\n` when it has one, to `line`; the bytes
/// read (0 at the end). [`BufRead::read_until`] with memchr's vectorized search for the
/// `\n` (lines are long: a few hundred bytes).
///
/// # Errors
///
/// The reader's, but for interruptions, which are retried.
fn read_line_into(reader: &mut impl BufRead, line: &mut Vec<u8>) -> std::io::Result<usize> {
    let mut read = 0;
    loop {
        let buf = match reader.fill_buf() {
            Ok(buf) => buf,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        let (end, used) = match memchr::memchr(b'\n', buf) {
            Some(i) => (true, i + 1),
            None => (buf.is_empty(), buf.len()),
        };
        line.extend_from_slice(&buf[..used]);
        reader.consume(used);
        read += used;
        if end {
            return Ok(read);
        }
    }
}

/// Parses `line`; when it does not parse because of invalid UTF-8, parses a copy in
/// `scratch` with U+FFFD in place of the bad bytes. The flag says whether it had to.
pub(crate) fn parse_lossy<'a>(
    line: &'a [u8],
    scratch: &'a mut String,
) -> (Option<Record<'a>>, bool) {
    if let Ok(rec) = Record::parse(line) {
        return (Some(rec), false);
    }
    if std::str::from_utf8(line).is_ok() {
        return (None, false);
    }
    *scratch = String::from_utf8_lossy(line).into_owned();
    (Record::parse(scratch.as_bytes()).ok(), true)
}

/// Reads every record of `inputs`, rank by rank (not in time order), handing each to `f`
/// with the rank of its file.
///
/// # Errors
///
/// Those of [`Merge::open`](super::Merge::open) and [`AnalyzeError::Read`].
pub(crate) fn for_each_record(
    inputs: &[PathBuf],
    warnings: &mut Warnings,
    f: &mut dyn FnMut(Option<u32>, &Record<'_>),
) -> Result<(), AnalyzeError> {
    for source in inputs::discover(inputs, &|_| true, warnings)? {
        let mut stream = Stream::new(source, true);
        let mut scratch = String::new();
        while stream.advance(warnings)?.is_some() {
            let (rec, repaired) = parse_lossy(&stream.line, &mut scratch);
            warnings.invalid_utf8 += u64::from(repaired);
            match rec {
                Some(rec) => f(stream.rank, &rec),
                None => warnings.bad_lines += 1,
            }
        }
    }
    Ok(())
}
