//! ranklog's own records (the job's first record, drop reports, panics, signals, the GPU
//! sampler's lines) name `ranklog` as their file, not a path into ranklog's sources: built
//! as a dependency, `file!()` is an absolute path into the cargo registry
//! (`/home/me/.cargo/registry/src/…/ranklog-0.1.0/src/runtime/guard.rs`), which means
//! nothing to the job's user. Their module (`ranklog::runtime::guard`) still says where.

use slog::{Drain, Logger, OwnedKVList, Record, RecordLocation, RecordStatic};

use super::drain::RankDrain;
use crate::schema::OWN_FILE;

/// A drain that gives every record the file [`OWN_FILE`], keeping its line, module,
/// level, tag, message and key-values.
struct OwnFile(RankDrain);

impl Drain for OwnFile {
    type Ok = ();
    type Err = slog::Never;

    fn log(&self, record: &Record<'_>, values: &OwnedKVList) -> Result<(), slog::Never> {
        let location = RecordLocation {
            file: OWN_FILE,
            line: record.line(),
            column: record.column(),
            function: record.function(),
            module: record.module(),
        };
        let rs = RecordStatic {
            location: &location,
            tag: record.tag(),
            level: record.level(),
        };
        self.0
            .log(&Record::new(&rs, record.msg(), record.kv()), values)
    }

    fn is_enabled(&self, level: slog::Level) -> bool {
        self.0.is_enabled(level)
    }
}

/// The logger ranklog writes its own records with, on `drain`'s pipeline.
pub(crate) fn own_logger(drain: RankDrain) -> Logger {
    Logger::root(OwnFile(drain), slog::o!())
}
