"""WD-F3 and WD-F5a: which neurons (rows) of every FFN matrix to sparsify, by which statistic.

The paper sparsifies only the top-3% Wasserstein neurons of every FFN of Llama-3-8B with SparseGPT and
compares with as many neurons chosen by output mean, output variance, weight magnitude or at random.
Decisions where the paper is silent:

- "Every FFN matrix" = `gate` (Llama), `up` and `down` of every block; a neuron of a matrix is one
  output row of its [d_out, d_in] weight (for `down`, one residual-stream dimension).
- Per matrix, k = max(1, round(percent / 100 * d_out)) rows, rounding half up (3% of Llama-3-8B:
  430 of 14,336 gate/up rows, 123 of 4,096 down rows).
- Statistics come from the DENSE model's outputs of each FFN linear on the calibration windows
  (sparsify calibration, train split), never the evaluation tokens, computed block by block
  (`sequential.dense_block_pass`), so block i sees the dense outputs of blocks < i:
  - `wd`: WD to N(0, 1) of the standardized output (`wasserstein_to_gaussian`), on all calibration
    tokens or, beyond `wd_tokens`, on a seeded uniform sample of that many token positions (the same
    positions for every matrix). Dead or constant outputs have WD NaN and are never selected.
  - `mean`: highest output mean (signed); `variance`: highest output variance (ddof 0). Both on every
    calibration token, accumulated in float64 (Chan et al.'s pairwise update).
  - `magnitude`: highest mean |w| over the row's d_in weights (no data).
  - `random`: uniform without replacement, one `numpy.random.default_rng(seed)` per seed, drawn matrix by
    matrix in the order (layer, then `arch.matrices` order: up, gate, down); seeds 0..random_seeds-1.
  Ties: the lower row index first.
- Pruning (`SparseGPT.prune(rows=...)`): only the selected rows, each to exactly floor(s * d_in) pruned
  weights (per-row comparison groups inside SparseGPT's 128-column blocks), OBS update with the full
  Hessian; every other weight stays bit-identical. Sequential block-by-block calibration as
  `sparsify_model`. WD-F5a: Sparse Expansion (K experts) of the selected WD rows only.

Selection names: `wd`, `mean`, `variance`, `magnitude`, and `random<seed>` (`random0`, `random1`, ...).
Keys of the per-matrix dictionaries are (layer, matrix) with matrix in `arch.matrices`.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import torch
from torch import Tensor, nn

from entangle.metrics.wasserstein import wasserstein_to_gaussian
from entangle.models.arch import arch_of, blocks, module_weight
from entangle.neurons.selection import parse_selection, top_k

from .stream import dense_block_pass

log = logging.getLogger(__name__)

OUTPUT_STATISTICS = ("wd", "mean", "variance")  # need a pass over the calibration windows
WD_TOKENS = 65_536  # WD on at most this many calibration tokens per matrix (wd_fast: ~1e-6 accurate there)

Key = tuple[int, str]


# --------------------------------------------------------------------------------------------------
# Rows per matrix


def rows_per_matrix(d_out: int, percent: float) -> int:
    """k = max(1, round(percent / 100 * d_out)), half up (no more than d_out)."""
    return min(d_out, max(1, math.floor(round(percent * d_out / 100, 9) + 0.5)))


# --------------------------------------------------------------------------------------------------
# Statistics


def ffn_shapes(model: nn.Module) -> dict[Key, tuple[int, int]]:
    """(layer, matrix) -> (d_out, d_in) of every FFN linear, in forward order."""
    arch = arch_of(model)
    return {(i, m): tuple(module_weight(model, block.get_submodule(path)).shape)
            for i, block in enumerate(blocks(model)) for m, path in arch.matrices.items()}


def weight_magnitude(model: nn.Module) -> dict[Key, np.ndarray]:
    """(layer, matrix) -> mean |w| of each row, float64 [d_out]."""
    arch = arch_of(model)
    return {(i, m): module_weight(model, block.get_submodule(path)).detach().abs().double().mean(1).cpu().numpy()
            for i, block in enumerate(blocks(model)) for m, path in arch.matrices.items()}


class OutputAccumulator:
    """Running float64 mean and M2 of one linear's outputs [tokens, d_out], plus the outputs at `sample` positions."""

    def __init__(self, sample: Tensor | None):
        self.n, self.mean, self.m2 = 0, None, None
        self.sample_positions = sample  # sorted int64 global token positions; None = keep every token
        self.kept: list[Tensor] = []

    def add(self, y: Tensor) -> None:
        y = y.detach().reshape(-1, y.shape[-1])
        nb = y.shape[0]
        yd = y.double()
        mb = yd.mean(0)
        m2b = (yd - mb).pow(2).sum(0)
        if self.mean is None:
            self.mean, self.m2 = mb, m2b
        else:
            delta = mb - self.mean
            total = self.n + nb
            self.mean = self.mean + delta * (nb / total)
            self.m2 = self.m2 + m2b + delta.pow(2) * (self.n * nb / total)
        if self.sample_positions is None:
            self.kept.append(y.float().cpu())
        else:
            pos = self.sample_positions
            local = pos[(pos >= self.n) & (pos < self.n + nb)] - self.n
            if local.numel():
                self.kept.append(y[local.to(y.device)].float().cpu())
        self.n += nb

    def result(self, wd_method: str) -> dict[str, np.ndarray]:
        outputs = torch.cat(self.kept)
        self.kept = []
        return {"mean": self.mean.cpu().numpy(), "variance": (self.m2 / self.n).cpu().numpy(),
                "wd": wasserstein_to_gaussian(outputs, method=wd_method), "wd_tokens": int(outputs.shape[0])}


@torch.no_grad()
def output_statistics(model: nn.Module, windows: Tensor, batch_size: int = 8, wd_tokens: int = WD_TOKENS,
                      wd_method: str = "fast", seed: int = 0, progress: bool = True) -> dict[Key, dict]:
    """Per-row statistics of every FFN linear's dense outputs on `windows` [n, L] (token ids).

    Returns (layer, matrix) -> {"mean": float64 [d_out], "variance": float64 [d_out] (ddof 0),
    "wd": float64 [d_out] (NaN for dead rows), "wd_tokens": int}. WD uses every token if n * L <= wd_tokens,
    else the same seeded uniform sample of `wd_tokens` positions (numpy default_rng(seed)) for every matrix.
    """
    total = windows.numel()
    sample = None
    if total > wd_tokens:
        sample = torch.from_numpy(np.sort(np.random.default_rng(seed).choice(total, wd_tokens, replace=False)))
        log.info("WD on %d of %d calibration tokens (seeded sample, seed %d)", wd_tokens, total, seed)
    arch = arch_of(model)
    out: dict[Key, dict] = {}

    def on_block(layer: int, block: nn.Module):
        acc = {m: OutputAccumulator(sample) for m in arch.matrices}
        handles = [block.get_submodule(path).register_forward_hook(lambda _mod, _args, y, m=m: acc[m].add(y))
                   for m, path in arch.matrices.items()]

        def finish():
            for m in arch.matrices:
                out[(layer, m)] = acc[m].result(wd_method)

        return handles, finish

    dense_block_pass(model, windows, batch_size, on_block, progress=progress, desc="FFN output statistics")
    return out


# --------------------------------------------------------------------------------------------------
# Selection


def select_rows(name: str, shapes: dict[Key, tuple[int, int]], percent: float,
                scores: dict[Key, np.ndarray] | None = None) -> dict[Key, np.ndarray]:
    """Rows to sparsify per matrix for selection `name` (wd, mean, variance, magnitude, random<seed>).

    shapes: (layer, matrix) -> (d_out, d_in) in forward order (`ffn_shapes`); scores: (layer, matrix) ->
    float [d_out], the statistic of this selection (unused for random). Returns (layer, matrix) ->
    sorted int64 [k]. NaN scores are never selected; a matrix with fewer than k finite scores gets those
    only (with a warning).
    """
    kind, seed = parse_selection(name)
    rng = np.random.default_rng(seed) if kind == "random" else None
    out = {}
    for key, (d_out, _) in shapes.items():
        k = rows_per_matrix(d_out, percent)
        if rng is not None:
            out[key] = np.sort(rng.choice(d_out, size=k, replace=False)).astype(np.int64)
            continue
        if scores is None or key not in scores:
            raise ValueError(f"selection {name!r} needs scores for layer {key[0]} {key[1]}")
        values = np.asarray(scores[key], dtype=np.float64)
        if values.shape != (d_out,):
            raise ValueError(f"scores for layer {key[0]} {key[1]} have shape {values.shape}, expected ({d_out},)")
        finite = int(np.isfinite(values).sum())
        if finite < k:
            log.warning("%s: layer %d %s has only %d rows with a finite score (< k = %d); selecting those",
                        name, key[0], key[1], finite, k)
            k = finite
        out[key] = np.sort(top_k(values, k)).astype(np.int64)
    return out


def selection_scores(kind: str, outputs: dict[Key, dict] | None, magnitude: dict[Key, np.ndarray] | None
                     ) -> dict[Key, np.ndarray] | None:
    """The per-matrix statistic a selection ranks by (None for random)."""
    if kind == "random":
        return None
    if kind == "magnitude":
        return magnitude
    return {key: s[kind] for key, s in outputs.items()}


def describe_rows(rows: dict[Key, np.ndarray], shapes: dict[Key, tuple[int, int]], head: int = 8) -> list[str]:
    """One log line per matrix: 'layer 0 up: 4 of 128 rows [3, 17, ...]'."""
    lines = []
    for (layer, m), idx in rows.items():
        shown = ", ".join(map(str, idx[:head].tolist())) + (", ..." if len(idx) > head else "")
        lines.append(f"layer {layer} {m}: {len(idx)} of {shapes[(layer, m)][0]} rows [{shown}]")
    return lines


def mean_jaccard(a: dict[Key, np.ndarray], b: dict[Key, np.ndarray]) -> float:
    """Mean over matrices of |a ∩ b| / |a ∪ b| (how much two selections overlap)."""
    vals = []
    for key in a:
        sa, sb = set(a[key].tolist()), set(b[key].tolist())
        vals.append(len(sa & sb) / len(sa | sb) if sa | sb else 0.0)
    return float(np.mean(vals)) if vals else 0.0


def row_sparsity(linears: list[dict]) -> float:
    """Zero fraction of the selected rows over all linears (and experts) of a `SparsifyResult`."""
    numel = sum(r.get("selected_numel", 0) for r in linears)
    return sum(r.get("selected_zeros", 0) for r in linears) / numel if numel else 0.0
