"""Across two simulated nodes (scripts/multinode.sh: a network and host-name namespace per
node, Open MPI's mpirun across them), `local` records print once per node, `global` once
per job, and every rank's file says which node it ran on."""

import os
import subprocess
import sys
import textwrap

import pytest

from conftest import REPO, clean_env, records

WORKER = textwrap.dedent("""
    import logging, ranklog
    ranklog.install()
    log = logging.getLogger("worker")
    log.info("node line local", extra={"scope": "local"})
    log.info("node line global", extra={"scope": "global"})
    log.info("node line process")
    log.error("node line error", extra={"scope": "local"})
""")


def test_local_scope_once_per_node(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    logs = tmp_path / "logs"
    env = clean_env(RANKLOG_DIR=logs, RANKLOG_COLOR="never", RANKLOG_GPU="off")
    proc = subprocess.run(
        ["bash", str(REPO / "scripts" / "multinode.sh"), "--nodes", "rlpyA:2,rlpyB:2",
         "--timeout", "60", "--", sys.executable, str(script)],
        env=env, capture_output=True, text=True, timeout=120)
    ci = os.environ.get("CI", "") not in ("", "0", "false")
    if proc.returncode == 77 and not ci:
        pytest.skip(f"this machine cannot simulate nodes: {proc.stderr.strip()}")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    counts = {m: sum(1 for l in lines if l.endswith(m))
              for m in ("node line local", "node line global", "node line process",
                        "node line error")}
    assert counts == {"node line local": 2, "node line global": 1, "node line process": 4,
                      "node line error": 4}, proc.stderr
    hosts = {}
    for f in sorted(logs.glob("rank-*.jsonl")):
        recs = records(f)
        hosts[recs[0]["rank"]] = (recs[0]["host"], recs[0]["local_rank"])
    assert sorted(hosts) == [0, 1, 2, 3]
    assert sorted({h for h, _ in hosts.values()}) == ["rlpyA", "rlpyB"]
    assert sorted(l for _, l in hosts.values()) == [0, 0, 1, 1]
