"""Measures of how well a sparse computation reproduces a neuron, and of what predicts it (WD paper §3).

- relative improvement RI = RMSE(SparseGPT, dense) / RMSE(Sparse Expansion, dense) on held-out tokens, also as
  a percentage 100 * (1 - 1/RI);
- WD between two output samples in units of the dense output's standard deviation (WD-F6);
- weighted WD / MD: the cluster-size-weighted mean over experts of a per-cluster statistic (WD-F5b/c);
- expert separation: the share of a neuron's (expanded) output variance explained by its tokens' experts (WD-F1);
- the optimal number of Gaussian-mixture components by BIC (WD-F7);
- PCA components reaching a share of variance, and the lower frontier of a log-log cloud (WD-F8).
"""

from __future__ import annotations

import numpy as np
from scipy import stats
from sklearn.mixture import GaussianMixture

from entangle.metrics.mapping import mapping_difficulty
from entangle.metrics.wasserstein import wasserstein_to_gaussian


def relative_improvement(rmse_baseline: np.ndarray, rmse_expanded: np.ndarray) -> np.ndarray:
    """RI per neuron (ratio; > 1 means Sparse Expansion is closer to the dense output). NaN where undefined."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ri = np.asarray(rmse_baseline, dtype=np.float64) / np.asarray(rmse_expanded, dtype=np.float64)
    return np.where(np.isfinite(ri), ri, np.nan)


def ri_percent(ri: np.ndarray | float) -> np.ndarray | float:
    """RI as the papers' percentage, 100 * (1 - 1/RI): the share of SparseGPT's error that expansion removes."""
    return 100.0 * (1.0 - 1.0 / np.asarray(ri, dtype=np.float64))


def wd_between(sample: np.ndarray, dense: np.ndarray) -> float:
    """1-Wasserstein distance between two 1-D output samples, in units of the dense sample's std (ddof=0)."""
    dense = np.asarray(dense, dtype=np.float64)
    mu, sd = dense.mean(), dense.std()
    if not sd > 0:
        return float("nan")
    return float(stats.wasserstein_distance((np.asarray(sample, dtype=np.float64) - mu) / sd, (dense - mu) / sd))


def expert_separation(values: np.ndarray, labels: np.ndarray) -> float:
    """Correlation ratio eta^2 of a neuron's outputs [T] by expert [T]: between-expert / total variance, in [0, 1].

    1 when each expert's outputs sit at one value apart from the others; 0 when every expert sees the
    same distribution.
    """
    values = np.asarray(values, dtype=np.float64)
    total = values.var()
    if not total > 0:
        return float("nan")
    _, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    means = np.bincount(inverse, weights=values) / counts
    return float((counts * (means - values.mean()) ** 2).sum() / counts.sum() / total)


def _clusters(labels: np.ndarray, min_tokens: int) -> list[np.ndarray]:
    return [np.flatnonzero(labels == c) for c in np.unique(labels) if (labels == c).sum() >= min_tokens]


def weighted_wd(values: np.ndarray, labels: np.ndarray, min_tokens: int = 32) -> np.ndarray:
    """Cluster-size-weighted mean of each cluster's WD to N(0,1): values [T, n], labels [T] -> fp64 [n].

    Clusters with fewer than `min_tokens` tokens are left out (weights renormalised over the rest).
    """
    values = np.asarray(values)
    total, weights = np.zeros(values.shape[1]), np.zeros(values.shape[1])
    for idx in _clusters(np.asarray(labels), min_tokens):
        wd = wasserstein_to_gaussian(np.ascontiguousarray(values[idx], dtype=np.float32), method="exact")
        ok = np.isfinite(wd)
        total[ok] += idx.size * wd[ok]
        weights[ok] += idx.size
    with np.errstate(invalid="ignore"):
        return np.where(weights > 0, total / weights, np.nan)


def weighted_md(inputs: np.ndarray, values: np.ndarray, labels: np.ndarray, pairs: int, seed: int = 0,
                min_tokens: int = 32, n_x: float | None = None, n_y: np.ndarray | None = None) -> np.ndarray:
    """Cluster-size-weighted mean of each cluster's mapping difficulty: inputs [T, d], values [T, n] -> fp64 [n].

    Each cluster draws min(pairs, tokens // 2) token pairs of its own (seeded); small clusters are left out.
    n_x (float), n_y [n]: the neurons' global normalisers (those of their MD over all tokens,
    `mapping_difficulty(...).n_x / .n_y`). With them a cluster's OI ratios are on the same scale as the
    global MD, so splitting the tokens at random leaves the weighted MD unchanged in expectation (WD-F5c;
    README "Choices"). Without them every cluster re-normalises by its own max input distance and median
    output distance, which alone raises MD for every neuron (a definition this project no longer uses).
    """
    values = np.asarray(values)
    if (n_x is None) != (n_y is None):
        raise ValueError("give both global normalisers n_x and n_y, or neither")
    total, weights = np.zeros(values.shape[1]), np.zeros(values.shape[1])
    for idx in _clusters(np.asarray(labels), max(min_tokens, 4)):
        md = mapping_difficulty(np.asarray(inputs)[idx], values[idx], min(pairs, idx.size // 2), seed, n_x, n_y).md
        ok = np.isfinite(md)
        total[ok] += idx.size * md[ok]
        weights[ok] += idx.size
    with np.errstate(invalid="ignore"):
        return np.where(weights > 0, total / weights, np.nan)


def random_clusters(labels: np.ndarray, seed: int = 0) -> np.ndarray:
    """Random clusters of the same sizes: `labels` [T] permuted over the tokens (seeded). The control for
    statistics that move whenever tokens are split into groups (claims 15 and 16)."""
    return np.random.default_rng(seed).permutation(np.asarray(labels))


def gmm_components(values: np.ndarray, max_components: int = 10, seed: int = 0) -> int:
    """Number of 1-D Gaussian-mixture components (1..max_components) with the lowest BIC for one neuron's outputs [T]."""
    x = np.asarray(values, dtype=np.float64).reshape(-1, 1)
    if not x.std() > 0:
        return 1
    bics = [GaussianMixture(k, random_state=seed, reg_covar=1e-6 * x.var()).fit(x).bic(x)
            for k in range(1, max_components + 1)]
    return int(np.argmin(bics)) + 1


def pca_components(x: np.ndarray, share: float = 0.9) -> int:
    """Fewest principal components of x [N, d] whose explained variance reaches `share` of the total."""
    x = np.asarray(x, dtype=np.float64)
    ev = np.linalg.eigvalsh(np.cov(x, rowvar=False).reshape(x.shape[1], x.shape[1]))[::-1].clip(min=0)
    if not ev.sum() > 0:
        return 0
    return int(np.searchsorted(np.cumsum(ev) / ev.sum(), share - 1e-12) + 1)


def linear_fit(x: np.ndarray, y: np.ndarray) -> dict:
    """OLS of y on x over finite pairs: slope, intercept, r2, n."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3 or np.ptp(x[ok]) == 0:
        return {"slope": np.nan, "intercept": np.nan, "r2": 0.0 if ok.sum() >= 3 else np.nan, "n": int(ok.sum())}
    fit = stats.linregress(x[ok], y[ok])
    return {"slope": fit.slope, "intercept": fit.intercept, "r2": fit.rvalue**2, "n": int(ok.sum())}


def lower_frontier(x: np.ndarray, y: np.ndarray, bins: int = 8) -> dict:
    """Lower envelope of a cloud in log-log space and the line through it.

    x, y > 0 [N]. log10(x) is cut into `bins` equal-width bins; the lowest log10(y) of each non-empty bin
    forms the envelope, fitted by OLS. Returns the fit (slope, intercept, r2, n) on the envelope points,
    those points (`env_x`, `env_y` in log10), and `share_below`: the share of all points more than 0.05
    decades below the fitted line (a frontier no cluster falls below has 0).
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    ok = (x > 0) & (y > 0) & np.isfinite(x) & np.isfinite(y)
    lx, ly = np.log10(x[ok]), np.log10(y[ok])
    if lx.size == 0:
        return {"slope": np.nan, "intercept": np.nan, "r2": np.nan, "n": 0, "env_x": [], "env_y": [],
                "share_below": np.nan}
    edges = np.linspace(lx.min(), lx.max(), bins + 1)
    which = np.clip(np.searchsorted(edges, lx, side="right") - 1, 0, bins - 1)
    env = [np.flatnonzero(which == b)[np.argmin(ly[which == b])] for b in range(bins) if (which == b).any()]
    fit = linear_fit(lx[env], ly[env])
    below = ly < fit["intercept"] + fit["slope"] * lx - 0.05 if np.isfinite(fit["slope"]) else np.zeros(0, bool)
    return {**fit, "env_x": lx[env].tolist(), "env_y": ly[env].tolist(),
            "share_below": float(below.mean()) if below.size else np.nan}
