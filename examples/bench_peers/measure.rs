//! Timing, allocation counting, peak memory and line counting, shared by every peer.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::fs::File;
use std::hint::black_box;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::sync::Barrier;
use std::time::{Duration, Instant};

/// Calls per timed block for the cases that do not print (1, 2, 3, 7).
pub const BLOCK_CALLS: u64 = 1000;
/// Records per burst for the per-call cases (4, 6): fewer than every peer's queue holds
/// (ranklog and slog-async 4096, tracing-appender 128 000), so the caller never waits for
/// the writer inside a burst.
pub const BURST: u64 = 1024;
/// The one word every benchmark record carries once (`"phase" => "decode"`): what the line
/// counts look for, so the loggers' own records (ranklog's `job_start`) are not counted.
pub const MARKER: &[u8] = b"decode";

thread_local! {
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

/// The system allocator, counting allocations per thread: a thread-local add, no atomics,
/// so producers do not contend on it. Only the caller's thread is read.
pub struct CountingAlloc;

// SAFETY: every call is forwarded unchanged to `System`, which upholds `GlobalAlloc`'s
// contract; the counter is a const-initialized thread-local `Cell` without a destructor,
// so touching it neither allocates nor can run after it is torn down.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.with(|n| n.set(n.get() + 1));
        // SAFETY: the caller's `layout` contract is passed on as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCS.with(|n| n.set(n.get() + 1));
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.with(|n| n.set(n.get() + 1));
        // SAFETY: `ptr` and `layout` come from this allocator, that is from `System`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// Allocations (alloc, alloc_zeroed, realloc) made so far by the calling thread.
pub fn allocs() -> u64 {
    ALLOCS.with(Cell::get)
}

/// Per-call cost of a path that writes nothing, from timed blocks of [`BLOCK_CALLS`] calls.
pub struct Blocks {
    /// Median over blocks of (block time / calls), ns.
    pub p50_ns: f64,
    /// 99th percentile over blocks, ns.
    pub p99_ns: f64,
    /// Heap allocations on the caller's thread per call.
    pub allocs_per_call: f64,
}

/// Times `calls` calls of `f` (at least one block) in blocks of [`BLOCK_CALLS`], after one
/// untimed warm-up block.
/// Case 5's producers: `threads` threads start together, each calling `produce(share)`
/// with its share of `records`; returns, once every one has returned, the instant they
/// started.
pub fn producers(records: u64, threads: u64, produce: impl Fn(u64) + Sync) -> Instant {
    let start_line = Barrier::new(threads as usize + 1);
    std::thread::scope(|s| {
        for t in 0..threads {
            let share = records / threads + u64::from(t < records % threads);
            let (produce, start_line) = (&produce, &start_line);
            s.spawn(move || {
                start_line.wait();
                produce(share);
            });
        }
        start_line.wait();
        Instant::now()
    })
}

pub fn blocks(calls: u64, mut f: impl FnMut(u64)) -> Blocks {
    for i in 0..BLOCK_CALLS {
        f(black_box(i));
    }
    let n_blocks = (calls / BLOCK_CALLS).max(1) as usize;
    let mut per_call = Vec::with_capacity(n_blocks);
    let before = allocs();
    for b in 0..n_blocks as u64 {
        let start = Instant::now();
        for i in 0..BLOCK_CALLS {
            f(black_box(b * BLOCK_CALLS + i));
        }
        per_call.push(start.elapsed().as_nanos() as f64 / BLOCK_CALLS as f64);
    }
    let counted = allocs() - before;
    per_call.sort_by(f64::total_cmp);
    Blocks {
        p50_ns: percentile(&per_call, 50.0),
        p99_ns: percentile(&per_call, 99.0),
        allocs_per_call: counted as f64 / (n_blocks as u64 * BLOCK_CALLS) as f64,
    }
}

/// Per-call cost of a path that writes, each call timed on its own.
pub struct PerCall {
    /// Median of (call time - timer overhead), ns.
    pub p50_ns: f64,
    /// 99th percentile of the same, ns.
    pub p99_ns: f64,
    /// Median cost of an empty timed section, subtracted from every sample, ns.
    pub timer_overhead_ns: f64,
    /// Heap allocations on the caller's thread per call.
    pub allocs_per_call: f64,
    /// Time from each burst's first call until the writer had written it, summed.
    pub busy: Duration,
}

/// Median cost of an empty section timed like the calls of [`per_call`], ns.
pub fn timer_overhead_ns() -> f64 {
    let mut samples: Vec<u64> = Vec::with_capacity(100_000);
    for _ in 0..100_000 {
        let start = Instant::now();
        black_box(());
        samples.push(start.elapsed().as_nanos() as u64);
    }
    samples.sort_unstable();
    samples[samples.len() / 2] as f64
}

/// Times each of `records` calls of `f`, in bursts of [`BURST`]; after each burst
/// `drained` must wait until the writer has written everything logged so far.
pub fn per_call(
    records: u64,
    mut f: impl FnMut(u64),
    mut drained: impl FnMut(u64) -> io::Result<()>,
) -> io::Result<PerCall> {
    let overhead = timer_overhead_ns();
    let mut samples: Vec<u64> = Vec::with_capacity(records as usize);
    let mut counted = 0;
    let mut busy = Duration::ZERO;
    let mut done = 0;
    while done < records {
        let burst = BURST.min(records - done);
        let burst_start = Instant::now();
        let before = allocs();
        for i in done..done + burst {
            let start = Instant::now();
            f(black_box(i));
            samples.push(start.elapsed().as_nanos() as u64);
        }
        counted += allocs() - before;
        done += burst;
        drained(done)?;
        busy += burst_start.elapsed();
    }
    let mut net: Vec<f64> = samples
        .iter()
        .map(|&s| (s as f64 - overhead).max(0.0))
        .collect();
    net.sort_by(f64::total_cmp);
    Ok(PerCall {
        p50_ns: percentile(&net, 50.0),
        p99_ns: percentile(&net, 99.0),
        timer_overhead_ns: overhead,
        allocs_per_call: counted as f64 / records.max(1) as f64,
        busy,
    })
}

/// The `p`th percentile of sorted values (nearest rank).
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Follows a file as a writer thread appends to it, counting its lines, so a caller can
/// wait until a logger without a flush call has written what it was given.
pub struct Tail {
    file: File,
    buf: Vec<u8>,
    lines: u64,
}

impl Tail {
    /// Follows `path`, which must exist.
    pub fn new(path: &Path) -> io::Result<Tail> {
        Ok(Tail {
            file: File::open(path)?,
            buf: vec![0; 1 << 16],
            lines: 0,
        })
    }

    /// Lines written so far.
    pub fn lines(&mut self) -> io::Result<u64> {
        loop {
            let n = self.file.read(&mut self.buf)?;
            if n == 0 {
                return Ok(self.lines);
            }
            self.lines += self.buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
        }
    }

    /// Waits until the file has `lines` lines, polling every 50 µs, at most `timeout`.
    pub fn wait_for(&mut self, lines: u64, timeout: Duration) -> io::Result<()> {
        let deadline = Instant::now() + timeout;
        while self.lines()? < lines {
            if Instant::now() >= deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("{} of {lines} lines written after {timeout:?}", self.lines),
                ));
            }
            std::thread::sleep(Duration::from_micros(50));
        }
        Ok(())
    }
}

/// What a finished file holds.
pub struct FileCount {
    /// Lines with [`MARKER`]: the benchmark's records.
    pub records: u64,
    /// Size, bytes.
    pub bytes: u64,
}

/// Counts the benchmark's records in `path` (lines containing [`MARKER`]) and its size.
pub fn count_records(path: &Path) -> io::Result<FileCount> {
    let mut reader = BufReader::with_capacity(1 << 20, File::open(path)?);
    let mut line = Vec::with_capacity(4096);
    let (mut records, mut bytes) = (0, 0);
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line)?;
        if n == 0 {
            return Ok(FileCount { records, bytes });
        }
        bytes += n as u64;
        if line.windows(MARKER.len()).any(|w| w == MARKER) {
            records += 1;
        }
    }
}

/// Checks that exactly `expected` benchmark records reached `path`, after the logger has
/// written everything out: for the cases that print nothing (1-3), the timed records must
/// be dropped and one control record, logged afterwards, must pass.
pub fn written_exactly(path: &Path, expected: u64) -> io::Result<()> {
    match count_records(path)?.records {
        n if n == expected => Ok(()),
        n => Err(io::Error::other(format!(
            "{} holds {n} benchmark records, expected {expected}: the filter is not doing \
             what this case measures",
            path.display()
        ))),
    }
}

/// The process's peak resident set (`VmHWM` in /proc/self/status), bytes.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_lines_with_the_marker_are_counted() {
        let dir = std::env::temp_dir().join(format!("bench-peers-count-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f");
        let mut text = String::new();
        for i in 0..300_000 {
            if i % 3 == 0 {
                text.push_str("{\"job_start\":1}\n");
            } else {
                text.push_str(&format!("{{\"msg\":\"step {i}\",\"phase\":\"decode\"}}\n"));
            }
        }
        text.push_str("no newline at the end, decode");
        std::fs::write(&path, &text).unwrap();
        let c = count_records(&path).unwrap();
        assert_eq!(c.records, 200_000 + 1);
        assert_eq!(c.bytes, text.len() as u64);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
