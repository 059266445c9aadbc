"""Reading results/<scale>/claims.csv into the columns of the project's contract, old files included.

Every cell comes back as text ("" where empty, never "nan"), except `claim` (int) and the flags
`primary` and `illustrative` (bool). An illustrative claim's reproduced / not reproduced / inconclusive (a file
judged before illustrative claims had their own verdict word) reads as shown / not shown / inconclusive
(illustrative). A claims.csv written before the contract (columns claim, text,
item, scale, statistic, criterion, paper_value, our_value, verdict, reason) reads as: details = our_value,
value = the first measured term of our_value (the first criterion's left term, i.e. the headline
statistic), paper = the item's prefix, primary = true; every other new column empty.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pandas as pd

from entangle.claims import ILLUSTRATIVE, VERDICTS

COLUMNS = ("claim", "paper", "item", "model", "primary", "scale", "text", "statistic", "criterion", "paper_value",
           "value", "ci_low", "ci_high", "unit", "resamples", "details", "verdict", "illustrative", "population",
           "reason")
OPTIONAL = ("not yet built", *ILLUSTRATIVE.values())  # count columns shown only where some claim has them
PAPERS = ("WD", "NC", "NE")
_EMPTY = {"nan", "NaN", "NAN", "None", "none", "<NA>", "NaT", "null"}
_TRUE = {"true", "1", "yes", "y", "t"}


class ClaimsFileError(ValueError):
    """A claims.csv the reports cannot read; the message names the file and the fix."""


def blank(value) -> str:
    """Text of a cell: "" for empty / NaN / None, else the value as text, stripped."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    text = str(value).strip()
    return "" if text in _EMPTY else text


def _flag(value) -> bool:
    return blank(value).lower() in _TRUE


def _first_term(details: str) -> str:
    """'a = 1.2 [1.1, 1.3]; b = 3' -> '1.2' (the value of the first measured term)."""
    first = details.split(";")[0]
    return first.split("=", 1)[1].split("[")[0].strip() if "=" in first else ""


def normalize_claims(frame: pd.DataFrame, source: str = "claims.csv") -> pd.DataFrame:
    """Any claims table (contract or pre-contract columns) as the contract's columns, in contract order."""
    missing = {"claim", "item", "verdict"} - set(frame.columns)
    if missing:
        raise ClaimsFileError(f"{source} lacks the column(s) {', '.join(sorted(missing))}; it is not a claims "
                              f"table (rebuild it with `snakemake claims --config scale=<scale>`)")
    out = frame.copy()
    for column in out.columns:
        out[column] = [blank(v) for v in out[column]]
    old = "our_value" in out.columns and "details" not in out.columns
    if old:
        out["details"] = out["our_value"]
        if "value" not in out.columns:
            out["value"] = [_first_term(d) for d in out["details"]]
        if "statistic" in out.columns:  # old files list every term's key path; the contract wants the headline
            out["statistic"] = [s.split(";")[0].strip() for s in out["statistic"]]
    for column in COLUMNS:
        if column not in out.columns:
            out[column] = ""
    out["paper"] = [p or item.split("-")[0] for p, item in zip(out["paper"], out["item"])]
    out["primary"] = [_flag(p) if p else True for p in out["primary"]]  # absent: one row per claim, the primary
    out["illustrative"] = [_flag(v) for v in out["illustrative"]]
    out["verdict"] = [ILLUSTRATIVE.get(v, v) if ill else v for v, ill in zip(out["verdict"], out["illustrative"])]
    try:
        out["claim"] = out["claim"].astype(int)
    except ValueError as err:
        raise ClaimsFileError(f"{source}: the claim column holds a non-integer ({err})") from None
    return out[list(COLUMNS)].reset_index(drop=True)


def read_claims(path: str | Path) -> pd.DataFrame:
    """results/<scale>/claims.csv (or any claims.csv) as the contract's columns; see the module docstring.
    Parsed once per version of the file (a report asks for it once per item); each call gets its own copy."""
    path = Path(path)
    if not path.is_file():
        raise ClaimsFileError(f"{path} does not exist; build it with `snakemake claims --config scale=<scale>`")
    stat = path.stat()
    return _read_claims(str(path.resolve()), stat.st_mtime_ns, stat.st_size).copy()


@functools.lru_cache(maxsize=8)
def _read_claims(path: str, mtime_ns: int, size: int) -> pd.DataFrame:
    return normalize_claims(pd.read_csv(path, dtype=str, keep_default_na=False), path)


def primary_rows(claims: pd.DataFrame) -> pd.DataFrame:
    """One row per claim: the row marked primary (the item's model, or the scale's LLM for a claim marked
    `primary: llm`; the first row of a claim if none is marked)."""
    marked = claims[claims["primary"]]
    rest = claims[~claims["claim"].isin(marked["claim"])].drop_duplicates("claim")
    return pd.concat([marked.drop_duplicates("claim"), rest]).sort_values("claim", kind="stable")


def verdict_counts(claims: pd.DataFrame) -> pd.DataFrame:
    """Primary rows per paper (rows WD, NC, NE present, then a total) and verdict (columns in VERDICTS order;
    the illustrative verdicts, 'not yet built' and unknown verdicts only where they occur)."""
    rows = primary_rows(claims)
    papers = [p for p in PAPERS if p in set(rows["paper"])] + sorted(set(rows["paper"]) - set(PAPERS))
    verdicts = [v for v in VERDICTS if v not in OPTIONAL or v in set(rows["verdict"])]
    verdicts += sorted(set(rows["verdict"]) - set(VERDICTS))
    table = pd.DataFrame(0, index=[*papers, "total"], columns=verdicts, dtype=int)
    for paper, verdict in zip(rows["paper"], rows["verdict"]):
        table.loc[paper, verdict] += 1
        table.loc["total", verdict] += 1
    return table.rename_axis("paper")
