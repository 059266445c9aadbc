"""Sparse Expansion (Sawmya et al. 2025): K sparse experts of one linear layer, one per input cluster.

Each expert is the dense weight pruned by SparseGPT with the Hessian of its own cluster's
calibration tokens, H_c = (2 / N_seq) * sum over cluster-c tokens of x x^T, where N_seq counts all
calibration sequences (as the reference). Each token uses exactly one expert (hard top-1).

Empty cluster (no calibration token routed to it, e.g. a router shared or fitted elsewhere): its
expert is the plain SparseGPT weight pruned with the Hessian of all tokens, and a warning is
logged. (The reference would produce an all-zero weight, since every input looks dead.)
"""

from __future__ import annotations

import logging

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .sparsity import Sparsity
from .router import Router
from .sparsegpt import SparseGPT

log = logging.getLogger(__name__)


class ExpandedLinear(nn.Module):
    """K experts weight [K, d_out, d_in] (+ bias [K, d_out]) behind a Router; hard top-1 routing."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        num_experts: int,
        n_components: int,
        bias: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ):
        super().__init__()
        self.router = Router(in_features, n_components, num_experts).to(device)  # stays fp32
        self.weight = nn.Parameter(torch.zeros(num_experts, out_features, in_features, device=device, dtype=dtype))
        self.bias = nn.Parameter(torch.zeros(num_experts, out_features, device=device, dtype=dtype)) if bias else None

    @classmethod
    def from_state_dict(cls, state_dict: dict[str, Tensor]) -> ExpandedLinear:
        """Rebuild (shapes read from the tensors) and load a saved state_dict."""
        num_experts, out_features, in_features = state_dict["weight"].shape
        n_components = state_dict["router.components"].shape[0]
        weight = state_dict["weight"]
        module = cls(in_features, out_features, num_experts, n_components, bias="bias" in state_dict,
                     device=weight.device, dtype=weight.dtype)
        module.load_state_dict(state_dict)
        return module

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        """x [..., d_in] -> [..., d_out]. `labels` [...] overrides the router (e.g. fitted calibration labels)."""
        flat = x.reshape(-1, x.shape[-1])
        labels = self.router.predict(flat) if labels is None else labels.reshape(-1).to(x.device)
        out = flat.new_empty(flat.shape[0], self.weight.shape[1])
        for k in range(self.weight.shape[0]):
            idx = torch.nonzero(labels == k).squeeze(1)
            if idx.numel():
                out[idx] = F.linear(flat[idx], self.weight[k], None if self.bias is None else self.bias[k])
        return out.reshape(*x.shape[:-1], -1)


def sparse_expand(
    linear: nn.Linear,
    x: Tensor,
    sparsity: Sparsity | float | str | tuple[int, int],
    num_clusters: int = 16,
    pca_factor: int | None = 32,
    n_init: int = 100,
    seed: int = 0,
    router: Router | None = None,
    blocksize: int = 128,
    percdamp: float = 0.01,
    ties: str = "reference",
) -> ExpandedLinear:
    """Expand a dense `linear` into `num_clusters` SparseGPT experts.

    x: calibration inputs [N_seq, L, d_in]. The router is fitted on all N_seq * L tokens unless one
    is given (e.g. Llama gate and up share one). sparsity: float, "N:M" or Sparsity, per expert;
    `ties` as SparseGPT.prune.
    """
    sp = Sparsity.parse(sparsity)
    if x.dim() != 3 or x.shape[-1] != linear.in_features:
        raise ValueError(f"calibration inputs must be [N_seq, L, {linear.in_features}], got shape {tuple(x.shape)}")
    n_seq, n_tokens = x.shape[0], x.shape[0] * x.shape[1]
    if not 1 <= num_clusters <= n_tokens:
        raise ValueError(f"num_clusters must be in [1, {n_tokens}] (the number of calibration tokens), got {num_clusters}")
    if router is None:
        router = Router.fit(x.reshape(-1, x.shape[-1]), num_clusters, pca_factor, n_init=n_init, seed=seed)
    elif router.num_clusters != num_clusters:
        raise ValueError(f"router has {router.num_clusters} clusters, expected num_clusters={num_clusters}")

    weight = linear.weight.detach()
    tokens = x.reshape(-1, x.shape[-1])
    labels = router.predict(tokens)
    experts = []
    for c in range(num_clusters):
        members = labels == c
        if not members.any():
            log.warning(
                "Sparse Expansion: cluster %d of %d has no calibration tokens; its expert is plain SparseGPT on all tokens",
                c, num_clusters,
            )
            members = torch.ones_like(members)
        gpt = SparseGPT(weight)
        gpt.add_batch(tokens[members], n_sequences=n_seq)
        experts.append(gpt.prune(sp, blocksize=blocksize, percdamp=percdamp, ties=ties))

    module = ExpandedLinear(linear.in_features, linear.out_features, num_clusters, router.components.shape[0],
                            bias=linear.bias is not None, device=weight.device, dtype=weight.dtype)
    module.router.load_state_dict(router.state_dict())
    with torch.no_grad():
        module.weight.copy_(torch.stack(experts))
        if linear.bias is not None:
            module.bias.copy_(linear.bias.detach().expand(num_clusters, -1))
    return module
