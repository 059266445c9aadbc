"""What predicts Sparse Expansion's gain, and what sparsity does to a neuron (WD-F7, F8, FA9, FA4 panel b).

Computed from the per-layer tables of `analyse_layer` (neurons.csv, clusters.csv, summary.json):

- `predictor_fits`: OLS of a neuron's RI on each candidate statistic (WD, output mean, output variance,
  GMM component count), all over the same neurons, with R^2 and Spearman's rho (WD-F7, claim 17);
- `frontier`: the lower (or upper) envelope of a log-log cloud and the line through it (WD-F8, claim 18);
- `sweep_trend`: how a neuron's WD to N(0,1) changes over a SparseGPT sparsity sweep (WD-FA9, claim 10);
- `row_sparsity_by_group`: the share of zeroed weights in Wasserstein-neuron rows vs the layer's rows
  at each sweep sparsity (WD-FA4b, claim 5).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from scipy import stats

from .measures import linear_fit, lower_frontier

# WD-F7's four candidate predictors of RI: neurons.csv column -> axis label.
PREDICTORS = {"wd": "WD to N(0,1)", "mean": "output mean", "variance": "output variance",
              "gmm_components": "GMM components (BIC)"}

_ROW_SPARSITY = re.compile(r"^row_sparsity_s(.+)$")


def predictor_fits(neurons: pd.DataFrame, target: str = "ri", statistics: dict | None = None) -> pd.DataFrame:
    """OLS of `target` on each statistic: one row per statistic (statistic, label, slope, intercept, r2, n, spearman).

    Every fit uses the same neurons: those where the target and every statistic are finite (dead neurons
    have no WD and no RI), so the R^2 values compare like with like.
    """
    statistics = PREDICTORS if statistics is None else statistics
    missing = [c for c in [target, *statistics] if c not in neurons.columns]
    if missing:
        raise KeyError(f"neurons table lacks column(s) {missing}")
    cols = [target, *statistics]
    values = neurons[cols].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    ok = np.isfinite(values).all(axis=1)
    y = values[ok, 0]
    rows = []
    for i, (name, label) in enumerate(statistics.items(), start=1):
        x = values[ok, i]
        fit = linear_fit(x, y)
        rho = stats.spearmanr(x, y)[0] if ok.sum() >= 3 and np.ptp(x) > 0 and np.ptp(y) > 0 else np.nan
        rows.append({"statistic": name, "label": label, **fit, "spearman": float(rho)})
    return pd.DataFrame(rows)


def frontier(x: np.ndarray, y: np.ndarray, bins: int = 8, side: str = "lower") -> dict:
    """The lower (or upper) envelope of a log-log cloud and its OLS line (measures.lower_frontier).

    side="upper" takes each bin's highest log10(y) instead. Returns slope, intercept (log10 units), r2
    and n of the envelope fit, the envelope points `env_x`, `env_y` (log10), and `share_beyond`: the share
    of all points more than 0.05 decades beyond the line on the envelope's side (below a lower frontier,
    above an upper one; 0 for a frontier no point crosses).
    """
    if side not in ("lower", "upper"):
        raise ValueError(f"side must be 'lower' or 'upper', got {side!r}")
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if side == "lower":
        out = lower_frontier(x, y, bins)
    else:  # the upper envelope of y is the lower envelope of 1/y, mirrored in log space
        with np.errstate(divide="ignore"):
            inv = np.where(y > 0, 1.0 / y, np.nan)
        out = lower_frontier(x, inv, bins)
        out = {**out, "slope": -out["slope"], "intercept": -out["intercept"],
               "env_y": [-v for v in out["env_y"]]}
    share = out.pop("share_below")
    return {**out, "share_beyond": share, "side": side}


def sweep_trend(sparsity, wd) -> dict:
    """WD to N(0,1) of one neuron over a sparsity sweep [S] (0 = dense): dense and last values, Spearman, monotonicity.

    Keys: wd_dense (at sparsity 0; NaN without it), wd_at_max_sparsity, max_sparsity, wd_ratio_max_to_dense,
    spearman_sparsity_wd (over the finite sweep points), monotone_nonincreasing.
    """
    s, w = np.asarray(sparsity, dtype=np.float64), np.asarray(wd, dtype=np.float64)
    if s.shape != w.shape or s.ndim != 1:
        raise ValueError(f"sparsity and wd must be 1-D of equal length, got {s.shape} and {w.shape}")
    ok = np.isfinite(s) & np.isfinite(w)
    s, w = s[ok], w[ok]
    order = np.argsort(s, kind="stable")
    s, w = s[order], w[order]
    dense = float(w[s == 0][0]) if (s == 0).any() else float("nan")
    last = float(w[-1]) if w.size else float("nan")
    rho = float(stats.spearmanr(s, w)[0]) if w.size >= 3 and np.ptp(w) > 0 else float("nan")
    return {"wd_dense": dense, "wd_at_max_sparsity": last, "max_sparsity": float(s[-1]) if s.size else float("nan"),
            "wd_ratio_max_to_dense": last / dense if dense > 0 else float("nan"),
            "spearman_sparsity_wd": rho, "monotone_nonincreasing": bool(w.size and np.all(np.diff(w) <= 0))}


def standardize(values: np.ndarray) -> np.ndarray:
    """z-scores of a 1-D sample by its own mean and population std (ddof=0), as WD to N(0,1) standardizes."""
    v = np.asarray(values, dtype=np.float64)
    sd = v.std()
    return (v - v.mean()) / sd if sd > 0 else np.full_like(v, np.nan)


def row_sparsity_columns(neurons: pd.DataFrame) -> dict[float, str]:
    """Sweep sparsity -> its `row_sparsity_s{s:g}` column of neurons.csv, sorted by sparsity."""
    found = {float(m.group(1)): c for c in neurons.columns if (m := _ROW_SPARSITY.match(c))}
    return dict(sorted(found.items()))


def row_sparsity_by_group(neurons: pd.DataFrame, group: str = "is_wn") -> pd.DataFrame:
    """Per sweep sparsity s > 0: mean row sparsity of the `group` rows (Wasserstein neurons), of all rows, of the rest.

    Columns: sparsity, rows, wn_rows, row_sparsity_wn, row_sparsity_layer, row_sparsity_rest,
    wn_over_layer, wn_over_rest, share_wn_above_layer_mean (WN rows sparser than the layer mean) and
    mannwhitney_p (one-sided: WN rows sparser than the rest).
    """
    columns = row_sparsity_columns(neurons)
    if not columns:
        raise KeyError("neurons table has no row_sparsity_s* columns (only the detail layer has them)")
    wn = neurons[group].astype(str).str.lower().isin(["true", "1"]).to_numpy()
    rows = []
    for s, col in columns.items():
        if s <= 0:
            continue
        v = neurons[col].to_numpy(dtype=np.float64)
        a, b, layer = v[wn], v[~wn], v.mean()
        p = (stats.mannwhitneyu(a, b, alternative="greater").pvalue
             if a.size and b.size and np.ptp(v) > 0 else np.nan)
        rows.append({"sparsity": s, "rows": v.size, "wn_rows": int(wn.sum()),
                     "row_sparsity_wn": a.mean() if a.size else np.nan, "row_sparsity_layer": layer,
                     "row_sparsity_rest": b.mean() if b.size else np.nan,
                     "wn_over_layer": a.mean() / layer if a.size and layer > 0 else np.nan,
                     "wn_over_rest": a.mean() / b.mean() if a.size and b.size and b.mean() > 0 else np.nan,
                     "share_wn_above_layer_mean": float((a > layer).mean()) if a.size else np.nan,
                     "mannwhitney_p": float(p)})
    return pd.DataFrame(rows)
