"""A record logged from 8 Python threads at the same moment: every one reaches the
console and the file, whole."""

import textwrap

from conftest import clean_env, records, run_python


def test_eight_threads_log_at_once(tmp_path):
    code = textwrap.dedent("""
        import logging, threading, ranklog
        logging.setLoggerClass(ranklog.Logger)
        ranklog.install(dir="logs")
        log = logging.getLogger("threads")
        plain = logging.LoggerAdapter(log, {})
        start = threading.Barrier(8)
        def work(n):
            start.wait()
            for i in range(200):
                log.info("thread %d record %d", n, i, extra={"thread_no": n, "i": i})
            plain.info("thread %d done", n)
        threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
        for t in threads: t.start()
        for t in threads: t.join()
    """)
    proc = run_python(code, env=clean_env(RANKLOG_GPU="off", RANKLOG_COLOR="never"),
                      cwd=tmp_path)
    recs = records(tmp_path / "logs" / "rank-00000.jsonl")
    got = sorted((r["thread_no"], r["i"]) for r in recs if "thread_no" in r)
    assert got == sorted((n, i) for n in range(8) for i in range(200))
    assert all(r["msg"] == f"thread {r['thread_no']} record {r['i']}"
               for r in recs if "thread_no" in r)
    done = [r for r in recs if r["msg"].endswith(" done")]
    assert len(done) == 8 and all(r["file"] == "<string>" and r["line"] == 12 for r in done)
    assert sum(1 for l in proc.stderr.splitlines() if " record " in l) == 1600
