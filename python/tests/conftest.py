"""Helpers of the ranklog Python tests: each test runs real Python processes (one
logger per process, as in a job), under a real `mpirun` where ranks matter."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# The launcher and RANKLOG_* variables of whoever runs the tests must not leak in.
_LEAKY = ("RANKLOG_", "OMPI_", "PMI_", "PMIX_", "SLURM_", "HOROVOD_", "MV2_", "PALS_",
          "FLUX_", "JSM_", "MPI_LOCAL")
_LEAKY_EXACT = {"RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "LOCAL_SIZE",
                "CROSS_SIZE", "GROUP_RANK"}


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(_LEAKY) and k not in _LEAKY_EXACT}
    env.update({k: str(v) for k, v in extra.items()})
    env["PYTHONUNBUFFERED"] = "1"
    return env


def run_python(code, env=None, cwd=None, timeout=60, check=True):
    """Runs `code` in a fresh `python` (this interpreter), returns the CompletedProcess."""
    proc = subprocess.run([sys.executable, "-c", code], env=env or clean_env(), cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"python exited {proc.returncode}\nstdout:\n{proc.stdout}\n"
                             f"stderr:\n{proc.stderr}")
    return proc


def mpirun(np, script, env, timeout=120):
    """Runs `script` under Open MPI's `mpirun -np NP` (as root, oversubscribed)."""
    exe = shutil.which("mpirun")
    assert exe, "mpirun not found: scripts/setup.sh installs Open MPI"
    env = dict(env, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1")
    proc = subprocess.run([exe, "-np", str(np), "--oversubscribe", sys.executable, str(script)],
                          env=env, cwd=Path(script).parent, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, (f"mpirun exited {proc.returncode}\nstdout:\n{proc.stdout}\n"
                                  f"stderr:\n{proc.stderr}")
    return proc


def records(path):
    """The JSON objects of one JSONL file (every line must parse)."""
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def cli():
    """The `ranklog` command built from this repository (`cargo build --features cli`)."""
    for candidate in (os.environ.get("RANKLOG_CLI"),
                      os.path.join(os.environ.get("CARGO_TARGET_DIR", REPO / "target"),
                                   "debug", "ranklog")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    pytest.fail("the ranklog CLI is missing: run `cargo build --features cli` (or set RANKLOG_CLI)")
