"""How often a neuron maps nearby inputs to far-apart outputs (WD-F2b,d; claim 3).

A pair is "hard" when its normalized input distance ‖Δx‖/N_x is below the median over the pairs
and its normalized output distance |Δy|/N_y is above `output_factor` (default 2: twice the median
output distance). Fixed before looking at results.
"""

from __future__ import annotations

import numpy as np


def hard_pair_share(input_distance: np.ndarray, output_distance: np.ndarray, output_factor: float = 2.0) -> float:
    """Share of pairs with below-median input distance and output distance > `output_factor` (both [P])."""
    ok = np.isfinite(input_distance) & np.isfinite(output_distance) & (input_distance > 0)
    if not ok.any():
        return float("nan")
    near = input_distance[ok] < np.median(input_distance[ok])
    return float(np.mean(near & (output_distance[ok] > output_factor)))
