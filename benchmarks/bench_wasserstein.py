"""Benchmark wd_fast against the authors' SciPy loop and the exact reference.

Builds a seeded, realistic 65,536 x 2,048 float32 matrix (mixture of column types, each under a
random affine map), then times wd_scipy_sample (the authors' estimator) and wd_fast in one run
and checks wd_fast against wd_exact (float64). Run: python benchmarks/bench_wasserstein.py
"""

import argparse
import time

import numpy as np

from entangle.metrics.wasserstein import wd_exact, wd_fast, wd_scipy_sample


def column_types(rng, t):
    """name -> sampler(k) giving float64 [t, k] columns of that type."""

    def mixture(k, n_modes):
        centers = rng.uniform(-4, 4, (n_modes, k))
        scales = rng.uniform(0.3, 1.5, (n_modes, k))
        mode = rng.integers(0, n_modes, (t, k))
        cols = np.arange(k)
        return centers[mode, cols] + scales[mode, cols] * rng.standard_normal((t, k))

    def spike(k):  # a fraction 0.1%-20% of tokens share one value
        x = rng.standard_normal((t, k))
        hit = rng.random((t, k)) < rng.uniform(0.001, 0.2, k)
        x[hit] = np.broadcast_to(rng.uniform(-1, 1, k), (t, k))[hit]
        return x

    return {
        "gaussian": lambda k: rng.standard_normal((t, k)),
        "near_gaussian": lambda k: (g := rng.standard_normal((t, k))) + rng.uniform(-0.1, 0.1, k) * g * g,
        "student_t3": lambda k: rng.standard_t(3, (t, k)),
        "exponential": lambda k: rng.exponential(size=(t, k)),
        "lognormal": lambda k: rng.lognormal(0, rng.uniform(0.3, 1.2, k), (t, k)),
        "bimodal": lambda k: mixture(k, 2),
        "multimodal": lambda k: mixture(k, int(rng.integers(3, 6))),
        "spike": spike,
    }


def realistic_matrix(t=65_536, n=2_048, seed=0):
    """[t, n] float32 and the column-type name of each column [n]."""
    rng = np.random.default_rng(seed)
    types = column_types(rng, t)
    names = np.array(list(types))[np.arange(n) % len(types)]
    x = np.empty((t, n), np.float32)
    for name, sampler in types.items():
        idx = np.flatnonzero(names == name)
        for start in range(0, len(idx), 64):
            cols = idx[start : start + 64]
            x[:, cols] = rng.uniform(0.05, 5, len(cols)) * sampler(len(cols)) + rng.uniform(-3, 3, len(cols))
    return x, names


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=65_536)
    parser.add_argument("--neurons", type=int, default=2_048)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    x, names = realistic_matrix(args.tokens, args.neurons, args.seed)
    print(f"matrix: {x.shape[0]:,} tokens x {x.shape[1]:,} neurons, float32, seed {args.seed}")

    start = time.perf_counter()
    wd_scipy = wd_scipy_sample(x, seed=args.seed)
    t_scipy = time.perf_counter() - start

    wd_fast(x[:1024, :16])  # load or compile the numba kernels
    start = time.perf_counter()
    wd, bound = wd_fast(x, return_bound=True)
    t_fast = time.perf_counter() - start

    start = time.perf_counter()
    ref = wd_exact(x)
    t_exact = time.perf_counter() - start

    err = np.abs(wd - ref)
    print(f"authors' SciPy loop : {t_scipy:8.2f} s")
    print(f"wd_fast             : {t_fast:8.3f} s")
    print(f"speed-up            : {t_scipy / t_fast:8.1f} x")
    print(f"wd_exact (reference): {t_exact:8.2f} s")
    print(f"max |wd_fast - wd_exact|       : {err.max():.2e}  (mean {err.mean():.1e}, max bound {bound.max():.1e})")
    print(f"max |wd_scipy - wd_exact|      : {np.abs(wd_scipy - ref).max():.2e}  (sampling noise)")
    print("per column type: max |fast - exact|, median WD")
    for name in dict.fromkeys(names):
        sel = names == name
        print(f"  {name:14s} {err[sel].max():.2e}  {np.median(ref[sel]):.4f}")


if __name__ == "__main__":
    main()
