//! The console line: level, local time, rank tag, location, message, key-values.
//!
//! [`LineWriter`] is its one renderer: the sink's [`ConsoleFormat`] writes records with it,
//! and the `ranklog` reader prints the records of the files with it, so both print the same
//! bytes.

use std::io::Write as _;

use slog::Level;

use super::clock::{self, Clock, EpochTime, Layout};
use super::escape;
use super::numbers;
use super::record::{causes, Collected, Val};
use crate::RankInfo;

/// When the console uses colour (`RANKLOG_COLOR`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ColorChoice {
    /// Colour when stderr is a terminal and `NO_COLOR` is unset or empty.
    #[default]
    Auto,
    /// Always colour (ANSI escapes), even into a pipe or file.
    Always,
    /// Never colour.
    Never,
}

/// Indentation and marker of a message's continuation lines: a record always starts at
/// column 0 with its level, so a marked, indented line cannot pass for one.
const CONTINUATION: &[u8] = b"    | ";

/// What goes between a console line's time and its location.
pub(crate) enum Tag<'a> {
    /// `[rank/size host:local_rank]` made from these fields (a parsed record's).
    #[cfg(feature = "cli")]
    Rank(RankTag<'a>),
    /// Text already made: a rank's own [`rank_tag`], or `[ranks 0-7]` for the ranks of a
    /// collapsed line.
    Text(&'a str),
}

/// The fields of a rank tag; `None` prints as `?`.
pub(crate) struct RankTag<'a> {
    /// The global rank.
    pub(crate) rank: Option<u32>,
    /// The world size; the rank is zero-padded to the width of `size - 1`.
    pub(crate) size: Option<u32>,
    /// The host name, escaped, with `' '` and `]` written as `_`.
    pub(crate) host: &'a str,
    /// The rank on its node.
    pub(crate) local_rank: Option<u32>,
}

impl RankTag<'_> {
    /// `[rank/size host:local_rank]`: `[03/16 node-a:1]`, `[3/? node-a:?]`, `[? node-a:?]`.
    fn write(&self, out: &mut Vec<u8>) {
        out.push(b'[');
        match (self.rank, self.size) {
            (Some(rank), Some(size)) => {
                let width = size
                    .saturating_sub(1)
                    .checked_ilog10()
                    .map_or(1, |d| d as usize + 1);
                let start = out.len();
                numbers::put_u64(out, rank.into());
                let pad = width.saturating_sub(out.len() - start);
                out.splice(start..start, std::iter::repeat_n(b'0', pad));
                out.push(b'/');
                numbers::put_u64(out, size.into());
            }
            (Some(rank), None) => {
                numbers::put_u64(out, rank.into());
                out.extend_from_slice(b"/?");
            }
            (None, _) => out.push(b'?'),
        }
        out.push(b' ');
        let start = out.len();
        escape::message_line(out, self.host);
        for b in &mut out[start..] {
            if matches!(*b, b' ' | b']') {
                *b = b'_';
            }
        }
        match self.local_rank {
            Some(local) => {
                out.push(b':');
                numbers::put_u64(out, local.into());
                out.push(b']');
            }
            None => out.extend_from_slice(b":?]"),
        }
    }
}

/// `[rank/size host:local_rank]` of a rank, made once at start: the rank padded to the
/// width of the largest rank so that the lines of a job line up; `?` for an unknown local
/// rank.
pub(crate) fn rank_tag(info: &RankInfo) -> String {
    let tag = RankTag {
        rank: Some(info.rank),
        size: Some(info.size),
        host: &info.host,
        local_rank: info.local_known.then_some(info.local_rank),
    };
    let mut out = Vec::new();
    tag.write(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// A console line's parts before its key-values.
pub(crate) struct Head<'a> {
    /// Printed by its short name (`WARN`), in slog-term's colour when colouring.
    pub(crate) level: Level,
    /// The record's time, in the writer's [`Layout`].
    pub(crate) time: EpochTime,
    /// Whose line it is.
    pub(crate) tag: Tag<'a>,
    /// The call site's file; the location `file:line` is left out when both are missing
    /// (empty file, no line).
    pub(crate) file: &'a str,
    /// The call site's line.
    pub(crate) line: Option<u32>,
    /// The whole message: its first line goes here, the others after the key-values
    /// ([`LineWriter::tail`]).
    pub(crate) msg: &'a str,
}

/// A key-value's value as the console prints it.
pub(crate) enum Shown<'a> {
    /// Text, escaped as one word (quoted when it has spaces).
    Text(&'a str),
    /// An unsigned integer, in decimal.
    U64(u64),
    /// A signed integer, in decimal.
    I64(i64),
    /// A float, as Rust's `Display` writes it (`1.5`, `3`).
    F64(f64),
    /// `true` or `false`.
    Bool(bool),
    /// `none`.
    Null,
    /// An error's causes, outermost first (see [`causes`]), printed joined with `: ` and
    /// escaped as one word.
    Chain(&'a str),
}

/// The one renderer of the console line, for the sink and the `ranklog` reader:
/// `LEVEL time [tag] file:line message key=value ...`, then the message's other lines
/// marked with `    | `. Level colours, escaping and order live here only.
pub(crate) struct LineWriter {
    /// Written before every line, continuation lines included; already escaped.
    prefix: String,
    color: bool,
    clock: Clock,
}

impl LineWriter {
    /// Lines starting with `prefix` (already escaped; empty for none), coloured with ANSI
    /// escapes when `color`, their times in `time`.
    pub(crate) fn new(prefix: String, color: bool, time: Layout) -> LineWriter {
        LineWriter {
            prefix,
            color,
            clock: Clock::new(time),
        }
    }

    /// Prefix, level, time, tag, location and the message's first line.
    pub(crate) fn head(&mut self, out: &mut Vec<u8>, head: &Head<'_>) {
        out.extend_from_slice(self.prefix.as_bytes());
        let name = head.level.as_short_str();
        if self.color {
            let color = slog_term::TermDecorator::level_to_color(head.level);
            let _ = write!(out, "\x1b[1;3{color}m{name}\x1b[0m");
        } else {
            out.extend_from_slice(name.as_bytes());
        }
        out.push(b' ');
        self.clock.write(out, head.time);
        out.push(b' ');
        match &head.tag {
            #[cfg(feature = "cli")]
            Tag::Rank(tag) => tag.write(out),
            Tag::Text(text) => out.extend_from_slice(text.as_bytes()),
        }
        out.push(b' ');
        if !head.file.is_empty() || head.line.is_some() {
            self.dim(out, true);
            escape::message_line(out, head.file);
            if let Some(line) = head.line {
                out.push(b':');
                numbers::put_u64(out, line.into());
            }
            self.dim(out, false);
            out.push(b' ');
        }
        escape::message_line(out, head.msg.split('\n').next().unwrap_or(""));
    }

    /// ` key=value`, the key as given (escaped as a word) in bold when colouring.
    pub(crate) fn pair(&self, out: &mut Vec<u8>, key: &str, value: Shown<'_>) {
        out.push(b' ');
        if self.color {
            out.extend_from_slice(b"\x1b[1m");
        }
        escape::word(out, key);
        if self.color {
            out.extend_from_slice(b"\x1b[0m");
        }
        out.push(b'=');
        match value {
            Shown::Text(text) => escape::word(out, text),
            Shown::U64(v) => numbers::put_u64(out, v),
            Shown::I64(v) => numbers::put_i64(out, v),
            Shown::F64(v) => {
                let _ = write!(out, "{v}");
            }
            Shown::Bool(v) => {
                let _ = write!(out, "{v}");
            }
            Shown::Null => out.extend_from_slice(b"none"),
            Shown::Chain(chain) => {
                let joined: Vec<&str> = causes(chain).collect();
                escape::word(out, &joined.join(": "));
            }
        }
    }

    /// The lines of `msg` after its first, each prefixed and marked, then `\n`.
    pub(crate) fn tail(&self, out: &mut Vec<u8>, msg: &str) {
        for line in msg.split('\n').skip(1) {
            out.push(b'\n');
            out.extend_from_slice(self.prefix.as_bytes());
            out.extend_from_slice(CONTINUATION);
            escape::message_line(out, line);
        }
        out.push(b'\n');
    }

    /// Starts (`on`) or ends the location's dim colour, when colouring.
    fn dim(&self, out: &mut Vec<u8>, on: bool) {
        if self.color {
            out.extend_from_slice(if on { b"\x1b[2m" } else { b"\x1b[0m" });
        }
    }
}

/// Formats console lines for one rank.
pub(crate) struct ConsoleFormat {
    /// The rank's tag, made once.
    tag: String,
    /// Times in slog-term's layout in local time (`Nov 21 04:24:06.123`).
    writer: LineWriter,
}

impl ConsoleFormat {
    /// `prefix` is written before every line, already escaped.
    pub(crate) fn new(info: &RankInfo, prefix: String, color: bool) -> ConsoleFormat {
        ConsoleFormat {
            tag: rank_tag(info),
            writer: LineWriter::new(prefix, color, clock::CONSOLE),
        }
    }

    /// Appends the record's line (or lines) to `out`, ending with `\n`.
    pub(crate) fn format(&mut self, out: &mut Vec<u8>, c: &Collected) {
        let head = Head {
            level: c.level,
            time: EpochTime::from_nanos(c.ts_nanos),
            tag: Tag::Text(&self.tag),
            file: c.location.file,
            line: Some(c.location.line),
            msg: c.msg(),
        };
        self.writer.head(out, &head);
        for (key, val) in c.pairs() {
            let shown = match val {
                Val::Str(range) => Shown::Text(c.text(range)),
                Val::U64(v) => Shown::U64(*v),
                Val::I64(v) => Shown::I64(*v),
                Val::F64(v) => Shown::F64(*v),
                Val::Bool(v) => Shown::Bool(*v),
                Val::Null => Shown::Null,
                Val::Chain(range) => Shown::Chain(c.text(range)),
            };
            self.writer.pair(out, key, shown);
        }
        self.writer.tail(out, c.msg());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::record::with_collected;
    use slog::{o, OwnedKVList};

    fn info(rank: u32, size: u32) -> RankInfo {
        let mut info = RankInfo::new(rank, size, 1, 2).unwrap();
        info.host = "node-a".into();
        info
    }

    fn line(msg: &str, kv: &dyn slog::KV) -> String {
        let mut fmt = ConsoleFormat::new(&info(3, 16), "pre ".into(), false);
        let values = OwnedKVList::from(o!("model" => "llama"));
        with_collected(Level::Warning, format_args!("{msg}"), kv, &values, |c| {
            let mut out = Vec::new();
            fmt.format(&mut out, c);
            String::from_utf8(out).unwrap()
        })
    }

    #[test]
    fn rank_tag_pads_the_rank_and_marks_unknown_local_rank() {
        assert_eq!(rank_tag(&info(3, 16)), "[03/16 node-a:1]");
        let mut i = info(0, 2);
        i.local_known = false;
        assert_eq!(rank_tag(&i), "[0/2 node-a:?]");
    }

    #[test]
    fn a_line_has_level_time_tag_location_message_and_pairs() {
        let text = line(
            "loaded",
            &o!("bytes" => 10u64, "name" => "a b", "scope" => "global"),
        );
        let expected_tail = "loaded bytes=10 name=\"a b\" model=llama\n";
        assert!(text.starts_with("pre WARN "), "{text}");
        assert!(
            text.contains(" [03/16 node-a:1] src/sink/record.rs:"),
            "{text}"
        );
        assert!(text.ends_with(expected_tail), "{text}");
        assert!(
            !text.contains("scope"),
            "the scope is not repeated as a pair: {text}"
        );
    }

    #[test]
    fn continuation_lines_are_marked_and_controls_escaped() {
        let text = line("first\nINFO forged\r\x1b[2J", &o!());
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert_eq!(lines[1], "pre     | INFO forged\\r\\x1b[2J");
    }
}
