//! `CUDA_VISIBLE_DEVICES`: which of the node's devices CUDA shows this process, and which
//! of those are this rank's (`RANKLOG_GPU=rank`).

use super::source::GpuDevice;

/// The devices `CUDA_VISIBLE_DEVICES` makes visible, as positions in the source's device
/// list, in CUDA's order.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Visible {
    pub(crate) devices: Vec<usize>,
    /// The first entry that matched no device (or a device already listed): CUDA ignores
    /// it and every entry after it.
    pub(crate) invalid: Option<String>,
    /// Whether an integer entry was used (CUDA's order may differ from NVML's).
    pub(crate) by_index: bool,
    /// Whether every device of the node is visible (unset, or all listed).
    pub(crate) all: bool,
}

/// Resolves `CUDA_VISIBLE_DEVICES` against the node's devices, as CUDA does:
///
/// - unset: every device;
/// - empty: none;
/// - comma-separated entries, each an integer (NVML index; a MIG-enabled GPU gives its MIG
///   devices), `GPU-<uuid>` or `MIG-<uuid>`, where a unique prefix of the UUID is enough;
/// - the first entry that matches nothing, matches several devices, or repeats one ends
///   the list.
pub(crate) fn resolve(value: Option<&str>, devices: &[GpuDevice]) -> Visible {
    let Some(value) = value else {
        return Visible {
            devices: (0..devices.len()).collect(),
            invalid: None,
            by_index: false,
            all: true,
        };
    };
    let mut out = Visible {
        devices: Vec::new(),
        invalid: None,
        by_index: false,
        all: false,
    };
    if value.trim().is_empty() {
        return out;
    }
    for entry in value.split(',').map(str::trim) {
        let found = match entry.parse::<u32>() {
            Ok(index) if entry.bytes().all(|b| b.is_ascii_digit()) => {
                out.by_index = true;
                devices
                    .iter()
                    .enumerate()
                    .filter(|(_, d)| d.index == index)
                    .map(|(i, _)| i)
                    .collect()
            }
            _ => by_uuid(entry, devices).into_iter().collect(),
        };
        let found: Vec<usize> = found;
        if found.is_empty() || found.iter().any(|i| out.devices.contains(i)) {
            out.invalid = Some(entry.to_owned());
            break;
        }
        out.devices.extend(found);
    }
    out.all = out.devices.len() == devices.len();
    out
}

/// The one device whose UUID is `entry` or starts with it (`GPU-` or `MIG-` included).
fn by_uuid(entry: &str, devices: &[GpuDevice]) -> Option<usize> {
    // Bytes, not `str` slices: an entry may hold multi-byte characters.
    let entry = entry.as_bytes();
    let is_uuid = [b"GPU-", b"MIG-"]
        .iter()
        .any(|p| entry.len() > p.len() && entry[..p.len()].eq_ignore_ascii_case(*p));
    if !is_uuid {
        return None;
    }
    let starts = |d: &GpuDevice| {
        let uuid = d.uuid.as_bytes();
        uuid.len() >= entry.len() && uuid[..entry.len()].eq_ignore_ascii_case(entry)
    };
    let mut matches = devices.iter().enumerate().filter(|(_, d)| starts(d));
    match (matches.next(), matches.next()) {
        (Some((i, _)), None) => Some(i),
        _ => None,
    }
}

/// This rank's devices among the visible ones.
///
/// When `CUDA_VISIBLE_DEVICES` narrows the node's devices, the launcher bound them to this
/// rank (Slurm's `--gpus-per-task`, a per-rank wrapper script): all of them. When every
/// device is visible, local rank `r` of `n` takes the `r`-th equal share, as
/// `torch.cuda.set_device(local_rank)` does (device `r` when there are as many devices as
/// ranks), or device `r mod count` when there are fewer devices than ranks. Without a
/// known local rank or local size (`None`), all of them.
pub(crate) fn own(
    visible: &Visible,
    local_rank: u32,
    local_size: Option<u32>,
    local_known: bool,
) -> Vec<usize> {
    let v = &visible.devices;
    let ranks = match local_size {
        Some(ranks) if local_known && ranks > 1 && visible.all && !v.is_empty() => ranks,
        _ => return v.clone(),
    };
    let (n, ranks, r) = (v.len(), ranks as usize, local_rank as usize);
    if n >= ranks {
        let per = n / ranks;
        v[r * per..(r + 1) * per].to_vec()
    } else {
        vec![v[r % n]]
    }
}

/// Whether the node has whole GPUs of more than one model: then CUDA's default order
/// (fastest first) can differ from NVML's (PCI bus order).
pub(crate) fn mixed_models(devices: &[GpuDevice]) -> bool {
    let mut names = devices
        .iter()
        .filter(|d| !d.is_mig())
        .map(|d| d.name.as_deref());
    match names.next() {
        Some(first) => names.any(|n| n != first),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "GPU-aaaa1111-0000-0000-0000-000000000000";
    const B: &str = "GPU-aaaa2222-0000-0000-0000-000000000000";
    const C: &str = "GPU-cccc3333-0000-0000-0000-000000000000";
    const M0: &str = "MIG-dddd0000-0000-0000-0000-000000000000";
    const M1: &str = "MIG-dddd1111-0000-0000-0000-000000000000";

    /// GPUs 0..2 whole, GPU 3 MIG-enabled with two MIG devices.
    fn node() -> Vec<GpuDevice> {
        vec![
            GpuDevice::gpu(0, A).name("H100"),
            GpuDevice::gpu(1, B).name("H100"),
            GpuDevice::gpu(2, C).name("H100"),
            GpuDevice::mig(3, 0, M0).name("A100 MIG 1g.10gb"),
            GpuDevice::mig(3, 1, M1).name("A100 MIG 1g.10gb"),
        ]
    }

    #[test]
    fn cuda_visible_devices_table() {
        let devices = node();
        // (CUDA_VISIBLE_DEVICES, visible positions, first invalid entry)
        let table: &[(Option<&str>, &[usize], Option<&str>)] = &[
            (None, &[0, 1, 2, 3, 4], None),
            (Some(""), &[], None),
            (Some("  "), &[], None),
            (Some("0"), &[0], None),
            (Some("2,0"), &[2, 0], None),
            (Some(" 1 , 2 "), &[1, 2], None),
            (Some("3"), &[3, 4], None),
            (Some("0,7,1"), &[0], Some("7")),
            (Some("-1"), &[], Some("-1")),
            (Some("1,+2"), &[1], Some("+2")),
            (Some("0,,1"), &[0], Some("")),
            (Some("0,0"), &[0], Some("0")),
            (Some("x,0"), &[], Some("x")),
            (Some(A), &[0], None),
            (Some("GPU-cccc"), &[2], None),
            (Some("gpu-CCCC3333"), &[2], None),
            (Some("GPU-aaaa,2"), &[], Some("GPU-aaaa")),
            (Some("GPU-aaaa2,GPU-aaaa1"), &[1, 0], None),
            (Some("GPU-ffff,0"), &[], Some("GPU-ffff")),
            (Some("GPU-"), &[], Some("GPU-")),
            (Some(M1), &[4], None),
            (Some("MIG-dddd0,1"), &[3, 1], None),
            (Some("MIG-dddd"), &[], Some("MIG-dddd")),
            (Some("MIG-cccc3333"), &[], Some("MIG-cccc3333")),
            (Some("1,GPU-aaaa2"), &[1], Some("GPU-aaaa2")),
            // Found by the fuzzer (fuzz/fuzz_targets/cuda_visible_devices.rs): multi-byte
            // characters where a prefix is compared must not split a character.
            (Some("\u{fffd}\u{fffd}`"), &[], Some("\u{fffd}\u{fffd}`")),
            (Some("0,GPU\u{e9}-aa"), &[0], Some("GPU\u{e9}-aa")),
            (Some("GPU-\u{e9}"), &[], Some("GPU-\u{e9}")),
        ];
        for &(value, want, invalid) in table {
            let got = resolve(value, &devices);
            assert_eq!(got.devices, want, "CUDA_VISIBLE_DEVICES={value:?}");
            assert_eq!(
                got.invalid.as_deref(),
                invalid,
                "CUDA_VISIBLE_DEVICES={value:?}"
            );
        }
        assert!(resolve(Some("0,GPU-cccc"), &devices).by_index);
        assert!(!resolve(Some("GPU-cccc"), &devices).by_index);
        assert!(resolve(Some("0,1,2,3"), &devices).all);
        assert!(!resolve(Some("0,1"), &devices).all);
    }

    #[test]
    fn ranks_share_the_visible_devices_only_when_all_are_visible() {
        let devices: Vec<_> = (0..4)
            .map(|i| GpuDevice::gpu(i, format!("GPU-{i}")))
            .collect();
        let all = resolve(None, &devices);
        assert_eq!(own(&all, 2, Some(4), true), [2]);
        assert_eq!(own(&all, 1, Some(2), true), [2, 3]);
        assert_eq!(own(&all, 5, Some(8), true), [1]);
        assert_eq!(own(&all, 0, Some(4), false), [0, 1, 2, 3]);
        assert_eq!(own(&all, 0, Some(1), true), [0, 1, 2, 3]);
        // Flux: a local rank without a local size.
        assert_eq!(own(&all, 1, None, true), [0, 1, 2, 3]);
        // Narrowed by the launcher: this rank's own devices, whatever its local rank.
        let bound = resolve(Some("3,1"), &devices);
        assert_eq!(own(&bound, 1, Some(2), true), [3, 1]);
        assert!(own(&resolve(Some(""), &devices), 0, Some(2), true).is_empty());
    }

    #[test]
    fn mixed_models_look_at_whole_gpus_only() {
        assert!(!mixed_models(&node()));
        let mut mixed = node();
        mixed[1] = GpuDevice::gpu(1, B).name("L40S");
        assert!(mixed_models(&mixed));
        assert!(!mixed_models(&[]));
    }
}
