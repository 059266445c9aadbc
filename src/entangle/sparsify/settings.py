"""What a sparsification run is asked to do (`SparsifySettings`), what it did (`SparsifyResult`),
and the checks that reject impossible settings before any work starts."""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import Tensor, nn

from entangle.models.arch import arch_of, blocks

from .ffn import ffn_groups, get_weight
from .masks import TIES
from .sparsity import Sparsity

METHODS = ("dense", "magnitude", "wanda", "sparsegpt", "sparse_expansion")


class SparsifyError(ValueError):
    """Bad settings for a sparsification run; raised before any work starts."""


@dataclass
class SparsifySettings:
    """What to do. `num_clusters`, `pca_factor`, `n_init` concern Sparse Expansion only.

    `ties`: "reference" (the references' `<= threshold`, ties all pruned) or "exact" (every method prunes
    exactly the share it reports, ties by index; entangle.sparsify.masks).
    """

    method: str
    sparsity: Sparsity | float | str = 0.0
    num_clusters: int = 16
    pca_factor: int | None = 32
    n_init: int = 100
    seed: int = 0
    blocksize: int = 128
    percdamp: float = 0.01
    batch_size: int = 8
    ties: str = "reference"

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise SparsifyError(f"unknown sparsification method {self.method!r}; choose one of: {', '.join(METHODS)}")
        try:
            self.sparsity = Sparsity.parse(self.sparsity)
        except ValueError as exc:
            raise SparsifyError(str(exc)) from None
        if self.method == "dense" and (self.sparsity.ratio != 0 or self.sparsity.is_nm):
            raise SparsifyError(f"method 'dense' takes no sparsity, got {self.sparsity}")
        if self.ties not in TIES:
            raise SparsifyError(f"ties must be one of {', '.join(TIES)}, got {self.ties!r}")
        if self.num_clusters < 1:
            raise SparsifyError(f"num_clusters must be >= 1, got {self.num_clusters}")
        if self.batch_size < 1:
            raise SparsifyError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.sparsity.is_nm and self.blocksize % self.sparsity.m:
            raise SparsifyError(f"N:M sparsity {self.sparsity} needs blocksize ({self.blocksize}) divisible by M")


@dataclass
class SparsifyResult:
    """Per-linear report rows, calibration size and, with `eval_windows`, the per-window test NLL."""

    settings: dict
    linears: list[dict] = field(default_factory=list)
    calibration_windows: int = 0
    calibration_tokens: int = 0
    seconds: float = 0.0
    eval_nll: Tensor | None = None
    router_macs: int = 0  # per token, all Sparse Expansion routers (PCA projection + centroid distances)

    @property
    def ffn_sparsity(self) -> float:
        """Fraction of zero weights over all FFN matrices (all experts for Sparse Expansion)."""
        zeros = sum(r["zeros"] for r in self.linears)
        total = sum(r["numel"] for r in self.linears)
        return zeros / total if total else 0.0


# --------------------------------------------------------------------------------------------------
# Architecture helpers


def check_settings(model: nn.Module, settings: SparsifySettings, n_tokens: int | None = None) -> None:
    """Raise SparsifyError if the settings cannot run on this model (before any work starts)."""
    sp = settings.sparsity
    layer0 = blocks(model)[0]
    arch = arch_of(model)
    for group, members in ffn_groups(model):
        for m in members:
            d_out, d_in = get_weight(model, layer0.get_submodule(arch.matrices[m])).shape
            if sp.is_nm and d_in % sp.m:
                raise SparsifyError(f"N:M sparsity {sp} needs every FFN input width divisible by M={sp.m}; "
                                    f"blocks.*.mlp.{m} has {d_in} inputs")
        if settings.method == "sparse_expansion" and settings.pca_factor is not None:
            if not 1 <= settings.pca_factor <= d_in:
                raise SparsifyError(f"pca_factor must be in [1, {d_in}] for the {group} router "
                                    f"(d // pca_factor >= 1), got {settings.pca_factor}")
    if settings.method == "sparse_expansion" and n_tokens is not None and settings.num_clusters > n_tokens:
        raise SparsifyError(f"num_clusters K={settings.num_clusters} is larger than the number of calibration "
                            f"tokens ({n_tokens}); use more calibration windows or fewer experts")


def ffn_macs_per_token(result: SparsifyResult) -> float:
    """Non-zero FFN weights one token uses (= multiply-accumulates): per expert for Sparse Expansion."""
    total = 0.0
    for r in result.linears:
        experts = r.get("experts", 1)
        total += (r["numel"] - r["zeros"]) / experts
    return total
