"""One-shot pruners of single linear layers (magnitude, Wanda, SparseGPT) and Sparse Expansion.

Weights are in nn.Linear layout [d_out, d_in]; masks are True where a weight is pruned.
"""

from .expansion import ExpandedLinear, sparse_expand
from .clustering import kmeans
from .magnitude import magnitude_mask, magnitude_prune
from .masks import Sparsity
from .router import Router, fit_pca
from .sparsegpt import SparseGPT
from .wanda import WandaStats, wanda_mask, wanda_prune

__all__ = [
    "ExpandedLinear",
    "Router",
    "SparseGPT",
    "Sparsity",
    "WandaStats",
    "fit_pca",
    "kmeans",
    "magnitude_mask",
    "magnitude_prune",
    "sparse_expand",
    "wanda_mask",
    "wanda_prune",
]
