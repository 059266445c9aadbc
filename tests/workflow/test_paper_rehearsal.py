"""The paper scale end to end, offline, on architecture-exact stand-ins (README: "Paper-scale rehearsal").

tests/fixtures/paper_hub.py builds a Hugging Face hub cache holding every paper model id at every revision
config.yaml lists (random weights, real architecture traits, shrunk) and `datasets` caches of WikiText-2 raw,
OpenWebText and MNIST; `figures --config scale=paper` then runs with tests/fixtures/paper_rehearsal.yaml, which
shrinks token counts, lists and depths and runs one job per model where the paper runs one per layer, setting or
selection, in a copy of the repository. Every rule of the paper DAG must run to completion through the paper code
paths (hub ids and stepN revisions resolved offline, fp16, layer-wise evaluation, one clamp job per percent, the
downstream benchmarks through a stand-in harness); the rules of the paper's finer jobs run at smoke instead, in
tests/workflow/test_job_shapes.py, against the per-model jobs' files. The overlay keeps each list as short as the
schema allows, so the run is close to one job per rule and per model (the zoo table evaluates all 13).
The refusals are then checked on single jobs of the same run, against a copy of the caches that lacks a revision
and dataset splits: a revision missing from the cache, dataset caches missing a split, and a GPU required where
torch sees none.

The caches are built once per session (only the revisions the overlay lists) and every job gets one thread.
"""

from __future__ import annotations

import json
import re
import resource
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.fixtures import paper_hub
from tests.workflow.conftest import FINE_GRAINED_RULES
from tests.workflow.tempcopy import copy_repo, snakemake

pytestmark = [pytest.mark.workflow, pytest.mark.xdist_group("rehearsal")]  # one worker, one rehearsal

OVERLAY = "tests/fixtures/paper_rehearsal.yaml"
RULE = re.compile(r"^(?:local)?rule (\w+):$", re.M)
# one thread per job (snakemake's --max-threads 1 sets torch's; these cap the BLAS and tokenizer pools)
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
              "TOKENIZERS_PARALLELISM": "false"}
RUN = (  # options only: --configfile takes every argument after it, so targets go first
    "--cores", "2", "--max-threads", "1", "--config", "scale=paper", "--configfile", OVERLAY)


@pytest.fixture(scope="session")
def hf_home(tmp_path_factory) -> Path:
    """The stand-in hub and datasets caches, built once: the revisions the overlay lists, not the unshrunk lists."""
    home = tmp_path_factory.mktemp("paper-hf")
    paper_hub.build(home, unshrunk=False)
    return home


@pytest.fixture(scope="session")
def rehearsal(hf_home, tmp_path_factory) -> tuple[Path, str]:
    """`figures` at paper scale with the overlay, in a copy of the repository: (the copy, snakemake's log)."""
    repo = copy_repo(tmp_path_factory.mktemp("paper-repo"))
    t0, cpu0 = time.monotonic(), resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = snakemake(repo, "figures", *RUN, extra_env={**paper_hub.environment(hf_home), **ONE_THREAD},
                     timeout=3600)
    cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = cpu1.ru_utime - cpu0.ru_utime + cpu1.ru_stime - cpu0.ru_stime
    jobs = int(re.search(r"^total\s+(\d+)$", proc.stdout, re.M).group(1))
    print(f"\npaper rehearsal: {jobs} jobs, {cpu:.0f} s CPU (user + system), {time.monotonic() - t0:.0f} s wall")
    return repo, proc.stdout


def rules_run(log: str) -> set[str]:
    """Rules of the jobs a Snakemake log shows (fetch_model prints its message instead of its name)."""
    return set(RULE.findall(log)) | ({"fetch_model"} if re.search(r"^Job \d+: fetch ", log, re.M) else set())


def test_every_rule_of_the_paper_dag_runs_on_the_stand_ins(hf_home, rehearsal):
    repo, out = rehearsal
    paper_dag = rules_run(snakemake(repo, "-n", "--forceall", "figures", "--config", "scale=paper").stdout)
    ran = rules_run(out)
    jobs = int(re.search(r"^total\s+(\d+)$", out, re.M).group(1))
    assert FINE_GRAINED_RULES <= paper_dag
    missing = paper_dag - FINE_GRAINED_RULES - ran
    assert missing == set(), f"rules of the paper DAG that did not run: {sorted(missing)}"
    assert any(rule.startswith("dense_pass_") for rule in ran)
    assert f"{jobs} of {jobs} steps (100%) done" in out

    results = repo / "results" / "paper"
    # hub ids and revisions resolved from the cache, not from `path:` overrides
    card = json.loads((results / "models" / "pythia-1.4b" / "card.json").read_text())
    assert card["hub_id"] == "EleutherAI/pythia-1.4b-deduped" and "step512" in card["snapshots"]
    assert all(str(hf_home / "hub") in path for path in card["snapshots"].values())
    # the paper code paths: fp16, layer-wise evaluation, a GPU asked for and not found
    summary = json.loads((results / "sparsify" / "llama-2-7b" / "se16" / "0.7.json").read_text())
    assert (summary["dtype"], summary["evaluate"], summary["device"]) == ("float16", "layerwise", "cpu")
    assert "running on CPU" in out and "asks for a GPU (device 'cuda'" in out
    scores = json.loads((results / "partial" / "llama-3-8b" / "wd.downstream.json").read_text())
    assert set(scores) == {"gsm8k", "bbh", "squadv2", "triviaqa", "mmlu"}
    assert not list((results / "partial" / "llama-3-8b").glob("*.pt"))  # temporary sparse states removed
    windows = json.loads((results / "neuron_embeddings" / "windows.json").read_text())
    assert windows["dataset"] == "Skylion007/openwebtext" and windows["examples"] == 100
    claims = pd.read_csv(results / "claims.csv", keep_default_na=False)
    assert set(claims["claim"]) == set(range(1, 39)) and set(claims["scale"]) == {"paper"}
    manifest = pd.read_csv(results / "manifest.tsv", sep="\t", keep_default_na=False)
    assert set(manifest["status"]) == {"built"}


def test_paper_refusals_name_the_problem_and_the_fix(hf_home, rehearsal, tmp_path):
    """The caches less pythia-1.4b@step512, WikiText's validation split and MNIST's test split, and a GPU required
    (ENTANGLE_REQUIRE_GPU=1) where torch sees none: each job, rerun alone in the finished rehearsal, stops before
    its work, says what is missing and how to provide it, and leaves nothing behind."""
    env = paper_hub.degraded(hf_home, tmp_path / "hf", omit_revisions={("EleutherAI/pythia-1.4b-deduped", "step512")},
                             omit_splits={("Salesforce/wikitext", "validation"), ("ylecun/mnist", "test")})
    repo, _ = rehearsal
    results = repo / "results" / "paper"
    cases = {  # rule: (target, what its error must say)
        "fetch_model": ("models/pythia-1.4b", ["EleutherAI/pythia-1.4b-deduped", "(step512)",
                                                "hf download EleutherAI/pythia-1.4b-deduped --revision step512"]),
        "make_text": ("data/text/train.txt", ["Salesforce/wikitext", "no split(s) ['validation']", "save_to_disk",
                                              "text.local_path"]),
        "ne_sae_data": ("sae/data.npz", ["ylecun/mnist", "no split(s) ['test']", "sae.local_path"]),
        "ne_clusters": ("neuron_embeddings/L0.csv", ["needs a GPU (device 'cuda'", "ENTANGLE_REQUIRE_GPU is set",
                                                     "Run it on a GPU node"]),
    }
    targets = [f"results/paper/{t}" for t, _ in cases.values()]
    proc = snakemake(repo, *targets, *RUN, "--keep-going", "--forcerun", *targets, check=False, timeout=900,
                     extra_env={**env, **ONE_THREAD, "ENTANGLE_REQUIRE_GPU": "1"})
    out = proc.stdout
    assert proc.returncode != 0
    assert re.search(r"^total\s+4$", out, re.M), out[-3000:]  # the four jobs alone, nothing upstream or downstream
    for rule, (target, expected) in cases.items():
        assert f"Error in rule {rule}" in out, out[-3000:]
        missing = [text for text in expected if text not in out]
        assert not missing, f"the {rule} failure does not say {missing}:\n{out[-5000:]}"
        assert not (results / target).exists()
    assert not list(results.rglob(".*.tmp-*"))
