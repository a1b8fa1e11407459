//! Records printed as the console prints them: `LEVEL time [rank/size host:local]
//! file:line message key=value ...`, escaped by the console's own rules so that no record
//! can forge a line or send terminal control sequences.

use std::io::Write as _;

use super::record::{display_key, Record, Value};
use super::time::{Clock, TimeZoneChoice};
use crate::sink::escape;

/// The console's timestamp layout (slog-term's), before the milliseconds.
const TIME_LAYOUT: &str = "%b %d %H:%M:%S";

/// Start of a message's continuation lines, as on the console.
const CONTINUATION: &[u8] = b"    | ";

/// What goes between the time and the location.
pub(crate) enum Tag<'a> {
    /// The record's own `[rank/size host:local_rank]`.
    Rank,
    /// Text already made, e.g. `[ranks 0-7]`.
    Text(&'a str),
}

/// Formats parsed records as console lines.
pub(crate) struct LineFormat {
    clock: Clock,
    color: bool,
}

impl LineFormat {
    pub(crate) fn new(zone: TimeZoneChoice, color: bool) -> LineFormat {
        LineFormat {
            clock: Clock::new(zone, TIME_LAYOUT),
            color,
        }
    }

    /// The whole line (or lines) of `rec`, ending with `\n`.
    pub(crate) fn record(&mut self, out: &mut Vec<u8>, rec: &Record<'_>) {
        self.head(out, rec, Tag::Rank);
        for (key, value) in &rec.fields {
            self.field(out, key, value);
        }
        self.tail(out, rec);
    }

    /// Level, time, tag, location and the message's first line.
    pub(crate) fn head(&mut self, out: &mut Vec<u8>, rec: &Record<'_>, tag: Tag<'_>) {
        let name = rec.level.as_short_str();
        if self.color {
            let color = slog_term::TermDecorator::level_to_color(rec.level);
            let _ = write!(out, "\x1b[1;3{color}m{name}\x1b[0m");
        } else {
            out.extend_from_slice(name.as_bytes());
        }
        out.push(b' ');
        self.clock.write(out, rec.ts_us);
        out.push(b' ');
        match tag {
            Tag::Rank => rank_tag(out, rec),
            Tag::Text(text) => out.extend_from_slice(text.as_bytes()),
        }
        out.push(b' ');
        if !rec.file.is_empty() || rec.line.is_some() {
            if self.color {
                out.extend_from_slice(b"\x1b[2m");
            }
            escape::message_line(out, &rec.file);
            if let Some(line) = rec.line {
                let _ = write!(out, ":{line}");
            }
            if self.color {
                out.extend_from_slice(b"\x1b[0m");
            }
            out.push(b' ');
        }
        escape::message_line(out, rec.msg.split('\n').next().unwrap_or(""));
    }

    /// ` key=value`.
    pub(crate) fn field(&self, out: &mut Vec<u8>, key: &str, value: &Value<'_>) {
        self.key(out, key);
        match value {
            Value::Str(s) => escape::word(out, s),
            Value::U64(v) => {
                let _ = write!(out, "{v}");
            }
            Value::I64(v) => {
                let _ = write!(out, "{v}");
            }
            Value::F64(v) => {
                let _ = write!(out, "{v}");
            }
            Value::Bool(v) => {
                let _ = write!(out, "{v}");
            }
            Value::Null => out.extend_from_slice(b"none"),
            Value::Json(v) => escape::word(out, &v.to_string()),
        }
    }

    /// ` key=text`, the text escaped as a value.
    pub(crate) fn field_text(&self, out: &mut Vec<u8>, key: &str, text: &str) {
        self.key(out, key);
        escape::word(out, text);
    }

    fn key(&self, out: &mut Vec<u8>, key: &str) {
        out.push(b' ');
        if self.color {
            out.extend_from_slice(b"\x1b[1m");
        }
        escape::word(out, display_key(key));
        if self.color {
            out.extend_from_slice(b"\x1b[0m");
        }
        out.push(b'=');
    }

    /// The message's continuation lines, marked, then `\n`.
    pub(crate) fn tail(&self, out: &mut Vec<u8>, rec: &Record<'_>) {
        for line in rec.msg.split('\n').skip(1) {
            out.push(b'\n');
            out.extend_from_slice(CONTINUATION);
            escape::message_line(out, line);
        }
        out.push(b'\n');
    }
}

/// `[rank/size host:local_rank]` as the console writes it: the rank padded to the width of
/// the largest rank, `?` for what the record does not say.
fn rank_tag(out: &mut Vec<u8>, rec: &Record<'_>) {
    out.push(b'[');
    match (rec.rank, rec.size) {
        (Some(rank), Some(size)) => {
            let width = size
                .saturating_sub(1)
                .checked_ilog10()
                .map_or(1, |d| d as usize + 1);
            let _ = write!(out, "{rank:0width$}/{size}");
        }
        (Some(rank), None) => {
            let _ = write!(out, "{rank}/?");
        }
        (None, _) => out.extend_from_slice(b"?"),
    }
    out.push(b' ');
    let start = out.len();
    escape::message_line(out, &rec.host);
    for b in &mut out[start..] {
        if matches!(*b, b' ' | b']') {
            *b = b'_';
        }
    }
    match rec.local_rank {
        Some(local) => {
            let _ = write!(out, ":{local}]");
        }
        None => out.extend_from_slice(b":?]"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(json: &str) -> String {
        let rec = Record::parse(json.as_bytes()).unwrap();
        let mut out = Vec::new();
        LineFormat::new(TimeZoneChoice::Utc, false).record(&mut out, &rec);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_record_reads_as_its_console_line() {
        let text = line(
            r#"{"v":1,"ts":"2026-11-21T04:24:06.123456Z","level":"warning","msg":"loaded","rank":3,"size":16,"local_rank":1,"local_size":2,"host":"node-a","pid":1,"scope":"global","module":"m","file":"src/m.rs","line":12,"bytes":10,"name":"a b","kv.size":7,"f":1.5,"none":null}"#,
        );
        assert_eq!(
            text,
            "WARN Nov 21 04:24:06.123 [03/16 node-a:1] src/m.rs:12 loaded bytes=10 \
             name=\"a b\" size=7 f=1.5 none=none\n"
        );
    }

    #[test]
    fn controls_are_escaped_and_continuations_marked_so_no_line_is_forged() {
        let text = line(
            r#"{"ts":"2026-11-21T04:24:06.123456Z","level":"info","msg":"a\nINFO forged\r\u001b[2J","rank":0,"host":"h ]\u001b","k\n":"v\r\n"}"#,
        );
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert_eq!(
            lines[0],
            "INFO Nov 21 04:24:06.123 [0/? h__\\x1b:?] a \"k\\n\"=\"v\\r\\n\""
        );
        assert_eq!(lines[1], "    | INFO forged\\r\\x1b[2J");
    }
}
