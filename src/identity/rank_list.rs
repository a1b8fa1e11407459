//! Rank lists: `0,3-5,last` (DeepSpeed's `ranks=[0, -1]`, torchrun's
//! `--local-ranks-filter`), parsed without allocating. One grammar for
//! `RANKLOG_CONSOLE_RANKS`, `ranks:LIST` scopes and `ranklog merge --ranks`.

use std::fmt;

/// One end of a range in a rank list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Bound {
    /// This rank.
    Rank(u32),
    /// The job's last rank (`last`, or `-1` alone), known once the world size is.
    Last,
}

impl Bound {
    /// The rank in a job of `size` ranks (`last` of an empty job is 0).
    fn resolve(self, size: u32) -> u32 {
        match self {
            Bound::Rank(rank) => rank,
            Bound::Last => size.saturating_sub(1),
        }
    }
}

impl fmt::Display for Bound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Bound::Rank(rank) => write!(f, "{rank}"),
            Bound::Last => f.write_str("last"),
        }
    }
}

/// One item of a rank list: the inclusive range `low-high` (one rank: `low == high`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Item {
    /// The first rank.
    pub(crate) low: Bound,
    /// The last rank, included.
    pub(crate) high: Bound,
}

impl Item {
    /// Whether the item names `last`, so that its ranks depend on the world size.
    #[cfg(feature = "cli")]
    pub(crate) fn names_last(&self) -> bool {
        self.low == Bound::Last || self.high == Bound::Last
    }

    /// The inclusive range of ranks the item names in a job of `size` ranks (`size` is
    /// only read by an item that [names `last`](Self::names_last)).
    ///
    /// # Errors
    ///
    /// A message saying that the range ends below its start (`5-3`, or `last-3` in a job
    /// of more than 4 ranks).
    pub(crate) fn resolve(&self, size: u32) -> Result<(u32, u32), String> {
        let (low, high) = (self.low.resolve(size), self.high.resolve(size));
        if low > high {
            return Err(format!(
                "{:?}: a range ends below its start",
                self.to_string()
            ));
        }
        Ok((low, high))
    }
}

impl fmt::Display for Item {
    /// `3`, `3-5`, `last`, `2-last`: the item as it can be written back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.low == self.high {
            write!(f, "{}", self.low)
        } else {
            write!(f, "{}-{}", self.low, self.high)
        }
    }
}

/// The items of `list`, in order: comma-separated ranks (`3`), inclusive ranges (`3-5`),
/// and `last` (also written `-1`), the job's last rank, which also ends ranges
/// (`2-last`). Spaces around items and range ends are ignored.
///
/// Each item is parsed or is the message why not: which item is not a rank, a range or
/// `last`, or which rank is too large. An empty list is one empty item, an error.
pub(crate) fn items(list: &str) -> impl Iterator<Item = Result<Item, String>> + '_ {
    list.split(',').map(|item| parse_item(item.trim()))
}

/// One trimmed item.
fn parse_item(item: &str) -> Result<Item, String> {
    let (low, high) = match item.split_once('-') {
        Some(("", "1")) => (Bound::Last, Bound::Last),
        Some((a, b)) => (parse_bound(a.trim())?, parse_bound(b.trim())?),
        None => {
            let bound = parse_bound(item)?;
            (bound, bound)
        }
    };
    Ok(Item { low, high })
}

/// `last`, `-1` or a rank.
fn parse_bound(text: &str) -> Result<Bound, String> {
    match text {
        "last" | "-1" => Ok(Bound::Last),
        _ if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) => text
            .parse()
            .map(Bound::Rank)
            .map_err(|_| format!("rank {text:?} is too large")),
        _ => Err(format!("{text:?} is not a rank, a range like 3-5, or last")),
    }
}

/// Whether `rank` (of a job of `size` ranks) is in `list` ([`items`]).
///
/// # Errors
///
/// A message saying which item is not a rank, a range or `last`, or which range is
/// reversed. An empty list is an error.
pub(crate) fn contains(list: &str, rank: u32, size: u32) -> Result<bool, String> {
    let mut found = false;
    for item in items(list) {
        let (low, high) = item?.resolve(size)?;
        found |= (low..=high).contains(&rank);
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_ranges_and_last() {
        let list = "0,3-5,last";
        let inside: Vec<u32> = (0..8).filter(|&r| contains(list, r, 8).unwrap()).collect();
        assert_eq!(inside, [0, 3, 4, 5, 7]);
        assert_eq!(contains("-1", 3, 4), Ok(true));
        assert_eq!(contains(" 1 , 2 ", 2, 4), Ok(true));
        assert_eq!(contains("2-last", 3, 4), Ok(true));
    }

    #[test]
    fn bad_lists_say_why() {
        for bad in [
            "",
            " ",
            "a",
            "1,,2",
            "5-3",
            "1-",
            "x-2",
            "99999999999",
            "-2",
        ] {
            assert!(contains(bad, 0, 4).is_err(), "{bad:?}");
        }
        assert_eq!(
            contains("0,x", 0, 4),
            Err("\"x\" is not a rank, a range like 3-5, or last".to_owned())
        );
    }

    #[test]
    fn items_keep_last_until_the_size_is_known() {
        let items: Vec<Item> = items("0, 2-last ,-1").map(Result::unwrap).collect();
        let shown: Vec<String> = items.iter().map(Item::to_string).collect();
        assert_eq!(shown, ["0", "2-last", "last"]);
        assert_eq!(items[0].resolve(8), Ok((0, 0)));
        assert_eq!(items[1].resolve(8), Ok((2, 7)));
        assert_eq!(
            parse_item("last-3").unwrap().resolve(8),
            Err("\"last-3\": a range ends below its start".to_owned())
        );
    }
}
