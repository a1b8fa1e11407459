//! The root drain, on the caller's thread: filter, gate, stamp, queue.

use std::sync::Arc;

use slog::{BorrowedKV, Drain, Level, OwnedKVList, Record, RecordStatic};

use crate::filter::LevelFilter;
use crate::once::{once_key, OnceMemory, ONCE_TAG};
use crate::output::record::Meta;
use crate::output::Sinks;
use crate::scope::{self, Gate};
use crate::suppress;

/// Decides, on the caller's thread and before the queue, whether a record is wanted: by
/// level and module (and any [`suppress`](crate::suppress)), then by scope, then, for the
/// `*_once!` macros' records, by whether it was seen before. A record this rank neither prints nor files is dropped
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
    /// Once-records already passed.
    pub(crate) once: OnceMemory,
}

impl Drain for Pipeline {
    type Ok = ();
    type Err = slog::Never;

    #[inline]
    fn log(&self, record: &Record<'_>, values: &OwnedKVList) -> Result<(), slog::Never> {
        let level = record.level();
        if !suppress::allows(level) || !self.filter.enabled(level, filter_target(record)) {
            return Ok(());
        }
        let console = self.gate.level_passes(level)
            || self
                .gate
                .decide_text(level, &scope::resolve(record, values))
                .prints();
        if !console && !self.file_all {
            return Ok(());
        }
        if record.tag() == ONCE_TAG && !self.once.first(once_key(record)) {
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
        level.is_at_least(self.filter.most_verbose()) && suppress::allows(level)
    }
}

/// What `RANKLOG_FILTER` directives match: the record's tag when it has one (records
/// bridged from the `log` crate carry their target there), else its module path.
#[inline]
fn filter_target<'a>(record: &'a Record<'a>) -> &'a str {
    match record.tag() {
        "" | ONCE_TAG => record.module(),
        target => target,
    }
}
