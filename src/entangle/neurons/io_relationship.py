"""How often a neuron maps nearby inputs to far-apart outputs (WD-F2b,d; claim 3).

A pair is "hard" when its normalized input distance ‖Δx‖/N_x is below the median over the pairs
and its normalized output distance |Δy|/N_y is above `output_factor` (default 2: twice the median
output distance). Fixed before looking at results.
"""

from __future__ import annotations

import numpy as np


def hard_pairs(input_distance: np.ndarray, output_distance: np.ndarray, output_factor: float = 2.0) -> np.ndarray:
    """Per pair: 1.0 if hard (below-median input distance, output distance > `output_factor`), 0.0 if not,
    NaN for pairs that do not count (identical inputs, dead neuron): float64 [P]. The median is over these pairs."""
    input_distance, output_distance = np.asarray(input_distance, np.float64), np.asarray(output_distance, np.float64)
    ok = np.isfinite(input_distance) & np.isfinite(output_distance) & (input_distance > 0)
    out = np.full(input_distance.shape, np.nan)
    if ok.any():
        near = input_distance[ok] < np.median(input_distance[ok])
        out[ok] = near & (output_distance[ok] > output_factor)
    return out


def hard_pair_share(input_distance: np.ndarray, output_distance: np.ndarray, output_factor: float = 2.0) -> float:
    """Share of pairs with below-median input distance and output distance > `output_factor` (both [P])."""
    hard = hard_pairs(input_distance, output_distance, output_factor)
    return float(np.nanmean(hard)) if np.isfinite(hard).any() else float("nan")
