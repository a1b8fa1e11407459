"""`extra` values of every JSON type keep their type in the JSONL record; lists and dicts
are written as their JSON text, and values JSON cannot hold as their str()."""

import textwrap

from conftest import clean_env, records, run_python


def test_extra_values_of_every_json_type(tmp_path):
    code = textwrap.dedent("""
        import logging, ranklog
        ranklog.install(dir="logs")
        class Thing:
            def __str__(self):
                return "a thing"
        logging.getLogger("app").info("values", extra={
            "s": "text \\u00e9\\n", "i": -7, "big": 2**64 + 1, "u": 2**63 + 5, "f": 0.25,
            "t": True, "n": None, "l": [1, "a", None], "d": {"k": [1.5]},
            "tup": (1, 2), "obj": Thing(), "nested_obj": [Thing()], "by": b"xy",
            "nan": float("nan"),
        })
    """)
    run_python(code, env=clean_env(RANKLOG_GPU="off", RANKLOG_COLOR="never"), cwd=tmp_path)
    rec = next(r for r in records(tmp_path / "logs" / "rank-00000.jsonl") if r["msg"] == "values")
    assert rec["s"] == "text \u00e9\n"
    assert rec["i"] == -7 and isinstance(rec["i"], int)
    assert rec["big"] == str(2**64 + 1)
    assert rec["u"] == 2**63 + 5
    assert rec["f"] == 0.25
    assert rec["t"] is True
    assert rec["n"] is None
    assert rec["l"] == '[1, "a", null]'
    assert rec["d"] == '{"k": [1.5]}'
    assert rec["tup"] == "[1, 2]"
    assert rec["obj"] == "a thing"
    assert rec["nested_obj"] == '["a thing"]'
    assert rec["by"] == "b'xy'"
    assert rec["nan"] is None
    assert rec["scope"] == "process"
