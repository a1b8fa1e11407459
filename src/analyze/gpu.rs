//! [`GpuId`]: which GPU a `kind=gpu` record describes.

use super::record::{Record, Value};

/// A GPU (or MIG device) of a node, as its samples name it. Orders by node, index, MIG
/// index, UUID.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct GpuId {
    /// The node: the record's `host`.
    pub(crate) host: String,
    /// `gpu`, the NVML index; the parent GPU's for a MIG device.
    pub(crate) index: Option<u64>,
    /// `mig_index`, for a MIG device.
    pub(crate) mig_index: Option<u64>,
    /// `uuid`, the key of the device.
    pub(crate) uuid: Option<String>,
}

impl GpuId {
    pub(crate) fn of(rec: &Record<'_>) -> GpuId {
        GpuId {
            host: rec.host.to_string(),
            index: rec.field("gpu").and_then(Value::as_u64),
            mig_index: rec.field("mig_index").and_then(Value::as_u64),
            uuid: rec.field("uuid").and_then(Value::as_str).map(str::to_owned),
        }
    }

    /// `GPU 0`, `GPU 0 MIG 1`, or `GPU <uuid>` without an index.
    pub(crate) fn label(&self) -> String {
        match (self.index, self.mig_index, &self.uuid) {
            (Some(gpu), Some(mig), _) => format!("GPU {gpu} MIG {mig}"),
            (Some(gpu), None, _) => format!("GPU {gpu}"),
            (None, _, Some(uuid)) => format!("GPU {uuid}"),
            (None, _, None) => "GPU ?".to_owned(),
        }
    }
}
