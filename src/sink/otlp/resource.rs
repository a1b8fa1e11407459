//! The rank's identity as OTLP resource attributes.
//!
//! | attribute | value | convention |
//! | --- | --- | --- |
//! | `service.name` | `OTEL_SERVICE_NAME`, else `service.name` in `OTEL_RESOURCE_ATTRIBUTES`, else the program's crate name ([`program_module`]) | OpenTelemetry service |
//! | `service.instance.id` | `<job>-<rank>`: the launcher's job id (`SLURM_JOB_ID`, ..., `nojob`, as the file name's `{job}`) and the rank | OpenTelemetry service |
//! | `host.name` | the node's host name | OpenTelemetry host |
//! | `process.pid` | this process's id, integer | OpenTelemetry process |
//! | `ranklog.rank`, `ranklog.world_size`, `ranklog.local_rank` | integers | ranklog |
//! | `ranklog.local_size`, `ranklog.nodes` | integers, when the launcher says | ranklog |
//! | `ranklog.node` | the index of the rank's node, `0..ranklog.nodes`, integer, when the launcher or MPI says ([`RankInfo::node`]) | ranklog |
//! | `ranklog.launcher` | where the identity came from (`mpi`, `slurm`, ...) | ranklog |
//!
//! `OTEL_RESOURCE_ATTRIBUTES` is read by the SDK and wins over all but `service.name`'s
//! default above.

use opentelemetry::KeyValue;
use opentelemetry_sdk::resource::{EnvResourceDetector, TelemetryResourceDetector};
use opentelemetry_sdk::Resource;

use crate::sink::job_id;
use crate::{program_module, RankInfo};

/// The resource of rank `info`'s records and metrics.
pub(super) fn for_rank(info: &RankInfo) -> Resource {
    let mut builder = Resource::builder_empty()
        .with_attributes(attributes(info, &job_id()))
        .with_detectors(&[
            Box::new(TelemetryResourceDetector),
            Box::new(EnvResourceDetector::new()),
        ]);
    if let Some(name) = std::env::var("OTEL_SERVICE_NAME")
        .ok()
        .filter(|s| !s.trim().is_empty())
    {
        builder = builder.with_service_name(name);
    }
    builder.build()
}

/// ranklog's own attributes for `info` in job `job`.
fn attributes(info: &RankInfo, job: &str) -> Vec<KeyValue> {
    let mut kv = vec![
        KeyValue::new("service.name", program_module()),
        KeyValue::new("service.instance.id", format!("{job}-{}", info.rank)),
        KeyValue::new("host.name", info.host.clone()),
        KeyValue::new("process.pid", i64::from(std::process::id())),
        KeyValue::new("ranklog.rank", i64::from(info.rank)),
        KeyValue::new("ranklog.world_size", i64::from(info.size)),
        KeyValue::new("ranklog.local_rank", i64::from(info.local_rank)),
        KeyValue::new("ranklog.launcher", info.source.as_str()),
    ];
    if let Some(n) = info.local_size {
        kv.push(KeyValue::new("ranklog.local_size", i64::from(n)));
    }
    if let Some(n) = info.nodes {
        kv.push(KeyValue::new("ranklog.nodes", i64::from(n)));
    }
    if let Some(n) = info.node {
        kv.push(KeyValue::new("ranklog.node", i64::from(n)));
    }
    kv
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::{Key, Value};

    #[test]
    fn identity_attributes_are_integers_and_the_instance_names_job_and_rank() {
        let info = RankInfo::new(3, 8, 1, 4).unwrap();
        let r = Resource::builder_empty()
            .with_attributes(attributes(&info, "4711"))
            .build();
        let get = |k: &'static str| r.get(&Key::from_static_str(k));
        assert_eq!(get("ranklog.rank"), Some(Value::I64(3)));
        assert_eq!(get("ranklog.world_size"), Some(Value::I64(8)));
        assert_eq!(get("ranklog.local_rank"), Some(Value::I64(1)));
        assert_eq!(get("ranklog.local_size"), Some(Value::I64(4)));
        assert_eq!(get("service.instance.id"), Some(Value::from("4711-3")));
        assert_eq!(
            get("process.pid"),
            Some(Value::I64(i64::from(std::process::id())))
        );
    }

    #[test]
    fn the_node_index_is_an_integer_when_known_and_absent_when_not() {
        let get = |info: &RankInfo, k: &'static str| {
            Resource::builder_empty()
                .with_attributes(attributes(info, "4711"))
                .build()
                .get(&Key::from_static_str(k))
        };
        let known = RankInfo::from_vars([
            ("SLURM_STEP_ID", "0"),
            ("SLURM_PROCID", "5"),
            ("SLURM_NTASKS", "8"),
            ("SLURM_LOCALID", "1"),
            ("SLURM_NODEID", "1"),
            ("SLURM_STEP_TASKS_PER_NODE", "4(x2)"),
            ("SLURM_STEP_NUM_NODES", "2"),
        ])
        .unwrap();
        assert_eq!(get(&known, "ranklog.node"), Some(Value::I64(1)));
        assert_eq!(get(&known, "ranklog.nodes"), Some(Value::I64(2)));
        let unknown = RankInfo::new(3, 8, 1, 4).unwrap();
        assert_eq!(unknown.node, None);
        assert_eq!(get(&unknown, "ranklog.node"), None);
    }
}
