"""An operational test for "multimodal structure in the negative pre-activation space" (NC-F7/F8).

The papers judge it by eye. Here: take the neuron's negative pre-activations (x < 0, raw units),
fit a Gaussian KDE to them reflected at 0 (so the boundary does not bend the density; Silverman's
bandwidth of the negative values times `bandwidth_scale`; at most `max_points` evenly strided
samples), evaluate it on a grid over [min(x), 0], and count the interior local maxima and a maximum
at the left end whose prominence is at least `min_prominence` times the highest density. Two or more such modes = multimodal. A neuron with fewer than `min_points` negative values
has no negative structure (0 modes).

A density still rising at x = 0 is the flank of a mode at x >= 0, so it does not count as a negative
mode. (First version, changed after looking at the smoke and mini galleries: it zero-padded both
ends, which counted that flank, and used half of Silverman's bandwidth, which counted token-level
jaggedness, and had no boundary correction, which put a spurious peak just left of 0; all three made
unimodal negative halves look bimodal.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import find_peaks
from scipy.stats import gaussian_kde


@dataclass(frozen=True)
class ModeTest:
    bandwidth_scale: float = 1.0
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
    # Silverman's bandwidth of the negative half, applied to the half reflected at 0 (boundary correction)
    bandwidth = test.bandwidth_scale * (0.75 * neg.size) ** -0.2 * neg.std(ddof=1)
    mirrored = np.concatenate([neg, -neg])
    kde = gaussian_kde(mirrored, bw_method=bandwidth / mirrored.std(ddof=1))
    grid = np.linspace(neg.min(), 0.0, test.grid)
    density = kde(grid)
    # a zero before the left end lets a mode there count; nothing after x = 0 (see module docstring)
    padded = np.concatenate([[0.0], density])
    peaks, _ = find_peaks(padded, prominence=test.min_prominence * density.max())
    return int(peaks.size)


def is_multimodal(x: np.ndarray, test: ModeTest = ModeTest()) -> bool:
    return negative_modes(x, test) >= 2
