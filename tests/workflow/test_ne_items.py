"""The NE paper's items at smoke scale: tables, figures and claim records are built and well formed."""

import json

import pandas as pd
import pytest
import yaml

from tests.workflow.conftest import REPO, snakemake

pytestmark = [pytest.mark.workflow, pytest.mark.xdist_group("smoke")]  # share the session smoke run

ITEMS = yaml.safe_load((REPO / "items.yaml").read_text())["items"]
NE = [i for i, item in ITEMS.items() if item["paper"] == "NE" and i != "NE-F1"]
FILES = {"NE-T1": ["tables/NE-T1.csv", "tables/NE-T1.md", "claims/NE-T1.json"],
         "NE-T2": ["tables/NE-T2.csv", "tables/NE-T2.md", "claims/NE-T2.json"],
         "NE-T3": ["tables/NE-T3.csv", "tables/NE-T3.md", "claims/NE-T3.json"],
         **{f"NE-F{k}": [f"figures/NE-F{k}.png", f"figures/NE-F{k}.pdf", f"claims/NE-F{k}.json"] for k in (2, 3, 4, 5)}}
CLAIMS = {"NE-T1": ["34"], "NE-T2": ["35"], "NE-T3": ["36", "37"], "NE-F2": ["32"], "NE-F3": ["33"],
          "NE-F4": ["34"], "NE-F5": ["38"]}


@pytest.fixture(scope="module")
def ne_results():
    """Build every NE item at smoke scale: by target once items.yaml lists its outputs, else by file."""
    targets = []
    for item_id in FILES:
        item = ITEMS[item_id]
        targets += [item["target"]] if item.get("outputs") else [f"results/smoke/{f}" for f in FILES[item_id]]
    snakemake("--cores", "2", *targets, "--config", "scale=smoke")
    return REPO / "results" / "smoke"


def test_every_ne_item_has_its_files(ne_results):
    assert set(NE) == set(FILES)
    for item_id, files in FILES.items():
        for f in files:
            assert (ne_results / f).stat().st_size > 0, f
        png = ne_results / f"figures/{item_id}.png"
        if png.exists():
            assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        if ITEMS[item_id].get("outputs"):
            assert set(ITEMS[item_id]["outputs"]) >= {f for f in files if not f.startswith("claims/")}


def test_claim_records(ne_results):
    for item_id, claims in CLAIMS.items():
        rec = json.loads((ne_results / f"claims/{item_id}.json").read_text())
        assert rec["item"] == item_id and rec["scale"] == "smoke"
        assert sorted(rec["claims"]) == claims
    t2 = json.loads((ne_results / "claims/NE-T2.json").read_text())["claims"]["35"]
    for m in ("mse", "l1", "l0_pct", "acc_loss"):
        assert t2[m]["standard"] is not None and t2[m]["ne"] is not None and m in t2["direction_holds"]
    t1 = json.loads((ne_results / "claims/NE-T1.json").read_text())["claims"]["34"]
    assert t1["paper"] == {"pre_mlp_intra": 0.31, "pre_mlp_inter": 0.63, "neuron_intra": 0.21, "neuron_inter": 0.73}
    assert t1["measured"]["neuron_intra_median"] is not None
    f5 = json.loads((ne_results / "claims/NE-F5.json").read_text())["claims"]["38"]
    assert len(f5["logit_effects"]) == 10 and f5["n_active_test"] >= 1


def test_t1_table(ne_results):
    t1 = pd.read_csv(ne_results / "tables/NE-T1.csv")
    overall = t1[t1["layer"] == "all"].set_index("embedding")
    assert list(overall.index) == ["Pre-MLP", "Neuron"]
    assert overall.loc["Neuron", "paper_intra"] == 0.21 and overall.loc["Pre-MLP", "paper_inter"] == 0.63
    assert overall["neurons_analysed"].gt(0).all()
    assert overall[["intra_mean", "intra_median"]].apply(lambda s: s.between(0, 2)).all().all()
    for column in ("model", "model_id", "revision", "dataset", "split", "tokens", "seed"):
        assert t1[column].notna().all()


def test_sae_tables(ne_results):
    t2, t3 = pd.read_csv(ne_results / "tables/NE-T2.csv"), pd.read_csv(ne_results / "tables/NE-T3.csv")
    for t, metrics in ((t2, ("mse", "l1", "l0_pct", "acc_loss")), (t3, ("max_dist", "mean_dist", "size", "dead_pct"))):
        assert list(t["variant"]) == ["Standard", "+ NE Loss"]
        for m in metrics:
            assert t[f"{m}_mean"].notna().all() and f"{m}_sem" in t and t[f"paper_{m}"].notna().all()
        assert (t["dataset"] == "digits").all() and (t["split"] == "test").all() and t["seeds"].notna().all()
    assert t2.loc[0, "paper_mse"] == 0.33 and t3.loc[1, "paper_dead_pct"] == 3.7
    assert "±" in (ne_results / "tables/NE-T2.md").read_text() or t2["n_seeds"].iloc[0] == 1
