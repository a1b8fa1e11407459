//! The console line: level, local time, rank tag, location, message, key-values.

use std::io::Write as _;

use slog::Level;

use super::clock::{self, Clock};
use super::escape;
use super::record::{Collected, Val};
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

/// Formats console lines for one rank.
pub(crate) struct ConsoleFormat {
    prefix: String,
    tag: String,
    color: bool,
    /// slog-term's timestamp layout in local time (`Nov 21 04:24:06.123`).
    clock: Clock,
}

impl ConsoleFormat {
    /// `prefix` is written before every line, already escaped.
    pub(crate) fn new(info: &RankInfo, prefix: String, color: bool) -> ConsoleFormat {
        ConsoleFormat {
            prefix,
            tag: rank_tag(info),
            color,
            clock: Clock::new(clock::CONSOLE),
        }
    }

    /// Appends the record's line (or lines) to `out`, ending with `\n`.
    pub(crate) fn format(&mut self, out: &mut Vec<u8>, c: &Collected) {
        out.extend_from_slice(self.prefix.as_bytes());
        self.level(out, c.level);
        out.push(b' ');
        self.clock.write(out, c.ts_nanos);
        out.push(b' ');
        out.extend_from_slice(self.tag.as_bytes());
        out.push(b' ');
        if self.color {
            out.extend_from_slice(b"\x1b[2m");
        }
        escape::message_line(out, c.location.file);
        let _ = write!(out, ":{}", c.location.line);
        if self.color {
            out.extend_from_slice(b"\x1b[0m");
        }
        out.push(b' ');
        let mut lines = c.msg.split('\n');
        escape::message_line(out, lines.next().unwrap_or(""));
        for (key, val) in &c.pairs {
            out.push(b' ');
            if self.color {
                out.extend_from_slice(b"\x1b[1m");
            }
            escape::word(out, key);
            if self.color {
                out.extend_from_slice(b"\x1b[0m");
            }
            out.push(b'=');
            match val {
                Val::Str(range) => escape::word(out, c.text(range)),
                Val::U64(v) => {
                    let _ = write!(out, "{v}");
                }
                Val::I64(v) => {
                    let _ = write!(out, "{v}");
                }
                Val::F64(v) => {
                    let _ = write!(out, "{v}");
                }
                Val::Bool(v) => {
                    let _ = write!(out, "{v}");
                }
                Val::Null => out.extend_from_slice(b"none"),
            }
        }
        for line in lines {
            out.push(b'\n');
            out.extend_from_slice(self.prefix.as_bytes());
            out.extend_from_slice(CONTINUATION);
            escape::message_line(out, line);
        }
        out.push(b'\n');
    }

    /// The level's short name (`INFO`, `WARN`, `ERRO`, ...), in slog-term's level colour
    /// when colour is on.
    fn level(&self, out: &mut Vec<u8>, level: Level) {
        let name = level.as_short_str();
        if self.color {
            let color = slog_term::TermDecorator::level_to_color(level);
            let _ = write!(out, "\x1b[1;3{color}m{name}\x1b[0m");
        } else {
            out.extend_from_slice(name.as_bytes());
        }
    }
}

/// `[rank/size host:local_rank]`, the rank padded to the width of the largest rank so that
/// the lines of a job line up; `?` for an unknown local rank.
pub(crate) fn rank_tag(info: &RankInfo) -> String {
    let width = info.size.saturating_sub(1).to_string().len();
    let mut host = Vec::new();
    escape::message_line(&mut host, &info.host);
    let host = String::from_utf8_lossy(&host).replace([' ', ']'], "_");
    let local = if info.local_known {
        info.local_rank.to_string()
    } else {
        "?".to_owned()
    };
    format!("[{:0width$}/{} {host}:{local}]", info.rank, info.size)
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
