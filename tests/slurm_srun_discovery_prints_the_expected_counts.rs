//! Under a real Slurm (Debian's `slurm-wlm` and `munge`, started by the test on this
//! machine): `srun -n 4` ranks discover their identity from `SLURM_*` alone (rank from
//! `SLURM_PROCID`, local rank from `SLURM_LOCALID`, local size from
//! `SLURM_STEP_TASKS_PER_NODE`) and the scopes print the same line counts as under
//! `mpirun`. And what a batch script sees outside of `srun`.
//!
//! Each test starts its own single-node cluster ([`Cluster`]): `munged` on a private socket,
//! `slurmctld` and `slurmd` with a private `slurm.conf`, state, spool, pid and log files in a
//! fresh directory, inside a private network namespace (loopback plus a veth pair that
//! exists only there, so no traffic can leave and ports never collide with another run),
//! and stops all of it by pid when dropped, also when an assertion fails.
//!
//! No extra binary: this test binary runs itself under `srun` and in a batch script, for
//! two ignored tests: [`PROBE`] (with `RANKLOG_SLURM_PROBE=1` set) checks its identity
//! against the `SLURM_*` variables and logs one record per scope; [`BATCH_PROBE`] (with
//! `RANKLOG_SLURM_BATCH_PROBE=1`) prints what `RankInfo::from_env` says.
//!
//! Without root, Slurm or munge the tests print a skip line, except under CI (`CI` set),
//! where they fail: `scripts/setup.sh` installs `slurm-wlm` and `munge`.

mod common;

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::mpirun::find_on_path;
use common::nodes::{
    launcher_var, placement, run_status, this_host, unavailable, Job, ERROR, GLOBAL, LOCAL,
    LOCAL_LOGGER, PROCESS,
};
use common::probe_args;

/// The tasks' side, run by the job under `srun`.
const PROBE: &str = "probe_task_under_srun";
/// Set (to 1) for `srun`'s tasks by the test.
const PROBE_ENV: &str = "RANKLOG_SLURM_PROBE";
/// The tasks' log directory.
const DIR_ENV: &str = "RANKLOG_SLURM_PROBE_DIR";
/// The batch script's side, run by it outside of any `srun`.
const BATCH_PROBE: &str = "probe_batch_script_outside_srun";
/// Set (to 1) for the batch script by the test.
const BATCH_PROBE_ENV: &str = "RANKLOG_SLURM_BATCH_PROBE";
/// Number of tasks of the job.
const NTASKS: u32 = 4;
/// Longest a job may take, and longest the cluster may take to come up.
const JOB_TIMEOUT: Duration = Duration::from_secs(60);
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// What [`BATCH_PROBE`] prints before its report.
const REPORT: &str = "FROM_ENV ";

/// One cluster at a time in this process: two would only compete for the two cores.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The rank side under `srun` (see the module docs).
#[test]
#[ignore = "child process of srun_tasks_discover_slurm_and_print_the_expected_counts; run by it under srun"]
fn probe_task_under_srun() {
    common::probe_env(PROBE_ENV);
    let dir = common::probe_env(DIR_ENV);
    let info = ranklog::RankInfo::from_env().expect("Slurm's variables describe this task");
    assert_eq!(info.source, ranklog::Source::Slurm, "{info:?}");
    // No launcher but srun, and the local size from the step's tasks-per-node list.
    for absent in [
        "SLURM_NTASKS_PER_NODE",
        "OMPI_COMM_WORLD_RANK",
        "PMI_RANK",
        "RANK",
    ] {
        assert!(std::env::var_os(absent).is_none(), "{absent} is set");
    }
    let from_vars = (
        launcher_var("SLURM_PROCID"),
        launcher_var("SLURM_NTASKS"),
        launcher_var("SLURM_LOCALID"),
        launcher_var("SLURM_STEP_TASKS_PER_NODE"),
        launcher_var("SLURM_STEP_NUM_NODES"),
    );
    let got = (
        Some(info.rank),
        Some(info.size),
        Some(info.local_rank),
        info.local_size,
        info.nodes,
    );
    assert_eq!(got, from_vars, "{info:?}");
    assert_eq!(
        (info.size, info.local_size, info.nodes),
        (NTASKS, Some(NTASKS), Some(1)),
        "{info:?}"
    );
    common::nodes::log_markers(info, dir.as_ref());
}

/// The batch script's side: what `RankInfo::from_env` makes of a batch step's environment.
#[test]
#[ignore = "child process of the a_batch_script_* tests; run by their sbatch script"]
fn probe_batch_script_outside_srun() {
    common::probe_env(BATCH_PROBE_ENV);
    match ranklog::RankInfo::from_env() {
        Ok(i) => println!(
            "{REPORT}ok rank={} size={} local_rank={} local_size={} local_known={} nodes={} \
             source={}",
            i.rank,
            i.size,
            i.local_rank,
            i.local_size
                .map_or_else(|| "none".to_owned(), |n| n.to_string()),
            i.local_known,
            i.nodes.map_or_else(|| "none".to_owned(), |n| n.to_string()),
            i.source.as_str()
        ),
        Err(e) => println!("{REPORT}error {e}"),
    }
}

// ---- the cluster ---------------------------------------------------------------------------

/// A single-node Slurm cluster of this test; dropping it stops everything it started.
struct Cluster {
    /// Private directory: config, munge socket, state, spool, pid and log files.
    dir: PathBuf,
    /// Its network namespace; empty until made.
    ns: String,
    /// The daemons, in start order, by name.
    daemons: Vec<(&'static str, Child)>,
    /// This process's turn to run a cluster; released after the teardown.
    _turn: MutexGuard<'static, ()>,
}

/// Finds a program on `PATH` or in the system directories (`slurmd` and `munged` live in
/// `/usr/sbin`, which a non-login `PATH` may lack).
fn program(name: &str) -> Option<PathBuf> {
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
        let dir = PathBuf::from(format!(
            "/tmp/ranklog-slurm-{}-{n}-{stamp}",
            std::process::id()
        ));
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
        let ns = format!("rl-slurm-{}-{n}", std::process::id());
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
NodeName={host} NodeAddr=127.0.0.1 CPUs={NTASKS} Sockets=1 CoresPerSocket={NTASKS} ThreadsPerCore=1 RealMemory=1000
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

    /// `PROGRAM ARGS` inside the cluster's namespace, with its config and a clean
    /// launcher environment.
    fn command(&self, name: &str, args: &[&str]) -> Command {
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

    /// The last lines of every daemon's output, for failure messages.
    fn logs(&self) -> String {
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

/// `PROGRAM ARGS` inside the namespace `ns` of the cluster in `dir`, with its config and
/// without any launcher's variables of this process.
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

/// Starts a cluster (one at a time), or `None` when skipped; panics when it cannot start.
fn cluster() -> Option<Cluster> {
    match Cluster::start() {
        Ok(Some(cluster)) => Some(cluster),
        Ok(None) => None,
        Err(why) => panic!("cannot start Slurm: {why}"),
    }
}

// ---- srun -n 4 -----------------------------------------------------------------------------

#[test]
fn srun_tasks_discover_slurm_and_print_the_expected_counts() {
    let Some(cluster) = cluster() else {
        return;
    };
    let dir = cluster.dir.join("job/logs");
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut cmd = cluster.command("srun", &["-n", &NTASKS.to_string()]);
    cmd.arg(exe)
        .args(probe_args(PROBE))
        .env("RANKLOG_COLOR", "never")
        .env(PROBE_ENV, "1")
        .env(DIR_ENV, &dir);
    let done = run_status(cmd, JOB_TIMEOUT).unwrap_or_else(|why| panic!("{why}"));
    assert!(done.success(), "{}\n{}", done.describe(), cluster.logs());
    let places = placement(&[(&this_host(), NTASKS)], false);
    let job = Job::collect(done.out, &dir, places).unwrap_or_else(|why| panic!("{why}"));

    job.assert_printed_by(GLOBAL, &[0]);
    job.assert_printed_by(LOCAL, &[0]);
    job.assert_printed_by(LOCAL_LOGGER, &[0]);
    job.assert_printed_by("kind=job_start", &[0]);
    job.assert_printed_by(PROCESS, &[0, 1, 2, 3]);
    job.assert_printed_by(ERROR, &[0, 1, 2, 3]);
    assert!(
        job.console
            .contains("job of 4 ranks on 1 node, launched by Slurm"),
        "{}",
        job.console
    );
    job.assert_files("slurm", Some(1));
}

// ---- a batch script, outside srun --------------------------------------------------------------

/// What a batch script of `sbatch -n 4` saw: its `SLURM_*` variables and
/// [`BATCH_PROBE`]'s report.
struct Batch {
    env: BTreeMap<String, String>,
    report: String,
}

/// Submits a batch script (`sbatch -n 4`) that records its environment and runs
/// [`BATCH_PROBE`] outside of any `srun`; waits for it.
fn run_batch(cluster: &Cluster) -> Batch {
    let job = cluster.dir.join("job");
    let exe = std::env::current_exe().expect("the test binary's path");
    let script = job.join("batch.sh");
    let quote = |p: &Path| format!("'{}'", p.display().to_string().replace('\'', r"'\''"));
    fs::write(
        &script,
        format!(
            "#!/bin/sh\nenv > {env}\n{exe} {args} > {report} 2>&1\n\
             echo $? > {done}.tmp && mv {done}.tmp {done}\n",
            env = quote(&job.join("env.txt")),
            exe = quote(&exe),
            args = probe_args(BATCH_PROBE).join(" "),
            report = quote(&job.join("report.txt")),
            done = quote(&job.join("done")),
        ),
    )
    .expect("writing the batch script");
    let mut cmd = cluster.command(
        "sbatch",
        &[
            "--parsable",
            "-n",
            &NTASKS.to_string(),
            "-J",
            "ranklog-batch-probe",
            "-o",
            &job.join("batch.out").to_string_lossy(),
        ],
    );
    cmd.arg("--chdir").arg(&job).arg(&script);
    cmd.env(BATCH_PROBE_ENV, "1");
    let done = run_status(cmd, JOB_TIMEOUT).unwrap_or_else(|why| panic!("{why}"));
    assert!(done.success(), "{}\n{}", done.describe(), cluster.logs());
    // The scheduler starts it within a few seconds; poll for the script's last step.
    let start = Instant::now();
    while !job.join("done").exists() {
        if start.elapsed() > JOB_TIMEOUT {
            let queue = cluster
                .command("squeue", &[])
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default();
            panic!(
                "batch job {} did not finish in {JOB_TIMEOUT:?}\nsqueue:\n{queue}\n{}",
                done.out.stdout.trim(),
                cluster.logs()
            );
        }
        thread::sleep(Duration::from_millis(100));
    }
    let env = fs::read_to_string(job.join("env.txt"))
        .expect("the batch script's environment")
        .lines()
        .filter_map(|l| l.split_once('='))
        .filter(|(k, _)| k.starts_with("SLURM"))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let text = fs::read_to_string(job.join("report.txt")).expect("the batch probe's output");
    let report = text
        .lines()
        .find_map(|l| l.find(REPORT).map(|at| l[at + REPORT.len()..].to_owned()))
        .unwrap_or_else(|| panic!("no report from {BATCH_PROBE}:\n{text}"));
    Batch { env, report }
}

/// The facts of Slurm that discovery must live with: a batch script runs outside any step,
/// yet it has `SLURM_PROCID` (0), `SLURM_LOCALID` and the job's `SLURM_NTASKS`; what tells
/// it apart is the missing step (`SLURM_STEP_ID`, `SLURM_STEP_TASKS_PER_NODE`).
#[test]
fn a_batch_script_has_slurm_procid_but_no_step() {
    let Some(cluster) = cluster() else {
        return;
    };
    let batch = run_batch(&cluster);
    let env = &batch.env;
    let get = |k: &str| env.get(k).map(String::as_str);
    assert_eq!(get("SLURM_PROCID"), Some("0"), "{env:#?}");
    assert_eq!(get("SLURM_LOCALID"), Some("0"), "{env:#?}");
    assert_eq!(get("SLURM_NODEID"), Some("0"), "{env:#?}");
    assert_eq!(get("SLURM_NTASKS"), Some("4"), "{env:#?}");
    assert_eq!(get("SLURM_TASKS_PER_NODE"), Some("4"), "{env:#?}");
    for absent in [
        "SLURM_STEP_ID",
        "SLURM_STEPID",
        "SLURM_STEP_NUM_TASKS",
        "SLURM_STEP_TASKS_PER_NODE",
        "SLURM_NTASKS_PER_NODE",
    ] {
        assert_eq!(get(absent), None, "{absent} in a batch script: {env:#?}");
    }
    eprintln!(
        "batch script outside srun: RankInfo::from_env() = {}",
        batch.report
    );
}

/// A batch script is one process, not rank 0 of the job's `SLURM_NTASKS` ranks: otherwise
/// it writes `rank-00000.jsonl` next to the real rank 0 of the `srun` step that follows it
/// and claims a world size it does not have.
#[test]
fn a_batch_script_outside_srun_is_a_single_process() {
    let Some(cluster) = cluster() else {
        return;
    };
    let batch = run_batch(&cluster);
    assert!(
        batch.report.starts_with("ok rank=0 size=1 "),
        "RankInfo::from_env() in a batch script: {}",
        batch.report
    );
}
