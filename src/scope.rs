//! Scopes (`process`, `local`, `global`) and the [`ScopeGate`] drain that enforces them.

use std::fmt::{self, Write as _};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};

use slog::{Drain, Key, Level, OwnedKVList, Record, Serializer, KV};

use crate::RankInfo;

/// The key that carries a record's scope: `"scope" => "global"`.
pub const SCOPE_KEY: &str = "scope";

/// Which ranks print a record.
///
/// | scope | printed by |
/// | --- | --- |
/// | `process` (default) | every rank |
/// | `local` | the first rank of each node (`local_rank == 0`) |
/// | `global` | the first rank of the job (`rank == 0`) |
///
/// The convention is vLLM's (`vllm/logger.py`, `scope="process"|"local"|"global"`).
/// Set it on a record (`"scope" => Scope::Global` or `"scope" => "global"`) or on a logger
/// (`log.new(o!("scope" => "local"))`); the record's own value wins. Records at or above
/// the ungated level (error by default) print on every rank whatever their scope.
///
/// # Examples
///
/// ```
/// use ranklog::Scope;
/// assert_eq!("global".parse::<Scope>(), Ok(Scope::Global));
/// assert_eq!(Scope::Local.as_str(), "local");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scope {
    /// Every rank prints it.
    #[default]
    Process,
    /// The first rank of each node prints it.
    Local,
    /// Only the first rank of the job prints it.
    Global,
}

impl Scope {
    /// The lowercase name used in records and files: `"process"`, `"local"`, `"global"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Process => "process",
            Scope::Local => "local",
            Scope::Global => "global",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of [`Scope::from_str`]: the text is not `process`, `local` or `global`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown scope {0:?}: expected process, local or global")]
pub struct UnknownScope(pub String);

impl FromStr for Scope {
    type Err = UnknownScope;

    /// Parses `process`, `local` or `global` (exactly, lowercase).
    fn from_str(s: &str) -> Result<Scope, UnknownScope> {
        match s {
            "process" => Ok(Scope::Process),
            "local" => Ok(Scope::Local),
            "global" => Ok(Scope::Global),
            other => Err(UnknownScope(other.to_owned())),
        }
    }
}

impl slog::Value for Scope {
    fn serialize(&self, _: &Record<'_>, key: Key, serializer: &mut dyn Serializer) -> slog::Result {
        serializer.emit_str(key, self.as_str())
    }
}

/// What a record says about its scope, after looking at its own key-values and then its
/// logger's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Resolved {
    /// A valid scope, or none given (process).
    Known(Scope),
    /// A `scope` value that is not a scope name; it prints as process.
    Unknown,
}

impl Resolved {
    pub(crate) fn scope(self) -> Scope {
        match self {
            Resolved::Known(scope) => scope,
            Resolved::Unknown => Scope::Process,
        }
    }
}

/// Longest scope text kept for the one-time warning; longer values are cut.
const SCOPE_TEXT_MAX: usize = 32;

/// A small inline buffer, so that resolving a formatted scope value never allocates.
#[derive(Default)]
struct Inline {
    buf: [u8; SCOPE_TEXT_MAX],
    len: usize,
    overflow: bool,
}

impl fmt::Write for Inline {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = SCOPE_TEXT_MAX - self.len;
        let mut take = s.len().min(room);
        while !s.is_char_boundary(take) {
            take -= 1;
        }
        self.buf[self.len..self.len + take].copy_from_slice(&s.as_bytes()[..take]);
        self.len += take;
        self.overflow |= take < s.len();
        Ok(())
    }
}

impl Inline {
    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

/// Finds the first `scope` key-value; stops the walk once found.
#[derive(Default)]
struct ScopeFinder {
    found: Option<Resolved>,
    text: Inline,
}

impl ScopeFinder {
    fn take_str(&mut self, value: &str) -> slog::Result {
        self.found = Some(match value.parse() {
            Ok(scope) => Resolved::Known(scope),
            Err(_) => {
                let _ = self.text.write_str(value);
                Resolved::Unknown
            }
        });
        // Stop serializing: the first value found (record before logger) wins.
        Err(slog::Error::Other)
    }

    fn take_other(&mut self, value: fmt::Arguments<'_>) -> slog::Result {
        if let Some(s) = value.as_str() {
            return self.take_str(s);
        }
        let mut text = Inline::default();
        let _ = text.write_fmt(value);
        if text.overflow {
            self.text = text;
            self.found = Some(Resolved::Unknown);
            return Err(slog::Error::Other);
        }
        self.take_str(text.as_str())
    }
}

impl Serializer for ScopeFinder {
    fn emit_arguments(&mut self, key: Key, val: &fmt::Arguments<'_>) -> slog::Result {
        if key == SCOPE_KEY {
            return self.take_other(*val);
        }
        Ok(())
    }

    fn emit_str(&mut self, key: Key, val: &str) -> slog::Result {
        if key == SCOPE_KEY {
            return self.take_str(val);
        }
        Ok(())
    }

    // Numbers, booleans and units never name a scope; skip their formatting entirely.
    fn emit_u64(&mut self, key: Key, val: u64) -> slog::Result {
        self.non_text(key, format_args!("{val}"))
    }
    fn emit_i64(&mut self, key: Key, val: i64) -> slog::Result {
        self.non_text(key, format_args!("{val}"))
    }
    fn emit_bool(&mut self, key: Key, val: bool) -> slog::Result {
        self.non_text(key, format_args!("{val}"))
    }
    fn emit_unit(&mut self, key: Key) -> slog::Result {
        self.non_text(key, format_args!("()"))
    }
    fn emit_none(&mut self, key: Key) -> slog::Result {
        self.non_text(key, format_args!("None"))
    }
}

impl ScopeFinder {
    fn non_text(&mut self, key: Key, shown: fmt::Arguments<'_>) -> slog::Result {
        if key == SCOPE_KEY {
            return self.take_other(shown);
        }
        Ok(())
    }
}

/// Resolves the scope of a record: its own `scope` key-value, else its logger's (the most
/// recently added first), else [`Scope::Process`]. Allocation-free.
///
/// Returns the resolution and, for an unknown value, its text (cut at 32 bytes).
pub(crate) fn resolve(record: &Record<'_>, values: &OwnedKVList) -> (Resolved, impl fmt::Display) {
    let mut finder = ScopeFinder::default();
    let _ = record.kv().serialize(record, &mut finder);
    if finder.found.is_none() {
        let _ = values.serialize(record, &mut finder);
    }
    let resolved = finder.found.unwrap_or(Resolved::Known(Scope::Process));
    (resolved, UnknownText(finder.text))
}

struct UnknownText(Inline);

impl fmt::Display for UnknownText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())?;
        if self.0.overflow {
            f.write_str("...")?;
        }
        Ok(())
    }
}

/// The gating decision for one rank, made once from its [`RankInfo`].
#[derive(Debug)]
pub(crate) struct Gate {
    global_first: bool,
    local_first: bool,
    ungated: Level,
    all_ranks: bool,
    warned_unknown: AtomicBool,
}

impl Gate {
    pub(crate) fn new(info: &RankInfo, ungated: Level, all_ranks: bool) -> Gate {
        Gate {
            global_first: info.is_global_first(),
            local_first: info.is_local_first(),
            ungated,
            all_ranks,
            warned_unknown: AtomicBool::new(false),
        }
    }

    /// Whether this rank prints everything, whatever the scope (rank 0, or gating off).
    pub(crate) fn passes_all(&self) -> bool {
        self.all_ranks || (self.global_first && self.local_first)
    }

    /// Whether a record of this level and scope is printed by this rank.
    pub(crate) fn allows(&self, level: Level, scope: Scope) -> bool {
        self.all_ranks
            || level.is_at_least(self.ungated)
            || match scope {
                Scope::Process => true,
                Scope::Local => self.local_first,
                Scope::Global => self.global_first,
            }
    }

    /// Whether the level alone decides (no need to look at the scope).
    pub(crate) fn level_passes(&self, level: Level) -> bool {
        self.passes_all() || level.is_at_least(self.ungated)
    }

    /// Returns true the first time an unknown scope is seen in this process.
    pub(crate) fn first_unknown(&self) -> bool {
        !self.warned_unknown.swap(true, Ordering::Relaxed)
    }
}

/// Logs the one-time warning about an unknown scope value into `drain`.
pub(crate) fn warn_unknown<D: Drain>(drain: &D, text: &dyn fmt::Display, values: &OwnedKVList) {
    let _ = drain.log(
        &slog::record!(
            Level::Warning,
            "",
            &format_args!(
                "unknown scope {:?}: printed as process (expected process, local or global); \
                 this warning is shown once",
                text.to_string()
            ),
            slog::b!(SCOPE_KEY => Scope::Process)
        ),
        values,
    );
}

/// A drain adapter that passes on only the records this rank must print.
///
/// Place it in front of any drain (and, in an async pipeline, in front of the queue, so
/// that a gated-out record is neither formatted nor sent). Deciding costs one walk of the
/// record's key-values (and, when it has no `scope`, its logger's), without allocating;
/// on the job's first rank, or with gating off, it costs nothing.
///
/// # Examples
///
/// ```
/// use slog::{o, Drain};
/// let info = ranklog::RankInfo::new(1, 4, 1, 4)?; // not the first rank of anything
/// let drain = ranklog::ScopeGate::new(slog::Discard, &info).fuse();
/// let log = slog::Logger::root(drain, o!());
/// slog::info!(log, "printed by rank 0 only"; "scope" => "global");
/// # Ok::<(), ranklog::Error>(())
/// ```
pub struct ScopeGate<D> {
    drain: D,
    gate: Gate,
}

impl<D> ScopeGate<D> {
    /// Gates `drain` for the rank described by `info`, with records at error level and
    /// above printed by every rank.
    pub fn new(drain: D, info: &RankInfo) -> ScopeGate<D> {
        ScopeGate {
            drain,
            gate: Gate::new(info, Level::Error, false),
        }
    }

    /// Changes the level at or above which every rank prints whatever the scope
    /// (default [`Level::Error`]).
    pub fn ungated_level(mut self, level: Level) -> ScopeGate<D> {
        self.gate.ungated = level;
        self
    }
}

impl<D: Drain> Drain for ScopeGate<D> {
    type Ok = Option<D::Ok>;
    type Err = D::Err;

    fn log(&self, record: &Record<'_>, values: &OwnedKVList) -> Result<Option<D::Ok>, D::Err> {
        if self.gate.level_passes(record.level()) {
            return self.drain.log(record, values).map(Some);
        }
        let (resolved, text) = resolve(record, values);
        if resolved == Resolved::Unknown && self.gate.first_unknown() {
            warn_unknown(&self.drain, &text, values);
        }
        if self.gate.allows(record.level(), resolved.scope()) {
            self.drain.log(record, values).map(Some)
        } else {
            Ok(None)
        }
    }

    fn is_enabled(&self, level: Level) -> bool {
        self.drain.is_enabled(level)
    }
}
