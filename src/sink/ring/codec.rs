//! One record's bytes, as the caller's thread collects it and as the ring holds it: the
//! collected record *is* its encoding (see [`Collected`]), so that copying it into the
//! ring is one `memcpy`. The writer thread and recovery [read it back](read_entries).
//!
//! Layout, little-endian: a [`FIXED`]-byte header: `u32` total length (the header
//! included), `u8` level (`Level::as_usize`), `u8` flags (1: has a scope), `u16` key-value
//! entries, `u16` entries that belong to the record (the rest are its logger's), `u64`
//! time (ns), `u32` line, `u16` file length, `u16` module length, `u32` message length,
//! `u32` scope start and `u32` scope length (offsets in the record); then the file, module
//! and message texts; then the entries, in the order slog serialized them (newest first,
//! the record's before its logger's, a repeated key included). An entry is `u16` key
//! length, the key, a `u8` tag and the value: for text and error chains a `u32` length and
//! the text, 8 bytes for numbers, 1 for a boolean, nothing for null. The scope's text is
//! an entry with an empty key and its own tag; it is not a key-value.

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;

use slog::{Key, Level, RecordLocation};

use super::super::bytes::{copy, put};
use super::super::value::Val;

/// Bytes of a record's header.
pub(crate) const FIXED: usize = 4 + 1 + 1 + 2 + 2 + 8 + 4 + 2 + 2 + 4 + 4 + 4;

const TAG_STR: u8 = 0;
const TAG_U64: u8 = 1;
const TAG_I64: u8 = 2;
const TAG_F64: u8 = 3;
const TAG_BOOL: u8 = 4;
const TAG_NULL: u8 = 5;
const TAG_CHAIN: u8 = 6;
const TAG_SCOPE: u8 = 7;

/// Bytes a fresh record's buffer makes room for past its location: a message and a few
/// key-values fit, so it grows once at most; a bigger guess is memory that every box in a
/// full queue keeps (measured: 127 bytes of 355 unused for the benchmarks' record).
const BODY_GUESS: usize = 128;

/// The longest text an entry holds (its length is a `u32`), bytes.
const TEXT_MAX: usize = u32::MAX as usize;

/// Starts a record in `wire` (emptied): room for the header, then the file and module
/// (each cut at 64 KiB), with [`BODY_GUESS`] more for what follows. Returns where the
/// message starts.
#[inline]
pub(crate) fn start(wire: &mut Vec<u8>, location: &RecordLocation) -> usize {
    let file = cut(location.file, usize::from(u16::MAX)).as_bytes();
    let module = cut(location.module, usize::from(u16::MAX)).as_bytes();
    let len = FIXED + file.len() + module.len();
    wire.clear();
    wire.reserve(len + BODY_GUESS);
    // SAFETY: `reserve` made room for `len` bytes; the header's bytes are written by
    // `finish` before anything reads them (zeroed here so they are never uninitialized),
    // then the two texts, from buffers that cannot overlap the vector.
    unsafe {
        let to = wire.as_mut_ptr();
        std::ptr::write_bytes(to, 0, FIXED);
        copy(file, to.add(FIXED));
        copy(module, to.add(FIXED + file.len()));
        wire.set_len(len);
    }
    len
}

/// `text` cut to at most `max` bytes, at a char boundary.
#[inline]
fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// What [`finish`] writes into a record's header.
pub(crate) struct Header<'a> {
    pub(crate) level: Level,
    pub(crate) location: &'a RecordLocation,
    pub(crate) ts_nanos: u64,
    pub(crate) msg: &'a Range<usize>,
    pub(crate) scope: Option<&'a Range<usize>>,
    pub(crate) entries: usize,
    pub(crate) record_entries: usize,
}

/// Writes the header of the record collected in `wire`. Returns whether the record fits
/// the layout (at most 4 GiB, 64 Ki key-values): one that does not goes through the queue
/// unprotected by the ring.
#[inline]
pub(crate) fn finish(wire: &mut [u8], h: &Header<'_>) -> bool {
    let total = wire.len();
    let fits = total <= TEXT_MAX && h.entries <= usize::from(u16::MAX);
    // The message starts after the header, the file and the module.
    let texts = h.msg.start - FIXED;
    let file = cut(h.location.file, usize::from(u16::MAX)).len();
    let (scope_start, scope_len, flags) = match h.scope {
        Some(r) => (r.start as u32, r.len() as u32, 1u8),
        None => (0, 0, 0),
    };
    let short = |n: usize| (n.min(usize::from(u16::MAX)) as u16).to_le_bytes();
    let mut head = [0u8; FIXED];
    head[0..4].copy_from_slice(&(total.min(TEXT_MAX) as u32).to_le_bytes());
    head[4] = h.level.as_usize() as u8;
    head[5] = flags;
    head[6..8].copy_from_slice(&short(h.entries));
    head[8..10].copy_from_slice(&short(h.record_entries));
    head[10..18].copy_from_slice(&h.ts_nanos.to_le_bytes());
    head[18..22].copy_from_slice(&h.location.line.to_le_bytes());
    head[22..24].copy_from_slice(&short(file));
    head[24..26].copy_from_slice(&short(texts - file));
    head[26..30].copy_from_slice(&(h.msg.len().min(TEXT_MAX) as u32).to_le_bytes());
    head[30..34].copy_from_slice(&scope_start.to_le_bytes());
    head[34..38].copy_from_slice(&scope_len.to_le_bytes());
    wire[..FIXED].copy_from_slice(&head);
    fits
}

/// Appends an entry `key` => `val` whose value is not text (on the caller's thread, as the
/// record is collected). A key is cut at 64 KiB.
#[inline(always)]
pub(crate) fn put_entry(wire: &mut Vec<u8>, key: &str, val: &Val) {
    // The tag and value, padded to 9 bytes: always copied whole (a fixed-size copy),
    // counted for `value_len`.
    let mut value = [0u8; 9];
    let value_len = match val {
        Val::U64(v) => tagged(&mut value, TAG_U64, v.to_le_bytes()),
        Val::I64(v) => tagged(&mut value, TAG_I64, v.to_le_bytes()),
        Val::F64(v) => tagged(&mut value, TAG_F64, v.to_le_bytes()),
        Val::Bool(v) => {
            value[0] = TAG_BOOL;
            value[1] = u8::from(*v);
            2
        }
        Val::Null => {
            value[0] = TAG_NULL;
            1
        }
        Val::Str(_) | Val::Chain(_) => unreachable!("text values go through put_text"),
    };
    put_raw(wire, key, &value, value_len);
}

/// Appends `key` and the first `len` bytes of `value` (9 bytes are copied, so `wire`
/// always has room for them).
#[inline(always)]
fn put_raw(wire: &mut Vec<u8>, key: &str, value: &[u8; 9], len: usize) {
    let key = &key.as_bytes()[..key.len().min(usize::from(u16::MAX))];
    let at = wire.len();
    wire.reserve(2 + key.len() + value.len());
    // SAFETY: `reserve` made room for `2 + key.len() + 9` bytes past `at`; the three
    // copies fill `at..at + 2 + key.len() + 9` from buffers that cannot overlap the
    // vector's spare capacity, and the new length counts only bytes written.
    unsafe {
        let to = wire.as_mut_ptr().add(at);
        std::ptr::copy_nonoverlapping((key.len() as u16).to_le_bytes().as_ptr(), to, 2);
        copy(key, to.add(2));
        std::ptr::copy_nonoverlapping(value.as_ptr(), to.add(2 + key.len()), value.len());
        wire.set_len(at + 2 + key.len() + len);
    }
}

/// Puts `tag` and an 8-byte value into `value`; its length, 9.
#[inline(always)]
fn tagged(value: &mut [u8; 9], tag: u8, bytes: [u8; 8]) -> usize {
    value[0] = tag;
    value[1..].copy_from_slice(&bytes);
    9
}

/// What a text entry holds.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextKind {
    Str,
    Chain,
    /// The record's scope (its key is empty).
    Scope,
}

/// Appends a text entry for `key`, its text written by `write` (through [`TextWriter`]);
/// returns the text's range in `wire`. A text past 4 GiB is cut there.
#[inline]
pub(crate) fn put_text(
    wire: &mut Vec<u8>,
    key: &str,
    kind: TextKind,
    write: impl FnOnce(&mut TextWriter<'_>),
) -> Range<usize> {
    let tag = match kind {
        TextKind::Str => TAG_STR,
        TextKind::Chain => TAG_CHAIN,
        TextKind::Scope => TAG_SCOPE,
    };
    put_raw(wire, key, &[tag, 0, 0, 0, 0, 0, 0, 0, 0], 5);
    let start = wire.len();
    let mut text = TextWriter(wire);
    write(&mut text);
    let cut_at = start + cut(text.since(start), TEXT_MAX).len();
    text.truncate(cut_at);
    let len = (wire.len() - start) as u32;
    wire[start - 4..start].copy_from_slice(&len.to_le_bytes());
    start..wire.len()
}

/// Appends a text entry `key` => `text` (the common case of [`put_text`], with the text
/// at hand: one reservation, no length to patch). Returns the text's range in `wire`.
#[inline]
pub(crate) fn put_str(wire: &mut Vec<u8>, key: &str, text: &str) -> Range<usize> {
    let text = cut(text, TEXT_MAX).as_bytes();
    let mut value = [TAG_STR, 0, 0, 0, 0, 0, 0, 0, 0];
    value[1..5].copy_from_slice(&(text.len() as u32).to_le_bytes());
    wire.reserve(2 + key.len().min(usize::from(u16::MAX)) + value.len() + text.len());
    put_raw(wire, key, &value, 5);
    let start = wire.len();
    // SAFETY: the reservation above made room for the text after the entry's head, which
    // `copy` fills from `text` (not part of the vector).
    unsafe {
        copy(text, wire.as_mut_ptr().add(start));
        wire.set_len(start + text.len());
    }
    start..wire.len()
}

/// Writes text (only text: `wire`'s text ranges stay valid UTF-8) at the end of a record.
pub(crate) struct TextWriter<'a>(&'a mut Vec<u8>);

impl TextWriter<'_> {
    /// A writer at the end of the record being collected in `wire`.
    pub(crate) fn new(wire: &mut Vec<u8>) -> TextWriter<'_> {
        TextWriter(wire)
    }

    /// Appends `text`.
    #[inline]
    pub(crate) fn push_str(&mut self, text: &str) {
        put(self.0, text.as_bytes());
    }

    /// The text written since `from` (a length of the record before some writes).
    pub(crate) fn since(&self, from: usize) -> &str {
        // SAFETY: only `push_str` and `write_str` append through a `TextWriter`, both
        // from `&str`, and `from` is a length taken between two writes, so the bytes
        // from there are whole UTF-8 texts.
        unsafe { std::str::from_utf8_unchecked(&self.0[from..]) }
    }

    /// The record's length so far.
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// Drops what was written since `from` (a length taken before some writes).
    pub(crate) fn truncate(&mut self, from: usize) {
        self.0.truncate(from);
    }
}

impl fmt::Write for TextWriter<'_> {
    #[inline]
    fn write_str(&mut self, text: &str) -> fmt::Result {
        self.push_str(text);
        Ok(())
    }
}

/// Reads a record's entries (`wire[from..]`, from a ring file) back as collected: each
/// key-value in slog's order, a repeated key included, into `collected` (see
/// [`resolve`]); `key(bytes)` gives a key from its bytes. Every text is checked to be
/// UTF-8. Returns the scope's range; `None` when the entries are damaged.
pub(crate) fn read_entries(
    wire: &[u8],
    from: usize,
    mut key: impl FnMut(&[u8]) -> Option<Key>,
    collected: &mut Vec<(Key, Val)>,
) -> Option<Option<Range<usize>>> {
    collected.clear();
    let (mut at, mut scope) = (from, None);
    while at < wire.len() {
        let key_at = at + 2;
        let key_end = key_at + usize::from(u16::from_le_bytes(array(wire, at)?));
        let tag = *wire.get(key_end)?;
        let value = key_end + 1;
        let val = match tag {
            TAG_STR | TAG_CHAIN | TAG_SCOPE => {
                let start = value + 4;
                let end = start + u32::from_le_bytes(array(wire, value)?) as usize;
                std::str::from_utf8(wire.get(start..end)?).ok()?;
                at = end;
                match tag {
                    TAG_STR => Val::Str(start..end),
                    TAG_CHAIN => Val::Chain(start..end),
                    _ => {
                        scope = scope.or(Some(start..end));
                        continue;
                    }
                }
            }
            TAG_BOOL => {
                at = value + 1;
                Val::Bool(*wire.get(value)? != 0)
            }
            TAG_NULL => {
                at = value;
                Val::Null
            }
            _ => {
                let bytes: [u8; 8] = array(wire, value)?;
                at = value + 8;
                match tag {
                    TAG_U64 => Val::U64(u64::from_le_bytes(bytes)),
                    TAG_I64 => Val::I64(i64::from_le_bytes(bytes)),
                    TAG_F64 => Val::F64(f64::from_le_bytes(bytes)),
                    _ => return None,
                }
            }
        };
        collected.push((key(wire.get(key_at..key_end)?)?, val));
    }
    Some(scope)
}

/// Which of the `collected` key-values the sinks show, in the order they show them, into
/// `shown` (indices of `collected`). `collected` is in slog's order: newest first, the
/// record's `record_entries` before its logger's, a repeated key included. Shown: the
/// record's in the order written, then its logger's from the root; of a repeated key the
/// value collected first (the record's over its logger's, the newest written) wins.
/// Returns how many of `shown` belong to the record.
pub(crate) fn resolve(
    collected: &[(Key, Val)],
    record_entries: usize,
    shown: &mut Vec<u32>,
) -> usize {
    shown.clear();
    shown.reserve(collected.len());
    let record_entries = record_entries.min(collected.len());
    let first = |i: usize| {
        let key = collected[i].0;
        !collected[..i].iter().any(|(seen, _)| same_key(seen, key))
    };
    // Plain loops, not `extend` over a filter: this runs on every record.
    for i in (0..record_entries).rev() {
        if first(i) {
            shown.push(i as u32);
        }
    }
    let record_shown = shown.len();
    for i in (record_entries..collected.len()).rev() {
        if first(i) {
            shown.push(i as u32);
        }
    }
    record_shown
}

/// Whether some key of `collected` is repeated (by [`same_key`]): when none is,
/// [`resolve`] shows every key-value, in reverse order within the record's and within its
/// logger's, and a caller may skip it.
#[inline]
pub(crate) fn has_repeats(collected: &[(Key, Val)]) -> bool {
    (1..collected.len()).any(|i| {
        let key = collected[i].0;
        collected[..i].iter().any(|(seen, _)| same_key(seen, key))
    })
}

/// The `N` bytes of `wire` at `at`; `None` past its end.
#[inline(always)]
fn array<const N: usize>(wire: &[u8], at: usize) -> Option<[u8; N]> {
    wire.get(at..at.checked_add(N)?)?.try_into().ok()
}

/// Whether two keys are the same text: the same `'static` text at once, else by content.
#[inline]
fn same_key(a: &str, b: &str) -> bool {
    a.len() == b.len() && (a.as_ptr() == b.as_ptr() || a == b)
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
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len())?;
        let taken = &self.bytes[self.at..end];
        self.at = end;
        Some(taken)
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
    Reader { bytes, at: 0 }.u32().filter(|&n| n >= FIXED)
}

/// A record read back from a ring file: its bytes (checked), and where its parts are.
pub(crate) struct Decoded {
    pub(crate) wire: Vec<u8>,
    pub(crate) level: Level,
    pub(crate) location: RecordLocation,
    pub(crate) ts_nanos: u64,
    pub(crate) msg: Range<usize>,
    pub(crate) scope: Option<Range<usize>>,
    /// Its key-values as collected (see [`resolve`]).
    pub(crate) collected: Vec<(Key, Val)>,
    pub(crate) record_entries: usize,
}

/// The record encoded in `bytes` (exactly one record); `None` when it is damaged.
pub(crate) fn decode(bytes: &[u8], texts: &mut Texts) -> Option<Decoded> {
    let mut r = Reader { bytes, at: 0 };
    let total = r.u32()?;
    if total != bytes.len() {
        return None;
    }
    let level = Level::from_usize(r.u8()?.into())?;
    let _flags = r.u8()?;
    let (_entries, record_entries) = (r.u16()?, r.u16()?);
    let ts_nanos = r.u64()?;
    let line = r.u32()? as u32;
    let (file_len, module_len) = (r.u16()?, r.u16()?);
    let msg_len = r.u32()?;
    let (_scope_start, _scope_len) = (r.u32()?, r.u32()?);
    let file = texts.get(r.text(file_len)?);
    let module = texts.get(r.text(module_len)?);
    let msg_start = r.at;
    r.text(msg_len)?;
    let mut collected = Vec::new();
    let scope = read_entries(
        bytes,
        r.at,
        |key| Some(texts.get(std::str::from_utf8(key).ok()?)),
        &mut collected,
    )?;
    Some(Decoded {
        wire: bytes.to_vec(),
        level,
        location: RecordLocation {
            file,
            line,
            column: 0,
            function: "",
            module,
        },
        ts_nanos,
        msg: msg_start..msg_start + msg_len,
        scope,
        collected,
        record_entries,
    })
}
