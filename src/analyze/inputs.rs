//! Finding a job's rank files in the given directories, and putting each rank's rotated
//! segments in order.
//!
//! A file belongs to rank R when its name is one of:
//!
//! | name | what |
//! | --- | --- |
//! | `rank-R.jsonl` | the live file, newest |
//! | `rank-R.jsonl.N` | a rotated segment (`N` = 1, 2, ...; a higher `N` is older: logrotate's and file-rotate's `AppendCount`) |
//! | `rank-R.N.jsonl` | a rotated segment, likewise numbered |
//! | `rank-R.jsonl.SUFFIX` | a rotated segment with another suffix, e.g. a date (`AppendTimestamp`) |
//!
//! R is the rank in decimal, usually 5 digits. Segments ending in `.gz`, `.zst`, `.xz`,
//! `.bz2` or `.lz4` are compressed and skipped with a warning. A directory without any rank
//! file (files named by a `RANKLOG_FILE` template without `rank-`) is read through its
//! `X.jsonl` files and their segments `X.jsonl.SUFFIX`, the ranks taken from the records.
//!
//! A rank's segments are read oldest first, ordered by the time of their first record, so
//! any rotation naming reads in the right order; segments without a readable record (empty
//! ones) fall back to the names: the highest `N` first, then other suffixes in name order,
//! then the live file.

use std::cmp::Reverse;
use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use super::record;
use super::{AnalyzeError, Warnings};
use crate::schema::{split_rank_file_name, JSONL_EXTENSION as JSONL};

/// Extensions of compressed segments, which are not read.
const COMPRESSED: &[&str] = &[".gz", ".zst", ".xz", ".bz2", ".lz4"];

/// How many lines of a segment are tried to find its first record's time.
const FIRST_RECORD_LINES: usize = 16;

/// One file to read.
#[derive(Clone, Debug)]
pub(crate) struct Segment {
    pub(crate) path: PathBuf,
    pub(crate) bytes: u64,
}

/// What a file name says about the segment's age.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Age {
    /// `rank-R.jsonl.N` or `rank-R.N.jsonl`: older when N is higher.
    Numbered(Reverse<u64>),
    /// `rank-R.jsonl.SUFFIX`: in name order.
    Suffix(String),
    /// `rank-R.jsonl`, the newest.
    Live,
}

/// Segments found so far, by (rank or `u32::MAX`, input index, base name of a file that
/// is not a rank file's).
type Found = BTreeMap<(u32, usize, String), Vec<(Age, Segment)>>;

/// A rank's files, or one file given by path whose name is not a rank file's.
#[derive(Clone, Debug)]
pub(crate) struct Source {
    /// The rank from the file name.
    pub(crate) rank: Option<u32>,
    /// Oldest first.
    pub(crate) segments: Vec<Segment>,
}

/// What a file name says.
#[derive(Debug, PartialEq, Eq)]
enum Name {
    /// A segment of this rank's file.
    Rank(u32, Age),
    /// A segment of another JSONL file (a `RANKLOG_FILE` template without `rank-`):
    /// its base name `X.jsonl`.
    Jsonl(String, Age),
    /// A compressed segment (of this rank's file), which is not read.
    Compressed(Option<u32>),
    /// Anything else.
    Other,
}

/// The age a rotated segment's suffix gives.
fn suffix_age(suffix: &str) -> Age {
    suffix.parse::<u64>().map_or_else(
        |_| Age::Suffix(suffix.to_owned()),
        |n| Age::Numbered(Reverse(n)),
    )
}

fn parse_name(name: &str) -> Name {
    if let Some(rank_name) = parse_rank_name(name) {
        return rank_name;
    }
    if name.starts_with('.') {
        return Name::Other;
    }
    if name.ends_with(JSONL) {
        return Name::Jsonl(name.to_owned(), Age::Live);
    }
    let end = name
        .match_indices(JSONL)
        .map(|(at, _)| at + JSONL.len())
        .find(|&end| name[end..].starts_with('.'));
    let Some(end) = end else {
        return Name::Other;
    };
    let (base, suffix) = (&name[..end], &name[end + 1..]);
    if COMPRESSED.iter().any(|ext| suffix.ends_with(ext)) {
        Name::Compressed(None)
    } else if suffix.is_empty() {
        Name::Other
    } else {
        Name::Jsonl(base.to_owned(), suffix_age(suffix))
    }
}

/// The rank of a live rank file's name (`rank-R.jsonl`), `None` for any other name.
pub(crate) fn live_rank_file(name: &str) -> Option<u32> {
    match parse_rank_name(name)? {
        Name::Rank(rank, Age::Live) => Some(rank),
        _ => None,
    }
}

/// `rank-R.jsonl`, `rank-R.jsonl.SUFFIX`, `rank-R.N.jsonl` ([`split_rank_file_name`]).
fn parse_rank_name(name: &str) -> Option<Name> {
    let (rank, rest) = split_rank_file_name(name)?;
    if rest == JSONL {
        return Some(Name::Rank(rank, Age::Live));
    }
    if let Some(suffix) = rest.strip_prefix(JSONL).and_then(|r| r.strip_prefix('.')) {
        if COMPRESSED.iter().any(|ext| suffix.ends_with(ext)) {
            return Some(Name::Compressed(Some(rank)));
        }
        return (!suffix.is_empty()).then(|| Name::Rank(rank, suffix_age(suffix)));
    }
    let n = rest
        .strip_prefix('.')?
        .strip_suffix(JSONL)?
        .parse::<u64>()
        .ok()?;
    Some(Name::Rank(rank, Age::Numbered(Reverse(n))))
}

/// Finds the rank files of `inputs` (directories, or files given one by one), grouped by
/// rank (per directory) and in reading order. With `keep`, ranks it rejects are left out
/// before any file is opened.
///
/// # Errors
///
/// [`AnalyzeError::NotFound`] for a missing input, [`AnalyzeError::Read`] for a directory
/// that cannot be listed, [`AnalyzeError::NoRankFiles`] when no input holds a rank file.
pub(crate) fn discover(
    inputs: &[PathBuf],
    keep: &dyn Fn(u32) -> bool,
    warnings: &mut Warnings,
) -> Result<Vec<Source>, AnalyzeError> {
    let mut found: Found = BTreeMap::new();
    let mut seen = HashSet::new();
    let mut any_rank_file = false;
    for (index, input) in inputs.iter().enumerate() {
        let meta = fs::metadata(input).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => AnalyzeError::NotFound {
                path: input.clone(),
            },
            _ => AnalyzeError::Read {
                path: input.clone(),
                source,
            },
        })?;
        // A killed rank's records still in its ring go into its file first.
        let recovered = if meta.is_dir() {
            crate::recover(input)
        } else {
            crate::sink::ring::recover::recover_ring(&crate::sink::ring::ring_path(input))
                .map(|r| r.into_iter().collect())
        };
        match recovered {
            Ok(done) => warnings
                .recovered
                .extend(done.into_iter().map(|r| (r.file, r.records))),
            Err(err) => warnings
                .unrecovered
                .push(crate::ErrorChain(&err).to_string()),
        }
        let meta = fs::metadata(input).map_err(|source| AnalyzeError::Read {
            path: input.clone(),
            source,
        })?;
        if !meta.is_dir() {
            let name = input.file_name().map(|n| n.to_string_lossy().into_owned());
            let name = name.unwrap_or_default();
            let segment = Segment {
                path: input.clone(),
                bytes: meta.len(),
            };
            if !seen.insert(canonical(input)) {
                continue;
            }
            any_rank_file = true;
            let dir = input.parent().map(canonical).unwrap_or_default();
            let in_dir = dir_index(inputs, &dir).unwrap_or(index);
            match parse_name(&name) {
                Name::Rank(rank, age) if keep(rank) => {
                    let key = (rank, in_dir, String::new());
                    found.entry(key).or_default().push((age, segment));
                }
                Name::Jsonl(base, age) => {
                    found
                        .entry((u32::MAX, in_dir, base))
                        .or_default()
                        .push((age, segment));
                }
                Name::Compressed(rank) if rank.is_none_or(keep) => {
                    warnings.compressed.push(input.clone())
                }
                Name::Rank(..) | Name::Compressed(_) => {}
                Name::Other => {
                    found.insert((u32::MAX, index, name), vec![(Age::Live, segment)]);
                }
            }
            continue;
        }
        let in_dir = scan_dir(input, index, keep, warnings, &mut seen, &mut found)?;
        if in_dir == 0 {
            warnings.no_rank_files.push(input.clone());
        }
        any_rank_file |= in_dir > 0;
    }
    if !any_rank_file {
        let inputs: Vec<_> = inputs.iter().map(|p| p.display().to_string()).collect();
        return Err(AnalyzeError::NoRankFiles {
            inputs: inputs.join(", "),
        });
    }
    Ok(found
        .into_iter()
        .map(|((rank, _, _), segments)| Source {
            rank: (rank != u32::MAX).then_some(rank),
            segments: in_order(segments),
        })
        .collect())
}

/// The segments of a directory: its rank files or, when it has none (a `RANKLOG_FILE`
/// template without `rank-`), its other `*.jsonl` files, each with its rotated segments.
/// Returns how many files it found.
fn scan_dir(
    dir: &Path,
    index: usize,
    keep: &dyn Fn(u32) -> bool,
    warnings: &mut Warnings,
    seen: &mut HashSet<PathBuf>,
    found: &mut Found,
) -> Result<usize, AnalyzeError> {
    let read_error = |source| AnalyzeError::Read {
        path: dir.to_owned(),
        source,
    };
    let (mut ranked, mut other) = (Vec::new(), Vec::new());
    let (mut compressed_ranked, mut compressed_other) = (Vec::new(), Vec::new());
    for entry in fs::read_dir(dir).map_err(read_error)? {
        let path = entry.map_err(read_error)?.path();
        if !fs::metadata(&path).is_ok_and(|m| m.is_file()) {
            continue;
        }
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        match parse_name(&name.unwrap_or_default()) {
            Name::Rank(rank, age) => ranked.push(((rank, String::new()), age, path)),
            Name::Jsonl(base, age) => other.push(((u32::MAX, base), age, path)),
            Name::Compressed(Some(rank)) if keep(rank) => compressed_ranked.push(path),
            Name::Compressed(None) => compressed_other.push(path),
            Name::Compressed(_) | Name::Other => {}
        }
    }
    let (files, compressed) = if ranked.is_empty() {
        (other, compressed_other)
    } else {
        (ranked, compressed_ranked)
    };
    warnings.compressed.extend(compressed);
    let count = files.len();
    for ((rank, base), age, path) in files {
        if (rank != u32::MAX && !keep(rank)) || !seen.insert(canonical(&path)) {
            continue;
        }
        let bytes = fs::metadata(&path).map_or(0, |m| m.len());
        let segment = Segment { path, bytes };
        found
            .entry((rank, index, base))
            .or_default()
            .push((age, segment));
    }
    Ok(count)
}

/// The index of the input that is directory `dir`, if one is.
fn dir_index(inputs: &[PathBuf], dir: &Path) -> Option<usize> {
    inputs.iter().position(|input| canonical(input) == dir)
}

fn canonical(path: &Path) -> PathBuf {
    fs::canonicalize(path).unwrap_or_else(|_| path.to_owned())
}

/// A rank's segments, oldest first: by the time of their first record, then by name.
fn in_order(mut segments: Vec<(Age, Segment)>) -> Vec<Segment> {
    if segments.len() > 1 {
        let mut keyed: Vec<_> = segments
            .drain(..)
            .map(|(age, seg)| ((first_record_us(&seg.path), age), seg))
            .collect();
        keyed.sort_by(|a, b| a.0.cmp(&b.0));
        return keyed.into_iter().map(|(_, seg)| seg).collect();
    }
    segments.into_iter().map(|(_, seg)| seg).collect()
}

/// The time of the first record among a segment's first lines; `None` when there is none.
fn first_record_us(path: &Path) -> Option<i64> {
    let reader = BufReader::new(File::open(path).ok()?);
    reader
        .split(b'\n')
        .take(FIRST_RECORD_LINES)
        .map_while(Result::ok)
        .find_map(|line| record::timestamp_of(&line))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rank_file_names_give_rank_and_age() {
        assert_eq!(parse_name("rank-00003.jsonl"), Name::Rank(3, Age::Live));
        assert_eq!(
            parse_name("rank-123456.jsonl"),
            Name::Rank(123_456, Age::Live)
        );
        assert_eq!(
            parse_name("rank-00003.jsonl.2"),
            Name::Rank(3, Age::Numbered(Reverse(2)))
        );
        assert_eq!(
            parse_name("rank-00003.7.jsonl"),
            Name::Rank(3, Age::Numbered(Reverse(7)))
        );
        assert_eq!(
            parse_name("rank-00003.jsonl.2026-11-21"),
            Name::Rank(3, Age::Suffix("2026-11-21".into()))
        );
        assert_eq!(
            parse_name("rank-00003.jsonl.1.gz"),
            Name::Compressed(Some(3))
        );
        assert_eq!(
            parse_name("job7-node-a.jsonl.2"),
            Name::Jsonl("job7-node-a.jsonl".into(), Age::Numbered(Reverse(2)))
        );
        assert_eq!(
            parse_name("job7-node-a.jsonl"),
            Name::Jsonl("job7-node-a.jsonl".into(), Age::Live)
        );
        assert_eq!(parse_name("job7.jsonl.1.zst"), Name::Compressed(None));
        for other in [
            "console.log",
            "rank-3.json",
            "rank-3.jsonl.",
            ".rank-3.jsonl.swp",
        ] {
            assert_eq!(parse_name(other), Name::Other, "{other}");
        }
    }

    #[test]
    fn segments_are_ordered_by_their_first_record_whatever_their_names() {
        let dir = std::env::temp_dir().join(format!("ranklog-inputs-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let line = |s: u32| {
            format!("{{\"v\":1,\"ts\":\"2026-11-21T04:00:0{s}.000000Z\",\"level\":\"info\"}}\n")
        };
        // Named as if .1 were older than .2, against the convention; the contents decide.
        fs::write(dir.join("rank-00007.jsonl.1"), line(1)).unwrap();
        fs::write(dir.join("rank-00007.jsonl.2"), line(2)).unwrap();
        fs::write(dir.join("rank-00007.jsonl"), line(3)).unwrap();
        fs::write(dir.join("rank-00007.jsonl.3"), "").unwrap();
        fs::write(dir.join("notes.txt"), "x").unwrap();
        let mut warnings = Warnings::default();
        let sources = discover(std::slice::from_ref(&dir), &|_| true, &mut warnings).unwrap();
        assert_eq!(sources.len(), 1);
        assert_eq!(sources[0].rank, Some(7));
        let names: Vec<_> = sources[0]
            .segments
            .iter()
            .map(|s| s.path.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            [
                "rank-00007.jsonl.3",
                "rank-00007.jsonl.1",
                "rank-00007.jsonl.2",
                "rank-00007.jsonl"
            ]
        );
        let none = discover(std::slice::from_ref(&dir), &|rank| rank != 7, &mut warnings).unwrap();
        assert!(none.is_empty(), "a rejected rank is never opened");
        assert!(warnings.is_empty());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn without_rank_files_a_directory_is_read_through_its_jsonl_files() {
        let dir = std::env::temp_dir().join(format!("ranklog-template-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        for name in [
            "job7-a.jsonl",
            "job7-a.jsonl.1",
            "job7-b.jsonl",
            "notes.txt",
        ] {
            fs::write(dir.join(name), "").unwrap();
        }
        let mut warnings = Warnings::default();
        let sources = discover(std::slice::from_ref(&dir), &|_| true, &mut warnings).unwrap();
        let segments: Vec<usize> = sources.iter().map(|s| s.segments.len()).collect();
        assert_eq!(segments, [2, 1]);
        assert!(sources.iter().all(|s| s.rank.is_none()));
        fs::write(dir.join("rank-00000.jsonl"), "").unwrap();
        let sources = discover(std::slice::from_ref(&dir), &|_| true, &mut warnings).unwrap();
        assert_eq!(
            sources.len(),
            1,
            "beside rank files, other JSONL files are not logs"
        );
        assert_eq!(sources[0].rank, Some(0));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn by_name_the_highest_number_is_oldest_and_the_live_file_newest() {
        let mut ages = vec![
            Age::Live,
            Age::Numbered(Reverse(1)),
            Age::Suffix("b".into()),
            Age::Numbered(Reverse(3)),
        ];
        ages.sort();
        assert_eq!(
            ages,
            [
                Age::Numbered(Reverse(3)),
                Age::Numbered(Reverse(1)),
                Age::Suffix("b".into()),
                Age::Live
            ]
        );
    }
}
