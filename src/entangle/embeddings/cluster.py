"""Feature clusters: HAC on cosine distance with a distance threshold (Foote §3.2, Eq. 3).

d(a, b) = 1 - cos(e_a, e_b). Clusters are the flat clusters of the HAC tree cut at `threshold`:
two examples share a cluster iff the linkage height at which they merge is <= threshold
(scipy `fcluster(criterion="distance")`). Default linkage "average" (the paper's dendrogram shows
"the average distance" at branch points).
"""

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform

LINKAGES = ("average", "complete", "single", "weighted")  # valid for arbitrary distances


def cosine_distance_matrix(x, eps=1e-12):
    """[E, d] -> [E, E] cosine distances in [0, 2], float64, exact zeros on the diagonal.

    A zero vector is at distance 1 from everything (cosine similarity 0), and 0 from itself.
    """
    x = np.asarray(x, dtype=np.float64)
    u = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), eps)
    d = np.clip(1.0 - u @ u.T, 0.0, 2.0)
    np.fill_diagonal(d, 0.0)
    return d


def cluster_hac(x, threshold=0.5, method="average"):
    """Cluster examples by HAC on cosine distance.

    x: [E, d] embeddings. Returns (labels [E] int, Z [E-1, 4] scipy linkage matrix).
    Labels are 0..C-1 ordered by cluster size (0 = largest; ties by first occurrence).
    E == 1 gives labels [0] and an empty [0, 4] Z. Identical vectors are at distance 0 and
    always share a cluster.
    """
    if method not in LINKAGES:
        raise ValueError(f"linkage {method!r} not valid for cosine distance; use one of {LINKAGES}")
    x = np.asarray(x, dtype=np.float64)
    n = len(x)
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 4))
    if n == 1:
        return np.zeros(1, dtype=np.int64), np.zeros((0, 4))
    d = cosine_distance_matrix(x)
    Z = linkage(squareform(d, checks=False), method=method)
    raw = fcluster(Z, t=threshold, criterion="distance")
    return _relabel_by_size(raw), Z


def _relabel_by_size(raw):
    """Map arbitrary labels to 0..C-1 by decreasing size, ties broken by first occurrence."""
    uniq, first, counts = np.unique(raw, return_index=True, return_counts=True)
    order = sorted(range(len(uniq)), key=lambda i: (-counts[i], first[i]))
    remap = {uniq[i]: new for new, i in enumerate(order)}
    return np.array([remap[r] for r in raw], dtype=np.int64)


def cluster_sizes(labels):
    """[C] number of examples per cluster label 0..C-1."""
    return np.bincount(np.asarray(labels, dtype=np.int64))


def figure_layer(layers, n_layers, paper_layer=7, paper_n_layers=12):
    """The analysed layer closest to the paper's relative depth (layer 7 of 12); ties: the lower."""
    target = paper_layer * n_layers / paper_n_layers
    return min(layers, key=lambda layer: (abs(layer - target), layer))
