//! One collected record as bytes in the ring, and back: plain copies of its parts, so that
//! encoding on the caller's thread costs a few `memcpy`s.
//!
//! Layout, little-endian: `u32` total length (these 4 bytes included), `u8` level
//! (`Level::as_usize`), `u8` flags (1: has a scope), `u16` key-value count, `u64` time
//! (ns), `u32` line, `u16` file length, `u16` module length, `u32` message length, `u32`
//! arena length, `u32` scope start, `u32` scope length; then the file, module, message
//! and arena texts; then each key-value: `u16` key length, the key, a `u8` tag and the
//! value (two `u32` arena offsets for text and error chains, 8 bytes for numbers, 1 for a
//! boolean, nothing for null).

use std::collections::HashMap;

use slog::{Level, RecordLocation};

use super::super::record::{Collected, Val};

const FIXED: usize = 4 + 1 + 1 + 2 + 8 + 4 + 2 + 2 + 4 + 4 + 4 + 4;

const TAG_STR: u8 = 0;
const TAG_U64: u8 = 1;
const TAG_I64: u8 = 2;
const TAG_F64: u8 = 3;
const TAG_BOOL: u8 = 4;
const TAG_NULL: u8 = 5;
const TAG_CHAIN: u8 = 6;

/// Writes bytes at increasing offsets into spare capacity reserved beforehand: no bounds
/// check per part (a record is some 25 small parts, and this runs on the caller's thread).
struct Writer<'a> {
    out: &'a mut Vec<u8>,
    /// Bytes reserved past the vector's length.
    room: usize,
    at: usize,
}

impl<'a> Writer<'a> {
    /// A writer of exactly `total` bytes into `out`, which it empties.
    fn new(out: &'a mut Vec<u8>, total: usize) -> Writer<'a> {
        out.clear();
        out.reserve(total);
        Writer {
            out,
            room: total,
            at: 0,
        }
    }

    #[inline(always)]
    fn put(&mut self, bytes: &[u8]) {
        assert!(
            bytes.len() <= self.room - self.at,
            "encoded past the size computed"
        );
        // SAFETY: `out` has at least `room` bytes of spare capacity (reserved in `new`),
        // and `at + bytes.len() <= room` was just checked; the ranges cannot overlap.
        unsafe {
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                self.out.as_mut_ptr().add(self.at),
                bytes.len(),
            );
        }
        self.at += bytes.len();
    }

    /// Makes the written bytes the vector's contents.
    fn finish(self) {
        assert_eq!(self.at, self.room, "encoded less than the size computed");
        // SAFETY: the first `room` bytes of spare capacity were all written by `put`.
        unsafe { self.out.set_len(self.room) };
    }
}

/// The encoded size of a value with this tag.
fn value_len(val: &Val) -> usize {
    1 + match val {
        Val::Str(_) | Val::Chain(_) | Val::U64(_) | Val::I64(_) | Val::F64(_) => 8,
        Val::Bool(_) => 1,
        Val::Null => 0,
    }
}

/// Replaces `out` with `c`'s encoding. `None` when a part is too long for the layout (a
/// file or module path of 64 KiB, a message or key-values of 4 GiB): such a record goes
/// through unprotected. Sizes everything first and writes each part once.
pub(crate) fn encode(c: &Collected, out: &mut Vec<u8>) -> Option<()> {
    let file = c.location.file.as_bytes();
    let module = c.location.module.as_bytes();
    let mut total = FIXED + file.len() + module.len() + c.msg.len() + c.arena.len();
    for (key, val) in &c.pairs {
        total += 2 + key.len() + value_len(val);
    }
    let (scope_start, scope_len, flags) = match &c.scope {
        Some(r) => (r.start, r.len(), 1u8),
        None => (0, 0, 0),
    };
    let fields = [file.len(), module.len(), c.pairs.len()];
    if total > u32::MAX as usize || fields.iter().any(|&n| n > usize::from(u16::MAX)) {
        return None;
    }
    let mut head = [0u8; FIXED];
    head[0..4].copy_from_slice(&(total as u32).to_le_bytes());
    head[4] = c.level.as_usize() as u8;
    head[5] = flags;
    head[6..8].copy_from_slice(&(c.pairs.len() as u16).to_le_bytes());
    head[8..16].copy_from_slice(&c.ts_nanos.to_le_bytes());
    head[16..20].copy_from_slice(&c.location.line.to_le_bytes());
    head[20..22].copy_from_slice(&(file.len() as u16).to_le_bytes());
    head[22..24].copy_from_slice(&(module.len() as u16).to_le_bytes());
    head[24..28].copy_from_slice(&(c.msg.len() as u32).to_le_bytes());
    head[28..32].copy_from_slice(&(c.arena.len() as u32).to_le_bytes());
    head[32..36].copy_from_slice(&(scope_start as u32).to_le_bytes());
    head[36..40].copy_from_slice(&(scope_len as u32).to_le_bytes());
    let mut w = Writer::new(out, total);
    w.put(&head);
    w.put(file);
    w.put(module);
    w.put(c.msg.as_bytes());
    w.put(c.arena.as_bytes());
    for (key, val) in &c.pairs {
        w.put(&(key.len() as u16).to_le_bytes());
        w.put(key.as_bytes());
        match val {
            Val::Str(r) | Val::Chain(r) => {
                let tag = if matches!(val, Val::Str(_)) {
                    TAG_STR
                } else {
                    TAG_CHAIN
                };
                w.put(&[tag]);
                w.put(&(r.start as u32).to_le_bytes());
                w.put(&(r.len() as u32).to_le_bytes());
            }
            Val::U64(v) => {
                w.put(&[TAG_U64]);
                w.put(&v.to_le_bytes());
            }
            Val::I64(v) => {
                w.put(&[TAG_I64]);
                w.put(&v.to_le_bytes());
            }
            Val::F64(v) => {
                w.put(&[TAG_F64]);
                w.put(&v.to_le_bytes());
            }
            Val::Bool(v) => w.put(&[TAG_BOOL, u8::from(*v)]),
            Val::Null => w.put(&[TAG_NULL]),
        }
    }
    w.finish();
    Some(())
}

/// `'static` texts for decoded records' locations and keys: each distinct text is leaked
/// once per process (a recovery meets a handful: the program's files, modules and keys).
#[derive(Default)]
pub(crate) struct Texts(HashMap<String, &'static str>);

impl Texts {
    fn get(&mut self, text: &str) -> &'static str {
        if let Some(t) = self.0.get(text) {
            return t;
        }
        let leaked: &'static str = Box::leak(text.to_owned().into_boxed_str());
        self.0.insert(text.to_owned(), leaked);
        leaked
    }
}

/// Reads bytes in order, `None` past the end.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u16(&mut self) -> Option<usize> {
        self.take(2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]) as usize)
    }
    fn u32(&mut self) -> Option<usize> {
        self.take(4)
            .map(|b| u32::from_le_bytes(b.try_into().unwrap_or_default()) as usize)
    }
    fn u64(&mut self) -> Option<u64> {
        self.take(8)
            .map(|b| u64::from_le_bytes(b.try_into().unwrap_or_default()))
    }
    fn text(&mut self, n: usize) -> Option<&'a str> {
        std::str::from_utf8(self.take(n)?).ok()
    }
}

/// The total length of the record starting at `bytes`, from its first 4 bytes.
pub(crate) fn record_len(bytes: &[u8]) -> Option<usize> {
    Reader(bytes).u32().filter(|&n| n >= FIXED)
}

/// The record encoded in `bytes` (exactly one record); `None` when it is damaged.
pub(crate) fn decode(bytes: &[u8], texts: &mut Texts) -> Option<Collected> {
    let mut r = Reader(bytes);
    let total = r.u32()?;
    if total != bytes.len() {
        return None;
    }
    let level = Level::from_usize(r.u8()?.into())?;
    let flags = r.u8()?;
    let pairs = r.u16()?;
    let ts_nanos = r.u64()?;
    let line = r.u32()? as u32;
    let (file_len, module_len) = (r.u16()?, r.u16()?);
    let (msg_len, arena_len) = (r.u32()?, r.u32()?);
    let (scope_start, scope_len) = (r.u32()?, r.u32()?);
    let file = texts.get(r.text(file_len)?);
    let module = texts.get(r.text(module_len)?);
    let mut c = Collected {
        level,
        location: RecordLocation {
            file,
            line,
            column: 0,
            function: "",
            module,
        },
        ts_nanos,
        ..Collected::default()
    };
    c.msg.push_str(r.text(msg_len)?);
    c.arena.push_str(r.text(arena_len)?);
    let in_arena = |start: usize, len: usize| {
        (start + len <= arena_len
            && c.arena.is_char_boundary(start)
            && c.arena.is_char_boundary(start + len))
        .then_some(start..start + len)
    };
    if flags & 1 == 1 {
        c.scope = Some(in_arena(scope_start, scope_len)?);
    }
    for _ in 0..pairs {
        let key_len = r.u16()?;
        let key = texts.get(r.text(key_len)?);
        let val = match r.u8()? {
            tag @ (TAG_STR | TAG_CHAIN) => {
                let range = in_arena(r.u32()?, r.u32()?)?;
                if tag == TAG_STR {
                    Val::Str(range)
                } else {
                    Val::Chain(range)
                }
            }
            TAG_U64 => Val::U64(r.u64()?),
            TAG_I64 => Val::I64(r.u64()? as i64),
            TAG_F64 => Val::F64(f64::from_bits(r.u64()?)),
            TAG_BOOL => Val::Bool(r.u8()? != 0),
            TAG_NULL => Val::Null,
            _ => return None,
        };
        c.pairs.push((key, val));
    }
    c.record_pairs = c.pairs.len();
    r.0.is_empty().then_some(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::record::with_collected;
    use slog::{o, OwnedKVList};

    #[test]
    fn a_record_reads_back_as_it_was_collected() {
        let values = OwnedKVList::from(o!("model" => "llama", "tp" => 2u32));
        let kv = o!("scope" => "global", "n" => -3i64, "f" => 1.5f64, "ok" => true, "none" => None::<u8>, "text" => "a \"b\"");
        with_collected(Level::Warning, format_args!("msg é"), &kv, &values, |c| {
            let mut wire = Vec::new();
            encode(c, &mut wire).unwrap();
            assert_eq!(record_len(&wire), Some(wire.len()));
            let back = decode(&wire, &mut Texts::default()).unwrap();
            assert_eq!(back.level, c.level);
            assert_eq!(back.ts_nanos, c.ts_nanos);
            assert_eq!(back.location.file, c.location.file);
            assert_eq!(back.location.line, c.location.line);
            assert_eq!(back.location.module, c.location.module);
            assert_eq!(back.msg, c.msg);
            assert_eq!(back.scope(), Some("global"));
            assert_eq!(format!("{:?}", back.pairs), format!("{:?}", c.pairs));
            assert!(decode(&wire[..wire.len() - 1], &mut Texts::default()).is_none());
        });
    }
}
