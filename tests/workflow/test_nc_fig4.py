"""NC-F4 at smoke scale: histograms, the clamp ablation with statistics, the sweep table and claim values."""

import json

import numpy as np
import pandas as pd
import pytest
import yaml

from entangle.config import scale_settings
from tests.workflow.conftest import REPO, snakemake

pytestmark = [pytest.mark.workflow, pytest.mark.xdist_group("smoke")]  # share the session smoke run

ITEM = yaml.safe_load((REPO / "items.yaml").read_text())["items"]["NC-F4"]
RAW = yaml.safe_load((REPO / "config.yaml").read_text())
CONFIG = {name: scale_settings(RAW, name) for name in RAW["scales"]}  # every scale's settings, defaults merged
FILES = ["figures/NC-F4.png", "figures/NC-F4.pdf", "tables/NC-F4.csv", "tables/NC-F4.md", "claims/NC-F4.json"]


@pytest.fixture(scope="module")
def results():
    snakemake("--cores", "2", "--nolock", ITEM["target"], "--config", "scale=smoke")
    return REPO / "results" / "smoke"


def test_registry_lists_the_files():
    assert ITEM["rule"] == "nc_fig4_analysis" and ITEM["outputs"] == FILES


def test_files_exist(results):
    for f in FILES:
        assert (results / f).stat().st_size > 0, f
    assert (results / "figures/NC-F4.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_sweep_table(results):
    cfg = CONFIG["smoke"]["negative"]
    table = pd.read_csv(results / "tables/NC-F4.csv")
    t = table[table["model"] == "neox-m"]
    assert sorted(t["percent"]) == sorted({*map(float, cfg["percents"]), float(cfg["percent"])})
    assert table["primary"].tolist() == [True] * len(t) + [False] * (len(table) - len(t))  # primary rows first
    for column in ("model", "model_id", "revision", "dataset", "split", "wd_split", "tokens", "seed"):
        assert t[column].notna().all()
    assert (t["split"] == "validation").all() and (t["wd_split"] == "test").all()
    assert (t["random_seeds"] >= 10).all() and t["baseline_ppl"].nunique() == 1
    assert t["neurons_total"].is_monotonic_increasing
    for column in ("p_wilcoxon", "p_wilcoxon_max_over_seeds", "p_ttest_across_seeds"):
        assert t[column].between(0, 1).all()
    assert t["rank_biserial"].between(-1, 1).all()
    assert "Wilcoxon" in t["test"].iloc[0] and "**test**" in (results / "tables/NC-F4.md").read_text()


def test_clamp_nll_is_paired_and_baseline_matches_the_perplexity_rule(results):
    run = next((results / "negative").glob("neox-m/*/validation/clamp.p*.csv"))
    nll = pd.read_csv(run)
    windows = nll.groupby(["condition", "percent", "repetition"], dropna=False)["window"].apply(tuple)
    assert windows.nunique() == 1  # every condition on the same windows
    backbone = pd.read_csv(next((results / "perplexity").glob("neox-m/*/validation.csv")))
    base = nll.query("condition == 'baseline'").sort_values("window")["nll"].to_numpy()
    np.testing.assert_allclose(base, backbone.sort_values("window")["nll"], rtol=1e-5)
    summary = json.loads(run.with_suffix(".json").read_text())
    assert summary["split"] != summary["wd_split"]
    five = summary["percents"]["5"]
    assert len(five["random_neurons"]) == summary["random_seeds"]
    for sel in five["random_neurons"]:
        assert {k: len(v) for k, v in sel.items()} == five["neurons_per_layer"]


def test_claim_values(results):
    rec = json.loads((results / "claims/NC-F4.json").read_text())
    assert rec["item"] == "NC-F4" and rec["scale"] == "smoke" and sorted(rec["claims"]) == ["30", "31"]
    c31 = rec["claims"]["31"]
    for key in ("baseline_ppl", "clamped_ppl", "random_ppl_mean", "random_ppl_sem", "p_value", "ratio_of_increases"):
        assert key in c31
    assert c31["baseline_ppl"] > 1 and c31["clamped_ppl"] > 1 and 0 <= c31["p_value"] <= 1
    assert c31["paper_baseline_ppl"] == 12.3 and c31["n_seeds"] >= 10
    c30 = rec["claims"]["30"]
    assert c30["gelu_negative_modes_pre"] >= 0 and c30["relu_post_nonzero_share"] <= 1
    assert rec["context"]["split"] == "validation" and rec["context"]["wd_split"] == "test"


def test_the_gated_model_clamps_its_gate_before_the_silu(results):
    """roles.gated (smoke: the zoo's llama): negative gate pre-activations clamped at the headline percent."""
    cfg = CONFIG["smoke"]["negative"]
    t = pd.read_csv(results / "tables/NC-F4.csv")
    g = t[t["model"] == "llama"]
    assert g["percent"].tolist() == [float(cfg["percent"])] and (g["matrix"] == "gate").all()
    assert (g["activation"] == "silu").all() and g["clamp"].str.contains("before the SiLU").all()
    assert (t.loc[t["model"] == "neox-m", "matrix"] == "up").all()
    summary = json.loads(next((results / "negative").glob("llama/*/validation/clamp.p5.json")).read_text())
    assert summary["matrix"] == "gate" and summary["percents"]["5"]["neurons_total"] > 0
    rec = json.loads((results / "claims/NC-F4.json").read_text())
    gated = rec["by_model"]["llama"]
    assert sorted(gated) == ["30", "31"] and gated["31"]["model"] == "llama" and gated["31"]["matrix"] == "gate"
    assert gated["30"]["activation"] == "silu" and rec["claims"]["31"]["model"] == "neox-m"
    assert gated["31"]["baseline_ppl"] != rec["claims"]["31"]["baseline_ppl"]
    assert "llama" in (results / "tables/NC-F4.md").read_text()


def test_paper_dag_runs_one_gpu_clamp_job_per_percent():
    out = snakemake("-n", "--forceall", ITEM["target"], "--config", "scale=paper").stdout
    jobs = [line for line in out.splitlines() if "clamp.p" in line and "output:" in line]
    assert len(jobs) == len({*CONFIG["paper"]["negative"]["percents"], CONFIG["paper"]["negative"]["percent"]})
    assert "negative/pythia-1.4b/step143000/validation/clamp.p5.csv" in out
