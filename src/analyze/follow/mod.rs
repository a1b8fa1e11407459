//! The live view of a running job (`ranklog run`, `ranklog merge --follow`): every rank's
//! file followed as it grows, records from several ranks collapsed into one line as
//! `merge --collapse` does, ranks that went quiet and ranks without a file named.
//!
//! Every rank's file keeps every record; the view takes from each rank only those its
//! console would have printed (`global` from rank 0, `local` from each node's first rank,
//! `ranks:LIST` from the listed ranks, errors from all: `console_scope`).
//!
//! # Timing
//!
//! A record is shown at most [`FollowOptions::window`] after it is read (default 1 s: long
//! enough for the ranks of a job doing the same step to log it, short enough to read as
//! live; Ray and Monarch wait 5 s, which reads as a stall), sooner when every rank of the
//! job has logged it. Ranks that had not logged it by then are named
//! (`[ranks 0-16,18-63 of 64, missing 17]`) and their record, when it comes, gets a
//! follow-up line (`[rank 17, 41.2 s later]`). Errors and warnings are held no longer than
//! other records.
//!
//! # Examples
//!
//! ```no_run
//! use ranklog::analyze::{FollowOptions, Follower};
//!
//! let mut follower = Follower::new("logs/job-17".as_ref(), FollowOptions::default());
//! let mut out = std::io::stdout();
//! for _ in 0..100 {
//!     follower.poll(&mut out)?;
//!     std::thread::sleep(follower.poll_interval());
//! }
//! follower.finish(&mut out)?;
//! # Ok::<(), ranklog::analyze::AnalyzeError>(())
//! ```

mod console_scope;
mod live;
mod ranks;
mod tail;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use self::live::{LiveCollapser, Shown};
use self::ranks::RankWatch;
use self::tail::Tail;
use super::console::LineFormat;
use super::inputs::live_rank_file;
use super::parsed::{Item, ParsedBatch};
use super::print::write_group;
use super::{AnalyzeError, Filter, TimeZoneChoice, Warnings};
use crate::sink::console::Tag;

/// How often the files are read, and the due groups shown.
const POLL: Duration = Duration::from_millis(100);
/// How often the directory is listed for new rank files.
const LIST_EVERY: Duration = Duration::from_millis(500);
/// Bytes read from one file before the next file's turn: a backlog (a job followed late,
/// or a burst) is read a slice of every rank at a time, so that the ranks' records of the
/// same step meet within the groups held, and the output goes out as it is made.
const TURN_BYTES: usize = 64 * 1024;
/// Bytes of lines read before they are parsed and shown, within a round of the files.
const BATCH_BYTES: usize = 4 << 20;
/// Lines at which a batch is scanned partly on a second thread: a backlog or a burst.
const PARALLEL_LINES: usize = 512;
/// This thread scans the first quarter of such a batch and the second thread the rest:
/// this one also collapses and shows every record (about as much work again as scanning
/// it: `docs/cli.md`, "Performance").
const KEEP_PART: usize = 4;

/// How the live view groups and warns (`ranklog run` and `merge --follow` options).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct FollowOptions {
    /// Longest time a record waits for the other ranks' before it is shown
    /// (`--window`, default 1 s).
    pub window: Duration,
    /// A rank silent this long while others log is named quiet, and ranks of the job
    /// without a file this long after the start are named missing (`--quiet-after`,
    /// default 60 s).
    pub quiet_after: Duration,
    /// The clock of the lines.
    pub time_zone: TimeZoneChoice,
    /// Colour the lines with ANSI escapes.
    pub color: bool,
}

impl Default for FollowOptions {
    fn default() -> Self {
        FollowOptions {
            window: Duration::from_secs(1),
            quiet_after: Duration::from_secs(60),
            time_zone: TimeZoneChoice::Local,
            color: false,
        }
    }
}

/// What a live view read and printed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FollowStats {
    /// Records read from the files.
    pub records: u64,
    /// Lines printed for them (groups and late follow-ups).
    pub lines: u64,
    /// Rank files followed.
    pub files: usize,
}

/// The live, collapsed view of the rank files in one directory.
///
/// Call [`poll`](Self::poll) every [`poll_interval`](Self::poll_interval) while the job
/// runs, then [`finish`](Self::finish) once it has ended. Memory: one read buffer per rank
/// file while it grows, and the groups of one window.
pub struct Follower {
    dir: PathBuf,
    dir_shown: String,
    options: FollowOptions,
    tails: BTreeMap<u32, Tail>,
    listed: Option<Instant>,
    collapser: LiveCollapser,
    watch: RankWatch,
    format: LineFormat,
    scratch: String,
    damage: Warnings,
    /// Lines read and not yet scanned, and the part of them a second thread scans.
    batch: ParsedBatch,
    helper: ParsedBatch,
    /// Cores of the machine: one parses alone.
    cores: usize,
    out: Vec<u8>,
    stats: FollowStats,
}

impl Follower {
    /// Follows the rank files (`rank-R.jsonl`) of `dir`, those there now and those that
    /// appear later, from their start. The directory need not exist yet.
    pub fn new(dir: &Path, options: FollowOptions) -> Follower {
        let now = Instant::now();
        Follower {
            dir: dir.to_owned(),
            dir_shown: dir.display().to_string(),
            collapser: LiveCollapser::new(options.window),
            watch: RankWatch::new(options.quiet_after, now),
            format: LineFormat::new(options.time_zone, options.color),
            options,
            tails: BTreeMap::new(),
            listed: None,
            scratch: String::new(),
            damage: Warnings::default(),
            batch: ParsedBatch::default(),
            helper: ParsedBatch::default(),
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            out: Vec::new(),
            stats: FollowStats::default(),
        }
    }

    /// How long to wait between two calls to [`poll`](Self::poll).
    pub fn poll_interval(&self) -> Duration {
        POLL
    }

    /// Reads what the ranks wrote since the last call and writes to `out` the lines that
    /// are due: groups whose ranks are all in or whose window has passed, late follow-ups,
    /// and notices of quiet ranks and missing files.
    ///
    /// # Errors
    ///
    /// [`AnalyzeError::Read`] when the directory cannot be listed or a file cannot be read,
    /// [`AnalyzeError::Output`] when `out` cannot be written.
    pub fn poll(&mut self, out: &mut dyn Write) -> Result<(), AnalyzeError> {
        let now = Instant::now();
        if self
            .listed
            .is_none_or(|t| now.duration_since(t) >= LIST_EVERY)
        {
            self.list()?;
            self.listed = Some(now);
        }
        self.read_all(out)?;
        let tails = &self.tails;
        let notices = self.watch.check(
            now,
            &|r| tails.contains_key(&r),
            &self.dir_shown,
            self.options.time_zone,
        );
        for notice in notices {
            self.out.extend_from_slice(notice.as_bytes());
            self.out.push(b'\n');
        }
        self.write(out)
    }

    /// Reads the files to their end, shows every group still waiting, names the ranks of
    /// the job that never wrote a file, and says what was wrong with the files.
    ///
    /// # Errors
    ///
    /// As [`poll`](Self::poll).
    pub fn finish(&mut self, out: &mut dyn Write) -> Result<FollowStats, AnalyzeError> {
        self.list()?;
        self.read_all(out)?;
        let (collapser, buf) = (&mut self.collapser, &mut self.out);
        let (format, stats) = (&mut self.format, &mut self.stats);
        collapser.finish(&mut |s| render(buf, format, s, stats));
        let tails = &self.tails;
        if let Some(notice) = self
            .watch
            .missing_files(&|r| tails.contains_key(&r), &self.dir_shown)
        {
            self.out.extend_from_slice(notice.as_bytes());
            self.out.push(b'\n');
        }
        for message in self.damage.messages() {
            self.out.extend_from_slice(b"ranklog: warning: ");
            self.out.extend_from_slice(message.as_bytes());
            self.out.push(b'\n');
        }
        self.damage = Warnings::default();
        self.write(out)?;
        self.stats.files = self.tails.len();
        Ok(self.stats)
    }

    /// The job's world size, once a record has said it.
    pub fn world_size(&self) -> Option<u32> {
        self.watch.size()
    }

    fn write(&mut self, out: &mut dyn Write) -> Result<(), AnalyzeError> {
        if !self.out.is_empty() {
            out.write_all(&self.out).map_err(AnalyzeError::Output)?;
            out.flush().map_err(AnalyzeError::Output)?;
            self.out.clear();
        }
        Ok(())
    }

    /// Starts following rank files that appeared.
    fn list(&mut self) -> Result<(), AnalyzeError> {
        let read_error = |source| AnalyzeError::Read {
            path: self.dir.clone(),
            source,
        };
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(err) => return Err(read_error(err)),
        };
        for entry in entries {
            let entry = entry.map_err(read_error)?;
            let name = entry.file_name();
            let Some(rank) = name.to_str().and_then(live_rank_file) else {
                continue;
            };
            self.tails
                .entry(rank)
                .or_insert_with(|| Tail::new(rank, entry.path()));
        }
        Ok(())
    }

    /// Reads every file's new lines into the collapser, a turn of each file at a time,
    /// writing to `out` what is due after each round.
    fn read_all(&mut self, out: &mut dyn Write) -> Result<(), AnalyzeError> {
        loop {
            let now = Instant::now();
            let more = self.read_round(now)?;
            let (collapser, buf) = (&mut self.collapser, &mut self.out);
            let (format, stats) = (&mut self.format, &mut self.stats);
            collapser.show_due(now, &mut |s| render(buf, format, s, stats));
            self.write(out)?;
            if !more {
                return Ok(());
            }
        }
    }

    /// One turn of every file; `true` when some file has more to read. The lines are
    /// parsed [`BATCH_BYTES`] at a time, then taken in file order.
    fn read_round(&mut self, now: Instant) -> Result<bool, AnalyzeError> {
        let mut more = false;
        let mut failed = None;
        let ranks: Vec<u32> = self.tails.keys().copied().collect();
        for key in ranks {
            let Some(tail) = self.tails.get_mut(&key) else {
                continue;
            };
            let file_rank = tail.rank;
            let batch = &mut self.batch;
            match tail.read_new(TURN_BYTES, &mut |line| batch.push(line, Some(file_rank))) {
                Ok(has_more) => more |= has_more,
                Err(source) => {
                    let path = self.dir.join(format!("rank-{file_rank:05}.jsonl"));
                    failed = Some(AnalyzeError::Read { path, source });
                    break;
                }
            }
            if self.batch.bytes() >= BATCH_BYTES {
                self.take_batch(now);
            }
        }
        self.take_batch(now);
        failed.map_or(Ok(more), Err)
    }

    /// Scans the lines read and hands their records to the rank watch and the collapser
    /// in order. When they are many and there is a second core, a second thread scans
    /// the later three quarters while this one scans and takes the first quarter.
    fn take_batch(&mut self, now: Instant) {
        let filter = Filter::default();
        let parallel = self.batch.len() >= PARALLEL_LINES && self.cores > 1;
        if parallel {
            self.batch.split_into(&mut self.helper, KEEP_PART);
        }
        let (batch, helper) = (&mut self.batch, &mut self.helper);
        let (scratch, damage) = (&mut self.scratch, &mut self.damage);
        let (collapser, watch, buf) = (&mut self.collapser, &mut self.watch, &mut self.out);
        let (format, stats) = (&mut self.format, &mut self.stats);
        stats.records += (batch.len() + helper.len()) as u64;
        // The live view shows groups within a window of arrival, not thousands at once: it has
        // few groups open and asks for none of their memory ahead.
        let mut each = |rec: Item<'_>, rank: Option<u32>, _ahead| {
            // The record's rank, else its file's: always known here.
            if let Some(rank) = rank {
                if let Some(notice) = watch.record(rank, &rec, now) {
                    buf.extend_from_slice(notice.as_bytes());
                    buf.push(b'\n');
                }
                let Some(expected) = console_scope::shown_by(&rec, rank) else {
                    return Ok(());
                };
                collapser.push(&rec, Some(rank), expected, now, &mut |s| {
                    render(buf, format, s, stats)
                });
            }
            Ok::<(), ()>(())
        };
        std::thread::scope(|scope| {
            if parallel {
                let (filter, helper) = (&filter, &mut *helper);
                scope.spawn(move || helper.parse(filter));
            }
            batch.parse(&filter);
            let _ = batch.for_each_item(&filter, scratch, damage, &mut each);
        });
        let _ = helper.for_each_item(&filter, scratch, damage, &mut each);
        batch.clear();
        helper.clear();
    }
}

/// Appends the line of a group or a late follow-up to `buf`.
fn render(buf: &mut Vec<u8>, format: &mut LineFormat, shown: Shown, stats: &mut FollowStats) {
    stats.lines += 1;
    match shown {
        Shown::Group(group) => write_group(buf, format, &group, false),
        Shown::Late { rec, rank, late_us } => {
            let tag = format!("[rank {rank}, {:.1} s later]", late_us as f64 / 1e6);
            format.head(buf, &rec, Tag::Text(&tag));
            for (key, value) in &rec.fields {
                format.field(buf, key, value);
            }
            format.tail(buf, &rec);
        }
    }
}
