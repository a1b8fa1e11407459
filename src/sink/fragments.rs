//! Escaped JSON of the `'static` texts a record carries, cached by their addresses: a call
//! site's `,"module":..,"file":..,"line":N` (with what the formatter puts before it, by
//! variant) and each key's `,"key":`. A call site's
//! location and a key are the same `'static` text on every record it makes, so the writer
//! thread escapes each once, not once a record.
//!
//! The caches are direct-mapped ([`SLOTS`] slots each, a slot replaced on a collision), so
//! their memory stays bounded however many call sites and keys a program has. A `'static`
//! text's address and length name its content: the text cannot change while the process
//! runs.

use slog::RecordLocation;

/// Slots of each cache (a power of two).
const SLOTS: usize = 64;

/// A `'static` text's address and length.
type Addr = (usize, usize);

fn addr(text: &'static str) -> Addr {
    (text.as_ptr() as usize, text.len())
}

/// The slot of an address: its top bits after a multiplication by 2^64 / φ (Fibonacci
/// hashing), so that texts a few bytes apart land apart.
fn slot(word: usize) -> usize {
    (word as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) as usize
        >> (usize::BITS - SLOTS.trailing_zeros())
}

/// What a call site's fragment is made from: its file, module and line, and the
/// formatter's variant.
type Site = (Addr, Addr, u32, u8);

/// One cached fragment: what it was made from and its bytes.
struct Cached<K> {
    of: K,
    json: Vec<u8>,
}

/// The caches of one formatter.
pub(crate) struct Fragments {
    sites: Vec<Option<Cached<Site>>>,
    keys: Vec<Option<Cached<Addr>>>,
}

impl Default for Fragments {
    fn default() -> Fragments {
        Fragments {
            sites: (0..SLOTS).map(|_| None).collect(),
            keys: (0..SLOTS).map(|_| None).collect(),
        }
    }
}

/// The fragment cached in `slot` for `of`, made by `make` (into an emptied buffer) when
/// the slot holds another's.
#[inline]
fn get<K: PartialEq + Copy>(
    slot: &mut Option<Cached<K>>,
    of: K,
    make: impl FnOnce(&mut Vec<u8>),
) -> &[u8] {
    if !matches!(slot, Some(cached) if cached.of == of) {
        fill(slot, of, make);
    }
    slot.as_ref().map_or(&[], |c| &c.json)
}

/// Makes `slot`'s fragment for `of` (a miss: once per text, out of the hot path).
#[cold]
#[inline(never)]
fn fill<K>(slot: &mut Option<Cached<K>>, of: K, make: impl FnOnce(&mut Vec<u8>)) {
    let mut json = slot.take().map(|c| c.json).unwrap_or_default();
    json.clear();
    make(&mut json);
    *slot = Some(Cached { of, json });
}

impl Fragments {
    /// The fragment of the call site `location` in variant `variant` (what else the
    /// fragment holds besides the location: the caller's choice); `make` writes it on a
    /// miss.
    #[inline]
    pub(crate) fn site(
        &mut self,
        location: &RecordLocation,
        variant: u8,
        make: impl FnOnce(&mut Vec<u8>),
    ) -> &[u8] {
        let of: Site = (
            addr(location.file),
            addr(location.module),
            location.line,
            variant,
        );
        let at = slot(
            of.0 .0 ^ (location.line as usize).rotate_left(17) ^ of.1 .0 ^ usize::from(variant),
        );
        get(&mut self.sites[at], of, make)
    }

    /// The fragment of `key`; `make` writes it on a miss.
    #[inline]
    pub(crate) fn key(&mut self, key: &'static str, make: impl FnOnce(&mut Vec<u8>)) -> &[u8] {
        let of = addr(key);
        get(&mut self.keys[slot(of.0 ^ of.1)], of, make)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fragment_is_made_once_and_remade_when_its_slot_is_taken() {
        let mut f = Fragments::default();
        let mut made = 0;
        for _ in 0..3 {
            let json = f.key("tokens", |out| {
                made += 1;
                out.extend_from_slice(b",\"tokens\":");
            });
            assert_eq!(json, b",\"tokens\":");
        }
        assert_eq!(made, 1);
        // Many keys: every answer is still its own key's, whatever slot it shares.
        let keys: Vec<&'static str> = (0..500)
            .map(|i| &*Box::leak(format!("k{i}").into_boxed_str()))
            .collect();
        for round in 0..2 {
            for key in &keys {
                let json = f.key(key, |out| out.extend_from_slice(key.as_bytes()));
                assert_eq!(json, key.as_bytes(), "round {round}");
            }
        }
        let at = |line| RecordLocation {
            file: "src/a.rs",
            line,
            column: 0,
            function: "",
            module: "a",
        };
        let one = f
            .site(&at(1), 0, |out| out.extend_from_slice(b"1"))
            .to_vec();
        let two = f
            .site(&at(2), 0, |out| out.extend_from_slice(b"2"))
            .to_vec();
        let other = f
            .site(&at(1), 1, |out| out.extend_from_slice(b"1b"))
            .to_vec();
        assert_eq!((one.as_slice(), two.as_slice()), (&b"1"[..], &b"2"[..]));
        assert_eq!(other, b"1b");
        assert_eq!(f.site(&at(1), 0, |out| out.extend_from_slice(b"1")), b"1");
    }
}
