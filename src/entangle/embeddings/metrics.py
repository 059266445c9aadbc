"""Cluster geometry metrics for feature clusters (NE-T1) and the rare-behaviour finder (NE-F3).

Definitions (the paper gives none), all on cosine distance:
- intra-cluster distance of a neuron: for every cluster with >= 2 members, the mean pairwise
  distance over its distinct pairs; then the unweighted mean over those clusters.
  NaN if no cluster has >= 2 members.
- inter-cluster distance of a neuron: the mean distance over all pairs of examples that lie in
  different clusters (each unordered pair once). NaN if the neuron has a single cluster.
- over neurons: mean and median of the per-neuron values, NaNs skipped and counted.
NE-T1 clusters each representation with its own HAC (neuron embeddings h ⊙ w vs pre-MLP h).
"""

import numpy as np

from .cluster import cluster_hac, cosine_distance_matrix
from .neuron import neuron_embeddings


def intra_cluster_distance(d, labels):
    """d: [E, E] distance matrix; labels: [E]. Mean over clusters (>=2 members) of the mean
    within-cluster pairwise distance. NaN if there is no such cluster."""
    labels = np.asarray(labels)
    vals = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        if len(idx) < 2:
            continue
        sub = d[np.ix_(idx, idx)]
        vals.append(sub[np.triu_indices(len(idx), 1)].mean())
    return float(np.mean(vals)) if vals else float("nan")


def inter_cluster_distance(d, labels):
    """Mean distance over all pairs in different clusters. NaN for a single cluster."""
    labels = np.asarray(labels)
    iu = np.triu_indices(len(labels), 1)
    diff = labels[iu[0]] != labels[iu[1]]
    return float(d[iu][diff].mean()) if diff.any() else float("nan")


def cluster_metrics(x, threshold=0.5, method="average"):
    """Cluster one neuron's examples and measure them.

    x: [E, d] embeddings (neuron or pre-MLP). Returns dict with labels [E], Z, n_examples,
    n_clusters, intra, inter (cosine distance), max_dist and mean_dist (over all distinct pairs;
    NaN for E < 2).
    """
    labels, Z = cluster_hac(x, threshold, method)
    d = cosine_distance_matrix(x)
    pairs = d[np.triu_indices(len(x), 1)]
    return dict(
        labels=labels, Z=Z, n_examples=len(x), n_clusters=int(labels.max() + 1) if len(x) else 0,
        intra=intra_cluster_distance(d, labels), inter=inter_cluster_distance(d, labels),
        max_dist=float(pairs.max()) if len(pairs) else float("nan"),
        mean_dist=float(pairs.mean()) if len(pairs) else float("nan"),
    )


def compare_neuron_vs_pre_mlp(h, w, threshold=0.5, method="average"):
    """NE-T1 for one neuron: h [E, d] pre-MLP embeddings, w [d] input weights.

    Returns {"neuron": cluster_metrics(h ⊙ w), "pre_mlp": cluster_metrics(h)}, each clustered
    with its own HAC.
    """
    return {"neuron": cluster_metrics(neuron_embeddings(h, w), threshold, method),
            "pre_mlp": cluster_metrics(h, threshold, method)}


def aggregate(values):
    """Mean and median over neurons of a per-neuron metric, skipping NaNs.

    values: [N]. Returns dict(mean, median, n_used, n_skipped).
    """
    v = np.asarray(values, dtype=np.float64)
    ok = ~np.isnan(v)
    mean = float(v[ok].mean()) if ok.any() else float("nan")
    median = float(np.median(v[ok])) if ok.any() else float("nan")
    return dict(mean=mean, median=median, n_used=int(ok.sum()), n_skipped=int((~ok).sum()))


def aggregate_cluster_metrics(per_neuron):
    """Aggregate a list of cluster_metrics dicts (one per neuron) into NE-T1 numbers.

    Returns {"intra": aggregate(...), "inter": aggregate(...), "n_clusters": aggregate(...)}.
    n_skipped of "inter" = neurons with a single cluster; of "intra" = neurons with only
    singleton clusters.
    """
    return {k: aggregate([m[k] for m in per_neuron]) for k in ("intra", "inter", "n_clusters")}


def size_ratio(labels):
    """Ratio of the largest to the second-largest cluster size (0 if one cluster)."""
    sizes = np.sort(np.bincount(np.asarray(labels, dtype=np.int64)))[::-1]
    return float(sizes[0] / sizes[1]) if len(sizes) >= 2 else 0.0


def find_rare_behaviour(labels_per_neuron):
    """NE-F3: the neuron whose two biggest clusters have the largest size ratio.

    labels_per_neuron: {neuron_id: labels [E]} (or a list, ids = positions).
    Returns (neuron_id, ratio); (None, 0.0) if no neuron has >= 2 clusters. Ties go to the
    first neuron in iteration order.
    """
    items = labels_per_neuron.items() if isinstance(labels_per_neuron, dict) else enumerate(labels_per_neuron)
    best, best_ratio = None, 0.0
    for nid, labels in items:
        r = size_ratio(labels)
        if r > best_ratio:
            best, best_ratio = nid, r
    return best, best_ratio
