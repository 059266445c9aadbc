"""How one claim row of claims.csv reads in a report: ours with its interval, the verdict badge, the table.

Rows come from `claimsfile.read_claims` (contract columns, text cells, "" where empty).
"""

from __future__ import annotations

import html
from collections.abc import Callable

import pandas as pd

from entangle.report.claimsfile import blank, primary_rows
from entangle.report.html import badge, esc, fmt, table, tag


def interval(row) -> str:
    """'[lo, hi]' of the row's 95% interval ('' without one)."""
    lo, hi = fmt(row["ci_low"]), fmt(row["ci_high"])
    return f"[{lo}, {hi}]" if lo or hi else ""


def interval_note(row) -> str:
    """'95% CI over neurons, 1000 resamples' (a bootstrap; '' without an interval)."""
    if not interval(row):
        return ""
    unit, resamples = blank(row["unit"]), fmt(row["resamples"])
    return "95% CI" + (f" over {unit}" if unit else "") + (f", {resamples} resamples" if resamples else "")


def value_text(row) -> str:
    """Plain text 'value [lo, hi]' ('' if the claim has no value)."""
    return " ".join(p for p in (fmt(row["value"]), interval(row)) if p)


def _details(row) -> list[str]:
    return [t.strip() for t in blank(row["details"]).split(";") if t.strip()]


def value_cell(row, compact: bool = False) -> str:
    """Our headline value with its interval; the statistic's name and the row's model above it; unit, illustrative
    marker, population statistic and every measured term (collapsed) below. compact: value and interval only."""
    value = fmt(row["value"])
    parts = []
    if not compact and blank(row["statistic"]):
        parts.append(f'<div class="stat">{esc(row["statistic"])}</div>')
    if not compact and blank(row["model"]):
        parts.append(f'<div class="small">model: <b>{esc(row["model"])}</b></div>')
    if value:
        ci = interval(row)
        parts.append(f'<span class="value">{html.escape(value)}</span>'
                     + (f' <span class="ci" title="{html.escape(interval_note(row))}">{html.escape(ci)}</span>'
                        if ci else ""))
    if compact:
        return " ".join(parts)
    if note := interval_note(row):
        parts.append(f'<div class="small">{html.escape(note)}</div>')
    if row["illustrative"]:
        pop = blank(row["population"])
        parts.append('<div class="small">' + tag("illustrative: existence only", "the subject was selected on the "
                                                 "statistic under test, so this shows only that such a case exists")
                     + (f" population: {html.escape(pop)}" if pop else "") + "</div>")
    terms = _details(row)
    if terms and not (len(terms) == 1 and value and terms[0].endswith(value)):
        parts.append("<details><summary>every measured term</summary><ul>"
                     + "".join(f"<li>{html.escape(t)}</li>" for t in terms) + "</ul></details>")
    return "".join(parts)


def verdict_cell(row) -> str:
    """The verdict badge, with the reason (why not evaluable / inconclusive / not built) below it."""
    reason = blank(row["reason"])
    return badge(row["verdict"], title=reason) + (f'<div class="small">{html.escape(reason)}</div>' if reason else "")


def model_line(row) -> str:
    """'model: badge value [ci]' for a further model's row."""
    return (f'<div class="cell-model"><span class="stat">{esc(row["model"])}</span> '
            f'{badge(row["verdict"], title=blank(row["reason"]))} {value_cell(row, compact=True)}</div>')


def claims_table(claims: pd.DataFrame, item_link: Callable[[str], str] | None = None, anchors: bool = False,
                 item_header: str = "item") -> str:
    """One row per claim (its primary model): id, the claim (criterion below), the paper's number, ours with
    its interval, the verdict badge, the item (linked by item_link(item) if given); further models' rows of a
    claim go in an 'other models' column, present only if some claim has one. anchors: id="claim-N" on each
    row's number (once per page: the index)."""
    primary = primary_rows(claims)
    others = claims.drop(primary.index)
    header = ["#", "claim", "paper", "ours", "verdict"] + ([item_header] if item_link else [])
    aligns = ["num", "txt", "txt", "txt", "txt"] + (["txt"] if item_link else [])
    extra = ["", "claim", "paper", "ours", "verdict"] + (["nowrap"] if item_link else [])
    if len(others):
        header.append("other models")
        aligns.append("txt")
        extra.append("")
    rows = []
    for _, row in primary.iterrows():
        claim = f'<div>{esc(row["text"])}</div>'
        if blank(row["criterion"]):
            claim += f'<div class="crit">{esc(row["criterion"])}</div>'
        number = f'<span id="claim-{row["claim"]}">{row["claim"]}</span>' if anchors else str(row["claim"])
        cells = [number, claim, esc(row["paper_value"]),
                 value_cell(row), verdict_cell(row)]
        if item_link:
            cells.append(item_link(row["item"]))
        if len(others):
            cells.append("".join(model_line(r) for _, r in others[others["claim"] == row["claim"]].iterrows()))
        rows.append(cells)
    return table(header, rows, aligns, "claims", col_classes=extra)
