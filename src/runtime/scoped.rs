//! Loggers bound to a scope at creation, deciding once whether this rank prints them.

use std::sync::Arc;

use slog::{Drain, Level, Logger, OwnedKV, OwnedKVList, Record};

use super::drain::Pipeline;
use super::registry::current;
use crate::{Scope, SCOPE_KEY};

/// Passes on only records at or above the ungated level: what a scope-bound logger of a
/// rank that does not print that scope keeps. One comparison per call.
struct UngatedOnly {
    pipeline: Arc<Pipeline>,
    ungated: Level,
}

impl Drain for UngatedOnly {
    type Ok = ();
    type Err = slog::Never;

    #[inline]
    fn log(&self, record: &Record<'_>, values: &OwnedKVList) -> Result<(), slog::Never> {
        if record.level().is_at_least(self.ungated) {
            self.pipeline.log(record, values)?;
        }
        Ok(())
    }

    #[inline]
    fn is_enabled(&self, level: Level) -> bool {
        level.is_at_least(self.ungated)
    }
}

/// A child of `log` bound to `scope`, decided once for this rank.
///
/// When this rank prints the scope, or its file keeps every record, the child is
/// `log.new(o!("scope" => scope))`. Otherwise its records below the ungated level are
/// dropped at the first comparison, as cheaply as a level-disabled record, and errors still
/// go through. Without a built ranklog logger in the process, the child is always the plain
/// one.
pub fn scoped(log: &Logger, scope: Scope) -> Logger {
    match current() {
        Some(a) if !a.file_all && a.gate.bound_scope_skips(scope) => Logger::root(
            UngatedOnly {
                pipeline: a.pipeline.clone(),
                ungated: a.gate.ungated,
            },
            OwnedKV((slog::SingleKV::from((SCOPE_KEY, scope)), log.list().clone())),
        ),
        _ => log.new(slog::o!(SCOPE_KEY => scope)),
    }
}

/// A child of `log` whose records print once per job (on rank 0); decided once, see
/// [`scoped`].
///
/// # Examples
///
/// ```
/// let guard = ranklog::init()?;
/// let once = ranklog::global(&guard.logger());
/// slog::info!(once, "model config"; "layers" => 80);
/// # Ok::<(), ranklog::Error>(())
/// ```
pub fn global(log: &Logger) -> Logger {
    scoped(log, Scope::Global)
}

/// A child of `log` whose records print once per node (on local rank 0); decided once, see
/// [`scoped`].
pub fn local(log: &Logger) -> Logger {
    scoped(log, Scope::Local)
}

/// A child of `log` whose records print once per group `name` (on the group's first
/// rank), e.g. once per model replica for `"tp"`; decided once, see [`scoped`]. A group
/// this rank has not declared ([`RankInfo::with_group`](crate::RankInfo::with_group))
/// prints as `process`, with a warning.
pub fn group(log: &Logger, name: &'static str) -> Logger {
    scoped(log, Scope::Group(name))
}
