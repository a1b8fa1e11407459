//! The collapse identity: records with the same identity from different ranks are "the
//! same record" to `merge --collapse` and to the live view of `ranklog run` and
//! `merge --follow`. One contract for both, here.

use std::hash::Hasher as _;

/// The collapse identity of a record of level `level` and message `msg`,
/// `"<level>\t<msg>"`, into `key` (emptied first). `Group::is` compares a group's level and
/// message, and [`identity_hash`] hashes them, as this text would be compared and hashed.
pub(crate) fn set_key_of(key: &mut String, level: slog::Level, msg: &str) {
    key.clear();
    key.push_str(level.as_short_str());
    key.push('\t');
    key.push_str(msg);
}

/// The hash (FxHash) of the collapse identity of [`set_key_of`], without making its text.
/// Two identities may share a hash: a hash finds candidates, `Group::is` decides.
pub(crate) fn identity_hash(level: slog::Level, msg: &str) -> u64 {
    let mut hash = rustc_hash::FxHasher::default();
    hash.write_u8(level.as_usize() as u8);
    hash.write(msg.as_bytes());
    hash.finish()
}
