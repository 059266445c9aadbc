"""HTML pieces of the reports: one stylesheet, verdict badges, number formatting and tables.

Everything here returns HTML text. Cells are escaped; an empty or NaN cell renders as an empty cell, never
as "nan". Tables get `txt` (left) or `num` (right) alignment per column, and wide ones scroll inside their
own box (`scroll(...)`), not the page.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence

import pandas as pd

from entangle.report.claimsfile import blank

STATUS_CLASS = {"reproduced": "ok", "not reproduced": "bad", "inconclusive": "mid", "not evaluable": "na",
                "not yet built": "nyb", "built": "built", "shown (illustrative)": "ok ill",
                "not shown (illustrative)": "bad ill", "inconclusive (illustrative)": "mid ill"}

CSS = """
.entangle { font-size: 14px; line-height: 1.45; color: #1f2328; max-width: 1280px; }
.entangle h2 { margin: 1.6em 0 0.3em; padding-top: 0.4em; border-top: 1px solid #d0d7de; font-size: 1.45em; }
.entangle h3 { margin: 1.2em 0 0.4em; font-size: 1.15em; }
.entangle table { border-collapse: collapse; margin: 0.4em 0 0.8em 0; table-layout: auto; width: auto;
                  font-size: 13px; }
.entangle th, .entangle td { padding: 0.3em 0.6em; vertical-align: top; border-bottom: 1px solid #e6e8eb;
                             line-height: 1.35; white-space: normal; }
.entangle th { background: #f6f8fa; font-weight: 600; border-bottom: 1px solid #c8ced5; }
.entangle table td.txt, .entangle table th.txt { text-align: left; }
.entangle table td.num, .entangle table th.num { text-align: right; font-variant-numeric: tabular-nums;
                                                 white-space: nowrap; }
.entangle table.claims td.txt.claim { min-width: 20em; max-width: 34em; }
.entangle table.claims td.txt.paper { max-width: 16em; }
.entangle table.claims td.txt.what { max-width: 30em; }
.entangle table.claims td.txt.verdict { max-width: 18em; }
.entangle table.claims td.txt.ours { min-width: 18em; }
.entangle table td.nowrap, .entangle table th.nowrap { white-space: nowrap; }
.entangle tr.gap td { border-top: 2px dashed #c8ced5; }
.entangle .badge { display: inline-block; padding: 0.05em 0.55em; border-radius: 1em; font-size: 12px;
                   font-weight: 600; white-space: nowrap; border: 1px solid transparent; }
.entangle .badge.ok { background: #dafbe1; color: #116329; border-color: #4ac26b; }
.entangle .badge.bad { background: #ffebe9; color: #a40e26; border-color: #ff8182; }
.entangle .badge.mid { background: #fff8c5; color: #7d4e00; border-color: #d4a72c; }
.entangle .badge.na { background: #eaeef2; color: #424a53; border-color: #afb8c1; }
.entangle .badge.nyb { background: #ffffff; color: #57606a; border: 1px dashed #8c959f; }
.entangle .badge.built { background: #ddf4ff; color: #0a3069; border-color: #54aeff; }
.entangle .badge.ill { border-style: dashed; font-style: italic; }
.entangle .badge.tag { background: #fbefff; color: #6e40c9; border-color: #d2a8ff; font-weight: 500; }
.entangle .small { font-size: 12px; color: #57606a; }
.entangle .stat { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 11.5px; color: #57606a; }
.entangle .crit { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 11.5px; color: #57606a;
                  margin-top: 0.2em; }
.entangle .value { font-weight: 600; white-space: nowrap; }
.entangle .ci { color: #424a53; white-space: nowrap; }
.entangle details { margin-top: 0.2em; font-size: 12px; color: #57606a; }
.entangle details summary { cursor: pointer; }
.entangle details ul { margin: 0.2em 0 0 1.1em; padding: 0; }
.entangle .scroll { overflow-x: auto; width: fit-content; max-width: 100%; border: 1px solid #e6e8eb; border-radius: 4px;
                    margin: 0.4em 0 0.8em; }
.entangle .scroll table { margin: 0; }
.entangle .settings { font-size: 12.5px; color: #424a53; background: #f6f8fa; padding: 0.35em 0.7em;
                      border-radius: 4px; margin: 0.4em 0; }
.entangle figure { margin: 0.6em 0; }
.entangle figure img { max-width: min(100%, 1000px); height: auto; }
.entangle figcaption { font-size: 12px; color: #57606a; }
.entangle nav.toc ol { columns: 2; column-gap: 2.5em; margin: 0.4em 0; padding-left: 1.4em; }
.entangle nav.toc li { margin: 0.15em 0; break-inside: avoid; }
.entangle .counts span.badge { margin-right: 0.3em; }
.entangle a { color: #0969da; text-decoration: none; }
.entangle a:hover { text-decoration: underline; }
.entangle .cell-model { margin-top: 0.25em; font-size: 12px; white-space: nowrap; }
"""


def style() -> str:
    return f"<style>{CSS}</style>"


def esc(value) -> str:
    """Escaped text of a cell ("" for empty/NaN)."""
    return html.escape(blank(value))


def fmt(value, digits: int = 4) -> str:
    """A number with `digits` significant digits (integers as integers); text unchanged; empty/NaN -> ""."""
    if isinstance(value, bool):
        return str(value).lower()
    text = blank(value)
    if not text:
        return ""
    if text.lower() in ("true", "false"):
        return text.lower()
    try:
        number = float(text)
    except ValueError:
        return text
    if math.isnan(number):
        return ""
    if math.isinf(number):
        return "∞" if number > 0 else "−∞"
    if number.is_integer() and abs(number) < 1e9:
        return str(int(number))
    return f"{number:.{digits}g}"


def badge(verdict: str, label: str | None = None, title: str = "") -> str:
    """A coloured verdict or status badge ('' for an empty verdict)."""
    verdict = blank(verdict)
    if not verdict:
        return ""
    cls = STATUS_CLASS.get(verdict, "na")
    tip = f' title="{html.escape(title)}"' if title else ""
    return f'<span class="badge {cls}"{tip}>{html.escape(label or verdict)}</span>'


def tag(text: str, title: str = "") -> str:
    tip = f' title="{html.escape(title)}"' if title else ""
    return f'<span class="badge tag"{tip}>{html.escape(text)}</span>'


def link(href: str, text: str) -> str:
    return f'<a href="{html.escape(href, quote=True)}">{html.escape(text)}</a>'


def table(header: Sequence[str], rows: Iterable[Sequence[str]], aligns: Sequence[str] | None = None,
          classes: str = "", row_classes: Sequence[str] | None = None, col_classes: Sequence[str] | None = None) -> str:
    """A table from already-escaped HTML cells. aligns: 'txt' or 'num' per column (default txt)."""
    aligns = list(aligns or ["txt"] * len(header))
    extra = list(col_classes or [""] * len(header))
    cls = [f"{a} {e}".strip() for a, e in zip(aligns, extra)]
    head = "".join(f'<th class="{c}">{h}</th>' for c, h in zip(cls, header))
    body = []
    for i, row in enumerate(rows):
        rc = f' class="{row_classes[i]}"' if row_classes and row_classes[i] else ""
        body.append(f"<tr{rc}>" + "".join(f'<td class="{c}">{v}</td>' for c, v in zip(cls, row)) + "</tr>")
    return (f'<table class="{classes}"><thead><tr>{head}</tr></thead><tbody>' + "".join(body)
            + "</tbody></table>")


def _numeric(series: pd.Series) -> bool:
    values = [blank(v) for v in series]
    values = [v for v in values if v]
    if not values:
        return False
    try:
        [float(v) for v in values]
    except ValueError:
        return False
    return True


def frame_table(frame: pd.DataFrame, classes: str = "data", gap_before: int | None = None,
                index: bool = False) -> str:
    """A DataFrame as an HTML table: numbers formatted (4 significant digits) and right-aligned, text left,
    empty cells empty. gap_before: a dashed rule above that row (e.g. between the top and bottom rows)."""
    if index:
        frame = frame.reset_index()
    header = [html.escape(str(c)) for c in frame.columns]
    aligns = ["num" if _numeric(frame[c]) else "txt" for c in frame.columns]
    rows = [[html.escape(fmt(v)) for v in row] for row in frame.itertuples(index=False, name=None)]
    row_classes = ["gap" if gap_before is not None and i == gap_before else "" for i in range(len(rows))]
    return table(header, rows, aligns, classes, row_classes)


def scroll(content: str) -> str:
    """Wrap a (possibly wide) table so it scrolls inside its own box."""
    return f'<div class="scroll">{content}</div>'


def page(title: str, body: str) -> str:
    """A standalone HTML document with the report stylesheet."""
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f'<style>body {{ font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2em; }}'
            f"{CSS}</style></head>\n<body><div class=\"entangle\">\n{body}\n</div></body></html>\n")
