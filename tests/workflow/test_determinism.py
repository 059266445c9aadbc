"""Same config, same tables; one changed config value reruns only what depends on it.

A second smoke run from scratch, in a fresh temporary copy of the repository, is compared with the
session's smoke run (tests/workflow/conftest.py `smoke_results`; or ENTANGLE_SMOKE_REFERENCE): every CSV
must be byte-identical. No tolerance is needed on CPU: seeds are fixed in config, torch runs with a
fixed thread count per job (scales.smoke.threads; the SAE seeds with 1 thread), data order is
seeded, and tables are written with a fixed float format (entangle.io.write_table, "%.6g").

Then dry runs on the finished copy: unchanged config -> nothing to do; `scales.smoke.wasserstein.gallery`
changed (an extra `--configfile` holding just that value) -> only the two gallery items (NC-F7, NC-F8)
and the rules that gather results (claims, manifest, the `figures` target) rerun, through the `params`
rerun trigger (profiles/default: rerun-triggers include params); no training, capture or statistics job.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.workflow.tempcopy import copy_repo, differing_files, snakemake

pytestmark = pytest.mark.workflow

SMOKE = ("--config", "scale=smoke")
GATHERING = {"figures", "manifest", "judge_claims", "claims", "tables", "all"}  # rules that collect results


@pytest.fixture(scope="module")
def reference(request) -> Path:
    given = os.environ.get("ENTANGLE_SMOKE_REFERENCE")
    return Path(given) if given else request.getfixturevalue("smoke_results")


@pytest.fixture(scope="module")
def second_run(tmp_path_factory) -> Path:
    repo = copy_repo(tmp_path_factory.mktemp("determinism") / "repo")
    snakemake(repo, "--cores", "2", "figures", *SMOKE, timeout=1500)
    return repo


def planned_jobs(output: str) -> dict[str, int]:
    """Rule -> job count from a dry run's `Job stats` table ({} when there is nothing to do)."""
    if "Job stats" not in output:
        assert "Nothing to be done" in output, output[-3000:]
        return {}
    table = output.split("Job stats:")[1].split("total")[0]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\S+)\s+(\d+)\s*$", table, re.M)}


def test_two_runs_from_scratch_give_identical_tables(second_run, reference):
    results = second_run / "results" / "smoke"
    differ, missing = differing_files(results, reference, "*.csv")
    differ = [f for f in differ if not f.startswith(("benchmarks", "logs"))]
    missing = [f for f in missing if not f.startswith(("benchmarks", "logs"))]
    assert not missing, f"CSV files only in the second run: {missing}"
    assert not differ, f"CSV files that differ between two runs of the same config: {differ}"
    tables = list((results / "tables").glob("*.csv"))
    assert len(tables) >= 5


def test_finished_run_has_nothing_to_do(second_run):
    out = snakemake(second_run, "-n", "figures", *SMOKE).stdout
    assert planned_jobs(out) == {}, out[-3000:]


def test_changing_one_value_reruns_only_the_affected_jobs(second_run, tmp_path):
    # an extra --configfile is merged into config.yaml key by key (a nested `--config` value would stay a
    # string: Snakemake parses those with YAML's BaseLoader, and the schema wants an integer)
    override = tmp_path / "gallery.yaml"
    override.write_text("scales:\n  smoke:\n    wasserstein:\n      gallery: 10\n")
    out = snakemake(second_run, "-n", "figures", *SMOKE, "--configfile", str(override)).stdout
    jobs = planned_jobs(out)
    assert {"nc_f7_analysis", "nc_f8_analysis"} <= set(jobs), out[-3000:]
    assert set(jobs) - GATHERING == {"nc_f7_analysis", "nc_f8_analysis"}, f"unexpected reruns: {jobs}"
    assert jobs["nc_f7_analysis"] == jobs["nc_f8_analysis"] == 1
    assert "params" in out.lower()  # the reason Snakemake gives: changed params
