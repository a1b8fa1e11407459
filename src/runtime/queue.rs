//! The hand-off between the callers' threads and the writer thread
//! ([`writer`](super::writer)): a bounded FIFO of collected records that the writer takes
//! a batch at a time.
//!
//! A caller moves its boxed [`Collected`] record into the queue and takes a free box back
//! (moves of two pointers: the free box keeps the buffers of a record already written, so
//! the steady state allocates nothing) under a short lock. The writer takes up to a
//! quarter of the queue at once, hands the boxes of its previous batch back to the free
//! list, formats the batch and writes each sink once per batch, so a busy rank makes one
//! `write(2)` per batch (up to 64 KiB for the file), not per record.
//!
//! Boxes in use are bounded by the queue's length plus one batch (5,120 for the default
//! 4,096): a burst that fills the queue does not also fill a second queue's worth in the
//! writer's hands.
//!
//! The writer does not need a wake-up per record: while records keep coming it naps
//! [`NAP`] at a time and takes what arrived, and a caller wakes it early only when a
//! quarter of the queue is pending, for a flush barrier, or at the end. After [`IDLE_NAPS`]
//! naps with nothing to do it sleeps until the next record, so an idle job costs nothing.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use crate::sink::record::Collected;
use crate::sink::ring::{Ring, Room};

/// How long the writer naps while records keep coming: the most a record waits in the
/// queue before it is written (unless a flush asks sooner).
pub(crate) const NAP: Duration = Duration::from_millis(10);

/// Naps with nothing to write (1 s) before the writer sleeps until the next record.
const IDLE_NAPS: u32 = 100;

/// What [`Queue::push`] did with a record.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Push {
    Queued,
    /// The queue is full and the policy is to drop.
    Full,
    /// The writer thread has stopped: the caller writes the record itself.
    Closed,
}

/// What the writer is doing, which says whether a caller should wake it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Writer {
    Busy,
    /// Waiting at most [`NAP`]: wake it only when a quarter of the queue is pending.
    Napping,
    /// Waiting for the next record.
    Sleeping,
}

#[expect(
    clippy::vec_box,
    reason = "boxes move whole between the callers and the writer: 8 bytes, not a record"
)]
struct Pending {
    /// Queued records, oldest first.
    queued: VecDeque<Box<Collected>>,
    /// Boxes of written records, kept for their buffers: a caller takes one for each record
    /// it queues.
    free: Vec<Box<Collected>>,
    /// Records queued so far (those still in `queued` included).
    queued_total: u64,
    /// Flush barriers asked for so far.
    barriers: u64,
    /// `queued_total` when the latest barrier was asked for: the writer answers it once it
    /// has taken (and so written) that many records.
    barrier_at: u64,
    closed: bool,
    writer: Writer,
    /// Callers waiting for room.
    waiting: usize,
}

/// The bounded queue of collected records.
pub(crate) struct Queue {
    pending: Mutex<Pending>,
    wake_writer: Condvar,
    room: Condvar,
    capacity: usize,
    /// Pending records at which a caller wakes a napping writer, and the most the writer
    /// takes at once.
    batch: usize,
    /// Whether a caller waits for room (`Overflow::Block`) or drops.
    block: bool,
    /// The crash-safe ring every queued record is also copied into (with a log file).
    ring: Option<Arc<Ring>>,
}

impl Queue {
    /// A queue of `capacity` records (at least 1); `block`: callers wait for room
    /// (`Overflow::Block`) rather than drop. With a `ring`, each record is also copied
    /// into it before its log call returns, and waits (or drops) for room there too.
    ///
    /// Two batches' worth of boxes start warm ([`Collected::warm`]): the one the callers
    /// fill while the writer holds the other. A log call then neither grows buffers nor
    /// takes page faults on fresh heap; boxes past them are added cold when a burst needs
    /// them (see [`push`](Self::push)).
    pub(crate) fn new(capacity: usize, block: bool, ring: Option<Arc<Ring>>) -> Queue {
        let capacity = capacity.max(1);
        let batch = (capacity / 4).max(1);
        let mut free = Vec::with_capacity(capacity + batch);
        free.extend((0..2 * batch).map(|_| Collected::warm()));
        Queue {
            pending: Mutex::new(Pending {
                queued: VecDeque::with_capacity(capacity),
                free,
                queued_total: 0,
                barriers: 0,
                barrier_at: 0,
                closed: false,
                writer: Writer::Busy,
                waiting: 0,
            }),
            wake_writer: Condvar::new(),
            room: Condvar::new(),
            capacity,
            batch,
            block,
            ring,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Pending> {
        // Nothing panics under this lock; a poisoned one is still consistent.
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn wake(&self, pending: &mut Pending) {
        pending.writer = Writer::Busy;
        self.wake_writer.notify_one();
    }

    /// Moves `record` into the queue (and its bytes into the ring); `record` gets a free
    /// box back. With the blocking policy, waits for room.
    #[inline]
    pub(crate) fn push(&self, record: &mut Box<Collected>) -> Push {
        let ring = self.ring.as_deref().zip(record.wire());
        let mut p = self.lock();
        let ring_room = loop {
            if p.closed {
                return Push::Closed;
            }
            // The writer only ever frees room in the ring, so what fits now still fits
            // below.
            let ring_room = ring.map_or(Room::Never, |(r, w)| r.room(w.len()));
            if p.queued.len() < self.capacity && ring_room != Room::Later {
                break ring_room;
            }
            if !self.block {
                return Push::Full;
            }
            if p.writer != Writer::Busy {
                self.wake(&mut p);
            }
            p.waiting += 1;
            p = self.room.wait(p).unwrap_or_else(|e| e.into_inner());
            p.waiting -= 1;
        };
        let ring_end = match ring {
            Some((r, w)) if ring_room == Room::Fits => r.append(w),
            _ => 0,
        };
        record.ring_end = ring_end;
        // More in use than the warm boxes: a new box sized by its first use (kept cold: a
        // warm one costs memory that a burst multiplies).
        let free = p.free.pop().unwrap_or_default();
        let queued = std::mem::replace(record, free);
        p.queued.push_back(queued);
        p.queued_total += 1;
        let wake = match p.writer {
            Writer::Busy => false,
            Writer::Napping => p.queued.len() >= self.batch,
            Writer::Sleeping => true,
        };
        if wake {
            self.wake(&mut p);
        }
        Push::Queued
    }

    /// The writer has written a batch (and freed its room in the ring): a caller waiting
    /// for room tries again (one at a time, see [`take_batch`](Self::take_batch)).
    pub(crate) fn written(&self) {
        let p = self.lock();
        if p.waiting > 0 {
            self.room.notify_one();
        }
    }

    /// Asks the writer to write out every record queued so far and flush the sinks;
    /// returns the ticket [`Sinks::wait_barrier`] waits for, or `None` when the writer
    /// thread has stopped.
    pub(crate) fn barrier(&self) -> Option<u64> {
        let mut p = self.lock();
        if p.closed {
            return None;
        }
        p.barriers += 1;
        p.barrier_at = p.queued_total;
        let ticket = p.barriers;
        if p.writer != Writer::Busy {
            self.wake(&mut p);
        }
        Some(ticket)
    }

    /// Lets the writer finish what is queued and stop; later records are written by
    /// their callers.
    pub(crate) fn close(&self) {
        let mut p = self.lock();
        p.closed = true;
        self.wake(&mut p);
        self.room.notify_all();
    }
}

/// What the writer took from the queue in one [`Queue::take_batch`].
pub(crate) struct Taken {
    /// Records now in the writer's batch.
    pub(crate) len: usize,
    /// Flush barriers whose records are all in this batch or written before it.
    pub(crate) barriers: u64,
    /// Whether the queue is closed (the guard is being dropped).
    pub(crate) closed: bool,
}

impl Queue {
    /// The writer's side: waits for records, a barrier beyond `answered`, or the close
    /// (napping [`NAP`] at a time, then, after [`IDLE_NAPS`] empty naps counted in `idle`,
    /// sleeping until woken), then hands `batch`'s written boxes back to the free list and
    /// moves up to a quarter of the queue, oldest first, into `batch`.
    #[expect(
        clippy::vec_box,
        reason = "boxes move whole between the callers and the writer (see `Pending`)"
    )]
    pub(crate) fn take_batch(
        &self,
        batch: &mut Vec<Box<Collected>>,
        answered: u64,
        idle: &mut u32,
    ) -> Taken {
        let mut p = self.lock();
        p.free.append(batch);
        while p.queued.is_empty() && p.barriers == answered && !p.closed {
            if *idle < IDLE_NAPS {
                p.writer = Writer::Napping;
                p = self
                    .wake_writer
                    .wait_timeout(p, NAP)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
                *idle += 1;
            } else {
                p.writer = Writer::Sleeping;
                p = self.wake_writer.wait(p).unwrap_or_else(|e| e.into_inner());
            }
        }
        p.writer = Writer::Busy;
        let len = p.queued.len().min(self.batch);
        batch.extend(p.queued.drain(..len));
        let taken_total = p.queued_total - p.queued.len() as u64;
        // One waiting caller refills the queue while this thread writes the batch; the
        // others wait for the next batch. Woken together, they would take the CPU this
        // thread needs (two producers on two cores wrote slower than one), and the records
        // would not come any sooner: the writer is what they are waiting for.
        if p.waiting > 0 {
            self.room.notify_one();
        }
        Taken {
            len,
            barriers: if taken_total >= p.barrier_at {
                p.barriers
            } else {
                answered
            },
            closed: p.closed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_drops_under_the_drop_policy_and_swaps_buffers_back() {
        let queue = Queue::new(2, false, None);
        let mut record = Box::<Collected>::default();
        record.ring_end = 7;
        assert_eq!(queue.push(&mut record), Push::Queued);
        assert_eq!(record.ring_end, 0, "the caller gets a fresh slot back");
        assert_eq!(queue.push(&mut record), Push::Queued);
        assert_eq!(queue.push(&mut record), Push::Full);
        queue.close();
        assert_eq!(queue.push(&mut record), Push::Closed);
        assert_eq!(queue.barrier(), None);
    }

    #[test]
    fn blocked_callers_woken_one_at_a_time_all_get_through() {
        let queue = Queue::new(2, true, None);
        let (producers, each) = (4, 2_000);
        let taken = std::thread::scope(|s| {
            for _ in 0..producers {
                s.spawn(|| {
                    let mut record = Box::<Collected>::default();
                    for _ in 0..each {
                        assert_eq!(queue.push(&mut record), Push::Queued);
                    }
                });
            }
            let writer = s.spawn(|| {
                let (mut batch, mut idle, mut taken) = (Vec::new(), 0, 0);
                while taken < producers * each {
                    taken += queue.take_batch(&mut batch, 0, &mut idle).len;
                    queue.written();
                }
                taken
            });
            writer.join().expect("the writer ends")
        });
        assert_eq!(taken, producers * each);
    }

    #[test]
    fn boxes_in_use_stay_within_the_queue_and_one_batch_through_a_burst() {
        let queue = Queue::new(8, true, None);
        let records = 20_000;
        std::thread::scope(|s| {
            s.spawn(|| {
                let mut record = Box::<Collected>::default();
                for _ in 0..records {
                    assert_eq!(queue.push(&mut record), Push::Queued);
                }
            });
            let (mut batch, mut idle, mut taken) = (Vec::new(), 0, 0);
            while taken < records {
                let len = queue.take_batch(&mut batch, 0, &mut idle).len;
                assert!(len <= 2, "a batch is at most a quarter of the queue");
                taken += len;
                queue.written();
            }
            queue.close();
            assert_eq!(queue.take_batch(&mut batch, 0, &mut idle).len, 0);
        });
        let p = queue.lock();
        assert_eq!(
            p.free.len() + p.queued.len(),
            10,
            "8 queued and 2 in the writer's hands"
        );
    }

    #[test]
    fn a_barrier_is_answered_once_every_record_queued_before_it_is_taken() {
        let queue = Queue::new(8, false, None);
        let mut record = Box::<Collected>::default();
        for _ in 0..5 {
            assert_eq!(queue.push(&mut record), Push::Queued);
        }
        assert_eq!(queue.barrier(), Some(1));
        for _ in 0..3 {
            assert_eq!(queue.push(&mut record), Push::Queued);
        }
        let (mut batch, mut idle) = (Vec::new(), 0);
        let answered: Vec<_> = (0..4)
            .map(|_| queue.take_batch(&mut batch, 0, &mut idle).barriers)
            .collect();
        assert_eq!(
            answered,
            [0, 0, 1, 1],
            "records 5 and 6 come in the third batch"
        );
    }
}
