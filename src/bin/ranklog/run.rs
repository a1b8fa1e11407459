//! `ranklog run -- COMMAND` and `ranklog merge --follow DIR`: a job's one live console.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, ExitStatus};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;

use ranklog::analyze::{self, AnalyzeError, FollowOptions, Follower, SummaryOptions};

/// The variables `ranklog run` sets for the ranks.
const VARS: [&str; 2] = ["RANKLOG_DIR", "RANKLOG_CONSOLE"];
/// Open MPI's list of variables its daemons set on every node (`mpirun -x` for each).
const OMPI_ENV_LIST: &str = "OMPI_MCA_mca_base_env_list";

/// What `ranklog run` was asked.
pub(crate) struct Run {
    pub(crate) dir: Option<PathBuf>,
    pub(crate) command: Vec<OsString>,
    pub(crate) follow: FollowOptions,
}

/// A fresh job directory under `logs/`, absolute (the ranks may start elsewhere).
fn fresh_dir() -> Result<PathBuf, AnalyzeError> {
    let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
    let base = PathBuf::from("logs").join(format!("run-{stamp}-{}", std::process::id()));
    std::fs::create_dir_all(&base).map_err(|source| AnalyzeError::Read {
        path: base.clone(),
        source,
    })?;
    Ok(std::path::absolute(&base).unwrap_or(base))
}

/// `OMPI_MCA_mca_base_env_list` with the ranks' variables added to what the user set:
/// Open MPI's daemons set them on every node; Hydra and Slurm pass the whole environment.
fn ompi_env_list(existing: Option<OsString>) -> OsString {
    let mut list = existing.unwrap_or_default();
    for var in VARS {
        let present = list
            .to_string_lossy()
            .split(';')
            .any(|item| item.split('=').next() == Some(var));
        if !present {
            if !list.is_empty() {
                list.push(";");
            }
            list.push(var);
        }
    }
    list
}

/// Whether this process is in the foreground of the terminal on stdin: then a Ctrl-C
/// (SIGINT) or a hang-up (SIGHUP) reaches COMMAND, which shares its process group, from
/// the terminal itself.
fn terminal_foreground() -> bool {
    // SAFETY: both calls only read the process's and the terminal's state.
    unsafe {
        let fg = libc::tcgetpgrp(libc::STDIN_FILENO);
        fg > 0 && fg == libc::getpgrp()
    }
}

/// Passes SIGINT, SIGTERM and SIGHUP on to COMMAND, and keeps them from ending `ranklog`
/// before COMMAND does; the last one seen is returned. SIGINT and SIGHUP are not passed on
/// when `ranklog` is in the terminal's foreground: the terminal sent them to COMMAND too,
/// and Open MPI's `mpirun` takes a second Ctrl-C as "kill at once".
fn forward_signals(child: u32) -> std::io::Result<Arc<AtomicI32>> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let last = Arc::new(AtomicI32::new(0));
    let seen = last.clone();
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    std::thread::Builder::new()
        .name("ranklog-run-signals".to_owned())
        .spawn(move || {
            for signal in signals.forever() {
                seen.store(signal, Ordering::Relaxed);
                let from_terminal = signal != SIGTERM && terminal_foreground();
                let pid = libc::pid_t::try_from(child).unwrap_or(0);
                if !from_terminal && pid > 0 {
                    // SAFETY: kill has no memory effects; the pid is our own child's.
                    unsafe {
                        libc::kill(pid, signal);
                    }
                }
            }
        })?;
    Ok(last)
}

/// COMMAND's exit status as a shell gives it: its code, or 128 + the signal that ended it.
fn exit_code(status: ExitStatus) -> u8 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => u8::try_from(code & 0xff).unwrap_or(1),
        (None, Some(signal)) => u8::try_from((128 + signal) & 0xff).unwrap_or(1),
        (None, None) => 1,
    }
}

/// Runs COMMAND with the ranks' console off and their files in the job directory,
/// printing the live view on stderr (where the ranks' consoles would have printed), then
/// the short summary and the directory. Exits with COMMAND's status.
pub(crate) fn run(args: Run) -> Result<ExitCode, AnalyzeError> {
    let dir = match args.dir {
        Some(dir) => {
            std::fs::create_dir_all(&dir).map_err(|source| AnalyzeError::Read {
                path: dir.clone(),
                source,
            })?;
            std::path::absolute(&dir).unwrap_or(dir)
        }
        None => fresh_dir()?,
    };
    let (program, rest) = args
        .command
        .split_first()
        .expect("clap requires the command");
    let mut command = Command::new(program);
    command
        .args(rest)
        .env("RANKLOG_DIR", &dir)
        .env("RANKLOG_CONSOLE", "off")
        .env(
            OMPI_ENV_LIST,
            ompi_env_list(std::env::var_os(OMPI_ENV_LIST)),
        );
    let invalid = |reason: String| AnalyzeError::InvalidArgument {
        option: "COMMAND",
        value: program.to_string_lossy().into_owned(),
        reason,
    };
    let mut child = command
        .spawn()
        .map_err(|e| invalid(format!("cannot start it: {e}")))?;
    let signals = forward_signals(child.id()).map_err(|e| invalid(e.to_string()))?;
    let zone = args.follow.time_zone;
    let mut follower = Follower::new(&dir, args.follow);
    let mut err = std::io::stderr();
    let status = follow_until_exit(&mut child, &mut follower, &mut err)?;
    follower.finish(&mut err)?;
    let code = exit_code(status);
    let mut end = String::new();
    match analyze::summarize(std::slice::from_ref(&dir), SummaryOptions::default()) {
        Ok(summary) => end.push_str(&summary.to_short_text(zone)),
        Err(AnalyzeError::NoRankFiles { .. }) => end.push_str(
            "no rank files: did COMMAND log through ranklog, with RANKLOG_DIR reaching its ranks?\n",
        ),
        Err(other) => end.push_str(&format!("no summary: {other}\n")),
    }
    let how = match signals.load(Ordering::Relaxed) {
        0 => String::new(),
        signal => format!(
            " (after {})",
            signal_hook::low_level::signal_name(signal).unwrap_or("a signal")
        ),
    };
    end.push_str(&format!(
        "\nranklog: {} exited with status {code}{how}; logs in {}\n",
        program.to_string_lossy(),
        dir.display()
    ));
    err.write_all(end.as_bytes())
        .and_then(|()| err.flush())
        .map_err(AnalyzeError::Output)?;
    Ok(ExitCode::from(code))
}

/// Polls the follower until COMMAND exits.
fn follow_until_exit(
    child: &mut Child,
    follower: &mut Follower,
    out: &mut dyn Write,
) -> Result<ExitStatus, AnalyzeError> {
    loop {
        follower.poll(out)?;
        if let Some(status) = child.try_wait().map_err(AnalyzeError::Output)? {
            return Ok(status);
        }
        std::thread::sleep(follower.poll_interval());
    }
}

/// `ranklog merge --follow DIR`: the live view of a job started elsewhere, on stdout,
/// until interrupted (Ctrl-C, SIGTERM), then what was still waiting.
pub(crate) fn follow(dir: &Path, options: FollowOptions) -> Result<(), AnalyzeError> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    for signal in [SIGINT, SIGTERM, SIGHUP] {
        signal_hook::flag::register(signal, stop.clone()).map_err(AnalyzeError::Output)?;
    }
    let mut follower = Follower::new(dir, options);
    let mut out = std::io::stdout();
    while !stop.load(Ordering::Relaxed) {
        follower.poll(&mut out)?;
        std::thread::sleep(follower.poll_interval());
    }
    follower.finish(&mut out)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ranks_variables_join_open_mpis_list_once() {
        assert_eq!(ompi_env_list(None), "RANKLOG_DIR;RANKLOG_CONSOLE");
        assert_eq!(
            ompi_env_list(Some("FOO=1;RANKLOG_DIR".into())),
            "FOO=1;RANKLOG_DIR;RANKLOG_CONSOLE"
        );
    }
}
