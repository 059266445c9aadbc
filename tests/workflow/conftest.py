"""Helpers for running Snakemake on this repository."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
# The rules the paper's finer jobs run where the smaller scales run one job per model (config.yaml `jobs`: capture
# per_layer, sparsify per_setting, disentangle per_layer; partial per_selection keeps its rule name): the paper
# rehearsal runs per model, and test_job_shapes runs these at smoke, where their files must equal the per-model jobs'.
FINE_GRAINED_RULES = {"token_windows", "capture", "neuron_stats", "perplexity", "sparsify_calibration",
                      "nc_vocabulary", "sparsify_prune", "disentangle_layer"}


def snakemake(*args: str, check: bool = True, timeout: int = 1800) -> subprocess.CompletedProcess:
    """Run snakemake in the repository; returns the completed process (stdout and stderr merged)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.run([*SNAKEMAKE, *args], cwd=REPO, env=env, text=True, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=timeout)
    if check and proc.returncode != 0:
        pytest.fail(f"snakemake {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-6000:]}")
    return proc


@pytest.fixture(scope="session")
def smoke_results() -> Path:
    """Run `all` (figures, claims, reports) at smoke scale once per test run, reusing up-to-date outputs.

    Tests on several pytest-xdist workers may ask for it: the first runs it while the others wait on a lock file,
    then find it done for this run (a marker holding xdist's run id) and start no Snakemake of their own, which
    would contend for the checkout's lock with the tests running there."""
    results = REPO / "results"
    results.mkdir(exist_ok=True)
    run_id = os.environ.get("PYTEST_XDIST_TESTRUNUID")  # the same on every worker of one pytest run
    done = results / ".smoke-run.done"
    with open(results / ".smoke-run.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not (run_id and done.is_file() and done.read_text() == run_id):
            done.unlink(missing_ok=True)
            snakemake("--cores", "2", "all", "--config", "scale=smoke")
            if run_id:
                done.write_text(run_id)
    return results / "smoke"


@pytest.fixture(scope="session")
def reference(request) -> Path:
    """results/smoke of a complete smoke run to compare with: ENTANGLE_SMOKE_REFERENCE if set (a checkout's
    results/smoke, whose .snakemake/metadata is used if present), else the session's (`smoke_results`)."""
    given = os.environ.get("ENTANGLE_SMOKE_REFERENCE")
    return Path(given) if given else request.getfixturevalue("smoke_results")
