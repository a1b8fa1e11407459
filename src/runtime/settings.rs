//! [`Settings`]: everything the runtime is started with, apart from the identity. The
//! [`Builder`](crate::Builder) fills it from its setters and the `RANKLOG_*` variables and
//! hands it over whole, so a new setting is one field here, its default, a setter and its
//! variable.

use std::fmt;
use std::io::Write;
use std::path::PathBuf;

use slog::Level;

use super::drain::Overflow;
use crate::gpu::GpuSettings;
use crate::sink::{ColorChoice, FileOptions, FileScope};

/// Default queue length, in records.
pub(crate) const DEFAULT_QUEUE_LEN: usize = 4096;

/// Where console lines go.
pub(crate) enum ConsoleTarget {
    Stderr,
    Writer(Box<dyn Write + Send>),
    Off,
}

impl fmt::Debug for ConsoleTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConsoleTarget::Stderr => "Stderr",
            ConsoleTarget::Writer(_) => "Writer(..)",
            ConsoleTarget::Off => "Off",
        })
    }
}

/// The validated settings of one logger (see the table on [`Builder`](crate::Builder)).
#[derive(Debug)]
pub(crate) struct Settings {
    pub(crate) level: Level,
    /// `RANKLOG_FILTER` directives, already parsed once to check them.
    pub(crate) filter: Option<String>,
    pub(crate) dir: Option<PathBuf>,
    pub(crate) file_scope: FileScope,
    pub(crate) color: ColorChoice,
    /// `NO_COLOR` is set and not empty.
    pub(crate) no_color: bool,
    /// Written before every console line (escaped when the console is made).
    pub(crate) prefix: String,
    pub(crate) all_ranks: bool,
    pub(crate) ungated_level: Level,
    pub(crate) queue_len: usize,
    pub(crate) console: ConsoleTarget,
    /// `RANKLOG_CONSOLE_RANKS`: the ranks whose console shows gated records.
    pub(crate) console_ranks: Option<String>,
    /// Whether to route the `log` crate's records here.
    pub(crate) log_bridge: bool,
    /// The GPU sampler's and the events' settings.
    pub(crate) gpu: GpuSettings,
    pub(crate) file: FileOptions,
    pub(crate) overflow: Overflow,
    /// Whether to flush on SIGTERM, SIGINT and SIGHUP.
    pub(crate) signals: bool,
    /// Whether to follow the log directory's control file (`ranklog level`).
    pub(crate) control: bool,
    /// Whether queued records are kept in a ring beside the file (they outlive a SIGKILL).
    pub(crate) crash_safe: bool,
    /// Whether records and GPU samples also go to an OpenTelemetry Collector (`otlp`).
    pub(crate) otlp: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            level: Level::Info,
            filter: None,
            dir: None,
            file_scope: FileScope::All,
            color: ColorChoice::Auto,
            no_color: false,
            prefix: String::new(),
            all_ranks: false,
            ungated_level: Level::Error,
            queue_len: DEFAULT_QUEUE_LEN,
            console: ConsoleTarget::Stderr,
            console_ranks: None,
            log_bridge: true,
            gpu: GpuSettings::default(),
            file: FileOptions::default(),
            overflow: Overflow::Block,
            signals: true,
            control: true,
            crash_safe: true,
            otlp: false,
        }
    }
}
