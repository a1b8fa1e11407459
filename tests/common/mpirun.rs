//! Running this test binary itself under a real `mpirun`: the rank side is an ignored
//! `#[test]` (a probe, see [`super::probe_args`]) that the parent test runs with
//! `--ignored --exact`, and that needs an environment variable the parent sets.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// What a finished job printed.
pub struct Output {
    pub stdout: String,
    pub stderr: String,
}

pub fn find_on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// `mpirun`, or `None` (with a skip line) when it is not installed, except under CI (`CI`
/// set), where a missing `mpirun` fails the test: `scripts/setup.sh` installs Open MPI.
pub fn mpirun_or_skip() -> Option<PathBuf> {
    if let Some(path) = find_on_path("mpirun") {
        return Some(path);
    }
    assert!(
        !super::ci(),
        "mpirun is not on PATH, and CI is set: install Open MPI (scripts/setup.sh installs \
         openmpi-bin and libopenmpi-dev)"
    );
    eprintln!("skipped: mpirun is not on PATH (install Open MPI to run this test)");
    None
}

/// Removes what could change the ranks' identity or logger settings, and lets Open MPI
/// run as root and oversubscribed.
pub fn clean_env(cmd: &mut Command) {
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("RANKLOG_")
            || key == "NO_COLOR"
            || ["RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE"].contains(&&*key)
        {
            cmd.env_remove(&*key);
        }
    }
    cmd.env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .env("OMPI_MCA_rmaps_base_oversubscribe", "1");
}

/// `mpirun -np NP <this test binary> --ignored --exact <probe>` with `envs` set for the
/// ranks.
pub fn self_under_mpirun(mpirun: &Path, np: u32, probe: &str, envs: &[(&str, &str)]) -> Command {
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut cmd = Command::new(mpirun);
    cmd.args([
        "--oversubscribe",
        "--bind-to",
        "none",
        "-np",
        &np.to_string(),
    ])
    .arg(exe)
    .args(super::probe_args(probe));
    clean_env(&mut cmd);
    cmd.env("RANKLOG_COLOR", "never");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd
}

/// A finished command: how it ended and what it printed.
pub struct Finished {
    /// Its exit status; `None` when it could not be waited for.
    pub status: Option<ExitStatus>,
    /// Whether it was stopped for running past its limit.
    pub timed_out: bool,
    /// What it printed.
    pub out: Output,
    /// The command, for messages.
    pub shown: String,
}

impl Finished {
    /// Whether it exited 0 in time.
    pub fn success(&self) -> bool {
        !self.timed_out && self.status.is_some_and(|s| s.success())
    }

    /// The command, how it ended and all it printed: for failure messages.
    pub fn describe(&self) -> String {
        let how = if self.timed_out {
            "timed out".to_owned()
        } else {
            match self.status {
                Some(s) => format!("ended with {s}"),
                None => "could not be waited for".to_owned(),
            }
        };
        format!(
            "{} {how}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.shown, self.out.stdout, self.out.stderr
        )
    }
}

/// `RANKLOG run RUN_ARGS --dir DIR -- MPIRUN --oversubscribe --bind-to none -np NP` of this
/// test binary's `probe` (`ranklog` is the CLI binary: `env!("CARGO_BIN_EXE_ranklog")` in a
/// test built with feature `cli`), with the test's own `RANKLOG_*` variables removed and
/// colour off.
pub fn ranklog_run_under_mpirun(
    ranklog: &str,
    run_args: &[&str],
    dir: &Path,
    mpirun: &Path,
    np: u32,
    probe: &str,
) -> Command {
    let mut cmd = Command::new(ranklog);
    cmd.arg("run")
        .args(run_args)
        .arg("--dir")
        .arg(dir)
        .arg("--")
        .arg(mpirun)
        .args([
            "--oversubscribe",
            "--bind-to",
            "none",
            "-np",
            &np.to_string(),
        ])
        .arg(std::env::current_exe().expect("the test binary's path"))
        .args(super::probe_args(probe));
    clean_env(&mut cmd);
    cmd.env("NO_COLOR", "1");
    cmd
}

/// Runs `cmd` to completion, or stops it (SIGTERM, then SIGKILL after 10 s) after `limit`,
/// and says how it ended, whatever it was.
pub fn run_status(mut cmd: Command, limit: Duration) -> Result<Finished, String> {
    let shown = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {shown}: {e}"))?;
    let drain = |mut pipe: Box<dyn Read + Send>| {
        thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = pipe.read_to_end(&mut buf);
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("piped")));
    let stderr = drain(Box::new(child.stderr.take().expect("piped")));
    let start = Instant::now();
    let mut timed_out = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if start.elapsed() < limit => thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                timed_out = true;
                // Launchers pass SIGTERM on to their ranks and clean up; SIGKILL would not.
                let _ = Command::new("kill")
                    .args(["-TERM", &child.id().to_string()])
                    .status();
                let grace = Instant::now();
                while grace.elapsed() < Duration::from_secs(10) {
                    if let Ok(Some(_)) = child.try_wait() {
                        break;
                    }
                    thread::sleep(Duration::from_millis(100));
                }
                let _ = child.kill();
                break child.wait().ok();
            }
            Err(e) => return Err(format!("waiting for {shown}: {e}")),
        }
    };
    Ok(Finished {
        status,
        timed_out,
        out: Output {
            stdout: stdout.join().unwrap_or_default(),
            stderr: stderr.join().unwrap_or_default(),
        },
        shown,
    })
}

/// Runs `cmd` to completion, or stops it after `limit` (see [`run_status`]). Fails unless it
/// exits 0; the error carries its output.
pub fn run_with_timeout(cmd: Command, limit: Duration) -> Result<Output, String> {
    let done = run_status(cmd, limit)?;
    if done.success() {
        Ok(done.out)
    } else {
        Err(done.describe())
    }
}

/// What a rank prints when `RankInfo::from_mpi` and `RankInfo::from_env` agree.
#[cfg(feature = "mpi")]
pub const AGREE: &str = "AGREE rank=";

/// The rank side of the agreement tests: initializes MPI, discovers this rank both ways,
/// panics if they differ (rank, size, local rank and size, node count, host), and prints
/// `AGREE rank=R size=.. local_rank=.. local_size=.. nodes=.. host=..` in one write.
#[cfg(feature = "mpi")]
pub fn report_mpi_and_env_agree() {
    use ranklog::RankInfo;
    let universe = mpi::initialize().expect("MPI is initialized once, here");
    let from_mpi = RankInfo::from_mpi(&universe.world()).expect("MPI gives a valid identity");
    let from_env = RankInfo::from_env().expect("Open MPI's variables describe this rank");
    let key = |i: &RankInfo| {
        (
            i.rank,
            i.size,
            i.local_rank,
            i.local_size,
            i.local_known,
            i.nodes,
            i.host.clone(),
        )
    };
    assert_eq!(
        key(&from_mpi),
        key(&from_env),
        "DISAGREE rank={}: from_mpi {from_mpi:?}, from_env {from_env:?}",
        from_mpi.rank
    );
    assert_eq!(from_mpi.source, ranklog::Source::Mpi);
    assert_eq!(from_env.source, ranklog::Source::OpenMpi);
    println!(
        "{AGREE}{} size={} local_rank={} local_size={} nodes={} node={} host={}",
        from_mpi.rank,
        from_mpi.size,
        from_mpi.local_rank,
        from_mpi
            .local_size
            .map_or_else(|| "none".to_owned(), |n| n.to_string()),
        from_mpi
            .nodes
            .map_or_else(|| "none".to_owned(), |n| n.to_string()),
        from_mpi
            .node
            .map_or_else(|| "none".to_owned(), |n| n.to_string()),
        from_mpi.host
    );
    drop(universe);
}

/// The `AGREE` reports in a job's stdout, by rank: each report's `key=value` fields.
/// libtest's own lines share stdout (`test <probe> ... ` has no newline), so a report is
/// looked for anywhere in a line; it is printed with one write and ends the line.
///
/// # Panics
///
/// When a rank reports twice or a report has no numeric rank.
#[cfg(feature = "mpi")]
pub fn agree_reports(
    stdout: &str,
) -> std::collections::BTreeMap<u32, std::collections::BTreeMap<String, String>> {
    let mut reports = std::collections::BTreeMap::new();
    for line in stdout.lines() {
        let Some(at) = line.find(AGREE) else { continue };
        let fields: std::collections::BTreeMap<String, String> = line[at + "AGREE ".len()..]
            .split(' ')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let rank = fields["rank"].parse().expect("rank is a number");
        assert!(
            reports.insert(rank, fields).is_none(),
            "rank {rank} reported twice\n{stdout}"
        );
    }
    reports
}
