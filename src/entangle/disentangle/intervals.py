"""Claim statistics of the per-layer analysis with their 95% bootstrap intervals (claims 5, 10-13, 15-18).

Inputs are the tables of `analyse_layer` (neurons.csv, clusters.csv) and its sample outputs. Units:
- neurons (population statistics): claims 5, 10, 11, 15, 16, 17; Wasserstein neurons (WNs, `is_wn`) and the
  other neurons (or the non-WN controls, `is_control`) are redrawn separately where they are compared;
- held-out tokens (one neuron's outputs): claims 12, 13, the same tokens for every neuron / K; claim 13 nests
  the router's k-means seeds (outer) and the tokens (inner);
- clusters: claim 18.
Every function returns a dict of values (Estimates for the judged statistics, plain numbers beside them).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from entangle.bootstrap import RESAMPLES, SEED, Estimate, bootstrap, bootstrap_groups, from_replicates, nested_replicates

from .measures import expert_separation, lower_frontier


def _flag(table: pd.DataFrame, column: str) -> np.ndarray:
    if column not in table.columns:
        return np.zeros(len(table), bool)
    return table[column].astype(str).str.lower().isin(["true", "1"]).to_numpy()


def _col(table: pd.DataFrame, column: str) -> np.ndarray:
    return pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=np.float64)


# --- claim 5: row sparsity of the WN rows ---------------------------------------------------------------


def row_sparsity_ratio(table: pd.DataFrame, column: str) -> Estimate:
    """Mean row sparsity of the WN rows over the layer's mean (`column` = a row_sparsity_s* column), rows redrawn."""
    wn = _flag(table, "is_wn").astype(np.float64)
    rs = _col(table, column)
    return bootstrap(lambda r, w: (r[w > 0].mean() / r.mean()) if (w > 0).any() and r.mean() > 0 else np.nan,
                     rs, wn, unit="neurons")


# --- claim 10: the WN population over a sparsity sweep --------------------------------------------------


def sweep_columns(table: pd.DataFrame) -> dict[float, str]:
    """Sweep sparsity -> its `wd_sweep_s{s:g}` column of neurons.csv, sorted."""
    found = {float(c.removeprefix("wd_sweep_s")): c for c in table.columns if c.startswith("wd_sweep_s")}
    return dict(sorted(found.items()))


def slopes(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least-squares slope of each row of y on the same row of x, both [n, S]: [n] (NaN where x is constant)."""
    xc = x - x.mean(1, keepdims=True)
    yc = y - y.mean(1, keepdims=True)
    var = (xc**2).sum(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(var > 0, (xc * yc).sum(1) / var, np.nan)


def sweep_population(table: pd.DataFrame) -> dict:
    """Per WN: WD(highest sweep sparsity) / WD(dense), the least-squares slope of WD on the output change (RMSE
    of the sparse output to the dense one over the dense std; its `out_change_sweep_s*` columns) and
    Spearman(sparsity, WD) over the sweep; their medians over the WNs with 95% intervals (WNs redrawn), and
    the share of WNs whose WD fell. Without output-change columns the slope is None."""
    columns = sweep_columns(table)
    if 0.0 not in columns or len(columns) < 3:
        raise KeyError("neurons table needs wd_sweep_s* columns including the dense one (s = 0) and >= 3 sparsities")
    wn = _flag(table, "is_wn")
    s = np.array(list(columns))
    wd = np.stack([_col(table, c) for c in columns.values()], axis=1)[wn]  # [WNs, S]
    change_cols = [f"out_change_sweep_s{v:g}" for v in s]
    have_change = all(c in table.columns for c in change_cols)
    change = (np.stack([_col(table, c) for c in change_cols], axis=1)[wn] if have_change
              else np.zeros_like(wd))  # [WNs, S]
    ok = np.isfinite(wd).all(1) & (wd[:, 0] > 0) & np.isfinite(change).all(1)
    wd, change = wd[ok], change[ok]
    ratio = wd[:, -1] / wd[:, 0]
    rho = np.array([stats.spearmanr(s, w)[0] if np.ptp(w) > 0 else np.nan for w in wd])
    slope = slopes(change, wd)
    return {"wn_median_wd_ratio_max_over_dense": bootstrap(np.nanmedian, ratio, unit="neurons"),
            "wn_median_wd_slope_on_output_change": (bootstrap(np.nanmedian, slope, unit="neurons")
                                                    if have_change else None),
            "wn_median_spearman_sparsity_wd": bootstrap(np.nanmedian, rho, unit="neurons"),
            "wn_median_output_change_at_max_sparsity": float(np.median(change[:, -1])) if have_change and len(change)
            else None,
            "wn_share_wd_decreased": float(np.mean(ratio < 1)) if ratio.size else None,
            "wn_count": int(ok.sum()), "max_sparsity": float(s[-1])}


# --- claim 11: RI of the WNs against the rest of the layer ----------------------------------------------


def ri_wn_vs_other(table: pd.DataFrame) -> dict:
    """Median RI% (100 (1 - 1/RI)) of the WNs minus that of the other neurons, WNs and others redrawn separately."""
    wn, ri = _flag(table, "is_wn"), _col(table, "ri_percent")
    ok = np.isfinite(ri)
    a, b = ri[wn & ok], ri[~wn & ok]
    return {"ri_pct_median_wn_minus_other": bootstrap_groups(lambda u, v: np.median(u) - np.median(v), [a, b],
                                                              unit="neurons"),
            "ri_pct_median_wn": float(np.median(a)) if a.size else None,
            "ri_pct_median_other": float(np.median(b)) if b.size else None,
            "wn_neurons": int(a.size), "other_neurons": int(b.size)}


# --- claim 12: expert separation of two neurons ---------------------------------------------------------


def separation_contrast(entangled: np.ndarray, random: np.ndarray, labels: np.ndarray) -> Estimate:
    """eta^2 of the entangled neuron's expanded outputs by expert minus the random neuron's, tokens redrawn
    (the same tokens for both)."""
    return bootstrap(lambda e, r, lab: expert_separation(e, lab) - expert_separation(r, lab),
                     np.asarray(entangled, dtype=np.float64), np.asarray(random, dtype=np.float64),
                     np.asarray(labels), unit="held-out tokens")


# --- claim 13: one neuron over K ------------------------------------------------------------------------


def _k_curves(dense: np.ndarray, outputs: list[np.ndarray], sd: float) -> tuple[np.ndarray, np.ndarray]:
    """WD(SE_K, dense) in dense-std units and RI_K = RMSE(K_1) / RMSE(K), each the mean over K's router seeds,
    for outputs = per K [seeds_K, T] on tokens [T] (the first K has one fit: SparseGPT)."""
    d = np.sort(dense)
    wd = np.array([(np.abs(np.sort(o, axis=1) - d).mean(1) / sd).mean() for o in outputs])  # W1 = mean |sorted diff|
    rmse = [np.sqrt(((o - dense) ** 2).mean(1)) for o in outputs]
    return wd, np.array([(rmse[0].mean() / r).mean() for r in rmse])


def k_sweep_steps(dense: np.ndarray, outputs, resamples: int = RESAMPLES, seed: int = SEED) -> dict:
    """Claim 13 for one neuron: dense [T]; outputs of Sparse Expansion at increasing K (first K = 1), either
    [K, T] (one router fit per K) or a list with one [seeds_K, T] per K (several router seeds per K).

    WD(K) and RI(K) are means over K's seeds; wd_min_step_decrease = min over consecutive K of WD(K) - WD(next
    K); ri_min_step_increase = min of RI(next K) - RI(K). 95% intervals nested: each K's seeds redrawn on their
    own, then the held-out tokens (the same tokens at every K and seed; the dense std is the full sample's, as
    `measures.wd_between`). With one seed per K only the tokens vary."""
    dense = np.asarray(dense, dtype=np.float64)
    outputs = [np.atleast_2d(np.asarray(o, dtype=np.float64)) for o in outputs]
    if any(o.shape[1] != dense.size for o in outputs):
        raise ValueError(f"every K needs outputs [seeds, {dense.size}], got {[o.shape for o in outputs]}")
    sd = dense.std()
    wd, ri = _k_curves(dense, outputs, sd)

    def steps(seeds, tokens):
        w, r = _k_curves(dense[tokens], [o[s][:, tokens] for o, s in zip(outputs, seeds)], sd)
        return np.min(-np.diff(w)), np.min(np.diff(r))

    sizes = [o.shape[0] for o in outputs]
    unit = "router seeds, then held-out tokens" if max(sizes) > 1 else "held-out tokens"
    reps = nested_replicates(steps, sizes, dense.size, resamples, seed)
    return {"wd_min_step_decrease": from_replicates(np.min(-np.diff(wd)), reps[:, 0], unit, dense.size),
            "ri_min_step_increase": from_replicates(np.min(np.diff(ri)), reps[:, 1], unit, dense.size),
            "router_seeds": max(sizes)}


# --- claims 15 and 16: weighted WD / MD with their controls -------------------------------------------


def _drop(table: pd.DataFrame, mask: np.ndarray, before: str, after: str) -> np.ndarray:
    b, a = _col(table, before)[mask], _col(table, after)[mask]
    ok = np.isfinite(b) & np.isfinite(a) & (b > 0)
    return (b[ok] - a[ok]) / b[ok]


def weighted_change(table: pd.DataFrame, stat: str) -> dict:
    """Claim 15 (stat "wd") or 16 ("md"): relative drop (before - after) / before of the WNs' weighted statistic.

    share_{stat}_decreased and median_{stat}_drop over the WNs (WNs redrawn); the random-cluster control
    (the same expert outputs grouped by random clusters of the same sizes): median over WNs of the drop with
    Sparse Expansion's clusters minus with random ones; for WD also the WNs' median drop minus the non-WN
    control neurons' (redrawn separately), reported but not a criterion: the two groups are split on WD itself,
    and a common floor of within-cluster WD makes the high-WD group drop further whatever the clusters are.
    Plain values: the dense-output and (MD) old-definition variants, for the record.
    """
    wn = _flag(table, "is_wn")
    drop = _drop(table, wn, f"{stat}_before", f"{stat}_after")
    out = {f"share_{stat}_decreased": bootstrap(lambda d: np.mean(d > 0), drop, unit="neurons"),
           f"median_{stat}_drop": bootstrap(np.median, drop, unit="neurons"), f"{stat}_neurons": int(drop.size)}
    if f"{stat}_after_random" in table.columns:
        rand = _drop(table, wn, f"{stat}_before", f"{stat}_after_random")
        b, a, r = (_col(table, c)[wn] for c in (f"{stat}_before", f"{stat}_after", f"{stat}_after_random"))
        ok = np.isfinite(b) & np.isfinite(a) & np.isfinite(r) & (b > 0)
        out[f"median_{stat}_drop_se_minus_random_clusters"] = bootstrap(np.median, (r[ok] - a[ok]) / b[ok],
                                                                         unit="neurons")
        out[f"median_{stat}_drop_random_clusters"] = bootstrap(np.median, rand, unit="neurons")
    if stat == "wd" and _flag(table, "is_control").any():
        ctrl = _drop(table, _flag(table, "is_control"), "wd_before", "wd_after")
        out["median_wd_drop_wn_minus_non_wn"] = bootstrap_groups(lambda u, v: np.median(u) - np.median(v),
                                                                 [drop, ctrl], unit="neurons")
        out["median_wd_drop_non_wn"] = float(np.median(ctrl)) if ctrl.size else None
        out["share_wd_decreased_non_wn"] = float(np.mean(ctrl > 0)) if ctrl.size else None
        out["non_wn_neurons"] = int(ctrl.size)
    if f"{stat}_after_dense" in table.columns:
        dense = _drop(table, wn, f"{stat}_before", f"{stat}_after_dense")
        out[f"share_{stat}_decreased_dense_outputs"] = float(np.mean(dense > 0)) if dense.size else None
        out[f"median_{stat}_drop_dense_outputs"] = float(np.median(dense)) if dense.size else None
    if f"{stat}_after_own" in table.columns:
        own = _drop(table, wn, f"{stat}_before", f"{stat}_after_own")
        out[f"median_{stat}_drop_own_normalisers"] = float(np.median(own)) if own.size else None
    return out


# --- claim 17: which statistic predicts RI --------------------------------------------------------------


def _r2(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Squared Pearson correlation (OLS R^2) of each column of x [N, m] with y [N]: [m]."""
    xc, yc = x - x.mean(0), y - y.mean()
    denom = np.sqrt((xc**2).sum(0) * (yc**2).sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        r = (xc * yc[:, None]).sum(0) / denom
    return np.where(denom > 0, r**2, 0.0)


def r2_contrast(table: pd.DataFrame, target: str, predictors: list[str]) -> Estimate:
    """R^2 of RI on the first predictor (WD) minus the largest R^2 of the others, over the neurons where all
    are finite (as `predictors.predictor_fits`), neurons redrawn with every fit on the same redraw."""
    values = table[[target, *predictors]].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    values = values[np.isfinite(values).all(1)]

    def contrast(v):
        r2 = _r2(v[:, 1:], v[:, 0])
        return r2[0] - r2[1:].max()

    return bootstrap(contrast, values, unit="neurons")


# --- claim 18: the frontier's slope -----------------------------------------------------------------------


def frontier_slope(x: np.ndarray, y: np.ndarray, bins: int) -> Estimate:
    """Slope of the line through the lower envelope of log10 y vs log10 x (`measures.lower_frontier`), clusters
    redrawn (the envelope re-found per redraw)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    ok = (x > 0) & (y > 0) & np.isfinite(x) & np.isfinite(y)
    return bootstrap(lambda a, b: lower_frontier(a, b, bins)["slope"], x[ok], y[ok], unit="clusters")
