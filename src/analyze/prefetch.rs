//! Asking for memory before it is used: the collapsers look up the groups of the records a
//! few places ahead, so that the memory of a group a record joins is in the cache when
//! the record gets there.

/// Asks the CPU to bring the cache line holding `value` into its caches (`prefetcht0` on
/// x86_64; nothing elsewhere). A hint: it never faults and reads nothing the program sees.
#[inline(always)]
pub(crate) fn prefetch<T>(value: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `prefetcht0` never faults, whatever the address, and changes no memory; SSE,
    // which it needs, is part of every x86_64 CPU.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<{ _MM_HINT_T0 }>(value.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}

/// [`prefetch`]es the cache lines of `bytes` (those of its first `max` bytes).
#[inline]
pub(crate) fn prefetch_bytes(bytes: &[u8], max: usize) {
    let bytes = &bytes[..bytes.len().min(max)];
    for at in (0..bytes.len()).step_by(64) {
        prefetch(&bytes[at]);
    }
    if let Some(last) = bytes.last() {
        prefetch(last);
    }
}
