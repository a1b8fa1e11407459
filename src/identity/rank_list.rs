//! Rank lists: `0,3-5,last` (DeepSpeed's `ranks=[0, -1]`, torchrun's
//! `--local-ranks-filter`), parsed without allocating.

/// Whether `rank` (of a job of `size` ranks) is in `list`.
///
/// `list` is comma-separated items: a rank (`3`), an inclusive range (`3-5`), or `last`
/// (also written `-1`), the job's last rank. Spaces around items are ignored.
///
/// # Errors
///
/// A message saying which item is not a rank, a range or `last`, or which range is
/// reversed. An empty list is an error.
pub(crate) fn contains(list: &str, rank: u32, size: u32) -> Result<bool, String> {
    let last = size.saturating_sub(1);
    let mut found = false;
    let mut items = 0;
    for item in list.split(',') {
        let item = item.trim();
        items += 1;
        let one = |text: &str| -> Result<u32, String> {
            match text {
                "last" | "-1" => Ok(last),
                _ if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) => text
                    .parse()
                    .map_err(|_| format!("rank {text:?} is too large")),
                _ => Err(format!("{text:?} is not a rank, a range like 3-5, or last")),
            }
        };
        let (low, high) = match item.split_once('-') {
            Some(("", "1")) => (last, last),
            Some((a, b)) => (one(a.trim())?, one(b.trim())?),
            None => {
                let r = one(item)?;
                (r, r)
            }
        };
        if low > high {
            return Err(format!("range {item:?} is reversed"));
        }
        found |= (low..=high).contains(&rank);
    }
    if items == 0 || list.trim().is_empty() {
        return Err("empty rank list".to_owned());
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::contains;

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
}
