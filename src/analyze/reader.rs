//! [`Stream`]: one rank's segments read line by line, in order, skipping and counting
//! damaged lines.

use std::fs::File;
use std::path::PathBuf;

use super::inputs::{self, Segment, Source};
use super::prefetch::prefetch_bytes;
use super::read_ahead::{Chunk, Framer, Head, Line, ReadAhead};
use super::record::Record;
use super::{AnalyzeError, Warnings};

/// Where an open segment's chunks of lines come from.
enum Chunks {
    /// A thread of its own, a chunk ahead.
    Ahead(ReadAhead),
    /// This thread, when asked.
    Here(Framer),
}

struct Open {
    path: PathBuf,
    chunks: Chunks,
}

/// One rank's segments, oldest first, as one sequence of record lines. Memory: one chunk
/// of lines (256 KiB; three with read-ahead).
pub(crate) struct Stream {
    /// The rank from the file name.
    pub(crate) rank: Option<u32>,
    segments: std::vec::IntoIter<Segment>,
    open: Option<Open>,
    /// The open segment's current chunk, and its next line.
    chunk: Chunk,
    next: usize,
    /// The current record's line in `chunk` (`start..end`), or in `repaired`.
    line: std::ops::Range<usize>,
    /// A copy of the current line with U+FFFD in place of invalid UTF-8, when it needed
    /// one to parse.
    repaired: Option<Vec<u8>>,
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
            chunk: Chunk::default(),
            next: 0,
            line: 0..0,
            repaired: None,
            bytes_read: 0,
            read_ahead,
        }
    }

    /// The current record's line (the one [`advance`](Self::advance) last read), without
    /// its `\n`; empty before the first and after the last.
    pub(crate) fn line(&self) -> &[u8] {
        match &self.repaired {
            Some(repaired) => repaired,
            None => &self.chunk.bytes()[self.line.clone()],
        }
    }

    /// Bytes read so far, `\n`s and skipped lines included.
    pub(crate) fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// Reads the next record (its line is then [`line`](Self::line)) and returns its time;
    /// `None` at the end of the last segment. Lines that are not records are skipped and
    /// counted in `warnings`. A line the writer framed (`{"v":..,"ts":"..",...}` ending in
    /// `\n`) is taken on its framing and time alone; any other line is parsed whole.
    ///
    /// # Errors
    ///
    /// [`AnalyzeError::Read`] when a segment cannot be opened or read.
    pub(crate) fn advance(&mut self, warnings: &mut Warnings) -> Result<Option<i64>, AnalyzeError> {
        self.repaired = None;
        while let Some(line) = self.next_line(warnings)? {
            self.line = line.range();
            let terminated = match line.head {
                Head::Framed { v, ts_us } => {
                    warnings.schema(v);
                    return Ok(Some(ts_us));
                }
                Head::Other { terminated } => terminated,
            };
            let text = self.chunk.text(&line);
            let mut parsed = Record::parse(text).map(|r| (r.v, r.ts_us));
            if parsed.is_err() && std::str::from_utf8(text).is_err() {
                let repaired = String::from_utf8_lossy(text).into_owned().into_bytes();
                warnings.invalid_utf8 += 1;
                parsed = Record::parse(&repaired).map(|r| (r.v, r.ts_us));
                self.repaired = Some(repaired);
            }
            match parsed {
                Ok((v, ts)) => {
                    warnings.schema(v.unwrap_or(0));
                    return Ok(Some(ts));
                }
                Err(_) => {
                    self.repaired = None;
                    let path = self.open.as_ref().map(|o| o.path.clone());
                    let path = path.unwrap_or_default();
                    if terminated {
                        warnings.bad_line(&path, line.number);
                    } else {
                        warnings.truncated.push(path);
                    }
                }
            }
        }
        Ok(None)
    }

    /// The next non-blank line of the current chunk, opening segments and reading chunks
    /// as needed; `None` after the last segment.
    fn next_line(&mut self, warnings: &mut Warnings) -> Result<Option<Line>, AnalyzeError> {
        loop {
            if let Some(&line) = self.chunk.lines().get(self.next) {
                self.next += 1;
                // This stream's next line is used after one line of every other stream:
                // its bytes, framed on another core, are asked for now.
                if let Some(after) = self.chunk.lines().get(self.next) {
                    prefetch_bytes(self.chunk.text(after), 1024);
                }
                return Ok(Some(line));
            }
            let Some(open) = self.open.as_mut() else {
                let Some(segment) = self.segments.next() else {
                    return Ok(None);
                };
                match File::open(&segment.path) {
                    Ok(file) => {
                        let ahead = self.read_ahead.then(|| file.try_clone());
                        let ahead = ahead.and_then(|f| f.and_then(ReadAhead::new).ok());
                        let chunks = match ahead {
                            Some(ahead) => Chunks::Ahead(ahead),
                            None => Chunks::Here(Framer::new(file)),
                        };
                        self.open = Some(Open {
                            path: segment.path,
                            chunks,
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
            let read = match &mut open.chunks {
                Chunks::Ahead(ahead) => ahead.next(&mut self.chunk),
                Chunks::Here(framer) => framer.next(&mut self.chunk),
            };
            read.map_err(|source| AnalyzeError::Read {
                path: open.path.clone(),
                source,
            })?;
            // The current line was in the chunk just replaced.
            self.next = 0;
            self.line = 0..0;
            self.bytes_read += self.chunk.file_bytes;
            if self.chunk.is_end() {
                self.open = None;
            }
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
            let (rec, repaired) = parse_lossy(stream.line(), &mut scratch);
            warnings.invalid_utf8 += u64::from(repaired);
            match rec {
                Some(rec) => f(stream.rank, &rec),
                None => warnings.bad_lines += 1,
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_streams_line_is_its_record_then_empty_after_the_last_in_either_mode() {
        let dir = std::env::temp_dir().join(format!("ranklog-stream-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let record = r#"{"v":1,"ts":"2026-11-21T04:24:06.000001Z","level":"info","msg":"m"}"#;
        for (name, text, records) in [
            ("records", format!("{record}\n{record}\n"), 2),
            ("none", "not json\n".to_owned(), 0),
        ] {
            let path = dir.join(name);
            std::fs::write(&path, &text).unwrap();
            for read_ahead in [false, true] {
                let source = Source {
                    rank: None,
                    segments: vec![Segment {
                        path: path.clone(),
                        bytes: text.len() as u64,
                    }],
                };
                let (mut stream, mut warnings) =
                    (Stream::new(source, read_ahead), Warnings::default());
                assert!(stream.line().is_empty(), "{name}: before the first");
                for _ in 0..records {
                    assert!(stream.advance(&mut warnings).unwrap().is_some());
                    assert_eq!(stream.line(), record.as_bytes(), "{name}");
                }
                assert_eq!(stream.advance(&mut warnings).unwrap(), None, "{name}");
                assert!(stream.line().is_empty(), "{name}: after the last");
                assert_eq!(stream.bytes_read(), text.len() as u64, "{name}");
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
