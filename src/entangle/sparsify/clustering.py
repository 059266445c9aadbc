"""Batched k-means in torch for the Sparse Expansion router: all restarts advance together.

Defaults follow the Sparse Expansion reference (cuML KMeans): n_init=100, max_iter=300, tol=1e-4 as a
relative inertia decrease, seed 0. Fit of x [N, D] with K clusters:

1. Restarts, on all points or a seeded weighted coreset (below). Greedy k-means++ seeds `n_init`
   restarts at once (2 + ln K candidates per step, as scikit-learn), then Lloyd advances them
   together until each one's inertia drops by less than `tol` (relative).
2. Refinement (after a coreset). The `n_refine` best restarts (by weighted inertia) continue Lloyd
   on all points.
3. Swap search (`swap_rounds` > 0). The best solution tries swapping one centroid for a data point
   drawn by D^2 sampling (the move of LocalSearch++, Lattanzi & Sohler 2019). Each round draws
   `swap_trials` points and prices every (point, centroid) swap over all points; Lloyd settles the
   `n_refine` cheapest swaps on the coreset, and the best of those on all points, which is kept if it
   lowers the inertia. The search stops after two rounds without a gain. Lloyd never moves a centroid
   across the data; a swap does, which is how the result can beat the best of the restarts.

When N > `sample_size` the restarts run on a seeded lightweight coreset of `sample_size` weighted points
(`_coreset`; at the default 8192, 256 or more per cluster for K <= 32); `sample_size=None` or
N <= sample_size: on all points. The coreset makes the restarts cheap; unlike a uniform subsample it
over-draws far points (and down-weights them), so heavy tails keep their weight in the inertia; steps
2 and 3 recover the quality on all points. Smaller samples (tens of points per cluster) lose the best
basins on some data, which no later step finds again. benchmarks/bench_router.py compares speed and
inertia with scikit-learn's KMeans.

Every step is exact (no approximation): the returned inertia is that of the returned centroids over all
points. Empty clusters keep their centroid. Distances are ||x||^2 - 2 x.c + ||c||^2 in fp32 on centred
points (x minus its mean, added back to the centroids), inertia sums in fp64. Seeded: the same input,
seed and settings give the same result on a given device and thread count.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor

_CHUNK_ELEMENTS = 1 << 20  # distance-matrix entries per chunk (4 MB in fp32: stays in cache)


class _Points(NamedTuple):
    """Points prepared once for every assignment step over them.

    x [N, D] centred points, sq [N] their squared norms, weight [N] or None (all 1), dist_rows [N, D + 2]
    = [x, 1, 1] (dotted with [-2 c, ||c||^2, 0] it gives ||c||^2 - 2 x.c), sum_rows [N, D + 2] =
    [w x, w, 1] (a one-hot product sums the cluster's weighted points, weights and count).
    """

    x: Tensor
    sq: Tensor
    weight: Tensor | None
    dist_rows: Tensor
    sum_rows: Tensor


def _points(x: Tensor, weight: Tensor | None = None) -> _Points:
    ones = x.new_ones(x.shape[0], 1)
    dist_rows = torch.cat([x, ones, ones], 1)
    sum_rows = dist_rows if weight is None else torch.cat([x * weight[:, None], weight[:, None], ones], 1)
    return _Points(x, _sq_norms(x), weight, dist_rows, sum_rows)


def _sq_norms(x: Tensor) -> Tensor:
    return x.pow(2).sum(1)


def kmeans(
    x: Tensor,
    num_clusters: int,
    n_init: int = 100,
    max_iter: int = 300,
    tol: float = 1e-4,
    seed: int = 0,
    sample_size: int | None = 8192,
    n_refine: int = 4,
    swap_rounds: int = 10,
    swap_trials: int = 16,
) -> tuple[Tensor, float]:
    """Fit k-means to `x` [N, D]. Returns (centroids [K, D] fp32, inertia = sum of squared distances).

    `sample_size=None` runs every restart on all points; `swap_rounds=0` skips the swap search.
    """
    if x.dim() != 2:
        raise ValueError(f"kmeans needs a 2-D [N, D] input, got shape {tuple(x.shape)}")
    if not 1 <= num_clusters <= x.shape[0]:
        raise ValueError(f"num_clusters must be in [1, {x.shape[0]}] (the number of points), got {num_clusters}")
    if n_init < 1 or n_refine < 1 or max_iter < 0 or swap_rounds < 0 or swap_trials < 1:
        raise ValueError(f"need n_init, n_refine, swap_trials >= 1 and max_iter, swap_rounds >= 0; got n_init={n_init}, "
                         f"n_refine={n_refine}, swap_trials={swap_trials}, max_iter={max_iter}, swap_rounds={swap_rounds}")
    x = x.float()
    if not torch.isfinite(x).all():
        raise ValueError("kmeans input has NaN or infinite values: drop or fix those points (e.g. tokens that overflowed)")
    mean = x.mean(0)
    gen = torch.Generator(device=x.device).manual_seed(seed)
    full = _points(x - mean)
    sample = full
    if sample_size is not None and x.shape[0] > sample_size:
        sample = _points(*_coreset(full, sample_size, gen))
    seeds = _kmeans_plusplus(sample, num_clusters, n_init, gen)
    centroids, inertia = _lloyd(sample, seeds, max_iter, tol)
    if sample is not full:
        best = torch.argsort(inertia)[:n_refine]  # ranked by their (weighted) inertia on the coreset
        centroids, inertia = _lloyd(full, centroids[best], max_iter, tol)
    best = int(torch.argmin(inertia))
    centroids, inertia = centroids[best], inertia[best]
    if swap_rounds and num_clusters > 1:
        centroids, inertia = _swap_search(full, sample, centroids, inertia, swap_rounds, swap_trials, n_refine, gen,
                                          max_iter, tol)
    return centroids + mean, float(inertia)


def nearest_centroid(x: Tensor, centroids: Tensor) -> Tensor:
    """Index of the nearest centroid [K, D] for each point of x [N, D] (int64 [N]; ties: the lowest index)."""
    x, centroids = x.float(), centroids.float()
    chunk = max(1, _CHUNK_ELEMENTS // centroids.shape[0])
    return torch.cat([_sq_dist_terms(x[s : s + chunk], centroids).argmin(0) for s in range(0, x.shape[0], chunk)])


def _sq_dist_terms(x: Tensor, c: Tensor) -> Tensor:
    """||c||^2 - 2 x.c for x [n, D], c [m, D] -> [m, n] (adding ||x||^2 gives squared distances)."""
    return torch.addmm(_sq_norms(c).unsqueeze(1), c, x.t(), alpha=-2)


def _sq_dists(x: Tensor, x_sq: Tensor, c: Tensor) -> Tensor:
    """Squared distances [m, n] between centroids c [m, D] and points x [n, D] with norms x_sq [n]."""
    return _sq_dist_terms(x, c).add_(x_sq).clamp_min_(0)


def _assign(points: _Points, centroids: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Assignment step for R centroid sets [R, K, D] over the points.

    Returns weighted sums [R, K, D], total weights [R, K] (counts if unweighted) and weighted inertia
    [R] (fp64). A point equally near two centroids goes to the lower index.
    """
    R, K, D = centroids.shape
    flat = centroids.transpose(0, 1).reshape(K * R, D)  # cluster-major: the min over K runs over slabs
    terms = torch.cat([flat * -2, _sq_norms(flat).unsqueeze(1), flat.new_zeros(K * R, 1)], 1)
    transposed = D < 16  # rows^T onehot^T is the faster product for few dimensions, onehot rows for many
    sums = torch.zeros((D + 2, K * R) if transposed else (K * R, D + 2), dtype=torch.float32, device=flat.device)
    inertia = torch.zeros(R, dtype=torch.float64, device=flat.device)
    N = points.x.shape[0]
    chunk = max(1, _CHUNK_ELEMENTS // (K * R))
    buffer = torch.empty(K * R * min(chunk, N), dtype=torch.float32, device=flat.device)  # reused
    for s in range(0, N, chunk):
        rows = points.sum_rows[s : s + chunk]
        n = rows.shape[0]
        dist = torch.mm(terms, points.dist_rows[s : s + chunk].t(), out=buffer[: K * R * n].view(K * R, n))
        dist = dist.view(K, R, n)
        nearest = dist.amin(0)  # [R, n]; amin and eq_ are far faster than min/argmin with indices
        onehot = dist.eq_(nearest)  # in place: 1.0 at each point's nearest centroid(s)
        part = _cluster_sums(onehot.view(K * R, n), rows, transposed)  # the last column: counts
        if (part[-1] if transposed else part[:, -1]).sum() != R * n:  # ties counted twice: keep the first
            onehot.mul_(onehot.cumsum(0).eq_(1))
            part = _cluster_sums(onehot.view(K * R, n), rows, transposed)
        sums += part
        nearest.add_(points.sq[s : s + chunk]).clamp_min_(0)
        if points.weight is not None:
            nearest.mul_(points.weight[s : s + chunk])
        inertia += nearest.sum(1, dtype=torch.float64)
    if transposed:
        sums = sums.t()
    return sums[:, :D].reshape(K, R, D).transpose(0, 1), sums[:, D].reshape(K, R).t(), inertia


def _cluster_sums(onehot: Tensor, rows: Tensor, transposed: bool) -> Tensor:
    """onehot [m, n] @ rows [n, c] -> [m, c], or its transpose [c, m] if `transposed`."""
    return rows.t() @ onehot.t() if transposed else onehot @ rows


def _lloyd(points: _Points, centroids: Tensor, max_iter: int, tol: float) -> tuple[Tensor, Tensor]:
    """Lloyd iterations on R restarts [R, K, D] until each one's inertia drops by <= tol (relative).

    Returns the final centroids [R, K, D] and their exact (weighted) inertia [R]. Empty clusters keep
    their centroid.
    """
    centroids = centroids.clone()
    R = centroids.shape[0]
    inertia = torch.full((R,), math.inf, dtype=torch.float64, device=centroids.device)
    active = torch.arange(R, device=centroids.device)
    for _ in range(max_iter + 1):
        sums, total, cur = _assign(points, centroids[active])
        done = (inertia[active] - cur) <= tol * cur
        inertia[active] = cur
        step = ~done
        c = centroids[active]
        new = torch.where(total.unsqueeze(-1) > 0, sums / total.clamp_min(1e-30).unsqueeze(-1), c)
        centroids[active[step]] = new[step]
        active = active[step]
        if active.numel() == 0:
            break
    if active.numel():  # max_iter reached: report the inertia of the last update
        inertia[active] = _assign(points, centroids[active])[2]
    return centroids, inertia


def _kmeans_plusplus(points: _Points, num_clusters: int, n_init: int, gen: torch.Generator) -> Tensor:
    """Greedy k-means++ seeding (weighted if the points are) for n_init restarts at once -> [n_init, K, D]."""
    x, w = points.x, points.weight
    N, D = x.shape
    trials = 2 + int(math.log(num_clusters))
    centers = torch.empty(n_init, num_clusters, D, dtype=x.dtype, device=x.device)
    if w is None:
        first = torch.randint(N, (n_init,), generator=gen, device=x.device)
    else:
        first = torch.multinomial(w, n_init, replacement=True, generator=gen)
    centers[:, 0] = x[first]
    closest = _sq_dists(x, points.sq, x[first])  # [R, N]
    rows = torch.arange(n_init, device=x.device)
    for k in range(1, num_clusters):
        potential = closest if w is None else closest * w
        potential = potential + (potential.sum(1, keepdim=True) == 0)  # all points covered: draw uniformly
        cand = torch.multinomial(potential, trials, replacement=True, generator=gen)  # [R, T]
        dist = _sq_dists(x, points.sq, x[cand.reshape(-1)]).view(n_init, trials, N)
        torch.minimum(dist, closest.unsqueeze(1), out=dist)
        best = (dist.sum(2) if w is None else dist @ w).argmin(1)
        closest = dist[rows, best]
        centers[:, k] = x[cand[rows, best]]
    return centers


def _coreset(points: _Points, size: int, gen: torch.Generator) -> tuple[Tensor, Tensor]:
    """Lightweight coreset of centred points: `size` points [size, D] and their weights [size].

    Bachem, Lucic & Krause (KDD 2018): draw with replacement with q = 1/(2N) + ||x||^2 / (2 sum ||x||^2),
    weight 1 / (size q). Far points, which weigh most in the inertia, are drawn more often and weigh less,
    so the weighted inertia tracks the full one for every centroid set, heavy tails included.
    """
    N = points.x.shape[0]
    sq = points.sq.double()
    q = 0.5 / N + 0.5 * sq / sq.sum() if sq.sum() > 0 else torch.full_like(sq, 1 / N)
    idx = torch.multinomial(q.float(), size, replacement=True, generator=gen)
    return points.x[idx], (1 / (size * q[idx])).float()


def _swap_search(full: _Points, sample: _Points, centroids: Tensor, inertia: Tensor, rounds: int, trials: int,
                 n_try: int, gen: torch.Generator, max_iter: int, tol: float) -> tuple[Tensor, Tensor]:
    """Swap local search on one solution [K, D] over all points (module docstring, step 3)."""
    x, K = full.x, centroids.shape[0]
    failures = 0
    for _ in range(rounds):
        cand, cost = _price_swaps(full, centroids, trials, gen)
        if cand is None:  # every point is a centroid
            break
        picks = torch.argsort(cost.view(-1))[:n_try]
        proposals = centroids.unsqueeze(0).repeat(picks.numel(), 1, 1)
        proposals[torch.arange(picks.numel(), device=x.device), picks % K] = x[cand[picks // K]]
        if sample is not full:  # settle the proposals on the coreset, the best of them on all points
            proposals, found = _lloyd(sample, proposals, max_iter, tol)
            proposals = proposals[torch.argmin(found)].unsqueeze(0)
        proposals, found = _lloyd(full, proposals, max_iter, tol)
        best = int(torch.argmin(found))
        if found[best] < inertia * (1 - 1e-9):
            centroids, inertia, failures = proposals[best], found[best], 0
        else:
            failures += 1
            if failures == 2:
                break
    return centroids, inertia


def _price_swaps(points: _Points, centroids: Tensor, trials: int,
                 gen: torch.Generator) -> tuple[Tensor | None, Tensor | None]:
    """Draw `trials` points by D^2 sampling; the inertia [T, K] after swapping each in for each centroid.

    Returns (candidate indices [T], cost [T, K]), or (None, None) if every point sits on a centroid.
    Two passes over the points in chunks (no [N, K] or [N, T] temporaries).
    """
    x, K = points.x, centroids.shape[0]
    N = x.shape[0]
    chunk = max(1, _CHUNK_ELEMENTS // (K + trials))
    d1 = torch.cat([_sq_dists(x[s : s + chunk], points.sq[s : s + chunk], centroids).amin(0)
                    for s in range(0, N, chunk)])
    if float(d1.sum()) == 0:
        return None, None
    cand = torch.multinomial(d1, trials, replacement=True, generator=gen)  # [T]
    cost = torch.zeros(trials, K, dtype=torch.float64, device=x.device)
    for s in range(0, N, chunk):
        xc, sq = x[s : s + chunk], points.sq[s : s + chunk]
        dist = _sq_dists(xc, sq, centroids)  # [K, n]
        near, label = dist.min(0)
        second = dist.scatter_(0, label.unsqueeze(0), math.inf).amin(0)
        dp = _sq_dists(xc, sq, x[cand])  # [T, n]
        with_p = torch.minimum(dp, near)  # every centroid kept, the candidate added
        loss = torch.minimum(dp, second).sub_(with_p)  # swapping out a point's centroid: min(second, candidate)
        members = torch.zeros(xc.shape[0], K, device=x.device).scatter_(1, label.unsqueeze(1), 1.0)
        cost += (loss @ members).double() + with_p.sum(1, dtype=torch.float64).unsqueeze(1)
    return cand, cost
