"""k-means of the Sparse Expansion router (entangle.sparsify.clustering): quality, exactness, edge cases."""

import numpy as np
import pytest
import torch
from sklearn.cluster import KMeans

from entangle.sparsify import kmeans
from entangle.sparsify.clustering import _assign, _lloyd, _points, nearest_centroid


def mixture(n, d, k, seed=0, spread=4.0, df=None):
    """n points [n, d] around k centers of unequal weights, anisotropic noise (Student-t if df); planted labels."""
    g = np.random.default_rng(seed)
    centers = g.normal(0, spread, (k, d))
    which = g.choice(k, n, p=(w := g.uniform(0.3, 1.0, k)) / w.sum())
    noise = g.normal(0, 1, (n, d)) * g.uniform(0.3, 1.2, d)
    if df is not None:
        noise /= np.sqrt(g.chisquare(df, (n, 1)) / df)
    return torch.from_numpy((centers[which] + noise).astype(np.float32)), torch.from_numpy(which)


def assign(x, centroids, weight=None):
    """_assign on points x [N, D] (optionally weighted) -> sums [R, K, D], total weights [R, K], inertia [R]."""
    return _assign(_points(x, weight), centroids)


def exact_inertia(x, centroids):
    return float(torch.cdist(x.double(), centroids.double()).pow(2).min(1).values.sum())


def test_recovers_planted_clusters():
    x, truth = mixture(3000, 8, 6, spread=6.0)
    centroids, _ = kmeans(x, 6, n_init=10)
    labels = nearest_centroid(x, centroids)
    pairs = set(zip(truth.tolist(), labels.tolist()))
    assert len(pairs) == 6  # one found cluster per planted cluster, and the reverse


@pytest.mark.parametrize(("n", "d", "k", "df"), [(4000, 8, 8, None), (4000, 16, 12, 3), (1500, 4, 16, None)])
def test_inertia_at_most_sklearns(n, d, k, df):
    """Against scikit-learn's best of the same number of restarts; 0.1% covers seed luck on these fixed seeds."""
    x, _ = mixture(n, d, k + 4, seed=n + d, df=df)  # more planted clusters than K: several local optima
    centroids, inertia = kmeans(x, k, n_init=20)
    reference = KMeans(k, n_init=20, random_state=0).fit(x.numpy())
    assert exact_inertia(x, centroids) <= reference.inertia_ * (1 + 1e-3)
    assert inertia == pytest.approx(exact_inertia(x, centroids), rel=1e-5)  # reported = true inertia


def test_subsample_then_refine_matches_all_points():
    x, _ = mixture(2048, 8, 6, seed=1)
    _, everywhere = kmeans(x, 6, n_init=10, sample_size=None)
    _, sampled = kmeans(x, 6, n_init=10, sample_size=256)
    assert sampled == pytest.approx(everywhere, rel=1e-3)


def test_deterministic_for_a_seed():
    x, _ = mixture(3000, 8, 10, seed=2, df=3)
    c1, i1 = kmeans(x, 8, n_init=10, seed=3)
    c2, i2 = kmeans(x, 8, n_init=10, seed=3)
    assert torch.equal(c1, c2) and i1 == i2


def test_k_equals_one_is_the_mean():
    x, _ = mixture(500, 4, 3)
    centroids, inertia = kmeans(x, 1)
    torch.testing.assert_close(centroids[0], x.double().mean(0).float(), atol=1e-5, rtol=0)
    assert inertia == pytest.approx(float((x.double() - x.double().mean(0)).pow(2).sum()), rel=1e-5)


def test_more_clusters_than_distinct_points():
    """K=5 on 3 distinct points (each repeated): every point is a centroid, inertia 0, nothing NaN."""
    distinct = torch.tensor([[0.0, 0.0], [3.0, 1.0], [-2.0, 5.0]])
    x = distinct.repeat(7, 1)
    centroids, inertia = kmeans(x, 5, n_init=4)
    assert inertia == 0 and torch.isfinite(centroids).all()
    assert torch.cdist(distinct, centroids).min(1).values.max() < 1e-5


def test_duplicate_points_and_k_equals_n():
    x = torch.tensor([[1.0, 2.0], [1.0, 2.0], [1.0, 2.0], [4.0, 0.0]])
    centroids, inertia = kmeans(x, 2, n_init=3)
    assert inertia == 0 and torch.cdist(x, centroids).min(1).values.max() < 1e-5
    centroids, inertia = kmeans(x[2:], 2)  # two points, two clusters
    assert inertia == 0


@pytest.mark.parametrize("d", [3, 20])  # both layouts of the sums product
def test_assign_matches_brute_force(d):
    x, _ = mixture(1000, d, 5, seed=d)
    centroids = torch.randn(3, 6, d, generator=torch.Generator().manual_seed(d)) * 4  # 3 restarts of 6 clusters
    sums, counts, inertia = assign(x, centroids)
    for r in range(3):
        dist = torch.cdist(x.double(), centroids[r].double()).pow(2)
        nearest_two = dist.topk(2, 1, largest=False).values
        assert (nearest_two[:, 1] - nearest_two[:, 0]).min() > 1e-3  # no near-ties, which fp32 cannot resolve
        labels = dist.argmin(1)
        assert counts[r].tolist() == torch.bincount(labels, minlength=6).float().tolist()
        expected = torch.zeros(6, d, dtype=torch.float64).index_add_(0, labels, x.double())
        torch.testing.assert_close(sums[r].double(), expected, rtol=1e-5, atol=1e-3)
        assert inertia[r].item() == pytest.approx(dist.min(1).values.sum().item(), rel=1e-5)


def test_integer_weights_equal_repeated_points():
    """The weighted assignment and Lloyd (used on the coreset) treat weight w as w copies of a point."""
    x, _ = mixture(300, 5, 4, seed=7)
    weight = torch.randint(1, 4, (300,)).float()
    repeated = x.repeat_interleave(weight.long(), 0)
    centroids = torch.randn(2, 4, 5) * 3
    for got, expected in zip(assign(x, centroids, weight), assign(repeated, centroids)):
        torch.testing.assert_close(got.double(), expected.double(), rtol=1e-5, atol=1e-3)
    fitted, inertia = _lloyd(_points(x, weight), centroids, 50, 0.0)
    fitted_rep, inertia_rep = _lloyd(_points(repeated), centroids, 50, 0.0)
    torch.testing.assert_close(fitted, fitted_rep, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(inertia, inertia_rep, rtol=1e-5, atol=0)


def test_assign_breaks_ties_to_the_lower_index():
    """Two identical centroids: the first takes the points, the second is empty (and kept by Lloyd)."""
    x = torch.tensor([[0.0], [1.0], [10.0], [11.0]])
    centroids = torch.tensor([[[0.5], [0.5], [10.5]]])
    sums, counts, inertia = assign(x, centroids)
    assert counts.tolist() == [[2.0, 0.0, 2.0]]
    assert sums[0, :, 0].tolist() == [1.0, 0.0, 21.0]
    assert inertia.item() == pytest.approx(1.0)
    fitted, _ = _lloyd(_points(x), centroids, max_iter=10, tol=1e-4)
    assert fitted[0, 1, 0].item() == 0.5  # empty cluster keeps its centroid
    assert nearest_centroid(x, centroids[0]).tolist() == [0, 0, 2, 2]


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match=r"num_clusters must be in \[1, 5\]"):
        kmeans(torch.randn(5, 2), 6)
    with pytest.raises(ValueError, match="2-D"):
        kmeans(torch.randn(5), 2)
    with pytest.raises(ValueError, match="NaN or infinite"):
        kmeans(torch.tensor([[0.0], [float("nan")], [1.0]]), 2)
    with pytest.raises(ValueError, match="n_init"):
        kmeans(torch.randn(5, 2), 2, n_init=0)
