"""Batched k-means in torch: all restarts advance together, one matmul per chunk of points.

Defaults follow the Sparse Expansion reference (cuML KMeans): n_init=100, max_iter=300, tol=1e-4 as a
relative inertia decrease, seed 0. Init is greedy k-means++ (2 + log K candidates per step, as
scikit-learn). For speed, when there are more than `sample_size` points the restarts run on a
seeded random subsample, and the `n_refine` best of them (by inertia on the subsample) are refined
by Lloyd on all points; `sample_size=None` runs every restart on all points.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

_CHUNK_ELEMENTS = 1 << 25  # distance-matrix entries per chunk (128 MB in fp32)


def kmeans(
    x: Tensor,
    num_clusters: int,
    n_init: int = 100,
    max_iter: int = 300,
    tol: float = 1e-4,
    seed: int = 0,
    sample_size: int | None = 65536,
    n_refine: int = 4,
) -> tuple[Tensor, float]:
    """Fit k-means to `x` [N, D]. Returns (centroids [K, D] fp32, inertia = sum of squared distances)."""
    if x.dim() != 2:
        raise ValueError(f"kmeans needs a 2-D [N, D] input, got shape {tuple(x.shape)}")
    if not 1 <= num_clusters <= x.shape[0]:
        raise ValueError(f"num_clusters must be in [1, {x.shape[0]}] (the number of points), got {num_clusters}")
    x = x.float()
    gen = torch.Generator(device=x.device).manual_seed(seed)
    sample = x
    if sample_size is not None and x.shape[0] > sample_size:
        sample = x[torch.randperm(x.shape[0], generator=gen, device=x.device)[:sample_size]]
    centroids, inertia = _lloyd(sample, _kmeans_plusplus(sample, num_clusters, n_init, gen), max_iter, tol)
    if sample is not x:
        best = torch.argsort(inertia)[:n_refine]  # ranked by their inertia on the subsample
        centroids, inertia = _lloyd(x, centroids[best], max_iter, tol)
    best = int(torch.argmin(inertia))
    return centroids[best], float(inertia[best])


def nearest_centroid(x: Tensor, centroids: Tensor) -> Tensor:
    """Index of the nearest centroid [K, D] for each point of x [N, D] (int64 [N])."""
    return _assign(x.float(), centroids.float().unsqueeze(0))[0][0]


def _sq_dist_terms(x: Tensor, c: Tensor) -> Tensor:
    """||c||^2 - 2 x.c for x [n, D], c [m, D] -> [m, n] (adding ||x||^2 gives squared distances)."""
    return torch.addmm(c.pow(2).sum(1, keepdim=True), c, x.t(), alpha=-2)


def _assign(x: Tensor, centroids: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Assignment step for R centroid sets [R, K, D].

    Returns labels [R, N], per-cluster sums [R, K, D] and counts [R, K], inertia [R] (fp64).
    """
    R, K, D = centroids.shape
    flat = centroids.transpose(0, 1).reshape(K * R, D)  # cluster-major: one min over K contiguous slabs
    labels = torch.empty(R, x.shape[0], dtype=torch.long, device=x.device)
    sums = torch.zeros(R * K, D, dtype=torch.float32, device=x.device)
    counts = torch.zeros(R * K, dtype=torch.float32, device=x.device)
    inertia = torch.zeros(R, dtype=torch.float64, device=x.device)
    chunk = max(1, _CHUNK_ELEMENTS // (K * R))
    offsets = torch.arange(R, device=x.device).unsqueeze(1) * K
    for s in range(0, x.shape[0], chunk):
        xc = x[s : s + chunk]
        dist, lab = _sq_dist_terms(xc, flat).view(K, R, -1).min(0)
        labels[:, s : s + chunk] = lab
        inertia += dist.add_(xc.pow(2).sum(1)).clamp_min_(0).sum(1).double()
        onehot = torch.zeros(R * K, xc.shape[0], dtype=torch.float32, device=x.device)
        onehot.scatter_(0, (lab + offsets), 1.0)
        sums += onehot @ xc
        counts += onehot.sum(1)
    return labels, sums.view(R, K, D), counts.view(R, K), inertia


def _lloyd(x: Tensor, centroids: Tensor, max_iter: int, tol: float) -> tuple[Tensor, Tensor]:
    """Lloyd iterations on R restarts [R, K, D] until each one's inertia drops by < tol (relative).

    Returns the final centroids [R, K, D] and their exact inertia [R]. Empty clusters keep their centroid.
    """
    centroids = centroids.clone()
    R = centroids.shape[0]
    inertia = torch.full((R,), math.inf, dtype=torch.float64, device=x.device)
    active = torch.arange(R, device=x.device)
    for _ in range(max_iter + 1):
        _, sums, counts, cur = _assign(x, centroids[active])
        done = (inertia[active] - cur) <= tol * cur
        inertia[active] = cur
        step = ~done
        c = centroids[active]
        new = torch.where(counts.unsqueeze(-1) > 0, sums / counts.clamp_min(1).unsqueeze(-1), c)
        centroids[active[step]] = new[step]
        active = active[step]
        if active.numel() == 0:
            break
    if active.numel():  # max_iter reached: report the inertia of the last update
        inertia[active] = _assign(x, centroids[active])[3]
    return centroids, inertia


def _kmeans_plusplus(x: Tensor, num_clusters: int, n_init: int, gen: torch.Generator) -> Tensor:
    """Greedy k-means++ seeding for n_init restarts at once -> [n_init, K, D]."""
    N, D = x.shape
    trials = 2 + int(math.log(num_clusters))
    sq_norm = x.pow(2).sum(1)
    centers = torch.empty(n_init, num_clusters, D, dtype=x.dtype, device=x.device)
    first = torch.randint(N, (n_init,), generator=gen, device=x.device)
    centers[:, 0] = x[first]
    closest = _sq_dist_terms(x, x[first]).add_(sq_norm).clamp_min_(0)  # [R, N]
    rows = torch.arange(n_init, device=x.device)
    for k in range(1, num_clusters):
        weights = closest + (closest.sum(1, keepdim=True) == 0)  # all points covered: draw uniformly
        cand = torch.multinomial(weights, trials, replacement=True, generator=gen)  # [R, T]
        dist = _sq_dist_terms(x, x[cand.reshape(-1)]).add_(sq_norm).clamp_min_(0).view(n_init, trials, N)
        torch.minimum(dist, closest.unsqueeze(1), out=dist)
        best = dist.sum(2).argmin(1)
        closest = dist[rows, best]
        centers[:, k] = x[cand[rows, best]]
    return centers
