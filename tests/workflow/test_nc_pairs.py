"""NC-F2, F3, F5, F6 at smoke scale: files, tables, claim records; bad zscores settings stop with a clear message."""

import json

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.workflow.conftest import REPO, snakemake

pytestmark = [pytest.mark.workflow, pytest.mark.xdist_group("smoke")]  # share the session smoke run

ITEMS = yaml.safe_load((REPO / "items.yaml").read_text())["items"]
NC = ("NC-F2", "NC-F3", "NC-F5", "NC-F6")
CLAIMS = {"NC-F2": ["24", "25", "26"], "NC-F3": ["27", "28"], "NC-F5": ["27"], "NC-F6": ["26"]}
RECORD = ("model", "model_id", "revision", "dataset", "split", "tokens", "seed")


@pytest.fixture(scope="module")
def nc_results():
    snakemake("--cores", "2", "--nolock", *(ITEMS[i]["target"] for i in NC), "--config", "scale=smoke")
    return REPO / "results" / "smoke"


def test_items_have_their_files(nc_results):
    for item in NC:
        assert ITEMS[item]["rule"] == f"nc_fig{item[-1]}_analysis"
        for f in ITEMS[item]["outputs"]:
            assert (nc_results / f).stat().st_size > 0, f
        assert (nc_results / f"figures/{item}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_claim_records(nc_results):
    for item, claims in CLAIMS.items():
        rec = json.loads((nc_results / f"claims/{item}.json").read_text())
        assert rec["item"] == item and rec["scale"] == "smoke" and sorted(rec["claims"]) == claims
        assert rec["context"]["pairs"] == 1000 and rec["context"]["seed"] == 0
    f2 = json.loads((nc_results / "claims/NC-F2.json").read_text())
    assert f2["context"]["excluded_layers"] == [0] and f2["context"]["layers"] == [1, 2]
    assert 0 <= f2["claims"]["24"]["own_layer_highest"] <= f2["claims"]["24"]["source_layers"] == 2
    assert f2["claims"]["24"]["share_source_layers_own_highest"] is not None
    assert f2["claims"]["26"]["layers"] == 2 and f2["context"]["distinct_positions_in_pairs"] == 2000
    f3 = json.loads((nc_results / "claims/NC-F3.json").read_text())["claims"]
    assert f3["28"]["tokens"] == 20 and 0 <= f3["28"]["negative_tokens"] <= 20
    assert f3["27"]["top_dominated_share"] == pytest.approx(1 - f3["27"]["top_other_share"])


def test_claim_records_carry_the_stored_criteria_statistics(nc_results):
    spec = yaml.safe_load((REPO / "claims.yaml").read_text())["claims"]
    for claim in (24, 25, 26, 27, 28):
        rec = json.loads((nc_results / f"claims/{spec[claim]['source']}.json").read_text())["claims"][str(claim)]
        for a, _, b in spec[claim]["criteria"]:
            for term in (a, b):
                if isinstance(term, str) and ":" not in term:
                    assert rec.get(term) is not None, (claim, term)


def _primary(t):
    return t[t["model"] == "neox-m"]


def test_tables(nc_results):
    f2 = _primary(pd.read_csv(nc_results / "tables/NC-F2.csv"))
    a = f2[f2["panel"] == "a"]
    assert len(a) == 4 and len(f2[f2["panel"] == "b"]) == 2
    diag = a[a["source_layer"] == a["evaluated_layer"]]
    np.testing.assert_allclose(diag["normalized"], 1.0)  # normalize: divide
    f3 = _primary(pd.read_csv(nc_results / "tables/NC-F3.csv", keep_default_na=False))
    assert len(f3) == 10 and f3["rank"].tolist() == list(range(1, 11))
    assert f3["oi_ratio"].astype(float).is_monotonic_decreasing
    assert {"T1", "T2", "NT1", "NT2", "pre1", "pre2", "category1", "category2"} <= set(f3.columns)
    f5 = _primary(pd.read_csv(nc_results / "tables/NC-F5.csv", keep_default_na=False))
    assert f5["neuron"].nunique() == 4 and len(f5) == 20
    assert f3["neuron"].iloc[0] not in set(f5["neuron"])
    cats = _primary(pd.read_csv(nc_results / "tables/NC-F5.categories.csv"))
    for _, g in cats[cats["category"].isin(["case variant pair", "function word", "number", "punctuation", "other"])].groupby("set"):
        assert g["share"].sum() == pytest.approx(1.0)
    f6 = _primary(pd.read_csv(nc_results / "tables/NC-F6.csv"))
    assert len(f6) == 8 and set(f5["neuron"]) <= set(f6["neuron"])
    for t in (f2, f3, f5, f6):
        for column in RECORD:
            assert t[column].notna().all(), column


def test_the_gated_model_is_analysed_on_its_gate_projection(nc_results):
    """roles.gated (smoke: the zoo's llama): its gate projection's rows in every table, its claims under by_model."""
    expected = {"NC-F2": 6, "NC-F3": 10, "NC-F5": 20, "NC-F6": 8}  # as the GELU model's (3 layers, same settings)
    for item, rows in expected.items():
        t = pd.read_csv(nc_results / f"tables/{item}.csv", keep_default_na=False)
        assert list(dict.fromkeys(t["model"])) == ["neox-m", "llama"], item  # primary first
        g = t[t["model"] == "llama"]
        assert len(g) == rows and set(g["matrix"]) == {"gate"} and set(t.loc[t["model"] == "neox-m", "matrix"]) == {"up"}
        rec = json.loads((nc_results / f"claims/{item}.json").read_text())
        assert sorted(rec["by_model"]["llama"]) == CLAIMS[item] and rec["context"]["gated_model"] == "llama"
    cats = pd.read_csv(nc_results / "tables/NC-F5.categories.csv")
    assert set(cats["model"]) == {"neox-m", "llama"}
    spec = yaml.safe_load((REPO / "claims.yaml").read_text())["claims"]
    for claim in (24, 25, 26, 27, 28):  # the same criteria can be judged on the gated model's values
        rec = json.loads((nc_results / f"claims/{spec[claim]['source']}.json").read_text())["by_model"]["llama"]
        for a, _, b in spec[claim]["criteria"]:
            for term in (a, b):
                if isinstance(term, str) and ":" not in term:
                    assert term in rec[str(claim)], (claim, term)


def _override(tmp_path, settings):
    path = tmp_path / "override.yaml"
    path.write_text(yaml.safe_dump({"scales": {"smoke": {"zscores": settings}}}))
    return str(path)


@pytest.mark.parametrize("settings, message", [
    ({"layer": 9}, "zscores.layer = 9 is out of range: the model has layers 0..2"),
    ({"exclude_layers": [0, 5]}, "layer 5 is out of range: the model has layers 0..2"),
    ({"neuron": 5176}, "neuron 5176 is out of range: layer 1 has neurons 0..191"),
    ({"matrix": "gate"}, "gpt_neox has no matrix 'gate'; it has up, down"),
    ({"normalize": "scale"}, "zscores.normalize = 'scale' is not allowed; allowed values: divide, subtract, none"),
])
def test_bad_settings_stop_before_any_job(tmp_path, settings, message):
    proc = snakemake("-n", "--nolock", "nc_fig2", "--configfile", _override(tmp_path, settings),
                     "--config", "scale=smoke", check=False)
    assert proc.returncode != 0 and message in proc.stdout, proc.stdout[-2000:]


def test_too_few_tokens_for_the_pairs_fails_with_the_limit(tmp_path):
    # smoke captures 64 windows x 64 tokens = 4096 tokens, fewer than 2 x 3000
    proc = snakemake("--cores", "1", "--nolock", "nc_fig2", "--configfile", _override(tmp_path, {"pairs": 3000}),
                     "--config", "scale=smoke", check=False)
    assert proc.returncode != 0
    assert "need at least 2 x 3000 = 6000 tokens for 3000 disjoint pairs, got 4096 tokens" in proc.stdout
