//! One check per setting, shared by the [`Builder`](super::Builder) methods and the
//! `RANKLOG_*` variables: each returns the value to keep or the reason it was refused, and
//! the caller names the input (`Builder::queue_len` or `RANKLOG_QUEUE_LEN`).

use slog::Level;

use crate::gate::level::LevelFilter;
use crate::identity::rank_list;

/// Largest accepted queue length, in records.
pub(crate) const MAX_QUEUE_LEN: usize = 1 << 24;
/// Largest accepted number of old segments.
pub(crate) const MAX_KEEP: usize = 100_000;
/// Smallest accepted rotation size, bytes.
pub(crate) const MIN_ROTATE_BYTES: u64 = 1024;
/// Largest accepted rotation size, bytes (64 GiB).
pub(crate) const MAX_ROTATE_BYTES: u64 = 64 << 30;

pub(crate) type Checked<T> = Result<T, String>;

pub(crate) fn queue_len(len: usize) -> Checked<usize> {
    if (1..=MAX_QUEUE_LEN).contains(&len) {
        Ok(len)
    } else {
        Err(format!("expected 1 to {MAX_QUEUE_LEN} records"))
    }
}

pub(crate) fn keep(keep: usize) -> Checked<usize> {
    if (1..=MAX_KEEP).contains(&keep) {
        Ok(keep)
    } else {
        Err(format!("expected 1 to {MAX_KEEP} old segments"))
    }
}

pub(crate) fn rotation_bytes(bytes: u64) -> Checked<u64> {
    if bytes < MIN_ROTATE_BYTES {
        Err(format!("at least {MIN_ROTATE_BYTES} bytes"))
    } else if bytes > MAX_ROTATE_BYTES {
        Err("too large, at most 64GiB per segment".to_owned())
    } else {
        Ok(bytes)
    }
}

/// Permission bits: at most `0o777`.
pub(crate) fn mode(mode: u32) -> Checked<u32> {
    if mode <= 0o777 {
        Ok(mode)
    } else {
        Err("expected octal permission bits such as 640".to_owned())
    }
}

/// `RUST_LOG`-style directives, parsed by env_filter as the logger will parse them.
pub(crate) fn filter(level: Level, directives: &str) -> Checked<()> {
    if directives.trim().is_empty() {
        return Err("empty; leave it unset, or give directives like info,hyper=warn".to_owned());
    }
    LevelFilter::new(level, Some(directives)).map(drop)
}

/// A rank list such as `0,3-5,last`.
pub(crate) fn rank_list(list: &str) -> Checked<()> {
    rank_list::contains(list, 0, 1).map(drop)
}

/// A file-name template: only `{rank}`, `{local_rank}`, `{host}`, `{job}`, and a name
/// inside the log directory.
pub(crate) fn file_name(template: &str) -> Checked<()> {
    crate::sink::check_template(template)
}

/// A slow-request threshold: positive, at most a day.
pub(crate) fn slow_request(threshold: std::time::Duration) -> Checked<std::time::Duration> {
    crate::gpu::check_slow_request(threshold)
}
