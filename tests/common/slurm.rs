//! A real single-node Slurm (Debian's `slurm-wlm` and `munge`) started by a test on this
//! machine, for the tests that run jobs under `srun` and `sbatch` (see
//! /work/shared/MULTINODE.md, "A real single-node Slurm").
//!
//! Each [`Cluster`] is private to one test: `munged` on its own socket, `slurmctld` and
//! `slurmd` with their own `slurm.conf`, state, spool, pid and log files in a fresh
//! directory, all inside a network namespace of its own (loopback plus a veth pair that
//! exists only there). So clusters of two test binaries started at the same time cannot
//! collide: the directory and the namespace are named after the process id, a counter
//! and the clock; the fixed ports (6817, 6818) and the abstract sockets are per namespace;
//! every file a daemon writes is in the directory; the node name (this host's) is only
//! known to each cluster's own controller. Within one test binary clusters run one at a
//! time: two would only compete for the two cores. Dropping the cluster stops everything
//! it started, by pid, also when an assertion fails.
//!
//! Without root, Slurm or munge, [`cluster`] says why with a skip line, except under CI
//! (`CI` set), where it fails: `scripts/setup.sh` installs `slurm-wlm` and `munge`.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::mpirun::find_on_path;
use super::nodes::{this_host, unavailable};

/// The node's CPUs, which is also the most tasks a job can have without waiting.
pub const CPUS: u32 = 4;
/// Longest the cluster may take to come up.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// One cluster at a time in this process: two would only compete for the two cores.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// A single-node Slurm cluster of one test; dropping it stops everything it started.
pub struct Cluster {
    /// Private directory: config, munge socket, state, spool, pid and log files.
    dir: PathBuf,
    /// Its network namespace; empty until made.
    ns: String,
    /// The daemons, in start order, by name.
    daemons: Vec<(&'static str, Child)>,
    /// This process's turn to run a cluster; released after the teardown.
    _turn: MutexGuard<'static, ()>,
}

/// Starts a cluster (one at a time in this process), or `None` when skipped (see the
/// module docs).
///
/// # Panics
///
/// When it cannot start (a set-up command or a daemon failed, or the node was not idle
/// within 30 s), with the reason and the daemons' last log lines.
pub fn cluster() -> Option<Cluster> {
    match Cluster::start() {
        Ok(Some(cluster)) => Some(cluster),
        Ok(None) => None,
        Err(why) => panic!("cannot start Slurm: {why}"),
    }
}

/// Finds a program: `name` itself when it is a path, else on `PATH` or in the system
/// directories (`slurmd` and `munged` live in `/usr/sbin`, which a non-login `PATH` may
/// lack).
fn program(name: &str) -> Option<PathBuf> {
    if name.contains('/') {
        return Some(PathBuf::from(name)).filter(|p| p.is_file());
    }
    find_on_path(name).or_else(|| {
        ["/usr/sbin", "/usr/bin", "/sbin"]
            .iter()
            .map(|d| Path::new(d).join(name))
            .find(|p| p.is_file())
    })
}

fn is_root() -> bool {
    fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .find(|l| l.starts_with("Uid:"))
            .and_then(|l| l.split_whitespace().nth(2))
            == Some("0")
    })
}

/// Runs a short set-up command; its output on failure.
fn sh(program: &str, args: &[&str]) -> Result<(), String> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{program} {} failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// The node's name: the host name up to the first dot, as `slurmctld` compares it.
fn short_host() -> String {
    this_host().split('.').next().unwrap_or_default().to_owned()
}

impl Cluster {
    /// Starts munged, slurmctld and slurmd and waits until the node is idle. `Ok(None)`:
    /// skipped (no root, Slurm or munge, not CI).
    fn start() -> Result<Option<Cluster>, String> {
        if !is_root() {
            unavailable("Slurm's daemons need root, and this test runs as another user");
            return Ok(None);
        }
        let needed = [
            "slurmctld",
            "slurmd",
            "srun",
            "sbatch",
            "sinfo",
            "squeue",
            "munged",
            "setpriv",
            "nsenter",
            "ip",
        ];
        let missing: Vec<&str> = needed
            .iter()
            .copied()
            .filter(|p| program(p).is_none())
            .collect();
        if !missing.is_empty() {
            unavailable(&format!(
                "cannot start Slurm: {} not installed (apt-get install slurm-wlm munge \
                 iproute2 util-linux)",
                missing.join(", ")
            ));
            return Ok(None);
        }
        let key = Path::new("/etc/munge/munge.key");
        if !key.is_file() {
            unavailable("cannot start Slurm: no /etc/munge/munge.key (run /usr/sbin/mungekey)");
            return Ok(None);
        }

        let turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let stamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        // Unique among running processes (pid, counter), and not the name of what a
        // killed earlier process with the same pid may have left behind (the clock).
        let unique = format!("{}-{n}-{stamp}", std::process::id());
        let dir = PathBuf::from(format!("/tmp/ranklog-slurm-{unique}"));
        let mut cluster = Cluster {
            dir: dir.clone(),
            ns: String::new(),
            daemons: Vec::new(),
            _turn: turn,
        };
        for sub in ["state", "spool", "log", "munge", "job"] {
            fs::create_dir_all(dir.join(sub)).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        let text = |p: &Path| p.to_string_lossy().into_owned();
        // munged checks that its socket's directory is its own and reachable by all.
        sh("chmod", &["755", &text(&dir), &text(&dir.join("job"))])?;
        sh("chown", &["munge:munge", &text(&dir.join("munge"))])?;

        // A namespace of its own: loopback, plus a veth pair that exists only inside it,
        // because Slurm resolves addresses with AI_ADDRCONFIG, which finds nothing where
        // loopback is the only interface.
        let ns = format!("rl-slurm-{unique}");
        sh("ip", &["netns", "add", &ns])?;
        cluster.ns = ns.clone();
        sh("ip", &["-n", &ns, "link", "set", "lo", "up"])?;
        sh(
            "ip",
            &[
                "-n", &ns, "link", "add", "s0", "type", "veth", "peer", "name", "s1",
            ],
        )?;
        sh(
            "ip",
            &["-n", &ns, "addr", "add", "10.78.0.1/24", "dev", "s0"],
        )?;
        sh("ip", &["-n", &ns, "link", "set", "s0", "up"])?;
        sh("ip", &["-n", &ns, "link", "set", "s1", "up"])?;

        let sock = dir.join("munge/munge.socket");
        let mut munged = Command::new(program("setpriv").expect("checked"));
        munged
            .args(["--reuid=munge", "--regid=munge", "--init-groups"])
            .arg(program("munged").expect("checked"))
            .arg("--foreground")
            .arg(format!("--socket={}", sock.display()))
            .arg(format!("--key-file={}", key.display()))
            .arg(format!(
                "--pid-file={}",
                dir.join("munge/munged.pid").display()
            ))
            .arg(format!(
                "--log-file={}",
                dir.join("munge/munged.log").display()
            ))
            .arg(format!(
                "--seed-file={}",
                dir.join("munge/munged.seed").display()
            ));
        cluster.spawn("munged", munged)?;
        cluster.wait_for("munged's socket", || sock.exists())?;

        let host = short_host();
        let conf = format!(
            "\
ClusterName=ranklogtest
SlurmctldHost={host}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={sock}
CredType=cred/munge
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation={dir}/state
SlurmdSpoolDir={dir}/spool
SlurmctldPidFile={dir}/slurmctld.pid
SlurmdPidFile={dir}/slurmd.pid
SlurmctldLogFile={dir}/log/slurmctld.log
SlurmdLogFile={dir}/log/slurmd.log
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SwitchType=switch/none
MpiDefault=none
ReturnToService=2
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
NodeName={host} NodeAddr=127.0.0.1 CPUs={CPUS} Sockets=1 CoresPerSocket={CPUS} ThreadsPerCore=1 RealMemory=1000
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
",
            sock = sock.display(),
            dir = dir.display(),
        );
        fs::write(dir.join("slurm.conf"), conf).map_err(|e| format!("slurm.conf: {e}"))?;

        let slurmctld = cluster.command("slurmctld", &["-D"]);
        cluster.spawn("slurmctld", slurmctld)?;
        let slurmd = cluster.command("slurmd", &["-D"]);
        cluster.spawn("slurmd", slurmd)?;
        let mut last = String::new();
        let (ns, dir) = (cluster.ns.clone(), cluster.dir.clone());
        let idle = cluster.wait_for("the node to be idle", || {
            let out = in_cluster(&ns, &dir, "sinfo", &["-h", "-o", "%T"])
                .stderr(Stdio::piped())
                .output();
            last = match out {
                Ok(o) => format!(
                    "{}{}",
                    String::from_utf8_lossy(&o.stdout).trim(),
                    String::from_utf8_lossy(&o.stderr).trim()
                ),
                Err(e) => e.to_string(),
            };
            last == "idle"
        });
        idle.map_err(|e| format!("{e}; sinfo said: {last}\n{}", cluster.logs()))?;
        Ok(Some(cluster))
    }

    /// A directory of the test's own (job scripts, log directories, what a job leaves),
    /// readable by every user; removed with the cluster.
    pub fn job_dir(&self) -> PathBuf {
        self.dir.join("job")
    }

    /// `PROGRAM ARGS` inside the cluster's namespace, with its config (`SLURM_CONF`) and
    /// none of this process's launcher or ranklog variables (`SLURM_*`, `OMPI_*`,
    /// `PMI_*`, `PMIX_*`, `RANKLOG_*`, `RANK`, `WORLD_SIZE`, `LOCAL_RANK`, `NO_COLOR`).
    /// `name` is a program's name (looked up on `PATH` and in the system directories) or
    /// its path.
    pub fn command(&self, name: &str, args: &[&str]) -> Command {
        in_cluster(&self.ns, &self.dir, name, args)
    }

    /// Starts a daemon in the foreground, its output going to `log/NAME.out`.
    fn spawn(&mut self, name: &'static str, mut cmd: Command) -> Result<(), String> {
        let out = File::create(self.dir.join(format!("log/{name}.out")))
            .map_err(|e| format!("log of {name}: {e}"))?;
        let err = out.try_clone().map_err(|e| format!("log of {name}: {e}"))?;
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("cannot start {name} ({cmd:?}): {e}"))?;
        self.daemons.push((name, child));
        Ok(())
    }

    /// Polls `done` every 100 ms; fails (naming a daemon that died) after START_TIMEOUT.
    fn wait_for(&mut self, what: &str, mut done: impl FnMut() -> bool) -> Result<(), String> {
        let start = Instant::now();
        loop {
            if done() {
                return Ok(());
            }
            let exited = self
                .daemons
                .iter_mut()
                .find_map(|(name, child)| Some((*name, child.try_wait().ok()??)));
            if let Some((name, status)) = exited {
                return Err(format!(
                    "waiting for {what}: {name} exited ({status})\n{}",
                    self.logs()
                ));
            }
            if start.elapsed() > START_TIMEOUT {
                return Err(format!(
                    "waiting for {what}: not after {START_TIMEOUT:?}\n{}",
                    self.logs()
                ));
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// The last 25 lines of every daemon's output, for failure messages.
    pub fn logs(&self) -> String {
        let mut all = String::new();
        for name in ["munged", "slurmctld", "slurmd"] {
            let path = self.dir.join(format!("log/{name}.out"));
            let text = fs::read_to_string(&path).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = &lines[lines.len().saturating_sub(25)..];
            all.push_str(&format!("--- {} (last lines) ---\n", path.display()));
            for line in tail {
                all.push_str(line);
                all.push('\n');
            }
        }
        all
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Reverse start order: slurmd, slurmctld, munged. SIGTERM, then SIGKILL.
        for (_, child) in self.daemons.iter_mut().rev() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(10) {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        if !self.ns.is_empty() {
            // Anything still in the namespace (a slurmstepd, a task) was started by it.
            if let Ok(out) = Command::new("ip")
                .args(["netns", "pids", &self.ns])
                .output()
            {
                for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                    let _ = Command::new("kill").args(["-KILL", pid]).status();
                }
            }
            let _ = Command::new("ip")
                .args(["netns", "del", &self.ns])
                .stderr(Stdio::null())
                .status();
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// `PROGRAM ARGS` inside the namespace `ns` of the cluster in `dir` (see
/// [`Cluster::command`]).
fn in_cluster(ns: &str, dir: &Path, name: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(program("nsenter").expect("checked"));
    cmd.arg(format!("--net=/run/netns/{ns}"))
        .arg(program(name).unwrap_or_else(|| PathBuf::from(name)))
        .args(args)
        .stdin(Stdio::null());
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        let launcher = ["SLURM_", "SLURMD_", "OMPI_", "PMI_", "PMIX_", "RANKLOG_"]
            .iter()
            .any(|p| key.starts_with(p));
        if launcher || ["RANK", "WORLD_SIZE", "LOCAL_RANK", "NO_COLOR"].contains(&&*key) {
            cmd.env_remove(&*key);
        }
    }
    cmd.env("SLURM_CONF", dir.join("slurm.conf"));
    cmd
}
