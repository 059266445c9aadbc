"""Perplexity contrasts with 95% intervals over evaluation windows (claims 6, 14, 19, 20, 21, 31).

Every condition of a comparison (dense, a pruner, a selection, a clamp) is evaluated on the same
windows, so a contrast is bootstrapped paired over windows: per-window mean NLL (nats) [conditions,
windows]; a replicate redraws the windows once for all conditions and recomputes each condition's
PPL = exp(mean NLL over the drawn windows) (equal-length windows: the token mean). The statistic maps
a matrix of perplexities [replicates, conditions] to one value per replicate, so it is vectorized.
Models evaluated on different windows are drawn separately (`window_contrast_groups`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from entangle.bootstrap import RESAMPLES, SEED, Estimate, from_replicates, mean_over
from entangle.evaluation.ppl import perplexities

UNIT = "evaluation windows"


def _ppl(nll: np.ndarray, resamples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(point PPL [1, C], replicate PPL [B, C]) of per-window NLL [C, N]."""
    nll = np.asarray(nll, dtype=np.float64)
    if nll.ndim != 2:
        raise ValueError(f"per-window NLL must be [conditions, windows], got shape {nll.shape}")
    return perplexities(nll.mean(1))[None, :], perplexities(mean_over(nll.T, resamples, seed))


def window_contrast(statistic: Callable[[np.ndarray], np.ndarray], nll, resamples: int = RESAMPLES,
                    seed: int = SEED) -> Estimate:
    """statistic(PPL [B, C]) -> [B] on per-window NLL [C, N] (rows in the statistic's order), paired over windows."""
    point, reps = _ppl(nll, resamples, seed)
    with np.errstate(all="ignore"):
        return from_replicates(statistic(point)[0], statistic(reps), UNIT, np.shape(nll)[1], seed=seed)


def window_contrast_groups(statistic: Callable[[list[np.ndarray]], np.ndarray], groups: Sequence,
                           resamples: int = RESAMPLES, seed: int = SEED) -> Estimate:
    """As `window_contrast` for several models: groups = per-window NLL [C_g, N_g] each, windows of each model
    drawn on their own; statistic([PPL_g [B, C_g] for each g]) -> [B]."""
    pairs = [_ppl(g, resamples, seed + 7919 * k) for k, g in enumerate(groups)]
    with np.errstate(all="ignore"):
        value = statistic([p for p, _ in pairs])[0]
        reps = statistic([r for _, r in pairs])
    return from_replicates(value, reps, UNIT, min(np.shape(g)[1] for g in groups), seed=seed)


def ratio_of_increases(ppl: np.ndarray, base: int, top: int, others: Sequence[int]) -> np.ndarray:
    """(PPL_top − PPL_base) / (PPL_other − PPL_base) per row of ppl [B, C], where PPL_other is the mean over
    `others` (e.g. the random seeds); NaN where the others do not raise perplexity."""
    denom = ppl[:, list(others)].mean(1) - ppl[:, base]
    return np.where(denom > 0, (ppl[:, top] - ppl[:, base]) / np.where(denom > 0, denom, 1.0), np.nan)


def recovered_fraction(ppl: np.ndarray, dense: int, sparse: int, expanded: int) -> np.ndarray:
    """(PPL_sparse − PPL_expanded) / (PPL_sparse − PPL_dense) per row of ppl [B, C] (NaN if nothing was lost)."""
    lost = ppl[:, sparse] - ppl[:, dense]
    return np.where(lost > 0, (ppl[:, sparse] - ppl[:, expanded]) / np.where(lost > 0, lost, 1.0), np.nan)


def nll_path(summary: str) -> str:
    """The per-window NLL file written beside a sparsification run's summary JSON (rules/sparsify.smk)."""
    return summary.removesuffix(".json") + ".nll.csv"


def load_window_nll(path: str) -> np.ndarray:
    """Per-window mean NLL from a run's `.nll.csv` (columns window, nll, tokens), in window order: float64 [N]."""
    import pandas as pd

    frame = pd.read_csv(path).sort_values("window")
    return frame["nll"].to_numpy(dtype=np.float64)
