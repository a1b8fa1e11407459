//! Helpers shared by the integration tests: a console that can be read back, fresh
//! directories, line counting.
#![allow(dead_code)] // each test file uses a different subset

use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// A console writer whose bytes can be read back.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Captured {
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

/// A fresh, empty directory under the system temp dir, unique to this process and `name`.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ranklog-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Number of lines of `text` that contain `marker`.
pub fn count(text: &str, marker: &str) -> usize {
    text.lines().filter(|l| l.contains(marker)).count()
}

pub mod collector;
pub mod mpirun;
pub mod nodes;
pub mod slurm;

/// Whether this runs under CI (`CI` set to something other than empty, `0` or `false`):
/// there a test that cannot run here fails instead of skipping, as `scripts/test.sh` does.
pub fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// libtest's arguments that run exactly `probe`, an ignored test of this test binary, with
/// its output shown and on one thread.
///
/// A probe is the child side of a test that re-runs its own binary (under `mpirun`, Hydra,
/// `srun`, or plain): it is `#[ignore]`d, so that a normal run lists it as ignored instead
/// of counting it as a test that passed without asserting anything, and its parent runs it
/// with `--ignored --exact`.
pub fn probe_args(probe: &str) -> [&str; 6] {
    [
        "--ignored",
        "--exact",
        probe,
        "--nocapture",
        "--test-threads",
        "1",
    ]
}

/// The value of `var`, which the parent of the probe sets.
///
/// # Panics
///
/// When it is unset: the probe was run by hand (`cargo test -- --ignored`), not by its
/// parent test, and has nothing to check.
#[track_caller]
pub fn probe_env(var: &str) -> std::ffi::OsString {
    match std::env::var_os(var) {
        Some(value) => value,
        None => panic!(
            "{var} is not set: this probe is the child process of another test, which runs it \
             (see the ignore reason); it checks nothing on its own"
        ),
    }
}

/// The records of a JSONL file, each a JSON object; the error names the file, the line and
/// what is wrong with it.
pub fn read_jsonl(
    path: &std::path::Path,
) -> Result<Vec<serde_json::Map<String, serde_json::Value>>, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    text.lines()
        .enumerate()
        .map(|(i, line)| match serde_json::from_str(line) {
            Ok(serde_json::Value::Object(map)) => Ok(map),
            Ok(other) => Err(format!(
                "{}:{}: not a JSON object: {other}",
                path.display(),
                i + 1
            )),
            Err(e) => Err(format!("{}:{}: {e}: {line}", path.display(), i + 1)),
        })
        .collect()
}

/// The records of a JSONL file, parsed.
pub fn records(path: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The records whose `kind` is `kind`.
pub fn of_kind<'a>(records: &'a [serde_json::Value], kind: &str) -> Vec<&'a serde_json::Value> {
    records.iter().filter(|r| r["kind"] == kind).collect()
}

/// Calls `done` every 5 ms until it returns true or `timeout` passes; returns its last
/// answer.
pub fn wait_until(timeout: std::time::Duration, mut done: impl FnMut() -> bool) -> bool {
    let end = std::time::Instant::now() + timeout;
    while !done() {
        if std::time::Instant::now() > end {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    true
}

/// Waits until every rank of a job of `size` has its file in `dir` (each logger writes its
/// first record when it starts): a barrier without MPI, so that no rank's action (a panic
/// that makes `mpirun` abort the job, a burst) comes before a slow rank on a loaded
/// machine has started its logger.
///
/// # Panics
///
/// When the files are not all there within 120 s.
pub fn wait_for_rank_files(dir: &std::path::Path, size: u32) {
    let all_there = wait_until(std::time::Duration::from_secs(120), || {
        (0..size).all(|r| dir.join(format!("rank-{r:05}.jsonl")).exists())
    });
    assert!(
        all_there,
        "the job's {size} rank files did not all appear in {}",
        dir.display()
    );
}

/// A `Builder` for one test's logger: the identity `info`, its file in `dir`, and neither
/// the `log` bridge (one per process) nor a GPU sampler thread; the console is the test's
/// to choose (`no_console` or `console_writer`).
pub fn builder_in(dir: &std::path::Path, info: ranklog::RankInfo) -> ranklog::Builder {
    ranklog::Builder::new()
        .rank_info(info)
        .dir(dir)
        .log_bridge(false)
        .gpu(ranklog::GpuMode::Off)
}
