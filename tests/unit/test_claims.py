import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from entangle.bootstrap import Estimate, bootstrap, bootstrap_groups, draws, from_replicates, mean_over
from entangle.claims import (
    COLUMNS,
    VERDICTS,
    ClaimSpecError,
    Term,
    claims_table,
    criterion_verdict,
    judge,
    judge_rows,
    write_claim_values,
)

SPEC = yaml.safe_load((Path(__file__).parents[2] / "claims.yaml").read_text())["claims"]
CLAIM = {"text": "t", "item": "WD-X1", "source": "X-F1", "criteria": [["rho", ">", 0.3], ["p", "<", 0.01]]}


def est(value, lo, hi, unit="neurons"):
    return Estimate(value, lo, hi, unit, 1000)


# --- claims.yaml ------------------------------------------------------------------------------------------


def test_every_catalog_claim_has_a_well_formed_spec(tmp_path):
    assert sorted(SPEC) == list(range(1, 39))
    table = claims_table(SPEC, "mini", tmp_path)  # no item built: every claim judged, none reproduced
    assert list(table.columns) == COLUMNS
    assert list(table["claim"]) == list(range(1, 39))
    assert set(table["verdict"]) <= set(VERDICTS) and "reproduced" not in set(table["verdict"])
    assert table.loc[table["verdict"] != "reproduced", "reason"].str.len().gt(0).all()
    for claim, spec in SPEC.items():  # the discipline of the file: the paper's words and the history
        assert spec.get("quote") and spec.get("changed"), f"claim {claim} needs quote: and changed:"
        assert not spec.get("illustrative") or spec.get("population"), f"claim {claim}: illustrative needs population"
    assert {c for c, s in SPEC.items() if s.get("illustrative")} >= {32, 33, 38}  # 24: scored held out, a test
    for claim, spec in SPEC.items():  # whose row is primary at a scale with a pretrained LLM, and why
        assert spec.get("primary") in ("llm", "item") and spec.get("primary_reason"), f"claim {claim}: primary"


def test_the_primary_model_table_follows_claims_yaml():
    # docs/primary-models.md (README's "Primary model per claim at each scale") states each claim's decision
    lines = (Path(__file__).parents[2] / "docs" / "primary-models.md").read_text().splitlines()
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in lines if line[:3].strip("| ").isdigit()]
    assert [int(r[0]) for r in rows] == sorted(SPEC)
    for claim, _, real, primary, _ in rows:
        assert primary == SPEC[int(claim)]["primary"], claim
        assert "smollm2" in real or primary == "item", claim  # an llm claim names the LLM, if only as missing


# --- one criterion --------------------------------------------------------------------------------------


@pytest.mark.parametrize("op, threshold, interval, verdict", [
    (">", 0.3, (0.4, 0.5), "reproduced"),
    (">", 0.3, (0.2, 0.5), "inconclusive"),  # the interval straddles the threshold
    (">", 0.3, (0.1, 0.2), "not reproduced"),
    (">", 0.3, (0.3, 0.5), "inconclusive"),  # its lower end ties a strict threshold
    (">", 0.3, (0.1, 0.3), "inconclusive"),  # its upper end ties it
    (">", 0.0, (0.0, 0.0), "not reproduced"),  # every resample ties: a count of 0 is not "> 0"
    ("<", 0.0, (0.0, 0.0), "not reproduced"),
    (">=", 0.0, (0.0, 0.0), "reproduced"),
    (">=", 0.3, (0.3, 0.5), "reproduced"),
    ("<", 1.0, (0.5, 0.9), "reproduced"),
    ("<", 1.0, (0.9, 1.1), "inconclusive"),
    ("<=", 1.1, (1.05, 1.2), "inconclusive"),  # claim 8's 1.1016 with its interval
    ("<", 1.0, (1.1, 1.2), "not reproduced"),
    ("==", 1.0, (1.0, 1.0), "reproduced"),
    ("==", 1.0, (0.9, 1.0), "inconclusive"),
    ("==", 1.0, (0.5, 0.9), "not reproduced"),
])
def test_a_value_inside_the_interval_straddle_is_inconclusive(op, threshold, interval, verdict):
    value = (interval[0] + interval[1]) / 2
    assert criterion_verdict(Term({"value": value, "ci_low": interval[0], "ci_high": interval[1]}), op,
                             threshold) == verdict


def test_without_an_interval_a_tie_is_inconclusive_and_booleans_compare_equal():
    assert criterion_verdict(Term(0.3), ">", 0.3) == "inconclusive"
    assert criterion_verdict(Term(0.31), ">", 0.3) == "reproduced"
    assert criterion_verdict(Term(0.29), ">", 0.3) == "not reproduced"
    assert criterion_verdict(Term(True), "==", True) == "reproduced"
    assert criterion_verdict(Term(False), "==", True) == "not reproduced"


def test_the_interval_is_widened_to_hold_the_value():
    # a percentile interval can miss its point estimate; the verdict never ignores the value itself
    assert criterion_verdict(Term({"value": 0.25, "ci_low": 0.4, "ci_high": 0.5}), ">", 0.3) == "inconclusive"


# --- claims ----------------------------------------------------------------------------------------------


def _values(tmp_path, by_model=None, context=None, **values):
    write_claim_values(tmp_path / "X-F1.json", "X-F1", "mini", {7: values}, context=context, by_model=by_model)


def test_multi_criterion_claims_combine_four_ways(tmp_path):
    _values(tmp_path, rho=est(0.8, 0.7, 0.9), p=0.001)
    row = judge(7, CLAIM, "mini", tmp_path)
    assert row["verdict"] == "reproduced" and row["details"] == "rho = 0.8 [0.7, 0.9]; p = 0.001"
    assert (row["value"], row["ci_low"], row["ci_high"], row["unit"], row["resamples"]) == (
        "0.8", "0.7", "0.9", "neurons", "1000")
    _values(tmp_path, rho=est(0.4, 0.2, 0.6), p=0.001)  # one criterion straddles: inconclusive, with the reason
    row = judge(7, CLAIM, "mini", tmp_path)
    assert row["verdict"] == "inconclusive" and "straddles > 0.3" in row["reason"] and "neurons" in row["reason"]
    _values(tmp_path, rho=est(0.4, 0.2, 0.6), p=0.5)  # another fails outright: not reproduced
    assert judge(7, CLAIM, "mini", tmp_path)["verdict"] == "not reproduced"
    _values(tmp_path, rho=est(0.1, 0.0, 0.2), p=0.001)
    assert judge(7, CLAIM, "mini", tmp_path)["verdict"] == "not reproduced"


def test_missing_item_null_value_and_scale_exclusions(tmp_path):
    assert judge(7, CLAIM, "mini", tmp_path)["verdict"] == "not yet built"
    _values(tmp_path, rho=None, p=0.001)
    row = judge(7, CLAIM, "mini", tmp_path)
    assert row["verdict"] == "not evaluable" and "not measurable" in row["reason"] and "rho" in row["reason"]
    _values(tmp_path, rho=est(None, None, None), p=0.001)  # an estimate whose value is not measurable
    assert judge(7, CLAIM, "mini", tmp_path)["verdict"] == "not evaluable"
    _values(tmp_path, p=0.001)
    assert "has no value 'rho'" in judge(7, CLAIM, "mini", tmp_path)["reason"]
    excluded = {**CLAIM, "not_evaluable": {"mini": "needs the paper's models"}}
    assert judge(7, excluded, "mini", tmp_path)["reason"] == "needs the paper's models"


def test_values_can_come_from_another_item_and_nested_keys(tmp_path):
    _values(tmp_path, share={"gelu": 0.9})
    write_claim_values(tmp_path / "Y-F2.json", "Y-F2", "mini", {7: {"share": est(0.1, 0.05, 0.15)}})
    spec = {**CLAIM, "criteria": [["share.gelu", ">=", 0.8], ["Y-F2:share", "<=", 0.2]]}
    assert judge(7, spec, "mini", tmp_path)["verdict"] == "reproduced"
    json.dumps(judge(7, spec, "mini", tmp_path))


def test_malformed_criteria_are_rejected(tmp_path):
    with pytest.raises(ClaimSpecError, match="claim 7: criteria must be"):
        judge(7, {**CLAIM, "criteria": [["rho", "~", 1]]}, "mini", tmp_path)
    with pytest.raises(ClaimSpecError, match="report the contrast"):  # two measured values: a contrast, please
        judge(7, {**CLAIM, "criteria": [["a", ">", "b"]]}, "mini", tmp_path)


def test_a_claim_entry_can_name_its_own_model(tmp_path):
    _values(tmp_path, rho=0.8, p=0.001, model="llama", context={"model": "neox-m"})
    assert judge(7, CLAIM, "mini", tmp_path)["model"] == "llama"
    _values(tmp_path, rho=0.8, p=0.001, context={"models": ["neox-s", "neox-m"]})
    assert judge(7, CLAIM, "mini", tmp_path)["model"] == "neox-s,neox-m"


def test_rows_per_model_primary_first_from_a_synthetic_by_model_json(tmp_path):
    _values(tmp_path, rho=est(0.8, 0.7, 0.9), p=0.001, context={"model": "neox-m", "layer": 1},
            by_model={"smollm2": {7: {"rho": est(0.35, 0.2, 0.5), "p": 0.001}}, "other": {8: {"rho": 1.0}}})
    spec = {**CLAIM, "illustrative": True, "population": ["p", "missing"]}
    rows = judge_rows(7, spec, "real", tmp_path)
    assert [(r["model"], r["primary"], r["verdict"]) for r in rows] == [  # "other" has no claim 7
        ("neox-m", True, "shown (illustrative)"), ("smollm2", False, "inconclusive (illustrative)")]
    assert rows[0]["population"] == "p = 0.001; missing: not measured" and rows[1]["illustrative"]
    table = claims_table({7: spec, 8: {**CLAIM, "criteria": [["rho", ">", 0.3]]}}, "real", tmp_path)
    assert list(table.columns) == COLUMNS and list(table["claim"]) == [7, 7, 8, 8]
    assert list(table["primary"]) == ["true", "false", "true", "false"]
    assert table.loc[2, "verdict"] == "not evaluable" and "has no value" in table.loc[2, "reason"]
    assert table.loc[3, "model"] == "other" and table.loc[3, "verdict"] == "reproduced"
    assert table.loc[0, "paper"] == "WD" and table.loc[0, "scale"] == "real"
    path = tmp_path / "claims.csv"
    table.to_csv(path, index=False)
    text = path.read_text()
    assert "nan" not in text.lower().replace("not evaluable", "")
    assert pd.read_csv(path, keep_default_na=False)["ci_low"].tolist()[2:] == ["", ""]


def test_an_illustrative_claim_gets_its_own_verdict_words(tmp_path):
    spec = {**CLAIM, "illustrative": True, "population": ["p"]}
    for rho, plain, word in ((est(0.8, 0.7, 0.9), "reproduced", "shown (illustrative)"),
                             (est(0.1, 0.0, 0.2), "not reproduced", "not shown (illustrative)"),
                             (est(0.4, 0.2, 0.6), "inconclusive", "inconclusive (illustrative)")):
        _values(tmp_path, rho=rho, p=0.001)
        row = judge(7, spec, "mini", tmp_path)
        assert row["verdict"] == word and row["illustrative"] and row["population"] == "p = 0.001"
        assert judge(7, CLAIM, "mini", tmp_path)["verdict"] == plain  # the same values, not illustrative
    assert "straddles > 0.3" in row["reason"]  # the interval's reason stays
    _values(tmp_path, rho=None, p=0.001)
    assert judge(7, spec, "mini", tmp_path)["verdict"] == "not evaluable"
    assert {"shown (illustrative)", "not shown (illustrative)", "inconclusive (illustrative)"} <= set(VERDICTS)


def _two_models(tmp_path, smollm2=True):
    by_model = {"smollm2": {7: {"rho": est(0.62, 0.58, 0.65), "p": 0.001}}} if smollm2 else None
    _values(tmp_path, rho=est(-0.15, -0.29, -0.03), p=0.001, context={"model": "neox-m"}, by_model=by_model)


def test_the_llm_row_is_primary_only_where_the_scale_names_an_llm(tmp_path):
    _two_models(tmp_path)
    spec = {**CLAIM, "primary": "llm", "primary_reason": "stated of LLMs"}
    swapped = judge_rows(7, spec, "real", tmp_path, llm="smollm2")
    assert [(r["model"], r["primary"], r["verdict"]) for r in swapped] == [
        ("smollm2", True, "reproduced"), ("neox-m", False, "not reproduced")]
    assert swapped[0]["value"] == "0.62" and swapped[0]["reason"] == ""
    kept = judge_rows(7, spec, "mini", tmp_path)  # no llm role: the item's primary row, as before
    assert [(r["model"], r["primary"], r["verdict"]) for r in kept] == [
        ("neox-m", True, "not reproduced"), ("smollm2", False, "reproduced")]
    assert kept == judge_rows(7, CLAIM, "mini", tmp_path)  # the key changes nothing without the role
    item = {**spec, "primary": "item"}  # a claim that keeps the item's model even where the scale has an LLM
    assert [r["model"] for r in judge_rows(7, item, "real", tmp_path, llm="smollm2")] == ["neox-m", "smollm2"]
    table = claims_table({7: spec, 8: item}, "real", tmp_path, llm="smollm2")
    assert list(zip(table["claim"], table["model"], table["primary"])) == [
        (7, "smollm2", "true"), (7, "neox-m", "false"), (8, "neox-m", "true")]
    assert judge(7, spec, "real", tmp_path, llm="smollm2")["model"] == "smollm2"


def test_claims_yaml_decides_per_claim_whose_row_is_primary_at_real(tmp_path):
    # claim 2 (WD-MD correlation, stated of LLM neurons: primary llm) and claim 8 (needs checkpoints: item)
    write_claim_values(tmp_path / "WD-F2.json", "WD-F2", "real",
                       {2: {"spearman_wd_md": est(-0.15, -0.29, -0.03), "spearman_p": 0.02}},
                       context={"model": "neox-m"},
                       by_model={"smollm2": {2: {"spearman_wd_md": est(0.62, 0.58, 0.65), "spearman_p": 1e-90}}})
    write_claim_values(tmp_path / "WD-FA2.json", "WD-FA2", "real",
                       {8: {"update_ratio_wn_to_rest": est(1.0, 0.9, 1.05)}}, context={"model": "neox-m"},
                       by_model={"smollm2": {8: {"update_ratio_wn_to_rest": est(2.0, 1.8, 2.2)}}})
    spec = {2: SPEC[2], 8: SPEC[8]}
    real = claims_table(spec, "real", tmp_path, llm="smollm2")
    primary = real[real["primary"] == "true"].set_index("claim")
    assert primary.loc[2, "model"] == "smollm2" and primary.loc[2, "verdict"] == "reproduced"
    assert primary.loc[8, "model"] == "neox-m" and primary.loc[8, "verdict"] == "reproduced"
    plain = claims_table(spec, "real", tmp_path)  # a scale without the role: the items' own primary rows
    assert plain[plain["primary"] == "true"]["model"].tolist() == ["neox-m", "neox-m"]
    assert plain.loc[0, "verdict"] == "not reproduced"


def test_without_an_llm_row_the_item_row_stays_primary_and_says_why(tmp_path):
    spec = {**CLAIM, "primary": "llm", "primary_reason": "stated of LLMs"}
    _two_models(tmp_path, smollm2=False)
    (row,) = judge_rows(7, spec, "real", tmp_path, llm="smollm2")
    assert row["model"] == "neox-m" and row["primary"] and row["verdict"] == "not reproduced"
    assert "gives no smollm2 row" in row["reason"] and "X-F1" in row["reason"]
    _values(tmp_path, rho=est(0.4, 0.2, 0.6), p=0.001, context={"models": ["neox-m", "smollm2"]})
    (row,) = judge_rows(7, spec, "real", tmp_path, llm="smollm2")  # pooled over models: said, and the interval's why
    assert "straddles" in row["reason"] and "pools it with neox-m" in row["reason"]
    _values(tmp_path, rho=est(0.8, 0.7, 0.9), p=0.001, context={"model": "smollm2"})
    assert judge(7, spec, "real", tmp_path, llm="smollm2")["reason"] == ""  # the item's model is the LLM already
    assert judge(7, spec, "real", tmp_path / "absent", llm="smollm2")["verdict"] == "not yet built"
    with pytest.raises(ClaimSpecError, match="primary is 'zoo'"):
        judge(7, {**CLAIM, "primary": "zoo"}, "real", tmp_path)


# --- bootstrap ------------------------------------------------------------------------------------------


def test_bootstrap_is_seeded_and_covers_the_mean():
    x = np.random.default_rng(1).normal(2.0, 1.0, 400)
    a = bootstrap(np.mean, x, unit="windows")
    assert a == bootstrap(np.mean, x, unit="windows")  # seeded: the same interval twice
    assert a.ci_low < 2.0 < a.ci_high and a.resamples == 1000 and a.unit == "windows"
    half = (a.ci_high - a.ci_low) / 2
    assert half == pytest.approx(1.96 / np.sqrt(400), rel=0.15)  # the normal-theory width
    assert a.to_json()["ci_low"] == a.ci_low and a.to_json()["unit"] == "windows"


def test_paired_bootstrap_of_a_difference_is_tighter_than_unpaired():
    rng = np.random.default_rng(2)
    common = rng.normal(0, 1, 300)
    a, b = common + 0.1, common + rng.normal(0, 0.05, 300)
    paired = bootstrap(lambda u, v: np.mean(u - v), a, b, unit="windows")
    unpaired = bootstrap_groups(lambda u, v: np.mean(u) - np.mean(v), [a, b], unit="windows")
    assert paired.ci_low > 0  # the shared window effect cancels
    assert unpaired.ci_low < 0 < unpaired.ci_high
    assert (paired.ci_high - paired.ci_low) < (unpaired.ci_high - unpaired.ci_low) / 5


def test_degenerate_samples_have_no_interval():
    assert not bootstrap(np.mean, np.array([1.0]), unit="seeds").has_interval  # one unit: no sampling interval
    assert not bootstrap_groups(lambda a, b: a.mean() - b.mean(), [np.ones(5), np.ones(1)], unit="seeds").has_interval
    reps = np.r_[np.full(600, np.nan), np.arange(400.0)]
    assert not from_replicates(1.0, reps, "neurons", 10).has_interval  # most replicates undefined
    assert from_replicates(np.nan, np.arange(10.0), "neurons", 10).value is None


def test_vectorized_means_use_the_same_draws():
    x = np.random.default_rng(3).normal(size=(50, 2))
    fast = mean_over(x, resamples=20, seed=5)
    slow = np.stack([x[i].mean(0) for i in draws(50, 20, 5)])
    np.testing.assert_allclose(fast, slow)
