"""Claim values and verdicts for the papers' testable claims (CATALOG section 5, claims.yaml).

Items write what they measured to `results/<scale>/claims/<ITEM>.json`:
    {"item": "WD-F2", "scale": "mini", "claims": {"2": {"spearman_wd_md": 0.81, ...}}, "context": {...}}
`claims_table` then judges every claim of claims.yaml against its stored criteria: a list of
[value, op, value-or-number] conditions that must all hold, where a value is a key path into the
claim's entry (dots for nesting, `SOURCE:path` for another item's file).
"""

from __future__ import annotations

import json
import math
import operator
from pathlib import Path

import pandas as pd

from entangle.io import write_json

VERDICTS = ("reproduced", "not reproduced", "not evaluable", "not yet built")
OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq}


class ClaimSpecError(ValueError):
    """claims.yaml is malformed; the message names the claim and the problem."""


def _plain(value):
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_claim_values(path, item: str, scale: str, claims: dict[int, dict], context: dict | None = None) -> None:
    """Record measured values per claim id, with the context (model, revision, split, tokens, seed)."""
    write_json(path, {"item": item, "scale": scale,
                      "claims": {str(c): {k: _plain(v) for k, v in values.items()} for c, values in claims.items()},
                      "context": {k: _plain(v) for k, v in (context or {}).items()}})


def _lookup(files: dict, default_source: str, claim: str, term: str):
    """The value at key path `term` (or `SOURCE:path`); KeyError naming the file and path if absent."""
    source, path = term.split(":", 1) if ":" in term else (default_source, term)
    node = files[source]["claims"].get(claim, {})
    for key in path.split("."):
        if not isinstance(node, dict) or key not in node:
            raise KeyError(f"claims/{source}.json has no value {path!r} for claim {claim}")
        node = node[key]
    return node


def _fmt(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _validate(claim: int, spec: dict) -> list:
    criteria = spec.get("criteria") or []
    if not criteria or any(len(c) != 3 or not isinstance(c[0], str) or c[1] not in OPS for c in criteria):
        raise ClaimSpecError(f"claim {claim}: criteria must be a list of [key path, op, key path or number], "
                             f"op one of {', '.join(OPS)}")
    return criteria


def judge(claim: int, spec: dict, scale: str, claims_dir: str | Path) -> dict:
    """One row of claims.csv: the claim, what was measured, the stored criterion and the verdict."""
    criteria = _validate(claim, spec)
    row = {"claim": claim, "text": spec["text"], "item": spec["item"], "scale": scale,
           "statistic": "; ".join(dict.fromkeys(c[0] for c in criteria)),
           "criterion": " and ".join(f"{a} {op} {_fmt(b)}" for a, op, b in criteria),
           "paper_value": spec.get("paper", ""), "our_value": "", "verdict": "", "reason": ""}
    if scale in spec.get("not_evaluable", {}):
        return {**row, "verdict": "not evaluable", "reason": spec["not_evaluable"][scale]}
    paths = [t for c in criteria for t in (c[0], c[2]) if isinstance(t, str)]
    sources = {spec["source"]} | {p.split(":", 1)[0] for p in paths if ":" in p}
    files = {s: json.loads(p.read_text()) for s in sources if (p := Path(claims_dir) / f"{s}.json").is_file()}
    if missing := sorted(sources - set(files)):
        return {**row, "verdict": "not yet built", "reason": f"{', '.join(missing)} not built at scale {scale}"}
    try:
        measured = {p: _lookup(files, spec["source"], str(claim), p) for p in paths}
    except KeyError as err:
        return {**row, "verdict": "not evaluable", "reason": err.args[0]}
    row["our_value"] = "; ".join(f"{p} = {_fmt(v)}" for p, v in measured.items())
    if any(v is None for v in measured.values()):
        return {**row, "verdict": "not evaluable", "reason": "a statistic is not measurable at this scale (null)"}
    value = lambda t: measured[t] if isinstance(t, str) else t  # noqa: E731
    holds = all(OPS[op](value(a), value(b)) for a, op, b in criteria)
    return {**row, "verdict": "reproduced" if holds else "not reproduced"}


def claims_table(spec: dict, scale: str, claims_dir: str | Path) -> pd.DataFrame:
    """Every claim of claims.yaml's `claims` mapping, judged, in id order."""
    return pd.DataFrame([judge(int(c), s, scale, claims_dir) for c, s in sorted(spec.items(), key=lambda kv: int(kv[0]))])
