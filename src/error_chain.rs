//! [`ErrorChain`]: an error and its causes as one key-value, the slog counterpart of
//! Python's `logger.exception()` and vLLM's error logging.

use std::backtrace::{Backtrace, BacktraceStatus};
use std::error::Error as StdError;
use std::fmt;

use slog::{Key, Record, Serializer};

/// The key under which [`ErrorChain::backtrace`] adds the captured backtrace.
pub const BACKTRACE_KEY: &str = "backtrace";

/// An error and its chain of causes (`source()`), logged as one value:
/// `"error" => ranklog::ErrorChain(&err)`.
///
/// On ranklog's console it prints `outer: cause: root cause`; in the JSONL file it is an
/// array of the causes' texts, outermost first (`["outer","cause","root cause"]`), so that
/// `ranklog merge --grep` finds any of them. Other slog drains receive it through slog's
/// `Serializer::emit_error` (slog-term and slog-json print the same `: `-joined text).
/// With [`backtrace`](Self::backtrace), a captured backtrace follows under the key
/// [`BACKTRACE_KEY`].
///
/// # Examples
///
/// ```
/// use std::io;
///
/// #[derive(Debug, thiserror::Error)]
/// #[error("cannot load shard 3")]
/// struct LoadError(#[source] io::Error);
///
/// let guard = ranklog::Builder::new().no_console().build()?;
/// let err = LoadError(io::Error::other("disk quota exceeded"));
/// slog::error!(guard.logger(), "model load failed"; "error" => ranklog::ErrorChain(&err));
/// assert_eq!(
///     ranklog::ErrorChain(&err).to_string(),
///     "cannot load shard 3: disk quota exceeded"
/// );
/// # Ok::<(), ranklog::Error>(())
/// ```
#[derive(Clone, Copy)]
pub struct ErrorChain<'a>(pub &'a (dyn StdError + 'static));

impl<'a> ErrorChain<'a> {
    /// The error and each of its causes, outermost first.
    pub fn causes(&self) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
        std::iter::successors(Some(self.0), |&e: &&'a (dyn StdError + 'static)| e.source())
    }

    /// The chain with `backtrace`, e.g. `anyhow::Error::backtrace()` or one captured with
    /// `Backtrace::capture()` where the error was made (stable Rust cannot take one out of
    /// a `dyn Error`). It is logged only when it was captured (`RUST_BACKTRACE=1` or
    /// `RUST_LIB_BACKTRACE=1`, or `Backtrace::force_capture`).
    pub fn backtrace(self, backtrace: &'a Backtrace) -> WithBacktrace<'a> {
        WithBacktrace {
            chain: self,
            backtrace,
        }
    }
}

impl fmt::Debug for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.causes().map(|e| e.to_string()))
            .finish()
    }
}

impl fmt::Display for ErrorChain<'_> {
    /// The causes' texts joined with `: `.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, cause) in self.causes().enumerate() {
            if i > 0 {
                f.write_str(": ")?;
            }
            write!(f, "{cause}")?;
        }
        Ok(())
    }
}

impl slog::Value for ErrorChain<'_> {
    fn serialize(&self, _: &Record<'_>, key: Key, serializer: &mut dyn Serializer) -> slog::Result {
        serializer.emit_error(key, self.0)
    }
}

/// An [`ErrorChain`] with a backtrace; see [`ErrorChain::backtrace`].
#[derive(Clone, Copy, Debug)]
pub struct WithBacktrace<'a> {
    chain: ErrorChain<'a>,
    backtrace: &'a Backtrace,
}

impl slog::Value for WithBacktrace<'_> {
    fn serialize(
        &self,
        record: &Record<'_>,
        key: Key,
        serializer: &mut dyn Serializer,
    ) -> slog::Result {
        self.chain.serialize(record, key, serializer)?;
        if self.backtrace.status() == BacktraceStatus::Captured {
            serializer.emit_arguments(BACKTRACE_KEY, &format_args!("{}", self.backtrace))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Layer(&'static str, Option<Box<Layer>>);

    impl fmt::Display for Layer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }

    impl StdError for Layer {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            self.1.as_deref().map(|e| e as _)
        }
    }

    #[test]
    fn the_chain_reads_outermost_first() {
        let err = Layer(
            "outer",
            Some(Box::new(Layer(
                "cause",
                Some(Box::new(Layer("root", None))),
            ))),
        );
        let chain = ErrorChain(&err);
        assert_eq!(chain.to_string(), "outer: cause: root");
        assert_eq!(format!("{chain:?}"), r#"["outer", "cause", "root"]"#);
        assert_eq!(chain.causes().count(), 3);
    }
}
