"""Quantized weights tie: with `ties="exact"` every pruner prunes exactly the share it reports; `"reference"`
keeps the references' `|w| <= threshold` (all ties pruned). Checked on a 7-bit matrix with one scale."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from entangle.models.arch import arch_of, blocks
from entangle.sparsify import SparseGPT, magnitude_prune, sparse_expand, wanda_prune
from entangle.sparsify.masks import lowest_mask, nm_mask, threshold_mask
from entangle.sparsify.sequential import SparsifyError, SparsifySettings, sparsify_model
from tests.conftest import tiny_model

D_OUT, D_IN = 96, 256


def quantized(shape, bits=7, seed=0):
    """Symmetric uniform quantization with one scale: 2**(bits-1) - 1 levels per sign, many equal magnitudes."""
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(seed))
    scale = x.abs().max() / (2 ** (bits - 1) - 1)
    return torch.round(x / scale) * scale


W = quantized((D_OUT, D_IN))
X = torch.randn(8, 32, D_IN, generator=torch.Generator().manual_seed(1))


def share(w):
    return float((w == 0).float().mean())


def test_the_reference_rule_overprunes_tied_weights_and_exact_does_not():
    ref, exact = magnitude_prune(W, 0.5), magnitude_prune(W, 0.5, ties="exact")
    assert share(ref) > 0.52  # every weight tied at the threshold goes too
    assert share(exact) == 0.5
    assert (exact == 0).sum() == W.numel() // 2
    kept = exact[exact != 0].abs().min()
    assert kept >= W.abs()[exact == 0].max()  # still the smallest magnitudes


def test_exact_ties_go_by_index():
    score = torch.tensor([[1.0, 0.5, 0.5, 0.5], [0.5, 2.0, 0.5, 3.0]])
    assert lowest_mask(score, 3).tolist() == [[False, True, True, True], [False, False, False, False]]
    assert threshold_mask(score, 0.5, "exact").sum() == 4
    assert threshold_mask(score, 0.5, "reference").sum() == 5  # int(8 * 0.5) + 1 entries <= the threshold
    flat = torch.ones(1, 8)
    assert nm_mask(flat, 2, 4, "exact").tolist() == [[True, True, False, False, True, True, False, False]]


@pytest.mark.parametrize("sparsity", [0.5, 0.7, 0.9])
def test_every_unstructured_pruner_prunes_exactly_the_share(sparsity):
    target = math.floor(round(sparsity * W.numel(), 9))
    per_row = math.floor(round(sparsity * D_IN, 9))
    assert (magnitude_prune(W, sparsity, "exact") == 0).sum() == target
    scaler = X.reshape(-1, D_IN).pow(2).mean(0)
    wanda = wanda_prune(W, scaler, sparsity, "exact")
    assert ((wanda == 0).sum(1) == per_row).all()  # Wanda compares within rows: exact per row
    gpt = SparseGPT(W)
    gpt.add_batch(X)
    assert (gpt.prune(sparsity, ties="exact") == 0).sum() == target
    rows = torch.tensor([0, 5, 17])
    partial = gpt.prune(sparsity, rows=rows)  # row-wise (WD-F3) masks are exact in both modes
    assert ((partial[rows] == 0).sum(1) == per_row).all()
    assert torch.equal(partial[rows], gpt.prune(sparsity, rows=rows, ties="exact")[rows])


def test_sparsegpt_reference_prunes_more_than_asked():
    gpt = SparseGPT(W)
    gpt.add_batch(X)
    assert share(gpt.prune(0.5)) > share(gpt.prune(0.5, ties="exact")) == 0.5


@pytest.mark.parametrize("ties", ["exact", "reference"])
def test_nm_prunes_exactly_n_of_m_either_way(ties):
    gpt = SparseGPT(W)
    gpt.add_batch(X)
    scaler = X.reshape(-1, D_IN).pow(2).mean(0)
    for pruned in (magnitude_prune(W, "2:4", ties), wanda_prune(W, scaler, "2:4", ties), gpt.prune("2:4", ties=ties)):
        assert ((pruned.reshape(D_OUT, -1, 4) == 0).sum(-1) == 2).all()


def test_sparse_expansion_experts_each_exact():
    lin = nn.Linear(D_IN, D_OUT, bias=False)
    with torch.no_grad():
        lin.weight.copy_(W)
    module = sparse_expand(lin, X, 0.5, num_clusters=3, pca_factor=32, n_init=2, ties="exact")
    assert [share(w) for w in module.weight] == [0.5, 0.5, 0.5]


def quantized_model(family):
    net = tiny_model(family, 300, n_layers=2)
    arch = arch_of(net)
    with torch.no_grad():
        for i, block in enumerate(blocks(net)):
            for m, path in arch.matrices.items():
                w = block.get_submodule(path).weight
                w.copy_(quantized(tuple(w.shape), bits=5, seed=10 * i + len(m)))
    return net


@pytest.mark.parametrize("family", ["llama", "gpt_neox"])
@pytest.mark.parametrize("method", ["magnitude", "wanda", "sparsegpt", "sparse_expansion"])
def test_the_driver_reports_exactly_the_share_per_matrix(family, method):
    calib = torch.randint(0, 300, (6, 32), generator=torch.Generator().manual_seed(2))
    settings = SparsifySettings(method, 0.5, num_clusters=2, pca_factor=4, n_init=2, batch_size=4, ties="exact")
    result = sparsify_model(quantized_model(family), calib, settings, progress=False)
    assert result.linears and result.settings["ties"] == "exact"
    for row in result.linears:
        assert row["sparsity"] == 0.5, row
        if method == "sparse_expansion":
            assert row["expert_sparsity_min"] == row["expert_sparsity_max"] == 0.5


def test_unknown_ties_setting():
    with pytest.raises(SparsifyError, match="ties must be one of exact, reference"):
        SparsifySettings("magnitude", 0.5, ties="random")
    with pytest.raises(ValueError, match="ties must be one of"):
        magnitude_prune(W, 0.5, ties="loose")
