"""Benchmark the Sparse Expansion router's k-means against scikit-learn KMeans(n_init=100), in the same run.

Both fit the same fp32 points with the same thread count, once per seed (our `seed`, scikit-learn's
`random_state`); the seeds double as timing repeats. Per case the table gives the minimum CPU and wall
seconds over the seeds, their ratios (scikit-learn / ours), and the inertia (recomputed in fp64 for both)
of ours relative to scikit-learn's: the median over seeds of each, then per seed. The best of 100
restarts varies by up to ~1.5% between scikit-learn seeds on the same data, so judge the median.

Cases (K clusters; "PCA d->m" fits the router's PCA first, not timed):
  router      the router benchmark: 262,144 synthetic clustered activations, PCA 512->64, K=16
  zoo         65,536 FFN down-projection inputs (post-activation) of the smoke GELU model on smoke train
              text, PCA d_ff->64, K=4, 16, 32; needs `snakemake wd_table_ppl --config scale=smoke` (or any
              smoke target that trains it) first, else skipped
  aniso       65,536 x 64, mixture of 20 anisotropic Gaussians of unequal weights, K=16
  heavy       the same with Student-t noise (3 degrees of freedom), K=4, 16, 32
  small       as the router meets them at smoke/mini scale (one fit per FFN matrix, PCA d->d/32):
              512 tokens PCA 128->4, 2048 tokens PCA 256->8, 4096 tokens PCA 512->16 (K=16),
              and 2,048 x 64 heavy-tailed points with K=32

    PYTHONPATH=src python benchmarks/bench_router.py [--cases router zoo ...] [--seeds 3] [--threads 1]
"""

import argparse
import math
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.cluster import KMeans
from threadpoolctl import threadpool_limits

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


def mixture(n: int, d: int, k: int = 20, seed: int = 0, df: float | None = None) -> torch.Tensor:
    """[n, d] fp32: k clusters of unequal weights, each a random linear map of Gaussian (or Student-t) noise."""
    g = np.random.default_rng(seed)
    centers = g.normal(0, 3.0, (k, d))
    weights = g.uniform(0.2, 1.2, k)
    which = g.choice(k, n, p=weights / weights.sum())
    out = np.empty((n, d), np.float32)
    for j in range(k):
        idx = np.nonzero(which == j)[0]
        shape = g.normal(0, 1, (d, d)) * g.uniform(0.1, 1.5, d)
        z = g.normal(0, 1, (len(idx), d))
        if df is not None:
            z /= np.sqrt(g.chisquare(df, (len(idx), 1)) / df)
        out[idx] = centers[j] + z @ shape.T / math.sqrt(d)
    return torch.from_numpy(out)


def pca(x: torch.Tensor, n_components: int) -> torch.Tensor:
    mean, components = fit_pca(x, n_components)
    return (x - mean) @ components.t()


def zoo_inputs(results: Path, model: str, n_tokens: int) -> torch.Tensor | None:
    """FFN down-projection inputs [n_tokens, d_ff] of layer 1 of a trained smoke model, or None if absent."""
    from entangle.capture import matrix_inputs
    from entangle.data.windows import eval_windows, tokenize
    from entangle.models.load import load_model, local_revisions

    directory, text = results / "models" / model, results / "data" / "text" / "train.txt"
    if not directory.is_dir() or not text.is_file() or not local_revisions(directory):
        return None
    net, tokenizer = load_model(str(directory), local_revisions(directory)[-1])
    context = net.config.max_position_embeddings
    windows = eval_windows(tokenize(tokenizer, text.read_text(encoding="utf-8")), context, n_tokens // context)
    with torch.no_grad():
        return matrix_inputs(net, windows, 1, "down").reshape(-1, net.config.intermediate_size)[:n_tokens]


def inertia64(x: np.ndarray, centroids: np.ndarray) -> float:
    x, c = x.astype(np.float64), centroids.astype(np.float64)
    return float(sum(((x[s : s + 8192, None, :] - c[None]) ** 2).sum(-1).min(1).sum() for s in range(0, len(x), 8192)))


def timed(fit):
    cpu, wall = time.process_time(), time.perf_counter()
    centroids = fit()
    return time.process_time() - cpu, time.perf_counter() - wall, centroids


def cases(names: list[str], zoo_results: Path):
    """Yield (name, points [N, D], K) per case."""
    if "router" in names:
        yield "router 262144x512 PCA->64", pca(activations(262144, 512), 64), [16]
    if "zoo" in names:
        x = zoo_inputs(zoo_results, "neox-m", 65536)
        if x is None:
            print(f"zoo: skipped, no trained smoke model under {zoo_results} (run a smoke target first)")
        else:
            yield f"zoo {x.shape[0]}x{x.shape[1]} PCA->64", pca(x, 64), [4, 16, 32]
    if "aniso" in names:
        yield "aniso 65536x64", mixture(65536, 64, seed=0), [16]
    if "heavy" in names:
        yield "heavy 65536x64", mixture(65536, 64, seed=1, df=3), [4, 16, 32]
    if "small" in names:
        for n, d in ((512, 128), (2048, 256), (4096, 512)):
            yield f"small {n}x{d} PCA->{d // 32}", pca(activations(n, d, seed=n), d // 32), [16]
        yield "small heavy 2048x64", mixture(2048, 64, seed=3, df=3), [32]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--cases", nargs="+", default=["router", "zoo", "aniso", "heavy", "small"],
                   choices=["router", "zoo", "aniso", "heavy", "small"])
    p.add_argument("--seeds", type=int, default=3, help="fits per method and case (seeds 0..n-1)")
    p.add_argument("--threads", type=int, default=1, help="torch and scikit-learn (OpenMP/BLAS) threads")
    p.add_argument("--n-init", type=int, default=100)
    p.add_argument("--zoo-results", type=Path, default=Path("results/smoke"))
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s), n_init={args.n_init}, seeds 0..{args.seeds - 1}; "
          "seconds = min over seeds; inertia = ours / scikit-learn - 1")
    print(f"{'case':<28} {'K':>3} {'ours cpu':>9} {'sklearn cpu':>11} {'ratio':>6} {'ours wall':>9} "
          f"{'sklearn wall':>12} {'ratio':>6} {'inertia (median)':>16}  per seed")
    with threadpool_limits(args.threads):
        for name, x, ks in cases(args.cases, args.zoo_results):
            xn = x.numpy()
            for k in ks:
                ours, theirs = [], []
                for seed in range(args.seeds):
                    cpu, wall, c = timed(lambda: kmeans(x, k, n_init=args.n_init, seed=seed)[0].numpy())
                    ours.append((cpu, wall, inertia64(xn, c)))
                    cpu, wall, c = timed(lambda: KMeans(k, n_init=args.n_init, random_state=seed).fit(xn).cluster_centers_)
                    theirs.append((cpu, wall, inertia64(xn, c)))
                o, t = np.array(ours), np.array(theirs)
                median = statistics.median(o[:, 2]) / statistics.median(t[:, 2]) - 1
                per_seed = " ".join(f"{v:+.2%}" for v in o[:, 2] / t[:, 2] - 1)
                print(f"{name:<28} {k:>3} {o[:, 0].min():>9.3f} {t[:, 0].min():>11.3f} {t[:, 0].min() / o[:, 0].min():>6.1f} "
                      f"{o[:, 1].min():>9.3f} {t[:, 1].min():>12.3f} {t[:, 1].min() / o[:, 1].min():>6.1f} "
                      f"{median:>+16.2%}  {per_seed}", flush=True)


if __name__ == "__main__":
    main()
