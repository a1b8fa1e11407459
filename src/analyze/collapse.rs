//! `--collapse`: records with the same level and message from several ranks, close in
//! time, become one [`Group`].

use std::collections::{HashMap, VecDeque};

use std::ops::Range;

use super::filter::RankSet;
use super::identity::identity_hash;
use super::open_groups::OpenGroups;
use super::parsed::{Ahead, Item, Scanned};
use super::prefetch::{prefetch, prefetch_bytes};
use super::record::spans::{token_value, SpanFields, Spans};
use super::record::{Record, Value};

/// Most groups held at once; past this the oldest is printed before its window closes, so
/// memory stays bounded even when every record of a busy window is different.
const MAX_PENDING: usize = 200_000;

/// How a key-value of the group's first record compares across the group.
#[derive(Clone, Debug)]
pub(crate) struct Spread {
    /// Some record of the group has another value (or lacks the key).
    pub(crate) varies: bool,
    /// Smallest and largest value, when every value is a number.
    pub(crate) range: Option<(f64, f64)>,
}

impl Spread {
    /// Takes in `other`, another record's value of the key whose first value is `first`
    /// (`None`: the record lacks the key).
    fn add(&mut self, first: &Value<'_>, other: Option<&Value<'_>>) {
        if other != Some(first) {
            self.varies = true;
        }
        self.range = match (self.range, other.and_then(Value::as_f64)) {
            (Some((lo, hi)), Some(x)) => Some((lo.min(x), hi.max(x))),
            _ => None,
        };
    }
}

/// A group's first record: parsed whole and owned, or scanned (ranges of the group's
/// `raw` line, converted when it is printed).
enum First {
    Owned(Record<'static>),
    /// `tail`: where the first key-value's key starts on the line (the line's length when
    /// it has none), kept here so that a join compares lines without reading `fields`.
    Scanned {
        spans: Spans,
        fields: SpanFields,
        tail: usize,
    },
}

/// Records of one level and message from different ranks, the first at
/// [`ts_us`](Self::ts_us), the others within the window after it.
pub(crate) struct Group {
    /// The first record, printed for all.
    first: First,
    /// The hash of the group's identity ([`identity_hash`]).
    identity: u64,
    /// The first record's line: kept for `--json`, and always when the first record was
    /// scanned (the ranges of `first` are on it).
    pub(crate) raw: Vec<u8>,
    /// The ranks that said it: bit `r` for each rank `r` below 64, so that a join and the
    /// complete check of a job of up to 64 ranks read one word and allocate nothing ...
    low_ranks: u64,
    /// ... and the ranks from 64 up, sorted.
    high_ranks: Vec<u32>,
    /// The largest world size among the records.
    pub(crate) size: Option<u32>,
    /// One entry per key-value of the first record, made when a record of the group first
    /// differs from it in one: empty while none does (the common case, which then costs
    /// no allocation).
    spread: Vec<Spread>,
}

impl Group {
    /// A group of one record, `rank`'s (`raw` is its line, kept for `--json` only).
    pub(crate) fn new(rec: &Record<'_>, raw: Vec<u8>, rank: Option<u32>) -> Group {
        let identity = identity_hash(rec.level, &rec.msg);
        let first = First::Owned(rec.clone().into_owned());
        Group::of(first, identity, raw, rank, rec.size)
    }

    /// A group of one scanned record, `rank`'s: its line and ranges, nothing converted.
    pub(crate) fn scanned(rec: &Scanned<'_>, rank: Option<u32>) -> Group {
        let first = First::Scanned {
            spans: rec.spans.rebased(),
            fields: rec.fields.to_vec(),
            tail: rec.fields.first().map_or(rec.line.len(), |(k, _)| k.start),
        };
        Group::of(first, rec.identity, rec.line.to_vec(), rank, rec.spans.size)
    }

    fn of(
        first: First,
        identity: u64,
        raw: Vec<u8>,
        rank: Option<u32>,
        size: Option<u32>,
    ) -> Group {
        // Room for the job's ranks (up to a point): a group grows to them.
        let mut group = Group {
            first,
            identity,
            raw,
            low_ranks: 0,
            high_ranks: Vec::new(),
            size,
            spread: Vec::new(),
        };
        if let Some(rank) = rank {
            group.add_rank(rank, size);
        }
        group
    }

    /// The first record's line as text (a scanned one: `Spans::scan` read it, so it is
    /// valid UTF-8).
    fn text(&self) -> &str {
        match self.first {
            // SAFETY: `raw` of a scanned first record is the line `Spans::scan` read,
            // which it does only when the line is valid UTF-8.
            First::Scanned { .. } => unsafe { std::str::from_utf8_unchecked(&self.raw) },
            First::Owned(_) => "",
        }
    }

    /// The hash of the group's identity ([`identity_hash`]).
    pub(crate) fn identity(&self) -> u64 {
        self.identity
    }

    /// Time of the first record, microseconds since the Unix epoch.
    pub(crate) fn ts_us(&self) -> i64 {
        match &self.first {
            First::Owned(rec) => rec.ts_us,
            First::Scanned { spans, .. } => spans.ts_us,
        }
    }

    /// Severity of the group's records.
    pub(crate) fn level(&self) -> slog::Level {
        match &self.first {
            First::Owned(rec) => rec.level,
            First::Scanned { spans, .. } => spans.level,
        }
    }

    /// Message of the group's records.
    pub(crate) fn msg(&self) -> &str {
        match &self.first {
            First::Owned(rec) => &rec.msg,
            First::Scanned { spans, .. } => spans.msg(self.text()),
        }
    }

    /// Hands `f` the first record (a scanned one converted here, borrowing its line).
    pub(crate) fn with_first<R>(&self, f: impl FnOnce(&Record<'_>) -> R) -> R {
        match &self.first {
            First::Owned(rec) => f(rec),
            First::Scanned { spans, fields, .. } => {
                let rec = spans.record(self.text(), fields, Vec::new());
                f(&rec.expect("a scanned line's ranges convert"))
            }
        }
    }

    /// How the first record's `i`-th key-value compares across the group: `None` when
    /// every record of the group has its value.
    pub(crate) fn spread(&self, i: usize) -> Option<&Spread> {
        self.spread.get(i).filter(|s| s.varies)
    }

    /// The first record's `i`-th key.
    fn first_key(&self, i: usize) -> &str {
        match &self.first {
            First::Owned(rec) => &rec.fields[i].0,
            First::Scanned { fields, .. } => &self.text()[fields[i].0.clone()],
        }
    }

    /// The keys of the first record's key-values that vary across the group, as the
    /// application wrote them ([`display_key`](super::record::display_key)).
    pub(crate) fn varying_keys(&self) -> impl Iterator<Item = &str> + '_ {
        (0..self.first_len())
            .filter(|&i| self.spread(i).is_some())
            .map(|i| super::record::display_key(self.first_key(i)))
    }

    /// The first record's `i`-th value.
    fn first_value(&self, i: usize) -> Option<Value<'_>> {
        match &self.first {
            First::Owned(rec) => rec.fields.get(i).map(|(_, v)| v.clone()),
            First::Scanned { fields, .. } => token_value(&self.raw[fields.get(i)?.1.clone()]),
        }
    }

    /// How many key-values the first record has.
    fn first_len(&self) -> usize {
        match &self.first {
            First::Owned(rec) => rec.fields.len(),
            First::Scanned { fields, .. } => fields.len(),
        }
    }

    /// Takes in `other` (`None`: the record lacks the key), a record's value of the first
    /// record's `i`-th key, whose value there is `first`.
    fn add_value(&mut self, i: usize, first: &Value<'_>, other: Option<&Value<'_>>) {
        if other == Some(first) {
            return;
        }
        if self.spread.is_empty() {
            // The first difference: every key-value so far had the first record's value.
            let spread: Vec<Spread> = (0..self.first_len())
                .map(|j| Spread {
                    varies: false,
                    range: self.first_value(j).and_then(|v| v.as_f64()).map(|x| (x, x)),
                })
                .collect();
            self.spread = spread;
        }
        self.spread[i].add(first, other);
    }

    /// Adds `rank`'s record of the same identity.
    pub(crate) fn join(&mut self, rec: &Record<'_>, rank: u32) {
        self.add_rank(rank, rec.size);
        for i in 0..self.first_len() {
            let key = self.first_key(i);
            let other = rec.fields.iter().find(|(k, _)| k == key).map(|(_, v)| v);
            let first = self.first_value(i).map(Value::into_owned);
            let first = first.expect("the first record's values convert");
            self.add_value(i, &first, other);
        }
    }

    /// Adds `rank`'s scanned record of the same identity, as [`join`](Self::join) adds it
    /// parsed: where the text of its key-values is the first record's, nothing is
    /// converted; else only the values whose text differs are.
    pub(crate) fn join_scanned(&mut self, rec: &Scanned<'_>, rank: u32) {
        self.add_rank(rank, rec.spans.size);
        if let First::Scanned { tail, .. } = self.first {
            // The same text from the first key-value to the end of the line: the same
            // key-values (a key's kind does not depend on what comes before it). A first
            // record without key-values has nothing to compare.
            let same = tail == self.raw.len()
                || rec
                    .fields
                    .first()
                    .is_some_and(|(theirs, _)| self.raw[tail..] == rec.line[theirs.start..]);
            if same {
                return;
            }
        }
        let key_of = |(k, _): &(Range<usize>, Range<usize>)| &rec.line[k.clone()];
        // Whether the record's keys so far are the first record's, in the same order.
        let mut aligned = true;
        for i in 0..self.first_len() {
            let (key, first_text) = match &self.first {
                First::Owned(first) => (first.fields[i].0.as_bytes(), None),
                First::Scanned { fields, .. } => {
                    let (k, v) = &fields[i];
                    (&self.raw[k.clone()], Some(&self.raw[v.clone()]))
                }
            };
            let same_place = rec.fields.get(i).filter(|f| key_of(f) == key);
            aligned &= same_place.is_some();
            // The first key-value of the key: at the same place when the keys before it
            // are the first record's (so none of them is this key, or the record's
            // first key-value of the key would be that earlier one).
            let found = match same_place {
                Some(f) if aligned && !rec.fields[..i].iter().any(|g| key_of(g) == key) => Some(f),
                _ => rec.fields.iter().find(|f| key_of(f) == key),
            };
            let other = found.map(|(_, v)| &rec.line[v.clone()]);
            if other.is_some() && other == first_text {
                continue;
            }
            let other = other.and_then(token_value).map(Value::into_owned);
            let first = self.first_value(i).map(Value::into_owned);
            let first = first.expect("the first record's values convert");
            self.add_value(i, &first, other.as_ref());
        }
    }

    /// Adds `rank`'s record of the same identity, scanned or parsed.
    #[inline]
    pub(crate) fn join_item(&mut self, item: &Item<'_>, rank: u32) {
        match item {
            Item::Scanned(s) => self.join_scanned(s, rank),
            Item::Parsed(rec, _) => self.join(rec, rank),
        }
    }

    /// Whether the group's records have level `level` and message `msg`.
    pub(crate) fn is(&self, level: slog::Level, msg: &str) -> bool {
        self.level() == level && self.msg() == msg
    }

    /// [`prefetch`]es what a join or printing reads beyond the struct: the first record's
    /// line (up to 512 bytes), its key-values' ranges and the ranks from 64 up.
    fn prefetch_contents(&self) {
        prefetch_bytes(&self.raw, 512);
        if !self.high_ranks.is_empty() {
            prefetch(self.high_ranks.as_ptr());
        }
        if let First::Scanned { fields, .. } = &self.first {
            prefetch(fields.as_ptr());
        }
    }

    /// Whether `rank`'s record of level `level` and message `msg` may join the group: the
    /// same identity, and a rank that has not joined it yet.
    pub(crate) fn joins(&self, level: slog::Level, msg: &str, rank: u32) -> bool {
        self.is(level, msg) && !self.has_rank(rank)
    }

    /// Whether `rank` said it.
    pub(crate) fn has_rank(&self, rank: u32) -> bool {
        match 1u64.checked_shl(rank) {
            Some(bit) => self.low_ranks & bit != 0,
            None => self.high_ranks.binary_search(&rank).is_ok(),
        }
    }

    /// How many ranks said it.
    pub(crate) fn rank_count(&self) -> usize {
        self.low_ranks.count_ones() as usize + self.high_ranks.len()
    }

    /// The ranks that said it, in order.
    pub(crate) fn ranks(&self) -> impl Iterator<Item = u32> + '_ {
        let mut low = self.low_ranks;
        std::iter::from_fn(move || {
            let rank = (low != 0).then(|| low.trailing_zeros())?;
            low &= low - 1;
            Some(rank)
        })
        .chain(self.high_ranks.iter().copied())
    }

    /// Every rank of the job said it (ranks `0..size`, distinct): no record of the job can
    /// join it any more, since a rank that says it again starts a new group. (One of a rank
    /// outside the job, from a directory mixing jobs of other sizes, could have.)
    pub(crate) fn complete(&self) -> bool {
        match self.size {
            Some(size @ 1..=64) => self.low_ranks == u64::MAX >> (64 - size),
            Some(size) => {
                self.low_ranks == u64::MAX
                    && self.high_ranks.len() == size as usize - 64
                    && self.high_ranks.last() < Some(&size)
            }
            None => false,
        }
    }

    fn add_rank(&mut self, rank: u32, size: Option<u32>) {
        match 1u64.checked_shl(rank) {
            Some(bit) => self.low_ranks |= bit,
            None => {
                let at = self.high_ranks.partition_point(|&r| r < rank);
                self.high_ranks.insert(at, rank);
            }
        }
        self.size = self.size.max(size);
    }

    /// `[ranks 0-7]` when every rank of the job said it; `[ranks 0-3,5 of 8]` when some
    /// did, with `, missing 4,6-7` when more than half did.
    pub(crate) fn ranks_tag(&self) -> String {
        // Every rank of the job (the ranks are sorted and distinct): the common case.
        if let Some(last) = self.size.filter(|_| self.complete()).map(|size| size - 1) {
            return match last {
                0 => "[ranks 0]".to_owned(),
                _ => format!("[ranks 0-{last}]"),
            };
        }
        let said = RankSet::from_ranks(self.ranks());
        match self.size {
            Some(size) if said.complement(size).is_empty() && said.len() == u64::from(size) => {
                format!("[ranks {said}]")
            }
            Some(size) if said.len() * 2 > u64::from(size) => {
                format!(
                    "[ranks {said} of {size}, missing {}]",
                    said.complement(size)
                )
            }
            Some(size) => format!("[ranks {said} of {size}]"),
            None => format!("[ranks {said}]"),
        }
    }
}

/// Collapse identities ([`set_key_of`]) to `V`, hashed with FxHash: the keys are the
/// job's own messages, and SipHash's resistance to chosen keys costs more than it buys here.
pub(crate) type KeyMap<V> = HashMap<String, V, rustc_hash::FxBuildHasher>;

/// Groups a pop asks for ahead of their own pop (see `Collapser::pop`).
const POP_AHEAD: usize = 4;

/// [`prefetch`]es the memory of the struct `g`.
fn prefetch_group(g: &Group) {
    let at = (g as *const Group).cast::<u8>();
    for offset in (0..std::mem::size_of::<Group>()).step_by(64) {
        prefetch(at.wrapping_add(offset));
    }
}

/// Gathers records into groups and hands each group out once its window has passed, in
/// the order of their first records.
pub(crate) struct Collapser {
    window_us: i64,
    /// Whether groups keep their first record's line.
    keep_raw: bool,
    groups: VecDeque<Group>,
    /// Id of `groups[0]`; ids count up in creation order.
    front_id: u64,
    /// Identity hash to the ids of the open groups, oldest first.
    open: OpenGroups,
}

impl Collapser {
    pub(crate) fn new(window_us: i64, keep_raw: bool) -> Collapser {
        Collapser {
            window_us,
            keep_raw,
            groups: VecDeque::new(),
            front_id: 0,
            open: OpenGroups::default(),
        }
    }

    /// Adds a record of rank `rank` (a parsed one with its line, kept for `--json`, or a
    /// scanned one), first handing `emit` the groups whose window closed before it. A
    /// scanned record's values are converted only when it starts a group, or where they
    /// differ from the group's first record's.
    pub(crate) fn push_item<E>(
        &mut self,
        item: Item<'_>,
        rank: Option<u32>,
        ahead: Ahead,
        emit: &mut impl FnMut(Group) -> Result<(), E>,
    ) -> Result<(), E> {
        self.prefetch(ahead);
        let ts_us = item.ts_us();
        while self.groups.len() >= MAX_PENDING
            || self
                .groups
                .front()
                .is_some_and(|g| g.complete() || ts_us - g.ts_us() > self.window_us)
        {
            self.pop(emit)?;
        }
        let key = item.identity();
        if let Some(rank) = rank {
            let (level, msg) = (item.level(), item.msg());
            let (groups, front) = (&self.groups, self.front_id);
            let found = self.open.to_join(key, |id| {
                groups[(id - front) as usize].joins(level, msg, rank)
            });
            if let Some(id) = found {
                self.groups[(id - front) as usize].join_item(&item, rank);
                return Ok(());
            }
        }
        let id = self.front_id + self.groups.len() as u64;
        let group = match &item {
            Item::Scanned(s) => Group::scanned(s, rank),
            Item::Parsed(rec, raw) => {
                let raw = if self.keep_raw {
                    raw.to_vec()
                } else {
                    Vec::new()
                };
                Group::new(rec, raw, rank)
            }
        };
        self.groups.push_back(group);
        if rank.is_some() {
            self.open.add(key, id);
        }
        Ok(())
    }

    /// Asks for the memory that the records `ahead` will need, a stage for each
    /// ([`AHEAD`](super::parsed::AHEAD)): the table slot of the farthest; the group the
    /// next most likely joins; the line and ranks of the nearest's group (their addresses
    /// are in the group, asked for a stage before). With many groups open, each is
    /// otherwise a wait for main memory.
    fn prefetch(&self, [far, next, near]: Ahead) {
        if let Some(key) = far {
            self.open.prefetch(key);
        }
        let group = |key: Option<u64>| {
            let id = self.open.oldest(key?)?;
            self.groups
                .get(usize::try_from(id.checked_sub(self.front_id)?).ok()?)
        };
        if let Some(g) = group(next) {
            prefetch_group(g);
        }
        if let Some(g) = group(near) {
            g.prefetch_contents();
        }
    }

    /// Hands out every group left.
    pub(crate) fn finish<E>(
        &mut self,
        emit: &mut impl FnMut(Group) -> Result<(), E>,
    ) -> Result<(), E> {
        while !self.groups.is_empty() {
            self.pop(emit)?;
        }
        Ok(())
    }

    fn pop<E>(&mut self, emit: &mut impl FnMut(Group) -> Result<(), E>) -> Result<(), E> {
        let Some(group) = self.groups.pop_front() else {
            return Ok(());
        };
        // Groups go in order: ask for those a few places behind, in two stages, as
        // `prefetch` does for joins (the struct, then its slot and what printing reads).
        if let Some(g) = self.groups.get(2 * POP_AHEAD) {
            prefetch_group(g);
        }
        if let Some(g) = self.groups.get(POP_AHEAD) {
            self.open.prefetch(g.identity());
            g.prefetch_contents();
        }
        self.open.close_oldest(group.identity(), self.front_id);
        self.front_id += 1;
        emit(group)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(ms: i64, rank: u32, level: &str, msg: &str, value: u32) -> Vec<u8> {
        format!(
            r#"{{"ts":"2026-11-21T04:24:{:02}.{:03}000Z","level":"{level}","msg":"{msg}","rank":{rank},"size":8,"n":{value},"same":"x"}}"#,
            ms / 1000,
            ms % 1000
        )
        .into_bytes()
    }

    fn run(lines: &[Vec<u8>], window_ms: i64) -> Vec<Group> {
        let mut c = Collapser::new(window_ms * 1000, false);
        let mut out = Vec::new();
        let mut emit = |g: Group| -> Result<(), ()> {
            out.push(g);
            Ok(())
        };
        for line in lines {
            let r = Record::parse(line).unwrap();
            let rank = r.rank;
            c.push_item(Item::Parsed(&r, line), rank, [None; 3], &mut emit)
                .unwrap();
        }
        c.finish(&mut emit).unwrap();
        out
    }

    #[test]
    fn same_level_and_message_within_the_window_become_one_group() {
        let mut lines: Vec<_> = (0..8)
            .map(|r| rec(i64::from(r) * 10, r, "info", "ready", r))
            .collect();
        lines.insert(3, rec(15, 0, "warning", "ready", 0));
        lines.push(rec(900, 2, "info", "other", 0));
        let groups = run(&lines, 1000);
        assert_eq!(groups.len(), 3);
        assert_eq!(
            groups[0].ranks().collect::<Vec<_>>(),
            (0..8).collect::<Vec<_>>()
        );
        assert_eq!(groups[0].ranks_tag(), "[ranks 0-7]");
        assert!(groups[0].spread(0).is_some() && groups[0].spread(1).is_none());
        assert_eq!(groups[0].spread(0).unwrap().range, Some((0.0, 7.0)));
        assert_eq!(groups[1].level(), slog::Level::Warning);
        assert_eq!(groups[2].msg(), "other");
    }

    #[test]
    fn a_group_every_rank_joined_is_handed_out_before_its_window_ends() {
        // Ranks far apart in time: steps of a fast loop, the last rank a whole window
        // behind. Complete groups go at once, an incomplete one waits for its window, and
        // the order stays that of the first records.
        let mut c = Collapser::new(1_000_000, false);
        let line = |ms: i64, rank: u32, size: u32, msg: &str| {
            format!(
                r#"{{"ts":"2026-11-21T04:24:{:02}.{:03}000Z","level":"info","msg":"{msg}","rank":{rank},"size":{size}}}"#,
                ms / 1000,
                ms % 1000
            )
        };
        // The groups handed out when the line is added.
        let mut push = |text: String| -> Vec<(String, Vec<u32>)> {
            let rec = Record::parse(text.as_bytes()).unwrap();
            let mut out = Vec::new();
            let mut emit = |g: Group| -> Result<(), ()> {
                out.push((g.msg().to_owned(), g.ranks().collect()));
                Ok(())
            };
            c.push_item(
                Item::Parsed(&rec, text.as_bytes()),
                rec.rank,
                [None; 3],
                &mut emit,
            )
            .unwrap();
            out
        };
        let group = |msg: &str, ranks: &[u32]| vec![(msg.to_owned(), ranks.to_vec())];
        assert!(push(line(0, 0, 2, "a")).is_empty());
        assert!(push(line(1, 1, 2, "a")).is_empty());
        assert_eq!(
            push(line(2, 0, 3, "b")),
            group("a", &[0, 1]),
            "complete: out at once"
        );
        assert!(push(line(3, 0, 2, "c")).is_empty());
        assert!(
            push(line(4, 1, 2, "c")).is_empty(),
            "c waits behind b, incomplete"
        );
        let late = push(line(1500, 1, 3, "b"));
        let order: Vec<_> = late.iter().map(|(m, r)| (m.as_str(), r.clone())).collect();
        assert_eq!(
            order,
            [("b", vec![0]), ("c", vec![0, 1])],
            "b's window passed"
        );
    }

    #[test]
    fn ranks_past_64_join_sort_and_complete_as_the_ones_below() {
        for size in [64, 65, 130] {
            // Odd ranks from the top down, then even ones from the bottom up.
            let mut order: Vec<u32> = (0..size).rev().filter(|r| r % 2 == 1).collect();
            order.extend((0..size).filter(|r| r % 2 == 0));
            let lines: Vec<_> = order
                .iter()
                .map(|&r| {
                    format!(
                        r#"{{"ts":"2026-11-21T04:24:00.000000Z","level":"info","msg":"m","rank":{r},"size":{size}}}"#
                    )
                    .into_bytes()
                })
                .collect();
            let groups = run(&lines, 1000);
            assert_eq!(groups.len(), 1, "size {size}");
            assert_eq!(
                groups[0].ranks().collect::<Vec<_>>(),
                (0..size).collect::<Vec<_>>(),
                "size {size}"
            );
            assert!(groups[0].complete(), "size {size}");
            assert_eq!(groups[0].ranks_tag(), format!("[ranks 0-{}]", size - 1));
            let again = run(
                &[lines[0].clone(), lines[1].clone(), lines[0].clone()],
                1000,
            );
            let ranks: Vec<Vec<u32>> = again.iter().map(|g| g.ranks().collect()).collect();
            let (a, b) = (order[0], order[1]);
            assert_eq!(
                ranks,
                [vec![b, a], vec![a]],
                "size {size}: a repeat starts a group"
            );
            assert!(!again[0].complete() && !again[0].has_rank(size));
        }
    }

    #[test]
    fn a_window_that_passed_or_a_rank_repeating_starts_a_new_group() {
        let lines = [
            rec(0, 0, "info", "tick", 0),
            rec(10, 0, "info", "tick", 0),
            rec(20, 1, "info", "tick", 0),
            rec(1500, 2, "info", "tick", 0),
        ];
        let groups = run(&lines, 1000);
        let ranks: Vec<Vec<u32>> = groups.iter().map(|g| g.ranks().collect()).collect();
        assert_eq!(ranks, [vec![0, 1], vec![0], vec![2]]);
        let repeats: Vec<_> = [0, 0, 1, 1]
            .iter()
            .enumerate()
            .map(|(i, &r)| rec(i as i64, r, "info", "tick", i as u32))
            .collect();
        let pairs: Vec<_> = run(&repeats, 1000)
            .iter()
            .map(|g| g.ranks().collect::<Vec<_>>())
            .collect();
        assert_eq!(
            pairs,
            [vec![0, 1], vec![0, 1]],
            "n-th repeat goes with n-th"
        );
    }

    #[test]
    fn the_tag_names_who_is_missing_when_most_ranks_said_it() {
        let group = |ranks: &[u32]| {
            let lines: Vec<_> = ranks.iter().map(|&r| rec(0, r, "info", "m", 0)).collect();
            run(&lines, 1000).remove(0).ranks_tag()
        };
        assert_eq!(
            group(&[0, 1, 2, 3, 5, 7]),
            "[ranks 0-3,5,7 of 8, missing 4,6]"
        );
        assert_eq!(group(&[1, 3]), "[ranks 1,3 of 8]");
        assert_eq!(group(&[0, 1, 2, 3, 4, 5, 6, 7]), "[ranks 0-7]");
        let one = |size: u32| {
            let line = format!(
                r#"{{"ts":"2026-11-21T04:24:00.000000Z","level":"info","msg":"m","rank":0,"size":{size}}}"#
            );
            run(&[line.into_bytes()], 1000).remove(0).ranks_tag()
        };
        assert_eq!(
            (one(1), one(2)),
            ("[ranks 0]".into(), "[ranks 0 of 2]".into())
        );
        assert_eq!(group(&[0, 1, 2, 3]), "[ranks 0-3 of 8]");
    }

    /// A small deterministic generator (xorshift64), so that a failure replays.
    struct Gen(u64);

    impl Gen {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n as u64) as usize
        }

        fn pick<'p>(&mut self, pool: &[&'p str]) -> &'p str {
            pool[self.below(pool.len())]
        }
    }

    /// Lines of a few identities from 8 ranks, in time order, whose key-values vary in
    /// every way the scan and the full parse could tell apart: the same value written
    /// differently (`1`, `1.0`, `1e0`, `-0`), types that print alike, escapes, unicode,
    /// nested values, keys missing, repeated, in another order, or named like the
    /// schema's own fields, and a few lines that are no record at all.
    fn varied_lines(seed: u64, count: usize) -> Vec<Vec<u8>> {
        let mut g = Gen(seed);
        let values = [
            "1",
            "1.0",
            "1.00",
            "1e0",
            "10E-1",
            "-0",
            "0",
            "-1",
            "0.1",
            "0.10",
            "18446744073709551615",
            "18446744073709551616",
            "-9223372036854775809",
            "123456789012345678",
            "2.0000000000000001",
            "1.5e300",
            r#""1""#,
            r#""x""#,
            r#""x ""#,
            r#""é""#,
            r#""日本""#,
            r#""a\"b""#,
            r#""a\u0062""#,
            "null",
            "true",
            "false",
            "[1,2]",
            r#"{"a":1}"#,
            r#""train""#,
            r#""log_stats""#,
        ];
        let keys = ["a", "b", "c", "a", "kv.size", "kind", "é"];
        let msgs = ["step done", "step done ", "ré", r"a\nb", "m", ""];
        let levels = ["info", "warning", "error", "INFO"];
        let mut lines = Vec::new();
        for i in 0..count {
            let ms = i as i64 * 37;
            let ts = format!(
                "2026-11-21T04:{:02}:{:02}.{:06}Z",
                ms / 60_000,
                ms / 1000 % 60,
                ms % 1000 * 1000
            );
            let mut fields = vec![
                format!(r#""ts":"{ts}""#),
                format!(r#""level":"{}""#, g.pick(&levels)),
                format!(r#""msg":"{}""#, g.pick(&msgs)),
                format!(r#""rank":{}"#, g.below(8)),
            ];
            if g.below(6) != 0 {
                fields.push(format!(r#""size":{}"#, 6 + g.below(3)));
            }
            for _ in 0..g.below(5) {
                fields.push(format!(r#""{}":{}"#, g.pick(&keys), g.pick(&values)));
            }
            // The writer's order mostly, any order now and then.
            if g.below(4) == 0 {
                for k in (1..fields.len()).rev() {
                    fields.swap(k, g.below(k + 1));
                }
            }
            let sep = if g.below(20) == 0 { ", " } else { "," };
            let mut line = format!("{{{}}}", fields.join(sep));
            if g.below(40) == 0 {
                line.truncate(line.len() / 2);
            }
            lines.push(line.into_bytes());
        }
        lines
    }

    /// A group as printed (console and JSON lines), its ranks, its world size and, for
    /// each key-value that varies, its spread.
    type View = (
        String,
        Vec<u32>,
        Option<u32>,
        Vec<(bool, Option<(f64, f64)>)>,
    );

    /// Every group of `lines` as `ranklog merge --collapse` prints it (console and JSON),
    /// with its ranks and spread, collapsed from `items`.
    fn collapsed_views(lines: &[Vec<u8>], scanned: bool) -> Vec<View> {
        use crate::analyze::console::LineFormat;
        use crate::analyze::parsed::ParsedBatch;
        use crate::analyze::print::write_group;
        use crate::analyze::{Filter, TimeZoneChoice, Warnings};

        let mut c = Collapser::new(500_000, true);
        let mut out = Vec::new();
        let mut format = LineFormat::new(TimeZoneChoice::Utc, false);
        let mut emit = |g: Group| -> Result<(), ()> {
            let mut text = Vec::new();
            write_group(&mut text, &mut format, &g, false);
            write_group(&mut text, &mut format, &g, true);
            let spread = (0..g.first_len())
                .map(|i| g.spread(i).map_or((false, None), |s| (s.varies, s.range)))
                .collect();
            out.push((
                String::from_utf8(text).unwrap(),
                g.ranks().collect(),
                g.size,
                spread,
            ));
            Ok(())
        };
        if scanned {
            let (filter, mut scratch) = (Filter::default(), String::new());
            let mut batch = ParsedBatch::default();
            for line in lines {
                batch.push(line, None);
            }
            batch.parse(&filter);
            let mut damage = Warnings::default();
            batch
                .for_each_item(&filter, &mut scratch, &mut damage, |item, rank, ahead| {
                    c.push_item(item, rank, ahead, &mut emit)
                })
                .unwrap();
        } else {
            for line in lines {
                if let Ok(rec) = Record::parse(line) {
                    c.push_item(Item::Parsed(&rec, line), rec.rank, [None; 3], &mut emit)
                        .unwrap();
                }
            }
        }
        c.finish(&mut emit).unwrap();
        out
    }

    #[test]
    fn records_joined_by_their_scanned_text_collapse_as_when_parsed_whole() {
        for seed in 1..=40 {
            let lines = varied_lines(seed, 400);
            let parsed = collapsed_views(&lines, false);
            let scanned = collapsed_views(&lines, true);
            assert_eq!(parsed.len(), scanned.len(), "seed {seed}");
            for (p, s) in parsed.iter().zip(&scanned) {
                assert_eq!(p.0, s.0, "seed {seed}");
                assert_eq!((&p.1, p.2), (&s.1, s.2), "seed {seed}: {}", p.0);
                // Ranges compare bit for bit (-0 and 0 print alike).
                let bits = |v: &[(bool, Option<(f64, f64)>)]| -> Vec<_> {
                    v.iter()
                        .map(|(varies, r)| (*varies, r.map(|(a, b)| (a.to_bits(), b.to_bits()))))
                        .collect()
                };
                assert_eq!(bits(&p.3), bits(&s.3), "seed {seed}: {}", p.0);
            }
            let joined = parsed.iter().filter(|g| g.1.len() > 1).count();
            assert!(joined * 4 > parsed.len(), "seed {seed}: groups join");
        }
    }

    #[test]
    fn a_scanned_record_reads_as_the_parsed_one() {
        use crate::analyze::parsed::{Item, ParsedBatch};
        use crate::analyze::{Filter, Warnings};

        let mut lines = varied_lines(7, 300);
        lines.push(
            br#"{"v":1,"ts":"2026-11-21T04:24:06.000001Z","level":"info","msg":"m","rank":1,"size":8,"local_rank":null,"local_size":4,"host":"h","pid":3,"scope":"ranks:0-3","module":"m","file":"f.rs","line":7,"kind":"log_stats"}"#.to_vec(),
        );
        let (filter, mut scratch, mut damage) =
            (Filter::default(), String::new(), Warnings::default());
        let mut batch = ParsedBatch::default();
        for line in &lines {
            batch.push(line, None);
        }
        batch.parse(&filter);
        let mut scanned = 0;
        batch
            .for_each_item(&filter, &mut scratch, &mut damage, |item, _, _| {
                let Item::Scanned(s) = &item else {
                    return Ok::<(), ()>(());
                };
                scanned += 1;
                let rec = Record::parse(s.line).unwrap();
                let whole = Item::Parsed(&rec, s.line);
                assert_eq!(item.to_owned_record().as_ref(), Some(&rec));
                assert_eq!((item.ts_us(), item.level()), (whole.ts_us(), whole.level()));
                assert_eq!((item.msg(), item.size()), (whole.msg(), whole.size()));
                assert_eq!((item.host(), item.scope()), (whole.host(), whole.scope()));
                assert_eq!(item.local_rank(), whole.local_rank());
                for kind in ["log_stats", "train", "x"] {
                    assert_eq!(item.has_kind(kind), whole.has_kind(kind), "{kind}");
                }
                Ok(())
            })
            .unwrap();
        assert!(scanned > 100, "most lines are scanned: {scanned}");
    }
}
