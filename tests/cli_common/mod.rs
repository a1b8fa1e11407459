//! What the `cli_*` tests share: running the `ranklog` binary on the committed fixtures
//! and comparing with golden files.
//!
//! Golden files live in `tests/fixtures/golden/`. After a deliberate change of output, or
//! after regenerating the fixtures (`cargo run --example make_fixture_logs --
//! tests/fixtures`), rewrite them with `RANKLOG_BLESS=1 cargo test --features cli --test
//! 'cli_*'` and review the diff.

#![allow(dead_code)] // each test file uses its own part

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root: the binary runs there, so paths in its output are relative.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `ranklog ARGS` in the repository root, with a fixed clock zone and no colour.
pub fn ranklog(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ranklog"))
        .args(args)
        .current_dir(root())
        .env("TZ", "UTC")
        .env_remove("RANKLOG_FONT")
        .env("NO_COLOR", "1")
        .output()
        .expect("the ranklog binary runs")
}

/// stdout of a run that must succeed.
pub fn ok(args: &[&str]) -> String {
    let out = ranklog(args);
    assert!(
        out.status.success(),
        "ranklog {args:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// Compares `actual` with `tests/fixtures/golden/NAME`, or writes it there when
/// `RANKLOG_BLESS` is set.
pub fn golden(name: &str, actual: &str) {
    let path: PathBuf = root().join("tests/fixtures/golden").join(name);
    if std::env::var_os("RANKLOG_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; write it with RANKLOG_BLESS=1 cargo test --features cli",
            path.display()
        )
    });
    if expected != actual {
        let line = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()));
        panic!(
            "output differs from {} at line {}:\n expected: {:?}\n   actual: {:?}\n\
             (RANKLOG_BLESS=1 rewrites golden files; review the diff)",
            path.display(),
            line + 1,
            expected.lines().nth(line),
            actual.lines().nth(line)
        );
    }
}
