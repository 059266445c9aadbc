"""Training dynamics of neurons across checkpoints: row-update norms and WD trajectories."""

from __future__ import annotations

import numpy as np


def row_update_norms(weights: list[np.ndarray]) -> np.ndarray:
    """‖w_t − w_{t−1}‖₂ per neuron (row) between successive checkpoints.

    weights: list of [n, d_in] matrices in checkpoint order. Returns float64 [len(weights) − 1, n].
    """
    if len(weights) < 2:
        raise ValueError("need at least two checkpoints to measure an update")
    stacked = np.stack([np.asarray(w, dtype=np.float64) for w in weights])
    return np.linalg.norm(np.diff(stacked, axis=0), axis=2)


def mean_sem(values: np.ndarray, axis: int = -1) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard error of the mean (ddof=1) along `axis`, NaN-aware."""
    values = np.asarray(values, dtype=np.float64)
    count = np.sum(np.isfinite(values), axis=axis)
    mean = np.nanmean(values, axis=axis)
    sem = np.nanstd(values, axis=axis, ddof=1) / np.sqrt(np.maximum(count, 1))
    return mean, sem


def first_step_reaching(steps: np.ndarray, trajectory: np.ndarray, fraction: float) -> int | None:
    """First step at which `trajectory` [n_ckpt] reaches `fraction` of its final value (None if never)."""
    trajectory = np.asarray(trajectory, dtype=np.float64)
    hit = np.flatnonzero(trajectory >= fraction * trajectory[-1])
    return int(np.asarray(steps)[hit[0]]) if hit.size else None
