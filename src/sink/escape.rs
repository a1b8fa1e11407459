//! Escaping for the console, so that no record can forge another line (CWE-117) or send
//! terminal control sequences (RUSTSEC-2025-0055).

use std::io::Write as _;

/// Whether `c` must be escaped on a terminal: C0 and C1 controls, DEL, the Unicode line and
/// paragraph separators, and bidirectional overrides (CVE-2021-42574, "Trojan Source").
fn is_hostile(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn escape_char(out: &mut Vec<u8>, c: char) {
    match c {
        '\n' => out.extend_from_slice(b"\\n"),
        '\r' => out.extend_from_slice(b"\\r"),
        '\t' => out.extend_from_slice(b"\\t"),
        c if (c as u32) < 0x100 => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
}

/// Appends one line of a message: hostile characters escaped, tabs kept (they cannot start
/// a record). The caller splits the message at `\n`.
pub(crate) fn message_line(out: &mut Vec<u8>, line: &str) {
    // Printable ASCII and tabs pass as they are: the common case, byte by byte.
    let plain = line
        .bytes()
        .position(|b| !(b' '..=b'~').contains(&b) && b != b'\t');
    let Some(mut start) = plain else {
        out.extend_from_slice(line.as_bytes());
        return;
    };
    out.extend_from_slice(&line.as_bytes()[..start]);
    let from = start;
    for (i, c) in line[from..].char_indices().map(|(i, c)| (from + i, c)) {
        if c != '\t' && is_hostile(c) {
            out.extend_from_slice(&line.as_bytes()[start..i]);
            escape_char(out, c);
            start = i + c.len_utf8();
        }
    }
    out.extend_from_slice(&line.as_bytes()[start..]);
}

/// Appends a key or value: bare when it is a plain word, otherwise in double quotes with
/// `"` and `\` escaped; hostile characters (newlines included) are always escaped, so the
/// result is one line.
pub(crate) fn word(out: &mut Vec<u8>, text: &str) {
    // Printable ASCII but for space, `"`, `=` and `\`, byte by byte (the common case);
    // anything else character by character.
    let bare = |b: u8| (b'!'..=b'~').contains(&b) && !matches!(b, b'"' | b'=' | b'\\');
    let plain = !text.is_empty()
        && (text.bytes().all(bare)
            || text
                .chars()
                .all(|c| !is_hostile(c) && !matches!(c, ' ' | '"' | '=' | '\\')));
    if plain {
        out.extend_from_slice(text.as_bytes());
        return;
    }
    out.push(b'"');
    let mut start = 0;
    for (i, c) in text.char_indices() {
        let special = is_hostile(c) || c == '"' || c == '\\';
        if special {
            out.extend_from_slice(&text.as_bytes()[start..i]);
            if c == '"' || c == '\\' {
                out.push(b'\\');
                out.push(c as u8);
            } else {
                escape_char(out, c);
            }
            start = i + c.len_utf8();
        }
    }
    out.extend_from_slice(&text.as_bytes()[start..]);
    out.push(b'"');
}

/// Escapes a whole text onto one line (used for `RANKLOG_PREFIX`).
pub(crate) fn one_line(text: &str) -> String {
    let mut out = Vec::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        match line.strip_suffix('\n') {
            Some(body) => {
                message_line(&mut out, body);
                out.extend_from_slice(b"\\n");
            }
            None => message_line(&mut out, line),
        }
    }
    String::from_utf8(out).expect("escaping keeps UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> String {
        let mut out = Vec::new();
        word(&mut out, s);
        String::from_utf8(out).unwrap()
    }

    fn m(s: &str) -> String {
        let mut out = Vec::new();
        message_line(&mut out, s);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn plain_words_stay_bare() {
        assert_eq!(w("abc-1.5/x"), "abc-1.5/x");
        assert_eq!(w("ünïcode"), "ünïcode");
    }

    #[test]
    fn words_with_spaces_quotes_or_controls_are_quoted_and_escaped() {
        assert_eq!(w(""), "\"\"");
        assert_eq!(w("a b"), "\"a b\"");
        assert_eq!(w("a=b"), "\"a=b\"");
        assert_eq!(w("say \"hi\" \\"), "\"say \\\"hi\\\" \\\\\"");
        assert_eq!(w("x\ny"), "\"x\\ny\"");
        assert_eq!(w("\x1b[31mred"), "\"\\x1b[31mred\"");
        assert_eq!(w("a\rb"), "\"a\\rb\"");
        assert_eq!(w("\u{202e}evil"), "\"\\u{202e}evil\"");
        assert_eq!(w("\u{85}"), "\"\\x85\"");
    }

    #[test]
    fn message_lines_escape_everything_but_tabs() {
        assert_eq!(m("a\tb"), "a\tb");
        assert_eq!(m("x\x1b]0;title\x07y"), "x\\x1b]0;title\\x07y");
        assert_eq!(m("fake\rINFO forged"), "fake\\rINFO forged");
        assert_eq!(m("del\x7f"), "del\\x7f");
    }

    #[test]
    fn one_line_never_contains_a_newline() {
        assert_eq!(one_line("a\nb\n"), "a\\nb\\n");
        assert!(!one_line("x\r\n\x1b").contains(['\n', '\r', '\x1b']));
    }
}
