//! The one error type of the library.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while discovering ranks or building the logger.
///
/// Every variant names the input at fault (the environment variable and its value, the
/// `Builder` method and its argument, or the path) and why it was rejected, so a message printed by a rank of a large job is enough
/// to fix the launch. Operating-system causes are the error's
/// [`source`](std::error::Error::source), not repeated in its message (anyhow and friends
/// print them as "Caused by"). Logging itself never returns errors: once built, the pipeline
/// reports write failures on stderr and keeps the job running.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An environment variable holds a value that cannot be used: not a number, negative,
    /// out of range, or not one of the accepted words. Also an MPI call's result that is
    /// not a rank or a count (`var` then names the call, e.g. `MPI_Comm_rank`).
    #[error("invalid {var}={value:?}: {reason}")]
    InvalidVar {
        /// The variable, e.g. `OMPI_COMM_WORLD_RANK` or `RANKLOG_LEVEL`.
        var: String,
        /// The value as found in the environment.
        value: String,
        /// Why the value was rejected.
        reason: String,
    },

    /// A [`Builder`](crate::Builder) method was given a value it refuses, by the same rule
    /// as the setting's `RANKLOG_*` variable (e.g. `Builder::queue_len(0)`).
    #[error("invalid {method}({value}): {reason}")]
    InvalidSetting {
        /// The method, e.g. `Builder::queue_len`.
        method: &'static str,
        /// The value given, as Rust's `Debug` writes it.
        value: String,
        /// Why the value was rejected.
        reason: String,
    },

    /// Two variables describe the same quantity differently, e.g. a rank that is not below
    /// the world size, or two launchers of the same process whose ranks disagree.
    #[error("{var_a}={value_a:?} contradicts {var_b}={value_b:?}: {reason}")]
    Contradiction {
        /// The first variable.
        var_a: String,
        /// Its value.
        value_a: String,
        /// The second variable.
        var_b: String,
        /// Its value.
        value_b: String,
        /// What the two values should satisfy.
        reason: String,
    },

    /// A launcher set some of its variables but not one that ranklog needs.
    #[error("{launcher} sets {present} but not {missing}: {hint}")]
    MissingVar {
        /// The launcher, e.g. [`Source::Torchrun`](crate::Source::Torchrun).
        launcher: crate::Source,
        /// The variables that were found, with their values, e.g.
        /// `PMI_ID=3, MPI_LOCALRANKID=1`.
        present: String,
        /// The variable that was expected next to it.
        missing: &'static str,
        /// What to do about it.
        hint: &'static str,
    },

    /// The log directory (`RANKLOG_DIR`) could not be created.
    #[error("cannot create log directory {path}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },

    /// The control file of a job's log directory (`ranklog level`) could not be written.
    #[error("cannot write the control file {path}")]
    Control {
        /// The file, `<RANKLOG_DIR>/.ranklog-control`.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },

    /// A crashed rank's records could not be recovered from its ring into its JSONL file
    /// (see [`recover`](crate::recover)).
    #[error("cannot recover records through {path}")]
    Recover {
        /// The ring, the JSONL file or the directory at fault.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },

    /// A per-rank log file could not be opened for appending.
    #[error("cannot open log file {path}")]
    OpenFile {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
}

/// Shorthand for results whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An [`Error::InvalidVar`] for `var=value`.
    pub(crate) fn invalid(var: &str, value: &str, reason: impl Into<String>) -> Self {
        Error::InvalidVar {
            var: var.to_owned(),
            value: value.to_owned(),
            reason: reason.into(),
        }
    }
}

/// The text of a panic's payload: the `&str` or `String` given to `panic!`, or
/// `"Box<dyn Any>"` for any other payload (as the standard library's hook prints it).
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("Box<dyn Any>")
}

#[cfg(test)]
mod tests {
    #[test]
    fn panic_messages_read_as_the_standard_hook_prints_them() {
        let text = std::panic::catch_unwind(|| panic!("static text")).unwrap_err();
        assert_eq!(super::panic_message(&*text), "static text");
        let formatted = std::panic::catch_unwind(|| panic!("rank {}", 3)).unwrap_err();
        assert_eq!(super::panic_message(&*formatted), "rank 3");
        let other = std::panic::catch_unwind(|| std::panic::panic_any(7u8)).unwrap_err();
        assert_eq!(super::panic_message(&*other), "Box<dyn Any>");
    }
}
