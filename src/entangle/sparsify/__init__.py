"""One-shot pruners of single linear layers (magnitude, Wanda, SparseGPT) and Sparse Expansion.

Weights are in nn.Linear layout [d_out, d_in]; masks are True where a weight is pruned.

The names below load their module on first use, so `entangle.sparsify.sparsity` and the reporting modules
(`report`, `plots`) import without torch.
"""

from importlib import import_module

_HOMES = {
    "ExpandedLinear": "expansion",
    "Router": "router",
    "SparseGPT": "sparsegpt",
    "Sparsity": "sparsity",
    "WandaStats": "wanda",
    "fit_pca": "router",
    "kmeans": "clustering",
    "magnitude_mask": "magnitude",
    "magnitude_prune": "magnitude",
    "sparse_expand": "expansion",
    "wanda_mask": "wanda",
    "wanda_prune": "wanda",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str):
    if name in _HOMES:
        return getattr(import_module(f".{_HOMES[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
