import json
from pathlib import Path

import pytest
import yaml

from entangle.claims import VERDICTS, ClaimSpecError, claims_table, judge, write_claim_values

SPEC = yaml.safe_load((Path(__file__).parents[2] / "claims.yaml").read_text())["claims"]
CLAIM = {"text": "t", "item": "X-F1", "source": "X-F1", "criteria": [["rho", ">", 0.3], ["p", "<", 0.01]]}


def test_every_catalog_claim_has_a_well_formed_spec(tmp_path):
    assert sorted(SPEC) == list(range(1, 39))
    table = claims_table(SPEC, "mini", tmp_path)  # no item built: every claim judged, none reproduced
    assert list(table["claim"]) == list(range(1, 39))
    assert set(table["verdict"]) <= set(VERDICTS) and "reproduced" not in set(table["verdict"])
    assert table.loc[table["verdict"] != "reproduced", "reason"].str.len().gt(0).all()


def _values(tmp_path, **values):
    write_claim_values(tmp_path / "X-F1.json", "X-F1", "mini", {7: values})


def test_reproduced_only_when_every_criterion_holds(tmp_path):
    _values(tmp_path, rho=0.8, p=0.001)
    row = judge(7, CLAIM, "mini", tmp_path)
    assert row["verdict"] == "reproduced" and row["our_value"] == "rho = 0.8; p = 0.001"
    _values(tmp_path, rho=0.2, p=0.001)  # flip one value: the verdict flips
    assert judge(7, CLAIM, "mini", tmp_path)["verdict"] == "not reproduced"


def test_missing_item_null_value_and_scale_exclusions(tmp_path):
    assert judge(7, CLAIM, "mini", tmp_path)["verdict"] == "not yet built"
    _values(tmp_path, rho=None, p=0.001)
    row = judge(7, CLAIM, "mini", tmp_path)
    assert row["verdict"] == "not evaluable" and "not measurable" in row["reason"]
    _values(tmp_path, p=0.001)
    assert "has no value 'rho'" in judge(7, CLAIM, "mini", tmp_path)["reason"]
    excluded = {**CLAIM, "not_evaluable": {"mini": "needs the paper's models"}}
    assert judge(7, excluded, "mini", tmp_path)["reason"] == "needs the paper's models"


def test_values_can_come_from_another_item_and_nested_keys(tmp_path):
    _values(tmp_path, share={"gelu": 0.9})
    write_claim_values(tmp_path / "Y-F2.json", "Y-F2", "mini", {7: {"share": 0.1}})
    spec = {**CLAIM, "criteria": [["share.gelu", ">=", 0.8], ["Y-F2:share", "<=", 0.2]]}
    assert judge(7, spec, "mini", tmp_path)["verdict"] == "reproduced"
    json.dumps(judge(7, spec, "mini", tmp_path))


def test_malformed_criteria_are_rejected(tmp_path):
    with pytest.raises(ClaimSpecError, match="claim 7: criteria must be"):
        judge(7, {**CLAIM, "criteria": [["rho", "~", 1]]}, "mini", tmp_path)
