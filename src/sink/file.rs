//! The per-rank JSONL file: safe creation, rotation (file-rotate), and write errors that
//! never stop the job.

use std::fs::{DirBuilder, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use file_rotate::compression::Compression;
use file_rotate::suffix::{AppendCount, AppendTimestamp, FileLimit};
use file_rotate::{ContentLimit, FileRotate, TimeFrequency};

use super::json::JsonFormat;
use super::record::Collected;
use crate::schema::{self, DEFAULT_FILE_TEMPLATE};
use crate::{Error, RankInfo, Result};

/// Formatted records are collected up to about this many bytes before one `write(2)`; the
/// writer thread also writes them out whenever the queue runs empty.
const BUFFER_BYTES: usize = 64 * 1024;

/// How often, at most, a failing file is reported on stderr after its first error.
const REPORT_EVERY: Duration = Duration::from_secs(60);

/// Local midnight always falls on a UTC quarter hour (every time zone's offset is a whole
/// number of quarter hours), so a daily rotation can only happen in the first write of one.
const QUARTER_HOUR_SECS: u64 = 15 * 60;

/// When the file is cut into segments.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rotation {
    /// One file, never cut.
    #[default]
    Never,
    /// A new segment once the current one has passed this many bytes (records are never
    /// split): `rank-00000.jsonl.1` is the newest old segment, `.2` the one before, ...
    Bytes(u64),
    /// A new segment at the first record of each local day: old segments end in the time
    /// they were cut, `rank-00000.jsonl.20261121T000000`, which sorts in time order.
    Daily,
}

/// Where and how the per-rank file is written.
#[derive(Clone, Debug)]
pub(crate) struct FileOptions {
    /// File name, with `{rank}` (5 digits, [`schema::write_file_rank`]), `{local_rank}`,
    /// `{host}` and `{job}`; [`DEFAULT_FILE_TEMPLATE`] by default.
    pub(crate) template: String,
    pub(crate) rotation: Rotation,
    /// Old segments kept besides the current file.
    pub(crate) keep: usize,
    /// Permission bits of a new file.
    pub(crate) file_mode: u32,
    /// Permission bits of new directories.
    pub(crate) dir_mode: u32,
}

impl Default for FileOptions {
    fn default() -> Self {
        FileOptions {
            template: DEFAULT_FILE_TEMPLATE.to_owned(),
            rotation: Rotation::Never,
            keep: 10,
            file_mode: 0o640,
            dir_mode: 0o750,
        }
    }
}

/// Keeps what cannot name a file in one directory: letters, digits, `.`, `_`, `-` (and no
/// leading `.`).
fn sanitize(text: &str) -> String {
    let mut out: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.starts_with('.') || out.is_empty() {
        out.insert(0, '_');
    }
    out
}

/// The job's id from the launcher, for `{job}`: Slurm, LSF, Flux, PBS, torchrun, PMIx.
pub(crate) fn job_id() -> String {
    const VARS: [&str; 6] = [
        "SLURM_JOB_ID",
        "LSB_JOBID",
        "FLUX_JOB_ID",
        "PBS_JOBID",
        "TORCHELASTIC_RUN_ID",
        "PMIX_NAMESPACE",
    ];
    VARS.iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .map_or_else(|| "nojob".to_owned(), |id| sanitize(&id))
}

/// Expands a file-name template for `info`.
///
/// # Errors
///
/// Why the template is refused: a placeholder other than `{rank}`, `{local_rank}`,
/// `{host}` and `{job}`, an unclosed `{`, a `/`, or a name that is empty, `.` or `..`: a
/// template can only name a file inside the log directory.
pub(crate) fn expand(template: &str, info: &RankInfo) -> Result<String, String> {
    let bad = |why: &str| why.to_owned();
    if template.contains('/') || template.contains('\0') {
        return Err(bad("a file name, not a path: no '/'"));
    }
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}').ok_or_else(|| bad("unclosed '{'"))?;
        match &rest[open + 1..open + close] {
            "rank" => schema::write_file_rank(&mut out, info.rank),
            "local_rank" if info.local_known => out.push_str(&info.local_rank.to_string()),
            "local_rank" => out.push('x'),
            "host" => out.push_str(&sanitize(&info.host)),
            "job" => out.push_str(&job_id()),
            _ => {
                return Err(bad(
                    "placeholders are {rank}, {local_rank}, {host} and {job}",
                ))
            }
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    if out.is_empty() || out == "." || out == ".." {
        return Err(bad("names no file"));
    }
    Ok(out)
}

/// The path of the JSONL file of the rank `info` describes in `dir`.
///
/// # Errors
///
/// The template's [`Error::InvalidVar`] (naming `RANKLOG_FILE`).
pub(crate) fn file_path(dir: &Path, info: &RankInfo, opts: &FileOptions) -> Result<PathBuf> {
    let name = expand(&opts.template, info)
        .map_err(|reason| Error::invalid("RANKLOG_FILE", &opts.template, reason))?;
    Ok(dir.join(name))
}

/// Checks a template without a rank to expand it for.
///
/// # Errors
///
/// As [`expand`].
pub(crate) fn check_template(template: &str) -> Result<(), String> {
    expand(template, &RankInfo::single()).map(drop)
}

/// The options every file of ranklog is opened with: created with `mode`, appended to,
/// never through a symbolic link at the last path component (`O_NOFOLLOW`).
fn open_options(mode: u32) -> OpenOptions {
    let mut o = OpenOptions::new();
    o.read(true)
        .create(true)
        .append(true)
        .mode(mode)
        .custom_flags(libc::O_NOFOLLOW);
    o
}

/// The sink behind the file: plain, or rotated by file-rotate.
enum Out {
    Plain(std::fs::File),
    BySize(FileRotate<AppendCount>),
    Daily(FileRotate<AppendTimestamp>),
    /// A rotated file that could not be opened again after a segment was cut: file-rotate
    /// then has no file and drops every write while returning `Ok`, so ranklog stops
    /// writing through it and opens the file anew before the next write
    /// ([`JsonFile::reopen`]).
    Closed,
    /// For tests: a writer that fails on demand.
    #[cfg(test)]
    Test(Box<dyn Write + Send>),
}

impl Out {
    /// The file of `plain`, opened at `path`, as `opts` writes it: as it is, or handed over
    /// to file-rotate, which opens `path` again itself.
    fn new(plain: std::fs::File, path: &Path, opts: &FileOptions) -> Out {
        match opts.rotation {
            Rotation::Never => Out::Plain(plain),
            Rotation::Bytes(bytes) => Out::BySize(FileRotate::new(
                path,
                AppendCount::new(opts.keep),
                ContentLimit::BytesSurpassed(usize::try_from(bytes).unwrap_or(usize::MAX).max(1)),
                Compression::None,
                Some(open_options(opts.file_mode)),
            )),
            Rotation::Daily => Out::Daily(FileRotate::new(
                path,
                AppendTimestamp::default(FileLimit::MaxFiles(opts.keep)),
                ContentLimit::Time(TimeFrequency::Daily),
                Compression::None,
                Some(open_options(opts.file_mode)),
            )),
        }
    }

    fn writer(&mut self) -> io::Result<&mut dyn Write> {
        match self {
            Out::Plain(f) => Ok(f),
            Out::BySize(f) => Ok(f),
            Out::Daily(f) => Ok(f),
            Out::Closed => Err(io::Error::other("the file is not open")),
            #[cfg(test)]
            Out::Test(w) => Ok(w),
        }
    }

    /// Whether file-rotate writes this file (and may fail to reopen it unseen).
    fn rotates(&self) -> bool {
        matches!(self, Out::BySize(_) | Out::Daily(_))
    }
}

/// A write that did not land whole.
struct Failure {
    err: io::Error,
    /// Whether part of a line may have reached the file.
    torn: bool,
}

/// Counts and reports write failures: one line on stderr at the first, then at most one a
/// minute, one when writing works again, and the total at the end.
#[derive(Default)]
struct Health {
    lost: u64,
    lost_since_report: u64,
    last_report: Option<Instant>,
    failing: bool,
    /// A failed write may have left part of a line: end it before the next record.
    torn: bool,
    /// Bytes of records written successfully, all segments together.
    bytes: u64,
}

/// The per-rank JSONL file.
pub(crate) struct JsonFile {
    path: PathBuf,
    /// How the file was opened, to open it again after a failed reopen.
    opts: FileOptions,
    out: Out,
    format: JsonFormat,
    health: Health,
    /// Formatted records not yet written: whole lines only.
    buffer: Vec<u8>,
    /// How many records `buffer` holds.
    buffered: u64,
    /// With [`Rotation::Bytes`]: the size at which file-rotate cuts a segment, and the
    /// bytes written to the current one as file-rotate counts them.
    rotate_at: Option<u64>,
    segment: u64,
    /// After a write in which file-rotate may have opened the file anew (a cut segment, a
    /// new day, a reopen): the length the file had before it, which the write must grow.
    check_from: Option<u64>,
    /// With [`Rotation::Daily`]: the UTC quarter hour of the last write.
    quarter: u64,
}

impl JsonFile {
    /// Creates the directory of `path` (mode `dir_mode`) if needed and opens `path`, this
    /// rank's file ([`file_path`]), for appending.
    ///
    /// # Errors
    ///
    /// [`Error::CreateDir`], or [`Error::OpenFile`] (a symbolic link at the file's name is
    /// refused).
    pub(crate) fn open(path: &Path, info: &RankInfo, opts: &FileOptions) -> Result<JsonFile> {
        let dir = path.parent().unwrap_or(Path::new("."));
        DirBuilder::new()
            .recursive(true)
            .mode(opts.dir_mode)
            .create(dir)
            .map_err(|source| Error::CreateDir {
                path: dir.to_owned(),
                source,
            })?;
        let path = path.to_owned();
        let open_error = |source| Error::OpenFile {
            path: path.clone(),
            source,
        };
        // Open once ourselves: the error (a symlink, no permission) is then the caller's to
        // see, and file-rotate, which swallows open errors, finds a regular file.
        let plain = open_options(opts.file_mode)
            .open(&path)
            .map_err(open_error)?;
        // file-rotate counts a segment's bytes from the file's length when it opens it.
        let segment = plain.metadata().map_or(0, |m| m.len());
        let out = Out::new(plain, &path, opts);
        Ok(JsonFile {
            path,
            opts: opts.clone(),
            out,
            format: JsonFormat::new(info),
            health: Health::default(),
            buffer: Vec::with_capacity(BUFFER_BYTES),
            buffered: 0,
            rotate_at: match opts.rotation {
                Rotation::Bytes(bytes) => Some(bytes.max(1)),
                _ => None,
            },
            segment,
            check_from: None,
            quarter: 0,
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Formats `c` (whose resolved scope is `scope`) into the buffer, and writes the buffer
    /// out once it passes [`BUFFER_BYTES`], or once it takes the segment past its size
    /// limit: segments are cut where per-record writes would cut them.
    pub(crate) fn push(&mut self, c: &Collected, scope: &str) {
        self.format.format(&mut self.buffer, c, scope);
        self.buffered += 1;
        let buffered = self.buffer.len() as u64;
        if buffered >= BUFFER_BYTES as u64
            || self
                .rotate_at
                .is_some_and(|at| self.segment + buffered > at)
        {
            self.write_out();
        }
    }

    /// Writes the buffered records with one `write(2)` (file-rotate cuts segments between
    /// writes, so a record is never split); on failure counts them as lost and reports on
    /// stderr.
    ///
    /// file-rotate cannot say that it failed to open the file again after cutting a
    /// segment: it keeps no file and drops every later write with `Ok`. So after each
    /// write in which it may have opened the file (a cut segment, the first write of a UTC
    /// quarter hour with daily rotation, the first after a reopen), one `lstat(2)` checks
    /// that the file grew by the write; when it did not, the records count as lost and the
    /// file is opened again, now or before the next write, as after a full disk.
    pub(crate) fn write_out(&mut self) {
        if self.buffered == 0 {
            return;
        }
        let result = match self.out {
            Out::Closed => self.reopen().map_err(|err| Failure { err, torn: false }),
            _ => Ok(()),
        };
        let result = result.and_then(|()| self.write_buffer());
        let records = std::mem::take(&mut self.buffered);
        if result.is_ok() {
            self.health.bytes += self.buffer.len() as u64;
        }
        super::clear_buffer(&mut self.buffer, BUFFER_BYTES);
        self.settle(result, records);
    }

    /// Writes the buffer (after a newline when the last write may have torn a line) and
    /// checks that it landed when file-rotate may have opened the file anew.
    fn write_buffer(&mut self) -> Result<(), Failure> {
        let torn = self.health.torn;
        let len = self.buffer.len() as u64;
        if let Some(at) = self.rotate_at {
            // file-rotate cuts a segment before a write once the segment has passed `at`;
            // the newline that ends a torn line is a write of its own.
            for write in [u64::from(torn), len] {
                if write > 0 && self.segment > at {
                    self.segment = 0;
                    self.check_from = Some(0);
                }
                self.segment += write;
            }
        }
        if matches!(self.out, Out::Daily(_)) {
            let quarter = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() / QUARTER_HOUR_SECS);
            if quarter != self.quarter {
                self.quarter = quarter;
                self.check_from = Some(0);
            }
        }
        let out = &mut self.out;
        let buffer = &self.buffer;
        let result = catch_unwind(AssertUnwindSafe(|| {
            let w = out.writer()?;
            if torn {
                w.write_all(b"\n")?;
            }
            w.write_all(buffer)
        }));
        let result = match result {
            Ok(result) => result,
            Err(_) => {
                if self.out.rotates() {
                    // Whatever file-rotate was doing is unknown: start again from the file.
                    self.out = Out::Closed;
                }
                Err(io::Error::other("the file writer panicked"))
            }
        };
        result.map_err(|err| Failure { err, torn: true })?;
        match self.check_from.take() {
            Some(before) if self.out.rotates() && !self.grew(before, len) => {
                // file-rotate has no file: everything written through it would vanish.
                self.out = Out::Closed;
                let why = self
                    .reopen()
                    .err()
                    .unwrap_or_else(|| io::Error::other("it was not open"));
                Err(Failure {
                    err: io::Error::new(
                        why.kind(),
                        format!("reopening it after a rotation: {why}"),
                    ),
                    torn: false,
                })
            }
            _ => Ok(()),
        }
    }

    /// Whether the file at the path is a regular file at least `len` bytes longer than
    /// `before`.
    fn grew(&self, before: u64, len: u64) -> bool {
        std::fs::symlink_metadata(&self.path)
            .is_ok_and(|m| m.is_file() && m.len() >= before.saturating_add(len))
    }

    /// Opens the file again (as [`JsonFile::open`] did) after file-rotate could not, and
    /// hands it to a new file-rotate; the next write is checked to land.
    ///
    /// # Errors
    ///
    /// Why the file cannot be opened: the same error a new `open(2)` gets now (`EISDIR`,
    /// `EMFILE`, `ENOSPC`, ...), or file-rotate's panic.
    fn reopen(&mut self) -> io::Result<()> {
        let plain = open_options(self.opts.file_mode).open(&self.path)?;
        let len = plain.metadata()?.len();
        let (path, opts) = (&self.path, &self.opts);
        self.out = catch_unwind(AssertUnwindSafe(|| Out::new(plain, path, opts)))
            .map_err(|_| io::Error::other("file-rotate panicked opening the file"))?;
        self.segment = len;
        self.check_from = Some(len);
        if len == 0 {
            // Nothing of an earlier line to end.
            self.health.torn = false;
        }
        Ok(())
    }

    fn settle(&mut self, result: Result<(), Failure>, records: u64) {
        let h = &mut self.health;
        match result {
            Ok(()) => {
                h.torn = false;
                if h.failing {
                    h.failing = false;
                    eprintln!(
                        "ranklog: writing {} again; {} records lost so far",
                        self.path.display(),
                        h.lost
                    );
                    h.lost_since_report = 0;
                    h.last_report = Some(Instant::now());
                }
            }
            Err(Failure { err, torn }) => {
                h.torn |= torn;
                h.failing = true;
                h.lost += records;
                h.lost_since_report += records;
                let due = h.last_report.is_none_or(|t| t.elapsed() >= REPORT_EVERY);
                if due {
                    eprintln!(
                        "ranklog: cannot write {}: {err}; {} records lost since the last \
                         report, {} in all; the job goes on and writing resumes when it can",
                        self.path.display(),
                        h.lost_since_report,
                        h.lost
                    );
                    h.lost_since_report = 0;
                    h.last_report = Some(Instant::now());
                }
            }
        }
    }

    /// Writes the buffered records out and flushes the file.
    pub(crate) fn flush(&mut self) {
        self.write_out();
        let _ = catch_unwind(AssertUnwindSafe(|| {
            self.out.writer().and_then(|w| w.flush())
        }));
    }

    /// Records lost to write errors so far.
    pub(crate) fn lost(&self) -> u64 {
        self.health.lost
    }

    /// Bytes of records written so far, all segments together.
    pub(crate) fn bytes(&self) -> u64 {
        self.health.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    fn info() -> RankInfo {
        let mut info = RankInfo::new(3, 8, 1, 4).unwrap();
        info.host = "node a/../b".into();
        info
    }

    impl JsonFile {
        /// Writes one already formatted line, as [`JsonFile::push`] then
        /// [`JsonFile::write_out`] would.
        fn write_record(&mut self, line: &[u8]) {
            self.buffer.extend_from_slice(line);
            self.buffered += 1;
            self.write_out();
        }
    }

    #[test]
    fn templates_expand_only_known_placeholders_into_a_plain_name() {
        let i = info();
        assert_eq!(
            expand(DEFAULT_FILE_TEMPLATE, &i).unwrap(),
            "rank-00003.jsonl"
        );
        assert_eq!(
            expand("{host}-{local_rank}.jsonl", &i).unwrap(),
            "node_a_.._b-1.jsonl"
        );
        for bad in ["../x", "a/b", "{user}.log", "{rank", "", ".", ".."] {
            assert!(expand(bad, &i).is_err(), "{bad:?}");
        }
        let mut h = i.clone();
        h.host = "..".into();
        assert_eq!(expand("{host}", &h).unwrap(), "_..");
    }

    /// A writer that fails while `fail` is set, writing half of each buffer first.
    struct Flaky {
        fail: Arc<AtomicBool>,
        written: Arc<std::sync::Mutex<Vec<u8>>>,
    }

    impl Write for Flaky {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.fail.load(Ordering::Relaxed) {
                let half = buf.len() / 2;
                self.written.lock().unwrap().extend_from_slice(&buf[..half]);
                return Err(io::Error::from_raw_os_error(libc::ENOSPC));
            }
            self.written.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// A file whose writes fail while `fail` is set and land in `written`.
    fn flaky_file(fail: &Arc<AtomicBool>, written: &Arc<std::sync::Mutex<Vec<u8>>>) -> JsonFile {
        JsonFile {
            path: PathBuf::from("/test/rank-00000.jsonl"),
            opts: FileOptions::default(),
            out: Out::Test(Box::new(Flaky {
                fail: fail.clone(),
                written: written.clone(),
            })),
            format: JsonFormat::new(&info()),
            health: Health::default(),
            buffer: Vec::new(),
            buffered: 0,
            rotate_at: None,
            segment: 0,
            check_from: None,
            quarter: 0,
        }
    }

    #[test]
    fn a_full_disk_loses_counted_records_and_writing_resumes_on_a_fresh_line() {
        let fail = Arc::new(AtomicBool::new(false));
        let written = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut file = flaky_file(&fail, &written);
        file.write_record(b"{\"n\":1}\n");
        fail.store(true, Ordering::Relaxed);
        for _ in 0..5 {
            file.write_record(b"{\"n\":2}\n");
        }
        assert_eq!(file.lost(), 5);
        fail.store(false, Ordering::Relaxed);
        file.write_record(b"{\"n\":3}\n");
        assert_eq!(file.lost(), 5);
        let text = String::from_utf8(written.lock().unwrap().clone()).unwrap();
        let last = text.lines().last().unwrap();
        assert_eq!(
            last, "{\"n\":3}",
            "the record after the failures starts a line: {text:?}"
        );
        assert!(text.starts_with("{\"n\":1}\n"));
    }

    #[test]
    fn a_failed_batch_counts_each_of_its_records_as_lost() {
        let fail = Arc::new(AtomicBool::new(true));
        let written = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut file = flaky_file(&fail, &written);
        let c = Collected::default();
        for _ in 0..3 {
            file.push(&c, "process");
        }
        file.write_out();
        assert_eq!(file.lost(), 3);
        fail.store(false, Ordering::Relaxed);
        file.push(&c, "process");
        file.flush();
        assert_eq!(file.lost(), 3);
        let text = String::from_utf8(written.lock().unwrap().clone()).unwrap();
        let last = text.lines().last().unwrap();
        serde_json::from_str::<serde_json::Value>(last).expect("a whole record after the torn one");
    }

    #[test]
    fn a_symlink_at_the_file_name_is_refused() {
        let dir = std::env::temp_dir().join(format!("ranklog-symlink-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let target = dir.join("elsewhere");
        std::fs::write(&target, b"").unwrap();
        std::os::unix::fs::symlink(&target, dir.join("rank-00003.jsonl")).unwrap();
        let opts = FileOptions::default();
        let err = JsonFile::open(&file_path(&dir, &info(), &opts).unwrap(), &info(), &opts)
            .err()
            .expect("a symlink is refused");
        assert!(matches!(err, Error::OpenFile { .. }), "{err:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn new_files_and_directories_get_the_configured_modes() {
        use std::os::unix::fs::PermissionsExt;
        let base = std::env::temp_dir().join(format!("ranklog-modes-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let dir = base.join("logs");
        let opts = FileOptions::default();
        let path = file_path(&dir, &info(), &opts).unwrap();
        let file = JsonFile::open(&path, &info(), &opts).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        // The process umask can only remove bits.
        assert_eq!(mode(file.path()) & !0o640, 0);
        assert_eq!(mode(&dir) & !0o750, 0);
        let _ = std::fs::remove_dir_all(&base);
    }

    #[test]
    fn size_rotation_keeps_whole_records_and_a_bounded_number_of_segments() {
        let dir = std::env::temp_dir().join(format!("ranklog-rotate-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let opts = FileOptions {
            rotation: Rotation::Bytes(100),
            keep: 2,
            ..FileOptions::default()
        };
        let path = file_path(&dir, &info(), &opts).unwrap();
        let mut file = JsonFile::open(&path, &info(), &opts).unwrap();
        for n in 0..40 {
            file.write_record(format!("{{\"n\":{n:02},\"pad\":\"0123456789\"}}\n").as_bytes());
        }
        file.flush();
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "rank-00003.jsonl",
                "rank-00003.jsonl.1",
                "rank-00003.jsonl.2"
            ]
        );
        for name in &names {
            let text = std::fs::read_to_string(dir.join(name)).unwrap();
            for line in text.lines() {
                serde_json::from_str::<serde_json::Value>(line).expect("whole records");
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
