"""One FFN matrix sparsified in isolation: sparse outputs, RMSE, RI and the measures behind WD-F1/F5/F6."""

import numpy as np
import pytest
import torch

from entangle.disentangle import measures
from entangle.disentangle.analysis import AnalysisSettings, analyse_layer
from entangle.disentangle.layer import LayerData, neuron_outputs, rmse, sparse_expansion, sparsegpt, squared_errors


def _layer(seed=0, d_in=16, d_out=12, n_seq=8, length=32, tokens=2048):
    """A linear layer whose inputs lie near 4 planes (each cluster: a centre plus a random 2-D subspace).

    Each cluster alone is low-rank, so a cluster's own SparseGPT expert can prune most weights and compensate
    (the situation Sparse Expansion exploits); the union of the clusters is full-rank.
    """
    g = torch.Generator().manual_seed(seed)
    centres = 3 * torch.randn(4, d_in, generator=g)
    bases = torch.randn(4, d_in, 2, generator=g)

    def draw(n):
        which = torch.randint(0, 4, (n,), generator=g)
        z = torch.randn(n, 2, 1, generator=g)
        return centres[which] + (bases[which] @ z).squeeze(-1) + 0.01 * torch.randn(n, d_in, generator=g)

    w = torch.randn(d_out, d_in, generator=g) / d_in**0.5
    bias = torch.randn(d_out, generator=g)
    x = draw(tokens)
    return LayerData(weight=w, calibration=draw(n_seq * length).reshape(n_seq, length, d_in), inputs=x,
                     outputs=x @ w.t() + bias), bias


def test_sparse_outputs_are_the_pruned_layer_applied_to_held_out_tokens():
    data, bias = _layer()
    se = sparse_expansion(data, 0.5, 4, pca_factor=4, n_init=3)
    expected = torch.stack([data.inputs[t] @ se.experts[se.labels[t]].t() + bias for t in range(data.inputs.shape[0])])
    got = neuron_outputs(data, se, list(range(data.weight.shape[0])))
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-4)
    sse, counts = squared_errors(data, se)
    assert counts.sum() == data.inputs.shape[0]
    direct = ((got - data.outputs) ** 2).mean(0).sqrt().double()
    torch.testing.assert_close(rmse(data, se), direct, atol=1e-5, rtol=1e-4)


def test_one_expert_is_sparsegpt_and_experts_are_at_the_sparsity():
    data, _ = _layer()
    one, base = sparse_expansion(data, 0.75, 1), sparsegpt(data, 0.75)
    assert torch.equal(one.experts, base.experts)
    se = sparse_expansion(data, 0.75, 4, pca_factor=4, n_init=3)
    assert se.experts.shape == (4, *data.weight.shape)
    assert ((se.experts == 0).float().mean() - 0.75).abs() < 0.01
    assert se.labels.unique().numel() == 4  # the four blobs are found


def test_measures():
    assert measures.ri_percent(2.0) == pytest.approx(50.0)
    np.testing.assert_allclose(measures.relative_improvement([2.0, 1.0], [1.0, 0.0]), [2.0, np.nan])
    rng = np.random.default_rng(0)
    x = rng.normal(size=5000)
    assert measures.wd_between(x, x) == 0
    assert measures.wd_between(x + x.std(), x) == pytest.approx(1.0)
    labels = np.repeat([0, 1], 2500)
    assert measures.expert_separation(np.where(labels == 0, -1.0, 1.0), labels) == pytest.approx(1.0)
    assert measures.expert_separation(x, rng.integers(0, 2, 5000)) < 0.01
    bimodal = np.concatenate([rng.normal(-4, 1, 1500), rng.normal(4, 1, 1500)])
    assert measures.gmm_components(bimodal, 6) == 2
    assert measures.gmm_components(x[:3000], 6) == 1
    planes = np.c_[rng.normal(0, 10, 4000), rng.normal(0, 10, 4000), rng.normal(0, 0.1, (4000, 6))]
    assert measures.pca_components(planes, 0.9) == 2
    # two clusters each Gaussian: the mixture is far from Gaussian, each cluster is close
    values = np.where(labels == 0, rng.normal(-5, 1, 5000), rng.normal(5, 1, 5000))[:, None]
    assert measures.weighted_wd(values, labels)[0] < 0.05 < measures.weighted_wd(values, np.zeros(5000))[0]


def test_lower_frontier_is_the_line_through_the_bin_minima():
    x = np.logspace(0, 3, 40)
    floor = 0.5 * x**-0.7
    y = np.concatenate([floor, floor * 3])  # every point on or above the power law
    fit = measures.lower_frontier(np.concatenate([x, x]), y, bins=8)
    assert fit["r2"] == pytest.approx(1.0)
    assert fit["slope"] == pytest.approx(-0.7, abs=1e-6)
    assert fit["share_below"] == 0


def test_analyse_layer_on_clustered_inputs():
    data, _ = _layer(tokens=4096)
    cfg = AnalysisSettings(sparsity=0.75, num_clusters=4, ks=[1, 2, 4], wn_percent=10, sweep=[0, 0.5, 0.9],
                           md_pairs=200, gmm_max_components=4, gmm_tokens=500, pca_factor=4, n_init=3, router_seeds=2)
    result = analyse_layer(data, cfg, detail=True)
    n = result.neurons
    assert len(n) == data.weight.shape[0] and {"ri", "gmm_components", "rmse_k2", "row_sparsity_s0.5"} <= set(n.columns)
    assert n["ri"].min() > 1 and n["ri"].median() > 3  # each cluster is low-rank: its own expert nearly reproduces it
    top = result.summary["neurons"]["entangled"]
    assert top["neuron"] == int(n["wd"].idxmax())
    assert top["wd_to_dense"]["4"] < top["wd_to_dense"]["1"] and top["ri_by_k"]["4"] > top["ri_by_k"]["2"] > 1
    wn = n[n["is_wn"]]
    assert (wn["wd_after"] < wn["wd_before"]).all()  # per cluster the output is a 2-D Gaussian projection
    assert result.clusters["cluster_tokens"].sum() == data.inputs.shape[0]
    assert (result.clusters["pca_components"] <= 2).all()  # 90% of a cluster's input variance: its plane
    assert result.samples["sweep_outputs"].shape == (3, data.inputs.shape[0], len(result.samples["neurons"]))
    np.testing.assert_allclose(result.samples["sweep_outputs"][0], result.samples["dense"])
    assert abs(n["row_sparsity_s0.9"].mean() - 0.9) < 0.01
    # the K sweep's router refitted with a second k-means seed (claim 13's outer stage); K = 1 has no router
    shape = (2, data.inputs.shape[0], len(result.samples["neurons"]))
    assert result.samples["k2_seeds"].shape == result.samples["k4_seeds"].shape == shape
    np.testing.assert_array_equal(result.samples["k2_seeds"][0], result.samples["k2"])
    assert "k1_seeds" not in result.samples and result.summary["router_seeds"] == 2
    assert not analyse_layer(data, cfg, detail=False).samples.keys() & {"k2_seeds", "k4_seeds"}


    change = n.loc[n["is_wn"], ["out_change_sweep_s0", "out_change_sweep_s0.5", "out_change_sweep_s0.9"]].to_numpy()
    assert (change[:, 0] == 0).all() and (change[:, 2] > change[:, 1]).all()  # dense: unchanged; more pruned: more
    for col, j in enumerate(result.samples["neurons"]):  # the sampled neurons' outputs give the same change
        d, sparse = result.samples["dense"][:, col], result.samples["sweep_outputs"][2][:, col]
        assert n.loc[j, "out_change_sweep_s0.9"] == pytest.approx(np.sqrt(np.mean((sparse - d) ** 2)) / d.std(),
                                                                  rel=1e-4)


def test_layer_data_rejects_mismatched_shapes():
    data, _ = _layer()
    with pytest.raises(ValueError, match="calibration inputs must be"):
        LayerData(data.weight, data.inputs, data.inputs, data.outputs)
    with pytest.raises(ValueError, match="held-out inputs"):
        LayerData(data.weight, data.calibration, data.inputs, data.outputs[:, :3])
