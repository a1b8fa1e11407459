//! Every `RANKLOG_*` variable rejects bad values with an error that names the variable, its
//! value and why; good values are accepted.

use ranklog::{Builder, Error};

fn rejects(var: &str, value: &str, reason: &str) {
    assert!(
        !reason.is_empty(),
        "every text contains \"\": name the reason"
    );
    match Builder::from_vars([(var, value)]) {
        Ok(_) => panic!("{var}={value:?} should be rejected"),
        Err(Error::InvalidVar {
            var: v,
            value: val,
            reason: r,
        }) => {
            assert_eq!((v.as_str(), val.as_str()), (var, value));
            assert!(
                r.contains(reason),
                "{var}={value:?}: reason {r:?} should mention {reason:?}"
            );
        }
        Err(other) => panic!("{var}={value:?}: expected InvalidVar, got {other:?}"),
    }
}

fn accepts(var: &str, value: &str) {
    if let Err(e) = Builder::from_vars([(var, value)]) {
        panic!("{var}={value:?} should be accepted: {e}");
    }
}

#[test]
fn levels() {
    for var in ["RANKLOG_LEVEL", "RANKLOG_UNGATED_LEVEL"] {
        for bad in ["", "loud", "5", "-1", "info,debug"] {
            rejects(
                var,
                bad,
                "expected trace, debug, info, warning, error or critical",
            );
        }
        for good in [
            "trace", "DEBUG", "Info", "warn", "warning", "error", "critical", " info ",
        ] {
            accepts(var, good);
        }
    }
}

#[test]
fn filter_directives() {
    rejects("RANKLOG_FILTER", "", "empty");
    rejects("RANKLOG_FILTER", "   ", "empty");
    // env_filter's own words, passed on whole: they name the part that is not a level.
    rejects(
        "RANKLOG_FILTER",
        "hyper=loud",
        "error parsing logger filter: invalid logging spec 'loud'",
    );
    accepts("RANKLOG_FILTER", "info,hyper=warn,my_crate::model=trace");
    accepts("RANKLOG_FILTER", "warn");
}

#[test]
fn switches_and_words() {
    for bad in ["", "2", "maybe", "-1"] {
        rejects("RANKLOG_ALL_RANKS", bad, "expected 1 or 0");
    }
    for good in ["1", "0", "true", "FALSE", "yes", "no", "on", "off"] {
        accepts("RANKLOG_ALL_RANKS", good);
    }
    for bad in ["", "sometimes", "1"] {
        rejects("RANKLOG_COLOR", bad, "expected auto, always or never");
    }
    for good in ["auto", "always", "never", "NEVER"] {
        accepts("RANKLOG_COLOR", good);
    }
    for bad in ["", "some", "global"] {
        rejects("RANKLOG_FILE_SCOPE", bad, "expected all or gated");
    }
    accepts("RANKLOG_FILE_SCOPE", "all");
    accepts("RANKLOG_FILE_SCOPE", "gated");
}

#[test]
fn directories_and_queue_lengths() {
    rejects("RANKLOG_DIR", "", "empty");
    accepts("RANKLOG_DIR", "/tmp/x");
    rejects("RANKLOG_QUEUE_LEN", "", "empty");
    rejects("RANKLOG_QUEUE_LEN", "-5", "negative");
    rejects("RANKLOG_QUEUE_LEN", "lots", "not a non-negative integer");
    rejects("RANKLOG_QUEUE_LEN", "99999999999", "too large");
    rejects("RANKLOG_QUEUE_LEN", "0", "expected 1 to 16777216 records");
    rejects(
        "RANKLOG_QUEUE_LEN",
        "16777217",
        "expected 1 to 16777216 records",
    );
    accepts("RANKLOG_QUEUE_LEN", "1");
    accepts("RANKLOG_QUEUE_LEN", "16777216");
}

#[test]
fn prefix_accepts_anything() {
    accepts("RANKLOG_PREFIX", "");
    accepts("RANKLOG_PREFIX", "job-7 \x1b[31m\n");
}

#[test]
fn an_unwritable_log_directory_is_a_named_error() {
    let file = std::env::temp_dir().join(format!("ranklog-not-a-dir-{}", std::process::id()));
    std::fs::write(&file, b"x").unwrap();
    let err = Builder::new()
        .rank_info(ranklog::RankInfo::single())
        .dir(file.join("sub"))
        .no_console()
        .build()
        .expect_err("a directory under a file cannot be created");
    std::fs::remove_file(&file).unwrap();
    match err {
        Error::CreateDir { path, .. } => assert_eq!(path, file.join("sub")),
        other => panic!("expected CreateDir, got {other:?}"),
    }
}

#[test]
fn overflow_rotation_and_file_settings() {
    for bad in ["", "lose", "1"] {
        rejects("RANKLOG_OVERFLOW", bad, "expected block or drop");
    }
    accepts("RANKLOG_OVERFLOW", "block");
    accepts("RANKLOG_OVERFLOW", "DROP");
    for bad in ["", "lots", "-5", "64XB", "1.5GiB", "12"] {
        assert!(
            Builder::from_vars([("RANKLOG_ROTATE_BYTES", bad)]).is_err(),
            "{bad:?}"
        );
    }
    rejects(
        "RANKLOG_ROTATE_BYTES",
        "64XB",
        "expected bytes such as 67108864, 64MiB or 1GiB",
    );
    rejects("RANKLOG_ROTATE_BYTES", "12", "at least 1024 bytes");
    rejects("RANKLOG_ROTATE_BYTES", "99999999999", "too large");
    for good in ["67108864", "64MiB", "64M", "1GiB", "512K"] {
        accepts("RANKLOG_ROTATE_BYTES", good);
    }
    for bad in ["", "weekly", "1"] {
        rejects("RANKLOG_ROTATE", bad, "expected daily or never");
    }
    accepts("RANKLOG_ROTATE", "daily");
    match Builder::from_vars([
        ("RANKLOG_ROTATE", "daily"),
        ("RANKLOG_ROTATE_BYTES", "1MiB"),
    ]) {
        Err(Error::Contradiction { var_a, var_b, .. }) => {
            assert_eq!(
                (var_a.as_str(), var_b.as_str()),
                ("RANKLOG_ROTATE_BYTES", "RANKLOG_ROTATE")
            );
        }
        other => panic!("expected a contradiction, got {:?}", other.err()),
    }
    for bad in ["", "0", "-1", "x", "100001"] {
        assert!(
            Builder::from_vars([("RANKLOG_KEEP", bad)]).is_err(),
            "{bad:?}"
        );
    }
    rejects("RANKLOG_KEEP", "0", "expected 1 to 100000 old segments");
    accepts("RANKLOG_KEEP", "3");
    for var in ["RANKLOG_FILE_MODE", "RANKLOG_DIR_MODE"] {
        for bad in ["", "rw", "999", "1000", "0o", "-640"] {
            rejects(var, bad, "expected octal permission bits such as 640");
        }
        accepts(var, "640");
        accepts(var, "0o750");
    }
    for bad in ["", "maybe", "2"] {
        rejects("RANKLOG_SIGNALS", bad, "expected 1 or 0");
        rejects("RANKLOG_LOG_BRIDGE", bad, "expected 1 or 0");
        rejects("RANKLOG_OTLP", bad, "expected 1 or 0");
    }
    accepts("RANKLOG_SIGNALS", "0");
    accepts("RANKLOG_OTLP", "on");
}

#[test]
fn file_name_templates_stay_inside_the_directory() {
    for bad in [
        "",
        "../up.jsonl",
        "a/b.jsonl",
        "{user}.jsonl",
        "{rank",
        "..",
        ".",
    ] {
        match Builder::from_vars([("RANKLOG_FILE", bad)]) {
            Err(Error::InvalidVar { var, value, .. }) => {
                assert_eq!((var.as_str(), value.as_str()), ("RANKLOG_FILE", bad));
            }
            other => panic!("{bad:?}: expected InvalidVar, got {:?}", other.err()),
        }
    }
    for good in [
        "rank-{rank}.jsonl",
        "{job}-{host}-{local_rank}.jsonl",
        "plain.jsonl",
    ] {
        accepts("RANKLOG_FILE", good);
    }
}

#[test]
fn console_ranks_lists() {
    for bad in ["", "a", "3-1", "1,,2", "-2"] {
        match Builder::from_vars([("RANKLOG_CONSOLE_RANKS", bad)]) {
            Err(Error::InvalidVar { var, value, .. }) => {
                assert_eq!(
                    (var.as_str(), value.as_str()),
                    ("RANKLOG_CONSOLE_RANKS", bad)
                );
            }
            other => panic!("{bad:?}: expected InvalidVar, got {:?}", other.err()),
        }
    }
    for good in ["0", "0,3-5,last", "-1", " 1 , 2 "] {
        accepts("RANKLOG_CONSOLE_RANKS", good);
    }
}
