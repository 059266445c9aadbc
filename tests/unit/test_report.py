"""The report pages (entangle.report) on synthetic results: contract columns and old ones, no "nan" anywhere,
row caps, anchors for every item, one column per scale; the rendered notebooks are checked in
tests/workflow/test_reports.py."""

import json
import re

import numpy as np
import pandas as pd
import pytest

from entangle.report import claimsfile, pages, scales, summary
from entangle.report.claimsfile import COLUMNS, ClaimsFileError, read_claims, verdict_counts
from entangle.report.summary import SUMMARY_ROWS, summarize
from entangle.report.html import badge
from tests.report_fixture import CONTRACT, ITEMS, NOT_BUILT_ITEM, REPO, Page, claims_rows, make_results

NAN = re.compile(r"\bnan\b", re.IGNORECASE)
PAPERS = ("WD", "NC", "NE")


@pytest.fixture
def results(tmp_path):
    return make_results(tmp_path, "mini")


def test_contract_columns_match_the_fixture():
    assert tuple(COLUMNS) == CONTRACT


def test_read_claims_gives_contract_columns_and_no_nan(results):
    claims = read_claims(results / "claims.csv")
    assert list(claims.columns) == list(COLUMNS)
    text = claims.drop(columns=["claim", "primary", "illustrative"])
    assert not text.map(lambda v: bool(NAN.search(v))).any().any()  # a literal "nan" reason reads as empty
    assert claims["primary"].dtype == bool and claims.loc[~claims["primary"], "model"].eq("smollm2").all()
    assert claims.loc[claims["claim"] == 24, "illustrative"].all()


def test_an_old_claims_csv_reads_as_the_contract(tmp_path):
    results = make_results(tmp_path, "smoke", old_columns=True)
    raw = pd.read_csv(results / "claims.csv")
    assert "our_value" in raw and "value" not in raw
    claims = read_claims(results / "claims.csv")
    assert list(claims.columns) == list(COLUMNS)
    row = claims[claims["claim"] == 2].iloc[0]
    assert row["paper"] == "WD" and row["primary"] and row["details"].startswith(row["statistic"])
    assert row["details"].startswith("spearman_wd_md = 0.212346 [0.15, 0.27];")
    assert row["value"] == "0.212346"  # the first measured term, without its interval
    assert (claims["ci_low"] == "").all() and (claims["unit"] == "").all()


def test_read_claims_names_the_problem(tmp_path):
    with pytest.raises(ClaimsFileError, match="does not exist.*snakemake claims"):
        read_claims(tmp_path / "claims.csv")
    (tmp_path / "claims.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ClaimsFileError, match="lacks the column"):
        read_claims(tmp_path / "claims.csv")


def test_verdict_counts_use_primary_rows(results):
    counts = verdict_counts(read_claims(results / "claims.csv"))
    assert list(counts.index) == [*PAPERS, "total"]
    assert list(counts.columns) == ["reproduced", "not reproduced", "inconclusive", "shown (illustrative)",
                                    "inconclusive (illustrative)", "not evaluable", "not yet built"]
    assert counts.loc["total"].sum() == 38  # further models' rows do not count
    assert counts.loc[list(PAPERS)].sum().equals(counts.loc["total"])
    # illustrative claims (24: reproduced by its criteria, 32 and 38: inconclusive) are counted apart
    assert counts.loc["NC", "shown (illustrative)"] == 1 and counts.loc["NE", "inconclusive (illustrative)"] == 2


def test_an_illustrative_claim_never_reads_as_reproduced(tmp_path):
    rows = claims_rows("mini")
    frame = pd.DataFrame(rows)
    (tmp_path / "claims.csv").write_text(frame.to_csv(index=False))
    claims = read_claims(tmp_path / "claims.csv")  # a file judged before the verdict word: read with it
    assert claims.loc[claims["claim"] == 24, "verdict"].tolist() == ["shown (illustrative)", "not shown (illustrative)"]
    plain = ["reproduced", "not reproduced", "inconclusive"]
    assert not claims.loc[claims["illustrative"], "verdict"].isin(plain).any()
    frame["verdict"] = claims["verdict"]  # as entangle.claims now writes it: read unchanged
    (tmp_path / "claims.csv").write_text(frame.to_csv(index=False))
    assert read_claims(tmp_path / "claims.csv").equals(claims)
    assert badge("shown (illustrative)").startswith('<span class="badge ok ill"')  # its own badge, dashed


def test_the_index_names_the_primary_model_and_counts_its_verdict(results):
    before = verdict_counts(read_claims(results / "claims.csv"))
    claims = pd.read_csv(results / "claims.csv", dtype=str, keep_default_na=False)
    four = claims["claim"] == "4"  # reproduced on neox-m; the real LLM's row, inconclusive, made primary
    claims.loc[four, "primary"] = claims.loc[four, "model"].map({"smollm2": "true", "neox-m": "false"})
    claims.loc[four & (claims["model"] == "smollm2"), "verdict"] = "inconclusive"
    claims.to_csv(results / "claims.csv", index=False)
    page = Page(pages.index_claims(results))
    (row,) = [r for table in page.tables for r in table[1:] if r[0] == "4"]
    assert "model: smollm2" in row[3] and row[4].startswith("inconclusive") and "neox-m reproduced" in row[-1]
    assert "model: neox-m" in [r for table in page.tables for r in table[1:] if r[0] == "1"][0][3]
    after = verdict_counts(read_claims(results / "claims.csv"))
    assert after.loc["WD", "reproduced"] == before.loc["WD", "reproduced"] - 1
    assert after.loc["WD", "inconclusive"] == before.loc["WD", "inconclusive"] + 1


def test_summaries_never_exceed_the_cap_and_fall_back_on_unknown_tables():
    rng = np.random.default_rng(0)
    wd = pd.DataFrame({"model": "m", "neuron": np.arange(200), "wd": rng.random(200), "md": rng.random(200)})
    const, [top] = summarize("WD-F2", wd)
    assert const == {"model": "m"} and len(top.frame) == 14 and top.gap_before == 7
    assert top.frame["wd"].iloc[0] == wd["wd"].max() and top.frame["wd"].iloc[-1] == wd["wd"].min()
    _, [other] = summarize("XX-F1", pd.DataFrame({"a": range(100), "b": 1.5}))
    assert len(other.frame) == SUMMARY_ROWS and "first 15 of 100" in other.note
    broken = pd.DataFrame({"no_wd_column": range(40), "x": range(40)})  # WD-F2's summary cannot apply
    _, [fallback] = summarize("WD-F2", broken)
    assert len(fallback.frame) == SUMMARY_ROWS
    short = pd.DataFrame({"a": [1, 2], "b": [3.0, np.nan]})
    assert summarize("WD-F2", short)[1][0].frame.shape == (2, 2)


def test_every_item_table_summary_fits(results):
    for item_id in ITEMS:
        page = Page(pages.item_section(item_id, results))
        assert all(n <= SUMMARY_ROWS for n in page.body_rows), item_id
        assert not [c for c in page.cells() if NAN.search(c)], item_id


def test_item_section_has_anchor_claims_settings_figure_and_links(results):
    section = pages.item_section("WD-F2", results)
    page = Page(section)
    assert "WD-F2" in page.ids
    claims_table = page.tables[0]
    assert [r[0] for r in claims_table[1:]] == ["1", "2", "3"]
    assert "../tables/WD-F2.csv" in page.hrefs and "../figures/WD-F2.png" in page.hrefs
    assert 'class="settings"' in section and "dicts are not settings" not in section
    assert "data:image/png;base64," in section
    assert "the 7 highest and 7 lowest wd of 300 rows" in section
    wide = pages.item_section("WD-F7", results)
    assert '<div class="scroll"><table' in wide  # wide tables scroll in their own box


def test_index_links_every_item_and_shows_badges(results):
    fragments = (pages.index_header(results, "mini") + pages.index_claims(results) + pages.index_items(results))
    page = Page(fragments)
    for item_id, item in ITEMS.items():
        assert f"{item['paper']}.html#{item_id}" in page.hrefs, item_id
    assert {f"claim-{c}" for c in range(1, 39)} <= page.ids
    assert not [c for c in page.cells() if NAN.search(c)]
    for verdict, cls in (("reproduced", "ok"), ("not reproduced", "bad"), ("inconclusive", "mid"),
                         ("not evaluable", "na")):
        assert f'<span class="badge {cls}"' in fragments, verdict
    assert "0.1123</span> <span class=\"ci\"" in fragments and "[0.05, 0.17]" in fragments  # claim 1
    assert "95% CI over neurons, 1000 resamples" in fragments
    assert "illustrative" in fragments and "share of neurons with 2+ clusters" in fragments
    counts, *claims = page.tables[:4]
    assert [r[0] for r in counts[1:]] == [*PAPERS, "total"]
    for paper, table in zip(PAPERS, claims):
        ids = sorted({int(r[0]) for r in table[1:]})
        assert ids == sorted(c for c, s in pages.read_claims(results / "claims.csv")
                             .drop_duplicates("claim")[["claim", "paper"]].values if s == paper)
        assert table[0][-1] == "other models"  # the further model's rows go in a column, not extra rows


def test_paper_header_contents_lists_every_item(results):
    page = Page(pages.paper_header("NE", results, "mini"))
    assert [h for h in page.hrefs if h.startswith("#")] == [f"#{i}" for i, it in ITEMS.items() if it["paper"] == "NE"]
    assert NOT_BUILT_ITEM in pages.paper_header("NE", results, "mini")


def test_notebooks_show_every_item_of_their_paper_in_registry_order():
    for paper in PAPERS:
        notebook = json.loads((REPO / "notebooks" / f"{paper}.ipynb").read_text())
        sources = ["".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code"]
        shown = [m.group(1) for s in sources for m in re.finditer(r'show_item\("([^"]+)"', s)]
        assert shown == [i for i, it in ITEMS.items() if it["paper"] == paper]
        assert any("parameters" in c["metadata"].get("tags", []) for c in notebook["cells"])


def test_cross_scale_has_one_column_per_scale_with_results(tmp_path):
    for scale in ("paper", "smoke", "mini"):
        make_results(tmp_path, scale, further_model=None if scale == "smoke" else "smollm2",
                     old_columns=scale == "smoke")
    (tmp_path / "mini" / "reports" / "index.html").write_text("<html></html>")
    files = scales.claims_files(tmp_path, current=tmp_path / "real" / "claims.csv")
    assert [f.split("/")[-2] for f in files] == ["smoke", "mini", "real", "paper"]  # real: built by this run
    files = [f for f in files if "/real/" not in f]
    long = scales.write(files, tmp_path / "scales.csv", tmp_path / "scales.md", tmp_path / "scales.html")
    page = Page((tmp_path / "scales.html").read_text())
    counts, *claims = page.tables
    assert [r[0] for r in counts[1:]] == ["smoke", "mini", "paper"]
    for table in claims:
        assert table[0][3:] == ["smoke", "mini", "paper"]
        assert len(table) - 1 <= 21
    assert "mini/reports/index.html" in page.hrefs and "smoke/reports/index.html" not in page.hrefs
    assert not [c for c in page.cells() if NAN.search(c)]
    tidy = pd.read_csv(tmp_path / "scales.csv", keep_default_na=False)
    assert set(tidy["scale"]) == {"smoke", "mini", "paper"} and len(tidy) == len(long)
    markdown = (tmp_path / "scales.md").read_text()
    assert "| # | claim | item | smoke | mini | paper |" in markdown and not NAN.search(markdown)


def test_cross_scale_needs_a_claims_file():
    with pytest.raises(ValueError, match="no claims.csv"):
        scales.collect([])


def test_blank_and_fmt():
    from entangle.report.html import fmt

    assert [claimsfile.blank(v) for v in (None, float("nan"), "nan", " NaN ", "x")] == ["", "", "", "", "x"]
    assert [fmt(v) for v in ("0.0294312", "4096", "4096.0", "True", "", "1e-08", float("nan"), "2:4")] == \
        ["0.02943", "4096", "4096", "true", "", "1e-08", "", "2:4"]


def _long_tables() -> dict:
    """Item tables as long as they get at mini/paper scale, with the columns the items write (smoke's CSVs)."""
    rng = np.random.default_rng(1)
    steps = [0, 1, 2, 4, 8, 16, 32, 64, 128, 200, 400, 600, 800]
    sparsities = ["0.5", "0.6", "0.7", "0.8", "0.9", "2:4"]
    methods = [("dense", None), ("magnitude", None), ("wanda", None), ("sparsegpt", None), ("sparse_expansion", 16)]
    return {
        "WD-F2": pd.DataFrame({"model": "m", "neuron": range(1024), "wd": rng.random(1024), "md": rng.random(1024)}),
        "WD-F3": pd.DataFrame([{"selection": sel, "method": m, "sparsity": s, "perplexity": rng.random()}
                               for sel in ["wd", "mean", "variance", "magnitude"] + [f"random{i}" for i in range(5)]
                               for m in (["sparsegpt", "sparse_expansion"] if sel == "wd" else ["sparsegpt"])
                               for s in (0.5, 0.7, 0.9, 0.95)]),
        "WD-F5": pd.DataFrame([{"panel": p, "model": "m", "method": "se16", "sparsity": 0.9, "measure": f"{q}_{w}",
                                "neuron": n, "value": rng.random()} for p, q in (("b", "wd"), ("c", "md"))
                               for w in ("before", "after") for n in range(13)]),
        "WD-F8": pd.DataFrame([{"layer": layer, "kind": "cluster", "cluster": c, "pca_components": rng.integers(2, 9),
                                "rmse_expert": rng.random(), "rmse_sparsegpt": rng.random(), "improvement": rng.random()}
                               for layer in range(6) for c in range(16)]
                              + [{"kind": "fit", "panel": "b", "y": "rmse_expert", "slope": 0.3, "r2": 0.5}]),
        "WD-TA": pd.DataFrame([{"model": mo, "method": m, "k": k, "sparsity": "0" if m == "dense" else s,
                                "perplexity": rng.random()} for mo in ("neox-m", "llama") for m, k in methods
                               for s in (["0"] if m == "dense" else sparsities)]),
        "WD-FA1": pd.DataFrame([{"model": mo, "layer": layer, "max_over_median": rng.random()}
                                for mo in ("neox-m", "opt", "llama") for layer in range(6)]),
        "WD-FA2": pd.DataFrame({"revision": [f"step{s}" for s in steps * 2], "step": steps * 2,
                                "wd_wn_mean": rng.random(26)}),
        "NC-F1": pd.DataFrame([{"model": mo, "step": s, "wd_mean": rng.random()} for mo in ("s", "m", "l")
                               for s in steps]),
        "NC-F2": pd.DataFrame([{"panel": p, "statistic": st, "source_layer": a, "evaluated_layer": b,
                                "mean": rng.random()} for p, st in (("a", "oi_ratio_z"), ("b", "input_distance_z"))
                               for a in range(1, 6) for b in range(1, 6) if p == "a" or a == b]),
        "NC-F5": pd.DataFrame([{"neuron": n, "rank": r, "oi_ratio": rng.random()} for n in (3, 5, 7, 9)
                               for r in range(1, 6)]),
        "NC-F5.categories": pd.DataFrame([{"set": s, "category": c, "share": rng.random()}
                                          for s in ("table", "layer_pool", "random") for c in "abcdefg"]),
        "NC-F7": pd.DataFrame({"rank": range(1, 26), "neuron": range(25), "wd": rng.random(25)}),
    }


def test_long_item_tables_get_their_own_summary_within_the_cap():
    for stem, frame in _long_tables().items():
        assert len(frame) > SUMMARY_ROWS and stem in summary.SPECS, stem
        _, shown = summarize(stem, frame)
        for s in shown:
            assert "file order" not in s.note and "shown" not in s.note, (stem, s.note)  # no fallback, no cut
            assert 0 < len(s.frame) <= SUMMARY_ROWS, stem
    pivot = summarize("WD-TA", _long_tables()["WD-TA"])[1][0].frame
    assert list(pivot.columns) == ["model", "method", "k", "0", *["0.5", "0.6", "0.7", "0.8", "0.9", "2:4"]]
    assert len(pivot) == 10  # the paper's table: model x method rows, sparsity columns


def test_two_model_disentanglement_tables_summarize_every_model():
    """WD-F5, F8, FA4b with the gated model's rows beside the GELU model's: each model keeps its own rows."""
    rng = np.random.default_rng(1)
    f5 = pd.DataFrame([{"panel": "a", "model": "l", "method": m, "sparsity": s, "measure": "perplexity",
                        "value": rng.random()} for m, s in (("dense", "0"), ("sparsegpt", "0.9"),
                                                            ("sparse_expansion", "0.9"))]
                      + [{"panel": p, "model": mo, "method": "se16", "sparsity": "0.9", "measure": f"{q}_{w}",
                          "neuron": n, "value": rng.random()}
                         for mo, panels in (("g", "bc"), ("l", "de")) for p, q in zip(panels, ("wd", "md"))
                         for w in ("before", "after", "after_dense", "after_random", "after_own") for n in range(7)])
    shown = summarize("WD-F5", f5)[1]
    assert [len(s.frame) for s in shown] == [3, 10, 10]
    assert all("shown" not in s.note for s in shown)
    f8 = pd.DataFrame([{"model": mo, "layer": layer, "kind": "cluster", "cluster": c, "pca_components": 3,
                        "rmse_expert": rng.random(), "rmse_sparsegpt": rng.random(), "improvement": rng.random()}
                       for mo, layers in (("g", range(3)), ("l", [1])) for layer in layers for c in range(16)]
                      + [{"model": mo, "kind": "fit", "panel": p, "y": "rmse_expert", "slope": 0.3, "r2": 0.5}
                         for mo, p in (("g", "b"), ("l", "d"))])
    fits, per_layer = (s.frame for s in summarize("WD-F8", f8)[1])
    assert len(fits) == 2 and list(per_layer["layer"]) == [0, 1, 2, 1] and list(per_layer["clusters"]) == [16] * 4
    fa4b = pd.DataFrame([{"model": mo, "sparsity": s / 10, "wn_over_layer": rng.random()}
                         for mo in ("g", "l") for s in range(1, 11)])
    rows = summarize("WD-FA4b", fa4b)[1][0].frame
    assert len(rows) <= 15 and set(rows["model"]) == {"g", "l"} and {0.1, 1.0} <= set(rows["sparsity"])
