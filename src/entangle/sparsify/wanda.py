"""Wanda (Sun et al. 2023): prune by |W_ij| * ||X_j||, compared within each output row."""

from __future__ import annotations

import torch
from torch import Tensor

from .masks import Sparsity, check_ties, floor_count, nm_mask


class WandaStats:
    """Running input statistics of one linear layer.

    `scaler_row[j] = sum over calibration tokens of x_j**2 / N_seq` (fp32), where N_seq counts
    sequences: the batch dim of each `add_batch` call, 1 for a 2-D call. Kept as a running mean with
    the reference's arithmetic, bit for bit: `scaler_row *= n / (n + b); n += b;
    scaler_row += torch.norm(X^T, p=2, dim=1) ** 2 / n` (the squared norm, not a sum of squares, which
    can differ in the last bit and decide near-tied 2:4 groups otherwise).
    """

    def __init__(self, in_features: int, device: torch.device | str | None = None):
        self.scaler_row = torch.zeros(in_features, dtype=torch.float32, device=device)
        self.nsamples = 0

    def add_batch(self, inp: Tensor) -> None:
        """inp: [B, L, d_in] (B sequences) or [L, d_in] (one sequence)."""
        if inp.dim() == 2:
            inp = inp.unsqueeze(0)
        batch = inp.shape[0]
        inp = inp.reshape(-1, inp.shape[-1]).t()  # [d_in, tokens], a view, as the reference lays it out
        self.scaler_row *= self.nsamples / (self.nsamples + batch)
        self.nsamples += batch
        inp = inp.float()
        self.scaler_row += torch.norm(inp, p=2, dim=1) ** 2 / self.nsamples


def wanda_mask(weight: Tensor, scaler_row: Tensor, sparsity: Sparsity | float | str | tuple[int, int],
               ties: str = "reference") -> Tensor:
    """Bool mask (True = prune) for `weight` [d_out, d_in] given `scaler_row` [d_in].

    Score `|W_ij| * sqrt(scaler_row_j)`. Unstructured: per output row, stable ascending sort, prune
    the first int(d_in * s) (already exact on ties: the lower column goes first; `ties="exact"` only
    makes the count float-robust, floor_count). N:M: the N lowest scores of every M consecutive inputs.
    """
    sp = Sparsity.parse(sparsity)
    score = weight.detach().abs().float() * torch.sqrt(scaler_row.to(weight.device).float()).reshape(1, -1)
    if sp.is_nm:
        return nm_mask(score, sp.n, sp.m, ties)
    count = floor_count(score.shape[1] * sp.ratio) if check_ties(ties) == "exact" else int(score.shape[1] * sp.ratio)
    order = torch.sort(score, dim=-1, stable=True)[1]
    mask = torch.zeros_like(score, dtype=torch.bool)
    return mask.scatter_(1, order[:, :count], True)


def wanda_prune(weight: Tensor, scaler_row: Tensor, sparsity: Sparsity | float | str | tuple[int, int],
                ties: str = "reference") -> Tensor:
    """Pruned copy of `weight` [d_out, d_in], same dtype and device."""
    return weight.detach().masked_fill(wanda_mask(weight, scaler_row, sparsity, ties), 0)
