"""Run the workflow in a throw-away copy of the repository (tests that kill, repeat or re-route runs).

A copy holds the git-tracked files plus the working-tree versions of new, non-ignored files
(`git ls-files -co --exclude-standard`), never results/ or .snakemake/, so tests never collide
with runs in the checkout itself; a finished copy also holds a smoke run's results and Snakemake metadata.
"""

from __future__ import annotations

import filecmp
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.workflow.conftest import REPO

SNAKEMAKE = [sys.executable, "-m", "snakemake"]
OFFLINE = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}


def repo_files() -> list[str]:
    try:
        out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, check=True,
                             capture_output=True, text=True).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):  # not a git checkout: everything but outputs
        out = [str(p.relative_to(REPO)) for p in REPO.rglob("*") if p.is_file()]
    skip = ("results/", ".snakemake/", ".venv/", ".git/")
    return [f for f in out if not f.startswith(skip) and "__pycache__" not in f and (REPO / f).is_file()]


def copy_repo(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for rel in repo_files():
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / rel, target)
    return dest


def env(**extra: str) -> dict:
    return {**os.environ, **OFFLINE, **extra}


def snakemake(cwd: Path, *args: str, check: bool = True, timeout: int = 900, extra_env: dict | None = None,
              ) -> subprocess.CompletedProcess:
    """Run snakemake in `cwd` (the local default profile applies); stdout and stderr merged."""
    proc = subprocess.run([*SNAKEMAKE, *args], cwd=cwd, env=env(**(extra_env or {})), text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    if check and proc.returncode != 0:
        pytest.fail(f"snakemake {' '.join(args)} failed ({proc.returncode}) in {cwd}:\n{proc.stdout[-6000:]}")
    return proc


def start_snakemake(cwd: Path, *args: str, log: Path) -> subprocess.Popen:
    """Start snakemake in its own process group (so the whole run, jobs included, can be killed)."""
    out = open(log, "w")
    return subprocess.Popen([*SNAKEMAKE, *args], cwd=cwd, env=env(), stdout=out, stderr=subprocess.STDOUT,
                            start_new_session=True)


def kill_run(proc: subprocess.Popen) -> None:
    """SIGKILL snakemake and every job it started (its process group), as a crash or an OOM kill would."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=30)


def wait_for(predicate, timeout: float, proc: subprocess.Popen | None = None, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"snakemake ended ({proc.returncode}) before {what}")
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


def differing_files(a: Path, b: Path, pattern: str) -> tuple[list[str], list[str]]:
    """(files under a matching pattern whose bytes differ in b, files missing from b)."""
    differ, missing = [], []
    for f in sorted(a.rglob(pattern)):
        rel = f.relative_to(a)
        other = b / rel
        if not other.exists():
            missing.append(str(rel))
        elif not filecmp.cmp(f, other, shallow=False):
            differ.append(str(rel))
    return differ, missing


def finished_copy(dest: Path, reference: Path) -> Path:
    """A copy of the repository holding the reference run's results (and the cross-scale page beside them) and
    Snakemake metadata."""
    repo = copy_repo(dest)
    shutil.copytree(reference, repo / "results" / "smoke", symlinks=True, copy_function=shutil.copy2)
    for page in reference.parent.glob("scales.*"):  # rule scales writes results/scales.{csv,md,html}
        shutil.copy2(page, repo / "results" / page.name)
    for claims in reference.parent.glob("*/claims.csv"):  # ... from every scale's claims table present
        if claims.parent != reference:
            (repo / "results" / claims.parent.name).mkdir(parents=True, exist_ok=True)
            shutil.copy2(claims, repo / "results" / claims.parent.name / "claims.csv")
    metadata = reference.parents[1] / ".snakemake" / "metadata"
    if metadata.is_dir():
        shutil.copytree(metadata, repo / ".snakemake" / "metadata", copy_function=shutil.copy2)
    return repo


def without_timings(value):
    """A JSON value without the entries that measure time (`seconds`, `train_seconds`, `seconds_eval`, ...)."""
    if isinstance(value, dict):
        return {k: without_timings(v) for k, v in value.items() if "seconds" not in k}
    if isinstance(value, list):
        return [without_timings(v) for v in value]
    return value
