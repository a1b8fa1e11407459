//! The gate: every per-record decision, on the caller's thread and before the queue. By
//! level and module ([`level`]), by a process-wide [`suppress`]ion, by scope ([`Gate`],
//! decided once per rank from its identity), and for the `*_once!` and rate-limited macros
//! by what was seen before ([`once`]). Nothing here keeps runtime state beyond those
//! decisions, and nothing here formats or allocates for a record it turns away.

mod decide;
pub(crate) mod level;
pub(crate) mod live;
mod macros;
pub(crate) mod once;
mod scope;
mod scope_gate;
mod suppress;

pub(crate) use decide::{Decision, Gate, ScopeText};
pub use once::{ONCE_CAPACITY, ONCE_TAG};
pub use scope::{Scope, UnknownScope, SCOPE_KEY};
pub use scope_gate::ScopeGate;
pub(crate) use suppress::allows as suppress_allows;
pub use suppress::{suppress, Suppressed};
