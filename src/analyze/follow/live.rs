//! [`LiveCollapser`]: `--collapse` for records that are still arriving. A group is shown
//! when every rank of the job has joined it or when the window has passed since its first
//! record arrived, whichever comes first; ranks that join after it was shown get a
//! follow-up of their own.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::analyze::collapse::{Group, KeyMap};
use crate::analyze::identity::set_key_of;
use crate::analyze::open_groups::OpenGroups;
use crate::analyze::parsed::Item;
use crate::analyze::record::Record;

/// Most groups waiting at once; past this the oldest is shown before its window ends.
const MAX_PENDING: usize = 50_000;
/// Shown groups that still wait for late ranks, per identity and in all; past these the
/// oldest stops waiting (its late ranks then start groups of their own).
const MAX_LATE_PER_KEY: usize = 64;
const MAX_LATE: usize = 10_000;

/// What the live view prints, in order.
pub(crate) enum Shown {
    /// A group of records with the same identity (possibly one record).
    Group(Group),
    /// A rank's record that joins a group shown without it, `late_us` after the group's
    /// first record (record times).
    Late {
        /// The late record.
        rec: Record<'static>,
        /// Its rank.
        rank: u32,
        /// Its time minus the group's first record's time, microseconds.
        late_us: i64,
    },
}

struct Waiting {
    group: Group,
    /// When it is shown at the latest.
    due: Instant,
    /// The ranks that make it whole (`None`: the job's world size).
    expected: Option<u64>,
}

/// A shown group that named missing ranks: their records, when they come, are late.
struct Missing {
    first_ts_us: i64,
    /// The ranks still missing, sorted.
    ranks: Vec<u32>,
}

/// Groups records as they arrive, by the identity `merge --collapse` uses
/// ([`set_key_of`]): a rank's n-th record of an identity goes with the other ranks' n-th.
pub(crate) struct LiveCollapser {
    window: Duration,
    waiting: VecDeque<Waiting>,
    /// Id of `waiting[0]`; ids count up in creation order.
    front_id: u64,
    /// Identity to the ids of its waiting groups, oldest first.
    open: OpenGroups,
    /// Identity to its shown groups with missing ranks, oldest first.
    missing: KeyMap<VecDeque<Missing>>,
    missing_total: usize,
    key: String,
}

impl LiveCollapser {
    /// Groups are shown at most `window` after their first record arrived.
    pub(crate) fn new(window: Duration) -> LiveCollapser {
        LiveCollapser {
            window,
            waiting: VecDeque::new(),
            front_id: 0,
            open: OpenGroups::default(),
            missing: KeyMap::default(),
            missing_total: 0,
            key: String::new(),
        }
    }

    /// Adds `rank`'s record, arrived at `now`; a late record is handed to `show` at once.
    /// `expected`: how many ranks' copies make its group whole (`None`: every rank of the
    /// job; `Some(1)` for a `global` record, which only rank 0's console prints).
    pub(crate) fn push(
        &mut self,
        rec: &Item<'_>,
        rank: Option<u32>,
        expected: Option<u64>,
        now: Instant,
        show: &mut dyn FnMut(Shown),
    ) {
        let key = rec.identity();
        if let Some(rank) = rank {
            if self.join_shown(rec, rank, show) || self.join_waiting(key, rec, rank, now) {
                return;
            }
        }
        if self.waiting.len() >= MAX_PENDING {
            self.pop(show);
        }
        let id = self.front_id + self.waiting.len() as u64;
        let group = match rec {
            Item::Scanned(s) => Group::scanned(s, rank),
            Item::Parsed(rec, _) => Group::new(rec, Vec::new(), rank),
        };
        let due = if is_complete(&group, expected) {
            now
        } else {
            now + self.window
        };
        self.waiting.push_back(Waiting {
            group,
            due,
            expected,
        });
        if rank.is_some() {
            self.open.add(key, id);
        }
    }

    /// Whether the record is a late rank's, of a group shown without it.
    fn join_shown(&mut self, rec: &Item<'_>, rank: u32, show: &mut dyn FnMut(Shown)) -> bool {
        // The identity's text is made only while some shown group waits for late ranks.
        if self.missing.is_empty() {
            return false;
        }
        set_key_of(&mut self.key, rec.level(), rec.msg());
        let Some(shown) = self.missing.get_mut(self.key.as_str()) else {
            return false;
        };
        let Some(at) = shown
            .iter()
            .position(|m| m.ranks.binary_search(&rank).is_ok())
        else {
            return false;
        };
        // A scanned record's values were checked by the scan: they convert.
        let Some(owned) = rec.to_owned_record() else {
            return false;
        };
        let group = &mut shown[at];
        if let Ok(i) = group.ranks.binary_search(&rank) {
            group.ranks.remove(i);
        }
        let late_us = rec.ts_us() - group.first_ts_us;
        if group.ranks.is_empty() {
            shown.remove(at);
            self.missing_total -= 1;
            if shown.is_empty() {
                self.missing.remove(self.key.as_str());
            }
        }
        show(Shown::Late {
            rec: owned,
            rank,
            late_us,
        });
        true
    }

    /// Whether the record (its identity hashing to `key`) joined a group still waiting.
    fn join_waiting(&mut self, key: u64, rec: &Item<'_>, rank: u32, now: Instant) -> bool {
        let (waiting, front) = (&self.waiting, self.front_id);
        let (level, msg) = (rec.level(), rec.msg());
        let found = self.open.to_join(key, |id| {
            waiting[(id - front) as usize].group.joins(level, msg, rank)
        });
        let Some(id) = found else {
            return false;
        };
        let waiting = &mut self.waiting[(id - front) as usize];
        waiting.group.join_item(rec, rank);
        if is_complete(&waiting.group, waiting.expected) {
            waiting.due = now;
        }
        true
    }

    /// Shows, in order of their first records' arrival, the groups due by `now`: complete,
    /// or their window passed. A group waits behind an older one at most until its own
    /// window ends, since the older one's ends first.
    pub(crate) fn show_due(&mut self, now: Instant, show: &mut dyn FnMut(Shown)) {
        while self.waiting.front().is_some_and(|w| w.due <= now) {
            self.pop(show);
        }
    }

    /// Shows every group still waiting.
    pub(crate) fn finish(&mut self, show: &mut dyn FnMut(Shown)) {
        while !self.waiting.is_empty() {
            self.pop(show);
        }
    }

    fn pop(&mut self, show: &mut dyn FnMut(Shown)) {
        let Some(Waiting { group, .. }) = self.waiting.pop_front() else {
            return;
        };
        self.open.close_oldest(group.identity(), self.front_id);
        self.front_id += 1;
        if let Some(ranks) = missing_ranks(&group) {
            let mut identity = String::new();
            set_key_of(&mut identity, group.level(), group.msg());
            self.wait_for_late(identity, ranks, group.ts_us());
        }
        show(Shown::Group(group));
    }

    /// `ranks` are missing from the group of identity `identity` ([`set_key_of`]) shown
    /// with its first record at `first_ts_us`: their records, when they come, are late.
    fn wait_for_late(&mut self, identity: String, ranks: Vec<u32>, first_ts_us: i64) {
        if self.missing_total >= MAX_LATE {
            // The oldest of the identity with the most waiting groups stops waiting.
            if let Some(list) = self.missing.values_mut().max_by_key(|l| l.len()) {
                list.pop_front();
                self.missing_total -= 1;
            }
            self.missing.retain(|_, l| !l.is_empty());
        }
        let list = self.missing.entry(identity).or_default();
        if list.len() >= MAX_LATE_PER_KEY {
            list.pop_front();
            self.missing_total -= 1;
        }
        list.push_back(Missing { first_ts_us, ranks });
        self.missing_total += 1;
    }
}

/// Whether the `expected` ranks, else every rank of the job (the records' world size),
/// are in the group.
fn is_complete(group: &Group, expected: Option<u64>) -> bool {
    expected
        .or(group.size.map(u64::from))
        .is_some_and(|want| group.rank_count() as u64 >= want)
}

/// The ranks a shown group names as missing (`[ranks ... of N, missing ...]`: more than
/// half of the job said it), `None` when it names none.
fn missing_ranks(group: &Group) -> Option<Vec<u32>> {
    let size = group.size?;
    let said = group.rank_count() as u64;
    if said * 2 <= u64::from(size) || said >= u64::from(size) {
        return None;
    }
    Some((0..size).filter(|&r| !group.has_rank(r)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(rank: u32, ms: i64, msg: &str) -> Vec<u8> {
        format!(
            r#"{{"ts":"2026-11-21T04:24:{:02}.{:03}000Z","level":"info","msg":"{msg}","rank":{rank},"size":4}}"#,
            ms / 1000,
            ms % 1000
        )
        .into_bytes()
    }

    /// The record on `line`, parsed whole (leaked: a test's few lines).
    fn parsed(line: &[u8]) -> Item<'static> {
        let line: &'static [u8] = Box::leak(line.to_vec().into_boxed_slice());
        let rec = Box::leak(Box::new(Record::parse(line).unwrap()));
        Item::Parsed(rec, line)
    }

    fn tags(shown: &[Shown]) -> Vec<String> {
        shown
            .iter()
            .map(|s| match s {
                Shown::Group(g) => format!("{} {}", g.msg(), g.ranks_tag()),
                Shown::Late { rec, rank, late_us } => {
                    format!("{} late {rank} {late_us}", rec.msg)
                }
            })
            .collect()
    }

    #[test]
    fn complete_groups_show_at_once_and_incomplete_ones_after_the_window() {
        let mut c = LiveCollapser::new(Duration::from_secs(1));
        let t0 = Instant::now();
        let out = std::cell::RefCell::new(Vec::new());
        let mut show = |s: Shown| out.borrow_mut().push(s);
        for rank in 0..4 {
            c.push(
                &parsed(&line(rank, 0, "a")),
                Some(rank),
                None,
                t0,
                &mut show,
            );
        }
        for rank in [0, 1, 3] {
            c.push(
                &parsed(&line(rank, 10, "b")),
                Some(rank),
                None,
                t0,
                &mut show,
            );
        }
        c.show_due(t0, &mut show);
        assert_eq!(tags(&out.borrow()), ["a [ranks 0-3]"]);
        c.show_due(t0 + Duration::from_millis(999), &mut show);
        assert_eq!(
            out.borrow().len(),
            1,
            "b waits for rank 2 within the window"
        );
        c.show_due(t0 + Duration::from_secs(1), &mut show);
        c.push(
            &parsed(&line(2, 4010, "b")),
            Some(2),
            None,
            t0 + Duration::from_secs(4),
            &mut show,
        );
        assert_eq!(
            tags(&out.borrow()),
            [
                "a [ranks 0-3]",
                "b [ranks 0-1,3 of 4, missing 2]",
                "b late 2 4000000"
            ]
        );
        assert!(c.waiting.is_empty());
    }

    #[test]
    fn a_group_that_names_no_missing_rank_takes_no_late_ones() {
        let mut c = LiveCollapser::new(Duration::from_secs(1));
        let t0 = Instant::now();
        let out = std::cell::RefCell::new(Vec::new());
        let mut show = |s: Shown| out.borrow_mut().push(s);
        c.push(&parsed(&line(0, 0, "x")), Some(0), None, t0, &mut show);
        c.show_due(t0 + Duration::from_secs(2), &mut show);
        c.push(
            &parsed(&line(1, 3000, "x")),
            Some(1),
            None,
            t0 + Duration::from_secs(3),
            &mut show,
        );
        c.finish(&mut show);
        assert_eq!(
            tags(&out.borrow()),
            ["x [ranks 0 of 4]", "x [ranks 1 of 4]"]
        );
    }

    #[test]
    fn a_group_of_the_expected_ranks_shows_at_once() {
        let mut c = LiveCollapser::new(Duration::from_secs(1));
        let t0 = Instant::now();
        let out = std::cell::RefCell::new(Vec::new());
        let mut show = |s: Shown| out.borrow_mut().push(s);
        c.push(&parsed(&line(0, 0, "g")), Some(0), Some(1), t0, &mut show);
        c.show_due(t0, &mut show);
        assert_eq!(tags(&out.borrow()), ["g [ranks 0 of 4]"]);
    }
}
