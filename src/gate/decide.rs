//! [`Gate`]: one rank's decision for each scope, made from its [`RankInfo`] at start-up;
//! per record it costs one walk of the key-values and never allocates.

use std::fmt::{self, Write as _};
use std::sync::atomic::{AtomicBool, Ordering};

use slog::{Key, Level, OwnedKVList, Record, Serializer, KV};

use super::scope::{Scope, SCOPE_KEY};
use crate::identity::{rank_list, RankInfo};

/// What this rank does with a record of a given scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    /// This rank prints it.
    Print,
    /// Another rank prints it.
    Skip,
    /// The scope is not understood: print as process, warn once.
    Unknown,
}

impl Decision {
    pub(crate) fn prints(self) -> bool {
        self != Decision::Skip
    }
}

/// Longest scope text resolved without allocating; longer values count as unknown.
pub(crate) const SCOPE_TEXT_MAX: usize = 64;

/// A small inline buffer, so that resolving a formatted scope value never allocates.
pub(crate) struct ScopeText {
    buf: [u8; SCOPE_TEXT_MAX],
    len: usize,
    overflow: bool,
    set: bool,
}

impl Default for ScopeText {
    fn default() -> Self {
        ScopeText {
            buf: [0; SCOPE_TEXT_MAX],
            len: 0,
            overflow: false,
            set: false,
        }
    }
}

impl fmt::Write for ScopeText {
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

impl ScopeText {
    /// The scope text, `None` when no record or logger gave one.
    pub(crate) fn get(&self) -> Option<&str> {
        self.set
            .then(|| std::str::from_utf8(&self.buf[..self.len]).unwrap_or(""))
    }

    /// Whether the text was cut at [`SCOPE_TEXT_MAX`] bytes.
    pub(crate) fn overflowed(&self) -> bool {
        self.overflow
    }

    /// Records `value` as the scope (first call wins).
    pub(crate) fn take(&mut self, value: fmt::Arguments<'_>) {
        if !self.set {
            self.set = true;
            match value.as_str() {
                Some(s) => {
                    let _ = self.write_str(s);
                }
                None => {
                    let _ = self.write_fmt(value);
                }
            }
        }
    }
}

/// Decides a record's scope on one rank from the first `scope` key-value it is shown (the
/// record's, then its logger's), and stops the walk there. A text value is decided without
/// copying; a formatted one is written into a [`ScopeText`] first.
struct Decider<'a> {
    gate: &'a Gate,
    level: Level,
    decision: Option<Decision>,
}

impl Decider<'_> {
    fn found(&mut self, key: Key, value: fmt::Arguments<'_>) -> slog::Result {
        if key == SCOPE_KEY {
            let mut text = ScopeText::default();
            text.take(value);
            self.decision = Some(self.gate.decide_text(self.level, &text));
            // Stop serializing: the first value found (record before logger) wins.
            return Err(slog::Error::Other);
        }
        Ok(())
    }
}

impl Serializer for Decider<'_> {
    fn emit_arguments(&mut self, key: Key, val: &fmt::Arguments<'_>) -> slog::Result {
        self.found(key, *val)
    }
    fn emit_str(&mut self, key: Key, val: &str) -> slog::Result {
        if key == SCOPE_KEY {
            // As a cut [`ScopeText`] would: too long to be a scope this rank knows.
            let text = if val.len() <= SCOPE_TEXT_MAX {
                val
            } else {
                "\0"
            };
            self.decision = Some(self.gate.decide(self.level, Some(text)));
            return Err(slog::Error::Other);
        }
        Ok(())
    }
    // Numbers, booleans and units are never scopes, but say so (they print as process):
    // and skip formatting them for every other key.
    fn emit_u64(&mut self, key: Key, val: u64) -> slog::Result {
        self.found(key, format_args!("{val}"))
    }
    fn emit_i64(&mut self, key: Key, val: i64) -> slog::Result {
        self.found(key, format_args!("{val}"))
    }
    fn emit_bool(&mut self, key: Key, val: bool) -> slog::Result {
        self.found(key, format_args!("{val}"))
    }
    fn emit_unit(&mut self, key: Key) -> slog::Result {
        self.found(key, format_args!("()"))
    }
    fn emit_none(&mut self, key: Key) -> slog::Result {
        self.found(key, format_args!("None"))
    }
}

/// A group this rank belongs to, as the gate needs it.
#[derive(Debug)]
struct GroupSeat {
    name: String,
    first: bool,
}

/// The gating decision for one rank, made once from its [`RankInfo`].
#[derive(Debug)]
pub(crate) struct Gate {
    rank: u32,
    size: u32,
    global_first: bool,
    local_first: bool,
    groups: Vec<GroupSeat>,
    pub(crate) ungated: Level,
    all_ranks: bool,
    /// Whether this rank's console shows gated records at all (`RANKLOG_CONSOLE_RANKS`).
    console_rank: bool,
    warned_unknown: AtomicBool,
}

impl Gate {
    pub(crate) fn new(info: &RankInfo, ungated: Level, all_ranks: bool) -> Gate {
        Gate {
            rank: info.rank,
            size: info.size,
            global_first: info.is_global_first(),
            local_first: info.is_local_first(),
            groups: info
                .groups
                .iter()
                .map(|g| GroupSeat {
                    name: g.name.clone(),
                    first: g.rank == 0,
                })
                .collect(),
            ungated,
            all_ranks,
            console_rank: true,
            warned_unknown: AtomicBool::new(false),
        }
    }

    /// Only records at or above the ungated level print on this rank's console.
    pub(crate) fn mute_console(&mut self) {
        self.console_rank = false;
    }

    /// Whether this rank prints everything whatever the scope (gating off), so that the
    /// scope need not be looked at. Not even the job's first rank can skip the look: a
    /// `ranks:` list may leave it out.
    pub(crate) fn passes_all(&self) -> bool {
        self.console_rank && self.all_ranks
    }

    /// Whether the level alone decides (no need to look at the scope).
    #[inline]
    pub(crate) fn level_passes(&self, level: Level) -> bool {
        level.is_at_least(self.ungated) || self.passes_all()
    }

    /// What this rank does with a record of `level` whose scope text is `scope` (`None`:
    /// no scope given, i.e. process).
    pub(crate) fn decide(&self, level: Level, scope: Option<&str>) -> Decision {
        let understood = match scope {
            None | Some("process") => Some(true),
            Some("local") => Some(self.local_first),
            Some("global") => Some(self.global_first),
            Some(other) => self.special(other),
        };
        match understood {
            None if level.is_at_least(self.ungated) || self.console_rank => Decision::Unknown,
            None => Decision::Skip,
            Some(_) if level.is_at_least(self.ungated) => Decision::Print,
            Some(_) if !self.console_rank => Decision::Skip,
            Some(_) if self.all_ranks => Decision::Print,
            Some(true) => Decision::Print,
            Some(false) => Decision::Skip,
        }
    }

    /// `group:NAME` and `ranks:LIST`; `None` when not understood.
    fn special(&self, text: &str) -> Option<bool> {
        if let Some(name) = text.strip_prefix("group:") {
            return self.groups.iter().find(|g| g.name == name).map(|g| g.first);
        }
        if let Some(list) = text.strip_prefix("ranks:") {
            return rank_list::contains(list, self.rank, self.size).ok();
        }
        None
    }

    /// Whether a record resolved to `scope` is printed by this rank: the decision for a
    /// record whose scope has already been found.
    pub(crate) fn decide_text(&self, level: Level, scope: &ScopeText) -> Decision {
        if scope.overflowed() {
            return self.decide(level, Some("\0"));
        }
        self.decide(level, scope.get())
    }

    /// What this rank does with `record` at `level`: its own `scope` key-value decides,
    /// else its logger's (the most recently added first), else it is `process`.
    /// Allocation-free.
    pub(crate) fn decide_record(
        &self,
        level: Level,
        record: &Record<'_>,
        values: &OwnedKVList,
    ) -> Decision {
        let mut decider = Decider {
            gate: self,
            level,
            decision: None,
        };
        // The decider stops the walk with an error once it has decided (dropped here,
        // only then: the common case makes no call).
        if let Err(e) = record.kv().serialize(record, &mut decider) {
            drop(e);
        }
        if decider.decision.is_none() {
            if let Err(e) = values.serialize(record, &mut decider) {
                drop(e);
            }
        }
        decider.decision.unwrap_or_else(|| self.decide(level, None))
    }

    /// Whether a logger bound to `scope` at creation can skip records below the ungated
    /// level on this rank.
    pub(crate) fn bound_scope_skips(&self, scope: Scope) -> bool {
        let mut text = ScopeText::default();
        text.take(format_args!("{scope}"));
        self.decide_text(Level::Info, &text) == Decision::Skip
    }

    /// Returns true the first time an unknown scope is seen in this process.
    pub(crate) fn first_unknown(&self) -> bool {
        !self.warned_unknown.swap(true, Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(rank: u32, size: u32, local_rank: u32, local_size: u32) -> Gate {
        let info = RankInfo::new(rank, size, local_rank, local_size)
            .unwrap()
            .with_contiguous_group("tp", 2)
            .unwrap();
        Gate::new(&info, Level::Error, false)
    }

    #[test]
    fn decisions_by_scope_for_each_kind_of_rank() {
        use Decision::*;
        let cases: &[(&str, [Decision; 4])] = &[
            ("process", [Print, Print, Print, Print]),
            ("local", [Print, Skip, Print, Skip]),
            ("global", [Print, Skip, Skip, Skip]),
            ("group:tp", [Print, Skip, Print, Skip]),
            ("ranks:1,last", [Skip, Print, Skip, Print]),
            ("ranks:0-2", [Print, Print, Print, Skip]),
            ("group:dp", [Unknown, Unknown, Unknown, Unknown]),
            ("ranks:x", [Unknown, Unknown, Unknown, Unknown]),
            ("globl", [Unknown, Unknown, Unknown, Unknown]),
        ];
        // 4 ranks on 2 nodes of 2; tp groups {0,1} and {2,3}.
        let gates = [
            gate(0, 4, 0, 2),
            gate(1, 4, 1, 2),
            gate(2, 4, 0, 2),
            gate(3, 4, 1, 2),
        ];
        for (scope, want) in cases {
            let got: Vec<_> = gates
                .iter()
                .map(|g| g.decide(Level::Info, Some(scope)))
                .collect();
            assert_eq!(got, want, "{scope}");
        }
    }

    #[test]
    fn errors_print_everywhere_and_all_ranks_turns_gating_off() {
        let g = gate(3, 4, 1, 2);
        assert_eq!(g.decide(Level::Error, Some("global")), Decision::Print);
        assert_eq!(g.decide(Level::Critical, Some("ranks:0")), Decision::Print);
        let info = RankInfo::new(3, 4, 1, 2).unwrap();
        let open = Gate::new(&info, Level::Error, true);
        assert_eq!(open.decide(Level::Info, Some("global")), Decision::Print);
        assert!(open.passes_all());
    }

    #[test]
    fn a_muted_console_rank_prints_only_ungated_records() {
        let mut g = gate(0, 4, 0, 2);
        g.mute_console();
        assert_eq!(g.decide(Level::Info, None), Decision::Skip);
        assert_eq!(g.decide(Level::Info, Some("nonsense")), Decision::Skip);
        assert_eq!(g.decide(Level::Error, Some("global")), Decision::Print);
    }

    #[test]
    fn long_scope_texts_are_unknown() {
        let g = gate(0, 4, 0, 2);
        let mut text = ScopeText::default();
        text.take(format_args!("ranks:{}", "0,".repeat(40)));
        assert!(text.overflowed());
        assert_eq!(g.decide_text(Level::Info, &text), Decision::Unknown);
    }

    #[test]
    fn bound_scopes_that_skip() {
        let g = gate(3, 4, 1, 2);
        assert!(g.bound_scope_skips(Scope::Global));
        assert!(g.bound_scope_skips(Scope::Local));
        assert!(g.bound_scope_skips(Scope::Group("tp")));
        assert!(!g.bound_scope_skips(Scope::Process));
        assert!(!g.bound_scope_skips(Scope::Group("undeclared")));
    }
}
