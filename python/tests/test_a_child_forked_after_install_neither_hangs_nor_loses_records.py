"""A child forked after install() (multiprocessing's fork start method) does not inherit a
logger whose threads stayed in the parent: its records reach stderr as plain lines, a
SIGTERM ends it, and install() in the child starts its own logger. The parent logs on."""

import textwrap

from conftest import clean_env, records, run_python


def test_forked_children(tmp_path):
    code = textwrap.dedent("""
        import logging, os, signal, sys, time, ranklog
        logging.setLoggerClass(ranklog.Logger)
        ranklog.install(dir="logs")
        log = logging.getLogger("app")
        log.info("parent before")
        pid = os.fork()
        if pid == 0:
            log.info("child plain %d", 1)
            ranklog.install(dir="child-logs")
            log.info("child through ranklog")
            ranklog.flush()
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0, status
        ready_r, ready_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.write(ready_w, b"x")   # the fork hooks have run
            time.sleep(30)
            os._exit(3)
        os.read(ready_r, 1)
        os.kill(pid, signal.SIGTERM)
        _, status = os.waitpid(pid, 0)
        print("sigterm", os.waitstatus_to_exitcode(status))
        log.info("parent after")
    """)
    proc = run_python(code, env=clean_env(RANKLOG_GPU="off", RANKLOG_COLOR="never"),
                      cwd=tmp_path, timeout=30)
    assert proc.stdout.split() == ["sigterm", "-15"], proc.stdout
    assert "INFO:app:child plain 1" in proc.stderr, proc.stderr
    parent = [r["msg"] for r in records(tmp_path / "logs" / "rank-00000.jsonl")
              if r["module"] == "app"]
    assert parent == ["parent before", "parent after"]
    child = [r["msg"] for r in records(tmp_path / "child-logs" / "rank-00000.jsonl")
             if r["module"] == "app"]
    assert child == ["child through ranklog"]
