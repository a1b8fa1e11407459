"""The opt-in `ranklog.Logger` class drops a gated-out record before a LogRecord exists,
and the records it passes point at the caller's file and line (stacklevel included)."""

import textwrap

from conftest import clean_env, records, run_python


def test_gated_out_records_never_become_log_records(tmp_path):
    code = textwrap.dedent("""
        import logging, ranklog
        logging.setLoggerClass(ranklog.Logger)
        ranklog.install(dir="logs")
        made = []
        factory = logging.getLogRecordFactory()
        def counting(*a, **k):
            made.append(a[0])
            return factory(*a, **k)
        logging.setLogRecordFactory(counting)
        log = logging.getLogger("app")
        for i in range(100):
            log.info("gated %d", i, extra={"scope": "global"})
        log.info("kept", extra={"scope": "local"})
        def helper():
            log.info("from helper", stacklevel=2)
        helper()
        log.error("error %s", "global", extra={"scope": "global"})
        log.addFilter(lambda r: True)   # a filter: the ordinary path, same result
        log.info("filtered path", extra={"scope": "local"})
        log.info("filtered gated", extra={"scope": "global"})
        print(len(made))
    """)
    env = clean_env(RANK=1, WORLD_SIZE=2, LOCAL_RANK=0, LOCAL_WORLD_SIZE=1,
                    RANKLOG_GPU="off", RANKLOG_COLOR="never", RANKLOG_FILE_SCOPE="gated")
    proc = run_python(code, env=env, cwd=tmp_path)
    # Only the record that takes the ordinary path (a filter on the logger) builds a
    # LogRecord; gated-out ones are dropped before, whatever the path.
    assert proc.stdout.split() == ["1"], proc.stdout
    recs = records(tmp_path / "logs" / "rank-00001.jsonl")
    msgs = [(r["msg"], r["line"]) for r in recs if r["module"] == "app"]
    assert msgs == [("kept", 14), ("from helper", 17), ("error global", 18),
                    ("filtered path", 20)], msgs
    assert not any("gated" in l for l in proc.stderr.splitlines()), proc.stderr
