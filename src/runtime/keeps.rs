//! [`keeps`]: the scope decision of the running logger, asked by callers that decide before
//! they build a record (the Python package's logger class and `*_once` helpers).

use slog::Level;

use super::registry::current;
use crate::gate::ScopeText;

/// Whether the logger built last in this process keeps a record at `level` whose scope is
/// the text `scope` (`"process"`, `"local"`, `"global"`, `"group:NAME"`,
/// `"ranks:0,3-5,last"`): `true` when this rank prints it on its console or its file keeps
/// every record (`RANKLOG_FILE_SCOPE=all`), `false` when its records would be dropped at
/// the gate.
///
/// It answers exactly as the logger's gate does for a record carrying that scope: records
/// at or above the ungated level (error by default) are always kept; `RANKLOG_ALL_RANKS`
/// and `RANKLOG_CONSOLE_RANKS` count; a scope this rank does not understand (a typo, an
/// undeclared group, a bad rank list, a text over 64 bytes) is kept, as the gate prints it as `process` and
/// warns once. The answer for a given scope and level does not change while the logger
/// lives (the gate is decided at start-up), so a caller may remember it; the level filter
/// (`RANKLOG_LEVEL`, `ranklog level`) is not part of it. Without a built ranklog logger
/// (none yet, or its guard dropped), every record is kept.
///
/// This is the decision a foreign logging front end (Python's `logging`) needs to drop a
/// gated-out record before it formats or even builds it.
///
/// # Examples
///
/// ```
/// let info = ranklog::RankInfo::new(1, 4, 1, 4)?; // not the first rank of anything
/// let guard = ranklog::Builder::new().rank_info(info).no_console().build()?;
/// assert!(!ranklog::keeps(slog::Level::Info, "global"));
/// assert!(ranklog::keeps(slog::Level::Info, "process"));
/// assert!(ranklog::keeps(slog::Level::Error, "global")); // errors are never gated
/// assert!(ranklog::keeps(slog::Level::Info, "ranks:1,3"));
/// drop(guard);
/// assert!(ranklog::keeps(slog::Level::Info, "global"));   // no logger: nothing gated
/// # Ok::<(), ranklog::Error>(())
/// ```
pub fn keeps(level: Level, scope: &str) -> bool {
    current().is_none_or(|a| {
        // As the gate reads a record's scope: a text longer than it keeps is unknown.
        let mut text = ScopeText::default();
        text.take(format_args!("{scope}"));
        a.file_all || a.gate.decide_text(level, &text).prints()
    })
}
