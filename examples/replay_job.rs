//! Replays a job's rank files as a running job on other nodes would write them: each
//! `rank-NNNNN.jsonl` of SRC is appended to DST at RATE lines a second for SECONDS, 1/100
//! s of lines at a time, each line's time
//! (`"ts"`, the writer's second field) set to when it is written; when a file runs out,
//! its `process`-scope lines again (a job announces its start, its `global` and `local`
//! records, once), and the loggers' closing `log_stats` records are left out (a job
//! writes them at its end). The lines are the real
//! logger's (e.g. from `make_bench_logs`); only the time changes. Replaying costs a small
//! fraction of logging them, so a follower on this machine (`ranklog merge --follow DST`)
//! gets the CPU it would get on a launch node while the ranks log elsewhere
//! (`scripts/bench_live.sh`).
//!
//! ```text
//! cargo run --release --example make_bench_logs -- /dev/shm/src 64 20000
//! cargo run --release --example replay_job -- /dev/shm/src /dev/shm/dst 20000 10
//! ```

use std::fs::{self, File};
use std::io::Write;
use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};

/// Lines are written this often.
const TICK: Duration = Duration::from_millis(10);

/// The writer's own layout begins `{"v":<digits>,"ts":"`, then 27 characters of time.
const TS_KEY: &[u8] = b",\"ts\":\"";

/// One rank's lines, read once, and the file they are replayed into.
struct Rank {
    bytes: Vec<u8>,
    /// Each line's range (with its `\n`) and where its time starts.
    lines: Vec<(usize, usize, usize)>,
    next: usize,
    /// Where the replay starts again: after the last line not of the `process` scope.
    again: usize,
    out: File,
}

fn main() -> Result<()> {
    let usage = "usage: replay_job SRC DST RATE (lines/s per rank file) SECONDS";
    let mut args = std::env::args().skip(1);
    let src = PathBuf::from(args.next().context(usage)?);
    let dst = PathBuf::from(args.next().context(usage)?);
    let rate: f64 = args.next().context(usage)?.parse().context(usage)?;
    let seconds: f64 = args.next().context(usage)?.parse().context(usage)?;
    ensure!(
        rate > 0.0 && seconds > 0.0,
        "{usage}: RATE and SECONDS must be above 0"
    );
    let mut names: Vec<_> = fs::read_dir(&src)
        .with_context(|| format!("reading {}", src.display()))?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("rank-") && n.ends_with(".jsonl"))
        .collect();
    names.sort();
    ensure!(
        !names.is_empty(),
        "no rank-NNNNN.jsonl files in {}",
        src.display()
    );
    fs::create_dir_all(&dst).with_context(|| format!("creating {}", dst.display()))?;
    let mut ranks = names
        .iter()
        .map(|name| read_rank(&src.join(name), &dst.join(name)))
        .collect::<Result<Vec<_>>>()?;
    let per_tick = rate * TICK.as_secs_f64();
    let ticks = (seconds / TICK.as_secs_f64()).ceil() as u32;
    let started = Instant::now();
    let (mut written, mut chunk) = (0u64, Vec::new());
    for tick in 1..=ticks {
        let due = (per_tick * f64::from(tick)) as u64;
        let ts = now_rfc3339();
        for rank in &mut ranks {
            chunk.clear();
            for _ in written..due {
                let (start, end, at) = rank.lines[rank.next];
                rank.next += 1;
                if rank.next == rank.lines.len() {
                    rank.next = rank.again;
                }
                chunk.extend_from_slice(&rank.bytes[start..end]);
                let at = chunk.len() - (end - at);
                chunk[at..at + 27].copy_from_slice(&ts);
            }
            rank.out.write_all(&chunk)?;
        }
        written = due;
        thread::sleep((started + TICK * tick).saturating_duration_since(Instant::now()));
    }
    println!(
        "{} files x {written} lines replayed into {} in {:.1} s",
        names.len(),
        dst.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The lines of the rank file `src`, to be replayed into `dst` (made empty).
fn read_rank(src: &std::path::Path, dst: &std::path::Path) -> Result<Rank> {
    let bytes = fs::read(src).with_context(|| format!("reading {}", src.display()))?;
    let mut lines = Vec::new();
    let mut start = 0;
    for end in line_ends(&bytes) {
        let line = &bytes[start..end];
        let at = line
            .windows(TS_KEY.len())
            .position(|w| w == TS_KEY)
            .map(|i| start + i + TS_KEY.len())
            .filter(|&at| bytes.get(at + 27) == Some(&b'"'))
            .with_context(|| format!("a line of {} not in the writer's layout", src.display()))?;
        let stats = b"\"kind\":\"log_stats\"";
        if !line.windows(stats.len()).any(|w| w == stats) {
            lines.push((start, end, at));
        }
        start = end;
    }
    let process = |&(start, end, _): &(usize, usize, usize)| {
        let line = &bytes[start..end];
        let key = b"\"scope\":\"process\"";
        line.windows(key.len()).any(|w| w == key)
    };
    let again = lines.iter().rposition(|l| !process(l)).map_or(0, |i| i + 1);
    ensure!(
        again < lines.len(),
        "{} has no process-scope lines after its last other one",
        src.display()
    );
    let out = File::create(dst).with_context(|| format!("creating {}", dst.display()))?;
    Ok(Rank {
        bytes,
        lines,
        next: 0,
        again,
        out,
    })
}

/// The end (after its `\n`) of each whole line of `bytes`.
fn line_ends(bytes: &[u8]) -> impl Iterator<Item = usize> + '_ {
    bytes
        .iter()
        .enumerate()
        .filter(|(_, &b)| b == b'\n')
        .map(|(i, _)| i + 1)
}

/// The time now as the writer writes it, `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
fn now_rfc3339() -> [u8; 27] {
    let text = chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string();
    text.as_bytes().try_into().expect("27 characters")
}
