"""Sparse Expansion router: PCA to d // pca_factor components, then k-means; hard top-1 routing.

As the reference (cuML PCA + KMeans, n_init=100, random_state=0) fit on all calibration tokens; the
k-means (restarts on a token subsample, refined on all tokens) is described in clustering.py.
The fitted state (PCA mean and components, centroids) is held in buffers, so it is saved in a
state_dict and moves with `.to(device)`.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .clustering import kmeans, nearest_centroid


def fit_pca(x: Tensor, n_components: int) -> tuple[Tensor, Tensor]:
    """PCA of x [N, d] -> (mean [d], components [n_components, d]), rows ordered by variance.

    Eigen-decomposition of the fp64 covariance; each component's sign makes its largest-|.| entry positive.
    """
    if not 1 <= n_components <= x.shape[1]:
        raise ValueError(f"n_components must be in [1, {x.shape[1]}], got {n_components}")
    x = x.float()
    mean = x.mean(0, dtype=torch.float64)
    xc = x - mean.float()
    cov = (xc.t() @ xc).double() / max(x.shape[0] - 1, 1)
    evecs = torch.linalg.eigh(cov)[1].flip(-1)[:, :n_components].t()  # descending variance
    signs = torch.sign(evecs.gather(1, evecs.abs().argmax(1, keepdim=True)))
    return mean.float(), (evecs * signs).float()


class Router(nn.Module):
    """Routes tokens x [..., d] to one of K clusters: nearest centroid of (x - mean) @ components^T."""

    def __init__(self, in_features: int, n_components: int, num_clusters: int):
        super().__init__()
        self.register_buffer("mean", torch.zeros(in_features))
        self.register_buffer("components", torch.zeros(n_components, in_features))
        self.register_buffer("centroids", torch.zeros(num_clusters, n_components))

    @property
    def num_clusters(self) -> int:
        return self.centroids.shape[0]

    @classmethod
    def fit(
        cls,
        x: Tensor,
        num_clusters: int = 16,
        pca_factor: int | None = 32,
        n_init: int = 100,
        seed: int = 0,
        **kmeans_kwargs,
    ) -> Router:
        """Fit on calibration tokens x [N, d]. pca_factor=None skips PCA (the reference's --no_PCA).

        Extra keyword arguments go to `kmeans` (max_iter, tol, sample_size, n_refine, swap_rounds, swap_trials).
        """
        if x.dim() != 2:
            raise ValueError(f"Router.fit needs tokens [N, d], got shape {tuple(x.shape)}")
        d = x.shape[1]
        if not 1 <= num_clusters <= x.shape[0]:
            raise ValueError(
                f"num_clusters must be in [1, {x.shape[0]}] (the number of calibration tokens), got {num_clusters}"
            )
        if pca_factor is None:
            mean, components = torch.zeros(d, device=x.device), torch.eye(d, device=x.device)
        else:
            if not 1 <= pca_factor <= d:
                raise ValueError(f"pca_factor must be an integer in [1, {d}] (d // pca_factor >= 1), got {pca_factor}")
            mean, components = fit_pca(x, d // pca_factor)
        router = cls(d, components.shape[0], num_clusters).to(x.device)
        router.mean.copy_(mean)
        router.components.copy_(components)
        centroids, _ = kmeans(router.project(x), num_clusters, n_init=n_init, seed=seed, **kmeans_kwargs)
        router.centroids.copy_(centroids)
        return router

    def project(self, x: Tensor) -> Tensor:
        """PCA coordinates [N, n_components] (fp32) of tokens x [N, d]."""
        return (x.float() - self.mean) @ self.components.t()

    def predict(self, x: Tensor) -> Tensor:
        """Cluster label (int64) of each token of x [..., d] -> [...]."""
        flat = x.reshape(-1, x.shape[-1])
        return nearest_centroid(self.project(flat), self.centroids).reshape(x.shape[:-1])
