//! The exporters' transport, from the standard variables: `OTEL_EXPORTER_OTLP_PROTOCOL`
//! (or the per-signal `OTEL_EXPORTER_OTLP_LOGS_PROTOCOL`, `_METRICS_PROTOCOL`) chooses
//! `http/protobuf` (the default; reqwest's blocking client) or `grpc` (tonic, on a
//! one-thread tokio runtime named `ranklog-otlp-grpc`). Endpoints, headers, timeouts and
//! compression are the SDK's to read (`OTEL_EXPORTER_OTLP_ENDPOINT`, `_LOGS_ENDPOINT`,
//! `_METRICS_ENDPOINT`, `_HEADERS`, `_TIMEOUT`, ...), as the specification says.

use std::time::Duration;

use opentelemetry_otlp::{
    LogExporter, MetricExporter, Protocol, RetryPolicy, WithExportConfig, WithHttpConfig,
    WithTonicConfig,
};

/// Most random delay added to each retry (the SDK's recommended policy adds at most
/// 100 ms): a thousand ranks whose collector comes back spread their retries over half a
/// second instead of a tenth.
const RETRY_JITTER: Duration = Duration::from_millis(500);

/// The SDK's recommended retries (3, from 100 ms doubling to 1.6 s), with more jitter.
fn retries() -> RetryPolicy {
    RetryPolicy::recommended().with_max_jitter(RETRY_JITTER)
}

/// How one signal is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Wire {
    HttpProtobuf,
    Grpc,
}

/// The protocol of a signal: its own variable, else `OTEL_EXPORTER_OTLP_PROTOCOL`, else
/// `http/protobuf`.
///
/// # Errors
///
/// A sentence naming the variable and its value for any other protocol.
fn wire(signal_var: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Wire, String> {
    let found = [signal_var, "OTEL_EXPORTER_OTLP_PROTOCOL"]
        .into_iter()
        .find_map(|var| env(var).filter(|v| !v.trim().is_empty()).map(|v| (var, v)));
    match found {
        None => Ok(Wire::HttpProtobuf),
        Some((var, value)) => match value.trim() {
            "http/protobuf" => Ok(Wire::HttpProtobuf),
            "grpc" => Ok(Wire::Grpc),
            "http/json" => Err(format!(
                "{var}={value:?}: http/json is not built into ranklog; use http/protobuf or grpc"
            )),
            _ => Err(format!(
                "invalid {var}={value:?}: expected http/protobuf or grpc"
            )),
        },
    }
}

/// What the exporters need kept alive until they are shut down: grpc's runtime, when a
/// signal uses grpc. Dropping it lets the runtime go without waiting for its tasks (a
/// connection still trying): a runtime's own drop blocks, which an application's async
/// context forbids.
pub(super) struct Keep {
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for Keep {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// The log and metric exporters the variables ask for.
///
/// # Errors
///
/// A sentence naming the variable or setting at fault (see [`wire`]; an endpoint the
/// SDK refuses; no thread for grpc's runtime).
pub(super) fn exporters() -> Result<(LogExporter, MetricExporter, Keep), String> {
    let env = |var: &str| std::env::var(var).ok();
    let logs = wire("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", &env)?;
    let metrics = wire("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", &env)?;
    let runtime = if logs == Wire::Grpc || metrics == Wire::Grpc {
        Some(
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("ranklog-otlp-grpc")
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start the grpc exporter's runtime: {e}"))?,
        )
    } else {
        None
    };
    let keep = Keep { runtime };
    // tonic's channel starts its connection task on the runtime it is built in.
    let entered = keep.runtime.as_ref().map(tokio::runtime::Runtime::enter);
    let built = build(logs, metrics);
    drop(entered);
    let (log_exporter, metric_exporter) = built?;
    Ok((log_exporter, metric_exporter, keep))
}

/// The exporters for the protocols `logs` and `metrics` (grpc inside its runtime).
///
/// # Errors
///
/// The SDK's refusal (an endpoint that is not a URL, say), naming the exporter.
fn build(logs: Wire, metrics: Wire) -> Result<(LogExporter, MetricExporter), String> {
    let built = |what: &str, e: opentelemetry_otlp::ExporterBuildError| {
        format!("cannot build the OTLP {what} exporter: {e}")
    };
    let log_exporter = match logs {
        Wire::HttpProtobuf => LogExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_retry_policy(retries())
            .build(),
        Wire::Grpc => LogExporter::builder()
            .with_tonic()
            .with_retry_policy(retries())
            .build(),
    }
    .map_err(|e| built("log", e))?;
    let metric_exporter = match metrics {
        Wire::HttpProtobuf => MetricExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_retry_policy(retries())
            .build(),
        Wire::Grpc => MetricExporter::builder()
            .with_tonic()
            .with_retry_policy(retries())
            .build(),
    }
    .map_err(|e| built("metric", e))?;
    Ok((log_exporter, metric_exporter))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn the_signals_own_protocol_wins_and_http_protobuf_is_the_default() {
        let logs = "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL";
        assert_eq!(wire(logs, &vars(&[])), Ok(Wire::HttpProtobuf));
        let both = vars(&[
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "http/protobuf"),
        ]);
        assert_eq!(wire(logs, &both), Ok(Wire::HttpProtobuf));
        assert_eq!(
            wire("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", &both),
            Ok(Wire::Grpc)
        );
    }

    #[test]
    fn an_unknown_protocol_is_refused_naming_the_variable() {
        let err = wire(
            "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL",
            &vars(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "carrier-pigeon")]),
        )
        .unwrap_err();
        assert_eq!(
            err,
            "invalid OTEL_EXPORTER_OTLP_PROTOCOL=\"carrier-pigeon\": expected http/protobuf or grpc"
        );
    }
}
