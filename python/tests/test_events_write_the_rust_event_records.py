"""`ranklog.events()` writes the same model_load and inference records as the Rust
crate's events."""

import textwrap

from conftest import clean_env, records, run_python


def test_model_load_and_inference_records(tmp_path):
    code = textwrap.dedent("""
        import ranklog
        ranklog.install(dir="logs")
        ev = ranklog.events()
        with ev.model_load("llama-3-8b", 0, 16 << 30):
            pass
        try:
            with ev.model_load("broken", 1, 1024):
                raise OSError("disk gone")
        except OSError:
            pass
        ev.inference(7, 12, 64, 0.83, ttft_s=0.095)
        ev.inference("req-a", 5, 10, 2.0)
    """)
    run_python(code, env=clean_env(RANKLOG_GPU="off", RANKLOG_COLOR="never",
                                   RANKLOG_SLOW_MS="1000"), cwd=tmp_path)
    recs = records(tmp_path / "logs" / "rank-00000.jsonl")
    loads = [r for r in recs if r.get("kind") == "model_load"]
    assert [(r["name"], r["shard"], r["level"]) for r in loads] == [
        ("llama-3-8b", 0, "info"), ("broken", 1, "error")], loads
    assert loads[0]["bytes"] == 16 << 30 and "ms" in loads[0] and "gb_per_s" in loads[0]
    assert "disk gone" in loads[1]["error"]
    served = [r for r in recs if r.get("kind") == "inference"]
    assert [r["request"] for r in served] == [7, "req-a"]
    assert served[0]["prompt_tokens"] == 12 and served[0]["completion_tokens"] == 64
    assert served[0]["latency_ms"] == 830 and served[0]["ttft_ms"] == 95
    assert served[0]["level"] == "info"
    assert served[1]["level"] == "warning" and served[1]["slow"] is True
    assert all(r["module"] == "__main__" for r in loads + served)
