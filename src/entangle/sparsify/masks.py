"""The mask rules shared by the pruners (what to prune: entangle.sparsify.sparsity).

A mask is a bool tensor shaped like the weight, True where the weight is pruned (set to 0).

Ties (`ties`, config `prune_ties`): the references threshold, `score <= sort(score)[int(n * s)]`, which
prunes int(n * s) + 1 entries and every entry tied with the threshold besides; on quantized weights
(Q4_1 keeps 16 levels per block of 32) that is far more than asked (50% requested, 76% pruned on a
7-bit matrix). `ties="exact"` prunes exactly floor(n * s) entries: the lowest scores, ties broken by
index (a stable sort: the lower flat index goes first). `ties="reference"` keeps the references' rule
for matching their numbers on unquantized weights.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from .sparsity import Sparsity

TIES = ("exact", "reference")


def check_ties(ties: str) -> str:
    if ties not in TIES:
        raise ValueError(f"ties must be one of {', '.join(TIES)}, got {ties!r}")
    return ties


def floor_count(x: float) -> int:
    """floor(x), robust to float error in products like 0.7 * 10 = 7.000000000000001 or 0.29 * 100."""
    return math.floor(round(x, 9))


def lowest_mask(score: Tensor, count: int) -> Tensor:
    """True at exactly the `count` lowest entries of `score` (any shape); ties: lower flat index first."""
    values = score.flatten()
    if count >= values.numel():
        return torch.ones_like(score, dtype=torch.bool)
    if count <= 0:
        return torch.zeros_like(score, dtype=torch.bool)
    kth = torch.kthvalue(values, count).values  # selection, not a full sort (the same set as a stable sort)
    flat = values < kth
    tied = torch.nonzero(values == kth).squeeze(1)
    flat[tied[: count - int(flat.sum())]] = True
    return flat.reshape(score.shape)


def threshold_mask(score: Tensor, ratio: float, ties: str = "reference") -> Tensor:
    """Joint mask over all entries of `score`.

    reference: `thresh = sort(score.flatten())[int(numel * ratio)]`, mask = `score <= thresh`, so
    int(numel * ratio) + 1 entries are pruned (more on ties), as the references do. exact: exactly
    floor(numel * ratio) entries (`lowest_mask`). ratio 0 prunes nothing either way (the reference
    would still prune the minimum); that keeps "0% sparsity = dense" exact.
    """
    if ratio == 0:
        return torch.zeros_like(score, dtype=torch.bool)
    if check_ties(ties) == "exact":
        return lowest_mask(score, floor_count(score.numel() * ratio))
    thresh = torch.sort(score.flatten())[0][int(score.numel() * ratio)]
    return score <= thresh


def nm_mask(score: Tensor, n: int, m: int, ties: str = "reference") -> Tensor:
    """Per row of `score` [rows, cols], prune the n smallest of every aligned group of m columns.

    Exactly n per group either way; ties: `topk`'s choice (reference) or the lower column (exact).
    """
    rows, cols = score.shape
    if cols % m:
        raise ValueError(f"N:M sparsity needs the number of input columns ({cols}) divisible by M={m}")
    groups = score.reshape(rows, cols // m, m)
    if check_ties(ties) == "exact":
        smallest = torch.sort(groups, dim=-1, stable=True).indices[..., :n]
    else:
        smallest = torch.topk(groups, n, dim=-1, largest=False).indices
    mask = torch.zeros_like(groups, dtype=torch.bool).scatter_(-1, smallest, True)
    return mask.reshape(rows, cols)
