//! Reading a job's per-rank JSONL files back: merge, collapse, summary and plot (feature
//! `cli`). The `ranklog` command is a thin front end over this module; `docs/cli.md`
//! describes the command.
//!
//! # Input files
//!
//! Every input is a directory holding a job's rank files (non-recursive), or one file.
//! A file belongs to rank R when its name is one of:
//!
//! | name | what |
//! | --- | --- |
//! | `rank-R.jsonl` | the live file, newest |
//! | `rank-R.jsonl.N` | a rotated segment: `N` = 1, 2, ...; a higher `N` is older (logrotate, file-rotate's `AppendCount`) |
//! | `rank-R.N.jsonl` | a rotated segment, numbered the same way |
//! | `rank-R.jsonl.SUFFIX` | a rotated segment with another suffix, e.g. a date |
//!
//! R is the rank in decimal (the writer uses 5 digits). A rank's segments are read oldest
//! first, in the order of their first records' times, so any naming reads in order;
//! segments without a record fall back to the names (highest `N` first, the live file
//! last). Compressed segments (`.gz`, `.zst`, `.xz`, `.bz2`, `.lz4`) are skipped with a
//! warning. A directory without any rank file (names from a `RANKLOG_FILE` template
//! without `rank-`) is read through its `X.jsonl` files, each with its segments
//! `X.jsonl.SUFFIX`, the ranks taken from the records. A file given by path whose name is
//! not a rank file's is read as one more stream, its rank taken from its records.
//!
//! # Damage
//!
//! A truncated last line (a rank killed mid-write), a line that is not a record, invalid
//! UTF-8, or a record of a newer schema version (`v` above [`crate::SCHEMA_VERSION`]) is
//! counted in [`Warnings`] and reading goes on: print [`Warnings::messages`] once at the
//! end. Unknown fields are kept as key-values. Missing inputs and directories without
//! rank files are [`AnalyzeError`]s.
//!
//! # Examples
//!
//! ```no_run
//! use ranklog::analyze::{print_merged, Merge, MergeOptions};
//!
//! let mut merge = Merge::open(&["logs/job-17".into()], &|_rank| true)?;
//! let mut options = MergeOptions::default();
//! options.collapse_window_us = Some(1_000_000);
//! print_merged(&mut merge, &options, &mut std::io::stdout().lock(), &mut |_| {})?;
//! for warning in merge.warnings().messages() {
//!     eprintln!("warning: {warning}");
//! }
//! # Ok::<(), ranklog::analyze::AnalyzeError>(())
//! ```

mod collapse;
mod console;
mod error;
mod filter;
mod follow;
mod gpu;
mod identity;
mod inputs;
mod merge;
mod open_groups;
mod parsed;
mod plot;
mod prefetch;
mod print;
mod read_ahead;
mod reader;
mod record;
mod summary;
mod time;
mod warnings;

pub use error::AnalyzeError;
pub use filter::{Filter, RankSet, TimeBound};
pub use follow::{FollowOptions, FollowStats, Follower};
pub use merge::{Merge, MergedLine, Progress};
pub use plot::{plot, PlotOptions, PlotReport};
pub use print::{print_merged, MergeOptions, MergeStats};
pub use record::{parse_level, Record, Value};
pub use summary::{
    percentile, summarize, GpuSummary, InferenceSummary, JobSummary, LevelCounts, LoadSummary,
    LogStatsSummary, RankSummary, Straggler, StragglerKind, Summary, SummaryOptions,
};
pub use time::{parse_duration_us, TimeZoneChoice};
pub use warnings::Warnings;
