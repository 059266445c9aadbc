"""FLOPs and bytes of the building blocks the paper-scale cost model (entangle.cost) prices: a forward pass, a
Hessian, SparseGPT's solver, k-means, PCA, and the FFN linears of one block. Architectures: entangle.models.paper_archs.
"""

from __future__ import annotations

import inspect

from entangle.models.paper_archs import PaperArch
from entangle.sparsify.clustering import kmeans

_KMEANS = inspect.signature(kmeans).parameters
KMEANS_SAMPLE, KMEANS_REFINE = _KMEANS["sample_size"].default, _KMEANS["n_refine"].default
KMEANS_SWAP_ROUNDS, KMEANS_SWAP_TRIALS = _KMEANS["swap_rounds"].default, _KMEANS["swap_trials"].default


def dtype_bytes(dtype: str) -> int:
    return 4 if dtype == "float32" else 2


def forward_flops_per_token(arch: PaperArch, context: int, layers: int | None = None, head: bool = True) -> float:
    """FLOPs per token of a forward pass through `layers` blocks (all by default) and the output head."""
    n = arch.n_layers if layers is None else layers
    per_block = 2 * arch.block_params + 2 * context * arch.d_model  # weights + causal attention (QK^T, AV)
    return n * per_block + (2 * arch.vocab_size * arch.d_model if head else 0)


def hessian_flops(d_in: int, tokens: float) -> float:
    return 2.0 * d_in * d_in * tokens


def sparsegpt_flops(d_out: int, d_in: int) -> float:
    """Cholesky inverse of the damped Hessian and the lazy-batch OBS updates of all d_out rows."""
    return (4 / 3) * d_in**3 + 2.0 * d_out * d_in**2


def kmeans_flops(points: float, dim: int, k: int, n_init: int, iterations: int) -> float:
    """entangle.sparsify.clustering.kmeans, an upper bound: restarts on a coreset of at most KMEANS_SAMPLE
    points, the best KMEANS_REFINE refined on all, then every swap round (pricing K + trials swaps over all
    points, settling KMEANS_REFINE proposals on the coreset and one on all points) at `iterations` Lloyd steps.
    """
    sample = min(points, KMEANS_SAMPLE)
    lloyd = 3.0 * k * dim * iterations  # per point and Lloyd run
    refine = KMEANS_REFINE * points if points > KMEANS_SAMPLE else 0
    settle = KMEANS_REFINE * sample + (points if points > KMEANS_SAMPLE else 0)
    swaps = KMEANS_SWAP_ROUNDS * (3.0 * dim * points * (k + KMEANS_SWAP_TRIALS) + lloyd * settle)
    return lloyd * (n_init * sample + refine) + swaps


def pca_flops(d_in: int, tokens: float) -> float:
    return 2.0 * d_in * d_in * tokens + d_in**3


def ffn_linears(arch: PaperArch) -> list[tuple[int, int]]:
    """(d_out, d_in) of each FFN linear of one block."""
    up = [(arch.d_ff, arch.d_model)] * (arch.ffn_matrices - 1)
    return up + [(arch.d_model, arch.d_ff)]


def ffn_input_groups(arch: PaperArch) -> list[int]:
    """d_in of each group of FFN linears sharing one input (Llama's gate and up: one)."""
    return [arch.d_model, arch.d_ff]
