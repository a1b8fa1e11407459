//! The root drain, on the caller's thread: filter, gate, stamp, queue.

use std::sync::Arc;

use slog::{BorrowedKV, Drain, Level, OwnedKVList, Record, RecordStatic};

use crate::filter::LevelFilter;
use crate::output::record::Meta;
use crate::output::Sinks;
use crate::scope::{self, Gate};

/// Decides, on the caller's thread and before the queue, whether a record is wanted: by
/// level and module, then by scope. A record this rank neither prints nor files is dropped
/// here without formatting or allocating. Wanted records get their timestamp and console
/// decision attached ([`Meta`]) and go to the writer thread.
pub(crate) struct Pipeline {
    pub(crate) filter: LevelFilter,
    pub(crate) gate: Arc<Gate>,
    /// Whether the file keeps records the console does not show (`RANKLOG_FILE_SCOPE=all`
    /// with a file open).
    pub(crate) file_all: bool,
    pub(crate) queue: slog_async::Async,
    /// The sinks themselves, written directly once the writer thread has stopped.
    pub(crate) sinks: Arc<Sinks>,
}

impl Drain for Pipeline {
    type Ok = ();
    type Err = slog::Never;

    #[inline]
    fn log(&self, record: &Record<'_>, values: &OwnedKVList) -> Result<(), slog::Never> {
        let level = record.level();
        if !self.filter.enabled(level, record.module()) {
            return Ok(());
        }
        let console = self.gate.level_passes(level)
            || self
                .gate
                .allows(level, scope::resolve(record, values).0.scope());
        if !console && !self.file_all {
            return Ok(());
        }
        let kv = (Meta::now(console), record.kv());
        let rs = RecordStatic {
            location: record.location(),
            tag: record.tag(),
            level,
        };
        let stamped = Record::new(&rs, record.msg(), BorrowedKV(&kv));
        if self.queue.log(&stamped, values).is_err() {
            // The writer thread is gone (the guard was dropped): write here, lose nothing.
            let _ = self.sinks.log(&stamped, values);
        }
        Ok(())
    }

    #[inline]
    fn is_enabled(&self, level: Level) -> bool {
        level.is_at_least(self.filter.most_verbose())
    }
}
