"""End to end: `snakemake figures` at smoke scale produces well-formed, non-empty outputs."""

import pandas as pd
import pytest
import yaml

from tests.workflow.conftest import REPO

pytestmark = [pytest.mark.workflow, pytest.mark.xdist_group("smoke")]  # share the session smoke run
ITEMS = yaml.safe_load((REPO / "items.yaml").read_text())["items"]


def test_manifest_lists_every_item(smoke_results):
    manifest = pd.read_csv(smoke_results / "manifest.tsv", sep="\t")
    assert list(manifest["item"]) == list(ITEMS)
    assert set(manifest["status"]) <= {"built", "not yet built", "not evaluable"}
    for row in manifest.itertuples():
        if row.status == "built":
            files = row.files.split(",")
            assert files and all((REPO / f).stat().st_size > 0 for f in files)
        else:
            assert isinstance(row.reason, str) and row.reason


def test_zoo_models_beat_the_unigram_baseline(smoke_results):
    zoo = pd.read_csv(smoke_results / "tables" / "zoo.csv")
    assert len(zoo) == 6 and zoo["perplexity"].notna().all()
    assert (zoo["perplexity"] < zoo["unigram_perplexity"]).all()
    for column in ("model", "model_id", "revision", "dataset", "split", "tokens", "seed"):
        assert zoo[column].notna().all()


def test_outputs_are_well_formed(smoke_results):
    pngs = list(smoke_results.glob("figures/*.png"))
    csvs = list(smoke_results.glob("tables/*.csv"))
    assert pngs and csvs
    for png in pngs:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for table in csvs:
        assert len(pd.read_csv(table)) > 0
    assert not list(smoke_results.rglob(".*.tmp-*"))  # no half-written leftovers


def test_checkpoints_follow_the_schedule(smoke_results):
    from entangle.models.load import local_revisions

    revisions = local_revisions(smoke_results / "models" / "neox-m")
    assert revisions[:4] == ["step0", "step1", "step2", "step4"] and revisions[-1] == "step60"


def test_claims_table_has_every_claim_with_a_fixed_verdict(smoke_results):
    from entangle.claims import COLUMNS, VERDICTS

    claims = pd.read_csv(smoke_results / "claims.csv", dtype=str, keep_default_na=False)
    assert list(claims.columns) == COLUMNS  # the contract's columns, in order
    primary = claims[claims["primary"] == "true"]
    assert list(primary["claim"].astype(int)) == list(range(1, 39))
    assert set(claims["verdict"]) <= set(VERDICTS) - {"not yet built"}  # every claim is built at smoke
    unexplained = claims[claims["verdict"].isin(["not evaluable", "inconclusive"]) & (claims["reason"] == "")]
    assert unexplained.empty
    assert not claims.isin(["nan", "NaN", "None"]).any().any()
    with_interval = claims[claims["ci_low"] != ""]
    assert len(with_interval) >= 25 and (with_interval["unit"] != "").all()  # sampled values carry their interval
    lo, hi, v = (with_interval[c].astype(float) for c in ("ci_low", "ci_high", "value"))
    assert ((lo <= v) & (v <= hi)).all()


def test_the_gated_model_has_its_own_claim_rows(smoke_results):
    """roles.gated (smoke: the zoo's llama, its gate projection): a non-primary row per claim it is analysed for."""
    claims = pd.read_csv(smoke_results / "claims.csv", dtype=str, keep_default_na=False)
    gated = claims[claims["primary"] == "false"]
    assert {2, 3, 4, 24, 25, 26, 27, 28, 30, 31} <= set(gated.loc[gated["model"] == "llama", "claim"].astype(int))
    first = claims.groupby("claim", sort=False)["primary"].first()
    assert (first == "true").all()  # the primary (GELU) row first within a claim
    assert set(claims.loc[claims["primary"] == "true"].query("claim in ['2', '31']")["model"]) == {"neox-m"}


def test_report_notebooks_ran_without_tracebacks(smoke_results):
    import json

    for name in ("index", "WD", "NC", "NE"):
        notebook = json.loads((smoke_results / "reports" / f"{name}.ipynb").read_text())
        errors = [o for c in notebook["cells"] for o in c.get("outputs", []) if o.get("output_type") == "error"]
        assert not errors, f"{name}.ipynb: {errors[0]['ename']}: {errors[0]['evalue']}"
        assert (smoke_results / "reports" / f"{name}.html").stat().st_size > 10_000
