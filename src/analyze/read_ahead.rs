//! [`ReadAhead`]: a file read on a thread of its own, a chunk ahead of the thread that
//! uses it, so that the kernel's copying of the file (`read(2)`) is not on the merging
//! thread, which is what limits `ranklog merge --collapse`.

use std::fs::File;
use std::io::{self, BufRead, Read};
use std::sync::mpsc::{self, Receiver, SyncSender};

/// Bytes read at a time.
const CHUNK: usize = 256 * 1024;

/// A file's bytes, read by a thread of its own: it reads the next chunk while this one is
/// used (at most one chunk waits), and stops at the file's end (as a reader of a file
/// that grows would: what is appended later is not read), at an error (handed on), or
/// when this is dropped. Memory: about three chunks (768 KiB).
pub(crate) struct ReadAhead {
    chunks: Receiver<io::Result<Vec<u8>>>,
    spare: SyncSender<Vec<u8>>,
    chunk: Vec<u8>,
    at: usize,
    /// The file's end (an empty chunk) or an error was handed out.
    ended: bool,
}

impl ReadAhead {
    /// Starts reading `file` on a new thread.
    ///
    /// # Errors
    ///
    /// The thread could not be started (the caller then reads the file itself).
    pub(crate) fn new(mut file: File) -> io::Result<ReadAhead> {
        let (send, chunks) = mpsc::sync_channel::<io::Result<Vec<u8>>>(1);
        let (spare, spares) = mpsc::sync_channel::<Vec<u8>>(2);
        std::thread::Builder::new()
            .name("ranklog-read".into())
            .spawn(move || loop {
                let mut buf = spares.try_recv().unwrap_or_default();
                buf.clear();
                // `read_to_end` fills the spare capacity without zeroing it, and retries
                // an interrupted read.
                let read = file.by_ref().take(CHUNK as u64).read_to_end(&mut buf);
                let last = !matches!(read, Ok(n) if n > 0);
                if send.send(read.map(|_| buf)).is_err() || last {
                    return;
                }
            })?;
        Ok(ReadAhead {
            chunks,
            spare,
            chunk: Vec::new(),
            at: 0,
            ended: false,
        })
    }
}

impl BufRead for ReadAhead {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.at == self.chunk.len() && !self.ended {
            match self.chunks.recv() {
                Ok(Ok(next)) => {
                    let used = std::mem::replace(&mut self.chunk, next);
                    // The reading thread makes a new buffer when no spare is there.
                    let _ = self.spare.try_send(used);
                    self.at = 0;
                    self.ended = self.chunk.is_empty();
                }
                Ok(Err(err)) => {
                    self.ended = true;
                    return Err(err);
                }
                // The thread ended without a last chunk: it cannot have (it sends one
                // before it returns), but the file's end is the safe reading of it.
                Err(mpsc::RecvError) => self.ended = true,
            }
        }
        Ok(&self.chunk[self.at..])
    }

    fn consume(&mut self, amount: usize) {
        self.at = (self.at + amount).min(self.chunk.len());
    }
}

impl Read for ReadAhead {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_file_read_ahead_reads_as_the_file_itself_then_ends() {
        let dir = std::env::temp_dir().join(format!("ranklog-read-ahead-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for size in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 17] {
            let path = dir.join(format!("f{size}"));
            let bytes: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
            File::create(&path).unwrap().write_all(&bytes).unwrap();
            let mut ahead = ReadAhead::new(File::open(&path).unwrap()).unwrap();
            let mut back = Vec::new();
            ahead.read_to_end(&mut back).unwrap();
            assert_eq!(back, bytes, "size {size}");
            assert!(ahead.fill_buf().unwrap().is_empty(), "size {size}: ended");
            // Lines split across chunks come back whole through `BufRead`.
            let mut ahead = ReadAhead::new(File::open(&path).unwrap()).unwrap();
            let mut lines = Vec::new();
            let mut line = Vec::new();
            while ahead.read_until(7, &mut line).unwrap() > 0 {
                lines.extend_from_slice(&line);
                line.clear();
            }
            assert_eq!(lines, bytes, "size {size}: by lines");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
