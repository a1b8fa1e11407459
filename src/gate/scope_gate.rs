//! [`ScopeGate`]: the scope gate as a slog drain adapter, for any slog drain.

use slog::{Drain, Level, OwnedKVList, Record};

use super::decide::Gate;
use crate::RankInfo;

/// A drain adapter that passes on only the records this rank must print.
///
/// Place it in front of any drain (and, in an async pipeline, in front of the queue, so
/// that a gated-out record is neither formatted nor sent). Deciding costs one walk of the
/// record's key-values (and, when it has no `scope`, its logger's), without allocating;
/// records at or above the ungated level skip the walk. It decides exactly as ranklog's own
/// logger does (the table on [`Scope`](crate::Scope)), with two differences: an unknown
/// scope value passes as `process` without the one-time warning (the gate writes no
/// records of its own), and there is no `RANKLOG_CONSOLE_RANKS` or `RANKLOG_ALL_RANKS`
/// (it has no settings but the identity and [`ungated_level`](Self::ungated_level)).
///
/// # Examples
///
/// ```
/// use slog::{o, Drain};
/// let info = ranklog::RankInfo::new(1, 4, 1, 4)?; // not the first rank of anything
/// let drain = ranklog::ScopeGate::new(slog::Discard, &info).fuse();
/// let log = slog::Logger::root(drain, o!());
/// slog::info!(log, "printed by rank 0 only"; "scope" => "global");
/// # Ok::<(), ranklog::Error>(())
/// ```
#[derive(Debug)]
pub struct ScopeGate<D> {
    drain: D,
    gate: Gate,
}

impl<D> ScopeGate<D> {
    /// Gates `drain` for the rank described by `info` (its groups included), with records
    /// at error level and above printed by every rank.
    pub fn new(drain: D, info: &RankInfo) -> ScopeGate<D> {
        ScopeGate {
            drain,
            gate: Gate::new(info, Level::Error, false),
        }
    }

    /// Changes the level at or above which every rank prints whatever the scope
    /// (default [`Level::Error`]).
    pub fn ungated_level(mut self, level: Level) -> ScopeGate<D> {
        self.gate.ungated = level;
        self
    }
}

impl<D: Drain> Drain for ScopeGate<D> {
    type Ok = Option<D::Ok>;
    type Err = D::Err;

    fn log(&self, record: &Record<'_>, values: &OwnedKVList) -> Result<Option<D::Ok>, D::Err> {
        let level = record.level();
        if self.gate.level_passes(level) || self.gate.decide_record(level, record, values).prints()
        {
            self.drain.log(record, values).map(Some)
        } else {
            Ok(None)
        }
    }

    fn is_enabled(&self, level: Level) -> bool {
        self.drain.is_enabled(level)
    }
}
