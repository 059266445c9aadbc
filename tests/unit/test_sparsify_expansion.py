import logging

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.decomposition import PCA

from entangle.sparsify import ExpandedLinear, Router, SparseGPT, fit_pca, sparse_expand

D_IN, D_OUT = 128, 48


def blobs(n_seq=8, seq_len=64, d=D_IN, n_centers=4, seed=0):
    """Calibration inputs [n_seq, seq_len, d] drawn around n_centers well-separated centers."""
    g = torch.Generator().manual_seed(seed)
    centers = 4 * torch.randn(n_centers, d, generator=g)
    which = torch.randint(n_centers, (n_seq, seq_len), generator=g)
    return centers[which] + torch.randn(n_seq, seq_len, d, generator=g)


def dense_linear(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Linear(D_IN, D_OUT)


@pytest.mark.parametrize("sparsity", [0.5, "2:4"])
def test_single_cluster_equals_sparsegpt(sparsity):
    lin, x = dense_linear(), blobs()
    expanded = sparse_expand(lin, x, sparsity, num_clusters=1, pca_factor=32, n_init=3)
    gpt = SparseGPT(lin.weight)
    gpt.add_batch(x)
    assert torch.equal(expanded.weight[0], gpt.prune(sparsity))
    assert torch.equal(expanded.bias[0], lin.bias.detach())


def test_routing_is_hard_top1():
    lin, x = dense_linear(), blobs()
    expanded = sparse_expand(lin, x, 0.5, num_clusters=4, pca_factor=32, n_init=5)
    out = expanded(x)
    labels = expanded.router.predict(x)
    assert out.shape == (*x.shape[:-1], D_OUT)
    assert labels.unique().numel() == 4
    for k in range(4):
        sel = labels == k
        assert torch.equal(out[sel], F.linear(x[sel], expanded.weight[k], expanded.bias[k]))
    assert not torch.equal(expanded.weight[0], expanded.weight[1])
    forced = torch.zeros_like(labels)
    assert torch.equal(expanded(x, labels=forced), F.linear(x, expanded.weight[0], expanded.bias[0]))


def test_experts_beat_single_sparsegpt_on_clustered_inputs():
    lin, x = dense_linear(), blobs()
    expanded = sparse_expand(lin, x, 0.7, num_clusters=4, pca_factor=32, n_init=5)
    single = sparse_expand(lin, x, 0.7, num_clusters=1, pca_factor=32, n_init=1)
    dense = lin(x)
    assert (expanded(x) - dense).norm() < (single(x) - dense).norm()


def test_save_load_round_trip(tmp_path):
    lin, x = dense_linear(), blobs()
    expanded = sparse_expand(lin, x, 0.5, num_clusters=3, pca_factor=16, n_init=5)
    assert {"router.mean", "router.components", "router.centroids", "weight", "bias"} <= set(expanded.state_dict())
    torch.save(expanded.state_dict(), tmp_path / "expanded.pt")
    loaded = ExpandedLinear.from_state_dict(torch.load(tmp_path / "expanded.pt"))
    assert torch.equal(loaded(x), expanded(x))
    fresh = ExpandedLinear(D_IN, D_OUT, num_experts=3, n_components=D_IN // 16)
    fresh.load_state_dict(torch.load(tmp_path / "expanded.pt"))
    assert torch.equal(fresh(x), expanded(x))


def test_no_bias_linear():
    lin, x = torch.nn.Linear(D_IN, D_OUT, bias=False), blobs()
    expanded = sparse_expand(lin, x, 0.5, num_clusters=2, pca_factor=32, n_init=2)
    assert expanded.bias is None
    assert expanded(x).shape == (*x.shape[:-1], D_OUT)


def test_empty_cluster_gets_plain_sparsegpt_and_is_logged(caplog):
    lin, x = dense_linear(), blobs()
    router = Router.fit(x.reshape(-1, D_IN), num_clusters=2, pca_factor=32, n_init=2)
    router.centroids[1] = 1e6  # no token is nearest to this centroid
    with caplog.at_level(logging.WARNING, logger="entangle.sparsify.expansion"):
        expanded = sparse_expand(lin, x, 0.5, num_clusters=2, router=router)
    assert any("cluster 1 of 2 has no calibration tokens" in r.getMessage() for r in caplog.records)
    gpt = SparseGPT(lin.weight)
    gpt.add_batch(x.reshape(-1, D_IN), n_sequences=x.shape[0])
    assert torch.equal(expanded.weight[1], gpt.prune(0.5))
    assert expanded.weight[1].count_nonzero() > 0


def test_bad_inputs_raise():
    lin, x = dense_linear(), blobs(n_seq=2, seq_len=3)
    with pytest.raises(ValueError, match=r"num_clusters must be in \[1, 6\]"):
        sparse_expand(lin, x, 0.5, num_clusters=7)
    with pytest.raises(ValueError, match=r"\[N_seq, L, 128\]"):
        sparse_expand(lin, x.reshape(-1, D_IN), 0.5, num_clusters=2)
    with pytest.raises(ValueError, match=r"\[N_seq, L, 128\]"):
        sparse_expand(lin, x[..., :64], 0.5, num_clusters=2)
    with pytest.raises(ValueError, match="N:M"):
        sparse_expand(lin, x, 1.2, num_clusters=2)
    with pytest.raises(ValueError, match="pca_factor"):
        sparse_expand(lin, x, 0.5, num_clusters=2, pca_factor=256)
    router = Router.fit(x.reshape(-1, D_IN), num_clusters=2, pca_factor=32, n_init=1)
    with pytest.raises(ValueError, match="router has 2 clusters"):
        sparse_expand(lin, x, 0.5, num_clusters=3, router=router)


def test_pca_matches_sklearn():
    x = blobs(n_seq=4, seq_len=64, d=16, seed=2).reshape(-1, 16)
    mean, components = fit_pca(x, 3)
    reference = PCA(3).fit(x.numpy().astype(np.float64))
    np.testing.assert_allclose(mean.numpy(), reference.mean_, atol=1e-5)
    np.testing.assert_allclose(np.abs(components.numpy() @ reference.components_.T), np.eye(3), atol=1e-4)
