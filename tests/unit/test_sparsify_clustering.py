"""k-means of the Sparse Expansion router (entangle.sparsify.clustering): quality, exactness, edge cases."""

import numpy as np
import pytest
import torch
from sklearn.cluster import KMeans

from entangle.sparsify import kmeans
from entangle.sparsify.clustering import _assign, _lloyd, nearest_centroid


def mixture(n, d, k, seed=0, spread=4.0, df=None):
    """n points [n, d] around k centers of unequal weights, anisotropic noise (Student-t if df); planted labels."""
    g = np.random.default_rng(seed)
    centers = g.normal(0, spread, (k, d))
    which = g.choice(k, n, p=(w := g.uniform(0.3, 1.0, k)) / w.sum())
    noise = g.normal(0, 1, (n, d)) * g.uniform(0.3, 1.2, d)
    if df is not None:
        noise /= np.sqrt(g.chisquare(df, (n, 1)) / df)
    return torch.from_numpy((centers[which] + noise).astype(np.float32)), torch.from_numpy(which)


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


def test_assign_breaks_ties_to_the_lower_index():
    """Two identical centroids: the first takes the points, the second is empty (and kept by Lloyd)."""
    x = torch.tensor([[0.0], [1.0], [10.0], [11.0]])
    centroids = torch.tensor([[[0.5], [0.5], [10.5]]])
    sums, counts, inertia = _assign(torch.cat([x, torch.ones(4, 1)], 1), x.pow(2).sum(1), centroids)
    assert counts.tolist() == [[2.0, 0.0, 2.0]]
    assert sums[0, :, 0].tolist() == [1.0, 0.0, 21.0]
    assert inertia.item() == pytest.approx(1.0)
    fitted, _ = _lloyd(x, centroids, max_iter=10, tol=1e-4)
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
