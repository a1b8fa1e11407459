//! Appending short byte strings without a call to `memcpy`: the caller's thread copies a
//! record's keys and paths into the ring's layout, and the writer thread copies cached
//! JSON fragments into its buffer, a dozen short copies a record each.

/// Copies `src` to `to`, short texts (keys, paths: up to 32 bytes) without a call to
/// `memcpy`, as two overlapping loads and stores of a word.
///
/// # Safety
///
/// `to` must be valid for `src.len()` bytes of writes and not overlap `src`.
#[inline(always)]
pub(crate) unsafe fn copy(src: &[u8], to: *mut u8) {
    // SAFETY (each arm): `n` is at least the word's size and the caller's guarantee
    // holds; see `two_words`.
    unsafe {
        match src.len() {
            16..=32 => two_words::<u128>(src, to),
            8..=15 => two_words::<u64>(src, to),
            4..=7 => two_words::<u32>(src, to),
            2..=3 => two_words::<u16>(src, to),
            1 => *to = src[0],
            0 => {}
            n => std::ptr::copy_nonoverlapping(src.as_ptr(), to, n),
        }
    }
}

/// Copies `src` (at least one `W` long, at most two) to `to` as its first and its last
/// `W`-sized word, which overlap when `src` is shorter than two words.
///
/// # Safety
///
/// `size_of::<W>() <= src.len()`; `to` valid for `src.len()` bytes of writes, apart from
/// `src`. The loads read `src` only, the stores write `to..to + src.len()` only.
#[inline(always)]
unsafe fn two_words<W: Copy>(src: &[u8], to: *mut u8) {
    let (n, w, from) = (src.len(), std::mem::size_of::<W>(), src.as_ptr());
    debug_assert!(w <= n && n <= 2 * w);
    // SAFETY: see the function's contract.
    unsafe {
        let (first, last) = (
            from.cast::<W>().read_unaligned(),
            from.add(n - w).cast::<W>().read_unaligned(),
        );
        to.cast::<W>().write_unaligned(first);
        to.add(n - w).cast::<W>().write_unaligned(last);
    }
}

/// Appends `bytes` to `out` (short ones through [`copy`]: no call to `memcpy`).
#[inline(always)]
pub(crate) fn put(out: &mut Vec<u8>, bytes: &[u8]) {
    let at = out.len();
    out.reserve(bytes.len());
    // SAFETY: `reserve` made room for `bytes.len()` bytes past `at`, which `copy` fills
    // from `bytes` (not part of the vector's spare capacity); the new length counts only
    // bytes written.
    unsafe {
        copy(bytes, out.as_mut_ptr().add(at));
        out.set_len(at + bytes.len());
    }
}
