"""The sparsification items (WD-TA, WD-F9, WD-FA3, WD-V1) at smoke scale, and their bad-config errors."""

import json

import pandas as pd
import pytest
import yaml

from entangle.config import scale_settings
from entangle.sparsify.sparsity import Sparsity
from tests.workflow.conftest import REPO, snakemake

pytestmark = [pytest.mark.workflow, pytest.mark.xdist_group("smoke")]  # share the session smoke run

ITEMS = yaml.safe_load((REPO / "items.yaml").read_text())["items"]
SETTINGS = scale_settings(yaml.safe_load((REPO / "config.yaml").read_text()), "smoke")
SMOKE, TIES = SETTINGS["sparsify"], SETTINGS["prune_ties"]
OURS = {"WD-TA": "19", "WD-F9": "19", "WD-FA3": "20", "WD-V1": "21"}


@pytest.fixture(scope="module")
def results():
    snakemake("--cores", "2", *(ITEMS[i]["target"] for i in OURS), "--config", "scale=smoke")
    return REPO / "results" / "smoke"


def test_items_have_their_files(results):
    for item_id, claim in OURS.items():
        for f in ITEMS[item_id]["outputs"]:
            assert (results / f).stat().st_size > 0, f
            if f.endswith(".png"):
                assert (results / f).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        rec = json.loads((results / f"claims/{item_id}.json").read_text())
        assert rec["item"] == item_id and rec["scale"] == "smoke" and list(rec["claims"]) == [claim]


def test_perplexity_table(results):
    tidy = pd.read_csv(results / "tables/WD-TA.csv", dtype={"sparsity": str})
    sparsities = [str(Sparsity.parse(s)) for s in SMOKE["sparsities"]]
    assert list(dict.fromkeys(tidy.model)) == SMOKE["models"]
    for model, g in tidy.groupby("model"):
        assert (g.method == "dense").sum() == 1
        for method in SMOKE["methods"]:
            assert sorted(g[g.method == method].sparsity) == sorted(sparsities), (model, method)
    pruned = tidy[tidy.method != "dense"]
    assert (pruned.ffn_sparsity - pruned.sparsity_ratio).abs().max() < 0.02
    assert (tidy.ties == TIES).all()
    if TIES == "exact":  # every matrix (every expert) pruned to floor(s * n) weights, n = the method's group
        assert (pruned.matrix_sparsity_max <= pruned.sparsity_ratio + 1e-9).all()
        assert (pruned.sparsity_ratio - pruned.matrix_sparsity_min).max() < 0.03  # Wanda: floor per row of 48
    else:  # as the references define it: Wanda prunes int(d_in * s) per row (slightly below s), the others
        # int(numel * s) + 1 per matrix or per 128-column block (slightly above)
        others = pruned[pruned.method != "wanda"]
        assert (others.ffn_sparsity >= others.sparsity_ratio - 1e-9).all()
    for col in ("model_id", "revision", "dataset", "split", "tokens", "seed", "calibration_windows"):
        assert tidy[col].notna().all(), col
    md = (results / "tables/WD-TA.md").read_text()
    assert "| model | dense |" in md and f"SE K={SMOKE['expansion']['num_clusters']} 2:4" in md
    claim = json.loads((results / "claims/WD-TA.json").read_text())["claims"]["19"]
    assert 0 <= claim["se_best_share"] <= 1 and isinstance(claim["se_best_everywhere"], bool)


def test_experts_sweep_starts_at_sparsegpt(results):
    table = pd.read_csv(results / "tables/WD-FA3.csv")
    se = table[table.method == "sparse_expansion"].sort_values("k")
    assert sorted(se.k.astype(int)) == sorted(SMOKE["experts"]["ks"])
    sgpt = table[table.method == "sparsegpt"].perplexity.iloc[0]
    assert se.perplexity.iloc[0] == sgpt  # K=1 is SparseGPT, bit for bit
    claim = json.loads((results / "claims/WD-FA3.json").read_text())["claims"]["20"]
    assert claim["k1_minus_sparsegpt_ppl"] == 0
    assert isinstance(claim["monotone_decreasing"], bool)


def test_flop_matched_table(results):
    table = pd.read_csv(results / "tables/WD-V1.csv")
    unstructured = [s for s in SMOKE["sparsities"] if ":" not in str(s)]
    assert len(table) == len(SMOKE["flop_matched"]["models"]) * len(unstructured) * len(SMOKE["flop_matched"]["ks"])
    ratio = table.se_nonzeros_per_token / table.baseline_nonzeros_per_token
    assert ratio.between(0.99, 1.01).all()  # equal non-zero FFN weights per token
    assert (table.router_overhead > 0).all()
    claim = json.loads((results / "claims/WD-V1.json").read_text())["claims"]["21"]
    assert claim["k_max"] == max(SMOKE["flop_matched"]["ks"]) and claim["inference_speedup"] is None


@pytest.mark.parametrize("key, value, message", [
    ("sparsities", ["0.7", "1.0"], "sparsify.sparsities[1]"),
    ("sparsities", ["0.7", "4:2"], "0 < N <= M"),
    ("sparsities", ["0.7", "2:5"], "divisible by M=5"),
    ("expansion", {"num_clusters": 100000, "pca_factor": 32, "n_init": 3}, "larger than its"),
    ("experts", {"model": "nope", "sparsity": "0.7", "ks": [1, 2]}, "is not a model of this scale"),
])
def test_bad_sparsify_config_stops_before_any_job(tmp_path, key, value, message):
    raw = yaml.safe_load((REPO / "config.yaml").read_text())
    raw["scales"]["smoke"]["sparsify"][key] = value
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump(raw))
    proc = snakemake("-n", "--nolock", "wd_table_ppl", "--configfile", str(cfg), "--config", "scale=smoke",
                     check=False)
    assert proc.returncode != 0 and message in proc.stdout, proc.stdout[-2000:]
