"""SparseGPT (Frantar & Alistarh 2023): one-shot OBS pruning of one linear layer.

Usage: `g = SparseGPT(linear.weight); g.add_batch(x) ...; w = g.prune(0.5)`; the caller writes `w` back.
All arithmetic is fp32 on the weight's device; the result has the weight's dtype.

Row-wise pruning (WD-F3: sparsify only some neurons of a matrix): `g.prune(0.9, rows=idx)` prunes only
the rows `idx`, each to exactly floor(s * d_in) pruned weights, with the OBS update; every other row
is returned bit-identical. Rows are independent given H (the OBS update of a row only touches that
row), so this equals pruning the submatrix `W[idx]` with the full Hessian (`per_row=True`).
"""

from __future__ import annotations

import logging
import math

import torch
from torch import Tensor

from .masks import Sparsity, check_ties, floor_count, lowest_mask, nm_mask, threshold_mask

log = logging.getLogger(__name__)


class SparseGPT:
    """Hessian accumulator and pruner for a weight `[d_out, d_in]` (nn.Linear layout)."""

    def __init__(self, weight: Tensor):
        if weight.dim() != 2:
            raise ValueError(f"SparseGPT needs a 2-D [d_out, d_in] weight, got shape {tuple(weight.shape)}")
        self.weight = weight
        self.H = torch.zeros(weight.shape[1], weight.shape[1], dtype=torch.float32, device=weight.device)
        self.nsamples = 0

    def add_batch(self, inp: Tensor, n_sequences: int | None = None) -> None:
        """Accumulate `H = (2 / N_seq) * sum X^T X` as a running mean (fp32).

        inp: [B, L, d_in] or [L, d_in]. It counts as `n_sequences` sequences, by default B
        (1 for a 2-D input). Sparse Expansion passes one cluster's tokens of all N_seq sequences.
        """
        if inp.dim() == 2:
            inp = inp.unsqueeze(0)
        count = inp.shape[0] if n_sequences is None else n_sequences
        inp = inp.reshape(-1, inp.shape[-1]).to(self.H.device)
        self.H *= self.nsamples / (self.nsamples + count)
        self.nsamples += count
        inp = math.sqrt(2 / self.nsamples) * inp.float()
        self.H += inp.t() @ inp

    def prune(
        self,
        sparsity: Sparsity | float | str | tuple[int, int],
        blocksize: int = 128,
        percdamp: float = 0.01,
        max_retries: int = 5,
        rows: Tensor | None = None,
        per_row: bool = False,
        ties: str = "reference",
    ) -> Tensor:
        """Pruned and OBS-updated copy of the weight, [d_out, d_in] in the weight's dtype.

        Unstructured (reference): one joint mask per `blocksize`-column block over all rows,
        `score = w**2 / U_jj**2 <= sort(score.flatten())[int(numel * s)]`, chosen from the
        already-updated weights. N:M: per row, the N lowest scores of every M columns.
        Inputs never seen (diag H == 0) get H_jj = 1 and their weight column zeroed.

        `ties="exact"` (unstructured, joint mask): the block of columns [i1, i2) prunes exactly its
        floor(s * d_out * i2) - floor(s * d_out * i1) lowest scores, ties by index, so the matrix ends
        with exactly floor(s * numel) pruned weights (the reference prunes one more per block, and
        every weight tied at the threshold). N:M: ties to the lower column. Per-row masks are exact anyway.

        `per_row=True` (unstructured): every row is its own comparison group. In the block of columns
        [i1, i2) each row prunes its floor(s * i2) - floor(s * i1) lowest scores (same score, chosen
        from the already-updated weights), so every row ends with exactly floor(s * d_in) pruned
        weights (more zeros only where a weight or a dead input was already 0).
        `rows` (LongTensor [r] of distinct row indices): prune only these rows, per row as above (rows
        implies per_row); the other rows are returned bit-identical, dead inputs included.
        """
        sp = Sparsity.parse(sparsity)
        exact = check_ties(ties) == "exact"
        if self.nsamples == 0:
            raise ValueError("SparseGPT.prune called before any add_batch")
        if sp.is_nm and blocksize % sp.m:
            raise ValueError(f"N:M sparsity needs blocksize ({blocksize}) divisible by M={sp.m}")
        if rows is not None:
            rows = check_rows(rows, self.weight.shape[0])
            per_row = True
        W = self.weight.detach().to(self.H.device)
        W = (W if rows is None else W[rows.to(W.device)]).float().clone()
        H = self.H.clone()
        dead = H.diagonal() == 0
        H[dead, dead] = 1
        W[:, dead] = 0
        U = _inverse_cholesky_upper(H, percdamp, max_retries)

        cols = W.shape[1]
        for i1 in range(0, cols, blocksize):
            i2 = min(i1 + blocksize, cols)
            W1 = W[:, i1:i2].clone()
            Q1 = torch.zeros_like(W1)
            Err1 = torch.zeros_like(W1)
            U1 = U[i1:i2, i1:i2]
            d = U1.diagonal()
            if sp.is_nm:
                mask1 = torch.zeros_like(W1, dtype=torch.bool)
            elif per_row:
                mask1 = _row_mask(W1**2 / d.reshape(1, -1) ** 2, floor_count(sp.ratio * i2) - floor_count(sp.ratio * i1))
            elif exact:
                n_rows = W1.shape[0]
                count = floor_count(sp.ratio * n_rows * i2) - floor_count(sp.ratio * n_rows * i1)
                mask1 = lowest_mask(W1**2 / d.reshape(1, -1) ** 2, count)
            else:
                mask1 = threshold_mask(W1**2 / d.reshape(1, -1) ** 2, sp.ratio)
            for i in range(i2 - i1):
                if sp.is_nm and i % sp.m == 0:
                    score = W1[:, i : i + sp.m] ** 2 / d[i : i + sp.m].reshape(1, -1) ** 2
                    mask1[:, i : i + sp.m] = nm_mask(score, sp.n, sp.m, ties)
                w = W1[:, i]
                q = w.masked_fill(mask1[:, i], 0)
                Q1[:, i] = q
                err = (w - q) / d[i]
                W1[:, i:] -= err.unsqueeze(1) @ U1[i, i:].unsqueeze(0)
                Err1[:, i] = err
            W[:, i1:i2] = Q1
            W[:, i2:] -= Err1 @ U[i1:i2, i2:]
        if rows is None:
            return W.to(self.weight.dtype)
        out = self.weight.detach().clone()
        out[rows.to(out.device)] = W.to(device=out.device, dtype=out.dtype)
        return out


def _row_mask(score: Tensor, count: int) -> Tensor:
    """True at the `count` lowest scores of each row of `score` [rows, cols] (ties: lowest column first)."""
    mask = torch.zeros_like(score, dtype=torch.bool)
    if count > 0:
        idx = torch.sort(score, dim=1, stable=True).indices[:, :count]
        mask.scatter_(1, idx, True)
    return mask


def check_rows(rows: Tensor, d_out: int) -> Tensor:
    """Row indices as a 1-D int64 tensor of distinct values in [0, d_out); ValueError otherwise."""
    rows = torch.as_tensor(rows)
    if rows.dim() != 1 or rows.dtype not in (torch.int64, torch.int32, torch.int16, torch.uint8):
        raise ValueError(f"rows must be a 1-D tensor of row indices, got {rows.dtype} of shape {tuple(rows.shape)}")
    rows = rows.long()
    if rows.numel() and (rows.min() < 0 or rows.max() >= d_out):
        raise ValueError(f"rows must lie in [0, {d_out}), got min {int(rows.min())}, max {int(rows.max())}")
    if rows.unique().numel() != rows.numel():
        raise ValueError("rows must be distinct")
    return rows


def _inverse_cholesky_upper(H: Tensor, percdamp: float, max_retries: int) -> Tensor:
    """Upper Cholesky factor U of (H + damp I)^-1 (U^T U = H^-1), damp = frac * mean(diag H).

    mean(diag H) is summed over a contiguous copy of the diagonal, as the references do: a mean over
    the strided view can differ in the last bit, which flips mask entries at near ties.

    frac = percdamp; if a factorization fails (singular or indefinite H), retry with
    frac = max(percdamp, 0.01) * 10**k for k = 1..max_retries, logging each retry.
    """
    if not torch.isfinite(H).all():
        raise ValueError("SparseGPT Hessian has non-finite entries (NaN or inf in the calibration inputs?)")
    mean_diag = torch.mean(torch.diag(H))
    eye = torch.eye(H.shape[0], dtype=H.dtype, device=H.device)
    for attempt in range(max_retries + 1):
        frac = percdamp if attempt == 0 else max(percdamp, 0.01) * 10**attempt
        L, info = torch.linalg.cholesky_ex(H + frac * mean_diag * eye)
        if info.item() == 0:
            U, info = torch.linalg.cholesky_ex(torch.cholesky_inverse(L), upper=True)
            if info.item() == 0 and torch.isfinite(U).all():
                return U
        if attempt < max_retries:
            next_frac = max(percdamp, 0.01) * 10 ** (attempt + 1)
            log.warning(
                "SparseGPT: Cholesky failed with damping %.3g x mean(diag H) = %.3g; retrying with %.3g x mean(diag H)",
                frac, (frac * mean_diag).item(), next_frac,
            )
    raise RuntimeError(
        f"SparseGPT: Cholesky of the damped Hessian failed after {max_retries} retries "
        f"(last damping {frac:.3g} x mean(diag H) = {(frac * mean_diag).item():.3g}); the Hessian is badly indefinite"
    )
