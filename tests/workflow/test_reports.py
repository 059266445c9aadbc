"""The rendered reports (papermill + nbconvert HTML), parsed as a reader's browser would get them: no cell reads
"nan", every table within its stated row cap, an anchor for every item of a paper that the index links to,
and the cross-scale page with one column per scale that has results. Once on the smoke run's reports, once on
synthetic results in the contract's claims.csv columns (intervals, further models, illustrative claims)."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from entangle.report.scales import order_scales
from entangle.report.summary import SUMMARY_ROWS
from tests.report_fixture import ITEMS, Page, make_results
from tests.workflow.conftest import REPO

pytestmark = [pytest.mark.workflow, pytest.mark.xdist_group("smoke")]  # share the session smoke run
NAN = re.compile(r"\bnan\b", re.IGNORECASE)
PAPERS = ("WD", "NC", "NE")
CLAIMS = yaml.safe_load((REPO / "claims.yaml").read_text())["claims"]
# An index table has one row per claim or item of one paper, or one per paper (+ total).
INDEX_ROWS = max(max(sum(1 for s in CLAIMS.values() if s["item"].startswith(p + "-")) for p in PAPERS),
                 max(sum(1 for i in ITEMS.values() if i["paper"] == p) for p in PAPERS), len(PAPERS) + 1)


def check_reports(reports: Path) -> None:
    pages = {name: Page((reports / f"{name}.html").read_text()) for name in ("index", *PAPERS)}
    for name, page in pages.items():
        assert page.tables, name
        bad = [c for c in page.cells() if NAN.search(c)]
        assert not bad, f"{name}.html: cells reading nan: {bad[:3]}"
        cap = INDEX_ROWS if name == "index" else SUMMARY_ROWS
        assert max(page.body_rows) <= cap, f"{name}.html: a table has {max(page.body_rows)} rows (cap {cap})"
    for paper in PAPERS:
        for item_id, item in ITEMS.items():
            if item["paper"] == paper:
                assert item_id in pages[paper].ids, f"{paper}.html has no anchor {item_id}"
                assert f"{paper}.html#{item_id}" in pages["index"].hrefs, f"the index does not link {item_id}"
                assert f"#{item_id}" in pages[paper].hrefs, f"{paper}.html's contents lack {item_id}"


def check_scales(page_path: Path, scales: list[str]) -> None:
    page = Page(page_path.read_text())
    counts, *claims = page.tables
    assert [r[0] for r in counts[1:]] == scales
    assert len(claims) == len(PAPERS)
    for table in claims:
        assert table[0][3:] == scales  # one column per scale with results, in scale order
    assert sum(len(t) - 1 for t in claims) == len(CLAIMS)
    assert not [c for c in page.cells() if NAN.search(c)]


def test_smoke_reports_read_well(smoke_results):
    check_reports(smoke_results / "reports")


def test_cross_scale_page_has_a_column_per_scale_with_results(smoke_results):
    scales = order_scales(p.parent.name for p in (REPO / "results").glob("*/claims.csv"))
    assert "smoke" in scales
    check_scales(REPO / "results" / "scales.html", scales)
    assert (REPO / "results" / "scales.csv").stat().st_size and (REPO / "results" / "scales.md").stat().st_size


def test_notebooks_render_contract_claims(tmp_path):
    results = make_results(tmp_path / "results", "mini")
    for name in ("index", *PAPERS):
        executed = results / "reports" / f"{name}.ipynb"
        subprocess.run([sys.executable, "-m", "papermill", str(REPO / "notebooks" / f"{name}.ipynb"), str(executed),
                        "-k", "python3", "--cwd", str(REPO), "-p", "results", str(results), "-p", "scale", "mini"],
                       check=True, capture_output=True, text=True)
        subprocess.run([sys.executable, "-m", "nbconvert", "--to", "html", "--no-input", "--output-dir",
                        str(results / "reports"), str(executed)], check=True, capture_output=True, text=True)
    check_reports(results / "reports")
    index = (results / "reports" / "index.html").read_text()
    assert "[0.05, 0.17]" in index and "95% CI over neurons, 1000 resamples" in index
    assert "other models" in index and "smollm2" in index and "illustrative" in index
