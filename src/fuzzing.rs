//! Entry points for the fuzz targets in `fuzz/` (built only with `--cfg fuzzing`, as
//! cargo-fuzz does): the private parsers and escapers, with their invariants checked.

use crate::gpu::GpuDevice;

/// Escapes `text` as a console message line and as a key-value word; panics if the output
/// could break a console line (a newline, a carriage return, an escape or another control
/// character) or a plain word was quoted.
pub fn console_escape(text: &str) {
    let mut line = Vec::new();
    crate::sink::escape::message_line(&mut line, text);
    let mut word = Vec::new();
    crate::sink::escape::word(&mut word, text);
    for out in [&line, &word] {
        let out = std::str::from_utf8(out).expect("escaping keeps UTF-8");
        assert!(
            !out.chars().any(|c| c.is_control() && c != '\t'),
            "a control character survived: {out:?}"
        );
        assert!(
            !out.contains(['\u{2028}', '\u{2029}', '\u{202e}']),
            "{out:?}"
        );
    }
    assert!(!word.contains(&b'\t'), "tabs are escaped in words");
}

/// Resolves `value` as `CUDA_VISIBLE_DEVICES` on a node of four GPUs, one of them split
/// into two MIG devices; panics if a device is listed twice or out of range.
pub fn cuda_visible_devices(value: &str) {
    let devices = [
        GpuDevice::gpu(0, "GPU-0a1b2c3d-0000-0000-0000-000000000000"),
        GpuDevice::gpu(1, "GPU-0a1b2c3d-1111-0000-0000-000000000000"),
        GpuDevice::gpu(2, "GPU-9f8e7d6c-2222-0000-0000-000000000000"),
        GpuDevice::mig(3, 0, "MIG-11112222-3333-0000-0000-000000000000"),
        GpuDevice::mig(3, 1, "MIG-11112222-4444-0000-0000-000000000000"),
    ];
    let visible = crate::gpu::resolve_visible(Some(value), &devices);
    let mut seen = visible.clone();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(
        seen.len(),
        visible.len(),
        "a device listed twice: {visible:?}"
    );
    assert!(visible.iter().all(|&i| i < devices.len()), "{visible:?}");
}
