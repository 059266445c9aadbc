"""Same config, same bytes; one changed config value reruns only what depends on it.

The reference is the session's smoke run (tests/workflow/conftest.py `reference`). A temporary copy of the
repository gets a copy of it (tests/workflow/tempcopy.py `finished_copy`: modification times and Snakemake's
metadata kept, so the copy is a finished run), then:

- reruns: the outputs of one job of every computing kind are deleted and only those files are asked for,
  so exactly those jobs run again on the reference's inputs: text, tokenizer, training (the smallest zoo
  model), token windows, a model's captures and statistics, sparsification (every run of one model),
  partial sparsification, disentanglement, the clamp ablation, MD pairs, an SAE seed, feature clusters, item
  analyses of each paper and the claims table. Every regenerated CSV, .npy, .txt and weight file must be
  byte-identical to the reference's, every JSON equal but for timings (keys naming seconds). If every job
  is deterministic given its inputs, a run from scratch is too; this costs a fraction of a second full run. No tolerance is needed on CPU: seeds are fixed in
  config, torch runs with a fixed thread count per job (scales.smoke.threads; the SAE seeds with 1 thread),
  data order is seeded, and tables are written with a fixed float format (entangle.io.write_table, "%.6g").
- dry runs on the untouched copy: unchanged config -> nothing to do; `scales.smoke.wasserstein.gallery`
  changed (an extra `--configfile` holding just that value) -> only the two gallery items (NC-F7, NC-F8)
  and the rules that gather results (claims, manifest, reports, the `figures` target) rerun, through the
  `params` rerun trigger (profiles/default: rerun-triggers include params); no training, capture or
  statistics job.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from tests.workflow.tempcopy import differing_files, finished_copy, snakemake, without_timings

pytestmark = [pytest.mark.workflow, pytest.mark.xdist_group("smoke")]  # share the session smoke run

SMOKE = ("--config", "scale=smoke")
# rules that collect results (and the report notebooks, which read the claims table)
GATHERING = {"figures", "manifest", "judge_claims", "claims", "tables", "all", "report_notebook", "reports",
             "scales"}
# one job of every computing kind: the files whose deletion makes it rerun (relative to results/smoke), in
# groups run one after another. Snakemake reruns every job downstream of a rerunning job within the asked
# targets' DAG ("input files updated by another job"), so a group holds no target downstream of another
# group's jobs: the new text would retrain every model for claims.csv, the neox-m dense pass would rerun
# every item of the claims table.
RERUN = [
    ["data/text/train.txt", "data/text/validation.txt", "data/text/test.txt", "data/text/checksum.json",
     "data/tokenizer", "models/neox-s"],
    ["tokens/neox-m/test.npy", "tokens/neox-m/validation.npy",
     "perplexity/neox-m/step60/validation.csv", "perplexity/neox-m/step60/validation.json",
     "sparsify/neox-m/calibration.npy",
     "mapping/neox-m/step60/test/L1.up.pairs1000.csv", "mapping/neox-m/step60/test/L1.up.pairs1000.npz",
     "zscores/neox-m/step60/test/L2.up.pairs1000.npz",
     "sae/seed0.json", "sae/seed0.npz", "sae/seed0.pt",
     "neuron_embeddings/L1.csv", "neuron_embeddings/L1.json",
     "negative/neox-m/step60/validation/clamp.p1_2_5_10.csv",
     "negative/neox-m/step60/validation/clamp.p1_2_5_10.json",
     "tables/WD-F2.csv", "tables/NC-F2.csv", "tables/NE-T1.csv",
     # every output of these per-model jobs (both files of a sparsification run; llama's dense pass too)
     "activations/neox-m/", "stats/neox-m/", "sparsify/llama/", "partial/llama/", "disentangle/neox-m/"],
    ["claims.csv"],
]
COMPARED = ("*.csv", "*.npy", "*.txt", "*.safetensors", "tokenizer.json", "checksum.json")


@pytest.fixture(scope="module")
def finished(tmp_path_factory, reference) -> Path:
    return finished_copy(tmp_path_factory.mktemp("finished") / "repo", reference)


@pytest.fixture(scope="module")
def rerun(tmp_path_factory, reference) -> tuple[Path, list[str]]:
    """A finished copy in which one job of every computing kind ran again; (results dir, regenerated files)."""
    repo = finished_copy(tmp_path_factory.mktemp("rerun") / "repo", reference)
    results = repo / "results" / "smoke"
    regenerated = []
    for group in RERUN:
        targets = []
        for t in group:  # a folder stands for every file in it
            path = results / t
            if t.endswith("/"):
                targets += [str(p.relative_to(results)) for p in sorted(path.rglob("*")) if p.is_file()]
            else:
                targets.append(t)
        for t in targets:
            path = results / t
            shutil.rmtree(path) if path.is_dir() else path.unlink()
        # missing files trigger the jobs; params is the only other trigger (the mtimes are reset below)
        # targets first: --rerun-triggers takes several values
        snakemake(repo, "--cores", "2", *(f"results/smoke/{t}" for t in targets), "--rerun-triggers", "params",
                  *SMOKE, timeout=900)
        regenerated += targets
        # the reference's modification times back on everything the jobs wrote (compared byte for byte below),
        # so the next group's jobs do not see newer inputs (Snakemake reruns on those even with params triggers)
        for path in results.rglob("*"):
            ref = reference / path.relative_to(results)
            if ref.exists():
                os.utime(path, ns=(ref.stat().st_atime_ns, ref.stat().st_mtime_ns))
    return results, regenerated


def planned_jobs(output: str) -> dict[str, int]:
    """Rule -> job count from a dry run's `Job stats` table ({} when there is nothing to do)."""
    if "Job stats" not in output:
        assert "Nothing to be done" in output, output[-3000:]
        return {}
    table = output.split("Job stats:")[1].split("total")[0]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\S+)\s+(\d+)\s*$", table, re.M)}


def test_rerun_jobs_reproduce_the_reference_byte_for_byte(rerun, reference):
    results, targets = rerun
    compared = 0
    for pattern in COMPARED:
        differ, missing = differing_files(results, reference, pattern)
        differ = [f for f in differ if not f.startswith(("benchmarks", "logs"))]
        assert not missing, f"files only in the rerun: {missing}"
        assert not differ, f"{pattern} files that differ between two runs of the same job: {differ}"
    for path in sorted(results.rglob("*.json")):
        rel = path.relative_to(results)
        if rel.parts[0] not in ("benchmarks", "logs"):
            mine, theirs = (json.loads(p.read_text()) for p in (path, reference / rel))
            assert without_timings(mine) == without_timings(theirs), f"{rel} differs between two runs of the same job"
    for t in targets:
        path = results / t
        assert path.exists(), f"{t} was not regenerated"
        compared += sum(1 for p in ([path] if path.is_file() else path.rglob("*"))
                        if p.is_file() and any(p.match(pat) for pat in (*COMPARED, "*.json")))
    assert compared >= 40  # the regenerated files of every job kind above were compared


def test_finished_run_has_nothing_to_do(finished):
    out = snakemake(finished, "-n", "figures", *SMOKE).stdout
    assert planned_jobs(out) == {}, out[-3000:]


def test_changing_one_value_reruns_only_the_affected_jobs(finished, tmp_path):
    # an extra --configfile is merged into config.yaml key by key (a nested `--config` value would stay a
    # string: Snakemake parses those with YAML's BaseLoader, and the schema wants an integer)
    override = tmp_path / "gallery.yaml"
    override.write_text("scales:\n  smoke:\n    wasserstein:\n      gallery: 10\n")
    out = snakemake(finished, "-n", "figures", *SMOKE, "--configfile", str(override)).stdout
    jobs = planned_jobs(out)
    assert {"nc_f7_analysis", "nc_f8_analysis"} <= set(jobs), out[-3000:]
    assert set(jobs) - GATHERING == {"nc_f7_analysis", "nc_f8_analysis"}, f"unexpected reruns: {jobs}"
    assert jobs["nc_f7_analysis"] == jobs["nc_f8_analysis"] == 1
    assert "params" in out.lower()  # the reason Snakemake gives: changed params
