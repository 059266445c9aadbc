"""Choosing neurons: top-k by a statistic, the reference's top-p% rule, random controls, overlaps."""

from __future__ import annotations

import re

import numpy as np

# Selections of WD-F3's partial sparsification; `random` runs once per seed as random0, random1, ...
SELECTIONS = ("wd", "mean", "variance", "magnitude", "random")


def top_k(values: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest finite values, largest first (NaN never selected): int64 [k]."""
    values = np.asarray(values, dtype=np.float64)
    finite = np.flatnonzero(np.isfinite(values))
    if k > finite.size:
        raise ValueError(f"asked for the top {k} neurons but only {finite.size} have a finite value")
    order = finite[np.argsort(-values[finite], kind="stable")]
    return order[:k]


def top_percent(values: np.ndarray, percent: float) -> np.ndarray:
    """Neurons with value strictly above the (100 - percent)th percentile, as the reference code selects.

    For percent = 5 and 8192 distinct values this keeps 410 (NumPy's linear interpolation puts the
    threshold between ranks 7781 and 7782; the "409" per layer read off the reference code is int(0.05 * 8192)). NaN is ignored.
    Returns int64 [m].
    """
    if not 0 <= percent <= 100:
        raise ValueError(f"percent must be in [0, 100], got {percent}")
    values = np.asarray(values, dtype=np.float64)
    if percent == 0:
        return np.array([], dtype=np.int64)
    threshold = np.nanpercentile(values, 100 - percent)
    return np.flatnonzero(np.nan_to_num(values, nan=-np.inf) > threshold)


def random_neurons(n: int, count: int, seed: int, exclude: np.ndarray | None = None) -> np.ndarray:
    """`count` distinct neurons out of n, uniformly without replacement, seeded: int64 [count]."""
    pool = np.setdiff1d(np.arange(n), exclude) if exclude is not None else np.arange(n)
    if count > pool.size:
        raise ValueError(f"cannot draw {count} neurons from {pool.size}")
    return np.sort(np.random.default_rng(seed).choice(pool, size=count, replace=False))


def median_neurons(values: np.ndarray, k: int) -> np.ndarray:
    """The k neurons whose values are closest to the median (typical neurons for galleries)."""
    values = np.asarray(values, dtype=np.float64)
    distance = np.abs(values - np.nanmedian(values))
    return np.argsort(np.nan_to_num(distance, nan=np.inf), kind="stable")[:k]


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """|a ∩ b| / |a ∪ b| of two index sets (0 for two empty sets)."""
    a, b = set(np.asarray(a).tolist()), set(np.asarray(b).tolist())
    return len(a & b) / len(a | b) if a | b else 0.0


def selection_names(selections: list[str], random_seeds: int) -> list[str]:
    """Config selections -> one name per run: 'random' becomes random0 .. random{random_seeds - 1}."""
    out = []
    for sel in selections:
        if sel not in SELECTIONS:
            raise ValueError(f"unknown selection {sel!r}; choose from {', '.join(SELECTIONS)}")
        out += [f"random{i}" for i in range(random_seeds)] if sel == "random" else [sel]
    return out


def parse_selection(name: str) -> tuple[str, int | None]:
    """'random3' -> ('random', 3); 'wd' -> ('wd', None)."""
    m = re.fullmatch(r"random(\d+)", name)
    if m:
        return "random", int(m.group(1))
    if name not in SELECTIONS or name == "random":
        raise ValueError(f"unknown selection {name!r}; use one of wd, mean, variance, magnitude, random<seed>")
    return name, None
