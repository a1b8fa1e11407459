"""A worker killed with SIGTERM keeps every record whose log call returned: ranklog's
signal handler writes them out before the process ends with the signal's status."""

import signal
import subprocess
import sys
import textwrap

from conftest import clean_env, records


def test_sigterm_keeps_the_records(tmp_path):
    code = textwrap.dedent("""
        import logging, sys, time, ranklog
        ranklog.install(dir="logs")
        log = logging.getLogger("worker")
        for i in range(5000):
            log.info("record %d", i, extra={"i": i})
        print("ready", flush=True)
        time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=tmp_path,
                            env=clean_env(RANKLOG_GPU="off", RANKLOG_COLOR="never"),
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        proc.send_signal(signal.SIGTERM)
        status = proc.wait(timeout=30)
    finally:
        proc.kill()
    assert status in (-signal.SIGTERM, 128 + signal.SIGTERM), status
    recs = records(tmp_path / "logs" / "rank-00000.jsonl")
    assert sorted(r["i"] for r in recs if "i" in r) == list(range(5000))
    assert any(r.get("kind") == "signal" for r in recs)
