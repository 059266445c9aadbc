"""Summary tables of at most SUMMARY_ROWS rows for an item's tidy table (the full CSV stays linked).

`summarize(stem, table)` returns the columns that are constant over the whole table (they go in the item's
settings line) and one or more `Summary` tables. A table that fits is shown whole; a longer one gets its
item's summary (the top and bottom neurons, a pivot of the paper's own table, per-layer aggregates, evenly
spaced checkpoints, ...), and anything still longer is cut to the first SUMMARY_ROWS rows, saying so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from entangle.report.html import fmt

SUMMARY_ROWS = 15


@dataclass
class Summary:
    frame: pd.DataFrame
    note: str                      # what the rows are, e.g. "the 7 highest and 7 lowest wd of 192 rows"
    gap_before: int | None = None  # a dashed rule above this row (between top and bottom)


def _numeric(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series, errors="coerce")


def _cols(frame: pd.DataFrame, columns) -> list[str]:
    return [c for c in columns if c in frame.columns]


def _sorted(frame: pd.DataFrame, by: str, descending: bool = False) -> pd.DataFrame:
    """Rows sorted by `by` read as numbers (text sorts last), ties in file order."""
    key = _numeric(frame[by]).to_numpy(dtype=float)
    return frame.iloc[np.argsort(-key if descending else key, kind="stable")]


def top_bottom(frame: pd.DataFrame, by: str, k: int = 7, columns=None) -> list[Summary]:
    order = _sorted(frame, by, descending=True)
    cols = _cols(frame, columns) if columns else list(frame.columns)
    shown = pd.concat([order.head(k), order.tail(k)])[cols]
    return [Summary(shown, f"the {k} highest and {k} lowest {by} of {len(frame)} rows", gap_before=k)]


def head(frame: pd.DataFrame, by: str, n: int = SUMMARY_ROWS) -> list[Summary]:
    return [Summary(_sorted(frame, by).head(n), f"the first {min(n, len(frame))} by {by}, of {len(frame)} rows")]


def pivot(frame: pd.DataFrame, index: list[str], columns: str, values: str) -> list[Summary]:
    """values with one row per `index` combination and one column per value of `columns` (in file order)."""
    index = _cols(frame, index)
    keyed = frame[[*index, columns, values]].copy()
    keyed[index] = keyed[index].astype(object).where(keyed[index].notna(), "")
    table = keyed.pivot_table(index=index, columns=columns, values=values, aggfunc="first", sort=False)
    table.columns = [fmt(c) for c in table.columns]  # 0.0 -> "0", as the other cells read
    return [Summary(table.reset_index(), f"{values} by {', '.join(index)} (rows) and {columns} (columns), "
                    f"from {len(frame)} rows")]


def aggregate(frame: pd.DataFrame, by: list[str], value: str, over: str) -> list[Summary]:
    """count, median, min and max of `value` per `by` group."""
    by = _cols(frame, by)
    keyed = frame.copy()
    keyed[by] = keyed[by].astype(object).where(keyed[by].notna(), "")
    table = (keyed.assign(_v=_numeric(keyed[value])).groupby(by, sort=False)["_v"]
             .agg(n="count", median="median", min="min", max="max").reset_index())
    return [Summary(table, f"{value} per {', '.join(by)}: count, median, min and max over {over} "
                    f"(from {len(frame)} rows)")]


def spaced(frame: pd.DataFrame, order: str, n: int = SUMMARY_ROWS, group: str | None = None) -> list[Summary]:
    """Evenly spaced rows along `order` (first and last always), n per `group` (or n in all)."""
    parts = frame.groupby(group, sort=False) if group and group in frame.columns else [(None, frame)]
    picked = []
    for _, part in parts:
        part = _sorted(part, order)
        positions = np.unique(np.linspace(0, len(part) - 1, min(n, len(part))).round().astype(int))
        picked.append(part.iloc[positions])
    per = f" per {group}" if group and group in frame.columns else ""
    return [Summary(pd.concat(picked), f"{n} rows{per} evenly spaced in {order} (first and last included), "
                    f"of {len(frame)} rows")]


def per_group_top(frame: pd.DataFrame, group: str, by: str, k: int, columns=None) -> list[Summary]:
    parts = []
    for _, part in frame.groupby(group, sort=False):
        parts.append(_sorted(part, by, descending=True).head(k))
    cols = _cols(frame, columns) if columns else list(frame.columns)
    return [Summary(pd.concat(parts)[cols], f"the {k} highest {by} per {group}, of {len(frame)} rows")]


def _wd_f5(frame: pd.DataFrame) -> list[Summary]:
    """Panel a (one run each), then per model the Wasserstein neurons' measures of its panels (b, c; d, e)."""
    by = ["panel", "model", "method", "sparsity", "measure"]
    runs = frame[frame["panel"] == "a"] if "panel" in frame.columns else frame.iloc[:0]
    neurons = frame.drop(runs.index)
    out = aggregate(runs, by, "value", "panel a's runs (one each)") if len(runs) else []
    groups = neurons.groupby("model", sort=False) if "model" in neurons.columns else [(None, neurons)]
    for _, part in groups:
        out += aggregate(part, by, "value", "the Wasserstein neurons")
    return out


def _per_model(frame: pd.DataFrame) -> int:
    """Rows per model that keep a summary of every model within SUMMARY_ROWS."""
    return SUMMARY_ROWS // max(1, frame["model"].nunique() if "model" in frame.columns else 1)


def _wd_f8(frame: pd.DataFrame) -> list[Summary]:
    fits = frame[frame["kind"] == "fit"]
    clusters = frame[frame["kind"] == "cluster"]
    per_layer = (clusters.assign(**{c: _numeric(clusters[c]) for c in
                                    _cols(clusters, ["pca_components", "rmse_expert", "rmse_sparsegpt", "improvement"])})
                 .groupby(_cols(clusters, ["model", "layer"]), sort=False)
                 .agg(clusters=("cluster", "count"),
                      **{f"median {c}": (c, "median") for c in
                         _cols(clusters, ["pca_components", "rmse_expert", "rmse_sparsegpt", "improvement"])})
                 .reset_index())
    out = []
    if len(fits):
        out.append(Summary(fits[_cols(fits, ["model", "panel", "y", "side", "slope", "intercept", "r2", "n",
                                             "share_beyond", "bins"])], "the log-log frontier fits (panels b, c; "
                           "a second model's d, e)"))
    out.append(Summary(per_layer, f"per model and layer: clusters and median over clusters (from {len(clusters)} "
                       "cluster rows)"))
    return out


# Item tables (CSV stems) whose rows outnumber SUMMARY_ROWS at some scale, and how each is summarized.
SPECS = {
    "WD-F2": lambda f: top_bottom(f, "wd", columns=["model", "layer", "matrix", "neuron", "wd", "md"]),
    "WD-F3": lambda f: pivot(f, ["selection", "method"], "sparsity", "perplexity"),
    "WD-F5": _wd_f5,
    "WD-F8": _wd_f8,
    "WD-TA": lambda f: pivot(f, ["model", "method", "k"], "sparsity", "perplexity"),
    "WD-FA1": lambda f: pivot(f, ["model"], "layer", "max_over_median"),
    "WD-FA2": lambda f: spaced(f, "step"),
    "WD-FA4b": lambda f: spaced(f, "sparsity", n=_per_model(f), group="model"),
    "WD-FA9": lambda f: spaced(f, "sparsity"),
    "NC-F1": lambda f: spaced(f, "step", n=5, group="model"),
    "NC-F2": lambda f: pivot(f, ["panel", "statistic", "source_layer"], "evaluated_layer", "mean"),
    "NC-F3": lambda f: head(f, "rank"),
    "NC-F5": lambda f: per_group_top(f, "neuron", "oi_ratio", 3,
                                     columns=["neuron", "md_rank", "rank", "T1", "T2", "NT1", "NT2", "oi_ratio",
                                              "category1", "category2"]),
    "NC-F5.categories": lambda f: pivot(f, ["category"], "set", "share"),
    "NC-F7": lambda f: head(f, "rank"),
    "NC-F8": lambda f: head(f, "rank"),
}


def constants(frame: pd.DataFrame) -> dict:
    """Columns with one value over all rows (of a table with 2+ rows and 2+ varying columns left)."""
    if len(frame) < 2:
        return {}
    const = {c: frame[c].iloc[0] for c in frame.columns if frame[c].nunique(dropna=False) == 1}
    if len(frame.columns) - len(const) < 1:
        return {}
    return const


def summarize(stem: str, frame: pd.DataFrame, cap: int = SUMMARY_ROWS) -> tuple[dict, list[Summary]]:
    """(constant columns, summary tables of at most `cap` rows) for the table `stem` (e.g. "WD-F2")."""
    frame = frame.dropna(axis=1, how="all")
    const = constants(frame)
    if len(frame) <= cap:
        summaries = [Summary(frame, f"all {len(frame)} rows")]
    else:
        try:
            summaries = SPECS[stem](frame) if stem in SPECS else None
        except (KeyError, ValueError, TypeError):  # the table changed shape: fall back, never fail a report
            summaries = None
        summaries = summaries or [Summary(frame.head(cap), f"the first {cap} of {len(frame)} rows (file order)")]
    out = []
    for s in summaries:
        shown = s.frame.drop(columns=[c for c in const if c in s.frame.columns]).dropna(axis=1, how="all")
        if shown.shape[1] == 0:
            shown = s.frame
        note, gap = s.note, s.gap_before
        if len(shown) > cap:
            shown, note, gap = shown.head(cap), f"{note}; the first {cap} shown", None
        out.append(Summary(shown.reset_index(drop=True), note, gap))
    return const, out
