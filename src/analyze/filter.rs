//! Which records a merge keeps: [`Filter`], [`RankSet`], [`TimeBound`].

use std::fmt;
use std::str::FromStr;

use slog::Level;

use super::record::{Record, Value};
use super::{time, AnalyzeError};
use crate::identity::rank_list::{self, Item};

/// A set of ranks, written as a rank list: single ranks, inclusive ranges and `last`
/// (also written `-1`), the job's last rank, comma-separated: `0,3-5,last`, `2-last`. The
/// grammar is that of `RANKLOG_CONSOLE_RANKS` and of `ranks:LIST` scopes.
///
/// `last` needs the job's world size: a set that names it
/// ([`needs_world_size`](Self::needs_world_size)) is [`resolve`](Self::resolve)d once the
/// size is known (`ranklog merge --ranks` takes it from the records). Until then its
/// `last` items hold no rank: [`contains`](Self::contains), [`len`](Self::len) and
/// [`complement`](Self::complement) see only the other items.
///
/// # Examples
///
/// ```
/// let set: ranklog::analyze::RankSet = "5,0-3,2".parse()?;
/// assert!(set.contains(2) && !set.contains(4));
/// assert_eq!(set.to_string(), "0-3,5");
///
/// let set: ranklog::analyze::RankSet = "0,last".parse()?;
/// assert!(set.needs_world_size() && !set.contains(7));
/// let set = set.resolve(Some(8))?;
/// assert!(set.contains(7) && !set.contains(6));
/// assert_eq!(set.to_string(), "0,7");
/// # Ok::<(), ranklog::analyze::AnalyzeError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RankSet {
    /// Sorted, disjoint, non-adjacent inclusive ranges.
    ranges: Vec<(u32, u32)>,
    /// Items naming `last`, in list order, until [`RankSet::resolve`].
    unresolved: Vec<Item>,
}

impl RankSet {
    /// The set of the given ranks.
    pub fn from_ranks(ranks: impl IntoIterator<Item = u32>) -> RankSet {
        RankSet::from_ranges(ranks.into_iter().map(|r| (r, r)).collect())
    }

    /// Whether the set names `last`, so that it must be [`resolve`](Self::resolve)d with
    /// the job's world size before it holds all its ranks.
    pub fn needs_world_size(&self) -> bool {
        !self.unresolved.is_empty()
    }

    /// The set with `last` resolved as the last rank of a job of `world_size` ranks
    /// (`None`: the size is not known); a set without `last` comes back as it is.
    ///
    /// # Errors
    ///
    /// [`AnalyzeError::InvalidArgument`] (option `--ranks`) when the set names `last` and
    /// `world_size` is `None`, or when a range with `last` ends below its start (`last-3`
    /// in a job of more than 4 ranks).
    pub fn resolve(&self, world_size: Option<u32>) -> Result<RankSet, AnalyzeError> {
        if self.unresolved.is_empty() {
            return Ok(self.clone());
        }
        let bad = |reason: String| AnalyzeError::InvalidArgument {
            option: "--ranks",
            value: self.to_string(),
            reason,
        };
        const UNKNOWN: &str =
            "`last` needs the job's world size, and no record gives it (field `size`)";
        let size = world_size.ok_or_else(|| bad(UNKNOWN.to_owned()))?;
        let mut ranges = self.ranges.clone();
        for item in &self.unresolved {
            ranges.push(item.resolve(size).map_err(bad)?);
        }
        Ok(RankSet::from_ranges(ranges))
    }

    fn from_ranges(mut ranges: Vec<(u32, u32)>) -> RankSet {
        ranges.sort_unstable();
        let mut merged: Vec<(u32, u32)> = Vec::with_capacity(ranges.len());
        for (lo, hi) in ranges {
            match merged.last_mut() {
                Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
                _ => merged.push((lo, hi)),
            }
        }
        RankSet {
            ranges: merged,
            unresolved: Vec::new(),
        }
    }

    /// Whether `rank` is in the set.
    pub fn contains(&self, rank: u32) -> bool {
        let i = self.ranges.partition_point(|&(_, hi)| hi < rank);
        self.ranges.get(i).is_some_and(|&(lo, _)| lo <= rank)
    }

    /// Number of ranks in the set.
    pub fn len(&self) -> u64 {
        self.ranges
            .iter()
            .map(|&(lo, hi)| u64::from(hi - lo) + 1)
            .sum()
    }

    /// Whether the set is empty (a set naming `last` is not).
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty() && self.unresolved.is_empty()
    }

    /// The ranks of `0..size` that are not in the set.
    pub fn complement(&self, size: u32) -> RankSet {
        let mut gaps = Vec::new();
        let mut next = 0u32;
        for &(lo, hi) in &self.ranges {
            if lo >= size {
                break;
            }
            if lo > next {
                gaps.push((next, lo - 1));
            }
            next = hi.saturating_add(1);
        }
        if next < size {
            gaps.push((next, size - 1));
        }
        RankSet {
            ranges: gaps,
            unresolved: Vec::new(),
        }
    }
}

impl fmt::Display for RankSet {
    /// The ranges in order (`0-3,5`), then any item naming `last` as written (`,last`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, &(lo, hi)) in self.ranges.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            if lo == hi {
                write!(f, "{lo}")?;
            } else {
                write!(f, "{lo}-{hi}")?;
            }
        }
        for (i, item) in self.unresolved.iter().enumerate() {
            if i > 0 || !self.ranges.is_empty() {
                f.write_str(",")?;
            }
            write!(f, "{item}")?;
        }
        Ok(())
    }
}

impl FromStr for RankSet {
    type Err = AnalyzeError;

    /// Parses a rank list by the grammar of `RANKLOG_CONSOLE_RANKS`: `0,3-5,last`.
    ///
    /// # Errors
    ///
    /// [`AnalyzeError::InvalidArgument`] (option `--ranks`) for an empty list, an item
    /// that is not a rank, a range or `last`, a rank too large, or a range of ranks whose
    /// end is below its start (one with `last` is checked by [`RankSet::resolve`]).
    fn from_str(text: &str) -> Result<RankSet, AnalyzeError> {
        let bad = |reason: String| AnalyzeError::InvalidArgument {
            option: "--ranks",
            value: text.to_owned(),
            reason,
        };
        let (mut ranges, mut unresolved) = (Vec::new(), Vec::new());
        for item in rank_list::items(text) {
            let item = item.map_err(bad)?;
            if item.names_last() {
                unresolved.push(item);
            } else {
                // Without `last`, the size is not read.
                ranges.push(item.resolve(0).map_err(bad)?);
            }
        }
        Ok(RankSet {
            unresolved,
            ..RankSet::from_ranges(ranges)
        })
    }
}

/// A bound of `--since` or `--until`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeBound {
    /// An absolute time, microseconds since the Unix epoch.
    At(i64),
    /// A time after the first record of the merge, microseconds.
    AfterStart(i64),
}

impl TimeBound {
    /// The absolute time, given the first record's time.
    pub fn resolve(self, first_us: i64) -> i64 {
        match self {
            TimeBound::At(us) => us,
            TimeBound::AfterStart(us) => first_us.saturating_add(us),
        }
    }
}

impl FromStr for TimeBound {
    type Err = AnalyzeError;

    /// An RFC 3339 time (`2026-11-21T04:24:06Z`, any offset) or a duration after the first
    /// record (`90s`, `1.5m`, `500ms`).
    ///
    /// # Errors
    ///
    /// [`AnalyzeError::InvalidArgument`] (option `--since`/`--until`) for anything else.
    fn from_str(text: &str) -> Result<TimeBound, AnalyzeError> {
        if let Some(us) = time::parse_rfc3339_us(text.trim()) {
            return Ok(TimeBound::At(us));
        }
        time::parse_duration_us(text)
            .map(TimeBound::AfterStart)
            .ok_or_else(|| AnalyzeError::InvalidArgument {
                option: "--since/--until",
                value: text.to_owned(),
                reason: "expected an RFC 3339 time (2026-11-21T04:24:06Z) or a duration \
                         after the first record (90s, 1.5m, 500ms)"
                    .to_owned(),
            })
    }
}

/// Which records to keep. Every condition set must hold; an empty filter keeps all.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Filter {
    /// Only these ranks (`--ranks`).
    pub ranks: Option<RankSet>,
    /// Only records at this level or more severe (`--level`).
    pub min_level: Option<Level>,
    /// Only records whose `scope` is one of these (`--scope`).
    pub scopes: Vec<String>,
    /// Only records whose message, or a string key-value, contains this text; plain
    /// text, case-sensitive, not a regular expression (`--grep`).
    pub grep: Option<String>,
    /// Only records at or after this time (`--since`).
    pub since: Option<TimeBound>,
    /// Only records at or before this time (`--until`).
    pub until: Option<TimeBound>,
    /// Only records whose `kind` key-value is one of these (`--kind`).
    pub kinds: Vec<String>,
}

impl Filter {
    /// Whether deciding needs the whole record, not only its time and rank.
    pub fn needs_record(&self) -> bool {
        self.min_level.is_some()
            || !self.scopes.is_empty()
            || self.grep.is_some()
            || !self.kinds.is_empty()
    }

    /// Whether `rank` (from the file name or the record) passes `--ranks`.
    pub fn accepts_rank(&self, rank: Option<u32>) -> bool {
        match (&self.ranks, rank) {
            (None, _) => true,
            (Some(set), Some(rank)) => set.contains(rank),
            (Some(_), None) => false,
        }
    }

    /// Whether the record passes every condition but the time bounds (see
    /// [`TimeBound::resolve`]).
    pub fn accepts(&self, rec: &Record<'_>) -> bool {
        if rec.rank.is_some() && !self.accepts_rank(rec.rank) {
            return false;
        }
        if self
            .min_level
            .is_some_and(|min| !rec.level.is_at_least(min))
        {
            return false;
        }
        if !self.scopes.is_empty() && !self.scopes.iter().any(|s| *s == rec.scope) {
            return false;
        }
        if !self.kinds.is_empty()
            && !rec
                .kind()
                .is_some_and(|k| self.kinds.iter().any(|x| x == k))
        {
            return false;
        }
        match &self.grep {
            None => true,
            Some(text) => {
                rec.msg.contains(text.as_str())
                    || rec.fields.iter().any(|(_, v)| match v {
                        Value::Str(s) => s.contains(text.as_str()),
                        // An error chain (`ErrorChain`) is an array of its causes' texts.
                        Value::Json(json) => json_text_contains(json, text),
                        _ => false,
                    })
            }
        }
    }
}

/// Whether any text inside `json` (an array's or object's strings, at any depth)
/// contains `needle`.
fn json_text_contains(json: &serde_json::Value, needle: &str) -> bool {
    match json {
        serde_json::Value::String(s) => s.contains(needle),
        serde_json::Value::Array(items) => items.iter().any(|v| json_text_contains(v, needle)),
        serde_json::Value::Object(map) => map.values().any(|v| json_text_contains(v, needle)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rank_sets_merge_overlaps_and_print_as_ranges() {
        let set: RankSet = " 7, 0-3 ,2,4,9-9".parse().unwrap();
        assert_eq!(set.to_string(), "0-4,7,9");
        assert_eq!(set.len(), 7);
        assert!(set.contains(0) && set.contains(4) && set.contains(9));
        assert!(!set.contains(5) && !set.contains(8) && !set.contains(10));
        assert_eq!(set.complement(12).to_string(), "5-6,8,10-11");
        assert_eq!(set.complement(3).to_string(), "");
        assert_eq!(RankSet::from_ranks([3, 1, 2]).to_string(), "1-3");
        assert_eq!(
            RankSet::from_ranks([u32::MAX, 0]).to_string(),
            format!("0,{}", u32::MAX)
        );
    }

    #[test]
    fn bad_rank_lists_name_the_option() {
        // `-1` is `last` in the shared rank-list grammar: see the test below.
        for bad in ["", "a", "3-1", "1,,2", "1-"] {
            let err = bad.parse::<RankSet>().unwrap_err();
            assert!(
                err.to_string().starts_with("invalid --ranks"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn last_waits_for_the_world_size() {
        let set: RankSet = "last, 0-1 ,-1,5-last".parse().unwrap();
        assert!(set.needs_world_size() && !set.is_empty());
        assert_eq!(set.to_string(), "0-1,last,last,5-last");
        assert_eq!(set.len(), 2);
        let resolved = set.resolve(Some(8)).unwrap();
        assert!(!resolved.needs_world_size());
        assert_eq!(resolved.to_string(), "0-1,5-7");
        assert_eq!(resolved.resolve(None).unwrap(), resolved);
        let unknown = set.resolve(None).unwrap_err().to_string();
        assert!(
            unknown.starts_with("invalid --ranks") && unknown.contains("world size"),
            "{unknown}"
        );
        let reversed = "last-3".parse::<RankSet>().unwrap().resolve(Some(8));
        assert!(reversed
            .unwrap_err()
            .to_string()
            .contains("a range ends below its start"));
    }

    #[test]
    fn time_bounds_are_rfc3339_or_a_duration_after_the_start() {
        let at: TimeBound = "2026-11-21T04:24:06Z".parse().unwrap();
        assert!(matches!(at, TimeBound::At(_)));
        let after: TimeBound = "90s".parse().unwrap();
        assert_eq!(after.resolve(1_000), 90_001_000);
        assert!("yesterday".parse::<TimeBound>().is_err());
    }

    #[test]
    fn every_condition_must_hold() {
        let line = br#"{"ts":"2026-11-21T04:24:06.000001Z","level":"warning","msg":"slow disk","rank":3,"scope":"local","kind":"io","dev":"nvme0"}"#;
        let rec = Record::parse(line).unwrap();
        let mut f = Filter::default();
        assert!(f.accepts(&rec) && !f.needs_record());
        f.ranks = Some("2-3".parse().unwrap());
        f.min_level = Some(Level::Warning);
        f.scopes = vec!["global".into(), "local".into()];
        f.kinds = vec!["io".into()];
        f.grep = Some("nvme".into());
        assert!(f.accepts(&rec) && f.needs_record());
        let reject = |tweak: &dyn Fn(&mut Filter)| {
            let mut g = f.clone();
            tweak(&mut g);
            !g.accepts(&rec)
        };
        assert!(reject(&|g| g.ranks = Some("0".parse().unwrap())));
        assert!(reject(&|g| g.min_level = Some(Level::Error)));
        assert!(reject(&|g| g.scopes = vec!["process".into()]));
        assert!(reject(&|g| g.kinds = vec!["gpu".into()]));
        assert!(reject(&|g| g.grep = Some("Slow".into())));
        assert!(!f.accepts_rank(None));
    }
}
