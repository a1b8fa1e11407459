//! The contract between the writer and the reader of the per-rank JSONL files
//! (`docs/schema.md`): the schema version, the fields every record has, the level names and
//! the files' default name. The sinks write by it and `analyze` reads by it; neither keeps
//! a copy.

use std::fmt::Write as _;

use slog::Level;

/// The version of the JSONL schema (`docs/schema.md`) this build writes, in every record's
/// `"v"` field. Readers should warn about records with a newer version.
pub const SCHEMA_VERSION: u32 = 1;

/// Fields every record has (`docs/schema.md`); a key-value with one of these names is
/// written as `kv.<name>`. The reader (`analyze`) uses the same list.
pub(crate) const RESERVED: &[&str] = &[
    "v",
    "ts",
    "level",
    "msg",
    "rank",
    "size",
    "local_rank",
    "local_size",
    "host",
    "pid",
    "scope",
    "module",
    "file",
    "line",
];

/// The level named `name`: the names files use (`critical`, `error`, `warning`, `info`,
/// `debug`, `trace`), in any case, and slog's short ones (`crit`, `warn`). `None` for
/// anything else. One parser for `RANKLOG_LEVEL`, the files and the `ranklog` command.
pub(crate) fn level_from_name(name: &str) -> Option<Level> {
    let level = match name {
        "info" => Level::Info,
        "debug" => Level::Debug,
        "warning" => Level::Warning,
        "error" => Level::Error,
        "trace" => Level::Trace,
        "critical" => Level::Critical,
        // Not the exact lowercase name: the rarer path, with an allocation.
        _ => match name.to_ascii_lowercase().as_str() {
            "info" => Level::Info,
            "debug" => Level::Debug,
            "warning" | "warn" => Level::Warning,
            "error" => Level::Error,
            "trace" => Level::Trace,
            "critical" | "crit" => Level::Critical,
            _ => return None,
        },
    };
    Some(level)
}

/// Every level, from the most severe: slog's `Level::as_usize` 1 (critical) to 6 (trace).
pub(crate) const LEVELS: [Level; 6] = [
    Level::Critical,
    Level::Error,
    Level::Warning,
    Level::Info,
    Level::Debug,
    Level::Trace,
];

/// The lowercase level name used in files and in `RANKLOG_LEVEL`.
pub(crate) fn level_name(level: Level) -> &'static str {
    match level {
        Level::Critical => "critical",
        Level::Error => "error",
        Level::Warning => "warning",
        Level::Info => "info",
        Level::Debug => "debug",
        Level::Trace => "trace",
    }
}

/// `"console" => false` on a record (or its logger) keeps it off the console: it goes to
/// the files only, e.g. per-GPU samples summed up by one console line.
pub const CONSOLE_KEY: &str = "console";

/// The default name of a rank's file in the log directory (`RANKLOG_FILE`): `{rank}` is
/// the rank as [`write_file_rank`] writes it, so rank 3 writes `rank-00003.jsonl`. The
/// reader finds these files, and their rotated segments, by [`split_rank_file_name`].
pub(crate) const DEFAULT_FILE_TEMPLATE: &str = "rank-{rank}.jsonl";

/// What a rank file's name starts with, before the rank.
#[cfg(feature = "cli")]
const RANK_FILE_PREFIX: &str = "rank-";

/// Digits of the rank in file names, zero-padded: `00003`. Larger ranks take more.
const RANK_DIGITS: usize = 5;

/// The files' extension. A rotated segment keeps it before its suffix (`rank-00003.jsonl.1`)
/// or after its number (`rank-00003.1.jsonl`).
#[cfg(feature = "cli")]
pub(crate) const JSONL_EXTENSION: &str = ".jsonl";

/// Appends `rank` as `{rank}` expands in a file name: zero-padded to 5 digits (`00003`).
pub(crate) fn write_file_rank(out: &mut String, rank: u32) {
    let _ = write!(out, "{rank:0width$}", width = RANK_DIGITS);
}

/// The rank of a file named like a rank file, `rank-` then the rank in decimal (any number
/// of digits), and the rest of the name after the digits: `rank-00003.jsonl.1` gives
/// `(3, ".jsonl.1")`. `None` for any other name.
#[cfg(feature = "cli")]
pub(crate) fn split_rank_file_name(name: &str) -> Option<(u32, &str)> {
    let rest = name.strip_prefix(RANK_FILE_PREFIX)?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let rank = rest[..digits].parse::<u32>().ok()?;
    Some((rank, &rest[digits..]))
}

#[cfg(all(test, feature = "cli"))]
mod tests {
    use super::*;

    #[test]
    fn the_default_file_name_reads_back_as_its_rank() {
        let mut name = DEFAULT_FILE_TEMPLATE.replace("{rank}", "");
        assert_eq!(name, format!("{RANK_FILE_PREFIX}{JSONL_EXTENSION}"));
        name.clear();
        name.push_str(RANK_FILE_PREFIX);
        write_file_rank(&mut name, 3);
        name.push_str(JSONL_EXTENSION);
        assert_eq!(name, "rank-00003.jsonl");
        assert_eq!(split_rank_file_name(&name), Some((3, JSONL_EXTENSION)));
        assert_eq!(
            split_rank_file_name("rank-123456.7.jsonl"),
            Some((123_456, ".7.jsonl"))
        );
        for other in ["rank-.jsonl", "ranks-1.jsonl", "rank-99999999999.jsonl"] {
            assert_eq!(split_rank_file_name(other), None, "{other}");
        }
    }
}

/// The `file` of ranklog's own records (the job's first record, reports, GPU lines), in
/// the console line (`ranklog:212`) and the JSONL `file` field: never a path into
/// ranklog's sources, which as a dependency is an absolute path into the cargo registry.
pub(crate) const OWN_FILE: &str = "ranklog";

/// Records per level: what a rank wrote ([`LogStats`](crate::LogStats)) and what
/// `ranklog summary` counts in the files.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LevelCounts {
    /// `critical` records.
    pub critical: u64,
    /// `error` records.
    pub error: u64,
    /// `warning` records.
    pub warning: u64,
    /// `info` records.
    pub info: u64,
    /// `debug` records.
    pub debug: u64,
    /// `trace` records.
    pub trace: u64,
}

impl LevelCounts {
    /// Counts one record of `level`.
    pub fn add(&mut self, level: Level) {
        let n = match level {
            Level::Critical => &mut self.critical,
            Level::Error => &mut self.error,
            Level::Warning => &mut self.warning,
            Level::Info => &mut self.info,
            Level::Debug => &mut self.debug,
            Level::Trace => &mut self.trace,
        };
        *n += 1;
    }

    /// Every record counted.
    pub fn total(&self) -> u64 {
        self.critical + self.error + self.warning + self.info + self.debug + self.trace
    }

    /// Records of `level`.
    pub fn at(&self, level: Level) -> u64 {
        match level {
            Level::Critical => self.critical,
            Level::Error => self.error,
            Level::Warning => self.warning,
            Level::Info => self.info,
            Level::Debug => self.debug,
            Level::Trace => self.trace,
        }
    }
}
