//! The writer thread: takes the queue's records a batch at a time, has the sinks write
//! them, answers flush barriers, and ends once the queue is closed and empty.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::thread::JoinHandle;

use super::queue::Queue;
use super::stats::Counters;
use crate::sink::Sinks;

/// The writer thread's name; a panic there must not wait for itself.
pub(crate) const WRITER_THREAD: &str = "ranklog-writer";

/// Whether the calling thread is the writer thread.
pub(crate) fn on_writer_thread() -> bool {
    std::thread::current().name() == Some(WRITER_THREAD)
}

/// Owns the writer thread: dropping it writes out every queued record and joins it.
pub(crate) struct Worker {
    queue: Arc<Queue>,
    thread: Option<JoinHandle<()>>,
}

impl Worker {
    /// Starts the writer thread (named [`WRITER_THREAD`]) on `queue`, counting what it
    /// writes in `counters`. If the thread cannot be started, the queue is closed from the
    /// start and every record is written on its caller's thread.
    pub(crate) fn start(queue: Arc<Queue>, sinks: Arc<Sinks>, counters: Arc<Counters>) -> Worker {
        let spawned = {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(WRITER_THREAD.to_owned())
                .spawn(move || run(&queue, &sinks, &counters))
        };
        let thread = match spawned {
            Ok(handle) => Some(handle),
            Err(err) => {
                eprintln!(
                    "ranklog: cannot start the writer thread ({err}); records are written on \
                     the logging threads"
                );
                queue.close();
                None
            }
        };
        Worker { queue, thread }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.queue.close();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The writer thread's loop.
fn run(queue: &Queue, sinks: &Sinks, counters: &Counters) {
    // Its boxes go back to the queue's free list at the next take.
    let mut batch = Vec::new();
    let mut answered = 0u64;
    let mut idle = 0u32;
    loop {
        let taken = queue.take_batch(&mut batch, answered, &mut idle);
        let len = taken.len;
        if len > 0 {
            idle = 0;
            counters.batch(len);
            for c in &batch[..len] {
                counters.written(c.level);
            }
            // The sinks never run application code, but a bug there must not stop the
            // writer: the callers would wait for room forever.
            if catch_unwind(AssertUnwindSafe(|| sinks.write_batch(&mut batch[..len]))).is_err() {
                eprintln!(
                    "ranklog: the writer thread panicked writing {len} records; they are lost"
                );
                // Their room in the ring is free again, or the callers would wait forever.
                sinks.release_ring(batch[..len].iter().map(|c| c.ring_end).max());
                batch.clear();
            }
            queue.written();
        }
        if taken.barriers > answered {
            sinks.answer_barrier(taken.barriers);
            answered = taken.barriers;
        }
        if taken.closed && len == 0 {
            sinks.answer_barrier(u64::MAX);
            return;
        }
    }
}
