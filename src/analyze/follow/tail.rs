//! [`Tail`]: the lines appended to one rank's live file, as they are written.

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

/// One rank's live file (`rank-R.jsonl`) read as it grows. Only whole lines are handed
/// out: a line the writer has not finished is kept until its `\n` arrives. When the file
/// at the path is replaced (rotation: the old one renamed, a new one made), the old file
/// is read to its end, then the new one from its start; a file cut short is read again
/// from its start. Memory: the bytes of one read (a turn of the follower) and the
/// unfinished line.
pub(crate) struct Tail {
    /// The rank of the file name.
    pub(crate) rank: u32,
    path: PathBuf,
    /// The open file and its inode.
    file: Option<(File, u64)>,
    /// Bytes read from the open file.
    pos: u64,
    /// Bytes read and not yet handed out (at most an unfinished line after a read).
    buf: Vec<u8>,
    /// Bytes handed out so far.
    pub(crate) bytes: u64,
}

impl Tail {
    /// Follows `path`, the file of `rank`, from its start.
    pub(crate) fn new(rank: u32, path: PathBuf) -> Tail {
        Tail {
            rank,
            path,
            file: None,
            pos: 0,
            buf: Vec::new(),
            bytes: 0,
        }
    }

    /// Hands `each` the whole lines written since the last call, without their `\n`,
    /// reading about `budget` bytes at most; `true` when there may be more to read.
    ///
    /// # Errors
    ///
    /// The operating system's error when the file cannot be read; a file that vanished
    /// is not an error (it is looked for again next time).
    pub(crate) fn read_new(
        &mut self,
        budget: usize,
        each: &mut dyn FnMut(&[u8]),
    ) -> io::Result<bool> {
        let current = match std::fs::metadata(&self.path) {
            Ok(meta) => Some((meta.ino(), meta.len())),
            Err(err) if err.kind() == io::ErrorKind::NotFound => None,
            Err(err) => return Err(err),
        };
        if let Some(ino) = self.file.as_ref().map(|(_, ino)| *ino) {
            let replaced = current.is_none_or(|(now, _)| now != ino);
            let cut = current.is_some_and(|(now, len)| now == ino && len < self.pos);
            if replaced || cut {
                if replaced && self.drain(budget, each)? {
                    return Ok(true);
                }
                self.file = None;
                self.buf.clear();
            }
        }
        if self.file.is_none() {
            let Some((ino, _)) = current else {
                return Ok(false);
            };
            match File::open(&self.path) {
                Ok(file) => {
                    self.file = Some((file, ino));
                    self.pos = 0;
                }
                Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(false),
                Err(err) => return Err(err),
            }
        }
        self.drain(budget, each)
    }

    /// Reads the open file towards its current end, handing out whole lines, until about
    /// `budget` bytes are read; `true` when it stopped for the budget (there may be more).
    fn drain(&mut self, budget: usize, each: &mut dyn FnMut(&[u8])) -> io::Result<bool> {
        let Some((file, _)) = &mut self.file else {
            return Ok(false);
        };
        let before = self.buf.len();
        // `read_to_end` fills the buffer's spare capacity without zeroing it first.
        let result = (&mut *file).take(budget as u64).read_to_end(&mut self.buf);
        let n = self.buf.len() - before;
        self.pos += n as u64;
        if let Some(last) = memchr::memrchr(b'\n', &self.buf) {
            let mut start = 0;
            for end in memchr::memchr_iter(b'\n', &self.buf[..=last]) {
                let line = &self.buf[start..end];
                start = end + 1;
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                if !line.iter().all(u8::is_ascii_whitespace) {
                    each(line);
                }
            }
            self.bytes += last as u64 + 1;
            self.buf.drain(..=last);
        }
        result?;
        Ok(n >= budget)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn lines(tail: &mut Tail) -> Vec<String> {
        let mut got = Vec::new();
        while tail
            .read_new(3, &mut |l| {
                got.push(String::from_utf8_lossy(l).into_owned())
            })
            .unwrap()
        {}
        got
    }

    #[test]
    fn whole_lines_come_out_once_and_unfinished_ones_wait_for_their_end() {
        let dir = std::env::temp_dir().join(format!("ranklog-tail-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("rank-00000.jsonl");
        let _ = std::fs::remove_file(&path);
        let mut tail = Tail::new(0, path.clone());
        assert!(lines(&mut tail).is_empty(), "no file yet");
        let mut f = File::create(&path).unwrap();
        f.write_all(b"a\nb\npart").unwrap();
        assert_eq!(lines(&mut tail), ["a", "b"]);
        f.write_all(b"ial\n\nc\n").unwrap();
        assert_eq!(lines(&mut tail), ["partial", "c"]);
        assert!(lines(&mut tail).is_empty());
        // Rotation: the old file is renamed and a new one takes its name.
        f.write_all(b"d\n").unwrap();
        std::fs::rename(&path, dir.join("rank-00000.jsonl.1")).unwrap();
        File::create(&path).unwrap().write_all(b"e\n").unwrap();
        assert_eq!(lines(&mut tail), ["d", "e"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
