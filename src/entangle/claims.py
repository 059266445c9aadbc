"""Claim values and verdicts for the papers' testable claims (claims.yaml).

Items write what they measured to `results/<scale>/claims/<ITEM>.json`:
    {"item": "WD-F2", "scale": "mini", "claims": {"2": {"spearman_wd_md": {...}, ...}}, "context": {...},
     "by_model": {"<model>": {"2": {...}}}}                        # by_model: optional further models
`claims` holds the item's primary model's values (the model standing for the paper's), `by_model` those of
further models the item analyses (the primary row at a scale with an LLM: see below). A value is a number, a boolean, null (not measurable here), or an
estimate with its bootstrap interval (`entangle.bootstrap.Estimate.to_json`):
    {"value": 0.81, "ci_low": 0.74, "ci_high": 0.86, "unit": "neurons", "resamples": 1000, ...}

`claims_table` judges every claim of claims.yaml: a list of criteria [statistic, op, threshold], where
statistic is a key path into the claim's entry (dots for nesting, `SOURCE:path` for another item's file)
and threshold a number or boolean (a comparison of two measured values is reported by the item as a
contrast with its own interval). Per criterion, with interval [lo, hi] (widened to hold the value;
[value, value] without one):
- `>`/`>=`: reproduced if lo passes, not reproduced if hi < threshold, else inconclusive;
- `<`/`<=`: reproduced if hi passes, not reproduced if lo > threshold, else inconclusive;
- `==`: a boolean must be equal; a number is reproduced if lo = hi = threshold, not reproduced if the
  interval excludes it, else inconclusive.
So an interval that straddles the threshold, or a strict comparison that ties, is inconclusive (unless every
resample gives the same value: a count of 0 against "> 0" with interval [0, 0] is not reproduced). A claim
is reproduced if every criterion is, not reproduced if any is not, inconclusive otherwise, and not
evaluable if a statistic is null (or claims.yaml excludes the scale). An illustrative claim (its subject chosen
on the statistic under test) shows existence only: its verdict reads "shown (illustrative)", "not shown
(illustrative)" or "inconclusive (illustrative)" instead, a verdict of its own that no count adds to reproduced.

The primary row: the item's `claims` values, except at a scale whose config names a pretrained LLM (role `llm`)
for a claim marked `primary: llm` in claims.yaml: there the LLM's `by_model` row is primary where the item wrote
one; where it did not, the item's row stays primary and its `reason` says so.
"""

from __future__ import annotations

import json
import math
import operator
from pathlib import Path

import numpy as np
import pandas as pd

from entangle.io import write_json

VERDICTS = ("reproduced", "not reproduced", "inconclusive", "shown (illustrative)", "not shown (illustrative)",
            "inconclusive (illustrative)", "not evaluable", "not yet built")
# An illustrative claim's verdict word for each verdict its criteria give (not evaluable / not yet built stay).
ILLUSTRATIVE = {"reproduced": "shown (illustrative)", "not reproduced": "not shown (illustrative)",
                "inconclusive": "inconclusive (illustrative)"}
PRIMARY = ("llm", "item")  # claims.yaml `primary`: the scale's LLM's row, or the item's primary row
OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq}
PAPERS = {"WD": "WD", "NC": "NC", "NE": "NE"}
COLUMNS = ["claim", "paper", "item", "model", "primary", "scale", "text", "statistic", "criterion", "paper_value",
           "value", "ci_low", "ci_high", "unit", "resamples", "details", "verdict", "illustrative", "population",
           "reason"]
MODEL_KEYS = ("model", "name", "models")  # where an item's context names its primary model


class ClaimSpecError(ValueError):
    """claims.yaml is malformed; the message names the claim and the problem."""


def _plain(value):
    """JSON-ready: numpy scalars and arrays to built-ins, Estimates to dicts, non-finite floats to None."""
    if hasattr(value, "to_json"):
        return value.to_json()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v) for v in value]
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_claim_values(path, item: str, scale: str, claims: dict[int, dict], context: dict | None = None,
                       by_model: dict[str, dict[int, dict]] | None = None) -> None:
    """Record measured values per claim id (numbers, booleans, None or Estimates), with the context (model,
    revision, split, tokens, seed); `by_model` holds the same for further models, by model name."""
    out = {"item": item, "scale": scale, "claims": {str(c): _plain(values) for c, values in claims.items()},
           "context": _plain(context or {})}
    if by_model:
        out["by_model"] = {m: {str(c): _plain(v) for c, v in per.items()} for m, per in by_model.items()}
    write_json(path, out)


# --------------------------------------------------------------------------------------------------
# Reading values


class Term:
    """One measured statistic: value, interval, unit and resample count (interval None if there is none)."""

    def __init__(self, node):
        if isinstance(node, dict) and "value" in node:
            self.value, self.lo, self.hi = node["value"], node.get("ci_low"), node.get("ci_high")
            self.unit, self.resamples = node.get("unit") or "", node.get("resamples")
        else:
            self.value, self.lo, self.hi, self.unit, self.resamples = node, None, None, "", None
        if self.value is None or isinstance(self.value, bool) or self.lo is None or self.hi is None:
            self.lo = self.hi = None

    @property
    def has_interval(self) -> bool:
        return self.lo is not None

    def text(self) -> str:
        interval = f" [{_fmt(self.lo)}, {_fmt(self.hi)}]" if self.has_interval else ""
        return f"{_fmt(self.value)}{interval}"


def _node(data: dict, model: str | None, claim: str, path: str, source: str):
    if model is None:
        node = data["claims"].get(claim, {})
    else:
        node = data.get("by_model", {}).get(model, {}).get(claim)
        if node is None:
            raise KeyError(f"claims/{source}.json has no values of model {model!r} for claim {claim}")
    for key in path.split("."):
        if not isinstance(node, dict) or key not in node:
            raise KeyError(f"claims/{source}.json has no value {path!r} for claim {claim}"
                           + (f" (model {model})" if model else ""))
        node = node[key]
    return node


def _lookup(files: dict, default_source: str, claim: str, term: str, model: str | None = None) -> Term:
    """The statistic at key path `term` (or `SOURCE:path`); KeyError naming the file and path if absent."""
    source, path = term.split(":", 1) if ":" in term else (default_source, term)
    return Term(_node(files[source], model, claim, path, source))


def _fmt(value) -> str:
    if isinstance(value, bool) or value is None:
        return str(value).lower() if isinstance(value, bool) else ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _num(value) -> str:
    """A claims.csv cell: 6 significant digits, true/false, or empty."""
    return f"{value:.6g}" if isinstance(value, float) else _fmt(value)


def primary_model(data: dict, claim: str | None = None) -> str:
    """The model an item's primary values belong to: the claim entry's own `model` (items whose claims are on
    different models), else its context's (empty if it names none)."""
    entry = data.get("claims", {}).get(claim, {}) if claim is not None else {}
    for where in (entry, data.get("context", {}), data):
        for key in MODEL_KEYS:
            value = where.get(key)
            if isinstance(value, list):
                value = ",".join(map(str, value))
            if isinstance(value, str) and value:
                return value
    return ""


# --------------------------------------------------------------------------------------------------
# Verdicts


def criterion_verdict(term: Term, op: str, threshold) -> str:
    """reproduced / not reproduced / inconclusive for one criterion (see the module docstring)."""
    value = term.value
    if op == "==" and (isinstance(threshold, bool) or isinstance(value, bool)):
        return "reproduced" if value == threshold else "not reproduced"
    lo, hi = (min(term.lo, value), max(term.hi, value)) if term.has_interval else (value, value)
    if op == "==":
        if lo == hi == threshold:
            return "reproduced"
        return "not reproduced" if threshold < lo or threshold > hi else "inconclusive"
    certain = term.has_interval and lo == hi  # every resample gives the same value: a tie is then a plain failure
    near, far = (lo, hi) if op in (">", ">=") else (hi, lo)  # the end that must pass, the end that must fail
    if OPS[op](near, threshold):
        return "reproduced"
    if not OPS[op](far, threshold) and (far != threshold or certain):
        return "not reproduced"
    return "inconclusive"


def combine(verdicts: list[str]) -> str:
    """Every criterion reproduced -> reproduced; any not reproduced -> not reproduced; else inconclusive."""
    if all(v == "reproduced" for v in verdicts):
        return "reproduced"
    return "not reproduced" if "not reproduced" in verdicts else "inconclusive"


def _validate(claim: int, spec: dict) -> list:
    criteria = spec.get("criteria") or []
    for c in criteria:
        if len(c) != 3 or not isinstance(c[0], str) or c[1] not in OPS:
            raise ClaimSpecError(f"claim {claim}: criteria must be a list of [statistic key path, op, threshold], "
                                 f"op one of {', '.join(OPS)}")
        if isinstance(c[2], str) or not isinstance(c[2], (int, float, bool)):
            raise ClaimSpecError(f"claim {claim}: criterion {c} compares with {c[2]!r}; the threshold must be a "
                                 "number or true/false (have the item report the contrast of two measured values, "
                                 "e.g. their difference, with its own interval)")
    if not criteria:
        raise ClaimSpecError(f"claim {claim}: no criteria")
    for key in ("population",):
        if key in spec and not (isinstance(spec[key], list) and all(isinstance(p, str) for p in spec[key])):
            raise ClaimSpecError(f"claim {claim}: {key} must be a list of statistic key paths")
    if spec.get("primary", "item") not in PRIMARY:
        raise ClaimSpecError(f"claim {claim}: primary is {spec['primary']!r}; use one of {', '.join(PRIMARY)} "
                             "(llm: the scale's pretrained LLM's row where the item gives one)")
    return criteria


def _paper(item: str) -> str:
    return PAPERS.get(item.split("-")[0], "")


def _population(spec: dict, files: dict, claim: str, model: str | None) -> str:
    parts = []
    for path in spec.get("population", []):
        try:
            parts.append(f"{path} = {_lookup(files, spec['source'], claim, path, model).text()}")
        except KeyError:
            parts.append(f"{path}: not measured")
    return "; ".join(parts)


def _judge_values(row: dict, spec: dict, criteria: list, files: dict, claim: str, model: str | None) -> dict:
    """Fill value, interval, details, verdict and reason of one row from the loaded files."""
    try:
        terms = {c[0]: _lookup(files, spec["source"], claim, c[0], model) for c in criteria}
    except KeyError as err:
        return {**row, "verdict": "not evaluable", "reason": err.args[0]}
    head = terms[criteria[0][0]]
    row.update(details="; ".join(f"{p} = {t.text()}" for p, t in terms.items()),
               population=_population(spec, files, claim, model) if spec.get("population") else "")
    if head.value is not None:
        row.update(value=_num(head.value), ci_low=_num(head.lo), ci_high=_num(head.hi),
                   unit=head.unit if head.has_interval else "",
                   resamples=str(head.resamples) if head.has_interval and head.resamples else "")
    missing = [p for p, t in terms.items() if t.value is None]
    if missing:
        return {**row, "verdict": "not evaluable",
                "reason": f"not measurable at this scale (null): {', '.join(missing)}"}
    verdicts = [criterion_verdict(terms[a], op, b) for a, op, b in criteria]
    verdict = combine(verdicts)
    reason = ""
    if verdict == "inconclusive":
        reason = "; ".join(_why(terms[a], a, op, b) for (a, op, b), v in zip(criteria, verdicts) if v == "inconclusive")
    if row["illustrative"]:
        verdict = ILLUSTRATIVE[verdict]
    return {**row, "verdict": verdict, "reason": reason}


def _why(term: Term, path: str, op: str, threshold) -> str:
    if term.has_interval:
        return (f"{path}: {100 * 0.95:g}% interval [{_fmt(term.lo)}, {_fmt(term.hi)}] ({term.unit}, "
                f"{term.resamples} resamples) straddles {op} {_fmt(threshold)}")
    return f"{path} = {_fmt(term.value)} ties the threshold {op} {_fmt(threshold)}"


def _models(row: dict) -> list[str]:
    return [m.strip() for m in str(row["model"]).split(",") if m.strip()]


def _with_llm_primary(rows: list[dict], llm: str, source: str) -> list[dict]:
    """`rows` (the item's primary row first) with the LLM's row made primary and moved first; if the item gave
    none, the same rows, the primary one's reason saying why the LLM's row is not the primary."""
    at = next((i for i, r in enumerate(rows) if i and r["model"] == llm), None)
    if at is not None:
        return [{**rows[at], "primary": True}, {**rows[0], "primary": False},
                *(r for i, r in enumerate(rows) if i not in (0, at))]
    models = _models(rows[0])
    if models == [llm]:
        return rows
    if llm in models:
        note = (f"primary model: {llm} (claims.yaml primary: llm), but {source} pools it with "
                f"{', '.join(m for m in models if m != llm)} and gives no {llm} row of its own")
    else:
        note = (f"primary model: {llm} (claims.yaml primary: llm), but {source} gives no {llm} row at this scale; "
                f"{rows[0]['model'] or 'the item'}'s row stands")
    reason = rows[0]["reason"]
    return [{**rows[0], "reason": f"{reason}; {note}" if reason else note}, *rows[1:]]


def judge_rows(claim: int, spec: dict, scale: str, claims_dir: str | Path, llm: str | None = None) -> list[dict]:
    """The rows of claims.csv for one claim: the primary model's, then one per further model (by_model).
    llm: the scale's pretrained LLM (config role `llm`, if the scale has one): for a claim with `primary: llm`
    its row is the primary one (see the module docstring)."""
    criteria = _validate(claim, spec)
    row = {c: "" for c in COLUMNS}
    row.update(claim=claim, paper=_paper(spec["item"]), item=spec["item"], primary=True, scale=scale,
               text=spec["text"], statistic=criteria[0][0],
               criterion=" and ".join(f"{a} {op} {_fmt(b)}" for a, op, b in criteria),
               paper_value=spec.get("paper", ""), illustrative=bool(spec.get("illustrative", False)))
    if scale in spec.get("not_evaluable", {}):
        return [{**row, "verdict": "not evaluable", "reason": spec["not_evaluable"][scale]}]
    sources = {spec["source"]} | {c[0].split(":", 1)[0] for c in criteria if ":" in c[0]}
    files = {s: json.loads(p.read_text()) for s in sources if (p := Path(claims_dir) / f"{s}.json").is_file()}
    if missing := sorted(sources - set(files)):
        return [{**row, "verdict": "not yet built", "reason": f"{', '.join(missing)} not built at scale {scale}"}]
    main = files[spec["source"]]
    rows = [_judge_values({**row, "model": primary_model(main, str(claim))}, spec, criteria, files, str(claim), None)]
    for model, per in main.get("by_model", {}).items():
        if str(claim) in per:
            rows.append(_judge_values({**row, "model": model, "primary": False}, spec, criteria, files, str(claim),
                                      model))
    if llm and spec.get("primary") == "llm":
        rows = _with_llm_primary(rows, llm, spec["source"])
    return rows


def judge(claim: int, spec: dict, scale: str, claims_dir: str | Path, llm: str | None = None) -> dict:
    """The primary row of claims.csv for one claim (see `judge_rows`)."""
    return judge_rows(claim, spec, scale, claims_dir, llm)[0]


def claims_table(spec: dict, scale: str, claims_dir: str | Path, llm: str | None = None) -> pd.DataFrame:
    """Every claim of claims.yaml's `claims` mapping, judged, in id order; primary rows first within a claim.
    llm: the scale's pretrained LLM (config role `llm`), primary for claims marked `primary: llm`.
    Columns: `COLUMNS` (the claims.csv contract); empty cells are empty strings."""
    rows = [r for c, s in sorted(spec.items(), key=lambda kv: int(kv[0]))
            for r in judge_rows(int(c), s, scale, claims_dir, llm)]
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame["primary"] = frame["primary"].map(lambda v: "true" if v else "false")
    frame["illustrative"] = frame["illustrative"].map(lambda v: "true" if v else "false")
    return frame.fillna("").astype({"claim": int})
