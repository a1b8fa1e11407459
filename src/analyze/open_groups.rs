//! [`OpenGroups`]: the collapse groups still open to more ranks, found by the hash of
//! their identity ([`identity_hash`](super::identity::identity_hash)). Shared by the
//! offline collapser (`merge --collapse`) and the live view (`ranklog run`,
//! `merge --follow`).
//!
//! It is a table of its own rather than a `HashMap` so that a collapser can ask for a
//! slot's memory ahead of its use ([`OpenGroups::prefetch`]): when ranks drift apart by
//! hundreds of milliseconds, a collapse holds a hundred thousand open groups and more, and
//! each lookup in a table that large would otherwise wait for main memory (measured: the
//! map's lookups were most of the merging thread's time in `merge --collapse`).

use std::collections::VecDeque;

use super::prefetch::prefetch;

/// Open groups of one identity hash tried before a record starts a new group
/// ([`OpenGroups::to_join`]).
const MAX_SCAN: usize = 64;

/// A slot: an identity hash and what it holds; `val == FREE_VAL` for a free slot.
#[derive(Clone, Copy)]
struct Slot {
    key: u64,
    /// The id of the one open group of the hash, or [`MANY`] plus the index of the queue
    /// in [`OpenGroups::many`] that holds its ids.
    val: u64,
}

const FREE_VAL: u64 = u64::MAX;
const MANY: u64 = 1 << 63;
const FREE: Slot = Slot {
    key: 0,
    val: FREE_VAL,
};
/// Slots of a new table (a power of two).
const FIRST_SLOTS: usize = 64;

/// The ids of the open groups by identity hash, oldest first: open addressing with linear
/// probing, one 16-byte slot per hash, at most half full, entries removed by a backward
/// shift (no tombstones). A hash's one id (the common case) sits in its slot; more go to a
/// queue of their own. Two identities may share a hash: the caller checks each group's
/// identity.
pub(crate) struct OpenGroups {
    slots: Vec<Slot>,
    /// Slots in use.
    len: usize,
    /// `64 - log2(slots.len())`: a hash's home slot is its Fibonacci product's top bits.
    shift: u32,
    /// The ids of hashes with more than one open group, oldest first; queues emptied are
    /// kept for reuse, their indices in `spare`.
    many: Vec<VecDeque<u64>>,
    spare: Vec<usize>,
}

impl Default for OpenGroups {
    fn default() -> Self {
        OpenGroups {
            slots: vec![FREE; FIRST_SLOTS],
            len: 0,
            shift: 64 - FIRST_SLOTS.trailing_zeros(),
            many: Vec::new(),
            spare: Vec::new(),
        }
    }
}

impl OpenGroups {
    fn mask(&self) -> usize {
        self.slots.len() - 1
    }

    /// The first slot of `key`'s probe sequence. The identity hash is FxHash, whose low
    /// bits are weak; the multiplication spreads every bit into the top ones.
    fn home(&self, key: u64) -> usize {
        (key.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> self.shift) as usize
    }

    /// Where `key`'s slot is: `Ok` with its place, or `Err` with the free slot where it
    /// would go.
    #[inline]
    fn find(&self, key: u64) -> Result<usize, usize> {
        let (mask, mut at) = (self.mask(), self.home(key));
        loop {
            let slot = self.slots[at];
            if slot.val == FREE_VAL {
                return Err(at);
            }
            if slot.key == key {
                return Ok(at);
            }
            at = (at + 1) & mask;
        }
    }

    /// What `key`'s slot holds: its one id, or its queue of ids; `None` for a hash
    /// without open groups.
    #[inline]
    fn held(&self, key: u64) -> Option<Result<u64, &VecDeque<u64>>> {
        let val = self.slots[self.find(key).ok()?].val;
        Some(if val & MANY == 0 {
            Ok(val)
        } else {
            Err(&self.many[(val & !MANY) as usize])
        })
    }

    /// The group a record whose identity hashes to `key` joins: the oldest open group of
    /// the hash that `joins` accepts (the caller's test: the same identity, and a rank that
    /// has not joined it yet), among the first [`MAX_SCAN`], so that the n-th repeat of a
    /// message on each rank goes with the others' n-th.
    #[inline]
    pub(crate) fn to_join(&self, key: u64, joins: impl Fn(u64) -> bool) -> Option<u64> {
        match self.held(key)? {
            Ok(id) => Some(id).filter(|&id| joins(id)),
            Err(ids) => ids.iter().take(MAX_SCAN).copied().find(|&id| joins(id)),
        }
    }

    /// The oldest open group whose identity hashes to `key`, if any: the one a record of
    /// that identity most likely joins (for prefetching it).
    #[inline]
    pub(crate) fn oldest(&self, key: u64) -> Option<u64> {
        match self.held(key)? {
            Ok(id) => Some(id),
            Err(ids) => ids.front().copied(),
        }
    }

    /// Asks for the memory of `key`'s home slot, so that a lookup of `key` soon after
    /// finds it in the cache.
    pub(crate) fn prefetch(&self, key: u64) {
        prefetch(&self.slots[self.home(key)]);
    }

    /// Group `id`, the newest, of an identity hashing to `key`, is open.
    pub(crate) fn add(&mut self, key: u64, id: u64) {
        let free = match self.find(key) {
            Ok(at) => {
                let val = self.slots[at].val;
                if val & MANY != 0 {
                    self.many[(val & !MANY) as usize].push_back(id);
                } else {
                    let queue = match self.spare.pop() {
                        Some(i) => i,
                        None => {
                            self.many.push(VecDeque::new());
                            self.many.len() - 1
                        }
                    };
                    self.many[queue].extend([val, id]);
                    self.slots[at].val = MANY | queue as u64;
                }
                return;
            }
            Err(free) => free,
        };
        self.slots[free] = Slot { key, val: id };
        self.len += 1;
        if self.len * 2 > self.slots.len() {
            self.grow();
        }
    }

    /// Twice the slots, the entries placed again.
    fn grow(&mut self) {
        let twice = vec![FREE; self.slots.len() * 2];
        let old = std::mem::replace(&mut self.slots, twice);
        self.shift -= 1;
        for slot in old.into_iter().filter(|s| s.val != FREE_VAL) {
            let Err(free) = self.find(slot.key) else {
                unreachable!("one slot per hash");
            };
            self.slots[free] = slot;
        }
    }

    /// Group `id`, the oldest open one of an identity hashing to `key`, is shown: it is
    /// open no more.
    pub(crate) fn close_oldest(&mut self, key: u64, id: u64) {
        let Ok(at) = self.find(key) else {
            return;
        };
        let val = self.slots[at].val;
        if val & MANY != 0 {
            let queue = (val & !MANY) as usize;
            let ids = &mut self.many[queue];
            if ids.front() == Some(&id) {
                ids.pop_front();
            }
            if !ids.is_empty() {
                return;
            }
            self.spare.push(queue);
        } else if val != id {
            return;
        }
        self.remove(at);
    }

    /// Frees slot `hole` by a backward shift: each later slot of its cluster that may live
    /// in the hole (the hole lies between its home and where it is) moves into it.
    fn remove(&mut self, mut hole: usize) {
        let mask = self.mask();
        let mut at = (hole + 1) & mask;
        while self.slots[at].val != FREE_VAL {
            let home = self.home(self.slots[at].key);
            if at.wrapping_sub(home) & mask >= at.wrapping_sub(hole) & mask {
                self.slots[hole] = self.slots[at];
                hole = at;
            }
            at = (at + 1) & mask;
        }
        self.slots[hole] = FREE;
        self.len -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// The table against a map of queues: ids added in order under few distinct hashes
    /// (shared homes, long clusters, wrap-around), closed oldest first in a random order
    /// of hashes, across several resizes.
    #[test]
    fn ids_come_back_oldest_first_per_hash_through_closes_and_resizes() {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        let mut table = OpenGroups::default();
        let mut model: BTreeMap<u64, VecDeque<u64>> = BTreeMap::new();
        for id in 0..40_000u64 {
            // Few hashes, many ids each: clusters, wrap-around, queues made and emptied.
            let key = (next(400) << 40) | next(2);
            table.add(key, id);
            model.entry(key).or_default().push_back(id);
            while next(3) == 0 {
                let keys: Vec<u64> = model.keys().copied().collect();
                let Some(&key) = keys.get(next(keys.len().max(1) as u64) as usize) else {
                    break;
                };
                let ids = model.get_mut(&key).unwrap();
                let oldest = ids.pop_front().unwrap();
                if ids.is_empty() {
                    model.remove(&key);
                }
                table.close_oldest(key, oldest);
            }
            if id % 997 == 0 {
                assert_eq!(table.len, model.len());
                for (key, ids) in &model {
                    let held = match table.held(*key) {
                        Some(Ok(id)) => vec![id],
                        Some(Err(queue)) => Vec::from(queue.clone()),
                        None => Vec::new(),
                    };
                    assert_eq!(held, Vec::from(ids.clone()));
                    assert_eq!(table.oldest(*key), ids.front().copied());
                }
                assert_eq!(table.oldest(u64::MAX), None);
            }
        }
        for (key, ids) in model {
            for id in ids {
                table.close_oldest(key, id);
            }
        }
        assert_eq!(table.len, 0);
        assert!(table.slots.iter().all(|s| s.val == FREE_VAL));
    }
}
