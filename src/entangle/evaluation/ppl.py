"""Perplexity from per-window mean NLL (nats): PPL = exp(mean NLL). Torch-free.

Every window has the same number of predicted tokens, so the mean of per-window means is the mean
over all tokens, and exp of it is the reference perplexity (SparseGPT, Wanda and Sparse Expansion
evaluations; the NC ablation).
"""

from __future__ import annotations

import math

import numpy as np


def perplexity(nll) -> float:
    """exp(mean NLL) of per-window mean NLL [N] (nats), a float64 NumPy array or a torch tensor.

    A tensor is averaged by torch, as the evaluation loop produces it; anything else by NumPy in float64.
    """
    if hasattr(nll, "detach"):
        return math.exp(nll.mean().item())
    return float(math.exp(np.mean(np.asarray(nll, dtype=np.float64))))


def perplexities(mean_nll: np.ndarray) -> np.ndarray:
    """Elementwise exp of mean NLL: PPL of each condition (and bootstrap replicate), same shape."""
    return np.exp(mean_nll)
