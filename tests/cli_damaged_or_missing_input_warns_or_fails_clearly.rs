//! Damage inside the files (a truncated last line, a line that is not JSON, invalid
//! UTF-8, a record of a newer schema with unknown fields) is one warning per kind on
//! stderr and the rest is read; a missing or empty input is a clear error with exit
//! status 1; a bad command line exits 2; a closed pipe ends quietly; nothing panics.
#![cfg(feature = "cli")]

mod cli_common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use cli_common::{golden, ranklog, root};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ranklog-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn stderr_of(out: &std::process::Output) -> String {
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!text.contains("panicked"), "{text}");
    text
}

#[test]
fn damaged_files_are_read_around_the_damage_with_one_warning_per_kind() {
    for args in [
        &["merge", "--utc", "tests/fixtures/damaged"][..],
        &["summary", "--utc", "tests/fixtures/damaged"][..],
    ] {
        let out = ranklog(args);
        assert!(out.status.success(), "{args:?}");
        let stderr = stderr_of(&out);
        assert_eq!(
            stderr,
            "ranklog: warning: 1 file with a truncated last line (skipped; a rank killed \
             mid-write?): tests/fixtures/damaged/rank-00003.jsonl\n\
             ranklog: warning: 1 line skipped: not ranklog records (not JSON, or no valid ts \
             or level) (first: tests/fixtures/damaged/rank-00001.jsonl:3)\n\
             ranklog: warning: 1 record of schema version 2 (this ranklog reads version 1): \
             read as far as understood; update ranklog\n",
            "{args:?}"
        );
        let stdout = String::from_utf8(out.stdout).unwrap();
        golden(&format!("damaged.{}.txt", args[0]), &stdout);
    }
    let merged = cli_common::ok(&["merge", "--utc", "tests/fixtures/damaged"]);
    assert!(
        merged.contains(" trace_id=from-a-newer-ranklog "),
        "an unknown field is shown as a key-value"
    );
    let summary = cli_common::ok(&["summary", "--utc", "tests/fixtures/damaged"]);
    assert!(
        summary.contains("  missing   ranks 4 (no records)\n"),
        "{summary}"
    );
}

#[test]
fn invalid_utf8_is_replaced_not_fatal() {
    let dir = temp_dir("utf8");
    let line = std::fs::read_to_string(root().join("tests/fixtures/nogpu/rank-00000.jsonl"))
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_owned();
    let mut bytes = line
        .replacen("\"msg\":\"", "\"msg\":\"bad \u{1}", 1)
        .into_bytes();
    let at = bytes.iter().position(|&b| b == 1).unwrap();
    bytes[at] = 0xff;
    bytes.push(b'\n');
    std::fs::write(dir.join("rank-00000.jsonl"), bytes).unwrap();
    let out = ranklog(&["merge", "--utc", dir.to_str().unwrap()]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains(" bad \u{fffd}"));
    assert!(stderr_of(&out).contains("1 line with invalid UTF-8"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn missing_or_empty_inputs_are_errors_that_name_them() {
    let empty = temp_dir("empty");
    std::fs::write(empty.join("console.log"), "not a rank file\n").unwrap();
    let cases = [
        (
            vec!["merge", "no/such/dir"],
            "ranklog: error: no/such/dir: no such file or directory\n",
        ),
        (
            vec!["summary", "no/such/dir"],
            "ranklog: error: no/such/dir: no such file or directory\n",
        ),
        (
            vec!["plot", "no/such/dir", "-o", "x.svg"],
            "ranklog: error: no/such/dir: no such file or directory\n",
        ),
    ];
    for (args, expected) in cases {
        let out = ranklog(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert_eq!(stderr_of(&out), expected);
    }
    let out = ranklog(&["merge", empty.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr_of(&out),
        format!(
            "ranklog: error: no rank files (rank-<rank>.jsonl) in {}\n",
            empty.display()
        )
    );
    let out = ranklog(&["merge", empty.to_str().unwrap(), "tests/fixtures/nogpu"]);
    assert!(out.status.success(), "another input has rank files");
    assert!(stderr_of(&out).contains("warning: no rank files (rank-<rank>.jsonl) in"));
    std::fs::remove_dir_all(empty).unwrap();
}

#[test]
fn a_bad_command_line_exits_2_and_says_what_is_expected() {
    for (args, says) in [
        (vec!["merge"], "required"),
        (
            vec!["merge", "--ranks", "3-1", "d"],
            "a range ends below its start",
        ),
        (
            vec!["merge", "--level", "loud", "d"],
            "expected trace, debug, info",
        ),
        (
            vec!["merge", "--since", "yesterday", "d"],
            "expected an RFC 3339 time",
        ),
        (vec!["merge", "--window", "2s", "d"], "--collapse"),
        (
            vec!["merge", "--collapse", "--window", "soon", "d"],
            "expected a duration",
        ),
        (vec!["plot", "d"], "--output"),
        (vec!["frobnicate"], "unrecognized subcommand"),
    ] {
        let out = ranklog(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = stderr_of(&out);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}

#[test]
fn help_explains_each_command() {
    let out = ranklog(&["--help"]);
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(help.contains("Exit status: 0 done"));
    for command in ["merge", "summary", "plot"] {
        let out = ranklog(&[command, "--help"]);
        assert!(out.status.success());
        assert!(
            String::from_utf8(out.stdout).unwrap().len() > 400,
            "{command} --help"
        );
    }
    let out = ranklog(&["merge", "--help"]);
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(help.contains("not a regular expression") && help.contains("missing 6"));
}

#[test]
fn a_closed_pipe_ends_the_merge_quietly() {
    let dir = temp_dir("pipe");
    let one = std::fs::read_to_string(root().join("tests/fixtures/job8/rank-00001.jsonl")).unwrap();
    std::fs::write(dir.join("rank-00001.jsonl"), one.repeat(2000)).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ranklog"))
        .args(["merge", dir.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.starts_with("INFO "));
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{:?}", out.status);
    assert_eq!(stderr_of(&out), "");
    std::fs::remove_dir_all(dir).unwrap();
}
