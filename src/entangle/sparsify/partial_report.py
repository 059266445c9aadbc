"""Table and claim values of the partial sparsification (WD-F3, WD-F5a: claims 6, 7, 14).

Inputs are the per-selection summaries written by `scripts/partial_sparsify.py` (one JSON per selection: the
dense model, and row-wise SparseGPT of the selected rows at each per-row sparsity, with per-window NLL) and the
downstream scores of `scripts/wd_fig3_downstream.py`.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from entangle.io import read_json
from entangle.neurons.selection import parse_selection


PARTIAL_COLUMNS = ["model", "model_id", "revision", "dataset", "split", "tokens", "seed", "selection", "selection_seed",
                 "method", "num_clusters", "sparsity", "perplexity", "mean_nll", "row_sparsity", "ffn_sparsity",
                 "selected_rows", "percent"]


def load_partial_runs(paths: list[str]) -> pd.DataFrame:
    """Tidy table from the per-selection summaries: one dense row (the first file's), one row per run."""
    rows = []
    for i, path in enumerate(paths):
        r = read_json(path)
        base = {"model": r["model"], "model_id": r["model_id"], "revision": r["revision"], "dataset": r["dataset"],
                "split": r["eval_split"], "tokens": r["eval_tokens"], "seed": r["seed"], "percent": r["percent"]}
        if i == 0:
            rows.append({**base, "selection": "dense", "selection_seed": None, "method": "dense", "num_clusters": None,
                         "sparsity": "0", "perplexity": r["dense_ppl"], "mean_nll": math.log(r["dense_ppl"]),
                         "row_sparsity": 0.0, "ffn_sparsity": 0.0, "selected_rows": 0})
        name = r["selection"] if r["selection_seed"] is None else f"{r['selection']}{r['selection_seed']}"
        for run in r["runs"]:
            rows.append({**base, "selection": name, "selection_seed": r["selection_seed"], "method": run["method"],
                         "num_clusters": run.get("num_clusters"), "sparsity": run["sparsity"], "perplexity": run["ppl"],
                         "mean_nll": run["mean_nll"], "row_sparsity": run["row_sparsity"],
                         "ffn_sparsity": run["ffn_sparsity"], "selected_rows": r["selected_rows"]})
    df = pd.DataFrame(rows, columns=PARTIAL_COLUMNS)
    for col in ("selection_seed", "num_clusters"):
        df[col] = df[col].astype("Int64")
    return df


def headline_perplexities(tidy: pd.DataFrame, sparsity: str) -> dict[str, float]:
    """SparseGPT perplexity at `sparsity` per selection kind; random = mean over its seeds."""
    g = tidy[(tidy.method == "sparsegpt") & (tidy.sparsity == sparsity)]
    kinds = g.selection.map(lambda s: parse_selection(s)[0])
    return {kind: float(sub.perplexity.mean()) for kind, sub in g.groupby(kinds, sort=False)}


def run_window_nll(summary: dict, method: str | None = "sparsegpt", sparsity: str | None = None) -> np.ndarray:
    """Per-window NLL (nats) [windows] of one selection summary's run (method, sparsity), or its dense model
    (method None)."""
    if method is None:
        return np.asarray(summary["dense_window_nll"], dtype=np.float64)
    for run in summary["runs"]:
        if run["method"] == method and run["sparsity"] == sparsity:
            return np.asarray(run["window_nll"], dtype=np.float64)
    raise KeyError(f"selection {summary['selection']}: no {method} run at sparsity {sparsity}")


def selection_increase_values(tidy: pd.DataFrame, headline: str, summaries: list[dict] | None = None) -> dict:
    """Claim 6's values: the WD selection's perplexity increase over dense against the most damaging other selection's
    (mean, variance, magnitude, random = mean PPL over its seeds), at the headline per-row sparsity.

    increase_ratio_wd_over_worst_other = (PPL_wd − PPL_dense) / (PPL_worst − PPL_dense), with a 95% interval
    over evaluation windows redrawn, paired across selections; the worst other is re-chosen per redraw
    (NaN where no other selection raises perplexity). `summaries`: the selection JSONs (per-window NLL).
    """
    from entangle.evaluation.contrasts import window_contrast

    ppl = headline_perplexities(tidy, headline)
    others = {k: v for k, v in ppl.items() if k != "wd"}
    worst = max(others, key=others.get) if others else None
    dense = float(tidy[tidy.method == "dense"].perplexity.iloc[0])
    rnd = tidy[(tidy.method == "sparsegpt") & (tidy.sparsity == headline) & tidy.selection.str.startswith("random")]
    values = {"ppl_wd": ppl.get("wd"), "ppl_max_other_selection": others.get(worst), "max_other_selection": worst,
              "ppl_dense": dense, "sparsity": headline, **{f"ppl_{k}": v for k, v in ppl.items() if k != "wd"},
              "ppl_random_min": float(rnd.perplexity.min()) if len(rnd) else None,
              "ppl_random_max": float(rnd.perplexity.max()) if len(rnd) else None,
              "wd_over_worst_other": ppl["wd"] / others[worst] if worst and "wd" in ppl else None}
    if summaries and worst is not None and "wd" in ppl:
        names = [(s["selection"], s["selection_seed"]) for s in summaries]
        rows = [run_window_nll(summaries[0], None)] + [run_window_nll(s, "sparsegpt", headline)
                                                        for s in summaries]
        kinds = ["dense"] + [k for k, _ in names]
        groups = {k: [i for i, kk in enumerate(kinds) if kk == k] for k in dict.fromkeys(kinds) if k not in ("dense", "wd")}
        wd = kinds.index("wd")

        def statistic(p: np.ndarray) -> np.ndarray:
            other = np.stack([p[:, idx].mean(1) for idx in groups.values()], axis=1).max(1)  # random: mean of seeds
            lift = other - p[:, 0]
            return np.where(lift > 0, (p[:, wd] - p[:, 0]) / np.where(lift > 0, lift, 1.0), np.nan)

        values["increase_ratio_wd_over_worst_other"] = window_contrast(statistic, np.stack(rows))
    return values


def downstream_scores(scores: dict[str, dict[str, dict[str, float]]]) -> pd.DataFrame:
    """{selection name (incl. 'dense'): {task: {metric: value}}} -> tidy rows (selection, task, metric, score),
    one primary metric per task (`entangle.evaluation.downstream.primary_metric`)."""
    from entangle.evaluation.downstream import primary_metric

    rows = []
    for name, tasks in scores.items():
        for task, metrics in tasks.items():
            metric = primary_metric(metrics)
            rows.append({"selection": name, "task": task, "metric": metric, "score": float(metrics[metric])})
    return pd.DataFrame(rows, columns=["selection", "task", "metric", "score"])


def downstream_lowest_values(down: pd.DataFrame) -> dict:
    """Claim 7's values: does WD have the lowest primary score on every task (random = mean over seeds; dense
    excluded)?"""
    d = down[down.selection != "dense"].copy()
    d["kind"] = d.selection.map(lambda s: parse_selection(s)[0])
    per_kind = d.groupby(["task", "kind"], sort=False).score.mean().unstack("kind")
    lowest = {task: bool(row["wd"] < row.drop("wd").min()) for task, row in per_kind.iterrows()}
    return {"downstream_wd_most_damaging": bool(lowest) and all(lowest.values()),
            **{f"wd_lowest_{t}": v for t, v in lowest.items()},
            **{f"score_{t}_{k}": float(v) for t, row in per_kind.iterrows() for k, v in row.items()}}
