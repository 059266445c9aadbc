"""One FFN matrix sparsified in isolation: SparseGPT and Sparse Expansion, evaluated per neuron on held-out tokens.

The per-neuron analyses of the WD paper (WD-F1, F5b/c, F6, F7, F8, FA4b, FA8, FA9) look at a single
linear layer: its dense inputs on calibration tokens (train split) fit the pruners, and its dense
inputs and outputs on held-out tokens (the capture split) measure them. The rest of the model is
dense, so every difference is this layer's own sparse computation.

For held-out token t routed to expert k (k = 0 for SparseGPT) the sparse output of neuron j is
`y_sparse[t, j] = y_dense[t, j] - x[t] . (W[j] - W_k[j])`: exact, and free of the bias (which every
expert shares with the dense layer).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from entangle.sparsify.expansion import sparse_expand
from entangle.sparsify.router import Router
from entangle.sparsify.sparsegpt import SparseGPT

CHUNK_TOKENS = 16_384  # held-out tokens per block when streaming over all neurons


@dataclass
class LayerData:
    """weight [d_out, d_in]; calibration inputs [n_seq, L, d_in]; held-out inputs [T, d_in] and dense outputs [T, d_out]."""

    weight: Tensor
    calibration: Tensor
    inputs: Tensor
    outputs: Tensor

    def __post_init__(self) -> None:
        d_out, d_in = self.weight.shape
        if self.calibration.dim() != 3 or self.calibration.shape[-1] != d_in:
            raise ValueError(f"calibration inputs must be [n_seq, L, {d_in}], got {tuple(self.calibration.shape)}")
        if self.inputs.shape[-1] != d_in or self.outputs.shape != (self.inputs.shape[0], d_out):
            raise ValueError(f"held-out inputs [T, {d_in}] and outputs [T, {d_out}] expected, got "
                             f"{tuple(self.inputs.shape)} and {tuple(self.outputs.shape)}")

    @property
    def calibration_tokens(self) -> Tensor:
        return self.calibration.reshape(-1, self.calibration.shape[-1])


@dataclass
class SparseLayer:
    """A sparse computation of the layer: experts [K, d_out, d_in] and each held-out token's expert [T] (int64).

    K = 1 with all labels 0 is plain SparseGPT. `calibration_labels` [n_seq * L] are the fitted clusters.
    """

    experts: Tensor
    labels: Tensor
    calibration_labels: Tensor
    router: Router | None = None

    @property
    def num_experts(self) -> int:
        return self.experts.shape[0]


def sparsegpt(data: LayerData, sparsity: float, ties: str = "reference") -> SparseLayer:
    """SparseGPT at `sparsity` with the Hessian of all calibration tokens (one expert); `ties` as SparseGPT.prune."""
    gpt = SparseGPT(data.weight)
    gpt.add_batch(data.calibration_tokens, n_sequences=data.calibration.shape[0])
    zeros = torch.zeros(data.inputs.shape[0], dtype=torch.long, device=data.inputs.device)
    return SparseLayer(gpt.prune(sparsity, ties=ties).unsqueeze(0), zeros,
                       torch.zeros(data.calibration_tokens.shape[0], dtype=torch.long))


def sparse_expansion(data: LayerData, sparsity: float, num_clusters: int, pca_factor: int | None = 32,
                     n_init: int = 100, seed: int = 0, ties: str = "reference") -> SparseLayer:
    """Sparse Expansion of the layer (entangle.sparsify.sparse_expand): router on the calibration tokens,
    one SparseGPT expert per cluster; held-out tokens routed by nearest centroid. K = 1 is SparseGPT."""
    if num_clusters == 1:
        return sparsegpt(data, sparsity, ties)
    linear = nn.Linear(data.weight.shape[1], data.weight.shape[0], bias=False, device=data.weight.device)
    with torch.no_grad():
        linear.weight.copy_(data.weight)
    module = sparse_expand(linear, data.calibration, sparsity, num_clusters, pca_factor, n_init=n_init, seed=seed,
                           ties=ties)
    router = module.router
    return SparseLayer(module.weight.detach(), router.predict(data.inputs), router.predict(data.calibration_tokens).cpu(),
                       router)


def neuron_outputs(data: LayerData, sparse: SparseLayer, neurons: Tensor | list[int]) -> Tensor:
    """Sparse outputs of the chosen neurons on every held-out token: fp32 [T, n]."""
    neurons = torch.as_tensor(neurons, dtype=torch.long)
    delta = data.weight[neurons].float().unsqueeze(0) - sparse.experts[:, neurons].float()  # [K, n, d_in]
    out = data.outputs[:, neurons].float().clone()
    for k in range(sparse.num_experts):
        idx = torch.nonzero(sparse.labels == k).squeeze(1)
        if idx.numel():
            out[idx] -= data.inputs[idx].float() @ delta[k].t()
    return out


def squared_errors(data: LayerData, sparse: SparseLayer, chunk: int = CHUNK_TOKENS) -> tuple[Tensor, Tensor]:
    """Per (expert, neuron) sum of squared errors against the dense output, and tokens per expert.

    Returns fp64 [K, d_out] and int64 [K]; summing over experts gives the layer's per-neuron error.
    """
    K, d_out = sparse.num_experts, data.weight.shape[0]
    sse = torch.zeros(K, d_out, dtype=torch.float64)
    counts = torch.bincount(sparse.labels.cpu(), minlength=K)
    delta = data.weight.float().unsqueeze(0) - sparse.experts.float()  # [K, d_out, d_in]
    for s in range(0, data.inputs.shape[0], chunk):
        x, lab = data.inputs[s : s + chunk].float(), sparse.labels[s : s + chunk]
        for k in torch.unique(lab).tolist():
            err = x[lab == k] @ delta[k].t()
            sse[k] += err.double().pow(2).sum(0).cpu()
    return sse, counts


def rmse(data: LayerData, sparse: SparseLayer) -> Tensor:
    """Per-neuron RMSE of the sparse output against the dense output over all held-out tokens: fp64 [d_out]."""
    sse, counts = squared_errors(data, sparse)
    return (sse.sum(0) / counts.sum()).sqrt()


def row_sparsity(sparse: SparseLayer) -> Tensor:
    """Share of zero weights per row, averaged over experts: fp64 [d_out]."""
    return (sparse.experts == 0).double().mean(dim=(0, 2))
