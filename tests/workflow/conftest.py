"""Helpers for running Snakemake on this repository."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
# The rules the paper's fine job granularity runs where the smaller scales run one job per model
# (config.yaml `jobs`: capture per_layer, sparsify per_setting, disentangle per_layer): the paper rehearsal runs
# per model, and test_determinism runs these at smoke, where their files must equal the per-model jobs' files.
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
    """Run `all` (figures, claims, reports) at smoke scale once per session, reusing up-to-date outputs."""
    snakemake("--cores", "2", "all", "--config", "scale=smoke")
    return REPO / "results" / "smoke"
