//! One JSONL line parsed back into a [`Record`], borrowing its text from the line.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use slog::Level;

mod flat;
pub(crate) mod spans;

pub(crate) use flat::{quick_head, timestamp_of};

use super::time;

use crate::schema::RESERVED;

/// A record of a per-rank JSONL file (schema in `docs/schema.md`).
///
/// Text borrows from the line when it holds no JSON escapes. Missing optional fields are
/// `None` or empty; fields this version does not know are kept in
/// [`fields`](Self::fields), in the order of the line.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Record<'a> {
    /// Schema version (`v`); `None` when absent.
    pub v: Option<u64>,
    /// Time of the record (`ts`), microseconds since the Unix epoch, UTC.
    pub ts_us: i64,
    /// Severity (`level`).
    pub level: Level,
    /// The message (`msg`), unescaped.
    pub msg: Cow<'a, str>,
    /// Global rank (`rank`).
    pub rank: Option<u32>,
    /// World size (`size`).
    pub size: Option<u32>,
    /// Rank on its node (`local_rank`); `None` when the launcher did not say.
    pub local_rank: Option<u32>,
    /// Ranks of the job on this node (`local_size`).
    pub local_size: Option<u32>,
    /// Host name (`host`).
    pub host: Cow<'a, str>,
    /// Process id (`pid`).
    pub pid: Option<u64>,
    /// Resolved scope (`scope`): `process`, `local`, `global`, or a newer scope's text.
    pub scope: Cow<'a, str>,
    /// Module path of the call site (`module`).
    pub module: Cow<'a, str>,
    /// Source file of the call site (`file`).
    pub file: Cow<'a, str>,
    /// Source line of the call site (`line`).
    pub line: Option<u32>,
    /// The record's key-values and any field this version does not know, in line order.
    pub fields: Vec<(Cow<'a, str>, Value<'a>)>,
}

/// A key-value's value, with its JSON type.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Value<'a> {
    /// `null` (a `None` or `()` when logged).
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A non-negative integer.
    U64(u64),
    /// A negative integer.
    I64(i64),
    /// A number with a fraction or exponent.
    F64(f64),
    /// A string.
    Str(Cow<'a, str>),
    /// An array or object (the schema has none; kept as found).
    Json(serde_json::Value),
}

impl Value<'_> {
    /// The value as a number, when it is one.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::U64(v) => Some(v as f64),
            Value::I64(v) => Some(v as f64),
            Value::F64(v) => Some(v),
            _ => None,
        }
    }

    /// The value as a non-negative integer, when it is one.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::U64(v) => Some(v),
            _ => None,
        }
    }

    /// The value as text, when it is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The same value, owning its text.
    pub fn into_owned(self) -> Value<'static> {
        match self {
            Value::Null => Value::Null,
            Value::Bool(v) => Value::Bool(v),
            Value::U64(v) => Value::U64(v),
            Value::I64(v) => Value::I64(v),
            Value::F64(v) => Value::F64(v),
            Value::Str(s) => Value::Str(Cow::Owned(s.into_owned())),
            Value::Json(v) => Value::Json(v),
        }
    }
}

impl<'a> Record<'a> {
    /// A record with no field set yet (level info, time 0), for the parsers to fill.
    pub(crate) fn empty() -> Record<'a> {
        let empty = || Cow::Borrowed("");
        Record {
            v: None,
            ts_us: 0,
            level: Level::Info,
            msg: empty(),
            rank: None,
            size: None,
            local_rank: None,
            local_size: None,
            host: empty(),
            pid: None,
            scope: empty(),
            module: empty(),
            file: empty(),
            line: None,
            fields: Vec::new(),
        }
    }

    /// Parses one line of a per-rank file (without its `\n`).
    ///
    /// # Errors
    ///
    /// serde_json's error when the line is not a JSON object, or has no valid `ts`
    /// (RFC 3339) or `level` (`critical` ... `trace`).
    ///
    /// # Examples
    ///
    /// ```
    /// let line = br#"{"v":1,"ts":"2026-11-21T04:24:06.123456Z","level":"info","msg":"hi","rank":3,"bytes":10}"#;
    /// let rec = ranklog::analyze::Record::parse(line)?;
    /// assert_eq!((rec.rank, &*rec.msg), (Some(3), "hi"));
    /// assert_eq!(rec.field("bytes").and_then(|v| v.as_u64()), Some(10));
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn parse(line: &'a [u8]) -> Result<Record<'a>, serde_json::Error> {
        match flat::parse(line) {
            Some(rec) => Ok(rec),
            None => serde_json::from_slice(line),
        }
    }

    /// The value of the key-value `key`. A key-value named like a reserved field, written
    /// `kv.size` in the file, is found under its own name (`size`).
    pub fn field(&self, key: &str) -> Option<&Value<'a>> {
        let exact = self.fields.iter().find(|(k, _)| k == key);
        let renamed = || {
            RESERVED
                .contains(&key)
                .then(|| {
                    self.fields
                        .iter()
                        .find(|(k, _)| k.strip_prefix("kv.") == Some(key))
                })
                .flatten()
        };
        exact.or_else(renamed).map(|(_, v)| v)
    }

    /// The `kind` key-value, when it is a string (`model_load`, `inference`, `gpu`, ...).
    pub fn kind(&self) -> Option<&str> {
        self.field("kind").and_then(Value::as_str)
    }

    /// The same record, owning its text.
    pub fn into_owned(self) -> Record<'static> {
        let own = |c: Cow<'a, str>| Cow::Owned(c.into_owned());
        Record {
            v: self.v,
            ts_us: self.ts_us,
            level: self.level,
            msg: own(self.msg),
            rank: self.rank,
            size: self.size,
            local_rank: self.local_rank,
            local_size: self.local_size,
            host: own(self.host),
            pid: self.pid,
            scope: own(self.scope),
            module: own(self.module),
            file: own(self.file),
            line: self.line,
            fields: self
                .fields
                .into_iter()
                .map(|(k, v)| (own(k), v.into_owned()))
                .collect(),
        }
    }
}

/// A key-value's key as the application wrote it: `kv.size` in the file is `size`.
pub(crate) fn display_key(key: &str) -> &str {
    match key.strip_prefix("kv.") {
        Some(name) if RESERVED.contains(&name) => name,
        _ => key,
    }
}

/// Parses a level name as written in the files (`warning`), also accepting `warn` and
/// `crit`, in any case.
///
/// # Examples
///
/// ```
/// assert_eq!(ranklog::analyze::parse_level("WARN"), Some(slog::Level::Warning));
/// assert_eq!(ranklog::analyze::parse_level("loud"), None);
/// ```
pub fn parse_level(name: &str) -> Option<Level> {
    crate::schema::level_from_name(name)
}

/// Text that borrows from the input when it can.
struct Text<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v)))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed("")))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for Value<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Value<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Value<'de>, E> {
                Ok(Value::Null)
            }
            fn visit_none<E: de::Error>(self) -> Result<Value<'de>, E> {
                Ok(Value::Null)
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value<'de>, E> {
                Ok(Value::Bool(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value<'de>, E> {
                Ok(Value::U64(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value<'de>, E> {
                Ok(u64::try_from(v).map_or(Value::I64(v), Value::U64))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value<'de>, E> {
                Ok(Value::F64(v))
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Value<'de>, E> {
                Ok(Value::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Value<'de>, E> {
                Ok(Value::Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Value<'de>, E> {
                Ok(Value::Str(Cow::Owned(v)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Value<'de>, A::Error> {
                let d = de::value::SeqAccessDeserializer::new(seq);
                serde_json::Value::deserialize(d).map(Value::Json)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Value<'de>, A::Error> {
                let d = de::value::MapAccessDeserializer::new(map);
                serde_json::Value::deserialize(d).map(Value::Json)
            }
        }
        d.deserialize_any(V)
    }
}

/// An integer field that must fit a `u32`; anything else reads as absent.
fn small(value: &Value<'_>) -> Option<u32> {
    value.as_u64().and_then(|v| u32::try_from(v).ok())
}

impl<'de> Deserialize<'de> for Record<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(RecordVisitor)
    }
}

struct RecordVisitor;

impl<'de> Visitor<'de> for RecordVisitor {
    type Value = Record<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a ranklog record (a JSON object with ts and level)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Record<'de>, A::Error> {
        let mut ts_us = None;
        let mut level = None;
        let mut rec = Record::empty();
        while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
            match &*key {
                "ts" => {
                    let Text(text) = map.next_value()?;
                    let ts = time::parse_rfc3339_us(&text)
                        .ok_or_else(|| de::Error::custom(format!("bad ts {text:?}")))?;
                    ts_us = Some(ts);
                }
                "level" => {
                    let Text(text) = map.next_value()?;
                    let parsed = parse_level(&text)
                        .ok_or_else(|| de::Error::custom(format!("bad level {text:?}")))?;
                    level = Some(parsed);
                }
                "msg" => rec.msg = map.next_value::<Text<'de>>()?.0,
                "host" => rec.host = map.next_value::<Text<'de>>()?.0,
                "scope" => rec.scope = map.next_value::<Text<'de>>()?.0,
                "module" => rec.module = map.next_value::<Text<'de>>()?.0,
                "file" => rec.file = map.next_value::<Text<'de>>()?.0,
                "v" => rec.v = map.next_value::<Value<'de>>()?.as_u64(),
                "pid" => rec.pid = map.next_value::<Value<'de>>()?.as_u64(),
                "rank" => rec.rank = small(&map.next_value()?),
                "size" => rec.size = small(&map.next_value()?),
                "local_rank" => rec.local_rank = small(&map.next_value()?),
                "local_size" => rec.local_size = small(&map.next_value()?),
                "line" => rec.line = small(&map.next_value()?),
                _ => {
                    let value = map.next_value()?;
                    rec.fields.push((key, value));
                }
            }
        }
        rec.ts_us = ts_us.ok_or_else(|| de::Error::missing_field("ts"))?;
        rec.level = level.ok_or_else(|| de::Error::missing_field("level"))?;
        Ok(rec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &[u8] = br#"{"v":1,"ts":"2026-11-21T04:29:00.938766Z","level":"warning","msg":"a\nb","rank":1,"size":4,"local_rank":null,"local_size":4,"host":"vm","pid":9683,"scope":"local","module":"q","file":"examples/q.rs","line":17,"kv.host":"h","n":-3,"f":1.5,"list":[1,2],"new_field":true}"#;

    #[test]
    fn every_schema_field_is_read_and_unknown_fields_are_kept_in_order() {
        let rec = Record::parse(LINE).unwrap();
        assert_eq!(rec.v, Some(1));
        assert_eq!(rec.level, Level::Warning);
        assert_eq!(rec.msg, "a\nb");
        assert!(matches!(rec.msg, Cow::Owned(_)), "escapes force a copy");
        assert!(
            matches!(rec.host, Cow::Borrowed(_)),
            "plain text is borrowed"
        );
        assert_eq!(
            (rec.rank, rec.size, rec.local_rank, rec.local_size),
            (Some(1), Some(4), None, Some(4))
        );
        assert_eq!((rec.pid, rec.line), (Some(9683), Some(17)));
        assert_eq!(rec.scope, "local");
        let keys: Vec<_> = rec.fields.iter().map(|(k, _)| &**k).collect();
        assert_eq!(keys, ["kv.host", "n", "f", "list", "new_field"]);
        assert_eq!(rec.field("host"), Some(&Value::Str("h".into())));
        assert_eq!(rec.field("n"), Some(&Value::I64(-3)));
        assert_eq!(rec.field("f").and_then(Value::as_f64), Some(1.5));
        assert!(matches!(rec.field("list"), Some(Value::Json(_))));
        assert_eq!(display_key("kv.host"), "host");
        assert_eq!(display_key("kv.other"), "kv.other");
    }

    #[test]
    fn lines_without_ts_or_level_or_cut_short_are_errors() {
        assert!(Record::parse(br#"{"level":"info","msg":"x"}"#).is_err());
        assert!(Record::parse(br#"{"ts":"2026-11-21T04:29:00.938766Z","msg":"x"}"#).is_err());
        assert!(Record::parse(br#"{"ts":"yesterday","level":"info"}"#).is_err());
        assert!(Record::parse(br#"{"ts":"2026-11-21T04:29:00.938766Z","level":"loud"}"#).is_err());
        assert!(Record::parse(&LINE[..LINE.len() - 5]).is_err());
        assert!(Record::parse(b"[1,2]").is_err());
    }

    #[test]
    fn level_names_of_files_and_of_ranklog_level_are_accepted() {
        for (name, level) in [
            ("critical", Level::Critical),
            ("crit", Level::Critical),
            ("ERROR", Level::Error),
            ("warn", Level::Warning),
            ("Info", Level::Info),
            ("debug", Level::Debug),
            ("trace", Level::Trace),
        ] {
            assert_eq!(parse_level(name), Some(level), "{name}");
        }
        assert_eq!(parse_level(""), None);
    }
}
