"""A vLLM-shaped `logging.config.dictConfig` (vLLM's DEFAULT_LOGGING_CONFIG, with
ranklog's handler named in place of its StreamHandler, as a VLLM_LOGGING_CONFIG_PATH file
would) routes the `vllm` loggers' records through ranklog, gated by scope."""

import json
import textwrap

from conftest import clean_env, records, run_python

CONFIG = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "vllm": {
            "class": "logging.Formatter",
            "datefmt": "%m-%d %H:%M:%S",
            "format": "%(levelname)s %(asctime)s [%(filename)s:%(lineno)d] %(message)s",
        }
    },
    "handlers": {
        "vllm": {"class": "ranklog.Handler", "formatter": "vllm", "level": "INFO"}
    },
    "loggers": {"vllm": {"handlers": ["vllm"], "level": "DEBUG", "propagate": False}},
}


def test_dictconfig_names_the_handler_and_scopes_gate(tmp_path):
    (tmp_path / "logging.json").write_text(json.dumps(CONFIG))
    code = textwrap.dedent("""
        import json, logging.config
        logging.config.dictConfig(json.load(open("logging.json")))
        log = logging.getLogger("vllm.engine")
        log.info("engine up %d", 3, extra={"scope": "global", "tp": 2})
        log.info("worker ready", extra={"scope": "local"})
        log.debug("below the handler's level")
        log.warning("on every rank")
        try:
            1 / 0
        except ZeroDivisionError:
            log.exception("step failed", extra={"scope": "global"})
    """)
    # Rank 1 of 2 on one node (torchrun's variables): global and local records are gated.
    env = clean_env(RANK=1, WORLD_SIZE=2, LOCAL_RANK=1, LOCAL_WORLD_SIZE=2,
                    RANKLOG_DIR=tmp_path / "logs", RANKLOG_COLOR="never", RANKLOG_GPU="off")
    proc = run_python(code, env=env, cwd=tmp_path)
    lines = [l for l in proc.stderr.splitlines() if l.strip()]
    assert not any("engine up" in l or "worker ready" in l for l in lines), proc.stderr
    assert any(l.startswith("WARN") and "[1/2 " in l and l.endswith("on every rank")
               for l in lines), proc.stderr
    assert any("step failed" in l for l in lines), proc.stderr
    assert "ZeroDivisionError: division by zero" in proc.stderr
    recs = records(tmp_path / "logs" / "rank-00001.jsonl")
    by_msg = {r["msg"].splitlines()[0]: r for r in recs if r.get("module", "").startswith("vllm")}
    assert by_msg["engine up 3"]["scope"] == "global" and by_msg["engine up 3"]["tp"] == 2
    assert by_msg["engine up 3"]["file"] == "<string>" and by_msg["engine up 3"]["line"] == 5
    assert by_msg["engine up 3"]["module"] == "vllm.engine"
    assert "below the handler's level" not in by_msg
    assert by_msg["step failed"]["level"] == "error"


def test_dictconfig_on_the_first_rank_prints_the_scoped_records(tmp_path):
    (tmp_path / "logging.json").write_text(json.dumps(CONFIG))
    code = textwrap.dedent("""
        import json, logging.config
        logging.config.dictConfig(json.load(open("logging.json")))
        logging.getLogger("vllm.engine").info("engine up", extra={"scope": "global"})
    """)
    env = clean_env(RANK=0, WORLD_SIZE=2, LOCAL_RANK=0, LOCAL_WORLD_SIZE=2,
                    RANKLOG_COLOR="never", RANKLOG_GPU="off")
    proc = run_python(code, env=env, cwd=tmp_path)
    assert sum(1 for l in proc.stderr.splitlines()
               if "[0/2 " in l and l.endswith("<string>:4 engine up")) == 1, proc.stderr
