"""install() starts the Rust GPU sampler: on a node with NVML it writes `gpu` records while
Python keeps the GIL busy; without it, one warning says why and the job goes on."""

import textwrap

from conftest import clean_env, records, run_python


def test_the_sampler_starts_with_install(tmp_path):
    code = textwrap.dedent("""
        import logging, time, ranklog
        ranklog.install(dir="logs")
        end = time.monotonic() + 1.5
        n = 0
        while time.monotonic() < end:   # the GIL is busy; the sampler needs none
            n += 1
        logging.getLogger("app").info("busy loop done")
    """)
    proc = run_python(code, env=clean_env(RANKLOG_COLOR="never", RANKLOG_GPU_INTERVAL="200ms"),
                      cwd=tmp_path)
    recs = records(tmp_path / "logs" / "rank-00000.jsonl")
    samples = [r for r in recs if r.get("kind") == "gpu"]
    off = [l for l in proc.stderr.splitlines() if "GPU sampling off on" in l]
    assert any(r["msg"] == "busy loop done" for r in recs)
    if samples:
        # NVML works here: samples came every 200 ms while Python spun.
        assert len({r["ts"] for r in samples}) >= 3, samples
        assert not off
    else:
        assert len(off) == 1 and off[0].startswith("WARN"), proc.stderr
