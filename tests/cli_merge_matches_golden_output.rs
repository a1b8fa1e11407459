//! `ranklog merge` on the fixtures written by the real logger (`examples/make_fixture_logs.rs`)
//! prints exactly the golden output: console lines in time order, collapsed groups with the
//! ranks that said them and who did not, the original lines with `--json`, filtered
//! records, and rotated segments oldest first.
#![cfg(feature = "cli")]

mod cli_common;

use cli_common::{golden, ok, ranklog, root};

const JOB8: &str = "tests/fixtures/job8";

#[test]
fn merge_prints_every_record_as_a_console_line_in_time_order() {
    golden("job8.merge.txt", &ok(&["merge", "--utc", JOB8]));
    for threads in ["1", "3"] {
        let out = ok(&["merge", "--utc", "--threads", threads, JOB8]);
        golden("job8.merge.txt", &out);
    }
}

#[test]
fn collapse_prints_a_message_of_many_ranks_once_with_its_ranks() {
    let out = ok(&["merge", "--utc", "--collapse", JOB8]);
    golden("job8.collapse.txt", &out);
    let line = |needle: &str| {
        out.lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{out}"))
    };
    assert!(line("configuration read").contains(" [ranks 0-7] "));
    assert!(line("slow link to peer").contains(" [ranks 0-5,7 of 8, missing 6] "));
    let request = line("request 0 done");
    assert!(request.contains(" [ranks 0-7] ") && request.contains(" latency_ms=3."));
    assert!(
        request.contains("..14."),
        "differing values show their range: {request}"
    );
    assert!(
        line("CUDA error").contains(" [3/8 node-a:3] "),
        "a lone record keeps its tag"
    );
}

#[test]
fn collapse_parsing_on_other_threads_prints_the_same_and_counts_the_same_damage() {
    // Many batches (every job8 file repeated), and lines the parsing threads hand back to
    // be parsed again (escapes, invalid UTF-8, an array) or cannot read (not JSON).
    let dir = std::env::temp_dir().join(format!("ranklog-cli-collapse-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(root().join(JOB8)).unwrap() {
        let path = entry.unwrap().path();
        let mut bytes = std::fs::read(&path).unwrap().repeat(40);
        let ts = "2026-11-21T04:24:06.000001Z";
        bytes.extend_from_slice(
            format!(
                "{{\"ts\":\"{ts}\",\"level\":\"info\",\"msg\":\"a\\nb\",\"rank\":1,\"size\":8}}\n\
                 {{\"ts\":\"{ts}\",\"level\":\"info\",\"msg\":\"list\",\"l\":[1],\"size\":8}}\n\
                 not json\n"
            )
            .as_bytes(),
        );
        bytes.extend_from_slice(b"{\"ts\":\"2026-11-21T04:24:06.000002Z\",\"level\":\"warning\",\"msg\":\"bad \xff\"}\n");
        std::fs::write(dir.join(path.file_name().unwrap()), bytes).unwrap();
    }
    let dir = dir.to_str().unwrap();
    let run = |threads: &str, json: bool| {
        let mut args = vec!["merge", "--utc", "--collapse", "--threads", threads, dir];
        if json {
            args.insert(1, "--json");
        }
        let out = ranklog(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        (out.stdout, String::from_utf8(out.stderr).unwrap())
    };
    for json in [false, true] {
        let (one, one_warnings) = run("1", json);
        assert!(one.len() > 100_000, "{}", one.len());
        assert!(one_warnings.contains("invalid UTF-8"), "{one_warnings}");
        for threads in ["2", "3"] {
            let (out, warnings) = run(threads, json);
            assert!(
                out == one,
                "--threads {threads} (json {json}) changed the output"
            );
            assert_eq!(warnings, one_warnings, "--threads {threads}");
        }
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn collapse_with_json_adds_the_ranks_to_the_first_record() {
    let out = ok(&["merge", "--json", "--collapse", "--window", "500ms", JOB8]);
    golden("job8.collapse.jsonl", &out);
    let warn: serde_json::Value = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("every line is JSON"))
        .find(|v: &serde_json::Value| v["msg"] == "slow link to peer")
        .unwrap();
    assert_eq!(warn["collapsed"]["ranks"], "0-5,7");
    assert_eq!(warn["collapsed"]["missing"], "6");
    assert_eq!(warn["collapsed"]["count"], 7);
    assert_eq!(warn["collapsed"]["varies"], serde_json::json!(["peer"]));
}

#[test]
fn json_merge_is_every_original_line_sorted_by_time() {
    let out = ok(&["merge", "--json", JOB8]);
    golden("job8.merge.jsonl", &out);
    let mut expected: Vec<String> = Vec::new();
    for entry in std::fs::read_dir(root().join(JOB8)).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        expected.extend(text.lines().map(str::to_owned));
    }
    let mut merged: Vec<String> = out.lines().map(str::to_owned).collect();
    let times: Vec<String> = merged
        .iter()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["ts"].to_string())
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "not in time order");
    merged.sort();
    expected.sort();
    assert_eq!(merged, expected, "a line was lost, added or changed");
}

#[test]
fn filters_keep_only_the_ranks_levels_kinds_scopes_and_times_asked_for() {
    let out = ok(&[
        "merge", "--utc", "--ranks", "0,3-5", "--level", "warning", JOB8,
    ]);
    golden("job8.ranks-0_3-5.warning.txt", &out);
    assert_eq!(out.lines().count(), 5, "4 warnings and 1 error:\n{out}");

    let loads = ok(&["merge", "--utc", "--kind", "model_load", JOB8]);
    assert_eq!(loads.lines().count(), 8);
    assert!(loads.lines().all(|l| l.contains(" kind=model_load ")));

    let local = ok(&[
        "merge",
        "--json",
        "--scope",
        "local",
        "--kind",
        "gpu,job_start",
        JOB8,
    ]);
    // Every local GPU record of the job (124), and nothing else: an empty output would
    // pass the two checks below.
    let mut expected = 0;
    for entry in std::fs::read_dir(root().join(JOB8)).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        expected += text
            .lines()
            .filter(|l| l.contains(r#""scope":"local""#) && l.contains(r#""kind":"gpu""#))
            .count();
    }
    assert!(expected > 0, "the fixture has local GPU records");
    assert_eq!(local.lines().count(), expected, "{local}");
    assert!(local.lines().all(|l| l.contains(r#""scope":"local""#)));
    assert!(local.lines().all(|l| l.contains(r#""kind":"gpu""#)));

    let grep = ok(&[
        "merge",
        "--utc",
        "--grep",
        "llama",
        "--kind",
        "model_load",
        JOB8,
    ]);
    assert_eq!(grep.lines().count(), 8, "a key-value's text matches too");
    let grep = ok(&["merge", "--utc", "--grep", "shard 5", JOB8]);
    assert_eq!(grep.lines().count(), 1);

    let all = ok(&["merge", "--json", JOB8]).lines().count();
    let early = ok(&["merge", "--json", "--until", "100ms", JOB8])
        .lines()
        .count();
    let late = ok(&["merge", "--json", "--since", "100ms", JOB8])
        .lines()
        .count();
    assert!(
        early > 0 && late > 0 && early + late >= all,
        "{early} + {late} vs {all}"
    );
    let first = ok(&["merge", "--json", JOB8]);
    let ts = serde_json::from_str::<serde_json::Value>(first.lines().next().unwrap()).unwrap()
        ["ts"]
        .as_str()
        .unwrap()
        .to_owned();
    let at = ok(&["merge", "--json", "--since", &ts, "--until", &ts, JOB8]);
    assert_eq!(at.lines().count(), 1, "RFC 3339 bounds are inclusive");
}

#[test]
fn a_forged_line_stays_inside_its_record_and_escaped() {
    let out = ok(&["merge", "--utc", "--grep", "user input", JOB8]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines[0].starts_with("INFO ") && lines[0].contains(r#"note="tab\there""#));
    assert_eq!(lines[1], r"    | INFO forged line \x1b[31mred\r");
    assert!(!out.contains('\u{1b}') && !out.contains('\r'));
}

#[test]
fn rotated_segments_are_read_oldest_first() {
    let out = ranklog(&["merge", "--utc", "tests/fixtures/rotated"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    golden("rotated.merge.txt", &text);
    for rank in ["[1/3", "[2/3", "[0/3"] {
        let steps: Vec<u32> = text
            .lines()
            .filter(|l| l.contains(rank) && l.contains(" step="))
            .map(|l| l.split(" step=").nth(1).unwrap().split(' ').next().unwrap())
            .map(|n| n.parse().unwrap())
            .collect();
        assert_eq!(steps, (0..12).collect::<Vec<_>>(), "rank {rank}");
    }
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        stderr,
        "ranklog: warning: 1 compressed segment not read (decompress them first): \
         tests/fixtures/rotated/rank-00000.jsonl.2.gz\n"
    );
}

#[test]
fn parallel_formatting_keeps_the_merge_order() {
    // Many batches: every fixture file of job8 repeated, so that lines are parsed and
    // formatted on several threads.
    let dir = std::env::temp_dir().join(format!("ranklog-cli-batches-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(root().join(JOB8)).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(dir.join(path.file_name().unwrap()), text.repeat(40)).unwrap();
    }
    let dir = dir.to_str().unwrap();
    let plain = ok(&["merge", "--json", dir]);
    assert!(plain.lines().count() > 10_000);
    for threads in ["1", "2", "3"] {
        let parsed = ok(&[
            "merge",
            "--json",
            "--level",
            "trace",
            "--threads",
            threads,
            dir,
        ]);
        assert!(parsed == plain, "--threads {threads} changed the order");
    }
    let one = ok(&["merge", "--utc", "--threads", "1", dir]);
    assert!(ok(&["merge", "--utc", "--threads", "4", dir]) == one);
    std::fs::remove_dir_all(dir).unwrap();
}
