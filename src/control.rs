//! Changing a running job's verbosity: the contract between `ranklog level` (or any
//! program calling [`LevelChange::append_to`]) and the ranks that apply it.
//!
//! A change is one JSON line appended to [`CONTROL_FILE`] in the job's log directory
//! (`RANKLOG_DIR`), e.g. `{"level":"debug","filter":null,"ranks":"17"}`. Every rank whose
//! logger writes to that directory reads the file about every 250 ms, applies each new line
//! that names it (all ranks when `ranks` is null), in order, and logs a `level_changed`
//! record saying so. The file is append-only and holds the job's history of changes, so a
//! rank that starts late catches up. It is hidden (a leading `.`) and does not end in
//! `.jsonl`, so `ranklog merge` and friends never take it for a rank's records.
//!
//! Python's `Logger.setLevel` at run time and the vLLM server's `set_logging_level` are the
//! anchors; this one reaches every rank of every node through the shared filesystem the
//! per-rank files already live on.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use slog::Level;

use crate::gate::level::LevelFilter;
use crate::identity::rank_list;
use crate::schema::{level_from_name, level_name};
use crate::{Error, Result};

/// The name of the control file inside the job's log directory.
pub const CONTROL_FILE: &str = ".ranklog-control";

/// The control file of the job whose log directory is `dir`.
pub fn control_path(dir: &Path) -> PathBuf {
    dir.join(CONTROL_FILE)
}

/// One change of verbosity for some or all ranks of a running job.
///
/// A `level` alone sets the minimum level and drops any `RANKLOG_FILTER` directives (so
/// that `level debug` means debug everywhere); a `filter` alone replaces the directives
/// and keeps the level; both set both.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LevelChange {
    level: Option<Level>,
    filter: Option<String>,
    ranks: Option<String>,
}

impl LevelChange {
    /// A change to `level` and/or `filter` (`RANKLOG_FILTER` syntax: `info,hyper=warn`)
    /// for the ranks in `ranks` (`0,3-5,last`; `None`: every rank).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidSetting`] naming `LevelChange::new` when neither a level nor a
    /// filter is given, the directives do not parse, or the rank list is not
    /// `0,3-5,last`-style.
    ///
    /// # Examples
    ///
    /// ```
    /// use ranklog::control::LevelChange;
    /// let change = LevelChange::new(Some(slog::Level::Debug), None, Some("17"))?;
    /// assert!(LevelChange::new(None, Some("hyper=loud"), None).is_err());
    /// # Ok::<(), ranklog::Error>(())
    /// ```
    pub fn new(level: Option<Level>, filter: Option<&str>, ranks: Option<&str>) -> Result<Self> {
        let refused = |value: &str, reason: String| Error::InvalidSetting {
            method: "LevelChange::new",
            value: value.to_owned(),
            reason,
        };
        if level.is_none() && filter.is_none() {
            return Err(refused("", "give a level, a filter, or both".to_owned()));
        }
        if let Some(directives) = filter {
            LevelFilter::new(level.unwrap_or(Level::Info), Some(directives))
                .map_err(|reason| refused(directives, reason))?;
        }
        if let Some(list) = ranks {
            rank_list::contains(list, 0, 1).map_err(|reason| refused(list, reason))?;
        }
        Ok(LevelChange {
            level,
            filter: filter.map(str::to_owned),
            ranks: ranks.map(str::to_owned),
        })
    }

    /// The new minimum level, if the change sets one.
    pub fn level(&self) -> Option<Level> {
        self.level
    }

    /// The new directives, if the change sets them.
    pub fn filter(&self) -> Option<&str> {
        self.filter.as_deref()
    }

    /// The ranks it applies to (`None`: every rank).
    pub fn ranks(&self) -> Option<&str> {
        self.ranks.as_deref()
    }

    /// Appends the change to the control file of the job logging to `dir`, in one
    /// `write(2)` with `O_APPEND`, so that changes from several commands never interleave.
    ///
    /// # Errors
    ///
    /// [`Error::Control`] when the file cannot be opened or written (e.g. `dir` does not
    /// exist: it must be the job's `RANKLOG_DIR`).
    pub fn append_to(&self, dir: &Path) -> Result<()> {
        let path = control_path(dir);
        let mut line = self.to_line();
        line.push('\n');
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(line.as_bytes()))
            .map_err(|source| Error::Control { path, source })
    }

    /// The change as its line in the control file (without the newline).
    fn to_line(&self) -> String {
        serde_json::json!({
            "level": self.level.map(level_name),
            "filter": self.filter,
            "ranks": self.ranks,
        })
        .to_string()
    }

    /// Reads one line of the control file.
    ///
    /// # Errors
    ///
    /// Why the line is not a change: not JSON, an unknown level, bad directives or ranks.
    pub(crate) fn parse_line(line: &str) -> std::result::Result<LevelChange, String> {
        let value: serde_json::Value =
            serde_json::from_str(line).map_err(|e| format!("not a JSON object: {e}"))?;
        let text = |key: &str| -> std::result::Result<Option<&str>, String> {
            match &value[key] {
                serde_json::Value::Null => Ok(None),
                serde_json::Value::String(s) => Ok(Some(s.as_str())),
                other => Err(format!("{key} should be text or null, not {other}")),
            }
        };
        let level = text("level")?
            .map(|name| level_from_name(name).ok_or_else(|| format!("unknown level {name:?}")))
            .transpose()?;
        LevelChange::new(level, text("filter")?, text("ranks")?).map_err(|e| e.to_string())
    }

    /// Whether rank `rank` of a job of `size` ranks applies this change.
    pub(crate) fn applies_to(&self, rank: u32, size: u32) -> bool {
        self.ranks
            .as_deref()
            .is_none_or(|list| rank_list::contains(list, rank, size).unwrap_or(false))
    }

    /// The filter that `current` becomes under this change.
    pub(crate) fn apply(&self, current: &LevelFilter) -> LevelFilter {
        let level = self.level.unwrap_or(current.level());
        let directives = match (&self.level, &self.filter) {
            (_, Some(filter)) => Some(filter.as_str()),
            (Some(_), None) => None,
            (None, None) => current.directives(),
        };
        // The directives were checked by `new`.
        LevelFilter::new(level, directives).unwrap_or_else(|_| LevelFilter::plain(level))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_reads_back_as_written_and_names_its_ranks() {
        let change = LevelChange::new(Some(Level::Debug), None, Some("2,last")).unwrap();
        let line = change.to_line();
        assert_eq!(line, r#"{"filter":null,"level":"debug","ranks":"2,last"}"#);
        assert_eq!(LevelChange::parse_line(&line).unwrap(), change);
        let on: Vec<u32> = (0..4).filter(|&r| change.applies_to(r, 4)).collect();
        assert_eq!(on, [2, 3]);
    }

    #[test]
    fn bad_lines_say_why() {
        for (line, why) in [
            ("nonsense", "not a JSON object"),
            (r#"{"level":"loud"}"#, "unknown level"),
            (r#"{"level":null,"filter":null}"#, "give a level"),
            (r#"{"filter":"hyper=loud"}"#, "hyper=loud"),
            (r#"{"level":"info","ranks":"x"}"#, "not a rank"),
            (r#"{"level":3}"#, "should be text"),
        ] {
            let err = LevelChange::parse_line(line).unwrap_err();
            assert!(err.contains(why), "{line}: {err}");
        }
    }

    #[test]
    fn a_level_alone_drops_the_directives_and_a_filter_alone_keeps_the_level() {
        let current = LevelFilter::new(Level::Info, Some("info,hyper=warn")).unwrap();
        let debug = LevelChange::new(Some(Level::Debug), None, None).unwrap();
        let after = debug.apply(&current);
        assert_eq!((after.level(), after.directives()), (Level::Debug, None));
        let quiet = LevelChange::new(None, Some("hyper=error"), None).unwrap();
        let after = quiet.apply(&current);
        assert_eq!(
            (after.level(), after.directives()),
            (Level::Info, Some("hyper=error"))
        );
    }
}
