//! Records printed as the console prints them: `LEVEL time [rank/size host:local]
//! file:line message key=value ...`, by the console's own renderer
//! ([`crate::sink::console::LineWriter`]), so that no record can forge a line or send
//! terminal control sequences and the reader prints what the console printed.

use super::record::{display_key, Record, Value};
use super::time::TimeZoneChoice;
use crate::sink::clock::{self, EpochTime};
use crate::sink::console::{Head, LineWriter, RankTag, Shown, Tag};

/// Formats parsed records as console lines.
pub(crate) struct LineFormat {
    writer: LineWriter,
}

impl LineFormat {
    /// Lines with times in the console's layout in `zone`, coloured when `color`.
    pub(crate) fn new(zone: TimeZoneChoice, color: bool) -> LineFormat {
        LineFormat {
            writer: LineWriter::new(String::new(), color, clock::CONSOLE.in_zone(zone)),
        }
    }

    /// The whole line (or lines) of `rec`, ending with `\n`.
    pub(crate) fn record(&mut self, out: &mut Vec<u8>, rec: &Record<'_>) {
        self.head(out, rec, Tag::Rank(rank_tag(rec)));
        for (key, value) in &rec.fields {
            self.field(out, key, value);
        }
        self.tail(out, rec);
    }

    /// Level, time, tag, location and the message's first line.
    pub(crate) fn head(&mut self, out: &mut Vec<u8>, rec: &Record<'_>, tag: Tag<'_>) {
        let head = Head {
            level: rec.level,
            time: EpochTime::from_micros(rec.ts_us),
            tag,
            file: &rec.file,
            line: rec.line,
            msg: &rec.msg,
        };
        self.writer.head(out, &head);
    }

    /// ` key=value`, the key as the application wrote it ([`display_key`]).
    pub(crate) fn field(&self, out: &mut Vec<u8>, key: &str, value: &Value<'_>) {
        let json;
        let shown = match value {
            Value::Str(s) => Shown::Text(s),
            Value::U64(v) => Shown::U64(*v),
            Value::I64(v) => Shown::I64(*v),
            Value::F64(v) => Shown::F64(*v),
            Value::Bool(v) => Shown::Bool(*v),
            Value::Null => Shown::Null,
            Value::Json(v) => {
                json = v.to_string();
                Shown::Text(&json)
            }
        };
        self.writer.pair(out, display_key(key), shown);
    }

    /// ` key=text`, the text escaped as a value.
    pub(crate) fn field_text(&self, out: &mut Vec<u8>, key: &str, text: &str) {
        self.writer.pair(out, display_key(key), Shown::Text(text));
    }

    /// The message's continuation lines, marked, then `\n`.
    pub(crate) fn tail(&self, out: &mut Vec<u8>, rec: &Record<'_>) {
        self.writer.tail(out, &rec.msg);
    }
}

/// The record's own `[rank/size host:local_rank]`, `?` for what it does not say.
fn rank_tag<'a>(rec: &'a Record<'_>) -> RankTag<'a> {
    RankTag {
        rank: rec.rank,
        size: rec.size,
        host: &rec.host,
        local_rank: rec.local_rank,
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
