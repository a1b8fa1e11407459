//! [`RankWatch`]: which ranks went quiet, and which never wrote a file.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::analyze::parsed::Item;
use crate::analyze::RankSet;

/// What the watch has to say, as one line of text each.
pub(crate) type Notice = String;

/// A rank's last record, to name it when the rank goes quiet.
struct Last {
    at: Instant,
    ts_us: i64,
    host: String,
    msg: String,
    /// When it was said to be quiet, if it is.
    quiet_since: Option<Instant>,
    /// Its last record is its logger's closing one (`kind=log_stats`): it has ended, it
    /// is not quiet.
    closed: bool,
}

/// Follows when each rank last logged.
pub(crate) struct RankWatch {
    quiet_after: Duration,
    started: Instant,
    /// The job's world size, from the first record that says it.
    size: Option<u32>,
    ranks: BTreeMap<u32, Last>,
    /// When any rank last logged.
    newest: Option<Instant>,
    /// The ranks without a file already named.
    named_missing: RankSet,
}

impl RankWatch {
    /// Ranks silent for `quiet_after` are quiet; files missing that long after `started`
    /// are missing.
    pub(crate) fn new(quiet_after: Duration, started: Instant) -> RankWatch {
        RankWatch {
            quiet_after,
            started,
            size: None,
            ranks: BTreeMap::new(),
            newest: None,
            named_missing: RankSet::default(),
        }
    }

    /// The job's world size, once a record has said it.
    pub(crate) fn size(&self) -> Option<u32> {
        self.size
    }

    /// Notes `rank`'s record, arrived at `now`; a notice when the rank had been quiet.
    pub(crate) fn record(&mut self, rank: u32, rec: &Item<'_>, now: Instant) -> Option<Notice> {
        self.size = self.size.max(rec.size());
        self.newest = Some(now);
        let last = self.ranks.entry(rank).or_insert_with(|| Last {
            at: now,
            ts_us: rec.ts_us(),
            host: String::new(),
            msg: String::new(),
            quiet_since: None,
            closed: false,
        });
        let silent = now.saturating_duration_since(last.at);
        let notice = last.quiet_since.take().map(|_| {
            format!(
                "ranklog: rank {rank} ({}) logs again after {:.1} s quiet",
                one_line(&last.host),
                silent.as_secs_f64()
            )
        });
        last.at = now;
        last.ts_us = rec.ts_us();
        if last.host != rec.host() {
            last.host = rec.host().to_string();
        }
        last.msg.clear();
        last.msg.push_str(rec.msg());
        last.closed = rec.has_kind("log_stats");
        notice
    }

    /// Notices of ranks that went quiet by `now` while others kept logging, and, once the
    /// quiet period has passed since the start, of ranks without a file (`have_file`)
    /// in `dir`.
    pub(crate) fn check(
        &mut self,
        now: Instant,
        have_file: &dyn Fn(u32) -> bool,
        dir: &str,
        zone: crate::analyze::TimeZoneChoice,
    ) -> Vec<Notice> {
        let mut notices = Vec::new();
        let others_since = self
            .newest
            .map(|t| now.saturating_duration_since(t) < self.quiet_after);
        for (rank, last) in &mut self.ranks {
            let silent = now.saturating_duration_since(last.at);
            if !last.closed
                && last.quiet_since.is_none()
                && silent >= self.quiet_after
                && others_since == Some(true)
            {
                last.quiet_since = Some(now);
                let layout = crate::sink::clock::Layout::new("%H:%M:%S", 3, zone);
                let at = crate::sink::clock::format(
                    layout,
                    crate::sink::clock::EpochTime::from_micros(last.ts_us),
                );
                notices.push(format!(
                    "ranklog: WARN rank {rank} ({}) quiet: nothing logged for {:.0} s while \
                     other ranks log; its last record, at {at}: {}",
                    one_line(&last.host),
                    silent.as_secs_f64(),
                    one_line(&last.msg)
                ));
            }
        }
        if now.saturating_duration_since(self.started) >= self.quiet_after {
            notices.extend(self.missing_files(have_file, dir));
        }
        notices
    }

    /// A notice naming the ranks of the job without a file in `dir` not named before.
    pub(crate) fn missing_files(
        &mut self,
        have_file: &dyn Fn(u32) -> bool,
        dir: &str,
    ) -> Option<Notice> {
        let size = self.size?;
        let missing = RankSet::from_ranks(
            (0..size).filter(|&r| !have_file(r) && !self.named_missing.contains(r)),
        );
        if missing.is_empty() {
            return None;
        }
        let notice = format!(
            "ranklog: WARN {} of {size} {} no file in {dir}: is {dir} on a filesystem every \
             node sees ($HOME, NFS, Lustre, GPFS; not a node's own /tmp)?",
            ranks_word(&missing),
            if missing.len() == 1 { "has" } else { "have" }
        );
        self.named_missing = RankSet::from_ranks(
            (0..size).filter(|&r| self.named_missing.contains(r) || missing.contains(r)),
        );
        Some(notice)
    }
}

/// `rank 3` or `ranks 4-7`.
fn ranks_word(set: &RankSet) -> String {
    if set.len() == 1 {
        format!("rank {set}")
    } else {
        format!("ranks {set}")
    }
}

/// Text from a record, escaped onto one line.
fn one_line(text: &str) -> String {
    let mut out = Vec::new();
    crate::sink::escape::message_line(&mut out, text);
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::record::Record;
    use crate::analyze::TimeZoneChoice;

    fn rec(rank: u32, msg: &str, kind: &str) -> Vec<u8> {
        format!(
            r#"{{"ts":"2026-11-21T04:24:06.000000Z","level":"info","msg":"{msg}","rank":{rank},"size":4,"host":"h{rank}","kind":"{kind}"}}"#
        )
        .into_bytes()
    }

    #[test]
    fn a_silent_rank_is_quiet_once_a_closed_one_never_and_missing_files_are_named_once() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut watch = RankWatch::new(s(60), t0);
        let note = |w: &mut RankWatch, rank, msg, kind, at| {
            let line = rec(rank, msg, kind);
            w.record(
                rank,
                &Item::Parsed(&Record::parse(&line).unwrap(), &line),
                at,
            )
        };
        note(&mut watch, 0, "step 1", "x", t0);
        note(&mut watch, 1, "loading", "x", t0);
        note(&mut watch, 2, "bye", "log_stats", t0);
        note(&mut watch, 0, "step 2", "x", t0 + s(59));
        let have = |r: u32| r < 3;
        let check = |w: &mut RankWatch, at| w.check(at, &have, "DIR", TimeZoneChoice::Utc);
        let notices = check(&mut watch, t0 + s(61));
        assert_eq!(notices.len(), 2, "{notices:?}");
        assert!(
            notices[0].starts_with("ranklog: WARN rank 1 (h1) quiet: nothing logged for 61 s")
                && notices[0].ends_with("04:24:06.000: loading"),
            "{notices:?}"
        );
        assert!(
            notices[1].contains("rank 3 of 4 has no file in DIR"),
            "{notices:?}"
        );
        assert!(check(&mut watch, t0 + s(70)).is_empty(), "said once");
        let again = note(&mut watch, 1, "loaded", "x", t0 + s(80)).unwrap();
        assert_eq!(again, "ranklog: rank 1 (h1) logs again after 80.0 s quiet");
    }
}
