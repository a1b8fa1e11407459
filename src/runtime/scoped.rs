//! Loggers bound to a scope at creation, deciding once whether this rank prints them.

use slog::{Drain, Level, Logger, OwnedKVList, Record};

use super::drain::Pipeline;
use super::registry::current;
use crate::schema::LEVELS;
use crate::{Scope, SCOPE_KEY};

/// Passes on to the caller's logger only records at or above the ungated level: what a
/// scope-bound logger keeps on a rank that does not print that scope, when ranklog's
/// pipeline is the caller's only drain. One comparison per call.
struct UngatedOnly {
    /// The caller's logger: its drains and key-values.
    inner: Logger,
    ungated: Level,
}

impl Drain for UngatedOnly {
    type Ok = ();
    type Err = slog::Never;

    #[inline]
    fn log(&self, record: &Record<'_>, values: &OwnedKVList) -> Result<(), slog::Never> {
        if record.level().is_at_least(self.ungated) {
            Drain::log(&self.inner, record, values)?;
        }
        Ok(())
    }

    #[inline]
    fn is_enabled(&self, level: Level) -> bool {
        level.is_at_least(self.ungated) && self.inner.is_enabled(level)
    }
}

/// Whether `log` looks like a logger on `pipeline` alone: at every level, it wants a
/// record exactly when the pipeline does. A drain composed with the pipeline that wants a
/// level the pipeline does not (a plain slog drain wants every level) shows, and so does a
/// logger on other drains only.
fn on_pipeline_alone(log: &Logger, pipeline: &Pipeline) -> bool {
    LEVELS
        .iter()
        .all(|&level| log.is_enabled(level) == pipeline.is_enabled(level))
}

/// A child of `log` bound to `scope`, decided once for this rank.
///
/// The child keeps `log`'s drains and key-values, and adds `"scope" => scope`. Usually it
/// is `log.new(o!("scope" => scope))`: ranklog's gate then decides per record, and every
/// other drain `log` was composed with (e.g. with `slog::Duplicate` and
/// [`Guard::drain`](crate::Guard::drain)) sees every record, as it would without ranklog.
///
/// When this rank does not print the scope, its file does not keep every record, and
/// `log` is a logger on ranklog's pipeline alone (a [`Guard::logger`](crate::Guard::logger)
/// or a child of one), the child decides once instead: its records below the ungated level
/// are dropped at the first comparison, as cheaply as a level-disabled record, and errors
/// still go through `log`. "Alone" is judged from what slog shows of a drain, which levels
/// it wants (`Drain::is_enabled`): a drain composed with ranklog's that wants no level
/// ranklog's does not want cannot be told apart, and then misses the dropped records.
/// Without a built ranklog logger in the process, the child is always the plain one.
pub fn scoped(log: &Logger, scope: Scope) -> Logger {
    match current() {
        Some(a)
            if !a.file_all
                && a.gate.bound_scope_skips(scope)
                && on_pipeline_alone(log, &a.pipeline) =>
        {
            Logger::root(
                UngatedOnly {
                    inner: log.clone(),
                    ungated: a.gate.ungated,
                },
                slog::o!(SCOPE_KEY => scope),
            )
        }
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
