"""Seeded percentile bootstrap: the 95% interval of a claim's statistic (claims.yaml's verdicts).

A statistic is a function of arrays whose first axis is the resampling unit: evaluation windows
(perplexities), neurons (population statistics), token pairs (MD, OI ratios), held-out tokens (one
neuron's outputs) or seeds. Three ways to resample:

- `bootstrap(stat, a, b, ...)`: one draw of the unit, shared by every array (paired: e.g. the
  per-window NLL of two conditions evaluated on the same windows, or two statistics of the same neurons);
- `bootstrap_groups(stat, [g1, g2, ...])`: each group redrawn on its own, keeping its size (stratified:
  e.g. the Wasserstein neurons and the rest of the layer);
- `from_replicates(value, replicates, ...)`: for callers that compute the replicates themselves (e.g.
  the minimum over layers of per-layer replicates drawn with `draws`);
- `bootstrap_nested(statistic, value, outer_sizes, inner_size)`: two random stages, nested: per replicate
  each outer group (neurons, router seeds) redrawn on its own, then the inner unit (token pairs, tokens)
  redrawn; for statistics that depend on both draws (which neurons, and which pairs).

The interval is the (2.5, 97.5) percentile of the finite replicates, widened to contain the point
estimate. It is left out (None) when there are fewer than 2 units or fewer than half the replicates are
finite (e.g. most redraws hold no Wasserstein neuron): the claim is then judged on the value alone.
Every `Estimate` carries its unit, resample count, level and seed; claims JSON stores it as a dict
{"value", "ci_low", "ci_high", "unit", "resamples", "level", "seed"}, which `entangle.claims` reads.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

RESAMPLES = 1000  # bootstrap replicates per statistic
SEED = 0  # numpy default_rng seed of the draws
LEVEL = 0.95  # two-sided percentile interval


@dataclass(frozen=True)
class Estimate:
    """A statistic with its percentile bootstrap interval (None where there is none)."""

    value: float | None
    ci_low: float | None
    ci_high: float | None
    unit: str
    resamples: int
    level: float = LEVEL
    seed: int = SEED

    def to_json(self) -> dict:
        return {k: _finite(v) for k, v in asdict(self).items()}

    @property
    def has_interval(self) -> bool:
        return self.ci_low is not None and self.ci_high is not None


def _finite(v):
    if isinstance(v, (float, np.floating)):
        return float(v) if math.isfinite(v) else None
    if isinstance(v, np.integer):
        return int(v)
    return v


def draws(n: int, resamples: int = RESAMPLES, seed: int = SEED) -> np.ndarray:
    """Bootstrap index draws: int64 [resamples, n], uniform with replacement from range(n)."""
    return np.random.default_rng(seed).integers(0, n, size=(resamples, n))


def from_replicates(value, replicates, unit: str, units: int, level: float = LEVEL, seed: int = SEED) -> Estimate:
    """An Estimate from a point value and its bootstrap replicates [B] drawn over `units` units."""
    reps = np.asarray(replicates, dtype=np.float64).reshape(-1)
    value = _finite(float(value)) if value is not None and np.isfinite(value) else None
    finite = reps[np.isfinite(reps)]
    if value is None or units < 2 or finite.size < max(1, reps.size / 2):
        return Estimate(value, None, None, unit, int(reps.size), level, seed)
    alpha = 100 * (1 - level) / 2
    lo, hi = np.percentile(finite, [alpha, 100 - alpha])
    return Estimate(value, float(min(lo, value)), float(max(hi, value)), unit, int(reps.size), level, seed)


def _take(a, idx):
    return np.asarray(a)[idx]


def bootstrap(statistic: Callable[..., float], *arrays, unit: str, resamples: int = RESAMPLES, seed: int = SEED,
              level: float = LEVEL) -> Estimate:
    """Paired bootstrap: `statistic(*arrays)` with the first axis of every array redrawn together."""
    n = len(arrays[0])
    if any(len(a) != n for a in arrays):
        raise ValueError(f"paired bootstrap needs arrays of equal length, got {[len(a) for a in arrays]}")
    value = _call(statistic, arrays)
    if n < 2:
        return Estimate(_finite(value), None, None, unit, 0, level, seed)
    reps = [_call(statistic, [_take(a, idx) for a in arrays]) for idx in draws(n, resamples, seed)]
    return from_replicates(value, reps, unit, n, level, seed)


def bootstrap_groups(statistic: Callable[..., float], groups: Sequence, unit: str, resamples: int = RESAMPLES,
                     seed: int = SEED, level: float = LEVEL) -> Estimate:
    """Stratified bootstrap: `statistic(*groups)`, each group (an array, or a tuple of arrays redrawn
    together) redrawn on its own with its own size."""
    packed = [g if isinstance(g, tuple) else (g,) for g in groups]
    sizes = [len(g[0]) for g in packed]
    value = _call(statistic, [_unpack(g) for g in packed])
    if min(sizes, default=0) < 2:
        return Estimate(_finite(value), None, None, unit, 0, level, seed)
    index = [draws(n, resamples, seed + 7919 * k) for k, n in enumerate(sizes)]
    reps = [_call(statistic, [_unpack(tuple(_take(a, index[k][b]) for a in g)) for k, g in enumerate(packed)])
            for b in range(resamples)]
    return from_replicates(value, reps, unit, min(sizes), level, seed)


def bootstrap_nested(statistic: Callable[[list[np.ndarray], np.ndarray], float], value, outer_sizes: Sequence[int],
                     inner_size: int, unit: str, resamples: int = RESAMPLES, seed: int = SEED,
                     level: float = LEVEL) -> Estimate:
    """Two-stage bootstrap. Per replicate, each outer group of units (e.g. the top-WD and the random neurons; the
    router seeds of each K) is redrawn with replacement on its own, then the inner units (e.g. token pairs, the
    same for every outer unit) are redrawn: `statistic(outer_indices, inner_index)` with outer_indices a list
    of int64 [size] (one per group) and inner_index int64 [inner_size]. `value` is the statistic on the data as
    drawn. The interval needs >= 2 inner units; an outer group of one unit is kept as it is."""
    reps = nested_replicates(statistic, outer_sizes, inner_size, resamples, seed)
    return from_replicates(value, reps, unit, inner_size, level, seed)


def nested_replicates(statistic: Callable[[list[np.ndarray], np.ndarray], object], outer_sizes: Sequence[int],
                      inner_size: int, resamples: int = RESAMPLES, seed: int = SEED) -> np.ndarray:
    """The replicates of `bootstrap_nested` (the same draws for the same seed): float64 [resamples, ...], for
    statistics that return several numbers from one redraw (each then goes to `from_replicates`)."""
    outer = [draws(n, resamples, seed + 7919 * (k + 1)) for k, n in enumerate(outer_sizes)]
    inner = draws(inner_size, resamples, seed)
    with np.errstate(all="ignore"):
        return np.array([statistic([o[b] for o in outer], inner[b]) for b in range(resamples)], dtype=np.float64)


def _unpack(group: tuple):
    return group[0] if len(group) == 1 else group


def _call(statistic, arrays) -> float:
    with np.errstate(all="ignore"):
        v = statistic(*arrays)
    return float(v) if v is not None else float("nan")


def mean_over(values: np.ndarray, resamples: int = RESAMPLES, seed: int = SEED) -> np.ndarray:
    """Bootstrap replicates of the mean over the first axis, vectorized: values [n, ...] -> [resamples, ...].

    The same draws as `bootstrap` with the same seed (so paired statistics of several arrays can be
    built from several calls); memory resamples x n for the draw counts."""
    values = np.asarray(values, dtype=np.float64)
    n = values.shape[0]
    counts = np.stack([np.bincount(row, minlength=n) for row in draws(n, resamples, seed)]).astype(np.float64)
    return (counts @ values.reshape(n, -1) / n).reshape(resamples, *values.shape[1:])
