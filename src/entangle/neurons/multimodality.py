"""An operational test for "multimodal structure in the negative pre-activation space" (NC-F7/F8).

The papers judge it by eye. Here, fixed before looking at any result: take the neuron's negative
pre-activations (x < 0, raw units), fit a Gaussian KDE to them (Silverman's bandwidth times
`bandwidth_scale`, on at most `max_points` evenly strided samples), evaluate it on a grid over
[min(x), 0], and count the local maxima whose prominence is at least `min_prominence` times the
highest density. Two or more such modes = multimodal. A neuron with fewer than `min_points`
negative values has no negative structure (0 modes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import find_peaks
from scipy.stats import gaussian_kde


@dataclass(frozen=True)
class ModeTest:
    bandwidth_scale: float = 0.5
    min_prominence: float = 0.05
    grid: int = 512
    max_points: int = 20_000
    min_points: int = 50


def negative_modes(x: np.ndarray, test: ModeTest = ModeTest()) -> int:
    """Number of KDE modes of the negative part of `x` [T] (see module docstring)."""
    neg = np.asarray(x, dtype=np.float64)
    neg = neg[neg < 0]
    if neg.size < test.min_points or np.ptp(neg) == 0:
        return 0
    if neg.size > test.max_points:
        neg = np.sort(neg)[:: int(np.ceil(neg.size / test.max_points))]
    kde = gaussian_kde(neg, bw_method="silverman")
    kde.set_bandwidth(kde.factor * test.bandwidth_scale)
    grid = np.linspace(neg.min(), 0.0, test.grid)
    density = kde(grid)
    # pad with zeros so a mode at either end of the grid counts as a peak
    padded = np.concatenate([[0.0], density, [0.0]])
    peaks, _ = find_peaks(padded, prominence=test.min_prominence * density.max())
    return int(peaks.size)


def is_multimodal(x: np.ndarray, test: ModeTest = ModeTest()) -> bool:
    return negative_modes(x, test) >= 2
