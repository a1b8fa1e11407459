//! When the per-rank file cannot be opened again after a rotation cut a segment,
//! file-rotate keeps no file and drops every later write with `Ok`. ranklog sees it, counts
//! those records as lost (`Guard::stats`, the final `log_stats` record), and writes again
//! once the file can be opened. The reopen fails here for real, as root too: the process
//! runs out of file descriptors (`EMFILE`) just as the segment is cut. (Process-wide: alone
//! in its test binary.)

mod common;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ranklog::{Builder, RankInfo, Rotation};
use slog::info;

const SECOND: Duration = Duration::from_secs(5);
const LIMIT: u64 = 1024;

/// The descriptor of this process open on `path`.
fn fd_of(path: &Path) -> i32 {
    let path = path.canonicalize().unwrap();
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| {
            let e = e.ok()?;
            let target = std::fs::read_link(e.path()).ok()?;
            (target == path).then(|| e.file_name().to_str()?.parse().ok())?
        })
        .next()
        .expect("the log file is open")
}

fn nofile() -> libc::rlimit {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid, writable `rlimit`.
    assert_eq!(
        unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) },
        0
    );
    limit
}

fn set_nofile(limit: &libc::rlimit) {
    // SAFETY: `limit` is a valid `rlimit`.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, limit) }, 0);
}

/// Every record of every segment of `path`.
fn all_segments(dir: &Path) -> String {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    names.sort();
    names
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap_or_default())
        .collect()
}

#[test]
fn a_failed_reopen_after_rotation_counts_records_as_lost() {
    let dir = common::temp_dir("failed-reopen");
    let guard = Builder::new()
        .rank_info(RankInfo::single())
        .dir(&dir)
        .no_console()
        .log_bridge(false)
        // No GPU sampler thread: it could try to load NVML (a descriptor) and log its
        // warning while descriptors are scarce, one more record lost.
        .gpu(ranklog::GpuMode::Off)
        .rotation(Rotation::Bytes(LIMIT))
        .unwrap()
        .build()
        .unwrap();
    let log = guard.logger();
    let path = guard.log_file().unwrap().to_owned();

    // Fill the current segment past its limit: the next write cuts it.
    while std::fs::metadata(&path).unwrap().len() <= LIMIT {
        info!(log, "m-before");
        assert!(guard.flush(SECOND));
    }
    assert_eq!(guard.stats().lost, 0);

    // Take every descriptor below the file's own and lower the limit to it: once the
    // rotation closes the file, no descriptor is left to open the new one.
    let fd = fd_of(&path);
    let mut held = Vec::new();
    loop {
        let f = File::open("/dev/null").unwrap();
        if std::os::fd::AsRawFd::as_raw_fd(&f) > fd {
            break;
        }
        held.push(f);
    }
    let saved = nofile();
    set_nofile(&libc::rlimit {
        rlim_cur: fd as libc::rlim_t,
        rlim_max: saved.rlim_max,
    });
    for n in 0..5 {
        info!(log, "m-lost"; "n" => n);
    }
    let flushed = guard.flush(SECOND);
    let lost = guard.stats().lost;
    set_nofile(&saved);
    drop(held);
    assert!(flushed);
    assert_eq!(
        lost, 5,
        "the records written while the file could not be reopened"
    );

    // The file opens again: writing resumes, nothing more is lost.
    for n in 0..3 {
        info!(log, "m-after"; "n" => n);
    }
    assert!(guard.flush(SECOND));
    assert_eq!(guard.stats().lost, 5);
    drop(guard);

    let text = all_segments(&dir);
    assert_eq!(common::count(&text, "m-lost"), 0, "{text}");
    assert_eq!(common::count(&text, "m-after"), 3, "{text}");
    let current = std::fs::read_to_string(&path).unwrap();
    let stats = current
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .rfind(|v| v["kind"] == "log_stats")
        .expect("a log_stats record ends the file");
    assert_eq!(stats["lost"], 5, "{stats}");
    let _ = std::fs::remove_dir_all(&dir);
}
