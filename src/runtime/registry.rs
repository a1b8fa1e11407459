//! The registry of the logger built last in this process, while its guard lives: what the
//! scoped-logger constructors, [`flush`](crate::flush), the panic hook and the signal
//! handlers reach without a handle.

use std::sync::{Arc, RwLock};

use slog::Logger;

use super::drain::Pipeline;
use crate::gate::Gate;

/// What the scoped-logger constructors need from the most recently built logger.
pub(crate) struct Active {
    pub(crate) pipeline: Arc<Pipeline>,
    pub(crate) gate: Arc<Gate>,
    /// Whether files keep records this rank's console does not show.
    pub(crate) file_all: bool,
}

/// The logger built last in this process; [`Guard`](crate::Guard) clears it when dropped.
static ACTIVE: RwLock<Option<Arc<Active>>> = RwLock::new(None);

/// The most recently built logger's parts, while its guard lives.
pub(crate) fn current() -> Option<Arc<Active>> {
    ACTIVE.read().unwrap_or_else(|e| e.into_inner()).clone()
}

impl Active {
    /// A root logger for ranklog's own records on this pipeline (no key-values; see
    /// [`own`](super::own)).
    pub(crate) fn own_logger(&self) -> Logger {
        super::own::own_logger(super::RankDrain(self.pipeline.clone()))
    }
}

pub(crate) fn activate(active: Arc<Active>) {
    *ACTIVE.write().unwrap_or_else(|e| e.into_inner()) = Some(active);
}

pub(crate) fn deactivate(active: &Arc<Active>) {
    let mut slot = ACTIVE.write().unwrap_or_else(|e| e.into_inner());
    if slot.as_ref().is_some_and(|a| Arc::ptr_eq(a, active)) {
        *slot = None;
    }
}
