//! Level and per-module filtering (`RANKLOG_LEVEL`, `RANKLOG_FILTER`), and the map between
//! slog's levels and the `log` crate's.

use slog::Level;

/// Decides by level and module whether a record is wanted at all.
pub(crate) struct LevelFilter {
    /// Minimum level when no directive matches (`RANKLOG_LEVEL`).
    level: Level,
    /// `RUST_LOG`-style directives (`RANKLOG_FILTER`), through `env_filter`.
    directives: Option<env_filter::Filter>,
    /// The directives' text, as given.
    text: Option<String>,
    /// The most verbose level any module may log at: cheaper records are rejected at once.
    most_verbose: Level,
}

/// slog's level as the `log` crate's: critical and error are both `log`'s error. The one
/// map between the two, for `RANKLOG_FILTER` (env_filter speaks `log`) and the `log` bridge.
pub(crate) fn to_log(level: Level) -> log::Level {
    match level {
        Level::Critical | Level::Error => log::Level::Error,
        Level::Warning => log::Level::Warn,
        Level::Info => log::Level::Info,
        Level::Debug => log::Level::Debug,
        Level::Trace => log::Level::Trace,
    }
}

/// The `log` crate's level filter as slog's most verbose level; `None` for `Off`.
fn from_log(level: log::LevelFilter) -> Option<Level> {
    match level {
        log::LevelFilter::Off => None,
        log::LevelFilter::Error => Some(Level::Error),
        log::LevelFilter::Warn => Some(Level::Warning),
        log::LevelFilter::Info => Some(Level::Info),
        log::LevelFilter::Debug => Some(Level::Debug),
        log::LevelFilter::Trace => Some(Level::Trace),
    }
}

impl LevelFilter {
    /// A filter on `level` alone, refined per module by `directives` when given.
    ///
    /// # Errors
    ///
    /// The `env_filter` parser's message when `directives` do not parse.
    pub(crate) fn new(level: Level, directives: Option<&str>) -> Result<LevelFilter, String> {
        let directives_text = directives;
        let directives = match directives {
            None => None,
            Some(text) => {
                let mut builder = env_filter::Builder::new();
                builder.filter_level(to_log(level).to_level_filter());
                builder.try_parse(text).map_err(|e| e.to_string())?;
                Some(builder.build())
            }
        };
        // With directives, env_filter decides; its scale stops at error, so a base level of
        // critical acts as error for modules without a directive.
        let most_verbose = match &directives {
            None => level,
            Some(f) => from_log(f.filter()).unwrap_or(Level::Critical),
        };
        Ok(LevelFilter {
            level,
            directives,
            text: directives_text.map(str::to_owned),
            most_verbose,
        })
    }

    /// A filter on `level` alone.
    pub(crate) fn plain(level: Level) -> LevelFilter {
        LevelFilter {
            level,
            directives: None,
            text: None,
            most_verbose: level,
        }
    }

    /// The minimum level of modules no directive names.
    pub(crate) fn level(&self) -> Level {
        self.level
    }

    /// The directives as given, if any.
    pub(crate) fn directives(&self) -> Option<&str> {
        self.text.as_deref()
    }

    /// Whether the level alone decides (no directives).
    pub(crate) fn is_plain(&self) -> bool {
        self.directives.is_none()
    }

    /// The most verbose level that can pass for some module.
    pub(crate) fn most_verbose(&self) -> Level {
        self.most_verbose
    }

    /// Whether a record of `level` from `module` passes.
    #[inline]
    pub(crate) fn enabled(&self, level: Level, module: &str) -> bool {
        if !level.is_at_least(self.most_verbose) {
            return false;
        }
        match &self.directives {
            None => level.is_at_least(self.level),
            Some(filter) => filter.enabled(
                &log::Metadata::builder()
                    .level(to_log(level))
                    .target(module)
                    .build(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_alone() {
        let f = LevelFilter::new(Level::Info, None).unwrap();
        assert!(f.enabled(Level::Info, "a"));
        assert!(f.enabled(Level::Error, "a"));
        assert!(!f.enabled(Level::Debug, "a"));
    }

    #[test]
    fn directives_quiet_one_module_and_open_another() {
        let f = LevelFilter::new(Level::Info, Some("hyper=warn,my::model=trace")).unwrap();
        assert!(!f.enabled(Level::Info, "hyper::client"));
        assert!(f.enabled(Level::Warning, "hyper::client"));
        assert!(f.enabled(Level::Trace, "my::model::load"));
        assert!(f.enabled(Level::Info, "other"));
        assert!(!f.enabled(Level::Debug, "other"));
        assert_eq!(f.most_verbose(), Level::Trace);
    }

    #[test]
    fn a_bare_level_in_the_directives_overrides_the_base_level() {
        let f = LevelFilter::new(Level::Info, Some("debug")).unwrap();
        assert!(f.enabled(Level::Debug, "x"));
    }

    #[test]
    fn bad_directives_are_an_error() {
        assert!(LevelFilter::new(Level::Info, Some("hyper=loud")).is_err());
    }
}
