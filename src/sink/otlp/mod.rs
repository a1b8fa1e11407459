//! The OTLP sink (feature `otlp`): every record the rank's file would keep goes to an
//! OpenTelemetry Collector as an OTLP log record ([`logs`]), its `gpu` and `inference`
//! records also as metrics ([`metrics`]), with the rank's identity as the resource
//! ([`resource`]); [`transport`] picks http/protobuf or grpc from the standard
//! `OTEL_EXPORTER_OTLP_*` variables.
//!
//! ```text
//! writer thread ─► Otlp::emit ─► BatchLogProcessor queue (bounded, try_send) ─► the SDK's batch thread ─► collector
//!                        └─────► GPU table, histograms ─► the SDK's PeriodicReader thread ─► collector
//! ```
//!
//! The writer thread only hands a record over (a non-blocking `try_send` into the SDK's
//! bounded queue, `OTEL_BLRP_MAX_QUEUE_SIZE`, 2048 by default): a collector that is down
//! or slow costs the callers and the writer nothing; what does not fit is dropped there.
//! The exporters retry failed batches with jittered exponential backoff (the SDK's
//! recommended policy, 3 retries from 100 ms doubling to 1.6 s, with up to 500 ms of
//! jitter instead of 100 ms: see [`transport`]).
//! [`Otlp::shut_down`] sends the last batches, which the runtime waits for at most
//! [`EXIT_WAIT`] before counting the records the collector never acknowledged.

mod logs;
mod metrics;
mod resource;
mod transport;

use std::time::Duration;

use opentelemetry::logs::{Logger as _, LoggerProvider as _};
use opentelemetry_sdk::logs::{SdkLogger, SdkLoggerProvider};
use opentelemetry_sdk::metrics::SdkMeterProvider;

use super::record::Collected;
use crate::RankInfo;
pub(crate) use logs::Delivery;
use metrics::Instruments;

/// The longest the job's end waits for the collector: the last batches of records and
/// metrics are sent within it or counted as undelivered, and the exporter threads still
/// busy (a collector that does not answer) are left to the process's exit.
pub(crate) const EXIT_WAIT: Duration = Duration::from_secs(2);

/// The instrumentation scope of ranklog's records and metrics.
const SCOPE_NAME: &str = "ranklog";

/// What the OTLP sink did, for the rank's `otlp_stats` record ([`Delivery::report`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct OtlpReport {
    /// Records handed to the exporter.
    pub(crate) sent: u64,
    /// Records the collector acknowledged.
    pub(crate) delivered: u64,
    /// Whether the exporters finished within [`EXIT_WAIT`].
    pub(crate) finished: bool,
}

impl OtlpReport {
    /// Records not delivered: dropped by a full queue, refused, or still unsent at the end.
    pub(crate) fn undelivered(&self) -> u64 {
        self.sent.saturating_sub(self.delivered)
    }
}

/// The running exporters: a logger provider with its batch thread, a meter provider with
/// its periodic thread, and the grpc runtime when the protocol is grpc.
pub(crate) struct Otlp {
    logger: SdkLogger,
    logs: SdkLoggerProvider,
    meters: SdkMeterProvider,
    instruments: Instruments,
    delivery: Delivery,
    /// What the transport needs kept alive (grpc's runtime).
    transport: transport::Keep,
}

impl std::fmt::Debug for Otlp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Otlp")
            .field("sent", &self.delivery.sent())
            .finish_non_exhaustive()
    }
}

impl Otlp {
    /// Starts the exporters for rank `info`, configured by the `OTEL_*` variables.
    ///
    /// # Errors
    ///
    /// A sentence naming the variable or setting at fault when an exporter cannot be
    /// built (an unknown `OTEL_EXPORTER_OTLP_PROTOCOL`, an endpoint that is not a URL, no
    /// thread for grpc's runtime): the caller logs it as a warning and goes on without
    /// OTLP.
    pub(crate) fn start(info: &RankInfo) -> Result<Otlp, String> {
        let resource = resource::for_rank(info);
        let delivery = Delivery::default();
        let (log_exporter, metric_exporter, keep) = transport::exporters()?;
        let logs = SdkLoggerProvider::builder()
            .with_resource(resource.clone())
            .with_batch_exporter(delivery.wrap(log_exporter))
            .build();
        let meters = SdkMeterProvider::builder()
            .with_resource(resource)
            .with_periodic_exporter(metric_exporter)
            .build();
        let instruments = Instruments::new(&meters);
        Ok(Otlp {
            logger: logs.logger(SCOPE_NAME),
            logs,
            meters,
            instruments,
            delivery,
            transport: keep,
        })
    }

    /// Hands `c`, written with scope `scope`, to the exporter: a log record, and for
    /// `gpu` and `inference` records their metrics. Never blocks.
    pub(crate) fn emit(&self, c: &Collected, scope: &str) {
        let mut record = self.logger.create_log_record();
        logs::fill(&mut record, c, scope);
        self.delivery.count_sent();
        self.logger.emit(record);
        self.instruments.observe(c);
    }

    /// The counts of what was sent and delivered, which go on counting until the
    /// exporters stop.
    pub(crate) fn delivery(&self) -> Delivery {
        self.delivery.clone()
    }

    /// Sends what is queued and stops the exporters. This waits for the collector: up to
    /// [`EXIT_WAIT`] for the records, and as long as the SDK's metric reader takes for the
    /// last metrics; the caller bounds the wait (it runs this on a thread of its own).
    /// Returns whether the records' exporter stopped before its [`EXIT_WAIT`] ran out (a
    /// collector that refused them counts as stopped; one that never answered does not).
    pub(crate) fn shut_down(self) -> bool {
        let Otlp {
            logger,
            logs,
            meters,
            instruments,
            delivery: _,
            transport,
        } = self;
        drop(logger);
        let logs_stopped = !matches!(
            logs.shutdown_with_timeout(EXIT_WAIT),
            Err(opentelemetry_sdk::error::OTelSdkError::Timeout(_))
        );
        let _ = meters.shutdown();
        drop(instruments);
        drop(transport);
        logs_stopped
    }
}
