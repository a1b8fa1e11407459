//! Scope gating under a real `mpirun -np 4`: how many console lines each scope gives, and
//! what every rank's JSONL file keeps.
//!
//! No extra binary: this test binary runs itself under `mpirun`. The ranks run the ignored
//! [`PROBE`] test (with `RANKLOG_SCOPE_PROBE=1` set), which builds the logger from Open
//! MPI's `OMPI_COMM_WORLD_*` variables and logs one record per case, each message a unique
//! marker. The other tests share one `mpirun` job (run on first use), count the markers in
//! its stderr and read the four files it wrote.
//!
//! Without `mpirun` on `PATH` the tests print a skip line, except under CI (`CI` set), where
//! they fail: `scripts/setup.sh` installs Open MPI.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::mpirun::{mpirun_or_skip, run_with_timeout, self_under_mpirun};
use common::read_jsonl;

use serde_json::Value;
use slog::{error, info, o};

/// World size of the job.
const NP: u32 = 4;
/// The rank side, run by the job under `mpirun`.
const PROBE: &str = "probe_rank_logs_one_record_per_scope";
/// Set (to 1) in the ranks' environment by the job.
const PROBE_ENV: &str = "RANKLOG_SCOPE_PROBE";
/// The ranks' log directory.
const DIR_ENV: &str = "RANKLOG_SCOPE_PROBE_DIR";
/// Longest the whole `mpirun` job may take before it is killed.
const JOB_TIMEOUT: Duration = Duration::from_secs(120);

// One marker per case; none is a substring of another.
/// `"scope" => "global"`.
const GLOBAL: &str = "probe-mark-global-record";
/// `"scope" => "local"`.
const LOCAL: &str = "probe-mark-local-record";
/// `"scope" => "process"`.
const PROCESS: &str = "probe-mark-process-record";
/// No scope at all: process.
const DEFAULT: &str = "probe-mark-default-record";
/// Through a logger bound to global, no scope of its own.
const LOGGER_GLOBAL: &str = "probe-mark-logger-bound-global";
/// Through a logger bound to global, with `"scope" => "process"` on the record.
const OVERRIDE: &str = "probe-mark-record-overrides-logger";
/// An error with `"scope" => "global"`.
const ERROR: &str = "probe-mark-error-never-gated";
/// `"scope" => "globl"`, the first unknown value this process sees.
const UNKNOWN: &str = "probe-mark-unknown-scope-first";
/// `"scope" => "nodee"`, a second unknown value: no second warning.
const UNKNOWN_AGAIN: &str = "probe-mark-unknown-scope-again";
/// What the one-time warning about an unknown scope says.
const UNKNOWN_WARNING: &str = "unknown scope \"globl\"";

/// The rank side: runs only under `mpirun` (see the module docs).
#[test]
#[ignore = "child process of this file's tests (one shared job); run by them under mpirun"]
fn probe_rank_logs_one_record_per_scope() {
    common::probe_env(PROBE_ENV);
    let dir = common::probe_env(DIR_ENV);
    let guard = ranklog::Builder::from_env()
        .and_then(|b| b.dir(PathBuf::from(dir)).build())
        .expect("logger builds from Open MPI's environment");
    let me = guard.rank_info().clone();
    assert_eq!(me.source, ranklog::Source::OpenMpi, "{me:?}");
    assert_eq!(me.size, NP, "{me:?}");
    let log = guard.logger();

    info!(log, "{}", GLOBAL; "scope" => "global");
    info!(log, "{}", LOCAL; "scope" => "local");
    info!(log, "{}", PROCESS; "scope" => "process");
    info!(log, "{}", DEFAULT);
    let global = log.new(o!("scope" => "global"));
    info!(global, "{}", LOGGER_GLOBAL);
    info!(global, "{}", OVERRIDE; "scope" => "process");
    error!(log, "{}", ERROR; "scope" => "global");
    info!(log, "{}", UNKNOWN; "scope" => "globl");
    info!(log, "{}", UNKNOWN_AGAIN; "scope" => "nodee");
    drop(guard);
}

/// What the job left behind.
struct Job {
    /// mpirun's stderr: every rank's console.
    console: String,
    /// Each rank's file, parsed: `files[r]` is `rank-0000r.jsonl`.
    files: Vec<Vec<serde_json::Map<String, Value>>>,
    /// The names of the files in the log directory.
    names: BTreeSet<String>,
}

impl Job {
    /// Console lines containing `needle`.
    fn lines_with(&self, needle: &str) -> Vec<&str> {
        self.console
            .lines()
            .filter(|l| l.contains(needle))
            .collect()
    }

    /// The records of rank `rank`'s file whose message is `msg`.
    fn records(&self, rank: usize, msg: &str) -> Vec<&serde_json::Map<String, Value>> {
        self.files[rank]
            .iter()
            .filter(|r| r.get("msg").and_then(Value::as_str) == Some(msg))
            .collect()
    }

    /// The host name rank `rank` wrote in its file.
    fn host(&self, rank: usize) -> &str {
        self.files[rank][0]["host"].as_str().expect("host is text")
    }
}

/// Runs the job once for all tests; `None` when skipped (no `mpirun`, not CI).
fn job() -> Option<&'static Job> {
    static JOB: OnceLock<Option<Result<Job, String>>> = OnceLock::new();
    let job = JOB.get_or_init(|| Some(run_job(&mpirun_or_skip()?)));
    match job {
        None => None,
        Some(Ok(job)) => Some(job),
        Some(Err(why)) => panic!("{why}"),
    }
}

fn run_job(mpirun: &Path) -> Result<Job, String> {
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let dir = std::env::temp_dir().join(format!(
        "ranklog-scope-probe-{}-{stamp}",
        std::process::id()
    ));
    let dir_text = dir.to_string_lossy().into_owned();
    let cmd = self_under_mpirun(mpirun, NP, PROBE, &[(PROBE_ENV, "1"), (DIR_ENV, &dir_text)]);
    let out = run_with_timeout(cmd, JOB_TIMEOUT)?;
    let files = (0..NP)
        .map(|r| read_jsonl(&dir.join(format!("rank-{r:05}.jsonl"))))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{e}\n--- mpirun stderr ---\n{}", out.stderr))?;
    let names = std::fs::read_dir(&dir)
        .map_err(|e| format!("reading {}: {e}", dir.display()))?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<BTreeSet<_>, _>>()
        .map_err(|e| format!("reading {}: {e}", dir.display()))?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(Job {
        console: out.stderr,
        files,
        names,
    })
}

// ---- console: how many lines each scope gives ------------------------------------------

#[track_caller]
fn assert_lines<'a>(job: &'a Job, marker: &str, expected: usize) -> Vec<&'a str> {
    let lines = job.lines_with(marker);
    assert_eq!(
        lines.len(),
        expected,
        "console lines with {marker:?}: expected {expected}, got {}\n--- console ---\n{}",
        lines.len(),
        job.console
    );
    lines
}

/// The console tag of rank `r` on a single node: local rank == rank.
fn tag(job: &Job, r: u32) -> String {
    format!("[{r}/{NP} {}:{r}]", job.host(r as usize))
}

#[test]
fn global_scope_prints_once_per_job_on_rank_0() {
    let Some(job) = job() else { return };
    for marker in [GLOBAL, LOGGER_GLOBAL, "kind=job_start"] {
        let lines = assert_lines(job, marker, 1);
        assert!(lines[0].contains(&tag(job, 0)), "{}", lines[0]);
    }
}

#[test]
fn local_scope_prints_once_per_node() {
    let Some(job) = job() else { return };
    // One node: its first rank is rank 0.
    let lines = assert_lines(job, LOCAL, 1);
    assert!(lines[0].contains(&tag(job, 0)), "{}", lines[0]);
}

#[test]
fn process_scope_prints_on_every_rank_with_its_rank_tag() {
    let Some(job) = job() else { return };
    for marker in [PROCESS, DEFAULT] {
        let lines = assert_lines(job, marker, NP as usize);
        for r in 0..NP {
            let tag = tag(job, r);
            let tagged = lines.iter().filter(|l| l.contains(&tag)).count();
            assert_eq!(tagged, 1, "{marker:?} lines tagged {tag}: {lines:#?}");
        }
        for line in &lines {
            assert!(line.starts_with("INFO "), "{line}");
        }
    }
}

#[test]
fn record_scope_overrides_logger_scope() {
    let Some(job) = job() else { return };
    assert_lines(job, LOGGER_GLOBAL, 1);
    assert_lines(job, OVERRIDE, NP as usize);
}

#[test]
fn errors_print_on_every_rank_whatever_their_scope() {
    let Some(job) = job() else { return };
    let lines = assert_lines(job, ERROR, NP as usize);
    for r in 0..NP {
        assert!(lines.iter().any(|l| l.contains(&tag(job, r))), "{lines:#?}");
    }
}

#[test]
fn unknown_scope_prints_as_process_and_warns_once_per_rank() {
    let Some(job) = job() else { return };
    assert_lines(job, UNKNOWN, NP as usize);
    assert_lines(job, UNKNOWN_AGAIN, NP as usize);
    let warnings = assert_lines(job, "unknown scope", NP as usize);
    for r in 0..NP {
        let tag = tag(job, r);
        let mine: Vec<_> = warnings.iter().filter(|l| l.contains(&tag)).collect();
        assert_eq!(mine.len(), 1, "warnings of {tag}: {warnings:#?}");
        assert!(mine[0].starts_with("WARN "), "{}", mine[0]);
        assert!(mine[0].contains(UNKNOWN_WARNING), "{}", mine[0]);
    }
}

// ---- files: every rank keeps every record ----------------------------------------------

#[test]
fn each_rank_writes_its_own_file_with_its_identity() {
    let Some(job) = job() else { return };
    let expected: BTreeSet<String> = (0..NP).map(|r| format!("rank-{r:05}.jsonl")).collect();
    assert_eq!(job.names, expected);
    let mut pids = BTreeSet::new();
    let mut hosts = BTreeSet::new();
    for (r, records) in job.files.iter().enumerate() {
        assert!(!records.is_empty(), "rank {r}'s file is empty");
        for rec in records {
            let num = |key: &str| rec.get(key).and_then(Value::as_u64);
            assert_eq!(num("rank"), Some(r as u64), "{rec:?}");
            assert_eq!(num("size"), Some(u64::from(NP)), "{rec:?}");
            assert_eq!(num("local_rank"), Some(r as u64), "one node: {rec:?}");
            assert_eq!(num("local_size"), Some(u64::from(NP)), "one node: {rec:?}");
            let host = rec.get("host").and_then(Value::as_str);
            assert!(host.is_some_and(|h| !h.is_empty()), "{rec:?}");
            hosts.insert(host.unwrap_or_default().to_owned());
            pids.insert(num("pid").unwrap_or_else(|| panic!("no pid: {rec:?}")));
        }
    }
    assert_eq!(hosts.len(), 1, "one node: {hosts:?}");
    assert_eq!(pids.len(), NP as usize, "one pid per rank: {pids:?}");
}

#[test]
fn every_file_keeps_every_record_with_its_resolved_scope() {
    let Some(job) = job() else { return };
    let cases = [
        (GLOBAL, "info", "global"),
        (LOCAL, "info", "local"),
        (PROCESS, "info", "process"),
        (DEFAULT, "info", "process"),
        (LOGGER_GLOBAL, "info", "global"),
        (OVERRIDE, "info", "process"),
        (ERROR, "error", "global"),
        (UNKNOWN, "info", "process"),
        (UNKNOWN_AGAIN, "info", "process"),
    ];
    for r in 0..NP as usize {
        for (marker, level, scope) in cases {
            let found = job.records(r, marker);
            assert_eq!(found.len(), 1, "rank {r}, {marker:?}: {:#?}", job.files[r]);
            assert_eq!(found[0]["level"], level, "rank {r}: {:?}", found[0]);
            assert_eq!(found[0]["scope"], scope, "rank {r}: {:?}", found[0]);
        }
        let count = |pred: &dyn Fn(&serde_json::Map<String, Value>) -> bool| {
            job.files[r].iter().filter(|rec| pred(rec)).count()
        };
        let starts = count(&|rec| rec.get("kind").and_then(Value::as_str) == Some("job_start"));
        assert_eq!(starts, 1, "rank {r}: job_start records");
        let warnings = count(&|rec| {
            rec["level"] == "warning"
                && rec["msg"]
                    .as_str()
                    .is_some_and(|m| m.contains(UNKNOWN_WARNING))
        });
        assert_eq!(warnings, 1, "rank {r}: unknown-scope warnings");
    }
}

#[test]
fn file_timestamps_are_rfc3339_utc() {
    let Some(job) = job() else { return };
    for (r, records) in job.files.iter().enumerate() {
        for rec in records {
            let ts = rec
                .get("ts")
                .and_then(Value::as_str)
                .unwrap_or_else(|| panic!("rank {r}: no ts: {rec:?}"));
            let parsed = chrono::DateTime::parse_from_rfc3339(ts)
                .unwrap_or_else(|e| panic!("rank {r}: ts {ts:?} is not RFC 3339: {e}"));
            assert_eq!(parsed.offset().local_minus_utc(), 0, "not UTC: {ts}");
            assert!(ts.ends_with('Z'), "UTC is written Z: {ts}");
        }
    }
}
