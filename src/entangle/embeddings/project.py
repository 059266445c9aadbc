"""2-D projection of a neuron's examples for NE-F4 (the paper does not name its method).

Method, identical for both representations: L2-normalize each example (clustering uses cosine
distance, so only directions matter), then PCA (centered, 2 components, sklearn's exact SVD),
fitted separately on the neuron embeddings and on the pre-MLP embeddings of the same examples.
"""

import numpy as np
from sklearn.decomposition import PCA


def project_2d(x, normalize=True, eps=1e-12):
    """x: [E, d] -> (coords [E, 2], explained variance ratio [2]). E < 2 gives zeros."""
    x = np.asarray(x, dtype=np.float64)
    if normalize:
        x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), eps)
    if len(x) < 2:
        return np.zeros((len(x), 2)), np.zeros(2)
    k = min(2, x.shape[1], len(x))
    pca = PCA(n_components=k, svd_solver="full").fit(x)
    coords = np.zeros((len(x), 2))
    coords[:, :k] = pca.transform(x)
    ratio = np.zeros(2)
    ratio[:k] = pca.explained_variance_ratio_
    return coords, ratio


def project_pair(h, w, normalize=True):
    """NE-F4: the same examples under neuron embeddings (h ⊙ w) and pre-MLP embeddings (h).

    h: [E, d], w: [d]. Returns {"neuron": (coords, ratio), "pre_mlp": (coords, ratio)}.
    """
    return {"neuron": project_2d(h * w, normalize), "pre_mlp": project_2d(h, normalize)}
