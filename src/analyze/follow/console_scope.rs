//! Which ranks' copies of a record the live view shows: those whose console would have
//! printed it, had the ranks' consoles been on. Every rank's file keeps every record
//! whatever its scope, so without this a `global` record every rank logged would show as
//! `[ranks 0-63]` and a `local` one once per rank, not once per node.

use slog::Level;

use crate::analyze::parsed::Item;
use crate::identity::rank_list;

/// Whether `rank`'s console would print `rec` (the scope table of [`crate::Scope`] with
/// the default settings: errors and above print on every rank), and if so how many ranks'
/// copies make the group whole: `Some(1)` for a `global` record, the list's length for
/// `ranks:LIST`, `None` for every rank of the job (or an unknown number of node leaders).
pub(super) fn shown_by(rec: &Item<'_>, rank: u32) -> Option<Option<u64>> {
    if rec.level().is_at_least(Level::Error) {
        return Some(None);
    }
    let scope = rec.scope();
    match scope {
        "global" => (rank == 0).then_some(Some(1)),
        "local" => rec.local_rank().is_none_or(|l| l == 0).then_some(None),
        _ => match (scope.strip_prefix("ranks:"), rec.size()) {
            (Some(list), Some(size)) => match rank_list::contains(list, rank, size) {
                Ok(true) => Some(Some(listed(list, size))),
                Ok(false) => None,
                // A list the logger printed as `process`, so would the console.
                Err(_) => Some(None),
            },
            _ => Some(None),
        },
    }
}

/// How many ranks of a job of `size` a valid rank list names: its ranges within the job,
/// merged where they overlap (one pass over the list's items, not over the job's ranks).
fn listed(list: &str, size: u32) -> u64 {
    let Some(top) = size.checked_sub(1) else {
        return 0;
    };
    let mut ranges: Vec<(u32, u32)> = rank_list::items(list)
        .filter_map(|item| item.ok()?.resolve(size).ok())
        .filter(|&(low, _)| low <= top)
        .map(|(low, high)| (low, high.min(top)))
        .collect();
    ranges.sort_unstable();
    let mut count = 0;
    let mut next = 0u64; // the first rank not counted yet
    for (low, high) in ranges {
        let (low, high) = (u64::from(low).max(next), u64::from(high));
        if low <= high {
            count += high - low + 1;
            next = high + 1;
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::reader::parse_lossy;

    fn shown(line: &str, rank: u32) -> Option<Option<u64>> {
        let mut scratch = String::new();
        let rec = parse_lossy(line.as_bytes(), &mut scratch)
            .0
            .expect("a record");
        shown_by(&Item::Parsed(&rec, line.as_bytes()), rank)
    }

    fn line(level: &str, scope: &str, rank: u32, local_rank: &str) -> String {
        format!(
            r#"{{"ts":"2026-11-21T04:24:06.000001Z","level":"{level}","msg":"m","rank":{rank},"size":8,"local_rank":{local_rank},"scope":"{scope}"}}"#
        )
    }

    #[test]
    fn scopes_show_the_ranks_a_console_would_print_them_on() {
        assert_eq!(shown(&line("info", "global", 0, "0"), 0), Some(Some(1)));
        assert_eq!(shown(&line("info", "global", 3, "3"), 3), None);
        assert_eq!(shown(&line("error", "global", 3, "3"), 3), Some(None));
        assert_eq!(shown(&line("info", "local", 4, "0"), 4), Some(None));
        assert_eq!(shown(&line("info", "local", 5, "1"), 5), None);
        assert_eq!(shown(&line("info", "local", 5, "null"), 5), Some(None));
        assert_eq!(shown(&line("info", "process", 5, "1"), 5), Some(None));
        assert_eq!(
            shown(&line("info", "ranks:0,last", 7, "3"), 7),
            Some(Some(2))
        );
        assert_eq!(shown(&line("info", "ranks:0,last", 6, "2"), 6), None);
        assert_eq!(shown(&line("info", "ranks:x", 6, "2"), 6), Some(None));
        assert_eq!(shown(&line("info", "group:tp", 6, "2"), 6), Some(None));
    }

    #[test]
    fn a_rank_list_counts_each_rank_of_the_job_once() {
        for (list, want) in [
            ("0", 1),
            ("0,last", 2),
            ("0-3,2-5", 6),
            ("1,1,1", 1),
            ("5-100", 3),
            ("0-last,3", 8),
            ("last,7", 1),
        ] {
            assert_eq!(listed(list, 8), want, "{list}");
            let by_rank = (0..8)
                .filter(|&r| rank_list::contains(list, r, 8).unwrap_or(false))
                .count() as u64;
            assert_eq!(listed(list, 8), by_rank, "{list}, rank by rank");
        }
    }
}
