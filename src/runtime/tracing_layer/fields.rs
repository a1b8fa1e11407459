//! A `tracing` event's fields as slog key-values, with the fields of its spans as context:
//! the event's message ([`Message`]), its other fields and its spans' fields
//! ([`EventKv`]), both read from the event when the pipeline asks, so that an event the
//! gate drops is never formatted.

use std::fmt;

use slog::{Key, Record, Serializer, KV};
use tracing::field::{Field, Visit};
use tracing::Event;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::{LookupSpan, SpanRef};

use crate::{Scope, SCOPE_KEY};

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

/// Which of an event's fields [`Forward`] hands on.
#[derive(Clone, Copy)]
enum Want {
    /// The first `scope` field.
    Scope,
    /// The field at this index.
    Index(usize),
}

/// Hands the wanted field of tracing's values to a slog serializer; an error (the gate
/// stops a walk once it has found the scope) ends the walk.
struct Forward<'s> {
    serializer: &'s mut dyn Serializer,
    result: slog::Result,
    want: Want,
    /// Whether the wanted field was seen.
    found: bool,
}

impl Forward<'_> {
    fn emit(&mut self, field: &Field, emit: impl FnOnce(&mut dyn Serializer, Key) -> slog::Result) {
        if self.found || self.result.is_err() {
            return;
        }
        let name = field.name();
        let wanted = match self.want {
            Want::Scope => name == SCOPE_KEY,
            Want::Index(i) => field.index() == i,
        };
        if wanted {
            self.found = true;
            self.result = emit(self.serializer, name);
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

/// Hands `event`'s field `want` to `serializer`; whether it had one.
fn forward(
    event: &Event<'_>,
    want: Want,
    serializer: &mut dyn Serializer,
) -> Result<bool, slog::Error> {
    let mut f = Forward {
        serializer,
        result: Ok(()),
        want,
        found: false,
    };
    event.record(&mut f);
    f.result.map(|()| f.found)
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

impl Owned {
    fn emit(&self, key: Key, serializer: &mut dyn Serializer) -> slog::Result {
        match self {
            Owned::F64(v) => serializer.emit_f64(key, *v),
            Owned::I64(v) => serializer.emit_i64(key, *v),
            Owned::U64(v) => serializer.emit_u64(key, *v),
            Owned::Bool(v) => serializer.emit_bool(key, *v),
            Owned::Text(v) => serializer.emit_str(key, v),
        }
    }
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

    fn has(&self, key: &str) -> bool {
        self.0.iter().any(|(k, _)| *k == key)
    }

    /// Hands the `scope` field on, if the span has one; whether it had.
    fn scope(&self, serializer: &mut dyn Serializer) -> Result<bool, slog::Error> {
        match self.0.iter().find(|(k, _)| *k == SCOPE_KEY) {
            Some((key, value)) => value.emit(key, serializer).map(|()| true),
            None => Ok(false),
        }
    }

    /// Hands the fields on, last first, but the scope and those `shadowed` says a closer
    /// source has.
    fn serialize_rev(
        &self,
        serializer: &mut dyn Serializer,
        shadowed: impl Fn(&str) -> bool,
    ) -> slog::Result {
        for (key, value) in self.0.iter().rev() {
            if *key != SCOPE_KEY && !shadowed(key) {
                value.emit(key, serializer)?;
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
/// message), then the fields of the spans it is in, innermost first; a key is taken from
/// the closest source that has it, as a slog record's key-values win over its logger's.
///
/// slog serializes a record's key-values newest first and ranklog's sinks turn them back
/// into the order written, taking the first value of a key. So they are handed on in that
/// order: first the scope that applies (the event's, else the innermost span's, else
/// `process`; the gate stops there), then the outermost span's fields down to the innermost's, each
/// last first, then the event's fields, last first (one pass per field: tracing visits in
/// order only, and an event has a handful). What the sinks show is the order above.
pub(super) struct EventKv<'a, S> {
    pub(super) event: &'a Event<'a>,
    pub(super) ctx: &'a Context<'a, S>,
}

/// The spans between a span and the event: the fields of the closer ones, innermost last.
struct Closer<'a> {
    fields: Option<&'a SpanFields>,
    next: Option<&'a Closer<'a>>,
}

impl Closer<'_> {
    fn has(&self, key: &str) -> bool {
        self.fields.is_some_and(|f| f.has(key)) || self.next.is_some_and(|n| n.has(key))
    }
}

impl<S> EventKv<'_, S>
where
    S: tracing::Subscriber + for<'l> LookupSpan<'l>,
{
    /// Hands on the fields of the spans from `spans` outwards, outermost first; `closer`
    /// holds the spans between them and the event.
    fn spans_rev<'s>(
        &self,
        mut spans: impl Iterator<Item = SpanRef<'s, S>>,
        closer: Option<&Closer<'_>>,
        serializer: &mut dyn Serializer,
    ) -> slog::Result {
        let Some(span) = spans.next() else {
            return Ok(());
        };
        let extensions = span.extensions();
        let fields = extensions.get::<SpanFields>();
        let here = Closer {
            fields,
            next: closer,
        };
        self.spans_rev(spans, Some(&here), serializer)?;
        let Some(fields) = fields else {
            return Ok(());
        };
        let event_fields = self.event.metadata().fields();
        fields.serialize_rev(serializer, |key| {
            event_fields.field(key).is_some() || closer.is_some_and(|c| c.has(key))
        })
    }
}

impl<S> KV for EventKv<'_, S>
where
    S: tracing::Subscriber + for<'l> LookupSpan<'l>,
{
    fn serialize(&self, _: &Record<'_>, serializer: &mut dyn Serializer) -> slog::Result {
        let fields = self.event.metadata().fields();
        let own_scope = fields.field(SCOPE_KEY).is_some();
        if !(own_scope && forward(self.event, Want::Scope, serializer)?) {
            let mut found = false;
            for span in self.ctx.event_scope(self.event).into_iter().flatten() {
                if let Some(fields) = span.extensions().get::<SpanFields>() {
                    found = fields.scope(serializer)?;
                }
                if found {
                    break;
                }
            }
            if !found {
                // No scope is process (the gate's and the sinks' reading of none), said at
                // once so that the gate's walk ends here.
                serializer.emit_str(SCOPE_KEY, Scope::Process.as_str())?;
            }
        }
        if let Some(scope) = self.ctx.event_scope(self.event) {
            self.spans_rev(scope, None, serializer)?;
        }
        for field in (0..fields.len()).rev().filter_map(|i| fields.iter().nth(i)) {
            if field.name() != MESSAGE && field.name() != SCOPE_KEY {
                forward(self.event, Want::Index(field.index()), serializer)?;
            }
        }
        Ok(())
    }
}
