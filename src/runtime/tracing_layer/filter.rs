//! [`RankFilter`]: which `tracing` call sites ranklog wants, told to tracing once per call
//! site (its interest cache) and as a maximum level (`LevelFilter::current()`), so that a
//! disabled `tracing` event costs what it costs in tracing itself.

use std::sync::Arc;

use tracing::level_filters::LevelFilter;
use tracing::subscriber::Interest;
use tracing::Metadata;
use tracing_subscriber::layer::{Context, Filter};

use crate::gate::suppress_allows;
use crate::runtime::drain::Pipeline;

/// tracing's level as slog's: tracing has no critical, so its `ERROR` is slog's error.
pub(super) fn to_slog(level: tracing::Level) -> slog::Level {
    match level {
        tracing::Level::ERROR => slog::Level::Error,
        tracing::Level::WARN => slog::Level::Warning,
        tracing::Level::INFO => slog::Level::Info,
        tracing::Level::DEBUG => slog::Level::Debug,
        _ => slog::Level::Trace,
    }
}

/// slog's most verbose level as tracing's maximum level: critical and error are both
/// tracing's `ERROR`.
fn to_tracing(level: slog::Level) -> LevelFilter {
    match level {
        slog::Level::Critical | slog::Level::Error => LevelFilter::ERROR,
        slog::Level::Warning => LevelFilter::WARN,
        slog::Level::Info => LevelFilter::INFO,
        slog::Level::Debug => LevelFilter::DEBUG,
        slog::Level::Trace => LevelFilter::TRACE,
    }
}

/// The per-layer filter of ranklog's tracing layer: `RANKLOG_LEVEL` and `RANKLOG_FILTER`
/// (the live filter, which `ranklog level` may change) on the call site's level and
/// target, and, for events, any [`suppress`](crate::suppress) in force. Spans pass the
/// same level and target filter, so a span below the level adds no context, as with
/// tracing-subscriber's `EnvFilter`. The scope is decided later, per event, by the gate.
///
/// A per-layer filter (not `Layer::enabled`), so that what ranklog does not want stays
/// visible to the other layers of the same subscriber.
pub(super) struct RankFilter(pub(super) Arc<Pipeline>);

impl RankFilter {
    /// Whether the live level and module filter lets `meta`'s call site through.
    fn passes(&self, meta: &Metadata<'_>) -> bool {
        self.0.filter.enabled(to_slog(*meta.level()), meta.target())
    }
}

impl<S> Filter<S> for RankFilter {
    fn enabled(&self, meta: &Metadata<'_>, _: &Context<'_, S>) -> bool {
        self.passes(meta) && (meta.is_span() || suppress_allows(to_slog(*meta.level())))
    }

    /// `never` for a call site the level and module filter rejects: tracing caches that,
    /// and the call costs one load from then on. Every change of the filter rebuilds the
    /// cache ([`super::filter_changed`]). Suppression is checked per event, on the way in.
    fn callsite_enabled(&self, meta: &'static Metadata<'static>) -> Interest {
        if self.passes(meta) {
            Interest::always()
        } else {
            Interest::never()
        }
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(to_tracing(self.0.filter.most_verbose()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_map_both_ways_with_critical_as_error() {
        for (t, s) in [
            (tracing::Level::ERROR, slog::Level::Error),
            (tracing::Level::WARN, slog::Level::Warning),
            (tracing::Level::INFO, slog::Level::Info),
            (tracing::Level::DEBUG, slog::Level::Debug),
            (tracing::Level::TRACE, slog::Level::Trace),
        ] {
            assert_eq!(to_slog(t), s);
            assert_eq!(to_tracing(s), LevelFilter::from_level(t));
        }
        assert_eq!(to_tracing(slog::Level::Critical), LevelFilter::ERROR);
    }
}
