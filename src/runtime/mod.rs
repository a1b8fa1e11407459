//! The runtime: what runs between a log call and the sinks. On the caller's thread the
//! root drain ([`drain`]) asks the gate, collects an accepted record and moves it into the
//! bounded [`queue`]; the [`writer`] thread takes the queue in batches and has the sinks
//! write them; the [`guard`] owns the writer and flushes on drop, [`lifecycle`] on a panic,
//! a signal or [`exit`], [`at_exit`] on `exit()` with the guard alive, [`fatal`] on
//! SIGABRT, SIGSEGV, SIGBUS, SIGFPE and SIGILL. The [`registry`] remembers the logger
//! built last, for the scoped loggers ([`scoped`]), [`flush`] and the `log` bridge
//! ([`log_bridge`]). With the feature `tracing`, `tracing_layer` hands `tracing` events
//! to the root drain as slog records.
//!
//! ```text
//! caller ─► drain (gate: level, scope, once) ─► queue ─► writer thread ─► sinks
//!                                                 ▲
//!      guard drop, panic, signal, exit(), fatal signal, flush(): barrier, then close
//! ```

mod at_exit;
mod drain;
mod fatal;
mod guard;
mod keeps;
mod lifecycle;
mod log_bridge;
mod otlp;
mod own;
mod queue;
mod registry;
mod scoped;
mod settings;
mod stats;
#[cfg(feature = "tracing")]
mod tracing_layer;
mod watch;
mod writer;

pub use drain::{Overflow, RankDrain};
pub(crate) use guard::start;
pub use guard::Guard;
pub use keeps::keeps;
pub use lifecycle::{exit, flush};
pub use scoped::{global, group, local, scoped};
pub(crate) use settings::{ConsoleTarget, Settings};
pub use stats::LogStats;
