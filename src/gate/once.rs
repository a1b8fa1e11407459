//! Logging less: once-per-message records and rate limits (glog's `LOG_EVERY_N`,
//! `LOG_EVERY_T`, `LOG_FIRST_N`; vLLM's `info_once`).

use std::collections::{HashSet, VecDeque};
use std::fmt::{self, Write as _};
use std::hash::{DefaultHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use slog::Record;

/// The tag the `*_once!` macros put on their records; the pipeline deduplicates them.
pub const ONCE_TAG: &str = "ranklog:once";

/// How many distinct (call site, message) pairs the once-memory holds per process.
///
/// Past this, the oldest pair is forgotten first (so a very old once-message could print a
/// second time); memory stays bounded at about 16 bytes per pair.
pub const ONCE_CAPACITY: usize = 4096;

/// Feeds formatted text into a hasher without allocating.
struct HashWriter(DefaultHasher);

impl fmt::Write for HashWriter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.write(s.as_bytes());
        Ok(())
    }
}

/// The identity of a once-record: its call site and its formatted message.
pub(crate) fn once_key(record: &Record<'_>) -> u64 {
    let mut h = HashWriter(DefaultHasher::new());
    h.0.write(record.file().as_bytes());
    h.0.write_u32(record.line());
    h.0.write_u32(record.column());
    let _ = h.write_fmt(*record.msg());
    h.0.finish()
}

/// The bounded set of once-records already printed (first in, first forgotten).
#[derive(Default)]
pub(crate) struct OnceMemory {
    inner: Mutex<(HashSet<u64>, VecDeque<u64>)>,
}

impl OnceMemory {
    /// Returns true the first time `key` is seen (while it is remembered).
    pub(crate) fn first(&self, key: u64) -> bool {
        let mut guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let (set, order) = &mut *guard;
        if !set.insert(key) {
            return false;
        }
        order.push_back(key);
        if order.len() > ONCE_CAPACITY {
            if let Some(old) = order.pop_front() {
                set.remove(&old);
            }
        }
        true
    }
}

/// State of an `*_every_n!` call site: prints calls 1, n+1, 2n+1, ...
#[derive(Debug)]
pub struct EveryN {
    calls: AtomicU64,
}

impl EveryN {
    /// A call site that has not been reached yet.
    pub const fn new() -> EveryN {
        EveryN {
            calls: AtomicU64::new(0),
        }
    }

    /// Counts a call; `Some(skipped)` when this one prints, with the number of calls
    /// skipped since the last printed one. `n` of 0 counts as 1.
    pub fn tick(&self, n: u64) -> Option<u64> {
        let n = n.max(1);
        let call = self.calls.fetch_add(1, Ordering::Relaxed);
        call.is_multiple_of(n)
            .then(|| if call == 0 { 0 } else { n - 1 })
    }
}

impl Default for EveryN {
    fn default() -> Self {
        EveryN::new()
    }
}

/// State of an `*_first_n!` call site: prints its first n calls.
#[derive(Debug)]
pub struct FirstN {
    calls: AtomicU64,
}

impl FirstN {
    /// A call site that has not been reached yet.
    pub const fn new() -> FirstN {
        FirstN {
            calls: AtomicU64::new(0),
        }
    }

    /// Counts a call; `Some(0)` for the first `n`, `None` after.
    pub fn tick(&self, n: u64) -> Option<u64> {
        // Saturate instead of wrapping after 2^64 calls.
        let call = self
            .calls
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |c| {
                Some(c.saturating_add(1))
            })
            .unwrap_or(u64::MAX);
        (call < n).then_some(0)
    }
}

impl Default for FirstN {
    fn default() -> Self {
        FirstN::new()
    }
}

/// Nanoseconds since the first rate-limited call of the process (monotonic clock).
fn monotonic_nanos() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    let start = *START.get_or_init(Instant::now);
    u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// State of an `*_every!` call site: prints at most once per interval.
#[derive(Debug)]
pub struct EveryInterval {
    /// Monotonic time of the last printed call plus one, 0 before the first.
    last: AtomicU64,
    skipped: AtomicU64,
}

impl EveryInterval {
    /// A call site that has not been reached yet.
    pub const fn new() -> EveryInterval {
        EveryInterval {
            last: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
        }
    }

    /// Counts a call; `Some(skipped)` when at least `interval` has passed since the last
    /// printed call (or this is the first), with the number of calls skipped since then.
    pub fn tick(&self, interval: Duration) -> Option<u64> {
        let now = monotonic_nanos().saturating_add(1);
        let last = self.last.load(Ordering::Relaxed);
        let interval = u64::try_from(interval.as_nanos()).unwrap_or(u64::MAX);
        let due = last == 0 || now.saturating_sub(last) >= interval;
        if due
            && self
                .last
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            return Some(self.skipped.swap(0, Ordering::Relaxed));
        }
        self.skipped.fetch_add(1, Ordering::Relaxed);
        None
    }
}

impl Default for EveryInterval {
    fn default() -> Self {
        EveryInterval::new()
    }
}

/// A child of `log` that adds `"skipped" => skipped`, for the rate-limit macros.
#[doc(hidden)]
pub fn with_skipped(log: &slog::Logger, skipped: u64) -> slog::Logger {
    log.new(slog::o!("skipped" => skipped))
}
