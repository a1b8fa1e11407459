//! Jobs beyond one `mpirun` on one node: this test binary run across simulated nodes
//! (`scripts/multinode.sh`, Open MPI or MPICH's Hydra) or under another launcher, and the
//! checks they share.
//!
//! The rank side ([`log_markers`]) logs one record per scope, each message a unique
//! marker, to the console and to a JSONL file per rank in a directory under `/tmp`, which
//! every simulated node shares. The test side runs the job, then counts the markers in the
//! launcher's stderr and reads the files ([`Job`]), against where each rank was expected to
//! run ([`Place`]).
//!
//! A launcher or a machine that cannot run a job ([`unavailable`]) prints a skip line, except
//! under CI (`CI` set), where the test fails with the reason: `scripts/setup.sh` installs
//! what these tests need.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};
use slog::{error, info, o};

pub use super::mpirun::run_status;
use super::mpirun::{clean_env, Output};
use super::{probe_args, read_jsonl};

// One marker per case; none is a substring of another.
/// `"scope" => "global"`.
pub const GLOBAL: &str = "nodes-mark-global-record";
/// `"scope" => "local"`.
pub const LOCAL: &str = "nodes-mark-local-record";
/// Through `ranklog::local(&log)`, no scope of its own.
pub const LOCAL_LOGGER: &str = "nodes-mark-logger-bound-local";
/// `"scope" => "process"`.
pub const PROCESS: &str = "nodes-mark-process-record";
/// An error with `"scope" => "local"`: never gated.
pub const ERROR: &str = "nodes-mark-error-never-gated";

/// The exit status of `scripts/multinode.sh` when this machine cannot simulate nodes.
pub const CANNOT: i32 = 77;

pub use super::ci;

/// Says why a job cannot run here: a skip line, or (under CI) a panic with the reason.
pub fn unavailable(why: &str) {
    assert!(
        !ci(),
        "{why}\n(CI is set, so this fails instead of skipping: scripts/setup.sh installs \
         what these tests need, and CI runs as root)"
    );
    eprintln!("skipped: {why}");
}

/// Whether `done` (a job started through `scripts/multinode.sh`) ended because this
/// machine cannot simulate nodes; if so, says why ([`unavailable`]: a skip line, or under CI
/// a panic).
pub fn skipped_cannot_simulate(done: &super::mpirun::Finished) -> bool {
    if done.status.and_then(|s| s.code()) != Some(CANNOT) {
        return false;
    }
    match done
        .out
        .stderr
        .lines()
        .find(|l| l.starts_with("multinode.sh: cannot run here:"))
    {
        Some(line) => {
            unavailable(line);
            true
        }
        None => false,
    }
}

/// The rank side: builds the logger from `info` with files in `dir`, logs one record per
/// case and flushes.
pub fn log_markers(info: ranklog::RankInfo, dir: &Path) {
    let guard = ranklog::Builder::from_env()
        .expect("no bad RANKLOG_* variable")
        .rank_info(info)
        .dir(dir)
        .build()
        .expect("logger builds");
    let log = guard.logger();
    info!(log, "{}", GLOBAL; "scope" => "global");
    info!(log, "{}", LOCAL; "scope" => "local");
    info!(ranklog::local(&log), "{}", LOCAL_LOGGER);
    info!(log.new(o!("scope" => "global")), "{}", PROCESS; "scope" => "process");
    error!(log, "{}", ERROR; "scope" => "local");
    drop(guard);
}

/// Where a rank is expected to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Place {
    /// The node's host name.
    pub host: String,
    /// The rank's index among the ranks of its node.
    pub local_rank: u32,
    /// The number of ranks on its node.
    pub local_size: u32,
}

/// Where each rank runs when `nodes` (name, slots) are filled as Open MPI maps them: by
/// slot (each node full in turn, also Hydra's way) or, with `by_node`, round robin over the
/// nodes that still have a free slot (`--map-by node`).
pub fn placement(nodes: &[(&str, u32)], by_node: bool) -> Vec<Place> {
    let mut order: Vec<usize> = Vec::new(); // rank -> node index
    if by_node {
        let mut left: Vec<u32> = nodes.iter().map(|n| n.1).collect();
        while left.iter().any(|&l| l > 0) {
            for (i, l) in left.iter_mut().enumerate() {
                if *l > 0 {
                    *l -= 1;
                    order.push(i);
                }
            }
        }
    } else {
        for (i, n) in nodes.iter().enumerate() {
            order.extend(std::iter::repeat_n(i, n.1 as usize));
        }
    }
    let mut seen = vec![0u32; nodes.len()];
    order
        .into_iter()
        .map(|i| {
            seen[i] += 1;
            Place {
                host: nodes[i].0.to_owned(),
                local_rank: seen[i] - 1,
                local_size: nodes[i].1,
            }
        })
        .collect()
}

/// `--nodes` of `scripts/multinode.sh`: `nodeA:2,nodeB:2`.
pub fn nodes_arg(nodes: &[(&str, u32)]) -> String {
    nodes
        .iter()
        .map(|(name, slots)| format!("{name}:{slots}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The console tag of rank `rank` of `size` at `place`.
pub fn tag(rank: usize, size: usize, place: &Place) -> String {
    let width = size.saturating_sub(1).to_string().len();
    format!(
        "[{rank:0width$}/{size} {}:{}]",
        place.host, place.local_rank
    )
}

/// A directory that is removed, with all it holds, when dropped.
pub struct TempDir(PathBuf);

impl std::ops::Deref for TempDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A new, empty directory under `/tmp` (which every simulated node sees), unique to this
/// process, call and time; removed when dropped.
pub fn fresh_dir(name: &str) -> TempDir {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let dir = PathBuf::from("/tmp").join(format!(
        "ranklog-{name}-{}-{}-{stamp}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
    TempDir(dir)
}

/// `scripts/multinode.sh` of this crate.
pub fn multinode_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/multinode.sh")
}

/// Which launcher `scripts/multinode.sh` runs across the nodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Launcher {
    /// Open MPI's `mpirun`.
    OpenMpi,
    /// MPICH's `mpiexec.hydra`.
    Hydra,
}

/// Removes what a `scripts/multinode.sh` run left behind, when dropped: the script tears
/// down on its own, even on SIGTERM, but not on SIGKILL.
struct Teardown(String);

impl Drop for Teardown {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(multinode_script())
            .args(["--cleanup", &self.0])
            .stdout(Stdio::null())
            .status();
    }
}

/// Runs this test binary's ignored `probe` test across the simulated `nodes` with `launcher`, with
/// `envs` set for the ranks (and `RANKLOG_COLOR=never`, `RUST_BACKTRACE` passed on).
/// `Ok(None)`: skipped (the machine cannot simulate nodes, not CI); `Err`: the job failed.
pub fn self_on_nodes(
    launcher: Launcher,
    nodes: &[(&str, u32)],
    by_node: bool,
    probe: &str,
    envs: &[(&str, &str)],
    limit: Duration,
) -> Result<Option<Output>, String> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let id = format!(
        "t{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let _teardown = Teardown(id.clone());
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut cmd = Command::new("bash");
    cmd.arg(multinode_script())
        .args(["--id", &id, "--nodes", &nodes_arg(nodes)]);
    if launcher == Launcher::Hydra {
        cmd.args(["--launcher", "hydra"]);
    }
    if by_node {
        cmd.args(["--map-by", "node"]);
    }
    clean_env(&mut cmd);
    cmd.args(["-x", "RANKLOG_COLOR=never"]);
    if std::env::var_os("RUST_BACKTRACE").is_some() {
        cmd.args(["-x", "RUST_BACKTRACE"]);
    }
    for (k, v) in envs {
        cmd.args(["-x", &format!("{k}={v}")]);
    }
    cmd.arg("--").arg(exe).args(probe_args(probe));
    let done = run_status(cmd, limit)?;
    if skipped_cannot_simulate(&done) {
        return Ok(None);
    }
    if done.success() {
        Ok(Some(done.out))
    } else {
        Err(done.describe())
    }
}

/// One JSONL record.
pub type Record = Map<String, Value>;

/// Reads `dir/rank-0000R.jsonl` for every rank below `size`, and checks that the directory
/// holds nothing else.
pub fn read_rank_files(dir: &Path, size: usize) -> Result<Vec<Vec<Record>>, String> {
    let names = std::fs::read_dir(dir)
        .map_err(|e| format!("reading {}: {e}", dir.display()))?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<BTreeSet<_>, _>>()
        .map_err(|e| format!("reading {}: {e}", dir.display()))?;
    let expected: BTreeSet<String> = (0..size).map(|r| format!("rank-{r:05}.jsonl")).collect();
    if names != expected {
        return Err(format!(
            "files in {}: expected {expected:?}, found {names:?}",
            dir.display()
        ));
    }
    (0..size)
        .map(|r| read_jsonl(&dir.join(format!("rank-{r:05}.jsonl"))))
        .collect()
}

/// What a job left behind, and where its ranks were expected to run.
pub struct Job {
    /// The launcher's stderr: every rank's console.
    pub console: String,
    /// The launcher's stdout.
    pub stdout: String,
    /// Each rank's file, parsed: `files[r]` is `rank-0000r.jsonl`.
    pub files: Vec<Vec<Record>>,
    /// Where each rank was expected to run: `places[r]`.
    pub places: Vec<Place>,
}

impl Job {
    /// Reads the files of a finished job from `dir`.
    pub fn collect(out: Output, dir: &Path, places: Vec<Place>) -> Result<Job, String> {
        let files = read_rank_files(dir, places.len())
            .map_err(|e| format!("{e}\n--- stderr ---\n{}", out.stderr))?;
        Ok(Job {
            console: out.stderr,
            stdout: out.stdout,
            files,
            places,
        })
    }

    /// The console tag of rank `rank`, as expected from its place.
    pub fn tag(&self, rank: usize) -> String {
        tag(rank, self.places.len(), &self.places[rank])
    }

    /// The ranks that print `local` records: the first of each node.
    pub fn local_firsts(&self) -> Vec<usize> {
        (0..self.places.len())
            .filter(|&r| self.places[r].local_rank == 0)
            .collect()
    }

    /// Asserts that exactly the ranks `ranks` printed a console line with `marker`, one
    /// each, tagged with their rank, host and local rank.
    #[track_caller]
    pub fn assert_printed_by(&self, marker: &str, ranks: &[usize]) {
        let lines: Vec<&str> = self
            .console
            .lines()
            .filter(|l| l.contains(marker))
            .collect();
        let mut by: Vec<usize> = Vec::new();
        for line in &lines {
            let mine: Vec<usize> = (0..self.places.len())
                .filter(|&r| line.contains(&self.tag(r)))
                .collect();
            assert_eq!(
                mine.len(),
                1,
                "{marker:?}: a line with no (or more than one) expected rank tag: {line}\n\
                 expected tags: {:?}\n--- console ---\n{}",
                (0..self.places.len())
                    .map(|r| self.tag(r))
                    .collect::<Vec<_>>(),
                self.console
            );
            by.push(mine[0]);
        }
        by.sort_unstable();
        assert_eq!(
            by, ranks,
            "{marker:?}: ranks that printed it (sorted), expected {ranks:?}\n--- console ---\n{}",
            self.console
        );
    }

    /// Asserts that every rank's file keeps every marker once, that each of its records
    /// names the rank's node, rank and local rank, and that its `job_start` record names
    /// `launcher` and `nodes`.
    #[track_caller]
    pub fn assert_files(&self, launcher: &str, nodes: Option<u64>) {
        let size = self.places.len() as u64;
        let mut pids = BTreeSet::new();
        for (r, (records, place)) in self.files.iter().zip(&self.places).enumerate() {
            assert!(!records.is_empty(), "rank {r}'s file is empty");
            for rec in records {
                let num = |key: &str| rec.get(key).and_then(Value::as_u64);
                assert_eq!(num("rank"), Some(r as u64), "rank {r}: {rec:?}");
                assert_eq!(num("size"), Some(size), "rank {r}: {rec:?}");
                assert_eq!(
                    num("local_rank"),
                    Some(u64::from(place.local_rank)),
                    "rank {r} at {place:?}: {rec:?}"
                );
                assert_eq!(
                    num("local_size"),
                    Some(u64::from(place.local_size)),
                    "rank {r} at {place:?}: {rec:?}"
                );
                assert_eq!(
                    rec.get("host").and_then(Value::as_str),
                    Some(place.host.as_str()),
                    "rank {r} at {place:?}: {rec:?}"
                );
                pids.insert((
                    place.host.clone(),
                    num("pid").unwrap_or_else(|| panic!("no pid: {rec:?}")),
                ));
            }
            for marker in [GLOBAL, LOCAL, LOCAL_LOGGER, PROCESS, ERROR] {
                let found = records
                    .iter()
                    .filter(|rec| rec.get("msg").and_then(Value::as_str) == Some(marker))
                    .count();
                assert_eq!(found, 1, "rank {r}: records of {marker:?}: {records:#?}");
            }
            let starts: Vec<&Record> = records
                .iter()
                .filter(|rec| rec.get("kind").and_then(Value::as_str) == Some("job_start"))
                .collect();
            assert_eq!(starts.len(), 1, "rank {r}: job_start records: {records:#?}");
            assert_eq!(
                starts[0].get("launcher").and_then(Value::as_str),
                Some(launcher),
                "rank {r}: {:?}",
                starts[0]
            );
            assert_eq!(
                starts[0].get("nodes").and_then(Value::as_u64),
                nodes,
                "rank {r}: {:?}",
                starts[0]
            );
        }
        assert_eq!(
            pids.len(),
            self.places.len(),
            "one process per rank: {pids:?}"
        );
    }
}

/// A launcher variable of this rank as a number; `None` when unset.
///
/// # Panics
///
/// When it is set but not a number, naming the variable and its value.
pub fn launcher_var(name: &str) -> Option<u32> {
    std::env::var(name)
        .ok()
        .map(|v| v.parse().unwrap_or_else(|_| panic!("{name}={v:?}")))
}

/// This machine's full host name, as `gethostname(2)` gives it to every task.
pub fn this_host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .expect("reading the host name")
        .trim()
        .to_owned()
}
