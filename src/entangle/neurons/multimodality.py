"""An operational test for "multimodal structure in the negative pre-activation space" (NC-F7/F8).

The papers judge it by eye. Here: a Gaussian KDE of the neuron's values (raw units) on a grid from
min(x) to 0 (`grid` points) and on, with the same step, right of 0 for as far as the negative half
spans (or to max(x)). Bandwidth: Silverman's of the negative values times `bandwidth_scale`; at most
`max_points` evenly strided negative values, the values >= 0 strided alike. A mode is a local maximum
whose prominence is at least `min_prominence` times the highest density over x <= 0 (a zero before
the left end lets a mode there count). It is a negative mode if it lies at x <= 0, or right of 0 with
the density never more than that prominence below its top between 0 and the top: a mode at or next
to 0 straddles the boundary and belongs to the negative half too. A density that climbs more than
that from 0 to a mode right of 0 is that mode's flank, not a negative mode. Two or more negative
modes = multimodal. A neuron with fewer than `min_points` negative values has no negative structure
(0 modes).

The KDE sees the values on both sides of 0, so nothing bends the density at the boundary. A KDE of
the negative half alone would need a boundary correction: zero-padded it counts the flank of a mode
at x > 0; reflected at 0 it merges a mode at or next to 0 with its mirror image into a maximum at
the grid's end, which cannot be told from such a flank.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import find_peaks


@dataclass(frozen=True)
class ModeTest:
    bandwidth_scale: float = 1.0
    min_prominence: float = 0.05
    grid: int = 512
    max_points: int = 20_000
    min_points: int = 50


_KERNEL_SUPPORT = 6.0  # bandwidths; a value farther right of the grid adds under exp(-18) of a kernel's top


def _kde(points: np.ndarray, grid: np.ndarray, bandwidth: float, chunk: int = 2048) -> np.ndarray:
    """Unnormalised Gaussian KDE of `points` [n] on `grid` [g] (the scale cancels in relative prominences)."""
    density = np.zeros(grid.size)
    for start in range(0, points.size, chunk):
        z = (grid[:, None] - points[None, start:start + chunk]) / bandwidth
        density += np.exp(-0.5 * z * z).sum(axis=1)
    return density


def negative_modes(x: np.ndarray, test: ModeTest = ModeTest()) -> int:
    """Number of KDE modes of `x` [T] at or below 0 (see module docstring)."""
    x = np.asarray(x, dtype=np.float64)
    neg = np.sort(x[x < 0])
    if neg.size < test.min_points or np.ptp(neg) == 0:
        return 0
    stride = int(np.ceil(neg.size / test.max_points)) if neg.size > test.max_points else 1
    neg = neg[::stride]
    bandwidth = test.bandwidth_scale * (0.75 * neg.size) ** -0.2 * neg.std(ddof=1)
    span = -neg[0]  # the grid right of 0 spans at most as much as the negative half
    pos = x[x >= 0]
    right_end = min(pos.max(), span) if pos.size else 0.0
    near = np.sort(pos[pos <= right_end + _KERNEL_SUPPORT * bandwidth])[::stride]
    step = span / (test.grid - 1)
    right = np.arange(1, int(np.ceil(right_end / step)) + 1) * step
    grid = np.concatenate([np.linspace(neg[0], 0.0, test.grid), right])
    density = _kde(np.concatenate([neg, near]), grid, bandwidth)
    zero = test.grid - 1
    threshold = test.min_prominence * density[: zero + 1].max()
    peaks, _ = find_peaks(np.concatenate([[0.0], density]), prominence=threshold)
    peaks -= 1
    # right of 0, a mode counts if the climb from 0 to its top stays within the threshold (no dip on the way)
    straddles = [p > zero and density[zero:p + 1].min() >= density[p] - threshold for p in peaks]
    return int(np.sum((peaks <= zero) | np.array(straddles, dtype=bool)))


def is_multimodal(x: np.ndarray, test: ModeTest = ModeTest()) -> bool:
    return negative_modes(x, test) >= 2
