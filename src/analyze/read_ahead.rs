//! A file's lines, framed a chunk at a time: [`Framer`] reads a chunk of a file, splits it
//! into lines and reads the time of each line in the writer's framing ([`quick_head`]);
//! [`ReadAhead`] does the same on a thread of its own, a chunk ahead of the thread that
//! uses the lines. Then neither the kernel's copying of the file (`read(2)`) nor the
//! finding of line ends and times is on the merging thread, which is what limits
//! `ranklog merge --collapse`, and a line is used where it was read, not copied out.

use std::fs::File;
use std::io::{self, Read};
use std::ops::Range;
use std::sync::mpsc::{self, Receiver, SyncSender};

use super::record::quick_head;

/// Bytes read at a time.
const CHUNK: usize = 256 * 1024;
/// A chunk's buffer grown past this (by a line longer than a chunk) is given back once
/// used, bytes.
const KEEP: usize = 4 * CHUNK;

/// What the framing says about a [`Line`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Head {
    /// A line in the writer's framing (`{"v":N,"ts":"<27 characters>"...}` ending in
    /// `\n`): its schema version and its time, microseconds since the Unix epoch.
    Framed { v: u64, ts_us: i64 },
    /// Any other line: it must be parsed whole. `terminated`: it ended with `\n` (else it
    /// is the last line of a file cut off mid-write).
    Other { terminated: bool },
}

/// A line of a [`Chunk`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Line {
    /// Its bytes in the chunk, without the `\n` (and the `\r` before it).
    start: usize,
    end: usize,
    /// Its number in the file, from 1 (blank lines are counted).
    pub(crate) number: u64,
    /// What its framing says.
    pub(crate) head: Head,
}

impl Line {
    /// Where its bytes are in its chunk's [`bytes`](Chunk::bytes).
    pub(crate) fn range(&self) -> Range<usize> {
        self.start..self.end
    }
}

/// Whole lines of a file, read at once; blank lines are left out.
#[derive(Debug, Default)]
pub(crate) struct Chunk {
    bytes: Vec<u8>,
    lines: Vec<Line>,
    /// Bytes of the file the chunk holds, blank lines and `\n`s included; 0 only for
    /// the end of the file.
    pub(crate) file_bytes: u64,
}

impl Chunk {
    /// The chunk's lines, in file order.
    pub(crate) fn lines(&self) -> &[Line] {
        &self.lines
    }

    /// The bytes of `line` (one of this chunk's), without its `\n`.
    pub(crate) fn text(&self, line: &Line) -> &[u8] {
        &self.bytes[line.range()]
    }

    /// The chunk's bytes: its lines, with their `\n`s.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Whether this is the end of the file: nothing more follows.
    pub(crate) fn is_end(&self) -> bool {
        self.file_bytes == 0
    }

    fn clear(&mut self) {
        if self.bytes.capacity() > KEEP {
            self.bytes = Vec::new();
        }
        self.bytes.clear();
        self.lines.clear();
        self.file_bytes = 0;
    }
}

/// Reads a file into [`Chunk`]s of whole lines. Stops at the file's end as a reader of a
/// file that grows would: what is appended later is not read.
pub(crate) struct Framer {
    file: File,
    /// The start of a line the last chunk cut off.
    carry: Vec<u8>,
    /// Lines framed so far.
    number: u64,
    /// The file's end was read.
    done: bool,
}

impl Framer {
    /// Frames `file` from where it is now.
    pub(crate) fn new(file: File) -> Framer {
        Framer {
            file,
            carry: Vec::new(),
            number: 0,
            done: false,
        }
    }

    /// Reads the next chunk into `chunk` (its buffers are reused): at least one whole
    /// line (a line longer than a chunk is read whole) unless the file ends; at the end,
    /// a chunk that [`is_end`](Chunk::is_end). The last line of a file that does not end
    /// with `\n` comes as [`Head::Other`], not terminated.
    ///
    /// # Errors
    ///
    /// The operating system's error reading the file (an interrupted read is retried).
    pub(crate) fn next(&mut self, chunk: &mut Chunk) -> io::Result<()> {
        chunk.clear();
        chunk.bytes.append(&mut self.carry);
        let mut searched = 0;
        let whole = loop {
            if let Some(i) = memchr::memrchr(b'\n', &chunk.bytes[searched..]) {
                break searched + i + 1;
            }
            searched = chunk.bytes.len();
            if self.done {
                break searched;
            }
            let read = (&self.file)
                .take(CHUNK as u64)
                .read_to_end(&mut chunk.bytes)?;
            self.done = read == 0;
        };
        self.carry.extend_from_slice(&chunk.bytes[whole..]);
        chunk.bytes.truncate(whole);
        chunk.file_bytes = whole as u64;
        self.frame(chunk);
        Ok(())
    }

    /// Splits `chunk`'s bytes (whole lines, but for the file's last) into lines.
    fn frame(&mut self, chunk: &mut Chunk) {
        let bytes = &chunk.bytes[..];
        let mut start = 0;
        while start < bytes.len() {
            let newline = memchr::memchr(b'\n', &bytes[start..]).map(|i| start + i);
            let (mut end, next) = newline.map_or((bytes.len(), bytes.len()), |i| (i, i + 1));
            let terminated = newline.is_some();
            if terminated && end > start && bytes[end - 1] == b'\r' {
                end -= 1;
            }
            self.number += 1;
            let text = &bytes[start..end];
            if !text.iter().all(u8::is_ascii_whitespace) {
                let framed = (terminated && text.last() == Some(&b'}'))
                    .then(|| quick_head(text))
                    .flatten();
                let head = framed.map_or(Head::Other { terminated }, |(v, ts_us)| Head::Framed {
                    v,
                    ts_us,
                });
                chunk.lines.push(Line {
                    start,
                    end,
                    number: self.number,
                    head,
                });
            }
            start = next;
        }
    }
}

/// A [`Framer`] on a thread of its own: it frames the next chunk while this one is used
/// (at most one chunk waits), and stops at the file's end, at an error (handed on), or
/// when this is dropped. Memory: about three chunks (768 KiB).
pub(crate) struct ReadAhead {
    chunks: Receiver<io::Result<Chunk>>,
    spare: SyncSender<Chunk>,
}

impl ReadAhead {
    /// Starts framing `file` on a new thread.
    ///
    /// # Errors
    ///
    /// The thread could not be started (the caller then frames the file itself).
    pub(crate) fn new(file: File) -> io::Result<ReadAhead> {
        let (send, chunks) = mpsc::sync_channel::<io::Result<Chunk>>(1);
        let (spare, spares) = mpsc::sync_channel::<Chunk>(2);
        let mut framer = Framer::new(file);
        std::thread::Builder::new()
            .name("ranklog-read".into())
            .spawn(move || loop {
                let mut chunk = spares.try_recv().unwrap_or_default();
                let read = framer.next(&mut chunk);
                let last = !matches!(read, Ok(()) if !chunk.is_end());
                if send.send(read.map(|()| chunk)).is_err() || last {
                    return;
                }
            })?;
        Ok(ReadAhead { chunks, spare })
    }

    /// Puts the next chunk in `chunk`, whose old contents go back to the thread for
    /// reuse.
    ///
    /// # Errors
    ///
    /// The thread's error reading the file.
    pub(crate) fn next(&mut self, chunk: &mut Chunk) -> io::Result<()> {
        let next = match self.chunks.recv() {
            Ok(next) => next?,
            // The thread ended without a last chunk: it cannot have (it sends one before
            // it returns), but the file's end is the safe reading of it.
            Err(mpsc::RecvError) => Chunk::default(),
        };
        let used = std::mem::replace(chunk, next);
        // The thread makes a new chunk when no spare is there.
        let _ = self.spare.try_send(used);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// Where the test's chunks come from.
    type Source = Box<dyn FnMut(&mut Chunk) -> io::Result<()>>;

    /// Every line of `path` as the framing gives it: number, text, head.
    fn framed(path: &std::path::Path, ahead: bool) -> Vec<(u64, Vec<u8>, Head)> {
        let file = File::open(path).unwrap();
        let mut source: Source = if ahead {
            let mut a = ReadAhead::new(file).unwrap();
            Box::new(move |c| a.next(c))
        } else {
            let mut f = Framer::new(file);
            Box::new(move |c| f.next(c))
        };
        let (mut out, mut chunk, mut bytes) = (Vec::new(), Chunk::default(), 0);
        loop {
            source(&mut chunk).unwrap();
            if chunk.is_end() {
                break;
            }
            bytes += chunk.file_bytes;
            for line in chunk.lines() {
                out.push((line.number, chunk.text(line).to_vec(), line.head));
            }
        }
        source(&mut chunk).unwrap();
        assert!(chunk.is_end(), "the end stays the end");
        assert_eq!(
            bytes,
            std::fs::metadata(path).unwrap().len(),
            "every byte is counted"
        );
        out
    }

    #[test]
    fn a_file_framed_here_or_ahead_gives_its_lines_numbers_and_times() {
        let dir = std::env::temp_dir().join(format!("ranklog-framer-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let record = |i: usize, pad: usize| {
            format!(
                r#"{{"v":1,"ts":"2026-11-21T04:24:06.{:06}Z","level":"info","msg":"{}"}}"#,
                i % 1_000_000,
                "x".repeat(pad)
            )
        };
        let ts = |i: usize| 1_795_235_046_000_000 + (i % 1_000_000) as i64;
        // Lines around the chunk's size, one longer than two chunks, CRLF, blank lines,
        // a line not in the writer's framing, and a last line without its `\n`.
        let mut text = String::new();
        let mut want = Vec::new();
        let mut number = 0;
        for (i, pad) in [10, CHUNK - 80, 5, 2 * CHUNK + 3, 0, CHUNK, 7]
            .iter()
            .enumerate()
        {
            let line = record(i, *pad);
            text.push_str(&line);
            text.push_str(if i == 2 { "\r\n" } else { "\n" });
            number += 1;
            want.push((
                number,
                line.into_bytes(),
                Head::Framed { v: 1, ts_us: ts(i) },
            ));
            if i == 3 {
                text.push_str("  \n\n");
                number += 2;
            }
        }
        text.push_str("not json\n");
        number += 1;
        want.push((
            number,
            b"not json".to_vec(),
            Head::Other { terminated: true },
        ));
        text.push_str(&record(99, 1));
        number += 1;
        want.push((
            number,
            record(99, 1).into_bytes(),
            Head::Other { terminated: false },
        ));
        for (name, text, want) in [
            ("mixed", text.as_str(), &want[..]),
            ("empty", "", &[][..]),
            ("blank", "\n \n", &[][..]),
        ] {
            let path = dir.join(name);
            File::create(&path)
                .unwrap()
                .write_all(text.as_bytes())
                .unwrap();
            for ahead in [false, true] {
                assert_eq!(framed(&path, ahead), want, "{name}, read ahead: {ahead}");
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
