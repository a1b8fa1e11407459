//! A `tracing` event's fields as slog key-values, with the fields of its spans as context:
//! the event's message ([`Message`]), its other fields and its spans' fields
//! ([`EventKv`]), both read from the event when the pipeline asks, so that an event the
//! gate drops is never formatted.

use std::fmt;

use slog::{Key, Record, Serializer, KV};
use tracing::field::{Field, Visit};
use tracing::Event;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

/// The name tracing gives an event's message (`info!("text")`, or `message = ...`).
const MESSAGE: &str = "message";

/// An event's message, formatted when the record's message is.
pub(super) struct Message<'a>(pub(super) &'a Event<'a>);

impl fmt::Display for Message<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Write<'f, 'g> {
            f: &'f mut fmt::Formatter<'g>,
            result: fmt::Result,
        }
        impl Visit for Write<'_, '_> {
            fn record_str(&mut self, field: &Field, value: &str) {
                if field.name() == MESSAGE && self.result.is_ok() {
                    self.result = self.f.write_str(value);
                }
            }
            fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
                // `format_args!` values (the usual message) print the same with `{:?}`.
                if field.name() == MESSAGE && self.result.is_ok() {
                    self.result = write!(self.f, "{value:?}");
                }
            }
        }
        let mut w = Write { f, result: Ok(()) };
        self.0.record(&mut w);
        w.result
    }
}

/// Hands tracing's values to a slog serializer; the first error (the gate stops a walk
/// once it has found the scope) ends the walk.
struct Forward<'s> {
    serializer: &'s mut dyn Serializer,
    result: slog::Result,
    /// Whether the message field is left out (an event's: it is the record's message).
    skip_message: bool,
}

impl Forward<'_> {
    fn emit(&mut self, field: &Field, emit: impl FnOnce(&mut dyn Serializer, Key) -> slog::Result) {
        if self.result.is_ok() && !(self.skip_message && field.name() == MESSAGE) {
            self.result = emit(self.serializer, field.name());
        }
    }
}

impl Visit for Forward<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.emit(field, |s, k| s.emit_f64(k, value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.emit(field, |s, k| s.emit_i64(k, value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.emit(field, |s, k| s.emit_u64(k, value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.emit(field, |s, k| s.emit_bool(k, value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.emit(field, |s, k| s.emit_str(k, value));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.emit(field, |s, k| {
            s.emit_arguments(k, &format_args!("{value:?}"))
        });
    }
}

/// One span field's value, kept with the span (its fields are recorded once, when the
/// span is made or [`record`](tracing::Span::record)ed, and read for every event in it).
enum Owned {
    F64(f64),
    I64(i64),
    U64(u64),
    Bool(bool),
    /// A text value, or any other value as its `Debug` text.
    Text(String),
}

/// The fields of one span, in the span's extensions.
#[derive(Default)]
pub(super) struct SpanFields(Vec<(&'static str, Owned)>);

impl SpanFields {
    fn set(&mut self, key: &'static str, value: Owned) {
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => *v = value,
            None => self.0.push((key, value)),
        }
    }

    fn serialize(&self, serializer: &mut dyn Serializer) -> slog::Result {
        for (key, value) in &self.0 {
            match value {
                Owned::F64(v) => serializer.emit_f64(key, *v)?,
                Owned::I64(v) => serializer.emit_i64(key, *v)?,
                Owned::U64(v) => serializer.emit_u64(key, *v)?,
                Owned::Bool(v) => serializer.emit_bool(key, *v)?,
                Owned::Text(v) => serializer.emit_str(key, v)?,
            }
        }
        Ok(())
    }
}

impl Visit for SpanFields {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.set(field.name(), Owned::F64(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.set(field.name(), Owned::I64(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.set(field.name(), Owned::U64(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.set(field.name(), Owned::Bool(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.set(field.name(), Owned::Text(value.to_owned()));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.set(field.name(), Owned::Text(format!("{value:?}")));
    }
}

/// The key-values of a record made from a tracing event: the event's fields (not its
/// message), then the fields of the spans it is in, innermost first. That is the order of
/// a slog record's key-values and then its loggers' (the gate takes the first `scope`, so
/// the event's own scope wins over its spans', as a record's wins over its logger's).
pub(super) struct EventKv<'a, S> {
    pub(super) event: &'a Event<'a>,
    pub(super) ctx: &'a Context<'a, S>,
}

impl<S> KV for EventKv<'_, S>
where
    S: tracing::Subscriber + for<'l> LookupSpan<'l>,
{
    fn serialize(&self, _: &Record<'_>, serializer: &mut dyn Serializer) -> slog::Result {
        let mut forward = Forward {
            serializer,
            result: Ok(()),
            skip_message: true,
        };
        self.event.record(&mut forward);
        forward.result?;
        if let Some(scope) = self.ctx.event_scope(self.event) {
            for span in scope {
                if let Some(fields) = span.extensions().get::<SpanFields>() {
                    fields.serialize(forward.serializer)?;
                }
            }
        }
        Ok(())
    }
}
