"""Population statistics of a layer's neurons with 95% bootstrap intervals (claims 1-4, 8, 9, 22, 23, 29, 30).

The unit is the neuron: a replicate redraws a layer's neurons with replacement. Where two groups are
compared (Wasserstein neurons against the rest) each group is redrawn on its own; where several models or
matrices enter one statistic (a minimum over layers, a trend over model sizes) each is redrawn on its own
and the statistic is taken per replicate. Claim 3 depends on two random stages, nested: its neurons (the
top-WD and the random ones, each group on its own), then the token pairs.

Claim 1's top set is a matrix's top 5% of neurons, at least TOP_MIN_NEURONS (the top 1% of a 64-row matrix
would be one neuron, a maximum): its mean WD over the matrix's median WD, and the same top set's WD gap over
the median (in WD units) against the gap for Gaussian samples of the same shape (tokens x neurons, at most
GAUSSIAN_NEURONS columns), whose WDs are pure sampling noise.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from entangle.bootstrap import (RESAMPLES, SEED, Estimate, bootstrap, bootstrap_groups, bootstrap_nested, draws,
                                from_replicates)

from .selection import jaccard, top_percent

TOP_PERCENT = 5.0  # claim 1: the top 5% of a matrix's neurons (the NC paper's Wasserstein neurons) ...
TOP_MIN_NEURONS = 5  # ... and at least this many ("a small group", not a maximum)
GAUSSIAN_NEURONS = 1024  # columns of claim 1's Gaussian baseline (the ratio hardly depends on it; memory does)
UNIT = "neurons"


# --- claim 1 ----------------------------------------------------------------------------------------------


def top_count(n: int, percent: float = TOP_PERCENT, at_least: int = TOP_MIN_NEURONS) -> int:
    """Size of claim 1's top set of n neurons: ceil(percent% of n), at least `at_least`, at most n."""
    return min(n, max(at_least, math.ceil(percent / 100 * n)))


def _top_and_median(samples: np.ndarray, percent: float, at_least: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean of the top set (`top_count`) and the median, per row of samples [B, n] (finite values): ([B], [B])."""
    k = top_count(samples.shape[1], percent, at_least)
    ordered = np.sort(samples, axis=1)
    return ordered[:, -k:].mean(1), np.median(ordered, axis=1)


def _top_over_median(samples: np.ndarray, percent: float, at_least: int = TOP_MIN_NEURONS) -> np.ndarray:
    """Mean of the top set over the median, per row of samples [B, n] (finite values)."""
    top, median = _top_and_median(samples, percent, at_least)
    return top / median


def _top_gap(samples: np.ndarray, percent: float, at_least: int = TOP_MIN_NEURONS) -> np.ndarray:
    """Mean of the top set minus the median (WD units), per row of samples [B, n] (finite values)."""
    top, median = _top_and_median(samples, percent, at_least)
    return top - median


def top_over_median(wd: np.ndarray, percent: float = TOP_PERCENT, at_least: int = TOP_MIN_NEURONS) -> float:
    """Mean WD of the top set (`top_count`) over the median WD (NaN neurons left out)."""
    w = np.asarray(wd, dtype=np.float64)
    w = w[np.isfinite(w)]
    return float(_top_over_median(w[None, :], percent, at_least)[0]) if w.size else float("nan")


def top_gap(wd: np.ndarray, percent: float = TOP_PERCENT, at_least: int = TOP_MIN_NEURONS) -> float:
    """Mean WD of the top set (`top_count`) minus the median WD (NaN neurons left out)."""
    w = np.asarray(wd, dtype=np.float64)
    w = w[np.isfinite(w)]
    return float(_top_gap(w[None, :], percent, at_least)[0]) if w.size else float("nan")


def gaussian_wd(tokens: int, neurons: int, method: str = "fast", seed: int = SEED) -> np.ndarray:
    """WD to N(0,1) of min(neurons, GAUSSIAN_NEURONS) standard-normal columns of `tokens` values (seeded): the
    noise floor of WD at this sample size. Generated 128 columns at a time."""
    from entangle.metrics.wasserstein import wasserstein_to_gaussian

    n = min(neurons, GAUSSIAN_NEURONS)
    rng = np.random.default_rng([seed, tokens, n])
    return np.concatenate([wasserstein_to_gaussian(rng.standard_normal((tokens, min(128, n - a)), dtype=np.float32),
                                                   method=method) for a in range(0, n, 128)])


def every_matrix_excess(matrices: list[dict], method: str = "fast", percent: float = TOP_PERCENT,
                        at_least: int = TOP_MIN_NEURONS, resamples: int = RESAMPLES,
                        seed: int = SEED) -> tuple[dict, list[dict]]:
    """Claim 1 over every analysed FFN matrix: matrices = [{"wd": [n], "tokens": T, ...}, ...].

    Returns ({"min_top_over_median": Estimate, "min_gap_excess_over_gaussian": Estimate, ...}, per-matrix rows).
    Per matrix: top_over_median = mean WD of the top set / median WD; top_gap = mean WD of the top set - median
    WD, and gap_excess_over_gaussian = top_gap - the same gap for Gaussian samples of the same shape (WD units).
    Each matrix's neurons (and its baseline's) are redrawn on their own; the minima over matrices are taken per
    replicate.
    """
    baselines: dict[tuple[int, int], np.ndarray] = {}
    rows, reps_ratio, reps_excess = [], [], []
    for m, entry in enumerate(matrices):
        w = np.asarray(entry["wd"], dtype=np.float64)
        w = w[np.isfinite(w)]
        shape = (int(entry["tokens"]), int(w.size))
        if shape not in baselines:
            baselines[shape] = gaussian_wd(*shape, method=method, seed=seed)
        g = baselines[shape]
        ratio, gap, gauss_gap = top_over_median(w, percent, at_least), top_gap(w, percent, at_least), \
            top_gap(g, percent, at_least)
        wr, gr = w[draws(w.size, resamples, seed + 2 * m)], g[draws(g.size, resamples, seed + 2 * m + 1)]
        reps_ratio.append(_top_over_median(wr, percent, at_least))
        reps_excess.append(_top_gap(wr, percent, at_least) - _top_gap(gr, percent, at_least))
        rows.append({**{k: v for k, v in entry.items() if k != "wd"}, "neurons": w.size,
                     "top_neurons": top_count(w.size, percent, at_least), "top_over_median": ratio,
                     "top_gap": gap, "gaussian_top_gap": gauss_gap, "gap_excess_over_gaussian": gap - gauss_gap,
                     "gaussian_top_over_median": top_over_median(g, percent, at_least),
                     "gaussian_median_wd": float(np.median(g)), "gaussian_neurons": g.size})
    values = np.array([r["top_over_median"] for r in rows])
    excess = np.array([r["gap_excess_over_gaussian"] for r in rows])
    n_min = min(r["neurons"] for r in rows)
    out = {"min_top_over_median": from_replicates(values.min(), np.min(reps_ratio, axis=0), UNIT, n_min),
           "min_gap_excess_over_gaussian": from_replicates(excess.min(), np.min(reps_excess, axis=0), UNIT, n_min),
           "median_top_over_median": float(np.median(values)), "matrices": len(rows),
           "matrices_top_over_median_ge_2": int((values >= 2).sum()),
           "matrices_gap_above_gaussian": int((excess > 0).sum()), "top_percent": percent,
           "top_min_neurons": at_least, "top_neurons_min": min(r["top_neurons"] for r in rows)}
    return out, rows


# --- claims 2-4 -----------------------------------------------------------------------------------------


def spearman(x: np.ndarray, y: np.ndarray) -> Estimate:
    """Spearman's rho of two per-neuron statistics (finite pairs), neurons redrawn."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    ok = np.isfinite(x) & np.isfinite(y)
    return bootstrap(lambda a, b: stats.spearmanr(a, b)[0], x[ok], y[ok], unit=UNIT)


def hard_pair_ratio(hard: np.ndarray, top: np.ndarray, other: np.ndarray, resamples: int = RESAMPLES,
                    seed: int = SEED) -> Estimate:
    """Mean hard-pair share of the `top` neurons over that of the `other` neurons: hard [P, neurons] (1/0/NaN per
    pair, `io_relationship.hard_pairs`); top, other: column indices. 95% interval nested: the top and the other
    neurons redrawn (each group on its own), then the token pairs (the same pairs for every neuron)."""
    hard = np.asarray(hard, dtype=np.float64)
    top, other = np.asarray(top, dtype=np.int64), np.asarray(other, dtype=np.int64)

    def ratio(h, a_cols, b_cols):
        with np.errstate(all="ignore"):
            a, b = np.nanmean(np.nanmean(h[:, a_cols], 0)), np.nanmean(np.nanmean(h[:, b_cols], 0))
        return a / b if b > 0 else np.nan

    return bootstrap_nested(lambda outer, pairs: ratio(hard[pairs], top[outer[0]], other[outer[1]]),
                            ratio(hard, top, other), [top.size, other.size], hard.shape[0],
                            unit="neurons, then token pairs", resamples=resamples, seed=seed)


def overlap(wd: np.ndarray, magnitude: np.ndarray, percent: float) -> dict:
    """Claim 4: Jaccard of the top-p% WD and top-p% mean-|w| sets, and mean |w| of the top-WD set over the rest's;
    neurons redrawn, both sets re-chosen per redraw."""
    wd, magnitude = np.asarray(wd, dtype=np.float64), np.asarray(magnitude, dtype=np.float64)

    def jac(w, m):
        return jaccard(top_percent(w, percent), top_percent(m, percent))

    def mag_ratio(w, m):
        top = top_percent(w, percent)
        rest = np.setdiff1d(np.arange(len(w)), top)
        return m[top].mean() / m[rest].mean() if top.size and rest.size else np.nan

    return {"jaccard_layer": bootstrap(jac, wd, magnitude, unit=UNIT),
            "mean_abs_weight_ratio_wn_to_rest": bootstrap(mag_ratio, wd, magnitude, unit=UNIT)}


# --- claims 8, 9, 23: training dynamics ---------------------------------------------------------------


def _ratio_of_means(a, b):
    return a.mean() / b.mean() if b.mean() > 0 else np.nan


def update_ratio(norms: np.ndarray, wns: np.ndarray) -> Estimate:
    """Claim 8: mean cumulative row update of the WNs over that of the other neurons; norms [intervals, n]."""
    cumulative = np.asarray(norms, dtype=np.float64).sum(0)
    rest = np.setdiff1d(np.arange(cumulative.size), wns)
    return bootstrap_groups(_ratio_of_means, [cumulative[wns], cumulative[rest]], unit=UNIT)


def early_over_final(wd_early: np.ndarray, wd_final: np.ndarray) -> Estimate:
    """Claim 9: mean WD of the tracked WNs at the early checkpoint over their mean final WD, WNs redrawn."""
    return bootstrap(_ratio_of_means, np.asarray(wd_early, np.float64), np.asarray(wd_final, np.float64), unit=UNIT)


def excess_early_over_final(wd_early: np.ndarray, wd_final: np.ndarray, wns: np.ndarray, resamples: int = RESAMPLES,
                            seed: int = SEED) -> Estimate:
    """Claim 9: the WNs' excess over the other neurons, (mean WD of WNs - mean WD of the rest), at the early
    checkpoint over the same at the final one; wd_early, wd_final [n]. WNs and the rest redrawn separately."""
    both = np.stack([np.asarray(wd_early, np.float64), np.asarray(wd_final, np.float64)], axis=1)  # [n, 2]
    rest = np.setdiff1d(np.arange(len(both)), wns)

    def ratio(a, b):
        final = a[:, 1].mean() - b[:, 1].mean()
        return (a[:, 0].mean() - b[:, 0].mean()) / final if final > 0 else np.nan

    return bootstrap_groups(ratio, [both[wns], both[rest]], unit=UNIT, resamples=resamples, seed=seed)


def early_top_overlap(wd_early: np.ndarray, wns: np.ndarray) -> dict:
    """Share of the final WNs that are among the early checkpoint's top-len(wns) WD neurons, and its chance level."""
    early = np.argsort(-np.nan_to_num(np.asarray(wd_early, np.float64), nan=-np.inf), kind="stable")[:len(wns)]
    return {"early_top_overlap_share": float(np.isin(wns, early).mean()) if len(wns) else None,
            "early_top_overlap_chance": len(wns) / len(wd_early) if len(wd_early) else None}


def interval_ratios(norms: np.ndarray, wns: np.ndarray) -> dict:
    """Claim 23: WN over other neurons' mean update in the first and in the last interval; norms [intervals, n]."""
    norms = np.asarray(norms, dtype=np.float64)
    rest = np.setdiff1d(np.arange(norms.shape[1]), wns)
    groups = [norms[:, wns].T, norms[:, rest].T]  # neurons first: [n_group, intervals]
    return {"first_interval_ratio_largest": bootstrap_groups(lambda a, b: _ratio_of_means(a[:, 0], b[:, 0]), groups,
                                                             unit=UNIT),
            "last_interval_ratio_largest": bootstrap_groups(lambda a, b: _ratio_of_means(a[:, -1], b[:, -1]), groups,
                                                            unit=UNIT)}


# --- claim 22: WD against model size ---------------------------------------------------------------------


def size_trend(wd_by_model: list[np.ndarray], resamples: int = RESAMPLES, seed: int = SEED) -> dict:
    """Spearman's rho between model size (list order, smallest first) and the mean, max and median WD of each
    model's neurons; each model's neurons redrawn on their own."""
    models = [np.asarray(w, dtype=np.float64)[np.isfinite(w)] for w in wd_by_model]
    rank = np.arange(len(models))
    stats_of = {"mean": np.mean, "max": np.max, "median": np.median}
    out = {}
    for key, f in stats_of.items():
        point = [f(w) for w in models]
        reps = np.stack([f(w[draws(w.size, resamples, seed + k)], axis=1) for k, w in enumerate(models)], axis=1)
        rho = [stats.spearmanr(rank, r)[0] if np.ptp(r) > 0 else np.nan for r in reps]
        value = stats.spearmanr(rank, point)[0] if len(models) > 2 and np.ptp(point) > 0 else np.nan
        out[f"spearman_size_{key}_wd"] = (from_replicates(value, rho, UNIT, min(w.size for w in models))
                                         if len(models) > 2 else None)
    return out


# --- claims 29, 30: negative-half multimodality ----------------------------------------------------------


def share(flags: np.ndarray) -> Estimate:
    """Share of neurons with a property (booleans [n]), neurons redrawn; value None for no neurons."""
    flags = np.asarray(flags, dtype=np.float64)
    if flags.size == 0:
        return Estimate(None, None, None, UNIT, 0)
    return bootstrap(np.mean, flags, unit=UNIT)
