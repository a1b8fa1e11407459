//! `"error" => ranklog::ErrorChain(&err)` prints `outer: cause: root` on the console and a
//! JSON array of the causes in the file, with a captured backtrace when given one; and
//! `ranklog merge --grep` finds any cause.

#[cfg(feature = "cli")]
mod cli_common;
mod common;

use std::backtrace::Backtrace;
use std::fmt;

use common::Captured;
use ranklog::{ErrorChain, RankInfo};

/// An error with an optional cause, as thiserror's `#[source]` would make it.
#[derive(Debug)]
struct Layer(&'static str, Option<Box<Layer>>);

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for Layer {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.1.as_deref().map(|e| e as _)
    }
}

fn three_layers() -> Layer {
    Layer(
        "cannot load shard 3",
        Some(Box::new(Layer(
            "reading /models/llama/shard-3.safetensors",
            Some(Box::new(Layer("Disk quota exceeded (os error 122)", None))),
        ))),
    )
}

#[test]
fn the_console_joins_the_causes_and_the_file_keeps_them_apart() {
    let dir = common::temp_dir("error-chain");
    let console = Captured::default();
    let guard = common::builder_in(&dir, RankInfo::new(1, 2, 1, 2).unwrap())
        .console_writer(console.clone())
        .build()
        .unwrap();
    let err = three_layers();
    slog::error!(guard.logger(), "model load failed"; "error" => ErrorChain(&err), "shard" => 3);
    let forced = Backtrace::force_capture();
    slog::error!(guard.logger(), "with a backtrace"; "error" => ErrorChain(&err).backtrace(&forced));
    let path = guard.log_file().unwrap().to_owned();
    drop(guard);

    let text = console.text();
    let line = text
        .lines()
        .find(|l| l.contains("model load failed"))
        .unwrap();
    let after_tag = line.split_once("] ").unwrap().1;
    let expected = format!(
        "tests/error_chains_show_every_cause.rs:{} model load failed \
         error=\"cannot load shard 3: reading /models/llama/shard-3.safetensors: \
         Disk quota exceeded (os error 122)\" shard=3",
        after_tag
            .split_once(':')
            .unwrap()
            .1
            .split_once(' ')
            .unwrap()
            .0
    );
    assert_eq!(after_tag, expected);
    assert!(line.starts_with("ERRO "), "{line}");

    let raw = std::fs::read_to_string(&path).unwrap();
    let json_line = raw
        .lines()
        .find(|l| l.contains("model load failed"))
        .unwrap();
    assert!(
        json_line.contains(
            r#""error":["cannot load shard 3","reading /models/llama/shard-3.safetensors","Disk quota exceeded (os error 122)"],"shard":3"#
        ),
        "{json_line}"
    );
    let records = common::records(&path);
    let with_bt = records
        .iter()
        .find(|r| r["msg"] == "with a backtrace")
        .unwrap();
    assert_eq!(with_bt["error"].as_array().unwrap().len(), 3, "{with_bt}");
    let bt = with_bt[ranklog::BACKTRACE_KEY].as_str().unwrap();
    assert!(
        bt.contains("the_console_joins_the_causes_and_the_file_keeps_them_apart"),
        "the backtrace names this test's frame: {bt}"
    );
}

#[cfg(feature = "cli")]
#[test]
fn merge_grep_finds_any_cause() {
    let dir = common::temp_dir("error-chain-grep");
    let guard = common::builder_in(&dir, RankInfo::new(0, 1, 0, 1).unwrap())
        .no_console()
        .build()
        .unwrap();
    let err = three_layers();
    slog::error!(guard.logger(), "model load failed"; "error" => ErrorChain(&err));
    slog::info!(guard.logger(), "unrelated");
    drop(guard);
    let stdout = cli_common::ok(&["merge", "--grep", "quota exceeded", dir.to_str().unwrap()]);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stdout.contains("model load failed"), "{stdout}");
}
