"""Perplexity tables and claim values of the sparsification items (WD-TA, WD-F9, WD-FA3, WD-V1); those of the
partial sparsification (WD-F3, WD-F5a): entangle.sparsify.partial_report.

Inputs are the per-run summaries written by `scripts/sparsify_prune.py` (one JSON per model, method,
sparsity and K). Definitions (also in the items' captions and README):

- Baselines: magnitude, Wanda, SparseGPT, each pruning every FFN matrix to the given sparsity
  (Wanda per output row, the others per matrix / per 128-column block as their references).
- Sparse Expansion (SE) with K experts: each expert has the given sparsity, each token uses one expert,
  so a token touches the same number of non-zero FFN weights as with a baseline at that sparsity.
- Gap at a sparsity = ln PPL(best baseline) - ln PPL(SE) = the difference in mean test NLL (nats per
  token); positive means SE is better. "Best baseline" is the lowest-perplexity baseline at that sparsity.
- FLOP-matched (WD-V1): equal total multiply-accumulates per token. SE at per-expert sparsity s costs its
  non-zero FFN weights per token plus its routers (PCA projection + distances to K centroids, per token and
  FFN input); each baseline's ln PPL is interpolated linearly in MACs per token over its own unstructured
  sparsities and the dense model at that budget (the dense model where the budget reaches it). The
  router's share of SE's MACs is reported. Equal non-zeros without the router is WD-TA's comparison.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from entangle.io import read_json
from entangle.workflow.sparsify import BASELINES

from .sparsity import Sparsity

METHOD_LABELS = {"dense": "dense", "magnitude": "magnitude", "wanda": "Wanda", "sparsegpt": "SparseGPT",
                 "sparse_expansion": "SE"}
COLUMNS = ["model", "model_id", "revision", "family", "method", "k", "sparsity", "sparsity_ratio", "structured",
           "perplexity", "mean_nll", "ffn_sparsity", "matrix_sparsity_min", "matrix_sparsity_max", "ties",
           "ffn_nonzeros_per_token", "ffn_params", "router_macs_per_token",
           "dataset", "split", "windows", "tokens", "calibration_windows", "calibration_tokens", "seed", "dtype"]
# Run times stay in the run summaries and benchmark files: tables are byte-identical across reruns.


def matrix_sparsity_range(linears: list[dict]) -> tuple[float, float]:
    """Lowest and highest achieved sparsity of one FFN matrix (of one expert, for Sparse Expansion) in a run."""
    lows = [r.get("expert_sparsity_min", r["sparsity"]) for r in linears]
    highs = [r.get("expert_sparsity_max", r["sparsity"]) for r in linears]
    return (min(lows), max(highs)) if linears else (math.nan, math.nan)


def load_runs(paths: list[str]) -> pd.DataFrame:
    """Tidy table, one row per run summary; `matrix_sparsity_min/max` say what the pruners achieved."""
    rows = []
    for path in paths:
        r = read_json(path)
        sp = Sparsity.parse(r["sparsity"]) if r["method"] != "dense" else Sparsity(0.0)
        low, high = matrix_sparsity_range(r.get("linears", []))
        rows.append({**{c: r.get(c) for c in COLUMNS}, "sparsity_ratio": sp.ratio, "structured": sp.is_nm,
                     "matrix_sparsity_min": low, "matrix_sparsity_max": high,
                     "ties": r.get("settings", {}).get("ties", "reference")})
    df = pd.DataFrame(rows, columns=COLUMNS)
    df["k"] = df["k"].astype("Int64")
    return df


def label(method: str, k) -> str:
    if method == "sparse_expansion":
        return f"SE K={int(k)}"
    return METHOD_LABELS[method]


def wide_table(tidy: pd.DataFrame, sparsities: list[str], methods: list[str], k: int) -> pd.DataFrame:
    """Rows = models, columns = dense, then method x sparsity (perplexity); SE at K = `k`."""
    out = []
    for model, g in tidy.groupby("model", sort=False):
        row = {"model": model}
        dense = g[g.method == "dense"]
        row["dense"] = float(dense.perplexity.iloc[0]) if len(dense) else math.nan
        for m in methods:
            for s in sparsities:
                hit = g[(g.method == m) & (g.sparsity == s) & ((g.k == k) if m == "sparse_expansion" else True)]
                row[f"{label(m, k)} {s}"] = float(hit.perplexity.iloc[0]) if len(hit) else math.nan
        out.append(row)
    return pd.DataFrame(out)


def _gaps(tidy: pd.DataFrame, k: int) -> pd.DataFrame:
    """Per model and sparsity: best baseline, SE(K) perplexity and the gap (nats/token)."""
    rows = []
    for (model, s), g in tidy[tidy.method != "dense"].groupby(["model", "sparsity"], sort=False):
        base = g[g.method.isin(BASELINES)]
        se = g[(g.method == "sparse_expansion") & (g.k == k)]
        if base.empty or se.empty:
            continue
        best = base.loc[base.perplexity.idxmin()]
        sgpt = base[base.method == "sparsegpt"]
        rows.append({"model": model, "sparsity": s, "sparsity_ratio": float(g.sparsity_ratio.iloc[0]),
                     "structured": bool(g.structured.iloc[0]), "k": k, "best_baseline": best.method,
                     "best_baseline_ppl": float(best.perplexity), "se_ppl": float(se.perplexity.iloc[0]),
                     "gap": math.log(best.perplexity) - math.log(se.perplexity.iloc[0]),
                     "gap_vs_sparsegpt": (math.log(sgpt.perplexity.iloc[0]) - math.log(se.perplexity.iloc[0])
                                          if len(sgpt) else math.nan),
                     "n_baselines": len(base)})
    return pd.DataFrame(rows)


def _growth(gaps: pd.DataFrame) -> dict:
    """How the gap changes with unstructured sparsity, per model."""
    rhos, monotone, first, last = [], [], [], []
    for _, g in gaps[~gaps.structured].groupby("model", sort=False):
        g = g.sort_values("sparsity_ratio")
        if len(g) < 2:
            continue
        first.append(g.gap.iloc[0])
        last.append(g.gap.iloc[-1])
        monotone.append(bool(np.all(np.diff(g.gap.to_numpy()) >= 0)))
        if len(g) >= 3:
            rhos.append(spearmanr(g.sparsity_ratio, g.gap)[0])
    return {"gap_growing_share": float(np.mean(monotone)) if monotone else None,
            "gap_spearman_mean": float(np.nanmean(rhos)) if rhos else None,
            "gap_lowest_sparsity_mean": float(np.mean(first)) if first else None,
            "gap_highest_sparsity_mean": float(np.mean(last)) if last else None,
            "models_with_gap_trend": len(monotone)}


def window_nlls(tidy: pd.DataFrame, nll_paths: list[str]) -> dict[tuple, np.ndarray]:
    """Per-window NLL of every run of `tidy` (one row per run, in the order of `nll_paths`, the runs' .nll.csv):
    (model, method, k or None, sparsity) -> float64 [windows]."""
    from entangle.evaluation.contrasts import load_window_nll

    if len(nll_paths) != len(tidy):
        raise ValueError(f"{len(nll_paths)} per-window NLL files for {len(tidy)} runs")
    return {_key(r): load_window_nll(p) for r, p in zip(tidy.itertuples(), nll_paths)}


def _key(row) -> tuple:
    k = None if pd.isna(row.k) else int(row.k)
    return (row.model, row.method, k if row.method == "sparse_expansion" else None, row.sparsity)


def gap_estimates(gaps: pd.DataFrame, tidy: pd.DataFrame, nll: dict, prefix: str = "gap") -> dict:
    """Claims 19 and 21 with 95% intervals over evaluation windows (paired across methods within a model,
    models drawn on their own), for the cells of `gaps` (rows of `_gaps`: model, sparsity, k, best baseline):

    {prefix}_min: the smallest gap = ln PPL(best baseline, re-chosen per redraw) - ln PPL(SE) over every cell;
    {prefix}_min_step: the smallest increase of a model's gap between consecutive unstructured sparsities.
    """
    cells = {}
    for cell in gaps.itertuples():
        run = tidy[(tidy.model == cell.model) & (tidy.sparsity == cell.sparsity)]
        base = [[(_key(r), 1.0)] for r in run.itertuples() if r.method in BASELINES]
        se = _key(run[(run.method == "sparse_expansion") & (run.k == cell.k)].iloc[0])
        cells.setdefault(cell.model, []).append((base, se, cell.structured, cell.sparsity_ratio))
    return _gap_intervals(cells, nll, prefix)


def _gap_intervals(cells: dict, nll: dict, prefix: str) -> dict:
    """{prefix}_min and {prefix}_min_step (see `gap_estimates`) for cells = {model: [(baselines, se key, structured,
    sparsity ratio), ...]}, where each baseline is a weighted sum of runs' ln PPL: [(run key, weight), ...]."""
    from entangle.evaluation.contrasts import window_contrast_groups

    groups, layouts = [], []
    for model, model_cells in cells.items():
        rows, index, layout = [], {}, []
        for base, se, structured, ratio in model_cells:
            for key in [k for terms in base for k, _ in terms] + [se]:
                if key not in index:
                    index[key] = len(rows)
                    rows.append(nll[key])
            layout.append(([[(index[k], w) for k, w in terms] for terms in base], index[se], structured, ratio))
        groups.append(np.stack(rows))
        layouts.append(layout)

    def per_model(ppls: list[np.ndarray]) -> list[np.ndarray]:
        """Per model: its cells' gaps [B, cells] from its perplexities [B, C]."""
        logs = [np.log(p) for p in ppls]
        return [np.stack([np.min(np.stack([sum(w * lp[:, i] for i, w in terms) for terms in base]), axis=0)
                          - lp[:, se] for base, se, _, _ in layout], axis=1)
                for lp, layout in zip(logs, layouts)]

    def smallest_gap(ppls):
        return np.min(np.concatenate(per_model(ppls), axis=1), axis=1)

    def smallest_step(ppls):
        steps = []
        for gap, layout in zip(per_model(ppls), layouts):
            order = [i for i in np.argsort([c[3] for c in layout], kind="stable") if not layout[i][2]]
            if len(order) >= 2:
                steps.append(np.diff(gap[:, order], axis=1))
        return np.min(np.concatenate(steps, axis=1), axis=1) if steps else np.full(len(ppls[0]), np.nan)

    if not groups:
        return {f"{prefix}_min": None, f"{prefix}_min_step": None}
    return {f"{prefix}_min": window_contrast_groups(smallest_gap, groups),
            f"{prefix}_min_step": window_contrast_groups(smallest_step, groups)}


def equal_nonzeros_gap_values(tidy: pd.DataFrame, k: int, nll: dict | None = None) -> tuple[dict, pd.DataFrame]:
    """Claim 19's values: is SE(K) best at every model and sparsity, and does its gap grow with sparsity?
    With `nll` (window_nlls), the judged statistics gap_min and gap_min_step with their intervals."""
    gaps = _gaps(tidy, k)
    full = gaps[gaps.n_baselines == len(BASELINES)]
    values = {**(gap_estimates(full, tidy, nll) if nll is not None and len(full) else {}), "k": k, "cells": len(full),
              "se_best_share": float((full.gap > 0).mean()) if len(full) else None,
              "se_best_everywhere": bool((full.gap > 0).all()) if len(full) else None,
              "se_beats_sparsegpt_share": float((full.gap_vs_sparsegpt > 0).mean()) if len(full) else None,
              "gap_mean": float(full.gap.mean()) if len(full) else None,
              **_growth(full)}
    return values, gaps


def k_sweep_values(sweep: pd.DataFrame, sparsegpt_ppl: float | None, nll: dict | None = None) -> dict:
    """Claim 20's values: perplexity vs K at one sparsity: monotone decreasing? K=1 equal to SparseGPT?
    With `nll` (window_nlls), nll_max_step_over_k: the largest increase of ln PPL between consecutive K (nats per token), windows redrawn."""
    from entangle.evaluation.contrasts import window_contrast

    g = sweep.sort_values("k")
    ks, ppl = g.k.astype(int).to_numpy(), g.perplexity.to_numpy()
    steps = np.diff(ppl)
    k1 = g[g.k == 1]
    judged = {}
    if nll is not None and len(g) >= 2:
        per_k = np.stack([nll[_key(r)] for r in g.itertuples()])
        judged["nll_max_step_over_k"] = window_contrast(lambda p: np.diff(np.log(p), axis=1).max(1), per_k)
    return {**judged, "ks": len(ks), "k_min": int(ks[0]), "k_max": int(ks[-1]),
            "ppl_k_min": float(ppl[0]), "ppl_k_max": float(ppl[-1]),
            "monotone_decreasing": bool(np.all(steps <= 0)), "violations": int((steps > 0).sum()),
            "spearman_k_ppl": float(spearmanr(ks, ppl)[0]) if len(ks) >= 3 else None,
            "relative_improvement_k_max": float(1 - ppl[-1] / ppl[0]),
            "k1_minus_sparsegpt_ppl": (float(k1.perplexity.iloc[0] - sparsegpt_ppl)
                                       if len(k1) and sparsegpt_ppl is not None else None)}


def interpolation_weights(macs, budget: float) -> list[tuple[int, float]] | None:
    """Linear interpolation at `budget` over a grid of MACs per token [n] (any order): [(index, weight), ...],
    weights summing to 1. A budget at or above the grid's largest point takes that point (a baseline cannot spend
    more than the dense model); below its smallest point, None (no extrapolation)."""
    macs = np.asarray(macs, dtype=np.float64)
    order = np.argsort(macs, kind="stable")
    x = macs[order]
    if not len(x) or budget < x[0]:
        return None
    if budget >= x[-1]:
        return [(int(order[-1]), 1.0)]
    hi = int(np.searchsorted(x, budget, side="right"))
    lo = hi - 1
    w = (budget - x[lo]) / (x[hi] - x[lo])
    return [(int(order[lo]), 1.0 - w), (int(order[hi]), w)] if w > 0 else [(int(order[lo]), 1.0)]


def _budget_terms(tidy: pd.DataFrame, model: str, sparsity: str, k: int) -> dict:
    """Sparse Expansion at (model, per-expert sparsity, K) and, per baseline, the runs and weights that
    interpolate its ln PPL at SE's total MACs per token (non-zero FFN weights + router MACs), over the
    baseline's unstructured sparsities and the dense model (its 0% point)."""
    g = tidy[tidy.model == model]
    se = g[(g.method == "sparse_expansion") & (g.k == k) & (g.sparsity == sparsity)].iloc[0]
    budget = float(se.ffn_nonzeros_per_token) + float(se.router_macs_per_token)
    dense = g[g.method == "dense"]
    out = {"se": _key(se), "se_row": se, "budget": budget, "baselines": {},
           "dense_macs": float(dense.ffn_nonzeros_per_token.iloc[0]) if len(dense) else math.nan}
    for b in BASELINES:
        grid = pd.concat([dense, g[(g.method == b) & ~g.structured.astype(bool)]])
        if len(grid) < 2:
            continue
        weights = interpolation_weights(grid.ffn_nonzeros_per_token.to_numpy(np.float64), budget)
        if weights is None:
            continue
        rows = list(grid.itertuples())
        out["baselines"][b] = {"terms": [(_key(rows[i]), w) for i, w in weights],
                               "ln_ppl": float(sum(w * math.log(rows[i].perplexity) for i, w in weights)),
                               "sparsity_at_budget": 1 - budget / out["dense_macs"] if out["dense_macs"] > 0
                               else math.nan}
    return out


def flop_matched(tidy: pd.DataFrame, ks: list[int]) -> pd.DataFrame:
    """WD-V1 rows: per model, unstructured sparsity and K, SE against each baseline at SE's total MACs per token
    (non-zero FFN weights + router), the baseline's ln PPL interpolated linearly in MACs over its sparsity grid
    (`_budget_terms`). gap = min over baselines of that ln PPL - ln PPL(SE); gap_equal_nonzeros is claim 19's
    comparison (baselines at SE's per-expert sparsity, router left out); router_share = router MACs / total."""
    rows = []
    for k in ks:
        gaps = _gaps(tidy, k)
        gaps = gaps[~gaps.structured]
        for _, r in gaps.iterrows():
            terms = _budget_terms(tidy, r.model, r.sparsity, k)
            se = terms["se_row"]
            ref = tidy[(tidy.model == r.model) & (tidy.sparsity == r.sparsity) & (tidy.method == "sparsegpt")]
            base = terms["baselines"]
            best = min(base, key=lambda b: base[b]["ln_ppl"]) if base else None
            router = float(se.router_macs_per_token)
            rows.append({**{c: r[c] for c in ("model", "sparsity", "sparsity_ratio", "structured", "k", "se_ppl")},
                         "se_nonzeros_per_token": float(se.ffn_nonzeros_per_token),
                         "router_macs_per_token": router,
                         "se_macs_per_token": terms["budget"],
                         "router_share": router / terms["budget"],
                         "router_overhead": router / float(se.ffn_nonzeros_per_token),
                         "dense_macs_per_token": terms["dense_macs"],
                         "baseline_sparsity_at_budget": 1 - terms["budget"] / terms["dense_macs"],
                         "budget_above_dense": bool(terms["budget"] >= terms["dense_macs"]),
                         **{f"{b}_ppl_at_budget": math.exp(base[b]["ln_ppl"]) if b in base else math.nan
                            for b in BASELINES},
                         "best_baseline": best,
                         "best_baseline_ppl": math.exp(base[best]["ln_ppl"]) if best else math.nan,
                         "gap": base[best]["ln_ppl"] - math.log(r.se_ppl) if best else math.nan,
                         "n_baselines": len(base),
                         "gap_equal_nonzeros": r.gap, "best_baseline_equal_nonzeros": r.best_baseline,
                         "baseline_nonzeros_per_token": (float(ref.ffn_nonzeros_per_token.iloc[0]) if len(ref)
                                                         else math.nan)})
    return pd.DataFrame(rows)


def flop_matched_gap_values(table: pd.DataFrame, tidy: pd.DataFrame | None = None, nll: dict | None = None) -> dict:
    """Claim 21's values: at matched total MACs per token (`flop_matched`): does SE at the largest K beat every
    baseline, and do gaps grow? With `tidy` and `nll` (window_nlls), gap_macs_kmax_min and gap_macs_kmax_min_step with their intervals
    (windows redrawn, the baselines' interpolation redone per redraw); gap_kmax_* are claim 19's equal-non-zeros
    comparison at the same cells, for reference."""
    if table.empty:
        return {}
    kmax = int(table.k.max())
    top = table[table.k == kmax]
    judged = {}
    if nll is not None and tidy is not None:
        cells = {}
        for cell in top[top.n_baselines == len(BASELINES)].itertuples():
            terms = _budget_terms(tidy, cell.model, cell.sparsity, kmax)
            cells.setdefault(cell.model, []).append(([v["terms"] for v in terms["baselines"].values()], terms["se"],
                                                     bool(cell.structured), float(cell.sparsity_ratio)))
        judged = {**_gap_intervals(cells, nll, "gap_macs_kmax"),
                  **gap_estimates(top.assign(gap=top.gap_equal_nonzeros), tidy, nll, prefix="gap_kmax")}
    by_k = []
    for _, g in table.groupby(["model", "sparsity"], sort=False):
        if g.k.nunique() >= 3:
            by_k.append(spearmanr(g.k, g.gap)[0])
        elif g.k.nunique() == 2:
            g = g.sort_values("k")
            by_k.append(float(np.sign(g.gap.iloc[-1] - g.gap.iloc[0])))
    return {**judged, "k_max": kmax, "cells": len(top),
            "matched_on": "total MACs per token (non-zero FFN weights + router); baselines interpolated linearly in "
                          "MACs over their sparsity grid and the dense model",
            "se_kmax_beats_all_share": float((top.gap > 0).mean()),
            "se_kmax_beats_all_everywhere": bool((top.gap > 0).all()),
            "se_kmax_beats_all_share_equal_nonzeros": float((top.gap_equal_nonzeros > 0).mean()),
            **{k.replace("gap_", "gap_macs_kmax_"): v for k, v in _growth(top.assign(n_baselines=3)).items()},
            "gap_vs_k_spearman_mean": float(np.nanmean(by_k)) if by_k else None,
            **{f"gap_mean_k{int(k)}": float(g.gap.mean()) for k, g in table.groupby("k")},
            **{f"beats_all_share_k{int(k)}": float((g.gap > 0).mean()) for k, g in table.groupby("k")},
            "nonzeros_ratio_se_to_sparsegpt_max": float((table.se_nonzeros_per_token
                                                          / table.baseline_nonzeros_per_token).max()),
            "router_overhead_max": float(table.router_overhead.max()),
            "router_share_min": float(table.router_share.min()), "router_share_max": float(table.router_share.max()),
            "cells_budget_above_dense": int(table.budget_above_dense.sum()),
            "inference_speedup": None}
