"""Benchmark the Sparse Expansion router: PCA + batched torch k-means vs scikit-learn KMeans.

Fits PCA (d_in // pca_factor components) on N synthetic clustered "activations", then k-means
(K=16, 100 restarts) on the N x 64 PCA coordinates; compares with sklearn KMeans on the same points.
Inertias are recomputed the same way (float64, numpy) for both.

    PYTHONPATH=src python benchmarks/bench_router.py [--tokens 262144] [--sklearn-n-init 100]
"""

import argparse
import time

import numpy as np
import torch
from sklearn.cluster import KMeans

from entangle.sparsify import kmeans
from entangle.sparsify.router import fit_pca


def activations(n_tokens: int, d: int, seed: int = 0) -> torch.Tensor:
    """[n_tokens, d] fp32: 32 Gaussian clusters of unequal sizes in a 96-dim subspace, plus isotropic noise."""
    g = torch.Generator().manual_seed(seed)
    basis = torch.linalg.qr(torch.randn(d, 96, generator=g))[0].t()  # [96, d]
    centers = 2.0 * torch.randn(32, 96, generator=g)
    weights = torch.rand(32, generator=g) + 0.2
    which = torch.multinomial(weights, n_tokens, replacement=True, generator=g)
    latent = centers[which] + torch.randn(n_tokens, 96, generator=g)
    return latent @ basis + 0.3 * torch.randn(n_tokens, d, generator=g)


def inertia64(x: np.ndarray, centroids: np.ndarray) -> float:
    x, c = x.astype(np.float64), centroids.astype(np.float64)
    total = 0.0
    for s in range(0, len(x), 65536):
        d = ((x[s : s + 65536, None, :] - c[None]) ** 2).sum(-1)
        total += d.min(1).sum()
    return total


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--tokens", type=int, default=262144)
    p.add_argument("--d-in", type=int, default=512)
    p.add_argument("--pca-factor", type=int, default=8)
    p.add_argument("--clusters", type=int, default=16)
    p.add_argument("--n-init", type=int, default=100)
    p.add_argument("--sklearn-n-init", type=int, default=100, help="0 skips scikit-learn")
    p.add_argument("--full", action="store_true", help="also run all restarts on all points (sample_size=None)")
    args = p.parse_args()
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}")

    x = activations(args.tokens, args.d_in)
    t = time.perf_counter()
    mean, components = fit_pca(x, args.d_in // args.pca_factor)
    z = (x - mean) @ components.t()
    print(f"PCA {args.tokens} x {args.d_in} -> {z.shape[1]}: {time.perf_counter() - t:.1f} s")
    zn = z.numpy()

    runs = [("torch kmeans (restarts on a 65,536-point subsample, best 4 refined on all points)", {})]
    if args.full:
        runs.append(("torch kmeans (all restarts on all points)", {"sample_size": None}))
    for name, kwargs in runs:
        t = time.perf_counter()
        centroids, inertia = kmeans(z, args.clusters, n_init=args.n_init, seed=0, **kwargs)
        elapsed = time.perf_counter() - t
        print(f"{name}: K={args.clusters}, n_init={args.n_init}: {elapsed:.1f} s, "
              f"inertia {inertia64(zn, centroids.numpy()):.6e} (reported {inertia:.6e})")

    if args.sklearn_n_init == 0:
        return
    t = time.perf_counter()
    km = KMeans(args.clusters, n_init=args.sklearn_n_init, random_state=0).fit(zn)
    elapsed = time.perf_counter() - t
    print(f"sklearn KMeans: K={args.clusters}, n_init={args.sklearn_n_init}: {elapsed:.1f} s, "
          f"inertia {inertia64(zn, km.cluster_centers_):.6e} (reported {km.inertia_:.6e})")


if __name__ == "__main__":
    main()
