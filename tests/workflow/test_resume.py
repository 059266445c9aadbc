"""Interrupt and resume: SIGKILL a smoke run in the middle of model training, and (separately) in the
middle of an analysis job, then rerun the same command.

The run is `snakemake --cores 2 nc_fig7 --config scale=smoke` in a temporary copy of the repository:
text -> tokenizer -> train neox-m -> token windows -> capture -> neuron statistics -> NC-F7 analysis.
The kill goes to the whole process group (Snakemake and its running jobs, as a crash or a lost node
would), so no job gets to clean up. Then the same command runs again; Snakemake's lock survives a
SIGKILL (it records no PID), so when that rerun stops at "Directory cannot be locked" (and only then) the
test does Snakemake's documented recovery, `snakemake --unlock`, and the same command again. After it:
- the run completes;
- outputs finished before the kill are reused, not rebuilt (same mtime);
- nothing is truncated or half-written: no `.name.tmp-*` leftovers, every CSV parses, every .npy and
  .npz loads, every JSON parses, every model checkpoint loads.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.workflow.tempcopy import copy_repo, kill_run, snakemake, start_snakemake, wait_for

pytestmark = [pytest.mark.workflow, pytest.mark.xdist_group("resume")]  # both tests in one copy, one worker

COMMAND = ("--cores", "2", "nc_fig7", "--config", "scale=smoke")
MODEL = "neox-m"  # the GELU role model NC-F7 uses


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    return copy_repo(tmp_path_factory.mktemp("resume") / "repo")


def mtimes(paths) -> dict[Path, int]:
    return {p: p.stat().st_mtime_ns for p in paths}


def assert_outputs_whole(results: Path) -> None:
    leftovers = [str(p) for p in results.rglob(".*.tmp-*")]
    assert not leftovers, f"half-written temporaries left: {leftovers}"
    for csv in results.rglob("*.csv"):
        if "benchmarks" not in csv.parts:
            pd.read_csv(csv)
    for npy in results.rglob("*.npy"):
        np.load(npy, mmap_mode="r")
    for npz in results.rglob("*.npz"):
        with np.load(npz) as data:
            [data[k] for k in data.files]
    for js in results.rglob("*.json"):
        json.loads(js.read_text())
    from entangle.models.load import load_model, local_revisions

    for model_dir in (results / "models").iterdir():
        revisions = local_revisions(model_dir)
        assert revisions, f"{model_dir}: no complete checkpoint"
        for revision in revisions:
            load_model(str(model_dir), revision)


def rerun(repo: Path) -> None:
    """The same command; if (only) Snakemake's stale lock stops it, `--unlock` and the same command again."""
    first = snakemake(repo, *COMMAND, check=False)
    if first.returncode != 0:
        assert "Directory cannot be locked" in first.stdout, f"rerun failed:\n{first.stdout[-4000:]}"
        snakemake(repo, "--unlock", *COMMAND)
        snakemake(repo, *COMMAND)


def test_kill_during_training_then_resume(repo, tmp_path):
    results = repo / "results" / "smoke"
    run = start_snakemake(repo, *COMMAND, log=tmp_path / "run.log")
    try:
        # training has started once its temporary checkpoint directory exists; let it save a checkpoint or two
        wait_for(lambda: any((results / "models").glob(f".{MODEL}.tmp-*/step*")), 300, run, "training started")
    finally:
        kill_run(run)
    partial = next((results / "models").glob(f".{MODEL}.tmp-*"), None)
    assert not (results / "models" / MODEL).exists(), "killed too late: training had finished"
    finished = mtimes([*(results / "data" / "text").iterdir(), results / "data" / "tokenizer"])

    rerun(repo)
    assert mtimes(finished) == finished, "finished data/tokenizer outputs were rebuilt"
    assert partial is None or not partial.exists(), "the killed writer's temporary directory was not removed"
    assert (results / "tables" / "NC-F7.csv").exists()
    assert_outputs_whole(results)


def test_kill_during_analysis_then_resume(repo, tmp_path):
    results = repo / "results" / "smoke"
    snakemake(repo, *COMMAND)  # complete (a no-op after the test above)
    item = [results / "figures" / "NC-F7.png", results / "figures" / "NC-F7.pdf", results / "tables" / "NC-F7.csv",
            results / "tables" / "NC-F7.md", results / "claims" / "NC-F7.json"]
    stats = sorted((results / "stats").rglob("*.csv"))
    job_log = results / "logs" / "items" / "NC-F7.log"
    for f in [*item, job_log]:
        f.unlink(missing_ok=True)
    upstream = mtimes([*stats, *(results / "activations").rglob("*.npy"), results / "models" / MODEL])

    run = start_snakemake(repo, *COMMAND, log=tmp_path / "run.log")
    try:
        # the job's log opens once its imports are done: the analysis is computing from then on
        wait_for(job_log.exists, 300, run, "the NC-F7 analysis started")
    finally:
        kill_run(run)
    assert not all(f.exists() for f in item), "killed too late: the analysis had finished"

    rerun(repo)
    assert mtimes(upstream) == upstream, "finished upstream outputs (model, activations, stats) were rebuilt"
    assert all(f.exists() and f.stat().st_size > 0 for f in item)
    assert_outputs_whole(results)
