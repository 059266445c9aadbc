"""Synthetic results/<scale>/ directories for the report tests, and a parser for the rendered HTML.

`make_results(root, scale)` writes what the reports read: claims.csv in the contract's columns (every claim of
claims.yaml; the five verdicts; intervals, units and resamples; a further model's rows; illustrative claims;
empty cells, including literal "nan" text a careless writer might leave), manifest.tsv for every item of
items.yaml (one not evaluable, one not yet built), claims/*.json with contexts, a PNG per figure item and
tables that need summarizing (300 neurons, a wide table of an unknown item, NaN cells).
"""

from __future__ import annotations

import json
import struct
import zlib
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
ITEMS = yaml.safe_load((REPO / "items.yaml").read_text())["items"]
SPEC = yaml.safe_load((REPO / "claims.yaml").read_text())["claims"]
CONTRACT = ("claim", "paper", "item", "model", "primary", "scale", "text", "statistic", "criterion", "paper_value",
            "value", "ci_low", "ci_high", "unit", "resamples", "details", "verdict", "illustrative", "population",
            "reason")
NOT_EVALUABLE_ITEM, NOT_BUILT_ITEM = "WD-FA3", "NE-F5"


def png(width: int = 4, height: int = 3) -> bytes:
    """A valid RGB PNG, grey."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + b"\x80\x80\x80" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


VERDICT_CYCLE = ("reproduced", "not reproduced", "inconclusive", "not evaluable", "reproduced", "not reproduced")


def claims_rows(scale: str, further_model: str | None = "smollm2") -> list[dict]:
    rows = []
    for claim, spec in sorted(SPEC.items()):
        verdict = VERDICT_CYCLE[claim % len(VERDICT_CYCLE)]
        if claim == 7:
            verdict = "not yet built"
        statistic = spec["criteria"][0][0]
        value = "" if verdict in ("not evaluable", "not yet built") else f"{0.1 * claim + 0.01234567:.6g}"
        ci = (f"{0.1 * claim - 0.05:.6g}", f"{0.1 * claim + 0.07:.6g}") if value and claim % 3 else ("", "")
        row = {"claim": claim, "paper": spec["item"].split("-")[0], "item": spec["item"], "model": "neox-m",
               "primary": "true", "scale": scale, "text": spec["text"], "statistic": statistic,
               "criterion": " and ".join(f"{a} {op} {b}" for a, op, b in spec["criteria"]),
               "paper_value": spec.get("paper", ""), "value": value, "ci_low": ci[0], "ci_high": ci[1],
               "unit": "neurons" if ci[0] else "", "resamples": "1000" if ci[0] else "",
               "details": (f"{statistic} = {value}" + (f" [{ci[0]}, {ci[1]}]" if ci[0] else "") + "; other_term = 3"
                           if value else ""),
               "verdict": verdict, "illustrative": "true" if claim in (24, 32, 33, 38) else "false",
               "population": "share of neurons with 2+ clusters = 0.41 [0.36, 0.47]" if claim in (32, 33) else "",
               "reason": {"inconclusive": "the interval straddles the threshold 0.3",
                          "not evaluable": "needs the paper's models",
                          "not yet built": "WD-F3 not built at scale " + scale}.get(verdict, "nan")}
        rows.append(row)
        if further_model and claim % 4 == 0:
            rows.append({**row, "model": further_model, "primary": "false", "verdict": "not reproduced",
                         "value": "0.5", "ci_low": "0.4", "ci_high": "0.6", "reason": ""})
    return rows


def _table(item_id: str, rng) -> pd.DataFrame:
    if item_id == "WD-F2":
        n = 300
        frame = pd.DataFrame({"model": "neox-m", "revision": "step800", "split": "test", "layer": 1, "matrix": "up",
                              "neuron": np.arange(n), "wd": rng.gamma(2, 0.05, n), "md": rng.normal(2, 0.2, n),
                              "tokens": 32768, "seed": 0})
        frame.loc[5, "md"] = np.nan  # a dead neuron: NaN, shown empty
        return frame
    if item_id == "WD-F7":  # an item table the summaries do not know, long and wide
        return pd.DataFrame({f"column_with_a_long_name_{j}": rng.normal(size=50) for j in range(40)}
                            | {"model": "neox-m", "note": ["x"] * 25 + [None] * 25})
    return pd.DataFrame({"model": ["neox-m", "llama", "opt"], "value": rng.normal(size=3), "empty": [np.nan] * 3,
                         "seed": 0})


def make_results(root: str | Path, scale: str = "mini", further_model: str | None = "smollm2",
                 old_columns: bool = False) -> Path:
    """results/<scale>/ under `root` with everything the reports read; returns that directory."""
    results = Path(root) / scale
    rng = np.random.default_rng(0)
    for sub in ("figures", "tables", "claims", "reports"):
        (results / sub).mkdir(parents=True, exist_ok=True)
    claims = pd.DataFrame(claims_rows(scale, further_model), columns=list(CONTRACT))
    if old_columns:  # the layout without the contract columns
        claims = claims[claims["primary"] == "true"].rename(columns={"details": "our_value"})
        claims = claims[["claim", "text", "item", "scale", "statistic", "criterion", "paper_value", "our_value",
                         "verdict", "reason"]]
        claims["reason"] = claims["reason"].replace("nan", "")
    claims.to_csv(results / "claims.csv", index=False)
    manifest = []
    for item_id, item in ITEMS.items():
        status, reason, files = "built", "", []
        if item_id == NOT_EVALUABLE_ITEM:
            status, reason = "not evaluable", "needs the paper's models"
        elif item_id == NOT_BUILT_ITEM:
            status, reason = "not yet built", "its analysis is not implemented in this workflow"
        else:
            if item["kind"] == "figure":
                (results / "figures" / f"{item_id}.png").write_bytes(png())
                files.append(results / "figures" / f"{item_id}.png")
            table = _table(item_id, rng)
            table.to_csv(results / "tables" / f"{item_id}.csv", index=False)
            (results / "tables" / f"{item_id}.md").write_text("| table |\n")
            files += [results / "tables" / f"{item_id}.csv", results / "tables" / f"{item_id}.md"]
            (results / "claims" / f"{item_id}.json").write_text(json.dumps(
                {"item": item_id, "scale": scale, "claims": {},
                 "context": {"name": "neox-m", "revision": "step800", "split": "test", "tokens": 32768,
                             "layer": {"nested": "dicts are not settings"}, "seed": 0}}))
        manifest.append({"item": item_id, "paper": item["paper"], "kind": item["kind"], "status": status,
                         "reason": reason, "target": item["target"], "files": ",".join(str(f) for f in files),
                         "rule": "", "what": item["what"]})
    pd.DataFrame(manifest).to_csv(results / "manifest.tsv", sep="\t", index=False)
    return results


class Page(HTMLParser):
    """The parts of a rendered page the tests check: tables (rows of cell texts, header row first), element
    ids, link targets, and any text outside <style>/<script>."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[str]]] = []
        self.ids: set[str] = set()
        self.hrefs: list[str] = []
        self.body_rows: list[int] = []   # rows inside <tbody> per table
        self._stack: list[list[list[str]]] = []
        self._tbody: list[int] = []
        self._in_tbody: list[bool] = []
        self._cell: list[str] | None = None
        self._skip = 0
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("href"):
            self.hrefs.append(attrs["href"])
        if tag in ("style", "script"):
            self._skip += 1
        elif tag == "table":
            self._stack.append([])
            self._tbody.append(0)
            self._in_tbody.append(False)
        elif tag == "tbody" and self._stack:
            self._in_tbody[-1] = True
        elif tag == "tr" and self._stack:
            self._stack[-1].append([])
            if self._in_tbody[-1]:
                self._tbody[-1] += 1
        elif tag in ("td", "th") and self._stack:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("style", "script"):
            self._skip -= 1
        elif tag in ("td", "th") and self._stack and self._cell is not None:
            self._stack[-1][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tbody" and self._stack:
            self._in_tbody[-1] = False
        elif tag == "table" and self._stack:
            self.tables.append(self._stack.pop())
            self.body_rows.append(self._tbody.pop())
            self._in_tbody.pop()

    def handle_data(self, data):
        if self._cell is not None and not self._skip:
            self._cell.append(data)

    def cells(self) -> list[str]:
        return [c for t in self.tables for row in t for c in row]
