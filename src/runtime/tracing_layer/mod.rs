//! The `tracing` layer (feature `tracing`, [`Guard::tracing_layer`](crate::Guard::tracing_layer)):
//! `tracing` events enter ranklog where slog records do, at the root drain, as slog
//! records: the event's target is the record's module, its file and line the record's,
//! its message the record's message, its fields key-values and its spans' fields context.
//! From there they take the slog records' path: level and module filter, suppression,
//! scope gate, queue, writer thread, sinks.
//!
//! ```text
//! tracing::info!(..) ─► RankFilter (per call site, cached) ─► RankLayer::on_event
//!                        ─► slog Record (fields + span fields) ─► Pipeline (drain) ─► …
//! ```

mod fields;
mod filter;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use slog::{BorrowedKV, Drain, OwnedKVList, Record, RecordLocation, RecordStatic};
use tracing::span::{Attributes, Id, Record as SpanRecord};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use self::fields::{EventKv, Message, SpanFields};
use self::filter::{to_slog, RankFilter};
use super::drain::Pipeline;

/// Whether this process made a tracing layer: only then does a filter change rebuild
/// tracing's interest cache.
static MADE: AtomicBool = AtomicBool::new(false);

/// The layer over `pipeline`, with its per-layer filter.
pub(crate) fn layer<S>(pipeline: Arc<Pipeline>) -> impl Layer<S> + Send + Sync + 'static
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    MADE.store(true, Ordering::Release);
    RankLayer {
        pipeline: pipeline.clone(),
        no_values: OwnedKVList::from(slog::o!()),
    }
    .with_filter(RankFilter(pipeline))
}

/// Follows a change of the live filter (`ranklog level`): tracing's cached interests and
/// its maximum level were computed from the old one, so they are computed again.
pub(crate) fn filter_changed() {
    if MADE.load(Ordering::Acquire) {
        tracing::callsite::rebuild_interest_cache();
    }
}

/// Turns the events its [`RankFilter`] lets through into slog records for the pipeline,
/// and keeps each span's fields for the events inside it.
struct RankLayer {
    pipeline: Arc<Pipeline>,
    /// The logger context of every record: none (the spans' fields are the context).
    no_values: OwnedKVList,
}

impl<S> Layer<S> for RankLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = SpanFields::default();
        attrs.record(&mut fields);
        span.extensions_mut().insert(fields);
    }

    fn on_record(&self, id: &Id, values: &SpanRecord<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        match extensions.get_mut::<SpanFields>() {
            Some(fields) => values.record(fields),
            None => {
                let mut fields = SpanFields::default();
                values.record(&mut fields);
                extensions.insert(fields);
            }
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let meta = event.metadata();
        let location = RecordLocation {
            file: meta.file().unwrap_or(""),
            line: meta.line().unwrap_or(0),
            column: 0,
            function: "",
            module: meta.target(),
        };
        let rs = RecordStatic {
            location: &location,
            tag: "",
            level: to_slog(*meta.level()),
        };
        let kv = EventKv { event, ctx: &ctx };
        let msg = Message(event);
        // The drain's own checks (level, module, suppression) run again: a call site whose
        // interest was cached before a filter change is decided by the filter in force.
        let _ = self.pipeline.log(
            &Record::new(&rs, &format_args!("{msg}"), BorrowedKV(&kv)),
            &self.no_values,
        );
    }
}
