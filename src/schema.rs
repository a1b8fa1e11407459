//! The contract between the writer and the reader of the per-rank JSONL files
//! (`docs/schema.md`): the schema version, the fields every record has, the level names and
//! the files' default name. The sinks write by it and `analyze` reads by it; neither keeps
//! a copy.

use slog::Level;

/// The version of the JSONL schema (`docs/schema.md`) this build writes, in every record's
/// `"v"` field. Readers should warn about records with a newer version.
pub const SCHEMA_VERSION: u32 = 1;

/// Fields every record has (`docs/schema.md`); a key-value with one of these names is
/// written as `kv.<name>`. The reader (`analyze`) uses the same list.
pub(crate) const RESERVED: &[&str] = &[
    "v",
    "ts",
    "level",
    "msg",
    "rank",
    "size",
    "local_rank",
    "local_size",
    "host",
    "pid",
    "scope",
    "module",
    "file",
    "line",
];

/// The level named `name`: the names files use (`critical`, `error`, `warning`, `info`,
/// `debug`, `trace`), in any case, and slog's short ones (`crit`, `warn`). `None` for
/// anything else. One parser for `RANKLOG_LEVEL`, the files and the `ranklog` command.
pub(crate) fn level_from_name(name: &str) -> Option<Level> {
    let level = match name {
        "info" => Level::Info,
        "debug" => Level::Debug,
        "warning" => Level::Warning,
        "error" => Level::Error,
        "trace" => Level::Trace,
        "critical" => Level::Critical,
        // Not the exact lowercase name: the rarer path, with an allocation.
        _ => match name.to_ascii_lowercase().as_str() {
            "info" => Level::Info,
            "debug" => Level::Debug,
            "warning" | "warn" => Level::Warning,
            "error" => Level::Error,
            "trace" => Level::Trace,
            "critical" | "crit" => Level::Critical,
            _ => return None,
        },
    };
    Some(level)
}

/// The lowercase level name used in files and in `RANKLOG_LEVEL`.
pub(crate) fn level_name(level: Level) -> &'static str {
    match level {
        Level::Critical => "critical",
        Level::Error => "error",
        Level::Warning => "warning",
        Level::Info => "info",
        Level::Debug => "debug",
        Level::Trace => "trace",
    }
}

/// `"console" => false` on a record (or its logger) keeps it off the console: it goes to
/// the files only, e.g. per-GPU samples summed up by one console line.
pub const CONSOLE_KEY: &str = "console";
