import numpy as np
import pytest
import torch

from entangle.embeddings import (aggregate, aggregate_cluster_metrics, cluster_hac, cluster_metrics,
                                 compare_neuron_vs_pre_mlp, cosine_distance_matrix, find_rare_behaviour,
                                 inter_cluster_distance, intra_cluster_distance, neuron_embeddings,
                                 pre_activation, project_2d, project_pair, select_examples)


def test_neuron_embedding_sums_to_pre_activation_of_real_linear():
    torch.manual_seed(0)
    ln, fc = torch.nn.LayerNorm(16), torch.nn.Linear(16, 8)   # GPT-2 style: ln_2 then c_fc
    with torch.no_grad():
        h = ln(torch.randn(5, 16))                               # what the MLP receives
        pre = fc(h)
        for j in range(8):
            e = neuron_embeddings(h, fc.weight[j])
            assert e.shape == (5, 16)
            torch.testing.assert_close(e, h * fc.weight[j])
            torch.testing.assert_close(e.sum(-1) + fc.bias[j], pre[:, j])
            torch.testing.assert_close(pre_activation(h, fc.weight[j], fc.bias[j]), pre[:, j])


def test_select_examples_first_k_in_dataset_order():
    acts = np.array([0.1, 0.9, 0.8, 1.0, 0.2, 0.76, 0.95])
    assert select_examples(acts, 1.0, 0.75, k=3).tolist() == [1, 2, 3]   # not the top 3 (3, 6, 1)
    assert select_examples(acts, 1.0, 0.75, k=100).tolist() == [1, 2, 3, 5, 6]
    assert select_examples(acts, 2.0, 0.75).tolist() == []


def _groups(seed=0, n=10, d=6):
    rng = np.random.default_rng(seed)
    a = np.zeros(d); a[0] = 1
    b = np.zeros(d); b[1] = 1
    return np.vstack([a + 0.05 * rng.standard_normal((n, d)), b + 0.05 * rng.standard_normal((n, d))])


def test_hac_two_separated_groups():
    labels, Z = cluster_hac(_groups(), 0.5)
    assert labels.max() + 1 == 2
    assert len(set(labels[:10])) == 1 and len(set(labels[10:])) == 1 and labels[0] != labels[10]
    assert Z.shape == (19, 4)


def test_hac_identical_and_single():
    labels, _ = cluster_hac(np.tile([1.0, -2.0, 3.0], (7, 1)), 0.5)
    assert labels.tolist() == [0] * 7
    labels, Z = cluster_hac(np.array([[1.0, 2.0]]), 0.5)
    assert labels.tolist() == [0] and Z.shape == (0, 4)
    labels, _ = cluster_hac(np.array([[1.0, 0.0], [2.0, 0.0], [-1.0, 0.0]]), 0.5)   # scale-invariant
    assert labels.tolist() == [0, 0, 1]


def test_hac_threshold_honoured():
    # pairwise cosine distances: d(u, v) = 1 - cos(60°) = 0.5 ... use 0.4 explicitly
    theta = np.arccos(0.6)                                     # distance 0.4
    x = np.array([[1.0, 0.0], [np.cos(theta), np.sin(theta)]])
    assert cluster_hac(x, 0.5)[0].max() == 0                  # 0.4 <= 0.5: merged
    assert cluster_hac(x, 0.3)[0].max() == 1                  # 0.4 > 0.3: separate
    x = _groups(1)
    for t in (0.05, 0.2, 0.5, 1.2):
        labels, _ = cluster_hac(x, t, "complete")
        d = cosine_distance_matrix(x)
        same = labels[:, None] == labels[None]
        assert d[same].max() <= t + 1e-12                       # complete linkage: diameter <= t
    with pytest.raises(ValueError):
        cluster_hac(x, 0.5, "ward")


def test_labels_ordered_by_size():
    x = np.vstack([_groups()[:3], _groups()[10:]])             # 3 of group a, 10 of group b
    labels, _ = cluster_hac(x, 0.5)
    assert labels[:3].tolist() == [1, 1, 1] and set(labels[3:]) == {0}


def test_cluster_metrics_hand_made():
    d = np.array([[0, .1, .8, .9],
                  [.1, 0, .7, .6],
                  [.8, .7, 0, .3],
                  [.9, .6, .3, 0]])
    labels = np.array([0, 0, 1, 1])
    assert intra_cluster_distance(d, labels) == pytest.approx((0.1 + 0.3) / 2)
    assert inter_cluster_distance(d, labels) == pytest.approx((.8 + .9 + .7 + .6) / 4)
    assert np.isnan(inter_cluster_distance(d, np.zeros(4)))
    assert np.isnan(intra_cluster_distance(d, np.arange(4)))
    m = cluster_metrics(_groups(), 0.5)
    assert m["n_clusters"] == 2 and m["intra"] < 0.05 and m["inter"] > 0.9
    assert m["max_dist"] >= m["inter"] >= m["mean_dist"] >= m["intra"]


def test_aggregate_skips_single_cluster_neurons():
    per = [cluster_metrics(_groups(s), 0.5) for s in range(3)] + [cluster_metrics(np.ones((4, 3)), 0.5)]
    agg = aggregate_cluster_metrics(per)
    assert agg["inter"]["n_skipped"] == 1 and agg["inter"]["n_used"] == 3
    assert agg["intra"]["n_skipped"] == 0
    assert aggregate([1.0, np.nan, 3.0, 5.0]) == dict(mean=3.0, median=3.0, n_used=3, n_skipped=1)


def test_compare_neuron_vs_pre_mlp_and_projection():
    rng = np.random.default_rng(0)
    h = rng.standard_normal((20, 8))
    w = rng.standard_normal(8)
    out = compare_neuron_vs_pre_mlp(h, w)
    assert set(out) == {"neuron", "pre_mlp"} and out["neuron"]["n_examples"] == 20
    proj = project_pair(h, w)
    assert proj["neuron"][0].shape == (20, 2) and proj["pre_mlp"][1].sum() <= 1 + 1e-9
    assert project_2d(h[:1])[0].shape == (1, 2)


def test_find_rare_behaviour():
    labels = {"a": np.array([0, 0, 0, 1, 1]), "b": np.array([0] * 49 + [1]), "c": np.zeros(9, int)}
    assert find_rare_behaviour(labels) == ("b", 49.0)
    assert find_rare_behaviour([np.zeros(3, int)]) == (None, 0.0)
