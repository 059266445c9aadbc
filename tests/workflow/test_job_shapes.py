"""Results do not depend on how work is split into jobs.

In a copy of the repository holding the session's smoke run (tests/workflow/tempcopy.py `finished_copy`), files
written by per-model jobs (what one model's dense pass wrote, two of a model's sparsification runs, one
partial-sparsification selection, one layer's disentanglement) are deleted and rebuilt with the paper's job
granularity (`jobs`: capture per_layer, sparsify per_setting, partial per_selection, disentangle per_layer; rules
token_windows, capture, neuron_stats, perplexity, sparsify_calibration, nc_vocabulary, sparsify_prune,
partial_sparsify, disentangle_layer): every file must equal the per-model job's byte for byte (JSON: but for
timings). This is also where those paper-scale rules run in the suite (the rehearsal runs one job per model).
"""

from __future__ import annotations

import json
import re

import pytest

from tests.workflow.conftest import FINE_GRAINED_RULES
from tests.workflow.tempcopy import finished_copy, snakemake, without_timings

pytestmark = [pytest.mark.workflow, pytest.mark.xdist_group("shapes")]  # its own copy: beside the smoke group

SMOKE = ("--config", "scale=smoke")

# Files the per-model jobs wrote that the paper's finer jobs write one job each (relative to results/smoke): what
# neox-m's dense pass wrote (token windows, layer 1's captures and statistics, the evaluation perplexity,
# calibration windows, vocabulary), two of llama's sparsification runs (SparseGPT and Sparse Expansion with N:M),
# one partial-sparsification selection (wd: with its Sparse Expansion) and one layer of neox-m's disentanglement.
SHAPE_FILES = ["tokens/neox-m/test.npy", "tokens/neox-m/validation.npy", "tokens/neox-m/vocabulary.json",
               "activations/neox-m/step60/test/L1.up.in.npy", "activations/neox-m/step60/test/L1.up.out.npy",
               "activations/neox-m/step60/test/L1.up.weight.npy", "stats/neox-m/step60/test/L1.up.csv",
               "perplexity/neox-m/step60/validation.csv", "perplexity/neox-m/step60/validation.json",
               "sparsify/neox-m/calibration.npy",
               "sparsify/llama/sparsegpt/0.9.json", "sparsify/llama/sparsegpt/0.9.nll.csv",
               "sparsify/llama/se16/2-4.json", "sparsify/llama/se16/2-4.nll.csv",
               "partial/llama/wd.json",
               *(f"disentangle/neox-m/L0.up/{f}" for f in ("neurons.csv", "clusters.csv", "samples.npz",
                                                             "summary.json"))]
PAPER_JOBS = ("scales:\n  smoke:\n    jobs: {capture: per_layer, sparsify: per_setting, disentangle: per_layer, "
              "partial: per_selection}\n")


def test_paper_job_granularity_writes_what_the_per_model_jobs_wrote(tmp_path_factory, reference):
    repo = finished_copy(tmp_path_factory.mktemp("shapes") / "repo", reference)
    results = repo / "results" / "smoke"
    for f in SHAPE_FILES:
        (results / f).unlink()
    overlay = repo / "paper_jobs.yaml"
    overlay.write_text(PAPER_JOBS)
    out = snakemake(repo, "--cores", "2", *(f"results/smoke/{f}" for f in SHAPE_FILES), "--rerun-triggers", "mtime",
                    *SMOKE, "--configfile", str(overlay), timeout=900).stdout
    ran = {m.group(1) for m in re.finditer(r"^(?:local)?rule (\w+):$", out, re.M)}
    assert FINE_GRAINED_RULES <= ran, ran
    assert re.search(r"^\s+wildcards: selection=wd$", out, re.M), "partial_sparsify did not run for one selection"
    assert not any(r.startswith(("dense_pass", "sparsify_llama", "disentangle_neox")) for r in ran), ran
    for f in SHAPE_FILES:
        mine, theirs = results / f, reference / f
        if f.endswith(".json"):
            assert without_timings(json.loads(mine.read_text())) == without_timings(json.loads(theirs.read_text())), f
        else:
            assert mine.read_bytes() == theirs.read_bytes(), f"{f} differs between the fine and the per-model jobs"
