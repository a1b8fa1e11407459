//! A collected record as an OTLP log record, and the count of what the collector took.
//!
//! | JSONL field (`docs/schema.md`) | OTLP log record |
//! | --- | --- |
//! | `ts` | `time_unix_nano` (and `observed_time_unix_nano`: when the writer handed it over) |
//! | `level` | `severity_number` (trace 1, debug 5, info 9, warning 13, error 17, critical 21) and `severity_text` (the level's name in the schema) |
//! | `msg` | `body` (a string) |
//! | `file`, `line`, `module` | attributes `code.filepath`, `code.lineno`, `code.namespace` (OpenTelemetry's code attributes) |
//! | `scope` | attribute `ranklog.scope` |
//! | every other key-value | an attribute of the same name: integers, floats, booleans as such, text as a string, an error's chain of causes as a list of strings, `null` as an empty value |
//! | `rank`, `size`, `host`, `pid`, ... | not repeated: the resource (see [`super::resource`]) |

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry::logs::{AnyValue, LogRecord as _, Severity};
use opentelemetry::Key;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogBatch, LogExporter, SdkLogRecord};
use opentelemetry_sdk::Resource;
use slog::Level;

use crate::schema::level_name;
use crate::sink::record::{causes, Collected, Val};

/// OpenTelemetry's severity number for a slog level (the log data model's table:
/// TRACE 1-4, DEBUG 5-8, INFO 9-12, WARN 13-16, ERROR 17-20, FATAL 21-24).
pub(super) fn severity(level: Level) -> Severity {
    match level {
        Level::Critical => Severity::Fatal,
        Level::Error => Severity::Error,
        Level::Warning => Severity::Warn,
        Level::Info => Severity::Info,
        Level::Debug => Severity::Debug,
        Level::Trace => Severity::Trace,
    }
}

/// Fills `record` from `c`, written with scope `scope` (see the module's table).
pub(super) fn fill(record: &mut SdkLogRecord, c: &Collected, scope: &str) {
    record.set_timestamp(UNIX_EPOCH + Duration::from_nanos(c.ts_nanos));
    record.set_observed_timestamp(SystemTime::now());
    record.set_severity_number(severity(c.level));
    record.set_severity_text(level_name(c.level));
    record.set_body(AnyValue::from(c.msg().to_owned()));
    record.add_attribute("code.filepath", c.location.file);
    record.add_attribute("code.lineno", i64::from(c.location.line));
    record.add_attribute("code.namespace", c.location.module);
    record.add_attribute("ranklog.scope", scope.to_owned());
    for (key, val) in c.pairs() {
        record.add_attribute(Key::from_static_str(key), value(c, val));
    }
}

/// One key-value's value as an OTLP value.
fn value(c: &Collected, val: &Val) -> AnyValue {
    match val {
        Val::Str(r) => AnyValue::from(c.text(r).to_owned()),
        Val::U64(n) => {
            i64::try_from(*n).map_or_else(|_| AnyValue::Double(*n as f64), AnyValue::Int)
        }
        Val::I64(n) => AnyValue::Int(*n),
        Val::F64(x) => AnyValue::Double(*x),
        Val::Bool(b) => AnyValue::Boolean(*b),
        Val::Null => AnyValue::String("".into()),
        Val::Chain(r) => AnyValue::ListAny(Box::new(
            causes(c.text(r))
                .map(|cause| AnyValue::from(cause.to_owned()))
                .collect(),
        )),
    }
}

/// Counts the records handed to the exporter and those the collector acknowledged.
#[derive(Clone, Debug, Default)]
pub(crate) struct Delivery(Arc<Counts>);

#[derive(Debug, Default)]
struct Counts {
    sent: AtomicU64,
    delivered: AtomicU64,
}

impl Delivery {
    pub(super) fn count_sent(&self) {
        self.0.sent.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn sent(&self) -> u64 {
        self.0.sent.load(Ordering::Relaxed)
    }

    pub(super) fn delivered(&self) -> u64 {
        self.0.delivered.load(Ordering::Relaxed)
    }

    /// The counts so far, for exporters that ended in time (`finished`) or not.
    pub(crate) fn report(&self, finished: bool) -> super::OtlpReport {
        super::OtlpReport {
            sent: self.sent(),
            delivered: self.delivered(),
            finished,
        }
    }

    /// `exporter`, counting the records of every batch it delivers.
    pub(super) fn wrap<E: LogExporter>(&self, exporter: E) -> Counting<E> {
        Counting {
            inner: exporter,
            delivery: self.clone(),
        }
    }
}

/// A log exporter that counts what its inner exporter delivered.
#[derive(Debug)]
pub(super) struct Counting<E> {
    inner: E,
    delivery: Delivery,
}

impl<E: LogExporter> LogExporter for Counting<E> {
    async fn export(&self, batch: LogBatch<'_>) -> OTelSdkResult {
        let records = batch.iter().count() as u64;
        let result = self.inner.export(batch).await;
        if result.is_ok() {
            self.delivery
                .0
                .delivered
                .fetch_add(records, Ordering::Relaxed);
        }
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::record::with_collected;
    use opentelemetry::logs::{Logger as _, LoggerProvider as _};
    use opentelemetry_sdk::logs::SdkLoggerProvider;

    #[test]
    fn key_values_become_typed_attributes_and_the_location_code_attributes() {
        let provider = SdkLoggerProvider::builder().build();
        let logger = provider.logger("t");
        let values = slog::OwnedKVList::from(slog::o!("model" => "llama"));
        let kv = slog::o!("bytes" => 5u64, "ms" => 1.5f64, "ok" => true, "scope" => "global");
        with_collected(Level::Warning, format_args!("loaded"), &kv, &values, |c| {
            let mut r = logger.create_log_record();
            fill(&mut r, c, "global");
            assert_eq!(r.severity_number(), Some(Severity::Warn));
            assert_eq!(r.severity_text(), Some("warning"));
            assert_eq!(r.body(), Some(&AnyValue::from("loaded".to_owned())));
            let attr = |k: &str| {
                r.attributes_iter()
                    .find(|(key, _)| key.as_str() == k)
                    .map(|(_, v)| v.clone())
            };
            assert_eq!(attr("bytes"), Some(AnyValue::Int(5)));
            assert_eq!(attr("ms"), Some(AnyValue::Double(1.5)));
            assert_eq!(attr("ok"), Some(AnyValue::Boolean(true)));
            assert_eq!(attr("model"), Some(AnyValue::from("llama".to_owned())));
            assert_eq!(
                attr("ranklog.scope"),
                Some(AnyValue::from("global".to_owned()))
            );
            assert_eq!(
                attr("code.filepath"),
                Some(AnyValue::from(c.location.file.to_owned()))
            );
            assert_eq!(
                attr("code.lineno"),
                Some(AnyValue::Int(i64::from(c.location.line)))
            );
        });
    }

    #[test]
    fn levels_map_to_the_log_data_models_severity_numbers() {
        let numbers: Vec<i32> = [
            Level::Trace,
            Level::Debug,
            Level::Info,
            Level::Warning,
            Level::Error,
            Level::Critical,
        ]
        .into_iter()
        .map(|l| severity(l) as i32)
        .collect();
        assert_eq!(numbers, [1, 5, 9, 13, 17, 21]);
    }
}
