"""Magnitude pruning: per-matrix global threshold on |W|, or N:M per row (Wanda/SparseGPT `--gmp`)."""

from __future__ import annotations

from torch import Tensor

from .masks import Sparsity, nm_mask, threshold_mask


def magnitude_mask(weight: Tensor, sparsity: Sparsity | float | str | tuple[int, int],
                   ties: str = "reference") -> Tensor:
    """Bool mask (True = prune) for `weight` [d_out, d_in].

    Unstructured: `|W| <= sort(|W|.flatten())[int(numel * s)]` over the whole matrix (reference), or
    exactly floor(numel * s) smallest |W|, ties by index (exact; see `masks`).
    N:M: the N smallest |W| of every M consecutive inputs, per output row.
    """
    sp = Sparsity.parse(sparsity)
    score = weight.detach().abs()
    return nm_mask(score, sp.n, sp.m, ties) if sp.is_nm else threshold_mask(score, sp.ratio, ties)


def magnitude_prune(weight: Tensor, sparsity: Sparsity | float | str | tuple[int, int],
                    ties: str = "reference") -> Tensor:
    """Pruned copy of `weight` [d_out, d_in], same dtype and device."""
    return weight.detach().masked_fill(magnitude_mask(weight, sparsity, ties), 0)
