"""What the report notebooks show, read from results/<scale>/ (a notebook never computes anything).

    from entangle import report
    report.show_index(results, scale)          # index.ipynb: verdicts per paper, every claim, every item
    report.show_paper("WD", results, scale)    # WD.ipynb: counts and contents ...
    report.show_item("WD-F2", results)         # ... then one section per item

Modules: claimsfile (claims.csv in the contract's columns, old files too), html (stylesheet, badges,
tables), claimview (a claim's value, interval and verdict), summary (tables of <= SUMMARY_ROWS rows),
pages (index and paper report fragments), scales (every scale's claims side by side).
"""

from __future__ import annotations

from pathlib import Path

from entangle.report.claimsfile import COLUMNS, VERDICTS, read_claims, verdict_counts
from entangle.report.html import style
from entangle.report.pages import (TITLES, index_claims, index_header, index_items, item_section, items,
                                   paper_header)
from entangle.report.summary import SUMMARY_ROWS

__all__ = ["COLUMNS", "SUMMARY_ROWS", "TITLES", "VERDICTS", "items", "read_claims", "show_index", "show_item",
           "show_paper", "verdict_counts"]


def _show(fragment: str) -> None:
    from IPython.display import HTML, display

    display(HTML(f'<div class="entangle">{fragment}</div>'))


def show_index(results: str | Path, scale: str) -> None:
    """The index's sections, each its own output: header and counts, every claim, every item."""
    _show(style() + index_header(results, scale))
    _show(index_claims(results))
    _show(index_items(results))


def show_paper(paper: str, results: str | Path, scale: str) -> None:
    """A paper report's head: scale, verdict counts, contents."""
    _show(style() + paper_header(paper, results, scale))


def show_item(item_id: str, results: str | Path) -> None:
    """One item's section of its paper report."""
    _show(item_section(item_id, results))
