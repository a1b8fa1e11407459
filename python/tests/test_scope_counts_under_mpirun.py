"""Under a real `mpirun -np 4 python ...`, each scope prints on the right ranks, info_once
prints once per rank however often it is called, and the per-rank JSONL files parse and
merge with the ranklog CLI."""

import subprocess
import textwrap

from conftest import clean_env, cli, mpirun, records

WORKER = textwrap.dedent("""
    import logging, ranklog
    info = ranklog.install()
    log = logging.getLogger("worker")
    log.info("line global", extra={"scope": "global"})
    log.info("line local", extra={"scope": "local"})
    log.info("line process", extra={"scope": "process"})
    log.info("line default")
    log.error("line error", extra={"scope": "global"})
    log.info("line ranks", extra={"scope": "ranks:1,last"})
    for i in range(1000):
        ranklog.info_once(log, "line once %s", "flash")
        ranklog.info_once(log, "line once-global %s", "flash", scope="global")
    ranklog.warning_once(log, "line warn-once-local", scope="local")
""")


def count(text, message):
    return sum(1 for line in text.splitlines() if line.rstrip().endswith(message))


def test_scopes_once_and_files_under_mpirun_np_4(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    logs = tmp_path / "logs"
    proc = mpirun(4, script, clean_env(RANKLOG_DIR=logs, RANKLOG_COLOR="never",
                                       RANKLOG_GPU="off"))
    out = proc.stderr
    expected = {
        "line global": 1,          # rank 0
        "line local": 1,           # local rank 0 of the one node
        "line process": 4,
        "line default": 4,
        "line error": 4,           # errors are never gated
        "line ranks": 2,           # ranks 1 and 3
        "line once flash": 4,      # once per rank, 1,000 calls each
        "line once-global flash": 1,
        "line warn-once-local": 1,
    }
    got = {m: count(out, m) for m in expected}
    assert got == expected, out
    # The console line is the Rust logger's: level, time, rank tag, file:line, message.
    line = next(l for l in out.splitlines() if l.endswith("line global"))
    assert "[0/4 " in line and "worker.py:5 " in line, line

    files = sorted(logs.glob("rank-*.jsonl"))
    assert [f.name for f in files] == [f"rank-0000{r}.jsonl" for r in range(4)]
    for rank, f in enumerate(files):
        recs = records(f)
        assert all(r["rank"] == rank and r["size"] == 4 for r in recs)
        msgs = [r["msg"] for r in recs]
        # Files keep every record (RANKLOG_FILE_SCOPE=all): gated ones too.
        for m in ("line global", "line local", "line process", "line error", "line ranks"):
            assert msgs.count(m) == 1, (rank, msgs)
        once = [r for r in recs if r["msg"] == "line once flash"]
        assert len(once) == 1 and once[0]["file"] == "worker.py" and once[0]["line"] == 12
        assert once[0]["module"] == "worker" and once[0]["level"] == "info"
        glob = [r for r in recs if r["msg"] == "line global"][0]
        assert glob["scope"] == "global"

    merged = subprocess.run([cli(), "merge", str(logs)], capture_output=True, text=True,
                            timeout=60)
    assert merged.returncode == 0, merged.stderr
    assert sum(1 for l in merged.stdout.splitlines() if l.rstrip().endswith("line process")) == 4
    summary = subprocess.run([cli(), "summary", str(logs)], capture_output=True, text=True,
                             timeout=60)
    assert summary.returncode == 0, summary.stderr
    assert "4" in summary.stdout
