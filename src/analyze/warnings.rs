//! [`Warnings`]: damage found while reading, counted rather than reported line by line.

use std::path::{Path, PathBuf};

/// What was wrong with the inputs, without stopping the reading. Print
/// [`messages`](Self::messages) once at the end: one line per kind of damage, never one
/// per bad line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Warnings {
    /// Files whose last line was cut short (a rank killed mid-write); the line is skipped.
    pub truncated: Vec<PathBuf>,
    /// Complete lines that are not ranklog records (not JSON, or no valid `ts`/`level`).
    pub bad_lines: u64,
    /// The first bad line: file and line number (from 1).
    pub first_bad_line: Option<(PathBuf, u64)>,
    /// Records whose schema version `v` is newer than [`crate::SCHEMA_VERSION`]; they are
    /// read as far as this version understands them.
    pub newer_schema: u64,
    /// The newest schema version seen.
    pub newest_schema: u64,
    /// Lines with invalid UTF-8, read with U+FFFD in place of the bad bytes.
    pub invalid_utf8: u64,
    /// Inputs (directories) that hold no rank file.
    pub no_rank_files: Vec<PathBuf>,
    /// Compressed segments (`.gz`, `.zst`, ...), which are not read.
    pub compressed: Vec<PathBuf>,
    /// Segments listed but gone when their turn came (rotated or deleted meanwhile).
    pub vanished: Vec<PathBuf>,
    /// Files into which records of a killed rank were recovered from its ring before
    /// reading (see [`crate::recover`]), with how many.
    pub recovered: Vec<(PathBuf, u64)>,
    /// Rings that could not be recovered (e.g. a directory this user may not write), with
    /// why: their records are not in what was read.
    pub unrecovered: Vec<String>,
}

impl Warnings {
    /// Whether nothing was wrong.
    pub fn is_empty(&self) -> bool {
        *self == Warnings::default()
    }

    /// One sentence per kind of damage, for stderr.
    pub fn messages(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.truncated.is_empty() {
            out.push(format!(
                "{} with a truncated last line (skipped; a rank killed mid-write?): {}",
                plural(self.truncated.len() as u64, "file"),
                list(&self.truncated)
            ));
        }
        if self.bad_lines > 0 {
            let first = self
                .first_bad_line
                .as_ref()
                .map(|(path, line)| format!(" (first: {}:{line})", path.display()))
                .unwrap_or_default();
            out.push(format!(
                "{} skipped: not ranklog records (not JSON, or no valid ts or level){first}",
                plural(self.bad_lines, "line")
            ));
        }
        if self.newer_schema > 0 {
            out.push(format!(
                "{} of schema version {} (this ranklog reads version {}): read as far as \
                 understood; update ranklog",
                plural(self.newer_schema, "record"),
                self.newest_schema,
                crate::SCHEMA_VERSION
            ));
        }
        if self.invalid_utf8 > 0 {
            out.push(format!(
                "{} with invalid UTF-8, read with U+FFFD in place of the bad bytes",
                plural(self.invalid_utf8, "line")
            ));
        }
        if !self.no_rank_files.is_empty() {
            out.push(format!(
                "no rank files (rank-<rank>.jsonl) in {}",
                list(&self.no_rank_files)
            ));
        }
        if !self.compressed.is_empty() {
            out.push(format!(
                "{} not read (decompress them first): {}",
                plural(self.compressed.len() as u64, "compressed segment"),
                list(&self.compressed)
            ));
        }
        if !self.recovered.is_empty() {
            let records: u64 = self.recovered.iter().map(|(_, n)| n).sum();
            let files: Vec<PathBuf> = self.recovered.iter().map(|(p, _)| p.clone()).collect();
            out.push(format!(
                "{} of killed ranks recovered from their rings (marked \"recovered\": true) into {}",
                plural(records, "record"),
                list(&files)
            ));
        }
        for why in &self.unrecovered {
            out.push(format!("records of a killed rank not read: {why}"));
        }
        if !self.vanished.is_empty() {
            out.push(format!(
                "{} disappeared while reading: {}",
                plural(self.vanished.len() as u64, "file"),
                list(&self.vanished)
            ));
        }
        out
    }

    pub(crate) fn bad_line(&mut self, path: &Path, line: u64) {
        self.bad_lines += 1;
        if self.first_bad_line.is_none() {
            self.first_bad_line = Some((path.to_owned(), line));
        }
    }

    pub(crate) fn schema(&mut self, v: u64) {
        if v > u64::from(crate::SCHEMA_VERSION) {
            self.newer_schema += 1;
            self.newest_schema = self.newest_schema.max(v);
        }
    }
}

fn plural(n: u64, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// At most three paths, then how many more.
fn list(paths: &[PathBuf]) -> String {
    let mut text: Vec<String> = paths
        .iter()
        .take(3)
        .map(|p| p.display().to_string())
        .collect();
    if paths.len() > 3 {
        text.push(format!("and {} more", paths.len() - 3));
    }
    text.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_damage_is_one_line_with_its_count() {
        let mut w = Warnings::default();
        assert!(w.is_empty() && w.messages().is_empty());
        for line in [3, 9] {
            w.bad_line(Path::new("r.jsonl"), line);
        }
        w.schema(1);
        w.schema(7);
        w.truncated = (0..5).map(|i| PathBuf::from(format!("f{i}"))).collect();
        let m = w.messages();
        assert_eq!(m.len(), 3, "{m:?}");
        assert!(m[0].starts_with("5 files with a truncated") && m[0].ends_with("and 2 more"));
        assert!(m[1].starts_with("2 lines skipped") && m[1].ends_with("(first: r.jsonl:3)"));
        assert!(m[2].starts_with("1 record of schema version 7"), "{}", m[2]);
    }
}
